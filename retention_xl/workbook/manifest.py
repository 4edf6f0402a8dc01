"""What the generator wrote on each sheet, stored in the workbook, checked on refresh.

A generated sheet is shared with its user: they type notes beside the KPIs, add a
column of their own formulas to the customer list, insert rows. Refresh must know which
cells are the generator's (rewritten) and which are the user's (kept), and notice a
structural edit that would put the generator's numbers under the wrong labels and
names. So every generated sheet carries a **manifest** in two defined names:

* ``RXL_AREA_<ROLE>`` refers to the block the generator wrote (``'KPIs'!$A$1:$F$47``).
  It is a reference: Excel and LibreOffice move and stretch it with every inserted or
  deleted row and column, exactly as they move the KPI names. If it no longer equals
  the area recorded in the manifest, the sheet's layout was changed inside or above
  or left of the block;
* ``RXL_MANIFEST_<ROLE>_<k>`` hold text constants (a reference would move): the
  version, a fingerprint, the area, the rectangles of cells written and the table
  boxes. The fingerprint (SHA-256 of the rest) tells a damaged or hand-edited manifest
  from a good one. Text constants in names are limited to 255 characters, so long
  manifests are cut into numbered chunks.

Raw tabs (``ORDERS``, ``SUBSCRIPTIONS``, ``SURVEY``) own their table's columns down to
the last row of the sheet: rows typed or pasted there are data, read back by refresh.

Examples
--------
>>> from retention_xl.workbook.plan import SheetPlan
>>> s = SheetPlan(role="KPIS", title="KPIs")
>>> _ = s.put(0, 0, "KPI"); _ = s.put(1, 0, "Churn"); _ = s.put(1, 1, 0.05)
>>> m = sheet_manifest(s)
>>> m.area, m.cells
(Rect(r0=0, c0=0, r1=1, c1=1), (Rect(r0=0, c0=0, r1=0, c1=0), Rect(r0=1, c0=0, r1=1, c1=1)))
>>> m.owns(1, 1), m.owns(0, 1), m.owns(5, 0)
(True, False, False)
>>> SheetManifest.decode(m.encode()) == m
True
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from retention_xl.errors import WorkbookError
from retention_xl.workbook.plan import SheetPlan, WorkbookPlan

__all__ = [
    "AREA_PREFIX",
    "MANIFEST_PREFIX",
    "RAW_TABLE_ROLES",
    "UNMANAGED",
    "ManifestError",
    "Rect",
    "SheetManifest",
    "area_name",
    "manifest_names",
    "names_of",
    "parse_range",
    "read_manifest",
    "sheet_manifest",
]

AREA_PREFIX = "RXL_AREA_"
MANIFEST_PREFIX = "RXL_MANIFEST_"
VERSION = "rxl1"
#: Text constants in a name formula may hold 255 characters; leave room for quotes.
CHUNK = 240
#: Roles whose table columns belong to the generator down to the sheet's last row.
RAW_TABLE_ROLES = frozenset({"ORDERS", "SUBSCRIPTIONS", "SURVEY"})
#: Sheets without a manifest: the add-in's settings sheet is the user's.
UNMANAGED = frozenset({"XLWINGS_CONF"})


class ManifestError(WorkbookError):
    """A manifest that is missing, damaged or does not fit the sheet."""


@dataclass(frozen=True, slots=True, order=True)
class Rect:
    """Zero-based, inclusive rows ``r0..r1`` and columns ``c0..c1``."""

    r0: int
    c0: int
    r1: int
    c1: int

    def contains(self, row: int, col: int) -> bool:
        """Whether the cell (row, col) lies in the rectangle."""
        return self.r0 <= row <= self.r1 and self.c0 <= col <= self.c1

    def a1(self) -> str:
        """``"A1:C4"`` (``"B2"`` for one cell)."""
        first, last = _ref(self.r0, self.c0), _ref(self.r1, self.c1)
        return first if first == last else f"{first}:{last}"

    @property
    def rows(self) -> int:
        return self.r1 - self.r0 + 1

    @property
    def cols(self) -> int:
        return self.c1 - self.c0 + 1


def _col(col: int) -> str:
    out = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out


def _ref(row: int, col: int) -> str:
    return f"{_col(col)}{row + 1}"


_A1 = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d{1,7})$")


def _cell(text: str) -> tuple[int, int]:
    m = _A1.match(text.strip())
    if m is None:
        raise ValueError(text)
    col = 0
    for ch in m.group(1).upper():
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)) - 1, col - 1


def _rect(text: str) -> Rect:
    first, _, last = text.partition(":")
    r0, c0 = _cell(first)
    r1, c1 = _cell(last) if last else (r0, c0)
    return Rect(min(r0, r1), min(c0, c1), max(r0, r1), max(c0, c1))


_RANGE = re.compile(r"^=?\s*(?:'((?:[^']|'')+)'|([^'!\s][^!]*))!(.+?)\s*$")


def parse_range(formula: str) -> tuple[str, Rect] | None:
    """``(sheet, Rect)`` from a name's reference text; None for ``#REF!`` and constants.

    >>> parse_range("'KPIs'!$A$1:$F$47")
    ('KPIs', Rect(r0=0, c0=0, r1=46, c1=5))
    >>> parse_range("KPIs!#REF!") is None
    True
    """
    m = _RANGE.match(formula.strip())
    if m is None:
        return None
    sheet = m.group(1).replace("''", "'") if m.group(1) is not None else m.group(2).strip()
    if sheet.startswith("#REF") or "#REF" in m.group(3):
        return None
    try:
        return sheet, _rect(m.group(3).replace("$", ""))
    except ValueError:
        return None


# --------------------------------------------------------------------------- planning


def _runs(cols: list[int]) -> list[tuple[int, int]]:
    cols = sorted(cols)
    out: list[tuple[int, int]] = []
    for col in cols:
        if out and col == out[-1][1] + 1:
            out[-1] = (out[-1][0], col)
        else:
            out.append((col, col))
    return out


def _cell_rects(keys: Iterable[tuple[int, int]]) -> tuple[Rect, ...]:
    """Rectangles covering exactly the cells ``keys``: column runs per row, merged
    down over consecutive rows with the same runs."""
    rows: dict[int, list[int]] = {}
    for row, col in keys:
        rows.setdefault(row, []).append(col)
    merged: list[tuple[int, int, tuple[tuple[int, int], ...]]] = []
    for row in sorted(rows):
        runs = tuple(_runs(rows[row]))
        if merged and merged[-1][1] == row - 1 and merged[-1][2] == runs:
            merged[-1] = (merged[-1][0], row, runs)
        else:
            merged.append((row, row, runs))
    return tuple(Rect(r0, c0, r1, c1) for r0, r1, runs in merged for c0, c1 in runs)


@dataclass(frozen=True, slots=True)
class SheetManifest:
    """What the generator wrote on one sheet."""

    role: str
    area: Rect  #: bounding box of everything written
    cells: tuple[Rect, ...]  #: the single cells, as rectangles
    tables: tuple[Rect, ...]  #: header row to last data row of each table
    raw: bool = False  #: tables own their columns down to the last row of the sheet

    def owns(self, row: int, col: int) -> bool:
        """Whether the generator writes (or may write, for a raw tab) this cell."""
        for t in self.tables:
            if t.c0 <= col <= t.c1 and t.r0 <= row and (self.raw or row <= t.r1):
                return True
        return any(r.contains(row, col) for r in self.cells)

    def encode(self) -> str:
        """The manifest as text, fingerprinted (see :meth:`decode`)."""
        body = "|".join(
            [
                self.role,
                self.area.a1(),
                ",".join(r.a1() for r in self.cells),
                ",".join(r.a1() for r in self.tables),
                "raw" if self.raw else "",
            ]
        )
        return f"{VERSION}|{_digest(body)}|{body}"

    @classmethod
    def decode(cls, text: str) -> SheetManifest:
        """Parse :meth:`encode`'s text; :class:`ManifestError` when it is not intact."""
        parts = text.split("|")
        if len(parts) != 7 or parts[0] != VERSION:
            raise ManifestError("its manifest is not one retention_xl wrote")
        body = "|".join(parts[2:])
        if _digest(body) != parts[1]:
            raise ManifestError("its manifest was changed (the fingerprint does not match)")
        role, area, cells, tables, raw = parts[2:]
        try:
            return cls(
                role=role,
                area=_rect(area),
                cells=tuple(_rect(t) for t in cells.split(",") if t),
                tables=tuple(_rect(t) for t in tables.split(",") if t),
                raw=raw == "raw",
            )
        except ValueError as exc:
            raise ManifestError(f"its manifest is damaged ({exc})") from None


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def sheet_manifest(sheet: SheetPlan) -> SheetManifest:
    """The manifest of a planned sheet (single cells, table boxes, their bounding box)."""
    raw = sheet.role in RAW_TABLE_ROLES
    tables = tuple(
        Rect(t.first_row, t.first_col, t.last_row, t.first_col + max(len(t.columns) - 1, 0))
        for t in sheet.tables
    )
    # a user's cell kept by refresh (Cell.xml) is the user's, not the generator's
    cells = _cell_rects(k for k, c in sheet.cells.items() if c.xml is None)
    boxes = [*cells, *tables] or [Rect(0, 0, 0, 0)]
    area = Rect(
        min(b.r0 for b in boxes),
        min(b.c0 for b in boxes),
        max(b.r1 for b in boxes),
        max(b.c1 for b in boxes),
    )
    return SheetManifest(role=sheet.role, area=area, cells=cells, tables=tables, raw=raw)


def area_name(role: str) -> str:
    """The defined name that follows the generated block of ``role`` through edits."""
    return f"{AREA_PREFIX}{role}"


def _quoted(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


def manifest_names(plan: WorkbookPlan) -> dict[str, str]:
    """The manifest names of every managed sheet of ``plan`` (formula text with ``=``)."""
    out: dict[str, str] = {}
    for sheet in plan.sheets:
        if sheet.role not in UNMANAGED:
            out.update(names_of(sheet.title, sheet_manifest(sheet)))
    return out


def names_of(title: str, manifest: SheetManifest) -> dict[str, str]:
    """The defined names that store ``manifest`` for the sheet called ``title``.

    >>> m = SheetManifest(role="ABOUT", area=Rect(0, 0, 0, 1), cells=(Rect(0, 0, 0, 1),), tables=())
    >>> sorted(names_of("About", m).items())[0]
    ('RXL_AREA_ABOUT', "='About'!$A$1:$B$1")
    """
    a = manifest.area
    out = {
        area_name(manifest.role): (
            f"={_quoted(title)}!${_col(a.c0)}${a.r0 + 1}:${_col(a.c1)}${a.r1 + 1}"
        )
    }
    text = manifest.encode()
    chunks = [text[i : i + CHUNK] for i in range(0, len(text), CHUNK)]
    for k, chunk in enumerate(chunks, start=1):
        out[f"{MANIFEST_PREFIX}{manifest.role}_{k}"] = f'="{chunk}"'
    return out


def read_manifest(names: Mapping[str, str], role: str) -> SheetManifest:
    """The manifest of ``role`` from a workbook's defined names (formula texts).

    Raises
    ------
    ManifestError
        Missing, damaged or changed.
    """
    folded = {k.casefold(): v for k, v in names.items()}
    chunks: list[str] = []
    k = 1
    while (text := folded.get(f"{MANIFEST_PREFIX}{role}_{k}".casefold())) is not None:
        text = text.strip().removeprefix("=").strip()
        if len(text) < 2 or text[0] != '"' or text[-1] != '"':
            raise ManifestError(f"its manifest name {MANIFEST_PREFIX}{role}_{k} was changed")
        chunks.append(text[1:-1].replace('""', '"'))
        k += 1
    if not chunks:
        raise ManifestError(f"it has no manifest (names {MANIFEST_PREFIX}{role}_1, ...)")
    manifest = SheetManifest.decode("".join(chunks))
    if manifest.role != role:
        raise ManifestError(f"its manifest belongs to another sheet ({manifest.role})")
    return manifest
