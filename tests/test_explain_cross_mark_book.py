"""Derivations of a cross account's liquidation price, a mark price and an order's impact: the last
line is the library's own result (hypothesis properties plus worked examples)."""

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import positions

import tiermargin as tm
from tiermargin import markprice as mp
from tiermargin.cross import CrossAccount, Haircut, Instrument, Order, Position
from tiermargin.market import Wick, synthetic_market
from tiermargin.orderbook import Book

SIDES = ("below", "above")


# ---------------------------------------------------------------- cross: the liquidation price
def _one_position_account(p, **kw):
    """As in tests/test_cross.py: cross with wallet WB is isolated with margin WB."""
    return CrossAccount([Instrument("X", p.table, "X")], {p.table.contract.settle: float(p.margin)},
                        [Position("X", float(p.side), float(p.qty), float(p.entry))], fee_rate=p.fee_rate, **kw)


def _rounding(acc, prices, underlying, price):
    """How far apart two roots of the same health can be from rounding alone: health adds amounts
    as large as the balances and the positions' values (a 4M balance less a 4M loss is 60 ± 1e-9),
    so its zero is known to ~1e-14 × their sum ÷ its slope there."""
    def usd(currency):
        return 1.0 if acc.currency != "USD" or currency in ("USD", "USDT", "USDC", "BUSD") else prices[currency]

    at = {**prices, underlying: price}
    amounts = sum(abs(v) * usd(c) for c, v in acc.balances.items())
    for p in acc.positions:
        inst = acc.instrument(p.symbol)
        c = inst.table.contract
        mark = at[inst.underlying]
        amounts += (float(c.value(p.qty, p.entry)) + float(c.value(p.qty, mark))) * usd(inst.settle)
    step = 1e-6 * price
    slope = abs(float(acc.health({**at, underlying: price + step})) - float(acc.health({**at, underlying: price - step})))
    return 1e-14 * amounts / (slope / (2 * step)) if slope > 0 else 0.0


def assert_explains(acc, prices, underlying):
    """Both sides: the last line is liquidation_prices' answer (None where there is none), and the
    health computed by hand at the current prices is the account's own."""
    library = acc.liquidation_prices(prices, underlying)
    for side, lp in zip(SIDES, library):
        d = acc.explain_liquidation_price(prices, underlying, side)
        if lp.exists:
            noise = _rounding(acc, prices, underlying, lp.price)
            assert d.result == pytest.approx(lp.price, rel=1e-9, abs=noise), str(d)
        else:
            assert d.result is None and "no liquidation price" in d.lines[-1].why, str(d)
        s = acc.state(prices)
        scale = float(abs(s.equity) + abs(s.requirement))
        assert d.line("health_now").value == pytest.approx(float(s.health), rel=1e-9, abs=1e-12 * scale), str(d)
        assert d.line("requirement").value == pytest.approx(float(s.requirement), rel=1e-9, abs=1e-12 * scale)
        assert str(d).splitlines()[0] == d.title and d._repr_markdown_().startswith(f"**{d.title}**")
    return library


@given(positions(requirement_at="mark"), st.floats(0.7, 1.4))
def test_one_position_explanation_ends_on_liquidation_prices(p, move):
    """Both contract kinds, both table forms and bases, any fee; from a price away from entry."""
    acc, mark = _one_position_account(p), float(p.entry) * move
    assume(acc.health({"X": mark}) > 0)
    assert_explains(acc, {"X": mark}, "X")


@given(positions(requirement_at="mark"))
def test_at_entry_the_one_position_explanation_is_the_isolated_price(p):
    acc, mark = _one_position_account(p), float(p.entry)
    assume(acc.health({"X": mark}) > 0)
    iso = p.liquidation_price()
    assume(not iso.exists or 1e-6 * mark < iso.price < 1e6 * mark)
    d = acc.explain_liquidation_price({"X": mark}, "X", "below" if float(p.side) > 0 else "above")
    if iso.exists:
        assert d.result == pytest.approx(iso.price, rel=1e-9), str(d)
    else:
        assert d.result is None


@st.composite
def two_position_accounts(draw):
    """Two random positions (any tables, both kinds, maybe two settle currencies valued in USD), on
    one underlying or two, under any valuation rule; the account must be healthy now."""
    p, q = draw(positions(fee=False)), draw(positions(fee=False))
    same = draw(st.booleans())
    insts = [Instrument("A", p.table, "BTC"), Instrument("B", q.table, "BTC" if same else "ETH")]
    balances: dict[str, float] = {}
    for x in (p, q):
        balances[x.table.contract.settle] = balances.get(x.table.contract.settle, 0.0) + float(x.margin)
    move = draw(st.floats(0.8, 1.25))
    prices = {"BTC": float(p.entry) * move, "ETH": float(q.entry)}
    try:
        acc = CrossAccount(insts, balances, [Position("A", float(p.side), float(p.qty), float(p.entry)),
                                             Position("B", float(q.side), float(q.qty), float(q.entry))],
                           fee_rate=draw(st.sampled_from([0.0, 0.0005, 0.002])),
                           requirement_at=draw(st.sampled_from(["mark", "entry"])),
                           fee_at=draw(st.sampled_from(["mark", "entry", "bankruptcy"])))
        healthy = acc.health(prices) > 0
    except ValueError:  # linear and inverse on one underlying with fee_at="bankruptcy"
        healthy = False
    assume(healthy)
    return acc, prices, draw(st.sampled_from(["BTC", "ETH"]) if not same else st.just("BTC"))


@given(two_position_accounts())
def test_two_position_explanation_ends_on_liquidation_prices(case):
    acc, prices, underlying = case
    assert_explains(acc, prices, underlying)


def test_binance_cross_example_btc_long_eth_short():
    """Binance's cross formula: LP = (WB − TMM1 + UPNL1 + cum − s·Q·EP)/(Q·MMR − s·Q), ETH held at
    its mark (TMM1 its maintenance margin, UPNL1 its PnL): 2 BTC long at 60,000 on the 2021 table,
    an ETH short of 10 from 3,100 at 3,000, wallet 20,000 USDT. Tier 2 (50,000–250,000): MMR 0.5 %,
    cum 50; TMM1 = 30,000 × 0.5 % = 150, UPNL1 = 1,000 → LP = (20,000 − 150 + 1,000 + 50 −
    120,000)/(2 × 0.005 − 2) = 50,251.2562…"""
    btc = Instrument("BTCUSDT", tm.load_table("binance-usdm-btcusdt-2021"), "BTC")
    eth = Instrument("ETHUSDT", tm.TierTable.single(0.005, max_leverage=100), "ETH")
    acc = CrossAccount([btc, eth], {"USDT": 20_000},
                       [Position("BTCUSDT", "long", 2, 60_000), Position("ETHUSDT", "short", 10, 3_100)])
    prices = {"BTC": 60_000.0, "ETH": 3_000.0}
    d = acc.explain_liquidation_price(prices, "BTC")
    want = (20_000 - 150 + 1_000 + 50 - 120_000) / (2 * 0.005 - 2)
    assert d.result == pytest.approx(want, rel=1e-12)
    assert d.result == pytest.approx(acc.liquidation_prices(prices, "BTC")[0].price, rel=1e-12)
    assert d.line("upl_2").value == pytest.approx(1_000) and d.line("mm_2").value == pytest.approx(150)
    assert d.line("mm_1").value == pytest.approx(550) and "tier 2" in d.line("mm_1").why
    assert d.line("health_now").value == pytest.approx(20_000 + 1_000 - 550 - 150)
    assert "ETH at 3,000" in d.line("held").why and "no tier cap" in d.line("breaks_1").why
    assert "affine in u = P" in d.line("form").why and "tier 2 of BTCUSDT long" in d.lines[-1].why
    assert "Binance FAQ" in d.source and "TMM1" in d.source
    above = acc.explain_liquidation_price(prices, "BTC", "above")
    assert above.result is None and "no liquidation price above" in above.lines[-1].why
    assert "cap 250,000 → P = 125,000 (tier 2 | 3)" in above.line("breaks_1").why


def test_an_inverse_short_on_bitmex_is_the_root_in_one_over_p():
    # Issue 19 #2's short of 25,250,000 XBTUSD at 50,000, 36x: liquidated from 50,400 (tests/test_cross.py).
    p = tm.IsolatedPosition.open(tm.load_table("bitmex-xbtusd-risk-limits"), "short", 25_250_000, 50_000, 36)
    d = _one_position_account(p).explain_liquidation_price({"X": 50_000.0}, "X", "above")
    assert d.result == pytest.approx(50_400, rel=1e-9) and d.line("liquidation_price").formula == "LP = 1 ÷ u*"
    assert "affine in u = 1/P" in d.line("form").why
    assert d.line("root").value == pytest.approx(1 / 50_400, rel=1e-9)


def test_a_step_boundary_where_health_jumps_is_the_answer():
    # A short on a linear step table rising into a higher tier (tests/test_explain_isolated.py).
    t = tm.TierTable.from_rows([[0, 1_000, 0.01, 50], [1_000, None, 0.2, 4]], form="step")
    p = tm.IsolatedPosition.open(t, "short", 9.9, 100, 40)
    acc = _one_position_account(p)
    d = acc.explain_liquidation_price({"X": 100.0}, "X", "above")
    assert d.result == pytest.approx(p.liquidation_price().price, rel=1e-9)
    assert d.result == pytest.approx(acc.liquidation_prices({"X": 100.0}, "X")[1].price, rel=1e-9)
    assert d.result == pytest.approx(1_000 / 9.9) and "jumps" in d.line("jump").why
    assert "cap 1,000 → P = 101.010101 (tier 1 | 2)" in d.line("breaks_1").why


def test_multi_currency_with_a_haircut_orders_and_fees():
    """Collateral after a haircut slice (its kink is not a tier breakpoint: health is not one line
    there, the root is bisected), an order's requirement, two settle currencies valued in USD."""
    okx = tm.load_table("okx-btc-usd-swap-2019")
    btc = Instrument("BTCUSDT", tm.load_table("binance-usdm-btcusdt-2021"), "BTC")
    eth = Instrument("ETHUSDT", tm.TierTable.from_rows([[0, 1e6, 0.005, 100], [1e6, None, 0.01, 50]]), "ETH")
    inv = Instrument("BTC-USD-SWAP", okx, "BTC")
    acc = CrossAccount([btc, eth, inv], {"USDT": 5_000, "BTC": 0.5},
                       [Position("BTCUSDT", "long", 1, 60_000), Position("ETHUSDT", "short", 10, 3_000),
                        Position("BTC-USD-SWAP", "long", 300, 60_000)],
                       orders=[Order("ETHUSDT", "long", 2, 2_900, 10)], fee_rate=0.0005,
                       haircuts={"BTC": Haircut([0, 10_000, float("inf")], [1, 0.8])})
    prices = {"BTC": 60_000.0, "ETH": 3_000.0}
    assert_explains(acc, prices, "BTC")
    assert_explains(acc, prices, "ETH")
    d = acc.explain_liquidation_price(prices, "BTC")
    assert d.line("collateral_BTC").value == pytest.approx(10_000 + 0.8 * 20_000)
    assert d.line("order_1").value == pytest.approx((0.005 + 0.0005) * 5_800)
    assert "bisected" in d.line("form").why


@pytest.mark.parametrize("fee_at", ["entry", "bankruptcy"])
def test_fees_valued_at_entry_or_at_the_bankruptcy_price(fee_at):
    # Bybit cross, inverse: balance 0.5 BTC, long 10,000 contracts at 8,000, taker 0.075 %: the
    # bankruptcy price is 5,718.57 (CrossAccount.bankruptcy_price's example).
    inv = tm.TierTable.single(0.005, contract=tm.Contract("inverse", 1, "BTC"))
    acc = CrossAccount([Instrument("BTCUSD", inv, "BTC")], {"BTC": 0.5}, [Position("BTCUSD", "long", 10_000, 8_000)],
                       fee_rate=0.00075, fee_at=fee_at)
    below, _ = assert_explains(acc, {"BTC": 8_000.0}, "BTC")
    d = acc.explain_liquidation_price({"BTC": 8_000.0}, "BTC")
    if fee_at == "bankruptcy":
        assert "bankruptcy price of BTC 5,718.57" in d.line("fee_1").why and "Bybit" in d.source
        assert d.line("fee_1").value == pytest.approx(0.00075 * 10_000 / acc.bankruptcy_price("BTC").price)
    else:
        assert d.line("fee_1").value == pytest.approx(0.00075 * 10_000 / 8_000)
    assert below.exists and d.result == pytest.approx(below.price, rel=1e-9)


def test_requirement_at_entry_has_no_breakpoints():
    t = tm.load_table("binance-usdm-btcusdt-2021")
    acc = CrossAccount([Instrument("BTCUSDT", t, "BTC")], {"USDT": 10_000}, [Position("BTCUSDT", "long", 2, 60_000)],
                       requirement_at="entry")
    d = acc.explain_liquidation_price({"BTC": 61_000.0}, "BTC")
    assert "valued at entry" in d.line("breaks_1").why and d.line("piece_1").why.startswith("P from 61,000 to 0.061")
    assert d.result == pytest.approx(acc.liquidation_prices({"BTC": 61_000.0}, "BTC")[0].price, rel=1e-12)


def test_bad_cross_requests_name_the_parameter():
    btc = Instrument("BTCUSDT", tm.load_table("binance-usdm-btcusdt-2021"), "BTC")
    acc = CrossAccount([btc], {"USDT": 10_000}, [Position("BTCUSDT", "long", 1, 60_000)])
    for call, match in [(lambda: acc.explain_liquidation_price({"BTC": 60_000}, "BTC", "down"), "side"),
                        (lambda: acc.explain_liquidation_price({"BTC": 60_000}, "ETH"), "not traded"),
                        (lambda: acc.explain_liquidation_price({"BTC": [60_000, 61_000]}, "BTC"),
                         r"prices\['BTC'\] must be one price"),
                        (lambda: acc.explain_liquidation_price({"BTC": -1}, "BTC"), r"prices\['BTC'\]"),
                        (lambda: acc.explain_liquidation_price({"ETH": 1}, "BTC"), "no price for underlying"),
                        (lambda: acc.explain_liquidation_price({"BTC": 45_000}, "BTC"), "already liquidated")]:
        with pytest.raises(ValueError, match=match):
            call()


# ---------------------------------------------------------------- mark price
@st.composite
def markets(draw):
    wick = draw(st.sampled_from([None, Wick(100, 60, 0.2, "last"), Wick(100, 60, 0.3, 1),
                                 Wick(100, 60, 0.3, "all")]))
    stale = draw(st.sampled_from([None, 2]))
    return synthetic_market(seed=draw(st.integers(0, 10_000)), duration=400, step=draw(st.sampled_from([5.0, 20.0])),
                                      wick=wick, stale_venue=stale, stale_from=50.0)


@given(markets(), st.integers(-1, 80), st.sampled_from([10.0, 60.0, 300.0]), st.sampled_from(["okx", "median3"]),
       st.sampled_from([None, 30.0]), st.sampled_from([0.02, 0.05]), st.sampled_from([None, [1, 2, 3, 4], [0, 0, 1, 1]]))
def test_mark_explanation_ends_on_mark_prices(m, at, window, form, max_age, threshold, weights):
    at = min(at, len(m.times) - 1)
    res = mp.mark_prices(m, window, threshold, weights, max_age, form)
    d = mp.explain_mark_price(m, at, window, threshold, weights, max_age, form)
    assert d.result == pytest.approx(float(res.mark[at]), rel=1e-12)
    assert d.line("index").value == pytest.approx(float(res.index.price[at]), rel=1e-12)
    assert d.line("basis_ma").value == pytest.approx(float(res.basis_ma[at]), rel=1e-9, abs=1e-9 * float(res.mark[at]))
    if form == "median3":
        assert d.line("p2").value == pytest.approx(float(mp.mark_price(res.index.price[at], res.basis_ma[at])), rel=1e-12)
    n = int(np.sum((m.times > m.times[at] - window) & (m.times <= m.times[at])))
    assert d.line("window").why.startswith(f"{n} samples") and (("basis_sum" in str([ln.key for ln in d.lines])) == (n > 6))


def test_mark_worked_example_in_full():
    # Three samples at 20 s, window 45 s: the basis of each, its mean, index + MA.
    m = synthetic_market(seed=1, duration=60, step=20)
    d = mp.explain_mark_price(m, at=3, window=45)
    idx = mp.index_price(m.spot).price
    basis = m.last[1:4] - idx[1:4]
    assert [d.line(f"basis_{k}").value for k in (1, 2, 3)] == pytest.approx(list(basis), rel=1e-12)
    assert d.line("basis_ma").value == pytest.approx(basis.mean(), rel=1e-12)
    assert d.result == pytest.approx(idx[3] + basis.mean(), rel=1e-12) == float(mp.mark_prices(m, window=45).mark[3])
    assert "Spot Index Price + Basis Moving Average" in d.source


def test_median_of_three_and_the_index_rules_are_shown():
    # An outlier venue (a 30 % wick on OKX) and a stale one; the median of three picks the middle one.
    m = synthetic_market(seed=2, wick=Wick(100, 60, 0.3, 1), stale_venue=2, stale_from=50)
    d = mp.explain_mark_price(m, at=26, window=300, max_age=30, form="median3")
    q = d.line("quotes").why
    assert "OKX" in q and "outlier" in q and "Coinbase" in q and "stale: dropped" in q
    three = [d.line(k).value for k in ("p1", "p2", "last")]
    assert d.result == sorted(three)[1] == pytest.approx(float(mp.mark_prices(m, 300, max_age=30, form="median3").mark[26]))
    assert d.line("p1").value == pytest.approx(float(mp.funding_price(d.line("index").value, m.funding_rate[26],
                                                                      m.time_to_funding[26], m.funding_interval)))


def test_median_index_when_two_venues_deviate():
    m = synthetic_market(seed=3, duration=100, step=10)
    spot = m.spot.copy()
    spot[5, 0] *= 1.2
    spot[5, 1] *= 0.8
    from dataclasses import replace
    m = replace(m, spot=spot)
    d = mp.explain_mark_price(m, at=5, window=30)
    assert d.line("index").formula == "index = m" and "2 venues" in d.line("index").why
    assert d.line("index").value == pytest.approx(float(mp.index_price(spot).price[5]))


def test_bad_mark_requests_name_the_parameter():
    m = synthetic_market(seed=1, duration=60, step=20)
    for kwargs, match in [({"at": 4}, "at must be a sample index"), ({"at": 1.5}, "at must be"),
                          ({"at": 0, "window": 0}, "window"), ({"at": 0, "form": "binance"}, "form")]:
        with pytest.raises(ValueError, match=match):
            mp.explain_mark_price(m, **kwargs)


# ---------------------------------------------------------------- order book
@given(st.floats(1e3, 1e12) | st.just(math.inf), st.floats(1, 1e5) | st.just(math.inf), st.floats(-300, 1e4),
       st.floats(1, 1e6), st.none() | st.floats(0, 1e5))
def test_order_explanation_ends_on_the_books_own_methods(depth, half_life, depths, price, after):
    """Orders from a buy of 300 × depth (the price × e³) to a sale of 10,000 × depth."""
    b = Book(depth, half_life)
    notional = depths * (depth if math.isfinite(depth) else 1e9)
    d = b.explain_order(notional, price, after)
    assert d.line("move").value == pytest.approx(float(b.move(notional)), rel=1e-12, abs=1e-300)
    assert d.line("fill").value == pytest.approx(float(b.fill(price, notional)), rel=1e-12)
    assert d.line("new_price").value == pytest.approx(price * math.exp(float(b.move(notional))), rel=1e-12)
    if after is None:
        assert d.result == d.line("fill").value
    else:
        assert d.line("recovery").value == pytest.approx(b.recovery(after), rel=1e-12)
        assert d.result == pytest.approx(price * math.exp(float(b.move(notional)) * b.recovery(after)), rel=1e-12)


def test_order_worked_example_and_the_lesson_numbers():
    # The module docstring: selling 1 % of depth moves the price 0.01 %; 10 × depth, 1 − e^−0.1 ≈ 9.5 %.
    b = Book(depth=20_000_000, half_life=300)
    assert b.explain_order(200_000, 100).line("move").value == pytest.approx(-1e-4)
    ten = b.explain_order(10 * 20_000_000, 60_000)
    assert ten.line("new_price").value / 60_000 - 1 == pytest.approx(-(1 - math.exp(-0.1)))
    assert "−9.516" in ten.line("new_price").why
    # one half life later half the move is left: the price is back at the average fill
    d = b.explain_order(b.order_for(0.05), 60_000, after=300)
    assert d.result == pytest.approx(d.line("fill").value) and d.line("recovery").value == 0.5
    assert "Obizhaeva" in d.source and d.title.startswith("A sale")
    assert b.explain_order(-1e6, 60_000).line("new_price").value > 60_000


def test_bad_order_requests_name_the_parameter():
    b = Book()
    for args, match in [((float("nan"), 100), "notional"), ((1e6, 0), "price"), ((1e6, 100, -1), "after"),
                        (([1e6, 2e6], 100), "notional must be one number")]:
        with pytest.raises(ValueError, match=match):
            b.explain_order(*args)
