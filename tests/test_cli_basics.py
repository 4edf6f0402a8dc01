"""The command line as a user meets it: help, version, and errors without tracebacks."""

import retention_xl


def test_version_and_help(run_cli):
    res = run_cli("--version")
    assert res.returncode == 0
    assert retention_xl.__version__ in res.stdout
    res = run_cli("--help")
    assert res.returncode == 0
    assert "Usage" in res.stdout


def test_unknown_command_is_a_usage_error_without_traceback(run_cli):
    res = run_cli("no-such-command")
    assert res.returncode == 2
    assert "Traceback" not in res.stderr


def _commands(run_cli) -> list[str]:
    """The commands ``retention-xl --help`` lists."""
    listing = run_cli("--help").stdout.split("Commands:", 1)[1]
    return [line.split()[0] for line in listing.splitlines() if line.strip()]


def test_every_command_answers_help(run_cli):
    commands = _commands(run_cli)
    assert {"check", "kpis", "demo", "functions"} <= set(commands)
    for command in commands:
        res = run_cli(command, "--help")
        assert res.returncode == 0, (command, res.stderr)
        assert f"retention-xl {command}" in res.stdout
        assert "Options:" in res.stdout
        assert "--help" in res.stdout


def test_help_lists_every_command_in_full_and_shows_examples(run_cli) -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    listed = [line.split(None, 1) for line in result.stdout.split("Commands:")[1].splitlines()]
    summaries = {parts[0]: parts[1] for parts in listed if len(parts) == 2}
    assert set(summaries) >= {"build", "check", "demo", "kpis", "lite", "predict", "refresh"}
    assert not [s for s in summaries.values() if s.endswith("...")]  # none cut
    for command in summaries:
        own = run_cli(command, "--help")
        assert "Examples:\n    retention-xl " + command in own.stdout, command


def test_template_without_out_writes_a_default_name(tmp_path, run_cli) -> None:
    assert run_cli("template").returncode == 0
    assert run_cli("template", "--lang", "it").returncode == 0
    assert (tmp_path / "retention_template.xlsx").stat().st_size > 10_000
    assert (tmp_path / "modello_retention.xlsx").stat().st_size > 10_000


def test_build_template_and_predict_speak_json(tmp_path, run_cli) -> None:
    import json

    from retention_xl.datasets import load_sample

    orders = tmp_path / "orders.csv"
    sample = load_sample().orders
    sample.to_csv(orders, index=False, date_format="%Y-%m-%d")
    built = run_cli("build", "--orders", str(orders), "--out", "r.xlsx", "--json")
    assert built.returncode == 0, built.stderr
    payload = json.loads(built.stdout)
    assert payload["workbook"].endswith("r.xlsx") and "KPIs" in payload["sheets"]
    kpis = {k["kpi"]: k["value"] for k in payload["kpis"]}
    assert kpis["orders"] > 0 and kpis["customers"] > 0
    template = json.loads(run_cli("template", "--lang", "it", "--json").stdout)
    assert template["lang"] == "it" and template["workbook"].endswith("modello_retention.xlsx")
    predicted = run_cli("predict", "--orders", str(orders), "--out", "s.csv", "--json")
    assert predicted.returncode == 0, predicted.stderr
    scores = json.loads(predicted.stdout)
    assert scores["customers"] == len((tmp_path / "s.csv").read_text().splitlines()) - 1
    assert set(scores["parameters"]["purchases"]) == {"r", "alpha", "a", "b"}
    r = scores["parameters"]["purchases"]["r"]
    assert r["lower_95"] < r["value"] < r["upper_95"] and r["se"] > 0
    assert 0 <= scores["at_risk_share"] <= 1
