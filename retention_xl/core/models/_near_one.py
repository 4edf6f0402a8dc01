"""BG/NBD's hypergeometric factor close to :math:`z = 1`, by the connection formula.

The expected purchases of a BG/NBD (or MBG/NBD) customer alive need
:math:`G = (1-z)^{B}\\,{}_2F_1(A, B; C; z)` with :math:`A = c-x-r`, :math:`B = a-1`,
:math:`C = c = a+b+x-1` (+1 for MBG/NBD) and :math:`z = \\tau/(\\alpha+T+\\tau)`.
Towards :math:`z = 1` (a horizon long beside :math:`\\alpha+T`: new customers) the
series of :func:`scipy.special.hyp2f1` needs ever more terms (over a microsecond a
value at :math:`z = 0.98` and small :math:`x`). The connection formula (Abramowitz &
Stegun 15.3.6) turns it into two series in :math:`w = 1-z`, which converge fast there:

.. math:: G = w^{B}\\Big[P_1\\,{}_2F_1(A, B; 1-m; w)
          + P_2\\,w^{m}\\,{}_2F_1(C-A, C-B; 1+m; w)\\Big],\\quad m = C-A-B = x+r-a+1

with :math:`P_1 = \\frac{\\Gamma(C)\\Gamma(m)}{\\Gamma(C-A)\\Gamma(C-B)}`,
:math:`P_2 = \\frac{\\Gamma(C)\\Gamma(-m)}{\\Gamma(A)\\Gamma(B)}`. Both series are
summed here (``hyp2f1`` is unreliable with a negative third parameter). It is used
only where it is safe and faster: :math:`w \\le 0.1`, :math:`0 < C \\le 5` (the
series' terms grow like :math:`k^{C-2} w^k` before they fall; for larger :math:`C`
``hyp2f1`` is fast anyway), :math:`m` at least 0.05 from a whole number (the gamma
factors have poles there), :math:`a` at least 0.05 from 1 (:math:`1 - G` vanishes
with :math:`a - 1`, so its relative error grows like :math:`1/|a-1|`, with
``hyp2f1`` too), and where the two terms do not cancel (their absolute values add up
to at most :data:`_MAX_CANCELLATION` times the result); elsewhere the caller keeps
``hyp2f1``. On 1,000 points drawn over :math:`r` in [0.02, 5], :math:`\\alpha` in
[0.05, 100], :math:`a` in [0.05, 20], :math:`b` in [0.05, 50], :math:`x` up to 7 and
:math:`z \\ge 0.9`, against 40-digit values: :math:`1 - G` within 6e-13 (``hyp2f1``:
1.4e-12), within 2e-14 for fitted parameters of a generated shop.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
from scipy.special import gammaln, gammasgn, hyp2f1

from retention_xl.core.models._base import FloatArray

__all__ = ["NEAR_ONE", "factor_near_one", "hypergeometric_factor"]

#: Used from this z on.
NEAR_ONE: Final = 0.9
#: ... and up to this c (the third parameter): beyond, the series' terms grow for
#: longer, and ``hyp2f1`` is fast anyway.
_MAX_C: Final = 5.0
#: m this close to a whole number, or a this close to 1, is left to hyp2f1.
_MIN_GAP: Final = 0.05
#: The two terms may add up (in absolute value) to this many times the result.
_MAX_CANCELLATION: Final = 8.0
#: Terms of each series at most (w <= 0.1, c <= 5: about 20 are enough).
_MAX_TERMS: Final = 80


def _series(a: FloatArray, b: FloatArray, c: FloatArray, w: FloatArray) -> FloatArray:
    """:math:`\\sum_k \\frac{(a)_k (b)_k}{(c)_k\\,k!} w^k` (c not a non-positive
    whole number), summed until the terms stop counting; NaN where they have not
    after :data:`_MAX_TERMS`."""
    term = np.ones_like(w)
    total = np.ones_like(w)
    for k in range(_MAX_TERMS):
        term *= (a + k) * (b + k) / ((c + k) * (k + 1.0))
        term *= w
        total += term
        if k >= 4 and not (np.abs(term) > 1e-17 * np.abs(total)).any():
            return total
    return np.where(np.abs(term) > 1e-17 * np.abs(total), np.nan, total)


def factor_near_one(
    first: FloatArray,
    a_minus_1: FloatArray,
    c: FloatArray,
    r_plus_x: FloatArray,
    w: FloatArray,
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """:math:`G` at ``w`` = :math:`1-z` (1-D arrays of one length: ``first`` is
    :math:`A = c-x-r`, ``a_minus_1`` :math:`B`, ``c`` :math:`C`, ``r_plus_x``
    :math:`C-A`), and where it holds (elsewhere NaN).

    >>> from scipy.special import hyp2f1
    >>> r, alpha, a, b, x, t, T = 0.243, 4.414, 0.793, 2.426, 2.0, 52.0, 0.5
    >>> c = a + b + x - 1.0
    >>> w = (alpha + T) / (alpha + T + t)
    >>> args = [np.array([v]) for v in (c - x - r, a - 1.0, c, r + x, w)]
    >>> g, ok = factor_near_one(*args)
    >>> direct = (1 - (t / (alpha + T + t))) ** (a - 1) * hyp2f1(c - x - r, a - 1, c, 1 - w)
    >>> bool(ok[0]), bool(abs(g[0] / direct - 1) < 1e-13)
    (True, True)
    """
    m = r_plus_x - a_minus_1
    c_minus_b = c - a_minus_1
    gap = np.abs(m - np.round(m))
    usable = (
        (w <= 1.0 - NEAR_ONE)
        & (c <= _MAX_C)
        & (c > 0.0)
        & (gap >= _MIN_GAP)
        & (np.abs(a_minus_1) >= _MIN_GAP)
    )
    out = np.full(w.shape, np.nan)
    if not usable.any():
        return out, usable
    A, B, C, CA, CB, M, W = (v[usable] for v in (first, a_minus_1, c, r_plus_x, c_minus_b, m, w))
    log_w = np.log(W)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # P1 = G(C) G(m) / (G(C-A) G(C-B)); C, C-A, C-B > 0
        p1 = gammasgn(M) * np.exp(gammaln(C) + gammaln(M) - gammaln(CA) - gammaln(CB) + B * log_w)
        # P2 = G(C) G(-m) / (G(A) G(B)): zero where A or B is a pole of G
        p2 = (
            gammasgn(-M)
            * gammasgn(A)
            * gammasgn(B)
            * np.exp(gammaln(C) + gammaln(-M) - gammaln(A) - gammaln(B) + (B + M) * log_w)
        )
        p2 = np.where(np.isfinite(gammaln(A)) & np.isfinite(gammaln(B)), p2, 0.0)
        first_term = p1 * _series(A, B, 1.0 - M, W)
        second_term = p2 * _series(CA, CB, 1.0 + M, W)
        g = first_term + second_term
        held = np.isfinite(g) & (
            np.abs(first_term) + np.abs(second_term) <= _MAX_CANCELLATION * np.abs(g)
        )
    out[np.flatnonzero(usable)[held]] = g[held]
    usable[np.flatnonzero(usable)[~held]] = False
    return out, usable


def hypergeometric_factor(
    t: FloatArray | float,
    base: FloatArray,
    first: FloatArray | float,
    a_minus_1: FloatArray | float,
    c: FloatArray,
    r_plus_x: FloatArray,
) -> FloatArray:
    """:math:`(1-z)^{a-1}\\,{}_2F_1(c-x-r, a-1; c; z)`, :math:`z = t/(\\alpha+T+t)`
    (``base`` is :math:`\\alpha+T`, ``first`` :math:`c-x-r`), elementwise over the
    broadcast arguments: by ``hyp2f1`` after Euler's transformation, and from
    :data:`NEAR_ONE` on by :func:`factor_near_one` where that holds.

    >>> r, alpha, a, b, x = 0.243, 4.414, 0.793, 2.426, np.array([0.0, 2.0])
    >>> c = a + b + x - 1.0
    >>> g = hypergeometric_factor(np.array([52.0]), alpha + np.array([0.0, 30.0]),
    ...                           a + b - 1.0 - r, a - 1.0, c, r + x)
    >>> z = 52.0 / (alpha + np.array([0.0, 30.0]) + 52.0)
    >>> direct = (1 - z) ** (a - 1) * hyp2f1(a + b - 1.0 - r, a - 1.0, c, z)
    >>> z.round(2).tolist(), bool(np.allclose(g, direct, rtol=1e-13, atol=0))
    ([0.92, 0.6], True)
    """
    z = t / (base + t)
    near = z >= NEAR_ONE
    if near.any():
        shape = near.shape
        w = np.broadcast_to(base, shape)[near]
        w = w / (w + np.broadcast_to(t, shape)[near])
        f, a1, cc, rx = (np.broadcast_to(v, shape)[near] for v in (first, a_minus_1, c, r_plus_x))
        g_near, held = factor_near_one(f, a1, cc, rx, w)
        if held.any():
            done = np.flatnonzero(near)[held]
            g = np.empty(shape)
            g.flat[done] = g_near[held]
            rest = np.ones(shape, dtype=bool)
            rest.flat[done] = False
            zr = z[rest]
            a1 = np.broadcast_to(a_minus_1, shape)[rest]
            f = np.broadcast_to(first, shape)[rest]
            g[rest] = np.exp(a1 * np.log1p(-zr)) * hyp2f1(
                f, a1, np.broadcast_to(c, shape)[rest], zr
            )
            return g
    g = np.log1p(-z)
    g *= a_minus_1
    np.exp(g, out=g)
    g *= hyp2f1(first, a_minus_1, c, z)
    return np.asarray(g, dtype=np.float64)
