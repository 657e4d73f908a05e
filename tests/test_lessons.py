"""The committed lesson notebooks: each explorer cell keeps a static figure, and notebooks stay small."""

import base64
import json
from pathlib import Path

import pytest

LESSONS = sorted((Path(__file__).parents[1] / "lessons").glob("[0-9][0-9]_*.ipynb"))


def explorer_cells(path: Path) -> list[dict]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [c for c in cells if c["cell_type"] == "code" and "Explorer(" in "".join(c["source"])]


def test_there_are_seven_lessons():
    assert [p.name[:2] for p in LESSONS] == ["01", "02", "03", "04", "05", "06", "07"]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_the_explorer_cell_shows_a_static_figure_where_widgets_do_not_render(path):
    (cell,) = explorer_cells(path)
    assert "nbval-ignore-output" in cell["metadata"].get("tags", [])
    (output,) = [o for o in cell["outputs"] if "image/png" in o.get("data", {})]  # the widget view is not saved
    png = base64.b64decode(output["data"]["image/png"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5_000  # a real figure, not an empty canvas
    assert "static figure" in "".join(output["data"]["text/plain"])


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_a_notebook_with_outputs_stays_under_2_mb(path):
    assert path.stat().st_size <= 2_000_000
