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
FloatArray = npt.NDArray[np.float64]

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
#: the statuses a generated row may have, by index
_STATUSES: Final = np.array(["canceled", "active", "past_due", "unpaid", "trialing"], dtype=object)


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
    _check_settings(
        plans, mean_gap_months, change_share, reactivation_share, past_due_share, unpaid_share
    )
    seed = check_seed(seed)
    trial_days = check_count(trial_days, "trial_days")
    ids = _checked_ids(n_customers, customer_ids, joined)
    n = len(ids)
    if n == 0:
        return pd.DataFrame(
            {name: pd.Series(dtype=dtype) for name, dtype in SUBSCRIPTION_DTYPES.items()}
        )

    calendar = make_calendar(start, end, trend=growth)
    rng = np.random.default_rng([seed, 1])
    share = np.array([p.share for p in plans], dtype="float64")
    if share.sum() <= 0:
        raise OutOfRangeError("at least one plan needs a share > 0", argument="plans")
    if joined is None:
        day0 = np.floor(calendar.time_at(np.sort(rng.random(n)) * calendar.total))
        day0 = day0.astype(np.int64)
    else:
        joined_day = _joined_days(joined, n, calendar.start, calendar.days)
        remaining = calendar.days - joined_day
        day0 = joined_day + np.floor(remaining * rng.random(n) ** 3).astype(np.int64)
    rows = _simulate_rows(
        rng,
        np.arange(n, dtype=np.int64),
        day0,
        calendar.start,
        calendar.days,
        plans=plans,
        share=share / share.sum(),
        change_share=change_share,
        reactivation_share=reactivation_share,
        mean_gap_months=mean_gap_months,
    )
    rows = rows.started_before(calendar.days)
    ongoing = rows.end >= calendar.days
    status = _statuses(
        rng,
        rows,
        ongoing,
        first_trial_day=calendar.days - 1 - trial_days,
        past_due_share=past_due_share,
        unpaid_share=unpaid_share,
    )
    return _subscription_frame(ids, rows, ongoing, status, calendar.start, plans)


def _checked_ids(
    n_customers: int,
    customer_ids: Sequence[str] | None,
    joined: Sequence[str | pd.Timestamp | np.datetime64] | None,
) -> npt.NDArray[np.object_]:
    """The subscribers' ids: the ones given (distinct), or ``C00001``... for
    ``n_customers``; ``joined`` only goes with given ids."""
    if joined is not None and customer_ids is None:
        raise InputError("joined needs customer_ids (one date per id)", argument="joined")
    if customer_ids is None:
        return _customer_ids(check_count(n_customers, "n_customers"))
    ids = np.asarray([str(c) for c in customer_ids], dtype=object)
    if len(set(ids.tolist())) != len(ids):
        raise InputError("customer_ids must not repeat", argument="customer_ids")
    return ids


def _check_settings(
    plans: Sequence[Plan],
    mean_gap_months: float,
    *shares_in_order: float,
) -> None:
    """Refuse plans that are not three :class:`Plan`, shares outside [0, 1] (in the
    order change, reactivation, past due, unpaid), past due + unpaid above 1 and a
    mean gap under one month."""
    if len(plans) != 3 or not all(isinstance(p, Plan) for p in plans):
        raise InputError(
            "plans must be three Plan objects: entry monthly, premium monthly, annual; "
            f"got {plans!r}",
            argument="plans",
        )
    names = ("change_share", "reactivation_share", "past_due_share", "unpaid_share")
    shares = [check_share(value, name) for value, name in zip(shares_in_order, names, strict=True)]
    if shares[2] + shares[3] > 1:
        raise OutOfRangeError("past_due_share + unpaid_share must be at most 1")
    if not mean_gap_months >= 1:
        raise OutOfRangeError(
            f"mean_gap_months must be >= 1, got {mean_gap_months!r}", argument="mean_gap_months"
        )


@dataclass(frozen=True, slots=True)
class _Rows:
    """Subscription rows as parallel arrays: the customer (index into the ids), the
    spell (one subscription), start and end day (days since the period start), the
    plan (0, 1, 2), and ``closed_by`` 1 when the row ended in a plan change."""

    customer: IntArray
    spell: IntArray
    start: IntArray
    end: IntArray
    plan: IntArray
    closed_by: IntArray
    n_spells: int

    def started_before(self, day: int) -> _Rows:
        """The rows that start before ``day`` (the end of the period)."""
        keep = self.start < day
        return _Rows(
            self.customer[keep],
            self.spell[keep],
            self.start[keep],
            self.end[keep],
            self.plan[keep],
            self.closed_by[keep],
            self.n_spells,
        )


def _simulate_rows(
    rng: np.random.Generator,
    customer: IntArray,
    day0: IntArray,
    start: np.datetime64,
    period_days: int,
    *,
    plans: Sequence[Plan],
    share: FloatArray,
    change_share: float,
    reactivation_share: float,
    mean_gap_months: float,
) -> _Rows:
    """Draw the subscriptions in rounds: each round's spells draw a plan, a lifetime
    and maybe one plan change; those cancelled inside the period may come back (a
    geometric gap of months) as the next round's spells."""
    first_month = start.astype("datetime64[M]")
    spells = _spells_from_days(customer, day0, start, first_month)

    def date_of(month: IntArray, anchor: IntArray) -> IntArray:
        dates = (first_month + month).astype("datetime64[D]") + (anchor - 1)
        return np.asarray((dates - start).astype(np.int64), dtype=np.int64)

    cols: dict[str, list[npt.NDArray[np.generic]]] = {
        k: [] for k in ("customer", "spell", "start", "end", "plan", "closed_by")
    }

    def add(
        who: IntArray, spell: IntArray, begin: IntArray, end: IntArray, plan: IntArray, by: IntArray
    ) -> None:
        for key, values in zip(cols, (who, spell, begin, end, plan, by), strict=True):
            cols[key].append(values)

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
        change_day = date_of(spells.month + change_month, spells.anchor)
        end_day = date_of(spells.month + end_month, spells.anchor)
        # first row: start -> change (or cancellation); a second row after a change
        add(
            spells.customer,
            spell_ids,
            spells.start_day,
            change_day,
            plan0,
            np.where(changes, 1, 0),
        )
        add(
            spells.customer[changes],
            spell_ids[changes],
            change_day[changes],
            end_day[changes],
            plan1[changes],
            np.zeros(int(changes.sum()), dtype=np.int64),
        )
        # comebacks: cancelled inside the period, then a new subscription later
        back = (end_day < period_days) & (rng.random(m) < reactivation_share)
        gap = rng.geometric(1.0 / mean_gap_months, m).astype(np.int64)
        new_day = end_day + gap * 30 + rng.integers(0, 30, m)
        back &= new_day < period_days
        spells = _spells_from_days(spells.customer[back], new_day[back], start, first_month)
    joined = {key: np.concatenate(parts).astype(np.int64) for key, parts in cols.items()}
    return _Rows(**joined, n_spells=spell_base)


def _statuses(
    rng: np.random.Generator,
    rows: _Rows,
    ongoing: npt.NDArray[np.bool_],
    *,
    first_trial_day: int,
    past_due_share: float,
    unpaid_share: float,
) -> IntArray:
    """Each row's status as an index into :data:`_STATUSES`: an ongoing first row
    that started after ``first_trial_day`` is trialing, other ongoing rows active,
    past due or unpaid by their shares; ended rows canceled, or active when they
    ended in a plan change."""
    u = rng.random(len(rows.customer))
    ongoing_status = np.where(
        u < past_due_share, 2, np.where(u < past_due_share + unpaid_share, 3, 1)
    )
    first_row = np.ones(len(rows.spell), dtype=bool)
    order = np.lexsort((rows.start, rows.spell))
    first_row[order[1:]] = rows.spell[order[1:]] != rows.spell[order[:-1]]
    trial = ongoing & first_row & (rows.start > first_trial_day)
    by_change = np.where(rows.closed_by == 1, 1, 0)
    status = np.where(trial, 4, np.where(ongoing, ongoing_status, by_change))
    return np.asarray(status, dtype=np.int64)


def _subscription_frame(
    ids: npt.NDArray[np.object_],
    rows: _Rows,
    ongoing: npt.NDArray[np.bool_],
    status: IntArray,
    start: np.datetime64,
    plans: Sequence[Plan],
) -> pd.DataFrame:
    """The canonical frame; subscription ids count up in order of the subscription's
    first day, rows sorted by subscription id then start date."""
    spell_start = np.full(rows.n_spells, np.iinfo(np.int64).max)
    np.minimum.at(spell_start, rows.spell, rows.start)
    present = np.unique(rows.spell)
    rank = np.empty(rows.n_spells, dtype=np.int64)
    by_start = present[np.lexsort((present, spell_start[present]))]
    rank[by_start] = np.arange(len(by_start))
    width = max(5, len(str(len(by_start))))
    sub_labels = np.array([f"S{i:0{width}d}" for i in range(1, len(by_start) + 1)], dtype=object)
    sub_rank = rank[rows.spell]
    order = np.lexsort((rows.start, sub_rank))
    end_dates = start + rows.end.astype("timedelta64[D]")
    end_ns = np.where(ongoing, np.datetime64("NaT"), end_dates).astype("datetime64[ns]")
    amounts = np.array([p.amount for p in plans], dtype="float64")
    intervals = np.array([p.interval for p in plans], dtype=object)
    plan = rows.plan[order]
    return pd.DataFrame(
        {
            "customer_id": pd.Series(ids[rows.customer[order]], dtype="string", copy=False),
            "subscription_id": pd.Series(sub_labels[sub_rank[order]], dtype="string", copy=False),
            "start_date": (start + rows.start[order].astype("timedelta64[D]")).astype(
                "datetime64[ns]"
            ),
            "end_date": end_ns[order],
            "amount": amounts[plan],
            "interval": pd.Series(intervals[plan], dtype="string", copy=False),
            "interval_count": np.ones(len(order), dtype=np.int64),
            "status": pd.Series(_STATUSES[status[order]], dtype="string", copy=False),
        }
    )


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
