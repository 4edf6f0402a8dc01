"""Shared fixtures: the CLI run as a child process, and the test data folder."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cliprocess import CliProcesses
from libreoffice import LibreOffice
from libreoffice import missing as libreoffice_missing

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def data_dir() -> Path:
    """The folder of committed test data (copies, never ../shared)."""
    return DATA


@pytest.fixture(scope="session")
def cli_processes() -> Iterator[CliProcesses]:
    """The server that forks ``retention-xl`` commands (tests/cliprocess.py), one per worker."""
    processes = CliProcesses(ROOT)
    try:
        yield processes
    finally:
        processes.close()


@pytest.fixture
def run_cli(
    tmp_path: Path, cli_processes: CliProcesses
) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ``retention-xl ARGS`` as a child process in ``tmp_path``; returns the result.

    The child runs ``retention_xl.cli.main``, the code of the installed ``retention-xl``
    script, with this checkout first on ``PYTHONPATH``. It is forked from a server that
    has the package imported already (tests/cliprocess.py says what that changes);
    ``RETENTION_XL_TEST_CLI=spawn`` starts ``python -m retention_xl`` afresh instead.
    """

    def run(
        *args: str, cwd: Path | None = None, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        return cli_processes.run(args, cwd or tmp_path, timeout)

    return run


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist, hand out the slow test files first.

    Each file runs whole on one worker (``--dist loadfile``), and the run ends when the
    busier worker does. pytest-xdist's own order (files with the most tests first) left
    the Spark files, few tests but the longest, for the end, where one worker ran them
    alone. Here files go by their number of tests marked ``slow``, then by their number
    of tests (xdist's order, turned off by ``--no-loadscope-reorder`` in pyproject.toml);
    the tests within a file keep their order. Without xdist nothing moves.
    """
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    files: dict[str, list[int]] = {}  # path -> [slow tests, tests], in collection order
    for item in items:
        counts = files.setdefault(item.nodeid.split("::", 1)[0], [0, 0])
        counts[0] += item.get_closest_marker("slow") is not None
        counts[1] += 1
    rank = {
        path: i for i, path in enumerate(sorted(files, key=lambda p: (-files[p][0], -files[p][1])))
    }
    items.sort(key=lambda item: rank[item.nodeid.split("::", 1)[0]])


def _under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests marked ``libreoffice`` fail (never skip) under CI when the engine is missing."""
    if item.get_closest_marker("libreoffice") is None:
        return
    problem = libreoffice_missing()
    if problem is None:
        return
    if _under_ci():
        pytest.fail(f"LibreOffice is required under CI: {problem}", pytrace=False)
    pytest.skip(problem)


@pytest.fixture(scope="session")
def libreoffice() -> Iterator[LibreOffice]:
    """One headless LibreOffice (own fresh profile) for the whole session, over UNO.

    Under pytest-xdist each worker is a session of its own, so each worker has one
    engine with its own profile and pipe: nothing is shared between workers.
    """
    problem = libreoffice_missing()
    if problem is not None:
        if _under_ci():
            pytest.fail(f"LibreOffice is required under CI: {problem}", pytrace=False)
        pytest.skip(problem)
    engine = LibreOffice.start()
    try:
        yield engine
    finally:
        engine.close()
