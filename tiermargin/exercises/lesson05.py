"""Exercises for lesson 05, stepwise (tier-down) liquidation (``lessons/05_stepwise_liquidation.ipynb``).

From easy to hard:

1. the bankruptcy price of an isolated position, and the risk fund's surplus or loss on a step whose
   closed contracts the venue sold at a given fill price (``UPL(side, ΔQ, B, fill)``);
2. one step of the "one-tier" policy: how many contracts are left once the size is brought just
   under the cap of the tier below the one it is in at the mark;
3. the tiers a position passes through at one crash mark under "one-tier" and under
   "lowest-sufficient" (lists of tiers: they end in the same tier, in several orders or in one);
4. full versus stepwise ("lowest-sufficient") liquidation at one crash mark, fills from a
   linear-impact book: the trader's remaining equity and the risk fund's result under each;
5. a function ``liquidation_steps(table, side, qty, entry, margin, mark)`` returning the contracts
   left after each step of "one-tier" at one mark, checked on hidden cases (shorts, a position past
   its bankruptcy price, one in tier 1, a healthy one, an unbounded last tier, a table counted in
   contracts).

Every expected answer comes from :mod:`tiermargin.liquidation` (:func:`~tiermargin.liquidation.liquidate`
and its event log, :class:`~tiermargin.liquidation.Execution`) and :class:`~tiermargin.IsolatedPosition`
(bankruptcy and liquidation prices); the student's numbers come from their id.

>>> ex = Exercises(student_id="demo")
>>> ex.check(2, None)
Exercise 2 — not attempted: replace ... with your answer
>>> ex.check(2, "18.1")
Exercise 2 — wrong: got a str ('18.1'). Hint: the answer is a number in contracts
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from .. import IsolatedPosition, TierTable
from ..derivation import Derivation, num
from ..liquidation import Execution, LiquidationLog, liquidate
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
    Value,
    bundled_table,
    see,
)
from .show import upto

BTC = "binance-usdm-btcusdt-2021"
ZEC = "binance-usdm-zecusdt"
LESSON = "lessons/05_stepwise_liquidation.ipynb"
SIDES = ("long", "short")
# contracts left: the library keeps a size a relative 1e-9 under a cap, so cap/mark is right too
CONTRACTS = Number("contracts", rel_tol=1e-6, abs_tol=1e-9, spec=",.6g")
TIERS = NumberList(Number(spec=".0f"))
CONTRACT_LIST = NumberList(CONTRACTS)
AT_BANKRUPTCY = Execution("bankruptcy")  # the contracts closed do not depend on the fills

_see = partial(see, LESSON)


def _sign(side: str) -> int:
    return 1 if side == "long" else -1


def _position(n: Numbers) -> IsolatedPosition:
    """The position of the numbers: ``side, qty, entry`` and ``leverage`` (opened at it) or
    ``margin`` (as held; the leverage is then the value over the margin), on ``table``."""
    table = bundled_table(n["table"])
    if "margin" in n:
        value = float(table.contract.value(n["qty"], n["entry"]))
        return IsolatedPosition(table, n["side"], n["qty"], n["entry"], n["margin"], value / n["margin"])
    return IsolatedPosition.open(table, n["side"], n["qty"], n["entry"], n["leverage"])


def _key(n: Numbers) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(n.items()))


@functools.lru_cache(maxsize=1024)
def _run_cached(key: tuple[tuple[str, Any], ...], policy: str, depth: float | None) -> LiquidationLog:
    n = dict(key)
    execution = AT_BANKRUPTCY if depth is None else Execution("impact", depth)
    return liquidate(_position(n), [0.0], [n["mark"]], policy, execution=execution)


def _run(n: Numbers, policy: str, depth: float | None = None) -> LiquidationLog:
    """The library's procedure on the position at its one mark (fills at the bankruptcy price, or
    from a linear-impact book of ``depth``)."""
    return _run_cached(_key(n), policy, depth)


def _bankruptcy(n: Numbers) -> float:
    return float(_position(n).bankruptcy_price().price)


def _tier_at_mark(n: Numbers) -> int:
    """1-based tier of the position's size at its mark."""
    return int(_position(n).tier(n["mark"]))


def _contracts_at_cap(n: Numbers, tier: int, price: float | None = None) -> float:
    """Contracts whose size is the cap of 1-based ``tier`` at ``price`` (default: the mark)."""
    table = bundled_table(n["table"])
    return float(table.contracts_at(table.caps[tier - 1], n["mark"] if price is None else price))


# ---------------------------------------------------------------------- drawing a crash
_QTY = {
    BTC: (5, 8, 10, 15, 20, 25, 30, 40, 50, 60, 80, 100, 120, 150, 200, 250, 300, 400, 500, 600),
    ZEC: (1_000, 1_500, 2_000, 2_500, 3_000, 4_000, 5_000, 6_000, 8_000, 10_000, 12_000),
}
_ENTRIES = {BTC: range(20_000, 70_001, 500), ZEC: range(40, 201)}
_LEVERAGES = (2, 3, 4, 5, 8, 10, 15, 20)
_DIGITS = {BTC: 0, ZEC: 2}  # a mark is drawn to the USDT (BTC) or to the cent (ZEC)
_INSIDE = 0.1  # the mark's equity per unit of value is at least 10 % of its interval inside it
_WIDTH = 2e-4  # ... and that interval at least 0.02 % wide


def _effective_rate(table: TierTable, value: float) -> float:
    """MM/value at a value (notional tables): the equity per unit of value a size needs to be healthy."""
    return float(table.maintenance_margin(value)) / value


def _stops(table: TierTable, side: str, qty: float, bankruptcy: float, digits: int) -> list[tuple[int, int, float]]:
    """(j, k, mark) for every tier j at which "one-tier" stops when the position is marked at
    ``mark`` (j = 0: closed in full), k its tier at the mark.

    At a mark m the remaining contracts keep their share of the margin, so ``keep`` of them have
    equity keep·s·(m − B) and are healthy when s·(m − B)/m exceeds MM/value at their size, which
    rises with the size: the stop is the highest lower tier whose cap passes. The mark is put in the
    middle of the interval of s·(m − B)/m that gives the stop j, well inside it.
    """
    s = _sign(side)
    out = []
    for j in range(table.n_tiers):
        lo = _effective_rate(table, float(table.caps[j - 1])) if j else 0.0
        hi = _effective_rate(table, min(float(table.caps[j]), qty * bankruptcy))
        if hi - lo < _WIDTH:
            continue
        mark = round(bankruptcy / (1 - s * (lo + hi) / 2), digits)
        value = qty * mark
        k = int(table.tier_index(value)) + 1
        hi = _effective_rate(table, min(float(table.caps[j]), value))  # at the mark itself
        r, room = s * (mark - bankruptcy) / mark, _INSIDE * (hi - lo)
        if j < k and hi - lo >= _WIDTH and lo + room <= r <= hi - room:
            out.append((j, k, mark))
    return out


def _crash_numbers(
    d: Draw,
    tables: Sequence[str],
    min_tier: int,
    allowed: Callable[[int, int], bool],
    margin: bool = False,
) -> dict[str, Any]:
    """A position (``side, qty, entry`` and ``leverage``, or ``margin`` if ``margin``) and a mark at
    which it is liquidated, its tier at the mark k ≥ ``min_tier``, and "one-tier" stopping in a tier
    j with ``allowed(j, k)`` (j = 0: closed in full), checked with the library.

    Draws are tried in turn (``try 0``, ``try 1``...): the same id always gives the same numbers.
    """
    for i in range(500):
        t = Draw(f"{d.key}|try {i}")
        table_id = t.choice("table", tables)
        table = bundled_table(table_id)
        side, qty = t.choice("side", SIDES), t.choice("qty", _QTY[table_id])
        entry, leverage = t.choice("entry", _ENTRIES[table_id]), t.choice("leverage", _LEVERAGES)
        value = qty * entry
        if value > table.max_size or leverage > table.max_leverage_at(value):
            continue
        n: dict[str, Any] = {"side": side, "qty": qty, "entry": entry}
        n.update({"margin": round(value / leverage, 2)} if margin else {"leverage": leverage})
        n["table"] = table_id
        stops = [(j, mark) for j, k, mark in _stops(table, side, qty, _bankruptcy(n), _DIGITS[table_id])
                 if k >= min_tier and allowed(j, k)]
        if not stops:
            continue
        j, mark = t.choice("stop", stops)
        n["mark"] = int(mark) if _DIGITS[table_id] == 0 else mark
        events = _run(n, "one-tier").events
        k = _tier_at_mark(n)
        if [e.tier_after for e in events] == list(range(k - 1, j - 1, -1)):  # ends with 0 if j = 0
            return n
    raise RuntimeError(f"no crash found for {d.key!r}")  # pragma: no cover - the tests draw many ids


# ---------------------------------------------------------------------- 1. bankruptcy price and surplus
_QTY_1 = (2, 4, 5, 8, 10, 12, 15, 20)
_SHARE_CLOSED = (0.2, 0.25, 0.4, 0.5, 0.6, 0.75)
# where the fill lies: a fraction of the way from the bankruptcy price towards the liquidation
# price (negative: beyond the bankruptcy price, a loss for the fund)
_FILL_AT = (-0.6, -0.3, 0.2, 0.4, 0.6, 0.8)


def _surplus_numbers(d: Draw) -> dict[str, Any]:
    table = bundled_table(BTC)
    qty, entry = d.choice("qty", _QTY_1), d.choice("entry", range(25_000, 65_001, 250))
    allowed = [x for x in (10, 20, 25, 50) if x <= table.max_leverage_at(qty * entry)]
    n: dict[str, Any] = {"side": d.choice("side", SIDES), "qty": qty, "entry": entry,
                         "leverage": d.choice("leverage", allowed), "table": BTC}
    pos = _position(n)
    b, lp = float(pos.bankruptcy_price().price), float(pos.liquidation_price().price)
    n["closed"] = round(qty * d.choice("share", _SHARE_CLOSED), 6)
    n["fill"] = round(b + d.choice("fill", _FILL_AT) * (lp - b))
    return n


def _surplus_at(n: Numbers, reference: float, qty: float | None = None) -> float:
    """UPL(side, ΔQ, reference, fill): the fund's result with ``reference`` as the takeover price."""
    contract = bundled_table(n["table"]).contract
    return float(contract.upnl(n["side"], n["closed"] if qty is None else qty, reference, n["fill"]))


def _surplus(n: Numbers) -> dict[str, float]:
    b = _bankruptcy(n)
    return {"bankruptcy": b, "surplus": _surplus_at(n, b)}


def _liquidation_price(n: Numbers) -> float:
    return float(_position(n).liquidation_price().price)


def _surplus_derivation(n: Numbers) -> Derivation:
    """The settlement lines of ``LiquidationLog.explain``: the step closing ``closed`` contracts, filled at
    ``fill`` (a liquidation at a mark equal to the fill, filled at the mark), up to the fund's surplus."""
    log = liquidate(_position(n), [0.0], [n["fill"]], "fraction", fraction=n["closed"] / n["qty"],
                    execution=Execution("mark"))
    d = log.explain(0)
    k = d.line_number("settlement")
    return upto(Derivation(f"The fund's result of closing {num(n['closed'])} contracts at {num(n['fill'])}",
                           d.lines[k - 1:], "settled at the bankruptcy price B: the fund takes the closed contracts "
                           "over at B and sells them at the fill F, its result UPL(ΔQ, B, F)", d.source), "surplus")


SURPLUS = Exercise(
    title="Bankruptcy price and the risk fund's result of a step",
    numbers=_surplus_numbers,
    expected=_surplus,
    answer=Record({"bankruptcy": MONEY, "surplus": MONEY}),
    hint="B is where the equity M + s·Q·(P − EP) reaches 0, with M = Q·EP/L: B = EP·(1 − s/L); the "
    "fund takes the closed contracts over at B and sells them at the fill: surplus = s·ΔQ·(fill − B), "
    "s = +1 for a long, −1 for a short" + _see("The procedure"),
    mistakes=(
        Mistake(
            lambda n: {"bankruptcy": _bankruptcy({**n, "side": "short" if n["side"] == "long" else "long"})},
            "that is the other side's bankruptcy price: a long loses as the price falls, B = EP·(1 − 1/L); "
            "a short as it rises, B = EP·(1 + 1/L)",
            line="u_b",
        ),
        Mistake(
            lambda n: {"bankruptcy": _liquidation_price(n)},
            "that is the liquidation price, where the equity meets the maintenance margin; the bankruptcy "
            "price is further on, where the equity reaches 0",
            line="u_b",
        ),
        Mistake(
            lambda n: {"surplus": -_surplus(n)["surplus"]},
            "the sign is reversed: the fund gains when the fill is better than B for the side closed "
            "(above B when selling a long, below when buying back a short): surplus = s·ΔQ·(fill − B)",
            line="surplus",
        ),
        Mistake(
            lambda n: {"surplus": _surplus_at(n, _liquidation_price(n))},
            "you measured the fill against the liquidation price: the reference is the bankruptcy price B, "
            "at which the trader's share of the margin is used up",
            line="settlement_price",
        ),
        Mistake(
            lambda n: {"surplus": _surplus_at(n, _bankruptcy(n), qty=n["qty"])},
            "only the contracts closed on this step (closed, not qty) go through the fund",
            line="closed",
        ),
    ),
    derivation=lambda n: {"bankruptcy": _position(n).explain("bankruptcy_price"), "surplus": _surplus_derivation(n)},
)


# ---------------------------------------------------------------------- 2. one tier down
def _one_step_numbers(d: Draw) -> dict[str, Any]:
    return _crash_numbers(d, (BTC, ZEC), min_tier=3, allowed=lambda j, k: True)


def _one_step(n: Numbers) -> float:
    return float(_run(n, "one-tier").events[0].contracts_left)


def _one_step_derivation(n: Numbers) -> Derivation:
    """``LiquidationLog.explain`` of the first one-tier step, up to the contracts kept."""
    return upto(_run(n, "one-tier").explain(0), "keep")


ONE_STEP = Exercise(
    title="One tier down",
    numbers=_one_step_numbers,
    expected=_one_step,
    answer=Value(CONTRACTS),
    hint="find the tier k of the value qty·mark (floor < value ≤ cap); one tier down brings the size "
    "just under the cap of tier k − 1: contracts left = cap_{k−1}/mark" + _see("The procedure", "Step by step"),
    mistakes=(
        Mistake(
            lambda n: n["qty"] - _one_step(n),
            "that is the number of contracts closed: the question asks how many are left",
            line="keep",
        ),
        Mistake(
            lambda n: _contracts_at_cap(n, _tier_at_mark(n) - 2),
            "that is the cap of tier k − 2 (the floor of tier k − 1): two tiers down, OKX's rule for "
            "swaps; one tier down keeps the size just under the cap of tier k − 1",
            line="target_tier",
        ),
        Mistake(
            lambda n: float(bundled_table(n["table"]).caps[_tier_at_mark(n) - 2]),
            "that is the cap itself, a value in USDT: the answer is in contracts, cap/mark",
            line="keep_cap",
        ),
        Mistake(
            lambda n: _contracts_at_cap(n, _tier_at_mark(n) - 1, price=n["entry"]),
            "you valued the size at entry: the tier and the contracts at the cap are taken at the mark",
            line="size",
        ),
        Mistake(
            lambda n: _contracts_at_cap(n, _tier_at_mark(n)),
            "that is the cap of the tier the position is in at the mark (the tier it was in at entry may "
            "be higher, but the step starts from the tier at the mark): it must fall into the tier below",
            line="target_tier",
        ),
    ),
    derivation=_one_step_derivation,
)


# ---------------------------------------------------------------------- 3. tiers visited
def _tiers_numbers(d: Draw) -> dict[str, Any]:
    return _crash_numbers(d, (BTC,), min_tier=4, allowed=lambda j, k: j <= k - 2)


def _tiers(n: Numbers) -> dict[str, list[float]]:
    return {policy.replace("-", "_"): [float(e.tier_after) for e in _run(n, policy).events]
            for policy in ("one-tier", "lowest-sufficient")}


TIERS_VISITED = Exercise(
    title="The tiers a position passes through: one tier at a time or the lowest sufficient",
    numbers=_tiers_numbers,
    expected=_tiers,
    answer=Record({"one_tier": TIERS, "lowest_sufficient": TIERS}),
    hint="the remaining contracts keep their share of the margin, so keep of them have equity "
    "keep·s·(mark − B); they are healthy when that exceeds MM(keep·mark). One-tier: down one tier per "
    "step (the size just under each lower cap) until healthy, from tier 1 closed (0); lowest-sufficient: "
    "one order to the highest lower tier that is healthy (0 if none)" + _see("The procedure", "The venues' policies side by side"),
    mistakes=(
        Mistake(
            lambda n: {"one_tier": [float(_tier_at_mark(n)), *_tiers(n)["one_tier"]]},
            "list the tier after each step; the tier the position starts in is not one",
        ),
        Mistake(
            lambda n: {"one_tier": [float(_tier_at_mark(n)), *_tiers(n)["one_tier"][:-1]]},
            "those are the tiers before each step: give the tier after each",
        ),
        Mistake(
            lambda n: {"one_tier": [float(j) for j in range(_tier_at_mark(n) - 1, -1, -1)]},
            "the position is re-checked after each step: the procedure stops as soon as it is healthy",
        ),
        Mistake(
            lambda n: {"one_tier": _tiers(n)["lowest_sufficient"]},
            "one-tier goes down one tier per step: a list of the tiers k − 1, k − 2, ... down to where it stops",
        ),
        Mistake(
            lambda n: {"lowest_sufficient": _tiers(n)["one_tier"]},
            "lowest-sufficient sends a single order, straight to the highest lower tier that is healthy: "
            "a list of one tier",
        ),
        Mistake(
            lambda n: {"lowest_sufficient": [1.0]},
            "lowest-sufficient is not tier 1: it is the largest size that is healthy, the highest lower "
            "tier that passes the check",
        ),
    ),
    derivation=lambda n: {policy.replace("-", "_"): _run(n, policy).explain_path()
                          for policy in ("one-tier", "lowest-sufficient")},
)


# ---------------------------------------------------------------------- 4. full vs stepwise
_DEPTHS = (50_000_000, 100_000_000, 200_000_000, 500_000_000)


def _versus_numbers(d: Draw) -> dict[str, Any]:
    n = _crash_numbers(d, (BTC,), min_tier=3, allowed=lambda j, k: j >= 1 and j >= k - 2)
    return {**n, "depth": d.choice("depth", _DEPTHS)}


def _crash(n: Numbers) -> dict[str, Any]:
    """The position and its mark, without the book's depth."""
    return {k: v for k, v in n.items() if k != "depth"}


def _versus(n: Numbers, depth: float | None = None) -> dict[str, float]:
    depth = n["depth"] if depth is None else depth
    out = {}
    for name, policy in (("full", "full"), ("stepwise", "lowest-sufficient")):
        log = _run(_crash(n), policy, depth)
        out[f"equity_{name}"] = log.trader_equity(n["mark"])
        out[f"fund_{name}"] = log.fund_result
    return out


def _fund_at_mark(n: Numbers) -> dict[str, float]:
    """The fund's results with every order filled at the mark (no impact)."""
    s, mark, b = _sign(n["side"]), n["mark"], _bankruptcy(n)
    closed = {name: _run(_crash(n), policy).contracts_to_market
              for name, policy in (("full", "full"), ("stepwise", "lowest-sufficient"))}
    return {f"fund_{name}": s * q * (mark - b) for name, q in closed.items()}


def _kept(n: Numbers) -> IsolatedPosition:
    final = _run(_crash(n), "lowest-sufficient").final
    assert final is not None  # drawn so: the stepwise liquidation leaves a healthy remainder
    return final


def _versus_derivations(n: Numbers) -> dict[str, Derivation]:
    """``LiquidationLog.explain`` of the one order of each policy: what the full close pays back, the
    fund's surplus of each, and the remaining position's equity (``LiquidationLog.explain_equity``)."""
    full, stepwise = (_run(_crash(n), policy, n["depth"]) for policy in ("full", "lowest-sufficient"))
    return {"equity_full": upto(full.explain(0), "returned"), "equity_stepwise": stepwise.explain_equity(n["mark"]),
            "fund_full": upto(full.explain(0), "surplus"), "fund_stepwise": upto(stepwise.explain(0), "surplus")}


VERSUS = Exercise(
    title="Full versus stepwise liquidation: the trader and the risk fund",
    numbers=_versus_numbers,
    expected=_versus,
    answer=Record({"equity_full": MONEY, "equity_stepwise": MONEY, "fund_full": MONEY, "fund_stepwise": MONEY}),
    hint="the closed contracts are settled at the bankruptcy price B (their margin is used up); the "
    "remaining keep contracts have equity keep·s·(mark − B). The book fills an order of value "
    "V = ΔQ·mark at mark·(1 − s·V/(2·depth)), and the fund's result is s·ΔQ·(fill − B)"
    + _see("Full versus stepwise", "Why the book's depth matters"),
    mistakes=(
        Mistake(
            lambda n: {"equity_full": float(_position(_crash(n)).equity(n["mark"]))},
            "closed at the mark the trader would keep that, but the closed contracts are settled at the "
            "bankruptcy price: their margin goes with them, and a position closed in full leaves 0",
            line="settlement_price",
        ),
        Mistake(
            lambda n: {"equity_stepwise": float(_position(_crash(n)).equity(n["mark"]))},
            "that is the whole position's equity before the step: the contracts closed take their share "
            "of the margin with them, only the remaining ones' equity keep·s·(mark − B) is left",
            line="margin_after",
        ),
        Mistake(
            lambda n: {"equity_stepwise": float(_kept(n).upnl(n["mark"]))},
            "that is only the remaining contracts' unrealized PnL: add their share of the margin, M·keep/Q",
            line="equity",
        ),
        Mistake(
            lambda n: {"equity_stepwise": float(_kept(n).health(n["mark"]))},
            "that is the remaining position's health (equity − maintenance margin): give its equity",
            line="equity",
        ),
        Mistake(
            lambda n: {k: -v for k, v in _versus(n).items() if k.startswith("fund")},
            "the sign is reversed: the fund's result is s·ΔQ·(fill − B), negative when the book fills "
            "worse than the bankruptcy price",
            line="surplus",
        ),
        Mistake(
            _fund_at_mark,
            "that fills the order at the mark: selling V into the book fills on average at "
            "mark·(1 − s·V/(2·depth)), worse for a large order",
            line="fill",
        ),
        Mistake(
            lambda n: {k: v for k, v in _versus(n, depth=n["depth"] / 2).items() if k.startswith("fund")},
            "the average fill is half-way along the book's move: mark·(1 − s·V/(2·depth)), not V/depth",
            line="move",
        ),
    ),
    derivation=_versus_derivations,
)


# ---------------------------------------------------------------------- 5. the procedure as a function
def _steps_numbers(d: Draw) -> dict[str, Any]:
    return _crash_numbers(d, (BTC, ZEC), min_tier=3, allowed=lambda j, k: 1 <= j <= k - 2, margin=True)


def _steps(n: Numbers) -> list[float]:
    return [float(e.contracts_left) for e in _run(n, "one-tier").events]


def _walk(n: Numbers, share_margin: bool = True, stop: bool = True) -> list[float]:
    """One-tier at the mark with a slip: the margin not shared with the closed contracts
    (``share_margin=False``) or no re-check (``stop=False``, down to tier 1 and closed)."""
    table, mark = bundled_table(n["table"]), n["mark"]
    pos, left = _position(n), []
    tier = int(pos.tier(mark))
    while pos is not None and (not stop or float(pos.health(mark)) <= 0):
        tier -= 1
        if tier == 0:
            left.append(0.0)
            break
        keep = float(table.contracts_at(table.caps[tier - 1] * (1 - 1e-9), mark))
        margin = float(pos.margin) * (keep / float(pos.qty) if share_margin else 1.0)
        pos = IsolatedPosition(table, pos.side, keep, pos.entry, margin, pos.leverage)
        left.append(keep)
    return left


def _closed_per_step(n: Numbers) -> list[float]:
    before = [float(n["qty"]), *_steps(n)]
    return [a - b for a, b in zip(before, before[1:])]


RECHECK = (
    "after each step the remaining position is re-checked with its share of the margin only, "
    "margin·keep/qty (the closed contracts' share is used up at the bankruptcy price): while its health "
    "is still ≤ 0, it goes down another tier"
)
_HL = "hyperliquid-btc-testnet"
_CHZ = "okx-chzusdt-2022"

STEPS_FUNCTION = Exercise(
    title="The procedure as a function",
    numbers=_steps_numbers,
    expected=_steps,
    answer=Function(
        "liquidation_steps",
        ("table", "side", "qty", "entry", "margin", "mark"),
        CONTRACT_LIST,
        hidden=(
            # the lesson's whale: 200 BTC long at 60,000, 10x (B = 54,000), marked at 55,400: healthy in tier 4
            {"table": BTC, "side": "long", "qty": 200, "entry": 60_000, "margin": 1_200_000, "mark": 55_400},
            # ... marked at 55,000: tier 4, then tier 3
            {"table": BTC, "side": "long", "qty": 200, "entry": 60_000, "margin": 1_200_000, "mark": 55_000},
            # a short in a spike: from tier 4 to tier 2
            {"table": BTC, "side": "short", "qty": 100, "entry": 40_000, "margin": 200_000, "mark": 41_700},
            # past the bankruptcy price (54,000): every tier down, then closed
            {"table": BTC, "side": "long", "qty": 200, "entry": 60_000, "margin": 1_200_000, "mark": 53_500},
            # in tier 1 at the mark: closed in full at once
            {"table": BTC, "side": "long", "qty": 0.5, "entry": 30_000, "margin": 150, "mark": 29_800},
            # healthy at the mark: no step
            {"table": BTC, "side": "long", "qty": 200, "entry": 60_000, "margin": 1_200_000, "mark": 57_000},
            {"table": ZEC, "side": "short", "qty": 10_000, "entry": 80, "margin": 320_000, "mark": 110},
            # Hyperliquid: a size in the unbounded last tier
            {"table": _HL, "side": "long", "qty": 10, "entry": 60_000, "margin": 200_000, "mark": 43_600},
            # OKX: tiers counted in contracts (10 CHZ each), step form, floor ≤ size < cap
            {"table": _CHZ, "side": "long", "qty": 12_000, "entry": 0.1, "margin": 600, "mark": 0.0962},
        ),
        convert={"table": bundled_table},
        labels=(
            "a long in tier 5, healthy one tier down",
            "a long in tier 5, two steps",
            "a short",
            "a long past its bankruptcy price",
            "a long in tier 1",
            "a healthy long",
            "Binance ZECUSDT, a short",
            "Hyperliquid BTC, the last tier unbounded",
            "OKX CHZ-USDT-SWAP, tiers in contracts, floor ≤ size < cap",
        ),
    ),
    hint="while health = margin + UPL(mark) − MM(size at the mark) ≤ 0: go one tier down (the size a "
    "relative 1e-9 under the cap of the tier below; from tier 1: 0 contracts), the margin shrinking in "
    "proportion (margin·keep/qty), and append the contracts left; an empty list if healthy at once. Let "
    "the table do the units: table.size_of(qty, mark), table.contracts_at(size, mark), "
    "table.maintenance_margin(size, table.unit_value(mark)), table.contract.upnl(side, qty, entry, mark)"
    + _see("The procedure", "Step by step"),
    mistakes=(
        # without its share of the margin gone, the rest is nearly always healthy after one step:
        # the two slips often give the same list, and share a hint
        Mistake(lambda n: _walk(n, share_margin=False), RECHECK),
        Mistake(lambda n: _steps(n)[:1], RECHECK),
        Mistake(
            lambda n: [float(n["qty"]), *_steps(n)],
            "list the contracts left after each step; the starting size is not one",
        ),
        Mistake(
            _closed_per_step,
            "those are the contracts closed at each step: give the contracts left",
        ),
        Mistake(
            lambda n: _walk(n, stop=False),
            "the procedure stops as soon as the position is healthy: re-check after each step",
        ),
    ),
    derivation=lambda n: _run(n, "one-tier").explain_path("left"),
)


class Exercises(ExerciseSet):
    """Lesson 05 exercises for one student (``student_id=...`` or ``seed=...``).

    >>> ex = Exercises(student_id="demo")
    >>> from tiermargin.liquidation import liquidate, Execution
    >>> def steps(table, side, qty, entry, margin, mark):
    ...     pos = IsolatedPosition(table, side, qty, entry, margin, leverage=1)
    ...     return [e.contracts_left for e in liquidate(pos, [0], [mark], "one-tier").events]
    >>> ex.check(5, steps)
    Exercise 5 — correct: liquidation_steps is right on your numbers and on 9 hidden cases
    >>> ex.check(2, ex.show(2).result * 2).hint.startswith("find the tier k")
    True
    """

    lesson = "05"
    exercises = (SURPLUS, ONE_STEP, TIERS_VISITED, VERSUS, STEPS_FUNCTION)
