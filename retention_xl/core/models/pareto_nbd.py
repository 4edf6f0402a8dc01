"""Pareto/NBD: repeat buying with an exponential lifetime.

Schmittlein, D. C., Morrison, D. G. and Colombo, R. (1987), "Counting Your Customers:
Who Are They and What Will They Do Next?", *Management Science* 33 (1), 1-24; the
likelihood as in Fader, P. S. and Hardie, B. G. S. (2005), "A Note on Deriving the
Pareto/NBD Model and Related Expressions" (note 009), and the CDNOW estimates in
Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way".

While alive a customer buys with rate :math:`\\lambda \\sim \\text{Gamma}(r,\\alpha)`;
the lifetime is exponential with rate :math:`\\mu \\sim \\text{Gamma}(s, \\beta)`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
from scipy.special import expit, gammaln, hyp2f1

from retention_xl.core.models._base import (
    FloatArray,
    ParametricModel,
    as_float_array,
    check_history,
    distinct_rows,
    dot,
    require_repeaters,
    warm_subset,
)
from retention_xl.core.models.bgnbd import _weights
from retention_xl.errors import ConvergenceError, OutOfRangeError

__all__ = ["ParetoNBD"]

_ADVICE = (
    "check that frequency, recency and age use one time unit (weeks are usual) and "
    "that enough customers bought again; or give initial_params"
)
#: Step of the central differences of the gradient, in log parameters.
_GRAD_STEP = 1e-6


def _log_term(t: FloatArray, a_: FloatArray, b_: FloatArray, hi: float, lo: float) -> FloatArray:
    """:math:`\\ln\\big[{}_2F_1(a', b'; a'+1; \\frac{hi-lo}{hi+t}) / (hi+t)^{a'}\\big]`.

    For :math:`b' \\ge 1` Euler's transformation
    :math:`{}_2F_1(a',b';a'+1;z) = (1-z)^{1-b'}\\,{}_2F_1(1, a'+1-b'; a'+1; z)` gives a
    series that converges at :math:`z \\to 1`; otherwise the original one does. Both
    have positive terms only, so there is no cancellation.
    """
    z = (hi - lo) / (hi + t)
    log_1mz = np.log(lo + t) - np.log(hi + t)
    euler = b_ >= 1.0
    h = np.where(
        euler,
        hyp2f1(1.0, a_ + 1.0 - b_, a_ + 1.0, z),
        hyp2f1(a_, b_, a_ + 1.0, z),
    )
    return np.asarray(
        -a_ * np.log(hi + t) + np.where(euler, (1.0 - b_) * log_1mz, 0.0) + np.log(h),
        dtype=np.float64,
    )


def _log_a0(params: FloatArray, x: FloatArray, tx: FloatArray, big_t: FloatArray) -> FloatArray:
    """:math:`\\ln A_0` of note 009 (eq. 19-20), by the ordering of alpha and beta.

    .. math:: A_0 = \\frac{{}_2F_1(r+s+x, b'; r+s+x+1; z(t_x))}{(\\max+t_x)^{r+s+x}}
              - \\frac{{}_2F_1(r+s+x, b'; r+s+x+1; z(T))}{(\\max+T)^{r+s+x}}

    with :math:`b' = s+1, z(t) = (\\alpha-\\beta)/(\\alpha+t)` when
    :math:`\\alpha \\ge \\beta`, else :math:`b' = r+x, z(t) = (\\beta-\\alpha)/(\\beta+t)`.
    The difference is taken in log space: :math:`\\ln A_0 = \\ell_1 +
    \\ln(1 - e^{\\ell_2-\\ell_1})`; :math:`A_0 = 0` when :math:`t_x = T`.
    """
    r, alpha, s, beta = params
    a_ = r + s + x
    if alpha >= beta:
        b_ = np.full_like(x, s + 1.0)
        hi, lo = alpha, beta
    else:
        b_ = r + x
        hi, lo = beta, alpha
    l1 = _log_term(tx, a_, b_, hi, lo)
    l2 = _log_term(big_t, a_, b_, hi, lo)
    with np.errstate(divide="ignore"):
        diff = np.log(-np.expm1(np.minimum(l2 - l1, 0.0)))
    return np.asarray(l1 + diff, dtype=np.float64)


def _loglik(params: FloatArray, x: FloatArray, tx: FloatArray, big_t: FloatArray) -> FloatArray:
    """Per-row log-likelihood (note 009, eq. 22).

    .. math:: L = \\frac{\\Gamma(r+x)\\alpha^r\\beta^s}{\\Gamma(r)}
              \\Big[\\frac{1}{(\\alpha+T)^{r+x}(\\beta+T)^s}
              + \\frac{s}{r+s+x} A_0\\Big]
    """
    r, alpha, s, beta = params
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    first = -(r + x) * np.log(alpha + big_t) - s * np.log(beta + big_t)
    second = np.log(s) - np.log(r + s + x) + _log_a0(params, x, tx, big_t)
    return np.asarray(a1 + np.logaddexp(first, second), dtype=np.float64)


def _objective(
    x: FloatArray, tx: FloatArray, big_t: FloatArray, w: FloatArray
) -> Callable[[FloatArray], tuple[float, FloatArray]]:
    """Total log-likelihood of weighted rows and its central-difference gradient."""

    def total(logp: FloatArray) -> float:
        with np.errstate(all="ignore"):
            return dot(w, _loglik(np.exp(logp), x, tx, big_t))

    def objective(logp: FloatArray) -> tuple[float, FloatArray]:
        ll = total(logp)
        grad = np.empty(logp.size)
        for j in range(logp.size):
            e = np.zeros(logp.size)
            e[j] = _GRAD_STEP
            grad[j] = (total(logp + e) - total(logp - e)) / (2 * _GRAD_STEP)
        return ll, grad

    return objective


class ParetoNBD(ParametricModel):
    """The Pareto/NBD model, fitted by maximum likelihood.

    The gradient of the likelihood has no closed form (it involves derivatives of
    :math:`{}_2F_1` in its parameters), so the fit uses central differences of the
    stable log-likelihood over distinct histories.

    Parameters
    ----------
    initial_params
        Starting values ``{"r", "alpha", "s", "beta"}``.
    max_iter
        Most optimiser iterations.

    Examples
    --------
    >>> from retention_xl.core.models import purchase_history
    >>> from retention_xl.datasets import load_sample
    >>> h = purchase_history(load_sample().orders)  # weeks
    >>> m = ParetoNBD().fit(h["frequency"], h["recency"], h["age"])
    >>> m.params_.round(2).to_dict()
    {'r': 0.31, 'alpha': 2.15, 's': 0.38, 'beta': 3.47}
    >>> m.p_alive(0, 0, 52).round(3).tolist()  # bought once, a year ago
    [0.226]
    """

    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "s", "beta")
    label: ClassVar[str] = "Pareto/NBD"

    def fit(self, frequency: Any, recency: Any, age: Any, *, weights: Any = None) -> ParetoNBD:
        """Fit on repeat-purchase histories ``(x, t_x, T)``; returns ``self``.

        Same inputs as :meth:`BetaGeo.fit <retention_xl.core.models.BetaGeo.fit>`.
        """
        x, tx, big_t = check_history(frequency, recency, age)
        require_repeaters(x, self.label)
        if weights is None:
            (x, tx, big_t), w = distinct_rows(x, tx, big_t)
        else:
            w = _weights(weights, x.size)
        scale = max(float(big_t.max()), 1e-3)
        start = self._start([1.0, scale / 10.0, 1.0, scale / 10.0])
        part = warm_subset(x.size)
        if part is not None and (x[part] > 0).any():
            # Many distinct histories: fit an evenly spaced subset first.
            with contextlib.suppress(ConvergenceError):
                start = self._maximize(
                    _objective(x[part], tx[part], big_t[part], w[part]),
                    start,
                    n_weight=float(w[part].sum()),
                    advice=_ADVICE,
                    hessian_step=1e-4,
                ).log_params
        result = self._maximize(
            _objective(x, tx, big_t, w),
            start,
            n_weight=float(w.sum()),
            advice=_ADVICE,
            hessian_step=1e-4,
        )
        self._store(result, n_customers=float(w.sum()), n_distinct=x.size)
        return self

    def log_likelihood(self, frequency: Any, recency: Any, age: Any) -> FloatArray:
        """Per-customer log-likelihood of each history under the fitted parameters."""
        x, tx, big_t = check_history(frequency, recency, age)
        return _loglik(self._params(), x, tx, big_t)

    def p_alive(self, frequency: Any, recency: Any, age: Any) -> FloatArray:
        """Probability that a customer with this history is still alive (note 009, eq. 18).

        .. math:: P(\\text{alive}) = \\Big[1 + \\frac{s}{r+s+x}(\\alpha+T)^{r+x}
                  (\\beta+T)^s A_0\\Big]^{-1}
        """
        x, tx, big_t = check_history(frequency, recency, age)
        params = self._params()
        return _p_alive(params, x, tx, big_t)

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, age: Any) -> FloatArray:
        """Expected purchases in the next ``t`` time units, given the history.

        .. math:: E[Y(t) \\mid x, t_x, T] = \\frac{(r+x)(\\beta+T)}{(\\alpha+T)(s-1)}
                  \\Big[1 - \\Big(\\frac{\\beta+T}{\\beta+T+t}\\Big)^{s-1}\\Big]
                  P(\\text{alive})

        (note 009, eq. 24), with its limit :math:`\\ln\\frac{\\beta+T+t}{\\beta+T}` at
        :math:`s = 1`.
        """
        horizon = as_float_array(t, "t")
        if (horizon < 0).any():
            raise OutOfRangeError(f"t must be >= 0, got {float(horizon.min())!r}", argument="t")
        x, tx, big_t = check_history(frequency, recency, age)
        params = self._params()
        r, alpha, s, beta = params
        return np.asarray(
            (r + x)
            * (beta + big_t)
            / (alpha + big_t)
            * _growth(s, horizon / (beta + big_t))
            * _p_alive(params, x, tx, big_t),
            dtype=np.float64,
        )

    def expected_purchases_new(self, t: Any) -> FloatArray:
        """Expected purchases in ``t`` time units of a customer just acquired.

        .. math:: E[X(t)] = \\frac{r\\beta}{\\alpha(s-1)}
                  \\Big[1 - \\Big(\\frac{\\beta}{\\beta+t}\\Big)^{s-1}\\Big]
        """
        horizon = as_float_array(t, "t")
        if (horizon < 0).any():
            raise OutOfRangeError(f"t must be >= 0, got {float(horizon.min())!r}", argument="t")
        r, alpha, s, beta = self._params()
        return np.asarray(r * beta / alpha * _growth(s, horizon / beta), dtype=np.float64)


def _growth(s: float, u: FloatArray) -> FloatArray:
    """:math:`[1 - (1+u)^{-(s-1)}]/(s-1)`, and :math:`\\ln(1+u)` at :math:`s=1`."""
    lg = np.log1p(u)
    if abs(s - 1.0) < 1e-12:
        return np.asarray(lg, dtype=np.float64)
    return np.asarray(-np.expm1(-(s - 1.0) * lg) / (s - 1.0), dtype=np.float64)


def _p_alive(params: FloatArray, x: FloatArray, tx: FloatArray, big_t: FloatArray) -> FloatArray:
    r, alpha, s, beta = params
    log_odds = (
        np.log(s)
        - np.log(r + s + x)
        + (r + x) * np.log(alpha + big_t)
        + s * np.log(beta + big_t)
        + _log_a0(params, x, tx, big_t)
    )
    return np.asarray(expit(-log_odds), dtype=np.float64)
