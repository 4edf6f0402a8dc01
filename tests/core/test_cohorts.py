"""cohort_matrix and cohort_counts: hand-computed tables, a plain pandas cross-check,
properties (offset 0 is 1, unobservable cells NaN, ghosts and duplicates ignored)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import retention_xl as rx
from retention_xl.core.cohorts import cohort_counts, cohort_matrix
from retention_xl.errors import InputError, OutOfRangeError

NAN = np.nan


def orders_frame(rows):
    """rows: (customer, date, amount[, status])."""
    frame = pd.DataFrame(
        [(r[0], r[1], r[2], r[3] if len(r) > 3 else "paid") for r in rows],
        columns=["customer_id", "order_date", "amount", "status"],
    )
    frame.insert(1, "order_id", [f"o{i}" for i in range(len(frame))])
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    return frame


SMALL = orders_frame(
    [
        ("a", "2024-01-05", 100.0),
        ("a", "2024-01-25", 50.0),
        ("a", "2024-03-02", 60.0),
        ("b", "2024-01-31", 50.0),
        ("b", "2024-02-01", 40.0),
        ("b", "2024-02-10", -10.0),  # refund row: lowers February revenue
        ("c", "2024-02-14", 80.0),
        ("c", "2024-03-30", 20.0),
        ("d", "2024-02-20", 30.0, "refunded"),  # never a customer
        ("e", "2024-03-15", 10.0),
    ]
)


def grid(frame):
    return frame.to_numpy(dtype=float).tolist()


def assert_grid(frame, expected):
    np.testing.assert_allclose(np.asarray(grid(frame)), np.asarray(expected, dtype=float))


def test_monthly_customers_by_hand():
    counts = cohort_counts(SMALL, as_of="2024-03-31")
    assert list(counts.index) == ["2024-01", "2024-02", "2024-03"]
    assert counts.index.name == "cohort"
    assert list(counts.columns) == ["size", 0, 1, 2]
    assert_grid(counts, [[2, 2, 1, 1], [1, 1, 1, NAN], [1, 1, NAN, NAN]])
    m = cohort_matrix(SMALL, as_of="2024-03-31")
    assert list(m.columns) == [0, 1, 2]
    assert_grid(m, [[1, 0.5, 0.5], [1, 1, NAN], [1, NAN, NAN]])


def test_monthly_revenue_by_hand():
    counts = cohort_counts(SMALL, measure="revenue", as_of="2024-03-31")
    # Jan cohort (a, b): Jan 100+50+50, Feb 40-10, Mar 60; Feb cohort (c): 80, 20
    assert_grid(counts, [[2, 200, 30, 60], [1, 80, 20, NAN], [1, 10, NAN, NAN]])
    m = cohort_matrix(SMALL, measure="revenue", as_of="2024-03-31")
    assert_grid(m, [[1, 0.15, 0.3], [1, 0.25, NAN], [1, NAN, NAN]])


def test_as_of_and_max_offset():
    m = cohort_matrix(SMALL, as_of="2024-02-29", max_offset=3)
    assert list(m.index) == ["2024-01", "2024-02"]
    assert_grid(m, [[1, 0.5, NAN, NAN], [1, NAN, NAN, NAN]])
    m = cohort_matrix(SMALL, max_offset=0)
    assert_grid(m, [[1], [1], [1]])


def test_quarters_and_years():
    m = cohort_counts(SMALL, period="Q", as_of="2024-06-30")
    assert list(m.index) == ["2024-Q1"]
    assert_grid(m, [[4, 4, 0]])
    orders = orders_frame(
        [("x", "2022-11-30", 5.0), ("x", "2023-01-02", 5.0), ("y", "2023-02-01", 5.0)]
    )
    assert list(cohort_counts(orders, period="Q").index) == ["2022-Q4", "2023-Q1"]
    y = cohort_matrix(orders, period="y")
    assert list(y.index) == ["2022", "2023"]
    assert_grid(y, [[1, 1], [1, NAN]])


def expected_counts(orders, plain, freq, as_of, measure):
    d = plain(orders, None if as_of is None else pd.Timestamp(as_of))
    last = d["day"].max() if as_of is None else pd.Timestamp(as_of)
    d["per"] = d["day"].dt.to_period(freq)
    buys = d[d["buy"]]
    cohort = buys.groupby("customer_id")["per"].min()
    d = d[d["customer_id"].isin(cohort.index)].copy()
    d["cohort"] = d["customer_id"].map(cohort)
    d["offset"] = [(p - c).n for p, c in zip(d["per"], d["cohort"], strict=True)]
    if measure == "customers":
        cells = d[d["buy"]].groupby(["cohort", "offset"])["customer_id"].nunique()
    else:
        cells = d[d["offset"] >= 0].groupby(["cohort", "offset"])["rev"].sum()
    table = cells.unstack(fill_value=0).astype(float)
    last_per = last.to_period(freq)
    table = table.reindex(columns=range(int((last_per - table.index.min()).n) + 1), fill_value=0.0)
    for c in table.index:
        table.loc[c, [k for k in table.columns if k > (last_per - c).n]] = np.nan
    return table, cohort.value_counts().sort_index()


@pytest.mark.parametrize(
    ("seed", "freq", "as_of", "measure"),
    [
        (21, "M", None, "customers"),
        (22, "M", "2022-05-10", "revenue"),
        (23, "Q", None, "revenue"),
        (24, "Q", "2023-02-01", "customers"),
    ],
)
def test_matches_plain_pandas(make_orders, plain, seed, freq, as_of, measure):
    orders = make_orders(seed, 200)
    got = cohort_counts(orders, measure=measure, period=freq, as_of=as_of)
    want, sizes = expected_counts(orders, plain, freq, as_of, measure)
    assert len(got) == len(want) > 3
    np.testing.assert_array_equal(got["size"].to_numpy(), sizes.to_numpy())
    np.testing.assert_allclose(
        got.drop(columns="size").to_numpy(dtype=float), want.to_numpy(), rtol=1e-12, atol=1e-9
    )
    ratio = cohort_matrix(orders, measure=measure, period=freq, as_of=as_of)
    np.testing.assert_allclose(
        ratio.to_numpy(dtype=float), want.div(want[0], axis=0).to_numpy(), rtol=1e-12
    )


ROWS = st.lists(
    st.tuples(
        st.integers(0, 8),
        st.integers(0, 400),
        st.sampled_from([10.0, 25.0, 40.0, -5.0]),
        st.sampled_from(["paid", "paid", "paid", "cancelled", "refunded"]),
    ),
    min_size=1,
    max_size=40,
)


def hyp_orders(rows):
    base = pd.Timestamp("2023-10-15")
    return orders_frame([(f"k{c}", base + pd.Timedelta(days=d), a, s) for c, d, a, s in rows])


@settings(max_examples=60, deadline=None)
@given(ROWS, st.integers(0, 500), st.sampled_from(["M", "Q"]))
def test_cohort_properties(rows, as_of_days, freq):
    orders = hyp_orders(rows)
    as_of = pd.Timestamp("2023-10-15") + pd.Timedelta(days=as_of_days)
    m = cohort_matrix(orders, period=freq, as_of=as_of)
    counts = cohort_counts(orders, period=freq, as_of=as_of)
    if m.empty:
        return
    assert (m[0] == 1.0).all()  # offset 0 is the cohort itself
    values = m.to_numpy(dtype=float)
    assert np.nanmin(values) >= 0 and np.nanmax(values) <= 1
    start = pd.PeriodIndex([pd.Period(str(c).replace("-Q", "Q"), freq) for c in m.index])
    last = as_of.to_period(freq)
    for i, p in enumerate(start):
        seen = (last - p).n
        assert not np.isnan(values[i, : seen + 1]).any()
        assert np.isnan(values[i, seen + 1 :]).all()  # not observable: NaN, not 0
    assert (counts["size"] == counts[0]).all()
    assert counts["size"].sum() == rx.customer_summary(orders, as_of=as_of).shape[0]


@settings(max_examples=30, deadline=None)
@given(ROWS, st.data())
def test_duplicates_and_customers_without_purchases_are_ignored(rows, data):
    orders = hyp_orders(rows)
    picks = data.draw(st.lists(st.integers(0, len(rows) - 1), min_size=1, max_size=5))
    repeats = orders.iloc[picks].copy()
    repeats["amount"] = 999.0
    ghosts = orders_frame([("g", "2023-11-01", 50.0, "cancelled"), ("h", "2023-12-01", -3.0)])
    ghosts["order_id"] = ["g1", "h1"]
    messy = pd.concat([orders, repeats, ghosts], ignore_index=True)
    for measure in ("customers", "revenue"):
        kw = {"measure": measure, "as_of": "2024-12-31"}
        pd.testing.assert_frame_equal(cohort_counts(messy, **kw), cohort_counts(orders, **kw))


def test_empty_and_prepared():
    assert cohort_matrix(SMALL, as_of="2023-01-01").empty
    empty = cohort_counts(SMALL, as_of="2023-01-01")
    assert list(empty.columns) == ["size"] and empty.empty
    prepared = rx.prepare_orders(SMALL)
    pd.testing.assert_frame_equal(cohort_matrix(prepared), cohort_matrix(SMALL))


@pytest.mark.parametrize(
    ("kwargs", "error", "argument"),
    [
        ({"measure": "orders"}, InputError, "measure"),
        ({"period": "W"}, InputError, "period"),
        ({"max_offset": -1}, OutOfRangeError, "max_offset"),
        ({"max_offset": 2.0}, InputError, "max_offset"),
        ({"as_of": "31/02/2024"}, InputError, "as_of"),
    ],
)
def test_bad_arguments(kwargs, error, argument):
    with pytest.raises(error) as info:
        cohort_matrix(SMALL, **kwargs)
    assert info.value.argument == argument


@pytest.mark.parametrize(("column", "value"), [("amount", "n/d"), ("order_date", "ieri")])
def test_bad_cells_name_the_column(column, value):
    bad = SMALL.copy()
    bad[column] = bad[column].astype(object)
    bad.loc[3, column] = value
    with pytest.raises(InputError) as info:
        cohort_counts(bad)
    assert info.value.argument == column
