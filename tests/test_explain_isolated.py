"""Derivations of isolated positions' numbers: the last line is the library's result."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import positions

import tiermargin as tm
from tiermargin.derivation import Derivation, Line, _latex
from tiermargin.isolated_derivations import WHAT
from tiermargin.rules import PRESETS

AT_PRICE = {"equity": "equity", "maintenance_margin": "maintenance_margin", "fee_reserve": "fee_reserve",
            "requirement": "requirement", "health": "health"}


def library(p, what, price=None):
    """The library's own result for ``what`` (None: no such price)."""
    if what in AT_PRICE:
        return float(getattr(p, AT_PRICE[what])(price))
    if what.startswith("ratio_"):
        r = p.margin_ratios(price)
        return float(getattr(r, what[len("ratio_"):]))
    lp = p.liquidation_price() if what == "liquidation_price" else p.bankruptcy_price()
    return float(lp.price) if lp.exists else None


def assert_matches(p, what, price=None):
    d = p.explain(what, price)
    want = library(p, what, price)
    if want is None:
        assert d.result is None, (what, str(d))
    else:
        assert d.result == pytest.approx(want, rel=1e-9, abs=1e-9 * float(p.margin + p.value(p.entry))), str(d)
    assert str(d).splitlines()[0] == d.title and d._repr_markdown_().startswith(f"**{d.title}**")
    return d


@given(positions(), st.floats(0.3, 3.0), st.sampled_from(["mark", "entry", "bankruptcy"]))
def test_every_explanation_ends_on_the_library_result(p, move, fee_at):
    """Random positions: both contract kinds, both table forms and bases, each valuation rule."""
    from dataclasses import replace

    p = replace(p, fee_at=fee_at)
    for what in WHAT:
        assert_matches(p, what, None if what.endswith("_price") else float(p.entry) * move)


def test_a_size_on_a_tiers_cap_is_explained_in_that_tier():
    # `make deep` counterexample (seed 3): the explanation computed Q·FV÷P itself, 1 ulp above the library's
    # value Q·FV·(1/P), which lies exactly on tier 1's cap (closed right), so it explained tier 2's MM.
    q, entry = 2_175_168.98393984, 531.0
    c = tm.Contract("inverse", 1.0, "BTC")
    cap = float(c.value(q, entry))
    t = tm.TierTable.from_rows([[0.0, cap, 0.125, 7.0], [cap, None, 0.1875, 4.0]], basis="notional", form="step",
                               contract=c, closed="right")
    p = tm.IsolatedPosition.open(t, "long", q, entry, 1.0)
    assert p.explain("maintenance_margin", entry).result == pytest.approx(cap * 0.125)
    for what in WHAT:
        assert_matches(p, what, None if what.endswith("_price") else entry)


@st.composite
def preset_positions(draw):
    book = PRESETS[draw(st.sampled_from([i for i, b in PRESETS.items() if b.has_margin]))]
    leverage = draw(st.sampled_from([2.0, 5.0, 10.0]))
    try:
        t = book.margin(leverage)
        entry = draw(st.floats(1_000, 100_000))
        usd = draw(st.floats(100, 5e6))
        qty = usd / float(t.contract.usd_value(1.0, entry))
        return tm.IsolatedPosition.open(t, draw(st.sampled_from(["long", "short"])), qty, entry, leverage,
                                        fee_rate=book.fee_rate, requirement_at=book.requirement_at,
                                        fee_at=book.fee_at)
    except ValueError:
        assume(False)


@given(preset_positions(), st.floats(0.5, 2.0))
def test_every_preset_explains_its_numbers(p, move):
    for what in WHAT:
        assert_matches(p, what, None if what.endswith("_price") else float(p.entry) * move)


def test_binance_faq_example_reads_as_the_faq_does():
    # Binance FAQ: the level at the liquidation price, not at opening: 17 BTC long at 60,000, 20x.
    p = tm.IsolatedPosition.open(tm.load_table("binance-usdm-btcusdt-2021"), "long", 17, 60_000, 20)
    d = p.explain("liquidation_price")
    assert "not in tier 4" in d.line("root_4").why and "accepted" in d.line("root_3").why
    assert d.result == pytest.approx(p.liquidation_price().price) and "tier 3" in d.lines[-1].why
    assert "Binance FAQ" in d.source
    mm = tm.load_table("binance-usdm-btcusdt-2021").explain(264_000)
    assert [ln.value for ln in mm.lines if ln.key == "cum"] == [50.0, 1_300.0] and mm.result == 1_340.0
    assert mm.line("tier").why == "tier 3: 250,000 < 264,000 ≤ 1,000,000"  # brackets include their cap


def test_the_window_above_entry_is_named_as_rejected():
    t = tm.TierTable.from_rows([[0, 105, 0.004, 125], [105, None, 0.3, 3]], form="step")
    d = tm.IsolatedPosition.open(t, "long", 1, 100, 20).explain("liquidation_price")
    assert d.result == pytest.approx(95 / 0.996) and "other side of entry" in d.line("root_2").why


def test_a_step_boundary_is_the_liquidation_price_where_health_jumps():
    # A short on a linear step table rising into a higher tier: health jumps to ≤ 0 at the cap.
    t = tm.TierTable.from_rows([[0, 1_000, 0.01, 50], [1_000, None, 0.2, 4]], form="step")
    p = tm.IsolatedPosition.open(t, "short", 9.9, 100, 40)
    lp = p.liquidation_price()
    d = p.explain("liquidation_price")
    assert d.result == pytest.approx(lp.price) and any(ln.key.startswith("jump_") for ln in d.lines)


def test_bybit_fee_to_close_at_the_bankruptcy_price_is_derived():
    # Bybit help "Liquidation Price Calculation under Isolated Mode (UTA)": long 1 BTC at 40,000,
    # 50x, 3,000 added, MMR 0.5 %, taker 0.055 % → 36,380.25.
    book = PRESETS["bybit-uta"]
    t = tm.TierTable.single(0.005, max_leverage=100)
    p = tm.IsolatedPosition.open(t, "long", 1, 40_000, 50, extra_margin=3_000, fee_rate=book.fee_rate,
                                 requirement_at=book.requirement_at, fee_at=book.fee_at)
    d = p.explain("liquidation_price")
    assert d.result == pytest.approx(36_380.25, abs=0.01)
    assert d.line("margin_less_fee").value == pytest.approx(float(p.margin) - float(p.fee_reserve(40_000)))
    assert "Bybit" in d.source and "bankruptcy price" in d.rule


def test_no_price_says_so_and_the_result_is_none():
    p = tm.IsolatedPosition.open(tm.TierTable.single(0.005, max_leverage=100), "long", 1, 100, 1)
    lp = p.explain("liquidation_price")
    assert lp.result is None and "no liquidation price" in lp.lines[-1].why
    bp = p.explain("bankruptcy_price")
    assert bp.result is None and "no bankruptcy price" in bp.lines[-1].why


def test_no_price_when_rate_and_fee_reach_100_percent():
    """Contracts basis, MMR + fee = 100 %: the root's denominator is 0; the derivation says "none" (it
    used to divide by zero), as the library does."""
    t = tm.TierTable.from_rows([[0, None, 0.5, 1]], basis="contracts")
    p = tm.IsolatedPosition(t, "long", 1.0, 100.0, 150.0, 1.0, fee_rate=0.5)
    d = p.explain("liquidation_price")
    assert not p.liquidation_price().exists
    assert d.result is None and "rate + fee ≥ 100 %" in d.lines[-1].why


def test_bad_requests_name_the_parameter():
    p = tm.IsolatedPosition.open(tm.TierTable.single(0.005, max_leverage=100), "long", 1, 100, 10)
    for call, match in [(lambda: p.explain("leverage"), "what must be one of 'equity'"),
                        (lambda: p.explain("health"), "price is needed"),
                        (lambda: p.explain("liquidation_price", 100), "price is not used"),
                        (lambda: p.explain("health", -1), "price must be > 0"),
                        (lambda: p.explain("health", [1, 2]), "one price"),
                        (lambda: tm.IsolatedPosition.open(tm.TierTable.single(0.005, 100), "long", [1, 2], 100,
                                                          10).explain("health", 100), "single position")]:
        with pytest.raises(ValueError, match=match):
            call()
    with pytest.raises(ValueError, match="size must be one number"):
        tm.TierTable.single(0.005).explain([1, 2])


def test_derivation_text_markdown_and_lookup():
    d = Derivation("T", (Line("a", "x × y", "2 × 3", 6.0, "why"), Line("b", "", "", None, "a statement")), "r", "s")
    assert str(d) == "T\n  1. x × y = 2 × 3 = 6 (why)\n  2. a statement\n  Rule: r\n  Source: s"
    assert d.line_number("b") == 2 and d.line("a").value == 6.0 and d.result is None
    with pytest.raises(KeyError, match="lines are a, b"):
        d.line_number("c")
    assert _latex("cum_2 = 50,000 × 0.5 %") == r"\text{cum}_{2} = 50{,}000 \times  0.5 \%"
    assert "$" in d._repr_markdown_() and "*Rule:* r" in d._repr_markdown_()
    assert not np.isnan(Line("v", "", "", float("inf")).value) and "∞" in Line("v", "", "", float("inf")).text()


@given(st.data())
def test_largest_size_at_a_leverage_is_derived_row_by_row(data):
    from strategies import tier_tables

    t = data.draw(tier_tables())
    lev = data.draw(st.floats(1.0, float(t.max_leverage[0])))
    d = t.explain_max_size(lev)
    assert d.result == float(t.max_size_at_leverage(lev))
    with pytest.raises(ValueError, match="at most the table's highest max leverage"):
        t.explain_max_size(float(t.max_leverage[0]) * 2)
