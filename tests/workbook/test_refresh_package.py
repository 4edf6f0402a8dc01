"""The package layer of refresh: safe reading, byte-identical writing, atomic replace, locks."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

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

from retention_xl import files
from retention_xl.errors import WorkbookError
from retention_xl.files import (
    WorkbookLockedError,
    backup_path,
    check_not_locked,
    replace_atomically,
)
from retention_xl.workbook.bookxml import set_full_calc_on_load, without_calc_chain
from retention_xl.workbook.package import parse_reference, read_package
from retention_xl.workbook.zipwrite import deflate_part, write_package

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def book(tmp_path: Path) -> Path:
    return marked_book(tmp_path / "Report.xlsx")


# --------------------------------------------------------------------------- reading


def test_parts_in_order_with_metadata(book: Path) -> None:
    pkg = read_package(book)
    with zipfile.ZipFile(book) as zf:
        infos = zf.infolist()
        assert pkg.names == [i.filename for i in infos]
        for part, info in zip(pkg.parts, infos, strict=True):
            assert part.data() == zf.read(info)
            assert (part.crc, part.size, len(part.raw)) == (
                info.CRC,
                info.file_size,
                info.compress_size,
            )
    assert pkg.original == book.read_bytes()


def test_roles_resolve_to_worksheet_parts(book: Path) -> None:
    info = read_package(book).workbook()
    roles = info.role_parts()
    assert set(roles) == {"ORDERS", "KPIS", "ABOUT"}
    wb = parts(book)
    assert b"customer_id" in wb["xl/sharedStrings.xml"]
    # the KPIs part is the one holding the 45.0 input
    assert b"<v>45</v>" in wb[roles["KPIS"]]
    sheet, ref = info.resolve_name("Input_CAC")  # type: ignore[misc]
    assert (sheet.name, ref, sheet.part) == ("KPIs", "C4", roles["KPIS"])


def test_roles_follow_renamed_and_reordered_sheets(book: Path) -> None:
    before = read_package(book).workbook().role_parts()
    rename_sheet(book, "Orders", "Ordini di Mario's")
    rename_sheet(book, "KPIs", "Indicatori")
    reorder_sheets(book)
    info = read_package(book).workbook()
    assert [s.name for s in info.sheets][-1] == "Ordini di Mario's"
    assert info.role_parts() == before
    assert info.role_sheets()["ORDERS"].name == "Ordini di Mario's"
    assert info.resolve_name("input_cac")[0].name == "Indicatori"  # type: ignore[index]


def test_deleted_sheet_marker_is_ignored(book: Path) -> None:
    wb = parts(book)["xl/workbook.xml"].replace(b"'About'!$A$1", b"#REF!$A$1")
    rewrite(book, {"xl/workbook.xml": wb})
    assert "ABOUT" not in read_package(book).workbook().role_parts()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("='KPIs'!$C$4", ("KPIs", "C4")),
        ("KPIs!$C$4", ("KPIs", "C4")),
        ("'L''ultimo'!C4:D9", ("L'ultimo", "C4")),
        ("='Indicatori 2025'!$AB$1048576", ("Indicatori 2025", "AB1048576")),
        ("#REF!", None),
        ('="it"', None),
        ("=SUM(KPIs!A1:A2)", None),
    ],
)
def test_parse_reference(text: str, expected: tuple[str, str] | None) -> None:
    assert parse_reference(text) == expected


# --------------------------------------------------------------------------- writing


def test_unchanged_write_is_identical_part_by_part(book: Path, tmp_path: Path) -> None:
    out = tmp_path / "copy.xlsx"
    out.write_bytes(write_package(read_package(book), {}))
    assert parts(out) == parts(book)
    assert list(parts(out)) == list(parts(book))
    # compressed bytes copied as they were, not recompressed
    assert raw_members(out) == raw_members(book)
    with zipfile.ZipFile(out) as zf:
        assert zf.testzip() is None


def test_only_changed_parts_change(book: Path, tmp_path: Path) -> None:
    pkg = read_package(book)
    target = pkg.workbook().role_parts()["ORDERS"]
    new_sheet = pkg.read(target).replace(b"10.5", b"99.5")
    out = tmp_path / "changed.xlsx"
    out.write_bytes(
        write_package(
            pkg, {target: new_sheet, "docProps/app.xml": None}, add=[("x/new.xml", b"<a/>")]
        )
    )
    before, after = parts(book), parts(out)
    assert after[target] == new_sheet
    assert "docProps/app.xml" not in after
    assert after["x/new.xml"] == b"<a/>"
    same = [n for n in before if n not in (target, "docProps/app.xml")]
    assert all(after[n] == before[n] for n in same)
    assert list(after) == [n for n in before if n != "docProps/app.xml"] + ["x/new.xml"]
    raw_before, raw_after = raw_members(book), raw_members(out)
    assert all(raw_after[n] == raw_before[n] for n in same)


def test_write_refuses_unknown_parts(book: Path) -> None:
    pkg = read_package(book)
    with pytest.raises(WorkbookError, match="not in the workbook"):
        write_package(pkg, {"xl/nothere.xml": b""})
    with pytest.raises(WorkbookError, match="already has"):
        write_package(pkg, {}, add=[("xl/workbook.xml", b"")])


def test_xlsm_keeps_vba_project(tmp_path: Path) -> None:
    book = marked_book(tmp_path / "Macro.xlsm", vba=True)
    pkg = read_package(book)
    assert pkg.is_macro_enabled
    out = tmp_path / "out.xlsm"
    kpis = pkg.workbook().role_parts()["KPIS"]
    out.write_bytes(write_package(pkg, {kpis: pkg.read(kpis) + b" "}))
    assert parts(out)["xl/vbaProject.bin"] == parts(book)["xl/vbaProject.bin"]
    ct = parts(out)["[Content_Types].xml"]
    assert b"macroEnabled" in ct


def test_non_ascii_part_names_round_trip(book: Path, tmp_path: Path) -> None:
    rewrite(book, {}, add={"customXml/perché.xml": "<nota>è</nota>".encode()})
    out = tmp_path / "copy.xlsx"
    out.write_bytes(write_package(read_package(book), {}))
    assert parts(out)["customXml/perché.xml"] == "<nota>è</nota>".encode()


def test_deflate_level_trades_size_for_time_and_reads_back(book: Path, tmp_path: Path) -> None:
    """Every level gives the same content back; a lower level gives more bytes."""
    pkg = read_package(book)
    name = max(pkg.parts, key=lambda p: p.size).name
    content = pkg.read(name)
    chunks = [content[i : i + 65536] for i in range(0, len(content), 65536)]
    fast, small = (deflate_part(name, chunks, like=pkg.part(name), level=n) for n in (1, 9))
    assert len(fast.raw) > len(small.raw)
    for level, part in (("1", fast), ("9", small)):
        out = tmp_path / f"level{level}.xlsx"
        out.write_bytes(write_package(pkg, {name: part}))
        with zipfile.ZipFile(out) as zf:
            assert zf.testzip() is None
            assert zf.read(name) == content
            assert zf.getinfo(name).date_time == pkg.part(name).date_time


# --------------------------------------------------------------------------- XML edits


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        (b'<workbook><calcPr calcId="1"/></workbook>', b'<calcPr calcId="1" fullCalcOnLoad="1"/>'),
        (
            b'<workbook><calcPr fullCalcOnLoad="0" calcId="1"/></workbook>',
            b'<calcPr fullCalcOnLoad="1" calcId="1"/>',
        ),
        (b"<workbook><calcPr></calcPr></workbook>", b'<calcPr fullCalcOnLoad="1"></calcPr>'),
        (
            b"<workbook><sheets/><definedNames/><extLst/></workbook>",
            b'<definedNames/><calcPr fullCalcOnLoad="1"/><extLst/>',
        ),
        (b"<workbook><sheets/></workbook>", b'<sheets/><calcPr fullCalcOnLoad="1"/></workbook>'),
    ],
)
def test_full_calc_on_load(xml: bytes, expected: bytes) -> None:
    out = set_full_calc_on_load(xml)
    assert expected in out
    assert set_full_calc_on_load(out) == out


def test_full_calc_on_load_parses_in_every_generated_book(book: Path) -> None:
    pkg = read_package(book)
    new = set_full_calc_on_load(pkg.read("xl/workbook.xml"))
    assert b'fullCalcOnLoad="1"' in new
    from retention_xl.io.safety import parse_xml

    root = parse_xml(new)
    assert root.tag.endswith("workbook")


def test_calc_chain_is_removed_with_rel_and_override(book: Path, tmp_path: Path) -> None:
    add_calc_chain(book)
    pkg = read_package(book)
    changes = without_calc_chain(pkg, pkg.workbook())
    assert changes["xl/calcChain.xml"] is None
    out = tmp_path / "nochain.xlsx"
    out.write_bytes(write_package(pkg, changes))
    after = parts(out)
    assert "xl/calcChain.xml" not in after
    assert b"calcChain" not in after["xl/_rels/workbook.xml.rels"]
    assert b"calcChain" not in after["[Content_Types].xml"]
    assert b"worksheets/sheet1.xml" in after["xl/_rels/workbook.xml.rels"]
    import openpyxl

    assert openpyxl.load_workbook(out).sheetnames[:2] == ["Orders", "KPIs"]
    assert without_calc_chain(read_package(out), read_package(out).workbook()) == {}


# --------------------------------------------------------------------------- refusing bad books


def _bomb(path: Path) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"\0" * (60 * 1024**2))


BAD_BOOKS = {
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
    "not a zip": lambda p: p.write_bytes(b"customer_id,order_id\n1,2\n"),
    "encrypted": lambda p: p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600),
    "zip bomb": _bomb,
    "xxe": lambda p: rewrite(
        p,
        {
            "xl/workbook.xml": b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY x SYSTEM '
            b'"file:///etc/passwd">]><workbook>&x;</workbook>'
        },
    ),
    "billion laughs": lambda p: rewrite(
        p,
        {
            "xl/styles.xml": b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;">]><styleSheet>&b;</styleSheet>'
        },
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_BOOKS))
def test_bad_books_are_refused(book: Path, case: str) -> None:
    BAD_BOOKS[case](book)
    before = book.read_bytes()
    with pytest.raises(WorkbookError) as err:
        pkg = read_package(book)
        pkg.workbook()
    message = str(err.value)
    assert "Report.xlsx" in message
    assert {
        "truncated": "damaged",
        "not a zip": "not an .xlsx",
        "encrypted": "password",
        "zip bomb": "zip bomb",
        "xxe": "DTD",
        "billion laughs": "DTD",
    }[case] in message
    assert book.read_bytes() == before


def test_missing_book(tmp_path: Path) -> None:
    with pytest.raises(WorkbookError, match="does not exist"):
        read_package(tmp_path / "nope.xlsx")


def test_damaged_member_detected_by_crc(book: Path) -> None:
    data = bytearray(book.read_bytes())
    with zipfile.ZipFile(book) as zf:
        info = zf.getinfo("xl/styles.xml")
    # flip one byte inside the stored data of styles.xml
    name_len = len(info.filename.encode())
    at = info.header_offset + 30 + name_len + 5
    data[at] ^= 0xFF
    book.write_bytes(bytes(data))
    with pytest.raises(WorkbookError, match="damaged"):
        read_package(book).read("xl/styles.xml")


def _lying_member(book: Path, name: str, content: bytes, declared: int) -> None:
    """Add part ``name`` to ``book`` deflated, its local and central headers saying it
    unpacks to ``declared`` bytes (a bomb hiding its size, or a damaged file)."""
    with zipfile.ZipFile(book, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name, content)
    data = bytearray(book.read_bytes())
    encoded = name.encode()
    with zipfile.ZipFile(book) as zf:
        local = zf.getinfo(name).header_offset
    data[local + 22 : local + 26] = declared.to_bytes(4, "little")
    central = data.find(b"PK\x01\x02")
    while central != -1:
        n = int.from_bytes(data[central + 28 : central + 30], "little")
        if bytes(data[central + 46 : central + 46 + n]) == encoded:
            data[central + 24 : central + 28] = declared.to_bytes(4, "little")
            break
        central = data.find(b"PK\x01\x02", central + 4)
    else:
        raise AssertionError(f"no central record for {name}")
    book.write_bytes(bytes(data))


def test_part_inflating_past_its_declared_size_is_refused_early(book: Path) -> None:
    """A part that inflates to more than its headers say is refused, and never
    inflated further than the declared size (the zip-bomb limits read the headers)."""
    _lying_member(book, "xl/media/blob.bin", bytes(5_000_000), declared=1_000)
    pkg = read_package(book)  # the headers alone look fine
    part = pkg.part("xl/media/blob.bin")
    assert part.size == 1_000
    seen = 0
    with pytest.raises(WorkbookError, match=r"blob\.bin.*damaged"):
        for piece in part.pieces():
            seen += len(piece)
    assert seen <= 1_000
    with pytest.raises(WorkbookError, match="damaged") as err:
        pkg.read("xl/media/blob.bin")
    assert str(err.value).startswith("Report.xlsx: part 'xl/media/blob.bin' is damaged")


def test_parts_are_views_of_the_file_read_once(book: Path) -> None:
    """The compressed bytes of every part point into the one copy of the file the
    package holds: reading a 100 MB book keeps 100 MB, not 200."""
    pkg = read_package(book)
    for part in pkg.parts:
        assert isinstance(part.raw, memoryview)
        assert part.raw.obj is pkg.original
    assert pkg.read("xl/styles.xml") == zipfile.ZipFile(book).read("xl/styles.xml")


def test_same_data_compares_content_piece_by_piece() -> None:
    """Two parts are the same when their uncompressed bytes are, however they were
    compressed or cut; equal sizes and checksums alone do not make them the same."""
    import dataclasses

    text = b"".join(b'<row r="%d"><c><v>%d</v></c></row>' % (i, i * 7) for i in range(20_000))
    a = deflate_part("a.xml", [text])
    b = deflate_part("b.xml", [text[:1234], text[1234:]], level=1)
    assert a.raw != b.raw and a.same_data(b) and b.same_data(a)
    changed = text.replace(b"<v>700</v>", b"<v>701</v>")
    c = deflate_part("c.xml", [changed])
    assert len(changed) == len(text) and not a.same_data(c)
    # a part claiming a's size and checksum but holding other bytes is not the same
    forged = dataclasses.replace(c, crc=a.crc)
    assert not a.same_data(forged) and not forged.same_data(a)
    assert not a.same_data(deflate_part("d.xml", [text, b" "]))


# --------------------------------------------------------------------------- locks


@pytest.mark.parametrize(
    ("lock_name", "content", "expected"),
    [
        ("~$Report.xlsx", b"\x05Mario", "open in Excel"),
        (
            ".~lock.Report.xlsx#",
            b",Mario Rossi,pc-mario,01.12.2026 09:00,file:///x;",
            "LibreOffice by Mario Rossi",
        ),
    ],
)
def test_locked_book_refused(book: Path, lock_name: str, content: bytes, expected: str) -> None:
    (book.parent / lock_name).write_bytes(content)
    with pytest.raises(WorkbookLockedError) as err:
        check_not_locked(book)
    assert expected in str(err.value)
    assert lock_name in str(err.value)
    assert "delete" in str(err.value)


def test_read_only_book_refused(book: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # as root every file is writable, so the permission answer is simulated
    monkeypatch.setattr(files.os, "access", lambda path, mode: mode != os.W_OK)
    with pytest.raises(WorkbookLockedError, match="read-only"):
        check_not_locked(book)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX record locks")
def test_book_locked_by_another_process_refused(book: Path, tmp_path: Path) -> None:
    ready = tmp_path / "locked"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import fcntl, pathlib, time
                fh = open({str(book)!r}, "r+b")
                fcntl.lockf(fh.fileno(), fcntl.LOCK_EX)
                pathlib.Path({str(ready)!r}).touch()
                time.sleep(60)
                """
            ),
        ]
    )
    try:
        for _ in range(200):
            if ready.exists():
                break
            time.sleep(0.05)
        assert ready.exists()
        with pytest.raises(WorkbookLockedError, match="another program"):
            check_not_locked(book)
    finally:
        holder.kill()
        holder.wait()
    check_not_locked(book)  # free again


def test_unlocked_book_passes(book: Path) -> None:
    check_not_locked(book)


# --------------------------------------------------------------------------- atomic replace


def test_replace_keeps_backup_and_mode(book: Path) -> None:
    before = book.read_bytes()
    book.chmod(0o640)
    pkg = read_package(book)
    bak = replace_atomically(book, b"new bytes", expect=pkg.stat, original=pkg.original)
    assert bak == backup_path(book) == book.with_name("Report.xlsx.bak")
    assert bak.read_bytes() == before
    assert book.read_bytes() == b"new bytes"
    assert stat.S_IMODE(book.stat().st_mode) == 0o640
    assert sorted(p.name for p in book.parent.iterdir()) == ["Report.xlsx", "Report.xlsx.bak"]


def test_replace_without_backup(book: Path) -> None:
    assert replace_atomically(book, b"x", backup=False) is None
    assert not backup_path(book).exists()


def test_disk_full_leaves_book_identical(book: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = book.read_bytes()
    calls = []

    def full(fh: object, data: bytes) -> None:
        calls.append(len(data))
        fh.write(bytes(data)[:100])  # type: ignore[attr-defined]
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files, "_write_all", full)
    with pytest.raises(WorkbookError, match="not enough disk space") as err:
        replace_atomically(book, b"y" * 10_000)
    assert "was not changed" in str(err.value)
    assert calls
    assert book.read_bytes() == before
    assert [p.name for p in book.parent.iterdir()] == ["Report.xlsx"]  # no temp, no .bak


def test_failing_fsync_leaves_book_identical(book: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = book.read_bytes()

    def broken(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(files.os, "fsync", broken)
    with pytest.raises(WorkbookError, match="was not changed"):
        replace_atomically(book, b"y")
    assert book.read_bytes() == before
    assert [p.name for p in book.parent.iterdir()] == ["Report.xlsx"]


def test_book_saved_meanwhile_is_not_overwritten(book: Path) -> None:
    pkg = read_package(book)
    time.sleep(0.01)
    book.write_bytes(book.read_bytes() + b"")  # someone saves it (new mtime)
    os.utime(book, ns=(pkg.stat.mtime_ns + 10**9, pkg.stat.mtime_ns + 10**9))
    saved = book.read_bytes()
    with pytest.raises(WorkbookError, match="saved by another program"):
        replace_atomically(book, b"new", expect=pkg.stat, original=pkg.original)
    assert book.read_bytes() == saved


KILL_SCRIPT = """
import pathlib, sys, time
sys.path.insert(0, {root!r})
from retention_xl import files
from retention_xl.workbook import package as pk
from retention_xl.workbook.zipwrite import write_package

book = pathlib.Path({book!r})
pkg = pk.read_package(book)
target = pkg.workbook().role_parts()["ORDERS"]
data = write_package(pkg, {{target: pkg.read(target) + b" " * 5_000_000}})

def slow(fh, data):
    view = memoryview(data)
    fh.write(view[: len(view) // 2])
    fh.flush()
    pathlib.Path({marker!r}).touch()
    time.sleep(120)
    fh.write(view[len(view) // 2 :])

files._write_all = slow
files.replace_atomically(book, data, expect=pkg.stat, original=pkg.original)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_kill_during_write_leaves_book_identical(book: Path, tmp_path: Path) -> None:
    before = book.read_bytes()
    marker = tmp_path / "halfway"
    script = KILL_SCRIPT.format(root=str(ROOT), book=str(book), marker=str(marker))
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        for _ in range(600):
            if marker.exists() or proc.poll() is not None:
                break
            time.sleep(0.05)
        assert marker.exists(), "the writer never reached the middle of the write"
        temps = list(book.parent.glob(".~rxl.*"))
        assert temps and temps[0].stat().st_size > 0  # it really was writing
    finally:
        proc.kill()  # SIGKILL: no cleanup handlers run
        proc.wait()
    assert proc.returncode == -9
    assert book.read_bytes() == before
    assert read_package(book).workbook().role_parts()  # still a good workbook
