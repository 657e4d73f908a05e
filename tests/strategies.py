"""Hypothesis strategies for tier tables and positions, shared by the property tests."""

from __future__ import annotations

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st

from tiermargin import Contract, TierTable

@st.composite
def tier_tables(draw, form=None, basis=None, kind=None):
    """Random valid tier tables: contiguous tiers, non-decreasing MMR, falling max leverage."""
    n = draw(st.integers(1, 6))
    form = form or draw(st.sampled_from(["continuous", "step"]))
    basis = basis or draw(st.sampled_from(["notional", "contracts"]))
    kind = kind or draw(st.sampled_from(["linear", "inverse"]))
    widths = draw(st.lists(st.floats(1.0, 1e6), min_size=n, max_size=n))
    bounds = np.concatenate(([0.0], np.cumsum(widths)))
    rates = np.sort(draw(st.lists(st.floats(0.001, 0.2), min_size=n, max_size=n)))
    # max leverage strictly below 1/MMR, non-increasing.
    lev = np.minimum.accumulate(np.floor(0.9 / rates))
    last_cap = draw(st.sampled_from([None, bounds[n]]))  # unbounded, or a bounded last tier
    rows = [[bounds[i], bounds[i + 1] if i < n - 1 else last_cap, rates[i], lev[i]] for i in range(n)]
    fv = draw(st.sampled_from([1.0, 0.01, 10.0, 100.0]))
    contract = Contract(kind, fv, "USDT" if kind == "linear" else "BTC")
    return TierTable.from_rows(rows, basis=basis, form=form, contract=contract,
                               closed=draw(st.sampled_from(["left", "right"])))


@st.composite
def positions(draw, requirement_at=None, fee=True, form=None, basis=None):
    """Random isolated positions opened within their tier's max leverage on a random table."""
    from hypothesis import assume

    from tiermargin import IsolatedPosition

    t = draw(tier_tables(form=form, basis=basis))
    side = draw(st.sampled_from(["long", "short"]))
    entry = draw(st.floats(1.0, 1e5))
    if t.basis == "notional":
        value = draw(st.floats(1.0, 2e7))
        qty = value / t.contract.value(1, entry)
    else:
        qty = draw(st.floats(1.0, 3e6))
    size = t.contract.value(qty, entry) if t.basis == "notional" else qty
    max_lev = float(t.max_leverage_at(size))
    lev = draw(st.floats(1.0, max_lev)) if max_lev > 1 else max_lev
    fee_rate = draw(st.sampled_from([0.0, 0.0005, 0.002])) if fee else 0.0
    req_at = requirement_at or draw(st.sampled_from(["mark", "entry"]))
    try:
        return IsolatedPosition.open(t, side, qty, entry, lev, fee_rate=fee_rate, requirement_at=req_at)
    except ValueError:
        assume(False)


def examples(n):
    """``n`` examples, scaled like the loaded profile (20× under ``deep``), for properties that set their own count."""
    return n * settings.default.max_examples // settings.get_profile("ci").max_examples
