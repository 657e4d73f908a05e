"""Every figure of the course uses the colour-blind-safe palette (``plots.PALETTE``), greys, or light
tints of them: the explorers' and plots' artists, and the colours the lessons' own cells name."""

import json
import re
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import Collection
from matplotlib.colors import to_rgb
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text

import tiermargin.widgets as widgets
from tiermargin import load_table, plots

matplotlib.use("Agg")
ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted([*ROOT.glob("lessons/*.ipynb"), *ROOT.glob("exercises/solutions/*.ipynb"),
                    ROOT / "calculator" / "calculator.ipynb"])
WHITE = np.ones(3)


def allowed(color) -> bool:
    """A grey, a palette colour mixed with white (share 1 = the colour itself), or a colour of the
    health colormap (ColorBrewer's RdBu, diverging and colour-blind safe) for its surface's key."""
    rgb = np.array(to_rgb(color))
    if np.ptp(rgb) < 0.02 or np.abs(plots.HEALTH_CMAP.colors[:, :3] - rgb).max(axis=1).min() < 1e-6:
        return True
    for p in map(np.array, map(to_rgb, plots.PALETTE.values())):
        share = np.dot(WHITE - rgb, WHITE - p) / np.dot(WHITE - p, WHITE - p)
        if 0 < share <= 1.0 + 1e-9 and np.allclose(WHITE - share * (WHITE - p), rgb, atol=0.02):
            return True
    return False


def test_the_check_tells_palette_tints_and_greys_from_other_colours():
    assert allowed("#0072B2") and allowed(plots.tint(plots.PALETTE["vermillion"], 0.15)) and allowed("0.55")
    assert not allowed("tab:red") and not allowed("tab:green") and not allowed("#ff00ff")


def colours(fig) -> set[str]:
    """The colours of every line, patch, text box and collection in ``fig`` (colour-mapped images and
    meshes are left to their colormap)."""
    found: set = set()
    for artist in fig.findobj():
        if isinstance(artist, Line2D):
            found |= {artist.get_color(), artist.get_markerfacecolor(), artist.get_markeredgecolor()}
        elif isinstance(artist, Patch) and artist.get_visible():
            found |= {tuple(artist.get_facecolor()), tuple(artist.get_edgecolor())}
        elif isinstance(artist, Text):
            found.add(artist.get_color())
        elif isinstance(artist, Collection) and artist.get_array() is None:
            found |= {tuple(c) for c in artist.get_facecolor()} | {tuple(c) for c in artist.get_edgecolor()}
    return {matplotlib.colors.to_hex(c, keep_alpha=False) for c in found
            if not (isinstance(c, str) and c == "none") and matplotlib.colors.to_rgba(c)[3] > 0}


@pytest.mark.parametrize("name", [n for n in widgets.__all__ if n != "Explorer"])
def test_every_explorer_figure_uses_the_palette(name):
    explorer = getattr(widgets, name)()
    try:
        explorer.static_png()
        bad = sorted(c for c in colours(explorer.fig) if not allowed(c))
        assert not bad, f"{name} draws colours outside plots.PALETTE: {bad}"
        bad = sorted(kw.get("color", kw.get("colors")) for _, kw in explorer.key_style.values()
                     if not allowed(kw.get("color", kw.get("colors"))))
        assert not bad, f"{name}'s key names colours outside plots.PALETTE: {bad}"
    finally:
        plt.close(explorer.fig)


def test_the_plots_functions_use_the_palette():
    figs = [plots.cascade_loop()]
    fig, ax = plt.subplots()
    plots.plot_max_leverage(ax, load_table("binance-usdm-btcusdt-2021"))
    figs.append(fig)
    for fig in figs:
        assert not sorted(c for c in colours(fig) if not allowed(c))
        plt.close(fig)
    assert all(allowed(c) for c in plots.CYCLE)


COLOUR_LITERAL = re.compile(r"""(?<!PALETTE\[)["'](tab:\w+|C\d|#[0-9a-fA-F]{3,8}|red|green|blue|orange|purple)["']""")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_lesson_cells_name_colours_from_the_palette(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    named = [m.group(1) for cell in nb["cells"] if cell["cell_type"] == "code"
             for m in COLOUR_LITERAL.finditer("".join(cell["source"]))]
    assert not named, f"{path.name} names colours outside plots.PALETTE (use plots.PALETTE[...]): {named}"


PLOT_CALL = re.compile(r"\.(plot|step|scatter|stairs|bar|barh|fill_between|errorbar|hist|axhline|axvline)\(")
COLOURED = re.compile(r"""\b(color|colors|cmap|fc|facecolor)=|^\s*[^()]*["']k[-.*o:]*["']""")


def _call_arguments(source: str, start: int) -> str:
    """The text between the parenthesis opened at ``source[start - 1]`` and its match."""
    depth, i = 1, start
    while depth:
        depth += {"(": 1, ")": -1}.get(source[i], 0)
        i += 1
    return source[start:i - 1]


def uncoloured_calls(source: str) -> list[str]:
    """Plotting calls in ``source`` that leave the colour to matplotlib's default cycle (not the palette).

    >>> uncoloured_calls('ax.plot(x, y, lw=2)\\nax.plot(x, y, color=c)\\nax.plot(x, y, "k*")')
    ['ax.plot(x, y, lw=2)']
    """
    found = []
    for m in PLOT_CALL.finditer(source):
        args = _call_arguments(source, m.end())
        if not any(COLOURED.search(part) for part in [args, *args.split(",")]):
            line_start = source.rfind("\n", 0, m.start()) + 1
            found.append(source[line_start:m.end() + len(args) + 1].strip())
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_lesson_plotting_calls_pick_their_colour(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    calls = [c for cell in nb["cells"] if cell["cell_type"] == "code" for c in uncoloured_calls("".join(cell["source"]))]
    assert not calls, f"{path.name}: plotting calls on matplotlib's default colours (pass color=plots.PALETTE[...]): {calls}"
