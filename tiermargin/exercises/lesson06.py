"""Exercises for lesson 06, the risk fund and auto-deleveraging (``lessons/06_risk_fund_and_adl.ipynb``).

From easy to hard:

1. the fund pays liquidation losses from its balance: the balance after a series of surpluses and
   losses, and the shortfall handed to ADL (the balance never goes negative);
2. a drawdown threshold (Bybit): how much of a loss the fund pays when it may only fall to
   (1 − d) × its peak over the past 8 hours;
3. how many contracts of a liquidation go to ADL when the fund pays its loss only in part,
   closed × shortfall/|loss|;
4. a function ``adl_score(side, qty, entry, margin, mark)``: BitMEX's and Bybit's ranking, PnL% ×
   effective leverage (PnL% / effective leverage at a loss), checked on hidden cases;
5. the queue: how many contracts each counterparty is closed for, and its PnL, at the bankruptcy
   price;
6. the lights each position shows (BitMEX's quintiles of the queue's contracts);
7. the daily reconciliation at 16:00 UTC+8 (CoinW, OKX): the fund's net result per window.

Every expected answer comes from :mod:`tiermargin.riskfund` (``RiskFund.record``, which pays down to
``RiskFund.floor``, and ``RiskFund.reconciliations``) and :mod:`tiermargin.adl` (``adl_qty``,
``scores``, ``deleverage``, ``lights``); the student's numbers come from their id.

>>> ex = Exercises(student_id="demo")
>>> ex.check(3, None)
Exercise 3 — not attempted: replace ... with your answer
>>> ex.check(3, "2")
Exercise 3 — wrong: got a str ('2'). Hint: the answer is a number in contracts
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np

from .. import IsolatedPosition, TierTable
from ..adl import adl_qty, deleverage, explain_adl_qty, explain_lights, explain_queue, explain_score, lights, scores
from ..contracts import LINEAR_USDT
from ..derivation import Derivation
from ..liquidation import surplus_lines
from ..riskfund import HOUR, RiskFund
from ..waterfall import DAY_START
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
    see,
)
from .show import as_items, renamed, upto

LESSON = "lessons/06_risk_fund_and_adl.ipynb"
SIDES = ("long", "short")
CONTRACTS = Number("contracts", abs_tol=1e-6, rel_tol=1e-9, spec=",.10g")
SCORE = Number(abs_tol=1e-9, rel_tol=1e-6, spec=".6g")
LIGHTS = NumberList(Number(spec=".10g"))
MONEY_LIST = NumberList(MONEY)
CONTRACT_LIST = NumberList(CONTRACTS)

# The lesson's sections the hints point to.
LEDGER = "The fund's ledger"
RECONCILIATION = "Daily reconciliation at 16:00 UTC+8"
RUNS_DRY = "When the fund runs dry"
QUEUE_SECTION = "Ranking and the queue"

_see = partial(see, LESSON)


def _plain(x: float) -> int | float:
    """A number as a student reads it: ``14`` rather than ``14.0``."""
    x = float(x)
    return int(x) if x.is_integer() else x


def _sign(side: str) -> int:
    return 1 if side == "long" else -1


def _distinct(kind: Any, values: Sequence[Any]) -> bool:
    """True when no two of ``values`` (the answer and the slips' answers) match as ``kind``: each
    recognised slip then gets its own hint."""
    return not any(kind.matches(a, b) for i, a in enumerate(values) for b in values[i + 1:])


def _ledger(
    start: float, amounts: Sequence[float], times: Sequence[float] | None = None, **kwargs: Any
) -> tuple[RiskFund, float]:
    """A fund with ``start`` and ``amounts`` recorded in order (at ``times``, seconds); the total shortfall."""
    fund = RiskFund(start, **kwargs)
    stamps = range(len(amounts)) if times is None else times
    shortfall = sum(fund.record(t, a) for t, a in zip(stamps, amounts))
    return fund, float(shortfall)


# ---------------------------------------------------------------------- 1. the fund pays a loss
_SMALL = range(200, 3_001, 50)  # a small surplus or loss, USDT
_BEYOND = (1.25, 1.5, 2, 2.5, 3, 4)  # the big loss, as a multiple of the balance before it


def _fund_numbers(d: Draw) -> dict[str, Any]:
    """Five liquidation results: small ones, one loss larger than the fund, then surpluses."""
    start = d.choice("start", range(4_000, 20_001, 500))
    big = d.choice("big loss at", (2, 3))
    results: list[int] = []
    balance = start
    for i in range(5):
        if i < big:  # a surplus and a loss, in drawn order
            sign = (1, -1)[(i + d.choice("order", (0, 1))) % 2] if i < 2 else 1
            r = sign * d.choice(f"result {i}", _SMALL)
        elif i == big:
            r = -round(balance * d.choice("beyond", _BEYOND), -1)
        else:
            r = d.choice(f"result {i}", _SMALL)
        results.append(int(r))
        balance = max(balance + r, 0)
    return {"start": start, "results": tuple(results)}


def _fund(n: Numbers) -> dict[str, float]:
    fund, shortfall = _ledger(n["start"], n["results"])
    return {"balance": fund.balance, "shortfall": shortfall}


def _big(n: Numbers) -> int:
    """Index of the loss the fund cannot pay in full."""
    fund = RiskFund(n["start"])
    return next(i for i, r in enumerate(n["results"]) if fund.record(i, r) > 0)


def _paid_nothing(n: Numbers) -> dict[str, float]:
    """The fund refuses a loss it cannot pay in full: the whole loss to ADL, the balance kept."""
    i = _big(n)
    results = n["results"]
    before, _ = _ledger(n["start"], results[:i])
    after, _ = _ledger(before.balance, results[i + 1:])
    return {"balance": after.balance, "shortfall": -float(results[i])}


def _fund_derivations(n: Numbers) -> dict[str, Derivation]:
    """``RiskFund.explain`` of every row (the ADL row's lines up to its shortfall for ``shortfall``)."""
    fund, _ = _ledger(n["start"], n["results"])
    rows = [(k, fund.explain(k)) for k, e in enumerate(fund.entries) if e.kind != "adl"]
    balance = Derivation("The fund's balance after the five results", tuple(
        ln for k, d in rows for ln in renamed(d.lines, f"row{k + 1}_")), rows[-1][1].rule, rows[-1][1].source)
    adl = next(k for k, e in enumerate(fund.entries) if e.kind == "adl")
    return {"balance": balance, "shortfall": upto(fund.explain(adl), "shortfall")}


FUND_PAYS = Exercise(
    title="The fund pays the losses",
    numbers=_fund_numbers,
    expected=_fund,
    answer=Record({"balance": MONEY, "shortfall": MONEY}),
    hint="go through the results in order: a surplus adds to the balance; a loss is paid from the "
    "balance down to 0 at most, and what it cannot pay, |loss| − balance, is the shortfall handed to "
    "ADL; the balance then carries on from 0" + _see(LEDGER),
    mistakes=(
        Mistake(
            lambda n: {"balance": float(n["start"] + sum(n["results"]))},
            "the balance never goes negative: the fund pays a loss only down to 0, and the rest is the "
            "shortfall handed to ADL, not a debt the next surpluses repay",
            line=lambda n: f"row{_big(n) + 1}_paid",
        ),
        Mistake(
            _paid_nothing,
            "the fund pays what it has first, down to 0: only the part of the loss beyond its balance "
            "is the shortfall handed to ADL",
            line=lambda n: f"row{_big(n) + 1}_paid",
        ),
    ),
    derivation=_fund_derivations,
)


# ---------------------------------------------------------------------- 2. the drawdown threshold
_DRAWDOWNS = (0.1, 0.15, 0.2, 0.25, 0.3)


def _threshold_numbers(d: Draw) -> dict[str, Any]:
    """A fund's balances over a day: an old high more than 8 hours before the loss (outside the
    window), a peak inside it, a drawdown since then still within the threshold; then a loss beyond it.

    The old high and the drop after it come early (by 04:00), the peak at least 8 hours later: so the
    window of every later row starts after the old drop, and the history's losses are all paid in full.
    """
    dd = d.choice("drawdown", _DRAWDOWNS)
    peak = d.choice("peak", range(100_000, 1_000_001, 10_000))
    now = d.choice("loss hour", (20, 21, 22, 23))
    h1 = d.choice("high hour", (1, 1.5, 2, 2.5))
    h2 = h1 + d.choice("drop after", (0.5, 1, 1.5))
    h3 = now - 8 + d.choice("peak after", (0.5, 1, 1.5))
    h4 = h3 + d.choice("next after", (1, 1.5))
    h5 = h4 + d.choice("last after", (1, 1.5, 2))
    r = d.choice("old drop", (0.4, 0.6, 0.8))  # the old drop, a share of the threshold
    low = round(peak * (1 - dd * r * d.choice("low", (0.25, 0.5))), -2)  # the balance after the old drop
    high = round(low / (1 - dd * r), -2)
    f = dd * d.choice("drawn down", (0.2, 0.4, 0.5, 0.6))  # the drawdown since the peak, below dd
    now_balance = round(peak * (1 - f), -2)
    middle = round(peak * (1 - f * d.choice("middle", (0.3, 0.5, 0.7))), -2)
    start = round(high * (1 - d.choice("rise", (0.05, 0.1, 0.15))), -2)
    room = now_balance - (1 - dd) * peak
    n = {
        "start": int(start),
        "balances": tuple((_plain(h), int(b)) for h, b in
                         ((h1, high), (h2, low), (h3, peak), (h4, middle), (h5, now_balance))),
        "drawdown": dd,
        "loss_hour": now,
    }
    losses = [int(round(room * m, -2)) for m in (1.5, 2.5, 3, 4, 5)]  # beyond the room the threshold leaves
    return {**n, "loss": d.choice("loss", [x for x in losses if _distinct(MONEY, _threshold_values({**n, "loss": x}))])}


def _paid(n: Numbers, threshold: bool = True) -> float:
    """What the fund pays of the loss: its history recorded (the differences of the balances), then
    the loss (without the threshold if not ``threshold``: a slip's answer)."""
    times = [DAY_START + h * HOUR for h, _ in n["balances"]]
    levels = [n["start"], *(b for _, b in n["balances"])]
    fund, _ = _ledger(n["start"], np.diff(levels).tolist(), times, drawdown=n["drawdown"] if threshold else None)
    return n["loss"] - fund.record(DAY_START + n["loss_hour"] * HOUR, -n["loss"])


def _floor_paid(n: Numbers, floor: float) -> float:
    """What the fund would pay down to ``floor`` from the balance it shows (a slip's answer)."""
    return min(n["loss"], max(n["balances"][-1][1] - floor, 0.0))


THRESHOLD_MISTAKES = (
    Mistake(
        lambda n: _paid(n, threshold=False),
        "without the threshold the fund would pay all this; with it, the fund stops at its floor "
        "(1 − d) × peak and the rest goes to ADL",
            line="floor",
    ),
    Mistake(
        lambda n: _floor_paid(n, (1 - n["drawdown"]) * n["balances"][-1][1]),
        "you took d of the current balance: the threshold is measured from the peak of the past "
        "8 hours, floor = (1 − d) × peak, and the fund has already come down part of the way",
            line="peak",
    ),
    Mistake(
        lambda n: _floor_paid(n, (1 - n["drawdown"]) * max(b for _, b in n["balances"])),
        "that peak is more than 8 hours old: the threshold counts the highest balance over the past "
        "8 hours only (including the balance carried into them)",
            line="peak",
    ),
    Mistake(
        lambda n: n["loss"] - _paid(n),
        "that is the part the fund does not pay, the shortfall handed to ADL: give what it pays",
            line="paid",
    ),
)


def _threshold_values(n: Numbers) -> list[float]:
    return [_paid(n), *(m.answer(n) for m in THRESHOLD_MISTAKES)]


def _threshold_derivation(n: Numbers) -> Derivation:
    """``RiskFund.explain`` of the loss row, up to what the fund pays."""
    times = [DAY_START + h * HOUR for h, _ in n["balances"]]
    levels = [n["start"], *(b for _, b in n["balances"])]
    fund, _ = _ledger(n["start"], np.diff(levels).tolist(), times, drawdown=n["drawdown"])
    fund.record(DAY_START + n["loss_hour"] * HOUR, -n["loss"])
    row = next(k for k in range(len(fund.entries) - 1, -1, -1) if fund.entries[k].kind == "loss")
    return upto(fund.explain(row), "paid")


THRESHOLD = Exercise(
    title="A drawdown threshold",
    numbers=_threshold_numbers,
    expected=_paid,
    answer=Value(MONEY),
    hint="the fund pays a loss only down to its floor (1 − d) × peak, the peak being its highest balance "
    "over the 8 hours before the loss (counting the balance it had when they began); it pays "
    "min(loss, balance − floor), and the rest goes to ADL" + _see(LEDGER),
    mistakes=THRESHOLD_MISTAKES,
    derivation=_threshold_derivation,
)


# ---------------------------------------------------------------------- 3. contracts to ADL
_CLOSED = (2, 2.5, 4, 5, 8, 10, 12, 15, 20, 25)
_COVERED = (0.1, 0.2, 0.25, 0.3, 0.4, 0.6, 0.7, 0.75, 0.8, 0.9)  # not 0.5: paid and unpaid shares differ


def _adl_numbers(d: Draw) -> dict[str, Any]:
    side = d.choice("side", SIDES)
    closed = d.choice("closed", _CLOSED)
    bankruptcy = d.choice("bankruptcy", range(30_000, 70_001, 50))
    gap = d.choice("gap", range(40, 601, 10))  # how much worse than bankruptcy the market fill is
    n = {"side": side, "closed": closed, "bankruptcy": bankruptcy, "fill": bankruptcy - _sign(side) * gap}
    funds = [int(round(closed * gap * c, -1)) for c in _COVERED]
    return {**n, "fund": d.choice("fund", [x for x in funds if _distinct(CONTRACTS, _to_adl_values({**n, "fund": x}))])}


def _to_adl_values(n: Numbers) -> list[float]:
    return [_to_adl(n), *(m.answer(n) for m in TO_ADL_MISTAKES)]


def _adl_terms(n: Numbers) -> tuple[float, float]:
    """(the step's result against bankruptcy, < 0; the fund's shortfall)."""
    result = float(LINEAR_USDT.upnl(n["side"], n["closed"], n["bankruptcy"], n["fill"]))
    return result, RiskFund(n["fund"]).record(0, result)


def _to_adl(n: Numbers) -> float:
    result, shortfall = _adl_terms(n)
    return float(adl_qty(n["closed"], shortfall, result))


def _to_adl_derivation(n: Numbers) -> Derivation:
    """The step's loss against the bankruptcy price (``surplus_lines``), ``RiskFund.explain`` of the ADL row up
    to the shortfall, then ``adl.explain_adl_qty``."""
    s, closed = _sign(n["side"]), float(n["closed"])
    loss = surplus_lines(LINEAR_USDT, s, closed, n["bankruptcy"], n["fill"])
    fund = RiskFund(n["fund"])
    shortfall = fund.record(0, float(loss[-1].value))
    adl = next(k for k, e in enumerate(fund.entries) if e.kind == "adl")
    paid = upto(fund.explain(adl), "shortfall")
    share = explain_adl_qty(closed, shortfall, float(loss[-1].value))
    return Derivation("Contracts to ADL", (*loss, *paid.lines[1:], *share.lines), share.rule, share.source)


TO_ADL_MISTAKES = (
    Mistake(
        lambda n: n["closed"] * -_adl_terms(n)[0] / _adl_terms(n)[1],
        "the ratio is inverted: the share of the contracts deleveraged is shortfall/|loss|, at most 1",
        line="adl_share",
    ),
    Mistake(
        lambda n: n["closed"] - _to_adl(n),
        "those are the contracts whose loss the fund pays, sold in the market: the rest, "
        "closed × shortfall/|loss|, goes to ADL",
        line="adl_qty",
    ),
    Mistake(
        lambda n: _adl_terms(n)[1],
        "that is the shortfall in USDT: turn it into contracts, closed × shortfall/|loss|",
        line="adl_qty",
    ),
    Mistake(
        lambda n: _adl_terms(n)[1] / n["bankruptcy"],
        "that is the shortfall's worth of contracts at the bankruptcy price; the deleveraged contracts "
        "are those whose loss is the shortfall, closed × shortfall/|loss|",
    ),
)


TO_ADL = Exercise(
    title="How many contracts go to ADL",
    numbers=_adl_numbers,
    expected=_to_adl,
    answer=Value(CONTRACTS),
    hint="the fill's loss against the bankruptcy price is closed × |fill − bankruptcy|; the fund pays "
    "what it has, the shortfall is |loss| − fund; the venue sells only the share of the contracts whose "
    "loss the fund pays and deleverages the rest, closed × shortfall/|loss|" + _see(RUNS_DRY),
    mistakes=TO_ADL_MISTAKES,
    derivation=_to_adl_derivation,
)


# ---------------------------------------------------------------------- 4. the ranking function
_SCORE_TABLE = TierTable.single(0.005)  # the ranking does not depend on the tiers


def _position(c: Numbers) -> IsolatedPosition:
    leverage = c["qty"] * c["entry"] / c["margin"]
    return IsolatedPosition(_SCORE_TABLE, c["side"], c["qty"], c["entry"], c["margin"], leverage)


def _score(c: Numbers) -> float:
    return float(scores(_position(c), c["mark"], "pnl-leverage"))


def _score_numbers(d: Draw) -> dict[str, Any]:
    """A position in profit (a candidate), opened at 5× to 50×."""
    side = d.choice("side", SIDES)
    qty = d.choice("qty", (0.5, 1, 1.5, 2, 3, 4, 5))
    entry = d.choice("entry", range(30_000, 70_001, 100))
    leverage = d.choice("leverage", (5, 10, 20, 25, 50))
    move = d.choice("move", (0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15))
    return {
        "side": side,
        "qty": qty,
        "entry": entry,
        "margin": round(qty * entry / leverage, 2),
        "mark": round(entry * (1 + _sign(side) * move), 1),
    }


def _terms(c: Numbers) -> dict[str, float]:
    p = _position(c)
    return {"upnl": float(p.upnl(c["mark"])), "entry_value": float(p.value(c["entry"])),
            "mark_value": float(p.value(c["mark"])), "equity": float(p.equity(c["mark"]))}


_RANKING_HIDDEN = (
    {"side": "long", "qty": 1, "entry": 50_000, "margin": 5_000, "mark": 55_000},
    {"side": "short", "qty": 2, "entry": 40_000, "margin": 4_000, "mark": 38_000},
    {"side": "long", "qty": 1, "entry": 50_000, "margin": 5_000, "mark": 48_000},
    {"side": "short", "qty": 3, "entry": 2_000, "margin": 300, "mark": 2_050},
    {"side": "long", "qty": 0.25, "entry": 64_321.5, "margin": 321.61, "mark": 64_400},
    {"side": "short", "qty": 10, "entry": 150, "margin": 1_500, "mark": 90},
    {"side": "long", "qty": 4, "entry": 30_000, "margin": 6_000, "mark": 30_000},
)

RANKING = Exercise(
    title="The ADL ranking (BitMEX, Bybit)",
    numbers=_score_numbers,
    expected=_score,
    answer=Function(
        "adl_score",
        ("side", "qty", "entry", "margin", "mark"),
        SCORE,
        hidden=_RANKING_HIDDEN,
        labels=(
            "a long in profit, 10x",
            "a short in profit",
            "a long at a loss: PnL% / effective leverage",
            "a short at a loss",
            "a long at 50x, a fractional quantity",
            "a short deep in profit",
            "no PnL: score 0",
        ),
    ),
    hint="with s = +1 for a long and −1 for a short: UPL = s·qty·(mark − entry), PnL% = UPL/(qty·entry), "
    "effective leverage = qty·mark/(margin + UPL); the score is PnL% × effective leverage, or "
    "PnL% / effective leverage when PnL% < 0" + _see(QUEUE_SECTION),
    mistakes=(
        Mistake(
            lambda c: _terms(c)["upnl"] / c["margin"] * _terms(c)["mark_value"] / _terms(c)["equity"],
            "PnL% is the PnL over the position's value at entry, qty·entry, not over the margin: the "
            "leverage factor already accounts for the margin",
            line="pnl_pct",
        ),
        Mistake(
            lambda c: _terms(c)["upnl"] / _terms(c)["entry_value"] * _terms(c)["entry_value"] / c["margin"],
            "that is the leverage at opening; the ranking uses the effective leverage at the mark, "
            "qty·mark/(margin + UPL)",
            line="leverage",
        ),
        Mistake(
            lambda c: _terms(c)["upnl"] / _terms(c)["entry_value"] * _terms(c)["mark_value"] / c["margin"],
            "the effective leverage divides by the equity at the mark, margin + UPL, not by the margin alone",
            line="leverage",
        ),
    ),
    derivation=lambda c: explain_score(_position(c), c["mark"], "pnl-leverage"),
)


# ---------------------------------------------------------------------- 5. the queue
_CANDIDATE_QTY = (0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8)
_ENTRY_GAPS = (0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1)


def _distinct_scores(d: Draw, n: int, key: str) -> list[float]:
    """``n`` different scores between 0.05 and 5 (two decimals)."""
    pool = list(range(5, 501))
    out = []
    for i in range(n):
        v = d.choice(f"score {i} {key}", pool)
        pool.remove(v)
        out.append(v / 100)
    return out


def _fills(n: Numbers, score: Sequence[float] | None = None, price: float | None = None) -> dict[str, list[float]]:
    """Contracts taken from each candidate and its PnL, in the listed order (0 for those not reached);
    with other scores or another price: a slip's answer."""
    qty, entry, sc = (np.array(col, dtype=float) for col in zip(*n["candidates"]))
    d = deleverage(n["side"], n["qty"], n["bankruptcy"], qty, entry, sc if score is None else score)
    take, pnl = np.zeros(qty.size), np.zeros(qty.size)
    take[d.who] = d.qty
    pnl[d.who] = d.pnl if price is None else LINEAR_USDT.upnl(-_sign(n["side"]), d.qty, entry[d.who], price)
    return {"qty": take.tolist(), "pnl": pnl.tolist()}


def _queue_derivations(n: Numbers) -> dict[str, Derivation]:
    """``adl.explain_queue`` on the candidates, its ``qty_k`` / ``pnl_k`` lines as each part's items."""
    qty, entry, sc = (np.array(col, dtype=float) for col in zip(*n["candidates"]))
    d = explain_queue(n["side"], n["qty"], n["bankruptcy"], qty, entry, sc)
    return {"qty": as_items(d, "qty_"), "pnl": as_items(d, "pnl_")}


def _queue_numbers(d: Draw) -> dict[str, Any]:
    side = d.choice("side", SIDES)
    s = _sign(side)
    bankruptcy = d.choice("bankruptcy", range(30_000, 70_001, 50))
    mark = round(bankruptcy * (1 - s * d.choice("mark gap", (0.002, 0.004, 0.005, 0.008, 0.01))))
    count = d.choice("candidates", (5, 6))

    def make(key: str) -> dict[str, Any]:
        qty = [d.choice(f"qty {i} {key}", _CANDIDATE_QTY) for i in range(count)]
        entry = [int(round(bankruptcy * (1 + s * d.choice(f"entry {i} {key}", _ENTRY_GAPS)), -1)) for i in range(count)]
        score = _distinct_scores(d, count, key)
        order = np.argsort(-np.array(score), kind="stable")
        full = d.choice(f"filled {key}", (1, 2, 3))
        part = d.choice(f"part {key}", (0.25, 0.4, 0.5, 0.6, 0.75))
        need = round(sum(qty[i] for i in order[:full]) + part * qty[order[full]], 4)
        return {"side": side, "qty": need, "bankruptcy": bankruptcy, "mark": mark,
                "candidates": tuple(zip(qty, entry, score))}

    def accept(n: dict[str, Any]) -> bool:
        score = [c[2] for c in n["candidates"]]
        fills = [_fills(n, score=other)["qty"] for other in (score, -np.arange(count), -np.array(score))]
        return _distinct(CONTRACT_LIST, fills)

    return d.until("queue", make, accept)


QUEUE = Exercise(
    title="The queue at the bankruptcy price",
    numbers=_queue_numbers,
    expected=_fills,
    answer=Record({"qty": CONTRACT_LIST, "pnl": MONEY_LIST}),
    hint="sort the candidates by score, highest first, and close each in full until the contracts to "
    "deleverage are matched, the last one in part; every fill is at the liquidated position's "
    "bankruptcy price, so a candidate's PnL is its side × contracts × (bankruptcy − entry); give one "
    "number per candidate, in the listed order, 0 for those not reached" + _see(QUEUE_SECTION, RUNS_DRY),
    mistakes=(
        Mistake(
            lambda n: {"qty": _fills(n, score=-np.arange(len(n["candidates"])))["qty"]},
            "the candidates are filled in score order, highest first, not in the order listed",
            line="order",
        ),
        Mistake(
            lambda n: {"qty": _fills(n, score=[-c[2] for c in n["candidates"]])["qty"]},
            "the highest score is deleveraged first: it is the most profitable, most leveraged position",
            line="order",
        ),
        Mistake(
            lambda n: {"pnl": _fills(n, price=n["mark"])["pnl"]},
            "that is the PnL at the mark price: ADL closes the counterparties at the liquidated "
            "position's bankruptcy price",
        ),
        Mistake(
            lambda n: {"pnl": [-x for x in _fills(n)["pnl"]]},
            "the sign is reversed: each candidate is on the side opposite the liquidated position, "
            "so a short candidate gains when the price is below its entry",
        ),
    ),
    derivation=_queue_derivations,
)


# ---------------------------------------------------------------------- 6. the lights
def _lights(n: Numbers, score: Sequence[float] | None = None, qty: Sequence[float] | None = None) -> list[float]:
    """Lights per position in the listed order (with other scores or quantities: a slip's answer)."""
    q, sc = (np.array(col, dtype=float) for col in zip(*n["positions"]))
    return lights(sc if score is None else score, q if qty is None else qty).astype(float).tolist()


def _slips(n: Numbers) -> list[list[float]]:
    count = len(n["positions"])
    sc = np.array([p[1] for p in n["positions"]])
    return [
        _lights(n, score=-np.arange(count)),
        _lights(n, score=-sc),
        _lights(n, qty=np.ones(count)),
        [6 - x for x in _lights(n)],
    ]


def _lights_numbers(d: Draw) -> dict[str, Any]:
    count = d.choice("positions", (5, 6, 7))

    def make(key: str) -> dict[str, Any]:
        qty = [d.choice(f"qty {i} {key}", (5, 10, 15, 20, 25, 30, 40, 50, 60, 80, 100)) for i in range(count)]
        return {"positions": tuple(zip(qty, _distinct_scores(d, count, key)))}

    def accept(n: dict[str, Any]) -> bool:
        right = _lights(n)
        return _distinct(LIGHTS, [right, *_slips(n)]) and len(set(right)) >= 3

    return d.until("positions", make, accept)


LIGHTS_EXERCISE = Exercise(
    title="The lights",
    numbers=_lights_numbers,
    expected=_lights,
    answer=Value(LIGHTS),
    hint="put the positions in queue order (highest score first); for each, take the share of all "
    "the contracts held by it and those ahead of it, round it up to a multiple of 20 %: 20 % shows 5 "
    "lights, 40 % 4, ..., 100 % 1; give the lights in the listed order" + _see(QUEUE_SECTION),
    mistakes=(
        Mistake(lambda n: _slips(n)[0], "the queue is in score order, highest first, not in the order listed",
                line="order"),
        Mistake(lambda n: _slips(n)[1], "the highest score is first in the queue (5 lights), not the lowest",
                line="order"),
        Mistake(
            lambda n: _slips(n)[2],
            "the quintiles are of the contracts, not of the number of positions: a large position "
            "ahead pushes the others further back",
        ),
        Mistake(
            lambda n: _slips(n)[3],
            "reversed: 5 lights is the front of the queue (deleveraged first), 1 the back",
        ),
    ),
    derivation=lambda n: explain_lights([p[1] for p in n["positions"]], [p[0] for p in n["positions"]]),
)


# ---------------------------------------------------------------------- 7. daily reconciliation
_QUARTERS = [h / 4 for h in range(1, 48 * 4)]  # 00:15 on 1 March to 23:45 on 2 March, UTC
_CUT_OFFS = (8, 32)  # 16:00 UTC+8 is 08:00 UTC


def _reconciliation_fund(n: Numbers, shift_cut_off: bool = False) -> RiskFund:
    """The fund with the rows recorded (a row at a cut-off moved 1 second earlier if ``shift_cut_off``)."""
    times = [DAY_START + h * HOUR - (1 if shift_cut_off and h in _CUT_OFFS else 0) for h, _ in n["rows"]]
    fund, _ = _ledger(n["start"], [a for _, a in n["rows"]], times)
    return fund


def _nets(n: Numbers, hour: float = 16, utc_offset: float = 8, shift_cut_off: bool = False) -> list[float]:
    return [w.net for w in _reconciliation_fund(n, shift_cut_off).reconciliations(hour, utc_offset)]


def _reconciliation_slips(n: Numbers) -> list[list[float]]:
    return [_nets(n, 16, 0), _nets(n, 0, 0), _nets(n, shift_cut_off=True)]


def _reconciliation_numbers(d: Draw) -> dict[str, Any]:
    count = d.choice("rows", (6, 7, 8))
    cut = d.choice("at the cut-off", _CUT_OFFS)

    def make(key: str) -> dict[str, Any]:
        hours = {cut}
        pool = [h for h in _QUARTERS if h not in _CUT_OFFS]
        while len(hours) < count:
            h = d.choice(f"hour {len(hours)} {key}", pool)
            pool.remove(h)
            hours.add(h)
        rows = tuple(
            (_plain(h), d.choice(f"sign {i} {key}", (1, 1, -1)) * d.choice(f"amount {i} {key}", range(100, 8_001, 50)))
            for i, h in enumerate(sorted(hours))
        )
        return {"start": 200_000, "rows": rows}

    def accept(n: dict[str, Any]) -> bool:
        windows = _reconciliation_fund(n).reconciliations()
        right = [w.net for w in windows]
        return all(w.surplus or w.loss for w in windows) and _distinct(MONEY_LIST, [right, *_reconciliation_slips(n)])

    return d.until("rows", make, accept)


RECONCILE = Exercise(
    title="Daily reconciliation at 16:00 UTC+8",
    numbers=_reconciliation_numbers,
    expected=_nets,
    answer=Value(MONEY_LIST),
    hint="16:00 UTC+8 is 08:00 UTC: each window runs from 08:00 UTC to 08:00 UTC the next day, a row at "
    "exactly 08:00 opening the new one; the net of a window is the sum of its rows; give one net per "
    "window, from the window of the first row to that of the last, in time order" + _see(RECONCILIATION),
    mistakes=(
        Mistake(
            lambda n: _reconciliation_slips(n)[0],
            "you cut the days at 16:00 UTC: the cut-off is 16:00 in UTC+8, that is 08:00 UTC",
        ),
        Mistake(
            lambda n: _reconciliation_slips(n)[1],
            "those are calendar days in UTC: the windows run from 16:00 UTC+8 (08:00 UTC) to the next "
            "day's 16:00 UTC+8",
        ),
        Mistake(
            lambda n: _reconciliation_slips(n)[2],
            "a row at exactly the cut-off belongs to the window it opens: a window is [16:00, 16:00 the "
            "next day), its start included, its end not",
        ),
    ),
    derivation=lambda n: _reconciliation_fund(n).explain_reconciliations(),
)


class Exercises(ExerciseSet):
    """Lesson 06 exercises for one student (``student_id=...`` or ``seed=...``).

    >>> from tiermargin.adl import pnl_leverage_score
    >>> ex = Exercises(student_id="demo")
    >>> def adl_score(side, qty, entry, margin, mark):
    ...     upnl = (1 if side == "long" else -1) * qty * (mark - entry)
    ...     return pnl_leverage_score(upnl, qty * entry, qty * mark, margin + upnl)
    >>> ex.check(4, adl_score)
    Exercise 4 — correct: adl_score is right on your numbers and on 7 hidden cases
    >>> ex.check(3, ex.show(3).result + 1).hint.startswith("the fill's loss")
    True
    """

    lesson = "06"
    exercises = (FUND_PAYS, THRESHOLD, TO_ADL, RANKING, QUEUE, LIGHTS_EXERCISE, RECONCILE)
