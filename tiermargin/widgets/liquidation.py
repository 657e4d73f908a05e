"""LiquidationExplorer: one isolated position liquidated stepwise in a crash, next to the same
position liquidated in full, replayed step by step on the price and health plot."""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from html import escape
from math import log10
from typing import Any, NamedTuple

import ipywidgets as W
import numpy as np

from .._check import FloatArray
from ..isolated import IsolatedPosition, MarginRatios
from ..liquidation import POLICIES, Execution, LiquidationLog, liquidate
from ..plots import LiquidationPlot, LiquidationView, size_window
from ..replay import PositionPath, replay
from ..tiers import TierTable, load_table, table_ids, table_info
from ..waterfall import crash_path
from .base import Explorer, fmt_amount, fmt_pct, readout_table
from .isolated import EXAMPLES, _set_range

TABLE = "binance-usdm-btcusdt-2021"
#: the default position per table: USD notional at the opening price (otherwise: mid tier 3)
NOTIONALS = {TABLE: 12_000_000.0}  # 200 BTC at 60,000: tier 5 of Binance's 2021 BTCUSDT table
POLICY_LABELS = {
    "one-tier": "one tier down (OKX margin)",
    "two-tiers": "two tiers down (OKX swaps)",
    "lowest-sufficient": "lowest sufficient tier (Bybit, BitMEX)",
    "to-cap": "to the lower tier's cap (HTX)",
    "fraction": "a fixed fraction (Drift)",
    "hyperliquid": "20 % above 100k USDC, then all (Hyperliquid)",
    "full": "in full, one order",
}
EXECUTIONS = [("at the bankruptcy price", "bankruptcy"), ("at the mark", "mark"),
              ("into an order book (impact)", "impact")]
CLOSED = "— (closed)"


def table_options() -> list[tuple[str, str]]:
    """The bundled tables that publish max leverage (a position is opened at a leverage)."""
    out = []
    for tid in table_ids():
        if load_table(tid).max_leverage is not None:
            info = table_info(tid)
            out.append((f"{info['venue']} {info['symbol']} ({info['as_of']})", tid))
    return out


def example(table_id: str) -> tuple[float, float, float]:
    """(price the path starts from, default USD notional, default leverage) for a bundled table.

    The notional is :data:`NOTIONALS`' or the middle (geometric) of tier 3 — the last tier for a
    shorter table — at the table's example price; the leverage is 10x, or the tier's max if lower.
    """
    table = load_table(table_id)
    price = EXAMPLES.get(table_id, (100.0, 1.0))[0]
    if table_id in NOTIONALS:
        usd = NOTIONALS[table_id]
    else:
        k = min(3, table.n_tiers) - 1
        lo, hi = float(table.floors[k]), float(table.caps[k])
        size = float(np.sqrt(lo * hi)) if np.isfinite(hi) and lo > 0 else (2 * lo if lo > 0 else hi / 2)
        usd = float(table.usd_notional(size, price))
    size = float(table.size_at_usd(usd, price))
    return price, usd, min(10.0, float(table.max_leverage_at(size)))


@lru_cache(maxsize=16)
def _path(move: float, price: float) -> tuple[FloatArray, FloatArray]:
    """The seeded crash path (a day, one mark a minute): a dip of ``move`` (< 0: a spike) from ``price``."""
    times, marks = crash_path(depth=move, price=price)
    times.flags.writeable = marks.flags.writeable = False  # shared by the cache
    return times, marks


class Run(NamedTuple):
    """A position liquidated along the path under one policy: the log and its replay."""

    log: LiquidationLog
    path: PositionPath


@lru_cache(maxsize=64)
def _run(table_id: str, side: str, usd: float, leverage: float, move: float, price: float, policy: str,
         fraction: float | None, orders: float, model: str, depth: float,
         settlement: str | None = None) -> tuple[IsolatedPosition, Run]:
    """Open the position at ``price`` (where the path starts) and liquidate it (cached: switching back
    to a policy or a setting does not recompute); ``settlement`` None: the policy's default."""
    table = load_table(table_id)
    times, marks = _path(move, price)
    qty = float(table.contracts_at(table.size_at_usd(usd, price), price))
    pos = IsolatedPosition.open(table, side, qty, price, leverage)
    log = liquidate(pos, times, marks, policy, fraction, Execution(model, depth), orders, settlement)  # type: ignore[arg-type]
    return pos, Run(log, replay(log, times, marks, orders))


class LiquidationExplorer(Explorer):
    """Replay the stepwise liquidation of one isolated position through a crash, against the same
    position liquidated in full.

    The path is a seeded day of marks (one a minute) with a market-wide crash from 07:00 to 11:00 UTC
    of the chosen depth — for a short, the same move upwards (a squeeze). The position opens at the
    price the path starts from (the table's example price: 60,000 for BTC); its size is its USD
    notional there (12,000,000 USD = 200 BTC by default, tier 5).

    Controls: tier table, side, size (USD notional at opening), leverage, liquidation policy (the
    fraction slider is enabled only for "fraction"), open orders' requirement, execution model (the
    book depth only for "impact"), crash depth, the time axis (the whole day, or zoomed on the steps)
    and the replay time. Moving the replay slider only moves the cursor and updates the readout and
    the event log.

    Readouts: the position at opening; at the replay time the mark, contracts held, tier, health,
    margin ratio, steps so far and the last step; at the end of the path, full against stepwise:
    contracts sent to the market, the trader's equity left at the last mark, the risk fund's result
    and the margin lost. Below: the stepwise event log up to the replay time.

    Examples
    --------
    >>> ex = LiquidationExplorer()
    >>> ex.state["full"]["contracts_to_market"], ex.state["stepwise"]["steps"] > 1
    (200.0, True)
    >>> ex.set(replay=6.0)  # before the crash: nothing has happened yet
    >>> ex.state["steps"], ex.state["contracts"]
    (0, 200.0)
    """

    title = "Stepwise liquidation explorer"
    figsize = (8.5, 5.6)
    #: the controls that recompute the liquidations (all but the replay time)
    HEAVY = ("table", "side", "notional", "leverage", "policy", "fraction", "orders", "execution", "depth", "crash",
             "zoom")

    def __init__(self, table: str = TABLE, **values: Any) -> None:
        choices = [v for _, v in table_options()]
        if table not in choices:
            raise ValueError(f"table must be one of {', '.join(choices)} (bundled, with max leverage); got {table!r}")
        self._initial_table = table
        #: the heavy controls' values the plot's data was drawn for, and what was computed for them
        self._drawn: tuple[Any, ...] | None = None
        self._computed: dict[str, Any] = {}
        super().__init__()
        self.view.children = (*self.view.children, self.log_view)
        if values:
            self.set(**values)

    # ------------------------------------------------------------------ controls and plot
    def _controls(self) -> dict[str, W.ValueWidget]:
        wide = {"description_width": "110px"}
        slider = dict(continuous_update=False, style=wide)
        c: dict[str, W.ValueWidget] = {
            "table": W.Dropdown(options=table_options(), value=self._initial_table, description="tier table",
                                style=wide),
            "side": W.ToggleButtons(options=["long", "short"], description="side",
                                    style={"button_width": "70px", **wide}),
            "notional": W.FloatLogSlider(value=1e6, base=10, min=3, max=9, step=0.005, readout_format=",.4r",
                                         description="notional (USD)", **slider),
            "leverage": W.FloatSlider(value=10, min=1, max=125, step=0.5, description="leverage", **slider),
            "policy": W.Dropdown(options=[(POLICY_LABELS.get(p, p), p) for p in POLICIES], value="one-tier",
                                 description="policy", style=wide),
            "fraction": W.FloatSlider(value=0.2, min=0.05, max=0.9, step=0.05, readout_format=".0%",
                                      description="fraction a step", disabled=True, **slider),
            "orders": W.FloatText(value=0.0, description="open orders req.", style=wide),
            "execution": W.Dropdown(options=EXECUTIONS, value="impact", description="fills", style=wide),
            "depth": W.FloatLogSlider(value=5e7, base=10, min=6, max=10, step=0.05, readout_format=".3s",
                                      description="book depth (USD)", **slider),
            "crash": W.FloatSlider(value=0.08, min=0.02, max=0.6, step=0.01, readout_format=".0%",
                                   description="crash depth", **slider),
            "zoom": W.ToggleButtons(options=[("whole day", "day"), ("the steps", "steps")], value="day",
                                    description="time axis", style={"button_width": "90px", **wide}),
            "replay": W.FloatSlider(value=24.0, min=0.0, max=24.0, step=1 / 60, readout_format=".2f",
                                    description="replay (UTC h)", continuous_update=True, style=wide),
        }
        self._load_example(c)
        return c

    def _build_plot(self) -> None:
        self.fig.subplots_adjust(left=0.13, right=0.89, bottom=0.09, top=0.98, hspace=0.08)
        ax_price, ax_health = self.fig.subplots(2, 1, sharex=True)
        self.plot = LiquidationPlot(ax_price, ax_health, blit=self.blit, legend=False)
        self.show_key(LiquidationPlot.STYLE, html=LiquidationPlot.key())
        self.log_view = W.HTML()  # the stepwise event log up to the replay time, below the figure

    def _render(self) -> None:
        self.plot.render()

    # ------------------------------------------------------------------ reactions
    def _on_control(self, name: str) -> None:
        c = self.controls
        if name == "table":
            self._load_example(c)
        c["fraction"].disabled = c["policy"].value != "fraction"
        c["depth"].disabled = c["execution"].value != "impact"

    @staticmethod
    def _load_example(c: dict[str, W.ValueWidget]) -> None:
        """The table's example position: size range and value, leverage range and value."""
        tid = c["table"].value
        table = load_table(tid)
        price, usd, leverage = example(tid)
        lo, hi = (float(x) for x in table.usd_notional(np.asarray(size_window(table)), price))
        _set_range(c["notional"], log10(min(lo, usd / 10)), log10(max(hi, usd * 10)), usd)
        top = float(table.max_leverage[0])  # type: ignore[index]  # options publish max leverage
        _set_range(c["leverage"], 1.0, top, leverage)
        c["leverage"].step = 0.5 if top > 5 else 0.1

    # ------------------------------------------------------------------ the update
    def _heavy(self, v: dict[str, Any]) -> dict[str, Any]:
        """Liquidate the position stepwise and in full, replay both, build the plot's view (raises the
        library's error on bad input, before anything is changed)."""
        table: TierTable = load_table(v["table"])
        price = example(v["table"])[0]
        move = float(v["crash"]) * (1.0 if v["side"] == "long" else -1.0)
        policy = v["policy"]
        fraction = float(v["fraction"]) if policy == "fraction" else None
        common = (v["table"], v["side"], float(v["notional"]), float(v["leverage"]), move, price)
        book = (float(v["orders"]), v["execution"], float(v["depth"]))
        pos, step = _run(*common, policy, fraction, *book)
        _, full = _run(*common, "full", None, *book, step.log.settlement)  # settled as the stepwise run is
        times, marks = _path(move, price)
        lp = pos.liquidation_price()
        c = table.contract
        view = LiquidationView.for_paths(step.path, full.path, float(lp.price) if lp.exists else None,
                                         c.settle, c.settle if c.kind == "linear" else "USD")
        return {"table": table, "position": pos, "times": times, "marks": marks, "log": step.log,
                "path": step.path, "log_full": full.log, "path_full": full.path, "view": view,
                "liquidation_price": float(lp.price) if lp.exists else None, "policy": policy,
                "fraction": fraction, "orders": book[0], "execution": Execution(book[1], book[2])}

    def update(self) -> None:
        v = {k: w.value for k, w in self.controls.items()}
        key = tuple(v[k] for k in self.HEAVY)
        if key != self._drawn:
            computed = self._heavy(v)
            view = computed["view"]
            self.plot.update(view, view.steps_window() if v["zoom"] == "steps" else None)
            self._computed, self._drawn = computed, key
            hours = computed["view"].hours
            r = self.controls["replay"]
            if (r.min, r.max) != (float(hours[0]), float(hours[-1])):
                holding, self._holding = self._holding, True  # re-range only: this update reads the value
                try:
                    _set_range(r, float(hours[0]), float(hours[-1]), min(max(r.value, hours[0]), hours[-1]))
                    r.step = 1 / 60
                finally:
                    self._holding = holding
        s = self._computed
        view: LiquidationView = s["view"]
        i = view.index_at(float(self.controls["replay"].value))
        self.plot.move(float(view.hours[i]))
        self.state = {**s, **self._at(s, i)}
        self.readout.value = self._readout(self.state)
        self.log_view.value = self._log_html(self.state)

    @staticmethod
    def _at(s: dict[str, Any], i: int) -> dict[str, Any]:
        """The figures at sample ``i`` (the replay time) and at the end of the path."""
        path: PositionPath = s["path"]
        n = int(path.steps[i])
        is_open = bool(path.open[i])
        ratio = MarginRatios.of(path.equity[i], path.requirement[i], path.value[i]).binance if is_open else None

        def end(log: LiquidationLog, p: PositionPath) -> dict[str, Any]:
            margin = float(log.start.margin)
            return {"contracts_to_market": log.contracts_to_market, "trader_equity": log.trader_equity(float(p.marks[-1])),
                    "fund_result": log.fund_result, "margin_lost": log.margin_lost,
                    "margin_lost_share": log.margin_lost / margin, "steps": len(log.events),
                    "contracts_left": float(p.contracts[-1])}

        return {
            "index": i, "time": float(path.times[i]), "hour": float(s["view"].hours[i]), "mark": float(path.marks[i]),
            "open": is_open, "contracts": float(path.contracts[i]), "tier": int(path.tier[i]),
            "health": float(path.health[i]), "equity": float(path.equity[i]), "margin_ratio": ratio,
            "steps": n, "last_step": path.events[n - 1] if n else None,
            "stepwise": end(s["log"], path), "full": end(s["log_full"], s["path_full"]),
        }

    # ------------------------------------------------------------------ readouts
    @staticmethod
    def _readout(s: dict[str, Any]) -> str:
        pos: IsolatedPosition = s["position"]
        cur = pos.table.contract.settle
        entry = float(pos.entry)
        lp = s["liquidation_price"]
        opening = [
            ("position", f"{'long' if pos.side > 0 else 'short'} {fmt_amount(float(pos.qty))} contracts "
                         f"@ {fmt_amount(entry)}, tier {pos.tier(entry)}, {float(pos.leverage):g}x"),
            ("margin at opening", fmt_amount(float(pos.margin), cur)),
            ("liquidation price at opening", fmt_amount(lp) if lp is not None else "none (cannot be reached)"),
        ]
        last = s["last_step"]
        at = [
            ("time (UTC)", _clock(s["hour"])),
            ("mark price", fmt_amount(s["mark"])),
            ("contracts held", fmt_amount(s["contracts"]) + ("" if s["open"] else " (closed)")),
            ("tier", str(s["tier"]) if s["open"] else CLOSED),
            ("health", fmt_amount(s["health"], cur) if s["open"] else CLOSED),
            ("margin ratio (≥ 100% liquidates)", fmt_pct(s["margin_ratio"]) if s["open"] else CLOSED),
            ("steps so far", f"{s['steps']} of {s['stepwise']['steps']}"),
            ("last step", "none yet" if last is None else
             f"{escape(last.action)} (tier {last.tier_before}→{last.tier_after}) at {_clock_of(last.time)}"),
        ]
        end = []
        for label, k, fmt in (("contracts sent to the market", "contracts_to_market", fmt_amount),
                              ("trader's equity left", "trader_equity", lambda x: fmt_amount(x, cur)),
                              ("fund result", "fund_result", lambda x: _signed(x, cur)),
                              ("margin lost", "margin_lost",
                               lambda x: fmt_amount(x, cur))):
            for which in ("full", "stepwise"):
                value = fmt(s[which][k])
                if k == "margin_lost":
                    value += f" ({fmt_pct(s[which]['margin_lost_share'])})"
                end.append((f"{label}, {which}", value))
        return (_section("At opening", opening) + _section("At the replay time (stepwise)", at)
                + _section("End of the path: full vs stepwise", end))

    @staticmethod
    def _log_html(s: dict[str, Any]) -> str:
        """The stepwise log's table, rows up to the replay time."""
        log: LiquidationLog = s["log"]
        n, total = s["steps"], len(log.events)
        head = (f"<div style='margin:6px 0 2px 0'><b>Stepwise event log up to {_clock(s['hour'])} UTC</b> "
                f"({n} of {total} steps; time in UTC epoch seconds)</div>")
        if not n:
            return head + "<div style='color:#555'>no step yet</div>"
        table = replace(log, events=log.events[:n])._repr_html_()
        return head + f"<div style='max-height:240px;overflow:auto;font-size:12px'>{table}</div>"


def _section(title: str, rows: list[tuple[str, str]]) -> str:
    return f"<div style='margin:4px 0 0 0'><b>{escape(title)}</b></div>" + readout_table(rows)


def _clock(hours: float) -> str:
    """Hours since midnight UTC as ``HH:MM`` (the end of the day is 24:00)."""
    minutes = int(round(hours * 60))
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _clock_of(epoch: float) -> str:
    """UTC ``HH:MM`` of epoch seconds."""
    return _clock((epoch % 86_400.0) / 3_600.0)


def _signed(x: float, cur: str) -> str:
    """A fund result: the amount and whether it is a surplus or a loss."""
    word = "surplus" if x > 0 else "loss" if x < 0 else "break-even"
    return f"{fmt_amount(x, cur)} ({word})"
