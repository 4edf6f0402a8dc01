"""The Segments sheet: customers and revenue per RFM segment, with the suggested action,
then the per-customer list (autofilter on, ready to export to a CRM).

The summary counts are formulas over the list below (``COUNTIFS`` / ``SUMIFS`` on the
segment label column), cached with :func:`~retention_xl.core.customers.segment_summary`;
the segments and actions are those of :data:`~retention_xl.core.customers.SEGMENT_ACTIONS`
(onboarding, loyalty offer, VIP preview, win-back, reactivation, nurture).
"""

from __future__ import annotations

from typing import Final

import pandas as pd

from retention_xl.core.customers import SEGMENT_ACTIONS, SEGMENTS
from retention_xl.workbook.formulas import cell, column_range
from retention_xl.workbook.plan import MAX_ROWS, SheetPlan
from retention_xl.workbook.sheets.base import Context, cached, column_table
from retention_xl.workbook.sheets.derived import customers_frame

__all__ = ["LIST_COLUMNS", "LIST_HEADER", "SUMMARY_HEADER", "plan_segments"]

SUMMARY_HEADER: Final = 3
TOTAL_ROW: Final = SUMMARY_HEADER + len(SEGMENTS) + 1
LIST_HEADER: Final = TOTAL_ROW + 3
LIST_COLUMNS: Final = (
    ("customer_id", "col.customer_id", "text", None, None),
    ("segment", "col.segment", "text", None, None),
    ("action", "col.action", "text", None, None),
    ("R", "col.R", "number", "count", None),
    ("F", "col.F", "number", "count", None),
    ("M", "col.M", "number", "count", None),
    ("days_since_last", "col.days_since_last", "number", "count", None),
    ("orders", "col.orders", "number", "count", None),
    ("revenue", "col.revenue", "number", "currency", None),
    ("first_order", "col.first_order", "date", "date", None),
    ("last_order", "col.last_order", "date", "date", None),
    ("p_alive", "col.p_alive", "number", "percent", None),
    ("predicted_clv", "col.predicted_clv", "number", "currency", None),
    ("risk_band", "col.risk_band", "text", None, None),
    # the customers export's columns (blank without --customers), for a CRM export
    ("name", "col.name", "text", None, None),
    ("email", "col.email", "text", None, None),
    ("accepts_marketing", "col.accepts_marketing", "text", None, None),
    ("country", "col.country", "text", None, None),
    ("tags", "col.tags", "text", None, None),
)


def plan_segments(ctx: Context) -> SheetPlan:
    """The Segments sheet: a summary per RFM segment (customers, revenue, shares,
    action, rule) over the per-customer list below it, which it counts by formula
    (in an aggregate report the list is limited, so the counts are values)."""
    sheet = SheetPlan(role="SEGMENTS", title=ctx.titles["SEGMENTS"])
    widths = [16, 16, 30, 12, 14, 14, 12, 9, 12, 12, 12, 10, 12, 10, 20, 24, 10, 8, 20]
    sheet.col_widths.update({i: float(w) for i, w in enumerate(widths)})
    sheet.put(0, 0, ctx.t("segments.title"), style="title")
    from retention_xl.workbook.sheets.derived import derived_note

    sheet.put(1, 0, derived_note(ctx), style="note")
    heads = (
        "col.segment",
        "col.customers",
        "col.share",
        "col.revenue",
        "col.revenue_share",
        "col.action",
        "col.segment_rule",
    )
    for col, key in enumerate(heads):
        sheet.put(SUMMARY_HEADER, col, ctx.t(key), style="header")
    _put_summary(ctx, sheet)
    _put_list(ctx, sheet)
    sheet.tab_color = "#7030A0"
    return sheet


def _put_summary(ctx: Context, sheet: SheetPlan) -> None:
    """One row per segment and the total row."""
    data = ctx.data
    summary = None if data is None else data.segments
    aggregate = ctx.settings.aggregate
    first = LIST_HEADER + 1
    seg_col = column_range(first, 1)
    rev_col = column_range(first, 8)
    total_c = cell(TOTAL_ROW, 1)
    total_r = cell(TOTAL_ROW, 3)
    for i, seg in enumerate(SEGMENTS):
        row = SUMMARY_HEADER + 1 + i
        a = cell(row, 0, absolute=False).replace("A", "$A", 1)
        sheet.put(row, 0, ctx.t(f"segment.{seg}"), style="label")
        n = 0.0 if summary is None else float(summary["customers"].to_dict()[seg])
        revenue = 0.0 if summary is None else float(summary["revenue"].to_dict()[seg])
        share = "" if summary is None else cached(summary.loc[seg, "share"])
        rshare = "" if summary is None else cached(summary.loc[seg, "revenue_share"])
        b, d = cell(row, 1, absolute=False), cell(row, 3, absolute=False)
        if aggregate:  # the list below is limited: the counts of every customer, as values
            sheet.put(row, 1, n, style="count")
            sheet.put(row, 3, revenue, style="currency")
        else:
            sheet.put(row, 1, n, formula=f"=COUNTIFS({seg_col},{a})", style="count")
            sheet.put(
                row, 3, revenue, formula=f"=SUMIFS({rev_col},{seg_col},{a})", style="currency"
            )
        sheet.put(row, 2, share, formula=f'=IF({total_c}=0,"",{b}/{total_c})', style="percent")
        sheet.put(row, 4, rshare, formula=f'=IF({total_r}=0,"",{d}/{total_r})', style="percent")
        sheet.put(row, 5, ctx.t(f"action.{SEGMENT_ACTIONS[seg]}"), style="text")
        sheet.put(row, 6, ctx.t(f"segment.{seg}.rule"), style="note")
    top, bottom = SUMMARY_HEADER + 1, SUMMARY_HEADER + len(SEGMENTS)
    sheet.put(TOTAL_ROW, 0, ctx.t("col.total"), style="label")
    n_total = 0.0 if summary is None else float(summary["customers"].sum())
    r_total = 0.0 if summary is None else float(summary["revenue"].sum())
    sheet.put(
        TOTAL_ROW, 1, n_total, formula=f"=SUM({cell(top, 1)}:{cell(bottom, 1)})", style="count"
    )
    sheet.put(
        TOTAL_ROW, 3, r_total, formula=f"=SUM({cell(top, 3)}:{cell(bottom, 3)})", style="currency"
    )


def _put_list(ctx: Context, sheet: SheetPlan) -> None:
    """The per-customer list: by M score, then revenue, with an autofilter."""
    data = ctx.data
    sheet.put(LIST_HEADER - 1, 0, ctx.t("segments.list"), style="subtitle")
    if ctx.settings.aggregate:
        from retention_xl.workbook.sheets.derived import listing_rule

        sheet.put(LIST_HEADER - 2, 0, listing_rule(ctx), style="note")
    frame = customers_frame(ctx)
    if data is not None and data.rfm is not None and not frame.empty:
        # by M score, then revenue to the cent (sums that differ in the last bits, as
        # engines add in different orders, tie), then the list's own customer order
        keys = pd.DataFrame({"M": frame["M"], "cents": frame["revenue"].round(2)})
        order = keys.sort_values(["M", "cents"], ascending=False, kind="stable").index
        frame = frame.loc[order].reset_index(drop=True)
    table = column_table(
        ctx, "SEGMENTS", pd.DataFrame(frame), LIST_COLUMNS, first_row=LIST_HEADER, prefix=None
    )
    table.frame = table.frame[[c[0] for c in LIST_COLUMNS]]
    sheet.tables.append(table)
    sheet.autofilter = (LIST_HEADER, 0, MAX_ROWS - 1, len(LIST_COLUMNS) - 1)
    sheet.freeze = (LIST_HEADER + 1, 1)
