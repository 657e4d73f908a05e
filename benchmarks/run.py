"""Print tiermargin's performance figures (budgets in DESIGN.md; printed, never asserted).

Run with ``make bench``. Figures:

* liquidation prices of 1,000,000 isolated positions over the 10-tier Binance BTCUSDT table,
  vectorized, against a per-position loop (timed on a sample and scaled to 1,000,000);
* the stepwise liquidation engine on one tier-5 position through a crash, and the liquidation
  waterfall (200 traders through a day of 1,441 marks: liquidations → risk fund → ADL), the work
  behind lessons 05–06 and their explorers;
* the market-wide cascade engine (lesson 07): 100,000 traders through a day of 1,441 marks with price
  impact, stepwise liquidation, the risk fund and ADL (budget 2 s), and 1,000,000 in a fresh process with its
  memory peak (budget 20 s); the per-trader waterfall on 5,000 of the same traders along the cascade's own
  mark path, beside the cascade engine on the same 5,000 (a ratio in one run);
* ``import tiermargin`` in a fresh interpreter (median of several runs).
"""

from __future__ import annotations

import json
import resource
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


#: the cascade benchmark's market: a 5 % market-wide drop at 08:00 into a book of 1/75 of the open interest per
#: 1 %, a risk fund of 0.1 % of it (so it runs dry and ADL takes part), stepwise one tier down, smoothed mark
CASCADE = dict(shock_size=0.05, depth_share=1 / 75, fund_share=0.001)


def _cascade_market(n: int):
    """The benchmark's population of ``n`` traders and the :func:`~tiermargin.cascade.run` arguments."""
    from tiermargin import cascade as cs
    from tiermargin.orderbook import Book

    pop = cs.population("binance-usdm", n, seed=0)
    oi = float(pop.notional().sum())
    return pop, dict(shock=cs.Shock("market", CASCADE["shock_size"]), book=Book(oi * CASCADE["depth_share"]),
                     policy="one-tier", fund=oi * CASCADE["fund_share"], baseline=False)


def cascade_once(n: int) -> dict[str, float]:
    """One cascade of ``n`` traders in this process: seconds to draw, seconds to run, peak memory (MB)."""
    from tiermargin import cascade as cs

    t0 = time.perf_counter()
    pop, kwargs = _cascade_market(n)
    drawn = time.perf_counter() - t0
    t0 = time.perf_counter()
    c = cs.run(pop, **kwargs)
    ran = time.perf_counter() - t0
    s = c.summary()
    return {"draw": drawn, "run": ran, "steps": float(c.times.size), "liquidated": s["traders liquidated"],
            "adl": s["ADL fills"], "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def bench_cascade() -> None:
    from tiermargin import cascade as cs
    from tiermargin.liquidation import Execution
    from tiermargin.orderbook import Book
    from tiermargin.waterfall import run as waterfall

    pop, kwargs = _cascade_market(100_000)
    c = cs.run(pop, **kwargs)  # also the warm-up
    s = c.summary()
    engine = _median_time(lambda: cs.run(pop, **kwargs), 3)
    with_baseline = _median_time(lambda: cs.run(pop, **{**kwargs, "baseline": True}), 1)
    print(f"cascade, {len(pop):,} traders × {c.times.size:,} marks (impact, one tier down, fund, ADL): "
          f"{engine:.2f} s (median of 3; budget 2 s); {s['traders liquidated']:,.0f} liquidated, "
          f"{s['ADL fills']:,.0f} ADL fills; with the no-impact baseline for the multiplier {with_baseline:.2f} s")
    k = 5_000
    sub = cs.Population(pop.positions[:k], pop.cross[:k], pop.rules)
    part = dict(kwargs, book=Book(kwargs["book"].depth * k / len(pop)), fund=kwargs["fund"] * k / len(pop))
    fast = _median_time(lambda: cs.run(sub, **part), 3)
    t0 = time.perf_counter()
    old = waterfall(sub.positions, c.times, c.mark, tm.RiskFund(part["fund"]), "one-tier", execution=Execution("mark"))
    slow = time.perf_counter() - t0
    print(f"per-trader waterfall on {k:,} of these traders along the cascade's mark path: {slow:.2f} s "
          f"({old.summary()['traders liquidated']:,.0f} liquidated); the cascade engine on the same {k:,} "
          f"(its own impact): {fast * 1000:.0f} ms → {slow / fast:.0f}× faster; the waterfall scaled to "
          f"{len(pop):,}: about {slow * len(pop) / k:.0f} s")
    out = subprocess.run([sys.executable, __file__, "cascade", "1000000"], capture_output=True, text=True, check=True)
    m = json.loads(out.stdout)
    print(f"cascade, 1,000,000 traders × {m['steps']:,.0f} marks in a fresh process: {m['run']:.1f} s "
          f"(budget 20 s; drawing them {m['draw']:.1f} s); {m['liquidated']:,.0f} liquidated, {m['adl']:,.0f} ADL "
          f"fills; peak memory {m['peak_mb']:,.0f} MB (the whole process)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["cascade"]:  # one cascade in a fresh process (bench_cascade's memory figure)
        print(json.dumps(cascade_once(int(sys.argv[2]))))
    else:
        bench_liquidation()
        bench_waterfall()
        bench_cascade()
        bench_import()
