"""What every engine answers, and how one is chosen for a source.

:class:`OrderEngine` is the small interface the commands use; :func:`choose_engine`
turns ``--engine auto|pandas|duckdb|spark`` and the source into the engine's name.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from retention_xl.engines.sources import CSV_SUFFIXES, ENGINES, OrdersSource
from retention_xl.errors import InputError

__all__ = ["ENGINES", "HistoryGroups", "OrderEngine", "choose_engine"]

#: customers scored per batch by default (the DuckDB engine's Arrow batches)
BATCH_ROWS = 131_072


@dataclass(frozen=True, slots=True)
class HistoryGroups:
    """The sufficient statistics of the models: distinct histories and their counts.

    ``x``, ``recency``, ``age`` (time units) and ``counts`` are the distinct
    ``(frequency, recency, age)`` rows in lexicographic order, as
    :func:`~retention_xl.core.models._base.distinct_rows` gives them;
    ``spend_x``, ``spend_m``, ``spend_counts`` the distinct ``(frequency,
    monetary_value)`` rows of the repeat buyers. ``as_of`` is the observation day,
    ``customers`` the number of customers.
    """

    x: npt.NDArray[np.float64]
    recency: npt.NDArray[np.float64]
    age: npt.NDArray[np.float64]
    counts: npt.NDArray[np.float64]
    spend_x: npt.NDArray[np.float64]
    spend_m: npt.NDArray[np.float64]
    spend_counts: npt.NDArray[np.float64]
    as_of: pd.Timestamp
    customers: int


class OrderEngine(Protocol):
    """The aggregations of one source's checked orders (see :mod:`retention_xl.engines`)."""

    name: str

    def frame(self) -> pd.DataFrame:
        """Every checked order as the canonical frame (in memory)."""
        ...

    def order_totals(self, *, period: str, window_days: int, as_of: Any = None) -> Any:
        """The :class:`~retention_xl.core.report.OrderTotals` of the headline KPIs."""
        ...

    def customer_summary(self, *, as_of: Any = None) -> pd.DataFrame:
        """:func:`~retention_xl.core.customers.customer_summary`."""
        ...

    def period_table(
        self,
        *,
        freq: str = "M",
        window_days: int = 365,
        as_of: Any = None,
        same_period_churn: bool = False,
    ) -> pd.DataFrame:
        """:func:`~retention_xl.core.periods.period_table`."""
        ...

    def history_groups(self, *, as_of: Any = None, time_unit_days: float = 7.0) -> HistoryGroups:
        """The distinct histories the models are fitted on."""
        ...

    def histories(
        self, *, as_of: Any = None, time_unit_days: float = 7.0, batch_rows: int = BATCH_ROWS
    ) -> Iterator[pd.DataFrame]:
        """Per-customer histories (``frequency``, ``recency``, ``age``,
        ``monetary_value``, indexed by ``customer_id`` in id order), in batches."""
        ...

    def close(self) -> None:
        """Free what the engine holds."""
        ...


def choose_engine(engine: str | None, source: OrdersSource) -> str:
    """``"pandas"`` or ``"duckdb"`` for ``--engine`` and the source.

    ``auto`` picks DuckDB for Parquet files and DuckDB tables, pandas for CSV and XLSX
    exports. DuckDB reads CSV files too (canonical layout: ISO dates, ``.`` decimals),
    not XLSX workbooks.

    >>> from retention_xl.engines.sources import parse_orders_source
    >>> choose_engine("auto", parse_orders_source("lake/*.parquet", check=False))
    'duckdb'
    """
    name = (engine or "auto").strip().lower()
    if name not in ENGINES:
        raise InputError(
            f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}", argument="engine"
        )
    if name == "auto":
        return "duckdb" if source.is_lake else "pandas"
    if (
        name in ("duckdb", "spark")
        and source.kind == "export"
        and source.path.suffix.lower() not in CSV_SUFFIXES
    ):
        raise InputError(
            f"--engine {name} reads Parquet files, CSV files and DuckDB tables, not "
            f"{source.label}: read it with --engine pandas (or auto)",
            argument="engine",
        )
    return name
