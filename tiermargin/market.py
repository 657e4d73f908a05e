"""Reproducible synthetic market data for the lessons: spot quotes on several venues, a
perpetual's last trade and funding, with scenario knobs (a flash wick, a stale venue).

The model is deliberately simple and documented, not calibrated: a fair price follows a seeded
geometric random walk; each venue quotes it with a small independent noise; the perpetual trades
at the fair price times ``1 + basis`` where the basis mean-reverts around a premium; funding is
paid every ``funding_interval`` seconds at a constant rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _check
from ._check import FloatArray

VENUES = ("Binance", "OKX", "Coinbase", "Kraken")


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
        _check.finite("start", self.start)
        _check.positive("duration", self.duration)
        if not -1 < float(_check.finite("depth", self.depth)) < 1:
            raise ValueError(f"depth must be in (-1, 1), got {self.depth!r}")
        if self.where not in ("last", "all") and not isinstance(self.where, (int, np.integer)):
            raise ValueError(f"where must be 'last', 'all' or a venue index, got {self.where!r}")

    def factor(self, times: FloatArray) -> FloatArray:
        """Multiplier on prices: 1 outside the wick, ``1 − depth`` at its bottom (triangular shape)."""
        x = (times - self.start) / self.duration
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
        Random seed.
    duration, step : float
        Length of the sample and time between samples (seconds), > 0.
    start_price : float
        Fair price at t = 0.
    volatility : float
        Annualized volatility of the fair price (0.6 = 60 %), >= 0.
    venues : tuple of str
        Spot venue names (at least one).
    venue_noise : float
        Standard deviation of each venue's relative deviation from the fair price.
    premium : float
        Long-run basis of the perpetual over the fair price (0.0005 = 5 bp).
    funding_rate, funding_interval : float
        Constant funding rate per interval, and the interval in seconds.
    wick : Wick, optional
        A flash wick on the last trade, on one venue, or on the whole market.
    stale_venue : int, optional
        A venue that stops updating (price and timestamp frozen) from ``stale_from`` seconds.
    """
    d = float(_check.positive("duration", duration))
    dt = float(_check.positive("step", step))
    p0 = float(_check.positive("start_price", start_price))
    vol = float(_check.nonnegative("volatility", volatility))
    noise = float(_check.nonnegative("venue_noise", venue_noise))
    if noise > 0.05:
        raise ValueError(f"venue_noise must be at most 0.05 (a relative noise; larger can make quotes negative), "
                         f"got {venue_noise!r}")
    prem = float(_check.finite("premium", premium))
    if not -0.5 < prem < 0.5:
        raise ValueError(f"premium must be a relative basis in (−0.5, 0.5), got {premium!r}")
    if not venues:
        raise ValueError("venues must name at least one venue")
    rng = np.random.default_rng(seed)
    times = np.arange(0.0, d + dt / 2, dt)
    n, v = times.size, len(venues)
    sigma = vol * np.sqrt(dt / (365 * 24 * 3600))
    fair = p0 * np.exp(np.concatenate(([0.0], np.cumsum(rng.normal(-sigma**2 / 2, sigma, n - 1)))))
    if wick is not None and wick.where == "all":
        fair = fair * wick.factor(times)
    spot = fair[:, None] * (1 + rng.normal(0, venue_noise, (n, v)))
    quote_times = np.repeat(times[:, None], v, axis=1)
    basis = np.empty(n)
    basis[0] = premium
    shocks = rng.normal(0, 2e-4, n)
    for i in range(1, n):  # mean-reverting basis (AR(1) around the premium)
        basis[i] = premium + 0.9 * (basis[i - 1] - premium) + shocks[i]
    last = fair * (1 + basis) * (1 + rng.normal(0, venue_noise, n))
    if wick is not None:
        if wick.where == "last":
            last = last * wick.factor(times)
        elif wick.where == "all":
            pass  # already in the fair price
        elif not 0 <= wick.where < v:
            raise ValueError(f"wick.where must be 'last' or a venue index in 0..{v - 1}, got {wick.where!r}")
        else:
            spot[:, wick.where] *= wick.factor(times)
    if stale_venue is not None:
        if not 0 <= stale_venue < v:
            raise ValueError(f"stale_venue must be a venue index in 0..{v - 1}, got {stale_venue!r}")
        frozen = times >= stale_from
        if frozen.any():
            k = int(np.argmax(frozen))
            spot[frozen, stale_venue] = spot[k, stale_venue]
            quote_times[frozen, stale_venue] = times[k]
    interval = float(_check.positive("funding_interval", funding_interval))
    return Market(
        times=times,
        venues=tuple(venues),
        spot=spot,
        quote_times=quote_times,
        last=last,
        funding_rate=np.full(n, float(_check.finite("funding_rate", funding_rate))),
        time_to_funding=interval - np.mod(times, interval),
        funding_interval=interval,
    )
