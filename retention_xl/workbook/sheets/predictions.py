"""The Predictions sheet: the fitted models, the at-risk share and a holdout check.

The per-customer predictions (probability still a customer, expected purchases,
predicted CLV, churn-risk band) are columns of the Customers and Segments tabs; this
sheet shows the models' settings and fitted parameters
(:func:`retention_xl.core.models.predict_customers`), as values, and the
calibration/holdout check of the purchase model (:func:`~retention_xl.workbook.data.
holdout_check`): totals, and a fixed block of :data:`~retention_xl.workbook.data.
HOLDOUT_WEEKS` week rows (cumulative actual and predicted repeat purchases, blank beyond
the holdout, which is never longer) read by a chart whose ranges never change.
"""

from __future__ import annotations

from typing import Any, Final

import pandas as pd

from retention_xl.workbook.data import (
    HOLDOUT_MIN_WEEKS,
    HOLDOUT_SHARE,
    HOLDOUT_WEEKS,
    HoldoutCheck,
)
from retention_xl.workbook.formulas import cell
from retention_xl.workbook.plan import ChartSpec, LineSpec, SeriesSpec, SheetPlan, series_spec
from retention_xl.workbook.sheets.base import Context, cached, column_table
from retention_xl.workbook.sheets.derived import derived_note

__all__ = [
    "HOLDOUT_COL",
    "HOLDOUT_COLUMNS",
    "HOLDOUT_HEADER",
    "HOLDOUT_TOTALS",
    "PARAMETER_COLUMNS",
    "plan_predictions",
]

PARAMS_HEADER: Final = 7
PARAMETER_COLUMNS: Final = (
    ("model", "col.model", "text", None, 22.0),
    ("parameter", "col.parameter", "text", None, 16.0),
    ("value", "col.value", "number", "decimal", 14.0),
    ("se", "col.se", "number", "decimal", 14.0),
)


#: The holdout check: first column (F), rows of its title, notes and totals (labels in
#: F, values in H).
HOLDOUT_COL: Final = 5
HOLDOUT_TITLE: Final = 5
HOLDOUT_TOTALS: Final = {
    "weeks": 9,
    "calibration_end": 10,
    "customers": 11,
    "actual": 12,
    "predicted": 13,
    "ratio": 14,
    "mape": 15,
}
#: Header row of the weekly block; its HOLDOUT_WEEKS data rows follow.
HOLDOUT_HEADER: Final = 17
HOLDOUT_COLUMNS: Final = (
    ("week", "col.week", "number", "count", 34.0),  # also the holdout totals' labels
    ("actual", "col.actual_cumulative", "number", "count", 18.0),
    ("predicted", "col.predicted_cumulative", "number", "number", 18.0),
)
CHART_ANCHOR: Final = (18, 0)
#: Fader and Hardie's second picture: mean holdout purchases by calibration frequency
#: 0..6 and 7+ (a fixed block of rows beside the weekly one, read by its own chart).
FREQ_COL: Final = HOLDOUT_COL + 4
FREQ_TOP: Final = 7
FREQ_COLUMNS: Final = (
    ("frequency", "col.calibration_frequency", "text", None, 38.0),  # and the forecast's
    ("customers", "col.customers", "number", "count", 12.0),
    ("actual", "col.actual_mean", "number", "number", 14.0),
    ("predicted", "col.predicted_mean", "number", "number", 14.0),
)
FREQ_CHART_ANCHOR: Final = (34, 0)
#: The totals of the next year with their intervals: title row, header row, then rows.
FORECAST_ROW: Final = 8
FORECAST_KEYS: Final = ("expected_purchases", "purchases", "revenue", "predicted_clv")


def _weekly_block(comparison: Any) -> pd.DataFrame:
    """The weekly rows (at most :data:`HOLDOUT_WEEKS`); the block's rows beyond are blank."""
    keys = [k for k, *_ in HOLDOUT_COLUMNS]
    if comparison is None:
        return pd.DataFrame({k: pd.Series(dtype="float64") for k in keys})
    weekly = comparison.weekly.iloc[:HOLDOUT_WEEKS]
    return pd.DataFrame(
        {
            "week": weekly.index.to_numpy(dtype="float64"),
            "actual": weekly["actual"].to_numpy(dtype="float64"),
            "predicted": weekly["predicted"].to_numpy(dtype="float64"),
        }
    )


def _holdout_chart(ctx: Context) -> ChartSpec:
    first, last = HOLDOUT_HEADER + 1, HOLDOUT_HEADER + HOLDOUT_WEEKS
    weeks = (first, HOLDOUT_COL, last, HOLDOUT_COL)

    def series(offset: int, line: LineSpec, *, marker: bool = False) -> SeriesSpec:
        col = HOLDOUT_COL + offset
        return series_spec(
            (HOLDOUT_HEADER, col), (first, col, last, col), weeks, marker=marker, line=line
        )

    return {
        "key": "holdout_tracking",
        "type": "scatter",  # x = week number: the axis ends with the holdout, not the block
        "subtype": "straight",
        "title": ctx.t("chart.holdout"),
        "x_title": ctx.t("chart.holdout_weeks"),
        "y_title": ctx.t("chart.repeat_purchases"),
        "y_format": "#,##0",
        "series": [
            series(1, {"color": "#1F4E79", "width": 2.0}, marker=True),
            series(2, {"color": "#ED7D31", "width": 2.0, "dash_type": "dash"}),
        ],
        "anchor": CHART_ANCHOR,
    }


def _holdout(ctx: Context, sheet: SheetPlan) -> None:
    """The holdout check block: title, what the check did (or why there is none), the
    totals (weeks, calibration end, customers, actual vs predicted, their ratio by
    formula, the weekly tracking error), the weekly table and chart, and the block
    by calibration frequency."""
    c = HOLDOUT_COL
    sheet.put(HOLDOUT_TITLE, c, ctx.t("holdout.title"), style="subtitle")
    sheet.put(HOLDOUT_TITLE + 1, c, ctx.t("holdout.about"), style="note")
    check = None if ctx.data is None else ctx.data.holdout
    comparison = None if check is None else check.comparison
    text = _holdout_marker(ctx, check)
    if text:
        sheet.put(HOLDOUT_TITLE + 2, c, text, style="note")
    _holdout_totals(ctx, sheet, check, comparison)
    sheet.tables.append(
        column_table(
            ctx,
            "PREDICTIONS",
            _weekly_block(comparison),
            HOLDOUT_COLUMNS,
            first_row=HOLDOUT_HEADER,
            prefix=None,
        )
    )
    sheet.tables[-1].first_col = c
    for i, (*_, width) in enumerate(HOLDOUT_COLUMNS):
        sheet.col_widths[c + i] = width
    sheet.charts.append(_holdout_chart(ctx))
    _by_frequency(ctx, sheet, comparison)


def _holdout_marker(ctx: Context, check: HoldoutCheck | None) -> str:
    """The note under the title: the calibration and holdout dates, why the history
    was too short or the check failed, or that an aggregate report has none."""
    data = ctx.data
    comparison = None if check is None else check.comparison
    if check is not None and comparison is not None:
        cal = pd.Timestamp(comparison.calibration_end)
        text = ctx.t("holdout.marker").format(
            end=cal.date().isoformat(),
            start=(cal + pd.Timedelta(days=1)).date().isoformat(),
            last=pd.Timestamp(comparison.holdout_end).date().isoformat(),
            weeks=check.weeks,
        )
    elif check is not None and check.status == "short":
        text = ctx.t("holdout.short").format(
            span=check.span_weeks,
            need=round(HOLDOUT_MIN_WEEKS / HOLDOUT_SHARE),
            min=HOLDOUT_MIN_WEEKS,
        )
    elif check is not None:
        text = ctx.t("holdout.failed")
    elif ctx.settings.aggregate and data is not None:
        text = ctx.t("holdout.aggregate")
    else:
        text = ""
    return text


def _holdout_totals(
    ctx: Context, sheet: SheetPlan, check: HoldoutCheck | None, comparison: Any
) -> None:
    """The totals rows of the holdout check; the ratio is a formula over them."""
    c = HOLDOUT_COL
    rows = HOLDOUT_TOTALS
    values: dict[str, Any] = {k: None for k in rows}
    if comparison is not None:
        values = {
            "weeks": float(0 if check is None else check.weeks or 0),
            "calibration_end": pd.Timestamp(comparison.calibration_end).date(),
            "customers": float(len(comparison.customers)),
            "actual": comparison.actual_total,
            "predicted": comparison.predicted_total,
        }
    styles = {
        "weeks": "count",
        "calibration_end": "date",
        "customers": "count",
        "actual": "count",
        "predicted": "number",
    }
    for key, row in rows.items():
        sheet.put(row, c, ctx.t(f"holdout.{key}"), style="label")
        if key == "ratio":
            actual, predicted = cell(rows["actual"], c + 2), cell(rows["predicted"], c + 2)
            ratio = ""
            if comparison is not None and values["actual"]:
                ratio = cached(values["predicted"] / values["actual"])
            sheet.put(
                row,
                c + 2,
                ratio,
                formula=f'=IF(OR({actual}="",{actual}=0),"",{predicted}/{actual})',
                style="decimal",
            )
        elif key == "mape":
            mape = "" if comparison is None else cached(comparison.tracking_mape)
            sheet.put(row, c + 2, mape, style="percent")
            ctx.define("RXL_HoldoutMape", "PREDICTIONS", cell(row, c + 2))
        elif values[key] is not None:
            sheet.put(row, c + 2, values[key], style=styles[key])


def _by_frequency(ctx: Context, sheet: SheetPlan, comparison: Any) -> None:
    """Mean holdout purchases by calibration frequency, actual vs predicted: a block of
    ``FREQ_TOP + 1`` rows (0, 1, ..., "7+") and its chart."""
    keys = [k for k, *_ in FREQ_COLUMNS]
    labels = [str(k) for k in range(FREQ_TOP)] + [f"{FREQ_TOP}+"]
    if comparison is None:  # no check (a template): an empty block, filled by refresh
        frame = pd.DataFrame({k: pd.Series(dtype="float64") for k in keys})
        frame["frequency"] = frame["frequency"].astype(object)
    else:
        frame = pd.DataFrame({"frequency": labels})
        table = comparison.by_frequency(FREQ_TOP)
        for key in keys[1:]:
            frame[key] = table[key].to_numpy(dtype="float64")
    sheet.tables.append(
        column_table(
            ctx, "PREDICTIONS", frame[keys], FREQ_COLUMNS, first_row=HOLDOUT_HEADER, prefix=None
        )
    )
    sheet.tables[-1].first_col = FREQ_COL
    for i, (*_, width) in enumerate(FREQ_COLUMNS):
        sheet.col_widths[FREQ_COL + i] = width
    first, last = HOLDOUT_HEADER + 1, HOLDOUT_HEADER + 1 + FREQ_TOP
    cats = (first, FREQ_COL, last, FREQ_COL)

    def series(offset: int, line: LineSpec) -> SeriesSpec:
        col = FREQ_COL + offset
        return series_spec(
            (HOLDOUT_HEADER, col), (first, col, last, col), cats, marker=True, line=line
        )

    sheet.charts.append(
        {
            "key": "holdout_by_frequency",
            "type": "line",
            "title": ctx.t("chart.holdout_by_frequency"),
            "x_title": ctx.t("col.calibration_frequency"),
            "y_title": ctx.t("chart.mean_purchases"),
            "y_format": "0.0",
            "y_min": 0,
            "series": [
                series(2, {"color": "#1F4E79", "width": 2.0}),
                series(3, {"color": "#ED7D31", "width": 2.0, "dash_type": "dash"}),
            ],
            "anchor": FREQ_CHART_ANCHOR,
        }
    )


def _forecast(ctx: Context, sheet: SheetPlan) -> None:
    """Next year's totals over all customers with their intervals (values), beside the
    holdout check; the revenue cells are named for the Dashboard."""
    c = FREQ_COL
    sheet.put(FORECAST_ROW, c, ctx.t("forecast.title"), style="subtitle")
    header = FORECAST_ROW + 1
    for j, key in enumerate(("col.kpi", "col.value", "col.low", "col.high")):
        sheet.put(header, c + j, ctx.t(key), style="header")
    data = ctx.data
    totals = None if data is None else data.prediction_totals
    for i, key in enumerate(FORECAST_KEYS):
        r = header + 1 + i
        sheet.put(r, c, ctx.t(f"forecast.{key}"), style="label")
        style = "count" if "purchases" in key else "currency"
        for j, col in enumerate(("value", "low", "high")):
            value = None
            if totals is not None and key in totals.index:
                value = cached(float(totals[col].to_dict()[key]))
            if key == "purchases" and col == "value":
                value = None  # a prediction interval: no single value
            sheet.put(r, c + 1 + j, None if value == "" else value, style=style)
            if key == "revenue":
                suffix = "" if col == "value" else f"_{col}"
                ctx.define(f"RXL_Forecast_revenue{suffix}", "PREDICTIONS", cell(r, c + 1 + j))
    sheet.put(header + 1 + len(FORECAST_KEYS), c, ctx.t("forecast.about"), style="note")


def plan_predictions(ctx: Context) -> SheetPlan:
    sheet = SheetPlan(role="PREDICTIONS", title=ctx.titles["PREDICTIONS"])
    data = ctx.data
    sheet.put(0, 0, ctx.t("predictions.title"), style="title")
    sheet.put(1, 0, derived_note(ctx), style="note")
    sheet.put(2, 0, ctx.t("predictions.note"), style="note")
    params = None if data is None else data.model_parameters
    if data is not None and data.report is not None and params is None:
        sheet.put(3, 0, ctx.t("predictions.none"), style="note")
    if data is not None and data.model_settings:
        m = data.model_settings
        sheet.put(
            3,
            0,
            ctx.t("predictions.settings").format(
                horizon=m["horizon_days"],
                margin=m["margin"],
                rate=m["discount_rate"],
                unit=m["time_unit_days"],
            ),
            style="note",
        )
    sheet.put(5, 0, ctx.t("predictions.at_risk"), style="label_wrap")
    # its height: the longest language's lines (fit_wrapped_rows)
    at_risk = "" if data is None else cached(data.kpi("at_risk_share"))
    sheet.put(5, 2, at_risk, formula="=KPI_at_risk_share", style="percent")
    frame = (
        pd.DataFrame({k: pd.Series(dtype="object") for k, *_ in PARAMETER_COLUMNS})
        if params is None
        else params[[k for k, *_ in PARAMETER_COLUMNS]]
    )
    table = column_table(
        ctx, "PREDICTIONS", frame, PARAMETER_COLUMNS, first_row=PARAMS_HEADER, prefix=None
    )
    sheet.tables.append(table)
    for i, (*_, width) in enumerate(PARAMETER_COLUMNS):
        if width:
            sheet.col_widths[i] = width
    _holdout(ctx, sheet)
    _forecast(ctx, sheet)
    sheet.tab_color = "#70AD47"
    sheet.print_setup = {"landscape": True, "paper": 9, "fit_width": 1, "fit_height": 0}
    return sheet
