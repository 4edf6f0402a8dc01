"""BG/BB: the beta-geometric / beta-binomial model of repeat buying in discrete time.

Fader, P. S., Hardie, B. G. S. and Shang, J. (2010), "Customer-Base Analysis in a
Discrete-Time Noncontractual Setting", *Marketing Science* 29 (6), 1086-1108.

Time is a sequence of transaction opportunities (periods: a year of annual giving, a
month...). While alive a customer buys in each period with probability
:math:`p \\sim \\text{Beta}(\\alpha, \\beta)`; at the start of each period they
leave for good with probability :math:`\\theta \\sim \\text{Beta}(\\gamma, \\delta)`.
A history is ``(x, t_x, n)``: in the ``n`` periods after the first purchase (period
0), purchases in ``x`` of them, the last in period ``t_x`` (0 when ``x`` is 0).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Final, NamedTuple

import numpy as np
import numpy.typing as npt
from scipy.special import betaln, digamma, gammaln, polygamma

from retention_xl.core.models._base import (
    FloatArray,
    ParametricModel,
    as_float_array,
    distinct_rows,
    dot,
    newton_maximize,
    require_repeaters,
)
from retention_xl.core.models.bgnbd import _weights
from retention_xl.errors import InputError, NotEnoughDataError, OutOfRangeError

__all__ = ["BetaGeoBetaBinom", "ProRataPeriods", "check_period_history"]

IntArray = npt.NDArray[np.intp]

_ADVICE = (
    "check that frequency counts the periods with a purchase after the first, recency "
    "is the last of them (0 if none) and periods the number of periods after the first; "
    "or give initial_params"
)


def _whole(values: FloatArray, name: str) -> None:
    bad = (values < 0) | (values != np.round(values))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise OutOfRangeError(
            f"{name} must be a whole number >= 0, got {float(values[i])!r} at position {i}",
            argument=name,
        )


def check_period_history(
    frequency: Any, recency: Any, periods: Any
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Validate discrete histories ``(x, t_x, n)`` and return them as arrays.

    All whole numbers with :math:`0 \\le x \\le t_x \\le n` (``x`` purchase periods
    end at period ``t_x`` at the latest) and :math:`t_x = 0` exactly when
    :math:`x = 0`. Scalars broadcast against arrays.

    >>> check_period_history(2, 5, 6)[1].tolist()
    [5.0]
    """
    x = as_float_array(frequency, "frequency")
    tx = as_float_array(recency, "recency")
    n = as_float_array(periods, "periods")
    try:
        x, tx, n = np.broadcast_arrays(x, tx, n)
    except ValueError:
        raise InputError(
            f"frequency, recency and periods must have the same length, got {x.size}, "
            f"{tx.size} and {n.size}",
            argument="frequency",
        ) from None
    x, tx, n = (np.ascontiguousarray(a) for a in (x, tx, n))
    if x.size == 0:
        raise NotEnoughDataError("there are no customers to fit or predict", argument="frequency")
    for values, name in ((x, "frequency"), (tx, "recency"), (n, "periods")):
        _whole(values, name)
    if (n > MAX_PERIODS).any():
        i = int(np.flatnonzero(n > MAX_PERIODS)[0])
        raise OutOfRangeError(
            f"periods must be at most {MAX_PERIODS:,} (the likelihood sums over them), got "
            f"{float(n[i])!r} at position {i}: count in longer periods",
            argument="periods",
        )
    checks = (
        (
            tx > n,
            "periods",
            "periods must be >= recency (the last purchase period), got {n} < {tx}",
        ),
        (
            x > tx,
            "frequency",
            "frequency must be <= recency: {x} purchase periods cannot end by period {tx}",
        ),
        (
            (x == 0) & (tx != 0),
            "recency",
            "recency must be 0 for a customer without repeat purchases, got {tx}",
        ),
    )
    for bad, name, message in checks:
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            text = message.format(x=float(x[i]), tx=float(tx[i]), n=float(n[i]))
            raise OutOfRangeError(f"{text} at position {i}", argument=name)
    return x, tx, n


#: Most (row, term) cells of a likelihood block: rows are taken in blocks so that
#: memory stays bounded however many periods the histories span.
_BLOCK_CELLS: Final = 1 << 20
#: Most periods a history may span (the likelihood sums over them).
MAX_PERIODS: Final = 100_000


def _blocks(x: FloatArray, tx: FloatArray, n: FloatArray) -> list[IntArray]:
    """Row indices in blocks of similar ``n - t_x`` (the number of terms) whose
    padded term matrices hold at most :data:`_BLOCK_CELLS` cells each."""
    order = np.argsort(n - tx, kind="stable")
    terms = (n - tx)[order] + 1.0
    out: list[IntArray] = []
    start = 0
    while start < order.size:
        # rows start..stop-1 (sorted by terms): width is the last row's
        widest = terms[start:]
        rows = np.arange(1, widest.size + 1)
        fits = rows * widest <= _BLOCK_CELLS
        stop = start + max(int(np.count_nonzero(fits)), 1)
        out.append(order[start:stop])
        start = stop
    return out


def _loglik(params: FloatArray, x: FloatArray, tx: FloatArray, n: FloatArray) -> FloatArray:
    """Per-row log-likelihood.

    .. math::
        L = \\frac{B(\\alpha+x, \\beta+n-x)}{B(\\alpha,\\beta)}
            \\frac{B(\\gamma, \\delta+n)}{B(\\gamma,\\delta)}
          + \\sum_{i=0}^{n-t_x-1} \\frac{B(\\alpha+x, \\beta+t_x-x+i)}{B(\\alpha,\\beta)}
            \\frac{B(\\gamma+1, \\delta+t_x+i)}{B(\\gamma,\\delta)}

    (Fader, Hardie & Shang 2010: alive through period ``n``, or gone at the start of
    period ``t_x + i + 1``), summed in log space.
    """
    alpha, beta, gamma, delta = params
    out = np.empty(x.size)
    for rows in _blocks(x, tx, n):
        xb, txb, nb = x[rows], tx[rows], n[rows]
        i = np.arange(int(np.max(nb - txb)), dtype=np.float64)
        alive = betaln(alpha + xb, beta + nb - xb) + betaln(gamma, delta + nb)
        gone = betaln(alpha + xb[:, None], beta + (txb - xb)[:, None] + i) + betaln(
            gamma + 1.0, delta + txb[:, None] + i
        )
        gone = np.where(i < (nb - txb)[:, None], gone, -np.inf)
        terms = np.concatenate([alive[:, None], gone], axis=1)
        top = terms.max(axis=1)
        out[rows] = top + np.log(np.exp(terms - top[:, None]).sum(axis=1))
    return np.asarray(out - betaln(alpha, beta) - betaln(gamma, delta), dtype=np.float64)


class _Block(NamedTuple):
    """Integer offsets of the terms of a block of rows (see :func:`_objective`)."""

    xi: IntArray  # x, as a column
    m: IntArray  # beta's offset in B(alpha + x, beta + m)
    e: IntArray  # 0 (alive) or 1 (gone): gamma's offset
    q: IntArray  # delta's offset in B(gamma + e, delta + q)
    used: npt.NDArray[np.bool_]
    w: FloatArray


def _block(x: FloatArray, tx: FloatArray, n: FloatArray, w: FloatArray) -> _Block:
    cols = np.arange(int(np.max(n - tx)) + 1)
    i = (cols - 1).astype(np.float64)
    used = (cols == 0) | (cols <= (n - tx)[:, None])
    m = np.where(cols == 0, (n - x)[:, None], (tx - x)[:, None] + i)
    q = np.where(cols == 0, n[:, None], tx[:, None] + i)
    e = np.broadcast_to(np.where(cols == 0, 0, 1), m.shape)
    return _Block(
        xi=x.astype(np.intp)[:, None],
        m=np.where(used, m, 0).astype(np.intp),
        e=np.ascontiguousarray(e, dtype=np.intp),
        q=np.where(used, q, 0).astype(np.intp),
        used=used,
        w=w,
    )


def _objective(
    x: FloatArray, tx: FloatArray, n: FloatArray, w: FloatArray
) -> Callable[[FloatArray], tuple[float, FloatArray, FloatArray]]:
    """Total log-likelihood of weighted rows, gradient and Hessian in log parameters.

    Each row is a log-sum-exp over terms :math:`T_k = \\ln B(\\alpha+x, \\beta+m_k) +
    \\ln B(\\gamma+e_k, \\delta+q_k)` (``k = 0``: alive, ``m = n-x``, ``e = 0``,
    ``q = n``; ``k = i+1``: gone, ``m = t_x-x+i``, ``e = 1``, ``q = t_x+i``). With the
    softmax weights :math:`s_k`, the row's gradient is :math:`\\sum s_k \\partial T_k`
    and its Hessian :math:`\\sum s_k(\\partial^2 T_k + \\partial T_k\\partial T_k^\\top)
    - g g^\\top`. Every special function is evaluated at a parameter plus a whole
    number, so once per iteration on a table of those numbers, then indexed; rows go in
    blocks of bounded size.
    """
    blocks = [_block(x[r], tx[r], n[r], w[r]) for r in _blocks(x, tx, n)]
    size = int(np.max(n)) + 3
    j = np.arange(size, dtype=np.float64)
    w_total = float(w.sum())

    def tables(values: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        return gammaln(values), digamma(values), polygamma(1, values)

    def objective(logp: FloatArray) -> tuple[float, FloatArray, FloatArray]:
        alpha, beta, gamma, delta = np.exp(logp)
        l_a, d_a, t_a = tables(alpha + j)
        l_b, d_b, t_b = tables(beta + j)
        l_ab, d_ab, t_ab = tables(alpha + beta + j)
        l_g, d_g, t_g = tables(gamma + j)
        l_d, d_d, t_d = tables(delta + j)
        l_gd, d_gd, t_gd = tables(gamma + delta + j)
        ll = 0.0
        g = np.zeros(4)
        h = np.zeros((4, 4))
        for xi, m, e, q, used, wb in blocks:
            xm = xi + m
            eq = e + q
            terms = l_a[xi] + l_b[m] - l_ab[xm] + l_g[e] + l_d[q] - l_gd[eq]
            terms = np.where(used, terms, -np.inf)
            top = terms.max(axis=1)
            expo = np.exp(terms - top[:, None])
            norm = expo.sum(axis=1)
            s = expo / norm[:, None]
            ll += float(dot(wb, top + np.log(norm)))
            # first derivatives of each term (s is 0 where a term is unused)
            grads = np.stack(
                [
                    np.broadcast_to(d_a[xi], m.shape) - d_ab[xm],
                    d_b[m] - d_ab[xm],
                    d_g[e] - d_gd[eq],
                    d_d[q] - d_gd[eq],
                ]
            )
            ws = wb[:, None] * s
            row_g = np.einsum("irk,rk->ir", grads, s)
            g += np.einsum("irk,rk->i", grads, ws)
            h += np.einsum("irk,jrk,rk->ij", grads, grads, ws)
            h -= np.einsum("ir,jr,r->ij", row_g, row_g, wb)
            # second derivatives of the terms: (alpha, beta) and (gamma, delta) blocks
            h[0, 0] += float(np.sum(ws * (t_a[xi] - t_ab[xm])))
            h[0, 1] -= float(np.sum(ws * t_ab[xm]))
            h[1, 1] += float(np.sum(ws * (t_b[m] - t_ab[xm])))
            h[2, 2] += float(np.sum(ws * (t_g[e] - t_gd[eq])))
            h[2, 3] -= float(np.sum(ws * t_gd[eq]))
            h[3, 3] += float(np.sum(ws * (t_d[q] - t_gd[eq])))
        # minus ln B(alpha, beta) and ln B(gamma, delta), once per customer
        ll -= w_total * ((l_a[0] + l_b[0] - l_ab[0]) + (l_g[0] + l_d[0] - l_gd[0]))
        g -= w_total * np.array(
            [d_a[0] - d_ab[0], d_b[0] - d_ab[0], d_g[0] - d_gd[0], d_d[0] - d_gd[0]]
        )
        h[0, 0] -= w_total * (t_a[0] - t_ab[0])
        h[0, 1] += w_total * t_ab[0]
        h[1, 1] -= w_total * (t_b[0] - t_ab[0])
        h[2, 2] -= w_total * (t_g[0] - t_gd[0])
        h[2, 3] += w_total * t_gd[0]
        h[3, 3] -= w_total * (t_d[0] - t_gd[0])
        # the loop's rank-one terms filled both triangles; the blocks only the upper
        h[1, 0] = h[0, 1]
        h[3, 2] = h[2, 3]
        phi = np.array([alpha, beta, gamma, delta])
        g_log = phi * g
        return ll, g_log, h * np.outer(phi, phi) + np.diag(g_log)

    return objective


class BetaGeoBetaBinom(ParametricModel):
    """The BG/BB model, fitted by maximum likelihood.

    Parameters
    ----------
    initial_params
        Starting values ``{"alpha", "beta", "gamma", "delta"}`` (default: all 1).
    max_iter
        Most optimiser iterations.

    Attributes
    ----------
    params_ : pandas.Series
        ``alpha``, ``beta`` (purchase probability), ``gamma``, ``delta`` (dropout
        probability).
    log_likelihood_ : float
        The maximised log-likelihood of all customers.

    Examples
    --------
    The paper's donations data: 11,104 first-time donors of 1995, their repeat
    donations in 1996-2001 as a table of counts.

    >>> x = [0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 5, 5, 6]
    >>> tx = [0, 1, 2, 3, 4, 5, 6, 2, 3, 4, 5, 6, 3, 4, 5, 6, 4, 5, 6, 5, 6, 6]
    >>> count = [3464, 1091, 277, 129, 78, 119, 129, 613, 255, 155, 173, 234, 322,
    ...          181, 225, 357, 240, 284, 512, 335, 728, 1203]
    >>> m = BetaGeoBetaBinom().fit(x, tx, 6, weights=count)
    >>> m.params_.round(3).tolist(), round(m.log_likelihood_, 1)
    ([1.204, 0.75, 0.657, 2.783], -33225.6)
    >>> m.expected_purchases(5, [0, 6], [0, 6], 6).round(3).tolist()  # 2002-2006
    [0.073, 3.753]
    """

    param_names: ClassVar[tuple[str, ...]] = ("alpha", "beta", "gamma", "delta")
    label: ClassVar[str] = "BG/BB"

    def fit(
        self, frequency: Any, recency: Any, periods: Any, *, weights: Any = None
    ) -> BetaGeoBetaBinom:
        """Fit on discrete histories ``(x, t_x, n)``; returns ``self``.

        ``frequency`` is the number of periods with a purchase after the first period,
        ``recency`` the last of those periods (0 if none) and ``periods`` the number of
        periods observed after the first. Identical histories are fitted once, weighted
        by their count; ``weights`` gives counts for already-grouped rows.
        """
        x, tx, n = check_period_history(frequency, recency, periods)
        require_repeaters(x, self.label)
        if weights is None:
            (x, tx, n), w = distinct_rows(x, tx, n)
        else:
            w = _weights(weights, x.size)
            keep = w > 0
            x, tx, n, w = x[keep], tx[keep], n[keep], w[keep]
        full = _objective(x, tx, n, w)
        start = self._start([1.0, 1.0, 1.0, 1.0])
        result = newton_maximize(full, start, max_iter=self.max_iter)
        if result is None:

            def objective(logp: FloatArray) -> tuple[float, FloatArray]:
                ll, grad, _ = full(logp)
                return ll, grad

            result = self._maximize(objective, start, n_weight=float(w.sum()), advice=_ADVICE)
        self._store(result, n_customers=float(w.sum()), n_distinct=x.size)
        return self

    def log_likelihood(self, frequency: Any, recency: Any, periods: Any) -> FloatArray:
        """Per-customer log-likelihood of each history under the fitted parameters."""
        x, tx, n = check_period_history(frequency, recency, periods)
        return _loglik(self._params(), x, tx, n)

    def p_alive(self, frequency: Any, recency: Any, periods: Any) -> FloatArray:
        """Probability that a customer with this history is alive in the next period.

        .. math:: P(\\text{alive in } n+1) = \\frac{B(\\alpha+x, \\beta+n-x)}{B(\\alpha,\\beta)}
                  \\frac{B(\\gamma, \\delta+n+1)}{B(\\gamma,\\delta)} \\Big/ L

        (Fader, Hardie & Shang 2010; :math:`L` the likelihood of the history).
        """
        x, tx, n = check_period_history(frequency, recency, periods)
        params = self._params()
        alpha, beta, gamma, delta = params
        log_p = (
            betaln(alpha + x, beta + n - x)
            - betaln(alpha, beta)
            + betaln(gamma, delta + n + 1.0)
            - betaln(gamma, delta)
            - _loglik(params, x, tx, n)
        )
        return np.asarray(np.minimum(np.exp(log_p), 1.0), dtype=np.float64)

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, periods: Any) -> FloatArray:
        """Expected purchases (periods with a purchase) in the next ``t`` periods.

        .. math:: E[X(n, n+t) \\mid x, t_x, n] = \\frac{1}{L}
                  \\frac{B(\\alpha+x+1, \\beta+n-x)}{B(\\alpha,\\beta)}
                  \\frac{\\delta}{\\gamma-1}\\frac{\\Gamma(\\gamma+\\delta)}{\\Gamma(1+\\delta)}
                  \\Big[\\frac{\\Gamma(1+\\delta+n)}{\\Gamma(\\gamma+\\delta+n)}
                  - \\frac{\\Gamma(1+\\delta+n+t)}{\\Gamma(\\gamma+\\delta+n+t)}\\Big]

        (Fader, Hardie & Shang 2010), the difference taken in log space; at
        :math:`\\gamma = 1` its limit, with digammas. ``t`` is a whole number of periods.
        """
        horizon = as_float_array(t, "t")
        _whole(horizon, "t")
        x, tx, n = check_period_history(frequency, recency, periods)
        params = self._params()
        alpha, beta, gamma, delta = params
        log_front = (
            betaln(alpha + x + 1.0, beta + n - x)
            - betaln(alpha, beta)
            - _loglik(params, x, tx, n)
            + np.log(delta)
            + gammaln(gamma + delta)
            - gammaln(1.0 + delta)
        )
        return np.asarray(np.exp(log_front) * _survival_sum(gamma, delta, n, horizon))

    def expected_purchases_new(self, t: Any) -> FloatArray:
        """Expected purchases in the first ``t`` periods after the first purchase.

        .. math:: E[X(t)] = \\frac{\\alpha}{\\alpha+\\beta}\\frac{\\delta}{\\gamma-1}
                  \\Big[1 - \\frac{\\Gamma(\\gamma+\\delta)}{\\Gamma(\\gamma+\\delta+t)}
                  \\frac{\\Gamma(1+\\delta+t)}{\\Gamma(1+\\delta)}\\Big]

        (Fader, Hardie & Shang 2010): the conditional expectation at
        :math:`x = t_x = n = 0`.
        """
        horizon = as_float_array(t, "t")
        _whole(horizon, "t")
        zero = np.zeros_like(horizon)
        return self.expected_purchases(horizon, zero, zero, zero)


def _survival_sum(gamma: float, delta: float, n: FloatArray, t: FloatArray) -> FloatArray:
    """:math:`[\\Gamma(1+\\delta+n)/\\Gamma(\\gamma+\\delta+n) - \\Gamma(1+\\delta+n+t)/
    \\Gamma(\\gamma+\\delta+n+t)] / (\\gamma - 1)`, finite at :math:`\\gamma = 1`."""
    u_n = gammaln(1.0 + delta + n) - gammaln(gamma + delta + n)
    u_nt = gammaln(1.0 + delta + n + t) - gammaln(gamma + delta + n + t)
    if abs(gamma - 1.0) < 1e-7:
        # d/dgamma of the bracket at gamma = 1: the difference of digammas
        return np.asarray(
            np.exp(u_n) * (digamma(1.0 + delta + n + t) - digamma(1.0 + delta + n)),
            dtype=np.float64,
        )
    return np.asarray(np.exp(u_n) * -np.expm1(u_nt - u_n) / (gamma - 1.0), dtype=np.float64)


class ProRataPeriods:
    """BG/BB's expected purchases for any horizon: whole periods by the model, a
    fraction of a period pro rata (the purchases of a period spread evenly over it).

    >>> m = BetaGeoBetaBinom.from_params(alpha=1.204, beta=0.75, gamma=0.657, delta=2.783)
    >>> curve = ProRataPeriods(m)
    >>> half = curve.expected_purchases(0.5, 3, 5, 6)
    >>> bool(np.isclose(half, m.expected_purchases(1, 3, 5, 6) / 2).all())
    True
    """

    def __init__(self, model: BetaGeoBetaBinom) -> None:
        self.model = model

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, age: Any) -> FloatArray:
        """Expected periods with a purchase in the next ``t`` periods (any ``t >= 0``)."""
        horizon = as_float_array(t, "t")
        whole = np.floor(horizon)
        low = self.model.expected_purchases(whole, frequency, recency, age)
        high = self.model.expected_purchases(whole + 1.0, frequency, recency, age)
        return np.asarray(low + (horizon - whole) * (high - low), dtype=np.float64)
