"""The liquidation waterfall: a hand-computed ADL example, money conservation, the fund never negative, and a
schedule settled against many funds equal to the reference run."""

import copy
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import examples

import tiermargin as tm
from tiermargin import waterfall as wf
from tiermargin.liquidation import POLICIES, SETTLEMENTS, Execution, liquidate
from tiermargin.rules import preset

FLAT = tm.TierTable.single(0.005, max_leverage=100)
BTC = tm.load_table("binance-usdm-btcusdt-2021")


def gap_scenario(fund=4.0):
    """A long of 10 at 100 (10x, bankruptcy 90) and two profitable shorts; the mark gaps to 89."""
    pop = tm.IsolatedPosition.open(FLAT, ["long", "short", "short"], [10, 4, 5], [100, 100, 95], 10)
    return wf.run(pop, [0.0, 60.0], [100.0, 89.0], tm.RiskFund(fund), execution=Execution("mark"))


def test_a_gap_past_bankruptcy_drains_the_fund_and_deleverages_the_top_ranked_shorts_at_bankruptcy():
    r = gap_scenario()
    (s,) = r.steps
    assert (s.trader, s.event.action, s.event.bankruptcy_price, s.event.execution_price) == (0, "close", 90.0, 89.0)
    assert s.event.surplus == pytest.approx(-10.0)  # 10 contracts bought at 90, sold at 89
    assert s.fund == pytest.approx(-4.0) and s.shortfall == pytest.approx(6.0)  # the fund had 4
    assert s.to_market == pytest.approx(4.0)  # 6 of 10 contracts go to ADL: 10 × 6 / 10
    # scores at 89 (PnL% × effective leverage): short 1 0.11 × 356/84 = 0.466, short 2 (30/475) × 445/77.5 = 0.363
    assert s.deleveraged.who.tolist() == [1, 2]
    np.testing.assert_allclose(s.deleveraged.qty, [4.0, 2.0])
    np.testing.assert_allclose(s.deleveraged.pnl, [40.0, 10.0])  # closed at 90 against entries 100 and 95
    np.testing.assert_allclose(r.qty, [0.0, 0.0, 3.0])
    np.testing.assert_allclose(r.positions_at(0.0)[0], [10.0, 4.0, 5.0])
    np.testing.assert_allclose(r.positions_at(60.0)[1], [0.0, 0.0, 3 / 5 * 47.5])
    np.testing.assert_allclose(r.cash, [0.0, 40.0 + 40.0, 2 / 5 * 47.5 + 10.0])  # released margin + PnL
    assert r.fund.balance == 0.0 and [e.kind for e in r.fund.entries] == ["loss", "adl"]
    assert s.uncovered == 0.0


def test_without_counterparties_the_unpaid_loss_is_reported_as_uncovered():
    pop = tm.IsolatedPosition.open(FLAT, ["long", "long"], [10, 1], 100, 10)
    (s,) = wf.run(pop, [0.0, 60.0], [100.0, 89.0], tm.RiskFund(4.0), execution=Execution("mark")).steps[:1]
    assert s.deleveraged is None and s.uncovered == pytest.approx(6.0) and s.to_market == 10.0


def assert_conserved(r):
    """At each step: the equity the trader gives up at the mark (its closed contracts settled at the settlement
    price, what a close pays back counted as kept) = the fund's + the buyers' + the counterparties' − uncovered."""
    contract = r.start.table.contract
    for s in r.steps:
        e = s.event
        if e.contracts_closed == 0:
            continue
        side = float(r.start.side[s.trader])
        given_up = float(contract.upnl(side, e.contracts_closed, e.settlement_price, e.mark))
        buyers = float(contract.upnl(side, s.to_market, e.execution_price, e.mark))  # they bought what was sold
        counterparties = 0.0 if s.deleveraged is None else float(
            np.sum(contract.upnl(-side, s.deleveraged.qty, e.mark, e.settlement_price)))
        scale = 1e-9 * max(1.0, float(contract.usd_value(e.contracts_closed, e.mark)))
        assert given_up == pytest.approx(s.fund + buyers + counterparties - s.uncovered, abs=scale)


def test_money_is_conserved_at_each_step_of_the_gap_scenario():
    assert_conserved(gap_scenario())


def wealth_gap(r, mark, start_fund):
    """Everyone's wealth at ``mark`` after the path (traders' equity and cash, the fund, the market buyers'
    positions, less the venue's uncovered loss) minus what they would hold had nothing happened; and a scale."""
    c, p = r.start.table.contract, r.start
    traders = np.sum(r.margin + r.cash + np.asarray(c.upnl(p.side, r.qty, p.entry, mark)))
    market = sum(float(c.upnl(p.side[s.trader], s.to_market, s.event.execution_price, mark))
                 for s in r.steps if s.to_market > 0)
    before = np.sum(p.margin + np.asarray(c.upnl(p.side, p.qty, p.entry, mark))) + start_fund
    gap = float(traders + r.fund.balance + market - sum(s.uncovered for s in r.steps) - before)
    return gap, float(np.sum(p.margin)) + start_fund


@settings(max_examples=examples(12), deadline=None)
@given(seed=st.integers(0, 10_000), fund=st.floats(0, 200_000), depth=st.floats(2e6, 5e8),
       crash=st.floats(0.05, 0.3), policy=st.sampled_from(["one-tier", "lowest-sufficient", "hyperliquid", "full"]),
       settlement=st.sampled_from(SETTLEMENTS))
def test_waterfall_invariants(seed, fund, depth, crash, policy, settlement):
    pop = wf.traders(BTC, 30, 60_000, seed=seed)
    times, marks = wf.crash_path(depth=crash, seed=seed, step=600)
    r = wf.run(pop, times, marks, tm.RiskFund(fund), policy=policy, execution=Execution("impact", depth),
               settlement=settlement)
    assert_conserved(r)
    gap, scale = wealth_gap(r, float(marks[-1]), fund)
    assert abs(gap) <= 1e-9 * scale
    if settlement == "fill":  # the fund never gains on a step settled at the fill
        assert all(s.event.surplus <= 0 for s in r.steps if s.event.action != "backstop")
    balances = [e.balance_after for e in r.fund.entries]
    assert min(balances, default=fund) >= 0
    assert r.fund.balance == pytest.approx(fund + sum(s.fund for s in r.steps), abs=1e-6 * (1 + fund))
    assert sum(s.shortfall for s in r.steps) == pytest.approx(-sum(e.amount for e in r.fund.entries if e.kind == "adl"))
    for s in r.steps:
        if s.deleveraged is not None:  # opposite side, never more than they held
            assert np.all(r.start.side[s.deleveraged.who] == -r.start.side[s.trader])
    assert np.all(r.qty >= 0) and np.all(r.qty <= r.start.qty)
    closed = r.qty == 0
    assert np.all(r.margin[closed] == 0)
    qty, margin = r.positions_at(times[-1])  # replaying the steps lands where the run ended
    np.testing.assert_allclose(qty, r.qty, rtol=1e-12, atol=0)
    np.testing.assert_allclose(margin, r.margin, rtol=1e-9, atol=1e-9 * float(np.max(r.start.margin)))
    np.testing.assert_array_equal(r.positions_at(times[0] - 1)[0], r.start.qty)


def test_crash_path_crosses_the_reconciliation_cut_off():
    times, marks = wf.crash_path()
    assert times[0] == wf.DAY_START and times[-1] - times[0] == 86_400
    bottom = times[np.argmin(marks)]
    assert wf.DAY_START + 8 * 3_600 < bottom < wf.DAY_START + 11 * 3_600  # after 08:00 UTC = 16:00 UTC+8
    r = wf.run(wf.traders(BTC, 100, 60_000, seed=1), times, marks, tm.RiskFund(10_000))
    windows = r.fund.reconciliations()
    assert len(windows) == 2 and windows[0].end == wf.DAY_START + 8 * 3_600
    assert sum(w.net for w in windows) == pytest.approx(r.fund.balance - 10_000)


def test_traders_are_seeded_and_open_within_their_tiers():
    a, b = wf.traders(BTC, 50, 60_000, seed=3), wf.traders(BTC, 50, 60_000, seed=3)
    np.testing.assert_array_equal(a.qty, b.qty)
    assert not np.array_equal(a.qty, wf.traders(BTC, 50, 60_000, seed=4).qty)
    assert np.all(a.leverage <= np.asarray(BTC.max_leverage_at(BTC.size_of(a.qty, a.entry))))
    assert np.all(a.health(a.entry) > 0)


def test_bad_input():
    pop = wf.traders(BTC, 5, 60_000)
    times, marks = [0.0, 1.0], [60_000.0, 59_000.0]
    for kw, match in [({"times": [], "marks": []}, "marks"), ({"policy": "half"}, "policy"),
                      ({"times": [1.0, 0.0]}, "sorted"), ({"marks": [1.0]}, "same length"),
                      ({"fund": 5.0}, "fund must be a RiskFund")]:
        args = {"positions": pop, "times": times, "marks": marks, "fund": tm.RiskFund(0), **kw}
        with pytest.raises((ValueError, TypeError), match=match):
            wf.run(**args)
    with pytest.raises(ValueError, match="one-dimensional"):
        wf.run(pop[0], times, marks, tm.RiskFund(0))
    with pytest.raises(ValueError, match="start_balance"):
        tm.RiskFund(-1)
    with pytest.raises(ValueError, match="n must be"):
        wf.traders(BTC, 0, 60_000)


# ---------------------------------------------------------------- replaying a day (lesson 06's explorer)
def dry_day():
    """A small fund and a thin book through a crash: the fund runs dry and ADL takes the rest."""
    times, marks = wf.crash_path(depth=0.15, seed=2, step=300)
    return wf.run(wf.traders(BTC, 60, 60_000, seed=2), times, marks, tm.RiskFund(1_000.0),
                  execution=Execution("impact", 1e6)), times, marks


def test_summary_until_a_time_counts_the_steps_up_to_it():
    r, times, _ = dry_day()
    assert r.summary(until=times[-1]) == r.summary()
    assert r.summary(until=times[0] - 1) == {**dict.fromkeys(r.summary(), 0.0), "fund at the end": 1_000.0}
    t = r.steps[len(r.steps) // 2].event.time
    done = [s for s in r.steps if s.event.time <= t]
    part = r.summary(until=t)
    assert part["liquidation steps"] == len(done) and part["traders liquidated"] == len({s.trader for s in done})
    assert part["shortfall to ADL"] == pytest.approx(sum(s.shortfall for s in done))
    assert part["fund at the end"] == r.fund.balance_at(t)
    hit = [s.deleveraged.who for s in done if s.deleveraged is not None]
    assert part["traders deleveraged"] == (np.unique(np.concatenate(hit)).size if hit else 0)


def test_the_queue_at_a_time_is_the_queue_run_used():
    r, times, marks = dry_day()
    checked = 0
    for i, s in enumerate(r.steps):
        if s.deleveraged is None or any(x.event.time == s.event.time for x in r.steps[:i]):
            continue  # no ADL, or another step at the same mark changed the positions first
        q = r.queue_at(s.event.time - 1e-6, s.event.mark, liquidated_side=float(r.start.side[s.trader]))
        n = s.deleveraged.who.size
        checked += 1
        np.testing.assert_array_equal(q.trader[:n], s.deleveraged.who)  # filled in queue order
        assert np.all(np.diff(q.score) <= 0) and np.all(q.upnl > 0)
        assert np.all(r.start.side[q.trader] == -r.start.side[s.trader])
        np.testing.assert_array_equal(q.lights, tm.adl.lights(q.score, q.qty))
    assert checked >= 1
    first = r.steps[0].event.time
    early = r.queue_at(first - 60, marks[0])
    assert early.liquidated_side == 1.0  # before any liquidation: the queue that would take a long
    late = r.queue_at(times[-1], marks[-1])
    assert late.liquidated_side == float(r.start.side[r.steps[-1].trader])
    none = r.queue_at(times[0] - 1, 1.0, liquidated_side="short")
    assert none.trader.size == 0 and none.lights.dtype == np.intp  # at a price of 1 no long is in profit
    with pytest.raises(ValueError, match="ranking"):
        r.queue_at(times[0], marks[0], ranking="bybit")
    with pytest.raises(ValueError, match="mark"):
        r.queue_at(times[0], 0.0)


def test_floor_at_replays_the_drawdown_floor():
    fund = tm.RiskFund(1_000, drawdown=0.3, drawdown_window=8 * 3_600)
    seen = []
    for t, amount in [(0, 200), (3_600, -100), (4 * 3_600, -600), (9 * 3_600, 50), (20 * 3_600, -10)]:
        fund.record(t, amount)
        seen += [(t, fund.floor(t)), (t + 1_800, fund.floor(t + 1_800))]  # as it stood then
    assert len({f for _, f in seen}) > 2
    for t, floor in seen:  # replayed from the whole history: the same floors
        assert fund.floor_at(t) == floor
    np.testing.assert_array_equal(fund.floor_at([t for t, _ in seen]), [f for _, f in seen])
    np.testing.assert_allclose(fund.floor_at([-1.0, 0.0, 3_600.0]), [700.0, 840.0, 840.0])
    assert tm.RiskFund(5).floor_at([0.0, 1.0]).tolist() == [0.0, 0.0]  # no threshold: floor 0
    whole = tm.RiskFund(100, drawdown=0.5, drawdown_window=None)
    whole.record(0, 100)
    whole.record(10 * 24 * 3_600, -20)
    assert whole.floor_at(20 * 24 * 3_600) == whole.floor(20 * 24 * 3_600) == 100.0


def test_reconciliation_cut_and_seeds():
    from tiermargin.riskfund import reconciliation_cut

    assert reconciliation_cut() == 8 * 3_600 and reconciliation_cut(0, 0) == 0
    assert reconciliation_cut(5.5, 5.5) == 0 and reconciliation_cut(2, 8) == 18 * 3_600
    with pytest.raises(ValueError, match="hour must be in"):
        reconciliation_cut(24)
    for bad in (-1, 1.5, True, "3"):
        with pytest.raises(ValueError, match="seed must be an integer >= 0"):
            wf.traders(BTC, 5, 60_000, seed=bad)
        with pytest.raises(ValueError, match="seed must be an integer >= 0"):
            wf.crash_path(seed=bad)


# ---------------------------------------------------------------- a schedule settled against many funds
def reference_run(positions, times, marks, fund, policy="one-tier", fraction=None, execution=Execution(),
                  ranking="pnl-leverage", settlement=None):
    """``run`` as it was before :class:`~tiermargin.waterfall.Schedule` (commit 8ce9fa5), kept as the reference:
    every trader liquidated afresh along the path, the fund's shortfalls deleveraged as they come; with the
    settlement rule (ADL at the settlement price, what a close at the fill leaves paid out) and each trader's
    last partial liquidation carried to its next one (issue 14)."""
    t, m = np.asarray(times, dtype=float), np.asarray(marks, dtype=float)
    base = positions[:]
    qty, margin = np.array(base.qty, dtype=np.float64), np.array(base.margin, dtype=np.float64)
    cash = np.zeros_like(qty)
    is_open = np.ones(qty.size, dtype=bool)
    last_partial = [None] * qty.size
    ledger = copy.deepcopy(fund)
    steps = []

    def current(index):
        return replace(base[index], qty=qty[index], margin=margin[index])

    def first_trigger(index, k):
        out = np.full(index.size, np.inf)
        live = is_open[index]
        if k < m.size and live.any():
            hit = np.asarray(current(index[live]).health(m[k:, None])) <= 0
            out[live] = np.where(hit.any(axis=0), k + np.argmax(hit, axis=0), np.inf)
        return out

    def settle(i, e):
        if e.contracts_closed == 0:
            return wf.Step(i, e, 0.0, 0.0, 0.0, None, 0.0)
        shortfall = ledger.record(e.time, e.surplus, f"trader {i}: {e.action}")
        if shortfall == 0:
            return wf.Step(i, e, e.surplus, 0.0, e.contracts_closed, None, 0.0)
        to_adl = float(tm.adl.adl_qty(e.contracts_closed, shortfall, e.surplus))
        side = float(base.side[i])
        others = np.flatnonzero(is_open & (np.arange(qty.size) != i))
        if others.size:
            others = others[tm.adl.candidates(current(others), e.mark, side)]
        if others.size == 0:
            return wf.Step(i, e, e.surplus + shortfall, shortfall, e.contracts_closed, None, shortfall)
        pool = current(others)
        d = tm.adl.deleverage(side, to_adl, e.settlement_price, pool.qty, pool.entry,
                              tm.adl.scores(pool, e.mark, ranking), contract=base.table.contract)
        who = others[d.who]
        share = d.qty / qty[who]
        cash[who] += margin[who] * share + d.pnl
        margin[who] -= margin[who] * share
        qty[who] -= d.qty
        is_open[who] = qty[who] > 0
        return wf.Step(i, e, e.surplus + shortfall, shortfall, e.contracts_closed - to_adl + d.unmatched,
                       d._replace(who=who), shortfall * d.unmatched / to_adl)

    trigger = first_trigger(np.arange(qty.size), 0)
    while np.isfinite(k := trigger.min()):
        k = int(k)
        for i in np.flatnonzero(trigger == k).tolist():
            if trigger[i] != k:
                continue
            log = liquidate(current(np.intp(i)), t[k:k + 1], m[k:k + 1], policy, fraction, execution,
                            settlement=settlement, last_partial=last_partial[i])
            last_partial[i] = log.last_partial
            cash[i] += log.returned
            changed = [i]
            for e in log.events:
                steps.append(settle(i, e))
                if steps[-1].deleveraged is not None:
                    changed.extend(steps[-1].deleveraged.who.tolist())
            qty[i] = 0.0 if log.final is None else float(log.final.qty)
            margin[i] = 0.0 if log.final is None else float(log.final.margin)
            is_open[i] = log.final is not None
            touched = np.unique(changed)
            trigger[touched] = first_trigger(touched, k + 1)
    return wf.Waterfall(tuple(steps), ledger, base, qty, margin, cash)


def assert_same(a, b):
    """Two waterfalls equal to the last bit: every step, the ledger, the final positions and cash."""
    assert len(a.steps) == len(b.steps)
    for x, y in zip(a.steps, b.steps):
        fields = ("trader", "event", "fund", "shortfall", "to_market", "uncovered")
        assert [getattr(x, f) for f in fields] == [getattr(y, f) for f in fields]
        assert (x.deleveraged is None) == (y.deleveraged is None)
        for field in () if x.deleveraged is None else tm.adl.Deleveraging._fields:
            np.testing.assert_array_equal(getattr(x.deleveraged, field), getattr(y.deleveraged, field), strict=True)
    assert a.fund.entries == b.fund.entries
    for field in ("qty", "margin", "cash"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), strict=True)
    np.testing.assert_array_equal(a.start.qty, b.start.qty)


def relapses(w):
    """Traders liquidated after ADL took part of their position (their liquidation is not the schedule's)."""
    hit, out = set(), set()
    for s in w.steps:
        out |= {s.trader} & hit
        hit |= set() if s.deleveraged is None else set(s.deleveraged.who.tolist())
    return out


FUNDS = (1e7, 100.0, 3_000.0, 1e7, 100.0, 30_000.0)  # rich, dry, in between, and again: the schedule is reused


@pytest.mark.parametrize("seed, crash, policy, ranking, drawdown, settlement", [
    (0, 0.15, "one-tier", "pnl-leverage", None, None), (3, 0.15, "fraction", "binance", None, None),
    (7, -0.2, "full", "hyperliquid", None, None), (6, 0.3, "lowest-sufficient", "pnl-leverage", 0.5, None),
    (5, -0.2, preset("hyperliquid"), "binance", 0.3, None), (2, 0.15, "hyperliquid", "hyperliquid", None, None),
    (4, 0.2, "one-tier", "pnl-leverage", None, "fill"), (1, 0.15, "hyperliquid", "binance", None, "bankruptcy")])
def test_a_schedule_settles_every_fund_exactly_as_the_reference_run(seed, crash, policy, ranking, drawdown, settlement):
    pop = wf.traders(BTC, 60, 60_000, seed=seed)
    times, marks = wf.crash_path(depth=crash, seed=seed, step=300)
    execution = Execution("impact", 1e6)
    fraction = 0.2 if policy == "fraction" else None
    day = wf.Schedule(pop, times, marks, policy, fraction, execution, settlement)
    adl_runs, relapsed = 0, 0
    for fund in FUNDS:
        start = tm.RiskFund(fund, drawdown=drawdown)
        w = day.run(start, ranking)
        assert_same(w, reference_run(pop, times, marks, tm.RiskFund(fund, drawdown=drawdown), policy, fraction,
                                     execution, ranking, settlement))
        assert_same(w, wf.run(pop, times, marks, start, policy, fraction, execution, ranking, settlement))
        assert start.entries == ()  # the fund passed in is copied
        adl_runs += w.summary()["contracts deleveraged"] > 0
        relapsed += bool(relapses(w))
    assert 0 < adl_runs < len(FUNDS)  # the dry funds run into ADL, the rich ones do not
    if seed == 0:
        assert relapsed  # a trader deleveraged, then liquidated: computed afresh, not taken from the schedule


def test_the_explorers_day_on_a_schedule_is_the_reference_run():
    pop = wf.traders(BTC, 200, 60_000, seed=0)
    times, marks = wf.crash_path()
    execution = Execution("impact", 2e7)
    day = wf.Schedule(pop, times, marks, execution=execution)
    for fund in (1e5, 1e2, 1e4, 2e4, 5e4, 1e6):
        assert_same(day.run(tm.RiskFund(fund)), reference_run(pop, times, marks, tm.RiskFund(fund), execution=execution))


@settings(max_examples=examples(10), deadline=None)
@given(seed=st.integers(0, 10_000), funds=st.lists(st.floats(0, 100_000), min_size=2, max_size=4),
       depth=st.floats(5e5, 5e7), crash=st.floats(-0.3, 0.3), policy=st.sampled_from(POLICIES),
       ranking=st.sampled_from(["pnl-leverage", "binance", "hyperliquid"]), settlement=st.sampled_from(SETTLEMENTS),
       step=st.sampled_from([10.0, 600.0]))
def test_a_schedule_matches_the_reference_run_on_any_day(seed, funds, depth, crash, policy, ranking, settlement, step):
    """Marks 10 s apart put Hyperliquid's 30 s cooldown across samples (the last partial carried over)."""
    pop = wf.traders(BTC, 30, 60_000, seed=seed)
    short = {"start": 1_800.0, "duration": 3_600.0, "length": 7_200.0} if step < 60 else {}
    times, marks = wf.crash_path(depth=crash, seed=seed, step=step, **short)
    fraction = 0.25 if policy == "fraction" else None
    day = wf.Schedule(pop, times, marks, policy, fraction, Execution("impact", depth), settlement)
    for fund in funds:
        assert_same(day.run(tm.RiskFund(fund), ranking),
                    reference_run(pop, times, marks, tm.RiskFund(fund), policy, fraction, Execution("impact", depth),
                                  ranking, settlement))


def test_a_schedules_bad_input():
    pop = wf.traders(BTC, 5, 60_000)
    day = wf.Schedule(pop, [0.0, 1.0], [60_000.0, 59_000.0])
    with pytest.raises(ValueError, match="ranking"):
        day.run(tm.RiskFund(0), ranking="bybit")
    with pytest.raises(TypeError, match="fund must be a RiskFund"):
        day.run(5.0)
    with pytest.raises(ValueError, match="policy"):
        wf.Schedule(pop, [0.0], [60_000.0], policy="half")
    with pytest.raises(TypeError, match="IsolatedPosition"):
        wf.Schedule(pop.qty, [0.0], [60_000.0])


def test_bad_arguments_are_refused_before_any_liquidation():
    # Issue 19 #10: a bad execution used to pass until a trader was liquidated.
    p = tm.IsolatedPosition.open(tm.load_table("binance-usdm-btcusdt-2021"), "long", [1.0, 2.0], 60_000, 5)
    with pytest.raises(TypeError, match="execution must be an Execution"):
        wf.run(p, [0, 1], [60_000, 59_000], tm.RiskFund(0), execution="impact")
