"""CSV exports read by the DuckDB engine (a glob of CSV files): the checks on text
cells see the raw cell whatever the column is called (a date column named ``date``, an
amount named ``total``), and a bad cell is refused for what it is, as the pandas engine
refuses it."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
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


# -- rows of refused CSV cells ---------------------------------------------------------
# DuckDB's CSV reader numbers no rows: the refused cell's row is found by reading the
# file again. It must be the row the pandas engine names for the same file.

_PLACE = re.compile(r"^(?P<file>[^,]+), row (?P<row>\d+), column '(?P<column>[^']+)'")


def _place(message: str) -> tuple[str, int, str]:
    got = _PLACE.match(message)
    assert got is not None, message
    return got["file"], int(got["row"]), got["column"]


def _export(n: int, *, sep: str = ",") -> pd.DataFrame:
    frame = load_sample().orders.head(n).copy()
    frame["order_date"] = frame["order_date"].dt.strftime("%Y-%m-%d")
    frame["note"] = "ok"
    frame.loc[5, "note"] = "two\nlines"  # one record over two lines of the file
    frame.loc[6, "note"] = f'says "hi"{sep} twice'  # quotes and the delimiter inside
    return frame


def _duckdb_refusal(pattern: Path, **options) -> str:
    with pytest.raises(ExportError) as err:
        LakeOrders(parse_orders_source(str(pattern)), **options).close()
    return str(err.value)


@pytest.mark.parametrize("sep", [",", ";"])
@pytest.mark.parametrize(
    ("column", "cell"),
    [("order_date", "31/02/2024x"), ("amount", "12,x"), ("customer_id", "")],
)
def test_a_refused_csv_cell_is_named_by_the_row_pandas_names(tmp_path, sep, column, cell):
    frame = _export(3000, sep=sep)
    frame[column] = frame[column].astype(str)
    frame.loc[2400, column] = cell  # far past the two-line record
    frame.loc[2700, column] = cell
    path = tmp_path / "ordini.csv"
    frame.to_csv(path, index=False, sep=sep)
    with pytest.raises(ExportError) as err:
        read_orders(path)
    want = _place(str(err.value))
    got = _place(_duckdb_refusal(tmp_path / "*.csv"))
    assert got == want == ("ordini.csv", 2402, column)  # header row 1, record 2401


def test_in_a_glob_of_files_the_row_is_counted_in_the_file_named(tmp_path):
    first, second = _export(400), _export(600)
    second["amount"] = second["amount"].astype(str)
    second.loc[[150, 420], "amount"] = ["n/a", "n/a"]
    first.to_csv(tmp_path / "a_2023.csv", index=False)
    second.to_csv(tmp_path / "b_2024.csv", index=False)
    message = _duckdb_refusal(tmp_path / "*.csv")
    assert _place(message) == ("b_2024.csv", 152, "amount")
    assert "'n/a'" in message
    with pytest.raises(ExportError) as err:  # the pandas engine, on that file alone
        read_orders(tmp_path / "b_2024.csv")
    assert _place(str(err.value))[1:] == (152, "amount")


def test_skipped_csv_rows_are_listed_in_file_order_with_their_rows(tmp_path):
    frame = _export(1000)
    frame["order_date"] = frame["order_date"].astype(str)
    bad = {900: "hello", 120: "x", 480: "hello"}
    for index, cell in bad.items():
        frame.loc[index, "order_date"] = cell
    frame.loc[300, "customer_id"] = None  # a blank id, another check (listed first)
    frame.to_csv(tmp_path / "orders.csv", index=False)
    lake = LakeOrders(parse_orders_source(str(tmp_path / "*.csv")), skip_bad_rows=True)
    try:
        skipped = list(lake.report.skipped)
        assert lake.report.rows_skipped == 4
    finally:
        lake.close()
    rows = [int(re.search(r"row (\d+),", line)[1]) for line in skipped]  # type: ignore[index]
    assert rows == [302, 122, 482, 902], skipped
    assert "column 'customer_id': the cell is blank" in skipped[0]
    assert "(value 'hello')" in skipped[2]


def test_the_command_line_names_the_csv_row_and_writes_nothing(tmp_path, run_cli):
    frame = _export(800)
    frame["amount"] = frame["amount"].astype(str)
    frame.loc[700, "amount"] = "12,50 EUR"
    (tmp_path / "lake").mkdir()
    frame.to_csv(tmp_path / "lake" / "orders_2024.csv", index=False)
    out = tmp_path / "report.xlsx"
    out.write_bytes(b"the user's own file")
    res = run_cli(
        "build", "--orders", str(tmp_path / "lake" / "*.csv"), "--engine", "duckdb",
        "--out", str(out),
    )  # fmt: skip
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "Traceback" not in res.stderr
    assert "orders_2024.csv, row 702, column 'amount'" in res.stderr
    assert out.read_bytes() == b"the user's own file"


def test_a_csv_that_cannot_be_read_again_is_refused_without_a_row(tmp_path, monkeypatch):
    """Finding the row reads the file a second time; if that fails (the file moved,
    a read error), the refusal still names the file, column and value, just no row."""
    import retention_xl.engines.lake as lake_module

    def unreadable(*args, **kwargs):
        raise OSError("the file went away")

    monkeypatch.setattr(lake_module, "find_rows", unreadable)
    frame = _export(50)
    frame["amount"] = frame["amount"].astype(str)
    frame.loc[20, "amount"] = "12,x"
    frame.to_csv(tmp_path / "orders.csv", index=False)
    message = _duckdb_refusal(tmp_path / "*.csv")
    assert message.startswith("orders.csv, column 'amount': not a number"), message
    assert "'12,x'" in message
