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
