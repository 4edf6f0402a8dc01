"""The Cohorts sheet: monthly acquisition cohorts, by customers and by revenue.

Two fixed blocks of :data:`~retention_xl.workbook.data.COHORT_ROWS` cohorts (the
latest) x offsets ``0..``:data:`~retention_xl.workbook.data.MAX_OFFSET`: the share of
each cohort still buying ``k`` months after its first purchase, and its revenue as a
share of month 0 (:func:`~retention_xl.core.cohorts.cohort_matrix`). Cells that are not
observable yet stay blank. A three-colour scale over each block makes the heatmap.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from retention_xl.workbook.data import COHORT_ROWS, MAX_OFFSET
from retention_xl.workbook.formulas import block_range
from retention_xl.workbook.plan import ColumnSpec, SheetPlan, Table
from retention_xl.workbook.sheets.base import Context, column_table

__all__ = ["CUSTOMER_BLOCK", "REVENUE_BLOCK", "plan_cohorts"]

#: Header row of each block (data on the next COHORT_ROWS rows).
CUSTOMER_BLOCK: Final = 4
REVENUE_BLOCK: Final = CUSTOMER_BLOCK + COHORT_ROWS + 4


def _matrix_frame(matrix: pd.DataFrame | None, sizes: pd.Series | None) -> pd.DataFrame:
    cols = {"cohort": pd.Series(dtype="object"), "size": pd.Series(dtype="float64")}
    for k in range(MAX_OFFSET + 1):
        cols[f"m{k}"] = pd.Series(dtype="float64")
    if matrix is None or sizes is None or matrix.empty:
        return pd.DataFrame(cols)
    values = matrix.to_numpy(dtype="float64")
    width = values.shape[1]
    out = pd.DataFrame(
        {
            "cohort": np.asarray(matrix.index.astype(str), dtype=object),
            "size": sizes.reindex(matrix.index).to_numpy(dtype="float64"),
        }
    )
    for k in range(MAX_OFFSET + 1):
        out[f"m{k}"] = values[:, k] if k < width else np.nan
    return out


def _block(ctx: Context, header_row: int, frame: pd.DataFrame) -> Table:
    columns = [
        ColumnSpec("cohort", ctx.t("col.cohort"), kind="text"),
        ColumnSpec("size", ctx.t("col.cohort_size"), style="count"),
    ]
    columns += [ColumnSpec(f"m{k}", str(k), style="cohort") for k in range(MAX_OFFSET + 1)]
    return Table(frame=frame, columns=tuple(columns), first_row=header_row)


#: Header row of an aggregate report's per-cohort totals (every cohort, one row each).
TOTALS_BLOCK: Final = REVENUE_BLOCK + COHORT_ROWS + 4
#: (key, label key, kind, style, width) of the per-cohort totals; named ``Cohorts_<key>``.
TOTALS_COLUMNS: Final = (
    ("cohort", "col.cohort", "date", "month", None),
    ("customers", "col.customers", "number", "count", None),
    ("orders", "col.orders", "number", "count", None),
    ("repeat_customers", "col.repeat_customers", "number", "count", None),
    ("revenue", "col.revenue", "number", "currency", None),
    ("purchase_revenue", "col.purchase_revenue", "number", "currency", None),
    ("scored", "col.scored", "number", "count", None),
    ("at_risk", "col.at_risk", "number", "count", None),
)


def _totals_block(ctx: Context, sheet: SheetPlan) -> None:
    """Every monthly cohort with the totals of its customers: what the KPIs of an
    aggregate report add up (one row per cohort instead of one per customer)."""
    sheet.put(TOTALS_BLOCK - 2, 0, ctx.t("cohorts.totals"), style="subtitle")
    sheet.put(TOTALS_BLOCK - 1, 0, ctx.t("cohorts.totals_note"), style="note")
    data = ctx.data
    keys = [c[0] for c in TOTALS_COLUMNS]
    totals = None if data is None else data.cohort_totals
    if totals is None:
        frame = pd.DataFrame({k: pd.Series(dtype="float64") for k in keys})
    else:
        frame = totals.reset_index()
        frame = frame.rename(columns={frame.columns[0]: "cohort"})[keys]
    sheet.tables.append(
        column_table(
            ctx, "COHORTS", frame, TOTALS_COLUMNS, first_row=TOTALS_BLOCK, prefix="Cohorts"
        )
    )


def plan_cohorts(ctx: Context) -> SheetPlan:
    sheet = SheetPlan(role="COHORTS", title=ctx.titles["COHORTS"])
    data = ctx.data
    sheet.put(0, 0, ctx.t("cohorts.title"), style="title")
    from retention_xl.workbook.sheets.derived import derived_note

    sheet.put(1, 0, derived_note(ctx), style="note")
    sizes = None if data is None else data.cohort_sizes
    blocks = (
        (CUSTOMER_BLOCK, "cohorts.customers", None if data is None else data.cohort_customers),
        (REVENUE_BLOCK, "cohorts.revenue", None if data is None else data.cohort_revenue),
    )
    for header, title, matrix in blocks:
        sheet.put(header - 1, 0, ctx.t(title), style="subtitle")
        sheet.tables.append(_block(ctx, header, _matrix_frame(matrix, sizes)))
        sheet.conditional_formats.append(
            {
                "range": block_range(header + 1, 2, header + COHORT_ROWS, MAX_OFFSET + 2),
                "type": "3_color_scale",
                "min_color": "#F8696B",
                "mid_color": "#FFEB84",
                "max_color": "#63BE7B",
                "min_type": "num",
                "min_value": 0,
                "mid_type": "percentile",
                "mid_value": 50,
                "max_type": "num",
                "max_value": 1,
            }
        )
    if ctx.settings.aggregate:
        _totals_block(ctx, sheet)
    sheet.put(2, 0, ctx.t("cohorts.note"), style="note")
    sheet.col_widths[0] = 10.0
    sheet.col_widths[1] = 9.0
    for k in range(MAX_OFFSET + 1):
        sheet.col_widths[2 + k] = 6.0
    if ctx.settings.aggregate:  # the totals' amounts need wider columns than a share
        for k in range(1, len(TOTALS_COLUMNS)):
            sheet.col_widths[k] = 12.0
    sheet.freeze = (CUSTOMER_BLOCK + 1, 2)
    sheet.tab_color = "#5B9BD5"
    return sheet
