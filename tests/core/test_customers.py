"""customer_summary, rfm_table and segment_summary: hand-computed cases, a plain
pandas cross-check on generated orders, properties and error cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import retention_xl as rx
from retention_xl.core.customers import (
    SEGMENT_ACTIONS,
    SEGMENTS,
    SUMMARY_COLUMNS,
    SegmentRules,
    customer_summary,
    rfm_scores,
    rfm_table,
    segment_summary,
)
from retention_xl.errors import InputError, OutOfRangeError


def orders_frame(rows):
    """rows: (customer, order_id, date, amount[, refunded[, status]])."""
    full = [tuple(r) + (0.0, "paid")[len(r) - 4 :] for r in rows]
    frame = pd.DataFrame(
        full, columns=["customer_id", "order_id", "order_date", "amount", "refunded", "status"]
    )
    frame["order_date"] = pd.to_datetime(frame["order_date"], format="ISO8601")
    return frame


SMALL = orders_frame(
    [
        ("a", "o1", "2024-01-01 09:00", 10.0),
        ("a", "o2", "2024-01-01 18:30", 20.0),
        ("a", "o3", "2024-01-11", 30.0),
        ("a", "o4", "2024-02-10", -5.0),  # refund row: lowers revenue, not a purchase
        ("b", "o5", "2024-01-05", 40.0, 0.0, "refunded"),
        ("b", "o6", "2024-01-20", 50.0, 0.0, "cancelled"),
        ("c", "o7", "2024-01-31", 12.0, 2.0),
        ("c", "o7", "2024-01-31", 99.0, 0.0),  # duplicate export row: ignored
    ]
)


def test_small_case_by_hand():
    s = customer_summary(SMALL)
    assert list(s.columns) == list(SUMMARY_COLUMNS)
    assert list(s.index) == ["a", "c"]  # b has only a refunded and a cancelled order
    a, c = s.loc["a"], s.loc["c"]
    assert a["first_order"] == pd.Timestamp("2024-01-01")
    assert a["last_order"] == pd.Timestamp("2024-01-11")
    assert (a["orders"], a["purchase_days"], a["frequency"]) == (3, 2, 1)
    assert a["revenue"] == pytest.approx(55.0)
    assert a["aov"] == pytest.approx(55.0 / 3)
    # as_of defaults to the last order (2024-02-10, the refund row)
    assert (a["recency_days"], a["age_days"], a["days_since_last"]) == (10, 40, 30)
    assert a["recency_weeks"] == pytest.approx(10 / 7)
    assert a["age_weeks"] == pytest.approx(40 / 7)
    assert (c["orders"], c["frequency"], c["recency_days"], c["age_days"]) == (1, 0, 0, 10)
    assert c["revenue"] == pytest.approx(10.0)


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        # as_of, {customer: (orders, purchase_days, revenue, age_days, days_since_last)}
        ("2024-01-10", {"a": (2, 1, 30.0, 9, 9)}),
        ("2024-01-11 08:00", {"a": (3, 2, 60.0, 10, 0)}),  # whole days: 11th included
        ("2024-01-31", {"a": (3, 2, 60.0, 30, 20), "c": (1, 1, 10.0, 0, 0)}),
        (pd.Timestamp("2024-03-01"), {"a": (3, 2, 55.0, 60, 50), "c": (1, 1, 10.0, 30, 30)}),
        ("2023-12-31", {}),
    ],
)
def test_as_of_cuts_off_later_orders(as_of, expected):
    s = customer_summary(SMALL, as_of=as_of)
    assert set(s.index) == set(expected)
    for cust, (orders, days, revenue, age, since) in expected.items():
        row = s.loc[cust]
        assert (row["orders"], row["purchase_days"]) == (orders, days)
        assert row["revenue"] == pytest.approx(revenue)
        assert (row["age_days"], row["days_since_last"]) == (age, since)
    assert list(s.columns) == list(SUMMARY_COLUMNS)


def test_prepared_orders_give_the_same_summary():
    pd.testing.assert_frame_equal(
        customer_summary(rx.prepare_orders(SMALL)), customer_summary(SMALL)
    )


def expected_summary(orders, plain, as_of=None):
    """customer_summary written independently with plain pandas groupbys."""
    d = plain(orders, None if as_of is None else pd.Timestamp(as_of))
    last_day = d["day"].max() if as_of is None else pd.Timestamp(as_of)
    p = d[d["buy"]]
    g = p.groupby("customer_id")
    out = pd.DataFrame(
        {
            "first_order": g["day"].min(),
            "last_order": g["day"].max(),
            "orders": g.size(),
            "purchase_days": g["day"].nunique(),
        }
    )
    out["revenue"] = d.groupby("customer_id")["rev"].sum().reindex(out.index)
    out["aov"] = out["revenue"] / out["orders"]
    out["frequency"] = out["purchase_days"] - 1
    out["recency_days"] = (out["last_order"] - out["first_order"]).dt.days
    out["age_days"] = (last_day - out["first_order"]).dt.days
    out["recency_weeks"] = out["recency_days"] / 7
    out["age_weeks"] = out["age_days"] / 7
    out["days_since_last"] = (last_day - out["last_order"]).dt.days
    return out


@pytest.mark.parametrize(("seed", "as_of"), [(1, None), (2, "2022-06-15"), (3, "2021-03-01")])
def test_matches_plain_pandas_on_generated_orders(make_orders, plain, seed, as_of):
    orders = make_orders(seed)
    got = customer_summary(orders, as_of=as_of)
    want = expected_summary(orders, plain, as_of)
    assert len(got) > 10
    assert list(got.index) == sorted(want.index)
    want = want.loc[got.index]
    for col in SUMMARY_COLUMNS:
        np.testing.assert_allclose(
            got[col]
            .to_numpy(
                dtype="float64" if col not in ("first_order", "last_order") else "datetime64[ns]"
            )
            .astype("float64"),
            want[col]
            .to_numpy(
                dtype="float64" if col not in ("first_order", "last_order") else "datetime64[ns]"
            )
            .astype("float64"),
            rtol=1e-12,
            err_msg=col,
        )


ROW = st.tuples(
    st.integers(0, 4),  # customer
    st.integers(0, 90),  # day offset
    st.floats(-50, 200, allow_nan=False).map(lambda x: round(x, 2)),
    st.sampled_from(["paid", "paid", "paid", "cancelled", "refunded"]),
)


def hyp_orders(rows):
    return pd.DataFrame(
        {
            "customer_id": [f"k{c}" for c, _, _, _ in rows],
            "order_id": [f"o{i}" for i in range(len(rows))],
            "order_date": [
                pd.Timestamp("2024-01-01") + pd.Timedelta(days=d) for _, d, _, _ in rows
            ],
            "amount": [a for _, _, a, _ in rows],
            "status": [s for _, _, _, s in rows],
        }
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(ROW, min_size=1, max_size=25), st.data())
def test_duplicate_order_ids_are_removed(rows, data):
    orders = hyp_orders(rows)
    picks = data.draw(st.lists(st.integers(0, len(rows) - 1), min_size=1, max_size=5))
    repeats = orders.iloc[picks].copy()
    repeats["amount"] = repeats["amount"] + 1000.0  # a later copy never wins
    doubled = pd.concat([orders, repeats], ignore_index=True)
    pd.testing.assert_frame_equal(
        customer_summary(doubled, as_of="2024-06-30"), customer_summary(orders, as_of="2024-06-30")
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(ROW, min_size=1, max_size=25))
def test_only_customers_with_a_purchase_are_listed(rows):
    orders = hyp_orders(rows)
    buyers = {f"k{c}" for c, _, a, s in rows if s == "paid" and a > 0}
    s = customer_summary(orders, as_of="2024-06-30")
    assert set(s.index) == buyers
    assert (s["orders"] >= 1).all()
    assert (s["frequency"] == s["purchase_days"] - 1).all()
    assert (s["recency_days"] <= s["age_days"]).all()
    assert (s["age_days"] - s["recency_days"] == s["days_since_last"]).all()


# --- RFM scores and segments -------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "higher", "expected"),
    [
        ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], True, [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]),
        ([10, 9, 8, 7, 6, 5, 4, 3, 2, 1], False, [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]),
        ([3, 1, 2], True, [4, 1, 2]),  # 1 + floor(5 * worse / 3)
        ([7], True, [1]),
        ([1, 1, 1, 2, 5], True, [1, 1, 1, 4, 5]),  # ties share the lowest score
        ([5, 5, 5, 5], True, [1, 1, 1, 1]),
        ([2.5, 2.5, 1.0, 9.0], False, [2, 2, 4, 1]),  # lower is better: 9 worst
        ([], True, []),
    ],
)
def test_rfm_scores_table(values, higher, expected):
    got = rfm_scores(np.array(values, dtype=float), higher_is_better=higher)
    assert got.tolist() == expected


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(-5, 5), min_size=1, max_size=40), st.randoms(use_true_random=False))
def test_rfm_scores_do_not_depend_on_row_order(values, rnd):
    arr = np.array(values, dtype=float)
    perm = np.array(rnd.sample(range(arr.size), arr.size))
    got = rfm_scores(arr)
    assert ((got >= 1) & (got <= 5)).all()
    np.testing.assert_array_equal(rfm_scores(arr[perm]), got[perm])
    # monotone: a higher value never scores lower
    order = np.argsort(arr, kind="stable")
    assert (np.diff(got[order]) >= 0).all()


def five_customers():
    rows = []
    spec = {
        "A": (pd.date_range("2024-12-26", "2024-12-30"), 100.0),
        "B": (pd.date_range("2024-02-26", "2024-03-01").delete(2), 25.0),
        "C": (pd.date_range("2024-11-29", "2024-12-01"), 100.0),
        "D": (pd.DatetimeIndex(["2024-02-01"]), 50.0),
        "E": (pd.DatetimeIndex(["2024-10-31", "2024-11-01"]), 100.0),
    }
    for cust, (dates, amount) in spec.items():
        for i, d in enumerate(dates):
            rows.append((cust, f"{cust}{i}", d, amount))
    return orders_frame(rows)


def test_rfm_table_by_hand():
    rfm = rfm_table(five_customers(), as_of="2024-12-31")
    assert list(rfm.columns) == ["recency", "frequency", "monetary", "R", "F", "M", "segment"]
    assert rfm["recency"].to_dict() == {"A": 1, "B": 305, "C": 30, "D": 334, "E": 60}
    assert rfm["frequency"].to_dict() == {"A": 5, "B": 4, "C": 3, "D": 1, "E": 2}
    assert rfm["monetary"].to_dict() == {"A": 500.0, "B": 100.0, "C": 300.0, "D": 50.0, "E": 200.0}
    assert rfm["R"].to_dict() == {"A": 5, "B": 2, "C": 4, "D": 1, "E": 3}
    assert rfm["F"].to_dict() == {"A": 5, "B": 4, "C": 3, "D": 1, "E": 2}
    assert rfm["M"].to_dict() == {"A": 5, "B": 2, "C": 4, "D": 1, "E": 3}
    # A: M5 F5 -> vip; B: R2 F4 -> at_risk; C: F3 recent -> loyal; D, E -> regular
    assert rfm["segment"].astype(str).to_dict() == {
        "A": "vip",
        "B": "at_risk",
        "C": "loyal",
        "D": "regular",
        "E": "regular",
    }


def test_segment_summary_by_hand():
    table = segment_summary(rfm_table(five_customers(), as_of="2024-12-31"))
    assert list(table.index) == list(SEGMENTS)
    assert list(table.columns) == ["customers", "share", "revenue", "revenue_share", "action"]
    assert table["customers"].to_dict() == {
        "new": 0,
        "loyal": 1,
        "vip": 1,
        "at_risk": 1,
        "dormant": 0,
        "regular": 2,
    }
    assert table.loc["regular", "share"] == pytest.approx(0.4)
    assert table.loc["regular", "revenue"] == pytest.approx(250.0)
    assert table.loc["vip", "revenue_share"] == pytest.approx(500 / 1150)
    assert table.loc["new", "revenue"] == 0.0
    assert table["share"].sum() == pytest.approx(1.0)
    assert table["revenue_share"].sum() == pytest.approx(1.0)
    assert table["action"].to_dict() == SEGMENT_ACTIONS


def test_new_and_dormant_segments_and_custom_rules():
    orders = orders_frame(
        [
            ("x", "1", "2022-01-01", 10.0),
            ("x", "2", "2023-06-01", 10.0),  # 579 days before as_of
            ("y", "3", "2024-12-15", 30.0),  # 16 days before as_of, one order
            ("z", "4", "2024-10-01", 30.0),  # one order, 91 days: no longer new
        ]
    )
    seg = rfm_table(orders, as_of="2024-12-31")["segment"].astype(str).to_dict()
    assert seg == {"x": "dormant", "y": "new", "z": "regular"}
    rules = SegmentRules(dormant_days=600, new_days=100)
    seg = rfm_table(orders, as_of="2024-12-31", rules=rules)["segment"].astype(str).to_dict()
    assert seg["x"] != "dormant"
    assert seg["z"] == "new"


def test_segments_follow_the_rules_on_generated_orders(make_orders):
    rfm = rfm_table(make_orders(5), as_of="2023-01-01")
    s = customer_summary(make_orders(5), as_of="2023-01-01")
    r, f, m = rfm["R"], rfm["F"], rfm["M"]
    dormant = rfm["recency"] >= 365
    new = ~dormant & (s["age_days"] < 90) & (s["orders"] <= 1)
    at_risk = ~dormant & ~new & (r <= 2) & (f >= 3)
    vip = ~dormant & ~new & ~at_risk & (m >= 5) & (f >= 4)
    loyal = ~dormant & ~new & ~at_risk & ~vip & (f >= 3)
    expect = pd.Series("regular", index=rfm.index)
    for name, mask in [
        ("dormant", dormant),
        ("new", new),
        ("at_risk", at_risk),
        ("vip", vip),
        ("loyal", loyal),
    ]:
        expect[mask] = name
    pd.testing.assert_series_equal(rfm["segment"].astype(str), expect, check_names=False)
    assert rfm["segment"].nunique() >= 4
    # R/F/M agree with quintiles computed independently with pandas ranks
    worse = (s["revenue"].rank(method="min") - 1).astype(int)
    assert (m == 1 + (5 * worse) // len(s)).all()
    worse_f = (s["orders"].rank(method="min") - 1).astype(int)
    assert (f == 1 + (5 * worse_f) // len(s)).all()
    worse_r = ((-s["days_since_last"]).rank(method="min") - 1).astype(int)  # older is worse
    assert (r == 1 + (5 * worse_r) // len(s)).all()
    assert (rfm["recency"] == s["days_since_last"]).all()
    assert (rfm["frequency"] == s["orders"]).all()
    assert np.allclose(rfm["monetary"], s["revenue"])


def test_segment_summary_matches_a_pandas_groupby(make_orders):
    rfm = rfm_table(make_orders(6), as_of="2023-06-30")
    table = segment_summary(rfm)
    plain = rfm.assign(segment=rfm["segment"].astype(str)).groupby("segment")["monetary"]
    counts, sums = plain.size(), plain.sum()
    for segment in SEGMENTS:
        assert table.loc[segment, "customers"] == counts.get(segment, 0)
        assert table.loc[segment, "revenue"] == pytest.approx(sums.get(segment, 0.0))
        assert table.loc[segment, "share"] == pytest.approx(counts.get(segment, 0) / len(rfm))
        assert table.loc[segment, "revenue_share"] == pytest.approx(
            sums.get(segment, 0.0) / rfm["monetary"].sum()
        )


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"dormant_days": 0}, OutOfRangeError),
        ({"new_days": 400}, OutOfRangeError),  # beyond dormant_days
        ({"vip_min_m": 6}, OutOfRangeError),
        ({"at_risk_max_r": 0}, OutOfRangeError),
        ({"new_days": 30.5}, InputError),
        ({"loyal_min_f": True}, InputError),
    ],
)
def test_segment_rules_are_validated(kwargs, error):
    with pytest.raises(error) as info:
        SegmentRules(**kwargs)
    assert info.value.argument == next(iter(kwargs))


def test_segment_rules_are_frozen():
    rules = SegmentRules()
    with pytest.raises(AttributeError):
        rules.new_days = 10  # type: ignore[misc]


def test_empty_segment_summary_lists_every_segment():
    rfm = rfm_table(SMALL, as_of="2023-01-01")
    table = segment_summary(rfm)
    assert list(table.index) == list(SEGMENTS)
    assert (table["customers"] == 0).all()
    assert table["share"].isna().all()


# --- errors --------------------------------------------------------------------------


def test_missing_column_is_named():
    with pytest.raises(InputError, match="order_date"):
        customer_summary(SMALL.drop(columns=["order_date"]))


@pytest.mark.parametrize(
    ("column", "value"),
    [("amount", "dieci euro"), ("order_date", "31/02/2024"), ("order_date", "domani")],
)
def test_bad_cells_raise_input_error_naming_the_column(column, value):
    bad = SMALL.copy()
    bad[column] = bad[column].astype(object)
    bad.loc[2, column] = value
    for func in (customer_summary, rfm_table):
        with pytest.raises(InputError) as info:
            func(bad)
        assert info.value.argument == column
        assert repr(value) in str(info.value)


@pytest.mark.parametrize("as_of", ["not a date", 20240101, True, [2024]])
def test_bad_as_of(as_of):
    with pytest.raises(InputError) as info:
        customer_summary(SMALL, as_of=as_of)
    assert info.value.argument == "as_of"


def test_bad_rules_and_rfm_arguments():
    with pytest.raises(InputError, match="SegmentRules"):
        rfm_table(SMALL, rules={"new_days": 30})  # type: ignore[arg-type]
    with pytest.raises(InputError, match="monetary"):
        segment_summary(pd.DataFrame({"segment": ["new"]}))
    with pytest.raises(InputError, match="unknown"):
        segment_summary(pd.DataFrame({"segment": ["champions"], "monetary": [1.0]}))
