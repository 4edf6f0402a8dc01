"""The holdout check from counts: :func:`~retention_xl.core.models.holdout_comparison`
for engines that never hold one row per customer.

An engine (DuckDB, Spark) counts, in SQL, the customers of each distinct calibration
history and holdout count ``(x, t_x, T, actual)`` and the holdout purchase days per
week; :func:`holdout_from_groups` fits the model on the distinct ``(x, t_x, T)`` rows
(the same rows and counts :func:`~retention_xl.core.models._base.distinct_rows` gives
the per-customer fit, so the same parameters) and computes what
:class:`~retention_xl.core.models.HoldoutComparison` reports, each customer weighted by
the count of their row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from retention_xl.core.models._base import dot
from retention_xl.core.models.holdout import ContinuousModel, make_transaction_model
from retention_xl.errors import NotEnoughDataError, OutOfRangeError

__all__ = ["HoldoutGroups", "holdout_from_groups", "predicted_weekly"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class HoldoutGroups:
    """Predicted vs actual repeat purchases in a holdout period, by distinct history.

    The totals and tables of :class:`~retention_xl.core.models.HoldoutComparison`
    (same names, same definitions) from ``groups``: one row per distinct
    ``frequency``, ``recency``, ``age`` (calibration, in time units) and ``actual``
    (holdout repeat purchases), with ``predicted`` (the model's expectation for that
    history) and ``customers`` (how many customers have that row).
    """

    calibration_end: pd.Timestamp
    holdout_end: pd.Timestamp
    model: ContinuousModel
    groups: pd.DataFrame
    weekly: pd.DataFrame
    time_unit_days: float = 7.0

    def _column(self, name: str) -> FloatArray:
        return self.groups[name].to_numpy(dtype=np.float64)

    @property
    def customers(self) -> int:
        """The customers who had bought by the end of the calibration period."""
        return int(self._column("customers").sum())

    @property
    def actual_total(self) -> float:
        """All repeat purchases the calibration customers made in the holdout."""
        return dot(self._column("customers"), self._column("actual"))

    @property
    def predicted_total(self) -> float:
        """The model's prediction of :attr:`actual_total`."""
        return dot(self._column("customers"), self._column("predicted"))

    @property
    def error_share(self) -> float:
        """(predicted - actual) / actual of the totals (NaN when nothing was bought)."""
        actual = self.actual_total
        return (self.predicted_total - actual) / actual if actual else float("nan")

    @property
    def tracking_mape(self) -> float:
        """Mean absolute percentage error of the cumulative tracking curve, over the
        holdout weeks with at least one actual purchase (NaN when none)."""
        actual = self.weekly["actual"].to_numpy(dtype=np.float64)
        predicted = self.weekly["predicted"].to_numpy(dtype=np.float64)
        kept = actual > 0
        if not kept.any():
            return float("nan")
        return float(np.mean(np.abs(predicted[kept] - actual[kept]) / actual[kept]))

    @property
    def mean_absolute_error(self) -> float:
        """Mean over customers of |predicted - actual| purchases:
        :math:`\\sum_g n_g |\\hat y_g - y_g| / \\sum_g n_g`."""
        n = self._column("customers")
        diff = np.abs(self._column("predicted") - self._column("actual"))
        return dot(n, diff) / float(n.sum())

    def by_frequency(self, top: int = 7) -> pd.DataFrame:
        """Mean holdout purchases, actual and predicted, by calibration frequency 0, 1,
        ..., ``top`` or more (as :meth:`HoldoutComparison.by_frequency`)."""
        if isinstance(top, bool) or not isinstance(top, int) or top < 1:
            raise OutOfRangeError(f"top must be a whole number >= 1, got {top!r}", argument="top")
        n = self._column("customers")
        groups = np.rint(np.minimum(self._column("frequency"), top)).astype(np.int64)
        count = np.bincount(groups, weights=n, minlength=top + 1)[: top + 1]
        out = pd.DataFrame({"customers": count}, index=pd.RangeIndex(top + 1, name="frequency"))
        for column in ("actual", "predicted"):
            total = np.bincount(groups, weights=n * self._column(column), minlength=top + 1)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[column] = np.where(count > 0, total[: top + 1] / np.maximum(count, 1), np.nan)
        return out


def predicted_weekly(
    fitted: ContinuousModel,
    rows: tuple[FloatArray, FloatArray, FloatArray],
    counts: FloatArray,
    holdout_days: int,
    time_unit_days: float,
) -> FloatArray:
    """The cumulative predicted repeat purchases by the end of each holdout week:
    :math:`\\hat C_w = \\sum_g n_g E[Y(\\min(7w, L)/u) \\mid x_g, t_{x,g}, T_g]` over
    the distinct histories ``rows`` with ``counts`` (holdout of ``L`` days, unit ``u``)."""
    dx, dtx, dt = rows
    n_weeks = int(np.ceil(holdout_days / 7.0))
    ends = np.minimum(np.arange(1, n_weeks + 1) * 7.0, float(holdout_days))
    return np.array(
        [dot(counts, fitted.expected_purchases(e / time_unit_days, dx, dtx, dt)) for e in ends]
    )


def holdout_from_groups(
    groups: pd.DataFrame,
    weekly_actual: FloatArray,
    *,
    calibration_day: int,
    end_day: int,
    model: str = "bgnbd",
    time_unit_days: float = 7.0,
) -> HoldoutGroups:
    """The holdout check of counted histories.

    ``groups`` has one row per distinct ``frequency``, ``recency``, ``age`` (time
    units), ``actual`` in lexicographic order, with ``customers`` (their count);
    ``weekly_actual`` the holdout purchase days of those customers in each week
    1..W (not cumulated). The days are epoch days (days since 1970-01-01).

    Examples
    --------
    >>> rows = pd.DataFrame({"frequency": [0.0, 0, 1, 1, 2, 4],
    ...                      "recency": [0.0, 0, 1, 5, 3, 8], "age": [10.0, 4, 9, 10, 10, 9],
    ...                      "actual": [0.0, 0, 0, 1, 0, 2], "customers": [40, 10, 6, 5, 3, 2]})
    >>> check = holdout_from_groups(rows, np.array([4.0, 5.0]),
    ...                             calibration_day=70, end_day=84)
    >>> check.customers, check.actual_total, check.weekly["actual"].tolist()
    (66, 9.0, [4.0, 9.0])
    """
    if groups.empty:
        cal = np.datetime64(calibration_day, "D")
        raise NotEnoughDataError(
            f"no customer had bought by the calibration end {cal}",
            argument="calibration_end",
        )
    x = groups["frequency"].to_numpy(dtype=np.float64)
    tx = groups["recency"].to_numpy(dtype=np.float64)
    big_t = groups["age"].to_numpy(dtype=np.float64)
    n = groups["customers"].to_numpy(dtype=np.float64)
    # the distinct (x, t_x, T) rows: consecutive in the lexicographic order
    new = np.ones(x.size, dtype=bool)
    new[1:] = (x[1:] != x[:-1]) | (tx[1:] != tx[:-1]) | (big_t[1:] != big_t[:-1])
    starts = np.flatnonzero(new)
    rows = (x[starts], tx[starts], big_t[starts])
    counts = np.add.reduceat(n, starts)
    fitted = make_transaction_model(model)
    fitted.fit(*rows, weights=counts)
    holdout_days = end_day - calibration_day
    predicted = fitted.expected_purchases(holdout_days / float(time_unit_days), x, tx, big_t)
    table = groups[["frequency", "recency", "age", "actual", "customers"]].copy()
    table["predicted"] = predicted
    weeks = predicted_weekly(fitted, rows, counts, holdout_days, time_unit_days)
    weekly = pd.DataFrame(
        {"actual": np.cumsum(np.asarray(weekly_actual, dtype=np.float64)), "predicted": weeks},
        index=pd.Index(np.arange(1, weeks.size + 1), name="week"),
    )
    return HoldoutGroups(
        calibration_end=pd.Timestamp(np.datetime64(calibration_day, "D")),
        holdout_end=pd.Timestamp(np.datetime64(end_day, "D")),
        model=fitted,
        groups=table,
        weekly=weekly,
        time_unit_days=float(time_unit_days),
    )
