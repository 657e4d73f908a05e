"""Real-browser test of the margin calculator page (issue 15 point 4): Voilà renders
``calculator/calculator.ipynb``, headless Chromium changes fields like a reader would, and the page must
show the derivation and readout the library computes — and the library's message for bad input.

The same mechanism as ``test_browser_explorers.py`` (shared in ``voila_server.py``): one token-less Voilà
server (here on ``calculator/``, a free port) and the system's Chromium for the module; skipped, saying why,
without Chromium at ``/usr/bin/chromium`` (or ``TIERMARGIN_CHROMIUM``) or without the ``playwright`` and
``voila`` packages of ``requirements-dev.txt`` (Playwright's own browser download is not used). One page is
opened and driven through the tests in order; screenshots and the console log go to
``test-artifacts/browser/calculator-*``, and on a failure a full-page screenshot and the server log too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from html import unescape
from pathlib import Path
from typing import Any

import pytest

from tiermargin import TierTable, load_table
from tiermargin.derivation import Derivation
from tiermargin.isolated import IsolatedPosition
from tiermargin.rules import preset
from tiermargin.widgets.base import fmt_amount
from tiermargin.widgets.calculator import venue_choices
from voila_server import (ARTIFACTS, RENDER_MS, ROOT, UPDATE_MS, VoilaPage, chromium, control, keep_failure,
                          readout_cell, require, serve)

PAGES = ROOT / "calculator"
NOTEBOOK = "calculator.ipynb"
TITLE = "Margin calculator"

# the page's starting position (tiermargin.widgets.calculator.DEFAULTS): long 1,020,000 USD at 60,000, 10x, mark 58,000
NOTIONAL, ENTRY, LEVERAGE, MARK = 1_020_000.0, 60_000.0, 10.0, 58_000.0


def _position(venue: str = "binance-usdm", entry: float = ENTRY, table: TierTable | None = None) -> IsolatedPosition:
    book = preset(venue)
    t = table if table is not None else book.margin(LEVERAGE)
    qty = NOTIONAL / float(t.contract.usd_value(1.0, entry))
    return IsolatedPosition.open(t, "long", qty, entry, LEVERAGE, fee_rate=book.fee_rate,
                                 requirement_at=book.requirement_at, fee_at=book.fee_at)


def _last_line(d: Derivation) -> str:
    return d.lines[-1].text()


# ---------------------------------------------------------------------------- server and browser
@pytest.fixture(scope="module")
def voila() -> Iterator[tuple[str, Path]]:
    """Voilà serving ``calculator/`` (:func:`voila_server.serve`)."""
    require("calculator test")
    with serve(PAGES, ARTIFACTS / "calculator-voila-server.log") as server:
        yield server


class CalculatorPage(VoilaPage):
    """The calculator rendered by Voilà in headless Chromium, its console logged."""

    prefix = "calculator-"

    def __init__(self, browser: Any, url: str) -> None:
        super().__init__(browser, 1500, 2200)
        self.errors: list[str] = []

        def on_console(m: Any) -> None:
            where = (m.location or {}).get("url", "")
            self.console.append(f"[{m.type}] {m.text} ({where})")
            # resources the offline sandbox cannot fetch (a CDN) are not the page's errors; the server's are
            offline = m.text.startswith("Failed to load resource: net::ERR_") and not where.startswith(url)
            if m.type == "error" and not offline:
                self.errors.append(m.text)

        self.page.on("console", on_console)
        self.page.on("pageerror", lambda e: (self.console.append(f"[pageerror] {e}"), self.errors.append(str(e))))
        self.render(url, NOTEBOOK, TITLE)

    def control(self, label: str) -> Any:
        """The control whose description label is ``label``."""
        return control(self.root, label)

    def cell(self, row: str) -> Any:
        """The readout value cell of row ``row``."""
        return readout_cell(self.root, row)

    def derivation_result(self) -> Any:
        """The derivation's last numbered line (the result)."""
        return self.root.locator(".tm-derivation li.tm-result")

    def fill(self, label: str, text: str) -> None:
        box = self.control(label).locator("input, textarea").first
        box.fill(text)
        if box.evaluate("e => e.tagName") == "TEXTAREA":
            box.blur()  # a text area commits on blur (continuous_update=False); Enter would add a newline
        else:
            box.press("Enter")


@pytest.fixture(scope="module")
def calc(voila: tuple[str, Path]) -> Iterator[CalculatorPage]:
    """One calculator page for the module (the tests below drive it in order)."""
    url, log = voila
    for old in ARTIFACTS.glob("calculator-*.png"):
        old.unlink()
    with chromium() as browser:
        page: CalculatorPage | None = None
        try:
            page = CalculatorPage(browser, url)
            yield page
        finally:
            if page is not None:
                (ARTIFACTS / "calculator-console.log").write_text("\n".join(page.console) + "\n", encoding="utf-8")


@contextmanager
def _on_failure(calc: CalculatorPage, log: Path, name: str) -> Iterator[None]:
    try:
        yield
    except BaseException:
        keep_failure(f"calculator-{name}", log, calc)
        raise


# ---------------------------------------------------------------------------- the tests
def test_changing_the_entry_shows_the_new_derivation(calc: CalculatorPage, voila: tuple[str, Path]) -> None:
    """The done-when of issue 15 point 4: change a field, read the new derivation."""
    from playwright.sync_api import expect

    before, after = _position(), _position(entry=61_000.0)
    with _on_failure(calc, voila[1], "entry"):
        result = calc.derivation_result()
        expect(result).to_have_text(_last_line(before.explain("liquidation_price")), timeout=RENDER_MS)
        lp = before.liquidation_price()
        expect(calc.cell("liquidation price")).to_have_text(f"{fmt_amount(lp.price)} (tier {lp.tier})")
        calc.screenshot("before")

        calc.fill("entry price", "61000")
        d = after.explain("liquidation_price")
        expect(result).to_have_text(_last_line(d), timeout=UPDATE_MS)  # the kernel answered with the library's line
        lp = after.liquidation_price()
        expect(calc.cell("liquidation price")).to_have_text(f"{fmt_amount(lp.price)} (tier {lp.tier})")
        expect(calc.root.locator(".tm-derivation .tm-title")).to_have_text(d.title)
        assert calc.root.locator(".tm-derivation li").count() == len(d.lines)
        calc.screenshot("after-entry")
        assert "⚠" not in calc.root.inner_text(), "the calculator shows an error"
        assert not calc.errors, f"console errors: {calc.errors}"


def test_changing_the_venue_and_the_derivation(calc: CalculatorPage, voila: tuple[str, Path]) -> None:
    from playwright.sync_api import expect

    p = _position("okx", entry=61_000.0)
    with _on_failure(calc, voila[1], "venue"):
        calc.control("venue").locator("select").select_option(label=venue_choices()["okx"])
        expect(calc.derivation_result()).to_have_text(_last_line(p.explain("liquidation_price")))
        calc.control("derivation of").locator("select").select_option(label="health at the mark")
        expect(calc.derivation_result()).to_have_text(_last_line(p.explain("health", MARK)))
        expect(calc.cell("health = equity − requirement")).to_have_text(fmt_amount(p.health(MARK), "BTC"))
        first = calc.root.locator(".tm-compare tbody tr").first
        expect(first.locator("td").first).to_have_text("OKX")  # the comparison starts with the chosen venue
        assert calc.root.locator(".tm-compare tbody tr").count() >= 10
        calc.screenshot("after-venue")
        assert not calc.errors, f"console errors: {calc.errors}"


def test_bad_input_shows_the_librarys_message(calc: CalculatorPage, voila: tuple[str, Path]) -> None:
    from playwright.sync_api import expect

    with _on_failure(calc, voila[1], "error"):
        health = calc.cell("health = equity − requirement").inner_text()
        calc.fill("leverage (x)", "-5")
        message = calc.root.locator("text=leverage must be > 0, got -5.0")
        expect(message).to_be_visible()
        expect(calc.cell("health = equity − requirement")).to_have_text(health)  # the last valid figures stay
        calc.screenshot("bad-input")
        calc.fill("leverage (x)", "10")
        expect(message).to_have_count(0)
        assert "⚠" not in calc.root.inner_text()
        assert not calc.errors, f"console errors: {calc.errors}"


def test_pasted_ccxt_tiers_replace_the_table(calc: CalculatorPage, voila: tuple[str, Path]) -> None:
    from playwright.sync_api import expect

    table = load_table("binance-usdm-btcusdt-2021")
    with _on_failure(calc, voila[1], "ccxt"):
        calc.control("derivation of").locator("select").select_option(label="liquidation price")
        calc.control("venue").locator("select").select_option(label=venue_choices()["binance-usdm"])
        calc.fill("ccxt tiers", "[{")
        expect(calc.root.locator("text=ccxt tiers: not valid JSON")).to_be_visible()
        tiers = [dict(t, maintenanceMarginRate=0.02) for t in table.to_ccxt()[:4]]  # 2 % up to 10,000,000 USDT
        tiers = [dict(t, maxLeverage=min(t["maxLeverage"], 25)) for t in tiers]
        calc.fill("ccxt tiers", json.dumps(tiers))
        pasted = TierTable.from_ccxt(tiers, contract=table.contract, basis=table.basis, form=table.form,
                                     closed=table.closed)
        p = _position(entry=61_000.0, table=pasted)
        expect(calc.derivation_result()).to_have_text(_last_line(p.explain("liquidation_price")))
        expect(calc.cell("maintenance margin rate (MMR)")).to_have_text("2.000%")
        assert "pasted ccxt tiers (attached)" in unescape(calc.root.inner_text())
        assert "⚠" not in calc.root.inner_text()
        calc.screenshot("after-ccxt")
        assert not calc.errors, f"console errors: {calc.errors}"
