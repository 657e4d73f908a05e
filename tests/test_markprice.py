"""Index, basis moving average and mark price (docs/formulas.md#mark-price-index-and-basis)."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tiermargin import markprice as mp
from tiermargin.market import Wick, synthetic_market


# ---------------------------------------------------------------- published example
def test_aevo_funding_price_2005():
    # Aevo (1-hour interval): index 2,000, funding rate 0.005, half the interval to go → 2,005.
    assert mp.funding_price(2_000, 0.005, 0.5, 1.0) == pytest.approx(2_005.0)
    assert mp.funding_price(2_000, 0.005, 1_800, 3_600) == pytest.approx(2_005.0)


# ---------------------------------------------------------------- index rules
def test_equal_weights_average_when_all_agree():
    assert mp.index_price([100.0, 101.0, 102.0]).price[0] == pytest.approx(101.0)


def test_weights_are_used():
    r = mp.index_price([100.0, 102.0], weights=[3, 1])
    assert r.price[0] == pytest.approx(100.5)
    np.testing.assert_allclose(r.weight[0], [0.75, 0.25])


def test_one_venue_beyond_threshold_gets_weight_zero():
    r = mp.index_price([100.0, 100.5, 101.0, 80.0])  # 80 is > 5 % from the median 100.25
    assert r.weight[0, 3] == 0 and not r.median_used[0]
    assert r.price[0] == pytest.approx(100.5)


def test_more_than_one_deviating_uses_the_median_of_all():
    r = mp.index_price([100.0, 100.5, 101.0, 80.0, 130.0])
    assert r.median_used[0] and r.price[0] == pytest.approx(100.5)
    assert np.all(r.weight[0] == 0)


def test_threshold_is_a_parameter():
    assert mp.index_price([100.0, 100.0, 104.0], threshold=0.03).weight[0, 2] == 0
    assert mp.index_price([100.0, 100.0, 104.0], threshold=0.05).weight[0, 2] > 0


def test_stale_venue_is_dropped():
    quotes = np.array([[100.0, 101.0, 50.0]])
    r = mp.index_price(quotes, quote_times=[[10.0, 10.0, 0.0]], times=[10.0], max_age=5)
    assert r.weight[0, 2] == 0 and r.price[0] == pytest.approx(100.5)


def test_vectorized_over_time():
    q = np.array([[100.0, 101.0, 102.0], [200.0, 202.0, 150.0]])
    np.testing.assert_allclose(mp.index_price(q).price, [101.0, 201.0])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"quotes": []}, "quotes"),
        ({"quotes": [100.0, 0.0]}, "quotes"),
        ({"quotes": [100.0, float("nan")]}, "quotes"),
        ({"quotes": [[[1.0]]]}, "shape"),
        ({"quotes": [100.0, 101.0], "weights": [1.0]}, "weights"),
        ({"quotes": [100.0, 101.0], "weights": [0.0, 0.0]}, "weights"),
        ({"quotes": [100.0, 101.0], "weights": [1.0, -1.0]}, "weights"),
        ({"quotes": [100.0, 101.0], "threshold": 0}, "threshold"),
        ({"quotes": [100.0, 101.0], "max_age": 5}, "together"),
        ({"quotes": [[100.0, 101.0]], "quote_times": [[0.0, 0.0]], "times": [100.0], "max_age": 5}, "stale"),
        ({"quotes": [[100.0, 101.0]], "quote_times": [[0.0]], "times": [1.0], "max_age": 5}, "shape"),
        ({"quotes": [[100.0, 101.0]], "quote_times": [[5.0, 5.0]], "times": [1.0], "max_age": 5}, "after"),
    ],
)
def test_index_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        mp.index_price(**kwargs)


# ---------------------------------------------------------------- moving average and mark
def test_basis_moving_average_matches_brute_force_on_irregular_samples():
    rng = np.random.default_rng(3)
    t = np.cumsum(rng.uniform(0.1, 3.0, 200))
    b = rng.normal(0, 5, 200)
    ma = mp.basis_moving_average(t, b, 10.0)
    brute = [b[(t > ti - 10.0) & (t <= ti)].mean() for ti in t]
    np.testing.assert_allclose(ma, brute)


@pytest.mark.parametrize(
    "args, match",
    [
        (([2.0, 1.0], [0.0, 0.0], 1.0), "sorted"),
        (([1.0, 2.0], [0.0], 1.0), "one entry per sample"),
        (([1.0, 2.0], [0.0, 0.0], 0.0), "window"),
        (([], [], 1.0), "basis"),
        (([1.0, 2.0], [0.0, float("inf")], 1.0), "basis"),
    ],
)
def test_moving_average_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        mp.basis_moving_average(*args)


def test_mark_and_median_of_three():
    assert mp.mark_price(100.0, 1.5) == pytest.approx(101.5)
    # P1 = 2,005, P2 = 2,000 + 3 = 2,003, last 2,010 → median 2,005
    assert mp.funding_mark_price(2_000, 3.0, 2_010, 0.005, 0.5, 1.0) == pytest.approx(2_005.0)
    with pytest.raises(ValueError, match="time_to_funding"):
        mp.funding_price(2_000, 0.005, 2.0, 1.0)
    with pytest.raises(ValueError, match="last"):
        mp.funding_mark_price(2_000, 3.0, 0.0, 0.005, 0.5, 1.0)


# ---------------------------------------------------------------- properties
prices = st.floats(50.0, 200.0)


@given(st.lists(prices, min_size=1, max_size=8), st.floats(0.01, 0.3))
def test_index_lies_within_the_accepted_sources(quotes, th):
    r = mp.index_price(quotes, threshold=th)
    q = np.array(quotes)
    accepted = q[r.weight[0] > 0] if not r.median_used[0] else q
    assert accepted.min() - 1e-9 <= r.price[0] <= accepted.max() + 1e-9


@given(st.lists(st.floats(99.0, 101.0), min_size=3, max_size=8), st.floats(1e-3, 1e6),
       st.integers(0, 7), st.floats(0.01, 0.2))
def test_one_bad_source_never_moves_the_index_beyond_the_threshold(good, bad, where, th):
    q = np.array(good)
    q[where % q.size] = bad
    med = np.median(q)
    assert abs(mp.index_price(q, threshold=th).price[0] - med) <= th * med * (1 + 1e-12)


@given(st.floats(-500, 500), st.lists(st.floats(0.01, 10.0), min_size=1, max_size=50), st.floats(0.1, 100.0))
def test_moving_average_of_a_constant_basis_is_that_constant(c, gaps, window):
    t = np.cumsum(gaps)
    np.testing.assert_allclose(mp.basis_moving_average(t, np.full(t.size, c), window), c, atol=1e-9)


@given(st.floats(100, 1e5), st.floats(-50, 50), st.floats(100, 1e5), st.floats(-0.01, 0.01), st.floats(0, 1))
def test_median_of_three_lies_between_its_components(index, ma, last, rate, frac):
    p1 = mp.funding_price(index, rate, frac, 1.0)
    p2 = mp.mark_price(index, ma)
    assume(p2 > 0)
    m = mp.funding_mark_price(index, ma, last, rate, frac, 1.0)
    assert min(p1, p2, last) <= m <= max(p1, p2, last)


# ---------------------------------------------------------------- synthetic market
def test_synthetic_market_is_reproducible_and_aligned():
    a, b = synthetic_market(seed=5), synthetic_market(seed=5)
    np.testing.assert_array_equal(a.spot, b.spot)
    assert not np.array_equal(a.spot, synthetic_market(seed=6).spot)
    assert a.spot.shape == (a.times.size, len(a.venues)) == a.quote_times.shape
    assert a.last.shape == a.funding_rate.shape == a.time_to_funding.shape == a.times.shape


def test_wick_and_stale_venue_scenarios():
    calm = synthetic_market(seed=2)
    m = synthetic_market(seed=2, wick=Wick(1_800, 60, 0.2, "last"), stale_venue=1, stale_from=2_000)
    bottom = np.argmin(np.abs(m.times - 1_830))
    assert m.last[bottom] == pytest.approx(calm.last[bottom] * 0.8)
    assert np.all(m.quote_times[m.times >= 2_000, 1] == 2_000)
    spot_wick = synthetic_market(seed=2, wick=Wick(600, 30, 0.1, 2))
    assert spot_wick.spot[np.argmin(np.abs(spot_wick.times - 615)), 2] < calm.spot[np.argmin(np.abs(calm.times - 615)), 2] * 0.95



def test_a_market_wide_crash_moves_every_venue_and_the_last_trade_alike():
    calm = synthetic_market(seed=2)
    crash = synthetic_market(seed=2, wick=Wick(600, 600, 0.15, "all"))
    bottom = np.argmin(np.abs(crash.times - 900))
    np.testing.assert_allclose(crash.spot[bottom], calm.spot[bottom] * 0.85, rtol=1e-12)
    assert crash.last[bottom] == pytest.approx(calm.last[bottom] * 0.85, rel=1e-12)
    outside = (crash.times < 600) | (crash.times > 1_200)
    np.testing.assert_array_equal(crash.spot[outside], calm.spot[outside])

@pytest.mark.parametrize(
    "kwargs, match",
    [({"duration": 0}, "duration"), ({"step": -1}, "step"), ({"venues": ()}, "venues"),
     ({"stale_venue": 9}, "stale_venue"), ({"wick": Wick(0, 10, 0.1, 7)}, "wick.where")],
)
def test_synthetic_market_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        synthetic_market(**kwargs)


def test_wick_bad_input():
    for kw, match in [({"depth": 1.0}, "depth"), ({"duration": 0}, "duration"), ({"where": "spot"}, "where")]:
        with pytest.raises(ValueError, match=match):
            Wick(**{"start": 0, "duration": 10, "depth": 0.1, **kw})


def test_the_mark_ignores_a_wick_in_the_last_price():
    m = synthetic_market(seed=1, wick=Wick(1_800, 60, 0.2, "last"))
    idx = mp.index_price(m.spot).price
    mark = mp.mark_price(idx, mp.basis_moving_average(m.times, m.last - idx, 300))
    assert m.last.min() < 0.85 * m.last[0] and mark.min() > 0.95 * mark[0]


def test_mark_prices_pipeline_equals_the_steps():
    m = synthetic_market(seed=4, stale_venue=0, stale_from=1_000)
    r = mp.mark_prices(m, window=120, threshold=0.03, weights=[1, 2, 1, 1], max_age=30)
    idx = mp.index_price(m.spot, [1, 2, 1, 1], 0.03, m.quote_times, m.times, 30)
    np.testing.assert_allclose(r.index.price, idx.price)
    ma = mp.basis_moving_average(m.times, m.last - idx.price, 120)
    np.testing.assert_allclose(r.mark, idx.price + ma)
    r3 = mp.mark_prices(m, window=120, form="median3")
    idx3 = mp.index_price(m.spot).price
    ma3 = mp.basis_moving_average(m.times, m.last - idx3, 120)
    np.testing.assert_allclose(r3.mark, mp.funding_mark_price(idx3, ma3, m.last, m.funding_rate,
                                                              m.time_to_funding, m.funding_interval))
    with pytest.raises(ValueError, match="form"):
        mp.mark_prices(m, form="bybit")


def test_a_wick_liquidates_under_last_price_marking_only():
    import tiermargin as tm

    m = synthetic_market(seed=1, wick=Wick(1_800, 60, 0.2, "last"))
    mark = mp.mark_prices(m).mark
    pos = tm.IsolatedPosition.open(tm.load_table("binance-usdm-btcusdt-2021"), "long", 1, mark[0], 10)
    first = pos.first_liquidation(m.last)
    assert first is not None and 1_800 <= m.times[first] <= 1_860
    assert pos.first_liquidation(mark) is None


def test_no_weighted_fresh_venue_falls_back_to_the_median():
    q = np.array([[100.0, 101.0, 102.0, 90.0]])
    r = mp.index_price(q, weights=[0, 0, 0, 1], quote_times=[[5.0, 5.0, 5.0, 0.0]], times=[5.0], max_age=1)
    assert r.median_used[0] and r.price[0] == pytest.approx(101.0)
