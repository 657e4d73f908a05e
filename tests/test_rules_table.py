"""The table of venue rules (docs/venue_rules.md): generated from the presets, every cell cited."""

from pathlib import Path

import pytest

from tiermargin import rules_table as rt
from tiermargin.rules import PRESETS, preset

DOC = Path(__file__).resolve().parents[1] / "docs" / "venue_rules.md"


def test_the_committed_table_is_the_generated_one():
    assert DOC.read_text("utf-8") == rt.document(), "docs/venue_rules.md is stale: run `make rules-table`"


def test_one_row_a_preset_one_column_an_axis():
    lines = [line for line in rt.markdown().splitlines() if line.startswith("| ")]
    assert len(lines) == 1 + len(PRESETS)
    assert all(line.count(" | ") == len(rt.AXES) for line in lines)
    for i, line in zip(PRESETS, lines[1:]):
        assert f"(`{i}`)" in line


def test_every_citation_names_a_known_source_with_an_address():
    data = rt._data()
    assert set(data["cites"]) <= set(PRESETS)
    for book_id, axes in data["cites"].items():
        assert set(axes) <= set(rt.AXES), book_id
        for axis, keys in axes.items():
            assert keys, (book_id, axis)
            assert set(keys) <= set(data["sources"]), (book_id, axis, keys)
    for key, s in rt.sources().items():
        assert s.title and (s.url is None or s.url.startswith(("https://", "http://"))), key
    used = {k for axes in data["cites"].values() for keys in axes.values() for k in keys}
    assert used == set(data["sources"]), "every bundled source is cited somewhere"


def test_every_preset_cites_its_margin_and_requirement_and_every_rule_it_names():
    # A rule the preset states (a policy, an ADL ranking, a fee) is documented somewhere; an axis
    # left at None is "none given" and must not pretend to a source.
    for i, book in PRESETS.items():
        assert rt.citations(i, "requirement_at"), i
        if book.has_margin:
            assert rt.citations(i, "margin"), i
        for axis in ("policy", "adl", "cross_tier_rule"):
            if getattr(book, axis) is None:
                assert not rt.citations(i, axis) and rt.cell_value(book, axis) == "none given", (i, axis)
            elif axis != "cross_tier_rule":  # "position" is the library's default grouping
                assert rt.citations(i, axis), (i, axis)
        if book.fee_rate:
            assert rt.citations(i, "fee"), i


def test_cells_say_the_rule_in_words_and_mark_what_is_not_documented():
    assert rt.cell_value(preset("bybit"), "requirement_at") == "entry"
    assert rt.cell_value(preset("bybit-uta"), "requirement_at") == "mark"
    assert rt.cell_value(preset("okx"), "fee") == "0.05 % of value with the maintenance margin"
    assert rt.cell_value(preset("binance-usdm"), "fee") == "none"
    assert rt.cell_value(preset("bybit"), "rounding") == "long-up-short-down to 0.5"
    assert rt.cell_value(preset("coinw"), "margin") == "no bundled table"
    assert rt.cell_value(preset("drift"), "margin") == "rule `drift-program-test-market`"
    assert rt.cell_value(preset("hyperliquid"), "policy").startswith("hyperliquid (20% above 100,000 USD, 30 s")
    row = next(line for line in rt.markdown().splitlines() if "(`gate`)" in line)
    assert "none given (not documented)" in row  # Gate's policy: not described in the pages read
    assert "bankruptcy (no source linked)" in row  # the library's default settlement
    bybit = next(line for line in rt.markdown().splitlines() if "(`bybit`)" in line)
    requirement = bybit.split(" | ")[2]
    assert requirement.startswith("entry [[") and rt.sources()["bybit-lp-usdt"].url in requirement


def test_bad_axis_or_preset_is_refused_naming_it():
    with pytest.raises(ValueError, match="axis must be one of margin, requirement_at"):
        rt.citations("okx", "leverage")
    with pytest.raises(ValueError, match="rulebook must be one of"):
        rt.citations("ftx", "fee")
    with pytest.raises(ValueError, match="axis must be one of"):
        rt.cell_value(preset("okx"), "colour")
