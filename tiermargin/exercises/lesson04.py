"""Exercises for lesson 04, gradient tiers (``lessons/04_gradient_tiers.ipynb``).

From easy to hard:

1. the maintenance margin of a position on a continuous table, MM = value·MMR − cum, from a
   snippet of the table;
2. the same rows charged in the step form: MM just below and just above a tier boundary, step and
   continuous (the step form jumps, the continuous one does not);
3. a function ``maintenance_amounts(rows)`` deriving a table's maintenance amounts
   cum_k = cum_{k−1} + floor_k·(MMR_k − MMR_{k−1}), checked on hidden tables (Binance BTCUSDT
   2021: 0, 50, 1,300, 16,300, ...; an unbounded last tier; no published max leverage; one tier);
4. a function ``from_ccxt(response)`` building a tier table from a ccxt-style
   ``fetch_leverage_tiers`` response, checked on hidden responses (an unbounded last tier with
   ``maxNotional: None``, tiers in contracts, no max leverage);
5. "how large can I go at L×?": the cap of the last tier allowing that leverage;
6. how far off a calculator is that ignores the maintenance amount (MM = value·MMR on a continuous
   table): the error in the liquidation price;
7. a schedule without steps (Deribit, linear in size): the maintenance margin and the max leverage
   at a size.

Every expected answer comes from :mod:`tiermargin.tiers` (``TierTable.maintenance_margin``,
``TierTable.cum``, ``TierTable.from_ccxt``, ``TierTable.max_size_at_leverage``),
:class:`~tiermargin.IsolatedPosition` and :class:`~tiermargin.alternatives.LinearSchedule`; the
student's numbers come from their id.

>>> ex = Exercises(student_id="demo")
>>> ex.check(1, None)
Exercise 1 — not attempted: replace ... with your answer
>>> ex.check(1, "1300")
Exercise 1 — wrong: got a str ('1300'). Hint: the answer is a number in USDT
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np

from .. import IsolatedPosition, TierTable, liquidation_price
from ..alternatives import ContractSchedule, LinearSchedule
from ..derivation import Derivation, Line, num
from .core import (
    MONEY,
    Draw,
    Exercise,
    ExerciseSet,
    Function,
    Mistake,
    Number,
    NumberList,
    Numbers,
    Record,
    TierRows,
    Value,
    bundled_table,
    see,
)
from .show import composed, renamed, statement

BTC = "binance-usdm-btcusdt-2021"
ZEC = "binance-usdm-zecusdt"
LESSON = "lessons/04_gradient_tiers.ipynb"
SIDES = ("long", "short")
USDC = Number("USDC", abs_tol=0.01)
LEVERAGE = Number(rel_tol=1e-6, spec=".6g")
# maintenance amounts: to the cent (in the table's unit), relatively for the largest
AMOUNTS = NumberList(Number(abs_tol=0.01, rel_tol=1e-9, spec=",.10g"))

_see = partial(see, LESSON)

# Quantities a student would hold: 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10, 15, ... 80,000.
_LADDER: tuple[float, ...] = tuple(sorted({m * 10**e for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8) for e in range(5)}))


def _plain(x: float) -> int | float:
    """A number as a student reads it: ``50000`` rather than ``50000.0``."""
    x = float(x)
    return int(x) if x.is_integer() else x


@functools.lru_cache(maxsize=None)
def _snippet(table: TierTable, first: int, last: int) -> tuple[tuple[Any, ...], ...]:
    """Tiers ``first`` to ``last`` (0-based, inclusive) as published: (floor, cap, MMR, maintenance amount)."""
    return tuple(
        (_plain(table.floors[k]), None if math.isinf(table.caps[k]) else _plain(table.caps[k]),
         float(table.mmr[k]), _plain(round(float(table.cum[k]), 6)))
        for k in range(first, last + 1)
    )


def _rows(table: TierTable) -> tuple[tuple[Any, ...], ...]:
    """A table's rows (floor, cap, MMR, max leverage) as plain tuples: cap None when unbounded,
    max leverage None when not published."""
    return tuple(
        (_plain(floor), None if cap is None else _plain(cap), float(mmr), None if lev is None else _plain(lev))
        for floor, cap, mmr, lev in table.rows()
    )


def _inner_tier(table: TierTable, value: float, room: float) -> int | None:
    """The 0-based tier of ``value`` if it has a maintenance amount (not the first tier), is not
    the last, and ``value`` is at least ``room`` (a fraction) inside its bounds; else None."""
    k = int(table.tier_index(value))
    if 1 <= k <= table.n_tiers - 2 and table.floors[k] * (1 + room) <= value <= table.caps[k] * (1 - room):
        return k
    return None


# ---------------------------------------------------------------------- 1. MM on a continuous table
_PRICES = {BTC: range(20_000, 70_001, 250), ZEC: range(30, 251)}
_QTY = {
    BTC: (1.5, 2, 2.5, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100, 120, 150),
    ZEC: (400, 500, 600, 800, 1_000, 1_200, 1_500, 2_000, 2_500, 3_000, 4_000, 5_000, 6_000, 8_000),
}
_ROOM = 0.02  # the value is at least 2 % inside its tier


def _mm_numbers(d: Draw) -> dict[str, Any]:
    """A position in a tier with a maintenance amount, and the tiers around it."""
    table_id = d.choice("table", (BTC, ZEC))
    table = bundled_table(table_id)
    price = d.choice("price", _PRICES[table_id])
    qty = d.choice("qty", [q for q in _QTY[table_id] if _inner_tier(table, q * price, _ROOM) is not None])
    k = _inner_tier(table, qty * price, _ROOM)
    assert k is not None  # by the choice of qty
    return {"qty": qty, "price": price, "table": table_id, "tiers": _snippet(table, k - 1, k + 1)}


def _value(n: Numbers) -> float:
    return float(n["qty"] * n["price"])


def _mm(n: Numbers) -> float:
    return float(bundled_table(n["table"]).maintenance_margin(_value(n)))


def _mm_in_tier(n: Numbers, shift: int) -> float:
    """MM = value·MMR − cum with the rate and amount of the tier ``shift`` away from the right one."""
    table, value = bundled_table(n["table"]), _value(n)
    k = int(table.tier_index(value)) + shift
    return float(value * table.mmr[k] - table.cum[k])


def _value_line(qty: float, price: float, at: str = "price") -> Line:
    return Line("value", f"value = qty × {at}", f"{num(qty)} × {num(price)}", float(qty * price))


def _mm_derivation(table: TierTable, qty: float, price: float, at: str = "price") -> Derivation:
    """value = qty × price, then the table's maintenance margin of that value."""
    d = table.explain(float(qty * price))
    return Derivation(d.title, (_value_line(qty, price, at), *d.lines), d.rule, d.source)


WRONG_TIER = (
    "you took the rate and maintenance amount of a neighbouring tier: the value qty·price falls in "
    "the tier with floor < value ≤ cap (Binance's brackets include their cap)"
)

MM = Exercise(
    title="Maintenance margin on a continuous table",
    numbers=_mm_numbers,
    expected=_mm,
    answer=Value(MONEY),
    hint="MM = value·MMR_k − cum_k, value = qty·price, MMR_k and cum_k those of the tier the value "
    "falls in (floor < value ≤ cap)" + _see("Step and continuous forms", "Maintenance amounts"),
    mistakes=(
        Mistake(
            lambda n: float(bundled_table(n["table"]).with_form("step").maintenance_margin(_value(n))),
            "that is value·MMR_k, the step form (or the deduction forgotten): on a continuous table "
            "subtract the tier's maintenance amount cum_k",
            line="mm",
        ),
        Mistake(
            lambda n: _value(n) * float(bundled_table(n["table"]).rate(_value(n)))
            + float(bundled_table(n["table"]).maintenance_amount(_value(n))),
            "you added the maintenance amount: it is a deduction, MM = value·MMR_k − cum_k",
            line="mm",
        ),
        Mistake(lambda n: _mm_in_tier(n, -1), WRONG_TIER, line="tier"),
        Mistake(lambda n: _mm_in_tier(n, +1), WRONG_TIER, line="tier"),
        Mistake(
            lambda n: _value(n) * float(bundled_table(n["table"]).mmr[0]),
            "that is the whole value at the first tier's rate: the rate rises with the tier",
            line="mmr",
        ),
    ),
    derivation=lambda n: _mm_derivation(bundled_table(n["table"]), n["qty"], n["price"]),
)


# ---------------------------------------------------------------------- 2. step vs continuous at a boundary
_BOUNDARIES = {BTC: (1, 2, 3), ZEC: (1, 2, 3, 4)}  # 0-based index of the cap crossed (both tiers have a cum)
_PRICE_RANGE = {BTC: (15_000, 75_000), ZEC: (25, 300)}
_GAPS = (0.002, 0.005, 0.01, 0.02)  # how far each mark is from the boundary, as a fraction


def _jump_numbers(d: Draw) -> dict[str, Any]:
    """A position whose value crosses the boundary cap_k between two marks, each a little way off."""
    table_id = d.choice("table", (BTC, ZEC))
    table = bundled_table(table_id)
    k = d.choice("boundary", _BOUNDARIES[table_id])
    cap = float(table.caps[k])
    lo, hi = _PRICE_RANGE[table_id]
    qty = d.choice("qty", [q for q in _LADDER if lo <= cap / q <= hi])
    gap = d.choice("gap", _GAPS)
    return {
        "qty": _plain(qty),
        "mark_below": round(cap / qty * (1 - gap), 2),
        "mark_above": round(cap / qty * (1 + gap), 2),
        "table": table_id,
        "tiers": _snippet(table, k, k + 1),
    }


def _sides(n: Numbers) -> tuple[float, float]:
    """The position's value at the mark below and at the mark above the boundary."""
    return float(n["qty"] * n["mark_below"]), float(n["qty"] * n["mark_above"])


def _jump(n: Numbers) -> dict[str, float]:
    table = bundled_table(n["table"])
    step = table.with_form("step")
    below, above = _sides(n)
    return {
        "step_below": float(step.maintenance_margin(below)),
        "step_above": float(step.maintenance_margin(above)),
        "continuous_below": float(table.maintenance_margin(below)),
        "continuous_above": float(table.maintenance_margin(above)),
    }


def _in_tier_of(n: Numbers, value: float, tier_of: float) -> tuple[float, float]:
    """(step, continuous) MM of ``value`` charged with the tier of the value ``tier_of``."""
    table = bundled_table(n["table"])
    rate, cum = float(table.rate(tier_of)), float(table.maintenance_amount(tier_of))
    return value * rate, value * rate - cum


def _other_side_tier(n: Numbers) -> dict[str, float]:
    """Each side charged with the other side's tier."""
    below, above = _sides(n)
    step_below, cont_below = _in_tier_of(n, below, above)
    step_above, cont_above = _in_tier_of(n, above, below)
    return {"step_below": step_below, "continuous_below": cont_below,
            "step_above": step_above, "continuous_above": cont_above}


def _jump_derivations(n: Numbers) -> dict[str, Derivation]:
    table = bundled_table(n["table"])
    step = table.with_form("step")
    return {
        f"{form}_{side}": _mm_derivation(t, n["qty"], n[f"mark_{side}"], f"mark_{side}")
        for form, t in (("step", step), ("continuous", table)) for side in ("below", "above")
    }


JUMP = Exercise(
    title="Step and continuous forms at a tier boundary",
    numbers=_jump_numbers,
    expected=_jump,
    answer=Record({"step_below": MONEY, "step_above": MONEY, "continuous_below": MONEY, "continuous_above": MONEY}),
    hint="at each mark value = qty·mark and k is the tier of that value (floor < value ≤ cap); "
    "step form MM = value·MMR_k, continuous form MM = value·MMR_k − cum_k" + _see("Step and continuous forms"),
    mistakes=(
        Mistake(
            lambda n: {"continuous_below": _jump(n)["step_below"], "continuous_above": _jump(n)["step_above"]},
            "that is value·MMR_k, the step form: the continuous form subtracts the tier's maintenance "
            "amount cum_k",
            line="mm",
        ),
        Mistake(
            lambda n: {"step_below": _jump(n)["continuous_below"], "step_above": _jump(n)["continuous_above"]},
            "the step form has no maintenance amount: MM = value·MMR_k on the whole value",
            line="mm",
        ),
        Mistake(
            _other_side_tier,
            "the two marks put the value in two different tiers: below the boundary the tier whose "
            "cap it is, above it the next tier, with its own MMR (and maintenance amount)",
            line="tier",
        ),
    ),
    derivation=_jump_derivations,
)


# ---------------------------------------------------------------------- 3. maintenance amounts
# (rate, max leverage) pairs, the leverage at most 1/(2·rate): a venue's ladder to draw tables from
_RATE_LADDER = ((0.004, 125), (0.005, 100), (0.0065, 75), (0.01, 50), (0.0125, 40), (0.015, 33), (0.02, 25),
                (0.025, 20), (0.05, 10), (0.1, 5), (0.125, 4), (0.15, 3), (0.25, 2))
_FIRST_CAPS = (10_000, 20_000, 25_000, 50_000, 100_000)
_CAP_STEPS = (2, 2.5, 4, 5)


def _drawn_table(d: Draw, unbounded: bool) -> TierTable:
    """A table of 4 to 6 tiers with rising rates and caps (the last unbounded if ``unbounded``)."""
    n = d.choice("tiers", (4, 5, 6))
    at = [d.choice("first rate", (0, 1, 2))]
    for k in range(1, n):
        at.append(at[-1] + d.choice(f"rate step {k}", (1, 1, 2)))  # at most 2 + 2·5 = 12: in the ladder
    bounds: list[float] = [0, d.choice("first cap", _FIRST_CAPS)]
    for k in range(1, n):
        bounds.append(bounds[-1] * d.choice(f"cap step {k}", _CAP_STEPS))
    caps: list[float | None] = [*bounds[1:-1], None if unbounded else bounds[-1]]
    return TierTable.from_rows([[f, c, *_RATE_LADDER[i]] for f, c, i in zip(bounds, caps, at)])


def _amounts_numbers(d: Draw) -> dict[str, Any]:
    return {"rows": _rows(_drawn_table(d, d.choice("unbounded", (True, False))))}


def _amounts(n: Numbers) -> list[float]:
    return TierTable.from_rows(n["rows"]).cum.tolist()


def _column(n: Numbers, i: int) -> list[float]:
    return [math.inf if r[i] is None else float(r[i]) for r in n["rows"]]


def _with_floors(n: Numbers, floors: Sequence[float]) -> list[float]:
    """The recurrence with other numbers in place of the floors (a slip's amounts: the caps put in may
    include an unbounded last cap, which :func:`maintenance_amounts` rightly refuses as a floor)."""
    f, r = np.asarray(floors, dtype=np.float64), np.asarray(_column(n, 2))
    with np.errstate(invalid="ignore"):  # ∞ × 0 where a slip puts an unbounded cap beside an unchanged rate
        return np.concatenate(([0.0], np.cumsum(f[1:] * np.diff(r)))).tolist()


def _own_caps(n: Numbers) -> list[float]:
    """cum_k built with the cap of tier k instead of its floor."""
    caps = _column(n, 1)
    return _with_floors(n, [0.0, *caps[1:]])


def _previous_floors(n: Numbers) -> list[float]:
    """cum_k built with the floor of tier k − 1 instead of tier k's."""
    floors = _column(n, 0)
    return _with_floors(n, [0.0, *floors[:-1]])


def _amounts_derivation(n: Numbers) -> Derivation:
    """cum_1 = 0, then the recurrence up to the last tier, from :meth:`TierTable.explain`'s lines
    for a size in the last tier. The result is the last amount; the lines' values are the list."""
    table = TierTable.from_rows(n["rows"])
    first = Line("cum_1", "cum_1", "", 0.0, "the first tier has no maintenance amount")
    lines: tuple[Line, ...] = ()
    if table.n_tiers > 1:
        last = float(table.caps[-1]) if math.isfinite(table.caps[-1]) else 2 * float(table.floors[-1])
        assert int(table.tier_index(last)) == table.n_tiers - 1
        lines = tuple(ln for ln in table.explain(last).lines if ln.key == "cum")
    return Derivation(f"Maintenance amounts of a table of {table.n_tiers} tiers", (first, *lines),
                      "cum_k = cum_{k−1} + floor_k × (MMR_k − MMR_{k−1}): each slice at its tier's rate",
                      "Binance FAQ 'Maintenance Amount on Level n = 250,000 × (1% − 0.5%) + 50 USDT = 1,300 USDT'")


AMOUNTS_MISTAKES = (
    Mistake(
        lambda n: np.diff(_amounts(n), prepend=0.0).tolist(),
        "those are only the steps floor_k·(MMR_k − MMR_{k−1}): each amount adds its step to the "
        "previous amount, cum_k = cum_{k−1} + floor_k·(MMR_k − MMR_{k−1})",
        line="cum",
    ),
    Mistake(
        lambda n: _amounts(n)[1:],
        "the first tier has an amount too, cum_1 = 0: give one amount per tier",
        line="cum_1",
    ),
    Mistake(
        lambda n: [-x for x in _amounts(n)],
        "the sign is reversed: the rates rise, so the amounts are ≥ 0, with MMR_k − MMR_{k−1}",
        line="cum",
    ),
    Mistake(
        _own_caps,
        "you used the cap of tier k: the step is taken where tier k starts, at its floor "
        "(the cap of tier k − 1)",
        line="cum",
    ),
    Mistake(
        _previous_floors,
        "you used the floor of tier k − 1: the step is taken where tier k starts, at its own floor",
        line="cum",
    ),
)


def _fresh_rows(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """Fresh lists on every call: a function that edits its argument changes nothing here."""
    return [list(r) for r in rows]


_SAME_RATE = ((0, 10_000, 0.01, 50), (10_000, 20_000, 0.01, 25), (20_000, None, 0.02, 20))

AMOUNTS_FUNCTION = Exercise(
    title="A maintenance-amounts function",
    numbers=_amounts_numbers,
    expected=_amounts,
    answer=Function(
        "maintenance_amounts",
        ("rows",),
        AMOUNTS,
        hidden=(
            # Binance BTCUSDT 2021: 0, 50, 1,300 (the FAQ's example), 16,300, 266,300, ...
            {"rows": _rows(bundled_table(BTC))},
            {"rows": _rows(bundled_table("binance-usdm-adabusd"))},
            {"rows": _rows(bundled_table(ZEC))},
            # Hyperliquid: the last tier unbounded (cap None); mainnet 0 and 1,875,000
            {"rows": _rows(bundled_table("hyperliquid-btc-mainnet"))},
            {"rows": _rows(bundled_table("hyperliquid-btc-testnet"))},
            # Bybit's help-page table: max leverage not published (None); amounts 0, 5, 15, 30, 50
            {"rows": _rows(bundled_table("bybit-xyzusdt-illustration"))},
            # one tier; two tiers at the same rate (no step between them)
            {"rows": ((0, None, 0.01, 50),)},
            {"rows": _SAME_RATE},
        ),
        convert={"rows": _fresh_rows},
        labels=(
            "Binance BTCUSDT 2021",
            "Binance ADABUSD",
            "Binance ZECUSDT",
            "Hyperliquid BTC, the last tier unbounded",
            "Hyperliquid BTC testnet, the last tier unbounded",
            "Bybit's illustration, max leverage not published",
            "one tier",
            "two tiers at the same rate",
        ),
    ),
    hint="cum_1 = 0, then cum_k = cum_{k−1} + floor_k·(MMR_k − MMR_{k−1}), floor_k = row[0] and "
    "MMR_k = row[2] of tier k; one amount per tier, in order" + _see("Maintenance amounts"),
    mistakes=AMOUNTS_MISTAKES,
    derivation=_amounts_derivation,
)


# ---------------------------------------------------------------------- 4. a table from ccxt
def _binance_info(table: TierTable) -> list[dict[str, str]]:
    """Binance's raw bracket for each tier (``GET /fapi/v1/leverageBracket``), as ccxt keeps it in
    ``info``: numbers as strings, with Binance's own maintenance amount ``cum``."""
    return [
        {"bracket": str(k), "initialLeverage": str(lev), "notionalCap": str(cap), "notionalFloor": str(floor),
         "maintMarginRatio": str(mmr), "cum": str(round(float(cum), 6))}
        for k, ((floor, cap, mmr, lev), cum) in enumerate(zip(_rows(table), table.cum), start=1)
    ]


def _response(table: TierTable, currency: str, binance: bool = False) -> tuple[dict[str, Any], ...]:
    """ccxt's ``fetch_leverage_tiers()[symbol]`` for ``table`` (the library's :meth:`TierTable.to_ccxt`),
    with Binance's raw brackets in ``info`` if ``binance``."""
    tiers = table.to_ccxt()
    infos = _binance_info(table) if binance else [{} for _ in tiers]
    return tuple(
        {**t, "currency": currency, "minNotional": _plain(t["minNotional"]),
         "maxNotional": None if t["maxNotional"] is None else _plain(t["maxNotional"]),
         "maxLeverage": None if t["maxLeverage"] is None else _plain(t["maxLeverage"]), "info": info}
        for t, info in zip(tiers, infos)
    )


def _ccxt_numbers(d: Draw) -> dict[str, Any]:
    """A Binance-style response (bounded last tier, raw brackets in ``info``) of a drawn table."""
    return {"response": _response(_drawn_table(d, unbounded=False), d.choice("currency", ("USDT", "USDC")), binance=True)}


def _from_ccxt(n: Numbers) -> list[list[float | None]]:
    return TierTable.from_ccxt(n["response"]).rows()


def _columns(n: Numbers, order: tuple[int, int, int, int]) -> list[list[float | None]]:
    """The right rows with their columns in another order (a slip)."""
    return [[row[i] for i in order] for row in _from_ccxt(n)]


def _fresh_response(response: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Fresh dicts on every call: a function that edits its argument changes nothing here."""
    return [{**t, "info": dict(t["info"])} for t in response]


CCXT_FUNCTION = Exercise(
    title="A tier table from a ccxt response",
    numbers=_ccxt_numbers,
    expected=_from_ccxt,
    answer=Function(
        "from_ccxt",
        ("response",),
        TierRows(),
        hidden=(
            # Binance BTCUSDT 2021, with Binance's raw brackets (strings) in info
            {"response": _response(bundled_table(BTC), "USDT", binance=True)},
            {"response": _response(bundled_table(ZEC), "USDT", binance=True)},
            # Hyperliquid: the last tier is unbounded, maxNotional None
            {"response": _response(bundled_table("hyperliquid-btc-mainnet"), "USDC")},
            {"response": _response(bundled_table("hyperliquid-btc-testnet"), "USDC")},
            # OKX: ccxt puts contracts in the notional fields (an inverse swap, settled in BTC)
            {"response": _response(bundled_table("okx-btc-usd-swap-2019"), "BTC")},
            # max leverage not published: maxLeverage None
            {"response": _response(bundled_table("bybit-xyzusdt-illustration"), "USDT")},
            # one unbounded tier
            {"response": _response(TierTable.single(0.01, 50), "USDT")},
        ),
        convert={"response": _fresh_response},
        labels=(
            "Binance BTCUSDT 2021",
            "Binance ZECUSDT",
            "Hyperliquid BTC, maxNotional None in the last tier",
            "Hyperliquid BTC testnet, maxNotional None in the last tier",
            "OKX BTC-USD-SWAP, in contracts",
            "Bybit's illustration, maxLeverage None",
            "one tier, maxNotional None",
        ),
    ),
    hint="one row per tier, in order: [minNotional, maxNotional, maintenanceMarginRate, maxLeverage]; "
    "maxNotional None is an unbounded last tier and maxLeverage None an unpublished one: keep None"
    + _see("Maintenance amounts"),
    mistakes=(
        Mistake(
            lambda n: _columns(n, (0, 1, 3, 2)),
            "a row is [floor, cap, mmr, max_leverage]: maintenanceMarginRate comes before maxLeverage",
            line="mmr_1",
        ),
        Mistake(
            lambda n: _columns(n, (1, 0, 2, 3)),
            "a row starts with its floor, minNotional, then its cap, maxNotional",
            line="floor_1",
        ),
        Mistake(
            lambda n: _from_ccxt(n)[::-1],
            "keep the tiers in order, tier 1 (floor 0) first",
            line="floor_1",
        ),
    ),
    derivation=lambda n: TierTable.explain_ccxt(n["response"]),
)


# ---------------------------------------------------------------------- 5. how large at L×
def _largest_numbers(d: Draw) -> dict[str, Any]:
    """A whole leverage no tier has as its max (so the last tier allowing it and the next one differ)."""
    table_id = d.choice("table", (BTC, ZEC))
    lev = bundled_table(table_id).max_leverage
    return {"table": table_id, "leverage": d.choice("leverage", [x for x in range(2, int(lev[0])) if x not in lev])}


def _largest(n: Numbers) -> float:
    return float(bundled_table(n["table"]).max_size_at_leverage(n["leverage"]))


def _largest_tier(n: Numbers) -> int:
    """0-based index of the last tier allowing the leverage: the one whose cap is the answer."""
    return int(np.flatnonzero(bundled_table(n["table"]).caps == _largest(n))[0])


HOW_LARGE = Exercise(
    title="How large can I go at L×?",
    numbers=_largest_numbers,
    expected=_largest,
    derivation=lambda n: bundled_table(n["table"]).explain_max_size(n["leverage"]),
    answer=Value(MONEY),
    hint="max leverage falls tier by tier: find the last tier whose max leverage is at least L; the "
    "largest position value is its cap" + _see("Max leverage and how large you can go"),
    mistakes=(
        Mistake(
            lambda n: float(bundled_table(n["table"]).floors[_largest_tier(n)]),
            "that is the floor of the last tier allowing L: the whole tier allows it, up to its cap",
            line="answer",
        ),
        Mistake(
            lambda n: float(bundled_table(n["table"]).caps[_largest_tier(n) + 1]),
            "that is the cap of the next tier, whose max leverage is below L: a position that large "
            "may not use L×",
            line=lambda n: f"tier_{_largest_tier(n) + 2}",
        ),
    ),
)


# ---------------------------------------------------------------------- 6. a calculator without cum
_ENTRIES = {BTC: range(25_000, 65_001, 250), ZEC: range(40, 201)}
_CALC_LEVERAGES = (3, 4, 5, 8, 10, 12, 15, 20)


def _calc_positions(n: Numbers) -> tuple[IsolatedPosition, IsolatedPosition]:
    """The position on the table, and as a calculator ignoring the maintenance amount sees it
    (the same rows charged MM = value·MMR_k: the step form)."""
    table = bundled_table(n["table"])
    args = (n["side"], n["qty"], n["entry"], n["leverage"])
    return IsolatedPosition.open(table, *args), IsolatedPosition.open(table.with_form("step"), *args)


_MIN_AMOUNT = 0.002  # the maintenance amount is at least 0.2 % of the value: an error worth seeing
_APART = 0.05  # USDT between the error cum/(Q·|MMR − s|) and the slip cum/Q, about cum·MMR/Q


def _calc_candidates(table: TierTable, entry: float) -> list[tuple[float, int]]:
    """(qty, leverage) with a sizeable maintenance amount at entry, in a tier allowing the leverage."""
    out = []
    for lev in _CALC_LEVERAGES:
        for q in _LADDER:
            k = _inner_tier(table, q * entry, _ROOM)
            if (k is not None and lev <= table.max_leverage[k] and table.cum[k] >= _MIN_AMOUNT * q * entry
                    and table.cum[k] * table.mmr[k] / q >= _APART):
                out.append((q, lev))
    return out


def _calc_numbers(d: Draw) -> dict[str, Any]:
    """A position whose liquidation prices, on the table and by the calculator, both lie in its
    tier at entry (2 % inside it): the error is the maintenance amount's alone."""
    table_id = d.choice("table", (BTC, ZEC))
    table = bundled_table(table_id)
    side, entry = d.choice("side", SIDES), d.choice("entry", _ENTRIES[table_id])
    candidates = _calc_candidates(table, entry)
    qty, lev = (np.array(c, dtype=float) for c in zip(*candidates))
    tier = table.tier_index(qty * entry)
    ok = np.ones(len(candidates), dtype=bool)
    for t in (table, table.with_form("step")):  # the library's solve, all candidates at once
        lp = liquidation_price(t, side, qty, entry, qty * entry / lev)
        size = qty * lp.price
        k = table.tier_index(size)
        ok &= lp.exists & (k == tier) & (size >= table.floors[k] * (1 + _ROOM)) & (size <= table.caps[k] * (1 - _ROOM))
    q, leverage = d.choice("position", [c for c, good in zip(candidates, ok) if good])
    return {"side": side, "qty": _plain(q), "entry": entry, "leverage": leverage, "table": table_id}


def _calc_prices(n: Numbers) -> tuple[float, float]:
    """(true, calculator's) liquidation prices."""
    true, naive = (float(p.liquidation_price().price) for p in _calc_positions(n))
    return true, naive


def _calc_error(n: Numbers) -> float:
    true, naive = _calc_prices(n)
    return abs(naive - true)


def _calc_derivation(n: Numbers) -> Derivation:
    """Both liquidation prices, each found tier by tier, and the distance between them."""
    true, naive = (p.explain("liquidation_price") for p in _calc_positions(n))
    t, c = float(true.result), float(naive.result)  # type: ignore[arg-type]
    return composed(
        f"Error of a calculator without the maintenance amount: {true.title[0].lower()}{true.title[1:]}",
        ((statement("true", "the liquidation price on the table: continuous form, MM = value·MMR_k − cum_k"),),
         renamed(true.lines, "true_"),
         (statement("calculator", "the calculator's: the same rows, MM = value·MMR_k (no maintenance amount)"),),
         renamed(naive.lines, "calc_")),
        Line("error", "error = |LP_calc − LP|", f"|{num(c)} − {num(t)}|", abs(c - t)),
        rule=true.rule, source=true.source,
    )


NO_AMOUNT = Exercise(
    title="A calculator that ignores the maintenance amount",
    numbers=_calc_numbers,
    expected=_calc_error,
    answer=Value(MONEY),
    hint="LP = (M + cum − s·Q·EP)/(Q·MMR − s·Q) with M = Q·EP/L and the tier at LP; the calculator "
    "computes the same with cum = 0; give |calculator's LP − LP|" + _see("Maintenance amounts"),
    mistakes=(
        Mistake(lambda n: _calc_prices(n)[1], "that is the calculator's liquidation price: give how far it is from the true one",
                line="calc_liquidation_price"),
        Mistake(lambda n: _calc_prices(n)[0], "that is the true liquidation price: give how far the calculator's is from it",
                line="true_liquidation_price"),
        Mistake(
            lambda n: float(bundled_table(n["table"]).maintenance_amount(n["qty"] * n["entry"])) / n["qty"],
            "close: that is cum/Q, but cum enters the formula over Q·MMR − s·Q, so the error is "
            "cum/(Q·|MMR − s|)",
            line="error",
        ),
        Mistake(lambda n: -_calc_error(n), "give the distance as a positive number, |calculator's LP − LP|", line="error"),
    ),
    derivation=_calc_derivation,
)


# ---------------------------------------------------------------------- 7. Deribit: linear in size
# Not 200 BTC: there 1/(1% + 200·0.005%) = 50 = 1/2%, and two recognised slips would coincide.
_DERIBIT_QTY = (10, 20, 40, 60, 80, 100, 150, 250, 300, 400, 500)


def _deribit_numbers(d: Draw) -> dict[str, Any]:
    return {"qty": d.choice("qty", _DERIBIT_QTY), "mark": d.choice("mark", range(20_000, 70_001, 50))}


def _deribit(n: Numbers, schedule: LinearSchedule | None = None, size: float | None = None) -> dict[str, float]:
    """MM and max leverage on Deribit's BTC schedule, or a slip's: another schedule, another size."""
    s = LinearSchedule.deribit_btc() if schedule is None else schedule
    x = n["qty"] if size is None else size
    return {
        "maintenance_margin": float(s.maintenance_rate(x)) * n["qty"] * n["mark"],
        "max_leverage": 1 / float(s.initial_rate(x)),
    }


def _deribit_rates(n: Numbers) -> tuple[float, float]:
    """(maintenance rate, initial rate) at the student's size."""
    s = LinearSchedule.deribit_btc()
    return float(s.maintenance_rate(n["qty"])), float(s.initial_rate(n["qty"]))


def _deribit_derivations(n: Numbers) -> dict[str, Derivation]:
    """The maintenance margin on the schedule, and the max leverage 1 ÷ IM% at the size."""
    schedule = ContractSchedule(LinearSchedule.deribit_btc(), symbol="BTC_USDC-PERPETUAL")
    pos = IsolatedPosition(schedule, "long", n["qty"], n["mark"], n["qty"] * n["mark"], 1.0)
    d = pos.explain("maintenance_margin", n["mark"])
    lev = schedule.explain_max_leverage(n["qty"])
    return {"maintenance_margin": Derivation(
        f"Maintenance margin of {num(n['qty'])} BTC at {num(n['mark'])} on Deribit's BTC schedule", d.lines,
        "Deribit linear perpetual: MM% = 1 % + 0.005 % per BTC of the position, on the position's value",
        "Deribit's published BTC figures (tiermargin.alternatives.LinearSchedule.deribit_btc)"),
        "max_leverage": Derivation(
            f"Max leverage of {num(n['qty'])} BTC on Deribit's BTC schedule", lev.lines,
            "Deribit linear perpetual: IM% = 2 % + 0.005 % per BTC of the position, max leverage = 1 ÷ IM%",
            "Deribit's published BTC figures (tiermargin.alternatives.LinearSchedule.deribit_btc)")}


DERIBIT = Exercise(
    title="A schedule without steps: Deribit, linear in size",
    numbers=_deribit_numbers,
    expected=_deribit,
    answer=Record({"maintenance_margin": USDC, "max_leverage": LEVERAGE}),
    hint="with the size in BTC, MM% = 1% + size·0.005% and IM% = 2% + size·0.005%: MM = MM%·qty·mark, "
    "max leverage = 1/IM%" + _see("Continuous alternatives"),
    mistakes=(
        Mistake(
            lambda n: _deribit(n, schedule=LinearSchedule(0.02, 0.01, 0.005)),
            "0.005 % is 0.00005 as a fraction: MM% = 0.01 + 0.00005·size",
            line="mmr",
        ),
        Mistake(
            lambda n: _deribit(n, size=n["qty"] * n["mark"]),
            "the size in the schedule is in BTC (qty), not the value in USDC",
            line="mmr",
        ),
        Mistake(
            lambda n: {"maintenance_margin": 0.01 * n["qty"] * n["mark"], "max_leverage": 50.0},
            "you left out the size term: the rates grow by 0.005 % per BTC of the position",
            line="mmr",
        ),
        Mistake(
            lambda n: {"max_leverage": 1 / _deribit_rates(n)[0], "maintenance_margin": _deribit_rates(n)[1] * n["qty"] * n["mark"]},
            "maintenance and initial are swapped: MM uses 1% + size·0.005%, max leverage = 1/IM% with "
            "IM% = 2% + size·0.005%",
            line="mmr",
        ),
    ),
    derivation=_deribit_derivations,
)


class Exercises(ExerciseSet):
    """Lesson 04 exercises for one student (``student_id=...`` or ``seed=...``).

    >>> import tiermargin as tm
    >>> ex = Exercises(student_id="demo")
    >>> ex.check(3, lambda rows: tm.TierTable.from_rows(rows).cum)
    Exercise 3 — correct: maintenance_amounts is right on your numbers and on 8 hidden cases
    >>> ex.check(4, tm.TierTable.from_ccxt)
    Exercise 4 — correct: from_ccxt is right on your numbers and on 7 hidden cases
    >>> ex.check(1, ex.show(1).result + 1).hint.startswith("MM = value·MMR_k − cum_k")
    True
    """

    lesson = "04"
    exercises = (MM, JUMP, AMOUNTS_FUNCTION, CCXT_FUNCTION, HOW_LARGE, NO_AMOUNT, DERIBIT)
