"""The raw data tabs: Orders, Subscriptions, Survey.

One header row, then one row per record in the canonical columns of
:mod:`retention_xl.core.schema`, always in the same order (so a user can paste an
export into a template and refresh can read the tab back). Every text is a text cell.
Each data column has a defined name ``Orders_<column>`` (``Subscriptions_``,
``Survey_``) over ``row 2 .. 1,048,576`` that the KPI formulas use.
"""

from __future__ import annotations

from typing import Final

import pandas as pd

from retention_xl.workbook.plan import MAX_ROWS, SheetPlan
from retention_xl.workbook.sheets.base import Context, column_table

__all__ = ["ORDER_COLUMNS", "SUBSCRIPTION_COLUMNS", "SURVEY_COLUMNS", "plan_raw"]

NOTE_COL: Final = 10

#: (key, label key, kind, style, width) of each raw tab.
ORDER_COLUMNS: Final = (
    ("customer_id", "col.customer_id", "text", None, 14.0),
    ("order_id", "col.order_id", "text", None, 14.0),
    ("order_date", "col.order_date", "date", "date", 12.0),
    ("amount", "col.amount", "number", "currency", 12.0),
    ("refunded", "col.refunded", "number", "currency", 12.0),
    ("status", "col.status", "text", None, 11.0),
    ("currency", "col.currency", "text", None, 9.0),
)
SUBSCRIPTION_COLUMNS: Final = (
    ("customer_id", "col.customer_id", "text", None, 14.0),
    ("subscription_id", "col.subscription_id", "text", None, 14.0),
    ("start_date", "col.start_date", "date", "date", 12.0),
    ("end_date", "col.end_date", "date", "date", 12.0),
    ("amount", "col.amount", "number", "currency", 12.0),
    ("interval", "col.interval", "text", None, 10.0),
    ("interval_count", "col.interval_count", "number", "count", 10.0),
    ("status", "col.status", "text", None, 11.0),
)
SURVEY_COLUMNS: Final = (
    ("answered_at", "col.answered_at", "date", "date", 12.0),
    ("score", "col.score", "number", "count", 8.0),
    ("kind", "col.kind", "text", None, 8.0),
    ("customer_id", "col.customer_id", "text", None, 14.0),
)

_SPECS: Final = {
    "ORDERS": ("Orders", ORDER_COLUMNS, "note.paste_orders"),
    "SUBSCRIPTIONS": ("Subscriptions", SUBSCRIPTION_COLUMNS, "note.paste_subscriptions"),
    "SURVEY": ("Survey", SURVEY_COLUMNS, "note.paste_survey"),
}


def _frame(ctx: Context, role: str) -> pd.DataFrame:
    keys = [c[0] for c in _SPECS[role][1]]
    data = ctx.data
    frame: pd.DataFrame | None = None
    if data is not None and not ctx.settings.no_raw:
        frame = {"ORDERS": data.orders, "SUBSCRIPTIONS": data.subscriptions, "SURVEY": data.survey}[
            role
        ]
    if frame is None:
        return pd.DataFrame({k: pd.Series(dtype="object") for k in keys})
    out = frame.reindex(columns=keys)
    return out


def plan_raw(ctx: Context, role: str) -> SheetPlan:
    """The raw tab of ``role`` (``ORDERS``, ``SUBSCRIPTIONS`` or ``SURVEY``)."""
    prefix, columns, note = _SPECS[role]
    sheet = SheetPlan(role=role, title=ctx.titles[role])
    table = column_table(ctx, role, _frame(ctx, role), columns, first_row=0, prefix=prefix)
    sheet.tables.append(table)
    for i, spec in enumerate(table.columns):
        if spec.width:
            sheet.col_widths[i] = spec.width
    sheet.col_widths[NOTE_COL] = 60.0
    sheet.put(0, NOTE_COL, ctx.t(note), style="note")
    if ctx.settings.no_raw and ctx.data is not None:
        sheet.put(1, NOTE_COL, ctx.t("note.no_raw"), style="note")
    sheet.freeze = (1, 0)
    sheet.autofilter = (0, 0, MAX_ROWS - 1, len(columns) - 1)
    sheet.tab_color = "#A6A6A6"
    return sheet
