"""Invariants of isolated margin (DESIGN.md, "Conventions that matter")."""

import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st
from strategies import positions

from tiermargin import Contract, IsolatedPosition, TierTable


def _scale(p):
    """Money scale of a position, for tolerances: its margin plus its value at entry."""
    return float(p.margin + p.value(p.entry))


@given(positions())
def test_health_is_zero_at_the_liquidation_price(p):
    """Zero at LP — or, on a step table, LP is a tier boundary where health jumps across zero."""
    lp = p.liquidation_price()
    assume(lp.exists)
    assert lp.price > 0
    tol = 1e-9 * _scale(p)
    if abs(p.health(lp.price)) > tol:
        s = float(p.side)
        assert p.table.form == "step"
        size = p.value(lp.price) if p.table.basis == "notional" else float(p.qty)
        assert np.min(np.abs(p.table.caps[:-1] - size)) <= 1e-9 * size
        assert p.health(lp.price * (1 + s * 1e-9)) > 0 >= p.health(lp.price * (1 - s * 1e-9))


def _inverse_short_on_a_cap():
    """`make deep` counterexample (seed 2): an inverse short whose size at entry is tier 1's cap (closed
    right); any fall in price grows the size Q·FV/P into tier 2, whose MM exceeds the margin."""
    t = TierTable.from_rows([[0.0, 1.0, 0.125, 7.0], [1.0, None, 0.1875, 4.0]], basis="notional", form="step",
                            contract=Contract("inverse", 1.0, "BTC"), closed="right")
    return IsolatedPosition.open(t, "short", 1.0, 1.0, 6.0)


@example(_inverse_short_on_a_cap(), 0.5)
@given(positions(), st.floats(0.3, 3.0))
def test_liquidation_price_is_the_first_adverse_price(p, move):
    """Independent of the closed form: every price from the mark (or the entry, when the mark lies on
    the favourable side) to LP is healthy, and just past LP health is ≤ 0 (health() alone on a grid).
    A favourable mark is not enough: on a notional table a favourable move can grow the size (a linear
    long's Q·FV·P, an inverse short's Q·FV/P) into a dearer tier, so health between a favourable mark and
    the entry can be negative; LP is the root nearest the entry on the adverse side."""
    mark = float(p.entry) * move
    assume(not p.is_liquidated(mark))
    lp = p.liquidation_price()
    s = float(p.side)
    if not lp.exists:
        grid = np.geomspace(1e-6, 1e9, 400) * float(p.entry)
        assert np.all(p.health(grid) > 0)
        return
    start = mark if (mark - float(p.entry)) * s <= 0 else float(p.entry)
    between = np.linspace(lp.price, start, 200)[1:]
    assert np.all(p.health(between) > -1e-9 * _scale(p))
    beyond = lp.price * (1 - s * 1e-6)
    assert p.health(beyond) <= 1e-9 * _scale(p)


@given(positions(), st.floats(0.3, 3.0))
def test_healthy_position_liquidates_strictly_between_bankruptcy_and_mark(p, move):
    mark = float(p.entry) * move
    assume(not p.is_liquidated(mark))
    lp, bp = p.liquidation_price(), p.bankruptcy_price()
    if bp.exists:
        assert lp.exists
        if float(p.side) > 0:
            assert bp.price < lp.price < mark
        else:
            assert mark < lp.price < bp.price
    elif lp.exists:  # no bankruptcy price: LP still lies on the adverse side of the mark
        assert (lp.price - mark) * float(p.side) < 0


@given(positions(), st.floats(0.01, 0.5))
def test_more_margin_moves_the_liquidation_price_away(p, extra_fraction):
    """Strictly away — except on a step table, where both prices may be the same tier boundary
    (health jumps across zero there whatever the margin, issue 19 #12): never closer."""
    lp = p.liquidation_price()
    more = p.add_margin(float(p.margin) * extra_fraction).liquidation_price()
    assume(lp.exists)
    if not more.exists:
        return
    s = float(p.side)
    if more.price == lp.price:
        assert p.table.form == "step" and np.any(np.isclose(p.tier_boundary_prices(), lp.price, rtol=1e-12))
    else:
        assert s * (lp.price - more.price) > 0


def test_more_margin_can_leave_the_liquidation_price_on_a_step_boundary():
    # A short whose size grows into a 20 % tier as the price rises: with 10 % more margin it is
    # still liquidated at the boundary itself, where health jumps from > 0 to < 0.
    t = TierTable.from_rows([[0, 1_000, 0.01, 50], [1_000, None, 0.2, 4]], form="step")
    p = IsolatedPosition.open(t, "short", 9.9, 100, 40)
    boundary = 1_000 / 9.9
    assert p.liquidation_price().price == pytest.approx(boundary)
    assert p.add_margin(float(p.margin) * 0.1).liquidation_price().price == pytest.approx(boundary)


@given(positions(), st.lists(st.floats(0.2, 5.0), min_size=1, max_size=30))
def test_all_ratio_conventions_agree_on_liquidation(p, moves):
    prices = float(p.entry) * np.array(moves)
    r, liq = p.margin_ratios(prices), p.health(prices) <= 0
    np.testing.assert_array_equal(r.legacy <= r.legacy_threshold, liq)
    np.testing.assert_array_equal(r.coinw <= 1, liq)
    np.testing.assert_array_equal(r.binance >= 1, liq)


@given(positions(requirement_at="mark"))
def test_vectorized_solve_equals_one_by_one(p):
    """The same positions solved as an array of three and one at a time give the same prices."""
    qty = float(p.qty) * np.array([1.0, 0.5, 0.25])
    many = IsolatedPosition(p.table, p.side, qty, p.entry, p.margin * qty / float(p.qty), p.leverage, p.fee_rate)
    lp = many.liquidation_price()
    for i in range(3):
        one = IsolatedPosition(p.table, p.side, qty[i], p.entry, many.margin[i], p.leverage, p.fee_rate)
        single = one.liquidation_price()
        assert single.exists == lp.exists[i] and single.tier == lp.tier[i]
        if single.exists:
            assert single.price == pytest.approx(lp.price[i], rel=1e-12)


@given(positions(requirement_at="mark", form="continuous", basis="notional"))
def test_fast_continuous_solver_equals_the_tier_by_tier_search(p):
    """The O(N log K) path for continuous tables agrees with the general N×K candidate search."""
    from tiermargin import isolated

    c = p.table.contract
    qfv = np.atleast_1d(p.qty * c.face_value)
    w = np.atleast_1d(c.sigma * p.side)
    a = np.atleast_1d(p.margin - w * qfv * c.coordinate(p.entry))
    fast = isolated._continuous_roots(p.table, a, w, qfv, p.fee_rate)
    slow = isolated._candidate_roots(p.table, a, w, qfv, p.fee_rate, qfv * c.coordinate(p.entry))
    assert fast[2][0] == slow[2][0]
    if fast[2][0]:
        assert fast[0][0] == pytest.approx(slow[0][0], rel=1e-9)


@given(positions())
def test_liquidation_price_lies_on_the_adverse_side_of_entry(p):
    """Issue 19: a long's liquidation price is below entry, a short's above, and health is > 0
    strictly between entry and it — on step tables too, where a position whose leverage exceeds a
    higher tier's 1/MMR is also unhealthy in a window on the favourable side."""
    lp = p.liquidation_price()
    assume(lp.exists)
    entry, s = float(p.entry), float(p.side)
    assert s * (entry - lp.price) >= 0
    if lp.price == entry:  # only where entry sits on a step boundary that health jumps across
        assert p.table.form == "step" and np.any(np.isclose(p.tier_boundary_prices(), entry, rtol=1e-12))
        assert p.health(entry * (1 - s * 1e-9)) <= 0
    between = np.linspace(lp.price, entry, 202)[1:-1]
    assert np.all(p.health(between) > -1e-9 * _scale(p))
