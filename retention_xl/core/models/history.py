"""Repeat-purchase histories from orders: the input of the models.

Built on :func:`~retention_xl.core.customers.customer_summary` (one purchase occasion
per customer and day, refunds and cancellations handled by
:func:`~retention_xl.core.schema.prepare_orders`), with the times divided by the
length of the model's time unit and the mean value of the repeat purchases added;
:func:`period_history` counts calendar periods with a purchase instead, for BG/BB.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from retention_xl.core._orderdays import (
    AsOf,
    days_to_timestamps,
    load_order_days,
    period_label,
    period_number,
    period_start_day,
    resolve_freq,
)
from retention_xl.core.customers import customer_summary
from retention_xl.core.schema import PreparedOrders, prepare_orders
from retention_xl.errors import InputError, OutOfRangeError

__all__ = ["HISTORY_COLUMNS", "PERIOD_HISTORY_COLUMNS", "period_history", "purchase_history"]

#: Columns of :func:`purchase_history`.
HISTORY_COLUMNS: Final = ("frequency", "recency", "age", "monetary_value", "first_order")


def purchase_history(
    orders: pd.DataFrame | PreparedOrders,
    *,
    as_of: AsOf = None,
    time_unit_days: float = 7.0,
) -> pd.DataFrame:
    """Per-customer ``(x, t_x, T)`` and mean repeat spend, as the models take them.

    ==================  ===========================================================
    ``frequency``       repeat purchase days: distinct purchase days - 1 (*x*)
    ``recency``         first to last purchase day, in time units (*t_x*)
    ``age``             first purchase day to ``as_of``, in time units (*T*)
    ``monetary_value``  mean net value of the repeat purchase days (the first day
                        left out, as in Fader & Hardie's Gamma-Gamma note); NaN when
                        ``frequency`` is 0
    ``first_order``     the first purchase day
    ==================  ===========================================================

    .. math:: t_x = \\frac{\\text{last} - \\text{first}}{u},\\quad
              T = \\frac{\\text{as\\_of} - \\text{first}}{u},\\quad
              \\bar m = \\frac{\\sum_{\\text{days after the first}} \\text{value}}{x}

    with :math:`u` = ``time_unit_days`` (7: weeks, the unit of the published CDNOW
    results). Only purchases count (orders with positive net revenue), so a
    customer whose only order was free or refunded is not in the table.

    Examples
    --------
    >>> df = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
    ...                    "order_id": ["1", "2", "3", "4"],
    ...                    "order_date": ["2024-01-01", "2024-01-08", "2024-01-08",
    ...                                   "2024-01-15"],
    ...                    "amount": [10.0, 5.0, 15.0, 8.0]})
    >>> h = purchase_history(df)
    >>> h.loc["a", ["frequency", "recency", "age", "monetary_value"]].tolist()
    [1.0, 1.0, 2.0, 20.0]
    """
    if isinstance(time_unit_days, bool) or not isinstance(time_unit_days, (int, float)):
        raise InputError(
            f"time_unit_days must be a number of days, got {time_unit_days!r}",
            argument="time_unit_days",
        )
    if not np.isfinite(time_unit_days) or time_unit_days <= 0:
        raise OutOfRangeError(
            f"time_unit_days must be > 0, got {time_unit_days!r}", argument="time_unit_days"
        )
    prepared = prepare_orders(orders)
    summary = customer_summary(prepared, as_of=as_of)
    unit = float(time_unit_days)
    first = summary["first_order"].to_numpy().astype("datetime64[D]").astype(np.int64)
    frequency = summary["frequency"].to_numpy(dtype=np.float64)

    # Value of the repeat purchase days: every purchase row after the first day, up to
    # the observation date (the same cut as the summary's).
    frame = prepared.frame
    is_purchase = frame["is_purchase"].to_numpy()
    purchases = frame[is_purchase]
    day = purchases["order_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    as_of_day = first + summary["age_days"].to_numpy(dtype=np.int64)
    if prepared.customer_codes is not None:
        # the rows' integer codes, through the (fewer) distinct ids to summary rows
        row_codes, ids = prepared.customer_codes
        code = summary.index.get_indexer(pd.Index(ids))[row_codes[is_purchase]]
    else:
        code = summary.index.get_indexer(pd.Index(purchases["customer_id"].to_numpy(dtype=object)))
    known = code >= 0
    code_k = code[known]
    keep = np.zeros(code.size, dtype=bool)
    keep[known] = (day[known] > first[code_k]) & (day[known] <= as_of_day[code_k])
    repeat_value = np.bincount(
        code[keep],
        weights=purchases["revenue"].to_numpy(dtype=np.float64)[keep],
        minlength=len(summary),
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(frequency > 0, repeat_value / np.maximum(frequency, 1.0), np.nan)
    out = pd.DataFrame(
        {
            "frequency": frequency,
            "recency": summary["recency_days"].to_numpy(dtype=np.float64) / unit,
            "age": summary["age_days"].to_numpy(dtype=np.float64) / unit,
            "monetary_value": monetary,
            "first_order": summary["first_order"].to_numpy(),
        },
        index=summary.index,
    )
    out.attrs["time_unit_days"] = unit
    return out


#: Columns of :func:`period_history`.
PERIOD_HISTORY_COLUMNS: Final = (
    "frequency",
    "recency",
    "periods",
    "monetary_value",
    "first_order",
    "first_period",
)

_PERIODS_PER_YEAR: Final = {"Y": 1, "Q": 4, "M": 12}
_PERIOD_NAMES: Final = {"Y": "calendar years", "Q": "calendar quarters", "M": "calendar months"}


def period_history(
    orders: pd.DataFrame | PreparedOrders,
    *,
    as_of: AsOf = None,
    period: str = "Y",
) -> pd.DataFrame:
    """Per-customer discrete histories ``(x, t_x, n)``, the input of BG/BB.

    Time is cut into calendar periods (``period``: ``"Y"`` years, ``"Q"`` quarters,
    ``"M"`` months). A customer's period 0 is the period of their first purchase;
    only *whole* periods count, up to the last one that has ended by ``as_of`` (the
    day of the last order by default): orders after it are not used, and customers
    whose first purchase is after it are not in the table.

    ==================  ===========================================================
    ``frequency``       periods after period 0 with at least one purchase (*x*)
    ``recency``         the last of them, counted from period 0; 0 if none (*t_x*)
    ``periods``         whole periods after period 0 (*n*)
    ``monetary_value``  mean purchase value of those *x* periods (all of a period's
                        purchases together; period 0 left out, as Gamma-Gamma
                        takes it); NaN when ``frequency`` is 0
    ``first_order``     the first purchase day
    ``first_period``    period 0 as a label (``2021``, ``2021-Q3``, ``2021-07``)
    ==================  ===========================================================

    The frame's ``attrs`` keep ``period``, ``last_period`` (label), ``period_end`` (its
    last day), ``left_out`` (customers whose first purchase is later) and
    ``time_unit_days`` (the mean length of a period in days).

    Examples
    --------
    >>> df = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
    ...                    "order_id": ["1", "2", "3", "4"],
    ...                    "order_date": ["2021-03-01", "2021-05-01", "2023-02-01",
    ...                                   "2024-06-30"],
    ...                    "amount": [10.0, 5.0, 15.0, 8.0]})
    >>> h = period_history(df)  # years; 2024 is not over, so up to 2023
    >>> h.loc["a", ["frequency", "recency", "periods", "monetary_value"]].tolist()
    [1.0, 2.0, 2.0, 15.0]
    >>> h.attrs["last_period"], h.attrs["left_out"]
    ('2023', 1)
    """
    freq = resolve_freq(period, "period")
    prepared = prepare_orders(orders)
    days = load_order_days(prepared, as_of)
    cut = days.as_of
    current = int(period_number(np.array([cut], dtype=np.int64), freq)[0])
    ends_today = int(period_number(np.array([cut + 1], dtype=np.int64), freq)[0]) != current
    last = current if ends_today else current - 1
    end_day = int(period_start_day(np.array([last + 1], dtype=np.int64), freq)[0]) - 1

    inside = days.day <= end_day
    code, day = days.code[inside], days.day[inside]
    period_of = period_number(day, freq)
    n_ids = len(days.ids)
    first_period = np.full(n_ids, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_period, code, period_of)
    first_day = np.full(n_ids, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_day, code, day)
    known = first_period <= last
    bought = np.bincount(days.code, minlength=n_ids) > 0  # (ids with refunds only: none)
    # distinct (customer, period) pairs
    pairs = np.unique(code * (last + 2) + (period_of - first_period[code]))
    pair_code, offset = np.divmod(pairs, last + 2)
    frequency = np.bincount(pair_code, minlength=n_ids).astype(np.float64) - 1.0
    recency = np.zeros(n_ids)
    np.maximum.at(recency, pair_code, offset.astype(np.float64))

    # Value of the repeat periods: purchase rows after period 0, up to the end.
    frame = prepared.frame
    is_purchase = frame["is_purchase"].to_numpy()
    purchases = frame[is_purchase]
    row_day = purchases["order_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    if prepared.customer_codes is not None:  # as in purchase_history
        row_codes, ids = prepared.customer_codes
        row_code = days.ids.get_indexer(pd.Index(ids))[row_codes[is_purchase]]
    else:
        row_code = days.ids.get_indexer(pd.Index(purchases["customer_id"].to_numpy(dtype=object)))
    keep = (row_code >= 0) & (row_day <= end_day)
    row_code, row_day = row_code[keep], row_day[keep]
    later = period_number(row_day, freq) > first_period[row_code]
    repeat_value = np.bincount(
        row_code[later],
        weights=purchases["revenue"].to_numpy(dtype=np.float64)[keep][later],
        minlength=n_ids,
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(frequency > 0, repeat_value / np.maximum(frequency, 1.0), np.nan)
    labels = [period_label(int(p), freq) for p in first_period[known]]
    out = pd.DataFrame(
        {
            "frequency": frequency[known],
            "recency": recency[known],
            "periods": (last - first_period[known]).astype(np.float64),
            "monetary_value": monetary[known],
            "first_order": days_to_timestamps(first_day[known]),
            "first_period": labels,
        },
        index=days.ids[known],
    )
    out.attrs.update(
        period=freq,
        last_period=period_label(last, freq),
        period_end=pd.Timestamp(np.datetime64(end_day, "D")),
        left_out=int(np.count_nonzero(bought & ~known)),
        time_unit_days=365.25 / _PERIODS_PER_YEAR[freq],
        period_name=_PERIOD_NAMES[freq],
    )
    return out
