"""Sweep cases for tiermargin.rules, tiermargin.cascade and tiermargin.waterfall (the "engines" group).

The engines are slow at scale: every case runs a handful of traders on a short path (an hour of
5-minute marks for the cascade, two hours of 10-minute marks for the waterfall), so the group's
sweep stays within a few seconds.
"""

from __future__ import annotations

import math

import numpy as np
from sweep import CHOICE, COUNT, FLAG, NONNEGATIVE, OBJECT, POSITIVE, RATE, REAL, SEQUENCE, SIDE, TEXT, Case, Kind, Param

from tiermargin.cascade import (Population, Shock, compare as cascade_compare, fair_prices, flat_table, population,
                                run as cascade_run, sweep as cascade_sweep, variants)
from tiermargin.liquidation import Execution
from tiermargin.orderbook import Book
from tiermargin.riskfund import RiskFund
from tiermargin.rules import PartialLiquidation, Rulebook, compare as rules_compare, preset, rulebooks_table
from tiermargin.tiers import TierTable, load_table
from tiermargin.waterfall import Schedule, crash_path, run as waterfall_run, traders

# ------------------------------------------------------------------ shared valid objects
TABLE_ID = "binance-usdm-btcusdt-2021"


def table() -> TierTable:
    return load_table(TABLE_ID)


def inverse_table() -> TierTable:
    return load_table("okx-btc-usd-swap-2019")  # another contract (inverse BTC)


def no_leverage_table() -> TierTable:
    return TierTable.from_rows([[0, 1_000_000, 0.004, None], [1_000_000, None, 0.01, None]])


def pop() -> Population:
    """Eight traders under Binance USDⓈ-M's rules (no policy of its own: runs pass policy='one-tier')."""
    return population("binance-usdm", 8, seed=0)


SHOCK = Shock("market", 0.1, at=600.0)
BOOK = Book(1_000_000.0)
RUN = {"policy": "one-tier", "duration": 3_600.0, "step": 300.0, "fund": 100.0}  # an hour of 5-minute marks


def cascade():
    return cascade_run(pop(), SHOCK, BOOK, **RUN)


TIMES, MARKS = crash_path(depth=0.2, start=1_200.0, duration=2_400.0, length=7_200.0, step=600.0, seed=1)


def positions():
    """Eight traders on the Binance table; the crash path liquidates two, ADL takes the rest."""
    return traders(table(), 8, 60_000.0, seed=0)


def schedule() -> Schedule:
    return Schedule(positions(), TIMES, MARKS)


def waterfall():
    return waterfall_run(positions(), TIMES, MARKS, RiskFund(10.0))


# ------------------------------------------------------------------ kinds of this group
OPEN_RATE = Kind("rate in (0, 1)", frozenset({"1e-300"})).with_bad(one=1.0, above=1.5)
DROP = OPEN_RATE.with_bad(hundred_percent=1.0, more_than_all=1.5)  # a price drop, less than 100 %
WICK = Kind("in (-1, 1)", RATE.allows).with_bad(hundred_percent=1.0, minus_hundred_percent=-1.0)  # a fall or a rise
FRACTION = OPEN_RATE.with_bad(below_min_fraction=0.001)  # rules.MIN_FRACTION is 0.01
SHARE = RATE.allowing().with_bad(above_one=1.5)  # a share in [0, 1] (1 allowed)
UNIT = Kind("in [0, 1]", RATE.allows).with_bad(above_one=1.5)  # arbitrage β
PRESET = CHOICE.with_bad(unknown="binance", upper="OKX")
TABLE_IDS = CHOICE.with_bad(unknown="binance-usdm-btcusdt-2099")
POLICY = CHOICE.with_bad(unknown="two-tier", upper="ONE-TIER")
RANKING = CHOICE.with_bad(unknown="bitmex", upper="BINANCE")
SEED = COUNT.allowing("0").with_bad(float_seed=1.0, negative_seed=-1)
TRADERS = COUNT.with_bad(zero=0, float_n=8.0, negative_n=-3)
LEVERAGE_CAP = POSITIVE.with_bad(below_one=0.5)  # highest leverage drawn: a leverage is >= 1
TEXT_STR = TEXT.allowing("str")  # free text: "2" is a label
OPEN_LAST = "an unbounded last tier has cap inf (documented: caps[-1] = inf, max_size = inf)"
RULEBOOK = ("rulebook",)  # preset() names what the id chooses: "rulebook must be one of ..."
PATH_TIMES = REAL.with_bad(backwards=list(TIMES[::-1]), short=list(TIMES[:2]))
PATH_MARKS = POSITIVE.with_bad(zero_mark=[0.0, *MARKS[1:]], negative_mark=[-1.0, *MARKS[1:]])
FAIR_TIMES = REAL.with_bad(backwards=[0.0, 600.0, 300.0, 900.0])
BOOKS = OBJECT.with_bad(infinitely_deep=Book(math.inf))  # a venue drop on a book that no order moves
R = "tiermargin.rules.Rulebook"
P = "tiermargin.cascade.Population"
W = "tiermargin.waterfall.Waterfall"


CASES = [
    # ---------------------------------------------------------------- rules
    Case("tiermargin.rules.PartialLiquidation", lambda: PartialLiquidation,
         {"share": Param(0.2, OPEN_RATE), "above": Param(100_000.0, NONNEGATIVE),
          "cooldown": Param(30.0, NONNEGATIVE), "backstop": Param(2 / 3, OPEN_RATE, optional=True)}),
    Case(R, lambda: Rulebook,
         {"id": Param("x", TEXT_STR), "venue": Param("X", TEXT_STR),
          "table_id": Param(TABLE_ID, TABLE_IDS, optional=True),
          "requirement_at": Param("mark", CHOICE.with_bad(unknown="bankruptcy")),
          "fee_rate": Param(0.0005, RATE.with_bad(one=1.0)), "ratio": Param("binance", CHOICE),
          "policy": Param("fraction", POLICY), "fraction": Param(0.25, FRACTION),
          "adl": Param("binance", RANKING, optional=True),
          "cross_tier_rule": Param("position", CHOICE.with_bad(unknown="account"), optional=True),
          "tick": Param(0.5, POSITIVE, optional=True), "rounding": Param("long-up-short-down", CHOICE),
          "sources": Param("a help page", TEXT_STR), "own_table": Param(None, OBJECT, optional=True),
          "fee_at": Param("mark", CHOICE.with_bad(unknown="fill")),
          "settlement": Param("bankruptcy", CHOICE.with_bad(unknown="mark")),
          "partial": Param(None, OBJECT.with_bad(without_hyperliquid=PartialLiquidation()), optional=True),
          "margin_id": Param(None, CHOICE.with_bad(unknown="drift-mainnet", with_a_table="drift-program-test-market"),
                             optional=True)}),
    Case(f"{R}.margin", lambda: preset("binance-usdm").margin, {"leverage": Param(10.0, POSITIVE)}),
    Case(f"{R}.round_price", lambda: preset("bybit").round_price,
         {"price": Param(60_000.3, POSITIVE), "side": Param("long", SIDE)}),
    Case(f"{R}.with_table", lambda: preset("coinw").with_table, {"table": Param(table(), OBJECT)}),
    Case("tiermargin.rules.compare", lambda: rules_compare,
         {"side": Param("long", SIDE), "notional_usd": Param(100_000.0, POSITIVE), "entry": Param(60_000.0, POSITIVE),
          "leverage": Param(20.0, POSITIVE),
          "rulebooks": Param(("binance-usdm", "okx"), SEQUENCE.with_bad(unknown=["binance"], text="okx", empty=[]),
                             aliases=("rulebook",))}),
    Case("tiermargin.rules.preset", lambda: preset, {"rulebook_id": Param("okx", PRESET, aliases=RULEBOOK)}),
    Case("tiermargin.rules.rulebooks_table", lambda: rulebooks_table,
         {"ids": Param(["okx", "bybit"], SEQUENCE.with_bad(unknown=["binance"], text="okx", empty=[]),
                       optional=True, aliases=RULEBOOK)}),
    # ---------------------------------------------------------------- cascade: traders, shock, prices
    Case(P, lambda: Population,
         {"positions": Param(pop().positions, OBJECT.with_bad(two_d=pop().positions.qty)),
          "cross": Param(pop().cross, FLAG.with_bad(wrong_length=[True, False], ints=[1, 0, 0, 1, 0, 0, 0, 0]),
                         array=True),
          "rules": Param(preset("binance-usdm"), OBJECT),
          "draw": Param(pop().draw, OBJECT.with_bad(unknown_argument={"n": 8, "sead": 0}, not_a_mapping=[("n", 8)]))}),
    Case(f"{P}.with_table", lambda: pop().with_table,
         {"table": Param(flat_table(table(), 0.004), OBJECT.with_bad(other_contract=inverse_table()))},
         inf_ok=OPEN_LAST),
    Case(f"{P}.redrawn", lambda: pop().redrawn,
         {"table": Param(flat_table(table(), 0.004, 125.0), OBJECT.with_bad(no_max_leverage=no_leverage_table()))},
         inf_ok=OPEN_LAST),
    Case("tiermargin.cascade.population", lambda: population,
         {"rules": Param("binance-usdm", PRESET.with_bad(no_table="coinw"), aliases=RULEBOOK), "n": Param(8, TRADERS),
          "price": Param(60_000.0, POSITIVE), "seed": Param(0, SEED), "cross_share": Param(0.3, SHARE),
          "wallet": Param(4.0, POSITIVE.with_bad(below_one=0.5)), "median_usd": Param(50_000.0, POSITIVE),
          "max_leverage": Param(50.0, LEVERAGE_CAP)}),
    Case("tiermargin.cascade.Shock", lambda: Shock,
         {"kind": Param("market", CHOICE.with_bad(unknown="crash")), "size": Param(0.1, DROP),
          "at": Param(600.0, NONNEGATIVE)}),
    Case("tiermargin.cascade.Shock.order", lambda: Shock("venue", 0.1).order, {"book": Param(BOOK, BOOKS)}),
    Case("tiermargin.cascade.fair_prices", lambda: fair_prices,
         {"times": Param(np.arange(0.0, 3_601.0, 300.0), FAIR_TIMES, array=True), "price": Param(60_000.0, POSITIVE),
          "volatility": Param(0.5, NONNEGATIVE), "seed": Param(0, SEED), "shock": Param(SHOCK, OBJECT)}),
    Case("tiermargin.cascade.flat_table", lambda: flat_table,
         {"table": Param(table(), OBJECT), "rate": Param(0.004, OPEN_RATE),
          "max_leverage": Param(125.0, POSITIVE, optional=True, aliases=("max leverage",))}, inf_ok=OPEN_LAST),
    # ---------------------------------------------------------------- cascade: runs
    Case("tiermargin.cascade.run", lambda: cascade_run,
         {"population": Param(pop(), OBJECT), "shock": Param(SHOCK, OBJECT.with_bad(after_the_end=Shock(at=7_200.0))),
          "book": Param(BOOK, OBJECT),
          "policy": Param("one-tier", POLICY), "fraction": Param(None, FRACTION, optional=True),
          "settlement": Param(None, CHOICE.with_bad(unknown="mark"), optional=True),
          "ranking": Param(None, RANKING, optional=True), "mark": Param("smoothed", CHOICE.with_bad(unknown="index")),
          "window": Param(300.0, POSITIVE), "arbitrage": Param(0.3, UNIT),
          "fund": Param(100.0, NONNEGATIVE, optional=True), "duration": Param(3_600.0, POSITIVE),
          "step": Param(300.0, POSITIVE.with_bad(longer_than_the_run=7_200.0, too_many_steps=1e-3)),
          "volatility": Param(0.5, NONNEGATIVE), "price": Param(None, POSITIVE, optional=True),
          "seed": Param(0, SEED), "baseline": Param(True, FLAG)}),
    Case("tiermargin.cascade.Cascade.explain", lambda: cascade().explain,
         {"what": Param("notional", CHOICE.with_bad(unknown="multiplyer")),
          "versus": Param(cascade(), OBJECT, optional=True),
          "label": Param("tiers", TEXT_STR), "versus_label": Param("flat", TEXT_STR)}),
    Case("tiermargin.cascade.Cascade.table", lambda: cascade().table, {"only_active": Param(True, FLAG)}),
    Case("tiermargin.cascade.variants", lambda: variants,
         {"population": Param(pop(), OBJECT), "axis": Param("policy", CHOICE.with_bad(unknown="tier")),
          "book": Param(BOOK, OBJECT), "policy": Param("one-tier", POLICY.with_bad(full="full"), optional=True)}),
    Case("tiermargin.cascade.compare", lambda: cascade_compare,
         {"population": Param(pop(), OBJECT), "axis": Param("mark", CHOICE.with_bad(unknown="tier")),
          "shock": Param(SHOCK, OBJECT), "book": Param(BOOK, OBJECT),
          **{k: Param(v, POSITIVE, catalogue=False) for k, v in RUN.items() if k != "policy"},
          "policy": Param("one-tier", POLICY, catalogue=False)}),
    Case("tiermargin.cascade.sweep", lambda: cascade_sweep,
         {"rules": Param("binance-usdm", PRESET, aliases=RULEBOOK), "axis": Param("mark", CHOICE.with_bad(unknown="tier")),
          "shocks": Param([SHOCK], SEQUENCE.with_bad(not_shocks=[0.1], empty=[])),
          "seeds": Param((0,), SEQUENCE.with_bad(float_seed=[1.0], negative_seed=[-1], empty=[]), aliases=("seed",)),
          "n": Param(5, TRADERS), "book": Param(BOOK, OBJECT),
          **{k: Param(v, POSITIVE, catalogue=False) for k, v in RUN.items() if k != "policy"},
          "policy": Param("one-tier", POLICY, catalogue=False)}),
    # ---------------------------------------------------------------- waterfall
    Case("tiermargin.waterfall.traders", lambda: traders,
         {"table": Param(table(), OBJECT.with_bad(no_max_leverage=no_leverage_table())), "n": Param(8, TRADERS),
          "price": Param(60_000.0, POSITIVE), "seed": Param(0, SEED), "median_notional": Param(200_000.0, POSITIVE),
          "spread": Param(1.5, NONNEGATIVE), "max_leverage": Param(50.0, LEVERAGE_CAP),
          "long_share": Param(0.5, SHARE), "entry_spread": Param(0.003, NONNEGATIVE.with_bad(too_wide=5.0))}),
    Case("tiermargin.waterfall.crash_path", lambda: crash_path,
         {"depth": Param(0.2, WICK), "start": Param(1_200.0, NONNEGATIVE.with_bad(after_the_end=10_000.0)),
          "duration": Param(2_400.0, POSITIVE), "length": Param(7_200.0, POSITIVE),
          "price": Param(60_000.0, POSITIVE), "seed": Param(1, SEED),
          "step": Param(600.0, POSITIVE.with_bad(longer_than_the_path=10_000.0))}),
    Case("tiermargin.waterfall.run", lambda: waterfall_run,
         {"positions": Param(positions(), OBJECT.with_bad(two_d=positions().qty)),
          "times": Param(TIMES, PATH_TIMES, array=True), "marks": Param(MARKS, PATH_MARKS, array=True),
          "fund": Param(RiskFund(10.0), OBJECT), "policy": Param("one-tier", POLICY),
          "fraction": Param(None, FRACTION, optional=True), "execution": Param(Execution(), OBJECT),
          "ranking": Param("pnl-leverage", RANKING), "settlement": Param(None, CHOICE.with_bad(unknown="mark"),
                                                                         optional=True)}),
    Case("tiermargin.waterfall.Schedule", lambda: Schedule,
         {"positions": Param(positions(), OBJECT.with_bad(two_d=positions().qty)),
          "times": Param(TIMES, PATH_TIMES, array=True), "marks": Param(MARKS, PATH_MARKS, array=True),
          "policy": Param("one-tier", POLICY), "fraction": Param(None, FRACTION, optional=True),
          "execution": Param(Execution(), OBJECT),
          "settlement": Param(None, CHOICE.with_bad(unknown="mark"), optional=True)}),
    Case("tiermargin.waterfall.Schedule.run", lambda: schedule().run,
         {"fund": Param(RiskFund(10.0), OBJECT), "ranking": Param("pnl-leverage", RANKING)}),
    Case(f"{W}.positions_at", lambda: waterfall().positions_at, {"time": Param(float(TIMES[5]), REAL)}),
    Case(f"{W}.queue_at", lambda: waterfall().queue_at,
         {"time": Param(float(TIMES[5]), REAL), "mark": Param(float(MARKS[5]), POSITIVE),
          "ranking": Param("pnl-leverage", RANKING), "liquidated_side": Param("long", SIDE, optional=True)}),
    Case(f"{W}.summary", lambda: waterfall().summary, {"until": Param(float(TIMES[5]), REAL, optional=True)}),
]

EXEMPT: dict[str, str] = {
    "tiermargin.rules.Comparison": "result record: rules.compare() builds its rows from the rulebooks it opened "
                                   "the position under; users display it, never construct it",
    "tiermargin.cascade.Cascade": "result record: cascade.run() builds it from the arrays its engine kept; "
                                  "users read it (summary, table, explain), never construct it",
    "tiermargin.waterfall.Waterfall": "result record: waterfall.run() and Schedule.run() build it from the steps "
                                      "they booked; users read it, never construct it",
}
