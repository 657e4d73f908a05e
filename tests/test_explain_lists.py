"""Explanations of list answers (lesson 05–06): each ``item_k`` line equals the library's k-th element."""

from __future__ import annotations

import numpy as np
import pytest

import tiermargin as tm
from tiermargin.adl import adl_qty, deleverage, explain_adl_qty, explain_lights, explain_queue, lights
from tiermargin.liquidation import Execution, liquidate
from tiermargin.riskfund import RiskFund

BTC = "binance-usdm-btcusdt-2021"


def items(d):
    return [ln.value for ln in d.lines if ln.key.startswith("item_")]


@pytest.mark.parametrize("policy", ["one-tier", "lowest-sufficient", "two-tiers"])
@pytest.mark.parametrize("mark", [53_500, 54_500, 55_000, 55_400])
def test_explain_path_lists_each_steps_tier_and_contracts_left(policy, mark):
    pos = tm.IsolatedPosition.open(tm.load_table(BTC), "long", 200, 60_000, 10)
    log = liquidate(pos, [0], [mark], policy, execution=Execution("bankruptcy"))
    assert items(log.explain_path()) == [float(e.tier_after) for e in log.events]
    assert np.allclose(items(log.explain_path("left")), [e.contracts_left for e in log.events], rtol=1e-12)
    if log.events:
        assert log.explain_path().line("step1_keep").value == log.explain(0).line("keep").value


def test_explain_path_of_the_lessons_whale_goes_down_two_tiers():
    pos = tm.IsolatedPosition.open(tm.load_table(BTC), "long", 200, 60_000, 10)
    log = liquidate(pos, [0], [55_000], "one-tier", execution=Execution("bankruptcy"))
    assert items(log.explain_path()) == [4.0, 3.0]
    with pytest.raises(ValueError, match="what must be"):
        log.explain_path("closed")


@pytest.mark.parametrize("depth", [None, 5e7, 2e8])
@pytest.mark.parametrize("mark", [53_500, 55_000, 55_400])
def test_explain_equity_is_the_traders_equity(depth, mark):
    pos = tm.IsolatedPosition.open(tm.load_table(BTC), "long", 200, 60_000, 10)
    ex = Execution("bankruptcy") if depth is None else Execution("impact", depth)
    log = liquidate(pos, [0], [mark], "lowest-sufficient", execution=ex)
    d = log.explain_equity(mark)
    assert d.lines[-1].key == "equity"
    assert np.isclose(d.result, log.trader_equity(mark), rtol=1e-9, atol=1e-6)


@pytest.mark.parametrize("seed", range(20))
def test_explain_queue_and_lights_agree_with_deleverage_and_lights(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 8))
    qty, entry = rng.choice([0.5, 1, 2, 5, 10], n), rng.uniform(500, 700, n)
    score = rng.choice(np.arange(1, 5), n).astype(float)  # ties: listed first
    eligible = rng.random(n) < 0.8 if seed % 2 else None
    need = float(qty.sum() * rng.uniform(0.2, 1.2))
    r = deleverage("short", need, 650, qty, entry, score, eligible)
    take, pnl = np.zeros(n), np.zeros(n)
    take[r.who], pnl[r.who] = r.qty, r.pnl
    d = explain_queue("short", need, 650, qty, entry, score, eligible)
    assert np.allclose([d.line(f"qty_{k}").value for k in range(1, n + 1)], take, rtol=1e-12, atol=1e-12)
    assert np.allclose([d.line(f"pnl_{k}").value for k in range(1, n + 1)], pnl, rtol=1e-12, atol=1e-9)
    assert np.isclose(d.result, r.unmatched)
    assert items(explain_lights(score, qty, eligible)) == lights(score, qty, eligible).astype(float).tolist()


def test_explain_adl_qty_is_adl_qty():
    for closed, short, loss in [(10, 300, -1_500), (2.5, 10, -40), (7, 0, -3)]:
        assert np.isclose(explain_adl_qty(closed, short, loss).result, adl_qty(closed, short, loss), rtol=1e-12)


def test_explain_reconciliations_lists_every_windows_net():
    fund = RiskFund(10_000)
    for t, a in [(0, 250), (3_600, -400), (30_000, 900), (29_000 + 86_400, -1_200), (200_000, 50)]:
        fund.record(t, a)
    nets = [w.net for w in fund.reconciliations()]
    assert len(nets) >= 2
    assert np.allclose(items(fund.explain_reconciliations()), nets)
    assert np.allclose(items(fund.explain_reconciliations(0, 0)), [w.net for w in fund.reconciliations(0, 0)])
