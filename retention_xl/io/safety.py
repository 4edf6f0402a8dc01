"""Protections for files that come from outside: zip bombs and malicious XML.

Every .xlsx/.xlsm the package opens (exports to import, workbooks to refresh) goes
through :func:`check_zip_package` first, and every XML part it parses goes through
:func:`parse_xml` (or :func:`iterparse_xml`), which refuse DTDs, entity declarations
and external references (billion laughs, quadratic blow-up, XXE).

Limits are generous for real workbooks (a 1,048,576-row sheet is about 150 MB of XML,
compressed about 10 to 20 times) and tight for bombs (ratios of 1000 and more).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from xml.etree.ElementTree import Element

try:
    import defusedxml.ElementTree as SafeET
    from defusedxml import DefusedXmlException
except ModuleNotFoundError as exc:  # a core-only install
    raise ModuleNotFoundError(
        "retention_xl.io reads exports and workbooks with defusedxml (protection against "
        "malicious XML), which comes with the 'cli' extra: pip install 'retention-xl[cli]'",
        name=exc.name,
    ) from exc

from retention_xl.errors import InputError

__all__ = [
    "ZipLimits",
    "check_zip_package",
    "iterparse_xml",
    "parse_xml",
]


@dataclass(frozen=True, slots=True)
class ZipLimits:
    """Limits for an OOXML package; raise them only for files you trust."""

    max_members: int = 20_000
    max_member_bytes: int = 2 * 1024**3
    max_total_bytes: int = 6 * 1024**3
    max_ratio: float = 250.0
    ratio_floor_bytes: int = 1024**2  # members smaller than this skip the ratio check


DEFAULT_LIMITS = ZipLimits()


def check_zip_package(
    path: str | Path | IO[bytes],
    *,
    limits: ZipLimits = DEFAULT_LIMITS,
    name: str | None = None,
) -> None:
    """Refuse a file that is not a readable zip package or looks like a zip bomb.

    ``path`` may also be a binary file object (a package already read into memory);
    ``name`` is then the file name used in messages.
    Raises :class:`InputError` naming the file and the limit that was exceeded.

    Examples
    --------
    >>> check_zip_package("book.xlsx")  # doctest: +SKIP
    """
    source: Path | IO[bytes] = Path(path) if isinstance(path, str | Path) else path
    label = name or (source.name if isinstance(source, Path) else "the workbook")
    try:
        with zipfile.ZipFile(source) as zf:
            infos = zf.infolist()
    except zipfile.BadZipFile as exc:
        raise InputError(
            f"{label} is not a valid .xlsx file (not a zip package): {exc}. "
            "Save it again from Excel or export it as CSV."
        ) from exc
    except OSError as exc:
        raise InputError(f"{label} cannot be read: {exc}") from exc
    if len(infos) > limits.max_members:
        raise InputError(f"{label} has {len(infos)} parts (limit {limits.max_members}): refused")
    total = 0
    for info in infos:
        size = info.file_size
        total += size
        if size > limits.max_member_bytes:
            raise InputError(
                f"{label}: part {info.filename!r} unpacks to {size:,} bytes "
                f"(limit {limits.max_member_bytes:,}): refused as a possible zip bomb"
            )
        if size >= limits.ratio_floor_bytes:
            ratio = size / max(info.compress_size, 1)
            if ratio > limits.max_ratio:
                raise InputError(
                    f"{label}: part {info.filename!r} is compressed {ratio:,.0f} to 1 "
                    f"(limit {limits.max_ratio:,.0f}): refused as a possible zip bomb"
                )
    if total > limits.max_total_bytes:
        raise InputError(
            f"{label} unpacks to {total:,} bytes (limit {limits.max_total_bytes:,}): "
            "refused as a possible zip bomb"
        )


def parse_xml(data: bytes, *, part: str = "XML part") -> Element:
    """Parse XML with DTDs and entities forbidden; :class:`InputError` if unsafe or broken."""
    try:
        root: Element = SafeET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise InputError(f"{part} declares a DTD or entities, refused as unsafe: {exc}") from exc
    except SafeET.ParseError as exc:
        raise InputError(f"{part} is not well-formed XML: {exc}") from exc
    return root


def iterparse_xml(
    source: IO[bytes], *, events: tuple[str, ...] = ("end",), part: str = "XML part"
) -> Iterator[tuple[str, Any]]:
    """Stream-parse XML with DTDs and entities forbidden (for large sheet parts)."""
    try:
        yield from SafeET.iterparse(source, events=events, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise InputError(f"{part} declares a DTD or entities, refused as unsafe: {exc}") from exc
    except SafeET.ParseError as exc:
        raise InputError(f"{part} is not well-formed XML: {exc}") from exc
