"""``Explorer.set`` (issue 19 #5): it sets controls as a user would — each control's reaction runs,
the values given win over reactions to others, and a value a control cannot hold as given is refused
(never clipped or converted), naming the control and what it allows."""

import math

import matplotlib

matplotlib.use("Agg")

import ipywidgets as W  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from tiermargin.tiers import table_info  # noqa: E402
from tiermargin.widgets import Explorer, IsolatedExplorer, MarkPriceExplorer  # noqa: E402
from tiermargin.widgets.isolated import EXAMPLES  # noqa: E402

INVERSE = "bybit-xyzusd-inverse-illustration"


@pytest.fixture
def ex():
    e = IsolatedExplorer()
    yield e
    plt.close(e.fig)


def values(e, *names):
    return {k: e.controls[k].value for k in names}


def test_a_table_of_the_other_contract_kind_is_refused_by_name_not_a_trait_error(ex):
    before = values(ex, *ex.controls)
    with pytest.raises(ValueError, match=r"^table must be one of 'binance-usdm-btcusdt-2021'.*; got 'bybit-xyzusd"):
        ex.set(table=INVERSE)
    assert values(ex, *ex.controls) == before and ex.last_error is None


def test_the_contract_runs_its_reaction_an_inverse_table_with_its_example(ex):
    ex.set(contract="inverse")
    table = ex.controls["table"].value
    assert table_info(table)["contract"] == "inverse" and ex.state["position"].table.contract.kind == "inverse"
    entry, qty = EXAMPLES[table]
    assert values(ex, "entry", "qty", "mark") == {"entry": entry, "qty": qty, "mark": entry}
    ex.set(table=INVERSE)  # now a choice
    assert ex.state["position"].table.id == INVERSE and ex.last_error is None


def test_the_entry_re_ranges_the_mark_instead_of_leaving_it_at_the_old_price(ex):
    ex.set(entry=1000)
    m = ex.controls["mark"]
    assert (m.min, m.value, m.max) == pytest.approx((300, 1000, 1700))
    assert ex.state["position"].entry == 1000 and ex.state["value"] == pytest.approx(17 * 1000)


@pytest.mark.parametrize("order", ["contract first", "entry first"])
def test_values_given_win_over_the_reactions_to_other_values(ex, order):
    kw = {"contract": "inverse", "entry": 1000.0}
    ex.set(**(kw if order == "contract first" else dict(reversed(kw.items()))))
    table = ex.controls["table"].value
    assert table_info(table)["contract"] == "inverse"
    assert values(ex, "entry", "qty", "mark") == {"entry": 1000.0, "qty": EXAMPLES[table][1], "mark": 1000.0}
    assert ex.state["position"].entry == 1000 and ex.last_error is None


def test_a_tiny_entry_is_the_librarys_message_and_the_explorer_recovers(ex):
    ex.set(entry=5e-324)  # was a ZeroDivisionError re-ranging the mark slider
    assert ex.last_error.startswith("entry must be at least 1e-100")
    assert ex.controls["mark"].value == 60_000  # a price the library refuses does not re-range the mark
    ex.set(entry=60_000.0)
    assert ex.last_error is None and ex.state["position"].entry == 60_000


@pytest.mark.parametrize(("name", "error", "message"), [
    ("entry", TypeError, "entry must be a real number; got None"),
    ("table", ValueError, "table must be one of .*; got None"),
    ("side", ValueError, "side must be one of 'long', 'short'; got None"),
    ("leverage", TypeError, "leverage must be a real number; got None"),
])
def test_none_is_refused_by_name(ex, name, error, message):
    with pytest.raises(error, match=f"^{message}$"):
        ex.set(**{name: None})
    assert ex.last_error is None


def test_a_leverage_beyond_the_slider_is_refused_not_clipped(ex):
    with pytest.raises(ValueError, match=r"^leverage must be between 1 and 125 \(the slider's range\); got 1000$"):
        ex.set(leverage=1000)
    assert ex.controls["leverage"].value == 10


@pytest.mark.parametrize(("kw", "message"), [
    ({"qty": True}, "qty must be a real number; got True"),
    ({"entry": "2"}, "entry must be a real number; got '2'"),
    ({"mark": math.nan}, r"mark must be between 18,000 and 102,000 \(the slider's range\); got nan"),
])
def test_nothing_is_converted(ex, kw, message):
    with pytest.raises((TypeError, ValueError), match=f"^{message}$"):
        ex.set(**kw)


def test_a_choice_is_matched_by_kind_and_an_integer_control_takes_only_integers():
    e = MarkPriceExplorer()
    try:
        with pytest.raises(ValueError, match=r"^stale must be one of -1, 0, 1, 2, 3; got True$"):
            e.set(stale=True)  # == 1, but not the venue 1
        with pytest.raises(TypeError, match=r"^seed must be an integer; got 2.5$"):
            e.set(seed=2.5)
        with pytest.raises(ValueError, match=r"^window must be between 15 and 1,800 .*; got 10$"):
            e.set(window=10)
        assert e.controls["stale"].value == -1 and e.controls["seed"].value == 1 and e.controls["window"].value == 300
    finally:
        plt.close(e.fig)


def test_setting_nothing_just_updates(ex):
    before = values(ex, *ex.controls)
    ex.set()
    assert values(ex, *ex.controls) == before and ex.last_error is None


def test_values_before_a_refused_one_stay_set_and_are_shown(ex):
    with pytest.raises(ValueError, match=r"^mark must be between 300 and 1,700"):
        ex.set(entry=1000.0, mark=5000.0)  # the range is the new entry's
    assert ex.controls["entry"].value == 1000 and ex.state["position"].entry == 1000


class _Tug(Explorer):
    """Two controls whose reactions set each other (no real explorer has such a loop)."""

    def _controls(self):
        return {"a": W.FloatText(value=0.0), "b": W.FloatText(value=0.0)}

    def _build_plot(self):
        pass

    def update(self):
        self.state = {k: c.value for k, c in self.controls.items()}

    def _on_control(self, name):
        other = "b" if name == "a" else "a"
        self.controls[other].value = self.controls[name].value + 1


def test_reactions_that_keep_overwriting_the_values_given_are_an_error():
    e = _Tug()
    try:
        e.set(a=1.0)  # one value: its reaction moves b, which was not given
        assert e.state == {"a": 1.0, "b": 2.0}
        with pytest.raises(ValueError, match=r"^the reactions to controls \[.*\] overwrite each other: set them"):
            e.set(a=5.0, b=7.0)
        assert e.state == {k: c.value for k, c in e.controls.items()}  # shown as left
    finally:
        plt.close(e.fig)
