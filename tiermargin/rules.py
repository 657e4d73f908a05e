"""Venue rulebooks: the few axes on which exchanges differ, as data.

A :class:`Rulebook` names a venue's choices (``docs/formulas.md#venue-rules``): its tier table (form,
basis, boundary — all carried by the bundled, dated, sourced :class:`~tiermargin.TierTable`),
whether a liquidation/close fee is added to the maintenance requirement, which price values the
requirement, how the margin ratio is displayed, the partial-liquidation policy and where a
liquidation's closed contracts are settled (the bankruptcy price or the fill), the ADL ranking,
the cross-margin tier grouping and price rounding. :data:`PRESETS` holds named rulebooks;
:func:`compare` puts one position under several of them side by side.

Where the course's references do not document a venue's choice, the field says ``None`` rather
than guessing, and where no dated table snapshot is bundled (CoinW), ``table_id``
is ``None`` and :attr:`Rulebook.table` says so. :meth:`Rulebook.with_table` attaches a table you
hold (say one fetched live with ccxt) to a venue's rules.

A venue whose margin is not a plain tier table names a bundled margin rule instead (``margin_id``,
:mod:`tiermargin.alternatives`): a continuous schedule (Drift's √size premium, dYdX v4's margin
fractions with the open-interest IMF) or HTX's adjustment factors, a rule of leverage and tier.
:meth:`Rulebook.margin` gives what charges a position opened at a leverage, for every venue.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from html import escape
from typing import Any, Literal, get_args

import numpy as np

from . import _check
from .alternatives import AdjustmentFactors, ContractSchedule, PositionSchedule, load_margin, margin_ids
from .cross import TierRule
from .isolated import FeeAt, IsolatedPosition, RequirementAt
from .tiers import TierTable, load_table, table_ids

MIN_FRACTION = 0.01
"""The smallest share a ``"fraction"`` policy may close a step (1 %): below it a liquidation would take
hundreds of thousands of steps (0.01 %: ~50,000) or never end (10⁻¹²). Drift's documented share is 25 %."""

Ratio = Literal["legacy", "coinw", "binance"]
Policy = Literal["one-tier", "two-tiers", "lowest-sufficient", "to-cap", "fraction", "hyperliquid", "full"]
Settlement = Literal["bankruptcy", "fill"]
Ranking = Literal["pnl-leverage", "binance", "hyperliquid"]
Rounding = Literal["none", "long-up-short-down"]


def _open_rate(name: str, x: Any) -> np.ndarray:
    """``x`` as a rate in (0, 1) (:func:`tiermargin._check.rate` with ``low_open``)."""
    return _check.rate(name, x, low_open=True)


@dataclass(frozen=True)
class PartialLiquidation:
    """Hyperliquid's market liquidation, the parameters of ``policy="hyperliquid"``.

    Hyperliquid Docs, "Liquidations" (https://hyperliquid.gitbook.io/hyperliquid-docs/trading/liquidations):
    "When the account equity drops below maintenance margin, the positions are first attempted to be
    entirely closed by sending market orders to the book. [...] any remaining collateral remains with the
    trader"; "If the account equity drops below 2/3 of the maintenance margin without successful
    liquidation through the book, a backstop liquidation happens through the liquidator vault"; "When an
    isolated position is backstop liquidated, that isolated position and isolated margin are transferred to
    the liquidator"; "the maintenance margin is not returned to the user". Hyperliquid Announcements
    (Telegram, post 307, https://tginsight.xyz/channel/hyperliquid_announcements/post/307): "Unlike CEXs
    there is no clearance fee on liquidations. For liquidatable positions larger than 100k USDC (10k USDC
    on testnet for easier testing), only 20% of the position will be sent as a market liquidation order to
    the book. After a block where any position of a user is partially liquidated, there is a cooldown
    period of 30 seconds. During this cooldown period, all market liquidation orders for that user will be
    for the entire position" (the same text is the "Partial Liquidations" section of the HIP-3 docs, which
    "inherit Hyperliquid's core liquidation system", https://docs.tings.xyz/core-mechanics/liquidations).

    The rule, at each check of a liquidatable position (health ≤ 0, the library's trigger):

    1. equity ≤ ``backstop`` × requirement: the **backstop** takes the whole position and its margin,
       settled at the bankruptcy price (the trader keeps nothing);
    2. else, value at the mark above ``above`` USD and no partial liquidation of the trader within the last
       ``cooldown`` seconds: a market order for ``share`` of the position;
    3. else a market order for the whole position.

    Model choices: a sample of the price path is a block, and the re-check at the same time after a
    partial order falls within its cooldown (so a position the 20 % leaves liquidatable is closed in full
    at once); the cooldown is over ``cooldown`` seconds later (``time − last partial < cooldown``); a
    position found below the backstop share at a sample goes to the backstop at once (between two samples
    the book had its chance); the vault's later result is the liquidation's fill (the engine's execution
    model). The requirement is the maintenance margin plus any fee reserve (Hyperliquid reserves none).

    Parameters
    ----------
    share : float
        Share of the position in a partial order, in (0, 1) (Hyperliquid: 20 %).
    above : float
        Position value at the mark, in USD, above which a liquidation is partial (Hyperliquid: 100,000 USDC
        on mainnet, 10,000 on testnet), >= 0.
    cooldown : float
        Seconds after a partial liquidation during which liquidation orders are for the whole position
        (Hyperliquid: 30), >= 0.
    backstop : float or None
        Share of the requirement at or below which equity sends the position to the backstop, in (0, 1)
        (Hyperliquid: 2/3); None: no backstop.

    Examples
    --------
    >>> PartialLiquidation(), PartialLiquidation(above=10_000).above
    (PartialLiquidation(share=0.2, above=100000.0, cooldown=30.0, backstop=0.6666666666666666), 10000.0)
    """

    share: float = 0.2
    above: float = 100_000.0
    cooldown: float = 30.0
    backstop: float | None = 2 / 3

    def __post_init__(self) -> None:
        object.__setattr__(self, "share", _check.one_number("share", self.share, _open_rate))
        object.__setattr__(self, "above", _check.one_number("above", self.above, _check.nonnegative))
        object.__setattr__(self, "cooldown", _check.one_number("cooldown", self.cooldown, _check.nonnegative))
        if self.backstop is not None:
            object.__setattr__(self, "backstop", _check.one_number("backstop", self.backstop, _open_rate))


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
        (a fixed share a step, Drift 25 %), "hyperliquid" (Hyperliquid's documented procedure, see
        :class:`PartialLiquidation`), "full".
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
    fee_at : {"mark", "entry", "bankruptcy"}
        Where the fee reserve is valued: with the maintenance margin, per ``requirement_at``
        ("mark"); at entry; or at the bankruptcy price (Bybit: "Fee to Close Position = Order
        Quantity × Bankruptcy Price × Taker Fee Rate"), see
        :meth:`~tiermargin.isolated.IsolatedPosition.fee_reserve`.
    settlement : {"bankruptcy", "fill"}
        Where a liquidation's closed contracts are settled (:mod:`tiermargin.liquidation`): at the
        bankruptcy price, the fund keeping or paying fill − bankruptcy (the source articles), or at
        the fill, the trader keeping what margin the fill leaves and the fund paying only where the
        trader's equity would go negative (Hyperliquid: no clearance fee).
    partial : PartialLiquidation or None
        The parameters of ``policy="hyperliquid"``, given exactly with it.
    margin_id : str or None
        Bundled margin rule (:func:`tiermargin.alternatives.margin_ids`) for a venue charged by a
        continuous schedule or by a rule of leverage and tier instead of a tier table; at most one
        of ``table_id`` and ``margin_id`` (an attached table takes the place of either).
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
    fee_at: FeeAt = "mark"
    settlement: Settlement = "bankruptcy"
    partial: PartialLiquidation | None = None
    margin_id: str | None = None

    def __post_init__(self) -> None:
        for name in ("id", "venue", "sources"):
            _check.text(name, getattr(self, name))
        if self.table_id is not None:
            _check.one_of("table_id", self.table_id, table_ids())
        if self.margin_id is not None:
            _check.one_of("margin_id", self.margin_id, margin_ids())
        _check.one_of("requirement_at", self.requirement_at, ("mark", "entry"))
        _check.one_number("fee_rate", self.fee_rate, _check.rate)
        _check.one_of("fee_at", self.fee_at, get_args(FeeAt))
        _check.one_of("ratio", self.ratio, get_args(Ratio))
        if self.policy is not None:
            _check.one_of("policy", self.policy, get_args(Policy))
        if (self.policy == "fraction") != (self.fraction is not None):
            raise ValueError(f"fraction is given exactly when policy is 'fraction'; got fraction={self.fraction!r} "
                             f"with policy={self.policy!r}")
        if self.fraction is not None:
            _check_fraction(self.fraction)
        _check.one_of("settlement", self.settlement, get_args(Settlement))
        if (self.policy == "hyperliquid") != (self.partial is not None):
            raise ValueError(f"partial is given exactly when policy is 'hyperliquid'; got partial={self.partial!r} "
                             f"with policy={self.policy!r}")
        if self.partial is not None and not isinstance(self.partial, PartialLiquidation):
            raise ValueError(f"partial must be a PartialLiquidation, got {type(self.partial).__name__}")
        if self.adl is not None:
            _check.one_of("adl", self.adl, get_args(Ranking))
        if self.cross_tier_rule is not None:
            _check.one_of("cross_tier_rule", self.cross_tier_rule, ("position", "net", "underlying"))
        if self.tick is not None:
            _check.one_number("tick", self.tick, _check.positive)
        _check.one_of("rounding", self.rounding, ("none", "long-up-short-down"))
        if self.own_table is not None and not isinstance(self.own_table, TierTable):
            raise ValueError(f"own_table must be a TierTable, got {type(self.own_table).__name__}")
        if self.table_id is not None and self.margin_id is not None:
            raise ValueError(f"give table_id or margin_id, not both; got table_id={self.table_id!r} and "
                             f"margin_id={self.margin_id!r}")

    @property
    def has_table(self) -> bool:
        """Whether a table is at hand: attached with :meth:`with_table`, or bundled."""
        return self.own_table is not None or self.table_id is not None

    @property
    def table(self) -> TierTable:
        """The attached table, else the bundled one (clear error where there is neither)."""
        if self.own_table is not None:
            return self.own_table
        if self.margin_id is not None:
            raise ValueError(f"rulebook {self.id!r} has no bundled tier table: it is charged by the margin rule "
                             f"{self.margin_id!r}; use preset({self.id!r}).margin(leverage)")
        if self.table_id is None:
            raise ValueError(f"rulebook {self.id!r} has no bundled tier table (no dated, sourced snapshot); "
                             f"attach one with preset({self.id!r}).with_table(table)")
        return load_table(self.table_id)

    @property
    def has_margin(self) -> bool:
        """Whether positions can be charged: a table is at hand, or a margin rule is bundled."""
        return self.has_table or self.margin_id is not None

    @property
    def margin_rule(self) -> ContractSchedule | AdjustmentFactors | None:
        """The bundled margin rule (None where the venue is charged by a tier table, attached or bundled)."""
        return load_margin(self.margin_id) if self.margin_id is not None and self.own_table is None else None

    def margin(self, leverage: float) -> PositionSchedule:
        """What charges a position opened at ``leverage``: the attached or bundled tier table, the
        bundled continuous schedule (Drift, dYdX v4), or the step table HTX's adjustment factors give
        at that leverage (``MMR = factor/leverage``).

        Raises
        ------
        ValueError
            Where there is neither table nor rule, or the leverage is not one HTX's factors are
            published for.

        Examples
        --------
        >>> t = preset("htx").margin(10)
        >>> float(t.rate(2_000)), float(preset("dydx-v4").margin(10).rate(1.0))
        (0.0125, 0.03)
        """
        _check.one_number("leverage", leverage, _check.positive)
        rule = self.margin_rule
        if rule is None:
            return self.table
        return rule.table(leverage) if isinstance(rule, AdjustmentFactors) else rule

    @property
    def table_label(self) -> str | None:
        """How displays name the table: the bundled id, or the attached table's id (else its
        symbol and date), marked as attached."""
        if self.own_table is None:
            return self.table_id if self.table_id is not None else self.margin_id
        t = self.own_table
        return f"{t.id or ' '.join(x for x in (t.symbol, t.as_of) if x) or 'table'} (attached)"

    def with_table(self, table: TierTable) -> Rulebook:
        """The same rules charged with ``table`` (for instance a live table from ccxt's
        ``fetch_leverage_tiers``, through :meth:`TierTable.from_ccxt`).

        Use it for a venue with no bundled table (CoinW), or to replace a bundled
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
        its 0.5 tick (``docs/formulas.md#price-rounding``); otherwise unchanged."""
        p = _check.one_number("price", price, _check.positive)
        s = _check.one_number("side", side, _check.side)
        if self.rounding == "none" or self.tick is None:
            return p
        step = np.ceil if s > 0 else np.floor
        return float(step(p / self.tick) * self.tick)


PRESETS: dict[str, Rulebook] = {r.id: r for r in (
    Rulebook("binance-usdm", "Binance USDⓈ-M", "binance-usdm-btcusdt-2021", "mark", 0.0, "binance",
             None, None, "binance", "position",
             sources="Binance FAQ 'How to Calculate Liquidation Price of USDⓈ-M Futures Contracts' (requirement "
                     "at the liquidation price, MM/margin balance); tier announcement 2021-03-18"),
    Rulebook("binance-coinm", "Binance COIN-M", "binance-coinm-btcusd-perp", "mark", 0.0, "binance", None, None,
             "binance", "position",
             sources="Binance FAQ 'How to Calculate Liquidation Price of Coin-M Futures Contracts' (requirement "
                     "at the liquidation price, substituting the level there; MMR and maintenance amount by the "
                     "position's notional in BTC: 300 BTC → 12.5%, 11.605 BTC); 'Leverage and Margin in "
                     "Coin-Margined Futures Contracts' (brackets by notional in coin, max leverage per bracket); the "
                     "bundled BTCUSD_PERP ladder joins that FAQ's caps with ccxt's MMR fixture (tm.table_info)"),
    Rulebook("okx", "OKX", "okx-btc-usd-swap-2019", "mark", 0.0005, "legacy", "two-tiers", None, None, "underlying",
             sources="Source articles (legacy ratio, 'MMR + liquidation fee', e.g. 1.50% + 0.05%); docs/formulas.md "
                     "(swaps reduce two tiers at a time; tiers per underlying in cross)"),
    Rulebook("coinw", "CoinW", None, "mark", 0.0006, "coinw", "one-tier", None, None, "net",
             sources="Source articles and CoinW help 'Tiered Maintenance Margin Rate System' (ratio ≤ 100%, tiers in "
                     "contracts, per trading pair in cross; stepwise reduction); fee: CoinW taker fee 0.06% "
                     "('Perpetual Futures FAQs') as the estimated liquidation fee. Tiers are published only on its "
                     "trading page: none bundled"),
    Rulebook("bybit", "Bybit", "bybit-xyzusdt-illustration", "entry", 0.00055, "binance", "lowest-sufficient", None,
             "pnl-leverage", "position", 0.5, "long-up-short-down", fee_at="bankruptcy",
             sources="Bybit help 'Liquidation Price (USDT Contract)' (MM at entry), 'Maintenance Margin (USDT "
                     "Contract)' (the illustration table); docs/formulas.md (one fill-or-kill order to the lowest "
                     "sufficient tier; PnL% × leverage ADL; rounding to 0.5). Fee to close: 'Order Cost (USDT "
                     "Contract)' ('Order Quantity × Bankruptcy Price × Taker Fee Rate', part of the position "
                     "margin), at the 0.055% taker rate of 'Liquidation Price Calculation under Isolated Mode "
                     "(Unified Trading Account)' and 'Initial Margin Calculation (USDC Perpetual & Futures)'"),
    Rulebook("bybit-uta", "Bybit (Unified Trading Account)", "bybit-xyzusdt-illustration", "mark", 0.00055,
             "binance", "lowest-sufficient", None, "pnl-leverage", "position", 0.5, "long-up-short-down",
             fee_at="bankruptcy",
             sources="Bybit help 'Liquidation Price Calculation under Isolated Mode (Unified Trading Account)' "
                     "(https://www.bybit.com/en/help-center/article/Liquidation-Price-Calculation-under-Isolated-"
                     "Mode-Unified-Trading-Account: 'Maintenance Margin = (Position Value x MMR) − Maintenance "
                     "Margin Deduction + Estimated Fee to Close Position', 'Position Value = Contract Quantity ÷ "
                     "Mark Price': the maintenance margin at the mark, the fee to close at the bankruptcy price, "
                     "taker 0.055%) and 'Trading Rules: Liquidation Process (Unified Trading Account)' (its worked "
                     "examples: long 1 BTC at 40,000, 50x, 3,000 added → 36,380.25). The classic account's "
                     "isolated USDT formula values the maintenance margin at entry instead: preset 'bybit'. "
                     "Policy, ADL, tiers per position and the 0.5 rounding as for 'bybit'"),
    Rulebook("bitmex", "BitMEX", "bitmex-xbtusd-risk-limits", "mark", 0.0, "legacy", "lowest-sufficient", None,
             "pnl-leverage", "position",
             sources="BitMEX 'Risk Limits' (table); docs/formulas.md (liquidation to the lowest sufficient risk limit, "
                     "ADL ranking PnL% × effective leverage)"),
    Rulebook("hyperliquid", "Hyperliquid", "hyperliquid-btc-mainnet", "mark", 0.0, "binance", "hyperliquid", None,
             "hyperliquid", "position", settlement="fill", partial=PartialLiquidation(),
             sources="Hyperliquid docs 'Margin tiers'; 'Liquidations' (https://hyperliquid.gitbook.io/hyperliquid-docs/"
                     "trading/liquidations: liquidated when equity falls below the maintenance margin, market orders "
                     "to the book, remaining collateral stays with the trader; backstop by the liquidator vault "
                     "below 2/3 of the maintenance margin, which is not returned); Hyperliquid Announcements post "
                     "307 (no clearance fee; 20% market orders for positions above 100k USDC, then 30 s during "
                     "which orders are for the whole position): policy 'hyperliquid' with PartialLiquidation(), "
                     "settled at the fill; 'Auto-deleveraging' (ranking (mark/entry) × (notional/account value)). "
                     "Not modelled: ADL 'at the previous oracle price' (the waterfall deleverages at the "
                     "settlement price); the vault holding what it takes over (closed at the fill here); a cross "
                     "account's backstop transfers its positions and margin (liquidate_account closes every "
                     "position at its bankruptcy price: the account's equity goes to the fund); the testnet "
                     "threshold of 10k USDC (pass PartialLiquidation(above=10_000)); 'below' is taken as 'at or "
                     "below', as for every venue here"),
    Rulebook("kucoin", "KuCoin Futures", "kucoin-xbtusdtm", requirement_at="entry", fee_rate=0.0, ratio="binance",
             policy="to-cap", adl="pnl-leverage",
             sources="KuCoin help 'How to Calculate the Liquidation Price for KuCoin Contracts' "
                     "(https://www.kucoin.com/support/4408061803033: MM = HP × Vol × S × MMRate at the holding "
                     "price, no fee: requirement at entry) and 'What is Liquidation?' ('the calculation of the "
                     "maintenance margin is based on the average entry price'); blog 'What Is Risk Limit Level on "
                     "KuCoin Futures?' (2022-12-01: above level 1 the position is reduced to the lower level's "
                     "limit by a FOK order, at level 1 liquidated: 'to-cap'); 'Risk Rate of Cross Margin Mode' "
                     "(risk rate = requirement / margin, liquidated at ≥ 100%: the 'binance' view); "
                     "'Auto-Deleveraging (ADL)' (return rate × effective leverage, ÷ when losing). Not modelled: "
                     "KuCoin's newer page 'How to Calculate Futures Liquidation Price' (26694703491737) values MM "
                     "and a liquidation fee at the liquidation price (requirement_at='mark' with a fee_rate whose "
                     "value it does not give); the FOK-failure fallback to full liquidation; cross positions above "
                     "600,000 USDT are partially liquidated. Cross tier grouping, tick and rounding not documented: "
                     "defaults"),
    Rulebook("gate", "Gate", "gate-btcusdt-2025-09", requirement_at="mark", fee_rate=0.00075, ratio="binance",
             sources="Gate help 'Calculation of Liquidation Price' "
                     "(https://www.gate.io/help/futures/perpetual/22160, as quoted in freqtrade's exchange.py): LP "
                     "= (entry ± margin/multiplier/size) / [1 ± (MMR + taker rate)], i.e. MMR and the taker fee "
                     "valued at the liquidation price; taker rate 0.075% (a Gate support reply on Gate Square, "
                     "2023-07-02); tiers and slice form: 'Risk Limit Explanation' (2025-09-30) and the contract "
                     "'Leverage and Margin' page. Not modelled: the liquidation policy (Gate's tiered liquidation "
                     "steps are not described in the pages read: policy None); ADL ranks by unrealized PnL × the "
                     "position's set leverage (2022-11-21 announcement), not the effective leverage of "
                     "'pnl-leverage': adl None; in hedge mode the MMR of the larger of the two positions is used, "
                     "which no cross_tier_rule expresses: None. Ratio display: default"),
    Rulebook("bitget", "Bitget", "bitget-btcusdt-2025-06", requirement_at="mark", fee_rate=0.0006, ratio="binance",
             sources="Bitget help 'Bitget futures: Estimated liquidation price' (2025-09-18: isolated LP = [margin "
                     "− size × entry × direction] / [size × (MMR + TakerFeeRatio − direction)]: MMR and the taker "
                     "fee valued at the liquidation price); 'Bitget to update maintenance margin calculation for "
                     "classic account futures' (MM = value × (MMR + 0.06% transaction fee rate); from 2025-11-10 "
                     "each portion at its tier's rate: the bundled June-2025 table is in step form, "
                     "table.with_form('continuous') gives the new method); tier-adjustment notices (a maintenance "
                     "margin ratio above 100% means the position must be adjusted: the 'binance' view). Not "
                     "modelled: the partial-liquidation steps (not described: policy None), the ADL ranking (not "
                     "found: None), cross margin tiers on long + short contracts of a pair ('combined in one tier'; "
                     "the 'underlying' rule sums them only when one instrument per underlying is held: None), "
                     "per-user 'special levels' that scale the caps 2×-4×"),
    Rulebook("dydx-v4", "dYdX v4", None, requirement_at="mark", fee_rate=0.0, ratio="binance",
             margin_id="dydx-v4-btc-usd",
             sources="dYdX docs 'Margin' (per-market initial and maintenance margin fractions, 'Maintenance Margin "
                     "Requirement = abs(S × P × M)' at the oracle price; Open-Interest-Based IMF between the "
                     "liquidity tier's lower and upper caps, 'the MMF ... does not change'; an account whose total "
                     "value falls below its total maintenance requirement may be liquidated: the 'binance' view) "
                     "and 'Liquidations' (isolated liquidation price p' = (e − s·p)/(|s|·MMF − s); the liquidation "
                     "penalty of up to 1.5% comes out of what the account has left, it is not added to the "
                     "requirement: no fee reserve); parameters: tm.alternatives.margin_info('dydx-v4-btc-usd'). "
                     "Not modelled: how much is liquidated per block (the liquidations config's position and "
                     "subaccount limits: policy None), the fillable price and deleveraging ranking (adl None); "
                     "cross margin sums the fractions over markets without tiers (cross_tier_rule None)"),
    Rulebook("drift", "Drift", None, requirement_at="mark", fee_rate=0.0, ratio="binance",
             margin_id="drift-program-test-market",
             sources="Drift docs 'Risk Parameters' (perp positions' premium max(.8 * wgt + sqrt(size) * imf_factor, "
                     "wgt)); protocol-v2 PerpMarket::get_margin_ratio and calculate_size_premium_liability_weight "
                     "(size in base units, the same rule for the initial and the maintenance ratio); docs "
                     "'Liquidations' (liquidatable when total collateral < maintenance margin requirement, at the "
                     "oracle price; 'Health = 100% - maint. margin / total collateral': the 'binance' view; the "
                     "liquidation fee is a penalty on the fill, not added to the requirement); parameters: "
                     "tm.alternatives.margin_info('drift-program-test-market'), Drift's own program test, not a "
                     "live market. Not modelled: partial liquidation ('any portion ... over a throttled time "
                     "window' up to a buffer, not a fixed step: policy None), high leverage mode, unrealized-PnL "
                     "asset weights and the ADL order (None)"),
    Rulebook("htx", "HTX", None, requirement_at="mark", fee_rate=0.0, ratio="binance", policy="to-cap",
             cross_tier_rule="net", margin_id="htx-btc-usdt-isolated-2020-09",
             sources="HTX help 'Tiered Adjustment Factor of USDⓈ-Margined Contracts' (tiers by net position, "
                     "'Maintenance Margin Ratio = Adjustment Factor / Leverage': a rule of leverage and tier, whole "
                     "position at its tier's factor); 'Partial Liquidation' (isolated margin ratio = equity / "
                     "occupied margin − adjustment factor; the position is reduced 'to the upper limit of a certain "
                     "tier' until the ratio is positive: 'to-cap'); 'HTX Futures Liquidation Indicators Adjustment' "
                     "(Margin ratio = Maintenance Margin / Position Equity, liquidated at 100%: the 'binance' view; "
                     "position margin at the latest price: MM at the mark); parameters: "
                     "tm.alternatives.margin_info('htx-btc-usdt-isolated-2020-09'). Not modelled: the self-trade "
                     "of opposite positions before liquidation, frozen order margin (no orders here), the price "
                     "pair (latest and mark) that must both trigger, ADL (None)"),
)}


def _check_fraction(fraction: float) -> float:
    """A ``"fraction"`` policy's share: a rate in [MIN_FRACTION, 1)."""
    f = _check.one_number("fraction", fraction, _open_rate)
    if f < MIN_FRACTION:
        raise ValueError(f"fraction must be at least {MIN_FRACTION:g} (1 % a step; smaller would take too many "
                         f"steps to end), got {fraction!r}")
    return f


def preset(rulebook_id: str) -> Rulebook:
    """A named rulebook (``PRESETS``), with a clear error for an unknown id."""
    return PRESETS[_check.one_of("rulebook", rulebook_id, PRESETS)]


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
    n = _check.one_number("notional_usd", notional_usd, _check.positive)
    ep = _check.one_number("entry", entry, _check.positive)
    _check.one_number("side", side, _check.side)  # the position's own inputs are errors, not a venue refusing it
    lev = _check.one_number("leverage", leverage, _check.positive)  # (issue 19 #10)
    if isinstance(rulebooks, str) or not isinstance(rulebooks, Iterable):
        raise ValueError(f"rulebooks must be a list of rulebooks or preset ids, got {rulebooks!r}")
    books = [preset(rb) if isinstance(rb, str) else rb for rb in rulebooks]
    if not books or not all(isinstance(b, Rulebook) for b in books):
        raise ValueError(f"rulebooks must be a non-empty list of rulebooks or preset ids, got {rulebooks!r}")
    return Comparison(tuple(_row(book, side, n, ep, lev) for book in books))


def _row(book: Rulebook, side: str, notional: float, entry: float, leverage: float) -> dict[str, Any]:
    row: dict[str, Any] = dict(venue=book.venue, table=book.table_label, contracts=None, tier=None, mmr=None,
                               mm=None, currency="", max_leverage=None, liquidation=None, bankruptcy=None, note="")
    if not book.has_margin:
        return {**row, "note": "no bundled tier table"}
    try:
        t = book.margin(leverage)
    except ValueError as e:  # HTX: a leverage its adjustment factors are not published for
        return {**row, "note": f"refused: {e}"}
    c = t.contract
    qty = notional / float(c.usd_value(1.0, entry))
    try:
        pos = IsolatedPosition.open(t, side, qty, entry, leverage, fee_rate=book.fee_rate,
                                    requirement_at=book.requirement_at, fee_at=book.fee_at)
    except ValueError as e:
        return {**row, "contracts": qty, "note": f"refused: {e}"}
    lp, bp = pos.liquidation_price(), pos.bankruptcy_price()
    size = c.value(qty, entry) if t.basis == "notional" else qty
    s = float(pos.side)
    notes = [] if lp.exists else ["cannot be liquidated"]
    if not isinstance(t, TierTable):
        notes.insert(0, "continuous schedule: the rates at this size")
    elif isinstance(book.margin_rule, AdjustmentFactors):
        notes.insert(0, f"MMR = adjustment factor {float(t.rate(size)) * float(leverage):g} / {float(leverage):g}x")
    return {**row, "contracts": qty, "tier": pos.tier(entry) if isinstance(t, TierTable) else None,
            "mmr": float(t.rate(size)),
            "mm": float(pos.maintenance_margin(entry)), "currency": c.settle,
            "max_leverage": float(t.max_leverage_at(size)) if t.max_leverage is not None else None,
            "liquidation": book.round_price(lp.price, s) if lp.exists else None,
            "bankruptcy": book.round_price(bp.price, s) if bp.exists else None,
            "note": "; ".join(notes)}


def rulebooks_table(ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The presets' fields as plain dicts (for display and export); ``ids``: which presets (None: all)."""
    if ids is None:
        ids = tuple(PRESETS)
    elif isinstance(ids, str) or not isinstance(ids, Sequence) or not ids:
        raise ValueError(f"ids must be a non-empty list of preset ids (or None: all), got {ids!r}")
    return [{k: v for k, v in vars(preset(i)).items() if k != "own_table"} for i in ids]
