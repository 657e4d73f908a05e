"""Issue 17: the course site in a real browser (Debian Chromium, headless): every page loads with no
console error and no failed request, shows each lesson's printed numbers, figures and rendered
maths; search and navigation work; the JupyterLite build opens and lists the lessons."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from site_build import EXERCISES, LESSONS, ROOT, built_site, notebook, printed
from voila_server import ARTIFACTS, chromium, free_port, require


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 -- the base class's name
        pass


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    require("site tests")
    site = built_site()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()),
                                             functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require("site tests")
    with chromium() as b:
        yield b


class SitePage:
    """A browser tab that records console errors, uncaught exceptions and failed requests."""

    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.page.set_default_timeout(20_000)
        self.problems: list[str] = []
        self.page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}")
                     if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"request failed: {r.url}"))
        self.page.on("response", lambda r: self.problems.append(f"HTTP {r.status}: {r.url}")
                     if r.status >= 400 else None)

    def open(self, url: str) -> Any:
        self.page.goto(url, wait_until="networkidle")
        return self.page

    def close(self, name: str) -> None:
        if self.problems:
            self.page.screenshot(path=ARTIFACTS / f"site-{name}-failure.png", full_page=True)
        self.context.close()


@pytest.fixture()
def tab(browser: Any, request: Any) -> Iterator[SitePage]:
    t = SitePage(browser)
    yield t
    t.close(request.node.name.replace("/", "_"))


DOCS = sorted((ROOT / "docs").glob("*.md"))  # each a page of the site
PAGES = ["index.html", "glossary.html", "api.html"] + [f"{p.stem}.html" for p in DOCS] + [
    f"lessons/{p.stem}.html" for p in LESSONS] + [f"exercises/{p.stem}.html" for p in EXERCISES]


@pytest.mark.parametrize("path", PAGES)
def test_the_page_loads_with_no_console_error_and_every_image_shows(url: str, tab: SitePage, path: str) -> None:
    page = tab.open(f"{url}/{path}")
    broken = page.evaluate("() => [...document.images].filter(i => !(i.complete && i.naturalWidth > 0))"
                           ".map(i => i.src)")
    assert not broken, broken
    assert not tab.problems, tab.problems


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_a_lesson_shows_its_key_numbers_its_figures_and_rendered_maths(url: str, tab: SitePage, lesson: Path) -> None:
    from playwright.sync_api import expect

    page = tab.open(f"{url}/lessons/{lesson.stem}.html")
    lines = printed(notebook(lesson))
    for line in (lines[0], lines[len(lines) // 2], lines[-1]):  # the first, a middle and the last number printed
        expect(page.locator("div.output pre, div.cell_output pre").filter(has_text=line).first).to_be_visible()
    assert page.locator("div.cell_output img").count() >= 1
    expect(page.locator("mjx-container").first).to_be_attached()
    assert page.locator("mjx-container").count() >= 3
    assert not tab.problems, tab.problems


def test_the_formula_reference_shows_its_formulas_as_rendered_maths(url: str, tab: SitePage) -> None:
    """MathJax typesets every formula of docs/formulas.md (inline and display), none with a TeX error."""
    from playwright.sync_api import expect

    page = tab.open(f"{url}/formulas.html")
    formulas = page.locator("span.math, div.math")
    display = page.locator("div.math").count()
    assert formulas.count() > 150 and display > 20
    expect(page.locator("mjx-container")).to_have_count(formulas.count())
    assert page.locator("div.math mjx-container[display='true']").count() == display
    assert page.locator("mjx-merror").count() == 0
    first = page.locator("div.math mjx-container").first
    first.scroll_into_view_if_needed()
    expect(first).to_be_visible()
    assert first.bounding_box()["height"] > 10  # typeset as an SVG formula, not left as TeX source
    assert not tab.problems, tab.problems


def test_search_finds_the_lessons_that_teach_a_term(url: str, tab: SitePage) -> None:
    from playwright.sync_api import expect

    page = tab.open(f"{url}/search.html?q=bankruptcy")
    results = page.locator("#search-results ul.search li a")
    expect(results.first).to_be_visible()
    hrefs = [results.nth(i).get_attribute("href") for i in range(results.count())]
    assert any("lessons/02_isolated_margin.html" in h for h in hrefs), hrefs
    assert not tab.problems, tab.problems


def test_next_and_sidebar_navigation_and_a_glossary_link_to_its_lesson_section(url: str, tab: SitePage) -> None:
    from playwright.sync_api import expect

    page = tab.open(f"{url}/lessons/{LESSONS[0].stem}.html")
    page.locator("a.right-next").click()
    expect(page).to_have_url(f"{url}/lessons/{LESSONS[1].stem}.html")
    page.locator("nav.bd-links a", has_text="Glossary").click()
    expect(page).to_have_url(f"{url}/glossary.html")
    link = page.locator("dd a[href*='lessons/04_gradient_tiers.html#']").first
    anchor = link.get_attribute("href").split("#", 1)[1]
    link.click()
    expect(page).to_have_url(f"{url}/lessons/04_gradient_tiers.html#{anchor}")
    expect(page.locator(f"[id='{anchor}']")).to_be_in_viewport()
    assert not tab.problems, tab.problems


def test_a_lesson_page_links_to_its_jupyterlite_copy_which_opens_with_its_install_cell(url: str, tab: SitePage) -> None:
    """JupyterLite's file browser lists the lessons, and the lesson opens with the cell that installs
    tiermargin from the bundled wheel. (Running it needs Pyodide, which the kernel loads from the
    Pyodide CDN: not reachable from here; see README, "Course site".)"""
    from playwright.sync_api import expect

    lesson = LESSONS[1]
    page = tab.open(f"{url}/lessons/{lesson.stem}.html")
    href = page.locator("a.lite-link").get_attribute("href")
    assert href == f"../lite/notebooks/index.html?path=lessons/{lesson.name}"
    lite = tab.open(f"{url}/lite/tree/index.html")
    lite.locator(".jp-DirListing-item", has_text="lessons").dblclick()
    expect(lite.locator(".jp-DirListing-item", has_text=lesson.name)).to_be_visible(timeout=60_000)
    nb = tab.open(f"{url}/lite/notebooks/index.html?path=lessons/{lesson.name}")
    expect(nb.locator(".jp-Cell").filter(has_text="%pip install -q tiermargin").first).to_be_visible(timeout=60_000)
    expect(nb.locator(".jp-Cell").filter(has_text="Lesson 02").first).to_be_attached()
    assert not [p for p in tab.problems if p.startswith("page error")], tab.problems
