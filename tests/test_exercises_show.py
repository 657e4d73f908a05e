"""``ex.show(n)``: the derivation of an exercise on the student's own numbers (issue 15 #3).

* every exercise with a derivation shows one whose result is the exercise's expected answer, for
  many students (each part of a record; a flag is the sign of the health shown);
* the exercises without one (yet) show a notice, never an error; so does a part without one;
* a recognised mistake's hint ends with ``(see line k of ex.show(n))``, k looked up on the
  student's derivation with ``Derivation.line_number`` — checked for every mistake that names a line;
* the instructor's switch: ``show=False`` or ``TIERMARGIN_SHOW=off`` turns ``show`` into a notice and
  the pointers off.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import pytest

from tiermargin.derivation import Derivation
from tiermargin.exercises import lesson02, lesson03, lesson04
from tiermargin.exercises.core import Exercise, ExerciseSet, Flag, Function, Mistake, NumberList, Record, Value
from tiermargin.exercises.key import exercise_set, lessons
from tiermargin.exercises.show import ENV, Derivations, Notice, switched_off

STUDENTS = ("demo", "alice", "bob", "8f3a-2291", "Zoë", "carol", "dave", "eve")

# lesson → exercise → the parts with a derivation (None: the exercise's one answer). Every other
# exercise (and part) shows a notice: see the report's list of the explanations they need.
DERIVED: dict[str, dict[int, tuple[str, ...] | None]] = {
    "01": {1: None, 2: None, 3: None, 4: None, 5: None, 6: ("on_last", "on_mark")},
    "02": {1: None, 2: None, 3: ("legacy", "coinw", "binance", "liquidated"), 4: None, 5: None, 6: None, 7: None},
    "03": {1: None, 2: None, 3: None, 4: None, 5: None, 6: ("isolated_lp", "cross_lp", "isolated_loss", "cross_loss")},
    "04": {1: None, 2: ("step_below", "step_above", "continuous_below", "continuous_above"), 3: None, 4: None, 5: None,
           6: None, 7: ("maintenance_margin", "max_leverage")},
    "05": {1: ("bankruptcy", "surplus"), 2: None, 3: ("one_tier", "lowest_sufficient"),
           4: ("equity_full", "equity_stepwise", "fund_full", "fund_stepwise"), 5: None},
    "06": {1: ("balance", "shortfall"), 2: None, 3: None, 4: None, 5: ("qty", "pnl"), 6: None, 7: None},
    "07": {1: ("move", "fill"), 2: ("left", "time"), 3: None, 4: None, 5: ("extra_notional", "extra_fund_loss")},
}


@pytest.fixture(autouse=True)
def _show_on(monkeypatch):
    """Whatever the environment running the tests says, derivations are on unless a test switches them off."""
    monkeypatch.delenv(ENV, raising=False)


def cases() -> list[tuple[str, int]]:
    return [(lesson, n) for lesson in lessons() for n in range(1, len(exercise_set(lesson).exercises) + 1)]


def definition(lesson: str, n: int) -> Exercise:
    return exercise_set(lesson).exercises[n - 1]


def numbers(ex: ExerciseSet, n: int) -> Mapping[str, Any]:
    return ex.task(n).numbers


def agrees(kind: Any, expected: Any, d: Derivation) -> bool:
    """The derivation's result is the expected answer: to 1e-9 for a number, the health's sign for a
    flag, the amounts' lines for a list (exercise 04.3: cum_1 = 0 then each cum_k)."""
    if isinstance(kind, Flag):
        return (float(d.result) <= 0) == bool(expected)
    if isinstance(kind, NumberList):
        items = [ln.value for ln in d.lines if re.fullmatch(r"item_\d+", ln.key)]  # a list answer's lines, in order
        values = items or [ln.value for ln in d.lines if ln.key in ("cum_1", "cum")]
        return len(values) == len(expected) and all(math.isclose(v, e, rel_tol=1e-9, abs_tol=1e-9)
                                                    for v, e in zip(values, expected))
    from tiermargin.exercises.core import TierRows  # a tier table's rows: floor_k, cap_k, mmr_k, max_leverage_k lines

    if isinstance(kind, TierRows):  # exercise 04.4 (TierTable.explain_ccxt): row k read from its four lines
        n_rows = sum(1 for ln in d.lines if re.fullmatch(r"floor_\d+", ln.key))
        rows = [[d.line(f"{c}_{k}").value for c in ("floor", "cap", "mmr", "max_leverage")] for k in range(1, n_rows + 1)]
        return n_rows == d.result and kind.matches(expected, [[f, None if c == math.inf else c, r, lv]
                                                              for f, c, r, lv in rows])
    return math.isclose(float(d.result), float(expected), rel_tol=1e-9, abs_tol=1e-9)


def test_the_table_of_derived_exercises_names_every_lesson():
    assert sorted(DERIVED) == lessons()


# ---------------------------------------------------------------- results equal the expected answers
@pytest.mark.parametrize("lesson, n", [(lesson, n) for lesson, ns in DERIVED.items() for n in ns])
@pytest.mark.parametrize("sid", STUDENTS)
def test_show_derives_the_expected_answer_on_the_students_numbers(lesson, n, sid):
    ex = exercise_set(lesson)(student_id=sid)
    definition_ = definition(lesson, n)
    expected = ex.answer_key()[n]
    parts = DERIVED[lesson][n]
    shown = ex.show(n)
    if parts is None:
        kind = definition_.answer.kind if isinstance(definition_.answer, Value) else definition_.answer.returns
        assert isinstance(shown, Derivation), shown
        assert agrees(kind, expected, shown), (shown, expected)
        return
    assert isinstance(definition_.answer, Record)
    assert isinstance(shown, Derivations) and shown.parts == definition_.answer.names
    for name in definition_.answer.names:
        one = ex.show(n, name)
        if name in parts:
            assert isinstance(one, Derivation) and shown[name] == one
            assert agrees(definition_.answer.fields[name], expected[name], one), (name, one, expected[name])
        else:
            assert isinstance(one, Notice) and "no derivation yet for this part" in one.text
            assert shown[name] == one


@pytest.mark.parametrize("seed", range(12))
def test_the_derivations_hold_on_seeds_too(seed):
    for lesson, ns in DERIVED.items():
        ex = exercise_set(lesson)(seed=seed)
        key = ex.answer_key()
        for n, parts in ns.items():
            answer = definition(lesson, n).answer
            if parts is None:
                kind = answer.kind if isinstance(answer, Value) else answer.returns
                assert agrees(kind, key[n], ex.show(n)), (lesson, n)
            else:
                for name in parts:
                    assert agrees(answer.fields[name], key[n][name], ex.show(n, name)), (lesson, n, name)


@pytest.mark.parametrize("lesson, n", cases())
def test_an_exercise_without_a_derivation_shows_a_notice(lesson, n):
    ex = exercise_set(lesson)(student_id="demo")
    shown = ex.show(n)
    if n in DERIVED[lesson]:
        assert definition(lesson, n).derivation is not None
        assert not isinstance(shown, Notice)
    else:
        assert definition(lesson, n).derivation is None
        assert isinstance(shown, Notice)
        assert shown.text.startswith(f"Exercise {n} ({definition(lesson, n).title}) has no derivation yet")
        assert str(shown) == repr(shown) == shown.text and "no derivation yet" in shown._repr_html_()


def test_a_part_is_shown_alone_or_with_the_others():
    ex = lesson02.Exercises(student_id="alice")
    every = ex.show(3)
    assert every.parts == ("legacy", "coinw", "binance", "liquidated") and len(every) == 4
    assert every["coinw"] == ex.show(3, "coinw") and every["coinw"].line("ratio").formula.startswith("CoinW ratio")
    assert [name for name, _ in every] == list(every.parts)
    text = str(every)
    assert all(f"ex.show(3, {name!r})" in text for name in every.parts)
    assert "Margin ratio (coinw)" in text and "Health of" in text
    markdown = every._repr_markdown_()
    assert markdown.count("### ") == 4 and "**Margin ratio (binance)" in markdown
    with pytest.raises(KeyError, match="the parts are legacy, coinw"):
        every["ratio"]


def test_a_wrong_part_or_exercise_number_is_an_error():
    ex = lesson02.Exercises(student_id="demo")
    with pytest.raises(ValueError, match="no part 'ratio'; its parts are 'legacy', 'coinw'"):
        ex.show(3, "ratio")
    with pytest.raises(ValueError, match="one answer, no parts: show it with ex.show\\(1\\)"):
        ex.show(1, "bankruptcy")
    for bad in (0, 8, True, "1"):
        with pytest.raises(ValueError, match="n must be an exercise number from 1 to 7"):
            ex.show(bad)


def test_a_derivation_prints_and_displays():
    d = lesson02.Exercises(student_id="demo").show(7)
    text = str(d)
    assert text.startswith("Liquidation price of a") and "  1. " in text and "Rule:" in text
    assert d._repr_markdown_().startswith("**Liquidation price")


# ---------------------------------------------------------------- hints point at the derivation's lines
def _given(ex_def: Exercise, ex: ExerciseSet, n: int, m: Mistake) -> tuple[tuple[Any, ...], dict[str, Any], str | None]:
    """The check call that makes mistake ``m`` (args, kwargs) and the field whose hint is reported."""
    wrong = m.answer(numbers(ex, n))
    if isinstance(ex_def.answer, Record):
        expected = ex.answer_key()[n]
        given = {**expected, **wrong}
        first = next(name for name in ex_def.answer.names if name in wrong)
        return (), given, first
    if isinstance(ex_def.answer, Function):
        return (lambda *args: wrong,), {}, None
    return (wrong,), {}, None


def _first_match(ex_def: Exercise, ex: ExerciseSet, n: int, field: str | None, got: Any) -> Mistake | None:
    """The first mistake matching ``got`` (the one whose hint the checker gives)."""
    answer = ex_def.answer
    kind = answer.fields[field] if field else answer.kind if isinstance(answer, Value) else answer.returns
    for m in ex_def.mistakes:
        wrong = m.answer(numbers(ex, n))
        if field is not None:
            if field not in wrong:
                continue
            wrong = wrong[field]
        try:
            if kind.matches(wrong, got):
                return m
        except Exception:
            continue
    return None


POINTED = [(lesson, n, k) for lesson, n in cases() for k, m in enumerate(definition(lesson, n).mistakes)
           if m.line is not None]


def test_some_mistakes_of_every_derived_lesson_point_at_a_line():
    assert {lesson for lesson, _, _ in POINTED} == {"01", "02", "03", "04", "05", "06", "07"}
    assert len(POINTED) >= 25


@pytest.mark.parametrize("lesson, n, k", POINTED)
def test_a_mistakes_hint_names_its_line_of_the_students_derivation(lesson, n, k):
    ex_def = definition(lesson, n)
    m = ex_def.mistakes[k]
    checked = 0
    for sid in STUDENTS:
        ex = exercise_set(lesson)(student_id=sid)
        args, kwargs, field = _given(ex_def, ex, n, m)
        got = kwargs[field] if field else args[0]
        if callable(got):
            got = m.answer(numbers(ex, n))
        fb = ex.check(n, *args, **kwargs)
        if fb.status != "wrong" or _first_match(ex_def, ex, n, field, got) is not m:
            continue  # on these numbers the mistake gives the right answer, or another mistake's
        d = ex.show(n, field) if field else ex.show(n)
        key = m.line(numbers(ex, n)) if callable(m.line) else m.line
        call = f"ex.show({n}, {field!r})" if field else f"ex.show({n})"
        assert fb.hint == f"{m.hint} (see line {d.line_number(key)} of {call})", fb
        checked += 1
    assert checked >= 3, f"the mistake was recognised for {checked} students only"


def test_the_pointed_lines_are_where_the_mistakes_happen():
    ex = lesson02.Exercises(student_id="alice")
    t7 = numbers(ex, 7)
    fb = ex.check(7, lesson02._tier_at_entry_lp(t7))
    k = int(fb.hint.rsplit("see line ", 1)[1].split()[0])
    line = ex.show(7).lines[k - 1]
    # the candidate of the tier at entry, rejected: its size is in another tier
    assert line.key.startswith("root_") and "rejected" in line.why and math.isclose(
        line.value / t7["qty"], lesson02._tier_at_entry_lp(t7), rel_tol=1e-9)
    ex4 = lesson04.Exercises(student_id="bob")
    t1 = numbers(ex4, 1)
    fb = ex4.check(1, lesson04._mm_in_tier(t1, +1))
    k = int(fb.hint.rsplit("see line ", 1)[1].split()[0])
    assert ex4.show(1).lines[k - 1].key == "tier" and ex4.show(1).lines[k - 1].why.startswith("tier ")
    ex3 = lesson03.Exercises(student_id="carol")
    fb = ex3.check(5, lesson03._cross_lp(numbers(ex3, 5), extra=lesson03._eth_mm(numbers(ex3, 5))))
    k = int(fb.hint.rsplit("see line ", 1)[1].split()[0])
    assert ex3.show(5).lines[k - 1].key == "mm_2" and "ETHUSDT" in ex3.show(5).lines[k - 1].why


def test_a_mistake_names_a_line_only_on_an_exercise_with_a_derivation():
    for lesson, n in cases():
        ex_def = definition(lesson, n)
        if any(m.line is not None for m in ex_def.mistakes):
            assert ex_def.derivation is not None, (lesson, n)


def test_a_general_hint_has_no_pointer():
    ex = lesson02.Exercises(student_id="demo")
    fb = ex.check(7, ex.answer_key()[7] + 123.0)
    assert fb.hint == lesson02.TIER_CHANGE.hint and "ex.show" not in fb.hint


def test_a_pointer_that_cannot_be_resolved_is_left_out():
    m = Mistake(lambda n: 2.0, "two", line="nowhere")
    ex_def = Exercise("t", lambda d: {}, lambda n: 1.0, Value(lesson02.MONEY), "general", (m,),
                      derivation=lambda n: lesson02.TierTable.single(0.01).explain(100.0))
    assert ex_def.line_pointer(m, {}, 1) == ""
    assert ex_def.mismatch_hint(lesson02.MONEY, {}, 1.0, 2.0, n=1) == "two"
    with_line = Mistake(lambda n: 2.0, "two", line="mm")
    assert ex_def.line_pointer(with_line, {}, 1) == " (see line 3 of ex.show(1))"
    assert ex_def.mismatch_hint(lesson02.MONEY, {}, 1.0, 2.0, n=None) == "two"  # show off: no pointer


# ---------------------------------------------------------------- the instructor's switch
def test_show_false_switches_derivations_off():
    ex = lesson02.Exercises(student_id="demo", show=False)
    assert not ex.showing
    for n in range(1, 8):
        shown = ex.show(n)
        assert isinstance(shown, Notice) and "derivations are switched off for this assignment" in shown.text
    assert isinstance(ex.show(3, "coinw"), Notice)
    t7 = numbers(ex, 7)
    fb = ex.check(7, lesson02._tier_at_entry_lp(t7))
    assert fb.status == "wrong" and fb.hint == lesson02.TIER_CHANGE.mistakes[0].hint and "ex.show" not in fb.hint
    assert "derivations switched off" in repr(ex)
    # the checks themselves are unchanged
    assert ex.check(7, ex.answer_key()[7]).correct


@pytest.mark.parametrize("value", ["off", "0", "false", "No", " OFF "])
def test_the_environment_variable_switches_every_set_off(monkeypatch, value):
    monkeypatch.setenv(ENV, value)
    assert switched_off()
    for module in (lesson02, lesson03, lesson04):
        ex = module.Exercises(student_id="alice", show=True)  # the environment wins over the notebook
        assert not ex.showing and isinstance(ex.show(1), Notice) and "switched off" in ex.show(1).text
    ex = lesson02.Exercises(student_id="demo")
    assert "ex.show" not in ex.check(2, lesson02._bybit(numbers(ex, 2)).bankruptcy_price().price).hint


@pytest.mark.parametrize("value", ["", "1", "on", "yes"])
def test_other_values_leave_show_on(monkeypatch, value):
    monkeypatch.setenv(ENV, value)
    ex = lesson02.Exercises(student_id="demo")
    assert ex.showing and isinstance(ex.show(1), Derivation) and "switched off" not in repr(ex)
    assert "(see line 1 of ex.show(1))" in ex.check(1, lesson02.BANKRUPTCY.mistakes[0].answer(numbers(ex, 1))).hint


def test_show_must_be_a_bool():
    with pytest.raises(TypeError, match="show must be True or False"):
        lesson02.Exercises(student_id="demo", show="no")
