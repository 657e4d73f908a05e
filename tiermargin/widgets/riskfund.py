"""RiskFundExplorer: a simulated day of liquidations through the risk fund and ADL, replayed minute by minute."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache
from html import escape
from typing import Any

import ipywidgets as W
import numpy as np

from ..liquidation import POLICIES, Execution
from ..plots import RiskFundDay, RiskFundPlot
from ..riskfund import HOUR, RiskFund, Window, reconciliation_cut
from ..tiers import load_table
from ..waterfall import AdlQueue, Schedule, Waterfall, crash_path, traders
from .base import Explorer, fmt_amount, readout_table

TABLE = "binance-usdm-btcusdt-2021"
#: traders in the population: a recompute (the whole waterfall) stays near 0.1–0.2 s
POPULATION = 200
PRICE = 60_000.0
#: share closed per step under the "fraction" policy
FRACTION = 0.2
#: the daily reconciliation: 16:00 UTC+8 (CoinW, OKX)
CUT_HOUR, CUT_OFFSET = 16.0, 8.0
#: candidates shown from the top of the ADL queue
QUEUE_TOP = 5
RANKINGS = [("PnL% × leverage (BitMEX, Bybit)", "pnl-leverage"), ("Binance (PnL% × margin ratio)", "binance"),
            ("Hyperliquid (price move × leverage)", "hyperliquid")]
#: the controls that change the day (everything but the replay time)
HEAVY = ("fund", "drawdown", "crash", "book", "policy", "ranking", "seed")


@lru_cache(maxsize=8)
def _population(seed: int):
    return traders(load_table(TABLE), POPULATION, PRICE, seed)


@lru_cache(maxsize=16)
def _path(depth: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    times, marks = crash_path(depth=depth, seed=seed)
    for a in (times, marks):
        a.flags.writeable = False  # shared by the cache
    return times, marks


@lru_cache(maxsize=16)
def _schedule(depth: float, book: float, policy: str, seed: int) -> Schedule:
    """The day's liquidations, whatever the fund and the ADL ranking (settled against them in :func:`_day`)."""
    times, marks = _path(depth, seed)
    return Schedule(_population(seed), times, marks, policy, FRACTION if policy == "fraction" else None,
                    Execution("impact", book))


@lru_cache(maxsize=16)
def _day(fund: float, drawdown: float, depth: float, book: float, policy: str, ranking: str,
         seed: int) -> tuple[Waterfall, RiskFundDay]:
    """The waterfall of the day the heavy controls describe, and what the plot draws of it."""
    day = _schedule(depth, book, policy, seed)
    w = day.run(RiskFund(fund, drawdown=drawdown or None), ranking)
    return w, RiskFundDay.for_waterfall(w, day.times, day.marks, reconciliation_cut(CUT_HOUR, CUT_OFFSET),
                                        f"{CUT_HOUR:02.0f}:00 UTC+{CUT_OFFSET:g} reconciliation "
                                        f"({reconciliation_cut(CUT_HOUR, CUT_OFFSET) / HOUR:02.0f}:00 UTC)")


def _clock(hour: float) -> str:
    minutes = int(round(hour * 60))
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _local(t: float) -> str:
    """Epoch seconds as ``MM-DD HH:MM`` in the reconciliation's time zone."""
    return datetime.fromtimestamp(t, timezone(timedelta(hours=CUT_OFFSET))).strftime("%m-%d %H:%M")


class RiskFundExplorer(Explorer):
    """A simulated day of liquidations: the risk fund keeps surpluses, pays losses, and when it cannot
    (run dry, or at its drawdown floor) hands the shortfall to auto-deleveraging.

    200 seeded traders (:func:`~tiermargin.waterfall.traders`) hold isolated BTCUSDT positions opened
    around 60,000; the day's marks (:func:`~tiermargin.waterfall.crash_path`) crash from 07:00 to 11:00
    UTC, across the 16:00 UTC+8 (08:00 UTC) reconciliation cut-off. Every liquidation step goes through
    :func:`~tiermargin.waterfall.run`.

    Controls: the fund's start balance, a drawdown threshold (0: none; else the fund pays losses only down
    to that share below its 8-hour peak, Bybit-style), the crash depth (< 0: a squeeze), the order book's
    depth for the liquidation orders' price impact, the liquidation policy, the ADL ranking, the seed, and
    the time of day to replay (control ``replay``, labelled "time (UTC)"), which moves only the cursor and
    the readouts.

    Readouts at the replay time: the fund's balance (and floor), traders liquidated, surplus kept, losses
    paid, shortfall handed to ADL, traders deleveraged; the day's reconciliation windows; and the ADL
    queue then — the side opposite the last liquidation (before any, the shorts, who would take a
    liquidated long), top 5 by the ranking with score, contracts, unrealized PnL and lights.

    Examples
    --------
    >>> ex = RiskFundExplorer()
    >>> ex.set(fund=1e8, replay=24.0)
    >>> ex.state["shortfall"], ex.state["deleveraged"]
    (0.0, 0)
    """

    title = "Risk fund and ADL explorer"
    figsize = (8.0, 5.2)

    def __init__(self, **values: Any) -> None:
        #: (heavy controls, (waterfall, day)) last drawn
        self._drawn: tuple[tuple[Any, ...], tuple[Waterfall, RiskFundDay]] | None = None
        super().__init__()
        body = next(c for c in self.view.children if isinstance(c, W.HBox) and self.readout in c.children)
        body.layout.flex_flow = "row wrap"  # the readout's tables go below the figure when narrow
        if values:
            self.set(**values)

    def _controls(self) -> dict[str, W.ValueWidget]:
        wide = {"description_width": "120px"}
        heavy = dict(continuous_update=False, style=wide)
        minutes = [(_clock(i / 60), i / 60) for i in range(24 * 60 + 1)]
        return {
            "fund": W.FloatLogSlider(value=100_000.0, base=10, min=2, max=8, step=0.1, readout_format=",.3r",
                                     description="fund start (USDT)", **heavy),
            "drawdown": W.FloatSlider(value=0.0, min=0.0, max=0.9, step=0.05, readout_format=".0%",
                                      description="drawdown threshold", **heavy),
            "crash": W.FloatSlider(value=0.15, min=-0.3, max=0.4, step=0.01, readout_format=".0%",
                                   description="crash depth", **heavy),
            "book": W.FloatLogSlider(value=2e7, base=10, min=5, max=9, step=0.1, readout_format=",.3r",
                                     description="book depth (USDT)", **heavy),
            "policy": W.Dropdown(options=[(f"fraction ({FRACTION:.0%} a step)" if p == "fraction" else p, p)
                                          for p in POLICIES], value="one-tier", description="liquidation",
                                 style=wide),
            "ranking": W.Dropdown(options=RANKINGS, value="pnl-leverage", description="ADL ranking", style=wide),
            "seed": W.IntText(value=0, description="seed", style=wide),
            "replay": W.SelectionSlider(options=minutes, value=9.0, description="time (UTC)",
                                        continuous_update=True, style=wide),
        }

    def _build_plot(self) -> None:
        self.fig.subplots_adjust(left=0.12, right=0.97, bottom=0.1, top=0.94, hspace=0.08)
        ax_mark, ax_fund = self.fig.subplots(2, 1, sharex=True)
        self.plot = RiskFundPlot(ax_mark, ax_fund, blit=self.blit)
        self.show_key(RiskFundPlot.STYLE)

    def _render(self) -> None:
        self.plot.render()

    # ------------------------------------------------------------------ the update
    def update(self) -> None:
        v = {k: w.value for k, w in self.controls.items()}
        key = tuple(v[k] for k in HEAVY)
        fresh = self._drawn is None or self._drawn[0] != key
        w, day = _day(float(v["fund"]), float(v["drawdown"]), float(v["crash"]), float(v["book"]), v["policy"],
                      v["ranking"], v["seed"]) if fresh else self._drawn[1]
        hour = float(v["replay"])
        t = day.day_start + hour * HOUR
        mark = float(day.mark[day.index_at(hour)])
        totals = w.summary(until=t)
        queue = w.queue_at(t, mark, v["ranking"])
        windows = w.fund.reconciliations(CUT_HOUR, CUT_OFFSET)
        state: dict[str, Any] = {
            "waterfall": w, "day": day, "summary": w.summary(), "hour": hour, "time": t, "mark": mark,
            "balance": totals["fund at the end"],
            "floor": None if w.fund.drawdown is None else float(w.fund.floor_at(t)),
            "liquidated": int(totals["traders liquidated"]), "surplus": totals["fund surplus kept"],
            "losses": totals["fund losses paid"], "shortfall": totals["shortfall to ADL"],
            "deleveraged": int(totals["traders deleveraged"]), "uncovered": totals["uncovered"],
            "windows": windows, "window": next((i for i, x in enumerate(windows) if x.start <= t < x.end), None),
            "queue": queue, "ranking": v["ranking"],
        }
        if fresh:  # everything computed: now move the artists
            self.plot.update(day)
            self._drawn = (key, (w, day))
        self.plot.move(hour, mark, state["balance"])
        self.state = state
        self.readout.value = (readout_table(self._rows(state, day.currency, w.start.qty.size))
                              + _windows_html(windows, state["window"], day.currency)
                              + _queue_html(queue, hour, v["ranking"], day.currency, bool(totals["liquidation steps"])))

    @staticmethod
    def _rows(s: dict[str, Any], cur: str, n: int) -> list[tuple[str, str]]:
        return [
            ("replay time", f"{_clock(s['hour'])} UTC ({_local(s['time'])[6:]} UTC+{CUT_OFFSET:g})"),
            ("mark price", fmt_amount(s["mark"], cur)),
            ("risk fund balance", fmt_amount(s["balance"], cur)),
            ("drawdown floor", "none (no threshold)" if s["floor"] is None else fmt_amount(s["floor"], cur)),
            ("traders liquidated so far", f"{s['liquidated']} of {n}"),
            ("surplus kept by the fund", fmt_amount(s["surplus"], cur)),
            ("losses paid by the fund", fmt_amount(s["losses"], cur)),
            ("shortfall handed to ADL", fmt_amount(s["shortfall"], cur)),
            ("traders deleveraged so far", str(s["deleveraged"])),
            ("loss uncovered (no counterparty left)", fmt_amount(s["uncovered"], cur)),
        ]


def _table(title: str, head: list[str], rows: list[list[str]], bold: int | None = None) -> str:
    """HTML for a titled table (the first column left-aligned, the others right-aligned)."""
    th = "".join(f"<th style='padding:1px 6px;text-align:{'left' if i == 0 else 'right'}'>{escape(h)}</th>"
                 for i, h in enumerate(head))
    body = "".join(
        f"<tr style='{'font-weight:bold;background:#fff3cd' if r == bold else ''}'>"
        + "".join(f"<td style='padding:1px 6px;text-align:{'left' if i == 0 else 'right'};"
                  f"{'' if i == 0 else 'font-family:monospace'}'>{c}</td>" for i, c in enumerate(row))
        + "</tr>" for r, row in enumerate(rows))
    return (f"<div style='margin:8px 0 2px 0;font-size:13px'><b>{escape(title)}</b></div>"
            f"<table style='font-size:12px;border-collapse:collapse'><tr>{th}</tr>{body}</table>")


def _windows_html(windows: tuple[Window, ...], current: int | None, cur: str) -> str:
    title = f"daily reconciliation windows, {CUT_HOUR:02.0f}:00 to {CUT_HOUR:02.0f}:00 UTC+{CUT_OFFSET:g} ({cur})"
    if not windows:
        return _table(title, ["window (UTC+8)"], [["no liquidation this day"]])
    rows = [[f"{_local(x.start)} → {_local(x.end)}", fmt_amount(x.surplus), fmt_amount(x.loss), fmt_amount(x.adl),
             fmt_amount(x.net), fmt_amount(x.balance)] for x in windows]
    return _table(title, [f"window (UTC+{CUT_OFFSET:g})", "surplus", "loss", "ADL", "net", "balance"], rows, current)


def _queue_html(q: AdlQueue, hour: float, ranking: str, cur: str, any_liquidation: bool) -> str:
    liquidated, held = ("long", "shorts") if q.liquidated_side > 0 else ("short", "longs")
    why = "" if any_liquidation else " (no liquidation yet)"
    title = (f"ADL queue at {_clock(hour)} UTC: {held} in profit, against a liquidated {liquidated}{why} "
             f"— top {min(QUEUE_TOP, q.trader.size)} of {q.trader.size}, ranked by {dict((v, k) for k, v in RANKINGS)[ranking]}")
    head = ["#", "trader", "score", "contracts", f"unrealized PnL ({cur})", "lights"]
    if not q.trader.size:
        return _table(title, head, [["—", f"none: no {held[:-1]} is in profit", "", "", "", ""]])
    rows = [[str(k + 1), str(int(q.trader[k])), f"{q.score[k]:.4g}", f"{q.qty[k]:,.4f}", fmt_amount(float(q.upnl[k])),
             f"<span style='color:#b00020'>{'●' * int(q.lights[k])}</span>{'○' * (5 - int(q.lights[k]))} "
             f"{int(q.lights[k])}"] for k in range(min(QUEUE_TOP, q.trader.size))]
    return _table(title, head, rows)
