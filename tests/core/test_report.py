"""The headline KPI table assembles core numbers without changing them."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from retention_xl.core import kpis
from retention_xl.core.benchmarks import rate_kpi
from retention_xl.core.periods import period_table
from retention_xl.core.report import kpi_report
from retention_xl.datasets import load_sample
from retention_xl.errors import InputError


@pytest.fixture(scope="module")
def sample():
    return load_sample()


def test_order_kpis_match_an_independent_pandas_computation(sample):
    report = kpi_report(sample.orders)
    o = sample.orders.drop_duplicates("order_id")
    o = o[o["status"] != "cancelled"]
    net = o["amount"] - o["refunded"].fillna(0)
    purchases = o[(net > 0) & (o["status"] != "refunded")]
    per_customer = purchases.groupby("customer_id").size()
    assert report.value("customers") == len(per_customer)
    assert report.value("orders") == len(purchases)
    assert report.value("repeat_rate") == pytest.approx((per_customer >= 2).mean(), rel=1e-12)
    assert report.value("revenue") == pytest.approx(net.sum(), rel=1e-12)
    assert report.value("aov") == pytest.approx(net[purchases.index].mean(), rel=1e-12)


def test_period_rows_and_clv_come_from_the_period_table(sample):
    report = kpi_report(sample.orders, period="Y", gross_margin=0.4, cac=50.0)
    table = period_table(sample.orders, freq="Y")
    row = table.loc[pd.Timestamp("2024-01-01")]
    assert report.period_start == pd.Timestamp("2024-01-01")
    assert report.period_end == pd.Timestamp("2024-12-31")
    assert report.period_complete
    assert report.value("churn") == row["churn"]
    assert report.value("crr") == row["crr"]
    lifespan = 1 / row["churn"]
    expected_clv = row["aov"] * (row["orders"] / row["buyers"]) * lifespan * 0.4
    assert report.value("lifespan") == pytest.approx(lifespan, rel=1e-12)
    assert report.value("clv") == pytest.approx(expected_clv, rel=1e-12)
    assert report.value("clv_cac") == pytest.approx(expected_clv / 50.0, rel=1e-12)
    assert report.table.loc["clv_cac", "rating"] == rate_kpi("clv_cac", expected_clv / 50.0)


def test_monthly_period_annualises_churn_for_lifespan(sample):
    report = kpi_report(sample.orders, period="M")
    table = period_table(sample.orders, freq="M")
    row = table.loc[report.period_start]
    annual = 1 - (1 - row["churn"]) ** 12
    assert report.value("lifespan") == pytest.approx(1 / annual, rel=1e-12)


def test_partial_period_is_flagged():
    orders = pd.DataFrame(
        {
            "customer_id": ["a", "b", "a"],
            "order_id": ["1", "2", "3"],
            "order_date": ["2024-01-10", "2024-01-20", "2024-02-05"],
            "amount": [10.0, 20.0, 30.0],
        }
    )
    report = kpi_report(orders, period="Y")
    assert not report.period_complete
    assert report.notes
    assert math.isnan(report.value("churn"))  # nobody active at the start: undefined, not 0
    assert report.value("repeat_rate") == 0.5


def test_subscription_and_survey_rows(sample):
    report = kpi_report(subscriptions=sample.subscriptions, survey=sample.survey)
    nps_scores = sample.survey.loc[sample.survey["kind"] == "nps", "score"]
    assert report.value("nps") == pytest.approx(kpis.nps(nps_scores.to_numpy()), abs=1e-9)
    assert "churn" not in report.table.index
    assert report.value("mrr") > 0


def test_at_risk_share_is_rated_against_the_benchmark():
    report = kpi_report(
        pd.DataFrame(
            {
                "customer_id": ["a"],
                "order_id": ["1"],
                "order_date": ["2024-01-01"],
                "amount": [1.0],
            }
        ),
        p_alive=np.array([0.9, 0.1, 0.8, 0.7, 0.95]),
    )
    assert report.value("at_risk_share") == pytest.approx(0.2)
    assert report.table.loc["at_risk_share", "rating"] == rate_kpi("at_risk_share", 0.2)


def test_records_are_json_ready(sample):
    records = kpi_report(sample.orders).to_records()
    assert {r["kpi"] for r in records} >= {"churn", "crr", "repeat_rate", "clv"}
    assert all(r["value"] is None or isinstance(r["value"], float) for r in records)


def test_bad_arguments():
    with pytest.raises(InputError, match="period"):
        kpi_report(pd.DataFrame(), period="W")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="at least one"):
        kpi_report()


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"as_of": "someday"}, "as_of"),
        ({"as_of": "2024-13-01"}, "as_of"),
        ({"cac": 0}, "cac"),
        ({"cac": -10.0}, "cac"),
        ({"cac": float("nan")}, "cac"),
        ({"cac": "45"}, "cac"),
    ],
)
def test_impossible_as_of_and_cac_are_named(sample, kwargs, argument):
    with pytest.raises(InputError) as info:
        kpi_report(sample.orders, **kwargs)
    assert info.value.argument == argument
    assert argument in str(info.value)
