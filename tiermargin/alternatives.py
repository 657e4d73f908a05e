"""Margin rules beyond a plain tier table, behind one interface.

Every *margin schedule* answers two questions for a position size (vectorized): the maintenance
margin rate (MM / value) and the initial margin rate (IM / value = 1 / max leverage). A tier table
is one schedule (:class:`TierSchedule`); venues without steps use others
(``docs/formulas.md#continuous-alternatives-to-steps``):

* :class:`SqrtSchedule` — a size premium growing with √size. Drift:
  ``mr = max(base, 0.8·base + imf·√|size|)``; FTX: ``IMF = max(base, imf·√size)``.
* :class:`LinearSchedule` — Deribit linear perpetuals: ``IM% = 2% + size·0.005%``,
  ``MM% = 1% + size·0.005%`` (BTC, size in BTC).
* :class:`SteppedInitialSchedule` — dYdX v3: the initial margin fraction rises by a step for each
  ``step_size`` beyond a baseline size; the maintenance fraction stays flat.
* :class:`OpenInterestIMF` — dYdX v4: flat fractions per market, the initial one scaled up with
  the market's open interest between two caps.

A position is charged by a :class:`PositionSchedule`: a :class:`~tiermargin.TierTable`, or a
schedule bound to its contract, :class:`ContractSchedule`. Both give
:class:`~tiermargin.IsolatedPosition` what it needs: the rate, the maintenance margin and the max
leverage at a size. A schedule measures size in contracts (the bundled ones in 1-coin contracts,
so in coins: Drift's base asset amount, dYdX's position size), which does not move with the price:
the rate at a position is fixed, the requirement is linear in the position value and the
liquidation price has the closed form of a flat rate.

HTX is neither: its maintenance margin rate is a *rule* of the chosen leverage and the position's
tier, ``MMR = adjustment factor(leverage, tier) / leverage`` (:class:`AdjustmentFactors`), which
is a step tier table once the leverage is chosen (:meth:`AdjustmentFactors.table`).

Dated, sourced parameters of the three venues are bundled in ``tiermargin/data/margin_rules.json``
(:func:`margin_ids`, :func:`load_margin`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache, partial
from importlib import resources
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _check
from ._check import FloatArray
from .contracts import LINEAR_USDT, Contract
from .derivation import Derivation, Line, num, pct
from .tiers import Basis, TierTable


class MarginSchedule(Protocol):
    """What every schedule offers: rates as functions of size (``unit`` says what size measures)."""

    name: str
    unit: str

    def maintenance_rate(self, size: ArrayLike) -> float | FloatArray:
        """Maintenance margin / position value at each size."""

    def initial_rate(self, size: ArrayLike) -> float | FloatArray:
        """Initial margin / position value at each size (1 / max leverage)."""


def _size(size: ArrayLike) -> FloatArray:
    return _check.nonnegative("size", size)


_open_rate = partial(_check.rate, low_open=True)  # a rate in (0, 1)


def _texts(obj: object, *names: str) -> None:
    """Refuse a label field (unit, name, provenance) that is not text."""
    for name in names:
        _check.text(name, getattr(obj, name))


@dataclass(frozen=True)
class TierSchedule:
    """A tier table as a schedule: the effective rate ``MM/value = MMR_k − cum_k/size``
    (step tables: ``MMR_k``) and the initial rate ``1/max leverage`` of the tier."""

    table: TierTable

    def __post_init__(self) -> None:
        if not isinstance(self.table, TierTable):
            raise TypeError(f"table must be a TierTable, got {self.table!r}")

    @property
    def name(self) -> str:
        """Venue and symbol of the table."""
        return " ".join(x for x in (self.table.venue, self.table.symbol) if x) or "tier table"

    @property
    def unit(self) -> str:
        """Unit of size: the table's basis unit."""
        return self.table.unit

    def maintenance_rate(self, size: ArrayLike) -> float | FloatArray:
        """``MM(size)/size`` (``MMR_1`` at size 0, its limit)."""
        s = _size(size)
        k = self.table.tier_index(s)
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.where(s > 0, self.table.mmr[k] - self.table.cum[k] / np.where(s > 0, s, 1.0), self.table.mmr[0])
        return _check.scalar_or_array(rate)

    def initial_rate(self, size: ArrayLike) -> float | FloatArray:
        """``1 / max leverage`` of the tier at each size."""
        return _check.scalar_or_array(1.0 / np.asarray(self.table.max_leverage_at(size)))


@dataclass(frozen=True)
class SqrtSchedule:
    """Margin rates with a √size premium (Drift, FTX).

    ``form="drift"``: ``rate = max(base, 0.8·base + imf·√size)``;
    ``form="ftx"``: ``rate = max(base, imf·√size)``; for both the initial and the maintenance base.

    Parameters
    ----------
    base_initial, base_maintenance : float
        Base rates in (0, 1), maintenance below initial.
    imf : float
        Size-premium factor, >= 0 (per √unit of size).
    form : {"drift", "ftx"}
    unit : str
        What size measures (Drift: base-asset units).
    name : str
    """

    base_initial: float
    base_maintenance: float
    imf: float
    form: Literal["drift", "ftx"] = "drift"
    unit: str = "coins"
    name: str = "√size premium"

    def __post_init__(self) -> None:
        if _check.one_number("base_maintenance", self.base_maintenance, _open_rate) >= _check.one_number(
                "base_initial", self.base_initial, _open_rate):
            raise ValueError("base_maintenance must be below base_initial")
        _check.one_number("imf", self.imf, _check.nonnegative)
        _check.one_of("form", self.form, ("drift", "ftx"))
        _texts(self, "unit", "name")

    def _rate(self, base: float, size: ArrayLike) -> float | FloatArray:
        premium = self.imf * np.sqrt(_size(size))
        floor = 0.8 * base if self.form == "drift" else 0.0
        return _check.scalar_or_array(np.maximum(base, floor + premium))

    def maintenance_rate(self, size: ArrayLike) -> float | FloatArray:
        """Maintenance rate with the size premium."""
        return self._rate(self.base_maintenance, size)

    def initial_rate(self, size: ArrayLike) -> float | FloatArray:
        """Initial rate with the size premium."""
        return self._rate(self.base_initial, size)


@dataclass(frozen=True)
class LinearSchedule:
    """Rates linear in size (Deribit linear perpetuals): ``rate = base + slope·size``.

    :meth:`deribit_btc` gives Deribit's published BTC figures: IM 2 % + 0.005 %/BTC,
    MM 1 % + 0.005 %/BTC.
    """

    base_initial: float
    base_maintenance: float
    slope: float
    unit: str = "BTC"
    name: str = "linear in size"

    def __post_init__(self) -> None:
        if _check.one_number("base_maintenance", self.base_maintenance, _open_rate) >= _check.one_number(
                "base_initial", self.base_initial, _open_rate):
            raise ValueError("base_maintenance must be below base_initial")
        _check.one_number("slope", self.slope, _check.nonnegative)
        _texts(self, "unit", "name")

    @classmethod
    def deribit_btc(cls) -> LinearSchedule:
        """Deribit BTC linear perpetual: IM% = 2% + size·0.005%, MM% = 1% + size·0.005%."""
        return cls(0.02, 0.01, 0.00005, "BTC", "Deribit BTC (linear in size)")

    def maintenance_rate(self, size: ArrayLike) -> float | FloatArray:
        """``base_maintenance + slope·size``."""
        return _check.scalar_or_array(self.base_maintenance + self.slope * _size(size))

    def initial_rate(self, size: ArrayLike) -> float | FloatArray:
        """``base_initial + slope·size``."""
        return _check.scalar_or_array(self.base_initial + self.slope * _size(size))


@dataclass(frozen=True)
class SteppedInitialSchedule:
    """dYdX-v3-style: a flat maintenance fraction; the initial fraction rises by ``step_rate`` for
    every ``step_size`` (or part of one) beyond ``baseline``:

    .. math:: IMF = \\text{base} + \\text{step\\_rate}\\cdot\\lceil \\max(0, \\text{size} - \\text{baseline}) / \\text{step\\_size} \\rceil

    Parameters are the venue's market settings (dYdX v3 published them per market); none are
    bundled here — pass them explicitly.
    """

    base_initial: float
    maintenance: float
    baseline: float
    step_size: float
    step_rate: float
    unit: str = "coins"
    name: str = "stepped initial margin"

    def __post_init__(self) -> None:
        if _check.one_number("maintenance", self.maintenance, _open_rate) >= _check.one_number(
                "base_initial", self.base_initial, _open_rate):
            raise ValueError("maintenance must be below base_initial")
        _check.one_number("baseline", self.baseline, _check.nonnegative)
        _check.one_number("step_size", self.step_size, _check.positive)
        _check.one_number("step_rate", self.step_rate, _check.nonnegative)
        _texts(self, "unit", "name")

    def maintenance_rate(self, size: ArrayLike) -> float | FloatArray:
        """The flat maintenance fraction."""
        return _check.scalar_or_array(np.full_like(_size(size), self.maintenance))

    def initial_rate(self, size: ArrayLike) -> float | FloatArray:
        """``base + step_rate·⌈excess/step_size⌉``."""
        steps = np.ceil(np.maximum(_size(size) - self.baseline, 0.0) / self.step_size)
        return _check.scalar_or_array(self.base_initial + self.step_rate * steps)


@dataclass(frozen=True)
class OpenInterestIMF:
    """dYdX v4 margin fractions: a flat maintenance fraction (MMF) and an initial fraction (IMF)
    scaled up with the market's open notional (open-interest-based IMF, "OIMF").

    .. math::

        s = \\frac{N - L}{U - L},\\qquad IMF = \\min\\bigl(IMF_0 + \\max(s\\,(1 - IMF_0),\\ 0),\\ 1\\bigr)

    with ``N`` the open notional (open interest × oracle price, USDC) and ``L``, ``U`` the
    liquidity tier's lower and upper caps: the base IMF up to ``L``, rising linearly to 100 % at
    ``U`` and staying there; ``U = 0`` disables the scaling. Neither fraction depends on the
    position's own size; the MMF never moves.

    Sources: dYdX docs "Margin" (Open-Interest-Based IMF: "scaling_factor = (open_notional −
    open_notional_lower_cap) / (open_notional_upper_cap − open_notional_lower_cap)",
    "effective_IMF = Min(base_IMF + Max(IMF_increase, 0), 100%)", "the MMF ... does not change");
    dydxprotocol/v4-chain ``protocol/x/perpetuals/types/liquidity_tier.go``
    (``GetInitialMarginQuoteQuantums``: IMF 100 % at or above a non-zero upper cap, the base IMF at
    or below the lower cap).

    Parameters
    ----------
    base_initial : float
        Base IMF in (0, 1].
    maintenance : float
        MMF in (0, 1), below ``base_initial`` (dYdX: IMF × the tier's maintenance fraction).
    lower_cap, upper_cap : float
        Open-notional caps in USDC, ``0 <= lower_cap <= upper_cap``; ``upper_cap = 0`` (with
        ``lower_cap = 0``): no scaling.
    open_notional : float
        The market's open notional in USDC, >= 0: the state the IMF is taken at.
    unit, name : str
    """

    base_initial: float
    maintenance: float
    lower_cap: float = 0.0
    upper_cap: float = 0.0
    open_notional: float = 0.0
    unit: str = "contracts"
    name: str = "open-interest-scaled IMF"

    def __post_init__(self) -> None:
        if not 0 < _check.one_number("base_initial", self.base_initial) <= 1:
            raise ValueError(f"base_initial must be in (0, 1], got {self.base_initial!r}")
        if _check.one_number("maintenance", self.maintenance, _open_rate) >= self.base_initial:
            raise ValueError("maintenance must be below base_initial")
        lower = _check.one_number("lower_cap", self.lower_cap, _check.nonnegative)
        if lower > _check.one_number("upper_cap", self.upper_cap, _check.nonnegative):
            raise ValueError(f"lower_cap {self.lower_cap:g} must not exceed upper_cap {self.upper_cap:g}")
        _check.one_number("open_notional", self.open_notional, _check.nonnegative)
        _texts(self, "unit", "name")

    def initial_at(self, open_notional: ArrayLike) -> float | FloatArray:
        """Effective IMF at each market open notional (USDC, >= 0)."""
        n = _check.nonnegative("open_notional", open_notional)
        if self.upper_cap == 0:
            return _check.scalar_or_array(np.full_like(n, self.base_initial))
        span = self.upper_cap - self.lower_cap
        with np.errstate(divide="ignore", invalid="ignore"):
            scaled = self.base_initial + (n - self.lower_cap) / span * (1 - self.base_initial)
        imf = np.where(n >= self.upper_cap, 1.0, np.where(n <= self.lower_cap, self.base_initial, scaled))
        return _check.scalar_or_array(imf)

    def with_open_notional(self, open_notional: float) -> OpenInterestIMF:
        """The same market at another open notional (USDC)."""
        return replace(self, open_notional=open_notional)

    def maintenance_rate(self, size: ArrayLike) -> float | FloatArray:
        """The flat MMF."""
        return _check.scalar_or_array(np.full_like(_size(size), self.maintenance))

    def initial_rate(self, size: ArrayLike) -> float | FloatArray:
        """The effective IMF at the market's open notional, whatever the size."""
        return _check.scalar_or_array(np.full_like(_size(size), float(self.initial_at(self.open_notional))))


@runtime_checkable
class PositionSchedule(Protocol):
    """What charges an isolated position: a :class:`~tiermargin.TierTable` or a
    :class:`ContractSchedule` (any object with these members).

    ``basis`` says what a size measures (``"notional"`` is for tier tables only);
    ``max_leverage`` is None where the venue publishes no max leverage.
    """

    contract: Contract
    symbol: str
    basis: Basis
    max_leverage: FloatArray | None

    @property
    def unit(self) -> str:
        """Unit of size."""

    @property
    def max_size(self) -> float:
        """The largest position that may be opened (``inf``: any)."""

    def tier_index(self, size: ArrayLike) -> NDArray[np.intp]:
        """0-based tier of each size (0 for a schedule without tiers)."""

    def rate(self, size: ArrayLike) -> float | FloatArray:
        """Maintenance margin rate at each size."""

    def maintenance_margin(self, size: ArrayLike, unit_value: ArrayLike = 1.0) -> float | FloatArray:
        """Maintenance margin of positions of ``size`` basis units worth ``unit_value`` each."""

    def max_leverage_at(self, size: ArrayLike) -> float | FloatArray:
        """Max leverage at each size."""

    def unit_value(self, price: ArrayLike) -> float | FloatArray:
        """Settle-currency value of one basis unit at ``price``."""


_LARGEST = 1e15  # contracts: a schedule whose initial rate is still within reach here allows any size
_BISECTIONS = 200  # halvings of [0, _LARGEST]: below float resolution


@dataclass(frozen=True, eq=False)
class ContractSchedule:
    """A margin schedule charged on a contract: the counterpart of a :class:`~tiermargin.TierTable`
    for a venue whose rates are functions of size instead of tiers (Drift, dYdX v4).

    Size is in contracts (the basis is always ``"contracts"``), so a position's rate does not move
    with the price and

    .. math:: MM = Q·\\text{rate}(Q)·\\text{value of one contract},\\qquad
              \\text{max leverage} = 1/\\text{initial rate}(Q).

    For displays it reads as one tier ``[0, ∞)`` without a maintenance amount (``floors``,
    ``caps``, ``n_tiers``, :meth:`maintenance_amount`); :meth:`with_form` returns it unchanged (it
    has no rows to charge in another form).

    Parameters
    ----------
    schedule : MarginSchedule
        The rates (:class:`SqrtSchedule`, :class:`LinearSchedule`, :class:`SteppedInitialSchedule`,
        :class:`OpenInterestIMF`), in contracts of ``contract``.
    contract : Contract
    id, venue, symbol, source, as_of : str
        Provenance (bundled schedules always carry a source and a date).

    Examples
    --------
    Drift's program test ``get_margin_ratio::smart_hlm_size``: initial ratio 10 %, imf factor
    50/10⁶, 1,000,000 base units → ratio 1,300/10⁴ (0.8 × 10 % + 0.00005 × √10⁶).

    >>> s = ContractSchedule(SqrtSchedule(0.10, 0.05, 0.00005))
    >>> round(float(s.max_leverage_at(1e6)), 4), round(float(s.rate(1e6)), 4)
    (7.6923, 0.09)
    """

    schedule: MarginSchedule
    contract: Contract = LINEAR_USDT
    id: str = ""
    venue: str = ""
    symbol: str = ""
    source: str = ""
    as_of: str = ""

    def __post_init__(self) -> None:
        if not all(hasattr(self.schedule, m) for m in ("maintenance_rate", "initial_rate")):
            raise TypeError(f"schedule must be a margin schedule (maintenance_rate, initial_rate), got {self.schedule!r}")
        if not isinstance(self.contract, Contract):
            raise TypeError(f"contract must be a tiermargin Contract, got {self.contract!r}")
        _texts(self, "id", "venue", "symbol", "source", "as_of")

    # ------------------------------------------------------------------ read as one tier
    basis = "contracts"
    form = "continuous"
    closed = "left"
    n_tiers = 1
    max_size = float("inf")

    @property
    def unit(self) -> str:
        """Unit of size: contracts."""
        return "contracts"

    @property
    def floors(self) -> FloatArray:
        """``[0]``: one tier from zero."""
        return np.zeros(1)

    @property
    def caps(self) -> FloatArray:
        """``[inf]``: the one tier is unbounded."""
        return np.full(1, np.inf)

    @property
    def max_leverage(self) -> FloatArray:
        """``[1/initial rate at size 0]``: the highest max leverage, as a one-tier table gives it."""
        return np.atleast_1d(np.asarray(self.max_leverage_at(0.0)))

    def tier_index(self, size: ArrayLike) -> NDArray[np.intp]:
        """0 for every size (no tiers)."""
        return np.zeros(np.shape(_size(size)), dtype=np.intp)

    def maintenance_amount(self, size: ArrayLike) -> float | FloatArray:
        """0: no deduction, the rate itself grows with size."""
        return _check.scalar_or_array(np.zeros_like(_size(size)))

    def with_form(self, form: str) -> ContractSchedule:
        """Itself: a schedule has no rows to charge in another form (``form`` is still checked)."""
        _check.one_of("form", form, ("continuous", "step"))
        return self

    # ------------------------------------------------------------------ rates and amounts
    def rate(self, size: ArrayLike) -> float | FloatArray:
        """Maintenance margin rate at each size (contracts)."""
        return self.schedule.maintenance_rate(size)

    def initial_rate(self, size: ArrayLike) -> float | FloatArray:
        """Initial margin rate at each size (contracts)."""
        return self.schedule.initial_rate(size)

    def maintenance_margin(self, size: ArrayLike, unit_value: ArrayLike = 1.0) -> float | FloatArray:
        """``size·rate(size)·unit_value``: the MM of ``size`` contracts worth ``unit_value`` each."""
        s = _size(size)
        uv = _check.positive("unit_value", unit_value)
        return _check.scalar_or_array(s * np.asarray(self.rate(s)) * uv)

    def max_leverage_at(self, size: ArrayLike) -> float | FloatArray:
        """``1/initial rate`` at each size."""
        return _check.scalar_or_array(1.0 / np.asarray(self.initial_rate(size)))

    def explain_max_leverage(self, size: float) -> Derivation:
        """How the max leverage at ``size`` contracts is computed: the initial rate there, then ``1 ÷`` it.

        The result equals :meth:`max_leverage_at`. For a :class:`LinearSchedule` the rate line shows
        ``base + slope × Q`` with the numbers.

        Examples
        --------
        Deribit BTC: at 100 BTC, IM% = 2 % + 100 × 0.005 % = 2.5 %, so 40×.

        >>> d = ContractSchedule(LinearSchedule.deribit_btc()).explain_max_leverage(100)
        >>> print(d.lines[0].text())
        IM% = base_initial + slope × Q = 2 % + 0.005 % × 100 = 0.025 (Deribit BTC (linear in size) at 100 contracts)
        >>> d.result == ContractSchedule(LinearSchedule.deribit_btc()).max_leverage_at(100)
        True
        """
        if np.ndim(size):
            raise ValueError("size must be one number: the explanation is of one size")
        q = float(_check.nonnegative("size", size))
        s = self.schedule
        rate = float(np.asarray(self.initial_rate(q)))
        why = f"{getattr(s, 'name', type(s).__name__)} at {num(q)} contracts"
        if isinstance(s, LinearSchedule):
            first = Line("imr", "IM% = base_initial + slope × Q", f"{pct(s.base_initial)} + {pct(s.slope)} × {num(q)}",
                         rate, why)
        else:
            first = Line("imr", "IM% = initial rate(Q)", "", rate, why)
        name = " ".join(x for x in (self.venue, self.symbol) if x) or getattr(s, "name", "a schedule")
        return Derivation(f"Max leverage at {num(q)} contracts on {name}",
                          (first, Line("max_leverage", "max leverage = 1 ÷ IM%", f"1 ÷ {num(rate)}",
                                       float(np.asarray(self.max_leverage_at(q))),
                                       "the initial margin is value ÷ leverage, so the leverage is at most 1 ÷ IM%")),
                          "max leverage = 1 ÷ initial rate(Q): the schedule's rates grow with size, no tiers",
                          self.source or "docs/formulas.md#continuous-alternatives-to-steps")

    def max_size_at_leverage(self, leverage: ArrayLike) -> float | FloatArray:
        """Largest size (contracts) at which ``leverage`` is allowed: ``sup{Q : initial rate(Q) <= 1/leverage}``.

        Found by bisection (the initial rate never decreases with size); ``inf`` where the rate
        stays within reach at any size (e.g. dYdX, whose IMF does not depend on size).

        Raises
        ------
        ValueError
            If ``leverage`` is above the highest max leverage (that of the smallest position).
        """
        x = _check.positive("leverage", leverage)
        top = float(self.max_leverage[0])
        if np.any(x > top):
            raise ValueError(f"leverage must be at most the schedule's highest max leverage {top:g}x, got {leverage!r}")
        target = 1.0 / x
        lo, hi = np.zeros_like(target), np.full_like(target, _LARGEST)
        for _ in range(_BISECTIONS):
            mid = 0.5 * (lo + hi)
            ok = np.asarray(self.initial_rate(mid)) <= target
            lo, hi = np.where(ok, mid, lo), np.where(ok, hi, mid)
        unbounded = np.asarray(self.initial_rate(np.full_like(target, _LARGEST))) <= target
        return _check.scalar_or_array(np.where(unbounded, np.inf, lo))

    # ------------------------------------------------------------------ sizes in other units
    def size_of(self, qty: ArrayLike, price: ArrayLike) -> float | FloatArray:
        """Size of ``qty`` contracts at ``price``: ``qty`` itself (broadcast against ``price``)."""
        q = _check.nonnegative("qty", qty)
        return _check.scalar_or_array(q * np.ones_like(_check.positive("price", price)))

    def contracts_at(self, size: ArrayLike, price: ArrayLike) -> float | FloatArray:
        """Contracts of a position of ``size``: ``size`` itself (inverse of :meth:`size_of`)."""
        return self.size_of(_size(size), price)

    def unit_value(self, price: ArrayLike) -> float | FloatArray:
        """Value of one contract at ``price`` in the settle currency."""
        return self.contract.value(1.0, _check.positive("price", price))

    def usd_notional(self, size: ArrayLike, price: ArrayLike) -> float | FloatArray:
        """USD notional of ``size`` contracts at ``price``."""
        return self.contract.usd_value(_size(size), _check.positive("price", price))

    def size_at_usd(self, usd: ArrayLike, price: ArrayLike) -> float | FloatArray:
        """Contracts worth ``usd`` at ``price`` (inverse of :meth:`usd_notional`)."""
        n = _check.nonnegative("usd", usd)
        return _check.scalar_or_array(n / np.asarray(self.contract.usd_value(1.0, _check.positive("price", price))))

    def __repr__(self) -> str:
        name = " ".join(x for x in (self.venue, self.symbol) if x) or "schedule"
        return f"ContractSchedule({name}: {self.schedule!r} on {self.contract}{f', as of {self.as_of}' if self.as_of else ''})"


@dataclass(frozen=True, eq=False)
class AdjustmentFactors:
    """HTX's tiered adjustment factors: for each leverage a ladder of tiers by net position
    (contracts), each with an adjustment factor ``AF``; the whole position is charged at

    .. math:: MMR = \\frac{AF(\\text{leverage},\\ \\text{tier})}{\\text{leverage}},\\qquad
              MM = AF·\\frac{\\text{value}}{\\text{leverage}}

    (the factor times the position margin). HTX's isolated margin ratio is
    ``equity / used margin − AF``, liquidated at ≤ 0 (:meth:`margin_ratio`). Once the leverage is
    chosen this is a step tier table by contracts (:meth:`table`).

    Sources: HTX help "Tiered Adjustment Factor of USDⓈ-Margined Contracts" ("Maintenance Margin
    Ratio = Adjustment Factor / Leverage"; tiers by net position, up to five); HTX help "Partial
    Liquidation" ("Isolated Margin Mode: Margin Ratio = (Account Equity / Occupied Margin) × 100% –
    Adjustment Factor"; "Occupied Margin = Position Margin + Frozen Margin"); HTX API
    ``/linear-swap-api/v1/swap_adjustfactor`` (``lever_rate``, ``ladders`` of ``min_size``,
    ``max_size``, ``adjust_factor``).

    Parameters
    ----------
    ladders : mapping
        Leverage → rows ``[min_size, max_size, adjust_factor]`` as HTX publishes them: integer
        contract bounds, each ``min_size`` one above the previous ``max_size``, the first 0, the
        last ``max_size`` None (unbounded); factors in (0, 1), never decreasing.
    contract : Contract
    id, venue, symbol, source, as_of : str
        Provenance.

    Examples
    --------
    >>> af = AdjustmentFactors({10: [[0, 999, 0.075], [1000, 9999, 0.125], [10000, None, 0.15]]})
    >>> float(af.factor(10, 1_800)), float(af.maintenance_rate(10, 1_800))
    (0.125, 0.0125)
    """

    ladders: Mapping[float, Sequence[Sequence[float | None]]]
    contract: Contract = LINEAR_USDT
    id: str = ""
    venue: str = ""
    symbol: str = ""
    source: str = ""
    as_of: str = ""

    leverages: FloatArray = field(init=False, repr=False)
    _floors: FloatArray = field(init=False, repr=False)
    _factors: FloatArray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.contract, Contract):
            raise TypeError(f"contract must be a tiermargin Contract, got {self.contract!r}")
        _texts(self, "id", "venue", "symbol", "source", "as_of")
        if not isinstance(self.ladders, Mapping):
            raise TypeError(f"ladders must be a mapping leverage → rows [min_size, max_size, adjust_factor], "
                            f"got {self.ladders!r}")
        if not self.ladders:
            raise ValueError("ladders must give at least one leverage")
        rows = {_check.one_number("leverage", k, _check.positive): v for k, v in self.ladders.items()}
        levs = sorted(rows)
        parsed = [_ladder(lev, rows[lev]) for lev in levs]
        width = max(f.size for f, _ in parsed)
        floors, factors = np.full((len(levs), width), np.inf), np.ones((len(levs), width))
        for i, (f, a) in enumerate(parsed):
            floors[i, : f.size], factors[i, : a.size] = f, a
        for name, arr in (("leverages", np.array(levs)), ("_floors", floors), ("_factors", factors)):
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    def _rows(self, leverage: ArrayLike) -> NDArray[np.intp]:
        lev = _check.positive("leverage", leverage)
        i = np.minimum(np.searchsorted(self.leverages, lev), self.leverages.size - 1)
        bad = self.leverages[i] != lev
        if np.any(bad):
            offered = ", ".join(f"{v:g}" for v in self.leverages)
            raise ValueError(f"leverage must be one of {offered} (the leverages the adjustment factors are "
                             f"published for), got {np.asarray(lev)[bad].flat[0]:g}")
        return i

    def factor(self, leverage: ArrayLike, net_contracts: ArrayLike) -> float | FloatArray:
        """Adjustment factor of the tier each net position (contracts, >= 0) falls in at each leverage."""
        i = self._rows(leverage)
        net = _check.nonnegative("net_contracts", net_contracts)
        i, net = np.broadcast_arrays(i, net)
        k = np.sum(self._floors[i] <= net[..., None], axis=-1) - 1
        return _check.scalar_or_array(self._factors[i, k])

    def maintenance_rate(self, leverage: ArrayLike, net_contracts: ArrayLike) -> float | FloatArray:
        """``AF / leverage``: the maintenance margin rate of the whole position."""
        return _check.scalar_or_array(np.asarray(self.factor(leverage, net_contracts)) / _check.positive("leverage", leverage))

    def margin_ratio(self, equity: ArrayLike, used_margin: ArrayLike, leverage: ArrayLike,
                     net_contracts: ArrayLike) -> float | FloatArray:
        """HTX's isolated margin ratio ``equity / used margin − AF`` (liquidated at ≤ 0).

        Parameters
        ----------
        equity : float or array
            Isolated position equity (margin balance).
        used_margin : float or array
            Position margin plus the margin frozen by open orders, > 0.
        leverage, net_contracts : float or array
            Where the factor is read.
        """
        e = _check.finite("equity", equity)
        used = _check.positive("used_margin", used_margin)
        return _check.scalar_or_array(e / used - np.asarray(self.factor(leverage, net_contracts)))

    def table(self, leverage: float) -> TierTable:
        """The step tier table by contracts a position opened at ``leverage`` is charged by:
        tier ``k`` at ``AF_k / leverage``, max leverage ``leverage`` in every tier."""
        i = int(self._rows(_check.one_number("leverage", leverage, _check.positive)))
        lev = float(self.leverages[i])
        n = int(np.sum(np.isfinite(self._floors[i])))
        f, a = self._floors[i, :n], self._factors[i, :n]
        rows = [[f[k], f[k + 1] if k + 1 < n else None, a[k] / lev, lev] for k in range(n)]
        return TierTable.from_rows(rows, basis="contracts", form="step", contract=self.contract, closed="left",
                                   id=f"{self.id}@{lev:g}x" if self.id else "", venue=self.venue,
                                   symbol=f"{self.symbol} at {lev:g}x".strip(), source=self.source, as_of=self.as_of)

    def __repr__(self) -> str:
        name = " ".join(x for x in (self.venue, self.symbol) if x) or "adjustment factors"
        return f"AdjustmentFactors({name}: leverages {', '.join(f'{v:g}' for v in self.leverages)})"


def _ladder(leverage: float, rows: Sequence[Sequence[float | None]]) -> tuple[FloatArray, FloatArray]:
    """Floors and factors of one published ladder, validated (see :class:`AdjustmentFactors`)."""
    where = f"ladder at {leverage:g}x"
    def is_rows(x: object) -> bool:
        return isinstance(x, Sequence) and not isinstance(x, (str, bytes))

    if not is_rows(rows) or not rows or any(not is_rows(r) or len(r) != 3 for r in rows):
        raise ValueError(f"{where}: rows are [min_size, max_size, adjust_factor], got {rows!r}")
    if rows[-1][1] is not None:
        raise ValueError(f"{where}: the last max_size must be None (unbounded), got {rows[-1][1]!r}")
    floors = np.asarray(_check.nonnegative(f"{where}: min_size", [r[0] for r in rows]), dtype=np.float64)
    factors = np.asarray(_check.rate(f"{where}: adjust_factor", [r[2] for r in rows], low_open=True), dtype=np.float64)
    if floors[0] != 0:
        raise ValueError(f"{where}: the first min_size must be 0, got {floors[0]:g}")
    for k in range(len(rows) - 1):
        top = rows[k][1]
        if top is not None:
            top = float(_check.nonnegative(f"{where}: max_size", top))
        if top is None or floors[k + 1] != top + 1 or top < floors[k]:
            raise ValueError(f"{where}: tier {k + 2} must start one contract above tier {k + 1}'s max_size {top!r}, "
                             f"got min_size {floors[k + 1]:g}")
    if np.any(np.diff(factors) < 0):
        raise ValueError(f"{where}: adjustment factors must not decrease, got {factors.tolist()}")
    return floors, factors


# ---------------------------------------------------------------------- bundled rules
@lru_cache(maxsize=1)
def _bundled() -> dict[str, dict[str, Any]]:
    text = resources.files("tiermargin.data").joinpath("margin_rules.json").read_text("utf-8")
    return {r["id"]: r for r in json.loads(text)["rules"]}


def margin_ids() -> list[str]:
    """Ids of the bundled margin rules (``tiermargin/data/margin_rules.json``)."""
    return list(_bundled())


def margin_info(rule_id: str) -> dict[str, Any]:
    """The bundled record of a margin rule: venue, market, parameters as published, source, date."""
    return dict(_bundled()[_check.one_of("rule_id", rule_id, margin_ids())])


@lru_cache(maxsize=None)
def load_margin(rule_id: str) -> ContractSchedule | AdjustmentFactors:
    """A bundled margin rule, from the venue's published parameters (converted from its units);
    the rules are immutable, so each is built once.

    * ``"open-interest-imf"`` (dYdX v4): IMF = ``initial_margin_ppm``/10⁶, MMF = IMF ×
      ``maintenance_fraction_ppm``/10⁶ (in ppm rounded down, as ``GetMaintenanceMarginPpm``), caps
      in USDC → :class:`ContractSchedule` of :class:`OpenInterestIMF`;
    * ``"sqrt-premium"`` (Drift): ratios / ``margin_precision``, imf factor / ``imf_precision`` →
      :class:`ContractSchedule` of :class:`SqrtSchedule`;
    * ``"adjustment-factors"`` (HTX) → :class:`AdjustmentFactors`.

    Examples
    --------
    >>> s = load_margin("dydx-v4-btc-usd")
    >>> float(s.rate(1.0)), float(s.max_leverage_at(1.0))
    (0.03, 20.0)
    """
    d = margin_info(rule_id)
    contract = Contract(d["contract"], d["face_value"], d["settle"])
    meta = {k: str(d[k]) for k in ("id", "venue", "symbol", "source", "as_of")}
    if d["kind"] == "adjustment-factors":
        return AdjustmentFactors({float(k): v for k, v in d["ladders"].items()}, contract, **meta)
    schedule: MarginSchedule
    if d["kind"] == "open-interest-imf":
        im_ppm = int(d["initial_margin_ppm"])
        schedule = OpenInterestIMF(im_ppm / 1e6, im_ppm * int(d["maintenance_fraction_ppm"]) // 1_000_000 / 1e6,
                                   d["open_interest_lower_cap_usdc"], d["open_interest_upper_cap_usdc"],
                                   name="dYdX v4 " + d["liquidity_tier"])
    else:
        _check.one_of("kind", d["kind"], ("adjustment-factors", "open-interest-imf", "sqrt-premium"))
        p, q = d["margin_precision"], d["imf_precision"]
        schedule = SqrtSchedule(d["margin_ratio_initial"] / p, d["margin_ratio_maintenance"] / p, d["imf_factor"] / q,
                                d["form"], "contracts", "Drift size premium")
    return ContractSchedule(schedule, contract, **meta)
