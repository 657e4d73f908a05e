"""What the real-browser tests share: the requirement check, a token-less Voilà server on a free port, the
system's headless Chromium, a page that logs its console, the ipywidgets locators, and the artifacts kept
on a failure.

Test modules here import it as a sibling (``from voila_server import ...``): ``tests/browser`` has no
``__init__.py``, so pytest's default import mode puts this folder on ``sys.path``, as it does ``tests/`` for
``from strategies import ...``. Playwright is imported only inside the functions that need it, so that the
modules still import (and skip, saying why) without it.
"""

from __future__ import annotations

import importlib.util
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
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = os.environ.get("TIERMARGIN_CHROMIUM", "/usr/bin/chromium")
BIN = Path(sys.executable).parent  # the venv's bin (not resolved: a venv's python is a symlink)

SERVER_START_S = 60  # Voilà answering HTTP
RENDER_MS = 120_000  # the notebook executed and its widget on the page (a cold kernel, ipympl)
UPDATE_MS = 30_000  # the page reacting to one control change (the pages' default timeout)


# ---------------------------------------------------------------------------- requirements
def missing_requirements(what: str) -> str | None:
    """Why the browser tests cannot run here (None: they can); ``what`` names them in the message
    (``"explorer tests"``: "... to run the real-browser explorer tests")."""
    if not os.access(CHROMIUM, os.X_OK):
        return (f"Chromium not found at {CHROMIUM}: install it with 'apt-get install chromium' (.ci/run does; "
                f"or set TIERMARGIN_CHROMIUM to a Chromium binary) to run the real-browser {what}")
    if importlib.util.find_spec("playwright") is None:
        return ("the 'playwright' package is missing: pip install -r requirements-dev.txt (make test does) "
                f"to run the real-browser {what}")
    if not (BIN / "voila").exists():
        return f"no 'voila' in {BIN}: pip install -r requirements-dev.txt (make test does)"
    return None


def require(what: str) -> None:
    """Skip (saying why) unless the browser tests can run; then make sure :data:`ARTIFACTS` exists."""
    reason = missing_requirements(what)
    if reason:
        pytest.skip(reason)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)


# ---------------------------------------------------------------------------- the server
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def log_tail(path: Path, lines: int = 60) -> str:
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else "(no log)"
    return "\n".join(line[:300] for line in text.splitlines()[-lines:])  # some lines carry whole PNGs


@contextmanager
def serve(directory: Path, log: Path) -> Iterator[tuple[str, Path]]:
    """Voilà serving ``directory`` on a free port, without token or browser, isolated from user config;
    yields its URL and ``log`` (its output). Stopped, and its temporary home removed, on leaving."""
    home = Path(tempfile.mkdtemp(prefix="tiermargin-voila-"))
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # the kernel picks ipympl itself
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", JUPYTER_CONFIG_DIR=str(home / "config"),
               IPYTHONDIR=str(home / "ipython"), JUPYTER_PLATFORM_DIRS="1", PYTHONUNBUFFERED="1")
    port = free_port()
    cmd = [str(BIN / "voila"), str(directory), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
           "--Voila.port_retries=0", "--Voila.token=", "--show_tracebacks=True"]
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"Voilà exited with {proc.returncode}:\n{log_tail(log)}")
            try:
                with urllib.request.urlopen(url + "/", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"Voilà not answering at {url} after {SERVER_START_S} s:\n{log_tail(log)}")
            time.sleep(0.2)
        yield url, log
    finally:
        proc.terminate()  # Voilà stops its loop on SIGTERM and shuts its kernels down
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(home, ignore_errors=True)


# ---------------------------------------------------------------------------- the browser and pages
@contextmanager
def chromium() -> Iterator[Any]:
    """Headless Chromium (the system's, not a Playwright download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--disable-dev-shm-usage"])
        try:
            yield b
        finally:
            b.close()


class VoilaPage:
    """A page in its own browser context (``width`` × ``height``) whose console goes to :attr:`console`
    (subclasses add their own listeners); :meth:`render` opens a notebook with Voilà and sets :attr:`root`
    to its widget, the outermost VBox with the heading ``title``. Screenshots go to
    ``ARTIFACTS/<prefix><name>.png``."""

    prefix = ""

    def __init__(self, browser: Any, width: int, height: int) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.page.set_default_timeout(UPDATE_MS)
        self.console: list[str] = []

    def render(self, url: str, notebook: str, title: str) -> None:
        from playwright.sync_api import expect

        heading = self.page.locator("h3", has_text=title)
        self.root = self.page.locator(".widget-vbox", has=heading).first
        self.page.goto(f"{url}/voila/render/{notebook}", wait_until="domcontentloaded", timeout=RENDER_MS)
        expect(heading).to_be_visible(timeout=RENDER_MS)

    def screenshot(self, name: str) -> None:
        self.root.scroll_into_view_if_needed()
        self.root.screenshot(path=ARTIFACTS / f"{self.prefix}{name}.png")

    def close(self) -> None:
        self.context.close()


def control(root: Any, label: str) -> Any:
    """The control (an ipywidgets view) under ``root`` whose description label is ``label``."""
    def has_class(name: str) -> str:
        return f'contains(concat(" ", @class, " "), " {name} ")'

    return root.locator(f'xpath=.//div[{has_class("lm-Widget")}]'
                        f'[./label[{has_class("widget-label")}][normalize-space(.)="{label}"]]')


def readout_cell(root: Any, row: str) -> Any:
    """The value cell of the readout row labelled ``row`` under ``root``."""
    return root.locator(f'xpath=.//tr[normalize-space(td[1])="{row}"]/td[2]').first


def keep_failure(name: str, log: Path, page: VoilaPage | None) -> None:
    """On a failure: a full-page screenshot of ``page`` (if any) and a copy of the server ``log`` as
    ``ARTIFACTS/<name>-failure.*``, and the tails of that log and of the page's console printed."""
    if page is not None:
        page.page.screenshot(path=ARTIFACTS / f"{name}-failure.png", full_page=True)
    shutil.copyfile(log, ARTIFACTS / f"{name}-failure-server.log")
    print(f"--- Voilà server log (tail; full log {log}) ---\n{log_tail(log)}")
    if page is not None:
        print("--- browser console (tail) ---\n" + "\n".join(line[:300] for line in page.console[-40:]))
