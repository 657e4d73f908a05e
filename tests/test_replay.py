"""Replaying a liquidation log over its path: the position's state at every time, and the engine jumping between triggers."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import positions

import tiermargin as tm
from tiermargin.liquidation import POLICIES, SETTLEMENTS, Execution, liquidate
from tiermargin.replay import PositionPath, replay
from tiermargin.rules import preset
from tiermargin.waterfall import crash_path

BTC = tm.load_table("binance-usdm-btcusdt-2021")
TIMES, MARKS = crash_path(depth=0.08)  # a day, a mark a minute; the whale survives one-tier stepwise


def whale(side="long", leverage=10):
    return tm.IsolatedPosition.open(BTC, side, 200, 60_000, leverage)  # 12M USDT: tier 5


def fraction_of(policy):
    return 0.2 if policy == "fraction" else None


def last_event_per_sample(path: PositionPath):
    """(sample index, the last event at it) for every sample with events."""
    out = {}
    for k, e in enumerate(path.events):
        out[int(np.searchsorted(path.steps, k + 1))] = e  # the first sample whose count includes event k
    return sorted(out.items())


def check_against_log(pos, log, path, marks, orders=0.0):
    """The replay agrees with the log at every event, with the start position before the first
    and with the final position after the last; closed means zeros; open means healthy."""
    assert path.steps[-1] == len(log.events) and np.all(np.diff(path.steps) >= 0)
    for i, e in last_event_per_sample(path):
        assert marks[i] == e.mark
        assert path.contracts[i] == e.contracts_left
        assert path.open[i] == (e.contracts_left > 0)
        if path.open[i]:
            assert path.health[i] == pytest.approx(e.health_after, rel=1e-12, abs=1e-9 * float(pos.margin))
            assert path.tier[i] == e.tier_after
    first = int(np.argmax(path.steps > 0)) if log.events else marks.size
    before = slice(0, first)
    np.testing.assert_array_equal(path.contracts[before], float(pos.qty))
    np.testing.assert_allclose(path.health[before], np.asarray(pos.health(marks[before])) - orders,
                               rtol=1e-12, atol=1e-9 * float(pos.margin))
    np.testing.assert_array_equal(path.tier[before], pos.tier(marks[before]))
    if log.final is None:  # the trader holds what the close paid back (0 settled at the bankruptcy price)
        assert not path.open[-1] and path.equity[-1] == 0.0 and path.cash[-1] == log.trader_equity(marks[-1])
    else:
        assert path.contracts[-1] == float(log.final.qty) and path.margin[-1] == float(log.final.margin)
        assert path.equity[-1] == pytest.approx(log.trader_equity(marks[-1]), rel=1e-12)
    assert np.all(np.diff(path.cash) >= 0) and path.cash[-1] == log.returned
    assert np.all(path.cash[path.open] == 0)  # paid back only on the close
    closed = ~path.open
    for amounts in (path.contracts, path.margin, path.value, path.equity, path.requirement, path.health):
        assert np.all(np.isfinite(amounts)) and np.all(amounts[closed] == 0.0)
    assert np.all(path.tier[closed] == 0) and np.all(path.tier[path.open] >= 1)
    assert np.all(path.health[path.open] > 0)  # the engine steps until the position is healthy
    np.testing.assert_allclose(path.health, path.equity - path.requirement, rtol=1e-9,
                               atol=1e-12 * float(pos.margin + pos.value(pos.entry)))
    assert path.margin[-1] + path.cash[-1] + log.margin_lost == pytest.approx(float(pos.margin), rel=1e-9)


@pytest.mark.parametrize("settlement", SETTLEMENTS)
@pytest.mark.parametrize("policy", POLICIES)
def test_replay_agrees_with_the_log_of_each_policy(policy, settlement):
    pos = whale()
    log = liquidate(pos, TIMES, MARKS, policy, fraction_of(policy), settlement=settlement)
    path = replay(log, TIMES, MARKS)
    check_against_log(pos, log, path, MARKS)
    assert len(log.events) >= 1


def test_a_close_settled_at_the_fill_pays_back_what_it_leaves():
    """Hyperliquid's procedure on a small position (below 100k USDC: closed in full at the first trigger), the
    fill at the mark: the trader gets the equity it had at that mark, and keeps it to the end of the path."""
    pos = tm.IsolatedPosition.open(tm.load_table("hyperliquid-btc-mainnet"), "long", 1, 60_000, 20)
    times, marks = crash_path(depth=0.08)
    log = liquidate(pos, times, marks, "hyperliquid", execution=Execution("mark"))
    (e,) = log.events
    path = replay(log, times, marks)
    i = int(np.searchsorted(times, e.time))
    assert e.action == "close" and e.returned == pytest.approx(float(pos.equity(e.mark)))
    np.testing.assert_array_equal(path.cash[:i], 0.0)
    np.testing.assert_array_equal(path.cash[i:], e.returned)
    check_against_log(pos, log, path, marks)


def test_the_whale_survives_one_tier_and_its_replay_follows_the_recovery():
    pos = whale()
    log = liquidate(pos, TIMES, MARKS, "one-tier")
    path = replay(log, TIMES, MARKS)
    assert log.final is not None and path.open[-1]
    i = int(np.searchsorted(path.steps, len(log.events)))  # the last step's sample
    after = slice(i + 1, None)
    np.testing.assert_allclose(path.equity[after], np.asarray(log.final.equity(MARKS[after])), rtol=1e-12)
    np.testing.assert_array_equal(path.tier[after], log.final.tier(MARKS[after]))
    assert path.health[-1] > path.health[i]  # the price recovered


def test_a_single_full_close():
    pos = whale()
    log = liquidate(pos, TIMES, MARKS, "full")
    path = replay(log, TIMES, MARKS)
    i = int(np.argmax(path.steps > 0))
    assert path.open[:i].all() and not path.open[i:].any()
    assert path.events_until(TIMES[i - 1]) == () and path.events_until(TIMES[i]) == log.events
    assert path.index(TIMES[i] + 30) == i and path.index(TIMES[0] - 1) == 0 and path.index(1e12) == TIMES.size - 1


def test_short_in_a_squeeze_and_a_rulebook_policy():
    times, marks = crash_path(depth=-0.08)
    pos = whale("short")
    log = liquidate(pos, times, marks, preset("okx"))
    path = replay(log, times, marks)
    check_against_log(pos, log, path, marks)
    assert log.events


def test_several_events_at_one_sample_end_in_the_state_after_the_last():
    path_marks = np.array([60_000.0, 53_000.0, 53_000.0, 56_000.0])
    times = np.arange(4.0)
    pos = whale()
    log = liquidate(pos, times, path_marks, "fraction", 0.1)
    path = replay(log, times, path_marks)
    at_1 = [e for e in log.events if e.time == 1.0]
    assert len(at_1) > 1
    assert path.steps[1] == len(at_1) and path.contracts[1] == at_1[-1].contracts_left
    check_against_log(pos, log, path, path_marks)


def test_repeated_times_are_matched_by_mark():
    times = np.array([0.0, 1.0, 1.0, 2.0])
    marks = np.array([60_000.0, 58_000.0, 54_000.0, 54_000.0])
    pos = whale()
    log = liquidate(pos, times, marks, "one-tier")
    path = replay(log, times, marks)
    assert path.steps[1] == 0 and path.steps[2] > 0
    check_against_log(pos, log, path, marks)


def test_open_orders_count_until_cancelled():
    pos = whale()
    orders = 50_000.0
    log = liquidate(pos, TIMES, MARKS, "one-tier", orders_requirement=orders)
    assert log.events[0].action == "cancel orders"
    path = replay(log, TIMES, MARKS, orders_requirement=orders)
    check_against_log(pos, log, path, MARKS, orders)
    c = int(np.argmax(path.steps > 0))
    np.testing.assert_allclose(path.requirement[:c], np.asarray(pos.requirement(MARKS[:c])) + orders)
    assert path.requirement[c] == pytest.approx(float(pos.requirement(MARKS[c])))
    with pytest.raises(ValueError, match="orders_requirement"):
        replay(log, TIMES, MARKS)


def test_orders_never_cancelled_count_throughout():
    pos = whale()
    path_marks = np.full(5, 59_000.0)
    log = liquidate(pos, np.arange(5.0), path_marks, "one-tier", orders_requirement=1_000.0)
    path = replay(log, np.arange(5.0), path_marks, orders_requirement=1_000.0)
    assert not log.events
    np.testing.assert_allclose(path.health, np.asarray(pos.health(path_marks)) - 1_000.0)


def test_bad_input():
    pos = whale()
    log = liquidate(pos, TIMES, MARKS, "one-tier")
    with pytest.raises(ValueError, match="not on this path"):
        replay(log, TIMES + 1.0, MARKS)
    with pytest.raises(ValueError, match="not on this path"):
        replay(log, TIMES, MARKS * 1.01)
    with pytest.raises(ValueError, match="same length"):
        replay(log, TIMES[:-1], MARKS)
    with pytest.raises(ValueError, match="sorted"):
        replay(log, TIMES[::-1], MARKS)
    with pytest.raises(ValueError, match="marks"):
        replay(log, TIMES, -MARKS)
    with pytest.raises(ValueError, match="orders_requirement"):
        replay(log, TIMES, MARKS, orders_requirement=-1)
    with pytest.raises(TypeError, match="LiquidationLog"):
        replay(log.events, TIMES, MARKS)


def chained(pos, times, marks, policy, fraction, execution, orders, settlement=None):
    """The engine fed one sample at a time, carrying the position, the open orders and the last partial
    liquidation: a reference for its jump from trigger to trigger (nothing may happen between triggers)."""
    events, last = [], None
    for k in range(len(times)):
        if pos is None:
            break
        log = liquidate(pos, times[k:k + 1], marks[k:k + 1], policy, fraction, execution, orders, settlement, last)
        events.extend(log.events)
        pos, last = log.final, log.last_partial
        orders = 0.0 if any(e.action == "cancel orders" for e in log.events) else orders
    return tuple(events), pos


@pytest.mark.parametrize("settlement", SETTLEMENTS)
@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("orders", [0.0, 80_000.0])
def test_the_engine_jumping_between_triggers_equals_it_fed_one_sample_at_a_time(policy, orders, settlement):
    pos = whale()
    for times, marks in ((TIMES, MARKS), crash_path(depth=0.2)):
        args = (policy, fraction_of(policy), Execution("impact", 3e7), orders, settlement)
        log = liquidate(pos, times, marks, *args)
        events, final = chained(pos, times, marks, *args)
        assert log.events == events and log.start is pos
        assert (log.final is None) == (final is None)
        if final is not None:
            assert float(log.final.qty) == float(final.qty) and float(log.final.margin) == float(final.margin)


@given(positions(requirement_at="mark"), st.sampled_from(POLICIES), st.floats(0.3, 0.97), st.floats(0.0, 1.0),
       st.sampled_from(["bankruptcy", "mark", "impact"]), st.sampled_from([0.0, 0.3]), st.sampled_from(SETTLEMENTS))
def test_replay_properties(p, policy, drop, recovery, model, orders_share, settlement):
    """A V-shaped path against the position (down to ``drop`` of entry, back up by ``recovery``):
    the replay agrees with the log everywhere, and the engine with itself fed one sample at a time.

    Requirement valued at the mark, as in the engine's own property test: with
    ``requirement_at="entry"`` :func:`liquidate` can compute a negative close (inverse short) or
    loop on tiny reductions (the tier is taken at entry, the target size at the mark)."""
    side = float(p.side)
    entry = float(p.entry)
    bottom = entry * (drop if side > 0 else 1 / drop)
    end = bottom + recovery * (entry - bottom)
    marks = np.concatenate((np.linspace(entry, bottom, 20), np.linspace(bottom, end, 11)[1:]))
    times = np.arange(marks.size, dtype=float)
    assume(not p.is_liquidated(entry))
    orders = orders_share * float(p.health(entry))
    args = (policy, 0.25 if policy == "fraction" else None, Execution(model, 1e6), orders, settlement)
    log = liquidate(p, times, marks, *args)
    path = replay(log, times, marks, orders)
    check_against_log(p, log, path, marks, orders)
    assert chained(p, times, marks, *args)[0] == log.events
