"""Derivations on a student's own numbers: what :meth:`ExerciseSet.show
<tiermargin.exercises.core.ExerciseSet.show>` returns, and the instructor's switch.

After a wrong answer, ``ex.show(n)`` gives the :class:`~tiermargin.derivation.Derivation` of
exercise ``n`` computed on the student's numbers, line by line with the numbers substituted; a
recognised mistake's hint names the line where that mistake happens ("see line 5 of ex.show(7)").

* An exercise of several parts (a :class:`~tiermargin.exercises.core.Record`) shows all its parts
  at once, a :class:`Derivations`; ``ex.show(n, "coinw")`` shows one.
* An exercise without a derivation yet, or a part without one, shows a :class:`Notice` saying so.
* **Instructors** switch ``show`` off for graded work with ``Exercises(student_id, show=False)``,
  or for every notebook of a kernel with the environment variable ``TIERMARGIN_SHOW=off``
  (also ``0``, ``false``, ``no``); either one is enough. ``show`` then returns a :class:`Notice`
  saying that derivations are switched off for this assignment, and the hints no longer point at
  derivation lines. It is a switch, not a lock: the library's ``explain`` methods stay public.

>>> print(Notice("Exercise 6 has no derivation yet."))
Exercise 6 has no derivation yet.
>>> switched_off({"TIERMARGIN_SHOW": "off"}), switched_off({})
(True, False)
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from html import escape
from typing import Union

import numpy as np

from ..derivation import Derivation, Line
from ..market import Market

ENV = "TIERMARGIN_SHOW"
"""The environment variable that switches ``show`` off for every exercise set of a process."""

_OFF = frozenset({"0", "off", "false", "no"})


def switched_off(environ: Mapping[str, str] | None = None) -> bool:
    """True when the environment (default ``os.environ``) sets :data:`ENV` to off, 0, false or no."""
    env = os.environ if environ is None else environ
    return env.get(ENV, "").strip().lower() in _OFF


@dataclass(frozen=True)
class Notice:
    """A message in place of a derivation (switched off, or none yet); shows as its text."""

    text: str

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return (
            '<div style="border-left: 6px solid #757575; background: #f5f5f5; padding: 0.4em 0.8em; '
            f'color: #212121">{escape(self.text)}</div>'
        )


Shown = Union[Derivation, Notice]


@dataclass(frozen=True)
class Derivations:
    """The derivations of an exercise's parts, in the order of its answers: ``d["coinw"]``, ``d.parts``."""

    exercise: int
    items: tuple[tuple[str, Shown], ...]

    @property
    def parts(self) -> tuple[str, ...]:
        """The part names, in order."""
        return tuple(name for name, _ in self.items)

    def __getitem__(self, part: str) -> Shown:
        for name, d in self.items:
            if name == part:
                return d
        raise KeyError(f"no part {part!r}; the parts are {', '.join(self.parts)}")

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __str__(self) -> str:
        return "\n\n".join(f"{name} — ex.show({self.exercise}, {name!r}):\n{d}" for name, d in self.items)

    def __repr__(self) -> str:
        return str(self)

    def _repr_markdown_(self) -> str:
        out = []
        for name, d in self.items:
            body = d._repr_markdown_() if isinstance(d, Derivation) else f"*{d.text}*"
            out.append(f"### `{name}` — `ex.show({self.exercise}, {name!r})`\n\n{body}")
        return "\n\n".join(out)


# ---------------------------------------------------------------------- building derivations
def renamed(lines: Iterable[Line], prefix: str) -> tuple[Line, ...]:
    """``lines`` with every key prefixed (``"eth_"``): several derivations in one, each line still findable."""
    return tuple(replace(ln, key=f"{prefix}{ln.key}") for ln in lines)


def composed(title: str, parts: Sequence[Iterable[Line]], *lines: Line, rule: str = "", source: str = "") -> Derivation:
    """One derivation from the lines of several (each an iterable of lines), then ``lines``."""
    out: list[Line] = [ln for part in parts for ln in part]
    out += lines
    return Derivation(title, tuple(out), rule, source)


def extended(d: Derivation, *lines: Line, title: str | None = None) -> Derivation:
    """``d`` with ``lines`` added at the end (the last one is the new result)."""
    return Derivation(d.title if title is None else title, d.lines + lines, d.rule, d.source)


def as_items(d: Derivation, prefix: str, title: str | None = None) -> Derivation:
    """``d`` with its lines ``{prefix}1``, ``{prefix}2``, … keyed ``item_1``, ``item_2``, …: the lines of a list
    answer (one per element, in order), as the tests and hints find them.

    >>> d = Derivation("t", (Line("qty_1", "q", "", 1.0), Line("pnl_1", "p", "", 2.0)))
    >>> [ln.key for ln in as_items(d, "pnl_").lines]
    ['qty_1', 'item_1']
    """
    pattern = re.compile(re.escape(prefix) + r"(\d+)$")

    def key(k: str) -> str:
        m = pattern.match(k)
        return f"item_{m.group(1)}" if m else k

    return Derivation(d.title if title is None else title, tuple(replace(ln, key=key(ln.key)) for ln in d.lines),
                      d.rule, d.source)


def statement(key: str, why: str) -> Line:
    """A line that states something (no value)."""
    return Line(key, "", "", None, why)


def upto(d: Derivation, key: str, title: str | None = None) -> Derivation:
    """``d`` cut after its line ``key`` (whose value is then the result): the part of a library
    explanation that derives an intermediate quantity an exercise asks for (the index of a mark, the
    ``surplus`` of a liquidation step). Raises ``KeyError`` naming the keys if there is no such line."""
    k = d.line_number(key)
    return Derivation(d.title if title is None else title, d.lines[:k], d.rule, d.source)


def one_venue_market(times: Sequence[float], index: Sequence[float], last: Sequence[float], venue: str = "index",
                     funding_rate: float = 0.0, time_to_funding: float = 0.0, interval: float = 1.0) -> Market:
    """A :class:`~tiermargin.market.Market` whose index is given (one spot venue quoting it, never stale):
    what :func:`~tiermargin.markprice.explain_mark_price` derives an exercise's mark, basis MA or Price 1 on."""
    t = np.asarray(times, dtype=float)
    spot = np.asarray(index, dtype=float).reshape(-1, 1)
    return Market(t, (venue,), spot, np.repeat(t.reshape(-1, 1), 1, axis=1), np.asarray(last, dtype=float),
                  np.full(t.size, float(funding_rate)), np.full(t.size, float(time_to_funding)), float(interval))
