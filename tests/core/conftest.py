"""A small seeded generator of messy orders for the core cross-checks.

Written for the tests (independent of ``retention_xl.datasets``): customers with a
geometric number of orders over about three years, several orders on one day,
partial and full refunds, cancellations, and duplicated order ids whose repeats may
carry different amounts (the first occurrence must win).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest


def random_orders(
    seed: int, n_customers: int = 300, *, start: str = "2021-01-01", days: int = 1000
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    per_customer = rng.geometric(0.35, n_customers)
    cust = np.repeat(np.arange(n_customers), per_customer)
    n = cust.size
    first = rng.integers(0, days, n_customers)
    gap = rng.integers(0, 400, n)
    day = np.minimum(first[cust] + gap * (rng.random(n) < 0.8), days - 1)
    stamp = pd.Timestamp(start) + pd.to_timedelta(day, unit="D")
    stamp = stamp + pd.to_timedelta(rng.integers(0, 86_400, n), unit="s")
    amount = np.round(rng.gamma(2.0, 25.0, n), 2)
    status = rng.choice(["paid", "cancelled", "refunded"], n, p=[0.9, 0.04, 0.06])
    refunded = np.where(rng.random(n) < 0.05, np.round(amount * rng.random(n), 2), 0.0)
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{c:04d}" for c in cust],
            "order_id": [f"o{i:06d}" for i in range(n)],
            "order_date": stamp,
            "amount": amount,
            "refunded": refunded,
            "status": status,
        }
    )
    dup = frame.sample(frac=0.05, random_state=seed).copy()
    dup["amount"] = dup["amount"] + 1.0
    frame = pd.concat([frame, dup], ignore_index=True)
    return frame.sample(frac=1.0, random_state=seed + 1).reset_index(drop=True)


def plain_prepare(orders: pd.DataFrame, as_of: pd.Timestamp | None = None) -> pd.DataFrame:
    """The documented refund rule, written plainly: rows with ``day``, ``rev``, ``buy``."""
    d = orders.drop_duplicates("order_id", keep="first").copy()
    d = d[d["status"] != "cancelled"]
    d["rev"] = d["amount"] - d["refunded"]
    d["buy"] = (d["rev"] > 0) & (d["status"] != "refunded")
    d["day"] = pd.to_datetime(d["order_date"]).dt.normalize().astype("datetime64[ns]")
    if as_of is None:
        as_of = d["day"].max()
    return d[d["day"] <= as_of]


@pytest.fixture(scope="session")
def make_orders() -> Callable[..., pd.DataFrame]:
    return random_orders


@pytest.fixture(scope="session")
def plain() -> Callable[..., pd.DataFrame]:
    return plain_prepare
