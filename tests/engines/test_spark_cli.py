"""The Spark engine on the command line: kpis, predict and build with --engine spark
give the pandas engine's numbers; an unreachable or silent master is one line.

Every test runs ``retention-xl`` in a subprocess (which starts its own local Spark);
this process only checks that Spark can run here (under CI it must).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from typing import Any

import pandas as pd
import pytest
from lakedata import spark_problem, spark_submit_args, write_parquet

from retention_xl.datasets import load_sample, sample_paths

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::DeprecationWarning:pyspark.*"),
    pytest.mark.filterwarnings("ignore::FutureWarning:pyspark.*"),
]

RTOL = 1e-9


@pytest.fixture
def spark(monkeypatch: pytest.MonkeyPatch) -> None:
    """Spark can run here (pyspark and Java); under CI a missing one fails the tests.

    The commands' JVMs get the tests' small-data settings (``PYSPARK_SUBMIT_ARGS``, read
    by pyspark in the subprocess), as the in-process engine tests do.
    """
    problem = spark_problem()
    if problem is not None:
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(f"Spark is required under CI: {problem}", pytrace=False)
        pytest.skip(problem)
    monkeypatch.setenv("PYSPARK_SUBMIT_ARGS", spark_submit_args())


def _kpis(run_cli, *extra: str) -> dict:
    res = run_cli("kpis", "--orders", "lake/", "--json", *extra, timeout=180)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_kpis_on_the_command_line_agree_with_pandas(spark, run_cli, tmp_path):
    (tmp_path / "lake").mkdir()
    write_parquet(load_sample().orders, tmp_path / "lake" / "orders.parquet")
    subs = ("--subscriptions", str(sample_paths().subscriptions))  # MRR in Spark too
    got = _kpis(run_cli, "--engine", "spark", "--spark-master", "local[1]", *subs)
    want = _kpis(run_cli, "--engine", "pandas", *subs)
    assert got["engine"] == "spark"
    assert len(want["kpis"]) > 5
    assert {"mrr", "nrr", "quick_ratio"} <= {r["kpi"] for r in want["kpis"]}
    assert [r["kpi"] for r in got["kpis"]] == [r["kpi"] for r in want["kpis"]]
    for a, b in zip(got["kpis"], want["kpis"], strict=True):
        if b["value"] is None:
            assert a["value"] is None, a["kpi"]
        else:
            assert a["value"] == pytest.approx(b["value"], rel=RTOL, abs=1e-12), a["kpi"]
    for key in ("as_of", "period_start", "period_end", "currency", "subscription_month"):
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


def test_a_host_that_is_no_spark_master_is_refused_within_seconds(
    spark, run_cli, tmp_path, monkeypatch
):
    """A server that accepts connections and says nothing: Spark alone would wait for
    its answer about a minute (three registration attempts of 20 s). The wait is set to
    2 s here (the default 10 s is spark_engine.REGISTER_TIMEOUT)."""
    monkeypatch.setenv("RETENTION_XL_SPARK_REGISTER_TIMEOUT", "2")
    (tmp_path / "lake").mkdir()
    write_parquet(load_sample().orders, tmp_path / "lake" / "orders.parquet")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    held: list[socket.socket] = []
    done = threading.Event()

    def accept() -> None:
        while not done.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        started = time.monotonic()
        res = run_cli("kpis", "--orders", "lake/", "--engine", "spark", "--spark-master",
                      f"spark://127.0.0.1:{server.getsockname()[1]}", timeout=180)  # fmt: skip
        elapsed = time.monotonic() - started
    finally:
        done.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()
    assert res.returncode == 2, res.stderr
    assert held  # Spark did connect
    assert elapsed < 45  # start-up and 2 s of waiting; not Spark's minute
    assert "Traceback" not in res.stderr
    errors = [line for line in res.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1
    assert "did not register" in errors[0] and "--spark-master" in errors[0]
    assert "within 2 s" in errors[0]


def test_predict_and_its_holdout_check_with_spark_agree_with_pandas(spark, run_cli, tmp_path):
    """Scores (written by Spark as a Parquet dataset folder, replacing last night's) and
    the holdout check equal the pandas engine's (intervals: the pandas engine's only)."""
    (tmp_path / "lake").mkdir()
    write_parquet(load_sample().orders, tmp_path / "lake" / "orders.parquet")
    (tmp_path / "spark.parquet").mkdir()  # last night's scores: replaced
    (tmp_path / "spark.parquet" / "part-00000-old.parquet").write_bytes(b"old")
    outs, frames = {}, {}
    for engine in ("spark", "pandas"):
        out = tmp_path / f"{engine}.parquet"
        res = run_cli("predict", "--orders", "lake/", "--engine", engine, "--spark-master",
                      "local[1]", "--holdout-weeks", "26", "--no-intervals", "--json",
                      "--out", str(out), timeout=180)  # fmt: skip
        assert res.returncode == 0, res.stderr
        printed = json.loads(res.stdout)
        assert printed.get("engine", "pandas") == engine
        outs[engine] = printed["holdout"]
        frames[engine] = pd.read_parquet(out)
    assert (tmp_path / "spark.parquet").is_dir()  # a dataset folder, written by Spark
    assert not (tmp_path / "spark.parquet" / "part-00000-old.parquet").exists()
    assert len(frames["pandas"]) > 100
    # the per-customer holdout columns too (NaN for who first bought in the holdout)
    assert list(frames["pandas"].columns[-2:]) == ["holdout_actual", "holdout_predicted"]
    assert 100 < frames["pandas"]["holdout_actual"].notna().sum() < len(frames["pandas"])
    pd.testing.assert_frame_equal(frames["spark"], frames["pandas"], rtol=RTOL, check_exact=False)
    got, want = outs["spark"], outs["pandas"]
    assert got.keys() == want.keys() and want["actual"] > 100
    for key in ("weeks", "predicted", "actual", "error_share", "tracking_mape"):
        assert got[key] == pytest.approx(want[key], rel=RTOL), key
    assert len(got["by_frequency"]) == len(want["by_frequency"]) == 8
    for a, b in zip(got["by_frequency"], want["by_frequency"], strict=True):
        assert a["customers"] == b["customers"] > 0
        for key in ("actual", "predicted"):
            assert a[key] == pytest.approx(b[key], rel=RTOL), (key, a)


def test_predict_bgbb_with_spark_agrees_with_pandas(spark, run_cli, tmp_path):
    (tmp_path / "lake").mkdir()
    write_parquet(load_sample().orders, tmp_path / "lake" / "orders.parquet")
    frames, outs = {}, {}
    for engine in ("spark", "pandas"):
        out = tmp_path / f"{engine}.parquet"
        res = run_cli("predict", "--orders", "lake/", "--engine", engine, "--spark-master",
                      "local[1]", "--model", "bgbb", "--period", "Q", "--as-of", "2024-11-20",
                      "--out", str(out), "--json", "--no-intervals", timeout=180)  # fmt: skip
        assert res.returncode == 0, res.stderr
        outs[engine] = json.loads(res.stdout)
        frames[engine] = pd.read_parquet(out)
    assert outs["spark"]["engine"] == "spark" and (tmp_path / "spark.parquet").is_dir()
    assert outs["spark"]["period"] == outs["pandas"]["period"]
    assert outs["pandas"]["period"]["last"] == "2024-Q3"
    assert len(frames["pandas"]) == outs["spark"]["customers"] > 100
    pd.testing.assert_frame_equal(frames["spark"], frames["pandas"], rtol=RTOL, check_exact=False)
    for model, params in outs["pandas"]["parameters"].items():
        for name, value in params.items():
            got = outs["spark"]["parameters"][model][name]["value"]
            assert got == pytest.approx(value["value"], rel=RTOL), name


def _numbers(book: Any) -> dict[tuple[str, Any, int], float]:
    """Every numeric cell (cached values of formulas included) of a workbook, by sheet,
    row and column; the rows of ``Segments`` by customer id (customers whose revenue
    ties to the last bits may come in either order: sums of floats in another order)."""
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(book))
    return {
        (name, row[0] if name == "Segments" and r > 3 else r, c): float(value)
        for name in wb.sheet_names
        for r, row in enumerate(wb.get_sheet_by_name(name).to_python())
        for c, value in enumerate(row)
        if isinstance(value, (int, float)) and not isinstance(value, bool)
    }


def test_build_with_the_spark_engine_gives_the_pandas_workbook(spark, run_cli, tmp_path):
    (tmp_path / "lake").mkdir()
    write_parquet(load_sample().orders, tmp_path / "lake" / "orders.parquet")
    outs, books = {}, {}
    for engine in ("spark", "pandas"):
        books[engine] = tmp_path / f"{engine}.xlsx"
        res = run_cli("build", "--orders", "lake/", "--engine", engine, "--spark-master",
                      "local[1]", "--out", str(books[engine]), "--json",
                      timeout=300)  # fmt: skip
        assert res.returncode == 0, res.stderr
        outs[engine] = json.loads(res.stdout)
    got, want = outs["spark"]["kpis"], outs["pandas"]["kpis"]
    assert [r["kpi"] for r in got] == [r["kpi"] for r in want] and len(want) > 5
    for a, b in zip(got, want, strict=True):
        if b["value"] is None:
            assert a["value"] is None, a["kpi"]
        else:
            assert a["value"] == pytest.approx(b["value"], rel=RTOL, abs=1e-12), a["kpi"]
    # every number of the workbooks: KPI sheet (cached formula values), derived tabs...
    got_cells, want_cells = _numbers(books["spark"]), _numbers(books["pandas"])
    assert got_cells.keys() == want_cells.keys() and len(want_cells) > 1000
    for key, value in want_cells.items():
        assert got_cells[key] == pytest.approx(value, rel=RTOL, abs=1e-12), key
