"""Headless tests of LiquidationExplorer: set controls, assert the state and the plotted data equal the
library's numbers (liquidate and replay called here with the same inputs)."""

import matplotlib

matplotlib.use("Agg")

from html import escape  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import tiermargin as tm  # noqa: E402
from tiermargin.liquidation import Execution, liquidate  # noqa: E402
from tiermargin.replay import replay  # noqa: E402
from tiermargin.waterfall import DAY_START, crash_path  # noqa: E402
from tiermargin.widgets import LiquidationExplorer  # noqa: E402
from tiermargin.widgets.base import fmt_amount  # noqa: E402
from tiermargin.widgets.liquidation import example, table_options  # noqa: E402

BTC = tm.load_table("binance-usdm-btcusdt-2021")
DEFAULTS = dict(side="long", qty=200.0, leverage=10.0, policy="one-tier", fraction=None, orders=0.0,
                model="impact", depth=5e7, crash=0.08)
READOUT_LABELS = [
    "position", "margin at opening", "liquidation price at opening", "time (UTC)", "mark price", "contracts held",
    "tier", "health", "margin ratio (≥ 100% liquidates)", "steps so far", "last step",
    "contracts sent to the market, full", "contracts sent to the market, stepwise", "trader's equity left, full",
    "trader's equity left, stepwise", "fund result, full", "fund result, stepwise", "margin lost, full",
    "margin lost, stepwise",
]


@pytest.fixture
def ex():
    e = LiquidationExplorer()
    yield e
    import matplotlib.pyplot as plt

    plt.close(e.fig)


def library(policy=None, **kw):
    """The stepwise (or ``policy``) liquidation of the position the controls describe, by the library."""
    a = {**DEFAULTS, **kw}
    times, marks = crash_path(depth=a["crash"] * (1 if a["side"] == "long" else -1), price=60_000.0)
    pos = tm.IsolatedPosition.open(BTC, a["side"], a["qty"], 60_000.0, a["leverage"])
    policy = policy or a["policy"]
    fraction = a["fraction"] if policy == "fraction" else None
    log = liquidate(pos, times, marks, policy, fraction, Execution(a["model"], a["depth"]), a["orders"])
    return pos, times, marks, log, replay(log, times, marks, a["orders"])


def plotted(ex):
    """Copies of every data artist's arrays."""
    p = ex.plot
    lines = [p.mark_line, p.fill_markers, p.bankruptcy_markers, p.full_fill_markers, p.full_bankruptcy_markers,
             p.health_line, p.health_full_line, p.contracts_line, p.contracts_full_line]
    return [(np.array(line.get_xdata(), dtype=float), np.array(line.get_ydata(), dtype=float)) for line in lines]


def test_initial_state_matches_the_library(ex):
    pos, times, marks, log, path = library()
    _, _, _, full, full_path = library("full")
    assert ex.last_error is None
    assert ex.state["log"].events == log.events and ex.state["log_full"].events == full.events
    assert float(ex.state["position"].qty) == 200.0 and ex.state["position"].tier(60_000.0) == 5
    s, f = ex.state["stepwise"], ex.state["full"]
    assert s["contracts_to_market"] == log.contracts_to_market
    assert s["trader_equity"] == log.trader_equity(marks[-1]) > 0  # stepwise keeps a position: 8% crash
    assert s["fund_result"] == log.fund_result and s["margin_lost"] == log.margin_lost
    assert f["contracts_to_market"] == 200.0 and f["trader_equity"] == 0.0
    assert f["fund_result"] == full.fund_result and f["margin_lost"] == full.margin_lost
    # the replay starts at the end of the path: the final state
    assert ex.state["index"] == times.size - 1
    assert ex.state["contracts"] == path.contracts[-1] == float(log.final.qty)
    assert ex.state["health"] == path.health[-1] and ex.state["tier"] == path.tier[-1]
    assert ex.state["steps"] == len(log.events)
    for label in READOUT_LABELS:
        assert f"<td style='padding:1px 8px 1px 0;color:#555'>{escape(label)}</td>" in ex.readout.value
    for x in (full.fund_result, log.fund_result, log.trader_equity(marks[-1]), full.margin_lost):
        assert fmt_amount(x, "USDT") in ex.readout.value


def test_plotted_data_equals_the_library(ex):
    pos, times, marks, log, path = library()
    *_, full, full_path = library("full")
    hours = (times - DAY_START) / 3600
    p = ex.plot
    np.testing.assert_array_equal(p.mark_line.get_xdata(), hours)
    np.testing.assert_array_equal(p.mark_line.get_ydata(), marks)
    np.testing.assert_array_equal(p.health_line.get_ydata(), np.where(path.open, path.health, np.nan))
    np.testing.assert_array_equal(p.health_full_line.get_ydata(), np.where(full_path.open, full_path.health, np.nan))
    np.testing.assert_array_equal(p.contracts_line.get_ydata(), path.contracts)
    np.testing.assert_array_equal(p.contracts_full_line.get_ydata(), full_path.contracts)
    np.testing.assert_array_equal(p.fill_markers.get_ydata(), [e.execution_price for e in log.events])
    np.testing.assert_array_equal(p.bankruptcy_markers.get_ydata(), [e.bankruptcy_price for e in log.events])
    np.testing.assert_allclose(p.fill_markers.get_xdata(), [(e.time - DAY_START) / 3600 for e in log.events])
    np.testing.assert_array_equal(p.full_fill_markers.get_ydata(), [full.events[0].execution_price])
    assert p.liquidation_line.get_ydata()[0] == pytest.approx(pos.liquidation_price().price)
    assert p.cursors[0].get_xdata()[0] == hours[-1]
    lo, hi = p.ax.get_ylim()
    assert lo <= min(marks.min(), full.events[0].execution_price) and hi >= marks.max()


def test_the_replay_slider_moves_only_the_cursor_and_the_readout(ex):
    pos, times, marks, log, path = library()
    before, readout, data_layer = plotted(ex), ex.readout.value, ex.plot._data_background
    first = int(np.argmax(path.steps > 0))
    hour = (times[first] - DAY_START) / 3600
    ex.controls["replay"].value = hour
    assert ex.last_error is None
    for (x0, y0), (x1, y1) in zip(before, plotted(ex)):
        np.testing.assert_array_equal(x0, x1)
        np.testing.assert_array_equal(y0, y1)
    assert ex.plot._data_background is data_layer  # the cached data layer was reused: only the cursor drawn
    assert ex.plot.cursors[0].get_xdata()[0] == pytest.approx(hour) == ex.plot.cursors[1].get_xdata()[0]
    assert ex.readout.value != readout
    s = ex.state
    assert s["index"] == first and s["mark"] == marks[first]
    assert s["contracts"] == path.contracts[first] and s["health"] == path.health[first]
    assert s["tier"] == path.tier[first] and s["steps"] == path.steps[first]
    assert s["last_step"] == log.events[path.steps[first] - 1]
    assert f"<td style='text-align:right;font-family:monospace'>{_clock(hour)}</td>" in ex.readout.value
    # before the crash: nothing yet, the start position
    ex.controls["replay"].value = 3.0
    i = int(np.searchsorted(times, DAY_START + 3 * 3600, side="right")) - 1
    assert ex.state["steps"] == 0 and ex.state["contracts"] == 200.0 and ex.state["last_step"] is None
    assert ex.state["health"] == pytest.approx(float(pos.health(marks[i])))
    assert "none yet" in ex.readout.value and "no step yet" in ex.log_view.value


def test_the_event_log_shows_rows_up_to_the_replay_time(ex):
    *_, log, path = library()
    assert ex.log_view.value.count("<tr>") == 1 + len(log.events)  # header + every step at the end
    times = path.times
    first = int(np.argmax(path.steps > 0))
    ex.controls["replay"].value = (times[first] - DAY_START) / 3600
    assert ex.log_view.value.count("<tr>") == 1 + int(path.steps[first])
    assert escape(log.events[0].action) in ex.log_view.value


def test_full_vs_one_tier_as_the_library_says(ex):
    *_, one, _ = library("one-tier")
    *_, full, _ = library("full")
    assert ex.state["stepwise"]["contracts_to_market"] == one.contracts_to_market < 200.0
    ex.controls["policy"].value = "full"
    assert ex.state["stepwise"]["contracts_to_market"] == full.contracts_to_market == 200.0
    assert ex.state["stepwise"]["fund_result"] == full.fund_result == ex.state["full"]["fund_result"]
    assert ex.state["stepwise"]["trader_equity"] == 0.0
    np.testing.assert_array_equal(ex.plot.health_line.get_ydata(), ex.plot.health_full_line.get_ydata())
    ex.controls["policy"].value = "one-tier"
    assert ex.state["stepwise"]["fund_result"] == one.fund_result != full.fund_result


def test_hyperliquid_runs_its_procedure_and_compares_it_with_a_full_close_settled_at_the_fill(ex):
    ex.controls["policy"].value = "hyperliquid"
    *_, log, _ = library(policy="hyperliquid")
    assert ex.state["log"].events == log.events and ex.state["log"].settlement == "fill"
    assert ex.state["log_full"].settlement == "fill" and ex.controls["fraction"].disabled


def test_fraction_slider_is_enabled_only_for_the_fraction_policy(ex):
    c = ex.controls
    assert c["fraction"].disabled
    c["policy"].value = "fraction"
    assert not c["fraction"].disabled
    c["fraction"].value = 0.3
    *_, log, _ = library(policy="fraction", fraction=0.3)
    assert ex.state["log"].events == log.events and ex.state["fraction"] == 0.3
    c["policy"].value = "two-tiers"
    assert c["fraction"].disabled and ex.state["fraction"] is None
    *_, log, _ = library(policy="two-tiers")
    assert ex.state["log"].events == log.events


def test_execution_model_and_book_depth(ex):
    c = ex.controls
    assert not c["depth"].disabled
    c["depth"].value = 1e7
    *_, full, _ = library("full", depth=1e7)
    assert ex.state["full"]["fund_result"] == full.fund_result
    c["execution"].value = "bankruptcy"
    assert c["depth"].disabled
    *_, log, _ = library(model="bankruptcy")
    assert ex.state["log"].events == log.events
    assert ex.state["full"]["fund_result"] == pytest.approx(0.0, abs=1e-6)  # filled at the bankruptcy price


def test_crash_depth_open_orders_and_a_short(ex):
    ex.set(crash=0.15, orders=50_000.0)
    *_, log, path = library(crash=0.15, orders=50_000.0)
    assert ex.last_error is None and ex.state["log"].events == log.events
    assert log.events[0].action == "cancel orders"
    np.testing.assert_array_equal(ex.plot.health_line.get_ydata(), np.where(path.open, path.health, np.nan))
    ex.set(side="short", orders=0.0)
    *_, log, path = library(side="short", crash=0.15)
    assert ex.state["log"].events == log.events and log.events  # a squeeze liquidates the short
    assert ex.plot.mark_line.get_ydata().max() > 60_000 * 1.1


def test_invalid_leverage_shows_the_library_message_and_keeps_the_state(ex):
    state, data = ex.state, plotted(ex)
    ex.controls["leverage"].value = 20.0  # tier 5 allows 10x at most
    assert "exceeds the max leverage 10x of tier 5" in ex.last_error
    assert "exceeds the max leverage" in ex.error.value
    assert ex.state is state
    for (x0, y0), (x1, y1) in zip(data, plotted(ex)):
        np.testing.assert_array_equal(y0, y1)
    ex.controls["replay"].value = 9.0  # still invalid: the error stays, the state too
    assert ex.last_error is not None and ex.state is state
    ex.controls["leverage"].value = 8.0
    assert ex.last_error is None and ex.error.value == ""
    *_, log, _ = library(leverage=8.0)
    assert ex.state["log"].events == log.events and ex.state["hour"] == pytest.approx(9.0)


def test_negative_orders_are_refused(ex):
    ex.controls["orders"].value = -5.0
    assert "orders_requirement must be >= 0" in ex.last_error


@pytest.mark.parametrize("table_id", [v for _, v in table_options()])
def test_every_table_loads_a_valid_example(ex, table_id):
    ex.controls["table"].value = table_id
    assert ex.last_error is None, ex.last_error
    table = tm.load_table(table_id)
    price, usd, leverage = example(table_id)
    pos = ex.state["position"]
    assert float(pos.entry) == price and float(pos.leverage) == leverage == ex.controls["leverage"].value
    assert float(table.usd_notional(table.size_of(pos.qty, price), price)) == pytest.approx(usd)
    assert pos.tier(price) >= min(3, table.n_tiers)
    times, marks = crash_path(depth=0.08, price=price)
    log = liquidate(pos, times, marks, "one-tier", execution=Execution("impact", 5e7))
    assert ex.state["log"].events == log.events


def test_zoom_on_the_steps_keeps_the_data(ex):
    data = plotted(ex)
    ex.controls["zoom"].value = "steps"
    lo, hi = ex.plot.ax_health.get_xlim()
    window = ex.state["view"].steps_window()
    assert lo <= window[0] and hi >= window[1] and hi - lo < 6
    for (x0, y0), (x1, y1) in zip(data, plotted(ex)):
        np.testing.assert_array_equal(y0, y1)
    ex.controls["zoom"].value = "day"
    assert ex.plot.ax_health.get_xlim() == (0.0, 24.0)


def _clock(hour):
    minutes = int(round(hour * 60))
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
