"""MBG/NBD and BG/BB numerics: likelihoods against their definitions, analytic
derivatives and standard errors against finite differences, predictions against
direct integration and simulation, inputs and the discrete histories of orders."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from models_data import donations
from scipy.special import betaln, gammaln, roots_jacobi

from retention_xl.core.models import (
    BetaGeo,
    BetaGeoBetaBinom,
    ModifiedBetaGeo,
    period_history,
    predict_customers,
    purchase_history,
)
from retention_xl.core.models import bgbb as bgbb_mod
from retention_xl.core.models import bgnbd as bgnbd_mod
from retention_xl.core.models import mbgnbd as mbg_mod
from retention_xl.core.models.bgbb import ProRataPeriods
from retention_xl.core.models.holdout import make_transaction_model
from retention_xl.core.schema import prepare_orders
from retention_xl.datasets import load_sample
from retention_xl.errors import InputError, NotEnoughDataError, OutOfRangeError


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    return purchase_history(load_sample().orders)


@pytest.fixture(scope="module")
def gifts() -> pd.DataFrame:
    return donations()


def simulate_mbgnbd(n: int, seed: int, r=0.5, alpha=6.0, a=0.9, b=1.6, weeks=52.0):
    """MBG/NBD histories drawn from the model: dropout at the first purchase too."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    big_t = np.floor(rng.uniform(1, weeks, n) * 7) / 7
    x = np.zeros(n)
    tx = np.zeros(n)
    now = np.zeros(n)
    alive = rng.random(n) >= p  # leaves at the first purchase with probability p
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


def simulate_bgbb(n: int, seed: int, alpha=1.2, beta=0.75, gamma=0.66, delta=2.8, periods=6):
    """BG/BB histories drawn from the model: per period, leave with probability theta,
    then (if still there) buy with probability p."""
    rng = np.random.default_rng(seed)
    p = rng.beta(alpha, beta, n)
    theta = rng.beta(gamma, delta, n)
    n_i = rng.integers(1, periods + 1, n).astype(float)
    x = np.zeros(n)
    tx = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    for t in range(1, periods + 1):
        alive &= rng.random(n) >= theta
        buy = alive & (rng.random(n) < p) & (t <= n_i)
        x[buy] += 1
        tx[buy] = t
    return x, tx, n_i


def _fd_gradient(f, x, h=1e-6):
    out = np.empty(x.size)
    for j in range(x.size):
        e = np.zeros(x.size)
        e[j] = h
        out[j] = (f(x + e) - f(x - e)) / (2 * h)
    return out


def _fd_jacobian(grad, x, h=1e-5):
    out = np.empty((x.size, x.size))
    for j in range(x.size):
        e = np.zeros(x.size)
        e[j] = h
        out[:, j] = (grad(x + e) - grad(x - e)) / (2 * h)
    return out


def _fd_hessian_of_values(f, x, h=1e-4):
    """Second differences of a function's values only (no gradient involved)."""
    k = x.size
    out = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            ei = np.zeros(k)
            ej = np.zeros(k)
            ei[i] = h
            ej[j] = h
            out[i, j] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (
                4 * h * h
            )
    return out


# ---------------------------------------------------------------------------- MBG/NBD


def test_mbgnbd_row_likelihood_is_the_papers_formula(history):
    """Our log-sum-exp form against the likelihood written with beta functions."""
    r, alpha, a, b = 0.5, 6.0, 0.9, 1.6
    x, tx, t = (history[c].to_numpy() for c in ("frequency", "recency", "age"))
    common = np.exp(gammaln(r + x) - gammaln(r) + r * np.log(alpha))
    plain = common * (
        np.exp(betaln(a, b + x + 1) - betaln(a, b)) * (alpha + t) ** -(r + x)
        + np.exp(betaln(a + 1, b + x) - betaln(a, b)) * (alpha + tx) ** -(r + x)
    )
    ours = mbg_mod._loglik(np.array([r, alpha, a, b]), x, tx, t)
    np.testing.assert_allclose(ours, np.log(plain), rtol=1e-10)


def test_mbgnbd_grouped_derivatives_match_finite_differences(history):
    x, tx, t = (history[c].to_numpy() for c in ("frequency", "recency", "age"))
    w = np.ones(x.size)
    newton = bgnbd_mod._grouped_newton(x, tx, t, w, modified=True)
    plain = bgnbd_mod._grouped_objective(x, tx, t, w, modified=True)
    lp = np.log([0.4, 3.0, 0.7, 1.9])
    ll, g, h = newton(lp)
    direct = mbg_mod._loglik(np.exp(lp), x, tx, t).sum()
    assert ll == pytest.approx(direct, rel=1e-12)
    assert plain(lp)[0] == pytest.approx(direct, rel=1e-12)
    total = lambda v: mbg_mod._loglik(np.exp(v), x, tx, t).sum()  # noqa: E731
    np.testing.assert_allclose(g, _fd_gradient(total, lp), rtol=1e-6)
    np.testing.assert_allclose(plain(lp)[1], g, rtol=1e-10)
    np.testing.assert_allclose(h, _fd_jacobian(lambda v: plain(v)[1], lp), rtol=1e-5, atol=1e-4)
    # ... and BG/NBD's (the flag off) is still BG/NBD's likelihood
    bg = bgnbd_mod._grouped_objective(x, tx, t, w)(lp)[0]
    assert bg == pytest.approx(bgnbd_mod._loglik_terms(np.exp(lp), x, tx, t, grad=False)[0].sum())


def test_mbgnbd_standard_errors_are_the_numerical_information():
    """The summary's standard errors equal those of a Hessian of the log-likelihood
    taken by second differences of its values at the optimum."""
    x, tx, t = simulate_mbgnbd(3000, seed=4)
    m = ModifiedBetaGeo().fit(x, tx, t)
    at = np.log(m.params_.to_numpy())
    hess = _fd_hessian_of_values(lambda v: mbg_mod._loglik(np.exp(v), x, tx, t).sum(), at)
    log_se = np.sqrt(np.diag(np.linalg.inv(-hess)))
    np.testing.assert_allclose(m.summary["se"], m.params_.to_numpy() * log_se, rtol=2e-3)


def test_mbgnbd_recovers_the_parameters_it_was_simulated_with():
    x, tx, t = simulate_mbgnbd(30_000, seed=3)
    m = ModifiedBetaGeo().fit(x, tx, t)
    truth = np.array([0.5, 6.0, 0.9, 1.6])
    se = m.summary["se"].to_numpy()
    assert np.all(np.abs(m.params_.to_numpy() - truth) < 4 * se), (m.params_, se)


def test_mbgnbd_new_customers_expected_purchases_match_simulation():
    r, alpha, a, b = 0.5, 6.0, 0.9, 1.6
    m = ModifiedBetaGeo.from_params(r=r, alpha=alpha, a=a, b=b)
    rng = np.random.default_rng(9)
    size = 200_000
    lam = rng.gamma(r, 1 / alpha, size)
    p = rng.beta(a, b, size)
    count = np.zeros(size)
    now = np.zeros(size)
    alive = rng.random(size) >= p
    while alive.any():
        idx = np.flatnonzero(alive)
        now[idx] += rng.exponential(1 / lam[idx])
        inside = now[idx] <= 30.0
        count[idx[inside]] += 1
        alive[idx[~inside]] = False
        hit = idx[inside]
        alive[hit[rng.random(hit.size) < p[hit]]] = False
    assert count.mean() == pytest.approx(m.expected_purchases_new(30.0)[0], rel=0.02)


def test_mbgnbd_one_time_buyers_can_be_gone(history):
    m = ModifiedBetaGeo().fit(history["frequency"], history["recency"], history["age"])
    p = m.p_alive([0, 0, 0], [0, 0, 0], [0.0, 20.0, 80.0])
    a, b = m.params_["a"], m.params_["b"]
    assert p[0] == pytest.approx(b / (a + b))  # at T = 0: left at the first purchase or not
    assert p[0] > p[1] > p[2] > 0  # and falls with time without a purchase
    bg = BetaGeo().fit(history["frequency"], history["recency"], history["age"])
    assert bg.p_alive(0, 0, 80.0)[0] == 1.0  # unlike BG/NBD
    grid = np.array([1.0, 5, 20, 80])
    curve = m.expected_purchases_new(grid)
    assert np.all(np.diff(curve) > 0)
    np.testing.assert_allclose(curve, m.expected_purchases(grid, 0, 0, 0), rtol=1e-12)
    # extreme histories and horizons stay finite
    x = np.array([0.0, 1000.0, 5000.0, 3.0])
    tx = np.array([0.0, 103.0, 104.0, 1.0])
    t = np.array([104.0, 104.0, 104.0, 5000.0])
    for horizon in (0.0, 1.0, 52.0, 1e6):
        e = m.expected_purchases(horizon, x, tx, t)
        assert np.isfinite(e).all() and (e >= 0).all(), horizon
    assert m.expected_purchases(0.0, x, tx, t).tolist() == [0.0] * 4


def test_mbgnbd_weights_give_the_same_fit_as_repeated_rows():
    x, tx, t = simulate_mbgnbd(3000, seed=1)
    full = ModifiedBetaGeo().fit(x, tx, t)
    grouped = pd.DataFrame({"x": x, "tx": tx, "t": t}).value_counts().reset_index()
    weighted = ModifiedBetaGeo().fit(
        grouped["x"], grouped["tx"], grouped["t"], weights=grouped["count"]
    )
    np.testing.assert_allclose(full.params_, weighted.params_, rtol=1e-7)
    assert full.log_likelihood_ == pytest.approx(weighted.log_likelihood_, rel=1e-10)
    assert full.log_likelihood_ == pytest.approx(full.log_likelihood(x, tx, t).sum(), rel=1e-12)


# ---------------------------------------------------------------------------- BG/BB


PARAMS = (1.2, 0.75, 0.66, 2.8)


def _beta_nodes(a: float, b: float, size: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Jacobi nodes and weights for E[f(p)], p ~ Beta(a, b): exact for
    polynomials of degree below 2 * size (the integrands below are polynomials)."""
    u, w = roots_jacobi(size, b - 1.0, a - 1.0)  # weight (1 - u)^(b-1) (1 + u)^(a-1)
    return (1.0 + u) / 2.0, w / w.sum()


def _integrate(integrand) -> float:
    """E over p ~ Beta(alpha, beta), theta ~ Beta(gamma, delta) of integrand(p, theta),
    by quadrature of the individual-level model (no beta-function identities)."""
    alpha, beta, gamma, delta = PARAMS
    p, wp = _beta_nodes(alpha, beta)
    theta, wt = _beta_nodes(gamma, delta)
    values = integrand(p[:, None], theta[None, :])
    return float(wp @ values @ wt)


def _individual_likelihood(p, theta, x, tx, n):
    """One customer's likelihood given p and theta: alive through n, or gone at the
    start of period tx + i + 1 (i = 0 .. n - tx - 1) after the last purchase."""
    alive = p**x * (1 - p) ** (n - x) * (1 - theta) ** n
    gone = sum(
        p**x * (1 - p) ** (tx - x + i) * theta * (1 - theta) ** (tx + i) for i in range(n - tx)
    )
    return alive + gone


HISTORIES = [(0, 0, 6), (1, 1, 6), (2, 4, 6), (3, 6, 6), (0, 0, 0), (4, 5, 9)]


@pytest.mark.parametrize(("x", "tx", "n"), HISTORIES)
def test_bgbb_likelihood_and_predictions_equal_their_integrals(x, tx, n):
    """The closed forms against the individual-level model integrated over p and theta:
    the likelihood, P(alive in period n + 1) and the expected purchases of the next
    t periods (by Bayes' rule on the same integrals)."""
    m = BetaGeoBetaBinom.from_params(
        **dict(zip(("alpha", "beta", "gamma", "delta"), PARAMS, strict=True))
    )
    like = _integrate(lambda p, th: _individual_likelihood(p, th, x, tx, n))
    assert m.log_likelihood(x, tx, n)[0] == pytest.approx(np.log(like), abs=1e-10)
    alive_next = _integrate(lambda p, th: p**x * (1 - p) ** (n - x) * (1 - th) ** (n + 1))
    assert m.p_alive(x, tx, n)[0] == pytest.approx(alive_next / like, rel=1e-10)
    for t in (1, 5):
        future = _integrate(
            lambda p, th, t=t: (
                p**x
                * (1 - p) ** (n - x)
                * (1 - th) ** n
                * p
                * sum((1 - th) ** k for k in range(1, t + 1))
            )
        )
        assert m.expected_purchases(t, x, tx, n)[0] == pytest.approx(future / like, rel=1e-10)


def test_bgbb_gamma_one_is_the_limit():
    x, tx, n = np.array([0.0, 3.0]), np.array([0.0, 5.0]), np.array([6.0, 6.0])
    at = BetaGeoBetaBinom.from_params(alpha=1.2, beta=0.75, gamma=1.0, delta=2.8)
    for gamma in (1.0 - 1e-6, 1.0 + 1e-6):  # either side of the switch to the limit
        near = BetaGeoBetaBinom.from_params(alpha=1.2, beta=0.75, gamma=gamma, delta=2.8)
        np.testing.assert_allclose(
            at.expected_purchases(5, x, tx, n), near.expected_purchases(5, x, tx, n), rtol=1e-5
        )
    # a new customer: E[p] times the sum of P(alive) over the periods, B(1, d+k)/B(1, d)
    direct = 1.2 / 1.95 * sum(2.8 / (2.8 + k) for k in range(1, 8))
    assert at.expected_purchases_new(7)[0] == pytest.approx(direct, rel=1e-12)


def test_bgbb_derivatives_match_finite_differences(gifts):
    x, tx, n, w = (gifts[c].to_numpy(float) for c in ("frequency", "recency", "periods", "weights"))
    objective = bgbb_mod._objective(x, tx, n, w)
    lp = np.log([0.9, 1.3, 0.5, 3.5])
    ll, g, h = objective(lp)
    total = lambda v: float(np.dot(w, bgbb_mod._loglik(np.exp(v), x, tx, n)))  # noqa: E731
    assert ll == pytest.approx(total(lp), rel=1e-12)
    np.testing.assert_allclose(g, _fd_gradient(total, lp), rtol=1e-6)
    np.testing.assert_allclose(h, _fd_jacobian(lambda v: objective(v)[1], lp), rtol=1e-5, atol=1e-3)


def test_bgbb_blocks_of_rows_give_the_same_numbers(gifts, monkeypatch):
    x, tx, n, w = (gifts[c].to_numpy(float) for c in ("frequency", "recency", "periods", "weights"))
    lp = np.log([0.9, 1.3, 0.5, 3.5])
    whole = bgbb_mod._objective(x, tx, n, w)(lp)
    rows = bgbb_mod._loglik(np.exp(lp), x, tx, n)
    monkeypatch.setattr(bgbb_mod, "_BLOCK_CELLS", 20)
    assert len(bgbb_mod._blocks(x, tx, n)) > 3
    parts = bgbb_mod._objective(x, tx, n, w)(lp)
    assert parts[0] == pytest.approx(whole[0], rel=1e-13)
    np.testing.assert_allclose(parts[1], whole[1], rtol=1e-11)
    np.testing.assert_allclose(parts[2], whole[2], rtol=1e-10)
    np.testing.assert_allclose(bgbb_mod._loglik(np.exp(lp), x, tx, n), rows, rtol=1e-13)


def test_bgbb_standard_errors_are_the_numerical_information(gifts):
    x, tx, n, w = (gifts[c].to_numpy(float) for c in ("frequency", "recency", "periods", "weights"))
    m = BetaGeoBetaBinom().fit(x, tx, n, weights=w)
    at = np.log(m.params_.to_numpy())
    hess = _fd_hessian_of_values(
        lambda v: float(np.dot(w, bgbb_mod._loglik(np.exp(v), x, tx, n))), at
    )
    log_se = np.sqrt(np.diag(np.linalg.inv(-hess)))
    np.testing.assert_allclose(m.summary["se"], m.params_.to_numpy() * log_se, rtol=2e-3)


def test_bgbb_weights_and_simulation():
    x, tx, n = simulate_bgbb(40_000, seed=2)
    full = BetaGeoBetaBinom().fit(x, tx, n)
    grouped = pd.DataFrame({"x": x, "tx": tx, "n": n}).value_counts().reset_index()
    weighted = BetaGeoBetaBinom().fit(
        grouped["x"], grouped["tx"], grouped["n"], weights=grouped["count"]
    )
    np.testing.assert_allclose(full.params_, weighted.params_, rtol=1e-7)
    assert full.n_customers_ == 40_000 and full.n_distinct_ == len(grouped)
    truth = np.array([1.2, 0.75, 0.66, 2.8])
    se = full.summary["se"].to_numpy()
    assert np.all(np.abs(full.params_.to_numpy() - truth) < 4 * se), (full.params_, se)


def test_bgbb_histories_are_validated_with_the_argument_named():
    model = BetaGeoBetaBinom()
    cases = [
        (([-1, 1], [0, 1], [2, 2]), "frequency"),
        (([1.5, 1], [2, 1], [2, 2]), "frequency"),
        (([2, 1], [1, 1], [2, 2]), "frequency"),  # 2 purchase periods by period 1
        (([1, 1], [3, 1], [2, 2]), "periods"),
        (([0, 1], [1, 1], [2, 2]), "recency"),
        (([1, 1], [1, 1], [2, 2, 3]), "frequency"),
        (([1, 1], [1, 1], [2, 2e6]), "periods"),
        (([1, np.nan], [1, 1], [2, 2]), "frequency"),
    ]
    for args, argument in cases:
        with pytest.raises(InputError) as info:
            model.fit(*args)
        assert info.value.argument == argument, args
    with pytest.raises(NotEnoughDataError, match="bought again"):
        model.fit([0, 0], [0, 0], [3, 4])
    with pytest.raises(NotEnoughDataError, match="not fitted"):
        model.p_alive(1, 1, 2)
    fitted = BetaGeoBetaBinom.from_params(alpha=1.2, beta=0.75, gamma=0.66, delta=2.8)
    with pytest.raises(OutOfRangeError, match="whole number"):
        fitted.expected_purchases(1.5, 1, 1, 2)
    with pytest.raises(InputError, match="discrete periods"):
        make_transaction_model("BG/BB")


# ---------------------------------------------------------------------------- periods


def test_period_history_counts_calendar_periods():
    """An independent count with pandas periods on the sample shop (quarters)."""
    orders = load_sample().orders
    as_of = pd.Timestamp("2024-08-20")  # Q3 2024 is not over: up to 2024-06-30
    got = period_history(orders, as_of=as_of, period="Q")
    assert got.attrs["last_period"] == "2024-Q2"
    assert got.attrs["period_end"] == pd.Timestamp("2024-06-30")
    summary = purchase_history(orders, as_of="2024-06-30")
    assert got.index.equals(summary.index)  # exactly the customers who had bought by then
    frame = prepare_orders(orders).frame  # the core's purchases and their net revenue
    paid = frame[frame["is_purchase"] & (frame["order_date"] <= "2024-06-30")]
    quarter = paid["order_date"].dt.to_period("Q")
    first = quarter.groupby(paid["customer_id"]).transform("min")
    offset = (quarter - first).map(lambda d: d.n)
    per_customer = pd.DataFrame({"id": paid["customer_id"], "k": offset}).drop_duplicates()
    later = per_customer[per_customer["k"] > 0].groupby("id")["k"]
    expected_x = later.count().reindex(got.index, fill_value=0)
    expected_tx = later.max().reindex(got.index, fill_value=0)
    np.testing.assert_array_equal(got["frequency"], expected_x.to_numpy(float))
    np.testing.assert_array_equal(got["recency"], expected_tx.to_numpy(float))
    last = pd.Period("2024Q2", "Q")
    first_q = quarter.groupby(paid["customer_id"]).min().reindex(got.index)
    np.testing.assert_array_equal(got["periods"], [(last - q).n for q in first_q])
    spend = paid[offset > 0].groupby("customer_id")["revenue"].sum().reindex(got.index)
    repeat = got["frequency"] > 0
    np.testing.assert_allclose(
        got.loc[repeat, "monetary_value"], (spend / expected_x)[repeat], rtol=1e-12
    )
    assert got.loc[~repeat, "monetary_value"].isna().all()


def test_period_history_left_out_and_period_choice():
    orders = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c"],
            "order_id": ["1", "2", "3", "4"],
            "order_date": ["2022-12-31", "2023-01-01", "2023-12-31", "2024-01-02"],
            "amount": [10.0, 4.0, 8.0, 5.0],
        }
    )
    years = period_history(orders, as_of="2024-01-02")
    assert list(years.index) == ["a", "b"] and years.attrs["left_out"] == 1
    assert years.loc["a", ["frequency", "recency", "periods"]].tolist() == [1.0, 1.0, 1.0]
    assert years.loc["b", ["frequency", "periods"]].tolist() == [0.0, 0.0]
    months = period_history(orders, as_of="2024-01-31", period="M")  # January has ended
    assert months.attrs["last_period"] == "2024-01" and months.attrs["left_out"] == 0
    assert months.loc["a", ["frequency", "recency", "periods"]].tolist() == [1.0, 1.0, 13.0]
    with pytest.raises(InputError, match="period"):
        period_history(orders, period="W")


def test_whole_periods_interpolate_pro_rata():
    m = BetaGeoBetaBinom.from_params(alpha=1.2, beta=0.75, gamma=0.66, delta=2.8)
    curve = ProRataPeriods(m)
    x, tx, n = np.array([0.0, 3.0]), np.array([0.0, 5.0]), np.array([6.0, 6.0])
    for t in (0, 1, 4):
        np.testing.assert_array_equal(
            curve.expected_purchases(float(t), x, tx, n), m.expected_purchases(t, x, tx, n)
        )
    low, high = m.expected_purchases(2, x, tx, n), m.expected_purchases(3, x, tx, n)
    np.testing.assert_allclose(curve.expected_purchases(2.25, x, tx, n), low + 0.25 * (high - low))


def test_predict_customers_with_bgbb():
    orders = load_sample().orders
    out = predict_customers(orders, model="bgbb", period="Q", margin=0.4)
    history = period_history(orders, period="Q")
    assert out.period == "Q" and out.history_notes is not None
    assert out.as_of == pd.Timestamp("2024-12-31")
    assert out.time_unit_days == pytest.approx(365.25 / 4)
    c = out.customers
    assert c.index.equals(history.index)
    np.testing.assert_array_equal(c["age"], history["periods"])
    model = BetaGeoBetaBinom().fit(history["frequency"], history["recency"], history["periods"])
    np.testing.assert_allclose(out.transactions.params_, model.params_, rtol=1e-12)
    args = (history["frequency"], history["recency"], history["periods"])
    np.testing.assert_allclose(c["p_alive"], model.p_alive(*args), rtol=1e-12)
    quarters = 365.0 / (365.25 / 4)  # just under 4
    four, three = model.expected_purchases(4, *args), model.expected_purchases(3, *args)
    np.testing.assert_allclose(
        c["expected_purchases_365d"], three + (quarters - 3) * (four - three), rtol=1e-12
    )
    assert (c["predicted_clv"] >= 0).all() and c["predicted_clv"].sum() > 0
    assert set(out.parameters["model"]) == {"BG/BB", "Gamma-Gamma"}


def test_predict_customers_with_mbgnbd_equals_the_model(history):
    out = predict_customers(load_sample().orders, model="MBG/NBD")
    model = ModifiedBetaGeo().fit(history["frequency"], history["recency"], history["age"])
    np.testing.assert_allclose(out.transactions.params_, model.params_, rtol=1e-10)
    np.testing.assert_allclose(
        out.customers["p_alive"],
        model.p_alive(history["frequency"], history["recency"], history["age"]),
        rtol=1e-9,
    )
