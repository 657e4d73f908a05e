"""MarkPriceExplorer: last trade, index and mark through a wick, and a position's liquidation line."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import ipywidgets as W

from ..isolated import IsolatedPosition
from ..market import VENUES, Market, Wick, synthetic_market
from ..markprice import mark_prices
from ..plots import PriceSeries, PriceSeriesPlot
from ..tiers import load_table
from .base import Explorer, fmt_amount, readout_table

TABLE = "binance-usdm-btcusdt-2021"
WICK_START, WICK_SECONDS, STALE_FROM, MAX_AGE = 1_800.0, 60.0, 2_400.0, 30.0


@lru_cache(maxsize=32)
def _market(seed: int, depth: float, where: str | int, stale: int) -> Market:
    wick = Wick(WICK_START, WICK_SECONDS, depth, where) if depth else None
    return synthetic_market(seed=seed, wick=wick, stale_venue=None if stale < 0 else stale, stale_from=STALE_FROM)


class MarkPriceExplorer(Explorer):
    """Explore how the index and mark price absorb a wick that the last trade does not.

    One hour of synthetic BTC data (5-second samples). A flash wick of adjustable depth hits the
    perpetual's last trade or one spot venue at minute 30; a venue can go stale at minute 40. A long
    or short position opened at the first mark shows whether it would be liquidated marking to the
    last trade, and marking to the mark price.

    Examples
    --------
    >>> ex = MarkPriceExplorer()
    >>> ex.state["first_by_last"] is not None, ex.state["first_by_mark"] is None
    (True, True)
    """

    title = "Mark price explorer"
    figsize = (8.0, 4.0)

    def _controls(self) -> dict[str, W.ValueWidget]:
        slider = dict(continuous_update=False, style={"description_width": "110px"})
        wide = {"description_width": "110px"}
        venues = [(f"spot venue {name}", i) for i, name in enumerate(VENUES)]
        c: dict[str, W.ValueWidget] = {
            "window": W.IntSlider(value=300, min=15, max=1_800, step=15, description="MA window (s)", **slider),
            "threshold": W.FloatSlider(value=0.05, min=0.005, max=0.25, step=0.005, readout_format=".1%",
                                       description="outlier threshold", **slider),
            "form": W.Dropdown(options=[("index + MA(basis) (OKX)", "okx"), ("median of three (Binance)", "median3")],
                               description="mark form", style=wide),
            "wick_depth": W.FloatSlider(value=0.2, min=-0.3, max=0.5, step=0.01, readout_format=".0%",
                                        description="wick depth", **slider),
            "wick_where": W.Dropdown(options=[("last trade", "last"), *venues], description="wick on", style=wide),
            "stale": W.Dropdown(options=[("none", -1), *venues], description="stale from min 40", style=wide),
            "side": W.ToggleButtons(options=["long", "short"], description="position",
                                    style={"button_width": "70px", **wide}),
            "leverage": W.FloatSlider(value=10, min=1, max=50, step=1, description="leverage", **slider),
            "seed": W.IntText(value=1, description="market seed", style=wide),
        }
        for name in VENUES:
            c[f"weight {name}"] = W.FloatSlider(value=1.0, min=0.0, max=1.0, step=0.05,
                                                description=f"weight {name}", **slider)
        return c

    def _build_plot(self) -> None:
        self.plot = PriceSeriesPlot(self.fig.add_subplot(), "USDT")
        self.show_key(PriceSeriesPlot.STYLE)

    def update(self) -> None:
        v = {k: w.value for k, w in self.controls.items()}
        m = _market(int(v["seed"]), float(v["wick_depth"]), v["wick_where"], int(v["stale"]))
        weights = [v[f"weight {name}"] for name in VENUES]
        r = mark_prices(m, window=v["window"], threshold=v["threshold"], weights=weights, max_age=MAX_AGE,
                        form=v["form"])
        pos = IsolatedPosition.open(load_table(TABLE), v["side"], 1.0, float(r.mark[0]), v["leverage"])
        lp = pos.liquidation_price()
        state: dict[str, Any] = {
            "market": m, "marks": r, "position": pos,
            "liquidation_price": lp.price if lp.exists else None,
            "first_by_last": pos.first_liquidation(m.last),
            "first_by_mark": pos.first_liquidation(r.mark),
            "median_samples": int(r.index.median_used.sum()),
        }
        self.plot.update(PriceSeries(m.times / 60, m.last, r.index.price, r.mark, state["liquidation_price"],
                                     state["first_by_last"], state["first_by_mark"]))
        self.state = state
        self.readout.value = readout_table(self._rows(state))

    @staticmethod
    def _rows(s: dict[str, Any]) -> list[tuple[str, str]]:
        m, r = s["market"], s["marks"]

        def verdict(i: int | None) -> str:
            if i is None:
                return "<b style='color:#1b7f3b'>never</b>"
            return f"<b style='color:#b00020'>at minute {m.times[i] / 60:.1f}</b>"

        lp = s["liquidation_price"]
        return [
            ("position", f"{'long' if s['position'].side > 0 else 'short'} 1 BTC @ {fmt_amount(float(s['position'].entry))}"),
            ("liquidation price", fmt_amount(lp) if lp is not None else "none"),
            ("lowest / highest last trade", f"{fmt_amount(m.last.min())} / {fmt_amount(m.last.max())}"),
            ("lowest / highest mark", f"{fmt_amount(r.mark.min())} / {fmt_amount(r.mark.max())}"),
            ("liquidated marking to the last trade", verdict(s["first_by_last"])),
            ("liquidated marking to the mark", verdict(s["first_by_mark"])),
            ("samples where the index fell back to the median", str(s["median_samples"])),
        ]
