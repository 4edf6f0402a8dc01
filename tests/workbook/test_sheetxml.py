"""The fast writer: sheetData rendering, splicing into parts, and a real package round trip.

Packages are written the way the builder writes them (an XlsxWriter skeleton whose
sheets carry ``RXL_SHEET_<ROLE>`` names, then :func:`rewrite_sheet_data`) and read back
with two independent readers, openpyxl and python-calamine.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ooxml_check import problems
from python_calamine import CalamineWorkbook

from retention_xl.errors import WorkbookError
from retention_xl.io.safety import parse_xml
from retention_xl.workbook import arrowrows, sheetxml
from retention_xl.workbook.plan import (
    ColumnSpec,
    SheetPlan,
    Style,
    Table,
    WorkbookPlan,
    sheet_marker,
)
from retention_xl.workbook.sheetxml import (
    col_letter,
    excel_serial,
    iter_sheet_rows,
    render_sheet_data,
    replace_sheet_data,
    rewrite_sheet_data,
    row_attributes,
    sheet_dimension,
    split_sheet_data,
    worksheet_parts,
    write_sheet_part,
)

DATA = Path(__file__).resolve().parent.parent / "data" / "workbook"
NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"

STYLES = {
    "header": Style(bold=True, bg_color="#1F4E79", font_color="#FFFFFF"),
    "date": Style(num_format="yyyy-mm-dd"),
    "money": Style(num_format='#,##0.00 "€"'),
    "percent": Style(num_format="0.0%"),
    "input": Style(bg_color="#FFF2CC", locked=False),
}

INJECTIONS = [
    "=1+1",
    "+1+1",
    "-1+1",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
    '=HYPERLINK("http://evil.example","click")',
    "=cmd|' /C calc'!A0",
    "=2+5",
]


@pytest.fixture(params=["arrow", "numpy"], autouse=True)
def table_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs on both table renderers: Arrow's kernels and the numpy path a
    core install (no pyarrow) uses."""
    if request.param == "numpy":
        monkeypatch.setattr(sheetxml, "_arrow_rows", lambda: None)
    else:
        assert sheetxml._arrow_rows() is not None
    return str(request.param)


def skeleton(
    path: Path, plan: WorkbookPlan, *, row_heights: dict[str, dict[int, float]] | None = None
) -> Path:
    """An XlsxWriter package with one empty sheet per planned sheet, marked by role."""
    book = xlsxwriter.Workbook(str(path))
    for sheet in plan.sheets:
        ws = book.add_worksheet(sheet.title)
        quoted = sheet.title.replace("'", "''")
        book.define_name(sheet_marker(sheet.role), f"='{quoted}'!$A$1")
        for row, height in (row_heights or {}).get(sheet.role, {}).items():
            ws.set_row(row, height)
        ws.freeze_panes(1, 0)
    book.close()
    return path


def write(tmp_path: Path, *sheets: SheetPlan, **kwargs: object) -> Path:
    plan = WorkbookPlan(sheets=list(sheets), styles=dict(STYLES))
    path = skeleton(tmp_path / "book.xlsx", plan, **kwargs)  # type: ignore[arg-type]
    rewrite_sheet_data(path, plan)
    assert problems(path) == []
    return path


def orders_frame(n: int = 50, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "customer_id": pd.Series([f"C{i % 17:03d}" for i in range(n)], dtype="string"),
            "order_id": pd.Series([str(100000 + i) for i in range(n)], dtype="string"),
            "order_date": pd.Timestamp("2023-01-01")
            + pd.to_timedelta(rng.integers(0, 700, n), unit="D"),
            "amount": np.round(rng.gamma(2.0, 30.0, n), 2),
            "units": rng.integers(1, 5, n),
            "gift": rng.random(n) < 0.3,
        }
    )
    frame.loc[3, "amount"] = np.nan
    frame.loc[4, "customer_id"] = pd.NA
    frame.loc[5, "order_date"] = pd.NaT
    frame.loc[6, "customer_id"] = INJECTIONS[0]
    frame.loc[7, "customer_id"] = "Ben & Jerry's <b>"
    frame.loc[8, "amount"] = 1234567.891
    return frame


ORDER_COLUMNS = (
    ColumnSpec("customer_id", "Customer", None, "text"),
    ColumnSpec("order_id", "Order", None, "text"),
    ColumnSpec("order_date", "Date", "date", "date"),
    ColumnSpec("amount", "Amount", "money", "number"),
    ColumnSpec("units", "Units", None, "number"),
    ColumnSpec("gift", "Gift", None, "bool"),
)


def calamine_rows(path: Path, title: str) -> list[list[object]]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(title).to_python()


# ---------------------------------------------------------------- tables


def test_table_round_trip_through_openpyxl_and_calamine(tmp_path: Path) -> None:
    frame = orders_frame()
    sheet = SheetPlan(role="ORDERS", title="Orders", tables=[Table(frame, ORDER_COLUMNS)])
    path = write(tmp_path, sheet)

    ws = openpyxl.load_workbook(path)["Orders"]
    assert [c.value for c in ws[1]] == [c.header for c in ORDER_COLUMNS]
    assert ws.max_row == len(frame) + 1
    for i, record in enumerate(frame.itertuples(index=False), start=2):
        cid = ws.cell(i, 1).value
        assert cid == (None if pd.isna(record.customer_id) else record.customer_id)
        assert ws.cell(i, 1).data_type in ("s", "n") and (
            cid is None or ws.cell(i, 1).data_type == "s"
        )
        assert ws.cell(i, 2).value == record.order_id and isinstance(ws.cell(i, 2).value, str)
        if pd.isna(record.order_date):
            assert ws.cell(i, 3).value is None
        else:
            assert ws.cell(i, 3).value == record.order_date.to_pydatetime()
            assert ws.cell(i, 3).number_format == "yyyy-mm-dd"
        if math.isnan(record.amount):
            assert ws.cell(i, 4).value is None
        else:
            assert ws.cell(i, 4).value == record.amount
            assert ws.cell(i, 4).number_format == '#,##0.00 "€"'
        assert ws.cell(i, 5).value == record.units
        assert ws.cell(i, 6).value is bool(record.gift)
    assert ws["A1"].font.b and ws["A1"].fill.fgColor.rgb == "FF1F4E79"

    rows = calamine_rows(path, "Orders")
    assert rows[0] == [c.header for c in ORDER_COLUMNS]
    assert rows[1 + 6][0] == INJECTIONS[0]
    assert rows[1 + 7][0] == "Ben & Jerry's <b>"
    assert rows[1 + 8][3] == 1234567.891
    assert rows[1 + 0][2] == frame.loc[0, "order_date"].date()
    assert rows[1 + 3][3] == ""  # a NaN amount is no cell
    assert rows[1 + 0][5] is bool(frame.loc[0, "gift"])


def test_injection_payloads_stay_text(tmp_path: Path) -> None:
    frame = pd.DataFrame({"note": pd.Series(INJECTIONS, dtype="string")})
    sheet = SheetPlan(
        role="ORDERS",
        title="Orders",
        tables=[Table(frame, (ColumnSpec("note", "Note", None, "text"),), first_col=1)],
    )
    for i, text in enumerate(INJECTIONS):
        sheet.put(1 + i, 0, text)  # sparse cells too, beside the table
    path = write(tmp_path, sheet)
    ws = openpyxl.load_workbook(path)["Orders"]
    for i, text in enumerate(INJECTIONS, start=2):
        for col in (1, 2):
            cell = ws.cell(i, col)
            assert cell.data_type == "s", (text, cell.data_type)
            assert cell.value == text.replace("\r", "\r")
    xml = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in xml
    rows = calamine_rows(path, "Orders")
    assert [r[1] for r in rows[1:]] == INJECTIONS
    assert [r[0] for r in rows[1:]] == INJECTIONS


def test_control_characters_escaping_and_white_space(tmp_path: Path) -> None:
    texts = [
        "a\x01b\x0bc",
        "x\ufffey",
        "\x02 lead",
        "trail ",
        "tab\tin",
        "cr\rlf\n",
        "_x000D_",
        "&<>",
    ]
    cleaned = ["abc", "xy", " lead", "trail ", "tab\tin", "cr\rlf\n", "_x000D_", "&<>"]
    frame = pd.DataFrame({"t": pd.Series(texts, dtype="string")})
    sheet = SheetPlan(
        role="ORDERS", title="Orders", tables=[Table(frame, (ColumnSpec("t", "T", None, "text"),))]
    )
    for i, text in enumerate(texts):
        sheet.put(1 + i, 2, text)
    data = render_sheet_data(sheet, {"header": 1})
    parse_xml(data)  # well-formed, no illegal characters
    path = write(tmp_path, sheet)
    rows = calamine_rows(path, "Orders")
    assert [r[0] for r in rows[1:]] == cleaned
    assert [r[2] for r in rows[1:]] == cleaned
    ws = openpyxl.load_workbook(path)["Orders"]
    assert ws["A4"].value == " lead" and ws["C5"].value == "trail "


def test_blocks_give_the_same_bytes_as_one_block() -> None:
    frame = orders_frame(300)
    sheet = SheetPlan(role="ORDERS", title="Orders", tables=[Table(frame, ORDER_COLUMNS)])
    xf = {"header": 1, "date": 2, "money": 3}
    whole = "".join(iter_sheet_rows(sheet, xf, block_rows=1_000_000))
    assert "".join(iter_sheet_rows(sheet, xf, block_rows=7)) == whole
    sheet.put(10, 8, "beside")  # a sparse cell inside the table's rows (mixed rows)
    mixed = "".join(iter_sheet_rows(sheet, xf, block_rows=5))
    assert '<c r="I11" t="inlineStr"><is><t>beside</t></is></c></row>' in mixed
    parse_xml(b"<sheetData>" + mixed.encode() + b"</sheetData>")


def test_side_by_side_tables_and_sparse_cells_in_row_order(tmp_path: Path) -> None:
    left = pd.DataFrame({"a": np.arange(5.0)})
    right = pd.DataFrame({"b": pd.Series(list("vwxyz"), dtype="string")})
    sheet = SheetPlan(
        role="COHORTS",
        title="Cohorts",
        tables=[
            Table(left, (ColumnSpec("a", "A"),), first_row=2),
            Table(right, (ColumnSpec("b", "B", kind="text"),), first_row=3, first_col=3),
        ],
    )
    sheet.put(0, 0, "Cohorts", style="header")
    sheet.put(4, 2, 7.5)
    sheet.put(20, 1, None, style="input")  # a styled blank input cell
    xml = render_sheet_data(sheet, {"header": 1, "input": 5})
    root = parse_xml(xml)
    rows = [int(r.get("r")) for r in root.iter(NS + "row")]
    assert rows == sorted(rows) and len(rows) == len(set(rows))
    for row in root.iter(NS + "row"):
        refs = [c.get("r") for c in row]
        cols = [
            openpyxl.utils.column_index_from_string("".join(ch for ch in r if ch.isalpha()))
            for r in refs
        ]
        assert cols == sorted(cols)
    path = write(tmp_path, sheet)
    ws = openpyxl.load_workbook(path)["Cohorts"]
    assert [ws.cell(r, 1).value for r in range(3, 9)] == ["A", 0, 1, 2, 3, 4]
    assert [ws.cell(r, 4).value for r in range(4, 10)] == ["B", "v", "w", "x", "y", "z"]
    assert ws["C5"].value == 7.5
    assert ws["B21"].value is None and ws["B21"].protection.locked is False
    assert sheet_dimension(sheet) == "A1:D21"
    assert openpyxl.load_workbook(path)["Cohorts"].dimensions == "A1:D21"


def test_overlaps_and_bad_values_are_refused() -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0]})
    sheet = SheetPlan(
        role="MONTHLY", title="Monthly", tables=[Table(frame, (ColumnSpec("a", "A"),))]
    )
    sheet.put(1, 0, 5.0)
    with pytest.raises(WorkbookError, match="inside a table"):
        render_sheet_data(sheet, {"header": 1})
    sheet.cells.clear()
    sheet.put(0, 0, "clash")
    with pytest.raises(WorkbookError, match="table header"):
        render_sheet_data(sheet, {"header": 1})
    sheet.cells.clear()
    with pytest.raises(WorkbookError, match="'header'"):
        render_sheet_data(sheet, {})
    sheet.tables.append(Table(frame, (ColumnSpec("a", "A"),), first_row=1))
    with pytest.raises(WorkbookError, match="overlap"):
        render_sheet_data(sheet, {"header": 1})
    text = SheetPlan(
        role="MONTHLY",
        title="Monthly",
        tables=[Table(pd.DataFrame({"a": ["x"]}), (ColumnSpec("a", "A"),))],
    )
    with pytest.raises(WorkbookError, match="'a' cannot be written as number"):
        render_sheet_data(text, {"header": 1})
    odd = SheetPlan(role="KPIS", title="KPIs")
    odd.put(0, 0, object())  # type: ignore[arg-type]
    with pytest.raises(WorkbookError, match="A1"):
        render_sheet_data(odd, {})
    big = SheetPlan(
        role="ORDERS",
        title="Orders",
        tables=[Table(frame, (ColumnSpec("a", "A"),), first_row=1_048_575)],
    )
    with pytest.raises(WorkbookError, match="beyond the last row"):
        render_sheet_data(big, {"header": 1})


# ---------------------------------------------------------------- sparse cells and formulas


def test_cells_formulas_cached_values_and_types(tmp_path: Path) -> None:
    sheet = SheetPlan(role="KPIS", title="KPIs")
    sheet.put(0, 0, 0.05, formula="=B1/B2", style="percent")
    sheet.put(0, 1, 1.0)
    sheet.put(1, 1, 20)
    sheet.put(1, 0, "High", formula='=IF(B1>0,"High","Low")')
    sheet.put(2, 0, None, formula='=IF(B9="","",B9)')  # shows a blank
    sheet.put(3, 0, True, formula="=B1>0")
    sheet.put(4, 0, "#DIV/0!", formula="=1/0")
    sheet.put(5, 0, dt.date(2024, 2, 29), formula="=DATE(2024,2,29)", style="date")
    sheet.put(6, 0, np.float64(2.5), formula="=B1*2.5")
    sheet.put(7, 0, np.int64(3))
    sheet.put(8, 0, False)
    sheet.put(9, 0, dt.datetime(2024, 1, 1, 18, 0), style="date")
    sheet.put(10, 0, dt.date(1899, 12, 31))
    sheet.put(11, 0, float("inf"))
    sheet.put(12, 0, float("nan"))
    sheet.put(13, 0, 'a "quoted" & <tagged>', formula='="a ""quoted"" & <tagged>"')
    path = write(tmp_path, sheet)

    ws = openpyxl.load_workbook(path)["KPIs"]
    assert ws["A1"].value == "=B1/B2" and ws["A1"].number_format == "0.0%"
    assert ws["A2"].value == '=IF(B1>0,"High","Low")'
    assert ws["A14"].value == '="a ""quoted"" & <tagged>"'
    cached = openpyxl.load_workbook(path, data_only=True)["KPIs"]
    assert cached["A1"].value == 0.05
    assert cached["A2"].value == "High"
    assert cached["A3"].value in (None, "")
    assert cached["A4"].value is True
    assert cached["A5"].value == "#DIV/0!" and cached["A5"].data_type == "e"
    assert cached["A6"].value == dt.datetime(2024, 2, 29)
    assert cached["A7"].value == 2.5
    assert cached["A8"].value == 3 and cached["A9"].value is False
    assert cached["A10"].value == dt.datetime(2024, 1, 1, 18, 0)
    assert cached["A11"].value == "1899-12-31"  # before Excel's 1900 dates: kept as text
    assert cached["A12"].value == "#NUM!" and cached["A12"].data_type == "e"
    assert cached["A13"].value is None
    assert cached["A14"].value == 'a "quoted" & <tagged>'

    rows = calamine_rows(path, "KPIs")
    assert rows[0][0] == 0.05 and rows[1][0] == "High" and rows[3][0] is True
    assert rows[6][0] == 2.5 and rows[13][0] == 'a "quoted" & <tagged>'

    xml = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()
    assert '<c r="A3" t="str"><f>IF(B9="","",B9)</f><v></v></c>' in xml
    assert '<c r="A5" t="e"><f>1/0</f><v>#DIV/0!</v></c>' in xml
    assert "<f>=" not in xml


def test_excel_serial_is_days_since_1899_12_30(table_path: str) -> None:
    assert excel_serial(dt.date(1900, 3, 1)) == 61
    assert excel_serial(dt.date(2024, 1, 1)) == 45292
    assert excel_serial(dt.datetime(2024, 1, 1, 6)) == 45292.25
    frame = pd.DataFrame({"d": pd.to_datetime(["2024-01-01 06:00", "2024-01-02 00:00", None])})
    frame["d"] = frame["d"].dt.tz_localize("Europe/Rome")
    sheet = SheetPlan(
        role="ORDERS",
        title="Orders",
        tables=[Table(frame, (ColumnSpec("d", "D", "date", "date"),))],
    )
    xml = render_sheet_data(sheet, {"header": 1, "date": 2}).decode()
    assert '<c r="A2" s="2"><v>45292.25</v></c>' in xml  # wall-clock time kept
    whole_day = "45293" if table_path == "arrow" else "45293.0"  # the same float64
    assert f'<c r="A3" s="2"><v>{whole_day}</v></c>' in xml
    assert 'r="A4"' not in xml


def test_col_letters() -> None:
    assert [col_letter(i) for i in (0, 1, 25, 26, 51, 52, 701, 702, 16383)] == [
        "A",
        "B",
        "Z",
        "AA",
        "AZ",
        "BA",
        "ZZ",
        "AAA",
        "XFD",
    ]
    with pytest.raises(WorkbookError):
        col_letter(16384)


# ---------------------------------------------------------------- splicing parts


def test_replace_sheet_data_keeps_a_libreoffice_part_byte_for_byte() -> None:
    part = zipfile.ZipFile(DATA / "libreoffice_resaved.xlsx").read("xl/worksheets/sheet1.xml")
    sheet = SheetPlan(role="KPIS", title="Data")
    sheet.put(0, 0, "new")
    sheet.put(2, 3, 4.0)
    data = render_sheet_data(sheet, {})
    new = replace_sheet_data(part, data, sheet_dimension(sheet))
    head, old, tail = split_sheet_data(part, "A1:F6")
    head2, new_data, tail2 = split_sheet_data(new, "A1:F6")
    assert tail2 == tail and head2 == head
    assert new_data == data
    assert b'<dimension ref="A1:D3"/>' in new
    assert new.replace(data, old).replace(b'ref="A1:D3"', b'ref="A1:F6"') == part
    parse_xml(new)
    attrs = row_attributes(old)
    assert list(attrs) == [5]  # only the row with a custom height
    assert 'ht="30"' in attrs[5] and 'customHeight="true"' in attrs[5]


def test_replace_sheet_data_prefixed_part_and_missing_dimension() -> None:
    part = (
        b'<?xml version="1.0"?><x:worksheet xmlns:x="http://schemas.openxmlformats.org/'
        b'spreadsheetml/2006/main"><x:sheetPr/><x:sheetData><x:row r="1"/></x:sheetData>'
        b"<x:pageMargins/></x:worksheet>"
    )
    sheet = SheetPlan(role="KPIS", title="K")
    sheet.put(1, 1, "v")
    new = replace_sheet_data(part, render_sheet_data(sheet, {}), "B2")
    root = parse_xml(new)
    cells = list(root.iter(NS + "c"))
    assert [c.get("r") for c in cells] == ["B2"]
    assert root.find(NS + "dimension").get("ref") == "B2"  # type: ignore[union-attr]
    assert [child.tag.split("}")[1] for child in root] == [
        "sheetPr",
        "dimension",
        "sheetData",
        "pageMargins",
    ]
    empty = replace_sheet_data(part, render_sheet_data(SheetPlan(role="KPIS", title="K"), {}), "A1")
    assert list(parse_xml(empty).iter(NS + "row")) == []
    with pytest.raises(WorkbookError, match="sheetData"):
        replace_sheet_data(b"<worksheet/>", b"<sheetData/>", "A1")


def test_rewrite_finds_sheets_by_role_keeps_parts_heights_and_features(tmp_path: Path) -> None:
    frame = orders_frame(20)
    orders = SheetPlan(role="ORDERS", title="Ordini 'IT' 2", tables=[Table(frame, ORDER_COLUMNS)])
    kpis = SheetPlan(role="KPIS", title="KPI")
    kpis.put(0, 0, float(frame["amount"].sum()), formula="=SUM('Ordini ''IT'' 2'!$D$2:$D$1048576)")
    plan = WorkbookPlan(sheets=[kpis, orders], styles=dict(STYLES))
    path = skeleton(tmp_path / "b.xlsx", plan, row_heights={"ORDERS": {3: 33.0}})
    before = {i.filename: zipfile.ZipFile(path).read(i) for i in zipfile.ZipFile(path).infolist()}
    rewrite_sheet_data(path, plan)
    after_zip = zipfile.ZipFile(path)
    after = {i.filename: after_zip.read(i) for i in after_zip.infolist()}
    assert list(after) == list(before)
    with zipfile.ZipFile(path) as zf:
        parts = worksheet_parts(zf)
    assert parts == {"KPIS": "xl/worksheets/sheet1.xml", "ORDERS": "xl/worksheets/sheet2.xml"}
    changed = {name for name in after if after[name] != before[name]}
    assert changed == {"xl/styles.xml", "xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml"}
    ws = openpyxl.load_workbook(path)["Ordini 'IT' 2"]
    assert ws.row_dimensions[4].height == 33.0
    assert ws.freeze_panes == "A2"
    assert ws["B2"].value == frame.loc[0, "order_id"]
    assert openpyxl.load_workbook(path, data_only=True)["KPI"]["A1"].value == pytest.approx(
        frame["amount"].sum(), rel=1e-15
    )


def _raw_member(path: Path, name: str) -> bytes:
    """The compressed bytes of a zip member, as stored."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(name)
    data = path.read_bytes()
    name_len, extra_len = struct.unpack(
        "<HH", data[info.header_offset + 26 : info.header_offset + 30]
    )
    start = info.header_offset + 30 + name_len + extra_len
    return data[start : start + info.compress_size]


def _deflated(data: bytes, level: int) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def test_big_table_sheets_are_deflated_at_the_fast_level(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    orders = SheetPlan(
        role="ORDERS", title="Orders", tables=[Table(orders_frame(300), ORDER_COLUMNS)]
    )
    kpis = SheetPlan(role="KPIS", title="KPI")
    kpis.put(0, 0, "total")
    plan = WorkbookPlan(sheets=[kpis, orders], styles=dict(STYLES))
    monkeypatch.setattr(sheetxml, "BIG_SHEET_CELLS", 300 * len(ORDER_COLUMNS) - 1)
    path = skeleton(tmp_path / "b.xlsx", plan)
    rewrite_sheet_data(path, plan)
    with zipfile.ZipFile(path) as zf:
        big, small = zf.read("xl/worksheets/sheet2.xml"), zf.read("xl/worksheets/sheet1.xml")
    assert _raw_member(path, "xl/worksheets/sheet2.xml") == _deflated(big, sheetxml.BIG_SHEET_LEVEL)
    assert _raw_member(path, "xl/worksheets/sheet1.xml") == _deflated(small, 6)
    assert sheetxml.BIG_SHEET_LEVEL != 6
    assert _deflated(big, 6) != _deflated(big, sheetxml.BIG_SHEET_LEVEL)  # levels tell apart
    # one cell more than the table holds: the default level
    monkeypatch.setattr(sheetxml, "BIG_SHEET_CELLS", 300 * len(ORDER_COLUMNS))
    rewrite_sheet_data(path, plan)
    assert _raw_member(path, "xl/worksheets/sheet2.xml") == _deflated(big, 6)
    ws = openpyxl.load_workbook(path)["Orders"]
    assert ws["B301"].value == orders_frame(300).loc[299, "order_id"]


def test_rewrite_refuses_a_package_without_the_role_names(tmp_path: Path) -> None:
    path = tmp_path / "plain.xlsx"
    book = xlsxwriter.Workbook(str(path))
    book.add_worksheet("Orders")
    book.close()
    original = path.read_bytes()
    plan = WorkbookPlan(sheets=[SheetPlan(role="ORDERS", title="Orders")], styles={})
    with pytest.raises(WorkbookError, match="RXL_SHEET_ORDERS"):
        rewrite_sheet_data(path, plan)
    assert path.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain.xlsx"]


def test_streamed_part_equals_the_replaced_part() -> None:
    part = zipfile.ZipFile(DATA / "libreoffice_resaved.xlsx").read("xl/worksheets/sheet1.xml")
    sheet = SheetPlan(
        role="ORDERS", title="Data", tables=[Table(orders_frame(2_000), ORDER_COLUMNS)]
    )
    sheet.put(0, 8, "note")
    xf = {"header": 1, "date": 3, "money": 4}
    out = io.BytesIO()
    write_sheet_part(part, sheet, xf, out)
    attrs = row_attributes(split_sheet_data(part, "A1")[1])
    expected = replace_sheet_data(
        part, render_sheet_data(sheet, xf, row_attrs=attrs), sheet_dimension(sheet)
    )
    assert out.getvalue() == expected
    assert b'<row r="6" customFormat="false" ht="30"' in expected  # the user's row height
    parse_xml(expected)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(texts=st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=8))
def test_any_text_reads_back_as_text(tmp_path: Path, texts: list[str]) -> None:
    """Whatever the text (formula-like, control characters, surrogates, white space),
    both writers' paths store it as text that reads back with only the characters XML
    cannot hold removed."""
    frame = pd.DataFrame({"t": pd.Series(texts, dtype="string")})
    sheet = SheetPlan(
        role="ORDERS", title="Orders", tables=[Table(frame, (ColumnSpec("t", "T", None, "text"),))]
    )
    for i, text in enumerate(texts):
        sheet.put(1 + i, 2, text)
    path = write(tmp_path, sheet)
    rows = calamine_rows(path, "Orders")[1:]
    illegal = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
    want = [illegal.sub("", t) for t in texts]
    assert [r[0] for r in rows] == want
    assert [r[2] for r in rows] == want
    xml = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in xml


def test_text_longer_than_a_cell_holds_is_cut_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    long = "x" * 40_000
    frame = pd.DataFrame({"t": pd.Series(["short", long], dtype="string")})
    sheet = SheetPlan(
        role="ORDERS", title="Orders", tables=[Table(frame, (ColumnSpec("t", "T", None, "text"),))]
    )
    sheet.put(1, 2, long)
    with caplog.at_level("WARNING", logger="retention_xl.workbook.cellxml"):
        path = write(tmp_path, sheet)
    rows = calamine_rows(path, "Orders")
    assert rows[1][0] == "short"
    assert rows[2][0] == "x" * 32_767 and rows[1][2] == "x" * 32_767
    assert sum("cut to the 32767" in r.getMessage() for r in caplog.records) == 2
    assert frame["t"][1] == long  # the frame itself is untouched


def _numbers_as_floats(xml: str) -> str:
    """Number texts rewritten as Python writes their float64 (``3`` -> ``3.0``)."""
    return re.sub(
        r"<v>(-?[0-9][0-9.]*(?:e[-+]?[0-9]+)?)</v>", lambda m: f"<v>{float(m[1])!r}</v>", xml
    )


def test_arrow_and_numpy_paths_write_the_same_cells(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = orders_frame(400)
    frame.loc[9, "amount"] = np.inf
    frame.loc[10, "amount"] = -np.inf
    frame.loc[11, "amount"] = 1.5e-7
    frame.loc[12, "amount"] = -0.0
    frame.loc[13, "amount"] = 12573022109.339329
    frame.loc[14, "order_date"] = pd.Timestamp("1899-05-01")  # before the 1900 system
    frame.loc[15, "order_date"] = pd.Timestamp("2024-01-01 06:00")  # a fraction of a day
    frame.loc[16, "customer_id"] = " lead"
    frame.loc[17, "customer_id"] = "_x000D_"
    frame.loc[18, "customer_id"] = "a\x01b"
    frame.loc[19, "customer_id"] = ""
    frame.loc[20, "customer_id"] = "x" * 40_000
    frame["gift"] = frame["gift"].astype("boolean")
    frame.loc[21, "gift"] = pd.NA
    sheet = SheetPlan(role="ORDERS", title="Orders", tables=[Table(frame, ORDER_COLUMNS)])
    side = pd.DataFrame({"b": pd.Series(["v", None, "w&", "z "], dtype="string")})
    sheet.tables.append(Table(side, (ColumnSpec("b", "B", kind="text"),), first_col=8))
    sheet.put(30, 10, "beside")
    xf = {"header": 1, "date": 2, "money": 3}
    attrs = {5: 'ht="30" customHeight="1"', 200: 'hidden="1"', 500: 'ht="12"'}
    monkeypatch.setattr(sheetxml, "_arrow_rows", lambda: arrowrows)
    arrow = "".join(iter_sheet_rows(sheet, xf, row_attrs=attrs, block_rows=64))
    monkeypatch.setattr(sheetxml, "_arrow_rows", lambda: None)
    numpy_path = "".join(iter_sheet_rows(sheet, xf, row_attrs=attrs, block_rows=64))
    assert arrow != numpy_path  # the number texts differ ...
    assert _numbers_as_floats(arrow) == _numbers_as_floats(numpy_path)  # ... not the cells
    assert '<c r="D11" s="3" t="e"><v>#NUM!</v></c>' in arrow
    assert '<c r="D13" s="3"><v>1.5e-7</v></c>' in arrow
    assert '<c r="C16" s="2" t="inlineStr"><is><t>1899-05-01</t></is></c>' in arrow
    assert '<t xml:space="preserve"> lead</t>' in arrow and "_x005F_x000D_" in arrow
    assert '<row r="201" hidden="1">' in arrow and '<row r="501" ht="12"></row>' in arrow
    parse_xml(b"<sheetData>" + arrow.encode() + b"</sheetData>")


def test_row_attributes_only_from_row_tags() -> None:
    """The keywords in cell text or in default values make no row formatted."""
    data = (
        b'<sheetData><row r="1" spans="1:2"><c r="A1" t="inlineStr"><is><t>hidden custom'
        b" outlineLevel</t></is></c></row>"
        b'<row r="2" customHeight="false" hidden="false" outlineLevel="0"/>'
        b'<x:row r="3" hidden="1" spans="1:1"></x:row>'
        b'<row r="4" ht="30" customHeight="true"/>'
        b'<row r="5" customFormat="1" s="7"/>'
        b'<row r="6" outlineLevel="2"/>'
        b'<row r="7"><c r="A7"><f>"customHeight=""1"""</f></c></row></sheetData>'
    )
    assert row_attributes(data) == {
        2: 'hidden="1"',
        3: 'ht="30" customHeight="true"',
        4: 'customFormat="1" s="7"',
        5: 'outlineLevel="2"',
    }
    assert row_attributes(b'<sheetData><row r="1"/></sheetData>') == {}
