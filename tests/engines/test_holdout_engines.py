"""`predict --holdout-weeks` on the DuckDB engine: the calibration/holdout split counted
in SQL gives the pandas engine's holdout check (to 1e-9), in the library and on the
command line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lakedata import duckdb_lake, edge_orders, write_parquet, write_parts

from retention_xl.core.models import holdout_comparison
from retention_xl.datasets import load_sample
from retention_xl.engines.duckdb_engine import DuckDBEngine
from retention_xl.errors import RetentionError

RTOL = 1e-9


@pytest.fixture(scope="module", params=["sample", "edge"])
def lake(request, tmp_path_factory) -> Iterator[tuple[DuckDBEngine, pd.DataFrame]]:
    engine, frame = duckdb_lake(request.param, tmp_path_factory.mktemp(f"holdout-{request.param}"))
    yield engine, frame
    engine.close()


def assert_same_check(got, want) -> None:
    """Every number ``predict`` reports of a holdout check, to 1e-9."""
    assert got.calibration_end == want.calibration_end
    assert got.holdout_end == want.holdout_end
    assert got.customers == len(want.customers)
    for name in ("actual_total", "predicted_total", "error_share", "mean_absolute_error",
                 "tracking_mape"):  # fmt: skip
        assert getattr(got, name) == pytest.approx(getattr(want, name), rel=RTOL), name
    pd.testing.assert_frame_equal(got.weekly, want.weekly, rtol=RTOL, check_exact=False)
    pd.testing.assert_frame_equal(
        got.by_frequency(), want.by_frequency(), rtol=RTOL, check_exact=False
    )
    np.testing.assert_allclose(
        got.model.summary["coef"].to_numpy(), want.model.summary["coef"].to_numpy(), rtol=RTOL
    )


@pytest.mark.parametrize(
    ("model", "weeks", "as_of"),
    [
        ("bgnbd", 26, None),
        ("mbgnbd", 13.5, "2024-03-31"),
        ("pareto_nbd", 39, None),
        ("bgnbd", 2, "2023-06-15"),
    ],
)
def test_the_holdout_check_agrees_with_the_pandas_engine(lake, model, weeks, as_of):
    engine, frame = lake
    want = holdout_comparison(frame, holdout_weeks=weeks, holdout_end=as_of, model=model)
    got = engine.holdout(holdout_weeks=weeks, as_of=as_of, model=model)
    assert want.actual_total > 0 and len(want.customers) > 100
    assert_same_check(got, want)


@pytest.mark.parametrize("weeks", [400, 0.01])
def test_a_check_that_cannot_be_made_is_refused_with_the_same_message(lake, weeks):
    engine, frame = lake
    with pytest.raises(RetentionError) as want:
        holdout_comparison(frame, holdout_weeks=weeks)
    with pytest.raises(type(want.value)) as got:
        engine.holdout(holdout_weeks=weeks)
    assert str(got.value) == str(want.value)


def _predict(run_cli, source: str, *extra: str) -> tuple[dict, list[str]]:
    res = run_cli("predict", "--orders", source, "--json", "--no-intervals", *extra)
    assert res.returncode == 0, res.stderr
    text = run_cli("predict", "--orders", source, "--no-intervals", *extra)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("Holdout check:"))
    return json.loads(res.stdout), lines[at : at + 3]


@pytest.mark.parametrize(
    "extra", [("--holdout-weeks", "26"), ("--holdout-weeks", "8", "--model", "pareto_nbd",
                                          "--as-of", "2024-04-30")]
)  # fmt: skip
def test_predict_holdout_on_the_command_line_agrees_with_pandas(run_cli, tmp_path, extra):
    write_parts(load_sample().orders, tmp_path / "lake", parts=2)
    duck, duck_lines = _predict(run_cli, "lake", *extra)
    pandas, pandas_lines = _predict(run_cli, "lake", *extra, "--engine", "pandas")
    assert duck["engine"] == "duckdb" and "engine" not in pandas
    assert duck_lines == pandas_lines  # the printed check, rounded as printed
    got, want = duck["holdout"], pandas["holdout"]
    assert got.keys() == want.keys() and want["actual"] > 0
    for key in ("weeks", "predicted", "actual", "error_share", "tracking_mape"):
        assert got[key] == pytest.approx(want[key], rel=RTOL), key
    assert len(got["by_frequency"]) == len(want["by_frequency"]) == 8
    for a, b in zip(got["by_frequency"], want["by_frequency"], strict=True):
        assert a["frequency"] == b["frequency"] and a["customers"] == b["customers"]
        for key in ("actual", "predicted"):
            assert a[key] == pytest.approx(b[key], rel=RTOL, nan_ok=True), (key, a)


def test_predict_holdout_that_cannot_be_made_is_the_same_note(run_cli, tmp_path):
    write_parquet(load_sample().orders, tmp_path / "orders.parquet")
    notes = {}
    for engine in ("duckdb", "pandas"):
        res = run_cli("predict", "--orders", "orders.parquet", "--engine", engine,
                      "--no-intervals", "--holdout-weeks", "400", "--json")  # fmt: skip
        assert res.returncode == 0, res.stderr  # the predictions stand
        assert "holdout" not in json.loads(res.stdout)
        notes[engine] = [n for n in res.stderr.splitlines() if "no holdout check" in n]
    assert notes["duckdb"] == notes["pandas"] and len(notes["pandas"]) == 1
    assert "no customer had bought by the calibration end" in notes["pandas"][0]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_predict_holdout_writes_the_pandas_engine_columns(run_cli, tmp_path: Path, suffix):
    write_parts(edge_orders(), tmp_path / "lake")
    frames = {}
    for engine in ("duckdb", "pandas"):
        out = tmp_path / f"{engine}{suffix}"
        res = run_cli("predict", "--orders", "lake", "--engine", engine, "--holdout-weeks",
                      "20", "--out", str(out), "--no-intervals")  # fmt: skip
        assert res.returncode == 0, res.stderr
        frames[engine] = (
            pd.read_csv(out, dtype={"customer_id": str}) if suffix == ".csv"
            else pd.read_parquet(out)
        )  # fmt: skip
    got, want = frames["duckdb"], frames["pandas"]
    assert list(want.columns[-2:]) == ["holdout_actual", "holdout_predicted"]
    calibrated = want["holdout_actual"].notna()
    assert 100 < calibrated.sum() < len(want)  # some customers first bought in the holdout
    pd.testing.assert_frame_equal(got, want, rtol=RTOL, check_exact=False)
