"""Everything the workbook shows, computed once by the core: :func:`compute_report_data`.

The sheets never compute a number themselves: they lay out what this module got from
:mod:`retention_xl.core` (KPI report, customer summary, RFM and segments, period tables,
cohorts, MRR movements, survey summary, benchmarks) and write formulas whose cached
values are these numbers.

The analysis date (``as_of``) of a report is the last date in its Orders tab (any row,
cancelled or refunded included), so the KPIs sheet can recompute it with
``MAX(Orders_order_date)``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import numpy as np
import pandas as pd

from retention_xl.core.cohorts import cohort_matrix
from retention_xl.core.customers import rfm_from_summary, segment_summary
from retention_xl.core.report import KpiReport, kpi_report
from retention_xl.core.schema import (
    PreparedOrders,
    prepare_orders,
    validate_orders,
    validate_subscriptions,
    validate_survey,
)
from retention_xl.errors import ConvergenceError, InputError, NotEnoughDataError, OutOfRangeError
from retention_xl.io.report import ImportReport

__all__ = [
    "COHORT_ROWS",
    "HOLDOUT_MIN_WEEKS",
    "HOLDOUT_WEEKS",
    "MAX_OFFSET",
    "PERIOD_YEARS",
    "HoldoutCheck",
    "ReportData",
    "Settings",
    "compute_report_data",
    "default_holdout_weeks",
    "holdout_check",
    "period_kpis",
]

#: Length of a period in years, for the CLV of :func:`~retention_xl.core.report.kpi_report`.
PERIOD_YEARS: Final = {"Y": 1.0, "Q": 0.25, "M": 1.0 / 12.0}
#: Cohorts (latest) and offsets the Cohorts sheet shows: fixed blocks.
COHORT_ROWS: Final = 60
MAX_OFFSET: Final = 60

#: Weeks of the Predictions sheet's holdout block (its chart range): the longest holdout.
HOLDOUT_WEEKS: Final = 52
#: The shortest holdout worth checking; shorter histories get a note instead.
HOLDOUT_MIN_WEEKS: Final = 8
#: Share of the observed span held out (the last quarter).
HOLDOUT_SHARE: Final = 0.25

DEFAULT_TARGETS: Final = {
    "Target_RepeatRate": 0.30,
    "Target_ClvCac": 4.0,
    "Target_AtRiskShare": 0.18,
    "Target_Churn": None,
    "Target_NPS": None,
}


@dataclass(frozen=True, slots=True)
class Settings:
    """The user's choices: the KPIs sheet's inputs and the build options.

    ``period`` is the calendar period of churn and retention (``"Y"``, ``"Q"``,
    ``"M"``); ``input_period`` the first day of the period the KPIs sheet shows (default:
    the last complete one, as :func:`~retention_xl.core.report.kpi_report`). ``targets``
    maps the ``Target_*`` input names to values (None: no target). ``no_raw`` leaves the
    raw tabs empty (for exports larger than a sheet). ``row_limit`` is the most data
    rows one sheet may take (a sheet's limit; smaller in tests).
    """

    period: Literal["Y", "Q", "M"] = "Y"
    input_period: dt.date | None = None
    window_days: int = 365
    cac: float | None = None
    gross_margin: float = 1.0
    discount_rate: float = 0.10
    targets: Mapping[str, float | None] = field(default_factory=lambda: dict(DEFAULT_TARGETS))
    market: str = "eu"
    no_raw: bool = False
    row_limit: int = 1_048_575
    currency: str = "EUR"
    #: an aggregate report (orders or customers beyond a sheet): no Orders tab, KPIs over
    #: the per-period and per-cohort tables, ``customer_limit`` customers listed
    aggregate: bool = False
    customer_limit: int = 50_000

    def target(self, name: str) -> float | None:
        """The value of one ``Target_*`` input (None when unset)."""
        merged = {**DEFAULT_TARGETS, **dict(self.targets)}
        value = merged.get(name)
        return None if value is None else float(value)


def default_holdout_weeks(span_days: float) -> int | None:
    """Weeks of the default holdout for ``span_days`` of history (None: too short).

    The last quarter of the span from the first purchase to the analysis date, in whole
    weeks, at least :data:`HOLDOUT_MIN_WEEKS` and at most :data:`HOLDOUT_WEEKS`:
    ``weeks = min(floor(span_days * 0.25 / 7), 52)``, None when below 8 (a history
    shorter than 32 weeks).

    >>> default_holdout_weeks(730), default_holdout_weeks(200), default_holdout_weeks(3000)
    (26, None, 52)
    """
    weeks = math.floor(float(span_days) * HOLDOUT_SHARE / 7.0 + 1e-9)
    if weeks < HOLDOUT_MIN_WEEKS:
        return None
    return min(weeks, HOLDOUT_WEEKS)


@dataclass(frozen=True, slots=True)
class HoldoutCheck:
    """The calibration/holdout check of the report (see :func:`holdout_check`).

    ``status`` is ``"ok"`` (``comparison`` holds the
    :class:`~retention_xl.core.models.HoldoutComparison`), ``"short"`` (the history
    of ``span_weeks`` weeks is too short for a holdout) or ``"failed"`` (the model
    could not be fitted on the calibration orders; ``reason`` says why).
    """

    status: Literal["ok", "short", "failed"]
    span_weeks: float
    weeks: int | None = None
    comparison: Any = None
    reason: str = ""


def holdout_check(
    prepared: PreparedOrders,
    as_of: pd.Timestamp,
    *,
    model: str = "bgnbd",
    time_unit_days: float = 7.0,
) -> HoldoutCheck:
    """Fit the purchase model on all but the last quarter of the history and compare.

    :func:`~retention_xl.core.models.holdout_comparison` with the holdout of
    :func:`default_holdout_weeks` ending at ``as_of``. Too short a history, or a
    calibration part the model cannot be fitted on
    (:class:`~retention_xl.errors.ConvergenceError`,
    :class:`~retention_xl.errors.NotEnoughDataError`), gives a check without a
    comparison, never an error.
    """
    from retention_xl.core.models import holdout_comparison

    first = pd.Timestamp(prepared.purchases["order_date"].min()).normalize()
    span_days = float((as_of - first).days)
    span_weeks = span_days / 7.0
    weeks = default_holdout_weeks(span_days)
    if weeks is None:
        return HoldoutCheck(status="short", span_weeks=span_weeks)
    try:
        comparison = holdout_comparison(
            prepared,
            holdout_weeks=weeks,
            holdout_end=as_of,
            model=model,
            time_unit_days=time_unit_days,
        )
    except (ConvergenceError, NotEnoughDataError) as exc:
        return HoldoutCheck(status="failed", span_weeks=span_weeks, weeks=weeks, reason=str(exc))
    return HoldoutCheck(status="ok", span_weeks=span_weeks, weeks=weeks, comparison=comparison)


@dataclass(slots=True)
class ReportData:
    """The core's results for one report (None / empty where an input is missing)."""

    settings: Settings
    orders: pd.DataFrame | None = None  #: the Orders tab: deduplicated, normalised
    prepared: PreparedOrders | None = None
    as_of: pd.Timestamp | None = None
    report: KpiReport | None = None
    summary: pd.DataFrame | None = None
    rfm: pd.DataFrame | None = None
    segments: pd.DataFrame | None = None
    periods: pd.DataFrame | None = None
    monthly: pd.DataFrame | None = None
    cohort_customers: pd.DataFrame | None = None
    cohort_revenue: pd.DataFrame | None = None
    cohort_sizes: pd.Series | None = None
    subscriptions: pd.DataFrame | None = None
    movements: pd.DataFrame | None = None
    sub_kpis: Mapping[str, Any] | None = None
    #: what computes the subscriptions' MRR, movements and KPIs (an SQL engine's
    #: :class:`~retention_xl.engines.subscription_sql.SqlSubscriptions`); None: the core
    subscription_engine: Any = None
    survey: pd.DataFrame | None = None
    survey_overall: pd.Series | None = None
    p_alive: pd.Series | None = None
    #: the models' per-customer predictions aligned to ``summary`` (None without them)
    predicted: pd.DataFrame | None = None
    #: totals of the next year over all customers, with ``value``, ``low``, ``high``
    prediction_totals: pd.DataFrame | None = None
    #: the models' fitted parameters (model, parameter, value, se)
    model_parameters: pd.DataFrame | None = None
    model_settings: dict[str, float] = field(default_factory=dict)
    #: the calibration/holdout check of the purchase model (None without the models)
    holdout: HoldoutCheck | None = None
    reports: dict[str, ImportReport] = field(default_factory=dict)
    #: enrichment columns aligned to ``summary`` (see :func:`enrichment_for`), or None
    enrichment: pd.DataFrame | None = None
    chosen_period: pd.Timestamp | None = None
    #: aggregate reports: per monthly cohort, the totals of its customers (customers,
    #: orders, repeat_customers, revenue, purchase_revenue, scored, at_risk)
    cohort_totals: pd.DataFrame | None = None
    #: aggregate reports: why each listed customer is listed (aligned to ``summary``)
    listed_as: pd.Series | None = None
    #: aggregate reports: customers in all, and the file holding every one of them
    all_customers: int = 0
    side_file: str = ""

    def kpi(self, key: str) -> float:
        """A headline KPI of the report (NaN when not computed)."""
        return math.nan if self.report is None else self.report.value(key)


def normalised_orders(orders: pd.DataFrame) -> pd.DataFrame:
    """The Orders tab: validated orders without repeated order ids, normalised.

    Every column of the canonical schema is present (``refunded`` 0, ``status``
    ``paid``, ``currency`` blank when the export has none). ``status`` is normalised so
    that a row counts as a purchase exactly when its status is ``paid`` and its amount
    is positive: a paid row whose refunds reach its amount becomes ``refunded`` (the
    core already treats it so). Rows are sorted by date, then order id.
    """
    df = validate_orders(orders)
    df = df[~df["order_id"].duplicated(keep="first").to_numpy()]
    n = len(df)
    amount = df["amount"].to_numpy(dtype="float64")
    refunded = (
        df["refunded"].to_numpy(dtype="float64")
        if "refunded" in df.columns
        else np.zeros(n, dtype="float64")
    )
    status = (
        np.array(df["status"].astype(object).to_numpy(), dtype=object)
        if "status" in df.columns
        else np.full(n, "paid", dtype=object)
    )
    status[(status == "paid") & (amount > 0) & (amount - refunded <= 0)] = "refunded"
    out = pd.DataFrame(
        {
            "customer_id": df["customer_id"].to_numpy(dtype=object),
            "order_id": df["order_id"].to_numpy(dtype=object),
            "order_date": df["order_date"].to_numpy(),
            "amount": amount,
            "refunded": refunded,
            "status": status,
            "currency": (
                df["currency"].astype(object).to_numpy()
                if "currency" in df.columns
                else np.full(n, None, dtype=object)
            ),
        }
    )
    if not _in_date_order(out):
        out = out.sort_values(["order_date", "order_id"], kind="stable").reset_index(drop=True)
    return out


def _in_date_order(orders: pd.DataFrame) -> bool:
    """Whether the rows already follow ``order_date``, then ``order_id``: sorting them
    (stable) would give the same frame, so it is skipped (most exports come in date
    order; sorting a million string ids costs more than this check).

    >>> frame = pd.DataFrame({"order_date": pd.to_datetime(["2024-01-01", "2024-01-01",
    ...     "2024-01-02"]), "order_id": ["a2", "a3", "a1"]})
    >>> _in_date_order(frame), _in_date_order(frame.iloc[[1, 0, 2]])
    (True, False)
    """
    dates = orders["order_date"].to_numpy()
    if len(dates) < 2:
        return True
    same = dates[1:] == dates[:-1]
    if not np.all(same | (dates[1:] > dates[:-1])):  # NaT compares false: sorted
        return False
    ids = orders["order_id"].to_numpy(dtype=object)
    try:
        return bool(np.all(np.less_equal(ids[:-1][same], ids[1:][same])))
    except TypeError:  # a missing or non-text id: let the sort decide
        return False


#: The enrichment columns the Customers tab and the Segments list show (all text).
ENRICHMENT_COLUMNS: Final = ("name", "email", "accepts_marketing", "country", "tags")


def enrichment_for(ids: pd.Index, customers: pd.DataFrame) -> pd.DataFrame:
    """The customers export's columns for the customers ``ids`` who ordered.

    A customer is matched on ``customer_id`` (the Customer ID, or the lower-case email
    of exports without it), then on the lower-case ``email``: the Shopify orders
    reader identifies customers by Customer ID when its export has one, else by email.
    Unmatched customers get blanks; customers of the export without orders are not
    added. ``accepts_marketing`` stays True/False/NA (the sheets write it as text).

    >>> c = pd.DataFrame({"customer_id": ["7"], "email": ["a@x.it"], "name": ["Ada"]})
    >>> names = enrichment_for(pd.Index(["a@x.it", "b@x.it"]), c)["name"]
    >>> names.iloc[0], bool(pd.isna(names.iloc[1]))
    ('Ada', True)
    """
    keys = pd.Index(ids).astype(str)
    out = pd.DataFrame(index=keys)
    by_id = customers.drop_duplicates("customer_id").set_index(
        customers["customer_id"].drop_duplicates().astype(str).to_numpy()
    )
    pos = by_id.index.get_indexer(keys)
    if "email" in customers.columns:
        mail = by_id["email"].astype("string").str.lower().to_numpy(dtype=object)
        mail_index = pd.Index(mail)
        first = ~mail_index.duplicated(keep="first") & pd.notna(mail)
        lookup = pd.Series(np.flatnonzero(first), index=mail_index[first])
        by_mail = lookup.reindex(keys.str.lower()).to_numpy()
        fill = (pos < 0) & pd.notna(by_mail)
        pos = np.where(fill, np.nan_to_num(by_mail, nan=-1).astype(int), pos)
    for col in ENRICHMENT_COLUMNS:
        values = (
            by_id[col].astype(object).to_numpy()
            if col in by_id.columns
            else np.full(len(by_id), None, dtype=object)
        )
        taken = np.full(len(keys), None, dtype=object)
        hit = pos >= 0
        taken[hit] = values[pos[hit]]
        out[col] = taken
    out.index = ids
    return out


def period_kpis(
    row: Mapping[str, float], freq: str, gross_margin: float, cac: float | None
) -> dict[str, float]:
    """The period KPIs of one row of the period table, as :func:`kpi_report` computes them.

    ``lifespan = 1 / (1 - (1 - churn) ** (1 / years))`` (years), ``clv = aov x (orders /
    buyers) / years x lifespan x gross_margin``, ``clv_cac = clv / cac``; NaN where
    undefined. For the headline period this equals ``kpi_report`` (a test checks it).
    """
    years = PERIOD_YEARS[freq]
    churn = float(row["churn"])
    out = {
        "start_customers": float(row["start_customers"]),
        "new_customers": float(row["new"]),
        "lost_customers": float(row["lost"]),
        "churn": churn,
        "crr": float(row["crr"]),
    }
    lifespan = math.nan
    if not math.isnan(churn):
        annual = 1.0 - (1.0 - churn) ** (1.0 / years)
        if annual > 0:
            lifespan = 1.0 / annual
    out["lifespan"] = lifespan
    orders, buyers = float(row["orders"]), float(row["buyers"])
    if math.isnan(lifespan) or orders == 0 or buyers == 0:
        out["clv"] = math.nan
    else:
        out["clv"] = float(row["aov"]) * ((orders / buyers) / years) * lifespan * gross_margin
    if cac is None or cac <= 0 or math.isnan(out["clv"]):
        out["clv_cac"] = math.nan
    else:
        out["clv_cac"] = out["clv"] / cac
    return out


def _is_pareto(model: Any) -> bool:
    from retention_xl.core.models import ParetoNBD

    return isinstance(model, ParetoNBD)


def _check_settings(s: Settings) -> None:
    if s.period not in PERIOD_YEARS:
        raise InputError(f"period must be 'Y', 'Q' or 'M', got {s.period!r}", argument="period")
    if s.cac is not None and not s.cac > 0:
        raise OutOfRangeError(f"cac must be positive, got {s.cac!r}", argument="cac")
    if not 0 < s.gross_margin <= 1:
        raise OutOfRangeError(
            f"gross_margin is a fraction in (0, 1], got {s.gross_margin!r}",
            argument="gross_margin",
        )
    if not 0 <= s.discount_rate < 1:
        raise OutOfRangeError(
            f"discount_rate is a fraction in [0, 1), got {s.discount_rate!r}",
            argument="discount_rate",
        )


def compute_report_data(
    orders: pd.DataFrame | None,
    subscriptions: pd.DataFrame | None,
    survey: pd.DataFrame | None,
    settings: Settings,
    *,
    p_alive: pd.Series | None = None,
    predictions: Any = None,
    reports: Mapping[str, ImportReport] | None = None,
    customers: pd.DataFrame | None = None,
    engine: Any = None,
    subscription_engine: Any = None,
) -> ReportData:
    """Run the core on the frames (any may be None) for the workbook's sheets.

    ``customers`` (the customers export's frame) only enriches: see :func:`enrichment_for`.
    ``engine`` (an :class:`~retention_xl.engines.base.OrderEngine` holding ``orders``)
    computes the customer summary, the period tables and the KPI totals;
    ``subscription_engine`` (see :func:`add_other_inputs`) the MRR movements and KPIs.
    """
    _check_settings(settings)
    data = ReportData(settings=settings, reports=dict(reports or {}))
    if orders is not None:
        tab = normalised_orders(orders)
        data.orders = tab
        prepared = prepare_orders(tab)
        if prepared.stats.orders == 0:
            raise InputError("orders has no valid purchase (all cancelled or refunded?)")
        data.prepared = prepared
        as_of = pd.Timestamp(tab["order_date"].max()).normalize()
        data.as_of = as_of
        if engine is None:
            from retention_xl.engines.pandas_engine import PandasEngine

            engine = PandasEngine(tab, prepared=prepared)
        data.summary = engine.customer_summary(as_of=as_of)
        data.rfm = rfm_from_summary(data.summary)
        data.segments = segment_summary(data.rfm)
        data.periods = engine.period_table(
            freq=settings.period, window_days=settings.window_days, as_of=as_of
        )
        data.monthly = engine.period_table(freq="M", window_days=settings.window_days, as_of=as_of)
        counts = cohort_matrix(prepared, measure="customers", period="M", as_of=as_of)
        revenue = cohort_matrix(prepared, measure="revenue", period="M", as_of=as_of)
        from retention_xl.core.cohorts import cohort_counts

        sizes = cohort_counts(prepared, measure="customers", period="M", as_of=as_of)["size"]
        data.cohort_customers = counts.iloc[-COHORT_ROWS:, : MAX_OFFSET + 1]
        data.cohort_revenue = revenue.iloc[-COHORT_ROWS:, : MAX_OFFSET + 1]
        data.cohort_sizes = sizes.iloc[-COHORT_ROWS:]
        if predictions is not None:
            data.predicted = predictions.customers.reindex(data.summary.index)
            data.model_parameters = predictions.parameters
            data.prediction_totals = getattr(predictions, "totals", None)
            data.model_settings = {
                "horizon_days": float(predictions.horizon_days),
                "margin": float(predictions.margin),
                "discount_rate": float(predictions.discount_rate),
                "time_unit_days": float(predictions.time_unit_days),
                "at_risk_share": float(predictions.at_risk_share),
            }
            if p_alive is None:
                p_alive = predictions.customers["p_alive"]
            data.holdout = holdout_check(
                prepared,
                as_of,
                model="pareto_nbd" if _is_pareto(predictions.transactions) else "bgnbd",
                time_unit_days=float(predictions.time_unit_days),
            )
        if p_alive is not None:
            aligned = pd.Series(p_alive, dtype="float64").reindex(data.summary.index)
            data.p_alive = aligned
        if customers is not None:
            data.enrichment = enrichment_for(data.summary.index, customers)
    add_other_inputs(data, subscriptions, survey, subscription_engine=subscription_engine)
    if orders is None and subscriptions is None and survey is None:
        return data
    p_values = None
    if data.p_alive is not None:
        p_values = data.p_alive.dropna().to_numpy(dtype="float64")
    totals = None
    if data.prepared is not None:
        totals = engine.order_totals(
            period=settings.period, window_days=settings.window_days, as_of=data.as_of
        )
    finish_report(data, totals, p_values)
    return data


def add_other_inputs(
    data: ReportData,
    subscriptions: pd.DataFrame | None,
    survey: pd.DataFrame | None,
    *,
    subscription_engine: Any = None,
) -> None:
    """The subscriptions' MRR movements and KPIs and the survey's answers, into ``data``.

    ``subscription_engine`` (an SQL engine's
    :class:`~retention_xl.engines.subscription_sql.SqlSubscriptions` of ``subscriptions``)
    computes the movements and KPIs instead of the core, with the same definitions.
    """
    settings = data.settings
    if subscriptions is not None:
        from retention_xl.core.subscriptions import (
            headline_month,
            subscription_kpis,
            subscription_movements,
        )

        subs = validate_subscriptions(subscriptions)
        data.subscriptions = subs
        # the MRR tab ends with the month the KPIs are for (its last row is what the KPI
        # sheet reads): the last complete month, never a scheduled future one
        end = headline_month(subs)
        if subscription_engine is None:
            data.movements = subscription_movements(subs, end=end)
            data.sub_kpis = dict(subscription_kpis(subs, gross_margin=settings.gross_margin))
        else:
            data.subscription_engine = subscription_engine
            data.movements = subscription_engine.movements(end=end)
            data.sub_kpis = dict(subscription_engine.kpis(gross_margin=settings.gross_margin))
    if survey is not None:
        from retention_xl.core.survey import survey_summary

        answers = validate_survey(survey)
        data.survey = answers.sort_values("answered_at", kind="stable").reset_index(drop=True)
        data.survey_overall = survey_summary(answers, freq=None).iloc[0]


def finish_report(data: ReportData, totals: Any, p_values: np.ndarray | None) -> None:
    """The headline KPI report of ``data`` and the period the KPIs sheet shows."""
    settings = data.settings
    data.report = kpi_report(
        totals,
        data.subscriptions,
        data.survey,
        period=settings.period,
        as_of=data.as_of,
        window_days=settings.window_days,
        cac=settings.cac,
        gross_margin=settings.gross_margin,
        p_alive=p_values,
        market=settings.market,
        subscription_engine=data.subscription_engine,
    )
    if data.periods is not None and len(data.periods):
        chosen = data.report.period_start
        if settings.input_period is not None:
            wanted = pd.Timestamp(settings.input_period).normalize()
            if wanted not in data.periods.index:
                known = ", ".join(str(p.date()) for p in data.periods.index)
                raise InputError(
                    f"period {wanted.date()} is not a period of the data (first days: {known})",
                    argument="period",
                )
            chosen = wanted
        data.chosen_period = chosen
