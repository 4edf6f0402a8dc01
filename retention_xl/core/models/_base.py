"""The shared machinery of the models: input checks, history weights, the MLE fit.

A model declares its parameter names and a function that returns the *total*
log-likelihood and its gradient (and, where it has one, its Hessian) with respect to
the **log** parameters, so every parameter stays positive, over distinct rows of data
with integer weights. :func:`newton_maximize` runs Newton's method on an analytic
Hessian; :func:`maximize_log_likelihood` runs L-BFGS-B, polishes with Newton steps on
a finite-difference Hessian and raises a :class:`ConvergenceError` with advice when
there is no optimum. Either gives the covariance of the log parameters (the inverse
of minus the Hessian) for standard errors.

:func:`distinct_rows` turns per-customer columns into distinct rows and counts, so a
fit costs as many likelihood terms as there are distinct histories, not customers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Final, Self, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import special

from retention_xl.errors import ConvergenceError, InputError, NotEnoughDataError, OutOfRangeError

__all__ = [
    "FloatArray",
    "Objective",
    "ParametricModel",
    "check_history",
    "distinct_rows",
    "dot",
    "maximize_log_likelihood",
    "newton_maximize",
    "require_repeaters",
    "warm_subset",
]

logger = logging.getLogger(__name__)

FloatArray: TypeAlias = npt.NDArray[np.float64]
#: ``objective(log_params) -> (total log-likelihood, gradient w.r.t. log_params)``.
Objective: TypeAlias = Callable[[FloatArray], tuple[float, FloatArray]]


def dot(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> float:
    """The dot product of two vectors, without BLAS.

    ``a @ b`` calls BLAS, whose worker threads can take milliseconds to wake up on a
    busy machine, per call; a fit makes thousands of these small products.
    """
    return float(np.einsum("i,i->", a, b))


def as_float_array(values: Any, name: str) -> FloatArray:
    """``values`` as a 1-D float64 array (scalars become length 1), all finite."""
    if isinstance(values, (pd.Series, pd.Index)):
        values = values.to_numpy()
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be numbers, got {values!r}", argument=name) from exc
    arr = np.atleast_1d(arr)
    if arr.ndim != 1:
        arr = arr.reshape(-1)
    if not np.isfinite(arr).all():
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise OutOfRangeError(
            f"{name} must be finite numbers, got {float(arr[bad])!r} at position {bad}",
            argument=name,
        )
    return arr


def _first_bad(mask: npt.NDArray[np.bool_]) -> int:
    return int(np.flatnonzero(mask)[0])


def check_history(
    frequency: Any, recency: Any, age: Any
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Validate repeat-purchase histories ``(x, t_x, T)`` and return them as arrays.

    ``frequency`` (repeat purchases) must be whole numbers >= 0, ``recency`` (time of
    the last purchase since the first) >= 0 and 0 when ``frequency`` is 0, ``age``
    (time since the first purchase) >= ``recency``. All three in the same time unit.
    Scalars broadcast against arrays.
    """
    x = as_float_array(frequency, "frequency")
    tx = as_float_array(recency, "recency")
    big_t = as_float_array(age, "age")
    try:
        x, tx, big_t = np.broadcast_arrays(x, tx, big_t)
    except ValueError:
        raise InputError(
            f"frequency, recency and age must have the same length, got {x.size}, "
            f"{tx.size} and {big_t.size}",
            argument="frequency",
        ) from None
    x, tx, big_t = (np.ascontiguousarray(a) for a in (x, tx, big_t))
    if x.size == 0:
        raise NotEnoughDataError("there are no customers to fit or predict", argument="frequency")
    bad = (x < 0) | (x != np.round(x))
    if bad.any():
        i = _first_bad(bad)
        raise OutOfRangeError(
            f"frequency must be a whole number >= 0 (repeat purchases), got {float(x[i])!r} "
            f"at position {i}",
            argument="frequency",
        )
    if (tx < 0).any():
        i = _first_bad(tx < 0)
        raise OutOfRangeError(
            f"recency must be >= 0, got {float(tx[i])!r} at position {i}", argument="recency"
        )
    bad = tx > big_t * (1 + 1e-12)
    if bad.any():
        i = _first_bad(bad)
        raise OutOfRangeError(
            f"age (time since the first purchase) must be >= recency, got age {float(big_t[i])!r} "
            f"< recency {float(tx[i])!r} at position {i}: are both in the same time unit?",
            argument="age",
        )
    bad = (x == 0) & (tx != 0)
    if bad.any():
        i = _first_bad(bad)
        raise OutOfRangeError(
            f"recency must be 0 for a customer without repeat purchases, got {float(tx[i])!r} "
            f"at position {i}",
            argument="recency",
        )
    return x, tx, big_t


def require_repeaters(frequency: FloatArray, model: str) -> None:
    """Raise NotEnoughDataError when no customer made a repeat purchase."""
    if not (frequency > 0).any():
        raise NotEnoughDataError(
            f"{model} needs customers who bought again: all {frequency.size} customers have "
            f"frequency 0, so how often people buy and when they leave cannot be told apart",
            argument="frequency",
        )


def distinct_rows(*columns: FloatArray) -> tuple[list[FloatArray], FloatArray]:
    """The distinct rows of equal-length columns and how often each occurs.

    Examples
    --------
    >>> rows, counts = distinct_rows(np.array([1.0, 0, 1]), np.array([2.0, 0, 2]))
    >>> [r.tolist() for r in rows], counts.tolist()
    ([[0.0, 1.0], [0.0, 2.0]], [1.0, 2.0])
    """
    n = columns[0].size
    if n == 0:
        return [c.copy() for c in columns], np.zeros(0)
    key = _row_key(columns)
    if key is None:  # the combined key would overflow: sort the rows
        return _distinct_by_sorting(columns)
    first, rank = _distinct_keys(key)
    counts = np.bincount(rank, minlength=first.size).astype(np.float64)
    return [col[first] for col in columns], counts


def distinct_with_inverse(*columns: FloatArray) -> tuple[list[FloatArray], npt.NDArray[np.intp]]:
    """The distinct rows of equal-length columns (in lexicographic order) and where each
    row went: ``[d[inverse] for d in distinct]`` gives the columns back, so a function
    of a row need only be computed once per distinct row.

    Examples
    --------
    >>> rows, inverse = distinct_with_inverse(np.array([1.0, 0, 1]), np.array([2.0, 0, 2]))
    >>> [r.tolist() for r in rows], inverse.tolist()
    ([[0.0, 1.0], [0.0, 2.0]], [1, 0, 1])
    """
    n = columns[0].size
    if n == 0:
        return [c.copy() for c in columns], np.zeros(0, dtype=np.intp)
    key = _row_key(columns)
    if key is None:
        order = np.lexsort(columns[::-1])
        change = np.zeros(n, dtype=bool)
        change[0] = True
        for col in columns:
            s = col[order]
            change[1:] |= s[1:] != s[:-1]
        inverse = np.empty(n, dtype=np.intp)
        inverse[order] = np.cumsum(change) - 1
        first = order[change]
    else:
        first, inverse = _distinct_keys(key)
    return [col[first] for col in columns], np.asarray(inverse, dtype=np.intp).reshape(-1)


def _distinct_keys(key: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """``np.unique(key, return_index=True, return_inverse=True)`` without its sort of
    every row: the keys are hashed (``pd.factorize``) and only the distinct ones sorted,
    so a million rows of a few hundred thousand histories cost one hash and a sort of
    the histories. Returns the first row of each distinct key, in key order, and each
    row's position in that order.

    >>> first, inverse = _distinct_keys(np.array([7, 3, 7, 5, 3]))
    >>> first.tolist(), inverse.tolist()
    ([1, 3, 0], [2, 0, 2, 1, 0])
    """
    codes, uniques = pd.factorize(key)
    order = np.argsort(np.asarray(uniques), kind="stable")
    rank = np.empty(order.size, dtype=np.intp)
    rank[order] = np.arange(order.size, dtype=np.intp)
    first_by_code = np.empty(order.size, dtype=np.intp)
    # written backwards, so each code keeps its first row
    first_by_code[codes[::-1]] = np.arange(codes.size - 1, -1, -1, dtype=np.intp)
    return first_by_code[order], rank[codes]


def _row_key(columns: Sequence[FloatArray]) -> npt.NDArray[np.int64] | None:
    """One integer per row, ordered as the rows are lexicographically: each column
    coded by rank among its (few) distinct values with a hash, the codes combined (one
    integer sort instead of a lexicographic sort of float rows); None when the
    combined key would overflow."""
    key = np.zeros(columns[0].size, dtype=np.int64)
    span = 1
    for col in columns:
        codes, uniques = pd.factorize(col, sort=True)
        size = max(len(uniques), 1)
        if span > (2**62) // size:
            return None
        key = key * size + codes
        span *= size
    return key


def _distinct_by_sorting(columns: Sequence[FloatArray]) -> tuple[list[FloatArray], FloatArray]:
    n = columns[0].size
    order = np.lexsort(columns[::-1])
    change = np.zeros(n, dtype=bool)
    change[0] = True
    for col in columns:
        s = col[order]
        change[1:] |= s[1:] != s[:-1]
    starts = np.flatnonzero(change)
    counts = np.diff(np.append(starts, n)).astype(np.float64)
    first = order[starts]
    return [col[first] for col in columns], counts


@dataclass(frozen=True)
class FitResult:
    """What :func:`maximize_log_likelihood` found."""

    log_params: FloatArray
    log_likelihood: float
    iterations: int
    #: Gives the covariance of the log parameters (inverse of minus the Hessian;
    #: None when not invertible).
    covariance: Callable[[], FloatArray | None]


def _hessian(objective: Objective, x: FloatArray, step: float) -> FloatArray:
    """Central differences of the gradient (symmetrised)."""
    k = x.size
    h = step * np.maximum(1.0, np.abs(x))
    out = np.empty((k, k))
    for j in range(k):
        e = np.zeros(k)
        e[j] = h[j]
        out[:, j] = (objective(x + e)[1] - objective(x - e)[1]) / (2 * h[j])
    return 0.5 * (out + out.T)


#: ``objective(log_params) -> (total log-likelihood, gradient, Hessian)`` in log params.
NewtonObjective: TypeAlias = Callable[[FloatArray], tuple[float, FloatArray, FloatArray]]


def _inverse_covariance(hess: FloatArray) -> FloatArray | None:
    if not np.isfinite(hess).all():
        return None
    try:
        cov = np.asarray(np.linalg.inv(-hess), dtype=np.float64)
    except np.linalg.LinAlgError:
        return None
    return cov if bool(np.all(np.diag(cov) > 0)) else None


#: Above this many distinct rows a fit first runs on an evenly spaced subset of them
#: (rows are in lexicographic order, so the subset covers every kind of history), then
#: refines on all rows from there: a few full passes instead of dozens.
WARM_START_ROWS: Final = 50_000


def warm_subset(n_rows: int) -> slice | None:
    """Every k-th row, about 20,000 of them, when ``n_rows`` is large; else None."""
    if n_rows <= WARM_START_ROWS:
        return None
    return slice(0, None, n_rows // 20_000)


def _constant(cov: FloatArray | None) -> Callable[[], FloatArray | None]:
    return lambda: cov


def newton_maximize(
    objective: NewtonObjective, x0: FloatArray, *, max_iter: int = 100
) -> FitResult | None:
    r"""Newton's method with backtracking, for likelihoods with an analytic Hessian.

    Each iteration solves :math:`H\,\delta = -g` (a gradient step where :math:`H` is
    not negative definite) and halves the step until the log-likelihood improves.
    Converges in a handful of iterations where L-BFGS-B needs dozens of evaluations.
    Returns None when it does not converge (the caller falls back to
    :func:`maximize_log_likelihood`).
    """
    x = np.asarray(x0, dtype=np.float64)
    with np.errstate(all="ignore"):
        ll, grad, hess = objective(x)
        for iteration in range(1, max_iter + 1):
            if not (np.isfinite(ll) and np.isfinite(grad).all() and np.isfinite(hess).all()):
                return None
            # Where the likelihood is not concave, shift the Hessian until it is
            # (Levenberg-Marquardt): a step between Newton's and the gradient's.
            top = float(np.max(np.linalg.eigvalsh(hess)))
            shift = 0.0 if top < 0 else top + 1e-3 * float(np.max(np.abs(np.diag(hess))))
            try:
                step = np.linalg.solve(hess - shift * np.eye(x.size), -grad)
            except np.linalg.LinAlgError:
                return None
            biggest = float(np.max(np.abs(step)))
            if biggest > 2.0:  # at most a factor e^2 per parameter and step
                step *= 2.0 / biggest
            for _ in range(40):
                trial = x + step
                t_ll, t_grad, t_hess = objective(trial)
                if np.isfinite(t_ll) and t_ll >= ll - 1e-12 * abs(ll):
                    break
                step = step / 2.0
            else:
                return None
            x, ll, grad, hess = trial, t_ll, t_grad, t_hess
            if np.any(np.abs(x) >= 18.0):  # running off to 0 or infinity: no optimum
                return None
            # Converged when Newton's step is negligible: a flat direction along which
            # the likelihood still creeps up keeps taking big steps and never stops here.
            if float(np.max(np.abs(step))) < 1e-9:
                cov = _inverse_covariance(hess)
                # A parameter the data cannot pin down (its log varies by more than
                # +-10 within one standard error) sits on a ridge, not at an optimum.
                if cov is None or float(np.max(np.diag(cov))) > 100.0:
                    return None
                logger.debug("Newton converged in %d iterations, LL %.6f", iteration, ll)
                return FitResult(x, float(ll), iteration, _constant(cov))
    return None


def maximize_log_likelihood(
    objective: Objective,
    x0: FloatArray,
    *,
    model: str,
    names: Sequence[str],
    n_weight: float,
    max_iter: int,
    advice: str,
    hessian_step: float = 1e-5,
) -> FitResult:
    """Maximise a log-likelihood over log parameters; raise ConvergenceError on failure.

    The optimiser sees the *mean* log-likelihood (total / ``n_weight``), so its
    tolerances do not depend on the number of customers. ``hessian_step`` is the
    relative step of the finite differences of the gradient (larger for models whose
    gradient is itself a finite difference).
    """
    from scipy import optimize  # loaded by the first fit, not with the package

    scale = 1.0 / max(n_weight, 1.0)
    bound = 30.0  # exp(+-30): far outside any sensible parameter value

    def negative(x: FloatArray) -> tuple[float, FloatArray]:
        ll, grad = objective(x)
        if not np.isfinite(ll) or not np.isfinite(grad).all():
            return float("inf"), np.zeros_like(x)
        return -ll * scale, -grad * scale

    with np.errstate(all="ignore"):
        start_ll, _ = objective(x0)
        if not np.isfinite(start_ll):
            raise ConvergenceError(
                f"{model}: the log-likelihood is not finite at the starting values "
                f"{dict(zip(names, np.exp(x0).round(6).tolist(), strict=True))}; {advice}"
            )
        res = optimize.minimize(
            negative,
            x0,
            jac=True,
            method="L-BFGS-B",
            bounds=[(-bound, bound)] * x0.size,
            options={"maxiter": max_iter, "ftol": 1e-12, "gtol": 1e-9, "maxcor": 20},
        )
        x = np.asarray(res.x, dtype=np.float64)
        ll, grad = objective(x)
        iterations = int(res.nit)
        logger.debug("%s: L-BFGS-B %d evaluations, %s", model, res.nfev, res.message)
        # Newton polish when L-BFGS-B stopped early (on a relative tolerance): steps on
        # the Hessian (central differences of the gradient, computed once: near the
        # optimum it hardly changes) reach the optimum to the precision of the gradient.
        hess = None
        hess_at = x
        polish = 6 if float(np.max(np.abs(grad))) * scale > 1e-9 else 0
        if polish:
            hess = _hessian(objective, x, hessian_step)
        logger.debug("%s: Newton polish %s", model, "on" if polish else "not needed")
        for _ in range(polish):
            assert hess is not None
            if not np.isfinite(hess).all():
                break
            try:
                step = np.linalg.solve(hess, grad)
            except np.linalg.LinAlgError:
                break
            trial = np.clip(x - step, -bound, bound)
            trial_ll, trial_grad = objective(trial)
            if not np.isfinite(trial_ll) or trial_ll < ll - 1e-9 * max(1.0, abs(ll)):
                break
            x, ll, grad = trial, trial_ll, trial_grad
            iterations += 1
            if np.max(np.abs(step)) < 1e-10:
                break
    gradient_size = float(np.max(np.abs(grad)) * scale) if grad.size else 0.0
    # A parameter beyond exp(+-18) (1.5e-8 .. 6.6e7) has run off to 0 or infinity: the
    # likelihood keeps improving towards a degenerate model, so there is no optimum.
    at_bound = bool(np.any(np.abs(x) >= 18.0))
    if not np.isfinite(ll) or gradient_size > 1e-4 or at_bound:
        why = "a parameter ran off to 0 or infinity" if at_bound else "the optimum was not reached"
        logger.debug("%s: %s (optimizer: %s)", model, why, res.message)
        raise ConvergenceError(
            f"{model} did not converge ({why}; last values {_readable(names, np.exp(x))}, "
            f"mean gradient {gradient_size:.2g}); {advice}"
        )
    optimum = np.asarray(x, dtype=np.float64)
    if hess is None or float(np.max(np.abs(optimum - hess_at))) > 1e-3:
        # (the polish's Hessian serves when the polish moved the optimum only a little)
        with np.errstate(all="ignore"):
            hess = _hessian(objective, optimum, hessian_step)
    covariance = _inverse_covariance(hess)
    if covariance is None or float(np.max(np.diag(covariance))) > 100.0:
        raise ConvergenceError(
            f"{model} did not converge: the likelihood has no peak (a parameter can grow or "
            f"shrink without bound, e.g. because nobody seems to leave; last values "
            f"{_readable(names, np.exp(optimum))}); {advice}"
        )
    logger.debug("%s converged in %d iterations, LL %.6f", model, iterations, ll)
    return FitResult(optimum, float(ll), iterations, _constant(covariance))


class ParametricModel:
    """Base of the estimators: parameters, log-likelihood, ``summary``.

    Subclasses set :attr:`param_names` and fill ``params_``, ``log_likelihood_`` and
    the covariance of the log parameters in ``fit``.
    """

    param_names: ClassVar[tuple[str, ...]] = ()
    #: The model's name in messages and summaries.
    label: ClassVar[str] = "model"
    #: Every model class by its class name, for :meth:`from_json`.
    _models: ClassVar[dict[str, type[ParametricModel]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        ParametricModel._models[cls.__name__] = cls

    def __init__(
        self,
        *,
        initial_params: Mapping[str, float] | None = None,
        max_iter: int = 2000,
    ) -> None:
        if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)):
            raise InputError(
                f"max_iter must be a whole number, got {max_iter!r}", argument="max_iter"
            )
        if max_iter < 1:
            raise OutOfRangeError(f"max_iter must be >= 1, got {max_iter!r}", argument="max_iter")
        self.max_iter = int(max_iter)
        self.initial_params: dict[str, float] | None = None
        if initial_params is not None:
            unknown = set(initial_params) - set(self.param_names)
            missing = set(self.param_names) - set(initial_params)
            if unknown or missing:
                raise InputError(
                    f"initial_params must give exactly {list(self.param_names)}, got "
                    f"{sorted(initial_params)}",
                    argument="initial_params",
                )
            values = {k: float(v) for k, v in initial_params.items()}
            if not all(np.isfinite(v) and v > 0 for v in values.values()):
                raise OutOfRangeError(
                    f"initial_params must be positive numbers, got {values!r}",
                    argument="initial_params",
                )
            self.initial_params = values
        self.params_: pd.Series | None = None
        self.log_likelihood_: float | None = None
        self.n_customers_: int | None = None
        self.n_distinct_: int | None = None
        self._covariance: Callable[[], FloatArray | None] | None = None
        self._log_covariance: FloatArray | None = None

    @classmethod
    def from_params(cls, **params: float) -> Self:
        """A model with known parameters (from a fit elsewhere), ready to predict.

        Examples
        --------
        >>> from retention_xl.core.models import BetaGeo
        >>> m = BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
        >>> m.p_alive(0, 0, 39).tolist()
        [1.0]
        """
        names = cls.param_names
        if set(params) != set(names):
            raise InputError(
                f"{cls.label} takes the parameters {list(names)}, got {sorted(params)}",
                argument=next(iter(set(names) - set(params)), "params"),
            )
        values = []
        for name in names:
            value = params[name]
            if isinstance(value, bool) or not isinstance(
                value, (int, float, np.integer, np.floating)
            ):
                raise InputError(f"{name} must be a number, got {value!r}", argument=name)
            if not (np.isfinite(value) and value > 0):
                raise OutOfRangeError(
                    f"{cls.label} parameter {name} must be a positive number, got {value!r}",
                    argument=name,
                )
            values.append(float(value))
        model = cls()
        model.params_ = pd.Series(values, index=list(names), name="value", dtype=float)
        return model

    # ------------------------------------------------------------------ fitting helpers

    def _start(self, default: Sequence[float]) -> FloatArray:
        """Starting log parameters: the user's initial_params or ``default``."""
        if self.initial_params is not None:
            return np.log([self.initial_params[n] for n in self.param_names])
        return np.log(np.asarray(default, dtype=np.float64))

    def _maximize(
        self,
        objective: Objective,
        start: FloatArray,
        *,
        n_weight: float,
        advice: str,
        hessian_step: float = 1e-5,
    ) -> FitResult:
        """:func:`maximize_log_likelihood` with this model's name, parameters and
        ``max_iter``."""
        return maximize_log_likelihood(
            objective,
            start,
            model=self.label,
            names=self.param_names,
            n_weight=n_weight,
            max_iter=self.max_iter,
            advice=advice,
            hessian_step=hessian_step,
        )

    def _store(self, result: FitResult, *, n_customers: float, n_distinct: int) -> None:
        self.params_ = pd.Series(
            np.exp(result.log_params), index=list(self.param_names), name="value", dtype=float
        )
        self.log_likelihood_ = result.log_likelihood
        self.n_customers_ = round(n_customers)
        self.n_distinct_ = int(n_distinct)
        self._covariance = result.covariance
        self._log_covariance = None

    def _params(self) -> FloatArray:
        if self.params_ is None:
            raise NotEnoughDataError(
                f"{self.label} is not fitted yet: call fit(...) first", argument="model"
            )
        return self.params_.to_numpy(dtype=np.float64)

    def _log_cov(self) -> FloatArray | None:
        """The covariance of the log parameters, computed on first use (None: none)."""
        if self._log_covariance is None and self._covariance is not None:
            self._log_covariance = self._covariance()
            self._covariance = None
        return self._log_covariance

    @property
    def log_covariance(self) -> pd.DataFrame:
        """Covariance matrix of the estimates of the *log* parameters.

        The inverse of minus the Hessian of the log-likelihood in
        :math:`\\log\\theta` at the optimum: the sampling distribution the
        prediction intervals draw from
        (:func:`~retention_xl.core.models.predict_intervals`). NaN when the
        information matrix could not be inverted, or for a model made with
        :meth:`from_params`.
        """
        params = self._params()
        k = params.size
        log_cov = self._log_cov()
        values = (
            np.array(log_cov, dtype=np.float64) if log_cov is not None else np.full((k, k), np.nan)
        )
        names = list(self.param_names)
        return pd.DataFrame(values, index=pd.Index(names, name="parameter"), columns=names)

    @property
    def covariance(self) -> pd.DataFrame:
        """Covariance matrix of the parameter estimates (observed information).

        The fit works in log parameters; the delta method gives the parameters'
        covariance ``diag(theta) @ cov_log @ diag(theta)``,
        whose diagonal square roots are the standard errors of :attr:`summary`. NaN when
        the information matrix could not be inverted.
        """
        params = self._params()
        log_cov = self.log_covariance.to_numpy()
        cov = log_cov * np.outer(params, params)
        names = list(self.param_names)
        return pd.DataFrame(cov, index=pd.Index(names, name="parameter"), columns=names)

    @property
    def summary(self) -> pd.DataFrame:
        """Parameters with standard errors and 95 % confidence bounds.

        Standard errors come from the inverse Hessian of the log-likelihood in the log
        parameters (delta method: :math:`se(\\theta) = \\theta \\, se(\\log\\theta)`);
        the bounds are :math:`\\exp(\\log\\theta \\pm z_{0.975}\\, se(\\log\\theta))`,
        so they stay positive.
        """
        params = self._params()
        log_se = np.sqrt(np.diag(self.log_covariance.to_numpy()))
        z = float(special.ndtri(0.975))  # the standard normal quantile (norm.ppf)
        out = pd.DataFrame(
            {
                "coef": params,
                "se": params * log_se,
                "lower_95": params * np.exp(-z * log_se),
                "upper_95": params * np.exp(z * log_se),
            },
            index=pd.Index(list(self.param_names), name="parameter"),
        )
        out.attrs["log_likelihood"] = self.log_likelihood_
        out.attrs["model"] = self.label
        return out

    # ------------------------------------------------------------------ saving

    def to_json(self) -> str:
        """The fitted model as JSON: class, parameters, log-likelihood, counts and the
        covariance of the log parameters. :meth:`from_json` gives back a model whose
        parameters, ``summary``, ``covariance`` and predictions are equal bit for bit
        (floats are written with all their digits).

        Examples
        --------
        >>> from retention_xl.core.models import BetaGeo
        >>> m = BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
        >>> again = ParametricModel.from_json(m.to_json())
        >>> type(again).__name__, again.params_.equals(m.params_)
        ('BetaGeo', True)
        """
        params = self._params()
        if self._log_covariance is None and self._covariance is not None:
            self._log_covariance = self._covariance()
            self._covariance = None
        cov = None
        if self._log_covariance is not None:
            cov = [
                [None if not np.isfinite(v) else float(v) for v in row]
                for row in np.asarray(self._log_covariance, dtype=np.float64).tolist()
            ]
        payload = {
            "format": _FORMAT,
            "version": 1,
            "model": type(self).__name__,
            "label": self.label,
            "params": dict(zip(self.param_names, params.tolist(), strict=True)),
            "log_likelihood": self.log_likelihood_,
            "n_customers": self.n_customers_,
            "n_distinct": self.n_distinct_,
            "log_covariance": cov,
        }
        return json.dumps(payload, allow_nan=False, indent=1)

    @classmethod
    def from_json(cls, text: str | bytes) -> Any:
        """A model saved by :meth:`to_json`, ready to predict. Called on
        :class:`ParametricModel` it returns whichever model was saved; on a model class,
        it refuses another model's file."""
        try:
            payload = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise InputError(f"not a saved model (invalid JSON: {exc})", argument="text") from exc
        if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
            raise InputError(
                'not a saved retention_xl model (no "format": "retention_xl.model")',
                argument="text",
            )
        if payload.get("version") != 1:
            raise InputError(
                f"saved model version {payload.get('version')!r} is not supported (1 is)",
                argument="text",
            )
        name = payload.get("model")
        target = ParametricModel._models.get(str(name))
        if target is None:
            raise InputError(f"unknown model {name!r} in the saved file", argument="text")
        if cls is not ParametricModel and target is not cls:
            raise InputError(
                f"the file holds a {target.label} model, not {cls.label}", argument="text"
            )
        params = payload.get("params")
        if not isinstance(params, dict):
            raise InputError("the saved model has no parameters", argument="text")
        model = target.from_params(**params)
        ll = payload.get("log_likelihood")
        model.log_likelihood_ = None if ll is None else float(ll)
        for key in ("n_customers", "n_distinct"):
            value = payload.get(key)
            setattr(model, f"{key}_", None if value is None else int(value))
        cov = payload.get("log_covariance")
        if cov is not None:
            k = len(target.param_names)
            matrix = np.array(
                [[np.nan if v is None else float(v) for v in row] for row in cov],
                dtype=np.float64,
            )
            if matrix.shape != (k, k):
                raise InputError(
                    f"the saved covariance is {matrix.shape}, not {k} x {k}", argument="text"
                )
            model._log_covariance = matrix
        return model

    def __repr__(self) -> str:
        if self.params_ is None:
            return f"{type(self).__name__}(not fitted)"
        values = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        return f"{type(self).__name__}({values}, log_likelihood={self.log_likelihood_:.4f})"


_FORMAT: Final = "retention_xl.model"


def load_model(text: str | bytes) -> Any:
    """The model saved by :meth:`ParametricModel.to_json` (whichever class it is)."""
    return ParametricModel.from_json(text)


def _readable(names: Sequence[str], values: np.ndarray) -> str:
    """``r = 8.55e+06, alpha = 7.69e+07`` for messages (not a raw dict).

    >>> _readable(["r", "a"], np.array([8549236.78, 1.0]))
    'r = 8.55e+06, a = 1'
    """
    return ", ".join(f"{n} = {v:.3g}" for n, v in zip(names, values.tolist(), strict=True))
