"""The patch step of refresh with the real writer, on a hand-planned report.

A small :class:`WorkbookPlan` (an Orders table, KPI cells with a formula, an About note)
is patched into a role-marked workbook with a user sheet: only the owned sheets, the
styles and workbook.xml change, the calculation chain goes, every other part is
byte-identical, and a spreadsheet library and LibreOffice read the result.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from refresh_books import (
    add_calc_chain,
    marked_book,
    parts,
    raw_members,
    rename_sheet,
    reorder_sheets,
    rewrite,
)
from refresh_exports import INJECTIONS

from retention_xl.workbook.package import read_package
from retention_xl.workbook.plan import ColumnSpec, SheetPlan, Style, Table, WorkbookPlan
from retention_xl.workbook.refresh import RefreshSummary, patch_package
from retention_xl.workbook.zipwrite import write_package


def small_plan(n: int = 3, *, with_deleted_role: bool = False) -> WorkbookPlan:
    frame = pd.DataFrame(
        {
            "customer_id": [INJECTIONS[i % len(INJECTIONS)] for i in range(n)],
            "order_id": [f"o{i}" for i in range(n)],
            "order_date": pd.date_range("2024-01-01", periods=n, freq="D"),
            "amount": [10.0 + i for i in range(n)],
        }
    )
    orders = SheetPlan(role="ORDERS", title="Orders")
    orders.tables.append(
        Table(
            frame=frame,
            columns=(
                ColumnSpec("customer_id", "Customer", kind="text"),
                ColumnSpec("order_id", "Order", kind="text"),
                ColumnSpec("order_date", "Date", style="date", kind="date"),
                ColumnSpec("amount", "Amount", style="money"),
            ),
        )
    )
    kpis = SheetPlan(role="KPIS", title="KPIs")
    kpis.put(3, 1, "CAC", style="label")
    kpis.put(3, 2, 60.0, style="money")
    kpis.put(5, 2, float(frame["amount"].sum()), formula="=SUM(Orders!D2:D1048576)", style="money")
    about = SheetPlan(role="ABOUT", title="About")
    about.put(0, 0, "Refreshed from orders_export.csv")
    sheets = [orders, kpis, about]
    if with_deleted_role:
        sheets.append(SheetPlan(role="COHORTS", title="Cohorts"))
    return WorkbookPlan(
        sheets=sheets,
        styles={
            "label": Style(bold=True),
            "money": Style(num_format='#,##0.00 "€"'),
            "date": Style(num_format="yyyy-mm-dd"),
            "header": Style(bold=True, bg_color="#DDEBF7", border=True),
        },
    )


def _patched(book: Path, out: Path, plan: WorkbookPlan) -> RefreshSummary:
    pkg = read_package(book)
    info = pkg.workbook()
    summary = RefreshSummary(book=str(book), backup=None, lang="en", currency="EUR", append=False)
    changes = patch_package(pkg, info, plan, info.role_sheets(), summary)
    out.write_bytes(write_package(pkg, changes))
    return summary


@pytest.fixture
def book(tmp_path: Path) -> Path:
    return marked_book(tmp_path / "Report.xlsx")


def test_only_owned_parts_change(book: Path, tmp_path: Path) -> None:
    add_calc_chain(book)
    out = tmp_path / "out.xlsx"
    summary = _patched(book, out, small_plan())
    before, after = parts(book), parts(out)
    roles = read_package(book).workbook().role_parts()
    owned = {roles["ORDERS"], roles["KPIS"], roles["ABOUT"]}
    changed = {n for n in before if before[n] != after.get(n)}
    # XlsxWriter already asks for a full calculation on load; workbook.xml changes for
    # the names only: the manifests record what the refresh wrote
    assert b'fullCalcOnLoad="1"' in before["xl/workbook.xml"]
    after_names = read_package(out).workbook().names
    before_names = read_package(book).workbook().names
    assert after_names["MyOwnName"] == before_names["MyOwnName"]  # the user's name
    assert after_names["RXL_MANIFEST_ORDERS_1"] != before_names["RXL_MANIFEST_ORDERS_1"]
    expected = owned | {
        "xl/workbook.xml",
        "xl/styles.xml",
        "xl/calcChain.xml",
        "xl/_rels/workbook.xml.rels",
        "[Content_Types].xml",
    }
    assert changed == expected
    assert "xl/calcChain.xml" not in after
    assert b'fullCalcOnLoad="1"' in after["xl/workbook.xml"]
    # the user sheet, its drawing, chart, image, comments and VML are byte-identical
    user_parts = [n for n in before if n not in expected]
    assert any("chart" in n for n in user_parts) and any("media" in n for n in user_parts)
    assert any("comments" in n for n in user_parts) and any(n.endswith(".vml") for n in user_parts)
    assert all(after[n] == before[n] for n in user_parts)
    assert {n: raw_members(out)[n] for n in user_parts} == {
        n: raw_members(book)[n] for n in user_parts
    }
    assert summary.calc_chain_removed
    assert [s["role"] for s in summary.sheets] == ["ORDERS", "KPIS", "ABOUT"]


def test_values_written_and_text_stays_text(book: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.xlsx"
    _patched(book, out, small_plan(12))
    wb = openpyxl.load_workbook(out)
    orders = wb["Orders"]
    assert [c.value for c in orders[1]] == ["Customer", "Order", "Date", "Amount"]
    customers = [orders.cell(row=r, column=1).value for r in range(2, 14)]
    assert customers == [INJECTIONS[i % len(INJECTIONS)] for i in range(12)]
    assert all(orders.cell(row=r, column=1).data_type == "s" for r in range(2, 14))
    assert orders.cell(row=13, column=4).value == 21.0
    assert orders.cell(row=2, column=3).number_format == "yyyy-mm-dd"
    kpis = wb["KPIs"]
    assert kpis["C4"].value == 60.0
    assert kpis["C6"].value == "=SUM(Orders!D2:D1048576)"
    cached = openpyxl.load_workbook(out, data_only=True)["KPIs"]["C6"].value
    assert cached == pytest.approx(sum(10.0 + i for i in range(12)))
    assert wb["My analysis"]["A4"].value == 4  # the user's sheet as it was
    assert wb.defined_names["MyOwnName"].attr_text == "'My analysis'!$A$1:$A$4"


def test_full_calc_on_load_is_set(book: Path, tmp_path: Path) -> None:
    wb = parts(book)["xl/workbook.xml"].replace(b' fullCalcOnLoad="1"', b"")
    rewrite(book, {"xl/workbook.xml": wb})
    out = tmp_path / "out.xlsx"
    _patched(book, out, small_plan())
    assert b'<calcPr calcId="124519" fullCalcOnLoad="1"/>' in parts(out)["xl/workbook.xml"]


def test_second_patch_changes_only_the_data(book: Path, tmp_path: Path) -> None:
    once, twice = tmp_path / "once.xlsx", tmp_path / "twice.xlsx"
    _patched(book, once, small_plan(3))
    _patched(once, twice, small_plan(5))
    a, b = parts(once), parts(twice)
    changed = {n for n in a if a[n] != b[n]}
    roles = read_package(once).workbook().role_parts()
    # styles already there: unchanged; the manifests (names) record the new sizes
    assert changed == {roles["ORDERS"], roles["KPIS"], "xl/workbook.xml"}


def test_patch_after_rename_and_reorder(book: Path, tmp_path: Path) -> None:
    rename_sheet(book, "Orders", "Ordini")
    reorder_sheets(book)
    out = tmp_path / "out.xlsx"
    summary = _patched(book, out, small_plan(4))
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[-1] == "Ordini"
    assert wb["Ordini"]["B5"].value == "o3"
    assert {s["sheet"] for s in summary.sheets} == {"Ordini", "KPIs", "About"}


def test_planned_sheet_the_book_lacks_is_noted(book: Path, tmp_path: Path) -> None:
    summary = _patched(book, tmp_path / "out.xlsx", small_plan(with_deleted_role=True))
    assert any("'Cohorts'" in n and "not refreshed" in n for n in summary.notes)


@pytest.mark.libreoffice
def test_libreoffice_opens_the_patched_book(book: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.xlsx"
    _patched(book, out, small_plan(6))
    soffice = shutil.which("soffice")
    if soffice is None:
        if os.environ.get("CI") == "true":
            pytest.fail("LibreOffice (soffice) is required under CI")
        pytest.skip("LibreOffice is not installed")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                soffice,
                f"-env:UserInstallation=file://{profile}",
                "--headless",
                "--convert-to",
                "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
                "--outdir",
                str(tmp_path / "csv"),
                str(out),
            ],
            check=True,
            capture_output=True,
            timeout=180,
        )
    kpis = (tmp_path / "csv" / "out-KPIs.csv").read_text(encoding="utf-8")
    # LibreOffice recalculated the formula on load (fullCalcOnLoad): 10 + ... + 15
    assert "75" in kpis
    orders = (tmp_path / "csv" / "out-Orders.csv").read_text(encoding="utf-8")
    assert '"=1+1"' in orders or "=1+1" in orders
