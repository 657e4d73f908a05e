"""ADL: the three rankings, quintile lights, the queue at the bankruptcy price, money, bad input."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import positions

from tiermargin import Contract, IsolatedPosition, TierTable
from tiermargin.adl import (
    TOLERANCE,
    adl_qty,
    binance_score,
    candidates,
    deleverage,
    explain_queue,
    hyperliquid_score,
    lights,
    pnl_leverage_score,
    scores,
)
from tiermargin.riskfund import RiskFund

TABLE = TierTable.single(0.005, max_leverage=100)
CONTRACTS = [Contract("linear", 1.0, "USDT"), Contract("linear", 0.01, "USDT"),
             Contract("inverse", 100.0, "BTC"), Contract("inverse", 1.0, "BTC")]


def signed_value(contract, side, qty, price):
    """BitMEX's signed position value: σ·side·qty·FV·u (u = P linear, 1/P inverse), so that
    UPL(P) = signed value at P − signed value at entry."""
    return contract.sigma * side * qty * contract.face_value * contract.coordinate(price)


# ---------------------------------------------------------------- published examples
# BitMEX "Auto-Deleveraging Further Information": six longs (accounts 1–6) with quantities and
# PnL rankings; queue order 2, 5, 4, 1, 6, 3 at 20 %, 40 %, 60 %, 80 %, 80 %, 100 %. A short of 20
# liquidated at a bankruptcy price of USD 650: account 2 is closed in full (10), account 5 for 10 of 20.
BITMEX_QTY = [10, 10, 20, 30, 20, 10]
BITMEX_SCORE = [3, 6, 1, 4, 5, 2]


def test_bitmex_quintiles():
    assert lights(BITMEX_SCORE, BITMEX_QTY).tolist() == [2, 5, 1, 3, 4, 2]


def test_bitmex_queue_short_of_20_at_650():
    r = deleverage("short", 20, 650, BITMEX_QTY, 600, BITMEX_SCORE)
    assert r.who.tolist() == [1, 4]  # accounts 2 and 5
    assert r.qty.tolist() == [10, 10]
    assert r.price == 650 and r.unmatched == 0
    assert r.pnl.tolist() == [500, 500]  # longs from 600 closed at 650: 10 × 50


def test_binance_leverage_pnl_illustration():
    # Binance developer-forum thread "How to calculate Leverage Pnl Quantile" (a user's figures, applying the
    # FAQ formula): UPL 40.2, wallet 4.27, displayed margin ratio 13.42 % → 40.2/4.27 × 13.42 % ≈ 1.26.
    mm = 0.1342 * (4.27 + 40.2)
    assert binance_score(40.2, 4.27, mm) == pytest.approx(1.2634, abs=1e-4)


def test_binance_terms():
    assert binance_score(-5, 100, 10) == 0  # no profit: max(0, UPL) = 0
    assert binance_score(5, 0.5, 1) == pytest.approx(5 / 1 * 1 / 5.5)  # wallet below 1 counts as 1
    # wallet + UPL <= 0 → margin ratio 0
    assert binance_score(np.array([5, 5]), np.array([-10, -2]), 1).tolist() == [0, pytest.approx(5 / 3)]


def test_pnl_leverage_illustration():
    # Long 1 BTC at 50,000 with 5,000 margin. Mark 55,000: PnL% = 5,000/50,000 = 10 %, effective leverage
    # 55,000/10,000 = 5.5 → 0.55. Mark 48,000: PnL% = −4 %, leverage 48,000/3,000 = 16 → −0.04/16.
    p = IsolatedPosition(TABLE, "long", 1, 50_000, 5_000, 10)
    assert scores(p, 55_000) == pytest.approx(0.55)
    assert scores(p, 48_000) == pytest.approx(-0.04 / 16)
    assert pnl_leverage_score(5_000, 50_000, 55_000, 10_000) == pytest.approx(0.55)


def test_hyperliquid_long_and_short():
    # (mark/entry) × (notional/account value): long 10 at 100, mark 110, account value 500 → 1.1 × 1,100/500.
    assert hyperliquid_score("long", 100, 110, 1_100, 500) == pytest.approx(2.42)
    # For a short the price factor is entry/mark, so a short gaining more ranks higher, as a long does.
    s = hyperliquid_score("short", 100, np.array([95.0, 90.0]), 900, 500)
    assert s[1] > s[0]
    assert s[1] == pytest.approx(100 / 90 * 900 / 500)


def test_scores_take_each_formulas_terms_from_the_positions():
    book = IsolatedPosition(TABLE, ["long", "short", "long"], [1, 2, 3], [100, 120, 90], [20, 50, 40], 10)
    mark = 110
    upnl, value, equity = book.upnl(mark), book.value(mark), book.equity(mark)
    np.testing.assert_allclose(scores(book, mark, "binance"), binance_score(upnl, book.margin, 0.005 * value))
    np.testing.assert_allclose(scores(book, mark, "hyperliquid"),
                               hyperliquid_score(book.side, book.entry, mark, value, equity))
    np.testing.assert_allclose(scores(book, mark), pnl_leverage_score(upnl, book.value(book.entry), value, equity))


def test_candidates_are_profitable_positions_on_the_other_side():
    book = IsolatedPosition(TABLE, ["long", "short", "short", "long"], 1, [100, 120, 100, 90], 50, 10)
    # mark 110: the short from 120 gains, the short from 100 loses; the longs are on the liquidated side.
    assert candidates(book, 110, "long").tolist() == [False, True, False, False]
    assert candidates(book, 110, "short").tolist() == [True, False, False, True]


# ---------------------------------------------------------------- the BitMEX definition, from the bankruptcy price
@given(positions(fee=False), st.floats(0.5, 2.0))
def test_pnl_leverage_score_is_bitmex_definition(p, move):
    """Effective leverage = |mark value|/(mark value − bankrupt value), PnL% = (mark value − entry
    value)/|entry value|, with signed values and the bankruptcy price from the isolated solver."""
    bp = p.bankruptcy_price()
    mark = float(p.entry) * move
    assume(bp.exists and p.equity(mark) > 1e-6 * p.value(mark))
    c, s, q = p.table.contract, float(p.side), float(p.qty)
    mark_v, bankrupt_v, entry_v = (signed_value(c, s, q, x) for x in (mark, bp.price, float(p.entry)))
    pnl = (mark_v - entry_v) / abs(entry_v)
    leverage = abs(mark_v) / (mark_v - bankrupt_v)
    expected = pnl * leverage if pnl >= 0 else pnl / leverage
    assert scores(p, mark) == pytest.approx(expected, rel=1e-6, abs=1e-12)


# ---------------------------------------------------------------- scale-free rankings
@st.composite
def books(draw, n=st.integers(1, 8)):
    """Isolated positions on one table at a mark, all with equity > 0 there."""
    k = draw(n)
    side = np.array(draw(st.lists(st.sampled_from([1.0, -1.0]), min_size=k, max_size=k)))
    qty = np.array(draw(st.lists(st.floats(0.01, 1e4), min_size=k, max_size=k)))
    entry = np.array(draw(st.lists(st.floats(1, 1e5), min_size=k, max_size=k)))
    mark = draw(st.floats(1, 1e5))
    contract = draw(st.sampled_from(CONTRACTS))
    table = TierTable.single(0.005, max_leverage=100, contract=contract)
    loss = np.maximum(-np.asarray(contract.upnl(side, qty, entry, mark)), 0.0)
    cushion = np.array(draw(st.lists(st.floats(0.01, 1.0), min_size=k, max_size=k)))
    margin = loss + cushion * np.asarray(contract.value(qty, entry))
    return IsolatedPosition(table, side, qty, entry, margin, 10), mark


@given(books(), st.floats(0.01, 100), st.sampled_from(["pnl-leverage", "hyperliquid"]))
def test_scale_free_rankings_ignore_position_size(book_mark, k, ranking):
    """Scaling every position (contracts and margin) by k > 0 leaves the scores, hence the queue, unchanged."""
    book, mark = book_mark
    scaled = IsolatedPosition(book.table, book.side, book.qty * k, book.entry, book.margin * k, 10)
    np.testing.assert_allclose(scores(scaled, mark, ranking), scores(book, mark, ranking), rtol=1e-8, atol=1e-12)


@given(st.lists(st.tuples(st.floats(-1e5, 1e5), st.floats(1, 1e6), st.floats(0, 1e5)), min_size=1, max_size=10),
       st.floats(1, 100))
def test_binance_ranking_is_scale_free_above_the_one_unit_floor(rows, k):
    """max(0, UPL)/max(1, wallet) × MM/(wallet + UPL): scale-free while every wallet is >= 1 (k >= 1)."""
    upnl, wallet, mm = map(np.array, zip(*rows))
    np.testing.assert_allclose(binance_score(upnl * k, wallet * k, mm * k), binance_score(upnl, wallet, mm),
                               rtol=1e-8, atol=1e-300)


# ---------------------------------------------------------------- the queue
@st.composite
def queues(draw):
    n = draw(st.integers(1, 12))
    qty = draw(st.lists(st.floats(0.01, 1e4), min_size=n, max_size=n))
    entry = draw(st.lists(st.floats(1, 1e5), min_size=n, max_size=n))
    score = draw(st.lists(st.one_of(st.integers(0, 4).map(float), st.floats(-10, 10)), min_size=n, max_size=n))
    eligible = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    side = draw(st.sampled_from(["long", "short"]))
    # often exactly the eligible candidates' total, where rounding decides between "matched" and "unmatched"
    total = float(np.sum(np.array(qty)[np.array(eligible)]))
    need = draw(st.floats(0.01, 5e4) if total == 0 else st.one_of(st.floats(0.01, 5e4), st.just(total)))
    price = draw(st.floats(1, 1e5))
    contract = draw(st.sampled_from(CONTRACTS))
    return side, need, price, np.array(qty), np.array(entry), np.array(score), np.array(eligible), contract


@given(queues())
def test_queue_fills_in_rank_order_within_sizes_and_the_request(q):
    side, need, price, qty, entry, score, eligible, contract = q
    r = deleverage(side, need, price, qty, entry, score, eligible, contract)
    assert np.all(r.qty > 0) and np.all(r.qty <= qty[r.who])  # never beyond a candidate's size
    assert np.all(eligible[r.who]) and len(set(r.who.tolist())) == r.who.size
    assert r.qty.sum() <= need * (1 + TOLERANCE + 1e-12)  # at most the request, and a rounding remainder
    assert r.unmatched >= 0
    assert r.qty.sum() + r.unmatched == pytest.approx(need, rel=TOLERANCE)
    assert r.unmatched == pytest.approx(max(need - qty[eligible].sum(), 0.0), abs=1e-12 * need)  # returned, not dropped
    # the tolerance (module docstring): no candidate keeps a remainder within TOLERANCE × need, and contracts are
    # reported unmatched only when every eligible candidate is closed in full
    left = np.zeros(qty.size)
    left[r.who] = qty[r.who] - r.qty
    assert not np.any((left > 0) & (left <= TOLERANCE * need))
    if r.unmatched > 0:
        assert set(r.who.tolist()) == set(np.flatnonzero(eligible)) and np.all(left == 0)
    # rank order: scores non-increasing, and everyone ahead of the last fill in the queue is closed in full
    assert np.all(np.diff(score[r.who]) <= 0)
    if r.who.size:
        last = r.who[-1]
        ahead = eligible & ((score > score[last]) | ((score == score[last]) & (np.arange(qty.size) < last)))
        assert set(np.flatnonzero(ahead)) == set(r.who[:-1].tolist())
        np.testing.assert_array_equal(r.qty[:-1], qty[r.who[:-1]])
    # PnL against each counterparty's entry, on the opposite side, at the one price
    s = 1.0 if side == "long" else -1.0
    du = contract.coordinate(price) - contract.coordinate(entry[r.who]) if r.who.size else np.empty(0)
    expected = -s * contract.sigma * r.qty * contract.face_value * du
    np.testing.assert_allclose(r.pnl, expected, rtol=1e-9, atol=1e-9)


@given(queues(), st.floats(1, 1e5))
def test_the_adl_trade_is_zero_sum_from_any_common_price(q, reference):
    """What the counterparties realize below their PnL at a common price P is what the liquidated side
    receives above P: Σ (pnl_i − UPL_i(P)) + UPL(side, filled, P, B) = 0."""
    side, need, price, qty, entry, score, eligible, contract = q
    r = deleverage(side, need, price, qty, entry, score, eligible, contract)
    assume(r.who.size)
    s = 1.0 if side == "long" else -1.0
    counterparties = r.pnl - contract.upnl(-s, r.qty, entry[r.who], reference)
    filled = r.qty.sum()
    liquidated = contract.upnl(s, filled, reference, price)
    scale = contract.value(filled, reference) + contract.value(filled, price) + np.sum(contract.value(r.qty, entry[r.who]))
    assert counterparties.sum() + liquidated == pytest.approx(0, abs=1e-9 * scale)


@given(positions(fee=False), st.floats(0.001, 0.5), st.floats(0, 2), st.lists(st.floats(0.1, 10), min_size=1, max_size=6),
       st.floats(1, 3), st.data())
def test_counterparties_bear_exactly_the_shortfall_the_fund_could_not_pay(p, beyond, funded, weights, cover, data):
    """A position marked beyond bankruptcy loses −equity(P) against its bankruptcy price. The fund pays what
    it can; deleveraging Q·shortfall/loss contracts at the bankruptcy price makes the counterparties give up
    exactly the shortfall, and the liquidated side loses exactly its margin on those contracts."""
    bp = p.bankruptcy_price()
    assume(bp.exists)
    c, s, q = p.table.contract, float(p.side), float(p.qty)
    mark = bp.price * (1 - s * beyond)
    loss = -float(p.equity(mark))
    # a loss that stands out of the rounding of margin + UPL (a far-out inverse mark makes it ~1e-16 of the margin)
    assume(loss > 1e-9 * (float(p.value(mark)) + float(p.margin)))
    fund = RiskFund(funded * loss)
    shortfall = fund.record(0, -loss)
    assert (funded * loss - fund.balance) + shortfall == pytest.approx(loss)
    assume(shortfall > 0)
    n = len(weights)
    adl_qty = q * shortfall / loss
    cq = adl_qty * cover * np.array(weights) / sum(weights)
    ce = mark * np.array(data.draw(st.lists(st.floats(0.5, 2.0), min_size=n, max_size=n)))
    r = deleverage(s, adl_qty, bp.price, cq, ce, np.arange(n, 0, -1), contract=c)
    assert r.unmatched <= 1e-12 * adl_qty
    given_up = np.sum(c.upnl(-s, r.qty, ce[r.who], mark)) - r.pnl.sum()
    scale = float(c.value(adl_qty, mark)) + float(np.sum(c.value(r.qty, ce[r.who])))
    assert given_up == pytest.approx(shortfall, abs=1e-9 * scale)
    assert c.upnl(s, adl_qty, float(p.entry), bp.price) == pytest.approx(-float(p.margin) * adl_qty / q, rel=1e-9)


def test_a_request_of_the_candidates_total_is_matched_not_left_to_rounding():
    """Issue 19 #11 (ADL): deleveraging exactly the candidates' total reported ~1e-16 relative unmatched while the
    last candidate kept a rounding remainder (the queue's running sum and the total rounded differently). A
    remainder within TOLERANCE × qty is taken, so all are closed in full and nothing is unmatched."""
    qty = np.array([0.1, 0.7, 0.1, 0.3, 0.5, 0.5, 0.2, 0.9])  # eight candidates: NumPy's sum pairs them up
    need = 3.3000000000000003  # their total as Python adds them
    r = deleverage("long", need, 100, qty, 90, np.arange(8, 0, -1))
    assert r.unmatched == 0
    assert r.who.tolist() == list(range(8)) and r.qty.tolist() == qty.tolist()
    d = explain_queue("long", need, 100, qty, 90, np.arange(8, 0, -1))
    assert [d.line(f"qty_{k}").value for k in range(1, 9)] == qty.tolist() and d.result == 0
    # a candidate holding more than the request by more than the tolerance keeps the rest
    r = deleverage("long", 1.0, 100, [1.0 + 1e-6], 90, [1.0])
    assert r.qty.tolist() == [1.0] and r.unmatched == 0


def test_candidates_run_out():
    r = deleverage("long", 100, 50, [10, 20, 30], 60, [1, 2, 3], [True, False, True])
    assert r.who.tolist() == [2, 0] and r.qty.tolist() == [30, 10]
    assert r.unmatched == 60
    none = deleverage("long", 5, 50, [10, 20], 60, [1, 2], [False, False])
    assert none.who.size == 0 and none.qty.size == 0 and none.pnl.size == 0 and none.unmatched == 5


@given(st.lists(st.tuples(st.floats(-10, 10), st.floats(0.01, 1e4), st.booleans()), min_size=1, max_size=20))
def test_lights_follow_the_queue(rows):
    score, qty, eligible = map(np.array, zip(*rows))
    lit = lights(score, qty, eligible)
    assert np.all(lit[~eligible] == 0) and np.all((lit[eligible] >= 1) & (lit[eligible] <= 5))
    if eligible.any():
        order = deleverage("long", qty[eligible].sum() * 2, 1, qty, 1, score, eligible).who  # the whole queue
        assert np.all(np.diff(lit[order]) <= 0) and lit[order[-1]] == 1
        # the first shows 5 lights unless it alone holds more than 20 % of the queue's contracts
        assert (lit[order[0]] == 5) == (qty[order[0]] <= 0.2 * qty[eligible].sum())


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, match", [
    (dict(side="up"), "side must be 'long' or 'short'"),
    (dict(side=["long", "short"]), "side must be one side"),
    (dict(qty=0), "qty must be > 0"),
    (dict(bankruptcy_price=-1), "bankruptcy_price must be > 0"),
    (dict(candidate_qty=[1, 0]), "candidate_qty must be > 0"),
    (dict(candidate_entry=[1, 2, 3]), "candidate_entry must broadcast"),
    (dict(score=[1, float("nan")]), "score must be finite"),
    (dict(score=[1, 2, 3]), "must broadcast together"),
    (dict(eligible=[1, 0]), "eligible must be booleans"),
    (dict(score=[[1, 2]], candidate_qty=[[1, 1]]), "one-dimensional"),
])
def test_bad_queue_input(kwargs, match):
    args = dict(side="long", qty=1, bankruptcy_price=100, candidate_qty=[1, 1], candidate_entry=90, score=[1, 2])
    with pytest.raises(ValueError, match=match):
        deleverage(**{**args, **kwargs})


def test_bad_ranking_input():
    book = IsolatedPosition(TABLE, "long", 1, 100, 5, 20)
    with pytest.raises(ValueError, match="ranking must be one of"):
        scores(book, 100, "bybit")
    with pytest.raises(ValueError, match="equity must be > 0"):
        scores(book, 90, "pnl-leverage")  # bankrupt at the mark: liquidate it, do not rank it
    with pytest.raises(ValueError, match="account_value must be > 0"):
        scores(book, 90, "hyperliquid")
    with pytest.raises(ValueError, match="maintenance must be >= 0"):
        binance_score(1, 1, -1)
    with pytest.raises(ValueError, match="liquidated_side must be"):
        candidates(book, 100, "flat")


def test_adl_qty_makes_the_fund_pay_exactly_what_it_could():
    # the contracts sold lose (1 − a)·loss, which is the part the fund paid
    closed, loss = 12.0, -3_000.0
    for shortfall in (0.0, 750.0, 3_000.0):
        a = adl_qty(closed, shortfall, loss) / closed
        assert (1 - a) * loss == pytest.approx(loss + shortfall)
    np.testing.assert_allclose(adl_qty([10, 10], [0, 5], [-5, -10]), [0.0, 5.0])


def test_adl_qty_bad_input():
    for args, match in [((0, 1, -2), "closed"), ((1, -1, -2), "shortfall"), ((1, 1, 0), "loss"),
                        ((1, 3, -2), "exceed"), ((1, np.nan, -2), "shortfall")]:
        with pytest.raises(ValueError, match=match):
            adl_qty(*args)
