"""The one code path that writes cell content into a worksheet part.

:func:`render_sheet_data` turns a :class:`~retention_xl.workbook.plan.SheetPlan` into
the worksheet's ``<sheetData>`` element; :func:`replace_sheet_data` splices such an
element into an existing worksheet part (updating ``<dimension>``) and keeps every other
byte of the part. The builder uses them on the package XlsxWriter has just written
(:func:`rewrite_sheet_data`), refresh on a user's workbook.

How cells are written
---------------------
* numbers as ``<v>`` with the shortest text that reads back as the same float64;
  ``inf`` as the error ``#NUM!``; NaN, NaT, ``None``, ``pd.NA`` and ``""`` as no cell
  (a styled blank cell when a sparse cell names a style);
* booleans as ``t="b"``;
* dates as Excel serial numbers in the 1900 date system (days since 1899-12-30, time
  as the fraction of a day) with the cell's or column's (date) style; dates before
  1900-03-01, which Excel's 1900 system cannot hold faithfully, as ISO text;
* text as inline strings (``t="inlineStr"``), XML-escaped, with characters XML 1.0
  cannot hold removed, cut at the 32,767 characters a cell holds (logged), CR kept as
  ``&#13;``, a literal ``_xHHHH_`` protected as
  ``_x005F_xHHHH_`` and ``xml:space="preserve"`` for leading or trailing blanks. Text
  is never a formula, whatever it starts with (``=``, ``+``, ``-``, ``@``...);
* formulas (only :attr:`Cell.formula`) as ``<f>`` without the leading ``=``, followed
  by the cached value: a number, ``t="b"``, ``t="str"`` for text (an empty string
  where the core has no value) or ``t="e"`` when the cached value is an Excel error
  literal such as ``"#DIV/0!"``.

Tables are rendered column by column, in blocks of rows, with Arrow's string kernels
when pyarrow is installed (:mod:`~retention_xl.workbook.arrowrows`) and numpy/pandas
string operations otherwise, so a million-row raw tab needs bounded memory and, on the
Arrow path, no Python object per cell. A sheet whose tables hold more than
:data:`BIG_SHEET_CELLS` cells is deflated at :data:`BIG_SHEET_LEVEL`.

Examples
--------
>>> from retention_xl.workbook.plan import SheetPlan
>>> sheet = SheetPlan(role="KPIS", title="KPIs")
>>> _ = sheet.put(0, 0, "=1+1")
>>> _ = sheet.put(0, 1, 2.0, formula="=1+1")
>>> xml = render_sheet_data(sheet, {}).decode()
>>> xml[:70]
'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>=1+1</t></is></c>'
>>> xml[70:]
'<c r="B1"><f>1+1</f><v>2.0</v></c></row></sheetData>'
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import itertools
import math
import os
import re
import shutil
import tempfile
import threading
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path, PurePosixPath
from queue import Queue
from typing import IO, Any

import numpy as np
import pandas as pd

from retention_xl.errors import WorkbookError
from retention_xl.io.safety import parse_xml
from retention_xl.workbook.cellxml import (
    DAY_NS,
    EPOCH_NS,
    FIRST_NS,
    FIRST_SERIAL_DATE,
    ILLEGAL,
    escape,
    escape_clean,
    excel_serial,
    fit,
    number_text,
    preserve,
    special_rows,
)
from retention_xl.workbook.plan import (
    MAX_ROWS,
    Cell,
    ColumnSpec,
    SheetPlan,
    Table,
    WorkbookPlan,
    sheet_marker,
)
from retention_xl.workbook.stylesxml import ensure_styles

__all__ = [
    "EXCEL_ERRORS",
    "cell_ref",
    "col_letter",
    "excel_serial",
    "iter_sheet_rows",
    "render_sheet_data",
    "replace_sheet_data",
    "rewrite_sheet_data",
    "row_attributes",
    "sheet_dimension",
    "sheet_part_pieces",
    "split_sheet_data",
    "worksheet_parts",
    "write_sheet_part",
]

MAX_COLS = 16_384
NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"


#: Cached formula results written as error cells (``t="e"``).
EXCEL_ERRORS = frozenset(
    {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA"}
)

#: Rows per block when rendering tables (bounds memory; large enough to vectorise).
BLOCK_ROWS = 65_536

#: Table cells above which a worksheet part is deflated at :data:`BIG_SHEET_LEVEL`, by
#: ``build`` and ``refresh`` alike (:func:`deflate_level`): a report of 100k orders has
#: three such sheets (Orders, Customers, the Segments list); the sample report none.
BIG_SHEET_CELLS = 200_000

#: zlib level of big worksheet parts: level 1 deflates a table sheet about 3.5 times
#: faster than zlib's default (6) for about 30 % more compressed bytes; the raw tab of a
#: million orders is most of a report's writing time (``benchmarks/workbook.py``).
BIG_SHEET_LEVEL = 1


def _letters() -> list[str]:
    out = []
    for n in range(1, MAX_COLS + 1):
        name = ""
        while n:
            n, rem = divmod(n - 1, 26)
            name = chr(65 + rem) + name
        out.append(name)
    return out


_COLS = _letters()


def col_letter(col: int) -> str:
    """Zero-based column index -> letters.

    >>> col_letter(0), col_letter(25), col_letter(26), col_letter(16383)
    ('A', 'Z', 'AA', 'XFD')
    """
    if not 0 <= col < MAX_COLS:
        raise WorkbookError(f"column {col + 1} is beyond the last column of a sheet")
    return _COLS[col]


def cell_ref(row: int, col: int) -> str:
    """Zero-based (row, col) -> ``"B3"``."""
    if not 0 <= row < MAX_ROWS:
        raise WorkbookError(f"row {row + 1:,} is beyond the last row of a sheet ({MAX_ROWS:,})")
    return f"{col_letter(col)}{row + 1}"


# ---------------------------------------------------------------- text and values


def _is_blank(value: Any) -> bool:
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value == ""


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def _cell_xml(ref: str, cell: Cell, xf: Mapping[str, int]) -> str:
    if cell.xml is not None:  # a user's cell, kept as the file had it
        return cell.xml
    style = cell.style
    value = _plain(cell.value)
    is_date = isinstance(value, dt.date)
    if style is None and is_date and "date" in xf:
        style = "date"
    s = f' s="{_xf_index(xf, style)}"' if style is not None else ""
    if cell.formula is not None:
        formula = cell.formula[1:] if cell.formula.startswith("=") else cell.formula
        f = f"<f>{escape_clean(ILLEGAL.sub('', formula))}</f>"
        if _is_blank(value):
            return f'<c r="{ref}"{s} t="str">{f}<v></v></c>'
        if isinstance(value, bool):
            return f'<c r="{ref}"{s} t="b">{f}<v>{int(value)}</v></c>'
        if isinstance(value, (int, float)):
            if math.isinf(value):
                return f'<c r="{ref}"{s} t="e">{f}<v>#NUM!</v></c>'
            return f'<c r="{ref}"{s}>{f}<v>{number_text(value)}</v></c>'
        if is_date:
            return f'<c r="{ref}"{s}>{f}<v>{number_text(excel_serial(value))}</v></c>'
        if isinstance(value, str):
            if value in EXCEL_ERRORS:
                return f'<c r="{ref}"{s} t="e">{f}<v>{value}</v></c>'
            return f'<c r="{ref}"{s} t="str">{f}<v>{escape(value)}</v></c>'
        raise WorkbookError(f"cell {ref}: cached value {value!r} has an unsupported type")
    if _is_blank(value):
        return f'<c r="{ref}"{s}/>' if s else ""
    if isinstance(value, bool):
        return f'<c r="{ref}"{s} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float)):
        if math.isinf(value):
            return f'<c r="{ref}"{s} t="e"><v>#NUM!</v></c>'
        return f'<c r="{ref}"{s}><v>{number_text(value)}</v></c>'
    if is_date:
        as_dt = value if isinstance(value, dt.datetime) else dt.datetime(*value.timetuple()[:3])
        if as_dt.replace(tzinfo=None) >= FIRST_SERIAL_DATE:
            return f'<c r="{ref}"{s}><v>{number_text(excel_serial(value))}</v></c>'
        value = value.isoformat()
    if isinstance(value, str):
        value = fit(value)
        space = ' xml:space="preserve"' if preserve(value) else ""
        return f'<c r="{ref}"{s} t="inlineStr"><is><t{space}>{escape_clean(value)}</t></is></c>'
    raise WorkbookError(f"cell {ref}: value {value!r} has an unsupported type")


def _xf_index(xf: Mapping[str, int], style: str | None) -> int:
    if style is None:
        return 0
    try:
        return xf[style]
    except KeyError:
        raise WorkbookError(
            f"style {style!r} is used by a cell but is not in the workbook's styles"
        ) from None


# ---------------------------------------------------------------- tables (vectorised)


class _Column:
    """One table column prepared for block rendering."""

    def __init__(self, table: Table, spec: ColumnSpec, col: int, xf: Mapping[str, int]) -> None:
        if spec.key not in table.frame.columns:
            raise WorkbookError(f"table column {spec.key!r} is not in its frame")
        self.spec = spec
        self.letter = col_letter(col)
        self.open = f'<c r="{self.letter}'
        style = spec.style
        if style is None and spec.kind == "date" and "date" in xf:
            style = "date"
        self.s = f' s="{_xf_index(xf, style)}"' if style is not None else ""
        self.series = self._prepare(table.frame[spec.key])

    def _prepare(self, series: pd.Series) -> pd.Series:
        kind = self.spec.kind
        name = self.spec.key
        try:
            if kind == "number":
                if pd.api.types.is_bool_dtype(series.dtype):
                    return series.astype("float64")
                if not pd.api.types.is_numeric_dtype(series.dtype):
                    series = pd.to_numeric(series, errors="raise")
                if pd.api.types.is_integer_dtype(
                    series.dtype
                ) and not pd.api.types.is_extension_array_dtype(series.dtype):
                    return series
                return pd.Series(series.to_numpy(dtype="float64", na_value=np.nan), copy=False)
            if kind == "date":
                if isinstance(series.dtype, pd.DatetimeTZDtype):
                    series = series.dt.tz_localize(None)
                elif not pd.api.types.is_datetime64_dtype(series.dtype):
                    series = pd.to_datetime(series, errors="raise")
                return series.astype("datetime64[ns]")
            if kind == "bool":
                return series.astype("boolean")
            if kind == "text":
                return series.astype("string")
        except (TypeError, ValueError) as exc:
            raise WorkbookError(
                f"table column {name!r} cannot be written as {kind}: {exc}"
            ) from exc
        raise WorkbookError(f"table column {name!r}: unknown kind {kind!r}")

    def pieces(self, lo: int, hi: int) -> tuple[np.ndarray, Any, Any, Any]:
        """For frame rows [lo, hi): (blank mask, middle, value, close) per row.

        The cell is ``open + row + middle + value + close``; each of the last three is
        a string or an object array.
        """
        part = self.series.iloc[lo:hi]
        kind = self.spec.kind
        s = self.s
        n = hi - lo
        if kind == "number":
            values = part.to_numpy()
            if values.dtype.kind in "iu":
                return np.zeros(n, bool), f'"{s}><v>', _strs(values), "</v></c>"
            blank = np.isnan(values)
            inf = np.isinf(values)
            finite = values[~blank & ~inf]
            if (
                finite.size
                and np.all(finite == np.round(finite))
                and np.all(np.abs(finite) < 2**53)
            ):
                text = _strs(np.where(blank | inf, 0, values).astype(np.int64))
            else:
                text = np.array(list(map(repr, values.tolist())), dtype=object)
            middle: Any = f'"{s}><v>'
            if inf.any():
                middle = np.full(n, middle, dtype=object)
                middle[inf] = f'"{s} t="e"><v>'
                text[inf] = "#NUM!"
            return blank, middle, text, "</v></c>"
        if kind == "date":
            ns = part.to_numpy().astype(np.int64)
            blank = part.isna().to_numpy()
            early = ~blank & (ns < FIRST_NS)
            days = ns - EPOCH_NS
            if not np.any(days[~blank] % DAY_NS):
                text = _strs(np.where(blank, 0, days // DAY_NS))
            else:
                text = np.array(list(map(repr, (days / DAY_NS).tolist())), dtype=object)
            middle = f'"{s}><v>'
            close: Any = "</v></c>"
            if early.any():
                middle = np.full(n, middle, dtype=object)
                close = np.full(n, close, dtype=object)
                middle[early] = f'"{s} t="inlineStr"><is><t>'
                close[early] = "</t></is></c>"
                iso = (
                    part[early]
                    .dt.strftime("%Y-%m-%d %H:%M:%S")
                    .str.replace(" 00:00:00", "", regex=False)
                )
                text[early] = iso.to_numpy(dtype=object)
            return blank, middle, text, close
        if kind == "bool":
            blank = part.isna().to_numpy()
            flags = part.fillna(False).to_numpy(dtype=bool)
            text = np.where(flags, "1", "0").astype(object)
            return blank, f'"{s} t="b"><v>', text, "</v></c>"
        # text
        text = part.to_numpy(dtype=object, na_value="")
        blank = text == ""
        middle = f'"{s} t="inlineStr"><is><t>'
        filled_rows = np.flatnonzero(~blank)
        idx = special_rows(text[filled_rows].tolist())
        if idx is not None and idx.size:
            idx = filled_rows[idx]
            text = text.copy()  # never write into the frame's own array
            middle = np.full(n, middle, dtype=object)
            clean = [fit(t) for t in text[idx].tolist()]
            text[idx] = [escape_clean(t) for t in clean]
            keep = np.array([preserve(t) for t in clean], dtype=bool)
            middle[idx[keep]] = f'"{s} t="inlineStr"><is><t xml:space="preserve">'
        return blank, middle, text, "</t></is></c>"


@functools.cache
def _arrow_rows() -> Any:
    """:mod:`retention_xl.workbook.arrowrows` when pyarrow is installed, else None (the
    numpy path of :class:`_Column`)."""
    try:
        from retention_xl.workbook import arrowrows
    except ImportError:
        return None
    return arrowrows


def _strs(values: np.ndarray) -> np.ndarray:
    return np.array(list(map(str, values.tolist())), dtype=object)


class _TableBlock:
    """A table's data rows, rendered in blocks."""

    def __init__(self, table: Table, xf: Mapping[str, int]) -> None:
        self.table = table
        self.first = table.first_row + 1  # first data row (zero-based sheet row)
        self.stop = table.first_row + 1 + len(table.frame)
        self.col0 = table.first_col
        self.col1 = table.first_col + len(table.columns)
        self.columns = [
            _Column(table, spec, table.first_col + j, xf) for j, spec in enumerate(table.columns)
        ]

    def text(self, r0: int, r1: int, attrs: Mapping[int, str]) -> str | bytes | memoryview:
        """The ``<row>`` elements of sheet rows [r0, r1) (UTF-8 bytes on the Arrow path)."""
        arrow = _arrow_rows()
        if arrow is not None:
            return arrow.block_bytes(self, r0, r1, attrs)  # type: ignore[no-any-return]
        return "".join(self.matrix(r0, r1, row_tags=True, attrs=attrs).ravel().tolist())

    def row_texts(self, r0: int, r1: int, attrs: Mapping[int, str]) -> list[str]:
        """The cells of sheet rows [r0, r1), one string per row (without ``<row>``)."""
        arrow = _arrow_rows()
        if arrow is not None:
            return arrow.block_rows(self, r0, r1, attrs, row_tags=False).to_pylist()  # type: ignore[no-any-return]
        return ["".join(row) for row in self.matrix(r0, r1, row_tags=False, attrs=attrs).tolist()]

    def matrix(self, r0: int, r1: int, *, row_tags: bool, attrs: Mapping[int, str]) -> np.ndarray:
        """Pieces for sheet rows [r0, r1) (inside the table) as a 2-D object array."""
        lo, hi = r0 - self.first, r1 - self.first
        n = hi - lo
        rows = _strs(np.arange(r0 + 1, r1 + 1))
        width = 5 * len(self.columns) + (4 if row_tags else 0)
        out = np.empty((n, width), dtype=object)
        base = 3 if row_tags else 0
        if row_tags:
            out[:, 0] = '<row r="'
            out[:, 1] = rows
            out[:, 2] = '">'
            out[:, -1] = "</row>"
            for row, extra in attrs.items():
                if r0 <= row < r1:
                    out[row - r0, 2] = f'" {extra}>'
        for j, column in enumerate(self.columns):
            blank, middle, value, close = column.pieces(lo, hi)
            k = base + 5 * j
            out[:, k] = column.open
            out[:, k + 1] = rows
            out[:, k + 2] = middle
            out[:, k + 3] = value
            out[:, k + 4] = close
            if blank.any():
                out[blank, k : k + 5] = ""
        return out


def _table_headers(table: Table) -> dict[tuple[int, int], Cell]:
    return {
        (table.first_row, table.first_col + j): Cell(value=spec.header, style=table.header_style)
        for j, spec in enumerate(table.columns)
    }


def _collect(
    sheet: SheetPlan, xf: Mapping[str, int]
) -> tuple[dict[int, list[tuple[int, Cell]]], list[_TableBlock]]:
    cells: dict[tuple[int, int], Cell] = dict(sheet.cells)
    blocks: list[_TableBlock] = []
    for table in sheet.tables:
        for key, cell in _table_headers(table).items():
            if key in cells:
                raise WorkbookError(
                    f"sheet {sheet.title!r}: cell {cell_ref(*key)} is a table header and a cell"
                )
            cells[key] = cell
        block = _TableBlock(table, xf)
        if block.stop > MAX_ROWS:
            raise WorkbookError(
                f"sheet {sheet.title!r}: a table of {len(table.frame):,} rows ends on row "
                f"{block.stop:,}, beyond the last row of a sheet ({MAX_ROWS:,})"
            )
        for other in blocks:
            if (
                block.first - 1 < other.stop
                and other.first - 1 < block.stop
                and block.col0 < other.col1
                and other.col0 < block.col1
            ):
                raise WorkbookError(f"sheet {sheet.title!r}: two tables overlap")
        blocks.append(block)
    for row, col in cells:
        for block in blocks:
            if block.first <= row < block.stop and block.col0 <= col < block.col1:
                raise WorkbookError(
                    f"sheet {sheet.title!r}: cell {cell_ref(row, col)} lies inside a table"
                )
    by_row: dict[int, list[tuple[int, Cell]]] = {}
    for (row, col), cell in cells.items():
        cell_ref(row, col)  # bounds check
        by_row.setdefault(row, []).append((col, cell))
    return by_row, blocks


def _row_open(row: int, attrs: Mapping[int, str]) -> str:
    extra = attrs.get(row)
    return f'<row r="{row + 1}" {extra}>' if extra else f'<row r="{row + 1}">'


def iter_sheet_rows(
    sheet: SheetPlan,
    xf: Mapping[str, int],
    *,
    row_attrs: Mapping[int, str] | None = None,
    block_rows: int = BLOCK_ROWS,
) -> Iterator[str]:
    """The ``<row>`` elements of a sheet, in order, as text blocks.

    ``row_attrs`` maps a zero-based row to extra attributes of its ``<row>`` tag (a
    height, hidden...) that :func:`row_attributes` read from the part being replaced;
    such rows are written even when empty.
    """
    for chunk in _row_chunks(sheet, xf, row_attrs=row_attrs, block_rows=block_rows):
        yield chunk if isinstance(chunk, str) else str(chunk, "utf-8")


def _row_chunks(
    sheet: SheetPlan,
    xf: Mapping[str, int],
    *,
    row_attrs: Mapping[int, str] | None = None,
    block_rows: int = BLOCK_ROWS,
) -> Iterator[str | bytes | memoryview]:
    """:func:`iter_sheet_rows`, with table blocks as UTF-8 bytes when Arrow renders them
    (the writer compresses them as they are)."""
    attrs = dict(row_attrs or {})
    by_row, blocks = _collect(sheet, xf)
    points = {0}
    for block in blocks:
        points.update((block.first, block.stop))
    single = set(by_row) | set(attrs)
    for row in single:
        # rows inside a table are written with it (a user's column beside a table
        # must not cut the table into one-row pieces)
        if not any(blk.first <= row < blk.stop for blk in blocks):
            points.update((row, row + 1))
    bounds = sorted(points)
    sparse = sorted(by_row)
    for a, b in itertools.pairwise(bounds):
        covering = [blk for blk in blocks if blk.first <= a and b <= blk.stop]
        if not covering:
            if a in single:  # b == a + 1
                yield _sparse_row(a, by_row.get(a, []), xf, attrs)
            continue
        at = bisect.bisect_left(sparse, a)
        has_cells = at < len(sparse) and sparse[at] < b
        if len(covering) == 1 and not has_cells:
            block = covering[0]
            for r0 in range(a, b, block_rows):
                r1 = min(b, r0 + block_rows)
                yield block.text(r0, r1, attrs)
            continue
        yield from _mixed_rows(a, b, covering, by_row, xf, attrs, block_rows)


def _sparse_row(
    row: int, cells: list[tuple[int, Cell]], xf: Mapping[str, int], attrs: Mapping[int, str]
) -> str:
    body = "".join(
        _cell_xml(cell_ref(row, col), cell, xf) for col, cell in sorted(cells, key=lambda x: x[0])
    )
    if not body and row not in attrs:
        return ""
    return _row_open(row, attrs) + body + "</row>"


def _mixed_rows(
    a: int,
    b: int,
    covering: list[_TableBlock],
    by_row: Mapping[int, list[tuple[int, Cell]]],
    xf: Mapping[str, int],
    attrs: Mapping[int, str],
    block_rows: int,
) -> Iterator[str]:
    """Rows shared by several tables and/or sparse cells (side-by-side blocks)."""
    for r0 in range(a, b, block_rows):
        r1 = min(b, r0 + block_rows)
        parts: list[list[tuple[int, str]]] = [[] for _ in range(r1 - r0)]
        for block in covering:
            strings = block.row_texts(r0, r1, attrs)
            for i, text in enumerate(strings):
                if text:
                    parts[i].append((block.col0, text))
        out = []
        for i, segments in enumerate(parts):
            row = r0 + i
            for col, cell in by_row.get(row, []):
                segments.append((col, _cell_xml(cell_ref(row, col), cell, xf)))
            segments.sort(key=lambda x: x[0])
            body = "".join(text for _, text in segments)
            if body or row in attrs:
                out.append(_row_open(row, attrs) + body + "</row>")
        yield "".join(out)


def render_sheet_data(
    sheet: SheetPlan, xf: Mapping[str, int], *, row_attrs: Mapping[int, str] | None = None
) -> bytes:
    """The whole ``<sheetData>`` element of ``sheet`` (cells and tables, rows in order).

    Parameters
    ----------
    sheet : SheetPlan
        The planned sheet; its ``cells`` and ``tables`` are written.
    xf : Mapping[str, int]
        The ``cellXfs`` index of every style key used (from :func:`ensure_styles`).
    row_attrs : Mapping[int, str], optional
        Extra ``<row>`` attributes to keep (see :func:`row_attributes`).

    Raises
    ------
    WorkbookError
        A cell inside a table, overlapping tables, a style missing from ``xf``, a value
        of an unsupported type, or more rows than a sheet holds.
    """
    body = "".join(iter_sheet_rows(sheet, xf, row_attrs=row_attrs))
    if not body:
        return b"<sheetData/>"
    return b"<sheetData>" + body.encode("utf-8") + b"</sheetData>"


def sheet_dimension(sheet: SheetPlan) -> str:
    """The used range of a planned sheet, as ``<dimension ref>`` wants it (``"A1:G101"``).

    >>> from retention_xl.workbook.plan import SheetPlan
    >>> s = SheetPlan(role="ABOUT", title="About")
    >>> sheet_dimension(s)
    'A1'
    >>> _ = s.put(4, 2, "x"); sheet_dimension(s)
    'C5'
    """
    rows: list[int] = []
    cols: list[int] = []
    for row, col in sheet.cells:
        rows.append(row)
        cols.append(col)
    for table in sheet.tables:
        rows += [table.first_row, table.last_row]
        cols += [table.first_col, table.first_col + max(len(table.columns) - 1, 0)]
    if not rows:
        return "A1"
    first, last = cell_ref(min(rows), min(cols)), cell_ref(max(rows), max(cols))
    return first if first == last else f"{first}:{last}"


# ---------------------------------------------------------------- worksheet parts

_SHEET_DATA = re.compile(rb"<(?:([A-Za-z_][\w.-]*):)?sheetData\b[^>]*?(/?)>")
_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row\b([^>]*?)/?>")
_ROW_NUMBER = re.compile(rb'\sr="(\d+)"')
_DROP_ROW_ATTRS = re.compile(rb'\s(?:r|spans)="[^"]*"')
#: Row attributes worth keeping (LibreOffice writes the defaults on every row).
_MEANINGFUL = re.compile(rb'(?:customHeight|hidden|customFormat)="(?:1|true)"|outlineLevel="[1-9]')
_ROW_KEYWORDS = (b"custom", b"hidden", b"outlineLevel")  # custom: customHeight, customFormat


def split_sheet_data(worksheet_xml: bytes, dimension: str) -> tuple[bytes, bytes, bytes]:
    """Cut a worksheet part around its ``<sheetData>``.

    Returns ``(head, old, tail)``: the part up to the element (with ``<dimension>``
    set to ``dimension``, added when missing), the old element, and the rest. Write
    ``head + <new sheetData> + tail``; when the part uses a namespace prefix, the new
    element must come from :func:`_wrap` (``replace_sheet_data`` does this).
    """
    start, end, prefix = _sheet_data_bounds(worksheet_xml)
    head = _set_dimension(worksheet_xml[:start], dimension, prefix)
    return head, worksheet_xml[start:end], worksheet_xml[end:]


def _sheet_data_bounds(worksheet_xml: bytes) -> tuple[int, int, bytes | None]:
    """Where the ``<sheetData>`` element starts and ends, and its namespace prefix."""
    match = _SHEET_DATA.search(worksheet_xml)
    if match is None:
        raise WorkbookError("worksheet part has no <sheetData>: the workbook is damaged")
    prefix = match.group(1)
    if match.group(2):
        end = match.end()
    else:
        close = b"</" + (prefix + b":" if prefix else b"") + b"sheetData>"
        at = worksheet_xml.find(close, match.end())
        if at < 0:
            raise WorkbookError("worksheet part: <sheetData> is not closed")
        end = at + len(close)
    return match.start(), end, prefix


def _set_dimension(head: bytes, dimension: str, prefix: bytes | None) -> bytes:
    p = prefix + b":" if prefix else b""
    element = b"<" + p + b'dimension ref="' + dimension.encode("ascii") + b'"/>'
    found = re.search(
        rb"<" + re.escape(p) + rb"dimension\b[^>]*?(?:/>|>.*?</" + re.escape(p) + rb"dimension>)",
        head,
        re.S,
    )
    if found is not None:
        return head[: found.start()] + element + head[found.end() :]
    sheet_pr = re.search(
        rb"<" + re.escape(p) + rb"sheetPr\b[^>]*?(?:/>|>.*?</" + re.escape(p) + rb"sheetPr>)",
        head,
        re.S,
    )
    if sheet_pr is not None:
        at = sheet_pr.end()
    else:
        root = re.search(rb"<" + re.escape(p) + rb"worksheet\b[^>]*>", head)
        if root is None:
            raise WorkbookError("worksheet part has no <worksheet> root")
        at = root.end()
    return head[:at] + element + head[at:]


def _wrap(prefix: bytes | None) -> tuple[bytes, bytes]:
    if not prefix:
        return b"<sheetData>", b"</sheetData>"
    tag = prefix + b":sheetData"
    return b"<" + tag + b' xmlns="' + NS.encode() + b'">', b"</" + tag + b">"


def _prefix_of(worksheet_xml: bytes) -> bytes | None:
    match = _SHEET_DATA.search(worksheet_xml)
    return match.group(1) if match else None


def replace_sheet_data(worksheet_xml: bytes, sheet_data: bytes, dimension: str) -> bytes:
    """Splice a rendered ``<sheetData>`` into a worksheet part; keep everything else.

    ``<dimension ref>`` becomes ``dimension``; sheetViews, cols, merged cells,
    conditional formats, validations, drawings, table parts and extensions are kept
    byte for byte.

    >>> part = (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    ...         b'<dimension ref="A1"/><sheetData/><pageMargins left="0.7"/></worksheet>')
    >>> new = replace_sheet_data(part, b'<sheetData><row r="1"/></sheetData>', "A1:B1")
    >>> new[77:136]
    b'<dimension ref="A1:B1"/><sheetData><row r="1"/></sheetData>'
    """
    head, _old, tail = split_sheet_data(worksheet_xml, dimension)
    prefix = _prefix_of(worksheet_xml)
    inner = _inner(sheet_data)
    start, end = _wrap(prefix)
    if not inner and not prefix:
        return head + b"<sheetData/>" + tail
    return head + start + inner + end + tail


def _inner(sheet_data: bytes) -> bytes:
    data = sheet_data.strip()
    if data == b"<sheetData/>":
        return b""
    if not (data.startswith(b"<sheetData>") and data.endswith(b"</sheetData>")):
        raise WorkbookError("sheet_data must be a <sheetData> element from render_sheet_data")
    return data[len(b"<sheetData>") : -len(b"</sheetData>")]


def row_attributes(sheet_data_xml: bytes, start: int = 0, end: int | None = None) -> dict[int, str]:
    """Row formatting (height, hidden, outline, row style) in an old ``<sheetData>``
    (the whole of ``sheet_data_xml``, or its bytes ``start:end``, not copied).

    Returns zero-based row -> attribute text (without ``r`` and ``spans``), only for
    rows with a custom height or format, hidden, or in an outline group.

    >>> row_attributes(b'<sheetData><row r="2" spans="1:3" ht="30" customHeight="1"/></sheetData>')
    {1: 'ht="30" customHeight="1"'}
    """
    # Only the row tags holding one of the keywords can qualify: each is found from a
    # keyword by the last "<" before it ("<" never occurs inside a tag), so a sheet of
    # 100,000 plain rows and one tall header row costs a few searches, not a loop.
    stop = len(sheet_data_xml) if end is None else end
    starts: set[int] = set()
    for key in _ROW_KEYWORDS:
        at = sheet_data_xml.find(key, start, stop)
        while at >= 0:
            starts.add(sheet_data_xml.rfind(b"<", start, at))
            at = sheet_data_xml.find(key, at + len(key), stop)
    out: dict[int, str] = {}
    for tag in sorted(starts):
        match = _ROW_TAG.match(sheet_data_xml, tag) if tag >= 0 else None
        if match is None:  # the keyword was in a cell, not in a row tag
            continue
        attrs = match.group(1)
        number = _ROW_NUMBER.search(attrs)
        extra = _DROP_ROW_ATTRS.sub(b"", attrs).strip()
        if number is not None and _MEANINGFUL.search(extra):
            out[int(number.group(1)) - 1] = extra.decode("utf-8")
    return out


# ---------------------------------------------------------------- a just-written package


def _resolve(base: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    parts: list[str] = []
    for piece in (PurePosixPath(base).parent / target).parts:
        if piece == "..":
            if parts:
                parts.pop()
        elif piece != ".":
            parts.append(piece)
    return "/".join(parts)


def _sheet_title(reference: str) -> str | None:
    """``'Sheet ''1'''!$A$1`` -> ``Sheet '1'``; None when it is not a sheet reference."""
    text = reference.lstrip("=").strip()
    if text.startswith("'"):
        end = text.find("'!")
        while end >= 0 and text[1:end].count("'") % 2:
            end = text.find("'!", end + 1)
        if end < 0:
            return None
        return text[1:end].replace("''", "'")
    if "!" in text:
        return text.split("!", 1)[0]
    return None


def worksheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Role -> worksheet part name, found through the ``RXL_SHEET_*`` defined names."""
    workbook = parse_xml(zf.read("xl/workbook.xml"), part="xl/workbook.xml")
    rels = parse_xml(zf.read("xl/_rels/workbook.xml.rels"), part="xl/_rels/workbook.xml.rels")
    targets = {
        rel.get("Id"): _resolve("xl/workbook.xml", rel.get("Target", ""))
        for rel in rels.iter(f"{{{NS_PKG_REL}}}Relationship")
    }
    by_title = {
        sheet.get("name"): targets.get(sheet.get(f"{{{NS_REL}}}id"))
        for sheet in workbook.iter(f"{{{NS}}}sheet")
    }
    out: dict[str, str] = {}
    for name in workbook.iter(f"{{{NS}}}definedName"):
        label = name.get("name", "")
        if not label.startswith("RXL_SHEET_") or name.get("localSheetId") is not None:
            continue
        title = _sheet_title(name.text or "")
        part = by_title.get(title) if title is not None else None
        if part:
            out[label[len("RXL_SHEET_") :]] = part
    return out


def rewrite_sheet_data(
    path: str | os.PathLike[str],
    plan: WorkbookPlan,
    *,
    roles: Iterable[str] | None = None,
    compresslevel: int | None = None,
) -> None:
    """Write the cells and tables of ``plan`` into the package at ``path``, in place.

    Made for the file XlsxWriter has just written from the same plan (styles, charts,
    validations, conditional formats, names, widths, but no table data): each planned
    sheet is found through its ``RXL_SHEET_<ROLE>`` name, its ``<sheetData>`` is
    replaced (rows keep their heights), the plan's styles are ensured in
    ``styles.xml``, and every other part is copied unchanged. Large tables are
    streamed into the package block by block. The file is replaced atomically.

    Parameters
    ----------
    path : path-like
        The ``.xlsx`` package.
    plan : WorkbookPlan
        The plan the package was written from.
    roles : iterable of str, optional
        Only these roles (default: every planned sheet).
    compresslevel : int, optional
        zlib level of the rewritten parts (default: zlib's default, and
        :data:`BIG_SHEET_LEVEL` for a sheet whose tables hold more than
        :data:`BIG_SHEET_CELLS` cells).
    """
    target = Path(path)
    wanted = set(roles) if roles is not None else {sheet.role for sheet in plan.sheets}
    with zipfile.ZipFile(target) as zin:
        parts = worksheet_parts(zin)
        missing = sorted(role for role in wanted if role not in parts)
        if missing:
            names = ", ".join(sheet_marker(role) for role in missing)
            raise WorkbookError(f"{target.name}: no sheet is marked by {names}")
        sheets = {parts[s.role]: s for s in plan.sheets if s.role in wanted}
        styles_xml, xf = ensure_styles(zin.read("xl/styles.xml"), plan.styles)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as raw:
                with zipfile.ZipFile(raw, "w", allowZip64=True) as zout:
                    for info in zin.infolist():
                        new = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                        new.compress_type = info.compress_type
                        new.external_attr = info.external_attr
                        new.create_system = info.create_system
                        if compresslevel is not None and info.compress_type == zipfile.ZIP_DEFLATED:
                            new._compresslevel = compresslevel  # type: ignore[attr-defined]
                        if info.filename in sheets:
                            if compresslevel is None:
                                level = deflate_level(sheets[info.filename])
                                new._compresslevel = level  # type: ignore[attr-defined]
                            _write_sheet(zin.read(info), sheets[info.filename], xf, zout, new)
                        elif info.filename == "xl/styles.xml":
                            zout.writestr(new, styles_xml)
                        else:
                            zout.writestr(new, zin.read(info))
                raw.flush()
                os.fsync(raw.fileno())
            # mkstemp makes the file private (0600): keep the mode the writer gave it.
            shutil.copymode(target, tmp)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def write_sheet_part(
    worksheet_xml: bytes, sheet: SheetPlan, xf: Mapping[str, int], out: IO[bytes]
) -> None:
    """Stream the new worksheet part to ``out``: :func:`replace_sheet_data` without
    holding the rendered sheet in memory.

    The old part's row heights and other row formatting are kept
    (:func:`row_attributes`); ``<dimension>`` becomes the plan's used range. ``out`` is
    typically a member opened for writing in a zip file (``ZipFile.open(name, "w")``);
    the rendering of the next block overlaps the compression of the previous one.
    """
    head, old_data, tail = split_sheet_data(worksheet_xml, sheet_dimension(sheet))
    attrs = row_attributes(old_data)
    start, end = _wrap(_prefix_of(worksheet_xml))
    out.write(head)
    out.write(start)
    _pipe(_row_chunks(sheet, xf, row_attrs=attrs), out)
    out.write(end)
    out.write(tail)


def sheet_part_pieces(
    worksheet_xml: bytes, sheet: SheetPlan, xf: Mapping[str, int]
) -> tuple[bytes, Iterator[bytes | memoryview], bytes]:
    """The new worksheet part as :func:`write_sheet_part` writes it, in pieces:
    ``(head, rows, tail)``, the rows UTF-8 blocks rendered as they are iterated (for a
    caller that compresses them itself). ``worksheet_xml`` is no longer needed once
    this returns.

    >>> from retention_xl.workbook.plan import SheetPlan
    >>> s = SheetPlan(role="ABOUT", title="About"); _ = s.put(0, 0, 1.5)
    >>> head, rows, tail = sheet_part_pieces(b"<worksheet><sheetData/></worksheet>", s, {})
    >>> head
    b'<worksheet><dimension ref="A1"/><sheetData>'
    >>> b"".join(rows), tail
    (b'<row r="1"><c r="A1"><v>1.5</v></c></row>', b'</sheetData></worksheet>')
    """
    begin, stop, prefix = _sheet_data_bounds(worksheet_xml)
    head = _set_dimension(worksheet_xml[:begin], sheet_dimension(sheet), prefix)
    attrs = row_attributes(worksheet_xml, begin, stop)
    start, end = _wrap(prefix)
    return head + start, _row_bytes(sheet, xf, attrs), end + worksheet_xml[stop:]


def _row_bytes(
    sheet: SheetPlan, xf: Mapping[str, int], attrs: Mapping[int, str]
) -> Iterator[bytes | memoryview]:
    for chunk in _row_chunks(sheet, xf, row_attrs=attrs):
        yield chunk.encode("utf-8") if isinstance(chunk, str) else chunk


def _write_sheet(
    old: bytes,
    sheet: SheetPlan,
    xf: Mapping[str, int],
    zout: zipfile.ZipFile,
    info: zipfile.ZipInfo,
) -> None:
    big = _table_cells(sheet) > 20_000_000
    with zout.open(info, "w", force_zip64=big) as out:
        write_sheet_part(old, sheet, xf, out)


def _table_cells(sheet: SheetPlan) -> int:
    return sum(len(t.frame) * max(len(t.columns), 1) for t in sheet.tables)


def deflate_level(sheet: SheetPlan) -> int:
    """zlib level of a written worksheet part: :data:`BIG_SHEET_LEVEL` when its tables
    hold more than :data:`BIG_SHEET_CELLS` cells, zlib's default (6) otherwise."""
    return BIG_SHEET_LEVEL if _table_cells(sheet) > BIG_SHEET_CELLS else 6


def _pipe(chunks: Iterable[str | bytes | memoryview], out: IO[bytes]) -> None:
    """Write text chunks to ``out`` from a second thread, so deflate (which releases
    the GIL) overlaps the rendering of the next block."""
    queue: Queue[bytes | memoryview | None] = Queue(maxsize=2)
    failure: list[BaseException] = []

    def drain() -> None:
        try:
            while (data := queue.get()) is not None:
                out.write(data)
        except BaseException as exc:  # re-raised in the rendering thread
            failure.append(exc)
            while queue.get() is not None:
                pass

    worker = threading.Thread(target=drain, name="rxl-sheet-writer", daemon=True)
    worker.start()
    try:
        for chunk in chunks:
            if failure:
                break
            if chunk:
                queue.put(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)
    finally:
        queue.put(None)
        worker.join()
    if failure:
        raise failure[0]
