"""The period table as SQL: one definition for the DuckDB and the Spark engines.

:func:`sql_period_table` is :func:`~retention_xl.core.periods.period_table` computed by
SQL queries over the table ``rxl_days`` (see :mod:`~retention_xl.engines.duckdb_engine`
for the method). The queries are written once; what differs between the dialects is
behind a small :class:`SqlRunner`: how to run a query, how to keep an intermediate
table for a few queries, and the two calendar expressions (the period number of an
epoch day, the first day of a period number). DuckDB implements them with macros,
Spark SQL with its date functions; everything else (window functions, ``FILTER``
clauses, ``least``/``greatest``, ``GROUP BY 1``, ``UNION ALL``) is common SQL both
read the same way.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import pandas as pd

from retention_xl.core._orderdays import (
    MONTHS_PER,
    period_number,
    period_start_day,
    resolve_freq,
)
from retention_xl.core.periods import PeriodCounts, _check_window, period_table_from_counts
from retention_xl.errors import InputError

__all__ = ["SqlRunner", "sql_period_table"]


class SqlRunner(Protocol):
    """What the shared queries need from an SQL engine (see the module docstring)."""

    def one(self, query: str) -> tuple[Any, ...]:
        """The first row of ``query``."""
        ...

    def numpy(self, query: str) -> dict[str, np.ndarray]:
        """The (small) result of ``query`` as one array per column."""
        ...

    def keep(self, name: str, query: str) -> None:
        """Keep the result of ``query`` as the table ``name`` for the next queries."""
        ...

    def drop(self, name: str) -> None:
        """Forget the table ``name`` made by :meth:`keep` (no error if missing)."""
        ...

    def period(self, day: str, months: int) -> str:
        """SQL: the period number (periods of ``months`` months since 1970-01) of the
        epoch day ``day`` (an SQL expression)."""
        ...

    def period_start(self, k: str, months: int) -> str:
        """SQL: the epoch day on which the period number ``k`` starts."""
        ...


def _empty() -> pd.DataFrame:
    none = np.zeros(0, dtype=np.int64)
    return period_table_from_counts(
        PeriodCounts(none, none, none, none, none, none, none, none, none, np.zeros(0), none, none)
    )


def sql_period_table(
    run: SqlRunner,
    cut: int | None,
    *,
    freq: str = "M",
    window_days: int = 365,
    same_period_churn: bool = False,
) -> pd.DataFrame:
    """:func:`~retention_xl.core.periods.period_table` of ``rxl_days`` up to the epoch
    day ``cut`` (None: no rows), computed by ``run``.

    Only arrays the size of the periods reach Python; the counts go to
    :func:`~retention_xl.core.periods.period_table_from_counts`, which derives the rates.
    """
    freq = resolve_freq(freq)
    w = _check_window(window_days)
    if not isinstance(same_period_churn, (bool, np.bool_)):
        raise InputError(
            f"same_period_churn must be True or False, got {same_period_churn!r}",
            argument="same_period_churn",
        )
    if cut is None:
        return _empty()
    first, purchase_days = run.one(
        f"SELECT min(day), count(*) FILTER (WHERE n > 0) FROM rxl_days WHERE day <= {cut}"
    )
    if first is None or not purchase_days:
        return _empty()
    k0, kl = (int(k) for k in period_number(np.array([first, cut], dtype=np.int64), freq))
    queries = _PeriodQueries(run, k0, kl, cut, MONTHS_PER[freq], w)
    run.keep(
        "rxl_pd",
        "SELECT cid AS c, day AS d, n, lag(day) OVER w AS prev, lead(day) OVER w AS nxt "
        f"FROM rxl_days WHERE n > 0 AND day <= {cut} WINDOW w AS (PARTITION BY cid ORDER BY day)",
    )
    try:
        start_c, end_c, kept_idle = queries.active_counts()
        groups = queries.group_counts()
    finally:
        run.drop("rxl_pd")
    revenue = queries.revenue()
    spread = queries.spread
    counts = PeriodCounts(
        period_start=period_start_day(np.arange(k0, kl + 1, dtype=np.int64), freq),
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
        repeat_customers=spread("repeats", groups),
    )
    return period_table_from_counts(counts, same_period_churn=bool(same_period_churn))


class _PeriodQueries:
    """The queries of :func:`sql_period_table` for periods ``k0 .. kl`` of ``months``
    months, the last cut at the epoch day ``cut``, with an activity window of ``w`` days.

    Periods are numbered by ``run.period`` and indexed ``0 .. n - 1`` from ``k0``.
    """

    def __init__(self, run: SqlRunner, k0: int, kl: int, cut: int, months: int, w: int) -> None:
        self.run, self.cut, self.months, self.w = run, cut, months, w
        self.k0, self.kl, self.n = k0, kl, kl - k0 + 1

    def per(self, x: str) -> str:
        """SQL: the period number of the epoch day ``x``."""
        return self.run.period(x, self.months)

    def ix(self, expr: str) -> str:
        """SQL: a period number as an index 0..n, clipped."""
        return f"least(greatest(({expr}) - {self.k0}, 0), {self.n})"

    def first_end_from(self, x: str) -> str:
        """SQL: the first period number k whose end instant v_k >= x."""
        per, kl, cut = self.per(x), self.kl, self.cut
        return f"CASE WHEN {per} < {kl} THEN {per} WHEN {x} <= {cut} THEN {kl} ELSE {kl + 1} END"

    def active_counts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Customers active at each period's start, at its end, and kept through it
        without buying, from the spans of activity of each purchase day in ``rxl_pd``.

        A purchase day ``d`` keeps its customer active over ``[d, to]``, with
        ``to + 1 = min(next purchase, d + W)``; the start instants ``u_k = s_k - 1`` and
        the end instants ``v_k = min(e_k, as_of)`` inside it form ranges of period
        indexes, counted by +1 at each range's first index and -1 past its last.
        """
        ix, per, w, n = self.ix, self.per, self.w, self.n
        until = f"least(coalesce(nxt, d + {w}), d + {w})"
        day_period, until_period = per("d"), per(until)
        spans = (
            "SELECT "
            f"{ix(f'{day_period} + 1')} AS u_from, "
            f"{ix(f'{until_period} + 1')} AS u_to, "
            f"{ix(self.first_end_from('d'))} AS v_from, "
            f"{ix(self.first_end_from(until))} AS v_to, "
            f"least({ix(self.first_end_from(f'd + {w}'))}, CASE WHEN nxt IS NULL THEN {n} "
            f"ELSE {ix(per('nxt'))} END) AS idle_to FROM rxl_pd"
        )
        # The three kinds of range r, each as +1 at its first index and -1 past its
        # last: every span row meets a six-row table of (r, sign), so that one
        # aggregation counts them all (one pass, where a UNION ALL of six aggregations
        # scanned the spans six times).
        ranges = {"start": ("u_from", "u_to"), "end": ("v_from", "v_to"),
                  "idle": ("u_from", "idle_to")}  # fmt: skip
        lo = " ".join(f"WHEN {r} THEN {a}" for r, (a, _) in enumerate(ranges.values()))
        hi = " ".join(f"WHEN {r} THEN {b}" for r, (_, b) in enumerate(ranges.values()))
        nonempty = " ".join(f"WHEN {r} THEN {b} > {a}" for r, (a, b) in enumerate(ranges.values()))
        signs = ", ".join(f"({r}, {sign})" for r in range(len(ranges)) for sign in (1, -1))
        got = self.run.numpy(
            f"WITH spans AS ({spans}) SELECT r, i, sum(s) AS c FROM ("
            f"SELECT t.r AS r, CASE WHEN t.s = 1 THEN (CASE t.r {lo} END) "
            f"ELSE (CASE t.r {hi} END) END AS i, t.s AS s "
            f"FROM spans CROSS JOIN (VALUES {signs}) AS t(r, s) "
            f"WHERE CASE t.r {nonempty} END) q GROUP BY r, i"
        )
        steps = np.zeros((len(ranges), n + 1), dtype=np.int64)
        np.add.at(
            steps,
            (got["r"].astype(np.int64), got["i"].astype(np.int64)),
            got["c"].astype(np.int64),
        )
        start_c, end_c, kept_idle = (np.cumsum(row[:n]) for row in steps)
        return start_c, end_c, kept_idle

    def group_counts(self) -> dict[str, np.ndarray]:
        """Per period: buyers, repeat buyers, orders, new and reactivated customers (all
        and still active at the end) and customers kept, from one row per (customer,
        period with purchases) of ``rxl_pd``."""
        per, w, cut, mp = self.per, self.w, self.cut, self.months
        start_of = self.run.period_start
        return self.run.numpy(
            f"WITH g AS (SELECT c, {per('d')} AS k, n, d, prev, "
            f"(prev IS NULL OR {per('prev')} <> {per('d')}) AS first_in FROM rxl_pd), "
            "grp AS (SELECT k, sum(n) AS orders, max(d) AS last_d, "
            "max(prev) FILTER (WHERE first_in) AS before FROM g GROUP BY c, k), "
            "flags AS (SELECT k, orders, before IS NULL AS is_new, "
            f"coalesce(before > {start_of('k', mp)} - 1 - {w}, false) AS active_start, "
            f"last_d > least({start_of('k + 1', mp)} - 1, {cut}) - {w} AS active_end "
            "FROM grp) "
            f"SELECT k - {self.k0} AS i, count(*) AS buyers, "
            "count(*) FILTER (WHERE orders >= 2) AS repeats, sum(orders) AS orders, "
            "count(*) FILTER (WHERE is_new) AS new_all, "
            "count(*) FILTER (WHERE is_new AND active_end) AS new_end, "
            "count(*) FILTER (WHERE NOT is_new AND NOT active_start) AS back_all, "
            "count(*) FILTER (WHERE NOT is_new AND NOT active_start AND active_end) "
            "AS back_end, count(*) FILTER (WHERE active_start AND active_end) AS kept "
            "FROM flags GROUP BY k"
        )

    def revenue(self) -> dict[str, np.ndarray]:
        """Revenue per period index, from every day of ``rxl_days`` up to the cut."""
        per = self.per
        return self.run.numpy(
            f"SELECT {per('day')} - {self.k0} AS i, sum(rev_all) AS r FROM rxl_days "
            f"WHERE day <= {self.cut} GROUP BY {per('day')}"
        )

    def spread(self, name: str, values: dict[str, np.ndarray], dtype: Any = np.int64) -> np.ndarray:
        """The column ``name`` of a per-index result as an array over all n periods."""
        out = np.zeros(self.n, dtype=dtype)
        out[values["i"].astype(np.int64)] = values[name]
        return out
