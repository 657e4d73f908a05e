"""The stepwise liquidation engine: worked example, invariants, bad input."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import positions

import tiermargin as tm
from tiermargin.liquidation import POLICIES, Execution, liquidate
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
       st.sampled_from(["bankruptcy", "mark", "impact"]))
def test_invariants(p, policy, drop, model):
    """Terminates; each step leaves a lower tier (fraction: a smaller size) or closes; after the last
    step at a mark health ≥ 0 or closed; money is conserved step by step."""
    side = float(p.side)
    end = float(p.entry) * (drop if side > 0 else 1 / drop)
    path = np.linspace(float(p.entry), end, 25)
    assume(not p.is_liquidated(path[0]))
    log = liquidate(p, np.arange(25.0), path, policy, 0.25 if policy == "fraction" else None, Execution(model, 1e6))
    c = p.table.contract
    for e in log.events:
        if policy == "fraction" and e.action == "reduce":
            assert e.contracts_left < e.contracts_left + e.contracts_closed
        elif e.action == "reduce":
            assert e.tier_after < e.tier_before
        # trader's share settled at bankruptcy uses exactly its margin; fund + trader + market = 0
        trader = -e.margin_used
        assert e.margin_used == pytest.approx(-float(c.upnl(side, e.contracts_closed, p.entry, e.bankruptcy_price)),
                                              rel=1e-7, abs=1e-9 * float(p.margin))
        market = -float(c.upnl(side, e.contracts_closed, p.entry, e.execution_price))
        assert trader + e.surplus + market == pytest.approx(0, abs=1e-7 * float(p.margin + p.value(p.entry)))
    by_time: dict = {}
    for e in log.events:
        by_time[e.time] = e
    for e in by_time.values():
        assert e.action == "close" or e.health_after > 0
    assert float(log.final.margin if log.final else 0) + log.margin_lost == pytest.approx(float(p.margin), rel=1e-9)


def test_bad_input():
    pos = whale()
    for kw, match in [({"times": [], "marks": []}, "marks"), ({"policy": "half"}, "policy"),
                      ({"policy": "fraction"}, "fraction"), ({"fraction": 0.2}, "fraction"),
                      ({"times": [0.0, 1.0], "marks": [1.0]}, "same length"),
                      ({"times": [1.0, 0.0], "marks": [1.0, 1.0]}, "sorted"),
                      ({"marks": [60_000, -1], "times": [0, 1]}, "marks"),
                      ({"orders_requirement": -1}, "orders_requirement")]:
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
    assert liquidate(pos, TIMES, CRASH, preset("hyperliquid")) == liquidate(pos, TIMES, CRASH, "fraction", 0.2)
    assert liquidate(pos, TIMES, CRASH, preset("okx")) != liquidate(pos, TIMES, CRASH, "one-tier")
    with pytest.raises(ValueError, match="'binance-usdm' has no liquidation policy"):
        liquidate(pos, TIMES, CRASH, preset("binance-usdm"))
    with pytest.raises(ValueError, match="fraction comes from the rulebook"):
        liquidate(pos, TIMES, CRASH, preset("hyperliquid"), 0.3)
