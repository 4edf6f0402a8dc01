"""Reading a workbook back for refresh: named inputs, raw tabs, language, append merging."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from refresh_books import marked_book, parts, rename_sheet, rewrite

from retention_xl.errors import ExportError, WorkbookError
from retention_xl.workbook.package import read_package
from retention_xl.workbook.plan import ColumnSpec
from retention_xl.workbook.readback import cell_position, read_cells, read_inputs, read_raw_tab
from retention_xl.workbook.refresh import check_currencies, merge_rows

ORDER_SPECS = (
    ColumnSpec("customer_id", "Cliente", kind="text"),
    ColumnSpec("order_id", "Ordine", kind="text"),
    ColumnSpec("order_date", "Data", kind="date"),
    ColumnSpec("amount", "Importo"),
    ColumnSpec("net_amount", "Netto"),  # a derived column: not read back
)


@pytest.fixture
def book(tmp_path: Path) -> Path:
    return marked_book(tmp_path / "Report.xlsx")


def test_inputs_through_their_names(book: Path) -> None:
    pkg = read_package(book)
    values = read_inputs(pkg, pkg.workbook(), ["Input_CAC", "Input_Period", "Target_NPS"])
    assert values == {"Input_CAC": 45.0, "Input_Period": "Y"}  # Target_NPS not in this book


def test_inputs_after_rename(book: Path) -> None:
    rename_sheet(book, "KPIs", "Indicatori chiave")
    pkg = read_package(book)
    assert read_inputs(pkg, pkg.workbook(), ["Input_CAC"]) == {"Input_CAC": 45.0}


def _with_kpi_cells(book: Path, cells: str) -> None:
    pkg = read_package(book)
    part = pkg.workbook().role_parts()["KPIS"]
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats'
        '.org/spreadsheetml/2006/main"><sheetData><row r="4">' + cells + '</row><row r="5">'
        '<c r="C5" t="str"><f>"M"</f><v>M</v></c></row></sheetData></worksheet>'
    )
    rewrite(book, {part: xml.encode()})


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ('<c r="C4" t="inlineStr"><is><t>Q</t></is></c>', "Q"),
        ('<c r="C4" t="b"><v>1</v></c>', True),
        ('<c r="C4" t="e"><v>#DIV/0!</v></c>', None),
        ('<c r="C4"><v>0.35</v></c>', 0.35),
        ('<c r="C4" s="3"/>', None),
        ('<c r="D4"><v>9</v></c>', None),
    ],
)
def test_cell_types(book: Path, cell: str, expected: object) -> None:
    _with_kpi_cells(book, cell)
    pkg = read_package(book)
    values = read_inputs(pkg, pkg.workbook(), ["Input_CAC", "Input_Period"])
    assert values == {"Input_CAC": expected, "Input_Period": "M"}


def test_cell_position() -> None:
    assert cell_position("$B$2") == (1, 1)
    assert cell_position("XFD1048576") == (1_048_575, 16_383)


def test_shared_rich_text(book: Path) -> None:
    sst = (
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="2" '
        'uniqueCount="2"><si><t>zero</t></si><si><r><t>M</t></r><r><t>ese</t></r>'
        "<rPh><t>x</t></rPh></si></sst>"
    )
    _with_kpi_cells(book, '<c r="C4" t="s"><v>1</v></c>')
    rewrite(book, {"xl/sharedStrings.xml": sst.encode()})
    pkg = read_package(book)
    part = pkg.workbook().role_parts()["KPIS"]
    assert read_cells(pkg, pkg.workbook(), part, ["C4"]) == {"C4": "Mese"}


def _libreoffice_resave(src: Path, out_dir: Path) -> Path:
    soffice = shutil.which("soffice")
    if soffice is None:
        if os.environ.get("CI") == "true":
            pytest.fail("LibreOffice (soffice) is required under CI")
        pytest.skip("LibreOffice is not installed")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                soffice,
                f"-env:UserInstallation=file://{profile}",
                "--headless",
                "--convert-to",
                "xlsx:Calc MS Excel 2007 XML",
                "--outdir",
                str(out_dir),
                str(src),
            ],
            check=True,
            capture_output=True,
            timeout=180,
        )
    return out_dir / src.name


@pytest.mark.libreoffice
def test_libreoffice_saved_book(book: Path, tmp_path: Path) -> None:
    rename_sheet(book, "Orders", "Ordini 2025")
    out = _libreoffice_resave(book, tmp_path / "lo")
    assert parts(out)["xl/workbook.xml"].count(b"Calc") >= 1  # really written by LibreOffice
    pkg = read_package(out)
    info = pkg.workbook()
    assert info.role_sheets()["ORDERS"].name == "Ordini 2025"
    assert set(info.role_parts()) == {"ORDERS", "KPIS", "ABOUT"}
    assert read_inputs(pkg, info, ["Input_CAC", "Input_Period"]) == {
        "Input_CAC": 45.0,
        "Input_Period": "Y",
    }
    old = read_raw_tab(pkg, "Ordini 2025", "orders", ORDER_SPECS)
    assert old is not None
    assert old.frame["order_id"].tolist() == ["o1"]


# --------------------------------------------------------------------------- raw tabs


def _orders_tab(book: Path, rows: list[str]) -> None:
    pkg = read_package(book)
    part = pkg.workbook().role_parts()["ORDERS"]
    head = "".join(
        f'<c r="{c}1" t="inlineStr"><is><t>{h}</t></is></c>'
        for c, h in zip("ABCDE", ["Cliente", "Ordine", "Data", "Importo", "Netto"], strict=True)
    )
    body = "".join(f'<row r="{i + 2}">{r}</row>' for i, r in enumerate(rows))
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats'
        f'.org/spreadsheetml/2006/main"><sheetData><row r="1">{head}</row>{body}'
        "</sheetData></worksheet>"
    )
    rewrite(book, {part: xml.encode()})


def _row(n: int, customer: str, order: str, date: str, amount: str) -> str:
    def s(col: str, text: str) -> str:
        return f'<c r="{col}{n}" t="inlineStr"><is><t>{text}</t></is></c>'

    return s("A", customer) + s("B", order) + s("C", date) + f'<c r="D{n}"><v>{amount}</v></c>'


def test_raw_tab_read_like_an_export(book: Path) -> None:
    _orders_tab(
        book,
        [
            _row(2, "c1", "1001", "2024-03-01", "10.5"),
            _row(3, "c2", "=HYPERLINK(1)", "2024-03-31", "20"),
            '<row r="4"><c r="A4"><v>7</v></c><c r="B4"><v>1003</v></c>'
            '<c r="C4"><v>45383</v></c><c r="D4"><v>5</v></c></row>',
        ],
    )
    pkg = read_package(book)
    imp = read_raw_tab(pkg, "Orders", "orders", ORDER_SPECS)
    assert imp is not None
    frame = imp.frame
    assert frame["order_id"].tolist() == ["1001", "=HYPERLINK(1)", "1003"]
    assert frame["customer_id"].tolist() == ["c1", "c2", "7"]
    assert frame["amount"].tolist() == [10.5, 20.0, 5.0]
    assert frame["order_date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-03-01",
        "2024-03-31",
        "2024-04-01",
    ]
    assert imp.report.file == "Report.xlsx (sheet Orders)"


def test_raw_tab_bad_cell_is_located(book: Path) -> None:
    _orders_tab(book, [_row(2, "c1", "1", "2024-03-01", "1"), _row(3, "c2", "2", "soon", "2")])
    pkg = read_package(book)
    with pytest.raises(ExportError) as err:
        read_raw_tab(pkg, "Orders", "orders", ORDER_SPECS)
    assert (err.value.row, err.value.column, err.value.value) == (3, "Data", "soon")
    assert "Report.xlsx (sheet Orders), row 3, column 'Data'" in str(err.value)


def test_empty_raw_tab_is_none(book: Path) -> None:
    _orders_tab(book, [])
    pkg = read_package(book)
    assert read_raw_tab(pkg, "Orders", "orders", ORDER_SPECS) is None


def test_raw_tab_found_by_position_when_headers_renamed(book: Path) -> None:
    _orders_tab(book, [_row(2, "c1", "1001", "2024-03-01", "10.5")])
    specs = tuple(ColumnSpec(s.key, f"Other {i}", kind=s.kind) for i, s in enumerate(ORDER_SPECS))
    imp = read_raw_tab(read_package(book), "Orders", "orders", specs)
    assert imp is not None and imp.frame["amount"].tolist() == [10.5]


# --------------------------------------------------------------------------- merging


def test_merge_orders_export_wins() -> None:
    old = pd.DataFrame({"order_id": ["1", "2", "3"], "amount": [1.0, 2.0, 3.0]})
    new = pd.DataFrame(
        {"order_id": ["3", "4"], "amount": [0.0, 4.0], "status": ["refunded", "paid"]}
    )
    frame, replaced = merge_rows(old, new, "orders")
    assert replaced == 1
    assert frame["order_id"].tolist() == ["1", "2", "3", "4"]
    assert frame["amount"].tolist() == [1.0, 2.0, 0.0, 4.0]
    assert frame["status"].isna().tolist() == [True, True, False, False]


def test_merge_survey_overlap_not_double_counted() -> None:
    day = pd.Timestamp("2024-01-01")
    old = pd.DataFrame({"answered_at": [day, day, day], "score": [9, 9, 3]})
    new = pd.DataFrame({"answered_at": [day, day, day], "score": [9, 3, 3]})
    frame, replaced = merge_rows(old, new, "survey")
    assert sorted(frame["score"].tolist()) == [3, 3, 9, 9]
    assert replaced == 2


# --------------------------------------------------------------------------- currencies


def test_mixed_currencies_refused() -> None:
    frames = {"orders": pd.DataFrame({"currency": ["EUR", "USD"]}), "survey": None}
    with pytest.raises(WorkbookError, match="--rate EUR=1 --rate USD=RATE"):
        check_currencies(frames, "EUR", book="Report.xlsx")
    check_currencies({"orders": pd.DataFrame({"currency": ["EUR", None]})}, "EUR", book="b")


def test_too_many_rows_refused_before_planning() -> None:
    from retention_xl.workbook.refresh import check_sizes

    big = pd.DataFrame({"order_id": range(1_048_576)})
    with pytest.raises(WorkbookError, match="1,048,576 rows after --append") as err:
        check_sizes({"orders": big}, book="Report.xlsx", append=True)
    assert "refresh without --append" in str(err.value)
    check_sizes({"orders": big.iloc[:-1], "survey": None}, book="Report.xlsx", append=False)


@pytest.mark.parametrize("lang", ["en", "it"])
@pytest.mark.parametrize("role", ["ORDERS", "SUBSCRIPTIONS", "SURVEY"])
def test_raw_tab_specs_are_the_templates(role: str, lang: str) -> None:
    """Refresh reads a raw tab with the columns the template writes (planned alone)."""
    from retention_xl.workbook.build import plan_template, template_raw_sheet

    alone = template_raw_sheet(role, lang=lang).tables[0]
    planned = plan_template(lang=lang).sheet(role).tables[0]
    assert alone.columns == planned.columns
    assert (alone.first_row, alone.first_col) == (planned.first_row, planned.first_col)
