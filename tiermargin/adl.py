"""Auto-deleveraging (ADL): who is closed out when the risk fund cannot cover a liquidation, and at what price.

When a liquidated position cannot be closed better than its bankruptcy price and the risk fund cannot pay
the loss (:meth:`tiermargin.riskfund.RiskFund.record` returns the shortfall), the venue closes the
position's remaining contracts against **opposite-side** positions, in ranking order, **at the bankruptcy
price** of the liquidated position (BitMEX "Auto-Deleveraging": "the price at which a trader's positions
are closed out is the bankruptcy price of the initial liquidated order"; Bybit and Binance likewise;
Hyperliquid closes "at the previous mark price" — pass that price instead).
``docs/formulas.md#auto-deleveraging-adl``.

**Rankings**, vectorized; :func:`scores` evaluates any of them for isolated positions at a mark price:

* ``"pnl-leverage"`` (BitMEX, Bybit; MEXC publishes the same): :func:`pnl_leverage_score`;
* ``"binance"``: :func:`binance_score`;
* ``"hyperliquid"``: :func:`hyperliquid_score`.

**Candidates** (:func:`candidates`): positions on the side opposite the liquidated one with an unrealized
*profit* at the mark. Bybit selects "the opposing profitable positions", Hyperliquid sorts "the affected
users in profit", Binance's score is 0 without a profit; BitMEX also ranks losing positions, but below every
profitable one (their score is negative), so they would only be reached after all profitable ones.

**Lights** (:func:`lights`): BitMEX shows the queue position "in 20 % increments": candidates in queue order,
each at the share of the candidates' contracts up to and including its own, rounded up to 20 %; 5 lights for
the first 20 %, 1 for the last (BitMEX "Auto-Deleveraging Further Information": six longs of 10, 10, 20,
30, 20 and 10 contracts are at 20 %, 40 %, 60 %, 80 %, 80 % and 100 % in queue order). So a position holding
more than 20 % of the queue's contracts shows fewer than 5 lights even when first; a lone candidate shows 1.

**Money**. :func:`deleverage` is one trade at one price ``B`` between the liquidated side and its
counterparties, so measured from any common price ``P`` it is zero-sum: what the counterparties realize
below their PnL at ``P``, ``Σ pnl_i − UPL_i(P)``, is ``−UPL(side, filled, P, B)``, what the liquidated side
gets above ``P``. With ``P`` a mark beyond bankruptcy that is the liquidated position's negative equity on
the deleveraged contracts: the counterparties bear exactly the loss the fund did not pay (deleverage
:func:`adl_qty` ``= Q·shortfall/|loss|`` of ``Q`` contracts whose loss the fund paid only in part).

**Rounding**. The queue is filled in binary floating point, as the risk fund's ledger is kept
(:data:`tiermargin.riskfund.TOLERANCE`), so ``Σ fills + unmatched = qty`` holds to rounding, not exactly.
The tolerance is the same, relative to the contracts to deleverage: a candidate that would keep at most
``TOLERANCE × qty`` of its contracts (a rounding remainder, e.g. of ``0.1 + 0.2``) is closed in full, so
the fills may exceed ``qty`` by that much; in exchange ``unmatched`` is never a rounding remainder left
over while a candidate still holds contracts: it is > 0 only when every eligible candidate is closed in
full (:func:`deleverage`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple, get_args

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _check
from ._check import FloatArray
from .contracts import LINEAR_USDT, Contract
from .derivation import Derivation, Line, num
from .isolated import IsolatedPosition
from .isolated_derivations import _equity_lines, _mm_lines, _value_line
from .riskfund import TOLERANCE as _FUND_TOLERANCE
from .rules import Ranking

TOLERANCE = _FUND_TOLERANCE
"""Relative tolerance of the ADL queue, against the contracts to deleverage (the risk fund's,
:data:`tiermargin.riskfund.TOLERANCE`): a candidate's remainder at most ``TOLERANCE × qty`` is taken with
its fill (module docstring, "Rounding")."""


def pnl_leverage_score(
    upnl: ArrayLike, entry_value: ArrayLike, mark_value: ArrayLike, equity: ArrayLike
) -> float | FloatArray:
    """BitMEX / Bybit ranking: ``PnL% × effective leverage`` (``PnL% / effective leverage`` when PnL% < 0).

    BitMEX "Auto-Deleveraging": "PNL percentage = (Mark Value − Avg Entry Value)/abs(Avg Entry Value)",
    "Effective Leverage = abs(Mark Value)/(Mark Value − Bankrupt Value)". So PnL% is the unrealized PnL
    over the position's value at entry (a return on the notional, not on the margin: the leverage factor
    carries the margin), and since equity is zero at the bankruptcy price and moves with the signed value,
    ``Mark Value − Bankrupt Value`` is the equity at the mark: effective leverage = value/(margin + UPL).

    Parameters
    ----------
    upnl : float or array
        Unrealized PnL at the mark.
    entry_value, mark_value : float or array
        Position value (notional, > 0) at the entry and at the mark price.
    equity : float or array
        Margin + UPL at the mark, > 0 (a position with no equity left is bankrupt, not a candidate).
    """
    u = _check.finite("upnl", upnl)
    pnl = u / _check.positive("entry_value", entry_value)
    leverage = _check.positive("mark_value", mark_value) / _check.positive("equity", equity)
    return _check.scalar_or_array(np.where(pnl >= 0, pnl * leverage, pnl / leverage))


def binance_score(upnl: ArrayLike, wallet: ArrayLike, maintenance: ArrayLike) -> float | FloatArray:
    """Binance ranking "LeveragePnl" = ``max(0, UPL)/max(1, wallet) × margin ratio``.

    Binance FAQ "What Is Auto-Deleveraging (ADL) and How Does It Work": "Pnl Percent = max(0, Unrealized
    Profit)/max(1, Wallet Balance)"; "Margin Ratio = Maintenance Margin/(Wallet Balance + Unrealized
    Profit)", 0 when ``Wallet Balance + Unrealized Profit <= 0``. The margin ratio is Binance's displayed
    one (:class:`~tiermargin.isolated.MarginRatios`); the floor 1 is one unit of the settle currency.

    Parameters
    ----------
    upnl : float or array
        Unrealized PnL at the mark.
    wallet : float or array
        Wallet balance: the isolated margin of an isolated position, the cross wallet balance otherwise.
    maintenance : float or array
        Maintenance margin, >= 0.
    """
    u = _check.finite("upnl", upnl)
    w = _check.finite("wallet", wallet)
    mm = _check.nonnegative("maintenance", maintenance)
    balance = w + u
    ratio = np.where(balance > 0, mm / np.where(balance > 0, balance, 1.0), 0.0)
    return _check.scalar_or_array(np.maximum(u, 0.0) / np.maximum(w, 1.0) * ratio)


def hyperliquid_score(
    side: ArrayLike | str, entry: ArrayLike, mark: ArrayLike, notional: ArrayLike, account_value: ArrayLike
) -> float | FloatArray:
    """Hyperliquid ranking ``(mark/entry) × (notional/account value)``, with ``entry/mark`` for a short.

    Hyperliquid docs "Auto-deleveraging": "the specific sorting index to determine the affected users in
    profit is (mark_price / entry_price) * (notional_position / account_value)"; the users are "ranked by
    unrealized pnl and leverage used". Read literally, the price factor would rank a short *lower* the more
    it gains, so for a short the ratio is inverted, ``(mark/entry)^side``: the price move in the position's
    favour, as for a long.

    Parameters
    ----------
    side : "long", "short", +1 or -1 (or array)
    entry, mark : float or array
        Entry and mark price, > 0.
    notional : float or array
        Position value at the mark, >= 0.
    account_value : float or array
        Account value (cross) or isolated position value (margin + UPL), > 0.
    """
    s = _check.side("side", side)
    move = _check.positive("mark", mark) / _check.positive("entry", entry)
    leverage = _check.nonnegative("notional", notional) / _check.positive("account_value", account_value)
    return _check.scalar_or_array(move**s * leverage)


def scores(positions: IsolatedPosition, mark: ArrayLike, ranking: Ranking = "pnl-leverage") -> float | FloatArray:
    """The ADL score of isolated positions at ``mark`` under a venue's ranking (higher: deleveraged first).

    The terms come from the positions: value at entry and at the mark, UPL and equity (margin + UPL) at the
    mark; Binance's wallet balance is the isolated margin and its maintenance margin the position's tiered MM.

    Parameters
    ----------
    positions : IsolatedPosition
        One position or arrays of them.
    mark : float or array
        Mark price, > 0; broadcasts against the positions.
    ranking : {"pnl-leverage", "binance", "hyperliquid"}
    """
    _check.one_of("ranking", ranking, get_args(Ranking))
    mark = _at_mark(positions, mark)
    upnl = positions.upnl(mark)
    if ranking == "binance":
        return binance_score(upnl, positions.margin, positions.maintenance_margin(mark))
    value, equity = positions.value(mark), positions.equity(mark)
    if ranking == "hyperliquid":
        return hyperliquid_score(positions.side, positions.entry, mark, value, equity)
    return pnl_leverage_score(upnl, positions.value(positions.entry), value, equity)


def candidates(positions: IsolatedPosition, mark: ArrayLike, liquidated_side: ArrayLike | str) -> NDArray[np.bool_]:
    """Which positions may be deleveraged against a liquidated ``liquidated_side`` position: those on the
    opposite side with an unrealized profit (> 0) at ``mark`` (see the module docstring)."""
    m = _at_mark(positions, mark)
    s = _one_side("liquidated_side", liquidated_side)
    return np.asarray((positions.side == -s) & (np.asarray(positions.upnl(m)) > 0))


def _at_mark(positions: IsolatedPosition, mark: ArrayLike) -> FloatArray:
    """``mark`` checked (> 0, broadcasting against ``positions``, checked to be IsolatedPosition(s))."""
    if not isinstance(positions, IsolatedPosition):
        raise TypeError(f"positions must be IsolatedPosition(s), got {type(positions).__name__}")
    m = _check.positive("mark", mark)
    try:
        np.broadcast_shapes(m.shape, positions.shape)
    except ValueError:
        raise ValueError(f"mark must broadcast against the positions' shape {positions.shape}, got shape {m.shape}") \
            from None
    return m


def _one_side(name: str, side: ArrayLike | str) -> FloatArray:
    """One side (+1 or −1), not an array of them."""
    s = _check.side(name, side)
    if s.ndim:
        raise ValueError(f"{name} must be one side, got {side!r}")
    return s


def lights(score: ArrayLike, candidate_qty: ArrayLike, eligible: ArrayLike | None = None) -> NDArray[np.intp]:
    """BitMEX-style quintile lights: 5 for the first 20 % of the candidates' contracts in the queue, 1 for the
    last 20 %, 0 for positions that are not candidates.

    Parameters
    ----------
    score : array
        Ranking score per position (higher first; ties: lower index first).
    candidate_qty : array
        Contracts per position, > 0.
    eligible : array of bool, optional
        Which positions are candidates (default all; see :func:`candidates`).

    Examples
    --------
    BitMEX "Auto-Deleveraging Further Information", six longs:

    >>> lights([3, 6, 1, 4, 5, 2], [10, 10, 20, 30, 20, 10]).tolist()
    [2, 5, 1, 3, 4, 2]
    """
    order, qty = _queue(score, candidate_qty, eligible)
    out = np.zeros(qty.shape, dtype=np.intp)
    if order.size:
        through = np.cumsum(qty[order])
        out[order] = 6 - np.ceil(5 * (through / through[-1])).astype(np.intp)  # shares <= 1, the last exactly 1
    return out


class Deleveraging(NamedTuple):
    """Result of :func:`deleverage`.

    Attributes
    ----------
    who : array of int
        Indices of the counterparties filled, in fill (queue) order.
    qty : array
        Contracts closed from each (> 0, at most its position).
    price : float
        The price of every fill: the liquidated position's bankruptcy price.
    pnl : array
        PnL each counterparty realizes on those contracts against its entry, in the settle currency.
    unmatched : float
        Contracts left when the candidates ran out (0 when the queue filled the request): > 0 only when
        every eligible candidate is closed in full.
    """

    who: NDArray[np.intp]
    qty: FloatArray
    price: float
    pnl: FloatArray
    unmatched: float


def deleverage(
    side: ArrayLike | str,
    qty: float,
    bankruptcy_price: float,
    candidate_qty: ArrayLike,
    candidate_entry: ArrayLike,
    score: ArrayLike,
    eligible: ArrayLike | None = None,
    contract: Contract = LINEAR_USDT,
) -> Deleveraging:
    """Close ``qty`` contracts of a liquidated ``side`` position against the ADL queue at its bankruptcy price.

    The candidates are positions on the opposite side; they are filled in score order (highest first, ties by
    index), each at most its own size, the last one partially, until ``qty`` is matched. What the candidates
    cannot absorb is returned as ``unmatched``, never dropped. BitMEX's example: a short of 20 contracts
    liquidated at 650 is matched with the first in the queue (10 contracts, fully closed) and 10 of the
    second's 20.

    Rounding (module docstring): a candidate that would keep at most :data:`TOLERANCE` ``× qty`` contracts
    is closed in full, so the fills add up to ``qty − unmatched`` within ``TOLERANCE × qty`` (above it by at
    most that), and ``unmatched`` > 0 only when every eligible candidate is closed in full: when ``qty``
    is the candidates' total, nothing is reported unmatched while one of them keeps a rounding remainder.

    Parameters
    ----------
    side : "long" or "short" (or +1/-1)
        The liquidated position's side; every candidate is on the other side.
    qty : float
        Contracts to deleverage, > 0.
    bankruptcy_price : float
        The liquidated position's bankruptcy price, > 0 (Hyperliquid: the previous mark price).
    candidate_qty, candidate_entry, score : array
        Per candidate: contracts (> 0), entry price (> 0) and ranking score; broadcast to one dimension.
    eligible : array of bool, optional
        Which candidates may be deleveraged (default all; see :func:`candidates`).
    contract : Contract
        The instrument, for PnL in the settle currency (:meth:`Contract.upnl`).

    Examples
    --------
    >>> r = deleverage("short", 20, 650, [10, 10, 20, 30, 20, 10], 600, [3, 6, 1, 4, 5, 2])
    >>> r.who.tolist(), r.qty.tolist(), r.pnl.tolist(), r.unmatched
    ([1, 4], [10.0, 10.0], [500.0, 500.0], 0.0)
    """
    s, need, price, order, cq, entry = _checked_queue(side, qty, bankruptcy_price, candidate_qty, candidate_entry,
                                                      score, eligible, contract)
    queued = cq[order]
    through = np.concatenate(([0.0], np.cumsum(queued)))  # contracts before each in the queue, then the total
    fill = np.minimum(queued, np.maximum(need - through[:-1], 0.0))
    dust = (fill > 0) & (queued - fill <= TOLERANCE * need)  # a remainder within the tolerance is taken too
    fill[dust] = queued[dust]
    take = np.zeros(cq.shape)
    take[order] = fill
    pnl = np.asarray(contract.upnl(-s, take, entry, price))
    who = order[take[order] > 0]
    return Deleveraging(who, take[who], price, pnl[who], max(need - float(through[-1]), 0.0))


def adl_qty(closed: ArrayLike, shortfall: ArrayLike, loss: ArrayLike) -> float | FloatArray:
    """Contracts to deleverage when the fund paid a liquidation loss only in part: ``closed × shortfall / |loss|``.

    A liquidation step takes ``closed`` contracts over at the bankruptcy price ``B`` and its fill would lose
    ``loss`` (< 0) against ``B``; the fund pays ``|loss| − shortfall`` (:meth:`~tiermargin.riskfund.RiskFund.record`).
    The venue then sells only the share of the contracts whose loss the fund paid, and closes the rest against
    the ADL queue *at* ``B`` (no loss on them): selling ``(1 − a)·closed`` loses ``(1 − a)·loss``, which equals
    the amount paid when ``a = shortfall/|loss|`` (the loss of a fill is proportional to the contracts at a
    given average fill price; with a price-impact book a smaller sale fills slightly better, which this
    proportional rule leaves to the fund's favour).

    Parameters
    ----------
    closed : float or array
        Contracts the liquidation step closed, > 0.
    shortfall : float or array
        What the fund did not pay, in ``[0, |loss|]``.
    loss : float or array
        The step's result against the bankruptcy price, < 0.

    Examples
    --------
    A step closes 10 contracts at a loss of 1,500; the fund could pay 1,200, so 300 is short:

    >>> adl_qty(10, 300, -1_500)
    2.0
    """
    c = _check.positive("closed", closed)
    s = _check.nonnegative("shortfall", shortfall)
    lost = -np.asarray(_check.finite("loss", loss), dtype=np.float64)
    if np.any(lost <= 0):
        raise ValueError(f"loss must be < 0 (a loss against the bankruptcy price), got {loss!r}")
    if np.any(s > lost * (1 + 1e-12)):
        raise ValueError(f"shortfall must not exceed |loss|, got shortfall {shortfall!r} and loss {loss!r}")
    return _check.scalar_or_array(c * np.minimum(s / lost, 1.0))


def _checked_queue(side: ArrayLike | str, qty: float, bankruptcy_price: float, candidate_qty: ArrayLike,
                   candidate_entry: ArrayLike, score: ArrayLike, eligible: ArrayLike | None, contract: Contract
                   ) -> tuple[FloatArray, float, float, NDArray[np.intp], FloatArray, FloatArray]:
    """:func:`deleverage`'s arguments checked: the side, the request, the price, the queue order, the
    candidates' contracts and their entries broadcast to them."""
    s = _one_side("side", side)
    need = _check.one_number("qty", qty, _check.positive)
    price = _check.one_number("bankruptcy_price", bankruptcy_price, _check.positive)
    if not isinstance(contract, Contract):
        raise TypeError(f"contract must be a Contract, got {type(contract).__name__}")
    order, cq = _queue(score, candidate_qty, eligible)
    entry = _check.positive("candidate_entry", candidate_entry)
    try:
        entry = np.broadcast_to(entry, cq.shape)
    except ValueError:
        raise ValueError("candidate_entry must broadcast with candidate_qty and score") from None
    return s, need, price, order, cq, entry


def _queue(score: ArrayLike, candidate_qty: ArrayLike, eligible: ArrayLike | None) -> tuple[NDArray[np.intp], FloatArray]:
    """The eligible candidates' indices in queue order (score descending, ties by index) and the quantities."""
    arrays = [_check.finite("score", score), _check.positive("candidate_qty", candidate_qty)]
    if eligible is not None:
        ok = np.asarray(eligible)
        if ok.dtype != np.bool_:
            raise ValueError(f"eligible must be booleans, got dtype {ok.dtype}")
        arrays.append(ok)
    try:
        sc, qty, *rest = (np.atleast_1d(a) for a in np.broadcast_arrays(*arrays))
    except ValueError:
        raise ValueError("score, candidate_qty and eligible must broadcast together") from None
    if sc.ndim != 1:
        raise ValueError(f"candidates must be one-dimensional (one score per position), got shape {sc.shape}")
    index = np.flatnonzero(rest[0]) if rest else np.arange(sc.size)
    return index[np.argsort(-sc[index], kind="stable")], qty


# ---------------------------------------------------------------------- explaining a score
_RANKING = {
    "pnl-leverage": ("PnL% × effective leverage (PnL% ÷ effective leverage when PnL% < 0), PnL% = UPL ÷ value at "
                     "entry, effective leverage = value at the mark ÷ equity",
                     "BitMEX 'Auto-Deleveraging' ('PNL percentage', 'Effective Leverage'); Bybit; MEXC"),
    "binance": ("max(0, UPL) ÷ max(1, wallet) × margin ratio, margin ratio = MM ÷ (wallet + UPL), 0 when that is ≤ 0",
                "Binance FAQ 'What Is Auto-Deleveraging (ADL) and How Does It Work'"),
    "hyperliquid": ("(mark ÷ entry)^s × (notional ÷ account value), the price factor inverted for a short",
                    "Hyperliquid docs 'Auto-deleveraging'"),
}


def explain_score(positions: IsolatedPosition, mark: float, ranking: Ranking = "pnl-leverage", index: int | None = None,
                  liquidated_side: str | float | None = None) -> Derivation:
    """How one position's ADL score is computed under ``ranking``, redone by hand, and its place in the queue.

    The inputs (UPL, values at entry and at the mark, equity, wallet, maintenance margin), each factor and
    the score; the last line is the score, equal to :func:`scores` for that position. Among ``positions``
    (an array of them) its rank in the queue is given with the score: highest score first, ties by index,
    among the candidates (:func:`candidates`) when ``liquidated_side`` is given.

    Parameters
    ----------
    positions : IsolatedPosition
        One position, or a one-dimensional array of them (then ``index`` picks one).
    mark : float
        Mark price, > 0.
    ranking : {"pnl-leverage", "binance", "hyperliquid"}
    index : int, optional
        Which position of the array (required for an array, not given for one position).
    liquidated_side : "long", "short", +1 or -1, optional
        The liquidated position's side: the queue is then the candidates against it.

    Raises
    ------
    ValueError
        Naming the parameter: a bad ``mark``, ``ranking``, ``index`` or ``liquidated_side``; or ``positions``
        with no equity at the mark under a ranking that divides by it.

    Examples
    --------
    BitMEX's terms for a short of 10 contracts from 600 with 300 of margin, at a mark of 500:

    >>> from tiermargin import TierTable
    >>> p = IsolatedPosition.open(TierTable.single(0.005, max_leverage=100), "short", [10, 20], 600, [20, 5])
    >>> d = explain_score(p, 500, index=0, liquidated_side="long")
    >>> print(d.line("pnl_pct").text()); print(d.line("leverage").text())
    PnL% = UPL ÷ entry value = 1,000 ÷ 6,000 = 0.1666666667
    effective leverage = mark value ÷ E = 5,000 ÷ 1,300 = 3.846153846
    >>> d.result == float(scores(p, 500)[0]), d.lines[-1].why
    (True, 'PnL% ≥ 0: multiplied; rank 1 of 2 in the queue')
    """
    _check.one_of("ranking", ranking, get_args(Ranking))
    if not isinstance(positions, IsolatedPosition):
        raise TypeError(f"positions must be IsolatedPosition(s), got {type(positions).__name__}")
    if np.ndim(mark):
        raise ValueError("mark must be one price, not an array")
    p = float(_check.positive("mark", mark))
    shape = positions.shape
    if len(shape) > 1:
        raise ValueError(f"positions must be one position or a one-dimensional array, got shape {shape}")
    if shape and (index is None or isinstance(index, bool) or not isinstance(index, (int, np.integer))
                  or not -shape[0] <= index < shape[0]):
        raise ValueError(f"index must pick one of the {shape[0]} positions, got {index!r}")
    if not shape and index is not None:
        raise ValueError("index is only given with an array of positions")
    i = int(index) % shape[0] if shape else 0
    pos = positions[i] if shape else positions
    s = float(pos.side)
    eq = _equity_lines(pos, p)
    upl, equity = float(eq[0].value), float(eq[-1].value)
    side = "long" if s > 0 else "short"
    lines: list[Line] = [Line("position", "", "", None, f"a {side} of {num(pos.qty)} contracts from {num(pos.entry)}, "
                                                        f"margin {num(pos.margin)}, at mark {num(p)}"), *eq]
    if ranking in ("pnl-leverage", "hyperliquid") and equity <= 0:
        raise ValueError(f"positions[{i}] has no equity at the mark ({num(equity)}): it is bankrupt, not a candidate")
    if ranking == "pnl-leverage":
        ev, mv = _value_line(pos, float(pos.entry), "entry_value", " at entry"), _value_line(pos, p, "mark_value", " at the mark")
        pnl, lev = upl / float(ev.value), float(mv.value) / equity
        score = pnl * lev if pnl >= 0 else pnl / lev
        lines += [ev, mv, Line("pnl_pct", "PnL% = UPL ÷ entry value", f"{num(upl)} ÷ {num(ev.value)}", pnl),
                  Line("leverage", "effective leverage = mark value ÷ E", f"{num(mv.value)} ÷ {num(equity)}", lev),
                  Line("score", "score = PnL% × leverage" if pnl >= 0 else "score = PnL% ÷ leverage",
                       f"{num(pnl)} {'×' if pnl >= 0 else '÷'} {num(lev)}", score,
                       "PnL% ≥ 0: multiplied" if pnl >= 0 else "PnL% < 0: divided, below every profitable one")]
    elif ranking == "binance":
        wallet = float(pos.margin)
        mm = _mm_lines(pos, p)
        m = float(mm[-1].value)
        balance = wallet + upl
        ratio = m / balance if balance > 0 else 0.0
        pnl = max(upl, 0.0) / max(wallet, 1.0)
        lines += [Line("wallet", "wallet = M", "", wallet, "the isolated margin"), *mm,
                  Line("balance", "wallet + UPL", f"{num(wallet)} + {num(upl)}", balance),
                  Line("ratio", "margin ratio = MM ÷ (wallet + UPL)" if balance > 0 else "margin ratio",
                       f"{num(m)} ÷ {num(balance)}" if balance > 0 else "", ratio,
                       "" if balance > 0 else "0: wallet + UPL ≤ 0"),
                  Line("pnl_pct", "PnL% = max(0, UPL) ÷ max(1, wallet)", f"max(0, {num(upl)}) ÷ max(1, {num(wallet)})", pnl),
                  Line("score", "score = PnL% × margin ratio", f"{num(pnl)} × {num(ratio)}", pnl * ratio)]
    else:
        v = _value_line(pos, p, "notional", " at the mark")
        ratio = p / float(pos.entry)
        move = ratio**s
        lev = float(v.value) / equity
        lines += [Line("move", "price factor = (mark ÷ entry)^s", f"({num(p)} ÷ {num(pos.entry)})^{num(s)}", move,
                       "a short: entry ÷ mark" if s < 0 else ""), v,
                  Line("leverage", "notional ÷ account value", f"{num(v.value)} ÷ {num(equity)}", lev,
                       "account value: the isolated margin + UPL"),
                  Line("score", "score = price factor × leverage", f"{num(move)} × {num(lev)}", move * lev)]
    if shape:  # the queue: every position (the candidates against liquidated_side), bankrupt ones left out
        queued = np.ones(shape, dtype=bool) if liquidated_side is None else candidates(positions, p, liquidated_side)
        if ranking != "binance":
            queued &= np.asarray(positions.equity(p)) > 0
        every = np.zeros(shape)
        every[queued] = scores(positions[queued], p, ranking) if queued.any() else 0.0
        order, _ = _queue(every, np.ones(shape), queued)
        where = np.flatnonzero(order == i)
        rank = (f"rank {int(where[0]) + 1} of {order.size} in the queue" if where.size
                else "not a candidate: on the liquidated side, or no profit at the mark")
        lines[-1] = replace(lines[-1], why=f"{lines[-1].why}; {rank}" if lines[-1].why else rank)
    elif liquidated_side is not None:
        _check.side("liquidated_side", liquidated_side)
    title = f"ADL score ({ranking}) of " + (f"position {i}" if shape else "a position") + f" at mark {num(p)}"
    return Derivation(title, tuple(lines), *_RANKING[ranking])


def explain_adl_qty(closed: float, shortfall: float, loss: float) -> Derivation:
    """How :func:`adl_qty` turns a fund's shortfall into contracts, by hand: ``closed × shortfall / |loss|``.

    The share of the closed contracts deleveraged is the share of the loss the fund did not pay; the
    last line, ``adl_qty``, equals :func:`adl_qty`.

    Parameters
    ----------
    closed, shortfall, loss : float
        As in :func:`adl_qty`.

    Examples
    --------
    >>> d = explain_adl_qty(10, 300, -1_500)
    >>> print(d.line("adl_qty").numbers); d.result == adl_qty(10, 300, -1_500)
    10 × 300 ÷ 1,500
    True
    """
    c, s, lost = (_check.one_number(name, x)
                  for name, x in (("closed", closed), ("shortfall", shortfall), ("loss", loss)))
    adl_qty(c, s, lost)  # the checks of adl_qty: closed > 0, loss < 0, shortfall in [0, |loss|]
    lost = -lost
    share = s / lost
    lines = (Line("adl_share", "a = shortfall ÷ |loss|", f"{num(s)} ÷ {num(lost)}", share,
                  "the share of the loss the fund did not pay"),
             Line("adl_qty", "ADL = ΔQ × shortfall ÷ |loss|", f"{num(c)} × {num(s)} ÷ {num(lost)}", c * s / lost,
                  "closed against the queue at B; the rest is sold in the market, its loss what the fund paid"))
    return Derivation("Contracts to deleverage", lines, "the venue sells the share of the contracts whose loss the "
                      "fund pays and deleverages the rest at the bankruptcy price",
                      "docs/formulas.md#auto-deleveraging-adl")


def _queue_order(score: ArrayLike, candidate_qty: ArrayLike, eligible: ArrayLike | None) -> tuple[list[int], FloatArray]:
    """The queue by hand: eligible indices sorted by score, highest first, ties by index; the contracts."""
    order, qty = _queue(score, candidate_qty, eligible)  # checks the arguments
    sc = np.broadcast_to(np.asarray(score, dtype=float), qty.shape)
    el = np.ones(qty.shape, bool) if eligible is None else np.broadcast_to(np.asarray(eligible, bool), qty.shape)
    hand = sorted((i for i in range(qty.size) if el[i]), key=lambda i: (-sc[i], i))
    return hand, qty


def _order_line(order: list[int], score: FloatArray) -> Line:
    shown = ", ".join(f"#{i + 1} ({num(score[i])})" for i in order)
    return Line("order", "", "", None, f"queue order, highest score first (ties: listed first): {shown or 'empty'}")


def explain_queue(side: str, qty: float, bankruptcy_price: float, candidate_qty: ArrayLike,
                  candidate_entry: ArrayLike, score: ArrayLike, eligible: ArrayLike | None = None,
                  contract: Contract = LINEAR_USDT) -> Derivation:
    """How :func:`deleverage` fills the queue, by hand: per candidate, in the listed order, the contracts
    ahead of it in the queue, the contracts taken from it and its PnL at the bankruptcy price.

    Lines ``ahead_k``, ``qty_k = min(q_k, max(need − ahead_k, 0))`` and ``pnl_k = s_c × qty_k × FV × (B − EP_k)``
    (``1/EP − 1/B`` for an inverse contract) for the k-th listed candidate (0 for one not reached or not
    eligible): ``qty_k`` and ``pnl_k`` equal :func:`deleverage`'s fills. The last line is the contracts
    left unmatched.

    Examples
    --------
    BitMEX's example of :func:`deleverage`:

    >>> d = explain_queue("short", 20, 650, [10, 10, 20, 30, 20, 10], 600, [3, 6, 1, 4, 5, 2])
    >>> [d.line(f"qty_{k}").value for k in range(1, 7)], d.line("pnl_2").text()
    ([0.0, 10.0, 0.0, 0.0, 10.0, 0.0], 'PnL = s_c × qty × FV × (B − EP) = 1 × 10 × 1 × (650 − 600) = 500')
    >>> d.result
    0.0
    """
    side_, need, price, _, cq, entry = _checked_queue(side, qty, bankruptcy_price, candidate_qty, candidate_entry,
                                                      score, eligible, contract)
    s = float(side_)
    order, _ = _queue_order(score, candidate_qty, eligible)
    sc = np.broadcast_to(np.asarray(score, dtype=float), cq.shape)
    ahead: dict[int, float] = {}
    total = 0.0
    for i in order:
        ahead[i] = total
        total += float(cq[i])
    fv, sc_side = contract.face_value, -s
    lines = [Line("need", "contracts to deleverage", "", need), _order_line(order, sc)]
    for i in range(cq.size):
        k = i + 1
        if i not in ahead:
            lines += [Line(f"ahead_{k}", "", "", None, f"candidate {k} is not eligible"),
                      Line(f"qty_{k}", "qty", "", 0.0, "not in the queue"), Line(f"pnl_{k}", "PnL", "", 0.0)]
            continue
        a = ahead[i]
        take = min(float(cq[i]), max(need - a, 0.0))
        dust = 0 < take < cq[i] and cq[i] - take <= TOLERANCE * need
        lines += [Line(f"ahead_{k}", "ahead = Σ contracts before it in the queue", "", a),
                  Line(f"qty_{k}", "qty = min(q, max(need − ahead, 0))",
                       f"min({num(cq[i])}, max({num(need)} − {num(a)}, 0))", float(cq[i]) if dust else take,
                       f"candidate {k}: " + ("closed in full: it would keep a rounding remainder (≤ TOLERANCE × need)"
                                             if dust else "closed in full" if take == cq[i] else "in part" if take
                                             else "not reached"))]
        take = float(cq[i]) if dust else take
        if contract.kind == "linear":
            pnl = contract.sigma * sc_side * take * fv * (price - entry[i])
            lines.append(Line(f"pnl_{k}", "PnL = s_c × qty × FV × (B − EP)",
                              f"{num(sc_side)} × {num(take)} × {num(fv)} × ({num(price)} − {num(entry[i])})", pnl))
        else:
            pnl = contract.sigma * sc_side * take * fv * (1 / price - 1 / entry[i])
            lines.append(Line(f"pnl_{k}", "PnL = s_c × qty × FV × (1/EP − 1/B)",
                              f"{num(sc_side)} × {num(take)} × {num(fv)} × (1/{num(entry[i])} − 1/{num(price)})", pnl))
    lines.append(Line("unmatched", "unmatched = max(need − Σ q, 0)", f"max({num(need)} − {num(total)}, 0)",
                      max(need - total, 0.0), "handed on (never dropped)"))
    return Derivation(f"The ADL queue for {num(need)} contracts at {num(price)}", tuple(lines),
                      "each candidate, highest score first, is closed in full until the contracts are matched, the "
                      "last in part; every fill at the liquidated position's bankruptcy price", "BitMEX, "
                      "'Auto-Deleveraging Further Information'")


def explain_lights(score: ArrayLike, candidate_qty: ArrayLike, eligible: ArrayLike | None = None) -> Derivation:
    """How :func:`lights` gives each position its lights, by hand: the share of the queue's contracts held by
    it and those ahead of it, rounded up to a fifth.

    Lines ``through_k`` (contracts up to and including the k-th listed position, in queue order) and
    ``item_k = 6 − ⌈5 × through_k ÷ total⌉`` (0 for a position that is not a candidate): the ``item``
    lines, in the listed order, equal :func:`lights`.

    Examples
    --------
    >>> d = explain_lights([3, 6, 1, 4, 5, 2], [10, 10, 20, 30, 20, 10])
    >>> [d.line(f"item_{k}").value for k in range(1, 7)] == lights([3, 6, 1, 4, 5, 2], [10, 10, 20, 30, 20, 10]).tolist()
    True
    >>> d.line("item_1").text()
    'lights = 6 − ⌈5 × through ÷ total⌉ = 6 − ⌈5 × 70 ÷ 100⌉ = 2'
    """
    order, cq = _queue_order(score, candidate_qty, eligible)
    sc = np.broadcast_to(np.asarray(score, dtype=float), cq.shape)
    through: dict[int, float] = {}
    total = 0.0
    for i in order:
        total += float(cq[i])
        through[i] = total
    lines = [_order_line(order, sc), Line("total", "total = Σ candidates' contracts", "", total)]
    for i in range(cq.size):
        k = i + 1
        if i not in through:
            lines.append(Line(f"item_{k}", "lights", "", 0.0, f"position {k} is not a candidate"))
            continue
        t = through[i]
        lines += [Line(f"through_{k}", "through = contracts ahead + its own", "", t, f"position {k}"),
                  Line(f"item_{k}", "lights = 6 − ⌈5 × through ÷ total⌉", f"6 − ⌈5 × {num(t)} ÷ {num(total)}⌉",
                       float(6 - int(np.ceil(5 * (t / total)))))]
    return Derivation("ADL lights", tuple(lines), "5 lights for the first 20 % of the queue's contracts, … 1 for the "
                      "last 20 %", "BitMEX, 'Auto-Deleveraging Further Information'")
