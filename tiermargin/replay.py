"""Replaying a stepwise liquidation: the position's state at every time of the path.

:func:`~tiermargin.liquidation.liquidate` returns what happened at each step (the event log).
:func:`replay` turns that log back into the position's state at every sample of the path — contracts
held, margin, value, equity, requirement, health and tier — for plots and readouts that follow the
position through the crash. Between two events the position is fixed (the engine only changes it at
a step), and after a step it keeps its remaining contracts with the margin the log's settlement leaves
them (the model of :mod:`tiermargin.liquidation`): their proportional share at the bankruptcy price,
the margin less the step's ``margin_used`` at the fill. So each segment between events is evaluated in
one vectorized call of the :class:`~tiermargin.isolated.IsolatedPosition` it holds.

After a close the position holds nothing: ``open`` is False and every amount is 0 (never NaN), the
tier 0; what a close settled at the fill paid back is ``cash``. The state at a time at which events
happened is the state *after* all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _check
from ._check import FloatArray
from .isolated import IsolatedPosition
from .liquidation import LiquidationEvent, LiquidationLog
from .rules import Settlement

__all__ = ["PositionPath", "replay"]


@dataclass(frozen=True, eq=False)
class PositionPath:
    """A liquidated position's state at each time of a path (the result of :func:`replay`).

    Amounts are in the settle currency. Where the position is closed (``open`` False) the
    contracts, margin, value, equity, requirement and health are 0 and the tier is 0.

    Attributes
    ----------
    times, marks : array (T,)
        The path.
    open : array of bool (T,)
        Whether the position still holds contracts.
    contracts : array (T,)
        Contracts held.
    margin : array (T,)
        Isolated margin left (the share of the closed contracts is used up at each step).
    value : array (T,)
        Position value at the mark.
    equity : array (T,)
        Margin plus unrealized PnL at the mark.
    requirement : array (T,)
        Maintenance requirement at the mark, plus the open orders' requirement until they are
        cancelled.
    health : array (T,)
        ``equity − requirement``: > 0 wherever the position is open (the engine steps until it is;
        evaluated as the engine does, the position's health less the orders' requirement).
    tier : array of int (T,)
        1-based tier of the position at the mark (0 when closed).
    cash : array (T,)
        What the liquidation has paid back to the trader so far (settlement at the fill: the margin a
        closing fill left; else 0): the trader's wealth is ``equity + cash``.
    steps : array of int (T,)
        Number of events at or before each time.
    events : tuple of LiquidationEvent
        The log's events, in order.
    """

    times: FloatArray
    marks: FloatArray
    open: NDArray[np.bool_]
    contracts: FloatArray
    margin: FloatArray
    value: FloatArray
    equity: FloatArray
    requirement: FloatArray
    health: FloatArray
    tier: NDArray[np.intp]
    cash: FloatArray
    steps: NDArray[np.intp]
    events: tuple[LiquidationEvent, ...]

    def index(self, time: float) -> int:
        """Index of the last sample at or before ``time`` (0 before the path starts)."""
        t = _check.one_number("time", time)
        return max(int(np.searchsorted(self.times, t, side="right")) - 1, 0)

    def events_until(self, time: float) -> tuple[LiquidationEvent, ...]:
        """The events that happened at or before ``time`` (at the sample :meth:`index` finds)."""
        return self.events[: int(self.steps[self.index(time)])]


def replay(
    log: LiquidationLog, times: ArrayLike, marks: ArrayLike, orders_requirement: float = 0.0
) -> PositionPath:
    """The position's state at every time of the path a liquidation log was computed on.

    Parameters
    ----------
    log : LiquidationLog
        What :func:`~tiermargin.liquidation.liquidate` returned for ``log.start`` on this path.
    times, marks : array (T,)
        The same path (sorted times, marks > 0); every event must be at one of its samples.
    orders_requirement : float
        The open orders' requirement the log was run with (>= 0): counted in the requirement until
        the "cancel orders" event (throughout if there is none).

    Returns
    -------
    PositionPath
        Arrays (T,) of contracts, margin, value, equity, requirement, health, tier, ``open``, cash paid
        back and the number of events so far; at a sample with events, the state after them.

    Raises
    ------
    ValueError
        If the path is invalid, an event is not on it, or the log cancelled orders but
        ``orders_requirement`` does not match it.

    Examples
    --------
    >>> import numpy as np
    >>> import tiermargin as tm
    >>> from tiermargin.liquidation import Execution, liquidate
    >>> pos = tm.IsolatedPosition.open(tm.load_table("binance-usdm-btcusdt-2021"), "long", 200, 60_000, 10)
    >>> times, marks = np.arange(4.0), np.array([60_000, 57_000, 55_000, 58_000.0])
    >>> log = liquidate(pos, times, marks, "one-tier", execution=Execution("bankruptcy"))
    >>> path = replay(log, times, marks)
    >>> path.contracts.round(4).tolist(), path.tier.tolist(), path.steps.tolist()
    ([200.0, 200.0, 18.1818, 18.1818], [5, 5, 3, 4], [0, 0, 2, 2])

    Two steps at 55,000 (tier 5 → 4 → 3) leave 18.18 contracts, healthy; as the price recovers to
    58,000 their value crosses back into tier 4.
    """
    if not isinstance(log, LiquidationLog):
        raise TypeError(f"log must be a LiquidationLog, got {type(log).__name__}")
    t, m = _check.path(times, marks)
    orders = _check.one_number("orders_requirement", orders_requirement, _check.nonnegative)
    events = log.events
    at = _event_samples(events, t, m)
    cancels = [i for i, e in zip(at, events) if e.action == "cancel orders"]
    if cancels:
        e = next(e for e in events if e.action == "cancel orders")
        if not np.isclose(e.health_after - e.health_before, orders, rtol=1e-9, atol=1e-9 * abs(e.health_after)):
            raise ValueError(f"the log cancelled open orders holding {e.health_after - e.health_before:,.10g}; "
                             f"pass that as orders_requirement (got {orders:,.10g})")
    cancelled_from = cancels[0] if cancels else t.size  # orders count strictly before this sample

    n = t.size
    out = {k: np.zeros(n) for k in ("contracts", "margin", "value", "equity", "requirement", "health")}
    tier = np.zeros(n, dtype=np.intp)
    is_open = np.zeros(n, dtype=bool)
    # segments [start, stop) with a fixed position: from each sample with events to the next one
    starts = [0, *sorted({i for i in at})]
    positions: list[IsolatedPosition | None] = [log.start]
    pos: IsolatedPosition | None = log.start
    for k, e in enumerate(events):
        if e.action != "cancel orders" and pos is not None:
            pos = _kept(pos, e, log.settlement)
        if k + 1 == len(events) or at[k + 1] != at[k]:  # the last event at its sample
            positions.append(pos)
    if starts[1:2] == [0]:  # events at the first sample: the start position never holds
        starts, positions = starts[1:], positions[1:]
    for start, stop, p in zip(starts, [*starts[1:], n], positions):
        if p is None or start == stop:
            continue
        x = m[start:stop]
        s = slice(start, stop)
        is_open[s] = True
        out["contracts"][s] = float(p.qty)
        out["margin"][s] = float(p.margin)
        out["value"][s] = p.value(x)
        out["equity"][s] = p.equity(x)
        out["requirement"][s] = p.requirement(x)
        out["health"][s] = p.health(x)  # as the engine evaluates it, orders subtracted after
        tier[s] = p.tier(x)
    held = np.where(is_open & (np.arange(n) < cancelled_from), orders, 0.0)
    out["requirement"] += held
    out["health"] -= held
    steps = np.searchsorted(np.asarray(at, dtype=np.intp), np.arange(n), side="right").astype(np.intp)
    paid = np.zeros(n)
    np.add.at(paid, np.asarray(at, dtype=np.intp), [e.returned for e in events])
    return PositionPath(t, m, is_open, out["contracts"], out["margin"], out["value"], out["equity"],
                        out["requirement"], out["health"], tier, np.cumsum(paid), steps, events)


def _kept(pos: IsolatedPosition, e: LiquidationEvent, settlement: Settlement) -> IsolatedPosition | None:
    """The position after ``e`` (None: closed): its kept contracts with their proportional share of the margin
    (settlement at the bankruptcy price) or the margin less the one the step used (at the fill), as the
    engine computes it."""
    keep = e.contracts_left
    if keep <= 0:
        return None
    margin = pos.margin * keep / float(pos.qty) if settlement == "bankruptcy" else pos.margin - e.margin_used
    return replace(pos, qty=np.asarray(keep), margin=margin)


def _event_samples(events: tuple[LiquidationEvent, ...], t: FloatArray, m: FloatArray) -> list[int]:
    """Sample index of each event: the first sample at or after the previous event's with the
    event's time and mark (a path may repeat a time)."""
    out: list[int] = []
    i = 0
    for e in events:
        j = i + int(np.searchsorted(t[i:], e.time, side="left"))
        while j < t.size and t[j] == e.time and m[j] != e.mark:
            j += 1
        if j >= t.size or t[j] != e.time:
            raise ValueError(f"the log's event at time {e.time:,.10g} (mark {e.mark:,.10g}) is not on this path; "
                             "pass the times and marks the log was computed on")
        out.append(j)
        i = j
    return out
