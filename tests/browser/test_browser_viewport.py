"""Issue 17 point 5: the course reads well on a 1366×768 laptop screen (headless Chromium at that viewport).

* The site (built as ``tests/browser/test_browser_site.py`` builds and serves it): no page scrolls
  sideways, every notebook figure of a page fits inside its content column, and the text of the column
  (paragraphs and list items) is at least 14 px.
* Each explorer (every lesson's, as ``test_browser_explorers.py`` opens them in Voilà, and the
  calculator's): nothing of it lies beyond the right edge of the window, neither the page nor any box
  around the explorer scrolls sideways, and no box inside it cuts off part of its figure (the figure sits
  beside the readout: two explorers' figures do not fit there at 1366 px today, strict expected failures
  until their layout changes).

What the run measured (page and column widths, each figure's and each explorer part's width, the code
and maths boxes that scroll sideways inside the column, the explorers' labels and readouts cut short)
goes to ``test-artifacts/browser/viewport-1366x768.json``, with a screenshot of each lesson and explorer.
Needs what the other browser tests need (Chromium, ``playwright``, ``voila``); skipped, saying why, without.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from test_browser_explorers import CASES
from test_browser_site import PAGES, SitePage, url  # noqa: F401 -- url: the served site, a fixture
from voila_server import ARTIFACTS, ROOT, VoilaPage, chromium, keep_failure, require, serve

WIDTH, HEIGHT = 1366, 768
MIN_TEXT_PX = 14.0
EXPLORERS = [*{(ROOT / "lessons", c.lesson): c.title for c in CASES}.items(),
             ((ROOT / "calculator", "calculator.ipynb"), "Margin calculator")]
FIGURE_MS = 10_000  # the explorer's canvases sized once it shows
SCREENSHOT_SETTLE_MS = 3_000  # time for the figure to draw before the screenshot (which only documents the page)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require("viewport tests")
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def measured() -> Iterator[dict[str, Any]]:
    """What the tests measured, by page and explorer, written to the artifacts at the end of the run."""
    found: dict[str, Any] = {}
    yield found
    if found:
        (ARTIFACTS / f"viewport-{WIDTH}x{HEIGHT}.json").write_text(
            json.dumps(found, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------- the site
SITE_LAYOUT = """() => {
    const column = document.querySelector('article.bd-article');
    const box = column.getBoundingClientRect(), style = getComputedStyle(column);
    const left = box.left + parseFloat(style.paddingLeft), right = box.right - parseFloat(style.paddingRight);
    const px = e => parseFloat(getComputedStyle(e).fontSize);
    const figures = [...column.querySelectorAll('div.cell_output img')].map(i => {
        const b = i.getBoundingClientRect();
        return {src: i.getAttribute('src'), left: b.left, right: b.right, width: b.width, natural: i.naturalWidth};
    });
    const scrolling = [...column.querySelectorAll('pre, mjx-container, .pst-scrollable-table-container, .output')]
        .filter(e => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== 'visible')
        .map(e => `${e.closest('.cell_input') ? 'code' : e.closest('.cell_output') ? 'output' : e.tagName.toLowerCase()}`
                  + ` ${e.scrollWidth} > ${e.clientWidth}`);
    return {page: document.documentElement.scrollWidth, window: document.documentElement.clientWidth,
            column: [left, right], figures, text: Math.min(...[...column.querySelectorAll('p, li')].map(px)),
            scrolling_inside: scrolling};
}"""


@pytest.fixture()
def laptop_tab(browser: Any, request: Any) -> Iterator[SitePage]:
    tab = SitePage(browser)
    tab.page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    yield tab
    tab.close(f"viewport-{request.node.name.replace('/', '_')}")


@pytest.mark.parametrize("path", PAGES)
def test_a_site_page_fits_the_window_with_its_figures_in_the_column_and_readable_text(
    url: str, laptop_tab: SitePage, path: str, measured: dict[str, Any],  # noqa: F811 -- the fixture imported
) -> None:
    page = laptop_tab.open(f"{url}/{path}")
    m = page.evaluate(SITE_LAYOUT)
    measured[f"site {path}"] = m
    assert m["window"] == WIDTH
    assert m["page"] <= WIDTH, f"the page scrolls sideways: {m['page']} px wide in a {WIDTH} px window"
    left, right = m["column"]
    outside = [f"{f['src']}: {f['left']:.0f}–{f['right']:.0f} px, column {left:.0f}–{right:.0f}"
               for f in m["figures"] if f["left"] < left - 0.5 or f["right"] > right + 0.5 or not f["width"]]
    assert not outside, outside
    if path.startswith("lessons/"):
        assert m["figures"], "a lesson page with no figure"
        page.screenshot(path=ARTIFACTS / f"viewport-{Path(path).stem}.png")
    assert m["text"] >= MIN_TEXT_PX, f"the column's text is {m['text']} px"
    assert not laptop_tab.problems, laptop_tab.problems


# ---------------------------------------------------------------------------- the explorers
EXPLORER_LAYOUT = """root => {
    const window_ = document.documentElement.clientWidth;
    const name = e => `${e.tagName.toLowerCase()}.${[...e.classList].slice(0, 3).join('.')}`;
    const clips = e => getComputedStyle(e).overflowX !== 'visible';
    const scrolling = [];
    for (let e = root; e; e = e.parentElement)
        if (e.scrollWidth > e.clientWidth + 1) scrolling.push(`${name(e)}: ${e.scrollWidth} > ${e.clientWidth}`);
    let rightmost = 0;
    const beyond = [];
    for (const e of root.querySelectorAll('*')) {
        const b = e.getBoundingClientRect();
        if (!b.width || !b.height) continue;
        rightmost = Math.max(rightmost, b.right);
        if (b.right > window_ + 0.5) beyond.push(`${name(e)} ends at ${Math.round(b.right)} px`);
    }
    // a figure (its canvas) is cut where a box between it and the explorer clips it
    const figures = [...new Set([...root.querySelectorAll('canvas')].map(c => c.parentElement))].map(holder => {
        const c = holder.querySelector('canvas').getBoundingClientRect();
        let shown = c.width;
        for (let e = holder; e && e !== root; e = e.parentElement)
            if (clips(e)) { const b = e.getBoundingClientRect(); shown = Math.min(shown, b.right - c.left, c.right - b.left); }
        return {width: Math.round(c.width), shown: Math.round(Math.max(shown, 0))};
    });
    // labels and slider readouts whose text does not fit (ipywidgets cuts them, a label with an ellipsis)
    const cut_text = [...root.querySelectorAll('.widget-label, .widget-readout')]
        .filter(e => clips(e) && e.scrollWidth > e.clientWidth + 1)
        .map(e => `${e.innerText.trim()}: ${e.scrollWidth} > ${e.clientWidth} px`);
    const width = e => e ? Math.round(e.getBoundingClientRect().width) : null;
    const row = root.querySelector(':scope > .widget-hbox');
    const box = root.getBoundingClientRect();
    return {window: window_, page: document.documentElement.scrollWidth,
            explorer: [Math.round(box.left), Math.round(box.right)], rightmost: Math.round(rightmost),
            controls: width(root.querySelector('.widget-gridbox')), figures,
            figure_row: row ? [...row.children].map(width) : [], scrolling, beyond: beyond.slice(0, 8), cut_text};
}"""
#: at most this share of a figure's width may be hidden (its canvas's few pixels of margin)
HIDDEN_SHARE = 0.01


@pytest.fixture(scope="module")
def voila_at(browser: Any) -> Iterator[Callable[[Path], tuple[str, Path]]]:
    """Voilà serving a folder (started on first use, one server a folder): its URL and log."""
    servers: dict[Path, tuple[str, Path]] = {}
    with ExitStack() as stack:
        def at(folder: Path) -> tuple[str, Path]:
            if folder not in servers:
                log = ARTIFACTS / f"viewport-{folder.name}-voila-server.log"
                servers[folder] = stack.enter_context(serve(folder, log))
            return servers[folder]

        yield at


def _explorer_param(where: tuple[Path, str], title: str) -> Any:
    """One explorer's case."""
    return pytest.param(where, title, id=Path(where[1]).stem)


@pytest.mark.parametrize(("where", "title"), [_explorer_param(w, t) for w, t in EXPLORERS])
def test_an_explorer_fits_the_window_with_its_figure_whole_and_no_sideways_scroll(
    where: tuple[Path, str], title: str, browser: Any, voila_at: Callable[[Path], tuple[str, Path]],
    measured: dict[str, Any],
) -> None:
    folder, notebook = where
    server, log = voila_at(folder)
    tab = VoilaPage(browser, WIDTH, HEIGHT)
    try:
        tab.render(server, notebook, title)
        tab.page.wait_for_function("root => [...root.querySelectorAll('canvas')].every(c => c.width > 0)",
                                   arg=tab.root.element_handle(), timeout=FIGURE_MS)
        m = tab.root.evaluate(EXPLORER_LAYOUT)
        measured[f"explorer {folder.name}/{notebook}"] = m
        if m["figures"]:
            tab.root.locator("canvas").last.scroll_into_view_if_needed()
        tab.page.wait_for_timeout(SCREENSHOT_SETTLE_MS)
        tab.page.screenshot(path=ARTIFACTS / f"viewport-{Path(notebook).stem}-explorer.png")
        assert m["window"] == WIDTH
        assert m["page"] <= WIDTH and not m["scrolling"], f"sideways scroll: page {m['page']} px, {m['scrolling']}"
        assert m["rightmost"] <= WIDTH and not m["beyond"], f"beyond the {WIDTH} px window: {m['beyond']}"
        cut = [f for f in m["figures"] if f["shown"] < (1 - HIDDEN_SHARE) * f["width"]]
        assert not cut, f"figure cut: {cut} (row of figure and readout: {m['figure_row']} px)"
    except BaseException:
        keep_failure(f"viewport-{Path(notebook).stem}", log, tab)
        raise
    finally:
        tab.close()
