"""Isolated margin: published examples, the self-consistent tier solve, ratios, margin changes, bad input."""

import numpy as np
import pytest

import tiermargin as tm
from tiermargin import IsolatedPosition, TierTable, load_table

CENT = 0.005
BTC = load_table("binance-usdm-btcusdt-2021")


def binance_lp(table, k, side, qty, entry, wallet):
    """Binance FAQ one-way formula with the tier k fixed: LP = (WB + cum − s·Q·EP)/(Q·MMR − s·Q)."""
    return (wallet + table.cum[k] - side * qty * entry) / (qty * table.mmr[k] - side * qty)


# ---------------------------------------------------------------- published examples
def test_bybit_long_1_btc_at_20000_50x():
    # Bybit help "Liquidation Price (USDT Contract)": long 1 BTC at 20,000, 50x, MMR 0.5%
    # → IM 400, MM 100, LP = 20,000 − (400 − 100)/1 = 19,700 (MM valued at entry).
    t = TierTable.single(0.005, max_leverage=100, symbol="BTCUSDT")
    p = IsolatedPosition.open(t, "long", 1, 20_000, 50, requirement_at="entry")
    assert float(p.margin) == pytest.approx(400, abs=CENT)
    assert p.maintenance_margin(15_000) == pytest.approx(100, abs=CENT)  # fixed at entry
    lp = p.liquidation_price()
    assert lp.exists and lp.price == pytest.approx(19_700, abs=CENT)
    # Extra margin moves it by extra/Q ("LP = EP − (IM − MM)/Q − extra margin/Q").
    assert p.add_margin(50).liquidation_price().price == pytest.approx(19_650, abs=CENT)


def test_same_position_under_binance_rule_differs_from_bybit():
    # With the MM valued at the liquidation price (Binance), the 50x long liquidates at
    # (400 − 20,000)/(0.005 − 1) = 19,698.49, not 19,700: the rule is a parameter, not hidden.
    t = TierTable.single(0.005, max_leverage=100)
    p = IsolatedPosition.open(t, "long", 1, 20_000, 50, requirement_at="mark")
    assert p.liquidation_price().price == pytest.approx((400 - 20_000) / (0.005 - 1), abs=CENT)
    assert p.liquidation_price().price == pytest.approx(19_698.49, abs=CENT)


def test_binance_tier_taken_at_liquidation_price_not_at_entry():
    # Binance FAQ: if the level at the liquidation price differs from the level at opening,
    # substitute the level at the liquidation price and recalculate.
    # Long 17 BTC at 60,000 = 1,020,000 USDT (tier 4 at entry), 20x → wallet 51,000.
    p = IsolatedPosition.open(BTC, "long", 17, 60_000, 20)
    assert p.tier(60_000) == 4 and float(p.margin) == pytest.approx(51_000)
    naive = binance_lp(BTC, 3, 1, 17, 60_000, 51_000)    # tier 4 (index 3), as at entry
    right = binance_lp(BTC, 2, 1, 17, 60_000, 51_000)    # tier 3 (index 2)
    assert 17 * naive < 1_000_000                        # the naive answer lands in tier 3: inconsistent
    lp = p.liquidation_price()
    assert lp.tier == 3 and lp.price == pytest.approx(right, abs=CENT)
    assert lp.price == pytest.approx(57_498.51, abs=CENT)
    assert p.health(lp.price) == pytest.approx(0, abs=1e-6)


def test_binance_formula_for_a_short():
    p = IsolatedPosition.open(BTC, "short", 2, 60_000, 25)
    lp = p.liquidation_price()
    k = lp.tier - 1
    assert lp.price == pytest.approx(binance_lp(BTC, k, -1, 2, 60_000, float(p.margin)), abs=CENT)
    assert BTC.tier_index(2 * lp.price) == k


def test_bankruptcy_prices_match_closed_forms():
    # docs/formulas.md#bankruptcy-price: linear EP·(1 ∓ 1/L); inverse long EP·L/(L+1), short EP·L/(L−1).
    lin = TierTable.single(0.005, 100)
    inv = TierTable.single(0.005, 100, contract=tm.Contract("inverse", 100, "BTC"))
    for L in (2, 10, 50):
        assert IsolatedPosition.open(lin, "long", 3, 40_000, L).bankruptcy_price().price == pytest.approx(40_000 * (1 - 1 / L))
        assert IsolatedPosition.open(lin, "short", 3, 40_000, L).bankruptcy_price().price == pytest.approx(40_000 * (1 + 1 / L))
        assert IsolatedPosition.open(inv, "long", 500, 40_000, L).bankruptcy_price().price == pytest.approx(40_000 * L / (L + 1))
        assert IsolatedPosition.open(inv, "short", 500, 40_000, L).bankruptcy_price().price == pytest.approx(40_000 * L / (L - 1))


def test_bankruptcy_with_close_fee_is_closer():
    p = IsolatedPosition.open(BTC, "long", 1, 50_000, 10)
    assert p.bankruptcy_price(0.0005).price > p.bankruptcy_price().price
    bp = p.bankruptcy_price(0.0005).price
    assert p.equity(bp) == pytest.approx(0.0005 * p.value(bp), abs=1e-6)


def test_legacy_threshold_is_mmr_plus_fee():
    # Source articles: "10x BTC/USDT enters liquidation if the margin ratio falls below 1.55%
    # (1.50% + 0.05% fee)" — a step table charges MMR on the whole position.
    t = TierTable.single(0.015, max_leverage=10, form="step")
    p = IsolatedPosition.open(t, "long", 1, 10_000, 10, fee_rate=0.0005)
    assert p.margin_ratios(9_500).legacy_threshold == pytest.approx(0.0155)
    assert p.margin_ratios(10_000).legacy == pytest.approx(0.10)  # margin/value at 10x


def test_inverse_okx_contracts_basis_position():
    okx = load_table("okx-btc-usd-swap-2019")  # 100 USD contracts, step, by contracts
    p = IsolatedPosition.open(okx, "long", 12_000, 50_000, 20)  # tier 3 (10,000–15,000): 1.5%
    assert p.tier(40_000) == 3
    value = 12_000 * 100 / 45_000
    assert p.maintenance_margin(45_000) == pytest.approx(value * 0.015)
    lp = p.liquidation_price()
    assert p.health(lp.price) == pytest.approx(0, abs=1e-12)
    # closed form in u = 1/P: M + Q·FV(1/EP − u) − Q·FV·u·MMR = 0
    u = (float(p.margin) + 12_000 * 100 / 50_000) / (12_000 * 100 * (1 + 0.015))
    assert lp.price == pytest.approx(1 / u, abs=CENT)


def test_cannot_be_liquidated_is_explicit():
    p = IsolatedPosition.open(BTC, "long", 1, 30_000, 1)
    lp = p.liquidation_price()
    assert not lp.exists and lp.price == 0.0 and lp.tier == 0
    assert "no liquidation price" in str(lp) and "no liquidation price" in repr(p)
    inv = TierTable.single(0.005, 100, contract=tm.Contract("inverse", 1, "BTC"))
    short = IsolatedPosition.open(inv, "short", 1000, 30_000, 1)
    assert not short.liquidation_price().exists and short.liquidation_price().price == np.inf


def test_vectorized_over_positions_and_prices():
    sides = np.array([1, -1, 1])
    p = IsolatedPosition.open(BTC, sides, np.array([1, 1, 20]), 60_000, np.array([20, 20, 10]))
    lp = p.liquidation_price()
    singles = [IsolatedPosition.open(BTC, int(s), q, 60_000, L).liquidation_price().price
               for s, q, L in zip(sides, [1, 1, 20], [20, 20, 10])]
    np.testing.assert_allclose(lp.price, singles)
    one = IsolatedPosition.open(BTC, "long", 1, 60_000, 20)
    assert one.health(np.linspace(50_000, 70_000, 11)).shape == (11,)


def test_margin_ratio_conventions_agree_with_health():
    p = IsolatedPosition.open(BTC, "long", 5, 60_000, 50)
    prices = np.linspace(55_000, 62_000, 301)
    r, h = p.margin_ratios(prices), p.health(prices)
    liq = h <= 0
    assert liq.any() and (~liq).any()
    np.testing.assert_array_equal(r.legacy <= r.legacy_threshold, liq)
    np.testing.assert_array_equal(r.coinw <= 1, liq)
    np.testing.assert_array_equal(r.binance >= 1, liq)
    np.testing.assert_array_equal(p.is_liquidated(prices), liq)


def test_binance_ratio_is_infinite_when_margin_balance_is_gone():
    p = IsolatedPosition.open(BTC, "long", 1, 60_000, 20)
    assert p.margin_ratios(50_000).binance == np.inf


# ---------------------------------------------------------------- opening and margin changes
def test_open_refuses_leverage_above_the_tier_max():
    # 300,000 USDT lands in tier 3 (max 50x): 51x is refused, 50x accepted.
    with pytest.raises(ValueError, match=r"leverage 51x exceeds the max leverage 50x of tier 3"):
        IsolatedPosition.open(BTC, "long", 5, 60_000, 51)
    assert IsolatedPosition.open(BTC, "long", 5, 60_000, 50).tier(60_000) == 3


def test_open_refuses_beyond_last_cap_and_unhealthy_start():
    with pytest.raises(ValueError, match="beyond the table's last cap"):
        IsolatedPosition.open(BTC, "long", 10_000, 60_000, 1)
    no_lev = load_table("bybit-xyzusdt-illustration")
    with pytest.raises(ValueError, match="does not cover the maintenance requirement"):
        IsolatedPosition.open(no_lev, "long", 10, 100, 60)
    assert IsolatedPosition.open(no_lev, "long", 10, 100, 20).health(100) > 0


def test_add_and_remove_margin():
    p = IsolatedPosition.open(BTC, "long", 1, 60_000, 20, extra_margin=1_000)
    assert p.max_removable(60_000) == pytest.approx(1_000)
    assert p.max_removable(59_500) == pytest.approx(4_000 - 500 - 59_500 / 20)  # the loss eats it
    assert p.max_removable(61_000) == pytest.approx(1_000 - 50)  # profit not withdrawable; IM rises
    q = p.remove_margin(1_000, 60_000)
    assert float(q.margin) == pytest.approx(3_000)
    with pytest.raises(ValueError, match="below its initial requirement"):
        p.remove_margin(1_000.01, 60_000)
    assert p.add_margin(500).liquidation_price().price < p.liquidation_price().price


def test_summary_and_repr():
    p = IsolatedPosition.open(BTC, "short", 2, 60_000, 10)
    s = p.summary(61_000)
    assert s["health"] == pytest.approx(s["equity"] - s["requirement"])
    assert s["liquidated"] is False and s["tier"] == 2  # 122,000 USDT: 50,000–250,000
    assert "short 2 × BTCUSDT" in repr(p) and "<code>" in p._repr_html_()
    many = IsolatedPosition.open(BTC, "long", np.ones(4), 60_000, 10)
    assert "4 positions" in repr(many) and "4 positions" in str(many.liquidation_price())


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"leverage": 0}, "leverage"),
        ({"leverage": -2}, "leverage"),
        ({"leverage": float("nan")}, "leverage"),
        ({"qty": 0}, "qty"),
        ({"qty": -1}, "qty"),
        ({"entry": 0}, "entry"),
        ({"entry": float("inf")}, "entry"),
        ({"side": "up"}, "side"),
        ({"extra_margin": -1}, "extra_margin"),
        ({"fee_rate": 1.0}, "fee_rate"),
        ({"fee_rate": -0.01}, "fee_rate"),
        ({"requirement_at": "liquidation"}, "requirement_at"),
        ({"qty": [1, 2], "leverage": [1, 2, 3]}, "broadcast"),
    ],
)
def test_open_bad_input(kwargs, match):
    args = {"side": "long", "qty": 1, "entry": 60_000, "leverage": 10, **kwargs}
    with pytest.raises(ValueError, match=match):
        IsolatedPosition.open(BTC, **args)


def test_methods_bad_input():
    p = IsolatedPosition.open(BTC, "long", 1, 60_000, 10)
    for call, match in [
        (lambda: p.health(0), "price"), (lambda: p.equity(-1), "price"),
        (lambda: p.margin_ratios(float("nan")), "price"), (lambda: p.requirement(float("inf")), "price"),
        (lambda: p.tier(0), "price"), (lambda: p.add_margin(0), "amount"),
        (lambda: p.remove_margin(-5, 60_000), "amount"), (lambda: p.max_removable(0), "price"),
        (lambda: p.bankruptcy_price(2.0), "fee_rate"),
        (lambda: tm.liquidation_price(BTC, "long", 1, 60_000, 0), "margin"),
        (lambda: tm.bankruptcy_price(BTC, "long", 1, 60_000, 100, fee_rate=-1), "fee_rate"),
        (lambda: tm.requirement(BTC, -1, 60_000), "qty"),
        (lambda: IsolatedPosition(BTC, "long", 1, 60_000, 0, 10), "margin"),
    ]:
        with pytest.raises(ValueError, match=match):
            call()
    with pytest.raises(TypeError, match="table"):
        tm.liquidation_price("BTCUSDT", "long", 1, 60_000, 100)
    with pytest.raises(TypeError, match="table"):
        IsolatedPosition(None, "long", 1, 60_000, 100, 10)


def test_step_table_with_two_consistent_roots_takes_the_first_adverse_one():
    # Step form: MM jumps at the 100k boundary. Long 1 @ 120,000 with margin 23,000:
    # tier 2 (5%) root (120,000 − 23,000)/0.95 = 102,105.26 (value ≥ 100k: consistent) and
    # tier 1 (1%) root 97,000/0.99 = 97,979.80 (value < 100k: consistent too). Falling from the
    # mark the position is liquidated first at 102,105.26; below 100k it would be healthy again.
    t = TierTable.from_rows([[0, 100_000, 0.01, 50], [100_000, None, 0.05, 10]], form="step")
    p = IsolatedPosition(t, "long", 1, 120_000, 23_000, 10)
    lp = p.liquidation_price()
    assert lp.tier == 2 and lp.price == pytest.approx(97_000 / 0.95, abs=CENT)
    assert p.health(99_999) > 0 and p.health(97_000 / 0.99 - 1) < 0


def test_step_table_short_is_liquidated_at_the_boundary_where_health_jumps():
    # Short 1 @ 80,000, margin 23,000, same step table. Tier 1 root 103,000/1.01 = 101,980.20 lies
    # in tier 2 and tier 2 root 103,000/1.05 = 98,095.24 in tier 1: neither is consistent. Health
    # is 23,000 − 19,999 − 999.99 > 0 at 99,999 and 23,000 − 20,000 − 5,000 < 0 at 100,000:
    # rising into tier 2 liquidates at the boundary itself.
    t = TierTable.from_rows([[0, 100_000, 0.01, 50], [100_000, None, 0.05, 10]], form="step")
    p = IsolatedPosition(t, "short", 1, 80_000, 23_000, 10)
    assert p.health(99_999) > 0 and p.health(100_000) < 0
    lp = p.liquidation_price()
    assert lp.exists and lp.tier == 2 and lp.price == pytest.approx(100_000, abs=CENT)


def test_short_growing_past_the_last_cap_is_charged_at_the_last_tier():
    # 4,000 BTC short at 100,000 = 400M USDT (tier 10, cap 500M), 1x: the liquidation price
    # lies where the value exceeds 500M; the last tier's rate applies there (tiermargin.tiers).
    from tiermargin import isolated

    p = IsolatedPosition.open(BTC, "short", 4_000, 100_000, 1)
    lp = p.liquidation_price()
    assert lp.exists and 4_000 * lp.price > BTC.max_size and lp.tier == 10
    assert p.health(lp.price) == pytest.approx(0, abs=1e-6)
    a, w, qfv = np.array([800e6]), np.array([-1.0]), np.array([4_000.0])  # M − w·Q·EP
    slow = isolated._candidate_roots(BTC, a, w, qfv, 0.0, qfv * 100_000)
    assert slow[2][0] and slow[0][0] == pytest.approx(lp.price)


def test_calculator_that_fixes_the_tier_at_entry():
    # The Binance FAQ example above: a calculator keeping tier 4 (the tier at entry) answers
    # with the tier-4 closed form; the right answer re-checks the tier at the liquidation price.
    p = IsolatedPosition.open(BTC, "long", 17, 60_000, 20)
    naive = p.liquidation_price_in_tier(p.tier(60_000))
    assert naive.tier == 4 and naive.price == pytest.approx(binance_lp(BTC, 3, 1, 17, 60_000, 51_000))
    assert naive.price != pytest.approx(p.liquidation_price().price, abs=1)
    with pytest.raises(ValueError, match="tier must be an integer from 1 to 10"):
        p.liquidation_price_in_tier(11)
    with pytest.raises(ValueError, match="tier"):
        p.liquidation_price_in_tier(1.5)


def test_tier_boundary_prices():
    p = IsolatedPosition.open(BTC, "long", 10, 60_000, 10)
    b = p.tier_boundary_prices()
    np.testing.assert_allclose(b, BTC.caps[:-1] / 10)
    inv = IsolatedPosition.open(load_table("bitmex-xbtusd-risk-limits"), "long", 10_000_000, 50_000, 10)
    np.testing.assert_allclose(np.sort(10_000_000 / inv.table.caps[:-1]), inv.tier_boundary_prices())
    assert IsolatedPosition.open(load_table("okx-btc-usd-swap-2019"), "long", 10, 50_000, 10).tier_boundary_prices().size == 0
    with pytest.raises(ValueError, match="single position"):
        IsolatedPosition.open(BTC, "long", [1, 2], 60_000, 10).tier_boundary_prices()


def test_requirement_at_entry_broadcasts_over_prices():
    p = IsolatedPosition.open(BTC, "long", 1, 60_000, 20, requirement_at="entry")
    prices = np.array([50_000.0, 60_000.0, 70_000.0])
    np.testing.assert_allclose(p.requirement(prices), [p.requirement(60_000)] * 3)
    assert p.health(prices).shape == (3,) and p.margin_ratios(prices).coinw.shape == (3,)


def test_first_liquidation_on_a_path():
    p = IsolatedPosition.open(BTC, "long", 1, 60_000, 10)
    lp = p.liquidation_price().price
    path = np.array([60_000, 58_000, lp + 1, lp - 1, 59_000])
    assert p.first_liquidation(path) == 3
    assert p.first_liquidation([60_000, 61_000]) is None
    with pytest.raises(ValueError, match="prices"):
        p.first_liquidation([60_000, -1])


def test_margin_ratios_with_nothing_at_risk_have_no_nan():
    from tiermargin import MarginRatios

    r = MarginRatios.of(1_000.0, 0.0, 0.0)
    assert (r.legacy, r.legacy_threshold, r.coinw) == (np.inf, 0.0, np.inf) and r.binance == 0.0
    r = MarginRatios.of(np.array([-5.0, 0.0, 10.0]), np.array([2.0, 2.0, 2.0]), np.array([100.0] * 3))
    np.testing.assert_array_equal(r.binance, [np.inf, np.inf, 0.2])


def test_indexing_an_array_of_positions_gives_those_positions():
    t = TierTable.single(0.005, max_leverage=100)
    p = IsolatedPosition.open(t, ["long", "short", "long"], [1.0, 2.0, 3.0], 100.0, [10, 20, 5])
    sub = p[np.array([False, True, True])]
    assert sub.side.tolist() == [-1.0, 1.0] and sub.qty.tolist() == [2.0, 3.0]
    assert sub.health(90.0).tolist() == [p[1].health(90.0), p[2].health(90.0)]
    assert float(p[0].margin) == 10.0 and np.ndim(p[0].qty) == 0
    with pytest.raises(TypeError, match="single position"):
        p[0][0]


def test_step_table_long_liquidates_below_entry_not_in_the_window_above_it():
    # Issue 19 #1: a 20x long of 1 at 100 on [0, 105) 0.4 % / [105, ∞) 30 % (step). Its size grows
    # into tier 2 (3x) above 105, so it is unhealthy in [105, 135.71) — a window on the favourable
    # side — but its liquidation price is where a falling price takes health to 0:
    # 5 + (P − 100) − 0.004·P = 0 → P = 95 / 0.996 = 95.3815…, as a cross account holding it says.
    t = TierTable.from_rows([[0, 105, 0.004, 125], [105, None, 0.3, 3]], form="step")
    p = IsolatedPosition.open(t, "long", 1, 100, 20)
    lp = p.liquidation_price()
    assert lp.exists and lp.tier == 1 and lp.price == pytest.approx(95 / 0.996)
    assert p.is_liquidated(110) and not p.is_liquidated(100) and not p.is_liquidated(96)
    short = IsolatedPosition(t, "short", 1, 100, 5, 20)  # its size shrinks as the price rises: no window
    assert short.liquidation_price().price == pytest.approx(105 / 1.004)


def test_entry_on_a_step_boundary_that_health_jumps_across_is_the_liquidation_price():
    # Found by the adverse-side property: an inverse long of 1 USD at 1, coin notional exactly at
    # tier 1's cap (brackets include their cap), 6x. The least fall takes it into tier 2 (18.75 %),
    # where 0.1667 + (1 − 1/P) − 0.1875/P < 0: it is liquidated at entry itself.
    t = TierTable.from_rows([[0, 1, 0.125, 7], [1, None, 0.1875, 4]], form="step", closed="right",
                            contract=tm.Contract("inverse", 1.0, "BTC"))
    p = IsolatedPosition.open(t, "long", 1, 1, 6)
    assert not p.is_liquidated(1.0) and p.is_liquidated(1 - 1e-9)
    assert p.liquidation_price().price == 1.0 and p.liquidation_price().tier == 2
