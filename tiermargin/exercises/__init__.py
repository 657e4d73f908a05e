"""Exercises with instant feedback: checkers with hidden cases and hints, per-student numbers.

Each lesson has a module (``lesson02``...) with an ``Exercises`` class; a notebook uses it so:

>>> from tiermargin.exercises import lesson02
>>> ex = lesson02.Exercises(student_id="demo")   # or seed=42; the numbers follow the id
>>> task = ex.task(1)                            # this student's numbers: task.qty, task.entry...
>>> ex.check(1, ...)                             # correct, wrong with a hint, or not attempted
Exercise 1 — not attempted: replace ... with your answer
>>> ex.check(1, ex.show(1).result)                # the derivation on this student's numbers
Exercise 1 — correct: 55,916.67 USDT

``ex.show(n)`` (after a wrong answer) derives the answer on the student's own numbers, and a
recognised mistake's hint names the line where it goes wrong; an instructor switches it off for
graded work with ``Exercises(student_id, show=False)`` or ``TIERMARGIN_SHOW=off`` (see
:mod:`tiermargin.exercises.show`).

On a JupyterHub the student id defaults to the hub user (``JUPYTERHUB_USER``); ids are normalised
(case, whitespace); without one the set shows a notice that these are the demo numbers. The
exercise notebooks pass ``written_for=`` the tiermargin version they were written for, and a
mismatch with the installed checker says so and what to do.

The solutions notebooks in ``exercises/solutions/`` are the source of the student notebooks
(``python -m tiermargin.exercises.generate``); instructors print answer keys (text, CSV or JSON)
with :mod:`tiermargin.exercises.key`, which needs the instructor secret (see its docstring).

This package is not imported by ``import tiermargin``.
"""

from .core import ExerciseSet, Task
from .feedback import Feedback
from .show import Derivations, Notice

__all__ = ["Derivations", "ExerciseSet", "Feedback", "Notice", "Task"]
