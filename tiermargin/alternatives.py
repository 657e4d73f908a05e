"""Continuous alternatives to tier tables, behind one interface.

Every *margin schedule* answers two questions for a position size (vectorized): the maintenance
margin rate (MM / value) and the initial margin rate (IM / value = 1 / max leverage). A tier table
is one schedule (:class:`TierSchedule`); venues without steps use others
(``reference/FORMULAS.md``, "Continuous alternatives to steps"):

* :class:`SqrtSchedule` — a size premium growing with √size. Drift:
  ``mr = max(base, 0.8·base + imf·√|size|)``; FTX: ``IMF = max(base, imf·√size)``.
* :class:`LinearSchedule` — Deribit linear perpetuals: ``IM% = 2% + size·0.005%``,
  ``MM% = 1% + size·0.005%`` (BTC, size in BTC).
* :class:`SteppedInitialSchedule` — dYdX v3: the initial margin fraction rises by a step for each
  ``step_size`` beyond a baseline size; the maintenance fraction stays flat.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
from numpy.typing import ArrayLike

from . import _check
from ._check import FloatArray
from .tiers import TierTable


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


@dataclass(frozen=True)
class TierSchedule:
    """A tier table as a schedule: the effective rate ``MM/value = MMR_k − cum_k/size``
    (step tables: ``MMR_k``) and the initial rate ``1/max leverage`` of the tier."""

    table: TierTable

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
        _check.rate("base_initial", self.base_initial, low_open=True)
        _check.rate("base_maintenance", self.base_maintenance, low_open=True)
        if self.base_maintenance >= self.base_initial:
            raise ValueError("base_maintenance must be below base_initial")
        _check.nonnegative("imf", self.imf)
        _check.one_of("form", self.form, ("drift", "ftx"))

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
        _check.rate("base_initial", self.base_initial, low_open=True)
        _check.rate("base_maintenance", self.base_maintenance, low_open=True)
        if self.base_maintenance >= self.base_initial:
            raise ValueError("base_maintenance must be below base_initial")
        _check.nonnegative("slope", self.slope)

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
        _check.rate("base_initial", self.base_initial, low_open=True)
        _check.rate("maintenance", self.maintenance, low_open=True)
        if self.maintenance >= self.base_initial:
            raise ValueError("maintenance must be below base_initial")
        _check.nonnegative("baseline", self.baseline)
        _check.positive("step_size", self.step_size)
        _check.nonnegative("step_rate", self.step_rate)

    def maintenance_rate(self, size: ArrayLike) -> float | FloatArray:
        """The flat maintenance fraction."""
        return _check.scalar_or_array(np.full_like(_size(size), self.maintenance))

    def initial_rate(self, size: ArrayLike) -> float | FloatArray:
        """``base + step_rate·⌈excess/step_size⌉``."""
        steps = np.ceil(np.maximum(_size(size) - self.baseline, 0.0) / self.step_size)
        return _check.scalar_or_array(self.base_initial + self.step_rate * steps)
