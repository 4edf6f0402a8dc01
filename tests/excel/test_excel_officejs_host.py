"""The functions loaded by xlwings' own Office.js machinery (what xlwings Lite and
xlwings Server run), in a subprocess: xlwings chooses its decorators at import time.

``XLWINGS_ON_SERVER=true`` makes ``xlwings.func`` the Office.js decorator; that code
(``xlwings.pro``) asks for a license key, and ``noncommercial`` is the key xlwings
documents for non-commercial use such as this test. The calls go through
``custom_functions_call`` with the raw payload Excel sends: 2-D lists, ``""`` for
blanks, error cells as dicts, dates as serial numbers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from retention_xl.excel import udfs
from retention_xl.excel.registry import arg_help

REGISTRY = udfs.REGISTRY
ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys
    import xlwings as xw
    from xlwings import server
    from retention_xl.excel import hosts, udfs
    from retention_xl.excel.registry import REGISTRY

    def call(name, *args):
        runtime, _, name = name.rpartition("@")  # "1.3@CHURN": Excel 2021/2024 perpetual
        data = {"func_name": name, "args": list(args), "version": xw.__version__,
                "client": "Office.js", "runtime": runtime or "1.4", "culture_info_name": "en-US",
                "date_format": "yyyy-mm-dd"}
        try:
            return {"result": asyncio.run(server.custom_functions_call(data, udfs))}
        except Exception as exc:
            return {"raised": type(exc).__name__, "message": str(exc)}

    err = lambda code, kind: {"type": "Error", "basicValue": code, "errorType": kind}
    calls = json.loads(sys.stdin.read())
    out = {
        "host": hosts.current_host().value,
        "meta": server.custom_functions_meta(udfs),
        "registry": {name: [a.name for a in f.args] for name, f in REGISTRY.items()},
        "results": [call(name, *args) for name, args in calls],
    }
    print(json.dumps(out, default=str))
    """
)

DIV0 = {"type": "Error", "basicValue": "#DIV/0!", "errorType": "Div0"}
# Fader, Hardie & Shang (2010): frequency, recency, periods, weights of 11,104 donors
_GIFTS = pd.read_csv(ROOT / "tests" / "data" / "donations" / "donations.csv").astype(int)
# one row per donor, a quarter of them: the interval companions fit on per-customer ranges
_DONORS = _GIFTS.loc[_GIFTS.index.repeat(_GIFTS["weights"])].iloc[::4].reset_index(drop=True)
CALLS: list[tuple[str, list[Any]]] = [
    ("CHURN", [[[1000]], [[50]]]),  # 0: single cells
    ("CHURN", [[[0]], [[0]]]),  # 1: #DIV/0!
    ("CHURN", [[[100]], [[150]]]),  # 2: #NUM!
    ("CHURN", [[["100"]], [[5]]]),  # 3: #VALUE! with message
    ("NPS", [[[10], [9], [""], [8], [3]], None]),  # 4: blank cell, missing optional
    ("NPS", [[[10], [DIV0]], None]),  # 5: an error cell in the range
    ("CHURN", [[[1000], [800]], [[50], [80]]]),  # 6: ranges spill
    ("CLV", [[[50]], [[4]], [[5]], [[""]]]),  # 7: blank optional -> default
    ("REPEAT_RATE", [[["a"], ["b"], ["a"], [""]], None]),  # 8: ids form
    ("AOV", [[[10, 20], [30, ""]]]),  # 9: 2-D range
    ("NPS", [[[]], None]),  # 10: nothing at all
    # 11: twelve months, one with lost > start and one with a text: errors in those rows
    (
        "CHURN",
        [
            [
                [1000],
                [980],
                [975],
                [990],
                [100],
                [1010],
                [1005],
                [1000],
                [995],
                [990],
                [985],
                [980],
            ],
            [[50], [40], [30], [45], [150], [35], ["n/a"], [40], [30], [25], [20], [15]],
        ],
    ),
    # 12: numeric customer ids (card numbers) and text ids
    (
        "RFM",
        [
            [[1001], [1002], [1001], [1003]],
            [[45000], [45010], [45020], [45030]],
            [[10], [20], [30], [40]],
            None,
        ],
    ),
    (
        "RFM",
        [
            [["a-1"], ["b-2"], ["a-1"], ["c-3"]],
            [[45000], [45010], [45020], [45030]],
            [[10], [20], [30], [40]],
            None,
        ],
    ),
    # 14: custom-functions runtime 1.3 (Office 2021/2024 perpetual): errors as text
    ("1.3@CHURN", [[[1000], [10]], [[50], [20]]]),
    # 15: BG/BB on the donations table (histories with counts), a blank row at the end
    ("BGBB_FIT", [[*([v] for v in _GIFTS[c]), [""]] for c in _GIFTS.columns]),
    # 16: MBG/NBD per customer: a spill
    (
        "MBGNBD_PALIVE",
        [[[0], [2], [1]], [[0], [30.43], [20]], [[38.86], [38.86], [38.86]]]
        + [[[v]] for v in (0.525, 6.183, 0.891, 1.614)],
    ),
    # 17: BG/BB's count prediction interval, fitted on the donors' ranges, with a level
    (
        "BGBB_PURCHASES_PI",
        [[[5]]]
        + [[[int(v)] for v in _DONORS[c]] for c in ("frequency", "recency", "periods")]
        + [[[0.8]]],
    ),
]


@pytest.fixture(scope="module")
def officejs() -> dict[str, Any]:
    env = dict(os.environ)
    env.update(
        XLWINGS_ON_SERVER="true",
        XLWINGS_LICENSE_KEY="noncommercial",
        PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]),
    )
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        input=json.dumps(CALLS),
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_host_detected_as_officejs(officejs: dict[str, Any]) -> None:
    assert officejs["host"] == "officejs"


def test_metadata_lists_every_function_with_help_and_argument_docs(
    officejs: dict[str, Any],
) -> None:
    meta = {f["name"]: f for f in officejs["meta"]["functions"]}
    assert set(meta) == set(REGISTRY)
    for name, function in REGISTRY.items():
        entry = meta[name]
        assert entry["description"] == function.help
        params = entry["parameters"]
        assert [p["name"] for p in params] == [a.name for a in function.args]
        assert [p["description"] for p in params] == [arg_help(a) for a in function.args]
        for param, arg in zip(params, function.args, strict=True):
            # an optional argument says so, and its default where it has one
            assert ("Optional" in param["description"]) == arg.optional, (name, arg.name)
            if arg.optional and arg.default is not None:
                assert "default" in param["description"].lower(), (name, arg.name)
        assert [p.get("optional", False) for p in params] == [a.optional for a in function.args]
    assert officejs["meta"]["allowErrorForDataTypeAny"] is True


def test_results_and_real_error_values(officejs: dict[str, Any]) -> None:
    r = officejs["results"]
    assert r[0] == {"result": [[0.05]]}
    assert r[1] == {"result": [[{"type": "Error", "errorType": "Div0"}]]}
    assert r[2] == {"result": [[{"type": "Error", "errorType": "Num"}]]}
    assert r[3]["raised"] == "ExcelValueError"
    assert "'100' stored as text" in r[3]["message"]
    assert r[4] == {"result": [[25.0]]}  # (2 promoters - 1 detractor) / 4 answers
    assert r[5] == {"result": [[{"type": "Error", "errorType": "Div0"}]]}
    assert r[6] == {"result": [[0.05], [0.1]]}
    assert r[7] == {"result": [[1000.0]]}
    assert r[8] == {"result": [[0.5]]}
    assert r[9] == {"result": [[20.0]]}
    assert r[10] == {"result": [[{"type": "Error", "errorType": "NotAvailable"}]]}


def test_one_bad_row_gets_its_error_alone_in_the_spill(officejs: dict[str, Any]) -> None:
    """Like Excel's =B2:B13/C2:C13: the impossible month (lost > start) is #NUM!, the
    text is #VALUE!, every other month is computed."""
    from retention_xl.core.kpis import churn_rate

    start, lost = CALLS[11][1]
    out = officejs["results"][11]["result"]
    assert len(out) == 12
    for i, (row, s_cell, l_cell) in enumerate(zip(out, start, lost, strict=True)):
        if i == 4:
            assert row == [{"type": "Error", "errorType": "Num"}]
        elif i == 6:
            assert row == [{"type": "Error", "errorType": "Value"}]
        else:
            assert row == [pytest.approx(churn_rate(s_cell[0], l_cell[0]))]


def test_new_models_through_officejs(officejs: dict[str, Any]) -> None:
    """MBG/NBD and BG/BB functions as xlwings Lite and Server call them."""
    from retention_xl.core.models import ModifiedBetaGeo

    table = officejs["results"][15]["result"]
    assert table[0] == ["parameter", "value", "se", "lower_95", "upper_95"]
    values = {row[0]: row[1] for row in table[1:]}
    assert [round(values[k], 3) for k in ("alpha", "beta", "gamma", "delta")] == [
        1.204,
        0.750,
        0.657,
        2.783,
    ]
    assert values["log_likelihood"] == pytest.approx(-33_225.6, abs=0.1)
    out = officejs["results"][16]["result"]
    core = ModifiedBetaGeo.from_params(r=0.525, alpha=6.183, a=0.891, b=1.614)
    assert out[0] == [pytest.approx(core.p_alive(0, 0, 38.86)[0], rel=1e-12)]
    assert out[1] == [pytest.approx(core.p_alive(2, 30.43, 38.86)[0], rel=1e-12)]
    assert out[2] == [pytest.approx(core.p_alive(1, 20, 38.86)[0], rel=1e-12)]


def test_interval_companions_through_officejs(officejs: dict[str, Any]) -> None:
    """BGBB_PURCHASES_PI as xlwings Lite and Server call it: one (low, high) row per
    donor, equal to the core's interval of the model fitted on the same ranges."""
    from retention_xl.core.models import BetaGeoBetaBinom, purchases_prediction_interval

    out = officejs["results"][17]["result"]
    history = [_DONORS[c].to_numpy(float) for c in ("frequency", "recency", "periods")]
    model = BetaGeoBetaBinom().fit(*history)
    low, high = purchases_prediction_interval(model, 5, *history, level=0.8)
    assert [list(row) for row in out] == [[lo, hi] for lo, hi in zip(low, high, strict=True)]
    assert max(row[1] for row in out) <= 5


# Excel's functions (openpyxl's list, Excel 2010) and those added since (Excel 2013-365).
NEWER_EXCEL_FUNCTIONS = frozenset(
    [
        "ARRAYTOTEXT",
        "BYCOL",
        "BYROW",
        "CHOOSECOLS",
        "CHOOSEROWS",
        "CONCAT",
        "DROP",
        "EXPAND",
        "FILTER",
        "HSTACK",
        "IFS",
        "IMAGE",
        "ISOMITTED",
        "LAMBDA",
        "LET",
        "MAKEARRAY",
        "MAP",
        "MAXIFS",
        "MINIFS",
        "RANDARRAY",
        "REDUCE",
        "SCAN",
        "SEQUENCE",
        "SORT",
        "SORTBY",
        "SWITCH",
        "TAKE",
        "TEXTAFTER",
        "TEXTBEFORE",
        "TEXTJOIN",
        "TEXTSPLIT",
        "TOCOL",
        "TOROW",
        "UNIQUE",
        "VALUETOTEXT",
        "VSTACK",
        "WRAPCOLS",
        "WRAPROWS",
        "XLOOKUP",
        "XMATCH",
        "XOR",
        "FORECAST.ETS",
        "STOCKHISTORY",
        "GROUPBY",
        "PIVOTBY",
        "PERCENTOF",
        "TRIMRANGE",
        "REGEXTEST",
        "REGEXEXTRACT",
        "REGEXREPLACE",
        "CHECKBOX",
    ]
)


def test_no_function_shadows_an_excel_built_in() -> None:
    from openpyxl.utils.formulas import FORMULAE

    built_in = {f.upper() for f in FORMULAE} | NEWER_EXCEL_FUNCTIONS
    assert "NPV" in built_in and "XLOOKUP" in built_in  # the lists are what they say
    assert sorted(set(REGISTRY) & built_in) == []


def test_numeric_customer_ids_come_back_as_numbers(officejs: dict[str, Any]) -> None:
    numeric = officejs["results"][12]["result"]
    text = officejs["results"][13]["result"]
    assert numeric[0][0] == "customer" and text[0][0] == "customer"
    assert sorted(row[0] for row in numeric[1:]) == [1001, 1002, 1003]  # numbers, not text
    assert all(isinstance(row[0], int | float) for row in numeric[1:])
    assert sorted(row[0] for row in text[1:]) == ["a-1", "b-2", "c-3"]


def test_runtime_1_3_gets_errors_as_their_text(officejs: dict[str, Any]) -> None:
    """Excel 2021/2024 perpetual (custom functions 1.3) has no error values from add-ins:
    xlwings passes the code as text, which is what the README tells those users."""
    out = officejs["results"][14]["result"]
    assert out[0] == [0.05]
    assert out[1] == ["#NUM!"]
