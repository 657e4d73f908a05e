"""Linear (quote-margined) and inverse (coin-margined) contracts.

Notation follows the course: ``qty`` contracts (>= 0), face value ``FV`` (contract size),
entry price ``EP``, mark price ``P``, ``side`` +1 long / -1 short.

* Linear (USDT/USDC-margined): value = qty·FV·P (in the quote/settle currency),
  UPL = side·qty·FV·(P − EP).
* Inverse (coin-margined): value = qty·FV/P (in the coin), UPL = side·qty·FV·(1/EP − 1/P).
  BitMEX: "PnL = #Contracts × Multiplier × (1/Entry − 1/Exit)".

Sources: BitMEX "Inverse and Quanto contracts" guide; Binance "USDⓈ-M vs COIN-M futures";
``docs/formulas.md#contracts``.

Both kinds are affine in one *price coordinate* ``u``: ``u = P`` (linear) or ``u = 1/P``
(inverse). Then value = qty·FV·u and UPL = σ·side·qty·FV·(u − u_entry) with σ = +1 (linear) or
−1 (inverse). The solvers in :mod:`tiermargin.isolated` use this to find liquidation and
bankruptcy prices in closed form for both kinds at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from . import _check
from ._check import FloatArray

Kind = Literal["linear", "inverse"]


@dataclass(frozen=True)
class Contract:
    """A futures/perpetual contract specification.

    Parameters
    ----------
    kind : {"linear", "inverse"}
        Linear contracts are margined and settled in the quote currency (e.g. USDT);
        inverse contracts in the base coin (e.g. BTC for BTC-USD).
    face_value : float
        Contract size (multiplier): coins per contract (linear) or quote units per contract
        (inverse, e.g. 100 USD for OKX BTC-USD-SWAP). Must be > 0.
    settle : str
        Currency in which value, margin and PnL are expressed.
    """

    kind: Kind = "linear"
    face_value: float = 1.0
    settle: str = "USDT"

    def __post_init__(self) -> None:
        _check.one_of("kind", self.kind, ("linear", "inverse"))
        fv = _check.one_number("face_value", self.face_value, _check.positive)
        if not isinstance(self.settle, str) or not self.settle:
            raise TypeError(f"settle must be a currency code (a non-empty str, e.g. 'USDT'), got {self.settle!r}")
        object.__setattr__(self, "face_value", fv)

    @property
    def sigma(self) -> float:
        """+1 for linear, −1 for inverse: the sign of UPL in the price coordinate ``u``."""
        return 1.0 if self.kind == "linear" else -1.0

    def coordinate(self, price: ArrayLike) -> FloatArray:
        """Price coordinate ``u``: ``P`` for linear, ``1/P`` for inverse (``price`` > 0)."""
        p = _check.positive("price", price)
        return p if self.kind == "linear" else 1.0 / p

    def price_of(self, u: FloatArray) -> FloatArray:
        """Inverse of :meth:`coordinate` for ``u`` > 0 (no validation: internal use)."""
        return u if self.kind == "linear" else 1.0 / u

    def value(self, qty: ArrayLike, price: ArrayLike) -> float | FloatArray:
        """Position value (notional) in the settle currency.

        ``qty·FV·P`` (linear) or ``qty·FV/P`` (inverse).

        Parameters
        ----------
        qty : float or array
            Number of contracts, >= 0.
        price : float or array
            Price, > 0. Broadcasts against ``qty``.
        """
        q = _check.nonnegative("qty", qty)
        return _check.scalar_or_array(q * self.face_value * self.coordinate(price))

    def upnl(
        self, side: ArrayLike | str, qty: ArrayLike, entry: ArrayLike, price: ArrayLike
    ) -> float | FloatArray:
        """Unrealized PnL in the settle currency.

        Linear: ``side·qty·FV·(P − EP)``; inverse: ``side·qty·FV·(1/EP − 1/P)``.

        Parameters
        ----------
        side : "long", "short", +1, -1 or array of them
        qty : float or array
            Contracts, >= 0.
        entry : float or array
            Entry price, > 0.
        price : float or array
            Mark (or exit) price, > 0.
        """
        s = _check.side("side", side)
        q = _check.nonnegative("qty", qty)
        du = self.coordinate(price) - self.coordinate(_check.positive("entry", entry))
        return _check.scalar_or_array(self.sigma * s * q * self.face_value * du)

    def usd_value(self, qty: ArrayLike, price: ArrayLike) -> float | FloatArray:
        """Position value (notional) in USD, the unit in which venues with different contracts compare.

        ``qty·FV·P`` (linear: the settle currency is the quote, USDT, USDC or BUSD counted as USD) or
        ``qty·FV`` (inverse: the face value is in USD, e.g. 100 USD per OKX BTC-USD-SWAP contract,
        1 USD per BitMEX XBTUSD contract). :func:`tiermargin.rules.compare` converts a USD notional
        to contracts the same way.

        Parameters
        ----------
        qty : float or array
            Contracts, >= 0.
        price : float or array
            Price, > 0. Broadcasts against ``qty``.
        """
        q = _check.nonnegative("qty", qty)
        p = _check.positive("price", price)
        return _check.scalar_or_array(q * self.face_value * (p if self.kind == "linear" else np.ones_like(p)))

    def to_usd(self, amount: ArrayLike, price: ArrayLike) -> float | FloatArray:
        """An amount in the settle currency, in USD at ``price``.

        Linear: unchanged (the settle currency is the USD quote); inverse: ``amount·P`` (the settle
        currency is the coin).

        Parameters
        ----------
        amount : float or array
            Settle-currency amount (any sign), finite.
        price : float or array
            Price of the coin in USD, > 0. Broadcasts against ``amount``.
        """
        a = _check.finite("amount", amount)
        p = _check.positive("price", price)
        return _check.scalar_or_array(a * (p if self.kind == "inverse" else np.ones_like(p)))


LINEAR_USDT = Contract("linear", 1.0, "USDT")
