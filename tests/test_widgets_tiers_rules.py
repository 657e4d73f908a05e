"""Headless tests of TierExplorer with the venues that are not a plain tier table: a continuous
schedule (Drift, dYdX v4) drawn without tiers, and HTX, whose table is the one its adjustment
factors give at the chosen leverage. Figures are checked against the library computed here."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import tiermargin as tm  # noqa: E402
from tiermargin.alternatives import load_margin  # noqa: E402
from tiermargin.rules import PRESETS  # noqa: E402
from tiermargin.widgets import TierExplorer  # noqa: E402
from tiermargin.widgets.tiers import venues  # noqa: E402

DRIFT = load_margin("drift-program-test-market")
HTX = load_margin("htx-btc-usdt-isolated-2020-09")


@pytest.fixture
def explorer():
    import matplotlib.pyplot as plt

    made = []

    def make(*args, **kw):
        made.append(TierExplorer(*args, **kw))
        return made[-1]

    yield make
    for e in made:
        plt.close(e.fig)


def test_every_preset_with_a_table_or_a_rule_is_offered():
    choices = venues()
    assert {b.id for b in PRESETS.values() if b.has_margin} <= set(choices)
    assert "coinw" not in choices  # no table, no rule: attach one


def test_drift_schedule_readouts_and_curves(explorer):
    ex = explorer("drift")  # the example: 50,000 contracts at 100, where the size premium is at work
    a = ex.state["a"]
    p = tm.IsolatedPosition.open(DRIFT, "long", 50_000, 100, 10)
    assert ex.last_error is None and a["qty"] == pytest.approx(50_000)
    assert a["mmr"] == pytest.approx(float(DRIFT.rate(50_000))) and a["mmr"] > 0.05
    assert a["maintenance_margin"] == pytest.approx(p.maintenance_margin(100))
    assert a["liquidation_price"] == pytest.approx(p.liquidation_price().price)
    assert a["max_leverage"] == 10 and a["max_size"] == pytest.approx(160_000)
    assert a["naive_liquidation_price"] is None
    for text in ("continuous schedule (Drift size premium)", "none: a continuous schedule",
                 "up to 160,000.00 contracts", f"{p.liquidation_price().price:,.2f}"):
        assert text in ex.readout.value
    assert "calculator keeping tier" not in ex.readout.value
    x = ex.plot.mm_line.get_xdata()
    np.testing.assert_allclose(ex.plot.mm_line.get_ydata(), DRIFT.maintenance_margin(x, 100))
    np.testing.assert_allclose(ex.plot.leverage_line.get_ydata(), DRIFT.max_leverage_at(x))
    assert ex.plot.boundaries[("a", ex.plot.ax)].get_segments() == []
    assert ex.plot.ax.get_xlabel() == "position size (contracts)"
    ex.set(size=1_000_000.0)  # the initial ratio there is 13 %: 10x is refused
    assert "exceeds the max leverage 7.69231x at this size" in ex.last_error


def test_dydx_flat_fractions(explorer):
    ex = explorer("dydx-v4")
    a = ex.state["a"]
    p = tm.IsolatedPosition.open(load_margin("dydx-v4-btc-usd"), "long", 1, 60_000, 10)
    assert (a["mmr"], a["max_leverage"], a["max_size"]) == (0.03, 20, np.inf)
    assert a["liquidation_price"] == pytest.approx(p.liquidation_price().price)
    assert "any (the initial rate stays within it)" in ex.readout.value
    assert ex.controls["leverage"].max == 20  # 1 / the 5 % IMF


def test_htx_table_follows_the_leverage(explorer):
    ex = explorer("htx")
    slider = ex.controls["leverage"]
    assert (slider.min, slider.max, slider.step, slider.value) == (1, 125, 1, 10)
    a = ex.state["a"]  # 2,000 conts of 0.01 BTC at 10x: tier 2, factor 0.125
    assert (a["tier"], a["mmr"]) == (2, 0.0125) and "MMR = adjustment factor / 10x" in ex.readout.value
    curve = ex.plot.mm_line.get_ydata().copy()
    ex.set(leverage=20.0)  # 20x: 2,000 conts are in the last tier (≥ 51), factor 0.6
    p = tm.IsolatedPosition.open(HTX.table(20), "long", 2_000, 60_000, 20)
    assert ex.last_error is None and ex.state["a"]["mmr"] == pytest.approx(0.6 / 20)
    assert ex.state["a"]["liquidation_price"] == pytest.approx(p.liquidation_price().price)
    assert not np.array_equal(ex.plot.mm_line.get_ydata(), curve)  # another table: redrawn
    x = ex.plot.mm_line.get_xdata()
    np.testing.assert_allclose(ex.plot.mm_line.get_ydata(), x * 0.01 * 60_000 * HTX.table(20).rate(x))
    before = dict(ex.state)
    ex.set(leverage=7.0)
    assert "leverage must be one of 1, 2, 3, 5, 10, 20" in ex.last_error and ex.state == before


def test_a_schedule_overlaid_on_a_tier_table(explorer):
    ex = explorer()  # Binance BTCUSDT, 17 BTC at 60,000
    ex.set(venue_b="drift", form="step")
    b = ex.state["b"]
    p = tm.IsolatedPosition.open(DRIFT, "long", 1_020_000 / 60_000, 60_000, 10)
    assert ex.last_error is None and b["table"] is not None and b["refused"] is None
    assert b["maintenance_margin"] == pytest.approx(p.maintenance_margin(60_000))
    assert b["liquidation_price"] == pytest.approx(p.liquidation_price().price)
    assert "venue B: Drift" in ex.readout.value
    xb = ex.plot.mm_b_line.get_xdata()
    np.testing.assert_allclose(ex.plot.mm_b_line.get_ydata(), DRIFT.maintenance_margin(xb / 60_000, 60_000))


@pytest.mark.parametrize("venue", [b.id for b in PRESETS.values() if b.has_margin])
def test_every_offered_preset_opens_in_the_explorer(explorer, venue):
    ex = explorer(venue)
    a = ex.state["a"]
    assert ex.last_error is None and a["book"].id == venue and a["maintenance_margin"] > 0
    assert f"venue A: {PRESETS[venue].venue}" in ex.readout.value
