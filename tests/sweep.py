"""The bad-value sweep (issue 16): one catalogue of bad values, tried on every parameter of every
public callable, and a judge of what each call did.

A :class:`Case` names a public callable (its dotted name, as :func:`public_callables` lists it), how
to reach it (``target``: a function returning the callable, so a method gets a fresh object each
call) and a valid call (``params``: each parameter's valid value and its :class:`Kind`). The sweep
calls the target once per parameter × catalogue value, the other parameters left valid, and
classifies the outcome:

* ``"clear error"`` — a ``ValueError``/``TypeError`` whose message names the parameter (or one of its
  ``aliases``, e.g. the field of a row) and says what is allowed;
* ``"finite result"`` — the call returned, the value is one the parameter's kind allows, and the
  result holds no NaN (nor inf, unless the case documents why inf is a valid answer);

and anything else is a failure: ``"unclear error"`` (a ValueError/TypeError that names neither),
``"crash"`` (any other exception: IndexError, ZeroDivisionError, KeyError, AttributeError, a NumPy
warning turned error by ``filterwarnings = error``, …), ``"non-finite result"``, ``"accepted
nonsense"`` (a value the parameter's kind does not allow came back as a result) and ``"hang"``
(over :data:`TIME_LIMIT` seconds).

Which catalogue values a parameter may accept is its :class:`Kind`'s business: ``positive`` allows
1e308 and 1e-300 (the result must then be finite or a clear error), ``real`` allows 0 and negatives,
``choice`` allows none of them, and so on; ``optional`` adds None, ``array`` adds lists and arrays of
another shape. A kind may carry the domain's own bad values (tables with a gap, times going
backwards, a leverage above the table's maximum), which are never allowed.
"""

from __future__ import annotations

import dataclasses
import datetime
import importlib
import inspect
import math
import pkgutil
import re
import signal
import warnings
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

import tiermargin

TIME_LIMIT = 1.0  # seconds a single call may take

#: The shared catalogue: a name for each bad value (the report and the kinds speak of names).
CATALOGUE: dict[str, Any] = {
    "nan": math.nan,
    "inf": math.inf,
    "-inf": -math.inf,
    "-0.0": -0.0,
    "0": 0,
    "negative": -1.5,
    "1e308": 1e308,
    "1e-300": 1e-300,
    "bool": True,
    "str": "2",
    "None": None,
    "complex": 1 + 2j,
    "list": [1.0, 2.0],
    "dict": {"a": 1},
    "object array": np.array([1.0, "x"], dtype=object),
    "empty array": np.array([]),
    "shape": np.ones((2, 3)),
    "datetime": datetime.datetime(2026, 12, 7),
}

OUTCOMES_OK = ("clear error", "finite result")
OUTCOMES_BAD = ("unclear error", "crash", "non-finite result", "accepted nonsense", "hang")

# What an error message must say besides the parameter's name: what is allowed (or what was wrong).
_ALLOWED_WORDS = re.compile(
    r"must|allowed|expected|one of|only|cannot|can't|needs?|not a|not an|is not|are not|invalid|"
    r"unknown|at least|at most|above|below|beyond|between|greater|less|exceed|no |empty|got|requires?",
    re.I)


@dataclasses.dataclass(frozen=True)
class Kind:
    """What a parameter is: which catalogue values it may legitimately accept (``allows``) and
    the domain's own bad values it must refuse (``bad``, name → value)."""

    name: str
    allows: frozenset[str] = frozenset()
    bad: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def with_bad(self, **bad: Any) -> Kind:
        """This kind with more domain bad values (never allowed)."""
        return dataclasses.replace(self, bad={**self.bad, **bad})

    def allowing(self, *names: str) -> Kind:
        """This kind with more catalogue values allowed."""
        return dataclasses.replace(self, allows=self.allows | frozenset(names))


_BIG_SMALL = frozenset({"1e308", "1e-300"})
POSITIVE = Kind("positive", _BIG_SMALL)
NONNEGATIVE = Kind("nonnegative", _BIG_SMALL | {"0", "-0.0"})
REAL = Kind("real", NONNEGATIVE.allows | {"negative"})
RATE = Kind("rate", frozenset({"0", "-0.0", "1e-300"}))  # in [0, 1)
COUNT = Kind("count")  # an integer >= 1 (or >= 0 with allowing("0"))
CHOICE = Kind("choice")  # a string from a fixed set
TEXT = Kind("text")  # free text (an id, a label, a JSON or CSV document)
SIDE = Kind("side")
FLAG = Kind("flag", frozenset({"bool"}))
OBJECT = Kind("object")  # a library object (a table, a rulebook, a position, ...)
CALLABLE = Kind("callable")
SEQUENCE = Kind("sequence")  # a list of records (rows, tiers, positions, ...)


@dataclasses.dataclass(frozen=True)
class Param:
    """A parameter: its valid value, kind, and how the sweep may vary it.

    ``optional``: None is a valid value. ``array``: lists and arrays of other shapes are valid
    (vectorized parameters). ``aliases``: other words a clear message may use for it.
    ``catalogue=False`` skips the shared catalogue (only the kind's domain bad values are tried):
    for a parameter whose every catalogue value another case already sweeps.
    """

    valid: Any
    kind: Kind
    optional: bool = False
    array: bool = False
    aliases: tuple[str, ...] = ()
    catalogue: bool = True

    def allows(self, value_name: str) -> bool:
        """Whether the catalogue value ``value_name`` is a legitimate input here."""
        if value_name == "None":
            return self.optional
        if value_name in ("list", "shape"):
            return self.array
        return value_name in self.kind.allows


@dataclasses.dataclass(frozen=True)
class Case:
    """One public callable under the sweep.

    ``target()`` returns the callable (a bound method of a fresh object, a constructor, a function);
    ``params`` its valid keyword arguments; ``positional``: names passed positionally, in order
    (for callables that take them so). ``inf_ok``: why inf is a documented result here, or "".
    ``check``: an extra test of a finite result (returning a reason when it is wrong, else None),
    e.g. that a refused call did not silently mutate state.
    """

    name: str
    target: Callable[[], Callable[..., Any]]
    params: Mapping[str, Param]
    positional: tuple[str, ...] = ()
    inf_ok: str = ""
    check: Callable[[Any], str | None] | None = None

    def call(self, overrides: Mapping[str, Any]) -> Any:
        kw = {k: p.valid for k, p in self.params.items()}
        kw.update(overrides)
        args = [kw.pop(k) for k in self.positional]
        return self.target()(*args, **kw)


@dataclasses.dataclass(frozen=True)
class Outcome:
    case: str
    param: str
    value: str
    outcome: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.case}({self.param}={self.value}): {self.outcome}: {self.detail}"


class _Hang(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise _Hang


def _non_finite(x: Any, inf_ok: bool, depth: int = 0) -> str | None:
    """Where ``x`` (a result) holds NaN (or inf when not ``inf_ok``), else None."""
    if depth > 4 or x is None or isinstance(x, (str, bytes, bool, np.bool_)):
        return None
    if isinstance(x, (float, int, np.floating, np.integer)):
        v = float(x)
        if math.isnan(v) or (math.isinf(v) and not inf_ok):
            return repr(x)
        return None
    if isinstance(x, np.ndarray):
        if x.dtype.kind in "fc":
            bad = np.isnan(x) if inf_ok else ~np.isfinite(x)
            return f"array with {int(bad.sum())} non-finite values" if bad.any() else None
        if x.dtype.kind == "O":
            return next((r for v in x.flat if (r := _non_finite(v, inf_ok, depth + 1))), None)
        return None
    if isinstance(x, Mapping):
        return next((f"[{k!r}] {r}" for k, v in x.items() if (r := _non_finite(v, inf_ok, depth + 1))), None)
    if isinstance(x, (list, tuple)):
        return next((f"[{i}] {r}" for i, v in enumerate(x[:1000]) if (r := _non_finite(v, inf_ok, depth + 1))),
                    None)
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        for f in dataclasses.fields(x):
            r = _non_finite(getattr(x, f.name, None), inf_ok, depth + 1)
            if r:
                return f".{f.name} {r}"
    return None


def _shown(result: Any) -> str:
    """A short repr of a result (a result accepted from nonsense may not even repr)."""
    try:
        return repr(result)[:200]
    except Exception as e:  # noqa: BLE001 -- the repr of nonsense is itself a finding, not a crash of the sweep
        return f"<repr raised {type(e).__name__}: {e}>"


def judge(case: Case, param: str, value_name: str, value: Any, allowed: bool) -> Outcome:
    """Call ``case`` with ``param`` set to ``value`` (``param=""``: the valid call) and classify
    what happened."""
    names = (param, *case.params[param].aliases) if param else ()
    overrides = {param: value} if param else {}
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, TIME_LIMIT)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with np.errstate(all="raise", under="ignore"):  # underflow to 0 is exact enough (NumPy ignores it too)
                result = case.call(overrides)
    except _Hang:
        return Outcome(case.name, param, value_name, "hang", f"over {TIME_LIMIT} s")
    except (ValueError, TypeError) as e:
        msg = str(e)
        if names and any(n in msg for n in names) and _ALLOWED_WORDS.search(msg):
            return Outcome(case.name, param, value_name, "clear error", msg[:200])
        return Outcome(case.name, param, value_name, "unclear error", f"{type(e).__name__}: {msg[:200]}")
    except Exception as e:  # noqa: BLE001 -- every other exception is the defect the sweep looks for
        return Outcome(case.name, param, value_name, "crash", f"{type(e).__name__}: {str(e)[:200]}")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    if not allowed:
        return Outcome(case.name, param, value_name, "accepted nonsense", _shown(result))
    where = _non_finite(result, bool(case.inf_ok))
    if where:
        return Outcome(case.name, param, value_name, "non-finite result", where)
    extra = case.check(result) if case.check else None
    if extra:
        return Outcome(case.name, param, value_name, "accepted nonsense", extra)
    return Outcome(case.name, param, value_name, "finite result")


def sweep(case: Case) -> list[Outcome]:
    """Every catalogue value and every domain bad value on every parameter of ``case``."""
    out = [judge(case, "", "valid", None, True)]
    for name, p in case.params.items():
        tries = [(k, v, p.allows(k)) for k, v in CATALOGUE.items()] if p.catalogue else []
        tries += [(k, v, False) for k, v in p.kind.bad.items()]
        out += [judge(case, name, k, v, ok) for k, v, ok in tries]
    return out


# --- which callables are public ---------------------------------------------------------------

#: Modules the sweep covers (every public function, class and method defined in them), and the
#: layers it leaves to other tests, with the reason.
NOT_SWEPT_MODULES: dict[str, str] = {
    "tiermargin.plots": "draws results the library computed and validated; no user numbers enter",
    "tiermargin.doctor": "checks the environment (installed packages, kernel); takes no domain input",
    "tiermargin.rules_table": "generates docs/venue_rules.md from the presets; takes no input",
    "tiermargin.notebooks": "re-executes the course notebooks (a maintainer tool); its command line's paths and "
                            "timeout are checked by test_notebook_hygiene",
    "tiermargin.exercises": "exercise machinery: every checker is swept by test_sweep_exercises",
    "tiermargin.widgets": "explorers: every control is swept through set() by test_sweep_widgets",
    "tiermargin.data": "bundled data files",
}


def _defined_here(obj: Any, module: str) -> bool:
    return getattr(obj, "__module__", None) == module


def public_callables() -> list[str]:
    """Dotted names of every public callable with at least one parameter in the swept modules:
    functions, classes (their constructors) and their methods, classmethods and staticmethods."""
    names: list[str] = []
    for info in pkgutil.walk_packages(tiermargin.__path__, "tiermargin."):
        mod_name = info.name
        if any(mod_name == m or mod_name.startswith(m + ".") for m in NOT_SWEPT_MODULES):
            continue
        if mod_name.rsplit(".", 1)[-1].startswith("_"):
            continue
        mod = importlib.import_module(mod_name)
        for attr, obj in vars(mod).items():
            if attr.startswith("_") or not _defined_here(obj, mod_name):
                continue
            if inspect.isfunction(obj):
                if _has_params(obj):
                    names.append(f"{mod_name}.{attr}")
            elif inspect.isclass(obj):
                if _has_params(obj.__init__, method=True) and obj.__init__ is not object.__init__:
                    names.append(f"{mod_name}.{attr}")
                for m, f in vars(obj).items():
                    if m.startswith("_"):
                        continue
                    fn = f.__func__ if isinstance(f, (classmethod, staticmethod)) else f
                    if inspect.isfunction(fn) and _has_params(fn, method=not isinstance(f, staticmethod)):
                        names.append(f"{mod_name}.{attr}.{m}")
    return sorted(names)


def _has_params(fn: Any, method: bool = False) -> bool:
    try:
        ps = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return False
    if method and ps:
        ps = ps[1:]
    return bool(ps)


def report(outcomes: list[Outcome]) -> Counter[str]:
    """Counts per outcome."""
    return Counter(o.outcome for o in outcomes)
