"""Sweep cases for tiermargin.liquidation, tiermargin.replay, tiermargin.riskfund and tiermargin.adl."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sweep import (
    CHOICE,
    COUNT,
    FLAG,
    NONNEGATIVE,
    OBJECT,
    POSITIVE,
    RATE,
    REAL,
    SIDE,
    TEXT,
    Case,
    Kind,
    Param,
)

from tiermargin.adl import (
    adl_qty,
    binance_score,
    candidates,
    deleverage,
    explain_adl_qty,
    explain_lights,
    explain_queue,
    explain_score,
    hyperliquid_score,
    lights,
    pnl_leverage_score,
    scores,
)
from tiermargin.contracts import LINEAR_USDT
from tiermargin.cross import CrossAccount, Instrument, Position
from tiermargin.isolated import IsolatedPosition
from tiermargin.liquidation import Execution, explain_step, liquidate, liquidate_account, surplus_lines
from tiermargin.replay import replay
from tiermargin.riskfund import TOLERANCE, RiskFund, reconciliation_cut
from tiermargin.tiers import TierTable

# ------------------------------------------------------------------ shared valid objects
# A small three-tier table (notional basis, linear USDT): a 200 BTC long at 60,000 (12M) is in tier 3;
# the path takes it one tier down at 54,500 (one event).
TABLE = TierTable.from_rows([[0, 1_000_000, 0.004, 125], [1_000_000, 5_000_000, 0.01, 50],
                             [5_000_000, 20_000_000, 0.025, 20]])
TIMES = [0.0, 1.0, 2.0, 3.0]
MARKS = [60_000.0, 57_000.0, 54_500.0, 58_000.0]


def position() -> IsolatedPosition:
    return IsolatedPosition.open(TABLE, "long", 200, 60_000, 10)


def book() -> IsolatedPosition:
    """Three isolated positions: two shorts in profit at 55,000 and a long."""
    return IsolatedPosition.open(TABLE, ["short", "short", "long"], [10, 20, 5], [60_000, 58_000, 59_000], [10, 5, 10])


def log():
    return liquidate(position(), TIMES, MARKS, "one-tier", execution=Execution("bankruptcy"))


def account() -> CrossAccount:
    return CrossAccount([Instrument("BTCUSDT", TABLE, "BTC")], {"USDT": 1_200_000.0},
                        [Position("BTCUSDT", "long", 200, 60_000)])


def account_log():
    return liquidate_account(account(), TIMES, {"BTC": MARKS}, execution=Execution("bankruptcy"))


# ------------------------------------------------------------------ kinds of this group
NEGATIVE = Kind("negative", frozenset({"negative"}))  # a loss, < 0
INDEX = COUNT.allowing("0")  # an index into a sequence (0, or a negative int from the end)
HOUR = RATE.with_bad(twenty_four=24, past_a_day=25.5)  # a local hour in [0, 24)
OFFSET = REAL.with_bad(east=14.5, west=-12.5)  # hours from UTC in [-12, 14]
OPEN_RATE = Kind("rate in (0, 1)", frozenset({"1e-300"})).with_bad(one=1.0, above=1.5)
FRACTION = OPEN_RATE.with_bad(below_min_fraction=0.001, tiny=1e-12)  # rules.MIN_FRACTION is 0.01
POLICY = CHOICE.with_bad(unknown="two-tier", upper="ONE-TIER")
NOTE = TEXT.allowing("str")  # free text: "2" is a note
ELIGIBLE = FLAG  # booleans (a scalar True: everyone eligible)
PATH_TIMES = REAL.with_bad(backwards=[0.0, 2.0, 1.0, 3.0], short=[0.0, 1.0])
PATH_MARKS = POSITIVE.with_bad(zero_mark=[60_000.0, 0.0, 55_000.0, 58_000.0],
                               negative_mark=[60_000.0, -57_000.0, 55_000.0, 58_000.0])


def queue_params() -> dict[str, Param]:
    """deleverage's arguments (and explain_queue's): BitMEX's six longs, a short of 20 at 650."""
    return {
        "side": Param("short", SIDE),
        "qty": Param(20.0, POSITIVE),
        "bankruptcy_price": Param(650.0, POSITIVE),
        "candidate_qty": Param([10.0, 10.0, 20.0, 30.0, 20.0, 10.0],
                               POSITIVE.with_bad(one_zero=[10, 0, 20, 30, 20, 10]), array=True),
        "candidate_entry": Param(600.0, POSITIVE.with_bad(one_zero=[600, 0, 600, 600, 600, 600]), array=True),
        "score": Param([3.0, 6.0, 1.0, 4.0, 5.0, 2.0], REAL, array=True),
        "eligible": Param(None, ELIGIBLE.with_bad(ints=[1, 0, 1, 1, 1, 1]), optional=True, array=True),
        "contract": Param(LINEAR_USDT, OBJECT),
    }


# ------------------------------------------------------------------ the fund: refused calls leave it unchanged
class _Fund:
    """A fresh fund with two rows for each call, and the checks of its state."""

    fund: RiskFund

    def __init__(self, drawdown: float | None = 0.3) -> None:
        self.drawdown = drawdown

    def make(self) -> RiskFund:
        f = RiskFund(1_000.0, drawdown=self.drawdown)
        f.record(100.0, 250.0, "first")
        f.record(40_000.0, -400.0, "second")  # a second day (cut-off 08:00 UTC = 28,800 s)
        self.fund = f
        return f

    def method(self, name: str) -> Callable[[], Callable[..., Any]]:
        """The bound method ``name`` of a fresh fund, wrapped: a refused call must leave the fund as it was."""
        def target() -> Callable[..., Any]:
            f = self.make()
            before = f.entries
            bound = getattr(f, name)

            def call(*args: Any, **kwargs: Any) -> Any:
                try:
                    return bound(*args, **kwargs)
                except (ValueError, TypeError):
                    if f.entries != before:
                        raise RuntimeError(f"a refused {name} changed the fund: {f.entries[len(before):]}") from None
                    raise
            return call
        return target

    def ledger_holds(self, result: Any) -> str | None:
        """The ledger's identities after an accepted call: balance = start + Σ non-ADL amounts, >= 0."""
        f = self.fund
        moved = sum(abs(e.amount) for e in f.entries) + f.start_balance
        total = f.start_balance + sum(e.amount for e in f.entries if e.kind != "adl")
        if f.balance < 0 or abs(f.balance - total) > TOLERANCE * moved:
            return f"the ledger does not add up: balance {f.balance!r}, start + Σ amounts {total!r}"
        if any(not isinstance(e.note, str) for e in f.entries):
            return f"a row's note is not text: {[e.note for e in f.entries]!r}"
        return None


FUND = _Fund()
PLAIN_FUND = _Fund(drawdown=None)


def fund_with_log() -> RiskFund:
    """A fund that recorded the first step of :func:`log` (for explain(row, log, step))."""
    f = RiskFund(1_000_000.0)
    f.record(2.0, log().events[0].surplus)
    return f


# ------------------------------------------------------------------ the cases
CASES = [
    # ---------------------------------------------------------------- adl
    Case("tiermargin.adl.pnl_leverage_score", lambda: pnl_leverage_score,
         {"upnl": Param(1_000.0, REAL, array=True), "entry_value": Param(6_000.0, POSITIVE, array=True),
          "mark_value": Param(5_000.0, POSITIVE, array=True), "equity": Param(1_300.0, POSITIVE, array=True)}),
    Case("tiermargin.adl.binance_score", lambda: binance_score,
         {"upnl": Param(1_000.0, REAL, array=True), "wallet": Param(300.0, REAL, array=True),
          "maintenance": Param(25.0, NONNEGATIVE, array=True)}),
    Case("tiermargin.adl.hyperliquid_score", lambda: hyperliquid_score,
         {"side": Param("short", SIDE, array=True), "entry": Param(600.0, POSITIVE, array=True),
          "mark": Param(500.0, POSITIVE, array=True), "notional": Param(5_000.0, NONNEGATIVE, array=True),
          "account_value": Param(1_300.0, POSITIVE, array=True)}),
    Case("tiermargin.adl.scores", lambda: scores,
         {"positions": Param(book(), OBJECT), "mark": Param(55_000.0, POSITIVE, array=True),
          "ranking": Param("binance", CHOICE.with_bad(unknown="bitmex", upper="BINANCE"))}),
    Case("tiermargin.adl.candidates", lambda: candidates,
         {"positions": Param(book(), OBJECT), "mark": Param(55_000.0, POSITIVE, array=True),
          "liquidated_side": Param("long", SIDE)}),
    Case("tiermargin.adl.lights", lambda: lights,
         {"score": Param([3.0, 6.0, 1.0, 4.0, 5.0, 2.0], REAL, array=True),
          "candidate_qty": Param([10.0, 10.0, 20.0, 30.0, 20.0, 10.0], POSITIVE, array=True),
          "eligible": Param([True, True, False, True, True, True], ELIGIBLE, optional=True, array=True)}),
    Case("tiermargin.adl.explain_lights", lambda: explain_lights,
         {"score": Param([3.0, 6.0, 1.0, 4.0, 5.0, 2.0], REAL, array=True),
          "candidate_qty": Param([10.0, 10.0, 20.0, 30.0, 20.0, 10.0], POSITIVE, array=True),
          "eligible": Param([True, True, False, True, True, True], ELIGIBLE, optional=True, array=True)}),
    Case("tiermargin.adl.deleverage", lambda: deleverage, queue_params()),
    Case("tiermargin.adl.explain_queue", lambda: explain_queue, queue_params()),
    Case("tiermargin.adl.adl_qty", lambda: adl_qty,
         {"closed": Param(10.0, POSITIVE, array=True),
          "shortfall": Param(300.0, NONNEGATIVE.with_bad(above_the_loss=2_000.0), array=True),
          "loss": Param(-1_500.0, NEGATIVE.with_bad(zero_loss=0.0, gain=1_500.0), array=True)}),
    Case("tiermargin.adl.explain_adl_qty", lambda: explain_adl_qty,
         {"closed": Param(10.0, POSITIVE), "shortfall": Param(300.0, NONNEGATIVE.with_bad(above_the_loss=2_000.0)),
          "loss": Param(-1_500.0, NEGATIVE.with_bad(zero_loss=0.0, gain=1_500.0))}),
    Case("tiermargin.adl.explain_score", lambda: explain_score,
         {"positions": Param(book(), OBJECT), "mark": Param(55_000.0, POSITIVE),
          "ranking": Param("pnl-leverage", CHOICE.with_bad(unknown="bitmex")),
          "index": Param(0, INDEX.with_bad(past_the_end=3, before_the_start=-4, float_index=1.0)),
          "liquidated_side": Param("long", SIDE, optional=True)}),
    # ---------------------------------------------------------------- riskfund
    Case("tiermargin.riskfund.reconciliation_cut", lambda: reconciliation_cut,
         {"hour": Param(16.0, HOUR), "utc_offset": Param(8.0, OFFSET)}),
    Case("tiermargin.riskfund.RiskFund", lambda: RiskFund,
         {"start_balance": Param(1_000.0, NONNEGATIVE), "drawdown": Param(0.3, OPEN_RATE, optional=True),
          "drawdown_window": Param(28_800.0, POSITIVE, optional=True)}),
    Case("tiermargin.riskfund.RiskFund.record", FUND.method("record"),
         {"time": Param(50_000.0, REAL.with_bad(backwards=39_999.0)), "amount": Param(-300.0, REAL),
          "note": Param("a liquidation", NOTE)}, check=FUND.ledger_holds),
    Case("tiermargin.riskfund.RiskFund.inject", FUND.method("inject"),
         {"time": Param(50_000.0, REAL.with_bad(backwards=39_999.0)), "amount": Param(500.0, POSITIVE),
          "note": Param("top-up", NOTE)}, check=FUND.ledger_holds),
    Case("tiermargin.riskfund.RiskFund.balance_at", FUND.method("balance_at"),
         {"times": Param([0.0, 100.0, 50_000.0], REAL, array=True)}),
    Case("tiermargin.riskfund.RiskFund.floor", FUND.method("floor"),
         {"time": Param(50_000.0, REAL.with_bad(backwards=39_999.0))}),
    Case("tiermargin.riskfund.RiskFund.floor_at", FUND.method("floor_at"),
         {"times": Param([0.0, 100.0, 50_000.0], REAL, array=True)}),
    Case("tiermargin.riskfund.RiskFund.reconciliations", FUND.method("reconciliations"),
         {"hour": Param(16.0, HOUR), "utc_offset": Param(8.0, OFFSET)}),
    Case("tiermargin.riskfund.RiskFund.explain_reconciliations", FUND.method("explain_reconciliations"),
         {"hour": Param(16.0, HOUR), "utc_offset": Param(8.0, OFFSET)}),
    Case("tiermargin.riskfund.RiskFund.explain_reconciliation", FUND.method("explain_reconciliation"),
         {"day": Param(0, INDEX.with_bad(past_the_end=5, float_day=0.0)), "hour": Param(16.0, HOUR),
          "utc_offset": Param(8.0, OFFSET)}),
    Case("tiermargin.riskfund.RiskFund.explain", lambda: fund_with_log().explain,
         {"row": Param(0, INDEX.with_bad(past_the_end=1, float_row=0.0)),
          "log": Param(log(), OBJECT.with_bad(account_log=account_log()), optional=True),
          "step": Param(0, INDEX.with_bad(past_the_end=1, float_step=0.0), optional=True)}),
    # ---------------------------------------------------------------- liquidation
    Case("tiermargin.liquidation.Execution", lambda: Execution,
         {"model": Param("impact", CHOICE.with_bad(unknown="limit", upper="IMPACT")),
          "depth": Param(50_000_000.0, POSITIVE)}),
    Case("tiermargin.liquidation.Execution.price", lambda: Execution("impact", 1e6).price,
         {"pos": Param(position(), OBJECT.with_bad(many=book())),
          "qty": Param(50.0, POSITIVE.with_bad(more_than_held=250.0)),
          "mark": Param(55_000.0, POSITIVE), "bankruptcy": Param(54_000.0, POSITIVE)}),
    Case("tiermargin.liquidation.Execution.fill_price", lambda: Execution("impact", 1e6).fill_price,
         {"contract": Param(LINEAR_USDT, OBJECT), "side": Param(1.0, SIDE), "qty": Param(50.0, POSITIVE),
          "mark": Param(55_000.0, POSITIVE), "bankruptcy": Param(54_000.0, POSITIVE)}),
    Case("tiermargin.liquidation.surplus_lines", lambda: surplus_lines,
         {"contract": Param(LINEAR_USDT, OBJECT), "side": Param(1.0, SIDE), "closed": Param(2.0, POSITIVE),
          "settlement_price": Param(57_000.0, POSITIVE), "fill": Param(56_900.0, POSITIVE)}),
    Case("tiermargin.liquidation.liquidate", lambda: liquidate,
         {"position": Param(position(), OBJECT.with_bad(many=book())),
          "times": Param(TIMES, PATH_TIMES, array=True), "marks": Param(MARKS, PATH_MARKS, array=True),
          "policy": Param("fraction", POLICY), "fraction": Param(0.25, FRACTION, optional=True),
          "execution": Param(Execution(), OBJECT), "orders_requirement": Param(1_000.0, NONNEGATIVE),
          "settlement": Param(None, CHOICE.with_bad(unknown="mark"), optional=True),
          "last_partial": Param(None, REAL, optional=True)}),
    Case("tiermargin.liquidation.liquidate_account", lambda: liquidate_account,
         {"account": Param(account(), OBJECT), "times": Param(TIMES, PATH_TIMES, array=True),
          "prices": Param({"BTC": MARKS}, OBJECT.with_bad(
              missing_underlying={"ETH": MARKS}, zero_mark={"BTC": [60_000.0, 0.0, 55_000.0, 58_000.0]},
              short_path={"BTC": MARKS[:2]})),
          "policy": Param("fraction", POLICY), "fraction": Param(0.25, FRACTION, optional=True),
          "execution": Param(Execution(), OBJECT),
          "settlement": Param(None, CHOICE.with_bad(unknown="mark"), optional=True)}),
    Case("tiermargin.liquidation.explain_step", lambda: explain_step,
         {"log": Param(log(), OBJECT.with_bad(account_log=account_log())),
          "step": Param(0, INDEX.with_bad(past_the_end=1, before_the_start=-2, float_step=0.0))}),
    Case("tiermargin.liquidation.LiquidationLog.explain", lambda: log().explain,
         {"step": Param(0, INDEX.with_bad(past_the_end=1, before_the_start=-2, float_step=0.0))}),
    Case("tiermargin.liquidation.LiquidationLog.explain_path", lambda: log().explain_path,
         {"what": Param("left", CHOICE.with_bad(unknown="contracts"))}),
    Case("tiermargin.liquidation.LiquidationLog.explain_equity", lambda: log().explain_equity,
         {"price": Param(55_000.0, POSITIVE)}),
    Case("tiermargin.liquidation.LiquidationLog.trader_equity", lambda: log().trader_equity,
         {"price": Param(55_000.0, POSITIVE)}),
    Case("tiermargin.liquidation.AccountLiquidationLog.trader_equity", lambda: account_log().trader_equity,
         {"prices": Param({"BTC": 55_000.0}, OBJECT.with_bad(missing_underlying={"ETH": 55_000.0},
                                                             zero_mark={"BTC": 0.0}))}),
    # ---------------------------------------------------------------- replay
    Case("tiermargin.replay.replay", lambda: replay,
         {"log": Param(log(), OBJECT.with_bad(account_log=account_log())),
          "times": Param(TIMES, PATH_TIMES, array=True), "marks": Param(MARKS, PATH_MARKS, array=True),
          "orders_requirement": Param(0.0, NONNEGATIVE)}),
    Case("tiermargin.replay.PositionPath.index", lambda: replay(log(), TIMES, MARKS).index,
         {"time": Param(2.0, REAL)}),
    Case("tiermargin.replay.PositionPath.events_until", lambda: replay(log(), TIMES, MARKS).events_until,
         {"time": Param(2.0, REAL)}),
]

EXEMPT: dict[str, str] = {
    "tiermargin.liquidation.LiquidationLog": "result record: liquidate() builds it from the steps it ran; "
                                             "users read it, never construct it with their own numbers",
    "tiermargin.liquidation.AccountLiquidationLog": "result record: liquidate_account() builds it from the steps "
                                                    "it ran; users read it, never construct it",
    "tiermargin.replay.PositionPath": "result record: replay() builds it from a log and its path; users read "
                                      "its arrays, never construct it",
}
