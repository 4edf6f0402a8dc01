"""The per-customer totals of the summary (one sorted key per purchase) agree with a
pandas groupby and with the purchase days the period table reads; rows load the same
from raw orders, prepared orders with sorted codes and prepared orders without them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retention_xl.core import customer_summary, prepare_orders
from retention_xl.core._orderdays import (
    OrderRows,
    days_to_timestamps,
    load_order_days,
    load_order_rows,
    purchase_totals,
)
from retention_xl.core.schema import PreparedOrders


def _rows(seed: int, n: int, customers: int, span: int, start: int = 0) -> OrderRows:
    rng = np.random.default_rng(seed)
    code = rng.integers(0, customers, n).astype(np.int64)
    code[:5] = customers - 1  # the largest keys too
    return OrderRows(
        ids=pd.RangeIndex(customers),  # (only their number is read)
        as_of=start + span,
        code=code,
        day=(start + rng.integers(0, span, n)).astype(np.int64),
        revenue=rng.random(n),
        is_purchase=rng.random(n) < 0.8,
    )


def _groupby_totals(rows: OrderRows) -> pd.DataFrame:
    frame = pd.DataFrame({"code": rows.code, "day": rows.day})[rows.is_purchase]
    grouped = frame.groupby("code")["day"]
    return pd.DataFrame(
        {
            "first_day": grouped.min(),
            "last_day": grouped.max(),
            "orders": grouped.size(),
            "purchase_days": grouped.nunique(),
        }
    )


@pytest.mark.parametrize(
    ("customers", "span", "start"),
    [
        (50, 30, 19_000),  # 32-bit keys
        (30_000, 200_000, -80_000),  # customers x days beyond 32 bits: 64-bit keys
        (2**32 // 800, 800, 19_000),  # 32-bit keys that wrap on the way: still exact
        (1, 1, 0),
    ],
)
def test_purchase_totals_match_a_groupby(customers: int, span: int, start: int) -> None:
    for seed in range(5):
        rows = _rows(seed, 4000, customers, span, start)
        totals = purchase_totals(rows)
        want = _groupby_totals(rows)
        assert totals.code.tolist() == want.index.tolist()
        for column in ("first_day", "last_day", "orders", "purchase_days"):
            got = getattr(totals, column)
            assert got.dtype == np.int64
            assert got.tolist() == want[column].tolist(), column


def test_purchase_totals_without_purchases() -> None:
    rows = _rows(0, 10, 3, 5)
    refunds_only = np.zeros(rows.code.size, dtype=bool)
    none = OrderRows(rows.ids, rows.as_of, rows.code, rows.day, rows.revenue, refunds_only)
    assert purchase_totals(none).code.size == 0
    orders = pd.DataFrame(
        {"customer_id": ["a"], "order_id": ["1"], "order_date": ["2024-01-01"], "amount": [-5.0]}
    )
    assert customer_summary(orders).empty


def test_purchase_totals_agree_with_the_purchase_days(make_orders) -> None:
    """The summary's totals and the period table's (customer, day) pairs, same orders."""
    for seed, as_of in ((11, None), (12, "2022-01-31"), (13, "2021-02-01")):
        orders = make_orders(seed)
        rows = load_order_rows(orders, as_of)
        days = load_order_days(orders, as_of)
        totals = purchase_totals(rows)
        starts = days.customer_starts()
        ends = np.append(starts[1:], days.code.size) - 1
        assert totals.code.tolist() == days.code[starts].tolist()
        assert totals.first_day.tolist() == days.day[starts].tolist()
        assert totals.last_day.tolist() == days.day[ends].tolist()
        assert totals.orders.tolist() == np.add.reduceat(days.orders, starts).tolist()
        assert totals.purchase_days.tolist() == np.diff(np.append(starts, days.code.size)).tolist()


def test_rows_load_alike_with_and_without_customer_codes(make_orders) -> None:
    """Sorted codes kept over every customer, or factorized ids renumbered: same summary."""
    orders = make_orders(21)
    prepared = prepare_orders(orders)
    bare = PreparedOrders(frame=prepared.frame, stats=prepared.stats)  # no customer codes
    for as_of in (None, "2021-06-30"):
        coded = load_order_rows(prepared, as_of)
        factorized = load_order_rows(bare, as_of)
        assert coded.ids[coded.code].tolist() == factorized.ids[factorized.code].tolist()
        assert coded.day.tolist() == factorized.day.tolist()
        want = customer_summary(orders, as_of=as_of)
        pd.testing.assert_frame_equal(customer_summary(bare, as_of=as_of), want, check_exact=True)
        pd.testing.assert_frame_equal(
            customer_summary(prepared, as_of=as_of), want, check_exact=True
        )


def test_days_to_timestamps_matches_datetime_casting() -> None:
    days = np.array([-100_000, -1, 0, 1, 19_783, 100_000], dtype=np.int64)
    want = days.astype("datetime64[D]").astype("datetime64[ns]")
    assert days_to_timestamps(days).tolist() == want.tolist()
    assert days_to_timestamps(days).dtype == np.dtype("datetime64[ns]")


def test_days_before_1970_are_floored() -> None:
    orders = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "order_id": ["1", "2", "3"],
            "order_date": pd.to_datetime(
                ["1969-12-31 23:00", "1969-12-30 01:00", "1970-01-01 00:00"]
            ),
            "amount": [1.0, 2.0, 3.0],
        }
    )
    rows = load_order_rows(orders, None)
    assert sorted(rows.day.tolist()) == [-2, -1, 0]
    summary = customer_summary(orders)
    assert summary.loc["a", "first_order"] == pd.Timestamp("1969-12-30")
    assert summary.loc["a", "last_order"] == pd.Timestamp("1969-12-31")
