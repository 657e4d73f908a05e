"""Tests of the install checker ``python -m tiermargin.doctor``.

The real environment is checked in subprocesses (the doctor imports JupyterLab, ipympl and
matplotlib, which must not change this test process); missing packages and extensions are
simulated through ``run_checks``' hooks or ``sys.modules[name] = None``.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from tiermargin.doctor import (
    DEFAULT_REQUIREMENTS,
    IPYMPL_EXTENSION,
    WIDGETS_EXTENSION,
    Check,
    Pin,
    cell_imports,
    check_mplbackend,
    format_check,
    notebook_imports,
    read_pins,
    run_checks,
    summary,
)

REPO = Path(__file__).resolve().parents[1]
PINS = read_pins(DEFAULT_REQUIREMENTS)


def doctor(*args: str, code: str | None = None) -> subprocess.CompletedProcess:
    """Run the doctor in a fresh interpreter, without MPLBACKEND (``make test`` sets Agg)."""
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env["PYTHONIOENCODING"] = "utf-8"
    command = ["-c", code] if code else ["-m", "tiermargin.doctor", *args]
    return subprocess.run(
        [sys.executable, *command], cwd=REPO, env=env, capture_output=True, text=True, encoding="utf-8", timeout=300
    )


def fake_importer(*missing: str):
    """An importer where every module exists except ``missing`` (and their submodules)."""

    def importer(name: str):
        for gone in missing:
            if name == gone or name.startswith(gone + "."):
                raise ModuleNotFoundError(f"No module named {gone!r}", name=gone)
        return SimpleNamespace(__version__="1.0", FigureCanvas=object)

    return importer


@pytest.fixture
def labext(tmp_path: Path) -> Path:
    """A labextensions folder holding both extensions the course needs."""
    root = tmp_path / "labextensions"
    for name, version in [(WIDGETS_EXTENSION, "5.0.16"), (IPYMPL_EXTENSION, "0.12.0")]:
        (root / name).mkdir(parents=True)
        (root / name / "package.json").write_text(json.dumps({"name": name, "version": version}))
    return root


def write_notebook(path: Path, *code_cells: str) -> Path:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": ["# A lesson\n", "import nothing_here\n"]}]
    for source in code_cells:
        lines = source.splitlines(keepends=True)
        cells.append({"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": lines})
    nb = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


def run(lessons: Path, labext: Path, *missing: str, pins=PINS, **kwargs) -> dict[str, Check]:
    importer = fake_importer(*missing)
    return by_name(
        run_checks(lessons, importer=importer, labextension_paths=[labext], pins=pins, environ={}, **kwargs)
    )


# -- the real environment, as students run it ---------------------------------------------------


def test_real_environment_is_healthy():
    result = doctor()
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == "healthy install"
    assert all(line.startswith("✓ ") for line in lines[:-1]), result.stdout
    assert any(line.startswith("✓ lesson 01_") for line in lines)
    assert "Traceback" not in result.stderr


def test_missing_ipywidgets_fails_with_pinned_fix():
    code = "import sys; sys.modules['ipywidgets'] = None; from tiermargin.doctor import main; raise SystemExit(main([]))"
    result = doctor(code=code)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("✗ ipywidgets:"))
    assert lines[index + 1].strip() == f"fix: python -m pip install ipywidgets=={PINS['ipywidgets'].version}"
    assert "problem(s) found" in lines[-1]


def test_broken_lesson_reported_by_the_cli(tmp_path: Path):
    write_notebook(tmp_path / "05_broken.ipynb", "%matplotlib widget\nimport json\nimport not_a_module_xyz\n")
    result = doctor("--lessons", str(tmp_path))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("✗ lesson 05_broken.ipynb:"))
    assert "not_a_module_xyz" in lines[index]
    assert lines[index + 1].strip().startswith("fix: ")
    assert lines[-1].startswith("1 problem(s) found")


def test_bad_lessons_path_is_a_warning_not_a_traceback(tmp_path: Path):
    result = doctor("--lessons", str(tmp_path / "no-such-dir"))
    assert result.returncode == 0
    assert "Traceback" not in result.stderr
    assert any(line.startswith("! lessons: no lessons directory") for line in result.stdout.splitlines())
    assert result.stdout.splitlines()[-1] == "healthy install (1 warning(s))"


def test_doctor_is_not_imported_with_the_package():
    code = (
        "import sys, tiermargin; "
        "loaded = [m for m in ('tiermargin.doctor', 'matplotlib', 'ipywidgets', 'ipympl') if m in sys.modules]; "
        "print(loaded)"
    )
    assert doctor(code=code).stdout.strip() == "[]"


# -- simulated problems, through the hooks --------------------------------------------------------


def test_all_present_is_healthy(tmp_path: Path, labext: Path):
    write_notebook(tmp_path / "01_ok.ipynb", "import numpy as np\nfrom tiermargin.widgets import X")
    checks = run(tmp_path, labext)
    assert all(check.ok for check in checks.values()), checks
    assert checks["lesson 01_ok.ipynb"].detail == "imports work (numpy, tiermargin.widgets)"
    assert checks["ipywidgets lab extension"].detail.startswith(f"{WIDGETS_EXTENSION} 5.0.16 (")
    assert summary(list(checks.values())) == "healthy install"


def test_missing_ipywidgets_hook(tmp_path: Path, labext: Path):
    checks = run(tmp_path, labext, "ipywidgets", pins={"ipywidgets": Pin("ipywidgets", "8.1.9")})
    assert checks["ipywidgets"].problem
    assert checks["ipywidgets"].fix == "python -m pip install ipywidgets==8.1.9"


def test_missing_ipympl_breaks_the_widget_backend(tmp_path: Path, labext: Path):
    checks = run(tmp_path, labext, "ipympl")
    for name in ["ipympl", "ipympl lab extension", "%matplotlib widget"]:
        assert checks[name].problem
        assert f"pip install ipympl=={PINS['ipympl'].version}" in checks[name].fix


def test_missing_ipywidgets_without_pins_is_unpinned(tmp_path: Path, labext: Path):
    checks = run(tmp_path, labext, "ipywidgets", pins={})
    assert checks["ipywidgets"].fix == "python -m pip install ipywidgets"


def test_missing_lab_extensions(tmp_path: Path):
    empty = tmp_path / "empty"
    empty.mkdir()
    checks = run(tmp_path, empty)
    widgets = checks["ipywidgets lab extension"]
    assert widgets.problem and WIDGETS_EXTENSION in widgets.detail
    assert "install" in widgets.fix and f"jupyterlab_widgets=={PINS['jupyterlab-widgets'].version}" in widgets.fix
    assert "jupyter labextension list" in widgets.fix
    ipympl = checks["ipympl lab extension"]
    assert ipympl.problem and f"ipympl=={PINS['ipympl'].version}" in ipympl.fix


def test_missing_jupyterlab_widgets_package(tmp_path: Path, labext: Path):
    checks = run(tmp_path, labext, "jupyterlab_widgets")
    assert checks["ipywidgets lab extension"].problem
    assert checks["ipywidgets lab extension"].fix.startswith("python -m pip install jupyterlab_widgets==")


def test_broken_lesson_hook(tmp_path: Path, labext: Path):
    write_notebook(tmp_path / "05_broken.ipynb", "%matplotlib widget\nimport not_a_module_xyz\n", "import numpy")
    checks = run(tmp_path, labext, "not_a_module_xyz")
    lesson = checks["lesson 05_broken.ipynb"]
    assert lesson.problem
    assert "`import not_a_module_xyz` fails" in lesson.detail
    assert "not a course dependency" in lesson.fix and "make lab" in lesson.fix


def test_lesson_missing_pinned_dependency_gets_pinned_fix(tmp_path: Path, labext: Path):
    write_notebook(tmp_path / "01.ipynb", "import numpy as np")
    lesson = run(tmp_path, labext, "numpy")["lesson 01.ipynb"]
    assert lesson.fix == f"python -m pip install numpy=={PINS['numpy'].version}"


def test_lesson_importing_a_missing_name(tmp_path: Path, labext: Path):
    write_notebook(tmp_path / "01.ipynb", "from tiermargin.widgets import Nope")
    lesson = run(tmp_path, labext, "tiermargin.widgets.Nope")["lesson 01.ipynb"]
    assert "cannot import name 'Nope' from 'tiermargin.widgets'" in lesson.detail
    assert "pip install --no-deps -e ." in lesson.fix


def test_unreadable_notebook(tmp_path: Path, labext: Path):
    (tmp_path / "01.ipynb").write_text("{not json")
    lesson = run(tmp_path, labext)["lesson 01.ipynb"]
    assert lesson.problem and "git checkout" in lesson.fix


def test_empty_lessons_directory_is_a_warning(tmp_path: Path, labext: Path):
    lessons = run(tmp_path, labext)["lessons"]
    assert not lessons.ok and lessons.level == "warning" and not lessons.problem


def test_old_python(tmp_path: Path, labext: Path):
    python = run(tmp_path, labext, python_version=(3, 9, 18))["Python"]
    assert python.problem and ">= 3.10" in python.detail and "make lab" in python.fix


# -- MPLBACKEND ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, ok, level",
    [
        ("", True, "error"),
        ("inline", True, "error"),
        ("module://ipympl.backend_nbagg", True, "error"),
        ("Agg", False, "warning"),
        ("QtAgg", False, "warning"),
        ("module://not_a_backend_xyz", False, "error"),
        ("no-such-backend", False, "error"),
    ],
)
def test_mplbackend(value: str, ok: bool, level: str):
    check = check_mplbackend({"MPLBACKEND": value}, fake_importer("not_a_backend_xyz"))
    assert (check.ok, check.level) == (ok, level)
    assert ok or "MPLBACKEND" in check.fix


# -- parsing and output ----------------------------------------------------------------------------


def test_notebook_imports(tmp_path: Path):
    nb = write_notebook(
        tmp_path / "n.ipynb",
        "%matplotlib widget\nimport numpy as np, os.path\n!pip list\nfrom a.b import (\n    c,\n    d,\n)\n",
        "from . import relative\nfrom __future__ import annotations\ndef f():\n    import inside_function\n",
        "files = !ls\nimport json\n",
        "%%bash\nimport not_python\n",
        "%%time\nimport timed\nimport numpy as np\n",
    )
    found = [(i.module, i.names) for i in notebook_imports(nb)]
    assert found == [("numpy", ()), ("os.path", ()), ("a.b", ("c", "d")), ("json", ()), ("timed", ())]


def test_cell_imports_keeps_source():
    assert [i.source for i in cell_imports("import numpy as np  # arrays\n%matplotlib inline")] == ["import numpy as np"]


def test_read_pins(tmp_path: Path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# comment\nFoo_Bar==1.2 ; python_version > '3'\nbaz[extra]==3.0  # pinned\nqux>=1\n-e .\n")
    assert read_pins(requirements) == {"foo-bar": Pin("Foo_Bar", "1.2"), "baz": Pin("baz", "3.0")}
    assert read_pins(tmp_path / "absent.txt") == {}


def test_format_check_falls_back_to_ascii():
    assert format_check(Check("x", True, "fine"), "cp1252") == "+ x: fine"
    assert format_check(Check("x", False, "bad", "do it"), "ascii") == "x x: bad\n    fix: do it"
    assert format_check(Check("x", False, "hm", "maybe", "warning")) == "! x: hm\n    fix: maybe"
