"""Sweep cases for tiermargin.tiers and tiermargin.contracts (the "tiers" group)."""

import math

from sweep import (CHOICE, NONNEGATIVE, OBJECT, POSITIVE, RATE, REAL, SEQUENCE, SIDE, TEXT, Case, Param)

from tiermargin.contracts import Contract
from tiermargin.tiers import TierTable, load_table, maintenance_amounts, table_info

ROWS = [[0, 50_000, 0.004, 125], [50_000, 250_000, 0.005, 100], [250_000, None, 0.01, 50]]
BAD_ROWS = SEQUENCE.with_bad(
    gap=[[0, 100, 0.01, 50], [200, None, 0.02, 25]],
    overlap=[[0, 100, 0.01, 50], [50, None, 0.02, 25]],
    duplicate=[[0, 100, 0.01, 50], [0, 100, 0.01, 50]],
    unsorted=[[100, None, 0.02, 25], [0, 100, 0.01, 50]],
    decreasing_mmr=[[0, 100, 0.02, 50], [100, None, 0.01, 25]],
    mmr_one=[[0, None, 1.0, 1]],
    zero_leverage=[[0, None, 0.01, 0]],
    increasing_leverage=[[0, 100, 0.01, 25], [100, None, 0.02, 40]],
    leverage_some_missing=[[0, 100, 0.01, 50], [100, None, 0.02, None]],
    open_middle=[[0, None, 0.01, 50], [100, None, 0.02, 25]],
    first_floor_not_zero=[[10, None, 0.01, 50]],
    number_as_text=[[0, None, "0.01", 50]],
    bool_in_row=[[0, None, 0.01, True]],
    nan_in_row=[[0, 100, math.nan, 50], [100, None, 0.02, 25]],
    huge_cap=[[0, 1e308, 0.01, 50], [1e308, None, 0.02, 25]],
    short_row=[[0, None, 0.01]],
    row_not_a_list=[1.0, 2.0],
    rows_text="0,,0.01,50",
)
TEXT_STR = TEXT.allowing("str")  # free text: "2" is a valid label
CCXT = [{"tier": k, "currency": "USDT", "minNotional": f, "maxNotional": c, "maintenanceMarginRate": r,
         "maxLeverage": lev, "info": {}} for k, (f, c, r, lev) in enumerate(ROWS, start=1)]
BAD_CCXT = SEQUENCE.with_bad(
    missing_key=[{k: v for k, v in CCXT[0].items() if k != "maxLeverage"}],
    entry_not_a_dict=[[0, None, 0.01, 50]],
    number_as_text=[{**CCXT[0], "maxNotional": None, "maintenanceMarginRate": "0.004"}],
    unsorted=[CCXT[1], CCXT[0], CCXT[2]],
    gap=[CCXT[0], CCXT[2]],
    tiers_text='[{"minNotional": 0}]',
)
CSV = "floor,cap,maintenance_margin_rate,max_leverage\n0,50000,0.004,125\n50000,250000,0.005,100\n250000,,0.01,50\n"
BAD_CSV = TEXT.with_bad(
    header=CSV.replace("floor", "flor"),
    extra_field=CSV.replace("0,50000,0.004,125", "0,50000,0.004,125,7"),
    missing_field=CSV.replace("0,50000,0.004,125", "0,50000,0.004"),
    not_a_number=CSV.replace("0.004", "x"),
    nan_cell=CSV.replace("0.004", "nan"),
    huge_cell=CSV.replace("0.004", "1e400"),
    gap=CSV.replace("50000,250000", "60000,250000"),
    empty="",
)
DICT = load_table("binance-usdm-btcusdt-2021").to_dict()
BAD_DICT = OBJECT.with_bad(
    missing_tiers={k: v for k, v in DICT.items() if k != "tiers"},
    unknown_key={**DICT, "bassis": "contracts"},
    tiers_text={**DICT, "tiers": "0,,0.01,50"},
    face_value_text={**DICT, "face_value": "1"},
    contract_unknown={**DICT, "contract": "quanto"},
    id_number={**DICT, "id": 7},
    basis_unknown={**DICT, "basis": "coins"},
    tiers_bad=BAD_ROWS.bad,
)
BAD_JSON = TEXT.with_bad(
    not_json="{not json",
    deep="[" * 100_000 + "]" * 100_000,
    array='[[0, null, 0.01, 50]]',
    number_as_text='{"tiers": [[0, null, "0.01", 50]]}',
    nan_literal='{"tiers": [[0, null, NaN, 50]]}',
    unknown_key='{"tiers": [[0, null, 0.01, 50]], "from": "x"}',
    huge_number='{"tiers": [[0, null, 0.01, %s]]}' % ("9" * 400),
    empty="",
)


def table() -> TierTable:
    return load_table("binance-usdm-btcusdt-2021")


def okx() -> TierTable:
    return load_table("okx-btc-usd-swap-2019")  # inverse, contracts basis, step form


def inverse() -> Contract:
    return Contract("inverse", 100.0, "BTC")


SIZE = Param(1_000.0, NONNEGATIVE, array=True)
PRICE = Param(60_000.0, POSITIVE, array=True)
QTY = Param(3.0, NONNEGATIVE, array=True)
ABOVE_MAX = POSITIVE.with_bad(above_max=126.0)
OPEN_LAST = "an unbounded last tier has cap inf (documented: caps[-1] = inf, max_size = inf)"
T = "tiermargin.tiers.TierTable"
C = "tiermargin.contracts.Contract"

CASES = [
    # ---------------------------------------------------------------- contracts
    Case(C, lambda: Contract, {"kind": Param("inverse", CHOICE), "face_value": Param(100.0, POSITIVE),
                               "settle": Param("BTC", TEXT_STR.with_bad(empty=""))}),
    Case(f"{C}.coordinate", lambda: inverse().coordinate, {"price": PRICE}),
    Case(f"{C}.to_usd", lambda: inverse().to_usd, {"amount": Param(-0.5, REAL, array=True), "price": PRICE}),
    Case(f"{C}.upnl", lambda: inverse().upnl,
         {"side": Param("long", SIDE, array=True), "qty": QTY, "entry": Param(50_000.0, POSITIVE, array=True),
          "price": PRICE}),
    Case(f"{C}.usd_value", lambda: inverse().usd_value, {"qty": QTY, "price": PRICE}),
    Case(f"{C}.value", lambda: Contract("linear", 0.01).value, {"qty": QTY, "price": PRICE}),
    # ---------------------------------------------------------------- construction
    Case(T, lambda: TierTable,
         {"floors": Param([0.0, 50_000.0, 250_000.0], SEQUENCE.with_bad(
             text=["0", "50000", "250000"], unsorted=[0.0, 250_000.0, 50_000.0], first_not_zero=[1.0, 50_000.0, 250_000.0]), aliases=("tier",)),
          "caps": Param([50_000.0, 250_000.0, math.inf], SEQUENCE.with_bad(
              text=["50000", "250000", "inf"], inf_middle=[50_000.0, math.inf, math.inf], nan_last=[50_000.0, 250_000.0, math.nan]), aliases=("tier",)),
          "mmr": Param([0.004, 0.005, 0.01], SEQUENCE.with_bad(
              text=["0.004", "0.005", "0.01"], bools=[True, True, True], decreasing=[0.01, 0.005, 0.004],
              one=[0.004, 0.005, 1.0]), aliases=("tier",)),
          "max_leverage": Param([125.0, 100.0, 50.0], SEQUENCE.with_bad(
              text=["125", "100", "50"], zero=[125.0, 100.0, 0.0], increasing=[50.0, 100.0, 125.0],
              too_high=[125.0, 100.0, 200.0]), optional=True, aliases=("tier",)),
          "basis": Param("notional", CHOICE), "form": Param("continuous", CHOICE),
          "contract": Param(Contract(), OBJECT), "closed": Param("right", CHOICE),
          "id": Param("x", TEXT_STR), "venue": Param("v", TEXT_STR), "symbol": Param("s", TEXT_STR),
          "source": Param("src", TEXT_STR), "as_of": Param("2021-03-18", TEXT_STR)},
         inf_ok=OPEN_LAST),
    Case(f"{T}.from_rows", lambda: TierTable.from_rows,
         {"rows": Param(ROWS, BAD_ROWS, aliases=("tier", "row")), "basis": Param("notional", CHOICE)},
         inf_ok=OPEN_LAST),
    Case(f"{T}.single", lambda: TierTable.single,
         {"mmr": Param(0.005, RATE.with_bad(one=1.0), aliases=("tier",)),
          "max_leverage": Param(100.0, POSITIVE.with_bad(too_high=300.0), optional=True, aliases=("tier",))},
         inf_ok=OPEN_LAST),
    Case(f"{T}.from_ccxt", lambda: TierTable.from_ccxt,
         {"tiers": Param(CCXT, BAD_CCXT, aliases=("tier",)), "form": Param("step", CHOICE)}, inf_ok=OPEN_LAST),
    Case(f"{T}.explain_ccxt", lambda: TierTable.explain_ccxt,
         {"tiers": Param(CCXT, BAD_CCXT, aliases=("tier",)), "basis": Param("contracts", CHOICE)}, inf_ok=OPEN_LAST),
    Case(f"{T}.from_csv", lambda: TierTable.from_csv,
         {"text": Param(CSV, BAD_CSV, aliases=("CSV", "tier")), "closed": Param("right", CHOICE)}, inf_ok=OPEN_LAST),
    Case(f"{T}.from_dict", lambda: TierTable.from_dict, {"d": Param(DICT, BAD_DICT, aliases=("tier", *DICT))},
         inf_ok=OPEN_LAST),
    Case(f"{T}.from_json", lambda: TierTable.from_json,
         {"text": Param(table().to_json(), BAD_JSON, aliases=("JSON", "tier"))}, inf_ok=OPEN_LAST),
    Case("tiermargin.tiers.load_table", lambda: load_table,
         {"table_id": Param("okx-btc-usd-swap-2019", CHOICE)}, inf_ok=OPEN_LAST),
    Case("tiermargin.tiers.table_info", lambda: table_info,
         {"table_id": Param("okx-btc-usd-swap-2019", CHOICE)}),
    Case("tiermargin.tiers.maintenance_amounts", lambda: maintenance_amounts,
         {"floors": Param([0.0, 50_000.0, 250_000.0], NONNEGATIVE.with_bad(
             unsorted=[0.0, 250_000.0, 50_000.0], first_not_zero=[10.0, 50_000.0, 250_000.0]), array=True),
          "mmr": Param([0.004, 0.005, 0.01], RATE.with_bad(one=[0.004, 0.005, 1.0], decreasing=[0.01, 0.005, 0.004]),
                       array=True)}),
    Case(f"{T}.with_form", lambda: table().with_form, {"form": Param("step", CHOICE)}, inf_ok=OPEN_LAST),
    # ---------------------------------------------------------------- lookups
    Case(f"{T}.rate", lambda: table().rate, {"size": SIZE}),
    Case(f"{T}.tier_index", lambda: table().tier_index, {"size": SIZE}),
    Case(f"{T}.maintenance_amount", lambda: table().maintenance_amount, {"size": SIZE}),
    Case(f"{T}.maintenance_margin", lambda: okx().maintenance_margin,
         {"size": SIZE, "unit_value": Param(0.002, POSITIVE, array=True)}),
    Case(f"{T}.max_leverage_at", lambda: table().max_leverage_at, {"size": SIZE}),
    Case(f"{T}.max_size_at_leverage", lambda: table().max_size_at_leverage,
         {"leverage": Param(20.0, ABOVE_MAX, array=True)}),
    Case(f"{T}.explain", lambda: okx().explain,
         {"size": Param(30_000.0, NONNEGATIVE), "unit_value": Param(0.002, POSITIVE)}),
    Case(f"{T}.explain_max_size", lambda: table().explain_max_size, {"leverage": Param(20.0, ABOVE_MAX)}),
    # ---------------------------------------------------------------- sizes in other units
    Case(f"{T}.size_of", lambda: okx().size_of, {"qty": QTY, "price": PRICE}),
    Case(f"{T}.unit_value", lambda: okx().unit_value, {"price": PRICE}),
    Case(f"{T}.contracts_at", lambda: table().contracts_at, {"size": SIZE, "price": PRICE}),
    Case(f"{T}.usd_notional", lambda: okx().usd_notional, {"size": SIZE, "price": PRICE}),
    Case(f"{T}.size_at_usd", lambda: okx().size_at_usd, {"usd": Param(10_000.0, NONNEGATIVE, array=True),
                                                         "price": PRICE}),
]

EXEMPT: dict[str, str] = {
    f"{C}.price_of": "the solvers' inverse of coordinate on u they computed (> 0 by construction, possibly an "
                     "empty array of boundaries): documented 'no validation: internal use'; users hold prices",
}
