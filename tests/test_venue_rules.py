"""Venues whose margin is not a plain tier table (issue 14): dYdX v4 (margin fractions, the
open-interest IMF), Drift (√size premium), HTX (adjustment factor by leverage and tier). Each
published example is reproduced with its citation."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tiermargin as tm
from tiermargin.alternatives import (
    AdjustmentFactors,
    ContractSchedule,
    LinearSchedule,
    OpenInterestIMF,
    PositionSchedule,
    SqrtSchedule,
    SteppedInitialSchedule,
    load_margin,
    margin_ids,
    margin_info,
)
from tiermargin.cross import CrossAccount, Instrument, Position
from tiermargin.rules import Rulebook, compare, preset

USDC = tm.Contract("linear", 1, "USDC")


def flat(mmf, imf=None, symbol=""):
    """A dYdX-style market with flat fractions (no open-interest scaling)."""
    return ContractSchedule(OpenInterestIMF(imf or 2 * mmf, mmf), USDC, symbol=symbol)


# ---------------------------------------------------------------- dYdX v4: published examples
def test_dydx_docs_isolated_liquidation_price():
    # dYdX docs "Liquidations", Isolated Liquidation Price: p' = (e − s·p)/(|s|·MMF − s); "a trader
    # deposits $1,000 (e = 1000) ... shorts 3 ETH contracts (s = -3) at $3,000 ... MMF = 0.05 ...
    # p' = 10000 / 3.15 ≈ 3174.60"; "the trader's remaining equity would be 5% of the notional value
    # of the position or $476.2 (3 * 3174.6 * 0.05 ≈ 476.2)".
    pos = tm.IsolatedPosition(flat(0.05), "short", 3, 3_000, 1_000, 9)
    lp = pos.liquidation_price()
    assert lp.exists and round(lp.price, 2) == 3_174.60
    assert lp.price == pytest.approx((1_000 - (-3 * 3_000)) / (3 * 0.05 - (-3)))
    assert round(float(pos.equity(lp.price)), 1) == 476.2 and float(pos.health(lp.price)) == pytest.approx(0, abs=1e-9)


def test_dydx_docs_cross_liquidation_price():
    # dYdX docs "Liquidations", Cross Liquidation Price: deposit $1,000, short 1.5 ETH at $3,000 (MMF 5%),
    # long 1,000 STRK at $1.75 (MMF 10%): MMR_o = 175, p' = (1000 + 4500 − 175)/1.575 ≈ 3380.95.
    acc = CrossAccount([Instrument("ETH-USD", flat(0.05), "ETH"), Instrument("STRK-USD", flat(0.10), "STRK")],
                       {"USDC": 1_000}, [Position("ETH-USD", "short", 1.5, 3_000), Position("STRK-USD", "long", 1_000, 1.75)])
    below, above = acc.liquidation_prices({"ETH": 3_000, "STRK": 1.75}, "ETH")
    assert not below.exists and round(above.price, 2) == 3_380.95
    assert above.price == pytest.approx((1_000 + 4_500 - 175) / 1.575)


@pytest.mark.parametrize("lower, upper, open_notional, quote, expected", [
    # dydxprotocol/v4-chain protocol/x/perpetuals/types/liquidity_tier_test.go, TestGetInitialMarginQuoteQuantums
    # (base IMF 20 %, 500,000 quote quantums = 0.5 USDC; caps and open interest in USDC = quantums / 10⁶):
    (0, 0, 1_500_000, 500_000, 100_000),  # "no OIMF since lower_cap = upper_cap = 0"
    (1_000_000, 2_000_000, 1_500_000, 500_000, 300_000),  # "scaling_factor = 0.5": OIMF = 20% + 0.5 × 80% = 60%
    (25_000_000, 50_000_000, 80_000_000, 500_000, 500_000),  # "open_interest >> upper_cap": 100%
    (25_000_000, 50_000_000, 25_000_000, 500_000, 100_000),  # "open_interest = lower_cap so scaling_factor = 0"
    (25_000_000, 60_000_000, 28_123_456.789123, 500_000, 135_697),  # "realistic numbers", IM rounded up
])
def test_dydx_open_interest_imf_matches_the_chain_tests(lower, upper, open_notional, quote, expected):
    oimf = OpenInterestIMF(0.20, 0.10, lower, upper, open_notional)
    assert math.ceil(round(quote * float(oimf.initial_rate(1.0)), 6)) == expected  # GetInitialMarginQuoteQuantums rounds up


def test_dydx_adjusted_initial_margin_ppm_matches_the_chain_test():
    # liquidity_tier_test.go, TestGetAdjustedInitialMarginPpm (IMF 200,000 ppm, caps 1,000,000 / 2,000,000):
    # open interest 0 → 200,000; 1,500,000 → 600,000; 1,234,567 → 387,653 ("0.387_653_6 rounded down");
    # at and above the upper cap → 1,000,000.
    oimf = OpenInterestIMF(0.20, 0.10, 1_000_000, 2_000_000)
    ppm = np.floor(np.asarray(oimf.initial_at([0, 1_500_000, 1_234_567, 1_000_000, 2_000_000, 2_500_000])) * 1e6 + 1e-6)
    np.testing.assert_array_equal(ppm, [200_000, 600_000, 387_653, 200_000, 1_000_000, 1_000_000])
    assert OpenInterestIMF(0.20, 0.10).initial_at(1_500_000) == 0.20  # "No upper bound, no increase"


def test_dydx_bundled_liquidity_tiers():
    # genesis.sh: Large-Cap 50000 ppm IMF, 600000 ppm maintenance fraction → MMF 3 %, no OIMF caps;
    # Mid-Cap 10 % × 50 % = 5 %, caps 20M / 50M USDC (v5.0.0 upgrade handler).
    btc = load_margin("dydx-v4-btc-usd")
    assert (btc.schedule.base_initial, btc.schedule.maintenance, btc.schedule.upper_cap) == (0.05, 0.03, 0)
    assert float(btc.max_leverage_at(1e9)) == 20 and btc.max_size_at_leverage(20) == np.inf
    mid = load_margin("dydx-v4-mid-cap")
    assert (mid.schedule.base_initial, mid.schedule.maintenance) == (0.10, 0.05)
    busy = mid.schedule.with_open_notional(35_000_000)  # half way between the caps: 10 % + 0.5 × 90 %
    assert busy.initial_rate(5.0) == pytest.approx(0.55) and busy.maintenance_rate(5.0) == 0.05
    assert mid.schedule.initial_at(60_000_000) == 1.0


# ---------------------------------------------------------------- Drift: published examples
def test_drift_program_test_size_premium():
    # drift-labs/protocol-v2 programs/drift/src/state/perp_market/tests.rs, get_margin_ratio::smart_hlm_size:
    # margin_ratio_initial MARGIN_PRECISION/10, imf_factor 50 → at BASE_PRECISION × 1,000,000 the initial
    # ratio is 1300 (of 10,000): 0.8 × 10 % + 50/10⁶ × √1,000,000.
    drift = load_margin("drift-program-test-market")
    assert round(float(drift.initial_rate(1_000_000)) * 10_000) == 1_300
    assert float(drift.initial_rate(1)) == 0.10  # small: the base ratio (get_margin_ratio::test)
    assert float(drift.rate(1)) == 0.05


def test_drift_program_test_margin_requirement():
    # protocol-v2 programs/drift/src/math/margin/tests.rs, calculate_user_equity_value_tests: initial ratio
    # 1000, maintenance 500, imf_factor 1000; a short of 6.147540983 base at an oracle of $22,050 has an initial
    # requirement of 13555327867 (QUOTE_PRECISION 10⁶), at $21,050 12940573769 (the premium does not bind:
    # 0.8 × 10 % + 0.001 × √6.15 < 10 %).
    schedule = ContractSchedule(SqrtSchedule(0.10, 0.05, 0.001), USDC)
    base = 12_295_081_967 // 2 / 1e9
    for oracle, expected in ((22_050, 13_555_327_867), (21_050, 12_940_573_769)):
        im = base * oracle * float(schedule.initial_rate(base))
        assert math.floor(im * 1e6) == expected


def test_drift_docs_liquidation_example():
    # Drift docs "Liquidations": "You deposit 500 USDC and you long 200 SOL-PERP at $25 ... Margin requirement
    # = 5000 * .05 = 250 ... liquidated if the price of SOL decreases ... to $23.6825 ... New total collateral
    # = 500 - 263.5 = 236.5; New margin requirement = 23.6825 * 200 * .05 = 236.825".
    pos = tm.IsolatedPosition(ContractSchedule(SqrtSchedule(0.10, 0.05, 0.0), USDC), "long", 200, 25, 500, 10)
    assert float(pos.requirement(25)) == pytest.approx(250)
    assert float(pos.equity(23.6825)) == pytest.approx(236.5) and float(pos.requirement(23.6825)) == pytest.approx(236.825)
    assert pos.is_liquidated(23.6825)
    lp = pos.liquidation_price()  # the exact threshold, 4,500/190: the page rounds the drop (5.27 %)
    assert lp.price == pytest.approx(4_500 / 190) and 23.6825 < lp.price < 23.6825 * (1 + 1e-4)


# ---------------------------------------------------------------- HTX: published examples
HTX = load_margin("htx-btc-usdt-isolated-2020-09")


def test_htx_sdk_account_example():
    # HTX's SDK hbdmapi/huobi_usdt_swap_Java, SwapAccountInfoResponse.java (BTC-USDT, ts 1601012593623):
    # margin_balance 987751.572823845245237901, margin_position 8077.36402, margin_frozen 22218, lever_rate 5,
    # adjust_factor 0.04, risk_rate 32.564050315149348888 (= equity / (position + frozen margin) − factor,
    # HTX help "Partial Liquidation"). The same SDK's adjust-factor example gives 0.04 at 5x below 1,000 conts.
    assert float(HTX.factor(5, 999)) == 0.04
    ratio = HTX.margin_ratio(987_751.572823845245237901, 8_077.36402 + 22_218, 5, 0)
    assert ratio == pytest.approx(32.564050315149348888, rel=1e-12)


def test_htx_maintenance_margin_rate_is_the_factor_over_the_leverage():
    # HTX help "Tiered Adjustment Factor of USDⓈ-Margined Contracts": "Maintenance Margin Ratio = Adjustment
    # Factor / Leverage"; "When using 10x leverage, Tom holds a long position of 12,000 conts ... and a short
    # position of 30,000 conts ..., then the net positions shall be 18,000 conts". The page's current table (an
    # image) gives 12.5 % there; the bundled 2020 ladder puts 18,000 conts in tier 3, 15 %.
    net = abs(12_000 - 30_000)
    assert net == 18_000
    assert float(HTX.factor(10, net)) == 0.15 and float(HTX.maintenance_rate(10, net)) == pytest.approx(0.015)
    t = HTX.table(10)
    assert (t.basis, t.form, t.n_tiers) == ("contracts", "step", 5)
    np.testing.assert_allclose(t.mmr, np.array([0.075, 0.125, 0.15, 0.2, 0.25]) / 10)
    assert float(t.rate(net)) == float(HTX.maintenance_rate(10, net)) and t.symbol == "BTC-USDT at 10x"


def test_htx_position_is_charged_at_the_factor_times_its_position_margin():
    # MM = MMR × leverage × position margin (HTX "Futures Liquidation Indicators Adjustment") = AF × value / L.
    pos = tm.IsolatedPosition.open(HTX.table(20), "long", 30, 10_000, 20)  # 30 conts of 0.01 BTC: 20x tier 3, 0.30
    assert float(pos.maintenance_margin(10_000)) == pytest.approx(0.30 * 30 * 0.01 * 10_000 / 20)
    assert float(HTX.margin_ratio(pos.equity(10_000), pos.margin, 20, 30)) == pytest.approx(1 - 0.30)


def test_htx_factors_vectorized_and_refused_leverage():
    np.testing.assert_array_equal(HTX.factor([1, 10, 125], [[0], [30_000]]), [[0.005, 0.075, 0.25], [0.025, 0.25, 0.95]])
    with pytest.raises(ValueError, match="leverage must be one of 1, 2, 3, 5, 10, 20, 30, 50, 75, 100, 125.*got 7"):
        HTX.factor(7, 100)
    with pytest.raises(ValueError, match="got 7"):
        HTX.table(7)


@pytest.mark.parametrize("ladder, match", [
    ([[1, None, 0.1]], "first min_size must be 0"),
    ([[0, 99, 0.1], [101, None, 0.2]], "one contract above"),
    ([[0, 99, 0.2], [100, None, 0.1]], "must not decrease"),
    ([[0, 99, 0.1]], "last max_size must be None"),
    ([[0, 99]], "rows are"),
    ([[0, None, 1.2]], "adjust_factor"),
])
def test_htx_bad_ladders(ladder, match):
    with pytest.raises(ValueError, match=match):
        AdjustmentFactors({10: ladder})


# ---------------------------------------------------------------- the schedule interface
def test_tier_tables_and_schedules_are_position_schedules():
    assert isinstance(tm.load_table("binance-usdm-btcusdt-2021"), PositionSchedule)
    assert all(isinstance(load_margin(i), PositionSchedule) for i in margin_ids() if not i.startswith("htx"))
    assert isinstance(HTX.table(10), PositionSchedule) and not isinstance(HTX, PositionSchedule)
    with pytest.raises(TypeError, match="TierTable or a ContractSchedule"):
        tm.IsolatedPosition(SqrtSchedule(0.1, 0.05, 0.001), "long", 1, 100, 10, 10)
    with pytest.raises(TypeError, match="schedule must be a margin schedule"):
        ContractSchedule(0.05)


def test_schedule_position_opens_checks_and_solves_like_a_flat_rate():
    drift = load_margin("drift-program-test-market")
    with pytest.raises(ValueError, match=r"exceeds the max leverage 7\.69231x at this size"):
        tm.IsolatedPosition.open(drift, "long", 1e6, 100, 10)
    p = tm.IsolatedPosition.open(drift, "short", 50_000, 100, 10)
    rate = float(drift.rate(50_000))  # 0.8 × 5 % + 0.00005 × √50,000
    assert rate == pytest.approx(0.04 + 0.00005 * math.sqrt(50_000))
    assert float(p.maintenance_margin(120)) == pytest.approx(50_000 * 120 * rate)
    lp = p.liquidation_price()
    assert lp.price == pytest.approx((float(p.margin) + 50_000 * 100) / (50_000 * (1 + rate))) and lp.tier == 1
    assert p.tier_boundary_prices().size == 0
    with pytest.raises(TypeError, match="no tier to fix"):
        p.liquidation_price_in_tier(1)


def test_schedule_conversions_and_largest_size():
    drift = load_margin("drift-program-test-market")
    assert drift.max_size_at_leverage(5) == pytest.approx(((0.2 - 0.08) / 0.00005) ** 2)
    np.testing.assert_allclose(drift.max_size_at_leverage([10, 5]), [160_000, 5_760_000])
    with pytest.raises(ValueError, match="highest max leverage 10x"):
        drift.max_size_at_leverage(11)
    assert float(drift.usd_notional(3, 100)) == 300 and float(drift.size_at_usd(300, 100)) == 3
    assert float(drift.contracts_at(3, 100)) == 3 and float(drift.unit_value(100)) == 100
    assert drift.with_form("step") is drift and float(drift.maintenance_amount(5)) == 0
    assert list(drift.caps) == [np.inf] and list(drift.floors) == [0] and float(drift.max_leverage[0]) == 10
    stepped = ContractSchedule(SteppedInitialSchedule(0.05, 0.03, 9, 1.5, 0.01))
    assert stepped.max_size_at_leverage(1 / 0.065) == pytest.approx(10.5)  # one step (6 %) up to 9 + 1.5, then 7 %
    deribit = ContractSchedule(LinearSchedule.deribit_btc())
    assert deribit.max_size_at_leverage(20) == pytest.approx((0.05 - 0.02) / 0.00005)
    assert "Drift program test market" in repr(drift) and "as of" in repr(drift)


@given(st.floats(0.011, 0.5), st.floats(0.05, 0.9), st.floats(0, 0.001), st.sampled_from(["long", "short"]),
       st.floats(1, 1e5), st.floats(1, 1e6), st.sampled_from([0.0, 0.0005]))
def test_health_is_zero_at_a_schedule_liquidation_price(base_i, frac, imf, side, entry, qty, fee):
    # Opened at its max leverage (IM = initial rate): health(LP) = 0 and LP lies between entry and bankruptcy.
    s = ContractSchedule(SqrtSchedule(base_i, base_i * frac, imf), USDC)
    lev = float(s.max_leverage_at(qty))
    p = tm.IsolatedPosition(s, side, qty, entry, qty * entry / lev, lev, fee)
    lp, bp = p.liquidation_price(), p.bankruptcy_price()
    if lp.exists:
        assert float(p.health(lp.price)) == pytest.approx(0, abs=1e-7 * qty * entry)
        lo, hi = sorted((entry, bp.price))
        assert lo <= lp.price <= hi


def test_oimf_bad_input():
    for call, match in [(lambda: OpenInterestIMF(1.5, 0.1), "base_initial"),
                        (lambda: OpenInterestIMF(0.1, 0.2), "below base_initial"),
                        (lambda: OpenInterestIMF(0.1, 0.05, 3, 2), "must not exceed"),
                        (lambda: OpenInterestIMF(0.1, 0.05, open_notional=-1), "open_notional"),
                        (lambda: OpenInterestIMF(0.1, 0.05).initial_at(float("nan")), "open_notional")]:
        with pytest.raises(ValueError, match=match):
            call()
    assert OpenInterestIMF(1.0, 0.2).initial_rate([1, 2]).tolist() == [1.0, 1.0]  # dYdX's Safety tier: 100 %


def test_bundled_rules_carry_source_date_and_caveats():
    assert set(margin_ids()) == {"dydx-v4-btc-usd", "dydx-v4-mid-cap", "drift-program-test-market",
                                 "htx-btc-usdt-isolated-2020-09"}
    for i in margin_ids():
        info = margin_info(i)
        assert info["source"] and info["as_of"] and info["caveats"], i
        m = load_margin(i)
        assert (m.id, m.source, m.as_of) == (i, info["source"], info["as_of"])
    with pytest.raises(ValueError, match="rule_id must be one of"):
        margin_info("ftx")


# ---------------------------------------------------------------- rulebooks and compare()
def test_presets_charge_positions_through_their_margin_rule():
    for vid in ("dydx-v4", "drift", "htx"):
        book = preset(vid)
        assert book.has_margin and not book.has_table and book.margin_id in margin_ids() and book.sources
        with pytest.raises(ValueError, match="no bundled tier table: it is charged by the margin rule"):
            book.table
        assert book.table_label == book.margin_id
    assert isinstance(preset("drift").margin(3), ContractSchedule)
    assert preset("htx").margin(20).rows() == HTX.table(20).rows()
    assert preset("okx").margin(10).id == "okx-btc-usd-swap-2019" and preset("okx").margin_rule is None
    mine = tm.TierTable.single(0.01, 20, contract=USDC, id="mine")
    attached = preset("drift").with_table(mine)
    assert attached.margin(10) is mine and attached.margin_rule is None
    with pytest.raises(ValueError, match="table_id or margin_id, not both"):
        Rulebook("x", "X", "okx-btc-usd-swap-2019", margin_id="drift-program-test-market")


def test_compare_rows_for_schedule_and_rule_venues():
    c = compare("long", 1_200_000, 60_000, 10, ["dydx-v4", "drift", "htx"])
    rows = {r["venue"]: r for r in c.rows}
    d = tm.IsolatedPosition.open(load_margin("dydx-v4-btc-usd"), "long", 20, 60_000, 10)
    assert rows["dYdX v4"]["liquidation"] == pytest.approx(d.liquidation_price().price)
    assert (rows["dYdX v4"]["tier"], rows["dYdX v4"]["mmr"], rows["dYdX v4"]["max_leverage"]) == (None, 0.03, 20)
    assert rows["dYdX v4"]["note"] == "continuous schedule: the rates at this size"
    assert rows["Drift"]["mm"] == pytest.approx(20 * 60_000 * 0.05)
    h = tm.IsolatedPosition.open(HTX.table(10), "long", 2_000, 60_000, 10)  # 20 BTC = 2,000 conts of 0.01
    assert rows["HTX"]["liquidation"] == pytest.approx(h.liquidation_price().price) and rows["HTX"]["tier"] == 2
    assert rows["HTX"]["note"] == "MMR = adjustment factor 0.125 / 10x" and "HTX" in repr(c)
    refused = compare("long", 1_200_000, 60_000, 7, ["htx"]).rows[0]
    assert refused["note"].startswith("refused: leverage must be one of") and refused["mmr"] is None


def test_schedule_rate_plus_fee_at_100_percent_has_no_liquidation_on_the_adverse_side():
    # Found by CI's property run: a √size rate of 99.95 % plus a 0.05 % fee charges at least the
    # whole value, so a long's health *falls* as the price rises (it crosses 0 near 641,659x entry)
    # and rises as the price falls: nothing liquidates it on the way down. The liquidation price is
    # the adverse-side one, so none exists; the favourable-side crossing is not reported as one.
    s = ContractSchedule(SqrtSchedule(0.5, 0.375, 0.000891327480600759), USDC)
    qty = 615_887.0
    lev = float(s.max_leverage_at(qty))
    p = tm.IsolatedPosition(s, "long", qty, 1.0, qty / lev, lev, 0.0005)
    assert float(s.rate(qty)) + 0.0005 > 1
    lp = p.liquidation_price()
    assert not lp.exists and lp.price == 0
    assert np.all(p.health(np.geomspace(1e-6, 1, 50)) > 0) and p.is_liquidated(1e6)
    healthy = tm.IsolatedPosition(s, "long", 1_000.0, 1.0, 1_000 / float(s.max_leverage_at(1_000.0)),
                                  float(s.max_leverage_at(1_000.0)), 0.0005)
    assert healthy.liquidation_price().exists and healthy.liquidation_price().price < 1
