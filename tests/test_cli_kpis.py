"""`retention-xl demo` and `retention-xl kpis` run as a user runs them."""

from __future__ import annotations

import json

import pytest

from retention_xl.core.report import kpi_report
from retention_xl.datasets import load_sample, sample_paths


def test_demo_prints_the_kpi_table_with_benchmarks(run_cli):
    res = run_cli("demo")
    assert res.returncode == 0, res.stderr
    assert "Repeat purchase rate" in res.stdout
    assert "Churn rate" in res.stdout
    assert "excellent at" in res.stdout


def test_demo_json_equals_the_core(run_cli):
    res = run_cli("demo", "--json", "--cac", "45")
    assert res.returncode == 0, res.stderr
    payload = json.loads(res.stdout)
    s = load_sample()
    core = kpi_report(s.orders, s.subscriptions, s.survey, cac=45.0)
    got = {r["kpi"]: r["value"] for r in payload["kpis"]}
    for key in ("churn", "crr", "repeat_rate", "clv", "clv_cac", "mrr", "nps", "csat"):
        assert got[key] == pytest.approx(core.value(key), rel=1e-12), key


def test_kpis_on_the_bundled_csv_files(run_cli):
    paths = sample_paths()
    res = run_cli("kpis", "--orders", str(paths.orders), "--survey", str(paths.survey), "--json")
    assert res.returncode == 0, res.stderr
    payload = json.loads(res.stdout)
    assert payload["imports"]["orders"]["duplicates_removed"] > 0
    got = {r["kpi"]: r["value"] for r in payload["kpis"]}
    s = load_sample()
    assert got["repeat_rate"] == pytest.approx(kpi_report(s.orders).value("repeat_rate"))


def test_kpis_reads_an_italian_export(run_cli, tmp_path):
    text = (
        "Cliente;N. ordine;Data ordine;Importo\n"
        "Rossi;1001;05/01/2024;1.234,50\n"
        "Bianchi;1002;06/01/2024;20,00\n"
        "Rossi;1003;15/03/2024;30,00\n"
        "Rossi;1003;15/03/2024;30,00\n"
    )
    path = tmp_path / "ordini.csv"
    path.write_bytes(text.encode("cp1252"))
    res = run_cli("kpis", "--orders", str(path), "--json")
    assert res.returncode == 0, res.stderr
    got = {r["kpi"]: r["value"] for r in json.loads(res.stdout)["kpis"]}
    assert got["orders"] == 3
    assert got["revenue"] == pytest.approx(1284.50)
    assert got["repeat_rate"] == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("customer_id,order_id,order_date,amount\na,1,2024-01-01,dieci\n", "row 2"),
        ("cliente,foo\nx,y\n", "--map"),
    ],
)
def test_kpis_bad_input_is_one_line_and_exit_2(run_cli, tmp_path, content, needle):
    path = tmp_path / "orders.csv"
    path.write_text(content)
    res = run_cli("kpis", "--orders", str(path))
    assert res.returncode == 2
    assert needle in res.stderr
    assert "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (("--as-of", "someday"), "as_of"),
        (("--cac", "0"), "cac"),
    ],
)
def test_kpis_bad_option_is_one_line_and_exit_2(run_cli, extra, needle):
    res = run_cli("kpis", "--orders", str(sample_paths().orders), "--json", *extra)
    assert res.returncode == 2, res.stdout
    assert needle in res.stderr
    assert "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr


def test_kpis_missing_file_is_one_line_and_exit_2(run_cli, tmp_path):
    res = run_cli("kpis", "--orders", str(tmp_path / "nowhere.csv"))
    assert res.returncode == 2
    assert "nowhere.csv" in res.stderr
    assert "Traceback" not in res.stderr


def test_kpis_with_subscriptions_equals_the_core(run_cli):
    paths = sample_paths()
    res = run_cli(
        "kpis",
        "--orders",
        str(paths.orders),
        "--subscriptions",
        str(paths.subscriptions),
        "--survey",
        str(paths.survey),
        "--json",
    )
    assert res.returncode == 0, res.stderr
    got = {r["kpi"]: r["value"] for r in json.loads(res.stdout)["kpis"]}
    s = load_sample()
    core = kpi_report(s.orders, s.subscriptions, s.survey)
    for key in ("mrr", "nrr", "grr", "quick_ratio", "arpa", "nps", "csat", "churn"):
        assert key in got, key
        if got[key] is None:
            assert core.value(key) != core.value(key), key  # NaN in the core too
        else:
            assert got[key] == pytest.approx(core.value(key), rel=1e-12), key


def test_kpis_needs_a_file(run_cli):
    res = run_cli("kpis")
    assert res.returncode == 2
    assert "at least one" in res.stderr


def test_demo_in_italian_names_the_kpis_from_the_workbooks_glossary(tmp_path, run_cli) -> None:
    from retention_xl.workbook.labels import label

    result = run_cli("demo", "--lang", "it", "--out", str(tmp_path / "demo_it.xlsx"))
    assert result.returncode == 0, result.stderr
    for key in ("churn", "repeat_rate", "crr"):
        assert label(f"kpi.{key}", "it") in result.stdout
    assert "Repeat purchase rate" not in result.stdout and "excellent" not in result.stdout
    assert "eccellente da" in result.stdout and "dicembre 2024" in result.stdout
    assert "624.958,89 EUR" in result.stdout  # Italian separators
