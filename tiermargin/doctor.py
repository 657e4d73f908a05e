"""Install checker for the course: ``python -m tiermargin.doctor [--lessons DIR]``.

Prints one line per check, ``✓`` (fine), ``✗`` (a problem) or ``!`` (a warning), with a
concrete fix under every problem, then a summary line. The exit code is 0 for a healthy
install (warnings allowed) and 1 when any problem was found.

The checks: the Python version; JupyterLab; ipywidgets and its JupyterLab extension;
ipympl and its JupyterLab extension; that ``%matplotlib widget`` can load its backend; the
``MPLBACKEND`` environment variable; and, per lesson notebook, that its imports work.

Nothing here is imported by ``import tiermargin``. With the default importer the checks
import the packages they check (JupyterLab, ipywidgets, ipympl, matplotlib, the lessons'
imports), so run the doctor as its own process rather than inside a notebook or a test run.

>>> print(format_check(Check("ipywidgets", False, "not importable", "python -m pip install ipywidgets")))
✗ ipywidgets: not importable
    fix: python -m pip install ipywidgets
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

# Mirrors ``requires-python = ">=3.10"`` in pyproject.toml; keep the two in step.
REQUIRES_PYTHON: tuple[int, int] = (3, 10)

#: Where the course's lessons, pins and Makefile live when the package runs from the repository.
SOURCE_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_LESSONS = SOURCE_ROOT / "lessons"
DEFAULT_REQUIREMENTS = SOURCE_ROOT / "binder" / "requirements.txt"

WIDGETS_EXTENSION = "@jupyter-widgets/jupyterlab-manager"
IPYMPL_EXTENSION = "jupyter-matplotlib"
IPYMPL_BACKEND = "module://ipympl.backend_nbagg"
MAKE_LAB = "run `make lab` in the repository, which builds a complete environment"

Level = Literal["error", "warning"]
Importer = Callable[[str], Any]


class Check(NamedTuple):
    """The outcome of one check.

    Attributes
    ----------
    name : str
        What was checked, e.g. ``"ipywidgets"`` or ``"lesson 01_mark_price.ipynb"``.
    ok : bool
        Whether the check passed.
    detail : str
        What was found (a version, a path, or what went wrong).
    fix : str or None
        A concrete command or step that fixes a failed check; ``None`` when it passed.
    level : {"error", "warning"}
        How a failure counts: an ``"error"`` is a problem (exit code 1), a ``"warning"`` is
        reported with ``!`` but leaves the install healthy.
    """

    name: str
    ok: bool
    detail: str
    fix: str | None = None
    level: Level = "error"

    @property
    def problem(self) -> bool:
        """True when the check failed at level ``"error"``."""
        return not self.ok and self.level == "error"


class Pin(NamedTuple):
    """A pinned requirement: the name as spelled in the requirements file and its version."""

    name: str
    version: str


class ImportStatement(NamedTuple):
    """One top-level import of a notebook: ``import module`` or ``from module import names``."""

    module: str
    names: tuple[str, ...]
    source: str


# -- helpers -----------------------------------------------------------------------------------


def normalize(name: str) -> str:
    """Normalize a distribution name (PEP 503).

    >>> normalize("JupyterLab_Widgets")
    'jupyterlab-widgets'
    """
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(path: Path) -> dict[str, Pin]:
    """Read ``name==version`` lines of a requirements file; an absent file gives ``{}``.

    Parameters
    ----------
    path : Path
        A pip requirements file such as ``binder/requirements.txt``.

    Returns
    -------
    dict of str to Pin
        Keyed by normalized distribution name.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return {}
    pins = {}
    for line in text.splitlines():
        requirement = line.split("#", 1)[0].split(";", 1)[0].strip()
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*==\s*(\S+)", requirement)
        if match:
            pins[normalize(match[1])] = Pin(match[1], match[3])
    return pins


# Used instead of the pins when no requirements file is found (an install without the repository).
_KNOWN_DEPENDENCIES = {"numpy", "matplotlib", "ipywidgets", "ipympl", "jupyterlab", "jupyterlab-widgets", "ipython"}

# Top-level modules whose distribution is named differently.
_DISTRIBUTIONS = {
    "PIL": "pillow",
    "yaml": "PyYAML",
    "dateutil": "python-dateutil",
    "zmq": "pyzmq",
    "IPython": "ipython",
}


def install_command(module: str, pins: Mapping[str, Pin], options: str = "") -> str:
    """The command that installs the distribution providing ``module``.

    Parameters
    ----------
    module : str
        A module name; only its top-level package matters.
    pins : mapping of str to Pin
        Pinned versions from :func:`read_pins`; unpinned when the distribution is not there.
    options : str, optional
        pip options placed before the requirement, e.g. ``"--force-reinstall --no-deps"``.

    Examples
    --------
    >>> install_command("ipywidgets.widgets", {"ipywidgets": Pin("ipywidgets", "8.1.9")})
    'python -m pip install ipywidgets==8.1.9'
    >>> install_command("PIL.Image", {})
    'python -m pip install pillow'
    """
    top = module.split(".", 1)[0]
    dist = _DISTRIBUTIONS.get(top, top)
    pin = pins.get(normalize(dist))
    requirement = f"{pin.name}=={pin.version}" if pin else dist
    return " ".join(["python -m pip install", *options.split(), requirement])


def fix_for_missing(module: str, pins: Mapping[str, Pin]) -> str:
    """The fix for a module that cannot be imported.

    The course package itself is reinstalled from the checkout; a pinned dependency is installed
    at its pin; anything else is not a course dependency, so the advice is to check the name and
    build the complete environment rather than to install an unknown name from PyPI.
    """
    top = module.split(".", 1)[0]
    if top == "tiermargin":
        return "python -m pip install --no-deps -e . (in the repository root, so package and lessons match)"
    known = pins.keys() if pins else _KNOWN_DEPENDENCIES
    if normalize(_DISTRIBUTIONS.get(top, top)) not in known:
        return f"`{top}` is not a course dependency: check the lesson for a typo, or {MAKE_LAB}"
    return install_command(module, pins)


def fix_for_error(error: BaseException, module: str, pins: Mapping[str, Pin]) -> str:
    """The fix for ``import module`` raising ``error``.

    An ImportError is about a missing module, possibly a dependency (see :func:`fix_for_missing`);
    matplotlib's ValueError about its backend comes from ``MPLBACKEND``; any other exception
    means the package is installed but broken, so it is reinstalled.

    >>> fix_for_error(ValueError("Key backend: 'foo' is not a valid value"), "matplotlib.pyplot", {})
    'unset MPLBACKEND (or set it to a valid backend, see the MPLBACKEND line)'
    """
    if isinstance(error, ImportError):
        return fix_for_missing(missing_name(error, module), pins)
    if isinstance(error, ValueError) and "backend" in str(error):
        return "unset MPLBACKEND (or set it to a valid backend, see the MPLBACKEND line)"
    if module.split(".", 1)[0] == "tiermargin":
        return fix_for_missing(module, pins)
    return f"it is installed but fails on import; reinstall: {install_command(module, pins, '--force-reinstall')}"


def missing_name(error: BaseException, default: str) -> str:
    """The module an ImportError is about (it may be a dependency of the one imported)."""
    name = getattr(error, "name", None) if isinstance(error, ImportError) else None
    return name or default


def try_import(module: str, importer: Importer) -> tuple[Any | None, BaseException | None]:
    """Import ``module`` with warnings silenced; return ``(module, None)`` or ``(None, error)``.

    Any exception is caught, not only ImportError: a package that crashes on import is as
    broken as a missing one.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return importer(module), None
    except Exception as error:  # noqa: BLE001 - reported to the user, with its type
        return None, error


def describe(error: BaseException, limit: int = 120) -> str:
    """``"Type: message"`` for an exception, the message cut to ``limit`` characters.

    >>> describe(ModuleNotFoundError("No module named 'x'"))
    "ModuleNotFoundError: No module named 'x'"
    """
    message = str(error).replace("\n", " ")
    if len(message) > limit:
        message = message[: limit - 1] + "…"
    return f"{type(error).__name__}: {message}"


def version_of(module: Any, distribution: str) -> str:
    """A module's ``__version__``, else its distribution's installed version, else ``"?"``."""
    version = getattr(module, "__version__", None)
    if isinstance(version, str):
        return version
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "?"


# -- the checks --------------------------------------------------------------------------------


def check_python(version: Sequence[int], executable: str) -> Check:
    """Check the interpreter against :data:`REQUIRES_PYTHON`."""
    shown = ".".join(str(part) for part in version[:3])
    needed = ".".join(str(part) for part in REQUIRES_PYTHON)
    if tuple(version[:2]) >= REQUIRES_PYTHON:
        return Check("Python", True, f"{shown} ({executable})")
    return Check(
        "Python",
        False,
        f"{shown} ({executable}); the course needs Python >= {needed}",
        f"install Python >= {needed}, then `make clean && make lab PYTHON=python3.12` (any Python >= {needed})",
    )


def check_package(name: str, importer: Importer, pins: Mapping[str, Pin], distribution: str | None = None) -> Check:
    """Check that ``name`` imports, reporting its version."""
    module, error = try_import(name, importer)
    if error is None:
        return Check(name, True, version_of(module, distribution or name))
    missing = missing_name(error, name)
    detail = f"not importable ({describe(error)})"
    if missing != name:
        detail = f"not importable: it needs {missing}, which is missing ({describe(error)})"
    return Check(name, False, detail, fix_for_error(error, name, pins))


def find_labextension(extension: str, search_path: Iterable[Path]) -> Path | None:
    """The first directory named ``extension`` under the lab-extension search path, if any."""
    for base in search_path:
        candidate = Path(base) / extension
        if candidate.is_dir():
            return candidate
    return None


def extension_version(directory: Path) -> str:
    """The ``version`` in an extension's ``package.json`` (``"?"`` when unreadable)."""
    try:
        return str(json.loads((directory / "package.json").read_text(encoding="utf-8"))["version"])
    except (OSError, ValueError, KeyError, TypeError):
        return "?"


def check_labextension(
    label: str,
    extension: str,
    search_path: Sequence[Path],
    provider: str,
    importer: Importer,
    pins: Mapping[str, Pin],
) -> Check:
    """Check that a JupyterLab extension is installed and its Python package imports.

    Parameters
    ----------
    label : str
        Name of the check, e.g. ``"ipywidgets lab extension"``.
    extension : str
        The extension's directory name under a ``labextensions`` folder.
    search_path : sequence of Path
        The ``labextensions`` folders JupyterLab reads.
    provider : str
        The Python package that ships the extension (reinstalling it restores the files).
    importer, pins
        As for :func:`run_checks`.
    """
    verify = f"; then `jupyter labextension list` should show {extension} as enabled"
    _, error = try_import(provider, importer)
    if error is not None:
        return Check(
            label,
            False,
            f"{provider} (which ships {extension}) is not importable ({describe(error)})",
            install_command(provider, pins) + verify,
        )
    found = find_labextension(extension, search_path)
    if found is None:
        searched = ", ".join(str(p) for p in search_path) or "(no labextensions folders)"
        return Check(
            label,
            False,
            f"{extension} not found in {searched}",
            install_command(provider, pins, "--force-reinstall --no-deps") + verify,
        )
    return Check(label, True, f"{extension} {extension_version(found)} ({found})")


def labextension_path(importer: Importer) -> list[Path]:
    """JupyterLab's lab-extension search path (``jupyter_path('labextensions')``), or ``[]``."""
    paths, _ = try_import("jupyter_core.paths", importer)
    try:
        return [Path(p) for p in paths.jupyter_path("labextensions")]
    except Exception:  # noqa: BLE001 - jupyter_core missing or broken: nothing is found, which is reported
        return []


def check_widget_backend(importer: Importer, pins: Mapping[str, Pin]) -> Check:
    """Check that ``%matplotlib widget`` can load ipympl's backend through matplotlib."""
    label = "%matplotlib widget"
    matplotlib, error = try_import("matplotlib", importer)
    if error is not None:
        return Check(label, False, f"matplotlib is not importable ({describe(error)})", fix_for_error(error, "matplotlib", pins))
    backends, _ = try_import("matplotlib.backends", importer)
    registry = getattr(backends, "backend_registry", None)  # matplotlib >= 3.9
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if registry is not None:
                module = registry.load_backend_module(IPYMPL_BACKEND)
            else:
                module = importer(IPYMPL_BACKEND.removeprefix("module://"))
    except Exception as error:  # noqa: BLE001 - reported to the user
        return Check(label, False, f"cannot load {IPYMPL_BACKEND} ({describe(error)})", fix_for_error(error, "ipympl", pins))
    if not hasattr(module, "FigureCanvas"):
        return Check(
            label,
            False,
            f"{IPYMPL_BACKEND} loaded but defines no FigureCanvas (an ipympl/matplotlib version mismatch?)",
            f"{install_command('ipympl', pins)} and {install_command('matplotlib', pins)}",
        )
    return Check(label, True, f"matplotlib {version_of(matplotlib, 'matplotlib')} loads {IPYMPL_BACKEND}")


_NOTEBOOK_BACKENDS = {
    "inline",
    "widget",
    "ipympl",
    "module://matplotlib_inline.backend_inline",
    IPYMPL_BACKEND,
}
_FILE_BACKENDS = {"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"}
_GUI_BACKENDS = {"macosx", "nbagg", "notebook", "webagg", "wx", "wxagg", "wxcairo"}
_GUI_PREFIXES = ("gtk", "qt", "tk")


def check_mplbackend(environ: Mapping[str, str], importer: Importer) -> Check:
    """Check the ``MPLBACKEND`` environment variable against notebook use.

    Unset or a notebook backend is fine. A file backend such as Agg (``make test`` sets it) or a
    desktop backend is a warning: figures are not shown inline until a lesson runs
    ``%matplotlib widget`` or ``inline``. A name matplotlib does not know is a problem, since
    then ``import matplotlib`` itself raises.
    """
    label = "MPLBACKEND"
    value = environ.get("MPLBACKEND", "")
    fix = "unset MPLBACKEND before starting Jupyter (`make test` sets MPLBACKEND=Agg for its own run only)"
    if not value:
        return Check(label, True, "not set (Jupyter shows figures inline; the lessons switch to %matplotlib widget)")
    if value.startswith("module://"):
        if value in _NOTEBOOK_BACKENDS:
            return Check(label, True, f"{value} (a notebook backend)")
        _, error = try_import(value.removeprefix("module://"), importer)
        if error is not None:
            return Check(label, False, f"{value} cannot be imported ({describe(error)}), so plotting fails", fix)
        return Check(label, False, f"{value} is not a notebook backend: figures may not show inline", fix, "warning")
    name = value.lower()
    if name in _NOTEBOOK_BACKENDS:
        return Check(label, True, f"{value} (a notebook backend)")
    if name in _FILE_BACKENDS:
        return Check(label, False, f"{value} draws to files only: figures are not shown inline", fix, "warning")
    if name in _GUI_BACKENDS or name.startswith(_GUI_PREFIXES):
        return Check(label, False, f"{value} is a desktop/classic-notebook backend, not for JupyterLab", fix, "warning")
    unset = "unset MPLBACKEND (or set it to a backend matplotlib knows, e.g. `inline`)"
    return Check(label, False, f"{value!r} is not a matplotlib backend: `import matplotlib` raises ValueError", unset)


# -- lessons -----------------------------------------------------------------------------------

# Cell magics whose body is still Python (other cell magics, e.g. %%bash, are skipped).
_PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun"}


def strip_magics(source: str) -> str | None:
    """Blank out IPython magic and shell lines (``%...``, ``!...``) of a code cell.

    Returns ``None`` for a cell whose cell magic makes it something other than Python.

    >>> strip_magics("%matplotlib widget\\nimport numpy as np\\n!pip list")
    '\\nimport numpy as np\\n'
    >>> strip_magics("%%bash\\nls") is None
    True
    """
    first = source.lstrip().split("\n", 1)[0]
    if first.startswith("%%"):
        magic = first[2:].split(maxsplit=1)
        if not magic or magic[0] not in _PYTHON_CELL_MAGICS:
            return None
    lines = source.split("\n")
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in lines)


def _imports_of(tree: ast.Module, code: str) -> list[ImportStatement]:
    found = []
    for node in tree.body:
        text = ast.get_source_segment(code, node) or ""
        if isinstance(node, ast.Import):
            found += [ImportStatement(alias.name, (), text) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module not in (None, "__future__"):
            names = tuple(alias.name for alias in node.names if alias.name != "*")
            found.append(ImportStatement(node.module, names, text))
    return found


def cell_imports(source: str) -> list[ImportStatement]:
    """The top-level import statements of one code cell.

    A cell that does not parse even with magics removed (e.g. ``x = !ls``) falls back to
    parsing its ``import``/``from`` lines one by one.

    >>> [i.module for i in cell_imports("%matplotlib widget\\nimport numpy as np\\nfrom a.b import c, d")]
    ['numpy', 'a.b']
    >>> cell_imports("files = !ls\\nimport json")[0].source
    'import json'
    """
    code = strip_magics(source)
    if code is None:
        return []
    try:
        return _imports_of(ast.parse(code), code)
    except SyntaxError:
        found = []
        for line in code.split("\n"):
            if re.match(r"(import|from)\s", line):
                try:
                    found += _imports_of(ast.parse(line), line)
                except SyntaxError:
                    continue
        return found


def notebook_imports(notebook: Path) -> list[ImportStatement]:
    """The distinct top-level imports of a notebook's code cells, in order (read with ``json``).

    Raises
    ------
    OSError, ValueError
        When the file cannot be read or is not notebook JSON.
    """
    data = json.loads(notebook.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise ValueError("not a notebook (no 'cells' list)")
    seen: dict[tuple[str, tuple[str, ...]], ImportStatement] = {}
    for cell in data["cells"]:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        for statement in cell_imports(source):
            seen.setdefault((statement.module, statement.names), statement)
    return list(seen.values())


def import_error(statement: ImportStatement, importer: Importer) -> tuple[str, BaseException] | None:
    """Try one import statement; ``None`` when it works, else ``(module that failed, error)``."""
    module, error = try_import(statement.module, importer)
    if error is not None:
        return statement.module, error
    for name in statement.names:
        if hasattr(module, name):
            continue
        _, error = try_import(f"{statement.module}.{name}", importer)
        if error is not None:
            if isinstance(error, ModuleNotFoundError) and error.name == f"{statement.module}.{name}":
                error = ImportError(f"cannot import name {name!r} from {statement.module!r}", name=statement.module)
            return f"{statement.module}.{name}", error
    return None


def check_lesson(notebook: Path, importer: Importer, pins: Mapping[str, Pin]) -> Check:
    """Check that every top-level import of one lesson notebook works."""
    label = f"lesson {notebook.name}"
    try:
        statements = notebook_imports(notebook)
    except (OSError, ValueError) as error:
        return Check(label, False, f"cannot read the notebook ({describe(error)})", f"restore it: git checkout -- {notebook}")
    failures, fixes = [], []
    for statement in statements:
        result = import_error(statement, importer)
        if result is not None:
            module, error = result
            failures.append(f"`{statement.source}` fails ({describe(error)})")
            fix = fix_for_error(error, module, pins)
            if fix not in fixes:
                fixes.append(fix)
    if failures:
        return Check(label, False, "; ".join(failures), "; ".join(fixes))
    modules = ", ".join(dict.fromkeys(s.module for s in statements)) or "no imports"
    return Check(label, True, f"imports work ({modules})")


def check_lessons(lessons: Path, importer: Importer, pins: Mapping[str, Pin]) -> list[Check]:
    """One check per ``*.ipynb`` in ``lessons``, or a single warning when there is none."""
    fix = "pass --lessons DIR pointing at the course's lessons/ folder (in a clone of the course repository)"
    if not lessons.is_dir():
        return [Check("lessons", False, f"no lessons directory at {lessons}; lesson imports not checked", fix, "warning")]
    notebooks = sorted(lessons.glob("*.ipynb"))
    if not notebooks:
        return [Check("lessons", False, f"no *.ipynb notebooks in {lessons}; lesson imports not checked", fix, "warning")]
    return [check_lesson(notebook, importer, pins) for notebook in notebooks]


# -- running -----------------------------------------------------------------------------------


def run_checks(
    lessons: Path | str | None = None,
    *,
    importer: Importer = importlib.import_module,
    labextension_paths: Sequence[Path | str] | None = None,
    pins: Mapping[str, Pin] | None = None,
    environ: Mapping[str, str] | None = None,
    python_version: Sequence[int] | None = None,
) -> list[Check]:
    """Run every check and return the results, printing nothing.

    Parameters
    ----------
    lessons : Path or str, optional
        Folder of lesson notebooks; default ``lessons/`` next to the package source. A missing
        folder gives a warning, not an error.
    importer : callable, optional
        ``importer(name)`` imports and returns a module, raising ImportError when it cannot;
        default :func:`importlib.import_module`. Tests pass a fake to simulate missing packages.
    labextension_paths : sequence of Path, optional
        The folders searched for JupyterLab extensions; default
        ``jupyter_core.paths.jupyter_path("labextensions")``.
    pins : mapping of str to Pin, optional
        Pinned versions used in fix commands; default read from ``binder/requirements.txt`` next
        to the package source (unpinned commands when that file is absent).
    environ : mapping, optional
        Environment variables (for ``MPLBACKEND``); default ``os.environ``.
    python_version : sequence of int, optional
        Default ``sys.version_info``.

    Returns
    -------
    list of Check
        In the order they are printed.
    """
    pins = read_pins(DEFAULT_REQUIREMENTS) if pins is None else pins
    if labextension_paths is None:
        search_path = labextension_path(importer)
    else:
        search_path = [Path(p) for p in labextension_paths]
    return [
        check_python(sys.version_info if python_version is None else python_version, sys.executable),
        check_package("jupyterlab", importer, pins),
        check_package("ipywidgets", importer, pins),
        check_labextension("ipywidgets lab extension", WIDGETS_EXTENSION, search_path, "jupyterlab_widgets", importer, pins),
        check_package("ipympl", importer, pins),
        check_labextension("ipympl lab extension", IPYMPL_EXTENSION, search_path, "ipympl", importer, pins),
        check_widget_backend(importer, pins),
        check_mplbackend(os.environ if environ is None else environ, importer),
        *check_lessons(DEFAULT_LESSONS if lessons is None else Path(lessons), importer, pins),
    ]


def _symbols(encoding: str | None) -> dict[str, str]:
    """Status marks, in ASCII when the output encoding cannot show ✓ and ✗ (e.g. cp1252)."""
    try:
        "✓✗".encode(encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return {"ok": "+", "error": "x", "warning": "!"}
    return {"ok": "✓", "error": "✗", "warning": "!"}


def format_check(check: Check, encoding: str | None = "utf-8") -> str:
    """One line for a check, plus an indented ``fix:`` line when it failed."""
    marks = _symbols(encoding)
    line = f"{marks['ok' if check.ok else check.level]} {check.name}: {check.detail}"
    if not check.ok and check.fix:
        line += f"\n    fix: {check.fix}"
    return line


def summary(checks: Sequence[Check]) -> str:
    """The closing line: ``healthy install`` or ``N problem(s) found``, with any warnings.

    >>> summary([Check("a", True, ""), Check("b", False, "", "x", "warning")])
    'healthy install (1 warning(s))'
    >>> summary([Check("a", False, "", "x")])  # doctest: +ELLIPSIS
    '1 problem(s) found: apply the fixes above, or run `make lab` ...'
    """
    problems = sum(check.problem for check in checks)
    warned = sum(not check.ok and check.level == "warning" for check in checks)
    text = f"{problems} problem(s) found" if problems else "healthy install"
    if warned:
        text += f" ({warned} warning(s))"
    return f"{text}: apply the fixes above, or {MAKE_LAB}" if problems else text


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: print the checks and a summary; return 0 when healthy, else 1."""
    parser = argparse.ArgumentParser(
        prog="python -m tiermargin.doctor",
        description="Check that Python, JupyterLab, ipywidgets, ipympl and the lessons' imports work.",
    )
    parser.add_argument("--lessons", metavar="DIR", type=Path, help=f"lesson notebooks folder (default: {DEFAULT_LESSONS})")
    args = parser.parse_args(argv)
    checks = run_checks(args.lessons)
    encoding = getattr(sys.stdout, "encoding", None)
    for check in checks:
        print(format_check(check, encoding))
    print(summary(checks))
    return 1 if any(check.problem for check in checks) else 0


if __name__ == "__main__":
    raise SystemExit(main())
