"""Aggregate reports built in the test process (the command line builds them in the
CLI tests): a lake of orders read by the DuckDB engine, every customer scored into a
side file, the plan of the workbook.

Imported by the workbook tests (``from aggregate_books import aggregate_plan``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from retention_xl.engines.duckdb_engine import DuckDBEngine
from retention_xl.engines.lake import LakeOrders
from retention_xl.engines.sources import parse_orders_source
from retention_xl.workbook.aggregate import compute_aggregate_data
from retention_xl.workbook.build import plan_of_data
from retention_xl.workbook.data import Settings
from retention_xl.workbook.plan import WorkbookPlan


def aggregate_plan(
    orders: pd.DataFrame,
    folder: Path,
    *,
    lang: str = "en",
    limit: int = 300,
    subscriptions: pd.DataFrame | None = None,
    survey: pd.DataFrame | None = None,
    **settings: Any,
) -> tuple[WorkbookPlan, Any, Path]:
    """The aggregate plan of ``orders`` (written to a Parquet lake in ``folder``), its
    data and the side file of every customer."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    lake_path = folder / "orders.parquet"
    pq.write_table(pa.Table.from_pandas(orders, preserve_index=False), lake_path)
    engine = DuckDBEngine(LakeOrders(parse_orders_source(str(lake_path))))
    side = folder / "report_customers.parquet"
    try:
        data = compute_aggregate_data(
            engine,
            subscriptions,
            survey,
            Settings(aggregate=True, customer_limit=limit, **settings),
            scores_path=side,
            side_name=side.name,
            reports={"orders": engine.report},
        )
    finally:
        engine.close()
    return plan_of_data(data, lang), data, side
