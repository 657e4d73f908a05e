"""Venue rulebooks and continuous alternatives."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import tier_tables

import tiermargin as tm
from tiermargin.alternatives import LinearSchedule, SqrtSchedule, SteppedInitialSchedule, TierSchedule
from tiermargin.rules import PRESETS, Rulebook, compare, preset, rulebooks_table

BTC = tm.load_table("binance-usdm-btcusdt-2021")


def test_presets_cover_the_issue_venues_and_cite_sources():
    assert {"binance-usdm", "binance-coinm", "okx", "coinw", "bybit", "bitmex", "hyperliquid"} <= set(PRESETS)
    for book in PRESETS.values():
        assert book.sources, book.id
        if book.table_id is not None:
            t = book.table
            assert t.source and t.as_of
        else:
            with pytest.raises(ValueError, match="no bundled tier table"):
                book.table
    assert len(rulebooks_table()) == len(PRESETS)


def test_compare_matches_the_library_per_venue():
    c = compare("long", 1_200_000, 60_000, 10, ["binance-usdm", "okx", "bitmex", "hyperliquid", "coinw"])
    rows = {r["venue"]: r for r in c.rows}
    b = tm.IsolatedPosition.open(BTC, "long", 20, 60_000, 10)
    assert rows["Binance USDⓈ-M"]["liquidation"] == pytest.approx(b.liquidation_price().price)
    assert rows["Binance USDⓈ-M"]["tier"] == 4 and rows["Binance USDⓈ-M"]["max_leverage"] == 20
    okx = tm.IsolatedPosition.open(tm.load_table("okx-btc-usd-swap-2019"), "long", 12_000, 60_000, 10, fee_rate=0.0005)
    assert rows["OKX"]["liquidation"] == pytest.approx(okx.liquidation_price().price)
    assert rows["OKX"]["mm"] == pytest.approx(12_000 * 100 / 60_000 * 0.015)  # step: whole position at 1.5 %
    assert rows["CoinW"]["note"] == "no bundled tier table"
    assert "Binance" in repr(c) and c._repr_html_().count("<tr>") == 6


def test_compare_reports_a_refusal_instead_of_failing():
    c = compare("long", 1_200_000, 60_000, 50, ["binance-usdm"])
    assert c.rows[0]["note"].startswith("refused: leverage 50x exceeds the max leverage 20x")


def test_bybit_rounding_long_up_short_down_to_half_a_dollar():
    # docs/formulas.md#price-rounding: Bybit rounds a long's prices up and a short's down to the 0.5 tick.
    b = preset("bybit")
    assert b.round_price(19_700.2, "long") == 19_700.5 and b.round_price(19_700.2, "short") == 19_700.0
    assert preset("binance-usdm").round_price(19_700.2, "long") == 19_700.2


def test_bad_rulebooks():
    for kw, match in [({"ratio": "bybit"}, "ratio"), ({"policy": "half"}, "policy"),
                      ({"policy": "fraction"}, "fraction"), ({"fee_rate": 1.2}, "fee_rate"),
                      ({"requirement_at": "open"}, "requirement_at"), ({"tick": 0}, "tick")]:
        with pytest.raises(ValueError, match=match):
            Rulebook("x", "X", None, **kw)
    with pytest.raises(ValueError, match="rulebook must be one of"):
        preset("ftx")
    with pytest.raises(ValueError, match="notional_usd"):
        compare("long", 0, 60_000, 10)


# ---------------------------------------------------------------- alternatives
def test_deribit_linear_rates():
    # docs/formulas.md#continuous-alternatives-to-steps: Deribit linear perpetuals
    # IM% = 2% + size·0.005%, MM% = 1% + size·0.005% (BTC).
    d = LinearSchedule.deribit_btc()
    assert d.initial_rate(100) == pytest.approx(0.02 + 100 * 0.00005)
    assert d.maintenance_rate(100) == pytest.approx(0.01 + 100 * 0.00005)


def test_drift_and_ftx_sqrt_premium():
    # Drift: mr = max(base, 0.8·base + imf·√|size|); FTX: IMF = max(base, imf·√size).
    drift = SqrtSchedule(0.1, 0.05, 0.0005, "drift")
    assert drift.initial_rate(0) == 0.1
    assert drift.initial_rate(1e6) == pytest.approx(0.08 + 0.0005 * 1_000)
    ftx = SqrtSchedule(0.02, 0.01, 0.0002, "ftx")
    assert ftx.initial_rate(400) == pytest.approx(max(0.02, 0.0002 * 20))
    assert ftx.initial_rate(1e6) == pytest.approx(0.0002 * 1_000)


def test_stepped_initial_margin():
    s = SteppedInitialSchedule(0.05, 0.03, baseline=9, step_size=1.5, step_rate=0.01)
    np.testing.assert_allclose(s.initial_rate([0, 9, 9.1, 10.5, 10.6]), [0.05, 0.05, 0.06, 0.06, 0.07])
    np.testing.assert_allclose(s.maintenance_rate([0, 100]), 0.03)


def test_tier_schedule_is_the_effective_rate():
    ts = TierSchedule(BTC)
    assert ts.maintenance_rate(264_000) == pytest.approx((264_000 * 0.01 - 1_300) / 264_000)
    assert ts.maintenance_rate(0) == BTC.mmr[0] and ts.initial_rate(264_000) == pytest.approx(1 / 50)
    assert ts.unit == "USDT" and "Binance" in ts.name


@given(tier_tables(form="continuous", basis="notional"), st.lists(st.floats(1.0, 5e6), min_size=2, max_size=30))
def test_effective_rate_never_decreases_with_size_and_stays_below_the_tier_rate(t, sizes):
    s = np.sort(sizes)
    r = TierSchedule(t).maintenance_rate(s)
    assert np.all(np.diff(r) >= -1e-12)
    assert np.all(r <= t.rate(s) + 1e-15)


@given(st.floats(0.011, 0.5), st.floats(0.001, 0.5), st.floats(0, 0.01), st.lists(st.floats(0, 1e6), min_size=2, max_size=20))
def test_alternatives_never_decrease_and_keep_maintenance_below_initial(base_i, frac, slope, sizes):
    base_m = base_i * min(frac, 0.9)
    s = np.sort(sizes)
    for sched in (SqrtSchedule(base_i, base_m, slope), SqrtSchedule(base_i, base_m, slope, "ftx"),
                  LinearSchedule(base_i, base_m, slope), SteppedInitialSchedule(base_i, base_m, 10, 5, slope)):
        mm, im = np.asarray(sched.maintenance_rate(s)), np.asarray(sched.initial_rate(s))
        assert np.all(np.diff(mm) >= -1e-15) and np.all(np.diff(im) >= -1e-15)
        assert np.all(mm <= im + 1e-15)


def test_alternatives_bad_input():
    for call, match in [(lambda: SqrtSchedule(0.05, 0.1, 0.001), "below base_initial"),
                        (lambda: SqrtSchedule(0.1, 0.05, -1), "imf"),
                        (lambda: SqrtSchedule(0.1, 0.05, 0.1, "bitmex"), "form"),
                        (lambda: LinearSchedule(1.2, 0.1, 0), "base_initial"),
                        (lambda: SteppedInitialSchedule(0.05, 0.03, 9, 0, 0.01), "step_size"),
                        (lambda: LinearSchedule.deribit_btc().initial_rate(-1), "size"),
                        (lambda: TierSchedule(BTC).maintenance_rate(float("nan")), "size")]:
        with pytest.raises(ValueError, match=match):
            call()


# Binance's API documentation, COIN-M "Notional Bracket for Pair", response example: one bracket of
# BTCUSD (125x, up to 50 BTC, MMR 0.4 %, cum 0), here in ccxt's form (qtyFloor/qtyCap → min/maxNotional).
COINM_DOC_EXAMPLE = [{"tier": 1, "currency": "BTC", "minNotional": 0, "maxNotional": 50,
                      "maintenanceMarginRate": 0.004, "maxLeverage": 125}]
BTCUSD = tm.Contract("inverse", 100, "BTC")  # Binance COIN-M BTCUSD: 100 USD a contract


def test_an_attached_table_takes_the_place_of_the_bundled_coinm_ladder():
    table = tm.TierTable.from_ccxt(COINM_DOC_EXAMPLE, contract=BTCUSD, symbol="BTCUSD_PERP")
    book = preset("binance-coinm").with_table(table)
    assert book.has_table and book.table is table
    assert preset("binance-coinm").table_id == "binance-coinm-btcusd-perp"  # bundled since issue 14
    assert (book.id, book.fee_rate, book.requirement_at, book.adl) == ("binance-coinm", 0.0, "mark", "binance")
    row = compare("long", 2_400_000, 60_000, 10, [book]).rows[0]
    # Binance COIN-M FAQ, isolated long: LP = N·(1 + MMR) / (WB + cum + N/EP), N in USD, WB in BTC.
    n, wb = 2_400_000, 40 / 10  # 24,000 contracts of 100 USD = 40 BTC at 60,000; margin 4 BTC at 10x
    assert row["liquidation"] == pytest.approx(n * (1 + 0.004) / (wb + 0 + n / 60_000))
    assert row["bankruptcy"] == pytest.approx(n / (wb + n / 60_000))
    assert (row["contracts"], row["tier"], row["mm"], row["currency"]) == (24_000, 1, pytest.approx(0.16), "BTC")
    assert row["table"] == "BTCUSD_PERP (attached)" and row["note"] == ""


def test_an_attached_table_replaces_the_bundled_one_and_keeps_the_rules():
    mine = tm.TierTable.single(0.03, 10, basis="contracts", form="step", contract=tm.Contract("inverse", 100, "BTC"),
                               id="okx-today")
    book = preset("okx").with_table(mine)
    row = compare("long", 1_200_000, 60_000, 10, [book]).rows[0]
    pos = tm.IsolatedPosition.open(mine, "long", 12_000, 60_000, 10, fee_rate=0.0005)
    assert row["liquidation"] == pytest.approx(pos.liquidation_price().price) and row["mmr"] == 0.03
    assert row["table"] == "okx-today (attached)" and book.fee_rate == preset("okx").fee_rate
    assert preset("okx").table_label == "okx-btc-usd-swap-2019"
    assert "own_table" not in rulebooks_table(["okx"])[0]


def test_attaching_something_that_is_not_a_table_is_refused():
    with pytest.raises(ValueError, match="table must be a TierTable"):
        preset("coinw").with_table(COINM_DOC_EXAMPLE)
    with pytest.raises(ValueError, match="own_table must be a TierTable"):
        Rulebook("x", "X", None, own_table="binance-usdm-btcusdt-2021")
    with pytest.raises(ValueError, match=r"with_table"):
        preset("coinw").table


def test_compare_refuses_a_bad_position_instead_of_a_row_of_refusals():
    # Issue 19 #10: the position's own inputs are errors; a venue refusing it stays a row.
    from tiermargin.rules import compare

    with pytest.raises(ValueError, match="side must be 'long' or 'short'"):
        compare("sideways", 1e6, 60_000, 10)
    with pytest.raises(ValueError, match="leverage must be > 0"):
        compare("long", 1e6, 60_000, -3)
    assert "refused" in compare("long", 1e6, 60_000, 200, ["binance-usdm"]).rows[0]["note"]
