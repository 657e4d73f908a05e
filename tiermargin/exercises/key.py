"""Answer keys for instructors: ``python -m tiermargin.exercises.key 02 alice bob``.

Prints, for each student id, every exercise's numbers and expected answer, each answer as the text
the checker accepts typed back (enough digits for its tolerance, no thousands separators); or, with
``--format csv`` or ``--format json``, one row per student × exercise × part. ``all`` in place of
the lesson number gives every lesson; ``@roster.txt`` in place of the ids reads them from a file,
one per line. Ids are normalised as the checker does (``" Alice "`` is ``alice``).

The command needs the instructor secret: the environment variable ``TIERMARGIN_INSTRUCTOR_SECRET``
or ``--secret-file PATH`` (a file only the instructor can read). Students' environments do not set
it, so a student cannot print a key (see "Answer keys" in docs/instructor_guide.md for what this does
not prevent).

>>> rows = answer_key_rows(exercise_set("02")(student_id="Demo"), secret="s")
>>> {k: rows[0][k] for k in ("lesson", "student_id", "exercise", "part", "answer", "unit")}
{'lesson': '02', 'student_id': 'demo', 'exercise': 1, 'part': '', 'answer': '55916.67', 'unit': 'USDT'}
"""

from __future__ import annotations

import argparse
import csv
import importlib
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .core import SECRET_ENV, ExerciseSet, instructor_secret

FIELDS = ("lesson", "student_id", "exercise", "title", "part", "answer", "unit", "numbers")
"""The columns of the CSV key (and the keys of each JSON row); ``answer`` is the text to type back."""


def lessons() -> list[str]:
    """Lesson numbers that have exercises (``["02", ...]``): one module ``lessonNN`` each."""
    return sorted(p.stem.removeprefix("lesson") for p in Path(__file__).parent.glob("lesson[0-9][0-9].py"))


def exercise_set(lesson: str) -> type[ExerciseSet]:
    """The ``Exercises`` class of a lesson, e.g. ``exercise_set("02")``."""
    if lesson not in lessons():
        raise ValueError(f"lesson must be one of {', '.join(lessons())}; got {lesson!r}")
    return importlib.import_module(f"{__package__}.lesson{lesson}").Exercises


def answer_key_text(exercises: ExerciseSet, secret: str | None = None) -> str:
    """One student's answer key: per exercise, the numbers and the expected answer as typed back
    (``secret``: the instructor secret, see :meth:`ExerciseSet.answer_key`)."""
    lines = [f"Lesson {exercises.lesson} answer key for {exercises.student}"]
    for n, expected in exercises.answer_key(secret).items():
        shown = exercises.exercises[n - 1].answer.show(expected)
        lines.append(f"  {exercises.task(n)}\n      → {shown}")
    return "\n".join(lines)


def answer_key_rows(exercises: ExerciseSet, secret: str | None = None) -> list[dict[str, Any]]:
    """One student's answer key as rows of :data:`FIELDS`, one per exercise and part (a record's
    field; a function's value on the student's numbers, named after the function)."""
    rows = []
    for n, expected in exercises.answer_key(secret).items():
        ex = exercises.exercises[n - 1]
        for part, kind, value in ex.answer.parts(expected):
            rows.append({"lesson": exercises.lesson, "student_id": exercises.student_id or exercises.student,
                         "exercise": n, "title": ex.title, "part": part, "answer": kind.typed(value),
                         "unit": kind.unit, "numbers": exercises.task(n).text})
    return rows


def _secret(path: Path | None) -> str:
    """The instructor secret: the file's text, else the environment's (PermissionError without one)."""
    if path is None:
        try:
            return instructor_secret()
        except PermissionError as e:
            raise PermissionError(f"{e} (instructors: set {SECRET_ENV} or pass --secret-file)") from None
    try:
        return instructor_secret(path.read_text(encoding="utf-8").strip())
    except OSError as e:
        raise PermissionError(f"--secret-file {path}: {e.strerror}") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: print the answer keys of the given students for a lesson (or all)."""
    parser = argparse.ArgumentParser(
        prog="python -m tiermargin.exercises.key",
        description="Print each student's numbers and expected answers for a lesson's exercises "
        "(needs the instructor secret: TIERMARGIN_INSTRUCTOR_SECRET or --secret-file).",
        fromfile_prefix_chars="@",
    )
    parser.add_argument("lesson", help=f"lesson number ({', '.join(lessons())}) or all")
    parser.add_argument("students", nargs="+", help="student ids, or @FILE: one id per line")
    parser.add_argument("--format", choices=("text", "csv", "json"), default="text",
                        help="text (default), or csv/json: one row per student × exercise × part")
    parser.add_argument("--secret-file", type=Path, help="a file holding the instructor secret")
    args = parser.parse_args(argv)
    try:
        secret = _secret(args.secret_file)
        classes = [exercise_set(lesson) for lesson in (lessons() if args.lesson == "all" else [args.lesson])]
        sets = [cls(student_id=sid) for cls in classes for sid in args.students]
    except (ValueError, PermissionError) as e:
        parser.error(str(e))
    if args.format == "text":
        print("\n\n".join(answer_key_text(ex, secret) for ex in sets))
    elif args.format == "json":
        print(json.dumps([row for ex in sets for row in answer_key_rows(ex, secret)], ensure_ascii=False, indent=1))
    else:
        out = io.StringIO()
        writer = csv.DictWriter(out, FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(row for ex in sets for row in answer_key_rows(ex, secret))
        print(out.getvalue(), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
