"""Exports that are wrong in ways a person does not notice: the tool refuses with a
message naming the file, row and column, or computes the right numbers.

Each fixture is written in the platform's own layout (its header names, quoting,
number and date formats); the CLI runs as a subprocess.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from shopify_headers import SHOPIFY_HEADERS
from test_io_platforms import shopify_order, to_csv

from retention_xl.datasets import load_sample

INJECTIONS = ['=HYPERLINK("http://evil.example","x")', "+39 333 1234567", "-2+3", "@SUM(A1)"]


def _strict_json(text: str) -> object:
    """json.loads that fails on NaN/Infinity (not JSON, RFC 8259)."""

    def refuse(token: str) -> object:
        raise AssertionError(f"invalid JSON token {token}")

    return json.loads(text, parse_constant=refuse)


# --------------------------------------------------------------- non-finite numbers


def test_an_amount_too_large_to_be_real_is_refused_with_its_place(tmp_path: Path, run_cli) -> None:
    rows = [
        *shopify_order(
            "#1001", "ada@example.com", "2024-01-05 10:14:00 +0100", "47.00", "0", "0", "47.00"
        ),
        *shopify_order(
            "#1002", "bo@example.com", "2024-02-05 10:14:00 +0100", "1e308", "0", "0", "1e308"
        ),
    ]
    path = tmp_path / "orders_export_1.csv"
    path.write_bytes(to_csv(SHOPIFY_HEADERS, rows))
    result = run_cli("kpis", "--orders", str(path), "--json")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    err = result.stderr
    assert "orders_export_1.csv" in err and "row 4" in err and "too large to be real" in err
    assert result.stdout == ""


def test_an_infinite_xlsx_cell_is_refused(tmp_path: Path, run_cli) -> None:
    path = tmp_path / "ordini.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["customer_id", "order_id", "order_date", "amount"])
    ws.append(["c1", "o1", "2024-01-02", 10.0])
    ws.append(["c2", "o2", "2024-01-03", 9.0e15])  # beyond any amount
    wb.save(path)
    result = run_cli("kpis", "--orders", str(path))
    assert result.returncode == 2, result.stdout
    assert "ordini.xlsx" in result.stderr and "row 3" in result.stderr
    assert "'amount'" in result.stderr and "too large" in result.stderr


def test_json_output_is_always_valid_json(tmp_path: Path, run_cli) -> None:
    """Undefined KPIs (one period: no churn, no CLV) are null; infinities never get out."""
    from retention_xl.cli import json_text

    path = tmp_path / "orders.csv"
    path.write_text(
        "customer_id,order_id,order_date,amount\nc1,o1,2024-01-02,10\nc2,o2,2024-01-03,5\n",
        encoding="utf-8",
    )
    result = run_cli("kpis", "--orders", str(path), "--json")
    assert result.returncode == 0, result.stderr
    payload = _strict_json(result.stdout)
    kpis = {k["kpi"]: k["value"] for k in payload["kpis"]}  # type: ignore[index]
    assert kpis["churn"] is None and kpis["customers"] == 2
    # whatever a payload holds, the text is RFC 8259 JSON
    assert "Infinity" in json.dumps({"x": float("inf")})  # what Python writes by default
    assert _strict_json(json_text({"x": float("inf"), "y": [float("nan"), 1.0]})) == {
        "x": None,
        "y": [None, 1.0],
    }


# --------------------------------------------------------------- CSV injection


@pytest.fixture
def injected_orders(tmp_path: Path) -> tuple[Path, list[str]]:
    """The sample shop's orders with some customer ids that start like formulas."""
    orders = load_sample().orders
    ids = list(dict.fromkeys(orders["customer_id"]))[:4]
    bad = {old: new for old, new in zip(ids, INJECTIONS, strict=True)}
    orders = orders.assign(customer_id=orders["customer_id"].map(lambda c: bad.get(c, c)))
    path = tmp_path / "orders.csv"
    orders.to_csv(path, index=False, date_format="%Y-%m-%d")
    return path, INJECTIONS


def test_predict_csv_never_writes_a_formula(
    tmp_path: Path, run_cli, injected_orders: tuple[Path, list[str]]
) -> None:
    path, injected = injected_orders
    out = tmp_path / "scores.csv"
    result = run_cli("predict", "--orders", str(path), "--out", str(out))
    assert result.returncode == 0, result.stderr
    fields = [f for row in csv.reader(io.StringIO(out.read_text("utf-8"))) for f in row]
    starts = ("=", "+", "-", "@", "\t", "\r")
    dangerous = []
    for f in fields:
        if not f.startswith(starts):
            continue
        try:
            float(f)  # a negative number is a number, not a formula
        except ValueError:
            dangerous.append(f)
    assert dangerous == []
    ids = pd.read_csv(out, dtype={"customer_id": str})["customer_id"].tolist()
    for text in injected:
        assert "'" + text in ids  # kept, readable, inert
    assert any(i.startswith("C0") for i in ids)  # ordinary ids untouched


def test_predict_xlsx_keeps_exported_text_as_text(
    tmp_path: Path, run_cli, injected_orders: tuple[Path, list[str]]
) -> None:
    path, injected = injected_orders
    out = tmp_path / "scores.xlsx"
    result = run_cli("predict", "--orders", str(path), "--out", str(out))
    assert result.returncode == 0, result.stderr
    ws = openpyxl.load_workbook(out)["Predictions"]
    cells = {c.value: c.data_type for c in ws["A"][1:]}
    for text in injected:
        assert cells[text] == "s"  # a text cell, not a formula
