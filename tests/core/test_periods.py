"""period_table: hand-computed months, quarters and years; a brute-force plain pandas
cross-check of every column; identities as hypothesis properties; error cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import retention_xl as rx
from retention_xl.core.periods import PERIOD_COLUMNS, period_table
from retention_xl.errors import InputError, OutOfRangeError


def orders_frame(rows):
    """rows: (customer, date[, amount[, status]]); order ids are generated."""
    full = [
        (r[0], r[1], r[2] if len(r) > 2 else 10.0, r[3] if len(r) > 3 else "paid") for r in rows
    ]
    frame = pd.DataFrame(full, columns=["customer_id", "order_date", "amount", "status"])
    frame.insert(1, "order_id", [f"o{i}" for i in range(len(frame))])
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    return frame


def cols(table, *names):
    return table[list(names)].to_numpy().tolist()


REACTIVATION = orders_frame(
    [
        ("a", "2024-01-05"),
        ("a", "2024-04-10"),
        ("b", "2024-01-10"),
        ("b", "2024-02-05"),
        ("b", "2024-03-01"),
    ]
)


def test_monthly_case_by_hand_with_a_reactivation():
    t = period_table(REACTIVATION, window_days=30, as_of="2024-04-30")
    assert list(t.columns) == list(PERIOD_COLUMNS)
    assert list(t.index) == list(pd.date_range("2024-01-01", periods=4, freq="MS"))
    assert t.index.name == "period"
    # Feb: a's Jan 5 purchase is older than 30 days on Feb 29, b bought on Feb 5.
    # Mar: b's Mar 1 purchase is exactly 30 days before Mar 31: out of (Mar 1, Mar 31].
    # Apr: a returns (bought before, inactive at the start): reactivated.
    assert cols(
        t, "start_customers", "new", "reactivated", "lost", "retained", "end_customers"
    ) == [
        [0, 2, 0, 0, 0, 2],
        [2, 0, 0, 1, 1, 1],
        [1, 0, 0, 1, 0, 0],
        [0, 0, 1, 0, 0, 1],
    ]
    np.testing.assert_allclose(t["churn"], [np.nan, 0.5, 1.0, np.nan])
    np.testing.assert_allclose(t["crr"], [np.nan, 0.5, 0.0, np.nan])
    assert t["orders"].tolist() == [2, 1, 1, 1]
    assert t["revenue"].tolist() == [20.0, 10.0, 10.0, 10.0]


JOIN_AND_LEAVE = orders_frame([("x", "2024-01-03"), ("y", "2024-01-25")])


@pytest.mark.parametrize(
    ("same", "jan", "jan_churn"),
    [
        # start, new, lost, end: x joins Jan 3 and is inactive on Jan 31 (window 10 days)
        (False, [0, 1, 0, 1], np.nan),  # ChartMogul: x is neither new nor lost
        (True, [0, 2, 1, 1], 0.5),  # Stripe: new and lost; denominator start + new
    ],
)
def test_same_period_churn_option(same, jan, jan_churn):
    t = period_table(JOIN_AND_LEAVE, window_days=10, as_of="2024-02-15", same_period_churn=same)
    assert cols(t, "start_customers", "new", "lost", "end_customers") == [jan, [1, 0, 1, 0]]
    np.testing.assert_allclose(t["churn"], [jan_churn, 1.0])
    assert t["buyers"].tolist() == [2, 0]


def test_yearly_leap_year_first_of_january():
    # 2024 has 366 days: a purchase on Jan 1 is outside (Dec 31 - 365, Dec 31].
    orders = orders_frame([("z", "2024-01-01"), ("w", "2024-06-01"), ("w", "2024-06-02")])
    t = period_table(orders, freq="Y", as_of="2024-12-31")
    assert cols(t, "start_customers", "new", "lost", "end_customers", "repeat_customers") == [
        [0, 1, 0, 1, 1]
    ]
    t = period_table(orders, freq="y", as_of="2024-12-31", same_period_churn=True)
    assert cols(t, "new", "lost", "end_customers") == [[2, 1, 1]]
    assert t["churn"].iloc[0] == 0.5


def test_quarters_partial_last_period_and_refunds():
    orders = orders_frame(
        [
            ("a", "2023-11-15", 100.0),
            ("a", "2024-02-01", 50.0),
            ("a", "2024-02-01", 30.0),  # second order the same day: a repeat customer
            ("b", "2024-01-10", 40.0),
            ("b", "2024-03-05", -15.0),  # refund row in March
            ("c", "2024-04-02", 70.0, "cancelled"),
            ("d", "2024-05-20", 20.0),
        ]
    )
    t = period_table(orders, freq="Q", window_days=90, as_of="2024-05-31")
    assert list(t.index) == [
        pd.Timestamp("2023-10-01"),
        pd.Timestamp("2024-01-01"),
        pd.Timestamp("2024-04-01"),
    ]
    # Q1 2024 ends Mar 31: a (Feb 1) and b (Jan 10) active with a 90-day window.
    # Q2 is read on as_of = May 31: (Mar 2, May 31] holds only d's purchase.
    assert cols(t, "start_customers", "new", "lost", "retained", "end_customers") == [
        [0, 1, 0, 0, 1],
        [1, 1, 0, 1, 2],
        [2, 1, 2, 0, 1],
    ]
    assert t["orders"].tolist() == [1, 3, 1]
    assert t["revenue"].tolist() == [100.0, 105.0, 20.0]
    assert t["aov"].tolist() == [100.0, 35.0, 20.0]
    assert t["repeat_customers"].tolist() == [0, 1, 0]
    assert t["buyers"].tolist() == [1, 2, 1]


def test_article_worked_example_rates():
    # FACTS.md: 50 lost of 1,000 -> 5 %; start 1,000, end 1,000, new 150 -> 85 %.
    rows = [(f"s{i}", "2024-01-15") for i in range(1000)]
    rows += [(f"s{i}", "2024-02-10") for i in range(850)]  # 150 of them lapse
    rows += [(f"n{i}", "2024-02-20") for i in range(150)]  # 150 new customers
    t = period_table(orders_frame(rows), window_days=20, as_of="2024-02-29")
    feb = t.loc["2024-02-01"]
    assert (feb["start_customers"], feb["end_customers"], feb["new"]) == (1000, 1000, 150)
    assert feb["crr"] == pytest.approx(rx.retention_rate(1000, 1000, 150))
    assert feb["churn"] == pytest.approx(rx.churn_rate(1000, 150))


def expected_period_table(orders, plain, freq, window, as_of, same):
    """Every column by brute force over the definitions, one period at a time."""
    d = plain(orders, None if as_of is None else pd.Timestamp(as_of))
    last = d["day"].max() if as_of is None else pd.Timestamp(as_of)
    p = d[d["buy"]]
    first = p.groupby("customer_id")["day"].min()
    one = pd.Timedelta(days=1)

    def active(t):
        return set(
            p.loc[(p["day"] > t - pd.Timedelta(days=window)) & (p["day"] <= t), "customer_id"]
        )

    rows = []
    for per in pd.period_range(d["day"].min(), last, freq=freq):
        s, e = per.start_time.normalize(), per.end_time.normalize()
        v = min(e, last)
        start, end = active(s - one), active(v)
        inside = p[(p["day"] >= s) & (p["day"] <= e)]
        counts = inside.groupby("customer_id").size()
        buyers = set(counts.index)
        new = {c for c in buyers if first[c] >= s}
        back = {c for c in buyers if first[c] < s and c not in start}
        lost = start - end
        if same:
            lost = lost | (new - end) | (back - end)
            denom = len(start) + len(new) + len(back)
        else:
            new, back, denom = new & end, back & end, len(start)
        rev = d.loc[(d["day"] >= s) & (d["day"] <= e), "rev"].sum()
        rows.append(
            {
                "start_customers": len(start),
                "end_customers": len(end),
                "new": len(new),
                "lost": len(lost),
                "retained": len(start & end),
                "reactivated": len(back),
                "orders": len(inside),
                "revenue": rev,
                "aov": rev / len(inside) if len(inside) else np.nan,
                "buyers": len(buyers),
                "repeat_customers": int((counts >= 2).sum()),
                "churn": len(lost) / denom if denom else np.nan,
                # (E - N) / S with N every customer gained, returning ones included
                "crr": len(end - ((new | back) & end)) / len(start) if start else np.nan,
            }
        )
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    ("seed", "freq", "window", "as_of", "same"),
    [
        (11, "M", 365, None, False),
        (12, "M", 60, "2022-08-17", True),
        (13, "Q", 365, None, True),
        (14, "Q", 45, "2023-01-01", False),
        (15, "Y", 200, None, True),
    ],
)
def test_matches_brute_force_on_generated_orders(
    make_orders, plain, seed, freq, window, as_of, same
):
    orders = make_orders(seed, 120)
    got = period_table(orders, freq=freq, window_days=window, as_of=as_of, same_period_churn=same)
    want = expected_period_table(orders, plain, freq, window, as_of, same)
    assert len(got) == len(want) > 1
    for col in PERIOD_COLUMNS:
        np.testing.assert_allclose(
            got[col].to_numpy(dtype=float),
            want[col].to_numpy(dtype=float),
            rtol=1e-12,
            atol=1e-9,
            err_msg=col,
        )
    assert got["lost"].sum() > 0 and got["new"].sum() > 0


ROWS = st.lists(
    st.tuples(
        st.integers(0, 6),
        st.integers(0, 300),
        st.sampled_from([10.0, 10.0, 10.0, -5.0]),
        st.sampled_from(["paid", "paid", "paid", "cancelled", "refunded"]),
    ),
    min_size=1,
    max_size=30,
)


def hyp_orders(rows):
    base = pd.Timestamp("2023-11-20")
    return orders_frame([(f"k{c}", base + pd.Timedelta(days=dd), a, s) for c, dd, a, s in rows])


@settings(max_examples=120, deadline=None)
@given(ROWS, st.integers(1, 150), st.sampled_from(["M", "Q"]), st.booleans())
def test_identities(rows, window, freq, same):
    t = period_table(hyp_orders(rows), freq=freq, window_days=window, same_period_churn=same)
    churn = t["churn"].dropna()
    assert ((churn >= 0) & (churn <= 1)).all()
    assert (
        t["end_customers"] == t["start_customers"] - t["lost"] + t["new"] + t["reactivated"]
    ).all()
    # a period starts where the previous one ended
    assert (t["start_customers"].iloc[1:].to_numpy() == t["end_customers"].iloc[:-1]).all()
    assert (t["start_customers"].iloc[:1] == 0).all()
    assert t["crr"].isna().eq(t["start_customers"] == 0).all()
    if not same:
        assert t["churn"].isna().eq(t["start_customers"] == 0).all()
        with_start = t[t["start_customers"] > 0]
        np.testing.assert_allclose(
            with_start["churn"] + with_start["retained"] / with_start["start_customers"], 1.0
        )
        np.testing.assert_allclose(with_start["crr"], 1.0 - with_start["churn"])
    assert (t["crr"].dropna() <= 1.0).all()  # retention never exceeds 100 %


@settings(max_examples=60, deadline=None)
@given(ROWS, st.integers(1, 120))
def test_customers_without_a_purchase_change_nothing(rows, window):
    orders = hyp_orders(rows)
    ghosts = orders_frame(
        [("ghost1", "2023-12-01", 50.0, "cancelled"), ("ghost2", "2024-01-05", -20.0, "paid")]
    )
    ghosts["order_id"] = ["g1", "g2"]
    with_ghosts = pd.concat([orders, ghosts], ignore_index=True)
    kw = {"window_days": window, "as_of": "2024-12-31"}
    a = period_table(orders, **kw)
    b = period_table(with_ghosts, **kw)
    b = b.loc[a.index] if len(a) else b.iloc[:0]
    counts = [c for c in PERIOD_COLUMNS if c not in ("revenue", "aov")]
    pd.testing.assert_frame_equal(a[counts], b[counts])


@settings(max_examples=60, deadline=None)
@given(ROWS, st.data())
def test_duplicate_order_ids_are_removed(rows, data):
    orders = hyp_orders(rows)
    picks = data.draw(st.lists(st.integers(0, len(rows) - 1), min_size=1, max_size=5))
    repeats = orders.iloc[picks].copy()
    repeats["order_date"] = repeats["order_date"] + pd.Timedelta(days=40)
    doubled = pd.concat([orders, repeats], ignore_index=True)
    kw = {"window_days": 30, "as_of": "2025-01-31"}
    pd.testing.assert_frame_equal(period_table(doubled, **kw), period_table(orders, **kw))


def test_prepared_orders_and_empty_results():
    prepared = rx.prepare_orders(REACTIVATION)
    pd.testing.assert_frame_equal(
        period_table(prepared, window_days=30), period_table(REACTIVATION, window_days=30)
    )
    empty = period_table(REACTIVATION, as_of="2023-06-30")
    assert empty.empty and list(empty.columns) == list(PERIOD_COLUMNS)


@pytest.mark.parametrize(
    ("kwargs", "error", "argument"),
    [
        ({"freq": "W"}, InputError, "freq"),
        ({"freq": 3}, InputError, "freq"),
        ({"window_days": 0}, OutOfRangeError, "window_days"),
        ({"window_days": 30.5}, InputError, "window_days"),
        ({"window_days": "365"}, InputError, "window_days"),
        ({"same_period_churn": "yes"}, InputError, "same_period_churn"),
        ({"as_of": "last tuesday"}, InputError, "as_of"),
    ],
)
def test_bad_arguments(kwargs, error, argument):
    with pytest.raises(error) as info:
        period_table(REACTIVATION, **kwargs)
    assert info.value.argument == argument


@pytest.mark.parametrize(
    ("column", "value"), [("amount", "12,50 EUR"), ("order_date", "2024-13-45"), (None, None)]
)
def test_bad_orders(column, value):
    bad = REACTIVATION.copy()
    if column is None:
        bad = bad.drop(columns=["customer_id"])
        column = "customer_id"
    else:
        bad[column] = bad[column].astype(object)
        bad.loc[1, column] = value
    with pytest.raises(InputError, match=column):
        period_table(bad)


def test_returning_customers_do_not_lift_retention_above_100_percent():
    """Three customers won back and one of two kept: (E - N) / S with the returning
    customers counted as gained gives 50 %, not (4 - 0) / 2 = 200 %."""
    rows = [("a1", "2024-01-15"), ("a2", "2024-01-15")]
    rows += [(f"b{i}", "2023-12-01") for i in range(3)]
    rows += [("a1", "2024-02-20")] + [(f"b{i}", "2024-02-25") for i in range(3)]
    t = period_table(orders_frame(rows), window_days=20, as_of="2024-02-29")
    feb = t.loc["2024-02-01"]
    assert (feb["start_customers"], feb["end_customers"], feb["reactivated"]) == (2, 4, 3)
    assert feb["crr"] == pytest.approx(0.5)
    assert feb["crr"] == pytest.approx(1 - feb["churn"])
