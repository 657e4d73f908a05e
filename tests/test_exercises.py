"""Exercise checkers: lesson 02's particular checks (ratios, functions, recognised mistakes, hidden
cases, published examples, drawn numbers) and the framework's (bad ids and seeds, bad use of
``check`` and ``task``, the feedback display, the answer-key CLI). The checks every lesson shares
(correct / wrong with a hint / not attempted, wrong types, per-student variants, the answer key
printed) run for lesson 02 in ``test_exercises_common.py`` from the hand solutions here.

Correct answers here are worked out by hand (the formulas a student would use, with the table
lookups of the library), independently of the checkers' expected answers; published worked
examples pin a few of those.
"""

from __future__ import annotations

import pytest

import tiermargin as tm
from tiermargin.exercises import Feedback, lesson02
from tiermargin.exercises.core import Draw, Task
from tiermargin.exercises.key import lessons
from tiermargin.exercises.key import main as key_main

CENT = 0.005
N = len(lesson02.Exercises.exercises)
FUNCTION_EXERCISES = (5, 6)


# ---------------------------------------------------------------- hand solutions
def sign(side: str) -> int:
    return 1 if side == "long" else -1


def mm_at(table: tm.TierTable, value: float) -> float:
    """MM = value·MMR_k − cum_k, the tier taken at that value."""
    return value * table.rate(value) - table.maintenance_amount(value)


def binance_lp(table: tm.TierTable, k: int, side: str, qty: float, entry: float, margin: float) -> float:
    """Binance FAQ one-way formula, tier k (0-based) fixed: (M + cum − s·Q·EP)/(Q·MMR − s·Q)."""
    s = sign(side)
    return (margin + table.cum[k] - s * qty * entry) / (qty * table.mmr[k] - s * qty)


def hand_lp(side, qty, entry, margin, mmr):
    s = sign(side)
    return (margin - s * qty * entry) / (qty * mmr - s * qty)


def hand_largest(table, leverage):
    best = None
    for cap, lev in zip(table.caps, table.max_leverage):
        if lev >= leverage:
            best = cap
    return best


def hand_ratios(t: Task) -> dict:
    table = tm.load_table(t.table)
    value = t.qty * t.mark
    equity = t.qty * t.entry / t.leverage + sign(t.side) * t.qty * (t.mark - t.entry)
    mm = mm_at(table, value)
    return {"legacy": equity / value, "coinw": equity / mm, "binance": mm / equity, "liquidated": equity <= mm}


def hand_margin_to_add(t: Task) -> float:
    table = tm.load_table(t.table)
    margin = t.qty * t.entry / t.leverage
    return mm_at(table, t.qty * t.target) - margin - sign(t.side) * t.qty * (t.target - t.entry)


def hand_self_consistent_lp(t: Task) -> float:
    table = tm.load_table(t.table)
    margin = t.qty * t.entry / t.leverage
    for k in range(table.n_tiers):
        lp = binance_lp(table, k, t.side, t.qty, t.entry, margin)
        if lp > 0 and table.tier_index(t.qty * lp) == k:
            return lp
    raise AssertionError("no self-consistent tier")


HAND_VALUES = {
    1: lambda t: t.entry * (1 - 1 / t.leverage),
    2: lambda t: t.entry - (t.qty * t.entry / t.leverage - t.qty * t.entry * t.mmr) / t.qty,
    4: hand_margin_to_add,
    7: hand_self_consistent_lp,
}
HAND_FUNCTIONS = {5: hand_lp, 6: hand_largest}


def right_answer(ex: lesson02.Exercises, n: int) -> tuple[tuple, dict]:
    """(args, kwargs) of a correct ``ex.check(n, ...)`` call, worked out by hand."""
    t = ex.task(n)
    if n in HAND_VALUES:
        return (HAND_VALUES[n](t),), {}
    if n in HAND_FUNCTIONS:
        return (HAND_FUNCTIONS[n],), {}
    return (), hand_ratios(t)


def answer_key_lines() -> list[str]:
    """Lines of bob's printed answer key, worked out by hand."""
    return [f"{hand_self_consistent_lp(lesson02.Exercises(student_id='bob').task(7)):.2f} USDT"]


@pytest.fixture(scope="module")
def demo():
    return lesson02.Exercises(student_id="demo")


# ---------------------------------------------------------------- ratios and functions
def test_a_ratio_given_as_a_percentage_gets_a_pointed_hint(demo):
    _, good = right_answer(demo, 3)
    fb = demo.check(3, **{**good, "coinw": 100 * good["coinw"]})
    assert fb.status == "wrong" and "percentage" in fb.hint


def test_ratios_left_as_placeholders_are_still_to_do(demo):
    _, good = right_answer(demo, 3)
    fb = demo.check(3, legacy=good["legacy"], coinw=good["coinw"], binance=..., liquidated=None)
    assert fb.status == "not attempted" and "binance, liquidated" in fb.message
    assert demo.check(3, legacy=good["legacy"] * 2, coinw=...).status == "wrong"


@pytest.mark.parametrize("n", FUNCTION_EXERCISES)
def test_a_wrong_function_is_wrong(demo, n):
    right = HAND_FUNCTIONS[n]
    fb = demo.check(n, lambda *args: right(*args) * 1.01)
    assert fb.status == "wrong" and fb.hint and "your numbers" in fb.message


# ---------------------------------------------------------------- hidden cases
def test_a_liquidation_function_that_forgets_shorts_fails(demo):
    fb = demo.check(5, lambda side, qty, entry, margin, mmr: hand_lp("long", qty, entry, margin, mmr))
    assert fb.status == "wrong" and "side='short'" in fb.message


def test_largest_position_strict_inequality_fails_a_hidden_case(demo):
    # At exactly a tier's max leverage the tier is allowed: BTCUSDT at 20x → 10,000,000. The demo
    # student's leverage is no tier's max, so ">" passes the visible case and fails a hidden one.
    t = demo.task(6)
    assert t.leverage not in tm.load_table(t.table).max_leverage

    def strict(table, leverage):
        caps = [cap for cap, lev in zip(table.caps, table.max_leverage) if lev > leverage]
        return caps[-1] if caps else 0.0

    fb = demo.check(6, strict)
    assert fb.status == "wrong" and "should be 10,000,000, got 1,000,000" in fb.message


def test_hidden_cases_cover_shorts_and_several_tables():
    lp_cases = lesson02.LP_FUNCTION.answer.hidden
    assert {c["side"] for c in lp_cases} == {"long", "short"}
    tables = {c["table"] for c in lesson02.LARGEST.answer.hidden}
    assert len(tables) >= 5 and any(tm.load_table(t).basis == "contracts" for t in tables)
    assert any(tm.load_table(t).max_size == float("inf") for t in tables)


# ---------------------------------------------------------------- recognised mistakes
def test_bybit_exercise_recognises_the_mark_rule_and_the_bankruptcy_price(demo):
    t = demo.task(2)
    im = t.qty * t.entry / t.leverage
    at_mark = hand_lp(t.side, t.qty, t.entry, im, t.mmr)  # MM valued at the liquidation price
    assert "at entry" in demo.check(2, at_mark).hint
    bankruptcy = t.entry - im / t.qty
    assert "bankruptcy price" in demo.check(2, bankruptcy).hint


def test_tier_change_exercise_recognises_the_naive_calculator(demo):
    t = demo.task(7)
    table = tm.load_table(t.table)
    k_entry = int(table.tier_index(t.qty * t.entry))
    naive = binance_lp(table, k_entry, t.side, t.qty, t.entry, t.qty * t.entry / t.leverage)
    fb = demo.check(7, naive)
    assert fb.status == "wrong" and "tier at entry" in fb.hint


def test_margin_exercise_recognises_the_bankruptcy_version(demo):
    t = demo.task(4)
    margin = t.qty * t.entry / t.leverage
    to_bankruptcy = -(margin + sign(t.side) * t.qty * (t.target - t.entry))
    assert "bankruptcy price" in demo.check(4, to_bankruptcy).hint


# ---------------------------------------------------------------- expected answers vs the library and published numbers
def test_bybit_published_example():
    # Bybit help "Liquidation Price (USDT Contract)": long 1 BTC at 20,000, 50x, MMR 0.5% → 19,700.
    n = {"side": "long", "qty": 1, "entry": 20_000, "leverage": 50, "mmr": 0.005}
    assert lesson02.BYBIT.expected(n) == pytest.approx(19_700, abs=CENT)


def test_binance_tier_change_published_style_example():
    # Long 17 BTC at 60,000, 20x: tier 4 at entry, tier 3 at the liquidation price 57,498.51.
    n = {"side": "long", "qty": 17, "entry": 60_000, "leverage": 20, "table": "binance-usdm-btcusdt-2021"}
    assert lesson02.TIER_CHANGE.expected(n) == pytest.approx(57_498.51, abs=CENT)


def test_function_expectations_on_known_cases():
    assert lesson02.LP_FUNCTION.expected(
        {"side": "long", "qty": 1, "entry": 20_000, "margin": 400, "mmr": 0.005}
    ) == pytest.approx(19_698.49, abs=CENT)
    assert lesson02.LARGEST.expected({"table": "binance-usdm-btcusdt-2021", "leverage": 20}) == 10_000_000
    for case in lesson02.LARGEST.answer.hidden:
        assert lesson02.LARGEST.expected(case) == hand_largest(tm.load_table(case["table"]), case["leverage"])
    for case in lesson02.LP_FUNCTION.answer.hidden:
        assert lesson02.LP_FUNCTION.expected(case) == pytest.approx(hand_lp(**case), abs=1e-6)


@pytest.mark.parametrize("seed", range(60))
def test_drawn_numbers_make_the_intended_exercise(seed):
    ex = lesson02.Exercises(seed=seed)
    # 4: the target is beyond today's liquidation price, and adding the answer puts it there
    t = ex.task(4)
    p = tm.IsolatedPosition.open(tm.load_table(t.table), t.side, t.qty, t.entry, t.leverage)
    added = ex.answer_key()[4]
    assert added > 0
    assert p.add_margin(added).liquidation_price().price == pytest.approx(t.target, abs=CENT)
    # 7: the tier at the liquidation price differs from the tier at entry, and a calculator keeping
    # the tier at entry warns too late (the notebook's question)
    t = ex.task(7)
    p = tm.IsolatedPosition.open(tm.load_table(t.table), t.side, t.qty, t.entry, t.leverage)
    lp = p.liquidation_price()
    assert lp.tier != p.tier(t.entry)
    naive = p.liquidation_price_in_tier(p.tier(t.entry)).price
    assert abs(naive - t.entry) > abs(lp.price - t.entry)
    # 3: the mark is short of the bankruptcy price (equity > 0: every ratio is finite)
    t = ex.task(3)
    p = tm.IsolatedPosition.open(tm.load_table(t.table), t.side, t.qty, t.entry, t.leverage)
    assert p.equity(t.mark) > 0


def test_both_outcomes_of_the_liquidated_flag_occur():
    flags = {lesson02.Exercises(seed=s).answer_key()[3]["liquidated"] for s in range(40)}
    assert flags == {True, False}


# ---------------------------------------------------------------- variants
def test_seed_and_student_id():
    assert lesson02.Exercises(seed=3).student == "seed 3"
    assert lesson02.Exercises().student == "'demo' (no student id)"
    three, four = lesson02.Exercises(seed=3), lesson02.Exercises(seed=4)
    assert any(three.task(n).numbers != four.task(n).numbers for n in range(1, N + 1))
    assert lesson02.Exercises(seed=3).answer_key() == three.answer_key()


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"student_id": ""}, ValueError),
        ({"student_id": "  "}, ValueError),
        ({"student_id": 42}, ValueError),
        ({"seed": "x"}, TypeError),
        ({"seed": 1.5}, TypeError),
        ({"seed": True}, TypeError),
        ({"student_id": "a", "seed": 1}, ValueError),
    ],
)
def test_bad_student_id_or_seed(kwargs, error):
    with pytest.raises(error, match="student_id|seed"):
        lesson02.Exercises(**kwargs)


def test_bad_use_of_check_and_task_names_the_parameter(demo):
    for n in (0, N + 1, "1", 1.0, True):
        with pytest.raises(ValueError, match="n must be an exercise number"):
            demo.check(n, 1.0)
        with pytest.raises(ValueError, match="n must be an exercise number"):
            demo.task(n)
    with pytest.raises(TypeError, match="legacy, coinw, binance, liquidated"):
        demo.check(3, lecacy=0.1)
    with pytest.raises(TypeError, match="takes 1 answer"):
        demo.check(1, 1.0, 2.0)


def test_task_gives_the_numbers_as_attributes(demo):
    t = demo.task(5)
    assert (t.side, t.qty, t.entry, t.margin, t.mmr) == tuple(t.numbers.values())
    with pytest.raises(AttributeError, match="has no number 'price'"):
        t.price
    assert repr(t).startswith("Exercise 5 for 'demo': side=")


def test_draw_needs_options():
    with pytest.raises(ValueError, match="options"):
        Draw("k").choice("x", ())


# ---------------------------------------------------------------- feedback display
def test_feedback_text_and_html():
    fb = Feedback(2, "wrong", "got <1>", "use a & b")
    assert repr(fb) == "Exercise 2 — wrong: got <1>. Hint: use a & b"
    assert "got &lt;1&gt;" in fb._repr_html_() and "#c62828" in fb._repr_html_()
    assert repr(Feedback(2, "correct", "19,700.00 USDT")) == "Exercise 2 — correct: 19,700.00 USDT"
    assert Feedback(2, "correct", "x").correct and not fb.correct
    with pytest.raises(ValueError, match="status"):
        Feedback(1, "right", "x")


# ---------------------------------------------------------------- answer keys
def test_answer_key_cli_rejects_an_unknown_lesson_naming_every_lesson(capsys):
    with pytest.raises(SystemExit) as e:
        key_main(["99", "alice"])
    assert e.value.code != 0
    assert f"lesson must be one of {', '.join(lessons())}; got '99'" in capsys.readouterr().err
    assert lessons()[:2] == ["01", "02"]
