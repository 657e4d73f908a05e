"""Lesson 03 exercise checkers (cross margin): what is particular to the lesson's exercises, its
recognised mistakes, hidden cases, published examples and drawn numbers. The checks every lesson
shares (correct / wrong with a hint / not attempted, wrong types, per-student variants, the
answer-key CLI) run for it in ``test_exercises_common.py`` from the hand solutions here.

Correct answers here are worked out by hand in plain Python (the formulas a student would apply,
with the tier table's lookups ``rate``, ``maintenance_amount`` and ``tier_index``), independently
of the checkers' expected answers, which come from ``tiermargin.cross``; published worked examples
(OKX's 11M USDT → 10.3M, Binance's BNB 1,000 → 950) and hand-worked accounts pin a few of those.
"""

from __future__ import annotations

import math

import pytest

import tiermargin as tm
from tiermargin.exercises import lesson03
from tiermargin.exercises.core import Task

CENT = 0.005
LESSON = "lessons/03_cross_margin.ipynb"
RATIO_EXERCISES = (1, 2)
FUNCTION_EXERCISE = 4
STUDENTS = ("demo", "alice", "bob", "8f3a-2291", "Zoë")


# ---------------------------------------------------------------- hand solutions
def sign(side: str) -> int:
    return 1 if side == "long" else -1


def hand_legacy(t: Task, order_value: float | None = None, rpl: bool = True, at_entry: bool = False) -> float:
    """(balance + RPL + UPL)/(position value + order frozen margin × leverage), or a slip's version."""
    upl = (sign(t.btc_side) * t.btc_qty * (t.btc_mark - t.btc_entry)
           + sign(t.eth_side) * t.eth_qty * (t.eth_mark - t.eth_entry))
    btc, eth = (t.btc_entry, t.eth_entry) if at_entry else (t.btc_mark, t.eth_mark)
    frozen = t.order_qty * t.order_price / t.order_leverage
    order = frozen * t.order_leverage if order_value is None else order_value
    return (t.balance + (t.realized_pnl if rpl else 0) + upl) / (t.btc_qty * btc + t.eth_qty * eth + order)


def hand_upl_legs(t: Task) -> float:
    fv = t.face_value
    return fv * t.long_qty * (t.mark - t.long_entry) - fv * t.short_qty * (t.mark - t.short_entry)


def hand_coinw(t: Task, contracts: float | None = None, fee: bool = True, upl: bool = True) -> float:
    """(balance + UPL)/(FV·|long − short|·mark·(MMR + fee)), or a slip's version."""
    net = abs(t.long_qty - t.short_qty) if contracts is None else contracts
    rate = t.mmr + (t.fee_rate if fee else 0)
    return (t.balance + (hand_upl_legs(t) if upl else 0)) / (t.face_value * net * t.mark * rate)


def hand_collateral(amount, bounds, rates):
    """Σ rate·(part of the amount in the slice); a debt counts in full."""
    if amount <= 0:
        return amount
    total = 0.0
    for k, rate in enumerate(rates):
        low, high = bounds[k], bounds[k + 1]
        if amount > low:
            total += rate * (min(amount, high) - low)
    return total


def hand_top_rate(t: Task) -> float:
    rate = [r for low, r in zip(t.bounds, t.rates) if t.amount >= low][-1]
    return rate * t.amount


BTC = tm.load_table("binance-usdm-btcusdt-2021")


def hand_cross_lp(t: Task, tmm1: float | None = None, upnl1: float | None = None, cum: bool = True) -> float:
    """Binance: LP = (WB − TMM1 + UPNL1 + cum − s·Q·EP)/(Q·MMR − s·Q), s = +1, tier at entry."""
    size = t.btc_qty * t.btc_entry
    if tmm1 is None:
        tmm1 = t.eth_qty * t.eth_mark * t.eth_mmr
    if upnl1 is None:
        upnl1 = sign(t.eth_side) * t.eth_qty * (t.eth_mark - t.eth_entry)
    maintenance_amount = BTC.maintenance_amount(size) if cum else 0.0
    return (t.wallet - tmm1 + upnl1 + maintenance_amount - size) / (t.btc_qty * BTC.rate(size) - t.btc_qty)


def hand_lp_one(side: str, qty: float, entry: float, margin: float) -> float:
    """Binance's one-way formula for one position, tier at entry."""
    s, size = sign(side), qty * entry
    return (margin + BTC.maintenance_amount(size) - s * size) / (qty * BTC.rate(size) - s * qty)


def hand_vs(t: Task) -> dict[str, float]:
    im = t.qty * t.entry / t.leverage
    isolated, cross = hand_lp_one(t.side, t.qty, t.entry, im), hand_lp_one(t.side, t.qty, t.entry, t.wallet)

    def reached(price):
        return t.extreme <= price if t.side == "long" else t.extreme >= price

    return {
        "isolated_lp": isolated,
        "cross_lp": cross,
        "isolated_loss": im if reached(isolated) else 0.0,
        "cross_loss": t.wallet if reached(cross) else 0.0,
    }


HAND_VALUES = {
    1: hand_legacy,
    2: hand_coinw,
    3: lambda t: hand_collateral(t.amount, t.bounds, t.rates),
    5: hand_cross_lp,
}


def right_answer(ex: lesson03.Exercises, n: int) -> tuple[tuple, dict]:
    """(args, kwargs) of a correct ``ex.check(n, ...)`` call, worked out by hand."""
    t = ex.task(n)
    if n in HAND_VALUES:
        return (HAND_VALUES[n](t),), {}
    if n == FUNCTION_EXERCISE:
        return (hand_collateral,), {}
    return (), hand_vs(t)


def answer_key_lines() -> list[str]:
    """Lines of alice's printed answer key, worked out by hand."""
    alice = lesson03.Exercises(student_id="alice")
    vs = hand_vs(alice.task(6))
    return [f"{hand_cross_lp(alice.task(5)):.2f} USDT",
            f"isolated_lp {vs['isolated_lp']:.2f} USDT, cross_lp {vs['cross_lp']:.2f} USDT"]


@pytest.fixture(scope="module")
def demo():
    return lesson03.Exercises(student_id="demo")


# ---------------------------------------------------------------- ratios, records, type hints
@pytest.mark.parametrize("n", RATIO_EXERCISES)
def test_a_ratio_given_as_a_percentage_gets_a_pointed_hint(demo, n):
    (value,), _ = right_answer(demo, n)
    fb = demo.check(n, 100 * value)
    assert fb.status == "wrong" and "percentage" in fb.hint


def test_the_isolated_vs_cross_exercise_half_done_is_not_attempted_yet(demo):
    _, good = right_answer(demo, 6)
    fb = demo.check(6, isolated_lp=good["isolated_lp"], cross_lp=good["cross_lp"])
    assert fb.status == "not attempted" and "still to do: isolated_loss, cross_loss" in fb.message
    assert demo.check(6, isolated_lp=good["isolated_lp"] + 100).status == "wrong"


def test_record_type_hints_name_the_field(demo):
    _, good = right_answer(demo, 6)
    fb = demo.check(6, **{**good, "cross_loss": "all of it"})
    assert fb.status == "wrong" and "cross_loss is a str" in fb.message and "a number in USDT" in fb.hint


# ---------------------------------------------------------------- recognised mistakes
def hint_for(ex, n, wrong, rel=1e-4):
    """The hint for a wrong answer, checking first that it is wrong (not the right answer too)."""
    (right,), _ = right_answer(ex, n)
    assert not math.isclose(wrong, right, rel_tol=rel), "this mistake gives the right answer on these numbers"
    fb = ex.check(n, wrong)
    assert fb.status == "wrong", fb
    return fb.hint


@pytest.mark.parametrize("student", STUDENTS)
def test_cross_ratio_recognises_the_order_left_out_frozen_margin_rpl_and_entry_value(student):
    ex = lesson03.Exercises(student_id=student)
    t = ex.task(1)
    assert "left out the open order" in hint_for(ex, 1, hand_legacy(t, order_value=0.0))
    frozen = t.order_qty * t.order_price / t.order_leverage
    assert "multiply it by the order's leverage" in hint_for(ex, 1, hand_legacy(t, order_value=frozen))
    assert "realized PnL" in hint_for(ex, 1, hand_legacy(t, rpl=False))
    assert "entry prices" in hint_for(ex, 1, hand_legacy(t, at_entry=True))


@pytest.mark.parametrize("student", STUDENTS)
def test_net_ratio_recognises_both_legs_the_fee_and_the_upl(student):
    ex = lesson03.Exercises(student_id=student)
    t = ex.task(2)
    assert "long + short" in hint_for(ex, 2, hand_coinw(t, contracts=t.long_qty + t.short_qty))
    assert "close fee" in hint_for(ex, 2, hand_coinw(t, fee=False))
    assert "unrealized PnL" in hint_for(ex, 2, hand_coinw(t, upl=False))


@pytest.mark.parametrize("student", STUDENTS)
def test_collateral_recognises_the_top_rate_the_amount_and_the_haircut(student):
    ex = lesson03.Exercises(student_id=student)
    t = ex.task(3)
    value = hand_collateral(t.amount, t.bounds, t.rates)
    assert "to the whole amount" in hint_for(ex, 3, hand_top_rate(t))
    assert "the amount itself" in hint_for(ex, 3, float(t.amount))
    assert "that is the haircut" in hint_for(ex, 3, t.amount - value)


@pytest.mark.parametrize("student", STUDENTS)
def test_cross_lp_recognises_eth_left_out_its_mm_its_pnl_and_cum(student):
    ex = lesson03.Exercises(student_id=student)
    t = ex.task(5)
    assert "left out the ETH position:" in hint_for(ex, 5, hand_cross_lp(t, tmm1=0.0, upnl1=0.0))
    assert "maintenance margin TMM1" in hint_for(ex, 5, hand_cross_lp(t, tmm1=0.0))
    assert "PnL UPNL1" in hint_for(ex, 5, hand_cross_lp(t, upnl1=0.0))
    assert "maintenance amount cum" in hint_for(ex, 5, hand_cross_lp(t, cum=False))


def test_collateral_function_recognises_mistakes_on_the_students_numbers(demo):
    fb = demo.check(4, lambda amount, bounds, rates: hand_top_rate(demo.task(4)) * amount / demo.task(4).amount)
    assert fb.status == "wrong" and "your numbers" in fb.message and "to the whole amount" in fb.hint
    fb = demo.check(4, lambda amount, bounds, rates: amount)
    assert fb.status == "wrong" and "the amount itself" in fb.hint


# ---------------------------------------------------------------- hidden cases of the function
def no_debts(amount, bounds, rates):
    """Treats a debt like an empty wallet."""
    return hand_collateral(max(amount, 0.0), bounds, rates)


def first_slice_at_par(amount, bounds, rates):
    """Assumes the first slice is always valued in full."""
    return hand_collateral(amount, bounds, [1.0, *rates[1:]])


def cut_at_the_last_finite_bound(amount, bounds, rates):
    """Values nothing beyond the last finite bound."""
    last = bounds[-2] if len(bounds) > 2 else amount
    return hand_collateral(min(amount, last), bounds, rates)


@pytest.mark.parametrize(
    "wrong, shows",
    [
        (no_debts, "should be -2,000,000.00 USD, got 0.00 USD"),
        (first_slice_at_par, "should be 950.00 USD, got 1,000.00 USD"),
        (cut_at_the_last_finite_bound, "should be 10,300,000.00 USD, got 9,500,000.00 USD"),
    ],
    ids=lambda x: getattr(x, "__name__", "message"),
)
def test_a_function_with_a_subtle_slip_fails_a_hidden_case(wrong, shows):
    # a student whose visible case does not give the slip away
    ex = next(
        e for e in (lesson03.Exercises(seed=s) for s in range(200))
        if e.check(4, wrong).message.startswith("a hidden case failed")
    )
    fb = ex.check(4, wrong)
    assert fb.status == "wrong" and shows in fb.message, fb
    assert LESSON in fb.hint


def test_arguments_are_fresh_lists_so_editing_them_is_harmless(demo):
    def collateral(amount, bounds, rates):
        assert isinstance(bounds, list) and isinstance(rates, list)
        result = hand_collateral(amount, bounds, rates)
        bounds.clear()
        rates.clear()
        return result

    before = demo.task(4).numbers
    assert demo.check(4, collateral).correct
    assert demo.check(4, collateral).correct
    assert demo.task(4).numbers == before


def test_hidden_cases_cover_the_published_examples_and_the_edges():
    cases = lesson03.COLLATERAL_FUNCTION.answer.hidden
    amounts = {c["amount"] for c in cases}
    assert {11_000_000, 1_000, 0} <= amounts and any(a < 0 for a in amounts)
    assert any(c["amount"] in c["bounds"] for c in cases if c["amount"] > 0)  # exactly on a bound
    assert any(len(c["rates"]) == 1 for c in cases) and any(c["rates"][0] < 1 for c in cases)
    assert all(c["bounds"][-1] == float("inf") for c in cases)
    for case in cases:
        assert lesson03.COLLATERAL_FUNCTION.expected(case) == pytest.approx(hand_collateral(**case), abs=1e-6)


# ---------------------------------------------------------------- expected answers vs published and hand-worked numbers
def test_okx_and_binance_published_collateral_examples():
    # OKX: "11M USDT: 0–5M × 1 + 5–10M × 0.9 + >10M × 0.8 → $10.3M".
    okx = {"amount": 11_000_000, "bounds": (0, 5e6, 10e6, float("inf")), "rates": (1, 0.9, 0.8)}
    assert lesson03.COLLATERAL.expected(okx) == pytest.approx(10_300_000, abs=CENT)
    # Binance multi-assets mode: "BNB with a market value of $1000 will be valued at $950".
    bnb = {"amount": 1_000, "bounds": (0, float("inf")), "rates": (0.95,)}
    assert lesson03.COLLATERAL_FUNCTION.expected(bnb) == pytest.approx(950, abs=CENT)


def test_cross_ratio_on_a_hand_worked_account():
    # balance 20,000, RPL 300; long 1 BTC 60,000 → 61,000 (+1,000); short 10 ETH 3,000 → 3,100 (−1,000);
    # a BTC buy order 0.5 @ 58,000 at 10x freezes 2,900: × 10 = 29,000.
    n = {"balance": 20_000, "realized_pnl": 300.0, "btc_side": "long", "btc_qty": 1, "btc_entry": 60_000,
         "eth_side": "short", "eth_qty": 10, "eth_entry": 3_000, "btc_mark": 61_000, "eth_mark": 3_100,
         "order_symbol": "BTCUSDT", "order_side": "long", "order_qty": 0.5, "order_price": 58_000, "order_leverage": 10}
    assert lesson03.CROSS_RATIO.expected(n) == pytest.approx(20_300 / (61_000 + 31_000 + 29_000))


def test_net_ratio_on_a_hand_worked_pair():
    # long 3,000 and short 1,000 contracts of 0.001 BTC, both at 60,000, mark 59,000: UPL −3,000 + 1,000;
    # requirement 0.001 × 2,000 × 59,000 × (1 % + 0.05 %) = 1,239.
    n = {"balance": 5_000, "face_value": 0.001, "long_qty": 3_000, "long_entry": 60_000, "short_qty": 1_000,
         "short_entry": 60_000, "mark": 59_000, "mmr": 0.01, "fee_rate": 0.0005}
    assert lesson03.NET_RATIO.expected(n) == pytest.approx(3_000 / 1_239)


def test_cross_lp_on_a_hand_worked_account():
    # long 5 BTC @ 60,000 (300,000: tier 3, MMR 1 %, cum 1,300), long 10 ETH 3,000 → 2,900 at 0.5 %:
    # TMM1 = 145, UPNL1 = −1,000; LP = (20,000 − 145 − 1,000 + 1,300 − 300,000)/(0.05 − 5) = 56,534.34.
    n = {"wallet": 20_000, "btc_qty": 5, "btc_entry": 60_000, "table": "binance-usdm-btcusdt-2021",
         "eth_side": "long", "eth_qty": 10, "eth_entry": 3_000, "eth_mark": 2_900, "eth_mmr": 0.005}
    assert lesson03.CROSS_LP.expected(n) == pytest.approx(56_534.34, abs=CENT)


def test_isolated_vs_cross_on_a_hand_worked_position():
    # long 2 BTC @ 50,000 at 20x (100,000: tier 2, 0.5 %, cum 50): IM 5,000 → LP 94,950/1.99 = 47,713.57;
    # the whole 15,000 wallet → LP 84,950/1.99 = 42,688.44; a crash to 45,000 liquidates the isolated one.
    n = {"side": "long", "qty": 2, "entry": 50_000, "leverage": 20, "table": "binance-usdm-btcusdt-2021",
         "wallet": 15_000, "extreme": 45_000}
    got = lesson03.ISOLATED_VS_CROSS.expected(n)
    assert got["isolated_lp"] == pytest.approx(47_713.57, abs=CENT)
    assert got["cross_lp"] == pytest.approx(42_688.44, abs=CENT)
    assert (got["isolated_loss"], got["cross_loss"]) == (5_000, 0)
    assert lesson03.ISOLATED_VS_CROSS.expected({**n, "extreme": 42_000})["cross_loss"] == 15_000


@pytest.mark.parametrize("seed", range(60))
def test_drawn_numbers_make_the_intended_exercise(seed):
    ex = lesson03.Exercises(seed=seed)
    key = ex.answer_key()
    # 1: the equity is positive; the order adds to a position, resting on the right side of its mark
    t = ex.task(1)
    assert hand_legacy(t) > 0
    side = t.btc_side if t.order_symbol == "BTCUSDT" else t.eth_side
    mark = t.btc_mark if t.order_symbol == "BTCUSDT" else t.eth_mark
    assert t.order_side == side and sign(side) * (mark - t.order_price) > 0
    # 2: a real hedge with a net position, a positive equity and a PnL that matters
    t = ex.task(2)
    assert t.long_qty != t.short_qty and min(t.long_qty, t.short_qty) > 0
    assert t.balance + hand_upl_legs(t) > 0 and abs(hand_upl_legs(t)) > 0.01 * t.balance
    # 3, 4: past the first slice, never on a bound: "the top rate everywhere" is a real slip
    for n in (3, 4):
        t = ex.task(n)
        assert t.bounds[1] < t.amount < float("inf") and t.amount not in t.bounds
        assert list(t.rates) == sorted(t.rates, reverse=True) and len(set(t.rates)) == len(t.rates)
    # 5: tier 2 or 3 (cum > 0), the same at entry and at the liquidation price, below the entry
    t = ex.task(5)
    k = int(BTC.tier_index(t.btc_qty * t.btc_entry))
    assert k in (1, 2) and int(BTC.tier_index(t.btc_qty * key[5])) == k
    assert t.wallet > 0 and 0.8 * t.btc_entry < key[5] < t.btc_entry
    # 6: the tier at entry is the tier at both liquidation prices; isolated is the closer one; the
    # crash stops well clear of both
    t = ex.task(6)
    vs = key[6]
    for price in (t.entry, vs["isolated_lp"], vs["cross_lp"]):
        assert int(BTC.tier_index(t.qty * price)) == 1
    assert abs(vs["isolated_lp"] - t.entry) < abs(vs["cross_lp"] - t.entry)
    assert min(abs(t.extreme - vs["isolated_lp"]), abs(t.extreme - vs["cross_lp"])) > 50


def test_the_isolated_vs_cross_exercise_has_all_three_outcomes():
    outcomes = [(k["isolated_loss"] > 0, k["cross_loss"] > 0)
                for k in (lesson03.Exercises(seed=s).answer_key()[6] for s in range(40))]
    assert set(outcomes) == {(True, False), (True, True), (False, False)}
    # the lesson's case, isolated liquidated while cross survives, is the most common
    assert max(set(outcomes), key=outcomes.count) == (True, False)

