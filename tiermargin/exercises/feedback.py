"""The result of checking an answer: correct, wrong with a hint, or not attempted.

A :class:`Feedback` is what an exercise cell displays. Its text form is one deterministic line
(nbval compares it when the solutions notebook is re-executed); in a notebook it shows as a
coloured box.

>>> Feedback(2, "wrong", "got 19,650.00 USDT", "LP = EP − (IM − MM)/Q")
Exercise 2 — wrong: got 19,650.00 USDT. Hint: LP = EP − (IM − MM)/Q
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Literal

Status = Literal["correct", "wrong", "not attempted"]
STATUSES: tuple[Status, ...] = ("correct", "wrong", "not attempted")

# border and background colour of the notebook box, per status
_COLOURS = {
    "correct": ("#2e7d32", "#e8f5e9"),
    "wrong": ("#c62828", "#ffebee"),
    "not attempted": ("#757575", "#f5f5f5"),
}


@dataclass(frozen=True)
class Feedback:
    """Immediate feedback on one exercise.

    Parameters
    ----------
    exercise : int
        Exercise number.
    status : {"correct", "wrong", "not attempted"}
    message : str
        What was found (the answer echoed when correct, what is wrong otherwise).
    hint : str
        What to do next; empty when there is nothing to add.
    """

    exercise: int
    status: Status
    message: str
    hint: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(map(repr, STATUSES))}; got {self.status!r}")

    @property
    def correct(self) -> bool:
        """True when the answer is correct."""
        return self.status == "correct"

    def __repr__(self) -> str:
        hint = f". Hint: {self.hint}" if self.hint else ""
        return f"Exercise {self.exercise} — {self.status}: {self.message}{hint}"

    def _repr_html_(self) -> str:
        border, background = _COLOURS[self.status]
        hint = f"<br><i>Hint:</i> {escape(self.hint)}" if self.hint else ""
        return (
            f'<div style="border-left: 6px solid {border}; background: {background}; '
            f'padding: 0.4em 0.8em; color: #212121">'
            f"<b>Exercise {self.exercise} — {escape(self.status)}</b>: {escape(self.message)}{hint}</div>"
        )
