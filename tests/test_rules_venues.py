"""The issue-14 venues: Binance COIN-M (now with a bundled BTCUSD_PERP ladder), KuCoin, Gate and Bitget.

Each bundled table is checked row by row against the page it was copied from, and each venue's rules
against a worked example from its own help pages (quoted, with the page). CoinW still has no dated
table (see the report of issue 14 for where it was looked for) and keeps saying so.
"""

import numpy as np
import pytest

import tiermargin as tm
from tiermargin.isolated import requirement
from tiermargin.liquidation import Execution, liquidate
from tiermargin.rules import PRESETS, compare, preset

NEW = {"binance-coinm": "binance-coinm-btcusd-perp", "kucoin": "kucoin-xbtusdtm",
       "gate": "gate-btcusdt-2025-09", "bitget": "bitget-btcusdt-2025-06"}
CENT = 1e-9


@pytest.mark.parametrize("rulebook_id, table_id", sorted(NEW.items()))
def test_the_presets_carry_their_dated_sourced_tables(rulebook_id, table_id):
    book = preset(rulebook_id)
    assert book.table_id == table_id and book.has_table and book.sources
    t = book.table
    assert t.source and t.as_of and t.venue and t.symbol
    assert t.closed == "right"  # every one of these venues writes its bounds "up to" the cap
    assert tm.table_info(table_id)["caveat"]  # what to check before presenting it as today's table


def test_coinw_still_has_no_dated_table():
    assert preset("coinw").table_id is None
    assert compare("long", 1_200_000, 60_000, 10, ["coinw"]).rows[0]["note"] == "no bundled tier table"


# ------------------------------------------------------------------------------ Binance COIN-M
COINM = tm.load_table("binance-coinm-btcusd-perp")


def test_coinm_rows_as_published():
    # Binance FAQ "Leverage and Margin in Coin-Margined Futures Contracts", BTCUSD Perpetual:
    # "125x | 0.80% | Max Position 5", "100x | 1.00% | Max Position 10", ..., "4x | 25.00% | Max Position 400".
    assert COINM.contract == tm.Contract("inverse", 100, "BTC") and COINM.unit == "BTC"
    np.testing.assert_array_equal(COINM.caps[:7], [5, 10, 20, 50, 100, 200, 400])
    np.testing.assert_array_equal(COINM.max_leverage[:8], [125, 100, 50, 20, 10, 5, 4, 3])
    # ccxt's fixture (options.leverageBrackets['BTC/USD:BTC']): floors 0, 5, 10, 20, ... with 0.4 %, 0.5 %, 1 %, 2.5 %, ...
    np.testing.assert_array_equal(COINM.floors, [0, 5, 10, 20, 50, 100, 200, 400, 1000, 1500])
    np.testing.assert_allclose(COINM.mmr, [0.004, 0.005, 0.01, 0.025, 0.05, 0.1, 0.125, 0.15, 0.25, 0.5])
    assert COINM.rows()[0] == [0.0, 5.0, 0.004, 125.0] and COINM.rows()[-1] == [1500.0, None, 0.5, 1.0]
    assert COINM.tier_index(5) == 0 and COINM.tier_index(5.0001) == 1  # "Max Position 5": 5 BTC is tier 1


def test_coinm_faq_worked_examples():
    # Binance FAQ "How to Calculate Liquidation Price of Coin-M Futures Contracts"
    # (https://www.binance.com/es-MX/support/faq/how-to-calculate-liquidation-price-of-coin-m-futures-contracts-
    # ceccfcfb4e3a45e3b48b0b1bb1a8ae46): "if the BTCUSD contract position is 300 BTC, the Maintenance Margin Rate
    # would be 12.5%" and "the Maintenance Amount would be 11.605 BTC".
    assert COINM.rate(300) == 0.125
    assert COINM.maintenance_amount(300) == pytest.approx(11.605, abs=CENT)
    # Same page: "you have 100 BTCUSD Perpetual contracts, and the latest Mark Price is 25,000 ... notional value
    # is 100 * 100 / 25,000 = 0.4 BTC, which is in margin level 1 ... Maintenance Margin = 100 * 100 / 25,000 *
    # 0.4% - 0 = 0.0016 BTC".
    assert COINM.size_of(100, 25_000) == pytest.approx(0.4) and COINM.tier_index(0.4) == 0
    assert requirement(COINM, 100, 25_000) == pytest.approx(0.0016, abs=CENT)


def test_coinm_liquidation_price_takes_the_level_at_the_liquidation_price():
    # The same FAQ: "If your position (calculated at the liquidation price) and the current position (calculated
    # at the opening price) are of different levels, then you must substitute ... the maintenance margin rate and
    # the maintenance margin amount of the position level, to recalculate the liquidation price."
    # Isolated long (TMM = UPNL = 0), N in USD, WB in BTC: LP = N·(1 + MMR) / (WB + cum + N/EP).
    row = compare("long", 2_400_000, 60_000, 10, ["binance-coinm"]).rows[0]
    n, wb = 2_400_000, 40 / 10  # 24,000 contracts = 40 BTC at 60,000, 4 BTC of margin at 10x
    mmr, cum = 0.025, 0.355  # level 4 (20-50 BTC), where the position still is at its liquidation price
    assert row["liquidation"] == pytest.approx(n * (1 + mmr) / (wb + cum + n / 60_000))
    assert COINM.tier_index(n / row["liquidation"]) == 3
    assert (row["contracts"], row["tier"], row["max_leverage"], row["currency"]) == (24_000, 4, 20, "BTC")
    assert row["mm"] == pytest.approx(40 * 0.025 - 0.355) and row["bankruptcy"] == pytest.approx(n / (wb + n / 60_000))


# ------------------------------------------------------------------------------ KuCoin
KUCOIN = tm.load_table("kucoin-xbtusdtm")


def test_kucoin_rows_as_published():
    # GET /api/v1/contracts/risk-limit/XBTUSDTM response example: {"level": 1, "maxRiskLimit": 100000,
    # "minRiskLimit": 0, "maxLeverage": 125, "initialMargin": 0.008, "maintainMargin": 0.004}, ..., {"level": 5,
    # "maxRiskLimit": 3000000, "minRiskLimit": 2000000, "maxLeverage": 30, "initialMargin": 0.034,
    # "maintainMargin": 0.017}, ..., {"level": 12, "maxRiskLimit": 50000000, ..., "maxLeverage": 1, "maintainMargin": 0.5}.
    assert KUCOIN.form == "step" and KUCOIN.contract == tm.Contract("linear", 0.001, "USDT") and KUCOIN.n_tiers == 12
    assert KUCOIN.rows()[0] == [0.0, 100_000.0, 0.004, 125.0]
    assert KUCOIN.rows()[4] == [2_000_000.0, 3_000_000.0, 0.017, 30.0]
    assert KUCOIN.rows()[-1] == [40_000_000.0, 50_000_000.0, 0.5, 1.0]
    # The published initial margin rates are twice the maintenance rates (0.014 at level 3, 0.034 at level 5), a
    # little above 1/max leverage there (1/75, 1/30): the library opens at margin = value/leverage.
    imr = tm.table_info("kucoin-xbtusdtm")["initial_margin_rates"]
    np.testing.assert_allclose(imr, 2 * KUCOIN.mmr)
    assert np.all(1 / KUCOIN.max_leverage <= np.asarray(imr) + 1e-12)


def test_kucoin_liquidation_price_example_28168():
    # KuCoin help "How to Calculate the Liquidation Price for KuCoin Contracts" (https://www.kucoin.com/support/
    # 4408061803033): "a short position of 5 BTC/USD contracts with a leverage of 100x, where each contract has a
    # multiplier of 0.001 BTC and a value of 28,000, the maintenance margin rate is 0.4% ... IM: 5 * 28,000 * 0.001 /
    # 100 = 1.4, MM: 5 * 28,000 * 0.001 * 0.004 = 0.56 ... LP = (28,000 * 5 * 0.001 + 1.4 - 0.56) / (5 * 0.001) =
    # 28,168". The MM is valued at the holding price: requirement_at="entry".
    book = preset("kucoin")
    pos = tm.IsolatedPosition.open(KUCOIN, "short", 5, 28_000, 100, fee_rate=book.fee_rate,
                                   requirement_at=book.requirement_at)
    assert float(pos.margin) == pytest.approx(1.4) and float(pos.maintenance_margin(28_000)) == pytest.approx(0.56)
    assert pos.liquidation_price().price == pytest.approx(28_168)
    row = compare("short", 5 * 0.001 * 28_000, 28_000, 100, ["kucoin"]).rows[0]
    assert (row["contracts"], row["tier"], row["liquidation"]) == (pytest.approx(5), 1, pytest.approx(28_168))
    # KuCoin help "How to Calculate Contract Bankruptcy Price": "user A opens a short position with a leverage of
    # 100. The expected bankruptcy price of this position = 28,000 × (1 + 1%) = 28,280 USDT".
    assert row["bankruptcy"] == pytest.approx(28_280)
    # The rule is a choice: KuCoin's newer page values MM (and a liquidation fee) at the liquidation price, which
    # moves the answer by 0.67 USDT here (with no fee): 140 × 1.01 / (0.005 × 1.004).
    at_mark = tm.IsolatedPosition.open(KUCOIN, "short", 5, 28_000, 100).liquidation_price().price
    assert at_mark == pytest.approx(140 * 1.01 / (0.005 * 1.004)) and 28_168 - at_mark == pytest.approx(0.67, abs=0.01)


def test_kucoin_reduces_to_the_lower_levels_limit():
    # KuCoin blog "What Is Risk Limit Level on KuCoin Futures?" (2022-12-01): "If the user holds a position with
    # the value of 2,500,000 USDT and the risk limit level is 4, when liquidation occurs, the system will reduce
    # the position to lower the risk limit to level 3. Reduced Value = Position Value - Limit Amount of the Original
    # Level, namely 2,500,000 USDT - 2,000,000 USDT = 500,000 USDT." In the bundled (later) ladder 2,500,000 USDT is
    # level 5 and the lower level's limit is again 2,000,000: one FOK order closes 500,000 USDT of value.
    book = preset("kucoin")
    pos = tm.IsolatedPosition.open(KUCOIN, "long", 50_000, 50_000, 20, requirement_at=book.requirement_at)
    assert pos.tier(50_000) == 5
    times = np.arange(61.0)
    log = liquidate(pos, times, np.linspace(50_000, 47_000, 61), book, execution=Execution("bankruptcy"))
    first = log.events[0]
    assert (first.action, first.tier_before, first.tier_after) == ("reduce", 5, 4)
    assert first.contracts_closed * 0.001 * 50_000 == pytest.approx(500_000, rel=1e-6)  # valued at entry, as MM is


# ------------------------------------------------------------------------------ Gate
GATE = tm.load_table("gate-btcusdt-2025-09")


def test_gate_rows_as_published():
    # Gate help "Risk Limit Explanation" (2025-09-30, https://www.gate.com/help/futures/futures-logic/22162):
    # "BTCUSDT 1 20,000 0.40% 0.80% 125x", "BTCUSDT 2 50,000 0.45% 0.90% 111x", ...,
    # "BTCUSDT 8 5,000,000 50.00% 95.00% 1.05x".
    assert GATE.form == "continuous" and GATE.contract == tm.Contract("linear", 0.0001, "USDT")
    np.testing.assert_array_equal(GATE.caps, [20_000, 50_000, 100_000, 200_000, 1e6, 2e6, 3e6, 5e6])
    np.testing.assert_allclose(GATE.mmr, [0.004, 0.0045, 0.005, 0.007, 0.01, 0.02, 0.05, 0.5])
    np.testing.assert_allclose(GATE.max_leverage, [125, 111, 100, 75, 50, 25, 10, 1.05])


def test_gate_leverage_sets_the_largest_position():
    # Same article: "If a user holds no position, the leverage range available is 1-125x. Choosing 90x leverage
    # leads to a maximum position value of 100,000 USDT. Selecting 30x is 1,000,000 USDT, while 2x is 3,000,000 USDT."
    for leverage, published in [(90, 100_000), (30, 1_000_000), (2, 3_000_000)]:
        assert GATE.max_size_at_leverage(leverage) == published


def test_gate_maintenance_margin_is_charged_slice_by_slice():
    # Gate "Leverage and Margin": "The system first calculates it using the maintenance margin ratio (MMR) of the
    # lowest tier, applying the next tier's MMR only to the portion exceeding the previous limit." (No published
    # total: the slices below are computed from the tiers.) The deduction form gives the same number.
    value = 1_200_000
    slices = 20_000 * 0.004 + 30_000 * 0.0045 + 50_000 * 0.005 + 100_000 * 0.007 + 800_000 * 0.01 + 200_000 * 0.02
    assert GATE.maintenance_margin(value) == pytest.approx(slices) == pytest.approx(13_165)
    np.testing.assert_allclose(GATE.cum, tm.table_info("gate-btcusdt-2025-09")["expected_maintenance_amounts"])


def test_gate_liquidation_price_formula():
    # Gate help "Calculation of Liquidation Price": "Liquidation Price = (Entry Price ± Margin / Contract Multiplier
    # / Size) / [1 ± (Maintenance Margin Ratio + Taker Rate)]", "-" for long. A tier-1 long (no deduction there):
    # 1,000 contracts of 0.0001 BTC at 60,000 (6,000 USDT), 100x: margin 60 USDT.
    book = preset("gate")
    row = compare("long", 6_000, 60_000, 100, [book]).rows[0]
    assert (row["contracts"], row["tier"]) == (pytest.approx(1_000), 1)
    assert row["liquidation"] == pytest.approx((60_000 - 60 / 0.0001 / 1_000) / (1 - (0.004 + book.fee_rate)))


# ------------------------------------------------------------------------------ Bitget
BITGET = tm.load_table("bitget-btcusdt-2025-06")


def test_bitget_rows_as_published():
    # Bitget help "Bitget futures: Tiered maintenance margin explained" (2025-06-25): "1 | 0 – 150,000 | 125 |
    # 0.40%", "2 | 150,000 – 900,000 | 100 | 0.50%", "3 | 900,000 – 12,000,000 | 50 | 1.00%", ...,
    # "11 | 400,000,000 – 1,200,000,000 | 1 | 60.00%"; "Maintenance margin = position value × MMR".
    assert BITGET.form == "step" and BITGET.n_tiers == 11
    assert BITGET.rows()[:3] == [[0.0, 150_000.0, 0.004, 125.0], [150_000.0, 900_000.0, 0.005, 100.0],
                                 [900_000.0, 12_000_000.0, 0.01, 50.0]]
    assert BITGET.rows()[-1] == [400_000_000.0, 1_200_000_000.0, 0.6, 1.0]


def test_bitget_maintenance_margin_example_1848_and_1648():
    # Bitget "Bitget to update maintenance margin calculation for classic account futures"
    # (https://www.bitget.cloud/support/articles/12560603841952): "The current mark price of the BTCUSDT perpetual
    # futures is 110,000 USDT. Holding 3 BTC means the position value is 3 × 110,000 = 330,000 USDT."
    # Current method: "falls into Tier 2, with a maintenance margin rate of 0.50%. Maintenance margin = 330,000 ×
    # (0.50% + 0.06%) = 1848 USDT", "0.06% represents the transaction fee rate" — the preset's fee reserve.
    book = preset("bitget")
    assert book.fee_rate == 0.0006
    assert requirement(BITGET, 3, 110_000, book.fee_rate) == pytest.approx(1_848)
    # New tiered method (positions opened from 2025-11-10): "200,000 USDT falls under Tier 1, with a maintenance
    # margin rate of 0.40%. The remaining 130,000 USDT ... Tier 2 ... 0.50%. Maintenance margin = 200,000 × (0.40% +
    # 0.06%) + (330,000 − 200,000) × (0.50% + 0.06%) = 920 + 728 = 1648 USDT". That example's tier 1 ends at 200,000
    # (the June table's at 150,000): its two tiers, charged slice by slice, give 1,648; the bundled June rows in the
    # new form give 1,698 — the two dates' tables, not a different rule.
    example = tm.TierTable.from_rows([[0, 200_000, 0.004, 125], [200_000, 900_000, 0.005, 100]], form="step",
                                     closed="right")
    assert requirement(example, 3, 110_000, book.fee_rate) == pytest.approx(1_848)
    assert requirement(example.with_form("continuous"), 3, 110_000, book.fee_rate) == pytest.approx(1_648)
    assert requirement(BITGET.with_form("continuous"), 3, 110_000, book.fee_rate) == pytest.approx(1_698)


def test_bitget_liquidation_price_formula():
    # Bitget help "Bitget futures: Estimated liquidation price" (2025-09-18): "Estimated liquidation price =
    # [position margin − position size × average entry price × position direction] ÷ [position size × (MMR +
    # TakerFeeRatio − position direction)]". A tier-2 long and short of 3 BTC at 110,000, 20x.
    book = preset("bitget")
    for side, d in (("long", 1), ("short", -1)):
        row = compare(side, 330_000, 110_000, 20, [book]).rows[0]
        margin, q = 330_000 / 20, 3
        assert row["tier"] == 2 and row["mmr"] == 0.005
        assert row["liquidation"] == pytest.approx((margin - q * 110_000 * d) / (q * (0.005 + book.fee_rate - d)))


# ------------------------------------------------------------------------------ side by side
def test_compare_gives_numbers_for_every_new_venue():
    c = compare("long", 2_400_000, 60_000, 10, list(NEW))
    for row in c.rows:
        assert row["note"] == "" and row["liquidation"] is not None and row["bankruptcy"] is not None, row
        assert 54_000 <= row["bankruptcy"] < row["liquidation"] < 60_000, row
    rows = {r["table"]: r for r in c.rows}
    assert rows["kucoin-xbtusdtm"]["tier"] == 5 and rows["kucoin-xbtusdtm"]["mm"] == pytest.approx(2_400_000 * 0.017)
    assert rows["gate-btcusdt-2025-09"]["mm"] == pytest.approx(2_400_000 * 0.05 - 70_835)
    assert rows["bitget-btcusdt-2025-06"]["mm"] == pytest.approx(2_400_000 * 0.01)
    assert c._repr_html_().count("<tr>") == 1 + len(NEW)


@pytest.mark.parametrize("rulebook_id", sorted(NEW))
def test_the_tier_explorer_offers_every_new_preset(rulebook_id):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tiermargin.widgets import TierExplorer

    book = PRESETS[rulebook_id]
    e = TierExplorer(rulebook_id)
    try:
        assert e.last_error is None and e.state["a"]["book"] is book
        t = book.table
        e.set(size=float(t.caps[1]) * 0.9, leverage=5.0)
        a, entry = e.state["a"], e.state["entry"]
        pos = tm.IsolatedPosition.open(t, "long", a["qty"], entry, 5.0, fee_rate=book.fee_rate,
                                       requirement_at=book.requirement_at)
        assert a["tier"] == 2 and a["liquidation_price"] == pytest.approx(pos.liquidation_price().price)
        e.controls["venue_b"].value = "binance-usdm"
        assert e.last_error is None and e.state["b"]["book"].id == "binance-usdm"
    finally:
        plt.close(e.fig)
