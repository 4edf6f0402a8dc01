"""Aggregate reports: ``build --engine duckdb`` for orders or customers beyond a sheet.

The sample shop (plus a customer whose id looks like a formula) is written as a
Parquet lake; ``build --aggregate --customers-listed 300`` runs as a real command (the
limits are lowered so the test is quick: ``--sheet-rows`` is the hidden option that
stands for a sheet's 1,048,575 rows). LibreOffice recalculates the workbook: every
formula equals its cached value. The KPIs equal those of the full report the pandas
engine builds from the same lake, the side Parquet holds every customer with the
predictions of ``predict --engine pandas`` (1e-9), the Customers sheet states its rule
and lists exactly the customers the rule picks, the cohort blocks equal the full
report's (the pandas core's).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pytest
from aggregate_books import aggregate_plan
from libreoffice import LibreOffice, opened

from retention_xl.core.models import PREDICTION_COLUMNS
from retention_xl.datasets import load_sample
from retention_xl.workbook.data import COHORT_ROWS, MAX_OFFSET
from retention_xl.workbook.sheets.cohorts import CUSTOMER_BLOCK, REVENUE_BLOCK

ROOT = Path(__file__).resolve().parents[2]
RTOL = 1e-9
LIMIT = 300
FORMULA_ID = "=1+2"  # a customer id that must stay text


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env.setdefault("PYTHONIOENCODING", "utf-8")
    return subprocess.run(
        [sys.executable, "-m", "retention_xl", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def load(path: Path, **kwargs: Any) -> openpyxl.Workbook:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*extension is not supported")
        return openpyxl.load_workbook(path, **kwargs)


def shop_orders() -> pd.DataFrame:
    orders = load_sample().orders.copy()
    extra = pd.DataFrame(
        {
            "customer_id": [FORMULA_ID, FORMULA_ID],
            "order_id": ["Z1", "Z2"],
            "order_date": pd.to_datetime(["2024-03-01", "2024-11-30"]),
            "amount": [25_000.0, 30_000.0],
            "refunded": [0.0, 0.0],
            "status": ["paid", "paid"],
            "currency": ["EUR", "EUR"],
        }
    )
    return pd.concat([orders, extra], ignore_index=True)


def write_lake(folder: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    frame = shop_orders()
    half = len(frame) // 2
    for i, part in enumerate((frame.iloc[:half], frame.iloc[half:])):
        pq.write_table(pa.Table.from_pandas(part, preserve_index=False), folder / f"p{i}.parquet")
    return folder


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("aggregate")
    lake = str(write_lake(folder / "lake"))
    agg = cli(
        "build", "--orders", lake, "--out", "report.xlsx", "--aggregate",
        "--customers-listed", str(LIMIT), "--cac", "45", "--json", cwd=folder,
    )  # fmt: skip
    assert agg.returncode == 0, agg.stderr
    full = cli(
        "build", "--orders", lake, "--engine", "pandas", "--out", "full.xlsx", "--cac", "45",
        "--json", cwd=folder,
    )  # fmt: skip
    assert full.returncode == 0, full.stderr
    scores = cli(
        "predict", "--orders", lake, "--engine", "pandas", "--out", "scores.parquet", cwd=folder
    )
    assert scores.returncode == 0, scores.stderr
    return {
        "folder": folder,
        "lake": lake,
        "agg": json.loads(agg.stdout),
        "full": json.loads(full.stdout),
        "stderr": agg.stderr,
    }


def test_the_aggregate_report_has_no_orders_tab_and_a_side_file(built):
    folder = built["folder"]
    payload = built["agg"]
    assert payload["aggregate"] is True
    assert Path(payload["customers_file"]) == (folder / "report_customers.parquet").resolve()
    assert payload["customers_listed"] == LIMIT
    names = load(folder / "report.xlsx").sheetnames
    assert "Orders" not in names and "Customers" in names and "Cohorts" in names
    assert "Orders" in load(folder / "full.xlsx", read_only=True).sheetnames
    assert "--aggregate: building an aggregate report" in built["stderr"]
    leftovers = [p.name for p in folder.iterdir() if p.name.startswith(".~rxl")]
    assert leftovers == []


def _same(cached: Any, engine: Any) -> bool:
    """LibreOffice's recalculated value equals the file's cached one."""
    if engine.error is not None:
        return False
    got = engine.value
    if cached is None or cached == "":
        return got in ("", None)
    if isinstance(cached, dt.datetime):
        cached = (cached - dt.datetime(1899, 12, 30)).total_seconds() / 86_400
    if isinstance(cached, bool):
        return got == float(cached)
    if isinstance(cached, (int, float)):
        return isinstance(got, float) and math.isclose(got, cached, rel_tol=1e-9, abs_tol=1e-12)
    return bool(got == cached)


@pytest.mark.libreoffice
def test_every_formula_recalculates_to_its_cached_value(built, libreoffice: LibreOffice):
    path = built["folder"] / "report.xlsx"
    cached = load(path, data_only=True)
    with opened(libreoffice, path) as book:
        book.calculate_all()
        cells = book.formulas()
    assert len(cells) > 200
    kpis = [f for f in cells if f.sheet == "KPIs" and isinstance(f.value, float)]
    assert len(kpis) >= 10
    wrong = [
        f"{f.sheet}!{f.cell} {f.formula}: cached {cached[f.sheet][f.cell].value!r}, "
        f"LibreOffice {f.value!r} {f.error or ''}"
        for f in cells
        if not _same(cached[f.sheet][f.cell].value, f)
    ]
    assert not wrong, "\n".join(wrong[:30])
    used = " ".join(f.formula for f in cells)
    assert not re.search(r"\bOrders_", used)  # no raw rows
    kpi_text = " ".join(f.formula for f in cells if f.sheet == "KPIs")
    assert "Customers_" not in kpi_text  # the listed customers are not all customers
    assert "SUM(Cohorts_customers)" in kpi_text and "SUM(Monthly_revenue)" in kpi_text


def test_the_kpis_equal_the_full_report(built):
    agg, full = built["agg"]["kpis"], built["full"]["kpis"]
    assert [r["kpi"] for r in agg] == [r["kpi"] for r in full]
    for a, b in zip(agg, full, strict=True):
        if b["value"] is None:
            assert a["value"] is None, a["kpi"]
        else:
            assert a["value"] == pytest.approx(b["value"], rel=RTOL), a["kpi"]
    assert any(r["kpi"] == "at_risk_share" and r["value"] is not None for r in agg)


def test_the_side_file_holds_every_customer_with_the_pandas_predictions(built):
    folder = built["folder"]
    side = pd.read_parquet(folder / "report_customers.parquet").set_index("customer_id")
    want = pd.read_parquet(folder / "scores.parquet").set_index("customer_id")
    assert len(side) == len(want) == built["agg"]["imports"]["orders"]["customers"]
    assert side.index.tolist() == sorted(want.index.tolist())
    side = side.loc[want.index]
    numbers = [c for c in PREDICTION_COLUMNS if c != "risk_band"]
    pd.testing.assert_frame_equal(side[numbers], want[numbers], rtol=RTOL, check_exact=False)
    assert side["risk_band"].astype(str).tolist() == want["risk_band"].astype(str).tolist()
    assert {"orders", "revenue", "first_order", "last_order"} <= set(side.columns)


def expected_listing(side: pd.DataFrame, limit: int) -> dict[str, str]:
    """The rule of the Customers sheet, written out on the full list."""
    frame = side.reset_index()
    quota = limit // 3
    listed: dict[str, str] = {}

    def best(rows: pd.DataFrame, column: str, count: int, group: str) -> None:
        rows = rows[~rows["customer_id"].isin(listed)]
        rows = rows.assign(neg=-rows[column]).sort_values(["neg", "customer_id"], kind="stable")
        for cid in rows["customer_id"].head(count):
            listed[cid] = group

    best(frame, "predicted_clv", quota, "Top value")
    best(frame[frame["p_alive"] < 0.5], "revenue", quota, "At risk")
    best(frame, "revenue", limit - len(listed), "VIP")
    return listed


def test_the_customers_sheet_states_its_rule_and_lists_the_right_customers(built):
    folder = built["folder"]
    ws = load(folder / "report.xlsx")["Customers"]
    rule = ws["A2"].value
    assert f"lists {LIMIT:,} of the" in rule and "(at most 300)" in rule
    assert "report_customers.parquet" in rule and "probability of still being" in rule
    header = [c.value for c in ws[3]]
    rows = list(ws.iter_rows(min_row=4, values_only=True))
    got = {r[0]: r[header.index("Listed as")] for r in rows if r[0] is not None}
    side = pd.read_parquet(folder / "report_customers.parquet").set_index("customer_id")
    assert got == expected_listing(side, LIMIT)
    assert got[FORMULA_ID] in ("Top value", "VIP")
    cell = next(c for c in ws["A"] if c.value == FORMULA_ID)
    assert cell.data_type == "s"  # text from the data is never a formula


def test_the_cohort_blocks_equal_the_full_report(built):
    folder = built["folder"]
    agg, full = load(folder / "report.xlsx")["Cohorts"], load(folder / "full.xlsx")["Cohorts"]
    for header in (CUSTOMER_BLOCK, REVENUE_BLOCK):
        first, last = header + 2, header + 1 + COHORT_ROWS
        a = list(
            agg.iter_rows(min_row=first, max_row=last, max_col=MAX_OFFSET + 3, values_only=True)
        )
        b = list(
            full.iter_rows(min_row=first, max_row=last, max_col=MAX_OFFSET + 3, values_only=True)
        )
        assert sum(v is not None for row in b for v in row) > 100
        for ra, rb in zip(a, b, strict=True):
            for va, vb in zip(ra, rb, strict=True):
                if isinstance(vb, float):
                    assert va == pytest.approx(vb, rel=RTOL)
                else:
                    assert va == vb


def test_an_aggregate_report_is_chosen_when_the_orders_exceed_a_sheet(built, tmp_path):
    res = cli(
        "build", "--orders", built["lake"], "--out", "auto.xlsx", "--sheet-rows", "5000",
        cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "orders, more than a sheet holds (5,000 data rows)" in res.stderr
    assert "building an aggregate report" in res.stderr
    assert "every customer, scored, in auto_customers.parquet" in res.stdout
    assert "Orders" not in load(tmp_path / "auto.xlsx", read_only=True).sheetnames
    customers = len(pd.read_parquet(tmp_path / "auto_customers.parquet"))
    assert customers == built["agg"]["imports"]["orders"]["customers"]  # all fit: all listed


def test_the_pandas_engine_refuses_aggregate_with_the_way_out(built, tmp_path):
    res = cli(
        "build", "--orders", built["lake"], "--engine", "pandas", "--aggregate", "--out", "r.xlsx",
        cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 2
    assert (
        "--aggregate needs the orders in DuckDB" in res.stderr and "--engine duckdb" in res.stderr
    )
    assert list(tmp_path.iterdir()) == []


def test_a_failed_aggregate_build_leaves_both_files_byte_identical(built, tmp_path):
    book, side = tmp_path / "report.xlsx", tmp_path / "report_customers.parquet"
    book.write_bytes(b"old workbook")
    side.write_bytes(b"old customers")
    res = cli(
        "build", "--orders", built["lake"], "--aggregate", "--cac", "-5", "--out", str(book),
        cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 2, res.stderr
    assert "cac must be positive" in res.stderr
    assert book.read_bytes() == b"old workbook" and side.read_bytes() == b"old customers"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.xlsx", "report_customers.parquet"]


def test_the_italian_aggregate_report_states_its_rule_in_italian(tmp_path):
    plan, data, side = aggregate_plan(load_sample().orders, tmp_path, lang="it", limit=90)
    customers = plan.sheet("CUSTOMERS")
    rule = customers.cells[(1, 0)].value
    assert isinstance(rule, str)
    assert rule.startswith(f"Questo rapporto elenca 90 dei {data.all_customers:,} clienti")
    assert "report_customers.parquet" in rule and "(al massimo 90)" in rule
    listed = set(customers.tables[0].frame["listed_as"])
    assert listed <= {"Valore più alto", "A rischio", "VIP"} and len(listed) == 3
    assert "ORDERS" not in plan.roles()
    keys = [c.key for c in customers.tables[0].columns]
    assert "predicted_clv" in keys and not [k for k in keys if k.endswith(("_low", "_high"))]
    notes = [c.value for c in plan.sheet("PREDICTIONS").cells.values()]
    assert any(isinstance(v, str) and "rapporto aggregato" in v for v in notes)
    assert len(pd.read_parquet(side)) == data.all_customers
    segments = plan.sheet("SEGMENTS")
    counted = sum(
        float(c.value) for (r, col), c in segments.cells.items() if col == 1 and 4 <= r <= 9
    )
    assert counted == pytest.approx(data.all_customers)  # the summary counts every customer
    assert np.isfinite(data.kpi("at_risk_share"))


def test_refresh_refuses_an_aggregate_report_with_the_way_out(built, tmp_path):
    import shutil

    book = tmp_path / "report.xlsx"
    shutil.copy(built["folder"] / "report.xlsx", book)
    before = book.read_bytes()
    export = tmp_path / "orders.csv"
    load_sample().orders.head(20).to_csv(export, index=False)
    res = cli("refresh", str(book), "--orders", str(export), cwd=tmp_path)
    assert res.returncode == 2
    assert "is an aggregate report" in res.stderr and "retention-xl build" in res.stderr
    assert book.read_bytes() == before


@pytest.mark.parametrize(
    ("orders", "customers", "reason"),
    [
        (1_048_575, 1_048_562, None),  # exactly a sheet: a full report
        (1_048_576, 10, "orders has 1,048,576 orders, more than a sheet holds"),
        (900_000, 1_048_563, "orders has 1,048,563 customers with a purchase"),
    ],
)
def test_aggregate_reason_from_the_import_counts(orders, customers, reason):
    from retention_xl.workbook.aggregate import aggregate_reason
    from retention_xl.workbook.build import customer_capacity

    got = aggregate_reason(
        orders, customers, row_limit=1_048_575, customer_limit=customer_capacity()
    )
    assert customer_capacity() == 1_048_562
    assert got is None if reason is None else reason in got


def test_the_book_says_to_build_again_not_to_refresh(built):
    """Every note in the aggregate book that says how to update it says build, since
    refresh refuses it; the full report still says refresh."""
    book = load(built["folder"] / "report.xlsx")
    texts = [
        c.value for ws in book for row in ws.iter_rows() for c in row if isinstance(c.value, str)
    ]
    assert not [t for t in texts if "retention-xl refresh" in t]
    assert any("build it again" in t and "--engine duckdb" in t for t in texts)
    full = load(built["folder"] / "full.xlsx", read_only=True)
    assert any(
        isinstance(c.value, str) and "retention-xl refresh" in c.value
        for ws in full
        for row in ws.iter_rows(max_row=3)
        for c in row
    )
