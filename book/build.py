"""Build the course site (``make site``): stage the sources, run Sphinx, add the JupyterLite build.

    .venv/bin/python book/build.py [--out _build/site]

1. Stage ``_build/book-src``: this folder's ``conf.py``, the lessons and the student exercise
   notebooks (their committed outputs, saved without widget views or state, so each explorer shows its
   static figure), every ``docs/*.md`` (links to the lessons and exercises rewritten for the site: see
   :func:`site_doc`), MathJax 3 from ``sphinx-mathjax-offline``, and three
   generated pages: the landing page with the syllabus (each lesson's aims are read from its first
   cell; prerequisites, time and explorer from ``syllabus.json``), the glossary (``glossary.json``,
   each term linked to the lesson heading that defines it) and the API reference.
2. ``sphinx-build -W`` into ``<out>`` (warnings are errors: a broken reference fails the build).
3. JupyterLite into ``<out>/lite``: the lessons and exercises with a first cell that installs
   tiermargin from a wheel built from this checkout (``<out>/lite/pypi``), the ipywidgets and
   ipympl extensions of the environment. Each site page of a lesson links to it.

Everything comes from the checkout and the installed packages: no network at build time. The
Pyodide kernel itself loads Pyodide and its numpy/matplotlib from the Pyodide CDN when a lesson is
run in the browser (see README, "Course site").
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
STAGE = ROOT / "_build" / "book-src"
LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))
EXERCISES = sorted((ROOT / "exercises").glob("[0-9][0-9]_*.ipynb"))
DOCS = sorted((ROOT / "docs").glob("*.md"))  # every page there, so a new one is on the site without an edit here
TEACHING_DOCS = ("instructor_guide", "authoring")  # under "For instructors" in the navigation; the rest: "Reference"
API_MODULES = ["tiermargin.tiers", "tiermargin.contracts", "tiermargin.isolated", "tiermargin.cross",
               "tiermargin.alternatives", "tiermargin.markprice", "tiermargin.market", "tiermargin.orderbook",
               "tiermargin.liquidation", "tiermargin.replay", "tiermargin.riskfund", "tiermargin.adl",
               "tiermargin.rules", "tiermargin.waterfall", "tiermargin.cascade", "tiermargin.derivation"]
LITE_PATH = "lite/notebooks/index.html?path="


def cells(nb: dict) -> list[str]:
    """The markdown sources of a notebook's cells, in order."""
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]


def title_and_aims(nb: dict) -> tuple[str, list[str]]:
    """A lesson's title (its first heading) and its aims (the bullets of its first cell)."""
    first = cells(nb)[0]
    title = next(line[2:].strip() for line in first.splitlines() if line.startswith("# "))
    aims = [line[2:].strip() for line in first.splitlines() if line.startswith("* ")]
    if not aims:
        raise ValueError(f"lesson {title!r}: its first cell lists no aims ('* ...' bullets)")
    return title, aims


def section_heading(nb: dict, number: int) -> str:
    """The text of a lesson's heading '## <number>. ...'."""
    for src in cells(nb):
        for line in src.splitlines():
            if re.match(rf"## {number}\.\s", line):
                return line[3:].strip()
    raise ValueError(f"no section '## {number}.' in {title_and_aims(nb)[0]!r}")


def slug(heading: str) -> str:
    """MyST's anchor for a heading (GitHub style: lower case, punctuation dropped, spaces → '-')."""
    s = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return s.replace(" ", "-")


def lite_link(kind: str, name: str, rel: str) -> str:
    """A link to the notebook in the JupyterLite build (raw HTML: Sphinx does not know those pages)."""
    return (f'<a class="lite-link" href="{rel}{LITE_PATH}{kind}s/{name}">▶ Run this {kind} in your browser</a> '
            "(JupyterLite: nothing to install)")


def site_notebook(nb: dict, kind: str, name: str) -> dict:
    """The notebook as the site shows it: a first cell linking to the same notebook in JupyterLite
    (the committed notebooks hold no widget views or state, see ``tiermargin.notebooks``, so each
    explorer shows its static figure)."""
    nb = json.loads(json.dumps(nb))
    link = lite_link(kind, name, "../")
    nb["cells"].insert(0, {"cell_type": "markdown", "id": "run-in-browser", "metadata": {}, "source": [link]})
    return nb


def lite_notebook(nb: dict) -> dict:
    """The notebook as JupyterLite runs it: a first cell installing tiermargin (and ipympl) with
    piplite, from the wheel bundled with the build; outputs cleared."""
    nb = json.loads(json.dumps(nb))
    for c in nb["cells"]:
        if c["cell_type"] == "code":
            c["outputs"], c["execution_count"] = [], None
    install = {"cell_type": "code", "id": "install-in-browser", "metadata": {}, "execution_count": None, "outputs": [],
               "source": ["# In the browser (JupyterLite): install tiermargin from the wheel bundled with the site.\n",
                          "%pip install -q tiermargin ipympl"]}
    nb["cells"].insert(0, install)
    return nb


def doc_title(path: Path) -> str:
    """The title of a docs page: its first ``# `` heading."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    raise ValueError(f"{path.relative_to(ROOT)}: no '# title' heading")


def site_doc(path: Path) -> str:
    """A docs page as the site shows it. In the repository its links to the lessons and exercises
    read ``../lessons/NN_x.ipynb`` (from ``docs/``); on the site the page sits next to those folders,
    so they become ``lessons/NN_x.ipynb``. Any other link out of ``docs/`` (a repository file the
    site does not hold) is an error naming the page and the link: write such a path as code."""
    site_notebooks = {p.relative_to(ROOT).as_posix() for p in LESSONS + EXERCISES}

    def local(m: re.Match[str]) -> str:
        target = m.group(1)
        if target.split("#", 1)[0] not in site_notebooks:
            raise ValueError(f"docs/{path.name}: the link ../{target} leaves the site (only the lessons and "
                             "exercise notebooks are on it); write the path as `code` instead of a link")
        return f"]({target})"

    return re.sub(r"\]\(\.\./([^)\s]+)\)", local, path.read_text(encoding="utf-8"))


def syllabus_page() -> str:
    meta = json.loads((BOOK / "syllabus.json").read_text(encoding="utf-8"))["lessons"]
    out = ["# tiermargin: how derivatives exchanges manage leverage risk", "",
           "A course, and the library behind it, on how exchanges keep leverage from turning into losses "
           "nobody can pay: the mark price, isolated and cross margin, gradient (tiered) maintenance margin, "
           "stepwise liquidation, the risk fund, auto-deleveraging and liquidation cascades. Every number in the "
           "lessons is computed by the `tiermargin` library and can show its derivation; every lesson has an "
           "interactive explorer and exercises that check your answers.", "",
           "Read the lessons here, with their outputs; run any of them in your browser with nothing to install "
           "(the ▶ link at the top of each), on Binder, or locally (`make lab`, see the README).", "",
           "## Syllabus", ""]
    for path in LESSONS:
        title, aims = title_and_aims(json.loads(path.read_text(encoding="utf-8")))
        m = meta[path.stem]
        out += [f"### [{title}](lessons/{path.stem}.ipynb)", "",
                f"**Before it:** {m['prerequisites']} **Time to allow:** {m['time']}.", "",
                "**Aims.** After it you can", ""] + [f"* {a}" for a in aims] + [
                "", f"**The explorer:** {m['explorer']}", "",
                f"[Exercises](exercises/{path.stem}.ipynb) · " + lite_link("lesson", path.name, ""), ""]
    out += ["## Also here", "",
            "* [Glossary](glossary.md): every term the lessons use, linked to where a lesson defines it.",
            ] + [f"* [{doc_title(p)}]({p.name})" for p in DOCS] + [
            "* [API reference](api.md): the library, from its docstrings.", "",
            "```{toctree}", ":hidden:", ":caption: Lessons", ""] + [f"lessons/{p.stem}" for p in LESSONS] + [
            "```", "", "```{toctree}", ":hidden:", ":caption: Exercises", ""] + [
            f"exercises/{p.stem}" for p in EXERCISES] + [
            "```", "", "```{toctree}", ":hidden:", ":caption: Reference", "", "glossary"] + [
            p.stem for p in DOCS if p.stem not in TEACHING_DOCS] + ["api", "```", ""]
    teaching = [name for name in TEACHING_DOCS if name in {p.stem for p in DOCS}]
    if teaching:
        out += ["```{toctree}", ":hidden:", ":caption: For instructors", ""] + teaching + ["```", ""]
    return "\n".join(out)


def glossary_page() -> str:
    terms = json.loads((BOOK / "glossary.json").read_text(encoding="utf-8"))["terms"]
    notebooks = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in LESSONS}
    out = ["# Glossary", "", "Every term the lessons use, in a sentence or two, and where a lesson defines it.", "",
           ":::{glossary}"]
    for term, definition, lesson, section in sorted(terms, key=lambda t: t[0].lower()):
        if lesson not in notebooks:
            raise ValueError(f"glossary term {term!r}: no lesson {lesson!r}")
        heading = section_heading(notebooks[lesson], section)
        out += [term, f"  {definition} Defined in [lesson {lesson[:2]}, §{heading}](lessons/{lesson}.ipynb#{slug(heading)}).",
                ""]
    return "\n".join(out + [":::", ""])


def api_page() -> str:
    out = ["# API reference", "", "The library's public modules, from their docstrings (numpy style). The core "
           "modules import only numpy; `tiermargin.plots` and `tiermargin.widgets` (matplotlib, ipywidgets) are "
           "for the lessons.", ""]
    for mod in API_MODULES:
        out += [f"## `{mod}`", "", "```{eval-rst}", f".. automodule:: {mod}", "```", ""]
    return "\n".join(out)


def stage() -> None:
    from importlib.metadata import distribution

    if STAGE.exists():
        shutil.rmtree(STAGE)
    (STAGE / "lessons").mkdir(parents=True)
    (STAGE / "exercises").mkdir()
    for name in ("conf.py", "favicon.svg"):
        shutil.copy(BOOK / name, STAGE / name)
    mathjax = Path(distribution("sphinx-mathjax-offline").locate_file("sphinx-mathjax-offline/static/mathjax"))
    shutil.copytree(mathjax, STAGE / "_static" / "mathjax")
    for kind, paths in (("lesson", LESSONS), ("exercise", EXERCISES)):
        for p in paths:
            nb = site_notebook(json.loads(p.read_text(encoding="utf-8")), kind, p.name)
            (STAGE / f"{kind}s" / p.name).write_text(json.dumps(nb, indent=1), encoding="utf-8")
    for p in DOCS:
        (STAGE / p.name).write_text(site_doc(p), encoding="utf-8")
    (STAGE / "index.md").write_text(syllabus_page(), encoding="utf-8")
    (STAGE / "glossary.md").write_text(glossary_page(), encoding="utf-8")
    (STAGE / "api.md").write_text(api_page(), encoding="utf-8")


def lite(out: Path) -> None:
    """The JupyterLite build of the lessons and exercises, with the tiermargin wheel, into out/lite."""
    work = ROOT / "_build" / "lite-src"
    if work.exists():
        shutil.rmtree(work)
    for kind, paths in (("lessons", LESSONS), ("exercises", EXERCISES)):
        (work / "contents" / kind).mkdir(parents=True)
        for p in paths:
            nb = lite_notebook(json.loads(p.read_text(encoding="utf-8")))
            (work / "contents" / kind / p.name).write_text(json.dumps(nb, indent=1), encoding="utf-8")
    wheels = work / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(wheels), str(ROOT)], check=True)
    wheel = next(wheels.glob("tiermargin-*.whl"))
    jupyter = Path(sys.executable).parent / "jupyter"
    subprocess.run([str(jupyter), "lite", "build", "--contents", str(work / "contents"),
                    "--piplite-wheels", str(wheel), "--output-dir", str(out / "lite"), "--no-sourcemaps",
                    "--log-level=WARN"], check=True, cwd=work, stdout=subprocess.DEVNULL)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "site")
    parser.add_argument("--no-lite", action="store_true", help="skip the JupyterLite build")
    args = parser.parse_args(argv)
    stage()
    if args.out.exists():
        shutil.rmtree(args.out)
    subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(STAGE),
                    str(args.out)], check=True)
    if not args.no_lite:
        lite(args.out)
    print(f"site built in {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")


if __name__ == "__main__":
    main(sys.argv[1:])
