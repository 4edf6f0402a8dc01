"""The Spark engine (local mode) gives the pandas engine's numbers to 1e-9.

One Spark session (``local[1]``, no UI, the small-data settings of
``lakedata.SPARK_TEST_CONF``) for the module: it is slow to start. Under CI a missing
Java or pyspark fails these tests; elsewhere they skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from lakedata import SPARK_TEST_CONF, edge_orders, spark_problem, write_parquet, write_parts

from retention_xl.datasets import load_sample
from retention_xl.engines.lake import LakeOrders
from retention_xl.engines.pandas_engine import PandasEngine
from retention_xl.engines.scoring import predict_in_batches
from retention_xl.engines.sources import parse_orders_source
from retention_xl.errors import InputError

RTOL = 1e-9

pytestmark = [
    pytest.mark.slow,
    # pyspark's own deprecation warnings (its code, not ours)
    pytest.mark.filterwarnings("ignore::DeprecationWarning:pyspark.*"),
    pytest.mark.filterwarnings("ignore::FutureWarning:pyspark.*"),
]


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    problem = spark_problem()
    if problem is not None:
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(f"Spark is required under CI: {problem}", pytrace=False)
        pytest.skip(problem)
    from retention_xl.engines.spark_engine import spark_session

    session = spark_session("local[1]", **SPARK_TEST_CONF)
    yield session
    session.stop()


@pytest.fixture(scope="module", params=["sample", "edge"])
def engines(spark, request, tmp_path_factory) -> Iterator[tuple[Any, PandasEngine]]:
    from retention_xl.engines.spark_engine import SparkEngine

    folder = tmp_path_factory.mktemp(request.param)
    if request.param == "sample":
        write_parquet(load_sample().orders, folder / "orders.parquet")
    else:
        write_parts(edge_orders(), folder)
    lake = LakeOrders(parse_orders_source(str(folder)))
    engine = SparkEngine(lake, spark)
    pandas = PandasEngine(lake.frame())
    yield engine, pandas
    engine.close()


def test_the_headline_totals_agree(engines):
    got_engine, pandas = engines
    got = got_engine.order_totals(period="M", window_days=365)
    want = pandas.order_totals(period="M", window_days=365)
    assert got.as_of == want.as_of
    assert (got.customers, got.orders, got.repeat_customers) == (
        want.customers,
        want.orders,
        want.repeat_customers,
    )
    assert got.customers > 100
    assert got.revenue == pytest.approx(want.revenue, rel=RTOL)
    assert got.aov == pytest.approx(want.aov, rel=RTOL)
    pd.testing.assert_frame_equal(got.periods, want.periods, rtol=RTOL, check_exact=False)


def test_the_customer_summary_agrees(engines):
    got_engine, pandas = engines
    for as_of in (None, "2023-06-30"):
        got, want = got_engine.customer_summary(as_of=as_of), pandas.customer_summary(as_of=as_of)
        assert len(want) > 100
        pd.testing.assert_frame_equal(got, want, rtol=RTOL, check_exact=False)


@pytest.mark.parametrize("freq", ["M", "Q", "Y"])
def test_the_period_table_agrees(engines, freq):
    got_engine, pandas = engines
    for window, as_of, same in ((1, None, False), (30, "2023-02-14", True),
                                (365, None, True), (800, "2023-02-14", False)):  # fmt: skip
        options = {"freq": freq, "window_days": window, "as_of": as_of,
                   "same_period_churn": same}  # fmt: skip
        got, want = got_engine.period_table(**options), pandas.period_table(**options)
        assert len(want) >= 1
        pd.testing.assert_frame_equal(got, want, rtol=RTOL, check_exact=False, obj=str(options))
    assert got_engine.period_table(as_of="2000-01-01").empty


@pytest.mark.parametrize("period", ["M", "Q", "Y"])
def test_the_cohort_table_agrees(engines, period):
    from retention_xl.core.cohorts import cohort_counts

    got_engine, pandas = engines
    frame = pandas.frame()
    for measure, as_of, max_offset in (("customers", None, None), ("revenue", None, None),
                                       ("revenue", "2023-06-30", 3),
                                       ("customers", "2023-02-14", 30)):  # fmt: skip
        options = {"measure": measure, "period": period, "as_of": as_of, "max_offset": max_offset}
        got, want = got_engine.cohort_counts(**options), cohort_counts(frame, **options)
        assert len(want) >= 1 and want["size"].sum() > 10
        pd.testing.assert_frame_equal(
            got, want, rtol=RTOL, atol=1e-9, check_exact=False, obj=str(options)
        )
    got = got_engine.cohort_counts(period=period, as_of="2000-01-01", max_offset=2)
    pd.testing.assert_frame_equal(got, cohort_counts(frame, period=period, as_of="2000-01-01",
                                                     max_offset=2))  # fmt: skip


def test_the_per_customer_predictions_agree(engines):
    got_engine, pandas = engines
    got_groups, want_groups = got_engine.history_groups(), pandas.history_groups()
    assert got_groups.customers == want_groups.customers
    for name in ("x", "recency", "age", "counts", "spend_x", "spend_m", "spend_counts"):
        np.testing.assert_allclose(
            getattr(got_groups, name), getattr(want_groups, name), rtol=RTOL, err_msg=name
        )
    got_result, got_batches = predict_in_batches(got_engine)
    want_result, want_batches = predict_in_batches(pandas)
    got, want = pd.concat(list(got_batches)), pd.concat(list(want_batches))
    assert len(want) > 100
    pd.testing.assert_frame_equal(got, want, rtol=RTOL, check_exact=False)
    assert got_result.clv_total == pytest.approx(want_result.clv_total, rel=RTOL)


def test_customers_are_scored_in_spark_as_by_the_pandas_engine(engines, tmp_path):
    from retention_xl.engines.scoring import fit_histories, flat_predictions
    from retention_xl.engines.spark_scoring import score_in_spark

    got_engine, pandas = engines
    out = tmp_path / "scores.parquet"
    result = fit_histories(got_engine)
    score_in_spark(got_engine, result, out=out, horizon_days=180.0, margin=0.4)
    want_result, want_batches = predict_in_batches(pandas, horizon_days=180.0, margin=0.4)
    want = flat_predictions(pd.concat(list(want_batches)))
    assert out.is_dir() and [p.name for p in tmp_path.iterdir()] == ["scores.parquet"]
    got = pd.read_parquet(out)
    assert len(want) > 100
    pd.testing.assert_frame_equal(got, want, rtol=RTOL, check_exact=False)
    assert result.customers == want_result.customers
    assert result.at_risk == want_result.at_risk
    assert result.clv_total == pytest.approx(want_result.clv_total, rel=RTOL)
    # CSV: one file on the driver, the same rows
    csv = tmp_path / "scores.csv"
    score_in_spark(got_engine, fit_histories(got_engine), out=csv, horizon_days=180.0, margin=0.4)
    pd.testing.assert_frame_equal(
        pd.read_csv(csv, dtype={"customer_id": str}), want, rtol=RTOL, check_exact=False
    )


def test_a_failed_spark_scoring_leaves_the_previous_scores_as_they_were(engines, tmp_path):
    from retention_xl.engines.scoring import fit_histories
    from retention_xl.engines.spark_scoring import score_in_spark

    got_engine, _ = engines
    out = tmp_path / "scores.parquet"
    out.write_bytes(b"previous scores")
    with pytest.raises(InputError, match=r"horizon.*scores\.parquet was not changed"):
        score_in_spark(got_engine, fit_histories(got_engine), out=out, horizon_days=-5.0)
    assert out.read_bytes() == b"previous scores"
    assert [p.name for p in tmp_path.iterdir()] == ["scores.parquet"]


# -- subscriptions: the SQL of engines/subscription_sql.py, run by Spark ------------------


@pytest.fixture(scope="module", params=["sample", "edge", "random"])
def spark_subs(spark, request) -> Iterator[tuple[Any, pd.DataFrame]]:
    from lakedata import edge_subscriptions, random_subscriptions

    from retention_xl.engines.spark_engine import spark_subscriptions

    frame = {
        "sample": lambda: load_sample().subscriptions,
        "edge": edge_subscriptions,
        "random": lambda: random_subscriptions(2000, seed=5),
    }[request.param]()
    held = spark_subscriptions(spark, frame)
    yield held, frame
    held.close()


def test_spark_monthly_mrr_and_movements_are_the_cores(spark_subs):
    from retention_xl.core import subscriptions as core

    held, frame = spark_subs
    want = core.monthly_mrr(frame)
    assert len(want) > 10
    pd.testing.assert_frame_equal(held.monthly_mrr(), want, rtol=RTOL, check_exact=False)
    moves = core.subscription_movements(frame)
    got = held.movements()
    pd.testing.assert_frame_equal(got, moves, rtol=RTOL, check_exact=False, check_freq=False)
    counts = list(core.MOVEMENT_COLUMNS[7:])
    pd.testing.assert_frame_equal(got[counts], moves[counts], check_freq=False)
    assert moves["reactivation"].sum() > 0 and moves["contraction"].sum() > 0


def test_spark_subscription_kpis_are_the_cores(spark_subs):
    import math

    from retention_xl.core import subscriptions as core

    held, frame = spark_subs
    month = core.headline_month(frame) - pd.DateOffset(months=1)
    for kwargs in ({}, {"month": month, "period_months": 3, "gross_margin": 0.6}):
        got, want = dict(held.kpis(**kwargs)), dict(core.subscription_kpis(frame, **kwargs))
        assert list(got) == list(want)
        for key, value in want.items():
            if isinstance(value, float) and math.isnan(value):
                assert math.isnan(got[key]), key
            elif isinstance(value, float):
                assert got[key] == pytest.approx(value, rel=RTOL, abs=1e-12), key
            else:
                assert got[key] == value, key


@pytest.mark.parametrize(("model", "weeks", "as_of"),
                         [("bgnbd", 26, None), ("pareto_nbd", 13.5, "2024-03-31")])  # fmt: skip
def test_the_holdout_check_agrees(engines, model, weeks, as_of):
    from test_holdout_engines import assert_same_check

    from retention_xl.core.models import holdout_comparison

    got_engine, pandas = engines
    want = holdout_comparison(pandas.frame(), holdout_weeks=weeks, holdout_end=as_of, model=model)
    assert want.actual_total > 0 and len(want.customers) > 100
    assert_same_check(got_engine.holdout(holdout_weeks=weeks, as_of=as_of, model=model), want)


@pytest.mark.parametrize(("period", "as_of"), [("Q", None), ("M", "2024-05-15")])
def test_bgbb_customers_are_scored_in_spark_as_by_the_pandas_engine(engines, tmp_path, period,
                                                                    as_of):  # fmt: skip
    from retention_xl.core.models import predict_customers
    from retention_xl.engines.scoring import fit_histories, flat_predictions
    from retention_xl.engines.spark_scoring import score_in_spark

    got_engine, pandas = engines
    want = predict_customers(pandas.frame(), model="bgbb", period=period, as_of=as_of,
                             margin=0.4, level=None)  # fmt: skip
    result = fit_histories(got_engine, model="bgbb", period=period, as_of=as_of)
    assert result.history_notes == want.history_notes
    out = tmp_path / "scores.parquet"
    score_in_spark(got_engine, result, out=out, margin=0.4)
    got = pd.read_parquet(out)
    assert len(got) == result.customers == result.expected == len(want.customers) > 100
    pd.testing.assert_frame_equal(
        got, flat_predictions(want.customers), rtol=RTOL, check_exact=False
    )
    assert result.at_risk_share == pytest.approx(want.at_risk_share, rel=RTOL)
    for fitted, reference in ((result.transactions, want.transactions),
                              (result.spend, want.spend)):  # fmt: skip
        np.testing.assert_allclose(
            fitted.summary["coef"].to_numpy(), reference.summary["coef"].to_numpy(), rtol=1e-9
        )
