"""The package checker used as "loads without repair" finds real damage."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from ooxml_check import problems

DATA = Path(__file__).resolve().parent.parent / "data" / "workbook"
SHEET = "xl/worksheets/sheet1.xml"


def variant(tmp_path: Path, edit: Callable[[str, bytes], bytes | None]) -> Path:
    out = tmp_path / "variant.xlsx"
    with (
        zipfile.ZipFile(DATA / "libreoffice_resaved.xlsx") as src,
        zipfile.ZipFile(out, "w") as dst,
    ):
        for info in src.infolist():
            data = edit(info.filename, src.read(info))
            if data is not None:
                dst.writestr(info.filename, data)
    return out


@pytest.mark.parametrize("name", ["libreoffice_resaved.xlsx", "xlsxwriter_styles.xlsx"])
def test_sound_packages_pass(name: str) -> None:
    assert problems(DATA / name) == []


@pytest.mark.parametrize(
    ("part", "old", "new", "message"),
    [
        (SHEET, b"</sheetData>", b"", "not well-formed"),
        (SHEET, b'<c r="B1" s="2"', b'<c r="B1" s="99"', "uses style 99"),
        (SHEET, b'<row r="6"', b'<row r="1"', "row 1 after row 1"),
        (SHEET, b'<c r="C1"', b'<c r="A1"', "out of column order"),
        (SHEET, b'<dimension ref="A1:F6"/>', b'<dimension ref="A1:B2"/>', "does not cover"),
        (SHEET, b'<c r="B1" s="2" t="n">', b'<c r="B1" s="2" t="x">', "type 'x'"),
        ("xl/styles.xml", b'<fonts count="6">', b'<fonts count="7">', "count=7"),
        ("xl/workbook.xml", b">Data!", b">Nope!", "refers to sheet"),
    ],
)
def test_damage_is_found(tmp_path: Path, part: str, old: bytes, new: bytes, message: str) -> None:
    def edit(name: str, data: bytes) -> bytes:
        if name == part:
            assert old in data, (part, old)
            return data.replace(old, new, 1)
        return data

    found = problems(variant(tmp_path, edit))
    assert any(message in p for p in found), found


def test_missing_part_is_found(tmp_path: Path) -> None:
    found = problems(variant(tmp_path, lambda name, data: None if name == SHEET else data))
    assert any("missing" in p for p in found), found
