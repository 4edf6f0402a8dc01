"""Synthetic survey answers: NPS (0-10) and CSAT (1-5), sent a week after a purchase.

Each answer follows an order (the follow-up the source articles suggest: a survey one
week after the purchase), so answers are linked to real customer ids and their dates
follow the shop's seasonality. The score depends on the experience:

* an order that was refunded draws from an *unhappy* distribution (NPS about -65);
* a loyal customer (``loyal_orders`` or more orders in the data) from a *loyal* one
  (NPS about +38);
* everyone else from a *regular* one (NPS about +21).

With the default order generator this mix gives an overall NPS of about +20 to +40
and a CSAT (4-5 of 5) of about 80 %.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from retention_xl.datasets._calendar import parse_day
from retention_xl.datasets._checks import check_count, check_seed, check_share
from retention_xl.errors import InputError

__all__ = ["CSAT_SCORES", "NPS_SCORES", "SURVEY_DTYPES", "generate_survey"]

IntArray = npt.NDArray[np.int64]

#: Canonical dtypes of the survey frame (see :mod:`retention_xl.core.schema`).
SURVEY_DTYPES: Final = {
    "answered_at": "datetime64[ns]",
    "score": "float64",
    "kind": "string",
    "customer_id": "string",
}
#: Probabilities of the NPS scores 0..10 for unhappy, regular and loyal customers.
NPS_SCORES: Final = {
    "unhappy": (0.10, 0.08, 0.10, 0.12, 0.12, 0.12, 0.10, 0.10, 0.08, 0.04, 0.04),
    "regular": (0.02, 0.01, 0.02, 0.03, 0.03, 0.06, 0.08, 0.12, 0.17, 0.20, 0.26),
    "loyal": (0.01, 0.01, 0.01, 0.02, 0.02, 0.04, 0.06, 0.12, 0.16, 0.22, 0.33),
}
#: Probabilities of the CSAT scores 1..5 for unhappy, regular and loyal customers.
CSAT_SCORES: Final = {
    "unhappy": (0.35, 0.25, 0.20, 0.12, 0.08),
    "regular": (0.04, 0.06, 0.14, 0.38, 0.38),
    "loyal": (0.02, 0.03, 0.08, 0.35, 0.52),
}
_MOODS: Final = ("unhappy", "regular", "loyal")


def _draw(
    rng: np.random.Generator, table: Mapping[str, tuple[float, ...]], mood: IntArray
) -> IntArray:
    """One score per answer from the row of ``table`` chosen by ``mood`` (0, 1, 2)."""
    probs = np.array([table[m] for m in _MOODS], dtype="float64")
    cum = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    u = rng.random(len(mood))
    drawn = np.minimum((u[:, None] >= cum[mood]).sum(axis=1), probs.shape[1] - 1)
    return np.asarray(drawn, dtype=np.int64)


def generate_survey(
    orders: pd.DataFrame,
    *,
    n_answers: int = 1500,
    seed: int = 0,
    nps_share: float = 0.7,
    delay_days: int = 7,
    loyal_orders: int = 3,
    end: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Generate survey answers that follow orders, in the canonical survey schema.

    Parameters
    ----------
    orders : pandas.DataFrame
        Canonical orders (e.g. from :func:`~retention_xl.datasets.generate_orders`);
        duplicated rows and cancelled orders are never surveyed.
    n_answers : int
        Answers wanted; fewer when fewer orders can be surveyed (each order at most
        once, and only orders whose survey falls by ``end``).
    seed : int
        Seed of the random generator.
    nps_share : float
        Share of NPS answers; the rest are CSAT.
    delay_days : int
        Days between the order and the survey; answers come 0-3 days later, between
        08:00 and 22:00.
    loyal_orders : int
        Customers with at least this many orders answer as loyal customers.
    end : date-like, optional
        Last day answers can be given (default: the last order date).

    Returns
    -------
    pandas.DataFrame
        ``answered_at``, ``score`` (whole numbers as float), ``kind`` (``nps`` or
        ``csat``), ``customer_id``; sorted by time. It passes
        :func:`~retention_xl.core.schema.validate_survey` unchanged.

    Examples
    --------
    >>> from retention_xl.datasets import generate_orders
    >>> answers = generate_survey(generate_orders(500, seed=2), n_answers=100, seed=2)
    >>> len(answers), sorted(answers["kind"].unique())
    (100, ['csat', 'nps'])
    """
    for col in ("customer_id", "order_id", "order_date"):
        if col not in getattr(orders, "columns", ()):
            raise InputError(
                f"orders must be a canonical orders frame with column {col!r}", argument="orders"
            )
    seed = check_seed(seed)
    n_answers = check_count(n_answers, "n_answers")
    nps_share = check_share(nps_share, "nps_share")
    delay_days = check_count(delay_days, "delay_days")
    loyal_orders = check_count(loyal_orders, "loyal_orders")

    seen = orders.drop_duplicates("order_id")
    if "status" in seen.columns:
        seen = seen[(seen["status"] != "cancelled").to_numpy(dtype=bool)]
    dates = pd.to_datetime(seen["order_date"]).to_numpy(dtype="datetime64[ns]")
    if end is None:
        if len(dates) == 0:
            return _empty()
        last = dates.max().astype("datetime64[D]")
    else:
        last = parse_day(end, "end")
    latest = last - np.timedelta64(delay_days + 3, "D")
    eligible = np.flatnonzero(dates.astype("datetime64[D]") <= latest)
    n = min(int(n_answers), len(eligible))
    if n == 0:
        return _empty()

    rng = np.random.default_rng([seed, 2])
    pick = np.sort(rng.choice(eligible, size=n, replace=False))
    customers = seen["customer_id"].astype("string").to_numpy(dtype=object)
    orders_per_customer = seen.groupby(seen["customer_id"].astype("string")).size()
    counts = orders_per_customer.reindex(customers[pick]).to_numpy(dtype=np.int64)
    mood = np.where(counts >= loyal_orders, 2, 1)
    if "refunded" in seen.columns:
        refunded = seen["refunded"].to_numpy(dtype="float64")[pick] > 0
        mood = np.where(refunded, 0, mood)
    is_nps = rng.random(n) < nps_share
    nps_score = _draw(rng, NPS_SCORES, mood)
    csat_score = _draw(rng, CSAT_SCORES, mood) + 1
    score = np.where(is_nps, nps_score, csat_score).astype("float64")
    offset = (
        np.timedelta64(delay_days, "D")
        + rng.integers(0, 4, n).astype("timedelta64[D]")
        + rng.integers(8 * 3600, 22 * 3600, n).astype("timedelta64[s]")
    )
    answered = dates[pick].astype("datetime64[s]") + offset
    order = np.argsort(answered, kind="stable")
    return pd.DataFrame(
        {
            "answered_at": answered[order].astype("datetime64[ns]"),
            "score": score[order],
            "kind": pd.Series(
                np.where(is_nps, "nps", "csat").astype(object)[order], dtype="string", copy=False
            ),
            "customer_id": pd.Series(customers[pick][order], dtype="string", copy=False),
        }
    )


def _empty() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in SURVEY_DTYPES.items()})
