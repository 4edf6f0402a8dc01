"""The Benchmarks sheet: each KPI against the article benchmarks and the user's targets.

One row per benchmarked KPI (``repeat_rate``, ``clv_cac``, ``at_risk_share`` of
:mod:`retention_xl.core.benchmarks`, thresholds of the chosen market) and per KPI with
only a user target (churn, NPS). Formulas compute the level (1 below .. 4 excellent,
as :func:`~retention_xl.core.benchmarks.rate_kpi`), the rating text (looked up in the
localised level labels, so the formula is the same in every language), the gap to the
user's target (:func:`~retention_xl.core.benchmarks.gap_to_target`) and the progress
toward it (``value / target`` capped to 0..1, ``target / value`` when lower is
better). Traffic-light conditional formats colour the rating by level; data bars show
the progress.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

from retention_xl.core.benchmarks import (
    ACQUISITION_VS_RETENTION_COST,
    BENCHMARKS,
    LEVELS,
    benchmark_table,
    rate_kpi,
)
from retention_xl.core.report import KPI_UNITS
from retention_xl.workbook.formulas import block_range, cell, col_letter
from retention_xl.workbook.plan import SheetPlan
from retention_xl.workbook.sheets.base import Context, blank, cached
from retention_xl.workbook.sheets.kpis import UNIT_STYLES, kpi_values
from retention_xl.workbook.styles import BAD, BEST, FAIR, GOOD

__all__ = ["BENCH_ROWS", "COLUMNS", "effective_target", "plan_benchmarks", "progress"]

HEADER: Final = 3
#: KPI key -> (row, target input, direction, rated)
BENCH_ROWS: Final = {
    "repeat_rate": (4, "Target_RepeatRate", "higher", True),
    "clv_cac": (5, "Target_ClvCac", "higher", True),
    "at_risk_share": (6, "Target_AtRiskShare", "lower", True),
    "churn": (7, "Target_Churn", "lower", False),
    "nps": (8, "Target_NPS", "higher", False),
}
FACT_ROW: Final = 10
LEVELS_ROW: Final = 13  # header; labels below .. excellent on the next four rows
MET_ROW: Final = 19  # "target met", then "not yet", then "no data"
COLUMNS: Final = (
    "col.kpi",
    "col.your_value",
    "level.average",
    "level.healthy",
    "level.excellent_target",
    "col.rating",
    "col.your_target",
    "col.gap",
    "col.progress",
    "col.target_status",
    "col.level",
    "col.source",
    "col.article_note",
)
V, AVG, HEALTHY, EXC, RATING, TARGET, GAP, PROGRESS, STATUS, LEVEL, SOURCE, NOTE = range(1, 13)


def progress(value: float, target: float | None, direction: str) -> float:
    """Progress toward ``target``: ``value / target`` (``target / value`` when lower is
    better), clipped to 0..1; NaN when undefined.

    >>> progress(0.15, 0.30, "higher"), progress(0.36, 0.18, "lower")
    (0.5, 0.5)
    """
    if blank(value) or target is None:
        return math.nan
    if direction == "higher":
        return math.nan if target <= 0 else min(1.0, max(0.0, value / target))
    return 1.0 if value <= 0 else min(1.0, max(0.0, target / value))


#: Where the rating formulas' labels sit: a hidden column beside the table.
LOOKUP_COL: Final = 14


def effective_target(ctx: Context, key: str, target_name: str) -> float | None:
    """The target the progress is measured against: the input, or for churn left
    blank, the previous period's churn (do better than last period)."""
    target = ctx.settings.target(target_name)
    if target is not None or key != "churn":
        return target
    data = ctx.data
    if data is None or data.periods is None or data.chosen_period is None:
        return None
    pos = list(data.periods.index).index(data.chosen_period)
    if pos < 1:
        return None
    previous = float(data.periods["churn"].iloc[pos - 1])
    return None if math.isnan(previous) else previous


def _target_formula(key: str, target_name: str) -> str:
    if key != "churn":
        return f'=IF({target_name}="","",{target_name})'
    p = "RXL_PeriodRow"
    before = f"INDEX(Periods_churn,{p}-1)"
    previous = f'IF(OR({p}="",{p}<2),"",IF({before}="","",{before}))'
    return f'=IF({target_name}="",{previous},{target_name})'


def _level_formula(r: str, direction: str) -> str:
    v, a, h, e = (cell(int(r) - 1, c, absolute=False) for c in (V, AVG, HEALTHY, EXC))
    op = ">=" if direction == "higher" else "<="
    return f'=IF({v}="","",IF({v}{op}{e},4,IF({v}{op}{h},3,IF({v}{op}{a},2,1))))'


@dataclass(frozen=True)
class _Lookups:
    """Where the rating and status formulas find their localised words (hidden
    helper column): the level labels' range and the met / not met / no data cells."""

    labels: str
    met: str
    not_met: str
    no_data: str


def _lookups() -> _Lookups:
    lc = LOOKUP_COL
    first, last = LEVELS_ROW + 1, LEVELS_ROW + len(LEVELS)
    return _Lookups(
        labels=block_range(first, lc, last, lc),
        met=cell(MET_ROW, lc),
        not_met=cell(MET_ROW + 1, lc),
        no_data=cell(MET_ROW + 2, lc),
    )


def _rated_cells(
    ctx: Context, sheet: SheetPlan, key: str, row: int, direction: str, value: float,
    table: Any, words: _Lookups,
) -> None:  # fmt: skip
    """A KPI with published benchmarks: their values, its level (1..4) and rating, the
    source and the note."""
    style = UNIT_STYLES[KPI_UNITS[key]]
    market = ctx.settings.market
    for col, lev in ((AVG, "average"), (HEALTHY, "healthy"), (EXC, "excellent")):
        sheet.put(row, col, float(table[lev].to_dict()[key]), style=style)
    level = math.nan
    if not blank(value):
        level = float(LEVELS.index(rate_kpi(key, value, market=market)) + 1)
    sheet.put(row, LEVEL, cached(level), formula=_level_formula(str(row + 1), direction))
    # no value: "no data" once there are customers, blank in an empty template
    has_customers = ctx.data is not None and ctx.data.summary is not None
    if math.isnan(level):
        rating = ctx.t("bench.no_data") if has_customers else ""
    else:
        rating = ctx.t(f"level.{LEVELS[int(level) - 1]}")
    missing = f'IF(COUNT(Customers_orders)=0,"",{words.no_data})'
    level_ref = cell(row, LEVEL, absolute=False)
    sheet.put(
        row,
        RATING,
        rating,
        formula=f'=IF({level_ref}="",{missing},INDEX({words.labels},{level_ref}))',
    )
    sheet.put(row, SOURCE, BENCHMARKS[key].source, style="text")
    sheet.put(row, NOTE, ctx.t(f"bench.{key}.note"), style="note")


def _target_cells(
    ctx: Context, sheet: SheetPlan, key: str, spec: tuple[int, str, str, bool],
    value: float, words: _Lookups,
) -> None:  # fmt: skip
    """The target (the user's, or the default), the gap to it, the progress bar's
    share and the met / not met status; a KPI without benchmarks gets its traffic
    light from the status (4 met, 1 not)."""
    row, target_name, direction, rated = spec
    style = UNIT_STYLES[KPI_UNITS[key]]
    target = effective_target(ctx, key, target_name)
    sheet.put(row, TARGET, cached(target), formula=_target_formula(key, target_name), style=style)
    gap = math.nan
    if not blank(value) and target is not None:
        gap = target - value if direction == "higher" else value - target
    v, t = cell(row, V, absolute=False), cell(row, TARGET, absolute=False)
    gap_ref = cell(row, GAP, absolute=False)
    diff = f"{t}-{v}" if direction == "higher" else f"{v}-{t}"
    sheet.put(row, GAP, cached(gap), formula=f'=IF(OR({v}="",{t}=""),"",{diff})', style=style)
    if direction == "higher":
        prog = f'IF({t}<=0,"",MIN(1,MAX(0,{v}/{t})))'
    else:
        prog = f"IF({v}<=0,1,MIN(1,MAX(0,{t}/{v})))"
    sheet.put(
        row,
        PROGRESS,
        cached(progress(value, target, direction)),
        formula=f'=IF(OR({v}="",{t}=""),"",{prog})',
        style="percent",
    )
    status = ""
    if not math.isnan(gap):
        status = ctx.t("target.met") if gap <= 0 else ctx.t("target.not_met")
    sheet.put(
        row,
        STATUS,
        status,
        formula=f'=IF({gap_ref}="","",IF({gap_ref}<=0,{words.met},{words.not_met}))',
    )
    if not rated:
        light = math.nan if math.isnan(gap) else (4.0 if gap <= 0 else 1.0)
        sheet.put(row, LEVEL, cached(light), formula=f'=IF({gap_ref}="","",IF({gap_ref}<=0,4,1))')
        sheet.put(row, NOTE, ctx.t(f"bench.{key}.note"), style="note")


def _helper_column(ctx: Context, sheet: SheetPlan) -> None:
    """The fact row, and the localised words the formulas look up with the level
    numbers the colours follow, in hidden columns."""
    fact = ACQUISITION_VS_RETENTION_COST
    sheet.put(FACT_ROW, 0, ctx.t("bench.fact.label"), style="label")
    sheet.put(FACT_ROW, V, fact.value, style="number")
    sheet.put(FACT_ROW, SOURCE, fact.source, style="text")
    sheet.put(FACT_ROW, NOTE, ctx.t("bench.fact.note"), style="note")
    lc = LOOKUP_COL
    sheet.put(LEVELS_ROW, lc, ctx.t("bench.levels"), style="header")
    for i, name in enumerate(LEVELS):
        sheet.put(LEVELS_ROW + 1 + i, lc, ctx.t(f"level.{name}"))
    sheet.put(MET_ROW, lc, ctx.t("target.met"))
    sheet.put(MET_ROW + 1, lc, ctx.t("target.not_met"))
    sheet.put(MET_ROW + 2, lc, ctx.t("bench.no_data"))
    sheet.hidden_cols.update({LEVEL, lc})


def _colours(sheet: SheetPlan) -> None:
    """Traffic lights on the rating and status columns, bars on the progress column."""
    first, last = min(r for r, *_ in BENCH_ROWS.values()), max(r for r, *_ in BENCH_ROWS.values())
    level_ref = f"${col_letter(LEVEL)}{first + 1}"
    for target_col in (RATING, STATUS):
        rng = block_range(first, target_col, last, target_col)
        for level, colour in ((4, BEST), (3, GOOD), (2, FAIR), (1, BAD)):
            sheet.conditional_formats.append(
                {
                    "range": rng,
                    "type": "formula",
                    "criteria": f"={level_ref}={level}",
                    "format": {"bg_color": colour},
                }
            )
    sheet.conditional_formats.append(
        {
            "range": block_range(first, PROGRESS, last, PROGRESS),
            "type": "data_bar",
            "min_type": "num",
            "min_value": 0,
            "max_type": "num",
            "max_value": 1,
            "bar_color": "#5B9BD5",
            "bar_solid": True,
        }
    )


def plan_benchmarks(ctx: Context) -> SheetPlan:
    """The Benchmarks sheet: one row per KPI with its value, the published benchmarks
    (where there are some) and its rating, the target, the gap and the status."""
    sheet = SheetPlan(role="BENCHMARKS", title=ctx.titles["BENCHMARKS"])
    widths = [44, 12, 10, 10, 14, 12, 12, 12, 12, 14, 7, 9, 70]
    sheet.col_widths.update({i: float(w) for i, w in enumerate(widths)})
    market = ctx.settings.market
    table = benchmark_table(market=market)
    sheet.put(0, 0, ctx.t("bench.title"), style="title")
    sheet.put(1, 0, ctx.t("bench.note").format(market=market.upper()), style="note")
    for col, key in enumerate(COLUMNS):
        sheet.put(HEADER, col, ctx.t(key), style="header")
    values = kpi_values(ctx)
    words = _lookups()
    for key, spec in BENCH_ROWS.items():
        row, _, direction, rated = spec
        sheet.put(row, 0, ctx.t(f"kpi.{key}"), style="label")
        style = UNIT_STYLES[KPI_UNITS[key]]
        sheet.put(row, V, cached(values[key]), formula=f"=KPI_{key}", style=style)
        if rated:
            _rated_cells(ctx, sheet, key, row, direction, values[key], table, words)
        _target_cells(ctx, sheet, key, spec, values[key], words)
        ctx.define(f"RXL_Progress_{key}", "BENCHMARKS", cell(row, PROGRESS))
        ctx.define(f"RXL_Target_{key}", "BENCHMARKS", cell(row, TARGET))
        ctx.define(f"RXL_Level_{key}", "BENCHMARKS", cell(row, LEVEL))
    _helper_column(ctx, sheet)
    _colours(sheet)
    sheet.freeze = (HEADER + 1, 1)
    sheet.tab_color = "#ED7D31"
    sheet.print_setup = {"landscape": True, "paper": 9, "fit_width": 1, "fit_height": 0}
    return sheet
