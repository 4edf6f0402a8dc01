"""The Predictions sheet: the fitted BG/NBD and Gamma-Gamma models and the at-risk share.

The per-customer predictions (probability still a customer, expected purchases,
predicted CLV, churn-risk band) are columns of the Customers and Segments tabs; this
sheet shows the models' settings and fitted parameters
(:func:`retention_xl.core.models.predict_customers`), as values.
"""

from __future__ import annotations

from typing import Final

import pandas as pd

from retention_xl.workbook.plan import SheetPlan
from retention_xl.workbook.sheets.base import Context, cached, column_table
from retention_xl.workbook.sheets.derived import derived_note

__all__ = ["PARAMETER_COLUMNS", "plan_predictions"]

PARAMS_HEADER: Final = 7
PARAMETER_COLUMNS: Final = (
    ("model", "col.model", "text", None, 22.0),
    ("parameter", "col.parameter", "text", None, 16.0),
    ("value", "col.value", "number", "decimal", 14.0),
    ("se", "col.se", "number", "decimal", 14.0),
)


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
    sheet.put(5, 0, ctx.t("predictions.at_risk"), style="label")
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
    sheet.tab_color = "#70AD47"
    return sheet
