"""A workbook package (.xlsx/.xlsm) as parts, read safely and written back atomically.

Refresh edits a few parts of a user's workbook (the ``<sheetData>`` of the sheets the
generator owns, ``styles.xml``, ``workbook.xml``) and must leave every other part as it
was: user sheets, charts, drawings, images, comments, names, VBA. So it never goes
through a spreadsheet library; it works on the zip package:

* :func:`read_package` reads the whole file once (a consistent snapshot), checks it
  against zip bombs and XML entity attacks (:mod:`retention_xl.io.safety`), and keeps
  every part's *compressed* bytes (views into the file's bytes, held once) with its zip
  metadata, in the original order; a part is inflated piece by piece, never past the
  size its headers declare;
* :meth:`Package.workbook` parses ``workbook.xml``, its relationships and the defined
  names, and :meth:`WorkbookInfo.role_parts` resolves the ``RXL_SHEET_<ROLE>`` markers to
  worksheet part names, whatever the sheets are called or where they are now;
* :func:`~retention_xl.workbook.zipwrite.write_package` writes a new package in which
  only the given parts change (the other parts' compressed bytes are copied as they
  are, so they stay byte-identical), and :mod:`retention_xl.workbook.bookxml` makes the
  workbook-level XML edits;
* :func:`~retention_xl.files.replace_atomically` puts it in place and
  :func:`~retention_xl.files.check_not_locked` refuses a workbook that Excel or
  LibreOffice has open (both live in :mod:`retention_xl.files`, shared by every command
  that writes a file).

Examples
--------
>>> pkg = read_package("report.xlsx")  # doctest: +SKIP
>>> pkg.workbook().role_parts()["ORDERS"]  # doctest: +SKIP
'xl/worksheets/sheet9.xml'
>>> data = write_package(pkg, {"xl/worksheets/sheet9.xml": new_xml})  # doctest: +SKIP
>>> replace_atomically("report.xlsx", data, expect=pkg.stat)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

from retention_xl.errors import InputError, WorkbookError
from retention_xl.files import FileStat, backup_path
from retention_xl.io.safety import DEFAULT_LIMITS, ZipLimits, check_zip_package, parse_xml
from retention_xl.io.tables import check_xml_parts
from retention_xl.workbook.manifest import AREA_PREFIX
from retention_xl.workbook.plan import sheet_marker

__all__ = [
    "Package",
    "Part",
    "SheetEntry",
    "WorkbookInfo",
    "parse_reference",
    "read_package",
    "rels_part_of",
    "resolve_target",
]

log = logging.getLogger(__name__)

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
REL_CALC_CHAIN = "/calcChain"
REL_STYLES = "/styles"
REL_SHARED_STRINGS = "/sharedStrings"
CONTENT_TYPES = "[Content_Types].xml"
WORKBOOK_RELS_DIR = "_rels"

_MAX_ZIP32 = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class Part:
    """One member of the package: its name, zip metadata and compressed bytes.

    ``raw`` is the member's data exactly as stored in the zip (deflated or stored): for
    a part read from a file, a view into the file's bytes (not a copy of them);
    :meth:`data` inflates it and checks its CRC.
    """

    name: str
    method: int
    crc: int
    size: int
    raw: bytes | memoryview
    date_time: tuple[int, int, int, int, int, int]
    flag_bits: int
    external_attr: int
    create_system: int

    def data(self) -> bytes:
        """The part's uncompressed bytes (CRC checked).

        A deflated part is inflated piece by piece into one growing buffer, so a
        300 MB sheet costs 300 MB, not twice that while zlib's blocks are joined.
        """
        if self.method == zipfile.ZIP_STORED:
            out = bytes(self.raw)
        else:
            buf = io.BytesIO()
            for piece in self.pieces():
                buf.write(piece)
            out = buf.getvalue()
            del buf
        if len(out) != self.size or zlib.crc32(out) != self.crc:
            raise self._damaged()
        return out

    def pieces(self, step: int = 1 << 18) -> Iterator[bytes]:
        """The uncompressed bytes in pieces, never more than the part says it holds
        (a part that inflates to more is refused: a zip bomb or a damaged file).

        >>> import dataclasses
        >>> from retention_xl.workbook.zipwrite import deflate_part
        >>> part = deflate_part("a.xml", [b"ab" * 1000])
        >>> b"".join(part.pieces(step=7)) == b"ab" * 1000
        True
        >>> b"".join(dataclasses.replace(part, size=1999).pieces())  # says less than it holds
        Traceback (most recent call last):
        ...
        retention_xl.errors.WorkbookError: part 'a.xml' is damaged (size or checksum ...
        """
        if self.method == zipfile.ZIP_STORED:
            yield bytes(self.raw)
            return
        if self.method != zipfile.ZIP_DEFLATED:
            raise WorkbookError(
                f"part {self.name!r} uses zip compression method {self.method}, which "
                "Excel does not write; save the workbook again from Excel or LibreOffice"
            )
        view = memoryview(self.raw)
        inflater = zlib.decompressobj(-15)
        left = self.size
        try:
            for at in range(0, len(view), step):
                piece = inflater.decompress(view[at : at + step], left + 1)
                if inflater.unconsumed_tail or len(piece) > left:
                    raise self._damaged()  # more than its declared size
                left -= len(piece)
                if piece:
                    yield piece
            piece = inflater.flush()
        except zlib.error as exc:
            raise WorkbookError(f"part {self.name!r} is damaged ({exc})") from exc
        if len(piece) > left:
            raise self._damaged()
        if piece:
            yield piece

    def same_data(self, other: Part) -> bool:
        """Whether both parts hold the same uncompressed bytes, compared piece by
        piece (neither is inflated whole).

        >>> from retention_xl.workbook.zipwrite import deflate_part
        >>> a = deflate_part("x.xml", [b"<a>" * 500])
        >>> a.same_data(deflate_part("y.xml", [b"<a>" * 200, b"<a>" * 300], level=1))
        True
        >>> a.same_data(deflate_part("y.xml", [b"<a>" * 499, b"<b>"]))
        False
        """
        if self.size != other.size or self.crc != other.crc:
            return False
        mine, theirs = self.pieces(), other.pieces()
        a = b = b""
        i = j = 0  # how far into a and b the bytes already matched
        while True:
            if i == len(a):
                a, i = next(mine, b""), 0
            if j == len(b):
                b, j = next(theirs, b""), 0
            if not a or not b:
                return not a and not b
            n = min(len(a) - i, len(b) - j)
            if not a.startswith(memoryview(b)[j : j + n], i):  # no copies
                return False
            i, j = i + n, j + n

    def _damaged(self) -> WorkbookError:
        return WorkbookError(
            f"part {self.name!r} is damaged (size or checksum mismatch); the file was "
            "not saved completely. Open it in Excel to repair it, or use the .bak copy"
        )


@dataclass(frozen=True, slots=True)
class SheetEntry:
    """A ``<sheet>`` of ``workbook.xml``: visible name, position, relationship and part."""

    name: str
    index: int  #: zero-based position in the tab order
    sheet_id: str
    rel_id: str
    part: str | None  #: e.g. ``xl/worksheets/sheet1.xml``; None for a broken relationship
    kind: str  #: relationship type suffix: "worksheet", "chartsheet", "dialogsheet", ...
    state: str = "visible"


@dataclass(slots=True)
class WorkbookInfo:
    """What refresh needs from ``workbook.xml`` and its relationships."""

    part: str  #: the workbook part, normally ``xl/workbook.xml``
    sheets: list[SheetEntry]
    names: dict[str, str]  #: workbook-level defined names -> formula text
    local_names: dict[tuple[int, str], str]  #: (sheet index, name) -> formula text
    rels: dict[str, tuple[str, str]]  #: rel id -> (type, target part)

    def sheet_by_name(self, name: str) -> SheetEntry | None:
        """The sheet called ``name`` (case-insensitive, as Excel compares names)."""
        key = name.casefold()
        for sheet in self.sheets:
            if sheet.name.casefold() == key:
                return sheet
        return None

    def resolve_name(self, name: str) -> tuple[SheetEntry, str] | None:
        """``(sheet, "C4")`` for a defined name referring to one cell, else None."""
        formula = _lookup(self.names, name)
        if formula is None:
            return None
        ref = parse_reference(formula)
        if ref is None:
            return None
        sheet = self.sheet_by_name(ref[0])
        return None if sheet is None else (sheet, ref[1])

    def role_sheets(self) -> dict[str, SheetEntry]:
        """``{role: sheet}`` for every ``RXL_SHEET_<ROLE>`` marker that resolves."""
        out: dict[str, SheetEntry] = {}
        prefix = sheet_marker("").casefold()
        for name in self.names:
            if not name.casefold().startswith(prefix):
                continue
            role = name[len(prefix) :].upper()
            found = self.resolve_name(name)
            if found is not None and role:
                out[role] = found[0]
        # a marker broken by a deleted first row or column (#REF!): the sheet is still
        # there, and its manifest's area name (a range) says where
        area = AREA_PREFIX.casefold()
        for name in self.names:
            role = name[len(area) :].upper() if name.casefold().startswith(area) else ""
            if role and role not in out:
                found = self.resolve_name(name)
                if found is not None:
                    out[role] = found[0]
        return out

    def role_parts(self) -> dict[str, str]:
        """``{role: worksheet part name}`` for the marked worksheets."""
        return {
            role: s.part
            for role, s in self.role_sheets().items()
            if s.part is not None and s.kind == "worksheet"
        }

    def rel_target(self, suffix: str) -> str | None:
        """The part of the first workbook relationship whose type ends with ``suffix``."""
        for rel_type, target in self.rels.values():
            if rel_type.endswith(suffix):
                return target
        return None


def _lookup(names: Mapping[str, str], name: str) -> str | None:
    if name in names:
        return names[name]
    key = name.casefold()
    for k, v in names.items():
        if k.casefold() == key:
            return v
    return None


_REF = re.compile(
    r"""^=?\s*(?:'((?:[^']|'')+)'|([^'!\s][^!]*))!\$?([A-Za-z]{1,3})\$?(\d{1,7})
        (?::\$?[A-Za-z]{1,3}\$?\d{1,7})?\s*$""",
    re.VERBOSE,
)


def parse_reference(formula: str) -> tuple[str, str] | None:
    """``("Sheet name", "C4")`` from a defined name's text ``'Sheet name'!$C$4``.

    A range gives its top-left cell. ``#REF!`` (a deleted sheet) and constants give None.

    Examples
    --------
    >>> parse_reference("='L''ultimo mese'!$B$2")
    ("L'ultimo mese", 'B2')
    >>> parse_reference("KPIs!$C$4:$C$9")
    ('KPIs', 'C4')
    >>> parse_reference("#REF!$A$1") is None
    True
    """
    m = _REF.match(formula.strip())
    if m is None:
        return None
    sheet = m.group(1).replace("''", "'") if m.group(1) is not None else m.group(2).strip()
    if sheet.startswith("#REF"):
        return None
    return sheet, f"{m.group(3).upper()}{m.group(4)}"


@dataclass(slots=True)
class Package:
    """A workbook package read into memory: its parts in their original order."""

    path: Path
    parts: list[Part]
    original: bytes  #: the whole file as read (written to ``BOOK.bak``)
    stat: FileStat
    comment: bytes = b""
    _by_name: dict[str, Part] = field(default_factory=dict, repr=False)
    #: The calamine workbook :mod:`.readback` opened on ``original``: once, however
    #: many sheets are read; :meth:`release` lets it go.
    reader: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_name = {p.name: p for p in self.parts}

    def release(self) -> None:
        """Let the reader opened on the file go (it holds a copy of it)."""
        self.reader = None

    @property
    def names(self) -> list[str]:
        """Part names in their order in the file."""
        return [p.name for p in self.parts]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def part(self, name: str) -> Part:
        """The part called ``name`` (WorkbookError when missing)."""
        try:
            return self._by_name[name]
        except KeyError:
            raise WorkbookError(
                f"{self.path.name} has no part {name!r}: it is not a complete Excel workbook"
            ) from None

    def read(self, name: str) -> bytes:
        """The uncompressed bytes of part ``name`` (a damaged part is refused, naming
        the file)."""
        part = self.part(name)
        try:
            return part.data()
        except WorkbookError as exc:
            raise WorkbookError(f"{self.path.name}: {exc}") from exc

    def xml(self, name: str) -> Element:
        """Part ``name`` parsed with DTDs and entities forbidden."""
        try:
            return parse_xml(self.read(name), part=f"{self.path.name}: {name}")
        except InputError as exc:
            raise WorkbookError(str(exc)) from exc

    @property
    def is_macro_enabled(self) -> bool:
        """True for an .xlsm package (it holds ``xl/vbaProject.bin``)."""
        return "xl/vbaProject.bin" in self._by_name

    def workbook_part(self) -> str:
        """The workbook part named by the package relationships (``xl/workbook.xml``)."""
        root = self.xml("_rels/.rels")
        for rel in root.iter(f"{{{NS_PKG_REL}}}Relationship"):
            if rel.get("Type", "").endswith("/officeDocument"):
                return resolve_target("", rel.get("Target", ""))
        raise WorkbookError(f"{self.path.name} has no workbook part: it is not an Excel workbook")

    def workbook(self) -> WorkbookInfo:
        """Parse ``workbook.xml`` (sheets, defined names) and its relationships."""
        wb_part = self.workbook_part()
        rels = self.relationships(wb_part)
        root = self.xml(wb_part)
        sheets: list[SheetEntry] = []
        for i, el in enumerate(root.iter(f"{{{NS_MAIN}}}sheet")):
            rid = el.get(f"{{{NS_REL}}}id", "")
            rel_type, target = rels.get(rid, ("", ""))
            sheets.append(
                SheetEntry(
                    name=el.get("name", ""),
                    index=i,
                    sheet_id=el.get("sheetId", ""),
                    rel_id=rid,
                    part=target or None,
                    kind=rel_type.rsplit("/", 1)[-1] if rel_type else "",
                    state=el.get("state", "visible"),
                )
            )
        names: dict[str, str] = {}
        local: dict[tuple[int, str], str] = {}
        for el in root.iter(f"{{{NS_MAIN}}}definedName"):
            name = el.get("name", "")
            text = el.text or ""
            sheet_index = el.get("localSheetId")
            if sheet_index is None:
                names[name] = text
            else:
                with contextlib.suppress(ValueError):
                    local[(int(sheet_index), name)] = text
        return WorkbookInfo(part=wb_part, sheets=sheets, names=names, local_names=local, rels=rels)

    def relationships(self, part: str) -> dict[str, tuple[str, str]]:
        """``{rel id: (type, target part)}`` of ``part`` (internal targets resolved)."""
        rels_name = rels_part_of(part)
        if rels_name not in self:
            return {}
        root = self.xml(rels_name)
        base = posixpath.dirname(part)
        out: dict[str, tuple[str, str]] = {}
        for rel in root.iter(f"{{{NS_PKG_REL}}}Relationship"):
            target = rel.get("Target", "")
            if rel.get("TargetMode") == "External":
                resolved = target
            else:
                resolved = resolve_target(base, target)
            out[rel.get("Id", "")] = (rel.get("Type", ""), resolved)
        return out


def rels_part_of(part: str) -> str:
    """``xl/_rels/workbook.xml.rels`` for ``xl/workbook.xml``."""
    folder, name = posixpath.split(part)
    return posixpath.join(folder, WORKBOOK_RELS_DIR, f"{name}.rels")


def resolve_target(base: str, target: str) -> str:
    """A relationship target as a part name: ``("xl", "worksheets/sheet1.xml")`` ->
    ``xl/worksheets/sheet1.xml``; absolute targets (``/xl/...``) start at the root.

    >>> resolve_target("xl", "../docProps/app.xml")
    'docProps/app.xml'
    """
    joined = target.lstrip("/") if target.startswith("/") else posixpath.join(base, target)
    return posixpath.normpath(joined).lstrip("/")


# --------------------------------------------------------------------------- reading


def read_package(path: str | Path, *, limits: ZipLimits = DEFAULT_LIMITS) -> Package:
    """Read the workbook at ``path`` into a :class:`Package`, safely.

    The file is read once; its zip structure is checked against the limits of
    :func:`~retention_xl.io.safety.check_zip_package` (zip bombs) and the prolog of every
    XML part against DTDs and entities (XXE, billion laughs).

    Raises
    ------
    WorkbookError
        The file is missing, not an .xlsx/.xlsm package, encrypted, damaged or unsafe.
    """
    p = Path(path)
    try:
        with p.open("rb") as fh:
            st = os.fstat(fh.fileno())
            original = fh.read()
    except FileNotFoundError:
        raise WorkbookError(f"{p} does not exist") from None
    except IsADirectoryError:
        raise WorkbookError(f"{p} is a folder, not a workbook") from None
    except OSError as exc:
        raise WorkbookError(f"{p.name} cannot be read: {exc.strerror or exc}") from exc
    if original.startswith(b"\xd0\xcf\x11\xe0"):
        raise WorkbookError(
            f"{p.name} is password-protected or an old .xls file; only unencrypted "
            ".xlsx/.xlsm workbooks can be refreshed. Remove the password (File > Info > "
            "Protect Workbook) or save it as .xlsx"
        )
    if not original.startswith(b"PK"):
        raise WorkbookError(f"{p.name} is not an .xlsx/.xlsm workbook (not a zip package)")
    try:
        zipfile.ZipFile(io.BytesIO(original)).close()
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise WorkbookError(
            f"{p.name} is damaged (not a complete zip package: {exc}); it was probably not "
            f"saved completely. Open it in Excel to repair it, or use {backup_path(p).name}"
        ) from exc
    try:
        check_zip_package(io.BytesIO(original), limits=limits, name=p.name)
    except InputError as exc:
        raise WorkbookError(str(exc)) from exc
    parts, comment = _read_parts(p, original)
    try:
        check_xml_parts(io.BytesIO(original), name=p.name)
    except InputError as exc:
        raise WorkbookError(str(exc)) from exc
    except (zlib.error, zipfile.BadZipFile, EOFError) as exc:
        raise WorkbookError(
            f"{p.name} is damaged ({exc}). Open it in Excel to repair it, or use "
            f"{backup_path(p).name}"
        ) from exc
    pkg = Package(
        path=p,
        parts=parts,
        original=original,
        stat=FileStat(size=st.st_size, mtime_ns=st.st_mtime_ns, inode=st.st_ino),
        comment=comment,
    )
    for required in (CONTENT_TYPES, "_rels/.rels"):
        if required not in pkg:
            raise WorkbookError(f"{p.name} has no {required}: it is not an Excel workbook")
    return pkg


def _read_parts(p: Path, data: bytes) -> tuple[list[Part], bytes]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            comment = zf.comment
    except (zipfile.BadZipFile, ValueError) as exc:
        raise WorkbookError(f"{p.name} is damaged (not a readable zip package): {exc}") from exc
    parts: list[Part] = []
    seen: set[str] = set()
    for info in infos:
        if info.flag_bits & 0x1:
            raise WorkbookError(f"{p.name} is encrypted; remove the password and try again")
        if info.filename in seen:
            raise WorkbookError(f"{p.name} has the part {info.filename!r} twice: refused")
        seen.add(info.filename)
        raw = _raw_member(p, data, info)
        parts.append(
            Part(
                name=info.filename,
                method=info.compress_type,
                crc=info.CRC,
                size=info.file_size,
                raw=raw,
                date_time=info.date_time,
                flag_bits=info.flag_bits,
                external_attr=info.external_attr,
                create_system=info.create_system,
            )
        )
    return parts, comment


def _raw_member(p: Path, data: bytes, info: zipfile.ZipInfo) -> memoryview:
    """The compressed bytes of ``info`` (after its local header), as a view into
    ``data`` (the package keeps the file's bytes: a copy would double them)."""
    start = info.header_offset
    header = data[start : start + 30]
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise WorkbookError(f"{p.name} is damaged: part {info.filename!r} has no local header")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    begin = start + 30 + name_len + extra_len
    raw = memoryview(data)[begin : begin + info.compress_size]
    if len(raw) != info.compress_size:
        raise WorkbookError(f"{p.name} is damaged: part {info.filename!r} is truncated")
    return raw
