"""load_inputs, the shared CLI export options, the `check` command and progress bars."""

import json

import click
import pytest
from click.testing import CliRunner

from retention_xl.cli_options import ExportOptions, export_options, input_files
from retention_xl.errors import ExportError, InputError
from retention_xl.io import Inputs, load_inputs
from retention_xl.io.inputs import split_formats, split_mapping
from retention_xl.progress import enabled, progress

ORDERS_IT = (
    "Cliente;Numero ordine;Data ordine;Totale\n"
    "Rossi Niccolò;1;03/04/2024;10,50\n"
    "Verdi;2;04/04/2024;1.000,00\n"
    "Rossi Niccolò;3;05/05/2024;5,00\n"
)
SURVEY = "Data;Voto;Cliente\n03/04/2024;9;Rossi\n04/04/2024;3;Verdi\n"
SUBS = (
    "customer_id,subscription_id,start_date,end_date,amount,interval\na,s1,2024-01-01,,10,month\n"
)


@pytest.fixture
def files(tmp_path):
    paths = {}
    for name, text, enc in (
        ("ordini.csv", ORDERS_IT, "cp1252"),
        ("nps.csv", SURVEY, "utf-8"),
        ("subs.csv", SUBS, "utf-8"),
    ):
        p = tmp_path / name
        p.write_bytes(text.encode(enc))
        paths[name] = p
    return paths


def test_load_inputs_reads_every_kind(files):
    inputs = load_inputs(
        orders=files["ordini.csv"], subscriptions=files["subs.csv"], survey=files["nps.csv"]
    )
    assert isinstance(inputs, Inputs) and inputs
    assert inputs.orders["amount"].tolist() == [10.5, 1000.0, 5.0]
    assert inputs.subscriptions["amount"].tolist() == [10.0]
    assert inputs.survey["score"].tolist() == [9.0, 3.0]
    assert set(inputs.reports) == {"orders", "subscriptions", "survey"}
    assert inputs.reports["orders"].customers == 2
    lines = inputs.lines()
    assert lines[0].startswith("ordini.csv") and any(line.startswith("nps.csv") for line in lines)
    assert json.loads(json.dumps(inputs.as_dict()))["orders"]["records"] == 3


def test_load_inputs_needs_a_file_and_passes_options(files):
    with pytest.raises(InputError, match="--orders FILE"):
        load_inputs()
    inputs = load_inputs(survey=files["nps.csv"])
    assert inputs.orders is None and inputs.survey is not None
    # locale en reads "1.000,00" as not-a-number: the option reached the reader
    with pytest.raises(ExportError, match="not a number"):
        load_inputs(orders=files["ordini.csv"], locale="en")
    with pytest.raises(ExportError, match="no usable orders left \\(3 bad rows skipped\\)"):
        load_inputs(orders=files["ordini.csv"], locale="en", skip_bad_rows=True)


def test_format_and_map_split_by_kind():
    assert split_formats(["shopify", "stripe", "survey=surveymonkey"]) == {
        "orders": "shopify",
        "subscriptions": "stripe",
        "survey": "surveymonkey",
    }
    assert split_formats("generic") == dict.fromkeys(
        ("orders", "subscriptions", "survey"), "generic"
    )
    with pytest.raises(InputError, match="unknown format 'excel'"):
        split_formats(["excel"])
    with pytest.raises(InputError, match="unknown kind 'refunds'"):
        split_formats(["refunds=generic"])
    maps = split_mapping(["customer_id=Cliente", "orders.amount=Totale", "score=Voto"])
    assert maps["orders"] == {"customer_id": "Cliente", "amount": "Totale"}
    assert maps["survey"] == {"customer_id": "Cliente", "score": "Voto"}
    assert maps["subscriptions"] == {"customer_id": "Cliente"}
    with pytest.raises(InputError, match="unknown role 'prezzo'"):
        split_mapping(["prezzo=X"])


def test_export_options_decorator_builds_export_options(files):
    seen = {}

    @click.command()
    @input_files
    @export_options
    def cmd(orders, subscriptions, survey, customers, export):
        seen["export"] = export
        seen["inputs"] = export.load(orders=orders, subscriptions=subscriptions, survey=survey)

    res = CliRunner().invoke(
        cmd,
        [
            "--orders",
            str(files["ordini.csv"]),
            "--locale",
            "IT",
            "--map",
            "orders.amount=Totale",
            "--format",
            "orders=generic",
            "--rate",
            "EUR=1",
            "--date-format",
            "%d/%m/%Y",
            "--skip-bad-rows",
        ],
    )
    assert res.exit_code == 0, res.output
    assert seen["export"] == ExportOptions(
        format=("orders=generic",),
        locale="it",
        date_format="%d/%m/%Y",
        mapping=("orders.amount=Totale",),
        rates=("EUR=1",),
        encoding=None,
        skip_bad_rows=True,
    )
    assert seen["inputs"].orders["amount"].sum() == pytest.approx(1015.5)
    # --orders also takes folders, globs and duckdb: tables: it is resolved when read
    res = CliRunner().invoke(cmd, ["--orders", "missing.csv"])
    assert res.exit_code != 0
    assert "'missing.csv': there is no such file or folder" in str(res.exception)


def test_check_command_prints_the_report(run_cli, files):
    res = run_cli("check", "--orders", str(files["ordini.csv"]), "--survey", str(files["nps.csv"]))
    assert res.returncode == 0, res.stderr
    assert "ordini.csv: format generic, locale it, encoding cp1252" in res.stdout
    assert "rows read 3; orders 3; customers 2" in res.stdout
    res = run_cli("check", "--orders", str(files["ordini.csv"]), "--json")
    data = json.loads(res.stdout)
    assert data["orders"]["first_date"] == "2024-04-03"


def test_check_command_errors_are_one_line_with_location(run_cli, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("customer_id,order_id,order_date,amount\na,1,2024-01-05,12x\n")
    res = run_cli("check", "--orders", str(bad))
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert "bad.csv, row 2, column 'amount': not a number" in res.stderr
    res = run_cli("check")
    assert res.returncode == 2 and "no export given" in res.stderr


def test_progress_is_silent_when_not_a_terminal(capsys):
    assert not enabled()  # pytest captures stdout: not a TTY
    with progress(range(4), label="x") as steps:
        assert list(steps) == [0, 1, 2, 3]
    with progress(length=5) as bar:
        bar.update(5)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert not enabled(quiet=True)
