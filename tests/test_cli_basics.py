"""The command line as a user meets it: help, version, and errors without tracebacks."""

from pathlib import Path

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


def _run_in_terminal(args: list[str], cwd: Path) -> str:
    """Run the CLI with a pseudo-terminal as stdout and stderr, as a person runs it."""
    import os
    import pty
    import subprocess
    import sys

    main_fd, child_fd = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "retention_xl", *args],
        stdout=child_fd,
        stderr=child_fd,
        cwd=cwd,
        close_fds=True,
    )
    os.close(child_fd)
    chunks = []
    while True:
        try:
            data = os.read(main_fd, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=300)
    os.close(main_fd)
    assert proc.returncode == 0, b"".join(chunks).decode(errors="replace")
    return b"".join(chunks).decode(errors="replace")


def test_long_commands_show_their_steps_in_a_terminal_and_q_silences_them(
    tmp_path: Path,
) -> None:
    from retention_xl.datasets import sample_paths

    orders = str(sample_paths().orders)
    shown = _run_in_terminal(["build", "--orders", orders, "--out", "r.xlsx"], tmp_path)
    assert "[1/3] Reading the exports" in shown
    assert "[2/3] Fitting the models and computing the report" in shown
    assert "[3/3] Writing r.xlsx" in shown and "Workbook written" in shown
    quiet = _run_in_terminal(["build", "--orders", orders, "--out", "q.xlsx", "-q"], tmp_path)
    assert "[1/3]" not in quiet and "Workbook written" not in quiet and quiet.strip() == ""
    assert (tmp_path / "q.xlsx").is_file()
    scored = _run_in_terminal(["predict", "--orders", orders, "--out", "s.csv"], tmp_path)
    assert "[1/3] Reading the orders" in scored and "[3/3] Writing s.csv" in scored
    silent = _run_in_terminal(["predict", "--orders", orders, "-q"], tmp_path)
    assert silent.strip() == ""


def test_steps_are_not_shown_to_scripts(tmp_path: Path, run_cli) -> None:
    from retention_xl.datasets import sample_paths

    result = run_cli(
        "build", "--orders", str(sample_paths().orders), "--out", str(tmp_path / "r.xlsx")
    )
    assert result.returncode == 0, result.stderr
    assert "[1/3]" not in result.stderr + result.stdout
