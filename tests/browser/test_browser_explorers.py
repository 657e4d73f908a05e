"""Real-browser tests of the lesson explorers (issue 8): Voilà renders each lesson, headless Chromium
moves one control like a reader would, and the readout must show what the library computes.

One Voilà server (on ``lessons/``, token-less, a free port) and one Chromium serve the whole module;
each test opens its lesson at ``/voila/render/<lesson>`` (Voilà runs the notebook in a fresh kernel,
``%matplotlib widget`` and all), waits for the explorer, checks the readout row before the move, moves
the control, waits until the row changes and compares it with the value computed here by calling
``tiermargin`` directly, formatted with the widget's own ``fmt_amount``. Screenshots of the explorer
before and after go to ``test-artifacts/browser/`` (with the browser console log); on a failure also a
full-page screenshot and the Voilà server log. A second test per lesson checks that the explorer's
figure (the ipympl canvas) is actually drawn, reusing the page the first one left open.

Adding a lesson's explorer is one :data:`CASES` entry: the lesson file, the explorer's title, the
control (its description label) and how to move it, the readout row, and a function giving that row's
text from the control's value with the library. ``test_every_lesson_explorer_has_a_case`` fails when a
lesson has an explorer and no entry.

Needs Chromium at ``/usr/bin/chromium`` (``apt-get install chromium``; ``.ci/run`` installs it; another
binary: ``TIERMARGIN_CHROMIUM=/path``) and the ``playwright`` and ``voila`` packages from
``requirements-dev.txt``; without them the browser tests skip and say so. Playwright's own browser
download (``playwright install``) is not used.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tiermargin import RiskFund, load_table
from tiermargin.cascade import Shock, flat_table, population
from tiermargin.cascade import run as cascade_run
from tiermargin.cross import CrossAccount, Haircut, Order, Position
from tiermargin.isolated import IsolatedPosition
from tiermargin.liquidation import Execution, liquidate
from tiermargin.orderbook import Book
from tiermargin.market import VENUES, Wick, synthetic_market
from tiermargin.markprice import mark_prices
from tiermargin.rules import PRESETS
from tiermargin.widgets.base import fmt_amount
from tiermargin.widgets.cascade import DURATION, RULES, SHOCK_AT, Settings
from tiermargin.widgets.cross import ENTRY, INSTRUMENTS
from tiermargin.waterfall import DAY_START, crash_path, run, traders
from tiermargin.widgets.markprice import MAX_AGE, STALE_FROM, WICK_SECONDS, WICK_START
from voila_server import (ARTIFACTS, RENDER_MS, ROOT, UPDATE_MS, VoilaPage, chromium, control, keep_failure,
                          readout_cell, require, serve)

LESSONS = ROOT / "lessons"

SETTLE_MS = 10_000  # the rendered readout settling on the library's value
FIGURE_MS = 5_000  # the figure drawn once the explorer is on the page


# ---------------------------------------------------------------------------- the cases
@dataclass(frozen=True)
class Case:
    """One lesson's explorer: move ``control`` from ``initial`` to ``new``; the readout ``row`` must
    read ``readout(initial)`` before and ``readout(new)`` after.

    ``move`` is how the reader moves the control: ``("press", key)`` on a slider's handle,
    ``("fill", text)`` then Enter in a text box, ``("select", option label)`` in a dropdown,
    ``("click", button label)`` on toggle buttons. ``shows`` is what the control displays afterwards.
    """

    lesson: str
    title: str  # the explorer's heading (its class's ``title``)
    control: str  # the control's description label
    move: tuple[str, str]
    shows: str
    row: str  # the readout row's label
    readout: Callable[[Any], str]
    initial: Any
    new: Any

    def __str__(self) -> str:
        return f"{Path(self.lesson).stem}-{self.control.replace(' ', '_')}"


def _mark_range(form: str) -> str:
    """Lesson 01's scenario (seed 1, a 20 % wick on the last trade, all venues weight 1, MA 300 s,
    5 % outlier threshold): the lowest / highest mark under ``form``."""
    market = synthetic_market(seed=1, wick=Wick(WICK_START, WICK_SECONDS, 0.2, "last"), stale_venue=None,
                              stale_from=STALE_FROM)
    marks = mark_prices(market, window=300, threshold=0.05, weights=[1.0] * len(VENUES), max_age=MAX_AGE,
                        form=form).mark
    return f"{fmt_amount(marks.min())} / {fmt_amount(marks.max())}"


def _isolated_health(mark: float) -> str:
    """Lesson 02's scenario: long 17 BTCUSDT at 60,000, 10x, Binance's 2021 table; health at ``mark``."""
    table = PRESETS["binance-usdm"].table
    return fmt_amount(IsolatedPosition.open(table, "long", 17.0, 60_000.0, 10.0).health(mark), "USDT")


def _cross_liquidation_below(btc_qty: float) -> str:
    """Lesson 03's scenario (20,000 USDT, long ``btc_qty`` BTCUSDT, short 10 ETHUSDT, a 0.5 BTC buy
    order at 58,000, 10x): the BTC price below which the cross account is liquidated."""
    account = CrossAccount(
        INSTRUMENTS, {"USDT": 20_000.0},
        [Position("BTCUSDT", "long", btc_qty, ENTRY["BTC"]), Position("ETHUSDT", "short", 10.0, ENTRY["ETH"])],
        [Order("BTCUSDT", "long", 0.5, 58_000.0, 10.0)], mode="one-way", tier_rule="position", fee_rate=0.0,
        haircuts={"BTC": Haircut.flat(0.95)},
    )
    below, _ = account.liquidation_prices(dict(ENTRY), "BTC")
    return fmt_amount(below.price) if below.exists else "none"


def _tier_deduction(form: str) -> str:
    """Lesson 04: the maintenance amount of 1,020,000 USDT of BTCUSDT on Binance's table charged in ``form``
    (tier 4 for any size near it)."""
    table = PRESETS["binance-usdm"].table
    table = table if form == "published" else table.with_form(form)
    return fmt_amount(float(table.maintenance_amount(1_020_000.0)), table.unit)


def _tier_liquidation(side: str) -> str:
    """Lesson 04's scenario: 1,020,000 USDT of BTCUSDT at 60,000, 10x, Binance's rules."""
    book = PRESETS["binance-usdm"]
    qty = float(book.table.contracts_at(1_020_000.0, 60_000.0))
    lp = IsolatedPosition.open(book.table, side, qty, 60_000.0, 10.0, fee_rate=book.fee_rate,
                               requirement_at=book.requirement_at).liquidation_price()
    return f"{fmt_amount(lp.price)} (tier {lp.tier})"


def _stepwise_to_market(policy: str) -> str:
    """Lesson 05's scenario: 200 BTCUSDT long at 60,000, 10x, through an 8 % crash day, fills into a book of
    50,000,000 USD per 100 % move; the contracts the stepwise run under ``policy`` sends to the market."""
    pos = IsolatedPosition.open(load_table("binance-usdm-btcusdt-2021"), "long", 200.0, 60_000.0, 10.0)
    times, marks = crash_path(depth=0.08, price=60_000.0)
    return fmt_amount(liquidate(pos, times, marks, policy, execution=Execution("impact", 5e7)).contracts_to_market)


def _fund_at_nine(policy: str) -> str:
    """Lesson 06's scenario: 200 seeded traders (seed 0), a 15 % crash day, a 100,000 USDT fund, a book of
    20,000,000 USDT per 100 % move; the fund's balance at 09:00 UTC under ``policy``."""
    times, marks = crash_path(depth=0.15, seed=0)
    day = run(traders(load_table("binance-usdm-btcusdt-2021"), 200, 60_000.0, 0), times, marks,
              RiskFund(100_000.0), policy, execution=Execution("impact", 2e7))
    return fmt_amount(day.fund.balance_at(DAY_START + 9 * 3_600), "USDT")


def _cascade_notional(form: str) -> str:
    """Lesson 07's explorer at its defaults (``Settings()``: Binance USDⓈ-M's traders, a market-wide drop at
    00:30 UTC into the default book, one tier at a time, the 300 s mark, two hours): the notional liquidated
    under the tiered table (``"continuous"``) or with no tiers (``"none"``: the same draw under a flat table at
    tier 1's rate and max leverage)."""
    d = Settings()
    pop = population(RULES, d.traders, seed=d.seed)
    if form == "none":
        table = pop.table
        pop = pop.redrawn(flat_table(table, table.mmr[0], table.max_leverage[0]))
    c = cascade_run(pop, Shock(d.kind, d.size, at=SHOCK_AT), Book(d.depth), policy=d.policy,
                    window=float(d.window), duration=DURATION, seed=d.seed)
    return fmt_amount(c.summary()["notional liquidated (USD)"], "USD")


CASES = [
    Case("01_mark_price.ipynb", "Mark price explorer", "mark form", ("select", "median of three (Binance)"),
         "median of three (Binance)", "lowest / highest mark", _mark_range, "okx", "median3"),
    Case("02_isolated_margin.ipynb", "Isolated margin explorer", "mark price", ("press", "ArrowRight"),
         "60030.00", "health = equity − requirement", _isolated_health, 60_000.0, 60_030.0),
    Case("03_cross_margin.ipynb", "Cross margin explorer", "BTCUSDT qty", ("fill", "3"),
         "3", "cross: BTC liquidation price below", _cross_liquidation_below, 2.0, 3.0),
    Case("04_gradient_tiers.ipynb", "Tier explorer", "tier form", ("select", "step (no deduction)"),
         "step (no deduction)", "maintenance amount (deduction)", _tier_deduction, "published", "step"),
    Case("04_gradient_tiers.ipynb", "Tier explorer", "side", ("click", "short"),
         "short", "liquidation price", _tier_liquidation, "long", "short"),  # once failed: sliders snapped off-grid
    Case("05_stepwise_liquidation.ipynb", "Stepwise liquidation explorer", "policy", ("select", "in full, one order"),
         "in full, one order", "contracts sent to the market, stepwise", _stepwise_to_market, "one-tier", "full"),
    Case("06_risk_fund_and_adl.ipynb", "Risk fund and ADL explorer", "liquidation", ("select", "full"),
         "full", "risk fund balance", _fund_at_nine, "one-tier", "full"),
    Case("07_cascades.ipynb", "Cascade explorer", "tier table", ("select", "no tiers (tier 1's rate and leverage)"),
         "no tiers (tier 1's rate and leverage)", "notional liquidated", _cascade_notional, "continuous", "none"),
]


def test_every_lesson_explorer_has_a_case() -> None:
    """Each lesson that displays an explorer has a browser case (runs without a browser)."""
    with_explorer = set()
    for nb in sorted(LESSONS.glob("*.ipynb")):
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        if any(c["cell_type"] == "code" and re.search(r"\w+Explorer\(", "".join(c["source"])) for c in cells):
            with_explorer.add(nb.name)
    missing = with_explorer - {c.lesson for c in CASES}
    assert not missing, f"add a Case to CASES in {Path(__file__).name} for {sorted(missing)}"


# ---------------------------------------------------------------------------- server, browser and pages
@dataclass
class Server:
    url: str
    log: Path


@pytest.fixture(scope="module")
def voila() -> Iterator[Server]:
    """Voilà serving ``lessons/`` (:func:`voila_server.serve`)."""
    require("explorer tests")
    with serve(LESSONS, ARTIFACTS / "voila-server.log") as (url, log):
        yield Server(url, log)


@pytest.fixture(scope="module")
def browser(voila: Server) -> Iterator[Any]:
    """Headless Chromium (the system's, not a Playwright download)."""
    with chromium() as b:
        yield b


class LessonPage(VoilaPage):
    """A page in its own browser context that logs its console; :meth:`load` renders a lesson with Voilà."""

    def __init__(self, browser: Any) -> None:
        # tall enough for a whole explorer (up to ~1,150 px): Voilà scrolls an inner box, not the page
        super().__init__(browser, 1400, 1800)
        self.page.on("console", lambda m: self.console.append(f"[{m.type}] {m.text}"))
        self.page.on("pageerror", lambda e: self.console.append(f"[pageerror] {e}"))

    def load(self, server: Server, lesson: str, title: str) -> LessonPage:
        """Open the lesson and wait for its explorer (``root``: the outermost VBox with its title)."""
        self.render(server.url, lesson, title)
        return self


@contextmanager
def _artifacts(name: str, server: Server, opened: list[LessonPage]) -> Iterator[None]:
    """Keep the browser console log; on a failure also a full-page screenshot and the server log."""
    for old in ARTIFACTS.glob(f"{name}-*"):
        old.unlink()
    try:
        yield
    except BaseException:
        keep_failure(name, server.log, opened[-1] if opened else None)
        raise
    finally:
        for lp in opened[-1:]:
            (ARTIFACTS / f"{name}-console.log").write_text("\n".join(lp.console) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def rendered(browser: Any, voila: Server) -> Iterator[dict[str, LessonPage]]:
    """The last page opened per lesson (the figure checks reuse it rather than render the lesson again)."""
    pages: dict[str, LessonPage] = {}
    yield pages
    for lp in pages.values():
        lp.close()


def _keep(pages: dict[str, LessonPage], lesson: str, lp: LessonPage) -> None:
    old = pages.pop(lesson, None)
    if old is not None and old is not lp:
        old.close()
    pages[lesson] = lp


# ---------------------------------------------------------------------------- controls
def _norm(text: str | None) -> str:
    return " ".join((text or "").split())


def _move(control: Any, move: tuple[str, str]) -> None:
    how, what = move
    if how == "press":
        handle = control.locator(".noUi-handle").first
        handle.focus()
        handle.press(what)
    elif how == "fill":
        box = control.locator("input")
        box.fill(what)
        box.press("Enter")
    elif how == "select":
        control.locator("select").select_option(label=what)
    elif how == "click":
        control.locator("button", has_text=re.compile(rf"^\s*{re.escape(what)}\s*$")).click()
    else:  # pragma: no cover - a typo in CASES
        raise ValueError(f"unknown move {how!r}")


def _shows(control: Any) -> str:
    """What a control displays: a slider's readout, a text box's value, the selected option or button."""
    if control.locator(".noUi-handle").count():
        return _norm(control.locator(".widget-readout").first.inner_text())
    if control.locator("select").count():
        return _norm(control.locator("select").evaluate("s => s.options[s.selectedIndex].text"))
    if control.locator("button").count():
        return _norm(control.locator("button.mod-active").inner_text())
    return _norm(control.locator("input").input_value())


# ---------------------------------------------------------------------------- the tests
@pytest.mark.parametrize("case", CASES, ids=str)
def test_moving_a_control_updates_the_readout_to_the_library_value(
    case: Case, voila: Server, browser: Any, rendered: dict[str, LessonPage],
) -> None:
    from playwright.sync_api import expect

    before, after = case.readout(case.initial), case.readout(case.new)
    assert before != after, "the case must change the readout"
    opened: list[LessonPage] = []
    with _artifacts(str(case), voila, opened):
        opened.append(LessonPage(browser))
        _keep(rendered, case.lesson, opened[-1])
        lp = opened[-1].load(voila, case.lesson, case.title)
        moved = control(lp.root, case.control)
        cell = readout_cell(lp.root, case.row)
        expect(cell).to_be_visible(timeout=RENDER_MS)
        expect(cell).to_have_text(before, timeout=SETTLE_MS)  # agrees with the library before the move
        lp.screenshot(f"{case}-before")

        _move(moved, case.move)
        expect(cell).not_to_have_text(before, timeout=UPDATE_MS)  # the kernel answered
        try:
            expect(cell).to_have_text(after, timeout=SETTLE_MS)  # ... with the library's value
        finally:
            lp.screenshot(f"{case}-after")
        assert _shows(moved) == case.shows, f"{case.control} did not move to {case.shows!r}"
        assert "⚠" not in lp.root.inner_text(), "the explorer shows an error"


#: One figure check per lesson. (Blank figures were once found here: ipympl 0.10.0 stores the image drawn
#: before display as bare base64; ``tiermargin.widgets.base.prefix_data_url`` makes it a data URL.)
FIGURES = [pytest.param(c, id=Path(lesson).stem) for lesson, c in {c.lesson: c for c in CASES}.items()]


@pytest.mark.parametrize("case", FIGURES)
def test_the_explorer_figure_is_drawn(
    case: Case, voila: Server, browser: Any, rendered: dict[str, LessonPage],
) -> None:
    """The explorer's matplotlib canvas (ipympl) gets a size and opaque pixels."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    name = f"{Path(case.lesson).stem}-figure"
    opened: list[LessonPage] = [rendered[case.lesson]] if case.lesson in rendered else []
    with _artifacts(name, voila, opened):
        if not opened:
            opened.append(LessonPage(browser))
            _keep(rendered, case.lesson, opened[-1])
            opened[-1].load(voila, case.lesson, case.title)
        lp = opened[-1]
        drawn = """root => [...root.querySelectorAll('canvas')].some(c => {
            if (!c.width || !c.height) return false;
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let opaque = 0;
            for (let i = 3; i < d.length; i += 4) if (d[i]) opaque++;
            return opaque > 0.5 * c.width * c.height;
        })"""
        try:
            lp.page.wait_for_function(drawn, arg=lp.root.element_handle(), timeout=FIGURE_MS)
        except PlaywrightTimeout:
            sizes = lp.root.locator("canvas").evaluate_all("cs => cs.map(c => `${c.width}x${c.height}`)")
            lp.screenshot(name)
            raise AssertionError(f"no figure drawn {FIGURE_MS} ms after the explorer showed; "
                                 f"canvases {sizes}") from None
        lp.screenshot(name)
