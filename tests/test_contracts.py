"""Linear and inverse contracts (docs/formulas.md#contracts)."""

import numpy as np
import pytest

from tiermargin import Contract


def test_linear_value_and_pnl():
    c = Contract("linear", 0.01, "USDT")  # 0.01 BTC per contract
    assert c.value(100, 30_000) == pytest.approx(30_000.0)
    assert c.upnl("long", 100, 30_000, 31_000) == pytest.approx(1_000.0)
    assert c.upnl("short", 100, 30_000, 31_000) == pytest.approx(-1_000.0)


def test_inverse_pnl_is_bitmex_formula():
    # BitMEX: "PnL = #Contracts × Multiplier × (1/Entry − 1/Exit)", 1 USD contracts.
    c = Contract("inverse", 1.0, "XBT")
    assert c.upnl("long", 10_000, 10_000, 12_500) == pytest.approx(10_000 * (1 / 10_000 - 1 / 12_500))
    assert c.value(10_000, 10_000) == pytest.approx(1.0)
    # OKX BTC-USD-SWAP: 100 USD per contract.
    assert Contract("inverse", 100, "BTC").value(10, 50_000) == pytest.approx(0.02)


def test_vectorized_over_prices_and_sides():
    c = Contract("linear", 1.0)
    pnl = c.upnl(np.array([1, -1]), 2, 100, np.array([110, 110]))
    np.testing.assert_allclose(pnl, [20.0, -20.0])
    assert c.value(1, np.array([1.0, 2.0])).shape == (2,)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda c: c.value(-1, 100), "qty"),
        (lambda c: c.value(1, 0), "price"),
        (lambda c: c.value(1, float("nan")), "price"),
        (lambda c: c.value(1, float("inf")), "price"),
        (lambda c: c.upnl("up", 1, 100, 100), "side"),
        (lambda c: c.upnl(2, 1, 100, 100), "side"),
        (lambda c: c.upnl("long", 1, -5, 100), "entry"),
        (lambda c: c.value(1, []), "price"),
    ],
)
def test_bad_input_names_the_parameter(call, match):
    with pytest.raises(ValueError, match=match):
        call(Contract())


def test_bad_contract_spec():
    with pytest.raises(ValueError, match="kind"):
        Contract("quanto")
    with pytest.raises(ValueError, match="face_value"):
        Contract("linear", 0)
    with pytest.raises(TypeError, match="price"):
        Contract().value(1, "100")
