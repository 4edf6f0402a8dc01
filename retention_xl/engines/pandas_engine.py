"""The pandas engine: the core's functions on the orders held in memory."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from retention_xl.core.cohorts import cohort_counts, cohort_matrix
from retention_xl.core.customers import customer_summary
from retention_xl.core.periods import period_table
from retention_xl.core.report import OrderTotals, order_totals
from retention_xl.core.schema import PreparedOrders, prepare_orders
from retention_xl.engines.base import BATCH_ROWS, HistoryGroups

__all__ = ["PandasEngine"]


class PandasEngine:
    """Aggregations of canonical orders in memory (an :class:`~.base.OrderEngine`).

    The orders are prepared once (:func:`~retention_xl.core.schema.prepare_orders`)
    and every aggregation is the core's own function on them.
    """

    name = "pandas"

    def __init__(self, orders: pd.DataFrame, *, prepared: PreparedOrders | None = None) -> None:
        self._orders = orders
        self._prepared = prepared  # the same orders already prepared, if the caller has them

    @property
    def prepared(self) -> PreparedOrders:
        """The orders after deduplication and the refund rule."""
        if self._prepared is None:
            self._prepared = prepare_orders(self._orders)
        return self._prepared

    def frame(self) -> pd.DataFrame:
        return self._orders

    def order_totals(self, *, period: str, window_days: int, as_of: Any = None) -> OrderTotals:
        return order_totals(self.prepared, period=period, window_days=window_days, as_of=as_of)

    def customer_summary(self, *, as_of: Any = None) -> pd.DataFrame:
        return customer_summary(self.prepared, as_of=as_of)

    def period_table(
        self,
        *,
        freq: str = "M",
        window_days: int = 365,
        as_of: Any = None,
        same_period_churn: bool = False,
    ) -> pd.DataFrame:
        return period_table(
            self.prepared,
            freq=freq,
            window_days=window_days,
            as_of=as_of,
            same_period_churn=same_period_churn,
        )

    def _history(self, as_of: Any, time_unit_days: float) -> pd.DataFrame:
        # the models (and scipy) load only for the commands that predict
        from retention_xl.core.models.history import purchase_history

        return purchase_history(self.prepared, as_of=as_of, time_unit_days=time_unit_days)

    def history_groups(self, *, as_of: Any = None, time_unit_days: float = 7.0) -> HistoryGroups:
        from retention_xl.core.models._base import distinct_rows

        h = self._history(as_of, time_unit_days)
        x = h["frequency"].to_numpy(dtype=np.float64)
        tx = h["recency"].to_numpy(dtype=np.float64)
        big_t = h["age"].to_numpy(dtype=np.float64)
        m = h["monetary_value"].to_numpy(dtype=np.float64)
        (gx, gtx, gt), counts = distinct_rows(x, tx, big_t)
        repeat = x > 0
        (sx, sm), spend_counts = distinct_rows(x[repeat], m[repeat])
        first = h["first_order"].to_numpy().astype("datetime64[D]").astype(np.int64)
        end = (first + np.rint(big_t * time_unit_days).astype(np.int64)).max() if len(h) else 0
        return HistoryGroups(
            x=gx,
            recency=gtx,
            age=gt,
            counts=counts,
            spend_x=sx,
            spend_m=sm,
            spend_counts=spend_counts,
            as_of=pd.Timestamp(np.datetime64(int(end), "D")),
            customers=len(h),
        )

    def histories(
        self, *, as_of: Any = None, time_unit_days: float = 7.0, batch_rows: int = BATCH_ROWS
    ) -> Iterator[pd.DataFrame]:
        h = self._history(as_of, time_unit_days)[["frequency", "recency", "age", "monetary_value"]]
        for start in range(0, len(h), batch_rows):
            yield h.iloc[start : start + batch_rows]

    def cohort_counts(
        self,
        *,
        measure: Any = "customers",
        period: str = "M",
        as_of: Any = None,
        max_offset: int | None = None,
    ) -> pd.DataFrame:
        """:func:`~retention_xl.core.cohorts.cohort_counts` of the orders."""
        return cohort_counts(
            self.prepared, measure=measure, period=period, as_of=as_of, max_offset=max_offset
        )

    def cohort_matrix(
        self,
        *,
        measure: Any = "customers",
        period: str = "M",
        as_of: Any = None,
        max_offset: int | None = None,
    ) -> pd.DataFrame:
        """:func:`~retention_xl.core.cohorts.cohort_matrix` of the orders."""
        return cohort_matrix(
            self.prepared, measure=measure, period=period, as_of=as_of, max_offset=max_offset
        )

    def close(self) -> None:
        self._prepared = None
