"""Shifted-beta-geometric (sBG): retention of a subscription cohort.

Fader, P. S. and Hardie, B. G. S. (2007), "How to Project Customer Retention",
*Journal of Interactive Marketing* 21 (1), 76-90.

Each customer renews every period with a constant probability :math:`1-\\theta`;
:math:`\\theta \\sim \\text{Beta}(\\alpha, \\beta)` across customers, so the cohort's
retention rate rises over time as the customers likely to leave go first.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma, hyp2f1

from retention_xl.core.models._base import (
    FloatArray,
    ParametricModel,
    as_float_array,
    dot,
)
from retention_xl.errors import InputError, NotEnoughDataError, OutOfRangeError

__all__ = ["ShiftedBetaGeometric"]

_ADVICE = (
    "give the number (or share) of customers still active at the start (period 0) and "
    "after each period, in order; some must have left and some stayed"
)


def _check_survivors(survivors: Any) -> FloatArray:
    s = as_float_array(survivors, "survivors")
    if s.size < 2:
        raise NotEnoughDataError(
            f"survivors needs the cohort size and at least one later count, got {s.size} value(s)",
            argument="survivors",
        )
    if s[0] <= 0 or (s < 0).any():
        raise OutOfRangeError(
            f"survivors must be >= 0 with a positive cohort size first, got {float(s[0])!r}",
            argument="survivors",
        )
    rise = np.flatnonzero(np.diff(s) > 0)
    if rise.size:
        i = int(rise[0]) + 1
        raise OutOfRangeError(
            f"survivors cannot grow: period {i} has {float(s[i])!r} after "
            f"{float(s[i - 1])!r} (a cohort only loses customers; new customers form a new "
            f"cohort)",
            argument="survivors",
        )
    return s


def _check_periods(periods: Any, name: str = "periods") -> FloatArray:
    t = as_float_array(periods, name)
    if ((t < 0) | (t != np.round(t))).any():
        raise OutOfRangeError(f"{name} must be whole numbers >= 0, got {t!r}", argument=name)
    return t


class ShiftedBetaGeometric(ParametricModel):
    """The sBG model of contractual retention, fitted by maximum likelihood.

    With :math:`n_t` customers lost in period :math:`t = 1..n` and :math:`S_n` still
    active after the last one:

    .. math:: \\ell = \\sum_{t=1}^{n} n_t \\ln P(T=t) + S_n \\ln S(n),\\quad
              P(T=t) = \\frac{B(\\alpha+1, \\beta+t-1)}{B(\\alpha,\\beta)},\\quad
              S(t) = \\frac{B(\\alpha, \\beta+t)}{B(\\alpha,\\beta)}

    (Fader & Hardie 2007, eq. 5-7), with an analytic gradient.

    Examples
    --------
    >>> m = ShiftedBetaGeometric().fit([1000, 631, 468, 382, 326, 289, 262, 241])
    >>> m.params_.round(3).tolist()
    [0.704, 1.182]
    >>> m.survival([0, 1, 2]).round(3).tolist()
    [1.0, 0.627, 0.474]
    """

    param_names: ClassVar[tuple[str, ...]] = ("alpha", "beta")
    label: ClassVar[str] = "sBG"

    def fit(self, survivors: Any) -> ShiftedBetaGeometric:
        """Fit on survivor counts (or shares) at periods 0, 1, ..., n; returns ``self``."""
        s = _check_survivors(survivors)
        lost = -np.diff(s)
        n = s.size - 1
        t = np.arange(1, n + 1, dtype=np.float64)
        still = float(s[-1])
        if lost.sum() <= 0:
            raise NotEnoughDataError(
                "no customer left the cohort: the churn rate cannot be estimated",
                argument="survivors",
            )

        def objective(logp: FloatArray) -> tuple[float, FloatArray]:
            a, b = np.exp(logp)
            base = betaln(a, b)
            log_p = betaln(a + 1.0, b + t - 1.0) - base
            log_s = betaln(a, b + n) - base
            ll = float(dot(lost, log_p) + still * log_s)
            psi_ab = digamma(a + b)
            d_a = dot(lost, digamma(a + 1.0) - digamma(a + b + t) - digamma(a) + psi_ab) + still * (
                psi_ab - digamma(a + b + n)
            )
            d_b = dot(
                lost, digamma(b + t - 1.0) - digamma(a + b + t) - digamma(b) + psi_ab
            ) + still * (digamma(b + n) - digamma(a + b + n) - digamma(b) + psi_ab)
            return ll, np.array([d_a * a, d_b * b])

        result = self._maximize(
            objective,
            self._start([1.0, 1.0]),
            n_weight=float(s[0]),
            advice=_ADVICE,
        )
        self._store(result, n_customers=float(s[0]), n_distinct=n)
        return self

    def survival(self, periods: Any) -> FloatArray:
        """Share of the cohort still active after ``periods`` periods, :math:`S(t)`."""
        t = _check_periods(periods)
        a, b = self._params()
        return np.asarray(np.exp(betaln(a, b + t) - betaln(a, b)), dtype=np.float64)

    def churn_probability(self, periods: Any) -> FloatArray:
        """Probability that a new customer leaves in period ``t >= 1``, :math:`P(T=t)`."""
        t = _check_periods(periods)
        if (t < 1).any():
            raise OutOfRangeError("periods must be >= 1 for churn", argument="periods")
        a, b = self._params()
        return np.asarray(np.exp(betaln(a + 1.0, b + t - 1.0) - betaln(a, b)), dtype=np.float64)

    def retention_rate(self, periods: Any) -> FloatArray:
        """Share of the customers active after period ``t-1`` who renew in period ``t``.

        .. math:: r_t = \\frac{S(t)}{S(t-1)} = \\frac{\\beta + t - 1}{\\alpha + \\beta + t - 1}
        """
        t = _check_periods(periods)
        if (t < 1).any():
            raise OutOfRangeError("periods must be >= 1 for a retention rate", argument="periods")
        a, b = self._params()
        return np.asarray((b + t - 1.0) / (a + b + t - 1.0), dtype=np.float64)

    def expected_remaining_lifetime(
        self, periods_survived: Any = 0, *, discount_rate: float = 0.0
    ) -> FloatArray:
        """Expected further periods of a customer active after ``periods_survived``.

        .. math:: E\\Big[\\sum_{k\\ge1} \\frac{1\\{T > n+k\\}}{(1+d)^k} \\,\\Big|\\, T > n\\Big]
                  = {}_2F_1\\Big(1, \\beta+n; \\alpha+\\beta+n; \\frac{1}{1+d}\\Big) - 1

        (the discounted expected residual lifetime of Fader & Hardie 2010, counted
        from the next renewal). Without discounting it is :math:`(\\beta+n)/(\\alpha-1)`
        when :math:`\\alpha > 1` and infinite otherwise: then pass a ``discount_rate``.
        """
        n = _check_periods(periods_survived, "periods_survived")
        if isinstance(discount_rate, bool) or not isinstance(discount_rate, (int, float)):
            raise InputError(
                f"discount_rate must be a number, got {discount_rate!r}", argument="discount_rate"
            )
        if not discount_rate >= 0:
            raise OutOfRangeError(
                f"discount_rate must be >= 0, got {discount_rate!r}", argument="discount_rate"
            )
        a, b = self._params()
        if discount_rate == 0:
            value = (b + n) / (a - 1.0) if a > 1 else np.full(n.shape, np.inf)
            return np.asarray(value, dtype=np.float64)
        z = 1.0 / (1.0 + discount_rate)
        return np.asarray(hyp2f1(1.0, b + n, a + b + n, z) - 1.0, dtype=np.float64)

    def projection(self, periods: int) -> pd.DataFrame:
        """Survival and retention for periods 0..``periods`` (a table to chart).

        Columns ``survival`` (share of the cohort), ``retention_rate`` (NaN at 0) and
        ``churn_probability`` (NaN at 0), indexed by ``period``.
        """
        if isinstance(periods, bool) or not isinstance(periods, (int, np.integer)):
            raise InputError(f"periods must be a whole number, got {periods!r}", argument="periods")
        if periods < 0:
            raise OutOfRangeError(f"periods must be >= 0, got {periods!r}", argument="periods")
        t = np.arange(0, int(periods) + 1, dtype=np.float64)
        later = t[1:]
        nan = np.array([np.nan])
        return pd.DataFrame(
            {
                "survival": self.survival(t),
                "retention_rate": np.concatenate([nan, self.retention_rate(later)]),
                "churn_probability": np.concatenate([nan, self.churn_probability(later)]),
            },
            index=pd.Index(t.astype(np.int64), name="period"),
        )
