"""The Dashboard: KPI tiles, progress toward the targets, and the charts.

Tiles and progress cells are formulas over the ``KPI_*`` and ``RXL_Progress_*`` names.
The charts read fixed-size blocks kept on this sheet from column U on (the last 24
months, 6 cohorts x 13 months, ...), so refresh rewrites the numbers and never has to
touch a chart. Chart specs are data (see :mod:`retention_xl.workbook.charts`).
"""

from __future__ import annotations

import math
from typing import Any, Final

import numpy as np
import pandas as pd

from retention_xl.core.benchmarks import BENCHMARKS
from retention_xl.core.report import KPI_UNITS
from retention_xl.workbook.formulas import cell, guard
from retention_xl.workbook.plan import SheetPlan
from retention_xl.workbook.sheets.base import Context, blank, cached
from retention_xl.workbook.sheets.benchmarks import BENCH_ROWS
from retention_xl.workbook.sheets.kpis import UNIT_STYLES, kpi_values

__all__ = ["DATA_COL", "MONTHS", "TILES", "plan_dashboard"]

TILES: Final = (
    ("revenue", "customers", "repeat_rate", "churn", "clv_cac", "nps"),
    ("orders", "aov", "crr", "clv", "mrr", "csat"),
)
TILE_ROWS: Final = (3, 6)
PROGRESS_ROW: Final = 9
CHART_ROW: Final = 16
DATA_COL: Final = 20  # column U
MONTHS: Final = 24
CURVES: Final = 6
CURVE_OFFSETS: Final = 12
BLOCK_ROW: Final = 2  # header row of every chart block; data from row 3

MONTHLY_COL: Final = DATA_COL  # U: month, revenue, active customers
NPS_COL: Final = DATA_COL + 4  # Y: band, answers
BENCH_COL: Final = DATA_COL + 7  # AB: KPI, yours, healthy (as % of the article target)
CURVE_COL: Final = DATA_COL + 11  # AF: cohort, 0..12
MRR_COL: Final = (
    CURVE_COL + CURVE_OFFSETS + 3
)  # month, new, expansion, reactivation, -contr., -churn
_NPS = 'Survey_kind,"nps",Survey_score'


def _block_header(sheet: SheetPlan, col: int, headers: list[str]) -> None:
    for i, text in enumerate(headers):
        sheet.put(BLOCK_ROW, col + i, text, style="header")


def _put_value(sheet: SheetPlan, row: int, col: int, value: Any, style: str | None = None) -> None:
    if isinstance(value, (float, np.floating)) and math.isnan(float(value)):
        return
    sheet.put(row, col, value, style=style)


def _monthly_block(ctx: Context, sheet: SheetPlan) -> None:
    c = MONTHLY_COL
    _block_header(sheet, c, [ctx.t("col.month"), ctx.t("col.revenue"), ctx.t("col.active")])
    data = ctx.data
    if data is None or data.monthly is None:
        return
    tail = data.monthly.iloc[-MONTHS:]
    for i, (start, row) in enumerate(tail.iterrows()):
        r = BLOCK_ROW + 1 + i
        stamp = pd.Timestamp(start)
        sheet.put(r, c, f"{stamp.year}-{stamp.month:02d}")
        _put_value(sheet, r, c + 1, float(row["revenue"]), "currency")
        _put_value(sheet, r, c + 2, float(row["end_customers"]), "count")


def _nps_block(ctx: Context, sheet: SheetPlan) -> None:
    c = NPS_COL
    _block_header(sheet, c, [ctx.t("col.nps_band"), ctx.t("col.answers")])
    overall = None if ctx.data is None else ctx.data.survey_overall
    bands = (
        ("promoters", '">=9"'),
        ("passives", None),
        ("detractors", '"<=6"'),
    )
    total = f'COUNTIFS({_NPS},">=0")'
    for i, (band, criteria) in enumerate(bands):
        r = BLOCK_ROW + 1 + i
        sheet.put(r, c, ctx.t(f"nps.{band}"))
        value: Any = ""
        if overall is not None and float(overall["answers"]) > 0:
            value = float(overall[band])
        if criteria is None:
            expr = f'{total}-COUNTIFS({_NPS},">=9")-COUNTIFS({_NPS},"<=6")'
        else:
            expr = f"COUNTIFS({_NPS},{criteria})"
        if ctx.settings.no_raw:
            sheet.put(r, c + 1, None if value == "" else value, style="count")
        else:
            sheet.put(r, c + 1, value, formula="=" + guard(f"{total}=0", expr), style="count")


def _bench_block(ctx: Context, sheet: SheetPlan, values: dict[str, float]) -> None:
    c = BENCH_COL
    _block_header(
        sheet, c, [ctx.t("col.kpi"), ctx.t("col.your_value_pct"), ctx.t("col.healthy_pct")]
    )
    for i, key in enumerate(BENCHMARKS):
        bench = BENCHMARKS[key]
        r = BLOCK_ROW + 1 + i
        exc = bench.threshold("excellent", ctx.settings.market)
        healthy = bench.threshold("healthy", ctx.settings.market)
        sheet.put(r, c, ctx.t(f"kpi.{key}"))
        v = values[key]
        name = f"KPI_{key}"
        if bench.direction == "higher":
            formula = f'=IF({name}="","",{name}/{exc!r})'
            yours = math.nan if blank(v) else v / exc
            rel = healthy / exc
        else:
            formula = f'=IF({name}="","",IF({name}<=0,"",{exc!r}/{name}))'
            yours = math.nan if blank(v) or v <= 0 else exc / v
            rel = exc / healthy
        sheet.put(r, c + 1, cached(yours), formula=formula, style="percent")
        sheet.put(r, c + 2, rel, style="percent")


def _curve_block(ctx: Context, sheet: SheetPlan) -> int:
    c = CURVE_COL
    _block_header(sheet, c, [ctx.t("col.cohort")] + [str(k) for k in range(CURVE_OFFSETS + 1)])
    data = ctx.data
    if data is None or data.cohort_customers is None or data.cohort_customers.empty:
        return 0
    matrix = data.cohort_customers
    width = min(matrix.shape[1], CURVE_OFFSETS + 1)
    observed = matrix.iloc[:, :width].notna().sum(axis=1).to_numpy()
    full = np.flatnonzero(observed >= width)
    rows = full[-CURVES:] if full.size else np.arange(min(CURVES, len(matrix)))
    for i, pos in enumerate(rows):
        r = BLOCK_ROW + 1 + i
        sheet.put(r, c, str(matrix.index[pos]))
        for k in range(width):
            _put_value(sheet, r, c + 1 + k, float(matrix.iloc[pos, k]), "percent")
    return len(rows)


def _month_label(ctx: Context, sheet: SheetPlan, row: int, col: int, text: str) -> None:
    """A tile label followed by the month of the subscription KPIs, as a formula (no
    TEXT(): its format codes depend on the program's language)."""
    month = None
    data = ctx.data
    if data is not None and data.movements is not None and len(data.movements):
        month = pd.Timestamp(data.movements.index[-1])
    label = "RXL_Label_mrr"  # the KPI sheet's label: the formula is the same in every language
    m = "RXL_SubscriptionMonth"
    shown = f'{label}&" ("&YEAR({m})&"-"&RIGHT("0"&MONTH({m}),2)&")"'
    cached_text = text if month is None else f"{text} ({month.year}-{month.month:02d})"
    sheet.put(
        row,
        col,
        cached_text,
        formula=f'=IF(RXL_SubscriptionMonth="",{label},{shown})',
        style="tile_label",
    )


def _mrr_block(ctx: Context, sheet: SheetPlan) -> None:
    c = MRR_COL
    heads = [
        "col.month",
        "col.new_mrr",
        "col.expansion",
        "col.reactivation",
        "col.contraction",
        "col.churn_mrr",
    ]
    _block_header(sheet, c, [ctx.t(h) for h in heads])
    data = ctx.data
    if data is None or data.movements is None:
        return
    tail = data.movements.iloc[-MONTHS:]
    for i, (start, row) in enumerate(tail.iterrows()):
        r = BLOCK_ROW + 1 + i
        stamp = pd.Timestamp(start)
        sheet.put(r, c, f"{stamp.year}-{stamp.month:02d}")
        for j, (key, sign) in enumerate(
            (("new", 1), ("expansion", 1), ("reactivation", 1), ("contraction", -1), ("churn", -1))
        ):
            sheet.put(r, c + 1 + j, sign * float(row[key]), style="currency")


def _series(
    name: tuple[int, int],
    values: tuple[int, int, int, int],
    categories: tuple[int, int, int, int],
    **extra: Any,
) -> dict[str, Any]:
    return {"name": name, "values": values, "categories": categories, **extra}


def _charts(ctx: Context) -> list[dict[str, Any]]:
    first, last = BLOCK_ROW + 1, BLOCK_ROW + MONTHS
    charts: list[dict[str, Any]] = []
    # 1. retention curves by cohort
    curves = [
        _series(
            (BLOCK_ROW + 1 + i, CURVE_COL),
            (BLOCK_ROW + 1 + i, CURVE_COL + 1, BLOCK_ROW + 1 + i, CURVE_COL + 1 + CURVE_OFFSETS),
            (BLOCK_ROW, CURVE_COL + 1, BLOCK_ROW, CURVE_COL + 1 + CURVE_OFFSETS),
            marker=True,
        )
        for i in range(CURVES)
    ]
    charts.append(
        {
            "key": "retention_curves",
            "type": "line",
            "title": ctx.t("chart.retention_curves"),
            "x_title": ctx.t("chart.months_since_first"),
            "y_title": ctx.t("chart.share_active"),
            "y_format": "0%",
            "y_min": 0,  # a rate: the axis starts at 0, so gaps are not exaggerated
            "series": curves,
            "anchor": (CHART_ROW, 0),
        }
    )
    # 2. NPS doughnut
    charts.append(
        {
            "key": "nps_breakdown",
            "type": "doughnut",
            "title": ctx.t("chart.nps"),
            "series": [
                _series(
                    (BLOCK_ROW, NPS_COL + 1),
                    (BLOCK_ROW + 1, NPS_COL + 1, BLOCK_ROW + 3, NPS_COL + 1),
                    (BLOCK_ROW + 1, NPS_COL, BLOCK_ROW + 3, NPS_COL),
                    points=["#63BE7B", "#FFEB84", "#F8696B"],
                )
            ],
            "anchor": (CHART_ROW, 3),
        }
    )
    # 3. KPI vs benchmark bars
    n = len(BENCHMARKS)
    charts.append(
        {
            "key": "kpi_vs_benchmark",
            "type": "bar",
            "title": ctx.t("chart.kpi_vs_benchmark"),
            "x_title": ctx.t("chart.pct_of_target"),
            "y_format": "0%",
            "y_min": 0,
            "series": [
                _series(
                    (BLOCK_ROW, BENCH_COL + 1 + j),
                    (BLOCK_ROW + 1, BENCH_COL + 1 + j, BLOCK_ROW + n, BENCH_COL + 1 + j),
                    (BLOCK_ROW + 1, BENCH_COL, BLOCK_ROW + n, BENCH_COL),
                )
                for j in range(2)
            ],
            "anchor": (CHART_ROW + 16, 0),
        }
    )
    # 4. monthly revenue (columns) and active customers (line, right axis)
    cats = (first, MONTHLY_COL, last, MONTHLY_COL)
    charts.append(
        {
            "key": "monthly_revenue",
            "type": "column",
            "title": ctx.t("chart.monthly"),
            "y_title": ctx.t("col.revenue"),
            "y_format": "#,##0",
            "y2_title": ctx.t("col.active"),
            "y2_format": "#,##0",
            "series": [
                _series(
                    (BLOCK_ROW, MONTHLY_COL + 1),
                    (first, MONTHLY_COL + 1, last, MONTHLY_COL + 1),
                    cats,
                )
            ],
            "line_series": [
                _series(
                    (BLOCK_ROW, MONTHLY_COL + 2),
                    (first, MONTHLY_COL + 2, last, MONTHLY_COL + 2),
                    cats,
                    y2_axis=True,
                )
            ],
            "anchor": (CHART_ROW + 16, 3),
        }
    )
    # 5. MRR movements (stacked columns). Always there, empty without subscriptions, so
    #    a template or an orders-only report refreshed with subscriptions gets it too
    #    (refresh never adds charts).
    cats = (first, MRR_COL, last, MRR_COL)
    charts.append(
        {
            "key": "mrr_movements",
            "type": "column",
            "subtype": "stacked",
            "title": ctx.t("chart.mrr_movements"),
            "x_labels_low": True,  # month labels under the negative bars
            "y_format": "#,##0",
            "series": [
                _series(
                    (BLOCK_ROW, MRR_COL + 1 + j),
                    (first, MRR_COL + 1 + j, last, MRR_COL + 1 + j),
                    cats,
                )
                for j in range(5)
            ],
            "anchor": (CHART_ROW + 32, 0),
        }
    )
    return charts


def plan_dashboard(ctx: Context) -> SheetPlan:
    sheet = SheetPlan(role="DASHBOARD", title=ctx.titles["DASHBOARD"])
    for col in range(6):
        sheet.col_widths[col] = 22.0
    sheet.put(0, 0, ctx.t("dashboard.title"), style="title")
    data = ctx.data
    if data is not None and data.report is not None:
        parts = []
        if data.chosen_period is not None:
            parts.append(ctx.t("dashboard.period").format(period=str(data.chosen_period.date())))
        if data.as_of is not None:
            parts.append(ctx.t("dashboard.as_of").format(as_of=str(data.as_of.date())))
        sheet.put(1, 0, " · ".join(parts), style="note")
    else:
        sheet.put(1, 0, ctx.t("dashboard.empty"), style="note")
    values = kpi_values(ctx)
    sheet.row_heights[0] = 24.0
    for tile_row, keys in zip(TILE_ROWS, TILES, strict=True):
        sheet.row_heights[tile_row] = 30.0
        sheet.row_heights[tile_row + 1] = 30.0
        for col, key in enumerate(keys):
            if key == "mrr":  # names its month: "MRR (2025-02)"
                _month_label(ctx, sheet, tile_row, col, ctx.t(f"kpi.{key}"))
                style = "tile_" + UNIT_STYLES[KPI_UNITS[key]]
                sheet.put(
                    tile_row + 1, col, cached(values[key]), formula=f"=KPI_{key}", style=style
                )
                continue
            sheet.put(tile_row, col, ctx.t(f"kpi.{key}"), style="tile_label")
            style = "tile_" + UNIT_STYLES[KPI_UNITS[key]].replace("percent", "percent")
            sheet.put(tile_row + 1, col, cached(values[key]), formula=f"=KPI_{key}", style=style)
    sheet.put(PROGRESS_ROW, 0, ctx.t("dashboard.progress"), style="subtitle")
    from retention_xl.workbook.sheets.benchmarks import progress

    for i, (key, (_, target_name, direction, _rated)) in enumerate(BENCH_ROWS.items()):
        r = PROGRESS_ROW + 1 + i
        sheet.put(r, 0, ctx.t(f"kpi.{key}"), style="label")
        prog = progress(values[key], ctx.settings.target(target_name), direction)
        sheet.put(r, 1, cached(prog), formula=f"=RXL_Progress_{key}", style="percent")
    sheet.conditional_formats.append(
        {
            "range": f"{cell(PROGRESS_ROW + 1, 1)}:{cell(PROGRESS_ROW + len(BENCH_ROWS), 1)}",
            "type": "data_bar",
            "min_type": "num",
            "min_value": 0,
            "max_type": "num",
            "max_value": 1,
            "bar_color": "#63BE7B",
            "bar_solid": True,
        }
    )
    # chart data blocks
    sheet.put(0, DATA_COL, ctx.t("dashboard.chart_data"), style="subtitle")
    _monthly_block(ctx, sheet)
    _nps_block(ctx, sheet)
    _bench_block(ctx, sheet, values)
    _curve_block(ctx, sheet)
    _mrr_block(ctx, sheet)
    sheet.charts.extend(_charts(ctx))
    sheet.print_setup = {
        "landscape": True,
        "paper": 9,
        "fit_width": 1,
        "fit_height": 0,
        "print_area": (0, 0, CHART_ROW + 48, 5),
        "center_horizontally": True,
    }
    sheet.tab_color = "#1F4E78"
    return sheet
