"""Exercises with instant feedback: checkers with hidden cases and hints, per-student numbers.

Each lesson has a module (``lesson02``...) with an ``Exercises`` class; a notebook uses it so:

>>> from tiermargin.exercises import lesson02
>>> ex = lesson02.Exercises(student_id="demo")   # or seed=42; the numbers follow the id
>>> task = ex.task(1)                            # this student's numbers: task.qty, task.entry...
>>> ex.check(1, ...)                             # correct, wrong with a hint, or not attempted
Exercise 1 — not attempted: replace ... with your answer
>>> ex.show(1).result == ex.answer_key()[1]      # the derivation on this student's numbers
True

``ex.show(n)`` (after a wrong answer) derives the answer on the student's own numbers, and a
recognised mistake's hint names the line where it goes wrong; an instructor switches it off for
graded work with ``Exercises(student_id, show=False)`` or ``TIERMARGIN_SHOW=off`` (see
:mod:`tiermargin.exercises.show`).

The solutions notebooks in ``exercises/solutions/`` are the source of the student notebooks
(``python -m tiermargin.exercises.generate``); instructors print answer keys with
``python -m tiermargin.exercises.key 02 alice bob``.

This package is not imported by ``import tiermargin``.
"""

from .core import ExerciseSet, Task
from .feedback import Feedback
from .show import Derivations, Notice

__all__ = ["Derivations", "ExerciseSet", "Feedback", "Notice", "Task"]
