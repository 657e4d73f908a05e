"""Headless tests of the margin calculator (issue 15 point 4): ``calculate`` and ``CalculatorExplorer``
against positions, derivations and comparisons computed here with the library directly; bad input
shows the library's message; a pasted ccxt tier list replaces the venue's table; the committed
notebook ``calculator/calculator.ipynb`` runs."""

import matplotlib

matplotlib.use("Agg")

import json  # noqa: E402
from html import escape  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

import tiermargin as tm  # noqa: E402
from tiermargin.derivation import num  # noqa: E402
from tiermargin.isolated_derivations import WHAT  # noqa: E402
from tiermargin.rules import PRESETS, compare, preset  # noqa: E402
from tiermargin.widgets import CalculatorExplorer  # noqa: E402
from tiermargin.widgets.base import fmt_amount, fmt_pct  # noqa: E402
from tiermargin.widgets.calculator import (  # noqa: E402
    DERIVATIONS, calculate, derivation_html, pasted_table, venue_choices,
)

NOTEBOOK = Path(__file__).resolve().parents[1] / "calculator" / "calculator.ipynb"
BTC = tm.load_table("binance-usdm-btcusdt-2021")


@pytest.fixture
def ex():
    e = CalculatorExplorer()
    yield e
    e.view.close()


def opened(book, side="long", notional=1_020_000.0, entry=60_000.0, leverage=10.0, table=None):
    """The position the calculator should open: ``notional`` USD at entry in ``book``'s contracts."""
    t = table if table is not None else book.margin(leverage)
    qty = notional / float(t.contract.usd_value(1.0, entry))
    return tm.IsolatedPosition.open(t, side, qty, entry, leverage, fee_rate=book.fee_rate,
                                    requirement_at=book.requirement_at, fee_at=book.fee_at)


def last_item(html: str) -> str:
    """The text of the derivation's last numbered line in the page's HTML."""
    return html.rsplit("<li", 1)[1].split(">", 1)[1].split("</li>", 1)[0]


def row(html: str, label: str) -> str:
    """A readout row's value cell (HTML) by its label."""
    cell = html.split(f">{escape(label)}</td>", 1)[1]
    return cell.split(">", 1)[1].split("</td>", 1)[0]


# ---------------------------------------------------------------------------- the model
def test_venues_are_the_presets_with_a_margin():
    assert list(venue_choices()) == [b.id for b in PRESETS.values() if b.has_margin]
    assert "coinw" not in venue_choices() and "drift" in venue_choices()


@pytest.mark.parametrize("venue", [v for v in venue_choices() if not v.startswith("bybit")])
@pytest.mark.parametrize("side,mark", [("long", 58_000.0), ("short", 61_000.0)])
def test_every_figure_is_the_librarys(venue, side, mark):
    book = preset(venue)
    c = calculate(venue, side, 1_020_000, 60_000, 10, mark)
    p, f = opened(book, side), c.figures
    assert f["contracts"] == pytest.approx(float(p.qty)) and f["margin"] == pytest.approx(float(p.margin))
    s = p.summary(mark)
    for key in ("maintenance_margin", "requirement", "equity", "health", "ratio_legacy", "ratio_legacy_threshold",
                "ratio_coinw", "ratio_binance", "liquidation_price", "bankruptcy_price"):
        assert f[key] == pytest.approx(float(s[key]), rel=1e-12), key
    assert f["fee_reserve"] == pytest.approx(float(p.fee_reserve(mark)))
    assert f["tier"] == (p.tier(mark) if isinstance(c.table, tm.TierTable) else None)
    lp, bp = p.liquidation_price(), p.bankruptcy_price()
    assert f["liquidation_exists"] == lp.exists and f["liquidation_tier"] == lp.tier
    assert f["liquidation_display"] == book.round_price(lp.price, float(p.side))
    assert f["bankruptcy_display"] == book.round_price(bp.price, float(p.side))
    assert set(c.derivations) == set(WHAT) == set(DERIVATIONS)
    assert c.derivations["liquidation_price"].result == pytest.approx(lp.price, rel=1e-9)
    assert c.derivations["bankruptcy_price"].result == pytest.approx(bp.price, rel=1e-9)
    assert c.derivations["health"].result == pytest.approx(float(p.health(mark)), rel=1e-9, abs=1e-9)
    assert c.derivations["requirement"].result == pytest.approx(float(p.requirement(mark)), rel=1e-9)
    assert c.derivations["ratio_binance"].result == pytest.approx(float(p.margin_ratios(mark).binance), rel=1e-9)


def test_the_comparison_is_compare_with_this_venue_first():
    c = calculate("okx", "long", 1_020_000, 60_000, 10, 58_000)
    others = [b for b in PRESETS.values() if b.has_margin and b.id != "okx"]
    expected = compare("long", 1_020_000, 60_000, 10, [preset("okx"), *others])
    assert c.comparison.rows == expected.rows
    assert [r["venue"] for r in c.comparison.rows][:2] == ["OKX", "Binance USDⓈ-M"]
    assert c.comparison.rows[0]["liquidation"] == pytest.approx(c.figures["liquidation_display"])


def test_bybit_prices_are_rounded_to_its_tick():
    # Bybit's illustration table (caps at 5,000 USDT): 3,000 USD at 400, 10x
    c = calculate("bybit", "long", 3_000, 400, 10, 390)
    p = opened(preset("bybit"), notional=3_000, entry=400)
    exact = float(p.liquidation_price().price)
    assert c.figures["liquidation_price"] == pytest.approx(exact)
    assert c.figures["liquidation_display"] == preset("bybit").round_price(exact, 1.0)
    short = calculate("bybit", "short", 3_000, 400, 10, 410)
    assert short.figures["liquidation_display"] % 0.5 == 0
    assert short.figures["liquidation_display"] <= short.figures["liquidation_price"]  # a short's rounded down


@pytest.mark.parametrize("kwargs,message", [
    ({"entry": -1.0}, "entry must be > 0, got -1.0"),
    ({"mark": 0.0}, "mark must be > 0"),
    ({"notional_usd": 0.0}, "notional_usd must be > 0"),
    ({"leverage": 0.0}, "leverage must be > 0"),
    ({"leverage": 100.0}, "leverage 100x exceeds the max leverage 20x of tier 4"),
    ({"venue": "nowhere"}, "rulebook must be one of"),
    ({"venue": "bybit"}, "qty: position size 1,020,000 USDT is beyond the table's last cap 5,000 USDT"),
    ({"ccxt_tiers": "[{"}, "ccxt tiers: not valid JSON"),
    ({"ccxt_tiers": '{"a": 1}'}, "ccxt tiers: expected a non-empty JSON list of tier objects"),
    ({"ccxt_tiers": "[1, 2]"}, "ccxt tiers: expected a non-empty JSON list of tier objects"),
    ({"ccxt_tiers": '[{"minNotional": 0}]'}, "ccxt tiers: ccxt tier 1 is missing maxNotional"),
])
def test_bad_input_raises_the_librarys_message(kwargs, message):
    args = {"venue": "binance-usdm", "side": "long", "notional_usd": 1_020_000, "entry": 60_000, "leverage": 10,
            "mark": 58_000, **kwargs}
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("[", r"\[").replace("{", r"\{")):
        calculate(**args)


def test_a_pasted_ccxt_list_replaces_the_table_and_keeps_the_rules():
    # a flat 2 % table pasted for OKX: its contracts (100 USD inverse), by contracts, step form, fee reserve kept
    tiers = [{"tier": 1, "minNotional": 0, "maxNotional": None, "maintenanceMarginRate": 0.02, "maxLeverage": 25}]
    c = calculate("okx", "long", 1_020_000, 60_000, 10, 58_000, json.dumps(tiers))
    okx = preset("okx").table
    assert isinstance(c.table, tm.TierTable) and c.table.n_tiers == 1 and c.table.mmr[0] == 0.02
    assert (c.table.contract, c.table.basis, c.table.form) == (okx.contract, okx.basis, okx.form)
    assert c.book.fee_rate == preset("okx").fee_rate and c.book.table_label == "pasted ccxt tiers (attached)"
    p = opened(preset("okx"), table=c.table)
    assert c.figures["maintenance_margin"] == pytest.approx(float(p.maintenance_margin(58_000)))
    assert c.figures["mmr"] == 0.02 and c.figures["tier"] == 1
    assert c.figures["liquidation_price"] == pytest.approx(float(p.liquidation_price().price))
    assert c.comparison.rows[0]["table"] == "pasted ccxt tiers (attached)"
    assert c.comparison.rows[0]["mmr"] == 0.02  # the comparison's first row uses the pasted table too


def test_a_round_trip_through_ccxt_gives_the_bundled_numbers():
    text = json.dumps({"BTC/USDT:USDT": BTC.to_ccxt()})  # a dict of one symbol is accepted
    assert pasted_table(text, preset("binance-usdm"), 10).rows() == BTC.rows()
    assert pasted_table("  ", preset("binance-usdm"), 10) is None
    a = calculate("binance-usdm", "short", 1_020_000, 60_000, 10, 61_000, text).figures
    b = calculate("binance-usdm", "short", 1_020_000, 60_000, 10, 61_000).figures
    assert a["liquidation_price"] == pytest.approx(b["liquidation_price"]) and a["tier"] == b["tier"]


# ---------------------------------------------------------------------------- the page
def test_the_initial_page_shows_the_librarys_numbers(ex):
    p = opened(preset("binance-usdm"))
    lp = p.liquidation_price()
    assert ex.last_error is None and ex.error.value == ""
    html = ex.readout.value
    assert row(html, "tier at the mark") == f"{p.tier(58_000)} of {BTC.n_tiers}"
    assert row(html, "maintenance margin (MM)") == fmt_amount(p.maintenance_margin(58_000), "USDT")
    assert row(html, "health = equity − requirement") == fmt_amount(p.health(58_000), "USDT")
    binance = row(html, "margin ratio, Binance: MM / equity — this venue's display")
    assert fmt_pct(p.margin_ratios(58_000).binance) in binance
    assert row(html, "liquidation price") == f"{fmt_amount(lp.price)} (tier {lp.tier})"
    assert row(html, "bankruptcy price") == fmt_amount(p.bankruptcy_price().price)
    d = p.explain("liquidation_price")
    assert ex.state["derivation"].lines == d.lines
    assert last_item(ex.derivation.value) == escape(d.lines[-1].text())
    assert last_item(ex.derivation.value).startswith(f"LP = {num(lp.price)}")
    assert ex.comparison.value.count("<tr>") == 1 + len(venue_choices())  # the header and one row per venue


def test_changing_the_entry_gives_the_new_derivation(ex):
    before = ex.derivation.value
    ex.controls["entry"].value = 61_000.0
    p = opened(preset("binance-usdm"), entry=61_000.0)
    lp = p.liquidation_price()
    assert ex.derivation.value != before
    assert last_item(ex.derivation.value) == escape(p.explain("liquidation_price").lines[-1].text())
    assert f"LP = {num(lp.price)}" in last_item(ex.derivation.value)
    assert ex.state["figures"]["liquidation_price"] == pytest.approx(float(lp.price))
    assert fmt_amount(lp.price) in row(ex.readout.value, "liquidation price")


@pytest.mark.parametrize("what", list(DERIVATIONS))
def test_the_derivation_selector_shows_each_derivation(ex, what):
    ex.set(derivation=what, venue="okx", side="short", mark=61_000.0)
    p = opened(preset("okx"), "short")
    d = p.explain(what, None if what.endswith("_price") else 61_000.0)
    assert ex.state["derivation"].lines == d.lines and ex.derivation.value == derivation_html(d)
    assert escape(d.title) in ex.derivation.value
    assert last_item(ex.derivation.value) == escape(d.lines[-1].text())


def test_choosing_the_derivation_does_not_recompute(ex):
    calc = ex.state["calculation"]
    ex.set(derivation="health")
    assert ex.state["calculation"] is calc and ex.state["derivation"] is calc.derivations["health"]


def test_bad_input_shows_the_message_and_the_page_keeps_working(ex):
    good = ex.readout.value
    ex.controls["leverage"].value = -5.0
    assert ex.last_error == "leverage must be > 0, got -5.0"
    assert escape(ex.last_error) in ex.error.value and ex.readout.value == good  # the last valid figures stay
    ex.controls["leverage"].value = 20.0
    assert ex.last_error is None and ex.error.value == ""
    assert ex.state["figures"]["margin"] == pytest.approx(1_020_000 / 20)
    ex.controls["ccxt_tiers"].value = "not json"
    assert ex.last_error.startswith("ccxt tiers: not valid JSON") and "⚠" in ex.error.value
    ex.controls["ccxt_tiers"].value = ""
    assert ex.last_error is None


def test_a_pasted_list_in_the_page(ex):
    tiers = [{"minNotional": 0, "maxNotional": 2_000_000, "maintenanceMarginRate": 0.01, "maxLeverage": 50}]
    ex.controls["ccxt_tiers"].value = json.dumps(tiers)
    assert ex.last_error is None
    t = tm.TierTable.from_ccxt(tiers, contract=BTC.contract, basis=BTC.basis, form=BTC.form, closed=BTC.closed)
    p = opened(preset("binance-usdm"), table=t)
    assert ex.state["figures"]["liquidation_price"] == pytest.approx(float(p.liquidation_price().price))
    assert row(ex.readout.value, "tier at the mark") == "1 of 1"
    assert "pasted ccxt tiers (attached)" in ex.readout.value and "pasted ccxt tiers (attached)" in ex.comparison.value


def test_set_rejects_unknown_controls(ex):
    with pytest.raises(ValueError, match="unknown control"):
        ex.set(size=1.0)


def test_the_static_fallback_is_the_readout_and_derivation(ex):
    bundle = ex._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert ex.readout.value in bundle["text/html"] and ex.derivation.value in bundle["text/html"]
    assert str(ex.state["derivation"]) in bundle["text/plain"]


def test_an_update_is_fast(ex):
    ex.set(entry=60_500.0)
    assert ex.last_update_ms < 500


# ---------------------------------------------------------------------------- the notebook
def test_the_committed_notebook_runs_the_calculator():
    """``calculator/calculator.ipynb`` (outside ``lessons/``, so not collected by nbval by default): one code cell
    that shows the calculator, committed with its outputs, and it executes without errors."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert len(code) == 1 and "CalculatorExplorer()" in code[0].source
    assert "nbval-ignore-output" in code[0].metadata.get("tags", [])
    assert any("Margin calculator" in o.get("data", {}).get("text/html", "") for o in code[0].outputs)  # static view
    where = {"metadata": {"path": str(NOTEBOOK.parent)}}
    NotebookClient(nb, timeout=120, kernel_name="python3", resources=where).execute()
    errors = [o for o in nb.cells[1].outputs if o.output_type == "error"]
    assert not errors and "Margin calculator" in nb.cells[1].outputs[0]["data"]["text/html"]
    assert NOTEBOOK.stat().st_size < 500_000
