"""Where the fee reserve is valued (``fee_at``): at the mark, at entry, or at the bankruptcy price.

Bybit's own worked examples are reproduced to the cent, before and after its 0.5 rounding
(``Rulebook.round_price``). Each test cites the page: title, address, and when it was seen. The
pages were read in stored copies on 2026-12-06; where the stored copy of Bybit's page ends before
its example, the test says where the example's numbers were read instead.
"""

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import positions

import tiermargin as tm
from tiermargin import Contract, IsolatedPosition, TierTable
from tiermargin.cross import CrossAccount, Instrument, Order, Position
from tiermargin.rules import PRESETS, Rulebook, preset

CENT = 0.005
BYBIT, UTA = preset("bybit"), preset("bybit-uta")
LINEAR = TierTable.single(0.005, max_leverage=100)  # MMR 0.5 %, the examples' assumption
USDC = TierTable.single(0.005, max_leverage=100, contract=Contract("linear", 1.0, "USDC"))
INVERSE = TierTable.single(0.005, max_leverage=100, contract=Contract("inverse", 1.0, "BTC"))  # 1 USD contracts


def bybit_open(table, side, qty, entry, leverage, extra=0.0, book=BYBIT):
    """A position opened under a Bybit rulebook's rules on ``table``."""
    return IsolatedPosition.open(table, side, qty, entry, leverage, extra, fee_rate=book.fee_rate,
                                 requirement_at=book.requirement_at, fee_at=book.fee_at)


def test_bybit_preset_values_the_fee_to_close_at_the_bankruptcy_price_at_the_taker_rate():
    # 0.055 %: the taker rate of the UTA examples below and of "Initial Margin Calculation (USDC
    # Perpetual & Futures)" (bybitglobal.com copy, seen 2026-12-06).
    assert (BYBIT.fee_at, BYBIT.fee_rate, BYBIT.requirement_at) == ("bankruptcy", 0.00055, "entry")
    assert all(b.fee_at == "mark" for b in PRESETS.values() if not b.id.startswith("bybit"))
    assert UTA == replace(BYBIT, id="bybit-uta", venue=UTA.venue, requirement_at="mark", sources=UTA.sources)


# ---------------------------------------------------------------- Bybit, USDT contract, isolated
def test_bybit_usdt_isolated_long_20000_50x_is_19700():
    # Bybit help "Liquidation Price (USDT Contract)",
    # https://testnet.bybit.com/en-US/help-center/s/article/Liquidation-Price-USDT-Contract (undated
    # page, seen 2026-12-06): "Trader A placed a long entry of 1 BTC at 20,000 USDT with 50x leverage.
    # Assuming the Maintenance Margin Rate (MMR) is 0.5% ... Initial Margin = 400 USDT, Maintenance
    # Margin = 100 USDT, LP = 20,000 USDT - (400 - 100) = 19,700 USDT". The position margin holds the
    # fee to close at the bankruptcy price, so the fee drops out of the liquidation price.
    p = bybit_open(LINEAR, "long", 1, 20_000, 50)
    assert float(p.margin) == pytest.approx(400 + 19_600 * 0.00055, abs=1e-9)  # 410.78
    assert p.maintenance_margin(20_000) == pytest.approx(100)
    lp = p.liquidation_price()
    assert lp.price == pytest.approx(19_700, abs=CENT)
    assert BYBIT.round_price(lp.price, 1) == 19_700.0
    # "Bankruptcy Price (USDT Contract)": "Bankruptcy Price = Entry Price × (1 - Initial Margin Rate)"
    assert p.bankruptcy_price().price == pytest.approx(19_600, abs=CENT)


def test_bybit_usdt_isolated_classic_examples_9850_and_8160():
    # Bybit help "Liquidation Price (USDT Contract)" (older version),
    # https://help.bybit.com/hc/en-us/articles/900000181046-Liquidation-Price-USDT-Contract- (seen
    # 2026-12-06): "long entry of 1 BTC at 10,000 USDT with 50x leverage ... Liquidation Price =
    # 10,000 USDT * (1 - 2% + 0.5%) = 9,850 USDT"; "short entry of 1 BTC at 8,000USDT with 40x
    # leverage ... Liquidation Price = 8,000 USDT * (1 + 2.5% - 0.5%) = 8160 USDT".
    long_, short = bybit_open(LINEAR, "long", 1, 10_000, 50), bybit_open(LINEAR, "short", 1, 8_000, 40)
    assert long_.liquidation_price().price == pytest.approx(9_850, abs=CENT)
    assert short.liquidation_price().price == pytest.approx(8_160, abs=CENT)
    assert BYBIT.round_price(long_.liquidation_price().price, 1) == 9_850.0
    assert BYBIT.round_price(short.liquidation_price().price, -1) == 8_160.0
    # "Bankruptcy Price (USDT Contract)" (bybitx.global help-centre search copy, seen 2026-12-06):
    # "1BTC Long position with an entry price at 10,000USDT, leverage is 50x. Bankruptcy Price=
    # 10,000 × (1 - 2%) = 9,800 USDT".
    assert long_.bankruptcy_price().price == pytest.approx(9_800, abs=CENT)


def test_bybit_usdt_isolated_short_with_added_margin_shows_where_the_fee_matters():
    # "Liquidation Price (USDT Contract)" Example 2 (the testnet copy above ends at "Trader B
    # initially placed a short en"; the numbers as restated at https://open-lib.com/8036.html, seen
    # 2026-12-06): short 1 BTC at 20,000, 50x, then 3,000 USDT added → 23,300 by the fee-free
    # formula EP + (IM − MM)/Q + Extra/Q. With the fee to close valued at the bankruptcy price the
    # added margin also pays the fee on the extra distance, Extra/(1 + f) (the UTA formula below).
    p = bybit_open(LINEAR, "short", 1, 20_000, 50, extra=3_000)
    fee_free = bybit_open(LINEAR, "short", 1, 20_000, 50, extra=3_000, book=replace(BYBIT, fee_rate=0.0))
    assert fee_free.liquidation_price().price == pytest.approx(23_300, abs=CENT)
    assert p.liquidation_price().price == pytest.approx(20_300 + 3_000 / 1.00055, abs=CENT)  # 23,298.35
    assert BYBIT.round_price(p.liquidation_price().price, -1) == 23_298.0


def test_bybit_uta_usdt_isolated_long_with_extra_margin_is_36380_25():
    # Bybit help "Liquidation Price Calculation under Isolated Mode (Unified Trading Account)",
    # https://www.bybit.com/en/help-center/article/Liquidation-Price-Calculation-under-Isolated-Mode-Unified-Trading-Account
    # (stored copy at kbybit.com, "Last updated on 2026-05-27", seen 2026-12-06): "Initial Margin =
    # (Position Value / Leverage) + Estimated Fee to Close Position", "Maintenance Margin = (Position
    # Value x MMR) − Maintenance Margin Deduction + Estimated Fee to Close Position", "Position Value =
    # Contract Quantity ÷ Mark Price" (the maintenance margin at the mark). The copy ends before the
    # USDT example; its numbers, from Bybit's "Trading Rules: Liquidation Process (Unified Trading
    # Account)", https://www.bybit.com/en/help-center/article/UTA-Trading-Rules-Liquidation-Process
    # (updated 2026-08-07), as quoted in public course notes and code seen 2026-12-06: "Liquidation
    # Price (Long) = [(Entry Price × Position Size) − (Entry Price × Position Size ÷ Leverage) − (Extra
    # Margin Added ÷ (1 − Taker Fee Rate)) − MM Deduction] ÷ [Position Size − (Position Size × MM
    # Rate)]"; 1 BTC long at 40,000 USDT, 50x, 3,000 USDT added, MMR 0.5%, taker 0.055%, deduction 0:
    # fee to close 40,000 × (1 − 1/50) × 0.055% = 21.56, initial margin 821.56, maintenance margin
    # (40,000 × 0.5%) − 0 + 21.56 = 221.56, liquidation price ≈ 36,380.25 USDT.
    p = bybit_open(LINEAR, "long", 1, 40_000, 50, extra=3_000, book=UTA)
    assert float(p.margin) - 3_000 == pytest.approx(821.56, abs=CENT)
    lp = p.liquidation_price()
    assert lp.price == pytest.approx(36_380.25, abs=CENT)
    assert BYBIT.round_price(lp.price, 1) == 36_380.5
    assert p.health(lp.price) == pytest.approx(0.0, abs=1e-9)
    # The page's displayed maintenance margin counts the fee at the bankruptcy price of the initial
    # margin (21.56); its liquidation-price formula, reproduced here, counts it at the bankruptcy
    # price of the whole margin, 3,000 added included: 21.56 − 0.055% × 3,000/(1 − 0.055%) = 19.91.
    assert p.fee_reserve(40_000) == pytest.approx(21.56 - 0.00055 * 3_000 / (1 - 0.00055), abs=1e-9)
    assert p.requirement(40_000) == pytest.approx(200 + 19.909, abs=CENT)
    assert p.fee_reserve(40_000) == pytest.approx(0.00055 * p.bankruptcy_price().price, abs=1e-9)


# ---------------------------------------------------------------- Bybit, inverse contract
def test_bybit_uta_inverse_isolated_short_is_66333_33():
    # The same UTA page (kbybit.com copy, "Last updated on 2026-05-27", seen 2026-12-06), inverse:
    # "Liquidation Price (Short) = [Position Size × (1 − MM Rate)] ÷ [(Position Size ÷ Entry Price) −
    # (Position Size ÷ Entry Price ÷ Leverage) − (Extra Margin Added ÷ ( 1 − Taker Fee Rate)) − MM
    # Deduction]". The example (in "Trading Rules: Liquidation Process (Unified Trading Account)",
    # updated 2026-08-07, as quoted in public course notes seen 2026-12-06): short 30,000 USD at
    # 60,000, 10x, no extra margin, MMR 0.5%, taker 0.055%: fee to close 0.5 × (1 − 1/10) × 0.055% =
    # 247.5 µBTC, initial margin 50,247.5 µBTC, maintenance margin at entry 2,747.5 µBTC,
    # liquidation price 30,000 × (1 − 0.005)/(0.5 − 0.05) ≈ 66,333.333.
    p = bybit_open(INVERSE, "short", 30_000, 60_000, 10, book=UTA)
    assert float(p.margin) == pytest.approx(0.0502475, abs=1e-12)
    assert p.requirement(60_000) == pytest.approx(0.0027475, abs=1e-12)
    lp = p.liquidation_price()
    assert lp.price == pytest.approx(66_333.33, abs=CENT)
    assert BYBIT.round_price(lp.price, -1) == 66_333.0
    assert p.bankruptcy_price().price == pytest.approx(60_000 * 10 / 9, abs=CENT)  # EP·L/(L − 1)


def test_bybit_inverse_cross_long_bankruptcy_5718_57_and_liquidation_5739_50():
    # Bybit help "How to calculate Liquidation Price (Inverse Contract)",
    # https://help.bybit.com/hc/en-us/articles/360039261334-How-to-calculate-Liquidation-Price-Inverse-Contract-
    # (seen 2026-12-06), cross margin: "Quantity × (1/Average Entry Price − 1/Liquidation Price) =
    # −(Account Balance − Order Margin − Quantity/Average Entry Price × Maintenance Margin − Quantity ×
    # 0.00075 / Bankruptcy Price)"; "Trader B has account balance of 0.5BTC and buy long 10000
    # contracts at 8,000 USD using Cross Margin ... Bankruptcy Price = 1.00075 × 10000 / (10000/8000 +
    # (0.5 − 0)) = 5718.57 ... Liquidation Price = 5739.50". The maintenance margin is valued at entry,
    # the fee (then 0.075%) at the bankruptcy price, which counts the fee itself; 5739.50 is the
    # solution 5,739.08 rounded up to 0.5.
    book = replace(BYBIT, fee_rate=0.00075)
    acc = CrossAccount([Instrument("BTCUSD", INVERSE, "BTC")], {"BTC": 0.5}, [Position("BTCUSD", "long", 10_000, 8_000)],
                       tier_rule=book.cross_tier_rule, fee_rate=book.fee_rate, requirement_at=book.requirement_at,
                       fee_at=book.fee_at)
    bp = acc.bankruptcy_price("BTC")
    assert bp.exists and bp.price == pytest.approx(5_718.57, abs=CENT)
    # "What is Bankruptcy Price?" (help.bybit.com/hc/en-us/articles/360011431853, seen 2026-12-06):
    # "For long position, the bankruptcy price will be rounded up to the nearest 0.5".
    assert book.round_price(bp.price, 1) == 5_719.0
    below, above = acc.liquidation_prices({"BTC": 8_000}, "BTC")
    assert below.exists and not above.exists
    assert below.price == pytest.approx(5_739.08, abs=CENT)
    assert book.round_price(below.price, 1) == 5_739.5
    # The same as an isolated position with margin 0.5 BTC under the same rules.
    iso = IsolatedPosition(INVERSE, 1, 10_000, 8_000, 0.5, 2.5, book.fee_rate, book.requirement_at, book.fee_at)
    assert iso.liquidation_price().price == pytest.approx(below.price, rel=1e-12)
    assert iso.bankruptcy_price().price == pytest.approx(bp.price, rel=1e-12)


# ---------------------------------------------------------------- Bybit, USDC contract
@pytest.mark.parametrize("rate, long_fee, short_fee", [(0.00055, 12.375, 15.125), (0.0006, 13.50, 16.50)])
def test_bybit_usdc_estimated_fee_to_close_and_initial_margin(rate, long_fee, short_fee):
    # Bybit help "Initial Margin Calculation (USDC Perpetual & Futures)",
    # https://bybitglobal.com/ar-SA/help-center/article/Initial-Margin-Calculation-USDC-Contract (seen
    # 2026-12-06): "Trader A places a 0.5 BTC contract at a price of $50,000 with 10x leverage ...
    # Estimated Fee to close position = 0.5 × 50,000 × (1 − 1 / 10 ) × 0.055% = 12.375 USDC ... the
    # initial margin for the position is (2,500 + 12.375), or 2,512.375 USDC"; short "× (1 + 1 / 10 )
    # ... = 15.125 USDC". The older version, help.bybit.com/hc/en-us/articles/4430167656729 (seen
    # 2026-12-06), at a 0.06% taker rate: 13.50 and 2,513.50; 16.50 and 2,516.50.
    book = replace(BYBIT, fee_rate=rate)
    for side, fee in (("long", long_fee), ("short", short_fee)):
        p = bybit_open(USDC, side, 0.5, 50_000, 10, book=book)
        assert float(p.margin) == pytest.approx(2_500 + fee, abs=1e-9)
        assert p.fee_reserve(50_000) == pytest.approx(fee, abs=1e-9)
        # The same fee on an open order in a cross account (the page's cross-margin mode): valued at
        # the order's bankruptcy price, "Order Price × (1 − 1/Leverage)" ("Order Cost (USDT Contract)").
        inst = Instrument("BTCPERP", USDC, "BTC")
        order = Order("BTCPERP", side, 0.5, 50_000, 10)
        acc = CrossAccount([inst], {"USDC": 10_000}, orders=[order], fee_rate=rate, fee_at="bankruptcy")
        no_fee = CrossAccount([inst], {"USDC": 10_000}, orders=[order])
        extra = acc.state({"BTC": 50_000}).requirement - no_fee.state({"BTC": 50_000}).requirement
        assert extra == pytest.approx(fee, abs=1e-9)


def test_ratios_reach_their_thresholds_at_the_liquidation_price_with_the_fee_at_bankruptcy():
    p = bybit_open(LINEAR, "long", 1, 40_000, 50, extra=3_000, book=UTA)
    lp = p.liquidation_price().price
    r = p.margin_ratios(lp)
    assert r.coinw == pytest.approx(1.0) and r.binance == pytest.approx(1.0)
    assert r.legacy == pytest.approx(r.legacy_threshold)
    assert r.legacy_threshold == pytest.approx((0.005 * lp + p.fee_reserve(lp)) / lp)
    assert p.summary(40_000)["requirement"] == pytest.approx(p.requirement(40_000))


# ---------------------------------------------------------------- validation and vectorization
def test_unknown_fee_valuation_is_refused_naming_the_parameter_and_the_options():
    p = IsolatedPosition.open(LINEAR, "long", 1, 60_000, 10)
    for call in (lambda: replace(p, fee_at="liquidation"),
                 lambda: IsolatedPosition.open(LINEAR, "long", 1, 60_000, 10, fee_at="close"),
                 lambda: tm.liquidation_price(LINEAR, "long", 1, 60_000, 6_000, fee_at="exit"),
                 lambda: tm.liquidation_price_in_tier(LINEAR, "long", 1, 60_000, 6_000, 1, fee_at="exit"),
                 lambda: Rulebook("x", "X", None, fee_at="settle"),
                 lambda: CrossAccount([Instrument("X", LINEAR, "X")], {"USDT": 1.0}, fee_at="open")):
        with pytest.raises(ValueError, match=r"fee_at must be one of 'mark', 'entry', 'bankruptcy'"):
            call()


def test_cross_entry_valuation_needs_one_position_per_group_and_one_kind_per_underlying():
    inst = Instrument("X", LINEAR, "X")
    with pytest.raises(ValueError, match="requirement_at='entry'.*tier_rule='position'"):
        CrossAccount([inst], {"USDT": 1.0}, tier_rule="net", requirement_at="entry")
    mixed = [inst, Instrument("XI", TierTable.single(0.005, contract=Contract("inverse", 1.0, "USDT")), "X")]
    legs = [Position("X", "long", 1, 100), Position("XI", "short", 100, 100)]
    with pytest.raises(ValueError, match="mix linear and inverse"):
        CrossAccount(mixed, {"USDT": 100.0}, legs, fee_at="bankruptcy")
    with pytest.raises(ValueError, match="fee_rate"):
        CrossAccount([inst], {"USDT": 100.0}, [Position("X", "long", 1, 100)]).bankruptcy_price("X", 1.5)


def test_fee_valuations_broadcast_over_positions_and_prices():
    side, qty, entry = np.array([1, -1, 1]), np.array([1.0, 2.0, 3.0]), np.array([100.0, 200.0, 300.0])
    p = IsolatedPosition.open(LINEAR, side, qty, entry, 20, fee_rate=0.001, fee_at="bankruptcy")
    lp = p.liquidation_price()
    assert np.asarray(lp.price).shape == (3,)
    for i in range(3):
        one = IsolatedPosition.open(LINEAR, int(side[i]), qty[i], entry[i], 20, fee_rate=0.001, fee_at="bankruptcy")
        assert lp.price[i] == pytest.approx(one.liquidation_price().price, rel=1e-12)
    grid = np.linspace(50, 400, 7)[:, None]
    assert np.shape(p.health(grid)) == (7, 3) and np.shape(p.fee_reserve(grid)) == (7, 3)
    assert np.allclose(p.fee_reserve(grid), p.fee_reserve(entry))


# ---------------------------------------------------------------- properties
FEE_AT = st.sampled_from(["mark", "entry", "bankruptcy"])


def _scale(p):
    return float(p.margin + p.value(p.entry))


def _u(p, price):
    """The price coordinate of a liquidation price (0 and inf where there is none) as a number."""
    with np.errstate(divide="ignore"):
        return price if p.table.contract.kind == "linear" else 1.0 / price


@given(positions(), FEE_AT)
def test_health_is_zero_at_the_liquidation_price_under_each_fee_valuation(p, fee_at):
    p = replace(p, fee_at=fee_at)
    assume(p.health(p.entry) > 0)
    lp = p.liquidation_price()
    assume(lp.exists)
    tol = 1e-9 * _scale(p)
    if abs(p.health(lp.price)) > tol:  # a step table's boundary, where health jumps across zero
        s = float(p.side)
        assert p.table.form == "step"
        assert p.health(lp.price * (1 + s * 1e-9)) > 0 >= p.health(lp.price * (1 - s * 1e-9))


@given(positions(fee=False), st.sampled_from(["mark", "entry"]), st.floats(0.2, 5.0))
def test_the_three_valuations_agree_without_a_fee(p, requirement_at, move):
    p = replace(p, requirement_at=requirement_at)
    books = [replace(p, fee_at=f) for f in ("mark", "entry", "bankruptcy")]
    price = float(p.entry) * move
    lps = [b.liquidation_price() for b in books]
    assert all(lp == lps[0] for lp in lps)
    assert all(b.health(price) == books[0].health(price) for b in books)
    assert all(b.bankruptcy_price() == books[0].bankruptcy_price() for b in books)


@given(positions())
def test_the_fee_at_bankruptcy_is_below_the_fee_at_entry_exactly_where_bankruptcy_lowers_the_value(p):
    """``u_B < u_E`` iff ``σs = +1`` (a linear long, an inverse short: the value falls towards
    bankruptcy), given margin above the fee at entry; ``σs = −1`` the other way round."""
    at_b, at_e = replace(p, fee_at="bankruptcy"), replace(p, fee_at="entry")
    fb, fe = at_b.fee_reserve(p.entry), at_e.fee_reserve(p.entry)
    assume(float(p.margin) > fe)
    tol = 1e-12 * _scale(p)
    if p.table.contract.sigma * float(p.side) > 0:
        assert fb <= fe + tol
    else:
        assert fb >= fe - tol


@given(positions())
def test_in_the_price_coordinate_the_fee_at_bankruptcy_liquidates_at_or_below_entry_and_mark(p):
    """``u(LP_bankruptcy) ≤ u(LP_entry)`` and ``≤ u(LP_mark)``: for linear contracts the liquidation
    price with the fee at the bankruptcy price is at or below the others (a long's further from
    entry, a short's nearer), for inverse contracts at or above. Health with the fee at bankruptcy
    minus health with it at ``u`` is ``f·Q·FV·(u − u_B)``, of the sign that makes the first adverse
    crossing come no later in ``u``."""
    at = {f: replace(p, fee_at=f) for f in ("mark", "entry", "bankruptcy")}
    assume(all(q.health(p.entry) > 0 for q in at.values()))
    u = {f: _u(p, q.liquidation_price().price) for f, q in at.items()}
    for other in ("entry", "mark"):
        assert u["bankruptcy"] <= u[other] * (1 + 1e-9) + 1e-300


@given(positions(), st.floats(0.0, 2.0))
def test_margin_left_after_the_fee_at_bankruptcy_is_initial_margin_plus_extra_over_one_minus_sigma_s_f(p, extra_share):
    """Opening with ``fee_at="bankruptcy"`` adds Bybit's estimated fee to close ``F₀``; then
    ``M − F_B = value/L + E/(1 − σs·f)``: Bybit's ``Extra Margin Added ÷ (1 ∓ Taker Fee Rate)``."""
    value = float(p.value(p.entry))
    extra = extra_share * value / float(p.leverage)
    try:
        q = IsolatedPosition.open(p.table, float(p.side), float(p.qty), float(p.entry), float(p.leverage), extra,
                                  fee_rate=p.fee_rate, requirement_at=p.requirement_at, fee_at="bankruptcy")
    except ValueError:
        assume(False)
    sign = p.table.contract.sigma * float(p.side)
    left = float(q.margin) - q.fee_reserve(p.entry)
    bp = q.bankruptcy_price()
    if not bp.exists:  # never bankrupt (e.g. a 1x linear long): no fee reserve
        assert q.fee_reserve(p.entry) == 0.0
        return
    assert left == pytest.approx(value / float(p.leverage) + extra / (1 - sign * p.fee_rate), rel=1e-9)
    # equity at the bankruptcy price is the fee reserve: health there is −MM ≤ 0
    assert q.equity(bp.price) == pytest.approx(q.fee_reserve(bp.price), abs=1e-9 * _scale(q))
    assert q.health(bp.price) <= 1e-9 * _scale(q)


@given(positions(), FEE_AT, st.sampled_from(["mark", "entry"]))
def test_one_position_cross_account_liquidates_where_the_isolated_one_does_under_each_fee_valuation(p, fee_at, req_at):
    p = replace(p, fee_at=fee_at, requirement_at=req_at)
    inst = Instrument("X", p.table, "X")
    acc = CrossAccount([inst], {p.table.contract.settle: float(p.margin)},
                       [Position("X", float(p.side), float(p.qty), float(p.entry))], fee_rate=p.fee_rate,
                       requirement_at=req_at, fee_at=fee_at)
    mark = float(p.entry)
    assert acc.health({"X": mark}) == pytest.approx(p.health(mark), abs=1e-9 * _scale(p))
    assume(acc.health({"X": mark}) > 0)
    below, above = acc.liquidation_prices({"X": mark}, "X")
    iso = p.liquidation_price()
    # the side of the mark the isolated solve found (a long on a step table can cross a boundary
    # into a higher tier above entry)
    got = (below if iso.price < mark else above) if iso.exists else (below if float(p.side) > 0 else above)
    assume(not iso.exists or 1e-6 * mark < iso.price < 1e6 * mark)
    assert got.exists == iso.exists
    if iso.exists:
        assert got.price == pytest.approx(iso.price, rel=1e-9)
    bp, cross_bp = p.bankruptcy_price(), acc.bankruptcy_price("X")
    assert cross_bp.exists == bp.exists
    if bp.exists:
        assert cross_bp.price == pytest.approx(bp.price, rel=1e-9)
