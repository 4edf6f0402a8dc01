"""Synthetic subscriptions: monthly and annual plans, plan changes, churn, comebacks.

Each customer starts a *spell* (one subscription) on a day drawn from the period's
seasonal weights with a growth trend, on one of three plans (:data:`DEFAULT_PLANS`:
Basic 19 EUR a month, Pro 49 EUR a month, Annual 490 EUR a year). A spell lives a
geometric number of billing periods: at every renewal the subscriber cancels with the
plan's ``churn`` probability. Some spells change plan once, at a renewal:

* Basic -> Pro or Annual (upgrade), Pro -> Annual (upgrade) or Basic (downgrade),
* Annual -> Pro or Basic at a yearly renewal (downgrade).

A change closes the row and opens a new row with the same ``subscription_id`` and the
new amount; the remaining life is drawn again from the new plan's churn. A cancelled
customer may come back after a few months with a new subscription (reactivation), and
may do so again later.

Row status (Stripe's names): a row closed by a cancellation is ``canceled``; a row
closed by a plan change is ``active`` (the subscription went on in the next row); an
ongoing row (``end_date`` NaT, still billed at the period end) is ``active``,
``past_due`` or ``unpaid`` by the ``past_due_share`` and ``unpaid_share`` mix, or
``trialing`` when it started within ``trial_days`` of the period end.

All draws are vectorised across customers; the only loop runs over reactivation rounds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from retention_xl.datasets._calendar import make_calendar
from retention_xl.datasets._checks import check_count, check_seed, check_share
from retention_xl.datasets.orders import _customer_ids
from retention_xl.errors import InputError, OutOfRangeError

__all__ = ["DEFAULT_PLANS", "SUBSCRIPTION_DTYPES", "Plan", "generate_subscriptions"]

IntArray = npt.NDArray[np.int64]

#: Canonical dtypes of the subscriptions frame (see :mod:`retention_xl.core.schema`).
SUBSCRIPTION_DTYPES: Final = {
    "customer_id": "string",
    "subscription_id": "string",
    "start_date": "datetime64[ns]",
    "end_date": "datetime64[ns]",
    "amount": "float64",
    "interval": "string",
    "interval_count": "int64",
    "status": "string",
}
_MAX_ROUNDS: Final = 6


@dataclass(frozen=True, slots=True)
class Plan:
    """A price plan: ``amount`` EUR every ``interval_count`` ``interval``.

    ``churn`` is the probability of cancelling at each renewal (monthly for monthly
    plans, yearly for annual ones); ``share`` the share of new subscriptions choosing it.
    """

    name: str
    amount: float
    interval: str
    churn: float
    share: float

    def __post_init__(self) -> None:
        if self.interval not in ("month", "year"):
            raise InputError(
                f"Plan.interval must be 'month' or 'year', got {self.interval!r}",
                argument="interval",
            )
        if not self.amount > 0:
            raise OutOfRangeError(f"Plan.amount must be > 0, got {self.amount!r}")
        if not 0 < self.churn <= 1:
            raise OutOfRangeError(f"Plan.churn must be in (0, 1], got {self.churn!r}")
        if not self.share >= 0:
            raise OutOfRangeError(f"Plan.share must be >= 0, got {self.share!r}")

    @property
    def months(self) -> int:
        """Months in one billing period."""
        return 12 if self.interval == "year" else 1


#: Basic, Pro (monthly) and Annual (Pro paid yearly, two months free).
DEFAULT_PLANS: Final = (
    Plan("basic", 19.0, "month", churn=0.07, share=0.5),
    Plan("pro", 49.0, "month", churn=0.045, share=0.3),
    Plan("annual", 490.0, "year", churn=0.3, share=0.2),
)
# Plan changes between the three plans (basic, pro, annual): from -> {to: probability}.
_SWITCH_TO: Final = np.array(
    [
        [0.0, 0.7, 0.3],  # basic -> pro (70 %) or annual (30 %): upgrades
        [0.5, 0.0, 0.5],  # pro -> basic (downgrade) or annual (upgrade)
        [0.4, 0.6, 0.0],  # annual -> basic or pro at a yearly renewal: downgrades
    ]
)


@dataclass(frozen=True, slots=True)
class _Spells:
    customer: IntArray  # index into the customer ids
    start_day: IntArray  # days since the period start
    anchor: IntArray  # day of month (1..28) that renewals fall on
    month: IntArray  # the start month, in months since the period's first month


def _lifetimes(rng: np.random.Generator, plan: IntArray, plans: Sequence[Plan]) -> IntArray:
    """Months a plan is kept before cancelling: whole billing periods, geometric."""
    churn = np.array([p.churn for p in plans])[plan]
    months = np.array([p.months for p in plans], dtype=np.int64)[plan]
    return rng.geometric(churn).astype(np.int64) * months


def generate_subscriptions(
    n_customers: int = 800,
    *,
    customer_ids: Sequence[str] | None = None,
    joined: Sequence[str | pd.Timestamp | np.datetime64] | None = None,
    seed: int = 0,
    start: str | pd.Timestamp = "2023-01-01",
    end: str | pd.Timestamp = "2024-12-31",
    plans: Sequence[Plan] = DEFAULT_PLANS,
    change_share: float = 0.25,
    reactivation_share: float = 0.25,
    mean_gap_months: float = 4.0,
    past_due_share: float = 0.04,
    unpaid_share: float = 0.02,
    trial_days: int = 14,
    growth: float = 0.5,
) -> pd.DataFrame:
    """Generate subscription rows in the canonical subscriptions schema.

    Parameters
    ----------
    n_customers : int
        Subscribers (ignored when ``customer_ids`` is given). Each starts one
        subscription in the period.
    customer_ids : sequence of str, optional
        The subscribers' ids (e.g. a subset of the order customers); default
        ``C00001``, ``C00002``... in order of first subscription.
    joined : sequence of date-like, optional
        With ``customer_ids``: the day each customer became a customer (e.g. their
        first order). The first subscription then starts that day or later, early
        more often than late (the delay is the remaining period times ``U**3``, U
        uniform); without it, start days follow the seasonal weights and ``growth``.
    seed : int
        Seed of the random generator.
    start, end : date-like
        The period (both days included): subscriptions start inside it; rows still
        billed after ``end`` are ongoing (``end_date`` NaT).
    plans : sequence of three Plan
        Entry monthly plan, premium monthly plan, annual plan (see the module
        docstring for the changes between them).
    change_share : float
        Probability that a subscription changes plan once while alive (if it lives
        long enough: two months, or two years on the annual plan).
    reactivation_share : float
        Probability that a cancelled customer subscribes again.
    mean_gap_months : float
        Mean months between a cancellation and the comeback (geometric, >= 1).
    past_due_share, unpaid_share : float
        Shares of ongoing subscriptions whose last invoice failed (``past_due``: Stripe
        retries, still counted as MRR) or was given up on (``unpaid``).
    trial_days : int
        Ongoing first rows that started within this many days of ``end`` are
        ``trialing``.
    growth : float
        New subscriptions on the last day relative to the first, minus 1.

    Returns
    -------
    pandas.DataFrame
        ``customer_id``, ``subscription_id`` (``S00001``...), ``start_date``,
        ``end_date``, ``amount``, ``interval``, ``interval_count`` (1), ``status``;
        sorted by subscription id then start date. It passes
        :func:`~retention_xl.core.schema.validate_subscriptions` unchanged.

    Examples
    --------
    >>> subs = generate_subscriptions(50, seed=3)
    >>> sorted(subs["interval"].unique())
    ['month', 'year']
    """
    if len(plans) != 3 or not all(isinstance(p, Plan) for p in plans):
        raise InputError(
            "plans must be three Plan objects: entry monthly, premium monthly, annual; "
            f"got {plans!r}",
            argument="plans",
        )
    seed = check_seed(seed)
    change_share = check_share(change_share, "change_share")
    reactivation_share = check_share(reactivation_share, "reactivation_share")
    past_due_share = check_share(past_due_share, "past_due_share")
    unpaid_share = check_share(unpaid_share, "unpaid_share")
    trial_days = check_count(trial_days, "trial_days")
    if past_due_share + unpaid_share > 1:
        raise OutOfRangeError("past_due_share + unpaid_share must be at most 1")
    if not mean_gap_months >= 1:
        raise OutOfRangeError(
            f"mean_gap_months must be >= 1, got {mean_gap_months!r}", argument="mean_gap_months"
        )
    if joined is not None and customer_ids is None:
        raise InputError("joined needs customer_ids (one date per id)", argument="joined")
    if customer_ids is None:
        ids = _customer_ids(check_count(n_customers, "n_customers"))
    else:
        ids = np.asarray([str(c) for c in customer_ids], dtype=object)
        if len(set(ids.tolist())) != len(ids):
            raise InputError("customer_ids must not repeat", argument="customer_ids")
    n = len(ids)
    if n == 0:
        return pd.DataFrame(
            {name: pd.Series(dtype=dtype) for name, dtype in SUBSCRIPTION_DTYPES.items()}
        )

    calendar = make_calendar(start, end, trend=growth)
    first_month = calendar.start.astype("datetime64[M]")
    period_days = calendar.days
    rng = np.random.default_rng([seed, 1])
    share = np.array([p.share for p in plans], dtype="float64")
    if share.sum() <= 0:
        raise OutOfRangeError("at least one plan needs a share > 0", argument="plans")
    share = share / share.sum()
    amounts = np.array([p.amount for p in plans], dtype="float64")
    intervals = np.array([p.interval for p in plans], dtype=object)

    if joined is None:
        day0 = np.floor(calendar.time_at(np.sort(rng.random(n)) * calendar.total))
        day0 = day0.astype(np.int64)
    else:
        joined_day = _joined_days(joined, n, calendar.start, calendar.days)
        remaining = calendar.days - joined_day
        day0 = joined_day + np.floor(remaining * rng.random(n) ** 3).astype(np.int64)
    spells = _spells_from_days(np.arange(n, dtype=np.int64), day0, calendar.start, first_month)

    def date_of(month: IntArray, anchor: IntArray) -> IntArray:
        dates = (first_month + month).astype("datetime64[D]") + (anchor - 1)
        return np.asarray((dates - calendar.start).astype(np.int64), dtype=np.int64)

    cols: dict[str, list[npt.NDArray[np.generic]]] = {
        k: [] for k in ("customer", "spell", "start", "end", "plan", "closed_by")
    }
    spell_base = 0
    for _ in range(_MAX_ROUNDS):
        m = len(spells.customer)
        if m == 0:
            break
        plan0 = rng.choice(3, size=m, p=share).astype(np.int64)
        life0 = _lifetimes(rng, plan0, plans)
        # each spell's target plan, drawn from its row of the switch table
        u = rng.random(m)
        cum = np.cumsum(_SWITCH_TO, axis=1)[plan0]
        plan1 = np.minimum((u[:, None] >= cum).sum(axis=1), 2).astype(np.int64)
        period_months = np.array([p.months for p in plans], dtype=np.int64)[plan0]
        renewals = life0 // period_months  # billing periods kept
        changes = (rng.random(m) < change_share) & (renewals >= 2)
        at = rng.integers(1, np.maximum(renewals, 2)) * period_months  # months to change
        life1 = _lifetimes(rng, plan1, plans)
        change_month = np.where(changes, at, life0)
        end_month = np.where(changes, at + life1, life0)
        spell_ids = spell_base + np.arange(m, dtype=np.int64)
        spell_base += m
        begin = spells.start_day
        change_day = date_of(spells.month + change_month, spells.anchor)
        end_day = date_of(spells.month + end_month, spells.anchor)
        # first row: start -> change (or cancellation)
        cols["customer"].append(spells.customer)
        cols["spell"].append(spell_ids)
        cols["start"].append(begin)
        cols["end"].append(change_day)
        cols["plan"].append(plan0)
        cols["closed_by"].append(np.where(changes, 1, 0))
        # second row after a plan change
        cols["customer"].append(spells.customer[changes])
        cols["spell"].append(spell_ids[changes])
        cols["start"].append(change_day[changes])
        cols["end"].append(end_day[changes])
        cols["plan"].append(plan1[changes])
        cols["closed_by"].append(np.zeros(int(changes.sum()), dtype=np.int64))
        # comebacks: cancelled inside the period, then a new subscription later
        back = (end_day < period_days) & (rng.random(m) < reactivation_share)
        gap = rng.geometric(1.0 / mean_gap_months, m).astype(np.int64)
        new_day = end_day + gap * 30 + rng.integers(0, 30, m)
        back &= new_day < period_days
        spells = _spells_from_days(
            spells.customer[back], new_day[back], calendar.start, first_month
        )

    customer = np.concatenate(cols["customer"])
    spell = np.concatenate(cols["spell"])
    row_start = np.concatenate(cols["start"])
    row_end = np.concatenate(cols["end"])
    plan = np.concatenate(cols["plan"])
    closed_by = np.concatenate(cols["closed_by"])
    keep = row_start < period_days
    customer, spell, row_start, row_end, plan, closed_by = (
        a[keep] for a in (customer, spell, row_start, row_end, plan, closed_by)
    )
    ongoing = row_end >= period_days
    statuses = np.array(["canceled", "active", "past_due", "unpaid", "trialing"], dtype=object)
    u = rng.random(len(customer))
    ongoing_status = np.where(
        u < past_due_share, 2, np.where(u < past_due_share + unpaid_share, 3, 1)
    )
    first_row = np.ones(len(spell), dtype=bool)
    order = np.lexsort((row_start, spell))
    first_row[order[1:]] = spell[order[1:]] != spell[order[:-1]]
    trial = ongoing & first_row & (row_start > period_days - 1 - trial_days)
    status = np.where(trial, 4, np.where(ongoing, ongoing_status, np.where(closed_by == 1, 1, 0)))

    # subscription ids count up in order of the subscription's first day
    spell_start = np.full(spell_base, np.iinfo(np.int64).max)
    np.minimum.at(spell_start, spell, row_start)
    present = np.unique(spell)
    rank = np.empty(spell_base, dtype=np.int64)
    by_start = present[np.lexsort((present, spell_start[present]))]
    rank[by_start] = np.arange(len(by_start))
    width = max(5, len(str(len(by_start))))
    sub_labels = np.array([f"S{i:0{width}d}" for i in range(1, len(by_start) + 1)], dtype=object)
    sub_rank = rank[spell]
    order = np.lexsort((row_start, sub_rank))
    end_dates = calendar.start + row_end.astype("timedelta64[D]")
    end_ns = np.where(ongoing, np.datetime64("NaT"), end_dates).astype("datetime64[ns]")
    frame = pd.DataFrame(
        {
            "customer_id": pd.Series(ids[customer[order]], dtype="string", copy=False),
            "subscription_id": pd.Series(sub_labels[sub_rank[order]], dtype="string", copy=False),
            "start_date": (calendar.start + row_start[order].astype("timedelta64[D]")).astype(
                "datetime64[ns]"
            ),
            "end_date": end_ns[order],
            "amount": amounts[plan[order]],
            "interval": pd.Series(intervals[plan[order]], dtype="string", copy=False),
            "interval_count": np.ones(len(order), dtype=np.int64),
            "status": pd.Series(statuses[status[order]], dtype="string", copy=False),
        }
    )
    return frame


def _joined_days(
    joined: Sequence[str | pd.Timestamp | np.datetime64], n: int, start: np.datetime64, days: int
) -> IntArray:
    if len(joined) != n:
        raise InputError(
            f"joined must give one date per customer id: {len(joined)} dates for {n} ids",
            argument="joined",
        )
    try:
        stamps = pd.to_datetime(pd.Series(list(joined), dtype=object), errors="raise")
    except (ValueError, TypeError) as exc:
        raise InputError(
            f"joined has a value that is not a date: {exc}", argument="joined"
        ) from exc
    day = (stamps.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]") - start).astype(np.int64)
    outside = (day < 0) | (day >= days)
    if outside.any():
        pos = int(np.flatnonzero(outside)[0])
        raise OutOfRangeError(
            f"joined dates must fall inside the period; position {pos} is "
            f"{str(stamps.iloc[pos].date())!r}",
            argument="joined",
        )
    return np.asarray(day, dtype=np.int64)


def _spells_from_days(
    customer: IntArray, day: IntArray, start: np.datetime64, first_month: np.datetime64
) -> _Spells:
    dates = start + day.astype("timedelta64[D]")
    month_start = dates.astype("datetime64[M]")
    dom = (dates - month_start.astype("datetime64[D]")).astype(np.int64) + 1
    month = (month_start - first_month).astype(np.int64)
    return _Spells(customer=customer, start_day=day, anchor=np.minimum(dom, 28), month=month)
