"""BG/BB's calendar-period histories ``(x, t_x, n)`` in SQL, for DuckDB and Spark.

:func:`~retention_xl.core.models.period_history` on the engines' days table
(``rxl_days``, see :mod:`retention_xl.engines.duckdb_engine`), written once and run
through the engine's :class:`~retention_xl.engines.period_sql.SqlRunner` (as the
period table: only the calendar expression differs between DuckDB and Spark SQL). A
customer's period 0
is the calendar period (year, quarter or month) of their first purchase, only whole
periods up to the last one ended by the observation day count, and

* ``frequency`` (*x*) is the number of later periods with a purchase,
* ``recency`` (*t_x*) the last of them counted from period 0 (0 if none),
* ``age`` (*n*, ``periods`` in the core) the whole periods after period 0,
* ``monetary_value`` the mean purchase revenue of those *x* periods.

:func:`period_history_groups` gives the distinct histories with their counts (what
the fits need) and the notes of the core's ``attrs``; :func:`period_history_batches`
streams the per-customer histories in id order for scoring in DuckDB, and
:func:`period_history_query` is the per-customer query the Spark engine scores in its
workers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from retention_xl.core._orderdays import (
    MONTHS_PER,
    period_label,
    period_number,
    period_start_day,
    resolve_freq,
)
from retention_xl.core.models.history import _PERIOD_NAMES, _PERIODS_PER_YEAR
from retention_xl.engines.base import BATCH_ROWS, HistoryGroups
from retention_xl.engines.lake import LakeOrders
from retention_xl.engines.period_sql import SqlRunner

__all__ = [
    "PeriodSpan",
    "period_history_batches",
    "period_history_groups",
    "period_history_query",
    "period_span",
]


class PeriodSpan:
    """The periods a BG/BB history uses: ``last`` (period number), ``end_day`` (its
    last day, days since 1970-01-01), ``cut`` (the observation day) and ``freq``."""

    __slots__ = ("cut", "end_day", "freq", "last")

    def __init__(self, freq: str, cut: int) -> None:
        self.freq = freq
        self.cut = cut
        current = int(period_number(np.array([cut], dtype=np.int64), freq)[0])
        ends_today = int(period_number(np.array([cut + 1], dtype=np.int64), freq)[0]) != current
        self.last = current if ends_today else current - 1
        self.end_day = int(period_start_day(np.array([self.last + 1], dtype=np.int64), freq)[0]) - 1

    def notes(self, left_out: int) -> dict[str, Any]:
        """The ``attrs`` of :func:`~retention_xl.core.models.period_history`."""
        return {
            "period": self.freq,
            "last_period": period_label(self.last, self.freq),
            "period_end": pd.Timestamp(np.datetime64(self.end_day, "D")),
            "left_out": left_out,
            "time_unit_days": 365.25 / _PERIODS_PER_YEAR[self.freq],
            "period_name": _PERIOD_NAMES[self.freq],
        }


def period_span(cut: int, period: str = "Y") -> PeriodSpan:
    """The :class:`PeriodSpan` of observation day ``cut`` and ``period`` (Y, Q, M)."""
    return PeriodSpan(resolve_freq(period, "period"), int(cut))


def period_history_query(run: SqlRunner, span: PeriodSpan) -> str:
    """SQL: one row per customer code ``cid`` with ``x``, ``tx``, ``n`` (periods) and
    ``m`` (mean revenue of the repeat periods, NULL without any), in ``run``'s dialect."""
    k = run.period("day", MONTHS_PER[span.freq])
    return (
        f"WITH p AS (SELECT cid, {k} AS k, sum(rev_p) AS rev FROM rxl_days "
        f"WHERE n > 0 AND day <= {span.end_day} GROUP BY cid, {k}), "
        "c AS (SELECT cid, k, rev, min(k) OVER (PARTITION BY cid) AS k0 FROM p) "
        "SELECT cid, count(*) - 1 AS x, max(k) - min(k0) AS tx, "
        f"{span.last} - min(k0) AS n, CASE WHEN count(*) > 1 THEN "
        "coalesce(sum(rev) FILTER (WHERE k > k0), 0.0) / (count(*) - 1) END AS m "
        "FROM c GROUP BY cid"
    )


def period_history_groups(run: SqlRunner, span: PeriodSpan) -> tuple[HistoryGroups, dict[str, Any]]:
    """The distinct ``(x, t_x, n)`` histories with counts, the distinct ``(x, m)`` of the
    customers with repeat periods, and the core's notes (periods used, customers left
    out: those whose first purchase is after the last whole period), computed by ``run``."""
    run.keep("rxl_phist", period_history_query(run, span))
    try:
        g = run.numpy(
            "SELECT x, tx, n, count(*) AS c FROM rxl_phist GROUP BY x, tx, n ORDER BY x, tx, n"
        )
        s = run.numpy(
            "SELECT x, m, count(*) AS c FROM rxl_phist WHERE x > 0 GROUP BY x, m ORDER BY x, m"
        )
    finally:
        run.drop("rxl_phist")
    (left_out,) = run.one(
        "SELECT count(*) FROM (SELECT cid FROM rxl_days WHERE n > 0 AND day <= "
        f"{span.cut} GROUP BY cid HAVING min(day) > {span.end_day}) t"
    )
    groups = HistoryGroups(
        x=_floats(g["x"]),
        recency=_floats(g["tx"]),
        age=_floats(g["n"]),
        counts=_floats(g["c"]),
        spend_x=_floats(s["x"]),
        spend_m=_floats(s["m"]),
        spend_counts=_floats(s["c"]),
        as_of=pd.Timestamp(np.datetime64(span.cut, "D")),
        customers=int(_floats(g["c"]).sum()),
    )
    return groups, span.notes(int(left_out))


def period_history_batches(
    lake: LakeOrders, run: SqlRunner, span: PeriodSpan, *, batch_rows: int = BATCH_ROWS
) -> Iterator[pd.DataFrame]:
    """Per-customer histories (``frequency``, ``recency``, ``age``, ``monetary_value``,
    indexed by ``customer_id`` in id order), in batches of Arrow rows of the DuckDB
    ``lake`` (``run``: its runner)."""
    relation = lake.relation(
        f"SELECT c.customer_id, h.* EXCLUDE (cid) FROM ({period_history_query(run, span)}) h "
        "JOIN rxl_customers c USING (cid) ORDER BY cid"
    )
    to_reader = getattr(relation, "to_arrow_reader", None) or relation.fetch_arrow_reader
    for batch in to_reader(batch_rows):
        if batch.num_rows == 0:
            continue
        cols = {name: batch.column(name) for name in batch.schema.names}
        ids = np.asarray(cols["customer_id"].to_pylist(), dtype=object)
        yield pd.DataFrame(
            {
                "frequency": cols["x"].to_numpy().astype(np.float64),
                "recency": cols["tx"].to_numpy().astype(np.float64),
                "age": cols["n"].to_numpy().astype(np.float64),
                "monetary_value": np.asarray(
                    cols["m"].to_numpy(zero_copy_only=False), dtype=np.float64
                ),
            },
            index=pd.Index(ids, dtype="string", name="customer_id"),
        )


def _floats(values: Any) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)
