"""Lesson 01 exercise checkers (mark price): what is particular to the lesson's exercises, its
recognised mistakes, hidden cases, published examples and drawn numbers. The checks every lesson
shares (correct / wrong with a hint / not attempted, wrong types, per-student variants, the
answer-key CLI) run for it in ``test_exercises_common.py`` from the hand solutions here.

Correct answers here are worked out by hand in plain Python (the rules a student would apply:
``statistics.median``, sums, loops), independently of the checkers' expected answers, which come
from ``tiermargin.markprice``; published worked examples pin a few of those.
"""

from __future__ import annotations

import statistics

import pytest

import tiermargin as tm
from tiermargin.exercises import lesson01
from tiermargin.exercises.core import Task

CENT = 0.005
LESSON = "lessons/01_mark_price.ipynb"
FUNCTION_EXERCISE = 5
BTC_TIER1_MMR = 0.004  # Binance BTCUSDT 2021, first tier (0 – 50,000 USDT)


# ---------------------------------------------------------------- hand solutions
def hand_price1(index, funding_rate, time_to_funding, interval):
    return index * (1 + funding_rate * time_to_funding / interval)


def outliers(quotes, threshold):
    m = statistics.median(quotes)
    return [abs(q - m) > threshold * m for q in quotes]


def hand_index(quotes, weights, threshold):
    """The outlier rule: weight 0 for one deviating venue, the median of all if more deviate."""
    out = outliers(quotes, threshold)
    if sum(out) > 1:
        return statistics.median(quotes)
    kept = [(q, w) for q, w, o in zip(quotes, weights, out) if not o]
    return sum(q * w for q, w in kept) / sum(w for _, w in kept)


def hand_median3(t: Task) -> float:
    p1 = hand_price1(t.index, t.funding_rate, t.time_to_funding, t.interval)
    return statistics.median([p1, t.index + t.basis_ma, t.last])


def hand_ma(times, basis, window, at):
    """Mean of the basis over the samples with times[at] − window < time ≤ times[at]."""
    inside = [b for b, s in zip(basis, times) if times[at] - window < s <= times[at]]
    return sum(inside) / len(inside)


def hand_basis_ma(t: Task, closed: bool = False) -> float:
    basis = [f - i for f, i in zip(t.futures, t.index)]
    window = t.window + 0.5 if closed else t.window  # whole seconds: +0.5 takes in the edge sample
    return hand_ma(t.times, basis, window, len(t.times) - 1)


def hand_marks(t: Task) -> list[float]:
    basis = [p - i for p, i in zip(t.last, t.index)]
    return [i + hand_ma(t.times, basis, t.window, k) for k, i in enumerate(t.index)]


def hand_liquidated(t: Task, price: float) -> bool:
    return price <= t.liquidation if t.side == "long" else price >= t.liquidation


def hand_wick(t: Task) -> dict[str, bool]:
    return {
        "on_last": any(hand_liquidated(t, p) for p in t.last),
        "on_mark": any(hand_liquidated(t, p) for p in hand_marks(t)),
    }


def hand_lp_tier1(t: Task) -> float:
    """Binance's one-way formula, one tier (cum 0), isolated margin Q·EP/L: EP(1 − s/L)/(1 − s·MMR)."""
    s = 1 if t.side == "long" else -1
    return t.entry * (1 - s / t.leverage) / (1 - s * BTC_TIER1_MMR)


HAND_VALUES = {
    1: lambda t: hand_price1(t.index, t.funding_rate, t.time_to_funding, t.interval),
    2: lambda t: hand_index(t.quotes, t.weights, t.threshold),
    3: hand_median3,
    4: hand_basis_ma,
}


def right_answer(ex: lesson01.Exercises, n: int) -> tuple[tuple, dict]:
    """(args, kwargs) of a correct ``ex.check(n, ...)`` call, worked out by hand."""
    t = ex.task(n)
    if n in HAND_VALUES:
        return (HAND_VALUES[n](t),), {}
    if n == FUNCTION_EXERCISE:
        return (hand_index,), {}
    return (), hand_wick(t)


def answer_key_lines() -> list[str]:
    """Lines of alice's printed answer key, worked out by hand."""
    alice = lesson01.Exercises(student_id="alice")
    wick = hand_wick(alice.task(6))
    return [f"{hand_median3(alice.task(3)):.2f} USDT", f"on_last {wick['on_last']}, on_mark {wick['on_mark']}"]


@pytest.fixture(scope="module")
def demo():
    return lesson01.Exercises(student_id="demo")


# ---------------------------------------------------------------- wrong types
def test_flags_must_be_booleans(demo):
    fb = demo.check(6, on_last=1, on_mark="False")
    assert fb.status == "wrong" and "on_last is an int" in fb.message and "True or False" in fb.hint


# ---------------------------------------------------------------- recognised mistakes
def hint_for(ex, n, wrong):
    """The hint for a wrong answer, checking first that it is wrong (not the right answer too)."""
    (right,), _ = right_answer(ex, n)
    assert abs(wrong - right) > 0.01, "this mistake gives the right answer on these numbers"
    fb = ex.check(n, wrong)
    assert fb.status == "wrong", fb
    return fb.hint


def test_price1_recognises_the_whole_rate_elapsed_time_percentage_and_premium(demo):
    t = demo.task(1)
    assert "whole funding rate" in hint_for(demo, 1, hand_price1(t.index, t.funding_rate, t.interval, t.interval))
    elapsed = hand_price1(t.index, t.funding_rate, t.interval - t.time_to_funding, t.interval)
    assert "elapsed" in hint_for(demo, 1, elapsed)
    assert "fraction" in hint_for(demo, 1, hand_price1(t.index, 100 * t.funding_rate, t.time_to_funding, t.interval))
    premium = t.index * t.funding_rate * t.time_to_funding / t.interval
    assert "premium" in hint_for(demo, 1, premium)


def test_index_recognises_the_outlier_kept_the_plain_median_and_the_weights(demo):
    t = demo.task(2)
    out = outliers(t.quotes, t.threshold)
    assert sum(out) == 1
    assert "kept the outlier" in hint_for(demo, 2, sum(q * w for q, w in zip(t.quotes, t.weights)) / sum(t.weights))
    assert "plain median" in hint_for(demo, 2, statistics.median(t.quotes))
    not_rescaled = sum(q * w for q, w, o in zip(t.quotes, t.weights, out) if not o)
    assert "rescale" in hint_for(demo, 2, not_rescaled)
    equal = statistics.mean(q for q, o in zip(t.quotes, out) if not o)
    assert "equal weights" in hint_for(demo, 2, equal)


def prices_1_and_2(t: Task) -> tuple[float, float]:
    return hand_price1(t.index, t.funding_rate, t.time_to_funding, t.interval), t.index + t.basis_ma


def student_whose_mark_is(k: int) -> lesson01.Exercises:
    """A student whose exercise-3 mark is Price k (1 or 2) and not the other one."""
    for seed in range(50):
        ex = lesson01.Exercises(seed=seed)
        prices = prices_1_and_2(ex.task(3))
        if abs(hand_median3(ex.task(3)) - prices[2 - k]) > 0.01:
            return ex
    raise AssertionError(f"no student whose mark is Price {k}")


def test_median3_recognises_okx_form_last_price_mean_and_single_prices():
    ex = student_whose_mark_is(1)
    t = ex.task(3)
    p1, p2 = prices_1_and_2(t)
    assert "OKX" in hint_for(ex, 3, p2)
    assert "last price" in hint_for(ex, 3, t.last)
    assert "mean of the three" in hint_for(ex, 3, (p1 + p2 + t.last) / 3)
    assert "that is the index" in hint_for(ex, 3, float(t.index))
    ex = student_whose_mark_is(2)
    p1, _ = prices_1_and_2(ex.task(3))
    assert "Price 1 alone" in hint_for(ex, 3, p1)


def test_basis_ma_recognises_the_closed_window_all_samples_the_sign_and_the_mark(demo):
    t = demo.task(4)
    assert t.times[-1] - t.window in t.times  # a sample sits exactly on the window's edge
    assert "exactly `window` seconds old" in hint_for(demo, 4, hand_basis_ma(t, closed=True))
    everything = statistics.mean(f - i for f, i in zip(t.futures, t.index))
    assert "every sample" in hint_for(demo, 4, everything)
    assert "sign is reversed" in hint_for(demo, 4, -hand_basis_ma(t))
    assert "that is the mark" in hint_for(demo, 4, t.index[-1] + hand_basis_ma(t))


def test_index_function_recognises_mistakes_on_the_students_numbers(demo):
    fb = demo.check(5, lambda quotes, weights, threshold: statistics.median(quotes))
    assert fb.status == "wrong" and "your numbers" in fb.message and "plain median" in fb.hint
    fb = demo.check(5, lambda quotes, weights, threshold: sum(q * w for q, w in zip(quotes, weights)) / sum(weights))
    assert fb.status == "wrong" and "kept the outlier" in fb.hint
    fb = demo.check(5, lambda quotes, weights, threshold: hand_index(quotes, [1] * len(quotes), threshold))
    assert fb.status == "wrong" and "your numbers" in fb.message and "equal weights" in fb.hint


# ---------------------------------------------------------------- hidden cases of the function
def only_one_outlier_rule(quotes, weights, threshold):
    """Forgets the median-of-all rule: always drops the outliers and averages the rest."""
    out = outliers(quotes, threshold)
    kept = [(q, w) for q, w, o in zip(quotes, weights, out) if not o]
    return sum(q * w for q, w in kept) / sum(w for _, w in kept)


def median_of_the_kept(quotes, weights, threshold):
    """With several outliers, takes the median of the venues kept instead of the median of all."""
    out = outliers(quotes, threshold)
    if sum(out) > 1:
        return statistics.median(q for q, o in zip(quotes, out) if not o)
    return hand_index(quotes, weights, threshold)


def low_median(quotes, weights, threshold):
    """statistics.median_low: wrong for an even number of venues."""
    m = statistics.median_low(quotes)
    out = [abs(q - m) > threshold * m for q in quotes]
    if sum(out) > 1:
        return m
    kept = [(q, w) for q, w, o in zip(quotes, weights, out) if not o]
    return sum(q * w for q, w in kept) / sum(w for _, w in kept)


def from_the_mean(quotes, weights, threshold):
    """Measures deviations from the (weighted) mean instead of the median."""
    m = sum(q * w for q, w in zip(quotes, weights)) / sum(weights)
    out = [abs(q - m) > threshold * m for q in quotes]
    if sum(out) > 1:
        return statistics.median(quotes)
    kept = [(q, w) for q, w, o in zip(quotes, weights, out) if not o]
    return sum(q * w for q, w in kept) / sum(w for _, w in kept)


def fixed_threshold(quotes, weights, threshold):
    return hand_index(quotes, weights, 0.05)


@pytest.mark.parametrize(
    "wrong, shows",
    [
        (only_one_outlier_rule, "should be 30,000.00 USDT"),
        (median_of_the_kept, "should be 100.00 USDT, got 100.20 USDT"),
        (low_median, "should be 100.50 USDT, got 100.00 USDT"),
        (from_the_mean, "should be 2,000.60 USDT, got 2,075.30 USDT"),
        (fixed_threshold, "threshold=0.02"),
    ],
    ids=lambda x: getattr(x, "__name__", "message"),
)
def test_a_function_with_a_subtle_slip_fails_a_hidden_case(wrong, shows):
    # a student whose visible case does not give the slip away (threshold 0.05, one outlier)
    ex = next(
        e for e in (lesson01.Exercises(seed=s) for s in range(200))
        if e.task(5).threshold == 0.05
        and e.check(5, wrong).message.startswith("a hidden case failed")
    )
    fb = ex.check(5, wrong)
    assert fb.status == "wrong" and shows in fb.message, fb
    assert LESSON in fb.hint


def test_arguments_are_fresh_lists_so_editing_them_is_harmless(demo):
    def index(quotes, weights, threshold):
        assert isinstance(quotes, list) and isinstance(weights, list)
        result = hand_index(quotes, weights, threshold)
        quotes.clear()
        weights.clear()
        return result

    before = demo.task(5).numbers
    assert demo.check(5, index).correct
    assert demo.check(5, index).correct
    assert demo.task(5).numbers == before


def test_hidden_cases_cover_the_rule_and_are_clear_of_the_threshold():
    cases = lesson01.INDEX_FUNCTION.answer.hidden
    n_out = [sum(outliers(c["quotes"], c["threshold"])) for c in cases]
    assert {0, 1, 2} <= set(n_out)
    assert any(k >= 2 and len(c["quotes"]) % 2 == 0 for k, c in zip(n_out, cases))  # median of an even count
    assert any(len(set(c["weights"])) > 1 for c in cases)
    assert any(abs(sum(c["weights"]) - 1) > 1e-9 for c in cases)
    assert {c["threshold"] for c in cases} >= {0.02, 0.05, 0.1}
    for c in cases:  # no venue near the threshold: a > vs >= or a ratio form cannot matter
        m = statistics.median(c["quotes"])
        for q in c["quotes"]:
            assert abs(abs(q - m) / m - c["threshold"]) > 0.1 * c["threshold"], c


# ---------------------------------------------------------------- expected answers vs published numbers and hand
def test_aevo_published_example():
    # Aevo (1-hour funding): index 2,000, rate 0.005, half an hour to funding → Price 1 = 2,005.
    n = {"index": 2_000, "funding_rate": 0.005, "time_to_funding": 0.5, "interval": 1}
    assert lesson01.FUNDING_PRICE.expected(n) == pytest.approx(2_005, abs=CENT)
    # the notebook's median-of-three example: P1 2,005, P2 2,003, last 2,010 → 2,005
    assert lesson01.MEDIAN3.expected({**n, "basis_ma": 3, "last": 2_010}) == pytest.approx(2_005, abs=CENT)
    assert lesson01.MEDIAN3.expected({**n, "basis_ma": 3, "last": 1_900}) == pytest.approx(2_003, abs=CENT)


def test_index_expectations_on_known_cases():
    # 80 is > 5 % from the median 100.25 of (100, 100.5, 101, 80): weight 0
    n = {"quotes": (100.0, 100.5, 101.0, 80.0), "weights": (1, 1, 1, 1), "threshold": 0.05}
    assert lesson01.INDEX.expected(n) == pytest.approx(100.5)
    n = {"quotes": (2_000.0, 2_002.0, 2_150.0, 1_999.0), "weights": (2, 2, 5, 1), "threshold": 0.05}
    assert lesson01.INDEX.expected(n) == pytest.approx(2_000.6)
    for case in lesson01.INDEX_FUNCTION.answer.hidden:
        assert lesson01.INDEX_FUNCTION.expected(case) == pytest.approx(hand_index(**case), abs=1e-9)


@pytest.mark.parametrize("seed", range(80))
def test_drawn_numbers_make_the_intended_exercise(seed):
    ex = lesson01.Exercises(seed=seed)
    key = ex.answer_key()
    # 1: never half the interval to go (there "time to funding" and "time elapsed" coincide)
    t = ex.task(1)
    assert 0 < t.time_to_funding < t.interval and t.time_to_funding != t.interval / 2
    # 2 and 5: exactly one venue beyond the threshold, and well beyond; the others well within
    for n in (2, 5):
        t = ex.task(n)
        m = statistics.median(t.quotes)
        dev = sorted(abs(q - m) / m for q in t.quotes)
        assert dev[-1] > 1.2 * t.threshold and dev[-2] < 0.1 * t.threshold
        assert abs(sum(t.weights) - 1) < 1e-9 and len(set(t.weights)) > 1
    assert ex.task(2).venues == ("Binance", "OKX", "Coinbase", "Kraken", "Bitstamp") and ex.task(2).threshold == 0.05
    # 3: the last price is a wick, never the mark: the mark is Price 1 or Price 2
    t = ex.task(3)
    p1 = hand_price1(t.index, t.funding_rate, t.time_to_funding, t.interval)
    assert abs(t.last - t.index) > 0.01 * t.index
    assert key[3] == pytest.approx(min((p1, t.index + t.basis_ma), key=lambda p: abs(p - t.last)), abs=CENT)
    # 4: irregular times, one sample exactly on the window's edge, at least three inside
    t = ex.task(4)
    assert list(t.times) == sorted(set(t.times)) and len({b - a for a, b in zip(t.times, t.times[1:])}) > 1
    assert t.times[-1] - t.window in t.times
    assert sum(t.times[-1] - t.window < s for s in t.times) >= 3
    # 6: a first-tier position whose liquidation price is the one-tier formula's, well clear of
    # every price of the series, and not liquidated before the wick
    t = ex.task(6)
    assert t.qty * max(t.entry, t.liquidation) < 50_000
    assert t.liquidation == pytest.approx(hand_lp_tier1(t), abs=CENT)
    marks = hand_marks(t)
    assert min(abs(p - t.liquidation) for p in (*t.last, *marks)) > 5
    wick = next(k for k, (p, i) in enumerate(zip(t.last, t.index)) if abs(p - i) > 0.02 * i)
    assert not any(hand_liquidated(t, p) for p in (*t.last[:wick], *marks[:wick]))
    assert not (key[6]["on_mark"] and not key[6]["on_last"])  # the mark never goes further than the wick


def test_the_wick_exercise_has_all_three_outcomes():
    outcomes = [tuple(lesson01.Exercises(seed=s).answer_key()[6].values()) for s in range(60)]
    assert set(outcomes) == {(True, False), (False, False), (True, True)}
    # the lesson's case, liquidated at the last price but not at the mark, is the most common
    assert max(set(outcomes), key=outcomes.count) == (True, False)


def test_library_liquidation_matches_the_shown_price(demo):
    t = demo.task(6)
    p = tm.IsolatedPosition.open(tm.load_table("binance-usdm-btcusdt-2021"), t.side, t.qty, t.entry, t.leverage)
    assert round(float(p.liquidation_price().price), 2) == t.liquidation
    assert p.tier(t.entry) == p.liquidation_price().tier == 1

