"""The report and template plans: every cached number is the core's, names and inputs
exist, formulas follow the rules, languages differ only in labels."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from planhelp import all_formulas, named_cell, parse_ref, same, value_of

from retention_xl.core.benchmarks import LEVELS, rate_kpi
from retention_xl.core.customers import SEGMENTS, rfm_table, segment_summary
from retention_xl.core.periods import period_table
from retention_xl.core.report import KPI_UNITS, kpi_report
from retention_xl.errors import InputError, WorkbookError
from retention_xl.workbook.build import SHEET_ROLES, plan_report, plan_report_and_data
from retention_xl.workbook.data import period_kpis
from retention_xl.workbook.formulas import ALLOWED_FUNCTIONS, functions_used
from retention_xl.workbook.plan import INPUT_NAMES, sheet_marker

SAMPLE_CAC = 45.0


def _core_report(sample):
    as_of = pd.Timestamp(sample.orders["order_date"].max()).normalize()
    return kpi_report(
        sample.orders, sample.subscriptions, sample.survey, cac=SAMPLE_CAC, as_of=as_of
    )


def test_every_kpi_cell_caches_the_core_value(sample, sample_plan):
    core = _core_report(sample)
    checked = 0
    for key in KPI_UNITS:
        _, cell = named_cell(sample_plan, f"KPI_{key}")
        assert same(value_of(cell), core.value(key)), (key, cell.value, core.value(key))
        checked += not math.isnan(core.value(key))
    # everything the sample can give is there (the at-risk share needs the models)
    assert checked == len(KPI_UNITS) - 1
    assert math.isnan(core.value("at_risk_share"))


def test_kpis_that_read_raw_tabs_are_formulas_over_the_orders_and_survey(sample_plan):
    for key, name in (("orders", "Orders_"), ("revenue", "Orders_"), ("nps", "Survey_"),
                      ("csat", "Survey_")):  # fmt: skip
        _, cell = named_cell(sample_plan, f"KPI_{key}")
        assert cell.formula is not None and name in cell.formula, key
    _, churn = named_cell(sample_plan, "KPI_churn")
    assert "INDEX(Periods_churn,RXL_PeriodRow)" in churn.formula


def test_the_chosen_period_row_and_as_of_are_cached(sample_plan_and_data):
    plan, data = sample_plan_and_data
    _, row = named_cell(plan, "RXL_PeriodRow")
    position = list(data.periods.index).index(data.report.period_start) + 1
    assert row.value == position
    _, period = named_cell(plan, "Input_Period")
    serial = (data.report.period_start - pd.Timestamp("1899-12-30")).days
    assert period.value == serial
    _, as_of = named_cell(plan, "RXL_AsOf")
    assert as_of.value == (data.as_of - pd.Timestamp("1899-12-30")).days


def test_another_period_gives_that_rows_kpis(sample):
    plan, data = plan_report_and_data(
        sample.orders, cac=SAMPLE_CAC, period="Q", input_period="2024-04-01", gross_margin=0.4
    )
    table = period_table(sample.orders, freq="Q", as_of=data.as_of)
    row = table.loc[pd.Timestamp("2024-04-01")]
    assert data.chosen_period == pd.Timestamp("2024-04-01")
    _, churn = named_cell(plan, "KPI_churn")
    assert churn.value == pytest.approx(float(row["churn"]), rel=1e-15)
    expected = period_kpis(row.to_dict(), "Q", 0.4, SAMPLE_CAC)
    _, clv = named_cell(plan, "KPI_clv")
    assert clv.value == pytest.approx(expected["clv"], rel=1e-15)
    # annual churn from a quarter: lifespan = 1 / (1 - (1 - q)^4)
    q = float(row["churn"])
    _, life = named_cell(plan, "KPI_lifespan")
    assert life.value == pytest.approx(1 / (1 - (1 - q) ** 4), rel=1e-12)


def test_period_kpis_equal_kpi_report_for_the_headline_period(sample):
    for period in ("Y", "Q", "M"):
        core = kpi_report(sample.orders, period=period, cac=SAMPLE_CAC, gross_margin=0.6)
        table = period_table(sample.orders, freq=period, as_of=core.as_of)
        got = period_kpis(table.loc[core.period_start].to_dict(), period, 0.6, SAMPLE_CAC)
        for key, value in got.items():
            assert same(value, core.value(key)), (period, key)


def test_unknown_input_period_is_refused(sample):
    with pytest.raises(InputError, match="not a period of the data"):
        plan_report(sample.orders, input_period="2024-02-01")


def test_names_markers_and_inputs_exist(sample_plan):
    names = sample_plan.names
    assert [s.role for s in sample_plan.sheets] == list(SHEET_ROLES)
    for sheet in sample_plan.sheets:
        assert parse_ref(names[sheet_marker(sheet.role)]) == (sheet.title, 0, 0)
    kpis = sample_plan.sheet("KPIS")
    for name in INPUT_NAMES:
        sheet, cell = named_cell(sample_plan, name)
        assert sheet is kpis
        assert cell.style is not None and cell.style.startswith("input_"), name
        assert sample_plan.styles[cell.style].bg_color  # highlighted
        assert not sample_plan.styles[cell.style].locked
    validated = {(v["row"], v["col"]) for v in kpis.validations}
    for name in INPUT_NAMES:
        _, row, col = parse_ref(names[name])
        assert (row, col) in validated, name
    period_rule = next(v for v in kpis.validations if v["validate"] == "list")
    assert period_rule["source"] == "=RXL_PeriodList"
    assert parse_ref(names["RXL_PeriodList"])[0] == sample_plan.sheet("PERIODS").title
    for key in KPI_UNITS:
        assert f"KPI_{key}" in names


def test_defined_names_have_fixed_sizes(sample_plan, template_en):
    """Ranges end at the sheet's last row, so refresh never has to move a name.

    Only the manifest names follow the data: they record what was written.
    """

    def fixed(names: dict[str, str]) -> dict[str, str]:
        return {k: v for k, v in names.items() if not k.startswith(("RXL_AREA_", "RXL_MANIFEST_"))}

    assert fixed(sample_plan.names) == fixed(template_en.names)
    assert sample_plan.names != template_en.names  # the manifests differ
    assert set(sample_plan.names) - set(fixed(sample_plan.names)) >= {
        "RXL_AREA_KPIS",
        "RXL_MANIFEST_KPIS_1",
        "RXL_AREA_ORDERS",
    }
    assert sample_plan.names["Orders_amount"] == "='Orders'!$D$2:$D$1048576"


def test_formulas_use_only_portable_functions_and_no_sheet_names(sample_plan):
    formulas = all_formulas(sample_plan)
    assert len(formulas) > 80
    for where, formula in formulas.items():
        assert formula.startswith("="), where
        assert functions_used(formula) <= ALLOWED_FUNCTIONS, (where, formula)
        assert "!" not in formula, (where, formula)  # cross-sheet only through names


def test_same_formulas_in_both_languages_and_different_labels(sample_plan, sample_plan_it):
    assert all_formulas(sample_plan) == all_formulas(sample_plan_it)
    en = {s.role: s.title for s in sample_plan.sheets}
    it = {s.role: s.title for s in sample_plan_it.sheets}
    assert en["XLWINGS_CONF"] == it["XLWINGS_CONF"] == "xlwings.conf"
    differ = [r for r in en if en[r] != it[r]]
    assert len(differ) == len(en) - 1
    title = (0, 0)
    assert (
        sample_plan.sheet("KPIS").cells[title].value
        != sample_plan_it.sheet("KPIS").cells[title].value
    )
    # the rating text comes from the localised level labels
    _, level = named_cell(sample_plan_it, "RXL_Level_repeat_rate")
    bench = sample_plan_it.sheet("BENCHMARKS")
    rating = bench.cells[(4, 5)].value
    assert rating == "eccellente" and level.value == 4.0


def test_template_caches_blanks_never_errors(template_en, template_it):
    for plan in (template_en, template_it):
        cells = [c for s in plan.sheets for _, c in s.formula_cells()]
        assert len(cells) > 80
        for cell in cells:
            if "RXL_Label_" in str(cell.formula):  # a tile label: its text, without a month
                assert cell.value in ("MRR", "MRR (ricavi ricorrenti mensili)")
                continue
            if "RXL_Target_" in str(cell.formula):  # progress without a target says so
                assert cell.value in ("no target set", "obiettivo non impostato", "")
                continue
            if str(cell.formula).startswith('=IF(OR(Input_CAC="",'):  # CLV : CAC asks for it
                assert cell.value in (
                    "enter your CAC on the KPIs sheet",
                    "inserisci il CAC nel foglio KPI",
                )
                continue
            assert cell.value == "" or isinstance(cell.value, float), (
                cell.formula,
                cell.value,
            )
        for key in KPI_UNITS:  # no data: every KPI is blank, none is a misleading 0
            assert named_cell(plan, f"KPI_{key}")[1].value == "", key
        _, target = named_cell(plan, "Input_CAC")
        assert target.value is None
        assert all(len(t.frame) == 0 for s in plan.sheets for t in s.tables)


def test_benchmark_levels_and_gaps_are_the_cores(sample, sample_plan):
    core = _core_report(sample)
    bench = sample_plan.sheet("BENCHMARKS")
    for key, row in (("repeat_rate", 4), ("clv_cac", 5)):
        value = core.value(key)
        level = bench.cells[(row, 10)].value
        assert level == LEVELS.index(rate_kpi(key, value)) + 1
        assert bench.cells[(row, 5)].value == rate_kpi(key, value)
        target = {"repeat_rate": 0.30, "clv_cac": 4.0}[key]
        assert bench.cells[(row, 7)].value == pytest.approx(target - value, rel=1e-12)
    # at-risk share without a model: "no data", not a zero
    assert bench.cells[(6, 1)].value == "" and bench.cells[(6, 10)].value == ""
    assert bench.cells[(6, 5)].value == "no data"


def test_at_risk_share_from_p_alive(sample):
    ids = sorted(sample.orders["customer_id"].unique())
    rng = np.random.default_rng(7)
    p = pd.Series(rng.uniform(0, 1, len(ids)), index=ids)
    plan = plan_report(sample.orders, p_alive=p)
    _, cell = named_cell(plan, "KPI_at_risk_share")
    purchasers = plan.sheet("CUSTOMERS").tables[0].frame["customer_id"]
    expected = float((p.reindex(purchasers) < 0.5).mean())
    assert cell.value == pytest.approx(expected, rel=1e-15)


def test_segment_summary_cells_are_the_cores(sample, sample_plan):
    core = segment_summary(rfm_table(sample.orders))
    sheet = sample_plan.sheet("SEGMENTS")
    for i, seg in enumerate(SEGMENTS):
        row = 4 + i
        assert sheet.cells[(row, 1)].value == core.loc[seg, "customers"]
        assert sheet.cells[(row, 3)].value == pytest.approx(core.loc[seg, "revenue"], rel=1e-12)
        assert same(value_of(sheet.cells[(row, 4)]), float(core.loc[seg, "revenue_share"]))
        assert "COUNTIFS" in sheet.cells[(row, 1)].formula


def test_too_many_rows_are_refused_with_a_pointer_to_no_raw(sample):
    distinct = sample.orders["order_id"].nunique()
    assert len(plan_report(sample.orders, row_limit=distinct).sheet("ORDERS").tables[0].frame) == (
        distinct
    )  # repeated export rows are dropped before the limit applies
    limit = distinct - 1
    with pytest.raises(WorkbookError, match="--no-raw"):
        plan_report(sample.orders, row_limit=limit)
    plan = plan_report(sample.orders, sample.subscriptions, sample.survey, row_limit=limit,
                       no_raw=True)  # fmt: skip
    assert len(plan.sheet("ORDERS").tables[0].frame) == 0
    assert len(plan.sheet("CUSTOMERS").tables[0].frame) > 0
    _, orders = named_cell(plan, "KPI_orders")
    assert orders.formula is None and orders.value == 10157
    _, churn = named_cell(plan, "KPI_churn")
    assert churn.formula is not None  # derived tabs keep their formulas
    # without a survey, NPS stays blank (a formula for "", not an empty cell read as 0)
    _, nps = named_cell(plan_report(sample.orders, no_raw=True), "KPI_nps")
    assert (nps.formula, nps.value) == ('=""', "")


def test_revenue_counts_every_row_like_the_formula():
    """A refund row of a customer without a purchase lowers the Orders tab's revenue
    (what SUMIFS computes), the core's period revenue, not the customer revenue."""
    orders = pd.DataFrame(
        {
            "customer_id": ["a", "a", "z"],
            "order_id": ["1", "2", "3"],
            "order_date": ["2024-01-01", "2024-02-01", "2024-01-15"],
            "amount": [10.0, 20.0, -4.0],
        }
    )
    plan, data = plan_report_and_data(orders)
    _, revenue = named_cell(plan, "KPI_revenue")
    assert revenue.value == 26.0 == float(data.monthly["revenue"].sum())
    assert data.report.value("revenue") == 30.0


def test_orders_tab_is_deduplicated_and_status_normalised():
    orders = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c"],
            "order_id": ["1", "1", "2", "3"],
            "order_date": ["2024-01-01", "2024-01-01", "2024-01-02", "2024-01-03"],
            "amount": [10.0, 10.0, 20.0, 30.0],
            "refunded": [0.0, 0.0, 20.0, 5.0],
        }
    )
    plan = plan_report(orders)
    tab = plan.sheet("ORDERS").tables[0].frame
    assert tab["order_id"].tolist() == ["1", "2", "3"]
    assert tab["status"].tolist() == ["paid", "refunded", "paid"]
    _, n = named_cell(plan, "KPI_orders")
    assert n.value == 2  # the fully refunded order is no purchase


def test_at_risk_share_of_the_fitted_model(sample):
    from retention_xl.core.models import predict_customers
    from retention_xl.workbook.build import model_p_alive

    p = model_p_alive(sample.orders, as_of=None, margin=1.0, discount_rate=0.1)
    assert p is not None and p.between(0, 1).all()
    plan = plan_report(sample.orders, p_alive=p)
    _, cell = named_cell(plan, "KPI_at_risk_share")
    assert cell.value == pytest.approx(predict_customers(sample.orders).at_risk_share, rel=1e-12)
    bench = plan.sheet("BENCHMARKS")
    assert bench.cells[(6, 5)].value == rate_kpi("at_risk_share", cell.value)


def test_model_that_cannot_be_fitted_leaves_the_at_risk_share_blank():
    from retention_xl.workbook.build import model_p_alive

    tiny = pd.DataFrame(
        {
            "customer_id": ["a", "b", "a"],
            "order_id": ["1", "2", "3"],
            "order_date": pd.to_datetime(["2024-03-05", "2024-03-06", "2024-03-09"]),
            "amount": [10.0, 20.0, 5.0],
        }
    )
    notes: list[str] = []
    assert model_p_alive(tiny, as_of=None, margin=1.0, discount_rate=0.1, notes=notes) is None
    assert len(notes) == 1 and "could not be fitted" in notes[0]
    plan = plan_report(tiny, p_alive=None)
    assert plan.sheet("BENCHMARKS").cells[(6, 5)].value == "no data"


def test_predictions_on_customers_segments_and_the_predictions_sheet(sample):
    from retention_xl.workbook.build import model_predictions

    predictions = model_predictions(sample.orders, margin=0.5)
    plan = plan_report(sample.orders, predictions=predictions, lang="it")
    customers = plan.sheet("CUSTOMERS").tables[0].frame.set_index("customer_id")
    expected = predictions.customers.reindex(customers.index)
    assert np.allclose(customers["predicted_clv"], expected["predicted_clv"], rtol=1e-15)
    assert np.allclose(customers["p_alive"], expected["p_alive"], rtol=1e-15)
    bands = {"low": "basso", "medium": "medio", "high": "alto"}
    assert (customers["risk_band"] == expected["risk_band"].astype(str).map(bands)).all()
    listed = plan.sheet("SEGMENTS").tables[0].frame
    assert listed["predicted_clv"].notna().all()
    params = plan.sheet("PREDICTIONS").tables[0].frame
    pd.testing.assert_frame_equal(
        params.reset_index(drop=True),
        predictions.parameters[["model", "parameter", "value", "se"]].reset_index(drop=True),
    )
    _, at_risk = named_cell(plan, "KPI_at_risk_share")
    assert at_risk.value == pytest.approx(predictions.at_risk_share, rel=1e-12)


def test_segment_list_ties_on_revenue_to_the_cent_go_by_customer_id():
    """Two customers whose revenues are equal to the cent but not in the last bits (as
    engines that add in different orders give them) are listed in customer-id order;
    a larger revenue still comes first."""
    rows = [
        ("b", "1", "2024-01-05", 0.1),
        ("b", "2", "2024-02-05", 0.2),  # 0.30000000000000004
        ("a", "3", "2024-01-06", 0.3),  # 0.3 < 0.30000000000000004: a tie to the cent
        ("c", "5", "2024-01-07", 0.35),
    ]
    orders = pd.DataFrame(rows, columns=["customer_id", "order_id", "order_date", "amount"])
    orders = pd.concat([orders, pd.DataFrame(
        [(f"z{i}", f"z{i}", "2024-03-01", 100.0 + i) for i in range(20)],
        columns=orders.columns,
    )], ignore_index=True)  # fmt: skip
    plan = plan_report(orders)
    table = next(t for t in plan.sheet("SEGMENTS").tables if "customer_id" in t.frame.columns)
    listed = [c for c in table.frame["customer_id"] if c in ("a", "b", "c")]
    assert listed == ["c", "a", "b"]


def test_the_customers_frame_is_computed_once_per_workbook(sample, monkeypatch):
    from retention_xl.workbook.sheets import derived

    calls = []
    real = derived._customers_frame

    def counted(ctx):
        calls.append(ctx)
        return real(ctx)

    monkeypatch.setattr(derived, "_customers_frame", counted)
    plan = plan_report(sample.orders)
    assert len(calls) == 1  # the Customers tab and the Segments list share it
    customers = plan.sheet("CUSTOMERS").tables[0].frame
    listed = plan.sheet("SEGMENTS").tables[0].frame
    assert len(customers) > 1000
    assert sorted(customers["customer_id"]) == sorted(listed["customer_id"])
    first = derived.customers_frame(calls[0])
    first["revenue"] = -1.0  # a caller's changes stay in its copy
    assert (derived.customers_frame(calls[0])["revenue"] >= 0).all()
    assert len(calls) == 1
