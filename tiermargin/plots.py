"""Matplotlib figure builders that create their artists once and update them in place.

Each builder takes data computed by the core layers (it never computes margin itself), draws it
once, and exposes ``update(...)`` that moves the existing artists: explorers redraw without
re-creating figures. Import cost stays out of ``import tiermargin``: this module is imported by
the widgets and lessons only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
from html import escape
import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap, to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator, MultipleLocator, NullFormatter
from matplotlib.transforms import ScaledTranslation
from numpy.typing import ArrayLike

from .cascade import Cascade
from .cross import CrossAccount
from .isolated import IsolatedPosition
from .replay import PositionPath
from .tiers import TierTable
from .waterfall import Waterfall

#: Okabe and Ito's colour-blind-safe palette ("Color Universal Design", 2008; recommended by Wong,
#: "Points of view: Color blindness", Nature Methods 8, 441, 2011): with black and greys, the only
#: colours the course's figures use, so that every pair stays distinct under the common colour-vision
#: deficiencies (red and green are never the only difference: vermillion and bluish green differ in
#: lightness too). Lessons pick their colours from it by name.
PALETTE = {"blue": "#0072B2", "orange": "#E69F00", "green": "#009E73", "vermillion": "#D55E00",
           "purple": "#CC79A7", "sky": "#56B4E9", "yellow": "#F0E442", "black": "#000000"}
#: the palette in the order figures with several runs use it
CYCLE = tuple(PALETTE.values())


def tint(color: str, share: float) -> str:
    """``color`` mixed with white, ``share`` of it kept (a light background of a palette colour).

    >>> tint("#0072B2", 0.5)
    '#80b8d8'
    """
    rgb = np.array(to_rgb(color))
    return to_hex(1.0 - share * (1.0 - rgb))


def new_figure(width: float = 8.0, height: float = 4.2) -> Figure:
    """A figure under the active backend, not displayed on creation.

    With ``%matplotlib widget`` (ipympl) its canvas is a widget an explorer can embed and redraw in
    place; under Agg or inline it is a plain figure.
    """
    with plt.ioff():
        fig = plt.figure(figsize=(width, height))
    fig.subplots_adjust(left=0.12, right=0.95, bottom=0.13, top=0.97)  # fixed: no per-draw layout solve
    canvas = fig.canvas
    for attr, value in (("header_visible", False), ("footer_visible", False), ("resizable", False)):
        if hasattr(canvas, attr):
            setattr(canvas, attr, value)
    return fig


@dataclass
class MarginCurves:
    """What :class:`MarginPlot` draws: curves over a price grid plus the key prices.

    Attributes
    ----------
    price : array
        Mark prices of the grid (x axis).
    equity, requirement : array
        Equity and maintenance requirement at each price, in the settle currency.
    liquidated : array of bool
        Where health ≤ 0 (the shaded liquidation zone).
    mark : float
        Current mark price.
    liquidation, bankruptcy : float or None
        Liquidation and bankruptcy prices, or None where they do not exist.
    boundaries : array
        Prices at which the position crosses a tier boundary.
    """

    price: np.ndarray
    equity: np.ndarray
    requirement: np.ndarray
    liquidated: np.ndarray
    mark: float
    liquidation: float | None
    bankruptcy: float | None
    boundaries: np.ndarray

    @classmethod
    def for_position(
        cls, pos: IsolatedPosition, mark: float, window: tuple[float, float] | None = None, points: int = 400
    ) -> MarginCurves:
        """Evaluate a (scalar) position over ``window`` (default: one showing its mark, LP and BP)."""
        lp, bp = pos.liquidation_price(), pos.bankruptcy_price()
        liq = lp.price if lp.exists else None
        bank = bp.price if bp.exists else None
        lo, hi = window or price_window([mark, liq, bank], float(pos.entry))
        price = np.linspace(lo, hi, points)
        b = pos.tier_boundary_prices()
        return cls(price, np.asarray(pos.equity(price)), np.asarray(pos.requirement(price)),
                   np.asarray(pos.is_liquidated(price)), mark, liq, bank, b[(b > lo) & (b < hi)])


class FrameBlit:
    """Blitting shared by the plot builders: the *frame* (every artist not in ``animated``) is
    drawn once and cached; :meth:`render` then draws only the ``animated`` artists over it.

    Subclasses set ``ax`` (any axes of the figure), ``blit``, ``animated`` (artists created with
    ``animated=blit``) and ``_background`` (``None`` whenever the frame must be redrawn). Every
    builder whose explorer redraws often uses it.
    """

    ax: Axes
    blit: bool
    animated: list
    _background: object | None
    #: an optional middle layer (plots with a replay cursor): artists drawn over the frame and cached with
    #: it as ``_data_background`` (None: redraw them), so moving ``animated`` alone redraws only it
    data: Sequence = ()
    _data_background: object | None = None

    _listening: object | None = None

    def render(self) -> None:
        """Draw: the whole figure if the frame changed (or ``blit=False``), the data layer if it changed,
        then the ``animated`` artists over the cached layers."""
        canvas = self.ax.figure.canvas
        if not self.blit:
            canvas.draw_idle()
            return
        if self._listening is not canvas:  # every full draw re-caches the frame (see _on_draw)
            canvas.mpl_connect("draw_event", self._on_draw)
            self._listening = canvas
        if self._background is None:
            canvas.draw()  # its draw event caches the frame and paints the layers over it
            return
        self._paint()

    def _on_draw(self, event: object) -> None:
        """After any full draw of the live canvas (ours, or the front end's: its first show of the figure,
        a resize), which leaves the blitted artists out: cache the new frame and paint them back over it.
        Without this a figure shown in a browser has no moving artists until a control moves."""
        canvas = self.ax.figure.canvas
        if canvas.is_saving():  # savefig draws the artists itself
            return
        self._background, self._data_background = canvas.copy_from_bbox(self.ax.figure.bbox), None
        self._paint()

    def _paint(self) -> None:
        """The data layer (cached) and the ``animated`` artists over the cached frame, then a blit."""
        canvas, box = self.ax.figure.canvas, self.ax.figure.bbox
        cached = self._background
        if self.data:
            if self._data_background is None:
                canvas.restore_region(self._background)
                for artist in self.data:
                    artist.axes.draw_artist(artist)
                self._data_background = canvas.copy_from_bbox(box)
            cached = self._data_background
        canvas.restore_region(cached)
        for artist in self.animated:
            artist.axes.draw_artist(artist)
        canvas.blit(box)


class MarginPlot(FrameBlit):
    """Equity and requirement against the mark price, with the liquidation zone and tier boundaries.

    With ``blit=True`` the mark line is drawn over a cached background: moving only the mark
    (:meth:`move_mark` then :meth:`render`) redraws one line, not the figure. Use ``blit=False``
    where the figure is shown as a static image (inline backend, savefig).

    Parameters
    ----------
    ax : Axes
        Where to draw.
    currency : str
        Settle currency, for the axis labels.
    """

    #: (label, matplotlib style) of each artist: one source for the artists and the HTML key
    STYLE = {
        "equity": ("equity (margin + UPL)", dict(color=PALETTE["blue"], lw=2)),
        "requirement": ("requirement (MM + fee reserve)", dict(color=PALETTE["orange"], lw=2, ls="--")),
        "zone": ("liquidated (health ≤ 0)", dict(color=PALETTE["vermillion"], alpha=0.12, lw=0)),
        "boundaries": ("tier boundary", dict(colors="0.55", linestyles=":", lw=1)),
        "mark": ("mark", dict(color="black", lw=1.2)),
        "liquidation": ("liquidation price", dict(color=PALETTE["vermillion"], lw=1.5)),
        "bankruptcy": ("bankruptcy price", dict(color=PALETTE["purple"], lw=1.2, ls="-.")),
    }

    def __init__(self, ax: Axes, currency: str, blit: bool = True, legend: bool = True) -> None:
        self.ax = ax
        self.blit = blit
        self._background = None
        x = np.array([0.0, 1.0])
        st = {k: dict(label=label, **kw) for k, (label, kw) in self.STYLE.items()}
        self.equity_line = ax.plot(x, x, **st["equity"])[0]
        self.requirement_line = ax.plot(x, x, **st["requirement"])[0]
        self.zone = ax.fill_between(x, 0, 1, **st["zone"])
        self.boundaries = ax.vlines([], 0, 1, transform=ax.get_xaxis_transform(), **st["boundaries"])
        self.mark_line = ax.axvline(0, animated=blit, **st["mark"])
        self.animated = [self.mark_line]
        self.liquidation_line = ax.axvline(0, **st["liquidation"])
        self.bankruptcy_line = ax.axvline(0, **st["bankruptcy"])
        self.set_currency(currency)
        ax.axhline(0, color="0.3", lw=0.6)
        ax.grid(alpha=0.3)
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_locator(MaxNLocator(6))
            axis.set_major_formatter(FuncFormatter(_thousands))
        if legend:
            ax.legend(loc="upper left", fontsize=8, framealpha=0.85)

    def set_currency(self, currency: str, price_unit: str | None = None) -> None:
        """Relabel the axes: amounts in the settle currency, prices in ``price_unit`` (default the same)."""
        self.ax.set_xlabel(f"mark price ({price_unit or currency})")
        self.ax.set_ylabel(f"amount ({currency})")

    def move_mark(self, mark: float) -> None:
        """Move only the mark line (the curves are unchanged); :meth:`render` then blits it."""
        _set_vline(self.mark_line, mark)

    def update(self, c: MarginCurves) -> None:
        """Move every artist to the new curves (no artist is created or removed)."""
        self._background = None
        self.equity_line.set_data(c.price, c.equity)
        self.requirement_line.set_data(c.price, c.requirement)
        lo = float(min(np.min(c.equity), np.min(c.requirement), 0.0))
        hi = float(max(np.max(c.equity), np.max(c.requirement)))
        pad = 0.08 * (hi - lo or 1.0)
        self.zone.set_data(c.price, lo - pad, hi + pad, where=c.liquidated)
        self.boundaries.set_segments([[(b, 0), (b, 1)] for b in c.boundaries])
        _set_vline(self.mark_line, c.mark)
        _set_vline(self.liquidation_line, c.liquidation)
        _set_vline(self.bankruptcy_line, c.bankruptcy)
        self.ax.set_xlim(c.price[0], c.price[-1])
        self.ax.set_ylim(lo - pad, hi + pad)


def legend_html(style: dict[str, tuple[str, dict]]) -> str:
    """A plot's key as HTML, from its ``STYLE`` table (explorers show it beside the figure, so
    redraws pay nothing for a legend)."""
    items = []
    for label, kw in style.values():
        color = to_hex(kw.get("color", kw.get("colors")))
        if "marker" in kw:
            swatch = f"<b style='color:{color};margin:0 6px 0 10px'>✕</b>"
        else:
            ls = kw.get("ls", kw.get("linestyles", "-"))
            border = {"--": "dashed", ":": "dotted", "-.": "dashed"}.get(ls, "solid")
            css = (f"background:{color};opacity:0.35;height:10px" if "alpha" in kw
                   else f"border-top:2px {border} {color};height:0")
            swatch = f"<span style='display:inline-block;width:22px;margin:0 4px 2px 10px;{css}'></span>"
        items.append(swatch + escape(label))
    return f"<div style='font-size:12px'>{''.join(items)}</div>"


def legend_handles(style: Mapping[str, tuple[str, dict]]) -> list[Artist]:
    """A plot's key as matplotlib legend handles, from its ``STYLE`` table: a patch for a filled area
    (``lw=0``), else a line with the style's colour, line style, width and marker. Explorers draw these
    into their static figure, which shows no HTML key beside it."""
    handles: list[Artist] = []
    for label, kw in style.values():
        color = kw.get("color", kw.get("colors"))
        if kw.get("lw") == 0:
            handles.append(Patch(facecolor=color, alpha=max(kw.get("alpha", 1.0), 0.35), label=label))
            continue
        line = {k: v for k, v in kw.items() if k in ("lw", "ls", "marker", "ms", "mew", "mec", "alpha")}
        line.setdefault("ls", kw.get("linestyles", "-"))
        handles.append(Line2D([], [], color=color, label=label, **line))
    return handles


def _thousands(x: float, _pos: int) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 or x == 0 else f"{x:.4g}"


def _set_vline(line, x: float | None) -> None:
    line.set_visible(x is not None)
    if x is not None:
        line.set_xdata([x, x])


def price_window(prices: Sequence[float | None], entry: float, margin: float = 0.25) -> tuple[float, float]:
    """An x range around ``entry`` that shows every given price (None ignored), padded.

    Never below zero and at least ±5 % of the entry wide.
    """
    xs = [p for p in prices if p is not None and np.isfinite(p)] + [entry]
    lo, hi = min(xs), max(xs)
    span = max(hi - lo, 0.1 * entry)
    return max(lo - margin * span, 1e-9 * entry), hi + margin * span


def plot_max_leverage(ax: Axes, table: TierTable, highlight: ArrayLike | None = None) -> None:
    """Max leverage against position size, as the staircase the tier table defines.

    Parameters
    ----------
    ax : Axes
    table : TierTable
        Must publish max leverage.
    highlight : float, optional
        A size to mark on the staircase.
    """
    if table.max_leverage is None:
        raise ValueError(f"table {table.id or '(unnamed)'} does not publish max leverage")
    caps = np.where(np.isinf(table.caps), table.floors * 2 + 1, table.caps)
    edges = np.concatenate((table.floors[:1], caps))
    ax.stairs(table.max_leverage, edges, color=PALETTE["blue"], lw=2, label="max leverage")
    ax.set_xscale("symlog", linthresh=max(edges[1] / 10, 1e-9))
    ax.set_xlabel(f"position size ({table.unit})")
    ax.set_ylabel("max leverage (×)")
    if highlight is not None:
        ax.axvline(float(highlight), color="black", lw=1, ls="--", label="your position")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


@dataclass
class PriceSeries:
    """What :class:`PriceSeriesPlot` draws: last, index and mark over time, and a position's line.

    Attributes
    ----------
    minutes : array
        Time axis (minutes).
    last, index, mark : array
        The perpetual's last trade, the spot index and the mark price.
    liquidation : float or None
        The position's liquidation price (None if it has none).
    first_by_last, first_by_mark : int or None
        Sample at which the position would first be liquidated marking to the last price, and to
        the mark price (None: never).
    """

    minutes: np.ndarray
    last: np.ndarray
    index: np.ndarray
    mark: np.ndarray
    liquidation: float | None
    first_by_last: int | None
    first_by_mark: int | None


class PriceSeriesPlot:
    """Last trade, index and mark price over time with a position's liquidation price.

    Parameters
    ----------
    ax : Axes
    currency : str
        Price unit for the y label.
    """

    STYLE = {
        "last": ("last trade (perpetual)", dict(color="0.55", lw=1)),
        "index": ("index (spot venues)", dict(color=PALETTE["green"], lw=1.5)),
        "mark": ("mark price", dict(color=PALETTE["blue"], lw=2)),
        "liquidation": ("position's liquidation price", dict(color=PALETTE["vermillion"], lw=1.5, ls="--")),
        "by_last": ("liquidated if marked to the last trade", dict(color=PALETTE["vermillion"], marker="X", ms=10, ls="none")),
        "by_mark": ("liquidated if marked to the mark price", dict(color=PALETTE["blue"], marker="X", ms=10, ls="none")),
    }

    def __init__(self, ax: Axes, currency: str) -> None:
        self.ax = ax
        st = {k: dict(label=label, **kw) for k, (label, kw) in self.STYLE.items()}
        x = np.array([0.0, 1.0])
        self.last_line = ax.plot(x, x, **st["last"])[0]
        self.index_line = ax.plot(x, x, **st["index"])[0]
        self.mark_line = ax.plot(x, x, **st["mark"])[0]
        self.liquidation_line = ax.axhline(0, **st["liquidation"])
        self.by_last = ax.plot([], [], **st["by_last"])[0]
        self.by_mark = ax.plot([], [], **st["by_mark"])[0]
        ax.set_xlabel("time (minutes)")
        ax.set_ylabel(f"price ({currency})")
        ax.grid(alpha=0.3)
        ax.yaxis.set_major_locator(MaxNLocator(6))
        ax.yaxis.set_major_formatter(FuncFormatter(_thousands))

    def update(self, s: PriceSeries) -> None:
        """Move every artist to the new series (no artist is created or removed)."""
        for line, y in ((self.last_line, s.last), (self.index_line, s.index), (self.mark_line, s.mark)):
            line.set_data(s.minutes, y)
        self.liquidation_line.set_visible(s.liquidation is not None)
        if s.liquidation is not None:
            self.liquidation_line.set_ydata([s.liquidation, s.liquidation])
        for marker, i, y in ((self.by_last, s.first_by_last, s.last), (self.by_mark, s.first_by_mark, s.mark)):
            marker.set_data(([s.minutes[i]], [y[i]]) if i is not None else ([], []))
        ys = [s.last, s.index, s.mark] + ([[s.liquidation]] if s.liquidation is not None else [])
        lo, hi = min(float(np.min(y)) for y in ys), max(float(np.max(y)) for y in ys)
        pad = 0.05 * (hi - lo or 1.0)
        self.ax.set_xlim(s.minutes[0], s.minutes[-1])
        self.ax.set_ylim(lo - pad, hi + pad)


@dataclass
class CrossView:
    """What :class:`CrossPlot` draws: a cross account's health along one underlying's price (the
    other held) and over a grid of two underlyings' prices.

    Attributes
    ----------
    names : (str, str)
        The two underlyings: ``names[0]`` on the x axes, ``names[1]`` on the surface's y axis.
    x : array
        Prices of ``names[0]`` (x grid of both panels).
    health : array
        Account health along ``x``, ``names[1]`` held at its current price.
    liquidated : array of bool
        Where that health is ≤ 0.
    surface_x, surface_y : array
        The surface's grid: prices of ``names[0]`` and ``names[1]``.
    surface : array, shape (len(surface_x), len(surface_y))
        Health over the grid (:meth:`~tiermargin.cross.CrossAccount.surface`); 0 is the liquidation surface.
    current : (float, float)
        Current prices of the two underlyings.
    liquidation : (float or None, float or None)
        Liquidation prices of ``names[0]`` below and above its current price (None: none, or the
        account is liquidated already).
    isolated : float or None
        Liquidation price of a comparison isolated position (None: not shown).
    currency : str
        Currency of health (the account's reporting currency).
    price_unit : str
        Unit of the prices.
    """

    names: tuple[str, str]
    x: np.ndarray
    health: np.ndarray
    liquidated: np.ndarray
    surface_x: np.ndarray
    surface_y: np.ndarray
    surface: np.ndarray
    current: tuple[float, float]
    liquidation: tuple[float | None, float | None]
    isolated: float | None
    currency: str
    price_unit: str

    @classmethod
    def for_account(
        cls,
        account: CrossAccount,
        prices: Mapping[str, float],
        windows: Mapping[str, tuple[float, float]],
        liquidation: tuple[float | None, float | None],
        isolated: float | None = None,
        price_unit: str = "USDT",
        points: tuple[int, int] = (300, 120),
    ) -> CrossView:
        """Evaluate ``account`` over ``windows`` (two underlyings → (low, high), x first).

        ``points`` is (points along the health curve, points per surface axis). Liquidation prices
        are passed in (the caller has them for its readouts; the account's solver is not cheap).
        """
        if len(windows) != 2:
            raise ValueError(f"windows must name two underlyings, got {list(windows)}")
        (nx, (x0, x1)), (ny, (y0, y1)) = windows.items()
        x = np.linspace(x0, x1, points[0])
        sx, sy = np.linspace(x0, x1, points[1]), np.linspace(y0, y1, points[1])
        held = {**prices, nx: x}
        health = np.broadcast_to(account.health(held), x.shape)  # a scalar where nothing depends on nx
        liquidated = np.broadcast_to(account.is_liquidated(held), x.shape)
        return cls((nx, ny), x, health, liquidated,
                   sx, sy, account.surface(prices, {nx: sx, ny: sy}),
                   (float(prices[nx]), float(prices[ny])), liquidation, isolated, account.currency, price_unit)


#: diverging (ColorBrewer RdBu, colour-blind safe), centred on 0 with a visible step there: the
#: liquidation surface is the colour boundary
HEALTH_CMAP = ListedColormap(np.vstack((plt.get_cmap("RdBu")(np.linspace(0.0, 0.32, 128)),
                                        plt.get_cmap("RdBu")(np.linspace(0.68, 1.0, 128)))), name="health")


class CrossPlot(FrameBlit):
    """A cross account's health: left, along one underlying's price (the other held); right, over
    both prices as an image whose red/blue boundary is the liquidation surface (health = 0).

    Artists are created once; :meth:`update` moves them (the image by ``set_data``/``set_extent``,
    since a contour set cannot be updated in place). The health axis and the colour scale are
    rounded up to 1, 2, 2.5 or 5 × 10ⁿ, so most changes keep the frame (axes, ticks, colour bar).
    With ``blit=True`` the data artists are drawn over a cached frame and :meth:`render` redraws
    the whole figure only when the frame changed; use ``blit=False`` where the figure is shown as a
    static image (inline backend, savefig).

    Parameters
    ----------
    ax_health, ax_surface : Axes
        Where to draw the two panels.
    blit : bool
        Draw the data over a cached frame.
    """

    STYLE = {
        "health": ("account health (2nd underlying held)", dict(color=PALETTE["blue"], lw=2)),
        "zone": ("liquidated (health ≤ 0)", dict(color=PALETTE["vermillion"], alpha=0.12, lw=0)),
        "safe": ("health > 0 (surface)", dict(color=HEALTH_CMAP(0.85), alpha=0.5, lw=0)),
        "current": ("current prices", dict(color="black", lw=1.2)),
        "liquidation": ("cross liquidation price", dict(color=PALETTE["vermillion"], lw=1.5)),
        "isolated": ("same position isolated: liquidation price", dict(color=PALETTE["purple"], lw=1.5, ls="--")),
        "slice": ("slice shown on the left", dict(color="black", lw=0.8, ls=":")),
        "marker": ("current prices (surface)", dict(color="black", marker="X", ms=9, ls="none")),
        "liq_marker": ("cross liquidation prices (surface)", dict(color=PALETTE["vermillion"], marker="X", ms=8, ls="none")),
    }

    def __init__(self, ax_health: Axes, ax_surface: Axes, blit: bool = True) -> None:
        self.ax, self.ax_surface = ax_health, ax_surface
        self.blit = blit
        self._background = None
        self._frame: tuple = ()
        st = {k: dict(label=label, animated=blit, **kw) for k, (label, kw) in self.STYLE.items()}
        x = np.array([0.0, 1.0])
        ax = ax_health
        self.zone = ax.fill_between(x, 0, 1, **st["zone"])
        self.health_line = ax.plot(x, x, **st["health"])[0]
        ax.axhline(0, color="0.3", lw=0.6)
        self.current_line = ax.axvline(0, **st["current"])
        self.liquidation_lines = (ax.axvline(0, **st["liquidation"]), ax.axvline(0, **st["liquidation"]))
        self.isolated_line = ax.axvline(0, **st["isolated"])
        ax.grid(alpha=0.3)
        s = ax_surface
        self.image = s.imshow(np.zeros((2, 2)), origin="lower", aspect="auto", cmap=HEALTH_CMAP,
                              interpolation="nearest", interpolation_stage="data",
                              extent=(0, 1, 0, 1), animated=blit)
        self.colorbar = s.figure.colorbar(self.image, ax=s, fraction=0.06, pad=0.03)
        self.colorbar.formatter = FuncFormatter(_thousands)
        self.slice_line = s.axhline(0, **st["slice"])
        self.marker = s.plot([], [], **st["marker"])[0]
        self.liquidation_markers = s.plot([], [], **st["liq_marker"])[0]
        for a in (ax, s):
            for axis in (a.xaxis, a.yaxis):
                axis.set_major_locator(MaxNLocator(5))
                axis.set_major_formatter(FuncFormatter(_thousands))
        #: drawn over the cached frame, in this order
        self.animated = [self.zone, self.health_line, self.current_line, *self.liquidation_lines,
                         self.isolated_line, self.image, self.slice_line, self.marker, self.liquidation_markers]

    def update(self, v: CrossView) -> None:
        """Move every artist to the new view (no artist is created or removed)."""
        x0, y0 = v.current
        lo = min(float(np.min(v.health)), float(np.min(v.surface)), 0.0)
        hi = max(float(np.max(v.health)), float(np.max(v.surface)), 0.0)
        lo, hi = -nice_ceiling(-lo), nice_ceiling(hi)
        pad = 0.05 * (hi - lo or 1.0)
        ylim = (lo - pad * (lo == 0), hi + pad * (hi == 0))  # room for the zero line at an edge
        m = nice_ceiling(max(-lo, hi)) or 1.0
        frame = (v.names, v.currency, v.price_unit, (v.x[0], v.x[-1]), ylim, m,
                 (v.surface_x[0], v.surface_x[-1], v.surface_y[0], v.surface_y[-1]))
        if frame != self._frame:
            self._set_frame(v, ylim, m)
            self._frame, self._background = frame, None

        self.health_line.set_data(v.x, v.health)
        self.zone.set_data(v.x, *ylim, where=v.liquidated)
        _set_vline(self.current_line, x0)
        for line, lp in zip(self.liquidation_lines, v.liquidation):
            _set_vline(line, lp)
        _set_vline(self.isolated_line, v.isolated)
        self.image.set_data(v.surface.T)  # rows: the y underlying
        self.slice_line.set_ydata([y0, y0])
        self.marker.set_data([x0], [y0])
        lps = [p for p in v.liquidation if p is not None]
        self.liquidation_markers.set_data(lps, [y0] * len(lps))

    def _set_frame(self, v: CrossView, ylim: tuple[float, float], m: float) -> None:
        (nx, ny), cur, unit = v.names, v.currency, v.price_unit
        self.ax.set_xlabel(f"{nx} price ({unit})")
        self.ax.set_ylabel(f"health ({cur})")
        self.ax_surface.set_xlabel(f"{nx} price ({unit})")
        self.ax_surface.set_ylabel(f"{ny} price ({unit})")
        self.colorbar.set_label(f"health ({cur}); 0 = liquidation surface")
        self.ax.set_xlim(v.x[0], v.x[-1])
        self.ax.set_ylim(*ylim)
        sx, sy = v.surface_x, v.surface_y
        dx, dy = (sx[-1] - sx[0]) / (sx.size - 1) / 2, (sy[-1] - sy[0]) / (sy.size - 1) / 2
        self.image.set_extent((sx[0] - dx, sx[-1] + dx, sy[0] - dy, sy[-1] + dy))  # pixel centres on the grid
        self.image.set_clim(-m, m)  # centred on 0: the colour step is the liquidation surface


def nice_ceiling(x: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10ⁿ that is ≥ ``x`` (0 for ``x`` ≤ 0): stable axis limits."""
    if not x > 0:
        return 0.0
    e = 10.0 ** np.floor(np.log10(x))
    return float(next(k * e for k in (1, 2, 2.5, 5, 10) if k * e >= x * (1 - 1e-12)))


# ---------------------------------------------------------------------- tier tables against size
def size_window(table: TierTable, include: float | None = None) -> tuple[float, float]:
    """A range of position sizes (basis units, for a log axis) that shows every tier of ``table``.

    From a hundredth of the first cap (tier 1 is flat below it) to the last cap, or to ten times
    the last floor when the last tier is unbounded (10⁶ for a single unbounded tier); widened when
    needed down to a tenth of ``include`` (e.g. an example position) and, for an unbounded table,
    up to ten times it.
    """
    caps = table.caps[np.isfinite(table.caps)]
    if np.isfinite(table.max_size):
        hi = table.max_size
    else:
        hi = 10.0 * float(table.floors[-1]) if table.n_tiers > 1 else 1e6
    lo = float(caps[0]) / 100 if caps.size else hi / 1e4
    if include is not None and include > 0:
        lo = min(lo, include / 10)
        hi = max(hi, 10 * include) if np.isinf(table.max_size) else hi
    return lo, hi


def size_grid(table: TierTable, lo: float, hi: float, points: int = 400) -> np.ndarray:
    """Sizes from ``lo`` to ``hi`` (geometric), plus each tier boundary inside and a point a hair
    (10⁻⁹ relative) either side of it, so that a jump at a boundary is drawn vertical and on the
    correct side whether the table's tiers are closed left or right. Empty if ``lo >= hi``."""
    if not 0 < lo < hi:
        return np.empty(0)
    b = table.caps[:-1]
    b = b[(b > lo) & (b < hi)]
    return np.unique(np.concatenate((np.geomspace(lo, hi, points), b * (1 - 1e-9), b, b * (1 + 1e-9))))


@dataclass
class TierCurves:
    """One venue's tier table over a size grid, as :class:`TierPlot` draws it.

    Attributes
    ----------
    table : TierTable
        The table as charged (its form may be overridden by the caller).
    other : TierTable
        The same rows in the other form (step ↔ continuous): the dashed comparison curve.
    price : float
        The price that values contracts and converts to USD (the entry price).
    in_usd : bool
        x in USD notional and amounts in USD (venues overlaid), instead of the table's basis units
        and settle currency.
    size : array
        The grid in basis units.
    x : array
        The grid in plot units.
    mm, mm_other : array
        Maintenance margin of a position of each size under ``table`` and ``other`` (plot units).
    max_leverage : array or None
        Max leverage at each size (None: the table does not publish it).
    boundaries : array
        Tier boundaries inside the grid, in plot units.
    """

    table: TierTable
    other: TierTable
    price: float
    in_usd: bool
    size: np.ndarray
    x: np.ndarray
    mm: np.ndarray
    mm_other: np.ndarray
    max_leverage: np.ndarray | None
    boundaries: np.ndarray

    @classmethod
    def for_table(cls, table: TierTable, price: float, window: tuple[float, float], in_usd: bool = False,
                  points: int = 400) -> TierCurves:
        """Evaluate ``table`` (and its other form) over ``window`` (basis units) at ``price``."""
        other = table.with_form("step" if table.form == "continuous" else "continuous")
        lo, hi = window
        size = size_grid(table, lo, hi, points)
        b = table.caps[:-1]
        lev = None
        if table.max_leverage is not None:
            lev = np.asarray(table.max_leverage_at(size)) if size.size else np.empty(0)
        return cls(table, other, float(price), in_usd, size, _plot_x(table, size, price, in_usd),
                   _plot_mm(table, size, price, in_usd), _plot_mm(other, size, price, in_usd), lev,
                   _plot_x(table, b[(b > lo) & (b < hi)], price, in_usd))

    def x_of(self, size: ArrayLike) -> np.ndarray:
        """Plot coordinate of sizes in basis units: themselves, or their USD notional at ``price``."""
        return _plot_x(self.table, size, self.price, self.in_usd)

    def amount(self, settle: float) -> float:
        """A settle-currency amount in plot units (USD at ``price`` when ``in_usd``)."""
        return float(self.table.contract.to_usd(settle, self.price)) if self.in_usd else float(settle)


def _plot_x(table: TierTable, size: ArrayLike, price: float, in_usd: bool) -> np.ndarray:
    """Sizes (basis units) as plotted: themselves, or their USD notional at ``price``."""
    s = np.asarray(size, dtype=np.float64)
    return np.asarray(table.usd_notional(s, price)) if in_usd and s.size else s


def _plot_mm(table: TierTable, size: ArrayLike, price: float, in_usd: bool) -> np.ndarray:
    """Maintenance margin of positions of ``size`` basis units, in the settle currency or USD."""
    s = np.asarray(size, dtype=np.float64)
    if not s.size:
        return s
    mm = table.maintenance_margin(s, table.unit_value(price))
    return np.asarray(table.contract.to_usd(mm, price) if in_usd else mm)


@dataclass
class TierView:
    """What :class:`TierPlot` draws: venue A's curves and, when overlaid, venue B's over the same
    USD range (both then in USD: different venues measure size in different units).

    Attributes
    ----------
    a, b : TierCurves, TierCurves or None
    x_label, mm_label : str
        Axis labels (they say when sizes and amounts are converted to USD).
    """

    a: TierCurves
    b: TierCurves | None
    x_label: str
    mm_label: str

    @classmethod
    def for_tables(cls, a: TierTable, b: TierTable | None, price: float, window: tuple[float, float],
                   points: int = 400) -> TierView:
        """Curves of ``a`` over ``window`` (its basis units) and of ``b`` over the same USD notional
        range (up to its last cap), at ``price``."""
        in_usd = b is not None
        ca = TierCurves.for_table(a, price, window, in_usd, points)
        cb = None
        if b is not None:
            lo, hi = (float(x) for x in b.size_at_usd(a.usd_notional(np.asarray(window), price), price))
            cb = TierCurves.for_table(b, price, (lo, min(hi, b.max_size)), True, points)
            return cls(ca, cb, "position notional in USD at the entry price (each venue's size converted)",
                       "maintenance margin (USD at the entry price)")
        return cls(ca, cb, f"position size ({a.unit})", f"maintenance margin ({a.contract.settle})")


class TierPlot(FrameBlit):
    """A tier table against position size: left, maintenance margin (log-log; dashed: the same rows
    in the other form, to show the jump of the step form and the deduction that removes it); right,
    max leverage (the staircase). Tier boundaries dotted, the current size and leverage marked;
    venue B in another colour when overlaid.

    Artists are created once; :meth:`update` moves the curves and :meth:`move` the markers. As in
    :class:`CrossPlot`, the frame (axes, ticks, labels) is cached and only redrawn when it changes:
    the amount axis is snapped to whole decades, so a change of size, side, leverage or form
    usually redraws the data only; a change of venue redraws the frame. ``blit=False`` where the
    figure is shown as a static image (inline backend, savefig).

    Parameters
    ----------
    ax_mm, ax_leverage : Axes
        The two panels.
    blit : bool
        Draw the data over a cached frame.
    """

    STYLE = {
        "a": ("venue A (MM; max leverage)", dict(color=PALETTE["blue"], lw=2)),
        "a_other": ("venue A, rows in the other form (step ↔ continuous)", dict(color=PALETTE["blue"], lw=1.2, ls="--")),
        "a_bounds": ("venue A tier boundary", dict(colors=PALETTE["blue"], linestyles=":", lw=0.8)),
        "b": ("venue B (MM; max leverage)", dict(color=PALETTE["orange"], lw=2)),
        "b_bounds": ("venue B tier boundary", dict(colors=PALETTE["orange"], linestyles=":", lw=0.8)),
        "size": ("current size", dict(color="black", lw=1.0)),
        "leverage": ("chosen leverage", dict(color="0.35", lw=1.0, ls="-.")),
        "marker": ("venue A position", dict(color=PALETTE["blue"], marker="X", ms=9, ls="none", mec="black")),
        "marker_b": ("venue B position", dict(color=PALETTE["orange"], marker="X", ms=9, ls="none", mec="black")),
    }

    def __init__(self, ax_mm: Axes, ax_leverage: Axes, blit: bool = True) -> None:
        self.ax, self.ax_leverage = ax_mm, ax_leverage
        self.blit = blit
        self._background = None
        self._frame: tuple = ()
        st = {k: dict(label=label, animated=blit, **kw) for k, (label, kw) in self.STYLE.items()}
        x = np.array([1.0, 10.0])
        self.mm_line = ax_mm.plot(x, x, **st["a"])[0]
        self.mm_other_line = ax_mm.plot(x, x, **st["a_other"])[0]
        self.mm_b_line = ax_mm.plot(x, x, **st["b"])[0]
        self.leverage_line = ax_leverage.plot(x, x, **st["a"])[0]
        self.leverage_b_line = ax_leverage.plot(x, x, **st["b"])[0]
        self.boundaries = {(k, a): a.vlines([], 0, 1, transform=a.get_xaxis_transform(), **st[f"{k}_bounds"])
                           for k in ("a", "b") for a in (ax_mm, ax_leverage)}
        self.size_lines = (ax_mm.axvline(1.0, **st["size"]), ax_leverage.axvline(1.0, **st["size"]))
        self.chosen_leverage = ax_leverage.axhline(1.0, **st["leverage"])
        self.marker = ax_mm.plot([], [], **st["marker"])[0]
        self.marker_b = ax_mm.plot([], [], **st["marker_b"])[0]
        self.leverage_marker = ax_leverage.plot([], [], **st["marker"])[0]
        self.unpublished = ax_leverage.text(0.5, 0.5, "", ha="center", va="center", transform=ax_leverage.transAxes,
                                            color="0.4", fontsize=9)
        for a in (ax_mm, ax_leverage):
            a.set_xscale("log")
            a.grid(alpha=0.3)
        ax_mm.set_yscale("log")
        ax_leverage.yaxis.set_major_locator(MaxNLocator(6, integer=True))
        ax_leverage.set_ylabel("max leverage (×)")
        #: drawn over the cached frame, in this order
        self.animated = [*self.boundaries.values(), self.mm_other_line, self.mm_line, self.mm_b_line,
                         self.leverage_line, self.leverage_b_line, *self.size_lines, self.chosen_leverage,
                         self.marker, self.marker_b, self.leverage_marker]

    @classmethod
    def key_style(cls, overlay: bool) -> dict[str, tuple[str, dict]]:
        """The entries of :attr:`STYLE` in the key: without venue B's when nothing is overlaid."""
        return {k: v for k, v in cls.STYLE.items() if overlay or not k.startswith(("b", "marker_b"))}

    def update(self, v: TierView) -> None:
        """Move the curves and boundaries to a new view (no artist is created or removed), and set
        the frame (limits, labels) if it changed."""
        none = np.empty(0)
        for name, c, mm, lev in (("a", v.a, self.mm_line, self.leverage_line),
                                 ("b", v.b, self.mm_b_line, self.leverage_b_line)):
            x, y, bounds = (c.x, c.mm, c.boundaries) if c is not None else (none, none, none)
            mm.set_data(x, y)
            published = c is not None and c.max_leverage is not None
            lev.set_data(x if published else none, c.max_leverage if published else none)
            for ax in (self.ax, self.ax_leverage):
                self.boundaries[(name, ax)].set_segments([[(b, 0), (b, 1)] for b in bounds])
        self.mm_other_line.set_data(v.a.x, v.a.mm_other)

        curves = [c for c in (v.a, v.b) if c is not None and c.x.size]
        mms = np.concatenate([c.mm for c in curves] + [v.a.mm_other])
        levs = [c.max_leverage for c in curves if c.max_leverage is not None]
        top = max(float(np.max(lev)) for lev in levs) if levs else 1.0
        missing = [n for n, c in (("A", v.a), ("B", v.b)) if c is not None and c.table.max_leverage is None]
        frame = (v.x_label, v.mm_label, (_rounded(v.a.x[0]), _rounded(v.a.x[-1])),  # rounded: unit round trips
                 (10.0 ** np.floor(np.log10(mms.min())), 10.0 ** np.ceil(np.log10(mms.max()))), (0.0, 1.08 * top),
                 f"venue {' and '.join(missing)}: max leverage not published" if missing else "")
        if frame != self._frame:
            self._set_frame(*frame, overlay=v.b is not None)
            self._frame, self._background = frame, None

    def _set_frame(self, x_label: str, mm_label: str, xlim: tuple[float, float], mm_lim: tuple[float, float],
                   leverage_lim: tuple[float, float], note: str, overlay: bool) -> None:
        for ax in (self.ax, self.ax_leverage):
            ax.set_xlim(*xlim)
        self.ax.set_ylim(*mm_lim)
        self.ax_leverage.set_ylim(*leverage_lim)
        self.ax.set_xlabel(x_label)
        self.ax.set_ylabel(mm_label)
        self.ax_leverage.set_xlabel("position notional (USD, as on the left)" if overlay else x_label)
        self.unpublished.set_text(note)

    def move(self, x: float, mm_a: float, mm_b: float | None, leverage: float) -> None:
        """Mark the current position: size ``x`` (plot units), its MM under A and B (None: B not
        shown) and the chosen leverage."""
        for line in self.size_lines:
            _set_vline(line, x)
        self.chosen_leverage.set_ydata([leverage, leverage])
        self.marker.set_data([x], [mm_a])
        self.marker_b.set_data(*(([x], [mm_b]) if mm_b is not None else ([], [])))
        self.leverage_marker.set_data([x], [leverage])


def _rounded(x: float, digits: int = 10) -> float:
    """``x`` to ``digits`` significant digits: frame keys ignore floating-point noise."""
    return float(f"{x:.{digits}g}")


# ---------------------------------------------------------------------- the risk fund through a day
@dataclass
class RiskFundDay:
    """What :class:`RiskFundPlot` draws: a day of mark prices with its liquidation steps, and the risk
    fund's balance with its ADL events (from a :class:`~tiermargin.waterfall.Waterfall`).

    Attributes
    ----------
    hours : array
        The path's times as hours since ``day_start`` (UTC).
    mark : array
        Mark prices of the path.
    gain_hours, gain_marks : array
        Liquidation steps filled better than the bankruptcy price (the fund kept a surplus): time and mark.
    loss_hours, loss_marks : array
        Steps filled worse (a loss: paid by the fund, or handed to ADL where it could not pay).
    balance : array
        The fund's balance at each path time (:meth:`~tiermargin.riskfund.RiskFund.balance_at`).
    adl_hours, adl_balance : array
        Steps whose loss the fund could not pay in full (a shortfall handed to ADL), at the balance then.
    floor : array or None
        The fund's drawdown floor at each path time (:meth:`~tiermargin.riskfund.RiskFund.floor_at`);
        None without a drawdown threshold.
    cut : float
        The daily reconciliation cut-off, hours UTC (16:00 UTC+8 is 8.0).
    cut_label : str
        Its label.
    day_start : float
        UTC epoch seconds of hour 0.
    currency : str
        The fund's currency.
    """

    hours: np.ndarray
    mark: np.ndarray
    gain_hours: np.ndarray
    gain_marks: np.ndarray
    loss_hours: np.ndarray
    loss_marks: np.ndarray
    balance: np.ndarray
    adl_hours: np.ndarray
    adl_balance: np.ndarray
    floor: np.ndarray | None
    cut: float
    cut_label: str
    day_start: float
    currency: str

    @classmethod
    def for_waterfall(cls, w: Waterfall, times: ArrayLike, marks: ArrayLike, cut: float,
                      cut_label: str = "reconciliation", day_start: float | None = None) -> RiskFundDay:
        """The day of ``w`` run along ``times`` (UTC epoch seconds) and ``marks``; ``cut`` is the
        reconciliation cut-off in seconds into the UTC day (:func:`~tiermargin.riskfund.reconciliation_cut`);
        ``day_start`` defaults to UTC midnight of the first time."""
        t, m = np.asarray(times, dtype=np.float64), np.asarray(marks, dtype=np.float64)
        start = float(np.floor(t[0] / 86_400.0) * 86_400.0) if day_start is None else float(day_start)
        step_t = np.array([s.event.time for s in w.steps])
        step_m = np.array([s.event.mark for s in w.steps])
        gain = np.array([s.event.surplus >= 0 for s in w.steps], dtype=bool)
        adl_t = np.array([s.event.time for s in w.steps if s.shortfall > 0])
        hours = (t - start) / 3_600.0
        return cls(hours, m, (step_t[gain] - start) / 3_600.0, step_m[gain],
                   (step_t[~gain] - start) / 3_600.0, step_m[~gain],
                   np.asarray(w.fund.balance_at(t), dtype=np.float64),
                   (adl_t - start) / 3_600.0, np.asarray(w.fund.balance_at(adl_t) if adl_t.size else adl_t, dtype=np.float64),
                   None if w.fund.drawdown is None else np.asarray(w.fund.floor_at(t), dtype=np.float64),
                   cut / 3_600.0, cut_label, start, w.start.table.contract.settle)

    def index_at(self, hour: float) -> int:
        """Index of the last path sample at or before ``hour`` (0 before the first)."""
        return max(int(np.searchsorted(self.hours, hour, side="right")) - 1, 0)


class RiskFundPlot(FrameBlit):
    """A day of liquidations and the risk fund: top, the mark price with each liquidation step (coloured by
    whether its fill left the fund a surplus or a loss); bottom, the fund's balance (a step line), its
    drawdown floor when a threshold is set, and the ADL events. The daily reconciliation cut-off is a
    labelled vertical line on both; a replay cursor marks a time of day on both.

    Artists are created once; :meth:`update` moves them to a new day and :meth:`move` only the cursor.
    With ``blit=True`` two images are cached: the frame (axes, ticks, grid, axis labels, the cut-off line),
    redrawn only when the mark panel's limits, the day's hours, the cut-off or the currency change, and the
    frame with the day's data over it. Replaying the day draws only the cursor over the second; a new day
    draws the data over the first. The fund panel's frame does not depend on the fund: its axis runs from
    −4 % to 106 % of a rounded top (:func:`_fine_ceiling` of the highest balance or floor) with ticks at
    0, ⅕, …, 1 × top, so the ticks and grid keep their height whatever the top; its tick labels
    (``fund_labels``, in the fund's currency) are texts of the data layer. Use ``blit=False`` where the
    figure is shown as a static image (inline backend, savefig).

    Parameters
    ----------
    ax_mark, ax_fund : Axes
        The two panels (sharing the time axis).
    blit : bool
        Draw the cursor over a cached frame.
    """

    STYLE = {
        "mark": ("mark price", dict(color=PALETTE["blue"], lw=1.5)),
        "gain": ("liquidation step: fill better than bankruptcy (fund keeps the surplus)",
                 dict(color=PALETTE["green"], marker="o", ms=5, ls="none")),
        "loss": ("liquidation step: fill worse than bankruptcy (a loss)",
                 dict(color=PALETTE["vermillion"], marker="v", ms=6, ls="none")),
        "balance": ("risk fund balance", dict(color=PALETTE["purple"], lw=2)),
        "floor": ("drawdown floor (the fund pays down to it)", dict(color=PALETTE["orange"], lw=1.2, ls="--")),
        "adl": ("ADL: a shortfall handed to the queue", dict(color="black", marker="X", ms=8, ls="none")),
        "cut": ("daily reconciliation cut-off", dict(color="0.35", lw=1.2, ls="-.")),
        "cursor": ("replay time", dict(color=PALETTE["vermillion"], lw=1.0)),
    }
    #: the fund axis' ticks divide [0, top] in this many steps
    FUND_STEPS = 5
    #: the y labels' right edge, in points left of the panels (room for "800,000" at the default font size)
    LABEL_OFFSET = 52.0

    def __init__(self, ax_mark: Axes, ax_fund: Axes, blit: bool = True) -> None:
        self.ax, self.ax_fund = ax_mark, ax_fund
        self.blit = blit
        self._background = None
        self._data_background: object | None = None  # the frame with the day's data drawn over it
        self._frame: tuple = ()
        st = {k: dict(label=label, animated=blit and k != "cut", **kw) for k, (label, kw) in self.STYLE.items()}
        x = np.array([0.0, 1.0])
        self.mark_line = ax_mark.plot(x, x, **st["mark"])[0]
        self.gain_markers = ax_mark.plot([], [], **st["gain"])[0]
        self.loss_markers = ax_mark.plot([], [], **st["loss"])[0]
        self.balance_line = ax_fund.plot(x, x, drawstyle="steps-post", **st["balance"])[0]
        self.floor_line = ax_fund.plot(x, x, drawstyle="steps-post", **st["floor"])[0]
        self.adl_markers = ax_fund.plot([], [], **st["adl"])[0]
        self.cut_lines = (ax_mark.axvline(0, **st["cut"]), ax_fund.axvline(0, **st["cut"]))
        self.cut_text = ax_mark.text(0, 1.01, "", transform=ax_mark.get_xaxis_transform(), ha="center",
                                     va="bottom", fontsize=8, color="0.3")
        self.cursors = (ax_mark.axvline(0, **st["cursor"]), ax_fund.axvline(0, **st["cursor"]))
        dot = dict(color=PALETTE["vermillion"], marker="o", ms=6, ls="none", mec="black", animated=blit)
        self.mark_dot = ax_mark.plot([], [], **dot)[0]
        self.balance_dot = ax_fund.plot([], [], **dot)[0]
        ax_mark.yaxis.set_major_locator(MaxNLocator(5))
        ax_mark.yaxis.set_major_formatter(FuncFormatter(_thousands))
        ax_fund.set_yticks(np.linspace(0.0, 1.0, self.FUND_STEPS + 1))
        ax_fund.yaxis.set_major_formatter(NullFormatter())  # the labels are the texts below
        tick = ax_fund.yaxis.get_major_ticks()[0]
        to_tick, va, ha = ax_fund.get_yaxis_text1_transform(tick.get_pad() + tick.get_tick_padding())
        self.fund_labels = [ax_fund.text(0.0, y, "", transform=to_tick, va=va, ha=ha, animated=blit,
                                         fontproperties=tick.label1.get_fontproperties(),
                                         color=tick.label1.get_color()) for y in ax_fund.get_yticks()]
        for ax in (ax_mark, ax_fund):
            ax.grid(alpha=0.3)
            ax.yaxis.set_label_coords(0.0, 0.5, ax.transAxes + ScaledTranslation(-self.LABEL_OFFSET / 72, 0.0,
                                                                                  ax.figure.dpi_scale_trans))
        #: drawn over the cached frame, in this order: the day's data, then the cursor
        self.data = [self.mark_line, self.gain_markers, self.loss_markers, self.floor_line, self.balance_line,
                     self.adl_markers, *self.fund_labels]
        self.animated = [*self.cursors, self.mark_dot, self.balance_dot]  # over the cached data
        ax_fund.set_xlim(0.0, 24.0)
        ax_fund.set_xticks(np.arange(0.0, 24.1, 3.0))
        ax_fund.xaxis.set_major_formatter(FuncFormatter(lambda h, _pos: f"{int(round(h)):02d}:00"))
        ax_mark.tick_params(labelbottom=False)
        ax_fund.set_xlabel("time of day (UTC, hours)")

    def update(self, d: RiskFundDay) -> None:
        """Move every artist but the cursor to a new day (no artist is created or removed): the data, the
        fund axis' limits and tick labels; and set the frame (mark limits, hours, cut-off, labels) if it changed."""
        self._data_background = None
        self.mark_line.set_data(d.hours, d.mark)
        self.gain_markers.set_data(d.gain_hours, d.gain_marks)
        self.loss_markers.set_data(d.loss_hours, d.loss_marks)
        self.balance_line.set_data(d.hours, d.balance)
        self.floor_line.set_visible(d.floor is not None)
        self.floor_line.set_data(d.hours, d.floor if d.floor is not None else d.balance)
        self.adl_markers.set_data(d.adl_hours, d.adl_balance)
        lo, hi = float(np.min(d.mark)), float(np.max(d.mark))
        pad = 0.08 * (hi - lo or hi or 1.0)
        top = max(float(np.max(d.balance)), float(np.max(d.floor)) if d.floor is not None else 0.0)
        self._set_fund_top(_fine_ceiling(top) or 1.0)
        frame = ((lo - pad, hi + pad), (float(d.hours[0]), float(d.hours[-1])), d.cut, d.cut_label, d.currency)
        if frame != self._frame:
            self._set_frame(*frame)
            self._frame, self._background = frame, None

    def _set_fund_top(self, top: float) -> None:
        """The fund axis for balances up to ``top``: its ticks and grid stay at the same heights (the cached
        frame holds), its tick labels say the new values."""
        ticks = np.linspace(0.0, top, self.FUND_STEPS + 1)
        self.ax_fund.set_yticks(ticks)
        self.ax_fund.set_ylim(-0.04 * top, 1.06 * top)  # room for the markers at 0 and at the top
        for label, y in zip(self.fund_labels, ticks):
            label.set_y(y)
            label.set_text(self._fund_tick(y))

    @staticmethod
    def _fund_tick(x: float) -> str:
        """A fund axis tick label: ``250,000``; from a million on, ``2.5M`` (narrow enough for the margin)."""
        return f"{x / 1e6:g}M" if x >= 1e6 else _thousands(x, 0)

    def _set_frame(self, mark_lim: tuple[float, float], hours: tuple[float, float], cut: float, cut_label: str,
                   currency: str) -> None:
        for line in self.cut_lines:
            _set_vline(line, cut)
        self.cut_text.set_position((cut, 1.01))
        self.cut_text.set_text(cut_label)
        self.ax.set_ylim(*mark_lim)
        self.ax.set_xlim(*hours)
        self.ax.set_ylabel(f"mark price ({currency})")
        self.ax_fund.set_ylabel(f"fund balance ({currency})")

    def move(self, hour: float, mark: float, balance: float) -> None:
        """Move only the replay cursor (and its dots at the mark and the fund's balance then)."""
        for line in self.cursors:
            _set_vline(line, hour)
        self.mark_dot.set_data([hour], [mark])
        self.balance_dot.set_data([hour], [balance])


# ---------------------------------------------------------------------- stepwise vs full liquidation
@dataclass
class LiquidationView:
    """What :class:`LiquidationPlot` draws: one position liquidated stepwise and the same position
    liquidated in full along a mark-price path (two :class:`~tiermargin.replay.PositionPath`).

    Attributes
    ----------
    hours : array
        The path's times as hours since ``day_start`` (UTC).
    mark : array
        Mark prices of the path.
    liquidation : float or None
        The position's liquidation price at opening (None: it has none).
    health, health_full : array
        Health of the stepwise and of the fully liquidated position, NaN once closed (the line ends).
    contracts, contracts_full : array
        Contracts each holds (0 once closed).
    fill_hours, fills, bankruptcy_hours, bankruptcies : array
        The stepwise liquidation's steps: time and execution (fill) price, time and bankruptcy price
        (steps without one, e.g. a cancel, are left out).
    full_fill_hours, full_fills, full_bankruptcy_hours, full_bankruptcies : array
        The same for the full liquidation.
    day_start : float
        UTC epoch seconds of hour 0 (midnight of the first sample's day).
    currency, price_unit : str
        Unit of health and of prices.
    """

    hours: np.ndarray
    mark: np.ndarray
    liquidation: float | None
    health: np.ndarray
    health_full: np.ndarray
    contracts: np.ndarray
    contracts_full: np.ndarray
    fill_hours: np.ndarray
    fills: np.ndarray
    bankruptcy_hours: np.ndarray
    bankruptcies: np.ndarray
    full_fill_hours: np.ndarray
    full_fills: np.ndarray
    full_bankruptcy_hours: np.ndarray
    full_bankruptcies: np.ndarray
    day_start: float
    currency: str
    price_unit: str

    @classmethod
    def for_paths(cls, stepwise: PositionPath, full: PositionPath, liquidation: float | None = None,
                  currency: str = "USDT", price_unit: str = "USDT") -> LiquidationView:
        """The view of two replays (:func:`~tiermargin.replay.replay`) of the same path."""
        t = stepwise.times
        start = float(np.floor(t[0] / 86_400.0) * 86_400.0)

        def prices(p: PositionPath, field: str) -> tuple[np.ndarray, np.ndarray]:
            pts = [(e.time, getattr(e, field)) for e in p.events if getattr(e, field) is not None]
            a = np.array(pts, dtype=np.float64).reshape(-1, 2)
            return (a[:, 0] - start) / 3_600.0, a[:, 1]

        def health(p: PositionPath) -> np.ndarray:
            return np.where(p.open, p.health, np.nan)

        return cls((t - start) / 3_600.0, stepwise.marks, liquidation, health(stepwise), health(full),
                   stepwise.contracts, full.contracts, *prices(stepwise, "execution_price"),
                   *prices(stepwise, "bankruptcy_price"), *prices(full, "execution_price"),
                   *prices(full, "bankruptcy_price"), start, currency, price_unit)

    def index_at(self, hour: float) -> int:
        """Index of the last path sample at or before ``hour`` (0 before the first)."""
        return max(int(np.searchsorted(self.hours, hour, side="right")) - 1, 0)

    def steps_window(self, pad: float = 0.75) -> tuple[float, float] | None:
        """Hours from ``pad`` before the first step (of either liquidation) to ``pad`` after the
        last, within the path (None: no step)."""
        steps = np.concatenate((self.fill_hours, self.bankruptcy_hours, self.full_fill_hours,
                                self.full_bankruptcy_hours))
        if not steps.size:
            return None
        return max(float(steps.min()) - pad, float(self.hours[0])), min(float(steps.max()) + pad, float(self.hours[-1]))


class LiquidationPlot(FrameBlit):
    """Stepwise against full liquidation of one position through a crash: top, the mark price with
    each step's fill and bankruptcy price (and the liquidation price at opening); bottom, the health
    of both positions, the 0 line, and (right axis, step lines) the contracts each holds. A replay
    cursor marks a time on both panels.

    Artists are created once; :meth:`update` moves the data and :meth:`move` only the cursor. With
    ``blit=True`` drawing is layered: the frame (axes, ticks, labels; redrawn only when limits or
    labels change — they are rounded so most changes keep them), the data over it (cached again),
    and the cursor over that, so moving the cursor redraws two lines. Use ``blit=False`` where the
    figure is shown as a static image (inline backend, savefig).

    Parameters
    ----------
    ax_price, ax_health : Axes
        The two panels (sharing the time axis); the contracts axis is a twin of ``ax_health``.
    blit : bool
        Draw the data and the cursor over cached layers.
    legend : bool
        Draw legends in the axes (explorers show :meth:`key` beside the figure instead).
    """

    STYLE = {
        "mark": ("mark price", dict(color="0.25", lw=1.4)),
        "liquidation": ("liquidation price at opening", dict(color=PALETTE["vermillion"], lw=1.0, ls="--")),
        "fill": ("stepwise: fill price of a step", dict(color=PALETTE["blue"], marker="o", ms=5, ls="none")),
        "bankruptcy": ("stepwise: bankruptcy price of a step", dict(color=PALETTE["blue"], marker="x", ms=7, mew=1.6,
                                                                    ls="none")),
        "full_fill": ("full: fill price", dict(color=PALETTE["orange"], marker="s", ms=6, ls="none")),
        "full_bankruptcy": ("full: bankruptcy price", dict(color=PALETTE["orange"], marker="+", ms=10, mew=1.8,
                                                           ls="none")),
        "health": ("stepwise: health", dict(color=PALETTE["blue"], lw=2)),
        "health_full": ("full: health", dict(color=PALETTE["orange"], lw=2, ls="--")),
        "contracts": ("stepwise: contracts held (right axis)", dict(color=PALETTE["blue"], lw=1, alpha=0.55)),
        "contracts_full": ("full: contracts held (right axis)", dict(color=PALETTE["orange"], lw=1, ls=":")),
        "cursor": ("replay time", dict(color=PALETTE["vermillion"], lw=1.0)),
    }
    _GLYPHS = {"o": "●", "x": "✕", "s": "■", "+": "+"}

    def __init__(self, ax_price: Axes, ax_health: Axes, blit: bool = True, legend: bool = True) -> None:
        self.ax, self.ax_health = ax_price, ax_health
        self.ax_contracts = ax_health.twinx()
        self.blit = blit
        self._background = None
        self._data_background: object | None = None
        self._frame: tuple = ()
        st = {k: dict(label=label, animated=blit, **kw) for k, (label, kw) in self.STYLE.items()}
        x = np.array([0.0, 1.0])
        self.mark_line = ax_price.plot(x, x, **st["mark"])[0]
        self.liquidation_line = ax_price.axhline(0, **st["liquidation"])
        self.fill_markers = ax_price.plot([], [], **st["fill"])[0]
        self.bankruptcy_markers = ax_price.plot([], [], **st["bankruptcy"])[0]
        self.full_fill_markers = ax_price.plot([], [], **st["full_fill"])[0]
        self.full_bankruptcy_markers = ax_price.plot([], [], **st["full_bankruptcy"])[0]
        self.contracts_line = self.ax_contracts.plot(x, x, drawstyle="steps-post", **st["contracts"])[0]
        self.contracts_full_line = self.ax_contracts.plot(x, x, drawstyle="steps-post", **st["contracts_full"])[0]
        self.health_line = ax_health.plot(x, x, **st["health"])[0]
        self.health_full_line = ax_health.plot(x, x, **st["health_full"])[0]
        ax_health.axhline(0, color="0.3", lw=0.7)
        self.cursors = (ax_price.axvline(0, **st["cursor"]), ax_health.axvline(0, **st["cursor"]))
        #: the data, drawn over the cached frame in this order (then cached with it)
        self.data = [self.liquidation_line, self.mark_line, self.fill_markers, self.bankruptcy_markers,
                     self.full_fill_markers, self.full_bankruptcy_markers, self.contracts_line,
                     self.contracts_full_line, self.health_full_line, self.health_line]
        self.animated = list(self.cursors)  # over the cached data
        for ax in (ax_price, ax_health, self.ax_contracts):
            ax.yaxis.set_major_locator(MaxNLocator(5))
            ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
        for ax in (ax_price, ax_health):
            ax.grid(alpha=0.3)
            ax.xaxis.set_major_locator(MaxNLocator(9, steps=[1, 2, 3, 6, 10]))
            ax.xaxis.set_major_formatter(FuncFormatter(_clock))
        if not ax_price.get_shared_x_axes().joined(ax_price, ax_health):
            ax_price.sharex(ax_health)
        ax_price.tick_params(labelbottom=False)
        ax_health.set_xlabel("time of day (UTC, hours)")
        self.ax_contracts.set_ylabel("contracts held")
        if legend:
            ax_price.legend(loc="lower left", fontsize=7, framealpha=0.85)
            handles = [self.health_line, self.health_full_line, self.contracts_line, self.contracts_full_line]
            ax_health.legend(handles=handles, loc="upper right", fontsize=7, framealpha=0.85)

    @classmethod
    def key(cls) -> str:
        """The plot's key as HTML (markers shown with their own glyphs), for explorers."""
        items = []
        for label, kw in cls.STYLE.values():
            color = to_hex(kw["color"])
            if "marker" in kw:
                swatch = f"<b style='color:{color};margin:0 6px 0 10px'>{cls._GLYPHS[kw['marker']]}</b>"
            else:
                border = {"--": "dashed", ":": "dotted"}.get(kw.get("ls", "-"), "solid")
                swatch = (f"<span style='display:inline-block;width:22px;margin:0 4px 2px 10px;"
                          f"border-top:2px {border} {color};height:0'></span>")
            items.append(f"<span style='white-space:nowrap'>{swatch}{escape(label)}</span> ")
        return f"<div style='font-size:12px;max-width:640px'>{''.join(items)}</div>"

    def update(self, v: LiquidationView, window: tuple[float, float] | None = None) -> None:
        """Move the data to a new view (no artist is created or removed); set the frame (limits,
        labels) if it changed. ``window``: the hours shown (default: the whole path); the value axes
        fit the data inside it."""
        self._data_background = None
        self.mark_line.set_data(v.hours, v.mark)
        _set_hline(self.liquidation_line, v.liquidation)
        self.fill_markers.set_data(v.fill_hours, v.fills)
        self.bankruptcy_markers.set_data(v.bankruptcy_hours, v.bankruptcies)
        self.full_fill_markers.set_data(v.full_fill_hours, v.full_fills)
        self.full_bankruptcy_markers.set_data(v.full_bankruptcy_hours, v.full_bankruptcies)
        self.health_line.set_data(v.hours, v.health)
        self.health_full_line.set_data(v.hours, v.health_full)
        self.contracts_line.set_data(v.hours, v.contracts)
        self.contracts_full_line.set_data(v.hours, v.contracts_full)

        old = self._frame or (None, None, None, None)
        if window is None:
            x0, x1 = float(v.hours[0]), float(v.hours[-1])
        else:  # quarter hours, kept while they still frame the window well
            x0, x1 = _sticky(old[0], *window, lambda lo, hi: (np.floor(lo * 4) / 4, np.ceil(hi * 4) / 4))

        def inside(h: np.ndarray, y: np.ndarray) -> np.ndarray:
            return y[(h >= x0) & (h <= x1)]

        prices = np.concatenate((inside(v.hours, v.mark), inside(v.fill_hours, v.fills),
                                 inside(v.bankruptcy_hours, v.bankruptcies), inside(v.full_fill_hours, v.full_fills),
                                 inside(v.full_bankruptcy_hours, v.full_bankruptcies),
                                 [v.liquidation] if v.liquidation is not None else []))
        health = np.concatenate((inside(v.hours, v.health), inside(v.hours, v.health_full), [0.0]))
        health = health[np.isfinite(health)]
        def health_range(low: float, high: float) -> tuple[float, float]:
            top, bottom = nice_ceiling(high) or 1.0, -nice_ceiling(-low) if low < 0 else 0.0
            pad = 0.06 * (top - bottom)
            return bottom - pad, top + pad

        held = nice_ceiling(float(max(np.max(v.contracts), np.max(v.contracts_full)))) or 1.0
        frame = ((x0, x1), _sticky(old[1], float(np.min(prices)), float(np.max(prices)), _nice_range),
                 _sticky(old[2], min(float(np.min(health)), 0.0), float(np.max(health)), health_range),
                 (-0.06 * held, 1.06 * held), v.currency, v.price_unit)
        if frame != self._frame:
            xlim, price_lim, health_lim, held_lim, currency, unit = frame
            self.ax_health.set_xlim(*xlim)
            self.ax.set_ylim(*price_lim)
            self.ax_health.set_ylim(*health_lim)
            self.ax_contracts.set_ylim(*held_lim)
            self.ax.set_ylabel(f"price ({unit})")
            self.ax_health.set_ylabel(f"health ({currency})")
            self._frame, self._background = frame, None

    def move(self, hour: float) -> None:
        """Move only the replay cursor; :meth:`render` then redraws it over the cached data."""
        for line in self.cursors:
            _set_vline(line, hour)



def _set_hline(line, y: float | None) -> None:
    line.set_visible(y is not None)
    if y is not None:
        line.set_ydata([y, y])


def _clock(hours: float, _pos: int) -> str:
    """Hours since midnight as ``HH:MM`` (UTC; the end of the day is 24:00)."""
    minutes = int(round(hours * 60))
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _sticky(current: tuple[float, float] | None, lo: float, hi: float,
            nice: Callable[[float, float], tuple[float, float]]) -> tuple[float, float]:
    """Axis limits for data in ``[lo, hi]``: the ``current`` ones while they contain it and it fills
    at least half of them (the frame, and its cached drawing, survive small changes), else ``nice(lo, hi)``."""
    if current is not None and current[0] <= lo and hi <= current[1] and hi - lo >= 0.5 * (current[1] - current[0]):
        return current
    a, b = nice(lo, hi)
    return float(a), float(b)


def _nice_range(lo: float, hi: float, ticks: int = 5) -> tuple[float, float]:
    """``[lo, hi]`` widened to multiples of a 1, 2, 2.5 or 5 × 10ⁿ step (stable axis limits)."""
    step = nice_ceiling((hi - lo) / ticks) or nice_ceiling(abs(hi) / 100) or 1.0
    return float(np.floor(lo / step) * step), float(np.ceil(hi / step) * step) + (step if hi == lo else 0.0)


def _fine_ceiling(x: float) -> float:
    """The smallest of 1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10ⁿ that is ≥ ``x`` (0 for ``x`` ≤ 0): an axis
    limit that stays put for small changes without doubling the range (:func:`nice_ceiling` is coarser)."""
    if not x > 0:
        return 0.0
    e = 10.0 ** np.floor(np.log10(x))
    return float(next(k * e for k in (1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if k * e >= x * (1 - 1e-12)))


# ---------------------------------------------------------------------- the market-wide cascade
def _day_hours(times: ArrayLike) -> np.ndarray:
    """UTC epoch seconds as hours since midnight (UTC) of the first one's day."""
    t = np.asarray(times, dtype=np.float64)
    return (t - np.floor(t[0] / 86_400.0) * 86_400.0) / 3_600.0


def _price_unit(cascade: Cascade) -> str:
    """What the cascade's prices are quoted in: the settle currency (linear) or USD (inverse)."""
    contract = cascade.population.table.contract
    return contract.settle if contract.kind == "linear" else "USD"


def _compact(x: float, _pos: int | None = None) -> str:
    """An amount as ``1.5M`` or ``250k`` (axes of large USD amounts)."""
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= scale:
            return f"{x / scale:.4g}{suffix}"
    return f"{x:.4g}"


def _hours_shown(window: tuple[float, float] | None, start: float, end: float) -> tuple[float, float]:
    """The hours a cascade figure shows: ``window`` (checked) or the whole run ``[start, end]``."""
    if window is None:
        return start, end
    try:
        lo, hi = (float(h) for h in window)
    except (TypeError, ValueError):
        raise TypeError(f"window must be a pair of hours (start, end), got {window!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"window must be (start, end) hours of the day with start < end, got {window!r}")
    return lo, hi


def _time_locator(span_hours: float) -> MultipleLocator:
    """Clock ticks every 1, 2, 5, 10, 15 or 30 minutes, or 1, 2, 3, 6 or 12 hours: at most 9 over ``span_hours``."""
    minutes = next(m for m in (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720) if span_hours * 60 / m <= 9 or m == 720)
    return MultipleLocator(minutes / 60)


def _per_step(seconds: float) -> str:
    """A step's length as an axis label's unit: ``min`` for 60 s, else seconds."""
    return "min" if seconds == 60 else f"{seconds:g} s step"


def _cascade(value: object, name: str = "cascade") -> Cascade:
    if not isinstance(value, Cascade):
        raise TypeError(f"{name} must be a Cascade (from tiermargin.cascade.run), got {type(value).__name__}")
    return value


def _roomy(current: tuple[float, float] | None, lo: float, hi: float,
           nice: Callable[[float, float], tuple[float, float]], room: float = 0.5,
           fill: float = 0.4) -> tuple[float, float]:
    """Axis limits for data in ``[lo, hi]`` that most control changes keep (so the cached frame survives):
    the ``current`` ones while they contain the data and it fills at least ``fill`` of them; else
    ``nice`` of the data widened by ``room`` × its width on each side where it left the current limits
    (where it is likely to go on growing)."""
    if current is not None and current[0] <= lo and hi <= current[1] and hi - lo >= fill * (current[1] - current[0]):
        return current
    pad = room * (hi - lo)
    below, above = current is not None and lo < current[0], current is not None and hi > current[1]
    a, b = nice(lo - pad * below, hi + pad * above)
    return float(a), float(b)


#: the shock's label on a cascade figure, by kind (its size is in the title, or the explorer's readout: a
#: label that changed with the size would be redrawn on every change)
SHOCK_LABELS = {"market": "shock: market-wide drop", "venue": "shock: a sale into this venue's book",
                "whale": "shock: a whale's sale"}


def _multiplier_text(c: Cascade) -> str:
    m = c.multiplier
    return "multiplier not run (baseline=False)" if m is None else ("∞" if np.isinf(m) else f"{m:.2f}×")


class CascadePlot(FrameBlit):
    """A market-wide cascade (:class:`~tiermargin.cascade.Cascade`) over time: top, this venue's last
    price, the index and the mark; bottom, the notional liquidated at each step (bars) and, on the right
    axis, the risk fund's balance with the steps where it ran dry (ADL). The shock is a dashed vertical
    line on both panels, labelled with its kind (:data:`SHOCK_LABELS`).

    Artists are created once; :meth:`update` moves them to a new run (the bars are one
    :class:`~matplotlib.patches.StepPatch`, so a day of steps is one artist). With ``blit=True`` the data
    are drawn over a cached frame (axes, ticks, labels, the shock line and its label), redrawn only when
    the limits change: they are rounded, kept while the data fill at least 40 % of them, and widened with
    room to spare where the data grew past them (:func:`_roomy`), so most changes of a control draw only
    the data. Use ``blit=False`` where the figure is shown as a static image (inline backend, savefig).

    Parameters
    ----------
    ax_price, ax_volume : Axes
        The two panels (sharing the time axis); the fund's axis is a twin of ``ax_volume``.
    blit : bool
        Draw the data over a cached frame.
    legend : bool
        Draw legends in the axes (explorers show :func:`legend_html` of :attr:`STYLE` beside the figure).
    """

    STYLE = {
        "last": ("last price (this venue's trades)", dict(color="0.55", lw=1.0)),
        "index": ("index (other venues, arbitrage)", dict(color=PALETTE["green"], lw=1.4)),
        "mark": ("mark price (liquidations use it)", dict(color=PALETTE["blue"], lw=2.0)),
        "notional": ("notional liquidated per step", dict(color=PALETTE["orange"], alpha=0.85, lw=0)),
        "fund": ("risk fund balance (right axis)", dict(color=PALETTE["purple"], lw=1.8)),
        "adl": ("ADL: the fund could not pay", dict(color="black", marker="X", ms=7, ls="none")),
        "shock": ("shock", dict(color=PALETTE["vermillion"], lw=1.0, ls="--")),
    }

    def __init__(self, ax_price: Axes, ax_volume: Axes, blit: bool = True, legend: bool = True) -> None:
        self.ax, self.ax_volume = ax_price, ax_volume
        self.ax_fund = ax_volume.twinx()
        self.blit = blit
        self._background = None
        self._frame: tuple = ()
        st = {k: dict(label=label, animated=blit and k != "shock", **kw) for k, (label, kw) in self.STYLE.items()}
        x = np.array([0.0, 1.0])
        self.last_line = ax_price.plot(x, x, **st["last"])[0]
        self.index_line = ax_price.plot(x, x, **st["index"])[0]
        self.mark_line = ax_price.plot(x, x, **st["mark"])[0]
        self.bars = ax_volume.stairs([0.0], x, fill=True, **st["notional"])
        self.fund_line = self.ax_fund.plot(x, x, drawstyle="steps-post", **st["fund"])[0]
        self.adl_markers = self.ax_fund.plot([], [], **st["adl"])[0]
        self.shock_lines = (ax_price.axvline(0, **st["shock"]), ax_volume.axvline(0, **st["shock"]))
        self.shock_text = ax_price.text(0, 1.01, "", transform=ax_price.get_xaxis_transform(), ha="center",
                                        va="bottom", fontsize=8, color=self.STYLE["shock"][1]["color"])
        #: drawn over the cached frame, in this order
        self.animated = [self.last_line, self.index_line, self.mark_line, self.bars, self.fund_line,
                         self.adl_markers]
        for ax in (ax_price, ax_volume, self.ax_fund):
            ax.yaxis.set_major_locator(MaxNLocator(5))
        ax_price.yaxis.set_major_formatter(FuncFormatter(_thousands))
        for ax in (ax_volume, self.ax_fund):
            ax.yaxis.set_major_formatter(FuncFormatter(_compact))
        for ax in (ax_price, ax_volume):
            ax.grid(alpha=0.3)
            ax.xaxis.set_major_formatter(FuncFormatter(_clock))
        if not ax_price.get_shared_x_axes().joined(ax_price, ax_volume):
            ax_price.sharex(ax_volume)
        ax_price.tick_params(labelbottom=False)
        ax_volume.set_xlabel("time of day (UTC, hours)")
        if legend:
            ax_price.legend(handles=[self.last_line, self.index_line, self.mark_line], loc="best", fontsize=7,
                            framealpha=0.85)
            ax_volume.legend(handles=[self.bars, self.fund_line, self.adl_markers], loc="best", fontsize=7,
                             framealpha=0.85)

    def update(self, cascade: Cascade, window: tuple[float, float] | None = None) -> None:
        """Move every artist to a new run (no artist is created or removed) and set the frame (limits,
        labels, shock line) if it changed. ``window``: the hours of the day shown (default: the whole run);
        the value axes hold the data inside it (:func:`_roomy`)."""
        c = _cascade(cascade)
        hours = _day_hours(c.times)
        step = float(hours[1] - hours[0]) if hours.size > 1 else 1 / 60
        edges = np.append(hours, hours[-1] + step)
        self.last_line.set_data(hours, c.last)
        self.index_line.set_data(hours, c.index)
        self.mark_line.set_data(hours, c.mark)
        self.bars.set_data(c.notional, edges)
        self.fund_line.set_data(hours, c.fund)
        ran_dry = c.adl_fills > 0
        self.adl_markers.set_data(hours[ran_dry], c.fund[ran_dry])

        x0, x1 = _hours_shown(window, float(edges[0]), float(edges[-1]))
        inside = (edges[1:] > x0) & (hours < x1)
        if not inside.any():
            raise ValueError(f"window {window!r} holds no step of the run "
                             f"({_clock(edges[0], 0)} to {_clock(edges[-1], 0)} UTC)")
        prices = np.concatenate((c.last[inside], c.index[inside], c.mark[inside]))
        old = self._frame or (None, None, None, None)
        settle = c.population.table.contract.settle
        shock_hour = float(hours[0]) + c.shock.at / 3_600.0
        frame = ((x0, x1),
                 _roomy(old[1], float(prices.min()), float(prices.max()), lambda a, b: _nice_range(a, b, 10)),
                 _roomy(old[2], 0.0, float(c.notional[inside].max()), _zero_based),
                 _roomy(old[3], 0.0, float(c.fund[inside].max()), _zero_based),
                 _price_unit(c), settle, step * 3_600.0, shock_hour, SHOCK_LABELS[c.shock.kind])
        if frame != self._frame:
            self._set_frame(*frame)
            self._frame, self._background = frame, None

    def _set_frame(self, hours: tuple[float, float], price_lim: tuple[float, float],
                   volume_lim: tuple[float, float], fund_lim: tuple[float, float], unit: str, settle: str,
                   step_seconds: float, shock_hour: float, shock_label: str) -> None:
        self.ax_volume.set_xlim(*hours)
        self.ax_volume.xaxis.set_major_locator(_time_locator(hours[1] - hours[0]))
        self.ax.set_ylim(*price_lim)
        self.ax_volume.set_ylim(*volume_lim)
        self.ax_fund.set_ylim(*fund_lim)
        self.ax.set_ylabel(f"price ({unit})")
        self.ax_volume.set_ylabel(f"liquidated (USD per {_per_step(step_seconds)})")
        self.ax_fund.set_ylabel(f"risk fund ({settle})")
        for line in self.shock_lines:
            _set_vline(line, shock_hour)
        self.shock_text.set_position((shock_hour, 1.01))
        self.shock_text.set_text(shock_label)


def _zero_based(_lo: float, hi: float) -> tuple[float, float]:
    """Limits from 0 to a little above ``hi`` rounded up (:func:`_fine_ceiling`; 1 when ``hi`` is 0)."""
    return 0.0, 1.05 * (_fine_ceiling(hi) or 1.0)


def _two_panels(ax: Sequence[Axes] | None, width: float = 8.5, height: float = 5.6) -> tuple[Axes, Axes]:
    """The (price, volume) panels of a cascade figure: ``ax`` (checked) or a new figure's."""
    if ax is None:
        fig = new_figure(width, height)
        fig.subplots_adjust(left=0.1, right=0.89, bottom=0.1, top=0.9, hspace=0.08)
        top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": (4, 3)})
        return top, bottom
    if isinstance(ax, Axes) or len(ax) != 2 or not all(isinstance(a, Axes) for a in ax):
        raise TypeError("ax must be a pair of Axes (price panel, volume panel), or None for a new figure")
    return ax[0], ax[1]


def cascade_path(cascade: Cascade, ax: Sequence[Axes] | None = None,
                 window: tuple[float, float] | None = None) -> Figure:
    """One cascade's path: last, index and mark price over time (UTC), and the notional liquidated per
    step with the risk fund's balance; the shock is marked (a static :class:`CascadePlot`).

    Parameters
    ----------
    cascade : Cascade
        A run of :func:`tiermargin.cascade.run`.
    ax : pair of Axes, optional
        The price and the volume panel (default: a new figure).
    window : (float, float), optional
        Hours of the day shown (default: the whole run).

    Returns
    -------
    Figure
    """
    c = _cascade(cascade)
    top, bottom = _two_panels(ax)
    CascadePlot(top, bottom, blit=False).update(c, window)
    s = c.summary()
    top.set_title(f"{c.shock}: {s['traders liquidated']:,.0f} traders liquidated, "
                  f"{_compact(float(s['notional liquidated (USD)']))} USD, cascade multiplier {_multiplier_text(c)}",
                  fontsize=10, pad=16)
    return top.figure


def cascade_runs(runs: Mapping[str, Cascade], ax: Sequence[Axes] | None = None,
                 window: tuple[float, float] | None = None) -> Figure:
    """Variants of one cascade side by side (e.g. :func:`tiermargin.cascade.compare`): top, each run's
    mark (thick) and last price (thin); bottom, each run's cumulative notional liquidated. The legend
    gives each run's cascade multiplier.

    Parameters
    ----------
    runs : mapping of str to Cascade
        Label → run, at least one.
    ax : pair of Axes, optional
        The price and the volume panel (default: a new figure).
    window : (float, float), optional
        Hours of the day shown (default: from the earliest start to the latest end of the runs).

    Returns
    -------
    Figure
    """
    if not isinstance(runs, Mapping) or not runs:
        raise ValueError("runs must be a non-empty mapping of label → Cascade (e.g. cascade.compare(...))")
    items = [(str(label), _cascade(c, f"runs[{label!r}]")) for label, c in runs.items()]
    top, bottom = _two_panels(ax)
    shocks: dict[float, str] = {}
    for i, (label, c) in enumerate(items):
        hours, color = _day_hours(c.times), CYCLE[i % len(CYCLE)]
        top.plot(hours, c.last, color=color, lw=0.8, alpha=0.6)
        top.plot(hours, c.mark, color=color, lw=1.8, label=f"{label}: multiplier {_multiplier_text(c)}")
        bottom.plot(hours, np.cumsum(c.notional), color=color, lw=1.8, drawstyle="steps-post", label=label)
        shocks[float(hours[0]) + c.shock.at / 3_600.0] = str(c.shock)
    for hour in shocks:
        for a in (top, bottom):
            a.axvline(hour, **CascadePlot.STYLE["shock"][1])
    starts = [float(_day_hours(c.times)[0]) for _, c in items]
    ends = [float(_day_hours(c.times)[-1]) for _, c in items]
    x0, x1 = _hours_shown(window, min(starts), max(ends))
    bottom.set_xlim(x0, x1)
    bottom.xaxis.set_major_locator(_time_locator(x1 - x0))
    unit = {_price_unit(c) for _, c in items}
    top.set_ylabel(f"price ({' / '.join(sorted(unit))})")
    bottom.set_ylabel("notional liquidated so far (USD)")
    bottom.set_xlabel("time of day (UTC, hours)")
    top.set_title(f"{' / '.join(dict.fromkeys(shocks.values()))}: mark (thick) and last price (thin) per run",
                  fontsize=10)
    top.legend(loc="best", fontsize=7, framealpha=0.85)
    for a in (top, bottom):
        a.grid(alpha=0.3)
        a.xaxis.set_major_formatter(FuncFormatter(_clock))
    top.tick_params(labelbottom=False)
    top.yaxis.set_major_formatter(FuncFormatter(_thousands))
    bottom.yaxis.set_major_formatter(FuncFormatter(_compact))
    return top.figure


def multiplier_curve(rows: Sequence[Mapping[str, object]], ax: Axes | None = None) -> Figure:
    """Cascade multiplier against shock size from :func:`tiermargin.cascade.sweep` rows: one line per
    variant, the mean over the seeds, with a band from the smallest to the largest seed.

    Variants whose labels differ only in a rate are one line (the flat rate at the traders' average
    differs from seed to seed: ``flat 1.18% (average)``, ``flat 1.53% (average)``), labelled with the range
    of the rate. Infinite multipliers (the shock alone liquidated nothing, the cascade did) are left out of
    the mean and the band; a shock size with none finite leaves a gap.

    Parameters
    ----------
    rows : sequence of mappings
        Rows with keys ``"variant"``, ``"shock size"`` and ``"cascade multiplier"`` (a sweep's rows).
    ax : Axes, optional
        Where to draw (default: a new figure).

    Returns
    -------
    Figure
    """
    if isinstance(rows, Mapping) or not isinstance(rows, Sequence) or not rows:
        raise ValueError("rows must be a non-empty sequence of sweep rows (tiermargin.cascade.sweep)")
    grouped: dict[str, dict[float, list[float]]] = {}
    labels: dict[str, list[str]] = {}
    for i, row in enumerate(rows):
        missing = {"variant", "shock size", "cascade multiplier"} - set(row)
        if missing:
            raise ValueError(f"rows[{i}] lacks {sorted(missing)} (rows of tiermargin.cascade.sweep have them)")
        m = row["cascade multiplier"]
        if m is None:
            raise ValueError(f"rows[{i}]: no cascade multiplier (the run had baseline=False)")
        variant = str(row["variant"])
        key = _RATE.sub("%", variant)
        labels.setdefault(key, []).append(variant)
        grouped.setdefault(key, {}).setdefault(float(row["shock size"]), []).append(float(m))
    sizes = [s for by_size in grouped.values() for s in by_size]
    percent = all(0 < s < 1 for s in sizes)  # drops; a whale's sale is in USD
    if ax is None:
        fig = new_figure(7.5, 4.2)
        fig.subplots_adjust(top=0.9)
        ax = fig.add_subplot()
    for i, (key, by_size) in enumerate(grouped.items()):
        x = np.array(sorted(by_size))
        runs = [np.array(by_size[s]) for s in x]
        finite = [r[np.isfinite(r)] for r in runs]
        mean, lo, hi = (np.array([f(r) if r.size else np.nan for r in finite]) for f in (np.mean, np.min, np.max))
        xs = 100 * x if percent else x
        color = CYCLE[i % len(CYCLE)]
        seeds = max(r.size for r in runs)
        ax.plot(xs, mean, color=color, lw=2, marker="o", ms=4,
                label=f"{_rate_range(labels[key])} (mean of {seeds} seed{'s' * (seeds > 1)})")
        ax.fill_between(xs, lo, hi, color=color, alpha=0.18, lw=0)
    ax.axhline(1.0, color="0.3", lw=0.8, ls=":")
    ax.set_xlabel("shock size (%)" if percent else "shock: whale sale (USD)")
    ax.set_ylabel("cascade multiplier (×)")
    if not percent:
        ax.xaxis.set_major_formatter(FuncFormatter(_compact))
    ax.set_title("Cascade multiplier against shock size (line: mean over seeds; band: min–max)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, framealpha=0.85)
    return ax.figure


_RATE = re.compile(r"\d+(?:\.\d+)?%")


def _rate_range(labels: Sequence[str]) -> str:
    """Labels that differ only in their rates (``1.18%``) as one, each rate shown as its range (``1.18–1.53%``)."""
    if len(set(labels)) == 1:
        return labels[0]
    rates = np.array([[float(r[:-1]) for r in _RATE.findall(label)] for label in labels])
    shown = [f"{lo:.2f}%" if lo == hi else f"{lo:.2f}–{hi:.2f}%" for lo, hi in zip(rates.min(0), rates.max(0))]
    return "".join(part + rate for part, rate in zip(_RATE.split(labels[0]), [*shown, ""]))


#: the boxes of :func:`cascade_loop`: key → (text, centre in axes coordinates)
_LOOP_BOXES = {
    "shock": ("shock\n(a drop, or a whale's sale)", (0.47, 0.93)),
    "orders": ("liquidation orders\n(contracts sold at once)", (0.13, 0.66)),
    "book": ("order book\n(depth per 1 %, resilience)", (0.47, 0.66)),
    "last": ("last price\n(this venue's trades)", (0.84, 0.66)),
    "index": ("index\n(other venues follow\na share β: arbitrage)", (0.84, 0.2)),
    "basis": ("basis moving average\nMA(last − index) over a window", (0.47, 0.38)),
    "mark": ("mark price\n= index + MA(basis)", (0.47, 0.1)),
    "liquidations": ("next liquidations\n(health ≤ 0 at the mark)", (0.13, 0.24)),
}
#: its arrows: (from, to, label)
_LOOP_ARROWS = (("shock", "book", ""), ("orders", "book", "sold into"), ("book", "last", "moves"),
                ("last", "index", "in part"), ("last", "basis", ""), ("index", "basis", ""),
                ("index", "mark", ""), ("basis", "mark", "smooths"), ("mark", "liquidations", "a lower mark"),
                ("liquidations", "orders", "send"))


def cascade_loop(ax: Axes | None = None) -> Figure:
    """The cascade's feedback loop as a diagram: liquidation orders → order book → last price → index
    (arbitrage) and basis moving average → mark → the next liquidations → more orders.

    The title says the loop in words (a figure's alternative text). Returns the Figure.
    """
    if ax is None:
        fig = new_figure(8.0, 4.6)
        fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=0.86)
        ax = fig.add_subplot()
    elif not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    ax.set_axis_off()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    boxes = {}
    for key, (text, (x, y)) in _LOOP_BOXES.items():
        face = (tint(PALETTE["vermillion"], 0.15) if key == "shock"
                else tint(PALETTE["blue"], 0.1) if key in ("mark", "liquidations") else "#f3f3f3")
        boxes[key] = ax.text(x, y, text, ha="center", va="center", fontsize=8.5,
                             bbox=dict(boxstyle="round,pad=0.45", fc=face, ec="0.35", lw=1))
    for start, end, label in _LOOP_ARROWS:
        ax.annotate("", xy=_LOOP_BOXES[end][1], xytext=_LOOP_BOXES[start][1],
                    arrowprops=dict(arrowstyle="-|>", color=PALETTE["vermillion"] if start == "liquidations" else "0.25",
                                    lw=1.3, patchA=boxes[start], patchB=boxes[end], shrinkA=4, shrinkB=4,
                                    connectionstyle="arc3,rad=0.0"))
        if label:
            (x0, y0), (x1, y1) = _LOOP_BOXES[start][1], _LOOP_BOXES[end][1]
            beside = x0 == x1  # a vertical arrow: the label beside it, else above it
            ax.text((x0 + x1) / 2 + 0.012 * beside, (y0 + y1) / 2 + 0.03 * (not beside), label,
                    ha="left" if beside else "center", va="center" if beside else "bottom", fontsize=7.5,
                    color="0.3", style="italic")
    ax.set_title("The cascade loop: liquidation orders move this venue's last price through the order book;\n"
                 "the index follows in part, the mark (index + moving average of the basis) follows both,\n"
                 "and a lower mark liquidates the next traders, whose orders go to the book again",
                 fontsize=9.5)
    return ax.figure
