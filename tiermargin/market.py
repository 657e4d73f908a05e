"""Reproducible synthetic market data for the lessons: spot quotes on several venues, a
perpetual's last trade and funding, with scenario knobs (a flash wick, a stale venue).

The model is deliberately simple and documented, not calibrated: a fair price follows a seeded
geometric random walk; each venue quotes it with a small independent noise; the perpetual trades
at the fair price times ``1 + basis`` where the basis mean-reverts around a premium; funding is
paid every ``funding_interval`` seconds at a constant rate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from . import _check
from ._check import FloatArray

VENUES = ("Binance", "OKX", "Coinbase", "Kraken")
MAX_SAMPLES = 1_000_000
"""The most samples a synthetic market may have (``duration ÷ step + 1``): a week of 1-second samples
is 604,801; a tiny ``step`` would otherwise fill the memory."""


def _venue_index(name: str, x: object, n: int | None = None) -> int:
    """``x`` as a venue index: an int >= 0 (and below ``n``, the number of venues, when given), not a bool."""
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < 0 or (n is not None and x >= n):
        raise ValueError(f"{name} must be a venue index in {f'0..{n - 1}' if n is not None else '0, 1, ...'}, got {x!r}")
    return int(x)


@dataclass(frozen=True)
class Wick:
    """A flash wick: prices dip (``depth`` > 0) or spike (< 0) by up to ``depth`` and recover.

    Parameters
    ----------
    start, duration : float
        When it starts and how long it lasts (seconds).
    depth : float
        Largest relative move, in (−1, 1): 0.2 is a 20 % dip at the bottom of the wick.
    where : "last", "all" or int
        The perpetual's last trade (``"last"``), the index of one spot venue, or the whole market
        (``"all"``: the fair price itself, so every venue, the index and the last trade move: a crash).
    """

    start: float
    duration: float
    depth: float
    where: str | int = "last"

    def __post_init__(self) -> None:
        _check.one_number("start", self.start)
        _check.one_number("duration", self.duration, _check.positive)
        if not -1 < _check.one_number("depth", self.depth) < 1:
            raise ValueError(f"depth must be in (-1, 1), got {self.depth!r}")
        if isinstance(self.where, str):
            _check.one_of("where", self.where, ("last", "all"))
        else:
            _venue_index("where ('last', 'all' or a venue index)", self.where)

    def factor(self, times: ArrayLike) -> FloatArray:
        """Multiplier on prices at ``times`` (finite): 1 outside the wick, ``1 − depth`` at its bottom
        (triangular shape)."""
        x = (_check.finite("times", times) - self.start) / self.duration
        shape = np.clip(1 - np.abs(2 * x - 1), 0, None) * ((x >= 0) & (x <= 1))
        return 1 - self.depth * shape


@dataclass(frozen=True)
class Market:
    """A synthetic market: every array is aligned on ``times``.

    Attributes
    ----------
    times : (T,) seconds from the start
    venues : names of the spot venues
    spot : (T, V) spot quotes
    quote_times : (T, V) when each quote was last updated (a stale venue stops updating)
    last : (T,) the perpetual's last trade
    funding_rate : (T,) the current funding rate
    time_to_funding : (T,) seconds until the next funding
    funding_interval : seconds between fundings
    """

    times: FloatArray
    venues: tuple[str, ...]
    spot: FloatArray
    quote_times: FloatArray
    last: FloatArray
    funding_rate: FloatArray
    time_to_funding: FloatArray
    funding_interval: float


def synthetic_market(
    seed: int = 0,
    duration: float = 3_600.0,
    step: float = 5.0,
    start_price: float = 60_000.0,
    volatility: float = 0.6,
    venues: tuple[str, ...] = VENUES,
    venue_noise: float = 0.0002,
    premium: float = 0.0005,
    funding_rate: float = 0.0001,
    funding_interval: float = 28_800.0,
    wick: Wick | None = None,
    stale_venue: int | None = None,
    stale_from: float = 0.0,
) -> Market:
    """Seeded synthetic market data (same seed → same data on any machine).

    Parameters
    ----------
    seed : int
        Random seed, >= 0.
    duration, step : float
        Length of the sample and time between samples (seconds), > 0; at most
        :data:`MAX_SAMPLES` samples.
    start_price : float
        Fair price at t = 0.
    volatility : float
        Annualized volatility of the fair price (0.6 = 60 %), >= 0; the path must stay within the
        floats (a volatility of 1e9 % over a year does not).
    venues : tuple of str
        Spot venue names (at least one, distinct).
    venue_noise : float
        Standard deviation of each venue's relative deviation from the fair price.
    premium : float
        Long-run basis of the perpetual over the fair price (0.0005 = 5 bp).
    funding_rate, funding_interval : float
        Constant funding rate per interval, in (−1, 1), and the interval in seconds, > 0.
    wick : Wick, optional
        A flash wick on the last trade, on one venue, or on the whole market.
    stale_venue : int, optional
        A venue that stops updating (price and timestamp frozen) from ``stale_from`` seconds.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an int >= 0 (the same seed gives the same market), got {seed!r}")
    d = _check.one_number("duration", duration, _check.positive)
    dt = _check.one_number("step", step, _check.positive)
    if d / dt + 1 > MAX_SAMPLES:
        raise ValueError(f"step must leave at most {MAX_SAMPLES:,} samples in the duration {d:g} s, got {step!r} "
                         f"({d / dt + 1:,.0f} samples)")
    p0 = _check.one_number("start_price", start_price, _check.positive)
    vol = abs(_check.one_number("volatility", volatility, _check.nonnegative))  # abs: -0.0 is 0.0 to numpy's normal
    noise = abs(_check.one_number("venue_noise", venue_noise, _check.nonnegative))
    if noise > 0.05:
        raise ValueError(f"venue_noise must be at most 0.05 (a relative noise; larger can make quotes negative), "
                         f"got {venue_noise!r}")
    prem = _check.one_number("premium", premium)
    if not -0.5 < prem < 0.5:
        raise ValueError(f"premium must be a relative basis in (−0.5, 0.5), got {premium!r}")
    rate = _check.one_number("funding_rate", funding_rate)
    if not -1 < rate < 1:
        raise ValueError(f"funding_rate must be a rate per interval in (−1, 1), got {funding_rate!r}")
    interval = _check.one_number("funding_interval", funding_interval, _check.positive)
    if (isinstance(venues, str) or not isinstance(venues, Sequence) or not venues
            or not all(isinstance(x, str) and x for x in venues) or len(set(venues)) != len(venues)):
        raise ValueError(f"venues must be a sequence of distinct venue names (non-empty str), at least one, "
                         f"got {venues!r}")
    if wick is not None and not isinstance(wick, Wick):
        raise TypeError(f"wick must be a Wick or None, got {wick!r}")
    from_t = _check.one_number("stale_from", stale_from)
    rng = np.random.default_rng(seed)
    times = np.arange(0.0, d + dt / 2, dt)
    n, v = times.size, len(venues)
    sigma = vol * math.sqrt(dt / (365 * 24 * 3600))
    log_fair = np.concatenate(([0.0], np.cumsum(rng.normal(-sigma**2 / 2, sigma, n - 1))))
    if np.abs(log_fair).max() + abs(math.log(p0)) > 700:  # exp(700) ≈ 1e304: the path would leave the floats
        raise ValueError(f"volatility must be smaller for a duration of {d:g} s (the price path leaves the "
                         f"floating-point range), got {volatility!r}")
    fair = p0 * np.exp(log_fair)
    if wick is not None and wick.where == "all":
        fair = fair * wick.factor(times)
    spot = fair[:, None] * (1 + rng.normal(0, noise, (n, v)))
    quote_times = np.repeat(times[:, None], v, axis=1)
    basis = np.empty(n)
    basis[0] = prem
    shocks = rng.normal(0, 2e-4, n)
    for i in range(1, n):  # mean-reverting basis (AR(1) around the premium)
        basis[i] = prem + 0.9 * (basis[i - 1] - prem) + shocks[i]
    last = fair * (1 + basis) * (1 + rng.normal(0, noise, n))
    if wick is not None:
        if wick.where == "last":
            last = last * wick.factor(times)
        elif wick.where == "all":
            pass  # already in the fair price
        else:
            spot[:, _venue_index("wick.where", wick.where, v)] *= wick.factor(times)
    if stale_venue is not None:
        stale_venue = _venue_index("stale_venue", stale_venue, v)
        frozen = times >= from_t
        if frozen.any():
            k = int(np.argmax(frozen))
            spot[frozen, stale_venue] = spot[k, stale_venue]
            quote_times[frozen, stale_venue] = times[k]
    return Market(
        times=times,
        venues=tuple(venues),
        spot=spot,
        quote_times=quote_times,
        last=last,
        funding_rate=np.full(n, rate),
        time_to_funding=interval - np.mod(times, interval),
        funding_interval=interval,
    )
