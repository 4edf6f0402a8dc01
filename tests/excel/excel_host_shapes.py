"""The value shapes each Excel host passes to a function, for the excel tests.

Derived from how xlwings reads arguments (see retention_xl.excel.convert):

* ``classic``: xlwings add-in over COM; numbers are floats, blanks ``None``, a row or
  column range is a 1-D list, with ``ndim=2`` (lifted arguments) nested lists.
* ``officejs``: xlwings Lite / Server after xlwings' conversion; numbers keep ``int``,
  otherwise as classic.
* ``raw``: the Office.js payload before conversion: always 2-D, blanks ``""``, error
  cells as dicts.
"""

from __future__ import annotations

from typing import Any

ERROR_TYPES = {
    "#DIV/0!": "Div0",
    "#N/A": "NotAvailable",
    "#NUM!": "Num",
    "#VALUE!": "Value",
    "#REF!": "Ref",
    "#NAME?": "Name",
    "#NULL!": "Null",
}


def _classic_cell(cell: Any) -> Any:
    if isinstance(cell, bool) or cell is None:
        return cell
    if isinstance(cell, int):
        return float(cell)
    return cell


def _raw_cell(cell: Any) -> Any:
    if cell is None:
        return ""
    if isinstance(cell, str) and cell in ERROR_TYPES:
        return {"type": "Error", "basicValue": cell, "errorType": ERROR_TYPES[cell]}
    return cell


def scalar_shapes(value: Any) -> dict[str, Any]:
    """One cell, as each host passes it (with and without ``ndim=2``)."""
    return {
        "classic": _classic_cell(value),
        "classic-ndim2": [[_classic_cell(value)]],
        "officejs": value,
        "officejs-ndim2": [[value]],
        "raw": [[_raw_cell(value)]],
    }


def column_shapes(cells: list[Any]) -> dict[str, Any]:
    """A column range, as each host passes it (with and without ``ndim=2``)."""
    return {
        "classic": [_classic_cell(c) for c in cells],
        "classic-ndim2": [[_classic_cell(c)] for c in cells],
        "officejs": list(cells),
        "officejs-ndim2": [[c] for c in cells],
        "raw": [[_raw_cell(c)] for c in cells],
        "row": [list(cells)],
    }


HOST_SHAPES = ("classic", "classic-ndim2", "officejs", "officejs-ndim2", "raw")
