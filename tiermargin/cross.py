"""Cross margin: one account, many positions and orders, one or several collateral currencies.

All of an account's balance backs all of its positions, so other positions, open orders, hedges
and collateral coins all move the liquidation point. One **health** figure decides liquidation:

.. math:: \\text{health} = \\sum_c p_c\\,\\text{collateral}_c(\\text{balance}_c + \\text{RPL}_c + \\text{UPL}_c)
          - \\sum_c p_c\\,\\text{requirement}_c

with ``p_c`` the USD price of currency ``c`` (1 for a single-currency account, valued in its own
currency), ``collateral_c`` the haircut applied to a positive equity (liabilities count in full),
and ``requirement_c`` the maintenance margin of the positions settled in ``c`` plus the fee
reserve plus the requirement of open orders. Every displayed ratio comes from it
(:class:`~tiermargin.isolated.MarginRatios`): the source articles' cross ratio
``(balance + RPL + UPL)/(position value + order frozen margin × leverage)`` against MMR + fee;
CoinW single-currency ``(balance + UPL)/(FV·|net contracts|·mark·(MMR + fee))``; multi-currency
``(total balance + all UPL)/Σ(MM + fees)``; Binance ``MM / margin balance``.

Venues apply tiers to different groups — a rule, :data:`TierRule`:

* ``"position"``: each position on its own (Binance, Bybit);
* ``"net"``: per trading pair on ``|long − short|`` contracts (CoinW cross single-currency, HTX);
* ``"underlying"``: per underlying across expiries, summing contracts (OKX cross: 10,000 + 5,000 +
  5,000 + 5,000 = 25,000 contracts → tier 3).

Open orders (not reduce-only) count as exposure, as in the source articles' cross formula: their
value ``frozen margin × leverage`` is charged at ``MMR + fee``, the MMR of the tier the order's own
size falls in. Marks come per underlying (every instrument on an underlying is marked at its price;
basis is lesson 01's topic).

Which price values the requirement is a rule, as in isolated margin (:mod:`tiermargin.isolated`):
``requirement_at`` for the maintenance margin (the mark, or each position's entry — Bybit's cross
formula charges "Quantity / Average Entry Price × Maintenance Margin"), and ``fee_at`` for the fee
reserve: with the maintenance margin (``"mark"``), at each position's entry, or at the
**bankruptcy price** (Bybit, help "How to calculate Liquidation Price (Inverse Contract)", cross
margin, long: "Quantity × (1/Average Entry Price − 1/Liquidation Price) = −(Account Balance − Order
Margin − Quantity/Average Entry Price × Maintenance Margin − Quantity × 0.00075 / Bankruptcy
Price)", with "Bankruptcy Price = 1.00075 × Quantity / (Quantity/Average Entry Price + (Account
Balance − Order Margin))"). An account has no single bankruptcy price, so the one a position's fee
is valued at is its underlying's (:meth:`CrossAccount.bankruptcy_price`): the price at which the
wallet of the settle currency less the margin frozen by orders, plus the PnL of the positions on
that underlying, equals their fee to close at that price — the positions on other underlyings
held at their entry (no PnL), as Bybit's formula counts the balance only. For an order the fee is
valued at its own bankruptcy price ``price·(1 − s/L)`` (linear; ``u·(1 − σs/L)`` in the price
coordinate), Bybit's "Fee to Close Position = Order Quantity × Bankruptcy Price × Taker Fee Rate",
"Bankruptcy Price for Long Position = Order Price × (1 − 1/Leverage)" ("Order Cost (USDT
Contract)"). Neither depends on the marks, so health stays piecewise affine in each price
coordinate. With ``fee_at`` "entry" or "bankruptcy" the fee is charged per position, also under
``tier_rule="net"`` (whose ``"mark"`` reserve is on the net contracts, CoinW's formula).

:meth:`CrossAccount.explain_liquidation_price` redoes the liquidation price search by hand: each
position's PnL and each group's requirement, the breakpoints, health on each piece between them, and
the root of the piece where it reaches 0 (a closed form where health is affine there).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _check
from ._check import FloatArray
from .alternatives import ContractSchedule
from .derivation import Derivation, Line, num, pct
from .isolated import _FEE_AT, _REQUIREMENT_AT, FeeAt, LiquidationPrice, MarginRatios, RequirementAt
from .tiers import TierTable

TierRule = Literal["position", "net", "underlying"]
Mode = Literal["one-way", "hedge"]
STABLE = ("USD", "USDT", "USDC", "BUSD")  # valued at 1 USD
Prices = Mapping[str, ArrayLike]


def _label(name: str, x: object) -> str:
    """``x`` if it is a non-empty str (a symbol, an underlying, a currency), else raise naming ``name``."""
    if not _check.text(name, x):
        raise ValueError(f"{name} must not be empty")
    return x


def _names(name: str, m: object) -> Mapping:
    """``m`` if it is a mapping keyed by names (non-empty str: currencies, underlyings), else raise."""
    if not isinstance(m, Mapping):
        raise TypeError(f"{name} must be a mapping of names (str) to values, got {m!r}")
    for k in m:
        _label(f"a key of {name}", k)
    return m


def _records(name: str, items: object, kind: type) -> tuple:
    """``items``, an iterable of ``kind`` objects (not text, a mapping or an array), as a tuple."""
    if isinstance(items, (str, bytes, Mapping, np.ndarray)) or not isinstance(items, Iterable):
        raise TypeError(f"{name} must be an iterable of {kind.__name__} objects, got {items!r}")
    out = tuple(items)
    for x in out:
        if not isinstance(x, kind):
            raise TypeError(f"{name} must hold {kind.__name__} objects only, got {x!r}")
    return out


def _prices(prices: object, one: bool = False) -> dict[str, FloatArray]:
    """``prices`` (underlying or currency → price > 0) checked, each as an array; with ``one``, one
    number each (a derivation or a liquidation price is of one state of the account)."""
    out = {k: _check.positive(f"prices[{k!r}]", v) for k, v in _names("prices", prices).items()}
    for k, v in out.items():
        if one and v.ndim:
            raise ValueError(f"prices[{k!r}] must be one price, not an array: this is of one state of the account")
    return out


@dataclass(frozen=True)
class Instrument:
    """A tradable contract: its tier table (which carries the contract spec) and its underlying.

    ``table`` is a :class:`~tiermargin.tiers.TierTable` or, for a venue whose margin is a schedule
    charged on a contract (dYdX's margin fractions), a :class:`~tiermargin.alternatives.ContractSchedule`.
    """

    symbol: str
    table: TierTable | ContractSchedule
    underlying: str

    @property
    def settle(self) -> str:
        """Currency of its margin and PnL."""
        return self.table.contract.settle

    def __post_init__(self) -> None:
        _label("symbol", self.symbol)
        _label("underlying", self.underlying)
        if not isinstance(self.table, (TierTable, ContractSchedule)):
            raise TypeError(f"table must be a TierTable or a ContractSchedule (its margin and contract), "
                            f"got {self.table!r}")


@dataclass(frozen=True)
class Position:
    """A cross position: ``side`` "long"/"short" (+1/−1), ``qty`` contracts > 0, ``entry`` > 0."""

    symbol: str
    side: float | str
    qty: float
    entry: float

    def __post_init__(self) -> None:
        _label("symbol", self.symbol)
        object.__setattr__(self, "side", _check.one_number("side", self.side, _check.side))
        object.__setattr__(self, "qty", _check.one_number("qty", self.qty, _check.positive))
        object.__setattr__(self, "entry", _check.one_number("entry", self.entry, _check.positive))


@dataclass(frozen=True)
class Order:
    """An open limit order. Unless ``reduce_only``, it freezes ``value/leverage`` of margin and counts
    as exposure; a reduce-only order closes (part of) the opposite leg and freezes nothing."""

    symbol: str
    side: float | str
    qty: float
    price: float
    leverage: float
    reduce_only: bool = False

    def __post_init__(self) -> None:
        _label("symbol", self.symbol)
        object.__setattr__(self, "side", _check.one_number("side", self.side, _check.side))
        for name in ("qty", "price", "leverage"):
            object.__setattr__(self, name, _check.one_number(name, getattr(self, name), _check.positive))
        if not isinstance(self.reduce_only, (bool, np.bool_)):
            raise TypeError(f"reduce_only must be True or False, got {self.reduce_only!r}")


@dataclass(frozen=True)
class Haircut:
    """Collateral valuation by slices of USD value: ``Σ slice × rate`` (OKX discount-rate tiers).

    Parameters
    ----------
    bounds : sequence
        Slice edges in USD from 0, increasing; the last may be ``inf``.
    rates : sequence
        Valuation rate of each slice, in (0, 1].

    Examples
    --------
    OKX: 11M USDT at 0–5M × 1, 5–10M × 0.9, above × 0.8 is worth 10.3M.

    >>> Haircut([0, 5e6, 10e6, float("inf")], [1, 0.9, 0.8]).value(11e6)
    10300000.0
    """

    bounds: tuple[float, ...]
    rates: tuple[float, ...]

    def __post_init__(self) -> None:
        r = _check.positive("rates", self.rates)
        if r.ndim != 1 or np.any(r > 1):
            raise ValueError(f"rates must be a sequence of rates in (0, 1], got {self.rates!r}")
        shape = f"bounds must start at 0, increase (only the last may be inf), and have one more entry than rates, " \
                f"got {self.bounds!r}"
        edges = list(self.bounds) if isinstance(self.bounds, Iterable) and not isinstance(self.bounds, str) else []
        open_last = bool(edges) and isinstance(edges[-1], float) and edges[-1] == np.inf
        inner = edges[:-1] if open_last else edges
        if any(isinstance(x, float) and math.isinf(x) for x in inner):
            raise ValueError(shape)
        b = _check.nonnegative("bounds", inner)
        b = np.append(b, np.inf) if open_last else b
        if b.ndim != 1 or b.size != r.size + 1 or b[0] != 0 or not np.all(np.diff(b) > 0):
            raise ValueError(shape)
        object.__setattr__(self, "bounds", tuple(b.tolist()))
        object.__setattr__(self, "rates", tuple(r.tolist()))

    @classmethod
    def flat(cls, rate: float) -> Haircut:
        """One rate on any amount (Binance multi-assets: BTC/ETH/BNB at 95 %)."""
        return cls((0.0, float("inf")), (rate,))

    def value(self, usd: ArrayLike) -> float | FloatArray:
        """Collateral value of a positive USD amount; a negative amount (a debt) counts in full."""
        x = _check.finite("usd", usd)
        lo, hi = np.asarray(self.bounds[:-1]), np.asarray(self.bounds[1:])
        pos = np.maximum(x, 0.0)[..., None]
        slices = np.clip(pos - lo, 0.0, hi - lo)
        return _check.scalar_or_array(np.where(x > 0, (slices * np.asarray(self.rates)).sum(axis=-1), x))

    def explain(self, amount: float) -> Derivation:
        """How the collateral value of ``amount`` USD is computed: each slice it reaches × its rate, the sum.

        Slice ``k`` covers ``[bound_k, bound_{k+1})`` and contributes ``rate_k × (min(A, bound_{k+1}) −
        bound_k)``; an amount ≤ 0 (a debt) counts in full. The result equals :meth:`value`.

        Examples
        --------
        >>> d = Haircut([0, 5e6, 10e6, float("inf")], [1, 0.9, 0.8]).explain(11e6)
        >>> print(d)  # doctest: +NORMALIZE_WHITESPACE
        Collateral value of 11,000,000 USD
          1. rate_1 × (min(A, upper_1) − lower_1) = 1 × (5,000,000 − 0) = 5,000,000 (slice 1: 0 to 5,000,000 at 1)
          2. rate_2 × (min(A, upper_2) − lower_2) = 0.9 × (10,000,000 − 5,000,000) = 4,500,000 (slice 2: 5,000,000 to 10,000,000 at 0.9)
          3. rate_3 × (min(A, upper_3) − lower_3) = 0.8 × (11,000,000 − 10,000,000) = 800,000 (slice 3: 10,000,000 to ∞ at 0.8)
          4. collateral = Σ slices = 5,000,000 + 4,500,000 + 800,000 = 10,300,000 (the amount reaches 3 slices)
          Rule: collateral = Σ rate_k × (part of the amount in slice k): each slice at its own rate
          Source: OKX discount-rate tiers: 11M USDT at 0–5M × 1, 5–10M × 0.9, above × 0.8 is worth 10.3M
        >>> d.result == Haircut([0, 5e6, 10e6, float("inf")], [1, 0.9, 0.8]).value(11e6)
        True
        """
        a = _check.one_number("amount", amount)
        title = f"Collateral value of {num(a)} USD"
        rule = "collateral = Σ rate_k × (part of the amount in slice k): each slice at its own rate"
        source = "OKX discount-rate tiers: 11M USDT at 0–5M × 1, 5–10M × 0.9, above × 0.8 is worth 10.3M"
        if a <= 0:
            why = "a debt counts in full, no haircut" if a < 0 else "nothing to value"
            return Derivation(title, (Line("collateral", "collateral = A", num(a), a, why),), rule, source)
        lines = []
        for k, (lo, hi, r) in enumerate(zip(self.bounds[:-1], self.bounds[1:], self.rates), 1):
            if a <= lo:
                break
            top = min(a, hi)
            lines.append(Line(f"slice_{k}", f"rate_{k} × (min(A, upper_{k}) − lower_{k})",
                              f"{num(r)} × ({num(top)} − {num(lo)})", r * (top - lo),
                              f"slice {k}: {num(lo)} to {num(hi)} at {num(r)}"))
        total = float(np.sum([ln.value for ln in lines]))
        lines.append(Line("collateral", "collateral = Σ slices",
                          " + ".join(num(ln.value) for ln in lines) if len(lines) > 1 else "", total,
                          f"the amount reaches {len(lines)} slice{'s' if len(lines) > 1 else ''}"))
        return Derivation(title, tuple(lines), rule, source)


class AccountState(NamedTuple):
    """An account evaluated at some prices (arrays broadcast over the price grid)."""

    equity: FloatArray
    requirement: FloatArray
    exposure: FloatArray
    health: FloatArray


@dataclass(frozen=True)
class CrossAccount:
    """A cross-margin account.

    Parameters
    ----------
    instruments : iterable of Instrument
    balances : mapping currency → wallet balance (may include several currencies)
    positions, orders : iterables of Position / Order
    realized_pnl : mapping currency → realized PnL not yet in the balance
    mode : {"one-way", "hedge"}
        One-way: at most one position per symbol. Hedge: at most one long and one short.
    tier_rule : {"position", "net", "underlying"}
        Which group a tier applies to (see the module docstring).
    fee_rate : float
        Liquidation/close-fee reserve rate, in [0, 1).
    haircuts : mapping currency → Haircut
        Collateral valuation in a multi-currency account (default: full value).
    requirement_at : {"mark", "entry"}
        Which price values the maintenance margin: the mark, or each position's entry (needs
        ``tier_rule="position"``: a group of several legs has no one entry).
    fee_at : {"mark", "entry", "bankruptcy"}
        Where the fee reserve is valued: with the maintenance margin, at each position's entry, or
        at the bankruptcy price (see the module docstring and :meth:`bankruptcy_price`).
    """

    instruments: tuple[Instrument, ...]
    balances: Mapping[str, float]
    positions: tuple[Position, ...] = ()
    orders: tuple[Order, ...] = ()
    realized_pnl: Mapping[str, float] = field(default_factory=dict)
    mode: Mode = "one-way"
    tier_rule: TierRule = "position"
    fee_rate: float = 0.0
    haircuts: Mapping[str, Haircut] = field(default_factory=dict)
    requirement_at: RequirementAt = "mark"
    fee_at: FeeAt = "mark"

    def __post_init__(self) -> None:
        for name, kind in (("instruments", Instrument), ("positions", Position), ("orders", Order)):
            object.__setattr__(self, name, _records(name, getattr(self, name), kind))
        _check.one_of("mode", self.mode, ("one-way", "hedge"))
        _check.one_of("tier_rule", self.tier_rule, ("position", "net", "underlying"))
        _check.one_of("requirement_at", self.requirement_at, _REQUIREMENT_AT)
        _check.one_of("fee_at", self.fee_at, _FEE_AT)
        if self.requirement_at == "entry" and self.tier_rule != "position":
            raise ValueError("requirement_at='entry' values each position at its own entry: it needs "
                             f"tier_rule='position', got {self.tier_rule!r}")
        object.__setattr__(self, "fee_rate", float(_check.rate("fee_rate", self.fee_rate)))
        for name in ("balances", "realized_pnl"):
            amounts = {c: _check.one_number(f"{name}[{c!r}]", v) for c, v in _names(name, getattr(self, name)).items()}
            object.__setattr__(self, name, amounts)
        for c, h in _names("haircuts", self.haircuts).items():
            if not isinstance(h, Haircut):
                raise TypeError(f"haircuts[{c!r}] must be a Haircut, got {h!r}")
        by_symbol = {i.symbol: i for i in self.instruments}
        if len(by_symbol) != len(self.instruments):
            raise ValueError("instruments must have distinct symbols")
        for item in (*self.positions, *self.orders):
            if item.symbol not in by_symbol:
                raise ValueError(f"unknown symbol {item.symbol!r}; instruments are {sorted(by_symbol)}")
        self._check_legs()
        if self.fee_at == "bankruptcy":
            for (u, cur), legs in self._legs_by_underlying().items():
                if len({self.instrument(p.symbol).table.contract.kind for p in legs}) > 1:
                    raise ValueError(f"fee_at='bankruptcy': the positions on {u!r} settled in {cur} mix linear and "
                                     "inverse contracts, which have no common bankruptcy price")
        if self.tier_rule == "underlying":
            for u, group in self._groups_by(lambda i: (i.underlying, i.settle)).items():
                if len({i.table.to_json() for i in group}) > 1:
                    raise ValueError(f"instruments of underlying {u[0]!r} must share one tier table under tier_rule='underlying'")

    # ------------------------------------------------------------------ structure
    def instrument(self, symbol: str) -> Instrument:
        """The instrument of a symbol (clear error if unknown)."""
        _check.text("symbol", symbol)
        for i in self.instruments:
            if i.symbol == symbol:
                return i
        raise ValueError(f"unknown symbol {symbol!r}; instruments are {sorted(i.symbol for i in self.instruments)}")

    @property
    def currencies(self) -> tuple[str, ...]:
        """Every currency the account holds or settles in."""
        cs = list(self.balances) + list(self.realized_pnl) + [i.settle for i in self.instruments]
        return tuple(dict.fromkeys(cs))

    @property
    def currency(self) -> str:
        """Reporting currency: the single currency of a single-currency account, else ``"USD"``."""
        return self.currencies[0] if len(self.currencies) == 1 else "USD"

    def _check_legs(self) -> None:
        legs: dict[tuple[str, float], float] = {}
        for p in self.positions:
            key = (p.symbol, p.side)
            if key in legs or (self.mode == "one-way" and (p.symbol, -p.side) in legs):
                what = "one position per symbol in one-way mode" if self.mode == "one-way" else "one long and one short per symbol in hedge mode"
                raise ValueError(f"positions must hold at most {what}; {p.symbol!r} has more")
            legs[key] = p.qty
        for o in self.orders:
            if o.reduce_only:
                leg = legs.get((o.symbol, -o.side), 0.0)
                if o.qty > leg:
                    side = "long" if o.side < 0 else "short"
                    raise ValueError(
                        f"reduce-only order on {o.symbol!r} would close {o.qty:g} contracts of the {side} leg, "
                        f"which holds {leg:g}: it is on the wrong side of the hedge or too large"
                    )

    def _groups_by(self, key) -> dict:
        out: dict = {}
        for i in self.instruments:
            out.setdefault(key(i), []).append(i)
        return out

    # ------------------------------------------------------------------ valuation
    # ``prices`` below are checked by _prices where they enter (every public method)
    def _price_of(self, currency: str, prices: dict[str, FloatArray]) -> FloatArray:
        if self.currency != "USD" or currency in STABLE:
            return np.asarray(1.0)
        if currency not in prices:
            raise ValueError(f"currency {currency!r} has no price: give prices[{currency!r}] (its USD price)")
        return prices[currency]

    def _mark(self, inst: Instrument, prices: dict[str, FloatArray]) -> FloatArray:
        if inst.underlying not in prices:
            raise ValueError(f"no price for underlying {inst.underlying!r} (symbol {inst.symbol!r}); prices has {sorted(prices)}")
        return prices[inst.underlying]

    def _tier_groups(self) -> list[tuple[Instrument, float]]:
        """Positions grouped as :attr:`tier_rule` charges them, each group's instrument and size in
        contracts: ``|long − short|`` under ``"net"``, the sum of its legs otherwise. The legs of a
        group share one contract and one underlying (checked at construction for ``"underlying"``)."""
        return [(inst, size) for inst, _, size in self._tier_legs()]

    def _tier_legs(self) -> list[tuple[Instrument, list[Position], float]]:
        """:meth:`_tier_groups` with each group's positions (its legs), in order of first appearance."""
        groups: dict[tuple, list[Position]] = {}
        for p in self.positions:
            inst = self.instrument(p.symbol)
            key = {"position": (p.symbol, p.side), "net": (p.symbol,),
                   "underlying": (inst.underlying, inst.settle)}[self.tier_rule]
            groups.setdefault(key, []).append(p)
        signed = self.tier_rule == "net"
        return [(self.instrument(legs[0].symbol), legs,
                 abs(sum(p.side * p.qty for p in legs)) if signed else sum(p.qty for p in legs))
                for legs in groups.values()]

    def _legs_by_underlying(self) -> dict[tuple[str, str], list[Position]]:
        """Positions grouped by (underlying, settle currency), in order of first appearance."""
        out: dict[tuple[str, str], list[Position]] = {}
        for p in self.positions:
            inst = self.instrument(p.symbol)
            out.setdefault((inst.underlying, inst.settle), []).append(p)
        return out

    def _bankruptcy_line(self, legs: list[Position], currency: str, f: float) -> tuple[float, float]:
        """``(c, k)``: the equity less the fee to close of ``legs`` is ``c + k·u`` in the price coordinate
        ``u``, i.e. ``W + Σ σ s q FV (u − u_E) − f Σ q FV u`` with ``W`` the wallet of ``currency``
        (balance + realized PnL − margin frozen by its orders), the sums over ``legs`` (one underlying,
        one contract kind)."""
        frozen = sum(float(self.instrument(o.symbol).table.contract.value(o.qty, o.price)) / o.leverage
                     for o in self.orders if not o.reduce_only and self.instrument(o.symbol).settle == currency)
        wallet = self.balances.get(currency, 0.0) + self.realized_pnl.get(currency, 0.0) - frozen
        a = b = n = 0.0
        for p in legs:
            c = self.instrument(p.symbol).table.contract
            qfv = p.qty * c.face_value
            a += c.sigma * p.side * qfv
            b += c.sigma * p.side * qfv * float(c.coordinate(p.entry))
            n += qfv
        return wallet - b, a - f * n

    def _bankruptcy_root(self, legs: list[Position], currency: str, f: float) -> float | None:
        """Root ``u_B`` of :meth:`_bankruptcy_line`; None where its slope is 0 (e.g. a fully hedged
        account with no fee): the equity less the fee is then the same at every price, and no one
        price is the bankruptcy price."""
        c, k = self._bankruptcy_line(legs, currency, f)
        return -c / k if k != 0 else None

    def bankruptcy_price(self, underlying: str, fee_rate: float | None = None) -> LiquidationPrice:
        """The price of ``underlying`` at which the account is bankrupt, fee to close included.

        Solves, in the price coordinate ``u`` (``P`` linear, ``1/P`` inverse) of the positions on
        ``underlying`` (all settled in one currency ``c``):

        .. math:: W_c + \\sum_i σ s_i q_i FV_i (u − u_{E,i}) = f \\sum_i q_i FV_i\\, u

        with ``W_c`` the wallet of ``c`` (balance + realized PnL) less the margin frozen by orders
        settled in ``c``; positions on other underlyings are held at their entry (no PnL). Bybit help
        "How to calculate Liquidation Price (Inverse Contract)", cross margin, long: "Bankruptcy
        Price = 1.00075 × Quantity / (Quantity/Average Entry Price + (Account Balance − Order
        Margin))" — balance 0.5 BTC, long 10,000 contracts at 8,000, taker 0.075% → 5,718.57.

        Parameters
        ----------
        underlying : str
        fee_rate : float, optional
            The fee to close, in [0, 1); by default the account's where ``fee_at="bankruptcy"``,
            else 0 (equity = 0).

        Returns
        -------
        LiquidationPrice
            ``exists`` False where no positive price makes the account bankrupt (price 0.0 for a net
            long, ``inf`` otherwise), including an account whose equity less the fee does not move
            with the price (a fully hedged one with no fee) and is positive; tier 0 (account level).

        Raises
        ------
        ValueError
            An ``underlying`` without positions in exactly one settle currency, a bad ``fee_rate``, or
            an account bankrupt at every price (equity less the fee ≤ 0 and not moving with the price).

        Examples
        --------
        >>> import tiermargin as tm
        >>> inv = tm.TierTable.single(0.005, contract=tm.Contract("inverse", 1, "BTC"))
        >>> acc = CrossAccount([Instrument("BTCUSD", inv, "BTC")], {"BTC": 0.5},
        ...                    [Position("BTCUSD", "long", 10_000, 8_000)], fee_rate=0.00075, fee_at="bankruptcy")
        >>> round(acc.bankruptcy_price("BTC").price, 2)
        5718.57
        """
        _check.text("underlying", underlying)
        groups = {cur: legs for (u, cur), legs in self._legs_by_underlying().items() if u == underlying}
        if len(groups) != 1:
            raise ValueError(f"underlying {underlying!r}: the account has positions on it settled in "
                             f"{len(groups)} currencies, it needs exactly one to have a bankruptcy price")
        (cur, legs), = groups.items()
        if fee_rate is None:
            fee_rate = self.fee_rate if self.fee_at == "bankruptcy" else 0.0
        f = float(_check.rate("fee_rate", fee_rate))
        c, k = self._bankruptcy_line(legs, cur, f)
        if k == 0 and c <= 0:
            raise ValueError(f"underlying {underlying!r}: the equity less the fee to close is {c:g} at every price "
                             "(it does not move with the price): the account is bankrupt at any price, it has no "
                             "bankruptcy price")
        u = self._bankruptcy_root(legs, cur, f)
        if u is not None and u > 0:
            return LiquidationPrice(float(self.instrument(legs[0].symbol).table.contract.price_of(u)), True, 0)
        net = sum(p.side * p.qty for p in legs)
        return LiquidationPrice(0.0 if net > 0 else np.inf, False, 0)

    def _position_fees(self, legs: list[Position], at: FloatArray) -> FloatArray:
        """Fee reserve of ``legs`` (one tier group) where it is valued per position: at each entry, or
        at the bankruptcy price of their underlying (its value 0 where there is none, as in isolated
        margin). ``at`` is only used for the shape."""
        f = self.fee_rate
        c = self.instrument(legs[0].symbol).table.contract
        if self.fee_at == "entry":
            total = sum(float(c.value(p.qty, p.entry)) for p in legs)
        else:
            inst = self.instrument(legs[0].symbol)
            u = self._bankruptcy_root(self._legs_by_underlying()[(inst.underlying, inst.settle)], inst.settle, f)
            total = sum(p.qty * c.face_value for p in legs) * (u if u is not None and u > 0 else 0.0)
        return np.full(np.shape(at), f * total)

    def _requirement_groups(self, prices: Prices) -> Iterable[tuple[str, FloatArray, FloatArray]]:
        """(currency, requirement, exposure) of each tier group and order, in that currency."""
        f = self.fee_rate
        for inst, legs, contracts in self._tier_legs():
            table, mark = inst.table, self._mark(inst, prices)
            value = np.asarray(table.contract.value(contracts, mark))
            at = mark if self.requirement_at == "mark" else np.full(np.shape(mark), legs[0].entry)
            mm = np.asarray(table.maintenance_margin(table.size_of(contracts, at), table.unit_value(at)))
            if self.fee_at == "mark":
                fee = f * (value if self.requirement_at == "mark" else np.asarray(table.contract.value(contracts, at)))
            else:
                fee = self._position_fees(legs, at)
            yield inst.settle, mm + fee, value
        for o in self.orders:
            if o.reduce_only:
                continue
            inst = self.instrument(o.symbol)
            c = inst.table.contract
            value = c.value(o.qty, o.price)
            rate = inst.table.rate(value if inst.table.basis == "notional" else o.qty)
            if self.fee_at == "bankruptcy":
                u_b = max(float(c.coordinate(o.price)) * (1 - c.sigma * o.side / o.leverage), 0.0)
                yield inst.settle, np.asarray(rate * value + f * o.qty * c.face_value * u_b), np.asarray(value)
            else:
                yield inst.settle, np.asarray((rate + f) * value), np.asarray(value)

    def state(self, prices: Prices) -> AccountState:
        """Equity, requirement, exposure and health at ``prices`` (underlying → price; arrays broadcast).

        Amounts are in :attr:`currency` (USD for a multi-currency account).
        """
        prices = _prices(prices)
        equity_c: dict[str, FloatArray] = {c: np.asarray(self.balances.get(c, 0.0) + self.realized_pnl.get(c, 0.0))
                                           for c in self.currencies}
        for p in self.positions:
            inst = self.instrument(p.symbol)
            equity_c[inst.settle] = equity_c[inst.settle] + np.asarray(
                inst.table.contract.upnl(p.side, p.qty, p.entry, self._mark(inst, prices)))
        requirement, exposure = np.asarray(0.0), np.asarray(0.0)
        for cur, req, exp in self._requirement_groups(prices):
            px = self._price_of(cur, prices)
            requirement = requirement + req * px
            exposure = exposure + exp * px
        equity = np.asarray(0.0)
        for cur, amount in equity_c.items():
            usd = amount * self._price_of(cur, prices)
            haircut = self.haircuts.get(cur)
            equity = equity + (np.asarray(haircut.value(usd)) if haircut and self.currency == "USD" else usd)
        return AccountState(equity, requirement, exposure, equity - requirement)

    def health(self, prices: Prices) -> float | FloatArray:
        """Equity − requirement (≤ 0: the account is liquidated)."""
        return _check.scalar_or_array(self.state(prices).health)

    def margin_ratios(self, prices: Prices) -> MarginRatios:
        """The displayed conventions, all from the one health figure (see the module docstring)."""
        s = self.state(prices)
        return MarginRatios.of(s.equity, s.requirement, s.exposure)

    def explain_ratio(self, prices: Prices, which: Literal["legacy", "coinw", "binance"] = "coinw") -> Derivation:
        """How one displayed margin ratio of :meth:`margin_ratios` is computed at ``prices``, by hand.

        The lines: each position's PnL, each currency's collateral ``balance + RPL + UPL`` (after
        haircuts, in USD in a multi-currency account), each tier group's maintenance margin and fee
        reserve (on ``|net contracts|`` under ``tier_rule="net"``), each open order's requirement,
        the total requirement and the equity; for ``"legacy"`` also each tier group's value at the
        mark and each order's frozen margin ``Q × P ÷ L`` times its leverage (its value), their sum
        the exposure, and the threshold ``requirement ÷ exposure``. Then the ratio:

        * ``"legacy"``: equity ÷ (position value + order frozen margin × leverage), the source
          articles' cross ratio, liquidated at or below the threshold;
        * ``"coinw"``: equity ÷ requirement (CoinW: on ``|net contracts|``), liquidated at ≤ 100 %;
        * ``"binance"``: requirement ÷ equity, liquidated at ≥ 100 %.

        A zero denominator gives ``inf``, as in :class:`~tiermargin.isolated.MarginRatios`.

        Examples
        --------
        >>> import tiermargin as tm
        >>> i = Instrument("BTCUSDT", tm.load_table("binance-usdm-btcusdt-2021"), "BTC")
        >>> acc = CrossAccount([i], {"USDT": 10_000}, [Position("BTCUSDT", "long", 1, 60_000)],
        ...                    orders=[Order("BTCUSDT", "long", 0.5, 58_000, 10)])
        >>> d = acc.explain_ratio({"BTC": 61_000}, "legacy")
        >>> d.result == acc.margin_ratios({"BTC": 61_000}).legacy, d.line("order_value_1").numbers
        (True, '2,900 × 10')
        """
        return _explain_ratio(self, prices, which)

    def is_liquidated(self, prices: Prices) -> bool | NDArray[np.bool_]:
        """True where health ≤ 0: the whole account is liquidated at ``prices`` (arrays broadcast)."""
        liq = np.asarray(self.health(prices)) <= 0
        return bool(liq) if liq.ndim == 0 else liq

    def frozen_margin(self, prices: Prices) -> float | FloatArray:
        """Margin frozen by open orders, ``Σ value/leverage`` in :attr:`currency` (reduce-only: none).

        It is not part of health (an order's risk is charged in the requirement at ``MMR + fee`` on
        its value); the legacy cross ratio's denominator adds it back times the leverage, i.e. the
        order's value. ``prices`` is only used to convert another settle currency to USD.

        Examples
        --------
        >>> import tiermargin as tm
        >>> i = Instrument("BTCUSDT", tm.load_table("binance-usdm-btcusdt-2021"), "BTC")
        >>> acc = CrossAccount([i], {"USDT": 10_000}, orders=[Order("BTCUSDT", "long", 0.5, 58_000, 10)])
        >>> acc.frozen_margin({"BTC": 60_000})
        2900.0
        """
        prices = _prices(prices)
        total: FloatArray = np.asarray(0.0)
        for o in self.orders:
            if not o.reduce_only:
                inst = self.instrument(o.symbol)
                value = np.asarray(inst.table.contract.value(o.qty, o.price))
                total = total + value / o.leverage * self._price_of(inst.settle, prices)
        return _check.scalar_or_array(total)

    # ------------------------------------------------------------------ liquidation
    def liquidation_prices(self, prices: Prices, underlying: str) -> tuple[LiquidationPrice, LiquidationPrice]:
        """Prices of ``underlying`` below and above its current price at which health reaches 0,
        every other underlying held at its price.

        Health is piecewise affine in the price coordinate between the prices at which a tier group
        crosses a boundary; those breakpoints are evaluated exactly, the grid between them
        geometrically, and the first sign change from the current price is refined to machine
        precision (so the tier at the liquidation price is the one used — self-consistent — and a
        jump at a step-table boundary is found at the boundary). A hedged account can have both.

        Returns
        -------
        (below, above) : LiquidationPrice, LiquidationPrice
            ``exists`` False on a side where health stays positive (tier 0: account level).
        """
        prices = _prices(prices, one=True)
        if not any(i.underlying == _check.text("underlying", underlying) for i in self.instruments):
            raise ValueError(f"underlying {underlying!r} is not traded in this account")
        p0 = float(self._mark(next(i for i in self.instruments if i.underlying == underlying), prices))
        if float(np.asarray(self.health(prices))) <= 0:
            raise ValueError("the account is already liquidated at these prices (health ≤ 0)")
        breaks = self._breakpoints(underlying)

        def h(x: FloatArray) -> FloatArray:
            return np.asarray(self.health({**prices, underlying: x}))

        grid = np.concatenate((np.geomspace(p0 / _SEARCH, p0 * _SEARCH, 4001), _piece_samples(h, p0, breaks)))
        below = _first_crossing(h, p0, grid[grid <= p0])
        above = _first_crossing(h, p0, grid[grid >= p0])
        return (LiquidationPrice(below, True, 0) if below is not None else LiquidationPrice(0.0, False, 0),
                LiquidationPrice(above, True, 0) if above is not None else LiquidationPrice(np.inf, False, 0))

    def explain_liquidation_price(self, prices: Prices, underlying: str,
                                  side: Literal["below", "above"] = "below") -> Derivation:
        """How the liquidation price of ``underlying`` on one ``side`` is found, line by line.

        The derivation redoes :meth:`liquidation_prices` by hand: each position's PnL and each tier
        group's requirement at the current prices, the collateral (after haircuts), health now;
        what is held fixed (the other underlyings at their prices); each tier group's breakpoints
        (the prices at which its size crosses a tier cap: ``P = cap ÷ (Q·FV)`` linear,
        ``Q·FV ÷ cap`` inverse) between the current price and the answer; health at the ends of
        each piece between breakpoints, walking away from the current price, and the piece where
        it reaches 0. Inside a piece no tier changes, so health is affine in ``P`` (linear
        contracts, or inverse ones valued in USD) or in ``1/P`` (inverse ones in their coin): the
        root is the closed form ``u* = u₁ − h₁ ÷ k`` of the line through two evaluations of health,
        checked at a third price (where health is neither — contracts of both kinds, a collateral
        haircut slice — the two evaluations bracket a bisection). Where health jumps to ≤ 0 at a
        step table's boundary, the boundary is the answer. With one position it is the isolated
        liquidation price (Binance: cross with wallet WB is isolated with margin WB).

        Parameters
        ----------
        prices : mapping underlying (or currency) → price
            The current prices, one number each.
        underlying : str
            The underlying whose price moves; every other price is held.
        side : {"below", "above"}
            Which of the two prices of :meth:`liquidation_prices`.

        Returns
        -------
        Derivation
            Its result is the liquidation price, or None (the last line says why) where health
            stays positive on that side.

        Raises
        ------
        ValueError
            A bad ``side``, an untraded ``underlying``, a price that is not one positive number,
            or an account already liquidated at ``prices``.

        Examples
        --------
        Binance's cross example: a BTC long and an ETH short share 20,000 USDT; ETH held at 3,000.

        >>> import tiermargin as tm
        >>> btc = Instrument("BTCUSDT", tm.load_table("binance-usdm-btcusdt-2021"), "BTC")
        >>> eth = Instrument("ETHUSDT", tm.TierTable.single(0.005, max_leverage=100), "ETH")
        >>> acc = CrossAccount([btc, eth], {"USDT": 20_000},
        ...                    [Position("BTCUSDT", "long", 2, 60_000), Position("ETHUSDT", "short", 10, 3_000)])
        >>> d = acc.explain_liquidation_price({"BTC": 60_000, "ETH": 3_000}, "BTC")
        >>> round(d.result, 6) == round(acc.liquidation_prices({"BTC": 60_000, "ETH": 3_000}, "BTC")[0].price, 6)
        True
        >>> d.line("root").formula, d.lines[-1].why
        ('u* = u_1 − h_1 ÷ k', 'health = 0 inside the piece, in tier 2 of BTCUSDT long')
        """
        return _explain_liquidation(self, prices, underlying, side)

    def _breakpoints(self, underlying: str) -> FloatArray:
        """Prices of ``underlying`` at which a notional tier group crosses a boundary (none where the
        maintenance margin is valued at entry: it does not move with the price)."""
        if self.requirement_at == "entry":
            return np.empty(0)
        out = [inst.table.contract.price_of(inst.table.caps[:-1] / (contracts * inst.table.contract.face_value))
               for inst, contracts in self._tier_groups()
               if inst.underlying == underlying and inst.table.basis == "notional" and contracts > 0]
        return np.concatenate(out) if out else np.empty(0)

    def surface(self, prices: Prices, grid: Mapping[str, ArrayLike]) -> FloatArray:
        """Health over a grid of two (or more) underlyings' prices, the others held: vectorized.

        ``grid`` maps each varied underlying to a 1-d array; the result has one axis per varied
        underlying, in ``grid``'s order. The liquidation *surface* is where it crosses 0 — in a
        multi-currency account there is no single liquidation price (source article FAQ Q3).
        """
        prices, names = _prices(prices), list(_names("grid", grid))
        known = {i.underlying for i in self.instruments} | set(self.currencies)
        if not names or not set(names) <= known:
            raise ValueError(f"grid must map some of the account's underlyings or currencies {sorted(known)} to "
                             f"prices, got {names}")
        axes = {n: _check.positive(f"grid[{n!r}]", grid[n]) for n in names}
        for n, a in axes.items():
            if a.ndim != 1:
                raise ValueError(f"grid[{n!r}] must be a 1-d array of prices, got shape {a.shape}")
        shaped = {n: axes[n].reshape([-1 if j == k else 1 for j in range(len(names))]) for k, n in enumerate(names)}
        h = np.asarray(self.health({**prices, **shaped}))
        return np.broadcast_to(h, tuple(a.size for a in axes.values())).copy()

    def with_balance(self, currency: str, amount: float) -> CrossAccount:
        """A copy with ``amount`` added to the wallet balance of ``currency`` (negative withdraws)."""
        balances = dict(self.balances)
        _label("currency", currency)
        balances[currency] = balances.get(currency, 0.0) + _check.one_number("amount", amount)
        return replace(self, balances=balances)


_SEARCH = 1e6
"""The liquidation price search runs from ``P0 ÷ _SEARCH`` to ``P0 × _SEARCH``."""
_INSIDE = 1e-9
"""Relative step just inside a piece's end (a step table jumps at the end itself)."""


def _piece_samples(h: Callable[[FloatArray], FloatArray], p0: float, breaks: FloatArray) -> FloatArray:
    """Prices at which to sample health so that no sign change between two samples is missed.

    Between two breakpoints (tier boundaries of the underlying's tier groups) no tier changes, so
    health is ``a·P + b/P + c`` (linear contracts and collateral affine in ``P``, inverse ones in
    ``1/P``, in either settle currency). Each piece is sampled at its two ends, just inside them
    (a step table jumps *at* the boundary: a window of ill health can end there), and at its
    minimum ``√(b/a)`` when it has one inside (``a, b > 0``), the coefficients fitted exactly
    from three interior points. A sign change that the samples miss would need two roots between
    two neighbouring samples, which this form does not allow.
    """
    lo_end, hi_end = p0 / _SEARCH, p0 * _SEARCH
    edges = np.unique(np.concatenate(([lo_end], breaks[(breaks > lo_end) & (breaks < hi_end)], [hi_end])))
    lo, hi = edges[:-1], edges[1:]
    near = np.concatenate((lo * (1 + _INSIDE), hi * (1 - _INSIDE)))
    return np.concatenate((edges, near, _piece_minima(h, lo, hi)))


def _piece_minima(h: Callable[[FloatArray], FloatArray], lo: FloatArray, hi: FloatArray) -> FloatArray:
    """The minimum ``√(b/a)`` of health ``a·P + b/P + c`` in each piece ``(lo, hi)`` that has one
    strictly inside (``a, b > 0``), the coefficients fitted exactly from three interior points;
    pieces narrower than a relative 1e-6 are skipped (the samples at their ends cover them)."""
    wide = hi > lo * (1 + 1e-6)
    if not wide.any():
        return np.empty(0)
    lo, hi = lo[wide], hi[wide]
    mid, r = np.sqrt(lo * hi), np.sqrt(hi / lo)
    z = r[:, None] ** np.array([-0.5, 0.0, 0.5])  # three interior points per piece, as x = mid·z
    y = np.broadcast_to(np.asarray(h((mid[:, None] * z).ravel())), (z.size,)).reshape(z.shape)  # h may not vary
    # h = A·z + B/z + c with A = a·mid, B = b/mid: a well-scaled 3×3 system per piece
    design = np.stack((z, 1 / z, np.ones_like(z)), axis=-1)
    with np.errstate(all="ignore"):
        big_a, big_b, _ = np.moveaxis(np.linalg.solve(design, y[..., None])[..., 0], -1, 0)
        crit = mid * np.sqrt(big_b / big_a)
    inside = (big_a > 0) & (big_b > 0) & np.isfinite(crit) & (crit > lo) & (crit < hi)
    return crit[inside]


def _first_crossing(h, p0: float, points: FloatArray, sections: int = 64) -> float | None:
    """First price from ``p0`` along ``points`` (sorted away from p0) where h ≤ 0, refined.

    The bracket around the first sign change is cut into ``sections`` evaluated in one vectorized
    call (not one scalar call per halving) and narrowed to the first section that changes sign,
    until no float lies strictly inside: the result is the float nearest ``p0`` where h ≤ 0, as a
    bisection would give, in ~8 calls instead of ~50.
    """
    pts = np.unique(points)
    pts = pts[np.argsort(np.abs(np.log(pts / p0)), kind="stable")]  # nearest to p0 first
    vals = h(pts)
    bad = np.flatnonzero(vals <= 0)
    if bad.size == 0:
        return None
    k = int(bad[0])
    lo, hi = (p0 if k == 0 else float(pts[k - 1])), float(pts[k])  # h(lo) > 0 ≥ h(hi)
    while True:
        cuts = np.linspace(lo, hi, sections + 1)[1:-1]  # from the healthy end to the liquidated one
        cuts = cuts[(cuts - lo) * (hi - cuts) > 0]  # strictly inside, whichever way the bracket runs
        if cuts.size == 0:
            return hi
        bad = np.flatnonzero(np.asarray(h(cuts)) <= 0)
        if bad.size:
            k = int(bad[0])
            lo, hi = (lo if k == 0 else float(cuts[k - 1])), float(cuts[k])
        else:
            lo = float(cuts[-1])


# ---------------------------------------------------------------------- explanation
_TIER_RULE = {"position": "tiers per position (Binance, Bybit)",
              "net": "tiers per pair on |long − short| contracts (CoinW cross single-currency, HTX)",
              "underlying": "tiers per underlying across expiries, contracts summed (OKX cross)"}
_SOURCE = ("Binance FAQ 'How to Calculate Liquidation Price of USDⓈ-M Futures Contracts', cross: "
           "LP = (WB − TMM1 + UPNL1 + cum − s·Q·EP)/(Q·MMR − s·Q), the other contracts' maintenance margin "
           "TMM1 and PnL UPNL1 held; the source articles' cross formula (balance + RPL + UPL) against MMR + fee")
_FEE_SOURCE = {"bankruptcy": "Bybit help 'How to calculate Liquidation Price (Inverse Contract)', cross margin: the "
                             "fee to close at the bankruptcy price", "entry": "", "mark": ""}


class _Walk(NamedTuple):
    """Where health first reaches ≤ 0 walking from the current price: the pieces visited
    ``(near, far, health just inside near, health just inside far)``, and either a ``boundary``
    (health ≤ 0 from a tier boundary on) with health on both sides, or a ``bracket`` inside a piece
    ``((P₁, h₁ > 0), (P₂, h₂ ≤ 0))``, or neither (no liquidation price on that side)."""

    pieces: list[tuple[float, float, float, float]]
    boundary: tuple[float, float, float] | None = None
    bracket: tuple[tuple[float, float], tuple[float, float]] | None = None


def _toward(x: float, y: float) -> float:
    """``x`` moved a relative :data:`_INSIDE` toward ``y``."""
    return float(x * (1 + _INSIDE * np.sign(y - x)))


def _walk(h: Callable[[FloatArray], FloatArray], p0: float, ends: list[float]) -> _Walk:
    """Health sampled piece by piece from ``p0`` (healthy) through ``ends`` (the breakpoints in
    order, then the end of the search) at the prices :func:`_piece_samples` uses: just inside each
    end, the interior minimum, the boundary itself."""
    pieces: list[tuple[float, float, float, float]] = []
    near, prev = p0, (p0, float(h(np.asarray(p0))))
    for far in ends:
        crit = _piece_minima(h, np.array([min(near, far)]), np.array([max(near, far)]))
        samples = ([("start", _toward(near, far))] if near != p0 else []) + [("min", float(c)) for c in crit] + \
                  [("end", _toward(far, near)), ("edge", far)]
        h_start = prev[1]
        for kind, x in samples:
            hx = float(h(np.asarray(x)))
            if kind == "start":
                h_start = hx
            if hx <= 0 and kind in ("start", "edge"):  # at a boundary: the pieces before it are healthy
                return _Walk(pieces, boundary=(near if kind == "start" else far, prev[1], hx))
            if hx <= 0:
                pieces.append((near, far, h_start, hx))
                return _Walk(pieces, bracket=(prev, (x, hx)))
            if kind == "end":
                pieces.append((near, far, h_start, hx))
            prev = (x, hx)
        near = far
    return _Walk(pieces)


def _group_label(acc: CrossAccount, inst: Instrument, legs: list[Position]) -> str:
    if acc.tier_rule == "position":
        return f"{inst.symbol} {'long' if legs[0].side > 0 else 'short'}"
    if acc.tier_rule == "net":
        return f"{inst.symbol} net"
    return f"{inst.underlying} in {inst.settle}"


def _upl_line(i: int, p: Position, inst: Instrument, mark: float) -> Line:
    c, s, qfv = inst.table.contract, p.side, p.qty * inst.table.contract.face_value
    why = f"{p.symbol} {'long' if s > 0 else 'short'} {num(p.qty)} from {num(p.entry)}, {inst.underlying} at {num(mark)}"
    if c.kind == "linear":
        return Line(f"upl_{i}", "UPL = s × Q × FV × (P − EP)", f"{num(s)} × {num(qfv)} × ({num(mark)} − {num(p.entry)})",
                    s * qfv * (mark - p.entry) + 0.0, why)
    return Line(f"upl_{i}", "UPL = s × Q × FV × (1/EP − 1/P)",
                f"{num(s)} × {num(qfv)} × (1/{num(p.entry)} − 1/{num(mark)})", s * qfv * (1 / p.entry - 1 / mark) + 0.0, why)


def _collateral_lines(acc: CrossAccount, prices: Prices) -> list[Line]:
    """Each position's PnL, then each currency's collateral: ``p_c × (balance + RPL + UPL)`` after haircuts."""
    lines: list[Line] = []
    upl: dict[str, list[float]] = {c: [] for c in acc.currencies}
    for i, p in enumerate(acc.positions, 1):
        inst = acc.instrument(p.symbol)
        lines.append(_upl_line(i, p, inst, float(acc._mark(inst, prices))))
        upl[inst.settle].append(float(lines[-1].value))
    multi = acc.currency == "USD"
    for c, pnl in upl.items():
        base = acc.balances.get(c, 0.0) + acc.realized_pnl.get(c, 0.0)
        amount = base + sum(pnl)
        px = float(acc._price_of(c, prices))
        haircut = acc.haircuts.get(c) if multi else None
        value = float(haircut.value(amount * px)) if haircut else amount * px
        inner = f"{num(acc.balances.get(c, 0.0))} + {num(acc.realized_pnl.get(c, 0.0))} + {num(sum(pnl))}"
        formula, numbers = "balance + RPL + UPL", f"{inner}"
        if multi:
            formula, numbers = f"p × ({formula})", f"{num(px)} × ({inner})"
        if haircut:
            formula, numbers = f"haircut({formula})", f"haircut({numbers})"
        why = f"{c}" + (f", haircut slices {haircut.bounds} at {haircut.rates}" if haircut else "")
        lines.append(Line(f"collateral_{c}", f"collateral_{c} = {formula}", numbers, value, why))
    return lines


def _group_requirement_lines(acc: CrossAccount, prices: Prices, g: int, inst: Instrument, legs: list[Position],
                             contracts: float) -> list[Line]:
    """A tier group's maintenance margin (its row, by :meth:`TierTable.explain`) and fee reserve."""
    t, c, f = inst.table, inst.table.contract, acc.fee_rate
    mark = float(acc._mark(inst, prices))
    at = mark if acc.requirement_at == "mark" else legs[0].entry
    size = float(t.size_of(contracts, at))
    mm = t.explain(size, float(t.unit_value(at)))
    label = f"{_group_label(acc, inst, legs)}, {num(contracts)} contracts"
    valued = f"valued at {'the mark' if acc.requirement_at == 'mark' else 'entry'} {num(at)}"
    lines = [Line(f"mm_{g}", "MM", mm.line("mm").numbers, mm.result, f"{label}, {mm.line('tier').why}, {valued}")]
    if f == 0:
        return lines
    if acc.fee_at == "mark":
        value = float(c.value(contracts, at))
        lines.append(Line(f"fee_{g}", "fee = f × value", f"{pct(f)} × {num(value)}", f * value, valued))
    elif acc.fee_at == "entry":
        values = [float(c.value(p.qty, p.entry)) for p in legs]
        lines.append(Line(f"fee_{g}", "fee = f × Σ value at entry", f"{pct(f)} × ({' + '.join(map(num, values))})",
                          f * sum(values), "each leg at its entry"))
    else:
        u_b = acc._bankruptcy_root(acc._legs_by_underlying()[(inst.underlying, inst.settle)], inst.settle, f)
        u_b = u_b if u_b is not None and u_b > 0 else 0.0
        qfv = sum(p.qty for p in legs) * c.face_value
        where = f"bankruptcy price of {inst.underlying} {num(c.price_of(u_b))}" if u_b else "no bankruptcy price: no fee"
        lines.append(Line(f"fee_{g}", "fee = f × Q × FV × u_B", f"{pct(f)} × {num(qfv)} × {num(u_b)}", f * qfv * u_b,
                          f"{where} (u = {'P' if c.kind == 'linear' else '1/P'})"))
    return lines


def _order_line(acc: CrossAccount, j: int, o: Order) -> Line:
    inst = acc.instrument(o.symbol)
    c, f = inst.table.contract, acc.fee_rate
    value = float(c.value(o.qty, o.price))
    rate = float(inst.table.rate(value if inst.table.basis == "notional" else o.qty))
    why = f"order {o.symbol} {'buy' if o.side > 0 else 'sell'} {num(o.qty)} at {num(o.price)}: the tier of its own size"
    if acc.fee_at == "bankruptcy":
        u_b = max(float(c.coordinate(o.price)) * (1 - c.sigma * o.side / o.leverage), 0.0)
        fee = f * o.qty * c.face_value * u_b
        return Line(f"order_{j}", "requirement = MMR × value + f × Q × FV × u_B",
                    f"{pct(rate)} × {num(value)} + {pct(f)} × {num(o.qty * c.face_value)} × {num(u_b)}",
                    rate * value + fee, why + ", fee at its own bankruptcy price")
    return Line(f"order_{j}", "requirement = (MMR + f) × value", f"({pct(rate)} + {pct(f)}) × {num(value)}",
                (rate + f) * value, why)


def _health_now_lines(acc: CrossAccount, prices: Prices) -> list[Line]:
    """Collateral, every requirement, and health at ``prices``, by hand (the last line is health)."""
    lines = _collateral_lines(acc, prices)
    collateral = sum(float(ln.value) for ln in lines if ln.key.startswith("collateral_"))
    terms: list[tuple[float, float]] = []  # (p_c, requirement in c)
    for g, (inst, legs, contracts) in enumerate(acc._tier_legs(), 1):
        group = _group_requirement_lines(acc, prices, g, inst, legs, contracts)
        lines += group
        terms += [(float(acc._price_of(inst.settle, prices)), float(ln.value)) for ln in group]
    for j, o in enumerate((o for o in acc.orders if not o.reduce_only), 1):
        lines.append(_order_line(acc, j, o))
        terms.append((float(acc._price_of(acc.instrument(o.symbol).settle, prices)), float(lines[-1].value)))
    multi = acc.currency == "USD"
    shown = " + ".join(f"{num(px)} × {num(r)}" if multi else num(r) for px, r in terms) if len(terms) > 1 else ""
    requirement = sum(px * r for px, r in terms)
    lines.append(Line("requirement", "requirement = Σ p × (MM + fee)" if multi else "requirement = Σ (MM + fee)",
                      shown, requirement, "every tier group and open order"))
    lines.append(Line("health_now", "health = Σ collateral − requirement", f"{num(collateral)} − {num(requirement)}",
                      collateral - requirement, "> 0: the account is healthy at the current prices"))
    return lines


def _break_lines(acc: CrossAccount, underlying: str, p0: float, until: float) -> list[Line]:
    """Each tier group on ``underlying``: the prices strictly between ``p0`` and ``until`` where its
    size crosses a tier cap (none for a contracts basis or a requirement valued at entry)."""
    lines = []
    for g, (inst, legs, contracts) in enumerate(acc._tier_legs(), 1):
        if inst.underlying != underlying:
            continue
        t, c = inst.table, inst.table.contract
        label = f"{_group_label(acc, inst, legs)}, {num(contracts)} contracts"
        if acc.requirement_at == "entry" or t.basis == "contracts" or contracts == 0:
            why = ("valued at entry" if acc.requirement_at == "entry" else
                   "sized in contracts" if t.basis == "contracts" else "no net contracts")
            lines.append(Line(f"breaks_{g}", "", "", None, f"{label}: {why}, its tier does not move with the price"))
            continue
        qfv = contracts * c.face_value
        found = [(k + 1, float(cap), float(cap / qfv if c.kind == "linear" else qfv / cap))
                 for k, cap in enumerate(t.caps[:-1])]
        found = sorted((x for x in found if (x[2] - p0) * (until - p0) > 0 and abs(x[2] - p0) <= abs(until - p0) * (1 + 1e-12)),
                       key=lambda x: abs(x[2] - p0))
        formula = "P = cap ÷ (Q·FV)" if c.kind == "linear" else "P = Q·FV ÷ cap"
        crossed = "; ".join(f"cap {num(cap)} → P = {num(px)} (tier {k} | {k + 1})" for k, cap, px in found)
        lines.append(Line(f"breaks_{g}", formula if found else "", "", None,
                          f"{label}, Q·FV = {num(qfv)}: " + (crossed or f"no tier cap from {num(p0)} to {num(until)}")))
    return lines


def _tiers_at(acc: CrossAccount, underlying: str, price: float) -> str:
    """The tier of each group on ``underlying`` at ``price``."""
    out = []
    for inst, legs, contracts in acc._tier_legs():
        if inst.underlying == underlying:
            at = price if acc.requirement_at == "mark" else legs[0].entry
            k = int(inst.table.tier_index(float(inst.table.size_of(contracts, at)))) + 1
            out.append(f"tier {k} of {_group_label(acc, inst, legs)}")
    return ", ".join(out)


def _affine_root(acc: CrossAccount, h: Callable[[FloatArray], FloatArray], at: Callable[[float], Prices],
                 bracket: tuple[tuple[float, float], tuple[float, float]]) -> list[Line] | None:
    """The closed-form root of the line through the two evaluations of health, in the coordinate
    (``P`` or ``1/P``) in which health is affine there — checked at a third price — or None."""
    (p1, h1), (p2, h2) = bracket
    pm = float(np.sqrt(p1 * p2))
    hm = float(h(np.asarray(pm)))
    scale = max(float(np.abs(acc.state(at(x)).equity) + np.abs(acc.state(at(x)).requirement)) for x in (p1, pm, p2))
    best = None
    for name, coord in (("P", lambda x: x), ("1/P", lambda x: 1 / x)):
        u1, u2, um = coord(p1), coord(p2), coord(pm)
        off = abs(hm - (h1 + (um - u1) * (h2 - h1) / (u2 - u1)))
        if off <= 1e-11 * scale and (best is None or off < best[0]):
            best = (off, name, u1, u2)
    if best is None:
        return None
    off, name, u1, u2 = best
    k = float((h2 - h1) / (u2 - u1))
    u = float(u1 - h1 / k)
    return [Line("form", "", "", None, f"no tier changes between P_1 and P_2: health is affine in u = {name}, "
                                       f"h(u) = h_1 + k × (u − u_1) (at a third price {num(pm)} it is off the line by "
                                       f"{num(off, 2)})"),
            Line("slope", "k = (h_2 − h_1) ÷ (u_2 − u_1)", f"({num(h2)} − {num(h1)}) ÷ ({num(u2)} − {num(u1)})", k),
            Line("root", "u* = u_1 − h_1 ÷ k", f"{num(u1)} − {num(h1)} ÷ {num(k)}", u),
            Line("liquidation_price", "LP = u*" if name == "P" else "LP = 1 ÷ u*", "" if name == "P" else f"1 ÷ {num(u)}",
                 u if name == "P" else 1 / u)]


def _explain_liquidation(acc: CrossAccount, prices: Prices, underlying: str, side: str) -> Derivation:
    """:meth:`CrossAccount.explain_liquidation_price`."""
    _check.one_of("side", side, ("below", "above"))
    prices = _prices(prices, one=True)
    insts = [i for i in acc.instruments if i.underlying == _check.text("underlying", underlying)]
    if not insts:
        raise ValueError(f"underlying {underlying!r} is not traded in this account")
    p0 = float(acc._mark(insts[0], prices))
    if float(np.asarray(acc.health(prices))) <= 0:
        raise ValueError("the account is already liquidated at these prices (health ≤ 0)")

    def at(x: float) -> Prices:
        return {**prices, underlying: x}

    def h(x: FloatArray) -> FloatArray:
        return np.asarray(acc.health({**prices, underlying: x}))

    down = side == "below"
    limit = p0 / _SEARCH if down else p0 * _SEARCH
    breaks = np.unique(acc._breakpoints(underlying))
    ahead = sorted((float(b) for b in breaks if (b < p0 if down else b > p0) and min(p0, limit) < b < max(p0, limit)),
                   key=lambda b: abs(b - p0))
    walk = _walk(h, p0, ahead + [limit])
    until = walk.boundary[0] if walk.boundary else walk.bracket[1][0] if walk.bracket else limit

    held = sorted({i.underlying for i in acc.instruments if i.underlying != underlying and i.underlying in prices})
    held_why = ("held fixed: " + ", ".join(f"{u} at {num(float(np.asarray(prices[u])))}" for u in held) if held
                else f"only {underlying} moves") + "; balances, realized PnL and open orders unchanged"
    lines = [Line("mark", "P_0", "", p0, f"the current price of {underlying}")] + _health_now_lines(acc, prices)
    lines += [Line("held", "", "", None, held_why)] + _break_lines(acc, underlying, p0, until)
    for i, (near, far, h_near, h_far) in enumerate(walk.pieces, 1):
        last = i == len(walk.pieces) and walk.bracket is not None
        lines.append(Line(f"piece_{i}", "", "", None, f"P from {num(near)} to {num(far)}: health {num(h_near)} → "
                                                      f"{num(h_far)}" + (", reaches ≤ 0 here" if last else ", > 0")))
    lines += _answer_lines(acc, h, at, walk, underlying, side, p0, limit)
    rule = (f"health = Σ collateral − Σ requirement reaches 0 as {underlying} moves {side} {num(p0)}, every other "
            f"price held (cross margin: one health figure for the account); {_TIER_RULE[acc.tier_rule]}; maintenance "
            f"margin valued at {'the mark' if acc.requirement_at == 'mark' else 'each entry'}"
            + (f", fee reserve {pct(acc.fee_rate)} valued {'with it' if acc.fee_at == 'mark' else 'at ' + acc.fee_at}"
               if acc.fee_rate else ""))
    source = "; ".join(x for x in (_SOURCE, _FEE_SOURCE[acc.fee_at] if acc.fee_rate else "") if x)
    return Derivation(f"Liquidation price of {underlying} {side} {num(p0)}", tuple(lines), rule, source)


def _answer_lines(acc: CrossAccount, h: Callable[[FloatArray], FloatArray], at: Callable[[float], Prices],
                  walk: _Walk, underlying: str, side: str, p0: float, limit: float) -> list[Line]:
    """The last lines: the boundary health jumps at, the root in its piece, or why there is none."""
    if walk.boundary:
        b, before, after = walk.boundary
        step = any(i.table.form == "step" for i, _, _ in acc._tier_legs() if i.underlying == underlying)
        how = "jumps (a step table charges the whole group at the next tier's rate)" if step else "falls"
        return [Line("jump", "", "", None, f"across the tier boundary {num(b)} health {how} from {num(before)} to "
                                           f"{num(after)}: it reaches ≤ 0 at the boundary, not inside a piece"),
                Line("liquidation_price", "LP", "", b, f"the tier boundary; {_tiers_at(acc, underlying, b)}")]
    if walk.bracket:
        (p1, h1), (p2, h2) = walk.bracket
        lines = [Line("h_1", "h_1 = health(P_1)", f"health({num(p1)})", h1, "> 0"),
                 Line("h_2", "h_2 = health(P_2)", f"health({num(p2)})", h2, "≤ 0: the root lies between")]
        root = _affine_root(acc, h, at, walk.bracket)
        if root is None:
            lp = _first_crossing(h, p1, np.array([p2]))
            root = [Line("form", "", "", None, "health is affine neither in P nor in 1/P between P_1 and P_2 (contracts "
                                               "of both kinds, or a collateral haircut slice): bisected between them"),
                    Line("liquidation_price", "LP", "", lp)]
        final = root[-1]
        root[-1] = replace(final, why=f"health = 0 inside the piece, in {_tiers_at(acc, underlying, float(final.value))}")
        return lines + root
    return [Line("liquidation_price", "", "", None,
                 f"no liquidation price {side}: health stays > 0 from {num(p0)} to {num(limit)}, the end of the search "
                 f"(P_0 {'÷' if side == 'below' else '×'} 10⁶)")]


def _exposure_lines(acc: CrossAccount, prices: Prices) -> list[Line]:
    """Each tier group's value at the mark, each order's frozen margin and value, the exposure."""
    multi = acc.currency == "USD"
    lines: list[Line] = []
    terms: list[tuple[float, float]] = []
    for g, (inst, legs, contracts) in enumerate(acc._tier_legs(), 1):
        mark = float(acc._mark(inst, prices))
        value = float(inst.table.contract.value(contracts, mark))
        lines.append(Line(f"value_{g}", "value = contract value of Q at the mark",
                          f"{num(contracts)} contracts at {num(mark)}", value,
                          f"{_group_label(acc, inst, legs)}, {inst.underlying} at {num(mark)}"))
        terms.append((float(acc._price_of(inst.settle, prices)), value))
    for j, o in enumerate((o for o in acc.orders if not o.reduce_only), 1):
        inst = acc.instrument(o.symbol)
        value = float(inst.table.contract.value(o.qty, o.price))
        frozen = value / o.leverage
        lines.append(Line(f"frozen_{j}", "frozen margin = value of Q at P ÷ L",
                          f"{num(value)} ÷ {num(o.leverage)}", frozen,
                          f"order {o.symbol} {'buy' if o.side > 0 else 'sell'} {num(o.qty)} at {num(o.price)}, "
                          f"{num(o.leverage)}×"))
        lines.append(Line(f"order_value_{j}", "order value = frozen margin × L", f"{num(frozen)} × {num(o.leverage)}",
                          value, "an open order counts as exposure: its value"))
        terms.append((float(acc._price_of(inst.settle, prices)), value))
    shown = " + ".join(f"{num(px)} × {num(v)}" if multi else num(v) for px, v in terms) if len(terms) > 1 else ""
    lines.append(Line("exposure", "exposure = Σ position value + Σ order value", shown,
                      sum(px * v for px, v in terms), "every tier group and open order"))
    return lines


def _explain_ratio(acc: CrossAccount, prices: Prices, which: str) -> Derivation:
    """:meth:`CrossAccount.explain_ratio`."""
    _check.one_of("which", which, ("legacy", "coinw", "binance"))
    prices = _prices(prices, one=True)
    lines = _health_now_lines(acc, prices)[:-1]  # collateral, requirements; not health
    collateral = [ln for ln in lines if ln.key.startswith("collateral_")]
    e = sum(float(ln.value) for ln in collateral)
    r = float(lines[-1].value)
    lines.append(Line("equity", "equity = Σ collateral",
                      " + ".join(num(ln.value) for ln in collateral) if len(collateral) > 1 else "", e,
                      "balance + RPL + UPL" + (", in USD after haircuts" if acc.currency == "USD" else "")))

    def ratio(a: float, b: float) -> float:
        return a / b if b > 0 else np.inf

    if which == "legacy":
        lines += _exposure_lines(acc, prices)
        x = float(lines[-1].value)
        lines += [Line("threshold", "threshold = requirement ÷ exposure", f"{num(r)} ÷ {num(x)}", r / x if x > 0 else 0.0),
                  Line("ratio", "legacy ratio = equity ÷ exposure", f"{num(e)} ÷ {num(x)}", ratio(e, x),
                       "liquidated when it is at or below the threshold")]
        rule = ("source articles' cross ratio: (balance + RPL + UPL) ÷ (position value + order frozen margin × "
                "leverage), against MMR + fee")
    elif which == "coinw":
        lines.append(Line("ratio", "CoinW ratio = equity ÷ requirement", f"{num(e)} ÷ {num(r)}", ratio(e, r),
                          "liquidated at ≤ 100 %"))
        rule = "CoinW: (balance + UPL) ÷ (FV × |net contracts| × mark × (MMR + fee)); multi-currency Σ(MM + fees)"
    else:
        lines.append(Line("ratio", "Binance ratio = requirement ÷ equity", f"{num(r)} ÷ {num(e)}", ratio(r, e),
                          "liquidated at ≥ 100 %"))
        rule = "Binance: margin ratio = maintenance margin ÷ margin balance"
    n = len(acc.positions)
    return Derivation(f"Cross margin ratio ({which}) of an account of {n} position{'' if n == 1 else 's'}",
                      tuple(lines), f"{rule}; {_TIER_RULE[acc.tier_rule]}",
                      "all three are views of one health figure (tiermargin.isolated.MarginRatios)")
