"""Headless tests of CascadeExplorer: set controls, assert on the state, the readouts, the explanation and the
plotted data against the library called directly (population → table variant → cascade.run)."""

import doctest
from functools import lru_cache
from html import escape

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from traitlets import TraitError  # noqa: E402

from tiermargin import cascade as cs  # noqa: E402
from tiermargin.orderbook import Book  # noqa: E402
from tiermargin.plots import CascadePlot  # noqa: E402
from tiermargin.widgets import CascadeExplorer  # noqa: E402
from tiermargin.widgets import cascade as widget  # noqa: E402
from tiermargin.widgets.base import fmt_amount  # noqa: E402

DEFAULTS = dict(kind="market", size=0.05, form="continuous", policy="one-tier", window=300, depth=5e6, traders=2_000,
                seed=0)
LABELS = ["shock", "open positions (at entry)", "traders liquidated", "notional liquidated",
          "… by the shock alone (no impact)", "the shock's own sale", "cascade multiplier", "largest last-price move",
          "largest mark move", "risk fund loss", "risk fund at the end", "ADL fills (counterparties)",
          "loss left uncovered"]
DRY = dict(size=0.15, depth=3e5)  # a large drop into a thin book: the fund runs dry, ADL fills the rest


@pytest.fixture
def ex():
    e = CascadeExplorer()
    yield e
    plt.close(e.fig)


@lru_cache(maxsize=None)
def _library(kind, size, form, policy, window, depth, traders, seed):
    pop = cs.population("binance-usdm", traders, seed=seed)
    t = pop.table
    if form == "step":
        pop = pop.with_table(t.with_form("step"))
    elif form == "tier-1":
        pop = pop.with_table(cs.flat_table(t, t.mmr[0]))
    elif form == "average":
        pop = pop.with_table(cs.flat_table(t, pop.average_rate()))
    elif form == "none":
        pop = pop.redrawn(cs.flat_table(t, t.mmr[0], t.max_leverage[0]))
    marking = {"mark": "last"} if window == 0 else {"window": float(window)}
    return cs.run(pop, cs.Shock(kind, size, at=1_800.0), Book(depth), policy=policy,
                  fraction=0.2 if policy == "fraction" else None, duration=7_200.0, seed=seed, **marking)


def library(**kw):
    """The cascade of the given controls (the others at their defaults), run with the library directly."""
    return _library(*{**DEFAULTS, **kw}.values())


def controls(ex):
    return {k: ex.controls[k].value for k in DEFAULTS}


def plotted(ex):
    """Copies of every data artist's arrays."""
    p = ex.plot
    lines = [a for line in (p.last_line, p.index_line, p.mark_line, p.fund_line, p.adl_markers)
             for a in line.get_data()]
    return [np.array(a, dtype=float) for a in (*lines, *p.bars.get_data()[:2])]


def limits(ex):
    p = ex.plot
    return p.ax.get_ylim(), p.ax_volume.get_ylim(), p.ax_fund.get_ylim(), p.ax_volume.get_xlim()


def compact(x):
    """Millions as the explanation writes them (every amount it shows in these tests is in millions)."""
    assert 1e6 <= x < 1e9
    return f"{x / 1e6:.4g}M"


def assert_plot_shows(ex, c):
    """Every artist holds the run's arrays; the value axes hold the data (and the data fill a third of them)."""
    p = ex.plot
    hours = (c.times % 86_400) / 3_600  # the run starts at midnight UTC and lasts two hours
    assert hours[0] == 0.0 and hours[-1] == 2.0
    for line, y in ((p.last_line, c.last), (p.index_line, c.index), (p.mark_line, c.mark), (p.fund_line, c.fund)):
        np.testing.assert_allclose(line.get_xdata(), hours, atol=1e-12)
        np.testing.assert_array_equal(line.get_ydata(), y)
    values, edges, _ = p.bars.get_data()
    np.testing.assert_array_equal(values, c.notional)
    np.testing.assert_allclose(edges, np.append(hours, hours[-1] + 1 / 60), atol=1e-12)
    dry = c.adl_fills > 0
    np.testing.assert_allclose(p.adl_markers.get_xdata(), hours[dry], atol=1e-12)
    np.testing.assert_array_equal(p.adl_markers.get_ydata(), c.fund[dry])
    prices = np.concatenate((c.last, c.index, c.mark))
    (p0, p1), (v0, v1), (f0, f1), (x0, x1) = limits(ex)
    assert p0 <= prices.min() and prices.max() <= p1 and np.ptp(prices) >= (p1 - p0) / 3
    assert v0 == 0.0 and c.notional.max() <= v1 and (c.notional.max() >= v1 / 3 or v1 <= 1.05)
    assert f0 == 0.0 and c.fund.max() <= f1 and c.fund.max() >= f1 / 3
    assert (x0, x1) == (0.0, pytest.approx(2.0 + 1 / 60))


def test_every_smoothing_window_gives_its_own_mark(ex):
    """At one mark a minute, a window of one step would be the last price again: every option must differ."""
    ex.set(kind="venue", size=0.1)
    marks = []
    for _, window in ex.controls["window"].options:
        ex.controls["window"].value = window
        marks.append(ex.state["cascade"].mark)
    for i in range(len(marks)):
        for j in range(i):
            assert not np.allclose(marks[i], marks[j])


def test_the_controls_and_defaults(ex):
    assert controls(ex) == DEFAULTS
    assert all(not ex.controls[k].continuous_update for k in ("size", "depth", "traders"))
    assert [v for _, v in ex.controls["form"].options] == ["continuous", "step", "tier-1", "average", "none"]
    assert [v for _, v in ex.controls["window"].options] == [0, 120, 300, 900]
    assert [v for _, v in ex.controls["kind"].options] == ["market", "venue"]
    assert ex.last_error is None
    for label in LABELS:
        assert f">{escape(label)}<" in ex.readout.value
    for label, _ in CascadePlot.STYLE.values():
        assert escape(label) in ex.key.value


def test_the_start_matches_the_library(ex):
    c = library()
    s = c.summary()
    assert ex.state["summary"] == s
    assert s["traders liquidated"] > 0 and s["cascade multiplier"] > 1  # the default shock cascades
    assert_plot_shows(ex, c)
    for line in ex.plot.shock_lines:
        assert list(line.get_xdata()) == [0.5, 0.5]  # the shock at 00:30 UTC
    assert ex.plot.shock_text.get_text() == "shock: market-wide drop"
    assert ex.plot.ax.get_ylabel() == "price (USDT)" and ex.plot.ax_fund.get_ylabel() == "risk fund (USDT)"
    assert ex.plot.ax_volume.get_ylabel() == "liquidated (USD per min)"
    assert ex.state["explanation"] == (
        f"A 5% market-wide drop (the index falls too) into a book of 5,000,000 USD per 1 %: "
        f"{s['traders liquidated']:,.0f} of 2,000 traders liquidated, {compact(s['notional liquidated (USD)'])} USD, "
        f"cascade multiplier {s['cascade multiplier']:.2f}×. Change a control to see what it does.")


def test_the_readout_shows_the_librarys_numbers(ex):
    ex.set(**DRY)
    c = library(**DRY)
    s = c.summary()
    assert s["ADL fills"] > 0 and s["fund at the end"] < s["fund loss"]  # the fund ran dry
    html = ex.readout.value
    shown = [escape("15% market-wide drop at 00:30 UTC"),
             fmt_amount(float(c.population.notional().sum()), "USD"),
             f"{s['traders liquidated']:,.0f} of 2,000",
             fmt_amount(s["notional liquidated (USD)"], "USD"), fmt_amount(c.baseline, "USD"),
             fmt_amount(0.0, "USD"), f"{s['cascade multiplier']:.2f}×",
             f"{s['largest last move (%)']:.2f} %", f"{s['largest mark move (%)']:.2f} %",
             fmt_amount(s["fund loss"], "USDT"), fmt_amount(s["fund at the end"], "USDT"),
             f"{s['ADL fills']:,.0f}", fmt_amount(s["uncovered"], "USDT")]
    for label, value in zip(LABELS, shown):
        assert f">{escape(label)}</td><td style='text-align:right;font-family:monospace'>{value}</td>" in html
    assert_plot_shows(ex, c)
    assert len(ex.plot.adl_markers.get_xdata()) > 0


@pytest.mark.parametrize("name, value, change", [
    ("kind", "venue", "shock market-wide drop (the index falls too) → a sale into this venue's book"),
    ("size", 0.12, "shock size 5% → 12%"),
    ("form", "step", "tier table tiered (continuous) → tiered (step)"),
    ("form", "tier-1", "tier table tiered (continuous) → flat at tier 1"),
    ("form", "average", "tier table tiered (continuous) → flat at the average rate"),
    ("form", "none", "tier table tiered (continuous) → no tiers (tier 1's rate and leverage)"),
    ("policy", "full", "liquidation one tier down (OKX margin) → in full, one order"),
    ("policy", "fraction", "liquidation one tier down (OKX margin) → a fixed fraction (Drift)"),
    ("policy", "hyperliquid", "liquidation one tier down (OKX margin) → 20 % above 100k USDC, then all (Hyperliquid)"),
    ("window", 0, "mark smoothing 5 min (300 s) → none: liquidate on the last price"),
    ("window", 900, "mark smoothing 5 min (300 s) → 15 min (900 s)"),
    ("depth", 1e6, "book depth 5,000,000 USD per 1 % → 1,000,000 USD per 1 %"),
    ("traders", 500, "traders 2,000 → 500"),
    ("seed", 3, "seed 0 → 3")])
def test_each_control_reruns_the_cascade_the_library_runs(ex, name, value, change):
    before = library().summary()
    ex.controls[name].value = value
    assert ex.last_error is None, ex.last_error
    c = library(**{name: value})
    s = c.summary()
    assert ex.state["summary"] == s and ex.state["settings"] == widget.Settings(**{**DEFAULTS, name: value})
    assert_plot_shows(ex, c)
    assert f"{s['traders liquidated']:,.0f} of {ex.controls['traders'].value:,}" in ex.readout.value
    assert fmt_amount(s["notional liquidated (USD)"], "USD") in ex.readout.value
    n0, n1 = before["notional liquidated (USD)"], s["notional liquidated (USD)"]
    m0, m1 = before["cascade multiplier"], s["cascade multiplier"]
    assert ex.state["explanation"] == (
        f"{change}: traders liquidated {before['traders liquidated']:,.0f} → {s['traders liquidated']:,.0f}, "
        f"notional {compact(n0)} → {compact(n1)} USD, cascade multiplier {m0:.2f}× → {m1:.2f}×.")
    assert escape(ex.state["explanation"]) in ex.readout.value


def test_the_explanation_names_every_changed_control_and_nothing_when_nothing_changed(ex):
    ex.set(size=0.1, depth=1e6)
    assert ex.state["explanation"].startswith(
        "shock size 5% → 10%; book depth 5,000,000 USD per 1 % → 1,000,000 USD per 1 %: traders liquidated ")
    ex.set(size=0.1)
    assert ex.state["explanation"] == "Nothing changed."
    ex.controls["form"].value = "none"
    assert ex.state["explanation"].startswith(
        "tier table tiered (continuous) → no tiers (tier 1's rate and leverage): ")
    ex.controls["window"].value = 0
    assert ex.state["explanation"].startswith("mark smoothing 5 min (300 s) → none: liquidate on the last price: ")


def test_the_table_variants_change_the_cascade_as_the_lesson_says(ex):
    runs = {}
    for form in ("continuous", "tier-1", "none"):
        ex.controls["form"].value = form
        runs[form] = ex.state["summary"]
    assert len({s["notional liquidated (USD)"] for s in runs.values()}) == 3  # three different markets
    # without tiers the large positions are as leveraged as the small ones: more is liquidated
    assert runs["none"]["notional liquidated (USD)"] > runs["continuous"]["notional liquidated (USD)"]


def test_a_deep_book_has_no_cascade_and_a_venue_sale_is_the_shocks_own_order(ex):
    ex.set(depth=1e9)
    s = ex.state["summary"]
    assert s["cascade multiplier"] == pytest.approx(1.0, abs=0.01) and s["shock order (USD)"] == 0
    ex.set(kind="venue", depth=5e6)
    c = library(kind="venue")
    assert ex.state["summary"]["shock order (USD)"] == Book(5e6).order_for(0.05) > 0
    assert ex.plot.shock_text.get_text() == "shock: a sale into this venue's book"
    assert_plot_shows(ex, c)


def test_small_changes_keep_the_frame_large_ones_redraw_it(ex):
    p = ex.plot
    frame = p._background
    assert frame is not None  # drawn once, cached
    ex.controls["size"].value = 0.04  # a smaller drop: inside the limits, still filling them
    assert p._background is frame
    ex.controls["depth"].value = 6.3e6
    assert p._background is frame
    data = plotted(ex)
    ex.controls["size"].value = 0.08  # twice the drop: the price falls past the limits
    assert p._background is not frame
    assert any(a.shape != b.shape or not np.array_equal(a, b) for a, b in zip(data, plotted(ex)))
    frame, lims = p._background, limits(ex)
    for size in (0.09, 0.1, 0.11):  # larger still: the new limits left room below, the frame stays
        ex.controls["size"].value = size
        assert p._background is frame and limits(ex) == lims
        assert_plot_shows(ex, library(size=size, depth=6.3e6))
    ex.controls["size"].value = 0.3
    assert p._background is not frame
    frame, lims = p._background, limits(ex)
    for size in (0.29, 0.27, 0.25):  # back a few steps: the data still fill the limits
        ex.controls["size"].value = size
        assert p._background is frame and limits(ex) == lims
        assert_plot_shows(ex, library(size=size, depth=6.3e6))
    ex.controls["kind"].value = "venue"  # the shock's label is in the frame
    assert p._background is not frame


def test_the_limits_hold_the_data_through_sweeps_of_every_heavy_control(ex):
    sweeps = {"size": [0.02, 0.09, 0.01, 0.3, 0.16, 0.05], "depth": [1e5, 1e9, 2e6, 3e5, 5e7],
              "traders": [250, 10_000, 1_000, 5_000, 2_000]}
    for name, values in sweeps.items():
        for value in values:
            ex.controls[name].value = value
            assert ex.last_error is None
            assert_plot_shows(ex, library(**{k: ex.controls[k].value for k in DEFAULTS}))


def test_going_back_to_a_setting_reuses_its_run(ex):
    first = ex.state["cascade"]
    ex.controls["size"].value = 0.08
    ex.controls["size"].value = 0.05
    assert ex.state["cascade"] is first
    assert widget.cascade_for(widget.Settings()) is first
    assert widget.charged(2_000, 0, "step") is widget.charged(2_000, 0, "step")


def test_bad_input_shows_the_library_message_and_keeps_the_last_state(ex):
    state, before = ex.state, plotted(ex)
    ex.controls["seed"].value = -1
    assert ex.last_error == "seed must be an integer >= 0, got -1"
    assert "seed must be an integer" in ex.error.value
    assert ex.state is state
    for a, b in zip(before, plotted(ex)):
        np.testing.assert_array_equal(a, b)
    ex.controls["size"].value = 0.1  # still invalid: the message stays
    assert ex.last_error is not None and ex.state is state
    ex.controls["seed"].value = 0
    assert ex.last_error is None and ex.error.value == ""
    assert ex.state["summary"] == library(size=0.1).summary()
    assert ex.state["explanation"].startswith("shock size 5% → 10%: ")  # against what was shown


def test_unknown_controls_and_values_are_refused():
    with pytest.raises(ValueError, match="unknown control"):
        CascadeExplorer(drop=0.1)
    with pytest.raises(ValueError, match="form must be one of continuous, step, tier-1, average, none"):
        widget.charged(500, 0, "flat")
    e = CascadeExplorer(size=0.1, traders=500)
    try:
        assert e.last_error is None and e.state["summary"] == library(size=0.1, traders=500).summary()
        with pytest.raises(TraitError):
            e.controls["form"].value = "flat"
        with pytest.raises(TraitError):
            e.controls["traders"].value = 3_000
    finally:
        plt.close(e.fig)


def test_the_docstring_example_runs():
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner()
    for test in finder.find(widget.CascadeExplorer, "CascadeExplorer", globs={"CascadeExplorer": CascadeExplorer}):
        runner.run(test)
    assert runner.summarize(verbose=False) == doctest.TestResults(failed=0, attempted=3)
    plt.close("all")
