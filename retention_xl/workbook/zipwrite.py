"""Writing a workbook package: a new zip in which only the given parts change.

The other parts' *compressed* bytes are copied as :func:`~retention_xl.workbook.package.
read_package` kept them, with their zip metadata, so they stay byte-identical; changed
parts are deflated once (:func:`deflate_part` takes them in chunks, so a large sheet
never needs a second copy in memory). Zip64 is not written: a package over 4 GB is
refused.

Examples
--------
>>> data = write_package(pkg, {"xl/worksheets/sheet9.xml": new_xml})  # doctest: +SKIP
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping

from retention_xl.errors import WorkbookError
from retention_xl.workbook.package import Package, Part

__all__ = ["deflate_part", "write_package"]

_MAX_ZIP32 = 0xFFFFFFFF


def write_package(
    pkg: Package,
    changes: Mapping[str, bytes | Part | None],
    *,
    add: Iterable[tuple[str, bytes]] = (),
    on_part: Callable[[str], None] | None = None,
) -> bytes:
    """A new package: ``pkg``'s parts in order, with ``changes`` applied.

    ``changes`` maps a part name to its new bytes (or a :class:`Part` already
    compressed by :func:`deflate_part`), or to None to remove the part; parts in ``add``
    (new names) go at the end. Unchanged parts keep their compressed bytes,
    CRC, dates and attributes exactly; changed parts are deflated. ``on_part`` is
    called after each part is written (progress).

    Raises
    ------
    WorkbookError
        A changed part that is not in the package (use ``add``), or a package too big
        for a zip without Zip64.
    """
    out = io.BytesIO()
    central: list[bytes] = []
    for entry in _entries(pkg, changes, add):
        offset = out.tell()
        _check_zip32(entry, offset)
        local, record = _headers(entry, offset)
        out.write(local)
        out.write(entry.raw)
        central.append(record)
        if on_part is not None:
            on_part(entry.name)
    cd_offset = out.tell()
    for record in central:
        out.write(record)
    cd_size = out.tell() - cd_offset
    if len(central) > 0xFFFF or cd_offset > _MAX_ZIP32:
        raise WorkbookError("the refreshed workbook would exceed 4 GB, which is not supported")
    comment = pkg.comment[:0xFFFF]
    out.write(
        struct.pack(
            "<4sHHHHIIH",
            b"PK\x05\x06",
            0,
            0,
            len(central),
            len(central),
            cd_size,
            cd_offset,
            len(comment),
        )
        + comment
    )
    return out.getvalue()


def _entries(
    pkg: Package, changes: Mapping[str, bytes | Part | None], add: Iterable[tuple[str, bytes]]
) -> list[Part]:
    """The parts of the new package in order: ``pkg``'s with ``changes`` applied (None
    removes a part), then the new ones of ``add``; a change to a part that is not there
    and an addition of one that is are refused."""
    unknown = [name for name in changes if name not in pkg]
    if unknown:
        raise WorkbookError(f"cannot change parts that are not in the workbook: {unknown}")
    extra = list(add)
    clash = [name for name, _ in extra if name in pkg]
    if clash:
        raise WorkbookError(f"cannot add parts the workbook already has: {clash}")
    entries: list[Part] = []
    for part in pkg.parts:
        if part.name in changes:
            new = changes[part.name]
            if new is None:
                continue
            entries.append(new if isinstance(new, Part) else _deflated(part.name, new, like=part))
        else:
            entries.append(part)
    entries += [_deflated(name, data, like=None) for name, data in extra]
    return entries


def _headers(entry: Part, offset: int) -> tuple[bytes, bytes]:
    """The local file header of ``entry`` and its central directory record (the
    entry's data starts right after the local header, itself at ``offset``)."""
    encoded = entry.name.encode("utf-8")
    flags = entry.flag_bits & ~0x08  # sizes are known: no data descriptor
    if any(ord(c) > 127 for c in entry.name):
        flags |= 0x800  # the name is UTF-8
    dosdate, dostime = _dos_datetime(entry.date_time)
    local = struct.pack(
        "<4sHHHHHIIIHH",
        b"PK\x03\x04",
        20,
        flags,
        entry.method,
        dostime,
        dosdate,
        entry.crc,
        len(entry.raw),
        entry.size,
        len(encoded),
        0,
    )
    record = struct.pack(
        "<4sHHHHHHIIIHHHHHII",
        b"PK\x01\x02",
        (entry.create_system << 8) | 20,
        20,
        flags,
        entry.method,
        dostime,
        dosdate,
        entry.crc,
        len(entry.raw),
        entry.size,
        len(encoded),
        0,
        0,
        0,
        0,
        entry.external_attr,
        offset,
    )
    return local + encoded, record + encoded


def deflate_part(
    name: str, chunks: Iterable[bytes | memoryview], *, like: Part | None = None, level: int = 6
) -> Part:
    """A deflated :class:`Part` from its content given in pieces (never joined in memory).

    ``like`` lends its zip date, attributes and flags (the part being replaced);
    ``level`` is zlib's (1 fastest, 9 smallest; 6 its default).

    >>> part = deflate_part("xl/a.xml", [b"<a>", b"x" * 1000, b"</a>"])
    >>> part.size, part.data()[:4], len(part.raw) < 100
    (1007, b'<a>x', True)
    """
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    out: list[bytes] = []
    crc = 0
    size = 0
    for chunk in chunks:
        crc = zlib.crc32(chunk, crc)
        size += len(chunk)
        out.append(compressor.compress(chunk))
    out.append(compressor.flush())
    return Part(
        name=name,
        method=zipfile.ZIP_DEFLATED,
        crc=crc,
        size=size,
        raw=b"".join(out),
        date_time=like.date_time if like is not None else (1980, 1, 1, 0, 0, 0),
        flag_bits=(like.flag_bits & 0x800) if like is not None else 0,
        external_attr=like.external_attr if like is not None else 0,
        create_system=like.create_system if like is not None else 0,
    )


def _deflated(name: str, data: bytes, *, like: Part | None) -> Part:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    raw = compressor.compress(data) + compressor.flush()
    return Part(
        name=name,
        method=zipfile.ZIP_DEFLATED,
        crc=zlib.crc32(data),
        size=len(data),
        raw=raw,
        date_time=like.date_time if like is not None else (1980, 1, 1, 0, 0, 0),
        flag_bits=(like.flag_bits & 0x800) if like is not None else 0,
        external_attr=like.external_attr if like is not None else 0,
        create_system=like.create_system if like is not None else 0,
    )


def _check_zip32(entry: Part, offset: int) -> None:
    if entry.size > _MAX_ZIP32 or len(entry.raw) > _MAX_ZIP32 or offset > _MAX_ZIP32:
        raise WorkbookError("the refreshed workbook would exceed 4 GB, which is not supported")


def _dos_datetime(dt: tuple[int, int, int, int, int, int]) -> tuple[int, int]:
    year, month, day, hour, minute, second = dt
    year = min(max(year, 1980), 2107)
    return (year - 1980) << 9 | month << 5 | day, hour << 11 | minute << 5 | second // 2
