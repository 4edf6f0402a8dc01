"""The period table: customers gained, kept and lost per calendar month, quarter or year.

Orders go through :func:`~retention_xl.core.schema.prepare_orders` (duplicates dropped,
cancelled orders ignored, refunds lower revenue, only positive-revenue orders are
purchases); customers without a purchase are never counted.

**Activity.** A customer is *active* on day ``d`` when they made a purchase in the
``window_days`` days ending on ``d``, i.e. in ``(d - window_days, d]``. A period
``[s, e]`` is read at two instants: its *start* is the end of day ``s - 1`` and its
*end* is the end of day ``e`` (or ``as_of`` for the last, partial period).

**Counts per period** (sets of customers):

=======================  ==========================================================
``start_customers``      active at the start
``end_customers``        active at the end
``retained``             active at the start and at the end
``new``                  first purchase ever inside the period
``reactivated``          bought before the period, not active at its start,
                         purchased inside it
``lost``                 see ``same_period_churn`` below
``orders``               purchases inside the period
``revenue``              net revenue of every row inside the period (refund rows
                         lower it on their own date)
``aov``                  ``revenue / orders``
``buyers``               customers with at least one purchase inside the period
``repeat_customers``     customers with two or more purchases inside the period
=======================  ==========================================================

**same_period_churn** (who counts as lost; ChartMogul and ProfitWell exclude customers
who join and leave inside one period, Stripe and Baremetrics include them):

* ``False`` (default): ``lost`` = active at the start, not active at the end;
  ``new`` and ``reactivated`` count only the customers still active at the end (a
  customer who joins and lapses inside one period is in neither; this can only
  happen when the period is longer than the window);
  ``churn = lost / start_customers``.
* ``True``: ``new`` and ``reactivated`` count every such customer and ``lost`` adds
  those of them no longer active at the end;
  ``churn = lost / (start_customers + new + reactivated)``, everyone who was a
  customer at some point in the period (Stripe's "start + new", with returning
  customers counted like new ones, so churn never exceeds 1).

Under both options the identity

.. math:: \\text{end} = \\text{start} - \\text{lost} + \\text{new} + \\text{reactivated}

holds exactly, and with the default ``retained + lost = start``, so
``churn + retained / start = 1``.

``crr = (end_customers - new_at_end - reactivated_at_end) / start_customers``, where
the ``_at_end`` counts are the customers gained in the period who are still active at
its end: the source articles' CRR, (E - N) / S, with N every customer gained in the
period, the returning ones included (they were won back, not kept). So CRR never
exceeds 1 and, with the default, ``crr = retained / start = 1 - churn``. Rates are NaN when the
denominator is zero (e.g. the first period, which has no customers at its start).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from retention_xl.core._orderdays import (
    AsOf,
    FloatArray,
    IntArray,
    days_to_timestamps,
    load_order_days,
    period_number,
    period_start_day,
    resolve_freq,
)
from retention_xl.core.schema import PreparedOrders
from retention_xl.errors import InputError, OutOfRangeError

__all__ = ["PERIOD_COLUMNS", "PeriodCounts", "period_table", "period_table_from_counts"]

PERIOD_COLUMNS: Final = (
    "start_customers",
    "end_customers",
    "new",
    "lost",
    "retained",
    "reactivated",
    "orders",
    "revenue",
    "aov",
    "buyers",
    "repeat_customers",
    "churn",
    "crr",
)

_NONE: Final = np.iinfo(np.int64).min // 4  # "no purchase": far before any day
_NEVER: Final = np.iinfo(np.int64).max // 4  # "no later purchase": far after any day


def _check_window(window_days: object) -> int:
    if isinstance(window_days, bool) or not isinstance(window_days, (int, np.integer)):
        raise InputError(
            f"window_days must be a whole number of days, got {window_days!r}",
            argument="window_days",
        )
    if int(window_days) < 1:
        raise OutOfRangeError(
            f"window_days must be at least 1, got {window_days!r}", argument="window_days"
        )
    return int(window_days)


def _ranges(lo: IntArray, hi: IntArray, size: int) -> IntArray:
    """How many of the half-open index ranges ``[lo, hi)`` cover each of ``0..size-1``."""
    # an empty range (hi <= lo) starts where it ends: its +1 and -1 cancel
    diff = np.bincount(np.minimum(lo, hi), minlength=size + 1)
    diff -= np.bincount(hi, minlength=size + 1)
    return np.cumsum(diff[:size]).astype(np.int64)


class _Finder:
    """``np.searchsorted(boundaries, x, side)`` for many ``x``, as a table lookup.

    The boundaries are a few hundred sorted days; values below (above) all of them
    find 0 (``len``), so one table over the days the boundaries span answers every
    value after clipping, with a gather instead of a binary search per value.
    """

    def __init__(self, boundaries: IntArray) -> None:
        self.lo = int(boundaries[0]) - 1
        self.hi = int(boundaries[-1]) + 1
        days = np.arange(self.lo, self.hi + 1, dtype=np.int64)
        self.left = np.searchsorted(boundaries, days, "left").astype(np.int64)
        self.right = np.searchsorted(boundaries, days, "right").astype(np.int64)

    def __call__(self, x: IntArray, side: str) -> IntArray:
        at = np.clip(x, self.lo, self.hi) - self.lo
        return (self.left if side == "left" else self.right)[at]


def _empty() -> pd.DataFrame:
    out = pd.DataFrame({c: pd.Series(dtype="float64") for c in PERIOD_COLUMNS})
    out.index = pd.DatetimeIndex([], name="period", dtype="datetime64[ns]")
    return out


def period_table(
    orders: pd.DataFrame | PreparedOrders,
    *,
    freq: str = "M",
    window_days: int = 365,
    as_of: AsOf = None,
    same_period_churn: bool = False,
) -> pd.DataFrame:
    """Customers, churn and retention per calendar period (see the module docstring).

    Parameters
    ----------
    orders
        Canonical orders or prepared orders.
    freq
        ``"M"`` (calendar months), ``"Q"`` (quarters) or ``"Y"`` (years).
    window_days
        Activity window: active on ``d`` = a purchase in ``(d - window_days, d]``.
    as_of
        Last day observed (inclusive); later orders are ignored and the last period
        ends on it. Default: the day of the last order.
    same_period_churn
        Whether customers who join (or return) and lapse inside one period count as
        new and lost (``True``, Stripe / Baremetrics) or in neither (``False``,
        ChartMogul / ProfitWell).

    Returns
    -------
    pandas.DataFrame
        One row per period from the first order's period to ``as_of``'s, indexed by
        the period's first day (``period``), with the columns of
        :data:`PERIOD_COLUMNS`.

    Examples
    --------
    >>> df = pd.DataFrame({"customer_id": ["a", "b", "a", "c"],
    ...                    "order_id": ["1", "2", "3", "4"],
    ...                    "order_date": pd.to_datetime(["2024-01-05", "2024-01-20",
    ...                                                  "2024-02-10", "2024-03-03"]),
    ...                    "amount": [10.0, 20.0, 30.0, 40.0]})
    >>> t = period_table(df, window_days=30)
    >>> t[["start_customers", "new", "lost", "end_customers"]].to_numpy().tolist()
    [[0, 2, 0, 2], [2, 0, 1, 1], [1, 1, 0, 2]]
    >>> t["churn"].tolist()
    [nan, 0.5, 0.0]
    """
    freq = resolve_freq(freq)
    window = _check_window(window_days)
    if not isinstance(same_period_churn, (bool, np.bool_)):
        raise InputError(
            f"same_period_churn must be True or False, got {same_period_churn!r}",
            argument="same_period_churn",
        )
    od = load_order_days(orders, as_of, sort_ids=False)
    first_day = od.first_row_day
    if first_day is None or od.code.size == 0:
        return _empty()

    p0 = int(period_number(np.array([first_day], dtype=np.int64), freq)[0])
    p_last = int(period_number(np.array([od.as_of], dtype=np.int64), freq)[0])
    starts = period_start_day(np.arange(p0, p_last + 2, dtype=np.int64), freq)
    n_periods = p_last - p0 + 1
    s = starts[:-1]
    e = starts[1:] - 1  # last day of each period
    u = s - 1  # the start instant: end of the day before the period
    v = np.minimum(e, od.as_of)  # the end instant

    code, day = od.code, od.day
    find_s, find_u, find_v, find_e = _Finder(s), _Finder(u), _Finder(v), _Finder(e)
    k = find_s(day, "right") - 1  # period of each purchase day
    n = code.size
    same_prev = np.zeros(n, dtype=bool)
    np.equal(code[1:], code[:-1], out=same_prev[1:])
    prev_day = np.where(same_prev, np.roll(day, 1), _NONE)
    same_next = np.zeros(n, dtype=bool)
    same_next[:-1] = same_prev[1:]
    next_day = np.where(same_next, np.roll(day, -1), _NEVER)

    # Each purchase day p (next purchase q) makes its customer active from p to
    # min(q, p + W) - 1; count the instants u_k and v_k inside that span.
    active_to = np.minimum(next_day, day + window) - 1
    # Purchase days lie in [s_0, as_of]: the instants before day p are u_0..u_k (u_j =
    # s_j - 1 < p exactly when s_j <= p) and v_0..v_{k-1} (v_k = min(e_k, as_of) >= p).
    u_from = k + 1
    start_c = _ranges(u_from, find_u(active_to, "right"), n_periods)
    end_c = _ranges(k, find_v(active_to, "right"), n_periods)
    # Retained without buying in period k: the last purchase p before the period keeps
    # the customer active through v_k (p > v_k - W), and the next one is after e_k.
    hi = np.minimum(find_v(day + window - 1, "right"), find_e(next_day - 1, "right"))
    kept_idle = _ranges(u_from, hi, n_periods)

    # One group per (customer, period with purchases), rows are contiguous.
    same_group = np.zeros(n, dtype=bool)
    same_group[1:] = same_prev[1:] & (k[1:] == k[:-1])
    g_first = np.flatnonzero(~same_group)
    g_last = np.empty_like(g_first)
    g_last[:-1] = g_first[1:] - 1
    g_last[-1] = n - 1
    gk = k[g_first]
    before = prev_day[g_first]  # last purchase before the period (or _NONE)
    is_new = before == _NONE
    active_start = ~is_new & (before > u[gk] - window)
    active_end = day[g_last] > v[gk] - window
    g_orders = np.add.reduceat(od.orders, g_first)
    # One count per (period, kind of group): the kind holds four yes/no bits.
    kind = gk * 16 + is_new + 2 * active_start + 4 * active_end + 8 * (g_orders >= 2)
    table = np.bincount(kind, minlength=16 * n_periods).reshape(n_periods, 16)
    bits = np.arange(16)
    new_bit, start_bit, end_bit, repeat_bit = ((bits & b) > 0 for b in (1, 2, 4, 8))
    back_bit = ~new_bit & ~start_bit  # bought before, not active at the start

    def per_period(which: np.ndarray) -> IntArray:
        return np.asarray(table[:, which].sum(axis=1), dtype=np.int64)

    counts = PeriodCounts(
        period_start=s,
        start_customers=start_c,
        end_customers=end_c,
        retained=kept_idle + per_period(start_bit & end_bit),
        new_all=per_period(new_bit),
        new_end=per_period(new_bit & end_bit),
        reactivated_all=per_period(back_bit),
        reactivated_end=per_period(back_bit & end_bit),
        orders=np.bincount(gk, weights=g_orders, minlength=n_periods).astype(np.int64),
        revenue=np.asarray(
            np.bincount(
                find_s(od.row_day, "right") - 1, weights=od.row_revenue, minlength=n_periods
            ),
            dtype=np.float64,
        ),
        buyers=np.asarray(table.sum(axis=1), dtype=np.int64),
        repeat_customers=per_period(repeat_bit),
    )
    return period_table_from_counts(counts, same_period_churn=same_period_churn)


@dataclass(frozen=True, slots=True)
class PeriodCounts:
    """The counts behind a period table, one value per period (see the module docstring).

    Whoever counts them (this module on in-memory orders, an engine in SQL),
    :func:`period_table_from_counts` turns them into the table, so the rates are
    defined once. ``period_start`` holds the first day of each period (days since
    1970-01-01); ``new_all`` / ``new_end`` count the new customers of the period /
    those of them still active at its end, ``reactivated_all`` / ``reactivated_end``
    the same for returning customers; ``retained`` the customers active at the start
    and at the end; ``revenue`` the net revenue of every row inside the period.
    """

    period_start: IntArray
    start_customers: IntArray
    end_customers: IntArray
    retained: IntArray
    new_all: IntArray
    new_end: IntArray
    reactivated_all: IntArray
    reactivated_end: IntArray
    orders: IntArray
    revenue: FloatArray
    buyers: IntArray
    repeat_customers: IntArray


def period_table_from_counts(
    counts: PeriodCounts, *, same_period_churn: bool = False
) -> pd.DataFrame:
    """The period table (columns :data:`PERIOD_COLUMNS`) from its :class:`PeriodCounts`.

    ``lost``, ``new`` and ``reactivated`` follow ``same_period_churn`` (see the module
    docstring); ``churn``, ``crr`` and ``aov`` are NaN where their denominator is 0.
    """
    c = counts
    start_c = np.asarray(c.start_customers, dtype=np.int64)
    if start_c.size == 0:
        return _empty()
    new_end = np.asarray(c.new_end, dtype=np.int64)
    orders_k = np.asarray(c.orders, dtype=np.int64)
    revenue = np.asarray(c.revenue, dtype=np.float64)
    lost = start_c - c.retained
    if same_period_churn:
        new, back = c.new_all, c.reactivated_all
        lost = lost + (c.new_all - new_end) + (c.reactivated_all - c.reactivated_end)
        at_risk = start_c + c.new_all + c.reactivated_all
    else:
        new, back = new_end, c.reactivated_end
        at_risk = start_c
    with np.errstate(invalid="ignore", divide="ignore"):
        churn = np.where(at_risk > 0, lost / np.maximum(at_risk, 1), np.nan)
        kept = c.end_customers - new_end - c.reactivated_end  # = retained: start and end
        crr = np.where(start_c > 0, kept / np.maximum(start_c, 1), np.nan)
        aov = np.where(orders_k > 0, revenue / np.maximum(orders_k, 1), np.nan)

    out = pd.DataFrame(
        {
            "start_customers": start_c,
            "end_customers": np.asarray(c.end_customers, dtype=np.int64),
            "new": np.asarray(new, dtype=np.int64),
            "lost": np.asarray(lost, dtype=np.int64),
            "retained": np.asarray(c.retained, dtype=np.int64),
            "reactivated": np.asarray(back, dtype=np.int64),
            "orders": orders_k,
            "revenue": revenue,
            "aov": aov,
            "buyers": np.asarray(c.buyers, dtype=np.int64),
            "repeat_customers": np.asarray(c.repeat_customers, dtype=np.int64),
            "churn": churn,
            "crr": crr,
        },
        index=pd.DatetimeIndex(
            days_to_timestamps(np.asarray(c.period_start, dtype=np.int64)), name="period"
        ),
    )
    return out
