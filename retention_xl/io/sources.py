"""Read what ``--subscriptions``, ``--survey`` or ``--customers`` names into one raw table.

These options take the forms of ``--orders`` (:mod:`retention_xl.engines.sources`):
an export (CSV/TSV, .xlsx), a Parquet file, a folder of Parquet files, a glob of
Parquet or CSV files, or a DuckDB table (``duckdb:FILE.duckdb?table=NAME``, the table
named after the option by default). The tables are small (they become a sheet), so
:func:`read_source_table` reads them into memory as one
:class:`~retention_xl.io.tables.RawTable`, which then goes through the layouts,
checks and numbers of a single CSV export:

* **limits**: at most :data:`~retention_xl.io.tables.MAX_PARQUET_ROWS` rows in all,
  counted from the Parquet footers or by DuckDB before any data is read (CSV files:
  their total size first, then their rows as they are read);
* **one table**: every file has the same columns (in any order) and CSV files the
  same separator; the first file that differs is refused, naming it and how;
* **rows**: each data row keeps its file and its row in that file (the first record
  of a file is row 2, as a sheet counts; a DuckDB table's rows by ``rowid`` from 1,
  a view's in the order it gives them), so a bad cell is named ``b.csv, row 7`` or
  ``shop.duckdb, table subs row 7``.

Parquet files and DuckDB tables give typed cells (numbers, dates, text) as a workbook
does; text stays text.

Examples
--------
>>> read_source_table("subscriptions/*.csv", option="subscriptions").parts  # doctest: +SKIP
(Part(file='subscriptions/2024.csv', label='2024.csv', table=None), ...)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from retention_xl.errors import ExportError, InputError
from retention_xl.io import tables
from retention_xl.io.tables import (
    Part,
    RawTable,
    frame_cells,
    parquet_size,
    read_parquet_cells,
    read_table,
    table_from_cells,
)

__all__ = ["read_source_table"]


def read_source_table(value: str | Path, *, option: str, encoding: str | None = None) -> RawTable:
    """Read the source ``--OPTION value`` names into one :class:`RawTable`.

    One export or one Parquet file is read by :func:`~retention_xl.io.tables.read_table`
    as before; several files and DuckDB tables as the module docstring says.

    Raises
    ------
    InputError
        A source that names nothing, or holds too many rows (naming ``--OPTION``).
    ExportError
        A file that cannot be read, or differs from the first (naming it).
    """
    from retention_xl.engines.sources import parse_source

    source = parse_source(value, option=option)
    if source.kind == "duckdb":
        return _read_duckdb(source, option)
    if source.kind == "export" or Path(source.text).expanduser().is_file():
        return read_table(source.files[0], encoding=encoding)
    parts = _parts(source.files)
    if source.kind == "parquet":
        sizes = [parquet_size(f) for f in source.files]
        _check_rows(source, option, sum(r for r, _ in sizes), f"its {len(sizes):,} files hold")
        _check_bytes(source, option, sum(b for _, b in sizes), "uncompressed")
        return _combine(source, option, [read_parquet_cells(f) for f in source.files], parts)
    _check_bytes(source, option, sum(f.stat().st_size for f in source.files), "")
    read: list[RawTable] = []
    rows = 0
    for f in source.files:
        read.append(read_table(f, encoding=encoding))
        rows += len(read[-1].data)
        held = f"its first {len(read):,} files hold"
        _check_rows(source, option, rows, held)
    return _combine(source, option, read, parts)


def _parts(files: Sequence[Path]) -> list[Part]:
    """The files as parts: named by their names, or by their paths inside the folder
    they share when two have the same name (``year=2024/part-0.parquet``)."""
    names = [f.name for f in files]
    if len(set(names)) == len(names):
        return [Part(file=str(f), label=f.name) for f in files]
    root = os.path.commonpath([str(f.parent) for f in files])
    return [Part(file=str(f), label=Path(os.path.relpath(f, root)).as_posix()) for f in files]


def _check_rows(source: Any, option: str, rows: int, held: str) -> None:
    limit = tables.MAX_PARQUET_ROWS
    if rows > limit:
        raise InputError(
            f"--{option} {source.text!r}: {held} {rows:,} rows, more than the {limit:,} a "
            "sheet holds below its header. Filter the data to the period you need",
            argument=option,
        )


def _check_bytes(source: Any, option: str, size: int, what: str) -> None:
    limit = tables.MAX_TEXT_BYTES
    if size > limit:
        raise InputError(
            f"--{option} {source.text!r}: its files hold {size:,} bytes{' ' + what if what else ''}"
            f", more than the {limit:,} limit",
            argument=option,
        )


def _combine(source: Any, option: str, read: list[RawTable], parts: list[Part]) -> RawTable:
    """The tables of the files as one (columns in the first file's order)."""
    first = read[0]
    for table, part in zip(read[1:], parts[1:], strict=True):
        if set(table.headers) != set(first.headers):
            missing = [h for h in first.headers if h not in table.headers]
            extra = [h for h in table.headers if h not in first.headers]
            how = "; ".join(
                text
                for text in (
                    f"it lacks {_names(missing)}" if missing else "",
                    f"it has {_names(extra)}, which {parts[0].label} has not" if extra else "",
                )
                if text
            )
            raise ExportError(
                f"has other columns than {parts[0].label} ({how}). The files of one "
                f"--{option} source must have the same columns",
                file=part.file,
                label=part.label,
                row=1,
            )
        if table.delimiter != first.delimiter:
            raise ExportError(
                f"is separated by {table.delimiter!r} where {parts[0].label} is separated by "
                f"{first.delimiter!r}. Export the files the same way (same separator and "
                "number format)",
                file=part.file,
                label=part.label,
                row=1,
            )
    data = pd.concat([t.data[first.headers] for t in read], ignore_index=True)
    encodings = list(dict.fromkeys(t.encoding for t in read if t.encoding))
    return RawTable(
        file=source.label,
        headers=list(first.headers),
        data=data,
        rows=np.concatenate([t.rows for t in read]).astype(np.int64),
        source=first.source,
        encoding=", ".join(encodings) or None,
        delimiter=first.delimiter,
        parts=tuple(parts),
        part_of=np.concatenate(
            [np.full(len(t.data), i, dtype=np.int64) for i, t in enumerate(read)]
        ),
    )


def _names(columns: list[str]) -> str:
    shown = ", ".join(repr(c) for c in columns[:10])
    return shown + (f" and {len(columns) - 10} more" if len(columns) > 10 else "")


def _read_duckdb(source: Any, option: str) -> RawTable:
    """A DuckDB table (or view): counted, then read whole; rows numbered by ``rowid``."""
    from retention_xl.engines.deps import require_lake
    from retention_xl.engines.lake import attach_table

    duckdb, _ = require_lake("reading a DuckDB table")
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        relation = attach_table(con, duckdb, source)
        try:
            con.execute(f"SELECT rowid FROM {relation} LIMIT 0").fetchall()
            numbered = f"SELECT *, rowid + 1 AS rxl_row FROM {relation} ORDER BY rowid"
        except duckdb.Error:  # a view has no rowid: its rows in the order it gives them
            numbered = f"SELECT *, row_number() OVER () AS rxl_row FROM {relation}"
        try:
            count = con.execute(f"SELECT count(*) FROM {relation}").fetchall()[0][0]
            _check_rows(source, option, int(count), "the table holds")
            arrow = con.sql(numbered).to_arrow_table()
        except duckdb.Error as exc:
            raise ExportError(
                f"cannot be read by DuckDB ({type(exc).__name__}: {str(exc).splitlines()[0]})",
                file=source.label,
            ) from exc
    finally:
        con.close()
    frame = arrow.to_pandas(date_as_object=True)
    rows = frame.pop("rxl_row").to_numpy(dtype=np.int64)
    table = table_from_cells(source.label, frame_cells(frame))
    # blank rows were left out: keep the numbers of the rows that stayed
    kept = np.asarray(table.rows, dtype=np.int64) - 2
    table.rows = rows[kept]
    table.parts = (Part(file=str(source.path), label=source.path.name, table=source.table),)
    table.part_of = np.zeros(len(table.rows), dtype=np.int64)
    return table
