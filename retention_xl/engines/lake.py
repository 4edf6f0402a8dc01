"""Orders from Parquet files, CSV files or a DuckDB table, checked and normalised in DuckDB.

:class:`LakeOrders` opens an :class:`~retention_xl.engines.sources.OrdersSource` in an
embedded DuckDB database and applies the rules of the CSV path
(:mod:`retention_xl.io.formats.generic`) in SQL, so that nothing but small results
ever reaches Python:

* **columns**: the canonical names (``customer_id``, ``order_id``, ``order_date``,
  ``amount``; optional ``refunded``, ``status``, ``currency``, ``updated_at``), their
  English and Italian synonyms, or ``--map ROLE=COLUMN``, resolved and refused exactly
  as for a CSV export (same functions, same messages);
* **types**: ids are text or whole numbers, dates are dates, timestamps (read in UTC)
  or ISO text (``--date-format`` for others), money is numbers or text like
  ``1234.56``; a column whose type is none of these, or whose type differs between
  two files, is refused naming the files;
* **cells**: blank ids and dates, text that is not a number or a date, NaN, infinite
  or absurd amounts (1e15 or more) and unknown statuses are refused naming the file,
  the row (rows of a Parquet file are counted from 1, those of a DuckDB table by its
  ``rowid`` from 1, those of a CSV file as a spreadsheet shows it, header row 1, as
  the pandas engine counts them: DuckDB numbers no CSV rows, so the file is read again
  to find them, :mod:`~retention_xl.engines.csvrows`) and the column, or skipped and
  counted with ``--skip-bad-rows``; statuses are read through the same words
  (``paid``, ``annullato``, ``rimborsato``...); refunds are sizes (negative refunds
  taken as positive);
* **currencies**: several currencies without ``--rate`` are refused with the rows per
  currency; with rates, amounts and refunds are converted;
* **repeated order ids**: identical repeats are dropped and counted; different
  versions are refused naming the order, unless an update time tells which is
  current;
* **refunds**: an order marked refunded without a refund amount was refunded in full.

The checked orders stay in DuckDB: :meth:`LakeOrders.frame` hands them to pandas (the
pandas engine), :mod:`retention_xl.engines.duckdb_engine` aggregates them where they
are. The import report is the same :class:`~retention_xl.io.report.ImportReport` the
CSV path fills.
"""

from __future__ import annotations

import csv
import logging
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from retention_xl.core.schema import validate_orders
from retention_xl.engines.csvrows import CellTest, find_rows
from retention_xl.engines.deps import require_lake
from retention_xl.engines.sources import OrdersSource
from retention_xl.errors import ExportError, InputError
from retention_xl.io.convert import Converter, fix_the_cell
from retention_xl.io.formats.base import (
    ORDER_ROLES,
    STATUS_WORDS,
    check_mapping,
    conversion_note,
    full_refunds_note,
    latest_version_warning,
    mixed_currencies_error,
    refuse_conflict,
    reporting_currency,
    require_roles,
)
from retention_xl.io.headers import HeaderIndex, normalise
from retention_xl.io.report import ImportReport
from retention_xl.io.tables import RawTable

__all__ = ["LakeOrders", "attach_table", "quote_ident", "quote_text"]

log = logging.getLogger(__name__)

#: the characters Python's ``str.strip()`` removes (the CSV path strips ids with it)
WHITESPACE: Final = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
#: DuckDB's memory limit (MB): a 20M-order lake stays within 4 GB of resident memory
MEMORY_LIMIT_MB: Final = 3072
#: amounts this large are refused (as :func:`retention_xl.io.locale.parse_numbers` does)
HUGE: Final = 1e15
_INTEGER_TYPES: Final = frozenset(
    {
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "HUGEINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
        "UHUGEINT",
    }
)
#: which column types each role accepts, and how to say it
_ACCEPTS: Final = {
    "customer_id": ({"text", "integer"}, "an id must be text or a whole number"),
    "order_id": ({"text", "integer"}, "an id must be text or a whole number"),
    "order_date": ({"date", "timestamp", "text"}, "a date must be a date, a timestamp or text"),
    "updated_at": (
        {"date", "timestamp", "text"},
        "an update time must be a timestamp, a date or text",
    ),
    "amount": ({"integer", "number", "text"}, "an amount must be a number"),
    "refunded": ({"integer", "number", "text"}, "a refund must be a number"),
    "status": ({"text"}, "a status must be text (paid, cancelled, refunded...)"),
    "currency": ({"text"}, "a currency must be text (an ISO code such as EUR)"),
}
#: column types that may meet across files (DuckDB reads them as one)
_COMPATIBLE: Final = (frozenset({"integer", "number"}), frozenset({"date", "timestamp"}))


def memory_limit_mb() -> int:
    """DuckDB's memory limit for the checked orders, in MB: :data:`MEMORY_LIMIT_MB`, or
    60 % of the machine's memory when that is less (DuckDB spills the rest to disk)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not a POSIX system
        return MEMORY_LIMIT_MB
    return max(256, min(MEMORY_LIMIT_MB, int(total * 0.6) >> 20))


def quote_ident(name: str) -> str:
    """A SQL identifier, quoted: ``quote_ident('a"b')`` -> ``'"a""b"'``."""
    return '"' + name.replace('"', '""') + '"'


def quote_text(text: str) -> str:
    """A SQL string literal: ``quote_text("it's")`` -> ``"'it''s'"``."""
    return "'" + text.replace("'", "''") + "'"


_WS: Final = quote_text(WHITESPACE)
#: up to this many distinct statuses are read with a CASE expression, more with a join
_STATUS_CASES: Final = 32


#: a whitespace character as Python's str.strip() sees it, as an RE2 class
_SPACE_CLASS: Final = (
    r"[\t-\r\x{1c}-\x{20}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}"
    r"\x{202f}\x{205f}\x{3000}]"
)
_EDGE_SPACE: Final = quote_text(f"^{_SPACE_CLASS}|{_SPACE_CLASS}$")


def _trim(expr: str) -> str:
    """``expr`` as text without surrounding whitespace (Python's set of characters).

    Trimming that many characters costs: it runs only on the values that start or
    end with one of them.
    """
    text = f"CAST({expr} AS VARCHAR)"
    # a cheap test first: every whitespace character is <= U+0020 or >= U+0085
    edge = (
        f"(ord({text}) <= 32 OR ord({text}) >= 133 OR ord(right({text}, 1)) <= 32 "
        f"OR ord(right({text}, 1)) >= 133)"
    )
    return (
        f"CASE WHEN {edge} AND regexp_matches({text}, {_EDGE_SPACE}) "
        f"THEN trim({text}, {_WS}) ELSE {text} END"
    )


def attach_table(con: Any, duckdb: Any, source: OrdersSource) -> str:
    """Attach the database file of a ``duckdb`` source to ``con``, read-only, as
    ``rxl_src``; returns the quoted name of its table (or view).

    A file DuckDB cannot open, or one without the table, is refused naming the file
    (and the tables it has).
    """
    path = source.files[0]
    try:
        con.execute(f"ATTACH {quote_text(str(path))} AS rxl_src (READ_ONLY)")
    except duckdb.Error as exc:
        raise ExportError(
            "cannot be opened as a DuckDB database "
            f"({str(exc).splitlines()[0]}). Is it a DuckDB file, written by this DuckDB "
            "version, and not open for writing by another program?",
            file=path,
        ) from exc
    parts = [p.strip() for p in str(source.table).split(".") if p.strip()]
    schema, table = (parts[0], parts[1]) if len(parts) == 2 else ("main", parts[-1])
    tables = con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = "
        "'rxl_src' UNION ALL SELECT schema_name, view_name FROM duckdb_views() WHERE "
        "database_name = 'rxl_src' AND NOT internal ORDER BY 1, 2"
    ).fetchall()
    found = [
        (s, t) for s, t in tables if s.lower() == schema.lower() and t.lower() == table.lower()
    ]
    if len(parts) > 2 or not found:
        names = [t if s == "main" else f"{s}.{t}" for s, t in tables]
        shown = ", ".join(names[:20]) + (f" and {len(names) - 20} more" if len(names) > 20 else "")
        raise ExportError(
            f"has no table {source.table!r} ("
            + (f"its tables: {shown}" if names else "it has no table")
            + f"). Name one with duckdb:{path}?table=NAME",
            file=path,
        )
    s, t = found[0]
    return f"rxl_src.{quote_ident(s)}.{quote_ident(t)}"


def type_family(duckdb_type: str) -> str:
    """``text``, ``integer``, ``number``, ``date``, ``timestamp``, ``boolean`` or ``other``.

    >>> type_family("DECIMAL(18,2)"), type_family("TIMESTAMP WITH TIME ZONE")
    ('number', 'timestamp')
    """
    t = duckdb_type.strip().upper()
    if t == "VARCHAR" or t.startswith(("VARCHAR(", "ENUM(")) or t == "UUID":
        return "text"
    if t in _INTEGER_TYPES:
        return "integer"
    if t in ("FLOAT", "DOUBLE", "REAL") or t.startswith("DECIMAL"):
        return "number"
    if t == "DATE":
        return "date"
    if t.startswith("TIMESTAMP"):
        return "timestamp"
    if t == "BOOLEAN":
        return "boolean"
    return "other"


def _compatible(families: set[str]) -> bool:
    return len(families) <= 1 or any(families <= group for group in _COMPATIBLE)


@dataclass(frozen=True, slots=True)
class _Check:
    """One rule on the cells of one column: SQL condition, reason, raw value."""

    name: str
    condition: str
    reason: str
    column: str
    value: str


@dataclass(slots=True)
class _Columns:
    """The ``SELECT`` list and the checks of the view ``rxl_canon`` as they are built:
    ``cols`` maps each role to its source column, ``types`` each column to the
    (file, type) pairs it has across files."""

    cols: Mapping[str, str]
    types: Mapping[str, list[tuple[str, str]]]
    select: list[str] = field(default_factory=list)
    checks: list[_Check] = field(default_factory=list)

    def col(self, role: str) -> str:
        """The role's source column, quoted for SQL."""
        return quote_ident(self.cols[role])

    def family(self, role: str) -> str:
        """The role's type family; a column whose files differ reads as its widest
        (text, then timestamp, number, integer, date)."""
        fams = {type_family(t) for _, t in self.types[self.cols[role]]}
        for f in ("text", "timestamp", "number", "integer", "date"):
            if f in fams:
                return f
        return next(iter(fams))

    def check(self, name: str, condition: str, reason: str, role: str, value: str = "") -> None:
        """Add a check on the role's column; ``value`` is the raw cell shown in the
        error (the column itself unless given)."""
        col = self.col(role)
        self.checks.append(_Check(name, condition, reason, self.cols[role], value or col))


def _money_column(out: _Columns, role: str) -> None:
    """``amount`` or ``refunded`` as DOUBLE (text like ``1234.56`` cast); unreadable,
    NaN, infinite or absurd (≥ 1e15) values are checks, a blank amount too; a refund
    is its size (``abs``), a missing refund column 0."""
    if role not in out.cols:
        out.select.append(f"0.0::DOUBLE AS {role}")
        return
    raw = out.col(role)
    if out.family(role) == "text":
        value = f"TRY_CAST(NULLIF({_trim(raw)}, '') AS DOUBLE)"
        unread = f"({value} IS NULL AND {_trim(raw)} <> '')"
        hint = (
            "numbers stored as text are read like 1234.56 here: store them as "
            "numbers, or read CSV exports in other formats with --engine pandas"
        )
    else:
        value = f"CAST({raw} AS DOUBLE)"
        unread = "false"
        hint = "NaN is no amount"
    out.select.append(f"{value} AS _{role}")
    # the checks see the converted columns only: what they need of the raw cell is a
    # column of its own (a raw column may be missing there, or be shadowed by a role)
    out.select.append(f"{unread} AS _unread_{role}")
    out.check(f"{role}_bad", f"(_unread_{role} OR isnan(_{role}))", f"not a number ({hint})", role)
    out.check(
        f"{role}_huge",
        f"(NOT isnan(_{role}) AND (isinf(_{role}) OR abs(_{role}) >= {HUGE:.0f}))",
        "a number too large to be real (infinite, or 1,000,000,000,000,000 or more): "
        "no amount, count or score is that big, and totals would overflow. Check "
        "the column's unit and format in the file",
        role,
    )
    if role == "amount":
        out.check("amount_blank", "_amount IS NULL", "the cell is blank, a number is needed", role)
        out.select.append("_amount AS amount")
    else:  # some tools write refunds as negative numbers: the size was given back
        out.select.append("abs(coalesce(_refunded, 0.0)) AS refunded")


class LakeOrders:
    """Orders of a Parquet, CSV or DuckDB source, checked in an embedded DuckDB database.

    Parameters
    ----------
    source
        What ``--orders`` named (:func:`~retention_xl.engines.sources.parse_orders_source`).
    mapping
        ``{role: column}`` as ``--map`` gives it.
    rates
        Exchange rates into the reporting currency (rate 1).
    skip_bad_rows
        Skip and count bad rows instead of refusing the source.
    date_format
        strftime format of dates stored as text (ISO dates are read without it).
    format
        ``None``, ``auto``, ``generic`` or ``canonical``: the platform layouts
        (``shopify``...) are CSV/XLSX exports.

    Attributes
    ----------
    report
        The :class:`~retention_xl.io.report.ImportReport`, filled as the CSV path fills it.
    con
        The DuckDB connection; the checked orders are the view ``rxl_orders``, the
        customers the table ``rxl_customers`` (``customer_id`` and its code ``cid``, in
        id order) and the table ``rxl_days`` has one row per customer code and day
        (``n`` purchases, ``rev_all`` net revenue of every non-cancelled row, ``rev_p``
        of the purchases).
    """

    def __init__(
        self,
        source: OrdersSource,
        *,
        mapping: Mapping[str, str] | None = None,
        rates: Mapping[str, float] | None = None,
        skip_bad_rows: bool = False,
        date_format: str | None = None,
        format: str | None = None,
    ) -> None:
        if source.kind == "export":
            raise InputError(
                f"--orders {source.text!r} is read by the pandas engine (CSV/XLSX export)",
                argument="orders",
            )
        if format is not None and format.strip().lower() not in (
            "",
            "auto",
            "generic",
            "canonical",
        ):
            raise InputError(
                f"--format {format!r} names a CSV/XLSX export layout; {source.label} is read "
                "by its column names (canonical names, synonyms or --map ROLE=COLUMN)",
                argument="format",
            )
        what = {"parquet": "reading Parquet files", "duckdb": "reading a DuckDB table"}
        duckdb, _ = require_lake(what.get(source.kind, "the DuckDB engine"))
        self._duckdb = duckdb
        self.source = source
        self.skip_bad_rows = skip_bad_rows
        self.date_format = date_format
        # a database in a temporary folder: the checked rows are temporary tables, held
        # in memory up to DuckDB's limit and spilled to the folder beyond it
        self._tmp = tempfile.TemporaryDirectory(prefix="retention-xl-")
        self.con: Any = duckdb.connect(str(Path(self._tmp.name) / "orders.duckdb"))
        self.con.execute("SET TimeZone = 'UTC'")
        # what does not fit in the memory limit spills to the temporary folder; no
        # statement relies on the order rows were inserted in (results are sorted)
        self.con.execute(f"SET temp_directory = {quote_text(self._tmp.name)}")
        self.con.execute(f"SET memory_limit = '{memory_limit_mb()}MB'")
        self.con.execute("SET preserve_insertion_order = false")
        self.report = ImportReport(file=source.label, kind="orders", format=source.kind)
        self.has_currency = False
        try:
            headers, types = self._open()
            cols = self._resolve(headers, dict(mapping or {}))
            self._check_types(cols, types)
            self._canonical(cols, types)
            self._check_cells(cols)
            self._currencies(cols, {k.upper(): float(v) for k, v in (rates or {}).items()})
            self._deduplicate(has_updated="updated_at" in cols)
            self._summarise()
        except self._duckdb.Error as exc:
            self.close()
            raise ExportError(
                f"cannot be read by DuckDB ({type(exc).__name__}: {str(exc).splitlines()[0]})",
                file=source.label,
            ) from exc
        except BaseException:
            self.close()
            raise
        log.info("read %s: %s", source.label, "; ".join(self.report.lines()))

    # -- life cycle ---------------------------------------------------------

    def close(self) -> None:
        """Close the DuckDB connection (the temporary tables go with it)."""
        con, self.con = self.con, None
        if con is not None:
            con.close()
            self._tmp.cleanup()

    def __enter__(self) -> LakeOrders:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def sql(self, query: str, params: Iterable[Any] | None = None) -> Any:
        """Run ``query`` on the connection; returns the DuckDB result."""
        if self.con is None:
            raise InputError("the orders source is closed", argument="orders")
        return self.con.execute(query, list(params) if params is not None else None)

    def one(self, query: str, params: Iterable[Any] | None = None) -> tuple[Any, ...]:
        """The first row of ``query`` (the whole result is fetched, as DuckDB requires)."""
        rows = self.sql(query, params).fetchall()
        return tuple(rows[0]) if rows else ()

    def relation(self, query: str) -> Any:
        """``query`` as a DuckDB relation (for Arrow results)."""
        if self.con is None:
            raise InputError("the orders source is closed", argument="orders")
        return self.con.sql(query)

    # -- reading ------------------------------------------------------------

    def _describe(self, relation: str) -> dict[str, str]:
        rows = self.sql(f"DESCRIBE SELECT * FROM {relation}").fetchall()
        return {str(r[0]): str(r[1]) for r in rows}

    def _file_list(self) -> str:
        return "[" + ", ".join(quote_text(str(f.resolve())) for f in self.source.files) + "]"

    def _file_name(self, index: Any) -> str:
        """How to name the source's file number ``index`` (from 1) in a message."""
        if index is None or self.source.kind == "duckdb":
            return self.source.label
        return self.source.file_label(self.source.files[int(index) - 1])

    def _open(self) -> tuple[list[str], dict[str, list[tuple[str, str]]]]:
        """Create the view ``rxl_raw`` (the source's columns, ``_file``, ``_row``).

        Returns the column names and, per column, the ``(file, type)`` of every file
        that has it.
        """
        src = self.source
        types: dict[str, list[tuple[str, str]]] = {}
        if src.kind == "duckdb":
            relation = self._attach()
            for name, typ in self._describe(relation).items():
                types[name] = [(src.label, typ)]
            try:
                self.sql(f"SELECT rowid FROM {relation} LIMIT 0").fetchall()
                row = "rowid + 1"
            except self._duckdb.Error:  # a view has no rowid
                row = "NULL::BIGINT"
            self.sql(
                f"CREATE TEMP VIEW rxl_raw AS SELECT *, 1 AS _fi, {row} AS _row FROM {relation}"
            )
            return list(types), types
        for f in src.files:
            one = quote_text(str(f))
            reader = (
                f"read_parquet({one})"
                if src.kind == "parquet"
                else f"read_csv({one}, all_varchar = true, header = true)"
            )
            try:
                described = self._describe(reader)
            except self._duckdb.Error as exc:
                kind = "a Parquet file" if src.kind == "parquet" else "a CSV file"
                raise ExportError(
                    f"cannot be read as {kind} ({str(exc).splitlines()[0]})", file=f
                ) from exc
            for name, typ in described.items():
                types.setdefault(name, []).append((str(f), typ))
        files = self._file_list()
        if "file_index" not in types and self._has_file_index():
            # _fi: the file's position in the source (messages name it, first rows come
            # first), DuckDB's own counter of the files it reads
            reader = (
                f"read_parquet({files}, file_row_number = true, union_by_name = true, "
                "hive_partitioning = false)"
                if src.kind == "parquet"
                else f"read_csv({files}, all_varchar = true, header = true, union_by_name = true)"
            )
            rows = "r.file_row_number + 1" if src.kind == "parquet" else "NULL::BIGINT"
            exclude = " EXCLUDE (file_row_number)" if src.kind == "parquet" else ""
            self.sql(
                f"CREATE TEMP VIEW rxl_raw AS SELECT r.*{exclude}, "
                f"CAST(r.file_index + 1 AS INTEGER) AS _fi, {rows} AS _row FROM {reader} r"
            )
            if len(src.files) > 1:
                self.report.notes.append(f"{len(src.files):,} {src.kind.upper()} files")
            return list(types), types
        # older DuckDB: the file's position through its name
        self.sql("CREATE TEMP TABLE rxl_files (_rxl_name VARCHAR, _rxl_fi INTEGER)")
        self.con.executemany(
            "INSERT INTO rxl_files VALUES (?, ?)",
            [(str(f.resolve()), i) for i, f in enumerate(src.files, start=1)],
        )
        if src.kind == "parquet":
            self.sql(
                "CREATE TEMP VIEW rxl_raw AS SELECT r.* EXCLUDE (file_row_number, _rxl_file), "
                "f._rxl_fi AS _fi, r.file_row_number + 1 AS _row FROM read_parquet("
                f"{files}, filename = '_rxl_file', file_row_number = true, "
                "union_by_name = true, hive_partitioning = false) r "
                "JOIN rxl_files f ON f._rxl_name = r._rxl_file"
            )
        else:
            self.sql(
                "CREATE TEMP VIEW rxl_raw AS SELECT r.* EXCLUDE (_rxl_file), f._rxl_fi AS _fi, "
                f"NULL::BIGINT AS _row FROM read_csv({files}, all_varchar = true, header = true, "
                "union_by_name = true, filename = '_rxl_file') r "
                "JOIN rxl_files f ON f._rxl_name = r._rxl_file"
            )
        if len(src.files) > 1:
            self.report.notes.append(f"{len(src.files):,} {src.kind.upper()} files")
        return list(types), types

    def _has_file_index(self) -> bool:
        """Whether DuckDB numbers the files it reads (the ``file_index`` column, 1.3+)."""
        one = quote_text(str(self.source.files[0]))
        reader = (
            f"read_parquet({one})"
            if self.source.kind == "parquet"
            else f"read_csv({one}, all_varchar = true, header = true)"
        )
        try:
            self.sql(f"SELECT file_index FROM {reader} LIMIT 0").fetchall()
        except self._duckdb.Error:
            return False
        return True

    def _attach(self) -> str:
        return attach_table(self.con, self._duckdb, self.source)

    # -- columns ------------------------------------------------------------

    def _resolve(self, headers: list[str], mapping: dict[str, str]) -> dict[str, str]:
        """Roles -> columns, with the CSV path's checks and messages."""
        table = RawTable(
            file=self.source.label,
            headers=headers,
            data=pd.DataFrame(columns=pd.Index(headers, dtype=object)),
            rows=np.zeros(0, dtype=np.int64),
            source=self.source.kind,
        )
        conv = Converter(
            table, self.report, locale=None, date_format=None, skip_bad_rows=self.skip_bad_rows
        )
        check_mapping(conv, mapping, list(ORDER_ROLES))
        cols = HeaderIndex(headers, file=self.source.label).resolve(ORDER_ROLES, mapping)
        canonical = all(
            c in conv.index for c in ("customer_id", "order_id", "order_date", "amount")
        )
        require_roles(
            conv,
            cols,
            ("customer_id", "order_date", "amount"),
            kind="orders",
            fmt="canonical" if canonical else "generic",
        )
        return cols

    def _check_types(
        self, cols: Mapping[str, str], types: Mapping[str, list[tuple[str, str]]]
    ) -> None:
        """Refuse columns of a type their role cannot take, or of different types per file."""
        src = self.source
        n_files = len(src.files)
        for role, column in cols.items():
            seen = types[column]
            required = role in ("customer_id", "order_id", "order_date", "amount")
            if required and src.kind != "duckdb" and len(seen) < n_files:
                have = {f for f, _ in seen}
                missing = next(str(f) for f in src.files if str(f) not in have)
                raise ExportError(
                    f"has no column {column!r} (the {role.replace('_', ' ')}), which "
                    f"{Path(seen[0][0]).name} has: every file needs it. Rewrite the file "
                    "with that column, or leave it out of --orders",
                    file=missing,
                )
            families = {type_family(t) for _, t in seen}
            if not _compatible(families):
                (file_a, type_a), (file_b, type_b) = next(
                    (a, b)
                    for a in seen
                    for b in seen
                    if not _compatible({type_family(a[1]), type_family(b[1])})
                )
                raise ExportError(
                    f"column {column!r} is {type_a} in {Path(file_a).name} but {type_b} in "
                    f"{Path(file_b).name}: the files disagree on its type, and reading them "
                    "as one would turn numbers into text or the reverse. Write every file "
                    "with one type for it",
                    file=src.label,
                    column=column,
                )
            accepted, why = _ACCEPTS[role]
            bad = sorted(families - accepted)
            if bad:
                file, typ = next((f, t) for f, t in seen if type_family(t) in bad)
                raise ExportError(
                    f"column {column!r} holds {typ} values, read as the "
                    f"{role.replace('_', ' ')}: {why}. Map another column with --map "
                    f"{role}=COLUMN, or rewrite the file",
                    file=src.file_label(file),
                    column=column,
                )

    # -- cells --------------------------------------------------------------

    def _canonical(
        self, cols: Mapping[str, str], types: Mapping[str, list[tuple[str, str]]]
    ) -> None:
        """Create the view ``rxl_canon``: converted values and one flag per check.

        Each group of columns (ids, the date, money, status and the optional extras)
        adds its converted expressions and its checks to one :class:`_Columns`; the
        view is its ``SELECT`` list followed by a flag per check.
        """
        out = _Columns(cols, types)
        self._id_columns(out)
        self._date_column(out)
        for role in ("amount", "refunded"):
            _money_column(out, role)
        self._status_column(out)
        self._extra_columns(out)
        out.select.append("_fi, _row")
        for check in out.checks:
            out.select.append(f"CAST({check.value} AS VARCHAR) AS _v_{check.name}")
        inner = ",\n  ".join(out.select)
        flags = ",\n  ".join(f"coalesce(({c.condition}), false) AS _f_{c.name}" for c in out.checks)
        self.sql(f"CREATE TEMP VIEW rxl_conv AS SELECT\n  {inner}\nFROM rxl_raw")
        self.sql(f"CREATE TEMP VIEW rxl_canon AS SELECT *,\n  {flags}\nFROM rxl_conv")
        self._checks = out.checks

    def _id_columns(self, out: _Columns) -> None:
        """Customer and order ids as trimmed text (whole numbers as their digits); a
        missing order id column numbers the rows, with a note saying what that costs."""
        for role in ("customer_id", "order_id"):
            if role not in out.cols:
                continue
            if out.family(role) == "integer":
                out.select.append(f"CAST({out.col(role)} AS VARCHAR) AS {role}")
            else:
                out.select.append(f"NULLIF({_trim(out.col(role))}, '') AS {role}")
            out.check(f"{role}_blank", f"{role} IS NULL", "the cell is blank", role)
        if "order_id" not in out.cols:
            prefix = (
                "'file ' || CAST(_fi AS VARCHAR) || ' ' || " if len(self.source.files) > 1 else ""
            )
            out.select.append(
                f"{prefix}'row ' || CAST(coalesce(_row, row_number() OVER ()) AS VARCHAR) "
                "AS order_id"
            )
            self.report.notes.append(
                "no order id column: each row is one order, so orders repeated across exports "
                "cannot be removed (map one with --map order_id=COLUMN)"
            )

    def _date_column(self, out: _Columns) -> None:
        """The order date: a date or timestamp column as it is, text parsed as ISO dates
        (or with ``--date-format``); blank and unreadable dates are checks."""
        if out.family("order_date") == "text":
            text = _trim(out.col("order_date"))
            if self.date_format:
                parsed = f"CAST(TRY_STRPTIME({text}, {quote_text(self.date_format)}) AS DATE)"
                expected = f"dates like {pd.Timestamp(2024, 1, 31).strftime(self.date_format)}"
            else:
                parsed = f"coalesce(TRY_CAST({text} AS DATE), TRY_CAST(left({text}, 10) AS DATE))"
                expected = "ISO dates like 2024-01-31; pass --date-format for others"
            out.select.append(f"CASE WHEN {text} = '' THEN NULL ELSE {parsed} END AS order_date")
            out.select.append(f"({text} <> '') AS _written_order_date")  # see _money_column
            out.check(
                "date_bad",
                "order_date IS NULL AND _written_order_date",
                f"not a date (expected {expected})",
                "order_date",
            )
        else:
            out.select.append(f"CAST({out.col('order_date')} AS DATE) AS order_date")
        out.check(
            "date_blank", "order_date IS NULL", "the cell is blank, a date is needed", "order_date"
        )
        # the days the pandas engine can hold (nanoseconds), so both read the same orders
        out.check(
            "date_range",
            "order_date < DATE '1677-09-22' OR order_date > DATE '2262-04-11'",
            "not a date in the years 1678 to 2261",
            "order_date",
        )

    def _status_column(self, out: _Columns) -> None:
        """The status through the words of the CSV path (``paid``, ``annullato``...): a
        ``CASE`` for the usual few distinct values, a lookup table beyond; a blank
        status is paid, an unknown word a check."""
        if "status" not in out.cols:
            out.select.append("'paid' AS status")
            return
        raw_status = _trim(out.col("status"))
        values = [
            r[0]
            for r in self.sql(f"SELECT DISTINCT {raw_status} FROM rxl_raw").fetchall()
            if r[0] is not None and r[0] != ""
        ]
        pairs = [(v, STATUS_WORDS.get(normalise(v))) for v in values]
        if len(pairs) <= _STATUS_CASES:  # the usual few words: a CASE, no join
            words = "".join(
                f" WHEN {raw_status} = {quote_text(v)} THEN "
                + ("NULL" if w is None else quote_text(w))
                for v, w in pairs
            )
            out.select.append(
                f"CASE WHEN {raw_status} IS NULL OR {raw_status} = '' THEN 'paid'{words} "
                "ELSE NULL END AS status"
            )
        else:
            self.sql("CREATE TEMP TABLE rxl_status (_rxl_raw VARCHAR, _rxl_status VARCHAR)")
            self.con.executemany("INSERT INTO rxl_status VALUES (?, ?)", pairs)
            out.select.append(
                f"CASE WHEN {raw_status} IS NULL OR {raw_status} = '' THEN 'paid' ELSE "
                "(SELECT s._rxl_status FROM rxl_status s WHERE s._rxl_raw = "
                f"{raw_status}) END AS status"
            )
        known = sorted(STATUS_WORDS)
        out.check(
            "status_unknown",
            "status IS NULL",
            f"unknown order status; known values are {', '.join(known[:12])}",
            "status",
        )

    def _extra_columns(self, out: _Columns) -> None:
        """Currency (upper-case code, NULL when absent) and the update time that tells
        which version of a repeated order is current."""
        if "currency" in out.cols:
            self.has_currency = True
            out.select.append(f"NULLIF(upper({_trim(out.col('currency'))}), '') AS currency")
        else:
            out.select.append("NULL::VARCHAR AS currency")
        if "updated_at" not in out.cols:
            out.select.append("NULL::TIMESTAMP AS _updated")
        elif out.family("updated_at") == "text":
            out.select.append(f"TRY_CAST({_trim(out.col('updated_at'))} AS TIMESTAMP) AS _updated")
        else:
            out.select.append(f"CAST({out.col('updated_at')} AS TIMESTAMP) AS _updated")

    def _where(self, row: tuple[Any, Any]) -> tuple[str, int | None]:
        index, number = row
        return self._file_name(index), None if number is None else int(number)

    def _check_cells(self, cols: Mapping[str, str]) -> None:
        """Keep the rows in ``rxl_rows`` with a bit per failed check (one pass over the
        source); refuse the first bad cell of the first failing check, or count and skip."""
        checks = self._checks
        mask = " | ".join(
            f"(CASE WHEN _f_{c.name} THEN {1 << i} ELSE 0 END)" for i, c in enumerate(checks)
        )
        kept = ["customer_id", "order_id", "order_date", "_amount AS amount", "refunded"]
        kept += ["status", "currency", "_updated", "_fi", "_row"]
        self.sql(
            f"CREATE TEMP TABLE rxl_rows AS SELECT {', '.join(kept)}, "
            f"CAST({mask or '0'} AS INTEGER) AS _mask FROM rxl_canon"
        )
        # customers as integer codes in id order: the days table and every aggregation
        # group, sort and join integers (from the stored rows, not the source again)
        self.sql(
            "CREATE TEMP TABLE rxl_customers AS SELECT customer_id, CAST(row_number() OVER "
            "(ORDER BY customer_id) AS INTEGER) AS cid FROM (SELECT DISTINCT customer_id "
            "FROM rxl_rows WHERE customer_id IS NOT NULL)"
        )
        counts = self.one(
            "SELECT count(*), "
            + ", ".join(
                f"count(*) FILTER (WHERE _mask & {1 << i} <> 0)" for i in range(len(checks))
            )
            + " FROM rxl_rows"
        )
        self.report.rows_read = int(counts[0])
        if counts[0] == 0:
            raise ExportError("has no rows. Export a period with data", file=self.source.label)
        self.sql("CREATE TEMP VIEW rxl_ok AS SELECT *, rowid AS _rid FROM rxl_rows WHERE _mask = 0")
        failing = [c for c, n in zip(checks, counts[1:], strict=True) if n]
        if not failing:
            return
        # the raw values for the message: read again from the source, bad rows only
        if not self.skip_bad_rows:
            first = failing[0]
            index, number, value = self._bad_cells(first, [], 1)[0]
            where, row = self._where((index, number))
            raise ExportError(
                fix_the_cell(first.reason), file=where, row=row, column=first.column, value=value
            )
        earlier: list[_Check] = []
        texts: dict[tuple[str, int], frozenset[str | None]] = {}  # failing texts, per file
        for check in failing:  # a check no cell fails lists nothing and excludes nothing
            room = 20 - len(self.report.skipped)
            if room > 0:
                for index, number, value in self._bad_cells(check, earlier, room, texts):
                    where, row = self._where((index, number))
                    place = f"row {row}, " if row is not None else ""
                    prefix = f"{where}, " if len(self.source.files) > 1 else ""
                    self.report.skipped.append(
                        f"{prefix}{place}column {check.column!r}: {check.reason} (value {value!r})"
                    )
            earlier.append(check)
        self.report.rows_skipped = int(
            self.one("SELECT count(*) FROM rxl_rows WHERE _mask <> 0")[0]
        )

    def _bad_cells(
        self,
        check: _Check,
        earlier: Sequence[_Check],
        limit: int,
        texts: dict[tuple[str, int], frozenset[str | None]] | None = None,
    ) -> list[tuple[Any, Any, Any]]:
        """The first ``limit`` cells that fail ``check`` and none of the ``earlier``
        checks, as (file number, row, raw value), in the order of the files and rows.

        A CSV file has no row numbers in DuckDB: its rows are found by reading the file
        again (:func:`~retention_xl.engines.csvrows.find_rows`), one file at a time,
        for the texts that fail each check (kept in ``texts`` across calls); a row not
        found there is named by no row.
        """
        clause = f"_f_{check.name}" + "".join(f" AND NOT _f_{e.name}" for e in earlier)
        if self.source.kind != "csv":
            return [
                tuple(r)
                for r in self.sql(
                    f"SELECT _fi, _row, _v_{check.name} FROM rxl_canon WHERE {clause} "
                    f"ORDER BY _fi, _row LIMIT {limit}"
                ).fetchall()
            ]
        found: list[tuple[Any, Any, Any]] = []
        files = [int(r[0]) for r in self.sql(
            f"SELECT DISTINCT _fi FROM rxl_canon WHERE {clause} ORDER BY _fi"
        ).fetchall()]  # fmt: skip
        for index in files:
            room = limit - len(found)
            if room <= 0:
                break
            known = {} if texts is None else texts
            for c in (check, *earlier):
                if (c.name, index) not in known:
                    known[c.name, index] = self._failing_texts(c, index)
            tests = [
                CellTest(c.column, known[c.name, index], among=c is check)
                for c in (check, *earlier)
            ]
            try:
                rows: list[tuple[int | None, Any]] = list(
                    find_rows(self.con, self.source.files[index - 1], tests, limit=room)
                )
            except (OSError, csv.Error, self._duckdb.Error):  # gone or unreadable now
                rows = []
            if not rows:  # or the column's header differs from DuckDB's name: no rows
                rows = [
                    (None, r[0])
                    for r in self.sql(
                        f"SELECT _v_{check.name} FROM rxl_canon WHERE {clause} AND _fi = {index} "
                        f"LIMIT {room}"
                    ).fetchall()
                ]
            found += [(index, row, value) for row, value in rows]
        return found

    def _failing_texts(self, check: _Check, index: int) -> frozenset[str | None]:
        """The raw texts of the cells of file ``index`` that fail ``check``."""
        return frozenset(
            r[0]
            for r in self.sql(
                f"SELECT DISTINCT _v_{check.name} FROM rxl_canon WHERE _f_{check.name} "
                f"AND _fi = {index}"
            ).fetchall()
        )

    # -- currencies, duplicates, refunds -----------------------------------

    def _currencies(self, cols: Mapping[str, str], rates: Mapping[str, float]) -> None:
        found_rows = self.sql(
            "SELECT currency, count(*) FROM rxl_ok WHERE currency IS NOT NULL GROUP BY 1 ORDER BY 1"
        ).fetchall()
        found = [str(c) for c, _ in found_rows]
        counts = {str(c): int(n) for c, n in found_rows}
        self.report.currencies = tuple(found)
        money = "amount, refunded"
        currency = "currency"
        if rates:
            base = reporting_currency(rates, found)
            self.sql("CREATE TEMP TABLE rxl_rates (_rxl_currency VARCHAR, _rxl_rate DOUBLE)")
            self.con.executemany("INSERT INTO rxl_rates VALUES (?, ?)", list(rates.items()))
            factor = (
                "coalesce((SELECT r._rxl_rate FROM rxl_rates r "
                "WHERE r._rxl_currency = o.currency), 1.0)"
            )
            money = f"amount * {factor} AS amount, refunded * {factor} AS refunded"
            currency = f"{quote_text(base)}::VARCHAR AS currency"
            note = conversion_note(base, found, rates)
            if note:
                self.report.notes.append(note)
            self.has_currency = self.has_currency and bool(found)
        elif len(found) > 1:
            raise mixed_currencies_error(
                found, counts, file=self.source.label, column=cols.get("currency")
            )
        if not found:
            self.has_currency = False
        self.sql(
            f"CREATE TEMP VIEW rxl_good AS SELECT customer_id, order_id, order_date, {money}, "
            f"status, {currency}, _updated, _fi, _row, _rid FROM rxl_ok o"
        )

    _CONTENT: Final = (
        "customer_id",
        "order_id",
        "order_date",
        "amount",
        "refunded",
        "status",
        "currency",
    )

    def _deduplicate(self, *, has_updated: bool) -> None:
        """One row per order id, as ``resolve_duplicate_orders`` of the CSV path does."""
        self.sql(
            "CREATE TEMP TABLE rxl_dup_ids AS SELECT order_id FROM rxl_good GROUP BY order_id "
            "HAVING count(*) > 1"
        )
        n_dups = int(self.one("SELECT count(*) FROM rxl_dup_ids")[0])
        final = (
            "SELECT customer_id, order_id, order_date, amount, CASE WHEN status = 'refunded' "
            "AND NOT (refunded > 0) AND amount > 0 THEN amount ELSE refunded END AS refunded, "
            "status, currency, _fi, _row, (status = 'refunded' AND NOT (refunded > 0) "
            "AND amount > 0) AS _full FROM "
        )
        self._final = final
        self._dropped = ""
        if n_dups == 0:
            self.sql(f"CREATE TEMP VIEW rxl_orders AS {final} rxl_good")
            return
        content = ", ".join(c for c in self._CONTENT if c != "order_id")
        self.sql(
            "CREATE TEMP TABLE rxl_dup_rows AS SELECT g.* FROM rxl_good g SEMI JOIN rxl_dup_ids "
            "USING (order_id)"
        )
        clash_rows = self.sql(
            f"SELECT order_id, min(row(_fi, _row)) AS first FROM rxl_dup_rows GROUP BY order_id "
            f"HAVING count(DISTINCT row({content})) > 1 ORDER BY first"
        ).fetchall()
        order = "_fi, _row"
        if clash_rows:
            all_dated = (
                has_updated
                and not self.one("SELECT count(*) FROM rxl_dup_rows WHERE _updated IS NULL")[0]
            )
            if not all_dated:
                self._refuse(
                    clash_rows[0][0], "; the file has no update time to tell which is current"
                )
            ties = self.sql(
                "WITH top AS (SELECT * FROM rxl_dup_rows QUALIFY _updated = max(_updated) OVER "
                "(PARTITION BY order_id)) SELECT order_id, max(_updated), "
                "min(row(_fi, _row)) AS first FROM top GROUP BY order_id HAVING "
                f"count(DISTINCT row({content})) > 1 "
                "ORDER BY first LIMIT 1"
            ).fetchall()
            if ties:
                when = pd.Timestamp(ties[0][1])
                self._refuse(
                    ties[0][0],
                    f" and the same update time ({when:%Y-%m-%d %H:%M:%S}), so nothing "
                    "tells which is current",
                )
            order = "_updated DESC, _fi DESC, _row DESC"
            self.report.warnings.append(latest_version_warning(len(clash_rows)))
        self.sql(
            "CREATE TEMP TABLE rxl_dup_kept AS SELECT * FROM rxl_dup_rows QUALIFY "
            f"row_number() OVER (PARTITION BY order_id ORDER BY {order}) = 1"
        )
        # the rows left out, by their row number in rxl_rows: the deduplicated view skips
        # them with an integer anti-join against a small table
        self.sql(
            "CREATE TEMP TABLE rxl_dup_drop AS SELECT _rid FROM rxl_dup_rows ANTI JOIN "
            "rxl_dup_kept USING (_rid)"
        )
        self.sql(
            f"CREATE TEMP VIEW rxl_orders AS {final} (SELECT * FROM rxl_good ANTI JOIN "
            "rxl_dup_drop USING (_rid))"
        )
        self._dropped = "(SELECT * FROM rxl_dup_rows SEMI JOIN rxl_dup_drop USING (_rid))"

    def _refuse(self, order_id: str, why: str) -> None:
        """Refuse a repeated order with the CSV path's message (both versions named)."""
        rows = self.sql(
            "SELECT * FROM rxl_dup_rows WHERE order_id = ? ORDER BY _fi, _row",
            [order_id],
        ).df()
        rows["order_date"] = pd.to_datetime(rows["order_date"])
        content = [c for c in self._CONTENT if c in rows.columns]
        if not self.has_currency:
            content.remove("currency")
        files = rows["_fi"].dropna().unique()
        frame = rows[content].copy()
        file = self.source.label
        if len(files) <= 1 and rows["_row"].notna().all():
            frame["_row"] = rows["_row"].astype("int64")
            file = self._file_name(files[0] if len(files) else None)
        refuse_conflict(frame, order_id, content, file=file, why=why)

    _COUNTS: Final = (
        "SELECT count(*), count(*) FILTER (WHERE status = 'cancelled'), "
        "count(*) FILTER (WHERE _full), count(*) FILTER (WHERE status <> 'cancelled' AND "
        "(refunded > 0 OR NOT (amount - refunded > 0 AND status <> 'refunded'))) FROM "
    )

    def _order_counts(self) -> tuple[int, list[int]]:
        """The good rows, and the kept orders' records, cancelled orders, full refunds and
        refunds: counted on the good rows minus the repeated rows left out (a small
        table), so that the deduplicated view is read only once, for the days table."""
        good = [int(v) for v in self.one(f"{self._COUNTS} ({self._final} rxl_good)")]
        counts = list(good)
        if self._dropped:
            for i, v in enumerate(self.one(f"{self._COUNTS} ({self._final} {self._dropped})")):
                counts[i] -= int(v)
        return good[0], counts

    def _summarise(self) -> None:
        """The days table and the import report's counts."""
        # in memory: the table every aggregation reads (DuckDB spills it to the temporary
        # folder if it must); four bytes per key, no text
        self.sql(
            "CREATE TEMP TABLE rxl_days AS SELECT c.cid, "
            "CAST(date_diff('day', DATE '1970-01-01', o.order_date) AS INTEGER) AS day, "
            "CAST(count(*) FILTER (WHERE o.purchase) AS INTEGER) AS n, "
            "coalesce(sum(o.revenue), 0.0) AS rev_all, "
            "coalesce(sum(o.revenue) FILTER (WHERE o.purchase), 0.0) AS rev_p "
            "FROM (SELECT customer_id, order_date, amount - refunded AS revenue, "
            "amount - refunded > 0 AND status <> 'refunded' AS purchase "
            "FROM rxl_orders WHERE status <> 'cancelled') o "
            "JOIN rxl_customers c USING (customer_id) GROUP BY ALL"
        )
        good, (records, cancelled, full, refunds) = self._order_counts()
        customers, first, last = self.one(
            "SELECT count(DISTINCT cid) FILTER (WHERE n > 0), min(day), max(day) FROM rxl_days"
        )
        rep = self.report
        rep.duplicates_removed = good - int(records)
        rep.records = int(records)
        rep.cancelled = int(cancelled)
        rep.refunds = int(refunds)
        rep.customers = int(customers)
        rep.first_date = None if first is None else pd.Timestamp(np.datetime64(int(first), "D"))
        rep.last_date = None if last is None else pd.Timestamp(np.datetime64(int(last), "D"))
        if full:
            rep.notes.append(full_refunds_note(int(full)))
        if rep.records == 0:
            raise ExportError(
                "has no usable orders left"
                + (f" ({rep.rows_skipped:,} bad rows skipped)" if rep.rows_skipped else ""),
                file=self.source.label,
            )

    # -- results ------------------------------------------------------------

    def frame(self) -> pd.DataFrame:
        """The checked orders as the CSV path's canonical frame (validated by the core)."""
        columns = "customer_id, order_id, order_date, amount, refunded, status"
        if self.has_currency:
            columns += ", currency"
        table = self.relation(
            f"SELECT {columns} FROM rxl_orders ORDER BY _fi, _row"
        ).to_arrow_table()
        frame = table.to_pandas()
        frame["order_date"] = pd.to_datetime(frame["order_date"])
        return validate_orders(frame)
