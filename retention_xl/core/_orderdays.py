"""Orders reduced to integer arrays: the shared fast path of the order analytics.

:func:`load_order_rows` applies the rule of
:func:`~retention_xl.core.schema.prepare_orders` (so deduplication and the
refund/cancellation rule are the same everywhere; on raw orders through
:func:`~retention_xl.core.schema.prepared_rows`, which skips copying the id text into a
frame), cuts the orders at ``as_of`` and keeps customers as integer codes (those of the
validation, or :func:`pandas.factorize`). :func:`purchase_totals` adds up each
customer's purchases from one sort of one integer key per purchase (the customer
summary); :func:`load_order_days` collapses the purchases to one row per (customer,
purchase day), sorted by customer then day (period tables, cohorts, model histories).
These are a few numpy passes over the arrays; no Python loop touches a row.

Days are whole days counted from 1970-01-01 (``datetime64[D]`` as ``int64``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

from retention_xl.core.schema import PreparedOrders, _sorted_rank, prepared_rows
from retention_xl.errors import InputError

__all__ = [
    "FREQS",
    "MONTHS_PER",
    "AsOf",
    "IntArray",
    "OrderDays",
    "OrderRows",
    "PurchaseTotals",
    "days_to_timestamps",
    "load_order_days",
    "load_order_rows",
    "period_label",
    "period_number",
    "period_start_day",
    "purchase_totals",
    "resolve_freq",
]

IntArray: TypeAlias = npt.NDArray[np.int64]
FloatArray: TypeAlias = npt.NDArray[np.float64]
AsOf: TypeAlias = str | dt.date | pd.Timestamp | np.datetime64 | None

FREQS: Final = ("M", "Q", "Y")
#: Months in a period of each frequency.
MONTHS_PER: Final = {"M": 1, "Q": 3, "Y": 12}


def resolve_freq(freq: object, argument: str = "freq") -> str:
    """Return ``"M"``, ``"Q"`` or ``"Y"`` for ``freq`` (case-insensitive) or raise."""
    if isinstance(freq, str) and freq.strip().upper() in MONTHS_PER:
        return freq.strip().upper()
    raise InputError(
        f"{argument} must be one of {list(FREQS)} (month, quarter, year), got {freq!r}",
        argument=argument,
    )


def period_number(days: IntArray, freq: str) -> IntArray:
    """Calendar period of each day: months (or quarters, years) since 1970-01."""
    months = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    return months // MONTHS_PER[freq]


def period_start_day(periods: IntArray, freq: str) -> IntArray:
    """First day (days since 1970-01-01) of each period number from :func:`period_number`."""
    months = (periods * MONTHS_PER[freq]).astype("datetime64[M]")
    return months.astype("datetime64[D]").astype(np.int64)


def period_label(period: int, freq: str) -> str:
    """Human label of a period number: ``2024-01``, ``2024-Q1`` or ``2024``."""
    first_month = np.datetime64(int(period * MONTHS_PER[freq]), "M")
    year, month = str(first_month).split("-")
    if freq == "M":
        return f"{year}-{month}"
    if freq == "Q":
        return f"{year}-Q{(int(month) - 1) // 3 + 1}"
    return year


def _as_of_day(as_of: AsOf) -> int:
    if isinstance(as_of, bool) or not isinstance(
        as_of, (str, dt.date, pd.Timestamp, np.datetime64)
    ):
        raise InputError(
            f"as_of must be a date (a Timestamp, datetime, date or 'YYYY-MM-DD'), got {as_of!r}",
            argument="as_of",
        )
    try:
        stamp = pd.Timestamp(as_of)
    except (ValueError, TypeError) as exc:
        raise InputError(
            f"as_of is not a date: {as_of!r}; write it as 'YYYY-MM-DD'", argument="as_of"
        ) from exc
    if pd.isna(stamp):
        raise InputError(f"as_of is not a date: {as_of!r}", argument="as_of")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_localize(None)
    return int(np.datetime64(stamp.normalize().date(), "D").astype(np.int64))


@dataclass(frozen=True, slots=True)
class OrderDays:
    """Orders up to ``as_of`` as integer arrays (see the module docstring).

    Row arrays (every prepared row up to ``as_of``, refunds included):
    ``row_code``, ``row_day``, ``row_revenue``. Purchase-day arrays (one entry per
    distinct customer and purchase day, sorted by customer then day): ``code``,
    ``day``, ``orders`` (purchases that day). ``ids[code]`` is the customer id.
    """

    ids: pd.Index
    as_of: int
    row_code: IntArray
    row_day: IntArray
    row_revenue: FloatArray
    code: IntArray
    day: IntArray
    orders: IntArray

    @property
    def first_row_day(self) -> int | None:
        """Earliest day of any row (purchase or refund), ``None`` when empty."""
        return None if self.row_day.size == 0 else int(self.row_day.min())

    def customer_starts(self) -> IntArray:
        """Index in the purchase-day arrays where each customer's days begin."""
        if self.code.size == 0:
            return np.zeros(0, dtype=np.int64)
        change = np.empty(self.code.size, dtype=bool)
        change[0] = True
        np.not_equal(self.code[1:], self.code[:-1], out=change[1:])
        return np.flatnonzero(change).astype(np.int64)


@dataclass(frozen=True, slots=True)
class OrderRows:
    """Prepared rows up to ``as_of`` as arrays, in the prepared order (date, then order id).

    Every row counts (refunds included); ``is_purchase`` flags the purchases.
    ``ids[code]`` is the customer of a row; ``ids`` may also hold customers without a
    row up to ``as_of`` (codes need not be compact).
    """

    ids: pd.Index
    as_of: int
    code: IntArray
    day: IntArray
    revenue: FloatArray
    is_purchase: npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class PurchaseTotals:
    """Per customer with at least one purchase (``code`` ascending): first and last
    purchase day, purchases and distinct purchase days."""

    code: IntArray
    first_day: IntArray
    last_day: IntArray
    orders: IntArray
    purchase_days: IntArray


def _first_appearance(
    codes: IntArray, labels: npt.NDArray[np.object_] | pd.Index, *, sort: bool
) -> tuple[IntArray, pd.Index]:
    """Renumber ``codes`` (into unsorted ``labels``) to ``0..k-1`` over the labels present.

    With ``sort`` the new codes follow the sorted labels, otherwise first appearance.
    """
    if not sort:
        new, present = pd.factorize(codes, sort=False)
        return new.astype(np.int64), pd.Index(labels[present], dtype="string")
    present = np.flatnonzero(np.bincount(codes, minlength=labels.size))
    sub = np.asarray(labels[present], dtype=object)
    order = _sorted_rank(sub)
    remap = np.full(labels.size, -1, dtype=np.int64)
    remap[present[order]] = np.arange(order.size, dtype=np.int64)
    return remap[codes], pd.Index(sub[order], dtype="string")


def _sorted_pair_keys(rows: OrderRows) -> tuple[npt.NDArray[np.integer[Any]], int, int]:
    """One key per purchase, ``code * span + (day - lo)``, sorted; and ``lo``, ``span``.

    Keys are sorted as values (no argsort): by customer, then day. They are 32-bit when
    they fit, which sort faster.
    """
    day = rows.day
    lo = int(day.min()) if day.size else 0
    span = int(day.max()) - lo + 1 if day.size else 1
    narrow = len(rows.ids) * span <= np.iinfo(np.uint32).max
    keys: npt.NDArray[np.integer[Any]] = np.empty(day.size, dtype=np.uint32 if narrow else np.int64)
    # Written straight into the key array (64-bit arithmetic, stored as it goes): 32-bit
    # keys wrap modulo 2**32 on the way and the last step brings them back into range,
    # so the result is exact.
    np.multiply(rows.code, np.int64(span), out=keys, casting="unsafe")
    np.add(keys, day, out=keys, casting="unsafe")
    np.subtract(keys, np.int64(lo), out=keys, casting="unsafe")
    keys = keys[rows.is_purchase]
    keys.sort()
    return keys, lo, span


def _changes(values: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """Whether each value differs from the one before (the first always does)."""
    change = np.empty(values.size, dtype=bool)
    change[:1] = True
    np.not_equal(values[1:], values[:-1], out=change[1:])
    return change


def _purchase_days(rows: OrderRows) -> tuple[IntArray, IntArray, IntArray]:
    """Distinct (customer, day) pairs of the purchases, sorted, with their purchase counts.

    >>> rows = OrderRows(pd.Index(["a", "b"]), 9, np.array([1, 0, 1, 1]),
    ...                  np.array([5, 9, 5, 7]), np.zeros(4), np.ones(4, dtype=bool))
    >>> _purchase_days(rows)
    (array([0, 1, 1]), array([9, 5, 7]), array([1, 2, 1]))
    """
    keys, lo, span = _sorted_pair_keys(rows)
    starts = np.flatnonzero(_changes(keys))
    counts = np.diff(starts, append=keys.size).astype(np.int64)
    pair_keys = keys[starts].astype(np.int64)
    pair_code = pair_keys // span  # (floor division by one number is fast; divmod is not)
    pair_keys -= pair_code * span
    pair_keys += lo
    return pair_code, pair_keys, counts


def purchase_totals(rows: OrderRows) -> PurchaseTotals:
    """:class:`PurchaseTotals` of ``rows``, from one sort of one key per purchase.

    The sorted keys (:func:`_sorted_pair_keys`) run customer by customer, day by day:
    a customer's first and last keys give the first and last purchase day, the length of
    their run the purchases, and the keys that differ from the one before the purchase
    days. (Few arrays as long as the purchases: at 10M orders each costs more in fresh
    memory than in arithmetic.)

    >>> rows = OrderRows(pd.Index(["a", "b", "c"]), 9, np.array([2, 0, 2, 2, 1]),
    ...                  np.array([5, 9, 5, 7, 1]), np.zeros(5),
    ...                  np.array([True, True, True, True, False]))
    >>> t = purchase_totals(rows)
    >>> t.code.tolist(), t.first_day.tolist(), t.last_day.tolist()
    ([0, 2], [9, 5], [9, 7])
    >>> t.orders.tolist(), t.purchase_days.tolist()
    ([1, 3], [1, 2])
    """
    keys, lo, span = _sorted_pair_keys(rows)
    if keys.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return PurchaseTotals(empty, empty, empty, empty, empty)
    customer = keys // span
    starts = np.flatnonzero(_changes(customer))
    del customer
    ends = np.empty_like(starts)
    ends[:-1] = starts[1:] - 1
    ends[-1] = keys.size - 1
    code = (keys[starts] // span).astype(np.int64)
    base = code * span - lo  # key of day 0 of each customer
    return PurchaseTotals(
        code=code,
        first_day=keys[starts] - base,
        last_day=keys[ends] - base,
        orders=np.diff(starts, append=keys.size).astype(np.int64),
        purchase_days=np.add.reduceat(_changes(keys), starts, dtype=np.int64),
    )


#: Nanoseconds per day: ``datetime64[ns]`` values to whole days by floor division.
_NS_PER_DAY: Final = 86_400 * 10**9


def load_order_rows(
    orders: pd.DataFrame | PreparedOrders, as_of: AsOf, *, sort_ids: bool = True
) -> OrderRows:
    """Prepare ``orders`` and keep the rows up to ``as_of`` as :class:`OrderRows`.

    ``as_of`` (inclusive, day precision) cuts off later orders; ``None`` means the
    day of the last order (of any row) in the data. With ``sort_ids`` customer codes
    follow the sorted ids (for tables indexed by customer); otherwise they come in
    whichever order is cheaper (first appearance, or sorted when the prepared orders
    carry sorted codes: then the codes are kept as they are, over every customer).
    """
    labels: npt.NDArray[np.object_] | pd.Index
    coded: tuple[IntArray, npt.NDArray[np.object_] | pd.Index] | None
    if isinstance(orders, PreparedOrders):
        frame = orders.frame
        dates = frame["order_date"].to_numpy()
        revenue: FloatArray = frame["revenue"].to_numpy(dtype=np.float64)
        purchase = frame["is_purchase"].to_numpy(dtype=bool)
        coded = orders.customer_codes
        if coded is None:
            found, uniques = pd.factorize(frame["customer_id"].to_numpy(dtype=object))
            all_codes = found.astype(np.int64, copy=False)
            labels = np.asarray(uniques, dtype=object)
        else:
            all_codes, labels = coded  # labels sorted
        own_dates = False
    else:  # the rule of prepare_orders, without copying the id text into a frame
        rows = prepared_rows(orders)
        dates, revenue, purchase = rows.dates, rows.revenue, rows.is_purchase
        coded = all_codes, labels = rows.codes, rows.labels
        own_dates = True  # a fresh array: turned into days in place
    nanoseconds = dates.astype("datetime64[ns]", copy=False).view(np.int64)
    day: IntArray = np.floor_divide(
        nanoseconds, _NS_PER_DAY, out=nanoseconds if own_dates else None
    )
    last = int(day.max()) if day.size else 0
    cut = last if as_of is None else _as_of_day(as_of)
    code = all_codes
    if cut < last:
        keep = day <= cut
        code, day, revenue, purchase = code[keep], day[keep], revenue[keep], purchase[keep]
    if coded is not None:  # sorted labels: the codes stay
        ids = pd.Index(labels, dtype="string", name="customer_id")
    else:
        code, ids = _first_appearance(code, labels, sort=sort_ids)
        ids = ids.rename("customer_id")
    return OrderRows(ids=ids, as_of=cut, code=code, day=day, revenue=revenue, is_purchase=purchase)


def load_order_days(
    orders: pd.DataFrame | PreparedOrders, as_of: AsOf, *, sort_ids: bool = True
) -> OrderDays:
    """Prepare ``orders`` and reduce them to :class:`OrderDays` (see :func:`load_order_rows`)."""
    rows = load_order_rows(orders, as_of, sort_ids=sort_ids)
    code, pday, counts = _purchase_days(rows)
    return OrderDays(
        ids=rows.ids,
        as_of=rows.as_of,
        row_code=rows.code,
        row_day=rows.day,
        row_revenue=rows.revenue,
        code=code,
        day=pday,
        orders=counts,
    )


def days_to_timestamps(days: IntArray) -> npt.NDArray[np.datetime64]:
    """Days since 1970-01-01 to ``datetime64[ns]`` (midnight).

    >>> days_to_timestamps(np.array([0, 19783])).astype(str).tolist()
    ['1970-01-01T00:00:00.000000000', '2024-03-01T00:00:00.000000000']
    """
    return (np.asarray(days, dtype=np.int64) * _NS_PER_DAY).view("datetime64[ns]")
