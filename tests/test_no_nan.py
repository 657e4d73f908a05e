"""Issue 19 #8: inputs that used to give NaN are refused, or give the finite answer they mean."""

import numpy as np
import pytest

from tiermargin import markprice as mp
from tiermargin.cross import Haircut
from tiermargin.market import synthetic_market
from tiermargin.tiers import maintenance_amounts


def test_a_haircut_with_a_repeated_infinite_bound_is_refused():
    with pytest.raises(ValueError, match="bounds must start at 0, increase"):
        Haircut([0, np.inf, np.inf], [1, 0.5])
    assert Haircut([0, np.inf], [0.5]).value(100) == 50.0


def test_maintenance_amounts_validate_their_input():
    for floors, mmr, match in [([0, np.nan], [0.1, 0.2], "floors must be finite"),
                               ([0, -1], [0.1, 0.2], "floors must be >= 0"),
                               ([0, 1], [0.1], "of one length"),
                               ([0, 1], [0.1, np.inf], "mmr must be finite")]:
        with pytest.raises(ValueError, match=match):
            maintenance_amounts(floors, mmr)
    assert maintenance_amounts([0, 50_000, 250_000], [0.004, 0.005, 0.01]).tolist() == [0.0, 50.0, 1_300.0]


def test_a_window_below_the_float_resolution_of_the_times_holds_the_sample_itself():
    # 1e9 + 1e-9 == 1e9 in floats: the window (t − w, t] used to hold nothing → 0/0.
    ma = mp.basis_moving_average([1e9, 1e9 + 1], [1.0, 3.0], 1e-9)
    assert ma.tolist() == [1.0, 3.0]


def test_synthetic_market_checks_premium_and_venue_noise():
    for kw, match in [({"premium": np.nan}, "premium must be finite"), ({"premium": 2.0}, "premium must be"),
                      ({"venue_noise": -0.1}, "venue_noise must be >= 0"), ({"venue_noise": 5}, "at most 0.05")]:
        with pytest.raises(ValueError, match=match):
            synthetic_market(**kw)
    assert np.all(np.isfinite(synthetic_market(seed=3).last))
