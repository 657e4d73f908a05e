"""Exercises for lesson 02, isolated margin (``lessons/02_isolated_margin.ipynb``).

From easy to hard:

1. bankruptcy price of a linear long opened at leverage L;
2. a liquidation price by hand, Bybit's rule (maintenance margin valued at entry, one tier);
3. the three margin ratios at a given mark, and whether the position is liquidated;
4. the margin to add to move the liquidation price to a target;
5. a function ``liquidation_price(side, qty, entry, margin, mmr)`` (Binance's one-way formula,
   one tier), checked on hidden cases;
6. a function ``largest_position(table, leverage)``: the largest size allowed at that leverage,
   checked on several bundled tables;
7. the liquidation price of a position whose tier at the liquidation price is not its tier at entry.

Every expected answer comes from :mod:`tiermargin` (``IsolatedPosition``, ``liquidation_price``,
``TierTable.max_size_at_leverage``); the student's numbers come from their id.

>>> ex = Exercises(student_id="demo")
>>> ex.check(1, None)
Exercise 1 — not attempted: replace ... with your answer
>>> ex.check(1, "45000")
Exercise 1 — wrong: got a str ('45000'). Hint: the answer is a number in USDT
"""

from __future__ import annotations

from typing import Any

from .. import IsolatedPosition, TierTable, liquidation_price
from ..derivation import Derivation, Line, num
from ..isolated import RequirementAt
from .core import (
    bundled_table,
    see,
    MONEY,
    RATIO,
    SIZE,
    Draw,
    Exercise,
    ExerciseSet,
    Flag,
    Function,
    Mistake,
    Numbers,
    Record,
    Value,
)
from .show import extended

BTC = "binance-usdm-btcusdt-2021"
LESSON = "lessons/02_isolated_margin.ipynb"
SIDES = ("long", "short")


def _open(n: Numbers, table: TierTable, requirement_at: RequirementAt = "mark") -> IsolatedPosition:
    """The position described by the numbers ``side, qty, entry, leverage`` (no extra margin)."""
    return IsolatedPosition.open(table, n["side"], n["qty"], n["entry"], n["leverage"], requirement_at=requirement_at)


# ---------------------------------------------------------------------- 1. bankruptcy price
def _bankruptcy_numbers(d: Draw) -> dict[str, Any]:
    return {
        "side": "long",
        "qty": d.choice("qty", (0.1, 0.25, 0.5, 0.8, 1, 1.5, 2)),
        "entry": d.choice("entry", range(25_000, 65_001, 250)),
        "leverage": d.choice("leverage", (3, 5, 8, 10, 12, 20, 25, 40, 50)),
    }


BANKRUPTCY = Exercise(
    title="Bankruptcy price",
    numbers=_bankruptcy_numbers,
    expected=lambda n: _open(n, bundled_table(BTC)).bankruptcy_price().price,
    answer=Value(MONEY),
    hint="the bankruptcy price is where equity M + Q·(P − EP) reaches 0, with M = Q·EP/L"
    + see(LESSON, "Liquidation and bankruptcy prices"),
    mistakes=(
        Mistake(
            lambda n: _open({**n, "side": "short"}, bundled_table(BTC)).bankruptcy_price().price,
            "that is a short's bankruptcy price: a long loses when the price falls, so P = EP·(1 − 1/L)",
            line="u_b",
        ),
    ),
    derivation=lambda n: _open(n, bundled_table(BTC)).explain("bankruptcy_price"),
)


# ---------------------------------------------------------------------- 2. Bybit liquidation price
def _bybit_numbers(d: Draw) -> dict[str, Any]:
    return {
        "side": "long",
        "qty": d.choice("qty", (0.5, 1, 2, 3)),
        "entry": d.choice("entry", range(15_000, 30_001, 100)),
        "leverage": d.choice("leverage", (10, 20, 25, 50)),
        "mmr": d.choice("mmr", (0.005, 0.01)),
    }


def _bybit(n: Numbers, requirement_at: RequirementAt = "entry") -> IsolatedPosition:
    return _open(n, TierTable.single(n["mmr"]), requirement_at)


BYBIT = Exercise(
    title="Liquidation price by hand (Bybit: maintenance margin at entry)",
    numbers=_bybit_numbers,
    expected=lambda n: _bybit(n).liquidation_price().price,
    answer=Value(MONEY),
    hint="with IM = Q·EP/L and MM = Q·EP·MMR (valued at entry), LP = EP − (IM − MM)/Q"
    + see(LESSON, "Liquidation and bankruptcy prices"),
    mistakes=(
        Mistake(
            lambda n: _bybit(n, "mark").liquidation_price().price,
            "you valued the maintenance margin at the liquidation price (Binance's rule); "
            "Bybit's isolated formula values it at entry: LP = EP − (IM − MM)/Q",
            line="valuation",
        ),
        Mistake(
            lambda n: _bybit(n).bankruptcy_price().price,
            "that is the bankruptcy price: liquidation comes earlier, when the equity falls to the "
            "maintenance margin, LP = EP − (IM − MM)/Q",
            line="mm",
        ),
    ),
    derivation=lambda n: _bybit(n).explain("liquidation_price"),
)


# ---------------------------------------------------------------------- 3. margin ratios
# Where the mark sits: a fraction of the way from the liquidation price towards the bankruptcy
# price ("past": liquidated) or towards the entry ("before"; past 1, the position is in profit).
_MARKS = (("past", 0.25), ("past", 0.5), ("before", 0.05), ("before", 0.3), ("before", 1.2))


def _ratios_numbers(d: Draw) -> dict[str, Any]:
    n: dict[str, Any] = {
        "side": d.choice("side", SIDES),
        "qty": d.choice("qty", (1, 1.5, 2, 3)),
        "entry": d.choice("entry", range(30_000, 60_001, 500)),
        "leverage": d.choice("leverage", (10, 20, 25, 50)),
        "table": BTC,
    }
    p = _open(n, bundled_table(BTC))
    where, frac = d.choice("mark", _MARKS)
    lp = p.liquidation_price().price
    towards = p.bankruptcy_price().price if where == "past" else n["entry"]
    n["mark"] = round(lp + frac * (towards - lp))
    return n


def _ratios_derivations(n: Numbers) -> dict[str, Derivation]:
    """Each ratio's derivation at the mark; ``liquidated``: the health there (liquidated when ≤ 0)."""
    p = _open(n, bundled_table(n["table"]))
    return {"legacy": p.explain("ratio_legacy", n["mark"]), "coinw": p.explain("ratio_coinw", n["mark"]),
            "binance": p.explain("ratio_binance", n["mark"]), "liquidated": p.explain("health", n["mark"])}


def _ratios_expected(n: Numbers) -> dict[str, Any]:
    p = _open(n, bundled_table(n["table"]))
    r = p.margin_ratios(n["mark"])
    return {"legacy": r.legacy, "coinw": r.coinw, "binance": r.binance, "liquidated": p.is_liquidated(n["mark"])}


RATIOS = Exercise(
    title="Margin ratios at a mark price",
    numbers=_ratios_numbers,
    expected=_ratios_expected,
    answer=Record({"legacy": RATIO, "coinw": RATIO, "binance": RATIO, "liquidated": Flag()}),
    hint="with equity = M + UPL at the mark and MM = value·MMR − cum of the tier of the value at the "
    "mark: legacy = equity/value, coinw = equity/MM, binance = MM/equity; liquidated when equity ≤ MM"
    + see(LESSON, "Margin ratios: three conventions, one health"),
    derivation=_ratios_derivations,
)


# ---------------------------------------------------------------------- 4. margin to add
def _add_margin_numbers(d: Draw) -> dict[str, Any]:
    side = d.choice("side", SIDES)
    entry = d.choice("entry", range(30_000, 60_001, 500))
    away = d.choice("distance", (0.06, 0.08, 0.1, 0.12, 0.15))  # beyond 1/L: past the current LP
    return {
        "side": side,
        "qty": d.choice("qty", (0.5, 1, 2, 4)),
        "entry": entry,
        "leverage": d.choice("leverage", (20, 25, 50)),
        "table": BTC,
        "target": round(entry * (1 - away if side == "long" else 1 + away), -1),
    }


def _add_margin_derivation(n: Numbers) -> Derivation:
    """The health at the target with today's margin, then the margin that brings it to 0."""
    d = _open(n, bundled_table(n["table"])).explain("health", n["target"])
    h = float(d.result)  # type: ignore[arg-type]
    added = Line("added", "added = −health(target)", f"−({num(h)})", -h,
                 "the margin that makes the equity equal the requirement at the target")
    return extended(d, added, title=f"Margin to add: {d.title[0].lower()}{d.title[1:]}")


ADD_MARGIN = Exercise(
    title="Margin to add to move the liquidation price",
    numbers=_add_margin_numbers,
    # At the target the new health must be 0: the margin to add is minus today's health there.
    expected=lambda n: -_open(n, bundled_table(n["table"])).health(n["target"]),
    answer=Value(MONEY),
    hint="at the new liquidation price the equity equals the maintenance margin: "
    "M + added + UPL(target) = MM(target), with MM = value·MMR − cum of the tier at the target"
    + see(LESSON, "Adding margin"),
    mistakes=(
        Mistake(
            lambda n: -_open(n, bundled_table(n["table"])).equity(n["target"]),
            "that margin moves the bankruptcy price to the target; the liquidation price comes "
            "earlier, where the equity still equals the maintenance margin MM(target)",
            line="mm",
        ),
    ),
    derivation=_add_margin_derivation,
)


# ---------------------------------------------------------------------- 5. liquidation price function
def _lp_function_numbers(d: Draw) -> dict[str, Any]:
    qty = d.choice("qty", (0.5, 1, 2, 5))
    entry = d.choice("entry", range(20_000, 70_001, 100))
    return {
        "side": d.choice("side", SIDES),
        "qty": qty,
        "entry": entry,
        "margin": round(qty * entry / d.choice("leverage", (10, 20, 25))),
        "mmr": d.choice("mmr", (0.004, 0.005, 0.01)),
    }


LP_FUNCTION = Exercise(
    title="A liquidation-price function (Binance one-way formula, one tier)",
    numbers=_lp_function_numbers,
    expected=lambda c: liquidation_price(TierTable.single(c["mmr"]), c["side"], c["qty"], c["entry"], c["margin"]).price,
    answer=Function(
        "liquidation_price",
        ("side", "qty", "entry", "margin", "mmr"),
        MONEY,
        hidden=(
            {"side": "short", "qty": 2, "entry": 30_000, "margin": 3_000, "mmr": 0.01},
            {"side": "long", "qty": 1, "entry": 20_000, "margin": 400, "mmr": 0.005},
            {"side": "long", "qty": 0.1, "entry": 65_432.1, "margin": 500, "mmr": 0.004},
            {"side": "short", "qty": 10, "entry": 1_850, "margin": 925, "mmr": 0.005},
            {"side": "long", "qty": 3, "entry": 100, "margin": 15, "mmr": 0.025},
            {"side": "short", "qty": 0.5, "entry": 42_000, "margin": 4_200, "mmr": 0.004},
        ),
    ),
    hint="with s = +1 for a long and −1 for a short, LP = (margin − s·qty·entry)/(qty·mmr − s·qty)"
    + see(LESSON, "Liquidation and bankruptcy prices"),
    derivation=lambda c: IsolatedPosition(TierTable.single(c["mmr"]), c["side"], c["qty"], c["entry"], c["margin"],
                                          c["qty"] * c["entry"] / c["margin"]).explain("liquidation_price"),
)


# ---------------------------------------------------------------------- 6. largest position function
_LEVERAGES = (1, 2, 3, 4, 5, 8, 10, 12, 15, 20, 25, 30, 40, 50, 75, 100, 125)


def _largest_numbers(d: Draw) -> dict[str, Any]:
    table_id = d.choice("table", (BTC, "binance-usdm-adabusd", "binance-usdm-zecusdt"))
    top = bundled_table(table_id).max_leverage[0]
    return {"table": table_id, "leverage": d.choice("leverage", [x for x in _LEVERAGES if x <= top])}


LARGEST = Exercise(
    title="The largest position allowed at a leverage",
    numbers=_largest_numbers,
    expected=lambda c: bundled_table(c["table"]).max_size_at_leverage(c["leverage"]),
    derivation=lambda c: bundled_table(c["table"]).explain_max_size(c["leverage"]),
    answer=Function(
        "largest_position",
        ("table", "leverage"),
        SIZE,
        hidden=(
            {"table": BTC, "leverage": 20},
            {"table": BTC, "leverage": 125},
            {"table": BTC, "leverage": 1},
            {"table": "binance-usdm-zecusdt", "leverage": 4.5},
            {"table": "okx-btc-usd-swap-2019", "leverage": 35},
            {"table": "okx-chzusdt-2022", "leverage": 75},
            {"table": "bitmex-xbtusd-risk-limits", "leverage": 60},
            {"table": "hyperliquid-btc-mainnet", "leverage": 20},
            {"table": "hyperliquid-btc-testnet", "leverage": 7},
        ),
        convert={"table": bundled_table},
    ),
    hint="max leverage falls tier by tier: the answer is the cap of the last tier whose max leverage "
    "is at least the leverage (table.caps, table.max_leverage)" + see(LESSON, "A first look: max leverage falls with size"),
)


# ---------------------------------------------------------------------- 7. tier at the liquidation price
def _tier_change_numbers(d: Draw) -> dict[str, Any]:
    side = d.choice("side", SIDES)
    cap, quantities = d.choice("boundary", ((250_000, (4, 5, 8, 10)), (1_000_000, (16, 17, 20, 25))))
    qty = d.choice("qty", quantities)
    # Just above a boundary for a long (its size shrinks as the price falls), just below for a
    # short (its size grows as the price rises): the tier at the liquidation price is another one.
    gap = d.choice("gap", (0.005, 0.01, 0.015, 0.02))
    size = cap * (1 + gap if side == "long" else 1 - gap)
    return {"side": side, "qty": qty, "entry": round(size / qty, -1), "leverage": d.choice("leverage", (10, 20)), "table": BTC}


def _tier_at_entry_lp(n: Numbers) -> float:
    p = _open(n, bundled_table(n["table"]))
    return p.liquidation_price_in_tier(p.tier(n["entry"])).price


TIER_CHANGE = Exercise(
    title="Liquidation price when the tier changes",
    numbers=_tier_change_numbers,
    expected=lambda n: _open(n, bundled_table(n["table"])).liquidation_price().price,
    answer=Value(MONEY),
    hint="compute LP with the tier at entry, look up the tier of the size Q·LP at that price, and "
    "recompute LP = (M + cum − s·Q·EP)/(Q·MMR − s·Q) with that tier's MMR and cum"
    + see(LESSON, "The tier at the liquidation price"),
    mistakes=(
        Mistake(
            _tier_at_entry_lp,
            "that is the liquidation price with the tier at entry; at that price the position's "
            "size is in another tier: recompute with that tier's MMR and maintenance amount",
            # the entry tier's candidate, rejected: its size is not in that tier
            line=lambda n: f"root_{_open(n, bundled_table(n['table'])).tier(n['entry'])}",
        ),
    ),
    derivation=lambda n: _open(n, bundled_table(n["table"])).explain("liquidation_price"),
)


class Exercises(ExerciseSet):
    """Lesson 02 exercises for one student (``student_id=...`` or ``seed=...``).

    >>> ex = Exercises(student_id="demo")
    >>> ex.task(6).table in ("binance-usdm-btcusdt-2021", "binance-usdm-adabusd", "binance-usdm-zecusdt")
    True
    >>> ex.check(6, lambda table, leverage: float(table.max_size_at_leverage(leverage)))
    Exercise 6 — correct: largest_position is right on your numbers and on 9 hidden cases
    """

    lesson = "02"
    exercises = (BANKRUPTCY, BYBIT, RATIOS, ADD_MARGIN, LP_FUNCTION, LARGEST, TIER_CHANGE)
