"""Hyperliquid's liquidation as documented: 20 % market orders above 100k USDC, the whole position within
30 s of a partial one and below it, the backstop at 2/3 of the maintenance margin, settlement at the fill.

Sources (cited in :class:`tiermargin.rules.PartialLiquidation`):

* Hyperliquid Docs, "Liquidations", https://hyperliquid.gitbook.io/hyperliquid-docs/trading/liquidations
  (trigger below the maintenance margin; market orders to the book; "any remaining collateral remains with
  the trader"; backstop "below 2/3 of the maintenance margin", which "is not returned to the user");
* Hyperliquid Announcements, post 307, https://tginsight.xyz/channel/hyperliquid_announcements/post/307
  ("no clearance fee on liquidations"; "For liquidatable positions larger than 100k USDC (10k USDC on
  testnet ...), only 20% of the position will be sent as a market liquidation order"; "a cooldown period
  of 30 seconds. During this cooldown period, all market liquidation orders for that user will be for the
  entire position").
"""

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import positions

import tiermargin as tm
from tiermargin.cross import CrossAccount, Instrument, Position
from tiermargin.liquidation import Execution, liquidate, liquidate_account
from tiermargin.rules import PartialLiquidation, Rulebook, preset

HL = tm.load_table("hyperliquid-btc-mainnet")  # tier 1: MMR 1.25 % (40x) up to 150M USDC
MARK = Execution("mark")


def ten_btc():
    """A 10 BTC long at 60,000, 20x: 600,000 USDC, margin 30,000, bankruptcy price 57,000."""
    return tm.IsolatedPosition.open(HL, "long", 10, 60_000, 20)


# ---------------------------------------------------------------- worked examples
def test_above_100k_a_20_percent_order_then_the_whole_position_within_30_seconds():
    """At 57,700: equity 30,000 − 23,000 = 7,000 < MM 1.25 % × 577,000 = 7,212.50 (and > 2/3 of it), worth
    577,000 > 100,000: 2 BTC are sold at the fill (the mark). The trader keeps the equity: margin 30,000 −
    2 × 2,300 = 25,400 on 8 BTC, MM 5,770, health 1,230. At 57,500, 10 s later: equity 25,400 − 8 × 2,500 =
    5,400 < MM 5,750, within the cooldown: the 8 BTC are closed and 5,400 paid back; the fund gets nothing."""
    log = liquidate(ten_btc(), [0, 10, 20], [60_000, 57_700, 57_500], "hyperliquid", execution=MARK)
    reduce, close = log.events
    assert (reduce.time, reduce.action, reduce.contracts_closed, reduce.contracts_left) == (10.0, "reduce", 2.0, 8.0)
    assert reduce.health_before == pytest.approx(-212.5) and reduce.health_after == pytest.approx(1_230.0)
    assert reduce.margin_used == pytest.approx(4_600.0) and reduce.settlement_price == 57_700.0
    assert (close.time, close.action, close.contracts_closed) == (20.0, "close", 8.0)
    assert close.returned == pytest.approx(5_400.0) == log.trader_equity(57_500)
    assert log.fund_result == 0.0 and log.final is None and log.last_partial == 10.0


@pytest.mark.parametrize("later, closed, left", [(39.0, 8.0, 0.0), (40.0, 1.6, 6.4), (60.0, 1.6, 6.4)])
def test_after_the_cooldown_the_next_order_is_20_percent_again(later, closed, left):
    """The second trigger 29 s after the partial one is within the cooldown (the whole position); 30 s or more
    after it, another 20 %: equity 5,400 < MM 5,750, 20 % of 8 leaves 6.4 BTC, MM 4,600, healthy."""
    log = liquidate(ten_btc(), [0, 10, later], [60_000, 57_700, 57_500], "hyperliquid", execution=MARK)
    assert [e.time for e in log.events] == [10.0, later]
    assert log.events[1].contracts_closed == pytest.approx(closed) and log.events[1].contracts_left == pytest.approx(left)
    assert log.last_partial == (10.0 if left == 0 else later)


def test_the_cooldown_carries_over_from_an_earlier_log():
    first = liquidate(ten_btc(), [0, 10], [60_000, 57_700], "hyperliquid", execution=MARK)
    again = [liquidate(first.final, [20], [57_500], "hyperliquid", execution=MARK, last_partial=t) for t in (10.0, None)]
    assert [e.action for e in again[0].events] == ["close"] and [e.action for e in again[1].events] == ["reduce"]


@pytest.mark.parametrize("btc, partial", [(1.0, False), (99_999 / 57_700, False), (100_001 / 57_700, True)])
def test_positions_of_100k_or_less_close_in_full(btc, partial):
    """ "larger than 100k USDC": the value at the mark (57,700, where a 20x long is liquidatable), above."""
    pos = tm.IsolatedPosition.open(HL, "long", btc, 60_000, 20)
    (first, *_) = liquidate(pos, [0, 1], [60_000, 57_700], "hyperliquid", execution=MARK).events
    assert (first.action == "reduce") == partial
    assert first.contracts_closed == pytest.approx(0.2 * btc if partial else btc)


def test_the_backstop_takes_the_position_at_or_below_two_thirds_of_the_maintenance_margin():
    """A gap to 57,400: equity 4,000 ≤ 2/3 × MM 7,175 = 4,783: the liquidator vault takes the whole position and
    its margin (settled at the bankruptcy price, 57,000); the trader keeps nothing ("the maintenance margin is
    not returned"), the vault (the fund here), filling at the mark, the 4,000. At 57,500 (equity 5,000 >
    4,791.67) the book gets a market order."""
    backstop = liquidate(ten_btc(), [0, 1], [60_000, 57_400], "hyperliquid", execution=MARK)
    (e,) = backstop.events
    assert (e.action, e.contracts_closed, e.settlement_price, e.returned) == ("backstop", 10.0, 57_000.0, 0.0)
    assert e.surplus == pytest.approx(4_000.0) and backstop.trader_equity(57_400) == 0.0
    market = liquidate(ten_btc(), [0, 1], [60_000, 57_500], "hyperliquid", execution=MARK)
    assert market.events[0].action == "reduce"
    without = replace(preset("hyperliquid"), partial=PartialLiquidation(backstop=None))
    assert liquidate(ten_btc(), [0, 1], [60_000, 57_400], without, execution=MARK).events[0].action == "reduce"


def test_at_the_fill_the_fund_pays_only_where_the_traders_equity_would_go_negative():
    """A thin book (impact 5,000,000 USDC per 100 %): the 2 BTC order (115,400 USDC) fills 1.154 % below the mark,
    at 57,034.14; the trader keeps 7,000 − 1,331.72 = 5,668.28 on 8 BTC, MM 5,770: still liquidatable, within the
    cooldown, the 8 BTC (461,600 USDC, 4.616 % below) fill at 55,036.57, worse than their bankruptcy price 56,991.46
    (5,668.28 / 8 below the mark): settled there, the trader gets nothing and the fund pays 8 × 1,954.89."""
    book = Execution("impact", 5e6)
    log = liquidate(ten_btc(), [0, 10], [60_000, 57_700], "hyperliquid", execution=book)
    partial, rest = log.events
    assert partial.execution_price == pytest.approx(57_700 * (1 - 115_400 / 1e7)) and partial.surplus == 0
    kept = 7_000 - 2 * (57_700 - partial.execution_price)
    assert partial.health_after == pytest.approx(kept - 5_770)
    assert rest.execution_price == pytest.approx(57_700 * (1 - 461_600 / 1e7))
    assert rest.settlement_price == pytest.approx(57_700 - kept / 8) == pytest.approx(rest.bankruptcy_price)
    assert rest.surplus == pytest.approx(-8 * (rest.settlement_price - rest.execution_price))
    assert log.returned == 0.0 and log.margin_lost == 30_000.0


def test_the_testnet_threshold_is_a_parameter():
    testnet = replace(preset("hyperliquid"), partial=PartialLiquidation(above=10_000))
    pos = tm.IsolatedPosition.open(HL, "long", 0.5, 60_000, 20)  # 30,000 USDC
    mark = float(pos.liquidation_price().price) - 1
    assert liquidate(pos, [0, 1], [60_000, mark], testnet, execution=MARK).events[0].action == "reduce"
    assert liquidate(pos, [0, 1], [60_000, mark], preset("hyperliquid"), execution=MARK).events[0].action == "close"


def test_a_partial_order_cannot_restore_health_when_settled_at_the_bankruptcy_price():
    """The 20 % then uses up its share of the margin: the ratio of equity to requirement is unchanged."""
    log = liquidate(ten_btc(), [0, 10], [60_000, 57_700], "hyperliquid", execution=MARK, settlement="bankruptcy")
    assert [(e.action, e.contracts_closed) for e in log.events] == [("reduce", 2.0), ("close", 8.0)]
    assert log.fund_result == pytest.approx(7_000.0) and log.returned == 0.0


def test_an_account_has_one_cooldown_and_one_backstop():
    """Two longs of 600,000 USDC (BTC, ETH) on 60,000 USDC. Both 4 % down: equity 12,000 < MM 14,400 (> 2/3 of it).
    The BTC position (the first of two equal maintenance margins) gets a 20 % order, and the account is still
    liquidatable (MM 12,960); the first partial order started the cooldown "for that user", so the ETH order, in
    the same block, is for the whole position. Below 2/3 of the requirement every position goes to the backstop."""
    eth = Instrument("ETH", HL, "ETH")
    acc = CrossAccount([Instrument("BTC", HL, "BTC"), eth], {"USDC": 60_000.0},
                       [Position("BTC", "long", 10, 60_000), Position("ETH", "long", 200, 3_000)])
    at = {"BTC": 57_600.0, "ETH": 2_880.0}
    log = liquidate_account(acc, [0, 1], {k: [p, at[k]] for k, p in (("BTC", 60_000), ("ETH", 3_000))},
                            "hyperliquid", execution=MARK)
    assert [(e.action, e.symbol, e.contracts_closed) for e in log.events] == [("reduce", "BTC", 2.0),
                                                                              ("close", "ETH", 200.0)]
    assert log.fund_result == 0.0 and log.settlement == "fill"
    gap = {"BTC": [60_000, 57_200], "ETH": [3_000, 2_860]}  # equity 4,000 ≤ 2/3 × 14,300
    backstop = liquidate_account(acc, [0, 1], gap, "hyperliquid", execution=MARK)
    assert [e.action for e in backstop.events] == ["backstop", "backstop"] and not backstop.final.positions
    assert backstop.trader_equity({"BTC": 57_200, "ETH": 2_860}) == pytest.approx(0, abs=1e-6)
    assert backstop.fund_result == pytest.approx(4_000.0)


# ---------------------------------------------------------------- the rule's parameters
def test_bad_parameters_are_refused_naming_them():
    for kw, name in [({"share": 0}, "share"), ({"share": 1.0}, "share"), ({"above": -1}, "above"),
                     ({"cooldown": float("nan")}, "cooldown"), ({"backstop": 1.5}, "backstop")]:
        with pytest.raises(ValueError, match=name):
            PartialLiquidation(**kw)
    with pytest.raises(ValueError, match="partial is given exactly when policy is 'hyperliquid'"):
        Rulebook("x", "X", None, policy="hyperliquid")
    with pytest.raises(ValueError, match="partial is given exactly"):
        Rulebook("x", "X", None, policy="full", partial=PartialLiquidation())
    with pytest.raises(ValueError, match="partial must be a PartialLiquidation"):
        Rulebook("x", "X", None, policy="hyperliquid", partial=0.2)
    with pytest.raises(ValueError, match="settlement"):
        Rulebook("x", "X", None, settlement="midpoint")
    with pytest.raises(ValueError, match="fraction is required exactly"):
        liquidate(ten_btc(), [0], [57_000], "hyperliquid", 0.2)
    book = preset("hyperliquid")
    assert (book.policy, book.settlement, book.partial) == ("hyperliquid", "fill", PartialLiquidation())
    assert all(b.settlement == "bankruptcy" for b in tm.rules.PRESETS.values() if b.id != "hyperliquid")


# ---------------------------------------------------------------- the rule, as a property
@given(positions(fee=False, requirement_at="mark"), st.floats(0.3, 0.95),
       st.lists(st.floats(0.5, 60.0), min_size=24, max_size=24), st.sampled_from(["mark", "impact"]),
       st.sampled_from(["bankruptcy", "fill"]), st.floats(0.0, 2e6))
def test_every_order_is_the_documented_one(p, drop, gaps, model, settlement, above):
    """Along a falling path with random gaps between blocks: a backstop exactly where equity ≤ 2/3 of the
    requirement; otherwise a 20 % order exactly where the position is worth more than ``above`` and the last
    partial order is 30 s or more old; else the whole position."""
    side = float(p.side)
    path = np.linspace(float(p.entry), float(p.entry) * (drop if side > 0 else 1 / drop), 25)
    times = np.concatenate(([0.0], np.cumsum(gaps)))
    assume(not p.is_liquidated(path[0]))
    rule = PartialLiquidation(above=above)
    book = Rulebook("x", "X", None, policy="hyperliquid", partial=rule, settlement=settlement)
    log = liquidate(p, times, path, book, execution=Execution(model, 1e6))
    c = p.table.contract
    pos, last = p, None
    for e in log.events:
        equity = float(pos.equity(e.mark))
        backstop = equity <= rule.backstop * float(pos.requirement(e.mark))
        worth = float(c.usd_value(float(pos.qty), e.mark))
        partial = not backstop and worth > above and (last is None or e.time - last >= rule.cooldown)
        if backstop:
            assert e.action == "backstop" and e.contracts_left == 0
        elif partial and e.action == "reduce":
            assert e.contracts_closed == pytest.approx(0.2 * float(pos.qty), rel=1e-12)
            last = e.time
        else:  # the whole position (a partial order whose fill would leave the rest no margin included)
            assert e.action == "close" and e.contracts_left == 0
        if e.contracts_left > 0:
            pos = replace(pos, qty=np.asarray(e.contracts_left), margin=pos.margin - e.margin_used)
    assert log.last_partial == last
