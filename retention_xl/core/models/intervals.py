"""Intervals on the predictions, from the uncertainty of the fitted parameters.

**How: draws, not the delta method.** ``n_draws`` sets of parameters (:data:`N_DRAWS`,
500, by default) are drawn from the sampling distribution of the maximum-likelihood
estimates: a multivariate normal on the *log* parameters, centred on the estimates,
with the covariance of the fit (``log_covariance`` of the model, the inverse observed
information), seeded so the same call gives the same bounds.
Every prediction is computed under every draw, and

* a customer's interval at ``level`` runs from the :math:`(1-\\text{level})/2` to the
  :math:`(1+\\text{level})/2` quantile of their ``n_draws`` values;
* an interval of a **total** over the customer base is taken over the ``n_draws``
  totals (the total of each draw), never by adding up customers' bounds (that sum
  would treat every customer's error as the worst at once).

The purchase model and Gamma-Gamma are fitted separately and drawn independently
(the spend model from the stream ``[seed, 1]``, the purchase model from ``[seed,
0]``). Draws rather than the delta method because the predictions are not linear in
the parameters where it matters: a probability alive near 1 (the bounds stay below
1), CLV (a product of two models) skewed to the right. With 500 draws the Monte Carlo
error of a 90 % bound is about a tenth of the prediction's standard error.

These intervals bound the *expected* values, the model's predictions, and their
uncertainty comes from the parameters only. What one customer will actually buy
scatters far more: :func:`purchases_prediction_interval` gives that **prediction interval** of the
count of purchases in :math:`(T, T+t]` for every purchase model, from the conditional
distribution (:func:`purchase_count_probability`: in closed form for BG/NBD and
MBG/NBD, by quadrature for Pareto/NBD, as an exact finite sum for BG/BB), and the
totals carry one for the total count.

**Speed.** Customers who share a history ``(x, t_x, T)`` (and, for CLV, a mean
spend) are computed once; the expensive hypergeometric term of BG/NBD depends on
``(x, T)`` only, so it is computed once per draw and distinct ``(x, T)``, and where
frequencies have many distinct ages it is interpolated from Chebyshev nodes, along
the ages of one frequency or on a grid of frequencies x ages (to about 1e-13, see
:mod:`~retention_xl.core.models._alive_table`); close to :math:`z = 1` (new customers,
long horizons) it is summed by the connection formula where that is safe
(:mod:`~retention_xl.core.models._near_one`). Rows are taken in chunks of about a
million (row, draw) cells, so memory stays bounded whatever the number of customers.
``benchmarks/intervals.py`` times it against the point predictions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import optimize, sparse
from scipy.special import betainc, betaln, gammaln, hyp2f1, ndtr, ndtri

from retention_xl.core.models import pareto_nbd as _pareto
from retention_xl.core.models._alive_table import AliveTable, Combination
from retention_xl.core.models._base import (
    FloatArray,
    ParametricModel,
    as_float_array,
    check_history,
    dot,
)
from retention_xl.core.models._near_one import hypergeometric_factor
from retention_xl.core.models.bgbb import BetaGeoBetaBinom, check_period_history
from retention_xl.core.models.bgnbd import BetaGeo
from retention_xl.core.models.gamma_gamma import GammaGamma, _check_spend
from retention_xl.core.models.mbgnbd import ModifiedBetaGeo
from retention_xl.core.models.pareto_nbd import ParetoNBD
from retention_xl.errors import InputError, OutOfRangeError

__all__ = [
    "DEFAULT_LEVEL",
    "N_DRAWS",
    "IntervalPredictions",
    "check_level",
    "parameter_draws",
    "parameter_intervals",
    "predict_intervals",
    "predict_totals",
    "purchase_count_probability",
    "purchases_prediction_interval",
]

#: Parameter draws behind every interval.
N_DRAWS: Final = 500
#: The level of the intervals when none is given: 90 %.
DEFAULT_LEVEL: Final = 0.90
#: (row, draw) cells computed at a time: about 8 MB per array.
_CHUNK_CELLS: Final = 1 << 20
#: The conditional count distribution is summed until this much mass is left.
_TAIL: Final = 1e-10
#: ... or up to this many purchases.
_MAX_COUNT: Final = 100_000

IntArray = npt.NDArray[np.intp]
PurchaseModel = BetaGeo | ModifiedBetaGeo | ParetoNBD | BetaGeoBetaBinom


def check_level(level: object) -> float:
    """``level`` as a float strictly between 0 and 1, or a clear error.

    >>> check_level(0.9)
    0.9
    >>> check_level(90)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    retention_xl.errors.OutOfRangeError: level must be between 0 and 1 (0.9 for 90 %...), got 90
    """
    if isinstance(level, bool) or not isinstance(level, (int, float, np.integer, np.floating)):
        raise InputError(
            f"level must be a number between 0 and 1 (0.9 for 90 % intervals), got {level!r}",
            argument="level",
        )
    value = float(level)
    if not 0.0 < value < 1.0:
        raise OutOfRangeError(
            f"level must be between 0 and 1 (0.9 for 90 % intervals), got {level!r}",
            argument="level",
        )
    return value


def _count(value: object, name: str, *, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputError(f"{name} must be a whole number, got {value!r}", argument=name)
    if value < low:
        raise OutOfRangeError(f"{name} must be >= {low}, got {value!r}", argument=name)
    return int(value)


def _fitted_log_covariance(model: ParametricModel) -> tuple[FloatArray, FloatArray]:
    """The log parameters and their covariance; an error when the model has none."""
    params = model._params()
    cov = model.log_covariance.to_numpy()
    if not np.isfinite(cov).all():
        raise InputError(
            f"{model.label} has no covariance of its estimates (made with from_params, or "
            f"the information matrix could not be inverted): intervals need a model "
            f"fitted with fit(...)",
            argument="model",
        )
    return np.log(params), cov


def _draws(model: ParametricModel, n_draws: int, rng: np.random.Generator) -> FloatArray:
    """``n_draws`` x k parameters: exp of a normal draw of the log parameters."""
    mean, cov = _fitted_log_covariance(model)
    try:
        factor = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:  # positive semi-definite at best: by eigenvalues
        values, vectors = np.linalg.eigh(cov)
        factor = vectors * np.sqrt(np.clip(values, 0.0, None))
    z = rng.standard_normal((n_draws, mean.size))
    return np.asarray(np.exp(mean + z @ factor.T), dtype=np.float64)


def parameter_draws(
    model: ParametricModel, n_draws: int = N_DRAWS, *, seed: int = 0, stream: int = 0
) -> pd.DataFrame:
    """Parameters drawn from the sampling distribution of a fitted model's estimates.

    Multivariate normal on the log parameters (mean: the estimates, covariance:
    :attr:`~retention_xl.core.models._base.ParametricModel.log_covariance`), then
    exponentiated, so every draw is positive. ``seed`` and ``stream`` choose the
    random numbers (:func:`predict_intervals` uses stream 0 for the purchase model, 1
    for the spend model).

    Examples
    --------
    >>> from retention_xl.core.models import BetaGeo, purchase_history
    >>> from retention_xl.datasets import load_sample
    >>> h = purchase_history(load_sample().orders)
    >>> bg = BetaGeo().fit(h["frequency"], h["recency"], h["age"])
    >>> d = parameter_draws(bg, 1000, seed=1)
    >>> list(d.columns), len(d)
    (['r', 'alpha', 'a', 'b'], 1000)
    >>> bool(abs(np.log(d["r"]).std() / np.sqrt(bg.log_covariance.loc["r", "r"]) - 1) < 0.1)
    True
    """
    n = _count(n_draws, "n_draws", low=1)
    rng = np.random.default_rng([_count(seed, "seed", low=0), _count(stream, "stream", low=0)])
    return pd.DataFrame(_draws(model, n, rng), columns=list(model.param_names))


def parameter_intervals(model: ParametricModel, level: float = DEFAULT_LEVEL) -> pd.DataFrame:
    """Each parameter with its interval at ``level``: ``value``, ``low``, ``high``.

    :math:`\\exp(\\log\\hat\\theta \\pm z\\,se(\\log\\hat\\theta))` with :math:`z` the
    :math:`(1+\\text{level})/2` normal quantile: the quantiles of the draws'
    marginals, in closed form (at 0.95 the ``lower_95``/``upper_95`` of ``summary``).
    """
    lvl = check_level(level)
    mean, cov = _fitted_log_covariance(model)
    z = float(ndtri(0.5 + lvl / 2.0))  # the standard normal quantile (norm.ppf)
    se = np.sqrt(np.diag(cov))
    return pd.DataFrame(
        {"value": np.exp(mean), "low": np.exp(mean - z * se), "high": np.exp(mean + z * se)},
        index=pd.Index(list(model.param_names), name="parameter"),
    )


# --------------------------------------------------------------------------- kernels


class _Kernel(Protocol):
    """A purchase model's predictions under many parameter draws at once.

    Every model here factors the expected purchases of a history as
    :math:`E[Y(\\tau) \\mid x, t_x, T] = P(\\text{alive} \\mid x, t_x, T)\\,
    A(\\tau \\mid x, T)`, with :math:`A` the expected purchases of a customer known to
    be alive (it depends on ``(x, T)`` only): the engine computes :math:`A` once per
    distinct ``(x, T)`` (a *group*).
    """

    def p_alive(
        self, theta: FloatArray, gx: FloatArray, gt: FloatArray, group: IntArray, tx: FloatArray
    ) -> FloatArray:
        """(rows, draws) probabilities alive of rows ``(gx[group], tx, gt[group])``;
        ``theta`` is (draws, k)."""
        ...

    def alive_purchases(
        self, theta: FloatArray, gx: FloatArray, gt: FloatArray, tau: float
    ) -> FloatArray:
        """(groups, draws) expected purchases in the next ``tau`` of a customer alive."""
        ...

    def alive_many(
        self, theta: FloatArray, gx: FloatArray, gt: FloatArray, taus: Sequence[float]
    ) -> dict[float, FloatArray]:
        """:meth:`alive_purchases` for several horizons at once."""
        ...


def _columns(theta: FloatArray) -> list[FloatArray]:
    """The parameters of (draws, k) ``theta`` as k (1, draws) rows, to broadcast."""
    return [theta[:, j][None, :] for j in range(theta.shape[1])]


class _BetaGeoKernel:
    """BG/NBD (``shift`` 0) and MBG/NBD (``shift`` 1), vectorised over draws.

    Given alive at *T*, the posterior is :math:`\\lambda \\sim \\text{Gamma}(r+x,
    \\alpha+T)`, :math:`p \\sim \\text{Beta}(a, b+x+\\text{shift})`, so
    :math:`A(\\tau) = \\frac{c}{a-1}\\big[1 - (1-z)^{a-1}\\,{}_2F_1(c-x-r, a-1; c; z)\\big]`
    with :math:`c = a+b+x-1+\\text{shift}`, :math:`z = \\tau/(\\alpha+T+\\tau)` (eq. 10 of
    Fader, Hardie & Lee 2005 without its P(alive), after Euler's transformation).

    What the horizons share (:math:`c`, :math:`\\alpha+T`) is computed once; the
    factor :math:`(1-z)^{a-1}\\,{}_2F_1` as the models take it
    (:func:`~retention_xl.core.models._near_one.hypergeometric_factor`).
    """

    def __init__(self, *, modified: bool) -> None:
        self.modified = modified
        self.shift = 1.0 if modified else 0.0

    def p_alive(
        self, theta: FloatArray, gx: FloatArray, gt: FloatArray, group: IntArray, tx: FloatArray
    ) -> FloatArray:
        r, alpha, a, b = _columns(theta)
        xc = gx[:, None]
        # Per group: the log of the dropout odds' factor, r + x and ln(alpha + T); per
        # distinct recency ln(alpha + t_x); per row only gathers and four operations.
        den = b + xc if self.modified else b + np.maximum(xc, 1.0) - 1.0
        log_k = np.log(a / den)
        rx = r + xc
        log_t = np.log(alpha + gt[:, None])
        recencies, which = np.unique(tx, return_inverse=True)
        log_tx = np.log(alpha + recencies[:, None])
        # ln odds = ln k + (r + x) ln(alpha + T) - (r + x) ln(alpha + t_x)
        out = np.take(log_tx, which.reshape(-1), axis=0)
        out *= np.take(rx, group, axis=0)
        np.subtract(np.take(log_k + rx * log_t, group, axis=0), out, out=out)
        np.exp(out, out=out)
        out += 1.0
        np.reciprocal(out, out=out)
        if not self.modified:
            out[gx[group] == 0, :] = 1.0
        return out

    def offsets(self, theta: FloatArray) -> tuple[float, float]:
        """Where :class:`~retention_xl.core.models._alive_table.AliveTable` may
        interpolate: half the smallest drawn alpha (ages) and the smallest
        :math:`c - x` (frequencies)."""
        c_minus_x = theta[:, 2] + theta[:, 3] - 1.0 + self.shift
        return 0.5 * float(theta[:, 1].min()), float(c_minus_x.min())

    def alive_many(
        self, theta: FloatArray, gx: FloatArray, gt: FloatArray, taus: Sequence[float]
    ) -> dict[float, FloatArray]:
        r, alpha, a, b = _columns(theta)
        xc = gx[:, None]
        # What the horizons share, once, all (groups, draws): c, the first parameter
        # of the Euler form, c / (a - 1) and alpha + T.
        c = a + b + xc - 1.0 + self.shift
        first = c - xc - r
        scale = c / (a - 1.0)
        base = alpha + gt[:, None]
        out = {}
        for tau in dict.fromkeys(taus):
            if tau <= 0:
                out[tau] = np.zeros((gx.size, theta.shape[0]))
                continue
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                g = hypergeometric_factor(tau, base, first, a - 1.0, c, r + xc)
                bad = ~np.isfinite(g)
                if bad.any():
                    # A draw far out (a and b in the thousands, when the data hardly
                    # tell them): the Euler form is 0 x inf there; the original one
                    # is finite.
                    shape = g.shape
                    z = tau / (base + tau)
                    cb, zb, rb = (np.broadcast_to(v, shape)[bad] for v in (c, z, r + xc))
                    bb = np.broadcast_to(b + xc + self.shift, shape)[bad]
                    g[bad] = np.exp(rb * np.log1p(-zb)) * hyp2f1(rb, bb, cb, zb)
                np.subtract(1.0, g, out=g)
                g *= scale
            out[tau] = g
        return out

    def alive_purchases(
        self, theta: FloatArray, gx: FloatArray, gt: FloatArray, tau: float
    ) -> FloatArray:
        return self.alive_many(theta, gx, gt, [tau])[tau]


class _ParetoKernel:
    """Pareto/NBD: :math:`A(\\tau) = \\frac{(r+x)(\\beta+T)}{(\\alpha+T)(s-1)}
    \\big[1 - \\big(\\frac{\\beta+T}{\\beta+T+\\tau}\\big)^{s-1}\\big]` (note 009, eq.
    24 without its P(alive)), vectorised; P(alive) draw by draw (its hypergeometric
    terms depend on whether alpha >= beta)."""

    def p_alive(
        self, theta: FloatArray, gx: FloatArray, gt: FloatArray, group: IntArray, tx: FloatArray
    ) -> FloatArray:
        x, t = gx[group], gt[group]
        out = np.empty((x.size, theta.shape[0]))
        for d in range(theta.shape[0]):
            out[:, d] = _pareto._p_alive(theta[d], x, tx, t)
        return out

    def alive_many(
        self, theta: FloatArray, gx: FloatArray, gt: FloatArray, taus: Sequence[float]
    ) -> dict[float, FloatArray]:
        return {tau: self.alive_purchases(theta, gx, gt, tau) for tau in dict.fromkeys(taus)}

    def alive_purchases(
        self, theta: FloatArray, gx: FloatArray, gt: FloatArray, tau: float
    ) -> FloatArray:
        r, alpha, s, beta = _columns(theta)
        xc, tc = gx[:, None], gt[:, None]
        lg = np.log1p(tau / (beta + tc))
        near_one = np.abs(s - 1.0) < 1e-12
        with np.errstate(divide="ignore", invalid="ignore"):
            growth = np.where(near_one, lg, -np.expm1(-(s - 1.0) * lg) / (s - 1.0))
        return np.asarray((r + xc) * (beta + tc) / (alpha + tc) * growth, dtype=np.float64)


class _BetaGeoBetaBinomKernel:
    """BG/BB draw by draw: :math:`A` as the model's expected purchases (whole periods,
    a fraction pro rata) over its P(alive), at a history with a purchase in the last
    period (the ratio does not depend on the recency)."""

    def _model(self, row: FloatArray) -> BetaGeoBetaBinom:
        names = BetaGeoBetaBinom.param_names
        return BetaGeoBetaBinom.from_params(
            **{n: float(v) for n, v in zip(names, row, strict=True)}
        )

    def p_alive(
        self, theta: FloatArray, gx: FloatArray, gt: FloatArray, group: IntArray, tx: FloatArray
    ) -> FloatArray:
        x, t = gx[group], gt[group]
        out = np.empty((x.size, theta.shape[0]))
        for d in range(theta.shape[0]):
            out[:, d] = self._model(theta[d]).p_alive(x, tx, t)
        return out

    def alive_purchases(
        self, theta: FloatArray, gx: FloatArray, gt: FloatArray, tau: float
    ) -> FloatArray:
        return self.alive_many(theta, gx, gt, [tau])[tau]

    def alive_many(
        self, theta: FloatArray, gx: FloatArray, gt: FloatArray, taus: Sequence[float]
    ) -> dict[float, FloatArray]:
        # Whole periods by the model, a fraction pro rata (as ProRataPeriods): each
        # whole horizon once per draw.
        wanted = list(dict.fromkeys(taus))
        whole = sorted({w for tau in wanted for w in (math.floor(tau), math.floor(tau) + 1)})
        out = {tau: np.empty((gx.size, theta.shape[0])) for tau in wanted}
        rep = np.where(gx > 0, gt, 0.0)
        for d in range(theta.shape[0]):
            model = self._model(theta[d])
            alive = model.p_alive(gx, rep, gt)
            at = {w: model.expected_purchases(float(w), gx, rep, gt) / alive for w in whole}
            for tau in wanted:
                w = math.floor(tau)
                out[tau][:, d] = at[w] + (tau - w) * (at[w + 1] - at[w])
        return out


def _offsets(kernel: _Kernel, theta: FloatArray) -> tuple[float, float] | None:
    """Interpolation for BG/NBD and MBG/NBD (the others have no costly term)."""
    return kernel.offsets(theta) if isinstance(kernel, _BetaGeoKernel) else None


def _kernel(model: object) -> _Kernel:
    if isinstance(model, BetaGeo):
        return _BetaGeoKernel(modified=False)
    if isinstance(model, ModifiedBetaGeo):
        return _BetaGeoKernel(modified=True)
    if isinstance(model, ParetoNBD):
        return _ParetoKernel()
    if isinstance(model, BetaGeoBetaBinom):
        return _BetaGeoBetaBinomKernel()
    raise InputError(
        "transactions must be a fitted BetaGeo, ModifiedBetaGeo, ParetoNBD or "
        f"BetaGeoBetaBinom, got {type(model).__name__}",
        argument="transactions",
    )


# ------------------------------------------------------------- the count distribution
#
# Every purchase model gives the count of one customer's purchases in the next t, given
# that they are alive now, as a mixture: of negative binomials over the time they stay
# alive (BG/NBD, Pareto/NBD) or of beta-binomials over the periods they stay (BG/BB).
# A "steps" object holds that distribution for a set of groups (distinct (x, T)) and
# gives its probabilities for y = 0, 1, 2, ... in turn, each from the one before.

#: Gauss-Legendre nodes of the Pareto/NBD lifetime integral (in ln(beta + T + u)).
_PARETO_NODES: Final = 64


class _CountSteps(Protocol):
    """P(Y = y | alive) of each group still kept, for y = 0, 1, 2, ... in turn."""

    def pmf(self, y: int) -> FloatArray: ...

    def keep(self, mask: npt.NDArray[np.bool_]) -> None: ...


class _BetaGeoSteps:
    """BG/NBD and MBG/NBD: Fader, Hardie & Lee (2005), eq. 8, with the parameters
    updated by the history (:math:`r' = r + x`, :math:`\\alpha' = \\alpha + T`,
    :math:`b' = b + x` (+1 for MBG/NBD)); ln NB(y) and ln B(a, b'+y)/B(a, b') by their
    ratios, P(N >= y) by subtracting NB(y-1)."""

    def __init__(self, params: FloatArray, shift: float, t: float, gx: FloatArray, gt: FloatArray):
        r, alpha, a, b = (float(v) for v in params)
        self.a = a
        self.r1 = r + gx
        self.alpha1 = alpha + gt
        self.b1 = b + gx + shift
        self.log_rest = math.log(t) - np.log(self.alpha1 + t)
        self.log_nb = self.r1 * (np.log(self.alpha1) - np.log(self.alpha1 + t))
        self.log_beta = np.zeros(gx.size)
        self.survival = np.ones(gx.size)  # P(N >= y)

    def pmf(self, y: int) -> FloatArray:
        if y == 0:
            out = np.exp(self.log_nb)
        else:
            previous_beta = self.log_beta
            self.log_nb = self.log_nb + np.log(self.r1 + (y - 1)) - math.log(y) + self.log_rest
            self.log_beta = (
                previous_beta + np.log(self.b1 + (y - 1)) - np.log(self.a + self.b1 + (y - 1))
            )
            dropout = np.exp(previous_beta) * (self.a / (self.a + self.b1 + (y - 1)))
            out = np.exp(self.log_beta + self.log_nb) + dropout * np.maximum(self.survival, 0.0)
        self.survival = self.survival - np.exp(self.log_nb)
        return np.asarray(out, dtype=np.float64)

    def keep(self, mask: npt.NDArray[np.bool_]) -> None:
        for name in ("r1", "alpha1", "b1", "log_rest", "log_nb", "log_beta", "survival"):
            setattr(self, name, getattr(self, name)[mask])


class _ParetoSteps:
    """Pareto/NBD: alive now, the customer stays a further :math:`\\tau`, with
    :math:`P(\\tau > u) = (\\beta'/(\\beta'+u))^s` (the posterior of the dropout rate,
    :math:`\\beta' = \\beta + T`), and buys a negative binomial
    :math:`\\text{NB}(r+x, \\frac{\\alpha+T}{\\alpha+T+u})` in the time
    :math:`u = \\min(\\tau, t)` they are there:

    .. math:: P(Y = y) = \\Big(\\frac{\\beta'}{\\beta'+t}\\Big)^s \\text{NB}_t(y)
              + \\int_0^t \\text{NB}_u(y)\\,\\frac{s\\,\\beta'^s}{(\\beta'+u)^{s+1}}\\,du

    The integral by Gauss-Legendre in :math:`\\ln(\\beta'+u)`, where the integrand is
    smooth, with the weights scaled to the exact mass :math:`1 - (\\beta'/(\\beta'+t))^s`:
    a mixture of negative binomials that sums to 1."""

    def __init__(self, params: FloatArray, t: float, gx: FloatArray, gt: FloatArray):
        r, alpha, s, beta = (float(v) for v in params)
        nodes, weights = np.polynomial.legendre.leggauss(_PARETO_NODES)
        b1 = (beta + gt)[:, None]
        span = np.log1p(t / b1)  # ln(b1 + t) - ln(b1)
        u = b1 * np.expm1((nodes[None, :] + 1.0) / 2.0 * span)
        w = weights[None, :] * (span / 2.0) * s * np.exp(-s * np.log1p(u / b1))
        stay = np.exp(-s * span)  # (b1 / (b1 + t))^s
        w *= (1.0 - stay) / w.sum(axis=1, keepdims=True)
        self.u = np.concatenate([u, np.full_like(b1, t)], axis=1)
        self.w = np.concatenate([w, stay], axis=1)
        self.r1 = (r + gx)[:, None]
        alpha1 = (alpha + gt)[:, None]
        self.log_rest = np.log(self.u) - np.log(alpha1 + self.u)
        self.log_nb = self.r1 * (np.log(alpha1) - np.log(alpha1 + self.u))

    def pmf(self, y: int) -> FloatArray:
        if y > 0:
            self.log_nb = self.log_nb + (np.log(self.r1 + (y - 1)) - math.log(y) + self.log_rest)
        return np.asarray((self.w * np.exp(self.log_nb)).sum(axis=1), dtype=np.float64)

    def keep(self, mask: npt.NDArray[np.bool_]) -> None:
        for name in ("u", "w", "r1", "log_rest", "log_nb"):
            setattr(self, name, getattr(self, name)[mask])


class _BetaGeoBetaBinomSteps:
    """BG/BB: alive in period :math:`n+1`, the customer stays :math:`K` of the next
    :math:`t` periods, with the dropout probability's posterior
    :math:`\\theta \\sim \\text{Beta}(\\gamma, \\delta+n+1)`:
    :math:`P(K = k) = B(\\gamma+1, \\delta+n+k)/B(\\gamma, \\delta+n+1)` for
    :math:`k < t` and :math:`B(\\gamma, \\delta+n+t)/B(\\gamma, \\delta+n+1)` for
    :math:`k = t`; in each of those periods they buy with a probability whose posterior
    is :math:`\\text{Beta}(\\alpha+x, \\beta+n-x)`, so the count is the mixture

    .. math:: P(Y = y) = \\sum_k P(K = k)\\,\\text{BetaBin}(y; k, \\alpha+x, \\beta+n-x)

    A fraction of a period mixes the whole periods around it, weighted as the expected
    purchases are pro rata (so the mean is theirs)."""

    def __init__(self, params: FloatArray, t: float, gx: FloatArray, gt: FloatArray):
        alpha, beta, gamma, delta = (float(v) for v in params)
        whole = math.floor(t)
        frac = t - whole
        d1 = delta + gt + 1.0
        k = np.arange(whole + 2, dtype=np.float64)
        w = np.zeros((gx.size, k.size))
        for n_periods, share in ((whole, 1.0 - frac), (whole + 1, frac)):
            if share == 0.0:
                continue
            if n_periods == 0:
                w[:, 0] += share
                continue
            ks = k[1 : n_periods + 1][None, :]
            log_w = betaln(gamma + 1.0, d1[:, None] + ks - 1.0) - betaln(gamma, d1)[:, None]
            log_w[:, -1] = betaln(gamma, d1 + n_periods - 1.0) - betaln(gamma, d1)
            w[:, 1 : n_periods + 1] += share * np.exp(log_w)
        self.w = w
        self.k = np.broadcast_to(k, w.shape).copy()
        self.a1 = (alpha + gx)[:, None]
        self.b1 = (beta + gt - gx)[:, None]
        self.log_bb = betaln(self.a1, self.b1 + self.k) - betaln(self.a1, self.b1)

    def pmf(self, y: int) -> FloatArray:
        if y > 0:
            with np.errstate(divide="ignore", invalid="ignore"):
                step = (
                    np.log(np.maximum(self.k - (y - 1), 0.0))
                    - math.log(y)
                    + np.log(self.a1 + (y - 1))
                    - np.log(np.maximum(self.b1 + self.k - y, 1e-300))
                )
            self.log_bb = np.where(self.k >= y, self.log_bb + step, -np.inf)
        return np.asarray((self.w * np.exp(self.log_bb)).sum(axis=1), dtype=np.float64)

    def keep(self, mask: npt.NDArray[np.bool_]) -> None:
        for name in ("w", "k", "a1", "b1", "log_bb"):
            setattr(self, name, getattr(self, name)[mask])


def _count_steps(model: object, t: float, gx: FloatArray, gt: FloatArray) -> _CountSteps:
    """The count distribution given alive of groups ``(gx, gt)`` under a fitted model."""
    if isinstance(model, (BetaGeo, ModifiedBetaGeo)):
        shift = 1.0 if isinstance(model, ModifiedBetaGeo) else 0.0
        return _BetaGeoSteps(model._params(), shift, t, gx, gt)
    if isinstance(model, ParetoNBD):
        return _ParetoSteps(model._params(), t, gx, gt)
    if isinstance(model, BetaGeoBetaBinom):
        return _BetaGeoBetaBinomSteps(model._params(), t, gx, gt)
    raise InputError(
        "the distribution of the number of purchases is available for BG/NBD, MBG/NBD, "
        f"Pareto/NBD and BG/BB models, got {type(model).__name__}",
        argument="model",
    )


def _alive_count_pmf(
    y: float, r1: FloatArray, alpha1: FloatArray, a: float, b1: FloatArray, t: float
) -> FloatArray:
    """P(Y(t) = y) of a BG/NBD customer alive now, with posterior parameters
    ``(r1, alpha1, a, b1)``, directly (no recursion: exact far in the tail).

    Fader, Hardie & Lee (2005), eq. 8, the distribution of a new customer's count,
    with the parameters updated by the history:

    .. math:: P(Y = y) = \\frac{B(a, b'+y)}{B(a, b')}\\,\\text{NB}(y; r', \\pi)
              + \\delta_{y>0}\\frac{B(a+1, b'+y-1)}{B(a, b')}\\,P(N \\ge y)

    with :math:`N \\sim \\text{NB}(r', \\pi)`, :math:`\\pi = \\alpha'/(\\alpha'+t)`.
    """
    log_pi = np.log(alpha1) - np.log(alpha1 + t)
    log_rest = np.log(t) - np.log(alpha1 + t)
    log_nb = gammaln(r1 + y) - gammaln(r1) - gammaln(y + 1.0) + r1 * log_pi + y * log_rest
    log_b = betaln(a, b1)
    out = np.exp(betaln(a, b1 + y) - log_b + log_nb)
    if y >= 1:
        out = out + np.exp(betaln(a + 1.0, b1 + y - 1.0) - log_b) * betainc(y, r1, t / (alpha1 + t))
    return np.asarray(out, dtype=np.float64)


@dataclass(frozen=True)
class _CountSummary:
    """Per row: the prediction interval; per group: the first two moments given alive."""

    low: FloatArray
    high: FloatArray
    mean_alive: FloatArray
    square_alive: FloatArray


def _count_summary(
    model: object,
    t: float,
    group_x: FloatArray,
    group_t: FloatArray,
    p_alive: FloatArray,
    group_of_row: IntArray,
    level: float,
) -> _CountSummary:
    """Sum the conditional distribution upwards from 0 until every row's upper bound
    is found and every group's remaining mass is below :data:`_TAIL`.

    A row's count is 0 with probability :math:`1 - P(\\text{alive})` and otherwise
    follows its group's distribution given alive, so its CDF is
    :math:`1 - P + P\\,F_{\\text{alive}}(y)`. The bounds are the smallest counts whose CDF
    reaches :math:`(1-\\text{level})/2` and :math:`(1+\\text{level})/2`, so the
    interval holds the count with probability at least ``level``.
    """
    n_rows = p_alive.size
    low = np.full(n_rows, np.nan)
    high = np.full(n_rows, np.nan)
    n_groups = group_x.size
    mean = np.zeros(n_groups)
    square = np.zeros(n_groups)
    if t <= 0:
        return _CountSummary(np.zeros(n_rows), np.zeros(n_rows), mean, square)
    steps = _count_steps(model, t, group_x, group_t)
    cdf = np.zeros(n_groups)
    q_low, q_high = 0.5 - level / 2.0, 0.5 + level / 2.0
    groups = np.arange(n_groups)
    rows = np.arange(n_rows)
    y = 0
    while (groups.size or rows.size) and y <= _MAX_COUNT:
        if groups.size:
            pmf = steps.pmf(y)
            cdf[groups] += pmf
            mean[groups] += y * pmf
            square[groups] += float(y) * y * pmf
        if rows.size:
            p = p_alive[rows]
            row_cdf = 1.0 - p + p * cdf[group_of_row[rows]]
            found = np.isnan(low[rows]) & (row_cdf >= q_low)
            low[rows[found]] = y
            done = row_cdf >= q_high
            high[rows[done]] = y
            rows = rows[~done]
        if groups.size:
            keep = 1.0 - cdf[groups] > _TAIL
            if not keep.all():
                groups = groups[keep]
                steps.keep(keep)
        y += 1
    high[rows] = np.inf  # only past _MAX_COUNT purchases
    low[np.isnan(low)] = np.inf
    return _CountSummary(low, high, mean, square)


def _purchase_model(model: object) -> PurchaseModel:
    if isinstance(model, (BetaGeo, ModifiedBetaGeo, ParetoNBD, BetaGeoBetaBinom)):
        return model
    raise InputError(
        "the distribution of the number of purchases is available for BG/NBD, MBG/NBD, "
        f"Pareto/NBD and BG/BB models, got {type(model).__name__}",
        argument="model",
    )


def purchase_count_probability(
    model: PurchaseModel, n: Any, t: float, frequency: Any, recency: Any, age: Any
) -> FloatArray:
    """P(exactly ``n`` repeat purchases in the next ``t`` time units | the history).

    A customer is gone with probability :math:`1 - P(\\text{alive})` and then buys
    nothing; alive, they buy as a customer whose parameters are the posterior ones
    given their history. In closed form for BG/NBD (and MBG/NBD): the purchase rate
    and dropout probability follow :math:`\\text{Gamma}(r+x, \\alpha+T)` and
    :math:`\\text{Beta}(a, b+x)` (MBG/NBD: :math:`b+x+1`), and the count in the next
    ``t`` has the distribution of a new customer's (Fader, Hardie & Lee 2005, eq. 8)
    under those parameters:

    .. math:: P(Y(t)=n \\mid x, t_x, T) = \\delta_{n=0}\\,(1 - P_a)
              + P_a\\Big[\\frac{B(a, b'+n)}{B(a, b')}\\,\\text{NB}(n; r+x,
              \\tfrac{\\alpha+T}{\\alpha+T+t})
              + \\delta_{n>0}\\frac{B(a+1, b'+n-1)}{B(a, b')}\\,P(N \\ge n)\\Big]

    Pareto/NBD: the negative binomial of the time left alive, integrated over the
    lifetime's posterior by quadrature (to about 1e-12); BG/BB (``t`` and the
    history in periods): the beta-binomial of the periods left alive, summed exactly.
    Summed over ``n`` it gives 1 and its mean is the model's ``expected_purchases``.

    Examples
    --------
    >>> from retention_xl.core.models import BetaGeo
    >>> bg = BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    >>> p = purchase_count_probability(bg, np.arange(200), 39, 2, 30.43, 38.86)
    >>> p[:3].round(4).tolist()
    [0.4454, 0.2393, 0.1442]
    >>> round(float(p.sum()), 12), round(float((np.arange(200) * p).sum()), 6)
    (1.0, 1.226028)
    >>> round(float(bg.expected_purchases(39, 2, 30.43, 38.86)[0]), 6)
    1.226028
    """
    fitted = _purchase_model(model)
    counts = as_float_array(n, "n")
    if ((counts < 0) | (counts != np.round(counts))).any():
        raise OutOfRangeError("n must be whole numbers >= 0", argument="n")
    horizon = _number(t, "t", low=0.0)
    x, tx, big_t = _histories(fitted, frequency, recency, age)
    try:
        counts, x, tx, big_t = (
            np.ascontiguousarray(v) for v in np.broadcast_arrays(counts, x, tx, big_t)
        )
    except ValueError:
        raise InputError("n and the histories must have the same length", argument="n") from None
    params = fitted._params()
    p = _kernel(fitted).p_alive(params[None, :], x, big_t, np.arange(x.size), tx)[:, 0]
    if horizon == 0:
        return np.where(counts == 0, 1.0, 0.0)
    alive = np.zeros(counts.size)
    if isinstance(fitted, (BetaGeo, ModifiedBetaGeo)):
        shift = 1.0 if isinstance(fitted, ModifiedBetaGeo) else 0.0
        r, alpha, a, b = (float(v) for v in params)
        for value in np.unique(counts):
            at = counts == value
            alive[at] = _alive_count_pmf(
                float(value), r + x[at], alpha + big_t[at], a, b + x[at] + shift, horizon
            )
    elif counts.size:
        keys, inverse = np.unique(np.stack([x, big_t]), axis=1, return_inverse=True)
        inverse = inverse.reshape(-1)
        steps = _count_steps(fitted, horizon, keys[0], keys[1])
        for y in range(int(counts.max()) + 1):
            pmf = steps.pmf(y)
            at = counts == y
            alive[at] = pmf[inverse[at]]
    return np.asarray(p * alive + np.where(counts == 0, 1.0 - p, 0.0), dtype=np.float64)


def purchases_prediction_interval(
    model: PurchaseModel,
    t: float,
    frequency: Any,
    recency: Any,
    age: Any,
    *,
    level: float = DEFAULT_LEVEL,
) -> tuple[FloatArray, FloatArray]:
    """Prediction interval ``(low, high)`` of each customer's purchases in the next ``t``.

    The smallest counts whose probability of not being exceeded reaches
    :math:`(1-\\text{level})/2` and :math:`(1+\\text{level})/2` under
    :func:`purchase_count_probability` (any of the four purchase models), so the count
    falls in ``[low, high]`` with probability at least ``level`` (counts are whole
    numbers: usually more). It is the randomness of one customer's buying at the
    fitted parameters; the uncertainty of the parameters, small next to it for one
    customer, is left out (the intervals of :func:`predict_intervals` are that
    uncertainty).

    >>> from retention_xl.core.models import BetaGeo
    >>> bg = BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    >>> low, high = purchases_prediction_interval(bg, 39, [0, 2, 10], [0, 30.43, 38], 38.86)
    >>> low.tolist(), high.tolist()
    ([0.0, 0.0, 0.0], [1.0, 4.0, 15.0])
    """
    fitted = _purchase_model(model)
    lvl = check_level(level)
    horizon = _number(t, "t", low=0.0)
    x, tx, big_t = _histories(fitted, frequency, recency, age)
    keys, inverse = np.unique(np.stack([x, big_t]), axis=1, return_inverse=True)
    p = _kernel(fitted).p_alive(fitted._params()[None, :], x, big_t, np.arange(x.size), tx)[:, 0]
    summary = _count_summary(fitted, horizon, keys[0], keys[1], p, inverse.reshape(-1), lvl)
    return summary.low, summary.high


# ------------------------------------------------------------------------ the engine


def _number(value: object, name: str, *, low: float, low_ok: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(f"{name} must be a number, got {value!r}", argument=name)
    out = float(value)
    if not math.isfinite(out) or out < low or (not low_ok and out == low):
        sign = ">=" if low_ok else ">"
        raise OutOfRangeError(f"{name} must be {sign} {low:g}, got {value!r}", argument=name)
    return out


@dataclass(frozen=True)
class _Rows:
    """Customers compressed on two levels, sorted by ``(x, T, t_x, m)``.

    *Groups* are the distinct ``(x, T)`` (``gx``, ``gt``): the hypergeometric terms
    depend on them only. *Histories* are the distinct ``(x, T, t_x)`` (``group``,
    ``tx``, ``count``): P(alive) and the expected purchases. *Spend rows* are the
    distinct ``(x, T, t_x, m)`` (``m``, ``spend_count``, ``history`` of each, and
    ``first``, where each history's spend rows start): CLV. ``inverse`` maps each
    customer to their spend row. Every level is contiguous within the one above.
    """

    gx: FloatArray
    gt: FloatArray
    group: IntArray
    tx: FloatArray
    count: FloatArray
    first: IntArray
    m: FloatArray
    spend_count: FloatArray
    history: IntArray
    inverse: IntArray


def _compress(x: FloatArray, tx: FloatArray, big_t: FloatArray, m: FloatArray) -> _Rows:
    columns = (x, big_t, tx, m)
    key = np.zeros(x.size, dtype=np.int64)
    span = 1
    overflow = False
    for col in columns:
        codes, uniques = pd.factorize(col, sort=True)
        size = max(len(uniques), 1)
        if span > (2**62) // size:
            overflow = True
            break
        key = key * size + codes
        span *= size
    if overflow:  # too many distinct values to combine into one integer: sort rows
        order = np.lexsort(columns[::-1])
        change = np.zeros(x.size, dtype=bool)
        change[0] = True
        for col in columns:
            s = col[order]
            change[1:] |= s[1:] != s[:-1]
        row_of_sorted = np.cumsum(change) - 1
        inverse = np.empty(x.size, dtype=np.intp)
        inverse[order] = row_of_sorted
        first_customer = order[change]
        spend_count = np.bincount(row_of_sorted).astype(np.float64)
    else:
        _, first_customer, inverse, counts = np.unique(
            key, return_index=True, return_inverse=True, return_counts=True
        )
        spend_count = counts.astype(np.float64)
    sx, st, stx, sm = (col[first_customer] for col in columns)
    new_history = np.ones(sx.size, dtype=bool)
    new_history[1:] = (sx[1:] != sx[:-1]) | (st[1:] != st[:-1]) | (stx[1:] != stx[:-1])
    history = np.cumsum(new_history) - 1
    starts = np.flatnonzero(new_history)
    hx, ht, htx = sx[starts], st[starts], stx[starts]
    new_group = np.ones(hx.size, dtype=bool)
    new_group[1:] = (hx[1:] != hx[:-1]) | (ht[1:] != ht[:-1])
    return _Rows(
        gx=hx[new_group],
        gt=ht[new_group],
        group=np.asarray(np.cumsum(new_group) - 1, dtype=np.intp),
        tx=htx,
        count=np.bincount(history, weights=spend_count).astype(np.float64),
        first=np.append(starts, sx.size).astype(np.intp),
        m=sm,
        spend_count=spend_count,
        history=np.asarray(history, dtype=np.intp),
        inverse=np.asarray(inverse, dtype=np.intp).reshape(-1),
    )


def _chunks(first: IntArray, size: int) -> list[tuple[int, int]]:
    """Runs of histories ``[i, j)`` whose spend rows number about ``size`` (at least
    one history each)."""
    n = first.size - 1
    out = []
    i = 0
    while i < n:
        j = int(np.searchsorted(first, first[i] + size, side="right")) - 1
        j = min(max(j, i + 1), n)
        out.append((i, j))
        i = j
    return out


def _bounds(values: FloatArray, level: float) -> tuple[FloatArray, FloatArray]:
    """Per row of (rows, draws) ``values``, the two quantiles of ``level`` (linear
    interpolation between order statistics, as :func:`numpy.quantile`). Sorts
    ``values`` in place. An infinite draw gives an infinite bound where it falls."""
    values.sort(axis=1)
    n = values.shape[1]
    out = []
    for q in (0.5 - level / 2.0, 0.5 + level / 2.0):
        pos = q * (n - 1)
        i = math.floor(pos)
        frac = pos - i
        j = min(i + 1, n - 1)
        below, above = values[:, i], values[:, j]
        if frac == 0.0:
            out.append(below.copy())
            continue
        with np.errstate(invalid="ignore"):
            mixed = below + frac * (above - below)
        out.append(np.where(np.isinf(above), above, mixed))
    return out[0], out[1]


def _mixture_bounds(
    means: FloatArray, sd: float, level: float, *, floor: float = 0.0
) -> tuple[float, float]:
    """Quantiles of ``mean_d + sd * N(0, 1)`` with ``mean_d`` drawn evenly from ``means``."""
    if sd <= 0 or not np.isfinite(sd) or not np.isfinite(means).all():
        low, high = _bounds(means[None, :].copy(), level)
        return float(low[0]), float(high[0])
    span = float(means.max() - means.min()) + 20.0 * sd
    lo_edge, hi_edge = float(means.min()) - 10.0 * sd, float(means.max()) + 10.0 * sd

    def quantile(q: float) -> float:
        def gap(v: float) -> float:
            return float(ndtr((v - means) / sd).mean()) - q  # ndtr: norm.cdf

        return float(optimize.brentq(gap, lo_edge, hi_edge, xtol=1e-10 * max(span, 1.0)))

    return max(floor, quantile(0.5 - level / 2.0)), max(floor, quantile(0.5 + level / 2.0))


@dataclass(frozen=True)
class IntervalPredictions:
    """What :func:`predict_intervals` returns.

    Attributes
    ----------
    customers
        One row per customer, in the order given (the index of ``frequency`` when it
        is a Series): ``p_alive``, ``p_alive_low``, ``p_alive_high``; for each purchase
        horizon its expected purchases with ``_low`` and ``_high``;
        ``purchases_pi_low``/``purchases_pi_high``, the prediction interval of the
        purchases over ``horizon`` themselves; with a spend model
        ``predicted_clv`` with ``_low`` and ``_high``.
    totals
        Over all customers, rows ``expected_purchases`` (over ``horizon``),
        ``purchases`` (a prediction interval of the total count: parameter uncertainty
        and each customer's randomness), with a spend model
        ``revenue`` (expected spend x expected purchases over ``horizon``, no margin,
        not discounted) and ``predicted_clv``; columns ``value`` (at the fitted
        parameters), ``low``, ``high``.
    level, n_draws, seed, horizon
        The settings used.
    """

    customers: pd.DataFrame
    totals: pd.DataFrame
    level: float
    n_draws: int
    seed: int
    horizon: float


def _histories(
    transactions: object, frequency: Any, recency: Any, age: Any
) -> tuple[FloatArray, FloatArray, FloatArray]:
    if isinstance(transactions, BetaGeoBetaBinom):
        return check_period_history(frequency, recency, age)
    return check_history(frequency, recency, age)


def _run(*args: Any, **kwargs: Any) -> IntervalPredictions:
    """:func:`_compute` with infinite and NaN intermediate values allowed (a draw may
    leave the spend's mean undefined: its bounds are then infinite)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return _compute(*args, **kwargs)


@dataclass(frozen=True)
class _Settings:
    """The checked arguments of :func:`predict_intervals`."""

    level: float
    n_draws: int
    seed: int
    horizon: float
    margin: float
    rate: float
    per_year: float
    steps: int
    #: the purchase horizons reported per customer, by column name
    named: dict[str, float]


def _check_settings(
    *,
    horizon: float,
    purchase_horizons: Mapping[str, float] | None,
    margin: float,
    discount_rate: float,
    periods_per_year: float,
    steps_per_year: int,
    level: float,
    n_draws: int,
    seed: int,
) -> _Settings:
    h = _number(horizon, "horizon", low=0.0)
    named = {"expected_purchases": h} if purchase_horizons is None else dict(purchase_horizons)
    for name, value in named.items():
        named[name] = _number(value, name, low=0.0)
    return _Settings(
        level=check_level(level),
        n_draws=_count(n_draws, "n_draws", low=2),
        seed=_count(seed, "seed", low=0),
        horizon=h,
        margin=_number(margin, "margin", low=0.0),
        rate=_number(discount_rate, "discount_rate", low=-1.0, low_ok=False),
        per_year=_number(periods_per_year, "periods_per_year", low=0.0, low_ok=False),
        steps=_count(steps_per_year, "steps_per_year", low=1),
        named=named,
    )


def _combinations(s: _Settings, *, clv: bool) -> tuple[dict[str, Combination], str]:
    """The expected purchases given alive that every pass computes, as combinations,
    and the name of the one over the whole horizon (the totals').

    The CLV's cash-flow steps are those of ``predict_clv``:
    :math:`\\tau_k = \\min(k \\cdot \\text{step}, H)`, and the discounted sum of the
    increments :math:`\\sum_k d_k (A_k - A_{k-1}) = \\sum_k A_k (d_k - d_{k+1})`
    (``__flows``).
    """
    combinations: dict[str, Combination] = {name: ((tau, 1.0),) for name, tau in s.named.items()}
    horizon_name = next((name for name, tau in s.named.items() if tau == s.horizon), "__horizon")
    combinations[horizon_name] = ((s.horizon, 1.0),)
    if clv:
        step = s.per_year / s.steps
        n_steps = int(np.ceil(s.horizon / step - 1e-9))
        taus = [min(k * step, s.horizon) for k in range(1, n_steps + 1)]
        discounts = [(1.0 + s.rate) ** (-tau / s.per_year) for tau in taus] + [0.0]
        combinations["__flows"] = tuple(
            (tau, s.margin * (discounts[k] - discounts[k + 1])) for k, tau in enumerate(taus)
        )
    return combinations, horizon_name


@dataclass(frozen=True)
class _Pass:
    """One set of parameters computed over every customer: the fitted ones
    (``is_point``) or the draws."""

    theta: FloatArray
    phi: FloatArray | None
    is_point: bool
    alive: AliveTable


@dataclass(frozen=True)
class _Chunk:
    """Histories ``i0:i1`` (their spend rows ``j0:j1``, their groups ``g0:g1``) and
    the group x history matrices summing a history value over each group's customers:
    their count, and their count x frequency x mean spend."""

    i0: int
    i1: int
    j0: int
    j1: int
    g0: int
    g1: int
    group: IntArray
    by_count: Any
    by_spend: Any


def _chunk(rows: _Rows, spend_sums: FloatArray, i0: int, i1: int) -> _Chunk:
    g0, g1 = int(rows.group[i0]), int(rows.group[i1 - 1]) + 1
    group = rows.group[i0:i1] - g0
    shape = (g1 - g0, i1 - i0)
    positions = (group, np.arange(i1 - i0))
    by_spend = rows.gx[g0:g1][group] * spend_sums[i0:i1]
    return _Chunk(
        i0=i0,
        i1=i1,
        j0=int(rows.first[i0]),
        j1=int(rows.first[i1]),
        g0=g0,
        g1=g1,
        group=group,
        by_count=sparse.csr_matrix((rows.count[i0:i1], positions), shape=shape),
        by_spend=sparse.csr_matrix((by_spend, positions), shape=shape),
    )


def _chunk_values(
    kernel: _Kernel,
    rows: _Rows,
    c: _Chunk,
    run: _Pass,
    named: Mapping[str, float],
    horizon_name: str,
    *,
    clv_rows: bool,
) -> tuple[dict[str, FloatArray], dict[str, FloatArray]]:
    """One pass over one chunk: the per-history (and, for the CLV, per-spend-row)
    values under each parameter set, and their sums over the chunk's customers."""
    gx, gt = rows.gx[c.g0 : c.g1], rows.gt[c.g0 : c.g1]
    p = kernel.p_alive(run.theta, gx, gt, c.group, rows.tx[c.i0 : c.i1])
    alive = run.alive.block(c.g0, c.g1)
    values: dict[str, FloatArray] = {"p_alive": p}
    for name in named:
        values[name] = np.take(alive[name], c.group, axis=0)
        values[name] *= p
    # Sums over each group's customers: a history's expected purchases are its
    # P(alive) times its group's A, so the group sums of count x P(alive) (and of
    # count x frequency x mean spend x P(alive)) give every total.
    p_sum = c.by_count @ p
    e_sum = alive[horizon_name] * p_sum
    sums = {"expected_purchases": e_sum.sum(axis=0)}
    if run.phi is not None:
        # E[M] = p (gamma + x m) / (p x + q - 1): the denominator per group; over a
        # group's customers the numerator sums to p gamma n + p x (sum of m).
        sp, sq, sg = _columns(run.phi)
        den = sp * gx[:, None] + sq - 1.0
        inverse = np.where(den > 0, 1.0 / den, np.inf)
        flows = alive["__flows"] * inverse
        spg = (sp * sg)[0]
        p_spend = c.by_spend @ p
        e_sum *= inverse
        e_spend = alive[horizon_name] * p_spend
        e_spend *= inverse
        sums["revenue"] = e_sum.sum(axis=0) * spg + e_spend.sum(axis=0) * sp[0]
        sums["predicted_clv"] = (p_sum * flows).sum(axis=0) * spg + (p_spend * flows).sum(
            axis=0
        ) * sp[0]
        if clv_rows:
            history = rows.history[c.j0 : c.j1] - c.i0
            clv = np.multiply.outer(gx[c.group[history]] * rows.m[c.j0 : c.j1], sp[0])
            clv += sp * sg
            clv *= np.take(flows, c.group[history], axis=0)
            clv *= np.take(p, history, axis=0)
            values["predicted_clv"] = clv
    return values, sums


@dataclass
class _Results:
    """Point values and bounds per history (per spend row for the CLV), and the
    totals at the fitted parameters and under each draw."""

    point: dict[str, FloatArray]
    low: dict[str, FloatArray]
    high: dict[str, FloatArray]
    point_totals: dict[str, float]
    draw_totals: dict[str, FloatArray]

    @classmethod
    def empty(cls, rows: _Rows, s: _Settings, *, clv: bool, per_customer: bool) -> _Results:
        point = {name: np.empty(rows.tx.size) for name in ("p_alive", *s.named)}
        if clv:
            point["predicted_clv"] = np.empty(rows.m.size)
        low: dict[str, FloatArray] = {}
        high: dict[str, FloatArray] = {}
        if per_customer:
            for name, array in point.items():
                low[name], high[name] = np.empty_like(array), np.empty_like(array)
        names = ["expected_purchases"] + (["revenue", "predicted_clv"] if clv else [])
        return cls(
            point=point,
            low=low,
            high=high,
            point_totals=dict.fromkeys(names, 0.0),
            draw_totals={name: np.zeros(s.n_draws) for name in names},
        )

    def add(
        self,
        c: _Chunk,
        values: Mapping[str, FloatArray],
        sums: Mapping[str, FloatArray],
        *,
        is_point: bool,
        level: float,
    ) -> None:
        for name, summed in sums.items():
            if is_point:
                self.point_totals[name] += float(summed[0])
            else:
                self.draw_totals[name] += summed
        for name, block in values.items():
            where = slice(c.j0, c.j1) if name == "predicted_clv" else slice(c.i0, c.i1)
            if is_point:
                self.point[name][where] = block[:, 0]
            elif self.low:
                self.low[name][where], self.high[name][where] = _bounds(block, level)


def _customer_frame(
    rows: _Rows, res: _Results, counts_pi: _CountSummary, index: Any, *, per_customer: bool
) -> pd.DataFrame:
    """One row per customer: spend rows -> histories."""
    spend_row = rows.inverse
    history_row = rows.history[spend_row]
    cols: dict[str, FloatArray] = {}

    def put(name: str, at: IntArray) -> None:
        cols[name] = res.point[name][at]
        if per_customer:
            cols[f"{name}_low"] = res.low[name][at]
            cols[f"{name}_high"] = res.high[name][at]

    for name in res.point:
        if name != "predicted_clv":
            put(name, history_row)
    if per_customer:
        cols["purchases_pi_low"] = counts_pi.low[history_row]
        cols["purchases_pi_high"] = counts_pi.high[history_row]
    if "predicted_clv" in res.point:
        put("predicted_clv", spend_row)
    return pd.DataFrame(cols, index=index)


def _totals_frame(
    rows: _Rows, res: _Results, counts_pi: _CountSummary, s: _Settings, customers: int
) -> pd.DataFrame:
    """Each total's interval over the draws' totals; the total count's over the
    mixture of each draw's normal (see :func:`predict_totals`)."""
    table: dict[str, tuple[float, float, float]] = {}
    for name, draws in res.draw_totals.items():
        t_low, t_high = _bounds(draws[None, :].copy(), s.level)
        table[name] = (res.point_totals[name], float(t_low[0]), float(t_high[0]))
    p_hist = res.point["p_alive"]
    m1 = counts_pi.mean_alive[rows.group]
    m2 = counts_pi.square_alive[rows.group]
    variance = dot(rows.count, np.maximum(p_hist * m2 - (p_hist * m1) ** 2, 0.0))
    pi_low, pi_high = _mixture_bounds(
        res.draw_totals["expected_purchases"], math.sqrt(variance), s.level
    )
    table = {
        "expected_purchases": table["expected_purchases"],
        "purchases": (res.point_totals["expected_purchases"], pi_low, pi_high),
        **{k: v for k, v in table.items() if k != "expected_purchases"},
    }
    frame = pd.DataFrame.from_dict(table, orient="index", columns=["value", "low", "high"])
    frame.index.name = "total"
    frame.attrs.update(
        level=s.level, horizon=s.horizon, n_draws=s.n_draws, seed=s.seed, customers=customers
    )
    return frame


def _compute(
    transactions: PurchaseModel,
    spend: GammaGamma | None,
    frequency: Any,
    recency: Any,
    age: Any,
    avg_value: Any,
    *,
    per_customer: bool,
    **settings: Any,
) -> IntervalPredictions:
    """Check, compress the customers, run the fitted parameters and the draws over them
    chunk by chunk, then spread the results back to customers and total them."""
    kernel = _kernel(transactions)
    s = _check_settings(**settings)
    index = frequency.index if isinstance(frequency, pd.Series) else None
    x, tx, big_t = _histories(transactions, frequency, recency, age)
    m_key = np.zeros(x.size)
    if spend is not None:
        if avg_value is None:
            raise InputError("avg_value is needed with a spend model", argument="avg_value")
        _, m = _check_spend(x, avg_value)
        m_key = np.where(x > 0, m, 0.0)
    if index is not None and len(index) != x.size:
        index = None
    combinations, horizon_name = _combinations(s, clv=spend is not None)
    rows = _compress(x, tx, big_t, m_key)
    theta_hat = transactions._params()[None, :]
    theta = _draws(transactions, s.n_draws, np.random.default_rng([s.seed, 0]))
    passes = (
        _Pass(
            theta_hat,
            None if spend is None else spend._params()[None, :],
            True,
            AliveTable(kernel, theta_hat, rows.gx, rows.gt, combinations, offsets=None),
        ),
        _Pass(
            theta,
            None if spend is None else _draws(spend, s.n_draws, np.random.default_rng([s.seed, 1])),
            False,
            AliveTable(
                kernel, theta, rows.gx, rows.gt, combinations, offsets=_offsets(kernel, theta)
            ),
        ),
    )
    spend_sums = np.asarray(
        np.bincount(rows.history, weights=rows.spend_count * rows.m, minlength=rows.tx.size),
        dtype=np.float64,
    )
    res = _Results.empty(rows, s, clv=spend is not None, per_customer=per_customer)
    for i0, i1 in _chunks(rows.first, max(1, _CHUNK_CELLS // s.n_draws)):
        chunk = _chunk(rows, spend_sums, i0, i1)
        for run in passes:
            values, sums = _chunk_values(
                kernel,
                rows,
                chunk,
                run,
                s.named,
                horizon_name,
                clv_rows=run.is_point or per_customer,
            )
            res.add(chunk, values, sums, is_point=run.is_point, level=s.level)
    # The prediction intervals of the counts: at the fitted parameters.
    counts_pi = _count_summary(
        transactions, s.horizon, rows.gx, rows.gt, res.point["p_alive"], rows.group, s.level
    )
    return IntervalPredictions(
        customers=_customer_frame(rows, res, counts_pi, index, per_customer=per_customer),
        totals=_totals_frame(rows, res, counts_pi, s, int(x.size)),
        level=s.level,
        n_draws=s.n_draws,
        seed=s.seed,
        horizon=s.horizon,
    )


def predict_intervals(
    transactions: PurchaseModel,
    spend: GammaGamma | None,
    frequency: Any,
    recency: Any,
    age: Any,
    avg_value: Any = None,
    *,
    horizon: float = 52.0,
    purchase_horizons: Mapping[str, float] | None = None,
    margin: float = 1.0,
    discount_rate: float = 0.0,
    periods_per_year: float = 52.0,
    steps_per_year: int = 12,
    level: float = DEFAULT_LEVEL,
    n_draws: int = N_DRAWS,
    seed: int = 0,
) -> IntervalPredictions:
    """Per-customer predictions with intervals at ``level``, and totals, from one set of draws.

    ``transactions`` is a fitted BG/NBD, MBG/NBD, Pareto/NBD or BG/BB model (BG/BB
    takes periods, a fraction of a period pro rata), ``spend`` a fitted Gamma-Gamma
    (or None: no CLV, no revenue). Histories and settings as
    :func:`~retention_xl.core.models.predict_clv`: ``horizon`` is the horizon of the
    CLV, of ``expected_purchases`` (unless ``purchase_horizons`` names others, e.g.
    ``{"expected_purchases_90d": 90 / 7}``), of the purchases' prediction interval and
    of the totals.

    ``n_draws`` parameter draws (500) from the estimates' sampling distribution,
    ``seed`` for the random numbers: see the module's notes. Customers sharing a
    history are computed once. The point values are the predictions at the fitted
    parameters, as the models' own methods give them.

    Examples
    --------
    >>> from retention_xl.core.models import BetaGeo, GammaGamma, purchase_history
    >>> from retention_xl.datasets import load_sample
    >>> h = purchase_history(load_sample().orders)
    >>> bg = BetaGeo().fit(h["frequency"], h["recency"], h["age"])
    >>> gg = GammaGamma().fit(h["frequency"], h["monetary_value"])
    >>> out = predict_intervals(bg, gg, h["frequency"], h["recency"], h["age"],
    ...                         h["monetary_value"], horizon=52, margin=0.4)
    >>> list(out.totals.index)
    ['expected_purchases', 'purchases', 'revenue', 'predicted_clv']
    >>> c = out.customers
    >>> bool(((c["p_alive_low"] <= c["p_alive"]) & (c["p_alive"] <= c["p_alive_high"])).all())
    True
    """
    return _run(
        transactions,
        spend,
        frequency,
        recency,
        age,
        avg_value,
        horizon=horizon,
        purchase_horizons=purchase_horizons,
        margin=margin,
        discount_rate=discount_rate,
        periods_per_year=periods_per_year,
        steps_per_year=steps_per_year,
        level=level,
        n_draws=n_draws,
        seed=seed,
        per_customer=True,
    )


def predict_totals(
    transactions: PurchaseModel,
    spend: GammaGamma | None,
    frequency: Any,
    recency: Any,
    age: Any,
    avg_value: Any = None,
    *,
    horizon: float = 52.0,
    margin: float = 1.0,
    discount_rate: float = 0.0,
    periods_per_year: float = 52.0,
    steps_per_year: int = 12,
    level: float = DEFAULT_LEVEL,
    n_draws: int = N_DRAWS,
    seed: int = 0,
) -> pd.DataFrame:
    """The totals over the customer base in the next ``horizon``, with intervals.

    The :attr:`IntervalPredictions.totals` of :func:`predict_intervals` (same draws,
    same numbers) without the per-customer bounds: ``expected_purchases``,
    ``purchases`` (prediction interval of the total count),
    ``revenue`` and ``predicted_clv`` (with a spend model), each with ``value``,
    ``low`` and ``high``. Each draw's total is the sum over customers under that
    draw; the interval is taken over the draws' totals.

    The ``purchases`` interval adds each customer's randomness to the parameters':
    given a draw, the total count is close to normal (a sum of independent
    customers) with the variance of the conditional count distribution at the fitted
    parameters; the bounds are quantiles of that mixture over the draws.
    """
    return _run(
        transactions,
        spend,
        frequency,
        recency,
        age,
        avg_value,
        horizon=horizon,
        purchase_horizons=None,
        margin=margin,
        discount_rate=discount_rate,
        periods_per_year=periods_per_year,
        steps_per_year=steps_per_year,
        level=level,
        n_draws=n_draws,
        seed=seed,
        per_customer=False,
    ).totals
