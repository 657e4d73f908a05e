"""Exercises for lesson 01, mark price (``lessons/01_mark_price.ipynb``).

From easy to hard:

1. Price 1 of the median-of-three mark (the funding price) by hand;
2. the index from five venues' quotes and weights, one venue more than 5 % off the median;
3. the perpetual's mark, the median of Price 1, Price 2 and a last price caught in a wick;
4. the basis moving average over a window of irregular samples;
5. a function ``index(quotes, weights, threshold)`` implementing the outlier rule, checked on
   hidden cases (no outlier, two outliers, an even number of venues, unequal weights, other
   thresholds);
6. a wick in the last price: is a position liquidated when marked at the last price, and when
   marked at the mark price (index + MA of the basis)?

Every expected answer comes from :mod:`tiermargin.markprice` (``funding_price``, ``index_price``,
``funding_mark_price``, ``basis_moving_average``, ``mark_price``) and
:class:`~tiermargin.IsolatedPosition`; the student's numbers come from their id.

>>> ex = Exercises(student_id="demo")
>>> ex.check(1, None)
Exercise 1 — not attempted: replace ... with your answer
>>> ex.check(1, "2005")
Exercise 1 — wrong: got a str ('2005'). Hint: the answer is a number in USDT
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np

from .. import IsolatedPosition
from .._check import FloatArray
from ..market import Market
from ..derivation import Derivation, Line, num
from ..markprice import (
    basis_moving_average,
    explain_mark_price,
    funding_mark_price,
    funding_price,
    index_price,
    mark_price,
)
from .core import (
    MONEY,
    Draw,
    Exercise,
    ExerciseSet,
    Flag,
    Function,
    Mistake,
    Numbers,
    Record,
    Value,
    bundled_table,
    see,
)
from .show import one_venue_market, renamed, upto

BTC = "binance-usdm-btcusdt-2021"
LESSON = "lessons/01_mark_price.ipynb"
SIDES = ("long", "short")
THRESHOLD = 0.05  # "a source more than 5 % from the median of all sources gets weight 0"


_see = partial(see, LESSON)


# ---------------------------------------------------------------------- 1. Price 1 (funding price)
# Where the next funding is, as a fraction of the interval still to run. Never one half: there,
# "time to funding" and "time elapsed" give the same Price 1 and that mistake could not be told apart.
_FRACTIONS = (0.125, 0.25, 0.375, 0.625, 0.75, 0.875)
_RATES = (0.0001, 0.0002, 0.0003, 0.0005, 0.00075, 0.001, -0.0001, -0.00025)


def _funding_numbers(d: Draw) -> dict[str, Any]:
    """Index, funding rate, and time to funding within the interval (both in hours)."""
    interval = d.choice("interval", (8, 4, 1))
    return {
        "index": d.choice("index", range(20_000, 70_001, 10)),
        "funding_rate": d.choice("funding_rate", _RATES),
        "time_to_funding": interval * d.choice("fraction", _FRACTIONS),
        "interval": interval,
    }


def _price1(n: Numbers, rate_scale: float = 1.0, elapsed: bool = False, whole: bool = False) -> float:
    """Price 1 from the numbers, or what a recognised slip gives: the rate ×``rate_scale``, the
    time ``elapsed`` since the last funding, or the ``whole`` interval in place of the time to funding."""
    time = n["time_to_funding"]
    if elapsed:
        time = n["interval"] - n["time_to_funding"]
    if whole:
        time = n["interval"]
    return float(funding_price(n["index"], rate_scale * n["funding_rate"], time, n["interval"]))


def _price1_derivation(n: Numbers) -> Derivation:
    """Price 1 in :func:`~tiermargin.markprice.explain_mark_price` (median of three), the index given."""
    market = one_venue_market((0,), (n["index"],), (n["index"],), funding_rate=n["funding_rate"],
                              time_to_funding=n["time_to_funding"], interval=n["interval"])
    d = explain_mark_price(market, window=1, form="median3")
    return Derivation("Price 1 (the funding price)", (d.line("p1"),), d.rule, d.source)


FUNDING_PRICE = Exercise(
    title="Price 1: the funding price",
    numbers=_funding_numbers,
    expected=_price1,
    answer=Value(MONEY),
    hint="Price 1 = index·(1 + funding rate·time to funding/interval)" + _see("The median of three"),
    mistakes=(
        Mistake(
            lambda n: _price1(n, whole=True),
            "you applied the whole funding rate: scale it by the part of the interval still to run, "
            "time to funding/interval",
            line="p1",
        ),
        Mistake(
            lambda n: _price1(n, elapsed=True),
            "you scaled the rate by the time elapsed since the last funding; Price 1 uses the time "
            "*to* the next funding: rate·time to funding/interval",
            line="p1",
        ),
        Mistake(
            lambda n: _price1(n, rate_scale=100.0),
            "the funding rate is a fraction (0.0001 is 0.01 %): do not multiply it by 100",
            line="p1",
        ),
        Mistake(
            lambda n: _price1(n) - n["index"],
            "that is only the funding premium, index·rate·time to funding/interval: Price 1 is the "
            "index plus that premium",
            line="p1",
        ),
    ),
    derivation=_price1_derivation,
)


# ---------------------------------------------------------------------- 2. index with one outlier
VENUES = ("Binance", "OKX", "Coinbase", "Kraken", "Bitstamp")
# Index weights, summing to 1 and never all equal (the weights matter).
_WEIGHTS = {
    4: ((0.4, 0.3, 0.2, 0.1), (0.35, 0.25, 0.25, 0.15), (0.1, 0.2, 0.3, 0.4), (0.3, 0.1, 0.4, 0.2)),
    5: (
        (0.3, 0.25, 0.2, 0.15, 0.1),
        (0.25, 0.25, 0.2, 0.2, 0.1),
        (0.1, 0.15, 0.2, 0.25, 0.3),
        (0.2, 0.3, 0.1, 0.25, 0.15),
        (0.35, 0.2, 0.2, 0.15, 0.1),
    ),
}
# How far the outlying venue is from the others, in multiples of the threshold (well clear of it).
_DEVIATIONS = (-2.4, -1.8, -1.4, 1.3, 1.6, 2.2)


def _quote_numbers(d: Draw, n_venues: int, threshold: float) -> dict[str, Any]:
    """Quotes within ±30 USDT of a price, except one venue ``_DEVIATIONS``×threshold away."""
    price = d.choice("price", range(20_000, 70_001, 50))
    quotes = [price + 0.5 * d.choice(f"quote {i}", range(-60, 61)) for i in range(n_venues)]
    outlier = d.choice("outlier", range(n_venues))
    quotes[outlier] = round(price * (1 + d.choice("deviation", _DEVIATIONS) * threshold), 1)
    return {"quotes": tuple(quotes), "weights": d.choice("weights", _WEIGHTS[n_venues]), "threshold": threshold}


def _index(n: Numbers, threshold: float | None = None, equal_weights: bool = False) -> float:
    """The index from the numbers ``quotes, weights, threshold`` (or with a slip's changes)."""
    weights = None if equal_weights else n["weights"]
    th = n["threshold"] if threshold is None else threshold
    return float(index_price(n["quotes"], weights, th).price[0])


def _not_renormalised(n: Numbers) -> float:
    """Σ w·q over the kept venues, the weights not rescaled to sum 1 (weights given summing to 1)."""
    kept = index_price(n["quotes"], n["weights"], n["threshold"]).weight[0] > 0
    return _index(n) * float(np.sum(np.asarray(n["weights"])[kept]))


# A threshold so wide that no venue is dropped: the weighted average of every venue.
_NO_OUTLIER_RULE = 0.99

INDEX_MISTAKES = (
    Mistake(
        lambda n: _index(n, threshold=_NO_OUTLIER_RULE),
        "you kept the outlier in the average: a venue more than the threshold away from the median "
        "of all venues gets weight 0",
        line="index",
    ),
    Mistake(
        lambda n: float(np.median(n["quotes"])),
        "that is the plain median of the quotes; with exactly one venue off, the index is the "
        "weighted average of the other venues",
        line="index",
    ),
    Mistake(
        _not_renormalised,
        "once the outlier's weight is 0, rescale the remaining weights so that they sum to 1 "
        "(divide by their sum)",
        line="index",
    ),
    Mistake(
        lambda n: _index(n, equal_weights=True),
        "you averaged the other venues with equal weights: use the venues' weights, rescaled to sum 1",
        line="index",
    ),
)


def _index_derivation(n: Numbers) -> Derivation:
    """The index lines of :func:`~tiermargin.markprice.explain_mark_price`: median, outliers, weighted average."""
    quotes = np.asarray([n["quotes"]], dtype=float)
    venues = tuple(n.get("venues") or (f"venue {k}" for k in range(1, quotes.size + 1)))
    market = Market(np.zeros(1), venues, quotes, np.zeros_like(quotes), np.median(quotes, axis=1), np.zeros(1),
                    np.zeros(1), 1.0)
    d = explain_mark_price(market, window=1, threshold=n["threshold"], weights=n["weights"])
    rule = ("index = the weighted average of the venues within the threshold of the median of all, their weights "
            "rescaled to sum 1 (the median itself when more than one venue is off)")
    return Derivation(f"Index of {quotes.size} venues", upto(d, "index").lines, rule, d.source)


def _index_numbers(d: Draw) -> dict[str, Any]:
    return {"venues": VENUES, **_quote_numbers(d, len(VENUES), THRESHOLD)}


INDEX = Exercise(
    title="The index from five venues",
    numbers=_index_numbers,
    expected=_index,
    answer=Value(MONEY),
    hint="take the median of all quotes; a venue more than 5 % from it gets weight 0; the index is "
    "the weighted average of the others, their weights rescaled to sum 1" + _see("Index price"),
    mistakes=INDEX_MISTAKES,
    derivation=_index_derivation,
)


# ---------------------------------------------------------------------- 3. median of three
_BASIS_MA = (-30.5, -18, -7.5, 4, 9.5, 16, 27.5, 42)
_WICKS = (0.08, 0.05, 0.03, 0.015, -0.015, -0.03, -0.05, -0.08)  # the last price's dip (> 0) or spike


def _median3_numbers(d: Draw) -> dict[str, Any]:
    n = _funding_numbers(d)
    n["basis_ma"] = d.choice("basis_ma", _BASIS_MA)
    n["last"] = round((n["index"] + n["basis_ma"]) * (1 - d.choice("wick", _WICKS)), 1)
    return n


def _median3(n: Numbers) -> float:
    return float(
        funding_mark_price(n["index"], n["basis_ma"], n["last"], n["funding_rate"], n["time_to_funding"], n["interval"])
    )


def _price2(n: Numbers) -> float:
    return float(mark_price(n["index"], n["basis_ma"]))


def _median3_derivation(n: Numbers) -> Derivation:
    """The median-of-three lines of :func:`~tiermargin.markprice.explain_mark_price` on the student's
    index, basis MA and last price (two samples whose basis averages to the MA given; only the lines
    from Price 1 on are shown)."""
    index, last = float(n["index"]), float(n["last"])
    earlier = 2 * index + 2 * n["basis_ma"] - last  # (earlier − index + last − index)/2 = MA
    market = one_venue_market((0, 1), (index, index), (earlier, last), funding_rate=n["funding_rate"],
                              time_to_funding=n["time_to_funding"], interval=n["interval"])
    d = explain_mark_price(market, at=-1, window=2, form="median3")
    k = d.line_number("p1")
    return Derivation("The mark: median of three", d.lines[k - 1:], d.rule, d.source)


MEDIAN3 = Exercise(
    title="The mark: median of three",
    numbers=_median3_numbers,
    expected=_median3,
    answer=Value(MONEY),
    hint="Price 1 = index·(1 + funding rate·time to funding/interval), Price 2 = index + basis MA; "
    "the mark is the middle one of Price 1, Price 2 and the last price" + _see("The median of three"),
    mistakes=(
        Mistake(
            _price2,
            "that is Price 2 = index + MA(basis), OKX's mark; a perpetual's mark here is the median "
            "of Price 1, Price 2 and the last price",
        ),
        Mistake(
            lambda n: float(n["last"]),
            "that is the last price, caught in a wick; the median of three ignores it when Price 1 "
            "and Price 2 agree",
            line="last",
        ),
        Mistake(
            _price1,
            "that is Price 1 alone; the mark is the median of Price 1, Price 2 and the last price",
            line="p1",
        ),
        Mistake(
            lambda n: float(np.mean([_price1(n), _price2(n), n["last"]])),
            "that is the mean of the three; take the median (the middle one), which one wild price "
            "cannot drag",
            line="mark",
        ),
        Mistake(
            lambda n: float(n["index"]),
            "that is the index; the mark is the median of Price 1, Price 2 and the last price",
            line="mark",
        ),
    ),
    derivation=_median3_derivation,
)


# ---------------------------------------------------------------------- 4. basis moving average
_N_SAMPLES = 8
_GAPS = (2, 3, 4, 5, 6, 8, 10)  # seconds between samples: irregular
_BASES = (-14.5, -9, -6.5, -2, 1.5, 3, 5.5, 8, 12.5, 17, 24)


def _ma_numbers(d: Draw) -> dict[str, Any]:
    times = [0]
    for i in range(1, _N_SAMPLES):
        times.append(times[-1] + d.choice(f"gap {i}", _GAPS))
    price = d.choice("price", range(20_000, 70_001, 50))
    index = [price + 0.5 * d.choice(f"move {i}", range(-60, 61)) for i in range(_N_SAMPLES)]
    futures = [i + d.choice(f"basis {k}", _BASES) for k, i in enumerate(index)]
    # one sample exactly `window` seconds before the last: the window (t − w, t] leaves it out
    edge = d.choice("edge", (2, 3, 4))
    return {"times": tuple(times), "futures": tuple(futures), "index": tuple(index), "window": times[-1] - times[edge]}


def _basis_ma(n: Numbers, window: float | None = None, sign: float = 1.0) -> float:
    """MA(futures − index) at the last sample (or with a slip's window or sign)."""
    basis = sign * np.subtract(n["futures"], n["index"])
    return float(basis_moving_average(n["times"], basis, n["window"] if window is None else window)[-1])


def _basis_ma_derivation(n: Numbers) -> Derivation:
    """The basis lines of :func:`~tiermargin.markprice.explain_mark_price` at the last sample (the futures as the last price)."""
    d = explain_mark_price(one_venue_market(n["times"], n["index"], n["futures"]), at=-1, window=n["window"])
    k = d.line_number("window")
    rule = "MA = the mean of the basis (futures − index) over the samples with t − window < time ≤ t"
    return upto(Derivation("Basis moving average at the last sample", d.lines[k - 1:], rule, d.source), "basis_ma")


BASIS_MA = Exercise(
    title="The basis moving average",
    numbers=_ma_numbers,
    expected=_basis_ma,
    answer=Value(MONEY),
    hint="basis = futures − index at each sample; MA = the mean of the basis over the samples with "
    "t − window < time ≤ t, t the last time" + _see("Basis and its moving average"),
    mistakes=(
        # times are whole seconds: half a second more takes in exactly the sample on the edge
        Mistake(
            lambda n: _basis_ma(n, window=n["window"] + 0.5),
            "you included the sample exactly `window` seconds old: the window is t − window < time ≤ t",
            line="window",
        ),
        Mistake(
            lambda n: _basis_ma(n, window=n["times"][-1] - n["times"][0] + 1),
            "you averaged every sample: only those in the last `window` seconds count",
            line="window",
        ),
        Mistake(
            lambda n: _basis_ma(n, sign=-1.0),
            "the sign is reversed: basis = futures − index (positive when the futures trade above the index)",
            line="basis_1",
        ),
        Mistake(
            lambda n: float(mark_price(n["index"][-1], _basis_ma(n))),
            "that is the mark, index + MA(basis); the question asks for the MA of the basis itself",
            line="basis_ma",
        ),
    ),
    derivation=_basis_ma_derivation,
)


# ---------------------------------------------------------------------- 5. index function
def _index_function_numbers(d: Draw) -> dict[str, Any]:
    return _quote_numbers(d, d.choice("venues", (4, 5)), d.choice("threshold", (0.03, 0.05, 0.1)))


INDEX_FUNCTION = Exercise(
    title="An index function (the outlier rule)",
    numbers=_index_function_numbers,
    expected=_index,
    answer=Function(
        "index",
        ("quotes", "weights", "threshold"),
        MONEY,
        hidden=(
            {"quotes": (100.0, 101.0, 102.0), "weights": (1, 1, 1), "threshold": 0.05},
            {"quotes": (60_000.0, 60_030.0, 59_990.0, 60_010.0), "weights": (0.4, 0.3, 0.2, 0.1), "threshold": 0.05},
            # the outlier has the largest weight; weights not summing to 1
            {"quotes": (2_000.0, 2_002.0, 2_150.0, 1_999.0), "weights": (2, 2, 5, 1), "threshold": 0.05},
            # two outliers, one each side: the median of all five
            {"quotes": (30_000.0, 30_010.0, 29_990.0, 27_000.0, 33_500.0), "weights": (0.3, 0.3, 0.2, 0.1, 0.1),
             "threshold": 0.05},
            # two outliers among four venues: the median of an even count is the mean of the middle two
            {"quotes": (100.0, 101.0, 80.0, 130.0), "weights": (0.25, 0.25, 0.25, 0.25), "threshold": 0.05},
            # two outliers on the same side: the median of *all* venues, not of the kept ones
            {"quotes": (100.0, 100.4, 100.2, 90.0, 91.0), "weights": (1, 1, 1, 1, 1), "threshold": 0.05},
            # one far venue drags the mean, not the median: deviations are measured from the median
            {"quotes": (100.0, 100.0, 104.5, 135.0), "weights": (1, 1, 1, 1), "threshold": 0.05},
            # a tighter threshold drops a venue 3 % off; a wider one keeps a venue 7 % off
            {"quotes": (50_000.0, 50_050.0, 49_980.0, 51_500.0), "weights": (1, 1, 1, 1), "threshold": 0.02},
            {"quotes": (3_000.0, 3_005.0, 2_790.0, 2_998.0), "weights": (0.3, 0.3, 0.2, 0.2), "threshold": 0.1},
        ),
        # fresh lists on every call: a function that edits its arguments changes nothing here
        convert={"quotes": list, "weights": list},
    ),
    hint="m = median of all quotes; venues with |quote − m| > threshold·m are outliers; none or one: "
    "the weighted average of the others (weights rescaled to sum 1); more than one: m" + _see("Index price"),
    mistakes=INDEX_MISTAKES,
    derivation=_index_derivation,
)


# ---------------------------------------------------------------------- 6. a wick does not liquidate
_TIMES = tuple(range(0, 50, 5))  # ten samples, five seconds apart
_PREMIUMS = (2, 4.5, 6, 8.5, 10, 13)  # the perpetual's usual premium over the index, USDT


def _position(n: Numbers) -> IsolatedPosition:
    """The position ``side, qty, entry, leverage`` on the BTCUSDT table (in its first tier)."""
    return IsolatedPosition.open(bundled_table(BTC), n["side"], n["qty"], n["entry"], n["leverage"])


def _marks(n: Numbers) -> FloatArray:
    """The mark at each sample, OKX form: index + MA(last − index) over the window."""
    ma = basis_moving_average(n["times"], np.subtract(n["last"], n["index"]), n["window"])
    return np.asarray(mark_price(n["index"], ma))


def _extreme(prices: Sequence[float] | FloatArray, side: str) -> float:
    """The price most dangerous to the position: the lowest for a long, the highest for a short."""
    return float(np.min(prices) if side == "long" else np.max(prices))


def _widest_gap_middle(prices: Sequence[float], a: float, b: float) -> float:
    """The middle of the widest gap between the ``prices`` lying strictly between ``a`` and ``b``."""
    low, high = min(a, b), max(a, b)
    points = sorted({low, high, *(p for p in prices if low < p < high)})
    left, right = max(zip(points, points[1:]), key=lambda gap: gap[1] - gap[0])
    return (left + right) / 2


def _wick_numbers(d: Draw) -> dict[str, Any]:
    side = d.choice("side", SIDES)
    down = 1 if side == "long" else -1  # the wick goes against the position
    price = d.choice("price", range(25_000, 65_001, 500))
    index = [float(price)]
    for i in range(1, len(_TIMES)):
        index.append(round(index[-1] + 0.5 * d.choice(f"move {i}", range(-30, 31)), 1))
    last = [round(i + d.choice(f"premium {k}", _PREMIUMS), 1) for k, i in enumerate(index)]
    at, depth = d.choice("wick at", (4, 5, 6)), d.choice("depth", (0.03, 0.04, 0.05, 0.06, 0.08))
    for j in range(d.choice("wick length", (1, 2))):
        last[at + j] = round(index[at + j] * (1 - down * depth / (j + 1)), 1)
    n: dict[str, Any] = {
        "side": side,
        "qty": d.choice("qty", (0.1, 0.2, 0.25, 0.5)),
        "leverage": d.choice("leverage", (10, 20, 25)),
        "window": d.choice("window", (15, 20, 30)),
        "times": _TIMES,
        "index": tuple(index),
        "last": tuple(last),
    }
    # Where the liquidation price goes: between the wick in the last price and the dip of the mark
    # (the lesson's case), beyond both, or between the mark's dip and every price before the wick
    # (the mark dips far enough too); in each, as far as possible from every price of the series.
    marks = _marks(n)
    worst_last, worst_mark = _extreme(last, side), _extreme(marks, side)
    safe_before = _extreme([*last[:at], *marks[:at]], side)
    low, high = {
        "wick": (worst_last, worst_mark),
        "far": (worst_last, worst_last - down * 0.02 * price),
        "near": (worst_mark, safe_before),
    }[d.choice("scenario", ("wick", "wick", "far", "near"))]
    target = _widest_gap_middle([*last, *marks], low, high)
    # In the first tier the liquidation price is a fixed fraction of the entry: scale the entry.
    ratio = _position({**n, "entry": price}).liquidation_price().price / price
    n["entry"] = int(round(float(target / ratio)))
    n["liquidation"] = round(float(_position(n).liquidation_price().price), 2)
    return {k: n[k] for k in ("side", "qty", "entry", "leverage", "liquidation", "window", "times", "index", "last")}


def _worst(n: Numbers, prices: Sequence[float] | FloatArray, what: str, why: str, marked: bool = False) -> Derivation:
    """The health at the price of the series most dangerous to the position: liquidated on that
    series when it is ≤ 0 (in the first tier health moves one way with the price). ``marked``: the
    series is the mark, whose derivation at that sample (``explain_mark_price``) comes first."""
    prices = np.asarray(prices, dtype=float)
    k = int(np.argmin(prices) if n["side"] == "long" else np.argmax(prices))
    worst = Line("worst", f"worst {what} = {'min' if n['side'] == 'long' else 'max'} over the samples", "",
                 float(prices[k]), f"at t = {num(n['times'][k])} s; {why}")
    d = _position(n).explain("health", float(prices[k]))
    head: tuple[Line, ...] = ()
    if marked:
        market = one_venue_market(n["times"], n["index"], n["last"])
        head = renamed(explain_mark_price(market, at=k, window=n["window"]).lines, "mark_")
    return Derivation(d.title, (*head, worst, *d.lines), d.rule, d.source)


def _wick_derivations(n: Numbers) -> dict[str, Derivation]:
    return {
        "on_last": _worst(n, n["last"], "last price", "the lowest for a long, the highest for a short"),
        "on_mark": _worst(n, _marks(n), "mark", "mark = index + MA(last − index) over the window, derived above at "
                                                 "that sample", marked=True),
    }


def _wick_expected(n: Numbers) -> dict[str, bool]:
    p = _position(n)
    return {
        "on_last": p.first_liquidation(n["last"]) is not None,
        "on_mark": p.first_liquidation(_marks(n)) is not None,
    }


WICK = Exercise(
    title="A wick does not liquidate",
    numbers=_wick_numbers,
    expected=_wick_expected,
    answer=Record({"on_last": Flag(), "on_mark": Flag()}),
    hint="mark = index + MA(basis) at each sample, basis = last − index averaged over the samples with "
    "t − window < time ≤ t; a long is liquidated once the price used is at or below its liquidation "
    "price, a short once it is at or above" + _see("Basis and its moving average", "A wick does not liquidate"),
    derivation=_wick_derivations,
)


class Exercises(ExerciseSet):
    """Lesson 01 exercises for one student (``student_id=...`` or ``seed=...``).

    >>> import statistics
    >>> from tiermargin.markprice import index_price
    >>> ex = Exercises(student_id="demo")
    >>> ex.check(5, lambda quotes, weights, threshold: index_price(quotes, weights, threshold).price[0])
    Exercise 5 — correct: index is right on your numbers and on 9 hidden cases
    >>> def plain_median(quotes, weights, threshold):
    ...     return statistics.median(quotes)
    >>> ex.check(5, plain_median).hint.startswith("that is the plain median")
    True
    """

    lesson = "01"
    exercises = (FUNDING_PRICE, INDEX, MEDIAN3, BASIS_MA, INDEX_FUNCTION, WICK)
