"""Orders with the edge cases the engines must agree on, written as real files.

Imported by the engine tests (``from lakedata import ...``).

``edge_orders()`` is generated orders (refunds in full and in part, cancellations,
repeated rows) plus hand-written customers: several orders on one day, one order only,
a refund row with a negative amount, a refund dated before the first purchase, a
refund written as a negative number, a free order, an order marked refunded without a
refund amount, an id with spaces around it, statuses in Italian and blank. The files
are written with pyarrow (Parquet), DuckDB (database tables) and as canonical CSV.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from retention_xl.datasets import generate_orders

if TYPE_CHECKING:
    from retention_xl.engines.duckdb_engine import DuckDBEngine

COLUMNS = ["customer_id", "order_id", "order_date", "amount", "refunded", "status", "currency"]

_EXTRA = [
    # customer, order, date, amount, refunded, status
    ("X-SAMEDAY", "X1", "2023-03-01", 10.0, 0.0, "paid"),
    ("X-SAMEDAY", "X2", "2023-03-01", 20.0, 0.0, "paid"),
    ("X-SAMEDAY", "X3", "2023-03-01", 30.0, 5.0, "paid"),
    ("X-SAMEDAY", "X4", "2023-09-14", 12.5, 0.0, "paid"),
    ("X-SAMEDAY", "X5", "2023-09-14", 7.5, 0.0, "paid"),
    ("X-ONE", "X6", "2024-02-29", 99.99, 0.0, "paid"),
    ("X-REFUNDONLY", "X7", "2023-05-05", 40.0, 0.0, "refunded"),
    ("X-NEGREF", "X8", "2022-11-11", 50.0, 0.0, "paid"),
    ("X-NEGREF", "X9", "2023-01-20", -20.0, 0.0, "paid"),
    ("X-EARLYREF", "X10", "2022-01-02", -10.0, 0.0, "paid"),
    ("X-EARLYREF", "X11", "2022-03-01", 60.0, 0.0, "paid"),
    ("X-EARLYREF", "X12", "2022-08-01", 15.0, 0.0, "paid"),
    ("X-ABSREF", "X13", "2023-06-01", 30.0, -5.0, "paid"),
    ("X-ABSREF", "X14", "2023-07-01", 30.0, 0.0, "Pagato"),
    ("X-ZERO", "X15", "2023-04-04", 0.0, 0.0, "paid"),
    ("X-ZERO", "X16", "2023-04-05", 25.0, 0.0, ""),
    ("X-ZERO", "X17", "2023-04-06", 25.0, 0.0, "Annullato"),
    (" C00001 ", "X18", "2024-06-01", 33.0, 0.0, "paid"),
    ("X-FULLREF", "X19", "2023-10-10", 45.0, 45.0, "paid"),
    ("X-FULLREF", "X20", "2023-11-10", 45.0, 0.0, "paid"),
    ("X-LATE", "X21", "2024-06-30", 5.0, 0.0, "paid"),
]


def edge_orders(seed: int = 11, n_customers: int = 600) -> pd.DataFrame:
    """Generated orders (2022-01 to 2024-06) and the hand-written edge cases, in EUR."""
    base = generate_orders(
        n_customers,
        seed=seed,
        start="2022-01-01",
        end="2024-06-30",
        refund_rate=0.12,
        cancel_rate=0.05,
        duplicate_rate=0.03,
    )
    extra = pd.DataFrame(_EXTRA, columns=COLUMNS[:6])
    extra["order_date"] = pd.to_datetime(extra["order_date"])
    extra["currency"] = "EUR"
    frame = pd.concat([base.astype(object), extra.astype(object)], ignore_index=True)
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    for col in ("amount", "refunded"):
        frame[col] = frame[col].astype("float64")
    for col in ("customer_id", "order_id", "status", "currency"):
        frame[col] = frame[col].astype(str)
    # interleave the rows, so repeated orders and customers cross file boundaries
    order = np.random.default_rng(seed).permutation(len(frame))
    return frame.iloc[order].reset_index(drop=True)


def write_parquet(frame: pd.DataFrame, path: Path, *, schema: pa.Schema | None = None) -> Path:
    """``frame`` as a Parquet file written by pyarrow."""
    table = pa.Table.from_pandas(frame, preserve_index=False, schema=schema)
    pq.write_table(table, str(path))
    return path


def write_parts(frame: pd.DataFrame, folder: Path, parts: int = 3) -> list[Path]:
    """``frame`` split by rows into ``parts`` Parquet files under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    bounds = np.linspace(0, len(frame), parts + 1).astype(int)
    return [
        write_parquet(frame.iloc[a:b], folder / f"part-{i}.parquet")
        for i, (a, b) in enumerate(itertools.pairwise(bounds))
    ]


def duckdb_lake(kind: str, folder: Path) -> tuple[DuckDBEngine, pd.DataFrame]:
    """A DuckDB engine over a lake written into ``folder`` and the checked orders as
    the pandas engine reads them: ``kind`` "sample" (the bundled orders, one Parquet
    file) or "edge" (:func:`edge_orders` in three parts). The caller closes the engine."""
    from retention_xl.datasets import load_sample
    from retention_xl.engines.duckdb_engine import DuckDBEngine
    from retention_xl.engines.lake import LakeOrders
    from retention_xl.engines.sources import parse_orders_source

    if kind == "sample":
        write_parquet(load_sample().orders, folder / "orders.parquet")
    else:
        write_parts(edge_orders(), folder)
    orders = LakeOrders(parse_orders_source(str(folder)))
    return DuckDBEngine(orders), orders.frame()


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """``frame`` as a canonical CSV export (ISO dates, '.' decimals)."""
    out = frame.copy()
    out["order_date"] = out["order_date"].dt.strftime("%Y-%m-%d")
    out.to_csv(path, index=False)
    return path


def write_duckdb(frame: pd.DataFrame, path: Path, table: str = "orders") -> Path:
    """``frame`` as a table of a DuckDB database file."""
    import duckdb

    con = duckdb.connect(str(path))
    try:
        con.register("frame_view", pa.Table.from_pandas(frame, preserve_index=False))
        con.execute(f'CREATE TABLE "{table}" AS SELECT * FROM frame_view')
    finally:
        con.close()
    return path


#: three orders, for tests that only need a readable source
ROWS_FOR_SOURCES = pd.DataFrame(
    {
        "customer_id": ["a", "a", "b"],
        "order_id": ["1", "2", "3"],
        "order_date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"]),
        "amount": [10.0, 20.0, 30.0],
    }
)


def spark_problem() -> str | None:
    """Why Spark cannot run here (no pyspark, no Java), or None."""
    import importlib.util
    import os
    import shutil

    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (pip install 'retention-xl[spark]')"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "Java is not installed (Spark needs a JRE)"
    return None


def spark_class_archive() -> Path | None:
    """Where the tests' class-data archive for Spark's JVM goes (``spark_classes.py``
    makes it): in this Python environment, named for the pyspark version and the Java
    installation, since an archive serves only the JVM and class path that made it.
    None without pyspark or Java, or when the path has a space (it goes into
    ``spark.driver.extraJavaOptions``, which splits on spaces)."""
    import hashlib
    import importlib.metadata
    import os
    import shutil
    import sys

    try:
        version = importlib.metadata.version("pyspark")
    except importlib.metadata.PackageNotFoundError:
        return None
    home = os.environ.get("JAVA_HOME")
    java = os.path.join(home, "bin", "java") if home else shutil.which("java")
    if not java or not os.path.exists(java):
        return None
    real = os.path.realpath(java)
    stat = os.stat(real)
    key = hashlib.sha256(f"{real}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    path = Path(sys.prefix) / "share" / "retention-xl-tests" / f"spark-{version}-{key}.jsa"
    return None if any(c.isspace() for c in str(path)) else path


def _driver_java_options() -> str:
    """The JVM options of :data:`SPARK_TEST_CONF`."""
    options = ["-XX:TieredStopAtLevel=1"]
    archive = spark_class_archive()
    if archive is not None and archive.is_file():
        # an archive that does not fit this JVM is passed over without a word
        options += [f"-XX:SharedArchiveFile={archive}", "-Xlog:cds=off", "-Xlog:cds+dynamic=off"]
    return " ".join(options)


#: Settings for the tests' Spark runs, which read a few thousand orders: two shuffle
#: partitions (Spark's default 200 suit large data and made each query do 100 times the
#: task work) and the JVM's first JIT tier only (``-XX:TieredStopAtLevel=1``: a run of
#: seconds ends before the optimising compiler would pay for itself). When
#: ``spark_classes.py`` has made it (``scripts/test`` does), the JVM also starts from a
#: class-data archive of the classes Spark loads (JDK AppCDS): about a third off each
#: cold run, with nothing computed differently. None of these changes what Spark computes.
SPARK_TEST_CONF = {
    "spark.sql.shuffle.partitions": "2",
    "spark.driver.extraJavaOptions": _driver_java_options(),
}


def spark_submit_args(conf: dict[str, str] | None = None) -> str:
    """:data:`SPARK_TEST_CONF` (or ``conf``) as ``PYSPARK_SUBMIT_ARGS``, which pyspark
    reads when it starts the JVM: how a ``retention-xl`` subprocess gets the same
    settings.

    >>> spark_submit_args({"a.b": "1", "c": "-X -Y"})
    "--conf a.b=1 --conf 'c=-X -Y' pyspark-shell"
    """
    import shlex

    items = (SPARK_TEST_CONF if conf is None else conf).items()
    return " ".join(f"--conf {shlex.quote(f'{k}={v}')}" for k, v in items) + " pyspark-shell"


# -- subscriptions ----------------------------------------------------------------------

_SUB_COLUMNS = (
    "customer_id",
    "start_date",
    "end_date",
    "amount",
    "interval",
    "interval_count",
    "status",
)

#: hand-written items: (customer, start, end, amount, interval, interval_count, status)
EDGE_SUBSCRIPTION_ROWS = (
    ("mid", "2023-01-15", "2023-04-20", 30.0, "month", 1, "active"),  # partial months
    ("inside", "2023-02-03", "2023-02-25", 50.0, "month", 1, "active"),  # never at month end
    ("first-day", "2023-02-01", "2023-05-01", 12.0, "month", 1, "active"),  # ends on the 1st
    ("yearly", "2023-01-31", None, 1200.0, "year", 1, "active"),
    ("weekly", "2023-03-10", "2023-09-01", 7.0, "week", 2, "past_due"),
    ("daily", "2023-04-01", "2023-06-15", 1.0, "day", 1, "active"),
    ("quarterly", "2023-01-01", "2023-10-01", 90.0, "month", 3, "canceled"),
    ("canceled-future", "2023-06-01", "2024-06-01", 240.0, "year", 1, "canceled"),
    ("free", "2023-01-01", None, 0.0, "month", 1, "active"),  # a free plan: no MRR
    ("trial-then-paid", "2023-02-01", "2023-03-01", 20.0, "month", 1, "trialing"),
    ("trial-then-paid", "2023-03-01", None, 20.0, "month", 1, "active"),
    ("unpaid", "2023-01-01", "2023-03-01", 40.0, "month", 1, "active"),
    ("unpaid", "2023-03-01", None, 40.0, "month", 1, "unpaid"),
    ("paused", "2023-02-01", None, 15.0, "month", 1, "paused"),
    ("incomplete", "2023-02-01", None, 15.0, "month", 1, "incomplete_expired"),
    ("upgrade", "2023-01-01", "2023-05-01", 10.0, "month", 1, "active"),
    ("upgrade", "2023-05-01", None, 25.0, "month", 1, "active"),
    ("add-on", "2023-01-01", None, 10.0, "month", 1, "active"),
    ("add-on", "2023-04-10", "2023-08-01", 5.0, "month", 1, "active"),  # expansion, contraction
    ("downgrade", "2023-01-01", "2023-03-01", 99.0, "month", 1, "active"),
    ("downgrade", "2023-03-01", None, 49.0, "month", 1, "active"),
    ("back", "2023-01-01", "2023-03-01", 10.0, "month", 1, "active"),
    ("back", "2023-06-15", "2023-08-01", 10.0, "month", 1, "active"),  # reactivated
    ("back", "2023-10-01", None, 30.0, "month", 1, "active"),  # and again
    ("overlap", "2023-02-01", "2023-04-01", 10.0, "month", 1, "active"),
    ("overlap", "2023-03-15", "2023-07-01", 10.0, "month", 1, "active"),  # churn and gaps
    ("  padded ", "2023-05-01", "2023-07-01", 1 / 3, "month", 1, "active"),  # ids are stripped
    ("padded", "2023-05-01", "2023-11-01", 2 / 3, "year", 1, "active"),
    ("late", "2023-12-20", None, 8.0, "month", 1, "active"),  # the last month of the data
)


def edge_subscriptions() -> pd.DataFrame:
    """The hand-written items of :data:`EDGE_SUBSCRIPTION_ROWS` as a canonical frame."""
    frame = pd.DataFrame(list(EDGE_SUBSCRIPTION_ROWS), columns=list(_SUB_COLUMNS))
    frame.insert(1, "subscription_id", [f"s{i}" for i in range(len(frame))])
    frame["currency"] = "EUR"
    return frame


def random_subscriptions(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    """Random items: every interval, status and day of the month, several per customer."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 1100, n), unit="D")
    end = pd.Series(start + pd.to_timedelta(rng.integers(0, 700, n), unit="D"))
    status = rng.choice(
        ["active", "past_due", "canceled", "trialing", "unpaid", "paused"],
        n,
        p=[0.6, 0.05, 0.2, 0.05, 0.05, 0.05],
    )
    ongoing = (rng.random(n) < 0.4) & (status != "canceled")
    return pd.DataFrame(
        {
            "customer_id": rng.integers(0, n // 3, n).astype(str),
            "subscription_id": np.arange(n).astype(str),
            "start_date": start,
            "end_date": end.where(~ongoing),
            "amount": np.round(rng.choice([0.0, 9.99, 19.0, 49.5, 99.0, 490.0], n), 2),
            "interval": rng.choice(["month", "year", "week", "day"], n, p=[0.6, 0.2, 0.1, 0.1]),
            "interval_count": rng.choice([1, 1, 1, 3, 6], n),
            "status": status,
        }
    )
