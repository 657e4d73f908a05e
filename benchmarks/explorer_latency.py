"""Explorer update latency: control change → recompute → redraw, headless on Agg (printed, never asserted).

Kinds of change are timed separately because they take different paths:
* IsolatedExplorer's mark slider (continuous): the curves do not change, the mark line is blitted;
* a control that changes the curves (on release): recompute and full redraw;
* CrossExplorer's BTC price slider (continuous): recompute (liquidation prices, surface) and draw the
  data over the cached frame (axes, ticks, colour bar); its USDT balance: the same unless the
  rounded health scale changes, then a full redraw;
* TierExplorer's size slider (continuous), venue B overlaid: figures for both venues, curves and
  markers drawn over the cached frame (the curves are recomputed only when venue, form or entry change);
* LiquidationExplorer's replay slider (continuous: the cursor and readouts over the cached data) and its
  book depth (on release: two liquidation runs, stepwise and full, and a redraw);
* RiskFundExplorer's time slider (continuous: the cursor, readouts and ADL queue) and its starting fund
  (on release: the whole waterfall of 200 traders through the day, then a redraw);
* CascadeExplorer's shock size and book depth (on release: a cascade of 2,000 traders through two hours
  of marks and its impact-free baseline, then the data drawn over the cached frame, redrawn when the
  limits move). The sweeps go up on one grid and down on another, so every value is a new run (the
  explorer caches its runs: going back to a setting is free).
"""

from __future__ import annotations

import statistics
import time

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from tiermargin.widgets import (  # noqa: E402
    CascadeExplorer,
    CrossExplorer,
    Explorer,
    IsolatedExplorer,
    LiquidationExplorer,
    MarkPriceExplorer,
    RiskFundExplorer,
    TierExplorer,
)


def _time(explorer: Explorer, name: str, values: np.ndarray) -> list[float]:
    out = []
    for v in values:
        t0 = time.perf_counter()
        explorer.controls[name].value = float(v)
        out.append((time.perf_counter() - t0) * 1000)
        assert explorer.last_error is None, explorer.last_error
    return out


def main() -> None:
    ex = IsolatedExplorer(table="binance-usdm-btcusdt-2021")
    mark = MarkPriceExplorer()
    cross = CrossExplorer()
    tiers = TierExplorer(venue_b="okx")
    liq = LiquidationExplorer()
    fund = RiskFundExplorer()
    cascade = CascadeExplorer()
    rows = {
        "IsolatedExplorer mark slider (blit)": _time(ex, "mark", np.linspace(57_600, 62_000, 200)),
        "IsolatedExplorer leverage (full redraw)": _time(ex, "leverage", np.tile(np.arange(5.0, 20.0), 4)),
        "MarkPriceExplorer MA window (full redraw)": _time(mark, "window", np.tile(np.arange(60, 960, 60), 4)),
        "CrossExplorer BTC price (blit)": _time(cross, "btc", np.linspace(51_000, 80_000, 200)),
        "CrossExplorer USDT balance (frame kept or redrawn)": _time(cross, "usdt", np.tile(np.linspace(5e3, 6e4, 15), 4)),
        "TierExplorer size slider, B overlaid (blit)": _time(tiers, "size", np.geomspace(1e3, 1e7, 200)),
        "LiquidationExplorer replay slider (blit)": _time(liq, "replay", np.linspace(6.0, 12.0, 200)),
        "LiquidationExplorer book depth (two runs, redraw)": _time(liq, "depth", np.geomspace(2e7, 5e8, 12)),
        "RiskFundExplorer time slider (blit)": _time(fund, "replay", np.arange(6 * 60, 12 * 60, 2) / 60),
        "RiskFundExplorer starting fund (a day's waterfall)": _time(fund, "fund", np.geomspace(1e4, 1e6, 8)),
        "CascadeExplorer shock size (a cascade run, frame kept or redrawn)":
            _time(cascade, "size", np.r_[np.arange(2, 21, 2), np.arange(19, 2, -2)] / 100),
        "CascadeExplorer book depth (a cascade run, frame kept or redrawn)":
            _time(cascade, "depth", 10 ** (np.r_[np.arange(56, 81, 2), np.arange(79, 56, -2)] / 10)),
    }
    for label, ms in rows.items():
        print(f"{label}: median {statistics.median(ms):.1f} ms, "
              f"p95 {np.percentile(ms, 95):.1f} ms over {len(ms)} changes (budget: median ≤ 30 ms)")


if __name__ == "__main__":
    main()
