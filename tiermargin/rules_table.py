"""The table of venue rules: one row a preset, one column an axis, each cell linked to its source.

Generated from :data:`~tiermargin.rules.PRESETS` (the values) and the bundled citations
(``tiermargin/data/rule_sources.json``: for each preset and axis, the pages that document the
choice), so the table cannot drift from the code: ``docs/venue_rules.md`` is this module's
output (``make rules-table`` writes it; a test checks that the committed file is current).

An axis a venue's pages do not document has no citation and its cell says so: "none given (not
documented)" where the preset leaves the field ``None`` rather than guess, "(no source linked)"
where it applies the library's default.

Examples
--------
>>> from tiermargin.rules import preset
>>> cell_value(preset("bybit"), "fee")
'0.055 % of value at the bankruptcy price'
>>> [s.title for s in citations("hyperliquid", "settlement")][0]
'Hyperliquid Announcements, post 307 (liquidations)'
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any, NamedTuple

from .rules import PRESETS, Rulebook, preset

AXES: dict[str, str] = {
    "margin": "Margin (table or rule)",
    "requirement_at": "Requirement valued at",
    "fee": "Fee reserve",
    "ratio": "Ratio shown",
    "policy": "Liquidation policy",
    "settlement": "Settlement",
    "adl": "ADL ranking",
    "cross_tier_rule": "Cross tier grouping",
    "rounding": "Rounding",
}
"""The columns: axis name → header."""

NOT_DOCUMENTED = "not documented"
"""Marks a cell whose field is ``None``: the pages read do not document the choice."""
NOT_LINKED = "no source linked"
"""Marks a cell whose value is the library's default, with no page found that states it."""


class Source(NamedTuple):
    """A page that documents a rule: its title and address (``None`` for the course's own notes)."""

    title: str
    url: str | None


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    text = resources.files("tiermargin.data").joinpath("rule_sources.json").read_text("utf-8")
    return dict(json.loads(text))


def sources() -> dict[str, Source]:
    """Every bundled source, by key."""
    return {k: Source(v["title"], v["url"]) for k, v in _data()["sources"].items()}


def citations(rulebook_id: str, axis: str) -> tuple[Source, ...]:
    """The sources that document ``axis`` of the preset ``rulebook_id`` (empty: not documented).

    Raises
    ------
    ValueError
        For an unknown preset or axis.
    """
    preset(rulebook_id)
    if axis not in AXES:
        raise ValueError(f"axis must be one of {', '.join(AXES)}; got {axis!r}")
    keys = _data()["cites"].get(rulebook_id, {}).get(axis, [])
    known = sources()
    return tuple(known[k] for k in keys)


def cell_value(book: Rulebook, axis: str) -> str:
    """The rule a preset applies on ``axis``, in words (``None`` fields read "none given")."""
    if axis not in AXES:
        raise ValueError(f"axis must be one of {', '.join(AXES)}; got {axis!r}")
    if axis == "margin":
        if book.margin_id is not None:
            return f"rule `{book.margin_id}`"
        if book.table_id is None:
            return "no bundled table"
        t = book.table
        return f"{t.form}, by {t.basis} (`{book.table_id}`)"
    if axis == "fee":
        if book.fee_rate == 0:
            return "none"
        where = {"mark": "with the maintenance margin", "entry": "at entry", "bankruptcy": "at the bankruptcy price"}
        return f"{book.fee_rate * 100:g} % of value {where[book.fee_at]}"
    if axis == "policy":
        if book.policy == "fraction":
            return f"fraction ({book.fraction:g} a step)"
        if book.policy == "hyperliquid" and book.partial is not None:
            p = book.partial
            return (f"hyperliquid ({p.share:.0%} above {p.above:,.0f} USD, {p.cooldown:g} s cooldown, "
                    f"backstop at {p.backstop:.3g} of the requirement)")
    if axis == "rounding":
        return "none" if book.rounding == "none" or book.tick is None else f"{book.rounding} to {book.tick:g}"
    value = getattr(book, axis)
    return "none given" if value is None else str(value)


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(ids: list[str] | None = None) -> str:
    """The table as Markdown: a header, one row a preset, then the numbered sources.

    A cell is the preset's value with links ``[n]`` to the sources that document it, or the value
    followed by "(not documented)" (a ``None`` field) or "(no source linked)" (a default).
    """
    ids = list(PRESETS) if ids is None else ids
    numbers: dict[Source, int] = {}
    lines = ["| Venue (preset) | " + " | ".join(AXES.values()) + " |", "|" + "---|" * (len(AXES) + 1)]
    for i in ids:
        book = preset(i)
        cells = []
        for axis in AXES:
            cites = citations(i, axis)
            for s in cites:
                numbers.setdefault(s, len(numbers) + 1)
            value = cell_value(book, axis)
            refs = " ".join(f"[[{numbers[s]}]]({s.url})" if s.url else f"[{numbers[s]}]" for s in cites)
            if not refs:
                refs = f"({NOT_DOCUMENTED})" if value == "none given" else f"({NOT_LINKED})"
            cells.append(f"{_escape(value)} {refs}")
        lines.append(f"| {_escape(book.venue)} (`{i}`) | " + " | ".join(cells) + " |")
    refs = [f"{n}. [{_escape(s.title)}]({s.url})" if s.url else f"{n}. {_escape(s.title)}" for s, n in numbers.items()]
    return "\n".join(lines) + "\n\nSources:\n\n" + "\n".join(refs) + "\n"


def document() -> str:
    """``docs/venue_rules.md``: a title, what the columns mean, the table."""
    return (
        "# Venue rules\n\n"
        "<!-- Generated by `make rules-table` (tiermargin.rules_table.document) from tiermargin.rules.PRESETS "
        "and tiermargin/data/rule_sources.json. Do not edit by hand: a test checks it is current. -->\n\n"
        "Where exchanges differ, tiermargin models the difference as a rule (`tiermargin.rules.Rulebook`). "
        "One row a preset (`tiermargin.rules.preset(id)`), one column an axis; each cell is the rule the "
        "preset applies, linked to the pages that document it. \"(not documented)\" marks a choice the "
        "venue's pages read do not state (the preset gives none rather than guess); \"(no source linked)\" a "
        "value that is the library's default with no page found that states it. Each preset's `sources` field says more, including the rules read but not modelled.\n\n"
        "* **Requirement valued at**: the price that values the maintenance margin (the mark, or entry).\n"
        "* **Fee reserve**: a liquidation/close fee added to the requirement, and where it is valued.\n"
        "* **Ratio shown**: the margin-ratio convention displayed (all are views of one health figure).\n"
        "* **Liquidation policy**: how much a stepwise liquidation closes (see lesson 05).\n"
        "* **Settlement**: the bankruptcy price (the fund keeps or pays the difference) or the fill.\n"
        "* **Cross tier grouping**: which positions share a tier in cross margin.\n\n"
        + markdown()
    )


if __name__ == "__main__":  # python -m tiermargin.rules_table > docs/venue_rules.md
    print(document(), end="")
