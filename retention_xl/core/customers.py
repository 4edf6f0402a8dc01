"""Per-customer summary, RFM scores and the marketing segments of the source articles.

Every function takes raw canonical orders or a :class:`~retention_xl.core.schema.PreparedOrders`
and goes through :func:`~retention_xl.core.schema.prepare_orders`, so the same rule
applies everywhere: duplicate ``order_id`` rows are dropped, cancelled orders are
ignored, refunds lower revenue, and only orders with positive net revenue are
*purchases*. A customer with no purchase (only refunded or cancelled orders) is not a
customer here: they appear in no table and in no denominator.

``as_of`` is the observation date (inclusive, whole days): orders after it are
ignored, as with the calibration end of the probabilistic models. It defaults to the
day of the last order in the data.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from retention_xl.core._orderdays import (
    AsOf,
    FloatArray,
    IntArray,
    OrderRows,
    PurchaseTotals,
    days_to_timestamps,
    load_order_rows,
    purchase_totals,
)
from retention_xl.core.schema import PreparedOrders
from retention_xl.errors import InputError, OutOfRangeError

__all__ = [
    "SEGMENTS",
    "SEGMENT_ACTIONS",
    "SUMMARY_COLUMNS",
    "SegmentRules",
    "customer_summary",
    "rfm_from_summary",
    "rfm_scores",
    "rfm_table",
    "segment_summary",
    "summary_from_totals",
]

SUMMARY_COLUMNS: Final = (
    "first_order",
    "last_order",
    "orders",
    "purchase_days",
    "revenue",
    "aov",
    "frequency",
    "recency_days",
    "age_days",
    "recency_weeks",
    "age_weeks",
    "days_since_last",
)

#: Segment codes, in the order tables list them.
SEGMENTS: Final = ("new", "loyal", "vip", "at_risk", "dormant", "regular")
#: The order rules are tried in (first match wins; ``regular`` when none matches).
_PRECEDENCE: Final = ("dormant", "new", "at_risk", "vip", "loyal")

#: The suggested action of each segment (codes; the workbook translates them).
SEGMENT_ACTIONS: Final = {
    "new": "onboarding",
    "loyal": "loyalty_offer",
    "vip": "vip_preview",
    "at_risk": "winback",
    "dormant": "reactivation",
    "regular": "nurture",
}


def _summary_from_rows(rows: OrderRows) -> pd.DataFrame:
    """The summary of ``rows``; only per-customer arrays outlive this call's first line."""
    ids, as_of_day, totals, revenue = _customer_totals(rows)
    del rows  # (the caller's reference goes too: customer_summary passes a fresh one)
    return _summary_frame(
        ids,
        first=totals.first_day,
        last=totals.last_day,
        n_orders=totals.orders,
        n_days=totals.purchase_days,
        money=revenue,
        as_of_day=as_of_day,
    )


def _customer_totals(rows: OrderRows) -> tuple[pd.Index, int, PurchaseTotals, FloatArray]:
    """Ids, observation day, purchase totals and net revenue of the customers who bought."""
    totals = purchase_totals(rows)
    codes = totals.code
    revenue_all: FloatArray = np.asarray(
        np.bincount(rows.code, weights=rows.revenue, minlength=len(rows.ids)), dtype=np.float64
    )
    every = codes.size == len(rows.ids)  # codes ascending: every customer is 0..k-1
    ids = rows.ids if every else rows.ids[codes]
    return ids, rows.as_of, totals, revenue_all[codes]


def summary_from_totals(
    ids: pd.Index | npt.NDArray[np.object_],
    *,
    first_day: IntArray,
    last_day: IntArray,
    orders: IntArray,
    purchase_days: IntArray,
    revenue: FloatArray,
    as_of_day: int,
) -> pd.DataFrame:
    """The :func:`customer_summary` frame from each customer's totals.

    Days are whole days since 1970-01-01; ``ids`` come sorted. Whoever adds up the
    orders (this module on in-memory orders, an engine in SQL), the derived columns
    (``aov``, ``frequency``, recency, age, weeks, days since the last purchase) are
    defined here once.
    """
    # own copies of the caller's columns, so the frame can take its arrays as they are
    return _summary_frame(
        ids,
        first=np.asarray(first_day, dtype=np.int64),
        last=np.asarray(last_day, dtype=np.int64),
        n_orders=np.array(orders, dtype=np.int64),
        n_days=np.array(purchase_days, dtype=np.int64),
        money=np.array(revenue, dtype=np.float64),
        as_of_day=as_of_day,
    )


def _summary_frame(
    ids: pd.Index | npt.NDArray[np.object_],
    *,
    first: IntArray,
    last: IntArray,
    n_orders: IntArray,
    n_days: IntArray,
    money: FloatArray,
    as_of_day: int,
) -> pd.DataFrame:
    """:func:`summary_from_totals` of int64 / float64 arrays it may keep (no copies)."""
    recency = last - first
    age = as_of_day - first
    out = pd.DataFrame(
        {
            "first_order": days_to_timestamps(first),
            "last_order": days_to_timestamps(last),
            "orders": n_orders,
            "purchase_days": n_days,
            "revenue": money,
            "aov": money / np.maximum(n_orders, 1),
            "frequency": n_days - 1,
            "recency_days": recency,
            "age_days": age,
            "recency_weeks": recency / 7.0,
            "age_weeks": age / 7.0,
            "days_since_last": as_of_day - last,
        },
        index=_id_index(ids),
        copy=False,
    )
    return out


def _id_index(ids: pd.Index | npt.NDArray[np.object_]) -> pd.Index:
    """``ids`` as the ``string`` index named ``customer_id`` (no copy when they are one)."""
    named: pd.Index
    if isinstance(ids, pd.Index) and ids.dtype == "string":
        named = ids.rename("customer_id")
    else:
        named = pd.Index(np.asarray(ids, dtype=object), dtype="string", name="customer_id")
    return named


def customer_summary(orders: pd.DataFrame | PreparedOrders, *, as_of: AsOf = None) -> pd.DataFrame:
    """One row per customer with at least one purchase up to ``as_of``.

    Columns (days are whole calendar days; a *purchase day* is a day with at least
    one purchase):

    ==================  =====================================================
    ``first_order``     first purchase day (midnight)
    ``last_order``      last purchase day up to ``as_of``
    ``orders``          number of purchases
    ``purchase_days``   number of distinct purchase days
    ``revenue``         net revenue of all the customer's rows (refunds lower it)
    ``aov``             ``revenue / orders``
    ``frequency``       ``purchase_days - 1`` (repeat purchase days)
    ``recency_days``    ``last_order - first_order``
    ``age_days``        ``as_of - first_order`` (the models' *T*)
    ``recency_weeks``   ``recency_days / 7``
    ``age_weeks``       ``age_days / 7``
    ``days_since_last`` ``as_of - last_order``
    ==================  =====================================================

    ``frequency``, ``recency`` and ``age`` follow the convention of the BG/NBD and
    Pareto/NBD literature (Fader, Hardie & Lee 2005) and of ``lifetimes``'
    ``summary_data_from_transaction_data``: several orders on one day are one
    purchase occasion. Pass the calibration end as ``as_of`` to get the calibration
    summary. Refund and cancellation handling: see
    :func:`~retention_xl.core.schema.prepare_orders`.

    Parameters
    ----------
    orders
        Canonical orders or prepared orders.
    as_of
        Observation date, inclusive; later orders are ignored. Default: the day of the
        last order in the data.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``customer_id`` (sorted), columns as above.

    Examples
    --------
    >>> df = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
    ...                    "order_id": ["1", "2", "3", "4"],
    ...                    "order_date": ["2024-01-01", "2024-01-01", "2024-01-15",
    ...                                   "2024-01-29"],
    ...                    "amount": [10.0, 5.0, 15.0, 8.0]})
    >>> s = customer_summary(df)
    >>> s.loc["a", ["orders", "purchase_days", "frequency", "recency_days", "age_days"]].tolist()
    [3, 2, 1, 14, 28]
    >>> float(s.loc["a", "aov"])
    10.0
    """
    return _summary_from_rows(load_order_rows(orders, as_of))


def _check_count(value: object, name: str, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputError(f"{name} must be a whole number, got {value!r}", argument=name)
    number = int(value)
    if number < low or (high is not None and number > high):
        span = f">= {low}" if high is None else f"between {low} and {high}"
        raise OutOfRangeError(f"{name} must be {span}, got {value!r}", argument=name)
    return number


@dataclass(frozen=True, slots=True)
class SegmentRules:
    """Thresholds of the marketing segments; the defaults and why.

    Segments are tried in this order, the first rule that matches wins (codes in
    :data:`SEGMENTS`, suggested actions in :data:`SEGMENT_ACTIONS`):

    1. ``dormant`` (reactivation campaign): no purchase in the last
       ``dormant_days`` = 365 days (``days_since_last >= dormant_days``). A year
       without buying covers every seasonal cycle, and it matches the default
       activity window of :func:`~retention_xl.core.periods.period_table`, so a
       dormant customer is exactly a customer who is not active.
    2. ``new`` (onboarding): first purchase less than ``new_days`` = 90 days ago
       and at most ``new_max_orders`` = 1 purchase. Ninety days is the usual length of
       a welcome / onboarding sequence; after a second purchase the customer is
       scored like everyone else.
    3. ``at_risk`` (win-back): recency score ``R <= at_risk_max_r`` = 2 with
       ``F >= at_risk_min_f`` = 3: customers who used to buy often but whose last
       purchase is older than for 60 % of customers. Checked before ``vip`` on
       purpose: a valuable customer drifting away needs a win-back, not a preview.
    4. ``vip`` (previews, premium offers): ``M >= vip_min_m`` = 5 and
       ``F >= vip_min_f`` = 4: the top fifth by spend who also buy more often than
       most.
    5. ``loyal`` (habitual customers: exclusive offers, loyalty programme):
       ``F >= loyal_min_f`` = 3 (and, by rule 3, recent).
    6. ``regular`` (nurture): everyone else.

    Scores are 1..5 with 5 best, see :func:`rfm_scores`.

    Examples
    --------
    >>> SegmentRules(dormant_days=180).dormant_days
    180
    """

    new_days: int = 90
    new_max_orders: int = 1
    dormant_days: int = 365
    at_risk_max_r: int = 2
    at_risk_min_f: int = 3
    vip_min_m: int = 5
    vip_min_f: int = 4
    loyal_min_f: int = 3

    def __post_init__(self) -> None:
        for f in fields(self):
            name = f.name
            value = getattr(self, name)
            if name.endswith(("_r", "_f", "_m")):
                _check_count(value, name, 1, 5)
            else:
                _check_count(value, name, 1)
        if self.new_days > self.dormant_days:
            raise OutOfRangeError(
                f"new_days ({self.new_days!r}) cannot exceed dormant_days "
                f"({self.dormant_days!r}): a new customer would already be dormant",
                argument="new_days",
            )


def rfm_scores(values: pd.Series | FloatArray, *, higher_is_better: bool = True) -> IntArray:
    """Quintile scores 1..5 (5 best), deterministic with ties.

    .. math:: \\text{score} = 1 + \\left\\lfloor 5 \\cdot
              \\frac{\\#\\{\\text{customers strictly worse}\\}}{n} \\right\\rfloor

    With distinct values and ``n`` a multiple of 5 these are exact quintiles; equal
    values always share a score (the lowest their rank allows), so the result does
    not depend on row order. The worst value scores 1.

    Examples
    --------
    >>> rfm_scores(np.array([1.0, 2, 3, 4, 5, 6, 7, 8, 9, 10])).tolist()
    [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    >>> rfm_scores(np.array([1.0, 1, 1, 2, 5])).tolist()
    [1, 1, 1, 4, 5]
    """
    x = np.asarray(values, dtype=np.float64)
    if np.isnan(x).any():
        raise InputError("rfm_scores: values contain NaN", argument="values")
    if not higher_is_better:
        x = -x
    n = x.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    worse = np.searchsorted(np.sort(x), x, side="left").astype(np.int64)
    return 1 + (5 * worse) // n


def rfm_table(
    orders: pd.DataFrame | PreparedOrders,
    *,
    as_of: AsOf = None,
    rules: SegmentRules | None = None,
) -> pd.DataFrame:
    """Recency, frequency, monetary value, their 1..5 scores and the segment.

    ``recency`` is days since the last purchase (lower is better), ``frequency`` the
    number of purchases and ``monetary`` the net revenue (see
    :func:`customer_summary`). ``R``, ``F``, ``M`` are :func:`rfm_scores` over all
    customers (5 best); ``segment`` follows :class:`SegmentRules`.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``customer_id``: ``recency``, ``frequency``, ``monetary``, ``R``,
        ``F``, ``M``, ``segment``.

    Examples
    --------
    >>> df = pd.DataFrame({"customer_id": ["a", "b"], "order_id": ["1", "2"],
    ...                    "order_date": ["2023-01-01", "2024-06-01"],
    ...                    "amount": [10.0, 20.0]})
    >>> rfm_table(df)["segment"].tolist()
    ['dormant', 'new']
    """
    return rfm_from_summary(customer_summary(orders, as_of=as_of), rules=rules)


def rfm_from_summary(summary: pd.DataFrame, *, rules: SegmentRules | None = None) -> pd.DataFrame:
    """:func:`rfm_table` from a :func:`customer_summary` frame (however it was computed)."""
    if rules is None:
        rules = SegmentRules()
    elif not isinstance(rules, SegmentRules):
        raise InputError(
            f"rules must be a SegmentRules, got {type(rules).__name__}", argument="rules"
        )
    recency = summary["days_since_last"].to_numpy(dtype=np.int64)
    frequency = summary["orders"].to_numpy(dtype=np.int64)
    monetary = summary["revenue"].to_numpy(dtype=np.float64)
    r = rfm_scores(recency.astype(np.float64), higher_is_better=False)
    f = rfm_scores(frequency.astype(np.float64))
    m = rfm_scores(monetary)
    age = summary["age_days"].to_numpy(dtype=np.int64)
    conditions = [
        recency >= rules.dormant_days,
        (age < rules.new_days) & (frequency <= rules.new_max_orders),
        (r <= rules.at_risk_max_r) & (f >= rules.at_risk_min_f),
        (m >= rules.vip_min_m) & (f >= rules.vip_min_f),
        f >= rules.loyal_min_f,
    ]
    segment = np.select(conditions, list(_PRECEDENCE), default="regular")
    out = pd.DataFrame(
        {
            "recency": recency,
            "frequency": frequency,
            "monetary": monetary,
            "R": r,
            "F": f,
            "M": m,
            "segment": pd.Categorical(segment, categories=list(SEGMENTS)),
        },
        index=summary.index,
    )
    return out


def segment_summary(rfm: pd.DataFrame) -> pd.DataFrame:
    """Customers and revenue per segment, with the suggested action.

    Every segment of :data:`SEGMENTS` is listed, also when empty.

    .. math:: \\text{share} = \\frac{\\text{customers}}{\\sum \\text{customers}},\\quad
              \\text{revenue\\_share} = \\frac{\\text{revenue}}{\\sum \\text{revenue}}

    Shares are NaN when their denominator is zero.

    Parameters
    ----------
    rfm
        The output of :func:`rfm_table` (at least ``segment`` and ``monetary``).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``segment``: ``customers``, ``share``, ``revenue``,
        ``revenue_share``, ``action``.

    Examples
    --------
    >>> rfm = pd.DataFrame({"segment": ["new", "vip", "vip"], "monetary": [10.0, 50, 40]})
    >>> table = segment_summary(rfm)
    >>> int(table.loc["vip", "customers"]), float(table.loc["vip", "revenue_share"])
    (2, 0.9)
    """
    if not isinstance(rfm, pd.DataFrame):
        raise InputError(
            f"rfm must be the DataFrame from rfm_table, got {type(rfm).__name__}",
            argument="rfm",
        )
    missing = [c for c in ("segment", "monetary") if c not in rfm.columns]
    if missing:
        raise InputError(
            f"rfm is missing column(s) {missing}; pass the result of rfm_table()",
            argument="rfm",
        )
    seg = rfm["segment"].astype("object")
    unknown = sorted({str(s) for s in pd.unique(seg)} - set(SEGMENTS))
    if unknown:
        raise InputError(
            f"rfm.segment has unknown code(s) {unknown}; expected {list(SEGMENTS)}",
            argument="segment",
        )
    monetary = pd.to_numeric(rfm["monetary"], errors="coerce")
    if monetary.isna().any():
        raise InputError("rfm.monetary must be numbers", argument="monetary")
    grouped = pd.DataFrame({"segment": seg.to_numpy(), "monetary": monetary.to_numpy()})
    agg = grouped.groupby("segment", sort=False)["monetary"].agg(["size", "sum"])
    agg = agg.reindex(list(SEGMENTS))
    customers = agg["size"].fillna(0).to_numpy(dtype=np.int64)
    revenue = agg["sum"].fillna(0.0).to_numpy(dtype=np.float64)
    total_c = customers.sum()
    total_r = revenue.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        share = customers / total_c if total_c else np.full(customers.size, np.nan)
        revenue_share = revenue / total_r if total_r else np.full(revenue.size, np.nan)
    out = pd.DataFrame(
        {
            "customers": customers,
            "share": share,
            "revenue": revenue,
            "revenue_share": revenue_share,
            "action": [SEGMENT_ACTIONS[s] for s in SEGMENTS],
        },
        index=pd.Index(list(SEGMENTS), name="segment"),
    )
    return out
