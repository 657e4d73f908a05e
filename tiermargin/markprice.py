"""Index price, basis moving average and mark price: why a wick on one venue does not liquidate.

Exchanges value positions at a *mark price*, not at their own last trade (source articles:
"Mark Price = Spot Index Price + Basis Moving Average"; "unrealized PnL and liquidation use the
mark price"), built in three steps, all vectorized over time:

1. **Index** (:func:`index_price`): a weighted average of several spot venues' prices. A venue more
   than ``threshold`` (5 %) from the median of all venues gets weight 0; if more than one deviates,
   the index is the median of all venues; venues whose quote is older than ``max_age`` are dropped
   first (OKX / CoinW index rules, ``reference/FORMULAS.md``).
2. **Basis moving average** (:func:`basis_moving_average`): the mean of ``futures price − index``
   over a trailing time window (irregular samples allowed).
3. **Mark**: OKX form ``index + MA(basis)`` (:func:`mark_price`), or the perpetual
   median-of-three (:func:`funding_mark_price`, Binance): ``median(P1, P2, last)`` with
   ``P1 = index·(1 + funding rate·time to funding/interval)`` and ``P2 = index + MA(basis)``.
   Aevo's worked example: index 2,000, rate 0.005, half of a 1-hour interval → P1 = 2,005.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _check
from ._check import FloatArray

if TYPE_CHECKING:
    from .market import Market


class IndexPrice(NamedTuple):
    """Result of :func:`index_price`.

    Attributes
    ----------
    price : array (T,)
        The index at each time.
    weight : array (T, V)
        Each venue's weight in the weighted average (0 for stale or outlying venues, the rest
        renormalized to sum 1); all 0 where the median was used instead.
    median_used : array of bool (T,)
        True where more than one venue deviated and the median of all fresh venues was used.
    """

    price: FloatArray
    weight: FloatArray
    median_used: NDArray[np.bool_]


def _quotes(quotes: ArrayLike) -> FloatArray:
    q = _check.positive("quotes", quotes)
    if q.ndim == 1:
        q = q[None, :]
    if q.ndim != 2:
        raise ValueError(f"quotes must be (venues,) or (times, venues), got shape {q.shape}")
    return q


def index_price(
    quotes: ArrayLike,
    weights: ArrayLike | None = None,
    threshold: float = 0.05,
    quote_times: ArrayLike | None = None,
    times: ArrayLike | None = None,
    max_age: float | None = None,
) -> IndexPrice:
    """Index price from several venues' spot quotes, with outlier and staleness rules.

    Parameters
    ----------
    quotes : array (V,) or (T, V)
        Spot prices of V venues (at T times), > 0.
    weights : array (V,), optional
        Venue weights, >= 0 with a positive sum (default equal).
    threshold : float
        A fresh venue further than this fraction from the median of the fresh venues gets weight
        0 (default 0.05: "a source more than 5 % from the median"); in (0, 1).
    quote_times : array (T, V), optional
        When each venue's quote was last updated; with ``times`` and ``max_age`` it marks stale
        venues, which are dropped before the median is taken.
    times : array (T,), optional
        The times the index is computed at.
    max_age : float, optional
        A quote older than this (``times − quote_times > max_age``) is stale.

    Returns
    -------
    IndexPrice
        If every kept venue has weight 0 (say the only weighted venue went stale), there is no
        weighted average to take: the median of the fresh venues is used and ``median_used`` is True.

    Raises
    ------
    ValueError
        Empty quotes, non-positive prices, bad weights, or a time with every venue stale.
    """
    q = _quotes(quotes)
    n_t, n_v = q.shape
    w = np.ones(n_v) if weights is None else _check.nonnegative("weights", weights)
    if w.shape != (n_v,) or w.sum() <= 0:
        raise ValueError(f"weights must be {n_v} numbers >= 0 with a positive sum, got {weights!r}")
    th = float(_check.rate("threshold", threshold, low_open=True))
    fresh = _fresh(q.shape, quote_times, times, max_age)
    if not np.all(fresh.any(axis=1)):
        t = int(np.flatnonzero(~fresh.any(axis=1))[0])
        raise ValueError(f"every venue is stale at time index {t}: no index can be computed (check max_age)")
    qf = np.where(fresh, q, np.nan)
    med = np.nanmedian(qf, axis=1)
    outlier = fresh & (np.abs(q - med[:, None]) > th * med[:, None])
    median_used = outlier.sum(axis=1) > 1
    keep = fresh & ~outlier
    wk = np.where(keep, w, 0.0)
    total = wk.sum(axis=1)
    median_used |= total <= 0
    with np.errstate(invalid="ignore", divide="ignore"):
        weighted = (wk * q).sum(axis=1) / total
    price = np.where(median_used, med, weighted)
    weight = np.where(median_used[:, None], 0.0, wk / np.where(total > 0, total, 1.0)[:, None])
    return IndexPrice(price, weight, median_used)


def _fresh(shape: tuple[int, int], quote_times: ArrayLike | None, times: ArrayLike | None,
           max_age: float | None) -> NDArray[np.bool_]:
    given = [x is not None for x in (quote_times, times, max_age)]
    if not any(given):
        return np.ones(shape, dtype=bool)
    if not all(given):
        raise ValueError("staleness needs quote_times, times and max_age together")
    qt = _check.finite("quote_times", quote_times)
    qt = qt[None, :] if qt.ndim == 1 else qt
    t = _check.finite("times", times).reshape(-1)
    age = float(_check.positive("max_age", max_age))
    if qt.shape != shape or t.shape != (shape[0],):
        raise ValueError(f"quote_times must have the shape of quotes {shape} and times {shape[0]} entries")
    if np.any(qt > t[:, None]):
        raise ValueError("quote_times must not be after the times they are used at")
    return (t[:, None] - qt) <= age


def _times(times: ArrayLike, n: int | None = None) -> FloatArray:
    t = _check.finite("times", times).reshape(-1)
    if n is not None and t.size != n:
        raise ValueError(f"times must have one entry per sample ({n}), got {t.size}")
    if np.any(np.diff(t) < 0):
        raise ValueError("times must be sorted in increasing order")
    return t


def basis_moving_average(times: ArrayLike, basis: ArrayLike, window: float) -> FloatArray:
    """Trailing moving average of the basis over a time window (irregular samples allowed).

    .. math:: MA(t_i) = \\operatorname{mean}\\{b_j : t_i - w < t_j \\le t_i\\}

    Computed in O(T log T) with cumulative sums and ``searchsorted``. The first samples average
    what the window holds so far.

    Parameters
    ----------
    times : array (T,)
        Sample times, sorted (seconds, or any unit shared with ``window``).
    basis : array (T,)
        ``futures price − index`` at each time (any sign).
    window : float
        Window length, > 0.
    """
    b = _check.finite("basis", basis).reshape(-1)
    t = _times(times, b.size)
    w = float(_check.positive("window", window))
    start = np.searchsorted(t, t - w, side="right")
    cs = np.concatenate(([0.0], np.cumsum(b)))
    idx = np.arange(1, b.size + 1)
    return (cs[idx] - cs[start]) / (idx - start)


def mark_price(index: ArrayLike, basis_ma: ArrayLike) -> float | FloatArray:
    """OKX form: ``mark = index + MA(basis)`` (source articles: "Spot Index Price + Basis Moving Average")."""
    i = _check.positive("index", index)
    return _check.scalar_or_array(i + _check.finite("basis_ma", basis_ma))


def funding_price(index: ArrayLike, funding_rate: ArrayLike, time_to_funding: ArrayLike,
                  interval: float) -> float | FloatArray:
    """Price 1 of the median-of-three mark: ``index·(1 + funding rate·time to funding/interval)``.

    Example (Aevo, 1-hour interval): index 2,000, rate 0.005, 0.5 h to funding → 2,005.

    >>> funding_price(2_000, 0.005, 0.5, 1.0)
    2005.0
    """
    i = _check.positive("index", index)
    r = _check.finite("funding_rate", funding_rate)
    ttf = _check.nonnegative("time_to_funding", time_to_funding)
    iv = float(_check.positive("interval", interval))
    if np.any(ttf > iv):
        raise ValueError(f"time_to_funding must be within the funding interval {iv:g}")
    return _check.scalar_or_array(i * (1 + r * ttf / iv))


def funding_mark_price(index: ArrayLike, basis_ma: ArrayLike, last: ArrayLike, funding_rate: ArrayLike,
                       time_to_funding: ArrayLike, interval: float) -> float | FloatArray:
    """Perpetual mark, median of three (Binance): ``median(P1, P2, last price)``.

    ``P1`` is :func:`funding_price`, ``P2 = index + MA(basis)`` (:func:`mark_price`). The median
    always lies between the smallest and the largest of the three.
    """
    p1 = np.asarray(funding_price(index, funding_rate, time_to_funding, interval))
    p2 = np.asarray(mark_price(index, basis_ma))
    p3 = _check.positive("last", last)
    return _check.scalar_or_array(np.median(np.stack(np.broadcast_arrays(p1, p2, p3)), axis=0))


class MarkPrices(NamedTuple):
    """Result of :func:`mark_prices`: every step of the mark-price pipeline over time."""

    index: IndexPrice
    basis_ma: FloatArray
    mark: FloatArray


def mark_prices(
    market: Market,
    window: float = 300.0,
    threshold: float = 0.05,
    weights: ArrayLike | None = None,
    max_age: float | None = None,
    form: Literal["okx", "median3"] = "okx",
) -> MarkPrices:
    """The whole pipeline on a :class:`~tiermargin.market.Market`: index → basis MA → mark.

    Parameters
    ----------
    market : Market
    window : float
        Basis moving-average window (seconds).
    threshold, weights, max_age
        Index rules, as in :func:`index_price` (staleness uses the market's quote times).
    form : {"okx", "median3"}
        ``index + MA(basis)`` (OKX) or the median of three (Binance perpetuals).
    """
    _check.one_of("form", form, ("okx", "median3"))
    stale = {} if max_age is None else dict(quote_times=market.quote_times, times=market.times, max_age=max_age)
    idx = index_price(market.spot, weights, threshold, **stale)
    ma = basis_moving_average(market.times, market.last - idx.price, window)
    if form == "okx":
        mark = np.asarray(mark_price(idx.price, ma))
    else:
        mark = np.asarray(funding_mark_price(idx.price, ma, market.last, market.funding_rate,
                                             market.time_to_funding, market.funding_interval))
    return MarkPrices(idx, ma, mark)
