"""Issue 16 #5, "widgets never die": every control of every explorer, through ``Explorer.set``, at the
ends of its range and at every value of the shared bad-value catalogue (tests/sweep.py).

Each try must end in one of the good outcomes:

* ``"valid update"`` — the control holds exactly the value asked (nothing clipped or coerced), the
  explorer updated (``last_error`` empty) and its readouts hold no NaN (nor an ``inf`` spelled out);
* ``"clear refusal"`` — ``set`` raised a ``ValueError``/``TypeError`` naming the control and what is
  allowed;
* ``"error shown"`` — the control holds the value and the explorer shows the library's own
  ``ValueError``/``TypeError`` message in ``last_error``, naming a control (this one, or another when
  the combination is refused: a notional too large for the leverage);

and setting the control back to its original value must then clear ``last_error`` and give back the
original readout (``"no recovery"`` otherwise). The bad outcomes: ``"unclear refusal"``, ``"unclear error
shown"``, ``"crash"``
(another exception escaping ``set``, or shown in ``last_error``), ``"coerced"`` (the control holds
another value than the one asked), ``"non-finite readout"``, ``"no recovery"``.

Every explorer class in :mod:`tiermargin.widgets` (found by introspection) needs an entry in
:data:`BUILD`; each test builds its explorer once and reuses it. ``python tests/test_sweep_widgets.py``
prints the counts per outcome.
"""

from __future__ import annotations

import importlib
import inspect
import math
import pkgutil
import re
from collections import Counter
from html import escape
from typing import Any

import matplotlib

matplotlib.use("Agg")

import ipywidgets as W  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

import sweep  # noqa: E402
import tiermargin.widgets  # noqa: E402
from tiermargin.widgets import Explorer  # noqa: E402

#: how to build each explorer (keyword arguments); a new explorer needs an entry here
BUILD: dict[str, dict[str, Any]] = {
    "CalculatorExplorer": {},
    "CascadeExplorer": {},
    "CrossExplorer": {},
    "IsolatedExplorer": {},
    "LiquidationExplorer": {},
    "MarkPriceExplorer": {},
    "RiskFundExplorer": {},
    "TierExplorer": {},
}

GOOD = ("valid update", "clear refusal", "error shown")
#: how :meth:`Explorer.refresh` shows an exception that is not a ValueError/TypeError
CRASH_SHOWN = re.compile(r"^[A-Za-z_]\w*: .*\(at [\w<>.]+\)$", re.S)
NON_FINITE = re.compile(r"\b(nan|inf|infinity)\b", re.I)


def explorer_classes() -> list[type[Explorer]]:
    """Every Explorer subclass defined in a module of :mod:`tiermargin.widgets`."""
    for info in pkgutil.iter_modules(tiermargin.widgets.__path__, "tiermargin.widgets."):
        importlib.import_module(info.name)
    found, todo = set(), [Explorer]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub.__module__.startswith("tiermargin.widgets.") and sub not in found:
                found.add(sub)
                todo.append(sub)
    return sorted((c for c in found if not inspect.isabstract(c)), key=lambda c: c.__name__)


def _same(a: Any, b: Any) -> bool:
    """``a`` is ``b``'s value: equal and of the same kind (True is not 1; NaN is NaN)."""
    if isinstance(a, bool) != isinstance(b, bool) or isinstance(a, str) != isinstance(b, str):
        return False
    if not isinstance(a, (str, int, float)) or not isinstance(b, (str, int, float)):
        return a is b
    return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))


def extremes(control: W.ValueWidget) -> dict[str, Any]:
    """The ends of a control's range: a slider's min and max (a log slider's base**min, base**max),
    a choice's first and last option."""
    if hasattr(control, "options"):
        values = [o[1] if isinstance(o, tuple) else o for o in control.options]
        return {"first option": values[0], "last option": values[-1]}
    if hasattr(control, "min") and hasattr(control, "max"):
        base = getattr(control, "base", None)
        lo, hi = (base ** control.min, base ** control.max) if base else (control.min, control.max)
        return {"min": lo, "max": hi}
    if isinstance(control, W.Checkbox):
        return {"True": True, "False": False}
    return {}


def readouts(ex: Explorer) -> str:
    """Every HTML readout of the explorer (the widgets' values, joined), less the line on what the last
    change did (``state["explanation"]``, the cascade's: it depends on the change, not the state)."""
    text = "\n".join(w.value for w in vars(ex).values() if isinstance(w, W.HTML) and w is not ex.error)
    return text.replace(escape(ex.state.get("explanation", "")), "")


def _words(text: str) -> str:
    return re.sub(r"[_\-\s]+", " ", text.lower())


def names_a_control(ex: Explorer, message: str) -> bool:
    """Whether ``message`` names one of the explorer's controls (by name or label, any case, ``_`` and
    ``-`` as spaces): the one set, or another one when the combination is refused."""
    text = _words(message)
    return any(_words(k) in text or (c.description and _words(c.description) in text)
               for k, c in ex.controls.items())


def judge(ex: Explorer, name: str, value: Any) -> tuple[str, str]:
    """Set control ``name`` to ``value`` and classify the outcome (outcome, detail)."""
    try:
        ex.set(**{name: value})
    except (ValueError, TypeError) as e:
        msg = str(e)
        if name in msg and sweep._ALLOWED_WORDS.search(msg):
            return "clear refusal", msg[:160]
        return "unclear refusal", f"{type(e).__name__}: {msg[:160]}"
    except Exception as e:  # noqa: BLE001 -- what escapes set() is the defect looked for
        return "crash", f"{type(e).__name__}: {str(e)[:160]}"
    held = ex.controls[name].value
    if not _same(held, value):
        return "coerced", f"holds {held!r:.80}"
    if ex.last_error:
        if CRASH_SHOWN.match(ex.last_error):
            return "crash", f"shown: {ex.last_error[:160]}"
        if not names_a_control(ex, ex.last_error):
            return "unclear error shown", ex.last_error[:160]
        return "error shown", ex.last_error[:160]
    bad = NON_FINITE.search(readouts(ex))
    if bad:
        return "non-finite readout", repr(bad.group())
    return "valid update", ""


def build(cls: type[Explorer]) -> Explorer:
    """The explorer of :data:`BUILD`, with its figure's drawing skipped: a draw (~30 ms, most of an
    update) only renders what ``update`` already set on the artists, and the widget tests draw."""
    ex = cls(**BUILD[cls.__name__])
    ex._render = lambda: None  # type: ignore[method-assign]
    return ex


def sweep_explorer(cls: type[Explorer]) -> list[sweep.Outcome]:
    """Every control of one explorer (built once) at its extremes and every catalogue value."""
    ex = build(cls)
    assert ex.last_error is None, ex.last_error
    original = {k: c.value for k, c in ex.controls.items()}
    shown = readouts(ex)
    out = []
    for name, control in ex.controls.items():
        tries = {**extremes(control), **sweep.CATALOGUE}
        for label, value in tries.items():
            outcome, detail = judge(ex, name, value)
            if any(not _same(c.value, original[k]) for k, c in ex.controls.items()) or ex.last_error:
                try:
                    ex.set(**{name: original[name]})
                except Exception as e:  # noqa: BLE001
                    outcome, detail = "no recovery", f"restoring raised {type(e).__name__}: {e}"
                else:
                    moved = [k for k, c in ex.controls.items() if not _same(c.value, original[k])]
                    if ex.last_error or moved or readouts(ex) != shown:
                        outcome, detail = "no recovery", (f"after {outcome}: error {ex.last_error!r:.120}, "
                                                          f"controls moved {moved}")
            if outcome in GOOD and readouts(ex) != shown:
                outcome, detail = "no recovery", "readout changed"
            if outcome not in GOOD and any(not _same(c.value, original[k]) for k, c in ex.controls.items()):
                plt.close(ex.fig)
                ex = build(cls)  # go on from a fresh explorer
            out.append(sweep.Outcome(cls.__name__, name, label, outcome, detail))
    type(ex)._render(ex)  # the state the sweep leaves still draws
    plt.close(ex.fig)
    return out


def test_every_explorer_has_a_build_entry():
    names = {c.__name__ for c in explorer_classes()}
    assert names == set(BUILD), f"explorers without an entry in BUILD: {sorted(names - set(BUILD))}"
    assert len(names) >= 8


@pytest.mark.parametrize("cls", explorer_classes(), ids=lambda c: c.__name__)
def test_every_control_at_every_extreme_and_bad_value(cls):
    failures = [o for o in sweep_explorer(cls) if o.outcome not in GOOD]
    assert not failures, "\n".join(map(str, failures))


if __name__ == "__main__":
    import warnings

    warnings.simplefilter("error")
    total: Counter[str] = Counter()
    for c in explorer_classes():
        outcomes = sweep_explorer(c)
        counts = Counter(o.outcome for o in outcomes)
        total += counts
        print(c.__name__, dict(counts))
        for o in outcomes:
            if o.outcome not in GOOD:
                print("   ", o)
    print("total", dict(total))
