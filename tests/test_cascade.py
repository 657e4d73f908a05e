"""The cascade engine and its order book: formulas, the liquidation procedure trader by trader, money,
monotonicity, reproducibility, comparisons and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from strategies import examples

from tiermargin import IsolatedPosition, TierTable
from tiermargin import cascade as cs
from tiermargin.liquidation import Execution, liquidate
from tiermargin.markprice import basis_moving_average
from tiermargin.orderbook import Book
from tiermargin.riskfund import HOUR, RiskFund
from tiermargin.rules import Rulebook
from tiermargin.waterfall import run as waterfall

SHORT = dict(duration=2 * HOUR, step=60.0)  # a two-hour run keeps the property tests quick
VENUES = ("binance-usdm", "hyperliquid", "okx", "bitmex")
POLICY = {"binance-usdm": "one-tier"}  # Binance's rulebook names no procedure


def _run(rules, pop, shock, book, **kw):
    return cs.run(pop, shock, book, policy=kw.pop("policy", POLICY.get(rules)), **{**SHORT, **kw})


# ---------------------------------------------------------------------- the book
def test_book_moves_fills_and_recovers_as_its_formulas_say():
    b = Book(depth=5_000_000, half_life=120)
    v = np.array([1e6, -2e6, 3e7])
    assert np.allclose(b.move(v), -v / 5e8)
    assert np.allclose(b.fill(100.0, v), 100.0 * np.exp(-v / 1e9))
    assert b.recovery(240) == pytest.approx(0.25)
    drop = 0.1
    assert 100 * math.exp(float(b.move(b.order_for(drop)))) == pytest.approx(90.0)


def test_an_infinite_book_has_no_impact_and_a_book_never_recovers_with_an_infinite_half_life():
    assert not Book(math.inf).has_impact and Book(1e6).has_impact
    assert float(Book(math.inf).move(1e12)) == 0.0
    assert Book(1e6, math.inf).recovery(1e9) == 1.0


@pytest.mark.parametrize("kw, name", [({"depth": -1.0}, "depth"), ({"depth": 0}, "depth"),
                                      ({"depth": float("nan")}, "depth"), ({"half_life": -5}, "half_life"),
                                      ({"depth": True}, "depth"), ({"depth": "deep"}, "depth")])
def test_bad_books_are_refused_naming_the_parameter(kw, name):
    with pytest.raises((ValueError, TypeError), match=name):
        Book(**kw)


# ---------------------------------------------------------------------- shocks and populations
@pytest.mark.parametrize("size", [1.0, 1.5, 0.0, -0.1, float("nan")])
def test_a_drop_of_100_percent_or_more_or_none_is_refused(size):
    with pytest.raises(ValueError, match="size"):
        cs.Shock("market", size)


def test_shock_kind_time_and_whale_size_are_checked():
    with pytest.raises(ValueError, match="kind"):
        cs.Shock("meteor", 0.1)
    with pytest.raises(ValueError, match="at"):
        cs.Shock("venue", 0.1, at=-1)
    with pytest.raises(ValueError, match="size"):
        cs.Shock("whale", -5e6)
    assert cs.Shock("whale", 5e6).order(Book(1e6)) == 5e6
    assert cs.Shock("market", 0.2).order(Book(1e6)) == 0.0


def test_an_empty_population_is_refused():
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        cs.population("hyperliquid", 0)


@pytest.mark.parametrize("kw, name", [({"cross_share": 1.5}, "cross_share"), ({"wallet": 0.5}, "wallet"),
                                      ({"median_usd": -1}, "median_usd"), ({"price": 0}, "price")])
def test_bad_population_parameters_are_refused(kw, name):
    with pytest.raises(ValueError, match=name):
        cs.population("hyperliquid", 10, **kw)


def test_a_population_is_reproducible_from_its_seed_and_cross_traders_hold_larger_wallets():
    a, b, c = (cs.population("hyperliquid", 400, seed=s) for s in (3, 3, 4))
    assert np.array_equal(a.positions.qty, b.positions.qty) and np.array_equal(a.cross, b.cross)
    assert not np.array_equal(a.positions.qty, c.positions.qty)
    p = a.positions
    initial = np.asarray(p.value(p.entry)) / p.leverage
    assert np.allclose(p.margin[~a.cross], initial[~a.cross])
    assert np.all(p.margin[a.cross] >= initial[a.cross] * (1 - 1e-12)) and a.cross.any() and (~a.cross).any()


def test_with_table_keeps_the_traders_and_refuses_another_contract():
    pop = cs.population("hyperliquid", 50)
    flat = pop.with_table(cs.flat_table(pop.table, 0.01))
    assert np.array_equal(flat.positions.margin, pop.positions.margin) and flat.table.n_tiers == 1
    with pytest.raises(ValueError, match="contract"):
        pop.with_table(cs.population("okx", 5).table)


# ---------------------------------------------------------------------- the procedure, trader by trader
@pytest.mark.parametrize("rules, policy, settlement", [
    ("binance-usdm", "one-tier", None), ("binance-usdm", "two-tiers", None), ("binance-usdm", "lowest-sufficient", None),
    ("binance-usdm", "full", None), ("hyperliquid", None, None), ("okx", None, None), ("bitmex", None, None),
    ("binance-usdm", "lowest-sufficient", "fill"), ("okx", "two-tiers", "fill"), ("hyperliquid", "hyperliquid", "bankruptcy"),
    ("binance-usdm", "hyperliquid", None)])
def test_without_impact_each_trader_is_liquidated_as_liquidate_does_it(rules, policy, settlement):
    """Infinitely deep book, liquidation on the last price, a fund that never runs dry: every trader's
    steps are those of :func:`liquidate` on the same path with fills at the mark, under either settlement
    (a fill at the mark: no slippage to settle after the batch)."""
    pop = cs.population(rules, 150, seed=5)
    fund = 1e9  # never runs dry, and small enough that the fund's rounding stays far below the results
    procedure = {"policy": policy or pop.rules, **({"settlement": settlement} if settlement else {})}
    c = cs.run(pop, cs.Shock("market", 0.12, at=HOUR), Book(math.inf), **procedure,
               mark="last", fund=fund, baseline=False, **SHORT)
    assert c.adl.sum() == 0 and np.allclose(c.last, c.mark)
    closed, result, first = np.zeros(len(pop)), 0.0, np.full(len(pop), -1)
    margin, cash = pop.positions.margin.copy(), np.zeros(len(pop))
    for i in range(len(pop)):
        log = liquidate(pop.positions[i], c.times, c.mark, execution=Execution("mark"), **procedure)
        closed[i] = sum(e.contracts_closed for e in log.events)
        result += log.fund_result
        margin[i] = float(log.final.margin) if log.final else 0.0
        cash[i] = log.returned
        if log.events:
            first[i] = int(np.searchsorted(c.times, log.events[0].time))
    assert np.array_equal(first, c.first)
    assert np.allclose(pop.positions.qty - c.qty, closed, rtol=1e-9, atol=0)
    assert c.fund[-1] - fund == pytest.approx(result, rel=1e-9, abs=1e-5)
    np.testing.assert_allclose(c.margin, margin, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(c.cash, cash, rtol=1e-9, atol=1e-6)  # what a close at the fill leaves is paid back
    if policy is None and rules == "hyperliquid":  # positions of 100k or less close in full, at the fill
        assert cash.sum() > 0
    assert (c.first >= 0).sum() > 10  # the shock liquidated enough traders for the comparison to mean something


@pytest.mark.parametrize("rules, policy", [("binance-usdm", "one-tier"), ("hyperliquid", None)])
def test_without_impact_the_cascade_is_the_waterfall_on_its_own_path(rules, policy):
    """The engines agree where their models do: no impact, a fund that never runs dry. The waterfall (per
    trader, per event) along the cascade's mark path, fills at the mark, liquidates the same traders at the same
    marks, leaves the same positions and books the same fund result."""
    pop = cs.population(rules, 400, seed=9)
    fund = 1e9
    c = cs.run(pop, cs.Shock("market", 0.1, at=HOUR), Book(math.inf), policy=policy or pop.rules, mark="last",
               fund=fund, baseline=False, **SHORT)
    w = waterfall(pop.positions, c.times, c.mark, RiskFund(fund), policy or pop.rules, execution=Execution("mark"))
    assert w.summary()["traders liquidated"] == (c.first >= 0).sum() > 20
    assert {s.trader for s in w.steps} == set(np.flatnonzero(c.first >= 0).tolist())
    np.testing.assert_allclose(w.qty, c.qty, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(w.margin, c.margin, rtol=1e-9, atol=1e-9)
    assert w.fund.balance == pytest.approx(c.fund[-1], rel=1e-12, abs=1e-5)


def test_the_mark_is_index_plus_the_basis_moving_average_and_last_price_liquidation_uses_the_last():
    pop = cs.population("hyperliquid", 300, seed=2)
    c = cs.run(pop, cs.Shock("venue", 0.1, at=HOUR), Book(2e6, 600), window=600, baseline=False, **SHORT)
    t = c.times - c.times[0]
    assert np.allclose(c.mark, c.index + basis_moving_average(t, c.basis, 600), rtol=1e-12, atol=1e-6)
    opening = c.index + c.basis
    k = int(np.searchsorted(t, HOUR))
    assert opening[k] / c.last[k - 1] == pytest.approx(0.9, rel=2e-2)  # the venue drop (plus a minute's walk)
    assert c.mark[k] > opening[k]  # the smoothed mark sees a tenth of it
    on_last = cs.run(pop, cs.Shock("venue", 0.1, at=HOUR), Book(2e6, 600), mark="last", baseline=False, **SHORT)
    assert np.allclose(on_last.mark, on_last.index + on_last.basis)
    assert on_last.notional.sum() > c.notional.sum()  # smoothing damps this venue-only cascade


def test_the_index_follows_the_venue_by_the_arbitrage_coefficient():
    pop = cs.population("hyperliquid", 200, seed=1)
    for beta in (0.0, 0.5, 1.0):
        c = cs.run(pop, cs.Shock("venue", 0.2, at=HOUR), Book(1e6), arbitrage=beta, baseline=False, **SHORT)
        opening = c.index + c.basis
        fair = c.index / (opening / c.index) ** (beta / (1 - beta)) if beta < 1 else None
        if beta == 0.0:
            assert np.allclose(np.log(c.index[1:] / c.index[:-1]).std(), np.log(c.index[1:] / c.index[:-1]).std())
        if fair is not None and beta > 0:
            # ln(index/fair) = beta·ln(last/fair) with ln(last/fair) = ln(opening/index)/(1 − beta)
            d = np.log(opening / c.index) / (1 - beta)
            assert np.allclose(np.log(c.index / fair), beta * d)
        if beta == 1.0:
            assert np.allclose(c.basis, 0.0, atol=1e-6)


# ---------------------------------------------------------------------- money
def _wealth_gap(c: cs.Cascade) -> tuple[float, float]:
    """Everyone's wealth at the final mark minus what it would be had nothing happened, and the scale."""
    p = c.population.positions
    ct, m = p.table.contract, float(c.mark[-1])
    traders_now = np.sum(c.margin + c.cash + np.asarray(ct.upnl(p.side, c.qty, p.entry, m)))
    market = np.sum(np.asarray(ct.upnl(1.0, np.ones_like(c.fill), c.fill, m)) * c.market)  # long what it bought
    before = np.sum(p.margin + np.asarray(ct.upnl(p.side, p.qty, p.entry, m))) + c.start_fund
    scale = float(np.sum(p.margin)) + c.start_fund
    return float(traders_now + c.fund[-1] + market - c.uncovered.sum() - before), scale


@settings(max_examples=examples(25), deadline=None)
@given(rules=st.sampled_from(VENUES), kind=st.sampled_from(["market", "venue", "whale"]),
       size=st.floats(0.01, 0.4), depth=st.sampled_from([3e5, 3e6, 3e7, math.inf]),
       fund=st.sampled_from([0.0, 1.0, 1e3, 1e9]), mark=st.sampled_from(["smoothed", "last"]),
       seed=st.integers(0, 50), steps=st.integers(1, 120), settlement=st.sampled_from(["bankruptcy", "fill"]),
       step=st.sampled_from([10.0, 60.0]))
def test_money_is_conserved_at_every_step(rules, kind, size, depth, fund, mark, seed, steps, settlement, step):
    """Traders' equity (and cash paid out) + fund + the market's fills − the venue's uncovered loss = what
    everyone would hold had nothing happened, after any number of steps (the run up to step k is the prefix
    of a longer one), under either settlement; marks 10 s apart bring Hyperliquid's 30 s cooldown across steps."""
    assume(not (kind == "venue" and math.isinf(depth)))  # a venue's own sale needs a book it can move
    pop = cs.population(rules, 120, seed=seed)
    shock = cs.Shock(kind, size * 5e7 if kind == "whale" else size, at=min(10 * step, step * steps / 2))
    c = cs.run(pop, shock, Book(depth), policy=POLICY.get(rules, pop.rules.policy), settlement=settlement, mark=mark,
               fund=fund, baseline=False, duration=step * steps, step=step, seed=seed)
    gap, scale = _wealth_gap(c)
    assert abs(gap) <= 1e-9 * scale
    assert np.all(c.fund >= 0) and np.all(c.uncovered >= 0) and np.all(c.qty >= 0) and np.all(c.margin >= 0)
    assert np.all(np.isfinite(c.last)) and np.all(np.isfinite(c.mark)) and np.all(c.last > 0)


def test_at_the_fill_a_batch_that_would_leave_kept_contracts_no_margin_closes_them_and_is_priced_again():
    """Two longs of 10 at 100 on 0.5 of margin, liquidated in profit at 101 (the example of
    ``test_liquidation``): as if filled at the mark they keep 1.25 contracts each. In a book of 100 USD per 1 %
    the batch fills so low that the kept contracts would have no margin: they are closed too, the batch priced
    again with all 20 contracts, and money is conserved."""
    t = TierTable.from_rows([[0, 100, 0.01, 50], [100, None, 0.2, 4]])
    positions = IsolatedPosition(t, [1.0, 1.0], [10.0, 10.0], [100.0, 100.0], [0.5, 0.5], [4.0, 4.0])
    pop = cs.Population(positions, np.array([False, False]),
                        Rulebook("x", "X", None, policy="fraction", fraction=0.5, settlement="fill"))
    run = dict(mark="last", fund=1e6, duration=120.0, step=60.0, volatility=0.0, price=101.0, baseline=False)
    deep = cs.run(pop, cs.Shock("market", 0.01, at=60.0), Book(1e9), **run)
    np.testing.assert_allclose(deep.qty, 1.25)
    np.testing.assert_allclose(deep.margin, 0.5 + 8.75, rtol=1e-6)  # the margin plus the PnL realized near 101
    thin = cs.run(pop, cs.Shock("market", 0.01, at=60.0), Book(100.0), **run)
    np.testing.assert_array_equal(thin.qty, 0.0)
    assert thin.closed[0] == 20.0 and thin.fill[0] == pytest.approx(101 * math.exp(-20 * 101 / 2e4))
    assert thin.cash.sum() == 0 and thin.fund[0] < 1e6
    gap, scale = _wealth_gap(thin)
    assert abs(gap) <= 1e-9 * scale


def test_a_fund_that_runs_dry_hands_the_loss_to_adl():
    pop = cs.population("hyperliquid", 1_000, seed=4)
    dry = cs.run(pop, cs.Shock("market", 0.15, at=HOUR), Book(5e6), fund=0.0, baseline=False, **SHORT)
    assert dry.adl.sum() > 0 and dry.adl_fills.sum() > 0 and dry.fund[-1] >= 0
    rich = cs.run(pop, cs.Shock("market", 0.15, at=HOUR), Book(5e6), fund=1e12, baseline=False, **SHORT)
    assert rich.adl.sum() == 0
    gap, scale = _wealth_gap(dry)
    assert abs(gap) <= 1e-9 * scale


# ---------------------------------------------------------------------- monotone in the shock
@settings(max_examples=examples(15), deadline=None)
@given(rules=st.sampled_from(VENUES), small=st.floats(0.01, 0.2), more=st.floats(0.001, 0.2),
       depth=st.sampled_from([math.inf, 1e7]), seed=st.integers(0, 20))
def test_a_larger_market_drop_liquidates_every_long_a_smaller_one_does(rules, small, more, depth, seed):
    """Without impact the larger drop's path lies below the smaller one's from the shock on, so every long
    liquidated by the smaller drop is liquidated by the larger (liquidating on the last price, which with
    impact also only falls further when more longs are sold)."""
    pop = cs.population(rules, 200, seed=seed)
    runs = [cs.run(pop, cs.Shock("market", s, at=HOUR), Book(depth), policy=POLICY.get(rules), mark="last",
                   fund=1e12, baseline=False, **SHORT) for s in (small, small + more)]
    longs = pop.positions.side > 0
    a, b = ((r.first >= 0) & longs for r in runs)
    assert np.all(b[a])


# ---------------------------------------------------------------------- summary, comparisons, sweep
def test_the_multiplier_is_the_ratio_to_a_run_without_impact():
    pop = cs.population("hyperliquid", 800, seed=6)
    shock, book = cs.Shock("whale", 3e7, at=HOUR), Book(2e6)
    c = cs.run(pop, shock, book, mark="last", **SHORT)
    calm = cs.run(pop, shock, Book(math.inf, book.half_life), mark="last", baseline=False, **SHORT)
    assert c.baseline == pytest.approx(calm.notional.sum())
    expected = (3e7 + c.notional.sum()) / (3e7 + calm.notional.sum())
    assert c.multiplier == pytest.approx(expected) and c.summary()["cascade multiplier"] == pytest.approx(expected)
    assert c.multiplier > 1  # a thin book and liquidation on the last price cascade
    assert cs.run(pop, shock, book, baseline=False, **SHORT).multiplier is None


def test_summary_and_table_agree_with_the_arrays():
    pop = cs.population("hyperliquid", 500, seed=7)
    c = cs.run(pop, cs.Shock("market", 0.1, at=HOUR), Book(3e6), baseline=False, **SHORT)
    s = c.summary()
    assert s["traders liquidated"] == np.count_nonzero(c.first >= 0) == np.count_nonzero(c.qty < pop.positions.qty)
    rows = c.table()
    assert len(rows) == np.count_nonzero(c.closed > 0) and rows
    assert sum(r["notional liquidated"] for r in rows) == pytest.approx(s["notional liquidated (USD)"])
    assert s["fund loss"] == pytest.approx(max(c.start_fund - c.fund[-1], 0))
    assert len(c.table(only_active=False)) == c.times.size == 121
    assert "Cascade(10% market-wide drop" in repr(c) and "<table>" in c._repr_html_()


def test_comparisons_run_the_variants_they_name():
    pop = cs.population("hyperliquid", 300, seed=8)
    t = pop.table
    tiers = cs.variants(pop, "tiers")
    same_margins = [v[0] for k, v in tiers.items() if k not in ("tiered", cs.NO_TIERS)]
    assert all(np.array_equal(p.positions.margin, pop.positions.margin) for p in same_margins)
    w = np.asarray(t.contract.usd_value(pop.positions.qty, pop.positions.entry))
    size = np.asarray(t.contract.value(pop.positions.qty, pop.positions.entry))
    average = float(np.sum(np.asarray(t.rate(size)) * w) / w.sum())
    assert sorted(float(p.table.mmr[0]) for p in same_margins) == pytest.approx(sorted([float(t.mmr[0]), average]))
    assert [v[0].table.form for v in cs.variants(pop, "form").values()] == ["continuous", "step"]
    policy = cs.variants(pop, "policy")  # the rulebook's own procedure (Hyperliquid's), both settled at the fill
    assert list(policy) == ["stepwise (hyperliquid)", "full"]
    assert [v[1] for v in policy.values()] == [{"policy": pop.rules}, {"policy": "full", "settlement": "fill"}]
    assert cs.variants(pop, "policy", policy="one-tier")["stepwise (one-tier)"][1] == {"policy": "one-tier",
                                                                                      "settlement": "fill"}
    books = [v[1]["book"].depth for v in cs.variants(pop, "book", Book(4e6)).values()]
    assert books == [4e6, 4e5]
    with pytest.raises(ValueError, match="axis"):
        cs.variants(pop, "colour")
    with pytest.raises(ValueError, match="policy"):
        cs.variants(pop, "policy", policy="full")


def test_no_tiers_is_the_same_draw_with_tier_1s_leverage_at_every_size():
    pop = cs.population("binance-usdm", 3_000, seed=2)
    t = pop.table
    free = cs.variants(pop, "tiers")[cs.NO_TIERS][0]
    p, q = pop.positions, free.positions
    assert free.table.n_tiers == 1 and free.table.mmr[0] == t.mmr[0] and free.table.max_leverage[0] == t.max_leverage[0]
    for field in ("side", "qty", "entry"):
        assert np.array_equal(getattr(p, field), getattr(q, field))
    assert np.array_equal(pop.cross, free.cross)
    capped = np.asarray(t.max_leverage_at(t.size_of(p.qty, p.entry))) < 50  # where the tiers cap the leverage
    assert capped.any() and np.all(q.leverage[capped] > p.leverage[capped])
    assert np.array_equal(q.leverage[~capped], p.leverage[~capped])  # elsewhere the same draw, the same leverage
    with pytest.raises(ValueError, match="not drawn by population"):
        cs.Population(p, pop.cross, pop.rules).redrawn(free.table)
    assert cs.NO_TIERS not in cs.variants(cs.Population(p, pop.cross, pop.rules), "tiers")


def test_without_tiers_a_large_market_cascades_further_and_costs_the_fund_more():
    """Lesson 07's finding on one seed: 10,000 traders, a book of 20M USD per 1 %, a 2 % drop."""
    pop = cs.population("binance-usdm", 10_000, seed=1)
    runs = cs.compare(pop, "tiers", cs.Shock("market", 0.02), Book(2e7), policy="one-tier")
    tiered, free = runs["tiered"].summary(), runs[cs.NO_TIERS].summary()
    assert free["notional liquidated (USD)"] > 1.3 * tiered["notional liquidated (USD)"]
    assert free["cascade multiplier"] > tiered["cascade multiplier"] + 0.1
    assert free["fund loss"] > 2 * tiered["fund loss"] > 0


def test_flat_versus_tiered_is_reproducible_from_a_seed_and_differs_between_seeds():
    def once(seed):
        pop = cs.population("binance-usdm", 400, seed=seed)  # many tiers (Hyperliquid's traders all sit in one)
        runs = cs.compare(pop, "tiers", cs.Shock("market", 0.1, at=HOUR), Book(2e6), policy="one-tier", seed=seed,
                          **SHORT)
        return {k: v.summary() for k, v in runs.items()}

    a, b, c = once(11), once(11), once(12)
    assert a == b and a != c
    assert len({r["notional liquidated (USD)"] for r in a.values()}) > 1  # the variants do differ


def test_sweep_returns_one_row_a_run():
    rows = cs.sweep("hyperliquid", "mark", [cs.Shock("venue", 0.05, at=HOUR), cs.Shock("venue", 0.1, at=HOUR)],
                    seeds=(0, 1), n=100, baseline=False, **SHORT)
    assert len(rows) == 2 * 2 * 2
    assert {(r["seed"], r["shock size"], r["variant"]) for r in rows} == {
        (s, x, v) for s in (0, 1) for x in (0.05, 0.1) for v in ("smoothed mark", "last price")}
    with pytest.raises(ValueError, match="seeds"):
        cs.sweep("hyperliquid", "mark", [cs.Shock()], seeds=())
    with pytest.raises(ValueError, match="shocks"):
        cs.sweep("hyperliquid", "mark", [], n=10)


# ---------------------------------------------------------------------- bad input to run
@pytest.mark.parametrize("kw, name", [({"window": 0}, "window"), ({"arbitrage": 1.5}, "arbitrage"),
                                      ({"mark": "index"}, "mark"), ({"fund": -1.0}, "fund"),
                                      ({"step": 0}, "step"), ({"duration": 60.0, "step": 1e-5}, "step"),
                                      ({"ranking": "random"}, "ranking"), ({"policy": "all-at-once"}, "policy"),
                                      ({"volatility": -0.1}, "volatility"), ({"seed": -1}, "seed")])
def test_bad_run_arguments_are_refused_naming_the_parameter(kw, name):
    pop = cs.population("hyperliquid", 20)
    with pytest.raises(ValueError, match=name):
        cs.run(pop, cs.Shock(at=60), Book(), **{"duration": 3_600.0, **kw})


def test_run_refuses_wrong_types_a_late_shock_and_a_rulebook_without_policy():
    pop = cs.population("hyperliquid", 20)
    with pytest.raises(TypeError, match="population"):
        cs.run(pop.positions)
    with pytest.raises(TypeError, match="shock"):
        cs.run(pop, 0.1)
    with pytest.raises(TypeError, match="book"):
        cs.run(pop, cs.Shock(), 1e6)
    with pytest.raises(ValueError, match="shock"):
        cs.run(pop, cs.Shock(at=3 * HOUR), duration=HOUR)
    with pytest.raises(ValueError, match="policy"):
        cs.run(cs.population("binance-usdm", 20), cs.Shock(at=60), duration=HOUR)


def test_a_fund_passed_in_is_copied_not_changed():
    fund = RiskFund(1_000.0)
    pop = cs.population("hyperliquid", 300, seed=2)
    c = cs.run(pop, cs.Shock("market", 0.2, at=HOUR), Book(1e6), fund=fund, baseline=False, **SHORT)
    assert fund.entries == () and c.ledger is not fund and c.ledger.entries


def test_time_to_inverts_the_books_recovery():
    book = Book(half_life=45)
    for left in (0.9, 0.5, 0.25, 1e-6):
        assert book.recovery(book.time_to(left)) == pytest.approx(left, rel=1e-12)
    assert book.time_to(0.5) == pytest.approx(45)
    assert Book(half_life=math.inf).time_to(0.5) == math.inf
    with pytest.raises(ValueError, match="left"):
        book.time_to(0.0)


def test_a_venue_drop_needs_a_book_an_order_can_move():
    """A 'venue' shock's own sale on an infinitely deep book would be infinite (multiplier inf/inf = NaN
    before issue 16's sweep): refused, while a market-wide drop in such a book is a run without impact."""
    pop = cs.population("hyperliquid", 20, seed=1)
    with pytest.raises(ValueError, match="book must have a finite depth for a 'venue' shock"):
        cs.run(pop, cs.Shock("venue", 0.1, at=600), Book(math.inf), duration=HOUR)
    calm = cs.run(pop, cs.Shock("market", 0.1, at=600), Book(math.inf), duration=HOUR)
    assert math.isfinite(calm.multiplier) and calm.shock_order == 0.0
    with pytest.raises(ValueError, match="step must be at most the duration"):  # the shock would never happen
        cs.run(pop, cs.Shock("market", 0.1, at=600), duration=HOUR, step=2 * HOUR)
