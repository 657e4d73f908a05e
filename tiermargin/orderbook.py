"""A documented order-book model for liquidation orders: depth, price impact and resilience.

The cascade engine (:mod:`tiermargin.cascade`) sends every liquidation order to this book. The model
is the transient-impact book of Obizhaeva & Wang ("Optimal trading strategy and supply/demand
dynamics", *Journal of Financial Markets* 16, 2013), written in log price so that no sale, however
large, can push a price to zero or below:

* **Depth.** Every 1 % of (log) price away from the mid holds ``depth`` of resting orders, in USD
  notional. A net sale of ``V`` USD therefore moves the mid by

  .. math:: \\Delta \\ln P = -\\frac{V}{100\\,\\text{depth}},

  and fills on average at the midpoint of its sweep, ``P·exp(Δ ln P / 2)`` (a buy: the same with
  ``V < 0``). Selling 1 % of depth moves the price 0.01 %; selling 10 × depth moves it 1 − e⁻⁰·¹ ≈ 9.5 %.
* **Resilience.** Market makers refill the book: the displacement ``d = ln(last / fair)`` that the
  orders left decays exponentially, halving every ``half_life`` seconds.

Real 1 %-depth figures for BTC perpetuals on large venues are in the hundreds of millions of USD in
calm markets and fall by an order of magnitude in a crash (the depth is what a cascade consumes);
the lessons use round teaching values, not a calibration. :meth:`Book.explain_order` works one order
through by hand (lesson 07).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from . import _check
from ._check import FloatArray
from .derivation import Derivation, Line, num, pct

_SOURCE = ("Obizhaeva & Wang, 'Optimal trading strategy and supply/demand dynamics', Journal of Financial Markets 16 "
           "(2013): transient price impact, written in log price (tiermargin.orderbook)")


def _positive_or_inf(name: str, x: float) -> float:
    """``x`` as a float > 0, ``math.inf`` allowed (an infinitely deep book, or one that never recovers)."""
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number > 0 (inf allowed), got {x!r}")
    v = float(x)
    if math.isnan(v) or v <= 0:
        raise ValueError(f"{name} must be > 0 (inf allowed), got {x!r}")
    return v if math.isinf(v) else _check.one_number(name, v, _check.positive)  # within the bounds of _check


@dataclass(frozen=True)
class Book:
    """The book liquidation orders hit (see the module docstring).

    Parameters
    ----------
    depth : float
        USD notional resting per 1 % of price from the mid, > 0; ``math.inf``: no price impact.
    half_life : float
        Seconds for half the displacement left by orders to be refilled, > 0; ``math.inf``: never.

    Examples
    --------
    Selling 10 million USD into a book 20 million deep per 1 % moves the mid 0.5 % (in log):

    >>> b = Book(depth=20_000_000, half_life=300)
    >>> round(float(b.move(10_000_000)), 6)
    -0.005
    >>> round(b.recovery(300), 6)
    0.5
    """

    depth: float = 20_000_000.0
    half_life: float = 300.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "depth", _positive_or_inf("depth", self.depth))
        object.__setattr__(self, "half_life", _positive_or_inf("half_life", self.half_life))

    @property
    def has_impact(self) -> bool:
        """Whether orders move the price (a finite depth)."""
        return math.isfinite(self.depth)

    def move(self, notional: ArrayLike) -> float | FloatArray:
        """Log-price move ``−V/(100·depth)`` of a net sale of ``notional`` USD (a buy: ``notional < 0``)."""
        v = _check.finite("notional", notional)
        with np.errstate(under="ignore"):  # a move below the float resolution is 0 (or subnormal): exact enough
            return _check.scalar_or_array(-v / (100.0 * self.depth))

    def fill(self, price: ArrayLike, notional: ArrayLike) -> float | FloatArray:
        """Average fill of a net sale of ``notional`` USD starting at ``price``: ``price·exp(move/2)``."""
        p = _check.positive("price", price)
        with np.errstate(under="ignore"):  # as in move: a half move below the float resolution is 0
            return _check.scalar_or_array(p * np.exp(np.asarray(self.move(notional)) / 2.0))

    def recovery(self, dt: float) -> float:
        """Share of a displacement still there after ``dt`` seconds: ``2^(−dt/half_life)``."""
        t = _check.one_number("dt", dt, _check.nonnegative)
        return float(2.0 ** (-t / self.half_life))

    def time_to(self, left: float) -> float:
        """Seconds until a share ``left`` in (0, 1) of a displacement is still there (the inverse of
        :meth:`recovery`): ``half_life·log2(1/left)``; ∞ for a book that never refills."""
        x = float(_check.rate("left", left, low_open=True))
        return float(self.half_life * -math.log2(x)) if math.isfinite(self.half_life) else math.inf

    def order_for(self, drop: float) -> float:
        """USD notional whose sale moves the mid down by ``drop`` (a fraction in (0, 1)): ``−100·depth·ln(1 − drop)``;
        ∞ for an infinitely deep book (no sale moves it)."""
        x = float(_check.rate("drop", drop, low_open=True))
        return -100.0 * self.depth * math.log1p(-x)

    def explain_order(self, notional: float, price: float, after: float | None = None) -> Derivation:
        """How one order moves this book, by hand: the move in log price, the new price, the average
        fill, and (with ``after``) how much of the move is left ``after`` seconds later.

        Lines: the order ``V`` (a sale; a buy is ``V < 0``), the depth, ``Δln P = −V/(100·depth)``
        (:meth:`move`), the new price ``P·exp(Δln P)``, the average fill ``P·exp(Δln P/2)``
        (:meth:`fill`); with ``after``: the share still there ``2^(−t/half life)``
        (:meth:`recovery`), the displacement left and the price then, ``P·exp(Δln P·share)`` — the
        order starting from the fair price ``price``, no other order in between.

        Parameters
        ----------
        notional : float
            USD notional of a net sale (negative: a net buy), finite.
        price : float
            The price the order starts from (the fair price), > 0.
        after : float, optional
            Seconds after the order, >= 0.

        Returns
        -------
        Derivation
            Its result is the average fill, or with ``after`` the price that many seconds later.

        Examples
        --------
        Selling 10 million USD into a book 20 million deep per 1 % at 60,000:

        >>> d = Book(depth=20_000_000, half_life=300).explain_order(10_000_000, 60_000, after=300)
        >>> round(d.line("move").value, 6), round(d.line("fill").value, 2), round(d.result, 2)
        (-0.005, 59850.19, 59850.19)
        >>> print(d.lines[2].text())
        Δln P = −V ÷ (100 × depth) = −10,000,000 ÷ (100 × 20,000,000) = −0.005 (a sale pushes the price down)

        One half life later half the move is left: the price is back at the average fill.
        """
        v, p = _one("notional", notional, _check.finite), _one("price", price, _check.positive)
        sale = "a sale" if v >= 0 else "a buy"
        lines = [Line("order", "V", "", v, f"{sale} of {num(abs(v))} USD notional"),
                 Line("depth", "depth", "", self.depth, "USD resting per 1 % of (log) price from the mid")]
        if self.has_impact:
            move = -v / (100.0 * self.depth)
            lines.append(Line("move", "Δln P = −V ÷ (100 × depth)", f"{num(-v)} ÷ (100 × {num(self.depth)})", move,
                              "a sale pushes the price down" if v >= 0 else "a buy pushes the price up"))
        else:
            move = 0.0
            lines.append(Line("move", "Δln P", "", move, "an infinitely deep book: no price impact"))
        new = p * math.exp(move)
        lines += [Line("new_price", "P_new = P × exp(Δln P)", f"{num(p)} × exp({num(move)})", new,
                       f"{pct(math.expm1(move))} from {num(p)}"),
                  Line("fill", "fill = P × exp(Δln P ÷ 2)", f"{num(p)} × exp({num(move)} ÷ 2)", p * math.exp(move / 2),
                       "the average fill: the midpoint of the sweep in log price")]
        if after is not None:
            t = _one("after", after, _check.nonnegative)
            left = 2.0 ** (-t / self.half_life)
            lines += [Line("recovery", "share left = 2^{−t ÷ half life}", f"2^{{−{num(t)} ÷ {num(self.half_life)}}}", left,
                           "market makers refill the book: the displacement halves every half life"),
                      Line("displacement", "d(t) = Δln P × share left", f"{num(move)} × {num(left)}", move * left,
                           "the log displacement from the fair price still there"),
                      Line("price_after", "P(t) = P × exp(d(t))", f"{num(p)} × exp({num(move * left)})",
                           p * math.exp(move * left), f"{num(t)} s after the order, from the fair price {num(p)}")]
        rule = ("log-linear impact: Δln P = −V/(100·depth), fills at the midpoint of its sweep; the displacement "
                "decays 2^(−Δt/half life)")
        return Derivation(f"{sale.capitalize()} of {num(abs(v))} USD into a book {num(self.depth)} deep per 1 %",
                          tuple(lines), rule, _SOURCE)

    def explain_recovery(self, after: float | None = None, left: float | None = None,
                         recovered: float | None = None) -> Derivation:
        """How the book refills, by hand: the share of a displacement still there ``after`` seconds
        (:meth:`recovery`), or the time until only a share ``left`` of it is there (:meth:`time_to`;
        or until a share ``recovered`` has been refilled, ``left = 1 − recovered``). Give exactly one.

        Lines with ``after``: the half life ``h``, the time ``t``, the half lives elapsed ``t ÷ h`` and
        the share left ``2^(−t/h)`` (key ``law``). With ``left`` or ``recovered``: ``h``, the share
        refilled (with ``recovered``), the share left, the half lives it takes ``log₂(1 ÷ share left)``
        (key ``law``: ``2^(−t/h) = share left`` solved for ``t ÷ h``) and the time ``h × t ÷ h``
        (key ``time``).

        Parameters
        ----------
        after : float, optional
            Seconds since the displacement, >= 0.
        left : float, optional
            A share in (0, 1) of the displacement still there.
        recovered : float, optional
            A share in (0, 1) of the displacement refilled.

        Returns
        -------
        Derivation
            Its result is the share left (``after``) or the time in seconds (∞ for a book that never
            refills).

        Examples
        --------
        >>> b = Book(half_life=60)
        >>> d = b.explain_recovery(after=90)
        >>> d.result == b.recovery(90)
        True
        >>> print(d.lines[-1].text())
        share left = 2^{−t ÷ h} = 2^{−1.5} = 0.3535533906 (the displacement halves every half life)
        >>> d = b.explain_recovery(recovered=0.75)
        >>> d.result == b.time_to(0.25), d.result
        (True, 120.0)
        >>> print(d.line("law").text())
        t ÷ h = log₂(1 ÷ share left) = log₂(1 ÷ 0.25) = 2 (2^{−t ÷ h} = share left, solved for t ÷ h)
        """
        given = [name for name, x in (("after", after), ("left", left), ("recovered", recovered)) if x is not None]
        if len(given) != 1:
            raise ValueError(f"explain_recovery: give exactly one of after, left, recovered (got {given or 'none'})")
        h = self.half_life
        lines = [Line("half_life", "h", "", h, "seconds for half of what is left of a displacement to be refilled")]
        if after is not None:
            t = _one("after", after, _check.nonnegative)
            halvings = t / h
            lines += [Line("after", "t", "", t, "seconds since the displacement"),
                      Line("halvings", "t ÷ h", f"{num(t)} ÷ {num(h)}", halvings, "half lives elapsed"),
                      Line("law", "share left = 2^{−t ÷ h}", f"2^{{−{num(halvings)}}}", float(2.0 ** (-halvings)),
                           "the displacement halves every half life")]
            title = f"Share of a displacement left {num(t)} s later, half life {num(h)} s"
        else:
            if recovered is not None:
                r = float(_check.rate("recovered", _one("recovered", recovered, _check.finite), low_open=True))
                x = 1.0 - r
                lines += [Line("recovered", "r", "", r, "the share refilled"),
                          Line("left", "share left = 1 − r", f"1 − {num(r)}", x, "what is still there")]
            else:
                x = float(_check.rate("left", _one("left", left, _check.finite), low_open=True))
                lines.append(Line("left", "share left", "", x, "the share of the displacement still there"))
            if math.isfinite(h):
                halvings = -math.log2(x)
                lines += [Line("law", "t ÷ h = log₂(1 ÷ share left)", f"log₂(1 ÷ {num(x)})", halvings,
                               "2^{−t ÷ h} = share left, solved for t ÷ h"),
                          Line("time", "t = h × t ÷ h", f"{num(h)} × {num(halvings)}", h * halvings,
                               "seconds until only that share is left")]
            else:
                lines.append(Line("time", "t", "", math.inf, "a book that never refills: never"))
            title = f"Time until {pct(x)} of a displacement is left, half life {num(h)} s"
        return Derivation(title, tuple(lines), "resilience: the displacement decays 2^(−Δt/half life)", _SOURCE)


def _one(name: str, x: float, check: Callable[[str, ArrayLike], FloatArray]) -> float:
    """``x`` as one float passing ``check`` (a :mod:`tiermargin._check` helper naming ``name``)."""
    if np.ndim(x):
        raise ValueError(f"{name} must be one number, not an array")
    return float(check(name, x))
