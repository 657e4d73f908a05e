"""Issue 16 #4: exercise checkers never crash.

Every checker of every lesson (the ``Exercises`` class of each ``tiermargin.exercises.lessonNN``,
found by introspection), fed every value of the sweep's :data:`sweep.CATALOGUE` and a few student
mistakes as an answer — a function that raises, a function returning NaN, a list or 10**400, the
right answer × 1.01, as text or wrapped in a list — returns a :class:`Feedback`: "not attempted"
for a placeholder, "wrong" (naming the type given and the type expected when the type is wrong)
for a wrong value, and "correct" only for a value that is genuinely right; the right answer itself
(the library's answer key; for a function exercise, a function returning the library's expected
value on every case) is judged correct. Records are swept one field at a time (the others right)
and with every field set to the value; functions are swept as the answer itself (a value that is
not a function) and as functions returning each value. ``ex.show``, ``ex.check``, ``ex.task`` and
the constructor get the catalogue as the exercise number, the part and the student id or seed:
a derivation, a notice or a clear ValueError/TypeError, never another exception.

Which values are right is decided here, independently of the checkers: a real number within the
kind's tolerances of the expected value, the expected flag, a list of such numbers, or the expected
tier table itself.

    .venv/bin/python tests/test_sweep_exercises.py [--failures]    # counts per outcome
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
import math
import numbers
import pkgutil
import re
import sys
import warnings
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pytest
import sweep

import tiermargin.exercises
from tiermargin.derivation import Derivation
from tiermargin.exercises import Derivations, Feedback, Notice
from tiermargin.exercises.core import ExerciseSet, Flag, Function, Number, NumberList, Record, TierRows, Value, missing
from tiermargin.exercises.key import exercise_set, lessons
from tiermargin.tiers import TierTable

OUTCOMES_OK = ("correct", "not attempted", "wrong type", "wrong with a hint", "wrong without a hint", "shown",
               "clear error")
OUTCOMES_BAD = ("crash", "not feedback", "accepted a wrong answer", "right judged wrong", "placeholder judged wrong",
                "wrong judged not attempted", "unclear wrong type", "multi-line feedback", "overlong feedback",
                "unclear error", "refused a valid value")


@dataclasses.dataclass(frozen=True)
class Outcome:
    lesson: str
    exercise: int | str
    part: str
    value: str
    outcome: str
    detail: str = ""

    def __str__(self) -> str:
        return f"lesson {self.lesson} exercise {self.exercise} {self.part}={self.value}: {self.outcome}: {self.detail}"


# ---------------------------------------------------------------- the answers tried
def raises(*args: Any) -> None:
    """A student's function that fails."""
    raise RuntimeError("boom")


#: Functions a student may pass (as a value, or as the function of a function exercise).
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "a function that raises": raises,
    "a function returning NaN": lambda *args: math.nan,
    "a function returning a list": lambda *args: [1.0, 2.0],
    "a function returning 10**400": lambda *args: 10**400,
}

#: The catalogue, a number beyond the float range, an array whose repr takes two lines and a long list.
VALUES: dict[str, Any] = {**sweep.CATALOGUE, "10**400": 10**400, "2×2 array": np.ones((2, 2)),
                          "1000 numbers": [float(i) for i in range(1000)]}
LONGEST = 2000  # characters of a feedback's message: a student reads it in one go
DIGITS = r"[\d,]{41,}"  # a number written out in more than 40 digits (1e308 as 100,000,000,…)


def scaled(x: Any) -> Any:
    """``x`` with every number × 1.01 (a flag becomes 1.01, a tier table its rows scaled)."""
    if isinstance(x, TierTable):
        return scaled(x.rows())
    if isinstance(x, (list, tuple)):
        return type(x)(scaled(v) for v in x)
    if isinstance(x, Mapping):
        return {k: scaled(v) for k, v in x.items()}
    return None if x is None else x * 1.01


#: Mistakes made from the right answer (name → the right answer → the mistake); the identity last.
FROM_RIGHT: dict[str, Callable[[Any], Any]] = {
    "right × 1.01": scaled,
    "right as text": str,
    "right in a list": lambda right: [right],
    "right as a numpy array": lambda right: np.asarray(right),
    "the right answer": lambda right: right,
}


# ---------------------------------------------------------------- right or not, independently of the checkers
def _number(x: Any) -> float | None:
    """``x`` as a float if it is a real number (not a bool, a 0-d numeric array) a float can hold, else None."""
    if isinstance(x, np.ndarray) and x.ndim == 0 and x.dtype.kind in "iuf":
        x = x[()]
    if isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_)):
        try:
            return float(x)
        except OverflowError:
            return None
    return None


def _items(x: Any) -> list[Any] | None:
    """The items of a list, a tuple or a 1-d array, else None."""
    if isinstance(x, np.ndarray):
        return list(x) if x.ndim == 1 else None
    return list(x) if isinstance(x, (list, tuple)) else None


def typed(kind: Any, x: Any) -> bool:
    """Whether ``x`` is of the type ``kind`` asks for (right or not)."""
    if isinstance(kind, Number):
        return _number(x) is not None
    if isinstance(kind, Flag):
        return isinstance(x, (bool, np.bool_))
    if isinstance(kind, NumberList):
        items = _items(x)
        return items is not None and all(_number(v) is not None for v in items)
    if isinstance(kind, TierRows):
        if isinstance(x, TierTable):
            return True
        rows = _items(x)
        return rows is not None and all(
            (cells := _items(r)) is not None and len(cells) == 4
            and all(_number(c) is not None or (c is None and k in (1, 3)) for k, c in enumerate(cells))
            for r in rows)
    raise AssertionError(f"the sweep does not know the kind {kind!r}: teach typed() and is_right() about it")


def is_right(kind: Any, expected: Any, x: Any) -> bool:
    """Whether ``x`` is a right answer: within the kind's tolerances of ``expected``."""
    if not typed(kind, x):
        return False
    if isinstance(kind, Number):
        got, want = _number(x), float(expected)
        return got == want or abs(got - want) <= max(kind.abs_tol, kind.rel_tol * abs(want))
    if isinstance(kind, Flag):
        return bool(x) == bool(expected)
    if isinstance(kind, NumberList):
        got = _items(x)
        return len(got) == len(expected) and all(is_right(kind.item, e, g) for e, g in zip(expected, got))
    return x is expected  # TierRows: the sweep's only right table is the expected one


# ---------------------------------------------------------------- judging one try
@dataclasses.dataclass(frozen=True)
class Expect:
    """What a try's feedback must be: ``right`` → correct; ``placeholder`` → not attempted; else
    wrong, and when ``given`` (the type name of the answer) is set, its type is wrong: the message
    names it and the hint says ``needed``."""

    right: bool = False
    placeholder: bool = False
    given: str | None = None
    needed: str = ""


def _quiet(call: Callable[[], Any]) -> Any:
    """``call()`` with every warning an error (a NumPy warning is a crash too)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            return call()


def judge(call: Callable[[], Any], expect: Expect, n: int) -> tuple[str, str]:
    """Run ``call`` (an ``ex.check``) and classify its feedback against ``expect``: (outcome, detail)."""
    try:
        fb = _quiet(call)
    except Exception as e:  # noqa: BLE001 -- every exception escaping a checker is the defect looked for
        return "crash", f"{type(e).__name__}: {str(e)[:200]}"
    if not isinstance(fb, Feedback) or fb.exercise != n:
        return "not feedback", repr(fb)[:200]
    text = repr(fb)
    if "\n" in text:
        return "multi-line feedback", text[:300]
    if len(fb.message) > LONGEST:
        return "overlong feedback", f"{len(fb.message)} characters: {text[:300]}"
    if re.search(DIGITS, fb.message):
        return "overlong feedback", f"a number in more than 40 digits: {text[:300]}"
    if expect.right:
        return ("correct", "") if fb.correct else ("right judged wrong", text[:300])
    if fb.correct:
        return "accepted a wrong answer", text[:300]
    if expect.placeholder:
        return ("not attempted", "") if fb.status == "not attempted" else ("placeholder judged wrong", text[:300])
    if fb.status == "not attempted":
        return "wrong judged not attempted", text[:300]
    if expect.given is not None:
        if expect.given in fb.message and expect.needed in fb.hint:
            return "wrong type", ""
        return "unclear wrong type", f"should name {expect.given!r} and {expect.needed!r}: {text[:300]}"
    return ("wrong with a hint", "") if fb.hint else ("wrong without a hint", "")


def type_name(x: Any) -> str:
    """How the feedback names what was given: ``function`` for a callable, ``numpy array`` for an
    array, else its type's name."""
    if isinstance(x, np.ndarray):
        return "numpy array"
    return "function" if callable(x) and not isinstance(x, type) else type(x).__name__


def expect_value(kind: Any, expected: Any, x: Any, needed: str) -> Expect:
    """What checking ``x`` against ``expected`` of ``kind`` must give (``needed``: what the hint says)."""
    if missing(x):
        return Expect(placeholder=True)
    if typed(kind, x):
        return Expect(right=is_right(kind, expected, x))
    return Expect(given=type_name(x), needed=needed)


def tries_for_value(right: Any) -> dict[str, Any]:
    """The answers tried on one value: the catalogue, the functions and the mistakes made from ``right``."""
    return {**VALUES, **FUNCTIONS, **{name: make(right) for name, make in FROM_RIGHT.items()}}


# ---------------------------------------------------------------- sweeping one exercise
Try = tuple[str, str, Callable[[], Feedback], Expect]  # (part, value name, the check, what it must give)


def _value_tries(ex: ExerciseSet, n: int, answer: Value) -> list[Try]:
    right = ex.answer_key()[n]
    needed = f"the answer is {answer.kind.what}"
    return [("answer", name, functools.partial(ex.check, n, x), expect_value(answer.kind, right, x, needed))
            for name, x in tries_for_value(right).items()]


def _record_tries(ex: ExerciseSet, n: int, answer: Record) -> list[Try]:
    right = ex.answer_key()[n]
    out: list[Try] = []
    for field, kind in answer.fields.items():  # one field at a time, the others right
        for name, x in tries_for_value(right[field]).items():
            out.append((field, name, functools.partial(ex.check, n, **{**right, field: x}),
                        expect_value(kind, right[field], x, f"{field} is {kind.what}")))
    for name, x in VALUES.items():  # every field at once
        expect = Expect(placeholder=missing(x),
                        right=all(is_right(kind, right[f], x) for f, kind in answer.fields.items()))
        out.append(("every field", name, functools.partial(ex.check, n, **dict.fromkeys(answer.fields, x)), expect))
    return out


def right_function(ex: ExerciseSet, n: int) -> Callable[..., Callable[..., Any]]:
    """``make(transform, hidden=None)``: a function for exercise ``n`` returning ``transform`` of the
    library's expected value on whichever case (the student's numbers or a hidden one) it is called
    with; on the hidden cases ``hidden`` of it instead, if given."""
    exercise = ex.exercises[n - 1]
    answer: Function = exercise.answer

    def arguments(case: Mapping[str, Any]) -> str:
        return repr(tuple(answer.convert.get(p, lambda v: v)(case[p]) for p in answer.parameters))

    cases = (ex.task(n).numbers, *answer.hidden)
    expected = {arguments(c): exercise.expected(c) for c in cases}
    visible = arguments(cases[0])
    assert len(expected) == len(cases), "two cases with the same arguments: the sweep cannot tell them apart"

    def make(transform: Callable[[Any], Any], hidden: Callable[[Any], Any] | None = None) -> Callable[..., Any]:
        def student(*args: Any) -> Any:
            key = repr(args)
            return (transform if hidden is None or key == visible else hidden)(expected[key])
        return student

    return make


def _function_tries(ex: ExerciseSet, n: int, answer: Function) -> list[Try]:
    kind = answer.returns
    needed = f"must return {kind.what}"
    expected = [ex.exercises[n - 1].expected(c) for c in (ex.task(n).numbers, *answer.hidden)]
    visible = expected[0]
    out: list[Try] = []
    for name, x in VALUES.items():  # not a function at all
        expect = Expect(placeholder=True) if missing(x) else Expect(given=type_name(x),
                                                                    needed=f"ex.check({n}, {answer.name})")
        out.append((answer.name, name, functools.partial(ex.check, n, x), expect))
    for name, f in FUNCTIONS.items():
        expect = Expect() if f is raises else expect_value(kind, visible, f(), needed)
        out.append((answer.name, name, functools.partial(ex.check, n, f), expect))
    make = right_function(ex, n)
    returning = {f"a function returning {name}": functools.partial(lambda x, _: x, x) for name, x in VALUES.items()}
    for name, transform in {**returning, **FROM_RIGHT}.items():
        got = transform(visible)
        if missing(got):
            expect = Expect(placeholder=True)
        elif not typed(kind, got):
            expect = Expect(given=type_name(got), needed=needed)
        else:
            expect = Expect(right=all(is_right(kind, e, transform(e)) for e in expected))
        out.append((answer.name, name, functools.partial(ex.check, n, make(transform)), expect))
    for name, transform in {**returning, **FROM_RIGHT}.items():  # right on the student's numbers only
        got = transform(visible)
        if missing(got):
            expect = Expect()  # a hidden case returning None is wrong, not "not attempted"
        elif not typed(kind, got):
            expect = Expect(given=type_name(got), needed=needed)
        else:
            expect = Expect(right=all(is_right(kind, e, transform(e)) for e in expected[1:]))
        student = make(lambda e: e, hidden=transform)
        out.append((answer.name, f"{name} on the hidden cases", functools.partial(ex.check, n, student), expect))
    return out


def tries(ex: ExerciseSet, n: int) -> list[Try]:
    """Every answer tried on exercise ``n``."""
    answer = ex.exercises[n - 1].answer
    if isinstance(answer, Value):
        return _value_tries(ex, n, answer)
    if isinstance(answer, Record):
        return _record_tries(ex, n, answer)
    if isinstance(answer, Function):
        return _function_tries(ex, n, answer)
    raise AssertionError(f"exercise {n}: the sweep does not know answers of the shape {type(answer).__name__}")


# ---------------------------------------------------------------- show, check, task and the constructor
def _clear(call: Callable[[], Any], names: tuple[str, ...], ok: Callable[[Any], bool]) -> tuple[str, str]:
    """Run ``call``: "shown" when ``ok`` takes its result, "clear error" for a ValueError/TypeError
    naming one of ``names`` and what is allowed, else a failure."""
    try:
        result = _quiet(call)
    except (ValueError, TypeError) as e:
        msg = str(e)
        if any(w in msg for w in names) and sweep._ALLOWED_WORDS.search(msg):
            return "clear error", ""
        return "unclear error", f"{type(e).__name__}: {msg[:200]}"
    except Exception as e:  # noqa: BLE001
        return "crash", f"{type(e).__name__}: {str(e)[:200]}"
    return ("shown", "") if ok(result) else ("not feedback", repr(result)[:200])


def _rendered(d: Any) -> bool:
    """A derivation, derivations or a notice whose text and notebook forms render."""
    if not isinstance(d, (Derivation, Derivations, Notice)):
        return False
    html = getattr(d, "_repr_markdown_", None) or d._repr_html_
    return bool(str(d)) and bool(html())


def surface_outcomes(lesson: str, ex: ExerciseSet) -> list[Outcome]:
    """``show(n)`` and ``show(n, part)`` of every exercise; the catalogue as ``n`` of show, check and
    task, as ``part`` of show, and as the constructor's student id, seed and show switch."""
    out: list[Outcome] = []
    count = len(ex.exercises)
    for n in range(1, count + 1):
        answer = ex.exercises[n - 1].answer
        parts = answer.names if isinstance(answer, Record) else ()
        for part in (None, *parts):
            out.append(Outcome(lesson, n, "show", repr(part), *_clear(lambda: ex.show(n, part), (), _rendered)))
        for name, x in VALUES.items():
            allowed = x is None or (x in parts if isinstance(x, str) else False)
            res = _clear(lambda: ex.show(n, x), ("part",), _rendered)
            out.append(Outcome(lesson, n, "show part", name, *_expected_error(res, allowed)))
    cls = type(ex)
    calls = {"show": ex.show, "check": ex.check, "task": ex.task}
    for name, x in VALUES.items():
        for what, call in calls.items():
            res = _clear(lambda: call(x), ("n ",), lambda r: True)
            out.append(Outcome(lesson, what, "n", name, *_expected_error(res, False)))
        # the constructor: a non-empty text as the id, an int as the seed, a bool as the switch
        for param, allowed in (("student_id", isinstance(x, str) or x is None),
                               ("seed", x is None or type(x) is int), ("show", x is True)):
            res = _clear(lambda: cls(**{param: x}), (param,), lambda r: isinstance(r, cls))
            out.append(Outcome(lesson, "Exercises()", param, name, *_expected_error(res, allowed)))
    return out


def _expected_error(res: tuple[str, str], allowed: bool) -> tuple[str, str]:
    """A shown result is right only where the value is allowed; elsewhere a clear error is."""
    if res[0] == "shown" and not allowed:
        return "accepted a wrong answer", "a value that is not allowed was taken"
    if res[0] == "clear error" and allowed:
        return "refused a valid value", ""
    return res


# ---------------------------------------------------------------- the sweep
@functools.cache
def exercises(lesson: str) -> ExerciseSet:
    """The demo student's exercises of ``lesson``, made once."""
    return exercise_set(lesson)(student_id="demo")


def lesson_outcomes(lesson: str) -> list[Outcome]:
    """Every try on every exercise of ``lesson``, and its surface (show, check, task, constructor)."""
    ex = exercises(lesson)
    out = [Outcome(lesson, n, part, name, *judge(call, expect, n))
           for n in range(1, len(ex.exercises) + 1) for part, name, call, expect in tries(ex, n)]
    return out + surface_outcomes(lesson, ex)


def lesson_modules() -> list[str]:
    """Lesson numbers of every module of :mod:`tiermargin.exercises` with an ``Exercises`` set."""
    found = []
    for info in pkgutil.iter_modules(tiermargin.exercises.__path__):
        mod = importlib.import_module(f"tiermargin.exercises.{info.name}")
        cls = getattr(mod, "Exercises", None)
        if inspect.isclass(cls) and issubclass(cls, ExerciseSet) and cls.exercises:
            found.append(cls.lesson)
    return sorted(found)


def test_every_lesson_with_exercises_is_swept():
    assert lesson_modules() == lessons(), "a lesson module the sweep (key.lessons()) does not see"
    assert lessons() == ["01", "02", "03", "04", "05", "06", "07"]  # can fail: lessons() globbing nothing


@pytest.mark.parametrize("lesson", lessons())
def test_checkers_give_feedback_for_every_catalogue_value(lesson):
    outs = lesson_outcomes(lesson)
    counts = Counter(o.outcome for o in outs)
    failures = [o for o in outs if o.outcome not in OUTCOMES_OK]
    assert not failures, f"{len(failures)} failures: " + "\n".join(map(str, failures[:40]))
    # every shape of answer was swept, and its right answer judged correct
    assert counts["correct"] >= len(exercises(lesson).exercises), counts
    assert counts["wrong type"] and counts["not attempted"] and counts["clear error"], counts


def test_the_judge_can_fail():
    n, boom = 1, lambda: (_ for _ in ()).throw(KeyError("x"))
    assert judge(boom, Expect(), n)[0] == "crash"
    assert judge(lambda: Feedback(n, "correct", "ok"), Expect(), n)[0] == "accepted a wrong answer"
    assert judge(lambda: Feedback(n, "wrong", "no"), Expect(right=True), n)[0] == "right judged wrong"
    assert judge(lambda: Feedback(n, "wrong", "got 2", "a number"), Expect(given="dict", needed="a number"),
                 n)[0] == "unclear wrong type"
    assert judge(lambda: Feedback(n, "not attempted", "..."), Expect(), n)[0] == "wrong judged not attempted"
    assert not is_right(Number(abs_tol=0.01), 5.0, 5.02) and is_right(Number(abs_tol=0.01), 5.0, 5.004)
    assert not is_right(Number(), 5.0, True) and not is_right(Flag(), True, 1)


def main(argv: list[str]) -> None:
    total: Counter[str] = Counter()
    for lesson in lessons():
        outs = lesson_outcomes(lesson)
        counts = Counter(o.outcome for o in outs)
        total += counts
        print(f"lesson {lesson}", ", ".join(f"{k}: {counts[k]}" for k in (*OUTCOMES_OK, *OUTCOMES_BAD) if counts[k]))
        if "--failures" in argv:
            for o in outs:
                if o.outcome not in OUTCOMES_OK:
                    print("   ", o)
    print("total    ", ", ".join(f"{k}: {total[k]}" for k in (*OUTCOMES_OK, *OUTCOMES_BAD) if total[k]))


if __name__ == "__main__":
    main(sys.argv[1:])
