"""The checker framework: exercises as data, per-student numbers, hidden cases.

An :class:`Exercise` is data: how to draw a student's numbers, the expected answer (always computed
by the library's core modules, never re-derived here), the shape of the answer and a hint. There is
one checking mechanism for all of them:

* :class:`Value` — one number or flag (``ex.check(1, bankruptcy)``);
* :class:`Record` — several named values (``ex.check(3, legacy=..., coinw=...)``);
* :class:`Function` — a function the student writes, called on the student's numbers *and* on
  hidden cases (other sides, sizes, tables...), so a function right on one case only is caught.

What each value is — its *kind* — says how it is read and compared: :class:`Number` (with a unit
and tolerances), :class:`Flag`, :class:`NumberList` (a list of numbers, item by item) or
:class:`TierRows` (a tier table's rows, or a :class:`~tiermargin.TierTable`).

Every check returns a :class:`~tiermargin.exercises.feedback.Feedback` and never raises on a wrong
answer: ``None`` or ``...`` means not attempted, a wrong type (text, a list, a function that
raises or returns junk) is "wrong" with a hint naming what was expected.

Numbers differ per student: :class:`ExerciseSet` draws them with :class:`Draw`, which hashes
(sha256) the lesson, the exercise, the student id (or seed) and the name of the number, so the
same id gives the same numbers on any machine and any Python or numpy version.
"""

from __future__ import annotations

import functools
import hashlib
import math
import numbers
import os
import re
import reprlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, TypeVar, Union

import numpy as np

from .. import __version__
from ..derivation import Derivation
from ..tiers import TierTable, load_table
from .feedback import Feedback
from .show import Derivations, Notice, Shown, switched_off

T = TypeVar("T")
Numbers = Mapping[str, Any]

_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 40
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = 3
_SHORT.maxlevel = 2


def missing(answer: Any) -> bool:
    """True for an answer that was not given: ``None`` or ``...`` (the student template's placeholder)."""
    return answer is None or answer is Ellipsis


def a_type(x: Any) -> str:
    """The type of ``x`` with its article, for messages: ``a str``, ``an int``, ``a numpy array of shape (2, 3)``."""
    if isinstance(x, np.ndarray):
        return f"a numpy array of shape {x.shape}"
    name = type(x).__name__
    article = "an" if name[0].lower() in "aeiou" else "a"
    return f"{article} {name}"


def describe(x: Any) -> str:
    """Short one-line description of what a student gave, for messages: ``a str ('19700')``.

    >>> describe(np.ones((2, 2)))
    'a numpy array of shape (2, 2) (array([[1., 1.], [1., 1.]]))'
    """
    if callable(x) and not isinstance(x, type):
        return f"a function ({getattr(x, '__name__', type(x).__name__)})"
    return f"{a_type(x)} ({one_line(_SHORT.repr(x))})"


def one_line(text: str, limit: int = 160) -> str:
    """``text`` on one line (whitespace collapsed), cut to ``limit`` characters."""
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def fmt(v: Any) -> str:
    """A number as a student would type it (``48000``, ``0.5``); strings quoted."""
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


def see(notebook: str, *sections: str) -> str:
    """The end of a hint pointing at lesson sections: `` (see “A” and “B” in lessons/NN_x.ipynb)``."""
    names = " and ".join(f"“{s}”" for s in sections)
    return f" (see {names} in {notebook})"


@functools.lru_cache(maxsize=None)
def bundled_table(table_id: str) -> TierTable:
    """:func:`~tiermargin.load_table`, loaded once per id (exercises draw numbers from tables often)."""
    return load_table(table_id)


_SHOWN_IN_FULL = 1e15  # numbers from here on are shown in a short form (no answer is this large)
_SHOWN_ITEMS = 12  # a longer list of numbers is shown cut (no answer is this long)


class WrongType(Exception):
    """Raised by a kind's ``coerce`` when an answer is not of the expected type."""


# ---------------------------------------------------------------------- kinds of value
@dataclass(frozen=True)
class Number:
    """A real number compared with a tolerance: ``|got − expected| <= max(abs_tol, rel_tol·|expected|)``.

    Parameters
    ----------
    unit : str
        Shown after the number and in hints ("a number in USDT").
    abs_tol, rel_tol : float
        Tolerances (``math.isclose``); ``inf`` equals only ``inf`` of the same sign.
    spec : str
        Format spec used to show a value.
    ratio : bool
        A ratio: an answer 100× the expected one gets the hint "give a fraction, not a percentage".
    """

    unit: str = ""
    abs_tol: float = 0.0
    rel_tol: float = 0.0
    spec: str = ",.2f"
    ratio: bool = False

    @property
    def what(self) -> str:
        """What the answer should be, in words."""
        if self.ratio:
            return "a number (a ratio as a fraction: 0.05 for 5%)"
        return f"a number in {self.unit}" if self.unit else "a number"

    def coerce(self, x: Any) -> float:
        """``x`` as a float; :class:`WrongType` unless it is a real number (not a bool) or a 0-d array of one."""
        if isinstance(x, np.ndarray) and x.ndim == 0 and x.dtype.kind in "iuf":
            return float(x)
        if isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_)):
            try:
                return float(x)
            except OverflowError:  # a huge int or Fraction: a number, but none a float can hold
                raise WrongType(f"{describe(x)}, beyond the largest float (about 1.8e308)") from None
        raise WrongType(describe(x))

    def matches(self, expected: float, got: float) -> bool:
        """True when ``got`` equals ``expected`` within the tolerances."""
        return math.isclose(got, expected, rel_tol=self.rel_tol, abs_tol=self.abs_tol)

    def text(self, v: float) -> str:
        """``v`` formatted with ``spec``; from 1e15 on (or NaN) in a short form, never in hundreds of digits.

        >>> MONEY.text(1234.5), MONEY.text(1e308)
        ('1,234.50', '1e+308')
        """
        return f"{v:{self.spec if abs(v) < _SHOWN_IN_FULL else '.6g'}}"

    def show(self, v: float) -> str:
        """``v`` formatted with its unit."""
        return f"{self.text(v)} {self.unit}".rstrip()

    def typed(self, v: float) -> str:
        """``v`` as Python text that this kind accepts typed back (answer keys): the shown form
        without thousands separators when it is within the tolerances, else the fewest significant
        digits that are (17 always are).

        >>> RATIO.typed(0.0123456789), MONEY.typed(1234.5), SIZE.typed(math.inf)
        ('0.01234568', '1234.50', "float('inf')")
        """
        if math.isinf(v):
            return "float('inf')" if v > 0 else "-float('inf')"
        candidates = (self.text(v).replace(",", ""), *(f"{v:.{digits}g}" for digits in range(1, 18)))
        return next(text for text in candidates if self.matches(v, float(text)))

    def near_miss(self, expected: float, got: float) -> str | None:
        """A hint for a recognisable slip (a percentage for a ratio), else None."""
        if self.ratio and self.matches(100 * expected, got):
            return "that looks like a percentage: give the ratio as a fraction (0.05, not 5)"
        return None


@dataclass(frozen=True)
class Flag:
    """True or False."""

    what: ClassVar[str] = "True or False"
    unit: ClassVar[str] = ""

    def coerce(self, x: Any) -> bool:
        """``x`` as a bool; :class:`WrongType` unless it is a bool (Python or numpy)."""
        if isinstance(x, (bool, np.bool_)):
            return bool(x)
        raise WrongType(describe(x))

    def matches(self, expected: bool, got: bool) -> bool:
        """True when equal."""
        return bool(expected) == got

    def show(self, v: bool) -> str:
        """``True`` / ``False``."""
        return str(bool(v))

    typed = show  # what a key prints is what is typed back

    def near_miss(self, expected: bool, got: bool) -> str | None:
        """No recognisable slips for a flag."""
        return None


def _sequence(x: Any) -> Sequence[Any]:
    """``x`` as a sequence of items if it is a list, a tuple or a 1-d array; else :class:`WrongType`."""
    if isinstance(x, np.ndarray) and x.ndim == 1:
        return list(x)
    if isinstance(x, (list, tuple)):
        return x
    raise WrongType(describe(x))


@dataclass(frozen=True)
class NumberList:
    """A list of real numbers (a list, a tuple or a 1-d array), compared item by item.

    Parameters
    ----------
    item : Number
        The kind of each item (unit, tolerances, format).
    """

    item: Number = Number()

    @property
    def what(self) -> str:
        """What the answer should be, in words."""
        unit = f" in {self.item.unit}" if self.item.unit else ""
        return f"a list of numbers{unit}"

    @property
    def unit(self) -> str:
        """The unit of the items."""
        return self.item.unit

    def coerce(self, x: Any) -> tuple[float, ...]:
        """``x`` as a tuple of floats; :class:`WrongType` naming the first item that is not a number."""
        items = _sequence(x)
        out = []
        for i, v in enumerate(items):
            try:
                out.append(self.item.coerce(v))
            except WrongType as e:
                raise WrongType(f"{a_type(x)} whose item at index {i} is {e}") from None
        return tuple(out)

    def matches(self, expected: Sequence[float], got: Sequence[float]) -> bool:
        """True when both have the same length and every item matches."""
        return len(expected) == len(got) and all(self.item.matches(float(e), g) for e, g in zip(expected, got))

    def show(self, v: Sequence[float]) -> str:
        """``[0, 50, 1,300] unit``; a list of more than 12 numbers as its first 10 and how many there are."""
        head = v if len(v) <= _SHOWN_ITEMS else v[: _SHOWN_ITEMS - 2]
        more = "" if head is v else f", … ({len(v)} numbers)"
        return f"[{', '.join(self.item.text(float(x)) for x in head)}{more}] {self.item.unit}".rstrip()

    def typed(self, v: Sequence[float]) -> str:
        """Every item, each as :meth:`Number.typed`: ``[0, 50, 1300]`` (answer keys)."""
        return f"[{', '.join(self.item.typed(float(x)) for x in v)}]"

    def near_miss(self, expected: Sequence[float], got: Sequence[float]) -> str | None:
        """A hint when the lengths differ."""
        if len(expected) != len(got):
            return f"the answer is a list of {len(expected)} numbers; you gave {len(got)}"
        return None


Row = tuple[float, float, float, Union[float, None]]


@dataclass(frozen=True)
class TierRows:
    """A tier table: a :class:`~tiermargin.TierTable`, or its rows ``[floor, cap, mmr, max_leverage]``.

    A cap of ``None`` or ``inf`` is an unbounded last tier; a max leverage of ``None`` means not
    published. Floors, caps and rates are compared to ``rel_tol`` (and ``abs_tol`` near 0).
    """

    rel_tol: float = 1e-9
    abs_tol: float = 1e-12
    what: ClassVar[str] = (
        "a TierTable or a list of rows [floor, cap, mmr, max_leverage] (cap None for an unbounded "
        "last tier, max_leverage None where not published)"
    )
    unit: ClassVar[str] = ""

    def coerce(self, x: Any) -> tuple[Row, ...]:
        """``x`` as a tuple of rows ``(floor, cap, mmr, max_leverage)`` (cap ``inf`` when unbounded);
        :class:`WrongType` naming the first row that is not four numbers."""
        if isinstance(x, TierTable):
            x = x.rows()
        rows = []
        for k, r in enumerate(_sequence(x)):
            try:
                cells = _sequence(r)
                if len(cells) != 4:
                    raise WrongType(describe(r))
                floor, cap, mmr, lev = cells
                rows.append((
                    NUMBER.coerce(floor),
                    math.inf if cap is None else NUMBER.coerce(cap),
                    NUMBER.coerce(mmr),
                    None if lev is None else NUMBER.coerce(lev),
                ))
            except WrongType:
                raise WrongType(f"{a_type(x)} whose row at index {k} (tier {k + 1}) is {describe(r)}") from None
        return tuple(rows)

    def _close(self, a: float | None, b: float | None) -> bool:
        if a is None or b is None:
            return a is b
        return math.isclose(a, b, rel_tol=self.rel_tol, abs_tol=self.abs_tol)

    def matches(self, expected: Any, got: Any) -> bool:
        """True when both are the same rows (either may be a TierTable or rows)."""
        try:
            e, g = self.coerce(expected), self.coerce(got)
        except WrongType:
            return False
        return len(e) == len(g) and all(self._close(a, b) for re_, rg in zip(e, g) for a, b in zip(re_, rg))

    def show(self, v: Any) -> str:
        """``2 tiers: [0, 50,000, 0.004, 125], [50,000, ∞, 0.005, 100]``."""
        rows = self.coerce(v)

        def cell(x: float | None) -> str:
            return "None" if x is None else "∞" if math.isinf(x) else f"{x:,.10g}"

        shown = ", ".join(f"[{', '.join(cell(c) for c in r)}]" for r in rows)
        return f"{len(rows)} tier{'s' if len(rows) != 1 else ''}: {shown}"

    def typed(self, v: Any) -> str:
        """The rows as a Python list typed back (answer keys), an unbounded cap as ``None``:
        ``[[0, 50000, 0.004, 125], [50000, None, 0.005, 100]]``."""
        number = Number(rel_tol=self.rel_tol, abs_tol=self.abs_tol)

        def cell(x: float | None) -> str:
            return "None" if x is None or math.isinf(x) else number.typed(x)

        rows = ("[" + ", ".join(cell(c) for c in r) + "]" for r in self.coerce(v))
        return f"[{', '.join(rows)}]"

    def near_miss(self, expected: Any, got: Any) -> str | None:
        """A hint when the number of rows differs."""
        n_e, n_g = len(self.coerce(expected)), len(self.coerce(got))
        if n_e != n_g:
            return f"one row per tier: the table has {n_e} tiers, you gave {n_g} rows"
        return None


NUMBER = Number()
Kind = Union[Number, Flag, NumberList, TierRows]

MONEY = Number("USDT", abs_tol=0.01)  # to the cent
RATIO = Number(rel_tol=1e-6, abs_tol=1e-12, spec=".6g", ratio=True)
SIZE = Number(rel_tol=1e-9, spec=",.10g")  # a tier cap: notional or contracts; may be inf


# ---------------------------------------------------------------------- exercises
@dataclass(frozen=True)
class Mistake:
    """A common wrong answer, recognised to give a pointed hint.

    Parameters
    ----------
    answer : callable
        The student's numbers → the value that mistake produces (computed with the library); for a
        :class:`Record`, a dict of the fields it gets wrong.
    hint : str
        What to say when the answer equals it.
    line : str or callable, optional
        The key of the line of the exercise's derivation where this mistake happens (or a function
        of the student's numbers giving it, when it depends on them: ``"root_2"``). The hint then
        ends with ``(see line 5 of ex.show(7))``, the number looked up with
        :meth:`Derivation.line_number <tiermargin.derivation.Derivation.line_number>` on the
        student's own derivation, so it cannot drift. For a :class:`Record`, the line is in the
        derivation of each field the mistake gets wrong.
    """

    answer: Callable[[Numbers], Any]
    hint: str
    line: str | Callable[[Numbers], str] | None = None


@dataclass(frozen=True)
class Exercise:
    """One exercise, as data.

    Parameters
    ----------
    title : str
        Short title ("Bankruptcy price").
    numbers : callable
        :class:`Draw` → the student's numbers (a dict of plain values: str, int, float).
    expected : callable
        Numbers → the expected answer, computed with the library. For a :class:`Record`, a dict
        of the field values; for a :class:`Function`, the return value for one case's arguments.
    answer : Value, Record or Function
        The shape of the answer.
    hint : str
        Shown with a wrong value; says which formula applies and where the lesson explains it.
    mistakes : tuple of Mistake
        Recognised wrong answers (single values and functions' results on the student's numbers;
        for a :class:`Record`, a dict of the fields each mistake gets wrong).
    derivation : callable, optional
        Numbers → how the expected answer is derived, computed with the library's ``explain``
        methods (:class:`~tiermargin.derivation.Derivation`): what :meth:`ExerciseSet.show`
        shows. For a :class:`Record`, a dict field → derivation (fields left out have none yet);
        for a :class:`Function`, the derivation on the student's numbers. None: no derivation yet.
        Each derivation's result is the expected answer (for a flag, the health whose sign decides
        it); the tests check it for many students.
    """

    title: str
    numbers: Callable[[Draw], dict[str, Any]]
    expected: Callable[[Numbers], Any]
    answer: Value | Record | Function
    hint: str
    mistakes: tuple[Mistake, ...] = ()
    derivation: Callable[[Numbers], Derivation | Mapping[str, Derivation]] | None = None

    def derivation_of(self, numbers: Numbers, part: str | None = None) -> Derivation | None:
        """The derivation on ``numbers`` (of the field ``part`` for a record), None if there is none."""
        if self.derivation is None:
            return None
        d = self.derivation(numbers)
        if isinstance(d, Mapping):
            return None if part is None else d.get(part)
        return d

    def line_pointer(self, m: Mistake, numbers: Numbers, n: int, field: str | None = None) -> str:
        """`` (see line 5 of ex.show(7))`` for a mistake with a line, on the student's derivation; ""
        when the mistake names no line or the exercise (or that field) has no derivation."""
        if m.line is None:
            return ""
        try:
            d = self.derivation_of(numbers, field)
            if d is None:
                return ""
            key = m.line(numbers) if callable(m.line) else m.line
            k = d.line_number(key)
        except Exception:  # a hint never crashes the checker (the tests check every pointer resolves)
            return ""
        call = f"ex.show({n}, {field!r})" if field is not None and isinstance(self.answer, Record) else f"ex.show({n})"
        return f" (see line {k} of {call})"

    def mismatch_hint(self, kind: Kind, numbers: Numbers, expected: Any, got: Any, field: str | None = None,
                      n: int | None = None) -> str:
        """The hint for a wrong value: a recognised mistake's, a near miss's, or the exercise's.

        For a field of a :class:`Record`, ``field`` is its name and a mistake's answer is a dict of
        the fields that mistake gets wrong (a mistake without that field does not apply). With the
        exercise number ``n`` (None when derivations are switched off), a recognised mistake's hint
        points at its line of ``ex.show(n)``.
        """
        for m in self.mistakes:
            wrong = m.answer(numbers)
            if field is not None:
                if not isinstance(wrong, Mapping) or field not in wrong:
                    continue
                wrong = wrong[field]
            if kind.matches(wrong, got):
                return m.hint + ("" if n is None else self.line_pointer(m, numbers, n, field))
        return kind.near_miss(expected, got) or self.hint


@dataclass(frozen=True)
class Value:
    """The answer is one value (``ex.check(n, answer)``)."""

    kind: Kind
    names: ClassVar[tuple[str, ...]] = ("answer",)

    def judge(self, n: int, ex: Exercise, numbers: Numbers, given: Mapping[str, Any], show: bool = False) -> Feedback:
        """Feedback on ``given["answer"]`` (``show``: a recognised mistake's hint names its derivation line)."""
        got = given["answer"]
        if missing(got):
            return Feedback(n, "not attempted", "replace ... with your answer")
        try:
            value = self.kind.coerce(got)
        except WrongType as e:
            return Feedback(n, "wrong", f"got {e}", f"the answer is {self.kind.what}")
        expected = ex.expected(numbers)
        if self.kind.matches(expected, value):
            return Feedback(n, "correct", self.kind.show(value))
        hint = ex.mismatch_hint(self.kind, numbers, expected, value, n=n if show else None)
        return Feedback(n, "wrong", f"{self.kind.show(value)} is not the answer", hint)

    def parts(self, expected: Any) -> tuple[tuple[str, Kind, Any], ...]:
        """The answer as (part name, kind, expected value): one part, named ``""`` (answer keys)."""
        return (("", self.kind, expected),)

    def show(self, expected: Any) -> str:
        """The expected answer as it is typed back, with its unit (answer keys)."""
        return typed(self.kind, expected)


@dataclass(frozen=True)
class Record:
    """The answer is several named values (``ex.check(n, a=..., b=...)``); each is checked."""

    fields: Mapping[str, Kind]

    @property
    def names(self) -> tuple[str, ...]:
        """The field names, in order."""
        return tuple(self.fields)

    def judge(self, n: int, ex: Exercise, numbers: Numbers, given: Mapping[str, Any], show: bool = False) -> Feedback:
        """Feedback on every field: wrong if any is wrong, not attempted while any is missing."""
        expected = ex.expected(numbers)
        right: list[str] = []
        todo: list[str] = []
        wrong: list[tuple[str, str]] = []  # (message, hint)
        for name, kind in self.fields.items():
            got = given[name]
            if missing(got):
                todo.append(name)
                continue
            try:
                value = kind.coerce(got)
            except WrongType as e:
                wrong.append((f"{name} is {e}", f"{name} is {kind.what}"))
                continue
            if kind.matches(expected[name], value):
                right.append(f"{name} {kind.show(value)}")
            else:
                hint = ex.mismatch_hint(kind, numbers, expected[name], value, field=name, n=n if show else None)
                wrong.append((f"{name} = {kind.show(value)} is not right", hint))
        if wrong:
            return Feedback(n, "wrong", "; ".join(m for m, _ in wrong), wrong[0][1])
        if not right:
            return Feedback(n, "not attempted", f"replace ... with your answers ({', '.join(self.names)})")
        if todo:
            done = ", ".join(name for name in self.names if name not in todo)
            return Feedback(n, "not attempted", f"{done} right so far; still to do: {', '.join(todo)}")
        return Feedback(n, "correct", ", ".join(right))

    def parts(self, expected: Mapping[str, Any]) -> tuple[tuple[str, Kind, Any], ...]:
        """The answer as (field name, kind, expected value), one per field (answer keys)."""
        return tuple((name, kind, expected[name]) for name, kind in self.fields.items())

    def show(self, expected: Mapping[str, Any]) -> str:
        """The expected answers as they are typed back, with their units (answer keys)."""
        return ", ".join(f"{name} {typed(kind, expected[name])}" for name, kind in self.fields.items())


@dataclass(frozen=True)
class Function:
    """The answer is a function, checked on the student's numbers and on hidden cases.

    Parameters
    ----------
    name : str
        The function's name in the task (``liquidation_price``).
    parameters : tuple of str
        Its parameters, in order; the student's numbers and each hidden case have exactly these keys.
    returns : Number, Flag, NumberList or TierRows
        What it returns.
    hidden : tuple of dict
        Hidden cases (plain values, like the student's numbers).
    convert : mapping
        Parameter name → function turning the plain value into the argument passed (e.g. a table
        id into a :class:`~tiermargin.TierTable`).
    labels : tuple of str
        Optional, one per hidden case: what the case is ("an unbounded last tier"), named when it
        fails — useful where its arguments are too long to show (they are then shortened).
    """

    name: str
    parameters: tuple[str, ...]
    returns: Kind
    hidden: tuple[Mapping[str, Any], ...]
    convert: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)
    labels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.labels and len(self.labels) != len(self.hidden):
            raise ValueError(f"labels must name every hidden case ({len(self.hidden)}), got {len(self.labels)}")

    @property
    def names(self) -> tuple[str, ...]:
        """One answer: the function, under its name."""
        return (self.name,)

    @property
    def signature(self) -> str:
        """``name(a, b, c)``."""
        return f"{self.name}({', '.join(self.parameters)})"

    def call_text(self, case: Numbers) -> str:
        """How a case is shown in messages: ``name(a=1, b='x')``; a long argument (a table, a
        response) is shortened with ``...``."""
        return f"{self.name}({', '.join(f'{p}={_argument(case[p])}' for p in self.parameters)})"

    def judge(self, n: int, ex: Exercise, numbers: Numbers, given: Mapping[str, Any], show: bool = False) -> Feedback:
        """Call the student's function on the student's numbers, then on every hidden case."""
        f = given[self.name]
        if missing(f):
            return Feedback(n, "not attempted", f"replace ... with the function {self.signature}")
        if not callable(f):
            return Feedback(n, "wrong", f"got {describe(f)}", f"pass the function itself: ex.check({n}, {self.name})")
        labels = self.labels or ("",) * len(self.hidden)
        for case, label in ((numbers, ""), *zip(self.hidden, labels)):
            visible = case is numbers
            call = self.call_text(case)
            where = "" if visible else f"a hidden case failed ({label}): " if label else "a hidden case failed: "
            try:
                got = f(*(self.convert.get(p, _same)(case[p]) for p in self.parameters))
            except Exception as e:  # the student's code: report it, never crash the checker
                # the call is at most a few shortened arguments: the error itself is never cut off
                error = one_line(f"{type(e).__name__}: {e}")
                return Feedback(n, "wrong", f"{where}{call} raised {error}", ex.hint)
            if missing(got):
                if visible:
                    return Feedback(n, "not attempted", f"{self.name} returns {got!r}: write its body in place of ...")
                return Feedback(n, "wrong", f"{where}{call} returned {got!r}", f"{self.name} must return {self.returns.what} in every case")
            try:
                value = self.returns.coerce(got)
            except WrongType as e:
                return Feedback(n, "wrong", f"{where}{call} returned {e}", f"{self.name} must return {self.returns.what}")
            expected = ex.expected(case)
            if not self.returns.matches(expected, value):
                if visible:
                    hint = ex.mismatch_hint(self.returns, numbers, expected, value, n=n if show else None)
                    return Feedback(n, "wrong", f"on your numbers, {call} returned {self.returns.show(value)}, which is not right", hint)
                return Feedback(
                    n, "wrong",
                    f"{where}{call} should be {self.returns.show(expected)}, got {self.returns.show(value)}",
                    ex.hint,
                )
        return Feedback(n, "correct", f"{self.name} is right on your numbers and on {len(self.hidden)} hidden cases")

    def parts(self, expected: Any) -> tuple[tuple[str, Kind, Any], ...]:
        """The return value on the student's numbers as (function name, kind, value) (answer keys)."""
        return ((self.name, self.returns, expected),)

    def show(self, expected: Any) -> str:
        """The expected return value on the student's numbers as it is typed back (answer keys)."""
        return f"{typed(self.returns, expected)} on these numbers, plus {len(self.hidden)} hidden cases"


def typed(kind: Kind, v: Any) -> str:
    """``v`` as an answer key prints it: the text that ``kind`` accepts typed back, then the unit.

    >>> typed(MONEY, 57236.184), typed(RATIO, 0.0123456789)
    ('57236.18 USDT', '0.01234568')
    """
    return f"{kind.typed(v)} {kind.unit}".rstrip()


def _same(x: T) -> T:
    return x


_LONG_ARGUMENT = 100  # characters


def _argument(v: Any) -> str:
    """An argument as shown in a call: :func:`fmt`, or, when longer than 100 characters, a short
    description (``<a tuple of 10 items>``) or its first 100 characters.

    >>> _argument((1, 2))
    '(1, 2)'
    >>> _argument(tuple(range(100)))
    '<a tuple of 100 items>'
    """
    text = fmt(v)
    if len(text) <= _LONG_ARGUMENT:
        return text
    if isinstance(v, (list, tuple, dict)):
        return f"<a {type(v).__name__} of {len(v)} items>"
    return text[: _LONG_ARGUMENT - 1] + "…"


# ---------------------------------------------------------------------- variants
class Draw:
    """Deterministic choices for one student and one exercise.

    Each choice hashes (sha256) the draw's key and the number's name, so adding a number to an
    exercise does not change the others, and the same key gives the same numbers everywhere.

    >>> d = Draw("lesson 02|exercise 1|id:demo")
    >>> d.choice("leverage", (5, 10, 20)) == Draw("lesson 02|exercise 1|id:demo").choice("leverage", (5, 10, 20))
    True
    """

    def __init__(self, key: str) -> None:
        self.key = key

    def choice(self, name: str, options: Sequence[T]) -> T:
        """One of ``options`` (a non-empty sequence), picked by the hash of the key and ``name``."""
        if len(options) == 0:
            raise ValueError(f"options for {name!r} must not be empty")
        digest = hashlib.sha256(f"{self.key}|{name}".encode()).digest()
        return options[int.from_bytes(digest[:8], "big") % len(options)]

    def until(self, what: str, make: Callable[[str], T], accept: Callable[[T], bool], tries: int = 100) -> T:
        """The first ``make(key)`` that ``accept`` takes, ``key`` being ``"try 0"``, ``"try 1"``, ...
        (name the draws inside ``make`` with it); for numbers that must make a clear exercise."""
        for attempt in range(tries):
            n = make(f"try {attempt}")
            if accept(n):
                return n
        raise AssertionError(f"no {what} found in {tries} tries")  # pragma: no cover - the draws always find one


class Task:
    """One student's numbers for one exercise: ``task.qty``, ``task.entry``...; shows as one line."""

    def __init__(self, exercise: int, student: str, numbers: Numbers) -> None:
        self.exercise = exercise
        self.student = student
        self.numbers = MappingProxyType(dict(numbers))

    def __getattr__(self, name: str) -> Any:
        numbers = vars(self).get("numbers", {})
        if name in numbers:
            return numbers[name]
        raise AttributeError(f"exercise {vars(self).get('exercise')} has no number {name!r}; it has {', '.join(numbers)}")

    @property
    def text(self) -> str:
        """The numbers as ``qty=1, entry=48000``."""
        return ", ".join(f"{k}={fmt(v)}" for k, v in self.numbers.items())

    def __repr__(self) -> str:
        return f"Exercise {self.exercise} for {self.student}: {self.text}"


HUB_USER = "JUPYTERHUB_USER"
"""The environment variable a JupyterHub sets to the user's name: the default student id."""

BINDER_ENV = ("BINDER_LAUNCH_HOST", "BINDER_REPO_URL")
"""Variables BinderHub sets in a session (its spawner's ``get_env``). Binder runs a JupyterHub of its
own whose user is a random name per launch, so there the hub user is no student id."""


def hub_user(environ: Mapping[str, str] | None = None) -> str:
    """The hub user's name (``JUPYTERHUB_USER``, stripped), or "" where there is none or it is a Binder
    session's random name (:data:`BINDER_ENV`).

    >>> hub_user({"JUPYTERHUB_USER": " alice "}), hub_user({"JUPYTERHUB_USER": "org-repo-ab12cd",
    ...                                                      "BINDER_LAUNCH_HOST": "https://mybinder.org/"})
    ('alice', '')
    """
    env = os.environ if environ is None else environ
    return "" if any(env.get(name) for name in BINDER_ENV) else env.get(HUB_USER, "").strip()

SECRET_ENV = "TIERMARGIN_INSTRUCTOR_SECRET"
"""The environment variable holding the instructor secret that answer keys need (instructors only)."""


def normalized_id(student_id: str) -> str:
    """A student id as the numbers follow it: case-folded, outer whitespace dropped, inner runs as one space.

    >>> normalized_id("  Alice  Smith "), normalized_id("ALICE smith")
    ('alice smith', 'alice smith')
    """
    return " ".join(student_id.split()).casefold()


def instructor_secret(secret: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The instructor secret: ``secret``, else the environment's :data:`SECRET_ENV` (default ``os.environ``).

    Raises
    ------
    TypeError
        If ``secret`` is not a string.
    PermissionError
        If there is none (a student's notebook): answer keys are for instructors.
    """
    if secret is not None and not isinstance(secret, str):
        raise TypeError(f"secret must be a string (the instructor secret), got {describe(secret)}")
    value = (os.environ if environ is None else environ).get(SECRET_ENV, "") if secret is None else secret
    if not value.strip():
        raise PermissionError("answer keys are for instructors and need the instructor secret, which this "
                              "environment does not have; check your answers with ex.check(n, ...)")
    return value


def _release(version: str) -> tuple[int, ...]:
    """The release numbers of a version (``"0.2.1rc1"`` → ``(0, 2, 1)``), ValueError naming ``written_for``."""
    m = re.match(r"\d+(\.\d+)*", version.strip()) if isinstance(version, str) else None
    if m is None:
        raise ValueError(f"written_for must be a tiermargin version such as {__version__!r}, got {version!r}")
    return tuple(int(p) for p in m.group().split("."))


class VersionMismatch(RuntimeError):
    """The notebook was written for a newer tiermargin than the one installed."""


def version_notice(written_for: str | None, installed: str = __version__) -> str | None:
    """What to tell a student whose notebook was written for ``written_for`` (None: not recorded).

    None when the versions' release numbers agree (or nothing was recorded); a notice when the
    notebook is older than the installed checker.

    Raises
    ------
    VersionMismatch
        If the notebook is newer than the installed checker (its cells may need what that lacks).
    ValueError
        If ``written_for`` is not a version.
    """
    if written_for is None or _release(written_for) == _release(installed):
        return None
    if _release(written_for) > _release(installed):
        raise VersionMismatch(
            f"this notebook was written for tiermargin {written_for.strip()}, but the installed checker is "
            f"tiermargin {installed}, an older one: update it (pip install -U tiermargin, or on a course hub "
            "ask your instructor to update the environment), then restart the kernel")
    return (f"This notebook was written for tiermargin {written_for.strip()}; the installed checker is "
            f"tiermargin {installed}. If a cell fails, pull the course notebooks again (your instructor's "
            "link) to get the ones for this version.")


class ExerciseSet:
    """A lesson's exercises with one student's numbers.

    Subclasses set ``lesson`` (e.g. ``"02"``) and ``exercises``.

    ``task(n)`` gives the student's numbers, ``check(n, ...)`` judges an answer (``require(n, ...)``
    too, for an autograder: it raises AssertionError unless correct), and ``show(n)``
    gives the derivation of exercise ``n`` on the student's own numbers (a
    :class:`~tiermargin.derivation.Derivation`: numbered lines with the numbers substituted, the
    rule and its source). For an exercise of several parts (``check(3, legacy=..., coinw=...)``),
    ``show(3)`` shows every part (a :class:`~tiermargin.exercises.show.Derivations`, one derivation
    per part, in the order of the answers; ``show(3)["coinw"]`` picks one) and ``show(3, "coinw")``
    the part ``coinw`` alone. A recognised mistake's hint names the line of that derivation where
    the mistake happens: "… (see line 5 of ex.show(7))". An exercise, or a part, without a
    derivation yet shows a :class:`~tiermargin.exercises.show.Notice` saying so (never an error).

    For graded work an instructor switches ``show`` off: ``show=False`` here, or the environment
    variable ``TIERMARGIN_SHOW=off`` (``0``, ``false``, ``no``) for every exercise set of the
    kernel — either is enough. ``show`` then returns a notice that derivations are switched off for
    this assignment, and the hints stop pointing at derivation lines (the checks are unchanged).

    Parameters
    ----------
    student_id : str, optional
        Any non-empty text (a name, an email, a course id), normalised (:func:`normalized_id`:
        ``" Alice "`` is ``"alice"``). By default the hub user's name (the environment variable
        ``JUPYTERHUB_USER``) where there is one (not on Binder, whose hub user is a random name per
        launch: :func:`hub_user`), else ``"demo"`` with a notice (in the set's and every task's
        display) that these are the demo numbers.
    seed : int, optional
        An integer instead of a student id (not both).
    show : bool
        False to switch derivations off (graded work); default True.
    written_for : str, optional
        The tiermargin version the notebook was written for (the exercise notebooks pass it). A
        newer one than installed raises :class:`VersionMismatch` saying how to update; an older one
        adds a notice to the display (see :func:`version_notice`).

    Attributes
    ----------
    student_id : str or None
        The normalised id the numbers follow (None with ``seed``).
    notices : tuple of str
        What the display warns about: no student id given, a notebook for another version.
    """

    lesson: ClassVar[str] = ""
    exercises: ClassVar[tuple[Exercise, ...]] = ()

    def __init__(self, student_id: str | None = None, *, seed: int | None = None, show: bool = True,
                 written_for: str | None = None) -> None:
        if not isinstance(show, (bool, np.bool_)):
            raise TypeError(f"show must be True or False, got {show!r}")
        self._show = bool(show)
        notices = [version_notice(written_for)]
        if student_id is not None and seed is not None:
            raise ValueError("give student_id or seed, not both")
        if seed is not None:
            if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
                raise TypeError(f"seed must be an integer, got {seed!r}")
            self.student_id = None
            self.student, key = f"seed {int(seed)}", f"seed:{int(seed)}"
        else:
            sid = hub_user() if student_id is None else student_id
            anonymous = student_id is None and not sid  # no id given, no hub user (or Binder's)
            if anonymous:
                sid = "demo"
                notices.insert(0, f"No student id: these are the demo numbers, the same for everyone. Give "
                                  f"yours: lesson{self.lesson}.Exercises(student_id=\"your id\") (on the "
                                  "course hub it is your hub user name, used by default).")
            if not isinstance(sid, str) or not sid.strip():
                raise ValueError(f"student_id must be a non-empty string, got {sid!r}")
            self.student_id = normalized_id(sid)
            label = " (no student id)" if anonymous else ""
            self.student, key = repr(self.student_id) + label, f"id:{self.student_id}"
        self.notices = tuple(text for text in notices if text is not None)
        self._numbers = tuple(
            ex.numbers(Draw(f"lesson {self.lesson}|exercise {n}|{key}"))
            for n, ex in enumerate(self.exercises, start=1)
        )

    def _exercise(self, n: int) -> Exercise:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= len(self.exercises):
            raise ValueError(f"n must be an exercise number from 1 to {len(self.exercises)}, got {n!r}")
        return self.exercises[n - 1]

    def task(self, n: int) -> Task:
        """This student's numbers for exercise ``n``."""
        self._exercise(n)
        return Task(int(n), self.student, self._numbers[n - 1])

    def check(self, n: int, *args: Any, **kwargs: Any) -> Feedback:
        """Check this student's answer to exercise ``n``: correct, wrong with a hint, or not attempted.

        Answers are passed like arguments: ``check(1, value)``, ``check(3, legacy=..., coinw=...)``
        or ``check(5, function)``; one left out counts as not attempted.

        Raises
        ------
        ValueError
            If ``n`` is not an exercise number.
        TypeError
            If an answer is passed under a name the exercise does not have, or too many are passed.
        """
        return self._judge(n, args, kwargs, given_parts=False)

    def require(self, n: int, *args: Any, **kwargs: Any) -> Feedback:
        """:meth:`check` for an autograder's test: the feedback when the answer is correct, else an
        AssertionError whose message is the feedback's line (what is wrong or not attempted, and the hint).

        Answers are passed as to :meth:`check`. For an exercise of several parts, only the parts passed
        are judged (``require(3, coinw=coinw)``: one graded test per part); with none, all of them.

        Raises
        ------
        AssertionError
            Unless the answer (or every part passed) is correct.
        ValueError, TypeError
            As :meth:`check`, for a wrong exercise number or answer name.
        """
        feedback = self._judge(n, args, kwargs, given_parts=True)
        if not feedback.correct:
            raise AssertionError(repr(feedback))
        return feedback

    def _judge(self, n: int, args: tuple[Any, ...], kwargs: Mapping[str, Any], given_parts: bool) -> Feedback:
        """The feedback on the answers passed (``given_parts``: of a record, only the fields passed, if any)."""
        ex = self._exercise(n)
        names = ex.answer.names
        if len(args) > len(names):
            raise TypeError(f"exercise {n} takes {len(names)} answer(s) ({', '.join(names)}), got {len(args)}")
        given = dict(zip(names, args))
        for name, value in kwargs.items():
            if name not in names or name in given:
                raise TypeError(f"exercise {n}: unexpected or repeated answer {name!r}; its answers are {', '.join(names)}")
            given[name] = value
        answer = ex.answer
        if given_parts and isinstance(answer, Record) and given:
            answer = Record({name: kind for name, kind in answer.fields.items() if name in given})
        return answer.judge(int(n), ex, self._numbers[n - 1], {k: given.get(k, ...) for k in answer.names},
                            show=self.showing)

    @property
    def showing(self) -> bool:
        """True unless derivations are switched off (``show=False`` or ``TIERMARGIN_SHOW=off``)."""
        return self._show and not switched_off()

    def show(self, n: int, part: str | None = None) -> Shown | Derivations:
        """The derivation of exercise ``n`` on this student's numbers (see the class docstring).

        Parameters
        ----------
        n : int
            The exercise number.
        part : str, optional
            For an exercise of several answers, the one to show (``"coinw"``); by default all.

        Returns
        -------
        Derivation, Derivations or Notice
            A :class:`~tiermargin.derivation.Derivation`; for several parts a
            :class:`~tiermargin.exercises.show.Derivations`; a
            :class:`~tiermargin.exercises.show.Notice` when derivations are switched off or the
            exercise (or part) has none yet.

        Raises
        ------
        ValueError
            If ``n`` is not an exercise number, or ``part`` is not one of its answers.
        """
        ex = self._exercise(n)
        n = int(n)
        record = isinstance(ex.answer, Record)
        if part is not None and not record:
            raise ValueError(f"exercise {n} has one answer, no parts: show it with ex.show({n})")
        if part is not None and (not isinstance(part, str) or part not in ex.answer.names):
            raise ValueError(f"exercise {n} has no part {one_line(repr(part), 60)}; its parts are {', '.join(map(repr, ex.answer.names))}")
        if not self.showing:
            return Notice(f"Exercise {n}: derivations are switched off for this assignment (ex.show is off); "
                          "the checker's hints still say which formula applies.")
        if ex.derivation is None:
            return Notice(f"Exercise {n} ({ex.title}) has no derivation yet: the checker's hint says which "
                          "formula applies and where the lesson explains it.")
        d = ex.derivation(self._numbers[n - 1])
        if not isinstance(d, Mapping):
            return d
        missing_part = (f"Exercise {n}, {{}}: no derivation yet for this part; the checker's hint says which formula "
                        "applies.")
        if part is not None:
            return d.get(part) or Notice(missing_part.format(part))
        return Derivations(n, tuple((name, d.get(name) or Notice(missing_part.format(name))) for name in ex.answer.names))

    def answer_key(self, secret: str | None = None) -> dict[int, Any]:
        """Expected answers for this student, by exercise number (for a function: its value on the
        student's numbers). For instructors: it needs the instructor secret, ``secret`` or the
        environment variable :data:`SECRET_ENV` (see :func:`instructor_secret`); a student's
        notebook has neither, and gets a PermissionError."""
        instructor_secret(secret)
        return {n: ex.expected(numbers) for n, (ex, numbers) in enumerate(zip(self.exercises, self._numbers), start=1)}

    def __repr__(self) -> str:
        titles = "\n".join(f"  {n}. {ex.title}" for n, ex in enumerate(self.exercises, start=1))
        off = "" if self.showing else "\n(derivations switched off: ex.show is off)"
        notices = "".join(f"\n⚠ {text}" for text in self.notices)
        return f"Lesson {self.lesson} exercises for {self.student}:\n{titles}{off}{notices}"
