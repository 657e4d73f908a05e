"""Issue 19 #4: answers beyond the float range get feedback, never an OverflowError."""

from fractions import Fraction

import pytest

from tiermargin.exercises.core import Function, Record
from tiermargin.exercises.key import exercise_set, lessons

HUGE = (10**400, -(10**400), Fraction(10**400, 3))


def _cases():
    return [(lesson, n) for lesson in lessons() for n in range(1, len(exercise_set(lesson).exercises) + 1)]


@pytest.mark.parametrize("lesson, n", _cases())
def test_huge_numbers_and_functions_returning_them_get_feedback(lesson, n):
    ex = exercise_set(lesson)("demo")
    answer = ex.exercises[n - 1].answer
    if isinstance(answer, Function):
        tries = [lambda *a, **k: 10**400, lambda *a, **k: [10**400], lambda *a, **k: Fraction(10**400, 7)]
        feedback = [ex.check(n, f) for f in tries]
    elif isinstance(answer, Record):
        feedback = [ex.check(n, **{field: v for field in answer.fields}) for v in HUGE]
    else:
        feedback = [ex.check(n, v) for v in HUGE]
    for f in feedback:
        assert f.status == "wrong", str(f)
        assert any(w in str(f) for w in ("an int", "a Fraction", "a list")), str(f)  # names what was given
