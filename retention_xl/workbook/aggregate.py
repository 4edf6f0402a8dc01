"""Aggregate reports: workbooks of shops beyond a sheet's rows.

A sheet holds 1,048,575 data rows. When the orders (counted once per order id) or the
customers with a purchase do not fit, ``build`` with the DuckDB engine writes an
**aggregate report** instead of refusing; :func:`aggregate_reason` decides it from the
counts the import already made, before any order is loaded or any model fitted:

* no Orders tab: the KPIs sheet reads aggregate tables, not raw rows. Orders, customers,
  repeat rate, orders per customer and AOV sum the per-cohort table (the Cohorts
  sheet's "all cohorts" block: per monthly cohort its customers, purchases, repeat
  customers, revenue and purchase revenue, computed in SQL), revenue sums the Monthly
  tab, the at-risk share divides the cohorts' customers at risk by those scored; churn,
  retention and CLV read the Periods tab as in every report;
* the Customers sheet (and the Segments list) holds the customers a marketer acts on,
  at most ``customer_limit`` (:mod:`~retention_xl.workbook.actionable` states the rule);
  the Segments summary counts every customer (values);
* every customer, scored, is written beside the workbook as ``<book>_customers.parquet``
  (:func:`side_file`), batch by batch (:func:`~retention_xl.engines.scoring.predict_in_batches`),
  with the models fitted on the distinct histories.

Only tables the size of the periods, the cohorts and the listed customers are laid out;
the customer summary (one row per customer, numbers only) is the one all-customer frame,
for the RFM segments.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from retention_xl.core.cohorts import matrix_of_counts
from retention_xl.core.customers import rfm_from_summary, segment_summary
from retention_xl.errors import ConvergenceError, InputError, NotEnoughDataError
from retention_xl.io.report import ImportReport
from retention_xl.workbook.actionable import AT_RISK_BELOW, ActionablePicker
from retention_xl.workbook.data import (
    COHORT_ROWS,
    MAX_OFFSET,
    ReportData,
    Settings,
    _check_settings,
    add_other_inputs,
    enrichment_for,
    finish_report,
)

__all__ = ["SIDE_COLUMNS", "aggregate_reason", "compute_aggregate_data", "side_file"]

#: The customer summary's columns written beside the predictions in the side file.
SIDE_COLUMNS = ("first_order", "last_order", "orders", "revenue")


def side_file(book: str | Path) -> Path:
    """The file beside ``book`` that lists every customer of an aggregate report.

    >>> side_file("out/report.xlsx").as_posix()
    'out/report_customers.parquet'
    """
    p = Path(book)
    return p.with_name(f"{p.stem}_customers.parquet")


def aggregate_reason(
    orders: int, customers: int, *, row_limit: int, customer_limit: int
) -> str | None:
    """Why a report of ``orders`` orders and ``customers`` customers must be aggregate
    (None when every order fits the Orders tab and every customer the Customers sheet).

    >>> aggregate_reason(2_000_000, 500_000, row_limit=1_048_575, customer_limit=1_048_563)
    'orders has 2,000,000 orders, more than a sheet holds (1,048,575 data rows)'
    >>> aggregate_reason(10, 5, row_limit=1_048_575, customer_limit=1_048_563) is None
    True
    """
    if orders > row_limit:
        return f"orders has {orders:,} orders, more than a sheet holds ({row_limit:,} data rows)"
    if customers > customer_limit:
        return (
            f"orders has {customers:,} customers with a purchase, more than a sheet can list "
            f"({customer_limit:,})"
        )
    return None


def _cohort_rows(first_order: pd.Series, cohorts: pd.DatetimeIndex) -> np.ndarray:
    """The row of ``cohorts`` (first days of months) of each customer's first order."""
    months = first_order.to_numpy().astype("datetime64[M]").astype("datetime64[ns]")
    return np.searchsorted(cohorts.to_numpy(), months).astype(np.int64)


def compute_aggregate_data(
    engine: Any,
    subscriptions: pd.DataFrame | None,
    survey: pd.DataFrame | None,
    settings: Settings,
    *,
    scores_path: Path,
    side_name: str,
    reports: Mapping[str, ImportReport] | None = None,
    customers: pd.DataFrame | None = None,
    notes: list[str] | None = None,
    subscription_engine: Any = None,
) -> ReportData:
    """Everything an aggregate report shows, from a DuckDB engine, and every customer
    scored into ``scores_path`` (Parquet whatever its suffix: a temporary file; the
    sheets name the final file ``side_name``).

    The models are fitted on the engine's distinct histories; when they cannot be
    (:class:`~retention_xl.errors.ConvergenceError`,
    :class:`~retention_xl.errors.NotEnoughDataError`) the side file holds the customer
    summary only, the at-risk share is blank and the reason goes to ``notes``.
    """
    _check_settings(settings)
    data = ReportData(settings=settings, reports=dict(reports or {}))
    as_of = engine.last_order_date()
    summary = None if as_of is None else engine.customer_summary(as_of=as_of)
    if as_of is None or summary is None or summary.empty:
        raise InputError("orders has no valid purchase (all cancelled or refunded?)")
    data.as_of = as_of
    rfm = rfm_from_summary(summary)
    data.segments = segment_summary(rfm)
    _period_and_cohort_tables(data, engine, settings)
    by_cohort = engine.cohort_totals(as_of=as_of)
    scoring = _Scoring(summary, by_cohort, limit=settings.customer_limit)
    scoring.run(engine, settings, as_of=as_of, scores_path=scores_path, notes=notes)
    table = by_cohort.copy()
    table["scored"] = scoring.scored
    table["at_risk"] = scoring.at_risk
    data.cohort_totals = table
    chosen = scoring.picker.chosen()
    ids = chosen.index
    data.summary = summary.loc[ids]
    data.rfm = rfm.loc[ids]
    data.listed_as = chosen["listed_as"].astype(object)
    data.all_customers = len(summary)
    data.side_file = side_name
    result = scoring.result
    if result is not None:
        data.predicted = chosen.drop(columns=["listed_as", *SIDE_COLUMNS])
        data.p_alive = chosen["p_alive"].astype("float64")
        data.model_parameters = result.parameters
        data.model_settings = {
            "horizon_days": 365.0,
            "margin": float(settings.gross_margin),
            "discount_rate": float(settings.discount_rate),
            "time_unit_days": 7.0,
            "at_risk_share": float(result.at_risk_share),
        }
    if customers is not None:
        data.enrichment = enrichment_for(data.summary.index, customers)
    add_other_inputs(data, subscriptions, survey, subscription_engine=subscription_engine)
    totals = engine.order_totals(
        period=settings.period, window_days=settings.window_days, as_of=as_of
    )
    finish_report(data, totals, np.concatenate(scoring.p_parts) if scoring.p_parts else None)
    return data


def _period_and_cohort_tables(data: ReportData, engine: Any, settings: Settings) -> None:
    """The period tables (the report's period and monthly) and the monthly cohort
    matrices of ``engine``, as far as the sheets show them, into ``data``."""
    as_of = data.as_of
    data.periods = engine.period_table(
        freq=settings.period, window_days=settings.window_days, as_of=as_of
    )
    data.monthly = engine.period_table(freq="M", window_days=settings.window_days, as_of=as_of)
    counts = engine.cohort_counts(measure="customers", period="M", as_of=as_of)
    revenue = engine.cohort_counts(measure="revenue", period="M", as_of=as_of)
    data.cohort_customers = matrix_of_counts(counts).iloc[-COHORT_ROWS:, : MAX_OFFSET + 1]
    data.cohort_revenue = matrix_of_counts(revenue).iloc[-COHORT_ROWS:, : MAX_OFFSET + 1]
    data.cohort_sizes = counts["size"].iloc[-COHORT_ROWS:]


class _Scoring:
    """One pass over every customer: scored in batches by the engine and written to the
    side file, counted per cohort (scored, at risk), offered to the actionable list.

    Without a fitted model (it could not be fitted) the customer summary alone goes
    through, in slices, and ``result`` stays None.
    """

    #: customers per slice of the summary when there are no scores
    SLICE = 131_072

    def __init__(self, summary: pd.DataFrame, by_cohort: pd.DataFrame, *, limit: int) -> None:
        self.summary = summary
        self.side = summary[list(SIDE_COLUMNS)]
        self.rows = _cohort_rows(summary["first_order"], pd.DatetimeIndex(by_cohort.index))
        self.scored = np.zeros(len(by_cohort), dtype=np.int64)
        self.at_risk = np.zeros(len(by_cohort), dtype=np.int64)
        self.picker = ActionablePicker(limit=limit)
        self.p_parts: list[np.ndarray] = []
        self.result: Any = None

    def run(
        self,
        engine: Any,
        settings: Settings,
        *,
        as_of: Any,
        scores_path: Path,
        notes: list[str] | None,
    ) -> None:
        """Score (or slice) every customer into ``scores_path`` (Parquet)."""
        from retention_xl.engines.scoring import predict_in_batches, write_batches

        batches: Iterator[pd.DataFrame] = iter(())
        try:
            self.result, batches = predict_in_batches(
                engine,
                as_of=as_of,
                margin=settings.gross_margin,
                discount_rate=settings.discount_rate,
            )
        except (ConvergenceError, NotEnoughDataError) as exc:
            self.result = None
            message = f"customers at risk left blank: the BG/NBD model could not be fitted: {exc}"
            if notes is not None:
                notes.append(message)
        parts = self._slices() if self.result is None else self._scored(batches)
        write_batches(parts, scores_path, ".parquet")

    def _slices(self) -> Iterator[pd.DataFrame]:
        for start in range(0, len(self.side), self.SLICE):
            part = self.side.iloc[start : start + self.SLICE]
            self.picker.add(part)
            yield part

    def _scored(self, batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            pos = self.summary.index.get_indexer(batch.index)
            if (pos < 0).any():  # pragma: no cover - the engine's histories and summary agree
                raise InputError("the scored customers differ from the customer summary")
            p = batch["p_alive"].to_numpy(dtype=np.float64)
            rows = self.rows[pos]
            np.add.at(self.scored, rows, 1)
            with np.errstate(invalid="ignore"):
                np.add.at(self.at_risk, rows[p < AT_RISK_BELOW], 1)
            self.p_parts.append(p)
            full = batch.join(self.side.iloc[pos].set_axis(batch.index))
            self.picker.add(full)
            yield full
