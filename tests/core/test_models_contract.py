"""One contract for every model: fit, a clear error when unfitted, and a JSON file that
gives back the same model bit for bit (parameters, covariance, summary, predictions)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from models_data import donations, lifetimes_customers, sbg_survivors

from retention_xl.core.models import (
    BetaGeo,
    BetaGeoBetaBinom,
    GammaGamma,
    ModifiedBetaGeo,
    ParetoNBD,
    ShiftedBetaGeometric,
    load_model,
)
from retention_xl.errors import InputError, NotEnoughDataError


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return lifetimes_customers()


def _fitted(name: str, cdnow: pd.DataFrame):
    f, r, t = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    if name in ("BetaGeo", "ModifiedBetaGeo", "ParetoNBD"):
        cls = {"BetaGeo": BetaGeo, "ModifiedBetaGeo": ModifiedBetaGeo, "ParetoNBD": ParetoNBD}
        model = cls[name]().fit(f, r, t)
        return model, lambda m: (m.p_alive(f, r, t), m.expected_purchases(10, f, r, t))
    if name == "GammaGamma":
        repeat = cdnow[cdnow["frequency"] > 0]
        model = GammaGamma().fit(repeat["frequency"], repeat["monetary_value"])
        return model, lambda m: (
            m.expected_avg_value(repeat["frequency"], repeat["monetary_value"]),
        )
    if name == "ShiftedBetaGeometric":
        model = ShiftedBetaGeometric().fit(sbg_survivors()["regular"].iloc[:8])
        return model, lambda m: (m.survival(np.arange(12)),)
    d = donations()
    model = BetaGeoBetaBinom().fit(d["frequency"], d["recency"], d["periods"], weights=d["weights"])
    return model, lambda m: (
        m.p_alive(d["frequency"], d["recency"], d["periods"]),
        m.expected_purchases(5, d["frequency"], d["recency"], d["periods"]),
    )


MODELS = [
    "BetaGeo",
    "ModifiedBetaGeo",
    "ParetoNBD",
    "GammaGamma",
    "ShiftedBetaGeometric",
    "BetaGeoBetaBinom",
]


@pytest.mark.parametrize("name", MODELS)
def test_a_saved_model_comes_back_bit_for_bit(name: str, cdnow: pd.DataFrame, tmp_path) -> None:
    model, predictions = _fitted(name, cdnow)
    path = tmp_path / "model.json"
    path.write_text(model.to_json(), encoding="utf-8")
    again = load_model(path.read_text(encoding="utf-8"))
    assert type(again) is type(model)
    assert again.params_.equals(model.params_)
    assert again.log_likelihood_ == model.log_likelihood_
    assert (again.n_customers_, again.n_distinct_) == (model.n_customers_, model.n_distinct_)
    pd.testing.assert_frame_equal(again.covariance, model.covariance, check_exact=True)
    pd.testing.assert_frame_equal(again.summary, model.summary, check_exact=True)
    for got, want in zip(predictions(again), predictions(model), strict=True):
        assert np.array_equal(np.asarray(got), np.asarray(want), equal_nan=True)
    assert type(model).from_json(model.to_json()).params_.equals(model.params_)


@pytest.mark.parametrize("name", MODELS)
def test_an_unfitted_model_says_so(name: str) -> None:
    cls = {
        "BetaGeo": BetaGeo,
        "ModifiedBetaGeo": ModifiedBetaGeo,
        "ParetoNBD": ParetoNBD,
        "GammaGamma": GammaGamma,
        "ShiftedBetaGeometric": ShiftedBetaGeometric,
        "BetaGeoBetaBinom": BetaGeoBetaBinom,
    }[name]
    with pytest.raises(NotEnoughDataError, match="not fitted yet: call fit"):
        cls().to_json()
    with pytest.raises(NotEnoughDataError, match="not fitted yet"):
        _ = cls().summary


def test_bad_files_are_refused_with_the_reason() -> None:
    text = BetaGeo.from_params(r=0.2, alpha=4.0, a=0.8, b=2.4).to_json()
    with pytest.raises(InputError, match="not Gamma-Gamma"):
        GammaGamma.from_json(text)
    with pytest.raises(InputError, match="invalid JSON"):
        load_model("{not json")
    with pytest.raises(InputError, match="not a saved retention_xl model"):
        load_model(json.dumps({"params": {}}))
    payload = json.loads(text)
    payload["version"] = 2
    with pytest.raises(InputError, match="version 2 is not supported"):
        load_model(json.dumps(payload))
    payload = json.loads(text)
    payload["params"]["r"] = -1
    with pytest.raises(Exception, match="positive"):
        load_model(json.dumps(payload))
