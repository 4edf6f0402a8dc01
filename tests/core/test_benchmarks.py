"""Benchmarks of the source articles (FACTS.md section 2): thresholds, ratings, gaps.

Expected values are read off the article text (article 004, article 001), not from
the module's own tables.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import retention_xl as rx
from retention_xl.core.benchmarks import (
    ACQUISITION_VS_RETENTION_COST,
    BENCHMARKS,
    LEVELS,
    benchmark_table,
    benchmark_target,
    gap_to_target,
    rate_kpi,
)
from retention_xl.errors import InputError

RATINGS = [
    # repeat rate: range 15-30 %, ~22 % average, 30 % excellent
    ("repeat_rate", 0.0, "eu", "below"),
    ("repeat_rate", 0.1499, "eu", "below"),
    ("repeat_rate", 0.15, "eu", "average"),
    ("repeat_rate", 0.20, "eu", "average"),
    ("repeat_rate", 0.22, "eu", "healthy"),
    ("repeat_rate", 0.29, "us", "healthy"),
    ("repeat_rate", 0.30, "eu", "excellent"),
    ("repeat_rate", 0.75, "eu", "excellent"),
    # CLV:CAC: 2.5 average in Europe, ~3 healthy (US/UK), >= 4 target
    ("clv_cac", 1.0, "eu", "below"),
    ("clv_cac", 2.49, "eu", "below"),
    ("clv_cac", 2.5, "eu", "average"),
    ("clv_cac", 2.9, "eu", "average"),
    ("clv_cac", 3.0, "eu", "healthy"),
    ("clv_cac", 3.99, "eu", "healthy"),
    ("clv_cac", 4.0, "eu", "excellent"),
    ("clv_cac", 2.7, "us", "below"),
    ("clv_cac", 2.7, "UK", "below"),
    ("clv_cac", 3.0, "us", "healthy"),
    ("clv_cac", 4.5, "uk", "excellent"),
    # at-risk share: lower is better, ~28 % typical, <= 18 % target
    ("at_risk_share", 0.40, "eu", "below"),
    ("at_risk_share", 0.2801, "eu", "below"),
    ("at_risk_share", 0.28, "eu", "healthy"),
    ("at_risk_share", 0.20, "eu", "healthy"),
    ("at_risk_share", 0.18, "eu", "excellent"),
    ("at_risk_share", 0.05, "us", "excellent"),
]


@pytest.mark.parametrize(("kpi", "value", "market", "expected"), RATINGS)
def test_rate_kpi(kpi, value, market, expected):
    assert rate_kpi(kpi, value, market=market) == expected


TARGETS = [
    ("repeat_rate", "excellent", "eu", 0.30),
    ("repeat_rate", "average", "eu", 0.15),
    ("repeat_rate", "healthy", "us", 0.22),
    ("clv_cac", "excellent", "eu", 4.0),
    ("clv_cac", "healthy", "eu", 3.0),
    ("clv_cac", "average", "eu", 2.5),
    ("clv_cac", "average", "us", 3.0),
    ("at_risk_share", "excellent", "eu", 0.18),
    ("at_risk_share", "healthy", "eu", 0.28),
]


@pytest.mark.parametrize(("kpi", "level", "market", "expected"), TARGETS)
def test_benchmark_target(kpi, level, market, expected):
    assert benchmark_target(kpi, level, market=market) == expected


def test_default_target_is_excellent():
    assert benchmark_target("repeat_rate") == 0.30
    assert benchmark_target(" CLV_CAC ") == 4.0


GAPS = [
    ("repeat_rate", 0.25, None, 0.05),  # 30 % - 25 %
    ("repeat_rate", 0.35, None, -0.05),  # beyond the target
    ("clv_cac", 3.2, None, 0.8),
    ("clv_cac", 3.2, 3.0, -0.2),
    ("at_risk_share", 0.28, None, 0.10),  # lower is better: 28 % - 18 %
    ("at_risk_share", 0.15, None, -0.03),
    ("at_risk_share", 0.30, 0.25, 0.05),
]


@pytest.mark.parametrize(("kpi", "value", "target", "expected"), GAPS)
def test_gap_to_target(kpi, value, target, expected):
    assert gap_to_target(kpi, value, target) == pytest.approx(expected, abs=1e-12)


ERRORS = [
    (rate_kpi, ("churn", 0.2), {}, "kpi_name", "churn"),
    (rate_kpi, ("repeat_rate", "0.2"), {}, "value", "0.2"),
    (rate_kpi, ("repeat_rate", True), {}, "value", True),
    (rate_kpi, ("repeat_rate", math.nan), {}, "value", math.nan),
    (rate_kpi, ("repeat_rate", 0.2), {"market": "asia"}, "market", "asia"),
    (benchmark_target, ("repeat_rate", "great"), {}, "level", "great"),
    (benchmark_target, ("repeat_rate", "below"), {}, "level", "below"),
    (gap_to_target, ("repeat_rate", 0.2, "x"), {}, "target", "x"),
    (gap_to_target, (None, 0.2), {}, "kpi_name", None),
]


@pytest.mark.parametrize(("func", "args", "kwargs", "argument", "bad"), ERRORS)
def test_errors_name_the_argument(func, args, kwargs, argument, bad):
    with pytest.raises(InputError) as info:
        func(*args, **kwargs)
    assert info.value.argument == argument
    assert repr(bad) in str(info.value)


def test_numpy_numbers_are_accepted():
    assert rate_kpi("clv_cac", np.float64(4.2)) == "excellent"
    assert rate_kpi("clv_cac", np.int64(3)) == "healthy"


@settings(deadline=None)  # timing varies on shared CI runners
@given(
    kpi=st.sampled_from(sorted(BENCHMARKS)),
    a=st.floats(-10, 10, allow_nan=False),
    b=st.floats(-10, 10, allow_nan=False),
    market=st.sampled_from(["eu", "us"]),
)
def test_rating_is_monotone_in_the_kpi_direction(kpi, a, b, market):
    lo, hi = sorted((a, b))
    rank_lo = LEVELS.index(rate_kpi(kpi, lo, market=market))
    rank_hi = LEVELS.index(rate_kpi(kpi, hi, market=market))
    if BENCHMARKS[kpi].direction == "higher":
        assert rank_lo <= rank_hi
    else:
        assert rank_lo >= rank_hi


@settings(deadline=None)  # timing varies on shared CI runners
@given(kpi=st.sampled_from(sorted(BENCHMARKS)), value=st.floats(-10, 10, allow_nan=False))
def test_excellent_exactly_when_the_gap_is_closed(kpi, value):
    assert (rate_kpi(kpi, value) == "excellent") == (gap_to_target(kpi, value) <= 0)


def test_every_benchmark_cites_an_article():
    for bench in BENCHMARKS.values():
        assert bench.source == "004"
    assert ACQUISITION_VS_RETENTION_COST.value == 5.0
    assert ACQUISITION_VS_RETENTION_COST.source == "001"


def test_benchmark_table():
    eu = benchmark_table()
    assert list(eu.index) == [
        "repeat_rate",
        "clv_cac",
        "at_risk_share",
        "acquisition_vs_retention_cost",
    ]
    assert eu.loc["repeat_rate", ["average", "healthy", "excellent"]].tolist() == [0.15, 0.22, 0.30]
    assert eu.loc["clv_cac", ["average", "healthy", "excellent"]].tolist() == [2.5, 3.0, 4.0]
    assert eu.loc["at_risk_share", "excellent"] == 0.18
    assert eu.loc["at_risk_share", "direction"] == "lower"
    assert eu.loc["acquisition_vs_retention_cost", "typical"] == 5.0
    assert eu.loc["acquisition_vs_retention_cost", "direction"] == "info"
    assert pd.isna(eu.loc["acquisition_vs_retention_cost", "excellent"])
    assert eu["excellent"].dtype == np.float64
    us = benchmark_table(market="us")
    assert us.loc["clv_cac", "average"] == 3.0
    assert set(eu["source"]) == {"004", "001"}


def test_exported_from_the_package():
    assert rx.rate_kpi is rate_kpi
    assert rx.benchmark_target is benchmark_target
    assert rx.gap_to_target is gap_to_target


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("CLV:CAC", "clv_cac"),
        ("clv / cac", "clv_cac"),
        ("LTV-CAC", "clv_cac"),
        ("Repeat purchase rate", "repeat_rate"),
        ("tasso di ritorno", "repeat_rate"),
        ("at risk", "at_risk_share"),
        (" AT_RISK_SHARE ", "at_risk_share"),
    ],
)
def test_kpi_names_are_forgiving(name, key):
    assert benchmark_target(name) == benchmark_target(key)
    assert rate_kpi(name, 0.25) == rate_kpi(key, 0.25)


@pytest.mark.parametrize(("market", "same_as"), [("Europe", "eu"), ("it", "eu"), ("USA", "us")])
def test_market_aliases(market, same_as):
    assert rate_kpi("clv_cac", 2.7, market=market) == rate_kpi("clv_cac", 2.7, market=same_as)
