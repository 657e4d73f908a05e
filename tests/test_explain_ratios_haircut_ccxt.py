"""Derivations of a cross account's margin ratios, a haircut's collateral value, a table read from a
ccxt response and a schedule's max leverage: the last line is the library's own result (hypothesis
properties plus worked examples)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import examples

import tiermargin as tm
from tiermargin.alternatives import ContractSchedule, LinearSchedule, SqrtSchedule
from tiermargin.cross import CrossAccount, Haircut, Instrument, Order, Position
from tiermargin.exercises import lesson03, lesson04

WHICH = ("legacy", "coinw", "binance")
BTC = tm.load_table("binance-usdm-btcusdt-2021")
INVERSE = tm.TierTable.from_rows([[0, 50, 0.005, 100], [50, 200, 0.01, 50], [200, None, 0.02, 20]],
                                 contract=tm.Contract("inverse", 1, "BTC"))


def _library(acc, prices, which):
    return float(getattr(acc.margin_ratios(prices), which))


def _close(a, b):
    return (math.isinf(a) and a == b) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


# ---------------------------------------------------------------- cross: the margin ratios
@st.composite
def accounts(draw):
    """A USDT account (one or two linear instruments, hedge or one-way) or a multi-currency one
    (an inverse BTC contract next to a linear one, BTC collateral with a haircut), with orders."""
    multi = draw(st.booleans())
    tier_rule = draw(st.sampled_from(("position", "net", "underlying")))
    fee_rate = draw(st.sampled_from((0.0, 0.0005, 0.001)))
    fee_at = draw(st.sampled_from(("mark", "entry", "bankruptcy")))
    requirement_at = draw(st.sampled_from(("mark", "entry"))) if tier_rule == "position" else "mark"
    eth = Instrument("ETHUSDT", tm.TierTable.single(draw(st.sampled_from((0.005, 0.01))), 50), "ETH")
    second = Instrument("BTCUSD", INVERSE, "BTC") if multi else eth
    insts = [Instrument("BTCUSDT", BTC, "BTC"), second] if multi or draw(st.booleans()) else [Instrument("BTCUSDT", BTC, "BTC")]
    mode = "hedge" if draw(st.booleans()) else "one-way"
    positions = []
    for inst in insts:
        entry = draw(st.floats(20_000, 70_000)) if inst.underlying == "BTC" else draw(st.floats(1_000, 4_000))
        qty = draw(st.floats(0.1, 10)) if inst.table.contract.kind == "linear" else draw(st.floats(1_000, 300_000))
        side = draw(st.sampled_from(("long", "short")))
        positions.append(Position(inst.symbol, side, qty, entry))
        if mode == "hedge" and draw(st.booleans()):
            positions.append(Position(inst.symbol, "short" if side == "long" else "long", qty * draw(st.floats(0.1, 2)),
                                      entry * draw(st.floats(0.9, 1.1))))
    orders = []
    for inst in insts[: draw(st.integers(0, len(insts)))]:
        px = 50_000.0 if inst.underlying == "BTC" else 2_000.0
        qty = 0.5 if inst.table.contract.kind == "linear" else 20_000.0
        orders.append(Order(inst.symbol, draw(st.sampled_from(("long", "short"))), qty, px * draw(st.floats(0.95, 1.05)),
                            draw(st.sampled_from((5, 10, 25)))))
    balances = {"USDT": draw(st.floats(1_000, 200_000))}
    haircuts = {}
    if multi:
        balances["BTC"] = draw(st.floats(0.1, 5))
        haircuts["BTC"] = Haircut([0, 50_000, 200_000, float("inf")], [1, 0.95, 0.8])
    if tier_rule == "underlying" and multi:
        tier_rule = "position"  # one table per underlying under "underlying": the two BTC contracts differ
    acc = CrossAccount(insts, balances, positions, orders, realized_pnl={"USDT": draw(st.floats(-500, 500))},
                       mode=mode, tier_rule=tier_rule, fee_rate=fee_rate, haircuts=haircuts,
                       requirement_at=requirement_at, fee_at=fee_at if fee_rate else "mark")
    prices = {"BTC": draw(st.floats(15_000, 90_000)), "ETH": draw(st.floats(800, 5_000))}
    return acc, prices


@settings(max_examples=examples(150), deadline=None)
@given(accounts(), st.sampled_from(WHICH))
def test_the_ratio_explained_is_the_accounts_own(case, which):
    acc, prices = case
    d = acc.explain_ratio(prices, which)
    assert _close(float(d.result), _library(acc, prices, which)), str(d)
    s = acc.state(prices)
    assert math.isclose(d.line("equity").value, float(s.equity), rel_tol=1e-9, abs_tol=1e-9)
    assert math.isclose(d.line("requirement").value, float(s.requirement), rel_tol=1e-9, abs_tol=1e-9)
    if which == "legacy":
        assert math.isclose(d.line("exposure").value, float(s.exposure), rel_tol=1e-9, abs_tol=1e-9)
        assert _close(d.line("threshold").value, float(acc.margin_ratios(prices).legacy_threshold))


def test_the_legacy_ratio_shows_the_orders_frozen_margin_times_its_leverage():
    btc, eth = Instrument("BTCUSDT", BTC, "BTC"), Instrument("ETHUSDT", tm.TierTable.single(0.005, 100), "ETH")
    acc = CrossAccount([btc, eth], {"USDT": 20_000}, [Position("BTCUSDT", "long", 1, 60_000),
                                                       Position("ETHUSDT", "short", 10, 3_000)],
                       [Order("BTCUSDT", "long", 0.5, 58_000, 10)], realized_pnl={"USDT": -200})
    prices = {"BTC": 61_000, "ETH": 2_900}
    d = acc.explain_ratio(prices, "legacy")
    # (20,000 − 200 + 1,000 + 1,000) / (61,000 + 29,000 + 29,000)
    assert d.line("collateral_USDT").numbers == "20,000 + −200 + 2,000"
    assert d.line("frozen_1").value == 2_900 and d.line("order_value_1").numbers == "2,900 × 10"
    assert d.line("exposure").numbers == "61,000 + 29,000 + 29,000"
    assert d.result == pytest.approx(21_800 / 119_000, rel=1e-12) == _library(acc, prices, "legacy")
    assert d.lines[-1].key == "ratio" and "threshold" in d.lines[-1].why


def test_coinw_charges_the_net_contracts_of_a_hedge():
    table = tm.TierTable.single(0.01, form="step", contract=tm.Contract("linear", 0.01, "USDT"))
    acc = CrossAccount([Instrument("BTCUSDT", table, "BTC")], {"USDT": 5_000},
                       [Position("BTCUSDT", "long", 300, 50_000), Position("BTCUSDT", "short", 100, 51_000)],
                       mode="hedge", tier_rule="net", fee_rate=0.0006)
    d = acc.explain_ratio({"BTC": 50_500}, "coinw")
    assert "BTCUSDT net, 200 contracts" in d.line("mm_1").why
    # (5,000 + 1,500 + 500) / (2 × 50,500 × (1 % + 0.06 %))
    assert d.result == pytest.approx(7_000 / (101_000 * 0.0106), rel=1e-12)
    assert d.result == _library(acc, {"BTC": 50_500}, "coinw")
    b = acc.explain_ratio({"BTC": 50_500}, "binance")
    assert b.result == pytest.approx(1 / d.result, rel=1e-12) and b.line("ratio").formula.startswith("Binance")


def test_a_fully_netted_hedge_has_an_infinite_coinw_ratio():
    table = tm.TierTable.single(0.01)
    acc = CrossAccount([Instrument("X", table, "X")], {"USDT": 1_000},
                       [Position("X", "long", 2, 100), Position("X", "short", 2, 100)], mode="hedge", tier_rule="net")
    assert acc.explain_ratio({"X": 100}, "coinw").result == math.inf == _library(acc, {"X": 100}, "coinw")
    assert acc.explain_ratio({"X": 100}, "legacy").result == math.inf


def test_explain_ratio_rejects_a_bad_convention_or_an_array_price():
    acc = CrossAccount([Instrument("X", tm.TierTable.single(0.01), "X")], {"USDT": 1_000}, [Position("X", "long", 1, 100)])
    with pytest.raises(ValueError, match="which"):
        acc.explain_ratio({"X": 100}, "okx")
    with pytest.raises(ValueError, match="one price"):
        acc.explain_ratio({"X": np.array([100.0, 110.0])}, "coinw")


# ---------------------------------------------------------------- haircut slices
OKX = Haircut([0, 5e6, 10e6, float("inf")], [1, 0.9, 0.8])


def test_okx_eleven_million_is_worth_ten_point_three():
    d = OKX.explain(11e6)
    assert [ln.key for ln in d.lines] == ["slice_1", "slice_2", "slice_3", "collateral"]
    assert [ln.value for ln in d.lines] == [5e6, 4.5e6, 0.8e6, 10.3e6]
    assert d.line("slice_3").numbers == "0.8 × (11,000,000 − 10,000,000)"
    assert d.result == OKX.value(11e6)


@pytest.mark.parametrize("amount, lines", [(0, 1), (-2e6, 1), (4e6, 2), (5e6, 2), (10e6, 3)])
def test_a_debt_nothing_and_the_edges(amount, lines):
    d = OKX.explain(amount)
    assert len(d.lines) == lines and d.result == OKX.value(amount)
    if amount < 0:
        assert "debt counts in full" in d.lines[-1].why


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(st.floats(1e3, 1e7), min_size=1, max_size=5, unique=True),
       st.lists(st.floats(0.01, 1), min_size=6, max_size=6), st.booleans(), st.floats(-1e8, 1e8))
def test_the_collateral_explained_is_the_haircuts_value(edges, rates, unbounded, amount):
    bounds = [0.0, *sorted(edges)] + ([float("inf")] if unbounded else [])
    h = Haircut(bounds, rates[: len(bounds) - 1])
    d = h.explain(amount)
    assert math.isclose(d.result, float(h.value(amount)), rel_tol=1e-12, abs_tol=1e-6), str(d)
    assert math.isclose(sum(ln.value for ln in d.lines if ln.key.startswith("slice_")) if amount > 0 else amount,
                        d.result, rel_tol=1e-12, abs_tol=1e-6)


def test_haircut_explain_takes_one_number():
    with pytest.raises(ValueError, match="one number"):
        OKX.explain(np.array([1.0, 2.0]))


# ---------------------------------------------------------------- a table from ccxt
def _rows_of(d):
    n = sum(1 for ln in d.lines if ln.key.startswith("floor_"))
    rows = [[d.line(f"{c}_{k}").value for c in ("floor", "cap", "mmr", "max_leverage")] for k in range(1, n + 1)]
    return [[f, None if c == math.inf else c, r, lv] for f, c, r, lv in rows]


@pytest.mark.parametrize("table_id", tm.table_ids())
def test_each_ccxt_entry_gives_its_row(table_id):
    t = tm.load_table(table_id)
    tiers = t.to_ccxt()
    d = tm.TierTable.explain_ccxt(tiers, basis=t.basis)
    assert _rows_of(d) == tm.TierTable.from_ccxt(tiers, basis=t.basis).rows() == t.rows()
    assert d.result == t.n_tiers and d.lines[-1].key == "rows"


def test_none_is_an_unbounded_cap_and_an_unpublished_leverage():
    tiers = [{"tier": 1, "minNotional": 0, "maxNotional": 10_000, "maintenanceMarginRate": 0.01, "maxLeverage": None},
             {"tier": 2, "minNotional": 10_000, "maxNotional": None, "maintenanceMarginRate": 0.02, "maxLeverage": None}]
    d = tm.TierTable.explain_ccxt(tiers)
    assert d.line("cap_2").value == math.inf and "unbounded" in d.line("cap_2").why
    assert d.line("max_leverage_1").value is None and "not published" in d.line("max_leverage_1").why
    assert _rows_of(d) == tm.TierTable.from_ccxt(tiers).rows()
    with pytest.raises(ValueError, match="missing maxLeverage"):
        tm.TierTable.explain_ccxt([{"minNotional": 0, "maxNotional": None, "maintenanceMarginRate": 0.01}])


# ---------------------------------------------------------------- a schedule's max leverage
@pytest.mark.parametrize("size", [0, 10, 100, 250, 1_000])
def test_deribit_max_leverage_is_one_over_the_initial_rate(size):
    s = ContractSchedule(LinearSchedule.deribit_btc())
    d = s.explain_max_leverage(size)
    assert d.result == s.max_leverage_at(size) and [ln.key for ln in d.lines] == ["imr", "max_leverage"]
    assert d.line("imr").value == pytest.approx(0.02 + 0.00005 * size, rel=1e-12)


def test_another_schedules_max_leverage():
    s = ContractSchedule(SqrtSchedule(0.10, 0.05, 0.00005))
    d = s.explain_max_leverage(1e6)
    assert d.result == s.max_leverage_at(1e6) and d.line("imr").formula == "IM% = initial rate(Q)"


# ---------------------------------------------------------------- the exercises use them
@pytest.mark.parametrize("sid", ["demo", "alice", "bob"])
def test_the_lesson_exercises_show_these_derivations(sid):
    ex3 = lesson03.Exercises(student_id=sid)
    key3 = ex3.answer_key()
    assert ex3.show(1).line("ratio").formula.startswith("legacy ratio") and _close(ex3.show(1).result, key3[1])
    assert ex3.show(2).line("ratio").formula.startswith("CoinW ratio") and _close(ex3.show(2).result, key3[2])
    for n in (3, 4):
        assert ex3.show(n).lines[-1].key == "collateral"
    assert math.isclose(ex3.show(3).result, key3[3], rel_tol=1e-12)
    ex4 = lesson04.Exercises(student_id=sid)
    assert _rows_of(ex4.show(4)) == lesson04._from_ccxt(ex4.task(4).numbers)
    assert ex4.show(7, "max_leverage").result == pytest.approx(ex4.answer_key()[7]["max_leverage"], rel=1e-12)
