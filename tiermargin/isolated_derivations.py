"""Derivations of an isolated position's numbers: :meth:`IsolatedPosition.explain
<tiermargin.isolated.IsolatedPosition.explain>`.

Each function redoes the library's computation by hand for one position, line by line with the
numbers substituted, from the formulas of :mod:`tiermargin.isolated` (its module docstring has the
algebra): equity, maintenance margin (the tier lookup of
:meth:`TierTable.explain <tiermargin.tiers.TierTable.explain>`), the fee reserve under each
valuation rule, the requirement, health, each margin ratio, the bankruptcy price, and the
liquidation price with every candidate tier's closed form, the candidates rejected and why, and
the self-consistent one. The last line is the result; the tests check it against the library.
"""

from __future__ import annotations

import numpy as np

from . import _check
from .derivation import Derivation, Line, num, pct
from .isolated import IsolatedPosition
from .tiers import TierTable

WHAT = ("equity", "maintenance_margin", "fee_reserve", "requirement", "health", "ratio_legacy", "ratio_coinw",
        "ratio_binance", "bankruptcy_price", "liquidation_price")
"""What :meth:`IsolatedPosition.explain` can explain (the first seven need a price)."""

_REQUIREMENT_RULE = {
    "mark": ("maintenance margin valued at the price: tier, MMR and maintenance amount taken there (Binance "
             "USDⓈ-M: 'substitute the level at the liquidation price and recalculate')",
             "Binance FAQ 'How to Calculate Liquidation Price of USDⓈ-M Futures Contracts'"),
    "entry": ("maintenance margin valued at entry: fixed while the price moves (Bybit classic isolated USDT, "
              "KuCoin: 'based on the average entry price')",
              "Bybit help 'Liquidation Price (USDT Contract)'; KuCoin help 'What is Liquidation?'"),
}
_FEE_RULE = {
    "mark": ("fee reserve f × value, valued with the maintenance margin (OKX/CoinW 'MMR + liquidation fee', "
             "Gate and Bitget: the taker fee at the liquidation price)",
             "source articles (legacy ratio 'MMR + liquidation fee'); Gate help 'Calculation of Liquidation Price'"),
    "entry": ("fee reserve f × value at entry", ""),
    "bankruptcy": ("fee to close valued at the bankruptcy price, f × Q × FV × bankruptcy price (÷ for inverse) "
                   "(Bybit)", "Bybit help 'Order Cost (USDT Contract)': 'Fee to Close Position = Order Quantity × "
                   "Bankruptcy Price × Taker Fee Rate'"),
}


def explain(pos: IsolatedPosition, what: str, price: float | None = None) -> Derivation:
    """The derivation of ``what`` for one position (see :data:`WHAT`); ``price`` for the state at a mark."""
    if not isinstance(pos, IsolatedPosition):
        raise TypeError(f"pos must be an IsolatedPosition, got {pos!r}")
    if pos.shape:
        raise ValueError("pos must be a single position, not an array (index it first: positions[i])")
    _check.one_of("what", what, WHAT)
    if what in ("bankruptcy_price", "liquidation_price"):
        if price is not None:
            raise ValueError(f"price is not used to explain {what!r} (it depends on the position only)")
        return _bankruptcy(pos) if what == "bankruptcy_price" else _liquidation(pos)
    if price is None:
        raise ValueError(f"price is needed to explain {what!r}: the mark at which to value the position")
    if np.ndim(price):
        raise ValueError("price must be one price, not an array")
    p = float(_check.positive("price", price))
    if what.startswith("ratio"):
        return _ratio(pos, p, what[len("ratio_"):])
    builders = {"equity": _equity, "maintenance_margin": _maintenance, "fee_reserve": _fee, "requirement": _requirement,
                "health": _health}
    return builders[what](pos, p)


# ---------------------------------------------------------------------- parts
def _c(pos: IsolatedPosition) -> tuple[float, float, float, float, float]:
    """side, Q·FV, entry, margin, fee rate as floats."""
    c = pos.table.contract
    return float(pos.side), float(pos.qty) * c.face_value, float(pos.entry), float(pos.margin), pos.fee_rate


def _value_line(pos: IsolatedPosition, p: float, key: str = "value", at: str = "") -> Line:
    # The contract's own value, not Q·FV/P recomputed: rounded differently, a size on a tier's cap falls in the next tier.
    c, value = pos.table.contract, float(pos.table.contract.value(pos.qty, p))
    if c.kind == "linear":
        return Line(key, f"value{at} = Q × FV × P", f"{num(pos.qty)} × {num(c.face_value)} × {num(p)}", value)
    return Line(key, f"value{at} = Q × FV ÷ P", f"{num(pos.qty)} × {num(c.face_value)} ÷ {num(p)}", value)


def _equity_lines(pos: IsolatedPosition, p: float) -> list[Line]:
    s, qfv, ep, m, _ = _c(pos)
    c = pos.table.contract
    if c.kind == "linear":
        upl = Line("upl", "UPL = s × Q × FV × (P − EP)", f"{num(s)} × {num(qfv)} × ({num(p)} − {num(ep)})",
                   s * qfv * (p - ep))
    else:
        upl = Line("upl", "UPL = s × Q × FV × (1/EP − 1/P)", f"{num(s)} × {num(qfv)} × (1/{num(ep)} − 1/{num(p)})",
                   s * qfv * (1 / ep - 1 / p))
    return [upl, Line("equity", "equity = M + UPL", f"{num(m)} + {num(upl.value)}", m + float(upl.value))]


def _mm_lines(pos: IsolatedPosition, p: float) -> list[Line]:
    vp = float(pos.entry) if pos.requirement_at == "entry" else p
    c, t = pos.table.contract, pos.table
    q = float(pos.qty)
    lines = []
    if pos.requirement_at == "entry":
        lines.append(Line("valuation", "", "", None, f"valued at entry {num(vp)}, not at the mark"))
    uv = float(c.value(1.0, vp))
    if isinstance(t, TierTable):
        if t.basis == "notional":
            value = _value_line(pos, vp, "size", " (the size)")
            lines.append(value)
            lines += list(t.explain(float(value.value)).lines)
        else:
            lines.append(Line("unit", "value of one contract", "", uv))
            lines += list(t.explain(q, uv).lines)
        return lines
    rate = float(t.rate(q))
    lines.append(Line("mmr", "rate(Q)", "", rate, f"{getattr(t.schedule, 'name', 'schedule')} at {num(q)} contracts"))
    lines.append(Line("mm", "MM = Q × rate × value of one contract", f"{num(q)} × {pct(rate)} × {num(uv)}", q * rate * uv))
    return lines


def _fee_lines(pos: IsolatedPosition, p: float) -> list[Line]:
    s, qfv, ep, m, f = _c(pos)
    c = pos.table.contract
    if pos.fee_at == "mark":
        vp = ep if pos.requirement_at == "entry" else p
        v = _value_line(pos, vp, "fee_value")
        return [v, Line("fee", "fee reserve = f × value", f"{pct(f)} × {num(v.value)}", f * float(v.value))]
    if pos.fee_at == "entry":
        v = _value_line(pos, ep, "fee_value", " at entry")
        return [v, Line("fee", "fee reserve = f × value at entry", f"{pct(f)} × {num(v.value)}", f * float(v.value))]
    u_e = ep if c.kind == "linear" else 1 / ep
    sig = c.sigma * s
    u_b = (m - sig * qfv * u_e) / (qfv * (f - sig))
    coord = "P" if c.kind == "linear" else "1/P"
    lines = [Line("u_b", f"u_B = (M − σ·s·Q·FV·u_E) ÷ (Q·FV·(f − σ·s)), u = {coord}",
                  f"({num(m)} − {num(sig)} × {num(qfv)} × {num(u_e)}) ÷ ({num(qfv)} × ({pct(f)} − {num(sig)}))", u_b,
                  "equity = the fee to close at that price")]
    fee = f * qfv * max(u_b, 0.0)
    fee_formula = "f × Q × FV × BP" if c.kind == "linear" else "f × Q × FV ÷ BP"
    lines.append(Line("fee", f"fee reserve = {fee_formula}", f"{pct(f)} × {num(qfv)} × {num(max(u_b, 0.0))}", fee,
                      "bankruptcy price " + (num(c.price_of(u_b)) if u_b > 0 else "none: no fee")))
    return lines


# ---------------------------------------------------------------------- results at a price
def _rule(pos: IsolatedPosition) -> tuple[str, str]:
    r, rs = _REQUIREMENT_RULE[pos.requirement_at]
    if pos.fee_rate == 0:
        return r, rs
    fr, fs = _FEE_RULE[pos.fee_at]
    return f"{r}; {fr}", "; ".join(x for x in (rs, fs) if x)


def _title(pos: IsolatedPosition, what: str, p: float | None) -> str:
    side = "long" if pos.side > 0 else "short"
    at = f" at {num(p)}" if p is not None else ""
    return f"{what} of a {side} of {num(pos.qty)} × {pos.table.symbol or 'contract'} from {num(pos.entry)}{at}"


def _equity(pos: IsolatedPosition, p: float) -> Derivation:
    return Derivation(_title(pos, "Equity", p), tuple(_equity_lines(pos, p)), "equity = margin + unrealized PnL")


def _maintenance(pos: IsolatedPosition, p: float) -> Derivation:
    return Derivation(_title(pos, "Maintenance margin", p), tuple(_mm_lines(pos, p)), *_rule(pos))


def _fee(pos: IsolatedPosition, p: float) -> Derivation:
    lines = _fee_lines(pos, p) if pos.fee_rate else [Line("fee", "fee reserve", "", 0.0, "no fee reserve (f = 0)")]
    return Derivation(_title(pos, "Fee reserve", p), tuple(lines), *_rule(pos))


def _requirement_lines(pos: IsolatedPosition, p: float) -> list[Line]:
    mm = _mm_lines(pos, p)
    fee = _fee_lines(pos, p) if pos.fee_rate else [Line("fee", "fee reserve", "", 0.0, "f = 0")]
    total = float(mm[-1].value) + float(fee[-1].value)
    return mm + fee + [Line("requirement", "requirement = MM + fee reserve", f"{num(mm[-1].value)} + {num(fee[-1].value)}",
                            total)]


def _requirement(pos: IsolatedPosition, p: float) -> Derivation:
    return Derivation(_title(pos, "Requirement", p), tuple(_requirement_lines(pos, p)), *_rule(pos))


def _health(pos: IsolatedPosition, p: float) -> Derivation:
    eq, req = _equity_lines(pos, p), _requirement_lines(pos, p)
    h = float(eq[-1].value) - float(req[-1].value)
    verdict = "liquidated: health ≤ 0" if h <= 0 else "healthy: health > 0"
    last = Line("health", "health = equity − requirement", f"{num(eq[-1].value)} − {num(req[-1].value)}", h, verdict)
    return Derivation(_title(pos, "Health", p), tuple(eq + req + [last]), *_rule(pos))


def _ratio(pos: IsolatedPosition, p: float, which: str) -> Derivation:
    eq, req = _equity_lines(pos, p), _requirement_lines(pos, p)
    e, r = float(eq[-1].value), float(req[-1].value)
    v = _value_line(pos, p)
    vv = float(v.value)
    if which == "legacy":
        last = [Line("threshold", "threshold = requirement ÷ value", f"{num(r)} ÷ {num(vv)}", r / vv if vv > 0 else 0.0),
                Line("ratio", "legacy ratio = equity ÷ value", f"{num(e)} ÷ {num(vv)}", e / vv if vv > 0 else np.inf,
                     "liquidated when it is at or below the threshold")]
        rule = "OKX (legacy) / CoinW source articles: (fixed margin + UPL) ÷ position value, against MMR + fee rate"
        lines = eq + req + [v] + last
    elif which == "coinw":
        last = [Line("ratio", "CoinW ratio = equity ÷ requirement", f"{num(e)} ÷ {num(r)}", e / r if r > 0 else np.inf,
                     "liquidated at ≤ 100 %")]
        rule = "CoinW / current OKX: (margin + UPL) ÷ (maintenance margin + estimated liquidation fee)"
        lines = eq + req + last
    else:
        last = [Line("ratio", "Binance ratio = requirement ÷ equity", f"{num(r)} ÷ {num(e)}", r / e if e > 0 else np.inf,
                     "liquidated at ≥ 100 %")]
        rule = "Binance: margin ratio = maintenance margin ÷ margin balance"
        lines = eq + req + last
    return Derivation(_title(pos, f"Margin ratio ({which})", p), tuple(lines), rule,
                      "all three are views of one health figure (tiermargin.isolated.MarginRatios)")


# ---------------------------------------------------------------------- prices
def _bankruptcy(pos: IsolatedPosition) -> Derivation:
    s, qfv, ep, m, _ = _c(pos)
    f = pos.fee_rate if pos.fee_at == "bankruptcy" else 0.0
    c = pos.table.contract
    u_e = ep if c.kind == "linear" else 1 / ep
    sig = c.sigma * s
    coord = "P" if c.kind == "linear" else "1/P"
    den = qfv * (f - sig)
    u_b = (m - sig * qfv * u_e) / den
    lines = [Line("u_b", f"u_B = (M − σ·s·Q·FV·u_E) ÷ (Q·FV·(f − σ·s)), u = {coord}",
                  f"({num(m)} − {num(sig)} × {num(qfv)} × {num(u_e)}) ÷ ({num(qfv)} × ({pct(f)} − {num(sig)}))", u_b,
                  "equity = the fee to close at that price" if f else "equity = 0")]
    if u_b > 0 and np.isfinite(u_b):
        bp = c.price_of(u_b)
        lines.append(Line("bankruptcy_price", "BP" if c.kind == "linear" else "BP = 1 ÷ u_B",
                          "" if c.kind == "linear" else f"1 ÷ {num(u_b)}", float(bp)))
    else:
        lines.append(Line("bankruptcy_price", "", "", None, "no positive price makes the equity reach zero: no "
                          "bankruptcy price"))
    rule = "bankruptcy price: equity − fee to close = 0" if f else "bankruptcy price: equity = 0"
    return Derivation(_title(pos, "Bankruptcy price", None), tuple(lines), rule,
                      "BitMEX 'Bankruptcy price'; Bybit 'What is Bankruptcy Price?'" + (" (fee to close)" if f else ""))


def _liquidation(pos: IsolatedPosition) -> Derivation:
    s, qfv, ep, m, f = _c(pos)
    t, c = pos.table, pos.table.contract
    u_e = ep if c.kind == "linear" else 1 / ep
    sig = c.sigma * s
    coord = "P" if c.kind == "linear" else "1/P"
    lines: list[Line] = []
    if pos.fee_at != "mark" and f:
        fee = _fee_lines(pos, ep)
        lines += fee
        lines.append(Line("margin_less_fee", "M' = M − fee reserve", f"{num(m)} − {num(fee[-1].value)}",
                          m - float(fee[-1].value), "the reserve does not move with the price"))
        m, f = m - float(fee[-1].value), 0.0
    base = f"u = {coord}; health(u) = M + σ·s·Q·FV·(u − u_E) − requirement(u)"
    lines.append(Line("setup", "", "", None, base))

    def answer(u: float | None, why: str, tier: int | None) -> Derivation:
        """The last line: the price at root ``u``, or (None, or not a positive price) the statement
        "no liquidation price" with value None, as :class:`~tiermargin.derivation.Derivation` documents."""
        if u is not None and np.isfinite(u) and u > 0:
            lines.append(Line("liquidation_price", "LP" if c.kind == "linear" else "LP = 1 ÷ u*",
                              "" if c.kind == "linear" else f"1 ÷ {num(u)}", float(c.price_of(u)),
                              why + (f", tier {tier}" if tier else "")))
        else:
            lines.append(Line("liquidation_price", "", "", None, "no liquidation price: " + why))
        return Derivation(_title(pos, "Liquidation price", None), tuple(lines), *_rule(pos))

    if pos.requirement_at == "entry":
        req_lines = _mm_lines(pos, ep) if f == 0 else _requirement_lines(pos, ep)  # a fixed fee is in M' already
        lines += req_lines
        req = float(req_lines[-1].value)
        u = (m - req - sig * qfv * u_e) / (-sig * qfv)
        lines.append(Line("root", "u* = (M − requirement − σ·s·Q·FV·u_E) ÷ (−σ·s·Q·FV)",
                          f"({num(m)} − {num(req)} − {num(sig)} × {num(qfv)} × {num(u_e)}) ÷ ({num(-sig * qfv)})", u,
                          "the requirement is fixed at its value at entry"))
        k = int(t.tier_index(float(qfv * u_e) if t.basis == "notional" else float(pos.qty))) + 1 if isinstance(t, TierTable) else None
        return answer(u, "equity falls to the fixed requirement", k)
    if not isinstance(t, TierTable) or t.basis == "contracts":
        q = float(pos.qty)
        mm_q = float(t.maintenance_margin(q))  # Q·MMR_k − cum_k contracts basis, Q·rate(Q) for a schedule
        k = int(t.tier_index(q)) + 1 if isinstance(t, TierTable) else None
        what = f"tier {k} by contracts: Q·MMR_{k} − cum_{k}" if k else "the schedule's rate at Q: Q·rate(Q)"
        lines.append(Line("mm_per_unit", "MM per unit of u ÷ FV", "", mm_q, what + " (the tier does not move with the price)"))
        alpha = c.face_value * (mm_q + f * q)
        lines.append(Line("alpha", "α = FV × (MM/FV + f·Q)", f"{num(c.face_value)} × ({num(mm_q)} + {pct(f)} × {num(q)})", alpha))
        if sig * alpha >= qfv:  # then the root's denominator α − σ·s·Q·FV is ≥ 0: no root on the adverse side
            return answer(None, "the requirement grows at least as fast as the value (rate + fee ≥ 100 %): "
                                "health does not fall as the price moves against the position", None)
        u = (m - sig * qfv * u_e) / (alpha - sig * qfv)
        lines.append(Line("root", "u* = (M − σ·s·Q·FV·u_E) ÷ (α − σ·s·Q·FV)",
                          f"({num(m)} − {num(sig)} × {num(qfv)} × {num(u_e)}) ÷ ({num(alpha)} − {num(sig * qfv)})", u))
        return answer(u, "health = 0", k)
    return _liquidation_notional(pos, m, f, lines, answer)


def _liquidation_notional(pos, m: float, f: float, lines: list[Line], answer) -> Derivation:  # type: ignore[no-untyped-def]
    """Every tier's closed form, which ones are consistent, and the one met first from entry."""
    s, qfv, ep, _, _ = _c(pos)
    t: TierTable = pos.table
    c = t.contract
    u_e = ep if c.kind == "linear" else 1 / ep
    w = c.sigma * s
    x_e = qfv * u_e
    lines.append(Line("size", "size x = Q·FV·u (notional)", "", None,
                      f"at entry x_E = {num(x_e)}; the adverse path {'lowers' if w > 0 else 'raises'} x"))
    a = m - w * x_e

    def health_at(x: float, k: int) -> float:
        return a + float(t.cum[k]) + x * (w - float(t.mmr[k]) - f)

    k_e = int(t.tier_index(x_e))
    healthy = health_at(x_e, k_e) > 0
    direction = -w if healthy else w  # travel in x from entry
    found: list[tuple[float, float, int, str]] = []  # (distance, x, tier, why)
    hi_last = np.inf
    for k in range(t.n_tiers):
        rate = float(t.mmr[k]) + f
        lo, hi = float(t.floors[k]), (float(t.caps[k]) if k < t.n_tiers - 1 else hi_last)
        den = w - rate
        x = -(a + float(t.cum[k])) / den if den != 0 else np.inf
        in_tier = np.isfinite(x) and x > 0 and lo * (1 - 1e-12) <= x <= hi * (1 + 1e-12)
        ahead = direction * (x - x_e) >= -1e-12 * abs(x_e) if np.isfinite(x) else False
        ok = in_tier and w * rate < 1 and ahead
        numbers = f"−({num(a)} + {num(t.cum[k])}) ÷ ({num(w)} − {pct(rate)})"
        if ok:
            why = f"in tier {k + 1}: accepted"
        elif not (np.isfinite(x) and x > 0):
            why = "no positive root"
        elif not in_tier:
            why = f"size {num(x)} is not in tier {k + 1} [{num(lo)}, {num(hi)}]: rejected"
        elif w * rate >= 1:
            why = "health does not fall along the adverse path in this tier: rejected"
        else:
            why = "on the other side of entry: rejected"
        lines.append(Line(f"root_{k + 1}", f"x*_{k + 1} = −(M − σ·s·x_E + cum_{k + 1}) ÷ (σ·s − MMR_{k + 1} − f)", numbers,
                          x if np.isfinite(x) else None, why))
        if ok:
            found.append((direction * (x - x_e), x, k, "health = 0 in its own tier"))
    if t.form == "step":
        for i in range(t.n_tiers - 1):
            cap = float(t.caps[i])
            adv, fav = (i, i + 1) if w > 0 else (i + 1, i)
            if health_at(cap, adv) <= 0 < health_at(cap, fav) and direction * (cap - x_e) >= -1e-12 * abs(x_e):
                lines.append(Line(f"jump_{i + 1}", "", "", cap,
                                  f"at the cap of tier {i + 1} health jumps from {num(health_at(cap, fav))} to "
                                  f"{num(health_at(cap, adv))} (step form)"))
                found.append((direction * (cap - x_e), cap, adv, "health jumps to ≤ 0 at a tier boundary"))
    if not found:
        return answer(None, "no tier's root is consistent on the adverse side: the margin covers the position",
                      None)
    dist, x, k, why = min(found)
    where = "nearest entry on the adverse side" if healthy else "nearest entry where health turns positive"
    lines.append(Line("chosen", "u* = x* ÷ (Q·FV)", f"{num(x)} ÷ {num(qfv)}", x / qfv, f"{why}, {where}"))
    return answer(x / qfv, why, k + 1)
