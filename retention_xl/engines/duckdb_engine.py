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
  :func:`~retention_xl.core.periods.period_table_from_counts`, which derives the rates;
* the **histories** of the models: per customer ``(x, t_x, T)`` and the mean repeat
  spend, grouped into distinct rows with counts for the fits, or streamed in Arrow
  batches for scoring.

Only results the size of the periods, of the distinct histories or of one batch of
customers reach Python.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from retention_xl.core._orderdays import _as_of_day, resolve_freq
from retention_xl.core.customers import summary_from_totals
from retention_xl.core.periods import PeriodCounts, _check_window, period_table_from_counts
from retention_xl.core.report import OrderTotals
from retention_xl.engines.base import BATCH_ROWS, HistoryGroups
from retention_xl.engines.lake import LakeOrders
from retention_xl.errors import InputError, OutOfRangeError

__all__ = ["DuckDBEngine"]

_MONTHS_PER = {"M": 1, "Q": 3, "Y": 12}

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
        (last,) = self._one(f"SELECT max(day) FROM rxl_days {where}")
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
        got = self._numpy(
            "SELECT c.customer_id, t.* FROM ("
            + self._PER_CUSTOMER.format(cut=cut)
            + ") t JOIN rxl_customers c USING (cid) ORDER BY cid"
        )
        return summary_of_totals(got, cut)

    # -- headline totals --------------------------------------------------------

    def order_totals(self, *, period: str, window_days: int, as_of: Any = None) -> OrderTotals:
        cut = self._cut(as_of, purchases=True)
        if cut is None:
            raise InputError("orders has no valid purchase (all cancelled or refunded?)")
        customers, orders, revenue, repeat = self._one(
            "SELECT count(*), coalesce(sum(orders), 0), coalesce(sum(revenue), 0.0), "
            "count(*) FILTER (WHERE orders >= 2) FROM (" + self._PER_CUSTOMER.format(cut=cut) + ")"
        )
        purchases, value = self._one(
            "SELECT coalesce(sum(n), 0), sum(rev_p) FROM rxl_days WHERE n > 0"
        )
        return OrderTotals(
            as_of=pd.Timestamp(np.datetime64(cut, "D")),
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

    def period_table(
        self,
        *,
        freq: str = "M",
        window_days: int = 365,
        as_of: Any = None,
        same_period_churn: bool = False,
    ) -> pd.DataFrame:
        freq = resolve_freq(freq)
        w = _check_window(window_days)
        if not isinstance(same_period_churn, (bool, np.bool_)):
            raise InputError(
                f"same_period_churn must be True or False, got {same_period_churn!r}",
                argument="same_period_churn",
            )
        none = np.zeros(0, dtype=np.int64)
        empty = PeriodCounts(
            none, none, none, none, none, none, none, none, none, np.zeros(0), none, none
        )
        cut = self._cut(as_of)
        if cut is None:
            return period_table_from_counts(empty)
        mp = _MONTHS_PER[freq]
        first, purchase_days = self._one(
            f"SELECT min(day), count(*) FILTER (WHERE n > 0) FROM rxl_days WHERE day <= {cut}"
        )
        if first is None or not purchase_days:
            return period_table_from_counts(empty)
        k0 = int(self._one(f"SELECT rxl_period({int(first)}, {mp})")[0])
        kl = int(self._one(f"SELECT rxl_period({cut}, {mp})")[0])
        n = kl - k0 + 1

        def ix(expr: str) -> str:  # a period number as an index 0..n, clipped
            return f"least(greatest(({expr}) - {k0}, 0), {n})"

        def first_end_from(x: str) -> str:  # first k whose end instant v_k >= x
            return (
                f"CASE WHEN rxl_period({x}, {mp}) < {kl} THEN rxl_period({x}, {mp}) "
                f"WHEN {x} <= {cut} THEN {kl} ELSE {kl + 1} END"
            )

        lake = self.lake
        lake.sql(
            "CREATE OR REPLACE TEMP TABLE rxl_pd AS SELECT cid AS c, day AS d, n, "
            "lag(day) OVER w AS prev, lead(day) OVER w AS nxt FROM rxl_days "
            f"WHERE n > 0 AND day <= {cut} WINDOW w AS (PARTITION BY cid ORDER BY day)"
        )
        try:
            # the span of days each purchase day keeps its customer active: [d, to], with
            # to + 1 = min(next purchase, d + W); the start instants u_k = s_k - 1 and the end
            # instants v_k = min(e_k, as_of) inside it form ranges of period indexes
            until = f"least(coalesce(nxt, d + {w}), d + {w})"
            lake.sql(
                "CREATE OR REPLACE TEMP TABLE rxl_spans AS SELECT "
                f"{ix(f'rxl_period(d, {mp}) + 1')} AS u_from, "
                f"{ix(f'rxl_period({until}, {mp}) + 1')} AS u_to, "
                f"{ix(first_end_from('d'))} AS v_from, "
                f"{ix(first_end_from(until))} AS v_to, "
                f"least({ix(first_end_from(f'd + {w}'))}, CASE WHEN nxt IS NULL THEN {n} "
                f"ELSE {ix(f'rxl_period(nxt, {mp})')} END) AS idle_to FROM rxl_pd"
            )
            ranges = {"start": ("u_from", "u_to"), "end": ("v_from", "v_to"),
                      "idle": ("u_from", "idle_to")}  # fmt: skip
            steps = {name: np.zeros(n + 1, dtype=np.int64) for name in ranges}
            for name, (lo, hi) in ranges.items():
                for col, sign in ((lo, 1), (hi, -1)):
                    got = self._numpy(
                        f"SELECT {col} AS i, count(*) AS c FROM rxl_spans WHERE {hi} > {lo} "
                        "GROUP BY 1"
                    )
                    np.add.at(
                        steps[name], got["i"].astype(np.int64), sign * got["c"].astype(np.int64)
                    )
            start_c, end_c, kept_idle = (np.cumsum(steps[k][:n]) for k in ("start", "end", "idle"))

            # one row per (customer, period with purchases)
            groups = self._numpy(
                "WITH g AS (SELECT c, rxl_period(d, "
                f"{mp}) AS k, n, d, prev, (prev IS NULL OR rxl_period(prev, {mp}) <> "
                f"rxl_period(d, {mp})) AS first_in FROM rxl_pd), "
                "grp AS (SELECT k, sum(n) AS orders, max(d) AS last_d, "
                "max(prev) FILTER (WHERE first_in) AS before FROM g GROUP BY c, k), "
                "flags AS (SELECT k, orders, before IS NULL AS is_new, "
                f"coalesce(before > rxl_start(k, {mp}) - 1 - {w}, false) AS active_start, "
                f"last_d > least(rxl_start(k + 1, {mp}) - 1, {cut}) - {w} AS active_end "
                "FROM grp) "
                f"SELECT k - {k0} AS i, count(*) AS buyers, "
                "count(*) FILTER (WHERE orders >= 2) AS repeat, sum(orders) AS orders, "
                "count(*) FILTER (WHERE is_new) AS new_all, "
                "count(*) FILTER (WHERE is_new AND active_end) AS new_end, "
                "count(*) FILTER (WHERE NOT is_new AND NOT active_start) AS back_all, "
                "count(*) FILTER (WHERE NOT is_new AND NOT active_start AND active_end) "
                "AS back_end, count(*) FILTER (WHERE active_start AND active_end) AS kept "
                "FROM flags GROUP BY k"
            )
        finally:
            lake.sql("DROP TABLE IF EXISTS rxl_pd; DROP TABLE IF EXISTS rxl_spans")
        revenue = self._numpy(
            f"SELECT rxl_period(day, {mp}) - {k0} AS i, sum(rev_all) AS r FROM rxl_days "
            f"WHERE day <= {cut} GROUP BY 1"
        )

        def spread(name: str, values: dict[str, np.ndarray], dtype: Any = np.int64) -> np.ndarray:
            out = np.zeros(n, dtype=dtype)
            out[values["i"].astype(np.int64)] = values[name]
            return out

        starts = self._numpy(
            f"SELECT rxl_start(k, {mp}) AS s FROM range({k0}, {kl + 1}) t(k) ORDER BY k"
        )["s"].astype(np.int64)
        counts = PeriodCounts(
            period_start=starts,
            start_customers=start_c,
            end_customers=end_c,
            retained=kept_idle + spread("kept", groups),
            new_all=spread("new_all", groups),
            new_end=spread("new_end", groups),
            reactivated_all=spread("back_all", groups),
            reactivated_end=spread("back_end", groups),
            orders=spread("orders", groups),
            revenue=spread("r", revenue, np.float64),
            buyers=spread("buyers", groups),
            repeat_customers=spread("repeat", groups),
        )
        return period_table_from_counts(counts, same_period_churn=bool(same_period_churn))

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
        self, *, as_of: Any = None, time_unit_days: float = 7.0, batch_rows: int = BATCH_ROWS
    ) -> Iterator[pd.DataFrame]:
        unit = _unit(time_unit_days)
        cut = self._cut(as_of)
        if cut is None:
            return
        relation = self.lake.relation(
            f"SELECT c.customer_id, h.* EXCLUDE (cid) FROM ({self._histories_sql(cut)}) h "
            "JOIN rxl_customers c USING (cid) ORDER BY cid"
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
            yield pd.DataFrame(
                {
                    "frequency": cols["x"].to_numpy().astype(np.float64),
                    "recency": cols["recency_days"].to_numpy().astype(np.float64) / unit,
                    "age": cols["age_days"].to_numpy().astype(np.float64) / unit,
                    "monetary_value": np.asarray(m, dtype=np.float64),
                },
                index=pd.Index(ids, dtype="string", name="customer_id"),
            )


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
