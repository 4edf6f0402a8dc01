"""The DuckDB engine: the order aggregations as SQL, where the orders are.

Everything starts from the table ``rxl_days`` that
:class:`~retention_xl.engines.lake.LakeOrders` builds: one row per customer (an integer
code ``cid`` in id order) and day with the purchases ``n`` (orders with positive net
revenue and not refunded), the net revenue ``rev_all`` of every non-cancelled row and
``rev_p`` of the purchases. That is what the core's
:class:`~retention_xl.core._orderdays.OrderDays` holds, and the queries below are the
core's numpy passes written in SQL:

* the **customer summary**: first and last purchase day, purchases, purchase days and
  revenue per customer, finished by :func:`~retention_xl.core.customers.summary_from_totals`;
* the **period table**: every purchase day keeps its customer active until the next
  purchase or ``window_days`` later; the periods whose start or end instant falls in
  that span are a contiguous range of period numbers, so the customers active at each
  start and end are running sums of +1/-1 at the ends of those ranges (as the core's
  ``_ranges``). New, returning, retained customers, buyers and orders come from one row
  per (customer, period with purchases). The counts go to
  :func:`~retention_xl.core.periods.period_table_from_counts`, which derives the rates.
  These queries are shared with the Spark engine (:mod:`~retention_xl.engines.period_sql`);
* the **cohorts**: each customer's first purchase period, then customers with a
  purchase (or net revenue) per cohort and offset, finished by
  :func:`~retention_xl.core.cohorts.cohort_counts_from_cells`; and per monthly cohort
  the totals of its customers (:meth:`DuckDBEngine.cohort_totals`, what an aggregate
  report's KPIs add up);
* the **histories** of the models: per customer ``(x, t_x, T)`` and the mean repeat
  spend, grouped into distinct rows with counts for the fits, or streamed in Arrow
  batches for scoring;
* the subscriptions' **monthly MRR, MRR movements and KPIs**: the checked subscriptions
  registered in the engine's database (:meth:`DuckDBEngine.subscriptions`) or an
  in-memory one (:func:`duckdb_subscriptions`), the SQL of
  :mod:`~retention_xl.engines.subscription_sql` (shared with Spark).

Only results the size of the periods, of the distinct histories or of one batch of
customers reach Python.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np
import pandas as pd

from retention_xl.core._orderdays import MONTHS_PER, _as_of_day, period_number, resolve_freq
from retention_xl.core.cohorts import _check_measure, cohort_counts_from_cells, matrix_of_counts
from retention_xl.core.customers import summary_from_totals
from retention_xl.core.models.holdout_groups import HoldoutGroups
from retention_xl.core.report import OrderTotals
from retention_xl.engines.base import BATCH_ROWS, HistoryGroups
from retention_xl.engines.deps import require_lake
from retention_xl.engines.holdout_sql import HOLDOUT_COLUMNS, calibration_query, sql_holdout
from retention_xl.engines.lake import LakeOrders
from retention_xl.engines.period_sql import sql_period_table
from retention_xl.engines.subscription_sql import SqlSubscriptions, TableRunner
from retention_xl.errors import InputError, OutOfRangeError

__all__ = ["DuckDBEngine", "duckdb_subscriptions"]

# epoch day -> months since 1970-01, period number, first day of a period number
_MACROS = """
CREATE OR REPLACE TEMP MACRO rxl_month(x) AS
    (year(DATE '1970-01-01' + CAST(x AS INTEGER)) - 1970) * 12
    + month(DATE '1970-01-01' + CAST(x AS INTEGER)) - 1;
CREATE OR REPLACE TEMP MACRO rxl_period(x, mp) AS CAST(floor(rxl_month(x) / mp) AS BIGINT);
CREATE OR REPLACE TEMP MACRO rxl_start(k, mp) AS CAST(date_diff('day', DATE '1970-01-01',
    DATE '1970-01-01' + to_months(CAST(k * mp AS INTEGER))) AS BIGINT);
"""


def _day(as_of: Any) -> int:
    return _as_of_day(as_of)


class DuckDBEngine:
    """Aggregations of a :class:`~retention_xl.engines.lake.LakeOrders` in DuckDB SQL.

    See :class:`~retention_xl.engines.base.OrderEngine` and the module docstring.
    """

    name = "duckdb"

    def __init__(self, lake: LakeOrders) -> None:
        self.lake = lake
        self.report = lake.report
        lake.sql(_MACROS)

    def _one(self, query: str) -> tuple[Any, ...]:
        return self.lake.one(query)

    def _numpy(self, query: str) -> dict[str, np.ndarray]:
        return {k: np.asarray(v) for k, v in self.lake.sql(query).fetchnumpy().items()}

    def frame(self) -> pd.DataFrame:
        return self.lake.frame()

    def close(self) -> None:
        self.lake.close()

    # -- as_of ----------------------------------------------------------------

    def _cut(self, as_of: Any, *, purchases: bool = False) -> int | None:
        """``as_of`` as a day; by default the last day of any row (or of a purchase)."""
        if as_of is not None:
            return _day(as_of)
        where = "WHERE n > 0" if purchases else ""
        (last,) = self._sql().one(f"SELECT max(day) FROM rxl_days {where}")
        return None if last is None else int(last)

    # -- customer summary -----------------------------------------------------

    _PER_CUSTOMER = (
        "SELECT cid, min(day) FILTER (WHERE n > 0) AS first_day, "
        "max(day) FILTER (WHERE n > 0) AS last_day, sum(n) AS orders, "
        "count(*) FILTER (WHERE n > 0) AS purchase_days, sum(rev_all) AS revenue "
        "FROM rxl_days WHERE day <= {cut} GROUP BY cid HAVING sum(n) > 0"
    )

    def customer_summary(self, *, as_of: Any = None) -> pd.DataFrame:
        cut = self._cut(as_of)
        if cut is None:
            cut = 0
        got = self._sql().numpy(  # portable SQL: the Spark engine runs it too
            "SELECT c.customer_id, t.* FROM ("
            + self._PER_CUSTOMER.format(cut=cut)
            + ") t JOIN rxl_customers c ON t.cid = c.cid ORDER BY t.cid"
        )
        return summary_of_totals(got, cut)

    # -- headline totals --------------------------------------------------------

    def order_totals(self, *, period: str, window_days: int, as_of: Any = None) -> OrderTotals:
        cut = self._cut(as_of, purchases=True)
        if cut is None:
            raise InputError("orders has no valid purchase (all cancelled or refunded?)")
        run = self._sql()  # portable SQL: the Spark engine runs it too
        customers, orders, revenue, repeat = run.one(
            "SELECT count(*), coalesce(sum(orders), 0), coalesce(sum(revenue), 0.0), "
            "count(*) FILTER (WHERE orders >= 2) FROM ("
            + self._PER_CUSTOMER.format(cut=cut)
            + ") t"
        )
        purchases, value = run.one(
            "SELECT coalesce(sum(n), 0), sum(rev_p) FROM rxl_days WHERE n > 0"
        )
        return OrderTotals(
            as_of=cut_stamp(cut),
            customers=int(customers),
            orders=int(orders),
            revenue=float(revenue),
            repeat_customers=int(repeat),
            aov=float(value) / int(purchases) if purchases else float("nan"),
            periods=self.period_table(freq=period, window_days=window_days, as_of=cut_stamp(cut)),
            period=period,
            window_days=window_days,
        )

    # -- period table -----------------------------------------------------------

    def _sql(self) -> TableRunner:
        """How the shared queries (:mod:`~retention_xl.engines.period_sql`,
        :mod:`~retention_xl.engines.subscription_sql`) run here."""
        return _DuckDBSql(self.lake)

    def subscriptions(self, subscriptions: pd.DataFrame) -> SqlSubscriptions:
        """The subscriptions' MRR, movements and KPIs computed by this engine."""
        return SqlSubscriptions(self._sql(), subscriptions, engine=self.name)

    def period_table(
        self,
        *,
        freq: str = "M",
        window_days: int = 365,
        as_of: Any = None,
        same_period_churn: bool = False,
    ) -> pd.DataFrame:
        return sql_period_table(
            self._sql(),
            self._cut(as_of),
            freq=freq,
            window_days=window_days,
            same_period_churn=same_period_churn,
        )

    # -- cohorts ----------------------------------------------------------------

    def cohort_counts(
        self,
        *,
        measure: str = "customers",
        period: str = "M",
        as_of: Any = None,
        max_offset: int | None = None,
    ) -> pd.DataFrame:
        """:func:`~retention_xl.core.cohorts.cohort_counts` in SQL (same arguments but the
        orders, which the engine holds).

        A customer's cohort is the period of their first purchase up to ``as_of``; the
        cells are customers with a purchase (``measure="customers"``) or the net revenue
        of every row of the cohort's customers (``"revenue"``) per offset ``>= 0``,
        finished by :func:`~retention_xl.core.cohorts.cohort_counts_from_cells`.
        """
        kind = _check_measure(measure)
        freq = resolve_freq(period, "period")
        cut = self._cut(as_of)
        mp = MONTHS_PER[freq]
        none = np.zeros(0, dtype=np.int64)
        if cut is None:
            return cohort_counts_from_cells(
                none, none, none, none, np.zeros(0), freq=freq, as_of_period=0,
                max_offset=max_offset,
            )  # fmt: skip
        # portable SQL through the engine's runner: the Spark engine runs the same
        run = self._sql()
        first = (
            f"SELECT cid, {run.period('min(day)', mp)} AS fp FROM rxl_days "
            f"WHERE n > 0 AND day <= {cut} GROUP BY cid"
        )
        sizes = run.numpy(f"SELECT fp, count(*) AS c FROM ({first}) f GROUP BY fp ORDER BY fp")
        if kind == "customers":
            value, where = "count(DISTINCT d.cid)", "d.n > 0 AND "
        else:
            value, where = "sum(d.rev_all)", ""
        k = f"{run.period('d.day', mp)} - f.fp"
        cells = run.numpy(
            f"SELECT f.fp AS fp, {k} AS k, {value} AS v FROM rxl_days d "
            f"JOIN ({first}) f ON d.cid = f.cid WHERE {where}d.day <= {cut} AND {k} >= 0 "
            f"GROUP BY f.fp, {k}"
        )
        return cohort_counts_from_cells(
            np.asarray(sizes["fp"], dtype=np.int64),
            np.asarray(sizes["c"], dtype=np.int64),
            np.asarray(cells["fp"], dtype=np.int64),
            np.asarray(cells["k"], dtype=np.int64),
            np.asarray(cells["v"], dtype=np.float64),
            freq=freq,
            as_of_period=int(period_number(np.array([cut], dtype=np.int64), freq)[0]),
            max_offset=max_offset,
        )

    def cohort_matrix(
        self,
        *,
        measure: str = "customers",
        period: str = "M",
        as_of: Any = None,
        max_offset: int | None = None,
    ) -> pd.DataFrame:
        """:func:`~retention_xl.core.cohorts.cohort_matrix` from :meth:`cohort_counts`."""
        return matrix_of_counts(
            self.cohort_counts(measure=measure, period=period, as_of=as_of, max_offset=max_offset)
        )

    def cohort_totals(self, *, as_of: Any = None) -> pd.DataFrame:
        """Per monthly cohort (first purchase up to ``as_of``): customers, purchases,
        repeat customers (2+ purchases), revenue (every row of theirs, as the customer
        summary's) and purchase revenue (net revenue of the purchases, as the AOV's).

        Summed over the cohorts these are the customer summary's totals: the KPIs of an
        aggregate report read them instead of one row per customer.
        """
        cut = self._cut(as_of)
        if cut is None:
            cut = 0
        got = self._numpy(
            "SELECT rxl_period(day, 1) AS fp, count(*) AS customers, "
            "sum(orders) AS orders, count(*) FILTER (WHERE orders >= 2) AS repeat_customers, "
            "sum(revenue) AS revenue, sum(rev_p) AS purchase_revenue FROM ("
            "SELECT cid, min(day) FILTER (WHERE n > 0) AS day, sum(n) AS orders, "
            "sum(rev_all) AS revenue, sum(rev_p) AS rev_p FROM rxl_days "
            f"WHERE day <= {cut} GROUP BY cid HAVING sum(n) > 0) GROUP BY ALL ORDER BY fp"
        )
        months = got["fp"].astype(np.int64)
        return pd.DataFrame(
            {
                "customers": got["customers"].astype(np.int64),
                "orders": got["orders"].astype(np.int64),
                "repeat_customers": got["repeat_customers"].astype(np.int64),
                "revenue": got["revenue"].astype(np.float64),
                "purchase_revenue": got["purchase_revenue"].astype(np.float64),
            },
            index=pd.DatetimeIndex(
                months.astype("datetime64[M]").astype("datetime64[ns]"), name="cohort"
            ),
        )

    def last_order_date(self) -> pd.Timestamp | None:
        """The date of the last order of any status (cancelled included), as the Orders
        tab's ``MAX(order_date)`` of a report gives it."""
        (last,) = self._one("SELECT max(order_date) FROM rxl_orders")
        return None if last is None else pd.Timestamp(last).normalize()

    # -- holdout check -----------------------------------------------------------

    def holdout(
        self,
        *,
        holdout_weeks: float,
        as_of: Any = None,
        model: str = "bgnbd",
        time_unit_days: float = 7.0,
    ) -> HoldoutGroups:
        """:func:`~retention_xl.core.models.holdout_comparison` with ``holdout_end=as_of``
        (by default the last day of any row), from counts computed in SQL through the
        engine's runner (:mod:`~retention_xl.engines.holdout_sql`: the Spark engine runs
        the same queries)."""
        cut = self._cut(as_of)
        return sql_holdout(
            self._sql(),
            0 if cut is None else cut,
            holdout_weeks=holdout_weeks,
            model=model,
            time_unit_days=_unit(time_unit_days),
        )

    # -- model histories -------------------------------------------------------

    def _histories_sql(self, cut: int) -> str:
        return (
            "WITH d AS (SELECT cid, day, rev_p, min(day) OVER (PARTITION BY cid) "
            f"AS first FROM rxl_days WHERE n > 0 AND day <= {cut}) "
            "SELECT cid, count(*) - 1 AS x, max(day) - min(first) AS recency_days, "
            f"{cut} - min(first) AS age_days, "
            "CASE WHEN count(*) > 1 THEN coalesce(sum(rev_p) FILTER (WHERE day > first), 0.0) "
            "/ (count(*) - 1) END AS m FROM d GROUP BY cid"
        )

    def history_groups(self, *, as_of: Any = None, time_unit_days: float = 7.0) -> HistoryGroups:
        unit = _unit(time_unit_days)
        cut = self._cut(as_of)
        if cut is None:
            cut = 0
        lake = self.lake
        lake.sql(f"CREATE OR REPLACE TEMP TABLE rxl_hist AS {self._histories_sql(cut)}")
        try:
            g = self._numpy(
                "SELECT x, recency_days, age_days, count(*) AS c FROM rxl_hist GROUP BY ALL "
                "ORDER BY x, recency_days, age_days"
            )
            s = self._numpy(
                "SELECT x, m, count(*) AS c FROM rxl_hist WHERE x > 0 GROUP BY ALL ORDER BY x, m"
            )
        finally:
            lake.sql("DROP TABLE IF EXISTS rxl_hist")
        return HistoryGroups(
            x=g["x"].astype(np.float64),
            recency=g["recency_days"].astype(np.float64) / unit,
            age=g["age_days"].astype(np.float64) / unit,
            counts=g["c"].astype(np.float64),
            spend_x=s["x"].astype(np.float64),
            spend_m=s["m"].astype(np.float64),
            spend_counts=s["c"].astype(np.float64),
            as_of=cut_stamp(cut),
            customers=int(g["c"].sum()),
        )

    def histories(
        self,
        *,
        as_of: Any = None,
        time_unit_days: float = 7.0,
        batch_rows: int = BATCH_ROWS,
        holdout: HoldoutGroups | None = None,
    ) -> Iterator[pd.DataFrame]:
        """Per-customer histories in batches (see
        :meth:`~retention_xl.engines.base.OrderEngine.histories`); with ``holdout`` (a
        check of :meth:`holdout`) also each customer's calibration history and holdout
        purchases, :data:`~retention_xl.engines.holdout_sql.HOLDOUT_COLUMNS` (NaN for
        customers who first bought in the holdout)."""
        unit = _unit(time_unit_days)
        cut = self._cut(as_of)
        if cut is None:
            return
        extra = join = ""
        if holdout is not None:
            extra = ", " + ", ".join(
                f"k.{col} AS {name}"
                for col, name in zip(("x", "tx", "t", "actual"), HOLDOUT_COLUMNS, strict=True)
            )
            join = f" LEFT JOIN ({calibration_query(holdout)}) k ON k.cid = h.cid"
        relation = self.lake.relation(
            f"SELECT c.customer_id, h.* EXCLUDE (cid){extra} FROM ({self._histories_sql(cut)}) h "
            f"JOIN rxl_customers c ON c.cid = h.cid{join} ORDER BY h.cid"
        )
        # DuckDB 1.4 renamed fetch_arrow_reader to_arrow_reader
        to_reader = getattr(relation, "to_arrow_reader", None) or relation.fetch_arrow_reader
        reader = to_reader(batch_rows)
        for batch in reader:
            if batch.num_rows == 0:
                continue
            cols = {name: batch.column(name) for name in batch.schema.names}
            ids = np.asarray(cols["customer_id"].to_pylist(), dtype=object)
            m = cols["m"].to_numpy(zero_copy_only=False)
            frame = pd.DataFrame(
                {
                    "frequency": cols["x"].to_numpy().astype(np.float64),
                    "recency": cols["recency_days"].to_numpy().astype(np.float64) / unit,
                    "age": cols["age_days"].to_numpy().astype(np.float64) / unit,
                    "monetary_value": np.asarray(m, dtype=np.float64),
                },
                index=pd.Index(ids, dtype="string", name="customer_id"),
            )
            for name in HOLDOUT_COLUMNS if holdout is not None else ():
                frame[name] = np.asarray(
                    cols[name].to_numpy(zero_copy_only=False), dtype=np.float64
                )
            yield frame


class _Database(Protocol):
    """What :class:`_DuckDBSql` needs of a DuckDB database (a lake, or :class:`_Memory`)."""

    con: Any

    def sql(self, query: str) -> Any: ...

    def one(self, query: str) -> tuple[Any, ...]: ...


class _Memory:
    """An in-memory DuckDB database with the calendar macros (no orders in it)."""

    def __init__(self) -> None:
        duckdb, _ = require_lake("--engine duckdb")

        self.con: Any = duckdb.connect(":memory:")
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute(_MACROS)

    def sql(self, query: str) -> Any:
        return self.con.execute(query)

    def one(self, query: str) -> tuple[Any, ...]:
        rows = self.con.execute(query).fetchall()
        return tuple(rows[0]) if rows else ()

    def close(self) -> None:
        self.con.close()


def duckdb_subscriptions(subscriptions: pd.DataFrame) -> SqlSubscriptions:
    """The subscriptions' MRR, movements and KPIs in an in-memory DuckDB database
    (:mod:`~retention_xl.engines.subscription_sql`); ``close()`` frees it."""
    memory = _Memory()
    try:
        return SqlSubscriptions(
            _DuckDBSql(memory), subscriptions, engine="duckdb", on_close=memory.close
        )
    except BaseException:
        memory.close()
        raise


class _DuckDBSql:
    """:class:`~retention_xl.engines.subscription_sql.TableRunner` of a DuckDB database."""

    def __init__(self, lake: _Database) -> None:
        self.lake = lake

    def register(self, name: str, frame: pd.DataFrame) -> None:
        self.lake.con.register(name, frame)

    def unregister(self, name: str) -> None:
        self.lake.con.unregister(name)

    def one(self, query: str) -> tuple[Any, ...]:
        return self.lake.one(query)

    def numpy(self, query: str) -> dict[str, np.ndarray]:
        return {k: np.asarray(v) for k, v in self.lake.sql(query).fetchnumpy().items()}

    def keep(self, name: str, query: str) -> None:
        self.lake.sql(f"CREATE OR REPLACE TEMP TABLE {name} AS {query}")

    def drop(self, name: str) -> None:
        self.lake.sql(f"DROP TABLE IF EXISTS {name}")

    def period(self, day: str, months: int) -> str:
        return f"rxl_period({day}, {months})"

    def period_start(self, k: str, months: int) -> str:
        return f"rxl_start({k}, {months})"


def summary_of_totals(got: Any, cut: int) -> pd.DataFrame:
    """The customer summary from the per-customer totals query (``customer_id``,
    ``first_day``, ``last_day``, ``orders``, ``purchase_days``, ``revenue`` columns, as
    arrays or a frame): one conversion for every SQL engine."""
    return summary_from_totals(
        np.asarray(got["customer_id"], dtype=object),
        first_day=np.asarray(got["first_day"], dtype=np.int64),
        last_day=np.asarray(got["last_day"], dtype=np.int64),
        orders=np.asarray(got["orders"], dtype=np.int64),
        purchase_days=np.asarray(got["purchase_days"], dtype=np.int64),
        revenue=np.asarray(got["revenue"], dtype=np.float64),
        as_of_day=cut,
    )


def cut_stamp(day: int) -> pd.Timestamp:
    """Days since 1970-01-01 as a Timestamp (midnight)."""
    return pd.Timestamp(np.datetime64(int(day), "D"))


def _unit(time_unit_days: float) -> float:
    if isinstance(time_unit_days, bool) or not isinstance(time_unit_days, (int, float)):
        raise InputError(
            f"time_unit_days must be a number of days, got {time_unit_days!r}",
            argument="time_unit_days",
        )
    if not np.isfinite(time_unit_days) or time_unit_days <= 0:
        raise OutOfRangeError(
            f"time_unit_days must be > 0, got {time_unit_days!r}", argument="time_unit_days"
        )
    return float(time_unit_days)
