"""One exception tree for the whole package.

Every error the package raises on purpose derives from :class:`RetentionError`.
Messages say what is wrong *and* what to do, and show the offending value with
``{value!r}``. Only :mod:`retention_xl.excel` turns these into Excel error values
and only :mod:`retention_xl.cli` turns them into exit codes.

=========================  ==============  ============================================
exception                  Excel value     raised for
=========================  ==============  ============================================
``InputError``             ``#VALUE!``     text where a number is needed, wrong shape
``OutOfRangeError``        ``#NUM!``       impossible numbers (negative counts,
                                           lost > start, a score outside its scale)
``ZeroDenominatorError``   ``#DIV/0!``     a rate whose denominator is zero
``NotEnoughDataError``     ``#N/A``        too little data (empty range, no repeaters)
``ConvergenceError``       ``#N/A``        a model that cannot be fitted
``ExportError``            (CLI only)      a bad export file: names file, row, column
``WorkbookError``          (CLI only)      a workbook that cannot be built or refreshed
=========================  ==============  ============================================
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "ConvergenceError",
    "ExportError",
    "InputError",
    "NotEnoughDataError",
    "OutOfRangeError",
    "RetentionError",
    "WorkbookError",
    "ZeroDenominatorError",
]


class RetentionError(Exception):
    """Base class of every error raised on purpose by retention_xl."""


class InputError(RetentionError, ValueError):
    """Bad input: the wrong type or shape, or a value that cannot be used.

    ``argument`` names the offending argument (or column) when known.
    """

    excel_error = "#VALUE!"

    def __init__(self, message: str, *, argument: str | None = None) -> None:
        super().__init__(message)
        self.argument = argument


class OutOfRangeError(InputError):
    """A number outside what is possible: negative counts, lost > start, ..."""

    excel_error = "#NUM!"


class ZeroDenominatorError(InputError, ZeroDivisionError):
    """A ratio whose denominator is zero (no customers at start, no orders, ...)."""

    excel_error = "#DIV/0!"


class NotEnoughDataError(InputError):
    """Not enough data to compute the result (an empty range, no repeat buyers)."""

    excel_error = "#N/A"


class ConvergenceError(RetentionError):
    """A model fit that did not converge; the message says what to try."""

    excel_error = "#N/A"


class ExportError(InputError):
    """A problem in an export file, located by file, row and column.

    ``row`` is the row number as a spreadsheet shows it (the header is row 1). The
    message names the file by its name, or by ``label`` when given (a path inside a
    folder of files with the same names); the row of a ``table`` of a database file is
    named ``table T row N``.

    Examples
    --------
    >>> str(ExportError("not a date", file="orders.csv", row=7, column="Created at", value="31/02"))
    "orders.csv, row 7, column 'Created at': not a date (value '31/02')"
    >>> str(ExportError("not a number", file="shop.duckdb", table="subs", row=3, column="mrr"))
    "shop.duckdb, table subs row 3, column 'mrr': not a number"
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        row: int | None = None,
        column: str | None = None,
        value: object = None,
        table: str | None = None,
        label: str | None = None,
    ) -> None:
        self.file = None if file is None else str(file)
        self.row = row
        self.column = column
        self.value = value
        self.reason = message
        self.table = table
        where = []
        if label is not None:
            where.append(label)
        elif self.file is not None:
            where.append(Path(self.file).name)
        if table is not None:
            where.append(f"table {table}" + ("" if row is None else f" row {row}"))
        elif row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        text = message if not where else f"{', '.join(where)}: {message}"
        if value is not None:
            text += f" (value {value!r})"
        super().__init__(text, argument=column)


class WorkbookError(RetentionError):
    """A workbook that cannot be built, read or refreshed (locked, damaged, too big)."""
