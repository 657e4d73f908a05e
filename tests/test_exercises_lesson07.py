"""Lesson 07 exercise checkers (cascades: why tiers exist): what is particular to the lesson's
exercises, their type hints, recognised mistakes, drawn numbers and worked examples. The checks every
lesson shares (correct / wrong with a hint / not attempted, wrong types, per-student variants, the
answer-key CLI) run for it in ``test_exercises_common.py`` from the hand solutions here.

Correct answers here are worked out by hand in plain Python (−V/(100·depth) and P·e^(move/2),
2^(−t/h) and h·log₂(1/(1 − r)), the basis averaged over the window by hand, (shock + liquidated)/
(shock + alone)), independently of the checkers' expected answers, which come from
``tiermargin.orderbook``, ``tiermargin.markprice`` and ``tiermargin.cascade``. Exercise 5 is read
from the library by design: its hand solution is the student's, a call of ``cascade.compare``.
"""

from __future__ import annotations

import math
from pathlib import Path

import nbformat
import pytest

from tiermargin import cascade as cs
from tiermargin.exercises import lesson07
from tiermargin.exercises.core import Task
from tiermargin.orderbook import Book

LESSON = "lessons/07_cascades.ipynb"
LESSON_PATH = Path(__file__).resolve().parent.parent / LESSON
STUDENTS = ("demo", "alice", "bob", "8f3a-2291", "Zoë")
SECTIONS = {
    1: ("The order book: depth and price impact",),
    2: ("Resilience: the book refills",),
    3: ("The mark in a venue-only drop",),
    4: ("The cascade multiplier",),
    5: ("Why tiers: the market without them",),
}
RECORD_EXERCISES = {1: ("move", "fill"), 2: ("left", "time"), 5: ("extra_notional", "extra_fund_loss")}


# ---------------------------------------------------------------- hand solutions
def sign(side: str) -> int:
    return 1 if side == "long" else -1


def hand_book(t: Task, per_cent: bool = False) -> dict[str, float]:
    move = -sign(t.side) * t.notional / ((1 if per_cent else 100) * t.depth)
    return {"move": move, "fill": t.price * math.exp(move / 2)}


def hand_recovery(t: Task) -> dict[str, float]:
    return {"left": 2 ** (-t.after / t.half_life), "time": t.half_life * math.log2(1 / (1 - t.recovered))}


def hand_ma(t: Task, window: float | None = None, of_price: bool = False) -> float:
    w = t.window if window is None else window
    now = t.times[-1]
    inside = [last - (0 if of_price else index)
              for when, last, index in zip(t.times, t.last, t.index) if now - w < when <= now]
    return sum(inside) / len(inside)


def hand_mark(t: Task, **kwargs) -> float:
    return t.index[-1] + hand_ma(t, **kwargs)


def hand_multiplier(t: Task) -> float:
    return (t.shock_order + t.liquidated) / (t.shock_order + t.alone)


def hand_runs(t: Task, baseline: bool = True) -> dict[str, dict]:
    """Exercise 5 the student's way: the lesson's population and ``cascade.compare``."""
    pop = cs.population(t.venue, t.traders, seed=t.seed)
    runs = cs.compare(pop, "tiers", cs.Shock("market", t.size, at=t.at), Book(t.depth), policy=t.policy,
                      duration=t.duration, seed=t.seed, baseline=baseline)
    return {label: c.summary() for label, c in runs.items()}


def hand_extra(t: Task, other: str = cs.NO_TIERS, base: str = "tiered", notional="notional liquidated (USD)",
               runs: dict | None = None) -> dict[str, float]:
    runs = hand_runs(t) if runs is None else runs
    return {"extra_notional": runs[other][notional] - runs[base][notional],
            "extra_fund_loss": runs[other]["fund loss"] - runs[base]["fund loss"]}


HAND_RECORDS = {1: hand_book, 2: hand_recovery, 5: hand_extra}
HAND_VALUES = {3: hand_mark, 4: hand_multiplier}


def right_answer(ex: lesson07.Exercises, n: int) -> tuple[tuple, dict]:
    """(args, kwargs) of a correct ``ex.check(n, ...)`` call, worked out by hand."""
    t = ex.task(n)
    if n in HAND_VALUES:
        return (HAND_VALUES[n](t),), {}
    return (), HAND_RECORDS[n](t)


def answer_key_lines() -> list[str]:
    """Lines of alice's printed answer key, worked out by hand."""
    alice = lesson07.Exercises(student_id="alice")
    book, recovery = hand_book(alice.task(1)), hand_recovery(alice.task(2))
    book_kinds, recovery_kinds = lesson07.BOOK_MOVE.answer.fields, lesson07.RECOVERY.answer.fields
    return [f"move {book_kinds['move'].typed(book['move'])}, fill {book['fill']:.2f} USDT",
            f"left {recovery_kinds['left'].typed(recovery['left'])}, time {recovery_kinds['time'].typed(recovery['time'])} seconds",
            f"→ {hand_mark(alice.task(3)):.2f} USDT",
            f"→ {lesson07.MULTIPLIER_KIND.typed(hand_multiplier(alice.task(4)))}"]


@pytest.fixture(scope="module")
def demo():
    return lesson07.Exercises(student_id="demo")


def student(seed: int) -> lesson07.Exercises:
    return lesson07.Exercises(seed=seed)


def hint_for(ex, n, wrong):
    """The hint for a wrong value, checking first that it is wrong (not the right answer too)."""
    fb = ex.check(n, wrong)
    assert fb.status == "wrong", fb
    return fb.hint


def record_hint(ex, n, **fields):
    """The hint for a record with ``fields`` made wrong and the others right."""
    _, good = right_answer(ex, n)
    fb = ex.check(n, **{**good, **fields})
    assert fb.status == "wrong", fb
    return fb.hint


# ---------------------------------------------------------------- right answers
@pytest.mark.parametrize("sid", STUDENTS)
def test_the_answer_key_is_accepted_and_agrees_with_the_hand_solutions(sid):
    ex = lesson07.Exercises(student_id=sid)
    key = ex.answer_key()
    for n in (1, 2, 5):
        assert ex.check(n, **key[n]).correct
        assert key[n] == pytest.approx(right_answer(ex, n)[1], rel=1e-9, abs=1e-6)
    for n in (3, 4):
        assert ex.check(n, key[n]).correct
        assert key[n] == pytest.approx(right_answer(ex, n)[0][0], rel=1e-9)


def test_numpy_answers_are_accepted(demo):
    import numpy as np

    _, good = right_answer(demo, 1)
    assert demo.check(1, move=np.float64(good["move"]), fill=np.asarray(good["fill"])).correct
    assert demo.check(3, np.float64(hand_mark(demo.task(3)))).correct


# ---------------------------------------------------------------- bad input
def test_type_hints_name_what_is_expected(demo):
    _, good = right_answer(demo, 1)
    fb = demo.check(1, move="-0.5%", fill=good["fill"])
    assert fb.status == "wrong" and "move is a str" in fb.message
    assert "move is a number (a ratio as a fraction" in fb.hint
    fb = demo.check(2, left=right_answer(demo, 2)[1]["left"], time="90 s")
    assert fb.status == "wrong" and "time is a str" in fb.message and "time is a number in seconds" in fb.hint
    assert demo.check(3, [63_000.0]).hint == "the answer is a number in USDT"
    assert demo.check(4, "7.4x").hint == "the answer is a number"
    fb = demo.check(5, extra_notional={"no tiers": 1.0}, extra_fund_loss=0.0)
    assert "extra_notional is a dict" in fb.message and "extra_notional is a number in USD" in fb.hint


def test_bad_calls_raise_a_clear_error(demo):
    with pytest.raises(ValueError, match="from 1 to 5"):
        demo.check(6, 1.0)
    with pytest.raises(ValueError, match="from 1 to 5"):
        demo.task(0)
    with pytest.raises(TypeError, match="its answers are move, fill"):
        demo.check(1, price=1.0)
    with pytest.raises(TypeError, match=r"takes 1 answer\(s\)"):
        demo.check(3, 1.0, 2.0)
    with pytest.raises(AttributeError, match="has no number 'depth'"):
        demo.task(2).depth


def test_a_record_half_done_says_what_is_left(demo):
    _, good = right_answer(demo, 2)
    fb = demo.check(2, left=good["left"])
    assert fb.status == "not attempted" and "still to do: time" in fb.message


# ---------------------------------------------------------------- recognised mistakes
@pytest.mark.parametrize("sid", STUDENTS)
def test_book_recognises_the_missing_hundred_the_sign_the_full_move_and_linear_fills(sid):
    ex = lesson07.Exercises(student_id=sid)
    t = ex.task(1)
    right = hand_book(t)
    per_cent = hand_book(t, per_cent=True)
    assert "divide by 100" in record_hint(ex, 1, move=per_cent["move"])
    assert "divide by 100" in record_hint(ex, 1, fill=per_cent["fill"])
    assert "sign is reversed" in record_hint(ex, 1, move=-right["move"])
    assert "sign is reversed" in record_hint(ex, 1, fill=t.price * math.exp(-right["move"] / 2))
    assert "midpoint of its sweep" in record_hint(ex, 1, fill=t.price * math.exp(right["move"]))
    assert "not price·(1 + move/2)" in record_hint(ex, 1, fill=t.price * (1 + right["move"] / 2))
    assert "relative change" in record_hint(ex, 1, move=math.exp(right["move"]) - 1)
    assert "change of the price in USDT" in record_hint(ex, 1, move=t.price * (math.exp(right["move"]) - 1))
    assert "walks the book" in record_hint(ex, 1, fill=t.price)
    assert record_hint(ex, 1, fill=right["fill"] + 7) == lesson07.BOOK_MOVE.hint


@pytest.mark.parametrize("sid", STUDENTS)
def test_recovery_recognises_linear_refills_h_as_full_recovery_e_and_swapped_shares(sid):
    ex = lesson07.Exercises(student_id=sid)
    t = ex.task(2)
    h, after, r = t.half_life, t.after, t.recovered
    assert "not refill at a constant rate" in record_hint(ex, 2, left=max(1 - after / (2 * h), 0))
    assert "not refill at a constant rate" in record_hint(ex, 2, time=2 * h * r)
    assert "not all of it" in record_hint(ex, 2, left=max(1 - after / h, 0))
    assert "not all of it" in record_hint(ex, 2, time=h * r)
    assert "not a time constant" in record_hint(ex, 2, left=math.exp(-after / h))
    assert "not a time constant" in record_hint(ex, 2, time=h * math.log(1 / (1 - r)))
    assert "swapped" in record_hint(ex, 2, left=1 - 2 ** (-after / h))
    assert "swapped" in record_hint(ex, 2, time=h * math.log2(1 / r))
    assert "a percentage" in record_hint(ex, 2, left=100 * 2 ** (-after / h))


@pytest.mark.parametrize("sid", STUDENTS)
def test_mark_recognises_the_last_price_the_price_averaged_the_index_the_sign_and_the_window(sid):
    ex = lesson07.Exercises(student_id=sid)
    t = ex.task(3)
    step = t.times[1] - t.times[0]
    assert "that is the last price" in hint_for(ex, 3, t.last[-1])
    assert "averaged the last price" in hint_for(ex, 3, hand_ma(t, of_price=True))
    assert "the index alone" in hint_for(ex, 3, t.index[-1])
    assert "sign is reversed" in hint_for(ex, 3, t.index[-1] - hand_ma(t))
    assert "every sample" in hint_for(ex, 3, hand_mark(t, window=t.times[-1] + step))
    assert "exactly `window` seconds old" in hint_for(ex, 3, hand_mark(t, window=t.window + step / 2))
    assert hint_for(ex, 3, hand_mark(t) + 5) == lesson07.VENUE_MARK.hint


@pytest.mark.parametrize("sid", STUDENTS)
def test_multiplier_recognises_the_inverted_ratio_and_the_shocks_own_sale(sid):
    ex = lesson07.Exercises(student_id=sid)
    t = ex.task(4)
    s, liq, alone = t.shock_order, t.liquidated, t.alone
    assert "inverted" in hint_for(ex, 4, (s + alone) / (s + liq))
    assert "on both sides" in hint_for(ex, 4, liq / alone)
    assert "to the denominator as well" in hint_for(ex, 4, (s + liq) / alone)
    assert "in the numerator too" in hint_for(ex, 4, liq / (s + alone))
    assert "minus 1" in hint_for(ex, 4, (s + liq) / (s + alone) - 1)
    assert hint_for(ex, 4, hand_multiplier(t) * 1.1) == lesson07.MULTIPLIER.hint


@pytest.mark.parametrize("sid", STUDENTS[:3])
def test_tiers_recognises_the_flat_runs_the_sign_and_the_wrong_columns(sid):
    ex = lesson07.Exercises(student_id=sid)
    t = ex.task(5)
    runs = hand_runs(t, baseline=False)
    tier1 = next(label for label in runs if label.endswith("(tier 1)"))
    average = next(label for label in runs if label.endswith("(average)"))
    flat = hand_extra(t, other=tier1, runs=runs)
    assert "cs.NO_TIERS" in record_hint(ex, 5, **flat)
    assert "cs.NO_TIERS" in record_hint(ex, 5, extra_fund_loss=flat["extra_fund_loss"])
    assert "average rate" in record_hint(ex, 5, **hand_extra(t, other=average, runs=runs))
    reversed_ = hand_extra(t, other="tiered", base=cs.NO_TIERS, runs=runs)
    assert "sign is reversed" in record_hint(ex, 5, extra_notional=reversed_["extra_notional"])
    assert "sign is reversed" in record_hint(ex, 5, extra_fund_loss=reversed_["extra_fund_loss"])
    contracts = hand_extra(t, notional="contracts liquidated", runs=runs)["extra_notional"]
    assert "those are contracts" in record_hint(ex, 5, extra_notional=contracts)
    traders = hand_extra(t, notional="traders liquidated", runs=runs)["extra_notional"]
    assert "number of traders" in record_hint(ex, 5, extra_notional=traders)


# ---------------------------------------------------------------- expected answers by hand and from the library
def test_book_by_hand():
    # 10 M USD sold into 20 M per 1 %: −0.5 % in log price (the orderbook docstring's example),
    # filled at 60,000·e^(−0.0025)
    n = {"side": "long", "price": 60_000, "notional": 10_000_000, "depth": 20_000_000}
    got = lesson07.BOOK_MOVE.expected(n)
    assert got["move"] == pytest.approx(-0.005) and got["fill"] == pytest.approx(60_000 * math.exp(-0.0025))
    # a short's liquidation buys: the same move upwards
    got = lesson07.BOOK_MOVE.expected({**n, "side": "short"})
    assert got["move"] == pytest.approx(0.005) and got["fill"] > 60_000


def test_recovery_by_hand():
    n = {"half_life": 300, "after": 600, "recovered": 0.75}
    assert lesson07.RECOVERY.expected(n) == pytest.approx({"left": 0.25, "time": 600})
    n = {"half_life": 60, "after": 30, "recovered": 0.99}
    assert lesson07.RECOVERY.expected(n) == pytest.approx({"left": 2 ** -0.5, "time": 60 * math.log2(100)})


def test_mark_by_hand():
    # a window of 120 s at 60 s marks holds the last two samples: basis −2,000 and −1,000 → −1,500
    n = {"times": (0, 60, 120, 180), "index": (60_000, 60_000, 59_800, 59_900),
         "last": (60_010, 60_000, 57_800, 58_900), "window": 120}
    assert lesson07.VENUE_MARK.expected(n) == pytest.approx(59_900 - 1_500)


def test_multiplier_is_the_cascades_own(demo):
    # the numbers shown are the run's, to the USD: its summary gives the same multiplier
    t = demo.task(4)
    c = cs.run(cs.population(lesson07.VENUE, t.traders, seed=t.seed), cs.Shock("venue", t.size, at=lesson07.AT),
               Book(t.depth), policy="one-tier", duration=lesson07.DURATION, seed=t.seed)
    s = c.summary()
    assert (t.shock_order, t.liquidated, t.alone) == tuple(
        round(x) for x in (s["shock order (USD)"], s["notional liquidated (USD)"], c.baseline))
    assert s["cascade multiplier"] == pytest.approx(demo.answer_key()[4], rel=1e-6)
    assert demo.check(4, s["cascade multiplier"]).correct


# ---------------------------------------------------------------- drawn numbers
@pytest.mark.parametrize("seed", range(25))
def test_drawn_numbers_make_the_intended_exercise(seed):
    ex = student(seed)
    key = ex.answer_key()
    # 1: a long's order moves the price down, a short's up, by 0.3 % to 7.5 %
    t = ex.task(1)
    assert sign(t.side) * key[1]["move"] < 0 and 0.003 - 1e-12 <= abs(key[1]["move"]) <= 0.075 + 1e-12
    assert (key[1]["fill"] - t.price) * sign(t.side) < 0
    # 2: a share between 0 and 1 left, a time after the first half-life
    t = ex.task(2)
    assert 0 < key[2]["left"] < 1 and key[2]["time"] > t.half_life
    # 3: the drop is inside the window, with samples before it there too; the mark between the last price
    # and the index, far from both
    t = ex.task(3)
    step = t.times[1] - t.times[0]
    assert all(b - a == step for a, b in zip(t.times, t.times[1:])) and t.window % step == 0
    inside = [i for i, when in enumerate(t.times) if t.times[-1] - t.window < when]
    drop = next(i for i in range(1, len(t.last)) if t.last[i] < 0.98 * t.last[i - 1])
    assert inside[0] < drop <= inside[-1] and inside[0] > 0
    room = 0.002 * t.index[-1]
    assert t.last[-1] + room < key[3] < t.index[-1] - room
    # 4: a cascade: more liquidated through the book than alone, both > 0
    t = ex.task(4)
    assert 0 < t.alone < t.liquidated and t.shock_order > 0 and key[4] > 1
    # 5: the runs differ
    assert key[5]["extra_notional"] != 0 and key[5]["extra_fund_loss"] != 0


def test_both_sides_and_both_policies_occur():
    assert {student(s).task(1).side for s in range(30)} == {"long", "short"}
    assert {student(s).task(5).policy for s in range(30)} == {"one-tier", "lowest-sufficient"}


def test_without_tiers_the_market_mostly_cascades_further():
    # the lesson's point, over the drawn runs: more liquidated and a larger fund loss without tiers
    extras = [student(s).answer_key()[5] for s in range(20)]
    assert sum(e["extra_notional"] > 0 for e in extras) >= 15
    assert sum(e["extra_fund_loss"] > 0 for e in extras) >= 15


def test_exercise_5_as_the_student_calls_it_reproduces_the_checker(demo):
    t = demo.task(5)
    assert hand_extra(t) == demo.answer_key()[5]  # baseline or not, the same runs
    assert hand_extra(t, runs=hand_runs(t, baseline=False)) == demo.answer_key()[5]


# ---------------------------------------------------------------- the lesson
@pytest.mark.parametrize("n", sorted(SECTIONS))
def test_the_general_hints_name_the_lessons_sections(n):
    hint = lesson07.Exercises.exercises[n - 1].hint
    assert LESSON in hint and all(f"“{s}”" in hint for s in SECTIONS[n])
    assert set(SECTIONS[n]) <= set(lesson07.SECTIONS)


@pytest.mark.skipif(not LESSON_PATH.exists(), reason=f"{LESSON} is not written yet")
def test_the_sections_the_hints_name_are_headings_of_the_lesson():
    nb = nbformat.read(LESSON_PATH, as_version=4)
    headings = {line.lstrip("#").strip() for c in nb.cells if c.cell_type == "markdown"
                for line in c.source.splitlines() if line.startswith("#")}
    # a heading may be numbered ("## 3. The cascade multiplier")
    titles = {h.split(". ", 1)[1] if h[:1].isdigit() and ". " in h else h for h in headings}
    missing = [s for s in lesson07.SECTIONS if s not in titles]
    assert not missing, f"{LESSON} has no section {missing} (the exercise hints point there)"
