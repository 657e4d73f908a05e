"""Input validation shared by every layer.

Each helper converts its argument to a float ``numpy`` array (or returns it unchanged for
scalars wrapped as 0-d arrays) and raises :class:`ValueError` naming the parameter and what
is allowed. Nothing is clipped or coerced silently.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


_NUMBERS = (float, int, np.floating, np.integer)

#: The largest magnitude any number may have, and the smallest a positive one may have. tiermargin
#: computes in 64-bit floats (largest ~1.8e308): a product of three numbers within these bounds
#: (size × price × rate, or an inverse contract's qty × face ÷ price) cannot overflow, so no
#: result turns into inf or NaN. Real markets are many orders of magnitude inside them.
LARGEST = 1e100
SMALLEST_POSITIVE = 1e-100


def _too_large(name: str, x: Any) -> ValueError:
    return ValueError(f"{name} must be at most {LARGEST:g} in magnitude (tiermargin computes in floats; "
                      f"larger numbers overflow), got {x!r}")


def _number(x: Any) -> float | None:
    """``x`` as a Python float when it is one real number (a Python or NumPy scalar, or a 0-d
    float array), else None: the engines pass such scalars around in their inner loops, and the
    checks below answer them without NumPy's per-call overhead (same results, ~10x faster)."""
    if isinstance(x, _NUMBERS) and not isinstance(x, bool):  # True is not a quantity
        return float(x)
    if isinstance(x, np.ndarray) and x.ndim == 0 and x.dtype == np.float64:
        return float(x)
    return None


def _checked_scalar(name: str, x: Any, ok: Callable[[float], bool]) -> FloatArray | None:
    """For one number ``x``: its 0-d array if it is finite and ``ok(value)``, raising the finite
    check's error otherwise; None when ``x`` is not one number or fails ``ok`` (the caller's array
    path then raises its own error)."""
    v = _number(x)
    if v is None:
        return None
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite (no NaN or inf), got {x!r}")
    if abs(v) > LARGEST:
        raise _too_large(name, x)
    return np.asarray(v) if ok(v) else None


def _as_float(name: str, x: ArrayLike) -> FloatArray:
    fast = _checked_scalar(name, x, lambda v: True)
    if fast is not None:
        return fast
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be a number or an array of numbers, got {x!r}")
    try:
        raw = np.asarray(x)
    except (TypeError, ValueError):  # e.g. a ragged list
        raise TypeError(f"{name} must be a number or an array of numbers, got {x!r}") from None
    kind = raw.dtype.kind
    if kind == "O" and all(isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) for v in raw.flat):
        kind = "f"  # Python numbers of mixed types (e.g. Fractions): real numbers all
    if kind not in "iuf":  # bools, complex numbers, text, None: nothing is parsed or coerced
        what = {"b": "bools", "c": "complex numbers", "U": "text", "S": "bytes"}.get(kind, "other objects")
        raise TypeError(f"{name} must be a number or an array of (real) numbers, got {what}: {x!r}")
    try:
        arr = raw.astype(np.float64, copy=False)
    except (TypeError, ValueError, OverflowError):
        raise TypeError(f"{name} must be a number or an array of numbers, got {x!r}") from None
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite (no NaN or inf), got {x!r}")
    if (np.abs(arr) > LARGEST).any():
        raise _too_large(name, x)
    return arr


def finite(name: str, x: ArrayLike) -> FloatArray:
    """Return ``x`` as a float array, requiring every element to be finite."""
    return _as_float(name, x)


def positive(name: str, x: ArrayLike) -> FloatArray:
    """Return ``x`` as a float array, requiring every element to be finite and > 0 (at least
    :data:`SMALLEST_POSITIVE`: dividing by a smaller one overflows)."""
    fast = _checked_scalar(name, x, lambda v: v >= SMALLEST_POSITIVE)
    if fast is not None:
        return fast
    arr = _as_float(name, x)
    if (arr <= 0).any():
        raise ValueError(f"{name} must be > 0, got {x!r}")
    if (arr < SMALLEST_POSITIVE).any():
        raise ValueError(f"{name} must be at least {SMALLEST_POSITIVE:g} (dividing by a smaller number "
                         f"overflows), got {x!r}")
    return arr


def path(times: ArrayLike, marks: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Return a price path as 1-d float arrays: ``times`` finite and sorted, ``marks`` > 0, same length."""
    m = positive("marks", marks).reshape(-1)
    t = finite("times", times).reshape(-1)
    if t.size != m.size:
        raise ValueError(f"times and marks must have the same length, got {t.size} and {m.size}")
    if (np.diff(t) < 0).any():
        raise ValueError("times must be sorted in increasing order")
    return t, m


def nonnegative(name: str, x: ArrayLike) -> FloatArray:
    """Return ``x`` as a float array, requiring every element to be finite and >= 0."""
    fast = _checked_scalar(name, x, lambda v: v >= 0)
    if fast is not None:
        return fast
    arr = _as_float(name, x)
    if (arr < 0).any():
        raise ValueError(f"{name} must be >= 0, got {x!r}")
    return arr


def rate(name: str, x: ArrayLike, *, low_open: bool = False) -> FloatArray:
    """Return ``x`` as a float array of rates in [0, 1) (or (0, 1) with ``low_open``)."""
    fast = _checked_scalar(name, x, lambda v: (v > 0 if low_open else v >= 0) and v < 1)
    if fast is not None:
        return fast
    arr = _as_float(name, x)
    bad = (arr <= 0) if low_open else (arr < 0)
    if (bad | (arr >= 1)).any():
        allowed = "(0, 1)" if low_open else "[0, 1)"
        raise ValueError(f"{name} must be a rate in {allowed}, got {x!r}")
    return arr


_SIDES = {"long": 1.0, "buy": 1.0, "short": -1.0, "sell": -1.0}


def side(name: str, x: Any) -> FloatArray:
    """Return a side as +1.0 (long) / -1.0 (short).

    Accepts ``"long"``/``"short"`` (also ``"buy"``/``"sell"``), +1/-1, or an array of those.
    """
    if isinstance(x, (bool, np.bool_)) or (isinstance(x, np.ndarray) and x.dtype.kind == "b"):
        raise ValueError(f"{name} must be 'long' or 'short' (or +1/-1), not a bool, got {x!r}")
    v = _number(x)
    if v == 1.0 or v == -1.0:
        return np.asarray(v)
    if isinstance(x, str):
        key = x.strip().lower()
        if key not in _SIDES:
            raise ValueError(f"{name} must be 'long' or 'short' (or +1/-1), got {x!r}")
        return np.asarray(_SIDES[key])
    if isinstance(x, Iterable) and not isinstance(x, np.ndarray):
        x = [_SIDES.get(v.strip().lower(), v) if isinstance(v, str) else v for v in x]
    raw = np.asarray(x) if not isinstance(x, np.ndarray) else x
    if raw.dtype.kind not in "iufO" or (raw.dtype.kind == "O" and any(isinstance(v, (bool, np.bool_)) for v in raw.flat)):
        raise ValueError(f"{name} must be 'long' or 'short' (or +1/-1), got {x!r}")
    try:
        arr = raw.astype(np.float64, copy=False)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be 'long' or 'short' (or +1/-1), got {x!r}") from None
    if arr.size == 0 or not np.all((arr == 1.0) | (arr == -1.0)):
        raise ValueError(f"{name} must be 'long' or 'short' (or +1/-1), got {x!r}")
    return arr


def one_of(name: str, x: Any, allowed: Iterable[str]) -> str:
    """Return ``x`` if it is one of ``allowed`` (strings), else raise naming the options; anything
    but a str (an array, a list, a dict) is refused too, never compared with them (an array's
    ``==`` is elementwise)."""
    options = tuple(allowed)
    if not isinstance(x, str) or x not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}; got {x!r}")
    return x


def scalar_or_array(arr: FloatArray) -> float | FloatArray:
    """Return a Python float for a 0-d array, else the array (the library's return convention)."""
    return float(arr) if arr.ndim == 0 else arr


def one_number(name: str, x: Any, check: Callable[[str, Any], FloatArray] = finite) -> float:
    """Return ``x`` as a Python float after ``check(name, x)`` (:func:`finite`, :func:`positive`, ...),
    requiring one number, not an array: for parameters that are not vectorized."""
    arr = check(name, x)
    if arr.ndim:
        raise ValueError(f"{name} must be one number, not an array (got shape {arr.shape})")
    return float(arr)


def text(name: str, x: Any) -> str:
    """Return ``x`` if it is text (a str: a label, an id, a unit), else raise naming the parameter;
    nothing is converted (a number is not a label)."""
    if not isinstance(x, str):
        raise TypeError(f"{name} must be text (a str), got {x!r}")
    return x
