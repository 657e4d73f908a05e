"""Issue 17 point 5: every figure of the notebooks has alt text. ``book/alt_text.json`` holds one line per
figure cell (by cell id), ``book/alt_text.py`` writes it into each cell's MyST-NB metadata, so the site's
``<img>`` tags carry it, and its ``--check`` catches a figure without alt text and a stale entry."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from site_build import LESSONS, ROOT, Page, built_site, notebook, pages

SCRIPT = ROOT / "book" / "alt_text.py"
ALT_TEXT = ROOT / "book" / "alt_text.json"
#: what a reader needs: what is plotted against what, and what it shows (the script's own cap is 200)
MIN_CHARS, MAX_CHARS = 60, 200
NOT_A_DESCRIPTION = re.compile(r"^\s*(an? )?(image|picture|figure|graph|plot|screenshot)( of)?\b", re.I)
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n a figure").decode()


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, cwd=ROOT)


def notebook_files(root: Path) -> list[Path]:
    """Every notebook of the course under ``root``: lessons, calculator, exercises and their solutions."""
    return sorted({*root.glob("lessons/*.ipynb"), *root.glob("calculator/*.ipynb"), *root.glob("exercises/**/*.ipynb")})


def figure_cells(nb: dict) -> list[dict]:
    """The cells of a notebook (as JSON) with an image among their outputs."""
    return [c for c in nb["cells"] if any(k.startswith("image/") for o in c.get("outputs", []) for k in o.get("data", {}))]


def alt(cell: dict) -> str | None:
    return cell["metadata"].get("mystnb", {}).get("image", {}).get("alt")


def undescribed(root: Path) -> tuple[set[Path], list[str]]:
    """The notebooks under ``root`` with figures, and each figure cell whose alt text is missing or no
    one-line description of a reasonable length."""
    with_figures, bad = set(), []
    for path in notebook_files(root):
        for cell in figure_cells(notebook(path)):
            with_figures.add(path.relative_to(root))
            text = alt(cell)
            if not (isinstance(text, str) and MIN_CHARS <= len(text) <= MAX_CHARS and "\n" not in text
                    and not NOT_A_DESCRIPTION.match(text)):
                bad.append(f"{path.relative_to(root)} cell {cell['id']}: {text!r}")
    return with_figures, bad


def without_alt(nb: dict) -> dict:
    """A notebook (as JSON) with the alt texts the script writes taken out again."""
    nb = json.loads(json.dumps(nb))
    for cell in nb["cells"]:
        mystnb = cell["metadata"].get("mystnb", {})
        mystnb.get("image", {}).pop("alt", None)
        if mystnb.get("image") == {}:
            del mystnb["image"]
        if mystnb == {} and "mystnb" in cell["metadata"]:
            del cell["metadata"]["mystnb"]
    return nb


def copy_course(to: Path) -> None:
    """The notebooks and the alt-text file, laid out as in the repository."""
    for folder in ("lessons", "calculator", "exercises"):
        shutil.copytree(ROOT / folder, to / folder)
    (to / "book").mkdir()
    shutil.copy(ALT_TEXT, to / "book" / "alt_text.json")


# ---------------------------------------------------------------- the committed notebooks
def test_every_figure_of_the_committed_notebooks_has_alt_text():
    with_figures, bad = undescribed(ROOT)
    assert {p.relative_to(ROOT) for p in LESSONS} <= with_figures  # every lesson has figures: nothing vacuous
    assert not bad, "no alt text (python book/alt_text.py writes book/alt_text.json into the notebooks):\n" + "\n".join(bad)


def test_the_alt_text_file_describes_exactly_the_committed_figures():
    result = run("--check")
    assert result.returncode == 0, result.stderr


def test_writing_a_copy_of_the_notebooks_describes_every_figure_and_keeps_everything_else(tmp_path):
    copy_course(tmp_path)
    result = run("--root", tmp_path)
    assert result.returncode == 0, result.stderr
    with_figures, bad = undescribed(tmp_path)
    assert with_figures and not bad, bad
    texts = json.loads(ALT_TEXT.read_text(encoding="utf-8"))
    for path in notebook_files(tmp_path):
        name = path.relative_to(tmp_path)
        written, committed = notebook(path), notebook(ROOT / name)
        assert without_alt(written) == without_alt(committed), f"{name}: more than the alt text changed"
        for cell in figure_cells(written):
            assert alt(cell) == texts[name.as_posix()][cell["id"]], (name, cell["id"])
    assert run("--check", "--root", tmp_path).returncode == 0
    again = run("--root", tmp_path)
    assert again.returncode == 0 and "wrote" not in again.stdout  # nothing left to write: nothing rewritten


# ---------------------------------------------------------------- --check on a small course
def write_course(root: Path, texts: dict) -> Path:
    """A course of one lesson (a markdown cell, two figures and a printing cell) and its alt-text file."""
    nb = new_notebook(cells=[
        new_markdown_cell("# A lesson", id="intro"),
        new_code_cell("plt.show()", id="fig", metadata={"tags": ["keep-me"]},
                      outputs=[new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"})]),
        new_code_cell("print(1)", id="plain", outputs=[new_output("stream", name="stdout", text="1\n")]),
        new_code_cell("plt.show()", id="fig2",
                      outputs=[new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"})]),
    ])
    (root / "lessons").mkdir(exist_ok=True)
    (root / "book").mkdir(exist_ok=True)
    path = root / "lessons" / "01_a.ipynb"
    nbformat.write(nb, path)
    (root / "book" / "alt_text.json").write_text(json.dumps(texts), encoding="utf-8")
    return path


FIG = "Health (USDT) against the mark price: it falls to zero at the liquidation price, 54,468 USDT."
FIG2 = "Maintenance margin against position size (USDT, log-log): the step form jumps at each boundary."


def test_check_names_a_figure_without_alt_text_and_every_stale_entry(tmp_path):
    path = write_course(tmp_path, {"lessons/01_a.ipynb": {"fig": FIG, "plain": FIG2, "gone": FIG2},
                                   "lessons/02_missing.ipynb": {"x": FIG}})
    result = run("--check", "--root", tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "lessons/01_a.ipynb cell fig: alt text not written into the notebook (run python book/alt_text.py)",
        "lessons/01_a.ipynb cell fig2: a figure with no alt text (add it to book/alt_text.json)",
        "book/alt_text.json: lessons/01_a.ipynb cell plain shows no figure (a stale entry)",
        "book/alt_text.json: lessons/01_a.ipynb has no cell gone (a stale entry)",
        "book/alt_text.json: no notebook lessons/02_missing.ipynb (a stale entry)",
    ]
    before = path.read_text(encoding="utf-8")
    assert run("--check", "--root", tmp_path).returncode == 1 and path.read_text(encoding="utf-8") == before  # wrote nothing

    result = run("--root", tmp_path)  # writes what it can, still reports the rest
    assert result.returncode == 1 and "fig2: a figure with no alt text" in result.stderr
    cells = {c["id"]: c for c in notebook(path)["cells"]}
    assert alt(cells["fig"]) == FIG and cells["fig"]["metadata"]["tags"] == ["keep-me"]
    assert alt(cells["plain"]) is None and alt(cells["fig2"]) is None

    write_course(tmp_path, {"lessons/01_a.ipynb": {"fig": FIG, "fig2": FIG2}})
    assert run("--root", tmp_path).returncode == 0
    result = run("--check", "--root", tmp_path)
    assert result.returncode == 0 and not result.stderr, result.stderr
    cells = {c["id"]: c for c in notebook(path)["cells"]}
    assert (alt(cells["fig"]), alt(cells["fig2"])) == (FIG, FIG2)


def test_check_catches_a_figure_added_after_its_notebook_was_described(tmp_path):
    path = write_course(tmp_path, {"lessons/01_a.ipynb": {"fig": FIG, "fig2": FIG2}})
    assert run("--root", tmp_path).returncode == 0
    nb = nbformat.read(path, as_version=4)
    nb.cells[2].outputs.append(new_output("display_data", data={"image/png": PNG}))  # "plain" now draws too
    nbformat.write(nb, path)
    result = run("--check", "--root", tmp_path)
    assert result.returncode == 1 and "cell plain: a figure with no alt text" in result.stderr


def test_bad_input_is_named(tmp_path):
    result = run("--check", "--root", tmp_path / "nowhere")
    assert result.returncode == 2 and "--root must be a repository holding book/alt_text.json" in result.stderr
    write_course(tmp_path, {"lessons/01_a.ipynb": {"fig": "x" * 201}})
    result = run("--check", "--root", tmp_path)
    assert result.returncode == 1 and "lessons/01_a.ipynb cell fig: the alt text must be one non-empty line of at most 200" \
        in result.stderr
    (tmp_path / "book" / "alt_text.json").write_text('["not", "a map"]', encoding="utf-8")
    result = run("--check", "--root", tmp_path)
    assert result.returncode == 1 and "must map each notebook path to an object of cell id → alt text" in result.stderr
    (tmp_path / "book" / "alt_text.json").write_text("{", encoding="utf-8")
    assert "is not valid JSON" in run("--check", "--root", tmp_path).stderr
    old = new_notebook(cells=[new_code_cell("1")])
    old.nbformat_minor = 4
    del old.cells[0]["id"]
    (tmp_path / "lessons" / "02_old.ipynb").write_text(json.dumps(old), encoding="utf-8")
    (tmp_path / "book" / "alt_text.json").write_text("{}", encoding="utf-8")
    result = run("--check", "--root", tmp_path)
    assert result.returncode == 1 and "lessons/02_old.ipynb: cell 1 has no id (cell ids need nbformat 4.5" in result.stderr


# ---------------------------------------------------------------- the built site
class Images(Page):
    """A page's ``<img>`` tags: (src, alt) each."""

    def __init__(self, path: Path) -> None:
        self.imgs: list[tuple[str | None, str | None]] = []
        super().__init__(path)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        super().handle_starttag(tag, attrs)
        if tag == "img":
            a = dict(attrs)
            self.imgs.append((a.get("src"), a.get("alt")))


def test_the_sites_figures_carry_their_alt_text():
    """Each lesson page's notebook figures carry, in order, the texts of ``alt_text.json``; no image of
    any page falls back to its file name (what Sphinx writes when a figure has no alt text)."""
    site = built_site()
    texts = json.loads(ALT_TEXT.read_text(encoding="utf-8"))
    for p in LESSONS:
        described = texts.get(f"lessons/{p.name}", {})
        expected = [described.get(c["id"]) for c in figure_cells(notebook(p)) for o in c["outputs"]
                    if "image/png" in o.get("data", {})]
        shown = [a for src, a in Images(site / "lessons" / f"{p.stem}.html").imgs if src.startswith("../_images/")]
        assert shown == expected and all(expected), p.name
    named = [f"{page.relative_to(site)}: {src}" for page in pages(site) for src, a in Images(page).imgs
             if not a or a == src or a.endswith((".png", ".svg", ".jpg"))]
    assert not named, named[:10]
