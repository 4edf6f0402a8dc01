"""Cohort tables: customers grouped by the period of their first purchase.

Rows are acquisition periods (calendar months by default, or quarters / years),
columns are periods since acquisition ``0..N``. Orders go through
:func:`~retention_xl.core.schema.prepare_orders` (duplicates dropped, cancelled orders
ignored, refunds lower revenue, only positive-revenue orders are purchases); a
customer's cohort is the period of their first purchase, and customers with no
purchase are in no cohort.

* ``measure="customers"``: the share of the cohort with at least one purchase in
  period ``k`` after acquisition,
  :math:`c_k / c_0` (so offset 0 is 1 by definition);
* ``measure="revenue"``: the cohort's net revenue in period ``k`` (every row of its
  customers, refund rows on their own date) over its revenue in period 0.

A cell whose period lies after ``as_of``'s period is not observable yet and is NaN
(blank in Excel), never 0. The period holding ``as_of`` is observable (partial).
Acquisition periods without any new customer are left out.
"""

from __future__ import annotations

from typing import Final, Literal

import numpy as np
import pandas as pd

from retention_xl.core._orderdays import (
    AsOf,
    FloatArray,
    IntArray,
    OrderDays,
    load_order_days,
    period_label,
    period_number,
    resolve_freq,
)
from retention_xl.core.schema import PreparedOrders
from retention_xl.errors import InputError, OutOfRangeError

__all__ = [
    "MEASURES",
    "cohort_counts",
    "cohort_counts_from_cells",
    "cohort_matrix",
    "matrix_of_counts",
]

MEASURES: Final = ("customers", "revenue")
Measure = Literal["customers", "revenue"]


def _check_measure(measure: object) -> str:
    if isinstance(measure, str) and measure.strip().lower() in MEASURES:
        return measure.strip().lower()
    raise InputError(
        f"measure must be one of {list(MEASURES)}, got {measure!r}", argument="measure"
    )


def _check_max_offset(max_offset: object) -> int | None:
    if max_offset is None:
        return None
    if isinstance(max_offset, bool) or not isinstance(max_offset, (int, np.integer)):
        raise InputError(
            f"max_offset must be a whole number of periods or None, got {max_offset!r}",
            argument="max_offset",
        )
    if int(max_offset) < 0:
        raise OutOfRangeError(
            f"max_offset cannot be negative, got {max_offset!r}", argument="max_offset"
        )
    return int(max_offset)


def _cohort_grid(
    od: OrderDays, measure: str, freq: str, max_offset: int | None
) -> tuple[pd.Index, IntArray, FloatArray, IntArray]:
    """Labels, cohort sizes, the (cohorts x offsets) values and each row's last offset."""
    if od.code.size == 0:
        return (
            pd.Index([], name="cohort", dtype="string"),
            np.zeros(0, np.int64),
            np.zeros((0, 0 if max_offset is None else max_offset + 1)),
            np.zeros(0, np.int64),
        )
    n_customers = len(od.ids)
    starts = od.customer_starts()
    cust = od.code[starts]
    period = period_number(od.day, freq)
    first_period = np.zeros(n_customers, dtype=np.int64)
    first_period[cust] = period[starts]  # days are sorted within each customer
    has_cohort = np.zeros(n_customers, dtype=bool)
    has_cohort[cust] = True
    last_period = int(period_number(np.array([od.as_of], dtype=np.int64), freq)[0])

    cohort_periods, cohort_of_customer = np.unique(first_period[cust], return_inverse=True)
    row_of = np.full(n_customers, -1, dtype=np.int64)
    row_of[cust] = cohort_of_customer
    n_rows = cohort_periods.size
    observable = last_period - cohort_periods  # last observable offset of each row
    width = int(observable.max()) + 1 if max_offset is None else max_offset + 1
    sizes = np.bincount(cohort_of_customer, minlength=n_rows).astype(np.int64)

    if measure == "customers":
        # distinct (customer, period) pairs: purchase days are sorted per customer
        same = np.zeros(od.code.size, dtype=bool)
        same[1:] = (od.code[1:] == od.code[:-1]) & (period[1:] == period[:-1])
        first_in_period = ~same
        code = od.code[first_in_period]
        offset = period[first_in_period] - first_period[code]
        row = row_of[code]
        weights = None
    else:
        code = od.row_code
        keep = has_cohort[code]
        code = code[keep]
        offset = period_number(od.row_day[keep], freq) - first_period[code]
        row = row_of[code]
        weights = od.row_revenue[keep]
        inside = offset >= 0  # a refund dated before the first purchase is left out
        if not inside.all():
            offset, row, weights = offset[inside], row[inside], weights[inside]
    fits = offset < width
    cell = row[fits] * width + offset[fits]
    values = np.bincount(
        cell, weights=None if weights is None else weights[fits], minlength=n_rows * width
    ).astype(np.float64)
    return _labels(cohort_periods, freq), sizes, values.reshape(n_rows, width), observable


def _labels(cohort_periods: IntArray, freq: str) -> pd.Index:
    return pd.Index(
        [period_label(int(p), freq) for p in cohort_periods], name="cohort", dtype="string"
    )


def _table(
    labels: pd.Index, sizes: IntArray, values: FloatArray, observable: IntArray
) -> pd.DataFrame:
    table = pd.DataFrame(
        _mask_unobservable(values, observable), index=labels, columns=range(values.shape[1])
    )
    table.insert(0, "size", sizes)
    return table


def cohort_counts_from_cells(
    cohort_periods: IntArray,
    sizes: IntArray,
    cell_period: IntArray,
    cell_offset: IntArray,
    cell_value: FloatArray,
    *,
    freq: str,
    as_of_period: int,
    max_offset: int | None = None,
) -> pd.DataFrame:
    """:func:`cohort_counts` from cells aggregated elsewhere (an engine's SQL).

    ``cohort_periods`` (period numbers, :func:`~retention_xl.core._orderdays.period_number`)
    and ``sizes`` describe the cohorts; each cell is a cohort period, an offset ``>= 0``
    and its value (customers with a purchase, or net revenue). Cells at offsets beyond
    the table's width are dropped; the unobservable cells (after ``as_of_period``) are
    NaN, as in :func:`cohort_counts`.

    >>> cohort_counts_from_cells(np.array([648]), np.array([2]), np.array([648, 648]),
    ...     np.array([0, 1]), np.array([2.0, 1.0]), freq="M", as_of_period=649).to_numpy().tolist()
    [[2.0, 2.0, 1.0]]
    """
    limit = _check_max_offset(max_offset)
    periods = np.asarray(cohort_periods, dtype=np.int64)
    order = np.argsort(periods, kind="stable")
    periods = periods[order]
    size_of = np.asarray(sizes, dtype=np.int64)[order]
    n_rows = periods.size
    if n_rows == 0:
        width = 0 if limit is None else limit + 1
        empty: FloatArray = np.zeros((0, width), dtype=np.float64)
        return _table(_labels(periods, freq), size_of, empty, size_of)
    observable = int(as_of_period) - periods
    width = int(observable.max()) + 1 if limit is None else limit + 1
    row = np.searchsorted(periods, np.asarray(cell_period, dtype=np.int64))
    offset = np.asarray(cell_offset, dtype=np.int64)
    fits = (offset >= 0) & (offset < width)
    values = np.bincount(
        row[fits] * width + offset[fits],
        weights=np.asarray(cell_value, dtype=np.float64)[fits],
        minlength=n_rows * width,
    ).astype(np.float64)
    return _table(_labels(periods, freq), size_of, values.reshape(n_rows, width), observable)


def _mask_unobservable(values: FloatArray, observable: IntArray) -> FloatArray:
    offsets = np.arange(values.shape[1])
    out = values.copy()
    out[offsets[None, :] > observable[:, None]] = np.nan
    return out


def cohort_counts(
    orders: pd.DataFrame | PreparedOrders,
    *,
    measure: Measure = "customers",
    period: str = "M",
    as_of: AsOf = None,
    max_offset: int | None = None,
) -> pd.DataFrame:
    """Absolute cohort table: active customers (or net revenue) per offset, with sizes.

    Parameters
    ----------
    orders
        Canonical orders or prepared orders.
    measure
        ``"customers"`` (customers with a purchase in the period) or ``"revenue"``
        (net revenue of the cohort's customers in the period).
    period
        ``"M"``, ``"Q"`` or ``"Y"``: the length of a cohort and of an offset.
    as_of
        Last day observed (inclusive); later orders are ignored. Default: the last
        order's day.
    max_offset
        Last offset shown; default: the oldest cohort's last observable offset.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``cohort`` label (``2024-01``, ``2024-Q1`` or ``2024``): a ``size``
        column (customers acquired), then columns ``0..N``; NaN where not observable.

    Examples
    --------
    >>> df = pd.DataFrame({"customer_id": ["a", "b", "a", "c"],
    ...                    "order_id": ["1", "2", "3", "4"],
    ...                    "order_date": pd.to_datetime(["2024-01-05", "2024-01-20",
    ...                                                  "2024-02-10", "2024-02-11"]),
    ...                    "amount": [10.0, 20.0, 30.0, 40.0]})
    >>> cohort_counts(df).to_numpy().tolist()
    [[2.0, 2.0, 1.0], [1.0, 1.0, nan]]
    """
    freq = resolve_freq(period, "period")
    kind = _check_measure(measure)
    limit = _check_max_offset(max_offset)
    od = load_order_days(orders, as_of, sort_ids=False)
    labels, sizes, values, observable = _cohort_grid(od, kind, freq, limit)
    return _table(labels, sizes, values, observable)


def cohort_matrix(
    orders: pd.DataFrame | PreparedOrders,
    *,
    measure: Measure = "customers",
    period: str = "M",
    as_of: AsOf = None,
    max_offset: int | None = None,
) -> pd.DataFrame:
    """Cohort retention matrix: fractions of offset 0, NaN where not observable.

    .. math:: m_{c,k} = \\frac{x_{c,k}}{x_{c,0}}

    where :math:`x_{c,k}` is the number of cohort ``c``'s customers with a purchase
    (or their net revenue) in the ``k``-th period after acquisition. Arguments as in
    :func:`cohort_counts`. A revenue cell is NaN also when the cohort's period-0
    revenue is zero.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``cohort`` label, columns ``0..N``.

    Examples
    --------
    >>> df = pd.DataFrame({"customer_id": ["a", "b", "a", "c"],
    ...                    "order_id": ["1", "2", "3", "4"],
    ...                    "order_date": pd.to_datetime(["2024-01-05", "2024-01-20",
    ...                                                  "2024-02-10", "2024-02-11"]),
    ...                    "amount": [10.0, 20.0, 30.0, 40.0]})
    >>> cohort_matrix(df).to_numpy().tolist()
    [[1.0, 0.5], [1.0, nan]]
    >>> cohort_matrix(df, measure="revenue").to_numpy().tolist()
    [[1.0, 1.0], [1.0, nan]]
    """
    return matrix_of_counts(
        cohort_counts(orders, measure=measure, period=period, as_of=as_of, max_offset=max_offset)
    )


def matrix_of_counts(table: pd.DataFrame) -> pd.DataFrame:
    """The :func:`cohort_matrix` of a :func:`cohort_counts` table: each cell over offset 0
    (NaN where offset 0 is zero or the cell is not observable)."""
    counts = table.drop(columns="size")
    values = counts.to_numpy(dtype=np.float64)
    if values.shape[1] == 0:
        return counts
    base = values[:, :1]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(base != 0, values / np.where(base != 0, base, 1.0), np.nan)
    return pd.DataFrame(ratio, index=counts.index, columns=counts.columns)
