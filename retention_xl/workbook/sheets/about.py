"""The About sheet (what each sheet is, how to refresh, where the data came from) and the
``xlwings.conf`` sheet (so the xlwings add-in finds the Excel functions)."""

from __future__ import annotations

from pathlib import Path

from retention_xl.workbook.plan import SheetPlan
from retention_xl.workbook.sheets.base import Context

__all__ = ["UDF_MODULE", "plan_about", "plan_xlwings_conf", "provenance_lines"]

#: The module the xlwings add-in imports (the Excel functions).
UDF_MODULE = "retention_xl.excel.udfs"


def provenance_lines(ctx: Context) -> list[str]:
    """One line per fact about the data: files, rows, customers, dates, duplicates..."""
    data = ctx.data
    if data is None or data.report is None:
        return [ctx.t("about.no_data")]
    if data.reports:
        out: list[str] = []
        for kind in ("orders", "subscriptions", "survey"):
            if kind in data.reports:
                out.extend(line.strip() for line in data.reports[kind].lines())
        return out
    out = []
    if data.prepared is not None:
        st = data.prepared.stats
        first = "" if st.first_date is None else str(st.first_date.date())
        last = "" if st.last_date is None else str(st.last_date.date())
        out.append(
            ctx.t("about.orders_line").format(
                rows=f"{st.rows:,}",
                orders=f"{st.orders:,}",
                customers=f"{st.customers:,}",
                first=first,
                last=last,
                duplicates=f"{st.duplicates_removed:,}",
                refunds=f"{st.refunds:,}",
                cancelled=f"{st.cancelled:,}",
                currencies=", ".join(st.currencies) or "-",
            )
        )
    if data.subscriptions is not None:
        out.append(
            ctx.t("about.subscriptions_line").format(
                rows=f"{len(data.subscriptions):,}",
                customers=f"{data.subscriptions['customer_id'].nunique():,}",
            )
        )
    if data.survey is not None:
        out.append(ctx.t("about.survey_line").format(rows=f"{len(data.survey):,}"))
    return out


def plan_about(ctx: Context, roles: list[str]) -> SheetPlan:
    sheet = SheetPlan(role="ABOUT", title=ctx.titles["ABOUT"])
    sheet.col_widths.update({0: 26.0, 1: 110.0})
    sheet.put(0, 0, ctx.t("about.title"), style="title")
    sheet.put(1, 0, ctx.t("about.intro"), style="note")
    row = 3
    sheet.put(row, 0, ctx.t("about.sheets"), style="subtitle")
    row += 1
    for role in roles:
        sheet.put(row, 0, ctx.titles[role], style="label")
        sheet.put(row, 1, ctx.t(f"about.role.{role}"), style="wrap")
        row += 1
    row += 1
    sheet.put(row, 0, ctx.t("about.refresh"), style="subtitle")
    row += 1
    keys = ("about.refresh.1", "about.refresh.2", "about.refresh.3", "about.refresh.4")
    for key in ("about.refresh.aggregate",) if ctx.settings.aggregate else keys:
        sheet.put(row, 1, ctx.t(key), style="wrap")
        row += 1
    row += 1
    sheet.put(row, 0, ctx.t("about.data"), style="subtitle")
    row += 1
    data = ctx.data
    if data is not None and data.as_of is not None:
        sheet.put(row, 0, ctx.t("about.as_of"), style="label")
        sheet.put(row, 1, str(data.as_of.date()))
        row += 1
    if data is not None and data.reports:
        sheet.put(row, 0, ctx.t("about.files"), style="label")
        sheet.put(row, 1, ", ".join(Path(r.file).name for r in data.reports.values()))
        row += 1
    for line in provenance_lines(ctx):
        sheet.put(row, 1, line)
        row += 1
    if ctx.settings.no_raw and data is not None:
        sheet.put(row, 1, ctx.t("note.no_raw"), style="note")
        row += 1
    row += 1
    sheet.put(row, 0, ctx.t("about.version"), style="label")
    sheet.put(row, 1, f"retention_xl {ctx.version}")
    row += 1
    sheet.put(row, 0, ctx.t("about.settings"), style="label")
    s = ctx.settings
    sheet.put(
        row,
        1,
        ctx.t("about.settings_line").format(
            period=ctx.t(f"period.{s.period}"),
            window=s.window_days,
            market=s.market.upper(),
            currency=s.currency,
        ),
    )
    sheet.tab_color = "#A6A6A6"
    return sheet


def plan_xlwings_conf(ctx: Context) -> SheetPlan:
    """``UDF Modules`` in A1, the functions' module in B1 (the xlwings convention)."""
    sheet = SheetPlan(role="XLWINGS_CONF", title=ctx.titles["XLWINGS_CONF"])
    sheet.put(0, 0, "UDF Modules")
    sheet.put(0, 1, UDF_MODULE)
    sheet.col_widths.update({0: 16.0, 1: 28.0})
    return sheet
