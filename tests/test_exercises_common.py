"""Exercise checkers, the checks every lesson shares: run for each lesson from a small spec.

Correct / wrong with a hint / not attempted, wrong types, the lesson's sections named in the hints,
records checked field by field, functions' type hints and hidden cases, per-student variants and
the answer-key CLI, for lessons 01 to 07 alike: each test is parametrized over :data:`LESSONS`, one
:class:`Lesson` per lesson saying which exercises are values, records and functions and where the
lessons differ (tolerances, texts, pinned numbers).

The right answers are the hand solutions of each lesson's own test file (its ``right_answer``),
worked out there in plain Python independently of the checkers; the tests particular to one lesson
(recognised mistakes, hidden cases, published examples, drawn numbers) stay in that file.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
import test_exercises as t02
import test_exercises_lesson01 as t01
import test_exercises_lesson03 as t03
import test_exercises_lesson04 as t04
import test_exercises_lesson05 as t05
import test_exercises_lesson06 as t06
import test_exercises_lesson07 as t07

import tiermargin as tm
from tiermargin.exercises import Feedback, lesson01, lesson02, lesson03, lesson04, lesson05, lesson06, lesson07
from tiermargin.exercises.core import ExerciseSet
from tiermargin.exercises.key import answer_key_text, exercise_set, lessons
from tiermargin.exercises.key import main as key_main
from tiermargin.liquidation import liquidate

T = TypeVar("T")
Answer = tuple[tuple[Any, ...], dict[str, Any]]
STUDENTS = ("demo", "alice", "bob", "8f3a-2291", "Zoë")
UNLABELLED = "a hidden case failed:"  # how a failed hidden case is introduced when the cases have no labels
LABELLED = "a hidden case failed ("  # ... and when they have: "a hidden case failed (a short): ..."


# ---------------------------------------------------------------- the spec
def off_by_cents(v: float) -> tuple[float, ...]:
    """Wrong money values: a dollar over, two cents under, half as much again and 3 more."""
    return (v + 1.0, v - 0.02, v + (0.5 * v + 3))


def within_a_cent(v: float) -> float:
    """A money value still right: checked to the cent."""
    return v + 0.004


@dataclass(frozen=True)
class Value:
    """A value exercise: the type its hints name, wrong answers near the right one, one still right."""

    what: str
    wrong: Callable[[float], tuple[float, ...]] = off_by_cents
    near: Callable[[float], float] = within_a_cent


@dataclass(frozen=True)
class Function:
    """A function exercise: its name, the student template's stub, and how wrong types are told."""

    name: str  # ex.check(n, name)
    stub: Callable[..., None]  # the template's function, its body ``...``
    text: str  # an answer written as text instead of a function
    returns: Any  # a return value of a wrong type...
    returned: str  # ...as the message names it
    must_return: str  # what the hint says the function must return
    hidden_failed: str  # UNLABELLED or LABELLED


@dataclass(frozen=True, eq=False)
class Lesson:
    """One lesson's exercises as the generic tests see them (hashed by identity)."""

    key: str  # the answer-key CLI's name of the lesson
    exercises: type[ExerciseSet]
    notebook: str  # named in every hint
    right_answer: Callable[[Any, int], Answer]  # the hand solutions, in the lesson's test file
    values: Mapping[int, Value]
    records: Mapping[int, tuple[str, ...]]  # exercise → its fields
    functions: Mapping[int, Function]
    sections: Mapping[int, tuple[str, ...]]  # exercise → the sections its general hint names
    value_text: str  # a value answer written as text
    wrong_types: tuple[Any, ...]
    wrong_field: Callable[[Any], Any]  # a record's field made wrong
    field_hint: str  # what the hint for a wrong field names
    per_student: tuple[int, ...]  # the exercises whose answer differs between alice and bob
    pinned: Mapping[int, str]  # exercise → repr of the demo student's task (the notebook's numbers)
    key_lines: Callable[[], list[str]]  # what alice's and bob's printed answer keys show, by hand
    flag_records: tuple[int, ...] = ()  # records of flags only: True is the right type there
    spread_ids: int = 40  # among this many student ids, 20 must draw different numbers
    library_function: Callable[..., Any] | None = None  # the library's solution of the function exercise

    @property
    def numbers(self) -> range:
        """The exercise numbers, 1 to N."""
        return range(1, len(self.exercises.exercises) + 1)


def raises(*args: Any) -> None:
    """A student's function that fails, with a message of two lines."""
    raise RuntimeError("boom\nwith a second line")


# the student templates' functions, left as they come: a body of ``...`` (any_function: the
# arguments taken as they come)
def any_function(*args: Any) -> None:
    ...  # YOUR CODE HERE


def index(quotes, weights, threshold):
    ...  # YOUR CODE HERE


def collateral(amount, bounds, rates):
    ...  # YOUR CODE HERE


def liquidation_steps(table, side, qty, entry, margin, mark):
    ...  # YOUR CODE HERE


def adl_score(side, qty, entry, margin, mark):
    ...  # YOUR CODE HERE


def steps_by_liquidate(table, side, qty, entry, margin, mark) -> list[float]:
    """Lesson 05's function exercise solved with ``liquidate`` (one-tier at one mark)."""
    pos = tm.IsolatedPosition(table, side, qty, entry, margin, leverage=1)
    return [e.contracts_left for e in liquidate(pos, [0.0], [mark], "one-tier").events]


def score_by_the_library(*args: Any) -> float:
    """Lesson 06's function exercise solved with the checker's own expected answer."""
    return lesson06.RANKING.expected(dict(zip(lesson06.RANKING.answer.parameters, args)))


USDT = Value("a number in USDT")
RATIO = Value("a ratio as a fraction", wrong=lambda v: (v + 0.01 * v, v - 0.002 * v, v - 0.5 * v),
              near=lambda v: v * (1 + 1e-8))

LESSONS = (
    Lesson(
        key="01",
        exercises=lesson01.Exercises,
        notebook=t01.LESSON,
        right_answer=t01.right_answer,
        values=dict.fromkeys((1, 2, 3, 4), USDT),
        records={6: ("on_last", "on_mark")},
        functions={5: Function("index", index, "2005", "2005", "returned a str", "must return a number", UNLABELLED)},
        sections={1: ("The median of three",), 2: ("Index price",), 3: ("The median of three",),
                  4: ("Basis and its moving average",)},
        value_text="2005",
        wrong_types=("2005", [1.0], {"answer": 1.0}, raises, lambda *args: "2005", True, 1j, float("nan"), (1.0, 2.0)),
        wrong_field=operator.not_,
        field_hint="A wick does not liquidate",
        flag_records=(6,),
        per_student=(1, 2, 3, 4),
        pinned={1: "Exercise 1 for 'demo': index=30900, funding_rate=0.0002, time_to_funding=1.5, interval=4"},
        key_lines=t01.answer_key_lines,
    ),
    Lesson(
        key="02",
        exercises=lesson02.Exercises,
        notebook="lessons/02_isolated_margin.ipynb",
        right_answer=t02.right_answer,
        values=dict.fromkeys((1, 2, 4, 7), Value("a number in USDT", wrong=lambda v: (v + 1.0, v - 0.02, v + 0.5 * v))),
        records={3: ("legacy", "coinw", "binance", "liquidated")},
        functions={
            n: Function(name, any_function, "19700", "19700", "returned a str", "must return a number", UNLABELLED)
            for n, name in ((5, "liquidation_price"), (6, "largest_position"))
        },
        sections={},
        value_text="19700",
        wrong_types=("19700", [1.0], {"answer": 1.0}, raises, lambda *args: "19700", True, 1j, float("nan")),
        wrong_field=lambda v: not v if isinstance(v, bool) else v * 1.001,  # a ratio 0.1 % off, the flag flipped
        field_hint="lessons/02_isolated_margin.ipynb",
        per_student=(1, 2, 4, 7, 3),
        pinned={1: "Exercise 1 for 'demo': side='long', qty=0.8, entry=61000, leverage=12"},
        key_lines=t02.answer_key_lines,
    ),
    Lesson(
        key="03",
        exercises=lesson03.Exercises,
        notebook=t03.LESSON,
        right_answer=t03.right_answer,
        values={1: RATIO, 2: RATIO, 3: Value("a number in USD"), 5: USDT},
        records={6: ("isolated_lp", "cross_lp", "isolated_loss", "cross_loss")},
        functions={4: Function("collateral", collateral, "10.3M", "10.3M", "returned a str", "must return a number",
                               UNLABELLED)},
        sections={
            1: ("One account, one health", "Open orders"),
            2: ("Hedge mode and net contracts",),
            3: ("Several currencies: no single liquidation price",),
            4: ("Several currencies: no single liquidation price",),
            5: ("One account, one health",),
            6: ("Isolated vs cross",),
        },
        value_text="10.3M",
        wrong_types=("10.3M", [1.0], {"answer": 1.0}, raises, lambda *args: "10.3M", True, 1j, float("nan"),
                     (1.0, 2.0)),
        wrong_field=lambda v: v + 7.5,
        field_hint="Isolated vs cross",
        per_student=(1, 2, 3, 5, 6),
        pinned={3: "Exercise 3 for 'demo': amount=5450000, bounds=(0, 1000000, 3000000, 6000000, inf), "
                   "rates=(1, 0.95, 0.9, 0.75)"},
        key_lines=t03.answer_key_lines,
    ),
    Lesson(
        key="04",
        exercises=lesson04.Exercises,
        notebook=t04.LESSON,
        right_answer=t04.right_answer,
        values=dict.fromkeys((1, 5, 6), USDT),
        records=t04.RECORD_EXERCISES,
        functions={
            n: Function(name, any_function, "1300", "1300", "returned a str", f"{name} must return", LABELLED)
            for n, name in ((3, "maintenance_amounts"), (4, "from_ccxt"))
        },
        sections={
            1: ("Step and continuous forms", "Maintenance amounts"),
            2: ("Step and continuous forms",),
            3: ("Maintenance amounts",),
            4: ("Maintenance amounts",),
            5: ("Max leverage and how large you can go",),
            6: ("Maintenance amounts",),
            7: ("Continuous alternatives",),
        },
        value_text="1300",
        wrong_types=("1300", [1.0], {"answer": 1.0}, raises, lambda *args: "1300", True, 1j, float("nan"), (1.0, 2.0)),
        wrong_field=lambda v: v * 1.01 + 1,
        field_hint=t04.LESSON,
        per_student=(1, 5, 6, 2, 7),
        pinned={1: "Exercise 1 for 'demo': qty=30, price=29250, table='binance-usdm-btcusdt-2021', "
                   "tiers=((50000, 250000, 0.005, 50), (250000, 1000000, 0.01, 1300), "
                   "(1000000, 10000000, 0.025, 16300))"},
        key_lines=t04.answer_key_lines,
    ),
    Lesson(
        key="05",
        exercises=lesson05.Exercises,
        notebook=t05.LESSON,
        right_answer=t05.right_answer,
        # the library's 1e-9 nudge under the cap is within the tolerance
        values={2: Value("a number in contracts", wrong=lambda v: (v + 1, v * 0.99, v * 1.5 + 3),
                         near=lambda v: v * (1 + 1e-8))},
        records={1: ("bankruptcy", "surplus"), 3: ("one_tier", "lowest_sufficient"),
                 4: ("equity_full", "equity_stepwise", "fund_full", "fund_stepwise")},
        functions={5: Function("liquidation_steps", liquidation_steps, "1300", 18.1, "returned a float",
                               "liquidation_steps must return a list of numbers", LABELLED)},
        sections=t05.SECTIONS,
        value_text="18.1",
        # a list of numbers is a right type here: a list with a str in it is not
        wrong_types=("18.1", {"answer": 1.0}, raises, lambda *args: "18.1", True, 1j, float("nan"), [1.0, "2"]),
        wrong_field=lambda v: [x + 7 for x in v] if isinstance(v, list) else v * 1.01 + 1,
        field_hint=t05.LESSON,
        per_student=(1, 2, 3, 4),
        pinned={
            1: "Exercise 1 for 'demo': side='long', qty=8, entry=34250, leverage=10, "
               "table='binance-usdm-btcusdt-2021', closed=3.2, fill=30780",
            3: "Exercise 3 for 'demo': side='long', qty=300, entry=55000, leverage=8, "
               "table='binance-usdm-btcusdt-2021', mark=48909",
        },
        key_lines=t05.answer_key_lines,
        spread_ids=30,
        library_function=steps_by_liquidate,
    ),
    Lesson(
        key="06",
        exercises=lesson06.Exercises,
        notebook=t06.LESSON,
        right_answer=t06.right_answer,
        values={2: USDT, 3: Value("a number in contracts", near=lambda v: v + 1e-7)},
        records={1: ("balance", "shortfall"), 5: ("qty", "pnl")},
        functions={4: Function("adl_score", adl_score, "0.5", "0.5", "returned a str", "adl_score must return a number",
                               LABELLED)},
        sections={
            1: ("The fund's ledger",),
            2: ("The fund's ledger",),
            3: ("When the fund runs dry",),
            4: ("Ranking and the queue",),
            5: ("Ranking and the queue", "When the fund runs dry"),
            6: ("Ranking and the queue",),
            7: ("Daily reconciliation at 16:00 UTC+8",),
        },
        value_text="3",
        wrong_types=("1300", [1.0], {"answer": 1.0}, raises, lambda *args: "1300", True, 1j, float("nan"), (1.0, "2")),
        wrong_field=lambda v: [x * 1.01 + 1 for x in v] if isinstance(v, list) else v * 1.01 + 1,
        field_hint=t06.LESSON,
        per_student=(2, 3, 6, 7, 1, 5),
        pinned={
            1: "Exercise 1 for 'demo': start=11500, results=(-2850, 350, -22500, 550, 2500)",
            6: "Exercise 6 for 'demo': positions=((60, 0.71), (10, 4.89), (100, 2.74), (60, 0.38), (50, 3.69), "
               "(30, 3.58), (50, 3.95))",
        },
        key_lines=t06.answer_key_lines,
        library_function=score_by_the_library,
    ),
    Lesson(
        key="07",
        exercises=lesson07.Exercises,
        notebook=t07.LESSON,
        right_answer=t07.right_answer,
        values={3: USDT, 4: Value("a number", wrong=lambda v: (v * 1.01, v * 0.998, v * 1.5 + 3),
                                  near=lambda v: v * (1 + 1e-8))},
        records=t07.RECORD_EXERCISES,
        functions={},
        sections=t07.SECTIONS,
        value_text="57000",
        wrong_types=("1300", [1.0], {"answer": 1.0}, raises, lambda *args: "1300", True, 1j, float("nan"), (1.0, "2")),
        wrong_field=lambda v: v * 1.01 + 1,
        field_hint=t07.LESSON,
        per_student=(1, 2, 3, 4, 5),
        pinned={
            1: "Exercise 1 for 'demo': side='short', price=58270, notional=300000000, depth=50000000",
            4: "Exercise 4 for 'demo': traders=4000, seed=353, size=0.03, depth=2000000, shock_order=6091841, "
               "liquidated=127116173, alone=11900372",
        },
        key_lines=t07.answer_key_lines,
    ),
)


# ---------------------------------------------------------------- helpers
def cases(numbers: Callable[[Lesson], Iterable[int]]) -> list[Any]:
    """``(lesson, n)`` for every lesson and each of its exercises ``numbers`` picks, named ``01-3``."""
    return [pytest.param(lesson, n, id=f"{lesson.key}-{n}") for lesson in LESSONS for n in numbers(lesson)]


def by_key(lesson: Lesson) -> str:
    """The test id of a lesson: ``01``."""
    return lesson.key


def label(x: Any) -> str:
    """A short, stable test id for an answer: a function's name, else its repr."""
    return getattr(x, "__name__", None) or repr(x)


@functools.cache
def demo(lesson: Lesson) -> ExerciseSet:
    """The demo student's exercises of a lesson (made once, like the lesson files' fixture)."""
    return lesson.exercises(student_id="demo")


def check(ex: ExerciseSet, n: int, answer: Answer) -> Feedback:
    """``ex.check(n, ...)`` with a hand solution's (args, kwargs)."""
    args, kwargs = answer
    return ex.check(n, *args, **kwargs)


def distinct(items: list[T]) -> list[T]:
    """The items without repeats, by equality (numbers may hold dicts, which do not hash)."""
    return [x for k, x in enumerate(items) if x not in items[:k]]


# ---------------------------------------------------------------- correct / wrong / not attempted
@pytest.mark.parametrize("student", STUDENTS)
@pytest.mark.parametrize("lesson, n", cases(lambda lesson: lesson.numbers))
def test_hand_solution_is_correct(lesson, n, student):
    ex = lesson.exercises(student_id=student)
    fb = check(ex, n, lesson.right_answer(ex, n))
    assert fb.status == "correct", fb


@pytest.mark.parametrize("lesson, n", cases(lambda lesson: lesson.numbers if lesson.library_function else ()))
def test_the_librarys_answer_is_correct(lesson, n):
    ex = demo(lesson)
    key = ex.answer_key()[n]
    if n in lesson.functions:
        fb = ex.check(n, lesson.library_function)
    elif n in lesson.records:
        fb = ex.check(n, **key)
    else:
        fb = ex.check(n, key)
    assert fb.status == "correct", fb


@pytest.mark.parametrize("lesson, n", cases(lambda lesson: lesson.values))
def test_a_wrong_number_is_wrong_with_a_hint(lesson, n):
    ex, value = demo(lesson), lesson.values[n]
    (right,), _ = lesson.right_answer(ex, n)
    for wrong in value.wrong(right):
        fb = ex.check(n, wrong)
        assert fb.status == "wrong" and fb.hint, fb
        assert lesson.notebook in fb.hint, fb
    assert ex.check(n, value.near(right)).status == "correct"


@pytest.mark.parametrize("lesson, n", cases(lambda lesson: lesson.sections))
def test_the_general_hint_names_the_lesson_sections(lesson, n):
    hint = lesson.exercises.exercises[n - 1].hint
    assert lesson.notebook in hint
    for section in lesson.sections[n]:
        assert f"“{section}”" in hint


@pytest.mark.parametrize("lesson, n", cases(lambda lesson: lesson.records))
def test_each_field_of_a_record_is_checked(lesson, n):
    ex, names = demo(lesson), lesson.records[n]
    _, good = lesson.right_answer(ex, n)
    for name in names:
        fb = ex.check(n, **{**good, name: lesson.wrong_field(good[name])})
        assert fb.status == "wrong" and name in fb.message and lesson.field_hint in fb.hint, fb
        assert all(other not in fb.message for other in names if other != name)


@pytest.mark.parametrize("lesson, n", cases(lambda lesson: lesson.records))
def test_a_record_partly_done_is_not_attempted_yet(lesson, n):
    ex = demo(lesson)
    _, good = lesson.right_answer(ex, n)
    first, *rest = lesson.records[n]
    fb = ex.check(n, **{first: good[first]})
    assert fb.status == "not attempted" and f"still to do: {', '.join(rest)}" in fb.message
    assert ex.check(n, **{first: lesson.wrong_field(good[first])}).status == "wrong"


@pytest.mark.parametrize(
    "lesson, n, bad",
    [
        pytest.param(lesson, n, bad, id=f"{lesson.key}-{n}-{label(bad)}")
        for lesson in LESSONS
        for n in lesson.numbers
        for bad in lesson.wrong_types
        if not (bad is True and n in lesson.flag_records)
    ],
)
def test_wrong_types_are_wrong_never_an_exception(lesson, n, bad):
    ex = demo(lesson)
    if n in lesson.records:
        fb = ex.check(n, **dict.fromkeys(lesson.records[n], bad))
    else:
        fb = ex.check(n, bad)
    assert fb.status == "wrong", fb
    assert fb.hint, fb
    assert "\n" not in repr(fb)


@pytest.mark.parametrize("lesson, n", cases(lambda lesson: lesson.values))
def test_value_type_hints_name_the_expected_type(lesson, n):
    for bad in (lesson.value_text, [1.0], {"a": 1}, raises):
        assert lesson.values[n].what in demo(lesson).check(n, bad).hint


@pytest.mark.parametrize("lesson, n", cases(lambda lesson: lesson.functions))
def test_function_type_hints(lesson, n):
    ex, function = demo(lesson), lesson.functions[n]
    for bad in (function.text, [1.0], {"a": 1}, 3.0):
        assert f"ex.check({n}, {function.name})" in ex.check(n, bad).hint
    fb = ex.check(n, raises)
    assert "raised RuntimeError: boom with a second line" in fb.message
    fb = ex.check(n, lambda *args: function.returns)
    assert function.returned in fb.message and function.must_return in fb.hint


@pytest.mark.parametrize("lesson, n", cases(lambda lesson: lesson.numbers))
def test_none_and_ellipsis_are_not_attempted(lesson, n):
    ex = demo(lesson)
    names = lesson.exercises.exercises[n - 1].answer.names
    for placeholder in (None, ...):
        fb = ex.check(n, *[placeholder] * len(names))
        assert fb.status == "not attempted", fb
    assert ex.check(n).status == "not attempted"


@pytest.mark.parametrize("lesson, n", cases(lambda lesson: lesson.functions))
def test_a_function_body_of_ellipsis_is_not_attempted(lesson, n):
    assert demo(lesson).check(n, lesson.functions[n].stub).status == "not attempted"


# ---------------------------------------------------------------- hidden cases of the functions
@pytest.mark.parametrize("student", STUDENTS)
@pytest.mark.parametrize("lesson, n", cases(lambda lesson: lesson.functions))
def test_a_function_right_only_on_the_visible_case_fails_a_hidden_case(lesson, n, student):
    ex = lesson.exercises(student_id=student)
    visible = ex.answer_key()[n]
    fb = ex.check(n, lambda *args: visible)
    assert fb.status == "wrong" and lesson.functions[n].hidden_failed in fb.message, fb
    assert "should be" in fb.message and "got" in fb.message and lesson.notebook in fb.hint


# ---------------------------------------------------------------- variants
@pytest.mark.parametrize("lesson", LESSONS, ids=by_key)
def test_same_id_same_numbers_and_the_numbers_are_pinned(lesson):
    a, b = lesson.exercises(student_id="demo"), lesson.exercises(student_id="demo")
    assert all(a.task(n).numbers == b.task(n).numbers for n in lesson.numbers)
    assert a.answer_key() == b.answer_key()
    # sha256-derived: the same on every machine (these are the committed notebooks' numbers)
    for n, shown in lesson.pinned.items():
        assert repr(a.task(n)) == shown


@pytest.mark.parametrize("lesson, n", cases(lambda lesson: lesson.numbers))
def test_ids_spread_over_many_numbers(lesson, n):
    drawn = [dict(lesson.exercises(student_id=f"student-{i}").task(n).numbers) for i in range(lesson.spread_ids)]
    assert len(distinct(drawn)) >= 20


@pytest.mark.parametrize("lesson, n", cases(lambda lesson: lesson.per_student))
def test_each_student_checker_accepts_its_own_answer_and_rejects_the_others(lesson, n):
    alice, bob = lesson.exercises(student_id="alice"), lesson.exercises(student_id="bob")
    assert alice.task(n).numbers != bob.task(n).numbers
    assert check(alice, n, lesson.right_answer(alice, n)).status == "correct"
    assert check(bob, n, lesson.right_answer(bob, n)).status == "correct"
    assert check(alice, n, lesson.right_answer(bob, n)).status == "wrong"
    assert check(bob, n, lesson.right_answer(alice, n)).status == "wrong"


@pytest.mark.parametrize("lesson", LESSONS, ids=by_key)
def test_sequences_in_the_numbers_are_tuples(lesson):
    # a student's code cannot change the numbers the checker uses
    for n in lesson.numbers:
        for value in lesson.exercises(student_id="demo").task(n).numbers.values():
            assert isinstance(value, (str, int, float, tuple)), value


# ---------------------------------------------------------------- answer keys
@pytest.mark.parametrize("lesson", LESSONS, ids=by_key)
def test_the_lesson_is_listed_and_its_answer_key_printed(lesson, capsys):
    assert lesson.key in lessons() and exercise_set(lesson.key) is lesson.exercises
    assert key_main([lesson.key, "alice", "bob"]) == 0
    out = capsys.readouterr().out
    for sid in ("alice", "bob"):
        ex = lesson.exercises(student_id=sid)
        assert answer_key_text(ex) in out
        for n in lesson.numbers:
            assert repr(ex.task(n)) in out
    for line in lesson.key_lines():
        assert line in out
