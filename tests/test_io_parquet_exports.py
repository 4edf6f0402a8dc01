"""Subscriptions, survey answers and customers kept as Parquet files in a lake.

``--subscriptions``, ``--survey`` and ``--customers`` read a Parquet file as they read
the CSV export with the same columns: the same layouts and checks, the same numbers.
Its limits are checked from the footer before any data page is read; a damaged file
is refused naming it; text stays text.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from retention_xl.datasets import sample_paths
from retention_xl.errors import ExportError
from retention_xl.io import tables
from retention_xl.io.readers import read_customers, read_subscriptions, read_survey

PAYLOAD = '=HYPERLINK("http://evil","x")'


def _typed(frame: pd.DataFrame, dates: list[str]) -> pd.DataFrame:
    """The CSV's columns as a lake keeps them: dates as timestamps, numbers as numbers."""
    out = frame.copy()
    for name in dates:
        out[name] = pd.to_datetime(out[name])
    return out


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("lake")
    paths = sample_paths()
    subs = _typed(pd.read_csv(paths.subscriptions), ["start_date", "end_date"])
    survey = _typed(pd.read_csv(paths.survey), ["answered_at"])
    out = {"subscriptions": folder / "subs.parquet", "survey": folder / "survey.parquet"}
    subs.to_parquet(out["subscriptions"])
    survey.to_parquet(out["survey"])
    return out


def test_parquet_subscriptions_and_survey_read_as_their_csv(lake):
    paths = sample_paths()
    csv_subs = read_subscriptions(paths.subscriptions)
    pq_subs = read_subscriptions(lake["subscriptions"])
    pd.testing.assert_frame_equal(pq_subs.frame, csv_subs.frame)
    assert pq_subs.report.records == csv_subs.report.records
    csv_survey, pq_survey = read_survey(paths.survey), read_survey(lake["survey"])
    pd.testing.assert_frame_equal(pq_survey.frame, csv_survey.frame)
    assert pq_survey.report.file == str(lake["survey"])


def test_cli_kpis_from_parquet_equal_the_csv_run(run_cli, lake):
    paths = sample_paths()
    csv = run_cli(
        "kpis", "--json", "--orders", str(paths.orders), "--subscriptions",
        str(paths.subscriptions), "--survey", str(paths.survey),
    )  # fmt: skip
    pq = run_cli(
        "kpis", "--json", "--orders", str(paths.orders), "--subscriptions",
        str(lake["subscriptions"]), "--survey", str(lake["survey"]),
    )  # fmt: skip
    assert csv.returncode == 0 and pq.returncode == 0, pq.stderr
    a, b = json.loads(csv.stdout)["kpis"], json.loads(pq.stdout)["kpis"]
    assert a == b
    names = {row["kpi"] for row in b}
    assert {"mrr", "nps"} <= names  # the subscriptions' and the survey's KPIs are there


def test_shopify_customers_parquet_keeps_text_as_text(run_cli, tmp_path):
    """A customers table with Shopify's columns, one name an injection payload: read
    like the CSV, and the payload lands in the workbook as a text cell."""
    customers = pd.DataFrame(
        {
            "Customer ID": ["6903445389482", "6903445389483"],
            "First Name": ["Ada", PAYLOAD],
            "Last Name": ["Lovelace", ""],
            "Email": ["ada@example.com", "bob@example.com"],
            "Accepts Email Marketing": ["yes", "no"],
            "Default Address City": ["Milano", "Torino"],
            "Default Address Country Code": ["IT", "IT"],
            "Total Spent": [120.0, 0.0],
            "Total Orders": [2, 0],
            "Tags": ["vip", "@SUM(1+1)"],
        }
    )
    path = tmp_path / "customers.parquet"
    customers.to_parquet(path)
    csv = tmp_path / "customers_export.csv"
    customers.to_csv(csv, index=False)
    got, want = read_customers(path), read_customers(csv)
    assert got.report.format == want.report.format == "shopify-customers"
    pd.testing.assert_frame_equal(got.frame, want.frame)
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "customer_id,order_id,order_date,amount\n"
        "ada@example.com,1,2024-01-05,50\nada@example.com,2,2024-03-05,70\n"
        "bob@example.com,3,2024-02-01,30\n",
        encoding="utf-8",
    )
    res = run_cli(
        "build", "--orders", str(orders), "--customers", str(path), "--out", "r.xlsx",
        cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        book = openpyxl.load_workbook(tmp_path / "r.xlsx")
    found = [c for ws in book for row in ws.iter_rows() for c in row if c.value == PAYLOAD]
    assert found and all(c.data_type == "s" for c in found)


def test_zone_aware_timestamps_are_read_as_their_wall_time(tmp_path):
    frame = pd.read_csv(sample_paths().survey).head(50)
    stamps = pd.to_datetime(frame["answered_at"])
    frame["answered_at"] = stamps.dt.tz_localize("Europe/Rome")
    path = tmp_path / "survey.parquet"
    frame.to_parquet(path)
    got = read_survey(path).frame
    want = read_survey(sample_paths().survey).frame.head(50)
    np.testing.assert_array_equal(got.iloc[:, 0].to_numpy(), want.iloc[:, 0].to_numpy())


def test_a_damaged_parquet_file_is_refused_naming_it(run_cli, tmp_path, lake):
    bad = tmp_path / "subs.parquet"
    data = lake["subscriptions"].read_bytes()
    bad.write_bytes(data[:200] + b"\0" * 64 + data[-300:])
    with pytest.raises(ExportError, match=r"subs\.parquet: cannot be read as a Parquet file"):
        read_subscriptions(bad)
    res = run_cli("kpis", "--orders", str(sample_paths().orders), "--subscriptions", str(bad))
    assert res.returncode == 2
    assert "subs.parquet" in res.stderr and "Traceback" not in res.stderr


def test_row_limit_is_checked_from_the_footer(monkeypatch, lake):
    read = []
    monkeypatch.setattr(tables, "MAX_PARQUET_ROWS", 10)
    import pyarrow.parquet as pq

    original = pq.read_table
    monkeypatch.setattr(pq, "read_table", lambda *a, **k: read.append(a) or original(*a, **k))
    with pytest.raises(ExportError, match=r"rows, more than the 10 a sheet holds"):
        read_subscriptions(lake["subscriptions"])
    assert read == []  # refused before reading any data page
