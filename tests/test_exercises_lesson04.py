"""Lesson 04 exercise checkers (gradient tiers): what is particular to the lesson's exercises (type
hints of lists and tier rows, recognised mistakes, hidden cases, published numbers, drawn numbers)
and the framework's kinds added for them (lists of numbers, tier rows, mistakes per field of a
record). The checks every lesson shares (correct / wrong with a hint / not attempted, wrong types,
per-student variants, the answer-key CLI) run for it in ``test_exercises_common.py`` from the hand
solutions here.

Correct answers here are worked out by hand in plain Python (the formulas a student would apply to
the published rows: the snippet's rows, ``load_table``'s floors, caps and rates), independently of
the checkers' expected answers, which come from ``tiermargin.tiers``, ``IsolatedPosition`` and
``LinearSchedule``; published numbers pin a few of those: Binance's BTCUSDT 2021 maintenance
amounts (0, 50, 1,300, 16,300, ...; the FAQ's "250,000 × (1% − 0.5%) + 50 = 1,300"), its 264,000
USDT example at 1 %, Hyperliquid's 150,000,000 × (2.5% − 1.25%) and Deribit's 2 % / 1 % + 0.005 % per
BTC.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tiermargin as tm
from tiermargin.exercises import lesson04
from tiermargin.exercises.core import (
    Exercise,
    ExerciseSet,
    Function,
    Mistake,
    Number,
    NumberList,
    Record,
    Task,
    TierRows,
    WrongType,
)

CENT = 0.005
LESSON = "lessons/04_gradient_tiers.ipynb"
RECORD_EXERCISES = {2: ("step_below", "step_above", "continuous_below", "continuous_above"),
                    7: ("maintenance_margin", "max_leverage")}
STUDENTS = ("demo", "alice", "bob", "8f3a-2291", "Zoë")
BTC = "binance-usdm-btcusdt-2021"
# Binance USDⓈ-M BTCUSDT, 2021 (the table of the FAQ "How to Calculate Liquidation Price of USDⓈ-M
# Futures Contracts"): floors, rates, maintenance amounts and max leverage as published
BTC_FLOORS = (0, 50_000, 250_000, 1_000_000, 10_000_000, 20_000_000, 50_000_000, 100_000_000, 200_000_000, 300_000_000)
BTC_MMR = (0.004, 0.005, 0.01, 0.025, 0.05, 0.10, 0.125, 0.15, 0.25, 0.5)
BTC_CUM = (0, 50, 1_300, 16_300, 266_300, 1_266_300, 2_516_300, 5_016_300, 25_016_300, 100_016_300)
BTC_LEVERAGE = (125, 100, 50, 20, 10, 5, 4, 3, 2, 1)


# ---------------------------------------------------------------- hand solutions
def sign(side: str) -> int:
    return 1 if side == "long" else -1


def row_of(tiers, value):
    """The row (floor, cap, MMR, maintenance amount) with floor < value ≤ cap (Binance's brackets)."""
    (row,) = [r for r in tiers if r[0] < value <= r[1]]
    return row


def hand_mm(t: Task) -> float:
    value = t.qty * t.price
    _, _, mmr, cum = row_of(t.tiers, value)
    return value * mmr - cum


def hand_jump(t: Task) -> dict[str, float]:
    out = {}
    for where, mark in (("below", t.mark_below), ("above", t.mark_above)):
        value = t.qty * mark
        _, _, mmr, cum = row_of(t.tiers, value)
        out[f"step_{where}"] = value * mmr
        out[f"continuous_{where}"] = value * mmr - cum
    return out


def hand_amounts(rows):
    """cum_1 = 0, cum_k = cum_{k−1} + floor_k·(MMR_k − MMR_{k−1})."""
    amounts = [0.0]
    for k in range(1, len(rows)):
        amounts.append(amounts[-1] + rows[k][0] * (rows[k][2] - rows[k - 1][2]))
    return amounts


def hand_from_ccxt(response):
    return [[t["minNotional"], t["maxNotional"], t["maintenanceMarginRate"], t["maxLeverage"]] for t in response]


def hand_largest(t: Task) -> float:
    table = tm.load_table(t.table)
    allowed = [cap for cap, lev in zip(table.caps, table.max_leverage) if lev >= t.leverage]
    return float(allowed[-1])


def hand_lps(t: Task) -> tuple[float, float]:
    """(true, calculator's) liquidation prices: Binance's one-way formula, tier at entry, with and
    without the maintenance amount."""
    table = tm.load_table(t.table)
    s, size = sign(t.side), t.qty * t.entry
    mmr, cum = float(table.rate(size)), float(table.maintenance_amount(size))
    margin = size / t.leverage
    return ((margin + cum - s * size) / (t.qty * mmr - s * t.qty),
            (margin - s * size) / (t.qty * mmr - s * t.qty))


def hand_error(t: Task) -> float:
    true, naive = hand_lps(t)
    return abs(naive - true)


def hand_deribit(t: Task, slope: float = 0.00005, size: float | None = None) -> dict[str, float]:
    """Deribit BTC: MM% = 1% + size·0.005%, IM% = 2% + size·0.005%, size in BTC."""
    x = t.qty if size is None else size
    return {"maintenance_margin": (0.01 + slope * x) * t.qty * t.mark, "max_leverage": 1 / (0.02 + slope * x)}


HAND_VALUES = {1: hand_mm, 5: hand_largest, 6: hand_error}
HAND_RECORDS = {2: hand_jump, 7: hand_deribit}
HAND_FUNCTIONS = {3: hand_amounts, 4: hand_from_ccxt}


def right_answer(ex: lesson04.Exercises, n: int) -> tuple[tuple, dict]:
    """(args, kwargs) of a correct ``ex.check(n, ...)`` call, worked out by hand."""
    t = ex.task(n)
    if n in HAND_VALUES:
        return (HAND_VALUES[n](t),), {}
    if n in HAND_FUNCTIONS:
        return (HAND_FUNCTIONS[n],), {}
    return (), HAND_RECORDS[n](t)


def answer_key_lines() -> list[str]:
    """Lines of alice's printed answer key, worked out by hand."""
    alice = lesson04.Exercises(student_id="alice")
    amounts = ", ".join(f"{a:.10g}" for a in hand_amounts(alice.task(3).rows))
    return [f"{hand_mm(alice.task(1)):.2f} USDT", f"[{amounts}] on these numbers, plus 8 hidden cases"]


@pytest.fixture(scope="module")
def demo():
    return lesson04.Exercises(student_id="demo")


def student(seed: int) -> lesson04.Exercises:
    return lesson04.Exercises(seed=seed)


# ---------------------------------------------------------------- type hints of records, lists and rows
def test_record_type_hints_name_the_field(demo):
    fb = demo.check(7, maintenance_margin="83475", max_leverage=40)
    assert fb.status == "wrong" and "maintenance_margin is a str" in fb.message
    assert "maintenance_margin is a number in USDC" in fb.hint


def test_a_list_with_a_non_number_names_the_item(demo):
    fb = demo.check(3, lambda rows: [0, "50"] + [0] * (len(rows) - 2))
    assert fb.status == "wrong" and "a list whose item at index 1 is a str ('50')" in fb.message
    assert "must return a list of numbers" in fb.hint


def test_rows_read_from_the_raw_info_are_wrong_types_naming_the_row(demo):
    fb = demo.check(4, lambda response: [[t["info"]["notionalFloor"], t["info"]["notionalCap"],
                                          t["info"]["maintMarginRatio"], t["info"]["initialLeverage"]]
                                         for t in response])
    assert fb.status == "wrong" and "a list whose row at index 0 (tier 1) is a list (['0'" in fb.message, fb
    assert "a TierTable or a list of rows [floor, cap, mmr, max_leverage]" in fb.hint
    fb = demo.check(4, lambda response: response)  # the dicts themselves
    assert fb.status == "wrong" and "whose row at index 0 (tier 1) is a dict" in fb.message


# ---------------------------------------------------------------- recognised mistakes
def hint_for(ex, n, wrong):
    """The hint for a wrong value, checking first that it is wrong (not the right answer too)."""
    (right,), _ = right_answer(ex, n)
    assert abs(wrong - right) > 0.01, "this mistake gives the right answer on these numbers"
    fb = ex.check(n, wrong)
    assert fb.status == "wrong", fb
    return fb.hint


@pytest.mark.parametrize("sid", STUDENTS)
def test_mm_recognises_the_step_form_the_added_amount_the_neighbouring_tiers_and_tier_1(sid):
    ex = lesson04.Exercises(student_id=sid)
    t = ex.task(1)
    value = t.qty * t.price
    below, here, above = t.tiers  # the snippet: the tier of the value and both neighbours
    assert below[1] < value <= here[1]
    assert "step form" in hint_for(ex, 1, value * here[2])
    assert "added the maintenance amount" in hint_for(ex, 1, value * here[2] + here[3])
    for neighbour in (below, above):
        assert "neighbouring tier" in hint_for(ex, 1, value * neighbour[2] - neighbour[3])
    if below[0] > 0:  # else the tier below is the first tier: its hint is the neighbour's
        assert "first tier's rate" in hint_for(ex, 1, value * tm.load_table(t.table).mmr[0])


@pytest.mark.parametrize("sid", STUDENTS)
def test_jump_recognises_the_forms_swapped_and_the_tiers_swapped_field_by_field(sid):
    ex = lesson04.Exercises(student_id=sid)
    t = ex.task(2)
    good = hand_jump(t)
    step_as_continuous = {**good, "continuous_below": good["step_below"], "continuous_above": good["step_above"]}
    fb = ex.check(2, **step_as_continuous)
    assert fb.status == "wrong" and "step_below" not in fb.message and "continuous_below" in fb.message
    assert fb.hint.startswith("that is value·MMR_k, the step form")
    fb = ex.check(2, **{**good, "step_above": good["continuous_above"]})
    assert fb.status == "wrong" and "the step form has no maintenance amount" in fb.hint
    # above the boundary, still charged at the lower tier
    lower, upper = t.tiers
    above = t.qty * t.mark_above
    fb = ex.check(2, **{**good, "step_above": above * lower[2]})
    assert fb.status == "wrong" and "two different tiers" in fb.hint
    fb = ex.check(2, **{**good, "continuous_above": above * lower[2] - lower[3]})
    assert fb.status == "wrong" and "two different tiers" in fb.hint
    # a field wrong in no recognised way gets the exercise's hint
    fb = ex.check(2, **{**good, "continuous_below": good["continuous_below"] + 7})
    assert fb.hint == lesson04.JUMP.hint


def not_cumulative(rows):
    return [0.0] + [rows[k][0] * (rows[k][2] - rows[k - 1][2]) for k in range(1, len(rows))]


def without_first(rows):
    return hand_amounts(rows)[1:]


def reversed_sign(rows):
    return [-x for x in hand_amounts(rows)]


def own_caps(rows):
    amounts = [0.0]
    for k in range(1, len(rows)):
        cap = math.inf if rows[k][1] is None else rows[k][1]
        amounts.append(amounts[-1] + cap * (rows[k][2] - rows[k - 1][2]))
    return amounts


def previous_floors(rows):
    amounts = [0.0]
    for k in range(1, len(rows)):
        amounts.append(amounts[-1] + rows[k - 1][0] * (rows[k][2] - rows[k - 1][2]))
    return amounts


@pytest.mark.parametrize(
    "wrong, shows",
    [
        (not_cumulative, "only the steps"),
        (without_first, "cum_1 = 0"),
        (reversed_sign, "sign is reversed"),
        (own_caps, "cap of tier k"),
        (previous_floors, "floor of tier k − 1"),
    ],
    ids=lambda x: getattr(x, "__name__", "hint"),
)
@pytest.mark.parametrize("sid", STUDENTS)
def test_amounts_function_recognises_mistakes_on_the_students_numbers(sid, wrong, shows):
    ex = lesson04.Exercises(student_id=sid)
    fb = ex.check(3, wrong)
    assert fb.status == "wrong" and "on your numbers" in fb.message and shows in fb.hint, fb


def swapped_rate_and_leverage(response):
    return [[t["minNotional"], t["maxNotional"], t["maxLeverage"], t["maintenanceMarginRate"]] for t in response]


def swapped_floor_and_cap(response):
    return [[t["maxNotional"], t["minNotional"], t["maintenanceMarginRate"], t["maxLeverage"]] for t in response]


def last_tier_first(response):
    return hand_from_ccxt(response)[::-1]


@pytest.mark.parametrize(
    "wrong, shows",
    [
        (swapped_rate_and_leverage, "maintenanceMarginRate comes before maxLeverage"),
        (swapped_floor_and_cap, "starts with its floor, minNotional"),
        (last_tier_first, "tier 1 (floor 0) first"),
    ],
    ids=lambda x: getattr(x, "__name__", "hint"),
)
def test_ccxt_function_recognises_mistakes_on_the_students_numbers(demo, wrong, shows):
    fb = demo.check(4, wrong)
    assert fb.status == "wrong" and "on your numbers" in fb.message and shows in fb.hint, fb


@pytest.mark.parametrize("seed", range(12))
def test_how_large_recognises_the_floor_and_the_next_cap(seed):
    ex = student(seed)
    t = ex.task(5)
    table = tm.load_table(t.table)
    k = max(i for i, lev in enumerate(table.max_leverage) if lev >= t.leverage)
    assert "floor of the last tier" in hint_for(ex, 5, float(table.floors[k]))
    assert "cap of the next tier" in hint_for(ex, 5, float(table.caps[k + 1]))


@pytest.mark.parametrize("sid", STUDENTS)
def test_calculator_error_recognises_either_price_cum_over_q_and_the_sign(sid):
    ex = lesson04.Exercises(student_id=sid)
    t = ex.task(6)
    true, naive = hand_lps(t)
    assert "the calculator's liquidation price" in hint_for(ex, 6, naive)
    assert "the true liquidation price" in hint_for(ex, 6, true)
    cum = float(tm.load_table(t.table).maintenance_amount(t.qty * t.entry))
    assert "cum/Q" in hint_for(ex, 6, cum / t.qty)
    assert "positive number" in hint_for(ex, 6, naive - true if t.side == "short" else true - naive)


@pytest.mark.parametrize("sid", STUDENTS)
def test_deribit_recognises_the_percentage_the_usd_size_the_flat_rate_and_the_swap(sid):
    ex = lesson04.Exercises(student_id=sid)
    t = ex.task(7)
    cases = [
        (hand_deribit(t, slope=0.005), "0.005 % is 0.00005"),
        (hand_deribit(t, size=t.qty * t.mark), "size in the schedule is in BTC"),
        ({"maintenance_margin": 0.01 * t.qty * t.mark, "max_leverage": 50}, "left out the size term"),
        ({"maintenance_margin": (0.02 + 0.00005 * t.qty) * t.qty * t.mark,
          "max_leverage": 1 / (0.01 + 0.00005 * t.qty)}, "swapped"),
    ]
    for wrong, shows in cases:
        fb = ex.check(7, **wrong)
        assert fb.status == "wrong" and shows in fb.hint, (wrong, fb)
        # each field alone gets the same hint
        for name in RECORD_EXERCISES[7]:
            fb = ex.check(7, **{**hand_deribit(t), name: wrong[name]})
            assert fb.status == "wrong" and shows in fb.hint, (name, fb)


# ---------------------------------------------------------------- hidden cases
def amounts_of_bounded_tables_only(rows):
    """Reads every cap as a number: fails on an unbounded last tier."""
    for row in rows:
        float(row[1])
    return hand_amounts(rows)


def rows_with_numbers_only(response):
    """Converts every field to float: fails on maxNotional None and maxLeverage None."""
    return [[float(t["minNotional"]), float(t["maxNotional"]), float(t["maintenanceMarginRate"]),
             float(t["maxLeverage"])] for t in response]


def unbounded_as_zero(response):
    return [[t["minNotional"], t["maxNotional"] or 0, t["maintenanceMarginRate"], t["maxLeverage"]] for t in response]


NONE_TO_FLOAT = "raised TypeError: float() argument must be a string or a real number, not 'NoneType'"


def bounded(ex: lesson04.Exercises, n: int) -> bool:
    """Whether the student's own table (exercise 3 or 4) has a bounded last tier."""
    return ex.task(3).rows[-1][1] is not None if n == 3 else ex.task(4).response[-1]["maxNotional"] is not None


@pytest.mark.parametrize(
    "n, wrong, shows",
    [
        (3, amounts_of_bounded_tables_only, f"(Hyperliquid BTC, the last tier unbounded): "
                                            f"maintenance_amounts(rows=((0, 150000000, 0.0125, 40), "
                                            f"(150000000, None, 0.025, 20))) {NONE_TO_FLOAT}"),
        (4, rows_with_numbers_only, f"(Hyperliquid BTC, maxNotional None in the last tier): "
                                    f"from_ccxt(response=<a tuple of 2 items>) {NONE_TO_FLOAT}"),
        (4, unbounded_as_zero, "should be 2 tiers: [0, 150,000,000, 0.0125, 40], [150,000,000, ∞, 0.025, 20], "
                               "got 2 tiers: [0, 150,000,000, 0.0125, 40], [150,000,000, 0, 0.025, 20]"),
    ],
    ids=lambda x: getattr(x, "__name__", str(x)),
)
def test_a_function_failing_an_unbounded_last_tier_fails_a_hidden_case(n, wrong, shows):
    # a student whose own table is bounded: the visible case does not give the slip away
    ex = next(e for e in (student(s) for s in range(50)) if bounded(e, n))
    fb = ex.check(n, wrong)
    assert fb.status == "wrong" and fb.message.startswith("a hidden case failed") and shows in fb.message, fb


def test_a_ccxt_function_failing_on_max_leverage_none_names_the_case(demo):
    def leverage_as_number(response):
        return [[t["minNotional"], t["maxNotional"], t["maintenanceMarginRate"], float(t["maxLeverage"])]
                for t in response]

    fb = demo.check(4, leverage_as_number)
    assert fb.status == "wrong" and "(Bybit's illustration, maxLeverage None)" in fb.message
    assert "not 'NoneType'" in fb.message  # the error is shown in full


def test_a_tier_table_is_an_accepted_answer(demo):
    assert demo.check(4, lambda response: tm.TierTable.from_rows(hand_from_ccxt(response))).correct
    assert demo.check(4, tm.TierTable.from_ccxt).correct
    # rows with inf for an unbounded cap, tuples, or a numpy array of amounts are fine too
    assert demo.check(4, lambda r: [(t["minNotional"], t["maxNotional"] if t["maxNotional"] is not None else math.inf,
                                     t["maintenanceMarginRate"], t["maxLeverage"]) for t in r]).correct
    assert demo.check(3, lambda rows: np.array(hand_amounts(rows))).correct


def test_arguments_are_fresh_so_editing_them_is_harmless(demo):
    def amounts(rows):
        assert isinstance(rows, list) and all(isinstance(r, list) for r in rows)
        result = hand_amounts(rows)
        rows.clear()
        return result

    def from_ccxt(response):
        result = hand_from_ccxt(response)
        for t in response:
            t["minNotional"] = -1
            t["info"].clear()
        response.clear()
        return result

    before = (demo.task(3).numbers, demo.task(4).numbers)
    for _ in range(2):
        assert demo.check(3, amounts).correct
        assert demo.check(4, from_ccxt).correct
    assert (demo.task(3).numbers, demo.task(4).numbers) == before
    assert all(t["info"] for t in demo.task(4).response)


def test_hidden_cases_cover_the_published_tables_and_the_edges():
    amount_rows = [c["rows"] for c in lesson04.AMOUNTS_FUNCTION.answer.hidden]
    assert any(r[-1][1] is None for r in amount_rows)  # unbounded last tier
    assert any(all(row[3] is None for row in r) for r in amount_rows)  # no max leverage
    assert any(len(r) == 1 for r in amount_rows)
    assert any(any(a[2] == b[2] for a, b in zip(r, r[1:])) for r in amount_rows)  # no step
    responses = [c["response"] for c in lesson04.CCXT_FUNCTION.answer.hidden]
    assert any(r[-1]["maxNotional"] is None for r in responses)
    assert any(all(t["maxLeverage"] is None for t in r) for r in responses)
    assert {r[0]["currency"] for r in responses} >= {"USDT", "USDC", "BTC"}
    for kind in (lesson04.AMOUNTS_FUNCTION, lesson04.CCXT_FUNCTION):
        assert len(kind.answer.labels) == len(kind.answer.hidden)


# ---------------------------------------------------------------- expected answers vs published numbers and hand
def test_btcusdt_maintenance_amounts_are_the_published_ones():
    rows = lesson04.AMOUNTS_FUNCTION.answer.hidden[0]["rows"]
    assert [r[0] for r in rows] == list(BTC_FLOORS) and [r[2] for r in rows] == list(BTC_MMR)
    assert [r[3] for r in rows] == list(BTC_LEVERAGE)
    assert lesson04.AMOUNTS_FUNCTION.expected({"rows": rows}) == pytest.approx(BTC_CUM, abs=1e-6)
    # Binance FAQ: "Maintenance Amount on Level n = 250,000 × (1% − 0.5%) + 50 USDT = 1,300 USDT"
    assert 250_000 * (0.01 - 0.005) + 50 == pytest.approx(BTC_CUM[2])
    # the BTCUSDT response's own info["cum"] says the same
    response = lesson04.CCXT_FUNCTION.answer.hidden[0]["response"]
    assert [float(t["info"]["cum"]) for t in response] == pytest.approx(BTC_CUM)


def test_other_hidden_amounts_by_hand():
    # Hyperliquid BTC: 150,000,000 × (2.5% − 1.25%) = 1,875,000
    mainnet = lesson04.AMOUNTS_FUNCTION.answer.hidden[3]["rows"]
    assert lesson04.AMOUNTS_FUNCTION.expected({"rows": mainnet}) == pytest.approx([0, 1_875_000])
    assert lesson04.AMOUNTS_FUNCTION.expected({"rows": lesson04._SAME_RATE}) == pytest.approx([0, 0, 200])
    for case in lesson04.AMOUNTS_FUNCTION.answer.hidden:
        assert lesson04.AMOUNTS_FUNCTION.expected(case) == pytest.approx(hand_amounts(case["rows"]), abs=1e-6)


def test_from_ccxt_expectations_by_hand():
    for case in lesson04.CCXT_FUNCTION.answer.hidden:
        expected = lesson04.CCXT_FUNCTION.expected(case)
        assert expected == hand_from_ccxt(case["response"])


def test_mm_on_binance_faq_position():
    # Binance FAQ: a 264,000 USDT BTCUSDT position is in the 1 % bracket (amount 1,300): MM = 1,340
    n = {"qty": 4.4, "price": 60_000, "table": BTC, "tiers": ()}
    assert lesson04.MM.expected(n) == pytest.approx(264_000 * 0.01 - 1_300, abs=CENT)


def test_jump_on_a_hand_worked_position():
    # 10 BTC at 24,750 and 25,250: 247,500 USDT (tier 2) and 252,500 (tier 3)
    n = {"qty": 10, "mark_below": 24_750, "mark_above": 25_250, "table": BTC, "tiers": ()}
    assert lesson04.JUMP.expected(n) == pytest.approx({
        "step_below": 247_500 * 0.005, "step_above": 252_500 * 0.01,
        "continuous_below": 247_500 * 0.005 - 50, "continuous_above": 252_500 * 0.01 - 1_300,
    }, abs=CENT)


def test_how_large_on_published_brackets():
    # BTCUSDT 2021: 20x is allowed up to 10,000,000 (tier 4), 25x up to 1,000,000, 110x up to 50,000
    for leverage, cap in ((20, 10_000_000), (25, 1_000_000), (110, 50_000), (7, 20_000_000)):
        assert lesson04.HOW_LARGE.expected({"table": BTC, "leverage": leverage}) == cap


def test_calculator_error_on_a_hand_worked_position():
    # long 10 BTC at 40,000, 10x: 400,000 USDT in tier 3 (1 %, 1,300); margin 40,000
    # LP = (40,000 + 1,300 − 400,000)/(0.1 − 10) = 36,232.32; without cum 36,363.64
    n = {"side": "long", "qty": 10, "entry": 40_000, "leverage": 10, "table": BTC}
    assert lesson04.NO_AMOUNT.expected(n) == pytest.approx(1_300 / 9.9, abs=CENT)
    short = {**n, "side": "short"}  # (40,000 + 1,300 + 400,000)/(0.1 + 10), without cum: 1,300/10.1 apart
    assert lesson04.NO_AMOUNT.expected(short) == pytest.approx(1_300 / 10.1, abs=CENT)


def test_deribit_published_rates():
    # Deribit BTC linear perpetual: IM 2% + 0.005 %/BTC, MM 1% + 0.005 %/BTC: 100 BTC → 1.5 %, 2.5 %
    n = {"qty": 100, "mark": 50_000}
    assert lesson04.DERIBIT.expected(n) == pytest.approx({"maintenance_margin": 0.015 * 5_000_000, "max_leverage": 40})


@pytest.mark.parametrize("seed", range(60))
def test_drawn_numbers_make_the_intended_exercise(seed):
    ex = student(seed)
    key = ex.answer_key()
    # 1: the value lies well inside a tier with a maintenance amount; the snippet is the published rows
    t = ex.task(1)
    value = t.qty * t.price
    row = row_of(t.tiers, value)
    assert row[3] > 0 and row[0] * 1.02 <= value <= row[1] * 0.98 and row == t.tiers[1]
    table = tm.load_table(t.table)
    for floor, cap, mmr, cum in t.tiers:
        k = list(table.floors).index(floor)
        assert (cap, mmr) == (table.caps[k], table.mmr[k])
        assert cum == pytest.approx(hand_amounts([[f, None, r, None] for f, r in zip(table.floors, table.mmr)])[k])
    # 2: the two marks put the value on both sides of the boundary between the snippet's two tiers
    t = ex.task(2)
    lower, upper = t.tiers
    assert lower[1] == upper[0] and lower[3] > 0
    assert lower[0] < t.qty * t.mark_below < lower[1] < t.qty * t.mark_above <= upper[1]
    assert key[2]["step_above"] - key[2]["step_below"] > 5 * (key[2]["continuous_above"] - key[2]["continuous_below"])
    # 3 and 4: valid tables of 4 to 6 tiers with rising rates; the response is bounded, Binance-style
    rows = ex.task(3).rows
    assert 4 <= len(rows) <= 6 and all(a[2] < b[2] and a[1] == b[0] for a, b in zip(rows, rows[1:]))
    response = ex.task(4).response
    assert [t["tier"] for t in response] == list(range(1, len(response) + 1))
    assert response[-1]["maxNotional"] is not None
    assert [float(t["info"]["cum"]) for t in response] == pytest.approx(hand_amounts(hand_from_ccxt(response)))
    # 5: the leverage is no tier's max, and some tier does not allow it
    t = ex.task(5)
    levs = list(tm.load_table(t.table).max_leverage)
    assert t.leverage not in levs and levs[-1] < t.leverage < levs[0]
    # 6: both liquidation prices in the tier at entry, which has a maintenance amount
    t = ex.task(6)
    table = tm.load_table(t.table)
    k = int(table.tier_index(t.qty * t.entry))
    assert table.cum[k] > 0 and t.leverage <= table.max_leverage[k]
    assert all(int(table.tier_index(t.qty * lp)) == k for lp in hand_lps(t))
    # 7: a size where the size term matters
    assert ex.task(7).qty >= 10


def test_both_sides_and_both_tables_occur_in_exercise_6():
    seen = {(student(s).task(6).side, student(s).task(6).table) for s in range(40)}
    assert seen == {(side, table) for side in ("long", "short") for table in (BTC, "binance-usdm-zecusdt")}


# ---------------------------------------------------------------- the framework's new kinds
def test_number_list_kind():
    kind = NumberList(Number("USDT", abs_tol=0.01))
    assert kind.what == "a list of numbers in USDT"
    assert kind.coerce(np.array([0.0, 50.0])) == (0.0, 50.0) and kind.coerce((1, 2.5)) == (1.0, 2.5)
    for bad in ("0, 50", 50.0, [0, True], [[0, 1]], np.zeros((2, 2)), {0: 1}):
        with pytest.raises(WrongType):
            kind.coerce(bad)
    assert kind.matches([0, 50], (0.004, 50.0)) and not kind.matches([0, 50], (0.0,))
    assert kind.show([0, 1_300]) == "[0.00, 1,300.00] USDT"
    assert "a list of 2 numbers; you gave 3" in kind.near_miss([0, 1], [0, 1, 2])


def test_tier_rows_kind():
    kind = TierRows()
    table = tm.TierTable.from_rows([[0, 10, 0.01, 50], [10, None, 0.02, 25]])
    rows = ((0.0, 10.0, 0.01, 50.0), (10.0, math.inf, 0.02, 25.0))
    assert kind.coerce(table) == rows == kind.coerce([[0, 10, 0.01, 50], (10, None, 0.02, 25)])
    assert kind.matches(table, [[0, 10, 0.01, 50], [10, math.inf, 0.02, 25]])
    assert not kind.matches(table, [[0, 10, 0.01, 50], [10, None, 0.02, None]])  # None only equals None
    assert kind.show(table) == "2 tiers: [0, 10, 0.01, 50], [10, ∞, 0.02, 25]"
    for bad in ([[0, 10, 0.01]], [["0", 10, 0.01, 50]], "rows", [{"minNotional": 0}]):
        with pytest.raises(WrongType, match=r"row at index 0 \(tier 1\)|a str"):
            kind.coerce(bad)
    assert "the table has 2 tiers, you gave 1 rows" in kind.near_miss(table, [[0, 10, 0.01, 50]])


class _Pair(ExerciseSet):
    lesson = "99"
    exercises = (
        Exercise(
            title="two numbers",
            numbers=lambda d: {"x": d.choice("x", (1, 2, 4))},  # never 3: there 3x = x²
            expected=lambda n: {"double": 2.0 * n["x"], "square": float(n["x"] ** 2)},
            answer=Record({"double": Number(), "square": Number()}),
            hint="general hint",
            mistakes=(Mistake(lambda n: {"square": 3.0 * n["x"]}, "triple, not square"),),
        ),
        Exercise(
            title="a function with long arguments",
            numbers=lambda d: {"xs": tuple(range(100))},
            expected=lambda n: float(sum(n["xs"])),
            answer=Function("total", ("xs",), Number(), hidden=({"xs": (1.0, 2.0)},), labels=("two numbers",)),
            hint="add them",
        ),
    )


def test_record_mistakes_apply_to_their_fields_only():
    ex = _Pair(seed=1)
    x = ex.task(1).x
    fb = ex.check(1, double=2 * x, square=3 * x)
    assert fb.status == "wrong" and fb.hint == "triple, not square"
    fb = ex.check(1, double=3 * x, square=x * x)  # the mistake names no "double": the general hint
    assert fb.status == "wrong" and fb.hint == "general hint"


def test_function_labels_and_long_arguments():
    ex = _Pair(seed=1)
    fb = ex.check(2, lambda xs: 1 / 0)
    assert fb.message == "total(xs=<a tuple of 100 items>) raised ZeroDivisionError: division by zero"
    fb = ex.check(2, lambda xs: 4950.0)
    assert fb.message.startswith("a hidden case failed (two numbers): total(xs=(1.0, 2.0)) should be 3")
    with pytest.raises(ValueError, match="labels must name every hidden case"):
        Function("f", ("x",), Number(), hidden=({"x": 1},), labels=("a", "b"))

