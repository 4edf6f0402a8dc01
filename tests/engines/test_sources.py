"""What --orders names, resolved from the file system alone, and which engine reads it."""

from __future__ import annotations

import pytest
from lakedata import ROWS_FOR_SOURCES, write_duckdb, write_parquet

from retention_xl.engines.base import choose_engine
from retention_xl.engines.sources import parse_orders_source
from retention_xl.errors import InputError


def test_each_form_of_the_option(tmp_path):
    csv = tmp_path / "orders.csv"
    csv.write_text("customer_id,order_date,amount\na,2024-01-01,1\n")
    one = write_parquet(ROWS_FOR_SOURCES, tmp_path / "one.parquet")
    (tmp_path / "lake" / "year=2024").mkdir(parents=True)
    nested = write_parquet(ROWS_FOR_SOURCES, tmp_path / "lake" / "year=2024" / "b.parquet")
    top = write_parquet(ROWS_FOR_SOURCES, tmp_path / "lake" / "a.parquet")
    db = write_duckdb(ROWS_FOR_SOURCES, tmp_path / "shop.duckdb")
    unnamed = tmp_path / "export"  # a Parquet file without its suffix
    unnamed.write_bytes(one.read_bytes())

    assert parse_orders_source(str(csv)).kind == "export"
    assert parse_orders_source(str(one)).kind == "parquet"
    assert parse_orders_source(str(unnamed)).kind == "parquet"
    folder = parse_orders_source(str(tmp_path / "lake"))
    assert (folder.kind, folder.files) == ("parquet", (top, nested))
    glob = parse_orders_source(str(tmp_path / "lake" / "**" / "*.parquet"))
    assert glob.files == (top, nested) and glob.label.endswith("*.parquet")
    table = parse_orders_source(f"duckdb:{db}?table=main.orders")
    assert (table.kind, table.table, table.label) == (
        "duckdb",
        "main.orders",
        "shop.duckdb?table=main.orders",
    )
    assert parse_orders_source(f"duckdb:{db}").table == "orders"
    assert parse_orders_source(str(db)).kind == "duckdb"  # recognised by its header


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("{tmp}/nowhere.csv", "no such file or folder"),
        ("{tmp}/*.parquet", "matches no file"),
        ("duckdb:", "name the database file"),
        ("duckdb:{tmp}/x.duckdb?tabel=orders", "unknown parameter 'tabel'"),
        ("duckdb:{tmp}/x.duckdb?table=", "the table name is empty"),
        ("duckdb:{tmp}/nowhere.duckdb", "no DuckDB database file"),
    ],
)
def test_sources_that_cannot_be_read(tmp_path, text, needle):
    (tmp_path / "x.duckdb").write_bytes(b"")
    with pytest.raises(InputError, match=needle) as err:
        parse_orders_source(text.format(tmp=tmp_path))
    assert err.value.argument == "orders"


def test_a_glob_of_mixed_files_is_refused(tmp_path):
    write_parquet(ROWS_FOR_SOURCES, tmp_path / "a.parquet")
    (tmp_path / "b.csv").write_text("x\n")
    (tmp_path / "c.xlsx").write_bytes(b"")
    with pytest.raises(InputError, match="both Parquet and CSV files"):
        parse_orders_source(str(tmp_path / "[ab].*"))
    with pytest.raises(InputError, match=r"c\.xlsx, which is neither"):
        parse_orders_source(str(tmp_path / "*"))


def test_auto_picks_duckdb_for_lakes_and_pandas_for_exports(tmp_path):
    csv = tmp_path / "orders.csv"
    csv.write_text("a\n")
    xlsx = tmp_path / "orders.xlsx"
    xlsx.write_bytes(b"PK")
    lake = parse_orders_source(str(write_parquet(ROWS_FOR_SOURCES, tmp_path / "o.parquet")))
    assert choose_engine("auto", lake) == "duckdb"
    assert choose_engine("pandas", lake) == "pandas"
    assert choose_engine("auto", parse_orders_source(str(csv))) == "pandas"
    assert choose_engine("duckdb", parse_orders_source(str(csv))) == "duckdb"
    with pytest.raises(InputError, match="--engine duckdb reads"):
        choose_engine("duckdb", parse_orders_source(str(xlsx)))
    assert choose_engine("spark", lake) == "spark"
    with pytest.raises(InputError, match="--engine spark reads"):
        choose_engine("spark", parse_orders_source(str(xlsx)))
    with pytest.raises(InputError, match="--engine must be one of"):
        choose_engine("flink", lake)
