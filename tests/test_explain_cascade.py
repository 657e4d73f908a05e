"""Derivations of the book's resilience (``Book.explain_recovery``) and of a cascade's summary numbers
(``Cascade.explain``): each last line equals the library's own number, and the lines are the hand
computation (2^(−t/h), h·log₂(1/left), Σ notional, (shock + liquidated)/(shock + alone), max(start − end, 0))."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tiermargin import cascade as cs
from tiermargin.exercises import lesson07
from tiermargin.orderbook import Book


# ---------------------------------------------------------------- Book.explain_recovery
@pytest.mark.parametrize("h, t", [(60, 0), (60, 90), (300, 45), (45, 1_000), (30, 7.5)])
def test_share_left_is_the_books_recovery(h, t):
    b = Book(half_life=h)
    d = b.explain_recovery(after=t)
    assert d.result == b.recovery(t)
    assert d.line("halvings").value == pytest.approx(t / h)
    assert d.result == pytest.approx(2 ** (-t / h), rel=1e-12)
    assert [ln.key for ln in d.lines] == ["half_life", "after", "halvings", "law"]


@pytest.mark.parametrize("h, r", [(60, 0.75), (300, 0.9), (45, 0.99), (600, 0.6), (30, 0.5)])
def test_time_is_the_books_time_to(h, r):
    b = Book(half_life=h)
    d = b.explain_recovery(recovered=r)
    assert d.result == b.time_to(1 - r)
    assert d.result == pytest.approx(h * math.log2(1 / (1 - r)), abs=1e-9)
    assert d.line("left").value == pytest.approx(1 - r)
    assert b.explain_recovery(left=1 - r).result == b.time_to(1 - r)


def test_recovery_of_a_book_that_never_refills():
    b = Book(half_life=math.inf)
    assert b.explain_recovery(after=100).result == 1.0
    assert b.explain_recovery(left=0.5).result == math.inf == b.time_to(0.5)


@pytest.mark.parametrize("kwargs", [{}, {"after": 1, "left": 0.5}, {"left": 0.0}, {"recovered": 1.0}, {"recovered": 0.0},
                                    {"after": -1}, {"left": 1.5}])
def test_explain_recovery_refuses_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        Book(half_life=60).explain_recovery(**kwargs)


# ---------------------------------------------------------------- Cascade.explain
@pytest.fixture(scope="module")
def venue_run():
    pop = cs.population("binance-usdm", 2_000, seed=7)
    return cs.run(pop, cs.Shock("venue", 0.08, at=1_800), Book(2_000_000), policy="one-tier", duration=7_200, seed=7)


@pytest.fixture(scope="module")
def tier_runs():
    pop = cs.population("binance-usdm", 2_000, seed=7)
    return cs.compare(pop, "tiers", cs.Shock("market", 0.04, at=1_800), Book(10_000_000), policy="one-tier",
                      duration=7_200, seed=7, baseline=False)


def test_multiplier_is_the_cascades(venue_run):
    c = venue_run
    d = c.explain("multiplier")
    assert c.multiplier > 1
    assert d.result == c.multiplier == c.summary()["cascade multiplier"]
    assert d.line("liquidated").value == pytest.approx(float(np.sum(c.notional)), rel=1e-12)
    assert d.line("total").value == pytest.approx(c.shock_order + float(np.sum(c.notional)), rel=1e-12)
    assert d.line("total_alone").value == pytest.approx(c.shock_order + c.baseline, rel=1e-12)


def test_notional_and_fund_loss_are_the_summarys(venue_run):
    s = venue_run.summary()
    assert venue_run.explain("notional").result == s["notional liquidated (USD)"]
    assert venue_run.explain("fund_loss").result == s["fund loss"]
    assert s["fund loss"] > 0


@pytest.mark.parametrize("what, field", [("notional", "notional liquidated (USD)"), ("fund_loss", "fund loss")])
def test_a_difference_of_two_runs(tier_runs, what, field):
    none, tiered = tier_runs[cs.NO_TIERS], tier_runs["tiered"]
    d = none.explain(what, versus=tiered, label="no tiers", versus_label="tiered")
    assert d.result == pytest.approx(none.summary()[field] - tiered.summary()[field], abs=1e-9)
    assert d.line(what).value == none.summary()[field]
    assert d.line("versus_" + what).value == tiered.summary()[field]
    assert d.line_number("versus_run") > d.line_number("run")


def test_explain_refuses_what_it_cannot_derive(venue_run, tier_runs):
    with pytest.raises(ValueError):
        venue_run.explain("leverage")
    with pytest.raises(ValueError, match="baseline"):
        tier_runs["tiered"].explain("multiplier")
    with pytest.raises(ValueError):
        venue_run.explain("multiplier", versus=venue_run)


# ---------------------------------------------------------------- the lesson's exercises
@pytest.mark.parametrize("sid", ["demo", "alice", "Zoë"])
def test_lesson07_show_derives_exercises_2_4_and_5(sid):
    ex = lesson07.Exercises(student_id=sid)
    key = ex.answer_key()
    assert ex.show(2, "left").result == pytest.approx(key[2]["left"], rel=1e-12)
    assert ex.show(2, "time").result == pytest.approx(key[2]["time"], rel=1e-12)
    assert ex.show(4).result == pytest.approx(key[4], rel=1e-12)
    assert ex.show(5, "extra_notional").result == pytest.approx(key[5]["extra_notional"], abs=1e-6)
    assert ex.show(5, "extra_fund_loss").result == pytest.approx(key[5]["extra_fund_loss"], abs=1e-6)


def test_a_swapped_share_points_at_the_law_line():
    ex = lesson07.Exercises(student_id="demo")
    key = ex.answer_key()[2]
    fb = ex.check(2, left=1 - key["left"], time=key["time"])
    line = ex.show(2, "left").line_number("law")
    assert fb.hint.endswith(f"(see line {line} of ex.show(2, 'left'))"), fb.hint
