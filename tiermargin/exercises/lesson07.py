"""Exercises for lesson 07, cascades: why tiers exist (``lessons/07_cascades.ipynb``).

From easy to hard:

1. ``BOOK_MOVE`` — the book's price move for a liquidation order of ``notional`` USD into a book
   ``depth`` USD deep per 1 %, ``move = −V/(100·depth)`` in log price (a liquidated long sells, a
   short buys), and the order's average fill ``price·exp(move/2)``;
2. ``RECOVERY`` — resilience: the share of a displacement still there ``after`` seconds with a
   half-life of ``half_life`` seconds, ``2^(−t/h)``, and how long until a share ``recovered`` of it
   has been refilled;
3. ``VENUE_MARK`` — the mark after a drop on this venue only: ``index + MA(basis)`` over a trailing
   window, given the index and last prices of a few marks;
4. ``MULTIPLIER`` — the cascade multiplier of a run from its numbers: (shock order + notional
   liquidated) ÷ (shock order + notional liquidated by the shock alone, in an infinitely deep book);
5. ``NO_TIERS`` — tiers or no tiers: run :func:`tiermargin.cascade.compare` on the ``"tiers"`` axis
   and read how much more notional is liquidated, and how much more the fund loses, without tiers.

How a lesson cell shows them (lessons/07_cascades.ipynb, "Exercises" cells)::

    from tiermargin.exercises import lesson07
    ex = lesson07.Exercises(student_id="demo")   # or seed=42; the numbers follow the id
    ex                                           # the list of the five exercises

    ex.task(1)                                   # side, price, notional, depth
    ex.check(1, move=..., fill=...)              # move: a fraction (log price), fill: USDT
    ex.task(2)                                   # half_life, after, recovered
    ex.check(2, left=..., time=...)              # left: a fraction, time: seconds
    ex.task(3)                                   # times, index, last, window
    ex.check(3, ...)                             # the mark at the last time, USDT
    ex.task(4)                                   # traders, seed, size, depth, shock_order, liquidated, alone
    ex.check(4, ...)                             # the multiplier (a number, 1 = no amplification)
    ex.task(5)                                   # venue, traders, seed, size, at, depth, policy, duration
    ex.check(5, extra_notional=..., extra_fund_loss=...)   # USD, USDT

Exercise 5 is read from the library: with ``t = ex.task(5)``, the runs are
``cs.compare(cs.population(t.venue, t.traders, seed=t.seed), "tiers", cs.Shock("market", t.size,
at=t.at), Book(t.depth), policy=t.policy, duration=t.duration, seed=t.seed)`` (``cs`` is
:mod:`tiermargin.cascade`, ``Book`` :class:`tiermargin.orderbook.Book`), and the answers are the
``cs.NO_TIERS`` run's ``summary()`` minus the ``"tiered"`` run's, of "notional liquidated (USD)" and
"fund loss". Exercise 4's numbers are those of ``cs.run(cs.population(VENUE, t.traders, seed=t.seed),
cs.Shock("venue", t.size, at=AT), Book(t.depth), policy="one-tier", duration=DURATION, seed=t.seed)``.

The hints point at the lesson's sections :data:`SECTIONS` (by title).

Every expected answer comes from :mod:`tiermargin.orderbook` (``Book.move``, ``Book.fill``,
``Book.recovery``), :mod:`tiermargin.markprice` (``basis_moving_average``, ``mark_price``) and
:mod:`tiermargin.cascade` (``run``, ``compare``, ``Cascade.multiplier``, ``Cascade.summary``); the
student's numbers come from their id.

>>> ex = Exercises(student_id="demo")
>>> ex.check(3, None)
Exercise 3 — not attempted: replace ... with your answer
>>> ex.check(3, "57000")
Exercise 3 — wrong: got a str ('57000'). Hint: the answer is a number in USDT
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from typing import Any

import numpy as np

from .. import cascade as cs
from ..derivation import Derivation
from ..markprice import basis_moving_average, explain_mark_price, mark_price
from ..orderbook import Book
from .core import (
    MONEY,
    RATIO,
    Draw,
    Exercise,
    ExerciseSet,
    Mistake,
    Number,
    Numbers,
    Record,
    Value,
    see,
)
from .show import one_venue_market, upto

LESSON = "lessons/07_cascades.ipynb"
SIDES = ("long", "short")
PRICE = MONEY  # USDT, to the cent
SECONDS = Number("seconds", rel_tol=1e-6, abs_tol=1e-6, spec=",.6g")
MULTIPLIER_KIND = Number(rel_tol=1e-6, abs_tol=1e-12, spec=".6g")
USD = Number("USD", abs_tol=0.01, rel_tol=1e-12)

# The lesson's sections the hints point to (headings of lessons/07_cascades.ipynb).
BOOK_SECTION = "The order book: depth and price impact"
RESILIENCE_SECTION = "Resilience: the book refills"
MARK_SECTION = "The mark in a venue-only drop"
MULTIPLIER_SECTION = "The cascade multiplier"
TIERS_SECTION = "Why tiers: the market without them"
SECTIONS = (BOOK_SECTION, RESILIENCE_SECTION, MARK_SECTION, MULTIPLIER_SECTION, TIERS_SECTION)

# The runs of exercises 4 and 5: the lesson's market (Binance USDⓈ-M BTCUSDT tiers), the shock half
# an hour into a two-hour run of one-minute marks.
VENUE = "binance-usdm"
AT = 1_800  # seconds
DURATION = 7_200  # seconds

_see = partial(see, LESSON)


def _plain(x: float) -> int | float:
    """A number as a student reads it: ``66550`` rather than ``66550.0``."""
    x = float(x)
    return int(x) if x.is_integer() else x


def _sign(side: str) -> int:
    return 1 if side == "long" else -1


def _distinct(kind: Any, values: Sequence[Any]) -> bool:
    """True when no two of ``values`` (the answer and the slips' answers) match as ``kind``: each
    recognised slip then gets its own hint."""
    return not any(kind.matches(a, b) for i, a in enumerate(values) for b in values[i + 1:])


def _fields_distinct(fields: dict[str, Any], right: Numbers, mistakes: Sequence[Mistake], n: Numbers) -> bool:
    """For each field of a record, the right value and every mistake's value for it are distinct."""
    wrong = [m.answer(n) for m in mistakes]
    return all(_distinct(kind, [right[name], *(w[name] for w in wrong if name in w)]) for name, kind in fields.items())


# ---------------------------------------------------------------------- 1. the book's move and fill
_DEPTHS = (2_000_000, 5_000_000, 10_000_000, 20_000_000, 25_000_000, 40_000_000, 50_000_000, 100_000_000)
_MULTIPLES = (0.3, 0.45, 0.6, 0.8, 1.2, 1.5, 2.5, 3.5, 4, 6, 7.5)  # the order as a multiple of the depth


def _order(n: Numbers) -> float:
    """The signed notional the book sees: a liquidated long sells (> 0), a short buys (< 0)."""
    return _sign(n["side"]) * n["notional"]


def _move(n: Numbers, per_cent: bool = False) -> float:
    """``Book.move`` of the order (or, ``per_cent``, what forgetting the /100 gives: 100× the move)."""
    m = float(Book(n["depth"]).move(_order(n)))
    return 100 * m if per_cent else m


def _book(n: Numbers) -> dict[str, float]:
    return {"move": _move(n), "fill": float(Book(n["depth"]).fill(n["price"], _order(n)))}


def _book_derivations(n: Numbers) -> dict[str, Derivation]:
    """``Book.explain_order`` on the student's order: its move line, and the average fill (its result)."""
    d = Book(n["depth"]).explain_order(_order(n), n["price"])
    return {"move": upto(d, "move", title=f"The book's move for {d.title[0].lower()}{d.title[1:]}"), "fill": d}


BOOK_MISTAKES = (
    Mistake(
        lambda n: {"move": _move(n, per_cent=True), "fill": n["price"] * math.exp(_move(n, per_cent=True) / 2)},
        "the depth is what rests per 1 % of price, so V/depth is the move in per cent: divide by 100 "
        "more, move = −V/(100·depth)",
        line="move",
    ),
    Mistake(
        lambda n: {"move": -_move(n), "fill": n["price"] * math.exp(-_move(n) / 2)},
        "the sign is reversed: a liquidated long's order is a sale, which pushes the price down "
        "(move < 0, a fill below the price); a short's is a buy (move > 0, a fill above)",
        line="move",
    ),
    Mistake(
        lambda n: {"fill": n["price"] * math.exp(_move(n))},
        "that is the price after the whole sweep: the order fills on average at the midpoint of its "
        "sweep, price·exp(move/2)",
        line="fill",
    ),
    Mistake(
        lambda n: {"fill": n["price"] * (1 + _move(n) / 2)},
        "the move is in log price: the average fill is price·exp(move/2), not price·(1 + move/2)",
        line="fill",
    ),
    Mistake(
        lambda n: {"move": math.expm1(_move(n))},
        "that is the relative change of the price, e^move − 1: give the move in log price, "
        "Δ ln P = −V/(100·depth)",
        line="move",
    ),
    Mistake(
        lambda n: {"move": n["price"] * math.expm1(_move(n))},
        "that is the change of the price in USDT: give the move in log price, a fraction, "
        "Δ ln P = −V/(100·depth)",
        line="move",
    ),
    Mistake(
        lambda n: {"fill": float(n["price"])},
        "the order does not all fill at the price it started from: it walks the book, and fills on "
        "average at price·exp(move/2)",
        line="fill",
    ),
)

BOOK_FIELDS = {"move": RATIO, "fill": PRICE}


def _book_numbers(d: Draw) -> dict[str, Any]:
    def make(key: str) -> dict[str, Any]:
        depth = d.choice(f"depth {key}", _DEPTHS)
        return {
            "side": d.choice(f"side {key}", SIDES),
            "price": d.choice(f"price {key}", range(20_000, 70_001, 10)),
            "notional": int(round(depth * d.choice(f"multiple {key}", _MULTIPLES))),
            "depth": depth,
        }

    return d.until("order", make, lambda n: _fields_distinct(BOOK_FIELDS, _book(n), BOOK_MISTAKES, n))


BOOK_MOVE = Exercise(
    title="The book's move and the average fill",
    numbers=_book_numbers,
    expected=_book,
    answer=Record(BOOK_FIELDS),
    hint="the book holds `depth` USD per 1 % of price: a sale of V USD moves the mid by "
    "Δ ln P = −V/(100·depth) (a buy: +V/(100·depth)), and fills on average at the midpoint of its "
    "sweep, price·exp(Δ ln P / 2)" + _see(BOOK_SECTION),
    mistakes=BOOK_MISTAKES,
    derivation=_book_derivations,
)


# ---------------------------------------------------------------------- 2. resilience
_HALF_LIVES = (30, 45, 60, 90, 120, 180, 240, 300, 600)
_AFTER = (0.25, 0.5, 0.75, 1.5, 2.5, 3.5, 5)  # as a multiple of the half-life
_RECOVERED = (0.6, 0.7, 0.75, 0.8, 0.9, 0.95, 0.99)


def _time_until(half_life: float, left: float) -> float:
    """Seconds until a share ``left`` of a displacement is still there (:meth:`Book.time_to`)."""
    return Book(half_life=half_life).time_to(left)


def _recovery(n: Numbers) -> dict[str, float]:
    return {"left": Book(half_life=n["half_life"]).recovery(n["after"]),
            "time": _time_until(n["half_life"], 1 - n["recovered"])}


RECOVERY_MISTAKES = (
    Mistake(
        lambda n: {"left": max(1 - n["after"] / (2 * n["half_life"]), 0.0),
                   "time": 2 * n["half_life"] * n["recovered"]},
        "the book does not refill at a constant rate: it refills half of what is left every half-life "
        "(exponentially), so the share left after t seconds is 2^(−t/h)",
        line="law",
    ),
    Mistake(
        lambda n: {"left": max(1 - n["after"] / n["half_life"], 0.0), "time": n["half_life"] * n["recovered"]},
        "the half-life is the time to refill half of the displacement, not all of it: the share left "
        "after t seconds is 2^(−t/h)",
        line="law",
    ),
    Mistake(
        lambda n: {"left": math.exp(-n["after"] / n["half_life"]),
                   "time": n["half_life"] * math.log(1 / (1 - n["recovered"]))},
        "h is a half-life, not a time constant: the share left is 2^(−t/h) = e^(−t·ln 2/h), so "
        "t = h·log₂(1/share left)",
        line="law",
    ),
    Mistake(
        lambda n: {"left": 1 - Book(half_life=n["half_life"]).recovery(n["after"]),
                   "time": _time_until(n["half_life"], n["recovered"])},
        "you swapped the share refilled and the share left: after t seconds 2^(−t/h) of the "
        "displacement is still there, and 1 − 2^(−t/h) has been refilled",
        line="law",
    ),
)

RECOVERY_FIELDS = {"left": RATIO, "time": SECONDS}


def _recovery_numbers(d: Draw) -> dict[str, Any]:
    def make(key: str) -> dict[str, Any]:
        h = d.choice(f"half_life {key}", _HALF_LIVES)
        after = h * d.choice(f"after {key}", _AFTER)
        return {"half_life": h, "after": _plain(after),
                "recovered": d.choice(f"recovered {key}", _RECOVERED)}

    return d.until("resilience", make,
                   lambda n: _fields_distinct(RECOVERY_FIELDS, _recovery(n), RECOVERY_MISTAKES, n))


RECOVERY = Exercise(
    title="How fast the book refills",
    numbers=_recovery_numbers,
    expected=_recovery,
    answer=Record(RECOVERY_FIELDS),
    hint="market makers refill half of what is left of the displacement every half-life h: after t "
    "seconds a share 2^(−t/h) of it is still there; a share r has been refilled when 2^(−t/h) = 1 − r, "
    "t = h·log₂(1/(1 − r))" + _see(RESILIENCE_SECTION),
    mistakes=RECOVERY_MISTAKES,
    derivation=lambda n: {"left": Book(half_life=n["half_life"]).explain_recovery(after=n["after"]),
                          "time": Book(half_life=n["half_life"]).explain_recovery(recovered=n["recovered"])},
)


# ---------------------------------------------------------------------- 3. the mark in a venue-only drop
_STEPS = (30, 60)
_WINDOW_SAMPLES = (3, 4, 5)
_DROPS = (0.03, 0.05, 0.08, 0.1, 0.12, 0.15)
_ARBITRAGE = (0.1, 0.2, 0.3)
_BOOK_HALF_LIVES = (60, 120, 300)
_NOISE = tuple(x / 2 for x in range(-16, 17))  # the basis before the drop, USDT
_APART = 0.002  # the mark is at least 0.2 % above the last price and below the index: clearly between


def _basis_ma(n: Numbers, window: float | None = None, price: bool = False) -> float:
    """MA over the window of the basis last − index (of the last price itself if ``price``)."""
    series = np.asarray(n["last"], dtype=float) - (0.0 if price else np.asarray(n["index"], dtype=float))
    return float(basis_moving_average(n["times"], series, n["window"] if window is None else window)[-1])


def _mark(n: Numbers) -> float:
    return float(mark_price(n["index"][-1], _basis_ma(n)))


def _mark_with(n: Numbers, window: float) -> float:
    """The mark with the basis averaged over another window (a slip's answer)."""
    return float(mark_price(n["index"][-1], _basis_ma(n, window=window)))


MARK_MISTAKES = (
    Mistake(
        lambda n: float(n["last"][-1]),
        "that is the last price (index + the current basis): liquidations use the mark, index + the "
        "moving average of the basis, which a drop on this venue alone moves only in part",
        line="mark",
    ),
    Mistake(
        lambda n: _basis_ma(n, price=True),
        "you averaged the last price: the mark averages the basis, last − index, over the window and "
        "adds it to the current index",
        line="basis_1",
    ),
    Mistake(
        lambda n: float(n["index"][-1]),
        "that is the index alone: add the moving average of the basis, last − index, over the window",
        line="mark",
    ),
    Mistake(
        lambda n: float(n["index"][-1]) - _basis_ma(n),
        "the sign is reversed: basis = last − index, and mark = index + MA(basis)",
        line="mark",
    ),
    Mistake(
        lambda n: _mark_with(n, window=n["times"][-1] - n["times"][0] + 1),
        "you averaged the basis over every sample: only those of the last `window` seconds count",
        line="window",
    ),
    # times are whole seconds, a step apart: half a step more takes in exactly the sample on the edge
    Mistake(
        lambda n: _mark_with(n, window=n["window"] + (n["times"][1] - n["times"][0]) / 2),
        "you included the sample exactly `window` seconds old: the window is t − window < time ≤ t",
        line="window",
    ),
)


def _mark_numbers(d: Draw) -> dict[str, Any]:
    """A few marks of a venue-only drop: the last price drops by ``drop`` at one sample and the book
    refills it with its half-life (``Book.recovery``); the index follows a share of the displacement.
    The drop is inside the last sample's window, with samples before it there too, and the mark is
    clearly between the last price and the index (late in a fast recovery it would lag below the last
    price: not this exercise's case)."""

    def make(key: str) -> dict[str, Any]:
        step = d.choice(f"step {key}", _STEPS)
        inside = d.choice(f"window samples {key}", _WINDOW_SAMPLES)
        count = inside + d.choice(f"before {key}", (2, 3, 4))
        after = d.choice(f"after drop {key}", range(1, inside))  # samples from the drop on, all in the window
        at = count - after
        decay = Book(half_life=d.choice(f"book half-life {key}", _BOOK_HALF_LIVES)).recovery(step)
        beta = d.choice(f"arbitrage {key}", _ARBITRAGE)
        shock = math.log1p(-d.choice(f"drop {key}", _DROPS))
        fair = float(d.choice(f"price {key}", range(20_000, 70_001, 50)))
        index, last = [], []
        for k in range(count):
            fair += d.choice(f"walk {k} {key}", range(-30, 31, 5)) if k else 0
            disp = shock * decay ** (k - at) if k >= at else 0.0
            index.append(_plain(round(fair * math.exp(beta * disp), 1)))
            last.append(_plain(round(fair * math.exp(disp) + d.choice(f"basis {k} {key}", _NOISE), 1)))
        return {"times": tuple(k * step for k in range(count)), "index": tuple(index), "last": tuple(last),
                "window": inside * step}

    def accept(n: dict[str, Any]) -> bool:
        mark, room = _mark(n), _APART * n["index"][-1]
        return n["last"][-1] + room < mark < n["index"][-1] - room and _distinct(
            PRICE, [mark, *(m.answer(n) for m in MARK_MISTAKES)])

    return d.until("marks", make, accept)


def _mark_derivation(n: Numbers) -> Derivation:
    """``explain_mark_price`` (OKX form) at the last sample, the index given (one venue quoting it)."""
    return explain_mark_price(one_venue_market(n["times"], n["index"], n["last"]), at=-1, window=n["window"])


VENUE_MARK = Exercise(
    title="The mark in a venue-only drop",
    numbers=_mark_numbers,
    expected=_mark,
    answer=Value(PRICE),
    hint="basis = last − index at each time; MA = the mean of the basis over the samples with "
    "t − window < time ≤ t, t the last time; mark = the index at t + MA" + _see(MARK_SECTION),
    mistakes=MARK_MISTAKES,
    derivation=_mark_derivation,
)


# ---------------------------------------------------------------------- runs of the cascade
_TRADERS = (2_000, 3_000, 4_000)


@functools.lru_cache(maxsize=32)  # a population of a few thousand traders is redrawn in ~20 ms
def _population(traders: int, seed: int) -> cs.Population:
    return cs.population(VENUE, traders, seed=seed)


@functools.lru_cache(maxsize=64)
def _venue_run(traders: int, seed: int, size: float, depth: float) -> cs.Cascade:
    """Exercise 4's run: a drop of ``size`` on this venue, with its baseline (an infinitely deep book)."""
    return cs.run(_population(traders, seed), cs.Shock("venue", size, at=AT), Book(depth), policy="one-tier",
                  duration=DURATION, seed=seed)


@functools.lru_cache(maxsize=16)  # the runs themselves (for the derivation): a few MB each comparison
def _tier_cascades(traders: int, seed: int, size: float, depth: float, policy: str) -> dict[str, cs.Cascade]:
    """Exercise 5's comparison: label → run (``compare`` on the "tiers" axis, a market-wide drop)."""
    return cs.compare(_population(traders, seed), "tiers", cs.Shock("market", size, at=AT), Book(depth),
                      policy=policy, duration=DURATION, seed=seed, baseline=False)


@functools.lru_cache(maxsize=256)
def _tier_runs(traders: int, seed: int, size: float, depth: float, policy: str) -> dict[str, dict[str, Any]]:
    """Exercise 5's comparison: label → summary."""
    return {label: c.summary() for label, c in _tier_cascades(traders, seed, size, depth, policy).items()}


# ---------------------------------------------------------------------- 4. the cascade multiplier
_VENUE_DROPS = (0.03, 0.04, 0.05, 0.06, 0.08, 0.1)
_VENUE_DEPTHS = (2_000_000, 3_000_000, 5_000_000)


def _multiplier_numbers(d: Draw) -> dict[str, Any]:
    def make(key: str) -> dict[str, Any]:
        n = {"traders": d.choice(f"traders {key}", _TRADERS), "seed": d.choice(f"seed {key}", range(1, 1_000)),
             "size": d.choice(f"size {key}", _VENUE_DROPS), "depth": d.choice(f"depth {key}", _VENUE_DEPTHS)}
        c = _venue_run(n["traders"], n["seed"], n["size"], n["depth"])
        s = c.summary()
        return {**n, "shock_order": int(round(s["shock order (USD)"])),
                "liquidated": int(round(s["notional liquidated (USD)"])), "alone": int(round(c.baseline or 0))}

    def accept(n: dict[str, Any]) -> bool:
        return n["alone"] > 0 and n["liquidated"] > n["alone"] and _distinct(
            MULTIPLIER_KIND, [_multiplier(n), *(m.answer(n) for m in MULTIPLIER_MISTAKES)])

    return d.until("run", make, accept)


def _shown_run(n: Numbers) -> cs.Cascade:
    """Exercise 4's run with the numbers shown (whole USD): its shock order, notional liquidated and baseline."""
    c = _venue_run(n["traders"], n["seed"], n["size"], n["depth"])
    return replace(c, shock_order=float(n["shock_order"]), notional=np.array([float(n["liquidated"])]),
                   baseline=float(n["alone"]))


def _multiplier(n: Numbers) -> float:
    """``Cascade.multiplier`` of the run with the numbers shown (whole USD)."""
    return float(_shown_run(n).multiplier)


def _multiplier_derivation(n: Numbers) -> Derivation:
    """``Cascade.explain("multiplier")`` of the run with the numbers shown."""
    return _shown_run(n).explain("multiplier", label="your run")


def _ratio(top: Callable[[Numbers], float], bottom: Callable[[Numbers], float]) -> Callable[[Numbers], float]:
    return lambda n: top(n) / bottom(n)


def _total(n: Numbers) -> float:
    return float(n["shock_order"] + n["liquidated"])


def _alone(n: Numbers) -> float:
    return float(n["shock_order"] + n["alone"])


MULTIPLIER_MISTAKES = (
    Mistake(
        _ratio(_alone, _total),
        "the ratio is inverted: the multiplier is the volume with the book's impact over the volume "
        "without it, (shock order + liquidated)/(shock order + alone), > 1 when the book amplifies",
        line="multiplier",
    ),
    Mistake(
        _ratio(lambda n: float(n["liquidated"]), lambda n: float(n["alone"])),
        "the shock's own sale is part of the volume on both sides: (shock order + liquidated)/"
        "(shock order + alone)",
        line="total",
    ),
    Mistake(
        _ratio(_total, lambda n: float(n["alone"])),
        "the shock's own sale happens in the infinitely deep book too: add it to the denominator as "
        "well, (shock order + liquidated)/(shock order + alone)",
        line="total_alone",
    ),
    Mistake(
        _ratio(lambda n: float(n["liquidated"]), _alone),
        "count the shock's own sale in the numerator too: (shock order + liquidated)/(shock order + alone)",
        line="total",
    ),
    Mistake(
        lambda n: _total(n) / _alone(n) - 1,
        "that is the multiplier minus 1, the extra share: the multiplier is the ratio itself",
        line="multiplier",
    ),
)

MULTIPLIER = Exercise(
    title="The cascade multiplier",
    numbers=_multiplier_numbers,
    expected=_multiplier,
    answer=Value(MULTIPLIER_KIND),
    hint="the multiplier compares the volume the shock sets off through this book with the volume it "
    "sets off in an infinitely deep one: (shock order + notional liquidated)/(shock order + notional "
    "liquidated by the shock alone)" + _see(MULTIPLIER_SECTION),
    mistakes=MULTIPLIER_MISTAKES,
    derivation=_multiplier_derivation,
)


# ---------------------------------------------------------------------- 5. tiers or no tiers
_MARKET_DROPS = (0.02, 0.03, 0.04, 0.05)
_MARKET_DEPTHS = (5_000_000, 10_000_000, 20_000_000)
_POLICIES = ("one-tier", "lowest-sufficient")
NOTIONAL = "notional liquidated (USD)"
FUND_LOSS = "fund loss"


def _runs(n: Numbers) -> dict[str, dict[str, Any]]:
    return _tier_runs(n["traders"], n["seed"], n["size"], n["depth"], n["policy"])


def _extra(n: Numbers, other: str = cs.NO_TIERS, base: str = "tiered", notional: str = NOTIONAL,
           fund: str = FUND_LOSS) -> dict[str, float]:
    """``other``'s notional liquidated and fund loss minus ``base``'s (variants by label; a slip's
    answer with other labels or other summary fields)."""
    runs = _runs(n)
    return {"extra_notional": float(runs[other][notional] - runs[base][notional]),
            "extra_fund_loss": float(runs[other][fund] - runs[base][fund])}


def _flat(n: Numbers, which: str) -> str:
    """The label of the flat variant ending in ``which`` ("(tier 1)" or "(average)")."""
    return next(label for label in _runs(n) if label.startswith("flat") and label.endswith(which))


TIERS_MISTAKES = (
    Mistake(
        lambda n: _extra(n, other=_flat(n, "(tier 1)")),
        "that is the flat tier-1 rate charged on the same margins (the \"flat … (tier 1)\" run): the "
        "market without tiers is cs.NO_TIERS, the same draw where large positions may be as leveraged "
        "as small ones",
        line="run",
    ),
    Mistake(
        lambda n: _extra(n, other=_flat(n, "(average)")),
        "that is the flat average rate charged on the same margins: the market without tiers is "
        "cs.NO_TIERS",
        line="run",
    ),
    Mistake(
        lambda n: _extra(n, other="tiered", base=cs.NO_TIERS),
        "the sign is reversed: give the run without tiers minus the tiered run (more without tiers: > 0)",
        line="difference",
    ),
    Mistake(
        lambda n: {"extra_notional": _extra(n, notional="contracts liquidated")["extra_notional"]},
        "those are contracts: give the notional liquidated, in USD (\"notional liquidated (USD)\")",
        line="notional",
    ),
    Mistake(
        lambda n: {"extra_notional": _extra(n, notional="traders liquidated")["extra_notional"]},
        "that is the number of traders: give the notional liquidated, in USD (\"notional liquidated (USD)\")",
        line="notional",
    ),
)

TIERS_FIELDS = {"extra_notional": USD, "extra_fund_loss": MONEY}


def _tiers_derivations(n: Numbers) -> dict[str, Derivation]:
    """``Cascade.explain`` of the run without tiers versus the tiered run: notional liquidated, fund loss."""
    runs = _tier_cascades(n["traders"], n["seed"], n["size"], n["depth"], n["policy"])
    none, tiered = runs[cs.NO_TIERS], runs["tiered"]
    return {field: none.explain(what, versus=tiered, label="no tiers", versus_label="tiered")
            for field, what in (("extra_notional", "notional"), ("extra_fund_loss", "fund_loss"))}


def _tiers_numbers(d: Draw) -> dict[str, Any]:
    def make(key: str) -> dict[str, Any]:
        return {"venue": VENUE, "traders": d.choice(f"traders {key}", _TRADERS),
                "seed": d.choice(f"seed {key}", range(1, 1_000)), "size": d.choice(f"size {key}", _MARKET_DROPS),
                "at": AT, "depth": d.choice(f"depth {key}", _MARKET_DEPTHS),
                "policy": d.choice(f"policy {key}", _POLICIES), "duration": DURATION}

    def accept(n: dict[str, Any]) -> bool:
        right = _extra(n)
        return abs(right["extra_notional"]) >= 1_000 and abs(right["extra_fund_loss"]) >= 1 and _fields_distinct(
            TIERS_FIELDS, right, TIERS_MISTAKES, n)

    return d.until("comparison", make, accept)


NO_TIERS = Exercise(
    title="Tiers or no tiers",
    numbers=_tiers_numbers,
    expected=_extra,
    answer=Record(TIERS_FIELDS),
    hint="run cs.compare on the \"tiers\" axis with your numbers and read two summaries: the \"tiered\" "
    "run and the cs.NO_TIERS run; give the one without tiers minus the tiered one, of \"notional "
    "liquidated (USD)\" and of \"fund loss\"" + _see(TIERS_SECTION),
    mistakes=TIERS_MISTAKES,
    derivation=_tiers_derivations,
)


class Exercises(ExerciseSet):
    """Lesson 07 exercises for one student (``student_id=...`` or ``seed=...``).

    >>> ex = Exercises(student_id="demo")
    >>> ex.check(2, **{part: d.result for part, d in ex.show(2)}).correct
    True
    >>> ex.check(4, ex.show(4).result - 1).hint.startswith("that is the multiplier minus 1")
    True
    """

    lesson = "07"
    exercises = (BOOK_MOVE, RECOVERY, VENUE_MARK, MULTIPLIER, NO_TIERS)
