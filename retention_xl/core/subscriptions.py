"""Subscription analytics: monthly MRR per customer, MRR movements and SaaS KPIs.

Conventions (FACTS.md section 3, after Stripe and ChartMogul):

* **Monthly normalisation.** An item billing ``amount`` every ``interval_count``
  ``interval`` s is worth, per month,

  .. math:: \\text{MRR} = \\frac{\\text{amount} \\times f}{\\text{interval\\_count}},
            \\qquad f = 1 \\text{ (month)},\\ \\tfrac{1}{12} \\text{ (year)},\\
            \\tfrac{52}{12} \\text{ (week)},\\ \\tfrac{365}{12} \\text{ (day)}.

  Amounts exclude tax (the schema says so); free plans (amount 0) add nothing.
* **Statuses.** ``active`` and ``past_due`` count (Stripe keeps past-due subscriptions
  in MRR); ``canceled`` counts until its ``end_date``; ``trialing``, ``incomplete``,
  ``incomplete_expired``, ``unpaid`` and ``paused`` count 0. A row's status holds for
  its whole interval: to record a history (trial, then paid; paid, then unpaid), give
  one row per interval.
* **Snapshot rule.** The MRR of month *M* is what is billed at the end of *M*: an item
  counts in *M* when ``start_date`` is before the first day of the next month and it has
  not ended by then (``end_date`` is NaT or ``end_date >= `` first day of the next
  month; ``end_date`` is the first day no longer billed). An item that starts and ends
  inside the same month never counts.
* **Movements** are computed per customer, after adding up all of the customer's items,
  so moving from one plan to another is an expansion or a contraction and churn happens
  only when the customer has no other paying subscription left (ChartMogul).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any, Final, TypedDict

import numpy as np
import numpy.typing as npt
import pandas as pd

from retention_xl.core import kpis
from retention_xl.core.schema import validate_subscriptions
from retention_xl.errors import InputError, NotEnoughDataError, OutOfRangeError

__all__ = [
    "COUNTED_STATUSES",
    "MOVEMENT_COLUMNS",
    "SubscriptionKpis",
    "headline_month",
    "monthly_mrr",
    "mrr_movements",
    "subscription_kpis",
    "subscription_movements",
    "subscriptions_as_of",
]

logger = logging.getLogger(__name__)

#: Statuses whose items count in MRR (``canceled`` only until its end date).
COUNTED_STATUSES: Final = frozenset({"active", "past_due", "canceled"})
#: Months per billing interval, as a fraction (numerator, denominator).
_PER_MONTH: Final[Mapping[str, tuple[float, float]]] = {
    "month": (1.0, 1.0),
    "year": (1.0, 12.0),
    "week": (52.0, 12.0),
    "day": (365.0, 12.0),
}
#: The columns of :func:`mrr_movements`, in order.
MOVEMENT_COLUMNS: Final = (
    "starting_mrr",
    "new",
    "expansion",
    "contraction",
    "churn",
    "reactivation",
    "ending_mrr",
    "customers",
    "starting_customers",
    "new_customers",
    "reactivated_customers",
    "churned_customers",
)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


# -- month arithmetic: a month is an integer, year * 12 + month - 1 -----------------------


def _month_number(dates: pd.Series) -> IntArray:
    years = dates.dt.year.to_numpy(dtype="int64")
    months = dates.dt.month.to_numpy(dtype="int64")
    return np.asarray(years * 12 + months - 1, dtype="int64")


def _month_start(number: IntArray) -> pd.DatetimeIndex:
    months = (np.asarray(number, dtype="int64") - 1970 * 12).astype("datetime64[M]")
    return pd.DatetimeIndex(months.astype("datetime64[ns]"), name="month")


def _one_month(value: object, argument: str) -> int:
    if isinstance(value, pd.Period):
        value = value.start_time
    try:
        stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"{argument} must be a date, got {value!r}", argument=argument) from None
    if pd.isna(stamp):
        raise InputError(f"{argument} must be a date, got {value!r}", argument=argument)
    return int(stamp.year * 12 + stamp.month - 1)


# -- monthly MRR ------------------------------------------------------------------------


def _normalised(subscriptions: pd.DataFrame) -> pd.DataFrame:
    subs = validate_subscriptions(subscriptions)
    open_canceled = (subs["status"] == "canceled") & subs["end_date"].isna()
    if open_canceled.any():
        pos = int(np.flatnonzero(open_canceled.to_numpy())[0])
        raise InputError(
            f"subscriptions: a canceled subscription has no end_date (row {pos}, "
            f"subscription_id {subs['subscription_id'].iloc[pos]!r}); give the date its "
            f"billing stopped",
            argument="end_date",
        )
    num = subs["interval"].map(lambda i: _PER_MONTH[i][0]).to_numpy(dtype="float64")
    den = subs["interval"].map(lambda i: _PER_MONTH[i][1]).to_numpy(dtype="float64")
    count = subs["interval_count"].to_numpy(dtype="float64")
    subs["monthly"] = subs["amount"].to_numpy(dtype="float64") * num / (den * count)
    return subs


def _default_range(subs: pd.DataFrame) -> tuple[int, int]:
    if subs.empty:
        raise NotEnoughDataError("subscriptions has no rows", argument="subscriptions")
    first = int(_month_number(subs["start_date"]).min())
    dates = pd.concat([subs["start_date"], subs["end_date"].dropna()])
    last = int(_month_number(dates).max())
    return first, last


def headline_month(subscriptions: pd.DataFrame, as_of: object = None) -> pd.Timestamp:
    """The month headline subscription KPIs are for: the last complete month up to
    the data's as-of date (:func:`subscriptions_as_of`, or ``as_of``).

    An end date in the future (a yearly plan set to cancel at the end of its term) is
    a schedule, not an observation; a month still under way has no end-of-month
    snapshot yet. When the data covers a single, unfinished month, that month.

    >>> subs = pd.DataFrame({"customer_id": ["a", "b"], "subscription_id": ["1", "2"],
    ...     "start_date": ["2025-01-10", "2025-03-04"], "end_date": [None, "2026-02-01"],
    ...     "amount": [10.0, 120.0], "interval": ["month", "year"], "status": ["active"] * 2})
    >>> headline_month(subs).strftime("%Y-%m"), headline_month(subs, "2025-03-31").strftime("%Y-%m")
    ('2025-02', '2025-03')
    """
    subs = _normalised(subscriptions)
    if as_of is None:
        stamp = subscriptions_as_of(subs)
    else:
        _one_month(as_of, "as_of")  # refuses what is not a date, naming the argument
        stamp = pd.Timestamp(as_of)  # type: ignore[arg-type]
    month = stamp.to_period("M").to_timestamp()
    month_end = (stamp + pd.offsets.MonthEnd(0)).normalize()
    first = pd.Timestamp(subs["start_date"].min()).to_period("M").to_timestamp()
    if stamp.normalize() != month_end and month > first:
        month = month - pd.offsets.MonthBegin(1)
    return pd.Timestamp(month)


def subscriptions_as_of(subscriptions: pd.DataFrame) -> pd.Timestamp:
    """The date the data is as of: its latest observed event.

    That is the latest ``start_date``, or a later ``end_date`` of an item no longer
    counted (``canceled`` with its end reached, ``unpaid``...) when it is not after
    the latest start by more than a month; end dates of items still paying are
    schedules and never count.

    >>> subs = pd.DataFrame({"customer_id": ["a", "b"], "subscription_id": ["1", "2"],
    ...     "start_date": ["2025-01-10", "2025-03-04"], "end_date": [None, "2026-02-01"],
    ...     "amount": [10.0, 120.0], "interval": ["month", "year"], "status": ["active"] * 2})
    >>> subscriptions_as_of(subs).date()
    datetime.date(2025, 3, 4)
    """
    subs = subscriptions if "monthly" in subscriptions.columns else _normalised(subscriptions)
    latest_start = pd.Timestamp(subs["start_date"].max())
    ends = subs.loc[subs["status"] == "canceled", "end_date"].dropna()
    ends = ends[ends <= latest_start + pd.Timedelta(days=31)]
    if ends.empty:
        return latest_start
    return max(latest_start, pd.Timestamp(ends.max()))


def _item_months(
    subs: pd.DataFrame, first: int, last: int
) -> tuple[IntArray, IntArray, FloatArray]:
    """Expand counted items to (customer code, month number, monthly amount) rows."""
    counted = subs["status"].isin(COUNTED_STATUSES).to_numpy() & (subs["monthly"].to_numpy() > 0)
    items = subs[counted]
    codes, _ = pd.factorize(subs["customer_id"], sort=True)
    codes = codes[counted]
    begin = _month_number(items["start_date"])
    ended = items["end_date"].notna().to_numpy()
    stop = np.full(len(items), last, dtype="int64")
    if ended.any():
        stop[ended] = _month_number(items["end_date"][ended]) - 1
    begin = np.maximum(begin, first)
    stop = np.minimum(stop, last)
    n_months = np.clip(stop - begin + 1, 0, None)
    rows = np.repeat(np.arange(len(items)), n_months)
    offsets = np.arange(rows.size) - np.repeat(np.cumsum(n_months) - n_months, n_months)
    month = begin[rows] + offsets
    amount = items["monthly"].to_numpy(dtype="float64")[rows]
    return np.asarray(codes[rows], dtype="int64"), month.astype("int64"), amount


def _range(subs: pd.DataFrame, start: object, end: object) -> tuple[int, int]:
    return month_range(_default_range(subs), start, end)


def month_range(default: tuple[int, int], start: object, end: object) -> tuple[int, int]:
    """The first and last month (months since year 0) asked for: ``start`` and ``end``
    where given, else the data's own (``default``); refuses an end before the start.

    >>> month_range((24289, 24300), None, "2024-06-30") == (24289, 2024 * 12 + 5)
    True
    """
    first, last = default
    if start is not None:
        first = _one_month(start, "start")
    if end is not None:
        last = _one_month(end, "end")
    if last < first:
        raise OutOfRangeError(
            f"end ({end!r}) is before start ({start!r}): nothing to compute", argument="end"
        )
    return first, last


def monthly_mrr(
    subscriptions: pd.DataFrame, *, start: object = None, end: object = None
) -> pd.DataFrame:
    """Monthly recurring revenue per customer and month (end-of-month snapshot).

    Parameters
    ----------
    subscriptions
        Subscription items in the canonical schema (see :mod:`retention_xl.core.schema`).
    start, end
        The first and last month to report (any date inside the month). By default from
        the month of the earliest ``start_date`` to the month of the latest date in the
        data (``start_date`` or ``end_date``); ongoing items count up to ``end``.

    Returns
    -------
    DataFrame
        Long rows ``customer_id``, ``month`` (the month's first day), ``mrr`` (float,
        > 0), sorted by month then customer; customer-months without MRR are absent.
        See the module docstring for the normalisation, status and snapshot rules.

    Raises
    ------
    InputError
        Missing columns, an unknown ``interval`` or ``status``, a canceled item without
        ``end_date``, text in ``amount``.
    OutOfRangeError
        A negative ``amount``; ``end`` before ``start``.

    Examples
    --------
    >>> subs = pd.DataFrame({"customer_id": ["a", "b"], "subscription_id": ["s1", "s2"],
    ...     "start_date": ["2024-01-15", "2024-02-01"], "end_date": ["2024-03-01", None],
    ...     "amount": [120.0, 10.0], "interval": ["year", "month"]})
    >>> monthly_mrr(subs)
      customer_id      month   mrr
    0           a 2024-01-01  10.0
    1           a 2024-02-01  10.0
    2           b 2024-02-01  10.0
    3           b 2024-03-01  10.0
    """
    subs = _normalised(subscriptions)
    first, last = _range(subs, start, end)
    codes, month, amount = _item_months(subs, first, last)
    names = np.asarray(pd.factorize(subs["customer_id"], sort=True)[1], dtype=object)
    # one integer key per (month, customer), in the order of the output
    key = (month - first) * max(len(names), 1) + codes
    keys, inverse = np.unique(key, return_inverse=True)
    totals = np.bincount(inverse, weights=amount, minlength=keys.size)
    keep = totals > 0
    keys, totals = keys[keep], totals[keep]
    month_of, code_of = np.divmod(keys, max(len(names), 1))
    return pd.DataFrame(
        {
            "customer_id": pd.array(names[code_of], dtype="string"),
            "month": _month_start(np.asarray(month_of + first, dtype="int64")).to_numpy(),
            "mrr": np.asarray(totals, dtype="float64"),
        }
    )


# -- movements --------------------------------------------------------------------------


def _movement_matrix(
    codes: IntArray, month: IntArray, amount: FloatArray, first: int, last: int
) -> FloatArray:
    """Customers x months MRR matrix (a customer-month without rows is 0)."""
    n_customers = int(codes.max()) + 1 if codes.size else 0
    n_months = last - first + 1
    flat = np.bincount(
        codes * n_months + (month - first), weights=amount, minlength=n_customers * n_months
    )
    return np.asarray(flat, dtype="float64").reshape(n_customers, n_months)


def _subscription_matrix(subs: pd.DataFrame, first: int, last: int) -> FloatArray:
    codes, month, amount = _item_months(subs, first, last)
    return _movement_matrix(codes, month, amount, first, last)


def _movements(matrix: FloatArray, first: int) -> pd.DataFrame:
    cur = matrix
    prev = np.zeros_like(cur)
    prev[:, 1:] = cur[:, :-1]
    paying = cur > 0
    was_paying = prev > 0
    seen = np.maximum.accumulate(paying, axis=1) if paying.size else paying
    seen_before = np.zeros_like(paying)
    seen_before[:, 1:] = seen[:, :-1]
    gained = paying & ~was_paying
    is_new = gained & ~seen_before
    is_back = gained & seen_before
    grew = was_paying & (cur > prev)
    shrank = was_paying & paying & (cur < prev)
    lost = was_paying & ~paying
    table = pd.DataFrame(
        {
            "starting_mrr": prev.sum(axis=0),
            "new": np.where(is_new, cur, 0.0).sum(axis=0),
            "expansion": np.where(grew, cur - prev, 0.0).sum(axis=0),
            "contraction": np.where(shrank, prev - cur, 0.0).sum(axis=0),
            "churn": np.where(lost, prev, 0.0).sum(axis=0),
            "reactivation": np.where(is_back, cur, 0.0).sum(axis=0),
            "ending_mrr": cur.sum(axis=0),
            "customers": paying.sum(axis=0),
            "starting_customers": was_paying.sum(axis=0),
            "new_customers": is_new.sum(axis=0),
            "reactivated_customers": is_back.sum(axis=0),
            "churned_customers": lost.sum(axis=0),
        },
        index=_month_start(np.arange(first, first + matrix.shape[1], dtype="int64")),
    )
    for col in MOVEMENT_COLUMNS[7:]:
        table[col] = table[col].astype("int64")
    return table


def _as_months(raw: pd.Series) -> pd.Series:
    """Dates of any kind (Timestamps, datetimes, text, Periods) to Timestamps; NaT if not."""
    if isinstance(raw.dtype, pd.PeriodDtype):
        return pd.Series(raw.dt.start_time, index=raw.index)
    if pd.api.types.is_numeric_dtype(raw) or pd.api.types.is_bool_dtype(raw):
        return pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")  # not dates
    if raw.dtype == object:
        raw = raw.map(
            lambda v: (
                v.start_time
                if isinstance(v, pd.Period)
                else (pd.NaT if isinstance(v, (bool, int, float, np.number)) else v)
            )
        )
    out = pd.to_datetime(raw, errors="coerce", format="mixed")
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_localize(None)
    return out


def _long_input(mrr_long: pd.DataFrame) -> tuple[IntArray, IntArray, FloatArray]:
    if not isinstance(mrr_long, pd.DataFrame):
        raise InputError(
            f"mrr_long must be a DataFrame with customer_id, month, mrr; got "
            f"{type(mrr_long).__name__}",
            argument="mrr_long",
        )
    missing = [c for c in ("customer_id", "month", "mrr") if c not in mrr_long.columns]
    if missing:
        raise InputError(
            f"mrr_long is missing column(s) {missing}; found {list(mrr_long.columns)}",
            argument="mrr_long",
        )
    if mrr_long.empty:
        raise NotEnoughDataError("mrr_long has no rows", argument="mrr_long")
    # strip and check the distinct ids only: customer ids repeat once per month
    raw_codes, uniques = pd.factorize(mrr_long["customer_id"], use_na_sentinel=True)
    stripped = pd.Series(uniques, dtype="string").str.strip()
    blank_ids = (stripped == "").to_numpy(dtype=bool, na_value=True)
    blank = (raw_codes < 0) | np.append(blank_ids, True)[raw_codes]
    if blank.any():
        pos = int(np.flatnonzero(blank)[0])
        raise InputError(
            f"customer_id is blank at position {pos}: {mrr_long['customer_id'].iloc[pos]!r}",
            argument="customer_id",
        )
    merged, _ = pd.factorize(stripped)  # "a " and "a" are one customer
    codes = np.asarray(merged, dtype="int64")[raw_codes]
    raw_month = mrr_long["month"]
    months = _as_months(raw_month)
    bad = months.isna().to_numpy()
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"month must be a date, got {raw_month.iloc[pos]!r} at position {pos}",
            argument="month",
        )
    raw_mrr = mrr_long["mrr"]
    if pd.api.types.is_bool_dtype(raw_mrr):
        raise InputError("mrr must be amounts, not booleans", argument="mrr")
    values = pd.to_numeric(raw_mrr, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"mrr must be a finite amount, got {raw_mrr.iloc[pos]!r} at position {pos}",
            argument="mrr",
        )
    if (values < 0).any():
        pos = int(np.flatnonzero(values < 0)[0])
        raise OutOfRangeError(
            f"mrr cannot be negative, got {values[pos]!r} at position {pos}", argument="mrr"
        )
    return codes, _month_number(months), values


def mrr_movements(
    mrr_long: pd.DataFrame, *, start: object = None, end: object = None
) -> pd.DataFrame:
    """MRR movements per month, computed per customer (ChartMogul's categories).

    For each customer, with :math:`p` the MRR of the previous month and :math:`c` this
    month's (a missing customer-month is 0):

    ============== ===================================================== ============
    movement        when                                                   amount
    ============== ===================================================== ============
    new            :math:`p = 0 < c` and the customer never paid before   :math:`c`
    reactivation   :math:`p = 0 < c` and the customer paid before         :math:`c`
    expansion      :math:`0 < p < c`                                       :math:`c-p`
    contraction    :math:`0 < c < p`                                       :math:`p-c`
    churn          :math:`p > 0 = c`                                       :math:`p`
    ============== ===================================================== ============

    so that ``ending_mrr = starting_mrr + new + expansion - contraction - churn +
    reactivation`` and each month's ``starting_mrr`` is the previous ``ending_mrr``.

    Parameters
    ----------
    mrr_long
        Rows ``customer_id``, ``month``, ``mrr`` (as from :func:`monthly_mrr`; also what
        the Excel function ``MRR_MOVEMENTS`` passes). ``month`` may be any date inside
        the month (Timestamps, datetimes, text dates, Periods); rows of the same
        customer and month are added up.
    start, end
        The first and last month to report; by default the first and the last month
        in ``mrr_long``. Pass a later ``end`` to see the churn of customers whose last
        paying month is the last one in the data. Rows before ``start`` are not shown
        but still count as history (the first month's ``starting_mrr``, reactivations).

    Returns
    -------
    DataFrame
        Indexed by ``month`` (first day), every month from ``start`` to ``end``, with
        positive amounts ``starting_mrr``, ``new``, ``expansion``, ``contraction``,
        ``churn``, ``reactivation``, ``ending_mrr``, and counts ``customers`` (paying
        at month end), ``starting_customers``, ``new_customers``,
        ``reactivated_customers``, ``churned_customers``.

    Raises
    ------
    InputError
        Missing columns, a blank ``customer_id``, a ``month`` that is not a date, an
        ``mrr`` that is not a number.
    OutOfRangeError
        A negative ``mrr``.
    NotEnoughDataError
        No rows.

    Examples
    --------
    >>> rows = pd.DataFrame({"customer_id": ["a", "a", "b", "a"],
    ...     "month": ["2024-01-01", "2024-02-01", "2024-02-01", "2024-04-01"],
    ...     "mrr": [10.0, 15.0, 20.0, 5.0]})
    >>> m = mrr_movements(rows)
    >>> m.index.strftime("%Y-%m").tolist()
    ['2024-01', '2024-02', '2024-03', '2024-04']
    >>> m["new"].tolist(), m["expansion"].tolist(), m["churn"].tolist()
    ([10.0, 20.0, 0.0, 0.0], [0.0, 5.0, 0.0, 0.0], [0.0, 0.0, 35.0, 0.0])
    >>> m["reactivation"].tolist(), m["ending_mrr"].tolist()
    ([0.0, 0.0, 0.0, 5.0], [10.0, 35.0, 0.0, 5.0])
    """
    codes, month, values = _long_input(mrr_long)
    first = int(month.min()) if start is None else _one_month(start, "start")
    last = int(month.max()) if end is None else _one_month(end, "end")
    if last < first:
        raise OutOfRangeError(
            f"end ({end!r}) is before start ({start!r}): nothing to compute", argument="end"
        )
    history = min(first, int(month.min()))  # months before start still classify
    inside = month <= last
    matrix = _movement_matrix(codes[inside], month[inside], values[inside], history, last)
    return _movements(matrix, history).iloc[first - history :]


def subscription_movements(
    subscriptions: pd.DataFrame, *, start: object = None, end: object = None
) -> pd.DataFrame:
    """:func:`mrr_movements` of :func:`monthly_mrr` over the same months.

    Unlike ``mrr_movements(monthly_mrr(subs))``, the months run over the whole range of
    the subscriptions, so churn after the last paying month shows.

    Examples
    --------
    >>> subs = pd.DataFrame({"customer_id": ["a"], "subscription_id": ["s1"],
    ...     "start_date": ["2024-01-15"], "end_date": ["2024-03-01"],
    ...     "amount": [30.0], "interval": ["month"]})
    >>> m = subscription_movements(subs)
    >>> m["new"].tolist(), m["churn"].tolist(), m["ending_mrr"].tolist()
    ([30.0, 0.0, 0.0], [0.0, 0.0, 30.0], [30.0, 30.0, 0.0])
    """
    subs = _normalised(subscriptions)
    first, last = _range(subs, start, end)
    history = min(first, _default_range(subs)[0])  # months before start still classify
    table = _movements(_subscription_matrix(subs, history, last), history)
    return table.iloc[first - history :]


# -- KPIs -------------------------------------------------------------------------------


class SubscriptionKpis(TypedDict):
    """The result of :func:`subscription_kpis` (see there for each key)."""

    month: pd.Timestamp
    mrr: float
    arr: float
    customers: float
    arpa: float
    starting_mrr: float
    starting_customers: float
    new: float
    expansion: float
    contraction: float
    churn: float
    reactivation: float
    churned_customers: float
    logo_churn: float
    revenue_churn: float
    nrr_monthly: float
    grr_monthly: float
    period_months: float
    nrr: float
    grr: float
    quick_ratio: float
    gross_margin: float
    saas_ltv: float


def _ratio(func: Any, *args: float) -> float:
    """A scalar KPI from :mod:`kpis`, NaN when its denominator is zero."""
    try:
        return float(func(*args))
    except ZeroDivisionError:
        return math.nan


#: what the NRR/GRR of a group of customers is computed from: their MRR at the start,
#: then their expansion, contraction and churned MRR (see :func:`retention_sums`)
RetentionSums = tuple[float, float, float, float]


def retention_sums(before: FloatArray, after: FloatArray) -> RetentionSums:
    """``(start, expansion, contraction, churned)`` of the customers paying in ``before``
    (one value per customer; ``after`` their MRR later, 0 when they stopped paying).

    >>> retention_sums(np.array([10.0, 20.0, 0.0]), np.array([15.0, 0.0, 5.0]))
    (30.0, 5.0, 0.0, 20.0)
    """
    base = before > 0
    b, a = before[base], after[base]
    return (
        float(b.sum()),
        float(np.clip(a - b, 0, None).sum()),
        float(np.where(a > 0, np.clip(b - a, 0, None), 0.0).sum()),
        float(b[a == 0].sum()),
    )


def _cohort_retention(sums: RetentionSums | None) -> tuple[float, float]:
    """NRR and GRR of :func:`retention_sums` (NaN without them or without starting MRR)."""
    if sums is None:
        return math.nan, math.nan
    start, expansion, contraction, churned = sums
    if start == 0:
        return math.nan, math.nan
    contraction = min(contraction, start - churned)  # float noise only
    return (
        _ratio(kpis.nrr, start, expansion, contraction, churned),
        _ratio(kpis.grr, start, contraction, churned),
    )


def check_kpi_arguments(gross_margin: float, period_months: int) -> None:
    """Refuse a ``gross_margin`` outside (0, 1] or a ``period_months`` below 1."""
    if isinstance(gross_margin, bool) or not isinstance(
        gross_margin, (int, float, np.integer, np.floating)
    ):
        raise InputError(
            f"gross_margin must be a number, got {gross_margin!r}", argument="gross_margin"
        )
    if not 0 < gross_margin <= 1:
        raise OutOfRangeError(
            f"gross_margin is a fraction in (0, 1], got {gross_margin!r} (write 0.7 for 70 %)",
            argument="gross_margin",
        )
    if (
        isinstance(period_months, bool)
        or not isinstance(period_months, (int, np.integer))
        or period_months < 1
    ):
        raise OutOfRangeError(
            f"period_months must be a whole number >= 1, got {period_months!r}",
            argument="period_months",
        )


def subscription_kpis(
    subscriptions: pd.DataFrame,
    *,
    month: object = None,
    gross_margin: float = 1.0,
    period_months: int = 12,
) -> SubscriptionKpis:
    """Headline SaaS KPIs of one month, from the subscription items.

    Parameters
    ----------
    subscriptions
        Subscription items in the canonical schema.
    month
        The month to report (any date inside it); by default the last month of the
        data (see :func:`monthly_mrr`).
    gross_margin
        Gross margin as a fraction in (0, 1], for the SaaS LTV.
    period_months
        The window of ``nrr`` and ``grr`` in months (default 12: annual NRR/GRR).

    Returns
    -------
    dict
        Amounts are per month unless named otherwise; ratios are fractions; a ratio
        whose denominator is zero (or whose window starts before the data) is NaN.

        * ``month``: the month reported (first day);
        * ``mrr`` (end-of-month MRR), ``arr`` (= 12 x MRR), ``customers`` (paying at
          month end), ``arpa`` (= MRR / customers);
        * this month's movements: ``starting_mrr``, ``starting_customers``, ``new``,
          ``expansion``, ``contraction``, ``churn``, ``reactivation``,
          ``churned_customers`` (see :func:`mrr_movements`);
        * ``logo_churn`` = churned customers / customers at the start of the month;
        * ``revenue_churn`` = (contraction + churn) / starting MRR (gross MRR churn of
          the month);
        * ``nrr_monthly``, ``grr_monthly``: revenue retention over this month of the
          customers paying at its start (= :func:`~retention_xl.core.kpis.nrr` and
          :func:`~retention_xl.core.kpis.grr` of the month's movements; reactivations
          and new business excluded);
        * ``nrr``, ``grr``: the same over ``period_months`` (recorded in
          ``period_months``): the customers paying ``period_months`` months before
          ``month``, their MRR now over their MRR then; GRR counts each customer's MRR
          now at most at its MRR then, so GRR <= 1;
        * ``quick_ratio`` = (new + reactivation + expansion) / (contraction + churn) of
          the month (reactivation counts as new business);
        * ``gross_margin`` and ``saas_ltv`` = ARPA x gross margin / logo churn.

    Raises
    ------
    OutOfRangeError
        ``gross_margin`` outside (0, 1], ``period_months`` < 1.

    Examples
    --------
    >>> subs = pd.DataFrame({"customer_id": ["a", "b", "c"], "subscription_id": ["1", "2", "3"],
    ...     "start_date": ["2024-01-01", "2024-01-01", "2024-02-10"],
    ...     "end_date": [None, "2024-02-15", None], "amount": [100.0, 50.0, 60.0],
    ...     "interval": ["month"] * 3})
    >>> k = subscription_kpis(subs, month="2024-02", period_months=1)
    >>> k["mrr"], k["customers"], k["arpa"], k["logo_churn"], k["quick_ratio"]
    (160.0, 2.0, 80.0, 0.5, 1.2)
    >>> round(k["nrr"], 4), round(k["grr"], 4), k["saas_ltv"]
    (0.6667, 0.6667, 160.0)
    """
    check_kpi_arguments(gross_margin, period_months)
    subs = _normalised(subscriptions)
    first, last = _default_range(subs)
    target = (
        _one_month(headline_month(subs), "month") if month is None else _one_month(month, "month")
    )
    first, last = min(first, target), max(last, target)
    matrix = _subscription_matrix(subs, first, last)
    table = _movements(matrix, first)
    t = target - first
    period = (
        retention_sums(matrix[:, t - period_months], matrix[:, t]) if t >= period_months else None
    )
    monthly = retention_sums(matrix[:, t - 1], matrix[:, t]) if t >= 1 else None
    return kpis_of_month(
        table, t, period, monthly, gross_margin=gross_margin, period_months=period_months
    )


def kpis_of_month(
    table: pd.DataFrame,
    t: int,
    period: RetentionSums | None,
    monthly: RetentionSums | None,
    *,
    gross_margin: float,
    period_months: int,
) -> SubscriptionKpis:
    """:func:`subscription_kpis` of row ``t`` of a movements ``table`` (as
    :func:`subscription_movements`), with the :func:`retention_sums` of the customers
    paying ``period_months`` months and one month before (None: the window starts
    before the data). The SQL engines compute the table and the sums where the
    subscriptions are and finish here.
    """
    row = table.iloc[t]
    mrr_now = float(row["ending_mrr"])
    customers = float(row["customers"])
    starting = float(row["starting_mrr"])
    arpa = mrr_now / customers if customers else math.nan
    logo_churn = (
        float(row["churned_customers"]) / float(row["starting_customers"])
        if row["starting_customers"]
        else math.nan
    )
    lost = float(row["contraction"] + row["churn"])
    if period is None:
        logger.info(
            "subscription_kpis: the %d-month NRR/GRR window starts before the data; NaN",
            period_months,
        )
    nrr_p, grr_p = _cohort_retention(period)
    nrr_m, grr_m = _cohort_retention(monthly)
    quick = (
        _ratio(
            kpis.quick_ratio,
            float(row["new"] + row["reactivation"]),
            float(row["expansion"]),
            float(row["contraction"]),
            float(row["churn"]),
        )
        if lost > 0
        else math.nan
    )
    ltv = arpa * gross_margin / logo_churn if logo_churn and not math.isnan(arpa) else math.nan
    return SubscriptionKpis(
        month=pd.Timestamp(table.index[t]),
        mrr=mrr_now,
        arr=12.0 * mrr_now,
        customers=customers,
        arpa=arpa,
        starting_mrr=starting,
        starting_customers=float(row["starting_customers"]),
        new=float(row["new"]),
        expansion=float(row["expansion"]),
        contraction=float(row["contraction"]),
        churn=float(row["churn"]),
        reactivation=float(row["reactivation"]),
        churned_customers=float(row["churned_customers"]),
        logo_churn=logo_churn,
        revenue_churn=lost / starting if starting else math.nan,
        nrr_monthly=nrr_m,
        grr_monthly=grr_m,
        period_months=float(period_months),
        nrr=nrr_p,
        grr=grr_p,
        quick_ratio=quick,
        gross_margin=float(gross_margin),
        saas_ltv=ltv,
    )
