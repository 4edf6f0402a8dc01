"""Bad lakes are refused like bad exports: one line naming the file or option, exit 2,
no traceback, nothing written."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from lakedata import write_duckdb, write_parquet

ROWS = pd.DataFrame(
    {
        "customer_id": ["a", "a", "b"],
        "order_id": ["1", "2", "3"],
        "order_date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"]),
        "amount": [10.0, 20.0, 30.0],
    }
)


def _refused(run_cli, tmp_path: Path, source: str, *extra: str, command: str = "predict"):
    out = tmp_path / ("scores.parquet" if command == "predict" else "report.xlsx")
    res = run_cli(command, "--orders", source, "--out", str(out), *extra)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert not out.exists()
    assert not list(tmp_path.glob(".~rxl.*"))  # no temporary file left either
    return lines[0]


def test_a_parquet_file_without_an_amount_column(run_cli, tmp_path):
    path = write_parquet(ROWS.drop(columns="amount"), tmp_path / "orders.parquet")
    line = _refused(run_cli, tmp_path, str(path))
    assert "orders.parquet" in line and "amount" in line and "--map amount=COLUMN" in line


def test_an_amount_column_of_booleans(run_cli, tmp_path):
    path = write_parquet(ROWS.assign(amount=[True, False, True]), tmp_path / "orders.parquet")
    line = _refused(run_cli, tmp_path, str(path), command="build")
    assert "orders.parquet" in line and "'amount' holds BOOLEAN values" in line


def test_a_glob_that_matches_nothing(run_cli, tmp_path):
    line = _refused(run_cli, tmp_path, str(tmp_path / "lake" / "*.parquet"))
    assert "--orders" in line and "matches no file" in line and "lake" in line


def test_a_folder_without_parquet_files(run_cli, tmp_path):
    (tmp_path / "empty").mkdir()
    line = _refused(run_cli, tmp_path, str(tmp_path / "empty"))
    assert "holds no Parquet file" in line


def test_columns_of_different_types_across_files(run_cli, tmp_path):
    lake = tmp_path / "lake"
    lake.mkdir()
    write_parquet(ROWS, lake / "jan.parquet")
    write_parquet(
        ROWS.assign(customer_id=[1, 1, 2], order_id=["4", "5", "6"]), lake / "feb.parquet"
    )
    line = _refused(run_cli, tmp_path, str(lake))
    assert "'customer_id'" in line and "feb.parquet" in line and "jan.parquet" in line
    assert "disagree on its type" in line


def test_a_file_missing_a_column_the_others_have(run_cli, tmp_path):
    lake = tmp_path / "lake"
    lake.mkdir()
    write_parquet(ROWS, lake / "jan.parquet")
    write_parquet(ROWS.drop(columns="order_id"), lake / "feb.parquet")
    line = _refused(run_cli, tmp_path, str(lake))
    assert "feb.parquet" in line and "'order_id'" in line


def test_a_missing_table_in_the_duckdb_file(run_cli, tmp_path):
    db = write_duckdb(ROWS, tmp_path / "shop.duckdb", table="sales")
    line = _refused(run_cli, tmp_path, f"duckdb:{db}?table=orders", command="build")
    assert "shop.duckdb" in line and "no table 'orders'" in line and "sales" in line


def test_a_missing_duckdb_file(run_cli, tmp_path):
    line = _refused(run_cli, tmp_path, f"duckdb:{tmp_path / 'nowhere.duckdb'}?table=orders")
    assert "nowhere.duckdb" in line


def test_a_file_that_is_not_parquet(run_cli, tmp_path):
    path = tmp_path / "orders.parquet"
    path.write_bytes(b"customer_id,order_id\nnot parquet at all\n")
    line = _refused(run_cli, tmp_path, str(path))
    assert "orders.parquet" in line and "Parquet" in line


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"amount": [10.0, float("nan"), 30.0]}, "row 2, column 'amount'"),
        ({"amount": [10.0, 20.0, float("inf")]}, "row 3, column 'amount'"),
        ({"customer_id": ["a", "  ", "b"]}, "row 2, column 'customer_id': the cell is blank"),
        ({"status": ["paid", "lost in the post", "paid"]}, "unknown order status"),
        ({"currency": ["EUR", "USD", "EUR"]}, "2 currencies (EUR: 2 rows, USD: 1 rows)"),
        ({"order_id": ["1", "1", "3"]}, "order '1' appears on rows 1 and 2 with different"),
    ],
)
def test_bad_cells_name_the_file_row_and_column(run_cli, tmp_path, change, needle):
    path = write_parquet(ROWS.assign(**change), tmp_path / "orders.parquet")
    for engine in ("duckdb", "pandas"):
        line = _refused(run_cli, tmp_path, str(path), "--engine", engine)
        assert line.startswith("Error: orders.parquet") and needle in line, line


def test_the_duckdb_engine_does_not_read_xlsx(run_cli, tmp_path):
    path = tmp_path / "orders.xlsx"
    ROWS.to_excel(path, index=False)
    line = _refused(run_cli, tmp_path, str(path), "--engine", "duckdb")
    assert "--engine duckdb" in line and "orders.xlsx" in line


def test_a_layout_name_is_refused_for_a_lake(run_cli, tmp_path):
    path = write_parquet(ROWS, tmp_path / "orders.parquet")
    line = _refused(run_cli, tmp_path, str(path), "--format", "shopify")
    assert "--format 'shopify'" in line


def test_a_bad_spark_register_timeout_names_the_variable(run_cli, tmp_path, monkeypatch):
    """Refused before Spark starts (no Java needed), the master being reachable."""
    path = write_parquet(ROWS, tmp_path / "orders.parquet")
    monkeypatch.setenv("RETENTION_XL_SPARK_REGISTER_TIMEOUT", "ten")
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        master = f"spark://127.0.0.1:{server.getsockname()[1]}"
        line = _refused(run_cli, tmp_path, str(path), "--engine", "spark", "--spark-master", master)
    assert "RETENTION_XL_SPARK_REGISTER_TIMEOUT='ten'" in line and "number of seconds" in line


@pytest.mark.parametrize("value", ["0", "-1", "inf", "nan", "1e400"])
def test_the_spark_register_timeout_must_be_seconds_above_0(monkeypatch, value):
    from retention_xl.engines.spark_engine import register_timeout
    from retention_xl.errors import InputError

    monkeypatch.setenv("RETENTION_XL_SPARK_REGISTER_TIMEOUT", value)
    with pytest.raises(InputError, match="RETENTION_XL_SPARK_REGISTER_TIMEOUT") as err:
        register_timeout()
    assert err.value.argument == "RETENTION_XL_SPARK_REGISTER_TIMEOUT"
    monkeypatch.setenv("RETENTION_XL_SPARK_REGISTER_TIMEOUT", " 30 ")
    assert register_timeout() == 30.0


def test_without_the_lake_extra_the_message_names_it(tmp_path):
    path = write_parquet(ROWS, tmp_path / "orders.parquet")
    script = (
        "import sys; sys.modules['duckdb'] = None\n"  # as if not installed
        "from retention_xl.cli import main\n"
        f"sys.argv = ['retention-xl', 'kpis', '--orders', {str(path)!r}]\n"
        "main()\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert res.returncode == 2
    assert "pip install 'retention-xl[lake]'" in res.stderr and "Parquet" in res.stderr
    assert "Traceback" not in res.stderr


def test_the_missing_extra_is_named_for_a_duckdb_table(monkeypatch):
    from retention_xl.engines.deps import require_lake
    from retention_xl.errors import InputError

    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if not installed
    with pytest.raises(InputError, match=r"needs pyarrow, which come with the 'lake' extra"):
        require_lake("reading a DuckDB table")
