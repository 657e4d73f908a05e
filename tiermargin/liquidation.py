"""Stepwise (tier-down) liquidation: the procedure the source articles describe, step by step.

When a position's health reaches 0 (margin ratio ≤ 100 %), the venue does not simply close it:

1. it cancels open orders, freeing their requirement, and re-checks;
2. it reduces the position so that it falls into a lower tier — one tier down (OKX margin), two
   tiers (OKX swaps), the lowest sufficient tier in one order (Bybit, BitMEX), down to the lower
   tier's cap (HTX) or a fixed fraction (Drift 25 %) — and re-checks against the new tier's
   requirement;
3. it repeats until the position is healthy or closed; a position in tier 1 is closed in full.

Hyperliquid documents a procedure of its own (``policy="hyperliquid"``, parameters in
:class:`~tiermargin.rules.PartialLiquidation`): a market order for 20 % of a position worth more than
100,000 USDC, for the whole position otherwise and for 30 s after a partial one, and the backstop
(the liquidator vault takes the position over) once equity is at or below 2/3 of the requirement.

**Settlement** — where the closed contracts are settled — is a venue rule
(:attr:`~tiermargin.rules.Rulebook.settlement`), applied by every engine here:

* ``"bankruptcy"`` (the source articles: "the system uses the bankruptcy price ... as a reference for
  executing market orders"): the trader's closed share is settled at the bankruptcy price ``B`` — its
  share of the margin is used up — and the venue sells it in the market at the fill ``F``. A fill
  better than ``B`` leaves a **surplus** for the risk fund; a worse fill is a **loss** the fund covers:
  ``UPL(closed, B, F)`` (``docs/formulas.md#settlement``).
* ``"fill"`` (Hyperliquid: "Unlike CEXs there is no clearance fee on liquidations", "allows the
  liquidated user to keep any remaining margin"): the closed contracts are settled at the fill, so the
  trader keeps what margin the fill leaves and the fund gains nothing. Only a fill worse than the step's
  bankruptcy price ``P`` — the fill at which the trader's equity after the step would be 0, the
  position's bankruptcy price when the step closes it — would take the trader's equity below 0: the
  contracts are then settled at ``P`` and the fund pays ``UPL(closed, P, F)``. The remaining contracts
  keep the whole margin plus the PnL realized on the closed ones (an isolated position is one margin
  pool); where that would leave them no margin, the step closes the whole position. A position whose
  equity at the mark is already ≤ 0 has no margin for a fill to leave and is settled at ``B``, as is
  what Hyperliquid's backstop takes over.

A position with **no bankruptcy price** — its equity stays positive at every price, e.g. a 1x long whose
requirement is valued at entry, liquidated where its equity falls to that fixed requirement — has
nothing to settle at but the mark, under either rule: its closed contracts realize their PnL at the
mark, the fund gets ``UPL(closed, mark, F)``, and a close pays the trader the equity at the mark (as
:func:`liquidate_account` settles an account without one); the event's ``bankruptcy_price`` is None.

Each event's ``settlement_price`` is the price its contracts were settled at, and its ``surplus`` is
``UPL(closed, settlement price, fill)``. :func:`liquidate` walks a price path and returns the event log,
one row a step.

Model choices (documented, not hidden): the margin of an isolated position is shared by its
contracts in proportion, so closing ``ΔQ`` of ``Q`` contracts uses ``M·ΔQ/Q`` of it; contracts are
continuous (no lot size); "into a lower tier" means the size is brought to the lower tier's cap,
nudged a relative 1e-9 below it so that rounding cannot leave it in the tier above.

:func:`liquidate_account` runs the same procedure on a cross-margin
:class:`~tiermargin.cross.CrossAccount` (the account analog, with its own model choices in its
docstring): one health figure for the whole account, open orders cancelled first, then one tier group
at a time reduced by the same policy, each closed share settled at the price of its underlying at
which the *account's* equity reaches 0 (or at the fill, by the same rule as above) — for an account
holding one position, exactly the isolated procedure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from html import escape
from typing import Literal, NamedTuple, get_args

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _check
from ._check import FloatArray
from .contracts import Contract
from .cross import CrossAccount, Instrument, Position, _first_crossing
from .derivation import Derivation, Line, num, pct
from .isolated import IsolatedPosition
from .isolated_derivations import _requirement_lines
from .rules import PartialLiquidation, Policy, Rulebook, Settlement, _check_fraction
from .tiers import TierTable

POLICIES: tuple[str, ...] = get_args(Policy)
SETTLEMENTS: tuple[str, ...] = get_args(Settlement)
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
        _check.one_number("depth", self.depth, _check.positive)

    def price(self, pos: IsolatedPosition, qty: float, mark: float, bankruptcy: float) -> float:
        """Average fill price of closing ``qty`` contracts (> 0, at most the position's) of ``pos`` at ``mark``."""
        if not isinstance(pos, IsolatedPosition) or np.ndim(pos.qty):
            raise TypeError(f"pos must be a single IsolatedPosition, got {type(pos).__name__}")
        q = _check.one_number("qty", qty, _check.positive)
        if q > float(pos.qty):
            raise ValueError(f"qty must be at most the position's {float(pos.qty):,.10g} contracts, got {qty!r}")
        return self.fill_price(pos.table.contract, float(pos.side), q, mark, bankruptcy)

    def fill_price(self, contract: Contract, side: float, qty: float, mark: float, bankruptcy: float) -> float:
        """Average fill price of closing ``qty`` contracts (> 0) of ``contract`` held on ``side`` (+1 long,
        −1 short) at ``mark`` (> 0); ``bankruptcy`` (> 0) is the price the closed contracts are settled at."""
        if not isinstance(contract, Contract):
            raise TypeError(f"contract must be a Contract, got {type(contract).__name__}")
        side = _check.one_number("side", _check.side("side", side))
        qty = _check.one_number("qty", qty, _check.positive)
        mark = _check.one_number("mark", mark, _check.positive)
        bankruptcy = _check.one_number("bankruptcy", bankruptcy, _check.positive)
        if self.model == "bankruptcy":
            return bankruptcy
        if self.model == "mark":
            return mark
        notional = float(contract.usd_value(qty, mark))
        move = min(notional / (2 * self.depth), 0.99)  # a book cannot fill below zero
        return mark * (1 - side * move)


class LiquidationEvent(NamedTuple):
    """One step of the procedure (amounts in the settle currency).

    ``action`` is "cancel orders", "reduce", "close" or "backstop" (Hyperliquid's liquidator vault takes
    the whole position over). ``settlement_price`` is where the closed contracts were settled (the
    module docstring): the bankruptcy price, the fill, or the step's bankruptcy price where the fill is
    worse; None for a "cancel orders" event. ``surplus`` is the risk fund's gain (> 0) or loss (< 0) on
    the step, ``UPL(closed, settlement price, execution price)``: the closed contracts taken over at the
    settlement price and sold at the execution price. ``margin_used`` is the margin the step took from
    the trader (its realized loss on the closed contracts, their share of the margin at the bankruptcy
    price); ``returned`` what it paid back when it closed the position (settlement at the fill: the
    margin the fill left; else 0).

    In an account's log (:func:`liquidate_account`): ``symbol`` names the reduced position(s) (the
    cancelled orders' symbols for a "cancel orders" event); ``mark`` is the price of its underlying;
    tiers, ``contracts_closed`` and ``contracts_left`` are its tier group's (``contracts_closed``: the
    net contracts sent to the market); health is the account's; ``bankruptcy_price`` is None where
    the closed contracts were settled at the mark (no bankruptcy price on the adverse side);
    ``margin_used`` is the trader's realized loss on the closed contracts (negative: a realized gain),
    and ``returned`` is 0 (what is left stays in the account). A "cancel orders" event of an account is
    account-level: tiers 0, no contracts, the mark of the first cancelled order's underlying.
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
    symbol: str = ""
    settlement_price: float | None = None
    returned: float = 0.0


class _EventLog:
    """What both logs share: the fund's totals and the text/HTML table (a ``symbol`` column is shown
    when an event names one, a ``settled`` column, the settlement price, when the log settles at the
    fill)."""

    events: tuple[LiquidationEvent, ...]
    settlement: Settlement

    @property
    def contracts_to_market(self) -> float:
        """Contracts the venue sent to the market."""
        return float(sum(e.contracts_closed for e in self.events))

    @property
    def fund_result(self) -> float:
        """Net surplus (> 0) or loss (< 0) for the risk fund."""
        return float(sum(e.surplus for e in self.events))

    COLUMNS = ("time", "mark", "action", "closed", "left", "tier", "health before", "health after",
               "fill", "bankruptcy", "surplus")

    def _with_symbol(self) -> bool:
        return any(e.symbol for e in self.events)

    def columns(self) -> tuple[str, ...]:
        """Column headers of :meth:`rows`."""
        head, tail = self.COLUMNS[:3], self.COLUMNS[3:-1]
        return (*head, *(("symbol",) if self._with_symbol() else ()), *tail,
                *(("settled",) if self.settlement == "fill" else ()), self.COLUMNS[-1])

    def rows(self) -> list[tuple[str, ...]]:
        """The log formatted for display."""
        def num(x: float | None, fmt: str = ",.2f") -> str:
            return "—" if x is None else format(x, fmt)

        symbol, settled = self._with_symbol(), self.settlement == "fill"
        return [(num(e.time, ",.0f"), num(e.mark), e.action, *((e.symbol,) if symbol else ()),
                 num(e.contracts_closed, ",.6g"), num(e.contracts_left, ",.6g"), f"{e.tier_before}→{e.tier_after}",
                 num(e.health_before), num(e.health_after), num(e.execution_price), num(e.bankruptcy_price),
                 *((num(e.settlement_price),) if settled else ()), num(e.surplus))
                for e in self.events]

    def __repr__(self) -> str:
        columns = self.columns()
        lines = [columns, *self.rows()]
        widths = [max(len(r[i]) for r in lines) for i in range(len(columns))]
        return "\n".join("  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{escape(c)}</th>" for c in self.columns())
        body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in self.rows())
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


@dataclass(frozen=True, repr=False)
class LiquidationLog(_EventLog):
    """The event log of :func:`liquidate`, with the final position (None when closed), the settlement
    it ran with and the time of the trader's last partial liquidation under ``policy="hyperliquid"``
    (None: none; pass it on to a later :func:`liquidate` of the same trader)."""

    events: tuple[LiquidationEvent, ...]
    final: IsolatedPosition | None
    start: IsolatedPosition
    settlement: Settlement = "bankruptcy"
    last_partial: float | None = None
    # what explain() needs to redo a step; not compared (two logs with the same events are equal, as before)
    positions: tuple[IsolatedPosition, ...] = field(default=(), compare=False)
    """The position before each event (``positions[i]`` is what ``events[i]`` acted on)."""
    policy: Policy | None = field(default=None, compare=False)
    """The procedure's policy (None: a log not made by :func:`liquidate`)."""
    fraction: float | None = field(default=None, compare=False)
    partial: PartialLiquidation | None = field(default=None, compare=False)
    execution: Execution | None = field(default=None, compare=False)
    orders_requirement: float = field(default=0.0, compare=False)
    """The open orders' requirement the log started with."""
    prior_partial: float | None = field(default=None, compare=False)
    """The ``last_partial`` :func:`liquidate` was given (the cooldown before the path)."""

    def explain(self, step: int) -> Derivation:
        """How event ``step`` was decided and settled, by hand: :func:`explain_step`."""
        return explain_step(self, step)

    def explain_path(self, what: Literal["tier", "left"] = "tier") -> Derivation:
        """The steps one after another, by hand: each step's :meth:`explain` (keys prefixed ``step{k}_``),
        then one line ``item_k`` per step — the tier after it (0: closed; ``what="tier"``) or the contracts
        left (``what="left"``), equal to the events' ``tier_after`` / ``contracts_left``.

        Examples
        --------
        >>> import tiermargin as tm
        >>> pos = tm.IsolatedPosition.open(tm.load_table("binance-usdm-btcusdt-2021"), "long", 200, 60_000, 10)
        >>> log = liquidate(pos, [0], [54_500], "one-tier", execution=Execution("bankruptcy"))
        >>> d = log.explain_path()
        >>> [d.line(f"item_{k}").value for k in range(1, len(log.events) + 1)] == [e.tier_after for e in log.events]
        True
        """
        _check.one_of("what", what, ("tier", "left"))
        lines: list[Line] = []
        for k in range(len(self.events)):
            lines += [replace(ln, key=f"step{k + 1}_{ln.key}") for ln in self.explain(k).lines]
        table = self.start.table
        for k, pos in enumerate(self.positions):
            d = self.explain(k)
            keep = float(d.line("keep").value)
            if what == "left":
                lines.append(Line(f"item_{k + 1}", f"Q_keep, step {k + 1}", "", keep, "contracts left"))
            elif keep == 0:
                lines.append(Line(f"item_{k + 1}", f"tier after step {k + 1}", "", 0.0, "closed in full"))
            else:
                size_lines, _ = _tier_lines(replace(pos, qty=np.asarray(keep)), self.events[k].mark)
                tier = int(table.tier_index(float(size_lines[0].value))) + 1  # the kept size's row of the table
                lines.append(Line(f"item_{k + 1}", f"tier after step {k + 1}", "", float(tier),
                                  d.line("tier_after").why))
        if not lines:
            lines.append(Line("no_step", "", "", None, "healthy at the mark: no step"))
        return Derivation(f"The liquidation path: {len(self.events)} steps ({self.policy})", tuple(lines),
                          f"policy {self.policy!r}, re-checked after each step", _POLICY_SOURCE)

    def explain_equity(self, price: float) -> Derivation:
        """The trader's remaining equity at ``price`` (:meth:`trader_equity`), by hand: the last step's
        lines up to the kept contracts' margin, then ``E = M_after + UPL(Q_keep, EP, price)``; for a closed
        position, what the steps paid back.

        Examples
        --------
        >>> import tiermargin as tm
        >>> pos = tm.IsolatedPosition.open(tm.load_table("binance-usdm-btcusdt-2021"), "long", 200, 60_000, 10)
        >>> log = liquidate(pos, [0], [55_000], "lowest-sufficient", execution=Execution("bankruptcy"))
        >>> abs(log.explain_equity(55_000).result - log.trader_equity(55_000)) < 1e-6
        True
        """
        p = _check.one_number("price", price, _check.positive)
        if not self.events:
            raise ValueError("the log has no step: the equity is the position's own (position.explain('equity'))")
        d = self.explain(len(self.events) - 1)
        if self.final is None:
            shown = [ln for k in range(len(self.events)) for ln in self.explain(k).lines if ln.key == "returned"]
            total = float(sum(ln.value for ln in shown))
            return Derivation("The trader's equity after the liquidation", (
                *d.lines[:d.line_number("keep")],
                Line("equity", "E = Σ returned", " + ".join(num(ln.value) for ln in shown), total, "closed in full")),
                d.rule, d.source)
        k = d.line_number("margin_after")
        f = self.final
        upl = _upl_line("upl", f.table.contract, float(f.side), float(f.qty), float(f.entry), p,
                        "UPL", "a = EP, b = the price", "Q_keep")
        m = float(d.lines[k - 1].value)
        return Derivation("The trader's equity after the liquidation", (
            *d.lines[:k], upl,
            Line("equity", "E = M_after + UPL", f"{num(m)} + {num(upl.value)}", m + float(upl.value),
                 "the remaining position's equity")), d.rule, d.source)

    @property
    def margin_lost(self) -> float:
        """Margin the liquidation took from the trader: the closed shares' margin, settled at the
        bankruptcy price, or the loss realized at the fill. The rest of the starting margin is the
        final position's, or was paid back on the close (:attr:`returned`)."""
        return float(sum(e.margin_used for e in self.events))

    @property
    def returned(self) -> float:
        """What the liquidation paid back to the trader when it closed the position (0 under settlement
        at the bankruptcy price: the margin is used up)."""
        return float(sum(e.returned for e in self.events))

    def trader_equity(self, price: float) -> float:
        """The trader's remaining equity at ``price``: the surviving position's, or what a close paid
        back (:attr:`returned`)."""
        p = _check.one_number("price", price, _check.positive)
        return self.returned if self.final is None else float(self.final.equity(p))


@dataclass(frozen=True, repr=False)
class AccountLiquidationLog(_EventLog):
    """The event log of :func:`liquidate_account`: the start and final accounts (the final one may hold
    no positions) and the account after each event (``accounts[i]`` follows ``events[i]``)."""

    events: tuple[LiquidationEvent, ...]
    final: CrossAccount
    start: CrossAccount
    accounts: tuple[CrossAccount, ...] = ()
    settlement: Settlement = "bankruptcy"

    def trader_equity(self, prices: Mapping[str, float]) -> float:
        """The final account's equity at ``prices`` (in its :attr:`~tiermargin.cross.CrossAccount.currency`)."""
        return float(self.final.state(prices).equity)


def _qty_at_size(table: TierTable, size: float, price: float) -> float:
    """Contracts whose basis size is ``size`` at ``price`` (just inside the lower tier)."""
    return float(table.contracts_at(size * (1 - _NUDGE), price))


class _Procedure(NamedTuple):
    """A liquidation procedure: the policy, its fraction or Hyperliquid parameters, and the settlement."""

    policy: Policy
    fraction: float | None
    settlement: Settlement
    partial: PartialLiquidation | None


def _procedure(policy: Policy | Rulebook, fraction: float | None, settlement: Settlement | None) -> _Procedure:
    """The procedure to run, from a policy name (with ``fraction`` and ``settlement``) or a venue's rulebook.

    With a name, the settlement defaults to the fill for ``"hyperliquid"`` (the procedure Hyperliquid
    documents settles there) and to the bankruptcy price otherwise, and ``"hyperliquid"`` runs with
    Hyperliquid's documented parameters (:class:`~tiermargin.rules.PartialLiquidation`).
    """
    if isinstance(policy, Rulebook):
        for name, given in (("fraction", fraction), ("settlement", settlement)):
            if given is not None:
                raise ValueError(f"{name} comes from the rulebook; do not pass it with a Rulebook")
        if policy.policy is None:
            raise ValueError(f"rulebook {policy.id!r} has no liquidation policy (its sources are silent); "
                             f"pass policy= one of {POLICIES}")
        return _Procedure(policy.policy, policy.fraction, policy.settlement, policy.partial)
    _check.one_of("policy", policy, POLICIES)
    if (policy == "fraction") != (fraction is not None):
        raise ValueError("fraction is required exactly when policy is 'fraction'")
    if fraction is not None:
        fraction = _check_fraction(fraction)
    chosen = ("fill" if policy == "hyperliquid" else "bankruptcy") if settlement is None else settlement
    _check.one_of("settlement", chosen, SETTLEMENTS)
    return _Procedure(policy, fraction, chosen, PartialLiquidation() if policy == "hyperliquid" else None)


def _partial_keep(partial: PartialLiquidation, contracts: ArrayLike, usd: ArrayLike, since: ArrayLike) -> FloatArray:
    """Contracts a Hyperliquid market order keeps (vectorized; 0: the whole position): ``1 − share`` of
    them where the position is worth more than ``above`` USD at the mark and the trader's last partial
    liquidation is at least ``cooldown`` seconds old (``since``, ∞: none), else none."""
    q = np.asarray(contracts, dtype=np.float64)
    partial_order = (np.asarray(usd) > partial.above) & (np.asarray(since) >= partial.cooldown)
    return np.where(partial_order, q * (1 - partial.share), 0.0)


def _is_backstop(procedure: _Procedure, equity: ArrayLike, requirement: ArrayLike) -> NDArray[np.bool_]:
    """Where Hyperliquid's backstop takes the position over: equity at or below ``backstop`` × requirement
    (vectorized; never under another policy, nor without a backstop share)."""
    part = procedure.partial
    if procedure.policy != "hyperliquid" or part is None or part.backstop is None:
        return np.zeros(np.shape(equity), dtype=bool)
    return np.asarray(equity) <= part.backstop * np.asarray(requirement)


def _equity_after_fill(contract: Contract, side: ArrayLike, closed: ArrayLike, equity: ArrayLike, mark: ArrayLike,
                       fill: ArrayLike) -> FloatArray:
    """The trader's equity after ``closed`` contracts are settled at ``fill`` (vectorized):
    ``equity + UPL(side, closed, mark, fill)``, in the price coordinate ``equity + σ·s·closed·FV·(u_F − u_m)``."""
    sq = contract.sigma * np.asarray(side) * np.asarray(closed) * contract.face_value
    return np.asarray(equity, dtype=np.float64) + sq * (contract.coordinate(fill) - contract.coordinate(mark))


def _settlement_price(contract: Contract, side: ArrayLike, closed: ArrayLike, equity: ArrayLike, mark: ArrayLike,
                      fill: ArrayLike) -> FloatArray:
    """Where settlement at the fill settles ``closed`` contracts (vectorized): the fill, unless it would
    take the trader's equity (> 0 at ``mark``) below 0 (:func:`_equity_after_fill`); then the step's
    bankruptcy price ``P``, where ``equity + UPL(side, closed, mark, P) = 0``.

    In the price coordinate ``u`` the equity after the fill is ``equity + σ·s·closed·FV·(u_F − u_m)``, so
    ``u_P = u_m − equity/(σ·s·closed·FV)``; it is > 0 wherever the fill is worse (``u_F`` lies beyond it).
    """
    u_m, u_f = contract.coordinate(mark), contract.coordinate(fill)
    sq = contract.sigma * np.asarray(side) * np.asarray(closed) * contract.face_value
    eq = np.asarray(equity, dtype=np.float64)
    short = _equity_after_fill(contract, side, closed, eq, mark, fill) < 0  # the trader's equity would go negative
    with np.errstate(divide="ignore", invalid="ignore"):
        u_p = np.where(short, u_m - eq / np.where(short, sq, 1.0), u_f)
    return np.where(short, np.asarray(contract.price_of(u_p), dtype=np.float64), np.asarray(fill, dtype=np.float64))


def _target_qty(pos: IsolatedPosition, mark: float, procedure: _Procedure,
                healthy: Callable[[float], bool]) -> float:
    """Contracts to keep after one step of the procedure's tier policy (0: close in full).

    The tier is the one of the size at the price that values the requirement (the entry price with
    ``requirement_at="entry"``), so the lower tier's cap is converted to contracts at that price.
    """
    value_at = float(np.asarray(pos._valuation_price(mark)))
    return _target(pos.table, float(pos.qty), pos.tier(mark), value_at, procedure.policy, procedure.fraction, healthy)


def _target(table: TierTable, contracts: float, tier: int, price: float, policy: Policy, fraction: float | None,
            healthy: Callable[[float], bool]) -> float:
    """Contracts to keep after one step of ``policy`` (a tier policy, "fraction" or "full") on ``contracts``
    in 1-based ``tier`` at ``price`` (0: close in full); ``healthy(keep)`` says whether keeping ``keep``
    leaves the position (account) healthy."""
    if policy == "full" or tier == 1:
        return 0.0
    if policy == "fraction":
        return contracts * (1 - fraction)
    if policy in ("one-tier", "to-cap", "two-tiers"):
        target = max(tier - (2 if policy == "two-tiers" else 1), 1)  # 1-based tier to land in
        return _qty_at_size(table, float(table.caps[target - 1]), price)
    # lowest-sufficient: the largest remaining size, tier by tier downwards, that is healthy
    for j in range(tier - 1, 0, -1):
        keep = _qty_at_size(table, float(table.caps[j - 1]), price)
        if healthy(keep):
            return keep
    return 0.0


def _after(pos: IsolatedPosition, keep: float) -> IsolatedPosition:
    """The position with ``keep`` contracts and its proportional share of the margin."""
    q = float(pos.qty)
    return replace(pos, qty=np.asarray(keep), margin=pos.margin * keep / q)


class _Settled(NamedTuple):
    """One step of an isolated position, settled: the position after (None: closed) and the money."""

    after: IsolatedPosition | None
    fill: float
    bankruptcy: float | None  # None: the position has no bankruptcy price (settled at the mark)
    price: float  # where the closed contracts were settled
    used: float  # margin taken from the trader
    surplus: float  # the fund's result
    returned: float  # paid back to the trader on a close


def _settled(pos: IsolatedPosition, keep: float, mark: float, execution: Execution, at_bankruptcy: bool,
             settlement: Settlement) -> _Settled | None:
    """``pos`` brought to ``keep`` contracts at ``mark`` and settled (the module docstring): at its
    bankruptcy price where ``at_bankruptcy``, else at the fill; None where settlement at the fill would
    leave the kept contracts no margin.

    A step settled at the bankruptcy price leaves the kept contracts their share of the margin; in a log
    that settles at the fill (a backstop, a bankrupt position) that share is the margin less the one used,
    as every other step of such a log computes it (:func:`tiermargin.replay.replay` relies on it).
    """
    c = pos.table.contract
    q, side, margin = float(pos.qty), float(pos.side), float(pos.margin)
    closed = q - keep
    bp = pos.bankruptcy_price()
    if not bp.exists:  # equity > 0 at every price (a 1x long valued at entry): nothing to settle at but the mark
        fill = execution.price(pos, closed, mark, mark)
        used = -float(c.upnl(side, closed, pos.entry, mark))
        surplus = float(c.upnl(side, closed, mark, fill))
        if keep == 0:
            return _Settled(None, fill, None, mark, used, surplus, margin - used)
        return _Settled(replace(pos, qty=np.asarray(keep), margin=np.asarray(margin - used)), fill, None, mark, used,
                        surplus, 0.0)
    bankruptcy = float(bp.price)
    fill = execution.price(pos, closed, mark, bankruptcy)
    if at_bankruptcy:
        price, used = bankruptcy, margin * closed / q
    else:
        equity = float(pos.equity(mark))
        price = float(_settlement_price(c, side, closed, equity, mark, fill))
        if keep == 0:  # a close pays back the equity the fill leaves: nothing where settled at bankruptcy
            used = margin - max(float(_equity_after_fill(c, side, closed, equity, mark, fill)), 0.0)
        else:
            used = -float(c.upnl(side, closed, pos.entry, price))
            if margin - used <= 0:
                return None
    surplus = float(c.upnl(side, closed, price, fill))
    if keep == 0:
        return _Settled(None, fill, bankruptcy, price, used, surplus, 0.0 if at_bankruptcy else margin - used)
    proportional = at_bankruptcy and settlement == "bankruptcy"
    after = _after(pos, keep) if proportional else replace(pos, qty=np.asarray(keep), margin=np.asarray(margin - used))
    return _Settled(after, fill, bankruptcy, price, used, surplus, 0.0)


def liquidate(
    position: IsolatedPosition,
    times: ArrayLike,
    marks: ArrayLike,
    policy: Policy | Rulebook = "one-tier",
    fraction: float | None = None,
    execution: Execution = Execution(),
    orders_requirement: float = 0.0,
    settlement: Settlement | None = None,
    last_partial: float | None = None,
) -> LiquidationLog:
    """Run the stepwise liquidation procedure of an isolated position along a mark-price path.

    Parameters
    ----------
    position : IsolatedPosition
        A single position (scalar fields).
    times, marks : array (T,)
        The path: times in seconds (sorted) and mark prices (> 0).
    policy : str or Rulebook
        "one-tier", "two-tiers", "lowest-sufficient", "to-cap" (the lower tier's cap: the same
        target as "one-tier", HTX's wording), "fraction", "hyperliquid" (Hyperliquid's procedure
        with its documented parameters, :class:`~tiermargin.rules.PartialLiquidation`) or "full"; or
        a venue's :class:`~tiermargin.rules.Rulebook`, whose ``policy``, ``fraction``, ``partial``
        and ``settlement`` are used.
    fraction : float
        Share closed per step for ``policy="fraction"`` (e.g. 0.25), in (0, 1); not given with a
        rulebook.
    execution : Execution
        Fill model (default: a linear-impact book).
    orders_requirement : float
        Requirement held by open orders, added to the position's; cancelled at the first trigger
        (step 1), then the position is re-checked.
    settlement : {"bankruptcy", "fill"}, optional
        Where the closed contracts are settled (the module docstring); default the fill for
        ``"hyperliquid"``, else the bankruptcy price; not given with a rulebook.
    last_partial : float, optional
        Time of the trader's last partial liquidation before the path (``policy="hyperliquid"``: its
        cooldown runs from it), e.g. a previous log's :attr:`LiquidationLog.last_partial`.

    Returns
    -------
    LiquidationLog
        One event per step: cancel, reduce, close or backstop (times, marks, contracts, tiers, health
        before and after, execution, bankruptcy and settlement prices, margin used, fund surplus/loss,
        margin paid back).

    Examples
    --------
    Hyperliquid's procedure on its BTC table (tier 1, MMR 1.25 %, up to 150M USDC: a tier-down policy
    would close it in full), fills at the mark: a 10 BTC long at 60,000, 20x (margin 30,000 USDC). At
    57,700 its equity, 7,000, is below the maintenance margin, 7,212.50, and above 2/3 of it; the
    position is worth 577,000 > 100,000, so 2 BTC are sold, settled at the fill: the trader keeps the
    equity and the fund gets nothing. 10 s later, at 57,500, it is liquidatable again, within the 30 s
    cooldown: the rest is closed and the 5,400 of equity left is paid back.

    >>> import tiermargin as tm
    >>> pos = tm.IsolatedPosition.open(tm.load_table("hyperliquid-btc-mainnet"), "long", 10, 60_000, 20)
    >>> log = liquidate(pos, [0, 10, 20], [60_000, 57_700, 57_500], "hyperliquid", execution=Execution("mark"))
    >>> [(e.time, e.action, e.contracts_closed, e.surplus) for e in log.events], log.returned
    ([(10.0, 'reduce', 2.0, 0.0), (20.0, 'close', 8.0, 0.0)], 5400.0)

    Settled at the bankruptcy price instead (57,000), the 20 % uses up its share of the margin and cannot
    restore health; the fund keeps the 7,000 of equity.

    >>> b = liquidate(pos, [0, 10, 20], [60_000, 57_700, 57_500], "hyperliquid", execution=Execution("mark"),
    ...               settlement="bankruptcy")
    >>> [(e.time, e.action) for e in b.events], b.fund_result, b.returned
    ([(10.0, 'reduce'), (10.0, 'close')], 7000.0, 0.0)
    """
    if not isinstance(position, IsolatedPosition) or np.ndim(position.qty):
        raise TypeError("position must be a single IsolatedPosition")
    procedure = _procedure(policy, fraction, settlement)
    t, m = _check.path(times, marks)
    _check_execution(execution)
    orders = _check.one_number("orders_requirement", orders_requirement, _check.nonnegative)
    last = None if last_partial is None else _check.one_number("last_partial", last_partial)

    prior = last
    pos: IsolatedPosition | None = position
    events: list[LiquidationEvent] = []
    positions: list[IsolatedPosition] = []
    i = 0
    while pos is not None and i < t.size:
        # the next trigger, found with one vectorized health evaluation over the rest of the path
        hits = np.flatnonzero(np.asarray(pos.health(m[i:])) - orders <= 0)
        if not hits.size:
            break
        i += int(hits[0])
        time, mark = float(t[i]), float(m[i])
        i += 1
        if orders:
            before = float(pos.health(mark)) - orders
            positions.append(pos)
            orders = 0.0
            events.append(LiquidationEvent(time, mark, "cancel orders", 0.0, float(pos.qty), pos.tier(mark),
                                           pos.tier(mark), before, float(pos.health(mark)), None, None, 0.0, 0.0))
        while pos is not None and float(pos.health(mark)) - orders <= 0:
            positions.append(pos)
            pos, event = _step(pos, time, mark, procedure, execution, last)
            if procedure.policy == "hyperliquid" and pos is not None:
                last = time  # a partial liquidation: the cooldown starts
            events.append(event)
    return LiquidationLog(tuple(events), pos, position, procedure.settlement, last, tuple(positions), procedure.policy,
                          procedure.fraction, procedure.partial, execution, float(orders_requirement), prior)


def _check_execution(execution: Execution) -> None:
    if not isinstance(execution, Execution):
        raise TypeError("execution must be an Execution")


def _step(pos: IsolatedPosition, time: float, mark: float, procedure: _Procedure, execution: Execution,
          last_partial: float | None) -> tuple[IsolatedPosition | None, LiquidationEvent]:
    q = float(pos.qty)
    equity = float(pos.equity(mark))
    backstop = bool(_is_backstop(procedure, equity, pos.requirement(mark)))
    at_bankruptcy = backstop or procedure.settlement == "bankruptcy" or equity <= 0

    def settle(keep: float) -> _Settled | None:
        return _settled(pos, keep, mark, execution, at_bankruptcy, procedure.settlement)

    if backstop:
        keep = 0.0
    elif procedure.policy == "hyperliquid":
        since = np.inf if last_partial is None else time - last_partial
        keep = float(_partial_keep(procedure.partial, q, pos.table.contract.usd_value(q, mark), since))
    else:
        keep = _target_qty(pos, mark, procedure,
                           lambda k: (s := settle(k)) is not None and float(s.after.health(mark)) > 0)
    s = settle(keep)
    if s is None:  # the fill would leave the kept contracts no margin: the step closes the whole position
        keep, s = 0.0, settle(0.0)
    after = s.after
    event = LiquidationEvent(
        time, mark, "backstop" if backstop else "close" if after is None else "reduce", q - keep, keep,
        pos.tier(mark), 0 if after is None else after.tier(mark), float(pos.health(mark)),
        0.0 if after is None else float(after.health(mark)), s.fill, s.bankruptcy, s.used, s.surplus, "",
        s.price, s.returned)
    return after, event


# ---------------------------------------------------------------------- explaining a step
_POLICY_RULE: dict[str, str] = {
    "one-tier": "one tier down: the size is brought just under the cap of the tier below (OKX margin)",
    "to-cap": "down to the lower tier's cap: the size is brought just under the cap of the tier below (HTX)",
    "two-tiers": "two tiers down: the size is brought just under the cap two tiers below, at least tier 1 (OKX swaps)",
    "lowest-sufficient": "the lowest sufficient tier in one order: the largest lower tier's cap at which the position "
                         "is healthy, tier by tier downwards, else in full (Bybit, BitMEX)",
    "fraction": "a fixed fraction of the position per step (Drift 25 %)",
    "hyperliquid": "Hyperliquid's procedure (tiermargin.rules.PartialLiquidation)",
    "full": "closed in full in one order",
}
_POLICY_SOURCE = ("source articles (CoinW; OKX, Bybit, BitMEX, HTX), docs/formulas.md#stepwise-liquidation; "
                  "tiermargin.liquidation module docstring")
_HYPERLIQUID_SOURCE = ("Hyperliquid Docs 'Liquidations'; Hyperliquid Announcements post 307 "
                       "(tiermargin.rules.PartialLiquidation)")
_SETTLEMENT_RULE = {
    "bankruptcy": "settled at the bankruptcy price B: the closed share's margin is used up, the fund gets UPL(ΔQ, B, F) "
                  "(source articles: 'the bankruptcy price ... as a reference for executing market orders')",
    "fill": "settled at the fill F unless it would take the trader's equity below 0, then at the step's bankruptcy "
            "price P (Hyperliquid: 'no clearance fee on liquidations', the user keeps 'any remaining margin')",
}


def _u(contract: Contract, price: float) -> float:
    """The price coordinate ``u`` as a float: ``P`` (linear) or ``1/P`` (inverse)."""
    return price if contract.kind == "linear" else 1.0 / price


def _upl_line(key: str, contract: Contract, side: float, qty: float, a: float, b: float, label: str,
              why: str = "", q: str = "ΔQ") -> Line:
    """``UPL(side, qty, a, b)``, the PnL of ``qty`` contracts held on ``side`` from price ``a`` to ``b``, by hand
    (in :meth:`Contract.upnl <tiermargin.contracts.Contract.upnl>`'s order of operations)."""
    value = contract.sigma * side * qty * contract.face_value * (_u(contract, b) - _u(contract, a))
    fv = contract.face_value
    if contract.kind == "linear":
        formula = f"s × {q} × FV × (b − a)"
        numbers = f"{num(side)} × {num(qty)} × {num(fv)} × ({num(b)} − {num(a)})"
    else:
        formula = f"s × {q} × FV × (1/a − 1/b)"
        numbers = f"{num(side)} × {num(qty)} × {num(fv)} × (1/{num(a)} − 1/{num(b)})"
    return Line(key, f"{label} = {formula}", numbers, value, why)


def surplus_lines(contract: Contract, side: float, closed: float, settlement_price: float, fill: float) -> list[Line]:
    """The risk fund's result of a step, by hand: ``UPL(side, closed, settlement price, fill)``.

    The closed contracts are taken over at the settlement price and sold at the fill: a fill better than
    the settlement price (higher for a long) is a surplus, a worse one a loss.

    Examples
    --------
    >>> from tiermargin.contracts import LINEAR_USDT
    >>> [ln.text() for ln in surplus_lines(LINEAR_USDT, 1.0, 2.0, 57_000, 56_900)]
    ['surplus = s × ΔQ × FV × (b − a) = 1 × 2 × 1 × (56,900 − 57,000) = −200 (a = S, b = F: the fund pays a loss)']
    """
    if not isinstance(contract, Contract):
        raise TypeError(f"contract must be a Contract, got {type(contract).__name__}")
    side = _check.one_number("side", _check.side("side", side))
    closed, settlement_price, fill = (_check.one_number(name, x, _check.positive) for name, x in (
        ("closed", closed), ("settlement_price", settlement_price), ("fill", fill)))
    line = _upl_line("surplus", contract, side, closed, settlement_price, fill, "surplus")
    why = "a = S, b = F: " + ("the fund keeps a surplus" if line.value > 0 else "the fund pays a loss"
                              if line.value < 0 else "nothing for the fund")
    return [replace(line, why=why)]


def _health_lines(pos: IsolatedPosition, mark: float, orders: float = 0.0) -> list[Line]:
    """Equity, requirement (its own derivation: ``position.explain("requirement", mark)``) and health at ``mark``."""
    c, s, q = pos.table.contract, float(pos.side), float(pos.qty)
    upl = _upl_line("upl", c, s, q, float(pos.entry), mark, "UPL", "a = EP, b = mark", "Q")
    equity = float(pos.margin) + float(upl.value)
    req = float(_requirement_lines(pos, mark)[-1].value)
    lines = [upl, Line("equity", "E = M + UPL", f"{num(pos.margin)} + {num(upl.value)}", equity),
             Line("requirement", "requirement", "", req, f"maintenance margin + fee reserve, valued at the "
                                                         f"{pos.requirement_at} (position.explain('requirement', mark))")]
    if orders:
        lines.append(Line("orders", "open orders' requirement", "", orders))
    h = equity - req - orders
    return lines + [Line("health", "health = E − requirement" + (" − orders" if orders else ""),
                         f"{num(equity)} − {num(req)}" + (f" − {num(orders)}" if orders else ""), h,
                         "≤ 0: liquidatable" if h <= 0 else "> 0: healthy")]


def _tier_lines(pos: IsolatedPosition, mark: float) -> tuple[list[Line], int]:
    """The size that values the requirement and its tier (1-based)."""
    t, c = pos.table, pos.table.contract
    at_entry = pos.requirement_at == "entry"
    vp = float(pos.entry) if at_entry else mark
    where = "at entry (requirement valued at entry)" if at_entry else "at the mark"
    if t.basis == "notional":
        op = "×" if c.kind == "linear" else "÷"
        size = Line("size", f"size = Q × FV {op} P", f"{num(pos.qty)} × {num(c.face_value)} {op} {num(vp)}",
                    float(pos.qty) * c.face_value * _u(c, vp), where)
    else:
        size = Line("size", "size = Q", "", float(pos.qty), "contracts basis")
    k = int(t.tier_index(float(size.value))) + 1
    tier_why = t.explain(float(size.value)).line("tier").why if isinstance(t, TierTable) else "one tier (a schedule)"
    return [size, Line("tier", "", "", None, tier_why)], k


def _keep_at_cap(pos: IsolatedPosition, tier: int, mark: float, key: str) -> Line:
    """Contracts just under the cap of 1-based ``tier``, at the price that values the requirement."""
    t, c = pos.table, pos.table.contract
    cap = float(t.caps[tier - 1])
    vp = float(pos.entry) if pos.requirement_at == "entry" else mark
    size = cap * (1 - _NUDGE)
    if t.basis == "notional":
        op = "×" if c.kind == "linear" else "÷"
        return Line(key, f"Q_keep = cap_{tier} × (1 − 1e−9) ÷ (FV {op} P)",
                    f"{num(cap)} × (1 − 1e−9) ÷ ({num(c.face_value)} {op} {num(vp)})",
                    size / (1.0 * c.face_value * _u(c, vp)), f"just under tier {tier}'s cap {num(cap)}")
    return Line(key, f"Q_keep = cap_{tier} × (1 − 1e−9)", f"{num(cap)} × (1 − 1e−9)", size,
                f"just under tier {tier}'s cap {num(cap)} contracts")


def _fill_lines(contract: Contract, side: float, closed: float, mark: float, bankruptcy: float,
                execution: Execution) -> list[Line]:
    """The fill of ``closed`` contracts under the execution model, by hand."""
    if execution.model == "bankruptcy":
        return [Line("fill", "F = B", "", bankruptcy, "execution model 'bankruptcy'")]
    if execution.model == "mark":
        return [Line("fill", "F = mark", "", mark, "execution model 'mark'")]
    fv = contract.face_value
    if contract.kind == "linear":
        v = Line("notional", "V = ΔQ × FV × mark", f"{num(closed)} × {num(fv)} × {num(mark)}", closed * fv * mark, "USD")
    else:
        v = Line("notional", "V = ΔQ × FV", f"{num(closed)} × {num(fv)}", closed * fv * 1.0, "USD")
    move = min(float(v.value) / (2 * execution.depth), 0.99)
    return [v, Line("move", "move = min(V ÷ (2 × depth), 99 %)", f"min({num(v.value)} ÷ (2 × {num(execution.depth)}), "
                    "99 %)", move), Line("fill", "F = mark × (1 − s × move)", f"{num(mark)} × (1 − {num(side)} × "
                                         f"{num(move)})", mark * (1 - side * move),
                                         "a linear-impact book: worse for the side being closed")]


class _HandStep(NamedTuple):
    """A step settled by hand: its lines, the position after (None: closed) and whether the kept contracts
    keep some margin (False: settlement at the fill would leave them none)."""

    lines: list[Line]
    after: IsolatedPosition | None
    ok: bool


def _hand_settle(pos: IsolatedPosition, keep: float, mark: float, execution: Execution, at_bankruptcy: bool,
                 settlement: Settlement) -> _HandStep:
    """``pos`` brought to ``keep`` contracts at ``mark`` and settled, by hand (the module docstring)."""
    c = pos.table.contract
    q, s, m, ep = float(pos.qty), float(pos.side), float(pos.margin), float(pos.entry)
    closed = q - keep
    bp = pos.bankruptcy_price()
    b = float(bp.price) if bp.exists else mark  # no bankruptcy price: the mark is the reference
    lines = [Line("closed", "ΔQ = Q − Q_keep", f"{num(q)} − {num(keep)}", closed),
             Line("bankruptcy_price", "B", "", b, "the position's bankruptcy price (position.explain('bankruptcy_price'))")
             if bp.exists else Line("bankruptcy_price", "", "", None, "no bankruptcy price: equity > 0 at every price")]
    lines += _fill_lines(c, s, closed, mark, b, execution)
    fill = float(lines[-1].value)
    if not bp.exists:
        upl = _upl_line("realized", c, s, closed, ep, mark, "realized", "a = EP, b = mark")
        price, used, at_bankruptcy = mark, -float(upl.value), False
        lines += [Line("settlement_price", "S = mark", "", mark, "settled at the mark, as an account without a "
                       "bankruptcy price is"), upl, Line("margin_used", "used = −realized", "", used)]
    elif at_bankruptcy:
        price, used = b, m * closed / q
        lines += [Line("settlement_price", "S = B", "", b, "settled at the bankruptcy price"),
                  Line("margin_used", "used = M × ΔQ ÷ Q", f"{num(m)} × {num(closed)} ÷ {num(q)}", used,
                       "the closed share of the margin is used up")]
    else:
        equity = m + c.sigma * s * q * c.face_value * (_u(c, mark) - _u(c, ep))
        sq = c.sigma * s * closed * c.face_value
        u_m, u_f = _u(c, mark), _u(c, fill)
        after_fill = equity + sq * (u_f - u_m)
        lines += [Line("equity_after_fill", "E_F = E + σ·s·ΔQ·FV·(u_F − u_m)",
                       f"{num(equity)} + {num(sq)} × ({num(u_f)} − {num(u_m)})", after_fill,
                       "u = P" if c.kind == "linear" else "u = 1/P")]
        if after_fill < 0:
            u_p = u_m - equity / sq
            price = float(c.price_of(u_p))
            lines.append(Line("settlement_price", "S = P, u_P = u_m − E ÷ (σ·s·ΔQ·FV)",
                              f"{num(u_m)} − {num(equity)} ÷ {num(sq)}", price,
                              "the fill would take the trader's equity below 0: the step's bankruptcy price"))
        else:
            price = fill
            lines.append(Line("settlement_price", "S = F", "", fill, "settled at the fill: E_F ≥ 0"))
        if keep == 0:
            used = m - max(after_fill, 0.0)
            lines.append(Line("margin_used", "used = M − max(E_F, 0)", f"{num(m)} − max({num(after_fill)}, 0)", used))
        else:
            upl = _upl_line("realized", c, s, closed, ep, price, "realized", "a = EP, b = S")
            used = -float(upl.value)
            lines += [upl, Line("margin_used", "used = −realized", "", used)]
            if m - used <= 0:
                lines.append(Line("margin_left", "M − used", f"{num(m)} − {num(used)}", m - used,
                                  "≤ 0: the kept contracts would have no margin"))
                return _HandStep(lines, None, False)
    lines += surplus_lines(c, s, closed, price, fill)
    if keep == 0:
        returned = 0.0 if at_bankruptcy else m - used
        lines.append(Line("returned", "returned = 0" if at_bankruptcy else "returned = M − used",
                          "" if at_bankruptcy else f"{num(m)} − {num(used)}", returned,
                          "the margin is used up" if at_bankruptcy else "what the fill leaves the trader"))
        return _HandStep(lines, None, True)
    if at_bankruptcy and settlement == "bankruptcy":
        margin = m * keep / q
        lines.append(Line("margin_after", "M_after = M × Q_keep ÷ Q", f"{num(m)} × {num(keep)} ÷ {num(q)}", margin,
                          "the kept contracts' share"))
    else:
        margin = m - used
        lines.append(Line("margin_after", "M_after = M − used", f"{num(m)} − {num(used)}", margin))
    return _HandStep(lines, replace(pos, qty=np.asarray(keep), margin=np.asarray(margin)), True)


def _last_partial_before(log: LiquidationLog, step: int) -> float | None:
    """The trader's last partial liquidation before event ``step`` (a Hyperliquid "reduce")."""
    last = log.prior_partial
    for e in log.events[:step]:
        if e.action == "reduce":
            last = e.time
    return last


def _policy_lines(log: LiquidationLog, pos: IsolatedPosition, step: int, mark: float, tier: int, at_bankruptcy: bool,
                  execution: Execution) -> tuple[list[Line], float]:
    """The policy's candidates and the contracts it keeps (0: close in full)."""
    q = float(pos.qty)
    e = log.events[step]
    if log.policy == "hyperliquid":
        part = log.partial
        c = pos.table.contract
        usd = q * c.face_value * (mark if c.kind == "linear" else 1.0)
        last = _last_partial_before(log, step)
        since = np.inf if last is None else e.time - last
        big, cooled = usd > part.above, since >= part.cooldown
        numbers = f"{num(q)} × {num(c.face_value)}" + (f" × {num(mark)}" if c.kind == "linear" else "")
        lines = [Line("usd_value", "V = Q × FV" + (" × mark" if c.kind == "linear" else ""), numbers, usd,
                      f"{'>' if big else '≤'} {num(part.above)} USD"),
                 Line("since", "time since the last partial liquidation", "" if last is None else
                      f"{num(e.time)} − {num(last)}", since,
                      f"{'≥' if cooled else '<'} the {num(part.cooldown)} s cooldown")]
        if big and cooled:
            return lines + [Line("keep_partial", "Q_keep = Q × (1 − share)", f"{num(q)} × (1 − {pct(part.share)})",
                                 q * (1 - part.share), "a partial market order")], q * (1 - part.share)
        return lines + [Line("keep_partial", "Q_keep", "", 0.0, "a market order for the whole position")], 0.0
    if log.policy == "full" or tier == 1:
        why = "policy 'full'" if log.policy == "full" else "tier 1: there is no lower tier, the position is closed in full"
        return [Line("rule", "", "", None, why)], 0.0
    if log.policy == "fraction":
        keep = q * (1 - log.fraction)
        return [Line("keep_fraction", "Q_keep = Q × (1 − fraction)", f"{num(q)} × (1 − {pct(log.fraction)})", keep)], keep
    if log.policy in ("one-tier", "to-cap", "two-tiers"):
        down = 2 if log.policy == "two-tiers" else 1
        target = max(tier - down, 1)
        lines = [Line("target_tier", f"target = max(tier − {down}, 1)", f"max({tier} − {down}, 1)", float(target))]
        keep_line = _keep_at_cap(pos, target, mark, "keep_cap")
        return lines + [keep_line], float(keep_line.value)
    lines = []  # lowest-sufficient: the largest lower tier's size that is healthy, tier by tier downwards
    for j in range(tier - 1, 0, -1):
        keep_line = _keep_at_cap(pos, j, mark, f"keep_{j}")
        keep = float(keep_line.value)
        s = _hand_settle(pos, keep, mark, execution, at_bankruptcy, log.settlement)
        lines.append(keep_line)
        if not s.ok:
            lines.append(Line(f"health_{j}", "", "", None, f"tier {j}: the fill would leave no margin: not sufficient"))
            continue
        h = float(s.after.health(mark))
        lines.append(Line(f"health_{j}", f"health after keeping Q_keep_{j}", "", h,
                          f"> 0: tier {j} is sufficient" if h > 0 else f"≤ 0: tier {j} is not sufficient"))
        if h > 0:
            return lines, keep
    return lines + [Line("rule", "", "", None, "no lower tier is sufficient: closed in full")], 0.0


def explain_step(log: LiquidationLog, step: int) -> Derivation:
    """How one event of :func:`liquidate` was decided and settled, redone by hand.

    The position before the step (size, tier, equity, requirement and health at the mark), the policy's
    rule and the sizes it considers (the tier moved to and its cap; for ``"lowest-sufficient"`` each lower
    tier's cap and the health at that size; the fraction; Hyperliquid's value, cooldown and backstop),
    the contracts kept, then the fill, the settlement price (the rule of the module docstring), the
    margin used, the fund's surplus or loss and what is paid back. The last line is the contracts
    closed, equal to the event's ``contracts_closed``; the lines ``keep``, ``fill``, ``settlement_price``,
    ``margin_used`` and ``surplus`` equal the event's fields.

    Parameters
    ----------
    log : LiquidationLog
        What :func:`liquidate` returned.
    step : int
        Index of the event in ``log.events`` (negative counts from the end).

    Raises
    ------
    ValueError
        If ``step`` is not an index of ``log.events`` or ``log`` was not made by :func:`liquidate`.

    Examples
    --------
    The 200 BTC long of :func:`liquidate`'s tests, one tier down at the bankruptcy price:

    >>> import tiermargin as tm
    >>> pos = tm.IsolatedPosition.open(tm.load_table("binance-usdm-btcusdt-2021"), "long", 200, 60_000, 10)
    >>> log = liquidate(pos, [0, 1], [60_000, 55_000], "one-tier", execution=Execution("bankruptcy"))
    >>> d = log.explain(0)
    >>> d.line("tier").why, d.line("target_tier").value, round(d.result, 6) == round(log.events[0].contracts_closed, 6)
    ('tier 5: 10,000,000 < 11,000,000 ≤ 20,000,000', 4.0, True)
    >>> k = d.line("keep_cap")
    >>> k.formula, k.numbers, round(k.value, 4)
    ('Q_keep = cap_4 × (1 − 1e−9) ÷ (FV × P)', '10,000,000 × (1 − 1e−9) ÷ (1 × 55,000)', 181.8182)
    """
    if not isinstance(log, LiquidationLog):
        raise TypeError(f"log must be a LiquidationLog, got {type(log).__name__}")
    n = len(log.events)
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or not -n <= step < n:
        raise ValueError(f"step must be an index of the log's {n} events, got {step!r}")
    if log.policy is None or len(log.positions) != n:
        raise ValueError("log must be made by liquidate (it records the procedure and the position before each event)")
    i = int(step) % n
    e, pos = log.events[i], log.positions[i]
    execution = log.execution or Execution()
    mark, side = e.mark, "long" if pos.side > 0 else "short"
    head = Line("position", "", "", None, f"a {side} of {num(pos.qty)} contracts from {num(pos.entry)}, margin "
                                          f"{num(pos.margin)}, at mark {num(mark)} (time {num(e.time)} s)")
    title = f"Liquidation step {i + 1} of {n}: {e.action} at mark {num(mark)}"
    tier_lines, tier = _tier_lines(pos, mark)
    if e.action == "cancel orders":
        lines = [head, *tier_lines, *_health_lines(pos, mark, log.orders_requirement),
                 Line("contracts_closed", "ΔQ", "", 0.0, "open orders are cancelled first, freeing their requirement; "
                                                         "then the position is re-checked")]
        return Derivation(title, tuple(lines), "step 1: cancel open orders and re-check", _POLICY_SOURCE)
    lines = [head, *tier_lines, *_health_lines(pos, mark)]
    equity, req = (float(next(ln.value for ln in lines if ln.key == k)) for k in ("equity", "requirement"))
    part = log.partial
    backstop = log.policy == "hyperliquid" and part is not None and part.backstop is not None \
        and equity <= part.backstop * req
    if log.policy == "hyperliquid" and part is not None and part.backstop is not None:
        lines.append(Line("backstop", "backstop × requirement", f"{num(part.backstop)} × {num(req)}", part.backstop * req,
                          "E ≤ it: the backstop takes the position over" if backstop else "E above it: no backstop"))
    at_bankruptcy = backstop or log.settlement == "bankruptcy" or equity <= 0
    why = ("the backstop" if backstop else "settlement rule 'bankruptcy'" if log.settlement == "bankruptcy"
           else "E ≤ 0: no margin for a fill to leave")
    lines.append(Line("settlement", "", "", None, f"settled at the bankruptcy price ({why})" if at_bankruptcy
                      else "settled at the fill (settlement rule 'fill', E > 0)"))
    if backstop:
        keep = 0.0
    else:
        policy_lines, keep = _policy_lines(log, pos, i, mark, tier, at_bankruptcy, execution)
        lines += policy_lines
    s = _hand_settle(pos, keep, mark, execution, at_bankruptcy, log.settlement)
    if not s.ok:
        lines.append(Line("no_margin", "", "", None, f"keeping {num(keep)} contracts, the fill would leave them no "
                                                     "margin: the step closes the whole position"))
        keep = 0.0
        s = _hand_settle(pos, keep, mark, execution, at_bankruptcy, log.settlement)
    lines.append(Line("keep", "Q_keep", "", keep, "contracts kept" if keep else "closed in full"))
    lines += s.lines
    if s.after is not None:
        after_tier = _tier_lines(s.after, mark)[0][1]
        lines.append(replace(after_tier, key="tier_after", why=f"after: {after_tier.why}"))
        lines.append(Line("health_after", "health after", "", float(s.after.health(mark)),
                          "> 0: healthy" if float(s.after.health(mark)) > 0 else "≤ 0: another step"))
    q = float(pos.qty)
    lines.append(Line("contracts_closed", "ΔQ = Q − Q_keep", f"{num(q)} − {num(keep)}", q - keep,
                      "the contracts sent to the market"))
    words = _POLICY_RULE[log.policy]
    if log.policy == "hyperliquid" and part is not None:
        backstop_words = "no backstop" if part.backstop is None else f"the backstop at or below {num(part.backstop)} × " \
                                                                     "the requirement"
        words = (f"Hyperliquid: {backstop_words}; else a market order for {pct(part.share)} of a position worth more "
                 f"than {num(part.above)} USD, for the whole one within {num(part.cooldown)} s of a partial one or "
                 "below it")
    rule = f"policy {log.policy!r}: {words}; {_SETTLEMENT_RULE['bankruptcy' if at_bankruptcy else 'fill']}"
    source = _HYPERLIQUID_SOURCE if log.policy == "hyperliquid" else _POLICY_SOURCE
    return Derivation(title, tuple(lines), rule, source)


# ---------------------------------------------------------------------- cross-margin accounts
def liquidate_account(
    account: CrossAccount,
    times: ArrayLike,
    prices: Mapping[str, ArrayLike],
    policy: Policy | Rulebook = "one-tier",
    fraction: float | None = None,
    execution: Execution = Execution(),
    settlement: Settlement | None = None,
) -> AccountLiquidationLog:
    """Run the stepwise liquidation procedure of a cross-margin account along a price path.

    At each time, while the account's health (:meth:`~tiermargin.cross.CrossAccount.health`) is ≤ 0:

    1. if it has open orders, all of them are cancelled (one "cancel orders" event; reduce-only
       orders too) and the account is re-checked;
    2. the tier group (:attr:`~tiermargin.cross.CrossAccount.tier_rule`) with the largest
       maintenance margin at the current prices, valued in the account's currency, is reduced by one
       step of ``policy`` exactly as :func:`liquidate` reduces an isolated position (tier 1 or
       ``"full"``: closed in full; ``"lowest-sufficient"``: the largest lower tier's size at which
       the *account* is healthy), and the account is re-checked; this repeats until the account is
       healthy or holds no positions.

    Model choices (the references describe the procedure for one position and do not publish the
    order across positions, nor how a group of several legs is cut):

    * **Which position first**: the group carrying the largest maintenance margin (ties: the first
      in the account's order), the one whose reduction frees the most requirement.
    * **Groups of several legs**: the group's size, as the account charges it, decides its tier and
      is brought to the policy's target. ``"position"``: the position itself. ``"underlying"`` (contracts
      summed across expiries): every leg is cut in the same proportion. ``"net"`` (``|long − short|``
      of a symbol): only the leg on the net side is cut, so the hedge is kept; a flat pair carries no
      requirement and is closed (its legs against each other, nothing sent to the market) only when
      the account is still unhealthy and nothing else is left to reduce.
    * **Settlement** (the account analog of "the closed share is settled at the bankruptcy price"):
      the bankruptcy price ``B`` of a step is the price of the group's underlying at which the
      *account's* equity reaches 0, every other price held. It is searched against the closed
      contracts' (net) side while equity is positive, and with it when equity is already ≤ 0 (a
      gap past bankruptcy: like the isolated bankruptcy price, it then lies on the far side of the
      mark): in closed form where equity is affine in the price coordinate (a single-currency
      account, one contract kind on that underlying), else as the first crossing on a geometric grid
      six decades wide, refined to the nearest float (as
      :meth:`~tiermargin.cross.CrossAccount.liquidation_prices` does for health). The closed
      contracts' PnL at ``B`` is realized into ``realized_pnl`` of their settle currency; the venue
      sends their net to the market at the :class:`Execution` price (``"bankruptcy"`` model: ``B``),
      and ``surplus = UPL(side, net, B, fill)`` is the fund's. Where no ``B`` exists on that side
      (equity cannot reach 0 by moving this underlying alone, e.g. the account is net the other
      way on it) the contracts are settled at the mark (``bankruptcy_price`` None; the
      ``"bankruptcy"`` model then fills at the mark) and the fill-vs-mark difference is the surplus.
      A consequence: closing a step's contracts at ``B`` costs the trader their share of the
      account's equity in proportion to the net exposure on that underlying, so closing an
      underlying's last contracts there uses up the whole equity, and the positions left on other
      underlyings are closed in turn (at their own ``B``, the mark).
    * **Settlement at the fill** (``settlement="fill"``, the module docstring), while the account's
      equity is positive: the closed contracts are settled at the fill, the account keeping what it
      leaves, unless the fill would take the account's equity below 0; then at the price ``P`` of the
      group's underlying at which the account's equity after the step is 0 (in closed form in a
      single-currency account, whose equity is affine in the closed contracts' price coordinate; else
      the first crossing from the mark to the fill, refined to the nearest float), the fund paying
      ``UPL(side, net, P, fill)``. An account whose equity is ≤ 0 is settled at ``B`` as above.
    * **Hyperliquid** (``policy="hyperliquid"``, :class:`~tiermargin.rules.PartialLiquidation`): a
      group worth more than ``above`` USD at its mark is reduced by ``share`` unless a position of the
      account was partially liquidated within the last ``cooldown`` seconds (the cooldown is "for that
      user"), else closed; at or below ``backstop`` × the account's requirement, the backstop takes
      every position over, each closed in turn at ``B`` (Hyperliquid: "the trader's cross positions and
      cross margin are all transferred to the liquidator [...] the trader ends up with zero account
      equity"; here the account's equity goes to the fund, its balances are not moved).
    * Money is conserved step by step: Δ trader equity at the mark ``UPL(side, net, mark, S)`` +
      fund surplus ``UPL(side, net, S, fill)`` + the market buyer's gain ``UPL(side, net, fill, mark)``
      = 0 (in the settle currency), ``S`` the settlement price.

    With one position and a balance equal to its isolated margin this is :func:`liquidate` on that
    :class:`~tiermargin.isolated.IsolatedPosition` (requirement at the mark, no orders): same steps,
    bankruptcy prices, fills and surpluses (tested) — Binance: a cross account with one position is
    an isolated one with the wallet as its margin. Procedure:
    ``docs/formulas.md#stepwise-liquidation`` (source articles: CoinW; OKX, Bybit, BitMEX, HTX).

    Parameters
    ----------
    account : CrossAccount
    times : array (T,)
        Sorted times of the path.
    prices : mapping str → array (T,) or float
        What :meth:`~tiermargin.cross.CrossAccount.state` takes, one path per key: the mark of every
        underlying traded by a position or order, and the USD price of every non-stable currency of a
        multi-currency account. A number is a constant price.
    policy : str or Rulebook
        As in :func:`liquidate`.
    fraction : float
        As in :func:`liquidate`.
    execution : Execution
        Fill model (default: a linear-impact book).
    settlement : {"bankruptcy", "fill"}, optional
        As in :func:`liquidate`.

    Returns
    -------
    AccountLiquidationLog
        One :class:`LiquidationEvent` per step (see its docstring for an account's fields), the start
        and final accounts, and the account after each event.

    Examples
    --------
    A 200 BTC long (12M USDT: tier 5) on 1.2M USDT with an open order: the order goes first, then one
    tier down per step, each settled at ``B = 60,000·(1 − 1/10)``, the price at which the account's
    equity is 0.

    >>> import tiermargin as tm
    >>> btc = Instrument("BTCUSDT", tm.load_table("binance-usdm-btcusdt-2021"), "BTC")
    >>> from tiermargin.cross import Order
    >>> acc = CrossAccount([btc], {"USDT": 1_200_000}, [Position("BTCUSDT", "long", 200, 60_000)],
    ...                    [Order("BTCUSDT", "long", 10, 50_000, 20)])
    >>> log = liquidate_account(acc, [0, 1, 2], {"BTC": [58_000, 55_400, 55_000]}, execution=Execution("bankruptcy"))
    >>> [(e.action, e.tier_before, e.tier_after) for e in log.events]
    [('cancel orders', 0, 0), ('reduce', 5, 4), ('reduce', 4, 3)]
    >>> round(log.events[1].bankruptcy_price, 2)
    54000.0
    """
    if not isinstance(account, CrossAccount):
        raise TypeError(f"account must be a CrossAccount, got {type(account).__name__}")
    procedure = _procedure(policy, fraction, settlement)
    t = _check.finite("times", times).reshape(-1)
    if (np.diff(t) < 0).any():
        raise ValueError("times must be sorted in increasing order")
    _check_execution(execution)
    paths = _paths(account, prices, t.size)

    acc, events, accounts = account, [], []
    last: float | None = None  # the account's last partial liquidation (policy "hyperliquid")
    i = 0
    while i < t.size and (acc.positions or acc.orders):
        # the account only changes when it is liquidated: its health on the rest of the path in one call
        rest = {k: a if a.ndim == 0 else a[i:] for k, a in paths.items()}
        triggered = np.flatnonzero(np.broadcast_to(np.asarray(acc.health(rest)), (t.size - i,)) <= 0)
        if triggered.size == 0:
            break
        i += int(triggered[0])
        px = {k: float(a if a.ndim == 0 else a[i]) for k, a in paths.items()}
        if acc.orders:
            acc, event = _cancel_orders(acc, float(t[i]), px)
            events.append(event)
            accounts.append(acc)
        backstop = False  # once the backstop takes the account over, it takes every position
        while acc.positions and (backstop or float(acc.health(px)) <= 0):
            state = acc.state(px)
            backstop = backstop or bool(_is_backstop(procedure, state.equity, state.requirement))
            acc, event = _account_step(acc, float(t[i]), px, procedure, execution, last, backstop)
            if procedure.policy == "hyperliquid" and event.action == "reduce":
                last = float(t[i])  # a partial liquidation: the cooldown starts
            events.append(event)
            accounts.append(acc)
        i += 1
    return AccountLiquidationLog(tuple(events), acc, account, tuple(accounts), procedure.settlement)


def _paths(account: CrossAccount, prices: Mapping[str, ArrayLike], n: int) -> dict[str, FloatArray]:
    """The price paths, checked: positive, a number or ``n`` prices, every traded underlying given."""
    if not isinstance(prices, Mapping) or not prices:
        raise ValueError("prices must be a non-empty mapping of underlying/currency → price path")
    paths: dict[str, FloatArray] = {}
    for key, path in prices.items():
        a = _check.positive(f"prices[{key!r}]", path)
        if a.ndim > 1 or (a.ndim == 1 and a.size != n):
            raise ValueError(f"prices[{key!r}] must be a number or a path of the same length as times ({n}), "
                             f"got shape {a.shape}")
        paths[key] = a
    for item in (*account.positions, *account.orders):
        underlying = account.instrument(item.symbol).underlying
        if underlying not in paths:
            raise ValueError(f"prices has no path for underlying {underlying!r} (traded by {item.symbol!r}); "
                             f"it has {sorted(paths)}")
    return paths


def _cancel_orders(acc: CrossAccount, time: float, px: dict[str, float]) -> tuple[CrossAccount, LiquidationEvent]:
    symbols = list(dict.fromkeys(o.symbol for o in acc.orders))
    after = replace(acc, orders=())
    event = LiquidationEvent(time, px[acc.instrument(symbols[0]).underlying], "cancel orders", 0.0, 0.0, 0, 0,
                             float(acc.health(px)), float(after.health(px)), None, None, 0.0, 0.0, ",".join(symbols))
    return after, event


def _group_tier(table: TierTable, contracts: float, mark: float) -> int:
    """1-based tier of a group of ``contracts`` at ``mark``."""
    return int(table.tier_index(table.size_of(contracts, mark))) + 1


def _largest_group(acc: CrossAccount, px: dict[str, float]) -> tuple[Instrument, list[Position], float]:
    """The tier group with the largest maintenance margin at ``px``, in the account's currency."""
    def mm(group: tuple[Instrument, list[Position], float]) -> float:
        inst, _, size = group
        table, mark = inst.table, px[inst.underlying]
        margin = table.maintenance_margin(table.size_of(size, mark), table.unit_value(mark))
        return float(margin) * float(acc._price_of(inst.settle, px))

    return max(acc._tier_legs(), key=mm)  # the first of equals


def _account_bankruptcy(acc: CrossAccount, px: dict[str, float], underlying: str, side: float) -> float | None:
    """Price of ``underlying`` at which the account's equity reaches 0, the others held: against
    ``side`` while equity is positive, with it when equity is ≤ 0 (None: not on that side).

    In a single-currency account whose positions on ``underlying`` are of one contract kind, equity
    is affine in the price coordinate ``u`` (:mod:`tiermargin.contracts`), ``E(u) = E₀ + N·(u − u₀)``
    with ``N = Σ σ·s·Q·FV``: the root is ``u₀ − E₀/N``. Otherwise (collateral coins, haircuts) it is
    the first crossing on a geometric grid six decades wide, refined to the nearest float.
    """
    p0 = px[underlying]
    e0 = float(acc.state(px).equity)
    if e0 == 0:
        return p0
    down = (side > 0) == (e0 > 0)  # a long loses as the price falls
    held = [(acc.instrument(p.symbol).table.contract, p) for p in acc.positions
            if acc.instrument(p.symbol).underlying == underlying]
    if acc.currency != "USD" and len({c.kind for c, _ in held}) == 1:
        c = held[0][0]
        slope = sum(c.sigma * p.side * p.qty * ci.face_value for ci, p in held)
        u = float(c.coordinate(p0)) - e0 / slope if slope else 0.0
        b = float(c.price_of(u)) if u > 0 else None
        return b if b is not None and (b <= p0 if down else b >= p0) else None

    def equity(x: FloatArray) -> FloatArray:
        return np.asarray(acc.state({**px, underlying: x}).equity)

    grid = np.geomspace(p0 * 1e-6, p0, 2000) if down else np.geomspace(p0, p0 * 1e6, 2000)
    sign = 1.0 if e0 > 0 else -1.0
    return _first_crossing(lambda x: sign * equity(x), p0, grid)


class _Resize(NamedTuple):
    """A tier group brought to a size: the account after, and what was closed."""

    account: CrossAccount
    closed: list[tuple[Position, float]]  # (leg, contracts closed)
    realized: float  # the closed contracts' PnL at the settlement price
    legs_left: int  # legs of the group still open


def _resized(acc: CrossAccount, legs: list[Position], size: float, keep: float, settle: float) -> _Resize:
    """The account with the group of ``legs`` (``size`` contracts) brought to ``keep`` contracts, the
    closed contracts settled at ``settle``."""
    if len(legs) == 1:
        new = {id(legs[0]): keep}
    elif acc.tier_rule == "net" and size > 0:  # cut the net side's leg, keep the hedge
        lead = max(legs, key=lambda p: p.qty)
        new = {id(lead): sum(p.qty for p in legs if p is not lead) + keep}
    else:  # "underlying": every leg in proportion (a flat "net" pair: both closed)
        new = {id(p): p.qty * keep / size if size > 0 else 0.0 for p in legs}
    positions, closed, left = [], [], 0
    for p in acc.positions:
        q = new.get(id(p), p.qty)
        if q < p.qty:
            closed.append((p, p.qty - q))
        if q > 0:
            positions.append(p if q == p.qty else Position(p.symbol, p.side, q, p.entry))
            left += id(p) in new
    inst = acc.instrument(legs[0].symbol)  # the legs share its contract
    realized = sum(float(inst.table.contract.upnl(p.side, c, p.entry, settle)) for p, c in closed)
    rpl = dict(acc.realized_pnl)
    rpl[inst.settle] = rpl.get(inst.settle, 0.0) + realized
    return _Resize(replace(acc, positions=tuple(positions), realized_pnl=rpl), closed, realized, left)


def _account_settled(acc: CrossAccount, legs: list[Position], size: float, keep: float, px: dict[str, float],
                     inst: Instrument, reference: float, equity: float | None,
                     execution: Execution) -> tuple[_Resize, float | None, float]:
    """The group of ``legs`` (``size`` contracts) brought to ``keep`` and settled: at ``reference`` (the
    account's bankruptcy price, else the mark) with ``equity`` None, else at the fill with the account's
    ``equity`` (> 0), as :func:`liquidate_account` says. Returns the step, its fill (None: nothing went to
    the market) and the settlement price."""
    contract, mark = inst.table.contract, px[inst.underlying]
    step = _resized(acc, legs, size, keep, reference)
    net = sum(p.side * c for p, c in step.closed)  # the contracts sent to the market, signed
    qty, net_side = abs(net), float(np.sign(net))
    fill = execution.fill_price(contract, net_side, qty, mark, reference) if qty > 0 else None
    if equity is None or fill is None:
        return step, fill, reference
    if len(acc.currencies) == 1:
        price = float(_settlement_price(contract, net_side, qty, equity, mark, fill))
    else:
        def after(x: float) -> float:
            return float(_resized(acc, legs, size, keep, x).account.state(px).equity)

        crossing = None if after(fill) >= 0 else _first_crossing(np.vectorize(after), mark, np.array([fill]))
        price = fill if crossing is None else crossing
    return (step if price == reference else _resized(acc, legs, size, keep, price)), fill, price


def _account_step(acc: CrossAccount, time: float, px: dict[str, float], procedure: _Procedure, execution: Execution,
                  last_partial: float | None, backstop: bool) -> tuple[CrossAccount, LiquidationEvent]:
    inst, legs, size = _largest_group(acc, px)
    table, contract, mark = inst.table, inst.table.contract, px[inst.underlying]
    side = float(np.sign(sum(p.side * p.qty for p in legs)))  # the group's net side (0: a flat pair)
    bankruptcy = _account_bankruptcy(acc, px, inst.underlying, side) if side else None
    reference = mark if bankruptcy is None else bankruptcy
    equity = float(acc.state(px).equity)
    fill_equity = None if backstop or procedure.settlement == "bankruptcy" or equity <= 0 else equity
    tier = _group_tier(table, size, mark)

    def settle(k: float) -> tuple[_Resize, float | None, float]:
        return _account_settled(acc, legs, size, k, px, inst, reference, fill_equity, execution)

    if backstop:
        keep = 0.0
    elif procedure.policy == "hyperliquid":
        since = np.inf if last_partial is None else time - last_partial
        keep = float(_partial_keep(procedure.partial, size, contract.usd_value(size, mark), since))
    else:
        keep = _target(table, size, tier, mark, procedure.policy, procedure.fraction,
                       lambda k: float(settle(k)[0].account.health(px)) > 0)
    step, fill, price = settle(keep)
    net = sum(p.side * c for p, c in step.closed)
    qty, net_side = abs(net), float(np.sign(net))
    surplus = float(contract.upnl(net_side, qty, price, fill)) if fill is not None else 0.0
    event = LiquidationEvent(
        time, mark, "backstop" if backstop else "reduce" if step.legs_left else "close", qty, keep, tier,
        _group_tier(table, keep, mark) if keep > 0 else 0, float(acc.health(px)), float(step.account.health(px)),
        fill, bankruptcy, -step.realized, surplus, ",".join(dict.fromkeys(p.symbol for p, _ in step.closed)),
        price)
    return step.account, event
