"""IsolatedExplorer: one isolated position, its health, ratios, liquidation and bankruptcy prices."""

from __future__ import annotations

import math

from typing import Any

import ipywidgets as W

from .. import _check
from ..isolated import IsolatedPosition
from ..plots import MarginCurves, MarginPlot
from ..tiers import TierTable, load_table, table_ids, table_info
from .base import Explorer, fmt_amount, fmt_pct, readout_table

# An example position per bundled table (entry price, contracts), chosen to sit in a sensible tier.
EXAMPLES: dict[str, tuple[float, float]] = {
    "binance-usdm-btcusdt-2021": (60_000.0, 17.0),
    "binance-usdm-adabusd": (0.50, 300_000.0),
    "binance-usdm-zecusdt": (50.0, 2_000.0),
    "okx-btc-usd-swap-2019": (50_000.0, 12_000.0),
    "okx-chzusdt-2022": (0.10, 6_000.0),
    "bitmex-xbtusd-risk-limits": (50_000.0, 11_000_000.0),
    "hyperliquid-btc-mainnet": (60_000.0, 2.0),
    "hyperliquid-btc-testnet": (60_000.0, 1.0),
    "bybit-xyzusdt-illustration": (400.0, 8.75),
    "bybit-xyzusd-inverse-illustration": (400.0, 10_000.0),
    "binance-coinm-btcusd-perp": (60_000.0, 9_000.0),  # 15 BTC of 100 USD contracts: tier 3
    "kucoin-xbtusdtm": (60_000.0, 5_000.0),  # 0.001 BTC contracts, 300,000 USDT: level 2
    "gate-btcusdt-2025-09": (60_000.0, 25_000.0),  # 0.0001 BTC contracts, 150,000 USDT: tier 4
    "bitget-btcusdt-2025-06": (60_000.0, 3.0),  # 180,000 USDT: tier 2
}


def _table_options(kind: str) -> list[tuple[str, str]]:
    out = []
    for tid in table_ids():
        info = table_info(tid)
        if info["contract"] == kind:
            out.append((f"{info['venue']} {info['symbol']} ({info['as_of']})", tid))
    return out


class IsolatedExplorer(Explorer):
    """Explore an isolated position: move the mark, size, leverage, margin, fee and venue table.

    Readouts: value, equity, maintenance margin, requirement, health, the tier at the mark, the
    three margin-ratio conventions, liquidation price (with its tier), what a calculator that
    keeps the tier at entry would say, and the bankruptcy price. The plot shows equity and
    requirement against the mark price, the liquidation zone, tier boundaries and the key prices.

    Examples
    --------
    >>> ex = IsolatedExplorer(table="binance-usdm-btcusdt-2021")
    >>> ex.set(mark=58_000)
    >>> round(ex.state["health"], 2) == round(ex.state["position"].health(58_000), 2)
    True
    """

    title = "Isolated margin explorer"

    def __init__(self, table: str = "binance-usdm-btcusdt-2021", **values: Any) -> None:
        self._initial_table = table
        super().__init__()
        if values:
            self.set(**values)

    def _controls(self) -> dict[str, W.ValueWidget]:
        kind = table_info(self._initial_table)["contract"]
        entry, qty = EXAMPLES.get(self._initial_table, (100.0, 1.0))
        slider = dict(continuous_update=False, style={"description_width": "90px"})
        c = {
            "contract": W.ToggleButtons(options=["linear", "inverse"], value=kind, description="contract",
                                        style={"button_width": "70px", "description_width": "90px"}),
            "table": W.Dropdown(options=_table_options(kind), value=self._initial_table,
                                description="tier table", style={"description_width": "90px"}),
            "side": W.ToggleButtons(options=["long", "short"], description="side",
                                    style={"button_width": "70px", "description_width": "90px"}),
            "entry": W.FloatText(value=entry, description="entry price", style={"description_width": "90px"}),
            "qty": W.FloatText(value=qty, description="contracts", style={"description_width": "90px"}),
            "leverage": W.FloatSlider(value=10, min=1, max=125, step=0.5, description="leverage", **slider),
            "mark": W.FloatSlider(value=entry, min=0.3 * entry, max=1.7 * entry, step=entry / 2000,
                                  description="mark price", continuous_update=True,
                                  style={"description_width": "90px"}),
            "extra_margin": W.FloatText(value=0.0, description="added margin", style={"description_width": "90px"}),
            "fee_rate": W.FloatSlider(value=0.0, min=0.0, max=0.005, step=0.0001, readout_format=".2%",
                                      description="fee reserve", **slider),
            "requirement_at": W.Dropdown(options=[("at the mark (Binance)", "mark"), ("at entry (Bybit)", "entry")],
                                         description="MM valued", style={"description_width": "90px"}),
        }
        self._fit_leverage(c["leverage"], load_table(self._initial_table))
        return c

    def _build_plot(self) -> None:
        self.plot = MarginPlot(self.fig.add_subplot(), "USDT", blit=self.blit, legend=False)
        self.show_key(MarginPlot.STYLE)
        self._drawn: tuple[Any, ...] | None = None  # controls (bar the mark) the curves were drawn for
        self._window = (0.0, 0.0)

    def _render(self) -> None:
        self.plot.render()

    # ------------------------------------------------------------------ reactions
    def _on_control(self, name: str) -> None:
        c = self.controls
        if name == "contract":
            c["table"].options = _table_options(c["contract"].value)
            c["table"].value = c["table"].options[0][1]
            name = "table"
        if name == "table":
            entry, qty = EXAMPLES.get(c["table"].value, (c["entry"].value, c["qty"].value))
            c["entry"].value, c["qty"].value = entry, qty
            self._fit_leverage(c["leverage"], load_table(c["table"].value))
            name = "entry"
        if name == "entry" and _check.SMALLEST_POSITIVE <= c["entry"].value <= _check.LARGEST:
            # a price the library accepts (else the update shows its message; the mark's range stays)
            _set_range(c["mark"], 0.3 * c["entry"].value, 1.7 * c["entry"].value, c["entry"].value)

    @staticmethod
    def _fit_leverage(slider: W.FloatSlider, table: TierTable) -> None:
        lev = table.max_leverage
        top = float(lev[0]) if lev is not None else 100.0
        _set_range(slider, 1.0, top, min(10.0, top))

    # ------------------------------------------------------------------ the update
    def position(self) -> IsolatedPosition:
        """The position the controls describe (raises the library's clear error if invalid)."""
        v = {k: w.value for k, w in self.controls.items()}
        return IsolatedPosition.open(
            load_table(v["table"]), v["side"], v["qty"], v["entry"], v["leverage"],
            extra_margin=v["extra_margin"], fee_rate=v["fee_rate"], requirement_at=v["requirement_at"],
        )

    def update(self) -> None:
        mark = float(self.controls["mark"].value)
        key = tuple(w.value for k, w in self.controls.items() if k != "mark")
        lo, hi = self._window
        if key == self._drawn and lo < mark < hi:  # only the mark moved: curves stay, blit the line
            pos = self.state["position"]
            self.plot.move_mark(mark)
        else:
            pos = self.position()
            curves = MarginCurves.for_position(pos, mark)
            c = pos.table.contract
            self.plot.set_currency(c.settle, c.settle if c.kind == "linear" else "USD")
            self.plot.update(curves)
            self._drawn, self._window = key, (curves.price[0], curves.price[-1])
        state = pos.summary(mark)
        entry_tier = pos.tier(float(pos.entry))
        naive = pos.liquidation_price_in_tier(entry_tier)
        state.update(position=pos, entry_tier=entry_tier, naive_liquidation_price=naive.price,
                     naive_exists=naive.exists)
        self.state = state
        self.readout.value = readout_table(self._rows(state, pos.table.contract.settle))

    @staticmethod
    def _rows(s: dict[str, Any], cur: str) -> list[tuple[str, str]]:
        def price(x: float, exists: bool) -> str:
            return fmt_amount(x) if exists else "none (cannot be reached)"

        status = ("<b style='color:#b00020'>LIQUIDATED</b>" if s["liquidated"]
                  else "<b style='color:#1b7f3b'>healthy</b>")
        naive = price(s["naive_liquidation_price"], s["naive_exists"])
        if s["naive_exists"] and s["liquidation_exists"]:
            naive += f" (off by {fmt_amount(abs(s['naive_liquidation_price'] - s['liquidation_price']))})"
        return [
            ("status at this mark", status),
            ("position value", fmt_amount(s["value"], cur)),
            ("unrealized PnL", fmt_amount(s["upnl"], cur)),
            ("equity (margin + UPL)", fmt_amount(s["equity"], cur)),
            ("maintenance margin", fmt_amount(s["maintenance_margin"], cur)),
            ("requirement (MM + fee)", fmt_amount(s["requirement"], cur)),
            ("health = equity − requirement", fmt_amount(s["health"], cur)),
            ("tier at this mark", str(s["tier"])),
            ("legacy ratio (vs threshold)", f"{s['ratio_legacy']:.3%} vs {s['ratio_legacy_threshold']:.3%}"),
            ("CoinW ratio (≤ 100% liquidates)", fmt_pct(s["ratio_coinw"])),
            ("Binance ratio (≥ 100% liquidates)", fmt_pct(s["ratio_binance"])),
            ("liquidation price", price(s["liquidation_price"], s["liquidation_exists"])
             + (f" (tier {s['liquidation_tier']})" if s["liquidation_exists"] else "")),
            (f"calculator keeping tier {s['entry_tier']}", naive),
            ("bankruptcy price", price(s["bankruptcy_price"], s["bankruptcy_exists"])),
        ]


def _set_range(slider: W.FloatSlider | W.FloatLogSlider, lo: float, hi: float, value: float, steps: int = 2000) -> None:
    """Re-range a slider (a log slider's ``lo``/``hi`` are exponents) and set its value, in an order ipywidgets
    accepts. The step (about ``(hi − lo)/steps``) is chosen so that ``value`` lies exactly on the slider's grid:
    a browser snaps a slider to its grid and sends the snapped value back, which would move the state."""
    if lo > slider.max:
        slider.max = hi
        slider.min = lo
    else:
        slider.min = lo
        slider.max = hi
    if hi > lo:
        x = math.log(value, slider.base) if isinstance(slider, W.FloatLogSlider) else value
        k = round((x - lo) / ((hi - lo) / steps))
        slider.step = (x - lo) / k if k > 0 else (hi - lo) / steps
    slider.value = value
