"""Intervals on the predictions: the draws, the bounds, the totals, the count distribution."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from retention_xl.core.models import (
    PREDICTION_COLUMNS,
    PREDICTION_INTERVAL_COLUMNS,
    BetaGeo,
    BetaGeoBetaBinom,
    GammaGamma,
    ModifiedBetaGeo,
    ParetoNBD,
    parameter_draws,
    parameter_intervals,
    period_history,
    predict_clv,
    predict_customers,
    predict_intervals,
    predict_totals,
    purchase_count_probability,
    purchase_history,
    purchases_prediction_interval,
)
from retention_xl.core.models import intervals as iv
from retention_xl.core.models._alive_table import AliveTable
from retention_xl.core.models.bgbb import ProRataPeriods
from retention_xl.datasets import BuyTillYouDie, load_sample, simulate_histories
from retention_xl.errors import InputError, OutOfRangeError


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    return purchase_history(load_sample().orders)


@pytest.fixture(scope="module")
def fitted(history):
    x, tx, t, m = (history[c] for c in ("frequency", "recency", "age", "monetary_value"))
    return BetaGeo().fit(x, tx, t), GammaGamma().fit(x, m)


# ---------------------------------------------------------------------------- draws


@pytest.mark.parametrize("level", [0, 1, 1.5, -0.1, 90, float("nan")])
def test_level_must_be_between_0_and_1(level):
    with pytest.raises(OutOfRangeError, match=r"level must be between 0 and 1 \(0.9 for 90 %"):
        iv.check_level(level)


@pytest.mark.parametrize("level", ["0.9", True, None])
def test_level_must_be_a_number(level):
    with pytest.raises(InputError, match="level must be a number"):
        iv.check_level(level)


def test_draws_follow_the_covariance_of_the_log_parameters(fitted):
    bg, _ = fitted
    draws = np.log(parameter_draws(bg, 20_000, seed=3).to_numpy())
    cov = bg.log_covariance.to_numpy()
    # mean: within 4 standard errors of the mean of 20,000 draws
    se_mean = np.sqrt(np.diag(cov) / 20_000)
    assert np.all(np.abs(draws.mean(axis=0) - np.log(bg.params_.to_numpy())) < 4 * se_mean)
    # covariance: each entry within 4 of its standard errors (normal: var(s_ij) =
    # (s_ii s_jj + s_ij^2) / n)
    sample = np.cov(draws, rowvar=False)
    se_cov = np.sqrt((np.outer(np.diag(cov), np.diag(cov)) + cov**2) / 20_000)
    assert np.all(np.abs(sample - cov) < 4 * se_cov)


def test_draws_are_seeded(fitted):
    bg, _ = fitted
    a = parameter_draws(bg, 50, seed=1)
    pd.testing.assert_frame_equal(a, parameter_draws(bg, 50, seed=1))
    assert not a.equals(parameter_draws(bg, 50, seed=2))
    assert not a.equals(parameter_draws(bg, 50, seed=1, stream=1))


def test_parameter_intervals_at_95_are_the_summary_bounds(fitted):
    for model in fitted:
        bounds = parameter_intervals(model, 0.95)
        summary = model.summary
        np.testing.assert_allclose(bounds["low"], summary["lower_95"], rtol=1e-12)
        np.testing.assert_allclose(bounds["high"], summary["upper_95"], rtol=1e-12)
        narrower = parameter_intervals(model, 0.5)
        assert (narrower["low"] > bounds["low"]).all() and (narrower["high"] < bounds["high"]).all()


def test_intervals_need_a_fitted_model(history):
    bg = BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    with pytest.raises(InputError, match="no covariance of its estimates"):
        predict_intervals(bg, None, history["frequency"], history["recency"], history["age"])
    with pytest.raises(InputError, match="BetaGeo, ModifiedBetaGeo, ParetoNBD"):
        predict_intervals(GammaGamma(), None, 1, 1, 2)


# ------------------------------------------------- the bounds are the draws' quantiles


def _brute_force(
    transactions, spend, x, tx, t, m, *, curve, horizon, named, n, seed, level, periods_per_year
):
    """Every prediction under every draw with the models' own methods, then quantiles."""
    kind = type(transactions)
    spend_kind = type(spend)
    theta = parameter_draws(transactions, n, seed=seed, stream=0)
    phi = parameter_draws(spend, n, seed=seed, stream=1)
    per: dict[str, list[np.ndarray]] = {}
    totals: dict[str, list[float]] = {"expected_purchases": [], "revenue": [], "predicted_clv": []}
    for d in range(n):
        model = kind.from_params(**theta.iloc[d].to_dict())
        value_model = spend_kind.from_params(**phi.iloc[d].to_dict())
        purchases = curve(model)
        values = {"p_alive": model.p_alive(x, tx, t)}
        for name, tau in named.items():
            values[name] = purchases.expected_purchases(tau, x, tx, t)
        values["predicted_clv"] = predict_clv(
            purchases,
            value_model,
            x,
            tx,
            t,
            m,
            horizon=horizon,
            margin=0.4,
            discount_rate=0.1,
            periods_per_year=periods_per_year,
        )
        for name, v in values.items():
            per.setdefault(name, []).append(v)
        e_h = purchases.expected_purchases(horizon, x, tx, t)
        totals["expected_purchases"].append(float(e_h.sum()))
        totals["revenue"].append(float((value_model.expected_avg_value(x, m) * e_h).sum()))
        totals["predicted_clv"].append(float(values["predicted_clv"].sum()))
    q = [0.5 - level / 2, 0.5 + level / 2]
    bounds = {name: np.quantile(np.stack(v), q, axis=0) for name, v in per.items()}
    total_bounds = {name: np.quantile(v, q) for name, v in totals.items()}
    return bounds, total_bounds


def _cases():
    sample = load_sample().orders
    continuous = purchase_history(sample)
    periods = period_history(sample, period="Q").rename(columns={"periods": "age"})
    return {
        "bgnbd": (BetaGeo, continuous, lambda model: model, {"e13": 13.0, "e52": 52.0}, 52.0, 52.0),
        "mbgnbd": (ModifiedBetaGeo, continuous, lambda model: model, {"e52": 52.0}, 52.0, 52.0),
        "pareto_nbd": (ParetoNBD, continuous, lambda model: model, {"e52": 52.0}, 52.0, 52.0),
        "bgbb": (BetaGeoBetaBinom, periods, ProRataPeriods, {"e1": 1.0, "e_half": 2.5}, 4.0, 4.0),
    }


@pytest.mark.parametrize("name", ["bgnbd", "mbgnbd", "pareto_nbd", "bgbb"])
def test_bounds_are_the_quantiles_of_every_prediction_under_every_draw(name):
    """The engine (customers sharing a history computed once, chunks, Chebyshev
    interpolation over ages, totals from group sums) gives what computing every
    prediction under every draw with the models' own methods gives."""
    kind, h, curve, named, horizon, per_year = _cases()[name]
    x, tx, t, m = (h[c].to_numpy() for c in ("frequency", "recency", "age", "monetary_value"))
    transactions = kind().fit(x, tx, t)
    spend = GammaGamma().fit(x, m)
    n, seed, level = 40, 7, 0.8
    out = predict_intervals(
        transactions,
        spend,
        x,
        tx,
        t,
        m,
        horizon=horizon,
        purchase_horizons=named,
        margin=0.4,
        discount_rate=0.1,
        periods_per_year=per_year,
        level=level,
        n_draws=n,
        seed=seed,
    )
    bounds, total_bounds = _brute_force(
        transactions,
        spend,
        x,
        tx,
        t,
        m,
        curve=curve,
        horizon=horizon,
        named=named,
        n=n,
        seed=seed,
        level=level,
        periods_per_year=per_year,
    )
    c = out.customers
    for column, (low, high) in bounds.items():
        np.testing.assert_allclose(c[f"{column}_low"], low, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(c[f"{column}_high"], high, rtol=1e-9, atol=1e-12)
    for total, (low, high) in total_bounds.items():
        assert out.totals.loc[total, "low"] == pytest.approx(low, rel=1e-9)
        assert out.totals.loc[total, "high"] == pytest.approx(high, rel=1e-9)
    # the point values are the fitted models' own predictions
    curve_hat = curve(transactions)
    np.testing.assert_allclose(c["p_alive"], transactions.p_alive(x, tx, t), rtol=1e-12)
    for column, tau in named.items():
        np.testing.assert_allclose(
            c[column], curve_hat.expected_purchases(tau, x, tx, t), rtol=1e-10, atol=1e-14
        )
    clv = predict_clv(
        curve_hat,
        spend,
        x,
        tx,
        t,
        m,
        horizon=horizon,
        margin=0.4,
        discount_rate=0.1,
        periods_per_year=per_year,
    )
    np.testing.assert_allclose(c["predicted_clv"], clv, rtol=1e-10)
    e_h = curve_hat.expected_purchases(horizon, x, tx, t)
    assert out.totals.loc["expected_purchases", "value"] == pytest.approx(e_h.sum(), rel=1e-12)
    assert out.totals.loc["revenue", "value"] == pytest.approx(
        (spend.expected_avg_value(x, m) * e_h).sum(), rel=1e-12
    )


def test_bounds_hold_the_point_values_and_totals_are_not_sums_of_bounds(history, fitted):
    bg, gg = fitted
    x, tx, t, m = (history[c] for c in ("frequency", "recency", "age", "monetary_value"))
    out = predict_intervals(bg, gg, x, tx, t, m, horizon=52, margin=0.4)
    c = out.customers
    assert list(c.index) == list(history.index)
    for name in ("p_alive", "expected_purchases", "predicted_clv"):
        assert (c[f"{name}_low"] <= c[name]).all() and (c[name] <= c[f"{name}_high"]).all()
        assert (c[f"{name}_low"] < c[f"{name}_high"])[x > 0].all()
    # BG/NBD: a customer who never bought again is alive, whatever the parameters
    assert (c.loc[x == 0, ["p_alive_low", "p_alive_high"]] == 1.0).all().all()
    totals = out.totals
    for name in ("expected_purchases", "predicted_clv"):
        row = totals.loc[name]
        assert row["low"] < row["value"] < row["high"]
        assert row["value"] == pytest.approx(c[name].sum(), rel=1e-12)
        # the draws' totals: customers whose predictions move apart under a draw
        # partly offset each other, so the interval is narrower than the sum of the
        # customers' intervals (the exact totals are checked against brute force above)
        assert row["high"] - row["low"] < 0.95 * (c[f"{name}_high"] - c[f"{name}_low"]).sum()
    # the total count's prediction interval adds the customers' own randomness
    purchases = totals.loc["purchases"]
    expected = totals.loc["expected_purchases"]
    assert purchases["low"] < expected["low"] and expected["high"] < purchases["high"]
    assert totals.attrs["level"] == 0.9 and totals.attrs["n_draws"] == iv.N_DRAWS


def test_same_seed_same_bounds_and_the_level_widens_them(history, fitted):
    bg, _ = fitted
    x, tx, t = (history[c] for c in ("frequency", "recency", "age"))
    a = predict_totals(bg, None, x, tx, t, seed=5)
    pd.testing.assert_frame_equal(a, predict_totals(bg, None, x, tx, t, seed=5))
    other = predict_totals(bg, None, x, tx, t, seed=6)
    assert not a.equals(other)
    # 500 draws: the bounds move by a small fraction of the interval between seeds
    width = a.loc["expected_purchases", "high"] - a.loc["expected_purchases", "low"]
    assert abs(a.loc["expected_purchases", "low"] - other.loc["expected_purchases", "low"]) < (
        0.2 * width
    )
    wide = predict_totals(bg, None, x, tx, t, seed=5, level=0.99)
    assert wide.loc["expected_purchases", "low"] < a.loc["expected_purchases", "low"]
    assert wide.loc["purchases", "high"] > a.loc["purchases", "high"]
    assert list(a.index) == ["expected_purchases", "purchases"]


def test_a_draw_without_a_mean_spend_gives_an_infinite_bound():
    values = np.array([[1.0, 2.0, 3.0, np.inf, np.inf]])
    low, high = iv._bounds(values.copy(), 0.5)
    assert low[0] == pytest.approx(2.0) and high[0] == np.inf
    low, high = iv._bounds(np.array([[4.0, 1.0, 3.0, 2.0, 5.0]]), 0.5)
    np.testing.assert_allclose([low[0], high[0]], np.quantile([1, 2, 3, 4, 5], [0.25, 0.75]))


class _Counting:
    """A kernel that counts the groups it computes (per horizon and draw)."""

    def __init__(self, kernel):
        self.kernel, self.rows = kernel, 0

    def alive_many(self, theta, gx, gt, taus):
        self.rows += gx.size
        return self.kernel.alive_many(theta, gx, gt, taus)


@pytest.mark.parametrize("kind", [BetaGeo, ModifiedBetaGeo])
def test_interpolation_over_ages_and_frequencies_matches_the_exact_values(kind):
    """Chebyshev interpolation along ages (one frequency) and on frequency x age
    grids against the hypergeometric function at every group, for a base whose
    frequencies each have hundreds of ages. Each interpolated axis gets the nodes for
    13 digits (the 2-D grids: an error up to about twice that of one axis), so
    1e-12 relative holds with room to spare; a node or weight out of place would
    be off by 1e-6 or more."""
    h = simulate_histories(100_000, max_age_days=730, whole_days=True, seed=4)
    x, tx, t = (h[c].to_numpy() for c in ("frequency", "recency", "age"))
    model = kind().fit(x, tx, t)
    rows = iv._compress(x, tx, t, np.zeros(x.size))
    theta = iv._draws(model, 30, np.random.default_rng(0))
    kernel = _Counting(iv._kernel(model))
    combos = {
        "year": ((52.0, 1.0),),
        "month": ((4.3, 1.0),),
        "flows": tuple((k * 52 / 12, 0.99**k) for k in range(1, 13)),
    }
    offsets = iv._offsets(kernel.kernel, theta)
    table = AliveTable(kernel, theta, rows.gx, rows.gt, combos, offsets=offsets)
    along_ages = [run for run in table.runs if run.weights is not None and run.grid is None]
    on_grids = [run for run in table.runs if run.grid is not None]
    assert len(along_ages) >= 3 and len(on_grids) >= 10
    exact = AliveTable(kernel.kernel, theta, rows.gx, rows.gt, combos, offsets=None)
    want = exact.block(0, rows.gx.size)
    got = table.block(0, rows.gx.size)
    for name in combos:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-12)
    # chunk by chunk (a grid's values spread to a frequency once, reused): the same
    bounds = np.linspace(0, rows.gx.size, 7).astype(int)
    parts = [table.block(int(a), int(b)) for a, b in itertools.pairwise(bounds)]
    for name in combos:
        np.testing.assert_array_equal(np.concatenate([p[name] for p in parts]), got[name])
    # and far fewer groups computed than there are
    assert kernel.rows < 0.2 * rows.gx.size


def test_frequencies_sharing_one_age_are_computed_exactly():
    """1,499 frequencies with one group each, all of the same age: a grid would save
    evaluations across frequencies but has no age axis to build; every group is
    computed (no NaN, no warning) and equals the exact table."""
    model = BetaGeo.from_params(r=0.25, alpha=4.0, a=0.8, b=2.5)
    kernel = iv._kernel(model)
    theta = np.exp(
        np.log([0.25, 4.0, 0.8, 2.5]) + np.random.default_rng(0).normal(scale=0.1, size=(10, 4))
    )
    gx, gt = np.arange(1.0, 1500.0), np.full(1499, 10.0)
    combos = {"year": ((52.0, 1.0),)}
    table = AliveTable(kernel, theta, gx, gt, combos, offsets=iv._offsets(kernel, theta))
    assert all(run.grid is None and run.weights is None for run in table.runs)
    exact = AliveTable(kernel, theta, gx, gt, combos, offsets=None)
    np.testing.assert_array_equal(table.block(0, 1499)["year"], exact.block(0, 1499)["year"])


# ------------------------------------------------------------ the count distribution


def _eq8(r, alpha, a, b, t, n):
    """Fader, Hardie & Lee (2005), eq. 8: P(X(t) = n) of a new customer, written out."""
    lb = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)

    def lbeta(p, q):
        return math.lgamma(p) + math.lgamma(q) - math.lgamma(p + q)

    first = math.exp(
        lbeta(a, b + n)
        - lb
        + math.lgamma(r + n)
        - math.lgamma(r)
        - math.lgamma(n + 1)
        + r * math.log(alpha / (alpha + t))
        + n * math.log(t / (alpha + t))
    )
    if n == 0:
        return first
    partial = sum(
        math.exp(
            math.lgamma(r + j) - math.lgamma(r) - math.lgamma(j + 1) + j * math.log(t / (alpha + t))
        )
        for j in range(n)
    )
    rest = math.exp(lbeta(a + 1, b + n - 1) - lb) * (1 - (alpha / (alpha + t)) ** r * partial)
    return first + rest


def test_count_distribution_of_a_new_customer_is_eq_8():
    bg = BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)  # CDNOW, the paper
    n = np.arange(12)
    got = purchase_count_probability(bg, n, 39.0, 0, 0, 0)
    want = [_eq8(0.243, 4.414, 0.793, 2.426, 39.0, int(k)) for k in n]
    np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("kind", [BetaGeo, ModifiedBetaGeo])
def test_count_distribution_sums_to_1_with_the_expected_purchases_as_mean(kind):
    model = kind.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    histories = [(0, 0, 30.0), (1, 2.0, 38.0), (2, 30.43, 38.86), (7, 36.0, 38.0), (25, 20, 70)]
    n = np.arange(400)
    for x, tx, t in histories:
        for horizon in (1.0, 39.0, 104.0):
            p = purchase_count_probability(model, n, horizon, x, tx, t)
            assert (p >= 0).all()
            assert p.sum() == pytest.approx(1.0, abs=1e-10)
            mean = model.expected_purchases(horizon, x, tx, t)[0]
            assert float(n @ p) == pytest.approx(mean, rel=1e-9)
            # P(0) includes having left: at least 1 - P(alive)
            assert p[0] >= 1 - model.p_alive(x, tx, t)[0]


def test_prediction_interval_is_the_smallest_counts_reaching_the_tails():
    bg = BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    x = np.array([0, 1, 2, 7, 25, 3])
    tx = np.array([0, 2.0, 30.43, 36.0, 20.0, 5.0])
    t = np.array([30.0, 38.0, 38.86, 38.0, 70.0, 60.0])
    for level in (0.5, 0.8, 0.9):
        low, high = purchases_prediction_interval(bg, 39.0, x, tx, t, level=level)
        for i in range(x.size):
            cdf = np.cumsum(purchase_count_probability(bg, np.arange(300), 39.0, x[i], tx[i], t[i]))
            lo, hi = int(low[i]), int(high[i])
            assert cdf[lo] >= 0.5 - level / 2 and (lo == 0 or cdf[lo - 1] < 0.5 - level / 2)
            assert cdf[hi] >= 0.5 + level / 2 and (hi == 0 or cdf[hi - 1] < 0.5 + level / 2)
    zero = purchases_prediction_interval(bg, 0.0, x, tx, t)
    assert (zero[0] == 0).all() and (zero[1] == 0).all()


def test_simulated_counts_fall_in_the_prediction_intervals_as_often_as_the_model_says():
    """At the true parameters, the share of simulated customers whose holdout count is
    inside their interval equals the mean probability the distribution gives the
    interval (above the level: counts are whole numbers)."""
    truth = BuyTillYouDie(r=0.243, alpha=4.414, a=0.793, b=2.426)
    h = simulate_histories(
        20_000, process=truth, min_age_days=189, max_age_days=273, holdout_days=273, seed=11
    )
    x, tx, t, y = (h[c].to_numpy() for c in ("frequency", "recency", "age", "holdout_purchases"))
    bg = BetaGeo.from_params(r=truth.r, alpha=truth.alpha, a=truth.a, b=truth.b)
    low, high = purchases_prediction_interval(bg, 39.0, x, tx, t, level=0.8)
    inside = (low <= y) & (y <= high)
    # each customer's P(low <= Y <= high) from the distribution, as a CDF over counts
    counts = np.arange(int(high.max()) + 1)
    pmf = np.stack([purchase_count_probability(bg, k, 39.0, x, tx, t) for k in counts])
    cdf = np.cumsum(pmf, axis=0)
    rows = np.arange(x.size)
    below = np.where(low > 0, cdf[np.maximum(low.astype(int) - 1, 0), rows], 0.0)
    expected = cdf[high.astype(int), rows] - below
    assert expected.mean() >= 0.8
    sd = math.sqrt(float((expected * (1 - expected)).sum())) / x.size
    assert abs(inside.mean() - expected.mean()) < 4 * sd
    # and the share of customers who buy nothing
    zeros = pmf[0]
    assert abs((y == 0).mean() - zeros.mean()) < 4 * math.sqrt((zeros * (1 - zeros)).sum()) / x.size


# ------------------------------------------------------------------ predict_customers


def test_predict_customers_with_a_level_adds_the_bounds_and_the_totals():
    orders = load_sample().orders
    plain = predict_customers(orders, margin=0.4)
    out = predict_customers(orders, margin=0.4, level=0.8)
    assert plain.level is None and plain.totals is None
    assert list(plain.customers.columns) == list(PREDICTION_COLUMNS)
    assert list(out.customers.columns) == list(PREDICTION_INTERVAL_COLUMNS)
    pd.testing.assert_frame_equal(out.customers[list(PREDICTION_COLUMNS)], plain.customers)
    assert out.level == 0.8
    assert list(out.totals.index) == ["expected_purchases", "purchases", "revenue", "predicted_clv"]
    assert out.totals.loc["predicted_clv", "value"] == pytest.approx(
        plain.customers["predicted_clv"].sum(), rel=1e-12
    )
    assert out.totals.loc["expected_purchases", "value"] == pytest.approx(
        plain.customers["expected_purchases_365d"].sum(), rel=1e-12
    )
    c = out.customers
    low, high = c["purchases_pi_low"], c["purchases_pi_high"]
    assert (low == np.round(low)).all() and (low <= high).all() and (high > 0).any()
    # the expected count need not be inside: [0, 0] when no purchase is likely enough
    assert ((high == 0) & (c["expected_purchases_365d"] > 0)).any()
    with pytest.raises(OutOfRangeError, match="level must be between 0 and 1"):
        predict_customers(orders, level=1.0)


@pytest.mark.parametrize("model", ["pareto_nbd", "bgbb"])
def test_other_purchase_models_get_bounds_and_a_count_interval(model):
    out = predict_customers(load_sample().orders, model=model, period="Q", level=0.9)
    assert list(out.customers.columns) == list(PREDICTION_INTERVAL_COLUMNS)
    assert list(out.totals.index) == ["expected_purchases", "purchases", "revenue", "predicted_clv"]
    c = out.customers
    assert (c["predicted_clv_low"] <= c["predicted_clv"]).all()
    assert (c["predicted_clv"] <= c["predicted_clv_high"]).all()
    low, high = c["purchases_pi_low"], c["purchases_pi_high"]
    assert (low == np.round(low)).all() and (low <= high).all() and (high > 0).any()


def test_draws_far_out_stay_finite():
    """A base too small to tell a and b (a standard error four times a): the
    draws reach a, b in the thousands, where the hypergeometric term's Euler form is
    0 x inf; the bounds must still be numbers, and wide."""
    truth = BuyTillYouDie(r=0.243, alpha=4.414, a=0.793, b=2.426)
    h = simulate_histories(
        500, process=truth, min_age_days=189, max_age_days=273, holdout_days=273, seed=39
    )
    x, tx, t = (h[c].to_numpy() for c in ("frequency", "recency", "age"))
    bg = BetaGeo().fit(x, tx, t)
    assert bg.summary.loc["a", "se"] > 3 * bg.params_["a"]
    out = predict_intervals(bg, None, x, tx, t, horizon=39.0)
    assert np.isfinite(out.customers.to_numpy()).all()
    assert np.isfinite(out.totals.to_numpy()).all()
    expected = out.totals.loc["expected_purchases"]
    assert expected["high"] - expected["low"] > 0.5 * expected["value"]
