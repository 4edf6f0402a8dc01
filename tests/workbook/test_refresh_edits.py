"""A person edits the generated sheets in LibreOffice, then refreshes: nothing is lost
or misaligned.

Every test: build a report from one export -> LibreOffice (UNO), acting as the user,
types notes, adds a column of formulas, inserts or deletes rows and columns, saves ->
``retention-xl refresh`` with a different export (a subprocess) -> LibreOffice loads the
result *without* an explicit recalculation. Either every KPI name equals a pandas
computation on the new export and the user's cells are where they belong, or the
refresh was refused with a message naming the sheet and the file is byte-identical.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from libreoffice import LibreOffice, opened
from refresh_exports import shopify_export

from retention_xl.io import load_inputs
from retention_xl.workbook.build import plan_report, write_workbook
from retention_xl.workbook.formulas import col_letter
from retention_xl.workbook.package import read_package
from retention_xl.workbook.sheets.derived import CUSTOMER_COLUMNS

pytestmark = pytest.mark.libreoffice


# the user's own column: one empty column right of the Customers table
OWN = col_letter(len(CUSTOMER_COLUMNS) + 1)


def _rows(first: int, count: int, customers: int, start: dt.date) -> list[tuple]:
    """Deterministic orders (id, customer, day, amount) over ``customers`` customers."""
    out = []
    for i in range(count):
        n = first + i
        day = start + dt.timedelta(days=(i * 11) % 500)
        out.append((f"#{n}", f"client{(n * 7) % customers}@shop.example", day, 15.0 + n % 90))
    return out


def _export(path: Path, rows: list[tuple]) -> Path:
    return shopify_export(path, [(n, c, d.isoformat(), a) for n, c, d, a in rows])


def _expected(rows: list[tuple]) -> dict[str, float]:
    """Independent: customers, orders and revenue of an export of paid orders."""
    frame = pd.DataFrame(rows, columns=["id", "customer", "day", "amount"])
    return {
        "customers": float(frame["customer"].nunique()),
        "orders": float(frame["id"].nunique()),
        "revenue": float(frame["amount"].sum()),
    }


FIRST = _rows(1000, 80, 14, dt.date(2023, 1, 3))
SECOND = _rows(2000, 120, 20, dt.date(2023, 4, 1))  # more customers: tables grow


@pytest.fixture(scope="module")
def first_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of the first export, built once (every test edits its own copy)."""
    folder = tmp_path_factory.mktemp("first_report")
    inputs = load_inputs(orders=_export(folder / "first.csv", FIRST))
    return write_workbook(
        plan_report(inputs.orders, lang="en", reports=inputs.reports), folder / "Report.xlsx"
    )


@pytest.fixture
def report(first_report: Path, tmp_path: Path) -> Path:
    """``tmp_path`` holding the first export and a fresh copy of its report."""
    shutil.copy2(first_report.parent / "first.csv", tmp_path / "first.csv")
    return Path(shutil.copy2(first_report, tmp_path / "Report.xlsx"))


def _kpis(book: object) -> dict[str, float]:
    return {key: book.named(f"KPI_{key}")[0][0] for key in ("customers", "orders", "revenue")}  # type: ignore[attr-defined]


def _table_end(path: Path, sheet: str) -> int:
    """1-based last row of the table on ``sheet`` (from the manifest's area name)."""
    names = read_package(path).workbook().names
    area = names[f"RXL_AREA_{sheet.upper()}"]
    return int(re.findall(r"\$(\d+)", area)[-1])


def test_notes_and_own_columns_survive_any_number_of_refreshes(
    libreoffice: LibreOffice, run_cli, report: Path, tmp_path: Path
) -> None:
    second = _export(tmp_path / "second.csv", SECOND)
    first = _export(tmp_path / "again.csv", FIRST)
    end = _table_end(report, "Customers")  # header on row 2, customers below
    customers = int(_expected(FIRST)["customers"])
    assert end == 2 + customers
    edited = tmp_path / "Edited.xlsx"
    with opened(libreoffice, report) as book:
        book.set_cell("KPIs", "E5", "check with the CFO")
        book.set_cell("Dashboard", "D2", "for Monday's meeting")
        book.set_cell("Cohorts", "C2", "summer cohort looks weak")
        book.set_cell("Customers", f"{OWN}2", "Flag")
        for row in range(3, end + 1):
            book.set_cell("Customers", f"{OWN}{row}", formula=f'=IF(B{row}>1,"repeat","")')
        book.set_cell("Customers", f"A{end + 2}", "note under the list")
        book.save_as(edited)

    result = run_cli("refresh", str(edited), "--orders", str(second))
    assert result.returncode == 0, result.stderr
    assert "moved with it" in result.stdout  # the note under the growing list
    assert "fill your formulas down" in result.stdout  # the own column beside it
    new_end = _table_end(edited, "Customers")
    assert new_end == 2 + int(_expected(SECOND)["customers"]) > end
    with opened(libreoffice, edited) as book:  # no explicit recalculation
        assert _kpis(book) == pytest.approx(_expected(SECOND), rel=1e-12)
        errors = [(f.sheet, f.cell, f.error) for f in book.formulas() if f.error]
        assert errors == []
        assert book.values("KPIs", "E5") == [["check with the CFO"]]
        assert book.values("Dashboard", "D2") == [["for Monday's meeting"]]
        assert book.values("Cohorts", "C2") == [["summer cohort looks weak"]]
        assert book.values("Customers", f"A{new_end + 2}") == [["note under the list"]]
        assert book.values("Customers", f"A{end + 2}") != [["note under the list"]]
        # the user's column: kept where it was, computed on the new rows it sits beside
        flags = book.values("Customers", f"{OWN}2:{OWN}{end}")
        counts = book.values("Customers", f"B3:B{end}")
        assert flags[0] == ["Flag"]
        assert [f[0] for f in flags[1:]] == ["repeat" if c[0] > 1 else "" for c in counts]

    # and again: the cells stay, the note follows the list back up
    result = run_cli("refresh", str(edited), "--orders", str(first))
    assert result.returncode == 0, result.stderr
    with opened(libreoffice, edited) as book:
        assert _kpis(book) == pytest.approx(_expected(FIRST), rel=1e-12)
        assert book.values("KPIs", "E5") == [["check with the CFO"]]
        assert book.values("Customers", f"A{end + 2}") == [["note under the list"]]
        assert book.values("Customers", f"{OWN}2") == [["Flag"]]


EDITS = {
    "row above the KPI block": ("insert_rows", "KPIs", 0, "moved down by 1 rows"),
    "row inside the KPI block": ("insert_rows", "KPIs", 10, "1 row inserted inside it"),
    "row deleted in the KPI block": ("delete_rows", "KPIs", 20, "1 row deleted inside it"),
    "column inside the customer list": (
        "insert_columns",
        "Customers",
        1,
        "1 column inserted inside it",
    ),
    "column deleted on the Dashboard": ("delete_columns", "Dashboard", 0, "1 column deleted"),
    "column inside the raw orders": ("insert_columns", "Orders", 2, "1 column inserted"),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_structural_edits_inside_generated_blocks_are_refused(
    libreoffice: LibreOffice, run_cli, report: Path, tmp_path: Path, edit: str
) -> None:
    op, sheet, index, said = EDITS[edit]
    second = _export(tmp_path / "second.csv", SECOND)
    edited = tmp_path / "Edited.xlsx"
    with opened(libreoffice, report) as book:
        getattr(book, op)(sheet, index)
        book.save_as(edited)
    before = edited.read_bytes()
    listing = sorted(p.name for p in tmp_path.iterdir())
    result = run_cli("refresh", str(edited), "--orders", str(second))
    assert result.returncode == 2, result.stdout
    assert "Traceback" not in result.stderr
    assert f"sheet {sheet!r}" in result.stderr and said in result.stderr
    assert "Nothing was changed" in result.stderr and "Undo that edit" in result.stderr
    assert edited.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == listing  # no .bak, no temporaries


def test_rows_inserted_in_a_raw_tab_are_data_and_the_names_follow(
    libreoffice: LibreOffice, run_cli, report: Path, tmp_path: Path
) -> None:
    """Rows of a raw tab are data: inserting one there is honoured; the names the
    KPI formulas read point at the rows the refresh writes, not where the editor
    moved them."""
    second = _export(tmp_path / "second.csv", SECOND)
    edited = tmp_path / "Edited.xlsx"
    with opened(libreoffice, report) as book:
        book.insert_rows("Orders", 1, 2)  # two blank rows right under the header
        book.save_as(edited)
    moved = read_package(edited).workbook().names["Orders_amount"]
    result = run_cli("refresh", str(edited), "--orders", str(second))
    assert result.returncode == 0, result.stderr
    names = read_package(edited).workbook().names
    assert names["Orders_amount"].endswith("$2:$D$1048576") or "$2:" in names["Orders_amount"]
    assert names["Orders_amount"] != moved or "$2:" in moved
    with opened(libreoffice, edited) as book:
        assert _kpis(book) == pytest.approx(_expected(SECOND), rel=1e-12)


def _with_workbook_xml(path: Path, edit: object) -> None:
    with zipfile.ZipFile(path) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    parts["xl/workbook.xml"] = edit(parts["xl/workbook.xml"])  # type: ignore[operator]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda x: x.replace(b"|KPIS|A1:", b"|KPIS|A2:"), "fingerprint does not match"),
        (
            lambda x: re.sub(
                rb"<definedName name=\"RXL_MANIFEST_KPIS_1\">[^<]*</definedName>", b"", x
            ),
            "has no manifest",
        ),
    ],
)
def test_a_workbook_that_cannot_be_verified_is_refused(
    run_cli, report: Path, tmp_path: Path, change: object, said: str
) -> None:
    before_edit = report.read_bytes()
    _with_workbook_xml(report, change)
    if report.read_bytes() == before_edit:  # pragma: no cover - the pattern missed
        pytest.fail("the manifest was not edited")
    before = report.read_bytes()
    second = _export(tmp_path / "second.csv", SECOND)
    result = run_cli("refresh", str(report), "--orders", str(second))
    assert result.returncode == 2
    assert "sheet 'KPIs' cannot be checked" in result.stderr and said in result.stderr
    assert report.read_bytes() == before
