"""The full round trip with a real engine (headless LibreOffice), in English and Italian.

build from a first export -> LibreOffice, acting as a user, changes the CAC input, adds a
sheet with a chart, renames and moves sheets, saves -> ``retention-xl refresh`` with a
new export (a subprocess) -> every part the user touched or added is byte-identical, the
input kept its value, and LibreOffice's full recalculation of the refreshed workbook
equals the cached values, which equal the core's numbers on the new data.
"""

from __future__ import annotations

import datetime as dt
import math
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from libreoffice import LibreOffice, opened
from refresh_exports import italian_export, shopify_export

from retention_xl.core.report import kpi_report
from retention_xl.io import load_inputs
from retention_xl.workbook.build import plan_report, write_workbook
from retention_xl.workbook.labels import label
from retention_xl.workbook.package import read_package
from retention_xl.workbook.readback import read_inputs
from retention_xl.workbook.refresh import NOT_REFRESHED

pytestmark = pytest.mark.libreoffice

CUSTOMERS = [f"cliente{i}@esempio.it" for i in range(14)]


def orders(first: int, count: int, start: dt.date) -> list[tuple[str, str, dt.date, float]]:
    """Deterministic orders: (id, customer, day, amount); some customers buy again."""
    out = []
    for i in range(count):
        n = first + i
        customer = CUSTOMERS[(n * 7) % len(CUSTOMERS)] if n % 3 else CUSTOMERS[n % 4]
        day = start + dt.timedelta(days=(i * 11) % 540)
        out.append((str(n), customer, day, round(20 + (n * 37) % 180 + 0.5 * (n % 2), 2)))
    return out


def write_export(path: Path, rows: list[tuple[str, str, dt.date, float]], lang: str) -> Path:
    if lang == "it":
        return italian_export(
            path, [(c, f"A-{n}", d.strftime("%d/%m/%Y"), a) for n, c, d, a in rows]
        )
    return shopify_export(path, [(f"#{n}", c, d.isoformat(), a) for n, c, d, a in rows])


def _close(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def _differences(formulas: list, cached: dict[tuple[str, str], object]) -> list[tuple]:
    """Formula cells whose engine value is not their cached value (blanks alike)."""
    wrong = []
    for f in formulas:
        got = f.error if f.error is not None else f.value
        want = cached.get((f.sheet, f.cell))
        if want is None and got in ("", None):
            continue
        if not _close(got, want):
            wrong.append((f.sheet, f.cell, f.formula, got, want))
    return wrong


def _cached(path: Path) -> dict[tuple[str, str], object]:
    """Every non-blank cell's stored value (formula cells: their cached result)."""
    from python_calamine import CalamineWorkbook

    from retention_xl.workbook.sheetxml import cell_ref

    wb = CalamineWorkbook.from_path(str(path))
    out: dict[tuple[str, str], object] = {}
    for name in wb.sheet_names:
        rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value == "" or value is None:
                    continue
                if isinstance(value, dt.datetime | dt.date):
                    start = dt.datetime(1899, 12, 30)
                    moment = (
                        value
                        if isinstance(value, dt.datetime)
                        else dt.datetime(value.year, value.month, value.day)
                    )
                    value = (moment - start).total_seconds() / 86400.0
                elif isinstance(value, bool | int):
                    value = float(value)
                out[(name, cell_ref(r, c))] = value
    return out


@pytest.mark.parametrize("lang", ["en", "it"])
def test_build_edit_in_libreoffice_refresh(
    libreoffice: LibreOffice, run_cli, tmp_path: Path, lang: str
) -> None:
    first = write_export(tmp_path / "first.csv", orders(1000, 60, dt.date(2023, 1, 3)), lang)
    new_rows = orders(1030, 70, dt.date(2023, 9, 1))  # overlaps the first export
    second = write_export(tmp_path / "second.csv", new_rows, lang)
    inputs = load_inputs(orders=first)
    book = tmp_path / "Report.xlsx"
    write_workbook(plan_report(inputs.orders, lang=lang, reports=inputs.reports), book)
    orders_title, kpis_title = label("sheet.ORDERS", lang), label("sheet.KPIS", lang)

    # a user in LibreOffice
    saved = tmp_path / "Edited.xlsx"
    with opened(libreoffice, book) as lo_book:
        lo_book.set_named("Input_CAC", 60)
        lo_book.add_sheet(
            "Mie note", [["Mese", "Spesa"], ["Gen", 10], ["Feb", 12], ["Mar", 9]], chart="Spesa"
        )
        lo_book.rename_sheet(orders_title, "Vendite 2024")
        lo_book.move_sheet(kpis_title, 0)
        lo_book.save_as(saved)
    saved_bytes = saved.read_bytes()
    with zipfile.ZipFile(saved) as zf:
        before = {n: zf.read(n) for n in zf.namelist()}

    # refresh with the new export
    result = run_cli("refresh", str(saved), "--orders", str(second), "--json")
    assert result.returncode == 0, result.stderr
    assert Path(str(saved) + ".bak").read_bytes() == saved_bytes  # the previous version
    with zipfile.ZipFile(saved) as zf:
        after = {n: zf.read(n) for n in zf.namelist()}
    pkg = read_package(saved)
    info = pkg.workbook()
    owned = {r: p for r, p in info.role_parts().items() if r not in NOT_REFRESHED}
    allowed = set(owned.values()) | {"xl/styles.xml", "xl/workbook.xml"}
    changed = {n for n in before if before[n] != after.get(n)}
    assert changed <= allowed, changed - allowed
    assert set(after) == set(before)  # nothing added, nothing dropped
    assert owned[("ORDERS")] in changed
    user_sheet = next(s for s in info.sheets if s.name == "Mie note")
    kept = [n for n in before if n not in allowed]
    assert user_sheet.part in kept
    assert any("chart" in n for n in kept) and any("drawing" in n for n in kept)
    assert info.role_sheets()["ORDERS"].name == "Vendite 2024"
    assert info.sheets[0].name == kpis_title
    assert read_inputs(pkg, info, ["Input_CAC"]) == {"Input_CAC": 60.0}

    # the engine recalculates the refreshed book: equal to the cached values...
    cached = _cached(saved)
    with opened(libreoffice, saved) as lo_book:
        assert lo_book.interactions == []
        lo_book.calculate_all()
        formulas = lo_book.formulas()
        assert len(formulas) > 50
        assert _differences(formulas, cached) == []
        kpi = {
            key: lo_book.named(f"KPI_{key}")[0][0]
            for key in (
                "orders",
                "customers",
                "revenue",
                "aov",
                "purchase_frequency",
                "repeat_rate",
                "clv_cac",
            )
        }
        charts = lo_book.charts()
        assert charts["Mie note"]["ole_objects"] == 1
    # ... and to the core on the new data (replace: only the second export), CAC kept
    fresh = load_inputs(orders=second).orders
    core = kpi_report(fresh, cac=60.0)
    for key, value in kpi.items():
        want = core.value(key)
        if math.isnan(want):
            assert value in ("", None), key  # the sheet shows a blank where the core has none
        else:
            assert value == pytest.approx(want, rel=1e-9), key
    assert not math.isnan(core.value("repeat_rate"))
    assert kpi["orders"] == len(new_rows)


def test_append_keeps_old_rows_and_deduplicates(run_cli, tmp_path: Path) -> None:
    first_rows = orders(1000, 40, dt.date(2023, 1, 3))
    second_rows = orders(1030, 30, dt.date(2023, 9, 1))  # ids 1030..1039 in both
    first = write_export(tmp_path / "first.csv", first_rows, "it")
    second = write_export(tmp_path / "second.csv", second_rows, "it")
    inputs = load_inputs(orders=first)
    book = tmp_path / "Rapporto.xlsx"
    write_workbook(plan_report(inputs.orders, lang="it", reports=inputs.reports), book)
    result = run_cli("refresh", str(book), "--orders", str(second), "--append", "--json")
    assert result.returncode == 0, result.stderr
    import json

    summary = json.loads(result.stdout)["refresh"]
    later = {r[0]: r for r in second_rows}
    changed = sum(1 for r in first_rows if r[0] in later and later[r[0]] != r)
    assert summary["merged"]["orders"] == {
        "in_book": 40,
        "new": 30,
        "replaced": 10,
        "updated": changed,  # the export is the later one: its versions win
        "total": 60,
    }
    wb = openpyxl.load_workbook(book, read_only=True)
    ids = [r[1] for r in wb[label("sheet.ORDERS", "it")].iter_rows(min_row=2, values_only=True)]
    wb.close()
    ids = [i for i in ids if i is not None]
    assert sorted(ids) == sorted({f"A-{n}" for n, *_ in first_rows + second_rows})
    assert len(ids) == 60


def test_user_formulas_show_fresh_values_on_opening_without_a_recalculation(
    libreoffice: LibreOffice, run_cli, tmp_path: Path
) -> None:
    """A user's sheet reading the KPI names shows this month's numbers on opening.

    LibreOffice (default settings) keeps the cached result of a formula on load; refresh
    drops those results from the user's sheets, so LibreOffice computes them: the
    sheet, and the chart drawn from it, equal a pandas computation on the new export
    without any explicit recalculation.
    """
    from retention_xl.workbook.recalc import drop_formula_results

    first_rows = orders(1000, 60, dt.date(2023, 1, 3))
    second_rows = orders(1030, 90, dt.date(2023, 9, 1))
    first = write_export(tmp_path / "first.csv", first_rows, "en")
    second = write_export(tmp_path / "second.csv", second_rows, "en")
    inputs = load_inputs(orders=first)
    book = tmp_path / "Report.xlsx"
    write_workbook(plan_report(inputs.orders, lang="en", reports=inputs.reports), book)
    saved = tmp_path / "Edited.xlsx"
    with opened(libreoffice, book) as lo_book:
        lo_book.add_sheet(
            "My analysis", [["What", "Value"], ["Customers", 0], ["Revenue", 0]], chart="Mine"
        )
        lo_book.set_cell("My analysis", "B2", formula="=KPI_customers")
        lo_book.set_cell("My analysis", "B3", formula="=KPI_revenue*2")
        lo_book.set_cell("My analysis", "C2", formula='=IF(B3>20000,"big","small")')
        lo_book.save_as(saved)
    old = _sheet_xml(saved, "My analysis")
    assert b"<v>" in old  # LibreOffice cached the old results

    result = run_cli("refresh", str(saved), "--orders", str(second))
    assert result.returncode == 0, result.stderr
    assert "My analysis" in result.stdout  # said which sheets are recalculated
    new = _sheet_xml(saved, "My analysis")
    assert new == drop_formula_results(old)  # formulas and formats as the user left them
    assert new != old

    # independent: customers with a positive order, revenue of the new export
    frame = pd.DataFrame(second_rows, columns=["id", "customer", "day", "amount"])
    customers = frame.loc[frame["amount"] > 0, "customer"].nunique()
    revenue = float(frame["amount"].sum())
    with opened(libreoffice, saved) as lo_book:  # no calculate_all()
        values = lo_book.values("My analysis", "B2:C3")
        chart = lo_book.charts()["My analysis"]["charts"][0]
    assert values[0][0] == customers
    assert values[1][0] == pytest.approx(2 * revenue, rel=1e-12)
    assert values[0][1] == ("big" if 2 * revenue > 20000 else "small")
    assert 2 * revenue != pytest.approx(2 * sum(r[3] for r in first_rows))  # really changed
    assert [row[0] for row in chart["data"]] == pytest.approx([customers, 2 * revenue])


def _sheet_xml(path: Path, name: str) -> bytes:
    pkg = read_package(path)
    entry = pkg.workbook().sheet_by_name(name)
    assert entry is not None and entry.part is not None
    return pkg.read(entry.part)


@pytest.mark.parametrize("kinds", [("nps",), ("csat",), ("nps", "csat")])
def test_survey_only_books_cache_what_the_engine_computes(
    libreoffice: LibreOffice, tmp_path: Path, kinds: tuple[str, ...]
) -> None:
    """NPS-only, CSAT-only and mixed surveys: every cached value, blanks included,
    equals LibreOffice's recalculation (a count of no answers is blank in both)."""
    lines = ["answered_at,score,kind,customer_id"]
    for i in range(12):
        kind = kinds[i % len(kinds)]
        score = (i * 3) % 11 if kind == "nps" else 1 + i % 5
        lines.append(f"2024-{1 + i % 6:02d}-{1 + i:02d},{score},{kind},c{i}")
    path = tmp_path / "survey.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    inputs = load_inputs(survey=path)
    book = write_workbook(plan_report(None, None, inputs.survey, lang="en"), tmp_path / "S.xlsx")
    cached = _cached(book)
    with opened(libreoffice, book) as lo_book:
        lo_book.calculate_all()
        formulas = lo_book.formulas()
        answers = {k: lo_book.named(f"KPI_{k}_answers")[0][0] for k in ("nps", "csat")}
    assert _differences(formulas, cached) == []
    for kind in ("nps", "csat"):
        expected = sum(1 for i in range(12) if kinds[i % len(kinds)] == kind)
        assert answers[kind] == (expected if expected else "")
