"""Venue rulebooks: the few axes on which exchanges differ, as data.

A :class:`Rulebook` names a venue's choices (``reference/FORMULAS.md``): its tier table (form,
basis, boundary — all carried by the bundled, dated, sourced :class:`~tiermargin.TierTable`),
whether a liquidation/close fee is added to the maintenance requirement, which price values the
requirement, how the margin ratio is displayed, the partial-liquidation policy, the ADL ranking,
the cross-margin tier grouping and price rounding. :data:`PRESETS` holds named rulebooks;
:func:`compare` puts one position under several of them side by side.

Where the course's references do not document a venue's choice, the field says ``None`` rather
than guessing, and where no dated table snapshot is bundled (Binance COIN-M, CoinW), ``table_id``
is ``None`` and :attr:`Rulebook.table` says so. :meth:`Rulebook.with_table` attaches a table you
hold (say one fetched live with ccxt) to a venue's rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from html import escape
from typing import Any, Literal, get_args

import numpy as np

from . import _check
from .cross import TierRule
from .isolated import IsolatedPosition, RequirementAt
from .tiers import TierTable, load_table

Ratio = Literal["legacy", "coinw", "binance"]
Policy = Literal["one-tier", "two-tiers", "lowest-sufficient", "to-cap", "fraction", "full"]
Ranking = Literal["pnl-leverage", "binance", "hyperliquid"]
Rounding = Literal["none", "long-up-short-down"]


@dataclass(frozen=True)
class Rulebook:
    """One venue's conventions.

    Parameters
    ----------
    id, venue : str
    table_id : str or None
        Bundled tier table (``tm.table_ids()``), or None when no dated snapshot is bundled.
    requirement_at : {"mark", "entry"}
        Which price values the maintenance requirement (Binance: the mark / liquidation price;
        Bybit isolated: entry).
    fee_rate : float
        Liquidation/close-fee reserve added to the requirement (0: not added).
    ratio : {"legacy", "coinw", "binance"}
        How the venue displays the margin ratio.
    policy : str or None
        Partial-liquidation policy: "one-tier" (OKX margin), "two-tiers" (OKX swaps),
        "lowest-sufficient" (Bybit, BitMEX: one fill-or-kill order), "to-cap" (HTX), "fraction"
        (Hyperliquid 20 %, Drift 25 %), "full".
    fraction : float or None
        The fraction closed per step when ``policy="fraction"``.
    adl : str or None
        ADL ranking: "pnl-leverage" (BitMEX, Bybit), "binance", "hyperliquid".
    cross_tier_rule : str or None
        How tiers group positions in cross margin (see :mod:`tiermargin.cross`).
    tick : float or None
        Price tick for displayed prices; ``rounding`` says which way.
    rounding : {"none", "long-up-short-down"}
    sources : str
        Where each choice comes from.
    own_table : TierTable or None
        A table attached with :meth:`with_table`; it takes the place of the bundled one.
    """

    id: str
    venue: str
    table_id: str | None
    requirement_at: RequirementAt = "mark"
    fee_rate: float = 0.0
    ratio: Ratio = "binance"
    policy: Policy | None = None
    fraction: float | None = None
    adl: Ranking | None = None
    cross_tier_rule: TierRule | None = None
    tick: float | None = None
    rounding: Rounding = "none"
    sources: str = ""
    own_table: TierTable | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        _check.one_of("requirement_at", self.requirement_at, ("mark", "entry"))
        _check.rate("fee_rate", self.fee_rate)
        _check.one_of("ratio", self.ratio, get_args(Ratio))
        if self.policy is not None:
            _check.one_of("policy", self.policy, get_args(Policy))
        if (self.policy == "fraction") != (self.fraction is not None):
            raise ValueError("fraction is given exactly when policy is 'fraction'")
        if self.fraction is not None:
            _check.rate("fraction", self.fraction, low_open=True)
        if self.adl is not None:
            _check.one_of("adl", self.adl, get_args(Ranking))
        if self.cross_tier_rule is not None:
            _check.one_of("cross_tier_rule", self.cross_tier_rule, ("position", "net", "underlying"))
        if self.tick is not None:
            _check.positive("tick", self.tick)
        _check.one_of("rounding", self.rounding, ("none", "long-up-short-down"))
        if self.own_table is not None and not isinstance(self.own_table, TierTable):
            raise ValueError(f"own_table must be a TierTable, got {type(self.own_table).__name__}")

    @property
    def has_table(self) -> bool:
        """Whether a table is at hand: attached with :meth:`with_table`, or bundled."""
        return self.own_table is not None or self.table_id is not None

    @property
    def table(self) -> TierTable:
        """The attached table, else the bundled one (clear error where there is neither)."""
        if self.own_table is not None:
            return self.own_table
        if self.table_id is None:
            raise ValueError(f"rulebook {self.id!r} has no bundled tier table (no dated, sourced snapshot); "
                             f"attach one with preset({self.id!r}).with_table(table)")
        return load_table(self.table_id)

    @property
    def table_label(self) -> str | None:
        """How displays name the table: the bundled id, or the attached table's id (else its
        symbol and date), marked as attached."""
        if self.own_table is None:
            return self.table_id
        t = self.own_table
        return f"{t.id or ' '.join(x for x in (t.symbol, t.as_of) if x) or 'table'} (attached)"

    def with_table(self, table: TierTable) -> Rulebook:
        """The same rules charged with ``table`` (for instance a live table from ccxt's
        ``fetch_leverage_tiers``, through :meth:`TierTable.from_ccxt`).

        Use it for a venue with no bundled table (Binance COIN-M, CoinW), or to replace a bundled
        snapshot by today's table. The rules (fee reserve, valuation price, policy, ...) are kept.

        Examples
        --------
        >>> from tiermargin import Contract
        >>> t = TierTable.single(0.004, 125, contract=Contract("inverse", 100, "BTC"), symbol="BTCUSD_PERP")
        >>> book = preset("binance-coinm").with_table(t)
        >>> book.table is t, book.fee_rate, book.table_label
        (True, 0.0, 'BTCUSD_PERP (attached)')
        """
        if not isinstance(table, TierTable):
            raise ValueError(f"table must be a TierTable (see TierTable.from_ccxt, from_csv, from_rows), "
                             f"got {type(table).__name__}")
        return replace(self, own_table=table)

    def round_price(self, price: float, side: float) -> float:
        """A price as the venue displays it: Bybit rounds a long's prices up and a short's down to
        its 0.5 tick (``reference/FORMULAS.md``); otherwise unchanged."""
        p = float(_check.positive("price", price))
        if self.rounding == "none" or self.tick is None:
            return p
        step = np.ceil if float(_check.side("side", side)) > 0 else np.floor
        return float(step(p / self.tick) * self.tick)


PRESETS: dict[str, Rulebook] = {r.id: r for r in (
    Rulebook("binance-usdm", "Binance USDⓈ-M", "binance-usdm-btcusdt-2021", "mark", 0.0, "binance",
             None, None, "binance", "position",
             sources="Binance FAQ 'How to Calculate Liquidation Price of USDⓈ-M Futures Contracts' (requirement "
                     "at the liquidation price, MM/margin balance); tier announcement 2021-03-18"),
    Rulebook("binance-coinm", "Binance COIN-M", None, "mark", 0.0, "binance", None, None, "binance", "position",
             sources="Binance FAQ 'Leverage and Margin in Coin-Margined Futures Contracts' (brackets by notional in "
                     "coin; no MMR table published there, so none is bundled)"),
    Rulebook("okx", "OKX", "okx-btc-usd-swap-2019", "mark", 0.0005, "legacy", "two-tiers", None, None, "underlying",
             sources="Source articles (legacy ratio, 'MMR + liquidation fee', e.g. 1.50% + 0.05%); FORMULAS.md "
                     "(swaps reduce two tiers at a time; tiers per underlying in cross)"),
    Rulebook("coinw", "CoinW", None, "mark", 0.0006, "coinw", "one-tier", None, None, "net",
             sources="Source articles and CoinW help 'Tiered Maintenance Margin Rate System' (ratio ≤ 100%, tiers in "
                     "contracts, per trading pair in cross; stepwise reduction); fee: CoinW taker fee 0.06% "
                     "('Perpetual Futures FAQs') as the estimated liquidation fee. Tiers are published only on its "
                     "trading page: none bundled"),
    Rulebook("bybit", "Bybit", "bybit-xyzusdt-illustration", "entry", 0.0, "binance", "lowest-sufficient", None,
             "pnl-leverage", "position", 0.5, "long-up-short-down",
             sources="Bybit help 'Liquidation Price (USDT Contract)' (MM at entry), 'Maintenance Margin (USDT "
                     "Contract)' (the illustration table); FORMULAS.md (one fill-or-kill order to the lowest "
                     "sufficient tier; PnL% × leverage ADL; rounding to 0.5)"),
    Rulebook("bitmex", "BitMEX", "bitmex-xbtusd-risk-limits", "mark", 0.0, "legacy", "lowest-sufficient", None,
             "pnl-leverage", "position",
             sources="BitMEX 'Risk Limits' (table); FORMULAS.md (liquidation to the lowest sufficient risk limit, "
                     "ADL ranking PnL% × effective leverage)"),
    Rulebook("hyperliquid", "Hyperliquid", "hyperliquid-btc-mainnet", "mark", 0.0, "binance", "fraction", 0.2,
             "hyperliquid", "position",
             sources="Hyperliquid docs 'Margin tiers'; FORMULAS.md (20% of positions above $100k per step; ADL by "
                     "(mark/entry) × (notional/account value)). Modelled in part: Hyperliquid's announcement of "
                     "partial liquidations sends 20% only for positions over 100k USDC, then for 30 s liquidates "
                     "the whole position, and the user keeps the margin a fill leaves; the 'fraction' policy "
                     "closes 20% a step at every size, settled at the bankruptcy price like every policy here"),
)}


def preset(rulebook_id: str) -> Rulebook:
    """A named rulebook (``PRESETS``), with a clear error for an unknown id."""
    if rulebook_id not in PRESETS:
        raise ValueError(f"rulebook must be one of {', '.join(PRESETS)}; got {rulebook_id!r}")
    return PRESETS[rulebook_id]


@dataclass(frozen=True)
class Comparison:
    """Rows of :func:`compare`, one per rulebook; displays as a table in a notebook."""

    rows: tuple[dict[str, Any], ...]
    COLUMNS = ("venue", "table", "contracts", "tier", "MMR", "MM", "max leverage", "liquidation", "bankruptcy", "note")

    def _cells(self, row: dict[str, Any]) -> list[str]:
        def num(x: Any, fmt: str) -> str:
            return "—" if x is None else format(x, fmt)

        return [row["venue"], row["table"] or "—", num(row["contracts"], ",.6g"), num(row["tier"], "d"),
                num(row["mmr"], ".3%"), num(row["mm"], ",.6g") + (f" {row['currency']}" if row["mm"] is not None else ""),
                num(row["max_leverage"], "g"), num(row["liquidation"], ",.2f"), num(row["bankruptcy"], ",.2f"),
                row["note"]]

    def __repr__(self) -> str:
        lines = [self.COLUMNS, *(tuple(self._cells(r)) for r in self.rows)]
        widths = [max(len(line[i]) for line in lines) for i in range(len(self.COLUMNS))]
        return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{escape(c)}</th>" for c in self.COLUMNS)
        body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in self._cells(r)) + "</tr>" for r in self.rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def compare(
    side: str, notional_usd: float, entry: float, leverage: float,
    rulebooks: Iterable[Rulebook | str] = ("binance-usdm", "okx", "bitmex", "hyperliquid"),
) -> Comparison:
    """One position — ``notional_usd`` of the underlying at ``entry``, ``leverage`` — on several venues.

    The notional is converted to each venue's contracts (linear: ``notional/(FV·entry)``; inverse:
    ``notional/FV`` USD contracts), then opened with the venue's table and rules. A venue whose
    table refuses the position (too large, leverage above the tier's max) or that has no bundled
    table gets a row saying why instead of numbers.

    Returns
    -------
    Comparison
        Per venue: contracts, tier at entry, MMR, MM at entry (settle currency), max leverage of the
        tier, liquidation price (tier taken per the venue's rule), bankruptcy price.
    """
    n = float(_check.positive("notional_usd", notional_usd))
    ep = float(_check.positive("entry", entry))
    rows = []
    for rb in rulebooks:
        book = preset(rb) if isinstance(rb, str) else rb
        rows.append(_row(book, side, n, ep, leverage))
    return Comparison(tuple(rows))


def _row(book: Rulebook, side: str, notional: float, entry: float, leverage: float) -> dict[str, Any]:
    row: dict[str, Any] = dict(venue=book.venue, table=book.table_label, contracts=None, tier=None, mmr=None,
                               mm=None, currency="", max_leverage=None, liquidation=None, bankruptcy=None, note="")
    if not book.has_table:
        return {**row, "note": "no bundled tier table"}
    t = book.table
    c = t.contract
    qty = notional / float(c.usd_value(1.0, entry))
    try:
        pos = IsolatedPosition.open(t, side, qty, entry, leverage, fee_rate=book.fee_rate,
                                    requirement_at=book.requirement_at)
    except ValueError as e:
        return {**row, "contracts": qty, "note": f"refused: {e}"}
    lp, bp = pos.liquidation_price(), pos.bankruptcy_price()
    size = c.value(qty, entry) if t.basis == "notional" else qty
    s = float(pos.side)
    return {**row, "contracts": qty, "tier": pos.tier(entry), "mmr": float(t.rate(size)),
            "mm": float(pos.maintenance_margin(entry)), "currency": c.settle,
            "max_leverage": float(t.max_leverage_at(size)) if t.max_leverage is not None else None,
            "liquidation": book.round_price(lp.price, s) if lp.exists else None,
            "bankruptcy": book.round_price(bp.price, s) if bp.exists else None,
            "note": "" if lp.exists else "cannot be liquidated"}


def rulebooks_table(ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The presets' fields as plain dicts (for display and export)."""
    return [{k: v for k, v in vars(preset(i)).items() if k != "own_table"} for i in (ids or PRESETS)]
