"""Monthly MRR and MRR movements as SQL: one definition for the DuckDB and Spark engines.

:class:`SqlSubscriptions` computes :func:`~retention_xl.core.subscriptions.monthly_mrr`,
:func:`~retention_xl.core.subscriptions.subscription_movements` and
:func:`~retention_xl.core.subscriptions.subscription_kpis` with the conventions of
:mod:`retention_xl.core.subscriptions` (monthly normalisation, counted statuses,
end-of-month snapshot, movements per customer), in SQL run through a
:class:`TableRunner` (a :class:`~retention_xl.engines.period_sql.SqlRunner` that can
also register a pandas frame as a table). The checked subscriptions are registered as
the table ``rxl_subs_<n>`` (``cid``: the customer code in id order; ``start_day`` and
``end_day``: epoch days; ``amount``, ``unit``, ``unit_count``, ``status``), the months
``first .. last`` as a second table, and the queries are:

* **items**: the monthly amount of each counted item,
  ``amount * f / interval_count`` (``f`` = 1, 1/12, 52/12, 365/12 as the core writes
  it: ``amount * num / (den * count)``), with the month of its start ``bm`` and its
  last billed month ``em`` (the month before ``end_day``'s; NULL when ongoing);
* **customer months**: one row per customer and month with MRR, the items joined to the
  months ``bm <= m <= coalesce(em, last)`` and summed (a range join: the months table
  has one row per month, every engine reads it in one pass);
* **movements**: per customer, ordered by month, the previous row with MRR (``lag``) and
  the next (``lead``). A row whose previous row is the month before moves by the
  difference (expansion, contraction); otherwise it is new (no previous row) or a
  reactivation. A row whose next row is not the next month churns in the next month.
  Per month: the sums and counts of these, and the starting MRR and customers (the rows
  of the month before);
* **retention** (the KPIs' NRR and GRR): the customers paying in one month joined to
  their MRR in a later one: starting MRR, expansion, contraction, churned MRR
  (:func:`~retention_xl.core.subscriptions.retention_sums`), finished by
  :func:`~retention_xl.core.subscriptions.kpis_of_month`.

Only the monthly rows (or the customer-month rows of :meth:`SqlSubscriptions.monthly_mrr`)
reach Python; sums may be added in another order than numpy's, so amounts agree with
the core to rounding (1e-9 relative), counts exactly.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import pandas as pd

from retention_xl.core.subscriptions import (
    COUNTED_STATUSES,
    MOVEMENT_COLUMNS,
    RetentionSums,
    SubscriptionKpis,
    _month_start,
    _normalised,
    _one_month,
    check_kpi_arguments,
    headline_month,
    kpis_of_month,
    month_range,
)
from retention_xl.engines.period_sql import SqlRunner
from retention_xl.errors import NotEnoughDataError

__all__ = ["SqlSubscriptions", "TableRunner", "subscription_table"]

#: months since 1970-01 of year 0 month 1: the core's month numbers are year * 12 + month - 1
_EPOCH_MONTH = 1970 * 12
#: (numerator, denominator) of the monthly factor, as the core's ``_PER_MONTH``
_FACTORS = {"month": (1, 1), "year": (1, 12), "week": (52, 12), "day": (365, 12)}
_names = itertools.count()


class TableRunner(SqlRunner, Protocol):
    """A :class:`~retention_xl.engines.period_sql.SqlRunner` that registers frames."""

    def register(self, name: str, frame: pd.DataFrame) -> None:
        """Make ``frame`` (columns of numbers, text, nullable integers) the table ``name``."""
        ...

    def unregister(self, name: str) -> None:
        """Forget the table ``name`` made by :meth:`register`."""
        ...


def subscription_table(subscriptions: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The checked subscriptions as the table the queries read, and the customer ids
    (``ids[cid]``, in id order as the core's).

    Checked by the core (:func:`~retention_xl.core.schema.validate_subscriptions`, and a
    canceled item needs its end date); dates become epoch days (``end_day`` null when
    ongoing), so that each dialect's calendar is the runner's ``period`` expression.

    >>> subs = pd.DataFrame({"customer_id": ["b", "a"], "subscription_id": ["1", "2"],
    ...     "start_date": ["1970-01-02", "1970-02-01"], "end_date": [None, "1970-03-01"],
    ...     "amount": [10.0, 5.0], "interval": ["month", "Yearly"]})
    >>> table, ids = subscription_table(subs)
    >>> table[["cid", "start_day", "unit"]].to_dict("list")
    {'cid': [1, 0], 'start_day': [1, 31], 'unit': ['month', 'year']}
    >>> table["end_day"].isna().tolist(), int(table["end_day"].iloc[1])
    ([True, False], 59)
    >>> list(ids)
    ['a', 'b']
    """
    subs = _normalised(subscriptions)
    codes, ids = pd.factorize(subs["customer_id"], sort=True)

    def days(dates: pd.Series) -> pd.Series:
        values = dates.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype("int64")
        return pd.Series(values, dtype="Int64").mask(dates.isna().to_numpy())

    table = pd.DataFrame(
        {
            "cid": np.asarray(codes, dtype="int64"),
            "start_day": days(subs["start_date"]).to_numpy(dtype="int64"),
            "end_day": days(subs["end_date"]).reset_index(drop=True),
            "amount": subs["amount"].to_numpy(dtype="float64"),
            "unit": subs["interval"].astype(str).to_numpy(dtype=object),
            "unit_count": subs["interval_count"].to_numpy(dtype="int64"),
            "status": subs["status"].astype(str).to_numpy(dtype=object),
        }
    )
    return table, np.asarray(ids, dtype=object)


def _text(values: Any) -> str:
    return ", ".join(f"'{v}'" for v in sorted(values))


class SqlSubscriptions:
    """Monthly MRR, MRR movements and subscription KPIs of ``subscriptions``, in SQL
    run by ``run`` (see the module docstring). :meth:`close` unregisters the tables."""

    def __init__(
        self,
        run: TableRunner,
        subscriptions: pd.DataFrame,
        *,
        engine: str,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        #: the engine's name (``duckdb``, ``spark``)
        self.engine = engine
        self.run = run
        self._on_close = on_close
        table, self.ids = subscription_table(subscriptions)
        self._subs = subscriptions
        n = next(_names)
        self.table, self._months, self._cm = f"rxl_subs_{n}", f"rxl_smonths_{n}", f"rxl_cm_{n}"
        run.register(self.table, table)
        self._empty = table.empty

    def close(self) -> None:
        """Unregister the subscriptions' table (and free what ``on_close`` frees)."""
        try:
            self.run.unregister(self.table)
        finally:
            if self._on_close is not None:
                self._on_close()

    # -- SQL --------------------------------------------------------------------

    def _month(self, day: str) -> str:
        return self.run.period(day, 1)

    def default_range(self) -> tuple[int, int]:
        """The core's months by default: from the month of the earliest start to the
        month of the latest date (start or end), as ``year * 12 + month - 1``."""
        if self._empty:
            raise NotEnoughDataError("subscriptions has no rows", argument="subscriptions")
        start, end = self._month("start_day"), self._month("end_day")
        first, last = self.run.one(
            f"SELECT min({start}), greatest(max({start}), coalesce(max({end}), min({start}))) "
            f"FROM {self.table}"
        )
        return int(first) + _EPOCH_MONTH, int(last) + _EPOCH_MONTH

    def _range(self, start: object, end: object) -> tuple[int, int]:
        return month_range(self.default_range(), start, end)

    def _keep_months(self, first: int, last: int) -> None:
        """The table of customer months with MRR, months ``first .. last``."""
        lo, hi = first - _EPOCH_MONTH, last - _EPOCH_MONTH
        self.run.register(self._months, pd.DataFrame({"m": np.arange(lo, hi + 1, dtype="int64")}))
        # amount * num / (den * count), in the core's order of operations
        monthly = " ".join(
            f"WHEN '{unit}' THEN amount * CAST({num} AS DOUBLE) / (CAST({den} AS DOUBLE) "
            "* CAST(unit_count AS DOUBLE))"
            for unit, (num, den) in _FACTORS.items()
        )
        items = (
            f"SELECT cid, {self._month('start_day')} AS bm, "
            f"CASE WHEN end_day IS NULL THEN {hi} ELSE {self._month('end_day')} - 1 END AS em, "
            f"CASE unit {monthly} END AS monthly FROM {self.table} "
            f"WHERE status IN ({_text(COUNTED_STATUSES)})"
        )
        self.run.keep(
            self._cm,
            f"SELECT i.cid AS cid, t.m AS m, sum(i.monthly) AS mrr FROM ({items}) i "
            f"JOIN {self._months} t ON t.m >= i.bm AND t.m <= i.em "
            "WHERE i.monthly > 0 GROUP BY i.cid, t.m",
        )

    def _drop_months(self) -> None:
        self.run.drop(self._cm)
        self.run.unregister(self._months)

    def _movement_table(self, first: int, last: int) -> pd.DataFrame:
        """:func:`~retention_xl.core.subscriptions._movements` of the kept customer months.

        One query: the sums of each month's rows (side 0) and of the month before's
        (side 1, at ``m + 1``), each column zero on the other side.
        """
        hi = last - _EPOCH_MONTH
        rows = (
            "SELECT cid, m, mrr, lag(m) OVER w AS pm, lag(mrr) OVER w AS pmrr, "
            f"lead(m) OVER w AS nm FROM {self._cm} WINDOW w AS (PARTITION BY cid ORDER BY m)"
        )
        cont, gone = "pm = m - 1", "nm IS NULL OR nm > m + 1"

        def total(expr: str, where: str) -> str:
            return f"coalesce(sum({expr}) FILTER (WHERE {where}), 0.0)"

        def count(where: str) -> str:
            return f"count(*) FILTER (WHERE {where})"

        at = {
            "ending_mrr": "sum(mrr)",
            "customers": "count(*)",
            "new": total("mrr", "pm IS NULL"),
            "new_customers": count("pm IS NULL"),
            "reactivation": total("mrr", "pm < m - 1"),
            "reactivated_customers": count("pm < m - 1"),
            "expansion": total("mrr - pmrr", f"{cont} AND mrr > pmrr"),
            "contraction": total("pmrr - mrr", f"{cont} AND mrr < pmrr"),
        }
        after = {
            "starting_mrr": "sum(mrr)",
            "starting_customers": "count(*)",
            "churn": total("mrr", gone),
            "churned_customers": count(gone),
        }
        counts = MOVEMENT_COLUMNS[7:]

        def select(side: dict[str, str]) -> str:
            zero = {name: "0" if name in counts else "0.0" for name in MOVEMENT_COLUMNS}
            return ", ".join(f"{side.get(name, zero[name])} AS {name}" for name in MOVEMENT_COLUMNS)

        got = self.run.numpy(
            f"WITH r AS ({rows}) SELECT m, {select(at)} FROM r GROUP BY m UNION ALL "
            f"SELECT m + 1 AS m, {select(after)} FROM r WHERE m < {hi} GROUP BY m + 1"
        )
        n = last - first + 1
        at_month = np.asarray(got["m"], dtype="int64") - (first - _EPOCH_MONTH)
        columns: dict[str, np.ndarray] = {}
        for name in MOVEMENT_COLUMNS:
            out = np.zeros(n, dtype="int64" if name in counts else "float64")
            np.add.at(out, at_month, np.asarray(got[name], dtype=out.dtype))  # x + 0: exact
            columns[name] = out
        return pd.DataFrame(columns, index=_month_start(np.arange(first, last + 1, dtype="int64")))

    def _retention(self, after: int, *befores: int) -> list[RetentionSums]:
        """:func:`~retention_xl.core.subscriptions.retention_sums` of the customers
        paying in each month of ``befores``, with their MRR in ``after`` (one query)."""
        months = [b - _EPOCH_MONTH for b in befores]
        a = after - _EPOCH_MONTH
        pivot = ", ".join(
            f"max(CASE WHEN m = {m} THEN mrr END) AS v{i}" for i, m in enumerate([a, *months])
        )
        sums = []
        for i in range(1, len(months) + 1):
            x, y = f"v{i}", "v0"
            sums += [
                f"coalesce(sum({x}), 0.0)",
                f"coalesce(sum(CASE WHEN {y} > {x} THEN {y} - {x} ELSE 0.0 END), 0.0)",
                f"coalesce(sum(CASE WHEN {y} < {x} THEN {x} - {y} ELSE 0.0 END), 0.0)",
                f"coalesce(sum(CASE WHEN {x} IS NOT NULL AND {y} IS NULL THEN {x} "
                "ELSE 0.0 END), 0.0)",
            ]
        listed = ", ".join(str(m) for m in [a, *months])
        got = [float(v) for v in self.run.one(
            f"SELECT {', '.join(sums)} FROM (SELECT cid, {pivot} FROM {self._cm} "
            f"WHERE m IN ({listed}) GROUP BY cid) p"
        )]  # fmt: skip
        return [(got[k], got[k + 1], got[k + 2], got[k + 3]) for k in range(0, len(got), 4)]

    # -- the core's functions -----------------------------------------------------

    def monthly_mrr(self, *, start: object = None, end: object = None) -> pd.DataFrame:
        """:func:`~retention_xl.core.subscriptions.monthly_mrr` (same arguments but the
        subscriptions, which the engine holds)."""
        first, last = self._range(start, end)
        self._keep_months(first, last)
        try:
            got = self.run.numpy(f"SELECT cid, m, mrr FROM {self._cm} ORDER BY m, cid")
        finally:
            self._drop_months()
        months = np.asarray(got["m"], dtype="int64") + _EPOCH_MONTH
        return pd.DataFrame(
            {
                "customer_id": pd.array(self.ids[np.asarray(got["cid"], dtype="int64")],
                                        dtype="string"),
                "month": _month_start(months).to_numpy(),
                "mrr": np.asarray(got["mrr"], dtype="float64"),
            }
        )  # fmt: skip

    def movements(self, *, start: object = None, end: object = None) -> pd.DataFrame:
        """:func:`~retention_xl.core.subscriptions.subscription_movements`."""
        first, last = self._range(start, end)
        history = min(first, self.default_range()[0])  # months before start still classify
        self._keep_months(history, last)
        try:
            table = self._movement_table(history, last)
        finally:
            self._drop_months()
        return table.iloc[first - history :]

    def kpis(
        self, *, month: object = None, gross_margin: float = 1.0, period_months: int = 12
    ) -> SubscriptionKpis:
        """:func:`~retention_xl.core.subscriptions.subscription_kpis`."""
        check_kpi_arguments(gross_margin, period_months)
        first, last = self.default_range()
        target = (
            _one_month(headline_month(self._subs), "month")
            if month is None
            else _one_month(month, "month")
        )
        first, last = min(first, target), max(last, target)
        self._keep_months(first, last)
        try:
            table = self._movement_table(first, last)
            t = target - first
            befores = [b for b in (target - period_months, target - 1) if b >= first]
            sums = dict(
                zip(befores, self._retention(target, *befores) if befores else [], strict=True)
            )
            period = sums.get(target - period_months)
            monthly = sums.get(target - 1)
        finally:
            self._drop_months()
        return kpis_of_month(
            table, t, period, monthly, gross_margin=gross_margin, period_months=period_months
        )
