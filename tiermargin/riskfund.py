"""The risk (insurance) fund: a ledger of liquidation surpluses and losses, injections and ADL.

A liquidation closed better than the bankruptcy price leaves a **surplus**, which the fund keeps; one
closed worse leaves a **loss**, which the fund pays (``docs/formulas.md#risk-fund-and-reconciliation``:
fed by liquidation surpluses and platform injections, it pays shortfalls; the source article: it absorbs
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

**Rounding.** The ledger is in binary floating point, not exact decimals: these identities hold to rounding.
A loss's two rows add up to it within a few units in the last place (``RiskFund(0.1).record(0, −0.45)``
books −0.1 and −0.35, which add to −0.44999999999999996: 1 ulp), and sums over a ledger to
within ``1e−9`` of the money moved (:data:`TOLERANCE`), which is what the tests assert. A venue's ledger
in cents would round each row; this one does not, so that no surplus or loss is lost below a cent.

**Drawdown threshold** (optional). Bybit triggers ADL when the drawdown over the past 8 hours reaches a set
share of the insurance fund's highest balance in that period (Bybit help "Auto-Deleveraging (ADL)
Mechanism"). With ``drawdown=d`` the fund pays losses only down to its *floor* ``(1 − d) × peak``, the peak
taken over the trailing ``drawdown_window``; the rest of a loss is the shortfall handed to ADL, exactly as
when the fund runs dry (floor 0 without a threshold, i.e. a threshold of 100 %).

**Daily reconciliation**. CoinW / OKX reconcile, every day at 16:00 UTC+8, the surpluses and losses of all
forced liquidations and ADL orders since 16:00 the previous day (``docs/formulas.md#risk-fund-and-reconciliation``;
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

from typing import TYPE_CHECKING, Literal, NamedTuple, get_args

import numpy as np
from numpy.typing import ArrayLike

from . import _check
from ._check import FloatArray
from .derivation import Derivation, Line, num, pct

if TYPE_CHECKING:
    from .liquidation import LiquidationLog

Kind = Literal["surplus", "loss", "injection", "adl"]
DAY = 86_400.0
TOLERANCE = 1e-9
"""Relative tolerance of the ledger's identities (balance = start + Σ amounts, loss = loss row + ADL row),
against the money moved: floating-point rounding, documented rather than hidden (module docstring)."""
MAX_DAYS = 36_600
"""The most days :meth:`RiskFund.reconciliations` lists (100 years: rows 10¹² s apart would be 11.6 million)."""
HOUR = 3_600.0
_SOURCE = ("docs/formulas.md#risk-fund-and-reconciliation (source article: it absorbs 'potential losses from "
           "incomplete liquidations'); Bybit help 'Auto-Deleveraging (ADL) Mechanism' (drawdown threshold)")


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
    h = _check.one_number("hour", hour)
    if not 0 <= h < 24:
        raise ValueError(f"hour must be in [0, 24), got {hour!r}")
    off = _check.one_number("utc_offset", utc_offset)
    if not -12 <= off <= 14:
        raise ValueError(f"utc_offset must be in [-12, 14] hours, got {utc_offset!r}")
    return ((h - off) % 24) * HOUR


def _open_rate(name: str, x: ArrayLike) -> FloatArray:
    return _check.rate(name, x, low_open=True)


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
        self.start_balance = _check.one_number("start_balance", start_balance, _check.nonnegative)
        self.drawdown = None if drawdown is None else _check.one_number("drawdown", drawdown, _open_rate)
        self.drawdown_window = (None if drawdown_window is None
                                else _check.one_number("drawdown_window", drawdown_window, _check.positive))
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
        a = _check.one_number("amount", amount)
        _check.text("note", note)
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
        a = _check.one_number("amount", amount, _check.positive)
        _check.text("note", note)
        self._append(t, "injection", a, note)

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
        """Daily reconciliation windows from the first row's day to the last row's, empty days included
        (at most :data:`MAX_DAYS`: a longer ledger is refused, not listed for minutes).

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
        span = np.floor((time[-1] - cut) / DAY) - np.floor((time[0] - cut) / DAY) + 1  # in floats: no overflow
        if span > MAX_DAYS:
            raise ValueError(f"the ledger's rows span {span:,.0f} days; reconciliations lists every day, at most "
                             f"{MAX_DAYS:,} (100 years): check the rows' times (seconds)")
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

    # ------------------------------------------------------------------ explaining a row
    def explain(self, row: int, log: LiquidationLog | None = None, step: int | None = None) -> Derivation:
        """How ledger row ``row`` was booked, redone by hand: the balance before, the amount, the balance after.

        A ``"surplus"`` or ``"injection"`` row adds its amount. A ``"loss"`` row is what the fund paid of the
        loss recorded: ``paid = min(|loss|, max(balance − floor, 0))``, with the floor ``(1 − drawdown) × peak``
        (the peak over the trailing window, each balance listed) or 0; the ``"adl"`` row after it is the rest,
        ``|loss| − paid``, handed to ADL, and moves no money. The last line is the row's ``balance_after``.

        Given the liquidation ``log`` and its ``step`` whose result was recorded in this row, the amount is
        derived from the step: the contracts closed, the settlement price and the fill, and the fund's result
        ``UPL(side, ΔQ, settlement price, fill)`` (:func:`~tiermargin.liquidation.surplus_lines`).

        Parameters
        ----------
        row : int
            Index of the row in :attr:`entries` (negative counts from the end).
        log : LiquidationLog, optional
            The liquidation whose step was recorded in ``row`` (given with ``step``).
        step : int, optional
            Index of that event in ``log.events``.

        Raises
        ------
        ValueError
            If ``row`` is not an index of the ledger, only one of ``log`` and ``step`` is given, the row is not
            a liquidation's (a ``"surplus"``, ``"loss"`` or ``"adl"`` row) or the step's result is not the amount
            recorded in it.

        Examples
        --------
        >>> fund = RiskFund(1_000, drawdown=0.5)
        >>> fund.record(0, 250)
        0.0
        >>> fund.record(60, -1_500)          # pays down to the floor 50 % × 1,250
        875.0
        >>> d = fund.explain(1)
        >>> print(d.line("paid").text())
        paid = min(|loss|, available) = min(1,500, 625) = 625
        >>> d.result == fund.entries[1].balance_after
        True
        """
        n = len(self._entries)
        if isinstance(row, bool) or not isinstance(row, (int, np.integer)) or not -n <= row < n:
            raise ValueError(f"row must be an index of the ledger's {n} rows, got {row!r}")
        if (log is None) != (step is None):
            raise ValueError("log and step must be given together (the liquidation step recorded in the row)")
        i = int(row) % n
        e = self._entries[i]
        k = i - 1 if e.kind == "adl" else i  # the row the record call started with
        before = self._entries[k - 1].balance_after if k > 0 else self.start_balance
        lines = [Line("row", "", "", None, f"row {i + 1} of {n}: {e.kind} at {e.time:,.10g} s" + (f" ({e.note})" if e.note else "")),
                 Line("balance_before", "balance before", "", before,
                      f"row {k}'s balance after" if k > 0 else "the start balance")]
        if log is not None:
            lines += self._step_lines(e, k, log, step)
            recorded = float(lines[-1].value)
        elif e.kind in ("loss", "adl"):
            adl = self._entries[k + 1].amount if k + 1 < n and self._entries[k + 1].kind == "adl" else 0.0
            recorded = self._entries[k].amount + adl
            lines.append(Line("recorded", "loss recorded = loss row + ADL row", f"{num(self._entries[k].amount)} + {num(adl)}",
                              recorded))
        else:
            recorded = e.amount
            lines.append(Line("recorded", f"{e.kind} recorded", "", recorded))
        if e.kind in ("surplus", "injection"):
            lines.append(Line("balance_after", "balance after = balance before + amount",
                              f"{num(before)} + {num(recorded)}", before + recorded))
            rule = ("a surplus is kept by the fund" if e.kind == "surplus" else "a platform injection adds to the fund")
            return Derivation(f"Risk fund row {i + 1}: {e.kind}", tuple(lines), rule, _SOURCE)
        lines += self._paid_lines(k, -recorded)
        paid = float(lines[-1].value)
        if e.kind == "adl":
            lines.append(Line("shortfall", "shortfall = |loss| − paid", f"{num(-recorded)} − {num(paid)}", -recorded - paid,
                              "handed to ADL: it moves no money"))
        lines.append(Line("balance_after", "balance after = balance before − paid", f"{num(before)} − {num(paid)}",
                          before - paid, "the ADL row leaves the balance after the loss row" if e.kind == "adl" else ""))
        rule = "the fund pays a loss down to its floor, " + (
            f"(1 − {pct(self.drawdown)}) × the peak over the trailing window (a drawdown threshold)" if self.drawdown
            is not None else "0 (no drawdown threshold)") + "; what it cannot pay goes to ADL"
        return Derivation(f"Risk fund row {i + 1}: {e.kind}", tuple(lines), rule, _SOURCE)

    def explain_reconciliation(self, day: int, hour: float = 16, utc_offset: float = 8) -> Derivation:
        """How one daily reconciliation window (:meth:`reconciliations`) adds up, by hand from the rows.

        The window ``[start, end)``, the balance carried into it, each kind's sum over the rows in it (the
        ``"adl"`` rows listed but moving no money), ``net = surplus + loss + injections`` and the balance at
        its end, ``balance carried in + net``: the last line, equal to the window's ``balance``.

        Parameters
        ----------
        day : int
            Index of the window in :meth:`reconciliations` (negative counts from the end).
        hour, utc_offset : float
            As in :meth:`reconciliations`.

        Examples
        --------
        >>> fund = RiskFund(1_000)
        >>> fund.record(0, 250); fund.record(60, -1_500)
        0.0
        250.0
        >>> d = fund.explain_reconciliation(0)
        >>> print(d.line("net").text()); d.result == fund.reconciliations()[0].balance
        net = surplus + loss + injections = 250 + −1,250 + 0 = −1,000
        True
        """
        windows = self.reconciliations(hour, utc_offset)
        n = len(windows)
        if isinstance(day, bool) or not isinstance(day, (int, np.integer)) or not -n <= day < n:
            raise ValueError(f"day must be an index of the ledger's {n} reconciliation windows, got {day!r}")
        w = windows[int(day) % n]
        rows = [e for e in self._entries if w.start <= e.time < w.end]
        earlier = [e for e in self._entries if e.time < w.start]
        carried = earlier[-1].balance_after if earlier else self.start_balance
        sums = {k: sum(e.amount for e in rows if e.kind == k) for k in get_args(Kind)}
        lines = [Line("window", "", "", None, f"day {int(day) % n + 1} of {n}: [{num(w.start)}, {num(w.end)}) UTC "
                                              f"seconds, {len(rows)} rows"),
                 Line("carried", "balance carried in", "", carried,
                      "the balance after the last earlier row" if earlier else "the start balance")]
        for k in get_args(Kind):
            amounts = [e.amount for e in rows if e.kind == k]
            shown = " + ".join(num(a) for a in amounts[:8]) + (" + …" if len(amounts) > 8 else "")
            lines.append(Line(k, f"Σ {k}", shown if len(amounts) > 1 else "", sums[k],
                              "handed to ADL: moves no money" if k == "adl" else ""))
        net = sums["surplus"] + sums["loss"] + sums["injection"]
        lines += [Line("net", "net = surplus + loss + injections",
                       f"{num(sums['surplus'])} + {num(sums['loss'])} + {num(sums['injection'])}", net),
                  Line("balance", "balance at the end = carried in + net", f"{num(carried)} + {num(net)}", carried + net)]
        return Derivation(f"Risk fund reconciliation, day {int(day) % n + 1}", tuple(lines),
                          f"daily reconciliation at {hour:g}:00 UTC{utc_offset:+g} of every liquidation's surplus and "
                          "loss since the previous cut-off",
                          "CoinW / OKX: 'every day at 16:00 UTC+8 the platform reconciles the surpluses and losses of "
                          "all forced liquidations and ADL orders since 16:00 the previous day'")

    def explain_reconciliations(self, hour: float = 16, utc_offset: float = 8) -> Derivation:
        """Every window's net of :meth:`reconciliations`, by hand: one line ``item_k`` per window,
        ``net = surplus + loss + injections`` from its rows (:meth:`explain_reconciliation` details one).

        Examples
        --------
        >>> fund = RiskFund(1_000)
        >>> fund.record(0, 250); fund.record(30 * 3_600, -400)
        0.0
        0.0
        >>> d = fund.explain_reconciliations()
        >>> [d.line(f"item_{k}").value for k in (1, 2)] == [w.net for w in fund.reconciliations()]
        True
        """
        windows = self.reconciliations(hour, utc_offset)
        lines = []
        for k in range(len(windows)):
            d = self.explain_reconciliation(k, hour, utc_offset)
            su, lo, inj = (float(d.line(x).value) for x in ("surplus", "loss", "injection"))
            lines.append(Line(f"item_{k + 1}", f"net_{k + 1} = surplus + loss + injections",
                              f"{num(su)} + {num(lo)} + {num(inj)}", su + lo + inj, d.line("window").why))
        return Derivation(f"Risk fund reconciliation, {len(windows)} windows", tuple(lines),
                          f"daily reconciliation at {hour:g}:00 UTC{utc_offset:+g}: each window [cut-off, next cut-off) "
                          "nets its rows", "CoinW / OKX daily reconciliation")

    def _step_lines(self, e: Entry, k: int, log: LiquidationLog, step: int) -> list[Line]:
        """The fund's result of the liquidation step recorded in row ``k``, checked against the row."""
        from .liquidation import LiquidationLog, surplus_lines

        if not isinstance(log, LiquidationLog):
            raise TypeError(f"log must be a LiquidationLog (what liquidate returns), got {type(log).__name__}")
        if e.kind == "injection":
            raise ValueError("an injection row is not a liquidation's: do not pass log and step")
        n = len(log.events)
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or not -n <= step < n:
            raise ValueError(f"step must be an index of the log's {n} events, got {step!r}")
        ev = log.events[int(step) % n]
        if ev.execution_price is None or ev.settlement_price is None:
            raise ValueError(f"step {step} of the log closes no contracts ({ev.action!r}): the fund records nothing")
        c, side = log.start.table.contract, float(log.start.side)
        lines = [Line("closed", "ΔQ", "", ev.contracts_closed, f"step {int(step) % n + 1}: {ev.action} at mark "
                                                               f"{num(ev.mark)}"),
                 Line("settlement_price", "S", "", ev.settlement_price, "where the closed contracts were settled"),
                 Line("fill", "F", "", ev.execution_price, "where the venue sold them")]
        lines += surplus_lines(c, side, ev.contracts_closed, ev.settlement_price, ev.execution_price)
        booked = self._entries[k].amount + (self._entries[k + 1].amount if k + 1 < len(self._entries)
                                            and self._entries[k + 1].kind == "adl" else 0.0)
        got = float(lines[-1].value)
        if (got >= 0) != (e.kind == "surplus") or not np.isclose(got, booked, rtol=1e-9, atol=1e-9 * max(1.0, abs(booked))):
            raise ValueError(f"step {step}'s result {got:,.10g} is not the amount recorded in row {k + 1} "
                             f"({booked:,.10g}): pass the log and step that row records")
        return lines

    def _paid_lines(self, k: int, loss: float) -> list[Line]:
        """What the fund paid of ``loss`` (> 0) recorded in row ``k``: the floor from the rows before it, by hand."""
        t = self._entries[k].time
        balance = self._entries[k - 1].balance_after if k > 0 else self.start_balance
        lines: list[Line] = []
        if self.drawdown is None:
            floor = 0.0
            lines.append(Line("floor", "floor", "", 0.0, "no drawdown threshold: the fund pays down to 0"))
        else:
            since = -np.inf if self.drawdown_window is None else t - self.drawdown_window
            carried, inside = self.start_balance, []
            for e in reversed(self._entries[:k]):
                if e.time <= since:
                    carried = e.balance_after
                    break
                inside.append(e.balance_after)
            peak = max([carried, *inside])
            shown = ", ".join(num(b) for b in [carried, *inside[::-1]][:8]) + (", …" if len(inside) > 7 else "")
            window = "the whole history" if self.drawdown_window is None else f"({num(since)}, {num(t)}] s"
            lines += [Line("peak", "peak = max(balance carried in, balances in the window)", f"max({shown})", peak,
                           f"window {window}"),
                      Line("floor", "floor = (1 − drawdown) × peak", f"(1 − {pct(self.drawdown)}) × {num(peak)}",
                           (1.0 - self.drawdown) * peak, "Bybit: ADL when the drawdown reaches a share of the peak")]
            floor = float(lines[-1].value)
        available = max(balance - floor, 0.0)
        lines += [Line("available", "available = max(balance − floor, 0)", f"max({num(balance)} − {num(floor)}, 0)", available),
                  Line("paid", "paid = min(|loss|, available)", f"min({num(loss)}, {num(available)})", min(loss, available))]
        return lines

    def _time(self, time: ArrayLike) -> float:
        t = _check.one_number("time", time)
        if self._entries and t < self._entries[-1].time:
            raise ValueError(f"time must not go backwards: got {t!r}, the last row is at {self._entries[-1].time!r}")
        return t

    def _append(self, time: float, kind: Kind, amount: float, note: str) -> None:
        change = 0.0 if kind == "adl" else amount
        self._entries.append(Entry(time, kind, amount, self.balance + change, note))

    def __repr__(self) -> str:
        return f"RiskFund(balance {self.balance:,.2f}, {len(self._entries)} rows)"
