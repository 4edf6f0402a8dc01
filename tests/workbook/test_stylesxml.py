"""ensure_styles on styles parts written by XlsxWriter and saved again by LibreOffice.

The two committed packages in tests/data/workbook hold the same six formats:
``xlsxwriter_styles.xlsx`` as XlsxWriter wrote it and ``libreoffice_resaved.xlsx`` after
LibreOffice Calc opened and saved it (LibreOffice spells every default out, escapes
literal characters in number formats and writes the default font colour as RGB).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest

from retention_xl.errors import WorkbookError
from retention_xl.io.safety import parse_xml
from retention_xl.workbook.plan import SheetPlan, Style, WorkbookPlan
from retention_xl.workbook.sheetxml import render_sheet_data, replace_sheet_data, sheet_dimension
from retention_xl.workbook.stylesxml import canonical_format, ensure_styles

DATA = Path(__file__).resolve().parent.parent / "data" / "workbook"
NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"

#: The formats the committed packages' cells A1:F1 use, as styles.
EXISTING = {
    "header": Style(bold=True, bg_color="#1F4E79", font_color="#FFFFFF", border=True),
    "percent": Style(num_format="0.0%"),
    "date": Style(num_format="yyyy-mm-dd"),
    "money": Style(num_format='#,##0.00 "€"', align="right"),
    "input": Style(bg_color="#FFF2CC", locked=False),
    "note": Style(wrap=True, italic=True, font_size=9),
}
NEW = {
    "plain": Style(),
    "thousands": Style(num_format="#,##0", bold=True, border=True),
    "title": Style(font_size=16, bold=True, font_color="#1F4E79", align="center"),
    "green": Style(bg_color="#C6EFCE", font_color="#006100", num_format="0.0%"),
}


def styles_of(name: str) -> bytes:
    return zipfile.ZipFile(DATA / name).read("xl/styles.xml")


def cell_xfs(xml: bytes) -> int:
    root = parse_xml(xml)
    xfs = root.find(NS + "cellXfs")
    assert xfs is not None
    assert int(xfs.get("count", "0")) == len(xfs)
    return len(xfs)


@pytest.mark.parametrize("name", ["xlsxwriter_styles.xlsx", "libreoffice_resaved.xlsx"])
def test_existing_formats_are_found_not_appended(name: str) -> None:
    xml = styles_of(name)
    new, xf = ensure_styles(xml, EXISTING)
    assert new is xml  # nothing to add
    # the package's cells A1..F1 were written with these formats, in this order
    part = zipfile.ZipFile(DATA / name).read("xl/worksheets/sheet1.xml")
    cells = {c.get("r"): int(c.get("s", "0")) for c in parse_xml(part).iter(NS + "c")}
    assert [cells[ref] for ref in ("A1", "B1", "C1", "D1", "E1", "F1")] == [
        xf[key] for key in ("header", "percent", "date", "money", "input", "note")
    ]


@pytest.mark.parametrize("name", ["xlsxwriter_styles.xlsx", "libreoffice_resaved.xlsx"])
def test_new_formats_are_appended_once_and_render_as_asked(name: str, tmp_path: Path) -> None:
    xml = styles_of(name)
    before = cell_xfs(xml)
    new, xf = ensure_styles(xml, {**EXISTING, **NEW})
    assert xf["plain"] == 0
    assert sorted(xf[k] for k in NEW if k != "plain") == [before, before + 1, before + 2]
    assert cell_xfs(new) == before + 3
    again, xf2 = ensure_styles(new, {**EXISTING, **NEW})
    assert again is new and xf2 == xf
    # everything before the appended records is unchanged
    root_old, root_new = parse_xml(xml), parse_xml(new)
    for tag in ("fonts", "fills", "borders", "cellXfs"):
        old_kids = list(root_old.find(NS + tag))  # type: ignore[arg-type]
        new_kids = list(root_new.find(NS + tag))  # type: ignore[arg-type]
        assert [k.attrib for k in new_kids[: len(old_kids)]] == [k.attrib for k in old_kids]
    assert root_new.find(NS + "dxfs") is not None or root_old.find(NS + "dxfs") is None

    # a workbook using them shows the formats (openpyxl reads styles independently)
    src = zipfile.ZipFile(DATA / name)
    sheet = SheetPlan(role="KPIS", title="Data")
    for col, key in enumerate(["thousands", "title", "green", "date", "money"]):
        sheet.put(0, col, 1234.5, style=key)
    path = tmp_path / "styled.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/styles.xml":
                data = new
            elif info.filename == "xl/worksheets/sheet1.xml":
                data = replace_sheet_data(
                    data, render_sheet_data(sheet, xf), sheet_dimension(sheet)
                )
            out.writestr(info, data)
    ws = openpyxl.load_workbook(path).worksheets[0]
    a, b, c, d, e = (ws.cell(1, i) for i in range(1, 6))
    assert a.number_format == "#,##0" and a.font.b and a.border.left.style == "thin"
    assert b.font.sz == 16 and b.font.color.rgb == "FF1F4E79" and b.alignment.horizontal == "center"
    assert c.fill.fgColor.rgb == "FFC6EFCE" and c.number_format == "0.0%"
    assert c.font.color.rgb == "FF006100" and not c.font.b
    assert canonical_format(d.number_format) == canonical_format("yyyy-mm-dd")
    assert canonical_format(e.number_format) == canonical_format('#,##0.00 "€"')
    assert e.alignment.horizontal == "right"


def test_minimal_and_prefixed_parts() -> None:
    prefixed = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<x:styleSheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<x:fonts count="1"><x:font><x:sz val="10"/><x:name val="Arial"/></x:font></x:fonts>'
        b'<x:fills count="2"><x:fill><x:patternFill patternType="none"/></x:fill>'
        b'<x:fill><x:patternFill patternType="gray125"/></x:fill></x:fills>'
        b'<x:borders count="1"><x:border/></x:borders>'
        b'<x:cellXfs count="1"><x:xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></x:cellXfs>'
        b"</x:styleSheet>"
    )
    new, xf = ensure_styles(prefixed, {"pct": Style(num_format="0.000%", bg_color="#FF0000")})
    root = parse_xml(new)
    assert xf == {"pct": 1}
    num = root.find(f"{NS}numFmts/{NS}numFmt")
    assert num is not None and num.get("formatCode") == "0.000%" and num.get("numFmtId") == "164"
    assert next(iter(root)).tag == NS + "numFmts"  # numFmts comes first
    record = root.findall(f"{NS}cellXfs/{NS}xf")[1]
    assert record.get("numFmtId") == "164" and record.get("fillId") == "2"
    font = root.findall(f"{NS}fonts/{NS}font")
    assert len(font) == 1  # the default font is reused
    builtin, xf2 = ensure_styles(new, {"p": Style(num_format="0%"), "t": Style(num_format="@")})
    records = parse_xml(builtin).findall(f"{NS}cellXfs/{NS}xf")
    assert [records[xf2[k]].get("numFmtId") for k in ("p", "t")] == ["9", "49"]


def test_bad_input_is_refused() -> None:
    xml = styles_of("xlsxwriter_styles.xlsx")
    with pytest.raises(WorkbookError, match="#RRGGBB"):
        ensure_styles(xml, {"x": Style(bg_color="red")})
    with pytest.raises(WorkbookError, match="styleSheet"):
        ensure_styles(b"<workbook/>", {})


def test_canonical_format() -> None:
    assert canonical_format("0.0%") == "0.0%"
    assert canonical_format("[$€-410] #,##0.00") == canonical_format("[$€-410]\\ #,##0.00")
    assert canonical_format("yyyy-mm-dd") != canonical_format("yyyy/mm/dd")
    assert canonical_format('0.0" pts"') == canonical_format("0.0\\ \\p\\t\\s")


def test_plan_styles_used_by_every_writer_exist() -> None:
    plan = WorkbookPlan(sheets=[], styles={**EXISTING, **NEW})
    _, xf = ensure_styles(styles_of("libreoffice_resaved.xlsx"), plan.styles)
    assert set(xf) == set(plan.styles)
