"""Stepwise liquidation of a cross-margin account: worked example, the one-position equivalence with the
isolated engine, group rules, settlement without a bankruptcy price, invariants, display, bad input."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import positions, tier_tables

import tiermargin as tm
from tiermargin.cross import CrossAccount, Haircut, Instrument, Order, Position
from tiermargin.liquidation import POLICIES, SETTLEMENTS, AccountLiquidationLog, Execution, liquidate, liquidate_account
from tiermargin.rules import preset

BTC = tm.load_table("binance-usdm-btcusdt-2021")
ETH = tm.TierTable.from_rows([[0, 1e6, 0.005, 100], [1e6, None, 0.01, 50]], symbol="ETHUSDT")
OKX = tm.load_table("okx-btc-usd-swap-2019")
I_BTC, I_ETH = Instrument("BTCUSDT", BTC, "BTC"), Instrument("ETHUSDT", ETH, "ETH")
MODELS = ("bankruptcy", "mark", "impact")

TIMES = np.arange(0.0, 60.0)
FALL = np.minimum.accumulate(np.maximum(np.linspace(60_000, 50_000, 60), 53_050.85))  # a crash, then flat
ETH_FALL = np.where(TIMES <= 41, np.linspace(3_000, 2_600, TIMES.size), 3_000 - 400 * 41 / 59)


def whale_account(orders=True):
    """A 20 BTC long (1.2M USDT: tier 4) and a small ETH long on 150,000 USDT, with two open orders."""
    return CrossAccount([I_BTC, I_ETH], {"USDT": 150_000.0},
                        [Position("BTCUSDT", "long", 20, 60_000), Position("ETHUSDT", "long", 10, 3_000)],
                        [Order("BTCUSDT", "long", 2, 50_000, 20), Order("ETHUSDT", "long", 5, 2_500, 20)] if orders else [])


# ---------------------------------------------------------------- worked example
def test_crash_cancels_the_orders_then_steps_the_btc_long_down_tier_by_tier():
    acc = whale_account()
    log = liquidate_account(acc, TIMES, {"BTC": FALL, "ETH": ETH_FALL, "USDT": 1.0}, "one-tier",
                            execution=Execution("bankruptcy"))
    assert [(e.action, e.symbol, e.tier_before, e.tier_after) for e in log.events] == [
        ("cancel orders", "BTCUSDT,ETHUSDT", 0, 0),  # first: the orders' requirement is freed ...
        ("reduce", "BTCUSDT", 4, 3),  # ... not enough: the largest maintenance margin (BTC) one tier down
        ("reduce", "BTCUSDT", 3, 2),  # still unhealthy: once more, then healthy
    ]
    first = log.events[0]
    assert first.health_before <= 0 and first.health_before < first.health_after <= 0
    assert all(e.time == first.time for e in log.events)  # all at the first price that triggers
    assert log.events[-1].health_after > 0
    # each step leaves BTC just under the lower tier's cap (1M, then 250k USDT)
    for e, cap in zip(log.events[1:], (1e6, 250_000)):
        assert e.contracts_left * e.mark == pytest.approx(cap, rel=1e-8) and e.contracts_left * e.mark < cap
    # settled at the BTC price at which the account's equity is 0 with ETH held:
    # 150,000 + 20·(B − 60,000) + 10·(ETH − 3,000) = 0
    eth = ETH_FALL[int(first.time)]
    b = 60_000 - (150_000 + 10 * (eth - 3_000)) / 20
    assert all(e.bankruptcy_price == pytest.approx(b, rel=1e-12) for e in log.events[1:])
    assert log.fund_result == pytest.approx(0, abs=1e-6)  # filled at the bankruptcy price
    # the account survives: no orders, a smaller BTC long, the ETH long untouched
    final = log.final
    assert final.orders == () and final.positions[1] == acc.positions[1]
    assert final.positions[0].qty == pytest.approx(log.events[-1].contracts_left)
    assert final.realized_pnl["USDT"] == pytest.approx(-sum(e.margin_used for e in log.events))
    assert log.accounts[-1] is final and log.start is acc and len(log.accounts) == len(log.events)
    assert log.contracts_to_market == pytest.approx(20 - log.events[-1].contracts_left)
    assert log.trader_equity({"BTC": FALL[-1], "ETH": ETH_FALL[-1]}) == pytest.approx(
        float(final.state({"BTC": FALL[-1], "ETH": ETH_FALL[-1]}).equity))


def test_a_full_close_settled_at_the_bankruptcy_price_uses_up_the_accounts_equity():
    """B holds every other price, so closing a whole group there leaves the account with no equity:
    the rest is closed in turn, at its own B (the mark)."""
    prices = {"BTC": np.linspace(60_000, 50_000, 60), "ETH": ETH_FALL}
    log = liquidate_account(whale_account(orders=False), TIMES, prices, "one-tier", execution=Execution("mark"))
    btc_close = next(i for i, e in enumerate(log.events) if e.action == "close")
    eth = log.events[btc_close + 1]
    at = {"BTC": prices["BTC"][int(eth.time)], "ETH": eth.mark}
    assert log.accounts[btc_close].state(at).equity == pytest.approx(0, abs=1e-6)
    assert (eth.symbol, eth.action, eth.surplus) == ("ETHUSDT", "close", pytest.approx(0, abs=1e-6))
    assert eth.bankruptcy_price == pytest.approx(eth.mark, rel=1e-12) and not log.final.positions


# ---------------------------------------------------------------- the isolated equivalence
@given(positions(requirement_at="mark"), st.sampled_from(POLICIES), st.floats(0.3, 0.95), st.sampled_from(MODELS),
       st.sampled_from(SETTLEMENTS))
def test_one_position_account_is_liquidated_like_the_isolated_position(p, policy, drop, model, settlement):
    """Binance: cross with one position and wallet WB is isolated with margin WB. Two engines, two
    bankruptcy solvers (the isolated closed form, the account's first crossing of equity): same log, under
    either settlement (a close at the fill leaves the account the equity the isolated one pays back)."""
    side = float(p.side)
    path = np.linspace(float(p.entry), float(p.entry) * (drop if side > 0 else 1 / drop), 25)
    assume(not p.is_liquidated(path[0]))
    fraction, execution = (0.25 if policy == "fraction" else None), Execution(model, 1e6)
    iso = liquidate(p, np.arange(25.0), path, policy, fraction, execution, settlement=settlement)
    acc = CrossAccount([Instrument("X", p.table, "X")], {p.table.contract.settle: float(p.margin)},
                       [Position("X", side, float(p.qty), float(p.entry))], fee_rate=p.fee_rate)
    got = liquidate_account(acc, np.arange(25.0), {"X": path}, policy, fraction, execution, settlement)
    assert got.settlement == iso.settlement
    scale = float(p.margin + p.value(p.entry))
    # a health within rounding of 0 may be decided either way by the two engines' arithmetic
    assume(all(abs(e.health_after) > 1e-9 * scale for e in iso.events if e.action != "close"))
    assert len(got.events) == len(iso.events)
    c = p.table.contract
    for a, b in zip(got.events, iso.events):
        assert (a.time, a.mark, a.action, a.tier_before, a.tier_after, a.symbol) == (
            b.time, b.mark, b.action, b.tier_before, b.tier_after, "X")
        assert a.contracts_closed == pytest.approx(b.contracts_closed, rel=1e-12)
        assert a.contracts_left == pytest.approx(b.contracts_left, rel=1e-12)
        # prices agree to what they are worth on the contracts still held: after most of a position is
        # closed, the account's equity is balance + realized PnL, a difference of large amounts
        held = (a.contracts_closed + a.contracts_left) * c.face_value
        # settled at the fill, a step the fund paid leaves no equity: the account's solver may then find no
        # bankruptcy price on either side of the mark, the isolated one finds the mark itself
        account_b = b.mark if a.bankruptcy_price is None and settlement == "fill" else a.bankruptcy_price
        for x, y in ((account_b, b.bankruptcy_price), (a.execution_price, b.execution_price),
                     (a.settlement_price, b.settlement_price)):
            assert x == pytest.approx(y, rel=1e-9) or held * abs(float(c.coordinate(x) - c.coordinate(y))) < 1e-9 * scale
        # a closed isolated position pays back what an account keeps (health after: its equity, nothing required)
        for x, y in ((a.surplus, b.surplus), (a.margin_used, b.margin_used), (a.health_before, b.health_before),
                     (a.health_after, b.health_after + b.returned)):
            assert x == pytest.approx(y, rel=1e-7, abs=1e-7 * scale)
    assert (got.final.positions == ()) == (iso.final is None)
    if iso.final is not None:  # the survivor: same contracts
        assert got.final.positions[0].qty == pytest.approx(float(iso.final.qty), rel=1e-12)
    # the trader's equity: the survivor's, or what the close left (0 at the bankruptcy price)
    assert got.trader_equity({"X": path[-1]}) == pytest.approx(iso.trader_equity(path[-1]), rel=1e-7, abs=1e-7 * scale)


# ---------------------------------------------------------------- group rules and settlement
def test_underlying_rule_cuts_every_expiry_in_proportion():
    # OKX cross sums contracts across expiries (25,000 → tier 5 on the 2019 swap table); one tier down
    # brings the sum under 20,000 and every expiry keeps its share.
    expiries = [Instrument(f"BTC-USD-{m}", OKX, "BTC") for m in ("W", "Q")]
    legs = [Position("BTC-USD-W", "long", 15_000, 60_000), Position("BTC-USD-Q", "long", 10_000, 60_000)]
    acc = CrossAccount(expiries, {"BTC": 3.0}, legs, tier_rule="underlying")
    assert acc.health({"BTC": 60_000}) > 0
    path = np.linspace(60_000, 40_000, 41)
    log = liquidate_account(acc, np.arange(41.0), {"BTC": path}, "one-tier", execution=Execution("bankruptcy"))
    first = log.events[0]
    assert (first.symbol, first.tier_before, first.tier_after) == ("BTC-USD-W,BTC-USD-Q", 5, 4)
    assert first.contracts_left == pytest.approx(OKX.caps[3] * (1 - 1e-9))
    after = log.accounts[0].positions
    assert after[0].qty / after[1].qty == pytest.approx(1.5)
    assert after[0].qty + after[1].qty == pytest.approx(first.contracts_left)
    assert first.contracts_closed == pytest.approx(25_000 - first.contracts_left)
    for i, e in enumerate(log.events):  # inverse, coin-settled: B where the BTC equity is 0
        before = log.accounts[i - 1] if i else acc
        assert before.state({"BTC": e.bankruptcy_price}).equity == pytest.approx(0, abs=1e-9)


def test_net_rule_cuts_the_net_leg_and_keeps_the_hedge():
    # CoinW/HTX: tiers on |long − short|. A 30-long/10-short hedge is 20 BTC net (1.2M: tier 4).
    hedge = [Position("BTCUSDT", "long", 30, 60_000), Position("BTCUSDT", "short", 10, 60_000)]
    acc = CrossAccount([I_BTC], {"USDT": 100_000.0}, hedge, mode="hedge", tier_rule="net")
    log = liquidate_account(acc, np.arange(60.0), {"BTC": np.linspace(60_000, 55_000, 60)}, "one-tier",
                            execution=Execution("bankruptcy"))
    *steps, flat = log.events
    assert [(e.action, e.tier_before, e.tier_after) for e in steps] == [("reduce", k, k - 1) for k in (4, 3, 2, 1)]
    long = 30.0
    for e, a in zip(steps, log.accounts):  # only the long leg is cut: net = the target, the hedge is kept
        assert a.positions == (Position("BTCUSDT", "long", 10 + e.contracts_left, 60_000), hedge[1])
        assert e.contracts_closed == pytest.approx(long - a.positions[0].qty)
        long = a.positions[0].qty
    assert sum(e.contracts_closed for e in steps) == pytest.approx(20)
    # net 0 closed at B uses up the equity; the flat pair carries no requirement but health is 0: it is
    # closed too, its legs against each other (nothing to the market)
    assert (flat.action, flat.contracts_closed, flat.execution_price, flat.health_before) == ("close", 0, None, pytest.approx(0, abs=1e-6))
    assert log.final.positions == ()


def test_a_flat_pair_is_closed_when_nothing_else_is_left():
    # a hedge locked at a loss larger than the balance: equity < 0 at any price, no requirement
    hedge = [Position("BTCUSDT", "long", 10, 60_000), Position("BTCUSDT", "short", 10, 59_000)]
    acc = CrossAccount([I_BTC], {"USDT": 5_000.0}, hedge, mode="hedge", tier_rule="net")
    log = liquidate_account(acc, [0.0], {"BTC": 60_000.0})
    (e,) = log.events
    assert (e.action, e.contracts_closed, e.execution_price, e.bankruptcy_price, e.surplus) == ("close", 0, None, None, 0)
    assert log.final.positions == () and log.trader_equity({"BTC": 1.0}) == pytest.approx(-5_000)


def test_without_a_bankruptcy_price_on_the_adverse_side_the_contracts_settle_at_the_mark():
    # hedge mode, tiers per position: a BTC long with the larger maintenance margin (steep table) in an
    # account net short BTC. The rise that triggers it is adverse to the account, not to the long:
    # moving BTC down only adds equity, so the long has no bankruptcy price and settles at the mark.
    steep = tm.TierTable.from_rows([[0, None, 0.05, 10]], symbol="STEEP")
    flat = tm.TierTable.from_rows([[0, None, 0.004, 100]], symbol="FLAT")
    acc = CrossAccount([Instrument("L", steep, "BTC"), Instrument("S", flat, "BTC")], {"USDT": 30_000.0},
                       [Position("L", "long", 10, 60_000), Position("S", "short", 25, 60_000)], mode="hedge")
    log = liquidate_account(acc, np.arange(3.0), {"BTC": np.array([60_000.0, 61_000.0, 62_000.0])}, "full",
                            execution=Execution("impact", 1e6))
    e = log.events[0]
    assert e.symbol == "L" and e.bankruptcy_price is None
    mark = {"BTC": e.mark}
    before = acc.state(mark).equity
    assert log.accounts[0].state(mark).equity == pytest.approx(before)  # settled at the mark: no change
    assert e.surplus == pytest.approx(10 * (e.execution_price - e.mark))  # the fill-vs-mark difference
    assert e.margin_used == pytest.approx(-10 * (e.mark - 60_000))


def test_multi_currency_bankruptcy_price_is_where_the_usd_equity_is_zero():
    # BTC collateral (95 %) backing a BTC long: the price moves both; B is where the haircut USD equity is 0.
    acc = CrossAccount([I_BTC], {"USDT": 2_000.0, "BTC": 0.1}, [Position("BTCUSDT", "long", 4, 60_000)],
                       haircuts={"BTC": Haircut.flat(0.95)})
    path = np.linspace(60_000, 54_000, 61)
    log = liquidate_account(acc, np.arange(61.0), {"BTC": path}, "full", execution=Execution("mark"))
    (e,) = log.events
    b = e.bankruptcy_price
    assert acc.state({"BTC": b}).equity == pytest.approx(0, abs=1e-6)
    # 2,000 + 0.95·0.1·B + 4·(B − 60,000) = 0
    assert b == pytest.approx((4 * 60_000 - 2_000) / (4 + 0.095), rel=1e-12)
    assert log.final.realized_pnl["USDT"] == pytest.approx(4 * (b - 60_000))
    assert e.surplus == pytest.approx(4 * (e.mark - b))


@pytest.mark.parametrize("depth", [1e9, 2e5])
def test_multi_currency_settlement_at_the_fill_leaves_the_account_what_the_fill_leaves(depth):
    """The same account, settled at the fill. A deep book fills near the mark: the account keeps the equity the
    fill leaves, the fund nothing. A thin one (480,000 USDT of BTC into 200,000 per 100 %, capped at a 99 % move)
    fills far below: settled instead where the account's USD equity after the close is 0, the BTC collateral
    still valued at the mark: 2,000 + 0.95·0.1·m + 4·(P − 60,000) = 0; the fund pays the rest."""
    acc = CrossAccount([I_BTC], {"USDT": 2_000.0, "BTC": 0.1}, [Position("BTCUSDT", "long", 4, 60_000)],
                       haircuts={"BTC": Haircut.flat(0.95)})
    path = np.linspace(60_000, 54_000, 61)
    log = liquidate_account(acc, np.arange(61.0), {"BTC": path}, "full", execution=Execution("impact", depth),
                            settlement="fill")
    (e,) = log.events
    equity = float(log.final.state({"BTC": e.mark}).equity)
    if depth > 1e6:
        assert e.settlement_price == e.execution_price and e.surplus == 0
        assert equity == pytest.approx(float(acc.state({"BTC": e.mark}).equity) - 4 * (e.mark - e.execution_price))
        assert equity > 0
    else:
        p = 60_000 - (2_000 + 0.095 * e.mark) / 4
        assert e.settlement_price == pytest.approx(p, rel=1e-12) and e.execution_price < p
        assert equity == pytest.approx(0, abs=1e-6)
        assert e.surplus == pytest.approx(-4 * (p - e.execution_price))


def test_a_rulebook_supplies_the_policy_for_an_account():
    prices = {"BTC": FALL, "ETH": ETH_FALL}
    acc = whale_account()
    assert liquidate_account(acc, TIMES, prices, preset("okx")) == liquidate_account(acc, TIMES, prices, "two-tiers")
    assert liquidate_account(acc, TIMES, prices, preset("hyperliquid")) == liquidate_account(acc, TIMES, prices,
                                                                                            "hyperliquid")
    with pytest.raises(ValueError, match="settlement comes from the rulebook"):
        liquidate_account(acc, TIMES, prices, preset("okx"), settlement="fill")
    with pytest.raises(ValueError, match="has no liquidation policy"):
        liquidate_account(acc, TIMES, prices, preset("binance-usdm"))


# ---------------------------------------------------------------- invariants
@st.composite
def accounts(draw):
    """Single-currency accounts of 1–2 underlyings, each with 1–2 instruments (sharing a tier table)
    holding a long, a short or both, maybe an open order, under any tier rule, healthy at their
    entry prices."""
    kind = draw(st.sampled_from(["linear", "inverse"]))
    rule = draw(st.sampled_from(["position", "net", "underlying"]))
    instruments, legs, starts = [], [], {}
    for j in range(draw(st.integers(1, 2))):
        table = draw(tier_tables(kind=kind))
        starts[f"U{j}"] = p0 = draw(st.floats(10.0, 1e5))
        for sym in [f"U{j}a", f"U{j}b"][: draw(st.integers(1, 2))]:
            instruments.append(Instrument(sym, table, f"U{j}"))
            for side in draw(st.sampled_from([["long"], ["short"], ["long", "short"]])):
                entry = p0 * draw(st.floats(0.9, 1.1))
                if table.basis == "notional":
                    qty = draw(st.floats(1.0, 2e7)) / float(table.contract.value(1, entry))
                else:
                    qty = draw(st.floats(1.0, 3e6))
                legs.append(Position(sym, side, qty, entry))
    fee = draw(st.sampled_from([0.0, 0.0005]))
    settle = instruments[0].settle
    orders = [Order(p.symbol, draw(st.sampled_from(["long", "short"])), p.qty * draw(st.floats(0.01, 1.0)),
                    p.entry, 10) for p in legs[:1] if draw(st.booleans())]
    probe = CrossAccount(instruments, {settle: 0.0}, legs, orders, mode="hedge", tier_rule=rule, fee_rate=fee)
    s = probe.state(starts)
    balance = float(s.requirement) * draw(st.floats(1.05, 3.0)) + 1e-6 - float(s.equity)
    return probe.with_balance(settle, balance), starts


@given(accounts(), st.lists(st.floats(0.3, 3.0), min_size=2, max_size=2), st.sampled_from(POLICIES),
       st.sampled_from(MODELS), st.sampled_from(SETTLEMENTS))
def test_invariants(account_starts, moves, policy, model, settlement):
    """Terminates; each reduce step brings its group to a lower tier (fraction, hyperliquid: a smaller size)
    or closes it; after the last step at a time the account is healthy or flat (or taken by the backstop);
    money is conserved step by step under either settlement: Δ trader equity at the mark + fund surplus +
    the market buyer's gain = 0; at the fill the fund never gains, and where it pays the account is left
    with no equity."""
    acc, starts = account_starts
    assume(acc.health(starts) > 0)
    paths = {u: np.linspace(p0, p0 * m, 20) for (u, p0), m in zip(starts.items(), moves)}
    log = liquidate_account(acc, np.arange(20.0), paths, policy, 0.25 if policy == "fraction" else None,
                            Execution(model, 1e6), settlement)
    assert isinstance(log, AccountLiquidationLog) and len(log.events) == len(log.accounts)
    scale = float(acc.state(starts).exposure) + abs(float(acc.balances[acc.currency])) + 1.0
    for i, e in enumerate(log.events):
        before, after = (log.accounts[i - 1] if i else acc), log.accounts[i]
        at = {u: float(path[int(e.time)]) for u, path in paths.items()}
        was_state, now_state = before.state(at), after.state(at)
        assert (e.health_before <= 0 or e.action == "backstop") and e.health_before == float(was_state.health)
        assert e.health_after == float(now_state.health)
        if e.action == "cancel orders":
            assert before.orders and not after.orders and after.positions == before.positions
            continue
        assert not before.orders  # orders go first
        if policy in ("fraction", "hyperliquid") and e.action == "reduce":
            assert e.tier_after <= e.tier_before
        else:
            assert e.tier_after < e.tier_before
        # the legs that changed, and what went to the market
        was = {(p.symbol, p.side): p for p in before.positions}
        now = {(p.symbol, p.side): p.qty for p in after.positions}
        closed = {k: p.qty - now.get(k, 0.0) for k, p in was.items() if now.get(k, 0.0) != p.qty}
        assert closed and all(c > 0 for c in closed.values())  # nothing grows
        contract = acc.instrument(next(iter(closed))[0]).table.contract
        net = sum(side * c for (_, side), c in closed.items())
        assert e.contracts_closed == pytest.approx(abs(net), rel=1e-9, abs=1e-12 * scale)
        market = float(contract.upnl(np.sign(net), abs(net), e.execution_price, e.mark)) if e.execution_price else 0.0
        trader = float(now_state.equity - was_state.equity)
        assert trader + e.surplus + market == pytest.approx(0, abs=1e-7 * scale)
        at_fill = settlement == "fill" and e.action != "backstop" and float(was_state.equity) > 0
        if e.bankruptcy_price is not None and not at_fill:  # where the account's equity is 0, the other prices held
            assert e.settlement_price == e.bankruptcy_price
            u = acc.instrument(next(iter(closed))[0]).underlying
            for a in (before, after):  # settling there does not move that point
                assert float(a.state({**at, u: e.bankruptcy_price}).equity) == pytest.approx(0, abs=1e-7 * scale)
        if at_fill and e.execution_price is not None:  # the account keeps what the fill leaves, never below 0
            assert e.surplus <= 0 and (e.surplus == 0) == (e.settlement_price == e.execution_price)
            assert float(now_state.equity) >= -1e-7 * scale
            if e.surplus < 0:
                assert float(now_state.equity) == pytest.approx(0, abs=1e-7 * scale)
    last: dict = {}
    for i, e in enumerate(log.events):
        last[e.time] = log.accounts[i]
    for time, a in last.items():
        assert not a.positions or a.health({u: float(path[int(time)]) for u, path in paths.items()}) > 0
    if any(e.action == "backstop" for e in log.events):  # it takes every position
        assert not log.final.positions


# ---------------------------------------------------------------- display and bad input
def test_the_log_displays_the_symbol_column_only_when_events_name_one():
    log = liquidate_account(whale_account(), TIMES, {"BTC": FALL, "ETH": ETH_FALL})
    text, html = repr(log), log._repr_html_()
    assert text.splitlines()[0].split()[:4] == ["time", "mark", "action", "symbol"]
    assert "BTCUSDT,ETHUSDT" in text and "<th>symbol</th>" in html and html.count("<tr>") == len(log.events) + 1
    iso = liquidate(tm.IsolatedPosition.open(BTC, "long", 200, 60_000, 10), TIMES, np.linspace(60_000, 50_000, 60))
    assert "symbol" not in repr(iso) and "symbol" not in iso._repr_html_()
    assert iso.columns() == iso.COLUMNS and all(e.symbol == "" for e in iso.events)


def test_bad_input():
    acc = whale_account()
    good = {"times": TIMES, "prices": {"BTC": FALL, "ETH": ETH_FALL}}
    for kw, match in [({"times": [], "prices": {"BTC": [], "ETH": []}}, "times"),
                      ({"prices": {"BTC": [], "ETH": ETH_FALL}}, r"prices\['BTC'\]"),
                      ({"prices": {"BTC": FALL[:10], "ETH": ETH_FALL}}, r"prices\['BTC'\] .*same length as times"),
                      ({"prices": {"BTC": np.ones((60, 2)), "ETH": ETH_FALL}}, r"prices\['BTC'\]"),
                      ({"prices": {"BTC": FALL}}, "prices has no path for underlying 'ETH'"),
                      ({"prices": {}}, "prices must be a non-empty mapping"),
                      ({"prices": {"BTC": -FALL, "ETH": ETH_FALL}}, r"prices\['BTC'\] must be > 0"),
                      ({"times": TIMES[::-1]}, "sorted"),
                      ({"policy": "half"}, "policy"),
                      ({"policy": "fraction"}, "fraction"), ({"fraction": 0.2}, "fraction"),
                      ({"policy": "fraction", "fraction": 1.5}, "fraction"), ({"settlement": "mid"}, "settlement")]:
        with pytest.raises(ValueError, match=match):
            liquidate_account(acc, **{**good, **kw})
    with pytest.raises(TypeError, match="account must be a CrossAccount"):
        liquidate_account(tm.IsolatedPosition.open(BTC, "long", 1, 60_000, 10), **good)
    with pytest.raises(TypeError, match="execution"):
        liquidate_account(acc, execution="mark", **good)


def test_the_closed_form_and_the_grid_search_find_the_same_bankruptcy_prices():
    # a zero USDC balance makes the account multi-currency (valued in USD): the same equity, found
    # by the grid search instead of the closed form
    acc = whale_account()
    usd = acc.with_balance("USDC", 0.0)
    assert acc.currency == "USDT" and usd.currency == "USD"
    prices = {"BTC": np.linspace(60_000, 50_000, 60), "ETH": ETH_FALL}
    a, b = (liquidate_account(x, TIMES, prices, "lowest-sufficient") for x in (acc, usd))
    assert [(e.action, e.symbol, e.tier_after) for e in a.events] == [(e.action, e.symbol, e.tier_after) for e in b.events]
    assert sum(e.bankruptcy_price is not None for e in a.events) >= 3
    for x, y in zip(a.events, b.events):
        assert x.bankruptcy_price == pytest.approx(y.bankruptcy_price, rel=1e-12) if y.bankruptcy_price else x.bankruptcy_price is None
        assert x.surplus == pytest.approx(y.surplus, rel=1e-9, abs=1e-6)
