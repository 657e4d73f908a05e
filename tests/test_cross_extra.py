"""Cross-account figures added for the lesson-03 explorer: is_liquidated, frozen_margin, and the
vectorized refinement of the liquidation-price solver."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import tiermargin as tm
from tiermargin.cross import CrossAccount, Haircut, Instrument, Order, Position

BTC = tm.load_table("binance-usdm-btcusdt-2021")
ETH = tm.TierTable.from_rows([[0, 1e6, 0.005, 100], [1e6, None, 0.01, 50]], symbol="ETHUSDT")
OKX = tm.load_table("okx-btc-usd-swap-2019")
I_BTC, I_ETH = Instrument("BTCUSDT", BTC, "BTC"), Instrument("ETHUSDT", ETH, "ETH")
MARKS = {"BTC": 60_000.0, "ETH": 3_000.0}


def test_is_liquidated_is_health_at_or_below_zero():
    acc = CrossAccount([I_BTC, I_ETH], {"USDT": 20_000.0}, [Position("BTCUSDT", "long", 2, 60_000)])
    below = acc.liquidation_prices(MARKS, "BTC")[0].price
    assert acc.is_liquidated(MARKS) is False
    assert acc.is_liquidated({**MARKS, "BTC": below}) is True  # the solver returns health ≤ 0
    grid = {**MARKS, "BTC": np.array([40_000.0, below, 55_000.0])}
    np.testing.assert_array_equal(acc.is_liquidated(grid), np.asarray(acc.health(grid)) <= 0)
    np.testing.assert_array_equal(acc.is_liquidated(grid), [True, True, False])


def test_frozen_margin_is_value_over_leverage_of_opening_orders():
    orders = [Order("BTCUSDT", "long", 0.5, 58_000, 10), Order("ETHUSDT", "short", 4, 3_100, 20),
              Order("BTCUSDT", "short", 1, 62_000, 5, reduce_only=True)]  # closes the long: freezes nothing
    acc = CrossAccount([I_BTC, I_ETH], {"USDT": 10_000.0}, [Position("BTCUSDT", "long", 1, 60_000)], orders)
    assert acc.frozen_margin(MARKS) == pytest.approx(0.5 * 58_000 / 10 + 4 * 3_100 / 20)
    # the legacy cross ratio's denominator: position value + frozen margin × leverage
    r = acc.margin_ratios(MARKS)
    assert r.legacy == pytest.approx(10_000 / (60_000 + 0.5 * 58_000 + 4 * 3_100))
    assert CrossAccount([I_BTC], {"USDT": 1.0}).frozen_margin(MARKS) == 0.0


def test_frozen_margin_of_an_inverse_order_in_a_usd_account():
    inv = Instrument("BTC-USD-SWAP", OKX, "BTC")  # 100 USD per contract, settled in BTC
    acc = CrossAccount([I_BTC, inv], {"USDT": 5_000.0, "BTC": 0.1},
                       orders=[Order("BTC-USD-SWAP", "long", 300, 50_000, 10)], haircuts={"BTC": Haircut.flat(0.95)})
    # 300 × 100 / 50,000 = 0.6 BTC of value, 0.06 BTC frozen, valued at the BTC price (no haircut: not collateral)
    assert acc.currency == "USD"
    assert acc.frozen_margin({"BTC": 60_000.0}) == pytest.approx(0.06 * 60_000)


@given(st.sampled_from(["long", "short"]), st.floats(0.1, 50), st.floats(1_000, 300_000),
       st.floats(1, 200), st.floats(0.0, 0.002), st.floats(0, 3))
def test_liquidation_price_is_the_nearest_float_where_health_is_not_positive(side, qty, balance, eth, fee, btc_coll):
    """The refined root: health ≤ 0 there and > 0 one float closer to the current price."""
    acc = CrossAccount([I_BTC, I_ETH], {"USDT": balance, "BTC": btc_coll},
                       [Position("BTCUSDT", side, qty, 60_000), Position("ETHUSDT", "short", eth, 3_000)],
                       fee_rate=fee, haircuts={"BTC": Haircut.flat(0.9)})
    assume(acc.health(MARKS) > 0)
    for lp, toward in zip(acc.liquidation_prices(MARKS, "BTC"), (np.inf, 0.0)):
        if lp.exists:
            assert acc.health({**MARKS, "BTC": lp.price}) <= 0
            assert acc.health({**MARKS, "BTC": np.nextafter(lp.price, toward)}) > 0


def test_liquidation_price_needs_few_health_evaluations(monkeypatch):
    """One vectorized call per section round (~8), not one scalar call per halving (~50)."""
    acc = CrossAccount([I_BTC, I_ETH], {"USDT": 20_000.0},
                       [Position("BTCUSDT", "long", 2, 60_000), Position("ETHUSDT", "short", 10, 3_000)])
    calls = []
    health = CrossAccount.health
    monkeypatch.setattr(CrossAccount, "health", lambda self, prices: calls.append(1) or health(self, prices))
    below, above = acc.liquidation_prices(MARKS, "BTC")
    assert below.exists and not above.exists
    assert len(calls) <= 20


def test_bankruptcy_price_of_an_account_whose_equity_does_not_move_with_the_price():
    """A fully hedged account with no fee: equity less the fee is the same at every price (the
    bankruptcy equation has slope 0). Positive: no bankruptcy price; ≤ 0: bankrupt at any price."""
    legs = [Position("BTCUSDT", "long", 1, 60_000), Position("BTCUSDT", "short", 1, 50_000)]

    def hedged(balance):
        return CrossAccount([I_BTC], {"USDT": balance}, legs, mode="hedge", fee_at="bankruptcy")

    lp = hedged(20_000.0).bankruptcy_price("BTC")
    assert (lp.price, lp.exists, lp.tier) == (np.inf, False, 0)
    s = hedged(20_000.0).state({"BTC": np.array([30_000.0, 90_000.0])})  # its fee at bankruptcy: none, no NaN
    assert np.all(np.isfinite(s.health))
    with pytest.raises(ValueError, match="bankrupt at any price"):
        hedged(10_000.0).bankruptcy_price("BTC")  # equity 10,000 + (P − 60,000) − (P − 50,000) = 0 at every P


def test_a_missing_derivation_line_is_a_key_error_and_a_value_error():
    d = Haircut.flat(0.9).explain(100.0)
    with pytest.raises(KeyError, match="no line with key 'nope'; lines are"):
        d.line("nope")
    with pytest.raises(ValueError, match="no line with key 'nope'"):
        d.line_number("nope")
    with pytest.raises(TypeError, match="key must be text"):
        d.line(["ratio"])
