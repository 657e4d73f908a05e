"""Headless tests of CrossExplorer: set controls, compare state, readouts and plotted data with a
CrossAccount (and an IsolatedPosition) built independently here."""

import matplotlib

matplotlib.use("Agg")

from html import escape  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import tiermargin as tm  # noqa: E402
from tiermargin.cross import CrossAccount, Haircut, Instrument, Order, Position  # noqa: E402
from tiermargin.plots import CrossPlot  # noqa: E402
from tiermargin.widgets import CrossExplorer  # noqa: E402

BTC = tm.load_table("binance-usdm-btcusdt-2021")
ETH = tm.TierTable.from_rows([[0, 1e6, 0.005, 100], [1e6, None, 0.01, 50]], symbol="ETHUSDT")
INSTRUMENTS = [Instrument("BTCUSDT", BTC, "BTC"), Instrument("ETHUSDT", ETH, "ETH")]
ORDER = Order("BTCUSDT", "long", 0.5, 58_000, 10)


@pytest.fixture
def ex():
    import matplotlib.pyplot as plt

    e = CrossExplorer()
    yield e
    plt.close(e.fig)


def account(positions=None, orders=(ORDER,), balances=None, **kw):
    """The explorer's preset account, built here from the library (defaults: the explorer's)."""
    positions = positions if positions is not None else [Position("BTCUSDT", "long", 2, 60_000),
                                                         Position("ETHUSDT", "short", 10, 3_000)]
    return CrossAccount(INSTRUMENTS, balances or {"USDT": 20_000.0}, positions, orders, **kw)


def prices(btc=60_000.0, eth=3_000.0):
    return {"BTC": btc, "ETH": eth}


def test_initial_state_matches_the_library(ex):
    acc, p = account(), prices()
    s, r = acc.state(p), acc.margin_ratios(p)
    below, above = acc.liquidation_prices(p, "BTC")
    assert ex.last_error is None and ex.state["currency"] == "USDT"
    for k, v in (("equity", s.equity), ("requirement", s.requirement), ("health", s.health),
                 ("exposure", s.exposure), ("ratio_legacy", r.legacy), ("ratio_legacy_threshold", r.legacy_threshold),
                 ("ratio_coinw", r.coinw), ("ratio_binance", r.binance)):
        assert ex.state[k] == pytest.approx(float(v)), k
    assert ex.state["liquidation_below"] == pytest.approx(below.price) and not above.exists
    assert ex.state["liquidation_above"] is None
    assert ex.state["frozen_margin"] == pytest.approx(0.5 * 58_000 / 10)
    assert fmt(below.price) in ex.readout.value and fmt(s.health) in ex.readout.value


def fmt(x):
    return f"{float(x):,.2f}"


def test_legacy_denominator_counts_the_order(ex):
    p = prices()
    with_order = ex.state["ratio_legacy"]
    assert with_order == pytest.approx(20_000 / (2 * 60_000 + 10 * 3_000 + 0.5 * 58_000))
    ex.controls["order_qty"].value = 0.0  # no order
    assert ex.state["ratio_legacy"] == pytest.approx(account(orders=()).margin_ratios(p).legacy)
    assert ex.state["ratio_legacy"] > with_order
    assert ex.state["frozen_margin"] == 0


def test_moving_btc_moves_the_curves_and_lines(ex):
    ex.controls["btc"].value = 55_000.0
    acc, p = account(), prices(btc=55_000.0)
    assert ex.state["health"] == pytest.approx(acc.health(p))
    x = ex.plot.health_line.get_xdata()
    np.testing.assert_allclose(ex.plot.health_line.get_ydata(), acc.health({"BTC": x, "ETH": 3_000.0}))
    below = acc.liquidation_prices(p, "BTC")[0].price
    assert ex.plot.liquidation_lines[0].get_xdata()[0] == pytest.approx(below)
    assert not ex.plot.liquidation_lines[1].get_visible()
    assert list(ex.plot.current_line.get_xdata()) == [55_000.0, 55_000.0]
    assert list(ex.plot.marker.get_xdata()) == [55_000.0] and list(ex.plot.marker.get_ydata()) == [3_000.0]
    np.testing.assert_allclose(ex.plot.liquidation_markers.get_xdata(), [below])


def test_moving_eth_changes_the_btc_slice(ex):
    ex.controls["eth"].value = 4_000.0  # the ETH short loses 10,000: BTC liquidates higher
    acc, p = account(), prices(eth=4_000.0)
    x = ex.plot.health_line.get_xdata()
    np.testing.assert_allclose(ex.plot.health_line.get_ydata(), acc.health({"BTC": x, "ETH": 4_000.0}))
    assert ex.state["liquidation_below"] == pytest.approx(acc.liquidation_prices(p, "BTC")[0].price)
    assert ex.state["liquidation_below"] > account().liquidation_prices(prices(), "BTC")[0].price
    assert list(ex.plot.slice_line.get_ydata()) == [4_000.0, 4_000.0]


def test_surface_image_is_the_library_surface(ex):
    ex.set(btc_collateral=0.5, haircut=0.9, btc=57_000.0, eth=3_300.0)
    v = ex.state["view"]
    acc = account(balances={"USDT": 20_000.0, "BTC": 0.5}, haircuts={"BTC": Haircut.flat(0.9)})
    surface = acc.surface(prices(57_000.0, 3_300.0), {"BTC": v.surface_x, "ETH": v.surface_y})
    np.testing.assert_allclose(ex.plot.image.get_array(), surface.T)  # rows: ETH
    assert v.surface_x[0] == 15_000 and v.surface_x[-1] == 105_000 and v.surface_y[-1] == 5_250
    left, right, bottom, top = ex.plot.image.get_extent()
    assert left < 15_000 < right and bottom < 750 and top > 5_250
    lo, hi = ex.plot.image.get_clim()
    assert lo == -hi and hi >= np.abs(surface).max()  # diverging scale centred on 0
    assert ex.state["currency"] == "USD" and "USD)" in ex.plot.colorbar.ax.get_ylabel()
    assert ex.plot.ax.get_ylabel() == "health (USD)"


def test_btc_collateral_is_valued_with_its_haircut(ex):
    ex.set(btc_collateral=1.0, haircut=0.95)
    acc = account(balances={"USDT": 20_000.0, "BTC": 1.0}, haircuts={"BTC": Haircut.flat(0.95)})
    assert ex.state["equity"] == pytest.approx(20_000 + 0.95 * 60_000)
    assert ex.state["equity"] == pytest.approx(acc.state(prices()).equity)
    below = acc.liquidation_prices(prices(), "BTC")[0].price
    assert ex.state["liquidation_below"] == pytest.approx(below)


def test_isolated_survives_less_but_loses_only_its_margin(ex):
    iso = tm.IsolatedPosition.open(BTC, "long", 2, 60_000, 10)
    assert ex.state["isolated_liquidation"] == pytest.approx(iso.liquidation_price().price)
    assert ex.plot.isolated_line.get_xdata()[0] == pytest.approx(iso.liquidation_price().price)
    assert ex.state["liquidation_below"] < ex.state["isolated_liquidation"]  # cross survives longer
    assert ex.state["isolated_loss"] == pytest.approx(float(iso.margin))
    assert ex.state["isolated_loss"] == pytest.approx(12_000)
    assert ex.state["cross_loss"] == pytest.approx(20_000)  # ... but can lose everything
    assert "its margin 12,000.00 USDT" in ex.readout.value and "whole equity 20,000.00 USDT" in ex.readout.value
    ex.set(iso_leverage=20.0, fee_rate=0.0005)
    iso = tm.IsolatedPosition.open(BTC, "long", 2, 60_000, 20, fee_rate=0.0005)
    assert ex.state["isolated_liquidation"] == pytest.approx(iso.liquidation_price().price)
    assert "isolated at 20x" in ex.readout.value
    ex.controls["btc"].value = 57_000.0  # below the 20x isolated liquidation price (~57,300)
    assert ex.state["isolated_liquidated"] is True and not ex.state["liquidated"]


def test_a_liquidated_account_shows_its_state_and_liquidated_now(ex):
    ex.controls["btc"].value = 45_000.0  # below the cross liquidation price (~50,360)
    acc = account()
    assert ex.last_error is None
    assert ex.state["liquidated"] is True
    assert ex.state["health"] == pytest.approx(acc.health(prices(btc=45_000.0)))
    assert ex.state["health"] < 0
    assert ex.state["liquidation_below"] is None and ex.state["liquidation_above"] is None
    assert "liquidated now" in ex.readout.value and "LIQUIDATED" in ex.readout.value
    assert not any(line.get_visible() for line in ex.plot.liquidation_lines)
    assert len(ex.plot.liquidation_markers.get_xdata()) == 0


@pytest.mark.parametrize("values, message", [
    (dict(hedge_qty=1.0), "one position per symbol in one-way mode"),
    (dict(btc_qty=-1.0), "BTCUSDT qty: qty must be > 0"),  # which of the four quantities
    (dict(mode="hedge", hedge_qty=-1.0), "BTC short leg: qty must be > 0"),
    (dict(order_price=-1.0), "order price must be > 0"),
    (dict(reduce_only=True), "wrong side of the hedge or too large"),  # a long reduce-only order, no short leg
    (dict(mode="hedge", hedge_qty=1.0, btc_side="short"), "one long and one short per symbol in hedge mode"),
    (dict(iso_leverage=125.0), "isolated lev.: leverage 125x exceeds the max leverage 100x of tier 2"),
])
def test_bad_input_shows_the_library_message_and_keeps_the_last_state(ex, values, message):
    before = dict(ex.state)
    data = ex.plot.health_line.get_ydata().copy()
    ex.set(**values)
    assert message in ex.last_error and escape(message) in ex.error.value
    assert ex.state == before
    np.testing.assert_array_equal(ex.plot.health_line.get_ydata(), data)
    ex.controls["btc"].value = 59_000.0  # a price move does not hide the problem
    assert message in ex.last_error and ex.state == before


def test_error_clears_when_the_input_is_fixed(ex):
    ex.controls["btc_qty"].value = -1.0
    assert ex.last_error is not None
    ex.controls["btc_qty"].value = 3.0
    assert ex.last_error is None and ex.error.value == ""
    acc = account([Position("BTCUSDT", "long", 3, 60_000), Position("ETHUSDT", "short", 10, 3_000)])
    assert ex.state["requirement"] == pytest.approx(acc.state(prices()).requirement)


@pytest.mark.parametrize("rule", ["position", "net", "underlying"])
def test_tier_rule_and_hedge_mode_follow_the_library(ex, rule):
    ex.set(mode="hedge", hedge_qty=1.5, btc_qty=4.0, tier_rule=rule, fee_rate=0.0005)
    pos = [Position("BTCUSDT", "long", 4, 60_000), Position("BTCUSDT", "short", 1.5, 60_000),
           Position("ETHUSDT", "short", 10, 3_000)]
    acc = account(pos, mode="hedge", tier_rule=rule, fee_rate=0.0005)
    assert ex.last_error is None
    assert ex.state["requirement"] == pytest.approx(acc.state(prices()).requirement)
    below, above = acc.liquidation_prices(prices(), "BTC")
    assert ex.state["liquidation_below"] == pytest.approx(below.price)


def test_tier_rules_differ_as_the_library_says(ex):
    ex.set(mode="hedge", hedge_qty=3.0, btc_qty=4.0)  # 240k long + 180k short: tiers 2 and 2; net 60k; sum 420k
    req = {}
    for rule in ("position", "net", "underlying"):
        ex.controls["tier_rule"].value = rule
        req[rule] = ex.state["requirement"]
    assert req["net"] < req["position"] < req["underlying"]


def test_hedged_leg_cuts_the_price_risk(ex):
    ex.set(mode="hedge", hedge_qty=2.0, eth_qty=0.0, order_qty=0.0, tier_rule="net")
    acc = account([Position("BTCUSDT", "long", 2, 60_000), Position("BTCUSDT", "short", 2, 60_000)],
                  orders=(), mode="hedge", tier_rule="net")
    np.testing.assert_allclose(ex.plot.health_line.get_ydata(), 20_000.0)
    assert ex.state["health"] == pytest.approx(acc.health(prices()))
    assert ex.state["liquidation_below"] is None and ex.state["liquidation_above"] is None
    assert "none" in ex.readout.value and "n/a (nothing at risk)" in ex.readout.value  # ratios undefined


def test_no_btc_position_has_no_isolated_comparison(ex):
    ex.controls["btc_qty"].value = 0.0
    assert ex.last_error is None and ex.state["isolated"] is None
    assert not ex.plot.isolated_line.get_visible() and "no BTCUSDT position" in ex.readout.value


def test_price_moves_keep_the_frame_and_blit(ex):
    frame = ex.plot._frame
    ex.controls["btc"].value = 61_000.0
    assert ex.plot._frame == frame and ex.plot._background is not None  # drawn over the cached frame
    ex.controls["usdt"].value = 500_000.0  # a much larger scale: new frame
    assert ex.plot._frame != frame and ex.plot.ax.get_ylim()[1] >= ex.state["view"].health.max()


def test_static_plot_draws_every_artist():
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2)
    plot = CrossPlot(*axes, blit=False)
    assert not any(a.get_animated() for a in plot.animated)  # savefig/inline show them
    plt.close(fig)


def test_legend_key_is_shown_beside_the_figure(ex):
    for label, _ in CrossPlot.STYLE.values():
        assert escape(label) in ex.key.value
    assert ex.plot.ax.get_legend() is None and ex.plot.ax_surface.get_legend() is None


def test_set_rejects_unknown_controls(ex):
    with pytest.raises(ValueError, match="unknown control"):
        ex.set(price=1)
