"""Repeat-purchase histories from orders: the input of the models.

Built on :func:`~retention_xl.core.customers.customer_summary` (one purchase occasion
per customer and day, refunds and cancellations handled by
:func:`~retention_xl.core.schema.prepare_orders`), with the times divided by the
length of the model's time unit and the mean value of the repeat purchases added.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from retention_xl.core._orderdays import AsOf
from retention_xl.core.customers import customer_summary
from retention_xl.core.schema import PreparedOrders, prepare_orders
from retention_xl.errors import InputError, OutOfRangeError

__all__ = ["HISTORY_COLUMNS", "purchase_history"]

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
    purchases = frame[frame["is_purchase"].to_numpy()]
    day = purchases["order_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    as_of_day = first + summary["age_days"].to_numpy(dtype=np.int64)
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
