"""Headless tests of RiskFundExplorer: set controls, assert on the state, the readouts and the plotted data
against the library called directly (traders → crash_path → run → the fund's ledger and the ADL queue)."""

from dataclasses import replace
from functools import lru_cache
from html import escape

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import tiermargin as tm  # noqa: E402
from tiermargin import adl  # noqa: E402
from tiermargin import waterfall as wf  # noqa: E402
from tiermargin.liquidation import POLICIES, Execution  # noqa: E402
from tiermargin.widgets import RiskFundExplorer  # noqa: E402
from tiermargin.widgets import riskfund as widget  # noqa: E402
from tiermargin.widgets.base import fmt_amount  # noqa: E402

BTC = tm.load_table("binance-usdm-btcusdt-2021")
HOUR = 3_600.0
DEFAULTS = dict(fund=100_000.0, drawdown=0.0, crash=0.15, book=2e7, policy="one-tier", ranking="pnl-leverage", seed=0)
DRY = dict(fund=1_000.0, book=1e6)  # a small fund and a thin book: the fund runs dry, ADL takes the rest
LABELS = ["replay time", "mark price", "risk fund balance", "drawdown floor", "traders liquidated so far",
          "surplus kept by the fund", "losses paid by the fund", "shortfall handed to ADL",
          "traders deleveraged so far", "loss uncovered (no counterparty left)"]


@pytest.fixture
def ex():
    e = RiskFundExplorer()
    yield e
    plt.close(e.fig)


@lru_cache(maxsize=None)
def _library(fund, drawdown, crash, book, policy, ranking, seed):
    pop = wf.traders(BTC, widget.POPULATION, 60_000, seed=seed)
    times, marks = wf.crash_path(depth=crash, seed=seed)
    w = wf.run(pop, times, marks, tm.RiskFund(fund, drawdown=drawdown or None), policy,
               0.2 if policy == "fraction" else None, Execution("impact", book), ranking)
    return w, times, marks


def library(ex):
    """The waterfall, times and marks of the explorer's controls, computed with the library directly."""
    return _library(*(ex.controls[k].value for k in DEFAULTS))


def data(ex):
    """Every plotted data array (the cursor excluded)."""
    p = ex.plot
    return [np.array(a, dtype=float) for line in (p.mark_line, p.gain_markers, p.loss_markers, p.balance_line,
                                                   p.floor_line, p.adl_markers) for a in line.get_data()]


def fund_ticks(ex):
    """The fund axis' tick labels as drawn: the value each label says, and the fund balance at its height
    (its drawn position mapped back through the axis)."""
    p = ex.plot
    said, at = [], []
    for label in p.fund_labels:
        text = label.get_text()
        said.append(float(text[:-1]) * 1e6 if text.endswith("M") else float(text.replace(",", "")))
        y = label.get_transform().transform(label.get_position())[1]
        at.append(p.ax_fund.transData.inverted().transform((0.0, y))[1])
    return np.array(said), np.array(at)


def test_the_controls_and_defaults(ex):
    assert {k: ex.controls[k].value for k in DEFAULTS} == DEFAULTS
    assert ex.controls["replay"].value == 9.0 and ex.controls["replay"].continuous_update
    assert all(not ex.controls[k].continuous_update for k in ("fund", "drawdown", "crash", "book"))
    assert [v for _, v in ex.controls["policy"].options] == list(POLICIES)
    assert [v for _, v in ex.controls["ranking"].options] == ["pnl-leverage", "binance", "hyperliquid"]
    assert ex.last_error is None
    for label in LABELS:
        assert f">{escape(label)}<" in ex.readout.value


def test_the_day_and_its_plot_match_the_library(ex):
    w, times, marks = library(ex)
    assert ex.state["summary"] == pytest.approx(w.summary())
    hours = (times - wf.DAY_START) / HOUR
    p = ex.plot
    np.testing.assert_allclose(p.mark_line.get_xdata(), hours)
    np.testing.assert_array_equal(p.mark_line.get_ydata(), marks)
    np.testing.assert_array_equal(p.balance_line.get_ydata(), w.fund.balance_at(times))
    assert p.balance_line.get_drawstyle() == "steps-post"
    gain = [s for s in w.steps if s.event.surplus >= 0]
    loss = [s for s in w.steps if s.event.surplus < 0]
    assert gain and loss
    np.testing.assert_allclose(p.gain_markers.get_xdata(), [(s.event.time - wf.DAY_START) / HOUR for s in gain])
    np.testing.assert_array_equal(p.gain_markers.get_ydata(), [s.event.mark for s in gain])
    np.testing.assert_array_equal(p.loss_markers.get_ydata(), [s.event.mark for s in loss])
    assert len(p.adl_markers.get_xdata()) == sum(s.shortfall > 0 for s in w.steps) == 0  # the fund copes
    assert not p.floor_line.get_visible()
    for line in p.cut_lines:  # 16:00 UTC+8 = 08:00 UTC
        assert list(line.get_xdata()) == [8.0, 8.0]
    assert "16:00 UTC+8" in p.cut_text.get_text()
    assert p.ax.get_ylabel() == "mark price (USDT)" and p.ax_fund.get_ylabel() == "fund balance (USDT)"
    assert p.ax_fund.get_xlabel() == "time of day (UTC, hours)"
    said, at = fund_ticks(ex)  # 0, 25,000, …, 125,000: each label says the balance at its height
    np.testing.assert_allclose(said, np.linspace(0.0, 125_000.0, 6))
    np.testing.assert_allclose(at, said, atol=1e-6 * said.max())
    assert [x.get_text() for x in p.fund_labels] == ["0", "25,000", "50,000", "75,000", "100,000", "125,000"]
    assert not any(x.get_text() for x in p.ax_fund.get_yticklabels())  # the axis' own labels stay empty
    lo, hi = p.ax_fund.get_ylim()
    assert lo < 0 and said[-1] < hi and lo < p.balance_line.get_ydata().min() <= p.balance_line.get_ydata().max() < hi


def test_a_small_fund_and_a_thin_book_hand_losses_to_adl_a_large_fund_does_not(ex):
    ex.set(replay=24.0, **DRY)
    w, times, _ = library(ex)
    s = ex.state
    assert s["shortfall"] > 0 and s["deleveraged"] > 0 and s["balance"] < DRY["fund"]
    total = w.summary()
    assert s["shortfall"] == pytest.approx(total["shortfall to ADL"])
    assert s["deleveraged"] == total["traders deleveraged"] and s["liquidated"] == total["traders liquidated"]
    assert s["balance"] == pytest.approx(w.fund.balance)
    adl_steps = [x for x in w.steps if x.shortfall > 0]
    np.testing.assert_allclose(ex.plot.adl_markers.get_xdata(), [(x.event.time - wf.DAY_START) / HOUR for x in adl_steps])
    np.testing.assert_array_equal(ex.plot.adl_markers.get_ydata(), w.fund.balance_at([x.event.time for x in adl_steps]))
    assert fmt_amount(s["shortfall"], "USDT") in ex.readout.value

    ex.set(fund=1e8, book=1e9)
    assert ex.state["shortfall"] == 0 and ex.state["deleveraged"] == 0 and ex.state["losses"] <= 0
    assert len(ex.plot.adl_markers.get_xdata()) == 0
    assert ex.state["balance"] == pytest.approx(library(ex)[0].fund.balance)


def test_a_new_fund_draws_only_the_data_over_the_kept_frame(ex):
    p = ex.plot
    frame = p._background
    grid = p.ax_fund.transData.transform(np.column_stack([np.zeros(6), p.ax_fund.get_yticks()]))[:, 1]
    for fund, book in ((1e3, 1e6), (1e5, 2e7), (3e6, 2e7), (1e8, 1e9), (2e4, 1e6)):
        cached = p._data_background
        ex.set(fund=fund, book=book)
        w, times, _ = library(ex)
        assert p._background is frame and p._data_background is not cached  # the frame is kept
        assert set(p.fund_labels) <= set(p.data) and all(x.get_animated() for x in p.fund_labels)
        # the ticks (in the frame) stay at the same heights, their labels say the values there
        np.testing.assert_allclose(
            p.ax_fund.transData.transform(np.column_stack([np.zeros(6), p.ax_fund.get_yticks()]))[:, 1], grid)
        said, at = fund_ticks(ex)
        np.testing.assert_allclose(at, said, atol=1e-6 * said.max())
        np.testing.assert_array_equal(p.balance_line.get_ydata(), w.fund.balance_at(times))  # drawn in USDT
        lo, hi = p.ax_fund.get_ylim()
        shown = np.concatenate([p.balance_line.get_ydata(), p.adl_markers.get_ydata(), p.balance_dot.get_ydata()])
        assert lo < shown.min() and shown.max() <= said[-1] < hi  # inside the axis, under its top label
        assert said[-1] < 2 * w.fund.balance_at(times).max()  # the top label is the rounded highest balance
    assert [x.get_text() for x in p.fund_labels] == ["0", "4,000", "8,000", "12,000", "16,000", "20,000"]
    ex.set(fund=1e8, book=1e9)
    assert [x.get_text() for x in p.fund_labels] == ["0", "25M", "50M", "75M", "100M", "125M"]
    # what is on screen is what a fresh explorer draws for these controls
    fresh = RiskFundExplorer(fund=1e8, book=1e9)
    try:
        np.testing.assert_array_equal(np.asarray(ex.fig.canvas.buffer_rgba()), np.asarray(fresh.fig.canvas.buffer_rgba()))
    finally:
        plt.close(fresh.fig)


def test_the_replay_slider_moves_only_the_cursor_and_the_readouts(ex):
    ex.set(**DRY)
    w, times, marks = library(ex)
    before = data(ex)
    limits = (ex.plot.ax.get_ylim(), ex.plot.ax_fund.get_ylim())
    liquidated = []
    for hour in (0.0, 7.5, 8.0, 8.5, 9.25, 12.0, 24.0):
        ex.controls["replay"].value = hour
        assert ex.last_error is None
        t = wf.DAY_START + hour * HOUR
        i = int(np.searchsorted(times, t, side="right")) - 1
        s = ex.state
        assert (s["hour"], s["time"], s["mark"]) == (hour, t, marks[i])
        assert s["balance"] == w.fund.balance_at(t)
        assert fmt_amount(s["balance"], "USDT") in ex.readout.value
        done = [x for x in w.steps if x.event.time <= t]
        assert s["liquidated"] == len({x.trader for x in done})
        assert s["surplus"] == pytest.approx(sum(max(x.fund, 0.0) for x in done))
        assert s["losses"] == pytest.approx(sum(min(x.fund, 0.0) for x in done))
        assert s["shortfall"] == pytest.approx(sum(x.shortfall for x in done))
        hit = [x.deleveraged.who for x in done if x.deleveraged is not None]
        assert s["deleveraged"] == (np.unique(np.concatenate(hit)).size if hit else 0)
        for line in ex.plot.cursors:
            assert list(line.get_xdata()) == [hour, hour]
        assert list(ex.plot.balance_dot.get_ydata()) == [s["balance"]]
        for a, b in zip(before, data(ex)):  # the day's data did not move
            np.testing.assert_array_equal(a, b)
        assert (ex.plot.ax.get_ylim(), ex.plot.ax_fund.get_ylim()) == limits
        assert s["summary"] == pytest.approx(w.summary())
        liquidated.append(s["liquidated"])
    assert liquidated == sorted(liquidated) and liquidated[-1] > liquidated[0]


def expected_queue(w, times, marks, hour, ranking):
    """The ADL queue at ``hour`` from the adl functions directly: side, traders, scores, contracts, lights."""
    t = wf.DAY_START + hour * HOUR
    mark = marks[int(np.searchsorted(times, t, side="right")) - 1]
    done = [x for x in w.steps if x.event.time <= t]
    side = float(w.start.side[done[-1].trader]) if done else 1.0  # before any liquidation: a long's queue
    qty, margin = w.positions_at(t)
    held = np.flatnonzero(qty > 0)
    pool = replace(w.start[held], qty=qty[held], margin=margin[held])
    ok = adl.candidates(pool, mark, side)
    score = np.atleast_1d(adl.scores(pool[ok], mark, ranking))
    light = adl.lights(score, pool.qty[ok])
    order = np.argsort(-score, kind="stable")
    return side, held[ok][order], score[order], pool.qty[ok][order], light[order]


@pytest.mark.parametrize("ranking", ["pnl-leverage", "binance", "hyperliquid"])
def test_the_adl_queue_matches_scores_and_lights(ex, ranking):
    ex.set(ranking=ranking, **DRY)
    w, times, marks = library(ex)
    for hour in (0.0, 8.5, 9.5, 14.0):
        ex.controls["replay"].value = hour
        q = ex.state["queue"]
        side, who, score, qty, light = expected_queue(w, times, marks, hour, ranking)
        assert q.liquidated_side == side
        np.testing.assert_array_equal(q.trader, who)
        np.testing.assert_allclose(q.score, score)
        np.testing.assert_allclose(q.qty, qty)
        np.testing.assert_array_equal(q.lights, light)
        assert np.all(q.upnl > 0)
        held = "shorts" if side > 0 else "longs"
        assert f"{held} in profit" in ex.readout.value
        for k in range(min(5, who.size)):  # the top 5 are shown with their lights
            assert f"<td style='padding:1px 6px;text-align:right;font-family:monospace'>{who[k]}</td>" in ex.readout.value
            assert "●" * int(light[k]) + "</span>" + "○" * (5 - int(light[k])) in ex.readout.value


def test_before_any_liquidation_the_queue_is_the_shorts(ex):
    w, times, _ = library(ex)
    first = w.steps[0].event.time
    hour = np.floor((first - wf.DAY_START) / 60 - 1) / 60  # the minute before the first liquidation
    ex.controls["replay"].value = hour
    assert ex.state["liquidated"] == 0 and ex.state["queue"].liquidated_side == 1.0
    assert "shorts in profit, against a liquidated long (no liquidation yet)" in ex.readout.value


def test_the_reconciliation_windows_follow_the_ledger(ex):
    ex.set(replay=7.5, **DRY)
    w, _, _ = library(ex)
    windows = w.fund.reconciliations(16, 8)
    assert ex.state["windows"] == windows and len(windows) == 2
    assert windows[0].end == wf.DAY_START + 8 * HOUR
    assert ex.state["window"] == 0
    assert "02-29 16:00 → 03-01 16:00" in ex.readout.value and "03-01 16:00 → 03-02 16:00" in ex.readout.value
    for x in windows:
        for amount in (x.surplus, x.loss, x.adl, x.net, x.balance):
            assert fmt_amount(amount) in ex.readout.value
    ex.controls["replay"].value = 8.0  # 16:00 UTC+8: the next window starts
    assert ex.state["window"] == 1 and "16:00 UTC+8" in ex.readout.value


def test_a_drawdown_threshold_draws_the_floor_and_hands_the_rest_to_adl(ex):
    ex.set(drawdown=0.5, replay=24.0)
    w, times, _ = library(ex)
    assert w.fund.drawdown == 0.5
    assert ex.plot.floor_line.get_visible()
    np.testing.assert_array_equal(ex.plot.floor_line.get_ydata(), w.fund.floor_at(times))
    assert ex.state["floor"] == w.fund.floor_at(wf.DAY_START + 24 * HOUR)
    assert ex.state["shortfall"] == pytest.approx(w.summary()["shortfall to ADL"]) and ex.state["shortfall"] > 0
    assert ex.state["balance"] > 0  # the fund stopped at its floor, not at zero
    assert fmt_amount(ex.state["floor"], "USDT") in ex.readout.value
    ex.controls["drawdown"].value = 0.0
    assert not ex.plot.floor_line.get_visible() and ex.state["floor"] is None
    assert "none (no threshold)" in ex.readout.value


def test_policy_crash_and_seed_follow_the_library(ex):
    ex.set(policy="fraction", crash=-0.2, seed=3, replay=24.0)
    w, _, marks = library(ex)
    assert ex.state["summary"] == pytest.approx(w.summary())
    np.testing.assert_array_equal(ex.plot.mark_line.get_ydata(), marks)
    assert marks.max() > 70_000  # a squeeze: shorts are liquidated
    assert ex.state["balance"] == pytest.approx(w.fund.balance)


def test_bad_input_shows_the_library_message_and_keeps_the_last_state(ex):
    state, before = ex.state, data(ex)
    ex.controls["seed"].value = -1
    assert ex.last_error == "seed must be an integer >= 0, got -1"
    assert "seed must be an integer" in ex.error.value
    assert ex.state is state
    for a, b in zip(before, data(ex)):
        np.testing.assert_array_equal(a, b)
    ex.controls["replay"].value = 12.0  # still invalid: the message stays
    assert ex.last_error is not None and ex.state is state
    ex.controls["seed"].value = 0
    assert ex.last_error is None and ex.error.value == "" and ex.state["hour"] == 12.0


def test_population_and_path_are_cached_per_seed():
    assert widget._population(0) is widget._population(0)
    assert widget._path(0.15, 0) is widget._path(0.15, 0)
    assert widget._path(0.15, 0)[0].flags.writeable is False


def test_the_key_names_every_artist(ex):
    from tiermargin.plots import RiskFundPlot

    for label, _ in RiskFundPlot.STYLE.values():
        assert escape(label) in ex.key.value


def test_an_empty_queue_says_so_and_values_can_be_given_at_construction():
    empty = wf.AdlQueue(-1.0, np.empty(0, dtype=np.intp), np.empty(0), np.empty(0), np.empty(0),
                        np.empty(0, dtype=np.intp))
    html = widget._queue_html(empty, 9.0, "binance", "USDT", True)
    assert "longs in profit, against a liquidated short" in html and "none: no long is in profit" in html
    e = RiskFundExplorer(fund=1e3, replay=12.0)
    try:
        assert e.state["hour"] == 12.0 and e.controls["fund"].value == 1e3 and e.last_error is None
    finally:
        plt.close(e.fig)
