"""`kpis`, `predict` and `build` with --engine duckdb and pandas give the same numbers.

Run as a user runs them (a subprocess), on Parquet files written with pyarrow, on a
DuckDB table and on the same rows as a CSV export read by the CSV path.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lakedata import edge_orders, write_csv, write_duckdb, write_parts

from retention_xl.datasets import load_sample, sample_paths

RTOL = 1e-9


def _kpis(run_cli, source: str, *extra: str) -> dict:
    res = run_cli("kpis", "--orders", source, "--json", *extra)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def _same_kpis(got: dict, want: dict) -> None:
    assert [r["kpi"] for r in got["kpis"]] == [r["kpi"] for r in want["kpis"]]
    for a, b in zip(got["kpis"], want["kpis"], strict=True):
        if b["value"] is None:
            assert a["value"] is None, a["kpi"]
        else:
            assert a["value"] == pytest.approx(b["value"], rel=RTOL, abs=1e-12), a["kpi"]
        assert a["rating"] == b["rating"], a["kpi"]
    for key in ("as_of", "period_start", "period_end", "period_complete", "currency"):
        assert got[key] == want[key], key


@pytest.fixture(scope="module")
def edge_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("edge")
    frame = edge_orders()
    write_parts(frame, folder / "lake")
    return {
        "lake": folder / "lake",
        "csv": write_csv(frame, folder / "orders.csv"),
        "db": write_duckdb(frame, folder / "shop.duckdb"),
    }


@pytest.mark.parametrize("period", ["Y", "Q", "M"])
def test_kpis_agree_on_edge_cases(run_cli, edge_files, period):
    lake = str(edge_files["lake"])
    duck = _kpis(run_cli, lake, "--period", period)
    pandas = _kpis(run_cli, lake, "--period", period, "--engine", "pandas")
    csv = _kpis(run_cli, str(edge_files["csv"]), "--period", period)
    assert (duck["engine"], pandas["engine"], csv["engine"]) == ("duckdb", "pandas", "pandas")
    _same_kpis(duck, pandas)
    _same_kpis(duck, csv)  # the same rules as the CSV path
    assert duck["imports"] == pandas["imports"]
    orders = duck["imports"]["orders"]
    for key in ("records", "customers", "refunds", "cancelled", "duplicates_removed"):
        assert orders[key] == csv["imports"]["orders"][key], key
    assert orders["duplicates_removed"] > 0 and orders["cancelled"] > 0


def test_kpis_agree_on_the_sample_from_a_duckdb_table_and_at_a_date(run_cli, tmp_path):
    db = write_duckdb(load_sample().orders, tmp_path / "shop.duckdb", table="orders")
    for extra in ((), ("--as-of", "2024-03-15", "--period", "Q")):
        duck = _kpis(run_cli, f"duckdb:{db}?table=orders", *extra)
        csv = _kpis(run_cli, str(sample_paths().orders), *extra)
        assert duck["engine"] == "duckdb"
        _same_kpis(duck, csv)


def test_kpis_read_a_glob_of_csv_files_with_either_engine(run_cli, tmp_path):
    orders = pd.read_csv(sample_paths().orders, dtype=str)
    half = len(orders) // 2
    (tmp_path / "exports").mkdir()
    orders.iloc[:half].to_csv(tmp_path / "exports" / "jan.csv", index=False)
    orders.iloc[half:].to_csv(tmp_path / "exports" / "feb.csv", index=False)
    glob = str(tmp_path / "exports" / "*.csv")
    whole = _kpis(run_cli, str(sample_paths().orders))
    pandas = _kpis(run_cli, glob)
    duck = _kpis(run_cli, glob, "--engine", "duckdb")
    assert (pandas["engine"], duck["engine"]) == ("pandas", "duckdb")
    _same_kpis(pandas, whole)
    _same_kpis(duck, whole)
    assert pandas["imports"]["orders"]["records"] == whole["imports"]["orders"]["records"]


def _predictions(run_cli, source: str, out: Path, *extra: str) -> tuple[pd.DataFrame, dict]:
    res = run_cli("predict", "--orders", source, "--out", str(out), "--json", *extra)
    assert res.returncode == 0, res.stderr
    payload = json.loads(res.stdout)
    table = (
        pd.read_parquet(out)
        if out.suffix == ".parquet"
        else pd.read_csv(out, dtype={"customer_id": str})
    )
    return table, payload


@pytest.mark.parametrize("data", ["sample", "edge"])
def test_predict_agrees_across_engines(run_cli, edge_files, tmp_path, data):
    if data == "sample":
        source = str(write_parts(load_sample().orders, tmp_path / "lake", parts=2)[0].parent)
    else:
        source = str(edge_files["lake"])
    duck, d = _predictions(run_cli, source, tmp_path / "duck.parquet", "--gross-margin", "0.4")
    pandas, p = _predictions(  # intervals are the pandas engine's only (and checked there)
        run_cli,
        source,
        tmp_path / "pandas.parquet",
        "--gross-margin",
        "0.4",
        "--engine",
        "pandas",
        "--no-intervals",
    )
    assert len(duck) == d["customers"] == p["customers"] > 100
    assert list(duck.columns) == list(pandas.columns)
    assert duck["customer_id"].tolist() == pandas["customer_id"].tolist()
    assert duck["risk_band"].tolist() == pandas["risk_band"].tolist()
    for col in duck.columns.drop(["customer_id", "risk_band"]):
        np.testing.assert_allclose(duck[col], pandas[col], rtol=RTOL, err_msg=col)
    assert d["at_risk_share"] == pytest.approx(p["at_risk_share"], rel=RTOL)
    assert d["predicted_clv_total"] == pytest.approx(p["predicted_clv_total"], rel=RTOL)
    for model, params in p["parameters"].items():
        for name, value in params.items():
            assert d["parameters"][model][name]["value"] == pytest.approx(
                value["value"], rel=RTOL
            ), name
    csv, _ = _predictions(run_cli, source, tmp_path / "duck.csv")
    assert csv["customer_id"].tolist() == pandas["customer_id"].tolist()
    np.testing.assert_allclose(csv["predicted_clv"], pandas["predicted_clv"] / 0.4, rtol=1e-9)


def test_predict_bgbb_agrees_across_engines(run_cli, tmp_path):
    source = str(write_parts(load_sample().orders, tmp_path / "lake", parts=2)[0].parent)
    args = ("--model", "bgbb", "--period", "M", "--as-of", "2024-05-15")
    duck, d = _predictions(run_cli, source, tmp_path / "duck.parquet", *args)
    pandas, p = _predictions(
        run_cli, source, tmp_path / "pandas.parquet", *args, "--engine", "pandas", "--no-intervals"
    )
    assert d["engine"] == "duckdb" and len(duck) == d["customers"] == p["customers"] > 100
    assert d["period"] == p["period"] and d["period"]["last"] == "2024-04"
    assert d["period"]["customers_left_out"] > 0
    assert list(duck.columns) == list(pandas.columns)
    assert duck["customer_id"].tolist() == pandas["customer_id"].tolist()
    assert duck["risk_band"].tolist() == pandas["risk_band"].tolist()
    for col in duck.columns.drop(["customer_id", "risk_band"]):
        np.testing.assert_allclose(duck[col], pandas[col], rtol=RTOL, err_msg=col)
    assert d["predicted_clv_total"] == pytest.approx(p["predicted_clv_total"], rel=RTOL)


def test_predict_with_duckdb_streams_customers_in_batches(tmp_path):
    """The scorer sees batches, never one frame of every customer."""
    from retention_xl.engines.duckdb_engine import DuckDBEngine
    from retention_xl.engines.lake import LakeOrders
    from retention_xl.engines.scoring import predict_in_batches, write_batches
    from retention_xl.engines.sources import parse_orders_source

    folder = tmp_path / "lake"
    write_parts(load_sample().orders, folder)
    engine = DuckDBEngine(LakeOrders(parse_orders_source(str(folder))))
    try:
        result, batches = predict_in_batches(engine, batch_rows=400)
        sizes = []

        def counted():
            for b in batches:
                sizes.append(len(b))
                yield b

        write_batches(counted(), tmp_path / "p.parquet", ".parquet")
    finally:
        engine.close()
    assert max(sizes) == 400 and len(sizes) == math.ceil(result.customers / 400)
    assert (
        sum(sizes)
        == result.customers
        == result.expected
        == len(pd.read_parquet(tmp_path / "p.parquet"))
    )


def test_build_with_the_duckdb_engine_gives_the_same_kpis(run_cli, tmp_path):
    lake = tmp_path / "lake"
    write_parts(load_sample().orders, lake, parts=2)
    outs = {}
    for engine in ("duckdb", "pandas"):
        out = tmp_path / f"{engine}.xlsx"
        res = run_cli(
            "build", "--orders", str(lake), "--engine", engine, "--out", str(out), "--json"
        )
        assert res.returncode == 0, res.stderr
        outs[engine] = json.loads(res.stdout)
        assert out.is_file()
    duck, pandas = outs["duckdb"]["kpis"], outs["pandas"]["kpis"]
    assert [r["kpi"] for r in duck] == [r["kpi"] for r in pandas]
    for a, b in zip(duck, pandas, strict=True):
        if b["value"] is None:
            assert a["value"] is None
        else:
            assert a["value"] == pytest.approx(b["value"], rel=RTOL), a["kpi"]
