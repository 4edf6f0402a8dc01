"""The estimators' contract and numerics: gradients, weights, extreme inputs, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate
from scipy.special import gammaln, hyp2f1

from retention_xl.core.models import (
    BetaGeo,
    GammaGamma,
    ParetoNBD,
    ShiftedBetaGeometric,
    purchase_history,
)
from retention_xl.core.models import bgnbd as bgnbd_mod
from retention_xl.core.models import pareto_nbd as pareto_mod
from retention_xl.datasets import load_sample
from retention_xl.errors import (
    ConvergenceError,
    InputError,
    NotEnoughDataError,
    OutOfRangeError,
)


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    return purchase_history(load_sample().orders)


def simulate_bgnbd(n: int, seed: int, r=0.4, alpha=6.0, a=0.8, b=2.5, weeks=52.0):
    """BG/NBD histories drawn from the model itself (days rounded, in weeks)."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    big_t = np.floor(rng.uniform(1, weeks, n) * 7) / 7
    x = np.zeros(n)
    tx = np.zeros(n)
    now = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    while alive.any():
        idx = np.flatnonzero(alive)
        now[idx] += rng.exponential(1.0 / lam[idx])
        bought = now[idx] <= big_t[idx]
        hit = idx[bought]
        x[hit] += 1
        tx[hit] = np.floor(now[hit] * 7) / 7
        alive[idx[~bought]] = False
        alive[hit[rng.random(hit.size) < p[hit]]] = False
    return x, np.minimum(tx, big_t), big_t


# ---------------------------------------------------------------------------- gradients


def _numeric_gradient(f, x, h=1e-6):
    out = np.empty(x.size)
    for j in range(x.size):
        e = np.zeros(x.size)
        e[j] = h
        out[j] = (f(x + e) - f(x - e)) / (2 * h)
    return out


def test_bgnbd_analytic_gradient_matches_finite_differences(history):
    x, tx, t = (history[c].to_numpy() for c in ("frequency", "recency", "age"))
    logp = np.log([0.3, 2.0, 0.7, 1.9])

    def total(lp):
        return bgnbd_mod._loglik_terms(np.exp(lp), x, tx, t, grad=False)[0].sum()

    _, g = bgnbd_mod._loglik_terms(np.exp(logp), x, tx, t, grad=True)
    np.testing.assert_allclose(g.sum(axis=0), _numeric_gradient(total, logp), rtol=1e-6)


def test_recovers_the_parameters_it_was_simulated_with():
    x, tx, t = simulate_bgnbd(40_000, seed=3)
    m = BetaGeo().fit(x, tx, t)
    truth = np.array([0.4, 6.0, 0.8, 2.5])
    se = m.summary["se"].to_numpy()
    assert np.all(np.abs(m.params_.to_numpy() - truth) < 4 * se), (m.params_, se)


# ---------------------------------------------------------------------------- weights


def test_weights_give_the_same_fit_as_repeated_rows():
    x, tx, t = simulate_bgnbd(3000, seed=1)
    full = BetaGeo().fit(x, tx, t)
    frame = pd.DataFrame({"x": x, "tx": tx, "t": t})
    grouped = frame.value_counts().reset_index()
    weighted = BetaGeo().fit(grouped["x"], grouped["tx"], grouped["t"], weights=grouped["count"])
    np.testing.assert_allclose(full.params_, weighted.params_, rtol=1e-7)
    assert full.log_likelihood_ == pytest.approx(weighted.log_likelihood_, rel=1e-10)
    assert full.n_distinct_ == len(grouped) < len(x)
    assert full.n_customers_ == weighted.n_customers_ == 3000


# ---------------------------------------------------------------------------- Pareto/NBD


def _pareto_likelihood_by_integration(params, x, tx, t):
    """The Pareto/NBD likelihood from its definition, without any hypergeometric function.

    Condition on the lifetime tau ~ Exp(mu): alive through T, or dying at tau in
    (t_x, T] after the last purchase; lambda and mu then integrate in closed form:

    L = G(T) (beta / (beta + T))^s + int_{t_x}^T G(tau) s beta^s / (beta + tau)^(s+1) dtau,
    G(tau) = Gamma(r + x) / Gamma(r) alpha^r / (alpha + tau)^(r + x).
    """
    r, alpha, s, beta = params

    def g(tau):
        return np.exp(
            gammaln(r + x) - gammaln(r) + r * np.log(alpha) - (r + x) * np.log(alpha + tau)
        )

    alive = g(t) * (beta / (beta + t)) ** s
    died, _ = integrate.quad(
        lambda tau: g(tau) * s * beta**s / (beta + tau) ** (s + 1), tx, t, epsabs=0, epsrel=1e-12
    )
    return alive + died


@pytest.mark.parametrize(
    "params", [(0.55, 10.6, 0.61, 11.7), (0.8, 3.0, 1.4, 20.0), (1.2, 25.0, 0.5, 4.0)]
)
@pytest.mark.parametrize(("x", "tx", "t"), [(0, 0.0, 30.0), (2, 10.0, 30.0), (5, 29.0, 30.0)])
def test_pareto_likelihood_equals_its_integral_definition(params, x, tx, t):
    """Both orderings of alpha and beta (the two hypergeometric branches)."""
    ours = pareto_mod._loglik(np.array(params), np.array([x], float), np.array([tx]), np.array([t]))
    assert ours[0] == pytest.approx(
        np.log(_pareto_likelihood_by_integration(params, x, tx, t)), abs=1e-6
    )


def test_pareto_stable_terms_equal_the_plain_formula():
    r, alpha, s, beta = 0.55, 10.6, 0.61, 11.7
    x = np.array([0.0, 3.0, 20.0])
    tx = np.array([0.0, 12.0, 30.0])
    t = np.full(3, 39.0)
    a_ = r + s + x
    # alpha < beta: the plain expression of note 009, eq. 20.
    plain = (
        hyp2f1(a_, r + x, a_ + 1, (beta - alpha) / (beta + tx)) / (beta + tx) ** a_
        - hyp2f1(a_, r + x, a_ + 1, (beta - alpha) / (beta + t)) / (beta + t) ** a_
    )
    ours = pareto_mod._log_a0(np.array([r, alpha, s, beta]), x, tx, t)
    np.testing.assert_allclose(np.exp(ours), plain, rtol=1e-10)


def test_pareto_extreme_histories_stay_finite(history):
    m = ParetoNBD().fit(history["frequency"], history["recency"], history["age"])
    x = np.array([0.0, 500.0, 2000.0, 1.0])
    tx = np.array([0.0, 51.0, 52.0, 0.001])
    t = np.array([5000.0, 52.0, 52.0, 52.0])
    p = m.p_alive(x, tx, t)
    e = m.expected_purchases(1e5, x, tx, t)
    assert np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all()
    assert np.isfinite(e).all() and (e >= 0).all()


# ---------------------------------------------------------------------------- BG/NBD numerics


def test_bgnbd_extreme_histories_and_horizons_stay_finite(history):
    m = BetaGeo().fit(history["frequency"], history["recency"], history["age"])
    x = np.array([0.0, 1000.0, 5000.0, 3.0])
    tx = np.array([0.0, 103.0, 104.0, 1.0])
    t = np.array([104.0, 104.0, 104.0, 5000.0])
    for horizon in (0.0, 1.0, 52.0, 1e6):
        e = m.expected_purchases(horizon, x, tx, t)
        assert np.isfinite(e).all() and (e >= 0).all(), horizon
    assert m.expected_purchases(0.0, x, tx, t).tolist() == [0.0] * 4
    p = m.p_alive(x, tx, t)
    assert p[0] == 1.0 and 0 < p[1] < 1 and p[2] > 0.99 and p[3] < 1e-6
    # Expected purchases grow with the horizon, and the new-customer curve is the
    # conditional one at x = t_x = T = 0.
    grid = np.array([1.0, 5, 20, 80])
    curve = m.expected_purchases_new(grid)
    assert np.all(np.diff(curve) > 0)
    np.testing.assert_allclose(curve, m.expected_purchases(grid, 0, 0, 0), rtol=1e-12)


def test_bgnbd_expected_purchases_match_simulation():
    """The conditional expectation against the model simulated forward (law of large numbers)."""
    r, alpha, a, b = 0.4, 6.0, 0.8, 2.5
    m = BetaGeo().fit(*simulate_bgnbd(20000, seed=7))
    m.params_[:] = [r, alpha, a, b]
    # Customers just acquired, simulated over 30 weeks.
    rng = np.random.default_rng(9)
    lam = rng.gamma(r, 1 / alpha, 200_000)
    p = rng.beta(a, b, 200_000)
    count = np.zeros(lam.size)
    now = np.zeros(lam.size)
    alive = np.ones(lam.size, dtype=bool)
    while alive.any():
        idx = np.flatnonzero(alive)
        now[idx] += rng.exponential(1 / lam[idx])
        inside = now[idx] <= 30.0
        count[idx[inside]] += 1
        alive[idx[~inside]] = False
        hit = idx[inside]
        alive[hit[rng.random(hit.size) < p[hit]]] = False
    expected = m.expected_purchases_new(30.0)[0]
    assert count.mean() == pytest.approx(expected, rel=0.02)


# ---------------------------------------------------------------------------- Gamma-Gamma


def test_gamma_gamma_gradient_and_shrinkage(history):
    gg = GammaGamma().fit(history["frequency"], history["monetary_value"])
    mean = gg.mean_value()
    # More repeat purchases -> closer to the customer's own mean.
    few, many = gg.expected_avg_value([1, 50], [200.0, 200.0])
    assert mean < few < many < 200.0
    assert gg.expected_avg_value(0, np.nan)[0] == pytest.approx(mean)


def test_gamma_gamma_needs_repeat_buyers():
    with pytest.raises(NotEnoughDataError, match="at least 2 repeat buyers"):
        GammaGamma().fit([0, 0, 1], [np.nan, np.nan, 10.0])
    with pytest.raises(OutOfRangeError, match="positive amount"):
        GammaGamma().fit([1, 2], [10.0, 0.0])


# ---------------------------------------------------------------------------- sBG


def test_sbg_curves_are_consistent():
    m = ShiftedBetaGeometric().fit([1000, 631, 468, 382, 326, 289, 262, 241])
    t = np.arange(1, 13)
    s = m.survival(np.arange(0, 13))
    np.testing.assert_allclose(m.retention_rate(t), s[1:] / s[:-1], rtol=1e-12)
    np.testing.assert_allclose(m.churn_probability(t), s[:-1] - s[1:], rtol=1e-12)
    table = m.projection(12)
    assert list(table.index) == list(range(13)) and np.isnan(table["retention_rate"].iloc[0])
    # Discounted remaining lifetime against the direct sum.
    for n in (0, 4):
        k = np.arange(1, 4000)
        direct = np.sum(m.survival(n + k) / m.survival(n)[0] / 1.1**k)
        assert m.expected_remaining_lifetime(n, discount_rate=0.1)[0] == pytest.approx(direct)
    assert np.isinf(m.expected_remaining_lifetime(0)[0])  # alpha < 1: no finite mean


def test_sbg_shares_give_the_same_parameters_as_counts():
    counts = ShiftedBetaGeometric().fit([1000, 631, 468, 382, 326, 289, 262, 241])
    shares = ShiftedBetaGeometric().fit([100, 63.1, 46.8, 38.2, 32.6, 28.9, 26.2, 24.1])
    np.testing.assert_allclose(counts.params_, shares.params_, rtol=1e-7)


def test_sbg_refuses_impossible_counts():
    with pytest.raises(OutOfRangeError, match="cannot grow"):
        ShiftedBetaGeometric().fit([100, 80, 85])
    with pytest.raises(NotEnoughDataError):
        ShiftedBetaGeometric().fit([100])
    with pytest.raises(NotEnoughDataError, match="no customer left"):
        ShiftedBetaGeometric().fit([100, 100, 100])


# ---------------------------------------------------------------------------- contract


@pytest.mark.parametrize("cls", [BetaGeo, ParetoNBD])
def test_histories_are_validated_with_the_argument_named(cls):
    model = cls()
    cases = [
        (([-1, 1], [0, 1], [2, 2]), "frequency"),
        (([1.5, 1], [1, 1], [2, 2]), "frequency"),
        (([1, 1], [3, 1], [2, 2]), "age"),
        (([0, 1], [1, 1], [2, 2]), "recency"),
        (([1, 1], [-1, 1], [2, 2]), "recency"),
        (([1, 1], [1, 1], [2, 2, 3]), "frequency"),
        (([1, np.nan], [1, 1], [2, 2]), "frequency"),
    ]
    for args, argument in cases:
        with pytest.raises(InputError) as info:
            model.fit(*args)
        assert info.value.argument == argument, args
    with pytest.raises(NotEnoughDataError, match="bought again"):
        model.fit([0, 0, 0], [0, 0, 0], [10, 20, 30])
    with pytest.raises(NotEnoughDataError, match="not fitted"):
        model.p_alive(1, 1, 2)


def test_convergence_error_gives_advice():
    # Six customers, nobody visibly leaving: the likelihood improves forever as a, b grow.
    with pytest.raises(ConvergenceError, match="initial_params"):
        BetaGeo().fit([0, 2, 1, 5, 0, 3], [0, 20, 5, 30, 0, 10], [40, 38, 30, 35, 25, 39])


def test_settings_are_validated_in_init():
    with pytest.raises(InputError, match="initial_params"):
        BetaGeo(initial_params={"r": 1.0})
    with pytest.raises(OutOfRangeError):
        BetaGeo(initial_params={"r": 1.0, "alpha": -1.0, "a": 1.0, "b": 1.0})
    with pytest.raises(OutOfRangeError):
        GammaGamma(max_iter=0)
    with pytest.raises(TypeError):
        BetaGeo(0.5)  # type: ignore[misc]  (options are keyword-only)


def test_summary_has_standard_errors_and_positive_bounds(history):
    m = BetaGeo(initial_params={"r": 0.5, "alpha": 2.0, "a": 1.0, "b": 1.0})
    m.fit(history["frequency"], history["recency"], history["age"])
    s = m.summary
    assert list(s.columns) == ["coef", "se", "lower_95", "upper_95"]
    assert (s["se"] > 0).all() and (s["lower_95"] > 0).all()
    assert (s["lower_95"] < s["coef"]).all() and (s["coef"] < s["upper_95"]).all()
    assert s.attrs["log_likelihood"] == m.log_likelihood_
    assert "BetaGeo(r=" in repr(m)


def test_distinct_rows_hashing_equals_sorting():
    from retention_xl.core.models._base import _distinct_by_sorting, distinct_rows

    rng = np.random.default_rng(11)
    cols = [
        rng.integers(0, 30, 50_000).astype(float),
        rng.integers(0, 400, 50_000) / 7,
        rng.integers(0, 400, 50_000) / 7,
    ]
    fast, fast_counts = distinct_rows(*cols)
    slow, slow_counts = _distinct_by_sorting(cols)
    for a, b in zip(fast, slow, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(fast_counts, slow_counts)
    assert fast_counts.sum() == 50_000


def test_distinct_rows_with_inverse_equal_numpys_unique():
    """The hashed distinct keys give numpy's sorted unique rows, first rows and
    inverse exactly (rows with ties, a column of near-unique spends, one row)."""
    from retention_xl.core.models._base import _row_key, distinct_with_inverse

    rng = np.random.default_rng(5)
    for n in (1, 7, 20_000):
        cols = [
            rng.integers(0, 12, n).astype(float),
            np.round(rng.gamma(2.0, 20.0, n), 2),
        ]
        rows, inverse = distinct_with_inverse(*cols)
        _, first, want_inverse = np.unique(_row_key(cols), return_index=True, return_inverse=True)
        for got, col in zip(rows, cols, strict=True):
            np.testing.assert_array_equal(got, col[first])
        np.testing.assert_array_equal(inverse, want_inverse.reshape(-1))
        for got, col in zip(rows, cols, strict=True):
            np.testing.assert_array_equal(got[inverse], col)


def test_from_params_predicts_like_a_fit(history):
    fitted = BetaGeo().fit(history["frequency"], history["recency"], history["age"])
    again = BetaGeo.from_params(**fitted.params_.to_dict())
    x, tx, t = history["frequency"], history["recency"], history["age"]
    np.testing.assert_array_equal(again.p_alive(x, tx, t), fitted.p_alive(x, tx, t))
    with pytest.raises(OutOfRangeError, match="alpha"):
        BetaGeo.from_params(r=1.0, alpha=0.0, a=1.0, b=1.0)
    with pytest.raises(InputError):
        GammaGamma.from_params(p=1.0, q=2.0)


def _fd_hessian(grad, x, h=1e-5):
    out = np.empty((x.size, x.size))
    for j in range(x.size):
        e = np.zeros(x.size)
        e[j] = h
        out[:, j] = (grad(x + e) - grad(x - e)) / (2 * h)
    return out


def test_analytic_hessians_match_finite_differences(history):
    from retention_xl.core.models import gamma_gamma as gg_mod

    x, tx, t = (history[c].to_numpy() for c in ("frequency", "recency", "age"))
    w = np.ones(x.size)
    newton = bgnbd_mod._grouped_newton(x, tx, t, w)
    plain = bgnbd_mod._grouped_objective(x, tx, t, w)
    lp = np.log([0.3, 2.0, 0.7, 1.9])
    ll, g, h = newton(lp)
    assert ll == pytest.approx(plain(lp)[0], rel=1e-13)
    np.testing.assert_allclose(g, plain(lp)[1], rtol=1e-10)
    np.testing.assert_allclose(h, _fd_hessian(lambda v: plain(v)[1], lp), rtol=1e-5, atol=1e-4)
    rep = x > 0
    m = history["monetary_value"].to_numpy()[rep]
    spend = gg_mod._objective(x[rep], m, np.ones(int(rep.sum())))
    lp = np.log([2.0, 3.0, 20.0])
    ll, g, h = spend(lp)
    np.testing.assert_allclose(g, _numeric_gradient(lambda v: spend(v)[0], lp), rtol=1e-6)
    np.testing.assert_allclose(h, _fd_hessian(lambda v: spend(v)[1], lp), rtol=1e-5, atol=1e-4)


def test_large_data_path_reaches_the_same_optimum():
    """Above 50,000 distinct histories the fit warms up on a subset, then runs Newton."""
    from retention_xl.core.models._base import distinct_rows, maximize_log_likelihood

    x, tx, t = simulate_bgnbd(200_000, seed=12)
    (dx, dtx, dt), w = distinct_rows(x, tx, t)
    assert dx.size > 50_000
    fast = BetaGeo().fit(x, tx, t)
    reference = maximize_log_likelihood(
        bgnbd_mod._grouped_objective(dx, dtx, dt, w),
        np.zeros(4),
        model="BG/NBD",
        names=("r", "alpha", "a", "b"),
        n_weight=float(w.sum()),
        max_iter=5000,
        advice="",
    )
    np.testing.assert_allclose(fast.params_, np.exp(reference.log_params), rtol=1e-6)
    assert fast.log_likelihood_ == pytest.approx(reference.log_likelihood, rel=1e-12)


def test_standard_errors_agree_with_a_bootstrap():
    """The standard errors from the observed information match the spread of refits on
    resampled customers (CLVTools' check), within the noise of 60 resamples."""
    x, tx, t = simulate_bgnbd(3000, seed=21)
    model = BetaGeo().fit(x, tx, t)
    log_se = (model.summary["se"] / model.summary["coef"]).to_numpy()  # se of log(theta)
    rng = np.random.default_rng(5)
    draws = []
    for _ in range(60):
        pick = rng.integers(0, x.size, x.size)
        refit = BetaGeo().fit(x[pick], tx[pick], t[pick])
        draws.append(np.log(refit.params_.to_numpy()))
    boot = np.std(np.asarray(draws), axis=0, ddof=1)
    # 60 resamples estimate a standard deviation to about +-9 %; allow 35 %
    np.testing.assert_allclose(log_se, boot, rtol=0.35)


def test_covariance_is_public_and_matches_the_standard_errors():
    x, tx, t = simulate_bgnbd(2000, seed=8)
    model = BetaGeo().fit(x, tx, t)
    cov = model.covariance
    assert list(cov.index) == list(cov.columns) == ["r", "alpha", "a", "b"]
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), model.summary["se"], rtol=1e-12)
    np.testing.assert_allclose(cov.to_numpy(), cov.to_numpy().T, rtol=1e-12)
    assert np.all(np.linalg.eigvalsh(cov.to_numpy()) > 0)  # a proper covariance
