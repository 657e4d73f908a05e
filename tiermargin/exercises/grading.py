"""The exercises as an nbgrader course: ``python -m tiermargin.exercises.grading COURSE_DIR [LESSON ...|all]``.

Writes ``COURSE_DIR/nbgrader_config.py`` (unless there is one: yours is kept) and, per lesson,
``COURSE_DIR/source/lessonNN/NN_slug.ipynb``: nbgrader's *source* version of the lesson's exercises,
built from ``exercises/solutions/NN_slug.ipynb`` (the single source, as for the student notebooks):

* every cell with a ``### BEGIN SOLUTION`` … ``### END SOLUTION`` region is an nbgrader solution
  cell (a written answer: graded by hand, :data:`WRITTEN_POINTS`); before each code region stand
  the lines the student sees, ``name = ...  # YOUR CODE HERE`` as in ``exercises/``, and nbgrader
  replaces the region itself with nothing (``ClearSolutions.code_stub`` in the config);
* after each exercise cell (the one ending with ``ex.check(n, ...)``) comes a read-only autograder
  test cell per answer — one per part of a several-part answer, the rows of the answer key —
  worth :data:`POINTS` each, ``grading.graded("NN").require(n, ...)``, which raises the checker's
  message unless the answer is correct;
* every other cell is read-only; the setup cell asks :func:`student_id` for the id to grade and
  switches derivations (``ex.show``) off.

As they are, the solutions notebooks fail ``nbgrader generate_assignment`` ("Solution region
detected in a non-solution cell"): nbgrader's markers are the same, but a region must sit in a
cell whose metadata marks it a solution cell (with a ``grade_id``), a written answer must be a
graded cell, and nothing there is graded. This command adds that metadata; it does not use
nbgrader itself. The instructor installs nbgrader in an environment of its own, with the course's
pins and tiermargin (nbgrader's JupyterLab and server extensions would otherwise reach the
students' JupyterLab)::

    python -m venv .venv-grading && . .venv-grading/bin/activate   # `make test` builds this one
    pip install -r binder/requirements.txt -r requirements-grading.txt && pip install --no-deps .

and runs nbgrader with that environment active (nbgrader runs ``alembic`` from its ``bin/``).

The student id. Each student's numbers follow their id. While students work, on the course hub,
it is their hub user name (the checker's default, ``JUPYTERHUB_USER``). ``nbgrader autograde`` runs
on the instructor's side, where that is the instructor, so there :func:`student_id` takes the id
nbgrader grades: nbgrader sets ``NBGRADER_EXECUTION=autograde`` in the grading kernels' environment
and runs each notebook in ``autograded/<student_id>/<assignment>/``, whose ``<student_id>`` is the
folder the submission was collected into — the hub user name again, with nbgrader's exchange. The
test cells build their own checker with that id, and nbgrader restores the setup and test cells
from the source before grading: a student who types another id into the notebook, or re-creates
``ex`` with one, is still graded on their own numbers (an answer right for someone else's numbers
scores 0). It is not a sandbox: student code runs in the grading kernel, and code written to
subvert the checker is found only by reading the submission.

Instructor steps (from the repository root, then in ``COURSE_DIR``)::

    python -m tiermargin.exercises.grading COURSE_DIR 02   # or all; `make grading`: all, into _build/nbgrader
    cd COURSE_DIR
    nbgrader generate_assignment lesson02     # release/lesson02/: the student version, solutions stripped
    nbgrader release_assignment lesson02      # nbgrader's exchange; or publish release/lesson02/ (nbgitpuller)
    nbgrader collect lesson02                 # or put each student's notebook in submitted/<student_id>/lesson02/
    nbgrader db student add <student_id>      # each student (or nbgrader db student import students.csv)
    nbgrader autograde lesson02               # runs each in autograded/<student_id>/lesson02/, the tests scored
    nbgrader formgrade                        # optional: grade the written answers by hand (a web app)
    nbgrader export                           # grades.csv: a row per assignment and student, score, max_score
    nbgrader generate_feedback lesson02       # optional: feedback/, each student's graded notebook as HTML

Keep nbgrader's default folder layout (``CourseDirectory.directory_structure`` and
``autograded_directory``): :func:`student_id` refuses to guess in another one. For the exchange
(``release_assignment``, ``collect``) set ``c.CourseDirectory.course_id`` in the config. The
student id of a copied submission is the name of its folder under ``submitted/``: use the hub
user names. After editing a source notebook, ``generate_assignment --force`` again.
"""

from __future__ import annotations

import argparse
import ast
import copy
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import nbformat

from .core import ExerciseSet, Record
from .generate import BEGIN, END, MARKDOWN_PLACEHOLDER, _code_placeholder, _replace_blocks, render
from .key import exercise_set, lessons

AUTOGRADE_ENV = "NBGRADER_EXECUTION"
"""The environment variable nbgrader sets to ``autograde`` in the kernels it grades with (``validate``
when a student validates)."""

AUTOGRADED = "autograded"
"""nbgrader's folder of graded copies: it runs each notebook in ``autograded/<student_id>/<assignment>/``."""

POINTS = 1
"""Points of an autograded answer: one per row of the answer key (a part of a several-part answer)."""

WRITTEN_POINTS = 1
"""Points of a written answer (a markdown solution cell), graded by hand in nbgrader's formgrader."""

CONFIG = f'''\
"""nbgrader settings for the tiermargin exercises (written by python -m tiermargin.exercises.grading).

Run nbgrader in this folder, the course root. Keep nbgrader's default folder layout (source/,
release/, submitted/, autograded/, feedback/): at grading, the exercises take the student id from
the folder nbgrader grades in, autograded/<student_id>/<assignment>/. For nbgrader's exchange
(release_assignment, collect) also set c.CourseDirectory.course_id.
"""

c = get_config()  # noqa: F821 (nbgrader's config loader provides get_config)

# Students see the lines `name = ...  # YOUR CODE HERE` that stand before each solution region (as
# in the course's exercises/): nbgrader replaces the region itself with nothing.
c.ClearSolutions.code_stub = {{"python": ""}}
c.ClearSolutions.text_stub = "{MARKDOWN_PLACEHOLDER}"
'''
"""The ``nbgrader_config.py`` written into a course folder that has none."""

NOTE = (
    "**Graded assignment.** After each exercise, a read-only test cell checks your answer: it passes, "
    "and scores its points, when the checker says *correct*, and fails with the checker's message "
    "otherwise. A several-part answer has one test, and one point, per part; written answers are "
    "graded by your instructor. Your numbers follow your hub user name, and when your work is graded "
    "they follow the student id it was collected under, the same name: only answers computed from "
    "your own numbers count. Derivations (`ex.show`) are switched off."
)
"""The markdown cell put before the setup cell: how the notebook is graded, for the student."""


def assignment(lesson: str) -> str:
    """The nbgrader assignment name of a lesson: ``assignment("02")`` is ``"lesson02"``."""
    return f"lesson{lesson}"


def student_id(environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> str | None:
    """The student id to grade: while nbgrader autogrades, the one it grades; else None.

    None lets the checker take its default, the hub user's name (``JUPYTERHUB_USER``).

    Parameters
    ----------
    environ : mapping, optional
        The environment (default ``os.environ``): nbgrader autogrades where :data:`AUTOGRADE_ENV`
        is ``autograde``.
    cwd : Path, optional
        The kernel's working folder (default the current one): nbgrader autogrades in
        ``autograded/<student_id>/<assignment>/``.

    Raises
    ------
    RuntimeError
        If nbgrader autogrades in a folder of another layout: the id cannot be told.
    """
    if (os.environ if environ is None else environ).get(AUTOGRADE_ENV) != "autograde":
        return None
    folder = Path.cwd() if cwd is None else cwd
    if folder.parent.parent.name != AUTOGRADED:
        raise RuntimeError(
            f"nbgrader is autograding ({AUTOGRADE_ENV}=autograde) in {folder}, not in "
            f"{AUTOGRADED}/<student_id>/<assignment>/, so the student id cannot be told: keep nbgrader's "
            "default folder layout (see tiermargin.exercises.grading)")
    return folder.parent.name


def graded(lesson: str) -> ExerciseSet:
    """The checker of the graded test cells: the lesson's exercises for :func:`student_id` (the
    hub user while the student works), derivations off. Test cells call its
    :meth:`~tiermargin.exercises.core.ExerciseSet.require`."""
    return exercise_set(lesson)(student_id=student_id(), show=False)


# ---------------------------------------------------------------------- the source notebook
def _nbgrader(grade_id: str, *, solution: bool = False, grade: bool = False, locked: bool = False,
              points: int | None = None) -> dict[str, Any]:
    """A cell's nbgrader metadata (schema 3)."""
    meta: dict[str, Any] = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
                            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return meta


def _parse(source: str) -> ast.Module | None:
    """A code cell's syntax tree, None if it is not plain Python (a magic)."""
    try:
        return ast.parse(source)
    except SyntaxError:
        return None


def _setup(source: str, lesson: str) -> tuple[str, str] | None:
    """The setup cell's source rewritten for grading, and the name of its exercise set; None when
    ``source`` is not the cell ``ex = lessonNN.Exercises(...)``."""
    tree = _parse(source)
    module = f"lesson{lesson}"
    found = None
    for node in tree.body if tree else ():
        call = getattr(node, "value", None)
        if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                and call.func.attr == "Exercises" and isinstance(call.func.value, ast.Name)
                and call.func.value.id == module):
            found = node
    if found is None:
        return None
    if found.value.args or any(k.arg in ("student_id", "seed", "show") for k in found.value.keywords):
        raise ValueError(f"the setup cell must call {module}.Exercises(written_for=...) with no student_id, seed or "
                         "show: grading sets them")
    lines = source.split("\n")
    keywords = "".join(f", {ast.get_source_segment(source, k)}" for k in found.value.keywords)
    name = found.targets[0].id
    lines[found.lineno - 1 : found.end_lineno] = [
        f"{name} = {module}.Exercises(student_id=grading.student_id(), show=False{keywords})"]
    imports = [node for node in tree.body if isinstance(node, ast.ImportFrom) and node.module == "tiermargin.exercises"
               and node.lineno == node.end_lineno and any(a.name == module and a.asname is None for a in node.names)]
    if not imports:
        raise ValueError(f"the setup cell must import {module} with `from tiermargin.exercises import {module}`")
    names = sorted({"grading", *(ast.get_source_segment(source, a) for a in imports[0].names)})
    lines[imports[0].lineno - 1] = f"from tiermargin.exercises import {', '.join(names)}"
    return "\n".join(lines), name


def _checked(source: str, name: str) -> tuple[int, list[str], dict[str, str]] | None:
    """The exercise number and the answers' source text (positional, then by name) of a cell ending
    with ``name.check(n, ...)``; else None."""
    tree = _parse(source)
    last = tree.body[-1] if tree and tree.body else None
    call = last.value if isinstance(last, ast.Expr) else None
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "check"
            and isinstance(call.func.value, ast.Name) and call.func.value.id == name and call.args
            and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, int)):
        return None
    return (call.args[0].value, [ast.get_source_segment(source, a) for a in call.args[1:]],
            {k.arg: ast.get_source_segment(source, k.value) for k in call.keywords if k.arg})


def _tests(lesson: str, n: int, args: Sequence[str], kwargs: Mapping[str, str],
           exercises: type[ExerciseSet]) -> list[nbformat.NotebookNode]:
    """The autograder test cells of exercise ``n`` checked with ``args`` and ``kwargs`` (source
    text): one per answer-key row (a record's field)."""
    ex = exercises.exercises[n - 1]
    names = ex.answer.names
    given = {**dict(zip(names, args)), **kwargs}
    if len(args) > len(names) or set(given) != set(names):
        raise ValueError(f"ex.check({n}, ...) must pass the answers {', '.join(names)}, "
                         f"got {', '.join(given) or 'none'}")
    parts = names if isinstance(ex.answer, Record) else ("",)
    cells = []
    for part in parts:
        grade_id = f"ex{n}-{part}-test" if part else f"ex{n}-test"
        what = f"Exercise {n}, {part}" if part else f"Exercise {n}"
        answer = f"{part}={given[part]}" if part else given[names[0]]
        cell = nbformat.v4.new_code_cell(
            f"# {what}: {POINTS} point when the checker says correct (read-only test)\n"
            f"grading.graded(\"{lesson}\").require({n}, {answer})",
            metadata={"nbgrader": _nbgrader(grade_id, grade=True, locked=True, points=POINTS)})
        cell.id = grade_id
        cells.append(cell)
    return cells


def _placeholders_before(block: list[str], indent: str) -> list[str]:
    """A solution region with the student's placeholder lines before it (nbgrader removes the region)."""
    return [*_code_placeholder(block, indent), indent + BEGIN, *block, indent + END]


def source_version(nb: nbformat.NotebookNode, lesson: str) -> nbformat.NotebookNode:
    """nbgrader's source version of a lesson's solutions notebook (see the module docstring).

    Raises
    ------
    ValueError
        If the notebook has no setup cell, an exercise of the lesson has no ``ex.check(n, ...)``
        cell or has two, or a check does not pass the exercise's answers.
    """
    exercises = exercise_set(lesson)
    out = copy.deepcopy(nb)
    cells: list[nbformat.NotebookNode] = []
    name = None
    checked: list[int] = []
    for cell in out.cells:
        cell.metadata.pop("execution", None)  # run timestamps
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        solution = BEGIN in cell.source
        setup = _setup(cell.source, lesson) if cell.cell_type == "code" and name is None else None
        if setup is not None:
            cell.source, name = setup
            note = nbformat.v4.new_markdown_cell(NOTE, metadata={"nbgrader": _nbgrader("grading-note", locked=True)})
            note.id = "grading-note"
            cells.append(note)
        if solution and cell.cell_type == "code":
            cell.source = _replace_blocks(cell.source, _placeholders_before)
            cell.metadata["nbgrader"] = _nbgrader(cell.id, solution=True)
        elif solution:
            cell.metadata["nbgrader"] = _nbgrader(cell.id, solution=True, grade=True, points=WRITTEN_POINTS)
        else:
            cell.metadata["nbgrader"] = _nbgrader(cell.id, locked=True)
        cells.append(cell)
        check = _checked(cell.source, name) if cell.cell_type == "code" and name is not None else None
        if check is not None:
            n, args, kwargs = check
            if not 1 <= n <= len(exercises.exercises) or n in checked:
                raise ValueError(f"ex.check({n}, ...): lesson {lesson} has exercises 1 to {len(exercises.exercises)}, "
                                 "each checked in one cell")
            checked.append(n)
            cells.extend(_tests(lesson, n, args, kwargs, exercises))
    if name is None:
        raise ValueError(f"no setup cell `ex = lesson{lesson}.Exercises(...)`")
    unchecked = sorted(set(range(1, len(exercises.exercises) + 1)) - set(checked))
    if unchecked:
        raise ValueError(f"no cell ends with ex.check(n, ...) for exercise {', '.join(map(str, unchecked))}")
    ids = [c.id for c in cells]
    if len(set(ids)) != len(ids):
        clash = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f"cell ids clash with the grading cells' ({', '.join(clash)})")
    out.cells = cells
    return out


def solutions_notebook(exercises_dir: Path, lesson: str) -> Path:
    """The solutions notebook ``exercises_dir/solutions/NN_*.ipynb`` of a lesson."""
    found = sorted((exercises_dir / "solutions").glob(f"{lesson}_*.ipynb"))
    if len(found) != 1:
        raise ValueError(f"exercises_dir must be a folder with one solutions/{lesson}_*.ipynb, got {exercises_dir} "
                         f"({len(found)} found)")
    return found[0]


def export(course_dir: Path, lesson_numbers: Sequence[str], exercises_dir: Path = Path("exercises")) -> list[Path]:
    """Write the nbgrader course (see the module docstring) and return the files written.

    Raises
    ------
    ValueError
        If ``course_dir`` is a file, a lesson is unknown or its solutions notebook is missing or
        malformed.
    """
    if course_dir.exists() and not course_dir.is_dir():
        raise ValueError(f"course_dir must be a folder (new or an nbgrader course), got the file {course_dir}")
    notebooks = []
    for lesson in lesson_numbers:
        exercise_set(lesson)  # a ValueError naming the lessons there are
        src = solutions_notebook(exercises_dir, lesson)
        try:
            nb = source_version(nbformat.read(src, as_version=4), lesson)
        except ValueError as e:
            raise ValueError(f"{src}: {e}") from None
        notebooks.append((course_dir / "source" / assignment(lesson) / src.name, nb))
    written = []
    config = course_dir / "nbgrader_config.py"
    if not config.exists():
        course_dir.mkdir(parents=True, exist_ok=True)
        config.write_text(CONFIG, encoding="utf-8")
        written.append(config)
    for path, nb in notebooks:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(nb), encoding="utf-8")
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: write the nbgrader course for the given lessons (default all)."""
    parser = argparse.ArgumentParser(
        prog="python -m tiermargin.exercises.grading",
        description="Write the exercises as an nbgrader course: COURSE_DIR/nbgrader_config.py (kept if there is "
        "one) and COURSE_DIR/source/lessonNN/NN_slug.ipynb per lesson, for nbgrader generate_assignment.",
    )
    parser.add_argument("course_dir", type=Path, metavar="COURSE_DIR",
                        help="the nbgrader course folder (created if missing)")
    parser.add_argument("lessons", nargs="*", default=["all"], metavar="LESSON",
                        help=f"lesson numbers ({', '.join(lessons())}) or all (the default)")
    parser.add_argument("--exercises-dir", type=Path, default=Path("exercises"),
                        help="the exercises folder, with solutions/ (default: exercises)")
    args = parser.parse_args(argv)
    chosen = lessons() if "all" in args.lessons else args.lessons
    unknown = [x for x in chosen if x not in lessons()]
    if unknown:
        parser.error(f"LESSON must be one of {', '.join(lessons())} or all; got {', '.join(map(repr, unknown))}")
    try:
        for path in export(args.course_dir, chosen, args.exercises_dir):
            print(f"wrote {path}")
    except ValueError as e:
        parser.error(str(e))
    except OSError as e:
        parser.error(f"course_dir {args.course_dir} cannot be written: {e.strerror} ({e.filename})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
