"""Sweep cases for tiermargin.cross, tiermargin.derivation, tiermargin.markprice, tiermargin.market and
tiermargin.orderbook (the "cross" group).

Accounts hold two positions and one order on two underlyings; markets are a minute of 20-second samples
(four times), so the group's sweep stays within a few seconds.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from sweep import CHOICE, COUNT, FLAG, NONNEGATIVE, OBJECT, POSITIVE, RATE, REAL, SEQUENCE, SIDE, TEXT, Case, Kind, Param

from tiermargin.alternatives import LinearSchedule
from tiermargin.contracts import Contract
from tiermargin.cross import CrossAccount, Haircut, Instrument, Order, Position
from tiermargin.market import Wick, synthetic_market
from tiermargin.markprice import (basis_moving_average, explain_mark_price, funding_mark_price, funding_price,
                                  index_price, mark_price, mark_prices)
from tiermargin.orderbook import Book
from tiermargin.tiers import TierTable, load_table

# ------------------------------------------------------------------ shared valid objects
BTC = Instrument("BTCUSDT", load_table("binance-usdm-btcusdt-2021"), "BTC")
ETH = Instrument("ETHUSDT", TierTable.single(0.005, max_leverage=100), "ETH")
INVERSE = Instrument("BTCUSD", TierTable.single(0.005, contract=Contract("inverse", 1, "BTC")), "BTC")
POSITIONS = (Position("BTCUSDT", "long", 2, 60_000), Position("ETHUSDT", "short", 10, 3_000))
ORDERS = (Order("BTCUSDT", "long", 0.5, 58_000, 10),)
PRICES = {"BTC": 60_000.0, "ETH": 3_000.0}


def account() -> CrossAccount:
    """Binance's cross example (a BTC long and an ETH short share 20,000 USDT) with an open order."""
    return CrossAccount([BTC, ETH], {"USDT": 20_000.0}, POSITIONS, ORDERS, fee_rate=0.0005)


def inverse_account() -> CrossAccount:
    """Bybit's inverse cross example: 0.5 BTC, a long of 10,000 contracts at 8,000, fee at bankruptcy."""
    return CrossAccount([INVERSE], {"BTC": 0.5}, [Position("BTCUSD", "long", 10_000, 8_000)], fee_rate=0.00075,
                        fee_at="bankruptcy")


def market():
    return synthetic_market(seed=1, duration=60.0, step=20.0)


def haircut() -> Haircut:
    return Haircut([0.0, 5e6, 10e6, math.inf], [1.0, 0.9, 0.8])


# ------------------------------------------------------------------ kinds of this group
TEXT_STR = TEXT.allowing("str")  # free text: "2" is a valid label
PRICES_KIND = OBJECT.with_bad(
    missing={"ETH": 3_000.0},
    zero={"BTC": 0.0, "ETH": 3_000.0},
    negative={"BTC": -60_000.0, "ETH": 3_000.0},
    nan_price={"BTC": math.nan, "ETH": 3_000.0},
    price_text={"BTC": "60000", "ETH": 3_000.0},
    price_bool={"BTC": True, "ETH": 3_000.0},
    pairs=[("BTC", 60_000.0), ("ETH", 3_000.0)],
)
ONE_PRICE_KIND = PRICES_KIND.with_bad(array={"BTC": [59_000.0, 60_000.0], "ETH": 3_000.0})
PRICES_P = Param(PRICES, PRICES_KIND, aliases=("prices",))
# frozen_margin uses prices only to convert another settle currency, surface's grid replaces BTC's and
# ETH's: there a mapping without them ({"a": 1}, {"ETH": 3000}) is a valid input
PRICES_UNUSED = Param(PRICES, dataclasses.replace(PRICES_KIND, bad={k: v for k, v in PRICES_KIND.bad.items()
                                                                     if k != "missing"}).allowing("dict"),
                      aliases=("prices",))
OPEN_RATE = Kind("rate in (0, 1)", frozenset({"1e-300"})).with_bad(one=1.0, above=1.5)
RATE_1 = Kind("rate in (0, 1]", frozenset({"1e-300"})).with_bad(above=1.5)
RELATIVE = Kind("relative move in (-1, 1)", frozenset({"0", "-0.0", "1e-300"})).with_bad(one=1.0, minus_one=-1.0)
VENUE = Kind("venue index", frozenset({"0"})).with_bad(past_last=4, negative_index=-1, float_index=1.0)
SYMBOL = TEXT_STR.with_bad(unknown="DOGEUSDT")
BAD_TIMES = REAL.with_bad(backwards=[0.0, 20.0, 10.0, 30.0], short=[0.0, 20.0, 40.0])
ORDER_BOOK = POSITIVE.allowing("inf")  # documented: inf depth is "no impact", inf half-life "never"
OPEN_LAST = "an unbounded last tier has cap inf (documented in tiers: caps[-1] = inf)"
OPEN_SLICE = "documented: the last haircut bound may be inf (an open last slice)"
LIQ_INF = "documented: where no liquidation price exists above, its price is inf (LiquidationPrice.price)"
RATIO_INF = "documented: a ratio over a zero requirement or exposure is inf (MarginRatios)"
BOOK_INF = "documented: an infinitely deep book (depth inf) or one that never refills (half_life inf)"
CA = "tiermargin.cross.CrossAccount"
HC = "tiermargin.cross.Haircut"
BK = "tiermargin.orderbook.Book"
DV = "tiermargin.derivation.Derivation"


def bad_market(**changes):
    return dataclasses.replace(market(), **changes)


M = market()
MARKET_KIND = OBJECT.with_bad(
    short_times=bad_market(times=M.times[:-1]),
    backwards=bad_market(times=M.times[::-1].copy()),
    nan_last=bad_market(last=np.where(np.arange(M.times.size) == 2, np.nan, M.last)),
    negative_spot=bad_market(spot=-M.spot),
    not_a_market={"times": M.times},
)
MARKET_P = Param(M, MARKET_KIND, aliases=("market", "times", "quotes", "last", "spot"))

CASES = [
    # ---------------------------------------------------------------- cross: records
    Case("tiermargin.cross.Instrument", lambda: Instrument,
         {"symbol": Param("BTCUSDT", TEXT_STR.with_bad(empty="")),
          "table": Param(BTC.table, OBJECT.with_bad(schedule=LinearSchedule.deribit_btc(), contract=Contract())),
          "underlying": Param("BTC", TEXT_STR.with_bad(empty=""))}),
    Case("tiermargin.cross.Position", lambda: Position,
         {"symbol": Param("BTCUSDT", TEXT_STR.with_bad(empty="")), "side": Param("long", SIDE),
          "qty": Param(2.0, POSITIVE), "entry": Param(60_000.0, POSITIVE)}),
    Case("tiermargin.cross.Order", lambda: Order,
         {"symbol": Param("BTCUSDT", TEXT_STR.with_bad(empty="")), "side": Param("long", SIDE),
          "qty": Param(0.5, POSITIVE), "price": Param(58_000.0, POSITIVE), "leverage": Param(10.0, POSITIVE),
          "reduce_only": Param(False, FLAG)}),
    # ---------------------------------------------------------------- cross: the account
    Case(CA, lambda: CrossAccount,
         {"instruments": Param([BTC, ETH], SEQUENCE.with_bad(
             duplicate=[BTC, BTC], not_instruments=[1.0, 2.0], missing_eth=[BTC], text="BTCUSDT"),
             aliases=("instrument", "symbol")),
          "balances": Param({"USDT": 20_000.0}, OBJECT.with_bad(
              nan={"USDT": math.nan}, text={"USDT": "20000"}, key_not_text={1: 20_000.0},
              pairs=[("USDT", 20_000.0)]).allowing("dict"), aliases=("balance",)),  # {"a": 1}: 1 unit of "a"
          "positions": Param(POSITIONS, SEQUENCE.with_bad(
              unknown=[Position("DOGEUSDT", "long", 1, 1)], two_in_one_way=[POSITIONS[0], POSITIONS[0]],
              not_positions=[1.0], text="BTCUSDT"), aliases=("position", "symbol")),
          "orders": Param(ORDERS, SEQUENCE.with_bad(
              unknown=[Order("DOGEUSDT", "long", 1, 1, 10)], not_orders=[1.0], text="BTCUSDT",
              reduce_too_large=[Order("BTCUSDT", "short", 5, 61_000, 10, reduce_only=True)]), aliases=("order", "symbol")),
          "realized_pnl": Param({"USDT": 10.0}, OBJECT.with_bad(nan={"USDT": math.nan}, key_not_text={1: 1.0}).allowing("dict"),
                                aliases=("realized",)),
          "mode": Param("one-way", CHOICE.with_bad(unknown="hedged")),
          "tier_rule": Param("position", CHOICE.with_bad(unknown="pair")),
          "fee_rate": Param(0.0005, RATE.with_bad(one=1.0)),
          "haircuts": Param({"USDT": Haircut.flat(1.0)}, OBJECT.with_bad(
              not_a_haircut={"USDT": 0.95}, key_not_text={1: Haircut.flat(0.9)}), aliases=("haircut",)),
          "requirement_at": Param("mark", CHOICE.with_bad(unknown="bankruptcy")),
          "fee_at": Param("entry", CHOICE.with_bad(unknown="exit"))}, inf_ok=OPEN_LAST),
    Case(f"{CA}.instrument", lambda: account().instrument, {"symbol": Param("BTCUSDT", SYMBOL)}),
    Case(f"{CA}.state", lambda: account().state, {"prices": PRICES_P}),
    Case(f"{CA}.health", lambda: account().health, {"prices": PRICES_P}),
    Case(f"{CA}.is_liquidated", lambda: account().is_liquidated, {"prices": PRICES_P}),
    Case(f"{CA}.margin_ratios", lambda: account().margin_ratios, {"prices": PRICES_P}),
    Case(f"{CA}.frozen_margin", lambda: account().frozen_margin, {"prices": PRICES_UNUSED}),
    Case(f"{CA}.explain_ratio", lambda: account().explain_ratio,
         {"prices": Param(PRICES, ONE_PRICE_KIND, aliases=("prices",)),
          "which": Param("legacy", CHOICE.with_bad(unknown="okx"))}),
    Case(f"{CA}.liquidation_prices", lambda: account().liquidation_prices,
         {"prices": Param(PRICES, ONE_PRICE_KIND, aliases=("prices",)), "underlying": Param("BTC", SYMBOL)},
         inf_ok=LIQ_INF),
    Case(f"{CA}.explain_liquidation_price", lambda: account().explain_liquidation_price,
         {"prices": Param(PRICES, ONE_PRICE_KIND, aliases=("prices",)), "underlying": Param("BTC", SYMBOL),
          "side": Param("below", CHOICE.with_bad(unknown="long"))}),
    Case(f"{CA}.bankruptcy_price", lambda: inverse_account().bankruptcy_price,
         {"underlying": Param("BTC", SYMBOL), "fee_rate": Param(0.001, RATE.with_bad(one=1.0), optional=True)},
         inf_ok=LIQ_INF),
    Case(f"{CA}.surface", lambda: account().surface,
         {"prices": PRICES_UNUSED,
          "grid": Param({"BTC": [50_000.0, 60_000.0], "ETH": [2_900.0, 3_100.0]}, OBJECT.with_bad(
              empty={}, unknown={"DOGE": [1.0, 2.0]}, negative={"BTC": [-1.0, 60_000.0]},
              not_1d={"BTC": [[50_000.0, 60_000.0]]}, text={"BTC": ["50000"]}), aliases=("grid",))}),
    Case(f"{CA}.with_balance", lambda: account().with_balance,
         {"currency": Param("USDT", TEXT_STR.with_bad(empty="")), "amount": Param(-500.0, REAL)}, inf_ok=OPEN_LAST),
    # ---------------------------------------------------------------- cross: haircuts
    Case(HC, lambda: Haircut,
         {"bounds": Param([0.0, 5e6, 10e6, math.inf], SEQUENCE.with_bad(
             not_from_zero=[1.0, 5e6, 10e6, math.inf], decreasing=[0.0, 10e6, 5e6, math.inf],
             inf_middle=[0.0, math.inf, 10e6, math.inf], nan_last=[0.0, 5e6, 10e6, math.nan],
             too_few=[0.0, 5e6, 10e6], text=["0", "5e6", "1e7", "inf"], bools=[False, True]), aliases=("bound",)),
          "rates": Param([1.0, 0.9, 0.8], SEQUENCE.with_bad(
              above_one=[1.0, 1.5, 0.8], zero=[1.0, 0.0, 0.8], text=["1", "0.9", "0.8"], bools=[True, True, True],
              nan=[1.0, math.nan, 0.8]), aliases=("rate",))}, inf_ok=OPEN_SLICE),
    Case(f"{HC}.flat", lambda: Haircut.flat, {"rate": Param(0.95, RATE_1)}, inf_ok=OPEN_SLICE),
    Case(f"{HC}.value", lambda: haircut().value, {"usd": Param(11e6, REAL, array=True)}),
    Case(f"{HC}.explain", lambda: haircut().explain, {"amount": Param(11e6, REAL)}),
    # ---------------------------------------------------------------- derivation
    Case(f"{DV}.line", lambda: account().explain_ratio(PRICES).line,
         {"key": Param("ratio", TEXT_STR.with_bad(unknown="nope"))}),
    Case(f"{DV}.line_number", lambda: account().explain_ratio(PRICES).line_number,
         {"key": Param("ratio", TEXT_STR.with_bad(unknown="nope"))}),
    # ---------------------------------------------------------------- market
    Case("tiermargin.market.Wick", lambda: Wick,
         {"start": Param(10.0, REAL), "duration": Param(30.0, POSITIVE), "depth": Param(0.2, RELATIVE),
          "where": Param("last", CHOICE.allowing("0").with_bad(unknown="spot", negative_index=-1, float_index=1.0))}),
    Case("tiermargin.market.Wick.factor", lambda: Wick(10.0, 30.0, 0.2).factor,
         {"times": Param(np.array([0.0, 20.0, 40.0]), REAL, array=True)}),
    Case("tiermargin.market.synthetic_market", lambda: synthetic_market,
         {"seed": Param(1, COUNT.allowing("0").with_bad(float_seed=1.0)),
          "duration": Param(60.0, POSITIVE), "step": Param(20.0, POSITIVE.with_bad(too_many_samples=1e-6)),
          "start_price": Param(60_000.0, POSITIVE),
          "volatility": Param(0.6, NONNEGATIVE.with_bad(huge=1e9)), "venues": Param(("A", "B", "C"), SEQUENCE.with_bad(
              empty=(), text="Binance", not_text=(1, 2), duplicate=("A", "A"))),
          "venue_noise": Param(0.0002, NONNEGATIVE.with_bad(above=0.1)),
          "premium": Param(0.0005, RELATIVE.allowing("negative").with_bad(half=0.5)),
          "funding_rate": Param(0.0001, RELATIVE.allowing("negative").with_bad(one=1.0)),
          "funding_interval": Param(28_800.0, POSITIVE),
          "wick": Param(Wick(10.0, 30.0, 0.2, where=1), OBJECT.with_bad(past_last_venue=Wick(10.0, 30.0, 0.2, where=7)),
                        optional=True),
          "stale_venue": Param(2, VENUE, optional=True), "stale_from": Param(20.0, REAL)}),
    # ---------------------------------------------------------------- markprice
    Case("tiermargin.markprice.index_price", lambda: index_price,
         {"quotes": Param(M.spot, POSITIVE.with_bad(three_d=np.ones((2, 2, 2))), array=True),
          "weights": Param([1.0, 2.0, 1.0, 1.0], NONNEGATIVE.with_bad(all_zero=[0.0, 0.0, 0.0, 0.0],
                                                                       too_few=[1.0, 2.0]), optional=True, array=True),
          "threshold": Param(0.05, OPEN_RATE),
          "quote_times": Param(M.quote_times, REAL.with_bad(after_times=M.quote_times + 1.0), optional=True, array=True),
          "times": Param(M.times, BAD_TIMES, optional=True, array=True),
          "max_age": Param(30.0, POSITIVE, optional=True)}),
    Case("tiermargin.markprice.basis_moving_average", lambda: basis_moving_average,
         {"times": Param([0.0, 20.0, 40.0, 60.0], BAD_TIMES, array=True, aliases=("sample",)),
          "basis": Param([30.0, 25.0, 35.0, 40.0], REAL, array=True, aliases=("times",)),
          "window": Param(45.0, POSITIVE)}),
    Case("tiermargin.markprice.mark_price", lambda: mark_price,
         {"index": Param([60_000.0, 60_100.0], POSITIVE, array=True),
          "basis_ma": Param(30.0, REAL.with_bad(below_index=-70_000.0, three=[1.0, 2.0, 3.0]), array=True)}),
    Case("tiermargin.markprice.funding_price", lambda: funding_price,
         {"index": Param(2_000.0, POSITIVE, array=True),
          "funding_rate": Param(0.005, RELATIVE.allowing("negative").with_bad(one=1.0), array=True),
          "time_to_funding": Param(0.5, NONNEGATIVE.with_bad(past_interval=2.0), array=True),
          "interval": Param(1.0, POSITIVE)}),
    Case("tiermargin.markprice.funding_mark_price", lambda: funding_mark_price,
         {"index": Param([2_000.0, 2_001.0], POSITIVE, array=True),
          "basis_ma": Param(3.0, REAL.with_bad(below_index=-3_000.0), array=True),
          "last": Param(2_004.0, POSITIVE.with_bad(mismatched=[1.0, 2.0, 3.0]), array=True),
          "funding_rate": Param(0.005, RELATIVE.allowing("negative"), array=True),
          "time_to_funding": Param(0.5, NONNEGATIVE.with_bad(past_interval=2.0), array=True),
          "interval": Param(1.0, POSITIVE)}),
    Case("tiermargin.markprice.mark_prices", lambda: mark_prices,
         {"market": MARKET_P, "window": Param(45.0, POSITIVE), "threshold": Param(0.05, OPEN_RATE),
          "weights": Param(None, NONNEGATIVE.with_bad(too_few=[1.0, 2.0]), optional=True, array=True),
          "max_age": Param(None, POSITIVE, optional=True), "form": Param("median3", CHOICE.with_bad(unknown="binance"))}),
    Case("tiermargin.markprice.explain_mark_price", lambda: explain_mark_price,
         {"market": MARKET_P, "at": Param(3, CHOICE.allowing("0").with_bad(past_last=4, float_at=1.0)),
          "window": Param(45.0, POSITIVE), "threshold": Param(0.05, OPEN_RATE),
          "weights": Param(None, NONNEGATIVE.with_bad(too_few=[1.0, 2.0]), optional=True, array=True),
          "max_age": Param(None, POSITIVE, optional=True), "form": Param("okx", CHOICE.with_bad(unknown="binance"))}),
    # ---------------------------------------------------------------- orderbook
    Case(BK, lambda: Book, {"depth": Param(20e6, ORDER_BOOK), "half_life": Param(300.0, ORDER_BOOK)},
         inf_ok=BOOK_INF),
    Case(f"{BK}.move", lambda: Book().move, {"notional": Param(10e6, REAL, array=True)}),
    Case(f"{BK}.fill", lambda: Book().fill,
         {"price": Param(60_000.0, POSITIVE, array=True), "notional": Param(10e6, REAL, array=True)}),
    Case(f"{BK}.recovery", lambda: Book().recovery, {"dt": Param(300.0, NONNEGATIVE)}),
    Case(f"{BK}.time_to", lambda: Book().time_to, {"left": Param(0.25, OPEN_RATE)}),
    Case(f"{BK}.order_for", lambda: Book().order_for, {"drop": Param(0.1, OPEN_RATE)}),
    Case(f"{BK}.explain_order", lambda: Book().explain_order,
         {"notional": Param(10e6, REAL), "price": Param(60_000.0, POSITIVE),
          "after": Param(300.0, NONNEGATIVE, optional=True)}),
    Case(f"{BK}.explain_recovery", lambda: Book().explain_recovery,
         {"after": Param(90.0, NONNEGATIVE, optional=True), "left": Param(None, OPEN_RATE, optional=True),
          "recovered": Param(None, OPEN_RATE, optional=True)}),
]

EXEMPT: dict[str, str] = {
    DV: "the record every explain() builds from the library's own computed lines; users read it (str, "
        ".result, .line(key)), they never construct one with their own numbers",
    "tiermargin.derivation.Line": "one line of a Derivation, built by the library's explain() code from "
                                  "numbers it computed; users read lines, never construct them",
    "tiermargin.derivation.num": "the formatter explain() code uses for numbers the library computed (not "
                                 "exported by tiermargin, used by no lesson): no user number enters",
    "tiermargin.derivation.pct": "the percentage formatter explain() code uses for rates the library "
                                 "computed (not exported, used by no lesson): no user number enters",
    "tiermargin.market.Market": "the record synthetic_market builds (every array aligned on its times); "
                                "no lesson constructs one; bad Markets are swept through mark_prices",
}
