"""The test harness's forked commands (tests/cliprocess.py) behave as fresh processes.

Most CLI tests run ``retention-xl`` forked from a warm server. These tests run the same
commands both ways, forked and as ``python -m retention_xl`` started afresh, and
compare everything a test can see: exit status, standard output and error, the files
written.
"""

from __future__ import annotations

import doctest
import hashlib
import os
import subprocess
from pathlib import Path

import cliprocess
import pytest
from cliprocess import SPAWN_ENV, CliProcesses

from retention_xl.datasets import sample_paths

ROOT = Path(__file__).resolve().parent.parent


def _both(
    cli_processes: CliProcesses, monkeypatch: pytest.MonkeyPatch, cwd: Path, *args: str
) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
    """``args`` forked, then afresh, each in its own copy of ``cwd``."""
    forked_dir, fresh_dir = cwd / "forked", cwd / "fresh"
    forked_dir.mkdir()
    fresh_dir.mkdir()
    forked = cli_processes.run(args, forked_dir, 300)
    monkeypatch.setenv(SPAWN_ENV, "spawn")
    fresh = cli_processes.run(args, fresh_dir, 300)
    monkeypatch.delenv(SPAWN_ENV)
    return forked, fresh


def _files(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in sorted(folder.iterdir())}


def test_the_doctests_of_the_harness() -> None:
    result = doctest.testmod(cliprocess)
    assert result.attempted >= 2 and result.failed == 0


def test_the_server_outlives_its_commands(cli_processes: CliProcesses, tmp_path: Path) -> None:
    res = cli_processes.run(["--version"], tmp_path, 60)
    assert res.returncode == 0 and res.stdout.startswith("retention-xl, version")
    server = cli_processes._server
    if os.environ.get(SPAWN_ENV) == "spawn":  # every command starts afresh: no server
        assert server is None
    else:
        assert server is not None and server.poll() is None  # it was used and still runs


def test_kpis_json_is_the_same_forked_and_afresh(
    cli_processes: CliProcesses, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    args = ("kpis", "--orders", str(sample_paths().orders), "--json")
    forked, fresh = _both(cli_processes, monkeypatch, tmp_path, *args)
    assert forked.returncode == fresh.returncode == 0
    assert forked.stdout == fresh.stdout
    assert '"kpis"' in forked.stdout
    assert forked.stderr == fresh.stderr


def test_a_refusal_is_the_same_forked_and_afresh(
    cli_processes: CliProcesses, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bad = tmp_path / "orders.csv"
    bad.write_text("order_id,customer_id,order_date,total\n1,a,not a date,10\n", "utf-8")
    forked, fresh = _both(cli_processes, monkeypatch, tmp_path, "kpis", "--orders", str(bad))
    assert forked.returncode == fresh.returncode == 2
    assert forked.stderr == fresh.stderr
    assert "orders.csv" in forked.stderr and "Traceback" not in forked.stderr
    assert forked.stdout == fresh.stdout == ""


def test_a_usage_error_is_the_same_forked_and_afresh(
    cli_processes: CliProcesses, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    forked, fresh = _both(cli_processes, monkeypatch, tmp_path, "kpis", "--no-such-option")
    assert forked.returncode == fresh.returncode == 2
    assert forked.stderr == fresh.stderr and "No such option" in forked.stderr


def test_build_writes_the_same_book_forked_and_afresh(
    cli_processes: CliProcesses, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The command's working directory is its own: the relative --out lands there."""
    args = ("build", "--orders", str(sample_paths().orders), "--out", "report.xlsx", "-q")
    forked, fresh = _both(cli_processes, monkeypatch, tmp_path, *args)
    assert forked.returncode == fresh.returncode == 0, forked.stderr + fresh.stderr
    assert (forked.stdout, forked.stderr) == (fresh.stdout, fresh.stderr)
    assert _files(tmp_path / "forked") == _files(tmp_path / "fresh")
    assert _files(tmp_path / "forked")["report.xlsx"] > 10_000
    digest = [hashlib.sha256((tmp_path / d / "report.xlsx").read_bytes()).hexdigest()
              for d in ("forked", "fresh")]  # fmt: skip
    assert digest[0] == digest[1]


def test_the_environment_is_the_commands_own(
    cli_processes: CliProcesses, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A variable set for one command reaches it, and is gone for the next one (click
    wraps help to the terminal width, which ``COLUMNS`` gives)."""
    monkeypatch.setenv("COLUMNS", "60")
    narrow, narrow_fresh = _both(cli_processes, monkeypatch, tmp_path, "build", "--help")
    monkeypatch.setenv("COLUMNS", "200")
    wide = cli_processes.run(["build", "--help"], tmp_path, 60)
    assert narrow.returncode == narrow_fresh.returncode == wide.returncode == 0
    assert narrow.stdout == narrow_fresh.stdout
    assert narrow.stdout != wide.stdout
    assert len(narrow.stdout.splitlines()) > len(wide.stdout.splitlines())


def test_a_start_up_setting_starts_a_fresh_interpreter(
    cli_processes: CliProcesses, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A ``PYTHON*`` variable cannot reach a forked child: such a command starts afresh
    (here ``PYTHONPATH`` brings a ``sitecustomize`` that only a new interpreter runs)."""
    probe = tmp_path / "probe"
    probe.mkdir()
    (probe / "sitecustomize.py").write_text("import sys; print('FRESH', file=sys.stderr)\n")
    res = cli_processes.run(["--version"], tmp_path, 60)
    assert "FRESH" not in res.stderr
    monkeypatch.setenv("PYTHONPATH", str(probe))
    res = cli_processes.run(["--version"], tmp_path, 60)
    assert res.returncode == 0 and "version" in res.stdout
    assert "FRESH" in res.stderr
