"""The tidy frames every part of the package exchanges, and their validation.

Readers in :mod:`retention_xl.io` produce these frames; the core consumes them.

**Orders** (one row per order)

=================  ==========  =====================================================
column             dtype       meaning
=================  ==========  =====================================================
``customer_id``    string      who bought
``order_id``       string      the order's id (duplicates across exports dropped)
``order_date``     datetime64  when (naive, day precision is enough)
``amount``         float64     merchandise value net of discounts, excluding tax
                               and shipping; a refund row may be negative
``refunded``       float64     optional: amount refunded on this order (>= 0)
``status``         string      optional: ``paid`` (default), ``cancelled``,
                               ``refunded``
``currency``       string      optional: ISO code
=================  ==========  =====================================================

**Subscriptions** (one row per subscription item over a time interval; a plan change
ends one row and starts another with the same ``subscription_id``)

=====================  ==========  =================================================
``customer_id``        string
``subscription_id``    string
``start_date``         datetime64  first day the item is billed
``end_date``           datetime64  first day it is no longer billed (NaT: ongoing)
``amount``             float64     price per billing interval, excluding tax
``interval``           string      ``day``, ``week``, ``month`` or ``year``
``interval_count``     int64       billing every N intervals (default 1)
``status``             string      optional, Stripe's: ``active``, ``past_due``,
                                   ``trialing``, ``canceled``, ``unpaid``, ...
=====================  ==========  =================================================

**Survey answers** (one row per answer)

=================  ==========  =====================================================
``answered_at``    datetime64  when
``score``          float64     the score (0-10 for NPS, 1-5 for CSAT by default)
``kind``           string      ``nps`` or ``csat``
``customer_id``    string      optional
=================  ==========  =====================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from retention_xl.core._arrowtext import (
    OrderIdRows,
    arrow_text,
    clean_labels,
    customer_codes,
    label_masks,
    order_id_rows,
)
from retention_xl.errors import InputError, OutOfRangeError

__all__ = [
    "ORDER_COLUMNS",
    "ORDER_OPTIONAL_COLUMNS",
    "ORDER_STATUSES",
    "SUBSCRIPTION_COLUMNS",
    "SURVEY_COLUMNS",
    "OrderStats",
    "PreparedOrders",
    "prepare_orders",
    "validate_orders",
    "validate_subscriptions",
    "validate_survey",
]

ORDER_COLUMNS: Final = ("customer_id", "order_id", "order_date", "amount")
ORDER_OPTIONAL_COLUMNS: Final = ("refunded", "status", "currency")
ORDER_STATUSES: Final = frozenset({"paid", "cancelled", "refunded"})
SUBSCRIPTION_COLUMNS: Final = (
    "customer_id",
    "subscription_id",
    "start_date",
    "end_date",
    "amount",
    "interval",
    "interval_count",
)
SUBSCRIPTION_INTERVALS: Final = frozenset({"day", "week", "month", "year"})
#: Stripe's subscription statuses (``cancelled`` is read as ``canceled``).
SUBSCRIPTION_STATUSES: Final = frozenset(
    {
        "active",
        "past_due",
        "canceled",
        "trialing",
        "incomplete",
        "incomplete_expired",
        "unpaid",
        "paused",
    }
)
SURVEY_COLUMNS: Final = ("answered_at", "score", "kind")
SURVEY_KINDS: Final = frozenset({"nps", "csat"})
#: Longest text copied to a fixed-width array for C-speed checks and sorting.
_MAX_FIXED_WIDTH: Final = 64
#: Largest fixed-width copy of an id column (bytes) made for C-speed passes.
_MAX_FIXED_BYTES: Final = 1 << 30


def _require_columns(frame: pd.DataFrame, required: Sequence[str], what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise InputError(
            f"{what} must be a pandas DataFrame, got {type(frame).__name__}", argument=what
        )
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(
            f"{what} is missing column(s) {missing}; found {list(frame.columns)}. "
            f"Rename them or read the file with retention_xl.io, which maps export headers.",
            argument=what,
        )


def _strip(series: pd.Series) -> pd.Series:
    """``series.str.strip()`` for a ``string`` Series without missing values, fast.

    Stripping is a Python call per cell; most exports have nothing to strip. A
    fixed-width unicode copy (C loops) tells whether any cell starts or ends with
    whitespace (the same ``str.isspace`` characters); only then is the column
    stripped. Very long values skip the check rather than make a huge copy.
    """
    values = series.to_numpy(dtype=object)
    if values.size == 0:
        return series
    longest = max(map(len, values))
    if longest == 0:
        return series
    if longest <= _MAX_FIXED_WIDTH:
        fixed = values.astype(f"U{longest}")
        if not bool((np.char.strip(fixed) != fixed).any()):
            return series
    return series.str.strip()


def _as_id(series: pd.Series, name: str, what: str) -> pd.Series:
    blank = series.isna().to_numpy(dtype=bool)
    if blank.any():
        row = int(np.flatnonzero(blank)[0])
        raise InputError(f"{what}.{name} is blank at position {row}", argument=name)
    return _strip(series.astype("string"))


@dataclass(frozen=True, slots=True)
class _IdCodes:
    """An id column as integer codes: ``labels[codes]`` are the (stripped) ids.

    ``labels`` are the distinct ids, sorted (Python string order; Python strings, a
    fixed-width unicode array or a ``string`` index); ``first`` the position of the
    first row of each label (``None`` when not asked for).
    """

    codes: npt.NDArray[np.int64]
    labels: npt.NDArray[Any] | pd.Index
    first: npt.NDArray[np.intp] | None

    def order_rows(self) -> OrderIdRows:
        """The :class:`OrderIdRows` of these codes (``first`` must be set)."""
        assert self.first is not None
        is_first = np.zeros(self.codes.size, dtype=bool)
        is_first[self.first] = True
        return OrderIdRows(is_first=is_first, sort_keys=(self.codes,))


def _fixed_width(values: npt.NDArray[np.object_]) -> npt.NDArray[np.str_] | None:
    """A fixed-width unicode copy of ``values`` (all ``str``), or ``None`` if too big."""
    longest = max(map(len, values)) if values.size else 0
    if longest > _MAX_FIXED_WIDTH or longest * 4 * values.size > _MAX_FIXED_BYTES:
        return None
    return values.astype(f"U{max(longest, 1)}")


def _sorted_rank(labels: npt.NDArray[np.object_]) -> npt.NDArray[np.int64]:
    """Positions that sort ``labels`` (Python strings, code-point order).

    pandas sorts object arrays with Python comparisons; a fixed-width unicode copy
    sorts in C, in the same order.
    """
    fixed = _fixed_width(labels) if labels.size > 1 else None
    if fixed is not None:
        return np.argsort(fixed, kind="stable").astype(np.int64)
    return np.asarray(sorted(range(labels.size), key=labels.__getitem__), dtype=np.int64)


def _stripped(values: npt.NDArray[np.object_]) -> npt.NDArray[np.object_] | None:
    """``values`` stripped of surrounding whitespace, or ``None`` if none has any."""
    fixed = _fixed_width(values)
    if fixed is not None and not bool((np.char.strip(fixed) != fixed).any()):
        return None
    out = pd.Series(values, dtype="string").str.strip().to_numpy(dtype=object)
    return None if bool((out == values).all()) else out


def _encode_ids(
    series: pd.Series, name: str, what: str, *, by_sorting: bool
) -> tuple[pd.Series, _IdCodes]:
    """:func:`_as_id` and the column's :class:`_IdCodes`, in few passes over the cells.

    Two strategies, same result. ``by_sorting`` (for order ids: nearly all distinct and
    usually in ascending order) strips, sorts and deduplicates one fixed-width unicode
    copy, in C on contiguous memory; trailing NUL characters (which no spreadsheet or
    CSV holds) do not survive that copy. Otherwise (customer ids: many repeats) the
    cells are hashed once and only the distinct ids are stripped and sorted.
    """
    strings = series.astype("string")
    values = strings.to_numpy(dtype=object)
    if by_sorting:
        try:
            fixed = _fixed_width(values)
        except TypeError:  # a blank cell (pd.NA) has no length: named below
            fixed = None
            _as_id(series, name, what)
        if fixed is not None:
            clean = np.char.strip(fixed)
            changed = bool((clean != fixed).any())
            del fixed
            labels_u, first, codes = np.unique(clean, return_index=True, return_inverse=True)
            del clean
            codes = codes.reshape(-1).astype(np.int64)
            out = strings
            if changed:
                labels = labels_u.astype(object)
                out = pd.Series(labels[codes], index=series.index, dtype="string")
            return out, _IdCodes(codes, labels_u, first)
    raw, uniques = pd.factorize(values, use_na_sentinel=True)
    if values.size and int(raw.min()) < 0:
        _as_id(series, name, what)  # raises, naming the first blank
    codes = raw.astype(np.int64)
    labels = np.asarray(uniques, dtype=object)
    stripped = _stripped(labels)
    out = strings
    if stripped is not None:  # "a" and " a" are one id: merge them
        merged, labels = pd.factorize(stripped)
        labels = np.asarray(labels, dtype=object)
        codes = merged.astype(np.int64)[codes]
        out = pd.Series(labels[codes], index=series.index, dtype="string")
    order = _sorted_rank(labels)
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size, dtype=np.int64)
    codes = rank[codes]
    labels = labels[order]
    first_rows = np.unique(codes, return_index=True)[1] if by_sorting else None
    return out, _IdCodes(codes, labels, first_rows)


def _customer_ids(series: pd.Series, what: str) -> tuple[pd.Series, _IdCodes]:
    """The customer-id column and its codes; Arrow-backed text is coded in Arrow."""
    arr = arrow_text(series)
    coded = None if arr is None else customer_codes(arr)
    if coded is None:
        return _encode_ids(series, "customer_id", what, by_sorting=False)
    codes, labels = coded
    return series.astype("string"), _IdCodes(codes, labels, None)


def _order_ids(series: pd.Series, what: str) -> tuple[pd.Series, OrderIdRows]:
    """The order-id column and its :class:`OrderIdRows` (Arrow-backed text in Arrow)."""
    arr = arrow_text(series)
    rows = None if arr is None else order_id_rows(arr)
    if rows is None:
        out, coded = _encode_ids(series, "order_id", what, by_sorting=True)
        return out, coded.order_rows()
    return series.astype("string"), rows


def _clean_label(label: str, *, upper: bool) -> str:
    label = label.strip()
    return label.upper() if upper else label.lower()


def _as_label(
    series: pd.Series,
    default: str | None,
    *,
    upper: bool = False,
    known: frozenset[str] = frozenset(),
) -> tuple[pd.Series, frozenset[str]]:
    """Strip and lower-case (or upper-case) a column of a few distinct labels.

    Each distinct label is cleaned once; blanks become ``default`` (``None``: missing).
    Returns the column and its distinct clean labels (within ``known`` when the column
    holds only ``known``, clean labels: then it is returned as it is).
    """
    arr = arrow_text(series, allow_missing=True)
    if arr is not None:
        column, found = clean_labels(arr, default, lambda label: _clean_label(label, upper=upper))
        if column is None:
            return series.astype("string"), found
        return pd.Series(column, index=series.index, dtype="string"), found
    strings = series.astype("string")
    values = strings.to_numpy(dtype=object)
    if values.size and not bool(strings.isna().any()):
        if known:
            clean_already = np.zeros(values.size, dtype=bool)
            for label in known:
                clean_already |= values == label
            if bool(clean_already.all()):
                return strings, known
        first = values[0]
        if bool((values == first).all()):  # one label, as for the currency of a shop
            clean = _clean_label(first, upper=upper)
            if clean != first:
                strings = pd.Series(
                    np.full(values.size, clean, dtype=object), index=series.index, dtype="string"
                )
            return strings, frozenset({clean})
    codes, labels = pd.factorize(values, use_na_sentinel=True)
    cleaned = [_clean_label(str(label), upper=upper) for label in labels]
    fill = np.empty(1, dtype=object)
    fill[0] = pd.NA if default is None else default
    table = np.concatenate([np.asarray(cleaned, dtype=object), fill])
    present = set(cleaned) | ({default} if default is not None and (codes < 0).any() else set())
    return pd.Series(table[codes], index=series.index, dtype="string"), frozenset(present)


def _as_datetime(series: pd.Series, name: str, what: str, *, allow_nat: bool) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(series):
        out = series
        if getattr(out.dt, "tz", None) is not None:
            out = out.dt.tz_localize(None)
    else:
        # ISO 8601 first (canonical files: "2024-03-01" and "2024-03-01 18:30" mixed),
        # then element-wise parsing for whatever else is left.
        out = pd.to_datetime(series, errors="coerce", format="ISO8601")
        rest = out.isna() & series.notna()
        if rest.any():
            out[rest] = pd.to_datetime(series[rest], errors="coerce", format="mixed")
        bad = out.isna() & series.notna()
        if bad.any():
            pos = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(
                f"{what}.{name} has a value that is not a date at position {pos}: "
                f"{series.iloc[pos]!r}",
                argument=name,
            )
    out = out.astype("datetime64[ns]")
    if not allow_nat and out.isna().any():
        pos = int(np.flatnonzero(out.isna().to_numpy())[0])
        raise InputError(f"{what}.{name} is blank at position {pos}", argument=name)
    return out


def _as_float(series: pd.Series, name: str, what: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(series):
        raise InputError(f"{what}.{name} must be numbers, not booleans", argument=name)
    if series.dtype == np.dtype(np.float64):  # numbers already: nothing to coerce
        out = series
        bad = None
    else:
        out = pd.to_numeric(series, errors="coerce").astype("float64")
        bad = out.isna() & series.notna()
    if bad is not None and bad.any():
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"{what}.{name} has a value that is not a number at position {pos}: "
            f"{series.iloc[pos]!r}",
            argument=name,
        )
    if np.isinf(out.to_numpy()).any():
        raise OutOfRangeError(f"{what}.{name} has an infinite value", argument=name)
    return out


def validate_orders(orders: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``orders`` with canonical dtypes, or raise :class:`InputError`.

    Examples
    --------
    >>> df = pd.DataFrame({"customer_id": ["a"], "order_id": [1],
    ...                    "order_date": ["2024-01-05"], "amount": ["12.5"]})
    >>> validate_orders(df).dtypes["amount"]
    dtype('float64')
    """
    return _validate_orders(orders)[0]


def _validate_orders(
    orders: pd.DataFrame,
) -> tuple[pd.DataFrame, _IdCodes, OrderIdRows, dict[str, npt.NDArray[np.bool_]] | None]:
    """:func:`validate_orders`, with the codes of the customer ids, the order-id rows
    and, when the status column needed no cleaning, the rows of each status."""
    _require_columns(orders, ORDER_COLUMNS, "orders")
    what = "orders"
    customer_id, customers = _customer_ids(orders["customer_id"], what)
    order_id, order_ids = _order_ids(orders["order_id"], what)
    out = pd.DataFrame(
        {
            "customer_id": customer_id,
            "order_id": order_id,
            "order_date": _as_datetime(orders["order_date"], "order_date", what, allow_nat=False),
            "amount": _as_float(orders["amount"], "amount", what),
        },
        copy=False,  # the columns are new or (copy on write) the caller's, untouched
    )
    if out["amount"].isna().any():
        raise InputError("orders.amount is blank for some orders", argument="amount")
    if "refunded" in orders.columns:
        refunded = _as_float(orders["refunded"], "refunded", what).fillna(0.0)
        if (refunded < 0).any():
            raise OutOfRangeError(
                "orders.refunded must be >= 0 (the amount given back)", argument="refunded"
            )
        out["refunded"] = refunded
    status_masks: dict[str, npt.NDArray[np.bool_]] | None = None
    if "status" in orders.columns:
        arr = arrow_text(orders["status"])
        status_masks = None if arr is None else label_masks(arr, sorted(ORDER_STATUSES))
        if status_masks is not None:  # clean labels only: compared, not cleaned
            status = orders["status"].astype("string")
            labels = frozenset(ORDER_STATUSES)
        else:
            status, labels = _as_label(orders["status"], "paid", known=ORDER_STATUSES)
        unknown = sorted(labels - ORDER_STATUSES)
        if unknown:
            raise InputError(
                f"orders.status has unknown value(s) {unknown}; use one of "
                f"{sorted(ORDER_STATUSES)}",
                argument="status",
            )
        out["status"] = status
    if "currency" in orders.columns:
        out["currency"] = _as_label(orders["currency"], None, upper=True)[0]
    return out.reset_index(drop=True), customers, order_ids, status_masks


@dataclass(frozen=True, slots=True)
class OrderStats:
    """What :func:`prepare_orders` did, for import summaries and the About sheet."""

    rows: int
    duplicates_removed: int
    cancelled: int
    refunds: int
    orders: int
    customers: int
    first_date: pd.Timestamp | None
    last_date: pd.Timestamp | None
    currencies: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PreparedOrders:
    """Orders after deduplication and the refund rule, ready for every analysis.

    ``frame`` has ``customer_id``, ``order_id``, ``order_date``, ``revenue`` (net of
    refunds) and ``is_purchase``, sorted by date then order id. ``customer_codes``
    (optional, filled by :func:`prepare_orders`) holds integer codes of
    ``frame["customer_id"]`` and the sorted distinct ids they stand for, so analyses
    need not hash the ids again; treat ``frame`` as read-only when it is set.
    """

    frame: pd.DataFrame
    stats: OrderStats
    customer_codes: tuple[npt.NDArray[np.int64], npt.NDArray[np.object_] | pd.Index] | None = field(
        default=None, repr=False, compare=False
    )

    @property
    def purchases(self) -> pd.DataFrame:
        """Only the rows that count as purchases (see :func:`prepare_orders`)."""
        return self.frame[self.frame["is_purchase"].to_numpy()]


#: Rows moved to put rows in order: ``new[rows] = old[source]`` (see :func:`_date_id_moves`).
Moves = tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]


def _date_id_moves(
    dates: npt.NDArray[np.int64], keys: Sequence[npt.NDArray[np.int64]]
) -> Moves | None:
    """How to sort rows by date, then id (``keys``, least significant first).

    ``None`` when the rows are sorted already; otherwise ``(rows, source)``: the sorted
    rows are the rows with ``rows`` replaced by ``source`` (``new[rows] = old[source]``).
    When only the ids of some dates are out of order (dates ascending), only the rows of
    those dates move.
    """
    if dates.size < 2:
        return None
    after = dates[1:] > dates[:-1]
    tied = dates[1:] == dates[:-1]
    for key in reversed(keys):
        after |= tied & (key[1:] > key[:-1])
        tied &= key[1:] == key[:-1]
    if bool(after.all()):
        return None
    if bool((dates[1:] < dates[:-1]).any()):
        return np.arange(dates.size), np.lexsort((*keys, dates))
    rows = _rows_of_dates(dates, np.flatnonzero(~after))
    return rows, rows[np.lexsort((*(key[rows] for key in keys), dates[rows]))]


def _rows_of_dates(
    dates: npt.NDArray[np.int64], rows: npt.NDArray[np.intp]
) -> npt.NDArray[np.intp]:
    """Every row sharing its date with one of ``rows`` (``dates`` ascending), ascending."""
    starts = np.flatnonzero(np.r_[True, dates[1:] != dates[:-1]])
    ends = np.r_[starts[1:], dates.size]
    blocks = np.unique(np.searchsorted(starts, rows, side="right") - 1)
    lengths = ends[blocks] - starts[blocks]
    offsets = np.repeat(starts[blocks] - np.cumsum(lengths) + lengths, lengths)
    return offsets + np.arange(int(lengths.sum()))


def _currencies(currency: pd.Series, keep: npt.NDArray[np.bool_]) -> tuple[str, ...]:
    """The distinct currencies of the kept rows, sorted (missing cells left out)."""
    if not bool(keep.any()):
        return ()
    first = currency.iloc[0]
    if not currency.hasnans and bool(currency.eq(first).all()):
        return (str(first),)
    codes, labels = pd.factorize(currency, use_na_sentinel=True)
    kept = codes[keep]
    seen = np.bincount(kept[kept >= 0], minlength=len(labels))
    return tuple(sorted(str(labels[int(i)]) for i in np.flatnonzero(seen)))


def prepare_orders(orders: pd.DataFrame | PreparedOrders) -> PreparedOrders:
    """Deduplicate orders and apply the refund and cancellation rule.

    The rule, applied in this order:

    1. rows repeating an ``order_id`` (overlapping exports) are dropped, keeping the
       first occurrence;
    2. ``cancelled`` orders are dropped: no revenue, no purchase;
    3. ``revenue = amount - refunded``; an order is a *purchase* when its revenue is
       positive. A fully refunded order (``status == "refunded"`` or revenue <= 0)
       and a negative refund row lower revenue but are not purchases, so they never
       make a customer a repeat buyer;
    4. customers with no purchase stay out of every rate denominator.

    Examples
    --------
    >>> df = pd.DataFrame({"customer_id": ["a", "a", "b"], "order_id": ["1", "1", "2"],
    ...                    "order_date": ["2024-01-01"] * 3, "amount": [10.0, 10.0, 5.0]})
    >>> p = prepare_orders(df)
    >>> p.stats.duplicates_removed, p.stats.orders, p.stats.customers
    (1, 2, 2)
    """
    if isinstance(orders, PreparedOrders):
        return orders
    kept = prepared_rows(orders)
    df, take, purchase = kept.validated, kept.take(), kept.is_purchase
    frame = pd.DataFrame(
        {
            "customer_id": df["customer_id"].array.take(take),
            "order_id": df["order_id"].array.take(take),
            "order_date": kept.dates,
            "revenue": kept.revenue,
            "is_purchase": purchase,
        },
        copy=False,  # fresh arrays: no need for a second copy
    )
    rows = len(df)
    refunds = int((~purchase).sum())
    if "refunded" in df.columns:
        refunded = df["refunded"].to_numpy(dtype="float64")
        refunds = int(((refunded[take] > 0) | ~purchase).sum())
    currencies: tuple[str, ...] = ()
    if "currency" in df.columns:
        currencies = _currencies(df["currency"], kept.keep)
    buyers = np.bincount(kept.codes[purchase], minlength=len(kept.labels))
    stats = OrderStats(
        rows=rows,
        duplicates_removed=int(rows - kept.first.sum()),
        cancelled=int((kept.first & kept.cancelled).sum()),
        refunds=refunds,
        orders=int(purchase.sum()),
        customers=int(np.count_nonzero(buyers)),
        first_date=None if frame.empty else pd.Timestamp(frame["order_date"].iloc[0]),
        last_date=None if frame.empty else pd.Timestamp(frame["order_date"].iloc[-1]),
        currencies=currencies,
    )
    return PreparedOrders(frame=frame, stats=stats, customer_codes=(kept.codes, kept.labels))


@dataclass(frozen=True, slots=True)
class PreparedRows:
    """What :func:`prepare_orders` keeps, as arrays, before it builds the frame.

    ``codes``, ``dates``, ``revenue`` and ``is_purchase`` hold the kept rows in the
    prepared order (date, then order id; customer codes into the sorted ``labels``):
    the rows of ``validated`` where ``keep`` is set, with ``moves`` applied (``None``
    when they come in that order already). ``first``, ``cancelled`` and ``keep`` are
    masks over the validated rows (first row of its order id, cancelled, kept).
    Analyses that need only numbers read these and skip copying the id text.
    """

    validated: pd.DataFrame
    codes: npt.NDArray[np.int64]
    labels: npt.NDArray[np.object_] | pd.Index
    dates: npt.NDArray[np.datetime64]
    revenue: npt.NDArray[np.float64]
    is_purchase: npt.NDArray[np.bool_]
    first: npt.NDArray[np.bool_]
    cancelled: npt.NDArray[np.bool_]
    keep: npt.NDArray[np.bool_]
    moves: Moves | None

    def take(self) -> npt.NDArray[np.intp]:
        """The rows of ``validated`` that are kept, in the prepared order."""
        return _moved(np.flatnonzero(self.keep), self.moves)


def _moved(values: npt.NDArray[Any], moves: Moves | None) -> npt.NDArray[Any]:
    """``values`` (a fresh array) with ``moves`` applied in place."""
    if moves is not None:
        rows, source = moves
        values[rows] = values[source]
    return values


def prepared_rows(orders: pd.DataFrame) -> PreparedRows:
    """Validate ``orders`` and apply the rule of :func:`prepare_orders`, as arrays.

    The kept rows are picked by their mask, then the few that are out of date and id
    order move (usually the rows of a day where the order numbers gain a digit): no
    array of positions is built for all of them.
    """
    df, customers, order_ids, status_masks = _validate_orders(orders)
    rows = len(df)
    first, sort_keys = order_ids.is_first, order_ids.sort_keys
    codes, labels = customers.codes, customers.labels
    del customers, order_ids  # big arrays are dropped as soon as they are used up
    cancelled = np.zeros(rows, dtype=bool)
    refunded_status = np.zeros(rows, dtype=bool)
    if status_masks is not None:
        cancelled, refunded_status = status_masks["cancelled"], status_masks["refunded"]
    elif "status" in df.columns:
        status = df["status"]
        cancelled = status.eq("cancelled").to_numpy(dtype=bool, na_value=False)
        refunded_status = status.eq("refunded").to_numpy(dtype=bool, na_value=False)
    keep = first & ~cancelled

    dates = df["order_date"].to_numpy(dtype="datetime64[ns]")[keep]
    moves = _date_id_moves(dates.view(np.int64), [k[keep] for k in sort_keys])
    del sort_keys
    kept_codes = _moved(codes[keep], moves)
    del codes
    revenue = df["amount"].to_numpy(dtype="float64")[keep]
    if "refunded" in df.columns:
        revenue -= df["refunded"].to_numpy(dtype="float64")[keep]
    is_purchase = revenue > 0
    is_purchase &= ~refunded_status[keep]
    return PreparedRows(
        validated=df,
        codes=kept_codes,
        labels=labels,
        dates=_moved(dates, moves),
        revenue=_moved(revenue, moves),
        is_purchase=_moved(is_purchase, moves),
        first=first,
        cancelled=cancelled,
        keep=keep,
        moves=moves,
    )


def validate_subscriptions(subscriptions: pd.DataFrame) -> pd.DataFrame:
    """Return ``subscriptions`` with canonical dtypes, or raise :class:`InputError`.

    ``end_date`` may be missing (ongoing); ``interval_count`` defaults to 1 and
    ``status`` to ``active``.
    """
    _require_columns(
        subscriptions,
        ("customer_id", "subscription_id", "start_date", "amount", "interval"),
        "subscriptions",
    )
    what = "subscriptions"
    s = subscriptions
    out = pd.DataFrame(
        {
            "customer_id": _as_id(s["customer_id"], "customer_id", what),
            "subscription_id": _as_id(s["subscription_id"], "subscription_id", what),
            "start_date": _as_datetime(s["start_date"], "start_date", what, allow_nat=False),
            "end_date": _as_datetime(
                s["end_date"] if "end_date" in s.columns else pd.Series(pd.NaT, index=s.index),
                "end_date",
                what,
                allow_nat=True,
            ),
            "amount": _as_float(s["amount"], "amount", what),
        }
    )
    negative = (out["amount"] < 0).to_numpy()
    if negative.any():
        pos = int(np.flatnonzero(negative)[0])
        raise OutOfRangeError(
            f"subscriptions.amount must be >= 0 (the price per billing interval, without "
            f"tax), got {out['amount'].iloc[pos]!r} at position {pos}",
            argument="amount",
        )
    if out["amount"].isna().any():
        pos = int(np.flatnonzero(out["amount"].isna().to_numpy())[0])
        raise InputError(f"subscriptions.amount is blank at position {pos}", argument="amount")
    interval = s["interval"].astype("string").str.strip().str.lower()
    interval = interval.str.replace(r"ly$", "", regex=True).str.replace(r"s$", "", regex=True)
    interval = interval.replace({"annual": "year", "annually": "year", "dai": "day"})
    unknown = sorted(set(interval.dropna().unique()) - SUBSCRIPTION_INTERVALS)
    if unknown or interval.isna().any():
        raise InputError(
            f"subscriptions.interval has unknown value(s) {unknown}; use one of "
            f"{sorted(SUBSCRIPTION_INTERVALS)}",
            argument="interval",
        )
    out["interval"] = interval
    if "interval_count" in s.columns:
        count = _as_float(s["interval_count"], "interval_count", what).fillna(1.0)
        if (count < 1).any() or (count != np.floor(count)).any():
            raise OutOfRangeError(
                "subscriptions.interval_count must be a whole number >= 1",
                argument="interval_count",
            )
        out["interval_count"] = count.astype("int64")
    else:
        out["interval_count"] = np.ones(len(out), dtype="int64")
    if "status" in s.columns:
        status = s["status"].astype("string").str.strip().str.lower().fillna("active")
        status = status.str.replace(" ", "_").replace({"cancelled": "canceled"})
        unknown = sorted(set(status.unique()) - SUBSCRIPTION_STATUSES)
        if unknown:
            raise InputError(
                f"subscriptions.status has unknown value(s) {unknown}; use one of "
                f"{sorted(SUBSCRIPTION_STATUSES)} (Stripe's statuses)",
                argument="status",
            )
        out["status"] = status
    else:
        out["status"] = pd.Series("active", index=out.index, dtype="string")
    ends = out["end_date"]
    backwards = ends.notna() & (ends < out["start_date"])
    if backwards.any():
        pos = int(np.flatnonzero(backwards.to_numpy())[0])
        raise OutOfRangeError(
            f"subscriptions: end_date before start_date at position {pos}", argument="end_date"
        )
    return out.reset_index(drop=True)


def validate_survey(survey: pd.DataFrame, *, default_kind: str = "nps") -> pd.DataFrame:
    """Return survey answers with canonical dtypes, or raise :class:`InputError`.

    ``kind`` defaults to ``default_kind``; blank scores (unanswered) are dropped.
    Scores must lie in 0-10 for NPS and 1-10 for CSAT (the CSAT scale is checked by
    :func:`retention_xl.core.kpis.csat`).
    """
    _require_columns(survey, ("answered_at", "score"), "survey")
    what = "survey"
    out = pd.DataFrame(
        {
            "answered_at": _as_datetime(
                survey["answered_at"], "answered_at", what, allow_nat=False
            ),
            "score": _as_float(survey["score"], "score", what),
        }
    )
    if "kind" in survey.columns:
        # normalise the few distinct labels, not every row
        codes, labels = pd.factorize(survey["kind"], use_na_sentinel=True)
        clean = pd.Series(labels, dtype="string").str.strip().str.lower().to_numpy(dtype=object)
        kinds = np.append(clean, default_kind)[codes]
        out["kind"] = pd.Series(kinds, index=out.index, dtype="string")
    else:
        out["kind"] = pd.Series(default_kind, index=out.index, dtype="string")
    unknown = sorted(set(out["kind"].unique()) - SURVEY_KINDS)
    if unknown:
        raise InputError(
            f"survey.kind has unknown value(s) {unknown}; use 'nps' or 'csat'", argument="kind"
        )
    if "customer_id" in survey.columns:
        out["customer_id"] = survey["customer_id"].astype("string")
    out = out[out["score"].notna().to_numpy()]
    nps_rows = (out["kind"] == "nps").to_numpy(dtype=bool)
    s = out["score"].to_numpy()
    bad = nps_rows & ((s < 0) | (s > 10) | (s != np.floor(s)))
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise OutOfRangeError(
            f"survey.score must be a whole number 0-10 for NPS answers, got {s[pos]!r}",
            argument="score",
        )
    return out.reset_index(drop=True)
