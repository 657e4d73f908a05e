"""CascadeExplorer: a market-wide liquidation cascade — a shock, liquidation orders moving the price
through the book, the mark following, the next traders liquidated — and what damps or feeds it."""

from __future__ import annotations

import math
from functools import lru_cache
from html import escape
from typing import Any, NamedTuple

import ipywidgets as W

from ..cascade import NO_TIERS, Cascade, Population, Shock, population, run, variants
from ..orderbook import Book
from ..plots import CascadePlot, _clock, _compact
from ..riskfund import HOUR
from .base import Explorer, fmt_amount, readout_table
from .liquidation import POLICY_LABELS
from .riskfund import FRACTION

#: the venue whose traders and table the explorer uses (lesson 07's default)
RULES = "binance-usdm"
#: the run: two hours of marks, one a minute, the shock half an hour in (a cascade plays out in minutes;
#: a short run keeps a recompute near 30 ms, a day's would take about 100 ms)
DURATION, SHOCK_AT = 2 * HOUR, 0.5 * HOUR
SHOCKS = [("market-wide drop (the index falls too)", "market"), ("a sale into this venue's book", "venue")]
#: the tier-table control: value → label
FORMS = {"continuous": "tiered (continuous)", "step": "tiered (step)", "tier-1": "flat at tier 1",
         "average": "flat at the average rate", "none": "no tiers (tier 1's rate and leverage)"}
#: the untiered tables: how their labels in :func:`~tiermargin.cascade.variants` ``"tiers"`` end
FLAT = {"tier-1": "(tier 1)", "average": "(average)", "none": NO_TIERS}
#: the mark-smoothing control: basis moving-average window in seconds, 0 for the last price
WINDOWS = [("none: liquidate on the last price", 0), ("2 min (120 s)", 120), ("5 min (300 s)", 300),
           ("15 min (900 s)", 900)]
POPULATIONS = (250, 500, 1_000, 2_000, 5_000, 10_000)
#: the controls by name and how the one-line explanation calls them
NAMES = {"kind": "shock", "size": "shock size", "form": "tier table", "policy": "liquidation",
         "window": "mark smoothing", "depth": "book depth", "traders": "traders", "seed": "seed"}


class Settings(NamedTuple):
    """The explorer's controls as plain values (hashable: the key of the run cache)."""

    kind: str = "market"
    size: float = 0.05
    form: str = "continuous"
    policy: str = "one-tier"
    window: int = 300
    depth: float = 5_000_000.0
    traders: int = 2_000
    seed: int = 0

    def shown(self, name: str) -> str:
        """One setting as the explanation shows it."""
        v = getattr(self, name)
        labels = {"kind": dict((b, a) for a, b in SHOCKS), "form": FORMS, "policy": POLICY_LABELS,
                  "window": dict((b, a) for a, b in WINDOWS)}
        if name in labels:
            return labels[name][v]
        return {"size": f"{v:.0%}", "depth": f"{v:,.0f} USD per 1 %", "traders": f"{v:,}"}.get(name, str(v))


@lru_cache(maxsize=8)
def base_population(n: int, seed: int) -> Population:
    """The seeded population of ``n`` traders under :data:`RULES` (cached per size and seed)."""
    return population(RULES, n, seed=seed)


@lru_cache(maxsize=32)
def charged(n: int, seed: int, form: str) -> Population:
    """The traders under the table of ``form`` (:data:`FORMS`), from :func:`~tiermargin.cascade.variants`: the
    same traders and margins, except ``"none"``, the same draw with tier 1's leverage at every size."""
    pop = base_population(n, seed)
    if form in ("continuous", "step"):
        return variants(pop, "form")[form][0]
    if form not in FLAT:
        raise ValueError(f"form must be one of {', '.join(FORMS)}, got {form!r}")
    return next(p for label, (p, _) in variants(pop, "tiers").items() if label.endswith(FLAT[form]))


@lru_cache(maxsize=32)
def cascade_for(s: Settings) -> Cascade:
    """The run the settings describe (:func:`tiermargin.cascade.run`, cached: going back is free)."""
    marking = {"mark": "last"} if s.window == 0 else {"window": float(s.window)}
    return run(charged(s.traders, s.seed, s.form), Shock(s.kind, s.size, at=SHOCK_AT), Book(s.depth),
               policy=s.policy, fraction=FRACTION if s.policy == "fraction" else None, duration=DURATION,
               seed=s.seed, **marking)


def _multiplier(m: float | None) -> str:
    return "—" if m is None else "∞" if math.isinf(m) else f"{m:.2f}×"


def explain(before: tuple[Settings, dict[str, Any]] | None, s: Settings, summary: dict[str, Any]) -> str:
    """One line on what the last change did: the controls changed and the cascade's totals before → after
    (``before``: the settings and summary shown until now, None at the start)."""
    n, usd, m = summary["traders liquidated"], summary["notional liquidated (USD)"], summary["cascade multiplier"]
    if before is None:
        return (f"A {s.shown('size')} {s.shown('kind')} into a book of {s.shown('depth')}: {n:,.0f} of "
                f"{s.traders:,} traders liquidated, {_compact(usd)} USD, cascade multiplier {_multiplier(m)}. "
                "Change a control to see what it does.")
    old_s, old = before
    changed = [f"{NAMES[k]} {old_s.shown(k)} → {s.shown(k)}" for k in Settings._fields if getattr(old_s, k) != getattr(s, k)]
    if not changed:
        return "Nothing changed."
    return (f"{'; '.join(changed)}: traders liquidated {old['traders liquidated']:,.0f} → {n:,.0f}, notional "
            f"{_compact(old['notional liquidated (USD)'])} → {_compact(usd)} USD, cascade multiplier "
            f"{_multiplier(old['cascade multiplier'])} → {_multiplier(m)}.")


class CascadeExplorer(Explorer):
    """A shock hits a market of seeded traders (:func:`~tiermargin.cascade.population`, Binance USDⓈ-M's
    BTCUSDT table, 30 % in cross margin); their liquidation orders move this venue's last price through an
    order book, the mark follows through the index and the basis moving average, and the next traders are
    liquidated (:func:`tiermargin.cascade.run`: two hours, one mark a minute, the shock at 00:30 UTC).

    Liquidation is stepwise, one tier down by default: Binance's own procedure is not in the course's
    sources, so the source articles' one-tier procedure stands in for it.

    Controls: the shock (a market-wide drop, or a sale into this venue's book) and its size; the tier
    table (tiered in continuous or step form, or flat at tier 1's rate or at the traders' average rate,
    the same traders and margins; or no tiers: the same draw with tier 1's rate and max leverage at every
    size, so large positions are as leveraged as small ones); the liquidation policy; the mark's
    smoothing window (or none: liquidate on the last price); the book's depth (USD per 1 % of price); the
    number of traders (the market's open interest against the book: a larger population is a larger
    market in the same book); the seed (traders and price walk). Each change reruns the cascade (cached
    per setting) and draws the new run over the figure's cached frame unless the axes must change.

    Readouts: the run's summary (:meth:`~tiermargin.cascade.Cascade.summary`) with units, and one line on
    what the last change did.

    Examples
    --------
    >>> ex = CascadeExplorer()
    >>> ex.set(depth=1e9)  # a very deep book: the liquidations barely move the price
    >>> round(ex.state["summary"]["cascade multiplier"], 2)
    1.0
    """

    title = "Cascade explorer"
    figsize = (8.5, 5.5)

    def __init__(self, **values: Any) -> None:
        #: the settings and summary shown, for the explanation of the next change
        self._shown: tuple[Settings, dict[str, Any]] | None = None
        super().__init__()
        if values:
            self.set(**values)

    def _controls(self) -> dict[str, W.ValueWidget]:
        wide = {"description_width": "120px"}
        heavy = dict(continuous_update=False, style=wide)
        d = Settings()
        return {
            "kind": W.Dropdown(options=SHOCKS, value=d.kind, description="shock", style=wide),
            "size": W.FloatSlider(value=d.size, min=0.01, max=0.3, step=0.01, readout_format=".0%",
                                  description="shock size", **heavy),
            "form": W.Dropdown(options=[(label, v) for v, label in FORMS.items()], value=d.form,
                               description="tier table", style=wide),
            "policy": W.Dropdown(options=[(label, v) for v, label in POLICY_LABELS.items()], value=d.policy,
                                 description="liquidation", style=wide),
            "window": W.Dropdown(options=WINDOWS, value=d.window, description="mark smoothing", style=wide),
            "depth": W.FloatLogSlider(value=d.depth, base=10, min=5, max=9, step=0.1, readout_format=",.3r",
                                      description="book depth (USD per 1 %)", **heavy),
            "traders": W.SelectionSlider(options=[(f"{n:,}", n) for n in POPULATIONS], value=d.traders,
                                         description="traders", **heavy),
            "seed": W.IntText(value=d.seed, description="seed", style=wide),
        }

    def _build_plot(self) -> None:
        self.fig.subplots_adjust(left=0.1, right=0.89, bottom=0.1, top=0.94, hspace=0.08)
        ax_price, ax_volume = self.fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": (4, 3)})
        self.plot = CascadePlot(ax_price, ax_volume, blit=self.blit, legend=False)
        self.show_key(CascadePlot.STYLE)

    def _render(self) -> None:
        self.plot.render()

    def update(self) -> None:
        s = Settings(**{k: w.value for k, w in self.controls.items()})
        c = cascade_for(s)
        summary = c.summary()
        state: dict[str, Any] = {"settings": s, "cascade": c, "summary": summary,
                                 "explanation": explain(self._shown, s, summary)}
        self.plot.update(c)
        self.state = state
        self._shown = (s, summary)
        self.readout.value = (readout_table(self._rows(c, summary))
                              + f"<p style='font-size:12px;max-width:340px'>{escape(state['explanation'])}</p>")

    @staticmethod
    def _rows(c: Cascade, s: dict[str, Any]) -> list[tuple[str, str]]:
        settle = c.population.table.contract.settle
        n = len(c.population)
        return [
            ("shock", escape(f"{c.shock} at {_clock(c.shock.at / HOUR, 0)} UTC")),
            ("open positions (at entry)", fmt_amount(float(c.population.notional().sum()), "USD")),
            ("traders liquidated", f"{s['traders liquidated']:,.0f} of {n:,}"),
            ("notional liquidated", fmt_amount(s["notional liquidated (USD)"], "USD")),
            ("… by the shock alone (no impact)", "—" if c.baseline is None else fmt_amount(c.baseline, "USD")),
            ("the shock's own sale", fmt_amount(s["shock order (USD)"], "USD")),
            ("cascade multiplier", _multiplier(s["cascade multiplier"])),
            ("largest last-price move", f"{s['largest last move (%)']:.2f} %"),
            ("largest mark move", f"{s['largest mark move (%)']:.2f} %"),
            ("risk fund loss", fmt_amount(s["fund loss"], settle)),
            ("risk fund at the end", fmt_amount(s["fund at the end"], settle)),
            ("ADL fills (counterparties)", f"{s['ADL fills']:,.0f}"),
            ("loss left uncovered", fmt_amount(s["uncovered"], settle)),
        ]

