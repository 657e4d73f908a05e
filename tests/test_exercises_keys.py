"""Answer keys, student ids and versions of the exercise checkers (issue 18).

* Keys round-trip: every answer a key prints, typed back, is accepted, for many students of every
  lesson; keys export as CSV and JSON, one row per student × exercise × part.
* Keys are for instructors: without the instructor secret, neither ``ex.answer_key()`` nor the key
  command gives anything, and no lesson or exercise notebook shows the key command.
* Student ids default to the hub user, are normalised, and a missing one shows a notice.
* A notebook records the checker version it was written for; a mismatch says what to do.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import nbformat
import pytest

import tiermargin as tm
from tiermargin.exercises import lesson02, lesson07
from tiermargin.exercises.core import (
    MONEY,
    RATIO,
    SECRET_ENV,
    Function,
    Record,
    Value,
    VersionMismatch,
    normalized_id,
    version_notice,
)
from tiermargin.exercises.key import FIELDS, answer_key_rows, answer_key_text, exercise_set, lessons
from tiermargin.exercises.key import main as key_main

ROOT = Path(__file__).resolve().parent.parent
IDS = tuple(f"student-{i:02d}" for i in range(64))
NOTEBOOKS = sorted([*ROOT.glob("lessons/[0-9][0-9]_*.ipynb"), *ROOT.glob("exercises/[0-9][0-9]_*.ipynb"),
                    *ROOT.glob("exercises/solutions/[0-9][0-9]_*.ipynb")])
EXERCISE_NOTEBOOKS = [p for p in NOTEBOOKS if p.parent.name != "lessons"]


def typed_back(text: str):
    """The value a grader gets by typing ``text`` into Python (the key's answers are Python text)."""
    return eval(text, {"__builtins__": {}, "float": float})  # noqa: S307 - our own key's literals


# ---------------------------------------------------------------- 1. keys round-trip
def test_a_ratio_is_printed_with_the_digits_its_tolerance_needs():
    v = 0.0123456789
    assert not RATIO.matches(v, float(f"{v:.6g}"))  # six digits, the old key, are not enough here
    assert RATIO.typed(v) == "0.01234568" and RATIO.matches(v, float(RATIO.typed(v)))
    assert MONEY.typed(57236.184) == "57236.18"  # cents, no thousands separator
    assert typed_back(tm.exercises.core.SIZE.typed(float("inf"))) == float("inf")


@pytest.mark.parametrize("lesson", lessons())
def test_every_printed_answer_typed_back_is_accepted(lesson):
    cls = exercise_set(lesson)
    for sid in IDS:
        ex = cls(student_id=sid)
        text, key = answer_key_text(ex), ex.answer_key()
        rows: dict[int, dict[str, str]] = {}
        for row in answer_key_rows(ex):
            assert row["answer"] in text  # the printed key shows what the export holds
            rows.setdefault(row["exercise"], {})[row["part"]] = row["answer"]
        for n, parts in rows.items():
            answer = cls.exercises[n - 1].answer
            given = {part: typed_back(t) for part, t in parts.items()}
            if isinstance(answer, Value):
                fb = ex.check(n, given[""])
            elif isinstance(answer, Record):
                fb = ex.check(n, **given)
            else:  # a function: its value on the student's numbers is what the key gives
                assert isinstance(answer, Function)
                kind = answer.returns
                assert kind.matches(key[n], kind.coerce(given[answer.name])), (lesson, sid, n, parts)
                continue
            assert fb.status == "correct", (lesson, sid, n, parts, fb)


def test_the_csv_and_json_keys_have_one_row_per_student_exercise_and_part(capsys):
    assert key_main(["02", "alice", "bob", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    parts = sum(len(ex.answer.parts(e)) for ex, e in zip(lesson02.Exercises.exercises,
                                                           lesson02.Exercises(student_id="alice").answer_key().values()))
    assert len(rows) == 2 * parts and tuple(rows[0]) == FIELDS
    assert [(r["student_id"], r["exercise"], r["part"]) for r in rows][:5] == [
        ("alice", "1", ""), ("alice", "2", ""), ("alice", "3", "legacy"), ("alice", "3", "coinw"), ("alice", "3", "binance")]
    assert key_main(["02", "alice", "bob", "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [{k: str(v) for k, v in r.items()} for r in records] == rows


def test_the_key_of_every_lesson_and_a_roster_file(tmp_path, capsys):
    roster = tmp_path / "roster.txt"
    roster.write_text("Alice\n  bob \n", encoding="utf-8")
    assert key_main(["all", f"@{roster}", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {r["lesson"] for r in rows} == set(lessons()) and {r["student_id"] for r in rows} == {"alice", "bob"}


# ---------------------------------------------------------------- 2. keys are for instructors
def test_a_student_cannot_get_a_key(monkeypatch, capsys):
    monkeypatch.delenv(SECRET_ENV)
    ex = lesson02.Exercises(student_id="alice")
    with pytest.raises(PermissionError, match="answer keys are for instructors"):
        ex.answer_key()
    with pytest.raises(PermissionError):
        answer_key_rows(ex)
    with pytest.raises(SystemExit):
        key_main(["02", "alice"])
    err = capsys.readouterr()
    assert "instructor secret" in err.err and "55916" not in err.out + err.err
    assert ex.check(1, ...).status == "not attempted"  # the checker itself works without the secret
    with pytest.raises(TypeError, match="secret"):
        ex.answer_key(secret=42)


def test_the_key_command_reads_the_secret_from_a_file(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv(SECRET_ENV)
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n", encoding="utf-8")
    assert key_main(["02", "alice", "--secret-file", str(secret)]) == 0
    assert "Lesson 02 answer key for 'alice'" in capsys.readouterr().out
    for bad in (tmp_path / "missing", tmp_path / "empty"):
        if bad.name == "empty":
            bad.write_text("  \n", encoding="utf-8")
        with pytest.raises(SystemExit):
            key_main(["02", "alice", "--secret-file", str(bad)])
        assert "secret" in capsys.readouterr().err


@pytest.mark.parametrize("path", NOTEBOOKS + [ROOT / "exercises" / "README.md"], ids=lambda p: str(p.relative_to(ROOT)))
def test_no_lesson_or_exercise_shows_the_key_command(path):
    text = path.read_text(encoding="utf-8") if path.suffix == ".md" else "\n".join(
        c.source for c in nbformat.read(path, as_version=4).cells)
    assert "exercises.key" not in text and "answer_key" not in text


# ---------------------------------------------------------------- 3. student ids
def test_the_id_defaults_to_the_hub_user_and_is_normalised(monkeypatch):
    numbers = [lesson02.Exercises(student_id="alice smith").task(n).numbers for n in (1, 3, 7)]
    monkeypatch.setenv("JUPYTERHUB_USER", " Alice  Smith ")
    hub = lesson02.Exercises()
    assert hub.student_id == "alice smith" and hub.notices == () and "⚠" not in repr(hub)
    assert [hub.task(n).numbers for n in (1, 3, 7)] == numbers
    assert lesson02.Exercises(student_id="bob").student_id == "bob"  # a given id wins over the hub's
    for typed in ("ALICE SMITH", "  alice smith", "Alice\tSmith"):
        assert [lesson02.Exercises(student_id=typed).task(n).numbers for n in (1, 3, 7)] == numbers
    assert normalized_id(" Zoë ") == "zoë"


@pytest.mark.parametrize("hub", [None, "", "  "])
def test_a_missing_id_shows_a_notice_not_a_warning(monkeypatch, hub):
    if hub is not None:
        monkeypatch.setenv("JUPYTERHUB_USER", hub)
    ex = lesson07.Exercises()  # pyproject turns any Python warning into an error: none is raised
    assert ex.student_id == "demo" and ex.task(1).numbers == lesson07.Exercises(student_id="demo").task(1).numbers
    assert "⚠ No student id: these are the demo numbers" in repr(ex) and 'lesson07.Exercises(student_id="your id")' in repr(ex)
    assert "(no student id)" in repr(ex.task(1))
    assert lesson07.Exercises(student_id="demo").notices == ()  # the demo id given on purpose


@pytest.mark.parametrize("binder", ["BINDER_LAUNCH_HOST", "BINDER_REPO_URL"])
def test_on_binder_the_random_hub_user_is_no_student_id(monkeypatch, binder):
    """BinderHub's own JupyterHub names each launch's user at random: the numbers would change at every
    launch without a word. There a missing id is the demo numbers with the notice, as anywhere."""
    monkeypatch.setenv("JUPYTERHUB_USER", "tiermargin-tiermargin-x7k2pq9d")
    monkeypatch.setenv(binder, "https://mybinder.org/")
    ex = lesson02.Exercises()
    assert ex.student_id == "demo" and "⚠ No student id" in repr(ex)
    assert lesson02.Exercises(student_id="Alice").student_id == "alice"  # a given id still counts


@pytest.mark.parametrize("path", EXERCISE_NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_exercise_notebooks_leave_the_id_to_the_hub_and_record_their_version(path):
    setup = next(c.source for c in nbformat.read(path, as_version=4).cells
                 if c.cell_type == "code" and "Exercises(" in c.source)
    assert "student_id=" not in setup.split("#")[0]
    assert re.search(r"Exercises\(written_for=\"([^\"]+)\"\)", setup).group(1) == tm.__version__


# ---------------------------------------------------------------- 4. versions
def test_a_version_mismatch_says_what_to_do():
    assert version_notice(None) is None and version_notice(tm.__version__) is None
    assert version_notice("0.1.0", installed="0.1.0rc2") is None  # the same release
    older = version_notice("0.0.9", installed="0.1.0")
    assert "0.0.9" in older and "0.1.0" in older and "pull the course notebooks again" in older
    with pytest.raises(VersionMismatch, match=r"written for tiermargin 0\.2\.0.*checker is tiermargin 0\.1\.0.*pip install -U tiermargin"):
        version_notice("0.2.0", installed="0.1.0")
    with pytest.raises(ValueError, match="written_for"):
        version_notice("latest")


def test_the_set_checks_the_version_it_is_given():
    with pytest.raises(VersionMismatch, match=re.escape(tm.__version__)):
        lesson02.Exercises(student_id="alice", written_for="99.0")
    ex = lesson02.Exercises(student_id="alice", written_for="0.0.1")
    assert ex.notices and "⚠ This notebook was written for tiermargin 0.0.1" in repr(ex)
    with pytest.raises(ValueError, match="written_for"):
        lesson02.Exercises(written_for=3)
