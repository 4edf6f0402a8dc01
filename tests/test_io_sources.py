"""``--subscriptions``, ``--survey`` and ``--customers`` from the sources ``--orders`` takes.

Each export is written again as a folder of Parquet files (partitions whose files have
the same name), a glob of Parquet files, a glob of CSV files and a DuckDB table; each
must read as the one CSV it came from (same frames, same KPIs), name the file (or the
table) and the row of a bad cell, and refuse a source that names nothing, mixes
kinds or columns, or holds more rows than a sheet.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from retention_xl.cli import main
from retention_xl.datasets import sample_paths
from retention_xl.engines.sources import parse_source
from retention_xl.errors import ExportError, InputError
from retention_xl.io import sources, tables
from retention_xl.io.readers import read_customers, read_subscriptions, read_survey
from retention_xl.io.report import Import

PAYLOAD = '=HYPERLINK("http://evil","x")'
FORMS = ("folder", "parquet-glob", "csv-glob", "duckdb")
OPTIONS = ("subscriptions", "survey", "customers")
READERS: dict[str, Callable[..., Import]] = {
    "subscriptions": read_subscriptions,
    "survey": read_survey,
    "customers": read_customers,
}
#: the date columns a lake keeps as timestamps
DATES = {
    "subscriptions": ["start_date", "end_date"],
    "survey": ["answered_at"],
    "customers": [],
}
#: rows of each part (uneven, so a row number cannot be guessed from another file's)
SPLIT = (0.45, 0.8)


def _customers() -> pd.DataFrame:
    """A Shopify customers export of the sample's first customers (a name is a payload)."""
    ids = pd.read_csv(sample_paths().orders, dtype=str)["customer_id"].drop_duplicates()[:40]
    n = len(ids)
    return pd.DataFrame(
        {
            "Customer ID": list(ids),
            "First Name": [PAYLOAD if i == 7 else f"Name{i}" for i in range(n)],
            "Last Name": [f"Last{i}" for i in range(n)],
            "Email": [f"{c.lower()}@example.com" for c in ids],
            "Accepts Email Marketing": ["yes" if i % 3 else "no" for i in range(n)],
            "Default Address City": ["Milano"] * n,
            "Default Address Country Code": ["IT"] * n,
            "Total Spent": [float(10 * i) for i in range(n)],
            "Total Orders": [i % 4 for i in range(n)],
            "Tags": ["vip" if i % 5 == 0 else "" for i in range(n)],
        }
    )


def _csv_frame(option: str) -> pd.DataFrame:
    """The export as text, as its CSV holds it."""
    if option == "customers":
        return _customers().astype(str).replace({"": ""})
    path = getattr(sample_paths(), option)
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _typed(option: str) -> pd.DataFrame:
    """The export as a lake keeps it: dates as timestamps, numbers as numbers."""
    if option == "customers":
        return _customers()
    out = pd.read_csv(getattr(sample_paths(), option))
    for name in DATES[option]:
        out[name] = pd.to_datetime(out[name])
    return out


def _pieces(frame: pd.DataFrame) -> list[pd.DataFrame]:
    a, b = (int(len(frame) * f) for f in SPLIT)
    return [frame.iloc[:a], frame.iloc[a:b], frame.iloc[b:]]


def write_form(form: str, option: str, folder: Path, frame: pd.DataFrame | None = None) -> str:
    """Write the export of ``option`` under ``folder`` in ``form``; returns the value
    to give the option. ``frame`` replaces the export's cells (text for a CSV glob)."""
    folder.mkdir(parents=True, exist_ok=True)
    if form == "csv-glob":
        data = _csv_frame(option) if frame is None else frame
        for i, piece in enumerate(_pieces(data)):
            piece.to_csv(folder / f"{option}-{i}.csv", index=False)
        return str(folder / f"{option}-*.csv")
    data = _typed(option) if frame is None else frame
    if form == "duckdb":
        db = folder / "shop.duckdb"
        con = duckdb.connect(str(db))
        try:
            con.register("frame_view", data)
            con.execute(f'CREATE TABLE "{option}" AS SELECT * FROM frame_view')
        finally:
            con.close()
        return f"duckdb:{db}?table={option}"
    for i, piece in enumerate(_pieces(data)):
        if form == "folder":  # partitions: every file is part-0.parquet
            (folder / f"year={2022 + i}").mkdir(exist_ok=True)
            piece.to_parquet(folder / f"year={2022 + i}" / "part-0.parquet", index=False)
        else:
            piece.to_parquet(folder / f"{option}-{i}.parquet", index=False)
    return str(folder) if form == "folder" else str(folder / f"{option}-*.parquet")


def _one_csv(option: str, folder: Path) -> Path:
    path = folder / f"{option}.csv"
    _csv_frame(option).to_csv(path, index=False)
    return path


# --------------------------------------------------------------------------- same numbers


@pytest.mark.parametrize("option", OPTIONS)
@pytest.mark.parametrize("form", FORMS)
def test_each_form_reads_as_the_one_csv(tmp_path, form, option):
    value = write_form(form, option, tmp_path / "src")
    got = READERS[option](value)
    want = READERS[option](_one_csv(option, tmp_path))
    pd.testing.assert_frame_equal(got.frame, want.frame)
    a, b = got.report, want.report
    assert (a.format, a.rows_read, a.records, a.customers) == (
        b.format,
        b.rows_read,
        b.records,
        b.customers,
    )
    assert a.file == parse_source(value, option=option).label


def _kpis_json(args: list[str]) -> dict[str, Any]:
    res = CliRunner().invoke(main, ["kpis", "--json", *args])
    assert res.exit_code == 0, res.output
    return dict(json.loads(res.stdout))


@pytest.mark.parametrize("option", OPTIONS)
@pytest.mark.parametrize("form", FORMS)
def test_kpis_of_each_form_equal_the_csv_run(tmp_path, form, option):
    orders = ["--orders", str(sample_paths().orders)]
    value = write_form(form, option, tmp_path / "src")
    got = _kpis_json([*orders, f"--{option}", value])
    want = _kpis_json([*orders, f"--{option}", str(_one_csv(option, tmp_path))])
    assert got["kpis"] == want["kpis"]
    a = got["imports"][option]
    b = want["imports"][option]
    for key in ("format", "rows_read", "records", "customers", "first_date", "last_date"):
        assert a[key] == b[key], key
    if option != "customers":  # the customers export adds names, never a KPI
        names = {row["kpi"] for row in got["kpis"]}
        assert ("mrr" if option == "subscriptions" else "nps") in names


@pytest.mark.parametrize(
    "forms",
    [
        {"subscriptions": "folder", "survey": "duckdb", "customers": "csv-glob"},
        {"subscriptions": "duckdb", "survey": "parquet-glob", "customers": "folder"},
    ],
)
def test_cli_subprocess_gives_the_numbers_of_the_csv_files(run_cli, tmp_path, forms):
    paths = sample_paths()
    csv = run_cli(
        "kpis", "--json", "--orders", str(paths.orders),
        "--subscriptions", str(paths.subscriptions), "--survey", str(paths.survey),
        "--customers", str(_one_csv("customers", tmp_path)),
    )  # fmt: skip
    args = []
    for option, form in forms.items():
        args += [f"--{option}", write_form(form, option, tmp_path / option)]
    lake = run_cli("kpis", "--json", "--orders", str(paths.orders), *args)
    assert csv.returncode == 0 and lake.returncode == 0, lake.stderr
    a, b = json.loads(csv.stdout), json.loads(lake.stdout)
    assert a["kpis"] == b["kpis"]
    for option in forms:
        assert a["imports"][option]["records"] == b["imports"][option]["records"] > 0


def test_a_duckdb_table_defaults_to_the_option_name(tmp_path):
    value = write_form("duckdb", "survey", tmp_path)
    bare = value.partition("?")[0]  # duckdb:FILE, no ?table=
    assert parse_source(bare, option="survey").table == "survey"
    plain = read_survey(bare).frame
    pd.testing.assert_frame_equal(plain, read_survey(value).frame)
    db = Path(bare.removeprefix("duckdb:"))
    pd.testing.assert_frame_equal(read_survey(db).frame, plain)  # the file, by its header


def test_duckdb_column_types_read_as_the_csv(tmp_path):
    """DECIMAL money, DATE days with NULLs, HUGEINT counts: numbers and dates as in the
    CSV (a DECIMAL is the number a sheet would hold)."""
    csv = sample_paths().subscriptions
    db = tmp_path / "typed.duckdb"
    con = duckdb.connect(str(db))
    try:
        con.execute(
            "CREATE TABLE subscriptions AS SELECT customer_id, subscription_id, "
            "CAST(start_date AS DATE) AS start_date, CAST(end_date AS DATE) AS end_date, "
            'CAST(amount AS DECIMAL(12, 2)) AS amount, "interval", '
            "CAST(interval_count AS HUGEINT) AS interval_count, status "
            f"FROM read_csv('{csv}', all_varchar = true)"
        )
        types = dict(con.execute("DESCRIBE subscriptions").fetchall()[i][:2] for i in range(8))
    finally:
        con.close()
    assert types["amount"] == "DECIMAL(12,2)" and types["end_date"] == "DATE"
    got = read_subscriptions(f"duckdb:{db}").frame
    pd.testing.assert_frame_equal(got, read_subscriptions(csv).frame)


def test_a_duckdb_view_in_a_schema(tmp_path):
    """A view has no rowid: its rows are numbered in the order it gives them."""
    db = tmp_path / "shop.duckdb"
    con = duckdb.connect(str(db))
    try:
        con.register("frame_view", _typed("survey"))
        con.execute("CREATE SCHEMA crm")
        con.execute("CREATE TABLE crm.raw AS SELECT * FROM frame_view")
        con.execute("CREATE VIEW crm.answers AS SELECT * FROM crm.raw WHERE score <> 99")
        con.execute("UPDATE crm.raw SET score = 11 WHERE rowid = 4")
    finally:
        con.close()
    with pytest.raises(ExportError) as err:
        read_survey(f"duckdb:{db}?table=crm.answers")
    assert str(err.value).startswith("shop.duckdb, table crm.answers row 5, column 'score'")


def test_two_header_rows_in_every_file_of_a_glob(tmp_path):
    """SurveyMonkey: each file has its own second header row; rows stay numbered in
    their own file (data from row 3)."""
    q = "How likely is it that you would recommend this company to a friend or colleague?"
    head = (
        "Respondent ID,Collector ID,Start Date,End Date,IP Address,Email Address,"
        f'"{q}"\r\n,,,,,,Response\r\n'
    )
    one = (
        "1,431,03/13/2024 10:00:00 AM,03/13/2024 10:05:00 AM,1.2.3.4,a@x.com,9\r\n"
        "2,431,03/14/2024 10:00:00 AM,03/14/2024 10:05:00 AM,1.2.3.4,b@x.com,2\r\n"
    )
    two = (
        "3,431,03/15/2024 10:00:00 AM,03/15/2024 10:05:00 AM,1.2.3.4,c@x.com,10\r\n"
        "4,431,03/16/2024 10:00:00 AM,03/16/2024 10:05:00 AM,1.2.3.4,d@x.com,11\r\n"
    )
    (tmp_path / "sm-1.csv").write_text(head + one, encoding="utf-8")
    (tmp_path / "sm-2.csv").write_text(head + two.replace(",11", ",7"), encoding="utf-8")
    imp = read_survey(str(tmp_path / "sm-*.csv"))
    assert imp.report.format == "surveymonkey"
    assert imp.frame["score"].tolist() == [9.0, 2.0, 10.0, 7.0]
    (tmp_path / "sm-2.csv").write_text(head + two, encoding="utf-8")
    with pytest.raises(ExportError) as err:
        read_survey(str(tmp_path / "sm-*.csv"))
    assert str(err.value).startswith("sm-2.csv, row 4, column ")


# --------------------------------------------------------------------------- located errors


def _bad_cell(frame: pd.DataFrame, column: str, position: int, value: object) -> pd.DataFrame:
    out = frame.copy()
    out[column] = out[column].astype(object)
    out.iloc[position, out.columns.get_loc(column)] = value
    return out


def test_a_bad_cell_in_the_second_csv_file_names_it_and_its_row(tmp_path):
    frame = _csv_frame("subscriptions")
    second_start = int(len(frame) * SPLIT[0])
    bad = _bad_cell(frame, "amount", second_start + 4, "abc")  # the 5th record of file 2
    value = write_form("csv-glob", "subscriptions", tmp_path, bad)
    with pytest.raises(ExportError) as err:
        read_subscriptions(value)
    assert str(err.value).startswith("subscriptions-1.csv, row 6, column 'amount': not a number")
    assert err.value.file == str(tmp_path / "subscriptions-1.csv") and err.value.row == 6
    skipped = read_subscriptions(value, skip_bad_rows=True).report
    assert skipped.rows_skipped == 1
    assert skipped.skipped[0].startswith("subscriptions-1.csv row 6, column 'amount'")


def test_a_bad_cell_in_a_partition_names_its_path_in_the_folder(tmp_path):
    frame = _typed("survey")
    third_start = int(len(frame) * SPLIT[1])
    bad = _bad_cell(frame, "score", third_start + 9, 11.0)  # an NPS score of 11
    value = write_form("folder", "survey", tmp_path / "lake", bad)
    with pytest.raises(ExportError) as err:
        read_survey(value)
    assert str(err.value).startswith("year=2024/part-0.parquet, row 11, column 'score': ")
    assert "0 to 10" in str(err.value)


def test_a_bad_cell_of_a_duckdb_table_is_named_by_table_and_row(tmp_path):
    frame = _typed("subscriptions")
    bad = _bad_cell(frame, "start_date", 30, None)  # a blank start date on the 31st row
    value = write_form("duckdb", "subscriptions", tmp_path, bad)
    with pytest.raises(ExportError) as err:
        read_subscriptions(value)
    assert str(err.value).startswith(
        "shop.duckdb, table subscriptions row 31, column 'start_date': the cell is blank"
    )


def test_rows_without_an_id_get_one_per_file(tmp_path):
    """Without a subscription id column each row is its own item: ids name the file,
    so the same row number in two files is two items."""
    frame = _csv_frame("subscriptions").drop(columns="subscription_id")
    value = write_form("csv-glob", "subscriptions", tmp_path, frame)
    got = read_subscriptions(value).frame
    ids = got["subscription_id"].tolist()
    assert len(set(ids)) == len(ids) == len(frame)
    assert "subscriptions-0.csv row 2" in ids and "subscriptions-1.csv row 2" in ids


def test_the_cli_names_the_file_and_row_and_writes_nothing(run_cli, tmp_path):
    frame = _csv_frame("survey")
    bad = _bad_cell(frame, "answered_at", 2, "yesterday")
    value = write_form("csv-glob", "survey", tmp_path / "src", bad)
    before = {p: p.read_bytes() for p in (tmp_path / "src").iterdir()}
    res = run_cli(
        "build", "--orders", str(sample_paths().orders), "--survey", value, "--out", "r.xlsx"
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "survey-0.csv, row 4, column 'answered_at': not a date" in res.stderr
    assert not (tmp_path / "r.xlsx").exists()
    assert {p: p.read_bytes() for p in (tmp_path / "src").iterdir()} == before


# --------------------------------------------------------------------------- refusals


def test_a_glob_that_matches_nothing_names_the_option_and_pattern(tmp_path):
    pattern = str(tmp_path / "subs-*.csv")
    with pytest.raises(InputError) as err:
        read_subscriptions(pattern)
    assert str(err.value).startswith(f"--subscriptions {pattern!r} matches no file")
    assert err.value.argument == "subscriptions"


def test_a_mistyped_source_is_refused_before_the_orders_are_read(tmp_path, monkeypatch):
    from retention_xl.io import inputs

    read: list[object] = []
    monkeypatch.setattr(inputs, "_read_orders_source", lambda *a, **k: read.append(a))
    with pytest.raises(InputError, match=r"^--customers .*: there is no such file or folder"):
        inputs.load_inputs(orders=sample_paths().orders, customers=tmp_path / "customers.csv")
    assert read == []


def test_a_folder_without_parquet_files(tmp_path):
    write_form("csv-glob", "survey", tmp_path)
    with pytest.raises(InputError, match=r"^--survey .*the folder holds no Parquet file"):
        read_survey(tmp_path)


def test_a_glob_of_parquet_and_csv_files(tmp_path):
    write_form("csv-glob", "survey", tmp_path)
    _typed("survey").to_parquet(tmp_path / "survey-9.parquet")
    with pytest.raises(InputError, match=r"matches both Parquet and CSV files \(survey-9\.parquet"):
        read_survey(str(tmp_path / "survey-*"))


@pytest.mark.parametrize("form", ["csv-glob", "parquet-glob"])
def test_files_with_other_columns_name_the_first_that_differs(tmp_path, form):
    write_form(form, "subscriptions", tmp_path)
    suffix = "csv" if form == "csv-glob" else "parquet"
    second = tmp_path / f"subscriptions-1.{suffix}"
    third = tmp_path / f"subscriptions-2.{suffix}"
    for path in (second, third):
        frame = pd.read_csv(path) if suffix == "csv" else pd.read_parquet(path)
        frame = frame.drop(columns="status").assign(plan="gold")
        frame.to_csv(path, index=False) if suffix == "csv" else frame.to_parquet(path)
    with pytest.raises(ExportError) as err:
        read_subscriptions(str(tmp_path / f"subscriptions-*.{suffix}"))
    assert str(err.value).startswith(
        f"subscriptions-1.{suffix}, row 1: has other columns than subscriptions-0.{suffix} "
        f"(it lacks 'status'; it has 'plan', which subscriptions-0.{suffix} has not)"
    )


def test_csv_files_with_another_separator(tmp_path):
    write_form("csv-glob", "survey", tmp_path)
    path = tmp_path / "survey-2.csv"
    pd.read_csv(path, dtype=str, keep_default_na=False).to_csv(path, sep=";", index=False)
    with pytest.raises(ExportError, match=r"^survey-2\.csv, row 1: is separated by ';' where"):
        read_survey(str(tmp_path / "survey-*.csv"))


def test_a_missing_table_names_the_tables_there_are(tmp_path):
    value = write_form("duckdb", "survey", tmp_path)
    with pytest.raises(ExportError) as err:
        read_survey(value.replace("table=survey", "table=answers"))
    assert str(err.value) == (
        f"shop.duckdb: has no table 'answers' (its tables: survey). Name one with "
        f"duckdb:{tmp_path / 'shop.duckdb'}?table=NAME"
    )


def test_rows_above_the_limit_are_refused_from_the_parquet_footers(tmp_path, monkeypatch):
    value = write_form("parquet-glob", "subscriptions", tmp_path)
    total = len(_typed("subscriptions"))
    monkeypatch.setattr(tables, "MAX_PARQUET_ROWS", total - 1)
    read: list[object] = []
    monkeypatch.setattr(sources, "read_parquet_cells", lambda p: read.append(p))
    with pytest.raises(InputError) as err:
        read_subscriptions(value)
    assert str(err.value).startswith(
        f"--subscriptions {value!r}: its 3 files hold {total:,} rows, more than the "
        f"{total - 1:,} a sheet holds below its header"
    )
    assert read == []  # refused before any data page was read
    monkeypatch.undo()
    assert read_subscriptions(value).report.rows_read == total


def test_rows_above_the_limit_are_refused_from_the_duckdb_count(tmp_path, monkeypatch):
    value = write_form("duckdb", "survey", tmp_path)
    total = len(_typed("survey"))
    monkeypatch.setattr(tables, "MAX_PARQUET_ROWS", total - 1)
    cells: list[object] = []
    monkeypatch.setattr(sources, "frame_cells", lambda f: cells.append(f))
    with pytest.raises(InputError, match=rf"the table holds {total:,} rows, more than the"):
        read_survey(value)
    assert cells == []


def test_rows_above_the_limit_in_csv_files_stop_the_reading(tmp_path, monkeypatch):
    value = write_form("csv-glob", "survey", tmp_path)
    first_two = int(len(_csv_frame("survey")) * SPLIT[1])
    monkeypatch.setattr(tables, "MAX_PARQUET_ROWS", first_two - 1)
    with pytest.raises(InputError, match=rf"its first 2 files hold {first_two:,} rows"):
        read_survey(value)


# --------------------------------------------------------------------------- text stays text


def test_text_from_a_duckdb_table_and_a_csv_glob_stays_text(run_cli, tmp_path):
    customers = write_form("duckdb", "customers", tmp_path / "db")
    survey = _bad_cell(_csv_frame("survey"), "customer_id", 0, "@SUM(1+1)")
    res = run_cli(
        "build", "--orders", str(sample_paths().orders), "--customers", customers,
        "--survey", write_form("csv-glob", "survey", tmp_path / "csv", survey),
        "--out", "r.xlsx",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        book = openpyxl.load_workbook(tmp_path / "r.xlsx")
    cells = [c for ws in book for row in ws.iter_rows() for c in row]
    names = [c for c in cells if isinstance(c.value, str) and c.value.startswith(PAYLOAD)]
    ids = [c for c in cells if c.value == "@SUM(1+1)"]
    assert names and ids  # the customer's name, the survey's customer id
    assert all(c.data_type == "s" for c in names + ids)
