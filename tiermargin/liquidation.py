"""Stepwise (tier-down) liquidation: the procedure the source articles describe, step by step.

When a position's health reaches 0 (margin ratio ≤ 100 %), the venue does not simply close it:

1. it cancels open orders, freeing their requirement, and re-checks;
2. it reduces the position so that it falls into a lower tier — one tier down (OKX margin), two
   tiers (OKX swaps), the lowest sufficient tier in one order (Bybit, BitMEX), down to the lower
   tier's cap (HTX) or a fixed fraction (Hyperliquid 20 %, Drift 25 %) — and re-checks against the
   new tier's requirement;
3. it repeats until the position is healthy or closed; a position in tier 1 is closed in full.

Each reduction is executed with the **bankruptcy price** as the reference (source articles: "the
system uses the bankruptcy price ... as a reference for executing market orders"): the trader's
closed share is settled at the bankruptcy price — its share of the margin is used up — and the
venue sells it in the market. A fill better than the bankruptcy price leaves a **surplus** for the
risk fund; a worse fill is a **loss** the fund covers (``reference/FORMULAS.md``, "Stepwise
liquidation"). :func:`liquidate` walks a price path and returns the event log, one row a step.

Model choices (documented, not hidden): the margin of an isolated position is shared by its
contracts in proportion, so closing ``ΔQ`` of ``Q`` contracts uses ``M·ΔQ/Q`` of it; contracts are
continuous (no lot size); "into a lower tier" means the size is brought to the lower tier's cap,
nudged a relative 1e-9 below it so that rounding cannot leave it in the tier above.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from html import escape
from typing import Literal, NamedTuple, get_args

import numpy as np
from numpy.typing import ArrayLike

from . import _check
from .isolated import IsolatedPosition
from .rules import Policy, Rulebook

POLICIES: tuple[str, ...] = get_args(Policy)
_NUDGE = 1e-9  # relative: a size this far below a boundary is safely in the lower tier


@dataclass(frozen=True)
class Execution:
    """How a liquidation order fills.

    ``model="bankruptcy"``: at the bankruptcy price (no surplus, no loss). ``model="mark"``: at the
    mark. ``model="impact"``: a simple order book whose price moves linearly with the notional
    sold — selling ``V`` into ``depth`` (notional per 100 % move) fills on average at
    ``mark·(1 ∓ V/(2·depth))`` (worse for the side being closed).
    """

    model: Literal["bankruptcy", "mark", "impact"] = "impact"
    depth: float = 50_000_000.0

    def __post_init__(self) -> None:
        _check.one_of("model", self.model, ("bankruptcy", "mark", "impact"))
        _check.positive("depth", self.depth)

    def price(self, pos: IsolatedPosition, qty: float, mark: float, bankruptcy: float) -> float:
        """Average fill price of closing ``qty`` contracts of ``pos`` at ``mark``."""
        if self.model == "bankruptcy":
            return bankruptcy
        if self.model == "mark":
            return mark
        notional = float(pos.table.contract.usd_value(qty, mark))
        move = min(notional / (2 * self.depth), 0.99)  # a book cannot fill below zero
        return mark * (1 - float(pos.side) * move)


class LiquidationEvent(NamedTuple):
    """One step of the procedure (amounts in the settle currency).

    ``surplus`` is the risk fund's gain (> 0) or loss (< 0) on the step: the closed contracts taken
    over at the bankruptcy price and sold at the execution price.
    """

    time: float
    mark: float
    action: str
    contracts_closed: float
    contracts_left: float
    tier_before: int
    tier_after: int
    health_before: float
    health_after: float
    execution_price: float | None
    bankruptcy_price: float | None
    margin_used: float
    surplus: float


@dataclass(frozen=True)
class LiquidationLog:
    """The event log of :func:`liquidate`, with the final position (None when closed)."""

    events: tuple[LiquidationEvent, ...]
    final: IsolatedPosition | None
    start: IsolatedPosition

    @property
    def contracts_to_market(self) -> float:
        """Contracts the venue sent to the market."""
        return float(sum(e.contracts_closed for e in self.events))

    @property
    def fund_result(self) -> float:
        """Net surplus (> 0) or loss (< 0) for the risk fund."""
        return float(sum(e.surplus for e in self.events))

    @property
    def margin_lost(self) -> float:
        """Margin the trader lost to liquidation (the closed shares, settled at bankruptcy)."""
        return float(sum(e.margin_used for e in self.events))

    def trader_equity(self, price: float) -> float:
        """The trader's remaining equity at ``price``: the surviving position's, or 0 when closed."""
        return 0.0 if self.final is None else float(self.final.equity(price))

    COLUMNS = ("time", "mark", "action", "closed", "left", "tier", "health before", "health after",
               "fill", "bankruptcy", "surplus")

    def rows(self) -> list[tuple[str, ...]]:
        """The log formatted for display."""
        def num(x: float | None, fmt: str = ",.2f") -> str:
            return "—" if x is None else format(x, fmt)

        return [(num(e.time, ",.0f"), num(e.mark), e.action, num(e.contracts_closed, ",.6g"),
                 num(e.contracts_left, ",.6g"), f"{e.tier_before}→{e.tier_after}", num(e.health_before),
                 num(e.health_after), num(e.execution_price), num(e.bankruptcy_price), num(e.surplus))
                for e in self.events]

    def __repr__(self) -> str:
        lines = [self.COLUMNS, *self.rows()]
        widths = [max(len(r[i]) for r in lines) for i in range(len(self.COLUMNS))]
        return "\n".join("  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{escape(c)}</th>" for c in self.COLUMNS)
        body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in self.rows())
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _qty_at_size(pos: IsolatedPosition, size: float, mark: float) -> float:
    """Contracts whose basis size is ``size`` at ``mark`` (just inside the lower tier)."""
    return float(pos.table.contracts_at(size * (1 - _NUDGE), mark))


def _target_qty(pos: IsolatedPosition, mark: float, policy: Policy, fraction: float | None) -> float:
    """Contracts to keep after one step of ``policy`` (0: close in full)."""
    q = float(pos.qty)
    k = pos.tier(mark)  # 1-based
    if policy == "full" or k == 1:
        return 0.0
    if policy == "fraction":
        return q * (1 - fraction)
    if policy in ("one-tier", "to-cap", "two-tiers"):
        target = max(k - (2 if policy == "two-tiers" else 1), 1)  # 1-based tier to land in
        return _qty_at_size(pos, float(pos.table.caps[target - 1]), mark)
    # lowest-sufficient: the largest remaining size, tier by tier downwards, that is healthy
    for j in range(k - 1, 0, -1):
        keep = _qty_at_size(pos, float(pos.table.caps[j - 1]), mark)
        if _after(pos, keep).health(mark) > 0:
            return keep
    return 0.0


def _after(pos: IsolatedPosition, keep: float) -> IsolatedPosition:
    """The position with ``keep`` contracts and its proportional share of the margin."""
    q = float(pos.qty)
    return replace(pos, qty=np.asarray(keep), margin=pos.margin * keep / q)


def liquidate(
    position: IsolatedPosition,
    times: ArrayLike,
    marks: ArrayLike,
    policy: Policy | Rulebook = "one-tier",
    fraction: float | None = None,
    execution: Execution = Execution(),
    orders_requirement: float = 0.0,
) -> LiquidationLog:
    """Run the stepwise liquidation procedure of an isolated position along a mark-price path.

    Parameters
    ----------
    position : IsolatedPosition
        A single position (scalar fields).
    times, marks : array (T,)
        The path: times (sorted) and mark prices (> 0).
    policy : str or Rulebook
        "one-tier", "two-tiers", "lowest-sufficient", "to-cap" (the lower tier's cap: the same
        target as "one-tier", HTX's wording), "fraction" or "full"; or a venue's
        :class:`~tiermargin.rules.Rulebook`, whose ``policy`` and ``fraction`` are used.
    fraction : float
        Share closed per step for ``policy="fraction"`` (e.g. 0.2), in (0, 1); not given with a
        rulebook.
    execution : Execution
        Fill model (default: a linear-impact book).
    orders_requirement : float
        Requirement held by open orders, added to the position's; cancelled at the first trigger
        (step 1), then the position is re-checked.

    Returns
    -------
    LiquidationLog
        One event per step: cancel, reduce or close (times, marks, contracts, tiers, health before
        and after, execution and bankruptcy prices, margin used, fund surplus/loss).
    """
    if not isinstance(position, IsolatedPosition) or np.ndim(position.qty):
        raise TypeError("position must be a single IsolatedPosition")
    policy, fraction = _policy_of(policy, fraction)
    if (policy == "fraction") != (fraction is not None):
        raise ValueError("fraction is required exactly when policy is 'fraction'")
    if fraction is not None:
        _check.rate("fraction", fraction, low_open=True)
    m = _check.positive("marks", marks).reshape(-1)
    t = _check.finite("times", times).reshape(-1)
    if t.size != m.size:
        raise ValueError(f"times and marks must have the same length, got {t.size} and {m.size}")
    if np.any(np.diff(t) < 0):
        raise ValueError("times must be sorted in increasing order")
    if not isinstance(execution, Execution):
        raise TypeError("execution must be an Execution")
    orders = float(_check.nonnegative("orders_requirement", orders_requirement))

    pos: IsolatedPosition | None = position
    events: list[LiquidationEvent] = []
    for time, mark in zip(t.tolist(), m.tolist()):
        if pos is None:
            break
        if orders and float(pos.health(mark)) - orders <= 0:
            before = float(pos.health(mark)) - orders
            orders = 0.0
            events.append(LiquidationEvent(time, mark, "cancel orders", 0.0, float(pos.qty), pos.tier(mark),
                                           pos.tier(mark), before, float(pos.health(mark)), None, None, 0.0, 0.0))
        while pos is not None and float(pos.health(mark)) - orders <= 0:
            pos, event = _step(pos, time, mark, policy, fraction, execution)
            events.append(event)
    return LiquidationLog(tuple(events), pos, position)


def _policy_of(policy: Policy | Rulebook, fraction: float | None) -> tuple[Policy, float | None]:
    """The policy and fraction to run, from a policy name or a venue's rulebook."""
    if isinstance(policy, Rulebook):
        if fraction is not None:
            raise ValueError("fraction comes from the rulebook; do not pass it with a Rulebook")
        if policy.policy is None:
            raise ValueError(f"rulebook {policy.id!r} has no liquidation policy (its sources are silent); "
                             f"pass policy= one of {POLICIES}")
        return policy.policy, policy.fraction
    _check.one_of("policy", policy, POLICIES)
    return policy, fraction


def _step(pos: IsolatedPosition, time: float, mark: float, policy: Policy, fraction: float | None,
          execution: Execution) -> tuple[IsolatedPosition | None, LiquidationEvent]:
    q = float(pos.qty)
    keep = _target_qty(pos, mark, policy, fraction)
    closed = q - keep
    bp = pos.bankruptcy_price()
    bankruptcy = float(bp.price)  # health ≤ 0 implies equity reaches 0 somewhere: it exists
    fill = execution.price(pos, closed, mark, bankruptcy)
    surplus = float(pos.table.contract.upnl(pos.side, closed, bankruptcy, fill))
    used = float(pos.margin) * closed / q
    after = _after(pos, keep) if keep > 0 else None
    event = LiquidationEvent(
        time, mark, "close" if after is None else "reduce", closed, keep, pos.tier(mark),
        0 if after is None else after.tier(mark), float(pos.health(mark)),
        0.0 if after is None else float(after.health(mark)), fill, bankruptcy, used, surplus)
    return after, event
