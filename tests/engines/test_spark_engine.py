"""The Spark engine (local mode) gives the pandas engine's numbers to 1e-9.

One Spark session (``local[1]``, two shuffle partitions, no UI) for the module: it is
slow to start. Under CI a missing Java or pyspark fails these tests; elsewhere they skip.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from lakedata import write_parquet

from retention_xl.datasets import load_sample
from retention_xl.engines.lake import LakeOrders
from retention_xl.engines.pandas_engine import PandasEngine
from retention_xl.engines.scoring import predict_in_batches
from retention_xl.engines.sources import parse_orders_source

RTOL = 1e-9

pytestmark = [
    pytest.mark.slow,
    # pyspark's own deprecation warnings (its code, not ours)
    pytest.mark.filterwarnings("ignore::DeprecationWarning:pyspark.*"),
    pytest.mark.filterwarnings("ignore::FutureWarning:pyspark.*"),
]


def _missing() -> str | None:
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (pip install 'retention-xl[spark]')"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "Java is not installed (Spark needs a JRE)"
    return None


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    problem = _missing()
    if problem is not None:
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(f"Spark is required under CI: {problem}", pytrace=False)
        pytest.skip(problem)
    from retention_xl.engines.spark_engine import spark_session

    session = spark_session("local[1]", **{"spark.sql.shuffle.partitions": "2"})
    yield session
    session.stop()


@pytest.fixture(scope="module")
def engines(spark, tmp_path_factory) -> Iterator[tuple[Any, PandasEngine]]:
    from retention_xl.engines.spark_engine import SparkEngine

    folder = tmp_path_factory.mktemp("sample")
    write_parquet(load_sample().orders, folder / "orders.parquet")
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


def _kpis(run_cli, *extra: str) -> dict:
    res = run_cli("kpis", "--orders", "lake/", "--json", *extra, timeout=180)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_kpis_on_the_command_line_agree_with_pandas(spark, run_cli, tmp_path):
    (tmp_path / "lake").mkdir()
    write_parquet(load_sample().orders, tmp_path / "lake" / "orders.parquet")
    got = _kpis(run_cli, "--engine", "spark", "--spark-master", "local[1]")
    want = _kpis(run_cli, "--engine", "pandas")
    assert got["engine"] == "spark"
    assert len(want["kpis"]) > 5
    assert [r["kpi"] for r in got["kpis"]] == [r["kpi"] for r in want["kpis"]]
    for a, b in zip(got["kpis"], want["kpis"], strict=True):
        if b["value"] is None:
            assert a["value"] is None, a["kpi"]
        else:
            assert a["value"] == pytest.approx(b["value"], rel=RTOL, abs=1e-12), a["kpi"]
    for key in ("as_of", "period_start", "period_end", "currency"):
        assert got[key] == want[key], key


def test_an_unreachable_master_is_one_line_and_exit_code_2(spark, run_cli, tmp_path):
    (tmp_path / "lake").mkdir()
    write_parquet(load_sample().orders, tmp_path / "lake" / "orders.parquet")
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    res = run_cli("kpis", "--orders", "lake/", "--engine", "spark",
                  "--spark-master", f"spark://127.0.0.1:{port}", timeout=120)  # fmt: skip
    assert res.returncode == 2, res.stderr
    assert time.monotonic() - started < 60
    lines = res.stderr.strip().splitlines()
    assert "Traceback" not in res.stderr
    assert "Spark master" in lines[-1] and "--spark-master" in lines[-1]


def test_predict_on_the_command_line_agrees_with_pandas(spark, run_cli, tmp_path):
    (tmp_path / "lake").mkdir()
    write_parquet(load_sample().orders, tmp_path / "lake" / "orders.parquet")
    frames = {}
    for engine in ("spark", "pandas"):
        out = tmp_path / f"{engine}.parquet"
        res = run_cli("predict", "--orders", "lake/", "--engine", engine, "--spark-master",
                      "local[1]", "--out", str(out), "--json", "--no-intervals",
                      timeout=180)  # fmt: skip  (intervals: the pandas engine's only)
        assert res.returncode == 0, res.stderr
        assert json.loads(res.stdout).get("engine", "pandas") == engine
        frames[engine] = pd.read_parquet(out)
    assert len(frames["pandas"]) > 100
    pd.testing.assert_frame_equal(frames["spark"], frames["pandas"], rtol=RTOL, check_exact=False)
