"""Tier tables in other units and forms: sizes ↔ contracts ↔ USD notional, settle amounts in USD, and
the same rows charged step or continuous (added for the tier explorer)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from strategies import tier_tables
from tiermargin import Contract, load_table, maintenance_amounts, requirement
from tiermargin.rules import compare

BINANCE = load_table("binance-usdm-btcusdt-2021")  # linear, notional (USDT)
BITMEX = load_table("bitmex-xbtusd-risk-limits")  # inverse, notional (XBT), FV 1 USD
OKX = load_table("okx-btc-usd-swap-2019")  # inverse, contracts, FV 100 USD
CHZ = load_table("okx-chzusdt-2022")  # linear, contracts, FV 10 CHZ


# ---------------------------------------------------------------- contracts in USD
def test_usd_value_linear_is_qty_fv_price_and_inverse_is_qty_fv():
    assert Contract("linear", 0.01, "USDT").usd_value(200, 60_000) == pytest.approx(120_000)
    inverse = Contract("inverse", 100.0, "BTC")
    np.testing.assert_allclose(inverse.usd_value(12_000, [40_000, 60_000]), [1_200_000, 1_200_000])  # no price
    with pytest.raises(ValueError, match="price must be > 0"):
        inverse.usd_value(1, 0)


def test_to_usd_converts_coin_amounts_and_keeps_the_usd_quote():
    assert Contract("inverse", 1.0, "XBT").to_usd(-0.5, 60_000) == pytest.approx(-30_000)
    np.testing.assert_allclose(Contract("linear").to_usd(92.5, [1.0, 2.0]), [92.5, 92.5])
    with pytest.raises(ValueError, match="amount must be finite"):
        Contract().to_usd(np.nan, 1.0)


# ---------------------------------------------------------------- sizes in other units
@pytest.mark.parametrize("table, qty, price, size, usd", [
    (BINANCE, 17.0, 60_000.0, 1_020_000.0, 1_020_000.0),  # USDT notional
    (BITMEX, 11_000_000.0, 50_000.0, 220.0, 11_000_000.0),  # XBT notional = contracts/price; 1 USD each
    (OKX, 12_000.0, 50_000.0, 12_000.0, 1_200_000.0),  # contracts of 100 USD
    (CHZ, 6_000.0, 0.10, 6_000.0, 6_000.0),  # contracts of 10 CHZ at 0.10
])
def test_size_contracts_and_usd_by_hand(table, qty, price, size, usd):
    assert table.size_of(qty, price) == pytest.approx(size)
    assert table.contracts_at(size, price) == pytest.approx(qty)
    assert table.usd_notional(size, price) == pytest.approx(usd)
    assert table.size_at_usd(usd, price) == pytest.approx(size)


def test_usd_conversion_agrees_with_compare():
    rows = compare("long", 500_000, 60_000, 10, ("binance-usdm", "okx", "bitmex", "hyperliquid")).rows
    for row, t in zip(rows, (BINANCE, OKX, BITMEX, load_table("hyperliquid-btc-mainnet"))):
        assert t.contracts_at(t.size_at_usd(500_000, 60_000), 60_000) == pytest.approx(row["contracts"])


def test_conversions_broadcast_and_validate():
    np.testing.assert_allclose(BITMEX.size_of(1e6, [50_000, 25_000]), [20, 40])
    np.testing.assert_allclose(OKX.size_of(5.0, [1.0, 2.0]), [5, 5])  # contracts basis: the price only broadcasts
    with pytest.raises(ValueError, match="size must be >= 0"):
        BINANCE.contracts_at(-1, 60_000)
    with pytest.raises(ValueError, match="usd must be >= 0"):
        OKX.size_at_usd(-1, 60_000)


@given(tier_tables(), st.floats(1e-3, 1e7), st.floats(1e-2, 1e6))
def test_usd_round_trip(t, size, price):
    assert t.size_at_usd(t.usd_notional(size, price), price) == pytest.approx(size, rel=1e-9)
    assert t.size_of(t.contracts_at(size, price), price) == pytest.approx(size, rel=1e-9)


# ---------------------------------------------------------------- the same rows in another form
def test_with_form_keeps_everything_but_the_form():
    step = BINANCE.with_form("step")
    assert step.form == "step" and step.rows() == BINANCE.rows()
    assert (step.basis, step.contract, step.closed, step.id, step.venue, step.source, step.as_of) == (
        BINANCE.basis, BINANCE.contract, BINANCE.closed, BINANCE.id, BINANCE.venue, BINANCE.source, BINANCE.as_of)
    np.testing.assert_array_equal(step.cum, 0)
    np.testing.assert_allclose(step.with_form("continuous").cum, BINANCE.cum)
    np.testing.assert_allclose(OKX.with_form("continuous").cum, maintenance_amounts(OKX.floors, OKX.mmr))
    assert BINANCE.with_form("continuous") is BINANCE
    with pytest.raises(ValueError, match="form"):
        BINANCE.with_form("slices")


def test_step_form_jumps_at_a_boundary_and_continuous_does_not():
    # Binance tiers hold floor < size <= cap: 250,000 is still tier 2 (0.5 %), above it tier 3 (1 %).
    step, cont = BINANCE.with_form("step"), BINANCE
    assert step.maintenance_margin(250_000) == pytest.approx(1_250)
    assert step.maintenance_margin(250_000 * (1 + 1e-12)) == pytest.approx(2_500)
    assert cont.maintenance_margin(250_000 * (1 + 1e-12)) - cont.maintenance_margin(250_000) == pytest.approx(0, abs=1e-6)


@given(tier_tables(form="continuous"))
def test_the_deduction_removes_every_jump(t):
    caps = t.caps[:-1]
    if caps.size == 0:
        return
    below, above = caps * (1 - 1e-12), caps * (1 + 1e-12)
    step = t.with_form("step")
    np.testing.assert_allclose(np.asarray(t.maintenance_margin(above)) - np.asarray(t.maintenance_margin(below)), 0,
                               atol=1e-6 * caps.max())
    jump = np.asarray(step.maintenance_margin(above)) - np.asarray(step.maintenance_margin(below))
    np.testing.assert_allclose(jump, caps * np.diff(t.mmr), atol=1e-6 * caps.max())


@pytest.mark.parametrize("table, price, unit", [(BINANCE, 60_000, 1.0), (BITMEX, 50_000, 1.0),
                                                (OKX, 50_000, 100 / 50_000), (CHZ, 0.1, 10 * 0.1)])
def test_unit_value_gives_the_mm_of_a_size_without_a_round_trip(table, price, unit):
    assert table.unit_value(price) == pytest.approx(unit)
    sizes = np.array([1.0, 150.0, 7_000.0, 12_345.0])
    np.testing.assert_allclose(table.maintenance_margin(sizes, table.unit_value(price)),
                               requirement(table, table.contracts_at(sizes, price), price))


def test_unit_value_keeps_a_size_on_its_boundary():
    # Binance's 250,000 is tier 2 (floor < size <= cap); through contracts and back it can land above
    step = BINANCE.with_form("step")
    assert step.maintenance_margin(250_000, BINANCE.unit_value(60_000)) == pytest.approx(1_250)
    np.testing.assert_allclose(OKX.unit_value([25_000, 50_000]), [0.004, 0.002])


def test_loaders_refuse_attacks_with_clear_errors():
    # Issue 19 #6 and #7: deep nesting, a 400-digit number, a huge CSV field, a non-dict, a string table,
    # and numbers given as text or bools are each a ValueError/TypeError naming the problem.
    import tiermargin as tm

    for call, error, match in [
        (lambda: tm.TierTable.from_json("[" * 100_000 + "]" * 100_000), ValueError, "nested too deeply"),
        (lambda: tm.TierTable.from_json('{"tiers": [[0, null, 0.01, %s]]}' % ("9" * 400)), ValueError,
         "within the float range"),
        (lambda: tm.TierTable.from_json('{"tiers": [[0, null, "0.01", 10]]}'), ValueError, r"mmr must be a number, got '0.01'"),
        (lambda: tm.TierTable.from_rows([[0, None, True, 10]]), ValueError, "mmr must be a number, got True"),
        (lambda: tm.TierTable.from_rows([[0, None, 0.01, "10"]]), ValueError, "max_leverage must be a number"),
        (lambda: tm.TierTable.from_csv("floor,cap,maintenance_margin_rate,max_leverage\n" + "1" * 200_000 + ",,0.01,10\n"),
         ValueError, "not a tier table's CSV"),
        (lambda: tm.TierTable.from_dict("tiers"), TypeError, "d must be a dict"),
        (lambda: tm.TierTable.from_json(b"{}"), TypeError, "text must be a str"),
        (lambda: tm.IsolatedPosition.open("binance", "long", 1, 100, 10), TypeError, "table must be a TierTable"),
    ]:
        with pytest.raises(error, match=match):
            call()
