"""Exercise notebooks: the generation rule, the sync of student notebooks with their solutions
source, the ``--check`` command, the committed solutions outputs and a run of the student notebooks.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbclient
import nbformat
import pytest

from tiermargin.exercises import generate
from tiermargin.exercises.generate import render, strip_code, strip_markdown, student_version

EXERCISES = Path(__file__).resolve().parent.parent / "exercises"
SOLUTIONS = sorted((EXERCISES / "solutions").glob(generate.PATTERN))
STUDENTS = sorted(EXERCISES.glob(generate.PATTERN))
CHECK_CALL = re.compile(r"^ex\.check\((\d+)", re.MULTILINE)


def text_outputs(cell) -> str:
    return "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in cell.outputs)


# ---------------------------------------------------------------- the rule
def test_assignments_at_the_block_indentation_become_placeholders():
    src = "\n".join([
        "import math",
        "### BEGIN SOLUTION",
        "a = 1",
        "b = (a +",
        "     2)",
        "a = 3",
        "x, y = 1, 2",
        "a += 1",
        "if a:",
        "    c = 4",
        "def f():",
        "    d = 5",
        "### END SOLUTION",
        "ex.check(1, b)",
    ])
    assert strip_code(src) == "\n".join([
        "import math",
        "a = ...  # YOUR CODE HERE",
        "b = ...  # YOUR CODE HERE",
        "ex.check(1, b)",
    ])


def test_a_function_body_becomes_ellipsis_at_its_indentation():
    src = "def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n\nex.check(5, f)"
    assert strip_code(src) == "def f(x):\n    ...  # YOUR CODE HERE\n\nex.check(5, f)"
    src = "def f(x):\n    ### BEGIN SOLUTION\n    y = 2 * x\n    return y\n    ### END SOLUTION"
    assert strip_code(src) == "def f(x):\n    y = ...  # YOUR CODE HERE"
    namespace: dict = {}
    exec(strip_code(src), namespace)  # the generated code runs, and the function returns None
    assert namespace["f"](1) is None


def test_several_blocks_and_cells_without_markers():
    src = "### BEGIN SOLUTION\na = 1\n### END SOLUTION\nprint(a)\n### BEGIN SOLUTION\nb = 2\n### END SOLUTION"
    assert strip_code(src) == "a = ...  # YOUR CODE HERE\nprint(a)\nb = ...  # YOUR CODE HERE"
    assert strip_code("x = 1\nprint(x)") == "x = 1\nprint(x)"


def test_markdown_explanation_is_replaced():
    src = "**Question.** Why?\n\n### BEGIN SOLUTION\nBecause.\n\nReally.\n### END SOLUTION\n"
    assert strip_markdown(src) == "**Question.** Why?\n\n*Your answer here.*\n"


@pytest.mark.parametrize(
    "src, message",
    [
        ("### BEGIN SOLUTION\na = 1", "without its"),
        ("a = 1\n### END SOLUTION", "without a"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\na = 1\n### END SOLUTION", "without its"),
        ("### BEGIN SOLUTION\na = = 1\n### END SOLUTION", "not valid Python"),
    ],
)
def test_bad_markers_or_code_raise(src, message):
    with pytest.raises(ValueError, match=message):
        strip_code(src)


def test_student_version_clears_outputs_and_keeps_ids():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("### BEGIN SOLUTION\na = 1\n### END SOLUTION\na")
    cell.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "1"}, execution_count=1)]
    cell.execution_count = 1
    cell.metadata["execution"] = {"iopub.status.idle": "2024-01-01T00:00:00Z"}
    cell.metadata["tags"] = ["keep"]
    nb.cells = [nbformat.v4.new_markdown_cell("# Title"), cell]
    out = student_version(nb)
    c = out.cells[1]
    assert c.source == "a = ...  # YOUR CODE HERE\na"
    assert c.outputs == [] and c.execution_count is None
    assert c.metadata == {"tags": ["keep"]} and c.id == cell.id
    assert nb.cells[1].outputs  # the source notebook is not modified
    bad = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("### END SOLUTION")])
    with pytest.raises(ValueError, match="cell 1"):
        student_version(bad)


# ---------------------------------------------------------------- sync and --check
def test_there_is_a_student_notebook_per_solutions_notebook():
    assert SOLUTIONS, "no solutions notebooks"
    assert [p.name for p in STUDENTS] == [p.name for p in SOLUTIONS]


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.name)
def test_committed_student_notebook_equals_a_fresh_generation(solution):
    fresh = render(student_version(nbformat.read(solution, as_version=4)))
    committed = (EXERCISES / solution.name).read_text(encoding="utf-8")
    assert committed == fresh, f"exercises/{solution.name} is stale: run python -m tiermargin.exercises.generate"


def test_check_command_names_a_drifted_notebook_and_generate_fixes_it(tmp_path, capsys):
    root = tmp_path / "exercises"
    shutil.copytree(EXERCISES / "solutions", root / "solutions")
    for p in STUDENTS:
        shutil.copy(p, root / p.name)
    assert generate.main(["--check", str(root)]) == 0

    drifted = root / STUDENTS[0].name
    nb = nbformat.read(drifted, as_version=4)
    nb.cells[0].source += "\nan edit made in the student copy"
    nbformat.write(nb, drifted)
    assert generate.main(["--check", str(root)]) == 1
    assert f"{drifted} is out of date" in capsys.readouterr().err

    assert generate.main([str(root)]) == 0
    assert f"wrote {drifted}" in capsys.readouterr().out
    assert generate.main(["--check", str(root)]) == 0
    assert drifted.read_bytes() == STUDENTS[0].read_bytes()

    drifted.unlink()
    assert generate.main(["--check", str(root)]) == 1


def test_check_command_on_a_folder_without_solutions(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        generate.main(["--check", str(tmp_path)])
    assert e.value.code != 0 and "solutions/ subfolder" in capsys.readouterr().err


# ---------------------------------------------------------------- the notebooks themselves
@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.name)
def test_solutions_notebook_is_executed_and_every_check_is_correct(solution):
    nb = nbformat.read(solution, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    checked = []
    for cell in code:
        m = CHECK_CALL.search(cell.source)
        if m:
            n = int(m.group(1))
            checked.append(n)
            assert text_outputs(cell).startswith(f"Exercise {n} — correct"), cell.source
            assert generate.BEGIN in cell.source
    assert checked == list(range(1, len(checked) + 1)) and len(checked) >= 5


@pytest.mark.parametrize("student", STUDENTS, ids=lambda p: p.name)
def test_student_notebook_runs_and_every_check_is_not_attempted(student, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(student, as_version=4)
    assert generate.BEGIN not in student.read_text(encoding="utf-8")
    client = nbclient.NotebookClient(
        nb, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(EXERCISES)}}
    )
    client.execute()  # raises CellExecutionError on any error
    checks = [c for c in nb.cells if c.cell_type == "code" and CHECK_CALL.search(c.source)]
    assert len(checks) >= 5
    for cell in checks:
        out = text_outputs(cell)
        assert "— not attempted:" in out, out
        assert "— correct" not in out and "— wrong" not in out, out
