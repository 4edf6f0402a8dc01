"""The DuckDB engine's cohort tables equal the core's (to 1e-9).

:meth:`DuckDBEngine.cohort_counts` / :meth:`~DuckDBEngine.cohort_matrix` take the
arguments of :func:`retention_xl.core.cohorts.cohort_counts` / ``cohort_matrix`` but the
orders; the pandas core runs on the same checked orders (``lake.frame()``), on the
bundled sample and on orders full of edge cases (refunds before the first purchase,
free orders, same-day orders, cancelled rows), for every period length, both measures,
several observation dates and offsets cut short.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from lakedata import edge_orders, write_parquet, write_parts

from retention_xl.core.cohorts import cohort_counts, cohort_matrix
from retention_xl.datasets import load_sample
from retention_xl.engines.duckdb_engine import DuckDBEngine
from retention_xl.engines.lake import LakeOrders
from retention_xl.engines.pandas_engine import PandasEngine
from retention_xl.engines.sources import parse_orders_source
from retention_xl.errors import InputError, OutOfRangeError

RTOL = 1e-9


@pytest.fixture(scope="module", params=["sample", "edge"])
def engine(request, tmp_path_factory) -> Iterator[tuple[DuckDBEngine, pd.DataFrame]]:
    folder = tmp_path_factory.mktemp(f"cohorts_{request.param}")
    if request.param == "sample":
        write_parquet(load_sample().orders, folder / "orders.parquet")
    else:
        write_parts(edge_orders(), folder)
    lake = LakeOrders(parse_orders_source(str(folder)))
    duck = DuckDBEngine(lake)
    yield duck, lake.frame()
    duck.close()


@pytest.mark.parametrize("period", ["M", "Q", "Y"])
@pytest.mark.parametrize("measure", ["customers", "revenue"])
def test_cohort_counts_and_matrix_equal_the_core(engine, period, measure):
    duck, orders = engine
    for as_of in (None, "2023-02-14", "2024-01-01"):
        for max_offset in (None, 0, 5):
            kwargs = {
                "measure": measure,
                "period": period,
                "as_of": as_of,
                "max_offset": max_offset,
            }
            want = cohort_counts(orders, **kwargs)
            got = duck.cohort_counts(**kwargs)
            assert len(want) >= 1
            pd.testing.assert_frame_equal(got, want, rtol=RTOL, check_exact=False)
            pd.testing.assert_frame_equal(PandasEngine(orders).cohort_counts(**kwargs), want)
            pd.testing.assert_frame_equal(
                duck.cohort_matrix(**kwargs), cohort_matrix(orders, **kwargs), rtol=RTOL,
                check_exact=False,
            )  # fmt: skip


def test_cohort_totals_add_up_to_the_customer_summary(engine):
    duck, _ = engine
    summary = duck.customer_summary()
    totals = duck.cohort_totals()
    months = pd.DatetimeIndex(summary["first_order"]).to_period("M").to_timestamp()
    by_cohort = summary.groupby(months.to_numpy())
    assert totals["customers"].tolist() == by_cohort.size().tolist()
    assert totals["orders"].tolist() == by_cohort["orders"].sum().tolist()
    np.testing.assert_allclose(totals["revenue"], by_cohort["revenue"].sum(), rtol=RTOL)
    repeat = (summary["orders"] >= 2).groupby(months.to_numpy()).sum()
    assert totals["repeat_customers"].tolist() == repeat.tolist()
    headline = duck.order_totals(period="Y", window_days=365)
    assert totals["purchase_revenue"].sum() / totals["orders"].sum() == pytest.approx(
        headline.aov, rel=RTOL
    )


def test_cohort_arguments_are_checked_as_in_the_core(engine):
    duck, _ = engine
    with pytest.raises(InputError, match="measure"):
        duck.cohort_counts(measure="orders")
    with pytest.raises(InputError, match="period"):
        duck.cohort_counts(period="W")
    with pytest.raises(OutOfRangeError, match="max_offset"):
        duck.cohort_counts(max_offset=-1)


def test_a_date_before_every_purchase_gives_an_empty_table(engine):
    duck, orders = engine
    got = duck.cohort_counts(as_of="2000-01-01")
    want = cohort_counts(orders, as_of="2000-01-01")
    assert got.empty and want.empty
    assert list(got.columns) == list(want.columns)
