"""Helpers to read a WorkbookPlan in tests: named cells, formulas, cached values."""

from __future__ import annotations

import math
import re

from retention_xl.workbook.plan import Cell, SheetPlan, WorkbookPlan

_REF = re.compile(r"^='((?:[^']|'')+)'!\$([A-Z]+)\$(\d+)(?::\$([A-Z]+)\$(\d+))?$")


def col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def parse_ref(ref: str) -> tuple[str, int, int]:
    """``='KPIs'!$B$5`` -> ("KPIs", 4, 1) (first cell of a range)."""
    m = _REF.match(ref)
    assert m, ref
    return m.group(1).replace("''", "'"), int(m.group(3)) - 1, col_index(m.group(2))


def named_cell(plan: WorkbookPlan, name: str) -> tuple[SheetPlan, Cell]:
    title, row, col = parse_ref(plan.names[name])
    sheet = next(s for s in plan.sheets if s.title == title)
    return sheet, sheet.cells[(row, col)]


def value_of(cell: Cell) -> float:
    """A cached number, NaN for a blank ("" or None)."""
    v = cell.value
    if v is None or v == "":
        return math.nan
    return float(v)  # type: ignore[arg-type]


def all_formulas(plan: WorkbookPlan) -> dict[tuple[str, int, int], str]:
    return {
        (sheet.role, r, c): cell.formula
        for sheet in plan.sheets
        for (r, c), cell in sheet.formula_cells()
        if cell.formula is not None
    }


def same(a: float, b: float, rel: float = 1e-12) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)
