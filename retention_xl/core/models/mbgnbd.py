"""MBG/NBD: BG/NBD where a customer can also leave right after the first purchase.

Batislam, E. P., Denizel, M. and Filiztekin, A. (2007), "Empirical validation and
comparison of models for customer base analysis", *International Journal of Research
in Marketing* 24 (3), 201-209; the conditional expectation as corrected by Wagner, U.
and Hoppe, D. (2008), "Erratum on the MBG/NBD model", *IJRM* 25 (3), 225-226.

While alive a customer buys with a Poisson rate :math:`\\lambda \\sim
\\text{Gamma}(r, \\alpha)`; at the first purchase and after each repeat purchase they
leave with probability :math:`p \\sim \\text{Beta}(a, b)`. So, unlike BG/NBD, a
customer who never bought again may be gone. The parameters are those of lifetimes'
``ModifiedBetaGeoFitter``; a history is ``(x, t_x, T)`` as for :class:`BetaGeo
<retention_xl.core.models.BetaGeo>`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from scipy.special import expit, gammaln

from retention_xl.core.models._base import (
    FloatArray,
    ParametricModel,
    as_float_array,
    check_history,
)
from retention_xl.core.models._near_one import hypergeometric_factor
from retention_xl.core.models.bgnbd import fit_grouped
from retention_xl.errors import OutOfRangeError

__all__ = ["ModifiedBetaGeo"]


def _loglik(params: FloatArray, x: FloatArray, tx: FloatArray, big_t: FloatArray) -> FloatArray:
    """Per-row log-likelihood (Batislam et al. 2007).

    .. math::
        L = \\frac{\\Gamma(r+x)\\alpha^r}{\\Gamma(r)}\\Big[
            \\frac{B(a, b+x+1)}{B(a, b)}(\\alpha+T)^{-(r+x)}
          + \\frac{B(a+1, b+x)}{B(a, b)}(\\alpha+t_x)^{-(r+x)}\\Big]

    in log-sum-exp form, with :math:`B(a+1, b+x) / B(a, b+x+1) = a / (b+x)`.
    """
    r, alpha, a, b = params
    rx = r + x
    a1 = gammaln(rx) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x + 1.0) - gammaln(b) - gammaln(a + b + x + 1.0)
    a3 = -rx * np.log(alpha + big_t)
    a4 = np.log(a) - np.log(b + x) + rx * (np.log(alpha + big_t) - np.log(alpha + tx))
    return np.asarray(a1 + a2 + a3 + np.logaddexp(0.0, a4), dtype=np.float64)


def _p_alive(
    r: float, alpha: float, a: float, b: float, x: FloatArray, tx: FloatArray, big_t: FloatArray
) -> FloatArray:
    log_odds = np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + big_t) - np.log(alpha + tx))
    return np.asarray(expit(-log_odds), dtype=np.float64)


class ModifiedBetaGeo(ParametricModel):
    """The MBG/NBD model, fitted by maximum likelihood.

    The likelihood differs from BG/NBD's in two places (the beta function
    :math:`B(a, b+x+1)` and the dropout odds :math:`a/(b+x)`, for every customer,
    one-time buyers included), so the fit is BG/NBD's: Newton's method on the
    analytic Hessian over distinct histories, L-BFGS-B as the fallback.

    Parameters
    ----------
    initial_params
        Starting values ``{"r", "alpha", "a", "b"}`` (default: 1, a tenth of the largest
        age, 1, 1).
    max_iter
        Most optimiser iterations.

    Examples
    --------
    >>> from retention_xl.core.models import purchase_history
    >>> from retention_xl.datasets import load_sample
    >>> h = purchase_history(load_sample().orders)  # weeks
    >>> m = ModifiedBetaGeo().fit(h["frequency"], h["recency"], h["age"])
    >>> m.params_.round(2).to_dict()
    {'r': 0.3, 'alpha': 1.27, 'a': 0.56, 'b': 1.17}
    >>> m.p_alive([0, 2], [0, 20], [38, 38]).round(3).tolist()
    [0.422, 0.578]
    """

    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")
    label: ClassVar[str] = "MBG/NBD"

    def fit(
        self, frequency: Any, recency: Any, age: Any, *, weights: Any = None
    ) -> ModifiedBetaGeo:
        """Fit on repeat-purchase histories ``(x, t_x, T)``; returns ``self``.

        Same inputs as :meth:`BetaGeo.fit <retention_xl.core.models.BetaGeo.fit>`:
        repeat purchases, time of the last one and age, counted from the first purchase
        in one time unit; ``weights`` gives counts for already-grouped rows.
        """
        fit_grouped(self, frequency, recency, age, weights, modified=True)
        return self

    def log_likelihood(self, frequency: Any, recency: Any, age: Any) -> FloatArray:
        """Per-customer log-likelihood of each history under the fitted parameters."""
        x, tx, big_t = check_history(frequency, recency, age)
        return _loglik(self._params(), x, tx, big_t)

    def p_alive(self, frequency: Any, recency: Any, age: Any) -> FloatArray:
        """Probability that a customer with this history is still alive.

        .. math:: P(\\text{alive}) = \\Big[1 + \\frac{a}{b+x}
                  \\Big(\\frac{\\alpha+T}{\\alpha+t_x}\\Big)^{r+x}\\Big]^{-1}

        (Batislam et al. 2007, appendix A). Also below 1 for a customer without
        repeat purchases: it falls as :math:`T` grows.
        """
        x, tx, big_t = check_history(frequency, recency, age)
        r, alpha, a, b = self._params()
        return _p_alive(r, alpha, a, b, x, tx, big_t)

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, age: Any) -> FloatArray:
        """Expected repeat purchases in the next ``t`` time units, given the history.

        .. math:: E[Y(t) \\mid x, t_x, T] = \\frac{a+b+x}{a-1}
                  \\Big[1 - \\Big(\\frac{\\alpha+T}{\\alpha+T+t}\\Big)^{r+x}
                  {}_2F_1\\Big(r+x, b+x+1; a+b+x; \\frac{t}{\\alpha+T+t}\\Big)\\Big]
                  \\, P(\\text{alive})

        (Wagner & Hoppe 2008). The hypergeometric term is evaluated after Euler's
        transformation, :math:`(1-z)^{a-1}\\,{}_2F_1(a+b-r, a-1; a+b+x; z)`, which
        converges for every horizon.
        """
        horizon = as_float_array(t, "t")
        x, tx, big_t = check_history(frequency, recency, age)
        if (horizon < 0).any():
            raise OutOfRangeError(f"t must be >= 0, got {float(horizon.min())!r}", argument="t")
        r, alpha, a, b = self._params()
        return _conditional_purchases(r, alpha, a, b, horizon, x, tx, big_t)

    def expected_purchases_new(self, t: Any) -> FloatArray:
        """Expected repeat purchases in ``t`` time units of a customer just acquired.

        .. math:: E[X(t)] = \\frac{b}{a-1}\\Big[1 - \\Big(\\frac{\\alpha}{\\alpha+t}
                  \\Big)^r {}_2F_1\\Big(r, b+1; a+b; \\frac{t}{\\alpha+t}\\Big)\\Big]

        (Batislam et al. 2007): the conditional expectation at
        :math:`x = t_x = T = 0`.
        """
        horizon = as_float_array(t, "t")
        if (horizon < 0).any():
            raise OutOfRangeError(f"t must be >= 0, got {float(horizon.min())!r}", argument="t")
        r, alpha, a, b = self._params()
        zero = np.zeros_like(horizon)
        return _conditional_purchases(r, alpha, a, b, horizon, zero, zero, zero)


def _conditional_purchases(
    r: float,
    alpha: float,
    a: float,
    b: float,
    t: FloatArray,
    x: FloatArray,
    tx: FloatArray,
    big_t: FloatArray,
) -> FloatArray:
    c = a + b + x
    with np.errstate(divide="ignore", invalid="ignore"):
        g = hypergeometric_factor(t, alpha + big_t, a + b - r, a - 1.0, c, r + x)
        out = c / (a - 1.0) * (1.0 - g) * _p_alive(r, alpha, a, b, x, tx, big_t)
    return np.asarray(np.where(t == 0, 0.0, out), dtype=np.float64)
