"""Turn raw cells into typed columns, with errors located by file, row and column.

A :class:`Converter` wraps one :class:`~retention_xl.io.tables.RawTable` and the
settings of the import (locale, decimal mark, date format, ``skip_bad_rows``). Each
conversion either raises an :class:`~retention_xl.errors.ExportError` at the first bad
cell, or (with ``skip_bad_rows``) marks the row bad and goes on; :meth:`Converter.keep`
then drops the marked rows and records them in the report.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from retention_xl.io.headers import HeaderIndex
from retention_xl.io.locale import Locale, all_text, guess_decimal, parse_dates, parse_numbers
from retention_xl.io.report import ImportReport
from retention_xl.io.tables import RawTable

__all__ = ["Converter", "fix_the_cell"]


def fix_the_cell(reason: str) -> str:
    """The message of a bad cell: what is wrong, then the three ways out."""
    return (
        f"{reason}. Fix the cell, map another column with --map, or pass "
        "--skip-bad-rows to skip such rows"
    )


class Converter:
    """Typed access to the columns of a raw table (see module docstring)."""

    def __init__(
        self,
        table: RawTable,
        report: ImportReport,
        *,
        locale: Locale | None,
        date_format: str | None,
        skip_bad_rows: bool,
    ) -> None:
        self.table = table
        self.report = report
        self.locale = locale
        self.date_format = date_format
        self.skip_bad_rows = skip_bad_rows
        self.index = HeaderIndex(table.headers, file=table.file)
        self.bad = np.zeros(len(table.data), dtype=bool)
        #: rows left out on purpose (no customer, never billed): not counted as bad
        self.drop = np.zeros(len(table.data), dtype=bool)
        self.decimal: str | None = None
        self._date_formats: list[str] = []

    def with_table(self, table: RawTable) -> Converter:
        """A converter for a derived table (e.g. orders collapsed from line items)."""
        conv = Converter(
            table,
            self.report,
            locale=self.locale,
            date_format=self.date_format,
            skip_bad_rows=self.skip_bad_rows,
        )
        conv.decimal = self.decimal
        conv._date_formats = self._date_formats
        return conv

    # -- locale -----------------------------------------------------------

    def settle_decimal(self, columns: Iterable[str | None]) -> str:
        """Decide the decimal mark from the given number columns (once per file)."""
        if self.decimal is not None:
            return self.decimal
        if self.locale == "it":
            self.decimal = ","
        elif self.locale == "en":
            self.decimal = "."
        else:
            cols = [self.table.data[c] for c in columns if c is not None]
            default = "," if self.table.delimiter == ";" else "."
            self.decimal, ambiguous = guess_decimal(cols, default=default)
            if ambiguous:
                self.report.notes.append(
                    f"numbers like '1.234' could be read either way; read with decimal "
                    f"{self.decimal!r}. Pass --locale it or --locale en to choose"
                )
            self.locale = "it" if self.decimal == "," else self.locale
        self.report.decimal = self.decimal
        return self.decimal

    @property
    def effective_locale(self) -> Locale | None:
        """The locale given, or the one implied by what was detected so far."""
        if self.locale is not None:
            return self.locale
        if self.decimal == "," or self.table.delimiter == ";":
            return "it"
        return None

    # -- errors -----------------------------------------------------------

    def fail(
        self, mask: np.ndarray, column: str, reason: str, values: Sequence[object] | np.ndarray
    ) -> None:
        """Raise for the first row in ``mask``, or mark all of them bad when skipping."""
        mask = mask & ~self.bad
        if not mask.any():
            return
        positions = np.flatnonzero(mask)
        if not self.skip_bad_rows:
            pos = int(positions[0])
            raise self.table.error(pos, fix_the_cell(reason), column=column, value=values[pos])
        self.bad |= mask
        for pos in positions[: max(0, 20 - len(self.report.skipped))]:
            self.report.skipped.append(
                f"{self.table.place(int(pos))}, column {column!r}: {reason} "
                f"(value {values[int(pos)]!r})"
            )

    # -- columns ----------------------------------------------------------

    def raw(self, column: str) -> pd.Series:
        return self.table.data[column]

    def text(self, column: str | None, *, required: bool = False, lower: bool = False) -> pd.Series:
        """Cells as strings (trimmed); numbers from .xlsx cells shown without ``.0``."""
        n = len(self.table.data)
        if column is None:
            return pd.Series([pd.NA] * n, dtype="string")
        raw = self.raw(column).to_numpy(dtype=object)
        out = raw if all_text(raw) else self._as_text(raw)
        s = pd.Series(out, dtype="string").str.strip()
        if lower:
            s = s.str.lower()
        blank = (s == "").to_numpy(dtype=bool)
        s = s.mask(blank, pd.NA)
        if required:
            self.fail(blank, column, "the cell is blank", raw)
        return s

    @staticmethod
    def _as_text(raw: np.ndarray) -> np.ndarray:
        out = np.empty(len(raw), dtype=object)
        for i, v in enumerate(raw):
            if isinstance(v, str):
                out[i] = v
            elif v is None or (isinstance(v, float) and np.isnan(v)):
                out[i] = ""
            elif isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
                out[i] = str(int(v))
            elif isinstance(v, (dt.datetime, dt.date)):
                out[i] = v.isoformat()
            else:
                out[i] = str(v)
        return out

    def numbers(
        self, column: str | None, *, required: bool = False, default: float = np.nan
    ) -> np.ndarray:
        """Cells as float64 in the file's locale; blanks give ``default``."""
        n = len(self.table.data)
        if column is None:
            return np.full(n, default, dtype="float64")
        decimal = self.settle_decimal([column])
        raw = self.raw(column)
        res = parse_numbers(raw, decimal=decimal)
        hint = "1.234,56" if decimal == "," else "1,234.56"
        self.fail(
            res.bad,
            column,
            f"not a number (numbers are read like {hint}; pass --locale to change)",
            raw.to_numpy(dtype=object),
        )
        if res.huge is not None:
            self.fail(
                res.huge,
                column,
                "a number too large to be real (infinite, or 1,000,000,000,000,000 or more): "
                "no amount, count or score is that big, and totals would overflow. Check "
                "the column's unit and format in the file",
                raw.to_numpy(dtype=object),
            )
        values = res.values.to_numpy(dtype="float64", copy=True)
        huge = res.huge if res.huge is not None else np.zeros(len(values), dtype=bool)
        blank = np.isnan(values) & ~res.bad & ~huge
        if required:
            self.fail(blank, column, "the cell is blank, a number is needed", raw.to_numpy(object))
        values[blank] = default
        return values

    def timestamps(self, column: str) -> pd.Series:
        """Cells as UTC timestamps to the second (an update time: which row is newer);
        unreadable cells give NaT (the caller decides what that means)."""
        raw = self.raw(column)
        text = raw.map(lambda v: v.strip() if isinstance(v, str) else v)
        dayfirst = self.effective_locale == "it"  # 05/03/2024 is 5 March in Italy
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = pd.to_datetime(
                text, errors="coerce", utc=True, format="mixed", dayfirst=dayfirst
            )
        return pd.Series(parsed, index=raw.index)

    def dates(self, column: str | None, *, required: bool = False) -> np.ndarray:
        """Cells as ``datetime64[ns]`` (days); formats chosen by :func:`parse_dates`."""
        n = len(self.table.data)
        if column is None:
            return np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
        raw = self.raw(column)
        res = parse_dates(raw, locale=self.effective_locale, date_format=self.date_format)
        if res.format is not None and res.format not in self._date_formats:
            self._date_formats.append(res.format)
            self.report.date_format = ", ".join(self._date_formats)
        if res.note is not None and res.note not in self.report.notes:
            self.report.notes.append(f"{column}: {res.note}")
        fmt = self.date_format or res.format
        expected = (
            f"dates like {pd.Timestamp(2024, 1, 31).strftime(fmt)} ({fmt})"
            if fmt
            else "a date like 2024-01-31 or 31/01/2024"
        )
        self.fail(
            res.bad,
            column,
            f"not a date (expected {expected}, in the years 1678 to 2261; pass "
            "--date-format to change)",
            raw.to_numpy(dtype=object),
        )
        values = res.values.to_numpy(dtype="datetime64[ns]", copy=True)
        if required:
            blank = np.isnat(values) & ~res.bad
            self.fail(blank, column, "the cell is blank, a date is needed", raw.to_numpy(object))
        return values

    def category(
        self,
        column: str | None,
        mapping: Mapping[str, str],
        *,
        default: str,
        what: str,
    ) -> pd.Series:
        """Map text values (normalised) through ``mapping``; unknown values are errors."""
        n = len(self.table.data)
        if column is None:
            return pd.Series([default] * n, dtype="string")
        from retention_xl.io.headers import normalise

        s = self.text(column)
        uniq = [u for u in pd.unique(s.dropna())]
        lookup = {u: mapping.get(normalise(u)) for u in uniq}
        unknown = {u for u, m in lookup.items() if m is None}
        if unknown:
            mask = s.isin(list(unknown)).fillna(False).to_numpy(dtype=bool)
            known = sorted({k for k in mapping})
            self.fail(
                mask,
                column,
                f"unknown {what}; known values are {', '.join(known[:12])}",
                self.raw(column).to_numpy(dtype=object),
            )
        out = s.map(lookup)  # a blank (NA) is in no lookup: it gets the default
        return pd.Series(out, dtype="string").fillna(default)

    def keep(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Drop the rows marked bad (counted in the report) or left out on purpose."""
        self.report.rows_skipped = int(self.bad.sum())
        gone = self.bad | self.drop
        if gone.any():
            frame = frame[~gone]
        return frame.reset_index(drop=True)
