"""Derivations: how a number was computed, line by line, with the numbers substituted.

A :class:`Derivation` is what ``explain`` returns everywhere in the library
(:meth:`TierTable.explain <tiermargin.tiers.TierTable.explain>`,
:meth:`IsolatedPosition.explain <tiermargin.isolated.IsolatedPosition.explain>`,
:meth:`CrossAccount.explain_liquidation_price <tiermargin.cross.CrossAccount.explain_liquidation_price>`, …):
a title, numbered :class:`Line` s — each a quantity, the formula with the numbers put in, its value
and why —, the venue rule applied with its source, and the result. Its ``str`` is plain text; in a
notebook it displays as Markdown with LaTeX. The last line's value is the result, computed by hand
from the lines above; tests check that it equals the library's own result.

Each line has a ``key`` ("tier", "mmr", "cum", …) so that feedback can point at the line where a
mistake happens: :meth:`Derivation.line_number`.

Examples
--------
>>> d = Derivation("Value", (Line("value", "Q × P", "2 × 30,000", 60_000.0),), rule="linear contract")
>>> print(d)
Value
  1. Q × P = 2 × 30,000 = 60,000
  Rule: linear contract
>>> d.result
60000.0
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from . import _check


def num(x: float, digits: int = 10) -> str:
    """A number for a derivation: thousands separators, up to ``digits`` significant digits.

    >>> num(1234567.891), num(0.005), num(float("inf")), num(2.0)
    ('1,234,567.891', '0.005', '∞', '2')
    """
    x = float(x)
    if np.isinf(x):
        return "∞" if x > 0 else "−∞"
    text = f"{x:,.{digits}g}"
    if "e" in text:
        return text
    return text.replace("-", "−")


def pct(x: float) -> str:
    """A rate as a percentage: ``pct(0.005)`` is ``'0.5 %'``."""
    return f"{num(100 * float(x), 8)} %"


class _NoLine(KeyError, ValueError):
    """No line has the key asked for: a ``KeyError`` (a lookup by name) that is also a ``ValueError``
    (a bad argument), as the library's other input errors are."""


@dataclass(frozen=True)
class Line:
    """One line of a derivation: ``symbol = formula = numbers = value``, and why.

    Parameters
    ----------
    key : str
        A short name of the quantity (for pointing at it).
    formula : str
        The formula in symbols (``"value × MMR − cum"``), or "" for a plain statement.
    numbers : str
        The formula with the numbers substituted (``"60,000 × 0.5 % − 50"``), or "".
    value : float or None
        The value of this line (None for a statement).
    why : str
        A short reason (which row, which rule), shown after the value.
    """

    key: str
    formula: str
    numbers: str = ""
    value: float | None = None
    why: str = ""

    def text(self) -> str:
        """The line in plain text."""
        parts = [p for p in (self.formula, self.numbers) if p]
        if self.value is not None:
            parts.append(num(self.value))
        body = " = ".join(parts)
        if self.why:
            body = f"{body} ({self.why})" if body else self.why
        return body

    def markdown(self) -> str:
        """The line as Markdown: the equation in LaTeX, the reason in words."""
        parts = [_latex(p) for p in (self.formula, self.numbers) if p]
        if self.value is not None:
            parts.append(_latex(num(self.value)))
        eq = f"${' = '.join(parts)}$" if parts else ""
        return " — ".join(x for x in (eq, self.why) if x)


@dataclass(frozen=True)
class Derivation:
    """How a result was computed: numbered lines, the rule and its source, the result.

    Attributes
    ----------
    title : str
    lines : tuple of Line
        The last line's value is the result (None where the result is a statement, e.g. "no
        liquidation price").
    rule : str
        The venue rule applied (valuation price, table form, policy, …).
    source : str
        Where the rule and formula are documented.
    """

    title: str
    lines: tuple[Line, ...]
    rule: str = ""
    source: str = ""

    @property
    def result(self) -> float | None:
        """The value of the last line."""
        return self.lines[-1].value if self.lines else None

    def line(self, key: str) -> Line:
        """The line for quantity ``key`` (the first one with that key)."""
        return self.lines[self.line_number(key) - 1]

    def line_number(self, key: str) -> int:
        """The 1-based number of the first line with ``key``.

        Raises
        ------
        KeyError
            Naming the keys there are (it is also a ``ValueError``).
        TypeError
            A ``key`` that is not a str.
        """
        _check.text("key", key)
        for i, ln in enumerate(self.lines, 1):
            if ln.key == key:
                return i
        raise _NoLine(f"no line with key {key!r}; lines are {', '.join(ln.key for ln in self.lines)}")

    def __str__(self) -> str:
        out = [self.title] + [f"  {i}. {ln.text()}" for i, ln in enumerate(self.lines, 1)]
        if self.rule:
            out.append(f"  Rule: {self.rule}")
        if self.source:
            out.append(f"  Source: {self.source}")
        return "\n".join(out)

    def __repr__(self) -> str:
        return f"Derivation({self.title!r}, {len(self.lines)} lines, result {self.result!r})"

    def _repr_markdown_(self) -> str:
        out = [f"**{self.title}**", ""] + [f"{i}. {ln.markdown()}" for i, ln in enumerate(self.lines, 1)]
        if self.rule:
            out += ["", f"*Rule:* {self.rule}"]
        if self.source:
            out += ["", f"*Source:* {self.source}"]
        return "\n".join(out)


_WORD = re.compile(r"([A-Za-z][A-Za-z']*)(?:_([A-Za-z0-9]+))?")
_LATEX = {"×": r"\times ", "−": "-", "÷": r"\div ", "≤": r"\le ", "≥": r"\ge ", "·": r"\cdot ", "√": r"\sqrt",
          "%": r"\%", "∞": r"\infty ", "σ": r"\sigma ", "α": r"\alpha ", "γ": r"\gamma ", "∈": r"\in ",
          "→": r"\to ", "≠": r"\ne ", "_": r"\_"}


def _latex(text: str) -> str:
    """Plain formula → LaTeX: words in ``\\text{}``, thousands commas braced, symbols as commands."""
    out, i = [], 0
    for m in _WORD.finditer(text):
        out.append(_symbols(text[i:m.start()]))
        w, sub = m.group(1), m.group(2)
        out.append((w if len(w) == 1 else r"\text{" + w + "}") + (f"_{{{sub}}}" if sub else ""))
        i = m.end()
    out.append(_symbols(text[i:]))
    return "".join(out)


def _symbols(text: str) -> str:
    text = re.sub(r"(?<=\d),(?=\d{3})", "{,}", text)
    return "".join(_LATEX.get(c, c) for c in text)
