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
from dataclasses import dataclass, field, replace

from retention_xl.errors import WorkbookError
from retention_xl.workbook.manifest import Rect, SheetManifest
from retention_xl.workbook.plan import MAX_ROWS
from retention_xl.workbook.recalc import drop_formula_results

__all__ = ["Placement", "UserCell", "find_user_cells", "place_user_cells"]

_SHEET_DATA_START = re.compile(rb"<sheetData\b[^>]*?/?>")
#: a cell whose first attribute is not its reference (no editor we know writes that)
_OTHER_ORDER = re.compile(rb"<c\s+(?!r=)[a-zA-Z]")
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
    return body is not None and (b"<v" in body or b"<f" in body or b"<is" in body)


def find_user_cells(sheet_xml: bytes, manifest: SheetManifest) -> list[UserCell]:
    """The cells of ``sheet_xml`` with content that ``manifest`` does not own.

    Empty cells that only carry a style are left out (formatting of generated sheets
    is the generator's). The rows of a large table are not parsed one by one: a
    regular expression finds the cells left or right of the table's columns in them,
    so a million-row tab costs one scan.
    """
    m = _SHEET_DATA_START.search(sheet_xml)
    if m is None or m.group(0).endswith(b"/>"):
        return []
    end = sheet_xml.find(b"</sheetData>", m.end())
    data = sheet_xml  # searched between offsets: a large sheet is not copied
    stop = end if end >= 0 else len(sheet_xml)
    out: list[UserCell] = []
    start = m.end()
    # an editor writes every cell alike: the first cells tell whether the reference
    # comes first in the tag, as the fast scan expects
    odd = _OTHER_ORDER.search(data, start, min(stop, start + 65536)) is not None
    bands = [] if odd else _big_bands(manifest)
    for band_start, band_end, c0, c1 in bands:
        lo = _row_offset(data, band_start + 1, start, stop)
        hi = _row_offset(data, band_end + 2, lo, stop) if band_end + 2 <= MAX_ROWS else stop
        out += _rows_cells(data[start:lo], manifest)
        pattern = _outside(c0, c1)
        if pattern is not None:
            for found in pattern.finditer(data, lo, hi):
                cell = _CELL.match(data, found.start())
                if cell is not None:
                    ref = _REF.search(cell.group(1))
                    if ref is not None:
                        out += _user_cell(cell, int(ref.group(2)) - 1, manifest)
        start = hi
    out += _rows_cells(data[start:stop], manifest)
    return out


#: tables with more rows than this are scanned by column pattern, not row by row
_BIG = 2_000


def _big_bands(m: SheetManifest) -> list[tuple[int, int, int, int]]:
    """Row bands (zero-based, inclusive) of large tables that share their rows with no
    other table, in row order, with the table's columns."""
    bands = []
    for t in m.tables:
        end = MAX_ROWS - 1 if m.raw else t.r1
        if end - t.r0 < _BIG:
            continue
        others = [o for o in m.tables if o is not t and o.r0 <= end and t.r0 <= o.r1]
        if not others:
            bands.append((t.r0, end, t.c0, t.c1))
    return sorted(bands)


def _row_offset(data: bytes, row: int, lo: int, stop: int) -> int:
    """Byte offset in ``data[lo:stop]`` of the first ``<row>`` numbered >= ``row``
    (1-based), by bisection over the sorted rows; ``stop`` when there is none."""
    hi = stop
    while lo < hi:
        mid = (lo + hi) // 2
        found = _ROW_START.search(data, mid, stop)
        if found is None or found.start() >= hi:
            hi = mid
            continue
        if int(found.group(1)) >= row:
            hi = mid
        else:
            lo = found.end()
    found = _ROW_START.search(data, lo, stop)
    return found.start() if found is not None else stop


_ROW_START = re.compile(rb'<row\b[^>]*?\br="(\d+)"')


def _letters(col: int) -> str:
    out = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out


def _greater(letters: str) -> list[str]:
    alts = [f"[A-Z]{{{n}}}" for n in range(len(letters) + 1, 4)]
    for i, ch in enumerate(letters):
        if ch < "Z":
            rest = len(letters) - i - 1
            alts.append(
                letters[:i] + f"[{chr(ord(ch) + 1)}-Z]" + (f"[A-Z]{{{rest}}}" if rest else "")
            )
    return alts


def _less(letters: str) -> list[str]:
    alts = [f"[A-Z]{{{n}}}" for n in range(1, len(letters))]
    for i, ch in enumerate(letters):
        if ch > "A":
            rest = len(letters) - i - 1
            alts.append(
                letters[:i] + f"[A-{chr(ord(ch) - 1)}]" + (f"[A-Z]{{{rest}}}" if rest else "")
            )
    return alts


def _outside(c0: int, c1: int) -> re.Pattern[bytes] | None:
    """A pattern for ``<c>`` tags whose column is left of ``c0`` or right of ``c1``.

    >>> bool(_outside(0, 24).match(b'<c r="Z3"')), bool(_outside(0, 24).match(b'<c r="Y3"'))
    (True, False)
    >>> bool(_outside(2, 4).match(b'<c r="B7" s="1"')), bool(_outside(2, 4).match(b'<c r="AA7"'))
    (True, True)
    """
    alts = _greater(_letters(c1)) + (_less(_letters(c0)) if c0 > 0 else [])
    if not alts:
        return None
    # Excel and LibreOffice write the reference first: a literal prefix keeps the scan
    # fast (find_user_cells parses row by row files whose cells do not)
    return re.compile(rb'<c r="(?:' + "|".join(alts).encode() + rb")\d")


def _user_cell(cell: re.Match[bytes], row: int, manifest: SheetManifest) -> list[UserCell]:
    attrs, inner = cell.group(1), cell.group(2)
    if not _has_content(attrs, inner):
        return []
    ref = _REF.search(attrs)
    if ref is None:
        return []
    col = _column(ref.group(1))
    if manifest.owns(row, col):
        return []
    found = _TEXT.search(inner or b"")
    text = (found.group(1) or found.group(2) or b"") if found is not None else b""
    return [
        UserCell(
            row=row,
            col=col,
            xml=cell.group(0),
            formula=b"<f" in (inner or b""),
            text=text.decode("utf-8", "replace")[:40],
        )
    ]


def _rows_cells(data: bytes, manifest: SheetManifest) -> list[UserCell]:
    """The user's cells in ``data``, row by row (small parts of a sheet)."""
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
            out += _user_cell(cell, row, manifest)
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
