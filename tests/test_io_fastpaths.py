"""The vectorised paths of the export reader agree with the cell-by-cell rules they
stand in for: blank rows (``str.strip``), bare dates (the time and zone regexes) and
text columns (every cell a ``str``)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from retention_xl.errors import ExportError
from retention_xl.io import locale as loc
from retention_xl.io import tables
from retention_xl.io.readers import read_orders


def test_spaces_are_every_character_strip_removes() -> None:
    every = {chr(i) for i in range(0x110000) if chr(i).isspace()}
    assert set(tables._SPACES) == every


def test_blank_text_rows_agree_with_the_cell_rule() -> None:
    # whitespace Python strips but Arrow's trim may not (\x1c, \x85), one it does not
    # strip (zero-width space), blanks in every column and mixes of both
    alphabet = ["", " ", "\t", "\u3000", "\xa0", "\x1c", "\x85", "\u200b", "x", " x", "0 "]
    rng = np.random.default_rng(17)
    cells = rng.choice(np.array(alphabet, dtype=object), size=(4000, 3))
    cells[rng.random(4000) < 0.2] = " "  # whole rows of spaces
    expected = np.array([all(not v.strip() for v in row) for row in cells], dtype=bool)
    assert 0 < expected.sum() < len(expected)
    frame = pd.DataFrame(cells, dtype="str")
    np.testing.assert_array_equal(tables._blank_text_rows(frame), expected)


def _date_part_by_regex(values: list[str]) -> list[str]:
    out = []
    for v in values:
        v = loc._TZ_SUFFIX.sub("", v)
        out.append(re.sub(r"[T ].*$", "", v))
    return out


def test_date_part_agrees_with_the_regexes() -> None:
    values = [
        "2024-01-05",
        "05/01/2024",
        "5.1.2024",
        "2024-01-05 10:00:00 +0100",
        "2024-01-05T10:00:00Z",
        "2024-01-05 UTC",
        "01-01-2024",  # a day-month-year with dashes: the zone rule takes "-2024"
        "20240105",
        "2024-01-05+01:00",
        "Jan 5, 2024",
        "",
    ]
    got = loc._date_part(pd.Series(values, dtype="str")).tolist()
    assert got == _date_part_by_regex(values)
    assert got[3] == "2024-01-05" and got[0] == "2024-01-05"


def test_all_text_tells_csv_cells_from_workbook_cells() -> None:
    assert loc.all_text(np.array(["a", ""], dtype=object))
    assert not loc.all_text(np.array(["a", None], dtype=object))
    assert not loc.all_text(np.array(["a", 1.0], dtype=object))
    assert not loc.all_text(np.array([], dtype=object))


def test_a_long_export_skips_blank_rows_and_keeps_row_numbers(tmp_path: Path) -> None:
    n = 60_000  # above the size where blank rows were found column by column
    lines = ["customer_id,order_id,order_date,amount"]
    lines += [f"C{i % 700},{i},2024-01-{1 + i % 28:02d},{10 + i % 50}.5" for i in range(n)]
    lines.insert(101, " , ,\t, ")  # blank: spaces and a tab
    lines.insert(2001, ",,,")
    lines.append("C1,bad,2024-01-01,x")  # the first bad cell: its row number is checked
    path = tmp_path / "orders.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ExportError) as caught:
        read_orders(path)
    assert f"row {n + 4}" in str(caught.value) and "amount" in str(caught.value)
    imp = read_orders(path, skip_bad_rows=True)
    assert imp.report.records == n
    rows = imp.report.source_rows
    assert rows is not None
    assert (rows[99], rows[100], rows[1998], rows[1999]) == (101, 103, 2001, 2003)


def _by_cell_numbers(cells: list[object]) -> loc.NumberResult:
    # a trailing None makes the column mixed: parse_numbers reads it cell by cell
    return loc.parse_numbers(pd.Series([*cells, None], dtype=object))


@pytest.mark.parametrize(
    "cells",
    [
        [1.5, 2.0, float("nan"), 1e300, -0.0],
        [1, 2, 3, 10**20],
        [1, 2.5, np.float64(3.25), np.int64(7)],
        [float("inf"), 1e18, 2.0],  # too large: flagged, as for text
    ],
)
def test_number_cells_agree_with_the_cell_by_cell_reading(cells: list[object]) -> None:
    fast = loc.parse_numbers(pd.Series(cells, dtype=object))
    slow = _by_cell_numbers(cells)
    n = len(cells)
    assert loc._number_cells(np.array(cells, dtype=object)) is not None
    np.testing.assert_array_equal(fast.values.to_numpy(), slow.values.to_numpy()[:n])
    np.testing.assert_array_equal(fast.bad, slow.bad[:n])
    assert fast.huge is not None and slow.huge is not None
    np.testing.assert_array_equal(fast.huge, slow.huge[:n])


def test_number_cells_leave_bools_and_text_to_the_cell_rule() -> None:
    assert loc._number_cells(np.array([1.0, True], dtype=object)) is None
    assert loc._number_cells(np.array([1.0, "2"], dtype=object)) is None
    assert loc.parse_numbers(pd.Series([1.0, True], dtype=object)).bad.tolist() == [False, True]


@pytest.mark.parametrize(
    "cells",
    [
        [dt.date(2024, 1, 5), dt.date(1990, 12, 31)],
        [dt.datetime(2024, 1, 5, 23, 59), dt.datetime(2024, 2, 29)],
        [dt.date(2024, 1, 5), dt.datetime(2024, 1, 6, 12, 30)],
        [pd.Timestamp("2024-03-01 08:00")],
    ],
)
def test_day_cells_agree_with_the_cell_by_cell_reading(cells: list[object]) -> None:
    assert loc._day_cells(np.array(cells, dtype=object)) is not None
    fast = loc.parse_dates(pd.Series(cells, dtype=object))
    slow = loc.parse_dates(pd.Series([*cells, None], dtype=object))
    n = len(cells)
    np.testing.assert_array_equal(fast.values.to_numpy(), slow.values.to_numpy()[:n])
    assert not fast.bad.any() and not slow.bad.any()


def test_day_cells_leave_zones_gaps_and_far_dates_to_the_cell_rule() -> None:
    zone = dt.timezone(dt.timedelta(hours=2))
    for cells in (
        [dt.datetime(2024, 1, 5, 23, tzinfo=zone)],  # the wall time's day is kept
        [dt.date(2024, 1, 5), pd.NaT],
        [dt.date(2024, 1, 5), 45000.0],
        [dt.date(1500, 1, 1)],
    ):
        assert loc._day_cells(np.array(cells, dtype=object)) is None
    wall = loc.parse_dates(pd.Series([dt.datetime(2024, 1, 5, 23, tzinfo=zone)], dtype=object))
    assert wall.values.dt.strftime("%Y-%m-%d").tolist() == ["2024-01-05"]
