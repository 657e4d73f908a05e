"""CalculatorExplorer: a margin calculator for self-learners — one isolated position under one venue's
rules (a rulebook preset, or its rules with a pasted ccxt tier list), every figure with its derivation,
and the same position on the other venues.

The arithmetic is :func:`calculate` (no widgets: unit-testable, raises the library's ``ValueError`` on
bad input); :class:`CalculatorExplorer` is a thin page over it on the :class:`~.base.Explorer` base.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape
from typing import Any

import ipywidgets as W

from .. import _check
from ..alternatives import AdjustmentFactors, PositionSchedule
from ..derivation import Derivation
from ..isolated import IsolatedPosition
from ..isolated_derivations import WHAT
from ..rules import PRESETS, Comparison, Rulebook, compare, preset
from ..tiers import TierTable
from .base import Explorer, fmt_amount, fmt_pct, readout_table

#: the derivation selector: value (``IsolatedPosition.explain``'s ``what``) → label
DERIVATIONS: dict[str, str] = {
    "liquidation_price": "liquidation price",
    "bankruptcy_price": "bankruptcy price",
    "maintenance_margin": "maintenance margin (MM) at the mark",
    "fee_reserve": "fee reserve at the mark",
    "requirement": "requirement at the mark",
    "equity": "equity at the mark",
    "health": "health at the mark",
    "ratio_legacy": "margin ratio, legacy (OKX / CoinW articles)",
    "ratio_coinw": "margin ratio, CoinW / OKX",
    "ratio_binance": "margin ratio, Binance",
}
assert set(DERIVATIONS) == set(WHAT)
AT_MARK = frozenset(WHAT) - {"liquidation_price", "bankruptcy_price"}  # explained at the mark price

#: the calculator's starting position: 17 BTC of BTCUSDT at 60,000 (lesson 02), 10x, mark 58,000
DEFAULTS: dict[str, Any] = {"venue": "binance-usdm", "side": "long", "notional_usd": 1_020_000.0,
                            "entry": 60_000.0, "leverage": 10.0, "mark": 58_000.0, "ccxt_tiers": ""}


def venue_choices() -> dict[str, str]:
    """Preset id → label, for every rulebook preset that can charge a position (``has_margin``)."""
    return {b.id: f"{b.venue} ({b.table_label})" for b in PRESETS.values() if b.has_margin}


def pasted_table(text: str, book: Rulebook, leverage: float) -> TierTable | None:
    """A ccxt tier list pasted as JSON text → a :class:`TierTable` for ``book``'s venue (None: empty text).

    The text is ``fetch_leverage_tiers()[symbol]`` as JSON: a list of dicts with ``minNotional``,
    ``maxNotional`` (``null``: unbounded), ``maintenanceMarginRate`` and ``maxLeverage``; a dict of
    one symbol → such a list is accepted too. The table takes the contract, basis, form and boundary
    of what charges the venue now (``book.margin(leverage)``: OKX's ccxt tiers are in contracts, its
    table too); for a venue charged by a continuous schedule (Drift, dYdX v4) its contract, sizes by
    notional, continuous form.

    Raises
    ------
    ValueError
        Starting "ccxt tiers:": not JSON, not a list of tier objects, or the library's message about
        a row (a missing field, caps out of order, ...).
    """
    text = text.strip().removeprefix("\ufeff")  # a byte-order mark, as TierTable.from_json accepts
    if not text:
        return None
    try:
        tiers = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"ccxt tiers: not valid JSON ({e.msg} at line {e.lineno}, column {e.colno}); paste "
                         "ccxt's fetch_leverage_tiers()[symbol], a list of tier objects") from None
    except (ValueError, RecursionError):  # a number of too many digits, nesting too deep to parse
        raise ValueError("ccxt tiers: not valid JSON (a number too long or nesting too deep); paste ccxt's "
                         "fetch_leverage_tiers()[symbol], a list of tier objects") from None
    if isinstance(tiers, dict) and len(tiers) == 1 and isinstance(next(iter(tiers.values())), list):
        tiers = next(iter(tiers.values()))  # {"BTC/USDT:USDT": [...]}
    if not isinstance(tiers, list) or not tiers or not all(isinstance(t, dict) for t in tiers):
        raise ValueError("ccxt tiers: expected a non-empty JSON list of tier objects (minNotional, maxNotional, "
                         f"maintenanceMarginRate, maxLeverage), got {type(tiers).__name__}"
                         + (" of non-objects" if isinstance(tiers, list) and tiers else ""))
    base = book.margin(leverage)
    shape: dict[str, Any] = ({"basis": base.basis, "form": base.form, "closed": base.closed}
                             if isinstance(base, TierTable) else {"basis": "notional", "form": "continuous"})
    try:
        return TierTable.from_ccxt(tiers, contract=base.contract, venue=book.venue, id="pasted ccxt tiers",
                                   symbol=getattr(base, "symbol", "") or "", source="pasted in the calculator",
                                   **shape)
    except (ValueError, TypeError) as e:
        raise ValueError(f"ccxt tiers: {e}") from None


@dataclass(frozen=True)
class Calculation:
    """What :func:`calculate` gives: the rulebook and table used, the position, its figures at the mark,
    the derivation of each (``IsolatedPosition.explain``) and the comparison over the venues."""

    book: Rulebook
    table: PositionSchedule
    position: IsolatedPosition
    mark: float
    figures: dict[str, Any]
    derivations: dict[str, Derivation]
    comparison: Comparison


def calculate(venue: str, side: str, notional_usd: float, entry: float, leverage: float, mark: float,
              ccxt_tiers: str = "") -> Calculation:
    """One isolated position under a venue's rules: figures at ``mark``, derivations, comparison.

    Parameters
    ----------
    venue : str
        A rulebook preset id (:func:`venue_choices`).
    side : {"long", "short"}
    notional_usd : float
        Position size in USD of the underlying at entry; converted to the venue's contracts as
        :func:`~tiermargin.rules.compare` does (``notional / USD value of one contract at entry``).
    entry, leverage, mark : float
        Entry price, leverage (initial margin = value at entry / leverage, plus the fee to close where
        the venue reserves it at the bankruptcy price), mark price.
    ccxt_tiers : str
        Optional ccxt tier list as JSON text (:func:`pasted_table`); when given it replaces the
        venue's table (:meth:`Rulebook.with_table`), the venue's other rules kept.

    Returns
    -------
    Calculation
        ``figures``: ``contracts``, ``notional_usd``, ``margin``, ``value``, ``tier`` (at the mark; None
        for a continuous schedule), ``mmr``, ``maintenance_margin``, ``fee_reserve``, ``requirement``,
        ``equity``, ``health``, ``liquidated``, ``ratio_legacy`` (and ``_threshold``), ``ratio_coinw``,
        ``ratio_binance``, ``liquidation_price``/``_exists``/``_tier``, ``bankruptcy_price``/``_exists``,
        and ``liquidation_display`` / ``bankruptcy_display`` rounded as the venue displays them
        (:meth:`Rulebook.round_price`; None where the price does not exist). ``derivations``: one per
        :data:`DERIVATIONS` key. ``comparison``: this venue (with any pasted table) first, then every
        other preset with a margin.

    Raises
    ------
    ValueError
        The library's message (naming the parameter) for a bad input, or the venue's refusal of the
        position (beyond the table's last cap, leverage above the tier's max, ...).

    Examples
    --------
    >>> c = calculate("binance-usdm", "long", 1_020_000, 60_000, 10, 58_000)
    >>> c.figures["tier"], round(c.figures["liquidation_price"], 2), c.derivations["liquidation_price"].title
    (3, 54468.21, 'Liquidation price of a long of 17 × BTCUSDT from 60,000')
    """
    book = preset(venue)
    _check.side("side", side)
    n = float(_check.positive("notional_usd", notional_usd))
    ep = float(_check.positive("entry", entry))
    lev = float(_check.positive("leverage", leverage))
    mk = float(_check.positive("mark", mark))
    if not book.has_margin:
        raise ValueError(f"venue {venue!r} has no bundled tier table: paste its ccxt tiers to use it")
    own = pasted_table(ccxt_tiers, book, lev)
    if own is not None:
        book = book.with_table(own)
    table = book.margin(lev)
    qty = n / float(table.contract.usd_value(1.0, ep))
    pos = IsolatedPosition.open(table, side, qty, ep, lev, fee_rate=book.fee_rate,
                                requirement_at=book.requirement_at, fee_at=book.fee_at)
    s = pos.summary(mk)
    vp = ep if book.requirement_at == "entry" else mk
    size = qty if table.basis == "contracts" else float(table.contract.value(qty, vp))
    sgn = float(pos.side)
    fig: dict[str, Any] = {
        "contracts": qty, "notional_usd": n, "margin": float(pos.margin), "value": float(s["value"]),
        "tier": int(s["tier"]) if isinstance(table, TierTable) else None, "mmr": float(table.rate(size)),
        "maintenance_margin": float(s["maintenance_margin"]), "fee_reserve": float(pos.fee_reserve(mk)),
        "requirement": float(s["requirement"]), "equity": float(s["equity"]), "health": float(s["health"]),
        "liquidated": bool(s["liquidated"]),
        "ratio_legacy": float(s["ratio_legacy"]), "ratio_legacy_threshold": float(s["ratio_legacy_threshold"]),
        "ratio_coinw": float(s["ratio_coinw"]), "ratio_binance": float(s["ratio_binance"]),
        "liquidation_price": float(s["liquidation_price"]), "liquidation_exists": bool(s["liquidation_exists"]),
        "liquidation_tier": int(s["liquidation_tier"]),
        "bankruptcy_price": float(s["bankruptcy_price"]), "bankruptcy_exists": bool(s["bankruptcy_exists"]),
    }
    fig["liquidation_display"] = book.round_price(fig["liquidation_price"], sgn) if fig["liquidation_exists"] else None
    fig["bankruptcy_display"] = book.round_price(fig["bankruptcy_price"], sgn) if fig["bankruptcy_exists"] else None
    derivations = {w: pos.explain(w, mk if w in AT_MARK else None) for w in DERIVATIONS}
    others = [b for b in PRESETS.values() if b.has_margin and b.id != book.id]
    return Calculation(book, table, pos, mk, fig, derivations, compare(side, n, ep, lev, [book, *others]))


def derivation_html(d: Derivation) -> str:
    """A derivation as HTML that needs no MathJax: its title, numbered plain-text lines (the last, the
    result, in bold), the rule and the source (the same text as ``str(d)``)."""
    items = "".join(f"<li{' class=tm-result' if i == len(d.lines) else ''}>{escape(ln.text())}</li>"
                    for i, ln in enumerate(d.lines, 1))
    out = [f"<div class='tm-derivation'><b class='tm-title'>{escape(d.title)}</b>",
           f"<ol style='margin:4px 0;padding-left:2.2em;font-family:monospace;font-size:12px'>{items}</ol>"]
    if d.rule:
        out.append(f"<div style='font-size:12px'><i>Rule:</i> {escape(d.rule)}</div>")
    if d.source:
        out.append(f"<div style='font-size:12px;color:#555'><i>Source:</i> {escape(d.source)}</div>")
    return "".join(out) + "</div>"


_STYLE = ("<style>.tm-derivation li.tm-result{font-weight:bold}"
          ".tm-compare table{border-collapse:collapse;font-size:12px}"
          ".tm-compare th,.tm-compare td{border-bottom:1px solid #ddd;padding:2px 6px;text-align:left}"
          ".tm-compare tbody tr:first-child{background:#eef4ff;font-weight:bold}</style>")


def comparison_html(c: Calculation) -> str:
    """The comparison table (:class:`~tiermargin.rules.Comparison`'s HTML; this venue's row first, shaded)."""
    return (f"{_STYLE}<div class='tm-compare'><b>The same position on the other venues</b> (at entry: tier, MMR, "
            f"MM and the liquidation and bankruptcy prices each venue displays; first row: "
            f"{escape(c.book.venue)} as above)" + c.comparison._repr_html_() + "</div>")


def _price_text(book: Rulebook, exact: float, shown: float | None, exists: bool) -> str:
    if not exists or shown is None:
        return "none (cannot be reached)"
    if shown == exact or book.rounding == "none":
        return fmt_amount(exact)
    return f"{fmt_amount(shown)} (rounded to the {book.tick:g} tick; exact {fmt_amount(exact)})"


def readout_rows(c: Calculation) -> list[tuple[str, str]]:
    """The readout's (label, HTML value) rows."""
    f, book, t = c.figures, c.book, c.table
    cur, schedule = t.contract.settle, not isinstance(t, TierTable)
    rules = f"MM valued at the {'mark' if book.requirement_at == 'mark' else 'entry price'}"
    if book.fee_rate:
        rules += f", fee reserve {book.fee_rate * 100:g}%" + {"bankruptcy": " at the bankruptcy price",
                                                             "entry": " at entry"}.get(book.fee_at, "")
    if isinstance(book.margin_rule, AdjustmentFactors):
        rules += f", MMR = adjustment factor / {float(c.position.leverage):g}x"
    if book.rounding != "none":
        rules += f", prices rounded to {book.tick:g} (long up, short down)"
    shown = {"legacy": "ratio_legacy", "coinw": "ratio_coinw", "binance": "ratio_binance"}[book.ratio]

    def ratio(key: str, text: str) -> tuple[str, str]:
        label = {"ratio_legacy": "margin ratio, legacy: equity / value",
                 "ratio_coinw": "margin ratio, CoinW: equity / (value × (MMR + f))",
                 "ratio_binance": "margin ratio, Binance: MM / equity"}[key]
        return label + (" — this venue's display" if key == shown else ""), text

    kind = f"continuous schedule ({t.schedule.name})" if schedule else f"{t.form}, by {t.basis}"
    return [
        ("rules", escape(f"{book.venue}: {book.table_label} — {kind}; {rules}")),
        ("position", escape(f"{fmt_amount(f['contracts'])} contracts ≈ {fmt_amount(f['notional_usd'], 'USD')} at "
                            f"entry; margin {fmt_amount(f['margin'], cur)}")),
        ("tier at the mark", "none: a continuous schedule" if schedule else f"{f['tier']} of {t.n_tiers}"),
        ("maintenance margin rate (MMR)", f"{f['mmr']:.3%}"),
        ("maintenance margin (MM)", fmt_amount(f["maintenance_margin"], cur)),
        ("fee reserve", fmt_amount(f["fee_reserve"], cur)),
        ("requirement = MM + fee reserve", fmt_amount(f["requirement"], cur)),
        ("equity = margin + UPL", fmt_amount(f["equity"], cur)),
        ("health = equity − requirement", fmt_amount(f["health"], cur)
         + (" <b style='color:#b00020'>(liquidated at this mark)</b>" if f["liquidated"] else "")),
        ratio("ratio_legacy",
              f"{fmt_pct(f['ratio_legacy'])} (liquidated at ≤ {fmt_pct(f['ratio_legacy_threshold'])})"),
        ratio("ratio_coinw", f"{fmt_pct(f['ratio_coinw'])} (liquidated at ≤ 100%)"),
        ratio("ratio_binance", f"{fmt_pct(f['ratio_binance'])} (liquidated at ≥ 100%)"),
        ("liquidation price",
         _price_text(book, f["liquidation_price"], f["liquidation_display"], f["liquidation_exists"])
         + (f" (tier {f['liquidation_tier']})" if f["liquidation_exists"] and not schedule else "")),
        ("bankruptcy price", _price_text(book, f["bankruptcy_price"], f["bankruptcy_display"], f["bankruptcy_exists"])),
    ]


PLACEHOLDER = ('optional: paste ccxt tiers (fetch_leverage_tiers()[symbol]) as JSON, e.g. [{"minNotional": 0, '
               '"maxNotional": 50000, "maintenanceMarginRate": 0.004, "maxLeverage": 125}, {"minNotional": 50000, '
               '"maxNotional": null, "maintenanceMarginRate": 0.005, "maxLeverage": 100}] — it replaces the '
               "venue's table, the venue's other rules kept")


class CalculatorExplorer(Explorer):
    """A margin calculator: pick a venue, enter a position, read every figure and its derivation.

    Controls: venue (every rulebook preset with a margin), side, notional (USD at entry), entry price,
    leverage, mark price, which derivation to show, and an optional text area for a pasted ccxt tier
    list that replaces the venue's table. Readout: tier, MMR, MM, fee reserve, requirement, equity,
    health, the three margin ratios, liquidation and bankruptcy prices (rounded as the venue displays
    them); the derivation chosen (``IsolatedPosition.explain``, as plain text lines); the same position
    on every other venue (:func:`~tiermargin.rules.compare`). Bad input shows the library's message and
    keeps the last valid figures.

    Examples
    --------
    >>> ex = CalculatorExplorer()
    >>> ex.set(venue="okx")
    >>> ex.state["figures"]["tier"], ex.last_error
    (3, None)
    >>> ex.set(entry=-1.0)
    >>> ex.last_error
    'entry must be > 0, got -1.0'
    """

    title = "Margin calculator"
    figsize = (1.0, 1.0)  # the base class makes a figure; the calculator draws none

    def __init__(self, **values: Any) -> None:
        self.derivation = W.HTML(layout=W.Layout(min_width="420px", max_width="760px"))
        self.comparison = W.HTML()
        self._last: tuple[tuple[Any, ...], Calculation] | None = None
        super().__init__()
        import matplotlib.pyplot as plt

        plt.close(self.fig)
        old = self.view  # the base layout (a figure's place): replaced below; its containers closed
        for w in (old, *old.children[:2], old.children[3], *old.children[3].children[:1], self.key, self._canvas):
            w.close()
        c = self.controls
        fields = [c[k] for k in ("venue", "side", "notional_usd", "entry", "leverage", "mark")]
        self.view = W.VBox([
            W.HTML(f"<h3 style='margin:0'>{escape(self.title)}</h3>"),
            W.GridBox(fields, layout=W.Layout(grid_template_columns="repeat(3, minmax(260px, 1fr))")),
            c["ccxt_tiers"],
            self.error,
            W.HBox([self.readout, W.VBox([c["derivation"], self.derivation])],
                   layout=W.Layout(grid_gap="24px", align_items="flex-start")),
            self.comparison,
        ])
        if values:
            self.set(**values)

    def _controls(self) -> dict[str, W.ValueWidget]:
        wide = {"description_width": "110px"}
        d = DEFAULTS
        return {
            "venue": W.Dropdown(options=[(label, v) for v, label in venue_choices().items()], value=d["venue"],
                                description="venue", style=wide, layout=W.Layout(width="98%")),
            "side": W.ToggleButtons(options=["long", "short"], value=d["side"], description="side",
                                    style={"button_width": "70px", **wide}),
            "notional_usd": W.FloatText(value=d["notional_usd"], description="notional (USD)", style=wide,
                                        continuous_update=False),
            "entry": W.FloatText(value=d["entry"], description="entry price", style=wide, continuous_update=False),
            "leverage": W.FloatText(value=d["leverage"], description="leverage (x)", style=wide,
                                    continuous_update=False),
            "mark": W.FloatText(value=d["mark"], description="mark price", style=wide, continuous_update=False),
            "ccxt_tiers": W.Textarea(value=d["ccxt_tiers"], description="ccxt tiers", placeholder=PLACEHOLDER,
                                     continuous_update=False, style=wide,
                                     layout=W.Layout(width="100%", max_width="1000px", height="64px")),
            "derivation": W.Dropdown(options=[(label, v) for v, label in DERIVATIONS.items()],
                                     value="liquidation_price", description="derivation of", style=wide,
                                     layout=W.Layout(width="420px")),
        }

    def _build_plot(self) -> None:
        """No figure."""

    def _render(self) -> None:
        """No figure."""

    def _redraw(self) -> None:
        """No figure."""

    def update(self) -> None:
        v = {k: w.value for k, w in self.controls.items()}
        key = tuple(v[k] for k in ("venue", "side", "notional_usd", "entry", "leverage", "mark", "ccxt_tiers"))
        if self._last is not None and self._last[0] == key:  # only the derivation shown changed
            calc = self._last[1]
        else:
            calc = calculate(*key)
            self._last = (key, calc)
            self.readout.value = readout_table(readout_rows(calc))
            self.comparison.value = comparison_html(calc)
        d = calc.derivations[v["derivation"]]
        self.derivation.value = derivation_html(d)
        self.state = {"calculation": calc, "figures": calc.figures, "position": calc.position, "book": calc.book,
                      "table": calc.table, "derivation": d, "comparison": calc.comparison}

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """The live widget; where widgets do not render, the readout, derivation and comparison as HTML."""
        bundle = dict(self.view._repr_mimebundle_(include=include, exclude=exclude) or {})
        bundle["text/html"] = (f"<h3>{escape(self.title)}</h3><p><i>Static view of the starting position; run the "
                               f"notebook (Jupyter or Voilà) to use the controls.</i></p>{self.error.value}"
                               f"{self.readout.value}{self.derivation.value}{self.comparison.value}")
        d = self.state.get("derivation")
        bundle["text/plain"] = f"{self.title} (static view; run the notebook to use the controls)\n{d or ''}"
        return bundle
