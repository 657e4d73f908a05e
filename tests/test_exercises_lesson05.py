"""Lesson 05 exercise checkers (stepwise liquidation): what is particular to the lesson's exercises,
its sections, type hints, recognised mistakes, hidden cases, hand-worked positions and drawn numbers.
The checks every lesson shares (correct / wrong with a hint / not attempted, wrong types,
per-student variants, the answer-key CLI) run for it in ``test_exercises_common.py`` from the hand
solutions here.

Correct answers here are worked out by hand in plain Python (the formulas a student would apply:
B = EP·(1 − s/L), surplus = s·ΔQ·(fill − B), the contracts kept at a cap cap/mark, their equity
keep·s·(mark − B) against MM(keep·mark) from the table's ``maintenance_margin``, the impact fill
mark·(1 − s·V/(2·depth))), independently of the checkers' expected answers, which come from
``tiermargin.liquidation.liquidate`` and ``IsolatedPosition``; the lesson's whale (200 BTC long at
60,000, 10x: B = 54,000, 181.82 BTC to fit tier 4 at 55,000) and hand-worked positions pin a few.
"""

from __future__ import annotations

import functools

import pytest

import tiermargin as tm
from tiermargin.exercises import lesson05
from tiermargin.exercises.core import Task
from tiermargin.liquidation import Execution, liquidate

CENT = 0.005
LESSON = "lessons/05_stepwise_liquidation.ipynb"
N = len(lesson05.Exercises.exercises)
FUNCTION_EXERCISE = 5
STUDENTS = ("demo", "alice", "bob", "8f3a-2291", "Zoë")
SECTIONS = {
    1: ("The procedure",),
    2: ("The procedure", "Step by step"),
    3: ("The procedure", "The venues' policies side by side"),
    4: ("Full versus stepwise", "Why the book's depth matters"),
    5: ("The procedure", "Step by step"),
}
BTC = "binance-usdm-btcusdt-2021"


@functools.lru_cache(maxsize=None)
def student(seed: int) -> lesson05.Exercises:
    return lesson05.Exercises(seed=seed)


@functools.lru_cache(maxsize=None)
def named(sid: str) -> lesson05.Exercises:
    return lesson05.Exercises(student_id=sid)


# ---------------------------------------------------------------- hand solutions
def sign(side: str) -> int:
    return 1 if side == "long" else -1


def bankruptcy(t: Task) -> float:
    return t.entry * (1 - sign(t.side) / t.leverage)


def tier_at(table: tm.TierTable, value: float) -> int:
    """1-based tier of a value on Binance's brackets, floor < value ≤ cap."""
    (k,) = [k for k, (f, c) in enumerate(zip(table.floors, table.caps), start=1) if f < value <= c]
    return k


def hand_surplus(t: Task) -> dict[str, float]:
    b = bankruptcy(t)
    return {"bankruptcy": b, "surplus": sign(t.side) * t.closed * (t.fill - b)}


def hand_one_step(t: Task) -> float:
    table = tm.load_table(t.table)
    return table.caps[tier_at(table, t.qty * t.mark) - 2] / t.mark


def healthy_at(t: Task, table: tm.TierTable, tier: int) -> bool:
    """Whether the contracts kept just under the cap of ``tier`` are healthy at the mark."""
    keep = table.caps[tier - 1] / t.mark
    return keep * sign(t.side) * (t.mark - bankruptcy(t)) > float(table.maintenance_margin(keep * t.mark))


def hand_tiers(t: Task) -> dict[str, list[int]]:
    table = tm.load_table(t.table)
    k = tier_at(table, t.qty * t.mark)
    one_tier = []
    for tier in range(k - 1, 0, -1):
        one_tier.append(tier)
        if healthy_at(t, table, tier):
            break
    else:
        one_tier.append(0)
    passing = [tier for tier in range(k - 1, 0, -1) if healthy_at(t, table, tier)]
    return {"one_tier": one_tier, "lowest_sufficient": [passing[0] if passing else 0]}


def hand_versus(t: Task, depth: float | None = None) -> dict[str, float]:
    table, s, b = tm.load_table(t.table), sign(t.side), bankruptcy(t)
    depth = t.depth if depth is None else depth

    def fund(closed: float) -> float:
        fill = t.mark * (1 - s * closed * t.mark / (2 * depth))
        return s * closed * (fill - b)

    stop = hand_tiers(t)["lowest_sufficient"][0]
    keep = table.caps[stop - 1] / t.mark
    return {"equity_full": 0.0, "equity_stepwise": keep * s * (t.mark - b),
            "fund_full": fund(t.qty), "fund_stepwise": fund(t.qty - keep)}


def hand_steps(table, side, qty, entry, margin, mark):
    """One-tier at one mark, with the table's own units (the solution a student writes)."""
    def health(q, m):
        mm = table.maintenance_margin(table.size_of(q, mark), table.unit_value(mark))
        return m + table.contract.upnl(side, q, entry, mark) - mm

    left = []
    while qty > 0 and health(qty, margin) <= 0:
        k = int(table.tier_index(table.size_of(qty, mark)))
        keep = float(table.contracts_at(table.caps[k - 1] * (1 - 1e-9), mark)) if k > 0 else 0.0
        margin, qty = margin * keep / qty, keep
        left.append(qty)
    return left


HAND_RECORDS = {1: hand_surplus, 3: hand_tiers, 4: hand_versus}


def right_answer(ex: lesson05.Exercises, n: int) -> tuple[tuple, dict]:
    """(args, kwargs) of a correct ``ex.check(n, ...)`` call, worked out by hand."""
    t = ex.task(n)
    if n == 2:
        return (hand_one_step(t),), {}
    if n == FUNCTION_EXERCISE:
        return (hand_steps,), {}
    return (), HAND_RECORDS[n](t)


def check(ex, n, answer):
    args, kwargs = answer
    return ex.check(n, *args, **kwargs)


def answer_key_lines() -> list[str]:
    """Lines of alice's printed answer key, worked out by hand."""
    alice = named("alice")
    steps = ", ".join(lesson05.CONTRACTS.typed(x) for x in hand_steps(tm.load_table(alice.task(5).table), *(
        alice.task(5).numbers[k] for k in ("side", "qty", "entry", "margin", "mark"))))
    return [f"bankruptcy {bankruptcy(alice.task(1)):.2f} USDT", f"{lesson05.CONTRACTS.typed(hand_one_step(alice.task(2)))} contracts",
            f"[{steps}] contracts on these numbers, plus 9 hidden cases"]


@pytest.fixture(scope="module")
def demo():
    return named("demo")


# ---------------------------------------------------------------- sections and type hints
def test_the_sections_exist_in_the_lesson():
    import nbformat
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / LESSON
    headings = {line.split(". ", 1)[-1].strip() for cell in nbformat.read(path, as_version=4).cells
                if cell.cell_type == "markdown" for line in cell.source.splitlines() if line.startswith("## ")}
    assert {s for sections in SECTIONS.values() for s in sections} <= headings


def raises(*args):
    raise RuntimeError("boom\nwith a second line")


def test_type_hints_name_the_expected_type(demo):
    for bad in ("18.1", [1.0], {"a": 1}, raises):
        assert demo.check(2, bad).hint == "the answer is a number in contracts"
    fb = demo.check(1, bankruptcy="54000", surplus=1.0)
    assert "bankruptcy is a str" in fb.message and "bankruptcy is a number in USDT" in fb.hint
    fb = demo.check(3, one_tier=3, lowest_sufficient=[3])
    assert "one_tier is an int (3)" in fb.message and "one_tier is a list of numbers" in fb.hint


# ---------------------------------------------------------------- recognised mistakes
def record_hint(ex, n, **wrong):
    """The hint for a record with some fields wrong (checking first that they are wrong)."""
    _, good = right_answer(ex, n)
    for name, value in wrong.items():
        if isinstance(value, list):
            assert value != good[name], f"this mistake gives the right {name} on these numbers"
        else:
            assert abs(value - good[name]) > 0.01, f"this mistake gives the right {name} on these numbers"
    fb = ex.check(n, **{**good, **wrong})
    assert fb.status == "wrong", fb
    return fb.hint


@pytest.mark.parametrize("sid", STUDENTS)
def test_surplus_recognises_the_other_side_the_liquidation_price_the_sign_and_the_whole_position(sid):
    ex = named(sid)
    t = ex.task(1)
    s, good = sign(t.side), hand_surplus(t)
    lp = float(tm.IsolatedPosition.open(tm.load_table(t.table), t.side, t.qty, t.entry, t.leverage)
               .liquidation_price().price)
    assert "other side's bankruptcy price" in record_hint(ex, 1, bankruptcy=t.entry * (1 + s / t.leverage))
    assert "that is the liquidation price" in record_hint(ex, 1, bankruptcy=lp)
    assert "the sign is reversed" in record_hint(ex, 1, surplus=-good["surplus"])
    assert "against the liquidation price" in record_hint(ex, 1, surplus=s * t.closed * (t.fill - lp))
    assert "closed, not qty" in record_hint(ex, 1, surplus=s * t.qty * (t.fill - good["bankruptcy"]))
    # a field wrong in no recognised way gets the exercise's hint
    assert record_hint(ex, 1, surplus=good["surplus"] + 7) == lesson05.SURPLUS.hint


def value_hint(ex, wrong):
    (right,), _ = right_answer(ex, 2)
    assert abs(wrong - right) > 1e-6 * right, "this mistake gives the right answer on these numbers"
    fb = ex.check(2, wrong)
    assert fb.status == "wrong", fb
    return fb.hint


@pytest.mark.parametrize("seed", range(8))
def test_one_step_recognises_closed_two_tiers_usdt_the_entry_price_and_the_own_cap(seed):
    ex = student(seed)
    t = ex.task(2)
    table = tm.load_table(t.table)
    k, left = tier_at(table, t.qty * t.mark), hand_one_step(t)
    assert "contracts closed" in value_hint(ex, t.qty - left)
    assert "two tiers down" in value_hint(ex, table.caps[k - 3] / t.mark)
    assert "a value in USDT" in value_hint(ex, table.caps[k - 2])
    assert "valued the size at entry" in value_hint(ex, table.caps[k - 2] / t.entry)
    assert "the tier the position is in at the mark" in value_hint(ex, table.caps[k - 1] / t.mark)


@pytest.mark.parametrize("sid", STUDENTS)
def test_tiers_recognise_the_start_the_tiers_before_no_stop_and_the_policies_swapped(sid):
    ex = named(sid)
    t = ex.task(3)
    good = hand_tiers(t)
    k = tier_at(tm.load_table(t.table), t.qty * t.mark)
    assert "the tier the position starts in" in record_hint(ex, 3, one_tier=[k, *good["one_tier"]])
    assert "tiers before each step" in record_hint(ex, 3, one_tier=[k, *good["one_tier"][:-1]])
    if good["one_tier"][-1] != 0:
        assert "stops as soon as it is healthy" in record_hint(ex, 3, one_tier=list(range(k - 1, -1, -1)))
    assert "one tier per step" in record_hint(ex, 3, one_tier=good["lowest_sufficient"])
    assert "a single order" in record_hint(ex, 3, lowest_sufficient=good["one_tier"])
    if good["lowest_sufficient"] != [1]:
        assert "not tier 1" in record_hint(ex, 3, lowest_sufficient=[1])


@pytest.mark.parametrize("sid", STUDENTS)
def test_versus_recognises_the_mark_settlement_the_margin_the_health_the_sign_and_the_fills(sid):
    ex = named(sid)
    t = ex.task(4)
    good, s, b = hand_versus(t), sign(t.side), bankruptcy(t)
    table = tm.load_table(t.table)
    keep = table.caps[hand_tiers(t)["lowest_sufficient"][0] - 1] / t.mark
    whole = t.qty * s * (t.mark - b)
    assert "settled at the bankruptcy price" in record_hint(ex, 4, equity_full=whole)
    assert "whole position's equity" in record_hint(ex, 4, equity_stepwise=whole)
    assert "unrealized PnL" in record_hint(ex, 4, equity_stepwise=keep * s * (t.mark - t.entry))
    health = keep * s * (t.mark - b) - float(table.maintenance_margin(keep * t.mark))
    assert "health" in record_hint(ex, 4, equity_stepwise=health)
    for field in ("fund_full", "fund_stepwise"):
        closed = t.qty if field == "fund_full" else t.qty - keep
        assert "the sign is reversed" in record_hint(ex, 4, **{field: -good[field]})
        assert "fills the order at the mark" in record_hint(ex, 4, **{field: s * closed * (t.mark - b)})
        assert "half-way" in record_hint(ex, 4, **{field: hand_versus(t, depth=t.depth / 2)[field]})


def one_step_only(table, side, qty, entry, margin, mark):
    return hand_steps(table, side, qty, entry, margin, mark)[:1]


def with_the_start(table, side, qty, entry, margin, mark):
    return [qty, *hand_steps(table, side, qty, entry, margin, mark)]


def closed_per_step(table, side, qty, entry, margin, mark):
    before = [qty, *hand_steps(table, side, qty, entry, margin, mark)]
    return [a - b for a, b in zip(before, before[1:])]


def margin_not_shared(table, side, qty, entry, margin, mark):
    def health(q):
        mm = table.maintenance_margin(table.size_of(q, mark), table.unit_value(mark))
        return margin + table.contract.upnl(side, q, entry, mark) - mm

    left = []
    while qty > 0 and health(qty) <= 0:
        k = int(table.tier_index(table.size_of(qty, mark)))
        qty = float(table.contracts_at(table.caps[k - 1] * (1 - 1e-9), mark)) if k > 0 else 0.0
        left.append(qty)
    return left


def never_stops(table, side, qty, entry, margin, mark):
    k = int(table.tier_index(table.size_of(qty, mark)))
    return [float(table.contracts_at(table.caps[j - 1], mark)) for j in range(k, 0, -1)] + [0.0]


@pytest.mark.parametrize(
    "wrong, shows",
    [
        (one_step_only, "re-checked with its share of the margin only"),
        (with_the_start, "the starting size is not one"),
        (closed_per_step, "contracts closed at each step"),
        (margin_not_shared, "re-checked with its share of the margin only"),
        (never_stops, "stops as soon as the position is healthy"),
    ],
    ids=lambda x: getattr(x, "__name__", "hint"),
)
@pytest.mark.parametrize("sid", STUDENTS)
def test_steps_function_recognises_mistakes_on_the_students_numbers(sid, wrong, shows):
    ex = named(sid)
    fb = ex.check(5, wrong)
    assert fb.status == "wrong" and "on your numbers" in fb.message and shows in fb.hint, fb


# ---------------------------------------------------------------- hidden cases
def exactly_at_the_cap(table, side, qty, entry, margin, mark):
    """Keeps exactly cap/mark: on OKX's tables (floor ≤ size < cap) that is the tier above."""
    def health(q, m):
        mm = table.maintenance_margin(table.size_of(q, mark), table.unit_value(mark))
        return m + table.contract.upnl(side, q, entry, mark) - mm

    tier, left = int(table.tier_index(table.size_of(qty, mark))), []
    while qty > 0 and health(qty, margin) <= 0:
        keep = float(table.contracts_at(table.caps[tier - 1], mark)) if tier > 0 else 0.0
        tier -= 1
        margin, qty = margin * keep / qty, keep
        left.append(qty)
    return left


def value_is_qty_times_mark(table, side, qty, entry, margin, mark):
    """Reads every table by notional and charges MM by hand: wrong on a table counted in contracts."""
    s = sign(side)

    def health(q, m):
        value = q * mark
        k = int(table.tier_index(value))
        return m + s * q * (mark - entry) - (value * table.mmr[k] - table.cum[k])

    left = []
    while qty > 0 and health(qty, margin) <= 0:
        k = int(table.tier_index(qty * mark))
        keep = table.caps[k - 1] * (1 - 1e-9) / mark if k > 0 else 0.0
        margin, qty = margin * keep / qty, keep
        left.append(qty)
    return left


def longs_only(table, side, qty, entry, margin, mark):
    return hand_steps(table, "long", qty, entry, margin, mark)


def never_empty(table, side, qty, entry, margin, mark):
    return hand_steps(table, side, qty, entry, margin, mark) or [qty]


@pytest.mark.parametrize(
    "wrong, shows",
    [
        (exactly_at_the_cap, "(OKX CHZ-USDT-SWAP, tiers in contracts, floor ≤ size < cap)"),
        (value_is_qty_times_mark, "(OKX CHZ-USDT-SWAP, tiers in contracts, floor ≤ size < cap)"),
        (longs_only, "(a short)"),
        (never_empty, "(a healthy long)"),
    ],
    ids=lambda x: getattr(x, "__name__", str(x)),
)
def test_a_function_with_a_subtle_slip_fails_a_hidden_case(wrong, shows):
    # a student whose own numbers do not give the slip away
    ex = next(e for e in map(student, range(40)) if e.check(5, wrong).message.startswith("a hidden case failed"))
    fb = ex.check(5, wrong)
    assert fb.status == "wrong" and shows in fb.message, fb


def test_hidden_cases_by_hand_and_their_edges():
    hidden = lesson05.STEPS_FUNCTION.answer.hidden
    assert len(lesson05.STEPS_FUNCTION.answer.labels) == len(hidden)
    results = []
    for case in hidden:
        expected = lesson05.STEPS_FUNCTION.expected(case)
        table = tm.load_table(case["table"])
        mine = hand_steps(table, case["side"], case["qty"], case["entry"], case["margin"], case["mark"])
        assert expected == pytest.approx(mine, rel=1e-9)
        results.append(expected)
    sides = {c["side"] for c in hidden}
    assert sides == {"long", "short"}
    assert [] in results  # healthy: no step
    assert [0.0] in results  # tier 1: closed at once
    assert any(len(r) >= 3 and r[-1] == 0 for r in results)  # past bankruptcy: every tier, then closed
    bases = {tm.load_table(c["table"]).basis for c in hidden}
    assert bases == {"notional", "contracts"}
    assert any(tm.load_table(c["table"]).max_size == float("inf") for c in hidden)


def test_hidden_whale_cases_pinned():
    whale = dict(lesson05.STEPS_FUNCTION.answer.hidden[1])  # 200 BTC long at 60,000, 10x, mark 55,000
    assert (whale["qty"], whale["entry"], whale["margin"], whale["mark"]) == (200, 60_000, 1_200_000, 55_000)
    # the lesson: to fit tier 4 (≤ 10,000,000) at 55,000 → 181.82 BTC; tier 3 (≤ 1,000,000) → 18.18 BTC
    assert lesson05.STEPS_FUNCTION.expected(whale) == pytest.approx([10_000_000 / 55_000, 1_000_000 / 55_000])
    # at 55,400 the 181.8 BTC left in tier 4 are healthy: 180.5·(55,400 − 54,000) > 10M·2.5% − 16,300
    one = dict(lesson05.STEPS_FUNCTION.answer.hidden[0])
    keep = 10_000_000 / 55_400
    assert keep * (55_400 - 54_000) > 10_000_000 * 0.025 - 16_300
    assert lesson05.STEPS_FUNCTION.expected(one) == pytest.approx([keep])
    # OKX CHZ: 12,000 contracts (tier 3) → under 7,500 (tier 2) → under 5,000 (tier 1), healthy there
    chz = dict(lesson05.STEPS_FUNCTION.answer.hidden[-1])
    assert lesson05.STEPS_FUNCTION.expected(chz) == pytest.approx([7_500, 5_000])


def test_arguments_are_fresh(demo):
    before = demo.task(5).numbers

    def steps(table, side, qty, entry, margin, mark):
        return hand_steps(table, side, qty, entry, margin, mark)

    for _ in range(2):
        assert demo.check(5, steps).correct
    assert demo.task(5).numbers == before


# ---------------------------------------------------------------- expected answers on hand-worked positions
def test_whale_bankruptcy_and_surplus():
    # the lesson's whale: 200 BTC long at 60,000, 10x: margin 1,200,000, B = 54,000
    n = {"side": "long", "qty": 200, "entry": 60_000, "leverage": 10, "table": BTC, "closed": 18, "fill": 54_250}
    assert lesson05.SURPLUS.expected(n) == pytest.approx({"bankruptcy": 54_000, "surplus": 18 * 250})
    short = {**n, "side": "short", "fill": 66_100}  # B = 66,000: bought back 100 above it, a loss
    assert lesson05.SURPLUS.expected(short) == pytest.approx({"bankruptcy": 66_000, "surplus": -1_800})


def test_whale_one_step_two_tiers_and_versus():
    n = {"side": "long", "qty": 200, "entry": 60_000, "leverage": 10, "table": BTC, "mark": 55_000}
    assert lesson05.ONE_STEP.expected(n) == pytest.approx(10_000_000 / 55_000, rel=1e-8)
    assert lesson05.TIERS_VISITED.expected(n) == {"one_tier": [4, 3], "lowest_sufficient": [3]}
    # lowest-sufficient keeps 1,000,000/55,000 BTC; the book of depth 100,000,000
    keep, depth = 1_000_000 / 55_000, 100_000_000
    fill_full = 55_000 * (1 - 200 * 55_000 / (2 * depth))
    fill_step = 55_000 * (1 - (200 - keep) * 55_000 / (2 * depth))
    assert lesson05.VERSUS.expected({**n, "depth": depth}) == pytest.approx({
        "equity_full": 0.0, "equity_stepwise": keep * 1_000,
        "fund_full": 200 * (fill_full - 54_000), "fund_stepwise": (200 - keep) * (fill_step - 54_000)})


@pytest.mark.parametrize("seed", range(40))
def test_drawn_numbers_make_the_intended_exercise(seed):
    ex = student(seed)
    key = ex.answer_key()
    # 1: a position that opens; the fill is off the bankruptcy price; part of it closed
    t = ex.task(1)
    assert 0 < t.closed < t.qty and abs(t.fill - bankruptcy(t)) >= 1
    # 2: liquidated at the mark, in tier 3 or above there
    t = ex.task(2)
    table = tm.load_table(t.table)
    pos = tm.IsolatedPosition.open(table, t.side, t.qty, t.entry, t.leverage)
    assert pos.health(t.mark) <= 0 < pos.health(t.entry) and tier_at(table, t.qty * t.mark) >= 3
    # 3: tier 4 or above at the mark, at least two steps under one-tier
    t = ex.task(3)
    assert tier_at(tm.load_table(t.table), t.qty * t.mark) >= 4 and len(key[3]["one_tier"]) >= 2
    # 4: the stepwise liquidation leaves a healthy remainder, at most two tiers down
    t = ex.task(4)
    stop = hand_tiers(t)["lowest_sufficient"][0]
    assert 1 <= stop and stop >= tier_at(tm.load_table(t.table), t.qty * t.mark) - 2
    assert key[4]["equity_stepwise"] > 0 and key[4]["equity_full"] == 0
    # 5: at least two steps, ending healthy (not closed)
    assert len(key[5]) >= 2 and key[5][-1] > 0
    # every hand-worked answer agrees with the library's
    for n in range(1, N + 1):
        assert check(ex, n, right_answer(ex, n)).correct


def test_both_sides_tables_and_outcomes_occur():
    exs = [student(s) for s in range(40)]
    assert {e.task(n).side for e in exs for n in range(1, N + 1)} == {"long", "short"}
    assert {e.task(2).table for e in exs} == {BTC, "binance-usdm-zecusdt"}
    assert {e.task(5).table for e in exs} == {BTC, "binance-usdm-zecusdt"}
    assert {e.answer_key()[1]["surplus"] > 0 for e in exs} == {True, False}  # surplus and loss
    assert {e.answer_key()[3]["one_tier"][-1] == 0 for e in exs} == {True, False}  # closed, or healthy
    key4 = [e.answer_key()[4] for e in exs]
    assert {k["fund_full"] > k["fund_stepwise"] for k in key4} == {True, False}


# ---------------------------------------------------------------- variants
def test_the_function_is_checked_on_each_students_own_numbers():
    alice, bob = named("alice"), named("bob")
    assert alice.task(5).numbers != bob.task(5).numbers
    visible = alice.answer_key()[5]
    fb = bob.check(5, lambda *args: visible)
    assert fb.status == "wrong" and "on your numbers" in fb.message


# ---------------------------------------------------------------- the library's liquidate
def test_the_library_agrees_with_liquidate_under_other_fills():
    # the contracts closed never depend on the fills: the exercises use fills at the bankruptcy price
    n = named("demo").task(3).numbers
    pos = tm.IsolatedPosition.open(tm.load_table(n["table"]), n["side"], n["qty"], n["entry"], n["leverage"])
    for execution in (Execution("mark"), Execution("impact", 20_000_000)):
        log = liquidate(pos, [0.0], [n["mark"]], "one-tier", execution=execution)
        assert [e.tier_after for e in log.events] == lesson05.TIERS_VISITED.expected(n)["one_tier"]
