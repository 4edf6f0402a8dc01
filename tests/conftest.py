"""Shared fixtures: the CLI run as a real subprocess, and the test data folder."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from libreoffice import LibreOffice
from libreoffice import missing as libreoffice_missing

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def data_dir() -> Path:
    """The folder of committed test data (copies, never ../shared)."""
    return DATA


@pytest.fixture
def run_cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ``retention-xl ARGS`` as a subprocess in ``tmp_path``; returns the result.

    Uses ``python -m retention_xl`` with this checkout first on ``PYTHONPATH``, so it
    exercises the same code as the installed ``retention-xl`` script.
    """

    def run(
        *args: str, cwd: Path | None = None, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
        env.setdefault("PYTHONIOENCODING", "utf-8")
        return subprocess.run(
            [sys.executable, "-m", "retention_xl", *args],
            cwd=cwd or tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    return run


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
