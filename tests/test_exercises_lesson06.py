"""Lesson 06 exercise checkers (the risk fund and ADL): what is particular to the lesson's exercises,
its lists, type hints, recognised mistakes, hidden cases, published examples and drawn numbers. The
checks every lesson shares (correct / wrong with a hint / not attempted, wrong types, per-student
variants, the answer-key CLI) run for it in ``test_exercises_common.py`` from the hand solutions
here.

Correct answers here are worked out by hand in plain Python (the ledger walked row by row, the
drawdown floor from the balances shown, closed × shortfall/|loss|, PnL% × effective leverage, the
queue filled by hand, the lights from cumulative shares, the windows from wall-clock dates in
UTC+8), independently of the checkers' expected answers, which come from ``tiermargin.riskfund``
and ``tiermargin.adl``; published numbers pin a few of those: BitMEX's six accounts (lights 2, 5, 1,
3, 4, 2; a short of 20 at 650 filled against accounts 2 and 5) and the ``adl_qty`` example.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest

from tiermargin.exercises import lesson06
from tiermargin.exercises.core import Task

CENT = 0.005
LESSON = "lessons/06_risk_fund_and_adl.ipynb"
LIST_EXERCISES = (6, 7)
FUNCTION_EXERCISE = 4
STUDENTS = ("demo", "alice", "bob", "8f3a-2291", "Zoë")
UTC8 = timezone(timedelta(hours=8))
MARCH_1 = datetime(2024, 3, 1, tzinfo=timezone.utc)


# ---------------------------------------------------------------- hand solutions
def sign(side: str) -> int:
    return 1 if side == "long" else -1


def hand_fund(t: Task) -> dict[str, float]:
    balance, shortfall = t.start, 0
    for r in t.results:
        paid = min(-r, balance) if r < 0 else -r
        balance -= paid
        shortfall += -r - paid if r < 0 else 0
    return {"balance": balance, "shortfall": shortfall}


def hand_peak(t: Task) -> float:
    """The highest balance over the 8 hours before the loss, counting the one carried into them."""
    since = t.loss_hour - 8
    carried = t.start
    for hour, level in t.balances:
        if hour <= since:
            carried = level
    return max([carried, *(level for hour, level in t.balances if hour > since)])


def hand_paid(t: Task) -> float:
    floor = (1 - t.drawdown) * hand_peak(t)
    return min(t.loss, max(t.balances[-1][1] - floor, 0))


def hand_terms(t: Task) -> tuple[float, float]:
    """(|loss| of the fill against bankruptcy, the fund's shortfall)."""
    loss = t.closed * abs(t.fill - t.bankruptcy)
    return loss, max(loss - t.fund, 0)


def hand_to_adl(t: Task) -> float:
    loss, shortfall = hand_terms(t)
    return t.closed * shortfall / loss


def hand_score(side, qty, entry, margin, mark):
    upnl = sign(side) * qty * (mark - entry)
    pnl = upnl / (qty * entry)
    leverage = qty * mark / (margin + upnl)
    return pnl * leverage if pnl >= 0 else pnl / leverage


def hand_queue(t: Task, key=lambda c: -c[2], price=None) -> dict[str, list[float]]:
    order = sorted(range(len(t.candidates)), key=lambda i: key(t.candidates[i]))
    qty, pnl = [0.0] * len(order), [0.0] * len(order)
    left = t.qty
    for i in order:
        contracts, entry, _ = t.candidates[i]
        take = min(contracts, left)
        qty[i] = take
        pnl[i] = -sign(t.side) * take * ((t.bankruptcy if price is None else price) - entry)
        left -= take
    return {"qty": qty, "pnl": pnl}


def hand_lights(positions, key=lambda p: -p[1], weight=lambda p: p[0]) -> list[int]:
    order = sorted(range(len(positions)), key=lambda i: key(positions[i]))
    total = sum(weight(p) for p in positions)
    out, through = [0] * len(positions), 0
    for i in order:
        through += weight(positions[i])
        out[i] = 6 - math.ceil(5 * through / total)
    return out


def hand_nets(t: Task, tz=UTC8, cut_off=16, end_included=False) -> list[float]:
    """Nets per window: a window is the local date of (local time − the cut-off hour)."""
    by_day: dict = {}
    for hour, amount in t.rows:
        local = (MARCH_1 + timedelta(hours=hour)).astimezone(tz) - timedelta(hours=cut_off)
        if end_included and local.time() == datetime.min.time():
            local -= timedelta(seconds=1)
        by_day[local.date()] = by_day.get(local.date(), 0) + amount
    first, last = min(by_day), max(by_day)
    return [by_day.get(first + timedelta(days=k), 0) for k in range((last - first).days + 1)]


HAND_VALUES = {2: hand_paid, 3: hand_to_adl, 6: lambda t: hand_lights(t.positions), 7: hand_nets}
HAND_RECORDS = {1: hand_fund, 5: hand_queue}


def right_answer(ex: lesson06.Exercises, n: int) -> tuple[tuple, dict]:
    """(args, kwargs) of a correct ``ex.check(n, ...)`` call, worked out by hand."""
    t = ex.task(n)
    if n in HAND_VALUES:
        return (HAND_VALUES[n](t),), {}
    if n == FUNCTION_EXERCISE:
        return (hand_score,), {}
    return (), HAND_RECORDS[n](t)


def answer_key_lines() -> list[str]:
    """Lines of alice's printed answer key, worked out by hand."""
    alice = lesson06.Exercises(student_id="alice")
    fund = hand_fund(alice.task(1))
    return [f"balance {fund['balance']:.2f} USDT, shortfall {fund['shortfall']:.2f} USDT",
            f"{hand_to_adl(alice.task(3)):.10g} contracts",
            f"{lesson06.SCORE.typed(hand_score(**alice.task(4).numbers))} on these numbers, plus 7 hidden cases"]


@pytest.fixture(scope="module")
def demo():
    return lesson06.Exercises(student_id="demo")


def student(seed: int) -> lesson06.Exercises:
    return lesson06.Exercises(seed=seed)


# ---------------------------------------------------------------- lists and type hints
@pytest.mark.parametrize("n", LIST_EXERCISES)
def test_a_wrong_list_is_wrong_with_a_hint(demo, n):
    (good,), _ = right_answer(demo, n)
    for bad in ([x + 1 for x in good], list(good)[:-1], [*good, 0]):
        fb = demo.check(n, bad)
        assert fb.status == "wrong" and fb.hint, fb
    assert "the answer is a list of" in demo.check(n, list(good)[:-1]).hint
    assert demo.check(n, tuple(good)).correct


def test_list_and_record_type_hints(demo):
    fb = demo.check(6, [5, "4", 3])
    assert fb.status == "wrong" and "a list whose item at index 1 is a str ('4')" in fb.message
    assert demo.check(7, 1_000.0).hint == "the answer is a list of numbers in USDT"
    fb = demo.check(5, qty="1, 2", pnl=[0.0] * len(demo.task(5).candidates))
    assert fb.status == "wrong" and "qty is a str" in fb.message
    assert "qty is a list of numbers in contracts" in fb.hint
    fb = demo.check(1, balance="0", shortfall=0)
    assert "balance is a number in USDT" in fb.hint


# ---------------------------------------------------------------- recognised mistakes
def hint_for(ex, n, wrong):
    """The hint for a wrong value, checking first that it is wrong (not the right answer too)."""
    fb = ex.check(n, wrong)
    assert fb.status == "wrong", fb
    return fb.hint


def record_hint(ex, n, **fields):
    _, good = right_answer(ex, n)
    fb = ex.check(n, **{**good, **fields})
    assert fb.status == "wrong", fb
    return fb.hint


@pytest.mark.parametrize("sid", STUDENTS)
def test_fund_recognises_a_negative_balance_and_a_loss_left_unpaid(sid):
    ex = lesson06.Exercises(student_id=sid)
    t = ex.task(1)
    negative = t.start + sum(t.results)
    assert "never goes negative" in record_hint(ex, 1, balance=negative)
    # the big loss refused outright: the balance kept, the whole loss to ADL
    balance, big = t.start, None
    for r in t.results:
        if big is None and r < 0 and -r > balance:
            big = -r
        else:
            balance = max(balance + r, 0)
    assert "pays what it has first" in record_hint(ex, 1, shortfall=big)
    assert "pays what it has first" in record_hint(ex, 1, balance=balance)
    assert record_hint(ex, 1, shortfall=hand_fund(t)["shortfall"] + 7) == lesson06.FUND_PAYS.hint


@pytest.mark.parametrize("sid", STUDENTS)
def test_threshold_recognises_the_current_balance_an_old_peak_no_threshold_and_the_shortfall(sid):
    ex = lesson06.Exercises(student_id=sid)
    t = ex.task(2)
    balance, d = t.balances[-1][1], t.drawdown
    assert "d of the current balance" in hint_for(ex, 2, min(t.loss, d * balance))
    old_peak = max(level for _, level in t.balances)
    assert old_peak > hand_peak(t)
    assert "more than 8 hours old" in hint_for(ex, 2, min(t.loss, max(balance - (1 - d) * old_peak, 0)))
    assert "without the threshold" in hint_for(ex, 2, min(t.loss, balance))
    assert "the shortfall handed to ADL" in hint_for(ex, 2, t.loss - hand_paid(t))


@pytest.mark.parametrize("sid", STUDENTS)
def test_to_adl_recognises_the_ratio_inverted_the_paid_share_and_usdt(sid):
    ex = lesson06.Exercises(student_id=sid)
    t = ex.task(3)
    loss, shortfall = hand_terms(t)
    assert "inverted" in hint_for(ex, 3, t.closed * loss / shortfall)
    assert "sold in the market" in hint_for(ex, 3, t.closed * (loss - shortfall) / loss)
    assert "shortfall in USDT" in hint_for(ex, 3, shortfall)
    assert "at the bankruptcy price" in hint_for(ex, 3, shortfall / t.bankruptcy)


def on_margin(side, qty, entry, margin, mark):
    upnl = sign(side) * qty * (mark - entry)
    return upnl / margin * qty * mark / (margin + upnl)


def opening_leverage(side, qty, entry, margin, mark):
    upnl = sign(side) * qty * (mark - entry)
    return upnl / (qty * entry) * (qty * entry / margin)


def margin_only(side, qty, entry, margin, mark):
    upnl = sign(side) * qty * (mark - entry)
    return upnl / (qty * entry) * qty * mark / margin


@pytest.mark.parametrize(
    "wrong, shows",
    [(on_margin, "not over the margin"), (opening_leverage, "leverage at opening"), (margin_only, "margin alone")],
    ids=lambda x: getattr(x, "__name__", "hint"),
)
@pytest.mark.parametrize("sid", STUDENTS)
def test_ranking_recognises_mistakes_on_the_students_numbers(sid, wrong, shows):
    ex = lesson06.Exercises(student_id=sid)
    fb = ex.check(4, wrong)
    assert fb.status == "wrong" and "on your numbers" in fb.message and shows in fb.hint, fb


def always_multiplied(side, qty, entry, margin, mark):
    upnl = sign(side) * qty * (mark - entry)
    return upnl / (qty * entry) * qty * mark / (margin + upnl)


def long_only(side, qty, entry, margin, mark):
    return hand_score("long", qty, entry, margin, mark)


@pytest.mark.parametrize(
    "wrong, label",
    [(always_multiplied, "(a long at a loss: PnL% / effective leverage)"), (long_only, "(a short in profit)")],
    ids=lambda x: getattr(x, "__name__", "label"),
)
def test_a_function_right_only_on_the_students_numbers_fails_a_hidden_case(wrong, label):
    # a student with a long in profit: the visible case gives neither slip away
    ex = next(e for e in map(student, range(50)) if e.task(4).side == "long")
    fb = ex.check(4, wrong)
    assert fb.status == "wrong" and fb.message.startswith(f"a hidden case failed {label}"), fb
    assert fb.hint == lesson06.RANKING.hint


@pytest.mark.parametrize("sid", STUDENTS)
def test_queue_recognises_the_listed_order_the_lowest_first_the_mark_and_the_sign(sid):
    ex = lesson06.Exercises(student_id=sid)
    t = ex.task(5)
    in_listed_order = hand_queue(t, key=t.candidates.index)
    assert "not in the order listed" in record_hint(ex, 5, qty=in_listed_order["qty"])
    assert "highest score is deleveraged first" in record_hint(ex, 5, qty=hand_queue(t, key=lambda c: c[2])["qty"])
    assert "PnL at the mark price" in record_hint(ex, 5, pnl=hand_queue(t, price=t.mark)["pnl"])
    assert "sign is reversed" in record_hint(ex, 5, pnl=[-x for x in hand_queue(t)["pnl"]])


@pytest.mark.parametrize("sid", STUDENTS)
def test_lights_recognise_the_listed_order_the_lowest_first_positions_and_reversed(sid):
    ex = lesson06.Exercises(student_id=sid)
    positions = ex.task(6).positions
    index = {p: i for i, p in enumerate(positions)}
    assert "not in the order listed" in hint_for(ex, 6, hand_lights(positions, key=lambda p: index[p]))
    assert "not the lowest" in hint_for(ex, 6, hand_lights(positions, key=lambda p: p[1]))
    assert "not of the number of positions" in hint_for(ex, 6, hand_lights(positions, weight=lambda p: 1))
    assert "reversed" in hint_for(ex, 6, [6 - x for x in hand_lights(positions)])


@pytest.mark.parametrize("sid", STUDENTS)
def test_reconciliation_recognises_utc_cut_offs_and_the_end_included(sid):
    ex = lesson06.Exercises(student_id=sid)
    t = ex.task(7)
    assert "16:00 UTC" in hint_for(ex, 7, hand_nets(t, tz=timezone.utc))
    assert "calendar days in UTC" in hint_for(ex, 7, hand_nets(t, tz=timezone.utc, cut_off=0))
    assert "exactly the cut-off" in hint_for(ex, 7, hand_nets(t, end_included=True))


# ---------------------------------------------------------------- hidden cases
def test_hidden_cases_cover_both_sides_losses_and_no_pnl():
    cases = lesson06.RANKING.answer.hidden
    assert len(lesson06.RANKING.answer.labels) == len(cases) == 7
    pnl = [sign(c["side"]) * (c["mark"] - c["entry"]) for c in cases]
    assert {c["side"] for c in cases} == {"long", "short"}
    assert any(p < 0 and c["side"] == "long" for p, c in zip(pnl, cases))
    assert any(p < 0 and c["side"] == "short" for p, c in zip(pnl, cases))
    assert any(p == 0 for p in pnl)
    for c in cases:
        assert lesson06.RANKING.expected(c) == pytest.approx(hand_score(**c), rel=1e-12, abs=1e-15)


def test_hidden_cases_by_hand():
    # long 1 at 50,000 with 5,000 margin, mark 55,000: PnL% 10 %, equity 10,000, leverage 5.5 → 0.55
    assert lesson06.RANKING.expected(lesson06.RANKING.answer.hidden[0]) == pytest.approx(0.55)
    # the same at 48,000: PnL% −4 %, equity 3,000, leverage 16 → −0.04/16 = −0.0025
    assert lesson06.RANKING.expected(lesson06.RANKING.answer.hidden[2]) == pytest.approx(-0.0025)


# ---------------------------------------------------------------- expected answers vs published numbers and hand
BITMEX = ((10, 3), (10, 6), (20, 1), (30, 4), (20, 5), (10, 2))  # (contracts, ranking) of accounts 1–6


def test_bitmex_lights():
    # BitMEX "Auto-Deleveraging Further Information": queue 2, 5, 4, 1, 6, 3 at 20 %, 40 %, 60 %, 80 %, 80 %, 100 %
    assert lesson06.LIGHTS_EXERCISE.expected({"positions": BITMEX}) == [2, 5, 1, 3, 4, 2]
    assert hand_lights(BITMEX) == [2, 5, 1, 3, 4, 2]


def test_bitmex_queue():
    # a short of 20 liquidated at a bankruptcy price of 650, the longs entered at 600: account 2 closed
    # in full (10), account 5 for 10 of its 20, each realising 10 × 50
    n = {"side": "short", "qty": 20, "bankruptcy": 650, "mark": 655,
         "candidates": tuple((q, 600, r) for q, r in BITMEX)}
    expected = {"qty": [0, 10, 0, 0, 10, 0], "pnl": [0, 500, 0, 0, 500, 0]}
    assert lesson06.QUEUE.expected(n) == expected
    assert hand_queue(Task(5, "x", n)) == expected


def test_adl_qty_example():
    # 10 contracts at a loss of 1,500, the fund pays 1,200: 300 short, 2 contracts deleveraged
    n = {"side": "long", "closed": 10, "bankruptcy": 50_000, "fill": 49_850, "fund": 1_200}
    assert lesson06.TO_ADL.expected(n) == pytest.approx(2.0)


def test_fund_ledger_example():
    # tests/test_riskfund.py: 1,000, +250, −400, −1,000 → 0 with 150 to ADL; then −70 all to ADL
    n = {"start": 1_000, "results": (250, -400, -1_000, -70)}
    assert lesson06.FUND_PAYS.expected(n) == {"balance": 0, "shortfall": 220}


def test_threshold_by_hand():
    # 30 % threshold, the loss at 18:00: the 8 hours are (10:00, 18:00]. The 130,000 of 01:00 is older;
    # the balance carried into them is the 100,000 of 09:00, the highest: floor 70,000, and from
    # 90,000 the fund pays 20,000 of 25,000
    n = {"start": 120_000, "balances": ((1, 130_000), (2, 110_000), (9, 100_000), (12, 90_000)),
         "drawdown": 0.3, "loss_hour": 18, "loss": 25_000}
    assert lesson06.THRESHOLD.expected(n) == pytest.approx(20_000)
    assert hand_paid(Task(2, "x", n)) == pytest.approx(20_000)
    # without the 09:00 row the 110,000 of 02:00 is carried into the window: floor 77,000
    n = {**n, "balances": ((1, 130_000), (2, 110_000), (12, 100_000))}
    assert lesson06.THRESHOLD.expected(n) == pytest.approx(100_000 - 0.7 * 110_000)
    assert hand_paid(Task(2, "x", n)) == pytest.approx(23_000)


def test_reconciliation_by_hand():
    # 07:59 UTC (15:59 UTC+8) and 08:00 UTC (16:00 UTC+8) fall in different windows; 2 March 07:00 UTC
    # is still the second window
    n = {"start": 10_000, "rows": ((7.75, 100), (8, -50), (20, 30), (31, 5), (33, 1))}
    assert lesson06.RECONCILE.expected(n) == [100, -15, 1]
    assert hand_nets(Task(7, "x", n)) == [100, -15, 1]


@pytest.mark.parametrize("seed", range(60))
def test_drawn_numbers_make_the_intended_exercise(seed):
    ex = student(seed)
    key = ex.answer_key()
    # 1: one loss beyond the fund, the fund back above 0 after it
    t = ex.task(1)
    balances, beyond = [t.start], 0
    for r in t.results:
        beyond += r < 0 and -r > balances[-1]
        balances.append(max(balances[-1] + r, 0))
    assert beyond == 1 and key[1]["shortfall"] > 0 and key[1]["balance"] > 0
    # 2: the history's losses within the threshold, the old high outside the window and above the
    # peak, the threshold binding: the fund pays a part of the loss
    t = ex.task(2)
    levels = [(0, t.start), *t.balances]
    for k, (hour, level) in enumerate(levels[1:], start=1):
        before = levels[:k]
        carried = [lv for h, lv in before if h <= hour - 8][-1:] or [t.start]
        assert level >= (1 - t.drawdown) * max(carried + [lv for h, lv in before if h > hour - 8])
    assert t.balances[0][0] <= t.balances[1][0] < t.loss_hour - 8 < t.balances[2][0]
    assert t.balances[0][1] > hand_peak(t) == t.balances[2][1]
    assert 0 < key[2] < t.loss
    # 3: the fund pays part of the loss
    t = ex.task(3)
    assert 0 < t.fund < t.closed * abs(t.fill - t.bankruptcy)
    assert sign(t.side) * (t.fill - t.bankruptcy) < 0
    # 4: a candidate: in profit
    t = ex.task(4)
    assert sign(t.side) * (t.mark - t.entry) > 0
    # 5: the mark beyond bankruptcy; candidates in profit, entries beyond bankruptcy; one filled in part
    t = ex.task(5)
    s = sign(t.side)
    assert s * (t.bankruptcy - t.mark) > 0
    assert all(s * (entry - t.bankruptcy) > 0 for _, entry, _ in t.candidates)
    assert len({score for _, _, score in t.candidates}) == len(t.candidates)
    filled = [(q, c[0]) for q, c in zip(key[5]["qty"], t.candidates) if q > 0]
    assert sum(q < c for q, c in filled) == 1 and 2 <= len(filled) < len(t.candidates)
    # 6: distinct scores, at least three different lights
    t = ex.task(6)
    assert len({score for _, score in t.positions}) == len(t.positions) and len(set(key[6])) >= 3
    # 7: one row at a cut-off, no empty window
    t = ex.task(7)
    assert sum(h in (8, 32) for h, _ in t.rows) == 1
    windows = {math.floor((h - 8) / 24) for h, _ in t.rows}
    assert len(key[7]) == len(windows) == max(windows) - min(windows) + 1


def test_both_sides_occur():
    for n in (3, 4, 5):
        assert {student(s).task(n).side for s in range(30)} == {"long", "short"}


# ---------------------------------------------------------------- variants
def test_the_function_is_checked_on_each_students_numbers():
    alice, bob = lesson06.Exercises(student_id="alice"), lesson06.Exercises(student_id="bob")
    assert alice.task(4).numbers != bob.task(4).numbers
    answer = alice.answer_key()[4]

    def alices_number(*args):  # right on alice's position, a constant elsewhere
        return answer

    assert alice.check(4, alices_number).status == "wrong"  # the hidden cases
    assert "on your numbers" in bob.check(4, alices_number).message

