"""Risk fund: the ledger, shortfalls handed to ADL, the drawdown floor, daily reconciliation, bad input."""

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tiermargin as tm
from tiermargin.liquidation import Execution, liquidate
from tiermargin.riskfund import DAY, HOUR, RiskFund, TOLERANCE

UTC8 = timezone(timedelta(hours=8))


def at(*args, tz=UTC8):
    """UTC epoch seconds of a wall-clock time in ``tz``."""
    return datetime(*args, tzinfo=tz).timestamp()


def fund_amounts(fund):
    """Σ amount over the rows that move money in or out of the fund (every kind but "adl")."""
    return sum(e.amount for e in fund.entries if e.kind != "adl")


# ---------------------------------------------------------------- the ledger
def test_surplus_loss_and_uncovered_shortfall():
    fund = RiskFund(1_000)
    assert fund.record(0, 250, "liquidation #1") == 0.0
    assert fund.record(10, -400) == 0.0
    assert fund.balance == 850
    shortfall = fund.record(20, -1_000, "liquidation #3")
    assert shortfall == 150
    assert fund.balance == 0
    assert [(e.kind, e.amount, e.balance_after) for e in fund.entries] == [
        ("surplus", 250, 1_250), ("loss", -400, 850), ("loss", -850, 0), ("adl", -150, 0)]
    assert fund.entries[-1].note == "liquidation #3"
    # An empty fund pays nothing: the whole loss goes to ADL, still booked as a (zero) loss row.
    assert fund.record(30, -70) == 70
    assert [(e.kind, e.amount) for e in fund.entries[-2:]] == [("loss", 0.0), ("adl", -70)]


def test_injection_and_a_fill_exactly_at_bankruptcy():
    fund = RiskFund()
    fund.inject(0, 500, "platform")
    assert fund.record(1, 0.0) == 0.0  # closed exactly at the bankruptcy price: neither surplus nor loss
    assert [(e.kind, e.amount, e.balance_after) for e in fund.entries] == [("injection", 500, 500), ("surplus", 0, 500)]
    assert repr(fund) == "RiskFund(balance 500.00, 2 rows)"


def test_several_rows_at_the_same_time_are_allowed():
    fund = RiskFund(100)
    fund.record(5, 10)
    fund.record(5, -20)
    assert fund.balance == 90


def test_a_liquidation_log_feeds_the_fund():
    # The stepwise engine's events carry the fund's surplus (> 0) or loss (< 0) per step: record each one.
    # A 100 BTC long liquidated into a thin book loses more than a 100,000 fund holds; the rest goes to ADL.
    pos = tm.IsolatedPosition.open(tm.load_table("binance-usdm-btcusdt-2021"), "long", 100, 60_000, 20)
    log = liquidate(pos, np.arange(6) * 60.0, np.linspace(60_000, 54_000, 6), execution=Execution("impact", 2e7))
    fund = RiskFund(100_000)
    shortfalls = [fund.record(e.time, e.surplus, e.action) for e in log.events]
    assert log.fund_result < -100_000
    assert fund.balance == 0
    assert sum(shortfalls) == pytest.approx(-log.fund_result - 100_000)
    assert [e.time for e in fund.entries if e.kind == "adl"] == [e.time for e, s in zip(log.events, shortfalls) if s > 0]


@pytest.mark.parametrize("depth", [5e8, 2e7])
def test_settled_at_the_fill_the_fund_only_pays_where_the_traders_equity_would_go_negative(depth):
    """The same full close settled both ways. At the bankruptcy price the fund books fill − bankruptcy, a surplus
    or a loss; at the fill it books nothing unless the fill is worse than bankruptcy, and then the same loss. The
    trader and the fund share the same total: what one settlement gives the fund, the other pays back."""
    pos = tm.IsolatedPosition.open(tm.load_table("binance-usdm-btcusdt-2021"), "long", 100, 60_000, 20)
    path = np.arange(6) * 60.0, np.linspace(60_000, 56_000, 6)
    logs = {s: liquidate(pos, *path, "full", execution=Execution("impact", depth), settlement=s)
            for s in ("bankruptcy", "fill")}
    (b,), (f,) = (logs[s].events for s in ("bankruptcy", "fill"))
    funds = {s: RiskFund(1_000_000) for s in logs}
    for s, fund in funds.items():
        fund.record(logs[s].events[0].time, logs[s].events[0].surplus)
    assert b.execution_price == f.execution_price
    if b.surplus > 0:  # a fill better than bankruptcy: the trader keeps it
        assert f.surplus == 0 and f.returned == pytest.approx(b.surplus, rel=1e-12)
        assert [e.kind for e in funds["fill"].entries] == ["surplus"] and funds["fill"].balance == 1_000_000
    else:  # worse: the trader's equity would go negative; the fund pays the same loss either way
        assert b.surplus < 0 and f.surplus == pytest.approx(b.surplus, rel=1e-9) and f.returned == 0
        assert f.settlement_price == pytest.approx(b.bankruptcy_price, rel=1e-12)
    assert funds["bankruptcy"].balance + logs["bankruptcy"].returned == pytest.approx(
        funds["fill"].balance + logs["fill"].returned, rel=1e-12)


# ---------------------------------------------------------------- drawdown threshold
def test_drawdown_floor_sends_the_rest_of_a_loss_to_adl():
    # Bybit triggers ADL at a set drawdown of the fund's 8-hour peak; here 30 % of 1,000.
    fund = RiskFund(1_000, drawdown=0.3)
    assert fund.floor(0) == pytest.approx(700)
    assert fund.record(0, -500) == pytest.approx(200)  # pays 300, down to the floor
    assert fund.balance == pytest.approx(700)
    assert fund.record(HOUR, -50) == pytest.approx(50)  # at the floor: nothing more within the window
    # 8 hours later the 1,000 peak has left the window: the peak is the 700 carried in, the floor 490.
    later = 9 * HOUR
    assert fund.floor(later) == pytest.approx(490)
    assert fund.record(later, -300) == pytest.approx(90)
    assert fund.balance == pytest.approx(490)


def test_drawdown_window_is_half_open_on_the_left():
    # The peak is taken over (t − 8 h, t], counting the balance carried in: exactly 8 hours after the loss
    # the start balance of 1,000 is out of the window, the 700 carried in is the peak.
    fund = RiskFund(1_000, drawdown=0.3)
    fund.record(0, -300)
    assert fund.floor(8 * HOUR - 1) == pytest.approx(700)
    assert fund.floor(8 * HOUR) == pytest.approx(490)


def test_drawdown_over_the_whole_history_and_injections_raise_the_peak():
    fund = RiskFund(1_000, drawdown=0.5, drawdown_window=None)
    fund.record(0, -500)
    assert fund.record(100 * DAY, -1) == 1  # the all-time peak still holds the floor at 500
    fund.inject(100 * DAY, 1_500)
    assert fund.floor(100 * DAY) == pytest.approx(1_000)


def test_without_a_threshold_the_floor_is_zero():
    assert RiskFund(1_000).floor(0) == 0.0


# ---------------------------------------------------------------- daily reconciliation
def test_windows_cut_at_16_00_utc_plus_8():
    # CoinW / OKX: every day at 16:00 UTC+8 the surpluses and losses since 16:00 the previous day.
    fund = RiskFund(1_000)
    fund.record(at(2024, 3, 1, 15, 59, 59), 100)  # before the cut: the window opened 29 Feb 16:00
    fund.record(at(2024, 3, 1, 16, 0, 0), -300)   # exactly at the cut: the next window (half-open)
    fund.record(at(2024, 3, 2, 9, 30), -900)      # same window: 800 paid, 100 to ADL
    fund.inject(at(2024, 3, 4, 12, 0), 250)       # 2 March 16:00 – 3 March 16:00 has no rows
    w = fund.reconciliations()
    assert [datetime.fromtimestamp(x.start, UTC8) for x in w] == [
        datetime(2024, 2, 29, 16, tzinfo=UTC8) + timedelta(days=i) for i in range(4)]
    assert all(x.end - x.start == DAY for x in w)
    assert (w[0].surplus, w[0].loss, w[0].net, w[0].balance) == (100, 0, 100, 1_100)
    assert (w[1].surplus, w[1].loss, w[1].adl, w[1].net, w[1].balance) == (0, -1_100, -100, -1_100, 0)
    assert (w[2].net, w[2].balance) == (0, 0)
    assert (w[3].injections, w[3].net, w[3].balance) == (250, 250, 250)


def test_cut_off_hour_and_offset_are_parameters():
    fund = RiskFund()
    fund.inject(at(2024, 3, 1, 23, 59, tz=timezone.utc), 1)
    fund.inject(at(2024, 3, 2, 0, 0, tz=timezone.utc), 1)
    midnight_utc = fund.reconciliations(hour=0, utc_offset=0)
    assert [x.start for x in midnight_utc] == [at(2024, 3, 1, 0, 0, tz=timezone.utc), at(2024, 3, 2, 0, 0, tz=timezone.utc)]
    assert len(fund.reconciliations()) == 1  # both fall between 08:00 UTC cuts
    india = fund.reconciliations(hour=5.5, utc_offset=5.5)  # 05:30 IST = 00:00 UTC
    assert [x.start for x in india] == [x.start for x in midnight_utc]


def test_no_rows_no_windows():
    assert RiskFund(10).reconciliations() == ()


# ---------------------------------------------------------------- properties
operations = st.lists(
    st.tuples(
        st.one_of(st.just(0.0), st.floats(0, 2 * DAY)),  # time step
        st.sampled_from(["record", "record", "inject"]),
        st.floats(-1e6, 1e6),
    ),
    max_size=40,
)
funds = st.builds(
    RiskFund,
    st.floats(0, 1e6),
    st.one_of(st.none(), st.floats(0.05, 0.95)),
    st.one_of(st.none(), st.floats(60, 2 * DAY)),
)


def replay(fund, ops, t0=1.7e9):
    """Apply ``ops``; return the amounts recorded, the injections, and each record's shortfall."""
    t, recorded, injected = t0, [], []
    for dt, op, amount in ops:
        t += dt
        if op == "inject":
            fund.inject(t, abs(amount) + 1)
            injected.append(abs(amount) + 1)
            continue
        before = len(fund.entries)
        floor = fund.floor(t)
        shortfall = fund.record(t, amount)
        new = fund.entries[before:]
        recorded.append(amount)
        assert shortfall >= 0
        assert shortfall == (-new[-1].amount if new[-1].kind == "adl" else 0.0)
        assert fund.balance >= floor - 1e-9 * max(floor, 1)  # never below the floor (0 without a threshold)
    return recorded, injected


@given(funds, operations)
def test_balance_never_negative_and_money_is_conserved(fund, ops):
    recorded, injected = replay(fund, ops)
    tol = TOLERANCE * (fund.start_balance + sum(map(abs, recorded)) + sum(injected) + 1)
    assert all(e.balance_after >= 0 for e in fund.entries)
    assert fund_amounts(fund) == pytest.approx(fund.balance - fund.start_balance, abs=tol)
    # every loss is what the fund paid plus what it handed to ADL
    assert sum(e.amount for e in fund.entries) == pytest.approx(sum(recorded) + sum(injected), abs=tol)
    assert all(e.amount <= 0 for e in fund.entries if e.kind in ("loss", "adl"))


@given(funds, operations, st.floats(0, 23.99), st.floats(-12, 14))
def test_reconciliation_windows_partition_the_ledger(fund, ops, hour, offset):
    recorded, injected = replay(fund, ops)
    windows = fund.reconciliations(hour, offset)
    entries = fund.entries
    if not entries:
        assert windows == ()
        return
    starts, ends = np.array([w.start for w in windows]), np.array([w.end for w in windows])
    np.testing.assert_array_equal(starts[1:], ends[:-1])  # consecutive days
    for e in entries:
        assert np.sum((starts <= e.time) & (e.time < ends)) == 1
    # the cut falls at ``hour`` local time
    phase = (windows[0].start / HOUR + offset - hour) % 24
    assert min(phase, 24 - phase) < 1e-6
    tol = TOLERANCE * (fund.start_balance + sum(map(abs, recorded)) + sum(injected) + 1)
    for kind, field in (("surplus", "surplus"), ("loss", "loss"), ("injection", "injections"), ("adl", "adl")):
        total = sum(e.amount for e in entries if e.kind == kind)
        assert sum(getattr(w, field) for w in windows) == pytest.approx(total, abs=tol)
    assert sum(w.net for w in windows) == pytest.approx(fund.balance - fund.start_balance, abs=tol)
    previous = fund.start_balance
    for w in windows:
        assert previous + w.net == pytest.approx(w.balance, abs=tol)
        previous = w.balance
    assert windows[-1].balance == fund.balance


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, match", [
    (dict(start_balance=-1), "start_balance must be >= 0"),
    (dict(start_balance=float("nan")), "start_balance must be finite"),
    (dict(drawdown=0), "drawdown must be a rate in"),
    (dict(drawdown=1.0), "drawdown must be a rate in"),
    (dict(drawdown=0.3, drawdown_window=0), "drawdown_window must be > 0"),
])
def test_bad_fund_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RiskFund(**kwargs)


@pytest.mark.parametrize("call, match", [
    (lambda f: f.record(200, float("nan")), "amount must be finite"),
    (lambda f: f.record(200, float("inf")), "amount must be finite"),
    (lambda f: f.record(float("inf"), 1), "time must be finite"),
    (lambda f: f.record(99, 1), "time must not go backwards"),
    (lambda f: f.inject(99, 1), "time must not go backwards"),
    (lambda f: f.floor(99), "time must not go backwards"),
    (lambda f: f.inject(200, 0), "amount must be > 0"),
    (lambda f: f.inject(200, -5), "amount must be > 0"),
    (lambda f: f.reconciliations(hour=24), "hour must be in"),
    (lambda f: f.reconciliations(utc_offset=15), "utc_offset must be in"),
])
def test_bad_calls(call, match):
    fund = RiskFund(10)
    fund.record(100, 1)
    with pytest.raises(ValueError, match=match):
        call(fund)
    assert len(fund.entries) == 1  # a refused call leaves the ledger as it was


def test_amount_must_be_a_number():
    with pytest.raises(TypeError, match="amount must be a number"):
        RiskFund().record(0, "12")


def test_reconciliations_over_centuries_are_refused_at_once():
    # Issue 19 #9: rows 1e12 s apart ran past 30 s, 1e15 s apart raised MemoryError.
    from tiermargin.riskfund import MAX_DAYS

    for gap in (1e12, 1e15):
        fund = tm.RiskFund(100)
        fund.record(0, 5)
        fund.record(gap, 5)
        with pytest.raises(ValueError, match=f"at most {MAX_DAYS:,}"):
            fund.reconciliations()
    fund = tm.RiskFund(100)
    fund.record(0, 5)
    fund.record(86_400 * 30, 5)
    assert len(fund.reconciliations()) == 31


def test_a_loss_splits_into_rows_that_add_up_to_it_within_rounding():
    # Issue 19 #11: the documented tolerance. 0.1 paid, 0.35 to ADL: the rows add to −0.45 within 1 ulp.
    import math

    fund = tm.RiskFund(0.1)
    assert fund.record(0, -0.45) == pytest.approx(0.35)
    rows = [e.amount for e in fund.entries]
    assert [e.kind for e in fund.entries] == ["loss", "adl"] and rows[0] == -0.1
    assert abs(sum(rows) - (-0.45)) <= 2 * math.ulp(0.45)
    assert sum(rows) == pytest.approx(-0.45, rel=TOLERANCE)
