"""Refresh of generated workbooks (templates and reports, en and it) through the library.

Templates and reports are written by the generator; exports by the tests, with the
platforms' headers. Checked: the refreshed numbers are the core's, the inputs keep their
values, user parts and VBA stay byte-identical, injection payloads stay text, and a
refresh killed mid-write or failing on a full disk leaves the file byte-identical.
"""

from __future__ import annotations

import datetime as dt
import errno
import re
import subprocess
import sys
import time
import weakref
import zipfile
from pathlib import Path

import pytest
from refresh_books import parts, rewrite, type_into
from refresh_exports import INJECTIONS, italian_export, shopify_export

from retention_xl import files
from retention_xl.core.report import kpi_report
from retention_xl.errors import WorkbookError
from retention_xl.io import load_inputs
from retention_xl.workbook.build import plan_report, plan_template, write_workbook
from retention_xl.workbook.labels import label
from retention_xl.workbook.package import read_package
from retention_xl.workbook.readback import read_cells, read_inputs
from retention_xl.workbook.refresh import refresh

ROOT = Path(__file__).resolve().parents[2]


def _rows(n: int, start: dt.date, first: int = 1) -> list[tuple[str, str, str, float]]:
    return [
        (
            f"c{(i * 5) % 17}",
            f"A-{first + i}",
            (start + dt.timedelta(days=(i * 13) % 400)).strftime("%d/%m/%Y"),
            round(15 + (i * 29) % 120 + 0.25, 2),
        )
        for i in range(n)
    ]


def _kpi(pkg_path: Path, key: str) -> object:
    pkg = read_package(pkg_path)
    info = pkg.workbook()
    sheet, ref = info.resolve_name(f"KPI_{key}")  # type: ignore[misc]
    return read_cells(pkg, info, sheet.part, [ref])[ref]  # type: ignore[arg-type]


@pytest.mark.parametrize("lang", ["en", "it"])
def test_template_refresh_fills_it_and_keeps_inputs(tmp_path: Path, lang: str) -> None:
    book = write_workbook(plan_template(lang=lang), tmp_path / "Template.xlsx")
    type_into(book, {"Input_CAC": 75.0, "Input_GrossMargin": 0.4})  # the user's inputs
    export = italian_export(tmp_path / "ordini.csv", _rows(80, dt.date(2023, 1, 2)))
    inputs = load_inputs(orders=export)
    summary = refresh(book, inputs)
    assert summary.lang == lang
    after = read_package(book)
    values = read_inputs(after, after.workbook(), ["Input_CAC", "Input_GrossMargin"])
    assert values == {"Input_CAC": 75.0, "Input_GrossMargin": 0.4}
    core = kpi_report(inputs.orders, cac=75.0, gross_margin=0.4)
    for key in ("orders", "revenue", "customers", "repeat_rate"):
        assert _kpi(book, key) == pytest.approx(core.value(key), rel=1e-12), key
    assert summary.backup == str(book) + ".bak"


def test_report_refresh_replaces_data(tmp_path: Path) -> None:
    first = shopify_export(
        tmp_path / "orders_export_1.csv",
        [
            (f"#{1000 + i}", f"u{i % 9}@example.com", f"2023-0{1 + i % 9}-1{i % 9}", 10.0 + i)
            for i in range(40)
        ],
    )
    inputs = load_inputs(orders=first)
    book = tmp_path / "Report.xlsx"
    write_workbook(plan_report(inputs.orders, reports=inputs.reports), book)
    assert _kpi(book, "orders") == 40.0
    second = shopify_export(
        tmp_path / "orders_export_2.csv",
        [
            (f"#{2000 + i}", f"u{i % 5}@example.com", f"2024-0{1 + i % 9}-2{i % 8}", 5.0 + i)
            for i in range(25)
        ],
    )
    new = load_inputs(orders=second)
    summary = refresh(book, new, backup=False)
    assert _kpi(book, "orders") == 25.0
    assert _kpi(book, "revenue") == pytest.approx(float(new.orders["amount"].sum()))
    assert summary.backup is None and not Path(str(book) + ".bak").exists()
    # the About sheet records the import summary of the new file
    about = next(s for s in read_package(book).workbook().sheets if s.name == "About")
    text = read_package(book).read(about.part).decode()  # type: ignore[arg-type]
    assert "orders_export_2.csv" in text


def test_injection_payloads_stay_text(tmp_path: Path) -> None:
    book = write_workbook(plan_template(lang="it"), tmp_path / "T.xlsx")
    rows = [(INJECTIONS[i % len(INJECTIONS)], f"=A{i}", "01/02/2024", 10.0) for i in range(12)]
    export = italian_export(tmp_path / "ordini.csv", rows)
    refresh(book, load_inputs(orders=export))
    pkg = read_package(book)
    part = pkg.workbook().role_parts()["ORDERS"]
    xml = pkg.read(part).decode()
    assert "<f>" not in xml  # not a single formula on the raw tab
    import openpyxl

    wb = openpyxl.load_workbook(book, read_only=True)
    ws = wb[label("sheet.ORDERS", "it")]
    cells = list(ws.iter_rows(min_row=2, max_row=13, max_col=2, values_only=True))
    wb.close()
    # every payload is back as the text it was (the reader trims blanks around cells)
    assert sorted(str(c[0]) for c in cells) == sorted(
        INJECTIONS[i % len(INJECTIONS)].strip() for i in range(12)
    )
    assert sorted(c[1] for c in cells) == sorted(f"=A{i}" for i in range(12))


def _as_xlsm(xlsx: Path, out: Path) -> Path:
    p = parts(xlsx)
    vba = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 16
    ct = p["[Content_Types].xml"].replace(
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    )
    ct = ct.replace(
        b"<Default ",
        b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/><Default ',
        1,
    )
    rels = p["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>",
        b'<Relationship Id="rId999" Type="http://schemas.microsoft.com/office/2006/relationships/'
        b'vbaProject" Target="vbaProject.bin"/></Relationships>',
    )
    out.write_bytes(xlsx.read_bytes())
    rewrite(
        out,
        {"[Content_Types].xml": ct, "xl/_rels/workbook.xml.rels": rels},
        add={"xl/vbaProject.bin": vba},
    )
    return out


def test_xlsm_keeps_its_vba(tmp_path: Path) -> None:
    xlsx = write_workbook(plan_template(lang="en"), tmp_path / "T.xlsx")
    book = _as_xlsm(xlsx, tmp_path / "Macro.xlsm")
    before = parts(book)
    export = italian_export(tmp_path / "ordini.csv", _rows(20, dt.date(2023, 5, 1)))
    refresh(book, load_inputs(orders=export))
    after = parts(book)
    assert after["xl/vbaProject.bin"] == before["xl/vbaProject.bin"]
    assert after["[Content_Types].xml"] == before["[Content_Types].xml"]
    assert after["xl/_rels/workbook.xml.rels"] == before["xl/_rels/workbook.xml.rels"]
    assert book.with_name("Macro.xlsm.bak").read_bytes()[:2] == b"PK"


def test_disk_full_during_refresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    book = write_workbook(plan_template(lang="en"), tmp_path / "T.xlsx")
    before = book.read_bytes()
    export = italian_export(tmp_path / "ordini.csv", _rows(20, dt.date(2023, 5, 1)))

    def full(fh: object, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files, "_write_all", full)
    with pytest.raises(WorkbookError, match="not enough disk space"):
        refresh(book, load_inputs(orders=export))
    assert book.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["T.xlsx", "ordini.csv"]


def test_bad_raw_tab_data_leaves_book_identical(tmp_path: Path) -> None:
    """A template with pasted subscriptions in a bad shape: refused, located, unchanged."""
    book = write_workbook(plan_template(lang="it"), tmp_path / "T.xlsx")
    pkg = read_package(book)
    part = pkg.workbook().role_parts()["SUBSCRIPTIONS"]
    xml = pkg.read(part)
    row = (
        b'<row r="2"><c r="A2" t="inlineStr"><is><t>c1</t></is></c>'
        b'<c r="B2" t="inlineStr"><is><t>sub_1</t></is></c>'
        b'<c r="C2" t="inlineStr"><is><t>domani</t></is></c></row>'
    )
    xml = re.sub(rb"(<row r=\"1\".*?</row>)", lambda m: m.group(1) + row, xml, count=1, flags=re.S)
    rewrite(book, {part: xml})
    before = book.read_bytes()
    export = italian_export(tmp_path / "ordini.csv", _rows(5, dt.date(2023, 5, 1)))
    with pytest.raises(Exception) as err:
        refresh(book, load_inputs(orders=export))
    assert "T.xlsx (sheet Abbonamenti), row 2" in str(err.value)
    assert "domani" in str(err.value)
    assert book.read_bytes() == before


KILL = """
import pathlib, sys, time
sys.path.insert(0, {root!r})
from retention_xl.io import load_inputs
from retention_xl import files
from retention_xl.workbook import package as pk
from retention_xl.workbook.refresh import refresh

def slow(fh, data):
    view = memoryview(data)
    fh.write(view[: len(view) // 2]); fh.flush()
    pathlib.Path({marker!r}).touch()
    time.sleep(120)
    fh.write(view[len(view) // 2 :])

files._write_all = slow
refresh({book!r}, load_inputs(orders={export!r}))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_refresh_killed_mid_write(tmp_path: Path) -> None:
    book = write_workbook(plan_template(lang="it"), tmp_path / "T.xlsx")
    export = italian_export(tmp_path / "ordini.csv", _rows(300, dt.date(2023, 5, 1)))
    before = book.read_bytes()
    marker = tmp_path / "halfway"
    script = KILL.format(root=str(ROOT), marker=str(marker), book=str(book), export=str(export))
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        for _ in range(1200):
            if marker.exists() or proc.poll() is not None:
                break
            time.sleep(0.05)
        assert marker.exists(), "refresh never reached the write"
    finally:
        proc.kill()
        proc.wait()
    assert book.read_bytes() == before
    with zipfile.ZipFile(book) as zf:
        assert zf.testzip() is None
    # the killed run's temporary file is there, named after the book and its process
    left = sorted(tmp_path.glob(".~rxl.T.xlsx.*.tmp"))
    assert [f.name.split(".")[4] for f in left] == [str(proc.pid)] * len(left) and left
    # the next run removes it and says so; a live run's file would be kept
    summary = refresh(book, load_inputs(orders=export))
    assert not list(tmp_path.glob(".~rxl.*"))
    assert any("temporary file left by an interrupted run" in n for n in summary.notes)


def test_no_raw_report(tmp_path: Path) -> None:
    first = italian_export(tmp_path / "ordini_1.csv", _rows(30, dt.date(2023, 1, 2)))
    inputs = load_inputs(orders=first)
    book = tmp_path / "Grande.xlsx"
    write_workbook(plan_report(inputs.orders, lang="it", no_raw=True, reports=inputs.reports), book)
    from retention_xl.workbook.bookinfo import book_settings

    pkg = read_package(book)
    assert book_settings(pkg, pkg.workbook()).no_raw
    second = italian_export(tmp_path / "ordini_2.csv", _rows(45, dt.date(2023, 6, 2), first=500))
    before = book.read_bytes()
    with pytest.raises(WorkbookError, match="--no-raw"):
        refresh(book, load_inputs(orders=second), append=True)
    assert book.read_bytes() == before
    summary = refresh(book, load_inputs(orders=second))
    assert summary.settings["no_raw"] == "true"
    assert _kpi(book, "orders") == 45.0
    orders_part = read_package(book).workbook().role_parts()["ORDERS"]
    assert b"A-500" not in read_package(book).read(orders_part)  # still no raw rows


def test_reader_opened_once_and_let_go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An append refresh reads several sheets back (the About sheet, every raw tab)
    through one calamine reader, opened once on the file, and lets it go (with its
    copy of the file) before planning."""
    import python_calamine

    from retention_xl.workbook import build, readback

    first = italian_export(tmp_path / "ordini_1.csv", _rows(30, dt.date(2023, 1, 2)))
    inputs = load_inputs(orders=first)
    book = tmp_path / "Rapporto.xlsx"
    write_workbook(plan_report(inputs.orders, lang="it", reports=inputs.reports), book)
    second = italian_export(tmp_path / "ordini_2.csv", _rows(45, dt.date(2023, 6, 2), first=500))

    class Reader:
        """The opened calamine workbook, behind a wrapper that weak references can
        follow (calamine's own objects take none). Only the wrapper holds it."""

        def __init__(self, book: object) -> None:
            self.book = book

        def __getattr__(self, name: str) -> object:
            return getattr(self.book, name)

    opened: list[weakref.ref[Reader]] = []
    sheets: list[str] = []
    open_book = python_calamine.CalamineWorkbook.from_filelike
    read_rows = readback.sheet_rows

    def counted_open(data: object) -> Reader:
        reader = Reader(open_book(data))
        opened.append(weakref.ref(reader))
        return reader

    def counted_rows(pkg: object, sheet: str) -> object:
        sheets.append(sheet)
        return read_rows(pkg, sheet)  # type: ignore[arg-type]

    held: list[int] = []
    plan = build.plan_report

    def planned(*args: object, **kwargs: object) -> object:
        # Readers other tests of this worker still hold are not counted: only ours.
        held.append(sum(ref() is not None for ref in opened))
        return plan(*args, **kwargs)

    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_filelike", counted_open)
    monkeypatch.setattr(readback, "sheet_rows", counted_rows)
    monkeypatch.setattr("retention_xl.workbook.bookinfo.sheet_rows", counted_rows)
    monkeypatch.setattr(build, "plan_report", planned)
    summary = refresh(book, load_inputs(orders=second), append=True, backup=False)
    assert summary.merged["orders"]["total"] == 75
    assert len(set(sheets)) >= 2, sheets  # the About sheet and the raw tabs
    assert len(opened) == 1
    assert held == [0]  # no reader left while planning
