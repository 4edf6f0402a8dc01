"""Scalar retention KPIs: the Python twins of the Excel functions.

Every function takes numbers, sequences, numpy arrays or pandas Series and
broadcasts like numpy. A scalar in gives a ``float`` out, a Series in gives a
Series out (its index kept), anything else gives an ``ndarray``. Missing values
(NaN) propagate. Rates are fractions (0.05 is 5 %); NPS is a number -100..100.

Impossible input raises a subclass of :class:`~retention_xl.errors.InputError`
naming the argument and the value: ``OutOfRangeError`` for impossible numbers,
``ZeroDenominatorError`` for a zero denominator, ``NotEnoughDataError`` for an empty
list of answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

from retention_xl.core._textgroups import PackedTexts, group_sizes
from retention_xl.errors import (
    InputError,
    NotEnoughDataError,
    OutOfRangeError,
    ZeroDenominatorError,
)

__all__ = [
    "aov",
    "at_risk_share",
    "churn_rate",
    "clv",
    "clv_cac_ratio",
    "csat",
    "grr",
    "lifespan",
    "mrr",
    "nps",
    "nrr",
    "purchase_frequency",
    "quick_ratio",
    "repeat_purchase_rate",
    "retention_rate",
]

Number: TypeAlias = float | int | np.floating[Any] | np.integer[Any]
ArrayLike: TypeAlias = Number | Sequence[Any] | npt.NDArray[Any] | pd.Series
Result: TypeAlias = Any  # float, ndarray or Series, mirroring the input
FloatArray: TypeAlias = npt.NDArray[np.float64]


class _Shape:
    """Remembers how the inputs came in, to give the result back the same way."""

    def __init__(self) -> None:
        self.index: pd.Index | None = None
        self.name: str | None = None
        self.scalar = True

    def wrap(self, values: FloatArray) -> Result:
        if self.scalar:
            return float(values.reshape(-1)[0]) if values.size == 1 else values
        if self.index is not None and values.ndim == 1 and len(self.index) == len(values):
            return pd.Series(values, index=self.index, name=self.name)
        return values


def _num(value: ArrayLike, name: str, shape: _Shape) -> FloatArray:
    """Convert one argument to a float array, refusing text and booleans."""
    if isinstance(value, pd.Series):
        if shape.index is None:
            shape.index = value.index
            shape.name = None if value.name is None else str(value.name)
        shape.scalar = False
        raw: Any = value.to_numpy(dtype=object if value.dtype == object else None)
    elif isinstance(value, np.ndarray):
        shape.scalar = shape.scalar and value.ndim == 0
        raw = value
    elif isinstance(value, (str, bytes)):
        raise InputError(f"{name} must be a number, got text {value!r}", argument=name)
    elif isinstance(value, Sequence):
        shape.scalar = False
        raw = np.asarray(value, dtype=object)
    else:
        raw = value
    arr = np.asarray(raw)
    if arr.dtype == bool or isinstance(raw, bool):
        raise InputError(f"{name} must be a number, not a boolean ({value!r})", argument=name)
    if arr.dtype.kind in "iuf":
        out = arr.astype("float64")
    else:
        flat = arr.reshape(-1)
        conv = np.empty(flat.shape, dtype="float64")
        for i, item in enumerate(flat):
            if item is None or (isinstance(item, float) and np.isnan(item)) or item is pd.NA:
                conv[i] = np.nan
            elif isinstance(item, (bool, np.bool_)) or not isinstance(
                item, (int, float, np.integer, np.floating)
            ):
                raise InputError(f"{name} must be numbers, got {item!r}", argument=name)
            else:
                conv[i] = float(item)
        out = conv.reshape(arr.shape)
    if np.isinf(out).any():
        raise OutOfRangeError(f"{name} must be finite, got {value!r}", argument=name)
    return out


def _option(value: object, name: str) -> float:
    """A single-number option (a threshold, a scale end) as a float, or raise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise InputError(f"{name} must be a number, got {value!r}", argument=name)
    return float(value)


def _first(mask: npt.NDArray[np.bool_], values: FloatArray) -> float:
    return float(np.broadcast_to(values, mask.shape)[mask].reshape(-1)[0])


def _check_nonneg(values: FloatArray, name: str) -> None:
    bad = values < 0
    if bad.any():
        raise OutOfRangeError(
            f"{name} cannot be negative, got {_first(bad, values)!r}", argument=name
        )


def _check_nonzero(values: FloatArray, name: str) -> None:
    zero = values == 0
    if zero.any():
        raise ZeroDenominatorError(f"{name} is zero, so the rate is undefined", argument=name)


def _divide(num: FloatArray, den: FloatArray) -> FloatArray:
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return np.asarray(num / den, dtype="float64")


def churn_rate(customers_start: ArrayLike, customers_lost: ArrayLike) -> Result:
    """Share of the customers at period start who were lost in the period.

    .. math:: \\text{churn} = \\frac{\\text{lost}}{\\text{start}}

    Examples
    --------
    >>> churn_rate(1000, 50)
    0.05
    """
    shape = _Shape()
    start = _num(customers_start, "customers_start", shape)
    lost = _num(customers_lost, "customers_lost", shape)
    _check_nonneg(start, "customers_start")
    _check_nonneg(lost, "customers_lost")
    over = lost > start
    if over.any():
        raise OutOfRangeError(
            f"customers_lost ({_first(over, lost)!r}) cannot exceed customers_start "
            f"({_first(over, start)!r})",
            argument="customers_lost",
        )
    _check_nonzero(start, "customers_start")
    return shape.wrap(_divide(lost, start))


def retention_rate(
    customers_start: ArrayLike, customers_end: ArrayLike, customers_new: ArrayLike
) -> Result:
    """Customer retention rate (CRR): customers kept, excluding the newly acquired.

    .. math:: \\text{CRR} = \\frac{\\text{end} - \\text{new}}{\\text{start}}

    Examples
    --------
    >>> retention_rate(1000, 1000, 150)
    0.85
    """
    shape = _Shape()
    start = _num(customers_start, "customers_start", shape)
    end = _num(customers_end, "customers_end", shape)
    new = _num(customers_new, "customers_new", shape)
    for arr, name in ((start, "customers_start"), (end, "customers_end"), (new, "customers_new")):
        _check_nonneg(arr, name)
    kept = end - new
    neg = kept < 0
    if neg.any():
        raise OutOfRangeError(
            f"customers_new ({_first(neg, new)!r}) cannot exceed customers_end "
            f"({_first(neg, end)!r})",
            argument="customers_new",
        )
    over = kept > start
    if over.any():
        raise OutOfRangeError(
            f"customers_end - customers_new ({_first(over, kept)!r}) cannot exceed "
            f"customers_start ({_first(over, start)!r}): check that new customers are counted",
            argument="customers_end",
        )
    _check_nonzero(start, "customers_start")
    return shape.wrap(_divide(kept, start))


def count_repeaters(ids: PackedTexts | Sequence[Any] | npt.NDArray[Any]) -> tuple[int, int]:
    """``(ids appearing at least twice, distinct ids)``, counted exactly.

    ``ids`` are strings (a list, an object array, or
    :class:`~retention_xl.core._textgroups.PackedTexts`) or integers. Strings are
    grouped by a vectorised exact method (their UTF-8 bytes as 64-bit words, sorted or
    hashed and then compared; see :mod:`retention_xl.core._textgroups`), several times
    faster than a hash table of a million string objects.

    Examples
    --------
    >>> count_repeaters(np.array(["a", "b", "a", "c", "c", "c"], dtype=object))
    (2, 3)
    >>> count_repeaters(np.array([1001, 1002, 1001]))
    (1, 2)
    """
    sizes = group_sizes(ids)
    return int(np.count_nonzero(sizes >= 2)), int(sizes.size)


def _ids_repeat_rate(customer_ids: ArrayLike) -> float:
    ids = pd.Series(np.asarray(customer_ids, dtype=object).reshape(-1))
    ids = ids[ids.notna() & (ids.astype(str).str.strip() != "")]
    if ids.empty:
        raise ZeroDenominatorError("customer_ids is empty: no customers", argument="customer_ids")
    repeaters, customers = count_repeaters(ids.astype(str).to_numpy(dtype=object))
    return float(repeaters / customers)


def repeat_purchase_rate(
    repeat_customers: ArrayLike, total_customers: ArrayLike | None = None
) -> Result:
    """Share of customers with two or more purchases.

    Two forms, like the Excel function:

    * ``repeat_purchase_rate(repeat_customers, total_customers)`` gives
      ``repeat / total``;
    * ``repeat_purchase_rate(customer_ids)`` takes one customer id per order and
      counts the customers that appear at least twice.

    .. math:: \\text{RPR} = \\frac{\\#\\{c : \\text{orders}_c \\ge 2\\}}{\\#\\{c\\}}

    Examples
    --------
    >>> repeat_purchase_rate(200, 1000)
    0.2
    >>> repeat_purchase_rate(["a", "b", "a", "c"])
    0.3333333333333333
    """
    if total_customers is None:
        return _ids_repeat_rate(repeat_customers)
    shape = _Shape()
    rep = _num(repeat_customers, "repeat_customers", shape)
    tot = _num(total_customers, "total_customers", shape)
    _check_nonneg(rep, "repeat_customers")
    _check_nonneg(tot, "total_customers")
    over = rep > tot
    if over.any():
        raise OutOfRangeError(
            f"repeat_customers ({_first(over, rep)!r}) cannot exceed total_customers "
            f"({_first(over, tot)!r})",
            argument="repeat_customers",
        )
    _check_nonzero(tot, "total_customers")
    return shape.wrap(_divide(rep, tot))


def clv(
    avg_purchase_value: ArrayLike,
    purchase_frequency: ArrayLike,
    lifespan: ArrayLike,
    gross_margin: ArrayLike = 1.0,
) -> Result:
    """Customer lifetime value, the articles' simple form.

    .. math:: \\text{CLV} = \\text{APV} \\times \\text{APF} \\times \\text{lifespan}
              \\times \\text{margin}

    ``purchase_frequency`` and ``lifespan`` must use the same time unit (purchases
    per year and years, say). ``gross_margin`` is a fraction 0..1 (1 = revenue CLV).

    Examples
    --------
    >>> clv(50, 4, 5)
    1000.0
    """
    shape = _Shape()
    apv = _num(avg_purchase_value, "avg_purchase_value", shape)
    apf = _num(purchase_frequency, "purchase_frequency", shape)
    life = _num(lifespan, "lifespan", shape)
    margin = _num(gross_margin, "gross_margin", shape)
    for arr, name in (
        (apv, "avg_purchase_value"),
        (apf, "purchase_frequency"),
        (life, "lifespan"),
        (margin, "gross_margin"),
    ):
        _check_nonneg(arr, name)
    over = margin > 1
    if over.any():
        raise OutOfRangeError(
            f"gross_margin is a fraction between 0 and 1, got {_first(over, margin)!r} "
            f"(write 0.6 for 60 %)",
            argument="gross_margin",
        )
    with np.errstate(over="ignore"):  # absurdly large inputs give inf, not a warning
        return shape.wrap(np.asarray(apv * apf * life * margin, dtype="float64"))


def clv_cac_ratio(clv: ArrayLike, cac: ArrayLike) -> Result:
    """Customer lifetime value over customer acquisition cost (3 means 3:1).

    .. math:: \\text{ratio} = \\frac{\\text{CLV}}{\\text{CAC}}

    Examples
    --------
    >>> clv_cac_ratio(300, 100)
    3.0
    """
    shape = _Shape()
    value = _num(clv, "clv", shape)
    cost = _num(cac, "cac", shape)
    _check_nonneg(cost, "cac")
    _check_nonzero(cost, "cac")
    return shape.wrap(_divide(value, cost))


def _scores(scores: ArrayLike, name: str) -> FloatArray:
    shape = _Shape()
    arr = _num(scores, name, shape).reshape(-1)
    arr = arr[~np.isnan(arr)]
    if arr.size == 0:
        raise NotEnoughDataError(f"{name} has no answers", argument=name)
    return arr


def nps(scores_or_promoters: ArrayLike, detractors_share: ArrayLike | None = None) -> Result:
    """Net Promoter Score, -100..100.

    Two forms, like the Excel function:

    * ``nps(scores)``: answers on the 0-10 scale; promoters score 9-10, detractors
      0-6, passives 7-8 count in the total. Blanks (NaN) are ignored.
    * ``nps(promoters_share, detractors_share)``: shares as fractions 0..1.

    .. math:: \\text{NPS} = 100 \\times (\\%\\text{promoters} - \\%\\text{detractors})

    Examples
    --------
    >>> nps(0.7, 0.1)
    60.0
    >>> nps([10, 9, 8, 3])
    25.0
    """
    if detractors_share is not None:
        shape = _Shape()
        pro = _num(scores_or_promoters, "promoters_share", shape)
        det = _num(detractors_share, "detractors_share", shape)
        for arr, name in ((pro, "promoters_share"), (det, "detractors_share")):
            _check_nonneg(arr, name)
            over = arr > 1
            if over.any():
                raise OutOfRangeError(
                    f"{name} is a fraction between 0 and 1, got {_first(over, arr)!r} "
                    f"(write 0.7 for 70 %)",
                    argument=name,
                )
        both = pro + det > 1 + 1e-12
        if both.any():
            raise OutOfRangeError(
                "promoters_share + detractors_share cannot exceed 1",
                argument="detractors_share",
            )
        return shape.wrap(np.asarray(100.0 * (pro - det), dtype="float64"))
    arr = _scores(scores_or_promoters, "scores")
    bad = (arr < 0) | (arr > 10) | (arr != np.floor(arr))
    if bad.any():
        raise OutOfRangeError(
            f"scores must be whole numbers from 0 to 10, got {float(arr[bad][0])!r}",
            argument="scores",
        )
    promoters = np.count_nonzero(arr >= 9)
    detractors = np.count_nonzero(arr <= 6)
    return float(100.0 * (promoters - detractors) / arr.size)


def csat(scores: ArrayLike, satisfied_min: float = 4, *, scale_max: float = 5) -> float:
    """Customer satisfaction: the share of answers at or above ``satisfied_min``.

    Scores run from 1 to ``scale_max`` (default 1-5, satisfied = 4 or 5). Blanks
    are ignored.

    .. math:: \\text{CSAT} = \\frac{\\#\\{s \\ge \\text{satisfied\\_min}\\}}{\\#\\{s\\}}

    Examples
    --------
    >>> csat([5] * 400 + [2] * 100)
    0.8
    """
    arr = _scores(scores, "scores")
    satisfied_min = _option(satisfied_min, "satisfied_min")
    scale_max = _option(scale_max, "scale_max")
    if not scale_max > 1:
        raise OutOfRangeError(
            f"scale_max must be above 1 (the top of the scale), got {scale_max!r}",
            argument="scale_max",
        )
    if not 1 <= satisfied_min <= scale_max:
        raise OutOfRangeError(
            f"satisfied_min must lie on the scale 1..{scale_max:g}, got {satisfied_min!r}",
            argument="satisfied_min",
        )
    bad = (arr < 1) | (arr > scale_max)
    if bad.any():
        raise OutOfRangeError(
            f"scores must lie on the scale 1..{scale_max:g}, got {float(arr[bad][0])!r}",
            argument="scores",
        )
    return float(np.count_nonzero(arr >= satisfied_min) / arr.size)


def mrr(customers_or_amounts: ArrayLike, arpc: ArrayLike | None = None) -> Result:
    """Monthly recurring revenue.

    * ``mrr(customers, arpc)``: customers x average revenue per customer;
    * ``mrr(monthly_amounts)``: the sum of monthly recurring amounts (blanks ignored).

    .. math:: \\text{MRR} = \\text{customers} \\times \\text{ARPC} = \\sum \\text{monthly amounts}

    Examples
    --------
    >>> mrr(100, 50)
    5000.0
    >>> mrr([20.0, 30.0, None])
    50.0
    """
    if arpc is None:
        shape = _Shape()
        amounts = _num(customers_or_amounts, "monthly_amounts", shape)
        _check_nonneg(amounts[~np.isnan(amounts)], "monthly_amounts")
        return float(np.nansum(amounts))
    shape = _Shape()
    customers = _num(customers_or_amounts, "customers", shape)
    price = _num(arpc, "arpc", shape)
    _check_nonneg(customers, "customers")
    _check_nonneg(price, "arpc")
    with np.errstate(over="ignore"):
        return shape.wrap(np.asarray(customers * price, dtype="float64"))


def aov(order_amounts: ArrayLike) -> float:
    """Average order value: the mean of the order amounts (blanks ignored).

    Pass amounts without tax and shipping, net of refunds.

    .. math:: \\text{AOV} = \\frac{\\sum \\text{amount}}{\\#\\text{orders}}

    Examples
    --------
    >>> aov([10.0, 20.0, 30.0])
    20.0
    """
    shape = _Shape()
    amounts = _num(order_amounts, "order_amounts", shape).reshape(-1)
    amounts = amounts[~np.isnan(amounts)]
    if amounts.size == 0:
        raise ZeroDenominatorError("order_amounts is empty: no orders", argument="order_amounts")
    return float(amounts.mean())


def purchase_frequency(orders: ArrayLike, customers: ArrayLike) -> Result:
    """Average number of orders per customer in the period.

    .. math:: \\text{APF} = \\frac{\\text{orders}}{\\text{customers}}

    Examples
    --------
    >>> purchase_frequency(4000, 1000)
    4.0
    """
    shape = _Shape()
    n_orders = _num(orders, "orders", shape)
    n_customers = _num(customers, "customers", shape)
    _check_nonneg(n_orders, "orders")
    _check_nonneg(n_customers, "customers")
    _check_nonzero(n_customers, "customers")
    return shape.wrap(_divide(n_orders, n_customers))


def lifespan(churn_rate: ArrayLike) -> Result:
    """Expected customer lifetime in periods under constant churn.

    .. math:: \\text{lifespan} = \\frac{1}{\\text{churn}}

    Examples
    --------
    >>> lifespan(0.2)
    5.0
    """
    shape = _Shape()
    churn = _num(churn_rate, "churn_rate", shape)
    _check_nonneg(churn, "churn_rate")
    over = churn > 1
    if over.any():
        raise OutOfRangeError(
            f"churn_rate is a fraction between 0 and 1, got {_first(over, churn)!r}",
            argument="churn_rate",
        )
    _check_nonzero(churn, "churn_rate")
    return shape.wrap(_divide(np.ones_like(churn), churn))


def _mrr_parts(
    start_mrr: ArrayLike,
    contraction: ArrayLike,
    churned: ArrayLike,
    shape: _Shape,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    start = _num(start_mrr, "start_mrr", shape)
    contr = _num(contraction, "contraction", shape)
    lost = _num(churned, "churned", shape)
    for arr, name in ((start, "start_mrr"), (contr, "contraction"), (lost, "churned")):
        _check_nonneg(arr, name)
    with np.errstate(over="ignore"):
        over = contr + lost > start
    if over.any():
        raise OutOfRangeError(
            "contraction + churned cannot exceed start_mrr "
            f"({_first(over, contr + lost)!r} > {_first(over, start)!r}); "
            "pass contraction and churn as positive amounts",
            argument="churned",
        )
    return start, contr, lost


def nrr(
    start_mrr: ArrayLike, expansion: ArrayLike, contraction: ArrayLike, churned: ArrayLike
) -> Result:
    """Net revenue retention of the customers active at period start.

    .. math:: \\text{NRR} = \\frac{\\text{start} + \\text{expansion} - \\text{contraction}
              - \\text{churned}}{\\text{start}}

    Amounts are positive numbers; new business is not included.

    Examples
    --------
    >>> nrr(10000, 1500, 500, 800)
    1.02
    """
    shape = _Shape()
    exp = _num(expansion, "expansion", shape)
    _check_nonneg(exp, "expansion")
    start, contr, lost = _mrr_parts(start_mrr, contraction, churned, shape)
    _check_nonzero(start, "start_mrr")
    with np.errstate(over="ignore", invalid="ignore"):
        kept = start + exp - contr - lost
    return shape.wrap(_divide(kept, start))


def grr(start_mrr: ArrayLike, contraction: ArrayLike, churned: ArrayLike) -> Result:
    """Gross revenue retention: NRR without expansion, never above 100 %.

    .. math:: \\text{GRR} = \\frac{\\text{start} - \\text{contraction} - \\text{churned}}
              {\\text{start}}

    Examples
    --------
    >>> grr(10000, 500, 800)
    0.87
    """
    shape = _Shape()
    start, contr, lost = _mrr_parts(start_mrr, contraction, churned, shape)
    _check_nonzero(start, "start_mrr")
    return shape.wrap(_divide(start - contr - lost, start))


def quick_ratio(
    new: ArrayLike, expansion: ArrayLike, contraction: ArrayLike, churned: ArrayLike
) -> Result:
    """SaaS quick ratio: MRR gained over MRR lost (above 4 is efficient growth).

    .. math:: \\text{QR} = \\frac{\\text{new} + \\text{expansion}}
              {\\text{contraction} + \\text{churned}}

    Examples
    --------
    >>> quick_ratio(3000, 1000, 400, 600)
    4.0
    """
    shape = _Shape()
    gained_new = _num(new, "new", shape)
    exp = _num(expansion, "expansion", shape)
    contr = _num(contraction, "contraction", shape)
    lost = _num(churned, "churned", shape)
    for arr, name in (
        (gained_new, "new"),
        (exp, "expansion"),
        (contr, "contraction"),
        (lost, "churned"),
    ):
        _check_nonneg(arr, name)
    with np.errstate(over="ignore"):
        den = contr + lost
        gained = gained_new + exp
    if (den == 0).any():
        raise ZeroDenominatorError(
            "contraction + churned is zero: nothing was lost, so the ratio is undefined",
            argument="churned",
        )
    return shape.wrap(_divide(gained, den))


def at_risk_share(p_alive_values: ArrayLike, threshold: float = 0.5) -> float:
    """Share of customers whose probability of being alive is below ``threshold``.

    .. math:: \\text{at risk} = \\frac{\\#\\{c : P(\\text{alive})_c < t\\}}{\\#\\{c\\}}

    Blanks are ignored. Compare with the e-commerce benchmark: about 28 % typical,
    18 % or less a realistic target.

    Examples
    --------
    >>> at_risk_share([0.9, 0.2, 0.6, 0.4])
    0.5
    """
    arr = _scores(p_alive_values, "p_alive_values")
    bad = (arr < 0) | (arr > 1)
    if bad.any():
        raise OutOfRangeError(
            f"p_alive_values are probabilities 0..1, got {float(arr[bad][0])!r}",
            argument="p_alive_values",
        )
    threshold = _option(threshold, "threshold")
    if not 0 < threshold <= 1:
        raise OutOfRangeError(
            f"threshold must lie in (0, 1], got {threshold!r}", argument="threshold"
        )
    return float(np.count_nonzero(arr < threshold) / arr.size)
