"""build, template, demo and predict --out write files the safe way.

The output goes to a hidden temporary file in the target folder and is renamed over
the target only when complete: an interrupted or killed command leaves an existing
report byte-identical; a missing folder, a lock file, a read-only file are refused
before any work, with exit code 2 and a message naming the file; a killed run's
temporary file is removed (and reported) by the next run.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from refresh_exports import italian_export

from retention_xl import files
from retention_xl.errors import WorkbookError
from retention_xl.workbook import build as build_module
from retention_xl.workbook.build import plan_template, write_workbook

ROOT = Path(__file__).resolve().parents[2]


def _orders(path: Path, n: int = 200) -> Path:
    rows = [
        (f"c{(i * 7) % 23}", f"A-{i}", f"{1 + i % 28:02d}/{1 + i % 12:02d}/2023", 20.0 + i % 50)
        for i in range(n)
    ]
    return italian_export(path, rows)


def _no_temporaries(folder: Path) -> bool:
    return not [f for f in folder.iterdir() if f.name.startswith(".~rxl.")]


def test_an_interrupted_write_leaves_the_report_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = write_workbook(plan_template(lang="en"), tmp_path / "Report.xlsx")
    before = book.read_bytes()

    def interrupted(path: Path, plan: object) -> None:
        path.write_bytes(b"PK half a zip")  # the writer got halfway
        raise KeyboardInterrupt

    monkeypatch.setattr(build_module, "rewrite_sheet_data", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_workbook(plan_template(lang="it"), book)
    assert book.read_bytes() == before
    assert _no_temporaries(tmp_path)


KILL = """
import pathlib, sys, time
sys.path.insert(0, {root!r})
from retention_xl.workbook import build
from retention_xl.workbook.build import plan_template, write_workbook

def slow(path, plan):
    path.write_bytes(b"PK half a zip")
    pathlib.Path({marker!r}).touch()
    time.sleep(120)

build.rewrite_sheet_data = slow
write_workbook(plan_template(lang="it"), {book!r}, command="template")
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_killed_template_leaves_the_file_and_the_next_run_cleans_up(
    tmp_path: Path, run_cli
) -> None:
    book = write_workbook(plan_template(lang="en"), tmp_path / "Report.xlsx")
    before = book.read_bytes()
    marker = tmp_path / "halfway"
    script = KILL.format(root=str(ROOT), marker=str(marker), book=str(book))
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        for _ in range(1200):
            if marker.exists() or proc.poll() is not None:
                break
            time.sleep(0.05)
        assert marker.exists(), "the write never started"
    finally:
        proc.kill()
        proc.wait()
    assert book.read_bytes() == before
    with zipfile.ZipFile(book) as zf:
        assert zf.testzip() is None
    left = [f.name for f in tmp_path.iterdir() if f.name.startswith(".~rxl.")]
    assert len(left) == 1 and left[0].startswith(f".~rxl.Report.xlsx.{proc.pid}.")

    result = run_cli("template", "--out", str(book), "--lang", "it")
    assert result.returncode == 0, result.stderr
    assert f"removed {left[0]}, a temporary file left by an interrupted run" in result.stderr
    assert _no_temporaries(tmp_path)
    assert book.read_bytes() != before  # the new template (Italian) is in place


def test_a_live_runs_temporary_file_is_not_touched(tmp_path: Path) -> None:
    target = tmp_path / "Report.xlsx"
    # a file of this very process (alive) and one of a process that does not exist
    mine = tmp_path / f".~rxl.Report.xlsx.{os.getpid()}.abc.tmp"
    dead_pid = _dead_pid()
    dead = tmp_path / f".~rxl.Report.xlsx.{dead_pid}.abc.tmp"
    other = tmp_path / f".~rxl.Other.xlsx.{dead_pid}.abc.tmp"
    for f in (mine, dead, other):
        f.write_bytes(b"x")
    assert files.clean_stale_temporaries(target) == [dead]
    assert mine.exists() and other.exists() and not dead.exists()


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid  # finished and reaped: no such process now


@pytest.mark.parametrize(
    "args",
    [
        ["template"],
        ["demo"],
        ["build", "--orders", "ORDERS"],
        ["predict", "--orders", "ORDERS"],
    ],
)
def test_a_missing_output_folder_is_refused_before_any_work(
    tmp_path: Path, run_cli, args: list[str]
) -> None:
    orders = _orders(tmp_path / "ordini.csv")
    args = [str(orders) if a == "ORDERS" else a for a in args]
    suffix = ".csv" if args[0] == "predict" else ".xlsx"
    out = tmp_path / "reports" / f"may{suffix}"
    result = run_cli(*args, "--out", str(out))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert f"the folder {out.parent} does not exist" in result.stderr
    assert "mkdir" in result.stderr
    assert not out.parent.exists()
    assert "rows read" not in result.stderr  # refused before the exports were read


@pytest.mark.parametrize("command", ["template", "build", "predict"])
def test_a_read_only_file_is_refused_even_for_root(tmp_path: Path, run_cli, command: str) -> None:
    orders = _orders(tmp_path / "ordini.csv")
    out = tmp_path / ("scores.csv" if command == "predict" else "Report.xlsx")
    out.write_bytes(b"the user's file")
    out.chmod(stat.S_IRUSR | stat.S_IRGRP)
    args = ["--orders", str(orders)] if command in ("build", "predict") else []
    result = run_cli(command, *args, "--out", str(out))
    assert result.returncode == 2, result.stderr
    assert f"{out.name} is read-only" in result.stderr
    assert out.read_bytes() == b"the user's file"
    assert _no_temporaries(tmp_path)


@pytest.mark.parametrize(
    ("lock", "app"), [("~$Report.xlsx", "Excel"), (".~lock.Report.xlsx#", "LibreOffice")]
)
def test_a_report_open_in_excel_or_libreoffice_is_not_overwritten(
    tmp_path: Path, run_cli, lock: str, app: str
) -> None:
    orders = _orders(tmp_path / "ordini.csv")
    book = write_workbook(plan_template(lang="en"), tmp_path / "Report.xlsx")
    before = book.read_bytes()
    (tmp_path / lock).write_text(",Maria Rossi,PC,04.12.2026 09:00,file:///x;")
    result = run_cli("build", "--orders", str(orders), "--out", str(book))
    assert result.returncode == 2, result.stderr
    assert f"Report.xlsx is open in {app}" in result.stderr
    assert "run build again" in result.stderr
    assert book.read_bytes() == before


def test_the_lock_is_checked_again_just_before_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Excel opened the report while the build was writing: the old file stays."""
    book = write_workbook(plan_template(lang="en"), tmp_path / "Report.xlsx")
    before = book.read_bytes()
    real = build_module.rewrite_sheet_data

    def meanwhile(path: Path, plan: object) -> None:
        real(path, plan)  # type: ignore[arg-type]
        (tmp_path / "~$Report.xlsx").write_bytes(b"")

    monkeypatch.setattr(build_module, "rewrite_sheet_data", meanwhile)
    with pytest.raises(WorkbookError, match="open in Excel"):
        write_workbook(plan_template(lang="it"), book)
    assert book.read_bytes() == before
    assert _no_temporaries(tmp_path)


def test_a_new_file_gets_the_usual_permissions(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        book = write_workbook(plan_template(lang="en"), tmp_path / "New.xlsx")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(book.stat().st_mode) == 0o644  # not mkstemp's 0600
    with zipfile.ZipFile(book) as zf:
        assert zf.testzip() is None


def test_out_naming_a_folder_is_refused(tmp_path: Path, run_cli) -> None:
    (tmp_path / "dir.xlsx").mkdir()
    result = run_cli("template", "--out", str(tmp_path / "dir.xlsx"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_predict_out_naming_a_folder_is_refused_off_spark(tmp_path: Path, run_cli) -> None:
    """Only --engine spark writes FILE.parquet as a folder (and may replace one)."""
    orders = _orders(tmp_path / "orders.csv")
    (tmp_path / "scores.parquet").mkdir()
    result = run_cli("predict", "--orders", str(orders), "--out", str(tmp_path / "scores.parquet"))
    assert result.returncode == 2
    assert "is a folder" in result.stderr and "Traceback" not in result.stderr


def _parts(tmp: Path, fail: bool = False) -> None:
    tmp.mkdir()
    (tmp / "part-0.parquet").write_bytes(b"new 0")
    (tmp / "_SUCCESS").write_bytes(b"")
    if fail:
        raise RuntimeError("the job failed")


@pytest.mark.parametrize("previous", ["file", "folder", "none"])
def test_a_dataset_folder_replaces_the_previous_scores_only_when_complete(
    tmp_path: Path, previous: str
) -> None:
    out = tmp_path / "scores.parquet"
    if previous == "file":
        out.write_bytes(b"old scores")
    elif previous == "folder":
        out.mkdir()
        (out / "part-9.parquet").write_bytes(b"old part")
    with pytest.raises(RuntimeError):
        files.write_folder_atomically(out, lambda tmp: _parts(tmp, fail=True))
    assert _no_temporaries(tmp_path)
    if previous == "file":
        assert out.read_bytes() == b"old scores"
    elif previous == "folder":
        assert [p.name for p in out.iterdir()] == ["part-9.parquet"]
    else:
        assert not out.exists()
    done = files.write_folder_atomically(out, _parts)
    assert done.path == out and _no_temporaries(tmp_path)
    assert sorted(p.name for p in out.iterdir()) == ["_SUCCESS", "part-0.parquet"]


def test_a_killed_runs_dataset_folder_is_cleaned_by_the_next_run(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    out = tmp_path / "scores.parquet"
    left = tmp_path / f"{files.temporary_prefix(out.name)}{int(dead.stdout)}.abcd1234.tmp"
    left.mkdir()
    (left / "part-0.parquet").write_bytes(b"half")
    done = files.write_folder_atomically(out, _parts)
    assert done.removed == [left] and not left.exists()
