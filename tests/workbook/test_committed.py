"""The workbooks committed in workbooks/ are exactly what the generator makes now."""

from __future__ import annotations

from pathlib import Path

from retention_xl.workbook.committed import COMMITTED, write_committed

FOLDER = Path(__file__).resolve().parents[2] / "workbooks"


def test_committed_workbooks_are_up_to_date(tmp_path):
    written = write_committed(tmp_path)
    assert [p.name for p in written] == list(COMMITTED)
    stale = [p.name for p in written if p.read_bytes() != (FOLDER / p.name).read_bytes()]
    assert not stale, (
        f"stale committed workbooks {stale}: regenerate them with "
        "`python -m retention_xl.workbook --out workbooks`"
    )
