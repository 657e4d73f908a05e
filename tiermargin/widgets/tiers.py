"""TierExplorer: one venue's tier table against position size — tier, MMR, maintenance amount and
margin, max leverage and liquidation price as the size moves; step vs continuous form; a second
venue overlaid on a common USD axis. Venues charged by a continuous schedule (Drift, dYdX v4) draw
their curves without tiers; HTX's table is the one its adjustment factors give at the chosen
leverage."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from math import log10
from typing import Any

import ipywidgets as W

from .. import _check
from ..alternatives import AdjustmentFactors, PositionSchedule
from ..isolated import IsolatedPosition, requirement
from ..plots import TierPlot, TierView, size_window
from ..rules import PRESETS, Rulebook
from ..tiers import TierTable, table_ids, table_info
from .base import Explorer, fmt_amount, readout_table
from .isolated import EXAMPLES, IsolatedExplorer, _set_range

#: the form control: the table as published, or its rows charged in one form
FORMS = [("as published", "published"), ("step (no deduction)", "step"),
         ("continuous (with deduction)", "continuous")]
NO_OVERLAY = ""
#: example positions (entry, contracts) of the bundled margin rules: Drift's test market where its size
#: premium is at work (above 40,000 contracts for the maintenance ratio), one BTC, 20 BTC (HTX tier 2 at 10x)
RULE_EXAMPLES: dict[str, tuple[float, float]] = {
    "drift-program-test-market": (100.0, 50_000.0),
    "dydx-v4-btc-usd": (60_000.0, 1.0),
    "htx-btc-usdt-isolated-2020-09": (60_000.0, 2_000.0),
}


def venues(extra: Sequence[Rulebook] = ()) -> dict[str, tuple[str, Rulebook]]:
    """The venue dropdowns' choices, value → (label, rulebook).

    The rulebook presets that have a bundled table or margin rule (value: the preset id); the
    bundled tables no preset uses, under the default rules (requirement valued at the mark, no fee
    reserve; value: the table id); then ``extra`` rulebooks, each with a table (say
    ``preset("coinw").with_table(t)``), replacing a choice of the same id.
    """
    for book in extra:
        if not isinstance(book, Rulebook) or not book.has_margin:
            raise ValueError("rulebooks must be Rulebooks with a table (attach one with "
                             f"preset(id).with_table(table)); got {book!r}")
    def choice(book: Rulebook) -> tuple[str, Rulebook]:
        return f"{book.venue} ({book.table_label})", book

    presets = [b for b in PRESETS.values() if b.table_id is not None or b.margin_id is not None]
    choices = {b.id: choice(b) for b in presets}
    used = {b.table_id for b in presets}
    for tid in table_ids():
        if tid not in used:
            i = table_info(tid)
            choices[tid] = (f"{i['venue']} {i['symbol']} ({i['as_of']})", Rulebook(tid, i["venue"], tid))
    choices.update({b.id: choice(b) for b in extra})
    return choices


def charged_table(book: Rulebook, form: str, leverage: float) -> PositionSchedule:
    """What charges a position at ``leverage`` (:meth:`Rulebook.margin`) as published
    (``form="published"``), or its rows charged in ``form`` (a continuous schedule has none: unchanged)."""
    table = book.margin(leverage)
    return table if form == "published" else table.with_form(form)  # type: ignore[attr-defined]


def _leverage_key(book: Rulebook, leverage: float) -> float | None:
    """The leverage where it picks the venue's table (HTX), else None: part of the curves' key."""
    return leverage if isinstance(book.margin_rule, AdjustmentFactors) else None


def venue_figures(
    book: Rulebook, table: PositionSchedule, qty: float, side: str, entry: float, leverage: float,
    raise_refusal: bool = True,
) -> dict[str, Any]:
    """Every readout figure of ``qty`` contracts charged by ``table`` under ``book``'s rules.

    Tier, MMR, maintenance amount, MM (at entry), effective rate and max leverage come from the
    table; the largest size at ``leverage`` from :meth:`TierTable.max_size_at_leverage`; the
    liquidation prices from the position :meth:`IsolatedPosition.open` gives (fee reserve and
    requirement valuation per the rulebook).

    Parameters
    ----------
    book : Rulebook
    table : TierTable or ContractSchedule
        What charges the position (:func:`charged_table`).
    qty : float
        Contracts.
    side : {"long", "short"}
    entry, leverage : float
    raise_refusal : bool
        When the venue refuses the position (leverage above the tier's max, size beyond the last
        cap): raise the library's ``ValueError`` (True), or return the table figures with the
        message under ``"refused"`` and ``"position"`` None (False).

    Returns
    -------
    dict
        ``size`` (basis units), ``usd_notional``, ``tier`` (1-based), ``tier_floor``, ``tier_cap``,
        ``mmr``, ``maintenance_amount``, ``maintenance_margin`` (settle currency),
        ``effective_rate``, ``max_leverage`` and ``max_size`` (None: not published, or
        ``max_size_error`` says why no size allows the leverage),
        ``refused`` (None, or the library's message), and from the position (None when refused)
        ``position``, ``entry_tier``, ``liquidation_price``/``_exists``/``_tier`` and
        ``naive_liquidation_price``/``naive_exists`` (tier kept at entry; None for a continuous
        schedule, which has no tier to keep); plus ``book``, ``table``, ``qty``.
    """
    size = float(table.size_of(qty, entry))
    k = int(table.tier_index(size))
    published = table.max_leverage is not None
    f: dict[str, Any] = {
        "book": book, "table": table, "qty": float(qty), "size": size,
        "usd_notional": float(table.usd_notional(size, entry)),
        "tier": k + 1, "tier_floor": float(table.floors[k]), "tier_cap": float(table.caps[k]),
        "mmr": float(table.rate(size)), "maintenance_amount": float(table.maintenance_amount(size)),
        "maintenance_margin": float(requirement(table, qty, entry)),
        "effective_rate": float(requirement(table, qty, entry)) / float(table.contract.value(qty, entry)),
        "max_leverage": float(table.max_leverage_at(size)) if published else None,
        "max_size": None, "max_size_error": None, "refused": None, "position": None, "entry_tier": None,
        "liquidation_price": None, "liquidation_exists": None, "liquidation_tier": None,
        "naive_liquidation_price": None, "naive_exists": None,
    }
    pos: IsolatedPosition | None
    try:
        pos = IsolatedPosition.open(table, side, qty, entry, leverage, fee_rate=book.fee_rate,
                                    requirement_at=book.requirement_at, fee_at=book.fee_at)
    except ValueError as e:
        if raise_refusal:
            raise
        pos, f["refused"] = None, str(e)
    try:
        f["max_size"] = float(table.max_size_at_leverage(leverage)) if published else None
    except ValueError as e:  # above the table's highest max leverage: no size allows it
        f["max_size_error"] = str(e)
    if pos is None:
        return f
    lp = pos.liquidation_price()
    entry_tier = pos.tier(entry)
    f = {**f, "position": pos, "entry_tier": entry_tier,
         "liquidation_price": float(lp.price), "liquidation_exists": bool(lp.exists), "liquidation_tier": int(lp.tier)}
    if not isinstance(table, TierTable):
        return f
    naive = pos.liquidation_price_in_tier(entry_tier)
    return {**f, "naive_liquidation_price": float(naive.price), "naive_exists": bool(naive.exists)}


class TierExplorer(Explorer):
    """Explore a tier table against position size, and compare two venues.

    Controls: venue A and an optional venue B (rulebook presets with a table, the other bundled
    tables, and any ``rulebooks`` given with their own tables), the form (as published, or the
    same rows as step / continuous), the position size (log slider in venue A's basis unit), side,
    leverage and entry price. Venue B gets the same
    position in USD notional at the entry price, converted to its own contracts.

    Readouts per venue: tier, MMR, maintenance amount, MM, effective rate MM/value, max leverage at
    this size, the largest size at the chosen leverage, the self-consistent liquidation price and
    what a calculator keeping the tier at entry says. Venue A refusing the position (leverage above
    the tier's max) shows the library's message and keeps the last state; venue B refusing it is
    said in B's readout. Left panel: MM against size (log-log), dashed the rows in the other form;
    right panel: the max-leverage staircase with the chosen leverage. With B overlaid both axes are
    in USD.

    Examples
    --------
    >>> ex = TierExplorer()
    >>> ex.set(size=264_000.0)
    >>> ex.state["a"]["tier"], ex.state["a"]["maintenance_amount"]
    (3, 1300.0)

    A venue with no bundled table joins the dropdowns with a table attached:

    >>> from tiermargin import Contract
    >>> from tiermargin.rules import preset
    >>> t = TierTable.single(0.004, 125, contract=Contract("inverse", 100, "BTC"))
    >>> TierExplorer("binance-coinm", rulebooks=[preset("binance-coinm").with_table(t)]).state["a"]["mmr"]
    0.004
    """

    title = "Tier explorer"
    figsize = (10.0, 4.0)

    def __init__(self, venue: str = "binance-usdm", rulebooks: Sequence[Rulebook] = (), **values: Any) -> None:
        #: value of a venue choice → (label, rulebook)
        self._venues = venues(rulebooks)
        if venue not in self._venues:
            raise ValueError(f"venue must be one of {', '.join(self._venues)}; got {venue!r}")
        self._initial_venue = venue
        #: the size slider's range in venue A's basis units (the slider holds its base-10 logarithms)
        self._window = (1.0, 10.0)
        #: (controls the curves depend on, the view drawn for them)
        self._drawn: tuple[tuple[Any, ...], TierView] | None = None
        super().__init__()
        if values:
            self.set(**values)

    def _controls(self) -> dict[str, W.ValueWidget]:
        wide = {"description_width": "90px"}
        options = [(label, v) for v, (label, _) in self._venues.items()]
        c: dict[str, W.ValueWidget] = {
            "venue_a": W.Dropdown(options=options, value=self._initial_venue, description="venue A", style=wide),
            "venue_b": W.Dropdown(options=[("none", NO_OVERLAY), *options], value=NO_OVERLAY,
                                  description="overlay B", style=wide),
            "form": W.Dropdown(options=FORMS, value="published", description="tier form", style=wide),
            "size": W.FloatLogSlider(value=1.0, base=10, min=0, max=1, readout_format=",.4r",
                                     description="size", continuous_update=True, style=wide),
            "side": W.ToggleButtons(options=["long", "short"], description="side",
                                    style={"button_width": "70px", **wide}),
            "leverage": W.FloatSlider(value=10, min=1, max=125, step=0.5, description="leverage",
                                      continuous_update=True, style=wide),
            "entry": W.FloatText(value=1.0, description="entry price", style=wide),
        }
        self._load_example(c)
        return c

    def _build_plot(self) -> None:
        self.fig.subplots_adjust(left=0.08, right=0.98, bottom=0.14, top=0.96, wspace=0.22)
        self.plot = TierPlot(*self.fig.subplots(1, 2), blit=self.blit)

    def _render(self) -> None:
        self.plot.render()

    # ------------------------------------------------------------------ reactions
    def _on_control(self, name: str) -> None:
        if name == "venue_a":
            self._load_example(self.controls)

    def _load_example(self, c: dict[str, W.ValueWidget]) -> None:
        """Venue A's example position (entry, size) and its size and leverage ranges (HTX: whole
        leverages up to the highest its adjustment factors are published for, 10x to start)."""
        book = self._venues[c["venue_a"].value][1]
        rule = book.margin_rule
        if isinstance(rule, AdjustmentFactors):
            top = float(rule.leverages[-1])
            _set_range(c["leverage"], 1.0, top, 10.0, steps=round(top - 1))
        table = book.margin(c["leverage"].value)
        entry, qty = EXAMPLES.get(table.id, RULE_EXAMPLES.get(book.margin_id or "", (100.0, 1.0)))
        size = float(table.size_of(qty, entry))
        self._window = size_window(table, size)
        c["entry"].value = entry
        c["size"].description = f"size ({table.unit})"
        _set_range(c["size"], log10(self._window[0]), log10(self._window[1]), size)
        if not isinstance(rule, AdjustmentFactors):
            IsolatedExplorer._fit_leverage(c["leverage"], table)

    # ------------------------------------------------------------------ the update
    def update(self) -> None:
        v = {k: w.value for k, w in self.controls.items()}
        entry = float(_check.positive("entry price", v["entry"]))
        lo, hi = self._window
        size = min(max(float(v["size"]), lo), hi)  # 10**log10(hi) may exceed hi (a table's last cap) by a hair
        leverage = float(v["leverage"])
        book_a = self._venues[v["venue_a"]][1]
        table_a = charged_table(book_a, v["form"], leverage)
        a = venue_figures(book_a, table_a, float(table_a.contracts_at(size, entry)), v["side"], entry, leverage)
        b = None
        if v["venue_b"] != NO_OVERLAY:
            book_b = self._venues[v["venue_b"]][1]
            table_b = charged_table(book_b, v["form"], leverage)
            qty_b = float(table_b.contracts_at(table_b.size_at_usd(a["usd_notional"], entry), entry))
            b = venue_figures(book_b, table_b, qty_b, v["side"], entry, leverage, raise_refusal=False)
        key = (v["venue_a"], v["venue_b"], v["form"], entry, self._window, _leverage_key(book_a, leverage),
               _leverage_key(book_b, leverage) if b else None)
        if self._drawn is not None and self._drawn[0] == key:  # only the position moved: the curves stay
            view = self._drawn[1]
        else:
            view = TierView.for_tables(table_a, b["table"] if b else None, entry, self._window)
            self.plot.update(view)
            self.show_key(TierPlot.key_style(overlay=b is not None))
            self._drawn = (key, view)
        mm_b = None  # B's marker: only where B accepts the position
        if view.b is not None and b is not None and b["position"] is not None:
            mm_b = view.b.amount(b["maintenance_margin"])
        self.plot.move(float(view.a.x_of(size)), view.a.amount(a["maintenance_margin"]), mm_b, leverage)
        self.state = {"a": a, "b": b, "usd_notional": a["usd_notional"], "entry": entry, "side": v["side"],
                      "leverage": leverage, "view": view}
        self.readout.value = "".join(_section(name, f, leverage) for name, f in (("A", a), ("B", b)) if f)


def _section(name: str, f: dict[str, Any], leverage: float) -> str:
    """One venue's readout: a heading and its table."""
    head = f"<div style='margin:4px 0 0 0'><b>venue {name}: {escape(f['book'].venue)}</b></div>"
    return head + readout_table(_rows(f, leverage))


def _rows(f: dict[str, Any], leverage: float) -> list[tuple[str, str]]:
    t = f["table"]
    book: Rulebook = f["book"]
    schedule = not isinstance(t, TierTable)  # a continuous schedule: no tiers, no deduction
    unit, cur = t.unit, t.contract.settle
    lo, hi = ("[", ")") if t.closed == "left" else ("(", "]")
    cap = "∞" if f["tier_cap"] == float("inf") else fmt_amount(f["tier_cap"])
    rules = f"MM valued at the {'mark' if book.requirement_at == 'mark' else 'entry price'}"
    if book.fee_rate:
        rules += f", fee reserve {book.fee_rate * 100:g}%" + (" at the bankruptcy price" if book.fee_at == "bankruptcy" else
                                                          " at entry" if book.fee_at == "entry" else "")
    if isinstance(book.margin_rule, AdjustmentFactors):
        rules += f", MMR = adjustment factor / {leverage:g}x"
    lev = f["max_leverage"]
    kind = f"continuous schedule ({t.schedule.name})" if schedule else t.form
    rows = [
        ("table", escape(f"{t.venue} {t.symbol}: {kind}, by {t.basis}, {t.contract.kind}")),
        ("rules", rules),
        ("position", f"{fmt_amount(f['qty'])} contracts = {fmt_amount(f['size'], unit)} "
                     f"(≈ {fmt_amount(f['usd_notional'], 'USD')})"),
        ("tier", "none: a continuous schedule" if schedule else
         f"{f['tier']} of {t.n_tiers}: {lo}{fmt_amount(f['tier_floor'])}, {cap}{hi} {unit}"),
        ("maintenance margin rate (MMR)", f"{f['mmr']:.3%}"),
        ("maintenance amount (deduction)", "none: no tiers to deduct across" if schedule else
         fmt_amount(f["maintenance_amount"], unit)),
        ("maintenance margin (MM)", fmt_amount(f["maintenance_margin"], cur)),
        ("effective rate MM / value", f"{f['effective_rate']:.3%}"),
        ("max leverage at this size", "not published" if lev is None else f"{lev:g}x"),
        (f"largest size at {leverage:g}x", escape(f"none: {f['max_size_error']}") if f["max_size_error"]
         else _max_size(f["max_size"], t)),
    ]
    if f["refused"] is not None:
        return rows + [("venue", f"<b style='color:#b00020'>refuses it: {escape(f['refused'])}</b>")]
    lp = _price(f["liquidation_price"], f["liquidation_exists"])
    if schedule:
        return rows + [("liquidation price", lp)]
    naive = _price(f["naive_liquidation_price"], f["naive_exists"])
    if f["naive_exists"] and f["liquidation_exists"]:
        naive += f" (off by {fmt_amount(abs(f['naive_liquidation_price'] - f['liquidation_price']))})"
    return rows + [
        ("liquidation price", lp + (f" (tier {f['liquidation_tier']})" if f["liquidation_exists"] else "")),
        (f"calculator keeping tier {f['entry_tier']}", naive),
    ]


def _price(x: float, exists: bool) -> str:
    return fmt_amount(x) if exists else "none (cannot be reached)"


def _max_size(x: float | None, t: PositionSchedule) -> str:
    if x is None:
        return "not published"
    if x == float("inf"):
        return "any (the last tier is unbounded)" if isinstance(t, TierTable) else "any (the initial rate stays within it)"
    return f"{'below' if isinstance(t, TierTable) and t.closed == 'left' else 'up to'} {fmt_amount(x, t.unit)}"
