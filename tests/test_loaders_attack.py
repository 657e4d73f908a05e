"""Loaders under attack (issue 16, point 2): JSON, CSV and ccxt input that is malformed, huge (10 MB),
deeply nested, with a UTF-8 BOM, numbers as strings, extra or missing keys.

Each is refused with a ValueError/TypeError naming what is wrong, in bounded time (a bound check, not
a benchmark). Decisions, as the loaders' docstrings say:

* a leading UTF-8 byte-order mark is accepted by ``from_json`` and ``from_csv`` (standard for UTF-8
  text; Excel and Notepad write one) and the result equals the parse without it;
* numbers as strings are refused in JSON, dicts and ccxt lists (ccxt returns floats; nothing is
  parsed or coerced), while CSV cells are text by nature and are parsed as numbers;
* unknown keys are refused in the dict/JSON form (a misspelt ``"bassis"`` would silently fall back
  to a default) and ignored in ccxt entries (ccxt carries ``tier``, ``currency``, ``info`` and, in
  newer versions, ``symbol``).
"""

import ast
import json
import pathlib
import time

import pytest

import tiermargin
from tiermargin.rules import preset
from tiermargin.tiers import MAX_TIERS, TierTable, load_table
from tiermargin.widgets.calculator import pasted_table

BOUND = 2.0  # seconds: every refusal (and every valid load of MAX_TIERS tiers) is well under it
T = load_table("binance-usdm-btcusdt-2021")
KW = {"closed": T.closed}  # CSV and ccxt carry rows only: the table's boundary side is a keyword
JSON, CSV, CCXT, DICT = T.to_json(), T.to_csv(), T.to_ccxt(), T.to_dict()
HEADER = CSV.splitlines()[0] + "\n"
MB10 = 10_000_000


def nested(depth):
    """A list nested ``depth`` deep, built without recursion."""
    top = inner = []
    for _ in range(depth):
        inner.append([])
        inner = inner[0]
    return top


def many_rows(n):
    """``n`` contiguous rows (a table of ``n`` tiers, more than 10 MB of JSON for n = 300,000)."""
    rows = [[10.0 * k, 10.0 * (k + 1), 0.001 + 1e-9 * k, 50.0] for k in range(n)]
    rows[-1][1] = None
    return rows


def refused(call, error, match):
    start = time.perf_counter()
    with pytest.raises(error, match=match):
        call()
    assert time.perf_counter() - start < BOUND


HUGE = many_rows(300_000)
DEEP = nested(100_000)

JSON_ATTACKS = {
    "not JSON": ("{not json", ValueError, "text is not valid JSON"),
    "truncated": (JSON[:-10], ValueError, "text is not valid JSON"),
    "a list": ("[[0, null, 0.01, 50]]", ValueError, "must be an object"),
    "a number": ("2", ValueError, "must be an object"),
    "deep lists": ("[" * 100_000 + "]" * 100_000, ValueError, "nested too deeply"),
    "deep objects": ('{"a": ' * 100_000 + "1" + "}" * 100_000, ValueError, "nested too deeply"),
    "deep tiers": ('{"tiers": ' + "[" * 100_000 + "]" * 100_000 + "}", ValueError, "nested too deeply"),
    "10 MB number": ('{"tiers": [[0, null, 0.01, %s]]}' % ("9" * MB10), ValueError, "text is not valid JSON"),
    "400-digit number": ('{"tiers": [[0, null, 0.01, %s]]}' % ("9" * 400), ValueError, "within the float range"),
    "10 MB of garbage": ("{" + "x" * MB10, ValueError, "text is not valid JSON"),
    "300,000 tiers (12 MB)": (json.dumps({"tiers": HUGE}), ValueError, f"at most {MAX_TIERS:,}"),
    "missing tiers": (json.dumps({k: v for k, v in DICT.items() if k != "tiers"}), ValueError, "'tiers' list"),
    "extra key": (json.dumps({**DICT, "bassis": "contracts"}), ValueError, "unknown keys 'bassis'"),
    "tiers not a list": (json.dumps({**DICT, "tiers": "0,,0.01,50"}), ValueError, "'tiers' list"),
    "short row": (json.dumps({"tiers": [[0, None, 0.01]]}), ValueError, r"tier 1: a row is \[floor"),
    "NaN literal": ('{"tiers": [[0, null, NaN, 50]]}', ValueError, "tier 1: mmr must be finite"),
    "Infinity floor": ('{"tiers": [[Infinity, null, 0.01, 50]]}', ValueError, "tier 1: floor must be finite"),
    "mmr as string": ('{"tiers": [[0, null, "0.01", 50]]}', ValueError, "tier 1: mmr must be a number, got '0.01'"),
    "code as string": (json.dumps({"tiers": [[0, None, "__import__('os')", 5]]}), ValueError, "mmr must be a number"),
    "leverage as bool": ('{"tiers": [[0, null, 0.01, true]]}', ValueError, "max_leverage must be a number"),
    "face_value as string": (json.dumps({**DICT, "face_value": "1"}), TypeError, "face_value must be a number"),
    "id as number": (json.dumps({**DICT, "id": 7}), TypeError, "id must be text"),
    "settle as number": (json.dumps({**DICT, "settle": 7}), TypeError, "settle must be a currency code"),
    "BOM twice": ("\ufeff\ufeff" + JSON, ValueError, "text is not valid JSON"),
}


@pytest.mark.parametrize("text, error, match", JSON_ATTACKS.values(), ids=JSON_ATTACKS)
def test_from_json_refuses(text, error, match):
    refused(lambda: TierTable.from_json(text), error, match)


def test_from_json_takes_text_only():
    for value in (JSON.encode(), None, DICT):
        refused(lambda: TierTable.from_json(value), TypeError, "text must be a str of JSON")


CSV_ATTACKS = {
    "bad header": (CSV.replace("floor", "flor", 1), "CSV header must be"),
    "missing column": (CSV.replace(",max_leverage", "", 1), "CSV header must be"),
    "extra column": (CSV.replace("max_leverage", "max_leverage,note", 1), "CSV header must be"),
    "extra field": (HEADER + "0,,0.01,50,7\n", "CSV line 2: expected 4 fields .* got 5"),
    "missing field": (HEADER + "0,,0.01\n", "CSV line 2: expected 4 fields .* got 3"),
    "text cell": (HEADER + "0,,x,50\n", "CSV line 2: every field must be a number"),
    "nan cell": (HEADER + "0,,nan,50\n", "tier 1: mmr must be finite"),
    "overflowing cell": (HEADER + "0,,0.01,1e400\n", "tier 1: max_leverage must be finite"),
    "10 MB field": (HEADER + "1" * MB10 + ",,0.01,50\n", "not a tier table's CSV"),
    "300,000 rows (10 MB)": (HEADER + "".join(f"{f},{'' if c is None else c},{r},{lv}\n" for f, c, r, lv in HUGE),
                             f"at most {MAX_TIERS:,} tiers"),
    "empty": ("", "CSV header must be"),
    "header only": (HEADER, "at least one tier"),
    "BOM twice": ("\ufeff\ufeff" + CSV, "CSV header must be"),
}


@pytest.mark.parametrize("text, match", CSV_ATTACKS.values(), ids=CSV_ATTACKS)
def test_from_csv_refuses(text, match):
    refused(lambda: TierTable.from_csv(text), ValueError, match)


CCXT_ATTACKS = {
    "a dict": ({"BTC/USDT:USDT": CCXT}, TypeError, "tiers must be a list of ccxt tier dicts"),
    "text": (json.dumps(CCXT), TypeError, "tiers must be a list of ccxt tier dicts"),
    "a number": (2.0, TypeError, "tiers must be a list of ccxt tier dicts"),
    "None": (None, TypeError, "tiers must be a list of ccxt tier dicts"),
    "entry not a dict": ([[0, None, 0.01, 50]], TypeError, "ccxt tier 1 must be a dict"),
    "missing key": ([{k: v for k, v in CCXT[0].items() if k != "maxLeverage"}], ValueError,
                    "ccxt tier 1 is missing maxLeverage"),
    "number as string": ([{**e, "maintenanceMarginRate": str(e["maintenanceMarginRate"])} for e in CCXT], ValueError,
                         "tier 1: mmr must be a number, got '0.004'"),
    "leverage as bool": ([{**CCXT[-1], "minNotional": 0, "maxLeverage": True}], ValueError,
                         "max_leverage must be a number"),
    "100,000 deep": (DEEP, TypeError, "ccxt tier 1 must be a dict"),
    "300,000 entries": ([{"minNotional": f, "maxNotional": c, "maintenanceMarginRate": r, "maxLeverage": lv}
                         for f, c, r, lv in HUGE], ValueError, f"at most {MAX_TIERS:,} tiers"),
    "open middle tier": ([{**CCXT[0], "maxNotional": None}, *CCXT[1:]], ValueError, "only the last tier may be unbounded"),
}


@pytest.mark.parametrize("loader", [TierTable.from_ccxt, TierTable.explain_ccxt], ids=["from_ccxt", "explain_ccxt"])
@pytest.mark.parametrize("tiers, error, match", CCXT_ATTACKS.values(), ids=CCXT_ATTACKS)
def test_ccxt_loaders_refuse(loader, tiers, error, match):
    refused(lambda: loader(tiers), error, match)


DICT_ATTACKS = {
    "not a dict": ([DICT], TypeError, "d must be a dict"),
    "100,000 deep tiers": ({**DICT, "tiers": DEEP}, ValueError, r"tier 1: a row is \[floor"),
    "300,000 tiers": ({**DICT, "tiers": HUGE}, ValueError, f"at most {MAX_TIERS:,}"),
    "missing tiers": ({k: v for k, v in DICT.items() if k != "tiers"}, ValueError, "'tiers' list"),
    "extra key": ({**DICT, "expected_maintenance_amounts": [0]}, ValueError, "unknown keys"),
    "number as string": ({**DICT, "tiers": [[0, None, 0.01, "50"]]}, ValueError, "max_leverage must be a number"),
}


@pytest.mark.parametrize("d, error, match", DICT_ATTACKS.values(), ids=DICT_ATTACKS)
def test_from_dict_refuses(d, error, match):
    refused(lambda: TierTable.from_dict(d), error, match)


def test_a_leading_bom_is_ignored_and_changes_nothing():
    assert TierTable.from_json("\ufeff" + JSON).to_dict() == TierTable.from_json(JSON).to_dict() == DICT
    with_bom, without = TierTable.from_csv("\ufeff" + CSV, **KW), TierTable.from_csv(CSV, **KW)
    assert with_bom.to_dict() == without.to_dict() == TierTable.from_rows(T.rows(), **KW).to_dict()


def test_csv_cells_are_numbers_in_text_while_json_and_ccxt_numbers_must_be_numbers():
    assert TierTable.from_csv(CSV, **KW).rows() == T.rows()  # CSV: "0.004" is the number 0.004
    as_text = [[None if v is None else str(v) for v in row] for row in T.rows()]
    refused(lambda: TierTable.from_json(json.dumps({"tiers": as_text})), ValueError, "must be a number")
    refused(lambda: TierTable.from_rows(as_text), ValueError, "must be a number")


def test_extra_keys_in_ccxt_entries_are_ignored():
    extra = [{**e, "symbol": "BTC/USDT:USDT", "note": [1, 2]} for e in CCXT]
    assert TierTable.from_ccxt(extra, **KW).to_dict() == TierTable.from_ccxt(CCXT, **KW).to_dict()


def test_the_largest_table_loads_in_bounded_time():
    rows = many_rows(MAX_TIERS)
    table = TierTable.from_rows(rows)
    for load in (lambda: TierTable.from_json(table.to_json()), lambda: TierTable.from_csv(table.to_csv()),
                 lambda: TierTable.from_ccxt(table.to_ccxt()), lambda: TierTable.explain_ccxt(table.to_ccxt())):
        start = time.perf_counter()
        load()
        assert time.perf_counter() - start < BOUND
    refused(lambda: TierTable.from_rows(many_rows(MAX_TIERS + 1)), ValueError, f"at most {MAX_TIERS:,}")


# ------------------------------------------------------------------ the calculator's pasted ccxt text
BOOK = preset("binance-usdm")
PASTED_ATTACKS = {
    "not JSON": "[{",
    "a number": "2",
    "300,000 entries": json.dumps([{"minNotional": f, "maxNotional": c, "maintenanceMarginRate": r, "maxLeverage": lv}
                                   for f, c, r, lv in HUGE]),
    "number as string": json.dumps([{**e, "maxLeverage": str(e["maxLeverage"])} for e in CCXT]),
    "missing key": json.dumps([{"minNotional": 0}]),
    "deep": "[" * 100_000 + "]" * 100_000,
    "10 MB number": "[%s]" % ("9" * MB10),
}


@pytest.mark.parametrize("text", PASTED_ATTACKS.values(), ids=PASTED_ATTACKS)
def test_pasted_ccxt_text_is_refused(text):
    refused(lambda: pasted_table(text, BOOK, 10), ValueError, "^ccxt tiers: ")


def test_pasted_ccxt_text_with_a_bom_is_the_text_without_it():
    text = json.dumps(CCXT)
    assert pasted_table("\ufeff" + text, BOOK, 10).rows() == pasted_table(text, BOOK, 10).rows()


# ------------------------------------------------------------------ nothing is evaluated
_FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__"}
_FORBIDDEN_MODULES = {"pickle", "cPickle", "marshal", "shelve", "dill", "cloudpickle", "yaml"}


def forbidden(source, filename="<string>"):
    """Where ``source`` names eval/exec/compile/__import__ (also as a string, for getattr), imports
    pickle, marshal, shelve (or yaml: ``yaml.load`` can build objects) or uses an attribute of one."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Name) and node.id in _FORBIDDEN_CALLS:
            found.append(f"{filename}:{node.lineno}: {node.id}")
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in _FORBIDDEN_MODULES:
            found.append(f"{filename}:{node.lineno}: {node.value.id}.{node.attr}")  # yaml.load, pickle.loads
        elif isinstance(node, ast.Attribute) and node.attr in _FORBIDDEN_CALLS:
            if not (node.attr == "compile" and isinstance(node.value, ast.Name) and node.value.id == "re"):
                found.append(f"{filename}:{node.lineno}: .{node.attr}")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found += [f"{filename}:{node.lineno}: import {n}" for n in names if n.split(".")[0] in _FORBIDDEN_MODULES]
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and node.value in (_FORBIDDEN_MODULES - {"yaml"}) | _FORBIDDEN_CALLS):
            # getattr(builtins, "eval"), import_module("pickle"); "yaml" alone is doctor's package name for PyYAML
            found.append(f"{filename}:{node.lineno}: {node.value!r}")
    return found


def test_the_scan_finds_each_forbidden_construct():
    for snippet in ("eval(text)", "exec(text)", "__import__('os')", "import pickle", "from marshal import loads",
                    "import shelve", "yaml.load(text)", "yaml.unsafe_load(text)", "builtins.eval(x)",
                    "getattr(builtins, 'eval')(x)", "importlib.import_module('pickle')", "compile(s, 'f', 'exec')"):
        assert forbidden(snippet), snippet
    assert not forbidden("json.loads(text)\nre.compile('x')\ncsv.DictReader(io.StringIO(text))")


def test_no_module_of_tiermargin_can_evaluate_text():
    # Supersedes test_tiers.py's test_json_loader_never_evaluates (a string of code in a row is refused as
    # "must be a number": JSON_ATTACKS["code as string"]): no loader can reach eval & co. at all.
    root = pathlib.Path(tiermargin.__file__).parent
    files = sorted(root.rglob("*.py"))
    assert len(files) > 20
    found = [f for path in files for f in forbidden(path.read_text("utf-8"), str(path.relative_to(root)))]
    assert not found, found
