"""Workbooks for the refresh tests, written by the tests themselves.

:func:`marked_book` writes, with XlsxWriter, a workbook shaped like the generator's:
role-marked sheets (``RXL_SHEET_<ROLE>`` names), named inputs, and a user sheet with a
chart, a comment, an image, a data validation and a conditional format: the parts
refresh must leave alone. The helpers edit packages the way Excel does (rename a
sheet, reorder tabs, write a calcChain) and compare packages part by part.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import struct
import zipfile
import zlib
from pathlib import Path

import xlsxwriter

from retention_xl.workbook.manifest import Rect, SheetManifest, names_of

ROLE_SHEETS = {"ORDERS": "Orders", "KPIS": "KPIs", "ABOUT": "About"}


def tiny_png() -> bytes:
    """A valid 2x2 red PNG (no image library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def marked_book(path: Path, *, titles: dict[str, str] | None = None, vba: bool = False) -> Path:
    """Write a role-marked workbook with a user sheet at ``path``; returns ``path``."""
    titles = {**ROLE_SHEETS, **(titles or {})}
    wb = xlsxwriter.Workbook(str(path))
    if vba:
        wb.add_vba_project(io.BytesIO(_fake_vba()), is_stream=True)
    orders = wb.add_worksheet(titles["ORDERS"])
    for c, h in enumerate(["customer_id", "order_id", "order_date", "amount"]):
        orders.write_string(0, c, h)
    orders.write_row(1, 0, ["c1", "o1"])
    orders.write_datetime(
        1, 2, dt.datetime(2024, 3, 1), wb.add_format({"num_format": "yyyy-mm-dd"})
    )
    orders.write_number(1, 3, 10.5)
    kpis = wb.add_worksheet(titles["KPIS"])
    kpis.write_string(3, 1, "CAC")
    kpis.write_number(3, 2, 45.0)
    kpis.write_string(4, 1, "Period")
    kpis.write_string(4, 2, "Y")
    kpis.write_formula(5, 2, f"=SUM('{titles['ORDERS']}'!D2:D1048576)", None, 10.5)
    about = wb.add_worksheet(titles["ABOUT"])
    about.write_string(0, 0, "About")
    user = wb.add_worksheet("My analysis")
    user.write_column(0, 0, [1, 2, 3, 4])
    user.write_comment(0, 0, "my own note")
    user.data_validation(0, 1, 10, 1, {"validate": "list", "source": ["a", "b"]})
    user.conditional_format(0, 0, 3, 0, {"type": "cell", "criteria": ">", "value": 2})
    user.insert_image(5, 3, "dot.png", {"image_data": io.BytesIO(tiny_png())})
    chart = wb.add_chart({"type": "line"})
    chart.add_series({"values": "='My analysis'!$A$1:$A$4"})
    user.insert_chart(0, 4, chart)
    for role, title in titles.items():
        wb.define_name(f"RXL_SHEET_{role}", f"='{title}'!$A$1")
    wb.define_name("Input_CAC", f"='{titles['KPIS']}'!$C$4")
    wb.define_name("Input_Period", f"='{titles['KPIS']}'!$C$5")
    wb.define_name("MyOwnName", "='My analysis'!$A$1:$A$4")
    # the manifests of what was written on the generated sheets (see workbook.manifest)
    written = {
        "ORDERS": SheetManifest("ORDERS", Rect(0, 0, 1, 3), (), (Rect(0, 0, 1, 3),), raw=True),
        "KPIS": SheetManifest("KPIS", Rect(3, 1, 5, 2), (Rect(3, 1, 5, 2),), ()),
        "ABOUT": SheetManifest("ABOUT", Rect(0, 0, 0, 0), (Rect(0, 0, 0, 0),), ()),
    }
    for role, manifest in written.items():
        for name, formula in names_of(titles[role], manifest).items():
            wb.define_name(name, formula)
    wb.close()
    return path


def _fake_vba() -> bytes:
    # an opaque binary part: refresh must copy it byte for byte, never parse it
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 8


def parts(path: Path) -> dict[str, bytes]:
    """``{part name: uncompressed bytes}``."""
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def raw_members(path: Path) -> dict[str, tuple[int, int, int]]:
    """``{part: (compress_type, compress_size, CRC)}``."""
    with zipfile.ZipFile(path) as zf:
        return {i.filename: (i.compress_type, i.compress_size, i.CRC) for i in zf.infolist()}


def rewrite(
    path: Path, edits: dict[str, bytes | None], add: dict[str, bytes] | None = None
) -> None:
    """Rewrite the package at ``path`` with some parts replaced, removed or added."""
    old = parts(path)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in old.items():
            if name in edits:
                if edits[name] is None:
                    continue
                data = edits[name]  # type: ignore[assignment]
            zf.writestr(name, data)
        for name, data in (add or {}).items():
            zf.writestr(name, data)


def rename_sheet(path: Path, old: str, new: str) -> None:
    """Rename a sheet as Excel does: the sheet entry and every defined name follow."""
    wb = parts(path)["xl/workbook.xml"].decode()
    wb = wb.replace(f'name="{old}"', f'name="{new}"')
    quoted_old = "'" + old.replace("'", "''") + "'"
    quoted_new = "'" + new.replace("'", "''") + "'"
    wb = wb.replace(f"{quoted_old}!", f"{quoted_new}!").replace(f">{old}!", f">{quoted_new}!")
    rewrite(path, {"xl/workbook.xml": wb.encode()})


def reorder_sheets(path: Path) -> None:
    """Reverse the tab order as dragging tabs in Excel does (names stay as text)."""
    wb = parts(path)["xl/workbook.xml"].decode()
    sheets = re.findall(r"<sheet [^>]*/>", wb)
    block = "".join(sheets)
    wb = wb.replace(block, "".join(reversed(sheets)))
    # localSheetId indexes follow the tab order; the test books use workbook-level names
    rewrite(path, {"xl/workbook.xml": wb.encode()})


def add_calc_chain(path: Path) -> None:
    """Add an Excel calcChain.xml with its relationship and content-type override."""
    p = parts(path)
    rels = (
        p["xl/_rels/workbook.xml.rels"]
        .decode()
        .replace(
            "</Relationships>",
            '<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships/calcChain" Target="calcChain.xml"/></Relationships>',
        )
    )
    ct = (
        p["[Content_Types].xml"]
        .decode()
        .replace(
            "</Types>",
            '<Override PartName="/xl/calcChain.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml"/></Types>',
        )
    )
    chain = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<calcChain xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<c r="C6" i="2"/></calcChain>'
    )
    rewrite(
        path,
        {"xl/_rels/workbook.xml.rels": rels.encode(), "[Content_Types].xml": ct.encode()},
        add={"xl/calcChain.xml": chain},
    )


def type_into(path: Path, values: dict[str, float]) -> None:
    """Type numbers into named input cells, as a user does in Excel (keeps the style)."""
    from retention_xl.workbook.package import read_package

    pkg = read_package(path)
    info = pkg.workbook()
    edits: dict[str, bytes | None] = {}
    for name, value in values.items():
        found = info.resolve_name(name)
        assert found is not None and found[0].part is not None, name
        sheet, ref = found
        part = sheet.part
        assert part is not None
        xml = edits.get(part) or pkg.read(part)
        assert xml is not None
        cell = re.compile(rb'<c r="' + ref.encode() + rb'"([^>]*?)(?:/>|>.*?</c>)', re.S)
        attrs = cell.search(xml)
        assert attrs is not None, (name, ref)
        style = re.sub(rb'\s+t="[^"]*"', b"", attrs.group(1))
        new = b'<c r="' + ref.encode() + b'"' + style + b"><v>" + repr(value).encode() + b"</v></c>"
        edits[part] = xml[: attrs.start()] + new + xml[attrs.end() :]
    rewrite(path, edits)
