"""Kaplan-Meier survival and customer lifetimes.

Expected values come from a textbook product-limit computation written in this test,
from lifelines (reference numbers in tests/data/km_lifelines, see its README), from
the empirical survival function, or by hand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import retention_xl as rx
from retention_xl.core.survival import customer_lifetimes, kaplan_meier
from retention_xl.errors import InputError, NotEnoughDataError, OutOfRangeError

# -- Kaplan-Meier by hand ---------------------------------------------------------------

HAND = [
    # durations, ended, expected rows (time, at_risk, events, censored, survival)
    (
        [1, 2, 2, 3, 4],
        [True, True, False, True, False],
        [(1, 5, 1, 0, 0.8), (2, 4, 1, 1, 0.6), (3, 2, 1, 0, 0.3), (4, 1, 0, 1, 0.3)],
    ),
    (  # censored at the same time as events: still at risk then (events first)
        [3, 3, 3, 5],
        [1, 0, 1, 1],
        [(3, 4, 2, 1, 0.5), (5, 1, 1, 0, 0.0)],
    ),
    (  # all censored
        [2.5, 1.0],
        [False, False],
        [(1.0, 2, 0, 1, 1.0), (2.5, 1, 0, 1, 1.0)],
    ),
    (  # events at time 0 (one-time buyers)
        [0, 0, 0, 10],
        [True, True, False, True],
        [(0, 4, 2, 1, 0.5), (10, 1, 1, 0, 0.0)],
    ),
    (  # unsorted input, a pandas Series of flags
        [6, 1, 6, 4],
        pd.Series([True, False, True, True]),
        [(1, 4, 0, 1, 1.0), (4, 3, 1, 0, 2 / 3), (6, 2, 2, 0, 0.0)],
    ),
]


@pytest.mark.parametrize(("durations", "ended", "rows"), HAND)
def test_kaplan_meier_by_hand(durations, ended, rows):
    km = kaplan_meier(durations, ended)
    assert list(km.columns) == ["time", "at_risk", "events", "censored", "survival"]
    expected = np.array(rows, dtype=float)
    np.testing.assert_array_equal(km[["time", "at_risk", "events", "censored"]], expected[:, :4])
    np.testing.assert_allclose(km["survival"], expected[:, 4], rtol=1e-15, atol=1e-15)
    assert km["at_risk"].dtype == np.int64


def _textbook(durations, ended, z):
    """Product-limit estimator and exponential-Greenwood band, written out plainly."""
    d = np.asarray(durations, dtype=float)
    e = np.asarray(ended, dtype=bool)
    s, greenwood, rows = 1.0, 0.0, []
    for t in sorted(set(d.tolist())):
        n = int((d >= t).sum())
        deaths = int(((d == t) & e).sum())
        censored = int(((d == t) & ~e).sum())
        s *= 1 - deaths / n
        if deaths and n > deaths:
            greenwood += deaths / (n * (n - deaths))
        if s == 1:
            lo = hi = 1.0
        elif s == 0:
            lo = hi = 0.0
        else:
            c = np.log(-np.log(s))
            width = z * np.sqrt(greenwood) / abs(np.log(s))
            lo, hi = np.exp(-np.exp(c + width)), np.exp(-np.exp(c - width))
        rows.append((t, n, deaths, censored, s, lo, hi))
    return pd.DataFrame(
        rows, columns=["time", "at_risk", "events", "censored", "survival", "lower", "upper"]
    )


@pytest.mark.parametrize("seed", range(5))
def test_kaplan_meier_matches_a_textbook_computation(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 200))
    durations = rng.integers(0, 30, n).astype(float)
    ended = rng.random(n) < 0.6
    km = kaplan_meier(durations, ended, conf_level=0.90)
    expected = _textbook(durations, ended, z=1.6448536269514722)  # z of a 90 % band
    np.testing.assert_allclose(
        km.to_numpy(dtype=float), expected.to_numpy(dtype=float), rtol=1e-12, atol=1e-14
    )


def _lifelines_cases():
    here = __import__("pathlib").Path(__file__).resolve().parent.parent / "data" / "km_lifelines"
    inputs = pd.read_csv(here / "inputs.csv")
    expected = pd.read_csv(here / "expected.csv")
    return [
        pytest.param(group, expected[expected["dataset"] == name], id=name)
        for name, group in inputs.groupby("dataset", sort=False)
    ]


@pytest.mark.parametrize(("inputs", "expected"), _lifelines_cases())
def test_kaplan_meier_matches_lifelines(inputs, expected):
    km = kaplan_meier(inputs["duration"], inputs["ended"].astype(bool), conf_level=0.95)
    np.testing.assert_allclose(km["time"], expected["time"], rtol=1e-9)
    for col in ("at_risk", "events", "censored"):
        np.testing.assert_array_equal(km[col], expected[col])
    np.testing.assert_allclose(km["survival"], expected["survival"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(km["lower"], expected["lower_95"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(km["upper"], expected["upper_95"], rtol=1e-9, atol=1e-12)


@settings(deadline=None)  # timing varies on shared CI runners
@given(
    st.lists(
        st.tuples(st.integers(0, 50) | st.floats(0, 50, allow_nan=False), st.booleans()),
        min_size=1,
        max_size=80,
    )
)
def test_survival_is_non_increasing_within_0_and_1(rows):
    km = kaplan_meier([d for d, _ in rows], [e for _, e in rows], conf_level=0.95)
    s = km["survival"].to_numpy()
    assert ((s >= 0) & (s <= 1)).all()
    assert (np.diff(s) <= 1e-15).all()
    assert km["events"].sum() + km["censored"].sum() == len(rows)
    assert km["at_risk"].iloc[0] == len(rows)
    assert ((km["lower"] <= s + 1e-12) & (s <= km["upper"] + 1e-12)).all()


@settings(deadline=None)  # timing varies on shared CI runners
@given(st.lists(st.integers(0, 40) | st.floats(0, 40, allow_nan=False), min_size=1, max_size=80))
def test_without_censoring_it_is_the_empirical_survival_function(durations):
    km = kaplan_meier(durations, [True] * len(durations))
    d = np.asarray(durations, dtype=float)
    empirical = [(d > t).mean() for t in km["time"]]
    np.testing.assert_allclose(km["survival"], empirical, atol=1e-12)


KM_ERRORS = [
    (([1, -2], [1, 1]), {}, OutOfRangeError, "durations", "-2"),
    (([1, np.nan], [1, 1]), {}, InputError, "durations", "nan"),
    (([1, "3"], [1, 1]), {}, InputError, "durations", "'3'"),
    (([1, True], [1, 1]), {}, InputError, "durations", "True"),
    ((5, [1]), {}, InputError, "durations", "5"),
    (([1, 2], [1]), {}, InputError, "ended", "1 values"),
    (([1, 2], [1, 2]), {}, InputError, "ended", "2"),
    (([1, 2], [1, "yes"]), {}, InputError, "ended", "'yes'"),
    (([1, 2], "yes"), {}, InputError, "ended", "'yes'"),
    ((np.array([True, False]), [1, 1]), {}, InputError, "durations", "True"),
    ((np.array([3.0, -1.5]), [1, 1]), {}, OutOfRangeError, "durations", "-1.5"),
    ((np.array([3.0, np.inf]), [1, 1]), {}, InputError, "durations", "inf"),
    ((pd.Series([1, 2]), np.array([0, 2])), {}, InputError, "ended", "2"),
    ((np.array([1, 2]), np.array([0.0, 0.5])), {}, InputError, "ended", "0.5"),
    (([], []), {}, NotEnoughDataError, "durations", "empty"),
    (([1, 2], [1, 0]), {"conf_level": 95}, OutOfRangeError, "conf_level", "95"),
    (([1, 2], [1, 0]), {"conf_level": 0}, OutOfRangeError, "conf_level", "0"),
]


@pytest.mark.parametrize(("args", "kwargs", "error", "argument", "shown"), KM_ERRORS)
def test_kaplan_meier_errors(args, kwargs, error, argument, shown):
    with pytest.raises(error) as info:
        kaplan_meier(*args, **kwargs)
    assert info.value.argument == argument
    assert shown in str(info.value)


# -- customer lifetimes -----------------------------------------------------------------


def _orders():
    return pd.DataFrame(
        [
            # customer, order, date, amount, status
            ("a", "1", "2023-01-01", 10.0, "paid"),
            ("a", "2", "2023-03-01 18:30", 20.0, "paid"),
            ("a", "2", "2023-03-01 18:30", 20.0, "paid"),  # duplicate export row
            ("a", "3", "2023-09-01", 20.0, "cancelled"),  # not a purchase
            ("b", "4", "2023-02-01", 5.0, "paid"),
            ("b", "5", "2023-07-31", 5.0, "refunded"),  # not a purchase
            ("c", "6", "2023-06-01", 8.0, "paid"),
            ("c", "7", "2024-01-01", 8.0, "paid"),
            ("d", "8", "2024-02-01", 8.0, "paid"),  # after a custom as_of
        ],
        columns=["customer_id", "order_id", "order_date", "amount", "status"],
    ).assign(order_date=lambda df: pd.to_datetime(df["order_date"], format="mixed"))


def test_customer_lifetimes_by_hand():
    life = customer_lifetimes(_orders(), window_days=180, as_of="2024-01-15")
    assert list(life.index) == ["a", "b", "c"]  # d bought after as_of
    assert life.index.name == "customer_id"
    # a: last purchase 2023-03-01, 320 days before as_of -> ended, 59 days long
    # b: one purchase (the refunded order does not count), 348 days ago -> ended at 0
    # c: last purchase 14 days ago -> active, censored at as_of: 228 days
    assert life["duration_days"].to_dict() == {"a": 59.0, "b": 0.0, "c": 228.0}
    assert life["ended"].to_dict() == {"a": True, "b": True, "c": False}
    assert life["first_purchase"]["c"] == pd.Timestamp("2023-06-01")
    assert life["last_purchase"]["a"] == pd.Timestamp("2023-03-01")  # time of day dropped
    assert life["duration_days"].dtype == np.float64 and life["ended"].dtype == bool


def test_customer_lifetimes_defaults_and_window_boundary():
    life = customer_lifetimes(_orders())  # as_of: the last order date, 2024-02-01
    assert life.loc["d", "duration_days"] == 0.0 and not life.loc["d", "ended"]
    # c: last purchase 2024-01-01 -> active; a: 2023-03-01 -> 337 days, active for 365
    assert not life.loc["a", "ended"]
    assert (
        life.loc["a", "duration_days"]
        == (pd.Timestamp("2024-02-01") - pd.Timestamp("2023-01-01")).days
    )
    # exactly window_days without a purchase: ended
    exact = customer_lifetimes(_orders(), window_days=337, as_of="2024-02-01")
    assert exact.loc["a", "ended"]
    assert not customer_lifetimes(_orders(), window_days=338, as_of="2024-02-01").loc["a", "ended"]


def test_customer_lifetimes_match_plain_pandas_and_feed_kaplan_meier():
    rng = np.random.default_rng(11)
    n = 400
    orders = pd.DataFrame(
        {
            "customer_id": rng.integers(0, 120, n).astype(str),
            "order_id": np.arange(n).astype(str),
            "order_date": pd.Timestamp("2022-01-01")
            + pd.to_timedelta(rng.integers(0, 900, n), "D"),
            "amount": rng.uniform(5, 100, n),
        }
    )
    as_of = pd.Timestamp("2024-03-31")
    life = customer_lifetimes(orders, window_days=200, as_of=as_of)
    g = orders[orders["order_date"] <= as_of].groupby("customer_id")["order_date"]
    first, last = g.min(), g.max()
    ended = (as_of - last).dt.days >= 200
    duration = np.where(ended, (last - first).dt.days, (as_of - first).dt.days)
    assert list(life.index) == sorted(first.index)
    np.testing.assert_array_equal(life["ended"].to_numpy(), ended.to_numpy())
    np.testing.assert_array_equal(life["duration_days"].to_numpy(), duration.astype(float))
    km = kaplan_meier(life["duration_days"], life["ended"])
    assert km["at_risk"].iloc[0] == len(life)


@pytest.mark.parametrize(
    ("kwargs", "error", "argument"),
    [
        ({"window_days": 0}, OutOfRangeError, "window_days"),
        ({"window_days": 30.5}, OutOfRangeError, "window_days"),
        ({"window_days": True}, OutOfRangeError, "window_days"),
        ({"as_of": "yesterday-ish"}, InputError, "as_of"),
        ({"as_of": "2020-01-01"}, NotEnoughDataError, "orders"),
    ],
)
def test_customer_lifetimes_errors(kwargs, error, argument):
    with pytest.raises(error) as info:
        customer_lifetimes(_orders(), **kwargs)
    assert info.value.argument == argument


def test_exported_from_the_package():
    assert rx.kaplan_meier is kaplan_meier
    assert rx.customer_lifetimes is customer_lifetimes
