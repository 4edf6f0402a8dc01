"""Shopify customers export (enrichment): both layouts, Italian locale, bad files,
the enrichment columns of built and refreshed workbooks, and the CLI."""

from __future__ import annotations

import warnings
from pathlib import Path

import openpyxl
import pytest

import retention_xl.workbook.refresh as refresh_module
from retention_xl.errors import ExportError
from retention_xl.io import detect_format, load_inputs
from retention_xl.io.readers import read_customers
from retention_xl.workbook import readback
from retention_xl.workbook.build import plan_report, write_workbook
from retention_xl.workbook.package import read_package
from retention_xl.workbook.refresh import _no_cells_below, kept_enrichment, refresh

CURRENT = (
    "Customer ID,First Name,Last Name,Email,Accepts Email Marketing,Default Address Company,"
    "Default Address Address1,Default Address Address2,Default Address City,"
    "Default Address Province Code,Default Address Country Code,Default Address Zip,"
    "Default Address Phone,Phone,Accepts SMS Marketing,Total Spent,Total Orders,Note,"
    "Tax Exempt,Tags"
)
OLD = (
    "First Name,Last Name,Email,Company,Address1,Address2,City,Province,Province Code,"
    "Country,Country Code,Zip,Phone,Accepts Marketing,Total Spent,Total Orders,Tags,Note,"
    "Tax Exempt"
)
ORDERS = (
    "Name,Email,Financial Status,Paid at,Fulfillment Status,Currency,Subtotal,Shipping,"
    "Taxes,Total,Created at,Lineitem quantity,Lineitem name,Lineitem price"
)
PAYLOAD = '=HYPERLINK("http://evil","x")'
QUOTED = '"' + PAYLOAD.replace('"', '""') + '"'


def _current(tmp_path: Path) -> Path:
    rows = [
        CURRENT,
        "'6903445389482,Ada,Lovelace,ADA@example.com,yes,,Via Roma 1,,Milano,MI,IT,20100,,,"
        'no,120.00,2,,no,"vip, wholesale"',
        "'6903445389483," + QUOTED + ",,bob@example.com,no,,,,Torino,TO,"
        'IT,10100,,,no,0.00,0,,no,"@SUM(1+1)"',
        "'6903445389484,Dora,Neri,dora@example.com,yes,,,,Roma,RM,IT,00100,,,no,0.00,0,,no,",
    ]
    path = tmp_path / "customers_export.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _orders(tmp_path: Path) -> Path:
    line = (
        "{n},{mail},paid,{d} 10:00:00 +0100,fulfilled,EUR,{a},5.00,0.00,{t},"
        "{d} 10:00:00 +0100,1,Tea,{a}"
    )
    rows = [ORDERS]
    for n, mail, d, a in (
        ("#1001", "ada@example.com", "2024-01-05", 50),
        ("#1002", "Ada@Example.com", "2024-03-05", 70),
        ("#1003", "bob@example.com", "2024-04-05", 30),
        ("#1004", "carl@example.com", "2024-05-05", 40),
    ):
        rows.append(line.format(n=n, mail=mail, d=d, a=f"{a:.2f}", t=f"{a + 5:.2f}"))
    path = tmp_path / "orders_export.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _load(path: Path) -> openpyxl.Workbook:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return openpyxl.load_workbook(path)


def _by_header(ws, header_row: int) -> dict[str, dict[str, object]]:
    rows = list(ws.iter_rows(min_row=header_row, values_only=True))
    head = list(rows[0])
    return {r[0]: dict(zip(head, r, strict=True)) for r in rows[1:] if r[0] is not None}


def test_current_layout(tmp_path):
    path = _current(tmp_path)
    assert detect_format(path)[:2] == ("shopify-customers", "customers")
    imp = read_customers(path)
    f = imp.frame.set_index("customer_id")
    assert list(imp.frame.columns) == [
        "customer_id", "name", "email", "accepts_marketing", "country", "city", "tags",
    ]  # fmt: skip
    assert list(f.index) == ["6903445389482", "6903445389483", "6903445389484"]  # ' dropped
    assert f.loc["6903445389482", "name"] == "Ada Lovelace"
    assert f.loc["6903445389482", "email"] == "ada@example.com"
    assert bool(f.loc["6903445389482", "accepts_marketing"]) is True
    assert bool(f.loc["6903445389483", "accepts_marketing"]) is False
    assert f.loc["6903445389482", "country"] == "IT"
    assert f.loc["6903445389482", "city"] == "Milano"
    assert f.loc["6903445389482", "tags"] == "vip, wholesale"
    assert f.loc["6903445389483", "name"] == PAYLOAD
    assert imp.report.format == "shopify-customers" and imp.report.customers == 3


def test_old_layout_keys_on_email(tmp_path):
    path = tmp_path / "customers_old.csv"
    path.write_text(
        OLD + "\n"
        "Ada,Lovelace,Ada@Example.com,,Via Roma 1,,Milano,Milano,MI,Italy,IT,20100,,yes,"
        "120.00,2,vip,,no\n"
        "Ada,Lovelace,ada@example.com,,,,,,,,,,,no,0,0,,,no\n"
        "Bob,Rossi,bob@example.com,,,,Torino,,TO,Italy,IT,10100,,no,0,0,,,no\n",
        encoding="utf-8",
    )
    assert detect_format(path)[0] == "shopify-customers"
    imp = read_customers(path)
    f = imp.frame.set_index("customer_id")
    assert list(f.index) == ["ada@example.com", "bob@example.com"]
    assert imp.report.duplicates_removed == 1
    assert f.loc["ada@example.com", "country"] == "IT"  # Country Code before Country
    assert bool(f.loc["ada@example.com", "accepts_marketing"]) is True


def test_italian_locale_file(tmp_path):
    path = tmp_path / "clienti.csv"
    text = (
        "ID cliente;Nome;Cognome;E-mail;Accetta marketing;Città;Paese;Tag\n"
        "'901;Niccolò;Bèrto;N@Esempio.it;sì;Forlì;IT;fedeltà\n"
    )
    path.write_bytes(text.encode("cp1252"))
    f = read_customers(path).frame
    row = f.iloc[0]
    assert (row["customer_id"], row["name"], row["email"]) == (
        "901",
        "Niccolò Bèrto",
        "n@esempio.it",
    )
    assert (row["city"], row["tags"], bool(row["accepts_marketing"])) == ("Forlì", "fedeltà", True)


def test_missing_key_column_lists_columns_and_the_fix(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("First Name,Last Name,Tags\nAda,Lovelace,vip\n", encoding="utf-8")
    with pytest.raises(ExportError) as err:
        read_customers(path)
    msg = str(err.value)
    assert "bad.csv" in msg and "customer_id" in msg
    assert "'First Name', 'Last Name', 'Tags'" in msg
    assert "--map customer_id=COLUMN" in msg
    # the fix works: a customers.ROLE mapping aims at the customers file only
    inputs = load_inputs(customers=path, mapping=["customers.customer_id=First Name"])
    assert inputs.customers is not None and inputs.customers["customer_id"].tolist() == ["Ada"]


def test_build_adds_enrichment_as_text_and_no_customer(tmp_path):
    inputs = load_inputs(orders=_orders(tmp_path), customers=_current(tmp_path))
    plan = plan_report(inputs.orders, customers=inputs.customers, reports=inputs.reports)
    out = write_workbook(plan, tmp_path / "report.xlsx")
    book = _load(out)
    customers = _by_header(book["Customers"], 2)
    # Dora has no orders: not added; carl has orders and no enrichment: blank
    assert sorted(customers) == ["ada@example.com", "bob@example.com", "carl@example.com"]
    ada = customers["ada@example.com"]
    assert (ada["Name"], ada["Email"], ada["Accepts marketing"], ada["Country"], ada["Tags"]) == (
        "Ada Lovelace", "ada@example.com", "yes", "IT", "vip, wholesale",
    )  # fmt: skip
    assert ada["Orders"] == 2  # both orders (the second with a capitalised email)
    assert customers["carl@example.com"]["Name"] is None
    ws = book["Segments"]
    head_row = next(
        r[0].row for r in ws.iter_rows() if r[0].value == "Customer ID" and r[1].value == "Segment"
    )
    seg = _by_header(ws, head_row)
    assert sorted(seg) == sorted(customers)
    assert (
        seg["bob@example.com"]["Name"] == PAYLOAD and seg["bob@example.com"]["Tags"] == "@SUM(1+1)"
    )
    # injection payloads stay text on both sheets
    for sheet in (book["Customers"], ws):
        for row in sheet.iter_rows():
            for c in row:
                if c.value in (PAYLOAD, "@SUM(1+1)"):
                    assert c.data_type == "s", (sheet.title, c.coordinate)
    assert (
        sum(c.value == PAYLOAD for s in (book["Customers"], ws) for r in s.iter_rows() for c in r)
        == 2
    )


def test_refresh_without_customers_keeps_the_columns(tmp_path):
    orders = _orders(tmp_path)
    inputs = load_inputs(orders=orders, customers=_current(tmp_path))
    book = write_workbook(
        plan_report(inputs.orders, customers=inputs.customers, lang="it"), tmp_path / "b.xlsx"
    )
    text = orders.read_text(encoding="utf-8").rstrip("\n")
    text += (
        "\n#1005,ada@example.com,paid,2024-06-01 10:00:00 +0100,fulfilled,EUR,10.00,5.00,"
        "0.00,15.00,2024-06-01 10:00:00 +0100,1,Tea,10.00\n"
    )
    orders.write_text(text, encoding="utf-8")
    refresh(book, load_inputs(orders=orders), backup=False)
    rows = _by_header(_load(book)["Clienti"], 2)
    ada = rows["ada@example.com"]
    assert ada["Ordini"] == 3
    assert (ada["Nome"], ada["Consenso marketing"], ada["Tag"]) == (
        "Ada Lovelace",
        "sì",
        "vip, wholesale",
    )
    assert rows["bob@example.com"]["Nome"] == PAYLOAD
    assert rows["bob@example.com"]["Consenso marketing"] == "no"


def test_cli_build_with_customers(run_cli, tmp_path):
    orders, customers = _orders(tmp_path), _current(tmp_path)
    res = run_cli(
        "build", "--orders", str(orders), "--customers", str(customers), "--out", "r.xlsx"
    )
    assert res.returncode == 0, res.stderr
    assert "customers_export.csv: format shopify-customers" in res.stderr
    rows = _by_header(_load(tmp_path / "r.xlsx")["Customers"], 2)
    assert rows["ada@example.com"]["Tags"] == "vip, wholesale"
    res = run_cli("check", "--customers", str(tmp_path / "missing.csv"))
    assert res.returncode == 2 and "missing.csv" in res.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("Nome,Tags\nAda,vip\n", encoding="utf-8")
    res = run_cli("check", "--orders", str(orders), "--customers", str(bad))
    assert res.returncode != 0 and "--map customer_id=COLUMN" in res.stderr


def test_without_customers_the_columns_are_blank(tmp_path):
    inputs = load_inputs(orders=_orders(tmp_path))
    out = write_workbook(plan_report(inputs.orders), tmp_path / "plain.xlsx")
    rows = _by_header(_load(out)["Customers"], 2)
    assert len(rows) == 3
    assert all(r["Name"] is None and r["Tags"] is None for r in rows.values())


def _customers_tab(book: Path) -> tuple[object, str, str]:
    pkg = read_package(book)
    entry = pkg.workbook().role_sheets()["CUSTOMERS"]
    assert entry.part is not None
    return pkg, entry.name, entry.part


def test_kept_enrichment_of_a_plain_tab_without_reading_it(tmp_path, monkeypatch):
    inputs = load_inputs(orders=_orders(tmp_path))
    book = write_workbook(plan_report(inputs.orders), tmp_path / "plain.xlsx")
    pkg, name, part = _customers_tab(book)
    assert kept_enrichment(pkg, name, "en") is None  # read in full: nothing to keep

    def no_read(*args: object) -> object:
        raise AssertionError("the whole tab was read")

    monkeypatch.setattr(readback, "sheet_rows", no_read)
    assert kept_enrichment(pkg, name, "en", part=part) is None


def test_kept_enrichment_with_data_reads_the_tab(tmp_path):
    inputs = load_inputs(orders=_orders(tmp_path), customers=_current(tmp_path))
    book = write_workbook(
        plan_report(inputs.orders, customers=inputs.customers), tmp_path / "b.xlsx"
    )
    pkg, name, part = _customers_tab(book)
    kept = kept_enrichment(pkg, name, "en", part=part)
    assert kept is not None
    ada = kept.set_index("customer_id").loc["ada@example.com"]
    assert (ada["name"], ada["accepts_marketing"], ada["tags"]) == (
        "Ada Lovelace",
        True,
        "vip, wholesale",
    )


_HEAD = (
    b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Customer ID</t></is></c>'
    b'<c r="B1" t="inlineStr"><is><t xml:space="preserve">Name </t></is></c></row>'
)


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (b'<row r="2"><c r="A2" t="inlineStr"><is><t>C1</t></is></c></row>', True),
        (b'<row r="2"><c r="A2"><v>1</v></c><c r="B2" s="3"/></row>', True),  # style only
        (b'<row r="2"><c r="B2" t="inlineStr"><is><t>Ada</t></is></c></row>', False),
        (b'<row r="2"><c r="B2"><f>A2</f></c></row>', False),
        (b'<row r="9"><c r="B9" s="1"><v>0</v></c></row>', False),
        (b'<row r="2"><c t="inlineStr"><is><t>Ada</t></is></c></row>', False),  # no r
        (b'<row r="2"><c s="1" r="B2"><v>1</v></c></row>', False),  # r not first
    ],
)
def test_no_cells_below_enrichment_headers(rows, expected):
    assert _no_cells_below(_HEAD + rows + b"</sheetData>", ["Name"], 0) is expected


@pytest.mark.parametrize(
    "head",
    [
        b'<sheetData><row r="1"><c r="B1" t="s"><v>0</v></c></row>',  # shared string
        b'<sheetData><row r="1"><c r="B1" t="inlineStr"><is><r><t>Na</t></r><r><t>me</t>'
        b"</r></is></c></row>",  # rich text
        b'<sheetData><row r="1"><c r="B1" t="inlineStr"><is><t>Tags</t></is></c></row>',
        b'<x:sheetData><x:row r="1"><x:c r="B1" t="inlineStr"><x:is><x:t>Name</x:t></x:is>'
        b"</x:c></x:row>",  # a namespace prefix
        b"<sheetData>",  # no header row
    ],
)
def test_no_cells_below_other_headers_are_read_in_full(head):
    assert _no_cells_below(head + b'<row r="2"/></sheetData>', ["Name"], 0) is False


def test_kept_enrichment_keeps_the_inflated_tab_for_the_rewrite(tmp_path, monkeypatch):
    inputs = load_inputs(orders=_orders(tmp_path))
    book = write_workbook(plan_report(inputs.orders), tmp_path / "plain.xlsx")
    pkg, name, part = _customers_tab(book)
    keep: dict[str, bytes] = {}
    assert kept_enrichment(pkg, name, "en", part=part, keep=keep) is None
    assert keep == {part: pkg.read(part)}
    monkeypatch.setattr(refresh_module, "KEEP_BYTES", len(keep[part]) - 1)
    smaller: dict[str, bytes] = {}
    assert kept_enrichment(pkg, name, "en", part=part, keep=smaller) is None
    assert smaller == {}  # too large to hold through the planning


def test_refresh_with_the_tab_kept_writes_what_inflating_it_twice_writes(tmp_path, monkeypatch):
    orders = _orders(tmp_path)
    inputs = load_inputs(orders=orders)
    first = write_workbook(plan_report(inputs.orders), tmp_path / "a.xlsx")
    second = tmp_path / "b.xlsx"
    second.write_bytes(first.read_bytes())
    refresh(first, load_inputs(orders=orders), backup=False)
    monkeypatch.setattr(refresh_module, "KEEP_BYTES", 0)
    refresh(second, load_inputs(orders=orders), backup=False)
    assert first.read_bytes() == second.read_bytes()
