"""Read an export (CSV/TSV text, .xlsx or Parquet) into a raw table of cells, safely.

Text files: the encoding and separator are sniffed (:mod:`retention_xl.io.locale`),
then pandas' C parser reads every cell as a string (no type guessing, so ``=1+1``,
``+39...``, ``007`` stay exactly as written). Workbooks: the package is checked against
zip bombs and XML entity tricks (:mod:`retention_xl.io.safety`) before python-calamine
reads the first sheet's values. Parquet files (a subscriptions, survey or customers
table kept in a lake; the ``lake`` extra): the footer's row count and uncompressed size
are checked against the limits before any data page is read, then pyarrow reads typed
cells as a workbook gives them (numbers, dates, text; a null is a blank cell).

Spreadsheet row numbers are kept for every data row so errors can say "row 7".
"""

from __future__ import annotations

import decimal
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from retention_xl.errors import ExportError, InputError
from retention_xl.io.locale import DecodeError, decode_bytes, sniff_delimiter
from retention_xl.io.safety import check_zip_package

__all__ = [
    "MAX_PARQUET_ROWS",
    "Part",
    "RawTable",
    "frame_cells",
    "parquet_size",
    "read_parquet_cells",
    "read_table",
    "table_from_cells",
]

MAX_TEXT_BYTES = 2 * 1024**3


@dataclass(frozen=True, slots=True)
class Part:
    """One file, or the table of a DuckDB database, of a table read from several.

    ``file`` is its path, ``label`` how messages name it (the file's name, or its path
    inside the folder when names repeat), ``table`` the DuckDB table.
    """

    file: str
    label: str
    table: str | None = None


@dataclass(slots=True)
class RawTable:
    """The cells of an export: ``data`` (one column per header, object cells),
    ``rows`` (the spreadsheet row number of each data row), and how it was read.

    A table read from several files or a DuckDB table (:mod:`retention_xl.io.sources`)
    has its ``parts`` and, per data row, ``part_of`` (the index of its part); ``rows``
    are then counted within each part, and :meth:`error` and :meth:`place` name the
    part with the row.
    """

    file: str
    headers: list[str]
    data: pd.DataFrame
    rows: np.ndarray
    source: str  # "csv" or "xlsx"
    encoding: str | None = None
    delimiter: str | None = None
    header_rows: int = 1
    parts: tuple[Part, ...] = ()
    part_of: np.ndarray | None = None

    def row_of(self, position: int) -> int:
        """Spreadsheet row number of the data row at ``position`` (in its part)."""
        return int(self.rows[position])

    def part_at(self, position: int) -> Part | None:
        """The part the data row at ``position`` comes from (None: a single file)."""
        if self.part_of is None or not self.parts:
            return None
        return self.parts[int(self.part_of[position])]

    def place(self, position: int) -> str:
        """The data row at ``position`` as messages name it: ``row 7``, ``b.csv row 7``
        (one of several files) or ``table subs row 7`` (a DuckDB table)."""
        part = self.part_at(position)
        return f"{self._prefix(part)}row {self.row_of(position)}"

    def row_names(self) -> list[str]:
        """:meth:`place` of every data row (an id for rows that have none)."""
        rows = self.rows.tolist()
        if self.part_of is None or not self.parts:
            return [f"row {r}" for r in rows]
        prefixes = [self._prefix(part) for part in self.parts]
        return [f"{prefixes[i]}row {r}" for i, r in zip(self.part_of.tolist(), rows, strict=True)]

    def _prefix(self, part: Part | None) -> str:
        if part is None:
            return ""
        if part.table is not None:
            return f"table {part.table} "
        return f"{part.label} " if len(self.parts) > 1 else ""

    def error(
        self, position: int, message: str, *, column: str | None = None, value: object = None
    ) -> ExportError:
        """An :class:`ExportError` naming the file (or part), row and column of a cell."""
        part = self.part_at(position)
        if part is None:
            return ExportError(
                message, file=self.file, row=self.row_of(position), column=column, value=value
            )
        return ExportError(
            message,
            file=part.file,
            label=None if part.table is not None else part.label,
            table=part.table,
            row=self.row_of(position),
            column=column,
            value=value,
        )

    def take(self, keep: np.ndarray) -> RawTable:
        """The table with only the data rows ``keep`` (a mask or positions) selects."""
        return RawTable(
            file=self.file,
            headers=list(self.headers),
            data=self.data.iloc[keep].reset_index(drop=True),
            rows=self.rows[keep],
            source=self.source,
            encoding=self.encoding,
            delimiter=self.delimiter,
            header_rows=self.header_rows,
            parts=self.parts,
            part_of=None if self.part_of is None else self.part_of[keep],
        )


def read_table(path: str | Path, *, encoding: str | None = None) -> RawTable:
    """Read ``path`` into a :class:`RawTable` with one header row.

    Raises :class:`ExportError` for empty, binary, undecodable or ragged files.
    """
    p = Path(path)
    with p.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(b"PK\x03\x04"):
        return _read_xlsx(p)
    if head.startswith(b"PAR1"):
        return _read_parquet(p)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ExportError(
            "is an old-style .xls workbook, which is not read for safety and fidelity. "
            "Open it in Excel or LibreOffice and save it as .xlsx or CSV",
            file=p,
        )
    if p.suffix.lower() in {".xlsx", ".xlsm"}:
        raise ExportError(
            "has an .xlsx name but is not an .xlsx workbook. Save it again from Excel, "
            "or rename it .csv if it is a CSV file",
            file=p,
        )
    size = p.stat().st_size
    if size > MAX_TEXT_BYTES:
        raise ExportError(f"is {size:,} bytes, larger than the {MAX_TEXT_BYTES:,} limit", file=p)
    data = p.read_bytes()
    return _read_text(p, data, encoding=encoding)


def _read_text(p: Path, data: bytes, *, encoding: str | None) -> RawTable:
    try:
        text, enc = decode_bytes(data, encoding)
    except DecodeError as exc:
        raise ExportError(str(exc), file=p, row=exc.line) from exc
    if not text.strip():
        raise ExportError("is empty: no header row and no data. Export the data again", file=p)
    delimiter = sniff_delimiter(text)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            header=None,
            dtype=object,  # Python strings, as the cells are used (no Arrow round trip)
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            engine="c",
            quotechar='"',
        )
    except pd.errors.EmptyDataError as exc:
        raise ExportError("is empty: no header row and no data", file=p) from exc
    except pd.errors.ParserError as exc:
        msg = str(exc)
        m = re.search(r"line (\d+)", msg)
        row = int(m.group(1)) if m else None
        m2 = re.search(r"Expected (\d+) fields in line \d+, saw (\d+)", msg)
        detail = (
            f"has {m2.group(2)} cells where the header has {m2.group(1)}"
            if m2
            else f"cannot be split into columns ({msg})"
        )
        raise ExportError(
            f"{detail}. Check the separator ({delimiter!r} was detected) and quotes",
            file=p,
            row=row,
        ) from exc
    frame = frame.fillna("")
    blank = _blank_text_rows(frame.iloc[1:]) if len(frame) > 1 else None
    return _to_table(
        p, frame.to_numpy(dtype=object), source="csv", encoding=enc, delim=delimiter, blank=blank
    )


def table_from_cells(name: str, cells: np.ndarray, *, header_row: int = 1) -> RawTable:
    """A :class:`RawTable` from a 2-D object array of cells whose first row is the header.

    For cells read from a workbook; ``name`` names the source in messages and
    ``header_row`` is the spreadsheet row number of the header (data rows follow it).
    """
    table = _to_table(Path(name), cells, source="xlsx", encoding=None, delim=None)
    table.file = name
    table.rows = table.rows + (header_row - 1)
    return table


def _to_table(
    p: Path,
    cells: np.ndarray,
    *,
    source: str,
    encoding: str | None,
    delim: str | None,
    blank: np.ndarray | None = None,
) -> RawTable:
    """The table of ``cells`` (first row the header); ``blank`` marks the blank data
    rows when the caller already knows them (:func:`_blank_text_rows`)."""
    if cells.ndim != 2 or cells.shape[0] == 0:
        raise ExportError("is empty: no header row and no data", file=p)
    header = ["" if h is None else str(h).strip().lstrip("\ufeff") for h in cells[0]]
    # drop trailing unnamed empty columns (a trailing separator on every line)
    while header and header[-1] == "" and _blank_column(cells[1:, len(header) - 1]):
        header.pop()
    if not any(header):
        raise ExportError("has no header row: the first row is blank", file=p, row=1)
    cells = cells[:, : len(header)]
    headers = _unique_headers(header)
    body = cells[1:]
    rows = np.arange(2, 2 + len(body), dtype=np.int64)
    if len(body):
        if blank is None:
            blank = (
                np.array([_blank_row(r) for r in body], dtype=bool)
                if len(body) < 50_000
                else (_blank_rows_fast(body))
            )
        if blank.any():
            body, rows = body[~blank], rows[~blank]
    data = pd.DataFrame(body, columns=pd.Index(headers, dtype=object), dtype=object)
    return RawTable(
        file=str(p),
        headers=headers,
        data=data,
        rows=rows,
        source=source,
        encoding=encoding,
        delimiter=delim,
    )


def _blank_cell(v: object) -> bool:
    return (
        v is None
        or (isinstance(v, str) and not v.strip())
        or (isinstance(v, float) and np.isnan(v))
    )


def _blank_column(col: np.ndarray) -> bool:
    return all(_blank_cell(v) for v in col)


def _blank_row(row: np.ndarray) -> bool:
    return all(_blank_cell(v) for v in row)


def _blank_rows_fast(body: np.ndarray) -> np.ndarray:
    frame = pd.DataFrame(body)
    blank = np.ones(len(frame), dtype=bool)
    for c in frame.columns:
        col = frame[c]
        if pd.api.types.infer_dtype(col, skipna=False) == "string":  # all text
            blank &= (col.str.strip() == "").to_numpy(dtype=bool)
        else:
            blank &= np.array([_blank_cell(v) for v in col], dtype=bool)
        if not blank.any():
            break
    return blank


#: Every character ``str.strip`` removes (``str.isspace``); none lies above U+3000.
_SPACES = tuple(chr(i) for i in range(0x3001) if chr(i).isspace())


def _blank_text_rows(frame: pd.DataFrame) -> np.ndarray:
    """Which rows of a frame of text cells (a CSV as read) are blank: every cell empty
    or whitespace, as :func:`_blank_cell` says, without a Python call per cell.

    A cell whose first character is not whitespace rules its row out; only the rows
    left after that (normally none) are checked cell by cell.

    >>> _blank_text_rows(pd.DataFrame({"a": ["x", " ", ""], "b": ["", "\\t", "y"]}))
    array([False,  True, False])
    """
    maybe = np.ones(len(frame), dtype=bool)
    for name in frame.columns:
        col = frame[name].astype("str")
        first = col.str.slice(0, 1)
        maybe &= ((first == "") | first.isin(_SPACES)).to_numpy(dtype=bool)
        if not maybe.any():
            return maybe
    rows = np.flatnonzero(maybe)
    cells = frame.iloc[rows].to_numpy(dtype=object)
    maybe[rows] = [_blank_row(r) for r in cells]
    return maybe


def _unique_headers(header: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, h in enumerate(header):
        name = h or f"column {i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name} ({seen[name]})"
        else:
            seen[name] = 1
        out.append(name)
    return out


# ---------------------------------------------------------------------------
# xlsx

_DOCTYPE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
_FIRST_ELEMENT = re.compile(rb"<[A-Za-z_]")


def check_xml_parts(path: Path | IO[bytes], *, name: str | None = None) -> None:
    """Refuse a package whose XML parts declare a DTD or entities (XXE, billion laughs).

    Only the prolog of each part (before its root element) can hold a DOCTYPE, so only
    that is scanned; UTF-16 parts are decoded first. ``path`` may be a binary file
    object, with ``name`` the file name for messages.
    """
    label = name or (path.name if isinstance(path, Path) else "the workbook")
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            part = info.filename
            if not part.lower().endswith((".xml", ".rels", ".vml")):
                continue
            with zf.open(info) as fh:
                chunk = fh.read(65536)
            if chunk.startswith((b"\xff\xfe", b"\xfe\xff")):
                chunk = chunk.decode("utf-16", errors="ignore").encode("utf-8")
            prolog = re.sub(rb"<!--.*?-->|<\?.*?\?>", b"", chunk, flags=re.DOTALL)
            first = _FIRST_ELEMENT.search(prolog)
            head = prolog if first is None else prolog[: first.start()]
            if _DOCTYPE.search(head):
                raise InputError(
                    f"{label}: part {part!r} declares a DTD or XML entities, which "
                    "real Excel files never do: refused as unsafe (XML entity attack). "
                    "Save the data again from Excel or export it as CSV"
                )


def _read_xlsx(p: Path) -> RawTable:
    check_zip_package(p)
    check_xml_parts(p)
    try:
        from python_calamine import CalamineWorkbook
    except ImportError as exc:  # pragma: no cover - dependency of the cli extra
        raise InputError(
            "reading .xlsx exports needs python-calamine, which comes with the 'cli' extra: "
            "pip install 'retention-xl[cli]'"
        ) from exc
    try:
        wb = CalamineWorkbook.from_path(str(p))
        names = wb.sheet_names
        if not names:
            raise ExportError("has no worksheets", file=p)
        rows: list[list[Any]] = []
        for name in names:
            rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
            if any(any(not _blank_cell(v) for v in r) for r in rows[:5]):
                break
    except ExportError:
        raise
    except Exception as exc:  # calamine raises its own error types for damaged files
        raise ExportError(
            f"cannot be read as an .xlsx workbook ({type(exc).__name__}: {exc}). "
            "Save it again from Excel or export it as CSV",
            file=p,
        ) from exc
    if not rows:
        raise ExportError("is empty: the workbook has no data", file=p)
    width = max(len(r) for r in rows)
    cells = np.empty((len(rows), width), dtype=object)
    cells[:] = ""
    for i, r in enumerate(rows):
        cells[i, : len(r)] = r
    return _to_table(p, cells, source="xlsx", encoding=None, delim=None)


# ---------------------------------------------------------------------------
# Parquet

#: rows a Parquet table read as an export may hold: what a sheet holds below its header
MAX_PARQUET_ROWS = 1_048_575


def _read_parquet(p: Path) -> RawTable:
    """One Parquet file as typed cells (see the module docstring), its rows numbered as
    a sheet would number them (the header is row 1)."""
    rows, size = parquet_size(p)
    if rows > MAX_PARQUET_ROWS:
        raise ExportError(
            f"has {rows:,} rows, more than the {MAX_PARQUET_ROWS:,} a sheet holds "
            "below its header. Filter it to the period you need",
            file=p,
        )
    if size > MAX_TEXT_BYTES:
        raise ExportError(
            f"holds {size:,} bytes uncompressed, more than the {MAX_TEXT_BYTES:,} limit", file=p
        )
    return read_parquet_cells(p)


def _pyarrow_parquet(p: Path) -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise InputError(
            f"{p.name} is a Parquet file: reading it needs pyarrow, which comes with the "
            "'lake' extra: pip install 'retention-xl[lake]'"
        ) from exc
    return pq


def parquet_size(p: Path) -> tuple[int, int]:
    """``(rows, uncompressed bytes)`` of a Parquet file, from its footer alone."""
    pq = _pyarrow_parquet(p)
    try:
        meta = pq.ParquetFile(p).metadata
    except Exception as exc:  # pyarrow raises its own error types for damaged files
        raise ExportError(
            f"cannot be read as a Parquet file ({type(exc).__name__}: {exc}). Write it again",
            file=p,
        ) from exc
    size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    return int(meta.num_rows), int(size)


def read_parquet_cells(p: Path) -> RawTable:
    """A Parquet file's cells, without the limits :func:`read_table` checks first."""
    pq = _pyarrow_parquet(p)
    try:
        frame = pq.read_table(p).to_pandas(types_mapper=None, date_as_object=True)
    except Exception as exc:
        raise ExportError(
            f"cannot be read as a Parquet file ({type(exc).__name__}: {exc}). Write it again",
            file=p,
        ) from exc
    return _to_table(p, frame_cells(frame), source="xlsx", encoding=None, delim=None)


def frame_cells(frame: pd.DataFrame) -> np.ndarray:
    """A typed frame (from Parquet or DuckDB) as a 2-D object array of cells, the
    column names first, each column as :func:`_parquet_cells` gives it."""
    header = np.array([str(c) for c in frame.columns], dtype=object)
    cells = np.empty((len(frame) + 1, len(frame.columns)), dtype=object)
    cells[0] = header
    for j in range(len(frame.columns)):
        cells[1:, j] = _parquet_cells(frame.iloc[:, j])
    return cells


def _parquet_cells(col: pd.Series) -> np.ndarray:
    """A column's values as a workbook reader gives them: ``datetime`` for timestamps
    (a zone-aware one in its own zone's wall time), numbers (a decimal as a float, as
    a sheet holds it), text, ``""`` for nulls.

    >>> import decimal
    >>> _parquet_cells(pd.Series([decimal.Decimal("19.90"), None])).tolist()
    [19.9, '']
    """
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        col = col.dt.tz_localize(None)
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        out = np.array(col.dt.to_pydatetime(), dtype=object)
    else:
        out = col.to_numpy(dtype=object, copy=True)  # arrow may hand a read-only view
    missing = pd.isna(col).to_numpy()
    present = out[~missing]
    if len(present) and isinstance(present[0], decimal.Decimal):  # a DECIMAL column
        out[~missing] = [float(v) for v in present]
    out[missing] = ""
    return out
