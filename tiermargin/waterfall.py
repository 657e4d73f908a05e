"""The liquidation waterfall: stepwise liquidation → the risk fund → auto-deleveraging, for many traders.

Each trader's isolated position is checked at every mark of a path; a position whose health reaches 0 is
liquidated step by step (:func:`tiermargin.liquidation.liquidate`). Every step's result against the
bankruptcy price goes to the risk fund (:meth:`tiermargin.riskfund.RiskFund.record`): a surplus is kept,
a loss paid down to the fund's floor. What the fund cannot pay is not dropped: the venue sells only the
share of the closed contracts whose loss the fund paid and closes the rest against the ADL queue at the
bankruptcy price (:func:`tiermargin.adl.adl_qty`, :func:`tiermargin.adl.deleverage`): opposite-side
traders in profit, in ranking order, each losing the part of its position filled (source articles:
the fund absorbs "potential losses from incomplete liquidations"; ``reference/FORMULAS.md``, "Risk
(insurance) fund" and "ADL").

**Money.** At each step, measured at the step's mark ``m``, the equity the liquidated trader gives up
on the closed contracts, ``UPL(side, closed, B, m)``, is exactly shared out as: what the fund paid or
kept, the market buyers' gain (contracts bought at the fill, worth ``m``), the deleveraged traders'
loss against ``m`` (closed at ``B`` rather than ``m``) and, only when the ADL queue runs out, an
``uncovered`` loss the venue bears — reported on the step, never hidden (:class:`Step`).

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
from .liquidation import Execution, LiquidationEvent, _policy_of, liquidate
from .market import Wick, synthetic_market
from .markprice import mark_prices
from .riskfund import DAY, HOUR, RiskFund
from .rules import Policy, Ranking, Rulebook
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
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    p = float(_check.positive("price", price))
    _check.positive("median_notional", median_notional)
    _check.nonnegative("spread", spread)
    cap = float(_check.positive("max_leverage", max_leverage))
    share = float(_check.rate("long_share", long_share))
    rng = np.random.default_rng(_seed(seed))
    notional = np.minimum(median_notional * np.exp(rng.normal(0.0, spread, n)), 0.9 * float(table.caps[-1]))
    side = np.where(rng.random(n) < share, 1.0, -1.0)
    entry = p * (1 + rng.normal(0.0, float(_check.nonnegative("entry_spread", entry_spread)), n))
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
    the 08:00 UTC (16:00 UTC+8) reconciliation cut-off.
    """
    market = synthetic_market(_seed(seed), duration=length, step=step, start_price=price,
                              wick=Wick(start, duration, depth, "all"))
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
        The engine's step (closed contracts, bankruptcy price ``B``, fill, surplus against ``B``).
    fund : float
        The fund's change: the surplus kept (>= 0) or the loss it paid (< 0).
    shortfall : float
        The part of the loss the fund could not pay (>= 0), handed to ADL.
    to_market : float
        Contracts sold in the market (the rest was deleveraged at ``B``).
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
        What ADL paid out to each deleveraged trader: the released margin plus the PnL realized at the
        bankruptcy price.
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
        t = float(_check.finite("time", time))
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
        t = float(_check.finite("time", time))
        m = float(_check.positive("mark", mark))
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
        t = None if until is None else float(_check.finite("until", until))
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
    """The traders at ``index`` as they hold now: their start positions with contracts ``qty`` and margin ``margin``."""
    return replace(start[index], qty=qty[index], margin=margin[index])


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
) -> Waterfall:
    """Run the waterfall for an array of traders along a mark-price path (see the module docstring).

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
    """
    if not isinstance(positions, IsolatedPosition):
        raise TypeError(f"positions must be an IsolatedPosition array, got {type(positions).__name__}")
    if len(positions.shape) != 1:
        raise ValueError(f"positions must be a one-dimensional array of positions, got shape {positions.shape}")
    if not isinstance(fund, RiskFund):
        raise TypeError(f"fund must be a RiskFund, got {type(fund).__name__}")
    _policy_of(policy, fraction)
    t, m = _check.path(times, marks)
    base = positions[:]
    qty, margin = np.array(base.qty, dtype=np.float64), np.array(base.margin, dtype=np.float64)
    cash = np.zeros_like(qty)
    is_open = np.ones(qty.size, dtype=bool)
    ledger = copy.deepcopy(fund)
    steps: list[Step] = []

    def current(index: np.ndarray) -> IsolatedPosition:
        return _holding(base, qty, margin, index)

    def first_trigger(index: np.ndarray, k: int) -> FloatArray:
        """For each position in ``index``, the first path index >= k where its health is <= 0 (∞: none)."""
        out = np.full(index.size, np.inf)
        live = is_open[index]
        if k < m.size and live.any():
            hit = np.asarray(current(index[live]).health(m[k:, None])) <= 0
            out[live] = np.where(hit.any(axis=0), k + np.argmax(hit, axis=0), np.inf)
        return out

    # event-driven: jump to the next time a position is liquidated; re-check only those that changed
    trigger = first_trigger(np.arange(qty.size), 0)
    while np.isfinite(k := trigger.min()):
        k = int(k)
        for i in np.flatnonzero(trigger == k).tolist():
            if trigger[i] != k:  # deleveraged earlier at this time: re-checked from the next mark
                continue
            log = liquidate(current(np.intp(i)), t[k:k + 1], m[k:k + 1], policy, fraction, execution)
            changed = [i]
            for e in log.events:
                step = _settle(ledger, i, e, base, qty, margin, cash, is_open, current, ranking)
                steps.append(step)
                if step.deleveraged is not None:
                    changed.extend(step.deleveraged.who.tolist())
            qty[i] = 0.0 if log.final is None else float(log.final.qty)
            margin[i] = 0.0 if log.final is None else float(log.final.margin)
            is_open[i] = log.final is not None
            touched = np.unique(changed)
            trigger[touched] = first_trigger(touched, k + 1)
    return Waterfall(tuple(steps), ledger, base, qty, margin, cash)


def _settle(fund: RiskFund, i: int, e: LiquidationEvent, base: IsolatedPosition, qty: FloatArray,
            margin: FloatArray, cash: FloatArray, is_open: np.ndarray, current, ranking: Ranking) -> Step:
    """Book one liquidation step in the fund and deleverage what it cannot pay (updates the arrays)."""
    if e.contracts_closed == 0:  # cancelling orders moves no money
        return Step(i, e, 0.0, 0.0, 0.0, None, 0.0)
    shortfall = fund.record(e.time, e.surplus, f"trader {i}: {e.action}")
    if shortfall == 0:
        return Step(i, e, e.surplus, 0.0, e.contracts_closed, None, 0.0)
    to_adl = float(adl_qty(e.contracts_closed, shortfall, e.surplus))
    side = float(base.side[i])
    others = np.flatnonzero(is_open & (np.arange(qty.size) != i))
    if others.size:
        others = others[candidates(current(others), e.mark, side)]
    if others.size == 0:
        return Step(i, e, e.surplus + shortfall, shortfall, e.contracts_closed, None, shortfall)
    pool = current(others)
    d = deleverage(side, to_adl, e.bankruptcy_price, pool.qty, pool.entry, scores(pool, e.mark, ranking),
                   contract=base.table.contract)
    who = others[d.who]
    share = d.qty / qty[who]
    cash[who] += margin[who] * share + d.pnl
    margin[who] -= margin[who] * share
    qty[who] -= d.qty
    is_open[who] = qty[who] > 0
    uncovered = shortfall * d.unmatched / to_adl
    return Step(i, e, e.surplus + shortfall, shortfall, e.contracts_closed - to_adl + d.unmatched,
                d._replace(who=who), uncovered)
