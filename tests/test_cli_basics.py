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
