"""Cross margin: published examples, the single-position equivalence, properties, bad input."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import positions

import tiermargin as tm
from tiermargin.cross import CrossAccount, Haircut, Instrument, Order, Position

BTC = tm.load_table("binance-usdm-btcusdt-2021")
ETH = tm.TierTable.from_rows([[0, 1e6, 0.005, 100], [1e6, None, 0.01, 50]], symbol="ETHUSDT")
OKX = tm.load_table("okx-btc-usd-swap-2019")
I_BTC, I_ETH = Instrument("BTCUSDT", BTC, "BTC"), Instrument("ETHUSDT", ETH, "ETH")
MARKS = {"BTC": 60_000.0, "ETH": 3_000.0}


def account(positions, balance=20_000.0, **kw):
    return CrossAccount([I_BTC, I_ETH], {"USDT": balance}, positions, **kw)


# ---------------------------------------------------------------- published examples
def test_okx_tiered_haircut_11m_usdt_is_10_3m():
    # OKX: "11M USDT: 0–5M × 1 + 5–10M × 0.9 + >10M × 0.8 → $10.3M".
    h = Haircut([0, 5e6, 10e6, float("inf")], [1, 0.9, 0.8])
    assert h.value(11e6) == pytest.approx(10.3e6)
    assert h.value(4e6) == pytest.approx(4e6) and h.value(-2e6) == -2e6  # debts count in full


def test_binance_multi_assets_bnb_1000_is_950():
    # Binance multi-assets mode: "BNB with a market value of $1000 will be valued at $950".
    assert Haircut.flat(0.95).value(1_000) == pytest.approx(950)


def test_okx_contracts_summed_across_expiries_under_the_underlying_rule():
    # OKX cross: 10,000 + 5,000 + 5,000 + 5,000 contracts of one underlying count as 25,000 for the
    # tier (docs/formulas.md#cross-margin). On OKX's 2019 swap table that is tier 5 (25,000–50,000), 2.5 %.
    expiries = [Instrument(f"BTC-USD-{m}", OKX, "BTC") for m in ("W", "BW", "Q", "BQ")]
    pos = [Position(i.symbol, "long", q, 60_000) for i, q in zip(expiries, (10_000, 5_000, 5_000, 5_000))]
    under = CrossAccount(expiries, {"BTC": 100.0}, pos, tier_rule="underlying")
    apart = CrossAccount(expiries, {"BTC": 100.0}, pos, tier_rule="position")
    value = 25_000 * 100 / 60_000
    assert under.state({"BTC": 60_000}).requirement == pytest.approx(value * 0.025)
    # position by position: 10,000 → tier 3 (1.5 %), 5,000 → tier 2 (1 %)
    assert apart.state({"BTC": 60_000}).requirement == pytest.approx((10_000 * 0.015 + 15_000 * 0.01) * 100 / 60_000)


def test_coinw_single_currency_net_ratio():
    # CoinW: (balance + UPL)/(FV·|net contracts|·mark·(MMR + close fee)), net = long − short.
    t = tm.TierTable.single(0.01, max_leverage=50, form="step")
    inst = Instrument("BTCUSDT", t, "BTC")
    acc = CrossAccount([inst], {"USDT": 5_000}, [Position("BTCUSDT", "long", 3, 60_000),
                                                 Position("BTCUSDT", "short", 1, 60_000)],
                       mode="hedge", tier_rule="net", fee_rate=0.0005)
    mark = 59_000
    upl = 3 * (mark - 60_000) - 1 * (mark - 60_000)
    expected = (5_000 + upl) / (1 * 2 * mark * (0.01 + 0.0005))
    assert acc.margin_ratios({"BTC": mark}).coinw == pytest.approx(expected)


def test_legacy_cross_ratio_counts_order_frozen_margin_times_leverage():
    # Source articles: (balance + RPL + UPL)/(position value + order frozen margin × leverage).
    order = Order("BTCUSDT", "long", 0.5, 58_000, leverage=10)
    acc = account([Position("BTCUSDT", "long", 1, 60_000)], realized_pnl={"USDT": 300.0}, orders=[order])
    frozen = 0.5 * 58_000 / 10
    r = acc.margin_ratios({"BTC": 61_000})
    assert r.legacy == pytest.approx((20_000 + 300 + 1_000) / (61_000 + frozen * 10))
    no_order = account([Position("BTCUSDT", "long", 1, 60_000)], realized_pnl={"USDT": 300.0})
    extra = acc.state({"BTC": 61_000}).requirement - no_order.state({"BTC": 61_000}).requirement
    assert extra == pytest.approx(BTC.rate(29_000) * 29_000)
    reduce = account([Position("BTCUSDT", "long", 1, 60_000)], orders=[Order("BTCUSDT", "short", 1, 62_000, 10, reduce_only=True)])
    assert reduce.state(MARKS).requirement == pytest.approx(account([Position("BTCUSDT", "long", 1, 60_000)]).state(MARKS).requirement)


# ---------------------------------------------------------------- equivalences and structure
@given(positions(requirement_at="mark"))
def test_one_position_cross_account_liquidates_where_the_isolated_one_does(p):
    """Binance: with one position, cross with wallet WB is isolated with margin WB. Two solvers:
    the isolated closed form, and the cross scan-and-bisect over health."""
    acc, mark = _one_position_account(p), float(p.entry)
    assume(acc.health({"X": mark}) > 0)
    below, above = acc.liquidation_prices({"X": mark}, "X")
    iso = p.liquidation_price()
    got = below if float(p.side) > 0 else above
    assume(not iso.exists or 1e-6 * mark < iso.price < 1e6 * mark)
    assert got.exists == iso.exists
    if iso.exists:
        assert got.price == pytest.approx(iso.price, rel=1e-9)


def _one_position_account(p):
    return CrossAccount([Instrument("X", p.table, "X")], {p.table.contract.settle: float(p.margin)},
                        [Position("X", float(p.side), float(p.qty), float(p.entry))], fee_rate=p.fee_rate)


def test_cross_search_finds_a_narrow_window_on_the_bitmex_table():
    # Issue 19 #2: a short of 25,250,000 contracts at 50,000, 36x on BitMEX's (step, inverse)
    # risk limits is liquidated from 50,400; above ~50,5xx its coin notional falls a tier and it is
    # healthy again until 50,657. The cross search used to step over the window.
    p = tm.IsolatedPosition.open(tm.load_table("bitmex-xbtusd-risk-limits"), "short", 25_250_000, 50_000, 36)
    assert p.liquidation_price().price == pytest.approx(50_400) and p.is_liquidated(50_450)
    _, above = _one_position_account(p).liquidation_prices({"X": 50_000.0}, "X")
    assert above.price == pytest.approx(50_400)


@st.composite
def bundled_positions(draw):
    """Positions on every bundled table, any size up to its last cap, any allowed leverage."""
    t = tm.load_table(draw(st.sampled_from(tm.table_ids())))
    side = draw(st.sampled_from(["long", "short"]))
    entry = draw(st.floats(100, 100_000))
    top = t.max_size if np.isfinite(t.max_size) else 10 * float(t.floors[-1]) + 1e6
    size = float(np.exp(draw(st.floats(0, np.log(top)))))
    qty = size / float(t.contract.value(1, entry)) if t.basis == "notional" else size
    cap = float(t.max_leverage_at(size)) if t.max_leverage is not None else 1 / float(t.rate(size)) - 1
    lev = draw(st.floats(1, max(1.0, cap)))
    try:
        return tm.IsolatedPosition.open(t, side, qty, entry, lev)
    except ValueError:
        assume(False)


@given(bundled_positions())
def test_one_position_cross_account_matches_isolated_on_every_bundled_table(p):
    """Issue 19 #2: the two solvers agree on the bundled tables, and health keeps its sign between
    the current price and the reported liquidation price (checked on a dense grid)."""
    acc, mark = _one_position_account(p), float(p.entry)
    below, above = acc.liquidation_prices({"X": mark}, "X")
    got, iso = (below, p.liquidation_price()) if float(p.side) > 0 else (above, p.liquidation_price())
    assume(not iso.exists or 1e-6 * mark < iso.price < 1e6 * mark)
    assert got.exists == iso.exists
    if got.exists:
        assert got.price == pytest.approx(iso.price, rel=1e-9)
        between = np.linspace(mark, got.price, 20_002)[1:-1]
        assert np.all(acc.health({"X": between}) > 0)


def test_health_is_the_sum_of_position_contributions_plus_collateral():
    pos = [Position("BTCUSDT", "long", 2, 60_000), Position("ETHUSDT", "short", 30, 3_000)]
    acc = account(pos, fee_rate=0.0005)
    marks = {"BTC": np.array([55_000.0, 62_000.0]), "ETH": np.array([3_300.0, 2_900.0])}
    parts = 20_000.0
    for p, inst in zip(pos, (I_BTC, I_ETH)):
        mark = marks[inst.underlying]
        parts = parts + inst.table.contract.upnl(p.side, p.qty, p.entry, mark) - tm.requirement(inst.table, p.qty, mark, 0.0005)
    np.testing.assert_allclose(acc.health(marks), parts)


@given(st.floats(0.1, 50), st.floats(1_000, 100_000), st.lists(st.floats(100, 1e6), min_size=1, max_size=20))
def test_a_fully_hedged_pair_at_one_entry_carries_no_price_risk(qty, entry, prices):
    acc = CrossAccount([I_BTC], {"USDT": 1_000.0},
                       [Position("BTCUSDT", "long", qty, entry), Position("BTCUSDT", "short", qty, entry)],
                       mode="hedge", tier_rule="net")
    np.testing.assert_allclose(acc.health({"BTC": np.array(prices)}), 1_000.0)


@given(st.sampled_from(["long", "short"]), st.floats(0.5, 20), st.floats(5, 50), st.floats(100, 50_000))
def test_adding_collateral_never_brings_a_liquidation_price_closer(side, qty, lev, extra):
    acc = account([Position("BTCUSDT", side, qty, 60_000), Position("ETHUSDT", "short", 10, 3_000)],
                  balance=qty * 60_000 / lev)
    assume(acc.health(MARKS) > 0)
    more = acc.with_balance("USDT", extra)
    for a, b, sign in zip(acc.liquidation_prices(MARKS, "BTC"), more.liquidation_prices(MARKS, "BTC"), (-1, 1)):
        if a.exists and b.exists:
            assert sign * b.price >= sign * a.price
        else:
            assert not b.exists or a.exists


@given(st.lists(st.floats(20_000, 120_000), min_size=1, max_size=10))
def test_ratios_agree_with_health(btc):
    acc = account([Position("BTCUSDT", "long", 3, 60_000), Position("ETHUSDT", "short", 20, 3_000)], balance=15_000)
    prices = {"BTC": np.array(btc), "ETH": 3_000.0}
    r, liq = acc.margin_ratios(prices), np.asarray(acc.health(prices)) <= 0
    np.testing.assert_array_equal(r.coinw <= 1, liq)
    np.testing.assert_array_equal(r.binance >= 1, liq)
    np.testing.assert_array_equal(r.legacy <= r.legacy_threshold, liq)


def test_multi_currency_valuation_and_surface():
    inv = Instrument("BTC-USD-SWAP", OKX, "BTC")
    acc = CrossAccount([I_BTC, I_ETH, inv], {"USDT": 5_000, "BTC": 0.5},
                       [Position("BTCUSDT", "long", 1, 60_000), Position("ETHUSDT", "short", 10, 3_000),
                        Position("BTC-USD-SWAP", "long", 300, 60_000)], haircuts={"BTC": Haircut.flat(0.95)})
    s = acc.state(MARKS)
    assert acc.currency == "USD"
    assert s.equity == pytest.approx(5_000 + 0.5 * 60_000 * 0.95)
    assert s.requirement == pytest.approx((60_000 * 0.005 - 50) + 30_000 * 0.005 + 300 * 100 / 60_000 * 0.005 * 60_000)
    btc, eth = np.linspace(30_000, 90_000, 7), np.linspace(1_000, 6_000, 5)
    grid = acc.surface(MARKS, {"BTC": btc, "ETH": eth})
    assert grid.shape == (7, 5)
    for i, b in enumerate(btc):
        for j, e in enumerate(eth):
            assert grid[i, j] == pytest.approx(acc.health({"BTC": b, "ETH": e}))
    assert (grid <= 0).any() and (grid > 0).any()  # a surface, not a single price


# ---------------------------------------------------------------- bad input
def test_bad_accounts_are_refused_with_clear_errors():
    long1 = Position("BTCUSDT", "long", 1, 60_000)
    cases = [
        (lambda: account([Position("XRPUSDT", "long", 1, 1)]), "unknown symbol 'XRPUSDT'"),
        (lambda: account([long1], orders=[Order("SOLUSDT", "long", 1, 1, 10)]), "unknown symbol"),
        (lambda: account([long1, Position("BTCUSDT", "short", 1, 60_000)]), "one-way mode"),
        (lambda: account([long1, long1], mode="hedge"), "hedge mode"),
        (lambda: account([long1], mode="hedge", orders=[Order("BTCUSDT", "long", 1, 60_000, 10, reduce_only=True)]), "wrong side of the hedge"),
        (lambda: account([long1], mode="hedge", orders=[Order("BTCUSDT", "short", 2, 60_000, 10, reduce_only=True)]), "holds 1"),
        (lambda: account([long1], tier_rule="pair"), "tier_rule"),
        (lambda: account([long1], mode="portfolio"), "mode"),
        (lambda: account([long1], fee_rate=1.5), "fee_rate"),
        (lambda: CrossAccount([I_BTC], {"USDT": float("nan")}), "balances"),
        (lambda: CrossAccount([I_BTC, I_BTC], {"USDT": 1.0}), "distinct symbols"),
        (lambda: Position("BTCUSDT", "up", 1, 1), "side"),
        (lambda: Order("BTCUSDT", "long", 1, 1, 0), "leverage"),
        (lambda: Haircut([0, 10], [1.2]), "rates"),
        (lambda: Haircut([5, 10], [1]), "bounds"),
        (lambda: account([long1]).instrument("DOGE"), "unknown symbol"),
    ]
    for call, match in cases:
        with pytest.raises(ValueError, match=match):
            call()


def test_bad_prices_are_refused():
    acc = account([Position("BTCUSDT", "long", 1, 60_000)])
    with pytest.raises(ValueError, match="no price for underlying 'BTC'"):
        acc.health({"ETH": 3_000})
    with pytest.raises(ValueError, match="prices"):
        acc.health({"BTC": -1, "ETH": 3_000})
    multi = CrossAccount([I_BTC], {"USDT": 1_000, "SOL": 10}, [Position("BTCUSDT", "long", 1, 60_000)])
    with pytest.raises(ValueError, match="currency 'SOL' has no price"):
        multi.health({"BTC": 60_000})
    with pytest.raises(ValueError, match="not traded"):
        acc.liquidation_prices(MARKS, "DOGE")
    with pytest.raises(ValueError, match="already liquidated"):
        acc.liquidation_prices({"BTC": 30_000, "ETH": 3_000}, "BTC")
    with pytest.raises(ValueError, match="grid"):
        acc.surface(MARKS, {"BTC": [0, 1]})
