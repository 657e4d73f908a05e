"""Isolated margin: one position, its own margin, one health figure.

Notation: ``Q`` contracts, ``FV`` face value, ``EP`` entry, ``P`` mark, ``s`` = +1 long / −1
short, ``M`` isolated margin, ``f`` liquidation/close-fee reserve rate.

* equity(P) = M + UPL(P)
* requirement(P) = MM + f·value, valued at the mark (``requirement_at="mark"``, Binance: tier,
  MMR and maintenance amount taken at the liquidation price) or at entry
  (``requirement_at="entry"``, Bybit's isolated formula ``LP = EP − (IM − MM)/Q``)
* **health(P) = equity(P) − requirement(P)**; the position is liquidated when health ≤ 0.

Where the fee reserve ``f·value`` is valued is a rule of its own (``fee_at``): with the maintenance
margin, per ``requirement_at`` (``"mark"``, today's default), at entry (``"entry"``), or at the
**bankruptcy price** (``"bankruptcy"``, Bybit: "Fee to Close Position = Order Quantity ×
Bankruptcy Price × Taker Fee Rate", help "Order Cost (USDT Contract)"; ÷ the bankruptcy price for
inverse contracts). The last two do not depend on the mark: the reserve is a constant ``F``, so
health is ``(M − F) + UPL(P) − MM(P)`` and every closed form below holds with ``M − F`` for ``M``
and ``f = 0`` (see :func:`liquidation_price`).

Every displayed margin ratio is derived from that one health figure, so all conventions agree on
when liquidation happens (see :class:`MarginRatios`).

Both contract kinds are affine in the price coordinate ``u`` (``P`` linear, ``1/P`` inverse; see
:mod:`tiermargin.contracts`): UPL = σ·s·Q·FV·(u − u_E) and, within one tier ``k``, the
requirement is ``α_k·u − γ_k``. So health is affine in ``u`` inside each tier and its root is

.. math:: u^*_k = \\frac{M + γ_k − σ s Q\\,FV\\,u_E}{α_k − σ s Q\\,FV}

with ``α_k = Q·FV·(MMR_k + f)``, ``γ_k = cum_k`` (notional basis) or
``α_k = FV·(Q·(MMR_k + f) − cum_k)``, ``γ_k = 0`` (contracts basis). For a linear notional table
this is Binance's one-way formula ``LP = (WB + cum − s·Q·EP)/(Q·MMR − s·Q)`` (Binance FAQ "How to
Calculate Liquidation Price of USDⓈ-M Futures Contracts"). The liquidation price is the root whose
tier *at that price* is the tier it was computed with (the FAQ: "substitute the level at the
liquidation price and recalculate"). For step tables health may jump at a boundary; the
liquidation price is then the first price at which health ≤ 0 as the market moves against the
position: the highest candidate for a long, the lowest for a short, where the candidates are the
consistent roots and the tier boundaries at which health jumps to ≤ 0 (a short on a linear step
table rising into a higher tier; the boundary is then the liquidation price).

A position may also be charged by a continuous schedule bound to its contract
(:class:`~tiermargin.alternatives.ContractSchedule`: Drift's √size premium, dYdX v4's margin
fractions; any :class:`~tiermargin.alternatives.PositionSchedule`). Its size is in contracts and does
not move with the price, so the rate at the position is fixed and the contracts-basis root above
holds with ``α = FV·(MM(Q) + f·Q)``, ``MM(Q) = Q·rate(Q)``: the closed form of a flat rate. The
dYdX docs' example ("Liquidations", isolated liquidation price ``p' = (e − s·p)/(|s|·MMF − s)``):
short 3 ETH at 3,000 with 1,000 of equity, MMF 5 % → 3,174.60.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _check
from ._check import FloatArray
from .alternatives import PositionSchedule
from .derivation import Derivation
from .tiers import TierTable

RequirementAt = Literal["mark", "entry"]
_REQUIREMENT_AT = ("mark", "entry")
FeeAt = Literal["mark", "entry", "bankruptcy"]
_FEE_AT = ("mark", "entry", "bankruptcy")
_CHUNK = 1 << 17  # rows per block in the N×K liquidation solve (bounds memory)
_TOL = 1e-12  # relative tolerance on tier bounds when checking a root's consistency


class LiquidationPrice(NamedTuple):
    """Result of a liquidation-price solve.

    Attributes
    ----------
    price : float or array
        The liquidation price where ``exists``; where it does not, 0.0 for a long (the price
        would have to reach zero) and ``inf`` for a short. Never negative.
    exists : bool or array
        False where the position cannot be liquidated (enough margin for any price).
    tier : int or array
        1-based tier at the liquidation price (0 where it does not exist).
    """

    price: float | FloatArray
    exists: bool | NDArray[np.bool_]
    tier: int | NDArray[np.intp]

    def __str__(self) -> str:
        if np.ndim(self.price) == 0:
            if not self.exists:
                return "no liquidation price: the margin covers the position at any price"
            return f"{self.price:,.2f}" + (f" (tier {self.tier})" if self.tier else "")
        return f"LiquidationPrice({np.size(self.price)} positions, {int(np.sum(self.exists))} liquidatable)"


class MarginRatios(NamedTuple):
    """The three displayed margin-ratio conventions, all derived from one health figure.

    Attributes
    ----------
    legacy, legacy_threshold
        OKX (legacy) / CoinW source articles: ``(margin + UPL)/position value``; liquidated when
        ``legacy <= legacy_threshold`` where the threshold is the requirement per unit of value
        (``MMR + fee rate`` for a step table; the effective rate for a continuous one).
    coinw
        CoinW / current OKX: ``(margin + UPL)/(value·(MMR + close fee rate))``; liquidated at ``<= 1``.
    binance
        Binance: ``maintenance margin / margin balance``; liquidated at ``>= 1``
        (``inf`` when the margin balance is zero or negative).
    """

    legacy: float | FloatArray
    legacy_threshold: float | FloatArray
    coinw: float | FloatArray
    binance: float | FloatArray

    @classmethod
    def of(cls, equity: ArrayLike, requirement: ArrayLike, exposure: ArrayLike) -> MarginRatios:
        """All conventions from equity, requirement and exposure (the legacy denominator: position
        value, plus open orders' value in cross margin).

        With nothing at risk (zero requirement or exposure, e.g. a fully netted hedge) the ratios
        that divide by it are ``inf`` and the legacy threshold 0: such an account cannot be
        liquidated while its equity is positive. No NaN is produced.
        """
        eq, req, val = np.broadcast_arrays(
            _check.finite("equity", equity), _check.nonnegative("requirement", requirement),
            _check.nonnegative("exposure", exposure))

        def ratio(num: FloatArray, den: FloatArray, zero_den: float) -> FloatArray:
            return np.where(den > 0, num / np.where(den > 0, den, 1.0), zero_den)

        parts = (ratio(eq, val, np.inf), ratio(req, val, 0.0), ratio(eq, req, np.inf), ratio(req, eq, np.inf))
        return cls(*(_check.scalar_or_array(x) for x in parts))


@dataclass(frozen=True, eq=False)
class IsolatedPosition:
    """An isolated-margin position (scalar fields, or arrays for many positions at once).

    Open one with :meth:`open` (initial margin from leverage, max-leverage check). Every method
    taking ``price`` broadcasts over prices (a curve is one call) and over position arrays.

    Parameters
    ----------
    table : TierTable or ContractSchedule
        What charges the position (a :class:`~tiermargin.alternatives.PositionSchedule`): the
        instrument's tier table, or a continuous schedule; either carries the contract (kind,
        face value, settle currency).
    side : "long", "short", +1 or -1 (or array)
    qty : float or array
        Contracts, > 0.
    entry : float or array
        Entry price, > 0.
    margin : float or array
        Isolated margin in the settle currency (initial margin plus any added), > 0.
    leverage : float or array
        Leverage chosen at opening, > 0; sets the initial requirement value/leverage.
    fee_rate : float
        Liquidation/close-fee reserve rate added to the requirement (``f·value``), in [0, 1).
    requirement_at : {"mark", "entry"}
        Which price values the requirement: the mark (Binance) or the entry (Bybit isolated).
    fee_at : {"mark", "entry", "bankruptcy"}
        Where the fee reserve is valued: with the maintenance margin, per ``requirement_at``
        (``"mark"``); at entry; or at the bankruptcy price (Bybit), see :meth:`fee_reserve`.
    """

    table: PositionSchedule
    side: FloatArray
    qty: FloatArray
    entry: FloatArray
    margin: FloatArray
    leverage: FloatArray
    fee_rate: float = 0.0
    requirement_at: RequirementAt = "mark"
    fee_at: FeeAt = "mark"

    def __post_init__(self) -> None:
        _check_schedule(self.table)
        object.__setattr__(self, "side", _check.side("side", self.side))
        for name in ("qty", "entry", "margin", "leverage"):
            object.__setattr__(self, name, _check.positive(name, getattr(self, name)))
        object.__setattr__(self, "fee_rate", float(_check.rate("fee_rate", self.fee_rate)))
        _check.one_of("requirement_at", self.requirement_at, _REQUIREMENT_AT)
        _check.one_of("fee_at", self.fee_at, _FEE_AT)
        try:
            np.broadcast_shapes(*(np.shape(getattr(self, n)) for n in _ARRAY_FIELDS))
        except ValueError:
            raise ValueError("side, qty, entry, margin and leverage must broadcast together") from None

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(
        cls,
        table: PositionSchedule,
        side: ArrayLike | str,
        qty: ArrayLike,
        entry: ArrayLike,
        leverage: ArrayLike,
        extra_margin: ArrayLike = 0.0,
        fee_rate: float = 0.0,
        requirement_at: RequirementAt = "mark",
        fee_at: FeeAt = "mark",
    ) -> IsolatedPosition:
        """Open a position with initial margin ``IM = value at entry / leverage`` (+ extra margin).

        With ``fee_at="bankruptcy"`` the margin also holds the estimated fee to close at the
        bankruptcy price of ``IM``, ``F₀ = f·Q·FV·u_E·(1 − σs/L)`` (``u`` = ``P`` linear, ``1/P``
        inverse): linear ``f·Q·FV·EP·(1 ∓ 1/L)``, inverse ``f·Q·FV/EP·(1 ± 1/L)`` (long/short).
        Bybit help "Initial Margin Calculation (USDC Perpetual & Futures)": "Estimated Fee to Close
        Position = Position Size × Position Average Entry Price × (1 − 1 / Leverage) × Taker Fee
        Rate" (long; ``1 + 1/L`` short), and "Initial Margin = (Position Value / Leverage) + Estimated
        Fee to Close Position" ("Liquidation Price Calculation under Isolated Mode (Unified Trading
        Account)"). The bankruptcy price of that margin, fee included, is then ``EP·(1 − s/L)``
        (linear), Bybit's "Bankruptcy Price = Entry Price × (1 − Initial Margin Rate)".

        Refused, with a clear error, when the size is beyond the table's last cap, when the
        leverage exceeds the max leverage of the tier the position lands in (Binance, Bybit, OKX:
        "the leverage may not exceed the max leverage of the tier"), or when the margin would not
        even cover the maintenance requirement at entry.

        Examples
        --------
        Bybit help "Liquidation Price (USDT Contract)": long 1 BTC at 20,000, 50x, MMR 0.5%.

        >>> from tiermargin import TierTable
        >>> t = TierTable.single(0.005, max_leverage=100)
        >>> p = IsolatedPosition.open(t, "long", 1, 20_000, 50, requirement_at="entry")
        >>> round(float(p.margin), 2), round(float(p.requirement(20_000)), 2)
        (400.0, 100.0)
        >>> round(float(p.liquidation_price().price), 2)
        19700.0

        Bybit's USDC illustration: long 0.5 BTC at 50,000, 10x, taker fee 0.055% → fee to close
        12.375, initial margin 2,512.375 USDC.

        >>> from tiermargin import Contract
        >>> usdc = TierTable.single(0.005, max_leverage=100, contract=Contract("linear", 1, "USDC"))
        >>> p = IsolatedPosition.open(usdc, "long", 0.5, 50_000, 10, fee_rate=0.00055, fee_at="bankruptcy")
        >>> round(float(p.margin), 3), round(float(p.fee_reserve(50_000)), 3)
        (2512.375, 12.375)
        """
        _check_schedule(table)
        lev = _check.positive("leverage", leverage)
        extra = _check.nonnegative("extra_margin", extra_margin)
        q = _check.positive("qty", qty)
        ep = _check.positive("entry", entry)
        value = table.contract.value(q, ep)
        size = _basis_size(table, q, value)
        if np.any(size > table.max_size):
            raise ValueError(
                f"qty: position size {np.max(size):,.10g} {table.unit} is beyond the table's last "
                f"cap {table.max_size:,.10g} {table.unit}"
            )
        if table.max_leverage is not None:
            k, cap, lev_b, size_b = np.broadcast_arrays(table.tier_index(size), table.max_leverage_at(size), lev, size)
            over = lev_b > cap
            if np.any(over):
                i = np.flatnonzero(over)[0]
                where = f"of tier {int(k.flat[i]) + 1}" if isinstance(table, TierTable) else "at this size"
                raise ValueError(
                    f"leverage {lev_b.flat[i]:g}x exceeds the max leverage {cap.flat[i]:g}x "
                    f"{where} (position size {size_b.flat[i]:,.10g} {table.unit})"
                )
        margin = value / lev + extra
        _check.one_of("fee_at", fee_at, _FEE_AT)
        if fee_at == "bankruptcy":
            c = table.contract
            sign = c.sigma * _check.side("side", side)
            margin = margin + float(_check.rate("fee_rate", fee_rate)) * value * np.maximum(1 - sign / lev, 0.0)
        pos = cls(table, side, q, ep, margin, lev, fee_rate, requirement_at, fee_at)
        if np.any(pos.health(ep) <= 0):
            raise ValueError(
                "leverage: the initial margin does not cover the maintenance requirement at entry; "
                "lower the leverage or add extra_margin"
            )
        return pos

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the array of positions (``()`` for one position)."""
        return np.broadcast_shapes(*(np.shape(getattr(self, n)) for n in _ARRAY_FIELDS))

    def __getitem__(self, index: ArrayLike) -> IsolatedPosition:
        """The positions at ``index`` of an array of positions (numpy indexing: int, slice, mask, indices).

        >>> from tiermargin import TierTable
        >>> p = IsolatedPosition.open(TierTable.single(0.005, max_leverage=100), "long", [1, 2, 3], 100, 10)
        >>> p[1:].qty.tolist(), float(p[0].margin)
        ([2.0, 3.0], 10.0)
        """
        shape = self.shape
        if not shape:
            raise TypeError("a single position cannot be indexed")
        fields = {n: np.broadcast_to(getattr(self, n), shape)[index] for n in _ARRAY_FIELDS}
        return replace(self, **fields)

    # ------------------------------------------------------------------ state at a price
    def value(self, price: ArrayLike) -> float | FloatArray:
        """Position value at ``price`` in the settle currency."""
        return self.table.contract.value(self.qty, price)

    def upnl(self, price: ArrayLike) -> float | FloatArray:
        """Unrealized PnL at ``price``."""
        return self.table.contract.upnl(self.side, self.qty, self.entry, price)

    def equity(self, price: ArrayLike) -> float | FloatArray:
        """Equity (margin balance) ``M + UPL(P)``."""
        return _check.scalar_or_array(self.margin + self.upnl(price))

    def tier(self, price: ArrayLike) -> int | NDArray[np.intp]:
        """1-based tier that values the requirement at ``price`` (at entry if ``requirement_at="entry"``)."""
        p = self._valuation_price(price)
        size = _basis_size(self.table, self.qty, self.table.contract.value(self.qty, p))
        k = self.table.tier_index(size) + 1
        return int(k) if np.ndim(k) == 0 else k

    def maintenance_margin(self, price: ArrayLike) -> float | FloatArray:
        """Maintenance margin (tiered), valued per ``requirement_at``."""
        return requirement(self.table, self.qty, self._valuation_price(price), 0.0)

    def fee_reserve(self, price: ArrayLike) -> float | FloatArray:
        """The fee reserve in the requirement, valued per ``fee_at``.

        * ``"mark"``: ``f·value`` at the price that values the maintenance margin (the mark, or the
          entry with ``requirement_at="entry"``);
        * ``"entry"``: ``f·value(EP)``;
        * ``"bankruptcy"``: ``F_B = f·Q·FV·max(u_B, 0)`` with ``u_B`` the root of "equity = close
          fee at that price", ``M + σsQ·FV(u − u_E) = f·Q·FV·u`` (``u`` = ``P`` linear, ``1/P``
          inverse), i.e. ``u_B = (M − σsQ·FV·u_E)/(Q·FV·(f − σs))``: ``f × Q × FV × bankruptcy
          price`` (linear) or ``f × Q × FV ÷ bankruptcy price`` (inverse), the bankruptcy price of
          :meth:`bankruptcy_price`. Bybit help "Order Cost (USDT Contract)": "Fee to Close Position =
          Order Quantity × Bankruptcy Price × Taker Fee Rate"; "How to calculate Liquidation Price
          (Inverse Contract)": "Quantity × 0.00075 / Bankruptcy Price". Where no positive price
          makes the position bankrupt (a 1x linear long, an inverse short at ≤ 1x), the value at
          that limit (price 0, resp. ∞) is 0 and so is the reserve.

        The last two do not depend on ``price`` (broadcast to its shape).
        """
        if self.fee_at == "mark":
            vp = self._valuation_price(price)
            return _check.scalar_or_array(self.fee_rate * np.asarray(self.value(vp)))
        p = _check.positive("price", price)
        fee = _fixed_fee(self.table, self.side, self.qty, self.entry, self.margin, self.fee_rate, self.fee_at)
        return _check.scalar_or_array(np.broadcast_to(fee, np.broadcast_shapes(p.shape, fee.shape)).astype(np.float64))

    def requirement(self, price: ArrayLike) -> float | FloatArray:
        """Maintenance requirement: MM (valued per ``requirement_at``) plus the fee reserve
        (valued per ``fee_at``, see :meth:`fee_reserve`)."""
        if self.fee_at == "mark":
            return requirement(self.table, self.qty, self._valuation_price(price), self.fee_rate)
        mm = np.asarray(self.maintenance_margin(price))
        return _check.scalar_or_array(mm + np.asarray(self.fee_reserve(price)))

    def health(self, price: ArrayLike) -> float | FloatArray:
        """``equity − requirement``: the one figure every margin ratio is derived from (≤ 0: liquidated)."""
        return _check.scalar_or_array(np.asarray(self.equity(price)) - np.asarray(self.requirement(price)))

    def is_liquidated(self, price: ArrayLike) -> bool | NDArray[np.bool_]:
        """True where health ≤ 0 ("falls to or below" the requirement)."""
        h = np.asarray(self.health(price)) <= 0
        return bool(h) if h.ndim == 0 else h

    def first_liquidation(self, prices: ArrayLike) -> int | None:
        """Index of the first price in a path at which the position is liquidated (None: never).

        Scalar positions only; ``prices`` is a 1-d path (e.g. a mark or last-price series).
        """
        liq = np.asarray(self.is_liquidated(_check.positive("prices", prices).reshape(-1)))
        if liq.ndim != 1:
            raise ValueError("first_liquidation needs a single position, not an array")
        return int(np.argmax(liq)) if liq.any() else None

    def margin_ratios(self, price: ArrayLike) -> MarginRatios:
        """The three displayed ratio conventions at ``price`` (see :class:`MarginRatios`)."""
        return MarginRatios.of(self.equity(price), self.requirement(price), self.value(price))

    # ------------------------------------------------------------------ prices
    def liquidation_price(self) -> LiquidationPrice:
        """Price at which health reaches 0, with the tier taken at that price (self-consistent).

        See :func:`liquidation_price`.
        """
        return liquidation_price(
            self.table, self.side, self.qty, self.entry, self.margin, self.fee_rate, self.requirement_at,
            self.fee_at,
        )

    def explain(self, what: str, price: float | None = None) -> Derivation:
        """How one of this position's numbers is computed, line by line with its numbers.

        ``what`` is one of ``"equity"``, ``"maintenance_margin"``, ``"fee_reserve"``,
        ``"requirement"``, ``"health"``, ``"ratio_legacy"``, ``"ratio_coinw"``, ``"ratio_binance"``
        (at a ``price``: the mark), ``"bankruptcy_price"`` or ``"liquidation_price"`` (no price).
        The liquidation price lists every tier's closed-form root, the ones rejected because
        their size falls outside their tier (or on the wrong side of entry), and the one taken.
        The last line's value equals the library's result. A single position only.

        Returns
        -------
        Derivation
            Plain text with ``print``; Markdown with LaTeX in a notebook.

        Examples
        --------
        >>> from tiermargin import load_table
        >>> p = IsolatedPosition.open(load_table("binance-usdm-btcusdt-2021"), "long", 17, 60_000, 20)
        >>> d = p.explain("liquidation_price")
        >>> round(d.result, 2) == round(p.liquidation_price().price, 2), d.line("chosen").why
        (True, 'health = 0 in its own tier, nearest entry on the adverse side')
        """
        from .isolated_derivations import explain

        return explain(self, what, price)

    def liquidation_price_in_tier(self, tier: int) -> LiquidationPrice:
        """Liquidation price with the tier *fixed* (1-based), as a calculator that does not
        re-check the tier at the liquidation price computes it. See :func:`liquidation_price_in_tier`."""
        return liquidation_price_in_tier(
            self.table, self.side, self.qty, self.entry, self.margin, tier, self.fee_rate, self.fee_at
        )

    def tier_boundary_prices(self) -> FloatArray:
        """Prices (ascending) at which this position's size crosses a tier boundary.

        Empty for a contracts-basis table, whose tier depends on the contracts alone. Scalar
        positions only.
        """
        if np.ndim(self.qty):
            raise ValueError("tier_boundary_prices needs a single position, not an array")
        if self.table.basis == "contracts":
            return np.empty(0)
        c = self.table.contract
        prices = c.price_of(self.table.caps[:-1] / (float(self.qty) * c.face_value))
        return np.sort(prices)

    def bankruptcy_price(self, fee_rate: float | None = None) -> LiquidationPrice:
        """Price at which equity, less a close fee ``fee_rate·value`` at that price, reaches 0.

        By default the fee is the position's own where it is valued at the bankruptcy price
        (``fee_at="bankruptcy"``: Bybit's bankruptcy price counts the fee to close, "Bankruptcy
        Price = 1.00075 × Quantity / (Quantity / Average Entry Price + Account Balance − Order
        Margin)", help "How to calculate Liquidation Price (Inverse Contract)"), else 0 (equity
        = 0). See :func:`bankruptcy_price`.
        """
        if fee_rate is None:
            fee_rate = self.fee_rate if self.fee_at == "bankruptcy" else 0.0
        return bankruptcy_price(self.table, self.side, self.qty, self.entry, self.margin, fee_rate)

    # ------------------------------------------------------------------ margin changes
    def add_margin(self, amount: ArrayLike) -> IsolatedPosition:
        """A copy with ``amount`` (> 0) more isolated margin: the liquidation price moves away."""
        return replace(self, margin=self.margin + _check.positive("amount", amount))

    def max_removable(self, price: ArrayLike) -> float | FloatArray:
        """Largest margin that can be removed at ``price``.

        The margin left, less any unrealized loss (profit cannot be withdrawn), must still cover
        the initial requirement at the current mark, ``value/leverage`` — Binance's and Bybit's
        "reduce margin" rule for isolated positions.
        """
        upl = np.asarray(self.upnl(price))
        im = np.asarray(self.value(price)) / self.leverage
        return _check.scalar_or_array(np.maximum(self.margin + np.minimum(upl, 0.0) - im, 0.0))

    def remove_margin(self, amount: ArrayLike, price: ArrayLike) -> IsolatedPosition:
        """A copy with ``amount`` (> 0) less margin; refused above :meth:`max_removable`."""
        a = _check.positive("amount", amount)
        limit = np.asarray(self.max_removable(price))
        if np.any(a > limit):
            raise ValueError(
                f"amount {np.max(a):,.10g} would leave the position below its initial requirement; "
                f"at most {np.min(limit):,.10g} {self.table.contract.settle} can be removed at this price"
            )
        return replace(self, margin=self.margin - a)

    # ------------------------------------------------------------------ display
    def _valuation_price(self, price: ArrayLike) -> FloatArray:
        p = _check.positive("price", price)
        if self.requirement_at == "mark":
            return p
        return np.broadcast_to(self.entry, np.broadcast_shapes(p.shape, self.entry.shape))

    def summary(self, price: float) -> dict[str, float | int | bool]:
        """Every figure of the position at one ``price``, for readouts and notebooks."""
        price = _check.one_number("price", price, _check.positive)
        r = self.margin_ratios(price)
        lp, bp = self.liquidation_price(), self.bankruptcy_price()
        return {
            "value": self.value(price),
            "upnl": self.upnl(price),
            "equity": self.equity(price),
            "maintenance_margin": self.maintenance_margin(price),
            "requirement": self.requirement(price),
            "health": self.health(price),
            "tier": self.tier(price),
            "ratio_legacy": r.legacy,
            "ratio_legacy_threshold": r.legacy_threshold,
            "ratio_coinw": r.coinw,
            "ratio_binance": r.binance,
            "liquidated": self.is_liquidated(price),
            "liquidation_price": lp.price,
            "liquidation_exists": lp.exists,
            "liquidation_tier": lp.tier,
            "bankruptcy_price": bp.price,
            "bankruptcy_exists": bp.exists,
        }

    def __repr__(self) -> str:
        if np.ndim(self.qty) or np.ndim(self.side) or np.ndim(self.entry) or np.ndim(self.margin):
            n = np.broadcast(*(getattr(self, f) for f in _ARRAY_FIELDS)).size
            return f"IsolatedPosition({n} positions on {self.table.symbol or 'table'})"
        side = "long" if self.side > 0 else "short"
        cur = self.table.contract.settle
        return (
            f"IsolatedPosition({side} {float(self.qty):,.10g} × {self.table.symbol or 'contract'} "
            f"@ {float(self.entry):,.10g}, margin {float(self.margin):,.2f} {cur}, "
            f"{float(self.leverage):g}x; liquidation: {self.liquidation_price()})"
        )

    def _repr_html_(self) -> str:
        from html import escape

        return f"<code>{escape(repr(self))}</code>"


_ARRAY_FIELDS = ("side", "qty", "entry", "margin", "leverage")


def _basis_size(table: PositionSchedule, qty: ArrayLike, value: ArrayLike) -> FloatArray:
    """Size in the table's basis: notional value or number of contracts."""
    return np.asarray(value if table.basis == "notional" else qty, dtype=np.float64)


def requirement(table: PositionSchedule, qty: ArrayLike, price: ArrayLike, fee_rate: float = 0.0) -> float | FloatArray:
    """Maintenance requirement ``MM + f·value`` of ``qty`` contracts valued at ``price``.

    ``MM = size·MMR_k − cum_k`` (notional basis) or ``(Q·MMR_k − cum_k)·value of one contract``
    (contracts basis), with the tier ``k`` of the size at ``price``; see :mod:`tiermargin.tiers`
    (a schedule: ``Q·rate(Q)·value of one contract``).
    The fee reserve is the source articles' "maintenance margin rate plus liquidation fee rate".

    Parameters
    ----------
    table : TierTable or ContractSchedule
    qty : float or array
        Contracts, >= 0.
    price : float or array
        The price that values the requirement, > 0.
    fee_rate : float
        Liquidation/close-fee reserve rate in [0, 1).
    """
    _check_schedule(table)
    value = np.asarray(table.contract.value(qty, price))
    mm = np.asarray(table.maintenance_margin(_basis_size(table, qty, value), table.unit_value(price)))
    return _check.scalar_or_array(mm + float(_check.rate("fee_rate", fee_rate)) * value)


def _check_schedule(table: object) -> None:
    if not isinstance(table, PositionSchedule):
        raise TypeError(f"table must be a TierTable or a ContractSchedule (a bundled one: tm.load_table(id)), "
                        f"got {type(table).__name__}")
    if table.basis != "contracts" and not isinstance(table, TierTable):
        raise TypeError(f"a schedule by {table.basis} must be a TierTable (only tier tables are solved by notional), "
                        f"got {type(table).__name__}")


def _positions(
    table: PositionSchedule, side: ArrayLike | str, qty: ArrayLike, entry: ArrayLike, margin: ArrayLike
) -> tuple[tuple[int, ...], FloatArray, FloatArray, FloatArray, FloatArray]:
    _check_schedule(table)
    arrs = (
        _check.side("side", side),
        _check.positive("qty", qty),
        _check.positive("entry", entry),
        _check.positive("margin", margin),
    )
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrs))
    except ValueError:
        raise ValueError("side, qty, entry and margin must broadcast together") from None
    s, q, ep, m = (np.broadcast_to(a, shape).ravel() for a in arrs)
    return shape, s, q, ep, m


def _fixed_fee(
    table: PositionSchedule, s: FloatArray, q: FloatArray, ep: FloatArray, m: FloatArray, f: float, fee_at: FeeAt
) -> FloatArray:
    """The fee reserve where it does not depend on the mark (``fee_at`` "entry" or "bankruptcy").

    Entry: ``f·Q·FV·u_E``. Bankruptcy: ``f·Q·FV·max(u_B, 0)``, ``u_B`` the root of
    ``M + σsQ·FV(u − u_E) − f·Q·FV·u`` (equity = close fee); its denominator ``Q·FV(f − σs)`` is
    never 0 for ``f < 1``. See :meth:`IsolatedPosition.fee_reserve`.
    """
    c = table.contract
    qfv = np.asarray(q * c.face_value)
    u_e = c.coordinate(ep)
    if fee_at == "entry":
        return np.asarray(f * qfv * u_e)
    u_b = _root(np.asarray(m), np.zeros(()), qfv * f, c.sigma * s * qfv, u_e)  # no root for Q = 0: no fee
    return np.asarray(f * qfv * np.where(np.isfinite(u_b), np.maximum(u_b, 0.0), 0.0))


def _root(m: FloatArray, gamma: FloatArray, alpha: FloatArray, sq: FloatArray, u_e: FloatArray) -> FloatArray:
    """Root in ``u`` of ``M + γ − σsQ·FV·u_E + u·(σsQ·FV − α)`` (``sq`` = σ·s·Q·FV)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return (m + gamma - sq * u_e) / (alpha - sq)


def _finish(
    shape: tuple[int, ...],
    price_of: Callable[[FloatArray], FloatArray],
    u: FloatArray,
    ok: NDArray[np.bool_],
    s: FloatArray,
    tier: NDArray[np.intp],
) -> LiquidationPrice:
    """Package roots ``u`` as prices: 0 (long) / inf (short) where none exists, original shape."""
    price = np.where(ok, price_of(np.where(ok, u, 1.0)), np.where(s > 0, 0.0, np.inf))
    tier = np.where(ok, tier, 0)
    price, ok, tier = price.reshape(shape), ok.reshape(shape), tier.reshape(shape)
    if price.ndim == 0:
        return LiquidationPrice(float(price), bool(ok), int(tier))
    return LiquidationPrice(price, ok, tier)


def liquidation_price(
    table: PositionSchedule,
    side: ArrayLike | str,
    qty: ArrayLike,
    entry: ArrayLike,
    margin: ArrayLike,
    fee_rate: float = 0.0,
    requirement_at: RequirementAt = "mark",
    fee_at: FeeAt = "mark",
) -> LiquidationPrice:
    """Liquidation price of isolated positions, vectorized over positions.

    Solves health(P) = 0 with the maintenance margin valued per ``requirement_at``:

    * ``"mark"`` (Binance USDⓈ-M): tier, MMR and maintenance amount taken *at the liquidation
      price*; each tier's closed-form root (module docstring) is kept only if the position's size
      at that price lies in that tier. Binance FAQ "How to Calculate Liquidation Price of USDⓈ-M
      Futures Contracts": ``LP = (WB + cum − s·Q·EP)/(Q·MMR − s·Q)``, recalculated with the level
      at the liquidation price when it differs from the level at opening.
    * ``"entry"`` (Bybit isolated): the requirement is fixed at its value at entry, so
      ``LP = EP − s·(M − requirement)/(Q·FV)`` for linear (Bybit help "Liquidation Price (USDT
      Contract)": long 1 BTC at 20,000, 50x, MMR 0.5% → IM 400, MM 100, LP 19,700).

    and the fee reserve valued per ``fee_at`` (:meth:`IsolatedPosition.fee_reserve`): ``"mark"``
    with the maintenance margin; ``"entry"``, ``F = f·Q·FV·u_E``; ``"bankruptcy"``,
    ``F = f·Q·FV·max(u_B, 0)`` with

    .. math:: u_B = \\frac{M − σ s Q\\,FV\\,u_E}{Q\\,FV\\,(f − σ s)}

    (equity = close fee at that price). Neither depends on the mark, so health is
    ``(M − F) + σsQ·FV(u − u_E) − MM(u)`` and each tier's closed form (module docstring) holds with
    ``M − F`` for ``M`` and ``f = 0``:

    .. math:: u^*_k = \\frac{M − F + γ_k − σ s Q\\,FV\\,u_E}{α^0_k − σ s Q\\,FV},
              \\quad α^0_k = Q\\,FV\\,\\mathrm{MMR}_k

    (notional basis; contracts basis ``α⁰_k = FV(Q·MMR_k − cum_k)``, ``γ_k = 0``), kept where the
    size at the root lies in tier ``k`` as before — the fee changes the margin, not the tiers.
    With Bybit's margin ``M = value/L + F₀ + E`` (:meth:`IsolatedPosition.open`, ``E`` extra
    margin) this gives ``M − F_B = value/L + E/(1 − σs·f)``, and for a linear long with the
    maintenance margin at the mark (``requirement_at="mark"``), in a tier with deduction ``D``

    .. math:: LP = \\frac{EP·Q − EP·Q/L − E/(1 − f) − D}{Q (1 − \\mathrm{MMR})}

    — Bybit's formula ("Liquidation Price Calculation under Isolated Mode (Unified Trading
    Account)", USDT; the inverse long ``Q(1 + MMR)/[Q/EP + Q/(EP·L) + E/(1 + f) + D]`` likewise):
    long 1 BTC at 40,000, 50x, 3,000 USDT added, MMR 0.5%, taker 0.055% → 36,380.25.

    Parameters
    ----------
    table : TierTable or ContractSchedule
    side, qty, entry, margin : scalar or array
        As in :class:`IsolatedPosition`; broadcast together.
    fee_rate : float
        Fee reserve rate in [0, 1).
    requirement_at : {"mark", "entry"}
    fee_at : {"mark", "entry", "bankruptcy"}

    Returns
    -------
    LiquidationPrice
        ``exists`` is False where no positive price liquidates the position (e.g. a 1x long
        linear position); the price is then 0.0 (long) or ``inf`` (short), never negative.
    """
    shape, s, q, ep, m = _positions(table, side, qty, entry, margin)
    f = float(_check.rate("fee_rate", fee_rate))
    _check.one_of("requirement_at", requirement_at, _REQUIREMENT_AT)
    _check.one_of("fee_at", fee_at, _FEE_AT)
    if fee_at != "mark":
        m, f = m - _fixed_fee(table, s, q, ep, m, f, fee_at), 0.0
    c = table.contract
    u_e = c.coordinate(ep)
    qfv = q * c.face_value
    sq = c.sigma * s * qfv
    if requirement_at == "entry":
        req = np.asarray(requirement(table, q, ep, f))
        u = _root(m, -req, np.zeros_like(m), sq, u_e)
        k = table.tier_index(_basis_size(table, q, qfv * u_e))
        return _finish(shape, c.price_of, u, np.isfinite(u) & (u > 0), s, k + 1)
    if table.basis == "contracts":
        k = table.tier_index(q)
        alpha = c.face_value * (np.asarray(table.maintenance_margin(q)) + f * q)  # Q·MMR_k − cum_k, or Q·rate(Q)
        u = _root(m, np.zeros_like(m), alpha, sq, u_e)
        # health falls along the adverse path only if σs·α < Q·FV (rate + f < 1 where it can fail)
        falls = c.sigma * s * alpha < qfv
        return _finish(shape, c.price_of, u, np.isfinite(u) & (u > 0) & falls, s, k + 1)
    monotone = table.form == "continuous" and float(np.max(table.mmr)) + f < 1
    if monotone:
        u, k, found = _continuous_roots(table, m - sq * u_e, c.sigma * s, qfv, f)
    else:
        u, k, found = _candidate_roots(table, m - sq * u_e, c.sigma * s, qfv, f, qfv * u_e)
    return _finish(shape, c.price_of, u, found, s, k + 1)


def _continuous_roots(
    table: TierTable, a: FloatArray, w: FloatArray, qfv: FloatArray, f: float
) -> tuple[FloatArray, NDArray[np.intp], NDArray[np.bool_]]:
    """Roots for a continuous notional table in O(N log K).

    In size ``x = Q·FV·u`` health is ``A + g(x)`` with ``A = M − σsQ·FV·u_E`` (the position) and
    ``g(x) = w·x − MM(x) − f·x``, ``w = σs`` (the table): continuous, piecewise linear and
    monotone (slope ``w − MMR_k − f``). So the tier of the root is the number of boundaries
    ``cap_i`` on the healthy side — a ``searchsorted`` of ``−A`` in ``g(cap_i)`` — and the root
    in that tier is ``x* = −(A + cum_k)/(w − MMR_k − f)``.
    """
    caps = table.caps[:-1]
    requirement_at_caps = caps * (table.mmr[:-1] + f) - table.cum[:-1]
    g_up = caps - requirement_at_caps  # g(cap_i) for w = +1: increasing
    g_dn = -caps - requirement_at_caps  # g(cap_i) for w = −1: decreasing
    k = np.where(w > 0, np.searchsorted(g_up, -a), np.searchsorted(-g_dn, a))
    with np.errstate(divide="ignore", invalid="ignore"):
        x = -(a + table.cum[k]) / (w - table.mmr[k] - f)
    found = np.isfinite(x) & (x > 0)
    return x / qfv, k, found


def _candidate_roots(
    table: TierTable, a: FloatArray, w: FloatArray, qfv: FloatArray, f: float, x_e: FloatArray
) -> tuple[FloatArray, NDArray[np.intp], NDArray[np.bool_]]:
    """Roots for any notional table (step included) by checking every tier and boundary, N×K.

    Candidates are the prices where health turns from > 0 to ≤ 0 as the market moves against the
    position: each tier's root, kept where the size at the root lies in that tier and health falls
    along the adverse path there (slope: ``w·(MMR_k + f) < 1``), and each boundary where health
    jumps from > 0 on the favourable side to ≤ 0 on the adverse side (a step table). The adverse
    path lowers ``w·x`` (``x`` the size, ``x_e`` at entry). The answer is the candidate nearest
    entry on the adverse side — on a step table a position whose leverage exceeds a higher tier's
    ``1/MMR`` can also be unhealthy in a window on the *favourable* side (its size grows into that
    tier), and that window is not its liquidation price — or, for a position already unhealthy at
    entry, the nearest candidate on the favourable side (where it becomes healthy again).
    """
    n, n_b = a.size, table.n_tiers - 1
    best_u, best_k, found = np.empty(n), np.empty(n, dtype=np.intp), np.empty(n, dtype=bool)
    lo, hi = table.floors * (1 - _TOL), table.caps * (1 + _TOL)
    hi[-1] = np.inf  # past the last cap the last tier applies (see tiermargin.tiers)
    rate = table.mmr + f
    healthy = a + w * x_e - (np.asarray(table.maintenance_margin(x_e)) + f * x_e) > 0
    for start in range(0, n, _CHUNK):
        sl = slice(start, start + _CHUNK)
        a_c, w_c = a[sl, None], w[sl, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            x = -(a_c + table.cum) / (w_c - rate)  # root in size, per tier
        ok = np.isfinite(x) & (x > 0) & (x >= lo) & (x <= hi) & (w_c * rate < 1)
        # the size grows as the price moves against the position iff w < 0: the adverse tier at cap i
        j = np.where(w_c < 0, np.arange(1, n_b + 1), np.arange(n_b))
        j_fav = np.where(w_c < 0, np.arange(n_b), np.arange(1, n_b + 1))
        caps = table.caps[:-1]
        jump = (a_c + table.cum[j] + caps * (w_c - rate[j]) <= 0) & (a_c + table.cum[j_fav] + caps * (w_c - rate[j_fav]) > 0)
        x_all = np.concatenate((x, np.broadcast_to(caps, jump.shape)), axis=1)
        tier_all = np.concatenate((np.broadcast_to(np.arange(table.n_tiers), x.shape), j), axis=1)
        # distance from entry along the path that looks for the answer: adverse if healthy at entry
        toward = np.where(healthy[sl, None], -w_c, w_c)  # the direction of travel in x
        ahead = toward * (x_all - x_e[sl, None])
        ok_all = np.concatenate((ok, jump), axis=1) & (ahead >= -_TOL * np.abs(x_e[sl, None]))
        score = np.where(ok_all, -ahead, -np.inf)
        kk = np.argmax(score, axis=1)[:, None]
        best_k[sl] = np.take_along_axis(tier_all, kk, axis=1)[:, 0]
        best_u[sl] = np.take_along_axis(x_all, kk, axis=1)[:, 0] / qfv[sl]
        found[sl] = np.isfinite(np.take_along_axis(score, kk, axis=1)[:, 0])
    return best_u, best_k, found


def liquidation_price_in_tier(
    table: TierTable,
    side: ArrayLike | str,
    qty: ArrayLike,
    entry: ArrayLike,
    margin: ArrayLike,
    tier: int,
    fee_rate: float = 0.0,
    fee_at: FeeAt = "mark",
) -> LiquidationPrice:
    """Liquidation price with the tier fixed at ``tier`` (1-based): the per-tier closed form only.

    This is what a calculator computes when it takes the tier at entry and never checks the tier
    at the answer — the Binance FAQ tells you to "substitute the level at the liquidation price
    and recalculate" instead (:func:`liquidation_price` does). Lessons use it to show how far off
    such a calculator is. Maintenance margin valued at the mark; the fee reserve per ``fee_at``
    (as in :func:`liquidation_price`).

    Returns
    -------
    LiquidationPrice
        ``exists`` where the root is a positive price; its tier is ``tier`` even where the size at
        that price is in another tier (that is the calculator's error).
    """
    if not isinstance(table, TierTable):
        raise TypeError(f"table must be a TierTable for liquidation_price_in_tier: a {type(table).__name__} has no "
                        "tier to fix (its liquidation_price is already the flat-rate closed form)")
    shape, s, q, ep, m = _positions(table, side, qty, entry, margin)
    f = float(_check.rate("fee_rate", fee_rate))
    if isinstance(tier, bool) or not isinstance(tier, (int, np.integer)) or not 1 <= tier <= table.n_tiers:
        raise ValueError(f"tier must be an integer from 1 to {table.n_tiers}, got {tier!r}")
    _check.one_of("fee_at", fee_at, _FEE_AT)
    if fee_at != "mark":
        m, f = m - _fixed_fee(table, s, q, ep, m, f, fee_at), 0.0
    k = int(tier) - 1
    c = table.contract
    qfv = q * c.face_value
    if table.basis == "notional":
        alpha, gamma = qfv * (table.mmr[k] + f), np.full_like(m, table.cum[k])
    else:
        alpha, gamma = c.face_value * (q * (table.mmr[k] + f) - table.cum[k]), np.zeros_like(m)
    u = _root(m, gamma, alpha, c.sigma * s * qfv, c.coordinate(ep))
    return _finish(shape, c.price_of, u, np.isfinite(u) & (u > 0), s, np.full(m.size, k + 1))


def bankruptcy_price(
    table: PositionSchedule,
    side: ArrayLike | str,
    qty: ArrayLike,
    entry: ArrayLike,
    margin: ArrayLike,
    fee_rate: float = 0.0,
) -> LiquidationPrice:
    """Bankruptcy price: equity(P) − fee_rate·value(P) = 0, vectorized.

    Without a fee and with ``M = value/L``: linear ``EP·(1 − s/L)``; inverse long ``EP·L/(L+1)``,
    short ``EP·L/(L−1)`` (``docs/formulas.md#bankruptcy-price``; BitMEX "Bankruptcy price"). Some venues add
    the taker fee to close at the bankruptcy price: pass it as ``fee_rate``. In the price
    coordinate ``u`` the root is ``u_B = (M − σsQ·FV·u_E)/(Q·FV·(f − σs))``. Bybit: "Bankruptcy
    Price = 1.00075 × Quantity / (Quantity / Average Entry Price + Account Balance − Order Margin)"
    (inverse long, taker fee 0.075%; help "How to calculate Liquidation Price (Inverse Contract)").

    Returns
    -------
    LiquidationPrice
        ``exists`` is False where equity never reaches zero (e.g. a 1x linear long, or an inverse
        short at ≤ 1x); ``tier`` is 0 (no maintenance margin is involved).
    """
    shape, s, q, ep, m = _positions(table, side, qty, entry, margin)
    f = float(_check.rate("fee_rate", fee_rate))
    c = table.contract
    qfv = q * c.face_value
    u = _root(m, np.zeros_like(m), qfv * f, c.sigma * s * qfv, c.coordinate(ep))
    ok = np.isfinite(u) & (u > 0)
    return _finish(shape, c.price_of, u, ok, s, np.zeros(m.size, dtype=np.intp))
