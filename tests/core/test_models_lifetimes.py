"""Our models equal lifetimes 0.11.3 on CDNOW and the donations: parameters and
per-customer predictions.

The reference numbers were computed by lifetimes (an independent implementation,
not a dependency) with ``tests/data/models_lifetimes/make_expected.py``: its
``calibration_and_holdout_data(..., freq="D")`` summary divided by 7, then
``BetaGeoFitter``, ``ModifiedBetaGeoFitter``, ``ParetoNBDFitter`` and
``GammaGammaFitter`` (``tol=1e-9``) and their predictions; ``BetaGeoBetaBinomFitter``
on the donations table (``tol=1e-8``). Tolerance: relative 1e-4, as the optimisers'
stopping rules differ.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from models_data import (
    CALIBRATION_END,
    HOLDOUT_END,
    cdnow_orders,
    donations,
    lifetimes_customers,
    lifetimes_donations,
    lifetimes_params,
)

from retention_xl.core.models import (
    BetaGeo,
    BetaGeoBetaBinom,
    GammaGamma,
    ModifiedBetaGeo,
    ParetoNBD,
    holdout_comparison,
    predict_clv,
    purchase_history,
)

RTOL = 1e-4


@pytest.fixture(scope="module")
def ref() -> pd.DataFrame:
    return lifetimes_customers()


@pytest.fixture(scope="module")
def fitted(ref):
    f, r, t = ref["frequency"], ref["recency"], ref["T"]
    return {
        "bgnbd": BetaGeo().fit(f, r, t),
        "mbgnbd": ModifiedBetaGeo().fit(f, r, t),
        "pareto_nbd": ParetoNBD().fit(f, r, t),
        "gamma_gamma": GammaGamma().fit(f, ref["monetary_value"].where(f > 0)),
    }


def test_our_history_equals_lifetimes_summary(ref):
    ours = purchase_history(cdnow_orders(), as_of=CALIBRATION_END)
    theirs = ref.loc[ours.index]  # lifetimes also keeps the eight $0 one-time buyers
    assert len(ref) - len(ours) == 8  # (the CSV keeps 12 significant digits)
    assert (ref.drop(ours.index)["frequency"] == 0).all()
    np.testing.assert_array_equal(ours["frequency"], theirs["frequency"])
    np.testing.assert_allclose(ours["recency"], theirs["recency"], rtol=1e-10)
    np.testing.assert_allclose(ours["age"], theirs["T"], rtol=1e-10)
    repeat = ours["frequency"] > 0
    np.testing.assert_allclose(
        ours.loc[repeat, "monetary_value"], theirs.loc[repeat, "monetary_value"], rtol=1e-10
    )


@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd", "pareto_nbd", "gamma_gamma"])
def test_parameters_equal_lifetimes(fitted, model):
    params = lifetimes_params()
    ours = fitted[model].params_
    names = {"gamma": "v"}  # lifetimes calls Gamma-Gamma's gamma "v"
    for name, value in ours.items():
        assert value == pytest.approx(params[(model, names.get(name, name))], rel=RTOL), name


def test_bgnbd_predictions_equal_lifetimes(fitted, ref):
    m = fitted["bgnbd"]
    f, r, t = ref["frequency"], ref["recency"], ref["T"]
    np.testing.assert_allclose(m.p_alive(f, r, t), ref["bgnbd_p_alive"], rtol=RTOL)
    np.testing.assert_allclose(
        m.expected_purchases(39.0, f, r, t), ref["bgnbd_expected_39"], rtol=RTOL
    )
    np.testing.assert_allclose(
        m.expected_purchases(10.0, f, r, t), ref["bgnbd_expected_10"], rtol=RTOL
    )


def test_mbgnbd_predictions_equal_lifetimes(fitted, ref):
    m = fitted["mbgnbd"]
    f, r, t = ref["frequency"], ref["recency"], ref["T"]
    np.testing.assert_allclose(m.p_alive(f, r, t), ref["mbgnbd_p_alive"], rtol=RTOL)
    np.testing.assert_allclose(
        m.expected_purchases(39.0, f, r, t), ref["mbgnbd_expected_39"], rtol=RTOL
    )
    np.testing.assert_allclose(
        m.expected_purchases(10.0, f, r, t), ref["mbgnbd_expected_10"], rtol=RTOL
    )


def test_bgbb_parameters_and_predictions_equal_lifetimes():
    data = donations()
    m = BetaGeoBetaBinom().fit(
        data["frequency"], data["recency"], data["periods"], weights=data["weights"]
    )
    params = lifetimes_params()
    for name, value in m.params_.items():
        assert value == pytest.approx(params[("bgbb", name)], rel=RTOL), name
    assert m.log_likelihood_ == pytest.approx(params[("bgbb", "log_likelihood")], rel=1e-8)
    ref = lifetimes_donations()
    history = (ref["frequency"], ref["recency"], ref["periods"])
    np.testing.assert_allclose(m.p_alive(*history), ref["p_alive"], rtol=RTOL)
    np.testing.assert_allclose(m.expected_purchases(1, *history), ref["expected_1"], rtol=RTOL)
    np.testing.assert_allclose(m.expected_purchases(5, *history), ref["expected_5"], rtol=RTOL)


def test_pareto_predictions_equal_lifetimes(fitted, ref):
    m = fitted["pareto_nbd"]
    f, r, t = ref["frequency"], ref["recency"], ref["T"]
    np.testing.assert_allclose(m.p_alive(f, r, t), ref["pareto_p_alive"], rtol=RTOL)
    np.testing.assert_allclose(
        m.expected_purchases(39.0, f, r, t), ref["pareto_expected_39"], rtol=RTOL
    )


def test_spend_and_clv_equal_lifetimes(fitted, ref):
    gg = fitted["gamma_gamma"]
    f, r, t = ref["frequency"], ref["recency"], ref["T"]
    m = ref["monetary_value"].where(f > 0)
    np.testing.assert_allclose(gg.expected_avg_value(f, m), ref["gg_expected_avg_value"], rtol=RTOL)
    # lifetimes: 12 months of 4.345 weeks, 1 % a month, cash at the end of each month.
    clv = predict_clv(
        fitted["bgnbd"],
        gg,
        f,
        r,
        t,
        m,
        horizon=12 * 4.345,
        discount_rate=1.01**12 - 1,
        periods_per_year=12 * 4.345,
        steps_per_year=12,
    )
    np.testing.assert_allclose(clv, ref["clv_12m"], rtol=RTOL)


def test_holdout_actuals_equal_lifetimes(ref):
    check = holdout_comparison(
        cdnow_orders(), calibration_end=CALIBRATION_END, holdout_end=HOLDOUT_END
    )
    theirs = ref.loc[check.customers.index, "frequency_holdout"]
    np.testing.assert_array_equal(check.customers["actual"].to_numpy(), theirs.to_numpy())
    assert check.weekly["actual"].iloc[-1] == check.actual_total == theirs.sum()
