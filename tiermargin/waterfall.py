"""The liquidation waterfall: stepwise liquidation → the risk fund → auto-deleveraging, for many traders.

Each trader's isolated position is checked at every mark of a path; a position whose health reaches 0 is
liquidated step by step (:func:`tiermargin.liquidation.liquidate`). Every step's result against its
settlement price (the bankruptcy price, or the fill: see "Settlement" below) goes to the risk fund
(:meth:`tiermargin.riskfund.RiskFund.record`): a surplus is kept, a loss paid down to the fund's floor. What
the fund cannot pay is not dropped: the venue sells only the share of the closed contracts whose loss the
fund paid and closes the rest against the ADL queue at the settlement price (:func:`tiermargin.adl.adl_qty`,
:func:`tiermargin.adl.deleverage`): opposite-side
traders in profit, in ranking order, each losing the part of its position filled (source articles:
the fund absorbs "potential losses from incomplete liquidations"; ``docs/formulas.md#risk-fund-and-reconciliation``
and ``docs/formulas.md#auto-deleveraging-adl``).

**Settlement.** The engine settles each step's closed contracts where the procedure's rule says
(:mod:`tiermargin.liquidation`): at the bankruptcy price ``B`` (the fund keeps or pays fill − ``B``), or at
the fill (Hyperliquid: the trader keeps what margin the fill leaves, and the fund pays only where the
fill is worse than the step's bankruptcy price ``P``, where the trader's equity would go negative). The
step's ``settlement_price`` ``S`` is ``B``, the fill or ``P``; ADL closes its share at ``S``, so where the
fund cannot pay, the counterparties take the loss that the trader's equity could not.

**Money.** At each step, measured at the step's mark ``m``, the equity the liquidated trader gives up
on the closed contracts, ``UPL(side, closed, S, m)``, is exactly shared out as: what the fund paid or
kept, the market buyers' gain (contracts bought at the fill, worth ``m``), the deleveraged traders'
loss against ``m`` (closed at ``S`` rather than ``m``) and, only when the ADL queue runs out, an
``uncovered`` loss the venue bears — reported on the step, never hidden (:class:`Step`). What a close
settled at the fill leaves the trader is paid back (:attr:`Waterfall.cash`).

Model choices, documented: traders do not react (no top-ups, no new positions); a deleveraged trader's
margin is released in proportion to the contracts closed; when ADL takes part of a step's contracts,
the rest is assumed to fill at the same average price as the whole.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from html import escape
from typing import NamedTuple, get_args

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _check
from ._check import FloatArray
from .adl import Deleveraging, _queue, adl_qty, candidates, deleverage, lights, scores
from .isolated import IsolatedPosition
from .liquidation import Execution, LiquidationEvent, LiquidationLog, _procedure, liquidate
from .market import Wick, synthetic_market
from .markprice import mark_prices
from .riskfund import DAY, HOUR, RiskFund
from .rules import Policy, Ranking, Rulebook, Settlement
from .tiers import TierTable

DAY_START = 1_709_251_200.0
"""The lessons' simulated day starts 2024-03-01 00:00 UTC (epoch seconds); 16:00 UTC+8 is 08:00 UTC."""


def traders(
    table: TierTable,
    n: int,
    price: float,
    seed: int = 0,
    median_notional: float = 200_000.0,
    spread: float = 1.5,
    max_leverage: float = 50.0,
    long_share: float = 0.5,
    entry_spread: float = 0.003,
) -> IsolatedPosition:
    """A seeded population of ``n`` isolated positions opened around ``price`` (same seed → same traders).

    Notional values are log-normal (median ``median_notional``, log-sd ``spread``) and kept below 90 % of
    the table's last cap; leverage is log-uniform between 1 and the smaller of ``max_leverage`` and the
    max leverage of the tier the position lands in; a share ``long_share`` is long; entries are
    ``price·(1 + N(0, entry_spread))``. A teaching population, not a calibrated one.

    Parameters
    ----------
    table : TierTable
        The instrument's table; it must publish max leverage.
    n : int
        Number of traders, >= 1.
    price : float
        Price around which they opened, > 0.
    """
    if not isinstance(table, TierTable):
        raise TypeError(f"table must be a TierTable, got {type(table).__name__}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    if table.max_leverage is None:
        raise ValueError(f"table must publish max leverage per tier (leverage is drawn up to it), got {table!r}")
    p = _check.one_number("price", price, _check.positive)
    median = _check.one_number("median_notional", median_notional, _check.positive)
    # abs: a spread of -0.0 is 0 (NumPy's normal refuses a negative zero scale)
    log_sd = abs(_check.one_number("spread", spread, _check.nonnegative))
    cap = _check.one_number("max_leverage", max_leverage, _check.positive)
    if cap < 1:
        raise ValueError(f"max_leverage must be >= 1 (a leverage below 1 is not drawn), got {max_leverage!r}")
    share = _check.one_number("long_share", long_share, _check.rate)
    entry_sd = abs(_check.one_number("entry_spread", entry_spread, _check.nonnegative))
    rng = np.random.default_rng(_seed(seed))
    notional = np.minimum(median * np.exp(rng.normal(0.0, log_sd, n)), 0.9 * float(table.caps[-1]))
    side = np.where(rng.random(n) < share, 1.0, -1.0)
    entry = p * (1 + rng.normal(0.0, entry_sd, n))
    if (entry <= 0).any():
        raise ValueError(f"entry_spread must be small enough for every entry to be > 0, got {entry_spread!r} "
                         f"({int((entry <= 0).sum())} of {n} entries drawn <= 0)")
    qty = np.asarray(table.contracts_at(notional, entry))
    top = np.minimum(np.asarray(table.max_leverage_at(table.size_of(qty, entry))), cap)
    leverage = np.exp(rng.random(n) * np.log(np.maximum(top, 1.0)))
    return IsolatedPosition.open(table, side, qty, entry, leverage)


def crash_path(
    depth: float = 0.15,
    start: float = 7 * HOUR,
    duration: float = 4 * HOUR,
    length: float = DAY,
    price: float = 60_000.0,
    seed: int = 0,
    step: float = 60.0,
) -> tuple[FloatArray, FloatArray]:
    """Times (UTC epoch seconds from :data:`DAY_START`) and mark prices of a seeded path with a market crash.

    The crash is a market-wide :class:`~tiermargin.market.Wick` (``where="all"``) of ``depth`` starting
    ``start`` seconds into the path and recovering after ``duration``; the marks come from the whole
    mark-price pipeline (:func:`~tiermargin.markprice.mark_prices`) on a market sampled every ``step``
    seconds for ``length`` seconds. The default is a day whose crash runs from 07:00 to 11:00 UTC, across
    the 08:00 UTC (16:00 UTC+8) reconciliation cut-off. ``depth`` is in (−1, 1) (negative: a spike up);
    the crash starts before the end of the path (``0 <= start < length``) and ``step <= length``.
    """
    d = _check.one_number("depth", depth)
    if not -1 < d < 1:
        raise ValueError(f"depth must be in (-1, 1) (a fall of less than 100 %, or a rise), got {depth!r}")
    total = _check.one_number("length", length, _check.positive)
    begin = _check.one_number("start", start, _check.nonnegative)
    if begin >= total:
        raise ValueError(f"start must be before the end of the path (< length {total:,.0f} s), got {start!r}")
    dt = _check.one_number("step", step, _check.positive)
    if dt > total:
        raise ValueError(f"step must be at most the length of the path ({total:,.0f} s), got {step!r}")
    crash = _check.one_number("duration", duration, _check.positive)
    p = _check.one_number("price", price, _check.positive)
    market = synthetic_market(_seed(seed), duration=total, step=dt, start_price=p, wick=Wick(begin, crash, d, "all"))
    return DAY_START + market.times, np.asarray(mark_prices(market).mark)


def _seed(seed: int) -> int:
    """A random seed: an integer >= 0."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    return int(seed)


class Step(NamedTuple):
    """One liquidation step in the waterfall (amounts in the settle currency).

    Attributes
    ----------
    trader : int
        Index of the liquidated trader.
    event : LiquidationEvent
        The engine's step (closed contracts, bankruptcy and settlement prices, fill, surplus against the
        settlement price).
    fund : float
        The fund's change: the surplus kept (>= 0) or the loss it paid (< 0).
    shortfall : float
        The part of the loss the fund could not pay (>= 0), handed to ADL.
    to_market : float
        Contracts sold in the market (the rest was deleveraged at the settlement price).
    deleveraged : Deleveraging or None
        The ADL fills against other traders (indices are trader indices), if any.
    uncovered : float
        Loss left when the ADL queue ran out of counterparties (>= 0; the venue bears it).
    """

    trader: int
    event: LiquidationEvent
    fund: float
    shortfall: float
    to_market: float
    deleveraged: Deleveraging | None
    uncovered: float


class AdlQueue(NamedTuple):
    """The ADL queue at one moment (:meth:`Waterfall.queue_at`), in queue order: first deleveraged first.

    Attributes
    ----------
    liquidated_side : float
        The side whose liquidation the queue would take (+1 long, −1 short); the candidates hold the other.
    trader : array of int
        The candidates' trader indices: open positions opposite ``liquidated_side`` in profit at the mark.
    score : array
        Their ranking score (:func:`~tiermargin.adl.scores`), descending.
    qty : array
        Their contracts.
    upnl : array
        Their unrealized PnL at the mark (> 0), in the settle currency.
    lights : array of int
        Their quintile lights (:func:`~tiermargin.adl.lights`): 5 for the first 20 % of the queue's contracts.
    """

    liquidated_side: float
    trader: NDArray[np.intp]
    score: FloatArray
    qty: FloatArray
    upnl: FloatArray
    lights: NDArray[np.intp]


@dataclass(frozen=True)
class Waterfall:
    """Result of :func:`run`.

    Attributes
    ----------
    steps : tuple of Step
        Every liquidation step in time order.
    fund : RiskFund
        The fund's ledger after the path (a copy of the fund passed in, with the path's rows).
    start : IsolatedPosition
        The traders at the start.
    qty, margin : array (n,)
        Each trader's contracts and isolated margin at the end (0 for a closed position).
    cash : array (n,)
        What was paid out to each trader: by ADL, the released margin plus the PnL realized at the
        settlement price; by a close settled at the fill, the margin the fill left
        (:attr:`~tiermargin.liquidation.LiquidationLog.returned`).
    """

    steps: tuple[Step, ...]
    fund: RiskFund
    start: IsolatedPosition
    qty: FloatArray
    margin: FloatArray
    cash: FloatArray

    @property
    def liquidated(self) -> NDArray[np.intp]:
        """Indices of the traders liquidated at least once."""
        return np.unique([s.trader for s in self.steps]).astype(np.intp)

    @property
    def deleveraged(self) -> NDArray[np.intp]:
        """Indices of the traders deleveraged at least once."""
        who = [s.deleveraged.who for s in self.steps if s.deleveraged is not None]
        return np.unique(np.concatenate(who)) if who else np.array([], dtype=np.intp)

    def positions_at(self, time: float) -> tuple[FloatArray, FloatArray]:
        """Each trader's contracts and margin just after every step at or before ``time`` (replayed)."""
        t = _check.one_number("time", time)
        qty, margin = np.array(self.start.qty, dtype=np.float64), np.array(self.start.margin, dtype=np.float64)
        for s in self.steps:
            if s.event.time > t:
                break
            qty[s.trader] = s.event.contracts_left
            margin[s.trader] = 0.0 if s.event.contracts_left == 0 else margin[s.trader] - s.event.margin_used
            if s.deleveraged is not None:
                who = s.deleveraged.who
                margin[who] -= margin[who] * s.deleveraged.qty / qty[who]
                qty[who] -= s.deleveraged.qty
        return qty, margin

    def queue_at(self, time: float, mark: float, ranking: Ranking = "pnl-leverage",
                 liquidated_side: ArrayLike | str | None = None) -> AdlQueue:
        """The ADL queue just after every step at or before ``time`` (:meth:`positions_at`), priced at ``mark``.

        The candidates are the open positions opposite ``liquidated_side`` with a profit at ``mark``
        (:func:`~tiermargin.adl.candidates`), ranked by ``ranking`` (:func:`~tiermargin.adl.scores`), as
        :func:`run` ranks them when a liquidation's loss reaches ADL.

        Parameters
        ----------
        time : float
            UTC epoch seconds.
        mark : float
            Mark price at ``time``, > 0.
        ranking : {"pnl-leverage", "binance", "hyperliquid"}
        liquidated_side : "long", "short", +1, −1 or None
            The side being liquidated; None: that of the last step at or before ``time`` (long if none yet).
        """
        t = _check.one_number("time", time)
        m = _check.one_number("mark", mark, _check.positive)
        _check.one_of("ranking", ranking, get_args(Ranking))
        if liquidated_side is None:
            done = [s for s in self.steps if s.event.time <= t]
            side = float(self.start.side[done[-1].trader]) if done else 1.0
        else:
            given = _check.side("liquidated_side", liquidated_side)
            if given.ndim:
                raise ValueError(f"liquidated_side must be one side, got {liquidated_side!r}")
            side = float(given)
        qty, margin = self.positions_at(t)
        who = np.flatnonzero(qty > 0)
        if who.size:
            who = who[candidates(_holding(self.start, qty, margin, who), m, side)]
        if who.size == 0:  # (an array of positions cannot be empty)
            empty = np.empty(0)
            return AdlQueue(side, who, empty, empty, empty, np.empty(0, dtype=np.intp))
        pool = _holding(self.start, qty, margin, who)
        score = np.atleast_1d(np.asarray(scores(pool, m, ranking), dtype=np.float64))
        order, contracts = _queue(score, pool.qty, None)
        upnl = np.atleast_1d(np.asarray(pool.upnl(m), dtype=np.float64))
        return AdlQueue(side, who[order], score[order], contracts[order], upnl[order], lights(score, contracts)[order])

    def summary(self, until: float | None = None) -> dict[str, float]:
        """Totals over the path: traders liquidated and deleveraged, steps, contracts, fund result.

        With ``until`` (UTC epoch seconds): over the steps at or before it, and the fund's balance then
        (under the key ``"fund at the end"``).
        """
        t = None if until is None else _check.one_number("until", until)
        steps = self.steps if t is None else tuple(s for s in self.steps if s.event.time <= t)
        hit = [s.deleveraged.who for s in steps if s.deleveraged is not None]
        return {
            "traders liquidated": float(len({s.trader for s in steps})),
            "liquidation steps": float(len(steps)),
            "contracts to the market": float(sum(s.to_market for s in steps)),
            "contracts deleveraged": float(sum(s.event.contracts_closed - s.to_market for s in steps)),
            "fund surplus kept": float(sum(max(s.fund, 0.0) for s in steps)),
            "fund losses paid": float(sum(min(s.fund, 0.0) for s in steps)),
            "shortfall to ADL": float(sum(s.shortfall for s in steps)),
            "traders deleveraged": float(np.unique(np.concatenate(hit)).size if hit else 0),
            "uncovered": float(sum(s.uncovered for s in steps)),
            "fund at the end": self.fund.balance if t is None else float(self.fund.balance_at(t)),
        }

    COLUMNS = ("time (UTC)", "trader", "action", "tier", "closed", "to market", "deleveraged", "fund", "shortfall")

    def rows(self) -> list[tuple[str, ...]]:
        """The steps formatted for display."""
        return [(_clock(s.event.time), str(s.trader), s.event.action, f"{s.event.tier_before}→{s.event.tier_after}",
                 f"{s.event.contracts_closed:,.4g}", f"{s.to_market:,.4g}",
                 f"{s.event.contracts_closed - s.to_market:,.4g}", f"{s.fund:,.2f}", f"{s.shortfall:,.2f}")
                for s in self.steps]

    def __repr__(self) -> str:
        totals = ", ".join(f"{k} {v:,.2f}" if v % 1 else f"{k} {v:,.0f}" for k, v in self.summary().items())
        return f"Waterfall({len(self.steps)} steps; {totals})"

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{escape(c)}</th>" for c in self.COLUMNS)
        body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in self.rows())
        return f"<p>{escape(repr(self))}</p><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _holding(start: IsolatedPosition, qty: FloatArray, margin: FloatArray, index: ArrayLike) -> IsolatedPosition:
    """The traders at ``index`` as they hold now: their start positions with contracts ``qty`` and margin ``margin``.

    ``start`` is a one-dimensional array of positions (every field an array of its length), so ``start[index]``
    is built in one step, with the new contracts and margin.
    """
    return replace(start, side=start.side[index], qty=qty[index], entry=start.entry[index], margin=margin[index],
                   leverage=start.leverage[index])


def _clock(t: float) -> str:
    """UTC time of day ``HH:MM`` of epoch seconds."""
    minutes = int(t // 60) % (24 * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def run(
    positions: IsolatedPosition,
    times: ArrayLike,
    marks: ArrayLike,
    fund: RiskFund,
    policy: Policy | Rulebook = "one-tier",
    fraction: float | None = None,
    execution: Execution = Execution(),
    ranking: Ranking = "pnl-leverage",
    settlement: Settlement | None = None,
) -> Waterfall:
    """Run the waterfall for an array of traders along a mark-price path (see the module docstring).

    Equal to ``Schedule(positions, times, marks, policy, fraction, execution, settlement).run(fund, ranking)``;
    keep the :class:`Schedule` to run the same day against several funds or rankings.

    Parameters
    ----------
    positions : IsolatedPosition
        The traders: a one-dimensional array of positions on one table (e.g. :func:`traders`).
    times, marks : array (T,)
        The path: UTC epoch seconds (sorted) and mark prices (> 0).
    fund : RiskFund
        The risk fund at the start; it is copied, not changed.
    policy, fraction, execution
        The liquidation procedure, as in :func:`~tiermargin.liquidation.liquidate`.
    ranking : {"pnl-leverage", "binance", "hyperliquid"}
        The ADL ranking (:func:`~tiermargin.adl.scores`).
    settlement : {"bankruptcy", "fill"}, optional
        Where the closed contracts are settled, as in :func:`~tiermargin.liquidation.liquidate`.
    """
    return Schedule(positions, times, marks, policy, fraction, execution, settlement).run(fund, ranking)


@dataclass
class _Holdings:
    """The traders as a run changes them: contracts, isolated margin, open or not, and the time of each one's
    last partial liquidation under ``policy="hyperliquid"`` (NaN: none) — a working copy of ``start``."""

    start: IsolatedPosition
    qty: FloatArray
    margin: FloatArray
    is_open: NDArray[np.bool_]
    partial_at: FloatArray

    @classmethod
    def of(cls, start: IsolatedPosition) -> _Holdings:
        qty = np.array(start.qty, dtype=np.float64)
        return cls(start, qty, np.array(start.margin, dtype=np.float64), np.ones(qty.size, dtype=bool),
                   np.full(qty.size, np.nan))

    def current(self, index: ArrayLike) -> IsolatedPosition:
        """The traders at ``index`` as they hold now."""
        return _holding(self.start, self.qty, self.margin, index)

    def keep(self, i: int, log: LiquidationLog) -> None:
        """Trader ``i`` as its liquidation ``log`` leaves it."""
        self.qty[i] = 0.0 if log.final is None else float(log.final.qty)
        self.margin[i] = 0.0 if log.final is None else float(log.final.margin)
        self.is_open[i] = log.final is not None
        self.partial_at[i] = np.nan if log.last_partial is None else log.last_partial

    def last_partial(self, i: int) -> float | None:
        """Trader ``i``'s last partial liquidation (None: none)."""
        t = float(self.partial_at[i])
        return None if np.isnan(t) else t


class Schedule:
    """A day's liquidations, computed once and settled against any fund: :func:`run` in two parts.

    A trader's liquidation steps depend only on its own position and the path — until ADL takes part of
    it. So each trader's liquidations as they happen while no ADL touches it (its *solo* schedule: each
    liquidation, as :func:`~tiermargin.liquidation.liquidate` returns it at the mark that triggers it, and
    the mark that triggers the next one) do not depend on the fund, its drawdown threshold or the ADL
    ranking. The schedule computes them on demand and keeps them; :meth:`run` walks the day in the order
    of :func:`run` (the next trigger, ties by trader index), books each step in the fund and hands any
    shortfall to ADL, taking a trader's next liquidation from the schedule while ADL has not touched that
    trader and the liquidation falls at the mark the schedule has for it, and computing it otherwise.
    Every number is that of :func:`run` computed from scratch: what is reused is what the same calls
    return for the same position and path. Running a day again against another fund costs the booking
    and the ADL, not the liquidations (lesson 06's explorer: the "starting fund" control).

    Parameters
    ----------
    positions : IsolatedPosition
        The traders: a one-dimensional array of positions on one table (e.g. :func:`traders`).
    times, marks : array (T,)
        The path: UTC epoch seconds (sorted) and mark prices (> 0).
    policy, fraction, execution, settlement
        The liquidation procedure, as in :func:`~tiermargin.liquidation.liquidate`. A trader's last partial
        liquidation (Hyperliquid's cooldown) is carried from one of its liquidations to the next.

    Examples
    --------
    >>> import tiermargin as tm
    >>> times, marks = crash_path(seed=1, step=600)
    >>> day = Schedule(traders(tm.load_table("binance-usdm-btcusdt-2021"), 40, 60_000, seed=1), times, marks)
    >>> [len(day.run(tm.RiskFund(f)).steps) for f in (1e3, 1e6)] == [len(run(day.start, times, marks,
    ...     tm.RiskFund(f)).steps) for f in (1e3, 1e6)]
    True
    """

    def __init__(self, positions: IsolatedPosition, times: ArrayLike, marks: ArrayLike,
                 policy: Policy | Rulebook = "one-tier", fraction: float | None = None,
                 execution: Execution = Execution(), settlement: Settlement | None = None) -> None:
        if not isinstance(positions, IsolatedPosition):
            raise TypeError(f"positions must be an IsolatedPosition array, got {type(positions).__name__}")
        if len(positions.shape) != 1:
            raise ValueError(f"positions must be a one-dimensional array of positions, got shape {positions.shape}")
        _procedure(policy, fraction, settlement)
        if not isinstance(execution, Execution):  # checked now, not once a liquidation happens (issue 19 #10)
            raise TypeError(f"execution must be an Execution (e.g. Execution('impact', depth)), got {execution!r}")
        self.times, self.marks = _check.path(times, marks)
        self.start = positions[:]
        self._procedure = (policy, fraction, execution, 0.0, settlement)  # 0.0: no open orders
        self._solo = _Holdings.of(self.start)  # each trader after the solo liquidations computed so far
        n = self.start.qty.size
        first = self._first_trigger(self._solo, np.arange(n), 0)
        #: per trader: the marks (path indices, ∞: none) that trigger its solo liquidations, and those computed
        self._triggers: list[list[float]] = [[float(x)] for x in first]
        self._logs: list[list[LiquidationLog]] = [[] for _ in range(n)]

    def run(self, fund: RiskFund, ranking: Ranking = "pnl-leverage") -> Waterfall:
        """The waterfall of the day against ``fund`` (copied, not changed) with the ADL ``ranking``.

        Parameters
        ----------
        fund : RiskFund
            The risk fund at the start.
        ranking : {"pnl-leverage", "binance", "hyperliquid"}
            The ADL ranking (:func:`~tiermargin.adl.scores`).
        """
        if not isinstance(fund, RiskFund):
            raise TypeError(f"fund must be a RiskFund, got {type(fund).__name__}")
        _check.one_of("ranking", ranking, get_args(Ranking))
        n = self.start.qty.size
        h = _Holdings.of(self.start)
        cash = np.zeros(n)
        ledger = copy.deepcopy(fund)
        steps: list[Step] = []
        done = np.zeros(n, dtype=np.intp)  # liquidations of each trader so far
        solo = np.ones(n, dtype=bool)  # untouched by ADL: its position is that of its solo schedule
        trigger = np.array([x[0] for x in self._triggers])
        # event-driven: jump to the next time a position is liquidated; re-check only those that changed
        while np.isfinite(trigger[i := int(np.argmin(trigger))]):
            k = int(trigger[i])
            if solo[i] and self._trigger(i, done[i]) == k:
                log = self._log(i, done[i])
            else:  # its position or its trigger left the schedule
                solo[i] = False
                log = self._liquidate(h, i, k)
            changed = [i]
            cash[i] += log.returned
            for e in log.events:
                step = _settle(ledger, i, e, h, cash, ranking)
                steps.append(step)
                if step.deleveraged is not None:
                    changed.extend(step.deleveraged.who.tolist())
            h.keep(i, log)
            done[i] += 1
            touched = np.unique(changed)
            if touched.size == 1 and solo[i]:
                trigger[i] = self._trigger(i, done[i])
            else:
                trigger[touched] = self._first_trigger(h, touched, k + 1)
                solo[touched[touched != i]] = False  # deleveraged: their positions left the schedule
        return Waterfall(tuple(steps), ledger, self.start, h.qty, h.margin, cash)

    def _first_trigger(self, h: _Holdings, index: NDArray[np.intp], k: int) -> FloatArray:
        """For each trader in ``index``, the first path index >= k where its health is <= 0 (∞: none)."""
        out = np.full(index.size, np.inf)
        live = h.is_open[index]
        if k < self.marks.size and live.any():
            hit = np.asarray(h.current(index[live]).health(self.marks[k:, None])) <= 0
            out[live] = np.where(hit.any(axis=0), k + np.argmax(hit, axis=0), np.inf)
        return out

    def _liquidate(self, h: _Holdings, i: int, k: int) -> LiquidationLog:
        """Trader ``i``'s liquidation at path index ``k``, as it holds in ``h``."""
        return liquidate(h.current(np.intp(i)), self.times[k:k + 1], self.marks[k:k + 1], *self._procedure,
                         last_partial=h.last_partial(i))

    def _trigger(self, i: int, j: int) -> float:
        """The path index of trader ``i``'s ``j``-th solo liquidation (0-based; ∞: none)."""
        triggers = self._triggers[i]
        while len(triggers) <= j:
            self._log(i, len(triggers) - 1)  # computed: self._solo holds the position after it
            triggers.append(float(self._first_trigger(self._solo, np.array([i]), int(triggers[-1]) + 1)[0]))
        return triggers[j]

    def _log(self, i: int, j: int) -> LiquidationLog:
        """Trader ``i``'s ``j``-th solo liquidation (its trigger :meth:`_trigger` is finite)."""
        logs = self._logs[i]
        while len(logs) <= j:
            log = self._liquidate(self._solo, i, int(self._trigger(i, len(logs))))
            self._solo.keep(i, log)
            logs.append(log)
        return logs[j]


def _settle(fund: RiskFund, i: int, e: LiquidationEvent, h: _Holdings, cash: FloatArray, ranking: Ranking) -> Step:
    """Book one liquidation step in the fund and deleverage what it cannot pay (updates ``h`` and ``cash``)."""
    if e.contracts_closed == 0:  # cancelling orders moves no money
        return Step(i, e, 0.0, 0.0, 0.0, None, 0.0)
    shortfall = fund.record(e.time, e.surplus, f"trader {i}: {e.action}")
    if shortfall == 0:
        return Step(i, e, e.surplus, 0.0, e.contracts_closed, None, 0.0)
    to_adl = float(adl_qty(e.contracts_closed, shortfall, e.surplus))
    side = float(h.start.side[i])
    others = np.flatnonzero(h.is_open & (np.arange(h.qty.size) != i))
    if others.size:
        others = others[candidates(h.current(others), e.mark, side)]
    if others.size == 0:
        return Step(i, e, e.surplus + shortfall, shortfall, e.contracts_closed, None, shortfall)
    pool = h.current(others)
    d = deleverage(side, to_adl, e.settlement_price, pool.qty, pool.entry, scores(pool, e.mark, ranking),
                   contract=h.start.table.contract)
    who = others[d.who]
    share = d.qty / h.qty[who]
    cash[who] += h.margin[who] * share + d.pnl
    h.margin[who] -= h.margin[who] * share
    h.qty[who] -= d.qty
    h.is_open[who] = h.qty[who] > 0
    uncovered = shortfall * d.unmatched / to_adl
    return Step(i, e, e.surplus + shortfall, shortfall, e.contracts_closed - to_adl + d.unmatched,
                d._replace(who=who), uncovered)
