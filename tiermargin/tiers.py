"""Tier tables: gradient (tiered) maintenance margin.

A tier table is a list of rows ``(floor, cap, MMR, max leverage)``. The *basis* says what floor
and cap measure: the position's notional value (in the settle currency: USDT for linear, the
coin for inverse) or its number of contracts. The *form* says how the rate is charged:

* **continuous** — ``MM = size·MMR_k − cum_k`` with the maintenance amount (Binance "cum",
  Bybit/Hyperliquid "deduction") given by the recurrence

  .. math:: cum_1 = 0,\\qquad cum_k = cum_{k-1} + floor_k\\,(MMR_k - MMR_{k-1}).

  This equals charging each slice of the position at its own tier's rate, so MM is continuous
  in size. Binance FAQ "How to Calculate Liquidation Price of USDⓈ-M Futures Contracts":
  "Maintenance Amount on Level n = 250,000 × (1% − 0.5%) + 50 USDT = 1,300 USDT";
  Bybit help "Maintenance Margin (USDT Contract)" (slice form, example 92.5 USDT);
  Hyperliquid docs "Margin tiers" (deduction).
* **step** — ``MM = size·MMR_k`` on the whole position (OKX, CoinW, HTX, BitMEX risk limits);
  MM jumps at tier boundaries.

Boundaries: by default a tier holds ``floor <= size < cap`` (``closed="left"``: ccxt's
``minNotional``/``maxNotional`` reading; OKX "1,890,000–1,899,999 contracts"). Binance writes its
brackets "0 < Position ≤ 50,000" (announcement of 2021-03-18) and BitMEX risk limits are "up to" a
limit: ``floor < size <= cap`` (``closed="right"``); the bundled tables of both say so. A size beyond the last cap is
charged at the last tier (a position can grow past the table by price moves alone); opening a
position beyond it is refused by :meth:`tiermargin.isolated.IsolatedPosition.open`.
"""

from __future__ import annotations

import csv
import io
import json
import numbers
import reprlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _check
from ._check import FloatArray
from .contracts import LINEAR_USDT, Contract
from .derivation import Derivation, Line, num, pct

Basis = Literal["notional", "contracts"]
Form = Literal["continuous", "step"]
Closed = Literal["left", "right"]

_CSV_COLUMNS = ("floor", "cap", "maintenance_margin_rate", "max_leverage")
_PROVENANCE = ("id", "venue", "symbol", "source", "as_of")
#: The most tiers a table may have: real tables have tens (Binance ~10, OKX ~50). The bound keeps
#: every loader's time bounded on a huge input (a 10 MB file of 300,000 rows is refused at once).
MAX_TIERS = 1000
#: The keys of :meth:`TierTable.to_dict` (what :meth:`TierTable.from_dict` reads).
_DICT_KEYS = ("id", "venue", "symbol", "contract", "face_value", "settle", "basis", "form", "closed", "as_of",
              "source", "tiers")
_BOM = "\ufeff"  # a UTF-8 byte-order mark, which Excel and Notepad write at the start of a file


def maintenance_amounts(floors: ArrayLike, mmr: ArrayLike) -> FloatArray:
    """Maintenance amounts (cumulative deductions) of a continuous tier table.

    .. math:: cum_1 = 0,\\qquad cum_k = cum_{k-1} + floor_k\\,(MMR_k - MMR_{k-1})

    Source: Binance FAQ "How to Calculate Liquidation Price of USDⓈ-M Futures Contracts"
    (maintenance amount example: 250,000 × (1% − 0.5%) + 50 = 1,300 USDT).

    Parameters
    ----------
    floors : array
        Tier floors in ascending order (the first is 0).
    mmr : array
        Maintenance margin rates per tier, in [0, 1), never decreasing.

    Returns
    -------
    numpy.ndarray
        ``cum_k`` for each tier, in basis units × rate.
    """
    f = _check.nonnegative("floors", floors).reshape(-1)
    r = _check.rate("mmr", mmr).reshape(-1)
    if f.shape != r.shape or f.size == 0:
        raise ValueError(f"floors and mmr must be 1-d and of one length (a tier each), got {f.size} and {r.size}")
    if f[0] != 0 or np.any(np.diff(f) <= 0):
        raise ValueError(f"floors must start at 0 and increase, got {floors!r}")
    if np.any(np.diff(r) < 0):
        raise ValueError(f"mmr must not decrease from tier to tier, got {mmr!r}")
    steps = f[1:] * np.diff(r)
    return np.concatenate(([0.0], np.cumsum(steps)))


@dataclass(frozen=True, eq=False)
class TierTable:
    """A validated tier table with vectorized lookups.

    Build one with :meth:`from_rows`, :meth:`from_ccxt`, :meth:`from_json`, :meth:`from_csv`,
    or load a bundled real table with :func:`load_table`.

    Parameters
    ----------
    floors, caps : array
        Tier bounds in basis units; contiguous (each floor equals the previous cap), the first
        floor 0; only the last cap may be ``inf`` (or ``None``: unbounded). At most :data:`MAX_TIERS` tiers.
    mmr : array
        Maintenance margin rate per tier, in (0, 1), never decreasing.
    max_leverage : array or None
        Max leverage per tier, > 0 and never increasing, with 1/max leverage > MMR (a position
        opened at max leverage is not liquidatable on the spot). ``None`` when the source does not
        publish it (e.g. Bybit's help-page illustrations).
    basis : {"notional", "contracts"}
        What floor and cap measure.
    form : {"continuous", "step"}
        How the rate is charged (see the module docstring).
    contract : Contract
        The instrument the table belongs to (kind, face value, settle currency).
    closed : {"left", "right"}
        ``"left"``: floor <= size < cap; ``"right"``: floor < size <= cap.
    id, venue, symbol, source, as_of : str
        Provenance. Bundled tables always carry a source and a date.
    """

    floors: FloatArray
    caps: FloatArray
    mmr: FloatArray
    max_leverage: FloatArray | None = None
    basis: Basis = "notional"
    form: Form = "continuous"
    contract: Contract = LINEAR_USDT
    closed: Closed = "left"
    id: str = ""
    venue: str = ""
    symbol: str = ""
    source: str = ""
    as_of: str = ""
    cum: FloatArray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        _check.one_of("basis", self.basis, ("notional", "contracts"))
        _check.one_of("form", self.form, ("continuous", "step"))
        _check.one_of("closed", self.closed, ("left", "right"))
        if not isinstance(self.contract, Contract):
            raise TypeError(f"contract must be a tiermargin Contract, got {self.contract!r}")
        for name in _PROVENANCE:
            _check.text(name, getattr(self, name))
        floors, caps, mmr, lev = _validated_columns(
            self.floors, self.caps, self.mmr, self.max_leverage
        )
        for name, arr in (("floors", floors), ("caps", caps), ("mmr", mmr), ("max_leverage", lev)):
            if arr is not None:
                arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        cum = maintenance_amounts(floors, mmr) if self.form == "continuous" else np.zeros_like(mmr)
        cum.setflags(write=False)
        object.__setattr__(self, "cum", cum)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_rows(
        cls, rows: Iterable[Sequence[float | None]], **kwargs: Any
    ) -> TierTable:
        """Build a table from rows ``[floor, cap, mmr, max_leverage]``.

        ``cap`` may be ``None`` (unbounded, last row only); ``max_leverage`` may be ``None`` in
        every row (not published). Other keyword arguments are the table's fields (``basis``,
        ``form``, ``contract``, ``closed``, provenance).
        """
        if not _listlike(rows):
            raise TypeError(f"rows must be a list of rows [floor, cap, mmr, max_leverage], got {reprlib.repr(rows)}")
        rows = list(rows)
        if not rows or len(rows) > MAX_TIERS:
            raise ValueError(f"rows must contain at least one tier and at most {MAX_TIERS:,}, got {len(rows):,}")
        rows = [list(r) if _listlike(r) else r for r in rows]
        for k, r in enumerate(rows, start=1):
            if not isinstance(r, list) or len(r) != 4:
                raise ValueError(f"tier {k}: a row is [floor, cap, mmr, max_leverage], got {reprlib.repr(r)}")
        levs = [r[3] for r in rows]
        if all(v is None for v in levs):
            lev = None
        elif any(v is None for v in levs):
            raise ValueError("max_leverage must be given for every tier or for none")
        else:
            lev = _column("max_leverage", levs)
        return cls(
            floors=_column("floor", [r[0] for r in rows]),
            caps=_column("cap", [r[1] for r in rows], open_ok=True),
            mmr=_column("mmr", [r[2] for r in rows]),
            max_leverage=lev,
            **kwargs,
        )

    @classmethod
    def single(cls, mmr: float, max_leverage: float | None = None, **kwargs: Any) -> TierTable:
        """A one-tier table (a flat maintenance margin rate), e.g. for a help-page example."""
        return cls.from_rows([[0.0, None, mmr, max_leverage]], **kwargs)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TierTable:
        """Build a table from the dict form of :meth:`to_dict` (a table of ``reference/tier_tables.json``).

        Only the keys of :meth:`to_dict` are read, and any other key is refused (a misspelt ``"bassis"``
        would otherwise silently fall back to the default); the bundled records' published figures
        (``expected_maintenance_amounts``, ``caveat``, ...) are for :func:`table_info`, and
        :func:`load_table` leaves them out. Numbers must be JSON numbers, text must be strings: nothing is
        parsed or coerced.
        """
        if not isinstance(d, Mapping):
            raise TypeError(f"d must be a dict with a 'tiers' list (the to_dict form), got {type(d).__name__}")
        if not _listlike(d.get("tiers")):
            raise ValueError("a tier-table dict needs a 'tiers' list of [floor, cap, mmr, max_leverage], "
                             f"got {reprlib.repr(d.get('tiers', 'none'))}")
        unknown = [k for k in d if k not in _DICT_KEYS]
        if unknown:
            raise ValueError(f"d has unknown keys {', '.join(map(repr, unknown))}: a tier-table dict has only "
                             f"{', '.join(_DICT_KEYS)}")
        contract = Contract(
            d.get("contract", "linear"), d.get("face_value", 1.0), d.get("settle", "USDT")
        )
        meta = {k: d.get(k, "") for k in _PROVENANCE}
        return cls.from_rows(
            d["tiers"],
            basis=d.get("basis", "notional"),
            form=d.get("form", "continuous"),
            closed=d.get("closed", "left"),
            contract=contract,
            **meta,
        )

    @classmethod
    def from_json(cls, text: str) -> TierTable:
        """Parse a table from JSON text in the :meth:`to_dict` form (no eval, no pickle).

        A leading UTF-8 byte-order mark is ignored (RFC 8259 allows it; Windows editors write one), so
        such a file parses as without it; numbers given as strings (``"0.01"``) are refused, as by
        :meth:`from_dict`.
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str of JSON, got {type(text).__name__}")
        try:
            d = json.loads(text.removeprefix(_BOM))
        except ValueError as e:  # JSONDecodeError, or an integer beyond Python's digit limit
            raise ValueError(f"text is not valid JSON: {e}") from None
        except RecursionError:
            raise ValueError("text is nested too deeply to be a tier table: the to_dict form is 3 levels deep, "
                             "got more than Python's recursion limit") from None
        if not isinstance(d, dict):
            raise ValueError("JSON tier table must be an object with a 'tiers' list")
        return cls.from_dict(d)

    @classmethod
    def from_ccxt(cls, tiers: Sequence[Mapping[str, Any]], **kwargs: Any) -> TierTable:
        """Build a table from ccxt's leverage-tier dicts (``fetch_leverage_tiers()[symbol]``).

        Each dict needs ``minNotional``, ``maxNotional``, ``maintenanceMarginRate`` and
        ``maxLeverage`` (``tier``, ``currency`` and ``info`` are ignored). ccxt reports OKX tiers in
        contracts in the same fields, so pass ``basis="contracts"`` for such venues, and the
        ``form`` the venue uses (``"step"`` for OKX). Rows must already be in ascending order. Other
        keys of an entry (``symbol`` in newer ccxt versions, ...) are ignored like ``info``; numbers
        must be numbers (ccxt returns floats), not strings.
        """
        if not _listlike(tiers):
            raise TypeError(f"tiers must be a list of ccxt tier dicts (fetch_leverage_tiers()[symbol]), got {reprlib.repr(tiers)}")
        tiers = list(tiers)
        if len(tiers) > MAX_TIERS:
            raise ValueError(f"tiers must hold at most {MAX_TIERS:,} tiers (real tables have tens), got {len(tiers):,}")
        keys = ("minNotional", "maxNotional", "maintenanceMarginRate", "maxLeverage")
        rows = []
        for k, t in enumerate(tiers, start=1):
            if not isinstance(t, Mapping):
                raise TypeError(f"ccxt tier {k} must be a dict with {', '.join(keys)}, got {reprlib.repr(t)}")
            missing = [key for key in keys if key not in t]
            if missing:
                raise ValueError(f"ccxt tier {k} is missing {', '.join(missing)}: each entry needs {', '.join(keys)}")
            rows.append([t[key] for key in keys])
        return cls.from_rows(rows, **kwargs)

    @classmethod
    def explain_ccxt(cls, tiers: Sequence[Mapping[str, Any]], **kwargs: Any) -> Derivation:
        """How :meth:`from_ccxt` maps a ccxt tier list to rows, entry by entry.

        For each ccxt entry ``k`` (in order, tier 1 first) four lines: ``floor_k = minNotional``,
        ``cap_k = maxNotional`` (``None``: an unbounded last tier, ∞), ``MMR_k =
        maintenanceMarginRate`` and ``L_k = maxLeverage`` (``None``: not published, the line has no
        value); ``tier``, ``currency`` and ``info`` are not used. The last line counts the rows. The
        table itself (``from_ccxt(tiers, **kwargs)``) is built first, so an invalid list raises as
        there. Row ``k`` is ``[floor_k, cap_k, MMR_k, L_k]`` read from the lines (cap ∞ as None):
        :meth:`rows` of that table.

        Examples
        --------
        >>> t = load_table("binance-usdm-btcusdt-2021")
        >>> d = TierTable.explain_ccxt(t.to_ccxt()[:2])
        >>> print(d.lines[4].text())
        floor_2 = minNotional = 50,000 (ccxt entry 2 (tier 2): where the tier starts)
        >>> [d.line(f"{key}_2").value for key in ("floor", "cap", "mmr", "max_leverage")] == t.rows()[1]
        True
        """
        tiers = list(tiers) if _listlike(tiers) else tiers  # a generator is read once, for both
        table = cls.from_ccxt(tiers, **kwargs)
        lines = []
        for k, t in enumerate(tiers, start=1):
            where = f"ccxt entry {k}" + (f" (tier {t['tier']})" if t.get("tier") is not None else "")
            floor, cap, mmr, lev = (t[key] for key in ("minNotional", "maxNotional", "maintenanceMarginRate", "maxLeverage"))
            lines += [
                Line(f"floor_{k}", f"floor_{k} = minNotional", "", float(floor), f"{where}: where the tier starts"),
                Line(f"cap_{k}", f"cap_{k} = maxNotional", "None" if cap is None else "",
                     np.inf if cap is None else float(cap),
                     f"{where}: " + ("None, an unbounded last tier" if cap is None else "where the tier ends")),
                Line(f"mmr_{k}", f"MMR_{k} = maintenanceMarginRate", pct(float(mmr)), float(mmr),
                     f"{where}: the maintenance margin rate"),
                Line(f"max_leverage_{k}", f"L_{k} = maxLeverage", "None" if lev is None else "",
                     None if lev is None else float(lev),
                     f"{where}: " + ("None, not published: kept as None" if lev is None else "the tier's max leverage")),
            ]
        lines.append(Line("rows", "rows = number of entries", "", float(table.n_tiers),
                          "one row [floor_k, cap_k, MMR_k, L_k] per ccxt entry, in order (tier 1, floor 0, first)"))
        unit = "contracts" if table.basis == "contracts" else "notional"
        return Derivation(f"A tier table of {table.n_tiers} tier{'s' if table.n_tiers > 1 else ''} from a ccxt response",
                          tuple(lines), f"row = [minNotional, maxNotional, maintenanceMarginRate, maxLeverage], "
                                        f"sizes in {unit}; None kept (unbounded cap, unpublished leverage)",
                          "ccxt fetch_leverage_tiers: a list of {tier, currency, minNotional, maxNotional, "
                          "maintenanceMarginRate, maxLeverage, info} per symbol")

    @classmethod
    def from_csv(cls, text: str, **kwargs: Any) -> TierTable:
        """Parse CSV text with the header ``floor,cap,maintenance_margin_rate,max_leverage``.

        An empty ``cap`` means unbounded; an empty ``max_leverage`` means not published. CSV is text,
        so each cell is parsed as a number (``float``); a line with more or fewer cells than the
        header is refused. A leading UTF-8 byte-order mark (Excel writes one) is ignored, so such a
        file parses as without it. Table fields (``basis``, ``form``, ``contract``, provenance) are
        keyword arguments.
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str of CSV, got {type(text).__name__}")
        reader = csv.DictReader(io.StringIO(text.removeprefix(_BOM)))
        rows = []
        try:
            if reader.fieldnames is None or tuple(reader.fieldnames) != _CSV_COLUMNS:
                raise ValueError(f"CSV header must be {','.join(_CSV_COLUMNS)}, got {reader.fieldnames}")
            for line, rec in enumerate(reader, start=2):
                if len(rows) == MAX_TIERS:
                    raise ValueError(f"text must hold at most {MAX_TIERS:,} tiers (real tables have tens), got more")
                extra, missing = rec.get(None, []), [c for c in _CSV_COLUMNS if rec[c] is None]  # DictReader's
                if extra or missing:  # restkey and restval
                    raise ValueError(f"CSV line {line}: expected {len(_CSV_COLUMNS)} fields ({','.join(_CSV_COLUMNS)}), "
                                     f"got {len(_CSV_COLUMNS) + len(extra) - len(missing)}")
                try:
                    rows.append([None if rec[c].strip() == "" else float(rec[c]) for c in _CSV_COLUMNS])
                except ValueError:
                    raise ValueError(f"CSV line {line}: every field must be a number, got {rec}") from None
        except csv.Error as e:  # e.g. a field beyond the csv module's size limit
            raise ValueError(f"text is not a tier table's CSV: {e}") from None
        return cls.from_rows(rows, **kwargs)

    # ------------------------------------------------------------------ export
    def rows(self) -> list[list[float | None]]:
        """Rows ``[floor, cap, mmr, max_leverage]`` with ``None`` for unbounded / unpublished."""
        levs = [None] * self.n_tiers if self.max_leverage is None else self.max_leverage.tolist()
        return [
            [float(f), None if np.isinf(c) else float(c), float(r), lv]
            for f, c, r, lv in zip(self.floors, self.caps, self.mmr, levs)
        ]

    def with_form(self, form: Form) -> TierTable:
        """The same rows charged in another ``form`` (``"step"`` or ``"continuous"``).

        Lessons compare the two: the step form jumps at every boundary; the continuous form adds
        the maintenance amount (deduction) that removes the jump. Every other field is kept.

        Examples
        --------
        >>> t = load_table("binance-usdm-btcusdt-2021").with_form("step")
        >>> float(t.maintenance_margin(250_000)), float(t.maintenance_margin(250_001))
        (1250.0, 2500.01)
        """
        _check.one_of("form", form, ("continuous", "step"))
        return self if form == self.form else replace(self, form=form)

    def to_dict(self) -> dict[str, Any]:
        """The table in the form of ``reference/tier_tables.json`` (round-trips via :meth:`from_dict`)."""
        return {
            "id": self.id,
            "venue": self.venue,
            "symbol": self.symbol,
            "contract": self.contract.kind,
            "face_value": self.contract.face_value,
            "settle": self.contract.settle,
            "basis": self.basis,
            "form": self.form,
            "closed": self.closed,
            "as_of": self.as_of,
            "source": self.source,
            "tiers": self.rows(),
        }

    def to_json(self) -> str:
        """JSON text of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), indent=1, ensure_ascii=False)

    def to_ccxt(self) -> list[dict[str, Any]]:
        """ccxt leverage-tier dicts (``maxNotional`` is ``None`` for an unbounded last tier)."""
        return [
            {
                "tier": k,
                "currency": self.contract.settle,
                "minNotional": floor,
                "maxNotional": cap,
                "maintenanceMarginRate": mmr,
                "maxLeverage": lev,
                "info": {},
            }
            for k, (floor, cap, mmr, lev) in enumerate(self.rows(), start=1)
        ]

    def to_csv(self) -> str:
        """CSV text with the header ``floor,cap,maintenance_margin_rate,max_leverage``."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(_CSV_COLUMNS)
        for row in self.rows():
            writer.writerow(["" if v is None else repr(v) for v in row])
        return out.getvalue()

    # ------------------------------------------------------------------ lookups
    @property
    def n_tiers(self) -> int:
        """Number of tiers."""
        return int(self.mmr.size)

    @property
    def unit(self) -> str:
        """Unit of floor/cap: the settle currency (notional basis) or ``"contracts"``."""
        return self.contract.settle if self.basis == "notional" else "contracts"

    @property
    def max_size(self) -> float:
        """Cap of the last tier (``inf`` if unbounded): the largest position the table admits."""
        return float(self.caps[-1])

    def tier_index(self, size: ArrayLike) -> NDArray[np.intp]:
        """0-based tier index of each size (display tier numbers are this + 1).

        Parameters
        ----------
        size : float or array
            Position size in basis units (notional value or contracts), >= 0.
        """
        s = _check.nonnegative("size", size)
        return self._index(s)

    def _index(self, s: FloatArray) -> NDArray[np.intp]:
        if self.closed == "left":
            idx = np.searchsorted(self.floors, s, side="right") - 1
        else:
            idx = np.searchsorted(self.caps, s, side="left")
        return np.minimum(idx, self.n_tiers - 1)

    def rate(self, size: ArrayLike) -> float | FloatArray:
        """Maintenance margin rate ``MMR_k`` of the tier each size falls in."""
        return _check.scalar_or_array(self.mmr[self.tier_index(size)])

    def maintenance_amount(self, size: ArrayLike) -> float | FloatArray:
        """Maintenance amount ``cum_k`` of the tier each size falls in (0 for step tables)."""
        return _check.scalar_or_array(self.cum[self.tier_index(size)])

    def max_leverage_at(self, size: ArrayLike) -> float | FloatArray:
        """Max leverage of the tier each size falls in.

        Raises
        ------
        ValueError
            If the table does not publish max leverage.
        """
        lev = self._require_leverage()
        return _check.scalar_or_array(lev[self.tier_index(size)])

    def max_size_at_leverage(self, leverage: ArrayLike) -> float | FloatArray:
        """Largest size (basis units) at which ``leverage`` is allowed: "how large can I go at 20x?".

        It is the cap of the last tier whose max leverage is at least ``leverage`` (max leverage
        never increases with size, so every smaller size is allowed too). With ``closed="left"``
        this is a supremum: the size must stay below it.

        Parameters
        ----------
        leverage : float or array
            Leverage, > 0 and at most the first tier's max leverage.

        Raises
        ------
        ValueError
            If the table does not publish max leverage, or ``leverage`` is above its highest.
        """
        lev = self._require_leverage()
        x = _check.positive("leverage", leverage)
        if np.any(x > lev[0]):
            raise ValueError(f"leverage must be at most the table's highest max leverage {lev[0]:g}x, got {leverage!r}")
        n_allowed = np.searchsorted(-lev, -x, side="right")  # tiers with max leverage >= x
        return _check.scalar_or_array(self.caps[n_allowed - 1])

    def explain_max_size(self, leverage: float) -> Derivation:
        """How "how large can I go at this leverage?" is answered: row by row, the max leverage
        against ``leverage``, then the cap of the last row that allows it (:meth:`max_size_at_leverage`).

        Examples
        --------
        >>> d = load_table("binance-usdm-btcusdt-2021").explain_max_size(20)
        >>> d.result, d.line("answer").why
        (10000000.0, 'the cap of tier 4, the last whose max leverage is at least 20x')
        """
        lev = self._require_leverage()
        x = _check.one_number("leverage", leverage, _check.positive)
        if x > lev[0]:
            raise ValueError(f"leverage must be at most the table's highest max leverage {lev[0]:g}x, got {leverage!r}")
        lines, last = [], 0
        for k in range(self.n_tiers):
            ok = lev[k] >= x
            last = k if ok else last
            lines.append(Line(f"tier_{k + 1}", "", "", None,
                              f"tier {k + 1} ({num(self.floors[k])} to {num(self.caps[k])} {self.unit}): max leverage "
                              f"{num(lev[k])}x {'≥' if ok else '<'} {num(x)}x — {'allowed' if ok else 'not allowed'}"))
            if not ok:
                break
        sup = " (a supremum: the size must stay below it)" if self.closed == "left" else ""
        lines.append(Line("answer", "max size", "", float(self.caps[last]),
                          f"the cap of tier {last + 1}, the last whose max leverage is at least {num(x)}x{sup}"))
        return Derivation(f"Largest size at {num(x)}x on {self.symbol or self.id or 'the table'}", tuple(lines),
                          "max leverage never increases with size: every smaller size is allowed too "
                          "(Binance: 'the larger the position, the lower the leverage')", self.source or "")

    # ------------------------------------------------------------------ sizes in other units
    def size_of(self, qty: ArrayLike, price: ArrayLike) -> float | FloatArray:
        """Size in this table's basis of ``qty`` contracts at ``price``: their value in the settle
        currency (notional basis) or ``qty`` itself (contracts basis).

        Parameters
        ----------
        qty : float or array
            Contracts, >= 0.
        price : float or array
            Price, > 0. Broadcasts against ``qty``.
        """
        q = _check.nonnegative("qty", qty)
        p = _check.positive("price", price)
        if self.basis == "notional":
            return self.contract.value(q, p)
        return _check.scalar_or_array(q * np.ones_like(p))

    def unit_value(self, price: ArrayLike) -> float | FloatArray:
        """Settle-currency value of one basis unit at ``price``: 1 (notional basis) or the value of
        one contract (contracts basis: ``FV·P`` linear, ``FV/P`` inverse) — the ``unit_value`` of
        :meth:`maintenance_margin`, so ``maintenance_margin(size, unit_value(price))`` is the MM of
        a position of ``size`` basis units without converting it to contracts and back.

        Parameters
        ----------
        price : float or array
            Price, > 0.
        """
        p = _check.positive("price", price)
        return self.contract.value(1.0, p) if self.basis == "contracts" else _check.scalar_or_array(np.ones_like(p))

    def contracts_at(self, size: ArrayLike, price: ArrayLike) -> float | FloatArray:
        """Contracts whose size in this table's basis is ``size`` at ``price`` (inverse of :meth:`size_of`).

        Notional basis: ``size`` divided by the value of one contract (``FV·P`` linear, ``FV/P``
        inverse); contracts basis: ``size`` itself.

        Parameters
        ----------
        size : float or array
            Size in basis units, >= 0.
        price : float or array
            Price, > 0. Broadcasts against ``size``.
        """
        s = _check.nonnegative("size", size)
        p = _check.positive("price", price)
        unit = np.asarray(self.contract.value(1.0, p)) if self.basis == "notional" else np.ones_like(p)
        return _check.scalar_or_array(s / unit)

    def usd_notional(self, size: ArrayLike, price: ArrayLike) -> float | FloatArray:
        """Notional in USD of a position of ``size`` basis units at ``price``: the common axis on
        which tables in different units (USDT notional, coin notional, contracts) compare.

        ``qty·FV·P`` for linear contracts (USDT, USDC, BUSD counted as USD), ``qty·FV`` for inverse
        USD contracts, with ``qty`` = :meth:`contracts_at` (see
        :meth:`~tiermargin.contracts.Contract.usd_value`).

        Examples
        --------
        BitMEX XBTUSD risk limits are in XBT: 200 XBT at 50,000 is 10,000,000 USD (10M contracts).

        >>> float(load_table("bitmex-xbtusd-risk-limits").usd_notional(200, 50_000))
        10000000.0
        """
        p = _check.positive("price", price)
        return self.contract.usd_value(self.contracts_at(size, p), p)

    def size_at_usd(self, usd: ArrayLike, price: ArrayLike) -> float | FloatArray:
        """Size in this table's basis of a position worth ``usd`` at ``price`` (inverse of :meth:`usd_notional`).

        Parameters
        ----------
        usd : float or array
            Notional in USD, >= 0.
        price : float or array
            Price, > 0. Broadcasts against ``usd``.
        """
        n = _check.nonnegative("usd", usd)
        p = _check.positive("price", price)
        qty = n / np.asarray(self.contract.usd_value(1.0, p))
        return self.size_of(qty, p)

    def maintenance_margin(self, size: ArrayLike, unit_value: ArrayLike = 1.0) -> float | FloatArray:
        """Maintenance margin ``(size·MMR_k − cum_k)·unit_value``.

        For a notional-basis table ``unit_value`` is 1 and this is ``value·MMR_k − cum_k`` in
        the settle currency. For a contracts-basis table ``size`` is the number of contracts and
        ``unit_value`` the value of one contract (FV·P linear, FV/P inverse).

        Parameters
        ----------
        size : float or array
            Size in basis units, >= 0.
        unit_value : float or array
            Settle-currency value of one basis unit, > 0.
        """
        s = _check.nonnegative("size", size)
        uv = _check.positive("unit_value", unit_value)
        k = self._index(s)
        return _check.scalar_or_array((s * self.mmr[k] - self.cum[k]) * uv)

    def explain(self, size: float, unit_value: float = 1.0) -> Derivation:
        """How the maintenance margin of ``size`` is computed: the row and why, MMR, maintenance amount.

        The row is found with the table's closed side (``"right"``: floor < size ≤ cap, Binance
        brackets; ``"left"``: floor ≤ size < cap); past the last cap the last row applies. In the
        continuous form the maintenance amount comes from the rows below (Binance FAQ
        "Maintenance Amount on Level n = 250,000 × (1% − 0.5%) + 50 USDT = 1,300 USDT"):
        ``cum_k = cum_{k−1} + floor_k·(MMR_k − MMR_{k−1})``; the step form has none.

        Parameters
        ----------
        size : float
            One size in basis units, >= 0.
        unit_value : float
            Value of one basis unit (contracts basis: FV·P or FV/P), > 0.

        Examples
        --------
        >>> d = load_table("binance-usdm-btcusdt-2021").explain(264_000)
        >>> d.result, d.line("tier").why
        (1340.0, 'tier 3: 250,000 < 264,000 ≤ 1,000,000')
        """
        x = _check.one_number("size", size, _check.nonnegative)
        uv = _check.one_number("unit_value", unit_value, _check.positive)
        k = int(self._index(np.asarray(x)))
        lo, hi = float(self.floors[k]), float(self.caps[k])
        le, ge = ("≤", "<") if self.closed == "left" else ("<", "≤")
        past = x > hi or (x == hi and self.closed == "left" and k == self.n_tiers - 1 and np.isfinite(hi))
        where = (f"past the last cap {num(hi)}: the last tier applies" if past
                 else f"{num(lo)} {le} {num(x)} {ge} {num(hi)}" if np.isfinite(hi) else f"{num(x)} > {num(lo)}")
        unit = self.unit
        lines = [Line("tier", "", "", None, f"tier {k + 1}: {where}"), Line("mmr", "MMR", "", float(self.mmr[k]),
                                                                           f"tier {k + 1}'s rate, {pct(self.mmr[k])}")]
        cum = 0.0
        if self.form == "continuous":
            for j in range(1, k + 1):
                step = float(self.floors[j]) * (float(self.mmr[j]) - float(self.mmr[j - 1]))
                lines.append(Line("cum", f"cum_{j + 1} = cum_{j} + floor_{j + 1} × (MMR_{j + 1} − MMR_{j})",
                                  f"{num(cum)} + {num(self.floors[j])} × ({pct(self.mmr[j])} − {pct(self.mmr[j - 1])})",
                                  cum + step))
                cum += step
        mm = (x * float(self.mmr[k]) - cum) * uv
        if self.basis == "notional":
            formula = "size × MMR − cum" if self.form == "continuous" else "size × MMR"
            numbers = f"{num(x)} × {pct(self.mmr[k])}" + (f" − {num(cum)}" if self.form == "continuous" else "")
        else:
            formula = "(contracts × MMR − cum) × unit value" if self.form == "continuous" else "contracts × MMR × unit value"
            numbers = (f"({num(x)} × {pct(self.mmr[k])} − {num(cum)}) × {num(uv)}" if self.form == "continuous"
                       else f"{num(x)} × {pct(self.mmr[k])} × {num(uv)}")
        lines.append(Line("mm", "MM", f"{formula} = {numbers}", mm, f"size in {unit}"))
        form = ("continuous form: each slice at its tier's rate, written with the maintenance amount"
                if self.form == "continuous" else "step form: the whole position at its tier's rate")
        return Derivation(f"Maintenance margin of {num(x)} {unit} on {self.symbol or self.id or 'the table'}",
                          tuple(lines), form, self.source or "")

    def _require_leverage(self) -> FloatArray:
        if self.max_leverage is None:
            raise ValueError(
                f"table {self.id or '(unnamed)'} does not publish max leverage; "
                "pass a table with max leverage per tier"
            )
        return self.max_leverage

    # ------------------------------------------------------------------ display
    def _display_rows(self) -> list[tuple[str, ...]]:
        levs = self.rows()
        out = []
        for k, (floor, cap, mmr, lev) in enumerate(levs):
            cap_s = "∞" if cap is None else f"{cap:,.10g}"
            lev_s = "—" if lev is None else f"{lev:g}x"
            out.append(
                (str(k + 1), f"{floor:,.10g} – {cap_s}", f"{100 * mmr:.4g}%", f"{self.cum[k]:,.10g}", lev_s)
            )
        return out

    def _headers(self) -> tuple[str, ...]:
        return ("tier", f"size ({self.unit})", "MMR", "maint. amount", "max leverage")

    def _title(self) -> str:
        name = " ".join(x for x in (self.venue, self.symbol) if x) or "Tier table"
        return f"{name} — {self.form}, by {self.basis}, {self.contract.kind}"

    def __repr__(self) -> str:
        rows = [self._headers(), *self._display_rows()]
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows]
        prov = f"source: {self.source} ({self.as_of})" if self.source else ""
        return "\n".join([self._title(), *lines, prov]).rstrip()

    def _repr_html_(self) -> str:
        from html import escape

        head = "".join(f"<th>{escape(h)}</th>" for h in self._headers())
        body = "".join(
            "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
            for row in self._display_rows()
        )
        prov = (
            f"<br><small>source: {escape(self.source)} ({escape(self.as_of)})</small>"
            if self.source
            else ""
        )
        return (
            f"<table><caption>{escape(self._title())}{prov}</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )


def _listlike(x: Any) -> bool:
    """Whether ``x`` is a list of things (a list, tuple, array, generator), not text or a dict."""
    return isinstance(x, Iterable) and not isinstance(x, (str, bytes, Mapping))


def _column(name: str, values: Sequence[Any], open_ok: bool = False) -> FloatArray:
    """One column of rows as floats: numbers only (no text, no bools: nothing is parsed or coerced),
    finite and at most :data:`~tiermargin._check.LARGEST` in magnitude; with ``open_ok`` (caps)
    ``None`` or ``inf`` is an unbounded tier (inf)."""
    if len(values) > MAX_TIERS:
        raise ValueError(f"{name} must hold at most {MAX_TIERS:,} tiers (real tables have tens), got {len(values):,}")
    for k, v in enumerate(values, start=1):
        if not isinstance(v, numbers.Real) or isinstance(v, (bool, np.bool_)):
            if not (open_ok and v is None):
                raise ValueError(f"tier {k}: {name} must be a number, got {reprlib.repr(v)} ({type(v).__name__})")
    try:
        col = np.array([np.inf if v is None else v for v in values], dtype=np.float64)
    except OverflowError:
        raise ValueError(f"every tier's {name} must be a number within the float range, got one with "
                         f"{max(len(str(v)) for v in values)} digits") from None
    allowed = np.abs(col) <= _check.LARGEST  # False for NaN and ±inf
    if open_ok:
        allowed |= col == np.inf
    if not allowed.all():
        k = int(np.argmin(allowed))
        raise ValueError(f"tier {k + 1}: {name} must be finite (no NaN or inf) and at most {_check.LARGEST:g} "
                         f"in magnitude, got {values[k]!r}")
    return col


def _validated_columns(
    floors: ArrayLike, caps: ArrayLike, mmr: ArrayLike, lev: ArrayLike | None
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray | None]:
    f, c, r = (_column(name, np.asarray(x, dtype=object).ravel(), open_ok=name == "caps")
               for name, x in (("floors", floors), ("caps", caps), ("mmr", mmr)))
    if not (f.size == c.size == r.size) or f.size == 0:
        raise ValueError("floors, caps and mmr must be non-empty and of equal length")
    if np.isinf(c[:-1]).any():
        k = int(np.argmax(np.isinf(c[:-1])))
        raise ValueError(f"tier {k + 1}: only the last tier may be unbounded (cap None or inf), got cap {c[k]:g}")
    if f[0] != 0:
        raise ValueError(f"the first tier must start at 0, got floor {f[0]:g}")
    for k in range(f.size):
        if c[k] <= f[k]:
            raise ValueError(f"tier {k + 1}: cap {c[k]:g} must be above floor {f[k]:g}")
        if k + 1 < f.size and f[k + 1] != c[k]:
            what = "gap" if f[k + 1] > c[k] else "overlap"
            raise ValueError(
                f"tiers {k + 1} and {k + 2}: {what} between cap {c[k]:g} and floor {f[k + 1]:g}"
            )
    if np.any((r <= 0) | (r >= 1)):
        k = int(np.argmax((r <= 0) | (r >= 1)))
        raise ValueError(f"tier {k + 1}: maintenance margin rate must be in (0, 1), got {r[k]:g}")
    if np.any(np.diff(r) < 0):
        k = int(np.argmax(np.diff(r) < 0))
        raise ValueError(f"tier {k + 2}: maintenance margin rate {r[k + 1]:g} decreases from {r[k]:g}: "
                         "rates must not decrease with size")
    if lev is None:
        return f, c, r, None
    v = _column("max_leverage", np.asarray(lev, dtype=object).ravel())
    if v.size != r.size:
        raise ValueError("max_leverage must have one value per tier")
    if np.any(v <= 0):
        k = int(np.argmax(v <= 0))
        raise ValueError(f"tier {k + 1}: max leverage must be a finite number > 0, got {v[k]:g}")
    if np.any(np.diff(v) > 0):
        k = int(np.argmax(np.diff(v) > 0))
        raise ValueError(f"tier {k + 2}: max leverage {v[k + 1]:g} increases from {v[k]:g}: it must not "
                         "increase with size")
    if np.any(1.0 / v <= r):
        k = int(np.argmax(1.0 / v <= r))
        raise ValueError(
            f"tier {k + 1}: max leverage {v[k]:g} gives an initial margin rate {1 / v[k]:.4g} "
            f"not above the maintenance rate {r[k]:g}"
        )
    return f, c, r, v


# ---------------------------------------------------------------------- bundled tables
@lru_cache(maxsize=1)
def _bundled() -> dict[str, dict[str, Any]]:
    text = resources.files("tiermargin.data").joinpath("tier_tables.json").read_text("utf-8")
    return {t["id"]: t for t in json.loads(text)["tables"]}


def table_ids() -> list[str]:
    """Ids of the bundled real tier tables (see ``tiermargin/data/tier_tables.json``)."""
    return list(_bundled())


def table_info(table_id: str) -> dict[str, Any]:
    """The bundled record of a table: venue, symbol, source, date and any published figures."""
    return dict(_bundled()[_check.one_of("table_id", table_id, table_ids())])


def load_table(table_id: str) -> TierTable:
    """Load a bundled real tier table by id, with its source and date.

    Examples
    --------
    >>> t = load_table("binance-usdm-btcusdt-2021")
    >>> float(t.maintenance_amount(264_000))
    1300.0
    """
    return TierTable.from_dict({k: v for k, v in table_info(table_id).items() if k in _DICT_KEYS})
