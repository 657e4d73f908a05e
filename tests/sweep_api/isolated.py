"""Sweep cases for tiermargin.isolated, tiermargin.isolated_derivations and tiermargin.alternatives
(the "isolated" group)."""

from __future__ import annotations

from sweep import CHOICE, NONNEGATIVE, OBJECT, POSITIVE, RATE, REAL, SIDE, TEXT, Case, Kind, Param

from tiermargin.alternatives import (
    AdjustmentFactors,
    ContractSchedule,
    LinearSchedule,
    OpenInterestIMF,
    SqrtSchedule,
    SteppedInitialSchedule,
    TierSchedule,
    margin_info,
)
from tiermargin.contracts import Contract
from tiermargin.isolated import (
    IsolatedPosition,
    MarginRatios,
    bankruptcy_price,
    liquidation_price,
    liquidation_price_in_tier,
    requirement,
)
from tiermargin.isolated_derivations import explain
from tiermargin.tiers import TierTable

# ------------------------------------------------------------------ shared valid objects
# Three tiers with a finite last cap (20M): a long of 1 BTC at 60,000 is in tier 1 (max 125x);
# 400 BTC at 60,000 (24M) is past the last cap.
TABLE = TierTable.from_rows([[0, 1_000_000, 0.004, 125], [1_000_000, 5_000_000, 0.01, 50],
                             [5_000_000, 20_000_000, 0.025, 20]])
INVERSE = TierTable.from_rows([[0, 100, 0.005, 100], [100, None, 0.01, 50]], basis="contracts", form="step",
                              contract=Contract("inverse", 100.0, "BTC"))
DERIBIT = ContractSchedule(LinearSchedule.deribit_btc())  # max leverage 50x at size 0
LADDERS = {10.0: [[0, 999, 0.075], [1000, 9999, 0.125], [10000, None, 0.15]],
           20.0: [[0, 999, 0.1], [1000, None, 0.2]]}


def position() -> IsolatedPosition:
    return IsolatedPosition.open(TABLE, "long", 1.0, 60_000.0, 10.0)


def short() -> IsolatedPosition:
    """An inverse short (contracts basis, step table): its liquidation price exists at 10x."""
    return IsolatedPosition.open(INVERSE, "short", 50.0, 60_000.0, 10.0, fee_rate=0.0005, fee_at="bankruptcy")


# ------------------------------------------------------------------ kinds of this group
TEXT_STR = TEXT.allowing("str")  # free text: "2" is a valid label
OPEN_RATE = Kind("rate in (0, 1)", frozenset({"1e-300"})).with_bad(one=1.0, above=1.5)
REQUIREMENT_AT = CHOICE.with_bad(unknown="bankruptcy", upper="MARK")
FEE_AT = CHOICE.with_bad(unknown="exit", upper="ENTRY")
TABLE_OR_SCHEDULE = OBJECT.with_bad(margin_schedule=LinearSchedule.deribit_btc(), contract=Contract())
PRICE = Param(55_000.0, POSITIVE, array=True)
SIZE = Param(10.0, NONNEGATIVE, array=True)
SIDE_P = Param("long", SIDE, array=True)
ENTRY = Param(60_000.0, POSITIVE, array=True)
MARGIN = Param(6_000.0, POSITIVE, array=True)
QTY = Param(1.0, POSITIVE.with_bad(past_last_cap=400.0), array=True)
FEE = Param(0.0005, RATE.with_bad(one=1.0, above=1.5))
UNPUBLISHED = POSITIVE.with_bad(unpublished=7.0, between=15.0)  # AdjustmentFactors leverages: 10, 20
LADDERS_KIND = OBJECT.with_bad(
    empty={},
    gap={10.0: [[0, 999, 0.075], [2000, None, 0.125]]},
    overlap={10.0: [[0, 999, 0.075], [500, None, 0.125]]},
    first_not_zero={10.0: [[5, None, 0.075]]},
    last_bounded={10.0: [[0, 999, 0.075]]},
    decreasing={10.0: [[0, 999, 0.125], [1000, None, 0.075]]},
    factor_one={10.0: [[0, None, 1.0]]},
    factor_text={10.0: [[0, None, "0.1"]]},
    short_row={10.0: [[0, None]]},
    zero_leverage={0.0: [[0, None, 0.1]]},
    rows_not_lists={10.0: 7},
    rows_text={10.0: "0,,0.1"},
)
LIQ_INF = "documented: a short with no liquidation price has price inf (LiquidationPrice.price)"
RATIO_INF = "documented: the Binance ratio is inf when the margin balance is <= 0 (MarginRatios)"
IP = "tiermargin.isolated.IsolatedPosition"
ALT = "tiermargin.alternatives"
CS = f"{ALT}.ContractSchedule"
AF = f"{ALT}.AdjustmentFactors"


def positions_args(table: object = TABLE) -> dict[str, Param]:
    return {"table": Param(table, TABLE_OR_SCHEDULE), "side": SIDE_P, "qty": Param(1.0, POSITIVE, array=True),
            "entry": ENTRY, "margin": MARGIN}


def text_params(*names: str) -> dict[str, Param]:
    return {n: Param("x", TEXT_STR) for n in names}


CASES = [
    # ---------------------------------------------------------------- isolated: functions
    Case("tiermargin.isolated.liquidation_price", lambda: liquidation_price,
         {**positions_args(), "fee_rate": FEE, "requirement_at": Param("mark", REQUIREMENT_AT),
          "fee_at": Param("bankruptcy", FEE_AT)}, inf_ok=LIQ_INF),
    Case("tiermargin.isolated.liquidation_price_in_tier", lambda: liquidation_price_in_tier,
         {**positions_args(), "tier": Param(2, CHOICE.with_bad(zero=0, past_last=4, float_tier=2.0, neg=-1)),
          "fee_rate": FEE, "fee_at": Param("entry", FEE_AT)}, inf_ok=LIQ_INF),
    Case("tiermargin.isolated.bankruptcy_price", lambda: bankruptcy_price,
         {**positions_args(INVERSE), "fee_rate": FEE}, inf_ok=LIQ_INF),
    Case("tiermargin.isolated.requirement", lambda: requirement,
         {"table": Param(TABLE, TABLE_OR_SCHEDULE), "qty": Param(1.0, NONNEGATIVE, array=True),
          "price": PRICE, "fee_rate": FEE}),
    Case("tiermargin.isolated.MarginRatios.of", lambda: MarginRatios.of,
         {"equity": Param(1_000.0, REAL, array=True), "requirement": Param(200.0, NONNEGATIVE, array=True),
          "exposure": Param(50_000.0, NONNEGATIVE, array=True)}, inf_ok=RATIO_INF),
    # ---------------------------------------------------------------- isolated: the position
    Case(IP, lambda: IsolatedPosition,
         {**positions_args(), "leverage": Param(10.0, POSITIVE, array=True), "fee_rate": FEE,
          "requirement_at": Param("mark", REQUIREMENT_AT), "fee_at": Param("mark", FEE_AT)}),
    Case(f"{IP}.open", lambda: IsolatedPosition.open,
         {"table": Param(TABLE, TABLE_OR_SCHEDULE), "side": SIDE_P, "qty": QTY, "entry": ENTRY,
          "leverage": Param(10.0, POSITIVE.with_bad(above_max=126.0), array=True),
          "extra_margin": Param(100.0, NONNEGATIVE, array=True), "fee_rate": FEE,
          "requirement_at": Param("entry", REQUIREMENT_AT), "fee_at": Param("bankruptcy", FEE_AT)}),
    *(Case(f"{IP}.{m}", (lambda m=m: getattr(position(), m)), {"price": PRICE})
      for m in ("value", "upnl", "equity", "tier", "maintenance_margin", "requirement", "health", "is_liquidated",
                "max_removable")),
    Case(f"{IP}.fee_reserve", lambda: short().fee_reserve, {"price": PRICE}),
    Case(f"{IP}.margin_ratios", lambda: position().margin_ratios, {"price": PRICE}, inf_ok=RATIO_INF),
    Case(f"{IP}.summary", lambda: short().summary, {"price": Param(55_000.0, POSITIVE)},
         inf_ok=f"{LIQ_INF}; {RATIO_INF}"),
    Case(f"{IP}.first_liquidation", lambda: position().first_liquidation,
         {"prices": Param([60_000.0, 56_000.0, 54_000.0], POSITIVE, array=True)}),
    Case(f"{IP}.explain", lambda: position().explain,
         {"what": Param("health", CHOICE.with_bad(unknown="margin", upper="HEALTH")), "price": PRICE}),
    Case(f"{IP}.liquidation_price_in_tier", lambda: position().liquidation_price_in_tier,
         {"tier": Param(2, CHOICE.with_bad(zero=0, past_last=4, float_tier=2.0))}),
    Case(f"{IP}.bankruptcy_price", lambda: short().bankruptcy_price,
         {"fee_rate": Param(0.001, RATE.with_bad(one=1.0), optional=True)}, inf_ok=LIQ_INF),
    Case(f"{IP}.add_margin", lambda: position().add_margin, {"amount": Param(100.0, POSITIVE, array=True)}),
    Case(f"{IP}.remove_margin", lambda: IsolatedPosition.open(TABLE, "long", 1.0, 60_000.0, 10.0, 1_000.0).remove_margin,
         {"amount": Param(10.0, POSITIVE.with_bad(above_max_removable=5_000.0), array=True),
          "price": Param(61_000.0, POSITIVE, array=True)}),
    Case("tiermargin.isolated_derivations.explain", lambda: explain,
         {"pos": Param(short(), OBJECT.with_bad(array=IsolatedPosition.open(TABLE, "long", [1.0, 2.0], 60_000, 10))),
          "what": Param("liquidation_price", CHOICE.with_bad(unknown="margin")),
          "price": Param(None, POSITIVE, optional=True)}),
    # ---------------------------------------------------------------- alternatives: schedules
    Case(f"{ALT}.TierSchedule", lambda: TierSchedule, {"table": Param(TABLE, OBJECT)}),
    Case(f"{ALT}.TierSchedule.maintenance_rate", lambda: TierSchedule(TABLE).maintenance_rate,
         {"size": Param(2e6, NONNEGATIVE, array=True)}),
    Case(f"{ALT}.TierSchedule.initial_rate", lambda: TierSchedule(TABLE).initial_rate,
         {"size": Param(2e6, NONNEGATIVE, array=True)}),  # past the last cap the last tier applies (tiers)
    Case(f"{ALT}.SqrtSchedule", lambda: SqrtSchedule,
         {"base_initial": Param(0.1, OPEN_RATE), "base_maintenance": Param(0.05, OPEN_RATE.with_bad(above_initial=0.2)),
          "imf": Param(0.00005, NONNEGATIVE), "form": Param("ftx", CHOICE.with_bad(unknown="dydx")),
          **text_params("unit", "name")}),
    *(Case(f"{ALT}.SqrtSchedule.{m}", (lambda m=m: getattr(SqrtSchedule(0.1, 0.05, 0.00005), m)), {"size": SIZE})
      for m in ("maintenance_rate", "initial_rate")),
    Case(f"{ALT}.LinearSchedule", lambda: LinearSchedule,
         {"base_initial": Param(0.02, OPEN_RATE),
          "base_maintenance": Param(0.01, OPEN_RATE.with_bad(above_initial=0.03)),
          "slope": Param(0.00005, NONNEGATIVE), **text_params("unit", "name")}),
    *(Case(f"{ALT}.LinearSchedule.{m}", (lambda m=m: getattr(LinearSchedule.deribit_btc(), m)), {"size": SIZE})
      for m in ("maintenance_rate", "initial_rate")),
    Case(f"{ALT}.SteppedInitialSchedule", lambda: SteppedInitialSchedule,
         {"base_initial": Param(0.05, OPEN_RATE), "maintenance": Param(0.03, OPEN_RATE.with_bad(above_initial=0.06)),
          "baseline": Param(100.0, NONNEGATIVE), "step_size": Param(10.0, POSITIVE),
          "step_rate": Param(0.01, NONNEGATIVE), **text_params("unit", "name")}),
    *(Case(f"{ALT}.SteppedInitialSchedule.{m}",
           (lambda m=m: getattr(SteppedInitialSchedule(0.05, 0.03, 100, 10, 0.01), m)),
           {"size": Param(150.0, NONNEGATIVE, array=True)}) for m in ("maintenance_rate", "initial_rate")),
    Case(f"{ALT}.OpenInterestIMF", lambda: OpenInterestIMF,
         {"base_initial": Param(0.05, Kind("rate in (0, 1]", frozenset({"1e-300"})).with_bad(above=1.5)),
          "maintenance": Param(0.03, OPEN_RATE.with_bad(above_initial=0.06)),
          "lower_cap": Param(1e6, NONNEGATIVE.with_bad(above_upper=3e6)), "upper_cap": Param(2e6, NONNEGATIVE),
          "open_notional": Param(1.5e6, NONNEGATIVE), **text_params("unit", "name")}),
    Case(f"{ALT}.OpenInterestIMF.initial_at", lambda: OpenInterestIMF(0.05, 0.03, 1e6, 2e6).initial_at,
         {"open_notional": Param(1.5e6, NONNEGATIVE, array=True)}),
    Case(f"{ALT}.OpenInterestIMF.with_open_notional", lambda: OpenInterestIMF(0.05, 0.03, 1e6, 2e6).with_open_notional,
         {"open_notional": Param(1.5e6, NONNEGATIVE)}),
    *(Case(f"{ALT}.OpenInterestIMF.{m}", (lambda m=m: getattr(OpenInterestIMF(0.05, 0.03, 1e6, 2e6, 1.5e6), m)),
           {"size": SIZE}) for m in ("maintenance_rate", "initial_rate")),
    # ---------------------------------------------------------------- alternatives: ContractSchedule
    Case(CS, lambda: ContractSchedule,
         {"schedule": Param(LinearSchedule.deribit_btc(), OBJECT), "contract": Param(Contract(), OBJECT),
          **text_params("id", "venue", "symbol", "source", "as_of")}),
    *(Case(f"{CS}.{m}", (lambda m=m: getattr(DERIBIT, m)), {"size": SIZE})
      for m in ("tier_index", "maintenance_amount", "rate", "initial_rate", "max_leverage_at")),
    Case(f"{CS}.maintenance_margin", lambda: DERIBIT.maintenance_margin,
         {"size": SIZE, "unit_value": Param(60_000.0, POSITIVE, array=True)}),
    Case(f"{CS}.explain_max_leverage", lambda: DERIBIT.explain_max_leverage, {"size": Param(100.0, NONNEGATIVE)}),
    Case(f"{CS}.max_size_at_leverage", lambda: DERIBIT.max_size_at_leverage,
         {"leverage": Param(20.0, POSITIVE.with_bad(above_max=51.0), array=True)}),
    Case(f"{CS}.with_form", lambda: DERIBIT.with_form, {"form": Param("step", CHOICE.with_bad(unknown="smooth"))}),
    Case(f"{CS}.size_of", lambda: DERIBIT.size_of, {"qty": SIZE, "price": PRICE}),
    Case(f"{CS}.contracts_at", lambda: DERIBIT.contracts_at, {"size": SIZE, "price": PRICE}),
    Case(f"{CS}.unit_value", lambda: DERIBIT.unit_value, {"price": PRICE}),
    Case(f"{CS}.usd_notional", lambda: DERIBIT.usd_notional, {"size": SIZE, "price": PRICE}),
    Case(f"{CS}.size_at_usd", lambda: DERIBIT.size_at_usd,
         {"usd": Param(10_000.0, NONNEGATIVE, array=True), "price": PRICE}),
    # ---------------------------------------------------------------- alternatives: AdjustmentFactors
    Case(AF, lambda: AdjustmentFactors,
         {"ladders": Param(LADDERS, LADDERS_KIND, aliases=("ladder", "leverage")), "contract": Param(Contract(), OBJECT),
          **text_params("id", "venue", "symbol", "source", "as_of")},
         inf_ok="the ladders' storage pads a shorter ladder's floors with inf (no tier there); the last max_size is "
                "None (unbounded)"),
    *(Case(f"{AF}.{m}", (lambda m=m: getattr(AdjustmentFactors(LADDERS), m)),
           {"leverage": Param(10.0, UNPUBLISHED, array=True), "net_contracts": Param(1_800.0, NONNEGATIVE, array=True)})
      for m in ("factor", "maintenance_rate")),
    Case(f"{AF}.margin_ratio", lambda: AdjustmentFactors(LADDERS).margin_ratio,
         {"equity": Param(500.0, REAL, array=True), "used_margin": Param(400.0, POSITIVE, array=True),
          "leverage": Param(10.0, UNPUBLISHED, array=True), "net_contracts": Param(1_800.0, NONNEGATIVE, array=True)}),
    Case(f"{AF}.table", lambda: AdjustmentFactors(LADDERS).table, {"leverage": Param(20.0, UNPUBLISHED)},
         inf_ok="documented: HTX's last max_size is None (unbounded), so the table's last cap is inf"),
    Case(f"{ALT}.margin_info", lambda: margin_info,
         {"rule_id": Param("dydx-v4-btc-usd", CHOICE.with_bad(unknown="dydx-v3", upper="DYDX-V4-BTC-USD"))}),
]

EXEMPT: dict[str, str] = {
    f"{ALT}.{p}{m}": "a typing.Protocol: an interface other schedules implement (its methods are stubs "
                     "documenting the signature); users call the implementations, each swept here"
    for p, ms in (("MarginSchedule", ("", ".maintenance_rate", ".initial_rate")),
                  ("PositionSchedule", ("", ".maintenance_margin", ".max_leverage_at", ".rate", ".tier_index",
                                        ".unit_value")))
    for m in ms
}
