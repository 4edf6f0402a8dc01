"""The Spark engine: the order aggregations in Spark SQL.

Orders are read and checked exactly as for the DuckDB engine: a
:class:`~retention_xl.engines.lake.LakeOrders` (DuckDB) reads the source (Parquet
file, folder or glob; CSV files), applies the same checks with the same messages and
builds the table ``rxl_days`` (one row per customer code and day, see
:mod:`~retention_xl.engines.duckdb_engine`). That table and ``rxl_customers`` are
written to Parquet in the lake's temporary folder and read by Spark, which computes:

* the per-customer totals of the **customer summary** and of the headline
  :class:`~retention_xl.core.report.OrderTotals` (customers, orders, revenue, repeat
  buyers, average order value), finished by the core
  (:func:`~retention_xl.core.customers.summary_from_totals`);
* the **period table** (churn, retention, new, lost customers per period): the DuckDB
  engine's queries (:mod:`~retention_xl.engines.period_sql`, one definition for both
  dialects), with the calendar in Spark's date functions;
* the **cohorts** (:meth:`~retention_xl.engines.duckdb_engine.DuckDBEngine.cohort_counts`,
  whose portable SQL runs through the Spark runner here): one row per (cohort, offset);
* the **histories** of the models: distinct ``(x, t_x, T)`` rows with counts and the
  repeat buyers' distinct ``(x, m)`` rows (collected: they are small), and the
  per-customer histories for scoring; BG/BB's calendar-period histories are the
  DuckDB engine's query (:mod:`~retention_xl.engines.period_histories`) run here;
* the **holdout check** of ``predict --holdout-weeks``: the DuckDB engine's queries
  (:mod:`~retention_xl.engines.holdout_sql`), run here;
* the subscriptions' **monthly MRR, MRR movements and KPIs**
  (:func:`spark_subscriptions`: the checked subscriptions as a DataFrame, the SQL of
  :mod:`~retention_xl.engines.subscription_sql`, the DuckDB engine's).

``predict --engine spark`` fits the models on the distinct histories (on the driver)
and scores every customer in the Spark workers with ``mapInPandas``
(:mod:`~retention_xl.engines.spark_scoring`). ``kpis``, ``build`` and ``predict`` offer
``--engine spark`` and ``--spark-master`` (default ``local[*]``). With a local master
the Python workers run the driver's interpreter; on a cluster the executors need
``retention-xl`` installed in their Python (``PYSPARK_PYTHON``).

A ``spark://`` master that refuses connections is refused within seconds, and so is a
host that accepts the connection but does not register the application (no Spark
master there): one ``Error:`` line naming ``--spark-master``, exit code 2.

pyspark is optional: :func:`require_spark` names ``pip install 'retention-xl[spark]'``.
"""

from __future__ import annotations

import importlib
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from retention_xl.engines.base import BATCH_ROWS, HistoryGroups
from retention_xl.engines.duckdb_engine import DuckDBEngine, _unit, cut_stamp
from retention_xl.engines.holdout_sql import HOLDOUT_COLUMNS, calibration_query
from retention_xl.engines.lake import LakeOrders, quote_text
from retention_xl.engines.subscription_sql import SqlSubscriptions, TableRunner
from retention_xl.errors import InputError

__all__ = [
    "SPARK_EXTRA",
    "SparkEngine",
    "require_spark",
    "spark_session",
    "spark_subscriptions",
]

#: how to install what the Spark engine needs
SPARK_EXTRA: Final = "pip install 'retention-xl[spark]'"


def require_spark() -> Any:
    """The ``pyspark.sql`` module, or an :class:`~retention_xl.errors.InputError`."""
    try:
        return importlib.import_module("pyspark.sql")
    except ImportError:
        raise InputError(
            f"the Spark engine needs pyspark, which comes with the 'spark' extra: {SPARK_EXTRA}",
            argument="engine",
        ) from None


#: seconds to wait for a standalone master (spark://HOST:PORT) to answer
CONNECT_TIMEOUT: Final = 5.0


def _check_master(master: str) -> None:
    """Refuse a ``spark://`` master that does not accept connections within seconds."""
    if not master.startswith("spark://"):
        return
    problems = []
    for address in master[len("spark://") :].split(","):
        host, _, port = address.strip().rpartition(":")
        try:
            with socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT):
                return
        except (OSError, ValueError) as exc:
            problems.append(f"{address}: {exc}")
    raise InputError(
        f"cannot reach the Spark master {master} ({'; '.join(problems)}): check --spark-master",
        argument="spark_master",
    )


#: seconds a standalone master has to register the application once connected
REGISTER_TIMEOUT: Final = 10.0

#: The environment variable that sets another number of seconds than
#: :data:`REGISTER_TIMEOUT` (a master on a slow network may need longer; a test of the
#: refusal needs no 10 s).
REGISTER_TIMEOUT_ENV: Final = "RETENTION_XL_SPARK_REGISTER_TIMEOUT"


def register_timeout() -> float:
    """Seconds a ``spark://`` master has to register the application: the number in
    ``$RETENTION_XL_SPARK_REGISTER_TIMEOUT``, or :data:`REGISTER_TIMEOUT` when unset.

    >>> os.environ[REGISTER_TIMEOUT_ENV] = "2.5"
    >>> register_timeout()
    2.5
    >>> del os.environ[REGISTER_TIMEOUT_ENV]
    >>> register_timeout()
    10.0
    """
    text = os.environ.get(REGISTER_TIMEOUT_ENV, "").strip()
    if not text:
        return REGISTER_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds < float("inf"):
        raise InputError(
            f"{REGISTER_TIMEOUT_ENV}={text!r} is not a number of seconds above 0: "
            f"set it to one (say 30) or unset it for the default {REGISTER_TIMEOUT:g} s",
            argument=REGISTER_TIMEOUT_ENV,
        )
    return seconds


def _start(builder: Any, master: str, settings: dict[str, str]) -> Any:
    """``builder.getOrCreate()``; for a ``spark://`` master, given up after
    :func:`register_timeout` seconds (:data:`REGISTER_TIMEOUT` unless
    ``$RETENTION_XL_SPARK_REGISTER_TIMEOUT`` says) of waiting for the master to
    register us.

    Spark waits for a standalone master's answer with three attempts of 20 seconds,
    so a host that accepts connections but is no Spark master (or not one that speaks
    this Spark's protocol) would hold the command for a minute. The JVM is started
    first (its start-up, seconds on a busy machine, is not counted), then the session
    is created in a daemon thread: if the time runs out, the command stops with an
    :class:`~retention_xl.errors.InputError`; the thread and the JVM end with the process.
    """
    if not master.startswith("spark://"):
        return builder.getOrCreate()
    timeout = register_timeout()
    import threading

    from pyspark import SparkConf, SparkContext

    ensure = getattr(SparkContext, "_ensure_initialized", None)
    if ensure is not None:  # the JVM only (with the settings its start reads), no context yet
        ensure(conf=SparkConf().setMaster(master).setAll(list(settings.items())))
    got: dict[str, Any] = {}

    def start() -> None:
        try:
            got["session"] = builder.getOrCreate()
        except BaseException as exc:  # handed to the caller's thread
            got["error"] = exc

    thread = threading.Thread(target=start, name="retention-xl-spark-start", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise InputError(
            f"the Spark master {master} accepted the connection but did not register this "
            f"application within {timeout:g} s: is it a Spark master (of a "
            "compatible version) and the right port? Check --spark-master",
            argument="spark_master",
        )
    if "error" in got:
        raise got["error"]
    return got["session"]


def spark_session(master: str = "local[*]", **conf: str) -> Any:
    """A Spark session on ``master`` (UTC session time zone, no UI unless ``conf`` says).

    A ``spark://`` master must accept a connection within :data:`CONNECT_TIMEOUT`
    seconds and register the application within :func:`register_timeout` seconds; a
    session that cannot start (no Java, a bad master) is an
    :class:`~retention_xl.errors.InputError` of one line.
    """
    sql = require_spark()
    _check_master(master)
    builder = sql.SparkSession.builder.master(master).appName("retention-xl")
    settings = {
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",  # no progress bars over the command's output
        "spark.sql.execution.arrow.pyspark.enabled": "true",
    }
    settings.update(conf)
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        session = _start(builder, master, settings)
    except InputError:
        raise
    except Exception as exc:  # pyspark raises several kinds (Java missing, bad master)
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise InputError(
            f"cannot start Spark on {master}: {first}", argument="spark_master"
        ) from None
    if master.startswith("local") and not os.environ.get("PYSPARK_PYTHON"):
        # the Python workers (predict's scoring) run this interpreter and its packages,
        # not whichever python3 comes first on PATH
        session.sparkContext.pythonExec = sys.executable
    return session


class _SparkSql:
    """:class:`~retention_xl.engines.subscription_sql.TableRunner` of a Spark session:
    the calendar in Spark's date functions, kept tables as cached temporary views,
    registered frames as temporary views of ``createDataFrame``."""

    _EPOCH = "DATE '1970-01-01'"

    def __init__(self, spark: Any) -> None:
        self.spark = spark
        self._kept: dict[str, Any] = {}

    def one(self, query: str) -> tuple[Any, ...]:
        return tuple(self.spark.sql(query).collect()[0])

    def numpy(self, query: str) -> dict[str, np.ndarray]:
        frame = self.spark.sql(query).toPandas()
        return {str(k): frame[k].to_numpy() for k in frame.columns}

    def keep(self, name: str, query: str) -> None:
        table = self.spark.sql(query).persist()
        table.createOrReplaceTempView(name)
        self._kept[name] = table

    def drop(self, name: str) -> None:
        self.spark.catalog.dropTempView(name)
        table = self._kept.pop(name, None)
        if table is not None:
            table.unpersist()

    def register(self, name: str, frame: pd.DataFrame) -> None:
        self.spark.createDataFrame(frame).createOrReplaceTempView(name)

    def unregister(self, name: str) -> None:
        self.spark.catalog.dropTempView(name)

    def period(self, day: str, months: int) -> str:
        date = f"date_add({self._EPOCH}, CAST({day} AS INT))"
        month = f"((year({date}) - 1970) * 12 + month({date}) - 1)"
        return f"CAST(floor({month} / {months}) AS BIGINT)"

    def period_start(self, k: str, months: int) -> str:
        return f"datediff(add_months({self._EPOCH}, CAST(({k}) * {months} AS INT)), {self._EPOCH})"


def spark_subscriptions(spark: Any, subscriptions: pd.DataFrame) -> SqlSubscriptions:
    """The subscriptions' MRR, movements and KPIs computed in the Spark session
    ``spark`` (:mod:`~retention_xl.engines.subscription_sql`); ``close()`` drops its views."""
    return SqlSubscriptions(_SparkSql(spark), subscriptions, engine="spark")


def _holdout_join(holdout: Any) -> tuple[str, str]:
    """The columns and the join that add a holdout check's calibration histories
    (:data:`~retention_xl.engines.holdout_sql.HOLDOUT_COLUMNS`) to a histories query."""
    if holdout is None:
        return "", ""
    columns = "".join(
        f", CAST(k.{col} AS DOUBLE) AS {name}"
        for col, name in zip(("x", "tx", "t", "actual"), HOLDOUT_COLUMNS, strict=True)
    )
    return columns, f" LEFT JOIN ({calibration_query(holdout)}) k ON k.cid = h.cid"


class SparkEngine(DuckDBEngine):
    """Aggregations of a checked :class:`~retention_xl.engines.lake.LakeOrders` in Spark.

    See the module docstring for what runs in Spark and what does not yet.
    """

    name = "spark"

    def __init__(self, lake: LakeOrders, spark: Any) -> None:
        super().__init__(lake)
        self.spark = spark
        folder = Path(lake._tmp.name) / "spark"
        folder.mkdir(exist_ok=True)
        for table in ("rxl_days", "rxl_customers"):
            path = folder / f"{table}.parquet"
            lake.sql(f"COPY {table} TO {quote_text(str(path))} (FORMAT parquet)")
            spark.read.parquet(str(path)).createOrReplaceTempView(table)

    def _sql(self) -> TableRunner:
        return _SparkSql(self.spark)

    def _spark(self, query: str) -> pd.DataFrame:
        frame: pd.DataFrame = self.spark.sql(query).toPandas()
        return frame

    def history_groups(self, *, as_of: Any = None, time_unit_days: float = 7.0) -> HistoryGroups:
        unit = _unit(time_unit_days)
        cut = self._cut(as_of)
        if cut is None:
            cut = 0
        self.spark.sql(self._histories_sql(cut)).createOrReplaceTempView("rxl_hist")
        g = self._spark(
            "SELECT x, recency_days, age_days, count(*) AS c FROM rxl_hist "
            "GROUP BY x, recency_days, age_days ORDER BY x, recency_days, age_days"
        )
        s = self._spark(
            "SELECT x, m, count(*) AS c FROM rxl_hist WHERE x > 0 GROUP BY x, m ORDER BY x, m"
        )
        return HistoryGroups(
            x=g["x"].to_numpy(np.float64),
            recency=g["recency_days"].to_numpy(np.float64) / unit,
            age=g["age_days"].to_numpy(np.float64) / unit,
            counts=g["c"].to_numpy(np.float64),
            spend_x=s["x"].to_numpy(np.float64),
            spend_m=s["m"].to_numpy(np.float64),
            spend_counts=s["c"].to_numpy(np.float64),
            as_of=cut_stamp(cut),
            customers=int(g["c"].sum()),
        )

    def history_frame(
        self, *, as_of: Any = None, time_unit_days: float = 7.0, holdout: Any = None
    ) -> Any:
        """The per-customer histories as a Spark DataFrame, in id order (not collected):
        ``customer_id``, ``frequency``, ``recency``, ``age`` (time units),
        ``monetary_value`` (null without repeat purchases), as :meth:`histories`; with
        ``holdout`` (a check of :meth:`holdout`) also
        :data:`~retention_xl.engines.holdout_sql.HOLDOUT_COLUMNS`."""
        unit = f"CAST('{_unit(time_unit_days)!r}' AS DOUBLE)"
        cut = self._cut(as_of)
        extra, join = _holdout_join(holdout)
        return self.spark.sql(
            "SELECT CAST(c.customer_id AS STRING) AS customer_id, "
            "CAST(h.x AS DOUBLE) AS frequency, "
            f"CAST(h.recency_days AS DOUBLE) / {unit} AS recency, "
            f"CAST(h.age_days AS DOUBLE) / {unit} AS age, "
            f"CAST(h.m AS DOUBLE) AS monetary_value{extra} FROM ("
            + self._histories_sql(0 if cut is None else cut)
            + f") h JOIN rxl_customers c ON h.cid = c.cid{join} ORDER BY h.cid"
        )

    def period_history_frame(self, *, as_of: Any = None, period: str = "Y") -> Any:
        """BG/BB's per-customer calendar-period histories as a Spark DataFrame, in id
        order (not collected), with the columns of :meth:`history_frame` (``age`` the
        whole periods *n*): the query of
        :func:`~retention_xl.engines.period_histories.period_history_query`."""
        from retention_xl.engines.period_histories import period_history_query, period_span

        cut = self._cut(as_of)
        span = period_span(0 if cut is None else cut, period)
        return self.spark.sql(
            "SELECT CAST(c.customer_id AS STRING) AS customer_id, "
            "CAST(h.x AS DOUBLE) AS frequency, CAST(h.tx AS DOUBLE) AS recency, "
            "CAST(h.n AS DOUBLE) AS age, CAST(h.m AS DOUBLE) AS monetary_value FROM ("
            + period_history_query(self._sql(), span)
            + ") h JOIN rxl_customers c ON h.cid = c.cid ORDER BY h.cid"
        )

    def histories(
        self,
        *,
        as_of: Any = None,
        time_unit_days: float = 7.0,
        batch_rows: int = BATCH_ROWS,
        holdout: Any = None,
    ) -> Iterator[pd.DataFrame]:
        """Per-customer histories collected to the driver (one frame per ``batch_rows``);
        ``predict`` scores :meth:`history_frame` in Spark instead
        (:mod:`~retention_xl.engines.spark_scoring`)."""
        unit = _unit(time_unit_days)
        cut = self._cut(as_of)
        if cut is None:
            return
        extra, join = _holdout_join(holdout)
        got = self._spark(
            f"SELECT c.customer_id, h.x, h.recency_days, h.age_days, h.m{extra} FROM ("
            + self._histories_sql(cut)
            + f") h JOIN rxl_customers c ON h.cid = c.cid{join} ORDER BY h.cid"
        )
        for lo in range(0, len(got), batch_rows):
            part = got.iloc[lo : lo + batch_rows]
            frame = pd.DataFrame(
                {
                    "frequency": part["x"].to_numpy(np.float64),
                    "recency": part["recency_days"].to_numpy(np.float64) / unit,
                    "age": part["age_days"].to_numpy(np.float64) / unit,
                    "monetary_value": part["m"].to_numpy(np.float64, na_value=np.nan),
                },
                index=pd.Index(
                    np.asarray(part["customer_id"], dtype=object),
                    dtype="string",
                    name="customer_id",
                ),
            )
            for name in HOLDOUT_COLUMNS if holdout is not None else ():
                frame[name] = part[name].to_numpy(np.float64, na_value=np.nan)
            yield frame

    def close(self) -> None:
        for table in ("rxl_days", "rxl_customers", "rxl_hist"):
            self.spark.catalog.dropTempView(table)
        super().close()
