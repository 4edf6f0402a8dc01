"""Building blocks of the workbook formulas: references, names and guarded expressions.

Rules every formula of the generator follows (tests check them):

* Only functions that Excel 2010+ and LibreOffice 7.4 both compute: ``IF``, ``IFERROR``,
  ``AND``, ``OR``, ``MIN``, ``MAX``, ``COUNT``, ``COUNTIFS``, ``SUMIFS``, ``SUM``,
  ``INDEX``, ``MATCH``, ``YEAR``, ``MONTH``, ``DATE``, ``RIGHT`` (see
  :data:`ALLOWED_FUNCTIONS`).
* Nothing whose cost grows with rows squared: whole-column ``COUNTIFS`` / ``SUMIFS``
  over the data columns and ``INDEX`` / ``MATCH`` lookups, each linear in the rows.
* Cross-sheet references go through workbook-level defined names (``Orders_amount``,
  ``KPI_churn``), never through a sheet's visible name, so the formula text is the same
  in every language and survives a renamed sheet.
* An empty workbook shows a blank (``""``), never an error value: every formula that
  could divide by zero or look up a missing row is guarded (:func:`guard`).

Examples
--------
>>> cell(0, 0), cell(4, 27, absolute=False)
('$A$1', 'AB5')
>>> column_range(1, 3)
'$D$2:$D$1048576'
>>> sheet_ref("Clienti d'oro", "$A$1")
"='Clienti d''oro'!$A$1"
>>> guard("COUNT(Orders_amount)=0", "SUM(Orders_amount)")
'IF(COUNT(Orders_amount)=0,"",SUM(Orders_amount))'
"""

from __future__ import annotations

import re
from typing import Final

from retention_xl.workbook.plan import MAX_ROWS

__all__ = [
    "ALLOWED_FUNCTIONS",
    "block_range",
    "cell",
    "col_letter",
    "column_range",
    "functions_used",
    "guard",
    "sheet_ref",
]

#: The functions the generated formulas may call.
ALLOWED_FUNCTIONS: Final = frozenset(
    {
        "IF",
        "IFERROR",
        "AND",
        "OR",
        "MIN",
        "MAX",
        "COUNT",
        "COUNTIFS",
        "SUMIFS",
        "SUM",
        "INDEX",
        "MATCH",
        "YEAR",  # the month a subscription KPI is for, as 2025-02 (no TEXT(): its
        "MONTH",  # format codes depend on the program's language)
        "DATE",  # the first day after a period: DATE(YEAR(s),MONTH(s)+months,1)
        "RIGHT",
    }
)


def col_letter(col: int) -> str:
    """Column letters of a zero-based column index (0 -> ``A``, 27 -> ``AB``)."""
    if col < 0:
        raise ValueError(f"column must be >= 0, got {col}")
    out = ""
    n = col + 1
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def cell(row: int, col: int, *, absolute: bool = True) -> str:
    """A1 reference of a zero-based (row, col)."""
    d = "$" if absolute else ""
    return f"{d}{col_letter(col)}{d}{row + 1}"


def column_range(first_row: int, col: int, last_row: int = MAX_ROWS - 1) -> str:
    """Absolute range of one column from ``first_row`` (zero-based) to the sheet's end."""
    return f"{cell(first_row, col)}:{cell(last_row, col)}"


def block_range(first_row: int, first_col: int, last_row: int, last_col: int) -> str:
    """Absolute range of a block of cells."""
    return f"{cell(first_row, first_col)}:{cell(last_row, last_col)}"


def sheet_ref(title: str, ref: str) -> str:
    """A defined-name formula pointing at ``ref`` on the sheet called ``title``."""
    return "='" + title.replace("'", "''") + "'!" + ref


def guard(empty_test: str, expression: str) -> str:
    """``IF(empty_test,"",expression)``: blank instead of an error or a misleading 0."""
    return f'IF({empty_test},"",{expression})'


_FUNCTION: Final = re.compile(r"([A-Z][A-Z0-9.]*)\(")
_STRING: Final = re.compile(r'"[^"]*"')


def functions_used(formula: str) -> set[str]:
    """The function names a formula calls (string literals ignored).

    >>> sorted(functions_used('=IF(A1="MAX(",1,SUM(B:B))'))
    ['IF', 'SUM']
    """
    return set(_FUNCTION.findall(_STRING.sub('""', formula)))
