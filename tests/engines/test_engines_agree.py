"""The DuckDB engine and the pandas engine give the same numbers (to 1e-9).

One suite, run on the bundled sample and on orders full of edge cases, read from real
Parquet files: the pandas engine aggregates the checked frame with the core, the
DuckDB engine aggregates in SQL where the files are. Every column of the customer
summary and of the period tables is compared, for every period length, several
activity windows, both churn conventions and several observation dates.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lakedata import edge_orders, write_duckdb, write_parquet, write_parts

from retention_xl.core.customers import rfm_from_summary, rfm_table
from retention_xl.datasets import load_sample
from retention_xl.engines.duckdb_engine import DuckDBEngine
from retention_xl.engines.lake import LakeOrders
from retention_xl.engines.pandas_engine import PandasEngine
from retention_xl.engines.sources import parse_orders_source
from retention_xl.io.readers import read_orders

RTOL = 1e-9


@pytest.fixture(scope="module", params=["sample", "edge"])
def engines(request, tmp_path_factory) -> Iterator[tuple[DuckDBEngine, PandasEngine]]:
    folder = tmp_path_factory.mktemp(request.param)
    if request.param == "sample":
        write_parquet(load_sample().orders, folder / "orders.parquet")
    else:
        write_parts(edge_orders(), folder)
    lake = LakeOrders(parse_orders_source(str(folder)))
    duck = DuckDBEngine(lake)
    pandas = PandasEngine(lake.frame())
    yield duck, pandas
    duck.close()


def test_the_customer_summary_agrees_in_every_column(engines):
    duck, pandas = engines
    for as_of in (None, "2023-06-30", "2024-01-01"):
        got, want = duck.customer_summary(as_of=as_of), pandas.customer_summary(as_of=as_of)
        assert len(want) > 100
        pd.testing.assert_frame_equal(got, want, rtol=RTOL, check_exact=False)


def test_rfm_scores_and_segments_come_from_the_engines_summary(engines):
    """RFM is derived from the customer summary alone (``rfm_from_summary``, as ``build``
    does with any engine): on the DuckDB engine's summary it is the core's ``rfm_table``
    of the same orders."""
    duck, pandas = engines
    for as_of in (None, "2024-01-01"):
        got = rfm_from_summary(duck.customer_summary(as_of=as_of))
        want = rfm_table(pandas.frame(), as_of=as_of)
        assert len(want) > 100 and want["segment"].nunique() > 2
        pd.testing.assert_frame_equal(got, want, rtol=RTOL, check_exact=False)


@pytest.mark.parametrize("freq", ["M", "Q", "Y"])
@pytest.mark.parametrize("window", [1, 30, 90, 365, 800])
def test_the_period_table_agrees(engines, freq, window):
    duck, pandas = engines
    for same in (False, True):
        for as_of in (None, "2023-02-14"):
            got = duck.period_table(
                freq=freq, window_days=window, as_of=as_of, same_period_churn=same
            )
            want = pandas.period_table(
                freq=freq, window_days=window, as_of=as_of, same_period_churn=same
            )
            assert len(want) >= 1
            pd.testing.assert_frame_equal(got, want, rtol=RTOL, check_exact=False)


def test_the_headline_totals_agree(engines):
    duck, pandas = engines
    for period in ("Y", "Q", "M"):
        got = duck.order_totals(period=period, window_days=365)
        want = pandas.order_totals(period=period, window_days=365)
        assert got.as_of == want.as_of
        assert (got.customers, got.orders, got.repeat_customers) == (
            want.customers,
            want.orders,
            want.repeat_customers,
        )
        assert got.revenue == pytest.approx(want.revenue, rel=RTOL)
        assert got.aov == pytest.approx(want.aov, rel=RTOL)
        pd.testing.assert_frame_equal(got.periods, want.periods, rtol=RTOL, check_exact=False)


def test_the_model_histories_agree(engines):
    duck, pandas = engines
    got, want = duck.history_groups(), pandas.history_groups()
    assert got.as_of == want.as_of and got.customers == want.customers
    for name in ("x", "recency", "age", "counts", "spend_x", "spend_m", "spend_counts"):
        np.testing.assert_allclose(getattr(got, name), getattr(want, name), rtol=RTOL, err_msg=name)
    batches = list(duck.histories(batch_rows=500))
    assert len(batches) > 1  # really in batches
    pd.testing.assert_frame_equal(
        pd.concat(batches), pd.concat(list(pandas.histories())), rtol=RTOL, check_exact=False
    )


def test_an_observation_date_before_every_order_gives_empty_tables(engines):
    duck, pandas = engines
    assert duck.customer_summary(as_of="2000-01-01").empty
    assert pandas.customer_summary(as_of="2000-01-01").empty
    assert duck.period_table(as_of="2000-01-01").empty
    assert pandas.period_table(as_of="2000-01-01").empty


def test_the_lake_reads_as_the_csv_path_reads(tmp_path):
    """The checked Parquet orders are the frame the CSV reader makes of the same rows."""
    frame = edge_orders()
    write_parts(frame, tmp_path / "lake")
    csv = tmp_path / "orders.csv"
    out = frame.copy()
    out["order_date"] = out["order_date"].dt.strftime("%Y-%m-%d")
    out.to_csv(csv, index=False)
    imp = read_orders(csv)
    with LakeOrders(parse_orders_source(str(tmp_path / "lake"))) as lake:
        got = lake.frame()
        report = lake.report
    pd.testing.assert_frame_equal(got, imp.frame)
    for field in ("rows_read", "records", "duplicates_removed", "refunds", "cancelled",
                  "customers", "first_date", "last_date", "currencies"):  # fmt: skip
        assert getattr(report, field) == getattr(imp.report, field), field
    assert any("refunded in full" in n for n in report.notes)
    assert report.duplicates_removed > 0 and report.cancelled > 0


def test_folder_glob_and_duckdb_table_read_the_same_orders(tmp_path):
    frame = edge_orders(seed=5, n_customers=200)
    write_parts(frame, tmp_path / "lake", parts=4)
    write_duckdb(frame, tmp_path / "shop.duckdb", table="sales")
    frames = []
    for text in (
        str(tmp_path / "lake"),
        str(tmp_path / "lake" / "part-*.parquet"),
        f"duckdb:{tmp_path / 'shop.duckdb'}?table=sales",
    ):
        with LakeOrders(parse_orders_source(text)) as lake:
            frames.append(lake.frame())
    assert len(frames[0]) > 500
    for other in frames[1:]:
        pd.testing.assert_frame_equal(
            other.sort_values("order_id").reset_index(drop=True),
            frames[0].sort_values("order_id").reset_index(drop=True),
        )


def test_typed_columns_read_as_their_text(tmp_path):
    """Whole-number ids, timestamps with a time zone and text amounts."""
    import pyarrow as pa

    table = pa.table(
        {
            "customer_id": pa.array([7, 7, 8], pa.int64()),
            "order_id": pa.array([1, 2, 3], pa.int32()),
            "order_date": pa.array(
                pd.to_datetime(
                    ["2024-01-01 23:30", "2024-02-01 10:00", "2024-02-02 00:10"], utc=True
                )
            ),
            "amount": pa.array(["10.5", " 20 ", "30"]),
        }
    )
    path = tmp_path / "typed.parquet"
    import pyarrow.parquet as pq

    pq.write_table(table, str(path))
    with LakeOrders(parse_orders_source(str(path))) as lake:
        frame = lake.frame()
    assert frame["customer_id"].tolist() == ["7", "7", "8"]
    assert frame["order_id"].tolist() == ["1", "2", "3"]
    assert frame["order_date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-01-01",
        "2024-02-01",
        "2024-02-02",
    ]
    assert frame["amount"].tolist() == [10.5, 20.0, 30.0]


def test_an_update_time_picks_the_latest_version(tmp_path):
    rows = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "order_id": ["1", "1", "2"],
            "order_date": pd.to_datetime(["2024-01-01"] * 3),
            "amount": [10.0, 12.0, 5.0],
            "updated_at": pd.to_datetime(
                ["2024-01-02 10:00", "2024-01-03 09:00", "2024-01-01 00:00"]
            ),
        }
    )
    path = write_parquet(rows, Path(tmp_path) / "o.parquet")
    with LakeOrders(parse_orders_source(str(path))) as lake:
        frame = lake.frame()
        report = lake.report
    assert frame.set_index("order_id")["amount"].to_dict() == {"1": 12.0, "2": 5.0}
    assert report.duplicates_removed == 1
    assert any("latest version" in w for w in report.warnings)


def test_rates_convert_several_currencies(tmp_path):
    rows = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "order_id": ["1", "2"],
            "order_date": pd.to_datetime(["2024-01-01", "2024-01-02"]),
            "amount": [10.0, 10.0],
            "refunded": [0.0, 2.0],
            "currency": ["EUR", "usd"],
        }
    )
    path = write_parquet(rows, tmp_path / "o.parquet")
    with LakeOrders(parse_orders_source(str(path)), rates={"EUR": 1.0, "USD": 0.5}) as lake:
        frame = lake.frame()
        report = lake.report
    assert frame["amount"].tolist() == [10.0, 5.0]
    assert frame["refunded"].tolist() == [0.0, 1.0]
    assert set(frame["currency"]) == {"EUR"}
    assert report.currencies == ("EUR", "USD")
    assert any("converted to EUR" in n for n in report.notes)


def test_skip_bad_rows_counts_and_names_them(tmp_path):
    rows = pd.DataFrame(
        {
            "customer_id": ["a", " ", "b", "c"],
            "order_id": ["1", "2", "3", "4"],
            "order_date": ["2024-01-01", "2024-01-02", "not a date", "2024-01-04"],
            "amount": [10.0, 10.0, 10.0, float("nan")],
        }
    )
    path = write_parquet(rows, tmp_path / "o.parquet")
    with LakeOrders(parse_orders_source(str(path)), skip_bad_rows=True) as lake:
        frame = lake.frame()
        report = lake.report
    assert frame["order_id"].tolist() == ["1"]
    assert report.rows_skipped == 3
    assert [s.split(":")[0] for s in report.skipped] == [
        "row 2, column 'customer_id'",
        "row 3, column 'order_date'",
        "row 4, column 'amount'",
    ]
