"""The holdout check in SQL: one definition for the DuckDB and the Spark engines.

:func:`sql_holdout` is :func:`~retention_xl.core.models.holdout_comparison` on the
table ``rxl_days`` (one row per customer code ``cid`` and day, ``n`` the purchases of
the day; see :mod:`~retention_xl.engines.duckdb_engine`), run through the engine's
:class:`~retention_xl.engines.period_sql.SqlRunner`. The holdout ends on ``end`` (the
observation day) and the calibration on ``cal``, ``round(7 * weeks)`` days before.
For each customer with a purchase day on or before ``cal``:

* ``x`` = purchase days up to ``cal`` - 1, ``t_x`` = last - first of them, ``T`` =
  ``cal`` - first (days, divided by the time unit), as the core's
  :func:`~retention_xl.core.models.purchase_history` at ``cal``;
* ``actual`` = purchase days in ``(cal, end]``.

Only the distinct ``(x, t_x, T, actual)`` rows with their counts, and the holdout
purchase days per week, reach Python; the fit and the comparison are the core's
:func:`~retention_xl.core.models.holdout_groups.holdout_from_groups`.

For ``predict --out`` the engines join :func:`calibration_query` to the customers'
histories (:data:`HOLDOUT_COLUMNS`, NULL for customers who first bought in the
holdout), and :func:`holdout_columns` gives each scored batch the pandas engine's
``holdout_actual`` and ``holdout_predicted`` columns.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from retention_xl.core.models.holdout import calibration_day
from retention_xl.core.models.holdout_groups import HoldoutGroups, holdout_from_groups
from retention_xl.engines.period_sql import SqlRunner

__all__ = [
    "HOLDOUT_COLUMNS",
    "calibration_query",
    "holdout_columns",
    "holdout_days",
    "holdout_prediction",
    "sql_holdout",
]

#: the calibration columns joined to a customer's history: x, t_x and T (days), actual
HOLDOUT_COLUMNS = ("holdout_x", "holdout_tx_days", "holdout_t_days", "holdout_actual")


def calibration_query(check: HoldoutGroups) -> str:
    """SQL: one row per calibration customer ``cid`` of ``check`` with ``x``, ``tx`` and
    ``t`` (days) at the calibration end and ``actual``, the holdout purchase days."""
    return _calibration_sql(_epoch_day(check.calibration_end), _epoch_day(check.holdout_end))


def holdout_columns(check: HoldoutGroups, history: pd.DataFrame) -> pd.DataFrame:
    """``holdout_actual`` and ``holdout_predicted`` of the customers of ``history``
    (with :data:`HOLDOUT_COLUMNS`), as :func:`~retention_xl.core.models.holdout_comparison`
    gives them in ``customers``: NaN for those who first bought in the holdout."""
    return holdout_prediction(
        check.model, history, holdout_days=holdout_days(check), time_unit_days=check.time_unit_days
    )


def holdout_days(check: HoldoutGroups) -> int:
    """The length of ``check``'s holdout period in days."""
    return _epoch_day(check.holdout_end) - _epoch_day(check.calibration_end)


def holdout_prediction(
    model: Any, history: pd.DataFrame, *, holdout_days: int, time_unit_days: float
) -> pd.DataFrame:
    """:func:`holdout_columns` from the fitted ``model`` of the check and the holdout's
    length (what the Spark workers receive)."""
    unit = float(time_unit_days)
    x = history["holdout_x"].to_numpy(dtype=np.float64)
    known = ~np.isnan(x)
    predicted = np.full(x.size, np.nan)
    if known.any():
        predicted[known] = model.expected_purchases(
            holdout_days / unit,
            x[known],
            history["holdout_tx_days"].to_numpy(dtype=np.float64)[known] / unit,
            history["holdout_t_days"].to_numpy(dtype=np.float64)[known] / unit,
        )
    return pd.DataFrame(
        {
            "holdout_actual": history["holdout_actual"].to_numpy(dtype=np.float64),
            "holdout_predicted": predicted,
        },
        index=history.index,
    )


def _epoch_day(stamp: pd.Timestamp) -> int:
    return int(np.datetime64(stamp.normalize().date(), "D").astype(np.int64))


def _calibration_sql(cal: int, end: int) -> str:
    return (
        f"SELECT cid, count(*) FILTER (WHERE day <= {cal}) - 1 AS x, "
        f"max(day) FILTER (WHERE day <= {cal}) - min(day) AS tx, {cal} - min(day) AS t, "
        f"count(*) FILTER (WHERE day > {cal}) AS actual FROM rxl_days "
        f"WHERE n > 0 AND day <= {end} GROUP BY cid HAVING min(day) <= {cal}"
    )


def sql_holdout(
    run: SqlRunner,
    end: int,
    *,
    holdout_weeks: float,
    model: str = "bgnbd",
    time_unit_days: float = 7.0,
) -> HoldoutGroups:
    """The holdout check of ``holdout_weeks`` weeks ending on the epoch day ``end``,
    computed by ``run`` (see the module docstring)."""
    cal = calibration_day(end, holdout_weeks=holdout_weeks)
    customers = _calibration_sql(cal, end)
    got = run.numpy(
        f"SELECT x, tx, t, actual, count(*) AS c FROM ({customers}) h "
        "GROUP BY x, tx, t, actual ORDER BY x, tx, t, actual"
    )
    unit = float(time_unit_days)
    groups = pd.DataFrame(
        {
            "frequency": _floats(got["x"]),
            "recency": _floats(got["tx"]) / unit,
            "age": _floats(got["t"]) / unit,
            "actual": _floats(got["actual"]),
            "customers": _floats(got["c"]),
        }
    )
    n_weeks = int(np.ceil((end - cal) / 7.0))
    weeks = run.numpy(
        f"SELECT CAST(floor((d.day - {cal} - 1) / 7.0) AS BIGINT) AS w, count(*) AS c "
        f"FROM rxl_days d JOIN ({customers}) h ON d.cid = h.cid "
        f"WHERE d.n > 0 AND d.day > {cal} AND d.day <= {end} GROUP BY 1"
    )
    weekly = np.zeros(n_weeks, dtype=np.float64)
    weekly[np.asarray(weeks["w"], dtype=np.int64)] = _floats(weeks["c"])
    return holdout_from_groups(
        groups,
        weekly,
        calibration_day=cal,
        end_day=end,
        model=model,
        time_unit_days=unit,
    )


def _floats(values: Any) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)
