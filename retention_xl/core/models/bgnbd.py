"""BG/NBD: the beta-geometric / negative binomial model of repeat buying.

Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "'Counting Your Customers' the
Easy Way: An Alternative to the Pareto/NBD Model", *Marketing Science* 24 (2), 275-284.

While alive a customer buys with a Poisson rate :math:`\\lambda \\sim
\\text{Gamma}(r, \\alpha)`; after each repeat purchase they leave with probability
:math:`p \\sim \\text{Beta}(a, b)`. A history is ``(x, t_x, T)``: repeat purchases,
time of the last one and age, all counted from the first purchase.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple

import numpy as np
import numpy.typing as npt
from scipy.special import digamma, expit, gammaln, polygamma

from retention_xl.core.models._base import (
    FloatArray,
    ParametricModel,
    as_float_array,
    check_history,
    distinct_rows,
    dot,
    newton_maximize,
    require_repeaters,
    warm_subset,
)
from retention_xl.core.models._near_one import hypergeometric_factor
from retention_xl.errors import InputError, OutOfRangeError

__all__ = ["BetaGeo"]

IntArray = npt.NDArray[np.intp]

_ADVICE = (
    "check that frequency, recency and age use one time unit (weeks are usual) and "
    "that enough customers bought again; or give initial_params"
)


def _loglik_terms(
    params: FloatArray, x: FloatArray, tx: FloatArray, big_t: FloatArray, *, grad: bool
) -> tuple[FloatArray, FloatArray | None]:
    """Per-row log-likelihood and its gradient w.r.t. the log parameters (rows x 4).

    .. math::
        \\ell = \\ln\\frac{\\Gamma(r+x)\\alpha^r}{\\Gamma(r)}
              + \\ln\\frac{B(a, b+x)}{B(a, b)}
              + \\ln\\Big[(\\alpha+T)^{-(r+x)}
              + \\delta_{x>0}\\,\\frac{a}{b+x-1}(\\alpha+t_x)^{-(r+x)}\\Big]

    (Fader, Hardie & Lee 2005, eq. 6), the bracket in log-sum-exp form.
    """
    r, alpha, a, b = params
    rx = r + x
    repeat = x > 0
    log_at = np.log(alpha + big_t)
    log_atx = np.log(alpha + tx)
    bx1 = b + np.maximum(x, 1.0) - 1.0
    a1 = gammaln(rx) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -rx * log_at
    a4 = np.where(repeat, np.log(a) - np.log(bx1) - rx * log_atx, -np.inf)
    top = np.maximum(a3, a4)
    e3 = np.exp(a3 - top)
    e4 = np.exp(a4 - top)
    total = e3 + e4
    ll = a1 + a2 + top + np.log(total)
    if not grad:
        return ll, None
    w3 = e3 / total
    w4 = e4 / total
    psi_ab = digamma(a + b)
    psi_abx = digamma(a + b + x)
    d_r = digamma(rx) - digamma(r) + np.log(alpha) - w3 * log_at - w4 * log_atx
    d_alpha = r / alpha - w3 * rx / (alpha + big_t) - w4 * rx / (alpha + tx)
    d_a = psi_ab - psi_abx + w4 / a
    d_b = psi_ab + digamma(b + x) - digamma(b) - psi_abx - w4 / bx1
    g = np.stack([d_r * r, d_alpha * alpha, d_a * a, d_b * b], axis=1)
    return ll, g


class _Rows(NamedTuple):
    """Weighted histories grouped for the likelihood: distinct frequencies (``ux``, with
    their weight ``wx``), one-time buyers by age (``ut0``, weight ``w0``), repeat
    buyers' rows (``xp``, ``wp``, and ``ixp`` into ``ux``) with their distinct ages and recencies
    (``ut``/``it``, ``utx``/``itx``), the total weight, ``b + x - 1 = b + bx1_u`` (the
    denominator of the dropout odds) and ``sx_u``, the shift of *x* in the beta function
    :math:`B(a, b + x)`.

    With ``modified`` (MBG/NBD, where a customer can also leave at the first purchase)
    every row takes the repeat buyers' path, the odds' denominator is ``b + x`` and the
    beta function is :math:`B(a, b + x + 1)`: the only two differences of the models.
    """

    ux: FloatArray
    wx: FloatArray
    ut0: FloatArray
    w0: FloatArray
    xp: FloatArray
    wp: FloatArray
    ixp: IntArray
    ut: FloatArray
    it: IntArray
    utx: FloatArray
    itx: IntArray
    w_total: float
    bx1_u: FloatArray
    sx_u: FloatArray


def _group_rows(
    x: FloatArray, tx: FloatArray, big_t: FloatArray, w: FloatArray, *, modified: bool = False
) -> _Rows:
    """The grouping both likelihood builders start from (see :class:`_Rows`)."""
    ux, ix = np.unique(x, return_inverse=True)
    zero = np.zeros(x.size, dtype=bool) if modified else x == 0
    ut0, it0 = np.unique(big_t[zero], return_inverse=True)
    pos = ~zero
    ut, it = np.unique(big_t[pos], return_inverse=True)
    utx, itx = np.unique(tx[pos], return_inverse=True)
    return _Rows(
        ux=ux,
        wx=np.bincount(ix, weights=w, minlength=ux.size).astype(np.float64, copy=False),
        ut0=ut0,
        w0=np.bincount(it0, weights=w[zero], minlength=ut0.size).astype(np.float64, copy=False),
        xp=x[pos],
        wp=w[pos],
        ixp=ix[pos],
        ut=ut,
        it=it,
        utx=utx,
        itx=itx,
        w_total=float(w.sum()),
        bx1_u=ux.copy() if modified else np.maximum(ux, 1.0) - 1.0,
        sx_u=ux + 1.0 if modified else ux.copy(),
    )


def _grouped_objective(
    x: FloatArray, tx: FloatArray, big_t: FloatArray, w: FloatArray, *, modified: bool = False
) -> Callable[[FloatArray], tuple[float, FloatArray]]:
    """Total log-likelihood and gradient of weighted rows, for the optimiser.

    The same numbers as :func:`_loglik_terms` summed, organised for speed: the terms
    that depend only on *x* are evaluated once per distinct frequency, the logarithms
    once per distinct age and recency, and customers without repeat purchases (whose
    likelihood depends only on *T*) are grouped by age. Only the log-sum-exp of the
    repeat buyers runs over rows. ``modified``: MBG/NBD (see :class:`_Rows`).
    """
    ux, wx, ut0, w0, xp, wp, ixp, ut, it, utx, itx, w_total, bx1_u, sx_u = _group_rows(
        x, tx, big_t, w, modified=modified
    )

    def objective(logp: FloatArray) -> tuple[float, FloatArray]:
        r, alpha, a, b = np.exp(logp)
        # Terms of x only (A1 and A2 of eq. 6), once per distinct frequency.
        rx_u = r + ux
        log_alpha = np.log(alpha)
        gx = gammaln(rx_u) + gammaln(b + sx_u) - gammaln(a + b + sx_u)
        ll = float(dot(wx, gx)) + w_total * (
            -gammaln(r) + r * log_alpha + gammaln(a + b) - gammaln(b)
        )
        psi_abx = digamma(a + b + sx_u)
        d_r = float(dot(wx, digamma(rx_u))) + w_total * (log_alpha - digamma(r))
        d_alpha = w_total * r / alpha
        d_a = w_total * digamma(a + b) - float(dot(wx, psi_abx))
        d_b = float(dot(wx, digamma(b + sx_u) - psi_abx)) + w_total * (digamma(a + b) - digamma(b))
        # One-time buyers: (alpha + T)^-r, grouped by T.
        log_t0 = np.log(alpha + ut0)
        ll -= r * float(dot(w0, log_t0))
        d_r -= float(dot(w0, log_t0))
        d_alpha -= r * float(dot(w0, 1.0 / (alpha + ut0)))
        # Repeat buyers: log[(alpha+T)^-(r+x) + a/(b+x-1) (alpha+t_x)^-(r+x)].
        lt = np.log(alpha + ut)[it]
        ltx = np.log(alpha + utx)[itx]
        rx = r + xp
        log_ratio = (np.log(a) - np.log(b + bx1_u))[ixp]
        d = log_ratio - rx * (ltx - lt)
        w4 = expit(d)
        ll += float(dot(wp, np.logaddexp(0.0, d) - rx * lt))
        d_r -= float(dot(wp, lt + w4 * (ltx - lt)))
        inv_t = (1.0 / (alpha + ut))[it]
        inv_tx = (1.0 / (alpha + utx))[itx]
        d_alpha -= float(dot(wp, rx * (inv_t + w4 * (inv_tx - inv_t))))
        ww4 = wp * w4
        d_a += float(ww4.sum()) / a
        d_b -= float(dot(ww4, (1.0 / (b + bx1_u))[ixp]))
        return ll, np.array([d_r * r, d_alpha * alpha, d_a * a, d_b * b])

    return objective


def _grouped_newton(
    x: FloatArray, tx: FloatArray, big_t: FloatArray, w: FloatArray, *, modified: bool = False
) -> Callable[[FloatArray], tuple[float, FloatArray, FloatArray]]:
    r"""Like :func:`_grouped_objective`, with the analytic Hessian (log parameters).

    For a repeat buyer the row term is :math:`h = \mathrm{softplus}(d) - (r+x)\ln(\alpha+T)`
    with :math:`d = \ln\frac{a}{b+x-1} - (r+x)\ln\frac{\alpha+t_x}{\alpha+T}`, so with
    :math:`\sigma = \mathrm{expit}(d)`:
    :math:`\partial^2 h = \sigma(1-\sigma)\,\partial d\,\partial d^\top + \sigma\,\partial^2 d
    + \partial^2[-(r+x)\ln(\alpha+T)]`. ``modified``: MBG/NBD (see :class:`_Rows`).
    """
    ux, wx, ut0, w0, xp, wp, ixp, ut, it, utx, itx, w_total, bx1_u, sx_u = _group_rows(
        x, tx, big_t, w, modified=modified
    )

    def objective(logp: FloatArray) -> tuple[float, FloatArray, FloatArray]:
        r, alpha, a, b = np.exp(logp)
        g = np.zeros(4)
        h = np.zeros((4, 4))
        # Terms of x only.
        rx_u = r + ux
        log_alpha = float(np.log(alpha))
        ll = float(dot(wx, gammaln(rx_u) + gammaln(b + sx_u) - gammaln(a + b + sx_u))) + w_total * (
            -float(gammaln(r)) + r * log_alpha + float(gammaln(a + b)) - float(gammaln(b))
        )
        psi_abx = digamma(a + b + sx_u)
        tri_abx = polygamma(1, a + b + sx_u)
        tri_ab = float(polygamma(1, a + b))
        g[0] = float(dot(wx, digamma(rx_u))) + w_total * (log_alpha - float(digamma(r)))
        g[1] = w_total * r / alpha
        g[2] = w_total * float(digamma(a + b)) - float(dot(wx, psi_abx))
        g[3] = float(dot(wx, digamma(b + sx_u) - psi_abx)) + w_total * float(
            digamma(a + b) - digamma(b)
        )
        h[0, 0] = float(dot(wx, polygamma(1, rx_u))) - w_total * float(polygamma(1, r))
        h[0, 1] = w_total / alpha
        h[1, 1] = -w_total * r / alpha**2
        h[2, 2] = w_total * tri_ab - float(dot(wx, tri_abx))
        h[2, 3] = h[2, 2]
        h[3, 3] = float(dot(wx, polygamma(1, b + sx_u) - tri_abx)) + w_total * (
            tri_ab - float(polygamma(1, b))
        )
        # One-time buyers.
        inv0 = 1.0 / (alpha + ut0)
        log_t0 = np.log(alpha + ut0)
        ll -= r * float(dot(w0, log_t0))
        g[0] -= float(dot(w0, log_t0))
        g[1] -= r * float(dot(w0, inv0))
        h[0, 1] -= float(dot(w0, inv0))
        h[1, 1] += r * float(dot(w0, inv0 * inv0))
        # Repeat buyers.
        lt = np.log(alpha + ut)[it]
        it_ = (1.0 / (alpha + ut))[it]
        itx_ = (1.0 / (alpha + utx))[itx]
        big_d = np.log(alpha + utx)[itx] - lt  # ln((alpha+t_x)/(alpha+T)) <= 0
        big_e = itx_ - it_
        c = (1.0 / (b + bx1_u))[ixp]
        rx = r + xp
        d = (np.log(a) - np.log(b + bx1_u))[ixp] - rx * big_d
        s = expit(d)
        s1 = s * (1.0 - s)
        ll += float(dot(wp, np.logaddexp(0.0, d) - rx * lt))
        ws = wp * s
        ws1 = wp * s1
        rxe = rx * big_e
        g[0] -= float(dot(wp, lt)) + float(dot(ws, big_d))
        g[1] -= float(dot(ws, rxe)) + float(dot(wp, rx * it_))
        g[2] += float(ws.sum()) / a
        g[3] -= float(dot(ws, c))
        h[0, 0] += float(dot(ws1, big_d * big_d))
        h[0, 1] += float(dot(ws1, big_d * rxe)) - float(dot(ws, big_e)) - float(dot(wp, it_))
        h[0, 2] -= float(dot(ws1, big_d)) / a
        h[0, 3] += float(dot(ws1, big_d * c))
        h[1, 1] += (
            float(dot(ws1, rxe * rxe))
            + float(dot(ws, rx * (itx_ * itx_ - it_ * it_)))
            + float(dot(wp, rx * it_ * it_))
        )
        h[1, 2] -= float(dot(ws1, rxe)) / a
        h[1, 3] += float(dot(ws1, rxe * c))
        sum_s1 = float(ws1.sum())
        h[2, 2] += (sum_s1 - float(ws.sum())) / a**2
        h[2, 3] -= float(dot(ws1, c)) / a
        h[3, 3] += float(dot(ws1, c * c)) + float(dot(ws, c * c))
        h = np.triu(h) + np.triu(h, 1).T
        phi = np.array([r, alpha, a, b])
        g_log = phi * g
        return ll, g_log, h * np.outer(phi, phi) + np.diag(g_log)

    return objective


class BetaGeo(ParametricModel):
    """The BG/NBD model, fitted by maximum likelihood.

    Parameters
    ----------
    initial_params
        Starting values ``{"r", "alpha", "a", "b"}`` (default: 1, a tenth of the largest
        age, 1, 1).
    max_iter
        Most optimiser iterations.

    Attributes
    ----------
    params_ : pandas.Series
        ``r``, ``alpha`` (in the time unit of the data), ``a``, ``b``.
    log_likelihood_ : float
        The maximised log-likelihood of all customers (eq. 6 of the paper).
    summary : pandas.DataFrame
        Parameters with standard errors and 95 % bounds.

    Examples
    --------
    >>> from retention_xl.core.models import purchase_history
    >>> from retention_xl.datasets import load_sample
    >>> h = purchase_history(load_sample().orders)  # weeks
    >>> m = BetaGeo().fit(h["frequency"], h["recency"], h["age"])
    >>> m.params_.round(2).to_dict()
    {'r': 0.16, 'alpha': 0.94, 'a': 0.47, 'b': 1.56}
    >>> m.p_alive(2, 20, 38).round(3).tolist()
    [0.59]
    """

    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")
    label: ClassVar[str] = "BG/NBD"

    def fit(self, frequency: Any, recency: Any, age: Any, *, weights: Any = None) -> BetaGeo:
        """Fit on repeat-purchase histories; returns ``self``.

        ``frequency`` is the number of repeat purchases (purchase days after the first),
        ``recency`` the time from the first to the last purchase and ``age`` (*T*) the
        time from the first purchase to the end of observation, in one time unit.
        Identical histories are fitted once, weighted by their count; ``weights`` gives
        counts for already-grouped rows.
        """
        fit_grouped(self, frequency, recency, age, weights, modified=False)
        return self

    def log_likelihood(self, frequency: Any, recency: Any, age: Any) -> FloatArray:
        """Per-customer log-likelihood of each history under the fitted parameters."""
        x, tx, big_t = check_history(frequency, recency, age)
        return _loglik_terms(self._params(), x, tx, big_t, grad=False)[0]

    def p_alive(self, frequency: Any, recency: Any, age: Any) -> FloatArray:
        """Probability that a customer with this history is still alive.

        .. math:: P(\\text{alive}) = \\Big[1 + \\delta_{x>0}\\frac{a}{b+x-1}
                  \\Big(\\frac{\\alpha+T}{\\alpha+t_x}\\Big)^{r+x}\\Big]^{-1}

        (Fader, Hardie & Lee 2008, note 021). A customer without repeat purchases is
        alive with probability 1 under BG/NBD (dropout happens only after a purchase).
        """
        x, tx, big_t = check_history(frequency, recency, age)
        r, alpha, a, b = self._params()
        return _p_alive(r, alpha, a, b, x, tx, big_t)

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, age: Any) -> FloatArray:
        """Expected repeat purchases in the next ``t`` time units, given the history.

        .. math:: E[Y(t) \\mid x, t_x, T] = \\frac{a+b+x-1}{a-1}
                  \\Big[1 - \\Big(\\frac{\\alpha+T}{\\alpha+T+t}\\Big)^{r+x}
                  {}_2F_1\\Big(r+x, b+x; a+b+x-1; \\frac{t}{\\alpha+T+t}\\Big)\\Big]
                  \\, P(\\text{alive})

        (eq. 10 of the paper). The hypergeometric term is evaluated after Euler's
        transformation, :math:`(1-z)^{a-1}\\,{}_2F_1(a+b-1-r, a-1; a+b+x-1; z)`, which
        converges for every horizon and needs no overflow guard.
        """
        horizon = as_float_array(t, "t")
        x, tx, big_t = check_history(frequency, recency, age)
        if (horizon < 0).any():
            raise OutOfRangeError(f"t must be >= 0, got {float(horizon.min())!r}", argument="t")
        r, alpha, a, b = self._params()
        return _conditional_purchases(r, alpha, a, b, horizon, x, tx, big_t)

    def expected_purchases_new(self, t: Any) -> FloatArray:
        """Expected repeat purchases in ``t`` time units of a customer just acquired.

        .. math:: E[X(t)] = \\frac{a+b-1}{a-1}\\Big[1 - \\Big(\\frac{\\alpha}{\\alpha+t}
                  \\Big)^r {}_2F_1\\Big(r, b; a+b-1; \\frac{t}{\\alpha+t}\\Big)\\Big]

        (eq. 7 of the paper).
        """
        horizon = as_float_array(t, "t")
        if (horizon < 0).any():
            raise OutOfRangeError(f"t must be >= 0, got {float(horizon.min())!r}", argument="t")
        r, alpha, a, b = self._params()
        zero = np.zeros_like(horizon)
        return _conditional_purchases(r, alpha, a, b, horizon, zero, zero, zero)


def fit_grouped(
    model: ParametricModel,
    frequency: Any,
    recency: Any,
    age: Any,
    weights: Any,
    *,
    modified: bool,
) -> None:
    """Fit BG/NBD (or, with ``modified``, MBG/NBD) on histories and store the result.

    Newton's method with the analytic Hessian, first on an evenly spaced subset when
    there are many distinct histories; L-BFGS-B if Newton cannot converge.
    """
    x, tx, big_t = check_history(frequency, recency, age)
    require_repeaters(x, model.label)
    if weights is None:
        (x, tx, big_t), w = distinct_rows(x, tx, big_t)
    else:
        w = _weights(weights, x.size)
    start = model._start([1.0, max(float(big_t.max()) / 10.0, 1e-3), 1.0, 1.0])
    part = warm_subset(x.size)
    if part is not None and (x[part] > 0).any():
        warm = newton_maximize(
            _grouped_newton(x[part], tx[part], big_t[part], w[part], modified=modified),
            start,
        )
        if warm is not None:
            start = warm.log_params
    done = newton_maximize(_grouped_newton(x, tx, big_t, w, modified=modified), start)
    if done is None:
        done = model._maximize(
            _grouped_objective(x, tx, big_t, w, modified=modified),
            start,
            n_weight=float(w.sum()),
            advice=_ADVICE,
        )
    model._store(done, n_customers=float(w.sum()), n_distinct=x.size)


def _weights(weights: Any, n: int) -> FloatArray:
    w = as_float_array(weights, "weights")
    if w.size != n:
        raise InputError(f"weights must have {n} values, got {w.size}", argument="weights")
    if (w < 0).any() or w.sum() <= 0:
        raise OutOfRangeError("weights must be >= 0 and not all 0", argument="weights")
    return w


def _p_alive(
    r: float, alpha: float, a: float, b: float, x: FloatArray, tx: FloatArray, big_t: FloatArray
) -> FloatArray:
    log_odds = np.log(a / (b + np.maximum(x, 1.0) - 1.0)) + (r + x) * (
        np.log(alpha + big_t) - np.log(alpha + tx)
    )
    return np.where(x > 0, expit(-log_odds), 1.0)


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
    c = a + b + x - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        g = hypergeometric_factor(t, alpha + big_t, a + b - 1.0 - r, a - 1.0, c, r + x)
        first = c / (a - 1.0)
        out = first * (1.0 - g) * _p_alive(r, alpha, a, b, x, tx, big_t)
    return np.asarray(np.where(t == 0, 0.0, out), dtype=np.float64)
