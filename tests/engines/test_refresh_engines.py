"""`refresh --engine`: orders from a lake are counted in DuckDB before any row is read.

Run as a user runs it (a subprocess). Orders that fit a sheet refresh the workbook as
the same rows read by the pandas engine do; more than a sheet holds (``--sheet-rows``,
hidden, lowers the limit as ``build``'s does) are refused in one line that names the
count and points to ``build --aggregate``, and the workbook is left byte-identical.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from lakedata import write_duckdb, write_parts

from retention_xl.datasets import load_sample
from retention_xl.io import load_inputs


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("refresh-lake")
    frame = load_sample().orders
    write_parts(frame, folder / "lake")
    write_duckdb(frame, folder / "shop.duckdb")
    rows = len(load_inputs(orders=str(folder / "lake"), engine="pandas").orders)
    return {"folder": folder, "rows": rows}


def _book(run_cli, folder: Path) -> Path:
    book = folder / "Report.xlsx"
    res = run_cli("template", "--out", str(book))
    assert res.returncode == 0, res.stderr
    return book


def _cells(book: Path) -> dict[str, list[list[Any]]]:
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(book))
    return {name: wb.get_sheet_by_name(name).to_python() for name in wb.sheet_names}


def test_a_lake_that_fits_refreshes_as_the_pandas_engine_does(run_cli, lake, tmp_path):
    source = str(lake["folder"] / "lake")
    books, outs = {}, {}
    for engine in ("auto", "pandas"):
        (tmp_path / engine).mkdir()
        books[engine] = _book(run_cli, tmp_path / engine)
        res = run_cli(
            "refresh",
            str(books[engine]),
            "--orders",
            source,
            "--engine",
            engine,
            "--sheet-rows",
            str(lake["rows"]),
            "--json",
        )  # fmt: skip  (just fits)
        assert res.returncode == 0, res.stderr
        outs[engine] = json.loads(res.stdout)
    assert outs["auto"]["imports"] == outs["pandas"]["imports"]
    got, want = _cells(books["auto"]), _cells(books["pandas"])
    assert got == want
    orders_tab = [name for name in want if name in ("Orders", "Ordini")]
    assert orders_tab and len(want[orders_tab[0]]) - 1 == lake["rows"] > 1000


@pytest.mark.parametrize("kind", ["folder", "glob", "duckdb"])
def test_more_orders_than_a_sheet_holds_are_refused_before_reading(run_cli, lake, tmp_path,
                                                                   kind):  # fmt: skip
    folder = lake["folder"]
    source = {
        "folder": str(folder / "lake"),
        "glob": str(folder / "lake" / "*.parquet"),
        "duckdb": f"duckdb:{folder / 'shop.duckdb'}?table=orders",
    }[kind]
    book = _book(run_cli, tmp_path)
    before = book.read_bytes()
    listing = sorted(p.name for p in tmp_path.iterdir())
    limit = lake["rows"] - 1
    res = run_cli("refresh", str(book), "--orders", source, "--sheet-rows", str(limit))
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    line = lines[0]
    assert f"{lake['rows']:,} orders" in line and f"({limit:,} data rows)" in line
    assert "build --orders" in line and "--aggregate" in line and source in line
    assert book.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == listing  # no .bak, no temporary


def test_the_engine_option_takes_no_spark(run_cli, lake, tmp_path):
    book = _book(run_cli, tmp_path)
    before = book.read_bytes()
    res = run_cli("refresh", str(book), "--orders", str(lake["folder"] / "lake"),
                  "--engine", "spark")  # fmt: skip
    assert res.returncode == 2 and "'spark' is not one of" in res.stderr
    assert book.read_bytes() == before
