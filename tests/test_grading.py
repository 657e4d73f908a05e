"""The exercises as an nbgrader course (tiermargin.exercises.grading): the source notebooks' structure
for every lesson, the student id at work and at grading, the checker's ``require``, the command line,
and one run of nbgrader end to end on lesson 02 with simulated students (export, generate_assignment,
submissions, autograde, export to grades.csv).

nbgrader runs from its own venv, .venv-grading (``make test`` builds it from requirements-grading.txt).
"""

from __future__ import annotations

import csv
import functools
import os
import re
import subprocess
from pathlib import Path

import nbformat
import pytest

from tiermargin.exercises import grading
from tiermargin.exercises.core import HUB_USER, Function, Record
from tiermargin.exercises.generate import BEGIN, END, MARKDOWN_PLACEHOLDER, student_version
from tiermargin.exercises.key import answer_key_rows, exercise_set, lessons

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "exercises" / "solutions"
GRADING_BIN = ROOT / ".venv-grading" / "bin"  # the Makefile's GRADING_VENV
SECRET = "test-secret"


def solutions(lesson: str) -> nbformat.NotebookNode:
    return nbformat.read(grading.solutions_notebook(ROOT / "exercises", lesson), as_version=4)


@functools.cache
def source(lesson: str) -> nbformat.NotebookNode:
    return grading.source_version(solutions(lesson), lesson)


def meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def autograder_tests(nb) -> list:
    return [c for c in nb.cells if meta(c).get("grade") and not meta(c).get("solution")]


def key_rows(lesson: str, student: str = "demo") -> list[dict]:
    return answer_key_rows(exercise_set(lesson)(student_id=student), secret=SECRET)


def solution_blocks(text: str) -> list[list[str]]:
    """The lines between each BEGIN and END marker of a cell (markers excluded)."""
    blocks, block = [], None
    for line in text.split("\n"):
        if line.strip() == BEGIN:
            block = []
        elif line.strip() == END:
            blocks.append(block)
            block = None
        elif block is not None:
            block.append(line)
    return blocks


# ---------------------------------------------------------------- structure, every lesson
@pytest.mark.parametrize("lesson", lessons())
def test_one_graded_test_per_answer_key_row(lesson):
    nb = source(lesson)
    tested = sorted(re.search(r"\.require\((\d+)(?:, (\w+)=)?", c.source).groups("") for c in autograder_tests(nb))
    exercises = exercise_set(lesson).exercises
    # a record's rows are its fields (one test each); a value's or a function's row is the whole answer
    expected = sorted((str(r["exercise"]), r["part"] if isinstance(exercises[r["exercise"] - 1].answer, Record) else "")
                      for r in key_rows(lesson))
    assert tested == expected
    for k, c in enumerate(nb.cells):
        if c in autograder_tests(nb):
            assert meta(c)["points"] == 1 and meta(c)["locked"] and c.cell_type == "code", c.id
            exercise_cell = next(d for d in reversed(nb.cells[:k]) if d not in autograder_tests(nb))
            n = re.search(r"\.require\((\d+)", c.source)[1]
            assert re.search(rf"^ex\.check\({n}, ", exercise_cell.source, re.M), c.id  # right after its exercise


@pytest.mark.parametrize("lesson", lessons())
def test_each_test_cell_passes_on_the_right_answer_only(lesson):
    """Run every test cell of a single value or a part with the demo student's answer (from the key)
    bound to the name the exercise cell checks, then with ``...`` and with a wrong type."""
    exercises = exercise_set(lesson)
    key = exercises(student_id="demo").answer_key(SECRET)
    for c in autograder_tests(source(lesson)):
        n, part, name = re.search(r"\.require\((\d+), (?:(\w+)=)?(\w+)\)$", c.source).groups()
        if isinstance(exercises.exercises[int(n) - 1].answer, Function):
            continue  # a function's test needs the student's function: the run end to end has them
        right = key[int(n)][part] if part else key[int(n)]
        exec(c.source, {"grading": grading, name: right})
        for wrong in (..., "text"):
            with pytest.raises(AssertionError, match=rf"^Exercise {n} — (wrong|not attempted)"):
                exec(c.source, {"grading": grading, name: wrong})


@pytest.mark.parametrize("lesson", lessons())
def test_every_cell_has_nbgrader_metadata_and_unique_grade_ids(lesson):
    nb = source(lesson)
    ids = [meta(c)["grade_id"] for c in nb.cells]
    assert len(ids) == len(set(ids)) == len(nb.cells)
    for c in nb.cells:
        m = meta(c)
        assert m["schema_version"] == 3
        if BEGIN in c.source:
            assert m["solution"] and not m["locked"]
            assert m["grade"] == (c.cell_type == "markdown"), c.id  # a written answer is graded by hand
        else:
            assert m["locked"] and not m["solution"], c.id
        if c.cell_type == "code":
            assert c.outputs == [] and c.execution_count is None


@pytest.mark.parametrize("lesson", lessons())
def test_source_keeps_the_solutions_and_adds_only_grading(lesson):
    """Every solutions cell is there, in order, its solution regions intact; the setup cell takes
    grading's id with derivations off; the added cells are the note and the tests."""
    original, nb = solutions(lesson), source(lesson)
    by_id = {c.id: c for c in nb.cells}
    assert [c.id for c in nb.cells if c.id in {o.id for o in original.cells}] == [c.id for c in original.cells]
    added = [c for c in nb.cells if c.id not in {o.id for o in original.cells}]
    assert [c.id for c in added] == ["grading-note"] + [c.id for c in autograder_tests(nb)]
    for o in original.cells:
        assert solution_blocks(by_id[o.id].source) == solution_blocks(o.source)
    setup = [c for c in nb.cells if f"lesson{lesson}.Exercises(" in c.source and c.cell_type == "code"]
    assert len(setup) == 1 and meta(setup[0])["locked"]
    assert (f'ex = lesson{lesson}.Exercises(student_id=grading.student_id(), show=False, written_for="0.1.0")'
            in setup[0].source.split("\n"))


# ---------------------------------------------------------------- the student id
def run_setup(lesson: str) -> dict:
    """Run the source's setup cell as a kernel would; its namespace."""
    (setup,) = [c for c in source(lesson).cells if f"lesson{lesson}.Exercises(" in c.source and c.cell_type == "code"]
    namespace: dict = {}
    exec(setup.source, namespace)
    return namespace


def test_at_work_the_id_is_the_hub_user(monkeypatch):
    monkeypatch.setenv(HUB_USER, " Alice ")
    monkeypatch.delenv(grading.AUTOGRADE_ENV, raising=False)
    assert run_setup("02")["ex"].student_id == "alice"
    monkeypatch.setenv(grading.AUTOGRADE_ENV, "validate")  # a student validating, in their own kernel
    assert run_setup("02")["ex"].student_id == "alice"
    assert grading.graded("02").student_id == "alice"


def test_at_autograde_the_id_is_nbgraders_not_the_hub_users(monkeypatch, tmp_path):
    folder = tmp_path / "course" / "autograded" / "bob" / "lesson02"
    folder.mkdir(parents=True)
    monkeypatch.chdir(folder)
    monkeypatch.setenv(HUB_USER, "instructor")  # autograde runs on the instructor's side
    monkeypatch.setenv(grading.AUTOGRADE_ENV, "autograde")
    namespace = run_setup("02")
    assert namespace["ex"].student_id == "bob"
    assert not namespace["ex"].showing
    assert grading.graded("02").student_id == "bob"


def test_autograde_in_another_layout_refuses_to_guess(tmp_path):
    with pytest.raises(RuntimeError, match=r"autograded/<student_id>/<assignment>/"):
        grading.student_id({grading.AUTOGRADE_ENV: "autograde"}, tmp_path / "submitted" / "bob" / "lesson02")
    assert grading.student_id({}, tmp_path / "autograded" / "bob" / "lesson02") is None


# ---------------------------------------------------------------- require
def test_require_raises_the_checkers_message_unless_correct():
    ex = exercise_set("02")(student_id="alice")
    key = ex.answer_key(SECRET)
    assert ex.require(1, key[1]).correct
    with pytest.raises(AssertionError, match=r"^Exercise 1 — wrong: .* is not the answer\. Hint: "):
        ex.require(1, key[1] + 100)
    with pytest.raises(AssertionError, match=r"^Exercise 1 — not attempted"):
        ex.require(1, ...)
    with pytest.raises(AssertionError, match="not attempted"):
        ex.require(1)
    with pytest.raises(TypeError, match="unexpected or repeated answer"):
        ex.require(1, nope=1)
    with pytest.raises(ValueError, match="n must be an exercise number"):
        ex.require(99, 1)


def test_require_judges_the_parts_passed():
    ex = exercise_set("02")(student_id="alice")
    right = ex.answer_key(SECRET)[3]
    assert ex.require(3, legacy=right["legacy"]).correct  # the other parts are not this test's
    assert ex.require(3, **right).correct
    with pytest.raises(AssertionError, match="coinw = .* is not right"):
        ex.require(3, legacy=right["legacy"], coinw=right["coinw"] * 2)
    with pytest.raises(AssertionError, match="not attempted"):
        ex.require(3, legacy=...)
    with pytest.raises(AssertionError, match=r"not attempted: replace \.\.\. with your answers \(legacy, coinw"):
        ex.require(3)
    assert not ex.check(3, legacy=right["legacy"]).correct  # check still wants every part


# ---------------------------------------------------------------- command line
def test_cli_writes_config_and_one_source_per_lesson(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    course = tmp_path / "course"
    assert grading.main([str(course), "02", "05"]) == 0
    assert "nbgrader_config.py" in capsys.readouterr().out
    written = sorted(p.relative_to(course).as_posix() for p in course.rglob("*") if p.is_file())
    assert written == ["nbgrader_config.py", "source/lesson02/02_isolated_margin.ipynb",
                       "source/lesson05/05_stepwise_liquidation.ipynb"]
    config = (course / "nbgrader_config.py").read_text(encoding="utf-8")
    assert 'c.ClearSolutions.code_stub = {"python": ""}' in config
    assert f'c.ClearSolutions.text_stub = "{MARKDOWN_PLACEHOLDER}"' in config
    (course / "nbgrader_config.py").write_text("c = get_config()  # the instructor's own\n", encoding="utf-8")
    assert grading.main([str(course), "--exercises-dir", str(ROOT / "exercises")]) == 0  # default: all lessons
    assert (course / "nbgrader_config.py").read_text(encoding="utf-8") == "c = get_config()  # the instructor's own\n"
    assert len(list((course / "source").glob("lesson*/*.ipynb"))) == len(lessons())
    out = capsys.readouterr().out
    assert "nbgrader_config.py" not in out and out.count("wrote ") == len(lessons())  # the config kept


@pytest.mark.parametrize("argv, message", [
    (["{tmp}/c", "2"], "LESSON must be one of 01, 02"),
    (["{tmp}/c", "02", "99"], "got '99'"),
    (["{tmp}/file", "02"], "course_dir must be a folder"),
    (["{tmp}/file/c", "02"], "course_dir .*/file/c cannot be written: Not a directory"),
    (["{tmp}/c", "02", "--exercises-dir", "{tmp}"], r"exercises_dir must be a folder with one solutions/02_\*\.ipynb"),
])
def test_cli_bad_input_is_named(tmp_path, capsys, argv, message):
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(SystemExit) as e:
        grading.main([a.format(tmp=tmp_path) for a in argv])
    assert e.value.code == 2
    assert re.search(message, capsys.readouterr().err)


# ---------------------------------------------------------------- nbgrader itself
def nbgrader(course: Path, *args: str) -> str:
    """Run ``nbgrader ARGS`` in the course folder, isolated from any user Jupyter config; its log."""
    if not (GRADING_BIN / "nbgrader").exists():
        pytest.fail(f"no {GRADING_BIN.relative_to(ROOT)}/nbgrader: make test creates it with requirements-grading.txt")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "TIERMARGIN_", "NBGRADER"))}
    env.update(PATH=f"{GRADING_BIN}{os.pathsep}{env.get('PATH', '')}", JUPYTER_CONFIG_DIR=str(course / ".jupyter"),
               JUPYTER_DATA_DIR=str(course / ".jupyter-data"), MPLBACKEND="Agg",
               JUPYTERHUB_USER="instructor")  # as on a hub: the grader's own name must not be the student's
    done = subprocess.run([str(GRADING_BIN / "nbgrader"), *args], cwd=course, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> Path:
    """A course of every lesson after ``nbgrader generate_assignment`` (one run for all: nbgrader
    takes a few seconds to start)."""
    course = tmp_path_factory.mktemp("course")
    grading.export(course, lessons(), ROOT / "exercises")
    log = nbgrader(course, "generate_assignment", "lesson*")
    assert sorted(p.name for p in (course / "release").iterdir()) == [grading.assignment(x) for x in lessons()], log
    return course


def release(course: Path, lesson: str) -> nbformat.NotebookNode:
    (path,) = (course / "release" / grading.assignment(lesson)).glob("*.ipynb")
    return nbformat.read(path, as_version=4)


@pytest.mark.parametrize("lesson", lessons())
def test_no_solution_survives_generate_assignment(released, lesson):
    text = "\n".join(c.source for c in release(released, lesson).cells)
    assert BEGIN not in text and END not in text
    solution_lines = {line.strip() for c in solutions(lesson).cells for b in solution_blocks(c.source) for line in b}
    release_lines = {line.strip() for line in text.split("\n")}
    assert solution_lines - {""} and not (solution_lines & release_lines) - {""}
    assert "answer_key" not in text and "exercises.key" not in text and "SECRET" not in text


@pytest.mark.parametrize("lesson", lessons())
def test_students_get_the_template_of_exercises(released, lesson):
    """The released solution cells are the student notebooks' cells (nbgrader leaves one empty line
    where the region was), so a graded student writes in the same template as in exercises/."""
    students = {c.id: c.source for c in student_version(solutions(lesson)).cells}
    for c in release(released, lesson).cells:
        if meta(c).get("solution") and c.cell_type == "code":
            assert [line for line in c.source.split("\n") if line.strip()] == [
                line for line in students[c.id].split("\n") if line.strip()], c.id


# ---------------------------------------------------------------- end to end: lesson 02, simulated students
LESSON = "02"
AUTO_POINTS = 10  # lesson 02: exercises 1, 2, 4-7 one answer each, exercise 3 four parts (its answer key's 10 rows)
WRITTEN = 1  # its one written answer (exercise 7's question), graded by hand


def filled(nb: nbformat.NotebookNode, answers: dict[str, list[list[str]]]) -> nbformat.NotebookNode:
    """The release notebook with each solution cell's ``...  # YOUR CODE HERE`` run (and the empty
    line after it) replaced by that cell's blocks from ``answers`` (cell id → code blocks), as a
    student types it; the written answer in place of ``*Your answer here.*``."""
    nb = nbformat.from_dict(nb)
    for c in nb.cells:
        if c.id not in answers:
            continue
        if c.cell_type == "markdown":
            c.source = c.source.replace(MARKDOWN_PLACEHOLDER, "\n".join(answers[c.id][0]))
            continue
        blocks, out, lines, i = iter(answers[c.id]), [], c.source.split("\n"), 0
        while i < len(lines):
            if lines[i].endswith("# YOUR CODE HERE"):
                while i < len(lines) and lines[i].endswith("# YOUR CODE HERE"):
                    i += 1
                out += next(blocks)
                i += 1  # nbgrader's empty stub line
            else:
                out.append(lines[i])
                i += 1
        c.source = "\n".join(out)
    return nb


def before_check(nb: nbformat.NotebookNode, cell_id: str, line: str) -> None:
    """Put ``line`` before the last line (the ``ex.check``) of a cell."""
    (c,) = [c for c in nb.cells if c.id == cell_id]
    lines = c.source.rstrip("\n").split("\n")
    c.source = "\n".join([*lines[:-1], line, lines[-1]])


@pytest.fixture(scope="module")
def graded_course(released) -> Path:
    """The released course after four students handed in lesson 02, autograded and exported."""
    course = released
    released_nb = release(course, LESSON)
    right = {c.id: solution_blocks(c.source) for c in solutions(LESSON).cells if BEGIN in c.source}

    ada = filled(released_nb, right)  # every answer right, computed from her own numbers

    # three answers wrong (3 points), the rest right: two of them typed from his own key, which count only if
    # the grading follows his id
    own = {(r["exercise"], r["part"]): r["answer"] for r in key_rows(LESSON, "ben")}
    ben = filled(released_nb, {**right, "ex2": [[f"liquidation = {own[2, '']}"]], "ex4": [[f"added = {own[4, '']}"]]})
    before_check(ben, "ex1", "bankruptcy = bankruptcy + 1000")
    before_check(ben, "ex3", "liquidated = not liquidated")  # one part of four
    before_check(ben, "ex6", "largest_position = lambda table, leverage: 0.0")

    # dot hands in ed's answers (typed from ed's key) for 7 answers, her own right code for the other 3,
    # and tries ed's id in the setup cell and by re-creating ex: graded on her own numbers all the same
    ed = {(r["exercise"], r["part"]): r["answer"] for r in key_rows(LESSON, "ed")}
    copied = {"ex1": [[f"bankruptcy = {ed[1, '']}"]], "ex2": [[f"liquidation = {ed[2, '']}"]],
              "ex4": [[f"added = {ed[4, '']}"]], "ex7": [[f"liquidation = {ed[7, '']}"]],
              "ex3": [[*right["ex3"][0], *(f"{p} = {ed[3, p]}" for p in ("legacy", "coinw", "binance"))]]}
    dot = filled(released_nb, {**right, **copied})
    (setup,) = [c for c in dot.cells if c.id == "setup"]
    setup.source = setup.source.replace("grading.student_id()", '"ed"')
    before_check(dot, "ex1", 'ex = lesson02.Exercises(student_id="ed")')

    students = {"ada": ada, "ben": ben, "cy": released_nb, "dot": dot}  # cy hands in the release untouched
    for student, nb in students.items():
        folder = course / "submitted" / student / grading.assignment(LESSON)
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / "02_isolated_margin.ipynb")
    (course / "students.csv").write_text("id,last_name\n" + "".join(f"{s},{s.title()}\n" for s in students))
    nbgrader(course, "db", "student", "import", "students.csv")  # as `db student add` for each, in one run
    nbgrader(course, "autograde", grading.assignment(LESSON))
    nbgrader(course, "export")
    return course


def grades(course: Path) -> dict[str, dict[str, str]]:
    """grades.csv's rows of lesson 02 by student id (it has a row per assignment and student)."""
    with open(course / "grades.csv", newline="", encoding="utf-8") as f:
        rows = [row for row in csv.DictReader(f) if row["assignment"] == grading.assignment(LESSON)]
    assert len(rows) == len({row["student_id"] for row in rows}) == 4
    return {row["student_id"]: row for row in rows}


def autograded(course: Path, student: str) -> nbformat.NotebookNode:
    (path,) = (course / "autograded" / student / grading.assignment(LESSON)).glob("*.ipynb")
    return nbformat.read(path, as_version=4)


def failed_tests(course: Path, student: str) -> list[str]:
    """The test cells whose run raised in a student's autograded notebook (each an AssertionError
    carrying the checker's line)."""
    failed = []
    for c in autograder_tests(autograded(course, student)):
        errors = [o for o in c.outputs if o.output_type == "error"]
        if errors:
            assert [(o.ename, o.evalue.startswith("Exercise ")) for o in errors] == [("AssertionError", True)], c.id
            failed.append(c.id)
    return failed


@pytest.mark.parametrize("student", ["ada", "ben", "cy", "dot"])
def test_each_notebook_was_graded_on_its_students_numbers(graded_course, student):
    (setup,) = [c for c in autograded(graded_course, student).cells if c.id == "setup"]
    assert setup.source == next(c.source for c in source(LESSON).cells if c.id == "setup")  # restored for dot
    assert setup.outputs[0]["data"]["text/plain"].startswith(f"Lesson 02 exercises for {student!r}:")


def test_grades_csv_scores_full_partial_and_zero(graded_course):
    rows = grades(graded_course)
    assert {s: float(r["score"]) for s, r in rows.items() if s != "dot"} == {"ada": AUTO_POINTS, "ben": AUTO_POINTS - 3,
                                                                             "cy": 0}
    assert {float(r["max_score"]) for r in rows.values()} == {AUTO_POINTS + WRITTEN}
    assert failed_tests(graded_course, "ada") == []
    assert failed_tests(graded_course, "ben") == ["ex1-test", "ex3-liquidated-test", "ex6-test"]
    assert len(failed_tests(graded_course, "cy")) == AUTO_POINTS


def test_answers_right_for_another_student_score_zero(graded_course):
    ed, dot = key_rows(LESSON, "ed"), key_rows(LESSON, "dot")
    copied = [(1, ""), (2, ""), (3, "legacy"), (3, "coinw"), (3, "binance"), (4, ""), (7, "")]
    assert all(a["answer"] != b["answer"] for a, b in zip(ed, dot) if (a["exercise"], a["part"]) in copied)
    assert float(grades(graded_course)["dot"]["score"]) == AUTO_POINTS - len(copied)
    assert failed_tests(graded_course, "dot") == ["ex1-test", "ex2-test", "ex3-legacy-test", "ex3-coinw-test",
                                                  "ex3-binance-test", "ex4-test", "ex7-test"]
