"""Headless tests of MarkPriceExplorer: set a control, compare with the library."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import tiermargin as tm  # noqa: E402
from tiermargin import markprice as mp  # noqa: E402
from tiermargin.market import Wick, synthetic_market  # noqa: E402
from tiermargin.widgets import MarkPriceExplorer  # noqa: E402


@pytest.fixture
def ex():
    import matplotlib.pyplot as plt

    e = MarkPriceExplorer()
    yield e
    plt.close(e.fig)


def library(window=300, threshold=0.05, weights=(1, 1, 1, 1), depth=0.2, where="last", stale=None, form="okx"):
    m = synthetic_market(seed=1, wick=Wick(1_800, 60, depth, where), stale_venue=stale, stale_from=2_400)
    return m, mp.mark_prices(m, window, threshold, list(weights), max_age=30, form=form)


def test_default_wick_liquidates_by_last_trade_not_by_mark(ex):
    m, r = library()
    np.testing.assert_allclose(ex.plot.mark_line.get_ydata(), r.mark)
    np.testing.assert_allclose(ex.plot.last_line.get_ydata(), m.last)
    pos = tm.IsolatedPosition.open(tm.load_table("binance-usdm-btcusdt-2021"), "long", 1, r.mark[0], 10)
    assert ex.state["liquidation_price"] == pytest.approx(pos.liquidation_price().price)
    assert ex.state["first_by_last"] == pos.first_liquidation(m.last) is not None
    assert ex.state["first_by_mark"] is None and len(ex.plot.by_mark.get_xdata()) == 0
    assert "minute 30" in ex.readout.value and "never" in ex.readout.value


def test_window_and_form_follow_the_library(ex):
    ex.set(window=60, form="median3")
    _, r = library(window=60, form="median3")
    np.testing.assert_allclose(ex.state["marks"].mark, r.mark)
    np.testing.assert_allclose(ex.plot.mark_line.get_ydata(), r.mark)


def test_a_spot_venue_wick_is_dropped_from_the_index(ex):
    ex.set(wick_where=2)
    _, r = library(where=2)
    bottom = int(np.argmin(np.abs(ex.state["market"].times - 1_830)))
    assert ex.state["marks"].index.weight[bottom, 2] == 0
    np.testing.assert_allclose(ex.plot.index_line.get_ydata(), r.index.price)
    ex.controls["threshold"].value = 0.25  # now the 20 % dip is within the threshold
    assert ex.state["marks"].index.weight[bottom, 2] > 0


def test_stale_venue_and_weights(ex):
    ex.set(stale=1, **{"weight OKX": 0.5})
    _, r = library(stale=1, weights=(1, 0.5, 1, 1))
    np.testing.assert_allclose(ex.state["marks"].index.price, r.index.price)
    assert ex.state["marks"].index.weight[-1, 1] == 0


def test_bad_weights_show_an_error_and_keep_the_last_state(ex):
    before = ex.state["marks"].mark.copy()
    ex.set(**{f"weight {v}": 0.0 for v in ("Binance", "OKX", "Coinbase", "Kraken")})
    assert "weights must be" in ex.last_error and "weights must be" in ex.error.value
    np.testing.assert_array_equal(ex.state["marks"].mark, before)


def test_short_position_and_a_spike(ex):
    ex.set(side="short", wick_depth=-0.25)
    m, r = library(depth=-0.25)
    pos = tm.IsolatedPosition.open(tm.load_table("binance-usdm-btcusdt-2021"), "short", 1, r.mark[0], 10)
    assert ex.state["first_by_last"] == pos.first_liquidation(m.last)
    assert ex.state["first_by_mark"] is None
