"""`retention-xl refresh` as a subprocess: every refused refresh leaves the book byte-identical."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from refresh_books import marked_book, rewrite
from refresh_exports import italian_export, shopify_export

ORDERS = [("#1001", "anna@example.com", "2024-03-01", 10.0)]


@pytest.fixture
def book(tmp_path: Path) -> Path:
    return marked_book(tmp_path / "Report.xlsx")


def _refused(run_cli: Callable[..., object], book: Path, *args: str) -> str:
    before = book.read_bytes()
    listing = sorted(p.name for p in book.parent.iterdir())
    result = run_cli("refresh", str(book), *args)
    assert result.returncode == 2, result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in result.stderr  # type: ignore[attr-defined]
    assert book.read_bytes() == before
    assert sorted(p.name for p in book.parent.iterdir()) == listing  # no .bak, no temp
    return result.stderr  # type: ignore[attr-defined,no-any-return]


def test_no_export_given(run_cli, book: Path) -> None:
    err = _refused(run_cli, book)
    assert "--orders" in err


def test_missing_book(run_cli, tmp_path: Path) -> None:
    export = shopify_export(tmp_path / "orders_export.csv", ORDERS)
    result = run_cli("refresh", str(tmp_path / "Nope.xlsx"), "--orders", str(export))
    assert result.returncode == 2
    assert "Nope.xlsx does not exist" in result.stderr
    assert "retention-xl template" in result.stderr


@pytest.mark.parametrize(
    ("lock", "expected"),
    [("~$Report.xlsx", "open in Excel"), (".~lock.Report.xlsx#", "open in LibreOffice")],
)
def test_locked_book(run_cli, book: Path, tmp_path: Path, lock: str, expected: str) -> None:
    export = shopify_export(tmp_path / "orders_export.csv", ORDERS)
    (book.parent / lock).write_bytes(b",Mario,host,date,url;")
    err = _refused(run_cli, book, "--orders", str(export))
    assert expected in err and lock in err


def test_missing_column_lists_columns_and_map(run_cli, book: Path, tmp_path: Path) -> None:
    export = tmp_path / "orders.csv"
    export.write_text("Cliente;Data ordine\nanna;01/03/2024\n", encoding="utf-8")
    err = _refused(run_cli, book, "--orders", str(export))
    assert "orders.csv" in err
    assert "Cliente" in err and "--map" in err


def test_bad_value_is_located(run_cli, book: Path, tmp_path: Path) -> None:
    export = italian_export(
        tmp_path / "ordini.csv",
        [("Nicolò", "A-1", "31/01/2024", 10.0), ("Zoë", "A-2", "01/02/2024", 5.0)],
    )
    text = export.read_bytes().decode("cp1252").replace("5,00", "cinque")
    export.write_bytes(text.encode("cp1252"))
    err = _refused(run_cli, book, "--orders", str(export))
    assert "ordini.csv, row 3, column 'Importo'" in err
    assert "'cinque'" in err


def test_another_currency_names_the_export(run_cli, tmp_path: Path) -> None:
    # the refusal names the export the other currency came from, not only the book
    book = tmp_path / "Modello.xlsx"
    assert run_cli("template", "--out", str(book), "--lang", "it").returncode == 0
    export = italian_export(tmp_path / "ordini.csv", [("Nicolò", "A-1", "31/01/2024", 10.0)])
    text = export.read_bytes().decode("cp1252").replace(";EUR", ";USD")
    export.write_bytes(text.encode("cp1252"))
    err = _refused(run_cli, book, "--orders", str(export))
    assert "the orders (ordini.csv) are in USD" in err
    assert "--rate EUR=1 --rate USD=RATE" in err


def test_bad_dates(run_cli, book: Path, tmp_path: Path) -> None:
    export = italian_export(tmp_path / "ordini.csv", [("Nicolò", "A-1", "31/02/2024", 10.0)])
    err = _refused(run_cli, book, "--orders", str(export), "--date-format", "%d/%m/%Y")
    assert "row 2" in err and "Data ordine" in err and "31/02/2024" in err


def test_not_a_retention_workbook(run_cli, tmp_path: Path) -> None:
    import xlsxwriter

    book = tmp_path / "Report.xlsx"
    wb = xlsxwriter.Workbook(str(book))
    wb.add_worksheet("Budget").write(0, 0, 1)
    wb.close()
    export = shopify_export(tmp_path / "orders_export.csv", ORDERS)
    err = _refused(run_cli, book, "--orders", str(export))
    assert "RXL_SHEET_" in err and "retention-xl build" in err


def test_broken_zip(run_cli, book: Path, tmp_path: Path) -> None:
    export = shopify_export(tmp_path / "orders_export.csv", ORDERS)
    book.write_bytes(book.read_bytes()[:-200])
    err = _refused(run_cli, book, "--orders", str(export))
    assert "damaged" in err


def test_zip_bomb(run_cli, tmp_path: Path) -> None:
    book = tmp_path / "Report.xlsx"
    with zipfile.ZipFile(book, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"<" + b" " * (80 * 1024**2) + b"/>")
    export = shopify_export(tmp_path / "orders_export.csv", ORDERS)
    err = _refused(run_cli, book, "--orders", str(export))
    assert "zip bomb" in err


def test_xxe(run_cli, book: Path, tmp_path: Path) -> None:
    rewrite(
        book,
        {
            "xl/workbook.xml": b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM '
            b'"file:///etc/hostname">]><workbook>&x;</workbook>'
        },
    )
    export = shopify_export(tmp_path / "orders_export.csv", ORDERS)
    err = _refused(run_cli, book, "--orders", str(export))
    assert "DTD" in err


def test_subscriptions_into_a_book_without_the_tab(run_cli, book: Path, tmp_path: Path) -> None:
    subs = tmp_path / "subscriptions.csv"
    subs.write_text(
        "customer_id,subscription_id,start_date,end_date,amount,interval\n"
        "c1,sub_1,2024-01-01,,9.0,month\n",
        encoding="utf-8",
    )
    err = _refused(run_cli, book, "--subscriptions", str(subs))
    assert "no subscriptions sheet" in err and "retention-xl build --subscriptions" in err


def test_a_bad_cell_in_a_glob_of_survey_files(run_cli, book: Path, tmp_path: Path) -> None:
    """Several files read as one: the refusal names the file and its own row."""
    src = tmp_path / "answers"
    src.mkdir()
    (src / "march.csv").write_text(
        "answered_at,score\n2024-03-01,9\n2024-03-02,7\n", encoding="utf-8"
    )
    (src / "april.csv").write_text(
        "answered_at,score\n2024-04-01,10\n2024-04-02,12\n", encoding="utf-8"
    )
    before = {p.name: p.read_bytes() for p in src.iterdir()}
    err = _refused(run_cli, book, "--survey", str(src / "*.csv"))
    assert "april.csv, row 3, column 'score'" in err and "(value '12')" in err
    assert {p.name: p.read_bytes() for p in src.iterdir()} == before


def test_a_missing_duckdb_table(run_cli, book: Path, tmp_path: Path) -> None:
    import duckdb

    db = tmp_path / "shop.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE answers AS SELECT DATE '2024-03-01' AS answered_at, 9 AS score")
    con.close()
    err = _refused(run_cli, book, "--survey", f"duckdb:{db}")
    assert "shop.duckdb: has no table 'survey' (its tables: answers)" in err


def test_refresh_quiet_and_summary(run_cli, tmp_path: Path) -> None:
    from retention_xl.workbook.build import plan_template, write_workbook

    book = write_workbook(plan_template(lang="it"), tmp_path / "Modello.xlsx")
    export = italian_export(
        tmp_path / "ordini.csv",
        [("Nicolò", "A-1", "31/01/2024", 10.0), ("Zoë", "A-2", "01/02/2024", 5.0)],
    )
    quiet = run_cli("refresh", str(book), "--orders", str(export), "--quiet", "--no-backup")
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout == "" and quiet.stderr == ""
    assert not (tmp_path / "Modello.xlsx.bak").exists()
    loud = run_cli("refresh", str(book), "--orders", str(export))
    assert loud.returncode == 0, loud.stderr
    assert "ordini.csv: format generic, locale it, encoding cp1252" in loud.stderr
    assert "refreshed Modello.xlsx (it, EUR)" in loud.stdout
    assert "backup: " in loud.stdout and (tmp_path / "Modello.xlsx.bak").exists()
    assert "[####" not in loud.stderr  # no progress bars when not on a terminal


def test_summary_tells_rewritten_sheets_from_unchanged_ones(run_cli, tmp_path: Path) -> None:
    import json

    from retention_xl.workbook.build import plan_template, write_workbook

    book = write_workbook(plan_template(lang="en"), tmp_path / "Template.xlsx")
    export = italian_export(tmp_path / "ordini.csv", [("Anna", "A-1", "31/01/2024", 10.0)])

    def sheets() -> dict[str, bool]:
        result = run_cli("refresh", str(book), "--orders", str(export), "--json", "--no-backup")
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout)
        return {s["role"]: s["changed"] for s in summary["refresh"]["sheets"]}

    first = sheets()
    assert first["ORDERS"] and first["KPIS"]  # data came into an empty template
    second = sheets()
    assert set(second) == set(first)
    assert not second["ORDERS"]  # the same export again: nothing new to write
