"""Validation of the canonical frames."""

import pandas as pd
import pytest

from retention_xl.core.schema import prepare_orders, validate_orders
from retention_xl.errors import InputError


def test_dates_with_and_without_time_in_one_column():
    df = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "order_id": ["1", "2", "3"],
            "order_date": ["2023-03-01", "2023-03-01 18:30", pd.Timestamp("2023-03-02")],
            "amount": [1.0, 2.0, 3.0],
        }
    )
    out = validate_orders(df)
    assert list(out["order_date"]) == [
        pd.Timestamp("2023-03-01"),
        pd.Timestamp("2023-03-01 18:30"),
        pd.Timestamp("2023-03-02"),
    ]


def test_a_non_date_is_named_with_its_position():
    df = pd.DataFrame(
        {"customer_id": ["a"], "order_id": ["1"], "order_date": ["yesterday"], "amount": [1.0]}
    )
    with pytest.raises(InputError, match=r"order_date.*'yesterday'"):
        validate_orders(df)


def test_refund_and_cancel_rule():
    df = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "b"],
            "order_id": ["1", "2", "3", "4", "4"],
            "order_date": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-04"],
            "amount": [10.0, 20.0, 30.0, 40.0, 40.0],
            "refunded": [0.0, 20.0, 5.0, 0.0, 0.0],
            "status": ["paid", "refunded", "paid", "cancelled", "cancelled"],
        }
    )
    p = prepare_orders(df)
    assert p.stats.duplicates_removed == 1
    assert p.stats.cancelled == 1
    assert p.stats.orders == 2  # order 2 fully refunded: not a purchase
    assert p.stats.customers == 1  # b only cancelled: out of every denominator
    assert p.frame["revenue"].sum() == pytest.approx(10.0 + 0.0 + 25.0)
