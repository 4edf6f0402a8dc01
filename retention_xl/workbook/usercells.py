"""Cells a user typed on a generated sheet: found, placed, checked, kept.

Refresh rewrites the cells the generator owns (:mod:`retention_xl.workbook.manifest`)
and keeps everything else a user typed on the same sheet: a note beside a KPI, a
column of their own formulas to the right of the customer list, a total under a table.
The rules:

* a cell keeps its address, except a value (text, number) under a table, in the
  table's columns: it moves with the table's last row when the table grows or shrinks,
  as a note under a list would in a person's hands;
* a formula under a table whose length changes is refused (moving it would not
  change the rows it reads; moving it by hand, or to the right of the table, does);
* a cell where the refreshed sheet now writes is refused, with its address and text:
  nothing the user typed is silently overwritten;
* a user's formula loses its cached result, so both Excel and LibreOffice compute it
  on opening (see :mod:`retention_xl.workbook.recalc`).

Examples
--------
>>> from retention_xl.workbook.manifest import Rect, SheetManifest
>>> m = SheetManifest(role="KPIS", area=Rect(0, 0, 1, 1), cells=(Rect(0, 0, 1, 1),), tables=())
>>> note = b'<c r="D1" t="inlineStr"><is><t>note</t></is></c>'
>>> xml = b'<sheetData><row r="1"><c r="A1"><v>1</v></c>' + note + b'</row></sheetData>'
>>> [(c.row, c.col, c.text) for c in find_user_cells(xml, m)]
[(0, 3, 'note')]
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from retention_xl.errors import WorkbookError
from retention_xl.workbook.manifest import Rect, SheetManifest
from retention_xl.workbook.recalc import drop_formula_results

__all__ = ["Placement", "UserCell", "find_user_cells", "place_user_cells"]

_SHEET_DATA = re.compile(rb"<sheetData\b[^>]*?(?:/>|>(.*?)</sheetData>)", re.S)
_ROW = re.compile(rb'<row\b[^>]*?\br="(\d+)"[^>]*?(?:/>|>(.*?)</row>)', re.S)
_CELL = re.compile(rb"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.S)
_REF = re.compile(rb'\br="([A-Z]{1,3})(\d{1,7})"')
_TEXT = re.compile(rb"<t\b[^>]*>([^<]*)</t>|<v>([^<]*)</v>")


@dataclass(frozen=True, slots=True)
class UserCell:
    """A cell the generator does not own: its place and its XML as the file has it."""

    row: int  #: zero-based
    col: int
    xml: bytes  #: the whole ``<c>`` element
    formula: bool
    text: str = ""  #: a short rendering for messages

    def ref(self) -> str:
        """The cell's A1 address."""
        return Rect(self.row, self.col, self.row, self.col).a1()


def _column(letters: bytes) -> int:
    col = 0
    for ch in letters:
        col = col * 26 + ch - 64
    return col - 1


def _has_content(attrs: bytes, body: bytes | None) -> bool:
    return bool(body) and (b"<v" in body or b"<f" in body or b"<is" in body)


def find_user_cells(sheet_xml: bytes, manifest: SheetManifest) -> list[UserCell]:
    """The cells of ``sheet_xml`` with content that ``manifest`` does not own.

    Empty cells that only carry a style are left out (formatting of generated sheets
    is the generator's). Rows wholly inside a table box are skipped quickly unless a
    cell lies beyond the box's last column.
    """
    m = _SHEET_DATA.search(sheet_xml)
    if m is None or not m.group(1):
        return []
    data = m.group(1)
    # a row fully inside one table's rows can hold user cells only right of the widest
    # table or left of it: test the row's first and last cell before parsing it
    spans = [(t.r0, t.r1, t.c0, t.c1) for t in manifest.tables]
    out: list[UserCell] = []
    for row_match in _ROW.finditer(data):
        body = row_match.group(2)
        if not body:
            continue
        row = int(row_match.group(1)) - 1
        inside = [(c0, c1) for r0, r1, c0, c1 in spans if r0 <= row and (manifest.raw or row <= r1)]
        if len(inside) == 1 and not _row_may_escape(body, *inside[0]):
            continue
        for cell in _CELL.finditer(body):
            attrs, inner = cell.group(1), cell.group(2)
            if not _has_content(attrs, inner):
                continue
            ref = _REF.search(attrs)
            if ref is None:
                continue
            col = _column(ref.group(1))
            if manifest.owns(row, col):
                continue
            xml = cell.group(0)
            text = b""
            found = _TEXT.search(inner or b"")
            if found is not None:
                text = found.group(1) or found.group(2) or b""
            out.append(
                UserCell(
                    row=row,
                    col=col,
                    xml=xml,
                    formula=b"<f" in (inner or b""),
                    text=text.decode("utf-8", "replace")[:40],
                )
            )
    return out


def _row_may_escape(body: bytes, c0: int, c1: int) -> bool:
    """Whether a row inside a table box may hold a cell outside columns ``c0..c1``."""
    first = _REF.search(body)
    last_at = body.rfind(b'<c r="')
    if first is None or last_at < 0:
        return True
    last = _REF.search(body, last_at)
    if last is None:
        return True
    return _column(first.group(1)) < c0 or _column(last.group(1)) > c1


@dataclass(slots=True)
class Placement:
    """Where the user's cells go on the refreshed sheet, and what to tell them."""

    cells: list[UserCell] = field(default_factory=list)
    moved: int = 0
    notes: list[str] = field(default_factory=list)


def place_user_cells(
    cells: list[UserCell], old: SheetManifest, new: SheetManifest, *, sheet: str
) -> Placement:
    """Place ``cells`` (found with ``old``) on the sheet the refresh writes (``new``).

    Raises
    ------
    WorkbookError
        A cell where the refreshed sheet writes, or a formula under a table whose
        length changes: the message names the sheet, the cells and what to do.
    """
    placed = Placement()
    formulas_below: list[UserCell] = []
    beside: dict[int, int] = {}
    for cell in cells:
        target = cell
        below = _table_above(cell, old)
        if below is not None and below < len(new.tables) and not old.raw:
            shift = new.tables[below].r1 - old.tables[below].r1
            if shift and cell.formula:
                formulas_below.append(cell)
                continue
            if shift:
                target = replace(cell, row=cell.row + shift)
                placed.moved += 1
        side = _table_beside(cell, old)
        if (
            side is not None
            and side < len(new.tables)
            and cell.formula
            and not old.raw
            and new.tables[side].r1 != old.tables[side].r1
        ):
            beside[side] = beside.get(side, 0) + 1
        placed.cells.append(target)
    if formulas_below:
        listed = ", ".join(f"{c.ref()}" for c in formulas_below[:5])
        raise WorkbookError(
            f"sheet {sheet!r}: your formulas under a table ({listed}) would have to move "
            "because the table changes length, and moving them would not change the rows "
            "they read. Move them to the right of the table or to a sheet of your own "
            "(the named columns, e.g. =SUM(Customers_clv), always cover the whole "
            "table), then refresh again. Nothing was changed"
        )
    clashes = [c for c in placed.cells if new.owns(c.row, c.col)]
    if clashes:
        listed = ", ".join(f"{c.ref()}" + (f" ({c.text!r})" if c.text else "") for c in clashes[:5])
        more = f" and {len(clashes) - 5} more" if len(clashes) > 5 else ""
        raise WorkbookError(
            f"sheet {sheet!r}: the refreshed content now reaches cells you typed in: "
            f"{listed}{more}. Move them further right or down (or to a sheet of your "
            "own) and refresh again. Nothing was changed"
        )
    for index, count in sorted(beside.items()):
        t_old, t_new = old.tables[index], new.tables[index]
        placed.notes.append(
            f"sheet {sheet!r}: {count} formula cell(s) of yours beside the table "
            f"{t_old.a1()} were kept where they are; the table now runs to row "
            f"{t_new.r1 + 1} (it ran to row {t_old.r1 + 1}): fill your formulas "
            "down (or up) to match"
        )
    if placed.moved:
        placed.notes.append(
            f"sheet {sheet!r}: {placed.moved} cell(s) of yours under a table moved with it"
        )
    return placed


def _table_above(cell: UserCell, m: SheetManifest) -> int | None:
    """Index of the table whose columns hold ``cell`` and which ends above it (the
    nearest), when no other owned cell lies between."""
    best: int | None = None
    for i, t in enumerate(m.tables):
        if (
            t.c0 <= cell.col <= t.c1
            and t.r1 < cell.row
            and (best is None or t.r1 > m.tables[best].r1)
        ):
            best = i
    if best is None:
        return None
    top = m.tables[best].r1
    for r in m.cells:
        if r.c0 <= cell.col <= r.c1 and top < r.r0 <= cell.row:
            return None  # a generated cell sits between: the note belongs to it
    return best


def _table_beside(cell: UserCell, m: SheetManifest) -> int | None:
    for i, t in enumerate(m.tables):
        if t.r0 < cell.row <= t.r1 and cell.col > t.c1:
            return i
    return None


def cell_xml_for(cell: UserCell) -> str:
    """The cell's XML for its (possibly new) address, without a cached formula result."""
    xml = drop_formula_results(cell.xml)
    xml = _REF.sub(b'r="' + cell.ref().encode("ascii") + b'"', xml, count=1)
    return xml.decode("utf-8")


def placed_cells(placement: Placement) -> Mapping[tuple[int, int], str]:
    """``{(row, col): cell XML}`` of a placement, for the sheet writer."""
    return {(c.row, c.col): cell_xml_for(c) for c in placement.cells}
