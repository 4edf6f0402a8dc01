"""The generator's formulas doing their job for a user, in a real engine (LibreOffice):
data pasted into a template computes the raw-tab KPIs; changing an input of a report
(the period, the gross margin, the CAC, a target) changes the KPIs as the core says."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from libreoffice import LibreOffice, opened

from retention_xl.core.periods import period_table
from retention_xl.core.report import kpi_report
from retention_xl.workbook.build import plan_report_and_data, plan_template, write_workbook
from retention_xl.workbook.data import period_kpis
from retention_xl.workbook.sheets.kpis import excel_serial

pytestmark = pytest.mark.libreoffice


def _one(values):
    value = values[0][0]
    return None if value == "" else value


def _orders(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    return pd.DataFrame(
        {
            "customer_id": [f"c{int(i)}" for i in rng.integers(0, 12, n)],
            "order_id": [f"o{i}" for i in range(n)],
            "order_date": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(np.sort(rng.integers(0, 300, n)), unit="D"),
            "amount": np.round(rng.gamma(2.0, 20.0, n), 2),
            "refunded": np.where(np.arange(n) % 9 == 0, 5.0, 0.0),
            "status": ["cancelled" if i % 13 == 5 else "paid" for i in range(n)],
        }
    )


def test_data_pasted_into_a_template_computes_the_raw_kpis(
    libreoffice: LibreOffice, tmp_path
) -> None:
    orders = _orders()
    survey = pd.DataFrame(
        {
            "answered_at": pd.date_range("2024-02-01", periods=15, freq="7D"),
            "score": [10, 9, 3, 7, 8, 10, 6, 2, 9, 9, 5, 4, 5, 3, 1],
            "kind": ["nps"] * 10 + ["csat"] * 5,
        }
    )
    plan = plan_template(lang="it")
    path = write_workbook(plan, tmp_path / "template.xlsx")
    orders_tab = plan.sheet("ORDERS").title
    survey_tab = plan.sheet("SURVEY").title
    with opened(libreoffice, path) as book:
        for i, row in enumerate(orders.itertuples(index=False), start=2):
            book.set_cell(orders_tab, f"A{i}", row.customer_id)
            book.set_cell(orders_tab, f"B{i}", row.order_id)
            book.set_cell(orders_tab, f"C{i}", excel_serial(row.order_date))
            book.set_cell(orders_tab, f"D{i}", float(row.amount))
            book.set_cell(orders_tab, f"E{i}", float(row.refunded))
            book.set_cell(orders_tab, f"F{i}", row.status)
        for i, row in enumerate(survey.itertuples(index=False), start=2):
            book.set_cell(survey_tab, f"A{i}", excel_serial(row.answered_at))
            book.set_cell(survey_tab, f"B{i}", float(row.score))
            book.set_cell(survey_tab, f"C{i}", row.kind)
        book.calculate_all()
        got = {k: _one(book.named(f"KPI_{k}")) for k in ("orders", "revenue", "aov", "nps", "csat")}
        as_of = _one(book.named("RXL_AsOf"))
        churn = _one(book.named("KPI_churn"))  # needs the derived tabs: blank until refresh
    core = kpi_report(orders, None, survey)
    for key, value in got.items():
        assert value == pytest.approx(core.value(key), rel=1e-9), key
    assert as_of == excel_serial(pd.Timestamp(orders["order_date"].max()))
    assert churn is None


def test_italian_status_words_typed_into_the_template_follow_the_english_rules(
    libreoffice: LibreOffice, tmp_path
) -> None:
    """An Italian user types statuses in Italian (any case): "annullato" is no purchase
    and adds no revenue, "rimborsato" is no purchase, as "cancelled"/"refunded" are not."""
    orders = _orders(30)
    typed = ["Annullato", "rimborsato", "pagato", "ANNULLATA", "Rimborsata", "evaso"]
    english = {
        "annullato": "cancelled",
        "annullata": "cancelled",
        "rimborsato": "refunded",
        "rimborsata": "refunded",
        "pagato": "paid",
        "evaso": "paid",
    }
    orders["status"] = [typed[i % len(typed)] for i in range(len(orders))]
    # a refunded order was refunded in full, as the platforms mean the word
    gone = orders["status"].str.lower().str.startswith("rimborsat")
    orders.loc[gone, "refunded"] = orders.loc[gone, "amount"]
    plan = plan_template(lang="it")
    path = write_workbook(plan, tmp_path / "modello.xlsx")
    orders_tab = plan.sheet("ORDERS").title
    with opened(libreoffice, path) as book:
        for i, row in enumerate(orders.itertuples(index=False), start=2):
            book.set_cell(orders_tab, f"A{i}", row.customer_id)
            book.set_cell(orders_tab, f"B{i}", row.order_id)
            book.set_cell(orders_tab, f"C{i}", excel_serial(row.order_date))
            book.set_cell(orders_tab, f"D{i}", float(row.amount))
            book.set_cell(orders_tab, f"E{i}", float(row.refunded))
            book.set_cell(orders_tab, f"F{i}", row.status)
        book.calculate_all()
        got = {k: _one(book.named(f"KPI_{k}")) for k in ("orders", "revenue", "aov")}
    canonical = orders.assign(status=orders["status"].str.lower().map(english))
    core = kpi_report(canonical, None, None)
    purchases = canonical[(canonical["status"] == "paid") & (canonical["amount"] > 0)]
    assert got["orders"] == len(purchases) < len(orders)
    for key, value in got.items():
        assert value == pytest.approx(core.value(key), rel=1e-9), key


def test_changing_inputs_of_a_report_follows_the_core(libreoffice: LibreOffice, sample, tmp_path):
    plan, data = plan_report_and_data(sample.orders, period="Q", cac=40.0)
    path = write_workbook(plan, tmp_path / "report.xlsx")
    other = pd.Timestamp("2024-04-01")
    with opened(libreoffice, path) as book:
        book.set_named("Input_Period", excel_serial(other))
        book.set_named("Input_GrossMargin", 0.5)
        book.set_named("Input_CAC", 25.0)
        book.set_named("Target_Churn", 0.35)
        book.calculate_all()
        got = {
            k: _one(book.named(f"KPI_{k}")) for k in ("churn", "crr", "lifespan", "clv", "clv_cac")
        }
        progress = _one(book.named("RXL_Progress_churn"))
    table = period_table(sample.orders, freq="Q", as_of=data.as_of)
    expected = period_kpis(table.loc[other].to_dict(), "Q", 0.5, 25.0)
    for key, value in got.items():
        assert value == pytest.approx(expected[key], rel=1e-9), key
    # lower is better: progress = target / value, at most 1
    assert progress == pytest.approx(min(1.0, 0.35 / expected["churn"]), rel=1e-9)
