"""Survival of customers: Kaplan-Meier curves of customer lifetimes with censoring.

A customer whose lifetime has not ended yet (still active at the end of the data) is
*right-censored*: we know they lived at least that long. The Kaplan-Meier product-limit
estimator uses those customers for as long as they were observed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import special

from retention_xl.core.schema import PreparedOrders, prepare_orders
from retention_xl.errors import InputError, NotEnoughDataError, OutOfRangeError

__all__ = ["customer_lifetimes", "kaplan_meier"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def _raw(values: Any, argument: str, what: str) -> npt.NDArray[Any]:
    if isinstance(values, (str, bytes)) or np.ndim(values) == 0:
        raise InputError(f"{argument} must be a list of {what}, got {values!r}", argument=argument)
    if isinstance(values, (pd.Series, pd.Index)):
        values = values.to_numpy()
    if isinstance(values, np.ndarray) and values.dtype.kind in "biuf":
        return values.reshape(-1)  # typed numbers or flags: checked vectorised
    return np.asarray(values, dtype=object).reshape(-1)  # lists: item by item


def _durations(values: Any) -> FloatArray:
    raw = _raw(values, "durations", "numbers")
    if raw.dtype.kind in "iuf":
        out = raw.astype("float64")
    else:
        out = np.empty(raw.size, dtype="float64")
        for i, item in enumerate(raw):
            if isinstance(item, (bool, np.bool_)) or not isinstance(
                item, (int, float, np.integer, np.floating)
            ):
                raise InputError(
                    f"durations must be numbers, got {item!r} at position {i}",
                    argument="durations",
                )
            out[i] = float(item)
    bad = ~np.isfinite(out)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"durations must be finite numbers, got {raw[i]!r} at position {i}",
            argument="durations",
        )
    negative = out < 0
    if negative.any():
        i = int(np.flatnonzero(negative)[0])
        raise OutOfRangeError(
            f"durations cannot be negative, got {raw[i]!r} at position {i}", argument="durations"
        )
    return out


def _flags(values: Any, size: int) -> BoolArray:
    raw = _raw(values, "ended", "true/false flags")
    if raw.size != size:
        raise InputError(
            f"ended has {raw.size} values but durations has {size}; give one flag per duration",
            argument="ended",
        )
    if raw.dtype.kind == "b":
        return raw.astype(bool)
    if raw.dtype.kind in "iuf":
        bad = (raw != 0) & (raw != 1)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"ended must be true/false (or 1/0), got {raw[i]!r} at position {i}",
                argument="ended",
            )
        return raw.astype(bool)
    out = np.empty(raw.size, dtype=bool)
    for i, item in enumerate(raw):
        if isinstance(item, (bool, np.bool_)) or (
            isinstance(item, (int, float, np.integer, np.floating)) and item in (0, 1)
        ):
            out[i] = bool(item)
        else:
            raise InputError(
                f"ended must be true/false (or 1/0), got {item!r} at position {i}",
                argument="ended",
            )
    return out


def kaplan_meier(
    durations: Sequence[float] | FloatArray | pd.Series,
    ended: Sequence[bool] | npt.NDArray[Any] | pd.Series,
    *,
    conf_level: float | None = None,
) -> pd.DataFrame:
    """Kaplan-Meier (product-limit) estimate of the survival function.

    At each distinct time :math:`t_i` with :math:`n_i` subjects at risk (duration
    :math:`\\ge t_i`) and :math:`d_i` events (ended exactly at :math:`t_i`):

    .. math:: \\hat S(t) = \\prod_{t_i \\le t} \\left(1 - \\frac{d_i}{n_i}\\right)

    Ties: subjects censored at :math:`t_i` are still at risk at :math:`t_i` (events come
    before censoring at equal times), as in lifelines and R's ``survival``.

    With ``conf_level`` the table adds Greenwood's variance and a pointwise confidence
    band on the log(-log) scale (lifelines' "exponential Greenwood" interval):

    .. math:: \\hat V = \\frac{\\sum_{t_i \\le t} \\frac{d_i}{n_i (n_i - d_i)}}
              {\\left(\\log \\hat S(t)\\right)^2}, \\qquad
              \\hat S(t)^{\\exp(\\pm z \\sqrt{\\hat V})}

    Parameters
    ----------
    durations
        Observed durations (>= 0), any unit.
    ended
        One flag per duration: true if the lifetime ended (the event happened), false
        if it was censored (still going when observation stopped).
    conf_level
        E.g. ``0.95`` to add columns ``lower`` and ``upper``; ``None`` (default) for none.

    Returns
    -------
    DataFrame
        One row per distinct observed time, ascending: ``time``, ``at_risk``,
        ``events``, ``censored``, ``survival`` (the estimate just after ``time``), and
        ``lower``, ``upper`` if asked. Where the survival is 1 the band is [1, 1],
        where it is 0 the band is [0, 0] (as lifelines reports it).

    Raises
    ------
    InputError
        A duration that is not a number, a flag that is not true/false or 1/0,
        lengths that differ.
    OutOfRangeError
        A negative duration, ``conf_level`` outside (0, 1).
    NotEnoughDataError
        No durations.

    Examples
    --------
    >>> km = kaplan_meier([1, 2, 2, 3, 4], [True, True, False, True, False])
    >>> km[["time", "at_risk", "events", "censored"]].to_numpy().tolist()
    [[1.0, 5.0, 1.0, 0.0], [2.0, 4.0, 1.0, 1.0], [3.0, 2.0, 1.0, 0.0], [4.0, 1.0, 0.0, 1.0]]
    >>> km["survival"].round(4).tolist()
    [0.8, 0.6, 0.3, 0.3]
    """
    time_all = _durations(durations)
    flags = _flags(ended, time_all.size)
    if time_all.size == 0:
        raise NotEnoughDataError("durations is empty: no customers", argument="durations")
    times, inverse = np.unique(time_all, return_inverse=True)
    events = np.asarray(
        np.bincount(inverse, weights=flags.astype("float64"), minlength=times.size),
        dtype="float64",
    )
    removed = np.bincount(inverse, minlength=times.size).astype("float64")
    at_risk = time_all.size - np.concatenate(([0.0], np.cumsum(removed)[:-1]))
    survival = np.cumprod(1.0 - events / at_risk)
    table = pd.DataFrame(
        {
            "time": times,
            "at_risk": at_risk.astype("int64"),
            "events": events.astype("int64"),
            "censored": (removed - events).astype("int64"),
            "survival": survival,
        }
    )
    if conf_level is not None:
        table["lower"], table["upper"] = _greenwood_band(survival, events, at_risk, conf_level)
    return table


def _greenwood_band(
    survival: FloatArray, events: FloatArray, at_risk: FloatArray, conf_level: float
) -> tuple[FloatArray, FloatArray]:
    if (
        isinstance(conf_level, bool)
        or not isinstance(conf_level, (int, float, np.floating))
        or not 0 < conf_level < 1
    ):
        raise OutOfRangeError(
            f"conf_level must lie strictly between 0 and 1 (e.g. 0.95), got {conf_level!r}",
            argument="conf_level",
        )
    z = float(special.ndtri(0.5 + conf_level / 2))  # the standard normal quantile (norm.ppf)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(events > 0, events / (at_risk * (at_risk - events)), 0.0)
        greenwood = np.cumsum(terms)
        log_s = np.log(survival)
        half = z * np.sqrt(greenwood) / log_s
        lower = np.exp(-np.exp(np.log(-log_s) - half))
        upper = np.exp(-np.exp(np.log(-log_s) + half))
    one = survival >= 1.0
    lower[one], upper[one] = 1.0, 1.0
    zero = survival <= 0.0
    lower[zero], upper[zero] = 0.0, 0.0
    return lower, upper


def customer_lifetimes(
    orders: pd.DataFrame | PreparedOrders, *, window_days: int = 365, as_of: object = None
) -> pd.DataFrame:
    """Each customer's observed lifetime in days and whether it has ended.

    Definitions (days are calendar days; order times are ignored):

    * a customer has **ended** (churned) when they bought nothing in the ``window_days``
      days up to ``as_of``: ``as_of - last purchase >= window_days``;
    * an ended customer's **duration** is ``last purchase - first purchase`` (the
      lifetime ends at the last purchase; 0 for one-time buyers);
    * an active customer is censored at ``as_of``: duration ``as_of - first purchase``.

    Purchases follow :func:`~retention_xl.core.schema.prepare_orders` (duplicates,
    cancellations and refunds removed); orders after ``as_of`` are ignored.

    Parameters
    ----------
    orders
        Orders in the canonical schema, or :class:`PreparedOrders`.
    window_days
        The activity window, in days (default 365).
    as_of
        The observation date; by default the last order date in the data.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id`` (customers with a purchase on or before ``as_of``):
        ``duration_days`` (float), ``ended`` (bool), ``first_purchase``,
        ``last_purchase``. Feed ``duration_days`` and ``ended`` to
        :func:`kaplan_meier`.

    Raises
    ------
    OutOfRangeError
        ``window_days`` not a positive whole number.
    InputError
        ``as_of`` not a date.
    NotEnoughDataError
        No purchase on or before ``as_of``.

    Examples
    --------
    >>> orders = pd.DataFrame({"customer_id": ["a", "a", "b", "c"],
    ...     "order_id": ["1", "2", "3", "4"],
    ...     "order_date": ["2023-01-01", "2023-03-01", "2023-02-01", "2024-01-01"],
    ...     "amount": [10.0, 20.0, 5.0, 8.0]})
    >>> life = customer_lifetimes(orders, window_days=180)
    >>> life["duration_days"].to_dict(), life["ended"].to_dict()
    ({'a': 59.0, 'b': 0.0, 'c': 0.0}, {'a': True, 'b': True, 'c': False})
    """
    if (
        isinstance(window_days, bool)
        or not isinstance(window_days, (int, np.integer))
        or window_days <= 0
    ):
        raise OutOfRangeError(
            f"window_days must be a whole number of days > 0, got {window_days!r}",
            argument="window_days",
        )
    prepared = prepare_orders(orders)
    frame = prepared.frame
    cutoff = _cutoff(frame, as_of)
    purchases = prepared.purchases
    days = purchases["order_date"].dt.normalize()
    keep = (days <= cutoff).to_numpy()
    if not keep.any():
        raise NotEnoughDataError(
            f"no purchase on or before as_of ({cutoff.date()}): nothing to measure",
            argument="orders",
        )
    grouped = days[keep].groupby(purchases["customer_id"][keep].to_numpy())
    first = grouped.min()
    last = grouped.max()
    day = pd.Timedelta(days=1)
    since_last = ((cutoff - last) / day).to_numpy(dtype="float64")
    ended = since_last >= window_days
    span = ((last - first) / day).to_numpy(dtype="float64")
    observed = ((cutoff - first) / day).to_numpy(dtype="float64")
    out = pd.DataFrame(
        {
            "duration_days": np.where(ended, span, observed),
            "ended": ended,
            "first_purchase": first.to_numpy(),
            "last_purchase": last.to_numpy(),
        },
        index=pd.Index(first.index.astype("string"), name="customer_id"),
    )
    return out


def _cutoff(frame: pd.DataFrame, as_of: object) -> pd.Timestamp:
    """The observation day: ``as_of`` (zone dropped, time of day ignored), or the day of
    the last order; refuses an ``as_of`` that is not a date and orders with no rows."""
    if as_of is None:
        if frame.empty:
            raise NotEnoughDataError("orders has no rows", argument="orders")
        cutoff = pd.Timestamp(frame["order_date"].max()).normalize()
    else:
        try:
            cutoff = pd.Timestamp(as_of)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise InputError(f"as_of must be a date, got {as_of!r}", argument="as_of") from None
        if pd.isna(cutoff):
            raise InputError(f"as_of must be a date, got {as_of!r}", argument="as_of")
        if cutoff.tzinfo is not None:
            cutoff = cutoff.tz_localize(None)
        cutoff = cutoff.normalize()
    return cutoff
