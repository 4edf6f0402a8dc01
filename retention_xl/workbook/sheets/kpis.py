"""The KPIs sheet: named inputs, then every headline KPI as a native formula.

Inputs (highlighted, validated, named by :data:`~retention_xl.workbook.plan.INPUT_NAMES`)
sit in column B of rows 5-14. Every KPI value cell is named ``KPI_<key>`` (keys of
:data:`~retention_xl.core.report.KPI_UNITS`) and holds a formula whose cached value is
the core's number:

* orders, revenue and AOV: ``COUNTIFS`` / ``SUMIFS`` over the Orders tab (a row is a
  purchase when its status is neither cancelled nor refunded and its amount is > 0);
* NPS and CSAT: ``COUNTIFS`` over the Survey tab; so these compute as soon as data is
  pasted into a template;
* customers, orders per customer, repeat rate, customers at risk: the Customers tab;
* churn, retention, new and lost customers, lifespan, CLV, CLV : CAC: ``INDEX`` into the
  Periods tab at the row ``MATCH`` finds for the chosen period (``Input_Period``);
* MRR, ARR, ARPA, subscribers, logo churn, quick ratio: the last row of the MRR tab;
  NRR / GRR over 12 months: the values the MRR tab keeps.
"""

from __future__ import annotations

import math
from typing import Final, Literal

import pandas as pd

from retention_xl.core.report import KPI_UNITS
from retention_xl.io.formats.base import STATUS_WORDS
from retention_xl.workbook.data import PERIOD_YEARS, period_kpis
from retention_xl.workbook.formulas import cell, guard
from retention_xl.workbook.plan import SheetPlan, ValidationSpec
from retention_xl.workbook.sheets.base import Context, cached

__all__ = [
    "INPUT_ROWS",
    "KPI_ROWS",
    "UNIT_STYLES",
    "excel_serial",
    "formulas",
    "kpi_values",
    "plan_kpis",
]

UNIT_STYLES: Final = {
    "count": "count",
    "currency": "currency",
    "rate": "percent",
    "ratio": "ratio",
    "score": "score",
    "years": "years",
    "number": "number",
}

INPUT_HEADER: Final = 3
#: Input name -> (row, style, label key).
INPUT_ROWS: Final = {
    "Input_Period": (4, "input_date", "input.period"),
    "Input_WindowDays": (5, "input_count", "input.window_days"),
    "Input_CAC": (6, "input_currency", "input.cac"),
    "Input_GrossMargin": (7, "input_percent", "input.gross_margin"),
    "Input_DiscountRate": (8, "input_percent", "input.discount_rate"),
    "Target_RepeatRate": (9, "input_percent", "input.target_repeat_rate"),
    "Target_ClvCac": (10, "input_ratio", "input.target_clv_cac"),
    "Target_AtRiskShare": (11, "input_percent", "input.target_at_risk"),
    "Target_Churn": (12, "input_percent", "input.target_churn"),
    "Target_NPS": (13, "input_score", "input.target_nps"),
}
HELPER_ROW: Final = 15  # as of, period row, period length, subscription month
KPI_HEADER: Final = 19
KPI_ROWS: Final = {key: KPI_HEADER + 1 + i for i, key in enumerate(KPI_UNITS)}
VALUE_COL: Final = 1

_EXCEL_EPOCH: Final = pd.Timestamp("1899-12-30")

# Status words a person may type on the Orders tab, in English or Italian: the formulas
# leave out exactly the rows that the readers (refresh) read as cancelled or refunded,
# so "annullato" typed in the Italian template is no purchase, as "cancelled" is not.
_CANCELLED: Final = tuple(sorted(w for w, c in STATUS_WORDS.items() if c == "cancelled"))
_REFUNDED: Final = tuple(sorted(w for w, c in STATUS_WORDS.items() if c == "refunded"))


def _status_not(words: tuple[str, ...]) -> str:
    """COUNTIFS/SUMIFS criteria: the status is none of ``words`` (case-insensitive)."""
    return ",".join(f'Orders_status,"<>{word}"' for word in words)


# Criteria of a purchase row on the Orders tab.
_PURCHASE = f'Orders_amount,">0",{_status_not(_CANCELLED + _REFUNDED)}'
_KEPT = _status_not(_CANCELLED)
_NPS = 'Survey_kind,"nps",Survey_score'
_CSAT = 'Survey_kind,"csat",Survey_score'


def excel_serial(stamp: pd.Timestamp) -> float:
    """Excel's serial number of a date (1900 date system)."""
    return float((stamp - _EXCEL_EPOCH) / pd.Timedelta(days=1))


def _k(key: str) -> str:
    return f"KPI_{key}"


def _at(column: str) -> str:
    """The chosen period's value of a Periods column (blank stays blank)."""
    value = f"INDEX(Periods_{column},RXL_PeriodRow)"
    return guard('RXL_PeriodRow=""', f'IF({value}="","",{value})')


def _last(column: str) -> str:
    """The last month's value of an MRR column."""
    return f"INDEX(Mrr_{column},COUNT(Mrr_month))"


def _aggregate_formulas() -> dict[str, str]:
    """The KPIs an aggregate report computes from the per-cohort and Monthly tables
    instead of the Orders tab and the (limited) Customers sheet."""
    none_yet = "COUNT(Cohorts_customers)=0"
    customers = "SUM(Cohorts_customers)"
    return {
        "customers": guard(none_yet, customers),
        "orders": guard(none_yet, "SUM(Cohorts_orders)"),
        "revenue": guard("COUNT(Monthly_revenue)=0", "SUM(Monthly_revenue)"),
        "aov": guard('OR(KPI_orders="",KPI_orders=0)', "SUM(Cohorts_purchase_revenue)/KPI_orders"),
        "purchase_frequency": guard(
            f"OR({none_yet},{customers}=0)", f"SUM(Cohorts_orders)/{customers}"
        ),
        "repeat_rate": guard(
            f"OR({none_yet},{customers}=0)", f"SUM(Cohorts_repeat_customers)/{customers}"
        ),
        "at_risk_share": guard("SUM(Cohorts_scored)=0", "SUM(Cohorts_at_risk)/SUM(Cohorts_scored)"),
    }


def formulas(no_raw: bool, aggregate: bool = False) -> dict[str, str | None]:
    """The formula of every KPI (None: written as a value, with ``--no-raw``).

    An aggregate report (``aggregate``) reads the per-cohort and Monthly tables where
    other reports read the Orders tab and the Customers sheet.
    """
    raw: dict[str, str] = {
        "orders": guard("COUNT(Orders_order_date)=0", f"COUNTIFS({_PURCHASE})"),
        "revenue": guard(
            "COUNT(Orders_order_date)=0",
            f"SUMIFS(Orders_amount,{_KEPT})-SUMIFS(Orders_refunded,{_KEPT})",
        ),
        "aov": guard(
            'OR(KPI_orders="",KPI_orders=0)',
            f"(SUMIFS(Orders_amount,{_PURCHASE})-SUMIFS(Orders_refunded,{_PURCHASE}))/KPI_orders",
        ),
        "nps": guard(
            f'COUNTIFS({_NPS},">=0")=0',
            f'100*(COUNTIFS({_NPS},">=9")-COUNTIFS({_NPS},"<=6"))/COUNTIFS({_NPS},">=0")',
        ),
        "nps_answers": guard(f'COUNTIFS({_NPS},">=0")=0', f'COUNTIFS({_NPS},">=0")'),
        "csat": guard(
            f'COUNTIFS({_CSAT},">=0")=0',
            f'COUNTIFS({_CSAT},">=4")/COUNTIFS({_CSAT},">=0")',
        ),
        "csat_answers": guard(f'COUNTIFS({_CSAT},">=0")=0', f'COUNTIFS({_CSAT},">=0")'),
    }
    none_yet = "COUNT(Customers_orders)=0"
    churn = _k("churn")
    years = "RXL_PeriodYears"
    annual = f"(1-(1-{churn})^(1/{years}))"
    out: dict[str, str | None] = {
        "customers": guard(none_yet, "COUNT(Customers_orders)"),
        "orders": raw["orders"],
        "revenue": raw["revenue"],
        "aov": raw["aov"],
        "purchase_frequency": guard(none_yet, "SUM(Customers_orders)/COUNT(Customers_orders)"),
        "repeat_rate": guard(none_yet, 'COUNTIFS(Customers_orders,">=2")/COUNT(Customers_orders)'),
        "start_customers": _at("start_customers"),
        "new_customers": _at("new"),
        "lost_customers": _at("lost"),
        "churn": _at("churn"),
        "crr": _at("crr"),
        "lifespan": guard(f'{churn}=""', f'IF({annual}>0,1/{annual},"")'),
        "clv": guard(
            f'OR({_k("lifespan")}="",Input_GrossMargin="")',
            "IF(OR(INDEX(Periods_orders,RXL_PeriodRow)=0,INDEX(Periods_buyers,RXL_PeriodRow)=0),"
            '"",INDEX(Periods_aov,RXL_PeriodRow)*((INDEX(Periods_orders,RXL_PeriodRow)'
            f"/INDEX(Periods_buyers,RXL_PeriodRow))/{years})*{_k('lifespan')}*Input_GrossMargin)",
        ),
        "clv_cac": guard(
            f'OR({_k("clv")}="",Input_CAC="")', f'IF(Input_CAC<=0,"",{_k("clv")}/Input_CAC)'
        ),
        "at_risk_share": guard(
            "COUNT(Customers_p_alive)=0",
            'COUNTIFS(Customers_p_alive,"<0.5")/COUNT(Customers_p_alive)',
        ),
        "mrr": guard("COUNT(Mrr_month)=0", _last("ending_mrr")),
        "arr": guard(f'{_k("mrr")}=""', f"12*{_k('mrr')}"),
        "arpa": guard(
            f'OR({_k("mrr")}="",{_k("subscribers")}="",{_k("subscribers")}=0)',
            f"{_k('mrr')}/{_k('subscribers')}",
        ),
        "subscribers": guard("COUNT(Mrr_month)=0", _last("customers")),
        "logo_churn": guard(
            f"OR(COUNT(Mrr_month)=0,{_last('starting_customers')}=0)",
            f"{_last('churned_customers')}/{_last('starting_customers')}",
        ),
        "nrr": guard('Sub_nrr=""', "Sub_nrr"),
        "grr": guard('Sub_grr=""', "Sub_grr"),
        "quick_ratio": guard(
            f"OR(COUNT(Mrr_month)=0,{_last('contraction')}+{_last('churn')}<=0)",
            f"({_last('new')}+{_last('reactivation')}+{_last('expansion')})"
            f"/({_last('contraction')}+{_last('churn')})",
        ),
        "nps": raw["nps"],
        "nps_answers": raw["nps_answers"],
        "csat": raw["csat"],
        "csat_answers": raw["csat_answers"],
    }
    if no_raw:
        for key in raw:
            out[key] = None
    if aggregate:
        out.update(_aggregate_formulas())
    return {k: ("=" + f if f is not None else None) for k, f in out.items()}


def kpi_values(ctx: Context) -> dict[str, float]:
    """The cached value of every KPI cell: the core's numbers (NaN where blank)."""
    data = ctx.data
    values = {key: math.nan for key in KPI_UNITS}
    if data is None or data.report is None:
        return values
    for key in KPI_UNITS:
        values[key] = data.kpi(key)
    for key in ("nps_answers", "csat_answers"):
        # no answers of that kind: the formula shows a blank (its guard), not 0
        if values[key] == 0:
            values[key] = math.nan
    if data.monthly is not None:
        # The Orders tab's revenue: every row up to as_of (the period table's definition,
        # which the SUMIFS formula computes). It equals kpi_report's customer revenue
        # unless a customer has refund rows but no purchase.
        values["revenue"] = float(data.monthly["revenue"].sum())
    if data.periods is not None and data.chosen_period is not None:
        chosen = data.periods.loc[pd.Timestamp(data.chosen_period)]
        row = {str(k): float(v) for k, v in chosen.to_dict().items()}
        values.update(
            period_kpis(row, ctx.settings.period, ctx.settings.gross_margin, ctx.settings.cac)
        )
    return values


def _input_values(ctx: Context) -> dict[str, object]:
    s = ctx.settings
    data = ctx.data
    period = None
    if data is not None and data.chosen_period is not None:
        period = excel_serial(data.chosen_period)
    return {
        "Input_Period": period,
        "Input_WindowDays": s.window_days,
        "Input_CAC": s.cac,
        "Input_GrossMargin": s.gross_margin,
        "Input_DiscountRate": s.discount_rate,
        **{name: s.target(name) for name in INPUT_ROWS if name.startswith("Target_")},
    }


def _validations(ctx: Context) -> list[ValidationSpec]:
    col = VALUE_COL
    rows = {name: spec[0] for name, spec in INPUT_ROWS.items()}

    def number(
        name: str, kind: Literal["integer", "decimal"], low: float, high: float, msg: str
    ) -> ValidationSpec:
        return {
            "row": rows[name],
            "col": col,
            "validate": kind,
            "criteria": "between",
            "minimum": low,
            "maximum": high,
            "error_title": ctx.t("validation.title"),
            "error_message": ctx.t(msg),
            "input_message": ctx.t(msg),
            "ignore_blank": True,
        }

    out: list[ValidationSpec] = [
        {
            "row": rows["Input_Period"],
            "col": col,
            "validate": "list",
            "source": "=RXL_PeriodList",
            "error_title": ctx.t("validation.title"),
            "error_message": ctx.t("validation.period"),
            "input_message": ctx.t("validation.period"),
            "ignore_blank": True,
        },
        number("Input_WindowDays", "integer", 1, 3650, "validation.window"),
        number("Input_CAC", "decimal", 0, 1e9, "validation.cac"),
        number("Input_GrossMargin", "decimal", 0.0001, 1, "validation.fraction"),
        number("Input_DiscountRate", "decimal", 0, 0.9999, "validation.fraction"),
        number("Target_RepeatRate", "decimal", 0, 1, "validation.fraction"),
        number("Target_ClvCac", "decimal", 0, 1000, "validation.ratio"),
        number("Target_AtRiskShare", "decimal", 0, 1, "validation.fraction"),
        number("Target_Churn", "decimal", 0, 1, "validation.fraction"),
        number("Target_NPS", "decimal", -100, 100, "validation.nps"),
    ]
    return out


def plan_kpis(ctx: Context) -> SheetPlan:
    """The KPI sheet: the inputs you set (period, activity window, CAC...), the
    helper cells the formulas read (as of, the period's row, its length, the
    subscription month), then every KPI as a formula with its cached value."""
    sheet = SheetPlan(role="KPIS", title=ctx.titles["KPIS"])
    sheet.col_widths.update({0: 36.0, 1: 16.0, 2: 70.0})
    sheet.put(0, 0, ctx.t("kpis.title"), style="title")
    sheet.put(1, 0, ctx.t("kpis.note"), style="note")
    _put_inputs(ctx, sheet)
    _put_helpers(ctx, sheet)
    _put_kpis(ctx, sheet)
    sheet.tab_color = "#FFC000"
    sheet.print_setup = {"landscape": True, "paper": 9, "fit_width": 1, "fit_height": 0}
    return sheet


def _put_inputs(ctx: Context, sheet: SheetPlan) -> None:
    """The input rows, each a defined name, with their validations."""
    for col, key in enumerate(("col.input", "col.value", "col.note")):
        sheet.put(INPUT_HEADER, col, ctx.t(key), style="header")
    values = _input_values(ctx)
    for name, (row, style, lab) in INPUT_ROWS.items():
        sheet.put(row, 0, ctx.t(lab), style="label")
        value = values[name]
        sheet.put(row, VALUE_COL, value if value is not None else None, style=style)  # type: ignore[arg-type]
        sheet.put(row, 2, ctx.t(lab + ".help"), style="note")
        ctx.define(name, "KPIS", cell(row, VALUE_COL))
    sheet.validations.extend(_validations(ctx))


def _put_helpers(ctx: Context, sheet: SheetPlan) -> None:
    """Helper cells: as of, the chosen period's row, period length in years, and the
    month of the subscription KPIs."""
    data = ctx.data
    h = HELPER_ROW
    sheet.put(h, 0, ctx.t("kpis.as_of"), style="label")
    as_of = None if data is None or data.as_of is None else excel_serial(data.as_of)
    if ctx.settings.no_raw or ctx.settings.aggregate:
        sheet.put(h, VALUE_COL, as_of, style="date")
    else:
        sheet.put(
            h,
            VALUE_COL,
            cached(as_of),
            formula="=" + guard("COUNT(Orders_order_date)=0", "MAX(Orders_order_date)"),
            style="date",
        )
    ctx.define("RXL_AsOf", "KPIS", cell(h, VALUE_COL))
    sheet.put(h + 1, 0, ctx.t("kpis.period_row"), style="label")
    period_row: object = ""
    if data is not None and data.periods is not None and data.chosen_period is not None:
        period_row = float(list(data.periods.index).index(data.chosen_period) + 1)
    sheet.put(
        h + 1,
        VALUE_COL,
        period_row,  # type: ignore[arg-type]
        formula='=IF(Input_Period="","",IFERROR(MATCH(Input_Period,Periods_period,0),""))',
        style="count",
    )
    sheet.put(h + 1, 2, ctx.t("kpis.period_row.help"), style="note")
    ctx.define("RXL_PeriodRow", "KPIS", cell(h + 1, VALUE_COL))
    sheet.put(h + 2, 0, ctx.t("kpis.period_years"), style="label")
    sheet.put(h + 2, VALUE_COL, PERIOD_YEARS[ctx.settings.period], style="decimal")
    sheet.put(h + 2, 2, ctx.t(f"kpis.period_years.{ctx.settings.period}"), style="note")
    ctx.define("RXL_PeriodYears", "KPIS", cell(h + 2, VALUE_COL))
    # the month of the subscription KPIs: the MRR tab's last row, which the MRR, ARR,
    # ARPA, subscribers, churn, NRR, GRR and quick ratio rows read
    sheet.put(h + 3, 0, ctx.t("kpis.sub_month"), style="label")
    sub_month = None
    if data is not None and data.movements is not None and len(data.movements):
        sub_month = excel_serial(pd.Timestamp(data.movements.index[-1]))
    sheet.put(
        h + 3,
        VALUE_COL,
        cached(sub_month),
        formula="=" + guard("COUNT(Mrr_month)=0", "INDEX(Mrr_month,COUNT(Mrr_month))"),
        style="month",
    )
    sheet.put(h + 3, 2, ctx.t("kpis.sub_month.help"), style="note")
    ctx.define("RXL_SubscriptionMonth", "KPIS", cell(h + 3, VALUE_COL))


def _put_kpis(ctx: Context, sheet: SheetPlan) -> None:
    """One row per KPI: label, formula with its cached value (the core's value where
    there is no formula: --no-raw), definition."""
    for col, key in enumerate(("col.kpi", "col.value", "col.definition")):
        sheet.put(KPI_HEADER, col, ctx.t(key), style="header")
    fx = formulas(ctx.settings.no_raw, ctx.settings.aggregate)
    vals = kpi_values(ctx)
    for key, row in KPI_ROWS.items():
        sheet.put(row, 0, ctx.t(f"kpi.{key}"), style="label")
        if key == "mrr":  # the Dashboard's tile label reads it (one formula in every language)
            ctx.define("RXL_Label_mrr", "KPIS", cell(row, 0))
        style = UNIT_STYLES[KPI_UNITS[key]]
        formula = fx[key]
        if formula is None:  # --no-raw: the core's value (a blank that stays blank)
            value = vals[key]
            if math.isnan(value):
                sheet.put(row, VALUE_COL, "", formula='=""', style=style)
            else:
                sheet.put(row, VALUE_COL, value, style=style)
        else:
            sheet.put(row, VALUE_COL, cached(vals[key]), formula=formula, style=style)
        sheet.put(row, 2, ctx.t(f"kpi.{key}.help"), style="note")
        ctx.define(_k(key), "KPIS", cell(row, VALUE_COL))
