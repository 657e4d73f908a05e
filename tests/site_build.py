"""The course site as the tests see it: built once per test run (``book/build.py``, what ``make site``
runs) into ``_build/test-site``, and what the tests read from it.

Test modules import it as a sibling (``from site_build import ...``), as ``strategies``.
"""

from __future__ import annotations

import functools
import html
import json
import re
import subprocess
import urllib.parse
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "_build" / "test-site"
LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))
EXERCISES = sorted((ROOT / "exercises").glob("[0-9][0-9]_*.ipynb"))


SITE_PYTHON = ROOT / ".venv-site" / "bin" / "python"  # the site tools' own venv (Makefile, SITE_VENV)


def missing_tools() -> str | None:
    """Why the site cannot be built here (None: it can)."""
    if not SITE_PYTHON.exists():
        return f"no {SITE_PYTHON.relative_to(ROOT)}: make test (or make site) creates it with requirements-site.txt"
    return None


@functools.cache
def built_site() -> Path:
    """Build the site (Sphinx and JupyterLite) into :data:`OUT`, once per test run."""
    reason = missing_tools()
    if reason:
        pytest.fail(reason)  # make test installs them: a missing tool is a failure, not a skip
    subprocess.run([str(SITE_PYTHON), str(ROOT / "book" / "build.py"), "--out", str(OUT)], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)
    return OUT


def notebook(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def printed(nb: dict) -> list[str]:
    """Every line a notebook's code cells printed (stream outputs), stripped, non-empty."""
    lines = []
    for c in nb["cells"]:
        for o in c.get("outputs", []):
            if o.get("output_type") == "stream":
                lines += [line.strip() for line in "".join(o["text"]).splitlines() if line.strip()]
    return lines


def figures(nb: dict) -> int:
    """How many PNG figures a notebook's outputs hold (explorers' static figures included)."""
    return sum("image/png" in o.get("data", {}) for c in nb["cells"] for o in c.get("outputs", []))


class Page(HTMLParser):
    """One HTML page: its ids, links (href/src), images and visible text."""

    def __init__(self, path: Path) -> None:
        super().__init__(convert_charrefs=True)
        self.path = path
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.images: list[str] = []
        self.scripts: list[str] = []
        self.text: list[str] = []
        self._skip = 0
        self.feed(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag in ("script", "style"):
            self._skip += 1
        for key in ("href", "src"):
            if a.get(key):
                self.links.append(a[key])
        if tag == "img" and a.get("src"):
            self.images.append(a["src"])
        if tag in ("script", "link") and (a.get("src") or a.get("href")):
            self.scripts.append(a.get("src") or a.get("href"))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)

    @property
    def plain(self) -> str:
        """The page's text, whitespace collapsed."""
        return re.sub(r"\s+", " ", html.unescape("".join(self.text)))


def pages(site: Path) -> dict[Path, Page]:
    """Every HTML page of the site proper (not JupyterLite's app under lite/, nor the theme's
    template fragments under _static/)."""
    return {p: Page(p) for p in sorted(site.rglob("*.html")) if p.relative_to(site).parts[0] not in ("lite", "_static")}


def _target(site: Path, page: Path, link: str) -> tuple[Path, str, dict[str, list[str]]] | None:
    """Where an internal link points (file, fragment, query), or None for an external or special link."""
    parsed = urllib.parse.urlsplit(link)
    if parsed.scheme or parsed.netloc or link.startswith(("mailto:", "javascript:", "data:")):
        return None
    path = page if not parsed.path else (page.parent / urllib.parse.unquote(parsed.path)).resolve()
    if path.is_dir():
        path = path / "index.html"
    return path, urllib.parse.unquote(parsed.fragment), urllib.parse.parse_qs(parsed.query)


def broken_links(site: Path, site_pages: dict[Path, Page]) -> tuple[int, list[str]]:
    """How many internal links the pages hold, and which are broken: a file that does not exist
    (or lies outside the site), an ``#anchor`` that is no id of its page, a JupyterLite link whose
    ``?path=`` names no notebook of the build."""
    site = site.resolve()
    resolved = {p.resolve(): parsed for p, parsed in site_pages.items()}
    checked, broken = 0, []
    for page, parsed in resolved.items():
        for link in parsed.links:
            t = _target(site, page, link)
            if t is None:
                continue
            path, fragment, query = t
            checked += 1
            where = f"{page.relative_to(site)} → {link}"
            if not path.is_file() or not path.is_relative_to(site):
                broken.append(f"{where}: no such file")
            elif fragment and path in resolved and fragment not in resolved[path].ids:
                broken.append(f"{where}: no id {fragment!r}")
            elif "path" in query and not (site / "lite" / "files" / query["path"][0]).is_file():
                broken.append(f"{where}: no notebook {query['path'][0]} in the JupyterLite build")
    return checked, broken
