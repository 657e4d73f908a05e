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


class MarginPlot:
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

    def render(self) -> None:
        """Draw: the whole figure after :meth:`update`, else only the mark over the cached background."""
        canvas = self.ax.figure.canvas
        if not self.blit:
            canvas.draw_idle()
            return
        if self._background is None:
            canvas.draw()
            self._background = canvas.copy_from_bbox(self.ax.figure.bbox)
        else:
            canvas.restore_region(self._background)
        self.ax.draw_artist(self.mark_line)
        canvas.blit(self.ax.figure.bbox)

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


class CrossPlot:
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
