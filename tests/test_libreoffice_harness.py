"""The LibreOffice harness itself: engine tests fail under CI when the engine is missing,
and the driver answers, reports errors and stops cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from libreoffice import EngineError, LibreOffice, opened

ROOT = Path(__file__).resolve().parent.parent
ENGINE_TEST = "tests/workbook/test_engine_writer.py::test_user_round_trip_keeps_roles_and_names"


def run_engine_test_without_uno(ci: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CI=ci, RXL_UNO_PYTHON=str(ROOT / "no-such-python"))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", ENGINE_TEST],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_missing_engine_fails_under_ci_and_skips_elsewhere() -> None:
    under_ci = run_engine_test_without_uno("true")
    assert under_ci.returncode != 0
    assert "1 error" in under_ci.stdout or "1 failed" in under_ci.stdout, under_ci.stdout
    assert "LibreOffice is required under CI" in under_ci.stdout
    local = run_engine_test_without_uno("")
    assert local.returncode == 0 and "1 skipped" in local.stdout, local.stdout


@pytest.mark.libreoffice
def test_driver_reports_errors_and_keeps_serving(libreoffice: LibreOffice, tmp_path: Path) -> None:
    with pytest.raises(EngineError, match=r"type detection failed|could not load"):
        libreoffice.load(tmp_path / "missing.xlsx")
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(EngineError, match="could not load"):
        libreoffice.load(broken)
    good = ROOT / "tests" / "data" / "workbook" / "libreoffice_resaved.xlsx"
    with opened(libreoffice, good) as book:
        assert book.sheets == ["Data"]
        assert book.interactions == []
        # no lock file beside it: parallel workers may open the same committed file
        assert not list(good.parent.glob(".~lock.*")), "the engine locked a file in the repo"
        with pytest.raises(EngineError, match="no sheet"):
            book.values("Nope", "A1:A2")
        book.set_cell("Data", "H1", formula='=IF(B1>0,"pos","neg")')
        book.calculate_all()
        assert book.values("Data", "H1:H1") == [["pos"]]
