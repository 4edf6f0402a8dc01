"""The lake reader's alternative paths give the orders and report of its usual path.

The usual path numbers files with DuckDB's ``file_index`` and reads statuses with a
CASE expression; older DuckDB versions (or a column named ``file_index``) number them
by file name, and many distinct statuses go through a lookup table. Repeated order ids
are left out by row number; the import report counts the same as the CSV path.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from lakedata import edge_orders, write_parquet, write_parts

from retention_xl.engines import lake as lake_module
from retention_xl.engines.lake import LakeOrders
from retention_xl.engines.sources import parse_orders_source
from retention_xl.errors import ExportError
from retention_xl.io.readers import read_orders

REPORTED = ("rows_read", "records", "duplicates_removed", "refunds", "cancelled",
            "customers", "first_date", "last_date", "currencies", "rows_skipped")  # fmt: skip


def _read(source: str, **kwargs: object) -> tuple[pd.DataFrame, dict[str, object]]:
    with LakeOrders(parse_orders_source(source), **kwargs) as lake:  # type: ignore[arg-type]
        report = lake.report
        return lake.frame(), {f: getattr(report, f) for f in REPORTED} | {
            "notes": list(report.notes),
            "skipped": list(report.skipped),
        }


def test_files_numbered_by_name_read_as_by_index(tmp_path, monkeypatch):
    frame = edge_orders(seed=3, n_customers=150)
    frame.loc[5, "amount"] = float("nan")
    write_parts(frame, tmp_path / "lake", parts=3)
    usual = _read(str(tmp_path / "lake"), skip_bad_rows=True)
    monkeypatch.setattr(LakeOrders, "_has_file_index", lambda self: False)
    by_name = _read(str(tmp_path / "lake"), skip_bad_rows=True)
    pd.testing.assert_frame_equal(by_name[0], usual[0])
    assert by_name[1] == usual[1]
    assert usual[1]["rows_skipped"] == 1 and "part-" in str(usual[1]["skipped"])


def test_a_column_named_file_index_is_read_as_data(tmp_path):
    rows = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "order_id": ["1", "2"],
            "order_date": pd.to_datetime(["2024-01-01", "2024-01-02"]),
            "amount": [10.0, float("nan")],
            "file_index": [7, 8],
        }
    )
    write_parquet(rows, tmp_path / "a.parquet")
    write_parquet(rows.assign(order_id=["3", "4"]), tmp_path / "b.parquet")
    with pytest.raises(ExportError) as info:
        _read(str(tmp_path))
    assert "a.parquet" in str(info.value) and "row 2" in str(info.value)


def _spellings(word: str, n: int) -> list[str]:
    """``n`` distinct spellings of ``word`` (upper and lower case letters)."""
    return ["".join(c.upper() if (i >> j) & 1 else c for j, c in enumerate(word)) for i in range(n)]


def test_many_distinct_statuses_read_through_the_lookup_table(tmp_path):
    n = lake_module._STATUS_CASES + 10
    words = _spellings("pagato", n - 10) + ["annullato", "CANCELLED", "refunded", ""] * 2
    words += ["Rimborsato", " paid "]
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i % 7}" for i in range(n)],
            "order_id": [str(i) for i in range(n)],
            "order_date": pd.to_datetime("2024-01-01") + pd.to_timedelta(range(n), unit="D"),
            "amount": [10.0 + i for i in range(n)],
            "status": words,
        }
    )
    write_parquet(frame, tmp_path / "o.parquet")
    csv = tmp_path / "o.csv"
    out = frame.copy()
    out["order_date"] = out["order_date"].dt.strftime("%Y-%m-%d")
    out.to_csv(csv, index=False)
    got, report = _read(str(tmp_path / "o.parquet"))
    want = read_orders(csv)
    pd.testing.assert_frame_equal(got, want.frame)
    assert report["cancelled"] == want.report.cancelled > 0


def test_an_unknown_status_among_many_is_refused(tmp_path):
    n = lake_module._STATUS_CASES + 8
    frame = pd.DataFrame(
        {
            "customer_id": ["c"] * n,
            "order_id": [str(i) for i in range(n)],
            "order_date": pd.to_datetime(["2024-01-01"] * n),
            "amount": [10.0] * n,
            "status": [*_spellings("pagato", n - 1), "lost in the post"],
        }
    )
    write_parquet(frame, Path(tmp_path) / "o.parquet")
    with pytest.raises(ExportError) as info:
        _read(str(tmp_path / "o.parquet"))
    assert "unknown order status" in str(info.value) and f"row {n}" in str(info.value)
