"""Calibration and holdout: fit on the past, check the predictions on what came next.

The classic check of Fader, Hardie & Lee (2005) on CDNOW: fit on the first 39 weeks,
predict each customer's repeat purchases in the next 39 and compare with what they
did, per customer and in total, and week by week as a cumulative curve.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

import numpy as np
import pandas as pd

from retention_xl.core._orderdays import AsOf, load_order_days
from retention_xl.core.customers import customer_summary
from retention_xl.core.models._base import distinct_rows, dot
from retention_xl.core.models.bgnbd import BetaGeo
from retention_xl.core.models.history import purchase_history
from retention_xl.core.models.mbgnbd import ModifiedBetaGeo
from retention_xl.core.models.pareto_nbd import ParetoNBD
from retention_xl.core.schema import PreparedOrders, prepare_orders
from retention_xl.errors import InputError, NotEnoughDataError, OutOfRangeError

__all__ = [
    "ContinuousModel",
    "HoldoutComparison",
    "ModelName",
    "calibration_day",
    "holdout_comparison",
    "make_transaction_model",
    "model_key",
]

ModelName: TypeAlias = Literal["bgnbd", "mbgnbd", "pareto_nbd", "bgbb"]
#: The purchase models of continuous-time histories ``(x, t_x, T)``.
ContinuousModel: TypeAlias = BetaGeo | ModifiedBetaGeo | ParetoNBD
_MODELS: dict[str, type[BetaGeo] | type[ModifiedBetaGeo] | type[ParetoNBD]] = {
    "bgnbd": BetaGeo,
    "mbgnbd": ModifiedBetaGeo,
    "pareto_nbd": ParetoNBD,
}


def model_key(model: object) -> str:
    """The canonical name of a purchase model: ``"BG/NBD"`` is ``"bgnbd"``...

    >>> model_key("MBG/NBD"), model_key("Pareto-NBD"), model_key("BG/BB")
    ('mbgnbd', 'pareto_nbd', 'bgbb')
    """
    key = str(model).strip().lower().replace("/", "_").replace("-", "_")
    aliases = {"bg_nbd": "bgnbd", "mbg_nbd": "mbgnbd", "paretonbd": "pareto_nbd", "bg_bb": "bgbb"}
    return aliases.get(key, key)


def make_transaction_model(model: str) -> ContinuousModel:
    """A new, unfitted purchase model by name: ``"bgnbd"``, ``"mbgnbd"`` or ``"pareto_nbd"``.

    BG/BB (``"bgbb"``) is not one of them: it models periods, not times (see
    :func:`~retention_xl.core.models.period_history`).
    """
    key = model_key(model)
    if key == "bgbb":
        raise InputError(
            "BG/BB models purchases in discrete periods, not times in weeks: fit "
            "BetaGeoBetaBinom on period_history(orders), or use predict_customers(..., "
            "model='bgbb')",
            argument="model",
        )
    if key not in _MODELS:
        raise InputError(
            f"model must be 'bgnbd', 'mbgnbd' or 'pareto_nbd', got {model!r}", argument="model"
        )
    return _MODELS[key]()


@dataclass(frozen=True)
class HoldoutComparison:
    """Predicted vs actual repeat purchases in a holdout period.

    Attributes
    ----------
    calibration_end, holdout_end
        The last day of the calibration and of the holdout period (inclusive).
    model
        The purchase model fitted on the calibration period.
    customers
        One row per customer who had bought by ``calibration_end``: ``frequency``,
        ``recency``, ``age`` (calibration, in time units), ``p_alive`` at the end of
        calibration, ``actual`` and ``predicted`` repeat purchases in the holdout.
    weekly
        Indexed by ``week`` 1..W of the holdout: cumulative ``actual`` and
        ``predicted`` repeat purchases by the end of that week (the last week may be
        shorter), for a tracking chart.
    """

    calibration_end: pd.Timestamp
    holdout_end: pd.Timestamp
    model: ContinuousModel
    customers: pd.DataFrame
    weekly: pd.DataFrame

    @property
    def actual_total(self) -> float:
        """All repeat purchases the calibration customers made in the holdout."""
        return float(self.customers["actual"].sum())

    @property
    def predicted_total(self) -> float:
        """The model's prediction of :attr:`actual_total`."""
        return float(self.customers["predicted"].sum())

    @property
    def error_share(self) -> float:
        """(predicted - actual) / actual of the totals (NaN when nothing was bought)."""
        actual = self.actual_total
        return (self.predicted_total - actual) / actual if actual else float("nan")

    @property
    def tracking_mape(self) -> float:
        """Mean absolute percentage error of the cumulative tracking curve, over the
        holdout weeks with at least one actual purchase:
        :math:`\\frac{1}{W}\\sum_w |\\hat{C}_w - C_w| / C_w` (NaN when none)."""
        actual = self.weekly["actual"].to_numpy(dtype=np.float64)
        predicted = self.weekly["predicted"].to_numpy(dtype=np.float64)
        kept = actual > 0
        if not kept.any():
            return float("nan")
        return float(np.mean(np.abs(predicted[kept] - actual[kept]) / actual[kept]))

    def by_frequency(self, top: int = 7) -> pd.DataFrame:
        """Fader and Hardie's second picture: mean holdout purchases, actual and
        predicted, by the customers' calibration frequency 0, 1, ..., ``top`` or more.

        Indexed by the frequency (the last row holds ``top`` and more); columns
        ``customers``, ``actual`` and ``predicted`` (means; NaN where no customer).
        """
        if isinstance(top, bool) or not isinstance(top, int) or top < 1:
            raise OutOfRangeError(f"top must be a whole number >= 1, got {top!r}", argument="top")
        freq = np.minimum(self.customers["frequency"].to_numpy(dtype=np.float64), top)
        groups = np.rint(freq).astype(np.int64)
        count = np.bincount(groups, minlength=top + 1)[: top + 1].astype(np.float64)
        out = pd.DataFrame({"customers": count}, index=pd.RangeIndex(top + 1, name="frequency"))
        for column in ("actual", "predicted"):
            total = np.bincount(
                groups,
                weights=self.customers[column].to_numpy(dtype=np.float64),
                minlength=top + 1,
            )[: top + 1]
            with np.errstate(invalid="ignore", divide="ignore"):
                out[column] = np.where(count > 0, total / np.maximum(count, 1), np.nan)
        return out

    @property
    def mean_absolute_error(self) -> float:
        """Mean over customers of |predicted - actual| purchases."""
        diff = self.customers["predicted"] - self.customers["actual"]
        return float(np.abs(diff).mean())


def _day(value: AsOf, name: str) -> int:
    try:
        stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} is not a date: {value!r}", argument=name) from exc
    if pd.isna(stamp):
        raise InputError(f"{name} is not a date: {value!r}", argument=name)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_localize(None)
    return int(np.datetime64(stamp.normalize().date(), "D").astype(np.int64))


def calibration_day(
    end_day: int, *, calibration_end: AsOf = None, holdout_weeks: float | None = None
) -> int:
    """The last calibration day (days since 1970-01-01) of a holdout ending on ``end_day``:
    ``calibration_end``, or ``round(7 * holdout_weeks)`` days before ``end_day``.

    >>> calibration_day(100, holdout_weeks=2)
    86
    """
    if (calibration_end is None) == (holdout_weeks is None):
        raise InputError(
            "give either calibration_end or holdout_weeks (not both)", argument="holdout_weeks"
        )
    if holdout_weeks is not None:
        if isinstance(holdout_weeks, bool) or not isinstance(holdout_weeks, (int, float)):
            raise InputError(
                f"holdout_weeks must be a number of weeks, got {holdout_weeks!r}",
                argument="holdout_weeks",
            )
        if not np.isfinite(holdout_weeks) or holdout_weeks <= 0:
            raise OutOfRangeError(
                f"holdout_weeks must be > 0, got {holdout_weeks!r}", argument="holdout_weeks"
            )
        cal_day = end_day - round(7 * float(holdout_weeks))
    else:
        cal_day = _day(calibration_end, "calibration_end")
    if cal_day >= end_day:
        raise OutOfRangeError(
            f"the holdout is empty: calibration ends {_stamp(cal_day).date()} and the data "
            f"(or holdout_end) {_stamp(end_day).date()}",
            argument="calibration_end",
        )
    return cal_day


def holdout_comparison(
    orders: pd.DataFrame | PreparedOrders,
    *,
    calibration_end: AsOf = None,
    holdout_weeks: float | None = None,
    holdout_end: AsOf = None,
    model: ModelName | str = "bgnbd",
    time_unit_days: float = 7.0,
) -> HoldoutComparison:
    """Split orders at a date, fit on the calibration part, compare with the holdout.

    Give ``calibration_end`` (the last calibration day), or ``holdout_weeks`` to put
    it that many weeks before ``holdout_end``. ``holdout_end`` defaults to the day of
    the last order. A customer's actual holdout purchases are their purchase days in
    ``(calibration_end, holdout_end]``; the prediction is
    :math:`E[Y(t) \\mid x, t_x, T]` of the calibration fit with :math:`t` the holdout
    length. Customers whose first purchase is in the holdout are left out (the
    models predict only the customers they know).

    Examples
    --------
    >>> from retention_xl.datasets import load_sample
    >>> check = holdout_comparison(load_sample().orders, holdout_weeks=26)
    >>> list(check.weekly.columns), len(check.weekly)
    (['actual', 'predicted'], 26)
    """
    if (calibration_end is None) == (holdout_weeks is None):
        raise InputError(
            "give either calibration_end or holdout_weeks (not both)", argument="holdout_weeks"
        )
    prepared = prepare_orders(orders)
    days = load_order_days(prepared, holdout_end)
    end_day = days.as_of
    cal_day = calibration_day(end_day, calibration_end=calibration_end, holdout_weeks=holdout_weeks)
    calibration = purchase_history(prepared, as_of=_stamp(cal_day), time_unit_days=time_unit_days)
    if calibration.empty:
        raise NotEnoughDataError(
            f"no customer had bought by the calibration end {_stamp(cal_day).date()}",
            argument="calibration_end",
        )
    whole = customer_summary(prepared, as_of=_stamp(end_day))
    after = whole["purchase_days"].reindex(calibration.index).to_numpy(dtype=np.float64)
    actual = after - (calibration["frequency"].to_numpy() + 1.0)

    fitted = make_transaction_model(model)
    x = calibration["frequency"].to_numpy(dtype=np.float64)
    tx = calibration["recency"].to_numpy(dtype=np.float64)
    big_t = calibration["age"].to_numpy(dtype=np.float64)
    fitted.fit(x, tx, big_t)
    length = (end_day - cal_day) / float(time_unit_days)
    predicted = fitted.expected_purchases(length, x, tx, big_t)
    customers = pd.DataFrame(
        {
            "frequency": x,
            "recency": tx,
            "age": big_t,
            "p_alive": fitted.p_alive(x, tx, big_t),
            "actual": actual,
            "predicted": predicted,
        },
        index=calibration.index,
    )

    # Week by week: cumulative actual purchase days and the cumulative prediction.
    n_weeks = int(np.ceil((end_day - cal_day) / 7.0))
    # hashed look-up of the calibration customers among the (unique) ids: Index.isin
    # of Arrow strings goes through a Python list (0.8 s for 262k ids, get_indexer 0.1 s)
    known = np.zeros(len(days.ids), dtype=bool)
    position = pd.Index(days.ids).get_indexer(calibration.index)
    known[position[position >= 0]] = True
    in_holdout = (days.day > cal_day) & known[days.code]
    week = (days.day[in_holdout] - cal_day - 1) // 7
    actual_weekly = np.cumsum(np.bincount(week, minlength=n_weeks)[:n_weeks]).astype(np.float64)
    (dx, dtx, dt), counts = distinct_rows(x, tx, big_t)
    ends = np.minimum(np.arange(1, n_weeks + 1) * 7.0, float(end_day - cal_day))
    predicted_weekly = np.array(
        [dot(counts, fitted.expected_purchases(e / time_unit_days, dx, dtx, dt)) for e in ends]
    )
    weekly = pd.DataFrame(
        {"actual": actual_weekly, "predicted": predicted_weekly},
        index=pd.Index(np.arange(1, n_weeks + 1), name="week"),
    )
    return HoldoutComparison(
        calibration_end=_stamp(cal_day),
        holdout_end=_stamp(end_day),
        model=fitted,
        customers=customers,
        weekly=weekly,
    )


def _stamp(day: int) -> pd.Timestamp:
    return pd.Timestamp(np.datetime64(day, "D"))
