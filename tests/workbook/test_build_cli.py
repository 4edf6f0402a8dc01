"""`retention-xl template`, `build` and `demo`, run as a user runs them (subprocess)."""

from __future__ import annotations

import json
import warnings

import openpyxl
import pytest

from retention_xl.core.report import kpi_report
from retention_xl.datasets import load_sample, sample_paths


def _load(path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return openpyxl.load_workbook(path, **kwargs)


@pytest.mark.parametrize(("lang", "first", "orders"), [("en", "Dashboard", "Orders"),
                                                       ("it", "Cruscotto", "Ordini")])  # fmt: skip
def test_template(run_cli, tmp_path, lang, first, orders):
    res = run_cli("template", "--out", "t.xlsx", "--lang", lang, "--currency", "USD")
    assert res.returncode == 0, res.stderr
    assert "t.xlsx" in res.stdout
    book = _load(tmp_path / "t.xlsx")
    assert book.sheetnames[0] == first and orders in book.sheetnames
    kpis = book.worksheets[1]
    assert '"$"' in kpis["B7"].number_format  # CAC input in dollars


def test_build_from_the_bundled_exports(run_cli, tmp_path):
    paths = sample_paths()
    res = run_cli(
        "build", "--orders", str(paths.orders), "--subscriptions", str(paths.subscriptions),
        "--survey", str(paths.survey), "--cac", "45", "--lang", "it", "--target", "churn=0.5",
        "--out", "report.xlsx",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "duplicates removed 51" in res.stderr
    book = _load(tmp_path / "report.xlsx", data_only=True)
    kpis = book["KPI"]
    s = load_sample()
    core = kpi_report(s.orders, s.subscriptions, s.survey, cac=45.0)
    name = book.defined_names["KPI_churn"].attr_text.split("!")[1].replace("$", "")
    assert kpis[name].value == pytest.approx(core.value("churn"), rel=1e-12)
    target = book.defined_names["Target_Churn"].attr_text.split("!")[1].replace("$", "")
    assert kpis[target].value == 0.5
    about = book["Informazioni"]
    texts = [c.value for row in about.iter_rows() for c in row if isinstance(c.value, str)]
    assert any("orders.csv" in t for t in texts)


def test_build_errors_are_one_line(run_cli, tmp_path):
    res = run_cli("build", "--out", "x.xlsx")
    assert res.returncode == 2 and "--orders" in res.stderr
    paths = sample_paths()
    res = run_cli("build", "--orders", str(paths.orders), "--out", "x.xlsx", "--target", "x=1")
    assert res.returncode == 2 and "--target" in res.stderr
    assert "Traceback" not in res.stderr


def test_build_no_raw(run_cli, tmp_path):
    paths = sample_paths()
    res = run_cli("build", "--orders", str(paths.orders), "--no-raw", "--out", "n.xlsx")
    assert res.returncode == 0, res.stderr
    book = _load(tmp_path / "n.xlsx", read_only=True)
    assert book["Orders"].max_row <= 2
    assert book["Customers"].max_row > 2000


def test_demo_writes_the_report_and_prints_its_path(run_cli, tmp_path):
    res = run_cli("demo")
    assert res.returncode == 0, res.stderr
    path = tmp_path / "retention_demo.xlsx"
    assert path.exists() and str(path) in res.stdout
    assert "Repeat purchase rate" in res.stdout
    res = run_cli("demo", "--json", "--out", "other.xlsx")
    payload = json.loads(res.stdout)
    assert payload["workbook"].endswith("other.xlsx") and (tmp_path / "other.xlsx").exists()


def test_build_on_few_orders_notes_the_model_and_still_writes(run_cli, tmp_path):
    (tmp_path / "tiny.csv").write_text(
        "customer_id,order_id,order_date,amount\na,1,2024-03-05,10\nb,2,2024-03-06,20\n"
        "a,3,2024-03-09,5\n",
        encoding="utf-8",
    )
    res = run_cli("build", "--orders", "tiny.csv", "--out", "tiny.xlsx")
    assert res.returncode == 0, res.stderr
    assert "note: customers at risk left blank" in res.stderr
    assert (tmp_path / "tiny.xlsx").exists()
