"""Orders reduced to integer arrays: the shared fast path of the order analytics.

:func:`load_order_days` applies the rule of
:func:`~retention_xl.core.schema.prepare_orders` (so deduplication and the
refund/cancellation rule are the same everywhere; on raw orders through
:func:`~retention_xl.core.schema.prepared_rows`, which skips copying the id text into a
frame), cuts the orders at ``as_of`` and keeps customers as integer codes (those of the
validation, or :func:`pandas.factorize`). Purchases are then collapsed to one row per
(customer, purchase day), sorted by customer then day. Customer summaries, period
tables and cohorts are a few numpy passes over these arrays; no Python loop touches a
row.

Days are whole days counted from 1970-01-01 (``datetime64[D]`` as ``int64``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

from retention_xl.core.schema import PreparedOrders, _sorted_rank, prepared_rows
from retention_xl.errors import InputError

__all__ = [
    "FREQS",
    "AsOf",
    "IntArray",
    "OrderDays",
    "days_to_timestamps",
    "load_order_days",
    "period_label",
    "period_number",
    "period_start_day",
    "resolve_freq",
]

IntArray: TypeAlias = npt.NDArray[np.int64]
FloatArray: TypeAlias = npt.NDArray[np.float64]
AsOf: TypeAlias = str | dt.date | pd.Timestamp | np.datetime64 | None

FREQS: Final = ("M", "Q", "Y")
_MONTHS_PER: Final = {"M": 1, "Q": 3, "Y": 12}


def resolve_freq(freq: object, argument: str = "freq") -> str:
    """Return ``"M"``, ``"Q"`` or ``"Y"`` for ``freq`` (case-insensitive) or raise."""
    if isinstance(freq, str) and freq.strip().upper() in _MONTHS_PER:
        return freq.strip().upper()
    raise InputError(
        f"{argument} must be one of {list(FREQS)} (month, quarter, year), got {freq!r}",
        argument=argument,
    )


def period_number(days: IntArray, freq: str) -> IntArray:
    """Calendar period of each day: months (or quarters, years) since 1970-01."""
    months = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    return months // _MONTHS_PER[freq]


def period_start_day(periods: IntArray, freq: str) -> IntArray:
    """First day (days since 1970-01-01) of each period number from :func:`period_number`."""
    months = (periods * _MONTHS_PER[freq]).astype("datetime64[M]")
    return months.astype("datetime64[D]").astype(np.int64)


def period_label(period: int, freq: str) -> str:
    """Human label of a period number: ``2024-01``, ``2024-Q1`` or ``2024``."""
    first_month = np.datetime64(int(period * _MONTHS_PER[freq]), "M")
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


def _recode(
    codes: IntArray,
    labels: npt.NDArray[np.object_] | pd.Index,
    *,
    sort: bool,
    labels_sorted: bool,
) -> tuple[IntArray, pd.Index]:
    """Renumber ``codes`` (into ``labels``) to ``0..k-1`` over the labels present.

    With ``sort`` the new codes follow the sorted labels, otherwise first appearance.
    """
    if not sort:
        new, present = pd.factorize(codes, sort=False)
        return new.astype(np.int64), pd.Index(labels[present], dtype="string")
    present = np.flatnonzero(np.bincount(codes, minlength=labels.size))
    if labels_sorted:
        if present.size == labels.size:  # every customer kept: codes stay
            return codes, pd.Index(labels, dtype="string")
        remap = np.full(labels.size, -1, dtype=np.int64)
        remap[present] = np.arange(present.size, dtype=np.int64)
        return remap[codes], pd.Index(labels[present], dtype="string")
    sub = np.asarray(labels[present], dtype=object)
    order = _sorted_rank(sub)
    remap = np.full(labels.size, -1, dtype=np.int64)
    remap[present[order]] = np.arange(order.size, dtype=np.int64)
    return remap[codes], pd.Index(sub[order], dtype="string")


def _purchase_days(code: IntArray, day: IntArray, customers: int) -> tuple[IntArray, ...]:
    """Distinct (customer, day) pairs of the purchases, sorted, with their purchase counts.

    Each pair becomes one integer key, ``code * span + (day - first day)``, and the keys
    are sorted as values (no argsort); 32-bit keys when they fit, which sort faster.

    >>> _purchase_days(np.array([1, 0, 1, 1]), np.array([5, 9, 5, 7]), 2)
    (array([0, 1, 1]), array([9, 5, 7]), array([1, 2, 1]))
    """
    if code.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    lo = int(day.min())
    span = int(day.max()) - lo + 1
    keys = code * span
    keys += day
    keys -= lo
    if customers * span <= np.iinfo(np.uint32).max:
        keys = keys.astype(np.uint32)
    keys.sort()
    change = np.empty(keys.size, dtype=bool)
    change[0] = True
    np.not_equal(keys[1:], keys[:-1], out=change[1:])
    starts = np.flatnonzero(change)
    counts = np.diff(starts, append=keys.size).astype(np.int64)
    pair_keys = keys[starts].astype(np.int64)
    pair_code = pair_keys // span  # (floor division by one number is fast; divmod is not)
    pair_keys -= pair_code * span
    pair_keys += lo
    return pair_code, pair_keys, counts


def load_order_days(
    orders: pd.DataFrame | PreparedOrders, as_of: AsOf, *, sort_ids: bool = True
) -> OrderDays:
    """Prepare ``orders`` and reduce them to :class:`OrderDays`.

    ``as_of`` (inclusive, day precision) cuts off later orders; ``None`` means the
    day of the last order (of any row) in the data. With ``sort_ids`` customer codes
    follow the sorted ids (for tables indexed by customer); otherwise they come in
    whichever order is cheaper (first appearance, or sorted when the prepared orders
    carry sorted codes).
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
    else:  # the rule of prepare_orders, without copying the id text into a frame
        rows = prepared_rows(orders)
        dates, revenue, purchase = rows.dates, rows.revenue, rows.is_purchase
        coded = all_codes, labels = rows.codes, rows.labels
    day: IntArray = dates.astype("datetime64[D]").astype(np.int64)
    last = int(day.max()) if day.size else 0
    cut = last if as_of is None else _as_of_day(as_of)
    keep = day <= cut
    every = bool(keep.all())
    labels_sorted = coded is not None
    row_code, ids = _recode(
        all_codes if every else all_codes[keep],
        labels,
        sort=sort_ids or labels_sorted,  # sorted labels: the cheaper way too
        labels_sorted=labels_sorted,
    )
    if not every:
        day, revenue, purchase = day[keep], revenue[keep], purchase[keep]
    code, pday, counts = _purchase_days(row_code[purchase], day[purchase], len(ids))
    return OrderDays(
        ids=pd.Index(ids, name="customer_id"),
        as_of=cut,
        row_code=row_code,
        row_day=day,
        row_revenue=revenue,
        code=code.astype(np.int64, copy=False),
        day=pday.astype(np.int64, copy=False),
        orders=counts.astype(np.int64, copy=False),
    )


def days_to_timestamps(days: IntArray) -> npt.NDArray[np.datetime64]:
    """Days since 1970-01-01 to ``datetime64[ns]`` (midnight)."""
    return days.astype("datetime64[D]").astype("datetime64[ns]")
