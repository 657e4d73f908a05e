"""Tier tables: published maintenance amounts and slice examples, validation, I/O, properties."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tiermargin import Contract, TierTable, load_table, maintenance_amounts, table_ids, table_info

from strategies import tier_tables

CENT = 0.005


def slice_margin(rows, size):
    """Independent oracle: charge each slice of the position at its own tier's rate (Bybit's form)."""
    total = 0.0
    for k, (floor, cap, rate, _) in enumerate(rows):
        cap = np.inf if cap is None or k == len(rows) - 1 else cap  # the last tier extends
        total += max(0.0, min(size, cap) - floor) * rate
    return total


# ---------------------------------------------------------------- published examples
def test_binance_faq_maintenance_amount_1300_and_264000_is_one_percent():
    # Binance FAQ "How to Calculate Liquidation Price of USDⓈ-M Futures Contracts":
    # "Maintenance Amount on Level n = 250,000 × (1% − 0.5%) + 50 USDT = 1,300 USDT";
    # a 264,000 USDT BTCUSDT position has maintenance margin rate 1%.
    t = load_table("binance-usdm-btcusdt-2021")
    assert t.cum[2] == pytest.approx(1_300, abs=CENT)
    assert t.rate(264_000) == 0.01
    assert t.maintenance_amount(264_000) == pytest.approx(1_300, abs=CENT)
    assert t.maintenance_margin(264_000) == pytest.approx(264_000 * 0.01 - 1_300, abs=CENT)


@pytest.mark.parametrize(
    "table_id, published",
    [
        # 2021 BTCUSDT bracket table (reference/tier_tables.json, Binance FAQ).
        ("binance-usdm-btcusdt-2021",
         [0, 50, 1300, 16300, 266300, 1266300, 2516300, 5016300, 25016300, 100016300]),
        # Binance leverage brackets, freqtrade test fixtures (tests/exchange/test_binance.py).
        ("binance-usdm-adabusd", [0, 2500, 27500, 77500, 277500, 1527500]),
        ("binance-usdm-zecusdt", [0, 750, 4500, 17000, 29500, 154500, 654500]),
        # Hyperliquid docs "Margin tiers" (deductions).
        ("hyperliquid-btc-mainnet", [0, 1875000]),
        ("hyperliquid-btc-testnet", [0, 75, 1575, 6575, 26575]),
    ],
)
def test_published_maintenance_amounts(table_id, published):
    np.testing.assert_allclose(load_table(table_id).cum, published, atol=CENT)


def test_bundled_expected_amounts_match_where_the_data_gives_them():
    for table_id in table_ids():
        expected = table_info(table_id).get("expected_maintenance_amounts")
        if expected is not None:
            np.testing.assert_allclose(load_table(table_id).cum, expected, atol=CENT)


def test_bybit_usdt_slice_example_92_5_both_forms():
    # Bybit help "Maintenance Margin (USDT Contract)": tiers of 1,000 at 2%, 2.5%, 3%, 3.5%, 4%;
    # position value 3,500 → 1000×2% + 1000×2.5% + 1000×3% + 500×3.5% = 92.5 USDT.
    t = load_table("bybit-xyzusdt-illustration")
    assert 1000 * 0.02 + 1000 * 0.025 + 1000 * 0.03 + 500 * 0.035 == pytest.approx(92.5)
    assert t.maintenance_margin(3_500) == pytest.approx(92.5, abs=CENT)          # deduction form
    assert slice_margin(t.rows(), 3_500) == pytest.approx(92.5, abs=CENT)        # slice form
    assert t.maintenance_amount(3_500) == pytest.approx(30.0, abs=CENT)          # 3,500×3.5% − 92.5


def test_bybit_inverse_slice_example_0_45_xyz():
    # Bybit help "Maintenance Margin (Inverse Contract)": XYZUSD tiers 0–10 @1%, 10–20 @2%,
    # 20–30 @3%; 10,000 contracts at 400 → value 25 XYZ, IM 2.5 (10x),
    # MM = 10×1% + 10×2% + 5×3% = 0.45 XYZ.
    t = load_table("bybit-xyzusd-inverse-illustration")
    value = t.contract.value(10_000, 400)
    assert value == pytest.approx(25.0)
    assert value / 10 == pytest.approx(2.5)
    assert t.maintenance_margin(value) == pytest.approx(0.45, abs=1e-12)


def test_bitmex_risk_limit_examples():
    # BitMEX "Risk Limits": base 200 XBT, step 150 XBT; MM 0.5% + 0.5%/step, IM 1% + 0.5%/step.
    t = load_table("bitmex-xbtusd-risk-limits")
    assert t.maintenance_margin(180) == pytest.approx(0.90, abs=CENT)   # 180 XBT → MM 0.90 XBT
    assert t.rate(230) == 0.01                                          # 230 XBT → MM 1.0%
    assert 230 / t.max_leverage_at(230) == pytest.approx(230 * 0.015, abs=CENT)  # IM 1.5%
    assert t.rate(200) == 0.005 and t.rate(200.01) == 0.01              # "up to" the 200 XBT limit


def test_hyperliquid_continuity_at_150m():
    # Hyperliquid docs "Margin tiers": the deduction keeps MM continuous at the 150M boundary.
    t = load_table("hyperliquid-btc-mainnet")
    left = 150e6 * 0.0125
    assert t.maintenance_margin(150e6) == pytest.approx(left, abs=CENT)
    assert t.maintenance_margin(np.nextafter(150e6, 0)) == pytest.approx(left, abs=CENT)
    # Hyperliquid: MMR = half the initial margin rate at max leverage (40x → 1.25%, 20x → 2.5%).
    np.testing.assert_allclose(t.mmr, 0.5 / t.max_leverage)


def test_every_bundled_table_cites_source_and_date():
    assert len(table_ids()) >= 10
    for table_id in table_ids():
        t = load_table(table_id)
        assert t.source and t.as_of and t.venue and t.symbol, table_id


# ---------------------------------------------------------------- lookups and boundaries
def test_boundary_conventions():
    rows = [[0, 100, 0.01, 50], [100, None, 0.02, 25]]
    left = TierTable.from_rows(rows, form="step")
    right = TierTable.from_rows(rows, form="step", closed="right")
    assert left.tier_index(100) == 1 and right.tier_index(100) == 0
    np.testing.assert_array_equal(left.tier_index([0, 99.9, 100, 1e9]), [0, 0, 1, 1])
    np.testing.assert_array_equal(right.tier_index([0, 100, 100.1]), [0, 0, 1])
    # step: the MM jumps at the boundary; continuous: it does not.
    assert left.maintenance_margin(100) == pytest.approx(2.0)
    cont = TierTable.from_rows(rows)
    assert cont.maintenance_margin(100) == pytest.approx(1.0)


def test_contracts_basis_uses_unit_value():
    t = load_table("okx-chzusdt-2022")  # step, by contracts, 10 CHZ per contract
    price = 0.25
    unit = t.contract.value(1, price)
    assert t.rate(6_000) == 0.015
    assert t.maintenance_margin(6_000, unit) == pytest.approx(6_000 * 10 * 0.25 * 0.015)


def test_max_leverage_missing_is_a_clear_error():
    with pytest.raises(ValueError, match="does not publish max leverage"):
        load_table("bybit-xyzusdt-illustration").max_leverage_at(100)


def test_display_text_and_html():
    t = load_table("binance-usdm-btcusdt-2021")
    text, html = repr(t), t._repr_html_()
    assert "1,300" in text and "125x" in text and "source:" in text
    assert html.count("<tr>") == t.n_tiers + 1 and "Binance" in html


# ---------------------------------------------------------------- I/O round trips
@pytest.mark.parametrize("table_id", ["binance-usdm-btcusdt-2021", "okx-btc-usd-swap-2019",
                                      "bybit-xyzusdt-illustration", "hyperliquid-btc-mainnet"])
def test_round_trips(table_id):
    t = load_table(table_id)
    kw = dict(basis=t.basis, form=t.form, contract=t.contract, closed=t.closed)
    for back in (TierTable.from_json(t.to_json()), TierTable.from_ccxt(t.to_ccxt(), **kw),
                 TierTable.from_csv(t.to_csv(), **kw), TierTable.from_dict(t.to_dict())):
        assert back.rows() == t.rows()
        np.testing.assert_allclose(back.cum, t.cum)
        assert (back.basis, back.form, back.closed) == (t.basis, t.form, t.closed)


def test_from_ccxt_response_shape():
    # The shape of ccxt fetch_leverage_tiers()["BTC/USDT:USDT"] (Binance).
    resp = [
        {"tier": 1, "currency": "USDT", "minNotional": 0, "maxNotional": 50000,
         "maintenanceMarginRate": 0.004, "maxLeverage": 125, "info": {"cum": "0.0"}},
        {"tier": 2, "currency": "USDT", "minNotional": 50000, "maxNotional": 250000,
         "maintenanceMarginRate": 0.005, "maxLeverage": 100, "info": {"cum": "50.0"}},
    ]
    t = TierTable.from_ccxt(resp)
    assert t.cum[1] == pytest.approx(float(resp[1]["info"]["cum"]))
    with pytest.raises(ValueError, match="missing maxLeverage"):
        TierTable.from_ccxt([{"minNotional": 0, "maxNotional": 1, "maintenanceMarginRate": 0.1}])


# ---------------------------------------------------------------- bad tables, bad input
@pytest.mark.parametrize(
    "rows, match",
    [
        ([[0, 100, 0.01, 50], [120, 200, 0.02, 25]], "gap"),
        ([[0, 100, 0.01, 50], [90, 200, 0.02, 25]], "overlap"),
        ([[0, 100, 0.02, 20], [100, 200, 0.01, 20]], "decreases"),
        ([[0, 100, 0.0, 50]], r"\(0, 1\)"),
        ([[0, 100, 1.0, 50]], r"\(0, 1\)"),
        ([[0, 100, -0.1, 50]], r"\(0, 1\)"),
        ([[0, 100, 0.01, 0]], "max leverage"),
        ([[0, 100, 0.01, -5]], "max leverage"),
        ([[0, 100, 0.01, 20], [100, 200, 0.02, 25]], "increases"),
        ([[0, 100, 0.05, 25]], "initial margin rate"),
        ([[10, 100, 0.01, 50]], "start at 0"),
        ([[0, 100, 0.01, 50], [100, 100, 0.02, 25]], "above floor"),
        ([[0, None, 0.01, 50], [100, 200, 0.02, 25]], "cap"),
        ([[0, 100, float("nan"), 50]], "NaN"),
        ([[0, 100, 0.01, 50], [100, 200, 0.02, None]], "every tier or for none"),
        ([[0, 100, 0.01]], "a row is"),
        ([], "at least one"),
        ([[0, 100, "x", 50]], "number"),
    ],
)
def test_bad_tables_are_refused_with_clear_errors(rows, match):
    with pytest.raises(ValueError, match=match):
        TierTable.from_rows(rows)


def test_bad_table_options():
    rows = [[0, None, 0.01, 50]]
    for kw, match in [({"basis": "value"}, "basis"), ({"form": "smooth"}, "form"),
                      ({"closed": "both"}, "closed")]:
        with pytest.raises(ValueError, match=match):
            TierTable.from_rows(rows, **kw)
    with pytest.raises(TypeError, match="contract"):
        TierTable.from_rows(rows, contract="linear")


def test_bad_lookups_and_loaders():
    t = load_table("binance-usdm-btcusdt-2021")
    for call, match in [(lambda: t.tier_index(-1), "size"), (lambda: t.rate(float("nan")), "size"),
                        (lambda: t.maintenance_margin(10, 0), "unit_value"),
                        (lambda: t.maintenance_amount([]), "size"),
                        (lambda: load_table("nope"), "table_id"),
                        (lambda: table_info("nope"), "table_id"),
                        (lambda: TierTable.from_json("{not json"), "JSON"),
                        (lambda: TierTable.from_json("[1, 2]"), "object"),
                        (lambda: TierTable.from_dict({"id": "x"}), "tiers"),
                        (lambda: TierTable.from_csv("a,b\n1,2\n"), "header"),
                        (lambda: TierTable.from_csv(
                            "floor,cap,maintenance_margin_rate,max_leverage\n0,x,0.1,5\n"), "line 2")]:
        with pytest.raises(ValueError, match=match):
            call()


def test_tables_are_immutable():
    t = load_table("binance-usdm-btcusdt-2021")
    with pytest.raises(ValueError):
        t.mmr[0] = 0.5
    with pytest.raises(AttributeError):
        t.form = "step"


# ---------------------------------------------------------------- properties
@given(tier_tables(form="continuous"), st.lists(st.floats(0, 5e6), min_size=2, max_size=40))
def test_continuous_mm_equals_slice_sum_and_never_decreases(t, sizes):
    sizes = np.sort(sizes)
    mm = t.maintenance_margin(sizes)
    oracle = [slice_margin(t.rows(), s) for s in sizes]
    np.testing.assert_allclose(mm, oracle, rtol=1e-9, atol=1e-6)
    assert np.all(np.diff(mm) >= -1e-6 * (1 + np.abs(mm[1:])))


@given(tier_tables(form="continuous"))
def test_continuous_mm_is_continuous_at_every_boundary(t):
    for cap in t.caps[:-1]:
        below, at = t.maintenance_margin(np.nextafter(cap, 0)), t.maintenance_margin(cap)
        assert at == pytest.approx(below, rel=1e-9, abs=1e-6)


@given(tier_tables(form="step"), st.lists(st.floats(0, 5e6), min_size=2, max_size=40))
def test_step_mmr_never_decreases_with_size(t, sizes):
    rates = t.rate(np.sort(sizes))
    assert np.all(np.diff(rates) >= 0)


@given(st.lists(st.floats(0.001, 0.5), min_size=1, max_size=8))
def test_maintenance_amount_recurrence_matches_definition(rates):
    rates = np.sort(rates)
    floors = np.arange(len(rates)) * 1000.0
    cum = maintenance_amounts(floors, rates)
    expected = [sum(floors[j] * (rates[j] - rates[j - 1]) for j in range(1, k + 1)) for k in range(len(rates))]
    np.testing.assert_allclose(cum, expected, atol=1e-9)


def test_inverse_contract_table_from_dict_keeps_contract():
    t = load_table("okx-btc-usd-swap-2019")
    assert t.contract == Contract("inverse", 100, "BTC") and t.unit == "contracts"


def test_max_size_at_leverage_how_large_at_20x():
    # Binance BTCUSDT 2021: 20x is allowed up to tier 4 (cap 10,000,000 USDT); 21x only to 1,000,000.
    t = load_table("binance-usdm-btcusdt-2021")
    assert t.max_size_at_leverage(20) == 10_000_000
    np.testing.assert_array_equal(t.max_size_at_leverage([125, 21, 1]), [50_000, 1_000_000, 500_000_000])
    assert load_table("hyperliquid-btc-mainnet").max_size_at_leverage(20) == np.inf
    with pytest.raises(ValueError, match="at most the table's highest max leverage 125x"):
        t.max_size_at_leverage(126)
    with pytest.raises(ValueError, match="leverage"):
        t.max_size_at_leverage(0)


@given(tier_tables(), st.floats(1.0, 200.0))
def test_max_size_at_leverage_is_the_edge_of_allowed_sizes(t, lev):
    """The cap returned ends the last tier allowing ``lev``; the next tier (if any) refuses it."""
    from hypothesis import assume

    assume(lev <= t.max_leverage[0])
    cap = t.max_size_at_leverage(lev)
    k = int(np.flatnonzero(t.caps == cap)[0])
    assert t.max_leverage[k] >= lev and np.all(t.max_leverage[: k + 1] >= lev)
    if k + 1 < t.n_tiers:
        assert t.max_leverage[k + 1] < lev


def test_binance_brackets_include_their_cap():
    # Binance, "Updates to Leverage and Margin Tiers of Binance Futures Contracts (2021-03-18)":
    # "0 < Position ≤ 50,000 — 125x", "50,000 < Position ≤ 250,000 — 100x".
    t = load_table("binance-usdm-btcusdt-2021")
    assert t.closed == "right"
    assert t.max_leverage_at(50_000) == 125 and t.max_leverage_at(50_000.01) == 100
    assert t.rate(250_000) == 0.005 and t.rate(250_000.01) == 0.01
