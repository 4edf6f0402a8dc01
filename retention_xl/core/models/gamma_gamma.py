"""Gamma-Gamma: the spend per transaction, and customer lifetime value.

Fader, P. S. and Hardie, B. G. S. (2013), "The Gamma-Gamma Model of Monetary Value"
(note 025); Fader, Hardie and Lee (2005), "RFM and CLV: Using Iso-Value Curves for
Customer Base Analysis", *Journal of Marketing Research* 42 (4), 415-430.

A customer's transaction values are :math:`\\text{Gamma}(p, \\nu)` with
:math:`\\nu \\sim \\text{Gamma}(q, \\gamma)` across customers, independent of how often
they buy. Only customers with repeat purchases inform the fit: ``avg_value`` is the
mean value of a customer's *repeat* transactions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Protocol

import numpy as np
from scipy.special import digamma, gammaln, polygamma

from retention_xl.core.models._base import (
    FloatArray,
    ParametricModel,
    as_float_array,
    check_history,
    distinct_rows,
    distinct_with_inverse,
    dot,
    newton_maximize,
    warm_subset,
)
from retention_xl.errors import InputError, NotEnoughDataError, OutOfRangeError

__all__ = ["GammaGamma", "TransactionModel", "predict_clv"]

_ADVICE = (
    "Gamma-Gamma needs repeat buyers whose mean spend varies; check that avg_value is "
    "the mean value of the repeat purchases (not their total) and that there are "
    "enough repeat buyers; or give initial_params"
)


def _check_spend(frequency: Any, avg_value: Any) -> tuple[FloatArray, FloatArray]:
    x = as_float_array(frequency, "frequency")
    # Customers without repeat purchases have no mean repeat spend: NaN (or a blank,
    # None) is allowed there.
    try:
        m_arr = np.atleast_1d(np.asarray(avg_value, dtype=np.float64)).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"avg_value must be amounts, got {avg_value!r}", argument="avg_value"
        ) from exc
    try:
        x, m_arr = np.broadcast_arrays(x, m_arr)
    except ValueError:
        raise InputError(
            f"frequency and avg_value must have the same length, got {x.size} and {m_arr.size}",
            argument="avg_value",
        ) from None
    x, m_arr = np.ascontiguousarray(x), np.ascontiguousarray(m_arr)
    bad = (x < 0) | (x != np.round(x))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise OutOfRangeError(
            f"frequency must be a whole number >= 0, got {float(x[i])!r} at position {i}",
            argument="frequency",
        )
    repeat = x > 0
    bad = repeat & ~(np.isfinite(m_arr) & (m_arr > 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise OutOfRangeError(
            f"avg_value must be a positive amount for a repeat buyer, got {float(m_arr[i])!r} "
            f"at position {i}",
            argument="avg_value",
        )
    return x, m_arr


def _objective(
    x: FloatArray, m: FloatArray, w: FloatArray
) -> Callable[[FloatArray], tuple[float, FloatArray, FloatArray]]:
    """Total log-likelihood (note 025, eq. 3), gradient and Hessian in log parameters.

    The gamma functions depend on *x* only and run once per distinct frequency; the
    sums of the parameter-free terms are computed once; per row remain one log, one
    division and a few dot products. With :math:`u = 1/(\\gamma + x\bar m)`:

    .. math::
        \\partial_\\gamma \\ell = \frac{Wq}{\\gamma} - p\\sum w x u - q \\sum w u,\\quad
        \\partial^2_{\\gamma} \\ell = -\frac{Wq}{\\gamma^2} + p\\sum w x u^2 + q\\sum w u^2
    """
    ux, ix = np.unique(x, return_inverse=True)
    wx = np.bincount(ix, weights=w, minlength=ux.size)
    log_m = np.log(m)
    s1 = float(dot(w, x * (log_m + np.log(x))))  # sum w x (ln m + ln x)
    s2 = float(dot(w, log_m))
    xm = x * m
    weights_2 = np.ascontiguousarray(np.stack([w, w * x]))  # rows: w, w x
    w_total = float(w.sum())
    buffer = np.empty((3, x.size))

    def objective(logp: FloatArray) -> tuple[float, FloatArray, FloatArray]:
        p, q, g = np.exp(logp)
        pux = p * ux
        psi = digamma(pux + q)
        tri = polygamma(1, pux + q)
        # One pass writes ln(g + x m), u = 1/(g + x m) and u^2; one product sums them
        # against w and w x.
        np.add(g, xm, out=buffer[0])
        np.reciprocal(buffer[0], out=buffer[1])
        np.log(buffer[0], out=buffer[0])
        np.multiply(buffer[1], buffer[1], out=buffer[2])
        # [[s_l, a0, b0], [s_xl, a1, b1]]
        sums = np.einsum("ki,ji->kj", weights_2, buffer)
        s_l, a0, b0 = (float(v) for v in sums[0])
        s_xl, a1, b1 = (float(v) for v in sums[1])
        log_g = float(np.log(g))
        ll = (
            float(dot(wx, gammaln(pux + q) - gammaln(pux)))
            + w_total * (q * log_g - float(gammaln(q)))
            + p * s1
            - s2
            - p * s_xl
            - q * s_l
        )
        grad = np.array(
            [
                float(dot(wx, ux * (psi - digamma(pux)))) + s1 - s_xl,
                float(dot(wx, psi)) + w_total * (log_g - float(digamma(q))) - s_l,
                w_total * q / g - p * a1 - q * a0,
            ]
        )
        h_pq = float(dot(wx, ux * tri))
        h_pg = -a1
        h_qg = w_total / g - a0
        hess = np.array(
            [
                [float(dot(wx, ux * ux * (tri - polygamma(1, pux)))), h_pq, h_pg],
                [h_pq, float(dot(wx, tri)) - w_total * float(polygamma(1, q)), h_qg],
                [h_pg, h_qg, -w_total * q / g**2 + p * b1 + q * b0],
            ]
        )
        phi = np.array([p, q, g])
        g_log = phi * grad
        h_log = hess * np.outer(phi, phi) + np.diag(g_log)
        return float(ll), g_log, h_log

    return objective


class GammaGamma(ParametricModel):
    """The Gamma-Gamma spend model, fitted by maximum likelihood on repeat buyers.

    .. math:: \\ell = \\ln\\frac{\\Gamma(px+q)}{\\Gamma(px)\\Gamma(q)}
              + q\\ln\\gamma + (px-1)\\ln\\bar m + px\\ln x - (px+q)\\ln(\\gamma + x\\bar m)

    (note 025, eq. 3) for a customer with ``x`` repeat purchases of mean value
    :math:`\\bar m`; the gradient is analytic.

    Examples
    --------
    >>> from retention_xl.core.models import purchase_history
    >>> from retention_xl.datasets import load_sample
    >>> h = purchase_history(load_sample().orders)
    >>> gg = GammaGamma().fit(h["frequency"], h["monetary_value"])
    >>> gg.params_.round(2).to_dict()
    {'p': 6.23, 'q': 3.61, 'gamma': 26.83}
    >>> round(gg.mean_value(), 2)
    64.2
    """

    param_names: ClassVar[tuple[str, ...]] = ("p", "q", "gamma")
    label: ClassVar[str] = "Gamma-Gamma"

    def fit(self, frequency: Any, avg_value: Any, *, weights: Any = None) -> GammaGamma:
        """Fit on repeat buyers (rows with ``frequency`` 0 are ignored); returns ``self``.

        Raises :class:`~retention_xl.errors.NotEnoughDataError` with fewer than two
        repeat buyers.
        """
        x, m = _check_spend(frequency, avg_value)
        if weights is None:
            repeat = x > 0
        else:
            w_all = as_float_array(weights, "weights")
            if w_all.size != x.size or (w_all < 0).any():
                raise OutOfRangeError(f"weights must be {x.size} counts >= 0", argument="weights")
            repeat = (x > 0) & (w_all > 0)
        n_repeat = int(np.count_nonzero(repeat))
        if n_repeat < 2:
            raise NotEnoughDataError(
                f"Gamma-Gamma needs at least 2 repeat buyers, got {n_repeat}: the "
                f"spend model learns only from customers who bought more than once",
                argument="frequency",
            )
        rows = np.flatnonzero(repeat)  # take() by index: a third of a boolean mask's time
        x, m = x.take(rows), m.take(rows)
        if weights is None:  # each distinct (x, mean spend) once, with its count
            (x, m), w = distinct_rows(x, m)
        else:
            w = w_all.take(rows)
        mean = float(np.average(m, weights=w))
        start = self._start([1.0, 1.0, mean])
        part = warm_subset(x.size)
        if part is not None:
            warm = newton_maximize(_objective(x[part], m[part], w[part]), start)
            if warm is not None:
                start = warm.log_params
        full = _objective(x, m, w)
        result = newton_maximize(full, start, max_iter=self.max_iter)
        if result is not None:
            self._store(result, n_customers=float(w.sum()), n_distinct=x.size)
            return self

        def objective(logp: FloatArray) -> tuple[float, FloatArray]:
            ll, grad, _ = full(logp)
            return ll, grad

        result = self._maximize(
            objective,
            start,
            n_weight=float(w.sum()),
            advice=_ADVICE,
        )
        self._store(result, n_customers=float(w.sum()), n_distinct=x.size)
        return self

    def expected_avg_value(self, frequency: Any, avg_value: Any) -> FloatArray:
        """Expected mean transaction value of each customer (note 025, eq. 5).

        .. math:: E[M \\mid p, q, \\gamma, \\bar m, x] = \\frac{p(\\gamma + x\\bar m)}{px + q - 1}
                  = \\frac{q-1}{px+q-1}\\,\\frac{p\\gamma}{q-1}
                  + \\frac{px}{px+q-1}\\,\\bar m

        a weighted mean of the population mean :math:`p\\gamma/(q-1)` and the
        customer's own mean. Customers without repeat purchases get the population
        mean; it is NaN when :math:`q \\le 1` (the population mean does not exist).
        """
        x, m = _check_spend(frequency, avg_value)
        p, q, g = self._params()
        m0 = np.where(x > 0, m, 0.0)
        den = p * x + q - 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            out = p * (g + x * m0) / den
        return np.asarray(np.where(den > 0, out, np.nan), dtype=np.float64)

    def mean_value(self) -> float:
        """The population mean transaction value :math:`p\\gamma/(q-1)` (NaN if q <= 1)."""
        p, q, g = self._params()
        return float(p * g / (q - 1.0)) if q > 1 else float("nan")


class TransactionModel(Protocol):
    """What :func:`predict_clv` needs of a purchase model (BetaGeo, ParetoNBD)."""

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, age: Any) -> FloatArray:
        """Expected purchases in the next ``t`` time units."""
        ...


def predict_clv(
    transactions: TransactionModel,
    spend: GammaGamma,
    frequency: Any,
    recency: Any,
    age: Any,
    avg_value: Any,
    *,
    horizon: float = 52.0,
    margin: float = 1.0,
    discount_rate: float = 0.0,
    periods_per_year: float = 52.0,
    steps_per_year: int = 12,
) -> FloatArray:
    """Predicted customer lifetime value over ``horizon``: discounted margin cash flows.

    .. math:: \\text{CLV} = \\text{margin}\\cdot E[M]\\sum_{k=1}^{K}
              \\frac{E[Y(\\tau_k)] - E[Y(\\tau_{k-1})]}{(1+d)^{\\tau_k / P}},\\qquad
              \\tau_k = \\min(k\\,\\Delta, H)

    with :math:`E[Y(\\tau)]` the transaction model's expected purchases by
    :math:`\\tau`, :math:`E[M]` the Gamma-Gamma expected spend, :math:`H` =
    ``horizon`` and :math:`P` = ``periods_per_year`` (in the models' time unit: 52 for
    weeks, 365 for days), :math:`d` = ``discount_rate`` a year, and cash counted at
    the end of each of ``steps_per_year`` steps a year (:math:`\\Delta = P /`
    ``steps_per_year``: monthly by default), as ``lifetimes``'
    ``customer_lifetime_value`` does with a monthly rate
    :math:`(1+d)^{1/12} - 1`.

    Examples
    --------
    >>> from retention_xl.core.models import BetaGeo, purchase_history
    >>> from retention_xl.datasets import load_sample
    >>> h = purchase_history(load_sample().orders)  # weeks
    >>> bg = BetaGeo().fit(h["frequency"], h["recency"], h["age"])
    >>> gg = GammaGamma().fit(h["frequency"], h["monetary_value"])
    >>> clv = predict_clv(bg, gg, 2, 20, 38, 50.0, horizon=52, margin=0.4, discount_rate=0.1)
    >>> clv.round(2).tolist()
    [28.39]
    """
    x, tx, big_t = check_history(frequency, recency, age)
    _, m = _check_spend(x, avg_value)
    for name, value in (
        ("horizon", horizon),
        ("margin", margin),
        ("discount_rate", discount_rate),
        ("periods_per_year", periods_per_year),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise InputError(f"{name} must be a number, got {value!r}", argument=name)
        if not np.isfinite(value):
            raise OutOfRangeError(f"{name} must be finite, got {value!r}", argument=name)
    if horizon < 0:
        raise OutOfRangeError(f"horizon must be >= 0, got {horizon!r}", argument="horizon")
    if margin < 0:
        raise OutOfRangeError(f"margin must be >= 0, got {margin!r}", argument="margin")
    if discount_rate <= -1:
        raise OutOfRangeError(
            f"discount_rate must be > -1 (0.1 for 10 % a year), got {discount_rate!r}",
            argument="discount_rate",
        )
    if periods_per_year <= 0:
        raise OutOfRangeError(
            f"periods_per_year must be > 0, got {periods_per_year!r}", argument="periods_per_year"
        )
    if isinstance(steps_per_year, bool) or not isinstance(steps_per_year, (int, np.integer)):
        raise InputError(
            f"steps_per_year must be a whole number, got {steps_per_year!r}",
            argument="steps_per_year",
        )
    if steps_per_year < 1:
        raise OutOfRangeError(
            f"steps_per_year must be >= 1, got {steps_per_year!r}", argument="steps_per_year"
        )
    expected_value = spend.expected_avg_value(x, m)
    step = float(periods_per_year) / int(steps_per_year)
    n_steps = int(np.ceil(float(horizon) / step - 1e-9))
    # The expected purchases depend on the history alone: once per distinct history.
    (hx, htx, ht), inverse = distinct_with_inverse(x, tx, big_t)
    total: FloatArray = np.zeros(hx.size)
    previous: FloatArray = np.zeros(hx.size)
    for k in range(1, n_steps + 1):
        tau = min(k * step, float(horizon))
        cumulative: FloatArray = transactions.expected_purchases(tau, hx, htx, ht)
        total += (cumulative - previous) / (1.0 + discount_rate) ** (tau / periods_per_year)
        previous = cumulative
    return np.asarray(margin * expected_value * total[inverse], dtype=np.float64)
