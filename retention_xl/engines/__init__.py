"""Where the order aggregations run: pandas (in memory) or DuckDB (embedded, out of core).

An engine holds the checked orders of one source and answers the aggregations the
commands need: the headline :class:`~retention_xl.core.report.OrderTotals`, the
customer summary, the period table, cohorts, and the compressed histories the models
are fitted on. The pandas engine runs the core's functions on an in-memory frame;
the DuckDB engine runs the same aggregations as SQL where the data are (Parquet files,
CSV files, a DuckDB table) and hands only small results (per period, per distinct
history, per customer batch) to the core, which derives every rate. Both give the same
numbers (the tests compare them to 1e-9).

``--engine auto`` picks DuckDB for Parquet files and DuckDB tables, pandas for CSV and
XLSX exports; DuckDB and pyarrow come with the ``lake`` extra. Nothing in
:mod:`retention_xl.core` imports from here.

Modules: :mod:`~retention_xl.engines.sources` (what ``--orders`` names; standard
library only, so the command line can check it before loading anything),
:mod:`~retention_xl.engines.base` (the interface, the choice of engine),
:mod:`~retention_xl.engines.lake` (reading and checking in DuckDB),
:mod:`~retention_xl.engines.pandas_engine`, :mod:`~retention_xl.engines.duckdb_engine`,
:mod:`~retention_xl.engines.spark_engine` (Spark SQL on the checked orders; `spark` extra),
:mod:`~retention_xl.engines.period_sql` (the period table's SQL, shared by DuckDB and
Spark), :mod:`~retention_xl.engines.scoring` (predictions in batches, written as they
come), :mod:`~retention_xl.engines.spark_scoring` (predictions scored and written by Spark).
"""

from retention_xl.engines.sources import ENGINES, OrdersSource, parse_orders_source

__all__ = ["ENGINES", "OrdersSource", "parse_orders_source"]
