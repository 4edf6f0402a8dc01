"""The distribution of one customer's future purchase count under Pareto/NBD and BG/BB.

Checked three ways: it sums to 1 with the model's expected purchases as its mean; it
equals the same probability computed independently (adaptive quadrature over the
posteriors with scipy); and customers simulated from known parameters fall inside
their prediction intervals as often as the distribution says.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from retention_xl.core.models import (
    BetaGeoBetaBinom,
    GammaGamma,
    ParetoNBD,
    predict_intervals,
    predict_totals,
    purchase_count_probability,
    purchases_prediction_interval,
)
from retention_xl.core.models.bgbb import ProRataPeriods
from retention_xl.errors import InputError

PARETO = {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}  # CDNOW, Fader et al. 2005
BGBB = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}  # donations, FHS 2010


def _pareto() -> ParetoNBD:
    return ParetoNBD.from_params(**PARETO)


def _bgbb() -> BetaGeoBetaBinom:
    return BetaGeoBetaBinom.from_params(**BGBB)


# ------------------------------------------------------------------ sums and means


@pytest.mark.parametrize(
    ("x", "tx", "age"),
    [(0, 0, 30.0), (1, 2.0, 38.0), (2, 30.43, 38.86), (7, 36.0, 38.0), (25, 20, 70), (60, 70, 70)],
)
@pytest.mark.parametrize("horizon", [1.0, 39.0, 104.0])
def test_pareto_distribution_sums_to_1_with_the_expected_purchases_as_mean(x, tx, age, horizon):
    model = _pareto()
    n = np.arange(800)
    p = purchase_count_probability(model, n, horizon, x, tx, age)
    assert (p >= 0).all()
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    mean = model.expected_purchases(horizon, x, tx, age)[0]
    assert float(n @ p) == pytest.approx(mean, rel=1e-12)
    assert p[0] >= 1 - model.p_alive(x, tx, age)[0]


@pytest.mark.parametrize(("x", "tx", "n"), [(0, 0, 6), (3, 5, 6), (6, 6, 6), (1, 1, 6), (0, 0, 0)])
@pytest.mark.parametrize("horizon", [0.4, 1.0, 5.0, 7.5])
def test_bgbb_distribution_sums_to_1_with_the_pro_rata_expected_purchases_as_mean(
    x, tx, n, horizon
):
    model = _bgbb()
    counts = np.arange(12)
    p = purchase_count_probability(model, counts, horizon, x, tx, n)
    assert (p >= 0).all()
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    mean = ProRataPeriods(model).expected_purchases(horizon, x, tx, n)[0]
    assert float(counts @ p) == pytest.approx(mean, rel=1e-12)
    # at most one purchase a period
    assert p[math.ceil(horizon) + 1 :].max() == 0.0


# ------------------------------------------------------- against independent integrals


@pytest.mark.parametrize("y", [0, 1, 3, 8, 20])
def test_pareto_probability_equals_the_integral_over_the_lifetime(y):
    """P(Y = y) = P(alive) [P(tau > t) NB_t(y) + int_0^t NB_u(y) f(u) du] + (1 - P(alive)) [y=0],
    the integral by scipy's adaptive quadrature."""
    r, alpha, s, beta = PARETO.values()
    x, tx, age, t = 7, 36.0, 38.0, 39.0
    r1, a1, b1 = r + x, alpha + age, beta + age

    def nb(u: float) -> float:
        return float(stats.nbinom.pmf(y, r1, a1 / (a1 + u)))

    def density(u: float) -> float:
        return s * b1**s / (b1 + u) ** (s + 1)

    inner, _ = integrate.quad(lambda u: nb(u) * density(u), 0, t, epsabs=0, epsrel=1e-13)
    alive_now = _pareto().p_alive(x, tx, age)[0]
    want = alive_now * ((b1 / (b1 + t)) ** s * nb(t) + inner) + (1 - alive_now) * (y == 0)
    got = purchase_count_probability(_pareto(), y, t, x, tx, age)[0]
    assert got == pytest.approx(want, rel=1e-11)


@pytest.mark.parametrize("y", [0, 1, 2, 4])
def test_bgbb_probability_equals_the_integral_over_the_dropout_probability(y):
    """Alive in period n+1 the customer survives each later period with 1 - theta; the
    count given the periods alive is beta-binomial. Integrated over theta's posterior
    Beta(gamma, delta + n + 1) by quadrature."""
    alpha, beta, gamma, delta = BGBB.values()
    x, tx, n, horizon = 3, 5, 6, 4

    def given_theta(theta: float) -> float:
        total = 0.0
        for k in range(1, horizon + 1):
            stay = (1 - theta) ** (k - 1) * (theta if k < horizon else 1.0)
            total += stay * float(stats.betabinom.pmf(y, k, alpha + x, beta + n - x))
        return total * float(stats.beta.pdf(theta, gamma, delta + n + 1))

    inner, _ = integrate.quad(given_theta, 0, 1, epsabs=1e-14, epsrel=1e-12, limit=200)
    alive_next = _bgbb().p_alive(x, tx, n)[0]
    want = alive_next * inner + (1 - alive_next) * (y == 0)
    got = purchase_count_probability(_bgbb(), y, horizon, x, tx, n)[0]
    assert got == pytest.approx(want, rel=1e-8)


# ------------------------------------------------------------ simulated customers


def _simulate_pareto(n: int, seed: int, holdout: float) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    r, alpha, s, beta = PARETO.values()
    lam = rng.gamma(r, 1 / alpha, n)
    mu = rng.gamma(s, 1 / beta, n)
    tau = rng.exponential(1 / mu)
    age = rng.uniform(27.0, 39.0, n)
    end = np.minimum(tau, age + holdout)
    count = rng.poisson(lam * end)
    owner = np.repeat(np.arange(n), count)
    times = rng.uniform(0, 1, count.sum()) * end[owner]
    calibration = times <= age[owner]
    x = np.bincount(owner[calibration], minlength=n).astype(float)
    tx = np.zeros(n)
    np.maximum.at(tx, owner[calibration], times[calibration])
    y = np.bincount(owner[~calibration], minlength=n).astype(float)
    return x, tx, age, y


def _simulate_bgbb(n: int, seed: int, periods: int, holdout: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    alpha, beta, gamma, delta = BGBB.values()
    p = rng.beta(alpha, beta, n)
    theta = rng.beta(gamma, delta, n)
    alive = np.ones(n, dtype=bool)
    x, tx, y = np.zeros(n), np.zeros(n), np.zeros(n)
    for period in range(1, periods + holdout + 1):
        alive &= rng.uniform(size=n) >= theta  # leaves at the start of a period
        buys = alive & (rng.uniform(size=n) < p)
        if period <= periods:
            x += buys
            tx = np.where(buys, period, tx)
        else:
            y += buys
    return x, tx, np.full(n, float(periods)), y


def _coverage_matches(model, horizon, x, tx, age, y, level, top) -> None:
    low, high = purchases_prediction_interval(model, horizon, x, tx, age, level=level)
    assert (low <= high).all()
    inside = (low <= y) & (y <= high)
    counts = np.arange(top + 1)
    pmf = np.stack([purchase_count_probability(model, k, horizon, x, tx, age) for k in counts])
    cdf = np.cumsum(pmf, axis=0)
    rows = np.arange(x.size)
    below = np.where(low > 0, cdf[np.maximum(low.astype(int) - 1, 0), rows], 0.0)
    expected = cdf[np.minimum(high, top).astype(int), rows] - below
    assert expected.mean() >= level
    sd = math.sqrt(float((expected * (1 - expected)).sum())) / x.size
    assert abs(inside.mean() - expected.mean()) < 4 * sd
    zeros = pmf[0]
    assert abs((y == 0).mean() - zeros.mean()) < 4 * math.sqrt((zeros * (1 - zeros)).sum()) / x.size


def test_simulated_pareto_customers_fall_in_their_intervals_as_often_as_the_model_says():
    x, tx, age, y = _simulate_pareto(20_000, seed=5, holdout=39.0)
    _coverage_matches(_pareto(), 39.0, x, tx, age, y, 0.8, top=int(y.max()) + 5)


def test_simulated_bgbb_customers_fall_in_their_intervals_as_often_as_the_model_says():
    x, tx, n, y = _simulate_bgbb(20_000, seed=8, periods=6, holdout=5)
    _coverage_matches(_bgbb(), 5.0, x, tx, n, y, 0.8, top=5)


def test_a_wrong_model_is_refused_by_name():
    with pytest.raises(InputError, match="Pareto/NBD and BG/BB"):
        purchases_prediction_interval(GammaGamma.from_params(p=6, q=4, gamma=15), 1, 0, 0, 1)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="Pareto/NBD and BG/BB"):
        purchase_count_probability(GammaGamma.from_params(p=6, q=4, gamma=15), 0, 1, 0, 0, 1)  # type: ignore[arg-type]


# --------------------------------------------------------- in the interval predictions


@pytest.mark.parametrize("kind", ["pareto", "bgbb"])
def test_interval_predictions_carry_the_count_interval_and_the_total_count(kind):
    if kind == "pareto":
        x, tx, age, _ = _simulate_pareto(3_000, seed=2, holdout=0.0)
        model = ParetoNBD().fit(x, tx, age)
        horizon = 39.0
    else:
        x, tx, age, _ = _simulate_bgbb(3_000, seed=3, periods=6, holdout=0)
        model = BetaGeoBetaBinom().fit(x, tx, age)
        horizon = 5.0
    out = predict_intervals(model, None, x, tx, age, horizon=horizon, n_draws=100)
    c = out.customers
    low, high = purchases_prediction_interval(model, horizon, x, tx, age)
    np.testing.assert_array_equal(c["purchases_pi_low"], low)
    np.testing.assert_array_equal(c["purchases_pi_high"], high)
    totals = predict_totals(model, None, x, tx, age, horizon=horizon, n_draws=100)
    assert list(totals.index) == ["expected_purchases", "purchases"]
    expected = totals.loc["expected_purchases"]
    purchases = totals.loc["purchases"]
    # one customer's randomness widens the total count's interval beyond the mean's
    assert purchases["low"] < expected["low"] <= expected["value"]
    assert expected["value"] <= expected["high"] < purchases["high"]
