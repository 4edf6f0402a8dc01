"""Synthetic orders from a buy-till-you-die process (BG/NBD with Gamma-Gamma spend).

The process, customer by customer (Fader, Hardie & Lee 2005; Fader & Hardie 2013):

* **acquisition**: the first order falls on a day drawn from the period's seasonal
  weights, tilted by ``acquisition_trend`` (a growing shop acquires more later);
* **repeat buying** while alive: a Poisson process with rate
  :math:`\\lambda \\cdot w(t)` per week, :math:`\\lambda \\sim \\text{Gamma}(r, \\alpha)`
  (shape ``r``, rate ``alpha`` in weeks) and :math:`w(t)` the seasonal day weight
  (mean 1, so :math:`\\lambda` is the average weekly rate);
* **dropout**: after each repeat purchase the customer leaves for good with probability
  :math:`p \\sim \\text{Beta}(a, b)`;
* **spend**: each order's value is :math:`z \\sim \\text{Gamma}(p_s, \\nu)` with the
  customer's :math:`\\nu \\sim \\text{Gamma}(q, \\gamma)`, so the customer's mean order
  value :math:`p_s / \\nu` is right-skewed across customers (mean
  :math:`p_s \\gamma / (q - 1)`), and the individual orders scatter around it;
* **export noise**: a share of orders is refunded (fully: ``status == "refunded"``;
  partly: a ``refunded`` amount below the order's), a share is cancelled, and a share
  of rows is exported twice (same ``order_id``), as overlapping exports do.

Everything is drawn with vectorised numpy; no Python loop runs per customer or per
order. The repeat purchases that happen while a customer is alive are the first
:math:`x = \\min(K, N)` of the :math:`N \\sim \\text{Poisson}(\\lambda W)` events in
the observation window, where :math:`K \\sim \\text{Geometric}(p)` is the number of
repeat purchases the customer would make before leaving; their times are the first
:math:`x` order statistics of :math:`N` seasonal draws, generated directly from
exponential spacings, so the cost is proportional to the orders kept.

With ``refund_rate = cancel_rate = duplicate_rate = 0`` the orders follow the BG/NBD
and Gamma-Gamma models exactly (in continuous time, before orders are dated to the
day), so model fits on a large sample should recover the parameters of
:class:`BuyTillYouDie`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from retention_xl.datasets._calendar import (
    MONTH_FACTORS,
    WEEKDAY_FACTORS,
    Calendar,
    make_calendar,
)
from retention_xl.datasets._checks import check_count, check_seed, check_share
from retention_xl.errors import InputError, OutOfRangeError

__all__ = ["DEFAULT_CUSTOMERS", "ORDER_DTYPES", "BuyTillYouDie", "generate_orders"]

logger = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: Customers generated when neither ``n_customers`` nor ``n_orders`` is given.
DEFAULT_CUSTOMERS: Final = 3000
#: Canonical dtypes of the orders frame (see :mod:`retention_xl.core.schema`).
ORDER_DTYPES: Final = {
    "customer_id": "string",
    "order_id": "string",
    "order_date": "datetime64[ns]",
    "amount": "float64",
    "refunded": "float64",
    "status": "string",
    "currency": "string",
}
_PILOT_CUSTOMERS: Final = 50_000
_STATUSES: Final = np.array(["paid", "refunded", "cancelled"], dtype=object)


@dataclass(frozen=True, slots=True)
class BuyTillYouDie:
    """Parameters of the purchase and spend process (time unit: weeks).

    Attributes
    ----------
    r, alpha : float
        Gamma shape and rate of the weekly purchase rate :math:`\\lambda`
        (mean :math:`r / \\alpha` purchases a week while alive).
    a, b : float
        Beta parameters of the dropout probability after each repeat purchase
        (mean :math:`a / (a + b)`).
    p, q, gamma : float
        Gamma-Gamma spend: order value :math:`\\sim \\text{Gamma}(p, \\nu)`,
        :math:`\\nu \\sim \\text{Gamma}(q, \\gamma)`; mean order value
        :math:`p \\gamma / (q - 1)` EUR (needs ``q > 1``).

    The defaults describe a European online shop over two years: about two customers
    in five buy again, most of them a few times and a loyal few every week or two
    (heavy-tailed :math:`\\lambda`), one in four leaves after each repeat purchase on
    average, and an average order is worth about 60 EUR.

    Examples
    --------
    >>> BuyTillYouDie().mean_order_value
    60.0
    """

    r: float = 0.15
    alpha: float = 0.8
    a: float = 0.5
    b: float = 1.5
    p: float = 6.0
    q: float = 4.0
    gamma: float = 30.0

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, (int, float)) or not np.isfinite(value) or value <= 0:
                raise OutOfRangeError(
                    f"BuyTillYouDie.{field.name} must be a positive number, got {value!r}",
                    argument=field.name,
                )
        if self.q <= 1:
            raise OutOfRangeError(
                f"BuyTillYouDie.q must be > 1 for a finite mean order value, got {self.q!r}",
                argument="q",
            )

    @property
    def mean_order_value(self) -> float:
        """Expected order value across customers: :math:`p \\gamma / (q - 1)`."""
        return self.p * self.gamma / (self.q - 1)


@dataclass(frozen=True, slots=True)
class _Customers:
    first: FloatArray  # time of the first order, days from the period start
    repeats: IntArray  # repeat purchases made while alive inside the period
    candidates: IntArray  # seasonal purchase events in the window (alive or not)


def _simulate_customers(
    rng: np.random.Generator,
    n: int,
    acquisition: Calendar,
    buying: Calendar,
    process: BuyTillYouDie,
) -> _Customers:
    first = np.sort(acquisition.time_at(rng.random(n) * acquisition.total))
    lam = rng.gamma(process.r, 1.0 / process.alpha, n) / 7.0  # per day
    drop = np.clip(rng.beta(process.a, process.b, n), 1e-12, 1.0)
    lifetime_repeats = rng.geometric(drop)
    exposure = buying.total - buying.weight_until(first)
    candidates = rng.poisson(lam * exposure)
    repeats = np.minimum(lifetime_repeats, candidates)
    return _Customers(first=first, repeats=repeats, candidates=candidates)


def _repeat_times(
    rng: np.random.Generator, customers: _Customers, buying: Calendar
) -> tuple[IntArray, FloatArray]:
    """Owner and time of each repeat purchase: the first ``x`` of ``N`` seasonal events.

    The ``k``-th smallest of ``N`` uniforms is ``1 - exp(-S_k)`` with
    ``S_k = sum_{j <= k} E_j / (N - j + 1)`` and ``E_j`` standard exponentials.
    """
    x = customers.repeats
    total = int(x.sum())
    owner = np.repeat(np.arange(len(x), dtype=np.int64), x)
    begins = np.cumsum(x) - x
    rank = np.arange(total, dtype=np.int64) - np.repeat(begins, x)  # 0-based j - 1
    spacing = rng.standard_exponential(total) / (customers.candidates[owner] - rank)
    running = np.cumsum(spacing)
    before = np.concatenate(([0.0], running))[begins]
    uniform = -np.expm1(-(running - np.repeat(before, x)))
    start_weight = buying.weight_until(customers.first)
    target = start_weight[owner] + uniform * (buying.total - start_weight[owner])
    times = np.maximum(buying.time_at(target), customers.first[owner])
    return owner, times


def _customer_ids(n: int) -> npt.NDArray[np.object_]:
    width = max(5, len(str(n)))
    return np.fromiter((f"C{i:0{width}d}" for i in range(1, n + 1)), dtype=object, count=n)


def _strings(values: npt.NDArray[np.object_]) -> pd.Series:
    """A ``string`` Series over an object array of ``str`` (no per-item checks)."""
    return pd.Series(values, dtype="string", copy=False)


def _empty_orders() -> pd.DataFrame:
    """An orders frame with no rows and the canonical columns and dtypes."""
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in ORDER_DTYPES.items()})


def generate_orders(
    n_customers: int | None = None,
    *,
    n_orders: int | None = None,
    seed: int = 0,
    start: str | pd.Timestamp = "2023-01-01",
    end: str | pd.Timestamp = "2024-12-31",
    process: BuyTillYouDie | None = None,
    acquisition_trend: float = 0.5,
    month_factors: Sequence[float] = MONTH_FACTORS,
    weekday_factors: Sequence[float] = WEEKDAY_FACTORS,
    refund_rate: float = 0.03,
    partial_refund_share: float = 0.35,
    cancel_rate: float = 0.01,
    duplicate_rate: float = 0.005,
    currency: str = "EUR",
    first_order_id: int = 100001,
) -> pd.DataFrame:
    """Generate orders of an online shop, in the canonical orders schema.

    Parameters
    ----------
    n_customers : int, optional
        Customers acquired in the period (each makes at least one order). Default 3000
        when ``n_orders`` is not given either.
    n_orders : int, optional
        Instead of ``n_customers``: the approximate number of rows wanted (within a
        few percent for large sizes); the customer count is set from a pilot run of
        the same process. Give one of the two.
    seed : int
        Seed of the random generator; the same arguments and seed give the same frame.
    start, end : date-like
        First and last day of the period (both included).
    process : BuyTillYouDie, optional
        Purchase, dropout and spend parameters (default: ``BuyTillYouDie()``).
    acquisition_trend : float
        New customers on the last day relative to the first, minus 1, before
        seasonality (0.5: the shop acquires 50 % more at the end than at the start).
    month_factors, weekday_factors : sequence of float
        Relative demand by month (12, January first) and weekday (7, Monday first);
        they shape both acquisitions and repeat purchases.
    refund_rate : float
        Share of orders with a refund (fully refunded: ``status == "refunded"`` and
        ``refunded == amount``; partly: ``status == "paid"`` and a smaller ``refunded``).
    partial_refund_share : float
        Share of the refunded orders that are refunded only in part.
    cancel_rate : float
        Share of orders cancelled (``status == "cancelled"``, no refund).
    duplicate_rate : float
        Share of orders exported twice (identical rows, same ``order_id``).
    currency : str
        ISO code in the ``currency`` column.
    first_order_id : int
        The first order id; ids count up in date order and are strings.

    Returns
    -------
    pandas.DataFrame
        ``customer_id`` (``C00001``...: in order of acquisition), ``order_id``,
        ``order_date`` (midnight), ``amount`` (EUR, whole cents), ``refunded``,
        ``status`` (``paid``, ``refunded``, ``cancelled``) and ``currency``, sorted by
        date then order id; it passes :func:`~retention_xl.core.schema.validate_orders`
        unchanged.

    Examples
    --------
    >>> orders = generate_orders(200, seed=1)
    >>> orders["customer_id"].nunique()
    200
    >>> list(orders.columns)
    ['customer_id', 'order_id', 'order_date', 'amount', 'refunded', 'status', 'currency']
    """
    process = BuyTillYouDie() if process is None else process
    if not isinstance(process, BuyTillYouDie):
        raise InputError(
            f"process must be a BuyTillYouDie, got {type(process).__name__}", argument="process"
        )
    seed = check_seed(seed)
    refund_rate = check_share(refund_rate, "refund_rate")
    cancel_rate = check_share(cancel_rate, "cancel_rate")
    partial_refund_share = check_share(partial_refund_share, "partial_refund_share")
    duplicate_rate = check_share(duplicate_rate, "duplicate_rate")
    if refund_rate + cancel_rate > 1:
        raise OutOfRangeError(
            f"refund_rate + cancel_rate must be at most 1, got {refund_rate + cancel_rate!r}",
            argument="cancel_rate",
        )
    first_order_id = check_count(first_order_id, "first_order_id")
    if not isinstance(currency, str) or not currency.strip():
        raise InputError(f"currency must be an ISO code like 'EUR', got {currency!r}")
    acquisition = make_calendar(
        start,
        end,
        month_factors=month_factors,
        weekday_factors=weekday_factors,
        trend=acquisition_trend,
    )
    buying = make_calendar(start, end, month_factors=month_factors, weekday_factors=weekday_factors)

    n = _customer_count(
        n_customers, n_orders, seed, acquisition, buying, process, rows_per_order=1 + duplicate_rate
    )
    if n == 0:
        return _empty_orders()

    rng = np.random.default_rng([seed, 0])
    customers = _simulate_customers(rng, n, acquisition, buying, process)
    owner, times = _repeat_times(rng, customers, buying)
    owner = np.concatenate((np.arange(n, dtype=np.int64), owner))
    times = np.concatenate((customers.first, times))
    by_time = np.argsort(times)
    owner = owner[by_time]
    day = np.floor(times[by_time]).astype(np.int64)
    del times, by_time
    m = len(owner)

    nu = rng.gamma(process.q, 1.0 / process.gamma, n)
    value = rng.gamma(process.p, 1.0, m) / nu[owner]
    cents = np.maximum(np.rint(value * 100.0), 1.0)
    del value

    refunded_cents, status = _refunds_and_statuses(
        rng, cents, refund_rate, cancel_rate, partial_refund_share
    )

    rows = np.arange(m, dtype=np.int64)
    twice = np.flatnonzero(rng.random(m) < duplicate_rate)
    rows = np.sort(np.concatenate((rows, twice)))

    # Build the columns one at a time, dropping each input once used (10M rows fit in a
    # few GB); the frame takes the arrays without copying them.
    columns: dict[str, object] = {}
    customer_ids = _customer_ids(n)
    columns["customer_id"] = _strings(customer_ids[owner[rows]])
    del owner, customer_ids
    order_ids = np.fromiter(
        map(str, range(first_order_id, first_order_id + m)), dtype=object, count=m
    )
    columns["order_id"] = _strings(order_ids[rows] if len(twice) else order_ids)
    del order_ids
    columns["order_date"] = (buying.start + day[rows].astype("timedelta64[D]")).astype(
        "datetime64[ns]"
    )
    del day
    columns["amount"] = cents[rows] / 100.0
    columns["refunded"] = refunded_cents[rows] / 100.0
    del cents, refunded_cents
    columns["status"] = _strings(_STATUSES[status[rows]])
    columns["currency"] = _strings(np.full(len(rows), currency.strip().upper(), dtype=object))
    return pd.DataFrame(columns, copy=False)


def _customer_count(
    n_customers: int | None,
    n_orders: int | None,
    seed: int,
    acquisition: Calendar,
    buying: Calendar,
    process: BuyTillYouDie,
    *,
    rows_per_order: float,
) -> int:
    """Customers to simulate: ``n_customers`` (default 3000), or for ``n_orders`` rows
    wanted, ``n_orders / ((1 + mean repeats) × rows_per_order)`` with the mean repeats
    of a pilot run of the same process (its own random stream, seed ``[seed, 99]``)."""
    if n_customers is not None and n_orders is not None:
        raise InputError(
            "give n_customers or n_orders, not both "
            f"(got n_customers={n_customers!r}, n_orders={n_orders!r})",
            argument="n_orders",
        )
    if n_orders is None:
        return DEFAULT_CUSTOMERS if n_customers is None else check_count(n_customers, "n_customers")
    n_orders = check_count(n_orders, "n_orders")
    pilot = _simulate_customers(
        np.random.default_rng([seed, 99]), _PILOT_CUSTOMERS, acquisition, buying, process
    )
    per_customer = (1.0 + float(pilot.repeats.mean())) * rows_per_order
    n = max(1, round(n_orders / per_customer)) if n_orders else 0
    logger.debug("n_orders=%d needs about %d customers", n_orders, n)
    return n


def _refunds_and_statuses(
    rng: np.random.Generator,
    cents: npt.NDArray[np.float64],
    refund_rate: float,
    cancel_rate: float,
    partial_refund_share: float,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Each order's refunded cents and status (0 paid, 1 refunded, 2 cancelled): one
    uniform draw picks refund (``< refund_rate``), cancellation (the next
    ``cancel_rate``) or neither; a share of refunds give back 10–60 % of the amount
    (at least a cent, never all of it) and stay paid, the others all of it."""
    m = len(cents)
    fate = rng.random(m)
    refund = fate < refund_rate
    cancelled = (fate >= refund_rate) & (fate < refund_rate + cancel_rate)
    partial = refund & (rng.random(m) < partial_refund_share) & (cents > 1)
    part = np.clip(np.rint(cents * rng.uniform(0.1, 0.6, m)), 1.0, cents - 1.0)
    refunded_cents = np.where(partial, part, np.where(refund, cents, 0.0))
    status = np.where(refund & ~partial, 1, np.where(cancelled, 2, 0)).astype(np.int64)
    return refunded_cents, status
