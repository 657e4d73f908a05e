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

:func:`liquidate_account` runs the same procedure on a cross-margin
:class:`~tiermargin.cross.CrossAccount` (the account analog, with its own model choices in its
docstring): one health figure for the whole account, open orders cancelled first, then one tier group
at a time reduced by the same policy, each closed share settled at the price of its underlying at
which the *account's* equity reaches 0 — for an account holding one position, exactly the isolated
procedure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from html import escape
from typing import Literal, NamedTuple, get_args

import numpy as np
from numpy.typing import ArrayLike

from . import _check
from ._check import FloatArray
from .contracts import Contract
from .cross import CrossAccount, Instrument, Position, _first_crossing
from .isolated import IsolatedPosition
from .rules import Policy, Rulebook
from .tiers import TierTable

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
        return self.fill_price(pos.table.contract, float(pos.side), qty, mark, bankruptcy)

    def fill_price(self, contract: Contract, side: float, qty: float, mark: float, bankruptcy: float) -> float:
        """Average fill price of closing ``qty`` contracts of ``contract`` held on ``side`` (+1 long,
        −1 short) at ``mark``; ``bankruptcy`` is the price the closed contracts are settled at."""
        if self.model == "bankruptcy":
            return bankruptcy
        if self.model == "mark":
            return mark
        notional = float(contract.usd_value(qty, mark))
        move = min(notional / (2 * self.depth), 0.99)  # a book cannot fill below zero
        return mark * (1 - side * move)


class LiquidationEvent(NamedTuple):
    """One step of the procedure (amounts in the settle currency).

    ``surplus`` is the risk fund's gain (> 0) or loss (< 0) on the step: the closed contracts taken
    over at the bankruptcy price and sold at the execution price.

    In an account's log (:func:`liquidate_account`): ``symbol`` names the reduced position(s) (the
    cancelled orders' symbols for a "cancel orders" event); ``mark`` is the price of its underlying;
    tiers, ``contracts_closed`` and ``contracts_left`` are its tier group's (``contracts_closed``: the
    net contracts sent to the market); health is the account's; ``bankruptcy_price`` is None where
    the closed contracts were settled at the mark (no bankruptcy price on the adverse side);
    ``margin_used`` is the trader's realized loss on the closed contracts (negative: a realized gain).
    A "cancel orders" event of an account is account-level: tiers 0, no contracts, the mark of the
    first cancelled order's underlying.
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


class _EventLog:
    """What both logs share: the fund's totals and the text/HTML table (a ``symbol`` column is shown
    when an event names one)."""

    events: tuple[LiquidationEvent, ...]

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
        return (*self.COLUMNS[:3], "symbol", *self.COLUMNS[3:]) if self._with_symbol() else self.COLUMNS

    def rows(self) -> list[tuple[str, ...]]:
        """The log formatted for display."""
        def num(x: float | None, fmt: str = ",.2f") -> str:
            return "—" if x is None else format(x, fmt)

        symbol = self._with_symbol()
        return [(num(e.time, ",.0f"), num(e.mark), e.action, *((e.symbol,) if symbol else ()),
                 num(e.contracts_closed, ",.6g"), num(e.contracts_left, ",.6g"), f"{e.tier_before}→{e.tier_after}",
                 num(e.health_before), num(e.health_after), num(e.execution_price), num(e.bankruptcy_price),
                 num(e.surplus))
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
    """The event log of :func:`liquidate`, with the final position (None when closed)."""

    events: tuple[LiquidationEvent, ...]
    final: IsolatedPosition | None
    start: IsolatedPosition

    @property
    def margin_lost(self) -> float:
        """Margin the trader lost to liquidation (the closed shares, settled at bankruptcy)."""
        return float(sum(e.margin_used for e in self.events))

    def trader_equity(self, price: float) -> float:
        """The trader's remaining equity at ``price``: the surviving position's, or 0 when closed."""
        return 0.0 if self.final is None else float(self.final.equity(price))


@dataclass(frozen=True, repr=False)
class AccountLiquidationLog(_EventLog):
    """The event log of :func:`liquidate_account`: the start and final accounts (the final one may hold
    no positions) and the account after each event (``accounts[i]`` follows ``events[i]``)."""

    events: tuple[LiquidationEvent, ...]
    final: CrossAccount
    start: CrossAccount
    accounts: tuple[CrossAccount, ...] = ()

    def trader_equity(self, prices: Mapping[str, float]) -> float:
        """The final account's equity at ``prices`` (in its :attr:`~tiermargin.cross.CrossAccount.currency`)."""
        return float(self.final.state(prices).equity)


def _qty_at_size(table: TierTable, size: float, price: float) -> float:
    """Contracts whose basis size is ``size`` at ``price`` (just inside the lower tier)."""
    return float(table.contracts_at(size * (1 - _NUDGE), price))


def _target_qty(pos: IsolatedPosition, mark: float, policy: Policy, fraction: float | None) -> float:
    """Contracts to keep after one step of ``policy`` (0: close in full).

    The tier is the one of the size at the price that values the requirement (the entry price with
    ``requirement_at="entry"``), so the lower tier's cap is converted to contracts at that price.
    """
    value_at = float(np.asarray(pos._valuation_price(mark)))
    return _target(pos.table, float(pos.qty), pos.tier(mark), value_at, policy, fraction,
                   lambda keep: _after(pos, keep).health(mark) > 0)


def _target(table: TierTable, contracts: float, tier: int, price: float, policy: Policy, fraction: float | None,
            healthy: Callable[[float], bool]) -> float:
    """Contracts to keep after one step of ``policy`` on ``contracts`` in 1-based ``tier`` at ``price``
    (0: close in full); ``healthy(keep)`` says whether keeping ``keep`` leaves the position (account)
    healthy."""
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
    policy, fraction = _checked_policy(policy, fraction)
    t, m = _check.path(times, marks)
    _check_execution(execution)
    orders = float(_check.nonnegative("orders_requirement", orders_requirement))

    pos: IsolatedPosition | None = position
    events: list[LiquidationEvent] = []
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
            orders = 0.0
            events.append(LiquidationEvent(time, mark, "cancel orders", 0.0, float(pos.qty), pos.tier(mark),
                                           pos.tier(mark), before, float(pos.health(mark)), None, None, 0.0, 0.0))
        while pos is not None and float(pos.health(mark)) - orders <= 0:
            pos, event = _step(pos, time, mark, policy, fraction, execution)
            events.append(event)
    return LiquidationLog(tuple(events), pos, position)


def _checked_policy(policy: Policy | Rulebook, fraction: float | None) -> tuple[Policy, float | None]:
    """:func:`_policy_of`, with the fraction checked against the policy."""
    policy, fraction = _policy_of(policy, fraction)
    if (policy == "fraction") != (fraction is not None):
        raise ValueError("fraction is required exactly when policy is 'fraction'")
    if fraction is not None:
        _check.rate("fraction", fraction, low_open=True)
    return policy, fraction


def _check_execution(execution: Execution) -> None:
    if not isinstance(execution, Execution):
        raise TypeError("execution must be an Execution")


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


# ---------------------------------------------------------------------- cross-margin accounts
def liquidate_account(
    account: CrossAccount,
    times: ArrayLike,
    prices: Mapping[str, ArrayLike],
    policy: Policy | Rulebook = "one-tier",
    fraction: float | None = None,
    execution: Execution = Execution(),
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
    * Money is conserved step by step: Δ trader equity at the mark ``UPL(side, net, mark, B)`` +
      fund surplus + the market buyer's gain ``UPL(side, net, fill, mark)`` = 0 (in the settle currency).

    With one position and a balance equal to its isolated margin this is :func:`liquidate` on that
    :class:`~tiermargin.isolated.IsolatedPosition` (requirement at the mark, no orders): same steps,
    bankruptcy prices, fills and surpluses (tested) — Binance: a cross account with one position is
    an isolated one with the wallet as its margin. Procedure: ``reference/FORMULAS.md``, "Stepwise
    liquidation" (source articles: CoinW; OKX, Bybit, BitMEX, HTX).

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
    policy, fraction = _checked_policy(policy, fraction)
    t = _check.finite("times", times).reshape(-1)
    if (np.diff(t) < 0).any():
        raise ValueError("times must be sorted in increasing order")
    _check_execution(execution)
    paths = _paths(account, prices, t.size)

    acc, events, accounts = account, [], []
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
        while acc.positions and float(acc.health(px)) <= 0:
            acc, event = _account_step(acc, float(t[i]), px, policy, fraction, execution)
            events.append(event)
            accounts.append(acc)
        i += 1
    return AccountLiquidationLog(tuple(events), acc, account, tuple(accounts))


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


def _account_step(acc: CrossAccount, time: float, px: dict[str, float], policy: Policy, fraction: float | None,
                  execution: Execution) -> tuple[CrossAccount, LiquidationEvent]:
    inst, legs, size = _largest_group(acc, px)
    table, contract, mark = inst.table, inst.table.contract, px[inst.underlying]
    side = float(np.sign(sum(p.side * p.qty for p in legs)))  # the group's net side (0: a flat pair)
    bankruptcy = _account_bankruptcy(acc, px, inst.underlying, side) if side else None
    settle = mark if bankruptcy is None else bankruptcy
    tier = _group_tier(table, size, mark)
    keep = _target(table, size, tier, mark, policy, fraction,
                   lambda k: float(_resized(acc, legs, size, k, settle).account.health(px)) > 0)
    step = _resized(acc, legs, size, keep, settle)
    net = sum(p.side * c for p, c in step.closed)  # the contracts sent to the market, signed
    qty, net_side = abs(net), float(np.sign(net))
    fill = execution.fill_price(contract, net_side, qty, mark, settle) if qty > 0 else None
    surplus = float(contract.upnl(net_side, qty, settle, fill)) if fill is not None else 0.0
    event = LiquidationEvent(
        time, mark, "reduce" if step.legs_left else "close", qty, keep, tier,
        _group_tier(table, keep, mark) if keep > 0 else 0, float(acc.health(px)), float(step.account.health(px)),
        fill, bankruptcy, -step.realized, surplus, ",".join(dict.fromkeys(p.symbol for p, _ in step.closed)))
    return step.account, event
