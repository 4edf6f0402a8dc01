"""The Orders tab's row order: by date, then order id, whether or not the export came
sorted (a sorted export skips the sort)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from retention_xl.datasets import generate_orders
from retention_xl.workbook.data import _in_date_order, normalised_orders


def _by_date_then_id(frame: pd.DataFrame) -> pd.DataFrame:
    keys = sorted(
        range(len(frame)),
        key=lambda i: (frame["order_date"].iloc[i], str(frame["order_id"].iloc[i])),
    )
    return frame.iloc[keys].reset_index(drop=True)


def test_sorted_and_shuffled_exports_give_the_same_tab() -> None:
    orders = generate_orders(n_orders=3_000, seed=3)
    orders["order_id"] = orders["order_id"].astype(str) + "x"  # ids that sort as text
    shuffled = orders.sample(frac=1.0, random_state=1).reset_index(drop=True)
    tab = normalised_orders(orders)
    assert _in_date_order(tab)
    assert not _in_date_order(normalised_orders(shuffled).iloc[::-1])
    pd.testing.assert_frame_equal(normalised_orders(shuffled), tab)
    expected = _by_date_then_id(tab.sample(frac=1.0, random_state=2))
    pd.testing.assert_frame_equal(tab, expected)


def test_same_day_ids_out_of_order_are_sorted() -> None:
    orders = pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3", "c4"],
            "order_id": ["b", "a", "c", "10"],
            "order_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-02", "2024-01-02"]),
            "amount": [1.0, 2.0, 3.0, 4.0],
        }
    )
    assert not _in_date_order(orders)
    tab = normalised_orders(orders)
    assert tab["order_id"].tolist() == ["a", "b", "10", "c"]
    assert tab["amount"].to_numpy().tolist() == [2.0, 1.0, 4.0, 3.0]
    assert _in_date_order(tab)
    later = orders.assign(order_date=orders["order_date"].iloc[::-1].to_numpy())
    assert not _in_date_order(later)
    assert np.all(np.diff(normalised_orders(later)["order_date"].to_numpy()) >= np.timedelta64(0))
