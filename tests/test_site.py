"""Issue 17: the course site (``make site``) — every lesson, exercise, glossary term and API page is
there, no internal link is broken, nothing is loaded from another host, and the JupyterLite build
holds every notebook and the tiermargin wheel."""

import json
import re
import urllib.parse
import zipfile
from pathlib import Path

import pytest
from site_build import EXERCISES, LESSONS, ROOT, broken_links, built_site, figures, notebook, pages, printed


@pytest.fixture(scope="module")
def site() -> Path:
    return built_site()


@pytest.fixture(scope="module")
def site_pages(site):
    return pages(site)


def test_every_lesson_and_exercise_has_a_page_and_the_reference_pages_exist(site):
    for p in LESSONS:
        assert (site / "lessons" / f"{p.stem}.html").is_file(), p.name
    for p in EXERCISES:
        assert (site / "exercises" / f"{p.stem}.html").is_file(), p.name
    for name in ("index", "glossary", "venue_rules", "api", "search", "genindex"):
        assert (site / f"{name}.html").is_file(), name


def test_no_internal_link_is_broken(site, site_pages):
    """Every href/src of every page: the file exists, the #anchor is an id on it, and a JupyterLite
    link's ?path= names a notebook of the build."""
    checked, broken = broken_links(site, site_pages)
    assert checked > 500 and not broken, "\n".join(broken[:40])


def test_the_link_checker_finds_a_missing_file_a_missing_anchor_and_a_missing_notebook(tmp_path):
    (tmp_path / "lite" / "files").mkdir(parents=True)
    (tmp_path / "lite" / "notebooks").mkdir()
    (tmp_path / "lite" / "notebooks" / "index.html").write_text("JupyterLite", encoding="utf-8")
    (tmp_path / "b.html").write_text('<h1 id="there">B</h1>', encoding="utf-8")
    (tmp_path / "a.html").write_text(
        '<a href="b.html#there">ok</a><a href="b.html#gone">anchor</a><a href="c.html">file</a>'
        '<a href="https://example.org/x">external</a><a href="#top" id="top">self</a>'
        '<a href="lite/notebooks/index.html?path=lessons/x.ipynb">lite</a>', encoding="utf-8")
    checked, broken = broken_links(tmp_path, pages(tmp_path))
    assert checked == 5
    assert sorted(b.split(": ")[-1] for b in broken) == [
        "no id 'gone'", "no notebook lessons/x.ipynb in the JupyterLite build", "no such file"]


def test_no_page_loads_anything_from_another_host(site_pages):
    """The site works offline: every script and stylesheet is local (MathJax included)."""
    remote = [f"{p.name}: {s}" for p, parsed in site_pages.items() for s in parsed.scripts
              if urllib.parse.urlsplit(s).scheme in ("http", "https") or s.startswith("//")]
    assert not remote, remote[:10]


def test_the_landing_page_lists_every_lesson_with_its_aims_prerequisites_time_and_explorer(site, site_pages):
    text = site_pages[site / "index.html"].plain
    meta = json.loads((ROOT / "book" / "syllabus.json").read_text(encoding="utf-8"))["lessons"]
    for p in LESSONS:
        first = next("".join(c["source"]) for c in notebook(p)["cells"] if c["cell_type"] == "markdown")
        title = next(line[2:] for line in first.splitlines() if line.startswith("# "))
        assert title.strip() in text, title
        for aim in (line[2:] for line in first.splitlines() if line.startswith("* ")):
            words = re.sub(r"[*`$\\]", "", aim)
            assert re.sub(r"\s+", " ", words.split(";")[0].strip())[:40] in text, (p.name, aim)
        for key in ("prerequisites", "time", "explorer"):
            assert meta[p.stem][key] in text, (p.name, key)
    assert set(meta) == {p.stem for p in LESSONS}


def test_the_glossary_defines_every_term_and_links_it_to_the_lesson_that_defines_it(site, site_pages):
    page = site_pages[site / "glossary.html"]
    terms = json.loads((ROOT / "book" / "glossary.json").read_text(encoding="utf-8"))["terms"]
    assert len(terms) >= 30
    for term, definition, lesson, _section in terms:
        assert term in page.plain and definition[:60] in page.plain, term
        assert any(link.startswith(f"lessons/{lesson}.html#") for link in page.links), term
    # every term the glossary names is a glossary entry (an id Sphinx made for it)
    assert sum(i.startswith("term-") for i in page.ids) == len(terms)


def test_every_lesson_page_shows_its_printed_numbers_and_its_figures(site, site_pages):
    for p in LESSONS:
        page = site_pages[site / "lessons" / f"{p.stem}.html"]
        nb = notebook(p)
        missing = [line for line in printed(nb) if re.sub(r"\s+", " ", line) not in page.plain]
        assert not missing, (p.name, missing[:5])
        images = [src for src in page.images if src.startswith("../_images/")]
        assert len(images) >= figures(nb) > 0, p.name
        assert "Run this lesson in your browser" in page.plain


def test_the_api_reference_documents_the_public_functions(site, site_pages):
    ids = site_pages[site / "api.html"].ids
    for name in ("tiermargin.isolated.liquidation_price", "tiermargin.isolated.bankruptcy_price",
                 "tiermargin.isolated.IsolatedPosition", "tiermargin.isolated.IsolatedPosition.liquidation_price","tiermargin.tiers.TierTable", "tiermargin.cascade.run", "tiermargin.adl.deleverage",
                 "tiermargin.riskfund.RiskFund", "tiermargin.liquidation.liquidate", "tiermargin.rules.preset"):
        assert name in ids, name


def test_the_jupyterlite_build_holds_every_notebook_the_wheel_and_the_widget_extensions(site):
    lite = site / "lite"
    for kind, paths in (("lessons", LESSONS), ("exercises", EXERCISES)):
        for p in paths:
            nb = json.loads((lite / "files" / kind / p.name).read_text(encoding="utf-8"))
            first = "".join(nb["cells"][0]["source"])
            assert "%pip install -q tiermargin" in first, p.name
            assert len(nb["cells"]) == len(notebook(p)["cells"]) + 1
    wheels = sorted((lite / "pypi").glob("tiermargin-*.whl"))
    assert len(wheels) == 1
    index = json.loads((lite / "pypi" / "all.json").read_text(encoding="utf-8"))
    assert "tiermargin" in index
    names = set(zipfile.ZipFile(wheels[0]).namelist())
    modules = {f"tiermargin/{p.relative_to(ROOT / 'tiermargin')}" for p in (ROOT / "tiermargin").rglob("*.py")}
    data = {f"tiermargin/data/{p.name}" for p in (ROOT / "tiermargin" / "data").glob("*.json")}
    assert modules | data <= names, sorted((modules | data) - names)[:5]
    config = json.loads((lite / "jupyter-lite.json").read_text(encoding="utf-8"))["jupyter-config-data"]
    extensions = {e["name"] for e in config["federated_extensions"]}
    assert {"@jupyter-widgets/jupyterlab-manager", "jupyter-matplotlib",
            "@jupyterlite/pyodide-kernel-extension"} <= extensions
    assert (lite / "notebooks" / "index.html").is_file() and (lite / "lab" / "index.html").is_file()


def test_the_pages_workflow_builds_with_make_site_and_publishes_the_built_folder(site):
    import yaml

    flow = yaml.safe_load((ROOT / ".github" / "workflows" / "pages.yml").read_text(encoding="utf-8"))
    steps = flow["jobs"]["build"]["steps"]
    assert {"run": "make site"} in steps
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "_build/site" and (ROOT / "Makefile").read_text().count("--out _build/site") == 1
    assert (site / ".nojekyll").is_file()  # GitHub Pages would hide _static/ and _images/ otherwise


# ---------------------------------------------------------------- the docs pages (docs/*.md)
DOCS = sorted((ROOT / "docs").glob("*.md"))


def navigation(page_html: str) -> dict[str, list[str]]:
    """The sidebar's links by caption ("Lessons", "Reference", ...), in order."""
    nav = page_html[page_html.index("bd-docs-nav"):]
    nav = nav[:nav.index("</nav>")]
    out: dict[str, list[str]] = {}
    caption = None
    for m in re.finditer(r'<span class="caption-text">([^<]*)</span>|href="([^"#][^"]*)"', nav):
        if m.group(1):
            caption = m.group(1)
            out[caption] = []
        elif caption:
            out[caption].append(m.group(2))
    return out


def test_every_docs_page_is_built_and_in_the_navigation(site):
    assert {"formulas", "instructor_guide", "venue_rules"} <= {p.stem for p in DOCS}
    nav = navigation((site / "index.html").read_text(encoding="utf-8"))
    listed = [href for links in nav.values() for href in links]
    for p in DOCS:
        assert (site / f"{p.stem}.html").is_file(), p.name
        assert listed.count(f"{p.stem}.html") == 1, (p.name, nav)
    assert nav["For instructors"][0] == "instructor_guide.html"
    assert {"glossary.html", "formulas.html", "venue_rules.html", "api.html"} <= set(nav["Reference"])
    # and on a lesson's page too (the sidebar is every page's)
    assert navigation((site / "lessons" / f"{LESSONS[0].stem}.html").read_text(encoding="utf-8"))[
        "For instructors"][0] == "../instructor_guide.html"


def test_the_link_checker_covers_the_docs_pages(site, site_pages):
    """The docs pages' own links are among those checked (their links to the lessons were rewritten
    from ../lessons/ for the site), and none is broken."""
    docs = {site / f"{p.stem}.html" for p in DOCS}
    assert docs <= set(site_pages)
    checked, broken = broken_links(site, site_pages)
    without, _ = broken_links(site, {p: parsed for p, parsed in site_pages.items() if p not in docs})
    assert checked - without > 100
    assert not [b for b in broken if b.split(" → ")[0] in {d.name for d in docs}]
    guide = site_pages[site / "instructor_guide.html"].links
    assert any(link.startswith("lessons/07_cascades.html#") and link.endswith("what-the-model-leaves-out")
               for link in guide)  # Sphinx writes the section's own id
    assert "exercises/02_isolated_margin.html" in guide and "formulas.html" in guide


def maths_in(markdown: str) -> tuple[int, int]:
    """How many inline ($...$) and display ($$...$$) formulas a Markdown text holds, outside code."""
    text = re.sub(r"`[^`\n]+`", "", re.sub(r"^ *```.*?^ *```", "", markdown, flags=re.M | re.S))
    display = len(re.findall(r"\$\$.+?\$\$", text, flags=re.S))
    inline = len(re.findall(r"\$[^$]+?\$", re.sub(r"\$\$.+?\$\$", "", text, flags=re.S)))
    return inline, display


def test_the_formula_reference_renders_every_formula_as_maths(site, site_pages):
    """Every $...$ and $$...$$ of docs/formulas.md is a maths element (display ones too, where they sit
    inside a list item), and no dollar sign is left in the page's text."""
    inline, display = maths_in((ROOT / "docs" / "formulas.md").read_text(encoding="utf-8"))
    assert inline > 150 and display > 20
    html_text = (site / "formulas.html").read_text(encoding="utf-8")
    assert html_text.count('<span class="math notranslate nohighlight">') == inline
    assert html_text.count('<div class="math notranslate nohighlight">') == display
    assert "$" not in site_pages[site / "formulas.html"].plain
    assert maths_in("a $x$ b\n$$y$$ and `$z$`\n") == (1, 1)


def test_a_docs_link_out_of_the_site_stops_the_build(tmp_path):
    """docs/*.md link to the lessons as ../lessons/...: the build rewrites those and refuses a link to a
    repository file the site does not hold."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("book_build", ROOT / "book" / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    page = tmp_path / "page.md"
    page.write_text("[a](../lessons/01_mark_price.ipynb#2-index-price) [b](formulas.md) [c](https://x.org/a)\n",
                    encoding="utf-8")
    assert build.site_doc(page) == "[a](lessons/01_mark_price.ipynb#2-index-price) [b](formulas.md) [c](https://x.org/a)\n"
    page.write_text("see [the README](../README.md)\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"docs/page.md: the link ../README.md leaves the site"):
        build.site_doc(page)
