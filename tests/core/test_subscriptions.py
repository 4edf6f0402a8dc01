"""Monthly MRR, MRR movements and SaaS KPIs.

Expected values are worked out by hand in the tables below, or by a plain pandas
computation written here (a per-month loop with Timestamp comparisons), independent of
the module's integer month arithmetic and matrix code.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import retention_xl as rx
from retention_xl.core.subscriptions import (
    MOVEMENT_COLUMNS,
    headline_month,
    monthly_mrr,
    mrr_movements,
    subscription_kpis,
    subscription_movements,
)
from retention_xl.errors import InputError, NotEnoughDataError, OutOfRangeError


def _subs(*rows: tuple) -> pd.DataFrame:
    """Rows of (customer, start, end, amount, interval, interval_count, status)."""
    cols = [
        "customer_id",
        "start_date",
        "end_date",
        "amount",
        "interval",
        "interval_count",
        "status",
    ]
    df = pd.DataFrame([r + (None,) * (len(cols) - len(r)) for r in rows], columns=cols)
    df["interval_count"] = df["interval_count"].fillna(1)
    df["status"] = df["status"].fillna("active")
    df.insert(1, "subscription_id", [f"s{i}" for i in range(len(df))])
    return df


# -- normalisation to a monthly amount ------------------------------------------------

NORMALISATION = [
    # amount, interval, interval_count, expected monthly MRR
    (50.0, "month", 1, 50.0),
    (120.0, "year", 1, 10.0),
    (1200.0, "yearly", 1, 100.0),
    (10.0, "week", 1, 10.0 * 52 / 12),
    (1.0, "day", 1, 365 / 12),
    (90.0, "month", 3, 30.0),  # quarterly
    (300.0, "month", 6, 50.0),
    (240.0, "year", 2, 10.0),
    (20.0, "week", 2, 10.0 * 52 / 12),
    (30.0, "Monthly", 1, 30.0),
    (0.0, "month", 1, None),  # free plan: no MRR
]


@pytest.mark.parametrize(("amount", "interval", "count", "expected"), NORMALISATION)
def test_monthly_normalisation(amount, interval, count, expected):
    subs = _subs(("a", "2024-01-01", None, amount, interval, count))
    out = monthly_mrr(subs, end="2024-03-31")
    if expected is None:
        assert out.empty
        return
    assert out["month"].tolist() == list(pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"]))
    np.testing.assert_allclose(out["mrr"], expected, rtol=1e-14)


STATUSES = [
    ("active", True),
    ("past_due", True),  # Stripe keeps past-due subscriptions in MRR
    ("Past Due", True),
    ("trialing", False),
    ("incomplete", False),
    ("incomplete_expired", False),
    ("unpaid", False),  # ... but not unpaid ones
    ("paused", False),
]


@pytest.mark.parametrize(("status", "counted"), STATUSES)
def test_statuses(status, counted):
    subs = _subs(
        ("a", "2024-01-01", None, 40.0, "month", 1, status),
        ("b", "2024-01-01", None, 10.0, "month"),
    )
    out = monthly_mrr(subs, end="2024-01-31")
    expected = {"a": 40.0, "b": 10.0} if counted else {"b": 10.0}
    assert dict(zip(out["customer_id"], out["mrr"], strict=True)) == expected


def test_canceled_counts_until_its_end_date():
    subs = _subs(("a", "2024-01-10", "2024-03-05", 40.0, "month", 1, "cancelled"))
    out = monthly_mrr(subs)
    assert out["month"].dt.strftime("%Y-%m").tolist() == ["2024-01", "2024-02"]


SNAPSHOT = [
    # start, end, months counted (the MRR of a month = what is billed at its end)
    ("2024-01-31", None, ["2024-01", "2024-02", "2024-03"]),  # starts on the last day
    ("2024-01-01", "2024-01-31", []),  # ends before the month ends
    ("2024-01-01", "2024-02-01", ["2024-01"]),  # first unbilled day is Feb 1
    ("2024-01-05", "2024-01-25", []),  # starts and ends in the same month
    ("2024-01-15", "2024-03-15", ["2024-01", "2024-02"]),
    ("2024-02-29", "2024-03-01", ["2024-02"]),
]


@pytest.mark.parametrize(("start", "end", "months"), SNAPSHOT)
def test_end_of_month_snapshot(start, end, months):
    subs = _subs(("a", start, end, 10.0, "month"))
    out = monthly_mrr(subs, start="2024-01-01", end="2024-03-31")
    assert out["month"].dt.strftime("%Y-%m").tolist() == months


def test_items_of_a_customer_add_up_and_range_defaults():
    subs = _subs(
        ("a", "2024-01-01", "2024-03-01", 10.0, "month"),
        ("a", "2024-02-01", None, 120.0, "year"),
        ("b", "2023-12-20", "2024-02-10", 5.0, "week"),
    )
    out = monthly_mrr(subs)
    got = {(c, m.strftime("%Y-%m")): v for c, m, v in out.itertuples(index=False)}
    # default range: from Dec 2023 (earliest start) to Mar 2024 (latest date)
    assert got == pytest.approx(
        {
            ("b", "2023-12"): 5 * 52 / 12,
            ("a", "2024-01"): 10.0,
            ("b", "2024-01"): 5 * 52 / 12,
            ("a", "2024-02"): 20.0,
            ("a", "2024-03"): 10.0,
        }
    )
    assert list(out.columns) == ["customer_id", "month", "mrr"]
    assert out["mrr"].dtype == np.float64
    assert out["month"].dtype == "datetime64[ns]"
    # start / end clip the range
    clipped = monthly_mrr(subs, start="2024-02-15", end=dt.date(2024, 2, 1))
    assert clipped["customer_id"].tolist() == ["a"]
    same = monthly_mrr(subs, start=pd.Period("2024-02", "M"), end=pd.Timestamp("2024-02-29"))
    pd.testing.assert_frame_equal(same, clipped)


SUBSCRIPTION_ERRORS = [
    (("a", "2024-01-01", None, -5.0, "month"), OutOfRangeError, "amount", "-5.0"),
    (("a", "2024-01-01", None, "abc", "month"), InputError, "amount", "'abc'"),
    (("a", "2024-01-01", None, 5.0, "fortnight"), InputError, "interval", "'fortnight'"),
    (("a", "2024-01-01", None, 5.0, "month", 0), OutOfRangeError, "interval_count", ""),
    (("a", "2024-01-01", None, 5.0, "month", 1, "sleeping"), InputError, "status", "'sleeping'"),
    (("a", "2024-01-01", None, 5.0, "month", 1, "canceled"), InputError, "end_date", "'s0'"),
    (("a", "2024-03-01", "2024-01-01", 5.0, "month"), OutOfRangeError, "end_date", ""),
    (("a", "someday", None, 5.0, "month"), InputError, "start_date", "'someday'"),
]


@pytest.mark.parametrize(("row", "error", "argument", "shown"), SUBSCRIPTION_ERRORS)
@pytest.mark.parametrize("func", [monthly_mrr, subscription_kpis, subscription_movements])
def test_subscription_errors(func, row, error, argument, shown):
    with pytest.raises(error) as info:
        func(_subs(row))
    assert info.value.argument == argument
    assert shown in str(info.value)


def test_missing_columns_and_bad_range():
    with pytest.raises(InputError) as info:
        monthly_mrr(pd.DataFrame({"customer_id": ["a"]}))
    assert info.value.argument == "subscriptions"
    subs = _subs(("a", "2024-01-01", None, 5.0, "month"))
    with pytest.raises(OutOfRangeError) as info:
        monthly_mrr(subs, start="2024-05-01", end="2024-03-01")
    assert info.value.argument == "end"
    with pytest.raises(InputError) as info:
        monthly_mrr(subs, end="not a month")
    assert info.value.argument == "end"


# -- movements --------------------------------------------------------------------------

# customer -> MRR per month Jan..Jun (0 = no row)
MOVEMENT_CASE = {
    "a": [10, 15, 15, 0, 0, 20],  # new, expansion, -, churn, -, reactivation
    "b": [0, 30, 20, 20, 25, 0],  # new in Feb, contraction, -, expansion in May, churn
    "c": [5, 5, 5, 5, 5, 5],
    "d": [0, 0, 0, 0, 0, 8],
}
MOVEMENT_EXPECTED = {
    # month: starting, new, expansion, contraction, churn, reactivation, ending, customers
    "2024-01": (0, 15, 0, 0, 0, 0, 15, 2),
    "2024-02": (15, 30, 5, 0, 0, 0, 50, 3),
    "2024-03": (50, 0, 0, 10, 0, 0, 40, 3),
    "2024-04": (40, 0, 0, 0, 15, 0, 25, 2),
    "2024-05": (25, 0, 5, 0, 0, 0, 30, 2),
    "2024-06": (30, 8, 0, 0, 25, 20, 33, 3),
}


def _long(case: dict[str, list[float]], months: list[str]) -> pd.DataFrame:
    rows = [
        (c, pd.Timestamp(m), float(v))
        for c, values in case.items()
        for m, v in zip(months, values, strict=True)
        if v
    ]
    return pd.DataFrame(rows, columns=["customer_id", "month", "mrr"])


def test_movements_by_hand():
    long = _long(MOVEMENT_CASE, list(MOVEMENT_EXPECTED))
    table = mrr_movements(long)
    assert list(table.columns) == list(MOVEMENT_COLUMNS)
    assert table.index.name == "month"
    assert list(table.index.strftime("%Y-%m")) == list(MOVEMENT_EXPECTED)
    got = table[list(MOVEMENT_COLUMNS[:8])].to_numpy()
    np.testing.assert_allclose(got, np.array(list(MOVEMENT_EXPECTED.values()), dtype=float))
    assert table.loc["2024-06-01", "churned_customers"] == 1
    assert table.loc["2024-06-01", "reactivated_customers"] == 1
    assert table.loc["2024-06-01", "new_customers"] == 1
    assert table.loc["2024-04-01", "starting_customers"] == 3


def test_movements_normalise_months_fill_gaps_and_sum_duplicates():
    long = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b"],
            "month": [
                dt.datetime(2024, 1, 17, 13, 5),
                pd.Timestamp("2024-01-31"),
                "2024-04-02",
                pd.Period("2024-04", "M"),
            ],
            "mrr": [10, 5, 15, 7],
        }
    )
    table = mrr_movements(long)
    # Feb and March have no rows but are in the table; a's two January rows add up
    assert list(table.index.strftime("%Y-%m-%d")) == [
        "2024-01-01",
        "2024-02-01",
        "2024-03-01",
        "2024-04-01",
    ]
    assert table["ending_mrr"].tolist() == [15.0, 0.0, 0.0, 22.0]
    assert table["churn"].tolist() == [0.0, 15.0, 0.0, 0.0]
    assert table["reactivation"].tolist() == [0.0, 0.0, 0.0, 15.0]
    assert table["new"].tolist() == [15.0, 0.0, 0.0, 7.0]
    # a later end shows the churn after the last month
    longer = mrr_movements(long, end="2024-05-31")
    assert longer.loc["2024-05-01", "churn"] == 22.0
    shorter = mrr_movements(long, start="2024-04-01")
    assert list(shorter.index.strftime("%Y-%m")) == ["2024-04"]
    assert shorter["new"].tolist() == [7.0]  # months before start still count as history
    assert shorter["reactivation"].tolist() == [15.0]
    later = mrr_movements(long, start="2024-02-01", end="2024-02-28")
    assert later["starting_mrr"].tolist() == [15.0] and later["churn"].tolist() == [15.0]


def test_single_plan_change_is_expansion_not_churn():
    subs = _subs(
        ("a", "2024-01-01", "2024-03-01", 10.0, "month"),
        ("a", "2024-03-01", None, 25.0, "month"),
    )
    table = subscription_movements(subs, end="2024-04-30")
    assert table["churn"].sum() == 0
    assert table.loc["2024-03-01", "expansion"] == 15.0


MOVEMENT_ERRORS = [
    ({"customer_id": ["a"], "month": ["2024-01-01"], "mrr": [-1.0]}, OutOfRangeError, "mrr"),
    ({"customer_id": ["a"], "month": ["2024-01-01"], "mrr": ["ten"]}, InputError, "mrr"),
    ({"customer_id": ["a"], "month": ["2024-01-01"], "mrr": [np.nan]}, InputError, "mrr"),
    ({"customer_id": ["a"], "month": ["2024-01-01"], "mrr": [True]}, InputError, "mrr"),
    ({"customer_id": ["a"], "month": ["январь"], "mrr": [1.0]}, InputError, "month"),
    ({"customer_id": [None], "month": ["2024-01-01"], "mrr": [1.0]}, InputError, "customer_id"),
    ({"customer_id": [" "], "month": ["2024-01-01"], "mrr": [1.0]}, InputError, "customer_id"),
    ({"customer_id": ["a"], "mrr": [1.0]}, InputError, "mrr_long"),
    ({"customer_id": [], "month": [], "mrr": []}, NotEnoughDataError, "mrr_long"),
]


@pytest.mark.parametrize(("data", "error", "argument"), MOVEMENT_ERRORS)
def test_movement_errors(data, error, argument):
    with pytest.raises(error) as info:
        mrr_movements(pd.DataFrame(data))
    assert info.value.argument == argument


def test_movement_input_must_be_a_frame():
    with pytest.raises(InputError) as info:
        mrr_movements([("a", "2024-01-01", 1.0)])
    assert info.value.argument == "mrr_long"


# -- an independent plain-pandas computation on generated subscriptions -----------------


def _generate(seed: int, n_customers: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    base = pd.Timestamp("2022-01-01")
    for c in range(n_customers):
        for k in range(int(rng.integers(1, 4))):
            start = base + pd.Timedelta(days=int(rng.integers(0, 900)))
            end = (
                start + pd.Timedelta(days=int(rng.integers(0, 500)))
                if rng.random() < 0.6
                else pd.NaT
            )
            interval = str(rng.choice(["month", "year", "week", "day"], p=[0.6, 0.2, 0.15, 0.05]))
            status = str(
                rng.choice(
                    ["active", "past_due", "canceled", "trialing", "unpaid"],
                    p=[0.6, 0.1, 0.1, 0.1, 0.1],
                )
            )
            if status == "canceled" and pd.isna(end):
                status = "active"
            rows.append(
                {
                    "customer_id": f"c{c:03d}",
                    "subscription_id": f"c{c:03d}-{k}",
                    "start_date": start,
                    "end_date": end,
                    "amount": float(rng.choice([0.0, 9.0, 19.0, 49.0, 99.0, 490.0])),
                    "interval": interval,
                    "interval_count": int(rng.choice([1, 1, 1, 2, 3])),
                    "status": status,
                }
            )
    return pd.DataFrame(rows)


_FACTOR = {"month": 1.0, "year": 1 / 12, "week": 52 / 12, "day": 365 / 12}


def _plain_monthly_mrr(subs: pd.DataFrame, months: pd.DatetimeIndex) -> pd.DataFrame:
    pieces = []
    paying = subs[subs["status"].isin(["active", "past_due", "canceled"])].copy()
    paying["monthly"] = (
        paying["amount"] * paying["interval"].map(_FACTOR) / paying["interval_count"]
    )
    for m in months:
        next_month = m + pd.offsets.MonthBegin(1)
        live = paying[
            (paying["start_date"] < next_month)
            & (paying["end_date"].isna() | (paying["end_date"] >= next_month))
        ]
        per_customer = live.groupby("customer_id")["monthly"].sum()
        per_customer = per_customer[per_customer > 0]
        pieces.append(
            pd.DataFrame(
                {"customer_id": per_customer.index, "month": m, "mrr": per_customer.to_numpy()}
            )
        )
    return pd.concat(pieces, ignore_index=True)


def _plain_movements(long: pd.DataFrame, months: pd.DatetimeIndex) -> pd.DataFrame:
    by_month = {
        m: dict(zip(g["customer_id"], g["mrr"], strict=True)) for m, g in long.groupby("month")
    }
    seen: set[str] = set()
    prev: dict[str, float] = {}
    out = []
    for m in months:
        cur = by_month.get(m, {})
        row = dict.fromkeys(["new", "expansion", "contraction", "churn", "reactivation"], 0.0)
        for c in set(prev) | set(cur):
            p, q = prev.get(c, 0.0), cur.get(c, 0.0)
            if p == 0 and q > 0:
                row["reactivation" if c in seen else "new"] += q
            elif p > 0 and q == 0:
                row["churn"] += p
            elif q > p:
                row["expansion"] += q - p
            elif q < p:
                row["contraction"] += p - q
        row["starting_mrr"] = sum(prev.values())
        row["ending_mrr"] = sum(cur.values())
        row["customers"] = len(cur)
        out.append(row)
        seen |= set(cur)
        prev = cur
    return pd.DataFrame(out, index=months)[list(MOVEMENT_COLUMNS[:8])]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_monthly_mrr_and_movements_match_plain_pandas(seed):
    subs = _generate(seed)
    dates = pd.concat([subs["start_date"], subs["end_date"].dropna()])
    months = pd.date_range(dates.min().to_period("M").start_time, dates.max(), freq="MS")
    expected = _plain_monthly_mrr(subs, months)
    got = monthly_mrr(subs)
    key = ["month", "customer_id"]
    exp = expected.sort_values(key).reset_index(drop=True)
    assert got[key].astype(str).to_numpy().tolist() == exp[key].astype(str).to_numpy().tolist()
    np.testing.assert_allclose(got["mrr"].to_numpy(), exp["mrr"].to_numpy(), rtol=1e-12)

    expected_moves = _plain_movements(expected, months)
    moves = subscription_movements(subs)
    assert list(moves.index) == list(months)
    np.testing.assert_allclose(
        moves[list(MOVEMENT_COLUMNS[:8])].to_numpy(dtype=float),
        expected_moves.to_numpy(dtype=float),
        rtol=1e-9,
        atol=1e-9,
    )
    # the long frame gives the same movements up to its last month
    from_long = mrr_movements(got, end=months[-1])
    pd.testing.assert_frame_equal(from_long, moves)


def _plain_kpis(subs: pd.DataFrame, month: pd.Timestamp, window: int) -> dict[str, float]:
    dates = pd.concat([subs["start_date"], subs["end_date"].dropna()])
    months = pd.date_range(dates.min().to_period("M").start_time, dates.max(), freq="MS")
    long = _plain_monthly_mrr(subs, months)
    wide = long.pivot_table(index="customer_id", columns="month", values="mrr", aggfunc="sum")
    wide = wide.reindex(columns=months).fillna(0.0)
    now = wide[month]
    before = wide[month - pd.DateOffset(months=window)]
    prev = wide[month - pd.DateOffset(months=1)]
    base = before[before > 0]
    start_customers = (prev > 0).sum()
    churned = ((prev > 0) & (now == 0)).sum()
    return {
        "mrr": now.sum(),
        "customers": (now > 0).sum(),
        "arpa": now.sum() / (now > 0).sum(),
        "nrr": now[base.index].sum() / base.sum(),
        "grr": np.minimum(now[base.index], base).sum() / base.sum(),
        "logo_churn": churned / start_customers,
    }


@pytest.mark.parametrize("seed", [4, 5])
def test_kpis_match_plain_pandas(seed):
    subs = _generate(seed, n_customers=120)
    month = pd.Timestamp("2024-03-01")
    expected = _plain_kpis(subs, month, 12)
    got = subscription_kpis(subs, month="2024-03-15", gross_margin=0.8)
    assert got["month"] == month
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-12), key
    assert got["arr"] == pytest.approx(12 * expected["mrr"])
    assert got["saas_ltv"] == pytest.approx(expected["arpa"] * 0.8 / expected["logo_churn"])
    monthly = _plain_kpis(subs, month, 1)
    assert got["nrr_monthly"] == pytest.approx(monthly["nrr"], rel=1e-12)
    assert got["grr_monthly"] == pytest.approx(monthly["grr"], rel=1e-12)


# -- KPIs by hand -------------------------------------------------------------------------


def _kpi_case() -> pd.DataFrame:
    return _subs(
        # customer, start, end, amount, interval
        ("a", "2023-01-01", None, 100.0, "month"),  # steady
        ("b", "2023-01-01", "2024-01-01", 600.0, "year"),  # 50/month, gone in Jan 2024
        ("c", "2023-01-01", "2023-12-01", 20.0, "month"),  # 20 until Nov 2023
        ("c", "2023-12-01", None, 80.0, "month"),  # ... then 80: expansion of 60 in Dec
        ("d", "2023-06-01", None, 40.0, "month"),  # joins within the year
        ("e", "2024-01-20", None, 30.0, "month"),  # new in Jan 2024
        ("f", "2023-01-01", "2023-03-01", 10.0, "month"),  # left early ...
        ("f", "2024-01-05", None, 10.0, "month"),  # ... and came back in Jan 2024
    )


def test_kpis_by_hand():
    k = subscription_kpis(_kpi_case(), month="2024-01", gross_margin=0.75)
    # January 2024: a 100, c 80, d 40, e 30, f 10
    assert k["month"] == pd.Timestamp("2024-01-01")
    assert k["mrr"] == 260.0 and k["arr"] == 3120.0
    assert k["customers"] == 5 and k["arpa"] == 52.0
    # December 2023: a 100, b 50, c 80, d 40 = 270
    assert k["starting_mrr"] == 270.0 and k["starting_customers"] == 4
    assert (k["new"], k["expansion"], k["contraction"], k["churn"], k["reactivation"]) == (
        30.0,
        0.0,
        0.0,
        50.0,
        10.0,
    )
    assert k["churned_customers"] == 1
    assert k["logo_churn"] == 0.25
    assert k["revenue_churn"] == pytest.approx(50 / 270)
    assert k["nrr_monthly"] == pytest.approx(220 / 270)
    assert k["grr_monthly"] == pytest.approx(220 / 270)
    # 12 months: January 2023 payers a 100, b 50, c 20, f 10 = 180; now a 100, c 80,
    # f 10 (b gone) = 190; GRR caps c at 20: 100 + 20 + 10 = 130
    assert k["period_months"] == 12
    assert k["nrr"] == pytest.approx(190 / 180)
    assert k["grr"] == pytest.approx(130 / 180)
    assert k["quick_ratio"] == pytest.approx((30 + 10) / 50)
    assert k["saas_ltv"] == pytest.approx(52.0 * 0.75 / 0.25)


def test_kpis_defaults_and_windows():
    subs = _kpi_case()
    # default month: the last complete month up to the latest event (a start on
    # 20 January 2024): December 2023
    k = subscription_kpis(subs)
    assert k["month"] == pd.Timestamp("2023-12-01")
    assert subscription_kpis(subs, month="2023-12") == k
    short = subscription_kpis(subs, month="2023-06-30")
    assert math.isnan(short["nrr"]) and math.isnan(short["grr"])  # window before the data
    assert not math.isnan(short["nrr_monthly"])
    three = subscription_kpis(subs, month="2024-01", period_months=3)
    # October 2023 payers: a 100, b 50, c 20, d 40 = 210; now 100 + 80 + 40 = 220
    assert three["nrr"] == pytest.approx(220 / 210)
    assert three["grr"] == pytest.approx(160 / 210)
    later = subscription_kpis(subs, month="2024-06")  # ongoing items continue
    assert later["mrr"] == 260.0
    assert math.isnan(later["quick_ratio"])  # nothing lost: undefined
    assert math.isnan(later["saas_ltv"])  # no churn: undefined
    first = subscription_kpis(subs, month="2023-01")
    assert math.isnan(first["logo_churn"]) and math.isnan(first["nrr_monthly"])


@pytest.mark.parametrize(
    ("kwargs", "error", "argument"),
    [
        ({"gross_margin": 0}, OutOfRangeError, "gross_margin"),
        ({"gross_margin": 75}, OutOfRangeError, "gross_margin"),
        ({"gross_margin": "0.7"}, InputError, "gross_margin"),
        ({"period_months": 0}, OutOfRangeError, "period_months"),
        ({"period_months": 1.5}, OutOfRangeError, "period_months"),
        ({"month": "soon"}, InputError, "month"),
    ],
)
def test_kpi_argument_errors(kwargs, error, argument):
    with pytest.raises(error) as info:
        subscription_kpis(_kpi_case(), **kwargs)
    assert info.value.argument == argument


# -- properties ----------------------------------------------------------------------------

_long_rows = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", "d", "e"]),
        st.integers(0, 14),
        st.one_of(st.just(0.0), st.floats(0.01, 1000, allow_nan=False)),
    ),
    min_size=1,
    max_size=40,
)


@settings(deadline=None)  # timing varies on shared CI runners
@given(_long_rows)
def test_movements_add_up(rows):
    long = pd.DataFrame(
        {
            "customer_id": [c for c, _, _ in rows],
            "month": [pd.Timestamp("2023-01-01") + pd.DateOffset(months=m) for _, m, _ in rows],
            "mrr": [v for _, _, v in rows],
        }
    )
    t = mrr_movements(long)
    moved = t["starting_mrr"] + t["new"] + t["expansion"] - t["contraction"] - t["churn"]
    np.testing.assert_allclose(moved + t["reactivation"], t["ending_mrr"], rtol=1e-9, atol=1e-6)
    np.testing.assert_array_equal(t["starting_mrr"].to_numpy()[1:], t["ending_mrr"].to_numpy()[:-1])
    assert (t[list(MOVEMENT_COLUMNS)] >= 0).all().all()
    assert t["ending_mrr"].sum() == pytest.approx(long["mrr"].sum())
    counts = t["starting_customers"] + t["new_customers"] + t["reactivated_customers"]
    assert (counts - t["churned_customers"] == t["customers"]).all()
    months = t.index
    assert (months.day == 1).all() and months.is_monotonic_increasing
    assert (
        len(months)
        == (months[-1].year - months[0].year) * 12 + months[-1].month - months[0].month + 1
    )


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 24), st.integers(0, 30))
def test_grr_never_exceeds_one_and_nrr_at_least_grr(seed, window, offset):
    subs = _generate(seed, n_customers=15)
    month = pd.Timestamp("2022-06-01") + pd.DateOffset(months=offset)
    k = subscription_kpis(subs, month=month, period_months=window)
    for nrr_key, grr_key in (("nrr", "grr"), ("nrr_monthly", "grr_monthly")):
        if not math.isnan(k[grr_key]):
            assert 0 <= k[grr_key] <= 1
            assert k[nrr_key] >= k[grr_key] - 1e-12
    if not math.isnan(k["revenue_churn"]):
        assert k["grr_monthly"] == pytest.approx(1 - k["revenue_churn"])


def test_exported_from_the_package():
    assert rx.monthly_mrr is monthly_mrr
    assert rx.mrr_movements is mrr_movements
    assert rx.subscription_kpis is subscription_kpis


def test_subscription_movements_start_keeps_history():
    subs = _subs(
        ("a", "2024-01-01", "2024-03-01", 10.0, "month"),
        ("a", "2024-05-01", None, 10.0, "month"),
        ("b", "2024-02-01", None, 12.0, "annual"),
        ("c", "2024-04-01", None, 3.0, "days"),
    )
    table = subscription_movements(subs, start="2024-05-01", end="2024-05-31")
    assert list(table.index.strftime("%Y-%m")) == ["2024-05"]
    assert table["starting_mrr"].tolist() == [pytest.approx(1.0 + 3 * 365 / 12)]
    assert table["reactivation"].tolist() == [10.0] and table["new"].tolist() == [0.0]


def test_a_scheduled_cancellation_does_not_move_the_headline_into_the_future():
    """An annual plan set to cancel at period end (Stripe: Cancel At Period End) has an
    end date a year ahead; the KPIs are for the last complete month of the export."""
    subs = _subs(
        ("a", "2024-03-01", "2026-02-01", 1200.0, "year"),  # renews, cancels Feb 2026
        ("b", "2024-11-10", None, 30.0, "month"),
        ("c", "2025-03-12", None, 50.0, "month"),  # the export was made in March 2025
    )
    k = subscription_kpis(subs)
    assert k["month"] == pd.Timestamp("2025-02-01")
    assert k["mrr"] == 100.0 + 30.0  # a's 1200 a year is 100 a month; c starts in March
    assert headline_month(subs, as_of="2025-03-31") == pd.Timestamp("2025-03-01")
