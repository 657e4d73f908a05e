"""Headless tests of TierExplorer: set controls, compare state, readouts and plotted data with tier
tables and isolated positions computed independently here."""

import matplotlib

matplotlib.use("Agg")

from html import escape  # noqa: E402
from math import log10  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import tiermargin as tm  # noqa: E402
from tiermargin.plots import TierPlot, size_window  # noqa: E402
from tiermargin.widgets import TierExplorer  # noqa: E402

BTC = tm.load_table("binance-usdm-btcusdt-2021")  # preset "binance-usdm": continuous, USDT notional, floor < size <= cap
OKX = tm.load_table("okx-btc-usd-swap-2019")  # preset "okx": step, contracts of 100 USD, fee reserve 0.05 %
ENTRY = 60_000.0


@pytest.fixture
def ex():
    import matplotlib.pyplot as plt

    e = TierExplorer()
    yield e
    plt.close(e.fig)


def opened(table=BTC, qty=17.0, leverage=10.0, side="long", entry=ENTRY, **kw):
    return tm.IsolatedPosition.open(table, side, qty, entry, leverage, **kw)


def fmt(x):
    return f"{float(x):,.2f}"


def test_initial_state_matches_the_library(ex):
    p, a = opened(), ex.state["a"]  # the example position: 17 BTC at 60,000 = 1,020,000 USDT, 10x
    assert ex.last_error is None and ex.state["b"] is None
    assert a["size"] == pytest.approx(1_020_000) and a["qty"] == pytest.approx(17)
    assert a["tier"] == p.tier(ENTRY) == 4 and a["mmr"] == BTC.rate(1_020_000) == 0.025
    assert a["maintenance_amount"] == pytest.approx(BTC.maintenance_amount(1_020_000)) == 16_300
    assert a["maintenance_margin"] == pytest.approx(p.maintenance_margin(ENTRY))
    assert a["effective_rate"] == pytest.approx(p.maintenance_margin(ENTRY) / p.value(ENTRY))
    assert a["max_leverage"] == 20 and a["max_size"] == BTC.max_size_at_leverage(10) == 20_000_000
    assert a["liquidation_price"] == pytest.approx(p.liquidation_price().price)
    assert a["liquidation_tier"] == p.liquidation_price().tier
    assert a["naive_liquidation_price"] == pytest.approx(p.liquidation_price_in_tier(4).price)
    for x in (a["maintenance_margin"], a["liquidation_price"], a["naive_liquidation_price"]):
        assert fmt(x) in ex.readout.value
    assert "4 of 10: (1,000,000.00, 10,000,000.00] USDT" in ex.readout.value  # Binance's closed-right brackets
    assert "up to 20,000,000.00 USDT" in ex.readout.value


def test_moving_the_size_moves_the_markers_over_the_kept_frame(ex):
    curve = ex.plot.mm_line.get_ydata().copy()
    frame = ex.plot._frame
    ex.controls["size"].value = 264_000.0  # Binance FAQ: 264,000 USDT is at 1 %, maintenance amount 1,300
    a, p = ex.state["a"], opened(qty=264_000 / ENTRY)
    assert a["tier"] == 3 and a["mmr"] == 0.01 and a["maintenance_amount"] == pytest.approx(1_300)
    assert a["maintenance_margin"] == pytest.approx(264_000 * 0.01 - 1_300)
    assert a["liquidation_price"] == pytest.approx(p.liquidation_price().price)
    assert list(ex.plot.marker.get_xdata()) == [264_000.0]
    assert ex.plot.marker.get_ydata()[0] == pytest.approx(BTC.maintenance_margin(264_000))
    assert all(list(line.get_xdata()) == [264_000.0] * 2 for line in ex.plot.size_lines)
    assert list(ex.plot.leverage_marker.get_data()[0]) == [264_000.0] and ex.plot.leverage_marker.get_ydata()[0] == 10
    np.testing.assert_array_equal(ex.plot.mm_line.get_ydata(), curve)
    assert ex.plot._frame == frame and ex.plot._background is not None  # drawn over the cached frame


def test_plotted_curves_are_the_library(ex):
    x = ex.plot.mm_line.get_xdata()
    np.testing.assert_allclose(ex.plot.mm_line.get_ydata(), BTC.maintenance_margin(x))
    np.testing.assert_allclose(ex.plot.mm_other_line.get_ydata(), x * BTC.rate(x))  # the same rows, step
    np.testing.assert_allclose(ex.plot.leverage_line.get_ydata(), BTC.max_leverage_at(x))
    lo, hi = size_window(BTC, 1_020_000)
    assert ex.controls["size"].min == pytest.approx(log10(lo)) and ex.controls["size"].max == pytest.approx(log10(hi))
    assert x[0] == pytest.approx(lo) and x[-1] == pytest.approx(hi) and ex.plot.ax.get_xlim() == pytest.approx((lo, hi))
    segs = ex.plot.boundaries[("a", ex.plot.ax)].get_segments()
    np.testing.assert_allclose([s[0][0] for s in segs], [c for c in BTC.caps[:-1] if lo < c < hi])
    assert ex.plot.ax.get_xlabel() == "position size (USDT)" and ex.plot.ax.get_ylabel() == "maintenance margin (USDT)"
    assert ex.plot.ax.get_xscale() == "log" and ex.plot.ax.get_yscale() == "log"
    assert len(ex.plot.mm_b_line.get_xdata()) == 0


def jump_at(line, cap):
    """MM just above a boundary minus MM at it, read from a plotted line (the grid holds both points)."""
    x, y = line.get_xdata(), line.get_ydata()
    i = int(np.flatnonzero(x == cap)[0])
    assert x[i + 1] == pytest.approx(cap, rel=1e-8)
    return y[i + 1] - y[i]


@pytest.mark.parametrize("form", ["published", "continuous", "step"])
def test_step_form_jumps_at_a_boundary_and_continuous_does_not(ex, form):
    ex.controls["form"].value = form
    table = BTC.with_form("step" if form == "step" else "continuous")
    a = ex.state["a"]
    assert a["table"].form == table.form and ex.last_error is None
    assert a["maintenance_margin"] == pytest.approx(opened(table).maintenance_margin(ENTRY))
    assert a["maintenance_amount"] == pytest.approx(table.maintenance_amount(1_020_000))
    step_jump = 250_000 * (0.01 - 0.005)  # the whole position re-rated at the boundary
    solid, dashed = ex.plot.mm_line, ex.plot.mm_other_line
    if form == "step":
        solid, dashed = dashed, solid  # the solid line is the step form, the dashed the continuous
        assert a["maintenance_amount"] == 0
    assert jump_at(solid, 250_000) == pytest.approx(0, abs=1e-3)
    assert jump_at(dashed, 250_000) == pytest.approx(step_jump, rel=1e-6)
    assert f"{table.form}, by notional" in ex.readout.value


def test_a_step_venue_gets_its_deduction_in_continuous_form(ex):
    ex.controls["venue_a"].value = "okx"
    ex.controls["form"].value = "continuous"
    t = OKX.with_form("continuous")
    p = opened(t, qty=12_000.0, entry=50_000.0, fee_rate=0.0005)
    a = ex.state["a"]
    assert a["maintenance_amount"] == pytest.approx(tm.maintenance_amounts(OKX.floors, OKX.mmr)[2])
    assert a["maintenance_margin"] == pytest.approx(p.maintenance_margin(50_000))
    assert a["liquidation_price"] == pytest.approx(p.liquidation_price().price)


def test_venue_switch_loads_its_example_and_ranges(ex):
    ex.controls["venue_a"].value = "okx"
    p = opened(OKX, qty=12_000.0, entry=50_000.0, fee_rate=0.0005)  # the OKX preset reserves a 0.05 % fee
    a = ex.state["a"]
    assert ex.controls["entry"].value == 50_000 and ex.controls["size"].value == pytest.approx(12_000)
    assert ex.controls["size"].description == "size (contracts)" and ex.controls["leverage"].max == 100
    assert a["tier"] == 3 and a["mmr"] == 0.015 and a["maintenance_amount"] == 0
    assert a["maintenance_margin"] == pytest.approx(p.maintenance_margin(50_000))  # BTC
    assert a["liquidation_price"] == pytest.approx(p.liquidation_price().price)
    assert ex.plot.ax.get_xlabel() == "position size (contracts)" and ex.plot.ax.get_ylabel() == "maintenance margin (BTC)"
    x = ex.plot.mm_line.get_xdata()
    np.testing.assert_allclose(ex.plot.mm_line.get_ydata(), x * 100 / 50_000 * OKX.rate(x))  # Q·FV/P·MMR, in BTC
    assert "MM valued at the mark, fee reserve 0.05%" in ex.readout.value


def test_overlay_draws_venue_b_in_usd(ex):
    ex.controls["venue_b"].value = "okx"
    qty_b = 1_020_000 / 100  # the same 1,020,000 USD in OKX contracts of 100 USD
    p = opened(OKX, qty=qty_b, fee_rate=0.0005)
    b = ex.state["b"]
    assert b["qty"] == pytest.approx(qty_b) and b["usd_notional"] == pytest.approx(1_020_000)
    assert b["tier"] == p.tier(ENTRY) == 3 and b["refused"] is None
    assert b["maintenance_margin"] == pytest.approx(p.maintenance_margin(ENTRY))
    assert b["liquidation_price"] == pytest.approx(p.liquidation_price().price)
    assert ex.state["a"]["maintenance_margin"] == pytest.approx(opened().maintenance_margin(ENTRY))  # A unchanged
    xb, yb = ex.plot.mm_b_line.get_xdata(), ex.plot.mm_b_line.get_ydata()
    assert xb.size and xb.max() <= OKX.max_size * 100 * (1 + 1e-9)  # B ends at its last cap, in USD
    np.testing.assert_allclose(yb, xb * OKX.rate(xb / 100))  # MM in USD = notional × MMR (step form)
    np.testing.assert_allclose(ex.plot.leverage_b_line.get_ydata(), OKX.max_leverage_at(xb / 100))
    xa = ex.plot.mm_line.get_xdata()
    np.testing.assert_allclose(ex.plot.mm_line.get_ydata(), BTC.maintenance_margin(xa))  # USDT notional = USD
    segs = ex.plot.boundaries[("b", ex.plot.ax)].get_segments()
    np.testing.assert_allclose([s[0][0] for s in segs], [c * 100 for c in OKX.caps[:-1] if c * 100 > xa[0]])
    assert list(ex.plot.marker_b.get_xdata()) == [pytest.approx(1_020_000)]
    assert ex.plot.marker_b.get_ydata()[0] == pytest.approx(p.maintenance_margin(ENTRY) * ENTRY)
    assert "USD" in ex.plot.ax.get_xlabel() and "USD" in ex.plot.ax.get_ylabel()
    assert "venue B" in ex.key.value and "venue B: OKX" in ex.readout.value
    ex.controls["venue_b"].value = ""
    assert len(ex.plot.mm_b_line.get_xdata()) == 0 and len(ex.plot.marker_b.get_xdata()) == 0
    assert "venue B" not in ex.key.value and ex.state["b"] is None


def test_overlay_follows_the_entry_price_for_an_inverse_notional_venue(ex):
    bitmex = tm.load_table("bitmex-xbtusd-risk-limits")  # risk limits in XBT: the USD size moves with the price
    ex.set(venue_b="bitmex", entry=50_000.0, size=12_000_000.0)
    p = opened(bitmex, qty=12_000_000.0, entry=50_000.0)  # 12M contracts of 1 USD = 240 XBT at 50,000
    b = ex.state["b"]
    assert b["size"] == pytest.approx(240) and b["tier"] == 2 == p.tier(50_000)
    assert b["maintenance_margin"] == pytest.approx(p.maintenance_margin(50_000)) == pytest.approx(2.4)
    segs = ex.plot.boundaries[("b", ex.plot.ax)].get_segments()
    np.testing.assert_allclose([s[0][0] for s in segs], bitmex.caps[:-1] * 50_000)


def test_leverage_above_the_tier_max_is_refused_and_the_last_state_kept(ex):
    before, marker = dict(ex.state), ex.plot.leverage_marker.get_ydata().copy()
    ex.controls["leverage"].value = 60.0  # tier 4 allows 20x at most
    message = "leverage 60x exceeds the max leverage 20x of tier 4"
    assert message in ex.last_error and escape(message) in ex.error.value
    assert ex.state == before
    np.testing.assert_array_equal(ex.plot.leverage_marker.get_ydata(), marker)
    ex.controls["size"].value = 200_000.0  # tier 2 allows 100x: accepted, the message goes
    assert ex.last_error is None and ex.error.value == ""
    p = opened(qty=200_000 / ENTRY, leverage=60.0)
    assert ex.state["a"]["liquidation_price"] == pytest.approx(p.liquidation_price().price)


def test_venue_b_refusing_is_said_in_its_readout(ex):
    ex.set(size=40_000.0, leverage=50.0, venue_b="hyperliquid")  # Hyperliquid BTC: 40x at most
    assert ex.last_error is None and ex.state["a"]["position"] is not None
    b = ex.state["b"]
    assert b["position"] is None and "exceeds the max leverage 40x of tier 1" in b["refused"]
    assert "refuses it" in ex.readout.value and escape(b["refused"]) in ex.readout.value
    assert b["max_size"] is None and "highest max leverage 40x" in b["max_size_error"]
    assert b["maintenance_margin"] == pytest.approx(tm.load_table("hyperliquid-btc-mainnet").maintenance_margin(40_000))
    assert len(ex.plot.marker_b.get_xdata()) == 0


def test_a_table_without_max_leverage(ex):
    ex.controls["venue_a"].value = "bybit"  # Bybit's illustration table publishes no max leverage
    a = ex.state["a"]
    p = tm.IsolatedPosition.open(tm.load_table("bybit-xyzusdt-illustration"), "long", 8.75, 400, 10,
                                 requirement_at="entry")
    assert a["maintenance_margin"] == pytest.approx(92.5)  # Bybit's 3,500 USDT example
    assert a["liquidation_price"] == pytest.approx(p.liquidation_price().price)
    assert a["max_leverage"] is None and a["max_size"] is None
    assert "not published" in ex.readout.value and "MM valued at the entry price" in ex.readout.value
    assert len(ex.plot.leverage_line.get_xdata()) == 0 and "not published" in ex.plot.unpublished.get_text()


def test_a_bundled_table_without_preset_uses_the_default_rules(ex):
    ex.controls["venue_a"].value = "binance-usdm-zecusdt"
    zec = tm.load_table("binance-usdm-zecusdt")
    p = opened(zec, qty=2_000.0, entry=50.0)
    assert ex.state["a"]["liquidation_price"] == pytest.approx(p.liquidation_price().price)
    assert ex.state["a"]["maintenance_margin"] == pytest.approx(p.maintenance_margin(50.0))


def test_data_changes_keep_the_frame_and_a_venue_change_redraws_it(ex):
    frame = ex.plot._frame
    for name, value in (("side", "short"), ("leverage", 15.0), ("form", "step"), ("size", 3e6)):
        ex.controls[name].value = value
        assert ex.last_error is None and ex.plot._frame == frame and ex.plot._background is not None, name
    assert ex.state["a"]["liquidation_price"] == pytest.approx(
        opened(BTC.with_form("step"), qty=3e6 / ENTRY, leverage=15.0, side="short").liquidation_price().price)
    ex.controls["venue_a"].value = "okx"
    assert ex.plot._frame != frame


def test_static_plot_draws_every_artist():
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2)
    plot = TierPlot(*axes, blit=False)
    assert not any(a.get_animated() for a in plot.animated)
    plt.close(fig)


def test_legend_key_is_shown_beside_the_figure(ex):
    for key, (label, _) in TierPlot.STYLE.items():
        assert (escape(label) in ex.key.value) == (not key.startswith(("b", "marker_b")))
    assert ex.plot.ax.get_legend() is None and ex.plot.ax_leverage.get_legend() is None


def test_set_rejects_unknown_controls_and_venues(ex):
    with pytest.raises(ValueError, match="unknown control"):
        ex.set(price=1)
    with pytest.raises(ValueError, match="venue must be one of"):
        TierExplorer(venue="coinw")  # a preset without a bundled table


@pytest.mark.parametrize("venue, table_id", [("okx", "okx-btc-usd-swap-2019"),
                                             ("bitmex", "bitmex-xbtusd-risk-limits"),
                                             ("binance-usdm-adabusd", "binance-usdm-adabusd")])
def test_the_end_of_the_size_slider_is_the_last_cap_not_beyond(ex, venue, table_id):
    ex.controls["venue_a"].value = venue
    ex.set(leverage=1.0, size=10 ** ex.controls["size"].max)  # base**max overshoots the cap by a hair
    t = tm.load_table(table_id)
    assert ex.last_error is None and ex.state["a"]["size"] == pytest.approx(t.max_size)
    assert ex.state["a"]["tier"] == t.n_tiers


def test_a_rulebook_with_an_attached_table_joins_the_dropdowns():
    import matplotlib.pyplot as plt

    from tiermargin.rules import preset

    mine = tm.TierTable.from_rows([[0, 100, 0.01, 50], [100, 1_000, 0.02, 20], [1_000, None, 0.05, 10]],
                                  basis="contracts", form="step", symbol="XYZ-SWAP")
    coinw = preset("coinw").with_table(mine)
    e = TierExplorer("coinw", rulebooks=[coinw])
    try:
        assert ("CoinW (XYZ-SWAP (attached))", "coinw") in e.controls["venue_a"].options
        e.set(size=500.0, leverage=10.0)
        pos = tm.IsolatedPosition.open(mine, "long", 500, e.state["entry"], 10, fee_rate=coinw.fee_rate)
        a = e.state["a"]
        assert (a["tier"], a["mmr"]) == (2, 0.02) and a["book"] is coinw
        assert a["liquidation_price"] == pytest.approx(pos.liquidation_price().price)
        e.controls["venue_b"].value = "binance-usdm"  # the bundled venues stay in the list
        assert e.last_error is None and e.state["b"]["book"].id == "binance-usdm"
    finally:
        plt.close(e.fig)


def test_rulebooks_without_a_table_are_refused():
    from tiermargin.rules import preset

    with pytest.raises(ValueError, match="rulebooks must be Rulebooks with a table"):
        TierExplorer(rulebooks=[preset("coinw")])
