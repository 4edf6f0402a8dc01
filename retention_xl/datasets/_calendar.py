"""The generators' clock: a period of whole days with seasonal day weights.

Time runs in days from the period start (day ``d`` covers ``[d, d + 1)``). Each day has a
weight, the product of a month factor and a weekday factor, scaled so that the weights
average 1 over the period. The cumulative weight

.. math:: W(t) = \\int_0^t w(s)\\,ds

is piecewise linear, so a process whose rate is ``rate * w(t)`` has ``rate * W(t)``
expected events by time ``t`` and its event times are drawn by inverting ``W`` with
:func:`numpy.interp` (no loops, any number of events at once).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from retention_xl.errors import InputError, OutOfRangeError

__all__ = ["MONTH_FACTORS", "WEEKDAY_FACTORS", "Calendar", "make_calendar", "parse_day"]

FloatArray = npt.NDArray[np.float64]

#: Relative demand by calendar month, January first, for a European online shop: a
#: January sales bump, a quiet August (holidays) and the Black Friday / Christmas peak.
MONTH_FACTORS: Final = (1.00, 0.85, 0.90, 0.95, 0.95, 0.90, 0.85, 0.70, 0.95, 1.00, 1.45, 1.55)
#: Relative demand by weekday, Monday first: online orders peak early in the week and on
#: Sunday evening, dip on Friday and Saturday.
WEEKDAY_FACTORS: Final = (1.10, 1.05, 1.00, 1.00, 0.90, 0.85, 1.10)


@dataclass(frozen=True, slots=True)
class Calendar:
    """The days of a period and their seasonal weights (mean 1 over the period)."""

    start: np.datetime64
    days: int
    weights: FloatArray
    cumulative: FloatArray  # W at 0, 1, ..., days (length days + 1)

    @property
    def total(self) -> float:
        """``W(days)``: the whole period's weight (equals ``days`` for mean-1 weights)."""
        return float(self.cumulative[-1])

    def weight_until(self, t: FloatArray) -> FloatArray:
        """``W(t)`` for times ``t`` in days (clipped to the period)."""
        knots = np.arange(self.days + 1, dtype="float64")
        return np.interp(t, knots, self.cumulative)

    def time_at(self, w: FloatArray) -> FloatArray:
        """The inverse of :meth:`weight_until`: the time at which ``W`` reaches ``w``."""
        knots = np.arange(self.days + 1, dtype="float64")
        t = np.interp(w, self.cumulative, knots)
        # A time exactly at the end belongs to no day of the period: keep it inside.
        return np.minimum(t, np.nextafter(float(self.days), 0.0))

    def dates(self, t: FloatArray) -> npt.NDArray[np.datetime64]:
        """Calendar dates (``datetime64[ns]`` at midnight) of times ``t`` in days."""
        day = np.floor(t).astype("int64").astype("timedelta64[D]")
        return (self.start + day).astype("datetime64[ns]")


def parse_day(value: str | pd.Timestamp | np.datetime64, name: str) -> np.datetime64:
    """The day of a date-like ``value`` as ``datetime64[D]``, or :class:`InputError`."""
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise InputError(
            f"{name} must be a date like '2023-01-01', got {value!r}", argument=name
        ) from exc
    if pd.isna(stamp):
        raise InputError(f"{name} must be a date like '2023-01-01', got {value!r}", argument=name)
    return np.datetime64(stamp.normalize().date(), "D")


def _factors(values: Sequence[float], length: int, name: str) -> FloatArray:
    arr = np.asarray(values, dtype="float64")
    if arr.shape != (length,) or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise OutOfRangeError(
            f"{name} must be {length} positive numbers, got {values!r}", argument=name
        )
    return arr


def make_calendar(
    start: str | pd.Timestamp | np.datetime64,
    end: str | pd.Timestamp | np.datetime64,
    *,
    month_factors: Sequence[float] = MONTH_FACTORS,
    weekday_factors: Sequence[float] = WEEKDAY_FACTORS,
    trend: float = 0.0,
) -> Calendar:
    """Build the calendar of ``start .. end`` (both days included).

    ``trend`` tilts the weights linearly: the last day weighs ``1 + trend`` times the
    first (before seasonality); ``0`` means no trend.

    Examples
    --------
    >>> cal = make_calendar("2023-01-01", "2023-12-31")
    >>> cal.days, round(cal.total, 6)
    (365, 365.0)
    """
    first = parse_day(start, "start")
    last = parse_day(end, "end")
    if last < first:
        raise OutOfRangeError(
            f"end ({str(last)!r}) is before start ({str(first)!r}); swap them", argument="end"
        )
    if not np.isfinite(trend) or trend <= -1:
        raise OutOfRangeError(f"trend must be > -1, got {trend!r}", argument="trend")
    months = _factors(month_factors, 12, "month_factors")
    weekdays = _factors(weekday_factors, 7, "weekday_factors")
    days = int((last - first).astype("int64")) + 1
    dates = first + np.arange(days).astype("timedelta64[D]")
    month = dates.astype("datetime64[M]").astype("int64") % 12
    weekday = (dates.astype("int64") + 3) % 7  # 1970-01-01 was a Thursday
    ramp = 1.0 + trend * np.arange(days) / max(days - 1, 1)
    weights = months[month] * weekdays[weekday] * ramp
    weights = weights / weights.mean()
    cumulative = np.concatenate(([0.0], np.cumsum(weights)))
    return Calendar(start=first, days=days, weights=weights, cumulative=cumulative)
