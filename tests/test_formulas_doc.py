"""The project's formula reference (docs/formulas.md): everything points to it, and it points to real code.

* no file of the repository cites the old notes outside the repository (``reference/`` in ``../shared``);
* every ``docs/formulas.md#<anchor>`` reference, anywhere, names a heading of docs/formulas.md (GitHub slug);
* every library name the document gives in backticks, ``tiermargin.x.y``, exists.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "formulas.md"
SKIP = {".venv", "_build", "build", ".git", "test-artifacts", "node_modules", ".ipynb_checkpoints"}
SUFFIXES = {".py", ".ipynb", ".md", ".json", ".txt", ".cfg", ".toml"}
OLD = "FORMULAS" + ".md"  # split so that this file does not mention it
REFERENCE = re.compile(r"docs/formulas\.md#([\w-]+)")
NAME = re.compile(r"`(tiermargin(?:\.\w+)+)`")


def _files() -> list[Path]:
    out = []
    for path in ROOT.rglob("*"):
        parts = set(path.relative_to(ROOT).parts)
        if path.suffix in SUFFIXES and path.is_file() and not parts & SKIP and not any(
                p.endswith(".egg-info") for p in parts):
            out.append(path)
    return sorted(out)


def slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())  # backticks, colons, commas, brackets go
    return text.replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    """The anchors of every heading (``#`` to ``######``) outside fenced code, duplicates numbered as GitHub does."""
    seen: dict[str, int] = {}
    out, fenced = set(), False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        m = re.match(r"#{1,6} +(.*?) *#*$", line)
        if m and not fenced:
            base = slug(m.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            out.add(base if n == 0 else f"{base}-{n}")
    return out


def test_slug_is_githubs():
    assert slug("Mark price, index and basis") == "mark-price-index-and-basis"
    assert slug("Auto-deleveraging (ADL)") == "auto-deleveraging-adl"
    assert slug("Order book: impact and resilience") == "order-book-impact-and-resilience"
    assert anchors("## A\n## A\n```\n## B\n```\n") == {"a", "a-1"}


def test_no_file_mentions_the_old_reference():
    hits = [str(p.relative_to(ROOT)) for p in _files() if OLD in p.read_text("utf-8", errors="replace")]
    assert not hits, f"these files still cite the reference outside the repository ({OLD}): {hits}"


def test_every_section_reference_resolves():
    known = anchors(DOC.read_text("utf-8"))
    refs = [(str(p.relative_to(ROOT)), a) for p in _files() for a in REFERENCE.findall(p.read_text("utf-8", errors="replace"))]
    assert refs, "no file cites a section of docs/formulas.md"
    refs += [("docs/formulas.md", a) for a in re.findall(r"\]\(#([\w-]+)\)", DOC.read_text("utf-8"))]  # in-page links
    broken = [(f, a) for f, a in refs if a not in known]
    assert not broken, f"references to sections docs/formulas.md does not have: {broken}"


def _resolve(dotted: str) -> object:
    """The object ``dotted`` names: the longest importable module prefix, then attributes."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(dotted)


NAMES = sorted(set(NAME.findall(DOC.read_text("utf-8"))))


def test_the_document_names_library_functions():
    assert len(NAMES) > 50


@pytest.mark.parametrize("dotted", NAMES)
def test_named_library_function_exists(dotted):
    try:
        _resolve(dotted)
    except (ImportError, AttributeError) as e:
        pytest.fail(f"docs/formulas.md names `{dotted}`, which does not exist: {e}")
