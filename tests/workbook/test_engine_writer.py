"""The fast writer's output in a real engine (headless LibreOffice): values, types,
text that must stay text, cached values that must match a full recalculation, and a
user's round trip (edit, add a sheet with a chart, rename and move sheets, save)."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import xlsxwriter
from libreoffice import LibreOffice, opened
from ooxml_check import problems

from retention_xl.workbook.plan import (
    ColumnSpec,
    SheetPlan,
    Style,
    Table,
    WorkbookPlan,
    sheet_marker,
)
from retention_xl.workbook.sheetxml import rewrite_sheet_data, worksheet_parts

pytestmark = pytest.mark.libreoffice

INJECTIONS = ["=1+1", "+1+1", "-1+1", "@SUM(A1:A2)", "\t=1+1", "=cmd|' /C calc'!A0"]
STYLES = {
    "header": Style(bold=True, bg_color="#1F4E79", font_color="#FFFFFF"),
    "date": Style(num_format="yyyy-mm-dd"),
    "money": Style(num_format='#,##0.00 "€"'),
    "percent": Style(num_format="0.0%"),
    "input": Style(bg_color="#FFF2CC", locked=False),
}


def build(path: Path) -> tuple[WorkbookPlan, pd.DataFrame]:
    rng = np.random.default_rng(1)
    n = 400
    frame = pd.DataFrame(
        {
            "customer_id": pd.Series([f"C{i % 37:03d}" for i in range(n)], dtype="string"),
            "order_date": pd.Timestamp("2023-01-01")
            + pd.to_timedelta(rng.integers(0, 500, n), unit="D"),
            "amount": np.round(rng.gamma(2.0, 30.0, n), 2),
            "coupon": pd.Series([None] * n, dtype="string"),
            "note": pd.Series(
                [INJECTIONS[i % len(INJECTIONS)] if i % 7 == 0 else None for i in range(n)],
                dtype="string",
            ),
        }
    )
    orders = SheetPlan(
        role="ORDERS",
        title="Orders",
        tables=[
            Table(
                frame,
                (
                    ColumnSpec("customer_id", "Customer", None, "text"),
                    ColumnSpec("order_date", "Date", "date", "date"),
                    ColumnSpec("amount", "Amount", "money", "number"),
                    ColumnSpec("note", "Note", None, "text"),
                    ColumnSpec("coupon", "Coupon", None, "text"),
                ),
            )
        ],
    )
    kpis = SheetPlan(role="KPIS", title="KPIs")
    total = float(frame["amount"].sum())
    count = float(len(frame))
    kpis.put(0, 0, "Revenue")
    kpis.put(0, 1, total, formula="=SUM(Orders!$C$2:$C$1048576)", style="money")
    kpis.put(1, 0, "Orders")
    kpis.put(1, 1, count, formula="=COUNT(Orders!$C$2:$C$1048576)")
    kpis.put(2, 0, "CAC")
    kpis.put(2, 1, 25.0, style="input")
    kpis.put(3, 0, "Average order")
    kpis.put(3, 1, total / count, formula='=IF(B2=0,"",B1/B2)', style="money")
    kpis.put(4, 0, "Orders per CAC")
    kpis.put(4, 1, count / 25.0, formula="=B2/Input_CAC")
    kpis.put(5, 0, "First order")
    first = frame["order_date"].min()
    kpis.put(5, 1, first.to_pydatetime(), formula="=MIN(Orders!$B$2:$B$1048576)", style="date")
    kpis.put(6, 0, "Blank when no data")
    kpis.put(6, 1, None, formula='=IF(COUNTA(Orders!$E$2:$E$1048576)=0,"",1)')
    kpis.put(7, 0, "Text result")
    kpis.put(7, 1, "ok", formula='=IF(B2>0,"ok","no data")')
    kpis.put(8, 0, "Any gift")
    kpis.put(8, 1, False, formula="=B2<0")
    kpis.put(9, 0, "Injections as text")
    kpis.put(
        9,
        1,
        float(sum(1 for v in frame["note"] if isinstance(v, str))),
        formula="=COUNTA(Orders!$D$2:$D$1048576)",
    )
    plan = WorkbookPlan(
        sheets=[kpis, orders],
        styles=dict(STYLES),
        names={"Input_CAC": "='KPIs'!$B$3"},
    )
    book = xlsxwriter.Workbook(str(path))
    for sheet in plan.sheets:
        book.add_worksheet(sheet.title)
        book.define_name(sheet_marker(sheet.role), f"='{sheet.title}'!$A$1")
    book.define_name("Input_CAC", "='KPIs'!$B$3")
    book.close()
    rewrite_sheet_data(path, plan)
    return plan, frame


def test_recalculated_equals_cached_and_text_stays_text(
    libreoffice: LibreOffice, tmp_path: Path
) -> None:
    path = tmp_path / "book.xlsx"
    plan, frame = build(path)
    kpis = plan.sheet("KPIS")
    cached = openpyxl.load_workbook(path, data_only=True)["KPIs"]
    with opened(libreoffice, path) as book:
        assert book.interactions == []  # loaded without any repair prompt
        book.calculate_all()
        after = {f.cell: f for f in book.formulas() if f.sheet == "KPIs"}
        assert set(after) == {f"B{r + 1}" for (r, _c), cell in kpis.formula_cells()}
        for (row, _col), cell in kpis.formula_cells():
            ref = f"B{row + 1}"
            got = after[ref]
            assert got.error is None, (ref, got)
            want = cell.value
            stored = cached[ref].value
            if isinstance(want, dt.datetime):
                assert stored == want
            elif want is None:
                assert stored in ("", None)
            else:
                assert stored == want  # the file's cached value is the core's value
            if isinstance(want, dt.datetime):
                want = (want - dt.datetime(1899, 12, 30)).days
            if want is None:
                assert got.value in ("", None)
            elif isinstance(want, bool):
                assert got.value == float(want)
            elif isinstance(want, str):
                assert got.value == want
            else:
                assert got.value == pytest.approx(want, rel=1e-9)
        notes = book.values("Orders", f"D2:D{len(frame) + 1}")
        assert [r[0] for r in notes] == [v if isinstance(v, str) else None for v in frame["note"]]
        assert (
            book.values("Orders", "B2:B2")[0][0]
            == (frame["order_date"][0] - pd.Timestamp("1899-12-30")).days
        )


def test_user_round_trip_keeps_roles_and_names(libreoffice: LibreOffice, tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    build(path)
    saved = tmp_path / "saved.xlsx"
    with opened(libreoffice, path) as book:
        book.set_named("Input_CAC", 50)
        book.add_sheet(
            "My notes", [["Month", "Spend"], ["Jan", 10], ["Feb", 12]], chart="Spend", position=0
        )
        book.rename_sheet("Orders", "Ordini")
        book.move_sheet("KPIs", 2)
        assert book.sheets == ["My notes", "Ordini", "KPIs"]
        book.calculate_all()
        assert book.values("KPIs", "B5:B5")[0][0] == pytest.approx(400 / 50)
        book.save_as(saved)
    assert problems(path) == [] and problems(saved) == []
    with zipfile.ZipFile(saved) as zf:
        parts = worksheet_parts(zf)
    assert set(parts) == {"KPIS", "ORDERS"}
    wb = openpyxl.load_workbook(saved)
    assert wb.sheetnames == ["My notes", "Ordini", "KPIs"]
    assert wb["KPIs"]["B3"].value == 50
    assert wb.defined_names["RXL_SHEET_ORDERS"].attr_text == "Ordini!$A$1"
    with opened(libreoffice, saved) as again:
        assert again.interactions == []
        charts = again.charts()
        assert charts["My notes"]["ole_objects"] == 1


def test_escaped_text_reads_back_exactly(libreoffice: LibreOffice, tmp_path: Path) -> None:
    texts = [
        "_x000D_",
        "a_x0041_b",
        "cr\rx",
        "line\nbreak",
        " lead",
        "trail ",
        "&<>\"'",
        *INJECTIONS,
    ]
    sheet = SheetPlan(role="KPIS", title="K")
    for i, text in enumerate(texts):
        sheet.put(i, 0, text)
    plan = WorkbookPlan(sheets=[sheet], styles={})
    path = tmp_path / "text.xlsx"
    book = xlsxwriter.Workbook(str(path))
    book.add_worksheet("K")
    book.define_name(sheet_marker("KPIS"), "='K'!$A$1")
    book.close()
    rewrite_sheet_data(path, plan)
    with opened(libreoffice, path) as opened_book:
        assert [r[0] for r in opened_book.values("K", f"A1:A{len(texts)}")] == texts
        assert opened_book.formulas() == []
