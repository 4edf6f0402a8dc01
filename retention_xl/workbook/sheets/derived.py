"""The derived tabs: Customers, Periods, Monthly and MRR movements.

Values computed by the core at build (or refresh) time, not formulas: row 1 says when
and from what, row 2 is the header, data start on row 3. Each column has a defined name
(``Customers_orders``, ``Periods_churn``, ...) that the KPIs sheet looks up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from retention_xl.core.customers import SEGMENT_ACTIONS
from retention_xl.workbook.formulas import block_range, cell
from retention_xl.workbook.plan import MAX_ROWS, SheetPlan
from retention_xl.workbook.sheets.base import Context, cached, column_table

__all__ = [
    "CUSTOMER_COLUMNS",
    "DATA_ROW",
    "MRR_COLUMNS",
    "PERIOD_COLUMNS",
    "derived_note",
    "plan_customers",
    "plan_mrr",
    "plan_periods",
]

HEADER_ROW: Final = 1
DATA_ROW: Final = 2

CUSTOMER_COLUMNS: Final = (
    ("customer_id", "col.customer_id", "text", None, 14.0),
    ("first_order", "col.first_order", "date", "date", 12.0),
    ("last_order", "col.last_order", "date", "date", 12.0),
    ("orders", "col.orders", "number", "count", 9.0),
    ("purchase_days", "col.purchase_days", "number", "count", 10.0),
    ("revenue", "col.revenue", "number", "currency", 12.0),
    ("aov", "col.aov", "number", "currency", 12.0),
    ("frequency", "col.frequency", "number", "count", 10.0),
    ("recency_days", "col.recency_days", "number", "count", 10.0),
    ("age_days", "col.age_days", "number", "count", 10.0),
    ("days_since_last", "col.days_since_last", "number", "count", 10.0),
    ("R", "col.R", "number", "count", 5.0),
    ("F", "col.F", "number", "count", 5.0),
    ("M", "col.M", "number", "count", 5.0),
    ("segment", "col.segment", "text", None, 14.0),
    ("action", "col.action", "text", None, 22.0),
    ("p_alive", "col.p_alive", "number", "percent", 10.0),
    ("p_alive_low", "col.p_alive_low", "number", "percent", 10.0),
    ("p_alive_high", "col.p_alive_high", "number", "percent", 10.0),
    ("predicted_clv", "col.predicted_clv", "number", "currency", 12.0),
    ("predicted_clv_low", "col.predicted_clv_low", "number", "currency", 12.0),
    ("predicted_clv_high", "col.predicted_clv_high", "number", "currency", 12.0),
    ("expected_purchases_365d", "col.expected_365d", "number", "number", 11.0),
    ("expected_purchases_365d_low", "col.expected_365d_low", "number", "number", 11.0),
    ("expected_purchases_365d_high", "col.expected_365d_high", "number", "number", 11.0),
    ("risk_band", "col.risk_band", "text", None, 10.0),
    ("risk_reason", "col.risk_reason", "text", None, 40.0),
    *(
        ENRICHMENT := (
            ("name", "col.name", "text", None, 20.0),
            ("email", "col.email", "text", None, 24.0),
            ("accepts_marketing", "col.accepts_marketing", "text", None, 10.0),
            ("country", "col.country", "text", None, 8.0),
            ("tags", "col.tags", "text", None, 20.0),
        )
    ),
)
PERIOD_COLUMNS: Final = (
    ("period", "col.period", "date", "date", 12.0),
    ("label", "col.label", "text", None, 10.0),
    ("start_customers", "col.start_customers", "number", "count", 11.0),
    ("end_customers", "col.end_customers", "number", "count", 11.0),
    ("new", "col.new", "number", "count", 9.0),
    ("lost", "col.lost", "number", "count", 9.0),
    ("retained", "col.retained", "number", "count", 9.0),
    ("reactivated", "col.reactivated", "number", "count", 11.0),
    ("orders", "col.orders", "number", "count", 9.0),
    ("revenue", "col.revenue", "number", "currency", 12.0),
    ("aov", "col.aov", "number", "currency", 11.0),
    ("buyers", "col.buyers", "number", "count", 9.0),
    ("repeat_customers", "col.repeat_customers", "number", "count", 11.0),
    ("churn", "col.churn", "number", "percent", 9.0),
    ("crr", "col.crr", "number", "percent", 9.0),
)
MRR_COLUMNS: Final = (
    ("month", "col.month", "date", "date", 12.0),
    ("starting_mrr", "col.starting_mrr", "number", "currency", 12.0),
    ("new", "col.new_mrr", "number", "currency", 11.0),
    ("expansion", "col.expansion", "number", "currency", 11.0),
    ("contraction", "col.contraction", "number", "currency", 11.0),
    ("churn", "col.churn_mrr", "number", "currency", 11.0),
    ("reactivation", "col.reactivation", "number", "currency", 11.0),
    ("ending_mrr", "col.ending_mrr", "number", "currency", 12.0),
    ("customers", "col.subscribers", "number", "count", 11.0),
    ("starting_customers", "col.starting_customers", "number", "count", 11.0),
    ("new_customers", "col.new_customers", "number", "count", 11.0),
    ("reactivated_customers", "col.reactivated_customers", "number", "count", 11.0),
    ("churned_customers", "col.churned_customers", "number", "count", 11.0),
)
#: Periods offered by the KPIs sheet's period list (a fixed-size block).
PERIOD_LIST: Final = 240
#: Where the MRR tab keeps the 12-month NRR and GRR (not derivable from the movements).
MRR_KPI_COL: Final = 15


def _sources(ctx: Context) -> str:
    data = ctx.data
    if data is None:
        return ""
    files = [Path(r.file).name for r in data.reports.values()]
    return ", ".join(files) if files else ctx.t("source.frames")


def derived_note(ctx: Context) -> str:
    """Row 1 of a derived tab: computed when, from what, and how to refresh it."""
    data = ctx.data
    if data is None or data.report is None:
        return ctx.t("note.derived_empty")
    as_of = "" if data.as_of is None else str(data.as_of.date())
    if not as_of and data.sub_kpis is not None:
        as_of = str(pd.Timestamp(data.sub_kpis["month"]).date())
    key = "note.derived_aggregate" if ctx.settings.aggregate else "note.derived"
    return ctx.t(key).format(version=ctx.version, sources=_sources(ctx), as_of=as_of)


def _derived_sheet(ctx: Context, role: str) -> SheetPlan:
    sheet = SheetPlan(role=role, title=ctx.titles[role])
    sheet.put(0, 0, derived_note(ctx), style="note")
    sheet.freeze = (DATA_ROW, 1)
    sheet.tab_color = "#70AD47"
    return sheet


def _widths(
    sheet: SheetPlan, columns: tuple[tuple[str, str, str, str | None, float | None], ...]
) -> None:
    for i, (*_, width) in enumerate(columns):
        if width:
            sheet.col_widths[i] = width


def risk_reasons(frame: pd.DataFrame, template: str) -> np.ndarray:
    """Why a repeat customer's probability of still being a customer is below 50 %:
    ``template`` filled with the days since the last order (``gap``) and the customer's
    usual days between orders (``every`` = first-to-last days / repeat purchase days).
    Blank for everyone else (one purchase only, or not at risk).

    >>> f = pd.DataFrame({"p_alive": [0.02, 0.9, 0.1], "frequency": [65, 3, 0],
    ...                   "recency_days": [650.0, 90.0, 0.0], "days_since_last": [200, 5, 400]})
    >>> risk_reasons(f, "no order for {gap} days, usually every {every} days").tolist()
    ['no order for 200 days, usually every 10 days', None, None]
    """
    p_alive = pd.to_numeric(frame["p_alive"], errors="coerce").to_numpy(dtype=float)
    repeats = pd.to_numeric(frame["frequency"], errors="coerce").to_numpy(dtype=float)
    span = pd.to_numeric(frame["recency_days"], errors="coerce").to_numpy(dtype=float)
    gap = pd.to_numeric(frame["days_since_last"], errors="coerce").to_numpy(dtype=float)
    out = np.full(len(frame), None, dtype=object)
    with np.errstate(invalid="ignore"):
        chosen = np.flatnonzero((p_alive < 0.5) & (repeats >= 1) & np.isfinite(gap))
    for i in chosen:  # the customers at risk: a small share of the table
        every = max(1, round(span[i] / repeats[i]))
        out[i] = template.format(gap=f"{gap[i]:,.0f}", every=f"{every:,d}")
    return out


def customers_frame(ctx: Context) -> pd.DataFrame:
    """The Customers tab: summary, RFM scores, localised segment and action, p_alive.

    Computed once per workbook (the Segments list shows the same customers); each
    caller gets its own copy.
    """
    if "customers_frame" not in ctx.memo:
        ctx.memo["customers_frame"] = _customers_frame(ctx)
    return ctx.memo["customers_frame"].copy()  # type: ignore[no-any-return]


def _customers_frame(ctx: Context) -> pd.DataFrame:
    data = ctx.data
    keys = [c[0] for c in CUSTOMER_COLUMNS]
    if data is None or data.summary is None or data.rfm is None:
        return pd.DataFrame({k: pd.Series(dtype="object") for k in keys})
    frame = data.summary.copy()
    frame.insert(0, "customer_id", frame.index.astype(str).to_numpy(dtype=object))
    for col in ("R", "F", "M"):
        frame[col] = data.rfm[col].to_numpy()
    codes = data.rfm["segment"].astype(str).to_numpy()
    seg_labels = {s: ctx.t(f"segment.{s}") for s in SEGMENT_ACTIONS}
    act_labels = {s: ctx.t(f"action.{a}") for s, a in SEGMENT_ACTIONS.items()}
    frame["segment"] = pd.Series(codes).map(seg_labels).to_numpy(dtype=object)
    frame["action"] = pd.Series(codes).map(act_labels).to_numpy(dtype=object)
    frame["p_alive"] = (
        np.full(len(frame), np.nan) if data.p_alive is None else data.p_alive.to_numpy(dtype=float)
    )
    _put_predictions(ctx, frame, data.predicted)
    frame["risk_reason"] = risk_reasons(frame, ctx.t("risk.reason"))
    _put_enrichment(ctx, frame, data.enrichment, data.summary.index)
    return frame.reset_index(drop=True)[keys]


def _put_predictions(ctx: Context, frame: pd.DataFrame, predicted: pd.DataFrame | None) -> None:
    """The model columns (predicted CLV, expected purchases and the interval bounds;
    NaN without a model) and the localised risk band."""
    bounded = ("p_alive", "predicted_clv", "expected_purchases_365d")
    for col in [
        "predicted_clv",
        "expected_purchases_365d",
        *[f"{c}{s}" for c in bounded for s in ("_low", "_high")],
    ]:
        frame[col] = (
            np.full(len(frame), np.nan)
            if predicted is None or col not in predicted.columns
            else predicted[col].to_numpy(dtype="float64")
        )
    bands = {b: ctx.t(f"risk.{b}") for b in ("low", "medium", "high")}
    frame["risk_band"] = (
        np.full(len(frame), None, dtype=object)
        if predicted is None
        else pd.Series(predicted["risk_band"].astype(object).to_numpy()).map(bands).to_numpy()
    )


def _put_enrichment(
    ctx: Context, frame: pd.DataFrame, enrich: pd.DataFrame | None, ids: pd.Index
) -> None:
    """The customers export's columns as text (blank without it); ``accepts_marketing``
    as the language's yes / no."""
    for key, *_ in ENRICHMENT:  # the customers export's columns, text (blank without it)
        values = (
            np.full(len(frame), None, dtype=object)
            if enrich is None or key not in enrich.columns
            else enrich[key].reindex(ids).to_numpy(dtype=object)
        )
        if key == "accepts_marketing":
            words = {True: ctx.t("value.yes"), False: ctx.t("value.no")}
            values = np.array(
                [words.get(bool(v)) if isinstance(v, (bool, np.bool_)) else v for v in values],
                dtype=object,
            )
        values = np.array(
            [
                None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
                for v in values
            ],
            dtype=object,
        )
        frame[key] = values


#: The column an aggregate report adds: why the customer is listed.
LISTED_COLUMN: Final = ("listed_as", "col.listed_as", "text", None, 14.0)


def listing_rule(ctx: Context) -> str:
    """The sentence an aggregate report's Customers sheet states: how many customers it
    lists, by which rule, and where every customer is."""
    data = ctx.data
    limit = ctx.settings.customer_limit
    listed = 0 if data is None or data.summary is None else len(data.summary)
    total = 0 if data is None else data.all_customers
    side = "" if data is None else data.side_file
    return ctx.t("customers.rule").format(
        listed=f"{listed:,}",
        total=f"{total:,}",
        limit=f"{limit:,}",
        third=f"{limit // 3:,}",
        file=side,
    )


def plan_customers(ctx: Context) -> SheetPlan:
    columns: tuple[tuple[str, str, str, str | None, float | None], ...] = CUSTOMER_COLUMNS
    header = HEADER_ROW
    frame = customers_frame(ctx)
    sheet = _derived_sheet(ctx, "CUSTOMERS")
    if ctx.settings.aggregate:  # the rule and the limit, above the list
        # scored in batches: no per-customer intervals (they need every order in memory)
        kept = [c for c in CUSTOMER_COLUMNS if not c[0].endswith(("_low", "_high"))]
        columns = (*kept, LISTED_COLUMN)
        header = HEADER_ROW + 1
        sheet.put(HEADER_ROW, 0, listing_rule(ctx), style="note")
        data = ctx.data
        groups = {g: ctx.t(f"listed.{g}") for g in ("top_value", "at_risk", "vip")}
        listed = None if data is None else data.listed_as
        frame["listed_as"] = (
            np.full(len(frame), None, dtype=object)
            if listed is None
            else pd.Series(listed.to_numpy(dtype=object)).map(groups).to_numpy(dtype=object)
        )
        sheet.freeze = (header + 1, 1)
    table = column_table(ctx, "CUSTOMERS", frame, columns, first_row=header, prefix="Customers")
    sheet.tables.append(table)
    _widths(sheet, columns)
    sheet.autofilter = (header, 0, MAX_ROWS - 1, len(columns) - 1)
    return sheet


def period_frame(table: pd.DataFrame | None, freq: str) -> pd.DataFrame:
    """A period table with its first day (``period``) and label columns first."""
    keys = [c[0] for c in PERIOD_COLUMNS]
    if table is None:
        return pd.DataFrame({k: pd.Series(dtype="object") for k in keys})
    out = table.reset_index()
    starts = pd.DatetimeIndex(out["period"])
    if freq == "Y":
        labels = [str(s.year) for s in starts]
    elif freq == "Q":
        labels = [f"{s.year}-Q{(s.month - 1) // 3 + 1}" for s in starts]
    else:
        labels = [f"{s.year}-{s.month:02d}" for s in starts]
    out["label"] = np.asarray(labels, dtype=object)
    return out[keys]


def plan_periods(ctx: Context, role: str) -> SheetPlan:
    """``PERIODS`` (the report's period, the KPIs sheet's choices) or ``MONTHLY``."""
    sheet = _derived_sheet(ctx, role)
    data = ctx.data
    if role == "PERIODS":
        freq = ctx.settings.period
        source = None if data is None else data.periods
        prefix = "Periods"
    else:
        freq = "M"
        source = None if data is None else data.monthly
        prefix = "Monthly"
    table = column_table(
        ctx, role, period_frame(source, freq), PERIOD_COLUMNS, first_row=HEADER_ROW, prefix=prefix
    )
    sheet.tables.append(table)
    _widths(sheet, PERIOD_COLUMNS)
    if role == "PERIODS":  # the choices of Input_Period: a fixed block of first days
        ctx.define("RXL_PeriodList", role, block_range(DATA_ROW, 0, DATA_ROW + PERIOD_LIST - 1, 0))
    return sheet


def plan_mrr(ctx: Context) -> SheetPlan:
    sheet = _derived_sheet(ctx, "MRR")
    data = ctx.data
    keys = [c[0] for c in MRR_COLUMNS]
    if data is None or data.movements is None:
        frame = pd.DataFrame({k: pd.Series(dtype="object") for k in keys})
    else:
        frame = data.movements.reset_index()
        frame = frame.rename(columns={frame.columns[0]: "month"})[keys]
    table = column_table(ctx, "MRR", frame, MRR_COLUMNS, first_row=HEADER_ROW, prefix="Mrr")
    sheet.tables.append(table)
    _widths(sheet, MRR_COLUMNS)
    # 12-month NRR and GRR of the last month (subscription_kpis), as values.
    col = MRR_KPI_COL
    sheet.col_widths[col] = 34.0
    sheet.col_widths[col + 1] = 12.0
    sheet.put(HEADER_ROW, col, ctx.t("mrr.kpis"), style="header")
    sheet.put(HEADER_ROW, col + 1, ctx.t("col.value"), style="header")
    kpis = None if data is None else data.sub_kpis
    for i, key in enumerate(("nrr", "grr")):
        row = DATA_ROW + i
        sheet.put(row, col, ctx.t(f"mrr.{key}_12m"), style="label")
        value = None if kpis is None else cached(kpis[key])
        sheet.put(row, col + 1, None if value == "" else value, style="percent")
        ctx.define(f"Sub_{key}", "MRR", cell(row, col + 1))
    return sheet
