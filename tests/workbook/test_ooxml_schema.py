"""Every XML part the generator and refresh write is valid against the ECMA-376 schemas.

LibreOffice and openpyxl accept packages that Excel repairs; the schemas are what
Excel holds a part to. The templates (en, it), the sample report, the committed
workbooks and workbooks after a refresh are validated part by part (worksheets,
styles, workbook, charts, drawings, theme, [Content_Types].xml, relationships,
docProps) with lxml against the schemas in ``tests/data/ooxml_schemas`` (see
``ooxml_schema.py`` for how the markup-compatibility extensions are handled). The
second half proves the check fails: parts damaged the way a generator bug would damage
them are reported with their part name, line and the schema's message.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from ooxml_schema import ROOTS, SCHEMAS, Validator
from refresh_books import add_calc_chain, parts, rename_sheet, reorder_sheets, rewrite, type_into
from refresh_exports import INJECTIONS, italian_export, shopify_export

from retention_xl.io import load_inputs
from retention_xl.workbook.build import plan_report, write_workbook
from retention_xl.workbook.committed import COMMITTED
from retention_xl.workbook.labels import label
from retention_xl.workbook.refresh import refresh

ROOT = Path(__file__).resolve().parents[2]
SML = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
#: What every generated book holds: the report and the templates alike.
KINDS = {
    "{http://schemas.openxmlformats.org/package/2006/content-types}Types",
    "{http://schemas.openxmlformats.org/package/2006/relationships}Relationships",
    f"{{{SML}}}workbook",
    f"{{{SML}}}worksheet",
    f"{{{SML}}}styleSheet",
    "{http://schemas.openxmlformats.org/drawingml/2006/main}theme",
    "{http://schemas.openxmlformats.org/drawingml/2006/chart}chartSpace",
    "{http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing}wsDr",
    "{http://schemas.openxmlformats.org/package/2006/metadata/core-properties}coreProperties",
    "{http://schemas.openxmlformats.org/officeDocument/2006/extended-properties}Properties",
    "{http://schemas.openxmlformats.org/officeDocument/2006/custom-properties}Properties",
}


@pytest.fixture(scope="session")
def validator() -> Validator:
    return Validator()


def _rows(n: int, start: dt.date, first: int = 1) -> list[tuple[str, str, str, float]]:
    return [
        (
            f"c{(i * 5) % 17}",
            f"A-{first + i}",
            (start + dt.timedelta(days=(i * 13) % 400)).strftime("%d/%m/%Y"),
            round(15 + (i * 29) % 120 + 0.25, 2),
        )
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def books(tmp_path_factory, template_en, template_it, sample_plan, sample_plan_it) -> dict:
    """name -> path of every kind of workbook the package writes."""
    folder = tmp_path_factory.mktemp("schema_books")
    out = {
        "template_en": write_workbook(template_en, folder / "template_en.xlsx"),
        "template_it": write_workbook(template_it, folder / "template_it.xlsx"),
        "report_en": write_workbook(sample_plan, folder / "report_en.xlsx"),
        "report_it": write_workbook(sample_plan_it, folder / "report_it.xlsx"),
    }
    # a template a user filled in and Excel saved with a calcChain, then refreshed
    book = write_workbook(template_en, folder / "refreshed_template_en.xlsx")
    type_into(book, {"Input_CAC": 75.0, "Input_GrossMargin": 0.4})
    add_calc_chain(book)
    export = italian_export(folder / "ordini.csv", _rows(80, dt.date(2023, 1, 2)))
    refresh(book, load_inputs(orders=export), backup=False)
    out["refreshed_template_en"] = book
    # the Italian template with renamed and reordered tabs and hostile texts
    book = write_workbook(template_it, folder / "refreshed_template_it.xlsx")
    rename_sheet(book, label("sheet.KPIS", "it"), "KPI dell'anno")
    reorder_sheets(book)
    payloads = [(INJECTIONS[i % len(INJECTIONS)], f"=A{i}", "01/02/2024", 10.0) for i in range(12)]
    refresh(book, load_inputs(orders=italian_export(folder / "x.csv", payloads)), backup=False)
    out["refreshed_template_it"] = book
    # a report refreshed twice: with a new export, then appending another one
    first = shopify_export(
        folder / "orders_export_1.csv",
        [
            (f"#{1000 + i}", f"u{i % 9}@example.com", f"2023-0{1 + i % 9}-1{i % 9}", 10.0 + i)
            for i in range(40)
        ],
    )
    inputs = load_inputs(orders=first)
    book = write_workbook(
        plan_report(inputs.orders, reports=inputs.reports), folder / "refreshed_report.xlsx"
    )
    second = shopify_export(
        folder / "orders_export_2.csv",
        [
            (f"#{2000 + i}", f"u{i % 5}@example.com", f"2024-0{1 + i % 9}-2{i % 8}", 5.0 + i)
            for i in range(25)
        ],
    )
    refresh(book, load_inputs(orders=second), backup=False)
    third = italian_export(folder / "ordini_3.csv", _rows(20, dt.date(2024, 6, 1), first=900))
    refresh(book, load_inputs(orders=third), append=True, backup=False)
    out["refreshed_report"] = book
    for name in COMMITTED:
        out[f"committed/{name}"] = ROOT / "workbooks" / name
    return out


BOOKS = [
    "template_en",
    "template_it",
    "report_en",
    "report_it",
    "refreshed_template_en",
    "refreshed_template_it",
    "refreshed_report",
]


@pytest.mark.parametrize("name", BOOKS + [f"committed/{n}" for n in COMMITTED])
def test_every_part_is_schema_valid(validator: Validator, books: dict, name: str) -> None:
    path = books[name]
    problems, checked = validator.package_problems(path)
    assert not problems, f"{name}:\n" + "\n".join(problems[:40])
    with zipfile.ZipFile(path) as zf:
        xml = {n for n in zf.namelist() if n.endswith((".xml", ".rels"))}
    assert xml and set(checked) == xml  # every XML part was validated, none skipped
    assert set(checked.values()) >= KINDS, KINDS - set(checked.values())


def test_refreshed_books_went_through_refresh(books: dict) -> None:
    """The refreshed books are what refresh wrote: calcChain gone, names rewritten."""
    refreshed = parts(books["refreshed_template_en"])
    assert "xl/calcChain.xml" not in refreshed
    assert b"calcChain" not in refreshed["[Content_Types].xml"]
    assert b'fullCalcOnLoad="1"' in refreshed["xl/workbook.xml"]
    workbook_it = parts(books["refreshed_template_it"])["xl/workbook.xml"]
    assert b"'KPI dell''anno'!" in workbook_it


# ---------------------------------------------------------------- the check can fail


def _damaged(src: Path, dst: Path, part: str, edit: Callable[[str], str]) -> Path:
    dst.write_bytes(src.read_bytes())
    rewrite(dst, {part: edit(parts(src)[part].decode()).encode()})
    return dst


def _first_worksheet(path: Path) -> str:
    return next(n for n in parts(path) if n.startswith("xl/worksheets/sheet"))


def _line_of(xml: str, needle: str) -> int:
    return xml[: xml.index(needle)].count("\n") + 1


def test_element_out_of_schema_order_is_reported(
    validator: Validator, books: dict, tmp_path: Path
) -> None:
    src = books["template_en"]
    part = _first_worksheet(src)

    def swap(xml: str) -> str:  # <sheetViews> moved after <sheetData>, as a bad writer would
        views = re.search(r"<sheetViews>.*?</sheetViews>", xml, re.S)
        assert views is not None
        xml = xml.replace(views.group(0), "", 1)
        return xml.replace("</sheetData>", "</sheetData>\n" + views.group(0), 1)

    bad = _damaged(src, tmp_path / "bad.xlsx", part, swap)
    problems, _ = validator.package_problems(bad)
    line = _line_of(parts(bad)[part].decode(), "<sheetViews>")
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{part}:{line}: Element '{{{SML}}}sheetViews'")
    assert "This element is not expected" in problems[0]


@pytest.mark.parametrize(
    ("part", "old", "new", "message"),
    [
        # a style index that is not a number
        ("xl/worksheets/sheet1.xml", ' s="', ' s="x', "is not a valid value"),
        # an attribute the schema does not know, on a chart
        ("xl/charts/chart1.xml", "<c:chart>", '<c:chart bogus="1">', "is not allowed"),
        # an element the drawing schema does not have, in an anchor
        ("xl/drawings/drawing1.xml", "<xdr:from>", "<xdr:from><xdr:bogus/>", "not expected"),
        # a styles record with a negative count
        ("xl/styles.xml", '<fonts count="', '<fonts count="-', "is not a valid value"),
        # a relationship without its Id
        ("xl/_rels/workbook.xml.rels", ' Id="rId1"', "", "'Id' is required"),
        # a content type override without its content type
        (
            "[Content_Types].xml",
            "</Types>",
            '<Override PartName="/x.xml"/></Types>',
            "'ContentType' is required",
        ),
        # a core property that is not a date
        ("docProps/core.xml", 'W3CDTF">', 'W3CDTF">yesterday', "is not a valid value"),
        # a defined name outside <definedNames>
        (
            "xl/workbook.xml",
            "<definedNames>",
            "<definedName name='x'>A</definedName><definedNames>",
            "not expected",
        ),
    ],
)
def test_damaged_parts_are_reported(
    validator: Validator,
    books: dict,
    tmp_path: Path,
    part: str,
    old: str,
    new: str,
    message: str,
) -> None:
    src = books["template_en"]
    xml = parts(src)[part].decode()
    assert old in xml, (part, old)
    bad = _damaged(src, tmp_path / "bad.xlsx", part, lambda x: x.replace(old, new, 1))
    problems, _ = validator.package_problems(bad)
    line = _line_of(xml, old)
    assert problems and all(p.startswith(f"{part}:{line}: ") for p in problems), problems
    assert message in problems[0]


def test_a_part_with_another_parts_root_is_reported(
    validator: Validator, books: dict, tmp_path: Path
) -> None:
    src = books["template_en"]
    chart = parts(src)["xl/charts/chart1.xml"].decode()
    bad = _damaged(src, tmp_path / "bad.xlsx", "xl/styles.xml", lambda _: chart)
    problems, _ = validator.package_problems(bad)
    assert problems == [
        "xl/styles.xml:2: root is "
        "{http://schemas.openxmlformats.org/drawingml/2006/chart}chartSpace, "
        f"expected {{{SML}}}styleSheet"
    ]


def test_parts_without_content_type_or_schema_are_reported(
    validator: Validator, books: dict, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(books["template_en"].read_bytes())
    rewrite(bad, {}, add={"xl/notes.txt": b"x", "customXml/item1.xml": b"<a/>"})
    problems, _ = validator.package_problems(bad)
    assert problems == [
        "xl/notes.txt: no content type",
        "customXml/item1.xml: no schema known for content type application/xml",
    ]


WORKSHEET = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="{sml}"{ns}>\n'
    "<sheetData>\n"
    '<row r="1"{row}><c r="A1" t="inlineStr"><is><t{space}>a</t></is></c></row>\n'
    "</sheetData>\n"
    "{after}"
    "</worksheet>"
)
X14AC = 'xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac"'
MCNS = 'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'
WS_ROOT = f"{{{SML}}}worksheet"


def _sheet(**kw: str) -> bytes:
    values = {"sml": SML, "ns": "", "row": "", "space": "", "after": ""} | kw
    return WORKSHEET.format(**values).encode()


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        # Excel's own extension attribute, in a namespace declared Ignorable: removed
        (_sheet(ns=f' {MCNS} {X14AC} mc:Ignorable="x14ac"', row=' x14ac:dyDescent="0.25"'), []),
        # the same attribute without mc:Ignorable: the schema rejects it
        (_sheet(ns=f" {X14AC}", row=' x14ac:dyDescent="0.25"'), ["is not allowed"]),
        # Ignorable does not make a main-namespace error go away
        (_sheet(ns=f' {MCNS} {X14AC} mc:Ignorable="x14ac"', row=' ht="tall"'), ["'ht'"]),
        # an element of an ignorable namespace, with content the schema would refuse
        (
            _sheet(ns=f' {MCNS} {X14AC} mc:Ignorable="x14ac"', after="<x14ac:x><y/></x14ac:x>"),
            [],
        ),
        # AlternateContent: the Choice needs x14ac (not understood), the Fallback is used
        (
            _sheet(
                ns=f" {MCNS} {X14AC}",
                after='<mc:AlternateContent><mc:Choice Requires="x14ac"><x14ac:x/></mc:Choice>'
                '<mc:Fallback><pageMargins left="1" right="1" top="1" bottom="1" header="0"'
                ' footer="0"/></mc:Fallback></mc:AlternateContent>',
            ),
            [],
        ),
        # ... and an invalid Fallback is reported
        (
            _sheet(
                ns=f" {MCNS} {X14AC}",
                after='<mc:AlternateContent><mc:Choice Requires="x14ac"><x14ac:x/></mc:Choice>'
                '<mc:Fallback><pageMargins left="1" right="1" top="1" bottom="1" header="0"/>'
                "</mc:Fallback></mc:AlternateContent>",
            ),
            ["'footer' is required"],
        ),
        # MustUnderstand of a namespace this consumer does not understand
        (_sheet(ns=f' {MCNS} {X14AC} mc:MustUnderstand="x14ac"'), ["mc:MustUnderstand"]),
        # xml:space, which XML 1.0 defines and the schemas leave undeclared
        (_sheet(space=' xml:space="preserve"'), []),
        (_sheet(space=' xml:space="keep"'), ["xml:space='keep'"]),
    ],
)
def test_markup_compatibility(validator: Validator, xml: bytes, expected: list[str]) -> None:
    problems = validator.part_problems("xl/worksheets/sheet1.xml", xml, WS_ROOT)
    assert len(problems) == len(expected), problems
    for got, want in zip(problems, expected, strict=True):
        assert got.startswith("xl/worksheets/sheet1.xml:") and want in got, got


def test_entities_and_doctypes_are_refused(validator: Validator) -> None:
    xml = (
        b'<?xml version="1.0"?>\n<!DOCTYPE worksheet [<!ENTITY e "x">]>\n'
        b'<worksheet xmlns="' + SML.encode() + b'"><sheetData/></worksheet>'
    )
    assert validator.part_problems("p.xml", xml, WS_ROOT) == [
        "p.xml:1: a DOCTYPE, which OOXML parts may not have"
    ]
    broken = validator.part_problems("p.xml", b"<worksheet>", WS_ROOT)
    assert len(broken) == 1 and broken[0].startswith("p.xml:1: not well-formed")


def test_vendored_schemas_are_as_published() -> None:
    """Byte for byte what SHA256SUMS lists (no edit, no line-ending conversion)."""
    sums = dict(
        reversed(line.split("  ", 1)) for line in (SCHEMAS / "SHA256SUMS").read_text().splitlines()
    )
    files = {f.name for f in SCHEMAS.glob("*.xsd")}
    assert files == set(sums) and len(files) == 62
    for name, digest in sums.items():
        assert hashlib.sha256((SCHEMAS / name).read_bytes()).hexdigest() == digest, name


def test_schemas_are_read_from_the_folder_only(tmp_path: Path) -> None:
    """A schema that imports from elsewhere is refused, not fetched."""
    for f in SCHEMAS.glob("*.xsd"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    (tmp_path / "zz-remote.xsd").write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:zz">'
        '<xs:include schemaLocation="http://example.invalid/other.xsd"/></xs:schema>'
    )
    with pytest.raises(Exception, match=r"example\.invalid"):
        Validator(tmp_path)


def test_every_root_is_a_global_element_of_the_schemas(validator: Validator) -> None:
    """The content-type table names only elements the schemas declare."""
    for ctype, tag in ROOTS.items():
        ns, local = tag[1:].split("}")
        xml = f'<x:{local} xmlns:x="{ns}"/>'.encode()
        problems = validator.part_problems("p.xml", xml, tag)
        assert not any("No matching global declaration" in p for p in problems), (ctype, problems)
