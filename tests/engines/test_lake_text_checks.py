"""CSV exports read by the DuckDB engine (a glob of CSV files): the checks on text
cells see the raw cell whatever the column is called (a date column named ``date``, an
amount named ``total``), and a bad cell is refused for what it is, as the pandas engine
refuses it."""

from __future__ import annotations

from pathlib import Path

import pytest

from retention_xl.datasets import load_sample
from retention_xl.engines.duckdb_engine import DuckDBEngine
from retention_xl.engines.lake import LakeOrders
from retention_xl.engines.pandas_engine import PandasEngine
from retention_xl.engines.sources import parse_orders_source
from retention_xl.errors import ExportError
from retention_xl.io.readers import read_orders

RENAMED = {"order_date": "date", "amount": "total"}


def _renamed_sample(path: Path) -> Path:
    frame = load_sample().orders.rename(columns=RENAMED)
    frame.to_csv(path, index=False, date_format="%Y-%m-%d")
    return path


def test_a_csv_with_other_column_names_gives_the_pandas_numbers(tmp_path):
    path = _renamed_sample(tmp_path / "orders.csv")
    lake = LakeOrders(parse_orders_source(str(path.parent / "*.csv")))
    try:
        duck = DuckDBEngine(lake).customer_summary().sort_index()
    finally:
        lake.close()
    pandas = PandasEngine(read_orders(path).frame).customer_summary().sort_index()
    assert len(duck) == len(pandas) > 100
    assert duck["orders"].tolist() == pandas["orders"].tolist()
    assert duck["revenue"].to_numpy() == pytest.approx(pandas["revenue"].to_numpy(), rel=1e-9)


@pytest.mark.parametrize(
    ("column", "cell", "says"),
    [
        ("date", "hello", "not a date"),
        ("date", "1500-01-02", "not a date in the years 1678 to 2261"),
        ("total", "12,x", "not a number"),
    ],
)
@pytest.mark.parametrize("names", ["renamed", "canonical"])
def test_a_bad_text_cell_is_refused_for_what_it_is(tmp_path, column, cell, says, names):
    # with the canonical names the raw cell used to be shadowed by the converted one
    # (a bad date read as "the cell is blank"); with others the query failed to bind
    frame = load_sample().orders.head(50).rename(columns=RENAMED)
    frame[column] = frame[column].astype(str)
    frame.loc[7, column] = cell
    if names == "canonical":
        frame = frame.rename(columns={v: k for k, v in RENAMED.items()})
        column = {v: k for k, v in RENAMED.items()}[column]
    path = tmp_path / "orders.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(ExportError) as err:
        LakeOrders(parse_orders_source(str(path.parent / "*.csv"))).close()
    message = str(err.value)
    assert f"column {column!r}: {says}" in message
    assert cell in message
