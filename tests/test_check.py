"""The input checks answer one number (fast path) exactly as they answer an array of it."""

from functools import partial

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tiermargin import _check

CHECKS = [_check.finite, _check.positive, _check.nonnegative, _check.rate, partial(_check.rate, low_open=True),
          _check.side]
NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**6, 10**6),
                    st.sampled_from([0.0, 1.0, -1.0, 0.5, 1 - 1e-16]))


def _outcome(check, x):
    try:
        return "ok", float(np.asarray(check("x", x)).reshape(-1)[0])
    except (TypeError, ValueError) as e:
        return type(e).__name__, str(e).split(", got")[0]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: repr(c).split(" at ")[0])
@given(x=NUMBERS, kind=st.sampled_from([float, np.float64, np.asarray, int]))
def test_one_number_is_checked_as_an_array_of_it_is(check, x, kind):
    if kind is int and not isinstance(x, int):
        return
    one = kind(x) if kind is not int else x
    assert _outcome(check, one) == _outcome(check, np.array([x], dtype=np.float64))
    if _outcome(check, one)[0] == "ok":
        out = check("x", one)
        assert isinstance(out, np.ndarray) and out.ndim == 0 and out.dtype == np.float64


def test_the_errors_name_the_parameter_and_the_rule():
    with pytest.raises(ValueError, match="price must be > 0, got -1.0"):
        _check.positive("price", -1.0)
    with pytest.raises(ValueError, match=r"qty must be >= 0, got -2"):
        _check.nonnegative("qty", -2)
    with pytest.raises(ValueError, match="entry must be finite"):
        _check.positive("entry", np.float64("nan"))
    with pytest.raises(TypeError, match="must be a number"):
        _check.positive("entry", "60000")
    with pytest.raises(ValueError, match=r"fraction must be a rate in \(0, 1\), got 0.0"):
        _check.rate("fraction", 0.0, low_open=True)
    with pytest.raises(ValueError, match="side must be 'long' or 'short'"):
        _check.side("side", 0.5)


def test_nothing_is_coerced_silently():
    # Issue 19 #7: True as a quantity, side, leverage or tier; numbers as text; complex numbers.
    from fractions import Fraction

    import tiermargin as tm

    t = tm.load_table("binance-usdm-btcusdt-2021")
    for kw, error, match in [({"qty": True}, TypeError, "qty must be a number.*got bools"),
                             ({"qty": ["2", "3"]}, TypeError, "qty must be a number.*got text"),
                             ({"qty": np.array([1 + 2j])}, TypeError, "got complex numbers"),
                             ({"side": True}, ValueError, "side must be 'long' or 'short'.*not a bool"),
                             ({"side": [True, False]}, ValueError, "side must be 'long' or 'short'"),
                             ({"leverage": True}, TypeError, "leverage must be a number.*got bools")]:
        with pytest.raises(error, match=match):
            tm.IsolatedPosition.open(**{"table": t, "side": "long", "qty": 1, "entry": 100, "leverage": 10, **kw})
    p = tm.IsolatedPosition.open(t, "long", 1, 100, 10)
    with pytest.raises(ValueError, match="tier must be an integer"):
        p.liquidation_price_in_tier(True)
    assert tm.IsolatedPosition.open(t, ["long", "short"], [1, Fraction(1, 2)], 100, 10).qty.tolist() == [1.0, 0.5]


def test_numbers_stay_where_products_of_three_cannot_overflow():
    """Issue 16: |x| <= LARGEST everywhere, positives >= SMALLEST_POSITIVE, scalar and array alike:
    size × price × rate, or qty × face ÷ price, of such numbers stays finite."""
    big, tiny = _check.LARGEST, _check.SMALLEST_POSITIVE
    assert big ** 3 < np.finfo(float).max and big * big / tiny < np.finfo(float).max
    for x in (1e101, -1e101, np.array([1.0, 1e101])):
        for check in (_check.finite, _check.nonnegative, _check.positive):
            with pytest.raises(ValueError, match=r"x must be at most 1e\+100 in magnitude"):
                check("x", x)
    for x in (1e-101, np.array([1.0, 1e-101])):
        with pytest.raises(ValueError, match=r"x must be at least 1e-100"):
            _check.positive("x", x)
    assert _check.nonnegative("x", 1e-300) == 1e-300 and _check.positive("x", tiny) == tiny
    assert _check.finite("x", -big) == -big
