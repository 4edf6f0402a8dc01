"""Calibration/holdout checks and per-customer predictions from orders."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from models_data import CALIBRATION_END, HOLDOUT_END, cdnow_orders, cdnow_raw

from retention_xl.core.kpis import at_risk_share
from retention_xl.core.models import (
    PREDICTION_COLUMNS,
    BetaGeo,
    GammaGamma,
    holdout_comparison,
    period_history,
    predict_clv,
    predict_customers,
    purchase_history,
    risk_band,
)
from retention_xl.core.schema import prepare_orders
from retention_xl.datasets import load_sample
from retention_xl.errors import InputError, NotEnoughDataError, OutOfRangeError


@pytest.fixture(scope="module")
def cdnow_check():
    return holdout_comparison(
        cdnow_orders(), calibration_end=CALIBRATION_END, holdout_end=HOLDOUT_END
    )


def test_cdnow_39_plus_39_weeks(cdnow_check):
    check = cdnow_check
    assert check.calibration_end == CALIBRATION_END and check.holdout_end == HOLDOUT_END
    assert len(check.weekly) == 39
    # Independent count of the holdout repeat purchases: distinct (customer, day).
    raw = cdnow_raw()
    raw["day"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    paid = raw[raw["value"] > 0]
    hold = paid[(paid["day"] > CALIBRATION_END) & (paid["day"] <= HOLDOUT_END)]
    per_week = ((hold["day"] - CALIBRATION_END).dt.days - 1) // 7
    distinct = hold.assign(week=per_week).drop_duplicates(["customer_id", "day"])
    expected = distinct.groupby("week").size().reindex(range(39), fill_value=0).cumsum()
    np.testing.assert_array_equal(check.weekly["actual"].to_numpy(), expected.to_numpy())
    assert check.actual_total == len(distinct)
    # The predictions are the calibration fit's conditional expectations over 39 weeks.
    c = check.customers
    m = check.model
    np.testing.assert_allclose(
        c["predicted"], m.expected_purchases(39.0, c["frequency"], c["recency"], c["age"])
    )
    assert check.weekly["predicted"].iloc[-1] == pytest.approx(check.predicted_total)
    assert np.all(np.diff(check.weekly["predicted"]) > 0)
    # BG/NBD predicts the CDNOW holdout total within 15 % (1,653 for 1,882 actual).
    assert abs(check.error_share) < 0.15
    assert check.mean_absolute_error == pytest.approx(np.abs(c["predicted"] - c["actual"]).mean())


def test_holdout_weeks_is_the_same_split(cdnow_check):
    by_weeks = holdout_comparison(cdnow_orders(), holdout_weeks=39, holdout_end=HOLDOUT_END)
    assert by_weeks.calibration_end == CALIBRATION_END
    pd.testing.assert_frame_equal(by_weeks.weekly, cdnow_check.weekly)


def test_pareto_holdout(cdnow_check):
    pareto = holdout_comparison(
        cdnow_orders(), calibration_end=CALIBRATION_END, holdout_end=HOLDOUT_END, model="pareto_nbd"
    )
    assert pareto.actual_total == cdnow_check.actual_total
    assert pareto.predicted_total == pytest.approx(cdnow_check.predicted_total, rel=0.05)


def test_mbgnbd_holdout(cdnow_check):
    mbg = holdout_comparison(
        cdnow_orders(), calibration_end=CALIBRATION_END, holdout_end=HOLDOUT_END, model="mbgnbd"
    )
    assert mbg.model.label == "MBG/NBD"
    assert mbg.actual_total == cdnow_check.actual_total
    c = mbg.customers
    np.testing.assert_allclose(
        c["predicted"], mbg.model.expected_purchases(39.0, c["frequency"], c["recency"], c["age"])
    )
    # 1,576 for 1,882 actual: a little below BG/NBD's 1,653, as its one-time buyers can be gone
    assert cdnow_check.predicted_total * 0.9 < mbg.predicted_total < cdnow_check.predicted_total


def test_holdout_arguments_are_checked():
    orders = cdnow_orders()
    with pytest.raises(InputError, match="either"):
        holdout_comparison(orders)
    with pytest.raises(InputError, match="either"):
        holdout_comparison(orders, calibration_end="1997-09-30", holdout_weeks=4)
    with pytest.raises(OutOfRangeError, match="holdout is empty"):
        holdout_comparison(orders, calibration_end="1999-01-01")
    with pytest.raises(OutOfRangeError):
        holdout_comparison(orders, holdout_weeks=-2)
    with pytest.raises(InputError, match="model"):
        holdout_comparison(orders, holdout_weeks=4, model="bayes")


# ---------------------------------------------------------------------------- predictions


@pytest.fixture(scope="module")
def sample_predictions():
    return predict_customers(load_sample().orders, margin=0.4, discount_rate=0.1)


def test_predictions_per_customer(sample_predictions):
    out = sample_predictions
    c = out.customers
    assert list(c.columns) == list(PREDICTION_COLUMNS)
    history = purchase_history(load_sample().orders)
    assert c.index.equals(history.index)
    x, tx, t = history["frequency"], history["recency"], history["age"]
    bg = BetaGeo().fit(x, tx, t)
    np.testing.assert_allclose(out.transactions.params_, bg.params_)
    np.testing.assert_allclose(c["p_alive"], bg.p_alive(x, tx, t))
    np.testing.assert_allclose(c["expected_purchases_90d"], bg.expected_purchases(90 / 7, x, tx, t))
    np.testing.assert_allclose(
        c["expected_purchases_365d"], bg.expected_purchases(365 / 7, x, tx, t)
    )
    gg = GammaGamma().fit(x, history["monetary_value"])
    clv = predict_clv(
        bg,
        gg,
        x,
        tx,
        t,
        history["monetary_value"],
        horizon=365 / 7,
        margin=0.4,
        discount_rate=0.1,
        periods_per_year=365.25 / 7,
    )
    np.testing.assert_allclose(c["predicted_clv"], clv)
    assert (c["expected_purchases_365d"] >= c["expected_purchases_90d"]).all()
    assert out.as_of == pd.Timestamp("2024-12-31")
    assert out.at_risk_share == pytest.approx(at_risk_share(c["p_alive"].to_numpy()))
    assert out.at_risk_share == pytest.approx((c["risk_band"] == "high").mean())
    params = out.parameters.set_index(["model", "parameter"])["value"]
    assert params[("BG/NBD", "r")] == pytest.approx(bg.params_["r"])
    assert params[("Gamma-Gamma", "log_likelihood")] == pytest.approx(gg.log_likelihood_)


def test_clv_scales_with_margin_and_falls_with_discounting(sample_predictions):
    orders = load_sample().orders
    base = sample_predictions.customers["predicted_clv"]
    full = predict_customers(orders, margin=1.0, discount_rate=0.1).customers["predicted_clv"]
    np.testing.assert_allclose(full, base / 0.4)
    undiscounted = predict_customers(orders, margin=0.4, discount_rate=0.0).customers
    assert (undiscounted["predicted_clv"] > base).all()
    longer = predict_customers(orders, margin=0.4, horizon_days=730).customers
    assert (longer["predicted_clv"] > base).all()


def test_a_history_frame_gives_the_same_predictions(sample_predictions):
    history = purchase_history(load_sample().orders)
    again = predict_customers(history, margin=0.4, discount_rate=0.1)
    pd.testing.assert_frame_equal(again.customers, sample_predictions.customers)


def test_risk_bands():
    bands = risk_band([0.95, 0.8, 0.79, 0.5, 0.49, 0.0])
    assert list(bands) == ["low", "low", "medium", "medium", "high", "high"]
    assert list(risk_band([0.7], at_risk_threshold=0.75, low_risk_threshold=0.9)) == ["high"]
    with pytest.raises(OutOfRangeError):
        risk_band([0.5], at_risk_threshold=0.9, low_risk_threshold=0.8)


def test_predictions_need_repeat_buyers():
    orders = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "order_id": ["1", "2", "3"],
            "order_date": ["2024-01-01", "2024-02-01", "2024-03-01"],
            "amount": [10.0, 20.0, 30.0],
        }
    )
    with pytest.raises(NotEnoughDataError, match="bought again"):
        predict_customers(orders)
    with pytest.raises(OutOfRangeError, match="margin"):
        predict_customers(load_sample().orders, margin=-1)


def test_purchase_history_follows_the_purchase_rules():
    orders = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "b", "b", "c"],
            "order_id": ["1", "2", "3", "4", "5", "6", "7"],
            "order_date": [
                "2024-01-01", "2024-01-15", "2024-01-15", "2024-02-12",
                "2024-01-08", "2024-03-04", "2024-02-01",
            ],
            "amount": [10.0, 20.0, 5.0, 40.0, 30.0, 50.0, 15.0],
            "refunded": [0.0, 0.0, 0.0, 40.0, 0.0, 0.0, 15.0],
        }
    )  # fmt: skip
    h = purchase_history(orders, as_of="2024-03-31")
    assert list(h.index) == ["a", "b"]  # c's only order was refunded: not a customer
    # a: purchase days 01-01 and 01-15 (two orders, 25 in all); 02-12 fully refunded.
    assert h.loc["a", "frequency"] == 1
    assert h.loc["a", "recency"] == pytest.approx(2.0)
    assert h.loc["a", "age"] == pytest.approx(90 / 7)
    assert h.loc["a", "monetary_value"] == pytest.approx(25.0)
    assert h.loc["b", "monetary_value"] == pytest.approx(50.0)  # the first purchase left out
    days = purchase_history(orders, as_of="2024-03-31", time_unit_days=1)
    assert days.loc["b", "recency"] == 56 and days.loc["b", "age"] == 83
    early = purchase_history(orders, as_of="2024-01-10")
    assert early.loc["a", "frequency"] == 0 and np.isnan(early.loc["a", "monetary_value"])
    with pytest.raises(OutOfRangeError):
        purchase_history(orders, time_unit_days=0)


def test_purchase_history_with_and_without_the_prepared_customer_codes():
    """Prepared orders carry integer customer codes (prepare_orders fills them); the
    mean repeat spend found through them is the one found through the ids."""
    prepared = prepare_orders(load_sample().orders)
    assert prepared.customer_codes is not None
    without = dataclasses.replace(prepared, customer_codes=None)
    h = purchase_history(prepared)
    pd.testing.assert_frame_equal(h, purchase_history(without), check_exact=True)
    assert (h["monetary_value"] > 0).sum() > 1000
    periods = period_history(prepared, period="Q")
    pd.testing.assert_frame_equal(periods, period_history(without, period="Q"), check_exact=True)
    assert (periods["monetary_value"] > 0).sum() > 500
