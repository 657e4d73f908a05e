"""The explorer pattern: named controls → one ``update`` that calls the library → readouts and a
figure updated in place. Errors raised while updating are shown in the widget, never swallowed.

Subclasses implement :meth:`Explorer._controls` (the named controls) and :meth:`Explorer.update`
(compute ``self.state`` from the controls with the core layers, move the plot's artists, fill the
readout). Everything else — wiring, error display, redraw, timing — lives here.
"""

from __future__ import annotations

import base64
import io
import numbers
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from html import escape
from typing import Any

import ipywidgets as W
import numpy as np
import traitlets
from IPython.display import clear_output, display

from ..plots import legend_handles, legend_html, new_figure


class Explorer:
    """Base class of the lesson explorers (an ipywidgets layout with named controls).

    Attributes
    ----------
    controls : dict[str, ipywidgets.Widget]
        The controls by name; tests set ``explorer.controls[name].value`` and read ``state``.
    state : dict
        What the last successful update computed (the readouts' numbers).
    error : ipywidgets.HTML
        Shows the message of the last failed update (empty when the last update succeeded).
    last_error : str or None
        The same message as text.
    last_update_ms : float
        Duration of the last update including the redraw.
    view : ipywidgets.VBox
        The whole explorer; displaying the explorer displays it, with a static PNG of the figure
        as a fallback for front ends that do not render widgets.
    """

    title = "Explorer"
    figsize = (8.0, 4.2)

    def __init__(self) -> None:
        self.controls: dict[str, W.ValueWidget] = self._controls()
        self.state: dict[str, Any] = {}
        self.last_error: str | None = None
        self.last_update_ms = 0.0
        self.error = W.HTML()
        self.readout = W.HTML(layout=W.Layout(min_width="300px"))
        # the plot's key, if a subclass shows one (show_key); as wide as the figure above it, wrapping
        # (width 0 and min-width 100 %: it takes its box's width and adds none of its own)
        self.key = W.HTML(layout=W.Layout(width="0", min_width="100%"))
        self.key_style: dict[str, tuple[str, dict]] = {}
        self.fig = new_figure(*self.figsize)
        if hasattr(self.fig.canvas, "_data_url"):  # an ipympl canvas
            prefix_data_url(self.fig.canvas)
        self._holding = False
        self._canvas = self.fig.canvas if isinstance(self.fig.canvas, W.DOMWidget) else W.Output()
        # blit where the canvas is live (ipympl) or headless; a static image needs plain draws
        self.blit = not (isinstance(self._canvas, W.Output) and _in_kernel())
        self._build_plot()
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self.view = W.VBox([
            W.HTML(f"<h3 style='margin:0'>{escape(self.title)}</h3>"),
            W.GridBox(list(self.controls.values()),
                      layout=W.Layout(grid_template_columns="repeat(3, minmax(240px, 1fr))")),
            self.error,
            # the figure keeps its size; the readout goes beside it, or below it in a narrow window
            W.HBox([W.VBox([self._canvas, self.key], layout=W.Layout(flex="0 0 auto")), self.readout],
                   layout=W.Layout(flex_flow="row wrap")),
        ])
        self.refresh()

    # ------------------------------------------------------------------ for subclasses
    def _controls(self) -> dict[str, W.ValueWidget]:
        raise NotImplementedError

    def _build_plot(self) -> None:
        """Create the figure's artists once (subclasses)."""
        raise NotImplementedError

    def update(self) -> None:
        """Recompute ``state`` from the controls, move the artists, fill the readout (subclasses)."""
        raise NotImplementedError

    def _on_control(self, name: str) -> None:
        """Hook for a control change before the update (e.g. re-range a slider); default none."""

    def show_key(self, style: dict[str, tuple[str, dict]], html: str | None = None) -> None:
        """Show the plot's key: ``style`` (a plot's ``STYLE`` entries) as HTML beside the live figure
        (``html`` if given, else :func:`~tiermargin.plots.legend_html`), and as a legend under the
        static figure."""
        self.key_style = style
        self.key.value = legend_html(style) if html is None else html

    # ------------------------------------------------------------------ machinery
    def refresh(self) -> None:
        """Run :meth:`update` and redraw; show any error in the widget instead of losing it."""
        t0 = time.perf_counter()
        try:
            self.update()
        except Exception as e:  # noqa: BLE001 — every failure is shown to the user
            self.last_error = str(e) if isinstance(e, (ValueError, TypeError)) else (
                f"{type(e).__name__}: {e} (at {traceback.extract_tb(e.__traceback__)[-1].name})")
            self.error.value = (
                "<div style='color:#b00020;border:1px solid #b00020;padding:4px 8px;border-radius:4px'>"
                f"⚠ {escape(self.last_error)} — the figure and readouts show the last valid state.</div>"
            )
            return
        self.last_error = None
        self.error.value = ""
        self._redraw()
        self.last_update_ms = (time.perf_counter() - t0) * 1000

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Change several controls with one update at the end."""
        outer = self._holding
        self._holding = True
        try:
            yield
        finally:
            self._holding = outer
        if not outer:
            self.refresh()

    def set(self, **values: Any) -> None:
        """Set controls by name, in the order given, as a user would, then update once.

        Each control that changes runs its reaction right after it (:meth:`_on_control`: a new table
        loads its example position and re-ranges the leverage and mark sliders, ...), so a later value
        is checked against the ranges and choices the earlier ones left. A value a later reaction
        overwrote is set again (with its own reaction), so every value given is the value held:
        ``set(contract="inverse", entry=1000)`` and ``set(entry=1000, contract="inverse")`` both give
        the first inverse table with its example size and leverage, and an entry of 1000.

        Nothing is clipped or converted: a value outside a slider's range (ranges are not widened),
        not among a choice's options, or of the wrong type (True or "2" for a number, 2.5 for an
        integer) is refused with a ``ValueError``/``TypeError`` naming the control and what it allows;
        the values before it stay set, and the explorer shows them. A value the control can hold but
        the library refuses (a negative entry price) is shown in the widget (:attr:`last_error`), as
        a user's is.
        """
        unknown = set(values) - set(self.controls)
        if unknown:
            raise ValueError(f"unknown control(s) {sorted(unknown)}; controls are {sorted(self.controls)}")
        before = {k: c.value for k, c in self.controls.items()}
        try:
            with self.hold():
                self._assign(values)
        except Exception:
            if any(not _same(c.value, before[k]) for k, c in self.controls.items()):
                self.refresh()  # show the values set before the refused one
            raise

    def _assign(self, values: dict[str, Any]) -> None:
        """:meth:`set`'s assignments: each value checked, set and reacted to, in order; then the values
        later reactions overwrote again, until every control holds the value given."""
        todo = values
        for _ in range(len(values) + 1):  # a reaction moves only controls downstream of its own: enough rounds
            if not todo:
                return
            for name, value in todo.items():
                control = self.controls[name]
                refused = _refusal(name, control, value)
                if refused is not None:
                    raise refused
                old, control.value = control.value, value
                if not _same(old, value):
                    self._on_control(name)
            todo = {k: v for k, v in values.items() if not _same(self.controls[k].value, v)}
        raise ValueError(f"the reactions to controls {sorted(todo)} overwrite each other: set them one by one")

    def _on_change(self, change: dict[str, Any]) -> None:
        if self._holding:
            return
        name = next(k for k, c in self.controls.items() if c is change["owner"])
        with self.hold():
            self._on_control(name)

    def _render(self) -> None:
        """Draw the figure (subclasses may blit); default: a full draw."""
        self.fig.canvas.draw_idle()

    def _redraw(self) -> None:
        self._render()
        if not self.blit:
            with self._canvas:
                clear_output(wait=True)
                display(self.fig)

    def static_png(self, dpi: float = 72) -> bytes:
        """The figure as it is now, as PNG bytes (the explorer's static fallback), with the plot's key
        (:attr:`key_style`) as a legend under it, since the HTML key beside the live figure is not in
        the image.

        Blitted artists are ``animated`` (left out of a normal draw), so they are drawn in for the
        image; the legend is then removed and the live canvas re-rendered.
        """
        moving = self.fig.findobj(lambda artist: artist.get_animated())
        for artist in moving:
            artist.set_animated(False)
        legend = (self.fig.legend(handles=legend_handles(self.key_style), loc="upper center",
                                  bbox_to_anchor=(0.5, 0.0), ncols=2, fontsize=8, frameon=False)
                  if self.key_style else None)
        buffer = io.BytesIO()
        try:
            self.fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight" if legend else None)
        finally:
            if legend is not None:
                legend.remove()
            for artist in moving:
                artist.set_animated(True)
        self._render()
        return buffer.getvalue()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """The live widget, plus a static figure of the current state and a text note as fallbacks.

        Front ends that render widgets (JupyterLab, Notebook, Voila) show the widget; those that do not
        (GitHub, nbviewer, an HTML export without widget state) show the figure instead.
        """
        bundle = dict(self.view._repr_mimebundle_(include=include, exclude=exclude) or {})
        bundle["image/png"] = base64.b64encode(self.static_png()).decode("ascii")
        bundle["text/plain"] = (f"{self.title} (static figure of its initial state; run the notebook in "
                                "Jupyter to use the controls)")
        return bundle


def _same(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` are the same control value: equal and of one kind (True is not 1, "2" is
    not 2; NaN is NaN); values that are neither text nor numbers (None) only if identical."""
    if isinstance(a, (bool, np.bool_)) != isinstance(b, (bool, np.bool_)) or isinstance(a, str) != isinstance(b, str):
        return False
    if not isinstance(a, (str, numbers.Number)) or not isinstance(b, (str, numbers.Number)):
        return a is b
    return bool(a == b) or (a != a and b != b)


def _refusal(name: str, control: W.ValueWidget, value: Any) -> ValueError | TypeError | None:
    """Why ``control`` (called ``name``) cannot hold ``value`` as given, naming it and what it allows;
    None if it can. ipywidgets would clip a slider's value into its range, convert True or "2" to a
    number and match an option by ``==`` (True for 1): :meth:`Explorer.set` refuses them instead."""
    got = f"got {value!r:.80}"
    if hasattr(control, "options"):  # a choice
        choices = [o[1] if isinstance(o, tuple) else o for o in control.options]
        if any(_same(value, c) for c in choices):
            return None
        allowed = (", ".join(map(repr, choices)) if len(choices) <= 20
                   else f"the {len(choices)} values from {choices[0]!r} to {choices[-1]!r}")
        return ValueError(f"{name} must be one of {allowed}; {got}")
    trait = control.traits()["value"]
    number = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    for trait_type, kind, ok in ((traitlets.Bool, "True or False", isinstance(value, (bool, np.bool_))),
                                 (traitlets.Int, "an integer", number and isinstance(value, numbers.Integral)),
                                 (traitlets.Float, "a real number", number),
                                 (traitlets.Unicode, "a str", isinstance(value, str))):
        if isinstance(trait, trait_type) and not ok:
            return TypeError(f"{name} must be {kind}; {got}")
    if hasattr(control, "min") and hasattr(control, "max"):  # a slider
        base = getattr(control, "base", None)  # a log slider's range is in exponents
        lo, hi = (base ** control.min, base ** control.max) if base else (control.min, control.max)
        if not lo <= value <= hi:
            return ValueError(f"{name} must be between {lo:,g} and {hi:,g} (the slider's range); {got}")
    return None


def prefix_data_url(canvas: Any) -> None:
    """Keep an ipympl canvas's ``_data_url`` a real ``data:`` URL.

    ipympl 0.10.0 stores the image drawn before the page shows the figure as bare base64; the browser
    then loads it as a relative URL, fails, and the canvas stays blank (0×0) until the next draw —
    found by the browser tests (``tests/browser``). Prefixing it makes the first image show.
    """
    def fix(change: object = None) -> None:
        url = canvas._data_url
        if isinstance(url, str) and url and not url.startswith("data:"):
            canvas._data_url = "data:image/png;base64," + url

    canvas.observe(fix, names="_data_url")
    fix()


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency of ipywidgets
        return False
    return get_ipython() is not None


def readout_table(rows: list[tuple[str, str]]) -> str:
    """HTML for a two-column readout (label, formatted value)."""
    body = "".join(
        f"<tr><td style='padding:1px 8px 1px 0;color:#555'>{escape(k)}</td>"
        f"<td style='text-align:right;font-family:monospace'>{v}</td></tr>"
        for k, v in rows
    )
    return f"<table style='font-size:13px'>{body}</table>"


def fmt_amount(x: float, currency: str = "") -> str:
    """Money with thousands separators: 2 decimals from 1 up, 6 below (coin amounts)."""
    decimals = 2 if abs(x) >= 1 or x == 0 else 6
    return f"{x:,.{decimals}f} {currency}".rstrip()


def fmt_pct(x: float) -> str:
    """A ratio as a percentage; ``inf`` (no margin balance left, or nothing at risk) spelled out."""
    return "∞" if not np.isfinite(x) else f"{x:.2%}"
