"""The headline KPI table: every KPI the articles name, computed once, rated once.

The CLI (``retention-xl kpis`` and ``demo``) prints this table and the workbook's
KPIs sheet shows the same numbers. Each row is computed by the core functions of its
own module; this module only chooses the period and assembles the rows.

Headline period
    The last *complete* calendar period of ``period`` ("Y" by default, "Q" or "M")
    in :func:`~retention_xl.core.periods.period_table`: a period is complete when
    ``as_of`` is on or after its last day. With no complete period, the latest one
    is used and marked partial.

CLV (the articles' formula)
    ``CLV = AOV x purchases per customer per year x lifespan x gross margin`` with
    ``lifespan = 1 / annual churn`` (years). When churn is zero the lifespan is
    undefined and CLV is left blank rather than infinite.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from retention_xl.core import kpis
from retention_xl.core._orderdays import _as_of_day
from retention_xl.core.benchmarks import rate_kpi
from retention_xl.core.customers import customer_summary
from retention_xl.core.periods import period_table
from retention_xl.core.schema import PreparedOrders, prepare_orders
from retention_xl.errors import InputError, OutOfRangeError, RetentionError

__all__ = ["KPI_UNITS", "KpiReport", "OrderTotals", "kpi_report", "order_totals"]

Unit = Literal["count", "currency", "rate", "ratio", "score", "years", "number"]

#: Every key the report may hold, with its unit (how it is formatted).
KPI_UNITS: Mapping[str, Unit] = {
    "customers": "count",
    "orders": "count",
    "revenue": "currency",
    "aov": "currency",
    "purchase_frequency": "number",
    "repeat_rate": "rate",
    "start_customers": "count",
    "new_customers": "count",
    "lost_customers": "count",
    "churn": "rate",
    "crr": "rate",
    "lifespan": "years",
    "clv": "currency",
    "clv_cac": "ratio",
    "at_risk_share": "rate",
    "mrr": "currency",
    "arr": "currency",
    "arpa": "currency",
    "subscribers": "count",
    "logo_churn": "rate",
    "nrr": "rate",
    "grr": "rate",
    "quick_ratio": "ratio",
    "nps": "score",
    "nps_answers": "count",
    "csat": "rate",
    "csat_answers": "count",
}

#: KPIs that FACTS.md section 2 benchmarks (keys of core.benchmarks).
RATED: frozenset[str] = frozenset({"repeat_rate", "clv_cac", "at_risk_share"})


@dataclass(frozen=True)
class KpiReport:
    """The headline KPIs with their benchmark rating.

    ``table`` has one row per KPI (index: the KPI key) with ``value``, ``unit`` and
    ``rating`` (``below`` / ``average`` / ``healthy`` / ``excellent`` or blank).
    """

    table: pd.DataFrame
    period_start: pd.Timestamp | None
    period_end: pd.Timestamp | None
    period_complete: bool
    as_of: pd.Timestamp | None
    notes: tuple[str, ...] = field(default=())
    #: the month of the subscription KPIs (MRR, churn, NRR...): the last complete month
    subscription_month: pd.Timestamp | None = None

    def value(self, key: str) -> float:
        """The value of one KPI, NaN when it could not be computed."""
        if key not in self.table.index:
            return math.nan
        position = list(self.table.index).index(key)
        return float(self.table["value"].to_numpy(dtype="float64")[position])

    def to_records(self) -> list[dict[str, Any]]:
        """Rows as plain dicts (for JSON): key, value (None for NaN), unit, rating."""
        out: list[dict[str, Any]] = []
        for key, row in self.table.iterrows():
            value = float(row["value"])
            out.append(
                {
                    "kpi": str(key),
                    "value": None if math.isnan(value) else value,
                    "unit": str(row["unit"]),
                    "rating": None if row["rating"] == "" else str(row["rating"]),
                }
            )
        return out


def _period_bounds(start: pd.Timestamp, freq: str) -> pd.Timestamp:
    """The last day of the period that starts at ``start``."""
    period = pd.Period(start, freq=freq)
    return pd.Timestamp(period.end_time.normalize())


def _headline_period(
    table: pd.DataFrame, freq: str, as_of: pd.Timestamp
) -> tuple[pd.Timestamp, pd.Timestamp, bool]:
    starts = [pd.Timestamp(s) for s in table.index]
    complete = [s for s in starts if _period_bounds(s, freq) <= as_of]
    if complete:
        start = complete[-1]
        return start, _period_bounds(start, freq), True
    start = starts[-1]
    return start, _period_bounds(start, freq), False


def _safe(func: Any, *args: Any, **kwargs: Any) -> float:
    """A KPI value, or NaN when the core says it is undefined (zero denominators...)."""
    try:
        return float(func(*args, **kwargs))
    except RetentionError:
        return math.nan


@dataclass(frozen=True)
class OrderTotals:
    """What the headline KPIs need from the orders: a few totals and the period table.

    :func:`order_totals` computes it from in-memory orders; an engine (DuckDB) computes
    the same fields in SQL and hands them to :func:`kpi_report`, so the KPIs are
    defined once whatever added the orders up.

    ``as_of`` is the analysis day; ``customers``, ``orders`` (purchases), ``revenue``
    and ``repeat_customers`` (customers with 2+ purchases) add up
    :func:`~retention_xl.core.customers.customer_summary` at ``as_of``; ``aov`` is the
    mean net revenue of every purchase (NaN without one); ``periods`` is
    :func:`~retention_xl.core.periods.period_table` for ``period`` and ``window_days``.
    """

    as_of: pd.Timestamp
    customers: int
    orders: int
    revenue: float
    repeat_customers: int
    aov: float
    periods: pd.DataFrame
    period: str
    window_days: int


def order_totals(
    orders: pd.DataFrame | PreparedOrders,
    *,
    period: str = "Y",
    window_days: int = 365,
    as_of: str | pd.Timestamp | None = None,
) -> OrderTotals:
    """The :class:`OrderTotals` of in-memory orders (what :func:`kpi_report` uses).

    ``as_of`` defaults to the day of the last purchase.
    """
    prepared = prepare_orders(orders)
    if prepared.stats.orders == 0:
        raise InputError("orders has no valid purchase (all cancelled or refunded?)")
    stamp = (
        pd.Timestamp(np.datetime64(_as_of_day(as_of), "D"))
        if as_of is not None
        else pd.Timestamp(prepared.purchases["order_date"].max()).normalize()
    )
    summary = customer_summary(prepared, as_of=stamp)
    return OrderTotals(
        as_of=stamp,
        customers=len(summary),
        orders=int(summary["orders"].sum()),
        revenue=float(summary["revenue"].sum()),
        repeat_customers=int((summary["orders"] >= 2).sum()),
        aov=_safe(kpis.aov, prepared.purchases["revenue"].to_numpy()),
        periods=period_table(prepared, freq=period, window_days=window_days, as_of=stamp),
        period=period,
        window_days=window_days,
    )


def kpi_report(
    orders: pd.DataFrame | PreparedOrders | OrderTotals | None = None,
    subscriptions: pd.DataFrame | None = None,
    survey: pd.DataFrame | None = None,
    *,
    period: Literal["Y", "Q", "M"] = "Y",
    as_of: str | pd.Timestamp | None = None,
    window_days: int = 365,
    cac: float | None = None,
    gross_margin: float = 1.0,
    p_alive: np.ndarray | pd.Series | None = None,
    market: str = "eu",
    subscription_engine: Any = None,
) -> KpiReport:
    """Compute the headline KPI table from tidy frames.

    Parameters
    ----------
    orders, subscriptions, survey
        Canonical frames (see :mod:`retention_xl.core.schema`); any may be None.
        ``orders`` may also be the :class:`OrderTotals` an engine computed (for the
        same ``period`` and ``window_days``).
    period
        Calendar period of the churn/retention rows: "Y", "Q" or "M".
    as_of
        The date the analysis is made (default: the last order date).
    window_days
        A customer is active on a day when they bought in the ``window_days`` before.
    cac
        Customer acquisition cost, for CLV:CAC (omitted when None).
    gross_margin
        Fraction 0..1 applied to CLV.
    p_alive
        Per-customer probabilities of being alive (from a fitted model) for the
        at-risk share; omitted when None.
    subscription_engine
        What holds ``subscriptions`` in an SQL engine: its ``kpis(month=...,
        gross_margin=...)`` replaces :func:`~retention_xl.core.subscriptions.subscription_kpis`
        (same definitions, computed where the data is); None: the core.

    Examples
    --------
    >>> from retention_xl.datasets import load_sample  # doctest: +SKIP
    >>> kpi_report(load_sample().orders).value("repeat_rate")  # doctest: +SKIP
    0.31...
    """
    if period not in ("Y", "Q", "M"):
        raise InputError(f"period must be 'Y', 'Q' or 'M', got {period!r}", argument="period")
    _check_cac(cac)
    rows: dict[str, float] = {}
    headline = _Headline()
    if orders is not None:
        totals = (
            orders
            if isinstance(orders, OrderTotals)
            else order_totals(orders, period=period, window_days=window_days, as_of=as_of)
        )
        headline = _order_rows(rows, totals, period, window_days, cac, gross_margin)
    if p_alive is not None:
        rows["at_risk_share"] = _safe(kpis.at_risk_share, np.asarray(p_alive, dtype=float))
    sub_month = None
    if subscriptions is not None:
        sub_month = _subscription_rows(
            rows, subscriptions, as_of, gross_margin, subscription_engine
        )
    if survey is not None:
        _survey_rows(rows, survey)
    if not rows:
        raise InputError("give at least one of orders, subscriptions or survey")
    return KpiReport(
        table=_rated_table(rows, market),
        period_start=headline.start,
        period_end=headline.end,
        period_complete=headline.complete,
        as_of=headline.as_of,
        notes=tuple(headline.notes),
        subscription_month=sub_month,
    )


@dataclass
class _Headline:
    """The headline period of the order KPIs (none without orders)."""

    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    complete: bool = True
    as_of: pd.Timestamp | None = None
    notes: list[str] = field(default_factory=list)


def _check_cac(cac: float | None) -> None:
    if cac is not None and (
        isinstance(cac, bool)
        or not isinstance(cac, (int, float, np.integer, np.floating))
        or not math.isfinite(cac)
        or cac <= 0
    ):
        raise OutOfRangeError(
            f"cac must be a positive amount (the cost of acquiring one customer), got {cac!r}",
            argument="cac",
        )


def _order_rows(
    rows: dict[str, float],
    totals: OrderTotals,
    period: str,
    window_days: int,
    cac: float | None,
    gross_margin: float,
) -> _Headline:
    """The order KPIs into ``rows``: totals over all time, the headline period's
    customer flows and churn, and CLV from that period (see :func:`kpi_report`)."""
    if totals.period != period or totals.window_days != window_days:
        raise InputError(
            f"the order totals were computed for period {totals.period!r} and a "
            f"{totals.window_days}-day window, not {period!r} and {window_days}",
            argument="orders",
        )
    stamp = totals.as_of
    n_customers, n_orders = totals.customers, totals.orders
    rows["customers"] = float(n_customers)
    rows["orders"] = float(n_orders)
    rows["revenue"] = totals.revenue
    rows["aov"] = totals.aov
    rows["purchase_frequency"] = _safe(kpis.purchase_frequency, n_orders, n_customers)
    rows["repeat_rate"] = _safe(kpis.repeat_purchase_rate, totals.repeat_customers, n_customers)
    table = totals.periods
    p_start, p_end, complete = _headline_period(table, period, stamp)
    row: dict[str, float] = {str(k): float(v) for k, v in table.loc[p_start].to_dict().items()}
    rows["start_customers"] = float(row["start_customers"])
    rows["new_customers"] = float(row["new"])
    rows["lost_customers"] = float(row["lost"])
    rows["churn"] = float(row["churn"])
    rows["crr"] = float(row["crr"])
    notes = []
    if not complete:
        notes.append(f"period starting {p_start.date()} is not complete at {stamp.date()}")
    # CLV in years: AOV x purchases per buyer per year x 1 / annual churn x margin.
    years = {"Y": 1.0, "Q": 0.25, "M": 1.0 / 12.0}[period]
    annual_churn = 1.0 - (1.0 - rows["churn"]) ** (1.0 / years)
    rows["lifespan"] = _safe(kpis.lifespan, annual_churn) if annual_churn > 0 else math.nan
    per_year = _safe(kpis.purchase_frequency, float(row["orders"]), float(row["buyers"]))
    period_aov = float(row["aov"]) if row["orders"] else math.nan
    if any(math.isnan(v) for v in (rows["lifespan"], per_year, period_aov)):
        rows["clv"] = math.nan
    else:
        rows["clv"] = float(kpis.clv(period_aov, per_year / years, rows["lifespan"], gross_margin))
    if cac is not None:
        rows["clv_cac"] = (
            math.nan if math.isnan(rows["clv"]) else _safe(kpis.clv_cac_ratio, rows["clv"], cac)
        )
    return _Headline(start=p_start, end=p_end, complete=complete, as_of=stamp, notes=notes)


def _subscription_rows(
    rows: dict[str, float],
    subscriptions: pd.DataFrame,
    as_of: str | pd.Timestamp | None,
    gross_margin: float,
    engine: Any = None,
) -> pd.Timestamp:
    """The subscription KPIs of the headline month into ``rows``; returns the month."""
    from retention_xl.core.subscriptions import headline_month, subscription_kpis

    month = headline_month(subscriptions, as_of)  # --as-of, else the latest event
    if engine is None:
        sub = subscription_kpis(subscriptions, gross_margin=gross_margin, month=month)
    else:  # the same KPIs, computed where an SQL engine holds the subscriptions
        sub = engine.kpis(gross_margin=gross_margin, month=month)
    for key in ("mrr", "arr", "arpa", "logo_churn", "nrr", "grr", "quick_ratio"):
        if key in sub:
            rows[key] = float(sub[key])
    if "customers" in sub:
        rows["subscribers"] = float(sub["customers"])
    return month


def _survey_rows(rows: dict[str, float], survey: pd.DataFrame) -> None:
    """NPS and CSAT over every answer, with their counts, into ``rows``."""
    from retention_xl.core.survey import survey_summary

    first = survey_summary(survey, freq=None).iloc[0]
    rows["nps"] = float(first["nps"])
    rows["nps_answers"] = float(first["answers"])
    rows["csat"] = float(first["csat"])
    rows["csat_answers"] = float(first["csat_answers"])


def _rated_table(rows: dict[str, float], market: str) -> pd.DataFrame:
    """The KPI table in :data:`KPI_UNITS` order, each with its unit and benchmark rating."""
    keys = [k for k in KPI_UNITS if k in rows]
    ratings = [
        rate_kpi(k, rows[k], market=market) if k in RATED and not math.isnan(rows[k]) else ""
        for k in keys
    ]
    return pd.DataFrame(
        {"value": [rows[k] for k in keys], "unit": [KPI_UNITS[k] for k in keys], "rating": ratings},
        index=pd.Index(keys, name="kpi"),
    )
