"""The committed notebooks are saved clean (``python -m tiermargin.notebooks``, ``make lessons``): no widget
state, run timestamps or widget views, so an HTML export shows each explorer's static figure, a re-run of
an unchanged notebook rewrites the same bytes and a cell edit is a small diff."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import nbformat
import pytest
from nbconvert import HTMLExporter

from tiermargin import notebooks
from tiermargin.exercises import generate

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "lessons").glob(generate.PATTERN))
COMMITTED = [*LESSONS, ROOT / "calculator" / "calculator.ipynb",
             *sorted((ROOT / "exercises" / "solutions").glob(generate.PATTERN)),
             *sorted((ROOT / "exercises").glob(generate.PATTERN))]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"  # spelled out: not taken from the code under test


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_every_kind_of_committed_notebook_is_checked():
    folders = {p.parent.relative_to(ROOT).as_posix() for p in COMMITTED}
    assert folders == {"lessons", "calculator", "exercises/solutions", "exercises"}


@pytest.mark.parametrize("path", COMMITTED, ids=_name)
def test_no_widget_state_timestamps_or_widget_views(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert "widgets" not in nb["metadata"], "widget state saved: run make lessons"
    for k, cell in enumerate(nb["cells"], start=1):
        assert "execution" not in cell["metadata"], f"cell {k} keeps its run timestamps: run make lessons"
        for output in cell.get("outputs", []):
            assert WIDGET_VIEW not in output.get("data", {}), f"cell {k} keeps a widget view: run make lessons"


@pytest.mark.parametrize("path", LESSONS, ids=_name)
def test_the_html_export_shows_each_explorers_static_figure(path):
    nb = nbformat.read(path, as_version=4)
    explorers = [c for c in nb.cells if c.cell_type == "code" and "Explorer(" in c.source]
    figures = [o.data["image/png"] for c in explorers for o in c.outputs if "image/png" in o.get("data", {})]
    assert explorers and len(figures) == len(explorers), "an explorer cell without its static figure"
    html, _ = HTMLExporter().from_notebook_node(nb)
    for png in figures:
        assert f"data:image/png;base64,{png}" in html


# ---------------------------------------------------------------- the tool, on a notebook of its own
def _write(path: Path, printed: str) -> None:
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = [
        nbformat.v4.new_markdown_cell("# A lesson"),
        nbformat.v4.new_code_cell("%matplotlib widget\nfrom tiermargin.widgets import MarkPriceExplorer\n\n"
                                  "MarkPriceExplorer()"),
        nbformat.v4.new_code_cell(f"for k in range(3):\n    print({printed!r}, k)\n"
                                  "with open('beside.txt') as f:  # the notebook runs in its own folder\n"
                                  "    print(f.read())"),
    ]
    for k, cell in enumerate(nb.cells):
        cell.id = f"cell-{k}"  # as a saved notebook has them
    nbformat.write(nb, path)


def test_a_rerun_rewrites_the_same_bytes_and_a_one_line_edit_is_a_small_diff(tmp_path, capsys):
    path = tmp_path / "lesson.ipynb"
    (tmp_path / "beside.txt").write_text("read from the notebook's folder", encoding="utf-8")
    _write(path, "a")
    assert notebooks.main([str(path)]) == 0
    first = path.read_text(encoding="utf-8")
    nb = json.loads(first)
    explorer, printer = nb["cells"][1], nb["cells"][2]
    (result,) = explorer["outputs"]
    assert sorted(result["data"]) == ["image/png", "text/plain"]  # the static figure, no widget view
    assert len(result["data"]["image/png"]) > 5_000
    assert [o["name"] for o in printer["outputs"]] == ["stdout"]  # the prints as one stream output
    assert "".join(printer["outputs"][0]["text"]) == "a 0\na 1\na 2\nread from the notebook's folder\n"

    assert notebooks.main([str(path)]) == 0
    assert path.read_text(encoding="utf-8") == first
    assert capsys.readouterr().out.count(f"{path}: unchanged") == 1

    nb = nbformat.read(path, as_version=4)
    nb.cells[2].source = nb.cells[2].source.replace("print('a', k)", "print('b', k)")
    nbformat.write(nb, path)
    assert notebooks.main([str(path)]) == 0
    changed = [line for line in difflib.unified_diff(first.splitlines(), path.read_text("utf-8").splitlines(),
                                                     lineterm="", n=0)
               if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    # the edited source line and the three printed lines, each removed and added
    assert len(changed) == 8, "\n".join(changed)


def test_a_failing_notebook_is_named_and_left_as_it_was(tmp_path, capsys):
    path = tmp_path / "broken.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 / 0")]), path)
    before = path.read_bytes()
    assert notebooks.main(["--timeout", "60", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}: a cell failed" in err and "ZeroDivisionError" in err
    assert path.read_bytes() == before


@pytest.mark.parametrize("argv, message", [
    (["missing.ipynb"], "NOTEBOOK 'missing.ipynb' does not exist"),
    (["Makefile"], "NOTEBOOK must be a .ipynb file"),
    (["--timeout", "0", "lessons/01_mark_price.ipynb"], "--timeout must be a positive number"),
    (["--timeout", "soon", "lessons/01_mark_price.ipynb"], "--timeout must be a positive number"),
])
def test_bad_arguments_are_named(argv, message, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    with pytest.raises(SystemExit) as e:
        notebooks.main(argv)
    assert e.value.code == 2 and message in capsys.readouterr().err
