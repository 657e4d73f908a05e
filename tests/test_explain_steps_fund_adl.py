"""Explanations of a liquidation step, a risk-fund row and an ADL score (issue 15).

Each explanation redoes the computation by hand; these tests check its last line (and its key lines) against
the engine's own numbers: the event log of :func:`liquidate`, the ledger of :class:`RiskFund`, :func:`scores`.
"""

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from strategies import examples, positions, tier_tables

import tiermargin as tm
from tiermargin.adl import candidates, deleverage, explain_score, scores
from tiermargin.liquidation import POLICIES, Execution, LiquidationLog, explain_step, liquidate
from tiermargin.riskfund import HOUR, RiskFund

BTC = tm.load_table("binance-usdm-btcusdt-2021")
HL = tm.load_table("hyperliquid-btc-mainnet")
MARK = Execution("mark")


def close_to(want, scale):
    return pytest.approx(want, rel=1e-9, abs=1e-9 * scale)


# ---------------------------------------------------------------------- liquidation steps
def assert_step_matches(log, i):
    """The explanation of event ``i`` ends on the engine's contracts closed and agrees with its fields."""
    e, pos, d = log.events[i], log.positions[i], log.explain(i)
    money = float(pos.margin) + float(pos.value(e.mark)) + float(pos.value(pos.entry))
    qty = float(pos.qty)
    assert d.result == close_to(e.contracts_closed, qty), str(d)
    assert d.line("health").value == close_to(e.health_before, money), str(d)
    assert d.line("tier").why.startswith(f"tier {e.tier_before}:"), str(d)
    assert str(d).splitlines()[0] == d.title and d._repr_markdown_().startswith(f"**{d.title}**")
    if e.action == "cancel orders":
        return d
    assert d.line("keep").value == close_to(e.contracts_left, qty), str(d)
    for key, field in (("fill", "execution_price"), ("settlement_price", "settlement_price"),
                       ("bankruptcy_price", "bankruptcy_price")):
        assert d.line(key).value == pytest.approx(getattr(e, field), rel=1e-9), (key, str(d))
    assert d.line("margin_used").value == close_to(e.margin_used, money), str(d)
    assert d.line("surplus").value == close_to(e.surplus, money), str(d)
    if e.contracts_left == 0:
        assert d.line("returned").value == close_to(e.returned, money), str(d)
    else:
        assert d.line("tier_after").why.startswith(f"after: tier {e.tier_after}:"), str(d)
        assert d.line("health_after").value == close_to(e.health_after, money), str(d)
    return d


@st.composite
def liquidations(draw):
    """A random position on a random adverse path, liquidated under a random policy, settlement and book."""
    p = draw(positions())
    p = replace(p, fee_at=draw(st.sampled_from(["mark", "entry", "bankruptcy"])))
    policy = draw(st.sampled_from(POLICIES))
    fraction = draw(st.sampled_from([0.1, 0.25, 0.5])) if policy == "fraction" else None
    usd = float(p.table.contract.usd_value(p.qty, p.entry))
    execution = draw(st.sampled_from([Execution("bankruptcy"), MARK, Execution("impact", usd * draw(st.floats(0.3, 50)))]))
    n = draw(st.integers(2, 10))
    moves = np.array(draw(st.lists(st.floats(-0.02, 0.25), min_size=n - 1, max_size=n - 1)))
    marks = float(p.entry) * np.exp(-float(p.side) * np.concatenate(([0.0], np.cumsum(moves))))
    times = np.cumsum([0.0, *draw(st.lists(st.sampled_from([0.0, 5.0, 10.0, 40.0]), min_size=n - 1, max_size=n - 1))])
    orders = draw(st.sampled_from([0.0, 0.05])) * float(p.margin)
    log = liquidate(p, times, marks, policy, fraction, execution, orders,
                    settlement=draw(st.sampled_from([None, "bankruptcy", "fill"])),
                    last_partial=draw(st.sampled_from([None, -5.0])))
    assume(log.events)
    return log


@settings(max_examples=examples(150), deadline=None)
@given(liquidations())
def test_every_step_explains_what_the_engine_did(log):
    for i in range(len(log.events)):
        assert_step_matches(log, i)
    assert explain_step(log, -1).result == log.explain(len(log.events) - 1).result


def test_one_tier_down_names_the_tier_moved_to_and_its_cap():
    pos = tm.IsolatedPosition.open(BTC, "long", 200, 60_000, 10)  # 12M USDT: tier 5
    log = liquidate(pos, np.arange(60.0), np.linspace(60_000, 50_000, 60), "one-tier", execution=Execution("bankruptcy"))
    for i, e in enumerate(log.events):
        d = assert_step_matches(log, i)
        if e.tier_before > 1:
            assert d.line("target_tier").value == e.tier_before - 1
            assert d.line("keep_cap").value * e.mark == pytest.approx(BTC.caps[e.tier_before - 2], rel=1e-8)
        else:
            assert "tier 1" in d.line("rule").why
        assert d.line("settlement_price").value == d.line("bankruptcy_price").value == e.bankruptcy_price
    assert "OKX" in log.explain(0).rule and "bankruptcy price" in log.explain(0).rule


def test_lowest_sufficient_lists_each_lower_tier_and_its_health():
    # 200 BTC long at 60,000, 10x, at 55,000 (11M: tier 5): keeping tier 4's cap (181.8 BTC) leaves health
    # −51,881.82, tier 3's (18.18 BTC) 9,481.82: the order closes 181.82 BTC in one go.
    pos = tm.IsolatedPosition.open(BTC, "long", 200, 60_000, 10)
    log = liquidate(pos, [0, 1], [60_000, 55_000], "lowest-sufficient", execution=Execution("bankruptcy"))
    (e,) = log.events
    d = assert_step_matches(log, 0)
    assert d.line("health_4").value == pytest.approx(-51_881.818, abs=0.01) and "not sufficient" in d.line("health_4").why
    assert d.line("health_3").value == pytest.approx(9_481.818, abs=0.01) and "is sufficient" in d.line("health_3").why
    assert d.line("keep").value == pytest.approx(1e6 / 55_000, rel=1e-8) and e.tier_after == 3
    assert d.result == pytest.approx(200 - 1e6 / 55_000, rel=1e-8)
    assert d.line_number("health_4") < d.line_number("health_3") < d.line_number("contracts_closed") == len(d.lines)


def test_hyperliquid_explains_the_partial_order_the_cooldown_and_the_payback():
    pos = tm.IsolatedPosition.open(HL, "long", 10, 60_000, 20)
    log = liquidate(pos, [0, 10, 20], [60_000, 57_700, 57_500], "hyperliquid", execution=MARK)
    first, second = (assert_step_matches(log, i) for i in range(2))
    assert first.line("usd_value").value == 577_000 and first.line("since").value == np.inf
    assert first.line("keep_partial").value == 8.0 and first.line("settlement_price").why.startswith("settled at the fill")
    assert second.line("since").value == 10.0 and "< the 30 s cooldown" in second.line("since").why
    assert second.line("returned").value == pytest.approx(5_400.0) and "Hyperliquid" in second.source


def test_the_backstop_and_a_fill_worse_than_the_step_bankruptcy_price():
    pos = tm.IsolatedPosition.open(HL, "long", 10, 60_000, 20)
    backstop = liquidate(pos, [0, 1], [60_000, 57_400], "hyperliquid", execution=MARK)
    d = assert_step_matches(backstop, 0)
    assert "backstop takes" in d.line("backstop").why and d.line("settlement_price").value == 57_000.0
    # a thin book: the 8 BTC left fill at 55,036.57, below their bankruptcy price: settled there
    thin = liquidate(pos, [0, 10], [60_000, 57_700], "hyperliquid", execution=Execution("impact", 5e6))
    rest = assert_step_matches(thin, 1)
    assert rest.line("equity_after_fill").value < 0 and "below 0" in rest.line("settlement_price").why
    assert rest.line("surplus").value == pytest.approx(thin.events[1].surplus) and thin.events[1].surplus < 0


def test_fraction_cancel_orders_and_an_inverse_contract():
    pos = tm.IsolatedPosition.open(BTC, "long", 200, 60_000, 10)
    log = liquidate(pos, [0, 1], [60_000, 55_000], "fraction", 0.25, Execution("bankruptcy"), orders_requirement=500)
    cancel = assert_step_matches(log, 0)
    assert log.events[0].action == "cancel orders" and cancel.result == 0.0 and cancel.line("orders").value == 500
    d = assert_step_matches(log, 1)
    assert d.line("keep_fraction").value == 150.0 and d.result == 50.0
    table = tm.TierTable.from_rows([[0, 1e5, 0.005, 100], [1e5, None, 0.01, 50]], basis="contracts",
                                   contract=tm.Contract("inverse", 100.0, "BTC"))
    p = tm.IsolatedPosition.open(table, "short", 2e5, 60_000, 20)
    inv = liquidate(p, [0, 1, 2], [60_000, 62_000, 64_000], "one-tier", execution=Execution("impact", 1e7))
    for i in range(len(inv.events)):
        assert "1/" in assert_step_matches(inv, i).line("surplus").numbers


def test_bad_step_requests_name_the_parameter():
    pos = tm.IsolatedPosition.open(BTC, "long", 200, 60_000, 10)
    log = liquidate(pos, [0, 1], [60_000, 55_000], "one-tier")
    for step in (len(log.events), -len(log.events) - 1, 1.0, True):
        with pytest.raises(ValueError, match="step must be an index"):
            log.explain(step)
    with pytest.raises(ValueError, match="log must be made by liquidate"):
        LiquidationLog(log.events, log.final, log.start).explain(0)
    with pytest.raises(TypeError, match="log must be a LiquidationLog"):
        explain_step(log.events, 0)


# ---------------------------------------------------------------------- risk-fund rows
@st.composite
def ledgers(draw):
    fund = RiskFund(draw(st.floats(0, 1e6)), draw(st.sampled_from([None, 0.1, 0.5, 0.9])),
                    draw(st.sampled_from([None, HOUR, 8 * HOUR])))
    t = 0.0
    for kind, amount, dt in draw(st.lists(st.tuples(st.sampled_from(["record", "record", "inject"]),
                                                    st.floats(-2e6, 1e6), st.sampled_from([0.0, 60.0, HOUR, 5 * HOUR])),
                                          min_size=1, max_size=25)):
        t += dt
        if kind == "inject":
            fund.inject(t, abs(amount) + 1.0)
        else:
            fund.record(t, amount)
    return fund


@given(ledgers())
def test_every_row_explains_its_balance_after(fund):
    for i, e in enumerate(fund.entries):
        d = fund.explain(i)
        scale = max(1.0, *(abs(r.balance_after) for r in fund.entries), fund.start_balance)
        assert d.result == close_to(e.balance_after, scale), str(d)
        before = fund.entries[i - 1].balance_after if i else fund.start_balance
        if e.kind == "loss":
            assert d.line("paid").value == close_to(-e.amount, scale) and d.line("balance_before").value == before
        elif e.kind == "adl":
            assert d.line("shortfall").value == close_to(-e.amount, scale)
        else:
            assert d.line("recorded").value == e.amount and d.line("balance_before").value == before
        if e.kind in ("loss", "adl"):  # the ledger's own floor when the loss was recorded
            k = i - (e.kind == "adl")
            then = RiskFund(fund.start_balance, fund.drawdown, fund.drawdown_window)
            then._entries = list(fund.entries[:k])
            assert d.line("floor").value == close_to(then.floor(fund.entries[k].time), scale), str(d)
    assert fund.explain(-1).result == fund.entries[-1].balance_after


def test_the_module_example_row_by_row():
    fund = RiskFund(1_000)
    fund.record(0, 250)
    fund.record(60, -1_500)
    surplus, loss, adl = (fund.explain(i) for i in range(3))
    assert surplus.result == 1_250.0 and loss.line("paid").value == 1_250.0 and loss.result == 0.0
    assert adl.line("shortfall").value == 250.0 and adl.result == 0.0 and "ADL" in adl.rule


def test_the_drawdown_floor_lists_the_peak_of_the_window():
    # Bybit's threshold: 30 % of the 8-hour peak may be used. At 9 h the balance carried into (1 h, 9 h] is
    # 1,500: floor 1,050, 150 paid; at 11 h the balance carried into (3 h, 11 h] is 1,200: floor 840, 210 paid.
    fund = RiskFund(1_000, drawdown=0.3)
    fund.record(0, 500)             # 1,500
    fund.record(2 * HOUR, -300)     # 1,200
    fund.record(9 * HOUR, -1_000)   # pays 150 → 1,050, 850 to ADL
    fund.record(11 * HOUR, -1_000)  # pays 210 → 840
    at9, at11 = fund.explain(2), fund.explain(4)
    assert at9.line("peak").value == 1_500.0 and at9.line("peak").numbers == "max(1,500, 1,200)"
    assert at9.line("paid").value == pytest.approx(150.0) == -fund.entries[2].amount
    assert fund.explain(3).line("shortfall").value == pytest.approx(850.0) == -fund.entries[3].amount
    assert at11.line("peak").value == 1_200.0 and at11.line("floor").value == pytest.approx(840.0)
    assert at11.line("paid").value == pytest.approx(210.0) == -fund.entries[4].amount
    assert at11.result == pytest.approx(840.0) == fund.balance


@settings(max_examples=examples(60), deadline=None)
@given(liquidations(), st.floats(0, 1e5))
def test_a_row_fed_by_a_liquidation_step_derives_the_amount_from_the_step(log, start):
    fund, rows = RiskFund(start), []
    for j, e in enumerate(log.events):
        if e.contracts_closed > 0:
            rows.append((len(fund.entries), j))
            fund.record(e.time, e.surplus)
    for row, j in rows:
        d = fund.explain(row, log, j)
        e, entry = log.events[j], fund.entries[row]
        scale = max(1.0, start, abs(e.surplus), *(abs(r.balance_after) for r in fund.entries))
        assert d.line("surplus").value == close_to(e.surplus, scale), str(d)
        assert d.result == close_to(entry.balance_after, scale), str(d)
        if entry.kind == "loss" and row + 1 < len(fund.entries) and fund.entries[row + 1].kind == "adl":
            assert fund.explain(row + 1, log, j).line("shortfall").value == close_to(-fund.entries[row + 1].amount, scale)


def test_a_row_with_the_wrong_step_or_bad_input_names_the_parameter():
    pos = tm.IsolatedPosition.open(BTC, "long", 200, 60_000, 10)
    log = liquidate(pos, np.arange(60.0), np.linspace(60_000, 50_000, 60), "one-tier")
    fund = RiskFund(1e7)
    for e in log.events:
        fund.record(e.time, e.surplus)
    assert fund.explain(1, log, 1).line("surplus").value == pytest.approx(log.events[1].surplus)
    with pytest.raises(ValueError, match="is not the amount recorded in row 1"):
        fund.explain(0, log, 1)
    with pytest.raises(ValueError, match="row must be an index"):
        fund.explain(len(fund.entries))
    with pytest.raises(ValueError, match="log and step must be given together"):
        fund.explain(0, log)
    with pytest.raises(ValueError, match="step must be an index"):
        fund.explain(0, log, 99)
    fund.inject(1e6, 5)
    with pytest.raises(ValueError, match="not a liquidation's"):
        fund.explain(-1, log, 0)
    assert fund.explain(-1).line("balance_after").value == fund.balance


# ---------------------------------------------------------------------- ADL scores
@st.composite
def books(draw):
    """Positions on one random table, both sides, and a mark."""
    t = draw(tier_tables())
    n = draw(st.integers(1, 6))
    entry = np.array(draw(st.lists(st.floats(10, 1e4), min_size=n, max_size=n)))
    qty = np.array(draw(st.lists(st.floats(1, 1e3), min_size=n, max_size=n)))
    side = draw(st.lists(st.sampled_from([1.0, -1.0]), min_size=n, max_size=n))
    lev = np.array(draw(st.lists(st.floats(1, 1.2), min_size=n, max_size=n)))
    try:
        p = tm.IsolatedPosition.open(t, side, qty, entry, lev, requirement_at=draw(st.sampled_from(["mark", "entry"])))
    except ValueError:
        assume(False)
    return p, float(np.median(entry)) * draw(st.floats(0.5, 1.6))


@given(books(), st.sampled_from(["pnl-leverage", "binance", "hyperliquid"]), st.sampled_from([None, "long", "short"]))
def test_every_score_is_the_library_score(book, ranking, side):
    p, mark = book
    n = p.shape[0]
    scored = np.ones(n, bool) if ranking == "binance" else np.asarray(p.equity(mark)) > 0  # bankrupt: no score
    want = np.zeros(n)
    for i in np.flatnonzero(scored):
        want[i] = float(scores(p[i], mark, ranking))
    eligible = scored & (np.ones(n, bool) if side is None else candidates(p, mark, side))
    queue = sorted(np.flatnonzero(eligible), key=lambda j: (-want[j], j))  # the queue, computed here
    for i in range(n):
        if not scored[i]:
            with pytest.raises(ValueError, match="no equity at the mark"):
                explain_score(p, mark, ranking, i, side)
            continue
        d = explain_score(p, mark, ranking, i, side)
        assert d.result == pytest.approx(want[i], rel=1e-9, abs=1e-12), str(d)
        why = d.lines[-1].why
        if i in queue:
            assert f"rank {queue.index(i) + 1} of {len(queue)} in the queue" in why, str(d)
        else:
            assert "not a candidate" in why
    if scored[0]:
        one = explain_score(p[0], mark, ranking)
        assert one.result == pytest.approx(want[0], rel=1e-9, abs=1e-12) and "rank" not in one.lines[-1].why


def test_bitmex_terms_and_the_first_in_the_queue_is_deleveraged_first():
    # three shorts from 600 at a mark of 500: PnL% 1/6 each, effective leverage value ÷ equity
    t = tm.TierTable.single(0.005, max_leverage=100)
    p = tm.IsolatedPosition.open(t, "short", [10, 20, 10], 600, [20, 5, 50])
    ds = [explain_score(p, 500, "pnl-leverage", i, "long") for i in range(3)]
    assert [d.line("leverage").value for d in ds] == pytest.approx([5_000 / 1_300, 10_000 / 4_400, 5_000 / 1_120])
    assert "rank 1 of 3" in ds[2].lines[-1].why and "rank 3 of 3" in ds[1].lines[-1].why
    d = deleverage("long", 5, 450, p.qty, p.entry, scores(p, 500))
    assert d.who.tolist() == [2]  # the one ranked first is filled first
    assert "BitMEX" in ds[0].source


def test_binance_and_hyperliquid_factors():
    t = tm.TierTable.single(0.005, max_leverage=100)
    p = tm.IsolatedPosition.open(t, "long", 1, 50_000, 10)  # margin 5,000
    b = explain_score(p, 55_000, "binance")
    assert b.line("pnl_pct").value == pytest.approx(5_000 / 5_000) and b.line("ratio").value == pytest.approx(275 / 10_000)
    assert b.result == pytest.approx(float(scores(p, 55_000, "binance"))) and "Binance" in b.source
    short = tm.IsolatedPosition.open(t, "short", 1, 50_000, 10)
    h = explain_score(short, 40_000, "hyperliquid")
    assert h.line("move").value == pytest.approx(50_000 / 40_000) and "entry ÷ mark" in h.line("move").why
    assert h.result == pytest.approx(float(scores(short, 40_000, "hyperliquid")))


def test_bad_score_requests_name_the_parameter():
    t = tm.TierTable.single(0.005, max_leverage=100)
    p = tm.IsolatedPosition.open(t, "long", [1, 2], 100, 10)
    for call, match in [(lambda: explain_score(p, 100), "index must pick"),
                        (lambda: explain_score(p, 100, index=2), "index must pick"),
                        (lambda: explain_score(p[0], 100, index=0), "index is only given"),
                        (lambda: explain_score(p, 100, "bitmex", 0), "ranking"),
                        (lambda: explain_score(p, -1, index=0), "mark"),
                        (lambda: explain_score(p, [1, 2], index=0), "mark must be one price"),
                        (lambda: explain_score(p, 100, index=0, liquidated_side="up"), "liquidated_side")]:
        with pytest.raises(ValueError, match=match):
            call()


@given(ledgers(), st.sampled_from([(16, 8), (0, 0), (9.5, -3)]))
def test_every_reconciliation_window_adds_up_to_the_ledgers(fund, cut):
    windows = fund.reconciliations(*cut)
    scale = max(1.0, fund.start_balance, *(abs(e.balance_after) + abs(e.amount) for e in fund.entries))
    for day, w in enumerate(windows):
        d = fund.explain_reconciliation(day, *cut)
        assert d.result == close_to(w.balance, scale) and d.line("net").value == close_to(w.net, scale), str(d)
        assert d.line("adl").value == close_to(w.adl, scale) and d.line("injection").value == close_to(w.injections, scale)
    with pytest.raises(ValueError, match="day must be an index"):
        fund.explain_reconciliation(len(windows), *cut)
