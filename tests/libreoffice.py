"""A real spreadsheet engine for the tests: headless LibreOffice Calc driven over UNO.

python3-uno is installed for the system Python, not for the project's virtual
environment, so the engine is driven by ``lo_driver.py`` running under
``/usr/bin/python3`` as a long-lived subprocess that speaks one JSON line per command.
The driver starts its own ``soffice`` with a fresh profile (parallel runs never share
one; document lock files are off, so two engines may open the same file) and stops it
when this side closes the pipe. One engine serves a whole test session, that is one
per pytest-xdist worker (the ``libreoffice`` fixture in conftest.py).

Examples
--------
>>> with LibreOffice.start() as lo:  # doctest: +SKIP
...     book = lo.load("report.xlsx")
...     book.calculate_all()
...     cells = book.formulas()
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

DRIVER = Path(__file__).resolve().parent / "lo_driver.py"
SYSTEM_PYTHON = os.environ.get("RXL_UNO_PYTHON", "/usr/bin/python3")


def missing() -> str | None:
    """Why the engine cannot run here, or None when soffice and python3-uno are present."""
    if shutil.which("soffice") is None:
        return "LibreOffice (soffice) is not installed: install libreoffice-calc-nogui"
    if not Path(SYSTEM_PYTHON).exists():
        return f"{SYSTEM_PYTHON} is missing (python3-uno runs under the system Python)"
    probe = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import uno, unohelper"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        return f"python3-uno is not installed for {SYSTEM_PYTHON}: {probe.stderr.strip()[-200:]}"
    return None


class EngineError(RuntimeError):
    """LibreOffice or the driver reported an error."""


@dataclass(frozen=True, slots=True)
class FormulaCell:
    """One formula cell as the engine computed it."""

    sheet: str
    cell: str
    formula: str
    value: float | str | None
    error: str | None  # "#DIV/0!", "#N/A"... or None


class LibreOffice:
    """One running engine; use :meth:`start` and close it (or use ``with``)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self._proc = proc
        self._lock = threading.Lock()
        self._stderr: list[str] = []
        self._reader = threading.Thread(target=self._drain_stderr, daemon=True)
        self._reader.start()

    @classmethod
    def start(cls) -> LibreOffice:
        problem = missing()
        if problem:
            raise EngineError(problem)
        proc = subprocess.Popen(
            [SYSTEM_PYTHON, str(DRIVER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        engine = cls(proc)
        try:
            engine._answer()  # the driver says "started" once soffice answers
        except BaseException:
            engine.close()
            raise
        return engine

    def _drain_stderr(self) -> None:
        assert self._proc.stderr is not None
        for line in self._proc.stderr:
            self._stderr.append(line)
            del self._stderr[:-50]

    def _answer(self) -> Any:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise EngineError("the LibreOffice driver stopped: " + "".join(self._stderr[-20:]))
        answer = json.loads(line)
        if "error" in answer:
            raise EngineError(answer["error"])
        return answer["ok"]

    def call(self, op: str, **args: Any) -> Any:
        """Send one command to the driver and return its result."""
        with self._lock:
            assert self._proc.stdin is not None
            self._proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
            self._proc.stdin.flush()
            return self._answer()

    def load(self, path: str | os.PathLike[str]) -> Book:
        """Open a workbook (hidden, macros off). ``Book.interactions`` lists any question
        LibreOffice asked while loading (a broken zip package is one). Headless
        LibreOffice drops damaged XML silently, so "loads without repair" also needs the
        package check of ``tests/workbook/ooxml_check.py``."""
        result = self.call("load", path=str(path))
        return Book(self, result["doc"], list(result["sheets"]), list(result["interactions"]))

    def close(self) -> None:
        """Stop the driver, which stops its soffice and removes its profile."""
        proc = self._proc
        if proc.poll() is None:
            try:
                assert proc.stdin is not None
                proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                proc.stdin.flush()
                proc.stdin.close()
                proc.wait(timeout=60)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait(timeout=30)
        for stream in (proc.stdin, proc.stdout):
            if stream is not None and not stream.closed:
                stream.close()
        self._reader.join(timeout=10)
        if proc.stderr is not None:
            proc.stderr.close()

    def __enter__(self) -> LibreOffice:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@dataclass(slots=True)
class Book:
    """A workbook open in the engine."""

    engine: LibreOffice
    doc: int
    sheets: list[str]
    interactions: list[str]

    def calculate_all(self) -> float:
        """Recalculate every formula (``calculateAll()``); returns the seconds it took."""
        return float(self.engine.call("calculate_all", doc=self.doc)["seconds"])

    def formulas(self) -> list[FormulaCell]:
        """Every formula cell of every sheet with its current value or error."""
        return [FormulaCell(**item) for item in self.engine.call("formulas", doc=self.doc)]

    def values(self, sheet: str, cells: str) -> list[list[Any]]:
        """Values of a range (``"A1:C10"``); errors as their text (``"#DIV/0!"``)."""
        return list(self.engine.call("values", doc=self.doc, sheet=sheet, range=cells))

    def named(self, name: str) -> list[list[Any]]:
        """Values of the range a defined name refers to."""
        return list(self.engine.call("named_values", doc=self.doc, name=name))

    def names(self) -> dict[str, str]:
        """The workbook's defined names and what they refer to."""
        return dict(self.engine.call("names", doc=self.doc))

    def charts(self) -> dict[str, dict[str, Any]]:
        """Per sheet: its charts (name and source ranges) and embedded-object count."""
        return dict(self.engine.call("charts", doc=self.doc))

    # ---- what a user does
    def set_named(self, name: str, value: float | str) -> None:
        """Type a value into the (first) cell of a defined name."""
        self.engine.call("set_named", doc=self.doc, name=name, value=value)

    def set_cell(
        self, sheet: str, cell: str, value: float | str | None = None, *, formula: str | None = None
    ) -> None:
        """Type a value or a formula (``"=SUM(A1:A3)"``, English names) into a cell."""
        self.engine.call(
            "set_cell", doc=self.doc, sheet=sheet, cell=cell, value=value, formula=formula
        )

    def add_sheet(
        self,
        name: str,
        rows: list[list[Any]],
        *,
        position: int | None = None,
        chart: str | None = None,
    ) -> None:
        """Insert a sheet holding ``rows`` (first row: headers), with a chart of them."""
        self.engine.call(
            "add_sheet", doc=self.doc, name=name, rows=rows, position=position, chart=chart
        )
        self.sheets = self._sheet_names()

    def insert_rows(self, sheet: str, index: int, count: int = 1) -> None:
        """Insert ``count`` rows before zero-based row ``index``, as Sheet > Insert Rows."""
        self.engine.call("insert_rows", doc=self.doc, sheet=sheet, index=index, count=count)

    def delete_rows(self, sheet: str, index: int, count: int = 1) -> None:
        self.engine.call("delete_rows", doc=self.doc, sheet=sheet, index=index, count=count)

    def insert_columns(self, sheet: str, index: int, count: int = 1) -> None:
        self.engine.call("insert_columns", doc=self.doc, sheet=sheet, index=index, count=count)

    def delete_columns(self, sheet: str, index: int, count: int = 1) -> None:
        self.engine.call("delete_columns", doc=self.doc, sheet=sheet, index=index, count=count)

    def rename_sheet(self, old: str, new: str) -> None:
        self.engine.call("rename_sheet", doc=self.doc, old=old, new=new)
        self.sheets = self._sheet_names()

    def move_sheet(self, name: str, position: int) -> None:
        self.engine.call("move_sheet", doc=self.doc, name=name, position=position)
        self.sheets = self._sheet_names()

    def _sheet_names(self) -> list[str]:
        return list(self.engine.call("sheets", doc=self.doc))

    def save_as(self, path: str | os.PathLike[str]) -> Path:
        """Save a copy as .xlsx (the "Excel 2007-365" filter)."""
        self.engine.call("save_as", doc=self.doc, path=str(path))
        return Path(path)

    def pdf_pages(self, sheet: str, path: str | os.PathLike[str]) -> int:
        """How many pages ``sheet`` prints on (written to the PDF ``path``). The other
        sheets are removed from the open document: load the book again afterwards."""
        return int(self.engine.call("pdf_pages", doc=self.doc, sheet=sheet, path=str(path)))

    def close(self) -> None:
        self.engine.call("close", doc=self.doc)


@contextmanager
def opened(engine: LibreOffice, path: str | os.PathLike[str]) -> Iterator[Book]:
    """``with opened(engine, path) as book:`` loads a book and closes it afterwards."""
    book = engine.load(path)
    try:
        yield book
    finally:
        book.close()
