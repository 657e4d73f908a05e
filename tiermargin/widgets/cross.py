"""CrossExplorer: a small cross-margin account — isolated vs cross, hedges, orders, collateral, surface."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import ipywidgets as W

from ..cross import CrossAccount, Haircut, Instrument, Order, Position
from ..isolated import IsolatedPosition
from ..plots import CrossPlot, CrossView
from ..tiers import TierTable, load_table
from .base import Explorer, fmt_amount, fmt_pct, readout_table

BTC_TABLE = load_table("binance-usdm-btcusdt-2021")
#: a small two-tier ETH table (illustration): 0.5 % up to 1M USDT (100x), 1 % above (50x)
ETH_TABLE = TierTable.from_rows([[0, 1e6, 0.005, 100], [1e6, None, 0.01, 50]], symbol="ETHUSDT")
INSTRUMENTS = (Instrument("BTCUSDT", BTC_TABLE, "BTC"), Instrument("ETHUSDT", ETH_TABLE, "ETH"))
ENTRY = {"BTC": 60_000.0, "ETH": 3_000.0}
#: price sliders and plotted windows: 0.25× to 1.75× the entry
WINDOW = {u: (0.25 * p, 1.75 * p) for u, p in ENTRY.items()}
PRICES = ("btc", "eth")  # the price controls (cheap, continuous)
NOTHING = "n/a (nothing at risk)"
T = TypeVar("T")

TIER_RULES = [("each position (Binance, Bybit)", "position"), ("net per pair (CoinW, HTX)", "net"),
              ("per underlying (OKX)", "underlying")]


class CrossExplorer(Explorer):
    """Explore a cross-margin account: a BTCUSDT position (with an optional short hedge leg), an
    ETHUSDT position, an open BTCUSDT order, a USDT wallet and optional BTC collateral.

    Readouts: equity, requirement, health, the four ratio conventions (the legacy denominator counts
    open orders), order frozen margin, the BTC liquidation prices below and above ("liquidated now"
    when health is already ≤ 0), and the same BTC position in isolated margin at its own leverage —
    its liquidation price next to the cross one, and what each liquidation loses (isolated: that
    position's margin; cross: the whole account equity). Left panel: health against the BTC price
    with ETH held; right panel: health over (BTC, ETH) prices, whose colour boundary is the
    liquidation surface — with BTC collateral or positions on two underlyings there is no single
    liquidation price.

    Examples
    --------
    >>> ex = CrossExplorer()
    >>> ex.set(btc=55_000)
    >>> ex.state["health"] == ex.state["account"].health({"BTC": 55_000, "ETH": 3_000})
    True
    """

    title = "Cross margin explorer"
    figsize = (10.0, 4.0)

    def __init__(self, **values: Any) -> None:
        #: (non-price controls, account, isolated position) of the last successful update
        self._cached: tuple[tuple[Any, ...], CrossAccount, IsolatedPosition | None] | None = None
        super().__init__()
        if values:
            self.set(**values)

    def _controls(self) -> dict[str, W.ValueWidget]:
        wide = {"description_width": "110px"}
        slider = dict(continuous_update=False, style=wide)
        toggle = {"button_width": "70px", **wide}

        def side(value: str, label: str) -> W.ToggleButtons:
            return W.ToggleButtons(options=["long", "short"], value=value, description=label, style=toggle)

        def price(u: str) -> W.FloatSlider:
            lo, hi = WINDOW[u]
            return W.FloatSlider(value=ENTRY[u], min=lo, max=hi, step=(hi - lo) / 1800, readout_format=",.0f",
                                 description=f"{u} price", continuous_update=True, style=wide)

        return {
            "usdt": W.FloatText(value=20_000.0, description="USDT balance", style=wide),
            "btc_collateral": W.FloatText(value=0.0, description="BTC collateral", style=wide),
            "haircut": W.FloatSlider(value=0.95, min=0.5, max=1.0, step=0.01, readout_format=".0%",
                                     description="BTC valued at", **slider),
            "mode": W.ToggleButtons(options=["one-way", "hedge"], description="position mode", style=toggle),
            "tier_rule": W.Dropdown(options=TIER_RULES, description="tiers apply to", style=wide),
            "fee_rate": W.FloatSlider(value=0.0, min=0.0, max=0.005, step=0.0001, readout_format=".2%",
                                      description="fee reserve", **slider),
            "btc_side": side("long", "BTCUSDT side"),
            "btc_qty": W.FloatText(value=2.0, description="BTCUSDT qty", style=wide),
            "hedge_qty": W.FloatText(value=0.0, description="BTC short leg", style=wide),
            "eth_side": side("short", "ETHUSDT side"),
            "eth_qty": W.FloatText(value=10.0, description="ETHUSDT qty", style=wide),
            "iso_leverage": W.FloatSlider(value=10.0, min=1.0, max=125.0, step=0.5, description="isolated lev.",
                                          **slider),
            "order_side": side("long", "order side"),
            "order_qty": W.FloatText(value=0.5, description="order qty (0: none)", style=wide),
            "order_price": W.FloatText(value=58_000.0, description="order price", style=wide),
            "order_leverage": W.FloatSlider(value=10.0, min=1.0, max=125.0, step=0.5, description="order leverage",
                                            **slider),
            "reduce_only": W.Checkbox(value=False, description="order reduce-only", style=wide),
            "btc": price("BTC"),
            "eth": price("ETH"),
        }

    def _build_plot(self) -> None:
        self.fig.subplots_adjust(left=0.09, right=0.93, bottom=0.13, top=0.96, wspace=0.32)
        self.plot = CrossPlot(*self.fig.subplots(1, 2), blit=self.blit)
        self.show_key(CrossPlot.STYLE)

    def _render(self) -> None:
        self.plot.render()

    # ------------------------------------------------------------------ the model
    def account(self) -> CrossAccount:
        """The account the controls describe (raises the library's clear error if invalid).

        A quantity of 0 means no position (no order); any other value goes to the library, which
        rejects a negative one, a second leg in one-way mode, a reduce-only order larger than the
        leg it closes, and so on.
        """
        v = {k: w.value for k, w in self.controls.items()}
        balances = {"USDT": v["usdt"]} | ({"BTC": v["btc_collateral"]} if v["btc_collateral"] else {})
        legs = (("btc_qty", "BTCUSDT", v["btc_side"], ENTRY["BTC"]), ("hedge_qty", "BTCUSDT", "short", ENTRY["BTC"]),
                ("eth_qty", "ETHUSDT", v["eth_side"], ENTRY["ETH"]))
        positions = [_naming(f"{self.controls[q].description}: ", Position, symbol, side, v[q], entry)
                     for q, symbol, side, entry in legs if v[q]]
        orders = [_naming("order ", Order, "BTCUSDT", v["order_side"], v["order_qty"], v["order_price"],
                          v["order_leverage"], reduce_only=v["reduce_only"])] if v["order_qty"] else []
        return CrossAccount(INSTRUMENTS, balances, positions, orders, mode=v["mode"], tier_rule=v["tier_rule"],
                            fee_rate=v["fee_rate"], haircuts={"BTC": Haircut.flat(v["haircut"])})

    def isolated(self) -> IsolatedPosition | None:
        """The BTCUSDT position alone in isolated margin, with initial margin value/leverage (None: no position)."""
        v = {k: w.value for k, w in self.controls.items()}
        if not v["btc_qty"]:
            return None
        return _naming(f"{self.controls['iso_leverage'].description}: ", IsolatedPosition.open, BTC_TABLE,
                       v["btc_side"], v["btc_qty"], ENTRY["BTC"], v["iso_leverage"], fee_rate=v["fee_rate"])

    def prices(self) -> dict[str, float]:
        """The current prices of the two underlyings (also the USD price of BTC collateral)."""
        return {"BTC": float(self.controls["btc"].value), "ETH": float(self.controls["eth"].value)}

    # ------------------------------------------------------------------ the update
    def update(self) -> None:
        key = tuple(w.value for k, w in self.controls.items() if k not in PRICES)
        if self._cached is not None and self._cached[0] == key:  # only a price moved
            acc, iso = self._cached[1:]
        else:
            acc, iso = self.account(), self.isolated()
        prices = self.prices()
        s = acc.state(prices)
        liquidated = acc.is_liquidated(prices)
        below, above = (None, None) if liquidated else (
            lp.price if lp.exists else None for lp in acc.liquidation_prices(prices, "BTC"))
        iso_lp = iso.liquidation_price() if iso is not None else None
        iso_price = float(iso_lp.price) if iso_lp is not None and iso_lp.exists else None
        view = CrossView.for_account(acc, prices, WINDOW, (below, above), iso_price)
        r = {f"ratio_{k}": float(x) for k, x in acc.margin_ratios(prices)._asdict().items()}
        state: dict[str, Any] = {
            "account": acc, "prices": prices, "currency": acc.currency,
            "equity": float(s.equity), "requirement": float(s.requirement), "exposure": float(s.exposure),
            "health": float(s.health), "liquidated": liquidated, **r,
            "frozen_margin": acc.frozen_margin(prices),
            "liquidation_below": below, "liquidation_above": above,
            "isolated": iso, "isolated_liquidation": iso_price,
            "isolated_liquidated": bool(iso.is_liquidated(prices["BTC"])) if iso is not None else None,
            "isolated_loss": float(iso.margin) if iso is not None else None,
            "cross_loss": float(s.equity), "view": view,
        }
        self.plot.update(view)
        self._cached = (key, acc, iso)
        self.state = state
        self.readout.value = readout_table(self._rows(state))

    @staticmethod
    def _rows(s: dict[str, Any]) -> list[tuple[str, str]]:
        cur = s["currency"]

        def price(x: float | None) -> str:
            if s["liquidated"]:
                return "<b style='color:#b00020'>liquidated now</b>"
            return fmt_amount(x) if x is not None else "none"

        status = ("<b style='color:#b00020'>LIQUIDATED</b>" if s["liquidated"]
                  else "<b style='color:#1b7f3b'>healthy</b>")
        rows = [
            ("account status at these prices", status),
            ("equity (collateral + UPL)", fmt_amount(s["equity"], cur)),
            ("requirement (MM + fee + orders)", fmt_amount(s["requirement"], cur)),
            ("health = equity − requirement", fmt_amount(s["health"], cur)),
            ("order frozen margin (value/leverage)", fmt_amount(s["frozen_margin"], cur)),
            ("legacy ratio (÷ positions + orders) vs threshold",
             f"{s['ratio_legacy']:.3%} vs {s['ratio_legacy_threshold']:.3%}" if s["exposure"] else NOTHING),
            ("CoinW ratio (≤ 100% liquidates)", fmt_pct(s["ratio_coinw"]) if s["requirement"] else NOTHING),
            ("Binance ratio (≥ 100% liquidates)", fmt_pct(s["ratio_binance"])),
            ("cross: BTC liquidation price below", price(s["liquidation_below"])),
            ("cross: BTC liquidation price above", price(s["liquidation_above"])),
        ]
        iso = s["isolated"]
        if iso is None:
            return rows + [("isolated comparison", "no BTCUSDT position")]
        lp = s["isolated_liquidation"]
        iso_price = fmt_amount(lp) if lp is not None else "none"
        if s["isolated_liquidated"]:
            iso_price += " <b style='color:#b00020'>(liquidated now)</b>"
        return rows + [
            (f"isolated at {float(iso.leverage):g}x: BTC liquidation price", iso_price),
            ("isolated liquidation loses", f"its margin {fmt_amount(s['isolated_loss'], 'USDT')}"),
            ("cross liquidation loses", f"the whole equity {fmt_amount(s['cross_loss'], cur)}"),
        ]


def _naming(prefix: str, build: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``build(*args, **kwargs)``, its ``ValueError`` prefixed with which control it is about: the
    explorer has four quantities, and the library's "qty must be > 0" does not say which one."""
    try:
        return build(*args, **kwargs)
    except ValueError as e:
        raise ValueError(f"{prefix}{e}") from None
