"""The Dashboard: one landscape page of KPI tiles, charts and progress toward targets.

Every tile is four cells, all formulas, so they change when the workbook recalculates:

* the label and the value (``=KPI_<key>``);
* the status colour of the value: conditional formatting on the KPI's rating
  (``RXL_Level_<key>``: 4 excellent, 3 healthy, 2 average, 1 below, from the
  benchmark of the source articles or, for churn and NPS, the target), grey where the
  KPI has no benchmark;
* the change of the KPI's per-period figure in the chosen period against the period
  before (``▲``/``▼``; relative for amounts and counts, in points for rates), from the
  Periods tab (MRR: the last month against the one before);
* a sparkline of the last 12 months (Monthly and MRR tabs) where a monthly figure
  exists: a small line chart without axes (LibreOffice does not draw Excel's own
  sparklines when it prints or exports).

The charts and sparklines read fixed-size blocks kept on this sheet from column U on,
in hidden columns (the last 24 months, 6 cohorts x 13 months, ...), so refresh
rewrites the numbers and never has to touch a chart. Chart specs are data (see
:mod:`retention_xl.workbook.charts`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from retention_xl.core.benchmarks import BENCHMARKS
from retention_xl.core.report import KPI_UNITS
from retention_xl.workbook.data import PERIOD_YEARS
from retention_xl.workbook.formulas import block_range, cell, guard
from retention_xl.workbook.plan import ChartSpec, SheetPlan, series_spec
from retention_xl.workbook.sheets.base import Context, blank, cached
from retention_xl.workbook.sheets.benchmarks import BENCH_ROWS
from retention_xl.workbook.sheets.derived import period_frame
from retention_xl.workbook.sheets.kpis import UNIT_STYLES, kpi_values
from retention_xl.workbook.styles import BAD, BEST, FAIR, GOOD

__all__ = ["DATA_COL", "DELTAS", "MONTHS", "TILES", "TREND_COLUMNS", "plan_dashboard"]

TILES: Final = (
    ("revenue", "customers", "repeat_rate", "churn", "clv_cac", "nps"),
    ("orders", "aov", "crr", "clv", "mrr", "csat"),
)
#: First row of each line of tiles: label, value, change, sparkline.
TILE_ROWS: Final = (3, 8)
GRID_ROW: Final = 13  # the charts: two rows of three, each two columns wide
CHART_ROWS: Final = 13
COLUMNS: Final = 6
COL_WIDTH: Final = 26.0  # characters: 187 pixels
CHART_SIZE: Final = (2 * 187, CHART_ROWS * 20)  # pixels
SPARK_SIZE: Final = (187, 32)  # one tile wide, the sparkline row high (24 points)
PROGRESS_ROW: Final = GRID_ROW + CHART_ROWS  # in the last grid cell, columns E:F
PROGRESS_COL: Final = 4
LAST_ROW: Final = GRID_ROW + 2 * CHART_ROWS - 1
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
TREND_COL: Final = MRR_COL + 7  # the last 12 months of each sparkline's figure
TREND_MONTHS: Final = 12
#: Sparkline figure of a tile -> (source table name prefix, column or ratio of columns).
TREND_COLUMNS: Final = {
    "revenue": ("Monthly", "revenue"),
    "customers": ("Monthly", "buyers"),
    "repeat_rate": ("Monthly", "repeat_customers/buyers"),
    "churn": ("Monthly", "churn"),
    "orders": ("Monthly", "orders"),
    "aov": ("Monthly", "aov"),
    "crr": ("Monthly", "crr"),
    "mrr": ("Mrr", "ending_mrr"),
}
DELTA_COL: Final = TREND_COL + len(TREND_COLUMNS) + 1  # key, current, previous, change
TEXT_COL: Final = DELTA_COL + 5  # words the formulas show: the same formula in every language
#: Rows of :data:`TEXT_COL` (from ``BLOCK_ROW + 1``).
TEXTS: Final = ("no_target", "compare_before", "compare_middle", "compare_after", "no_cac")
#: How each tile's change is measured: ``rel`` (current / previous - 1), ``pt``
#: (difference of rates, in points), ``ratio`` and ``score`` (plain difference).
DELTAS: Final = {
    "revenue": "rel",
    "customers": "rel",
    "repeat_rate": "pt",
    "churn": "pt",
    "clv_cac": "ratio",
    "nps": "score",
    "orders": "rel",
    "aov": "rel",
    "crr": "pt",
    "clv": "rel",
    "mrr": "rel",
    "csat": "pt",
}
#: Lower is better for these (a fall is shown green).
LOWER_IS_BETTER: Final = frozenset({"churn"})
#: Tiles coloured by their rating (``RXL_Level_<key>``, from the Benchmarks sheet).
RATED_TILES: Final = ("repeat_rate", "clv_cac", "churn", "nps")
TILE_FILL: Final = "#F2F2F2"
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
        stamp = pd.Timestamp(str(start))
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


def _curve_names(ctx: Context, sheet: SheetPlan) -> None:
    """A legend name for every curve row without a cohort (never "Row 4")."""
    for i in range(CURVES):
        if (BLOCK_ROW + 1 + i, CURVE_COL) not in sheet.cells:
            sheet.put(BLOCK_ROW + 1 + i, CURVE_COL, ctx.t("chart.no_cohort"))


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
        stamp = pd.Timestamp(str(start))
        sheet.put(r, c, f"{stamp.year}-{stamp.month:02d}")
        for j, (key, sign) in enumerate(
            (("new", 1), ("expansion", 1), ("reactivation", 1), ("contraction", -1), ("churn", -1))
        ):
            sheet.put(r, c + 1 + j, sign * float(row[key]), style="currency")


def _charts(ctx: Context) -> list[ChartSpec]:
    """The Dashboard's five charts, on a grid of two rows under the tiles; their data
    sit in hidden columns of the sheet."""
    charts = [
        _retention_chart(ctx),
        _nps_chart(ctx),
        _benchmark_chart(ctx),
        _monthly_chart(ctx),
        _mrr_chart(ctx),
    ]
    for chart in charts:
        chart["size"] = CHART_SIZE
        chart["hidden_data"] = True
    return charts


def _retention_chart(ctx: Context) -> ChartSpec:
    """Retention curves: one line per recent cohort over the months since its first."""
    curves = [
        series_spec(
            (BLOCK_ROW + 1 + i, CURVE_COL),
            (BLOCK_ROW + 1 + i, CURVE_COL + 1, BLOCK_ROW + 1 + i, CURVE_COL + 1 + CURVE_OFFSETS),
            (BLOCK_ROW, CURVE_COL + 1, BLOCK_ROW, CURVE_COL + 1 + CURVE_OFFSETS),
            marker=True,
        )
        for i in range(CURVES)
    ]
    return {
        "key": "retention_curves",
        "type": "line",
        "title": ctx.t("chart.retention_curves"),
        "x_title": ctx.t("chart.months_since_first"),
        "y_title": ctx.t("chart.share_active"),
        "y_format": "0%",
        "y_min": 0,  # a rate: the axis starts at 0, so gaps are not exaggerated
        "y_max": 1,  # a share of the cohort, never above 100 % (nor 1200 % when empty)
        "series": curves,
        "anchor": (GRID_ROW, 0),
    }


def _nps_chart(ctx: Context) -> ChartSpec:
    """NPS doughnut: promoters, passives, detractors in green, yellow, red."""
    return {
        "key": "nps_breakdown",
        "type": "doughnut",
        "title": ctx.t("chart.nps"),
        "series": [
            series_spec(
                (BLOCK_ROW, NPS_COL + 1),
                (BLOCK_ROW + 1, NPS_COL + 1, BLOCK_ROW + 3, NPS_COL + 1),
                (BLOCK_ROW + 1, NPS_COL, BLOCK_ROW + 3, NPS_COL),
                points=["#63BE7B", "#FFEB84", "#F8696B"],
            )
        ],
        "anchor": (GRID_ROW + CHART_ROWS, 0),
        "data_labels": "percentage",
    }


def _benchmark_chart(ctx: Context) -> ChartSpec:
    """KPIs against their benchmarks: bars as a share of the target."""
    n = len(BENCHMARKS)
    return {
        "key": "kpi_vs_benchmark",
        "type": "bar",
        "title": ctx.t("chart.kpi_vs_benchmark"),
        "x_title": ctx.t("chart.pct_of_target"),
        "y_format": "0%",
        "y_min": 0,
        "value_labels_slanted": True,  # 0 % ... 180 %: upright, they ran together
        "series": [
            series_spec(
                (BLOCK_ROW, BENCH_COL + 1 + j),
                (BLOCK_ROW + 1, BENCH_COL + 1 + j, BLOCK_ROW + n, BENCH_COL + 1 + j),
                (BLOCK_ROW + 1, BENCH_COL, BLOCK_ROW + n, BENCH_COL),
            )
            for j in range(2)
        ],
        "anchor": (GRID_ROW, 4),
    }


def _monthly_chart(ctx: Context) -> ChartSpec:
    """Monthly revenue (columns) with active customers (line, right axis)."""
    first, last = BLOCK_ROW + 1, BLOCK_ROW + MONTHS
    cats = (first, MONTHLY_COL, last, MONTHLY_COL)
    return {
        "key": "monthly_revenue",
        "type": "column",
        "title": ctx.t("chart.monthly"),
        "y_title": ctx.t("col.revenue"),
        "y_format": "#,##0",
        "y2_title": ctx.t("col.active"),
        "y2_format": "#,##0",
        "series": [
            series_spec(
                (BLOCK_ROW, MONTHLY_COL + 1),
                (first, MONTHLY_COL + 1, last, MONTHLY_COL + 1),
                cats,
            )
        ],
        "line_series": [
            series_spec(
                (BLOCK_ROW, MONTHLY_COL + 2),
                (first, MONTHLY_COL + 2, last, MONTHLY_COL + 2),
                cats,
                y2_axis=True,
            )
        ],
        "anchor": (GRID_ROW, 2),
    }


def _mrr_chart(ctx: Context) -> ChartSpec:
    """MRR movements as stacked columns. Always there, empty without subscriptions,
    so a template or an orders-only report refreshed with subscriptions gets it too
    (refresh never adds charts)."""
    first, last = BLOCK_ROW + 1, BLOCK_ROW + MONTHS
    cats = (first, MRR_COL, last, MRR_COL)
    return {
        "key": "mrr_movements",
        "type": "column",
        "subtype": "stacked",
        "title": ctx.t("chart.mrr_movements"),
        "x_labels_low": True,  # month labels under the negative bars
        "y_format": "#,##0",
        "series": [
            series_spec(
                (BLOCK_ROW, MRR_COL + 1 + j),
                (first, MRR_COL + 1 + j, last, MRR_COL + 1 + j),
                cats,
            )
            for j in range(5)
        ],
        "anchor": (GRID_ROW + CHART_ROWS, 2),
    }


def _monthly_tail(ctx: Context, prefix: str) -> pd.DataFrame | None:
    data = ctx.data
    if data is None:
        return None
    frame = data.monthly if prefix == "Monthly" else data.movements
    if frame is None or frame.empty:
        return None
    return frame.iloc[-TREND_MONTHS:]


def _trend_block(ctx: Context, sheet: SheetPlan) -> None:
    """The last 12 months of each sparkline's figure, as formulas over the Monthly and
    MRR tabs (the oldest month first; blank before the first month)."""
    for j, (key, (prefix, column)) in enumerate(TREND_COLUMNS.items()):
        c = TREND_COL + j
        sheet.put(BLOCK_ROW, c, ctx.t(f"kpi.{key}"), style="header")
        count = f"COUNT({prefix}_{'period' if prefix == 'Monthly' else 'month'})"
        tail = _monthly_tail(ctx, prefix)
        for k in range(TREND_MONTHS):
            back = TREND_MONTHS - 1 - k
            at = f"{count}-{back}" if back else count
            if "/" in column:
                top, bottom = (f"INDEX({prefix}_{name},{at})" for name in column.split("/"))
                expr = f'IF(OR({bottom}="",{bottom}=0),"",{top}/{bottom})'
            else:
                value = f"INDEX({prefix}_{column},{at})"
                expr = f'IF({value}="","",{value})'
            cached_value: Any = ""
            if tail is not None and back < len(tail):
                row = tail.iloc[len(tail) - 1 - back]
                if "/" in column:
                    top_v, bottom_v = (float(row[name]) for name in column.split("/"))
                    cached_value = "" if bottom_v == 0 else top_v / bottom_v
                else:
                    cached_value = cached(float(row[column]))
            sheet.put(
                BLOCK_ROW + 1 + k, c, cached_value, formula=f'=IF({at}<1,"",{expr})', style=None
            )


def _period_expr(key: str, r: str, months: int, years: float) -> str:
    """The per-period figure of tile ``key`` at Periods row ``r`` (a formula)."""

    def at(column: str) -> str:
        return f"INDEX(Periods_{column},{r})"

    def plain(column: str) -> str:
        return f'IF({at(column)}="","",{at(column)})'

    simple = {
        "revenue": "revenue",
        "customers": "buyers",
        "orders": "orders",
        "aov": "aov",
        "churn": "churn",
        "crr": "crr",
    }
    if key in simple:
        return plain(simple[key])
    if key == "repeat_rate":
        b = at("buyers")
        return f'IF(OR({b}="",{b}=0),"",{at("repeat_customers")}/{b})'
    if key in ("clv", "clv_cac"):
        annual = f"(1-(1-{at('churn')})^(1/{years!r}))"
        clv = (
            f"{at('aov')}*(({at('orders')}/{at('buyers')})/{years!r})*(1/{annual})"
            "*Input_GrossMargin"
        )
        guard_clv = f'OR({at("churn")}="",{at("orders")}=0,{at("buyers")}=0,Input_GrossMargin="")'
        value = f'IF({guard_clv},"",IF({annual}<=0,"",{clv}))'
        if key == "clv":
            return value
        return f'IF(OR(Input_CAC="",Input_CAC<=0),"",IF({value}="","",{value}/Input_CAC))'
    if key in ("nps", "csat"):
        start = at("period")
        end = f"DATE(YEAR({start}),MONTH({start})+{months},1)"  # periods start on the 1st
        when = f'Survey_answered_at,">="&{start},Survey_answered_at,"<"&{end}'
        crit = f'Survey_kind,"{key}",{when},Survey_score'
        total = f'COUNTIFS({crit},">=0")'
        if key == "nps":
            share = f'100*(COUNTIFS({crit},">=9")-COUNTIFS({crit},"<=6"))/{total}'
        else:
            share = f'COUNTIFS({crit},">=4")/{total}'
        return f'IF({start}="","",IF({total}=0,"",{share}))'
    raise KeyError(key)


def _period_value(ctx: Context, key: str, pos: int) -> float:
    """The cached value of :func:`_period_expr` for the period at position ``pos``."""
    data = ctx.data
    if data is None or data.periods is None or not 0 <= pos < len(data.periods):
        return math.nan
    row = data.periods.iloc[pos]
    simple = {"revenue": "revenue", "customers": "buyers", "orders": "orders", "aov": "aov"}
    simple.update(churn="churn", crr="crr")
    if key in simple:
        return float(row[simple[key]])
    if key == "repeat_rate":
        buyers = float(row["buyers"])
        return math.nan if buyers == 0 else float(row["repeat_customers"]) / buyers
    if key in ("clv", "clv_cac"):
        years = PERIOD_YEARS[ctx.settings.period]
        churn = float(row["churn"])
        orders, buyers = float(row["orders"]), float(row["buyers"])
        if math.isnan(churn) or orders == 0 or buyers == 0:
            return math.nan
        annual = 1.0 - (1.0 - churn) ** (1.0 / years)
        if annual <= 0:
            return math.nan
        clv = float(row["aov"]) * ((orders / buyers) / years) * (1.0 / annual)
        clv *= ctx.settings.gross_margin
        if key == "clv":
            return float(clv)
        cac = ctx.settings.cac
        return math.nan if cac is None or cac <= 0 else clv / cac
    # nps, csat: the answers dated inside the period
    survey = data.survey
    if survey is None or survey.empty:
        return math.nan
    start = pd.Timestamp(data.periods.index[pos])
    end = start + pd.DateOffset(months=_MONTHS[ctx.settings.period])
    when = pd.to_datetime(survey["answered_at"])
    scores = survey.loc[(survey["kind"] == key) & (when >= start) & (when < end), "score"].astype(
        float
    )
    scores = scores[scores >= 0]
    if scores.empty:
        return math.nan
    if key == "nps":
        return float(100 * ((scores >= 9).sum() - (scores <= 6).sum()) / len(scores))
    return float((scores >= 4).sum() / len(scores))


_MONTHS: Final = {"M": 1, "Q": 3, "Y": 12}


def _change(kind: str, current: float, previous: float) -> float:
    if math.isnan(current) or math.isnan(previous):
        return math.nan
    if kind == "rel":
        return math.nan if previous <= 0 else current / previous - 1
    if kind == "pt":
        return (current - previous) * 100
    return current - previous


def _delta_block(ctx: Context, sheet: SheetPlan) -> dict[str, str]:
    """Per tile: its figure in the chosen period, in the one before, and the change.
    Returns the cell of each tile's change."""
    c = DELTA_COL
    _block_header(
        sheet,
        c,
        [ctx.t("col.kpi"), ctx.t("col.current"), ctx.t("col.previous"), ctx.t("col.change")],
    )
    data = ctx.data
    years = PERIOD_YEARS[ctx.settings.period]
    months = _MONTHS[ctx.settings.period]
    p = "RXL_PeriodRow"
    pos = -1
    if data is not None and data.periods is not None and data.chosen_period is not None:
        pos = list(data.periods.index).index(data.chosen_period)
    out: dict[str, str] = {}
    for i, (key, kind) in enumerate(DELTAS.items()):
        r = BLOCK_ROW + 1 + i
        sheet.put(r, c, ctx.t(f"kpi.{key}"))
        if key == "mrr":
            n = "COUNT(Mrr_month)"
            last = f"INDEX(Mrr_ending_mrr,{n})"
            before = f"INDEX(Mrr_ending_mrr,{n}-1)"
            cur_f = f'=IF({n}<1,"",IF({last}="","",{last}))'
            prev_f = f'=IF({n}<2,"",IF({before}="","",{before}))'
            moves = None if data is None else data.movements
            cur_v = math.nan
            prev_v = math.nan
            if moves is not None and len(moves) >= 1:
                cur_v = float(moves["ending_mrr"].iloc[-1])
            if moves is not None and len(moves) >= 2:
                prev_v = float(moves["ending_mrr"].iloc[-2])
        else:
            cur_f = f'=IF({p}="","",{_period_expr(key, p, months, years)})'
            prev_f = f'=IF({p}="","",IF({p}<2,"",{_period_expr(key, f"{p}-1", months, years)}))'
            cur_v = _period_value(ctx, key, pos) if pos >= 0 else math.nan
            prev_v = _period_value(ctx, key, pos - 1) if pos >= 1 else math.nan
        sheet.put(r, c + 1, cached(cur_v), formula=cur_f)
        sheet.put(r, c + 2, cached(prev_v), formula=prev_f)
        now, then = cell(r, c + 1, absolute=False), cell(r, c + 2, absolute=False)
        if kind == "rel":
            change = f'=IF(OR({now}="",{then}="",{then}<=0),"",{now}/{then}-1)'
        elif kind == "pt":
            change = f'=IF(OR({now}="",{then}=""),"",({now}-{then})*100)'
        else:
            change = f'=IF(OR({now}="",{then}=""),"",{now}-{then})'
        sheet.put(r, c + 3, cached(_change(kind, cur_v, prev_v)), formula=change)
        out[key] = cell(r, c + 3)
    return out


def _tiles(ctx: Context, sheet: SheetPlan, changes: dict[str, str]) -> None:
    """The KPI tiles, rows of four cells each: label, value (coloured by its rating),
    change against the period before (green better, red worse) and a sparkline."""
    values = kpi_values(ctx)
    cac = ctx.settings.cac
    asks = {  # without a CAC there is no ratio: its change line says where the CAC goes
        "clv_cac": _Ask(
            'OR(Input_CAC="",Input_CAC<=0)',
            "no_cac",
            ctx.t("dashboard.no_cac") if cac is None or cac <= 0 else None,
        )
    }
    for tile_row, keys in zip(TILE_ROWS, TILES, strict=True):
        sheet.row_heights[tile_row] = 30.0  # two lines: "MRR (ricavi ricorrenti mensili) (2024-12)"
        sheet.row_heights[tile_row + 1] = 30.0
        sheet.row_heights[tile_row + 2] = 15.0
        sheet.row_heights[tile_row + 3] = 24.0
        for col, key in enumerate(keys):
            label_row, value_row, change_row, spark_row = range(tile_row, tile_row + 4)
            if key == "mrr":  # names its month: "MRR (2025-02)"
                _month_label(ctx, sheet, label_row, col, ctx.t(f"kpi.{key}"))
            else:
                sheet.put(label_row, col, ctx.t(f"kpi.{key}"), style="tile_label")
            style = "tile_" + UNIT_STYLES[KPI_UNITS[key]]
            sheet.put(value_row, col, cached(values[key]), formula=f"=KPI_{key}", style=style)
            if key in RATED_TILES:
                _rating_colours(sheet, key, cell(value_row, col, absolute=False))
            _change_cell(sheet, key, change_row, col, changes[key], ask=asks.get(key))
            sheet.put(spark_row, col, None, style="tile_spark")
            if key in TREND_COLUMNS:
                sheet.charts.append(_sparkline(ctx, key, spark_row, col))


def _rating_colours(sheet: SheetPlan, key: str, target: str) -> None:
    """The value's fill by its rating (``RXL_Level_KEY``: 4 best ... 1 below average),
    as conditional formats, so it follows recalculation."""
    for level, colour in ((4, BEST), (3, GOOD), (2, FAIR), (1, BAD)):
        sheet.conditional_formats.append(
            {
                "range": target,
                "type": "formula",
                "criteria": f"=RXL_Level_{key}={level}",
                "format": {"bg_color": colour},
            }
        )


@dataclass(frozen=True, slots=True)
class _Ask:
    """What a tile's change line says while an input it needs is blank: the blank
    test (a formula), the :data:`TEXTS` row that says where to enter it, and the
    cached text (None when the input is there)."""

    condition: str
    text: str
    shown: str | None


def _change_cell(
    sheet: SheetPlan, key: str, row: int, col: int, ref: str, *, ask: _Ask | None = None
) -> None:
    """The change against the period before, read from ``ref``; green when better
    (up, or down for the KPIs where lower is better), red when worse. With ``ask``,
    the line asks for a missing input instead."""
    change = f'IF({ref}="","",{ref})'
    value = sheet.cells[_at(ref)].value
    if ask is not None:
        change = f"IF({ask.condition},{_text(ask.text)},{change})"
        value = value if ask.shown is None else ask.shown
    sheet.put(row, col, value, formula=f"={change}", style=f"delta_{DELTAS[key]}")
    better, worse = (">", "<") if key not in LOWER_IS_BETTER else ("<", ">")
    for op, colour in ((better, UP_COLOUR), (worse, DOWN_COLOUR)):
        sheet.conditional_formats.append(
            {
                "range": cell(row, col, absolute=False),
                "type": "formula",
                "criteria": f"=AND(ISNUMBER({ref}),{ref}{op}0)",
                "format": {"font_color": colour},
            }
        )


def _sparkline(ctx: Context, key: str, row: int, col: int) -> ChartSpec:
    """A sparkline: a small line chart without axes over the KPI's last months."""
    c = TREND_COL + list(TREND_COLUMNS).index(key)
    block = (BLOCK_ROW + 1, c, BLOCK_ROW + TREND_MONTHS, c)
    return {
        "key": f"trend_{key}",
        "type": "line",
        "mini": True,
        "title": ctx.t(f"kpi.{key}"),
        "series": [series_spec((BLOCK_ROW, c), block, block)],
        "anchor": (row, col),
        "size": (SPARK_SIZE[0], SPARK_SIZE[1]),
        "hidden_data": True,
    }


UP_COLOUR: Final = "#1E7B34"
DOWN_COLOUR: Final = "#C00000"


def _at(ref: str) -> tuple[int, int]:
    """(row, col) of an absolute A1 reference such as ``$BK$3``."""
    letters = "".join(ch for ch in ref if ch.isalpha())
    digits = "".join(ch for ch in ref if ch.isdigit())
    col = 0
    for ch in letters:
        col = col * 26 + (ord(ch) - 64)
    return int(digits) - 1, col - 1


def _comparison(ctx: Context, sheet: SheetPlan) -> None:
    """Row 2, right: which periods the ▲/▼ lines compare (a formula, so it follows the
    chosen period)."""
    p = "RXL_PeriodRow"
    data = ctx.data
    text = ""
    if data is not None and data.periods is not None and data.chosen_period is not None:
        pos = list(data.periods.index).index(data.chosen_period)
        if pos >= 1:
            labels = list(period_frame(data.periods, ctx.settings.period)["label"])
            text = ctx.t("dashboard.compare").format(now=labels[pos], then=labels[pos - 1])
    now, then = f"INDEX(Periods_label,{p})", f"INDEX(Periods_label,{p}-1)"
    before, middle, after = (_text(f"compare_{w}") for w in ("before", "middle", "after"))
    expr = f"{before}&{now}&{middle}&{then}&{after}"
    sheet.put(
        1,
        COLUMNS - 1,
        text,
        formula=f'=IF({p}="","",IF({p}<2,"",{expr}))',
        style="note_right",
    )


def _text(name: str) -> str:
    """The absolute reference of one of :data:`TEXTS`."""
    return cell(BLOCK_ROW + 1 + TEXTS.index(name), TEXT_COL)


def _text_block(ctx: Context, sheet: SheetPlan) -> None:
    template = ctx.t("dashboard.compare")
    before, rest = template.split("{now}")
    middle, after = rest.split("{then}")
    words = {
        "no_target": ctx.t("dashboard.no_target"),
        "compare_before": before,
        "compare_middle": middle,
        "compare_after": after,
        "no_cac": ctx.t("dashboard.no_cac"),
    }
    sheet.put(BLOCK_ROW, TEXT_COL, ctx.t("dashboard.texts"), style="header")
    for i, name in enumerate(TEXTS):
        sheet.put(BLOCK_ROW + 1 + i, TEXT_COL, words[name])


def _progress(ctx: Context, sheet: SheetPlan) -> None:
    """Progress toward the targets, in the grid's last cell (columns E:F)."""
    from retention_xl.workbook.sheets.benchmarks import effective_target, progress

    values = kpi_values(ctx)
    c = PROGRESS_COL
    sheet.put(PROGRESS_ROW + 1, c, ctx.t("dashboard.progress"), style="subtitle")
    no_target = _text("no_target")
    for i, (key, (_, target_name, direction, _rated)) in enumerate(BENCH_ROWS.items()):
        r = PROGRESS_ROW + 2 + i
        sheet.put(r, c, ctx.t(f"kpi.{key}"), style="label")
        target = effective_target(ctx, key, target_name)
        prog = progress(values[key], target, direction)
        shown: Any = ctx.t("dashboard.no_target") if target is None else cached(prog)
        sheet.put(
            r,
            c + 1,
            shown,
            formula=f'=IF(RXL_Target_{key}="",{no_target},'
            f'IF(RXL_Progress_{key}="","",RXL_Progress_{key}))',
            style="progress",
        )
    first, last = PROGRESS_ROW + 2, PROGRESS_ROW + 1 + len(BENCH_ROWS)
    sheet.conditional_formats.append(
        {
            "range": block_range(first, c + 1, last, c + 1),
            "type": "data_bar",
            "min_type": "num",
            "min_value": 0,
            "max_type": "num",
            "max_value": 1,
            "bar_color": "#63BE7B",
            "bar_solid": True,
        }
    )
    sheet.put(last + 1, c, ctx.t("dashboard.targets_where"), style="note")
    _forecast_lines(ctx, sheet, last + 3)


def _forecast_lines(ctx: Context, sheet: SheetPlan, row: int) -> None:
    """Expected revenue of the next 12 months and its 90 % interval (the Predictions
    sheet's values, by name)."""
    c = PROGRESS_COL
    totals = None if ctx.data is None else ctx.data.prediction_totals
    for i, (key, col) in enumerate(
        (("dashboard.forecast", "value"), ("dashboard.forecast_low", "low"),
         ("dashboard.forecast_high", "high"))
    ):  # fmt: skip
        sheet.put(row + i, c, ctx.t(key), style="label" if col == "value" else "note")
        value: Any = ""
        if totals is not None and "revenue" in totals.index:
            value = cached(float(totals[col].to_dict()["revenue"]))
        name = "RXL_Forecast_revenue" + ("" if col == "value" else f"_{col}")
        sheet.put(row + i, c + 1, value, formula=f'=IF({name}="","",{name})', style="currency")


def plan_dashboard(ctx: Context) -> SheetPlan:
    sheet = SheetPlan(role="DASHBOARD", title=ctx.titles["DASHBOARD"])
    for col in range(COLUMNS):
        sheet.col_widths[col] = COL_WIDTH
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
    sheet.put(2, 0, ctx.t("dashboard.legend"), style="note")
    sheet.row_heights[0] = 24.0
    # hidden chart data (written first: the tiles read the changes' cached values)
    sheet.put(0, DATA_COL, ctx.t("dashboard.chart_data"), style="subtitle")
    _monthly_block(ctx, sheet)
    _nps_block(ctx, sheet)
    _bench_block(ctx, sheet, kpi_values(ctx))
    _curve_block(ctx, sheet)
    _curve_names(ctx, sheet)
    _mrr_block(ctx, sheet)
    _trend_block(ctx, sheet)
    changes = _delta_block(ctx, sheet)
    _text_block(ctx, sheet)
    _tiles(ctx, sheet, changes)
    _comparison(ctx, sheet)
    _progress(ctx, sheet)
    sheet.charts.extend(_charts(ctx))
    sheet.hidden_cols.update(range(DATA_COL, TEXT_COL + 1))
    sheet.print_setup = {
        "landscape": True,
        "paper": 9,
        "fit_width": 1,
        "fit_height": 1,
        "print_area": (0, 0, LAST_ROW, COLUMNS - 1),
        "center_horizontally": True,
    }
    sheet.tab_color = "#1F4E78"
    return sheet
