"""Print tiermargin's performance figures (budgets in DESIGN.md; printed, never asserted).

Run with ``make bench``. Figures:

* liquidation prices of 1,000,000 isolated positions over the 10-tier Binance BTCUSDT table,
  vectorized, against a per-position loop (timed on a sample and scaled to 1,000,000);
* the stepwise liquidation engine on one tier-5 position through a crash, and the liquidation
  waterfall (200 traders through a day of 1,441 marks: liquidations → risk fund → ADL), the work
  behind lessons 05–06 and their explorers;
* ``import tiermargin`` in a fresh interpreter (median of several runs).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

import numpy as np

import tiermargin as tm

N = 1_000_000
LOOP_SAMPLE = 2_000


def _positions(n: int, rng: np.random.Generator):
    table = tm.load_table("binance-usdm-btcusdt-2021")
    side = rng.choice([-1.0, 1.0], n)
    entry = rng.uniform(20_000, 80_000, n)
    value = np.exp(rng.uniform(np.log(1e3), np.log(4e8), n))  # spans all 10 tiers
    qty = value / entry
    lev = np.minimum(rng.uniform(1, 125, n), table.max_leverage[table.tier_index(value)])
    return table, side, qty, entry, value / lev


def bench_liquidation() -> None:
    rng = np.random.default_rng(7)
    table, side, qty, entry, margin = _positions(N, rng)
    tm.liquidation_price(table, side[:1000], qty[:1000], entry[:1000], margin[:1000])  # warm-up
    runs = []
    for _ in range(5):
        t0 = time.perf_counter()
        lp = tm.liquidation_price(table, side, qty, entry, margin)
        runs.append(time.perf_counter() - t0)
    vec = statistics.median(runs)
    step = tm.TierTable.from_rows(table.rows(), form="step")
    t0 = time.perf_counter()
    tm.liquidation_price(step, side, qty, entry, margin)
    step_time = time.perf_counter() - t0
    t0 = time.perf_counter()
    loop = [tm.liquidation_price(table, side[i], qty[i], entry[i], margin[i]).price for i in range(LOOP_SAMPLE)]
    per = (time.perf_counter() - t0) / LOOP_SAMPLE
    assert np.allclose(loop, lp.price[:LOOP_SAMPLE])  # same answers, not a timing check
    print(f"liquidation price, {N:,} positions × {table.n_tiers} tiers: vectorized {vec:.3f} s "
          f"(median of {len(runs)}; budget 0.2 s); {int(lp.exists.sum()):,} liquidatable")
    print(f"same positions on the table in step form (N×K candidate search): {step_time:.3f} s")
    print(f"per-position loop: {per * 1e6:.1f} µs each → {per * N:.1f} s for {N:,} "
          f"(timed on {LOOP_SAMPLE:,}); speed-up {per * N / vec:.0f}× (budget ≥ 50×)")


def bench_import() -> None:
    code = "import time; t=time.perf_counter(); import tiermargin; print(time.perf_counter()-t)"
    times = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                  check=True).stdout) for _ in range(7)]
    heavy = subprocess.run(
        [sys.executable, "-c", "import sys, tiermargin; print(sorted(m for m in ('matplotlib', 'ipywidgets', 'pandas') if m in sys.modules))"],
        capture_output=True, text=True, check=True).stdout.strip()
    print(f"import tiermargin: {statistics.median(times) * 1000:.0f} ms (median of {len(times)}; "
          f"budget 300 ms); heavy modules loaded: {heavy}")


def _median_time(f, runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_waterfall() -> None:
    from tiermargin.liquidation import Execution, liquidate
    from tiermargin.waterfall import crash_path, run, traders

    btc = tm.load_table("binance-usdm-btcusdt-2021")
    pos = tm.IsolatedPosition.open(btc, "long", 200, 60_000, 10)
    t, m = crash_path(depth=0.08, start=600, duration=3_600, length=5_400, step=10, seed=3)
    engine = _median_time(lambda: liquidate(pos, t, m, "one-tier", execution=Execution("impact", 2e8)))
    print(f"stepwise liquidation, one tier-5 position, {t.size} marks: {engine * 1000:.1f} ms (median)")
    population, (times, marks) = traders(btc, 200, 60_000, seed=7), crash_path(seed=7)
    day = _median_time(lambda: run(population, times, marks, tm.RiskFund(20_000), execution=Execution("impact", 2e7)), 3)
    steps = len(run(population, times, marks, tm.RiskFund(20_000), execution=Execution("impact", 2e7)).steps)
    print(f"waterfall, 200 traders × {times.size} marks ({steps} liquidation steps, with ADL): {day * 1000:.0f} ms (median of 3)")


if __name__ == "__main__":
    bench_liquidation()
    bench_waterfall()
    bench_import()
