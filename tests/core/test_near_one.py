"""BG/NBD's hypergeometric factor near z = 1 by the connection formula, against hyp2f1."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import hyp2f1

from retention_xl.core.models import BetaGeo, ModifiedBetaGeo
from retention_xl.core.models import _near_one as near_one
from retention_xl.core.models import intervals as iv
from retention_xl.core.models._near_one import NEAR_ONE, factor_near_one


def _euler(first, a_minus_1, c, z):
    """What the models compute: (1-z)^(a-1) 2F1(c-x-r, a-1; c; z), by hyp2f1."""
    return np.exp(a_minus_1 * np.log1p(-z)) * hyp2f1(first, a_minus_1, c, z)


def _draw(n, seed):
    """Parameters over wide ranges, frequencies 0-4, BG/NBD and MBG/NBD, ages from 0
    (new customers) and horizons up to 200 times the time unit."""
    rng = np.random.default_rng(seed)

    def log_uniform(low, high):
        return np.exp(rng.uniform(np.log(low), np.log(high), n))

    r, alpha = log_uniform(0.05, 3.0), log_uniform(0.1, 50.0)
    a, b = log_uniform(0.1, 5.0), log_uniform(0.1, 10.0)
    x = rng.integers(0, 5, n).astype(float)
    shift = rng.integers(0, 2, n).astype(float)
    age = np.where(rng.random(n) < 0.3, 0.0, rng.uniform(0.0, 100.0, n))
    tau = log_uniform(1.0, 200.0)
    c = a + b + x - 1.0 + shift
    base = alpha + age
    return c - x - r, a - 1.0, c, r + x, tau / (base + tau), base / (base + tau)


def test_connection_formula_matches_hyp2f1_near_one():
    """Where the connection formula is used it gives hyp2f1's value: 1 - G (what the
    expected purchases are proportional to) within 1e-12 relative. Against 40-digit
    values both are within about 1e-13 on such points, so 1e-12 leaves room for the
    two errors while a wrong sign or gamma factor would be off by far more."""
    first, a_minus_1, c, r_plus_x, z, w = _draw(20_000, seed=3)
    g, held = factor_near_one(first, a_minus_1, c, r_plus_x, w)
    near = z >= NEAR_ONE
    assert held.sum() > 0.3 * near.sum()  # it is used for most of them
    assert not (held & ~near).any() and np.isnan(g[~held]).all()
    want = _euler(first, a_minus_1, c, z)
    np.testing.assert_allclose(1.0 - g[held], 1.0 - want[held], rtol=1e-12)


@pytest.mark.parametrize(
    ("a", "r", "x", "z"),
    [
        (0.5, 0.5, 0.0, 0.95),  # m = x + r - a + 1 a whole number
        (0.5 + 1e-3, 0.5, 2.0, 0.95),  # m close to one
        (1.0 + 1e-3, 0.3, 1.0, 0.95),  # a close to 1
        (0.8, 0.3, 6.0, 0.95),  # c above 5: hyp2f1 is fast there
        (0.8, 0.3, 1.0, 0.8),  # not near 1
    ],
)
def test_connection_formula_leaves_the_unsafe_points_to_hyp2f1(a, r, x, z):
    b = 1.5
    c = a + b + x - 1.0
    args = [np.array([v]) for v in (c - x - r, a - 1.0, c, r + x, 1.0 - z)]
    g, held = factor_near_one(*args)
    assert not held[0] and np.isnan(g[0])


@pytest.mark.parametrize("kind", [BetaGeo, ModifiedBetaGeo])
def test_models_and_draws_near_one_give_hyp2f1s_expected_purchases(kind, monkeypatch):
    """The models' expected purchases and the draws' kernel, which take the connection
    formula near z = 1, against eq. 10 written out with hyp2f1 (after Euler's
    transformation, as the models took it throughout before), for new customers (age
    0 to 2 weeks: z up to 0.99 at two years) under 20 parameter sets."""
    shift = 1.0 if kind is ModifiedBetaGeo else 0.0
    rng = np.random.default_rng(8)
    theta = np.exp(np.log([0.25, 0.5, 0.8, 2.5]) + rng.normal(scale=0.3, size=(20, 4)))
    x = np.repeat([0.0, 1.0, 2.0, 3.0], 5)
    age = np.tile([0.0, 0.1, 0.5, 1.0, 2.0], 4)
    recency = np.where(x > 0, age, 0.0)
    taus = [4.0, 13.0, 52.0, 104.0]
    held = []

    def counting(*args):
        out = factor_near_one(*args)
        held.append(int(out[1].sum()))
        return out

    monkeypatch.setattr(near_one, "factor_near_one", counting)
    kernel = iv._kernel(kind.from_params(r=0.25, alpha=4.0, a=0.8, b=2.5))
    given_alive = kernel.alive_many(theta, x, age, taus)
    for d, (r, alpha, a, b) in enumerate(theta):
        model = kind.from_params(r=r, alpha=alpha, a=a, b=b)
        p_alive = model.p_alive(x, recency, age)
        c = a + b + x - 1.0 + shift
        for tau in taus:
            z = tau / (alpha + age + tau)
            want = c / (a - 1.0) * (1.0 - _euler(c - x - r, a - 1.0, c, z))
            np.testing.assert_allclose(given_alive[tau][:, d], want, rtol=1e-12)
            got = model.expected_purchases(tau, x, recency, age)
            np.testing.assert_allclose(got, want * p_alive, rtol=1e-12)
    assert sum(held) > 500  # the connection formula did the work near z = 1
