"""The stepwise liquidation engine: worked example, invariants, bad input."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import positions

import tiermargin as tm
from tiermargin.liquidation import POLICIES, SETTLEMENTS, Execution, liquidate
from tiermargin.rules import preset

BTC = tm.load_table("binance-usdm-btcusdt-2021")
TIMES = np.arange(0.0, 600.0, 10.0)
CRASH = np.linspace(60_000, 50_000, TIMES.size)


def whale():
    return tm.IsolatedPosition.open(BTC, "long", 200, 60_000, 10)  # 12M USDT: tier 5


def test_one_tier_down_steps_to_each_lower_cap_at_the_bankruptcy_price():
    log = liquidate(whale(), TIMES, CRASH, "one-tier", execution=Execution("bankruptcy"))
    reduces = [e for e in log.events if e.action == "reduce"]
    assert [(e.tier_before, e.tier_after) for e in log.events] == [(5, 4), (4, 3), (3, 2), (2, 1), (1, 0)]
    for e in reduces:  # each step leaves the size just under the lower tier's cap
        cap = BTC.caps[e.tier_after - 1]
        assert e.contracts_left * e.mark == pytest.approx(cap, rel=1e-8) and e.contracts_left * e.mark < cap
    assert all(e.surplus == pytest.approx(0, abs=1e-6) for e in log.events)  # filled at bankruptcy
    assert log.final is None and log.contracts_to_market == pytest.approx(200)
    assert log.margin_lost == pytest.approx(float(whale().margin))


def test_a_requirement_valued_at_entry_steps_down_by_the_size_at_entry():
    # Bybit isolated values the requirement (so the tier) at entry: the lower tier's cap is converted to
    # contracts at the entry price, not at the mark (which would leave a long in the same tier for ever).
    pos = tm.IsolatedPosition.open(BTC, "long", 200, 60_000, 10, requirement_at="entry")
    log = liquidate(pos, TIMES, CRASH, "one-tier", execution=Execution("bankruptcy"))
    assert [(e.tier_before, e.tier_after) for e in log.events] == [(5, 4), (4, 3), (3, 2), (2, 1), (1, 0)]
    for e in log.events[:-1]:
        cap = BTC.caps[e.tier_after - 1]
        assert e.contracts_left * 60_000 == pytest.approx(cap, rel=1e-8) and e.contracts_left * 60_000 < cap


def test_first_trigger_is_the_liquidation_price():
    pos = whale()
    log = liquidate(pos, TIMES, CRASH, "one-tier")
    lp = pos.liquidation_price().price
    first = log.events[0]
    assert first.mark <= lp and first.health_before <= 0
    assert all(m > lp for m in CRASH[CRASH > first.mark])  # nothing earlier on the path triggered


def test_full_vs_stepwise_sends_the_same_contracts_but_the_fund_fares_differently():
    full = liquidate(whale(), TIMES, CRASH, "full")
    step = liquidate(whale(), TIMES, CRASH, "one-tier")
    assert len(full.events) == 1 and full.contracts_to_market == pytest.approx(200)
    assert step.fund_result > full.fund_result  # smaller orders move the book less


def test_stepwise_can_leave_a_healthy_position():
    path = np.concatenate((np.linspace(60_000, 55_300, 30), np.full(10, 55_300.0)))
    log = liquidate(whale(), np.arange(40.0), path, "lowest-sufficient", execution=Execution("mark"))
    assert log.final is not None and log.final.health(path[-1]) > 0
    assert log.final.tier(path[-1]) < whale().tier(path[-1])
    assert float(log.final.margin) + log.margin_lost == pytest.approx(float(whale().margin))


def test_open_orders_are_cancelled_first():
    pos = whale()
    lp = pos.liquidation_price().price
    gap = float(pos.health(lp + 100)) + 1.0  # orders that tip health below zero 100 above the LP
    log = liquidate(pos, [0.0, 1.0], [lp + 100, lp + 100], "one-tier", orders_requirement=gap)
    assert [e.action for e in log.events] == ["cancel orders"] and log.final is not None
    assert log.events[0].health_before < 0 < log.events[0].health_after


def test_fraction_policy_closes_a_share_per_step_until_tier_one():
    log = liquidate(whale(), TIMES, CRASH, "fraction", fraction=0.2)
    steps = [e for e in log.events if e.action == "reduce"]
    for e in steps:
        assert e.contracts_closed == pytest.approx(0.2 * (e.contracts_closed + e.contracts_left))
    assert log.events[-1].tier_before == 1 or log.final is not None


@given(positions(fee=False), st.sampled_from(POLICIES), st.floats(0.3, 0.95),
       st.sampled_from(["bankruptcy", "mark", "impact"]), st.sampled_from(SETTLEMENTS))
def test_invariants(p, policy, drop, model, settlement):
    """Terminates; each step leaves a lower tier (fraction, hyperliquid: a smaller size) or closes; after
    the last step at a mark health ≥ 0 or closed; money is conserved step by step under both settlements:
    the trader's realized loss at the settlement price + the fund's result + the market's = 0; at the fill
    the fund only pays (where the trader's equity would go negative) and a close pays back what is left."""
    side = float(p.side)
    end = float(p.entry) * (drop if side > 0 else 1 / drop)
    path = np.linspace(float(p.entry), end, 25)
    assume(not p.is_liquidated(path[0]))
    log = liquidate(p, np.arange(25.0), path, policy, 0.25 if policy == "fraction" else None, Execution(model, 1e6),
                    settlement=settlement)
    assert log.settlement == settlement
    c = p.table.contract
    scale = float(p.margin + p.value(p.entry))
    qty, margin = float(p.qty), float(p.margin)
    for e in log.events:
        if policy in ("fraction", "hyperliquid") and e.action == "reduce":
            assert e.contracts_left < e.contracts_left + e.contracts_closed
        elif e.action == "reduce":
            assert e.tier_after < e.tier_before
        equity = margin + float(c.upnl(side, qty, p.entry, e.mark))  # the trader's, before the step
        # the trader's closed contracts are settled at the settlement price: fund + trader + market = 0
        realized = float(c.upnl(side, e.contracts_closed, p.entry, e.settlement_price))
        if settlement == "bankruptcy" or e.action == "backstop" or equity <= 0:  # the share's margin is used up
            assert e.settlement_price == e.bankruptcy_price and e.returned == 0
            assert e.margin_used == pytest.approx(-realized, rel=1e-7, abs=1e-9 * float(p.margin))
        elif e.contracts_left == 0 and e.settlement_price != e.execution_price:  # closed at bankruptcy: none left
            assert e.margin_used == margin and e.returned == 0 and e.surplus <= 0
        else:  # at the fill (or the step's bankruptcy price, the fund paying): the realized loss
            assert (e.surplus == 0) == (e.settlement_price == e.execution_price) and e.surplus <= 0
            if e.contracts_left:
                assert e.margin_used == -realized
            else:  # a close: what the fill leaves (>= 0) is paid back
                assert e.margin_used == pytest.approx(-realized, rel=1e-9, abs=1e-9 * scale)
            assert e.returned == (margin - e.margin_used if e.contracts_left == 0 else 0.0)
        market = -float(c.upnl(side, e.contracts_closed, p.entry, e.execution_price))
        assert -e.margin_used + e.surplus + market == pytest.approx(0, abs=1e-7 * scale)
        if settlement == "fill" and e.action != "backstop" and equity > 0:  # the fund only pays, the trader
            assert e.surplus <= 0  # keeps a non-negative equity at the mark
            kept = margin - e.margin_used + float(c.upnl(side, e.contracts_left, p.entry, e.mark))
            assert (e.returned if e.contracts_left == 0 else kept) >= -1e-9 * scale
            if e.surplus < 0:  # settled where the trader's equity after the step is 0
                assert (e.returned if e.contracts_left == 0 else kept) == pytest.approx(0, abs=1e-9 * scale)
        qty, margin = e.contracts_left, margin - e.margin_used
    by_time: dict = {}
    for e in log.events:
        by_time[e.time] = e
    for e in by_time.values():
        assert e.action in ("close", "backstop") or e.health_after > 0
    left = float(log.final.margin) if log.final else log.returned
    assert left + log.margin_lost == pytest.approx(float(p.margin), rel=1e-9)


def test_bad_input():
    pos = whale()
    for kw, match in [({"times": [], "marks": []}, "marks"), ({"policy": "half"}, "policy"),
                      ({"policy": "fraction"}, "fraction"), ({"fraction": 0.2}, "fraction"),
                      ({"times": [0.0, 1.0], "marks": [1.0]}, "same length"),
                      ({"times": [1.0, 0.0], "marks": [1.0, 1.0]}, "sorted"),
                      ({"marks": [60_000, -1], "times": [0, 1]}, "marks"),
                      ({"orders_requirement": -1}, "orders_requirement"), ({"settlement": "mid"}, "settlement"),
                      ({"last_partial": float("nan")}, "last_partial")]:
        args = {"times": TIMES, "marks": CRASH, **kw}
        with pytest.raises(ValueError, match=match):
            liquidate(pos, **args)
    with pytest.raises(TypeError, match="single IsolatedPosition"):
        liquidate(tm.IsolatedPosition.open(BTC, "long", [1, 2], 60_000, 10), TIMES, CRASH)
    with pytest.raises(ValueError, match="model"):
        Execution("vwap")
    with pytest.raises(ValueError, match="depth"):
        Execution("impact", 0)


def test_a_rulebook_supplies_the_venues_policy_and_fraction():
    pos = whale()
    assert liquidate(pos, TIMES, CRASH, preset("okx")) == liquidate(pos, TIMES, CRASH, "two-tiers")
    hl = liquidate(pos, TIMES, CRASH, preset("hyperliquid"))
    assert hl == liquidate(pos, TIMES, CRASH, "hyperliquid") == liquidate(pos, TIMES, CRASH, "hyperliquid",
                                                                          settlement="fill")
    assert hl.settlement == "fill" and liquidate(pos, TIMES, CRASH, "one-tier").settlement == "bankruptcy"
    assert liquidate(pos, TIMES, CRASH, preset("okx")) != liquidate(pos, TIMES, CRASH, "one-tier")
    with pytest.raises(ValueError, match="'binance-usdm' has no liquidation policy"):
        liquidate(pos, TIMES, CRASH, preset("binance-usdm"))
    with pytest.raises(ValueError, match="fraction comes from the rulebook"):
        liquidate(pos, TIMES, CRASH, preset("hyperliquid"), 0.3)
    with pytest.raises(ValueError, match="settlement comes from the rulebook"):
        liquidate(pos, TIMES, CRASH, preset("okx"), settlement="fill")


def test_the_settlements_differ_only_in_who_keeps_a_fill_better_than_bankruptcy():
    """The whale, one tier down, fills at the mark (better than bankruptcy): at the bankruptcy price the fund
    keeps the difference; at the fill the trader does, so the position survives with more margin and the fund
    gets nothing. Filled at the bankruptcy price itself, the two settlements are the same liquidation."""
    at_b = liquidate(whale(), TIMES, CRASH, "one-tier", execution=Execution("mark"))
    at_f = liquidate(whale(), TIMES, CRASH, "one-tier", execution=Execution("mark"), settlement="fill")
    assert at_b.fund_result > 0 and at_f.fund_result == 0
    assert all(e.settlement_price == e.execution_price for e in at_f.events)
    first_b, first_f = at_b.events[0], at_f.events[0]
    assert first_f.contracts_closed == first_b.contracts_closed  # the same order ...
    # ... the trader keeps what the fund kept: the closed contracts' equity at the mark
    assert first_b.margin_used - first_f.margin_used == pytest.approx(first_b.surplus, rel=1e-12)
    assert first_f.health_after > first_b.health_after
    same = [liquidate(whale(), TIMES, CRASH, "one-tier", execution=Execution("bankruptcy"), settlement=s)
            for s in SETTLEMENTS]
    for a, b in zip(*(log.events for log in same)):
        assert a.contracts_closed == b.contracts_closed and a.surplus == pytest.approx(b.surplus, abs=1e-6)
        assert a.margin_used == pytest.approx(b.margin_used, rel=1e-12)


def test_a_fill_that_would_leave_the_kept_contracts_no_margin_closes_the_whole_position():
    """A long of 10 at 100 on 0.5 of margin, liquidated in profit at 101 (MM 20 % above 100 USDT): equity 10.5.
    Filled at the mark, settled at the fill, 50 % steps keep 1.25 contracts with the whole equity (4.25 healthy).
    Into a thin book, the first 5 fill at 98.45: the kept 5 would be left 0.5 + 5 × (98.45 − 100) < 0 of margin,
    so the order is for the whole position; it fills at 95.90, worse than the 99.95 at which the trader's
    equity is 0 (10.5 + 10 × (P − 101) = 0): settled there, the fund pays 10 × 4.05."""
    t = tm.TierTable.from_rows([[0, 100, 0.01, 50], [100, None, 0.2, 4]])
    pos = tm.IsolatedPosition(t, "long", 10.0, 100.0, 0.5, 4.0)
    at_mark = liquidate(pos, [0], [101], "fraction", 0.5, Execution("mark"), settlement="fill")
    assert [e.contracts_left for e in at_mark.events] == [5.0, 2.5, 1.25]
    assert float(at_mark.final.equity(101)) == pytest.approx(10.5)
    (e,) = liquidate(pos, [0], [101], "fraction", 0.5, Execution("impact", 1e4), settlement="fill").events
    assert (e.action, e.contracts_closed) == ("close", 10.0)
    assert e.execution_price == pytest.approx(101 * (1 - 1010 / 2e4))
    assert e.settlement_price == pytest.approx(99.95) and e.surplus == pytest.approx(-10 * (99.95 - e.execution_price))
    assert e.returned == 0 and e.margin_used == 0.5


def test_a_position_without_a_bankruptcy_price_settles_at_the_mark():
    # Issue 19 #3: a 1x long valued at entry has equity P·Q > 0 at every price, yet is liquidated where
    # its equity falls to the fixed requirement (60,000 × 0.5 % − 50 = 250 at P = 250). It used to
    # crash ("entry must be > 0, got 0.0"); it settles at the mark and money is conserved.
    t = tm.load_table("binance-usdm-btcusdt-2021")
    p = tm.IsolatedPosition.open(t, "long", 1, 60_000, 1, requirement_at="entry")
    assert not p.bankruptcy_price().exists and p.liquidation_price().price == pytest.approx(250)
    for settlement in ("bankruptcy", "fill"):
        log = liquidate(p, [0, 10, 20], [60_000, 30_000, 100], "one-tier", settlement=settlement,
                        execution=Execution("mark"))
        assert log.final is None and all(e.bankruptcy_price is None for e in log.events)
        assert all(e.settlement_price == 100 for e in log.events) and log.fund_result == pytest.approx(0, abs=1e-9)
        used = sum(e.margin_used for e in log.events)
        assert used == pytest.approx(59_900) and log.events[-1].returned == pytest.approx(100)
        assert used + log.events[-1].returned == pytest.approx(float(p.margin))
        assert log.explain(0).result == pytest.approx(log.events[0].contracts_closed)


def test_a_fraction_too_small_to_end_is_refused():
    # Issue 19 #9: 1e-4 took ~53,565 steps, 1e-12 never returned; at least 1 % a step (MIN_FRACTION).
    from tiermargin.rules import MIN_FRACTION, Rulebook

    p = tm.IsolatedPosition.open(tm.load_table("binance-usdm-btcusdt-2021"), "long", 20, 60_000, 20)
    for f in (1e-4, 1e-12):
        with pytest.raises(ValueError, match="fraction must be at least 0.01"):
            liquidate(p, [0], [50_000], "fraction", f)
    with pytest.raises(ValueError, match="fraction must be at least"):
        Rulebook("x", "X", None, policy="fraction", fraction=0.001)
    log = liquidate(p, [0], [55_000], "fraction", MIN_FRACTION)
    assert log.events and len(log.events) < 1_000
