"""Written workbooks: sheets, names, validations, conditional formats, charts, text
safety, determinism, and --no-raw on a frame larger than a sheet."""

from __future__ import annotations

import re
import warnings
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from planhelp import named_cell

from retention_xl.errors import WorkbookError
from retention_xl.workbook.build import plan_report, plan_template, write_workbook
from retention_xl.workbook.plan import INPUT_NAMES, MAX_DATA_ROWS, sheet_marker
from retention_xl.workbook.sheetxml import worksheet_parts

INJECTIONS = ["=1+1", "+1+1", "-2+3", "@SUM(A1:A2)", "\t=1+1", "\r=1+1", "=cmd|' /C calc'!A0"]


def _load(path: Path, **kwargs):
    with warnings.catch_warnings():  # openpyxl warns about extensions it drops on read
        warnings.simplefilter("ignore", UserWarning)
        return openpyxl.load_workbook(path, **kwargs)


@pytest.fixture(scope="module")
def report_path(tmp_path_factory, sample_plan) -> Path:
    return write_workbook(sample_plan, tmp_path_factory.mktemp("wb") / "report.xlsx")


@pytest.fixture(scope="module")
def book(report_path):
    return _load(report_path)


def test_sheets_names_and_inputs_in_the_file(book, sample_plan):
    assert book.sheetnames == [s.title for s in sample_plan.sheets]
    names = book.defined_names
    for sheet in sample_plan.sheets:
        assert names[sheet_marker(sheet.role)].attr_text == f"'{sheet.title}'!$A$1"
    for name in INPUT_NAMES:
        assert name in names
    kpis = book[sample_plan.sheet("KPIS").title]
    ranges = {str(dv.sqref): dv for dv in kpis.data_validations.dataValidation}
    assert ranges["B5"].type == "list" and ranges["B5"].formula1 == "RXL_PeriodList"
    assert ranges["B6"].type == "whole"
    assert len(ranges) == len(INPUT_NAMES)
    conf = book["xlwings.conf"]
    assert (conf["A1"].value, conf["B1"].value) == ("UDF Modules", "retention_xl.excel.udfs")


def test_cached_values_and_formulas_in_the_file(report_path, book, sample_plan):
    formulas = book
    values = _load(report_path, data_only=True)
    for key in ("churn", "repeat_rate", "revenue", "nps", "mrr", "clv_cac"):
        sheet, cell = named_cell(sample_plan, f"KPI_{key}")
        ref = sample_plan.names[f"KPI_{key}"].split("!")[1].replace("$", "")
        assert formulas[sheet.title][ref].value == cell.formula
        assert values[sheet.title][ref].value == pytest.approx(cell.value, rel=1e-15)
    with zipfile.ZipFile(report_path) as zf:
        assert b'fullCalcOnLoad="1"' in zf.read("xl/workbook.xml")


def test_conditional_formats_and_charts(report_path, book, sample_plan):
    bench = book[sample_plan.sheet("BENCHMARKS").title]
    rules = [(str(r.sqref), rule.type) for r in bench.conditional_formatting for rule in r.rules]
    assert ("F5:F9", "expression") in rules and ("I5:I9", "dataBar") in rules
    cohorts = book[sample_plan.sheet("COHORTS").title]
    assert {rule.type for r in cohorts.conditional_formatting for rule in r.rules} == {"colorScale"}
    with zipfile.ZipFile(report_path) as zf:
        charts = sorted(n for n in zf.namelist() if re.match(r"xl/charts/chart\d+\.xml", n))
        xml = [zf.read(n).decode() for n in charts]
    # Dashboard: curves, NPS doughnut, benchmark bars, monthly combo, MRR and 8 tile
    # sparklines (line charts without axes); Predictions: holdout tracking and by frequency
    assert len(charts) == 15
    hidden_axes = [x.count('<c:delete val="1"/>') for x in xml]
    assert sum(n == 2 for n in hidden_axes) == 8  # the sparklines hide both axes
    kinds = [re.findall(r"<c:(lineChart|doughnutChart|barChart|scatterChart)>", x) for x in xml]
    assert sum("doughnutChart" in k for k in kinds) == 1
    assert sum("scatterChart" in k for k in kinds) == 1
    assert sum("Predictions!" in x for x in xml) == 2  # the holdout's two pictures
    dashboard = sample_plan.sheet("DASHBOARD").title
    predictions = sample_plan.sheet("PREDICTIONS").title
    for text in xml:  # every series reads a fixed block
        refs = re.findall(r"<c:f>([^<]+)</c:f>", text)
        home = predictions if "Predictions!" in text else dashboard
        assert refs and all(r.startswith(f"{home}!$") for r in refs), refs


def test_template_has_every_chart_and_empty_raw_tabs(tmp_path):
    path = write_workbook(plan_template(lang="it"), tmp_path / "t.xlsx")
    book = _load(path)
    assert book.sheetnames[0] == "Cruscotto" and "Ordini" in book.sheetnames
    orders = book["Ordini"]
    assert [c.value for c in orders[1]][:3] == ["ID cliente", "ID ordine", "Data ordine"]
    assert orders.max_row == 1 or all(c.value is None for c in orders[2][:7])
    with zipfile.ZipFile(path) as zf:
        # 5 on the Dashboard (MRR movements too, empty until subscriptions come in), the
        # 8 tile sparklines, and the two holdout charts on the Predictions sheet: refresh
        # never has to add a chart
        assert len([n for n in zf.namelist() if n.startswith("xl/charts/chart")]) == 15


def test_text_from_data_never_becomes_a_formula(tmp_path):
    n = len(INJECTIONS)
    orders = pd.DataFrame(
        {
            "customer_id": INJECTIONS,
            "order_id": [f"-{i}" for i in range(n)],
            "order_date": pd.date_range("2024-01-01", periods=n, freq="D"),
            "amount": np.arange(1.0, n + 1),
            "currency": ["=EUR"] * n,
        }
    )
    path = write_workbook(plan_report(orders), tmp_path / "inject.xlsx")
    book = _load(path)
    with zipfile.ZipFile(path) as zf:
        parts = worksheet_parts(zf)
        for role in ("ORDERS", "CUSTOMERS"):
            assert b"<f>" not in zf.read(parts[role]), role
        # Segments: only the summary's formulas (4 per segment and 2 totals), none in the list
        assert zf.read(parts["SEGMENTS"]).count(b"<f>") == 6 * 4 + 2
    tab = book["Orders"]
    got = {tab.cell(r, 1).value for r in range(2, n + 2)}
    ids = {text.strip() for text in INJECTIONS}  # the core strips blanks around ids
    assert got == ids
    for r in range(2, n + 2):
        assert tab.cell(r, 1).data_type == "s"
        assert tab.cell(r, 2).data_type == "s" and tab.cell(r, 2).value.startswith("-")
        assert tab.cell(r, 7).value == "=EUR"
    customers = book["Customers"]
    assert {customers.cell(r, 1).value for r in range(3, len(ids) + 3)} == ids


def test_any_planned_text_is_written_as_text(tmp_path):
    plan = plan_template()
    about = plan.sheet("ABOUT")
    for i, text in enumerate(INJECTIONS):
        about.put(60 + i, 1, text)
    path = write_workbook(plan, tmp_path / "t.xlsx")
    sheet = _load(path)["About"]
    for i, text in enumerate(INJECTIONS):
        cell = sheet.cell(61 + i, 2)
        assert cell.data_type == "s" and cell.value == text


def test_same_plan_same_bytes(tmp_path, sample_plan):
    a = write_workbook(sample_plan, tmp_path / "a.xlsx").read_bytes()
    b = write_workbook(sample_plan, tmp_path / "b.xlsx").read_bytes()
    assert a == b
    with zipfile.ZipFile(tmp_path / "a.xlsx") as zf:
        core = zf.read("docProps/core.xml").decode()
    assert "2024-12-31T00:00:00Z" in core


@pytest.mark.slow
def test_no_raw_writes_a_frame_larger_than_a_sheet(tmp_path):
    n = MAX_DATA_ROWS + 1_000
    rng = np.random.default_rng(3)
    days = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 730, n), unit="D")
    orders = pd.DataFrame(
        {
            "customer_id": pd.Series(rng.integers(0, 2_000, n)).map("K{:05d}".format),
            "order_id": np.arange(n).astype(str),
            "order_date": days,
            "amount": np.round(rng.gamma(2.0, 25.0, n), 2),
        }
    )
    with pytest.raises(WorkbookError, match="--no-raw"):
        plan_report(orders)
    plan = plan_report(orders, no_raw=True)
    path = write_workbook(plan, tmp_path / "big.xlsx")
    book = _load(path, read_only=True)
    assert book["Orders"].max_row == 2  # header, and the note beside it
    _, orders_kpi = named_cell(plan, "KPI_orders")
    assert orders_kpi.value == n and orders_kpi.formula is None
    customers = book["Customers"]
    assert customers.max_row == 2 + 2_000


def test_written_workbook_keeps_the_usual_file_mode(tmp_path):
    """The fast writer's temporary file must not leave the workbook private (0600)."""
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    path = write_workbook(plan_template(lang="en"), tmp_path / "template.xlsx")
    assert path.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777
