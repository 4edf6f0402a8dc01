"""The sample data and its generator.

Statistical checks derive their expectations from the generating parameters with
closed forms written here (BG/NBD's probability of no repeat purchase, the Gamma-Gamma
mean and variance, binomial shares); tolerances are four standard errors unless said
otherwise. Seeds are fixed, so every check is deterministic.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize
from scipy.special import betaln, gammaln

import retention_xl.datasets as ds
from retention_xl.core.schema import (
    prepare_orders,
    validate_orders,
    validate_subscriptions,
    validate_survey,
)
from retention_xl.datasets.__main__ import main as datasets_main
from retention_xl.datasets.sample import read_sample_csv
from retention_xl.datasets.survey import CSAT_SCORES, NPS_SCORES
from retention_xl.errors import InputError, OutOfRangeError

FLAT_MONTHS = (1.0,) * 12
FLAT_WEEKDAYS = (1.0,) * 7
NO_NOISE = {"refund_rate": 0.0, "cancel_rate": 0.0, "duplicate_rate": 0.0}


@pytest.fixture(scope="module")
def sample() -> ds.Sample:
    return ds.load_sample()


# --- the bundled files ----------------------------------------------------------------


def test_bundled_files_are_a_fresh_generation_byte_for_byte(tmp_path):
    fresh = ds.write_sample(ds.generate_sample(), tmp_path)
    bundled = ds.sample_paths()
    for kind in ("orders", "subscriptions", "survey"):
        assert getattr(fresh, kind).read_bytes() == getattr(bundled, kind).read_bytes(), (
            f"{kind}.csv differs from a fresh generation: run "
            "python -m retention_xl.datasets --out retention_xl/datasets/data"
        )


def test_load_sample_equals_generate_sample(sample):
    fresh = ds.generate_sample(ds.SAMPLE_CUSTOMERS, seed=ds.SAMPLE_SEED)
    for kind in ("orders", "subscriptions", "survey"):
        pd.testing.assert_frame_equal(getattr(sample, kind), getattr(fresh, kind))


def test_load_sample_returns_new_frames_each_time(sample):
    again = ds.load_sample()
    again.orders.loc[0, "amount"] = -1.0
    assert ds.load_sample().orders.loc[0, "amount"] == sample.orders.loc[0, "amount"]


def test_bundled_sample_has_the_documented_size(sample):
    paths = ds.sample_paths()
    total = sum(p.stat().st_size for p in (paths.orders, paths.subscriptions, paths.survey))
    assert total < 1_000_000
    assert sample.orders["customer_id"].nunique() == 3000
    assert 10_000 <= len(sample.orders) <= 15_000
    stats = prepare_orders(sample.orders).stats
    assert stats.duplicates_removed == int(sample.orders["order_id"].duplicated().sum()) > 0
    assert stats.cancelled > 0 and stats.refunds > 0
    assert sample.orders["order_date"].min() >= pd.Timestamp("2023-01-01")
    assert sample.orders["order_date"].max() <= pd.Timestamp("2024-12-31")
    assert sample.subscriptions["customer_id"].nunique() == 800
    assert len(sample.survey) == 1500
    assert set(sample.subscriptions["customer_id"]) <= set(sample.orders["customer_id"])
    assert set(sample.survey["customer_id"]) <= set(sample.orders["customer_id"])
    # subscribers join the club on their first order or later
    first_order = sample.orders.groupby("customer_id")["order_date"].min()
    first_sub = sample.subscriptions.groupby("customer_id")["start_date"].min()
    assert (first_sub >= first_order.reindex(first_sub.index)).all()


def test_frames_are_canonical_and_pass_the_validators_unchanged(sample):
    small = ds.generate_sample(120, seed=5)
    for s in (sample, small):
        pd.testing.assert_frame_equal(validate_orders(s.orders), s.orders)
        pd.testing.assert_frame_equal(validate_subscriptions(s.subscriptions), s.subscriptions)
        pd.testing.assert_frame_equal(validate_survey(s.survey), s.survey)
        assert list(s.orders.columns) == [
            "customer_id",
            "order_id",
            "order_date",
            "amount",
            "refunded",
            "status",
            "currency",
        ]
        assert set(s.orders["currency"]) == {"EUR"}


def test_cli_script_writes_what_generate_sample_makes(tmp_path, capsys):
    assert datasets_main(["--out", str(tmp_path / "out"), "--customers", "60", "--seed", "3"]) == 0
    printed = capsys.readouterr().out.splitlines()
    expected = ds.generate_sample(60, seed=3)
    for kind in ("orders", "subscriptions", "survey"):
        path = tmp_path / "out" / f"{kind}.csv"
        assert str(path) in printed
        pd.testing.assert_frame_equal(read_sample_csv(path, kind), getattr(expected, kind))


def test_cli_script_reports_bad_arguments(tmp_path, capsys):
    assert datasets_main(["--out", str(tmp_path), "--customers", "-3"]) == 2
    assert "n_customers" in capsys.readouterr().err


# --- orders ---------------------------------------------------------------------------


def test_ids_dates_and_order(sample):
    o = sample.orders
    assert o["customer_id"].str.fullmatch(r"C\d{5}").all()
    assert o["order_id"].str.fullmatch(r"\d{6}").all()
    # sorted by date, ids counting up with time; C00001 is the first customer
    assert o["order_date"].is_monotonic_increasing
    assert o["order_id"].astype("int64").is_monotonic_increasing
    first = o.groupby("customer_id")["order_date"].min().sort_index()
    assert first.is_monotonic_increasing
    assert (o["order_date"] == o["order_date"].dt.normalize()).all()
    assert (o["amount"] > 0).all()
    cents = o["amount"] * 100
    assert np.allclose(cents, np.round(cents))


def test_same_seed_same_orders_other_seed_other_orders():
    a = ds.generate_orders(300, seed=11)
    pd.testing.assert_frame_equal(a, ds.generate_orders(300, seed=11))
    assert not a.equals(ds.generate_orders(300, seed=12))


def test_repeat_buyer_share_matches_the_bgnbd_formula():
    # P(no repeat purchase | exposure T weeks) = (alpha / (alpha + T)) ** r under BG/NBD
    # (dropout only follows a repeat purchase). Flat seasonality makes T the calendar time
    # from the first order to the end; without noise every order is a purchase.
    process = ds.BuyTillYouDie()
    o = ds.generate_orders(
        20_000,
        seed=3,
        month_factors=FLAT_MONTHS,
        weekday_factors=FLAT_WEEKDAYS,
        **NO_NOISE,
    )
    per_customer = o.groupby("customer_id").agg(
        first=("order_date", "min"), orders=("order_id", "size")
    )
    end = pd.Timestamp("2025-01-01")
    weeks = ((end - per_customer["first"]).dt.days - 0.5) / 7.0
    p_repeat = 1.0 - (process.alpha / (process.alpha + weeks)) ** process.r
    expected = p_repeat.mean()
    observed = (per_customer["orders"] >= 2).mean()
    se = math.sqrt((p_repeat * (1 - p_repeat)).sum()) / len(p_repeat)
    assert abs(observed - expected) < 4 * se + 0.002
    assert 0.3 < observed < 0.55  # a plausible share for two years of e-commerce


def _bgnbd_negative_log_likelihood(
    log_params: np.ndarray, x: np.ndarray, t_x: np.ndarray, t: np.ndarray
) -> float:
    """BG/NBD likelihood of Fader, Hardie & Lee (2005), eq. 6, written independently.

    L = B(a, b+x)/B(a, b) Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
        + [x > 0] B(a+1, b+x-1)/B(a, b) Γ(r+x) α^r / (Γ(r) (α+t_x)^(r+x))
    """
    r, alpha, a, b = np.exp(log_params)
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    alive = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + t)
    gone = np.where(
        x > 0,
        betaln(a + 1, b + np.maximum(x, 1) - 1) - betaln(a, b) - (r + x) * np.log(alpha + t_x),
        -np.inf,
    )
    return float(-(common + np.logaddexp(alive, gone)).sum())


def test_bgnbd_fit_recovers_the_generating_parameters():
    # Without export noise the orders follow BG/NBD; dating orders to the day merges
    # same-day purchases and blurs times, so allow 30 % (mean dropout: 10 %).
    process = ds.BuyTillYouDie()
    o = ds.generate_orders(12_000, seed=5, **NO_NOISE)
    d = o.groupby("customer_id")["order_date"].agg(["min", "max", "nunique"])
    x = d["nunique"].to_numpy(dtype=float) - 1.0
    t_x = (d["max"] - d["min"]).dt.days.to_numpy() / 7.0
    t = ((pd.Timestamp("2025-01-01") - d["min"]).dt.days.to_numpy() - 0.5) / 7.0
    fit = minimize(
        _bgnbd_negative_log_likelihood,
        np.log([0.5, 1.0, 1.0, 1.0]),
        args=(x, t_x, t),
        method="L-BFGS-B",
    )
    assert fit.success
    r, alpha, a, b = np.exp(fit.x)
    true = (process.r, process.alpha, process.a, process.b)
    for got, want in zip((r, alpha, a, b), true, strict=True):
        assert abs(got - want) / want < 0.30, (got, want)
    assert abs(a / (a + b) - process.a / (process.a + process.b)) < 0.1 * 0.25


def test_first_order_values_follow_gamma_gamma():
    # E[z] = p * gamma / (q - 1); Var[z] = p E[1/nu^2] + p^2 Var[1/nu] with
    # E[1/nu] = gamma / (q - 1), E[1/nu^2] = gamma^2 / ((q - 1)(q - 2)).
    process = ds.BuyTillYouDie()
    p, q, g = process.p, process.q, process.gamma
    mean = p * g / (q - 1)
    m2 = g**2 / ((q - 1) * (q - 2))
    var = p * m2 + p**2 * (m2 - (g / (q - 1)) ** 2)
    o = ds.generate_orders(20_000, seed=4, **NO_NOISE)
    first = o.drop_duplicates("customer_id")["amount"]  # one independent order each
    assert mean == process.mean_order_value == 60.0
    assert abs(first.mean() - mean) < 4 * math.sqrt(var / len(first))
    assert abs(first.var() - var) / var < 0.15


def test_refunds_cancellations_and_duplicates():
    o = ds.generate_orders(n_orders=60_000, seed=8)
    dup = o["order_id"].duplicated()
    unique = o[~dup]
    n = len(unique)

    def close(share, target):
        return abs(share - target) < 4 * math.sqrt(target * (1 - target) / n)

    full = unique["status"] == "refunded"
    partial = (unique["refunded"] > 0) & ~full
    assert close((full | partial).mean(), 0.03)
    assert close((unique["status"] == "cancelled").mean(), 0.01)
    assert (unique.loc[full, "refunded"] == unique.loc[full, "amount"]).all()
    assert (unique.loc[partial, "refunded"] < unique.loc[partial, "amount"]).all()
    assert (unique.loc[partial, "status"] == "paid").all()
    assert (unique.loc[unique["status"] == "cancelled", "refunded"] == 0).all()
    assert 0.25 < partial.sum() / (full | partial).sum() < 0.45  # 35 % partial

    # duplicates are whole repeated rows, and prepare_orders finds every one of them
    assert close(dup.sum() / n, 0.005)
    repeated = o[o["order_id"].isin(o.loc[dup, "order_id"])]
    assert (repeated.groupby("order_id").nunique() == 1).all().all()
    stats = prepare_orders(o).stats
    assert stats.duplicates_removed == int(dup.sum()) > 0
    assert stats.cancelled == int((unique["status"] == "cancelled").sum())


def test_seasonality_peaks_in_november_december_and_dips_in_august(sample):
    o = sample.orders.drop_duplicates("order_id")
    for year in (2023, 2024):
        days = o[o["order_date"].dt.year == year]
        per_day_year = len(days) / (366 if year == 2024 else 365)
        month = days["order_date"].dt.month
        nov_dec = days[month >= 11]
        assert len(nov_dec) / 61 > 1.2 * per_day_year
        assert (month == 8).sum() / 31 < per_day_year


def test_seasonality_follows_the_month_factors_exactly_in_expectation():
    # Customers are acquired with weights month_factor * (1 + trend * time); with no
    # trend and flat weekdays, first orders per day in a month follow its factor.
    factors = (1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3, 1)  # November three times as busy
    o = ds.generate_orders(
        30_000,
        seed=2,
        start="2023-01-01",
        end="2023-12-31",
        month_factors=factors,
        weekday_factors=FLAT_WEEKDAYS,
        acquisition_trend=0.0,
        **NO_NOISE,
    )
    first = o.drop_duplicates("customer_id")["order_date"].dt.month
    share = (first == 11).mean()
    expected = 3 * 30 / (335 + 3 * 30)
    assert abs(share - expected) < 4 * math.sqrt(expected * (1 - expected) / 30_000)


def test_n_orders_targets_the_row_count():
    o = ds.generate_orders(n_orders=100_000, seed=1)
    assert abs(len(o) - 100_000) / 100_000 < 0.10
    assert ds.generate_orders(n_orders=0).empty
    assert len(ds.generate_orders(n_orders=1)) >= 1


@pytest.mark.parametrize("n", [0, 1, 2, 7])
def test_any_size_works(n):
    s = ds.generate_sample(n, seed=9)
    assert s.orders["customer_id"].nunique() == n
    pd.testing.assert_frame_equal(validate_orders(s.orders), s.orders)
    pd.testing.assert_frame_equal(validate_subscriptions(s.subscriptions), s.subscriptions)
    pd.testing.assert_frame_equal(validate_survey(s.survey), s.survey)


def test_zero_rates_give_clean_orders():
    o = ds.generate_orders(500, seed=6, **NO_NOISE)
    assert (o["status"] == "paid").all()
    assert (o["refunded"] == 0).all()
    assert not o["order_id"].duplicated().any()
    stats = prepare_orders(o).stats
    assert (stats.duplicates_removed, stats.cancelled, stats.refunds) == (0, 0, 0)


@pytest.mark.parametrize(
    ("kwargs", "error", "word"),
    [
        ({"n_customers": 10, "n_orders": 10}, InputError, "not both"),
        ({"n_customers": -1}, OutOfRangeError, "n_customers"),
        ({"n_customers": 2.5}, OutOfRangeError, "n_customers"),
        ({"n_customers": 10, "refund_rate": 1.5}, OutOfRangeError, "refund_rate"),
        ({"n_customers": 10, "refund_rate": 0.6, "cancel_rate": 0.6}, OutOfRangeError, "at most"),
        ({"n_customers": 10, "start": "2024-01-01", "end": "2023-01-01"}, OutOfRangeError, "end"),
        ({"n_customers": 10, "start": "not a date"}, InputError, "start"),
        ({"n_customers": 10, "month_factors": (1, 2)}, OutOfRangeError, "month_factors"),
        ({"n_customers": 10, "seed": -1}, InputError, "seed"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, error, word):
    with pytest.raises(error, match=word):
        ds.generate_orders(**kwargs)


def test_bad_process_parameters_raise():
    with pytest.raises(OutOfRangeError, match="alpha"):
        ds.BuyTillYouDie(alpha=0)
    with pytest.raises(OutOfRangeError, match="q"):
        ds.BuyTillYouDie(q=1.0)


# --- subscriptions --------------------------------------------------------------------


def _monthly(frame: pd.DataFrame) -> pd.Series:
    return frame["amount"] / frame["interval"].map({"month": 1.0, "year": 12.0}).astype(float)


def test_subscriptions_have_every_movement(sample):
    s = sample.subscriptions.copy()
    s["monthly"] = _monthly(s)
    s = s.sort_values(["subscription_id", "start_date"])
    nxt = s.groupby("subscription_id").shift(-1)
    changed = nxt["start_date"].notna()
    # a plan change closes one row and opens the next on the same day
    assert (s.loc[changed, "end_date"] == nxt.loc[changed, "start_date"]).all()
    assert (nxt.loc[changed, "monthly"] > s.loc[changed, "monthly"]).any()  # upgrade
    assert (nxt.loc[changed, "monthly"] < s.loc[changed, "monthly"]).any()  # downgrade
    assert (s.loc[changed, "status"] == "active").all()
    cancelled = s["status"] == "canceled"
    assert cancelled.any() and s.loc[cancelled, "end_date"].notna().all()
    assert not (cancelled & changed).any()
    # reactivation: a later subscription of a customer whose earlier one was cancelled
    spans = s.groupby(["customer_id", "subscription_id"]).agg(
        first=("start_date", "min"), last=("end_date", "max")
    )
    spans = spans.reset_index().sort_values(["customer_id", "first"])
    prev_end = spans.groupby("customer_id")["last"].shift(1)
    assert (spans["first"] > prev_end).any()
    assert "year" in set(s["interval"]) and {19.0, 49.0, 490.0} == set(s["amount"])
    assert {"active", "canceled", "trialing", "past_due", "unpaid"} <= set(s["status"])


def test_subscription_rows_are_consistent(sample):
    s = sample.subscriptions
    ongoing = s["end_date"].isna()
    assert (s.loc[~ongoing, "end_date"] > s.loc[~ongoing, "start_date"]).all()
    assert set(s.loc[ongoing, "status"]) <= {"active", "past_due", "unpaid", "trialing"}
    assert (s["start_date"] <= pd.Timestamp("2024-12-31")).all()
    trial = s[s["status"] == "trialing"]
    assert (trial["start_date"] > pd.Timestamp("2024-12-31") - pd.Timedelta(days=15)).all()
    # one ongoing row at most per subscription, and it is the last one
    last = s.sort_values("start_date").groupby("subscription_id").tail(1)
    assert s.loc[ongoing, "subscription_id"].is_unique
    assert set(s.loc[ongoing].index) <= set(last.index)
    assert s["subscription_id"].str.fullmatch(r"S\d{5}").all()


def test_subscriptions_churn_like_their_plans():
    # the first row of a subscription that never changes plan lives a geometric number of
    # billing periods: cancelled after exactly one month with probability churn.
    basic = ds.DEFAULT_PLANS[0]
    s = ds.generate_subscriptions(20_000, seed=2, change_share=0.0, end="2026-12-31")
    rows = s[(s["amount"] == basic.amount) & (s["start_date"] < pd.Timestamp("2026-06-01"))]
    months = (rows["end_date"].dt.year - rows["start_date"].dt.year) * 12 + (
        rows["end_date"].dt.month - rows["start_date"].dt.month
    )
    share_one_month = (months == 1).mean()
    n = len(rows)
    assert abs(share_one_month - basic.churn) < 4 * math.sqrt(basic.churn / n) + 0.005


def test_subscriptions_for_given_customers_and_empty():
    s = ds.generate_subscriptions(customer_ids=["x1", "x2", "x3"], seed=1)
    assert set(s["customer_id"]) <= {"x1", "x2", "x3"}
    assert s["customer_id"].nunique() == 3
    empty = ds.generate_subscriptions(0)
    assert empty.empty
    pd.testing.assert_frame_equal(validate_subscriptions(empty), empty)
    with pytest.raises(InputError, match="repeat"):
        ds.generate_subscriptions(customer_ids=["a", "a"])
    with pytest.raises(OutOfRangeError, match="change_share"):
        ds.generate_subscriptions(10, change_share=2.0)
    joined = ds.generate_subscriptions(
        customer_ids=["a", "b"], joined=["2024-12-01", "2024-12-30"], seed=4
    )
    starts = joined.groupby("customer_id")["start_date"].min()
    assert starts["a"] >= pd.Timestamp("2024-12-01") and starts["b"] >= pd.Timestamp("2024-12-30")
    with pytest.raises(InputError, match="one date per customer"):
        ds.generate_subscriptions(customer_ids=["a", "b"], joined=["2024-01-01"])
    with pytest.raises(OutOfRangeError, match="inside the period"):
        ds.generate_subscriptions(customer_ids=["a"], joined=["2030-01-01"])
    with pytest.raises(InputError, match="not a date"):
        ds.generate_subscriptions(customer_ids=["a"], joined=["soon"])
    with pytest.raises(InputError, match="needs customer_ids"):
        ds.generate_subscriptions(3, joined=["2024-01-01"] * 3)


# --- survey ---------------------------------------------------------------------------


def _expected_nps_and_csat(sample: ds.Sample) -> tuple[float, float, float, float]:
    """Expected NPS and CSAT of the sampled answers from the score tables, with SEs."""
    orders = sample.orders.drop_duplicates("order_id")
    orders = orders[orders["status"] != "cancelled"]
    counts = orders.groupby("customer_id").size()
    nps_mix = {m: np.array(v) / sum(v) for m, v in NPS_SCORES.items()}
    csat_mix = {m: np.array(v) / sum(v) for m, v in CSAT_SCORES.items()}
    # an answer's mood: refunded order -> unhappy, else loyal with 3+ orders. The survey
    # does not keep the order id; refunds strike any order alike, so a surveyed order is
    # refunded with the refund share of the orders that can be surveyed.
    survey = sample.survey
    loyal = counts.reindex(survey["customer_id"]).to_numpy() >= 3
    refund_share = float((orders["refunded"] > 0).mean())
    nps_vals, csat_vals = [], []
    for is_loyal in loyal:
        mood = "loyal" if is_loyal else "regular"
        net = nps_mix[mood][9:].sum() - nps_mix[mood][:7].sum()
        net_u = nps_mix["unhappy"][9:].sum() - nps_mix["unhappy"][:7].sum()
        nps_vals.append((1 - refund_share) * net + refund_share * net_u)
        sat = csat_mix[mood][3:].sum()
        csat_vals.append((1 - refund_share) * sat + refund_share * csat_mix["unhappy"][3:].sum())
    kinds = survey["kind"].to_numpy()
    nps_exp = 100 * float(np.mean(np.array(nps_vals)[kinds == "nps"]))
    csat_exp = float(np.mean(np.array(csat_vals)[kinds == "csat"]))
    n_nps, n_csat = int((kinds == "nps").sum()), int((kinds == "csat").sum())
    return nps_exp, 100 * math.sqrt(1.0 / n_nps), csat_exp, math.sqrt(0.25 / n_csat)


def test_survey_scores_follow_the_tables(sample):
    sv = sample.survey
    nps_scores = sv.loc[sv["kind"] == "nps", "score"]
    csat_scores = sv.loc[sv["kind"] == "csat", "score"]
    nps = 100 * ((nps_scores >= 9).mean() - (nps_scores <= 6).mean())
    csat = (csat_scores >= 4).mean()
    nps_exp, nps_se, csat_exp, csat_se = _expected_nps_and_csat(sample)
    assert abs(nps - nps_exp) < 4 * nps_se
    assert abs(csat - csat_exp) < 4 * csat_se
    assert 20 <= nps <= 40
    assert nps_scores.isin(range(11)).all() and csat_scores.isin(range(1, 6)).all()
    assert 0.6 < len(nps_scores) / len(sv) < 0.8


def test_survey_answers_follow_a_purchase_by_a_week(sample):
    sv = sample.survey
    o = sample.orders
    assert sv["answered_at"].is_monotonic_increasing
    assert sv["answered_at"].max() < pd.Timestamp("2025-01-01")
    hit = sv.assign(key=range(len(sv))).merge(o[["customer_id", "order_date"]], on="customer_id")
    hit_lag = (hit["answered_at"].dt.normalize() - hit["order_date"]).dt.days
    assert hit.assign(ok=hit_lag.between(7, 10)).groupby("key")["ok"].any().all()
    hours = sv["answered_at"].dt.hour
    assert hours.between(8, 21).all()


def test_survey_edge_cases():
    orders = ds.generate_orders(50, seed=1)
    assert len(ds.generate_survey(orders, n_answers=0)) == 0
    few = ds.generate_survey(orders, n_answers=10_000, seed=1)
    eligible = orders.drop_duplicates("order_id")
    eligible = eligible[eligible["status"] != "cancelled"]
    assert len(few) <= len(eligible)
    assert len(ds.generate_survey(orders.iloc[:0])) == 0
    with pytest.raises(InputError, match="order_date"):
        ds.generate_survey(pd.DataFrame({"customer_id": [], "order_id": []}))


# --- the public API -------------------------------------------------------------------


def test_all_is_in_sync():
    assert len(ds.__all__) == len(set(ds.__all__))
    for name in ds.__all__:
        assert hasattr(ds, name), name
    modules = {"histories", "lake", "orders", "sample", "subscriptions", "survey"}
    exported = {n for n in vars(ds) if not n.startswith("_") and n not in modules}
    assert exported == set(ds.__all__)


# ------------------------------------------------------------------ simulate_histories


def test_simulated_histories_are_seeded_and_shaped():
    a = ds.simulate_histories(2000, holdout_days=91, seed=1)
    pd.testing.assert_frame_equal(a, ds.simulate_histories(2000, holdout_days=91, seed=1))
    assert not a.equals(ds.simulate_histories(2000, holdout_days=91, seed=2))
    assert list(a.columns) == [
        "frequency", "recency", "age", "monetary_value", "holdout_purchases", "holdout_value"
    ]  # fmt: skip
    assert a.attrs["holdout"] == 13.0
    repeat = a["frequency"] > 0
    assert (a.loc[~repeat, "recency"] == 0).all() and a.loc[~repeat, "monetary_value"].isna().all()
    assert (a["recency"] <= a["age"]).all() and (a.loc[repeat, "monetary_value"] > 0).all()
    assert ((a["holdout_value"] > 0) == (a["holdout_purchases"] > 0)).all()
    days = a["age"] * 7
    assert (np.abs(days - np.round(days)) < 1e-9).all() and days.min() >= 0 and days.max() <= 730
    whole = ds.simulate_histories(2000, whole_days=True, seed=1)["recency"] * 7
    assert (np.abs(whole - np.round(whole)) < 1e-9).all()


def test_simulated_histories_follow_the_models():
    """Against the models' formulas for new customers, written here: the share without
    a repeat purchase, (alpha / (alpha + T))^r; the holdout purchases, E[X(T + t)] -
    E[X(T)] with E[X(t)] of Fader, Hardie & Lee (2005), eq. 7; the mean spend, p gamma /
    (q - 1); and a maximum-likelihood fit near the truth."""
    from scipy.special import hyp2f1

    process = ds.BuyTillYouDie(r=0.243, alpha=4.414, a=0.793, b=2.426, p=6.25, q=3.74,
                               gamma=15.44)  # fmt: skip
    h = ds.simulate_histories(
        60_000, process=process, min_age_days=189, max_age_days=273, holdout_days=273, seed=9
    )
    r, alpha, a, b = process.r, process.alpha, process.a, process.b
    t = h["age"].to_numpy()
    none = (alpha / (alpha + t)) ** r
    se = math.sqrt((none * (1 - none)).sum()) / len(t)
    assert abs((h["frequency"] == 0).mean() - none.mean()) < 4 * se

    def eq7(w: np.ndarray) -> np.ndarray:
        z = w / (alpha + w)
        return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + w)) ** r * hyp2f1(r, b, a + b - 1, z))

    later = h["holdout_purchases"].to_numpy()
    expected = eq7(t + 39.0) - eq7(t)
    assert abs(later.mean() - expected.mean()) < 4 * later.std() / math.sqrt(len(later))
    spend = h.loc[h["frequency"] > 0, "monetary_value"]
    mean = process.p * process.gamma / (process.q - 1)
    assert abs(spend.mean() - mean) < 4 * spend.std() / math.sqrt(len(spend))
    from retention_xl.core.models import BetaGeo, GammaGamma

    for model, names in (
        (BetaGeo().fit(h["frequency"], h["recency"], h["age"]), ("r", "alpha", "a", "b")),
        (GammaGamma().fit(h["frequency"], h["monetary_value"]), ("p", "q", "gamma")),
    ):
        summary = model.summary
        for name in names:
            truth = getattr(process, name)
            assert abs(summary.loc[name, "coef"] - truth) < 4 * summary.loc[name, "se"], name


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"min_age_days": 10, "max_age_days": 5}, OutOfRangeError, "max_age_days"),
        ({"holdout_days": -1}, OutOfRangeError, "holdout_days"),
        ({"time_unit_days": 0}, OutOfRangeError, "time_unit_days"),
        ({"process": "cdnow"}, InputError, "BuyTillYouDie"),
        ({"seed": -1}, InputError, "seed"),
    ],
)
def test_simulate_histories_refuses_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        ds.simulate_histories(10, **kwargs)
