"""Real-browser test of the margin calculator page (issue 15 point 4): Voilà renders
``calculator/calculator.ipynb``, headless Chromium changes fields like a reader would, and the page must
show the derivation and readout the library computes — and the library's message for bad input.

The same mechanism as ``test_browser_explorers.py``: one token-less Voilà server (here on ``calculator/``, a
free port) and the system's Chromium for the module; skipped, saying why, without Chromium at
``/usr/bin/chromium`` (or ``TIERMARGIN_CHROMIUM``) or without the ``playwright`` and ``voila`` packages of
``requirements-dev.txt`` (Playwright's own browser download is not used). One page is opened and driven
through the tests in order; screenshots and the console log go to ``test-artifacts/browser/calculator-*``,
and on a failure a full-page screenshot and the server log too.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
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

ROOT = Path(__file__).resolve().parents[2]
PAGES = ROOT / "calculator"
NOTEBOOK = "calculator.ipynb"
TITLE = "Margin calculator"
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = os.environ.get("TIERMARGIN_CHROMIUM", "/usr/bin/chromium")
BIN = Path(sys.executable).parent  # the venv's bin (not resolved: a venv's python is a symlink)

SERVER_START_S = 60
RENDER_MS = 120_000
UPDATE_MS = 30_000

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
def _missing_requirements() -> str | None:
    """Why the browser test cannot run here (None: it can)."""
    if not os.access(CHROMIUM, os.X_OK):
        return (f"Chromium not found at {CHROMIUM}: install it with 'apt-get install chromium' (.ci/run does; "
                "or set TIERMARGIN_CHROMIUM to a Chromium binary) to run the real-browser calculator test")
    if importlib.util.find_spec("playwright") is None:
        return ("the 'playwright' package is missing: pip install -r requirements-dev.txt (make test does) "
                "to run the real-browser calculator test")
    if not (BIN / "voila").exists():
        return f"no 'voila' in {BIN}: pip install -r requirements-dev.txt (make test does)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _log_tail(path: Path, lines: int = 60) -> str:
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else "(no log)"
    return "\n".join(line[:300] for line in text.splitlines()[-lines:])


@pytest.fixture(scope="module")
def voila() -> Iterator[tuple[str, Path]]:
    """Voilà serving ``calculator/`` on a free port, without token or browser, isolated from user config."""
    reason = _missing_requirements()
    if reason:
        pytest.skip(reason)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = ARTIFACTS / "calculator-voila-server.log"
    home = Path(tempfile.mkdtemp(prefix="tiermargin-voila-"))
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", JUPYTER_CONFIG_DIR=str(home / "config"),
               IPYTHONDIR=str(home / "ipython"), JUPYTER_PLATFORM_DIRS="1", PYTHONUNBUFFERED="1")
    port = _free_port()
    cmd = [str(BIN / "voila"), str(PAGES), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
           "--Voila.port_retries=0", "--Voila.token=", "--show_tracebacks=True"]
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"Voilà exited with {proc.returncode}:\n{_log_tail(log)}")
            try:
                with urllib.request.urlopen(url + "/", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"Voilà not answering at {url} after {SERVER_START_S} s:\n{_log_tail(log)}")
            time.sleep(0.2)
        yield url, log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(home, ignore_errors=True)


class CalculatorPage:
    """The calculator rendered by Voilà in headless Chromium, its console logged."""

    def __init__(self, browser: Any, url: str) -> None:
        from playwright.sync_api import expect

        self.context = browser.new_context(viewport={"width": 1500, "height": 2200})
        self.page = self.context.new_page()
        self.page.set_default_timeout(UPDATE_MS)
        self.console: list[str] = []
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
        heading = self.page.locator("h3", has_text=TITLE)
        self.root = self.page.locator(".widget-vbox", has=heading).first
        self.page.goto(f"{url}/voila/render/{NOTEBOOK}", wait_until="domcontentloaded", timeout=RENDER_MS)
        expect(heading).to_be_visible(timeout=RENDER_MS)

    def control(self, label: str) -> Any:
        """The control whose description label is ``label``."""
        def has_class(name: str) -> str:
            return f'contains(concat(" ", @class, " "), " {name} ")'

        return self.root.locator(f'xpath=.//div[{has_class("lm-Widget")}]'
                                 f'[./label[{has_class("widget-label")}][normalize-space(.)="{label}"]]')

    def cell(self, row: str) -> Any:
        """The readout value cell of row ``row``."""
        return self.root.locator(f'xpath=.//tr[normalize-space(td[1])="{row}"]/td[2]').first

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

    def screenshot(self, name: str) -> None:
        self.root.scroll_into_view_if_needed()
        self.root.screenshot(path=ARTIFACTS / f"calculator-{name}.png")


@pytest.fixture(scope="module")
def calc(voila: tuple[str, Path]) -> Iterator[CalculatorPage]:
    """One calculator page for the module (the tests below drive it in order)."""
    from playwright.sync_api import sync_playwright

    url, log = voila
    for old in ARTIFACTS.glob("calculator-*.png"):
        old.unlink()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--disable-dev-shm-usage"])
        page: CalculatorPage | None = None
        try:
            page = CalculatorPage(browser, url)
            yield page
        finally:
            if page is not None:
                (ARTIFACTS / "calculator-console.log").write_text("\n".join(page.console) + "\n", encoding="utf-8")
            browser.close()


@contextmanager
def _on_failure(calc: CalculatorPage, log: Path, name: str) -> Iterator[None]:
    try:
        yield
    except BaseException:
        calc.page.screenshot(path=ARTIFACTS / f"calculator-{name}-failure.png", full_page=True)
        shutil.copyfile(log, ARTIFACTS / f"calculator-{name}-failure-server.log")
        print(f"--- Voilà server log (tail) ---\n{_log_tail(log)}")
        print("--- browser console (tail) ---\n" + "\n".join(line[:300] for line in calc.console[-40:]))
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
