"""Validation of the canonical frames."""

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

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


# prepare_orders against the documented rule written plainly with pandas, on inputs
# in every order (sorted, reversed, shuffled), with ties on the date, ids of mixed
# length (so "10" sorts before "9"), stray whitespace and messy labels.

_ID = st.sampled_from(
    ["1", "2", "9", "10", "11", "100", " 7", "7", "a b", "Z", "é", "x ", "L" * 70, "L" * 69 + "0"]
)
_ROW = st.tuples(
    st.sampled_from(["c1", " c1", "c2", "c10", "c2 ", "C1", "k" * 80, "k" * 79 + "a"]),
    _ID,
    st.integers(0, 6),
    st.sampled_from([-5.0, 0.0, 10.0, 25.5]),
    st.sampled_from([0.0, 5.0, 10.0]),
    st.sampled_from(["paid", " Paid", "refunded", "CANCELLED", None]),
    st.sampled_from(["eur", " EUR", "usd", None]),
)


def _plain_prepare(df: pd.DataFrame) -> pd.DataFrame:
    d = df.copy()
    d["customer_id"] = d["customer_id"].str.strip()
    d["order_id"] = d["order_id"].str.strip()
    d["status"] = d["status"].str.strip().str.lower().fillna("paid")
    d = d.drop_duplicates("order_id", keep="first")
    d = d[d["status"] != "cancelled"]
    d["revenue"] = d["amount"] - d["refunded"]
    d["is_purchase"] = (d["revenue"] > 0) & (d["status"] != "refunded")
    d = d.sort_values(["order_date", "order_id"], kind="stable")
    return d[["customer_id", "order_id", "order_date", "revenue", "is_purchase"]]


@given(st.lists(_ROW, min_size=1, max_size=40), st.sampled_from(["as is", "sorted", "reversed"]))
def test_prepare_orders_matches_plain_pandas(rows, arrangement):
    df = pd.DataFrame(
        rows,
        columns=["customer_id", "order_id", "day", "amount", "refunded", "status", "currency"],
    )
    df["order_date"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(df.pop("day"), unit="D")
    if arrangement != "as is":
        df = df.sort_values(["order_date", "order_id"], ascending=arrangement == "sorted")
    df = df.astype({"customer_id": "string", "order_id": "string", "status": "string"})
    got = prepare_orders(df)
    want = _plain_prepare(df)
    frame = got.frame
    assert frame["customer_id"].tolist() == want["customer_id"].tolist()
    assert frame["order_id"].tolist() == want["order_id"].tolist()
    assert frame["order_date"].tolist() == want["order_date"].tolist()
    assert frame["revenue"].tolist() == want["revenue"].tolist()
    assert frame["is_purchase"].tolist() == want["is_purchase"].tolist()
    dedup = df["order_id"].str.strip().duplicated()
    assert got.stats.duplicates_removed == int(dedup.sum())
    buyers = want.loc[want["is_purchase"], "customer_id"]
    assert got.stats.customers == buyers.nunique()
    assert got.stats.orders == len(buyers)
    kept = df[~dedup & (df["status"].str.strip().str.lower().fillna("paid") != "cancelled")]
    currencies = kept["currency"].str.strip().str.upper().dropna().unique()
    assert got.stats.currencies == tuple(sorted(currencies))
    if got.customer_codes is not None:
        codes, labels = got.customer_codes
        assert labels[codes].tolist() == frame["customer_id"].tolist()
        assert labels.tolist() == sorted(set(labels.tolist()))
