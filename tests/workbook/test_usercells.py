"""Finding and placing the cells users type on generated sheets (no engine needed)."""

from __future__ import annotations

import pytest

from retention_xl.errors import WorkbookError
from retention_xl.workbook.manifest import Rect, SheetManifest, parse_range, read_manifest
from retention_xl.workbook.usercells import (
    _rows_cells,
    find_user_cells,
    place_user_cells,
)


def _sheet(rows: int, extra: dict[int, list[str]]) -> bytes:
    """A sheet XML: a 3-column table with a header on row 1 and ``rows`` data rows,
    plus ``extra`` cells (1-based row -> cell XML) merged into their rows."""
    body = []
    last = max([rows + 1, *extra])
    for r in range(1, last + 1):
        cells = []
        if r <= rows + 1:
            cells = [f'<c r="{c}{r}"><v>{r}</v></c>' for c in "ABC"]
        cells += extra.get(r, [])
        if cells:
            body.append(f'<row r="{r}">' + "".join(cells) + "</row>")
    return ("<worksheet><sheetData>" + "".join(body) + "</sheetData></worksheet>").encode()


def _note(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


@pytest.mark.parametrize("raw", [False, True])
def test_the_fast_scan_finds_what_a_row_by_row_parse_finds(raw: bool) -> None:
    n = 6000  # large enough for the column-pattern scan
    extra = {
        1: [_note("E1", "beside the header")],
        2: [_note("AA2", "far right")],
        3000: ['<c r="D3000"><f>A3000*2</f><v>6000</v></c>'],
        n + 1: [_note("Z" + str(n + 1), "last row")],
        n + 3: [_note("A" + str(n + 3), "under the table")],
        n + 4: ['<c r="B' + str(n + 4) + '" s="3"/>'],  # formatting only: not content
    }
    xml = _sheet(n, extra)
    table = Rect(0, 0, n, 2)
    m = SheetManifest(role="X", area=table, cells=(), tables=(table,), raw=raw)
    fast = find_user_cells(xml, m)
    slow = _rows_cells(xml, m)
    assert [(c.row, c.col, c.text) for c in fast] == [(c.row, c.col, c.text) for c in slow]
    refs = {c.ref() for c in fast}
    expected = {"E1", "AA2", "D3000", f"Z{n + 1}"}
    if not raw:  # a raw tab owns its columns to the last row: that note is data
        expected.add(f"A{n + 3}")
    assert refs == expected
    assert next(c for c in fast if c.ref() == "D3000").formula


def test_a_note_under_a_table_moves_with_it_and_clashes_are_refused() -> None:
    old_t, new_t = Rect(1, 0, 15, 24), Rect(1, 0, 21, 24)
    old = SheetManifest("CUSTOMERS", Rect(0, 0, 15, 24), (Rect(0, 0, 0, 2),), (old_t,))
    new = SheetManifest("CUSTOMERS", Rect(0, 0, 21, 24), (Rect(0, 0, 0, 2),), (new_t,))
    xml = _sheet(1, {17: [_note("A17", "total")], 5: [_note("AA5", "mine")]})
    cells = find_user_cells(xml, old)
    placed = place_user_cells(cells, old, new, sheet="Customers")
    assert sorted(c.ref() for c in placed.cells) == ["A23", "AA5"]
    assert placed.moved == 1
    # a formula under the table cannot move without changing what it reads
    formula = find_user_cells(_sheet(1, {17: ['<c r="A17"><f>SUM(G3:G16)</f></c>']}), old)
    with pytest.raises(WorkbookError, match=r"your formulas under a table \(A17\)"):
        place_user_cells(formula, old, new, sheet="Customers")
    # a cell the refreshed sheet now writes: refused, named
    wide = SheetManifest("CUSTOMERS", Rect(0, 0, 21, 27), (), (Rect(1, 0, 21, 27),))
    with pytest.raises(WorkbookError, match=r"AA5 \('mine'\)"):
        place_user_cells(cells, old, wide, sheet="Customers")


def test_manifest_names_round_trip_and_refuse_damage() -> None:
    m = SheetManifest("KPIS", Rect(0, 0, 46, 2), (Rect(0, 0, 46, 2),), ())
    text = m.encode()
    names = {"RXL_MANIFEST_KPIS_1": f'="{text[:20]}"', "RXL_MANIFEST_KPIS_2": f'"{text[20:]}"'}
    assert read_manifest(names, "KPIS") == m
    with pytest.raises(WorkbookError, match="fingerprint"):
        read_manifest({"RXL_MANIFEST_KPIS_1": f'"{text.replace("C47", "C48")}"'}, "KPIS")
    with pytest.raises(WorkbookError, match="no manifest"):
        read_manifest({}, "KPIS")
    assert parse_range("'My ''KPIs'''!$B$2:$C$9") == ("My 'KPIs'", Rect(1, 1, 8, 2))
