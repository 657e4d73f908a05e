"""Exercises for lesson 03, cross margin (``lessons/03_cross_margin.ipynb``).

From easy to hard:

1. the legacy cross margin ratio, (balance + RPL + UPL)/(position value + order frozen margin ×
   leverage), of an account with a BTC and an ETH position and one open order;
2. CoinW's single-currency ratio of a hedged pair: the requirement is on |long − short| contracts;
3. the collateral value of an amount under haircut slices (OKX: 11M USDT → 10.3M);
4. a function ``collateral(amount, bounds, rates)``, checked on hidden cases (the published
   examples, an amount on a boundary, within the first slice, a debt, a flat rate);
5. the cross liquidation price of a BTC long next to an ETH position held at its mark (Binance's
   formula with the other positions' maintenance margin TMM1 and PnL UPNL1);
6. isolated vs cross for one position: both liquidation prices, and what is lost after a crash.

Every expected answer comes from :mod:`tiermargin.cross` (``CrossAccount.margin_ratios``,
``CrossAccount.liquidation_prices``, ``CrossAccount.health``, ``Haircut.value``) and
:class:`~tiermargin.IsolatedPosition`; the student's numbers come from their id.

>>> ex = Exercises(student_id="demo")
>>> ex.check(1, None)
Exercise 1 — not attempted: replace ... with your answer
>>> ex.check(3, "10.3M")
Exercise 3 — wrong: got a str ('10.3M'). Hint: the answer is a number in USD
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from functools import partial
from typing import Any

from .. import Contract, IsolatedPosition, TierTable, requirement
from ..cross import CrossAccount, Haircut, Instrument, Order, Position, TierRule
from ..derivation import Derivation, Line
from .core import (
    MONEY,
    RATIO,
    Draw,
    Exercise,
    ExerciseSet,
    Function,
    Mistake,
    Number,
    Numbers,
    Record,
    Value,
    bundled_table,
    see,
)
from .show import extended, statement

BTC = "binance-usdm-btcusdt-2021"
LESSON = "lessons/03_cross_margin.ipynb"
SIDES = ("long", "short")
INF = float("inf")
USD = Number("USD", abs_tol=0.01)

_see = partial(see, LESSON)


def _sign(side: str) -> int:
    """+1 for ``"long"``, −1 for ``"short"``."""
    return 1 if side == "long" else -1


def _eth_table(mmr: float) -> TierTable:
    """A one-tier ETHUSDT table: a flat maintenance margin rate ``mmr`` (an exercise's simplification)."""
    return TierTable.single(mmr, symbol="ETHUSDT")


def _btc_eth(eth_mmr: float, btc_table: TierTable | None = None) -> tuple[Instrument, Instrument]:
    """The instruments BTCUSDT (Binance's 2021 table unless ``btc_table``) and ETHUSDT (one tier)."""
    btc = bundled_table(BTC) if btc_table is None else btc_table
    return Instrument("BTCUSDT", btc, "BTC"), Instrument("ETHUSDT", _eth_table(eth_mmr), "ETH")


def _moved(price: float, move: float) -> int:
    """``price`` moved by the fraction ``move``, to the dollar."""
    return int(round(price * (1 + move)))


# ---------------------------------------------------------------------- 1. legacy cross ratio
_MOVES = (-0.04, -0.025, -0.01, 0.015, 0.03, 0.045)  # mark vs entry
_ORDER_QTY = {"BTCUSDT": (0.2, 0.5, 1), "ETHUSDT": (2, 5, 10)}


def _ratio_numbers(d: Draw) -> dict[str, Any]:
    n: dict[str, Any] = {
        "balance": 0,
        "realized_pnl": 0.0,
        "btc_side": d.choice("btc side", SIDES),
        "btc_qty": d.choice("btc qty", (0.5, 0.8, 1, 1.5, 2)),
        "btc_entry": d.choice("btc entry", range(25_000, 65_001, 250)),
        "eth_side": d.choice("eth side", SIDES),
        "eth_qty": d.choice("eth qty", (5, 8, 10, 15, 20, 30)),
        "eth_entry": d.choice("eth entry", range(1_500, 4_001, 25)),
    }
    # 10 to 30 % of the positions' value, the realized PnL a few % of it: the equity stays positive
    value = n["btc_qty"] * n["btc_entry"] + n["eth_qty"] * n["eth_entry"]
    n["balance"] = int(round(value * d.choice("balance", (0.1, 0.15, 0.2, 0.3)), -2))
    n["realized_pnl"] = round(n["balance"] * d.choice("realized_pnl", (-0.06, -0.035, -0.0125, 0.0175, 0.045, 0.08)), 2)
    n["btc_mark"] = _moved(n["btc_entry"], d.choice("btc move", _MOVES))
    n["eth_mark"] = _moved(n["eth_entry"], d.choice("eth move", _MOVES))
    # A resting limit order adding to one of the positions: a buy below the mark, a sell above.
    symbol = d.choice("order symbol", ("BTCUSDT", "ETHUSDT"))
    side = n["btc_side"] if symbol == "BTCUSDT" else n["eth_side"]
    mark = n["btc_mark"] if symbol == "BTCUSDT" else n["eth_mark"]
    n.update(
        order_symbol=symbol,
        order_side=side,
        order_qty=d.choice("order qty", _ORDER_QTY[symbol]),
        order_price=_moved(mark, -_sign(side) * d.choice("order gap", (0.01, 0.02, 0.03, 0.05))),
        order_leverage=d.choice("order leverage", (5, 10, 20, 25)),
    )
    return n


def _ratio_marks(n: Numbers) -> dict[str, float]:
    return {"BTC": n["btc_mark"], "ETH": n["eth_mark"]}


def _ratio_account(n: Numbers, order_scale: float = 1.0, with_order: bool = True, rpl: bool = True) -> CrossAccount:
    """The account of exercise 1, or a slip's version: the order's size × ``order_scale``, the
    order left out, the realized PnL left out. The ETH table's rate does not enter the ratio."""
    qty = n["order_qty"] * order_scale
    order = Order(n["order_symbol"], n["order_side"], qty, n["order_price"], n["order_leverage"])
    return CrossAccount(
        _btc_eth(0.005),
        {"USDT": n["balance"]},
        [Position("BTCUSDT", n["btc_side"], n["btc_qty"], n["btc_entry"]),
         Position("ETHUSDT", n["eth_side"], n["eth_qty"], n["eth_entry"])],
        [order] if with_order else [],
        realized_pnl={"USDT": n["realized_pnl"] if rpl else 0.0},
    )


def _legacy(n: Numbers, **slip: Any) -> float:
    return float(_ratio_account(n, **slip).margin_ratios(_ratio_marks(n)).legacy)


def _valued_at_entry(n: Numbers) -> float:
    """Equity at the marks over the exposure with the positions valued at their entry prices."""
    acc = _ratio_account(n)
    return float(acc.state(_ratio_marks(n)).equity / acc.state({"BTC": n["btc_entry"], "ETH": n["eth_entry"]}).exposure)


CROSS_RATIO = Exercise(
    title="The cross margin ratio with an open order",
    numbers=_ratio_numbers,
    expected=_legacy,
    answer=Value(RATIO),
    hint="ratio = (balance + RPL + UPL of every position)/(value of every position at its mark + "
    "order frozen margin × leverage), frozen margin = qty·price/leverage"
    + _see("One account, one health", "Open orders"),
    mistakes=(
        Mistake(
            lambda n: _legacy(n, with_order=False),
            "you left out the open order: in cross margin its value, frozen margin × leverage, "
            "counts in the denominator",
            line="exposure",
        ),
        Mistake(
            lambda n: _legacy(n, order_scale=1 / n["order_leverage"]),
            "you added the order's frozen margin itself: multiply it by the order's leverage "
            "(frozen margin × leverage = qty·price, the order's value)",
            line="order_value_1",
        ),
        Mistake(
            lambda n: _legacy(n, rpl=False),
            "you left out the realized PnL: the numerator is balance + RPL + UPL",
            line="collateral_USDT",
        ),
        Mistake(
            _valued_at_entry,
            "you valued the positions at their entry prices: position value is qty·mark",
            line="value_1",
        ),
    ),
    derivation=lambda n: _ratio_account(n).explain_ratio(_ratio_marks(n), "legacy"),
)


# ---------------------------------------------------------------------- 2. CoinW net ratio
_LONG_COINS = (0.8, 1.2, 1.5, 2, 3, 4)
_SHORT_COINS = (0.3, 0.5, 0.7, 1, 2.5, 5)  # never a long's size: the net is never 0
_ENTRY_GAPS = (-0.04, -0.03, -0.015, 0.01, 0.025, 0.04)


def _net_numbers(d: Draw) -> dict[str, Any]:
    mark = d.choice("mark", range(20_000, 70_001, 100))
    face_value = d.choice("face_value", (0.001, 0.01))
    long_coins, short_coins = d.choice("long", _LONG_COINS), d.choice("short", _SHORT_COINS)
    long_gap = d.choice("long entry", _ENTRY_GAPS)
    # the legs' PnL, mark·(short·short gap − long·long gap), clearly not 0
    gross = long_coins + short_coins
    short_gaps = [g for g in _ENTRY_GAPS if abs(short_coins * g - long_coins * long_gap) > 0.002 * gross]
    short_gap = d.choice("short entry", short_gaps)
    return {
        # 6 to 12 % of the legs' value: the equity stays positive whatever the entries
        "balance": int(round(mark * gross * d.choice("balance", (0.06, 0.08, 0.1, 0.12)), -1)),
        "face_value": face_value,
        "long_qty": int(round(long_coins / face_value)),
        "long_entry": _moved(mark, long_gap),
        "short_qty": int(round(short_coins / face_value)),
        "short_entry": _moved(mark, short_gap),
        "mark": mark,
        "mmr": d.choice("mmr", (0.005, 0.01, 0.015)),
        "fee_rate": d.choice("fee_rate", (0.0005, 0.0006, 0.001)),
    }


def _net_account(n: Numbers, tier_rule: TierRule = "net", fees: bool = True) -> CrossAccount:
    """The hedged pair (one-tier step table, face value FV), tiers on the net or on each leg."""
    table = TierTable.single(n["mmr"], form="step", contract=Contract("linear", n["face_value"], "USDT"))
    legs = [Position("BTCUSDT", "long", n["long_qty"], n["long_entry"]),
            Position("BTCUSDT", "short", n["short_qty"], n["short_entry"])]
    return CrossAccount([Instrument("BTCUSDT", table, "BTC")], {"USDT": n["balance"]}, legs,
                        mode="hedge", tier_rule=tier_rule, fee_rate=n["fee_rate"] if fees else 0.0)


def _coinw(n: Numbers, **slip: Any) -> float:
    return float(_net_account(n, **slip).margin_ratios({"BTC": n["mark"]}).coinw)


def _without_upl(n: Numbers) -> float:
    return float(n["balance"] / _net_account(n).state({"BTC": n["mark"]}).requirement)


NET_RATIO = Exercise(
    title="CoinW's ratio of a hedged pair: net contracts",
    numbers=_net_numbers,
    expected=_coinw,
    answer=Value(RATIO),
    hint="ratio = (balance + UPL of both legs)/(FV·|long − short|·mark·(MMR + fee rate)), each leg's "
    "UPL = s·qty·FV·(mark − its entry)" + _see("Hedge mode and net contracts"),
    mistakes=(
        Mistake(
            lambda n: _coinw(n, tier_rule="position"),
            "you charged both legs (long + short contracts): in single-currency cross mode the "
            "requirement is on the net position, |long − short| contracts",
            line="mm_1",
        ),
        Mistake(
            lambda n: _coinw(n, fees=False),
            "you left out the close fee: the denominator is charged at MMR + fee rate",
            line="fee_1",
        ),
        Mistake(
            _without_upl,
            "you left out the unrealized PnL: the numerator is balance + UPL of both legs, each at "
            "its own entry",
            line="collateral_USDT",
        ),
    ),
    derivation=lambda n: _net_account(n).explain_ratio({"BTC": n["mark"]}, "coinw"),
)


# ---------------------------------------------------------------------- 3. and 4. collateral value
# Haircut slices (USD bounds from 0, one rate per slice); the first is OKX's published example.
_SLICES: tuple[tuple[tuple[float, ...], tuple[float, ...]], ...] = (
    ((0, 5_000_000, 10_000_000, INF), (1, 0.9, 0.8)),
    ((0, 1_000_000, 3_000_000, 6_000_000, INF), (1, 0.95, 0.9, 0.75)),
    ((0, 2_000_000, 4_000_000, INF), (0.98, 0.9, 0.7)),
    ((0, 250_000, 1_000_000, 5_000_000, INF), (1, 0.97, 0.9, 0.6)),
)


def _collateral_numbers(d: Draw) -> dict[str, Any]:
    """An amount past the first slice (and never on a bound), with one of the slice sets."""
    bounds, rates = d.choice("slices", _SLICES)
    step = int(bounds[1]) // 20
    amounts = [a for a in range(int(1.1 * bounds[1]), int(1.6 * bounds[-2]), step) if a not in bounds]
    return {"amount": d.choice("amount", amounts), "bounds": bounds, "rates": rates}


def _collateral(n: Numbers) -> float:
    return float(Haircut(n["bounds"], n["rates"]).value(n["amount"]))


def _collateral_derivation(n: Numbers) -> Derivation:
    """Each slice the amount reaches × its rate, and the sum (:meth:`Haircut.explain`)."""
    return Haircut(n["bounds"], n["rates"]).explain(n["amount"])


def _top_rate_everywhere(n: Numbers) -> float:
    """The rate of the slice the amount reaches, applied to the whole amount."""
    k = bisect.bisect_right(n["bounds"], n["amount"]) - 1
    return float(Haircut.flat(n["rates"][min(k, len(n["rates"]) - 1)]).value(n["amount"]))


COLLATERAL_HINT = (
    "cut the amount into the slices [bound, next bound) and value each part at its slice's rate: "
    "Σ rate·(min(amount, upper) − lower) over the slices the amount reaches"
    + _see("Several currencies: no single liquidation price")
)

COLLATERAL_MISTAKES = (
    Mistake(
        _top_rate_everywhere,
        "you applied the rate of the slice the amount reaches to the whole amount: each slice is "
        "valued at its own rate (OKX: 5M × 1 + 5M × 0.9 + 1M × 0.8 = 10.3M for 11M)",
        line="slice_1",
    ),
    Mistake(
        lambda n: float(n["amount"]),
        "that is the amount itself: collateral is valued below it, slice by slice",
        line="collateral",
    ),
    Mistake(
        lambda n: float(n["amount"]) - _collateral(n),
        "that is the haircut, what the slices take off: the collateral value is what remains",
        line="collateral",
    ),
)

COLLATERAL = Exercise(
    title="Collateral value with haircut slices",
    numbers=_collateral_numbers,
    expected=_collateral,
    answer=Value(USD),
    hint=COLLATERAL_HINT,
    mistakes=COLLATERAL_MISTAKES,
    derivation=_collateral_derivation,
)

_OKX = ((0, 5_000_000, 10_000_000, INF), (1, 0.9, 0.8))

COLLATERAL_FUNCTION = Exercise(
    title="A collateral function (haircut slices)",
    numbers=_collateral_numbers,
    expected=_collateral,
    answer=Function(
        "collateral",
        ("amount", "bounds", "rates"),
        USD,
        hidden=(
            # OKX's published example: 11M USDT is worth 10.3M
            {"amount": 11_000_000, "bounds": _OKX[0], "rates": _OKX[1]},
            # within the first slice; exactly on a bound
            {"amount": 4_000_000, "bounds": _OKX[0], "rates": _OKX[1]},
            {"amount": 10_000_000, "bounds": _OKX[0], "rates": _OKX[1]},
            # nothing, and a debt: a liability counts in full
            {"amount": 0, "bounds": _OKX[0], "rates": _OKX[1]},
            {"amount": -2_000_000, "bounds": _OKX[0], "rates": _OKX[1]},
            # Binance multi-assets: one flat rate, BNB worth $1,000 is valued at $950
            {"amount": 1_000, "bounds": (0, INF), "rates": (0.95,)},
            # a first rate below 1; slices of unequal widths, deep into the last one
            {"amount": 2_600_000, "bounds": (0, 1_000_000, 2_000_000, 3_000_000, INF), "rates": (0.97, 0.9, 0.8, 0.5)},
            {"amount": 50_000_000, "bounds": (0, 250_000, 1_000_000, 5_000_000, INF), "rates": (1, 0.97, 0.9, 0.6)},
            {"amount": 300_000.5, "bounds": (0, 100_000, 1_000_000, INF), "rates": (1, 0.5, 0.25)},
        ),
        # fresh lists on every call: a function that edits its arguments changes nothing here
        convert={"bounds": list, "rates": list},
    ),
    hint="value each slice [bound, next bound) that the amount reaches at its own rate and add them "
    "up; an amount ≤ 0 (a debt) counts in full" + _see("Several currencies: no single liquidation price"),
    mistakes=COLLATERAL_MISTAKES,
    derivation=_collateral_derivation,
)


# ---------------------------------------------------------------------- 5. cross liquidation price
_FRACTIONS = (0.05, 0.07, 0.09, 0.11, 0.13)  # how far below the entry the liquidation price is
_BTC_QTY = (1.5, 2, 2.5, 3, 4, 5, 6, 8, 10, 12, 15)
# Room kept between the entry's tier floor and the liquidation price, also for the recognised
# slips (their liquidation prices are up to a few % further): every one stays in the entry's tier.
_SLACK = 0.06


def _lp_prices(n: Numbers) -> dict[str, float]:
    """BTC at the entry (where it trades now does not matter), ETH at its mark."""
    return {"BTC": n["btc_entry"], "ETH": n["eth_mark"]}


def _lp_account(n: Numbers, eth: bool = True, eth_pnl: bool = True, btc_table: TierTable | None = None,
                extra: float = 0.0) -> CrossAccount:
    """The account of exercise 5, or a slip's version: without the ETH position, with ETH's PnL
    left out (entered at its mark), another BTC table, ``extra`` USDT in the wallet."""
    btc, eth_inst = _btc_eth(n["eth_mmr"], btc_table)
    positions = [Position("BTCUSDT", "long", n["btc_qty"], n["btc_entry"])]
    if eth:
        positions.append(Position("ETHUSDT", n["eth_side"], n["eth_qty"], n["eth_entry"] if eth_pnl else n["eth_mark"]))
    return CrossAccount([btc, eth_inst], {"USDT": n["wallet"] + extra}, positions)


def _long_lp(acc: CrossAccount, prices: Mapping[str, float]) -> float:
    """The BTC liquidation price below; NaN (matching nothing) if a slip's account is already liquidated."""
    if float(acc.health(prices)) <= 0:
        return math.nan
    below, _ = acc.liquidation_prices(prices, "BTC")
    return float(below.price) if below.exists else math.nan


def _lp_numbers(d: Draw) -> dict[str, Any]:
    table = bundled_table(BTC)
    k = d.choice("tier", (1, 2))  # tier 2 or 3: a maintenance amount cum > 0
    entry = d.choice("btc entry", range(30_000, 65_001, 250))
    frac = d.choice("distance", _FRACTIONS)
    floor, cap = float(table.floors[k]), float(table.caps[k])
    qty = d.choice("btc qty", [q for q in _BTC_QTY
                               if q * entry * (1 - frac - _SLACK) >= 1.01 * floor and q * entry <= 0.98 * cap])
    eth_entry = d.choice("eth entry", range(1_500, 4_001, 50))
    # the ETH position is worth 20–50 % of the BTC one: its PnL never exceeds the BTC cushion
    eth_qty = max(1, round(qty * entry * d.choice("eth size", (0.2, 0.35, 0.5)) / eth_entry))
    n: dict[str, Any] = {
        "wallet": 0.0,
        "btc_qty": qty,
        "btc_entry": entry,
        "table": BTC,
        "eth_side": d.choice("eth side", SIDES),
        "eth_qty": eth_qty,
        "eth_entry": eth_entry,
        "eth_mark": _moved(eth_entry, d.choice("eth move", (-0.06, -0.04, -0.02, 0.02, 0.04, 0.06))),
        "eth_mmr": d.choice("eth_mmr", (0.005, 0.01)),
    }
    # The wallet that puts the liquidation price `frac` below the entry: minus the health there
    # with an empty wallet (to ten USDT).
    target = entry * (1 - frac)
    n["wallet"] = int(round(-float(_lp_account(n).health({**_lp_prices(n), "BTC": target})), -1))
    return n


def _cross_lp(n: Numbers, **slip: Any) -> float:
    return _long_lp(_lp_account(n, **slip), _lp_prices(n))


def _eth_mm(n: Numbers) -> float:
    """TMM1: the ETH position's maintenance margin at its mark."""
    return float(requirement(_eth_table(n["eth_mmr"]), n["eth_qty"], n["eth_mark"]))


def _no_cum(n: Numbers) -> float:
    """The liquidation price with the entry tier's MMR and no maintenance amount."""
    rate = float(bundled_table(n["table"]).rate(n["btc_qty"] * n["btc_entry"]))
    return _cross_lp(n, btc_table=TierTable.single(rate))


def _eth_upl(n: Numbers) -> float:
    """UPNL1: the ETH position's PnL at its mark."""
    return _sign(n["eth_side"]) * n["eth_qty"] * (n["eth_mark"] - n["eth_entry"])


def _cross_lp_derivation(n: Numbers) -> Derivation:
    """The account's own derivation: health (the ETH position held at its mark) walked down to 0."""
    return _lp_account(n).explain_liquidation_price(_lp_prices(n), "BTC", "below")


CROSS_LP = Exercise(
    title="Cross liquidation price with another position",
    numbers=_lp_numbers,
    expected=_cross_lp,
    answer=Value(MONEY),
    hint="LP = (WB − TMM1 + UPNL1 + cum − s·Q·EP)/(Q·MMR − s·Q), with TMM1 = the ETH position's "
    "maintenance margin and UPNL1 its PnL at its mark, MMR and cum of the BTC tier at LP"
    + _see("One account, one health"),
    mistakes=(
        Mistake(
            lambda n: _cross_lp(n, eth=False),
            "you left out the ETH position: in cross margin it shares the wallet, so subtract its "
            "maintenance margin (TMM1) and add its PnL (UPNL1)",
            line="health_now",
        ),
        Mistake(
            lambda n: _cross_lp(n, extra=_eth_mm(n)),
            "you left out the ETH position's maintenance margin TMM1 = qty·mark·MMR: it is reserved "
            "out of the shared wallet",
            line="mm_2",
        ),
        Mistake(
            lambda n: _cross_lp(n, eth_pnl=False),
            "you left out the ETH position's PnL UPNL1 = s·qty·(mark − entry): a profit supports the "
            "BTC long, a loss eats into the wallet",
            line="upl_2",
        ),
        Mistake(
            _no_cum,
            "you left out the maintenance amount cum of the BTC tier: MM = value·MMR − cum",
            line="mm_1",
        ),
    ),
    derivation=_cross_lp_derivation,
)


# ---------------------------------------------------------------------- 6. isolated vs cross
_VS_QTY = (1, 1.5, 2, 2.5, 3, 4, 5, 6)
_EXTRA = (0.05, 0.08, 0.1, 0.15)  # the rest of the wallet, as a fraction of the position's value


def _isolated(n: Numbers) -> IsolatedPosition:
    """The position in isolated mode: margin IM = value/leverage."""
    return IsolatedPosition.open(bundled_table(n["table"]), n["side"], n["qty"], n["entry"], n["leverage"])


def _cross(n: Numbers) -> CrossAccount:
    """The position in cross mode: the whole wallet backs it."""
    inst = Instrument("BTCUSDT", bundled_table(n["table"]), "BTC")
    return CrossAccount([inst], {"USDT": n["wallet"]}, [Position("BTCUSDT", n["side"], n["qty"], n["entry"])])


def _cross_lp_of(n: Numbers) -> float:
    below, above = _cross(n).liquidation_prices({"BTC": n["entry"]}, "BTC")
    return float((below if n["side"] == "long" else above).price)


def _vs_numbers(d: Draw) -> dict[str, Any]:
    side = d.choice("side", SIDES)
    entry = d.choice("entry", range(30_000, 65_001, 250))
    # in tier 2 (50,000 – 250,000 USDT) at the entry and at both liquidation prices
    qty = d.choice("qty", [q for q in _VS_QTY if 70_000 <= q * entry <= 190_000])
    leverage = d.choice("leverage", (10, 20, 25, 50))
    value = qty * entry
    n: dict[str, Any] = {
        "side": side,
        "qty": qty,
        "entry": entry,
        "leverage": leverage,
        "table": BTC,
        "wallet": int(round(value * (1 / leverage + d.choice("extra", _EXTRA)), -2)),
    }
    isolated, cross = float(_isolated(n).liquidation_price().price), _cross_lp_of(n)
    # Where the crash goes: between the two liquidation prices (the lesson's case), beyond both,
    # or short of both.
    n["extreme"] = int(round({
        "between": (isolated + cross) / 2,
        "beyond": cross * (1 - _sign(side) * 0.03),
        "short": (entry + isolated) / 2,
    }[d.choice("scenario", ("between", "between", "beyond", "short"))]))
    return n


def _alone_in_cross(n: Numbers) -> IsolatedPosition:
    """The position alone in a cross account: as an isolated one backed by the whole wallet."""
    return IsolatedPosition(bundled_table(n["table"]), n["side"], n["qty"], n["entry"], n["wallet"],
                            n["qty"] * n["entry"] / n["wallet"])


_WHOLE_WALLET = statement("cross", "cross margin, the position alone in the account: the whole wallet backs it, "
                                   "M = wallet")


def _loss(d: Derivation, margin: float, what: str) -> Derivation:
    """A health derivation at the extreme, then what is lost: the margin if health ≤ 0, else 0."""
    h = float(d.result)  # type: ignore[arg-type]
    lost = margin if h <= 0 else 0.0
    why = (f"health ≤ 0 at the extreme: liquidated, {what} is lost" if h <= 0
           else "health > 0 at the extreme: not liquidated, nothing is lost once the price is back")
    return extended(d, Line("loss", "loss = M" if h <= 0 else "loss", "", lost, why),
                    title=f"Loss of {d.title[0].lower()}{d.title[1:]}")


def _vs_derivations(n: Numbers) -> dict[str, Derivation]:
    iso, cross = _isolated(n), _alone_in_cross(n)
    cross_lp = cross.explain("liquidation_price")
    cross_health = cross.explain("health", n["extreme"])
    return {
        "isolated_lp": iso.explain("liquidation_price"),
        "cross_lp": Derivation(f"Cross {cross_lp.title[0].lower()}{cross_lp.title[1:]}", (_WHOLE_WALLET, *cross_lp.lines),
                               cross_lp.rule, cross_lp.source),
        "isolated_loss": _loss(iso.explain("health", n["extreme"]), float(iso.margin), "the isolated margin IM"),
        "cross_loss": _loss(Derivation(cross_health.title, (_WHOLE_WALLET, *cross_health.lines), cross_health.rule,
                                       cross_health.source), float(n["wallet"]), "the whole wallet"),
    }


def _vs_expected(n: Numbers) -> dict[str, float]:
    iso, acc = _isolated(n), _cross(n)
    return {
        "isolated_lp": float(iso.liquidation_price().price),
        "cross_lp": _cross_lp_of(n),
        "isolated_loss": float(iso.margin) if iso.is_liquidated(n["extreme"]) else 0.0,
        "cross_loss": float(n["wallet"]) if float(acc.health({"BTC": n["extreme"]})) <= 0 else 0.0,
    }


ISOLATED_VS_CROSS = Exercise(
    title="Isolated vs cross: which liquidates first, and what is lost",
    numbers=_vs_numbers,
    expected=_vs_expected,
    answer=Record({"isolated_lp": MONEY, "cross_lp": MONEY, "isolated_loss": MONEY, "cross_loss": MONEY}),
    hint="both liquidation prices are LP = (margin + cum − s·Q·EP)/(Q·MMR − s·Q), margin = IM = Q·EP/L "
    "in isolated mode and the whole wallet in cross; a liquidated position loses all the margin "
    "backing it (IM, or the whole wallet), one that survives loses nothing once the price is back"
    + _see("Isolated vs cross"),
    derivation=_vs_derivations,
)


class Exercises(ExerciseSet):
    """Lesson 03 exercises for one student (``student_id=...`` or ``seed=...``).

    >>> ex = Exercises(student_id="demo")
    >>> def collateral(amount, bounds, rates):
    ...     return amount  # no haircut
    >>> ex.check(4, collateral).hint
    'that is the amount itself: collateral is valued below it, slice by slice (see line 3 of ex.show(4))'
    """

    lesson = "03"
    exercises = (CROSS_RATIO, NET_RATIO, COLLATERAL, COLLATERAL_FUNCTION, CROSS_LP, ISOLATED_VS_CROSS)

