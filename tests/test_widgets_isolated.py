"""Headless tests of IsolatedExplorer: set a control, assert on the state, readout and plotted data."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import tiermargin as tm  # noqa: E402
from tiermargin.widgets import IsolatedExplorer  # noqa: E402

BTC = tm.load_table("binance-usdm-btcusdt-2021")


@pytest.fixture
def ex():
    e = IsolatedExplorer(table="binance-usdm-btcusdt-2021")
    e.set(side="long", qty=17.0, entry=60_000.0, leverage=20.0, mark=60_000.0)
    yield e
    import matplotlib.pyplot as plt

    plt.close(e.fig)


def expected(**kw):
    args = dict(side="long", qty=17.0, entry=60_000.0, leverage=20.0)
    args.update(kw)
    return tm.IsolatedPosition.open(BTC, args["side"], args["qty"], args["entry"], args["leverage"],
                                    extra_margin=kw.get("extra_margin", 0.0), fee_rate=kw.get("fee_rate", 0.0))


def test_initial_state_matches_the_library(ex):
    p = expected()
    assert ex.last_error is None
    assert ex.state["liquidation_price"] == pytest.approx(p.liquidation_price().price)
    assert ex.state["liquidation_tier"] == 3 and ex.state["entry_tier"] == 4
    assert ex.state["naive_liquidation_price"] == pytest.approx(p.liquidation_price_in_tier(4).price)
    assert "57,498.51" in ex.readout.value and "(tier 3)" in ex.readout.value


def test_moving_the_mark_updates_readouts_and_only_the_mark_line(ex):
    eq_before = ex.plot.equity_line.get_ydata().copy()
    ex.controls["mark"].value = 58_000.0
    p = expected()
    assert ex.state["health"] == pytest.approx(p.health(58_000.0))
    assert ex.state["ratio_coinw"] == pytest.approx(p.margin_ratios(58_000.0).coinw)
    assert list(ex.plot.mark_line.get_xdata()) == [58_000.0, 58_000.0]
    np.testing.assert_array_equal(ex.plot.equity_line.get_ydata(), eq_before)  # curves untouched
    ex.controls["mark"].value = 57_000.0  # below the liquidation price
    assert ex.state["liquidated"] is True and "LIQUIDATED" in ex.readout.value


def test_leverage_change_redraws_curves_with_library_values(ex):
    ex.controls["leverage"].value = 10.0
    p = expected(leverage=10.0)
    x = ex.plot.equity_line.get_xdata()
    np.testing.assert_allclose(ex.plot.equity_line.get_ydata(), p.equity(x))
    np.testing.assert_allclose(ex.plot.requirement_line.get_ydata(), p.requirement(x))
    assert list(ex.plot.liquidation_line.get_xdata())[0] == pytest.approx(p.liquidation_price().price)
    assert list(ex.plot.bankruptcy_line.get_xdata())[0] == pytest.approx(p.bankruptcy_price().price)
    segs = ex.plot.boundaries.get_segments()
    expected_b = [b for b in p.tier_boundary_prices() if x[0] < b < x[-1]]
    np.testing.assert_allclose([s[0][0] for s in segs], expected_b)


def test_added_margin_and_fee_follow_the_library(ex):
    ex.set(extra_margin=5_000.0, fee_rate=0.0005)
    p = expected(extra_margin=5_000.0, fee_rate=0.0005)
    assert ex.state["liquidation_price"] == pytest.approx(p.liquidation_price().price)
    assert ex.state["requirement"] == pytest.approx(p.requirement(60_000.0))


def test_requirement_at_entry_rule(ex):
    ex.set(requirement_at="entry")
    p = tm.IsolatedPosition.open(BTC, "long", 17.0, 60_000.0, 20.0, requirement_at="entry")
    assert ex.state["liquidation_price"] == pytest.approx(p.liquidation_price().price)


def test_error_is_shown_in_the_widget_and_last_state_kept(ex):
    before = ex.state["liquidation_price"]
    ex.controls["leverage"].value = 60.0  # tier 4 allows 20x at most
    assert "exceeds the max leverage 20x of tier 4" in ex.last_error
    assert "exceeds the max leverage" in ex.error.value
    assert ex.state["liquidation_price"] == before
    ex.controls["leverage"].value = 20.0
    assert ex.last_error is None and ex.error.value == ""
    ex.controls["qty"].value = -3.0
    assert "qty must be > 0" in ex.last_error


def test_short_side(ex):
    ex.controls["side"].value = "short"
    p = expected(side="short")
    assert ex.state["liquidation_price"] == pytest.approx(p.liquidation_price().price)
    assert ex.state["liquidation_price"] > 60_000


def test_switching_contract_and_table_loads_the_example_position(ex):
    ex.controls["contract"].value = "inverse"
    assert all(tm.table_info(v)["contract"] == "inverse" for _, v in ex.controls["table"].options)
    ex.controls["table"].value = "bybit-xyzusd-inverse-illustration"
    assert ex.state["maintenance_margin"] == pytest.approx(0.45)  # Bybit's 10,000 contracts at 400
    ex.controls["contract"].value = "linear"
    ex.controls["table"].value = "bybit-xyzusdt-illustration"
    assert ex.state["maintenance_margin"] == pytest.approx(92.5)  # Bybit's 3,500 USDT example
    assert ex.controls["leverage"].max == 100  # table publishes no max leverage


def test_mark_slider_follows_entry(ex):
    ex.controls["entry"].value = 30_000.0
    assert ex.controls["mark"].min == pytest.approx(9_000) and ex.controls["mark"].value == 30_000


def test_set_rejects_unknown_controls(ex):
    with pytest.raises(ValueError, match="unknown control"):
        ex.set(price=1)


def test_legend_key_is_shown_beside_the_figure(ex):
    from html import escape

    from tiermargin.plots import MarginPlot

    for label, _ in MarginPlot.STYLE.values():
        assert escape(label) in ex.key.value
    assert ex.plot.ax.get_legend() is None  # the key is HTML: no per-draw legend cost
