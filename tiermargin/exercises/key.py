"""Answer keys for instructors: ``python -m tiermargin.exercises.key 02 alice bob``.

Prints, for each student id, every exercise's numbers and expected answer.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from .core import ExerciseSet


def lessons() -> list[str]:
    """Lesson numbers that have exercises (``["02", ...]``): one module ``lessonNN`` each."""
    return sorted(p.stem.removeprefix("lesson") for p in Path(__file__).parent.glob("lesson[0-9][0-9].py"))


def exercise_set(lesson: str) -> type[ExerciseSet]:
    """The ``Exercises`` class of a lesson, e.g. ``exercise_set("02")``."""
    if lesson not in lessons():
        raise ValueError(f"lesson must be one of {', '.join(lessons())}; got {lesson!r}")
    return importlib.import_module(f"{__package__}.lesson{lesson}").Exercises


def answer_key_text(exercises: ExerciseSet) -> str:
    """One student's answer key: per exercise, the numbers and the expected answer."""
    lines = [f"Lesson {exercises.lesson} answer key for {exercises.student}"]
    for n, expected in exercises.answer_key().items():
        shown = exercises.exercises[n - 1].answer.show(expected)
        lines.append(f"  {exercises.task(n)}\n      → {shown}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: print the answer keys of the given students for a lesson."""
    parser = argparse.ArgumentParser(
        prog="python -m tiermargin.exercises.key",
        description="Print each student's numbers and expected answers for a lesson's exercises.",
    )
    parser.add_argument("lesson", help=f"lesson number ({', '.join(lessons())})")
    parser.add_argument("students", nargs="+", help="student ids")
    args = parser.parse_args(argv)
    try:
        cls = exercise_set(args.lesson)
        keys = [answer_key_text(cls(student_id=sid)) for sid in args.students]
    except ValueError as e:
        parser.error(str(e))
    print("\n\n".join(keys))
    return 0


if __name__ == "__main__":
    sys.exit(main())
