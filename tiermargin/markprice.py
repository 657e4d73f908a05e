"""Index price, basis moving average and mark price: why a wick on one venue does not liquidate.

Exchanges value positions at a *mark price*, not at their own last trade (source articles:
"Mark Price = Spot Index Price + Basis Moving Average"; "unrealized PnL and liquidation use the
mark price"), built in three steps, all vectorized over time:

1. **Index** (:func:`index_price`): a weighted average of several spot venues' prices. A venue more
   than ``threshold`` (5 %) from the median of all venues gets weight 0; if more than one deviates,
   the index is the median of all venues; venues whose quote is older than ``max_age`` are dropped
   first (OKX / CoinW index rules, ``docs/formulas.md#mark-price-index-and-basis``).
2. **Basis moving average** (:func:`basis_moving_average`): the mean of ``futures price − index``
   over a trailing time window (irregular samples allowed).
3. **Mark**: OKX form ``index + MA(basis)`` (:func:`mark_price`), or the perpetual
   median-of-three (:func:`funding_mark_price`, Binance): ``median(P1, P2, last)`` with
   ``P1 = index·(1 + funding rate·time to funding/interval)`` and ``P2 = index + MA(basis)``.
   Aevo's worked example: index 2,000, rate 0.005, half of a 1-hour interval → P1 = 2,005.

:func:`explain_mark_price` shows one time's mark worked by hand: the venues and their weights, the
index, the basis samples averaged, the moving average and the mark (lesson 01).
"""

from __future__ import annotations

import math
from typing import Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _check
from ._check import FloatArray
from .derivation import Derivation, Line, num, pct
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
        raise ValueError(f"weights must be {n_v} numbers >= 0 (one per venue of quotes) with a positive sum, "
                         f"got {weights!r}")
    th = _check.one_number("threshold", threshold, lambda n, x: _check.rate(n, x, low_open=True))
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
    age = _check.one_number("max_age", max_age, _check.positive)
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


def _market(market: object) -> Market:
    """``market`` if it is a :class:`~tiermargin.market.Market` with sorted finite times, every array
    aligned on them and prices > 0 (one built by hand can break each)."""
    if not isinstance(market, Market):
        raise TypeError(f"market must be a Market (see tiermargin.market.synthetic_market), got {market!r}")
    t = _check.finite("market.times", market.times)
    if t.ndim != 1 or np.any(np.diff(t) < 0):
        raise ValueError("market.times must be a 1-d array sorted in increasing order")
    n, v = t.size, len(market.venues)
    arrays = {"spot": (_check.positive, (n, v)), "quote_times": (_check.finite, (n, v)), "last": (_check.positive, (n,)),
              "funding_rate": (_check.finite, (n,)), "time_to_funding": (_check.nonnegative, (n,))}
    for name, (check, shape) in arrays.items():
        if check(f"market.{name}", getattr(market, name)).shape != shape:
            raise ValueError(f"market.{name} must have shape {shape} (times × venues), got {np.shape(getattr(market, name))}")
    return market


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
    w = _check.one_number("window", window, _check.positive)
    idx = np.arange(1, b.size + 1)
    # t_i − w < t_i always holds the sample itself, even where w is below the float resolution of t_i
    start = np.minimum(np.searchsorted(t, t - w, side="right"), idx - 1)
    cs = np.concatenate(([0.0], np.cumsum(b)))
    return (cs[idx] - cs[start]) / (idx - start)


def _broadcast(**arrays: FloatArray) -> list[FloatArray]:
    """The checked ``arrays`` broadcast together, or a ValueError naming them and their shapes."""
    try:
        return np.broadcast_arrays(*arrays.values())
    except ValueError:
        shapes = ", ".join(f"{k} {np.shape(v)}" for k, v in arrays.items())
        raise ValueError(f"{', '.join(arrays)} must have shapes that broadcast together, got {shapes}") from None


def mark_price(index: ArrayLike, basis_ma: ArrayLike) -> float | FloatArray:
    """OKX form: ``mark = index + MA(basis)`` (source articles: "Spot Index Price + Basis Moving Average").

    ``index`` > 0 and ``basis_ma`` above ``−index``: a mark is > 0.
    """
    i, b = _broadcast(index=_check.positive("index", index), basis_ma=_check.finite("basis_ma", basis_ma))
    mark = i + b
    if np.any(mark <= 0):
        raise ValueError(f"basis_ma must be above −index (the mark index + MA must be > 0), got {basis_ma!r}")
    return _check.scalar_or_array(mark)


def funding_price(index: ArrayLike, funding_rate: ArrayLike, time_to_funding: ArrayLike,
                  interval: float) -> float | FloatArray:
    """Price 1 of the median-of-three mark: ``index·(1 + funding rate·time to funding/interval)``.

    Example (Aevo, 1-hour interval): index 2,000, rate 0.005, 0.5 h to funding → 2,005.

    >>> funding_price(2_000, 0.005, 0.5, 1.0)
    2005.0
    """
    i, r, ttf = _broadcast(index=_check.positive("index", index), funding_rate=_check.finite("funding_rate", funding_rate),
                           time_to_funding=_check.nonnegative("time_to_funding", time_to_funding))
    iv = _check.one_number("interval", interval, _check.positive)
    if np.any(np.abs(r) >= 1):
        raise ValueError(f"funding_rate must be a rate per interval in (−1, 1), got {funding_rate!r}")
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
    p1, p2, p3 = _broadcast(index=p1, basis_ma=p2, last=_check.positive("last", last))
    return _check.scalar_or_array(np.median(np.stack((p1, p2, p3)), axis=0))


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
    _market(market)
    stale = {} if max_age is None else dict(quote_times=market.quote_times, times=market.times, max_age=max_age)
    idx = index_price(market.spot, weights, threshold, **stale)
    ma = basis_moving_average(market.times, market.last - idx.price, window)
    if form == "okx":
        mark = np.asarray(mark_price(idx.price, ma))
    else:
        mark = np.asarray(funding_mark_price(idx.price, ma, market.last, market.funding_rate,
                                             market.time_to_funding, market.funding_interval))
    return MarkPrices(idx, ma, mark)


# ---------------------------------------------------------------------- explanation
_SHOWN = 6
"""Windows of up to this many samples are shown in full; longer ones as a count and a sum."""
_MARK_RULE = {
    "okx": ("mark = spot index + basis moving average (OKX)",
            "source articles: 'Mark Price = Spot Index Price + Basis Moving Average'; index rules: OKX / CoinW "
            "(docs/formulas.md#mark-price-index-and-basis)"),
    "median3": ("perpetual mark = median(P1, P2, last price), P1 = index·(1 + funding rate·time to funding/interval), "
                "P2 = index + basis moving average (Binance)",
                "Binance mark price (median of three); Aevo's worked example for P1 (index 2,000, rate 0.005, half of "
                "a 1-hour interval → 2,005); index rules: OKX / CoinW (docs/formulas.md#mark-price-index-and-basis)"),
}


def explain_mark_price(market: Market, at: int = -1, window: float = 300.0, threshold: float = 0.05,
                       weights: ArrayLike | None = None, max_age: float | None = None,
                       form: Literal["okx", "median3"] = "okx") -> Derivation:
    """How the mark price at one time of :func:`mark_prices` is computed, by hand.

    Lines: each venue's quote (stale ones dropped), the median of the fresh ones and each venue's
    distance from it against ``threshold``, the index (the weighted average of the kept venues,
    or the median where more than one venue deviates); the basis ``last − index`` of every sample in
    the window ``(t − window, t]`` (a window of up to six samples in full, a longer one as a
    count and a sum), its mean, and the mark: ``index + MA`` (OKX), or for ``form="median3"`` the
    three candidates ``P1 = index·(1 + rate·time to funding/interval)``, ``P2 = index + MA`` and the
    last price, and their median. The last line equals ``mark_prices(...).mark[at]``.

    Parameters
    ----------
    market : Market
    at : int
        Which sample (an index into ``market.times``; negative counts from the end).
    window, threshold, weights, max_age, form
        As in :func:`mark_prices`.

    Returns
    -------
    Derivation

    Raises
    ------
    ValueError
        ``at`` outside the samples (or not an integer), or a bad parameter of :func:`mark_prices`.

    Examples
    --------
    >>> from tiermargin.market import synthetic_market
    >>> m = synthetic_market(seed=1, duration=60, step=20)
    >>> d = explain_mark_price(m, at=3, window=45)
    >>> d.result == float(mark_prices(m, window=45).mark[3]), d.line("window").why
    (True, '3 samples in (15, 60]: t = 20, 40, 60')
    >>> print(d.lines[-1].formula)
    mark = index + MA
    """
    res = mark_prices(market, window, threshold, weights, max_age, form)  # checks every parameter
    n = len(market.times)
    if isinstance(at, bool) or not isinstance(at, (int, np.integer)) or not -n <= at < n:
        raise ValueError(f"at must be a sample index in [{-n}, {n}), got {at!r}")
    i = int(at) % n
    lines = _index_lines(market, i, weights, threshold, max_age)
    index = float(lines[-1].value)
    lines += _basis_lines(market.times, market.last, res.index.price, i, float(window))
    ma = float(lines[-1].value)
    p2 = Line("p2" if form == "median3" else "mark", "P2 = index + MA" if form == "median3" else "mark = index + MA",
              f"{num(index)} + {num(ma)}", index + ma)
    if form == "okx":
        lines.append(p2)
    else:
        r, ttf, iv = float(market.funding_rate[i]), float(market.time_to_funding[i]), float(market.funding_interval)
        p1 = Line("p1", "P1 = index × (1 + rate × time to funding ÷ interval)",
                  f"{num(index)} × (1 + {pct(r)} × {num(ttf)} ÷ {num(iv)})", index * (1 + r * ttf / iv))
        p3 = Line("last", "P3 = last", "", float(market.last[i]), "the perpetual's last trade")
        three = [float(x.value) for x in (p1, p2, p3)]
        lines += [p1, p2, p3, Line("mark", "mark = median(P1, P2, P3)", f"median({', '.join(map(num, three))})",
                                   sorted(three)[1], "the middle one of the three")]
    rule, source = _MARK_RULE[form]
    return Derivation(f"Mark price at t = {num(market.times[i])}", tuple(lines), rule, source)


def _index_lines(market: Market, i: int, weights: ArrayLike | None, threshold: float,
                 max_age: float | None) -> list[Line]:
    """The venues at time ``i``, the median of the fresh ones, the outliers, and the index, by hand
    (the rules of :func:`index_price`)."""
    q = market.spot[i].astype(float)
    w = np.ones(q.size) if weights is None else np.asarray(weights, dtype=float)
    fresh = (np.ones(q.size, dtype=bool) if max_age is None
             else market.times[i] - market.quote_times[i] <= max_age)
    med = float(np.median(q[fresh]))
    out = fresh & (np.abs(q - med) > threshold * med)
    notes = [f"{v} {num(x)}" + (" (stale: dropped)" if not f else
                                f" ({num(100 * abs(x - med) / med, 4)} % from m: outlier)" if o else "")
             for v, x, f, o in zip(market.venues, q, fresh, out)]
    lines = [Line("quotes", "", "", None, "spot quotes: " + ", ".join(notes)),
             Line("median", "m = median of the fresh quotes", f"median({', '.join(num(x) for x in q[fresh])})", med)]
    kept = np.flatnonzero(fresh & ~out & (w > 0))
    if out.sum() > 1 or kept.size == 0:
        why = (f"{int(out.sum())} venues are over {pct(threshold)} from m" if out.sum() > 1
               else "no weighted venue is left") + ": the index is the median"
        return lines + [Line("index", "index = m", "", med, why)]
    terms = " + ".join(f"{num(w[k])} × {num(q[k])}" for k in kept)
    weight = " + ".join(num(w[k]) for k in kept)
    return lines + [Line("index", "index = Σ w × quote ÷ Σ w", f"({terms}) ÷ ({weight})",
                         math.fsum(w[k] * q[k] for k in kept) / math.fsum(w[k] for k in kept),
                         f"the fresh venues within {pct(threshold)} of m, at their weights")]


def _basis_lines(times: FloatArray, last: FloatArray, index: FloatArray, i: int, window: float) -> list[Line]:
    """The basis samples in the window ``(t_i − window, t_i]`` and their mean."""
    t = float(times[i])
    inside = np.flatnonzero(times[: i + 1] > t - window)  # the samples up to i, as basis_moving_average
    basis = [float(last[j] - index[j]) for j in inside]
    where = f"{len(inside)} samples in ({num(t - window)}, {num(t)}]"
    if len(inside) <= _SHOWN:
        lines = [Line("window", "", "", None, f"{where}: t = {', '.join(num(times[j]) for j in inside)}")]
        lines += [Line(f"basis_{k}", f"b_{k} = last − index", f"{num(last[j])} − {num(index[j])}", b,
                       f"t = {num(times[j])}") for k, (j, b) in enumerate(zip(inside, basis), 1)]
        shown = " + ".join(num(b) for b in basis)
        return lines + [Line("basis_ma", "MA = (b_1 + … + b_n) ÷ n", f"({shown}) ÷ {len(basis)}",
                             math.fsum(basis) / len(basis))]
    total = math.fsum(basis)
    return [Line("window", "", "", None, f"{where}: t = {num(times[inside[0]])} … {num(times[inside[-1]])}"),
            Line("basis_sum", "Σ b = Σ (last − index)", "", total,
                 f"from b = {num(basis[0])} at t = {num(times[inside[0]])} to {num(basis[-1])} at "
                 f"t = {num(times[inside[-1]])}"),
            Line("basis_ma", "MA = Σ b ÷ n", f"{num(total)} ÷ {len(basis)}", total / len(basis))]
