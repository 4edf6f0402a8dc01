"""Where a refused cell of a CSV file is: its row, as a spreadsheet shows the file.

DuckDB's CSV reader gives no row numbers (its Parquet reader does), so the fast read
of a CSV source knows which cells fail a check but not where they are. The checks on
a cell depend on that cell alone, so a cell fails exactly when its raw text is one of
the failing texts DuckDB found: this module reads the one file again, with the
dialect DuckDB sniffed in it, and finds the first records whose cells are (or are not)
among given texts. Only refusals and the list of skipped rows pay for it.

Rows count as the pandas engine counts them: the header is row 1 (after any lines
DuckDB skipped above it), the first record row 2, and a record whose quoted cell
holds a line break is one row.

>>> import duckdb, pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "orders.csv"
>>> _ = path.write_text('id;date\\n1;2024-01-02\\n2;"no\\nday"\\n3;hello\\n', "utf-8")
>>> con = duckdb.connect()
>>> find_rows(con, path, [CellTest("date", frozenset({"hello"}))], limit=5)
[(4, 'hello')]
"""

from __future__ import annotations

import csv
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CellTest", "find_rows"]

#: csv's own limit (128 KiB a cell) is below what exports hold in notes columns
_FIELD_LIMIT = 1 << 30


@dataclass(frozen=True, slots=True)
class CellTest:
    """A record passes when its cell in ``column`` (None for an empty cell, as DuckDB
    reads it) is among ``texts``, or, with ``among=False``, when it is not."""

    column: str
    texts: frozenset[str | None]
    among: bool = True


@dataclass(frozen=True, slots=True)
class _Dialect:
    delimiter: str
    quote: str | None
    escape: str | None
    skip: int


def _sniffed(con: Any, path: Path) -> _Dialect:
    """The delimiter, quote, escape and skipped lines DuckDB found in ``path``."""
    row = con.execute("SELECT * FROM sniff_csv(?)", [str(path)]).fetchone()
    names = [d[0] for d in con.description]
    got = dict(zip(names, row, strict=True))

    def char(value: Any) -> str | None:
        text = "" if value is None else str(value)
        return None if text in ("", "(empty)") else text

    return _Dialect(
        delimiter=char(got.get("Delimiter")) or ",",
        quote=char(got.get("Quote")),
        escape=char(got.get("Escape")),
        skip=int(got.get("SkipRows") or 0),
    )


def _records(path: Path, dialect: _Dialect) -> Generator[list[str], None, None]:
    """The records of ``path`` read with ``dialect``, header first."""
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, _FIELD_LIMIT))
    try:
        with path.open("r", encoding="utf-8-sig", newline="", errors="replace") as fh:
            for _ in range(dialect.skip):
                fh.readline()
            yield from csv.reader(
                fh,
                delimiter=dialect.delimiter,
                quotechar=dialect.quote or '"',
                escapechar=None if dialect.escape == dialect.quote else dialect.escape,
                doublequote=dialect.escape in (None, dialect.quote),
                quoting=csv.QUOTE_MINIMAL if dialect.quote else csv.QUOTE_NONE,
                strict=False,
            )
    finally:
        csv.field_size_limit(limit)


def find_rows(
    con: Any, path: Path, tests: Sequence[CellTest], *, limit: int
) -> list[tuple[int, str | None]]:
    """The first ``limit`` records of the CSV file ``path`` that pass every test, as
    (row, the cell of the first test's column); empty when a column is not in the
    header (the caller then names no row).

    ``con`` is a DuckDB connection, used to sniff the file's dialect as its reader
    did. The file is read once, up to the last record wanted.
    """
    if limit <= 0 or not tests:
        return []
    dialect = _sniffed(con, path)
    records = _records(path, dialect)
    try:  # closed at the end, not when collected: the file and csv's cell limit
        return _matching(records, tests, dialect.skip + 1, limit)
    finally:
        records.close()


def _matching(
    records: Iterator[list[str]], tests: Sequence[CellTest], header_row: int, limit: int
) -> list[tuple[int, str | None]]:
    """:func:`find_rows` over the file's records, header first."""
    header = next(records, None)
    if header is None:
        return []
    position = {name: i for i, name in reversed(list(enumerate(header)))}
    if any(t.column not in position for t in tests):
        return []
    where = [(position[t.column], t.texts, t.among) for t in tests]
    first = where[0][0]
    found: list[tuple[int, str | None]] = []
    row = header_row
    for record in records:
        if not record:  # a blank line: no record, and no row (as pandas reads it)
            continue
        row += 1
        cells = [record[i] if i < len(record) else "" for i, _, _ in where]
        if all(
            ((cell or None) in texts) == among
            for cell, (_, texts, among) in zip(cells, where, strict=True)
        ):
            cell = record[first] if first < len(record) else ""
            found.append((row, cell or None))
            if len(found) >= limit:
                break
    return found
