"""The Predictions sheet's holdout check: the block, the totals, the chart, the notes.

The report fits the purchase model again on all but the last quarter of the history
and compares its prediction of the held-out weeks with what the customers bought
(the Fader, Hardie & Lee 2005 tracking plot). The block's numbers must be
:func:`retention_xl.core.models.holdout_comparison`'s, the chart must read the fixed
block whatever the data, and a short history gives a note, not an error.
"""

from __future__ import annotations

import math
import re
import warnings
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest
from libreoffice import LibreOffice, opened

from retention_xl.core.models import holdout_comparison
from retention_xl.workbook.build import model_predictions, plan_report_and_data, write_workbook
from retention_xl.workbook.data import HOLDOUT_WEEKS, default_holdout_weeks
from retention_xl.workbook.sheets.predictions import (
    HOLDOUT_COL,
    HOLDOUT_HEADER,
    HOLDOUT_TOTALS,
)

VALUE_COL = HOLDOUT_COL + 2  # totals: labels in F, values in H


@pytest.fixture(scope="module")
def predictions(sample):
    return model_predictions(sample.orders)


@pytest.fixture(scope="module")
def planned(sample, predictions):
    return plan_report_and_data(sample.orders, predictions=predictions, lang="en")


@pytest.fixture(scope="module")
def expected(sample):
    """The check computed straight from the core, with the rule written out here."""
    orders = sample.orders
    paid = orders[(orders["status"] == "paid") & (orders["amount"] > orders["refunded"])]
    end = pd.Timestamp(orders["order_date"].max()).normalize()
    span = (end - pd.Timestamp(paid["order_date"].min()).normalize()).days
    weeks = min(span // 28, HOLDOUT_WEEKS)  # the last quarter, in whole weeks
    assert weeks >= 8  # the sample spans two years: long enough
    return holdout_comparison(orders, holdout_weeks=weeks, holdout_end=end)


def _orders_before(orders: pd.DataFrame, days: int) -> pd.DataFrame:
    return orders[orders["order_date"] < orders["order_date"].min() + pd.Timedelta(days=days)]


def _load(path, **kwargs):
    with warnings.catch_warnings():  # openpyxl cannot model the data-bar extension
        warnings.filterwarnings("ignore", message=".*extension is not supported")
        return openpyxl.load_workbook(path, **kwargs)


def test_default_holdout_is_the_last_quarter_within_bounds():
    assert default_holdout_weeks(7 * 4 * 8) == 8  # 32 weeks of history: 8 held out
    assert default_holdout_weeks(7 * 4 * 8 - 1) is None  # one day less: too short
    assert default_holdout_weeks(7 * 4 * 39) == 39
    assert default_holdout_weeks(7 * 4 * 53) == HOLDOUT_WEEKS  # capped to the block


def test_block_and_totals_equal_holdout_comparison(planned, expected):
    plan, data = planned
    sheet = plan.sheet("PREDICTIONS")
    assert data.holdout is not None and data.holdout.status == "ok"
    block = next(t for t in sheet.tables if t.first_row == HOLDOUT_HEADER)
    assert block.first_col == HOLDOUT_COL
    weekly = expected.weekly
    assert len(block.frame) == len(weekly) <= HOLDOUT_WEEKS
    assert np.array_equal(block.frame["week"].to_numpy(), weekly.index.to_numpy(dtype=float))
    assert np.array_equal(block.frame["actual"].to_numpy(), weekly["actual"].to_numpy())
    assert np.allclose(block.frame["predicted"], weekly["predicted"], rtol=1e-12, atol=0)
    # the cumulative curve ends at the totals
    assert weekly["actual"].iloc[-1] == expected.actual_total
    cells = sheet.cells
    row = HOLDOUT_TOTALS
    assert cells[(row["weeks"], VALUE_COL)].value == len(weekly)
    assert cells[(row["calibration_end"], VALUE_COL)].value == expected.calibration_end.date()
    assert cells[(row["customers"], VALUE_COL)].value == len(expected.customers)
    assert cells[(row["actual"], VALUE_COL)].value == expected.actual_total
    assert cells[(row["predicted"], VALUE_COL)].value == pytest.approx(
        expected.predicted_total, rel=1e-12
    )
    ratio = cells[(row["ratio"], VALUE_COL)]
    assert ratio.value == pytest.approx(expected.predicted_total / expected.actual_total, 1e-12)
    assert ratio.formula == '=IF(OR($H$13="",$H$13=0),"",$H$14/$H$13)'
    # the note marks the calibration end and the holdout
    note = str(cells[(row["weeks"] - 2, HOLDOUT_COL)].value)
    assert f"Calibration ends {expected.calibration_end.date()}" in note
    assert f"to {expected.holdout_end.date()}: {len(weekly)} weeks" in note


def test_italian_labels(sample, predictions, expected):
    plan, _ = plan_report_and_data(sample.orders, predictions=predictions, lang="it")
    sheet = plan.sheet("PREDICTIONS")
    note = str(sheet.cells[(HOLDOUT_TOTALS["weeks"] - 2, HOLDOUT_COL)].value)
    assert f"La calibrazione termina il {expected.calibration_end.date()}" in note
    block = next(t for t in sheet.tables if t.first_row == HOLDOUT_HEADER)
    assert [c.header for c in block.columns] == [
        "Settimana",
        "Effettivi (cumulati)",
        "Previsti (cumulati)",
    ]
    assert sheet.charts[0]["title"].startswith("Riacquisti cumulati")
    assert sheet.charts[1]["title"].startswith("Acquisti nel periodo di controllo")


def _chart_xml(path) -> list[str]:
    with zipfile.ZipFile(path) as zf:
        names = sorted(n for n in zf.namelist() if re.match(r"xl/charts/chart\d+\.xml", n))
        return [zf.read(n).decode() for n in names]


def _holdout_chart(path) -> str:
    charts = [x for x in _chart_xml(path) if "<c:scatterChart>" in x]
    assert len(charts) == 1
    return charts[0]


def test_chart_reads_the_fixed_block(tmp_path, planned, expected):
    plan, _ = planned
    path = write_workbook(plan, tmp_path / "report.xlsx")
    xml = _holdout_chart(path)
    title = plan.sheet("PREDICTIONS").title
    first, last = HOLDOUT_HEADER + 2, HOLDOUT_HEADER + 1 + HOLDOUT_WEEKS  # 1-based rows
    assert (
        re.findall(r"<c:xVal>.*?<c:f>([^<]+)</c:f>", xml, re.S)
        == [f"{title}!$F${first}:$F${last}"] * 2
    )
    assert re.findall(r"<c:yVal>.*?<c:f>([^<]+)</c:f>", xml, re.S) == [
        f"{title}!$G${first}:$G${last}",
        f"{title}!$H${first}:$H${last}",
    ]
    assert re.findall(r"<c:tx>.*?<c:f>([^<]+)</c:f>", xml, re.S) == [
        f"{title}!$G${HOLDOUT_HEADER + 1}",
        f"{title}!$H${HOLDOUT_HEADER + 1}",
    ]
    assert '<c:scatterStyle val="lineMarker"/>' in xml
    # the file holds the block under the header, blank beyond the holdout
    ws = _load(path, data_only=True)[title]
    assert [ws.cell(HOLDOUT_HEADER + 1, c).value for c in (6, 7, 8)] == [
        "Week",
        "Actual (cumulative)",
        "Predicted (cumulative)",
    ]
    n = len(expected.weekly)
    got = [[ws.cell(r, c).value for c in (6, 7, 8)] for r in range(first, last + 1)]
    weekly = expected.weekly
    for (week, actual, predicted), (w, row) in zip(got[:n], weekly.iterrows(), strict=True):
        assert (week, actual) == (w, row["actual"])
        assert predicted == pytest.approx(row["predicted"], rel=1e-12)
    assert all(v is None for row in got[n:] for v in row)


def test_template_and_report_charts_share_the_ranges(tmp_path, planned):
    from retention_xl.workbook.build import plan_template

    template = write_workbook(plan_template(lang="en"), tmp_path / "t.xlsx")
    report = write_workbook(planned[0], tmp_path / "r.xlsx")
    refs = [re.findall(r"<c:f>([^<]+)</c:f>", _holdout_chart(p)) for p in (template, report)]
    assert refs[0] and refs[0] == refs[1]


def test_short_history_gives_a_note_and_an_empty_chart(sample, tmp_path):
    orders = _orders_before(sample.orders, 200)  # 28 weeks: less than the 32 needed
    predictions = model_predictions(orders)
    assert predictions is not None  # the models fit; only the check is left out
    plan, data = plan_report_and_data(orders, predictions=predictions)
    assert data.holdout is not None and data.holdout.status == "short"
    sheet = plan.sheet("PREDICTIONS")
    note = str(sheet.cells[(HOLDOUT_TOTALS["weeks"] - 2, HOLDOUT_COL)].value)
    assert note.startswith("Not enough history for a holdout check: the orders span 28 weeks")
    assert "at least 32" in note
    block = next(t for t in sheet.tables if t.first_row == HOLDOUT_HEADER)
    assert block.frame.empty
    ratio = sheet.cells[(HOLDOUT_TOTALS["ratio"], VALUE_COL)]
    assert ratio.value == "" and ratio.formula is not None
    assert (HOLDOUT_TOTALS["actual"], VALUE_COL) not in sheet.cells
    path = write_workbook(plan, tmp_path / "short.xlsx")
    assert _holdout_chart(path)  # the chart is there, over blank cells


def test_a_calibration_without_repeat_buyers_gives_a_note(sample):
    orders = sample.orders.sort_values(["order_date", "order_id"], kind="stable")
    first = ~orders["customer_id"].duplicated()
    cut = orders["order_date"].max() - pd.Timedelta(weeks=26)
    orders = orders[first.to_numpy() | (orders["order_date"] > cut).to_numpy()]
    predictions = model_predictions(orders)
    assert predictions is not None
    plan, data = plan_report_and_data(orders, predictions=predictions)
    assert data.holdout is not None and data.holdout.status == "failed"
    assert "bought again" in data.holdout.reason
    note = plan.sheet("PREDICTIONS").cells[(HOLDOUT_TOTALS["weeks"] - 2, HOLDOUT_COL)].value
    assert str(note).startswith("No holdout check: the model could not be fitted")


def test_without_predictions_there_is_no_check(sample):
    plan, data = plan_report_and_data(sample.orders)
    assert data.holdout is None
    sheet = plan.sheet("PREDICTIONS")
    assert (HOLDOUT_TOTALS["weeks"] - 2, HOLDOUT_COL) not in sheet.cells
    assert len(sheet.charts) == 2  # the charts stay, for a later refresh


def test_the_check_is_deterministic(sample, predictions, planned, tmp_path):
    again, _ = plan_report_and_data(sample.orders, predictions=model_predictions(sample.orders))
    a, b = planned[0].sheet("PREDICTIONS"), again.sheet("PREDICTIONS")
    assert a.cells == b.cells and a.charts == b.charts
    for x, y in zip(a.tables, b.tables, strict=True):
        pd.testing.assert_frame_equal(x.frame, y.frame, check_exact=True)
    paths = [write_workbook(p, tmp_path / f"{i}.xlsx") for i, p in enumerate((planned[0], again))]
    assert paths[0].read_bytes() == paths[1].read_bytes()


@pytest.mark.libreoffice
def test_engine_recalculates_the_ratio_and_sees_the_chart(
    libreoffice: LibreOffice, sample, planned, tmp_path
):
    short_orders = _orders_before(sample.orders, 200)
    short, _ = plan_report_and_data(short_orders, predictions=model_predictions(short_orders))
    for plan, kind in ((planned[0], "report"), (short, "short")):
        path = write_workbook(plan, tmp_path / f"{kind}.xlsx")
        title = plan.sheet("PREDICTIONS").title
        with opened(libreoffice, path) as book:
            book.calculate_all()
            cells = {(f.sheet, f.cell): f for f in book.formulas()}
            charts = book.charts()[title]["charts"]
        assert all(f.error is None for f in cells.values()), kind
        ratio = cells[(title, "H15")]
        cached = plan.sheet("PREDICTIONS").cells[(HOLDOUT_TOTALS["ratio"], VALUE_COL)].value
        if kind == "report":
            assert isinstance(ratio.value, float) and math.isclose(
                ratio.value, float(cached), rel_tol=1e-12
            )
        else:
            assert ratio.value in ("", None) and cached == ""
        assert len(charts) == 2 and all(c["ranges"] for c in charts), kind


def test_second_picture_and_mape_cell(planned, expected):
    """Fader and Hardie's second picture (mean holdout purchases by calibration
    frequency, actual vs predicted) and the tracking curve's MAPE in a named cell."""
    from retention_xl.workbook.sheets.predictions import FREQ_COL, FREQ_TOP

    plan, _data = planned
    sheet = plan.sheet("PREDICTIONS")
    block = next(t for t in sheet.tables if t.first_col == FREQ_COL)
    assert block.first_row == HOLDOUT_HEADER and len(block.frame) == FREQ_TOP + 1
    c = expected.customers
    freq = np.minimum(c["frequency"].to_numpy(), FREQ_TOP)
    for k in range(FREQ_TOP + 1):  # recomputed here by brute force
        rows = c[freq == k]
        got = block.frame.iloc[k]
        assert got["frequency"] == (f"{k}+" if k == FREQ_TOP else str(k))
        assert got["customers"] == len(rows)
        if len(rows):
            assert got["actual"] == pytest.approx(rows["actual"].mean())
            assert got["predicted"] == pytest.approx(rows["predicted"].mean())
    weekly = expected.weekly
    mape = np.mean(np.abs(weekly["predicted"] - weekly["actual"]) / weekly["actual"])
    cell_ = sheet.cells[(HOLDOUT_TOTALS["mape"], VALUE_COL)]
    assert cell_.value == pytest.approx(mape) and 0 < mape < 1
    assert "RXL_HoldoutMape" in plan.names
    chart = next(ch for ch in sheet.charts if ch["key"] == "holdout_by_frequency")
    assert [s["values"][1] for s in chart["series"]] == [FREQ_COL + 2, FREQ_COL + 3]


def test_next_year_totals_and_clv_bounds_with_their_intervals(planned, predictions):
    """The report carries the 90 % intervals: next year's totals on Predictions (the
    revenue named for the Dashboard) and each customer's predicted CLV bounds."""
    from retention_xl.workbook.sheets.predictions import FORECAST_KEYS, FORECAST_ROW, FREQ_COL

    plan, _data = planned
    totals = predictions.totals
    assert predictions.level == 0.9 and totals is not None
    sheet = plan.sheet("PREDICTIONS")
    for i, key in enumerate(FORECAST_KEYS):
        r = FORECAST_ROW + 2 + i
        low = sheet.cells[(r, FREQ_COL + 2)].value
        high = sheet.cells[(r, FREQ_COL + 3)].value
        assert low == pytest.approx(totals.loc[key, "low"])
        assert high == pytest.approx(totals.loc[key, "high"])
        assert low < high
    for name in ("RXL_Forecast_revenue", "RXL_Forecast_revenue_low", "RXL_Forecast_revenue_high"):
        assert name in plan.names
    customers = plan.sheet("CUSTOMERS").tables[0].frame
    clv = customers[["predicted_clv_low", "predicted_clv", "predicted_clv_high"]].astype(float)
    assert clv.notna().all().all()
    assert (clv["predicted_clv_low"] <= clv["predicted_clv"] + 1e-9).all()
    assert (clv["predicted_clv"] <= clv["predicted_clv_high"] + 1e-9).all()
    assert (clv["predicted_clv_high"] > clv["predicted_clv_low"]).mean() > 0.9
    for key in ("p_alive", "expected_purchases_365d"):  # the other predictions' bounds
        low, high = (customers[f"{key}_{s}"].astype(float) for s in ("low", "high"))
        assert (low <= customers[key].astype(float) + 1e-9).all()
        assert (customers[key].astype(float) <= high + 1e-9).all()
    dashboard = plan.sheet("DASHBOARD")
    shown = [
        c for c in dashboard.cells.values() if c.formula and "RXL_Forecast_revenue" in c.formula
    ]
    assert len(shown) == 3 and shown[0].value == pytest.approx(totals.loc["revenue", "value"])
