"""Per-customer predictions in one call: the function the CLI and workbooks use.

:func:`predict_customers` fits a purchase model (BG/NBD by default; MBG/NBD,
Pareto/NBD, or BG/BB on calendar periods) and the Gamma-Gamma spend model on the
customers' histories and returns, per customer, the probability of being alive, the
expected purchases in the next 90 and 365 days, the predicted CLV and a churn-risk
band, with the fitted parameters; with ``level``, the intervals of those predictions
and the totals over the customer base (:mod:`.intervals`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from retention_xl.core._orderdays import AsOf
from retention_xl.core.kpis import at_risk_share
from retention_xl.core.models._base import distinct_with_inverse
from retention_xl.core.models.bgbb import BetaGeoBetaBinom, ProRataPeriods
from retention_xl.core.models.gamma_gamma import GammaGamma, predict_clv
from retention_xl.core.models.history import period_history, purchase_history
from retention_xl.core.models.holdout import (
    ContinuousModel,
    ModelName,
    make_transaction_model,
    model_key,
)
from retention_xl.core.models.intervals import check_level, predict_intervals
from retention_xl.core.schema import PreparedOrders
from retention_xl.errors import ConvergenceError, InputError, NotEnoughDataError, OutOfRangeError

__all__ = [
    "PREDICTION_COLUMNS",
    "PREDICTION_INTERVAL_COLUMNS",
    "RISK_BANDS",
    "CustomerPredictions",
    "model_parameters",
    "predict_customers",
    "risk_band",
    "score_customers",
]

#: Risk bands, from the safest: ``low`` (P(alive) >= 0.8 by default), ``medium``,
#: ``high`` (P(alive) below the at-risk threshold, 0.5 by default).
RISK_BANDS: Final = ("low", "medium", "high")

#: Columns of :attr:`CustomerPredictions.customers`.
PREDICTION_COLUMNS: Final = (
    "frequency",
    "recency",
    "age",
    "monetary_value",
    "p_alive",
    "expected_purchases_90d",
    "expected_purchases_365d",
    "expected_avg_value",
    "predicted_clv",
    "risk_band",
)

#: Columns of :attr:`CustomerPredictions.customers` with ``level``: each prediction's
#: interval from the parameters' uncertainty (``_low``, ``_high``) and the
#: prediction interval of the purchases over ``horizon_days`` themselves
#: (``purchases_pi_low``, ``purchases_pi_high``).
PREDICTION_INTERVAL_COLUMNS: Final = (
    "frequency",
    "recency",
    "age",
    "monetary_value",
    "p_alive",
    "p_alive_low",
    "p_alive_high",
    "expected_purchases_90d",
    "expected_purchases_90d_low",
    "expected_purchases_90d_high",
    "expected_purchases_365d",
    "expected_purchases_365d_low",
    "expected_purchases_365d_high",
    "purchases_pi_low",
    "purchases_pi_high",
    "expected_avg_value",
    "predicted_clv",
    "predicted_clv_low",
    "predicted_clv_high",
    "risk_band",
)

_DAYS_PER_YEAR: Final = 365.25


def risk_band(
    p_alive: object, *, at_risk_threshold: float = 0.5, low_risk_threshold: float = 0.8
) -> pd.Categorical[str]:
    """Churn-risk band of each probability of being alive.

    ``high`` below ``at_risk_threshold`` (the customers :func:`at_risk_share` counts),
    ``low`` from ``low_risk_threshold`` up, ``medium`` between.

    Examples
    --------
    >>> list(risk_band([0.95, 0.6, 0.2]))
    ['low', 'medium', 'high']
    """
    p = np.asarray(p_alive, dtype=np.float64).reshape(-1)
    if not 0 < at_risk_threshold <= low_risk_threshold <= 1:
        raise OutOfRangeError(
            f"thresholds must satisfy 0 < at_risk_threshold ({at_risk_threshold!r}) <= "
            f"low_risk_threshold ({low_risk_threshold!r}) <= 1",
            argument="at_risk_threshold",
        )
    if ((p < 0) | (p > 1)).any():
        raise OutOfRangeError("p_alive values are probabilities 0..1", argument="p_alive")
    codes = np.where(p < at_risk_threshold, 2, np.where(p < low_risk_threshold, 1, 0))
    return pd.Categorical.from_codes(codes.astype(np.int64), categories=pd.Index(RISK_BANDS))


@dataclass(frozen=True)
class CustomerPredictions:
    """What :func:`predict_customers` returns.

    Attributes
    ----------
    customers
        Indexed by ``customer_id``, columns :data:`PREDICTION_COLUMNS`: the history
        (``frequency``, ``recency``, ``age`` in time units, ``monetary_value`` = mean
        repeat spend), ``p_alive``, ``expected_purchases_90d`` / ``_365d``,
        ``expected_avg_value`` (Gamma-Gamma), ``predicted_clv`` over the horizon,
        ``risk_band``.
    transactions, spend
        The fitted purchase model and Gamma-Gamma model.
    period
        With BG/BB, the calendar period (``"Y"``, ``"Q"``, ``"M"``); else None.
    parameters
        One row per model parameter: ``model``, ``parameter``, ``value``, ``se``;
        plus a ``log_likelihood`` row per model.
    at_risk_share
        Share of customers with ``p_alive`` below the at-risk threshold: compare it
        with the benchmark (about 28 % typical, 18 % a good target).
    as_of, time_unit_days, horizon_days, margin, discount_rate
        The settings used (with BG/BB, ``as_of`` is the last day of the last whole
        period and ``time_unit_days`` the mean length of a period).
    history_notes
        With BG/BB, :func:`period_history`'s ``attrs`` (the periods used, customers
        left out); else empty.
    level
        The level of the intervals (None: no intervals were asked for).
    totals
        With ``level``: the totals over all customers in the next ``horizon_days``,
        rows ``expected_purchases``, ``purchases`` (prediction interval of the total
        count), ``revenue`` (expected spend x purchases, no
        margin, not discounted) and ``predicted_clv``, columns ``value``, ``low``,
        ``high`` (see :func:`~retention_xl.core.models.predict_totals`).
    """

    customers: pd.DataFrame
    transactions: ContinuousModel | BetaGeoBetaBinom
    spend: GammaGamma
    parameters: pd.DataFrame
    at_risk_share: float
    as_of: pd.Timestamp | None
    time_unit_days: float
    horizon_days: float
    margin: float
    discount_rate: float
    period: str | None = None
    history_notes: dict[str, Any] | None = None
    level: float | None = None
    totals: pd.DataFrame | None = None


def _number(value: object, name: str, *, low: float, low_ok: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(f"{name} must be a number, got {value!r}", argument=name)
    out = float(value)
    if not np.isfinite(out) or out < low or (not low_ok and out == low):
        sign = ">=" if low_ok else ">"
        raise OutOfRangeError(f"{name} must be {sign} {low:g}, got {value!r}", argument=name)
    return out


def _history_frame(
    data: pd.DataFrame | PreparedOrders, as_of: AsOf, time_unit_days: float
) -> tuple[pd.DataFrame, pd.Timestamp | None]:
    if isinstance(data, pd.DataFrame) and {"frequency", "recency", "age"} <= set(data.columns):
        if "monetary_value" not in data.columns:
            raise InputError(
                "a history frame needs a monetary_value column (mean repeat spend); build it "
                "with purchase_history(orders)",
                argument="orders",
            )
        return data, None
    history = purchase_history(data, as_of=as_of, time_unit_days=time_unit_days)
    end = None
    if not history.empty:
        age_days = history["age"].to_numpy() * time_unit_days
        first = history["first_order"].to_numpy().astype("datetime64[D]").astype(np.int64)
        end = pd.Timestamp(np.datetime64(round(float((first + age_days).max())), "D"))
    return history, end


def predict_customers(
    orders: pd.DataFrame | PreparedOrders,
    *,
    as_of: AsOf = None,
    horizon_days: float = 365.0,
    margin: float = 1.0,
    discount_rate: float = 0.10,
    model: ModelName | str = "bgnbd",
    at_risk_threshold: float = 0.5,
    low_risk_threshold: float = 0.8,
    time_unit_days: float = 7.0,
    period: str = "Y",
    level: float | None = None,
) -> CustomerPredictions:
    """Fit the models on ``orders`` and predict every customer's future.

    ``orders`` are canonical orders (or prepared orders), or a history frame from
    :func:`~retention_xl.core.models.purchase_history`. Times are in weeks
    (``time_unit_days=7``); the fitted ``alpha`` (and ``beta``) are per week.

    .. math:: \\text{CLV}_{H} = \\text{margin}\\cdot E[M]\\sum_{k}
              \\frac{\\Delta E[Y]_k}{(1+d)^{\\tau_k}}

    over ``horizon_days`` in monthly steps, :math:`d` = ``discount_rate`` a year (see
    :func:`~retention_xl.core.models.predict_clv`). With ``model="bgnbd"`` a customer
    who never bought again has ``p_alive`` 1 (BG/NBD customers can only leave right
    after a purchase); ``model="mbgnbd"`` and ``model="pareto_nbd"`` let their
    probability fall with time.

    ``model="bgbb"`` works on calendar periods (``period``: ``"Y"`` years, ``"Q"``,
    ``"M"``) from :func:`~retention_xl.core.models.period_history`: a customer's
    ``frequency`` is the number of later periods with a purchase, ``recency`` the
    last of them and ``age`` the whole periods since the first (``time_unit_days``
    is then the mean period length); only whole periods up to ``as_of`` count.
    ``p_alive`` is the probability of being alive in the next period, expected
    purchases count periods with a purchase (a fraction of a period pro rata), and
    Gamma-Gamma models the spend of a period with purchases.

    ``level`` (e.g. 0.9; default None: no intervals, as fast as before) adds the
    columns of :data:`PREDICTION_INTERVAL_COLUMNS`: ``_low``/``_high`` bounds of
    ``p_alive``, the expected purchases and the predicted CLV from the uncertainty of
    the fitted parameters (500 seeded draws, see
    :func:`~retention_xl.core.models.predict_intervals`),
    ``purchases_pi_low``/``purchases_pi_high``, the range the customer's own purchases
    in the next ``horizon_days`` fall in with probability ``level``; and
    :attr:`CustomerPredictions.totals`, the totals with their intervals.

    Examples
    --------
    >>> from retention_xl.datasets import load_sample
    >>> out = predict_customers(load_sample().orders, margin=0.4)
    >>> list(out.customers.columns) == list(PREDICTION_COLUMNS)
    True
    >>> bool(0 <= out.at_risk_share <= 1)
    True
    """
    lvl = None if level is None else check_level(level)
    unit = _number(time_unit_days, "time_unit_days", low=0, low_ok=False)
    horizon = _number(horizon_days, "horizon_days", low=0)
    margin_f = _number(margin, "margin", low=0)
    rate = _number(discount_rate, "discount_rate", low=0)
    transactions: ContinuousModel | BetaGeoBetaBinom
    curve: ContinuousModel | ProRataPeriods
    notes: dict[str, Any] | None = None
    freq: str | None = None
    if model_key(model) == "bgbb":
        history = period_history(orders, as_of=as_of, period=period)
        notes = {str(k): v for k, v in history.attrs.items()}
        freq = str(notes["period"])
        unit = float(notes["time_unit_days"])
        end: pd.Timestamp | None = notes["period_end"]
        history = history.rename(columns={"periods": "age"})
    else:
        history, end = _history_frame(orders, as_of, unit)
    x = history["frequency"].to_numpy(dtype=np.float64)
    tx = history["recency"].to_numpy(dtype=np.float64)
    big_t = history["age"].to_numpy(dtype=np.float64)
    m = history["monetary_value"].to_numpy(dtype=np.float64)

    if freq is not None:
        transactions = fit_bgbb(x, tx, big_t, notes)
        curve = ProRataPeriods(transactions)
    else:
        transactions = make_transaction_model(model).fit(x, tx, big_t)
        curve = transactions
    spend = GammaGamma().fit(x, m)
    customers = score_customers(
        transactions,
        spend,
        history,
        horizon_days=horizon,
        margin=margin_f,
        discount_rate=rate,
        at_risk_threshold=at_risk_threshold,
        low_risk_threshold=low_risk_threshold,
        time_unit_days=unit,
        curve=curve,
    )
    totals = None
    if lvl is not None:
        intervals = predict_intervals(
            transactions,
            spend,
            x,
            tx,
            big_t,
            m,
            horizon=horizon / unit,
            purchase_horizons={
                "expected_purchases_90d": 90.0 / unit,
                "expected_purchases_365d": 365.0 / unit,
            },
            margin=margin_f,
            discount_rate=rate,
            periods_per_year=_DAYS_PER_YEAR / unit,
            level=lvl,
        )
        bounds = intervals.customers.set_axis(customers.index)
        for column in PREDICTION_INTERVAL_COLUMNS:
            if column not in customers.columns and column in bounds.columns:
                customers[column] = bounds[column]
        customers = customers[[c for c in PREDICTION_INTERVAL_COLUMNS if c in customers.columns]]
        totals = intervals.totals
    p_alive = customers["p_alive"].to_numpy(dtype=np.float64)
    parameters = model_parameters(transactions, spend)
    return CustomerPredictions(
        customers=customers,
        transactions=transactions,
        spend=spend,
        parameters=parameters,
        at_risk_share=at_risk_share(p_alive, at_risk_threshold),
        as_of=end,
        time_unit_days=unit,
        horizon_days=horizon,
        margin=margin_f,
        discount_rate=rate,
        period=freq,
        history_notes=notes,
        level=lvl,
        totals=totals,
    )


def fit_bgbb(
    x: npt.NDArray[np.float64],
    tx: npt.NDArray[np.float64],
    periods: npt.NDArray[np.float64],
    notes: dict[str, Any] | None,
    *,
    weights: npt.NDArray[np.float64] | None = None,
) -> BetaGeoBetaBinom:
    """BG/BB fitted on period histories (``weights``: counts of grouped rows); a fit
    that fails says how many whole periods the histories span (``notes``: the
    ``attrs`` of :func:`~retention_xl.core.models.period_history`)."""
    try:
        return BetaGeoBetaBinom().fit(x, tx, periods, weights=weights)
    except (ConvergenceError, NotEnoughDataError) as exc:
        unit_name = str(notes["period_name"]).split()[-1] if notes else "periods"
        longest = int(periods.max()) if periods.size else 0
        if longest == 1:
            unit_name = unit_name.removesuffix("s")
        message = (
            f"{exc} (the histories span at most {longest} whole {unit_name} after the "
            f"first; a shorter period gives more of them)"
        )
        if isinstance(exc, NotEnoughDataError):
            raise NotEnoughDataError(message, argument="period") from exc
        raise ConvergenceError(message) from exc


def score_customers(
    transactions: ContinuousModel | BetaGeoBetaBinom,
    spend: GammaGamma,
    history: pd.DataFrame,
    *,
    horizon_days: float = 365.0,
    margin: float = 1.0,
    discount_rate: float = 0.10,
    at_risk_threshold: float = 0.5,
    low_risk_threshold: float = 0.8,
    time_unit_days: float = 7.0,
    curve: ContinuousModel | ProRataPeriods | None = None,
) -> pd.DataFrame:
    """The per-customer predictions (columns :data:`PREDICTION_COLUMNS`) of fitted models.

    ``history`` has ``frequency``, ``recency``, ``age`` (in time units) and
    ``monetary_value`` per customer, as :func:`~retention_xl.core.models.purchase_history`
    gives them; any slice of the customers can be scored on its own (an engine scores
    them in batches) and gives the same rows as scoring them all at once. ``curve``
    gives the expected purchases (default: ``transactions``; BG/BB's whole periods
    counted pro rata for :func:`predict_customers`).
    """
    if curve is None:
        if isinstance(transactions, BetaGeoBetaBinom):
            curve = ProRataPeriods(transactions)
        else:
            curve = transactions
    unit = _number(time_unit_days, "time_unit_days", low=0, low_ok=False)
    x = history["frequency"].to_numpy(dtype=np.float64)
    tx = history["recency"].to_numpy(dtype=np.float64)
    big_t = history["age"].to_numpy(dtype=np.float64)
    m = history["monetary_value"].to_numpy(dtype=np.float64)
    # Customers who share a history share these: once per distinct history.
    (hx, htx, ht), inverse = distinct_with_inverse(x, tx, big_t)
    p_alive = transactions.p_alive(hx, htx, ht)[inverse]
    bands = risk_band(
        p_alive, at_risk_threshold=at_risk_threshold, low_risk_threshold=low_risk_threshold
    )
    clv = predict_clv(
        curve,
        spend,
        x,
        tx,
        big_t,
        m,
        horizon=horizon_days / unit,
        margin=margin,
        discount_rate=discount_rate,
        periods_per_year=_DAYS_PER_YEAR / unit,
    )
    return pd.DataFrame(
        {
            "frequency": x,
            "recency": tx,
            "age": big_t,
            "monetary_value": m,
            "p_alive": p_alive,
            "expected_purchases_90d": curve.expected_purchases(90.0 / unit, hx, htx, ht)[inverse],
            "expected_purchases_365d": curve.expected_purchases(365.0 / unit, hx, htx, ht)[inverse],
            "expected_avg_value": spend.expected_avg_value(x, m),
            "predicted_clv": clv,
            "risk_band": bands,
        },
        index=history.index,
    )


def model_parameters(
    transactions: ContinuousModel | BetaGeoBetaBinom, spend: GammaGamma
) -> pd.DataFrame:
    """One row per fitted parameter (``model``, ``parameter``, ``value``, ``se``), plus a
    ``log_likelihood`` row per model."""
    rows = []
    for fitted in (transactions, spend):
        summary = fitted.summary
        for name, row in summary.iterrows():
            rows.append(
                {
                    "model": fitted.label,
                    "parameter": str(name),
                    "value": row["coef"],
                    "se": row["se"],
                }
            )
        rows.append(
            {
                "model": fitted.label,
                "parameter": "log_likelihood",
                "value": fitted.log_likelihood_,
                "se": np.nan,
            }
        )
    return pd.DataFrame(rows, columns=["model", "parameter", "value", "se"])
