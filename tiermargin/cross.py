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
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _check
from ._check import FloatArray
from .isolated import LiquidationPrice, MarginRatios
from .tiers import TierTable

TierRule = Literal["position", "net", "underlying"]
Mode = Literal["one-way", "hedge"]
STABLE = ("USD", "USDT", "USDC", "BUSD")  # valued at 1 USD
Prices = Mapping[str, ArrayLike]


@dataclass(frozen=True)
class Instrument:
    """A tradable contract: its tier table (which carries the contract spec) and its underlying."""

    symbol: str
    table: TierTable
    underlying: str

    @property
    def settle(self) -> str:
        """Currency of its margin and PnL."""
        return self.table.contract.settle


@dataclass(frozen=True)
class Position:
    """A cross position: ``side`` "long"/"short" (+1/−1), ``qty`` contracts > 0, ``entry`` > 0."""

    symbol: str
    side: float | str
    qty: float
    entry: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "side", float(_check.side("side", self.side)))
        object.__setattr__(self, "qty", float(_check.positive("qty", self.qty)))
        object.__setattr__(self, "entry", float(_check.positive("entry", self.entry)))


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
        object.__setattr__(self, "side", float(_check.side("side", self.side)))
        for name in ("qty", "price", "leverage"):
            object.__setattr__(self, name, float(_check.positive(name, getattr(self, name))))


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
        b = np.asarray(self.bounds, dtype=np.float64)
        r = np.asarray(self.rates, dtype=np.float64)
        if b.ndim != 1 or b.size != r.size + 1 or b.size < 2 or b[0] != 0 or np.any(np.diff(b) <= 0):
            raise ValueError("bounds must start at 0, increase, and have one more entry than rates")
        if np.any(np.isnan(b)) or np.any(~np.isfinite(r)) or np.any((r <= 0) | (r > 1)):
            raise ValueError(f"rates must be in (0, 1], got {self.rates!r}")
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

    def __post_init__(self) -> None:
        for name in ("instruments", "positions", "orders"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        _check.one_of("mode", self.mode, ("one-way", "hedge"))
        _check.one_of("tier_rule", self.tier_rule, ("position", "net", "underlying"))
        object.__setattr__(self, "fee_rate", float(_check.rate("fee_rate", self.fee_rate)))
        for name in ("balances", "realized_pnl"):
            amounts = {c: float(_check.finite(f"{name}[{c!r}]", v)) for c, v in getattr(self, name).items()}
            object.__setattr__(self, name, amounts)
        by_symbol = {i.symbol: i for i in self.instruments}
        if len(by_symbol) != len(self.instruments):
            raise ValueError("instruments must have distinct symbols")
        for item in (*self.positions, *self.orders):
            if item.symbol not in by_symbol:
                raise ValueError(f"unknown symbol {item.symbol!r}; instruments are {sorted(by_symbol)}")
        self._check_legs()
        if self.tier_rule == "underlying":
            for u, group in self._groups_by(lambda i: (i.underlying, i.settle)).items():
                if len({i.table.to_json() for i in group}) > 1:
                    raise ValueError(f"instruments of underlying {u[0]!r} must share one tier table under tier_rule='underlying'")

    # ------------------------------------------------------------------ structure
    def instrument(self, symbol: str) -> Instrument:
        """The instrument of a symbol (clear error if unknown)."""
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
                raise ValueError(f"positions: {p.symbol!r} has more than {what}")
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
    def _price_of(self, currency: str, prices: Prices) -> FloatArray:
        if self.currency != "USD" or currency in STABLE:
            return np.asarray(1.0)
        if currency not in prices:
            raise ValueError(f"currency {currency!r} has no price: give prices[{currency!r}] (its USD price)")
        return _check.positive(f"prices[{currency!r}]", prices[currency])

    def _mark(self, inst: Instrument, prices: Prices) -> FloatArray:
        if inst.underlying not in prices:
            raise ValueError(f"no price for underlying {inst.underlying!r} (symbol {inst.symbol!r}); prices has {sorted(prices)}")
        return _check.positive(f"prices[{inst.underlying!r}]", prices[inst.underlying])

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

    def _requirement_groups(self, prices: Prices) -> Iterable[tuple[str, FloatArray, FloatArray]]:
        """(currency, requirement, exposure) of each tier group and order, in that currency."""
        f = self.fee_rate
        for inst, contracts in self._tier_groups():
            table, mark = inst.table, self._mark(inst, prices)
            value = np.asarray(table.contract.value(contracts, mark))
            mm = np.asarray(table.maintenance_margin(table.size_of(contracts, mark), table.unit_value(mark)))
            yield inst.settle, mm + f * value, value
        for o in self.orders:
            if o.reduce_only:
                continue
            inst = self.instrument(o.symbol)
            value = inst.table.contract.value(o.qty, o.price)
            size = value if inst.table.basis == "notional" else o.qty
            yield inst.settle, np.asarray((inst.table.rate(size) + f) * value), np.asarray(value)

    def state(self, prices: Prices) -> AccountState:
        """Equity, requirement, exposure and health at ``prices`` (underlying → price; arrays broadcast).

        Amounts are in :attr:`currency` (USD for a multi-currency account).
        """
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
        if not any(i.underlying == underlying for i in self.instruments):
            raise ValueError(f"underlying {underlying!r} is not traded in this account")
        p0 = float(self._mark(next(i for i in self.instruments if i.underlying == underlying), prices))
        if float(np.asarray(self.health(prices))) <= 0:
            raise ValueError("the account is already liquidated at these prices (health ≤ 0)")
        breaks = self._breakpoints(underlying)

        def h(x: FloatArray) -> FloatArray:
            return np.asarray(self.health({**prices, underlying: x}))

        below = _first_crossing(h, p0, np.concatenate((np.geomspace(p0 * 1e-6, p0, 2000), breaks[breaks < p0])))
        above = _first_crossing(h, p0, np.concatenate((np.geomspace(p0, p0 * 1e6, 2000), breaks[breaks > p0])))
        return (LiquidationPrice(below, True, 0) if below is not None else LiquidationPrice(0.0, False, 0),
                LiquidationPrice(above, True, 0) if above is not None else LiquidationPrice(np.inf, False, 0))

    def _breakpoints(self, underlying: str) -> FloatArray:
        """Prices of ``underlying`` at which a notional tier group crosses a boundary."""
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
        names = list(grid)
        axes = {n: _check.positive(f"grid[{n!r}]", grid[n]).reshape(-1) for n in names}
        shaped = {n: axes[n].reshape([-1 if j == k else 1 for j in range(len(names))]) for k, n in enumerate(names)}
        h = np.asarray(self.health({**prices, **shaped}))
        return np.broadcast_to(h, tuple(a.size for a in axes.values())).copy()

    def with_balance(self, currency: str, amount: float) -> CrossAccount:
        """A copy with ``amount`` added to the wallet balance of ``currency`` (negative withdraws)."""
        balances = dict(self.balances)
        balances[currency] = balances.get(currency, 0.0) + float(_check.finite("amount", amount))
        return CrossAccount(self.instruments, balances, self.positions, self.orders, self.realized_pnl,
                            self.mode, self.tier_rule, self.fee_rate, self.haircuts)


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
