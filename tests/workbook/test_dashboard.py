"""The Dashboard a marketer presents as it is: one landscape page, every tile with its
value, status colour, change against the period before and sparkline, chart data out
of sight, legends with real names; and the definitions that keep readers from
misreading it."""

from __future__ import annotations

import math
import re
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from libreoffice import LibreOffice, opened
from openpyxl import load_workbook

from retention_xl.workbook.labels import label
from retention_xl.workbook.sheets import dashboard as dash
from retention_xl.workbook.sheets.derived import CUSTOMER_COLUMNS

BOOKS = Path(__file__).resolve().parents[2] / "workbooks"
REPORT = BOOKS / "retention_sample_report.xlsx"


@pytest.mark.libreoffice
@pytest.mark.parametrize("book", ["retention_sample_report.xlsx", "retention_template_it.xlsx"])
def test_the_dashboard_prints_on_one_landscape_page(
    libreoffice: LibreOffice, book: str, tmp_path: Path
) -> None:
    with opened(libreoffice, BOOKS / book) as opened_book:
        title = opened_book.sheets[0]
        assert title in ("Dashboard", "Cruscotto")
        pages = opened_book.pdf_pages(title, tmp_path / "dashboard.pdf")
    assert pages == 1
    with opened(libreoffice, BOOKS / book) as opened_book:  # the other sheets still print
        assert opened_book.pdf_pages("KPIs" if title == "Dashboard" else "KPI", tmp_path / "k.pdf")


def test_print_setup_holds_every_tile_and_chart(sample_plan) -> None:
    sheet = sample_plan.sheet("DASHBOARD")
    setup = sheet.print_setup
    assert setup["landscape"] and (setup["fit_width"], setup["fit_height"]) == (1, 1)
    _, _, last_row, last_col = setup["print_area"]
    for chart in sheet.charts:
        row, col = chart["anchor"]
        width, height = chart["size"]
        assert row <= last_row and col <= last_col, chart["key"]
        # a chart ends inside the print area: its columns and rows (20 px each)
        assert col + math.ceil(width / 187) - 1 <= last_col, chart["key"]
        if not chart.get("mini"):
            assert row + height // 20 - 1 <= last_row, chart["key"]
    for row, col in sheet.cells:
        if col < dash.DATA_COL:
            assert row <= last_row and col <= last_col


def test_chart_data_and_helpers_sit_in_hidden_columns() -> None:
    with warnings.catch_warnings():  # openpyxl does not know the data-validation extension
        warnings.simplefilter("ignore", UserWarning)
        book = load_workbook(REPORT)

    def hidden(sheet) -> set[int]:  # zero-based columns, from openpyxl's (min, max) groups
        return {
            col - 1
            for dim in sheet.column_dimensions.values()
            if dim.hidden
            for col in range(dim.min, dim.max + 1)
        }

    dashboard = hidden(book["Dashboard"])
    assert set(range(dash.DATA_COL, dash.TEXT_COL + 1)) <= dashboard
    assert not dashboard & set(range(dash.COLUMNS))  # the tiles and charts stay visible
    bench = book["Benchmarks"]
    assert {10, 14} <= hidden(bench)  # level numbers and the rating words the formulas read
    headers = [c.value for c in bench[4]]
    assert headers[0] == "KPI" and headers[1] == "Your value"
    with zipfile.ZipFile(REPORT) as zf:
        charts = [
            zf.read(n).decode()
            for n in zf.namelist()
            if re.fullmatch(r"xl/charts/chart\d+\.xml", n)
        ]
    # the Dashboard's 13 charts plot the hidden columns (Excel and LibreOffice skip them
    # otherwise): XlsxWriter leaves out c:plotVisOnly, whose absence means "plot all"
    assert sum("<c:plotVisOnly" not in x for x in charts) == 13


@pytest.mark.parametrize("plan", ["sample_plan", "sample_plan_it", "template_en"])
def test_every_tile_has_value_status_change_and_sparkline(plan: str, request) -> None:
    the_plan = request.getfixturevalue(plan)
    sheet = the_plan.sheet("DASHBOARD")
    sparks = {c["key"]: c for c in sheet.charts if c.get("mini")}
    rules = {r["range"]: r for r in sheet.conditional_formats if r["type"] == "formula"}
    rules_by_cell: dict[str, list[str]] = {}
    for r in sheet.conditional_formats:
        rules_by_cell.setdefault(r["range"], []).append(str(r.get("criteria", "")))
    for tile_row, keys in zip(dash.TILE_ROWS, dash.TILES, strict=True):
        for col, key in enumerate(keys):
            value = sheet.cells[(tile_row + 1, col)]
            assert value.formula == f"=KPI_{key}"
            value_ref = f"{chr(65 + col)}{tile_row + 2}"
            if key in dash.RATED_TILES:  # the colour follows the rating on recalculation
                assert any(f"RXL_Level_{key}=" in c for c in rules_by_cell[value_ref])
            change = sheet.cells[(tile_row + 2, col)]
            assert change.style == f"delta_{dash.DELTAS[key]}"
            assert change.formula is not None and change.formula.startswith("=IF(")
            change_ref = f"{chr(65 + col)}{tile_row + 3}"
            colours = rules_by_cell[change_ref]
            assert len(colours) == 2 and change_ref in rules
            if key in dash.TREND_COLUMNS:
                assert sparks[f"trend_{key}"]["anchor"] == (tile_row + 3, col)
    assert set(sparks) == {f"trend_{k}" for k in dash.TREND_COLUMNS}


def test_changes_and_sparklines_are_the_periods_figures(sample_plan_and_data) -> None:
    """The cached changes are those of the Periods and Monthly tabs (LibreOffice
    recomputes every one of them to the same value in test_engine_workbooks)."""
    plan, data = sample_plan_and_data
    sheet = plan.sheet("DASHBOARD")
    periods = data.periods
    pos = list(periods.index).index(data.chosen_period)
    assert pos >= 1
    row = {key: i for i, key in enumerate(dash.DELTAS)}
    change = {
        key: sheet.cells[(dash.BLOCK_ROW + 1 + i, dash.DELTA_COL + 3)].value
        for key, i in row.items()
    }
    now, before = periods.iloc[pos], periods.iloc[pos - 1]
    assert change["revenue"] == pytest.approx(now["revenue"] / before["revenue"] - 1)
    assert change["customers"] == pytest.approx(now["buyers"] / before["buyers"] - 1)
    assert change["repeat_rate"] == pytest.approx(
        100
        * (now["repeat_customers"] / now["buyers"] - before["repeat_customers"] / before["buyers"])
    )
    moves = data.movements
    assert change["mrr"] == pytest.approx(
        moves["ending_mrr"].iloc[-1] / moves["ending_mrr"].iloc[-2] - 1
    )
    revenue_col = dash.TREND_COL + list(dash.TREND_COLUMNS).index("revenue")
    trend = [
        sheet.cells[(dash.BLOCK_ROW + 1 + k, revenue_col)].value for k in range(dash.TREND_MONTHS)
    ]
    np.testing.assert_allclose(trend, data.monthly["revenue"].iloc[-12:].to_numpy())


def test_legends_have_names_in_the_books_language(template_it) -> None:
    sheet = template_it.sheet("DASHBOARD")
    for i in range(dash.CURVES):  # no cohort yet: a name, never LibreOffice's "Row 4"
        assert sheet.cells[(dash.BLOCK_ROW + 1 + i, dash.CURVE_COL)].value == label(
            "chart.no_cohort", "it"
        )
    for chart in sheet.charts:
        for series in chart["series"]:
            name = sheet.cells.get(series["name"])
            assert name is not None and str(name.value).strip(), chart["key"]


def test_targets_have_defaults_or_say_they_are_missing(sample_plan, template_en) -> None:
    sheet = sample_plan.sheet("DASHBOARD")
    first = dash.PROGRESS_ROW + 2
    shown = {
        sheet.cells[(first + i, dash.PROGRESS_COL)].value: sheet.cells[
            (first + i, dash.PROGRESS_COL + 1)
        ].value
        for i in range(5)
    }
    assert shown["Net Promoter Score"] == "no target set"  # no benchmark in the articles
    assert isinstance(shown["Repeat purchase rate"], float)
    # churn without a target of its own is measured against the period before
    bench = sample_plan.sheet("BENCHMARKS")
    target = next(
        c for (r, col), c in bench.cells.items() if c.formula and "Target_Churn" in c.formula
    )
    assert "Periods_churn" in target.formula


def test_at_risk_repeat_customers_get_a_reason() -> None:
    """The committed sample report (with its models): every repeat customer whose
    probability of still being a customer is below 50 % says why, nobody else does."""
    import pandas as pd
    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(REPORT).get_sheet_by_name("Customers").to_python()
    keys = [c[0] for c in CUSTOMER_COLUMNS]
    frame = pd.DataFrame(rows[2:], columns=keys[: len(rows[1])])
    reasons = frame["risk_reason"].replace("", None)
    p_alive = pd.to_numeric(frame["p_alive"], errors="coerce")
    repeat = pd.to_numeric(frame["frequency"], errors="coerce") >= 1
    at_risk = (p_alive < 0.5) & repeat
    assert at_risk.sum() > 100 and reasons[at_risk].notna().all()
    assert reasons[~at_risk].isna().all()
    one = frame[at_risk].iloc[0]
    every = max(1, round(float(one["recency_days"]) / float(one["frequency"])))
    assert reasons[at_risk].iloc[0] == (
        f"no order for {float(one['days_since_last']):,.0f} days, usually orders every "
        f"{every:,d} days"
    )
    assert keys.index("risk_reason") == keys.index("risk_band") + 1
