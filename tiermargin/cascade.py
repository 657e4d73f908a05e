"""A market-wide liquidation cascade with endogenous price impact: why gradient margin exists.

The source articles say tiered maintenance margin exists because "the sudden forced liquidation of a
substantial position could create extreme volatility, cause cascading liquidations for other traders,
and potentially lead to significant insurance fund losses". :func:`run` makes that loop run:

.. code-block:: text

    liquidation orders → order book (depth, resilience) → last price
         ↑                                                   ↓
    next liquidations ← mark = index + MA(basis) ←  index (arbitrage) , basis = last − index

**Market.** Other venues' price (the *fair* price) is a seeded random walk; the shock (:class:`Shock`)
drops it (``"market"``), or a sell order hits this venue's book (``"venue"``: a drop of the last price;
``"whale"``: a sale of a given notional). Every step's liquidation orders go to the
:class:`~tiermargin.orderbook.Book` as one batch: its net moves the log displacement
``d = ln(last/fair)``, which decays with the book's resilience. The index follows this venue only in
part: ``ln(index/fair) = β·d`` with the arbitrage coefficient ``β`` (0: other venues ignore it; 1: the
whole market moves with it). The mark is :func:`tiermargin.markprice.mark_price` of the index and the
basis moving average over ``window`` seconds (:func:`tiermargin.markprice.basis_moving_average`'s
trailing mean, kept incrementally), or the last price itself with ``mark="last"``.

**Liquidation.** At every step the positions whose health at the mark is ≤ 0 are reduced by the
rulebook's policy, re-checked at the same mark and reduced again until healthy or closed — the
procedure of :func:`tiermargin.liquidation.liquidate` (its target rule, Hyperliquid's 20 % orders,
cooldown and backstop, its settlement rule), vectorized across the traders liquidated at that step (a
test checks it trader by trader against :func:`~tiermargin.liquidation.liquidate`). Candidates are found from each trader's
liquidation price (:func:`tiermargin.isolated.liquidation_price`), so a step costs a comparison per
trader; health itself is evaluated for the candidates only (and, every step, for the few whose
liquidation price proved unreliable).

**Money.** Every step's closed contracts are sold in one batch at the book's average fill and settled
per the rule (:mod:`tiermargin.liquidation`): at each trader's bankruptcy price, or at the fill — the
trader keeping what margin it leaves — unless the fill is worse than the trader's bankruptcy price for
the step, where its equity would go negative. Under settlement at the fill a trader's equity after an
order depends on the batch's fill, known only once every order of the step is: the step's orders are
decided as if they filled at the mark (a re-check at the same mark sees no slippage), then the batch
fills and each trader keeps what its fill leaves; a position the batch's slippage leaves liquidatable
is liquidated at the next step (a fill that would leave the kept contracts no margin closes the whole
position, the batch re-priced with it). The risk fund (:class:`~tiermargin.riskfund.RiskFund`) books
the batch's surpluses and then its losses (two rows); what it cannot pay is deleveraged
(:func:`tiermargin.adl.adl_qty`, :func:`tiermargin.adl.deleverage`) against the profitable opposite
side at the batch's average settlement price (contract-weighted in the contract's price coordinate,
so the counterparties receive exactly what the liquidated traders' closed contracts were settled
at). What the queue cannot take is sold anyway and reported as ``uncovered`` (the venue bears it).
Money is conserved at every step: a property test checks that traders' equity, the fund, the
market's fills and the uncovered loss add up to what everyone would hold had nothing happened.

Model choices, documented: traders do not react (no top-ups, no new positions, no stop orders);
a cross trader holds one position on this instrument backed by its whole wallet, which is an
isolated position with the wallet as its margin (as :func:`~tiermargin.liquidation.liquidate_account`
shows); all of a step's orders fill at one price (a batch); the book moves by the contracts that
reach it (ADL contracts do not), while the batch's fill is priced before ADL takes its share (the
fund's favour, as :func:`~tiermargin.adl.adl_qty` says). A teaching model, not a calibrated one.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from html import escape
from typing import Any, Literal, get_args

import numpy as np
from numpy.typing import NDArray

from . import _check
from ._check import FloatArray
from .adl import candidates, deleverage, scores
from .derivation import Derivation, Line, num
from .isolated import IsolatedPosition, _basis_size, _fixed_fee, bankruptcy_price, liquidation_price, requirement
from .liquidation import (_NUDGE, _equity_after_fill, _is_backstop, _partial_keep, _procedure, _Procedure,
                          _settlement_price)
from .markprice import mark_price
from .orderbook import Book
from .riskfund import DAY, HOUR, RiskFund
from .rules import Policy, Ranking, Rulebook, Settlement, _open_rate, preset
from .tiers import TierTable
from .waterfall import DAY_START, _clock, _seed, traders

MarkRule = Literal["smoothed", "last"]
ShockKind = Literal["market", "venue", "whale"]
AXES: tuple[str, ...] = ("tiers", "form", "policy", "mark", "book")
"""The comparisons :func:`compare` runs (one call each)."""
EXPLAINED: tuple[str, ...] = ("multiplier", "notional", "fund_loss")
"""The numbers :meth:`Cascade.explain` works out by hand."""
NO_TIERS = "no tiers (tier 1's rate and leverage at every size)"
"""The label of :func:`variants`' market without tiers."""
FUND_SHARE = 0.02
"""Default risk fund as a share of open interest (Binance's fund, about 1 billion USD, against tens of
billions of open interest, is a few per cent; a teaching value)."""
DRAWN: tuple[str, ...] = ("n", "price", "seed", "cross_share", "wallet", "median_usd", "max_leverage")
"""The :func:`population` arguments a :class:`Population` keeps (``draw``) to repeat its draw."""


# ---------------------------------------------------------------------- the traders
@dataclass(frozen=True)
class Population:
    """Traders on one instrument under one venue's rules.

    Parameters
    ----------
    positions : IsolatedPosition
        One position per trader (one-dimensional); a cross trader's margin is its whole wallet.
    cross : array of bool
        Which traders are in cross margin.
    rules : Rulebook
        The venue's rules: fee reserve and requirement valuation (carried by ``positions``),
        liquidation policy, settlement and ADL ranking (used by :func:`run`).
    """

    positions: IsolatedPosition
    cross: NDArray[np.bool_]
    rules: Rulebook
    #: the :func:`population` arguments that drew these traders (besides ``rules``), for :meth:`redrawn`
    draw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.positions, IsolatedPosition):
            raise TypeError(f"positions must be an IsolatedPosition array, got {type(self.positions).__name__}")
        if len(self.positions.shape) != 1:
            raise ValueError(f"positions must be one-dimensional (one per trader), got shape {self.positions.shape}")
        if not isinstance(self.rules, Rulebook):
            raise TypeError(f"rules must be a Rulebook, got {type(self.rules).__name__}")
        cross = np.asarray(self.cross)
        if cross.dtype != np.bool_ or cross.shape != self.positions.shape:
            raise ValueError(f"cross must be booleans, one per trader ({self.positions.shape[0]}), "
                             f"got {cross.dtype} of shape {cross.shape}")
        if not isinstance(self.draw, Mapping) or not set(self.draw) <= set(DRAWN):
            raise ValueError(f"draw must be a mapping of population() arguments ({', '.join(DRAWN)}), "
                             f"got {self.draw!r}")
        object.__setattr__(self, "cross", cross)

    def __len__(self) -> int:
        return self.positions.shape[0]

    @property
    def table(self) -> TierTable:
        """The instrument's tier table."""
        return self.positions.table

    def with_table(self, table: TierTable) -> Population:
        """The same traders (contracts, entries, margins) charged with another table (e.g. a flat rate)."""
        if not isinstance(table, TierTable):
            raise TypeError(f"table must be a TierTable, got {type(table).__name__}")
        if table.contract != self.table.contract:
            raise ValueError("table must be for the same contract as the population's")
        return replace(self, positions=replace(self.positions, table=table))

    def redrawn(self, table: TierTable) -> Population:
        """The traders the same draw gives under ``table``: :func:`population` with the same arguments and
        seed, the rulebook charged with ``table`` (:meth:`~tiermargin.rules.Rulebook.with_table`).

        Sizes, sides, entries, wallets and the leverage draws are the same; what changes is the leverage
        cap, now ``table``'s max leverage for each size. With a flat table at tier 1's rate and max
        leverage it is the market without tiers, where a large position may be as leveraged as a small one
        (:meth:`with_table` keeps the margins instead).
        """
        if not isinstance(table, TierTable):
            raise TypeError(f"table must be a TierTable, got {type(table).__name__}")
        if not self.draw:
            raise ValueError("redrawn: this population was not drawn by population() (it has no draw to repeat)")
        return population(self.rules.with_table(table), **self.draw)

    def notional(self) -> FloatArray:
        """Each trader's position in USD at its entry."""
        p = self.positions
        return np.asarray(self.table.contract.usd_value(p.qty, p.entry), dtype=np.float64)

    def average_rate(self) -> float:
        """The notional-weighted average of the tier rates the traders pay at entry (for a flat comparison)."""
        p = self.positions
        size = _basis_size(self.table, p.qty, self.table.contract.value(p.qty, p.entry))
        w = self.notional()
        return float(np.sum(np.asarray(self.table.rate(size)) * w) / np.sum(w))

    def __repr__(self) -> str:
        n, c = len(self), int(self.cross.sum())
        return (f"Population({n:,} traders on {self.rules.table_label or self.table.symbol}: {c:,} cross, "
                f"{n - c:,} isolated; {float(self.notional().sum()):,.0f} USD open)")


def population(
    rules: Rulebook | str,
    n: int,
    price: float = 60_000.0,
    seed: int = 0,
    cross_share: float = 0.3,
    wallet: float = 4.0,
    median_usd: float = 50_000.0,
    max_leverage: float = 50.0,
) -> Population:
    """A seeded population of ``n`` traders under a venue's rules (same seed → same traders).

    Positions are drawn as :func:`tiermargin.waterfall.traders` draws them (log-normal notionals,
    log-uniform leverage up to the tier's max, half long) on the rulebook's table; a share
    ``cross_share`` trades in cross margin, its wallet a log-uniform multiple in ``[1, wallet]`` of
    the initial margin. A teaching population, not a calibrated one.

    Parameters
    ----------
    rules : Rulebook or str
        The venue (a :data:`~tiermargin.rules.PRESETS` id or a rulebook with a table).
    n : int
        Number of traders, >= 1.
    price : float
        Price around which they opened, > 0.
    cross_share : float
        Share of cross-margin traders in [0, 1].
    wallet : float
        Largest wallet of a cross trader as a multiple of its initial margin, >= 1.
    median_usd : float
        Median position in USD at ``price`` (converted to the table's size unit), > 0.
    max_leverage : float
        Highest leverage drawn, >= 1 (and at most the tier's).
    """
    book = preset(rules) if isinstance(rules, str) else rules
    if not isinstance(book, Rulebook):
        raise TypeError(f"rules must be a Rulebook or a preset id, got {type(rules).__name__}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1 (a population cannot be empty), got {n!r}")
    share = _check.one_number("cross_share", cross_share)
    if not 0 <= share <= 1:
        raise ValueError(f"cross_share must be in [0, 1], got {cross_share!r}")
    top = _check.one_number("wallet", wallet)
    if top < 1:
        raise ValueError(f"wallet must be >= 1 (a multiple of the initial margin), got {wallet!r}")
    table = book.table
    p = _check.one_number("price", price, _check.positive)
    median = float(table.size_at_usd(_check.one_number("median_usd", median_usd, _check.positive), p))
    base = traders(table, int(n), p, seed, median_notional=median, max_leverage=max_leverage)
    rng = np.random.default_rng([_seed(seed), 1])
    cross = rng.random(int(n)) < share
    multiple = np.where(cross, np.exp(rng.random(int(n)) * math.log(top)), 1.0)
    positions = IsolatedPosition(base.table, base.side, base.qty, base.entry, base.margin * multiple, base.leverage,
                                 book.fee_rate, book.requirement_at, book.fee_at)
    bad = np.asarray(positions.health(positions.entry)) <= 0
    if bad.any():
        raise ValueError(f"rules: {int(bad.sum())} traders would be liquidated at entry under "
                         f"{book.id!r}'s fee reserve; lower max_leverage")
    return Population(positions, cross, book, dict(n=int(n), price=price, seed=seed, cross_share=share, wallet=top,
                                                   median_usd=median_usd, max_leverage=max_leverage))


# ---------------------------------------------------------------------- the shock
@dataclass(frozen=True)
class Shock:
    """What starts the cascade, at ``at`` seconds into the run.

    Parameters
    ----------
    kind : {"market", "venue", "whale"}
        ``"market"``: other venues' price drops by ``size`` and stays there (the index drops with it).
        ``"venue"``: a sell order on this venue's book drops its last price by ``size`` (the book then
        recovers; the index and the smoothed mark see it only in part).
        ``"whale"``: one whale's liquidation, a sale of ``size`` USD notional into this venue's book.
    size : float
        A fraction in (0, 1) for ``"market"`` and ``"venue"`` (a drop of less than 100 %); USD > 0 for ``"whale"``.
    at : float
        Seconds from the start of the run, >= 0.
    """

    kind: ShockKind = "market"
    size: float = 0.05
    at: float = 8 * HOUR

    def __post_init__(self) -> None:
        _check.one_of("kind", self.kind, get_args(ShockKind))
        if self.kind == "whale":
            object.__setattr__(self, "size", _check.one_number("size", self.size, _check.positive))
        else:
            v = _check.one_number("size", self.size)
            if not 0 < v < 1:
                raise ValueError(f"size must be a drop in (0, 1) for a {self.kind!r} shock (less than 100 %), "
                                 f"got {self.size!r}")
            object.__setattr__(self, "size", v)
        object.__setattr__(self, "at", _check.one_number("at", self.at, _check.nonnegative))

    def order(self, book: Book) -> float:
        """USD notional of the shock's own sell order on this venue (0 for a market-wide drop).

        Raises
        ------
        ValueError
            For a ``"venue"`` drop on an infinitely deep book, which no sale moves.
        """
        if not isinstance(book, Book):
            raise TypeError(f"book must be a Book, got {type(book).__name__}")
        if self.kind == "venue" and not book.has_impact:
            raise ValueError(f"book must have a finite depth for a 'venue' shock (no sale drops an infinitely deep "
                             f"book by {self.size:.0%}), got {book!r}")
        if self.kind == "market":
            return 0.0
        return self.size if self.kind == "whale" else book.order_for(self.size)

    def __str__(self) -> str:
        if self.kind == "whale":
            return f"whale sale of {self.size:,.0f} USD"
        return f"{self.size:.0%} {'market-wide' if self.kind == 'market' else 'venue'} drop"


def fair_prices(times: FloatArray, price: float, volatility: float, seed: int, shock: Shock) -> FloatArray:
    """Other venues' price at ``times`` (seconds from the start): a seeded geometric random walk of
    annualized ``volatility`` from ``price``, times ``1 − size`` from the shock on for a ``"market"`` shock."""
    t = _check.finite("times", times)
    if t.ndim != 1 or (np.diff(t) < 0).any():
        raise ValueError(f"times must be one-dimensional and sorted in increasing order, got {times!r}")
    p = _check.one_number("price", price, _check.positive)
    vol = _check.one_number("volatility", volatility, _check.nonnegative)
    if not isinstance(shock, Shock):
        raise TypeError(f"shock must be a Shock, got {type(shock).__name__}")
    rng = np.random.default_rng(_seed(seed))
    dt = np.diff(t, prepend=t[0])
    walk = np.cumsum(vol * np.sqrt(dt / (365 * DAY)) * rng.standard_normal(t.size))
    drop = np.where(t >= shock.at, math.log1p(-shock.size), 0.0) if shock.kind == "market" else 0.0
    return p * np.exp(walk + drop)


# ---------------------------------------------------------------------- the result
COLUMNS: tuple[str, ...] = ("time", "last", "index", "mark", "contracts liquidated", "notional liquidated",
                            "traders liquidated", "fund", "ADL contracts", "ADL fills", "uncovered")


@dataclass(frozen=True, repr=False)
class Cascade:
    """Result of :func:`run`: a per-step table, the traders at the end and the summary.

    Attributes
    ----------
    times : array (T,)
        UTC epoch seconds of the steps.
    last, index, mark : array (T,)
        This venue's last price at the end of each step (after its orders), the index and the mark.
    basis : array (T,)
        The basis the mark averages: the step's opening last price minus the index.
    fill : array (T,)
        The batch's average fill (the step's opening last price where nothing was sold).
    closed, notional : array (T,)
        Contracts liquidated and their USD value at the step.
    hit : array of int (T,)
        Traders liquidated (reduced or closed) at the step.
    market : array (T,)
        Net contracts the market bought from liquidations (longs' sales minus shorts' purchases).
    fund : array (T,)
        The fund's balance after the step.
    adl, adl_fills, uncovered : array (T,)
        Contracts deleveraged, counterparties filled and the loss left uncovered at the step.
    first : array of int (n,)
        Each trader's first liquidation step (−1: never).
    qty, margin, cash : array (n,)
        Contracts and margin at the end, and cash paid out (ADL, the equity left where no bankruptcy price
        exists, or what a close settled at the fill left).
    ledger : RiskFund
        The fund's rows.
    shock_order : float
        USD notional of the shock's own sale.
    baseline : float or None
        Notional liquidated by the same shock in an impact-free book (None: not run).
    """

    times: FloatArray
    last: FloatArray
    index: FloatArray
    mark: FloatArray
    basis: FloatArray
    fill: FloatArray
    closed: FloatArray
    notional: FloatArray
    hit: NDArray[np.intp]
    market: FloatArray
    fund: FloatArray
    adl: FloatArray
    adl_fills: NDArray[np.intp]
    uncovered: FloatArray
    first: NDArray[np.intp]
    qty: FloatArray
    margin: FloatArray
    cash: FloatArray
    ledger: RiskFund
    population: Population
    shock: Shock
    book: Book
    shock_order: float
    baseline: float | None = None
    start_fund: float = field(default=0.0)

    @property
    def multiplier(self) -> float | None:
        """Cascade multiplier: (shock order + notional liquidated) ÷ (shock order + notional liquidated
        by the shock alone, in a book without impact). 1.0 when neither liquidated anything; ``inf``
        when only the cascade did; None when no baseline was run."""
        if self.baseline is None:
            return None
        total, alone = self.shock_order + float(self.notional.sum()), self.shock_order + self.baseline
        if alone > 0:
            return total / alone
        return 1.0 if total == 0 else math.inf

    def explain(self, what: str = "multiplier", versus: Cascade | None = None, label: str = "this run",
                versus_label: str = "the other run") -> Derivation:
        """One of :meth:`summary`'s numbers worked out by hand from the run's arrays (or, with
        ``versus``, this run's number minus ``versus``'s).

        ``what`` is one of :data:`EXPLAINED`:

        * ``"multiplier"`` (:attr:`multiplier`): the shock's own order (key ``shock_order``), the
          notional liquidated, Σ of :attr:`notional` over the steps (``liquidated``), their sum
          (``total``), the notional the shock liquidates alone in an infinitely deep book
          (``alone``, :attr:`baseline`), the shock's order plus it (``total_alone``) and the ratio
          (``multiplier``);
        * ``"notional"``: Σ of :attr:`notional` (``notional``), "notional liquidated (USD)";
        * ``"fund_loss"``: the fund at the start and after the last step (``start_fund``,
          ``end_fund``) and ``max(start − end, 0)`` (``fund_loss``), "fund loss".

        Each run's lines begin with a statement naming it (key ``run``); with ``versus``, the other
        run's lines follow, their keys prefixed ``versus_``, and the last line is the difference
        (key ``difference``). The multiplier has no difference.

        Examples
        --------
        >>> pop = population("binance-usdm", 2_000, seed=7)
        >>> c = run(pop, Shock("venue", 0.08, at=1_800), Book(2_000_000), policy="one-tier", duration=7_200, seed=7)
        >>> d = c.explain("multiplier")
        >>> d.result == c.multiplier, [ln.key for ln in d.lines]
        (True, ['run', 'shock_order', 'liquidated', 'total', 'alone', 'total_alone', 'multiplier'])
        >>> c.explain("fund_loss").result == c.summary()["fund loss"]
        True
        >>> print(c.explain("multiplier").line("multiplier").text())  # doctest: +ELLIPSIS
        multiplier = (shock order + liquidated) ÷ (shock order + alone) = ... ÷ ... = ... (> 1: the book amplified the shock)
        """
        _check.one_of("what", what, EXPLAINED)
        _check.text("label", label)
        _check.text("versus_label", versus_label)
        lines = self._explained(what, label, "")
        title = {"multiplier": "Cascade multiplier", "notional": "Notional liquidated (USD)",
                 "fund_loss": "Fund loss"}[what] + f" of {label} ({self.shock})"
        if versus is not None:
            if not isinstance(versus, Cascade):
                raise TypeError(f"versus must be a Cascade, got {type(versus).__name__}")
            if what == "multiplier":
                raise ValueError("versus: a difference of multipliers is not one of the summary's numbers")
            other = versus._explained(what, versus_label, "versus_")
            a, b = float(lines[-1].value), float(other[-1].value)
            lines += other + [Line("difference", f"{label} − {versus_label}", f"{num(a)} − {num(b)}", a - b,
                                   "more in " + label if a > b else "no more in " + label)]
            title = title.replace(f" of {label} ", f": {label} minus {versus_label} ")
        rule = {"multiplier": "(shock order + notional liquidated) ÷ (shock order + notional liquidated by the shock "
                              "alone, in a book without impact)",
                "notional": "each step's contracts liquidated, valued in USD at the step's opening last price",
                "fund_loss": "what the risk fund paid over the run net of the surpluses it booked, 0 if it gained"}[what]
        return Derivation(title, tuple(lines), rule, "tiermargin.cascade (Cascade.summary)")

    def _explained(self, what: str, label: str, prefix: str) -> list[Line]:
        """The lines of one run's number (``explain``), keys prefixed ``prefix``."""
        active = np.flatnonzero(self.notional != 0)
        liquidated = float(self.notional.sum())
        steps = " + ".join(num(float(self.notional[k])) for k in active) if 0 < active.size <= 6 \
            else f"Σ over {active.size:,} steps"
        out = [Line(prefix + "run", "", "", None, f"{label}: {self.population.rules.table_label or self.population.table.symbol}, "
                    f"{len(self.population):,} traders, {self.shock}")]
        if what == "fund_loss":
            start, end = float(self.start_fund), float(self.fund[-1])
            out += [Line(prefix + "start_fund", "fund_0", "", start, "the risk fund at the start"),
                    Line(prefix + "end_fund", "fund_end", "", end, "after the last step"),
                    Line(prefix + "fund_loss", "max(fund_0 − fund_end, 0)", f"max({num(start)} − {num(end)}, 0)",
                         max(start - end, 0.0), "what the fund lost; 0 if it gained")]
            return out
        out.append(Line(prefix + ("liquidated" if what == "multiplier" else "notional"), "Σ notional liquidated",
                        steps if active.size > 1 else "", liquidated,
                        f"USD, {active.size:,} step{'' if active.size == 1 else 's'} with liquidations"))
        if what == "notional":
            return out
        if self.baseline is None:
            raise ValueError("explain: this run has no baseline (run(..., baseline=True)), so no multiplier")
        shock, alone = float(self.shock_order), float(self.baseline)
        total, total_alone = shock + liquidated, shock + alone
        m = self.multiplier
        out.insert(1, Line(prefix + "shock_order", "shock order", "", shock, "USD, the shock's own sale on this venue"))
        out += [Line(prefix + "total", "shock order + liquidated", f"{num(shock)} + {num(liquidated)}", total,
                     "USD sold through this book"),
                Line(prefix + "alone", "alone", "", alone, "USD the shock liquidates alone, in an infinitely deep book"),
                Line(prefix + "total_alone", "shock order + alone", f"{num(shock)} + {num(alone)}", total_alone,
                     "USD sold without the book's impact"),
                Line(prefix + "multiplier", "multiplier = (shock order + liquidated) ÷ (shock order + alone)",
                     f"{num(total)} ÷ {num(total_alone)}" if total_alone > 0 else "", m,
                     "> 1: the book amplified the shock" if m > 1 else "no amplification")]
        return out

    def summary(self) -> dict[str, float | None]:
        """The run in a few numbers (amounts of money in the settle currency, volume in USD)."""
        start = float(self.last[0])
        return {
            "traders liquidated": float(np.count_nonzero(self.first >= 0)),
            "contracts liquidated": float(self.closed.sum()),
            "notional liquidated (USD)": float(self.notional.sum()),
            "shock order (USD)": self.shock_order,
            "cascade multiplier": self.multiplier,
            "largest last move (%)": float(100 * np.max(np.abs(self.last / start - 1))),
            "largest mark move (%)": float(100 * np.max(np.abs(self.mark / float(self.mark[0]) - 1))),
            "fund loss": max(self.start_fund - float(self.fund[-1]), 0.0),
            "fund at the end": float(self.fund[-1]),
            "ADL fills": float(self.adl_fills.sum()),
            "uncovered": float(self.uncovered.sum()),
        }

    def table(self, only_active: bool = True) -> list[dict[str, float]]:
        """The per-step table (:data:`COLUMNS`), one dict a step; ``only_active``: steps with liquidations."""
        if not isinstance(only_active, (bool, np.bool_)):
            raise TypeError(f"only_active must be True or False, got {only_active!r}")
        cols = (self.times, self.last, self.index, self.mark, self.closed, self.notional, self.hit, self.fund,
                self.adl, self.adl_fills, self.uncovered)
        keep = np.flatnonzero(self.closed > 0) if only_active else np.arange(self.times.size)
        return [{c: float(v[k]) for c, v in zip(COLUMNS, cols)} for k in keep.tolist()]

    def _cells(self, row: Mapping[str, float]) -> list[str]:
        return [_clock(row["time"]), *(f"{row[c]:,.2f}" for c in COLUMNS[1:4]), f"{row[COLUMNS[4]]:,.4g}",
                f"{row[COLUMNS[5]]:,.0f}", f"{row[COLUMNS[6]]:,.0f}", f"{row[COLUMNS[7]]:,.2f}",
                f"{row[COLUMNS[8]]:,.4g}", f"{row[COLUMNS[9]]:,.0f}", f"{row[COLUMNS[10]]:,.2f}"]

    def __repr__(self) -> str:
        return f"Cascade({self.shock}; " + ", ".join(_fmt(k, v) for k, v in self.summary().items()) + ")"

    def _repr_html_(self) -> str:
        rows = self.table()
        head = "".join(f"<th>{escape(c)}</th>" for c in COLUMNS)
        body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in self._cells(r)) + "</tr>" for r in rows[:12])
        more = f"<p>… {len(rows) - 12} more steps with liquidations</p>" if len(rows) > 12 else ""
        return (f"<p>{escape(repr(self))}</p><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
                f"{more}")


def _fmt(key: str, value: float | None) -> str:
    if value is None:
        return f"{key} —"
    if math.isinf(value):
        return f"{key} ∞"
    return f"{key} {value:,.2f}" if value % 1 else f"{key} {value:,.0f}"


# ---------------------------------------------------------------------- the engine
@dataclass
class _State:
    """The traders' mutable arrays during a run (the engine's working copy)."""

    side: FloatArray
    qty: FloatArray
    entry: FloatArray
    margin: FloatArray
    leverage: FloatArray
    cash: FloatArray
    trig: FloatArray  # liquidation price; 0 (long) / inf (short) where none or closed
    watch: NDArray[np.bool_]  # health checked every step: the liquidation price proved unreliable
    partial_at: FloatArray  # time of the last partial liquidation (policy "hyperliquid"; −inf: none)

    def positions(self, p: IsolatedPosition, who: NDArray[np.intp]) -> IsolatedPosition:
        return IsolatedPosition(p.table, self.side[who], self.qty[who], self.entry[who], self.margin[who],
                                self.leverage[who], p.fee_rate, p.requirement_at, p.fee_at)

    def retrigger(self, p: IsolatedPosition, who: NDArray[np.intp]) -> None:
        """Recompute the liquidation prices of ``who`` (closed positions never trigger)."""
        open_ = who[self.qty[who] > 0]
        shut = who[self.qty[who] <= 0]
        self.trig[shut] = np.where(self.side[shut] > 0, 0.0, np.inf)
        self.watch[shut] = False
        if open_.size:
            self.trig[open_] = liquidation_price(p.table, self.side[open_], self.qty[open_], self.entry[open_],
                                                 self.margin[open_], p.fee_rate, p.requirement_at,
                                                 p.fee_at).price


def _health(p: IsolatedPosition, side: FloatArray, qty: FloatArray, entry: FloatArray, margin: FloatArray,
            mark: float) -> FloatArray:
    """``equity − requirement`` of positions given by arrays (qty may be 0), at ``mark``; the fee
    reserve valued per ``p.fee_at`` (:meth:`~tiermargin.isolated.IsolatedPosition.fee_reserve`)."""
    c = p.table.contract
    value_at = mark if p.requirement_at == "mark" else entry
    equity = margin + np.asarray(c.upnl(side, qty, entry, mark))
    if p.fee_at == "mark":
        return equity - np.asarray(requirement(p.table, qty, value_at, p.fee_rate))
    fee = _fixed_fee(p.table, side, qty, entry, margin, p.fee_rate, p.fee_at)
    return equity - np.asarray(requirement(p.table, qty, value_at)) - fee


def _keep(p: IsolatedPosition, side: FloatArray, qty: FloatArray, entry: FloatArray, margin: FloatArray,
          mark: float, procedure: _Procedure, at_fill: NDArray[np.bool_], since: FloatArray) -> FloatArray:
    """Contracts each position keeps after one step of the procedure (the rule of
    :func:`tiermargin.liquidation.liquidate`, vectorized; 0: closed in full). ``at_fill``: settled at the
    fill (as if at the mark: the kept contracts keep the margin plus the PnL realized there); ``since``:
    seconds since each trader's last partial liquidation (Hyperliquid's cooldown)."""
    t = p.table
    policy, fraction = procedure.policy, procedure.fraction
    if policy == "hyperliquid":
        return _partial_keep(procedure.partial, qty, t.contract.usd_value(qty, mark), since)
    value_at = np.full_like(qty, mark) if p.requirement_at == "mark" else entry
    tier = t.tier_index(_basis_size(t, qty, t.contract.value(qty, value_at))) + 1
    if policy == "full":
        return np.zeros_like(qty)
    if policy == "fraction":
        keep = qty * (1 - fraction)
    elif policy in ("one-tier", "to-cap", "two-tiers"):
        target = np.maximum(tier - (2 if policy == "two-tiers" else 1), 1)
        cap = np.where(tier > 1, t.caps[target - 1], 0.0)  # tier 1 closes in full (its cap may be inf)
        keep = np.asarray(t.contracts_at(cap * (1 - _NUDGE), value_at))
    else:  # lowest-sufficient: the largest lower tier's cap at which the position is healthy
        keep = np.zeros_like(qty)
        for j in range(1, t.n_tiers):  # ascending: a larger healthy cap overwrites a smaller one
            k = np.asarray(t.contracts_at(np.full_like(qty, t.caps[j - 1] * (1 - _NUDGE)), value_at))
            kept = _kept_margin(p, side, qty, k, entry, margin, mark, at_fill, margin * k / qty)
            ok = (j < tier) & (_health(p, side, k, entry, kept, mark) > 0)
            keep = np.where(ok, k, keep)
    return np.where(tier == 1, 0.0, keep)


def _kept_margin(p: IsolatedPosition, side: FloatArray, qty: FloatArray, keep: FloatArray, entry: FloatArray,
                 margin: FloatArray, mark: float, at_fill: NDArray[np.bool_], share: FloatArray) -> FloatArray:
    """The margin of ``keep`` of ``qty`` contracts after a step decided at the mark: their proportional
    ``share`` (settled at the bankruptcy price), or the margin plus the PnL realized at the mark (``at_fill``)."""
    if not at_fill.any():
        return share
    closed = np.where(at_fill, np.maximum(qty - keep, 0.0), 0.0)
    return np.where(at_fill, margin + np.asarray(p.table.contract.upnl(side, closed, entry, mark)), share)


@dataclass(frozen=True)
class _Step:
    """One step's liquidations, decided at the mark: who, the contracts each keeps, their bankruptcy price
    (the mark where none exists), whether they are settled at the fill, their equity at the mark before
    the step, the margin the kept contracts keep at the bankruptcy price (their proportional share) and
    the time of each one's last partial liquidation."""

    who: NDArray[np.intp]
    kept: FloatArray
    bankruptcy: FloatArray
    at_fill: NDArray[np.bool_]
    equity: FloatArray
    margin: FloatArray
    partial_at: FloatArray


def _liquidate(st: _State, p: IsolatedPosition, who: NDArray[np.intp], mark: float, time: float,
               procedure: _Procedure) -> _Step:
    """Reduce ``who`` (health ≤ 0 at ``mark``) step by step until healthy or closed, at ``time`` (seconds);
    the state is changed by :func:`_settle`, once the batch has filled."""
    side, entry = st.side[who], st.entry[who]
    qty, margin = st.qty[who].copy(), st.margin[who].copy()
    equity = margin + np.asarray(p.table.contract.upnl(side, qty, entry, mark))
    # settled at the fill while the trader has equity and no backstop takes the position over (the backstop is
    # decided on the first order: as if filled at the mark, a market order leaves the equity as it was)
    backstop = _is_backstop(procedure, equity, equity - _health(p, side, qty, entry, margin, mark))
    at_fill = ~backstop & (equity > 0) if procedure.settlement == "fill" else np.zeros(who.size, dtype=bool)
    partial_at = st.partial_at[who].copy()
    fee = p.fee_rate if p.fee_at == "bankruptcy" else 0.0  # as IsolatedPosition.bankruptcy_price
    bp = bankruptcy_price(p.table, side, qty, entry, margin, fee)  # unchanged by proportional reductions
    bankrupt = np.where(np.asarray(bp.exists), np.asarray(bp.price), mark)  # none: settled at the mark
    active = np.ones(who.size, dtype=bool)
    while active.any():
        a = np.flatnonzero(active)
        keep = np.where(backstop[a], 0.0, _keep(p, side[a], qty[a], entry[a], margin[a], mark, procedure, at_fill[a],
                                                time - partial_at[a]))
        margin[a] = _kept_margin(p, side[a], qty[a], keep, entry[a], margin[a], mark, at_fill[a],
                                 margin[a] * (keep / qty[a]))
        partial_at[a] = np.where(keep > 0, time, partial_at[a])  # kept contracts: a partial order (or a tier step)
        qty[a] = keep
        active[a] = (keep > 0) & (_health(p, side[a], keep, entry[a], margin[a], mark) <= 0)
    return _Step(who, qty, bankrupt, at_fill, equity, margin, partial_at)


def _average_price(contract: Any, qty: FloatArray, price: FloatArray) -> float:
    """The contract-weighted average of ``price`` in the contract's price coordinate (exact for PnL)."""
    return float(contract.price_of(np.asarray(np.sum(qty * contract.coordinate(price)) / np.sum(qty))))


def run(
    population: Population,
    shock: Shock = Shock(),
    book: Book = Book(),
    *,
    policy: Policy | Rulebook | None = None,
    fraction: float | None = None,
    settlement: Settlement | None = None,
    ranking: Ranking | None = None,
    mark: MarkRule = "smoothed",
    window: float = 300.0,
    arbitrage: float = 0.3,
    fund: RiskFund | float | None = None,
    duration: float = DAY,
    step: float = 60.0,
    volatility: float = 0.5,
    price: float | None = None,
    seed: int = 0,
    baseline: bool = True,
) -> Cascade:
    """Run a cascade (see the module docstring).

    Parameters
    ----------
    population : Population
        The traders (:func:`population`).
    shock : Shock
        What starts it.
    book : Book
        Depth and resilience of this venue's book.
    policy, fraction, settlement : optional
        The liquidation procedure, as in :func:`~tiermargin.liquidation.liquidate` (a policy name, with
        ``fraction`` and ``settlement``, or a rulebook); default the population's rulebook's, required
        where the rulebook has no policy.
    ranking : {"pnl-leverage", "binance", "hyperliquid"}, optional
        ADL ranking (default: the rulebook's, else "pnl-leverage").
    mark : {"smoothed", "last"}
        Liquidate on the mark ``index + MA(basis)`` or on the last price.
    window : float
        Basis moving-average window in seconds, > 0.
    arbitrage : float
        The arbitrage coefficient ``β`` in [0, 1]: how much of this venue's displacement the index follows.
    fund : RiskFund or float, optional
        The risk fund at the start (a float: a fund with that balance, in the settle currency); copied, not
        changed. Default: :data:`FUND_SHARE` of the traders' open position value at entry.
    duration, step : float
        Length of the run and time between marks, seconds (default a day of 1,441 marks).
    volatility : float
        Annualized volatility of the fair price, >= 0.
    price : float, optional
        The fair price at the start (default: the traders' median entry).
    seed : int
        Seed of the fair-price walk.
    baseline : bool
        Also run the shock in a book without impact, for the cascade multiplier.

    Examples
    --------
    >>> pop = population("okx", 2_000, seed=1)
    >>> c = run(pop, Shock("market", 0.08), Book(depth=2_000_000))
    >>> c.summary()["cascade multiplier"] > 1
    True
    """
    if not isinstance(population, Population):
        raise TypeError(f"population must be a Population (see cascade.population), got {type(population).__name__}")
    if not isinstance(shock, Shock):
        raise TypeError(f"shock must be a Shock, got {type(shock).__name__}")
    if not isinstance(book, Book):
        raise TypeError(f"book must be a Book, got {type(book).__name__}")
    rules = population.rules
    if policy is None and rules.policy is None:
        raise ValueError(f"policy: rulebook {rules.id!r} has no liquidation policy; pass policy=")
    procedure = _procedure(rules if policy is None else policy, fraction, settlement)
    if ranking is None:
        ranking = rules.adl or "pnl-leverage"
    _check.one_of("ranking", ranking, get_args(Ranking))
    _check.one_of("mark", mark, get_args(MarkRule))
    if not isinstance(baseline, (bool, np.bool_)):
        raise TypeError(f"baseline must be True or False, got {baseline!r}")
    w = _check.one_number("window", window, _check.positive)
    beta = _check.one_number("arbitrage", arbitrage)
    if not 0 <= beta <= 1:
        raise ValueError(f"arbitrage must be in [0, 1], got {arbitrage!r}")
    if fund is None:
        fund = RiskFund(FUND_SHARE * float(np.sum(population.positions.value(population.positions.entry))))
    elif not isinstance(fund, RiskFund):
        fund = RiskFund(_check.one_number("fund", fund, _check.nonnegative))
    length = _check.one_number("duration", duration, _check.positive)
    dt = _check.one_number("step", step, _check.positive)
    if dt > length:
        raise ValueError(f"step must be at most the duration ({length:,.0f} s), got {dt:,.0f} s")
    if length / dt > 1_000_000:
        raise ValueError(f"step: {length / dt:,.0f} steps is too many (at most 1,000,000); use a longer step")
    if shock.at > length:
        raise ValueError(f"shock: at {shock.at:,.0f} s must be at most the duration of the run ({length:,.0f} s)")
    order = shock.order(book)
    times = np.arange(0.0, length + dt / 2, dt)
    start = float(np.median(population.positions.entry)) if price is None else price
    fair = fair_prices(times, start, volatility, seed, shock)
    args = (procedure, ranking, mark, w, beta)
    out = _simulate(population, shock, book, *args, copy.deepcopy(fund), times, fair, order)
    if not baseline:
        return out
    calm = _simulate(population, shock, Book(math.inf, book.half_life), *args, copy.deepcopy(fund), times, fair, order)
    return replace(out, baseline=float(calm.notional.sum()))


def _simulate(pop: Population, shock: Shock, book: Book, procedure: _Procedure, ranking: Ranking,
              mark_rule: MarkRule, window: float, beta: float, ledger: RiskFund, times: FloatArray,
              fair: FloatArray, order: float) -> Cascade:
    """One run along ``fair`` in ``book``; ``order``: the shock's own sale in the run's book (the baseline,
    in a book without impact, reports the same shock)."""
    p = pop.positions
    n, T = len(pop), times.size
    st = _State(np.array(p.side, dtype=np.float64), np.array(p.qty, dtype=np.float64),
                np.array(p.entry, dtype=np.float64), np.array(p.margin, dtype=np.float64),
                np.array(p.leverage, dtype=np.float64), np.zeros(n), np.zeros(n), np.zeros(n, dtype=bool),
                np.full(n, -np.inf))
    st.retrigger(p, np.arange(n))
    longs = st.side > 0
    first = np.full(n, -1, dtype=np.intp)
    rec = {k: np.zeros(T) for k in ("last", "index", "mark", "basis", "fill", "closed", "notional", "market", "fund", "adl",
                                    "uncovered")}
    hit, fills = np.zeros(T, dtype=np.intp), np.zeros(T, dtype=np.intp)
    cum_basis = np.zeros(T + 1)
    j0, d = 0, 0.0
    shock_k = int(np.searchsorted(times, shock.at))
    decay = book.recovery(float(times[1] - times[0])) if T > 1 else 1.0
    for k in range(T):
        d *= decay
        if k == shock_k and shock.kind != "market":
            d += math.log1p(-shock.size) if shock.kind == "venue" else float(book.move(shock.size))
        last = float(fair[k] * math.exp(d))
        index = float(fair[k] * math.exp(beta * d))
        cum_basis[k + 1] = cum_basis[k] + (last - index)
        while times[j0] <= times[k] - window:
            j0 += 1
        m = float(mark_price(index, (cum_basis[k + 1] - cum_basis[j0]) / (k + 1 - j0))) if mark_rule == "smoothed" \
            else last
        if m <= 0:
            raise ValueError(f"book: the mark price fell to {m:,.2f} at {_clock(DAY_START + times[k])}; "
                             "the book is too thin for this shock (raise depth)")
        rec["index"][k], rec["mark"][k], rec["basis"][k], rec["fill"][k] = index, m, last - index, last
        cand = np.flatnonzero(np.where(longs, st.trig >= m, st.trig <= m) | st.watch)
        if cand.size:
            h = _health(p, st.side[cand], st.qty[cand], st.entry[cand], st.margin[cand], m)
            due = cand[(h <= 0) & (st.qty[cand] > 0)]
            st.watch[cand[(h > 0) & ~st.watch[cand]]] = True  # triggered but healthy: watch from now on
            if due.size:
                d += _settle(st, p, ledger, _liquidate(st, p, due, m, float(times[k]), procedure), k, times, last,
                             m, ranking, book, rec, fills)
                st.retrigger(p, due)
                hit[k] = due.size
                first[due[first[due] < 0]] = k
        rec["last"][k] = fair[k] * math.exp(d)
        rec["fund"][k] = ledger.balance
    return Cascade(DAY_START + times, rec["last"], rec["index"], rec["mark"], rec["basis"], rec["fill"], rec["closed"],
                   rec["notional"], hit, rec["market"], rec["fund"], rec["adl"], fills, rec["uncovered"], first,
                   st.qty, st.margin, st.cash, ledger, pop, shock, book, order,
                   start_fund=ledger.start_balance)


def _settle(st: _State, p: IsolatedPosition, ledger: RiskFund, s: _Step, k: int, times: FloatArray, last: float,
            mark: float, ranking: Ranking, book: Book, rec: dict[str, FloatArray], fills: NDArray[np.intp]) -> float:
    """Fill the step's batch, settle it (the traders' new state), book it in the fund, deleverage what the
    fund cannot pay; return the book's move."""
    contract = p.table.contract
    who, kept = s.who, s.kept.copy()
    side, entry, qty, margin = st.side[who], st.entry[who], st.qty[who], st.margin[who]
    f = np.flatnonzero(s.at_fill)
    while True:  # settled at the fill, kept contracts left without margin are closed with their order
        closed = qty - kept
        usd = np.asarray(contract.usd_value(closed, last))
        fill = float(book.fill(last, float(np.sum(side * usd))))
        settle = s.bankruptcy.copy()
        if not f.size:
            break
        settle[f] = _settlement_price(contract, side[f], closed[f], s.equity[f], mark, fill)
        left = margin[f] + np.asarray(contract.upnl(side[f], closed[f], entry[f], settle[f]))  # the margin the fill leaves
        starved = f[(kept[f] > 0) & (left <= 0)]
        if not starved.size:
            break
        kept[starved] = 0.0  # and re-price the batch with them
    # settled at the bankruptcy price the closed share's margin is used up; where no bankruptcy price exists,
    # the equity it leaves at the mark is paid out (0 where it exists). At the fill the kept contracts keep
    # what the fill leaves, and a close pays it out (nothing where settled at the step's bankruptcy price)
    new_margin = s.margin.copy()
    paid = margin - s.margin + np.asarray(contract.upnl(side, closed, entry, s.bankruptcy))
    if f.size:
        held = kept[f] > 0
        new_margin[f] = np.where(held, left, 0.0)
        leaves = _equity_after_fill(contract, side[f], closed[f], s.equity[f], mark, fill)  # < 0: settled at bankruptcy
        paid[f] = np.where(held, 0.0, np.maximum(leaves, 0.0))
    st.cash[who] += paid
    st.qty[who], st.margin[who], st.partial_at[who] = kept, new_margin, s.partial_at
    surplus = np.asarray(contract.upnl(side, closed, settle, fill))
    t = DAY_START + float(times[k])
    gains, losses = float(surplus[surplus > 0].sum()), float(surplus[surplus < 0].sum())
    ledger.record(t, gains, f"step {k}: surpluses")
    shortfall = ledger.record(t, losses, f"step {k}: losses") if losses < 0 else 0.0
    to_market = closed.copy()
    if shortfall > 0:
        share = np.where(surplus < 0, closed * shortfall / -losses, 0.0)  # adl_qty, each loser's part
        for liquidated in (1.0, -1.0):
            mine = (side == liquidated) & (share > 0)
            if not mine.any():
                continue
            unmatched = _deleverage(st, p, liquidated, share[mine], settle[mine], mark, ranking, rec, fills, k)
            # contracts the queue could not take go to the market after all; their loss is uncovered
            to_market[mine] -= share[mine] * (1 - unmatched)
            rec["uncovered"][k] += unmatched * shortfall * float(-surplus[mine].sum()) / -losses
    rec["closed"][k] = float(closed.sum())
    rec["notional"][k] = float(usd.sum())
    rec["fill"][k] = fill
    net = float(np.sum(side * to_market))
    rec["market"][k] = net
    return float(book.move(net * float(contract.usd_value(1.0, last))))


def _deleverage(st: _State, p: IsolatedPosition, liquidated: float, qty: FloatArray, bankrupt: FloatArray,
                mark: float, ranking: Ranking, rec: dict[str, FloatArray], fills: NDArray[np.intp], k: int) -> float:
    """Close ``qty`` contracts of the ``liquidated`` side against the ADL queue at their average bankruptcy
    price; return the share the queue could not take."""
    contract = p.table.contract
    need = float(qty.sum())
    price = _average_price(contract, qty, bankrupt)
    pool = np.flatnonzero((st.qty > 0) & (st.side == -liquidated))
    if pool.size:
        pool = pool[candidates(st.positions(p, pool), mark, liquidated)]
    if pool.size == 0:
        return 1.0
    held = st.positions(p, pool)
    dl = deleverage(liquidated, need, price, held.qty, held.entry, scores(held, mark, ranking), contract=contract)
    who = pool[dl.who]
    part = dl.qty / st.qty[who]
    st.cash[who] += st.margin[who] * part + dl.pnl
    st.margin[who] -= st.margin[who] * part
    st.qty[who] = np.where(dl.qty >= st.qty[who], 0.0, st.qty[who] - dl.qty)
    st.retrigger(p, who)
    rec["adl"][k] += need - dl.unmatched
    fills[k] += who.size
    return dl.unmatched / need


# ---------------------------------------------------------------------- comparisons
def flat_table(table: TierTable, rate: float, max_leverage: float | None = None) -> TierTable:
    """``table`` with one flat maintenance margin rate for every size (same contract and basis), and
    ``max_leverage`` for every size (None: not published)."""
    if not isinstance(table, TierTable):
        raise TypeError(f"table must be a TierTable, got {type(table).__name__}")
    r = _check.one_number("rate", rate, _open_rate)
    return TierTable.single(r, max_leverage, contract=table.contract, basis=table.basis, form=table.form,
                            symbol=f"flat {r:.2%}", venue=table.venue)


def variants(population: Population, axis: str, book: Book = Book(), policy: Policy | None = None,
             ) -> dict[str, tuple[Population, dict[str, Any]]]:
    """The runs one comparison makes: label → (population, keyword arguments of :func:`run`).

    ``"tiers"``: the tiered table; a flat rate equal to tier 1's and one equal to the notional-weighted
    average of the traders' rates (:meth:`Population.average_rate`), same traders and margins; and no
    tiers at all: the same draw under a flat table at tier 1's rate and max leverage
    (:meth:`Population.redrawn`), so large positions are as leveraged as small ones.
    ``"form"``: the table charged in continuous and in step form. ``"policy"``: stepwise (the policy
    given, else the rulebook's procedure) vs full liquidation, both settled as the rulebook settles
    (:attr:`~tiermargin.rules.Rulebook.settlement`). ``"mark"``: liquidating on the smoothed mark vs on
    the last price. ``"book"``: ``book`` vs one a tenth as deep.
    """
    if not isinstance(population, Population):
        raise TypeError(f"population must be a Population (see cascade.population), got {type(population).__name__}")
    _check.one_of("axis", axis, AXES)
    if not isinstance(book, Book):
        raise TypeError(f"book must be a Book, got {type(book).__name__}")
    if policy is not None and not isinstance(policy, Rulebook):
        _check.one_of("policy", policy, get_args(Policy))
    t = population.table
    if axis == "tiers":
        return {"tiered": (population, {}),
                f"flat {t.mmr[0]:.2%} (tier 1)": (population.with_table(flat_table(t, t.mmr[0])), {}),
                f"flat {population.average_rate():.2%} (average)":
                    (population.with_table(flat_table(t, population.average_rate())), {}),
                **({NO_TIERS: (population.redrawn(flat_table(t, t.mmr[0], t.max_leverage[0])), {})} if population.draw and t.max_leverage is not None else {})}
    if axis == "form":
        return {form: (population.with_table(t.with_form(form)), {}) for form in ("continuous", "step")}
    if axis == "policy":
        stepwise = population.rules.policy if policy is None else policy
        if stepwise is None or stepwise == "full":
            raise ValueError(f"policy must be a stepwise policy (not 'full') to compare with full liquidation; got "
                             f"{policy!r} with rulebook {population.rules.id!r}'s policy {population.rules.policy!r}")
        same = {"settlement": population.rules.settlement}
        first = {"policy": population.rules} if policy is None else {"policy": policy, **same}
        return {f"stepwise ({stepwise})": (population, first), "full": (population, {"policy": "full", **same})}
    if axis == "mark":
        return {"smoothed mark": (population, {"mark": "smoothed"}), "last price": (population, {"mark": "last"})}
    return {f"deep ({book.depth:,.0f} USD per 1 %)": (population, {"book": book}),
            f"thin ({book.depth / 10:,.0f} USD per 1 %)": (population, {"book": Book(book.depth / 10, book.half_life)})}


def compare(population: Population, axis: str, shock: Shock = Shock(), book: Book = Book(),
            **kwargs: Any) -> dict[str, Cascade]:
    """One comparison (:func:`variants`, ``axis`` one of :data:`AXES`): label → :class:`Cascade`, the
    same shock, book and other :func:`run` arguments for every variant.

    Examples
    --------
    >>> pop = population("hyperliquid", 500, seed=3)
    >>> runs = compare(pop, "mark", Shock("venue", 0.1), baseline=False)
    >>> list(runs)
    ['smoothed mark', 'last price']
    """
    policy = kwargs.get("policy")
    out = {}
    for label, (pop, extra) in variants(population, axis, book, policy).items():
        args = {"book": book, **kwargs, **extra}
        out[label] = run(pop, shock, **args)
    return out


def sweep(
    rules: Rulebook | str,
    axis: str,
    shocks: Iterable[Shock],
    seeds: Sequence[int] = (0, 1, 2),
    n: int = 2_000,
    book: Book = Book(),
    **kwargs: Any,
) -> list[dict[str, Any]]:
    """Run a comparison over a grid of shocks and seeds; a tidy table, one row a run.

    Each seed draws a population (:func:`population`, seed ``s``) and a fair-price walk (``seed=s``);
    every row holds the axis, variant, shock, seed and the run's :meth:`Cascade.summary`.
    """
    if np.ndim(seeds) != 1 or not len(seeds):
        raise ValueError(f"seeds must be a non-empty sequence of integers, got {seeds!r}")
    seeds = [_seed(s) for s in seeds]
    grid = list(shocks) if isinstance(shocks, Iterable) else []
    if not grid or not all(isinstance(s, Shock) for s in grid):
        raise ValueError(f"shocks must be a non-empty iterable of Shock, got {shocks!r}")
    rows = []
    for seed in seeds:
        pop = population(rules, n, seed=seed)
        for shock in grid:
            for label, c in compare(pop, axis, shock, book, seed=seed, **kwargs).items():
                rows.append({"axis": axis, "variant": label, "shock": str(shock), "shock size": shock.size,
                             "seed": int(seed), **c.summary()})
    return rows
