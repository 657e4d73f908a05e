"""The risk (insurance) fund: a ledger of liquidation surpluses and losses, injections and ADL.

A liquidation closed better than the bankruptcy price leaves a **surplus**, which the fund keeps; one
closed worse leaves a **loss**, which the fund pays (``reference/FORMULAS.md``, "Risk (insurance) fund": fed
by liquidation surpluses and platform injections, it pays shortfalls; the source article: it absorbs
"potential losses from incomplete liquidations"). What the fund cannot pay is not dropped:
:meth:`RiskFund.record` returns it as the **shortfall**, which the venue socializes by auto-deleveraging
(:mod:`tiermargin.adl`): "if the fund cannot cover a shortfall (or breaches its drawdown threshold):
auto-deleveraging".

What a liquidation brings the fund depends on where its closed contracts are settled, a venue rule
(:attr:`~tiermargin.rules.Rulebook.settlement`, :mod:`tiermargin.liquidation`). At the **bankruptcy
price** ``B`` (the source articles) the fund books ``fill − B`` on every step: a surplus or a loss. At the
**fill** (Hyperliquid: "no clearance fee on liquidations", the user keeps "any remaining margin") the trader
keeps what the fill leaves, so a step brings the fund no surplus (a ``"surplus"`` row of 0) and a loss only
where the fill is worse than the step's bankruptcy price, where the trader's equity would go negative; what
Hyperliquid's backstop (its liquidator vault, the fund here) takes over is settled at ``B`` and brings a
surplus or a loss like any step at the bankruptcy price. Either way the amount passed to :meth:`RiskFund.record`
is the step's ``surplus``, measured against its ``settlement_price``.

The ledger is append-only: ``record`` and ``inject`` append :class:`Entry` rows, :attr:`RiskFund.entries`
returns them as a tuple, and the balance is the last row's ``balance_after``. Each row's ``amount`` is
signed (in the fund's settle currency):

* ``"surplus"`` (>= 0) and ``"injection"`` (> 0) add to the fund; ``"loss"`` (<= 0) is what the fund paid;
* ``"adl"`` (< 0) is the part of a loss the fund did *not* pay, handed to ADL: it moves no money in or out
  of the fund (its ``balance_after`` is the balance before it).

So ``balance = start_balance + Σ amount`` over every kind but ``"adl"``, and every loss passed to ``record``
is its ``"loss"`` row plus its ``"adl"`` row. The balance never goes negative.

**Drawdown threshold** (optional). Bybit triggers ADL when the drawdown over the past 8 hours reaches a set
share of the insurance fund's highest balance in that period (Bybit help "Auto-Deleveraging (ADL)
Mechanism"). With ``drawdown=d`` the fund pays losses only down to its *floor* ``(1 − d) × peak``, the peak
taken over the trailing ``drawdown_window``; the rest of a loss is the shortfall handed to ADL, exactly as
when the fund runs dry (floor 0 without a threshold, i.e. a threshold of 100 %).

**Daily reconciliation**. CoinW / OKX: "every day at 16:00 UTC+8 the platform reconciles the surpluses and
losses of all forced liquidations and ADL orders since 16:00 the previous day" (``reference/FORMULAS.md``;
the source article: "every day at 16:00 UTC+8, the platform reconciles gains and losses from all forced
exits over the past 24 hours"). :meth:`RiskFund.reconciliations` returns one :class:`Window` per day,
half-open ``[start, end)``, with the cut-off hour and UTC offset as parameters. Times are UTC epoch
seconds throughout.

Examples
--------
>>> fund = RiskFund(1_000)
>>> fund.record(0, 250)          # a liquidation filled better than bankruptcy
0.0
>>> fund.record(60, -1_500)      # a loss larger than the fund: 250 left uncovered
250.0
>>> [(e.kind, e.amount, e.balance_after) for e in fund.entries]
[('surplus', 250.0, 1250.0), ('loss', -1250.0, 0.0), ('adl', -250.0, 0.0)]
"""

from __future__ import annotations

from typing import Literal, NamedTuple, get_args

import numpy as np
from numpy.typing import ArrayLike

from . import _check
from ._check import FloatArray

Kind = Literal["surplus", "loss", "injection", "adl"]
DAY = 86_400.0
HOUR = 3_600.0


class Entry(NamedTuple):
    """One ledger row.

    Attributes
    ----------
    time : float
        UTC epoch seconds.
    kind : {"surplus", "loss", "injection", "adl"}
    amount : float
        Signed amount (see the module docstring); an ``"adl"`` row does not change the balance.
    balance_after : float
        The fund's balance after this row, >= 0.
    note : str
    """

    time: float
    kind: Kind
    amount: float
    balance_after: float
    note: str = ""


class Window(NamedTuple):
    """One daily reconciliation window ``[start, end)`` (UTC epoch seconds).

    ``surplus``, ``loss``, ``injections`` and ``adl`` are the sums of the window's rows of each kind
    (``loss`` and ``adl`` are <= 0); ``net = surplus + loss + injections`` is the change of the fund's
    balance over the window and ``balance`` the balance at its end.
    """

    start: float
    end: float
    surplus: float
    loss: float
    injections: float
    adl: float
    net: float
    balance: float


def reconciliation_cut(hour: float = 16, utc_offset: float = 8) -> float:
    """Seconds into the UTC day of a daily cut-off at ``hour`` local time, ``utc_offset`` hours from UTC.

    Parameters
    ----------
    hour : float
        Local cut-off hour in [0, 24) (CoinW / OKX: 16).
    utc_offset : float
        Hours from UTC of the local time, in [−12, 14] (CoinW / OKX: +8).

    >>> reconciliation_cut() / HOUR  # 16:00 UTC+8 is 08:00 UTC
    8.0
    """
    h = float(_check.finite("hour", hour))
    if not 0 <= h < 24:
        raise ValueError(f"hour must be in [0, 24), got {hour!r}")
    off = float(_check.finite("utc_offset", utc_offset))
    if not -12 <= off <= 14:
        raise ValueError(f"utc_offset must be in [-12, 14] hours, got {utc_offset!r}")
    return ((h - off) % 24) * HOUR


class RiskFund:
    """An append-only risk-fund ledger (see the module docstring).

    Parameters
    ----------
    start_balance : float
        Balance before the first row, >= 0.
    drawdown : float, optional
        Drawdown threshold in (0, 1): the fund pays losses only down to ``(1 − drawdown) × peak``.
        None (default): it pays down to 0 (a 100 % threshold).
    drawdown_window : float or None
        Seconds over which the peak is taken (default 8 hours, Bybit's window); None for the whole history.
    """

    def __init__(
        self, start_balance: float = 0.0, drawdown: float | None = None, drawdown_window: float | None = 8 * HOUR
    ) -> None:
        self.start_balance = float(_check.nonnegative("start_balance", start_balance))
        self.drawdown = None if drawdown is None else float(_check.rate("drawdown", drawdown, low_open=True))
        self.drawdown_window = None if drawdown_window is None else float(_check.positive("drawdown_window", drawdown_window))
        self._entries: list[Entry] = []

    @property
    def entries(self) -> tuple[Entry, ...]:
        """The ledger rows, oldest first."""
        return tuple(self._entries)

    @property
    def balance(self) -> float:
        """Current balance, >= 0."""
        return self._entries[-1].balance_after if self._entries else self.start_balance

    def balance_at(self, times: ArrayLike) -> float | FloatArray:
        """The balance just after every row at or before each of ``times`` (vectorized; a step function).

        >>> fund = RiskFund(100)
        >>> fund.record(10, 50)
        0.0
        >>> fund.balance_at([0, 10, 20]).tolist()
        [100.0, 150.0, 150.0]
        """
        t = _check.finite("times", times)
        stamps = np.array([e.time for e in self._entries])
        after = np.concatenate(([self.start_balance], [e.balance_after for e in self._entries]))
        return _check.scalar_or_array(after[np.searchsorted(stamps, t, side="right")])

    def record(self, time: float, amount: float, note: str = "") -> float:
        """Record a liquidation's result against its settlement price; return the uncovered shortfall.

        Parameters
        ----------
        time : float
            UTC epoch seconds, not before the last row.
        amount : float
            Surplus (>= 0, kept by the fund; 0 for a fill exactly at the bankruptcy price, or for a step
            settled at the fill) or loss (< 0, paid by the fund down to its :meth:`floor`).
        note : str
            Free text (e.g. which liquidation).

        Returns
        -------
        float
            The part of a loss the fund could not pay (0 if it paid all). It is also booked as an
            ``"adl"`` row; the caller hands it to ADL (:func:`tiermargin.adl.deleverage`).
        """
        t = self._time(time)
        a = float(_check.finite("amount", amount))
        if a >= 0:
            self._append(t, "surplus", a, note)
            return 0.0
        paid = min(-a, max(self.balance - self.floor(t), 0.0))
        self._append(t, "loss", 0.0 - paid, note)
        shortfall = -a - paid
        if shortfall > 0:
            self._append(t, "adl", -shortfall, note)
        return shortfall

    def inject(self, time: float, amount: float, note: str = "") -> None:
        """Record a platform injection of ``amount`` (> 0) at ``time``."""
        t = self._time(time)
        self._append(t, "injection", float(_check.positive("amount", amount)), note)

    def floor(self, time: float) -> float:
        """The balance down to which the fund pays losses at ``time``: 0, or ``(1 − drawdown) × peak``.

        The peak is the highest balance over ``(time − drawdown_window, time]``, counting the balance
        carried into the window.
        """
        t = self._time(time)
        if self.drawdown is None:
            return 0.0
        since = -np.inf if self.drawdown_window is None else t - self.drawdown_window
        carried, peak = self.start_balance, 0.0
        for e in reversed(self._entries):
            if e.time <= since:
                carried = e.balance_after
                break
            peak = max(peak, e.balance_after)
        return (1.0 - self.drawdown) * max(peak, carried)

    def floor_at(self, times: ArrayLike) -> float | FloatArray:
        """The floor (:meth:`floor`) just after every row at or before each of ``times`` (vectorized; a step
        function, for plotting the history: :meth:`floor` itself is asked at the time of a new row).

        At or after the last row it equals :meth:`floor`; before it, the rows after ``times`` are left out.

        >>> fund = RiskFund(1_000, drawdown=0.3)
        >>> fund.record(HOUR, 500)
        0.0
        >>> fund.floor_at([0, HOUR, 10 * HOUR]).tolist()
        [700.0, 1050.0, 1050.0]
        """
        t = _check.finite("times", times)
        if self.drawdown is None:
            return _check.scalar_or_array(np.zeros_like(t))
        flat = t.reshape(-1)
        stamps = np.array([e.time for e in self._entries])
        after = np.array([e.balance_after for e in self._entries])
        if self.drawdown_window is None:
            since = np.full(flat.shape, -np.inf)
            carried = np.full(flat.shape, self.start_balance)
        else:
            since = flat - self.drawdown_window
            carried = np.asarray(self.balance_at(since), dtype=np.float64).reshape(-1)
        inside = (stamps[None, :] > since[:, None]) & (stamps[None, :] <= flat[:, None])
        peak = np.max(np.where(inside, after[None, :], 0.0), axis=1, initial=0.0)
        return _check.scalar_or_array(((1.0 - self.drawdown) * np.maximum(peak, carried)).reshape(t.shape))

    def reconciliations(self, hour: float = 16, utc_offset: float = 8) -> tuple[Window, ...]:
        """Daily reconciliation windows from the first row's day to the last row's, empty days included.

        Parameters
        ----------
        hour : float
            Local cut-off hour in [0, 24) (CoinW / OKX: 16).
        utc_offset : float
            Hours from UTC of the local time, in [−12, 14] (CoinW / OKX: +8).

        Returns
        -------
        tuple of Window
            Consecutive days ``[start, start + 86,400 s)`` whose start is ``hour`` local time; every row
            lies in exactly one, and the nets add up to ``balance − start_balance``. Empty if no rows.
        """
        cut = reconciliation_cut(hour, utc_offset)  # the cut-off as UTC seconds into the day
        if not self._entries:
            return ()
        time, amount, balance = (np.array([getattr(e, f) for e in self._entries])
                                 for f in ("time", "amount", "balance_after"))
        kind = np.array([e.kind for e in self._entries])
        day = np.floor((time - cut) / DAY).astype(np.int64)
        index = day - day[0]  # non-decreasing, as times are
        n = int(index[-1]) + 1
        sums = {k: np.bincount(index, weights=np.where(kind == k, amount, 0.0), minlength=n) for k in get_args(Kind)}
        end_balance = balance[np.searchsorted(index, np.arange(n), side="right") - 1]
        starts = cut + (day[0] + np.arange(n)) * DAY
        net = sums["surplus"] + sums["loss"] + sums["injection"]
        return tuple(
            Window(float(s), float(s + DAY), *map(float, row))
            for s, *row in zip(starts, sums["surplus"], sums["loss"], sums["injection"], sums["adl"], net, end_balance)
        )

    def _time(self, time: ArrayLike) -> float:
        t = float(_check.finite("time", time))
        if self._entries and t < self._entries[-1].time:
            raise ValueError(f"time must not go backwards: got {t!r}, the last row is at {self._entries[-1].time!r}")
        return t

    def _append(self, time: float, kind: Kind, amount: float, note: str) -> None:
        change = 0.0 if kind == "adl" else amount
        self._entries.append(Entry(time, kind, amount, self.balance + change, note))

    def __repr__(self) -> str:
        return f"RiskFund(balance {self.balance:,.2f}, {len(self._entries)} rows)"
