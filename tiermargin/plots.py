"""Matplotlib figure builders that create their artists once and update them in place.

Each builder takes data computed by the core layers (it never computes margin itself), draws it
once, and exposes ``update(...)`` that moves the existing artists: explorers redraw without
re-creating figures. Import cost stays out of ``import tiermargin``: this module is imported by
the widgets and lessons only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
from html import escape
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap, to_hex
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator
from numpy.typing import ArrayLike

from .cross import CrossAccount
from .isolated import IsolatedPosition
from .tiers import TierTable


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

    def render(self) -> None:
        """Draw: the whole figure if the frame changed (or ``blit=False``), else the data over the cached frame."""
        canvas = self.ax.figure.canvas
        if not self.blit:
            canvas.draw_idle()
            return
        if self._background is None:
            canvas.draw()
            self._background = canvas.copy_from_bbox(self.ax.figure.bbox)
        else:
            canvas.restore_region(self._background)
        for artist in self.animated:
            artist.axes.draw_artist(artist)
        canvas.blit(self.ax.figure.bbox)


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
        "equity": ("equity (margin + UPL)", dict(color="tab:blue", lw=2)),
        "requirement": ("requirement (MM + fee reserve)", dict(color="tab:orange", lw=2, ls="--")),
        "zone": ("liquidated (health ≤ 0)", dict(color="tab:red", alpha=0.12, lw=0)),
        "boundaries": ("tier boundary", dict(colors="0.55", linestyles=":", lw=1)),
        "mark": ("mark", dict(color="black", lw=1.2)),
        "liquidation": ("liquidation price", dict(color="tab:red", lw=1.5)),
        "bankruptcy": ("bankruptcy price", dict(color="tab:purple", lw=1.2, ls="-.")),
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
    ax.stairs(table.max_leverage, edges, color="tab:blue", lw=2, label="max leverage")
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
        "index": ("index (spot venues)", dict(color="tab:green", lw=1.5)),
        "mark": ("mark price", dict(color="tab:blue", lw=2)),
        "liquidation": ("position's liquidation price", dict(color="tab:red", lw=1.5, ls="--")),
        "by_last": ("liquidated if marked to the last trade", dict(color="tab:red", marker="X", ms=10, ls="none")),
        "by_mark": ("liquidated if marked to the mark price", dict(color="tab:blue", marker="X", ms=10, ls="none")),
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


#: diverging, centred on 0 with a visible step there: the liquidation surface is the colour boundary
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
        "health": ("account health (2nd underlying held)", dict(color="tab:blue", lw=2)),
        "zone": ("liquidated (health ≤ 0)", dict(color="tab:red", alpha=0.12, lw=0)),
        "safe": ("health > 0 (surface)", dict(color=HEALTH_CMAP(0.85), alpha=0.5, lw=0)),
        "current": ("current prices", dict(color="black", lw=1.2)),
        "liquidation": ("cross liquidation price", dict(color="tab:red", lw=1.5)),
        "isolated": ("same position isolated: liquidation price", dict(color="tab:purple", lw=1.5, ls="--")),
        "slice": ("slice shown on the left", dict(color="black", lw=0.8, ls=":")),
        "marker": ("current prices (surface)", dict(color="black", marker="X", ms=9, ls="none")),
        "liq_marker": ("cross liquidation prices (surface)", dict(color="tab:red", marker="X", ms=8, ls="none")),
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
        "a": ("venue A (MM; max leverage)", dict(color="tab:blue", lw=2)),
        "a_other": ("venue A, rows in the other form (step ↔ continuous)", dict(color="tab:blue", lw=1.2, ls="--")),
        "a_bounds": ("venue A tier boundary", dict(colors="tab:blue", linestyles=":", lw=0.8)),
        "b": ("venue B (MM; max leverage)", dict(color="tab:orange", lw=2)),
        "b_bounds": ("venue B tier boundary", dict(colors="tab:orange", linestyles=":", lw=0.8)),
        "size": ("current size", dict(color="black", lw=1.0)),
        "leverage": ("chosen leverage", dict(color="0.35", lw=1.0, ls="-.")),
        "marker": ("venue A position", dict(color="tab:blue", marker="X", ms=9, ls="none", mec="black")),
        "marker_b": ("venue B position", dict(color="tab:orange", marker="X", ms=9, ls="none", mec="black")),
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
    def key(cls, overlay: bool) -> str:
        """The HTML key, without venue B's entries when nothing is overlaid."""
        return legend_html({k: v for k, v in cls.STYLE.items() if overlay or not k.startswith(("b", "marker_b"))})

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
