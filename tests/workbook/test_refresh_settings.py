"""Settings a refresh keeps (language, currency, period, market) and inputs as plan arguments."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from refresh_books import marked_book, parts, rename_sheet, rewrite

from retention_xl.errors import WorkbookError
from retention_xl.io.inputs import Inputs
from retention_xl.io.report import ImportReport
from retention_xl.workbook.bookinfo import BookSettings, book_settings, plan_arguments
from retention_xl.workbook.build import plan_template, write_workbook
from retention_xl.workbook.package import read_package


def _settings(path: Path, inputs: Inputs | None = None) -> BookSettings:
    pkg = read_package(path)
    return book_settings(pkg, pkg.workbook(), inputs)


@pytest.mark.parametrize(
    ("lang", "currency", "period"), [("en", "USD", "Q"), ("it", "EUR", "M"), ("it", "CHF", "Y")]
)
def test_settings_of_generated_templates(
    tmp_path: Path, lang: str, currency: str, period: str
) -> None:
    book = write_workbook(
        plan_template(lang=lang, currency=currency, period=period),  # type: ignore[arg-type]
        tmp_path / "T.xlsx",
    )
    found = _settings(book)
    assert (found.lang, found.currency, found.period, found.market) == (
        lang,
        currency,
        period,
        "eu",
    )
    assert "About sheet" in found.source


def test_settings_survive_renamed_about_sheet(tmp_path: Path) -> None:
    book = write_workbook(plan_template(lang="it", currency="GBP"), tmp_path / "T.xlsx")
    rename_sheet(book, "Informazioni", "Note mie")
    assert _settings(book).currency == "GBP"


def test_settings_from_names(tmp_path: Path) -> None:
    book = marked_book(tmp_path / "Report.xlsx")
    wb = parts(book)["xl/workbook.xml"].replace(
        b"</definedNames>",
        b'<definedName name="RXL_LANG">"it"</definedName>'
        b'<definedName name="RXL_CURRENCY">"CHF"</definedName></definedNames>',
    )
    rewrite(book, {"xl/workbook.xml": wb})
    found = _settings(book)
    assert (found.lang, found.currency) == ("it", "CHF")


def test_settings_guessed(tmp_path: Path) -> None:
    it = marked_book(
        tmp_path / "it.xlsx", titles={"ORDERS": "Ordini", "KPIS": "KPI", "ABOUT": "Informazioni"}
    )
    report = ImportReport(file="o.csv", kind="orders", format="shopify", currencies=("USD",))
    found = _settings(it, Inputs(reports={"orders": report}))
    assert (found.lang, found.currency, found.period, found.source) == (
        "it",
        "USD",
        "Y",
        "defaults",
    )
    found = _settings(marked_book(tmp_path / "en.xlsx"))
    assert (found.lang, found.currency) == ("en", "EUR")


def test_plan_arguments() -> None:
    args = plan_arguments(
        {
            "Input_Period": 45292.0,
            "Input_WindowDays": 180.0,
            "Input_CAC": None,
            "Input_GrossMargin": "40%",
            "Input_DiscountRate": 0.08,
            "Target_RepeatRate": 0.35,
            "Target_NPS": "",
        }
    )
    assert args == {
        "input_period": dt.date(2024, 1, 1),
        "window_days": 180,
        "cac": None,
        "gross_margin": pytest.approx(0.4),
        "discount_rate": 0.08,
        "targets": {"Target_RepeatRate": 0.35, "Target_NPS": None},
    }
    assert plan_arguments({"Input_CAC": "45,5"}) == {"cac": 45.5}
    assert plan_arguments({"Input_Period": "2024-03-01"}) == {"input_period": dt.date(2024, 3, 1)}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"Input_CAC": "tanti"}, "Input_CAC holds 'tanti'"),
        ({"Input_WindowDays": 12.5}, "whole number of days"),
        ({"Input_Period": "Y"}, "not a date"),
        ({"Target_Churn": True}, "type a number"),
    ],
)
def test_bad_inputs_are_named(values: dict[str, object], message: str) -> None:
    with pytest.raises(WorkbookError, match=message):
        plan_arguments(values)
