"""Every explorer displays as a live widget with a static PNG of its current state as a fallback."""

import base64
from html import escape

import matplotlib
import numpy as np
import matplotlib.pyplot as plt
import pytest

import tiermargin.widgets as widgets
from tiermargin.plots import FrameBlit

matplotlib.use("Agg")
EXPLORERS = [getattr(widgets, name) for name in widgets.__all__ if name != "Explorer"]


@pytest.fixture(params=EXPLORERS, ids=lambda cls: cls.__name__)
def explorer(request):
    e = request.param()
    yield e
    plt.close(e.fig)


def test_the_display_bundle_holds_the_widget_a_static_figure_and_a_note(explorer):
    bundle = explorer._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == explorer.view.model_id
    png = base64.b64decode(bundle["image/png"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    fig_width, fig_height = (72 * x for x in explorer.fig.get_size_inches())
    # the figure (cropped to what it draws) with its key as a legend below: taller than wide margins
    assert 0.8 * fig_width < width < 1.1 * fig_width and height > 0.8 * fig_height
    assert "static figure" in bundle["text/plain"]


def test_the_static_figure_carries_the_key_shown_beside_the_live_one(explorer, monkeypatch):
    """The HTML key is outside the image, so the PNG gets the same entries as a legend (and the live
    figure gets none: the legend goes once the image is saved)."""
    seen = []
    save = explorer.fig.savefig

    def savefig(*args, **kwargs):
        seen.append([t.get_text() for legend in explorer.fig.legends for t in legend.get_texts()])
        return save(*args, **kwargs)

    monkeypatch.setattr(explorer.fig, "savefig", savefig)
    explorer.static_png()
    labels = [label for label, _ in explorer.key_style.values()]
    assert labels, "the explorer shows no key"
    assert all(escape(label) in explorer.key.value for label in labels)  # the HTML key shows them too
    assert seen == [labels]
    assert explorer.fig.legends == []


# a control per explorer that moves something on its figure, and the new value
MOVES = {"IsolatedExplorer": ("mark", 58_000.0), "CrossExplorer": ("btc", 55_000.0),
         "MarkPriceExplorer": ("wick_depth", 0.3), "TierExplorer": ("size", 5e6),
         "RiskFundExplorer": ("replay", 12.0), "LiquidationExplorer": ("policy", "full"),
         "CascadeExplorer": ("size", 0.1)}


def test_every_explorer_has_a_move_checked():
    assert set(MOVES) == {cls.__name__ for cls in EXPLORERS}


def test_the_static_figure_follows_the_state(explorer):
    before = explorer.static_png()
    name, value = MOVES[type(explorer).__name__]
    explorer.controls[name].value = value
    assert explorer.last_error is None
    assert explorer.static_png() != before, f"moving {name} did not change the static figure"


def test_an_ipympl_canvas_gets_a_data_url_the_browser_can_load():
    from traitlets import Any, HasTraits

    from tiermargin.widgets.base import prefix_data_url

    class FakeCanvas(HasTraits):  # the trait as ipympl declares it (importing ipympl would switch the backend)
        _data_url = Any(None)

    canvas = FakeCanvas()
    canvas._data_url = "iVBORw0KGgo="  # what ipympl 0.10.0 stores: bare base64
    prefix_data_url(canvas)
    assert canvas._data_url == "data:image/png;base64,iVBORw0KGgo="
    canvas._data_url = "AAAA"
    assert canvas._data_url == "data:image/png;base64,AAAA"
    canvas._data_url = "data:image/png;base64,BBBB"
    assert canvas._data_url == "data:image/png;base64,BBBB"


def test_a_full_draw_of_the_live_canvas_keeps_the_blitted_artists(explorer):
    """The front end's first show of a figure (or a resize) is a full draw, which leaves the blitted
    (animated) artists out: the plot paints every one of them back over the new frame."""
    assert explorer.blit  # headless, every explorer blits
    moving = [a for a in explorer.fig.findobj(lambda artist: artist.get_animated()) if a.get_visible()]
    if not isinstance(explorer.plot, FrameBlit):  # a plot that never blits: a full draw draws it all
        assert not moving
        return
    assert moving, "nothing is blitted"
    drawn = []
    for artist in moving:
        artist.draw = (lambda draw, a: lambda renderer: (drawn.append(a), draw(renderer))[1])(artist.draw, artist)
    explorer.fig.canvas.draw()
    assert set(map(id, moving)) <= set(map(id, drawn))
