"""The generator's workbooks in a real spreadsheet engine (headless LibreOffice).

For the English and Italian templates, the sample report and a report built from an
Italian-locale export, every formula cell is recalculated by LibreOffice
(``calculateAll()``) and compared with the cached value stored in the file and with
the value the core computed (the plan's), to a relative 1e-9. The files must load with
no repair prompt, show no error values, and have the charts, conditional formats,
validations and names the plan designs, with ranges whose size does not depend on the
data (report and template agree).
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from libreoffice import FormulaCell, LibreOffice, opened
from ooxml_check import problems
from openpyxl.utils import get_column_letter

from retention_xl.datasets import load_sample
from retention_xl.io import load_inputs
from retention_xl.io.safety import parse_xml
from retention_xl.workbook.build import model_p_alive, plan_report, plan_template, write_workbook
from retention_xl.workbook.committed import SAMPLE_CAC
from retention_xl.workbook.labels import label as label_text
from retention_xl.workbook.plan import INPUT_NAMES, WorkbookPlan, sheet_marker
from retention_xl.workbook.stylesxml import ensure_styles

pytestmark = pytest.mark.libreoffice

KINDS = ("template_en", "template_it", "report_en", "report_it_export")


@dataclass
class Built:
    """A generated workbook, its plan, the file's cached values and the engine's results."""

    path: Path
    plan: WorkbookPlan
    interactions: list[str]
    recalculated: dict[tuple[str, str], FormulaCell]
    seconds: float

    @cached_property
    def wb(self) -> openpyxl.Workbook:
        return load_openpyxl(self.path)

    @cached_property
    def cached(self) -> openpyxl.Workbook:
        return load_openpyxl(self.path, data_only=True)


def load_openpyxl(path: Path, **kwargs: Any) -> openpyxl.Workbook:
    """openpyxl warns that it drops the data-bar extension it cannot model: irrelevant here."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=".*extension is not supported", category=UserWarning
        )
        return openpyxl.load_workbook(path, **kwargs)


def italian_export(folder: Path) -> Path:
    """The sample shop's orders as an Italian platform exports them: ``;``, ``1.234,56``,
    ``31/12/2024``, Italian headers and statuses."""
    orders = load_sample().orders
    status = orders["status"].map(
        {"paid": "Pagato", "refunded": "Rimborsato", "cancelled": "Annullato"}
    )

    def euro(values: pd.Series) -> pd.Series:
        return values.map(
            lambda v: f"{v:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
        )

    frame = pd.DataFrame(
        {
            "Cliente": orders["customer_id"],
            "ID ordine": orders["order_id"],
            "Data ordine": orders["order_date"].dt.strftime("%d/%m/%Y"),
            "Importo": euro(orders["amount"]),
            "Importo rimborsato": euro(orders["refunded"]),
            "Stato": status.fillna(orders["status"]),
            "Valuta": orders["currency"],
        }
    )
    path = folder / "ordini.csv"
    frame.to_csv(path, sep=";", index=False, encoding="utf-8")
    return path


def plans(folder: Path) -> dict[str, WorkbookPlan]:
    sample = load_sample()
    p_alive = model_p_alive(sample.orders, as_of=None, margin=1.0, discount_rate=0.10)
    inputs = load_inputs(orders=italian_export(folder))
    assert inputs.orders is not None
    assert inputs.orders["order_id"].nunique() == sample.orders["order_id"].nunique()
    return {
        "template_en": plan_template(lang="en"),
        "template_it": plan_template(lang="it"),
        "report_en": plan_report(
            sample.orders,
            sample.subscriptions,
            sample.survey,
            lang="en",
            cac=SAMPLE_CAC,
            p_alive=p_alive,
        ),
        "report_it_export": plan_report(
            inputs.orders, lang="it", currency="EUR", cac=30.0, reports=inputs.reports
        ),
    }


@pytest.fixture(scope="module")
def built(
    libreoffice: LibreOffice, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Built]]:
    folder = tmp_path_factory.mktemp("engine_workbooks")
    out: dict[str, Built] = {}
    for kind, plan in plans(folder).items():
        path = write_workbook(plan, folder / f"{kind}.xlsx")
        with opened(libreoffice, path) as book:
            seconds = book.calculate_all()
            cells = {(f.sheet, f.cell): f for f in book.formulas()}
            out[kind] = Built(path, plan, book.interactions, cells, seconds)
    yield out


def ref(row: int, col: int) -> str:
    return f"{get_column_letter(col + 1)}{row + 1}"


def serial(value: dt.date) -> float:
    stamp = value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())
    delta = stamp - dt.datetime(1899, 12, 30)
    return delta.days + delta.seconds / 86_400


def same(core: Any, engine: FormulaCell) -> bool:
    """The engine's value equals the core's (blank for None/NaN, 1e-9 relative)."""
    if engine.error is not None:
        return isinstance(core, str) and core == engine.error
    got = engine.value
    if core is None or (isinstance(core, float) and math.isnan(core)):
        return got in ("", None)
    if isinstance(core, bool):
        return got == float(core)
    if isinstance(core, str):
        return got == core
    if isinstance(core, dt.date):
        core = serial(core)
    return isinstance(got, float) and math.isclose(got, float(core), rel_tol=1e-9, abs_tol=1e-12)


def stored_equals(core: Any, stored: Any) -> bool:
    """The file's cached value (as openpyxl reads it) equals the core's."""
    if core is None or core == "" or (isinstance(core, float) and math.isnan(core)):
        return stored in ("", None)
    if isinstance(core, bool):
        return stored is core
    if isinstance(core, dt.date) and not isinstance(core, dt.datetime):
        return stored == dt.datetime.combine(core, dt.time())
    if isinstance(stored, dt.datetime) and isinstance(core, (int, float)):
        stored = serial(stored)  # a number shown with a date format
    if isinstance(core, (int, float)) and not isinstance(core, bool):
        return isinstance(stored, (int, float)) and math.isclose(
            stored, core, rel_tol=1e-15, abs_tol=0
        )
    return bool(stored == core)


@pytest.mark.parametrize("kind", KINDS)
def test_loads_without_repair_and_every_part_is_well_formed(
    built: dict[str, Built], kind: str
) -> None:
    book = built[kind]
    assert book.interactions == []  # LibreOffice asked nothing (a broken zip would ask)
    with zipfile.ZipFile(book.path) as zf:
        assert zf.testzip() is None
    assert problems(book.path) == []  # nothing Excel would repair
    assert book.wb.sheetnames == [s.title for s in book.plan.sheets]


@pytest.mark.parametrize("kind", KINDS)
def test_recalculated_equals_cached_equals_core(built: dict[str, Built], kind: str) -> None:
    book = built[kind]
    cached = book.cached
    planned = {
        (sheet.title, ref(r, c)): cell
        for sheet in book.plan.sheets
        for (r, c), cell in sheet.formula_cells()
    }
    assert planned, "the workbook has formulas"
    assert set(book.recalculated) == set(planned)  # the engine sees exactly the planned formulas
    wrong = []
    for key, cell in planned.items():
        engine = book.recalculated[key]
        stored = cached[key[0]][key[1]].value
        if not (same(cell.value, engine) and stored_equals(cell.value, stored)):
            wrong.append(
                f"{key}: {cell.formula} core={cell.value!r} cached={stored!r} engine={engine}"
            )
    assert not wrong, "\n".join(wrong[:30])


@pytest.mark.parametrize("kind", KINDS)
def test_no_error_values(built: dict[str, Built], kind: str) -> None:
    errors = [
        f"{f.sheet}!{f.cell} {f.formula} -> {f.error}"
        for f in built[kind].recalculated.values()
        if f.error
    ]
    assert not errors, "\n".join(errors)


def test_reports_show_numbers_templates_show_blanks(built: dict[str, Built]) -> None:
    for kind in ("template_en", "template_it"):
        kpis = built[kind].plan.sheet("KPIS").title
        for f in built[kind].recalculated.values():
            if f.sheet == kpis:
                assert f.value in ("", None), f  # "no data": blank, never an error or 0
            else:  # counts of nothing, or the user's targets echoed
                label = "RXL_Label_" in f.formula  # a tile label shows its text
                lang = kind[-2:]
                if f.value == label_text("dashboard.no_cac", lang):  # CLV : CAC asks for it
                    assert "Input_CAC" in f.formula, f
                    continue
                assert f.value in ("", None, 0.0) or "Target_" in f.formula or label, f
    for kind in ("report_en", "report_it_export"):
        kpis = built[kind].plan.sheet("KPIS").title
        numbers = [
            f
            for f in built[kind].recalculated.values()
            if f.sheet == kpis and isinstance(f.value, float)
        ]
        assert len(numbers) >= 10  # the KPIs compute from the data in the engine


def test_clv_cac_tile_asks_for_the_cac_until_it_is_given(built: dict[str, Built]) -> None:
    """Without a CAC the CLV : CAC tile would be empty: its change line says where the
    CAC goes, in the book's language; with one (the reports) it shows the change."""
    for kind, lang in (("template_en", "en"), ("template_it", "it"), ("report_en", "en")):
        dashboard = built[kind].plan.sheet("DASHBOARD").title
        asks = [
            f
            for f in built[kind].recalculated.values()
            if f.sheet == dashboard and f.formula.startswith('=IF(OR(Input_CAC="";')
        ]
        assert len(asks) == 1, kind
        if kind.startswith("template"):
            assert asks[0].value == label_text("dashboard.no_cac", lang)
        else:
            assert asks[0].value != label_text("dashboard.no_cac", lang)
            assert asks[0].value == "" or isinstance(asks[0].value, float), asks[0]


def test_languages_share_formulas(built: dict[str, Built]) -> None:
    en, it = built["template_en"], built["template_it"]
    titles = {
        s.role: (s.title, t.title) for s, t in zip(en.plan.sheets, it.plan.sheets, strict=True)
    }
    assert [s.role for s in en.plan.sheets] == [s.role for s in it.plan.sheets]
    for sheet_en, sheet_it in titles.values():
        f_en = {c: f.formula for (s, c), f in en.recalculated.items() if s == sheet_en}
        f_it = {c: f.formula for (s, c), f in it.recalculated.items() if s == sheet_it}
        assert set(f_en) == set(f_it)
        for cell, formula in f_en.items():
            translated = formula
            for a, b in titles.values():
                translated = translated.replace(f"${a}.", f"${b}.").replace(f"$'{a}'.", f"$'{b}'.")
            assert translated == f_it[cell], (sheet_en, cell)


# ---------------------------------------------------------------- designed features


R_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
C_NS = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
PKG_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def chart_ranges(path: Path) -> dict[str, list[list[str]]]:
    """Per sheet, its charts in drawing order, each as the source ranges of its series
    (values then categories), read from the chart parts themselves (openpyxl drops the
    second plot of a combined chart)."""
    zf = zipfile.ZipFile(path)

    def rels(part: str) -> dict[str, str]:
        folder, _, name = part.rpartition("/")
        rel_part = f"{folder}/_rels/{name}.rels"
        if rel_part not in zf.namelist():
            return {}
        out = {}
        for rel in parse_xml(zf.read(rel_part)).iter(PKG_NS + "Relationship"):
            target = rel.get("Target", "")
            resolved = Path(folder, target).as_posix() if not target.startswith("/") else target[1:]
            parts: list[str] = []
            for piece in resolved.split("/"):
                if piece == "..":
                    parts.pop()
                elif piece not in ("", "."):
                    parts.append(piece)
            out[rel.get("Id", "")] = "/".join(parts)
        return out

    book = parse_xml(zf.read("xl/workbook.xml"))
    sheet_parts = rels("xl/workbook.xml")
    out: dict[str, list[list[str]]] = {}
    for sheet in book.iter(MAIN_NS + "sheet"):
        part = sheet_parts[sheet.get(R_NS + "id", "")]
        for drawing in rels(part).values():
            if "/drawings/" not in drawing:
                continue
            drawing_rels = rels(drawing)
            for node in parse_xml(zf.read(drawing)).iter(C_NS + "chart"):
                chart = parse_xml(zf.read(drawing_rels[node.get(R_NS + "id", "")]))
                refs = []
                for series in chart.iter(C_NS + "ser"):
                    for tag in ("val", "cat", "yVal", "xVal"):  # xVal/yVal: scatter
                        holder = series.find(C_NS + tag)
                        f = holder.find(f".//{C_NS}f") if holder is not None else None
                        if f is not None:
                            refs.append(f.text or "")
                out.setdefault(sheet.get("name", ""), []).append(refs)
    return out


def expected_chart_ranges(plan: WorkbookPlan) -> dict[str, list[list[str]]]:
    out: dict[str, list[list[str]]] = {}
    for sheet in plan.sheets:
        quoted = "'" + sheet.title.replace("'", "''") + "'"
        for spec in sheet.charts:
            refs = []
            for series in [*spec["series"], *spec.get("line_series", [])]:
                for key in ("values", "categories"):
                    r0, c0, r1, c1 = series[key]
                    first, last = get_column_letter(c0 + 1), get_column_letter(c1 + 1)
                    block = f"${first}${r0 + 1}:${last}${r1 + 1}"
                    refs.append(f"{quoted}!{block}")
            out.setdefault(sheet.title, []).append(refs)
    return out


def unquote(ref_: str) -> str:
    sheet, _, block = ref_.rpartition("!")
    return f"{sheet.strip(chr(39))}!{block}"


@pytest.mark.parametrize("kind", KINDS)
def test_charts_exist_with_their_source_ranges(built: dict[str, Built], kind: str) -> None:
    book = built[kind]
    want = expected_chart_ranges(book.plan)
    got = chart_ranges(book.path)
    assert sum(map(len, want.values())) >= 4  # retention, NPS, benchmarks, revenue (+ MRR)
    assert {s: [sorted(map(unquote, c)) for c in cs] for s, cs in got.items()} == {
        s: [sorted(map(unquote, c)) for c in cs] for s, cs in want.items()
    }


def test_fixed_size_ranges_do_not_depend_on_the_data(built: dict[str, Built]) -> None:
    template, report = built["template_en"].wb, built["report_en"].wb
    t_charts = chart_ranges(built["template_en"].path)
    r_charts = chart_ranges(built["report_en"].path)
    dashboard = built["report_en"].plan.sheet("DASHBOARD")
    t_keys = [c["key"] for c in built["template_en"].plan.sheet("DASHBOARD").charts]
    r_keys = [c["key"] for c in dashboard.charts]
    by_key_t = dict(zip(t_keys, t_charts[dashboard.title], strict=True))
    by_key_r = dict(zip(r_keys, r_charts[dashboard.title], strict=True))
    assert set(by_key_t) == set(by_key_r)  # the same charts with or without data
    for key, refs in by_key_t.items():
        assert by_key_r[key] == refs, key  # the same fixed-size blocks with or without data
    for t_ws, r_ws in zip(template.worksheets, report.worksheets, strict=True):
        assert sorted(str(r.sqref) for r in t_ws.conditional_formatting) == sorted(
            str(r.sqref) for r in r_ws.conditional_formatting
        ), t_ws.title
        assert sorted(str(v.sqref) for v in t_ws.data_validations.dataValidation) == sorted(
            str(v.sqref) for v in r_ws.data_validations.dataValidation
        ), t_ws.title
    manifest = ("RXL_AREA_", "RXL_MANIFEST_")  # these record what was written
    t_names = {
        n: d.attr_text for n, d in template.defined_names.items() if not n.startswith(manifest)
    }
    r_names = {
        n: d.attr_text for n, d in report.defined_names.items() if not n.startswith(manifest)
    }
    assert t_names == r_names


@pytest.mark.parametrize("kind", KINDS)
def test_conditional_formats_validations_and_names_as_designed(
    built: dict[str, Built], kind: str
) -> None:
    book = built[kind]
    wb = book.wb
    for sheet in book.plan.sheets:
        ws = wb[sheet.title]
        ranges = {str(r.sqref) for r in ws.conditional_formatting}
        assert {rule["range"].replace("$", "") for rule in sheet.conditional_formats} <= {
            r.replace("$", "") for r in ranges
        }, sheet.title
        validated = {str(v.sqref) for v in ws.data_validations.dataValidation}
        assert {ref(v["row"], v["col"]) for v in sheet.validations} <= validated, sheet.title
    names = {n: d.attr_text for n, d in wb.defined_names.items()}
    for name, target in book.plan.names.items():
        assert names.get(name) == target.lstrip("="), name
    for sheet in book.plan.sheets:
        assert sheet_marker(sheet.role) in names
    assert set(INPUT_NAMES) <= set(names)
    roles = {s.role for s in book.plan.sheets}
    assert {"KPIS", "BENCHMARKS", "DASHBOARD", "ORDERS", "ABOUT", "XLWINGS_CONF"} <= roles
    benchmarks = book.plan.sheet("BENCHMARKS")
    assert benchmarks.conditional_formats  # the traffic lights
    kpis = book.plan.sheet("KPIS")
    assert len(kpis.validations) >= 5  # every input is validated


def test_engine_charts_match_openpyxl(libreoffice: LibreOffice, built: dict[str, Built]) -> None:
    book = built["report_en"]
    want = {s.title: len(s.charts) for s in book.plan.sheets}
    with opened(libreoffice, book.path) as opened_book:
        charts = opened_book.charts()
    assert {s: len(c["charts"]) for s, c in charts.items()} == want
    for sheet_charts in charts.values():
        for chart in sheet_charts["charts"]:
            assert chart["ranges"], chart


def used_styles(plan: WorkbookPlan) -> set[str]:
    used: set[str] = set()
    for sheet in plan.sheets:
        used.update(c.style for c in sheet.cells.values() if c.style)
        for table in sheet.tables:
            if table.header_style:
                used.add(table.header_style)
            if len(table.frame):
                used.update(c.style for c in table.columns if c.style)
    return used


@pytest.mark.parametrize("kind", ["template_it", "report_en"])
def test_styles_are_found_again_after_libreoffice_saves_the_book(
    libreoffice: LibreOffice, built: dict[str, Built], kind: str, tmp_path: Path
) -> None:
    book = built[kind]
    saved = tmp_path / "saved_by_libreoffice.xlsx"
    with opened(libreoffice, book.path) as opened_book:
        opened_book.save_as(saved)
    assert problems(saved) == []
    styles_xml = zipfile.ZipFile(saved).read("xl/styles.xml")
    count = len(parse_xml(styles_xml).find(MAIN_NS + "cellXfs"))  # type: ignore[arg-type]
    _, xf = ensure_styles(styles_xml, book.plan.styles)
    appended = sorted(key for key in used_styles(book.plan) if xf[key] >= count)
    assert not appended  # every style a cell uses is recognised in LibreOffice's spelling
