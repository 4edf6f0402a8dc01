"""Exports saved as .xlsx: typed cells read by python-calamine, and hostile files refused
(zip bombs, XML entity attacks) before any XML is parsed."""

import datetime as dt
import zipfile

import pandas as pd
import pytest
import xlsxwriter

from retention_xl.errors import ExportError, InputError
from retention_xl.io import read_orders

PAYLOADS = ["=1+1", "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("http://x","y")']


def write_xlsx(path, rows, *, strings_as_text=True):
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Orders")
    date_fmt = wb.add_format({"num_format": "dd/mm/yyyy"})
    for r, row in enumerate(rows):
        for c, v in enumerate(row):
            if isinstance(v, dt.date):
                ws.write_datetime(r, c, dt.datetime(v.year, v.month, v.day), date_fmt)
            elif isinstance(v, str) and strings_as_text:
                ws.write_string(r, c, v)
            else:
                ws.write(r, c, v)
    wb.close()


def test_typed_xlsx_cells(tmp_path):
    path = tmp_path / "ordini.xlsx"
    write_xlsx(
        path,
        [
            ["Cliente", "Numero ordine", "Data ordine", "Importo"],
            [1001, 5001, dt.date(2024, 3, 1), 12.5],
            ["Bianchi", 5002, dt.date(2024, 3, 25), 1234.56],
            ["Bianchi", 5003, "02/04/2024", "7,50"],  # text cells in Italian format
        ],
    )
    imp = read_orders(path)
    f = imp.frame
    assert f["customer_id"].tolist() == ["1001", "Bianchi", "Bianchi"]  # not "1001.0"
    assert f["order_id"].tolist() == ["5001", "5002", "5003"]
    assert f["order_date"].tolist() == [
        pd.Timestamp(2024, 3, 1),
        pd.Timestamp(2024, 3, 25),
        pd.Timestamp(2024, 4, 2),
    ]
    assert f["amount"].tolist() == [12.5, 1234.56, 7.5]
    assert imp.report.encoding is None and imp.report.delimiter is None


def test_xlsx_bad_cell_is_located(tmp_path):
    path = tmp_path / "o.xlsx"
    write_xlsx(
        path,
        [
            ["customer_id", "order_id", "order_date", "amount"],
            ["a", "1", dt.date(2024, 1, 1), 3],
            ["b", "2", dt.date(2024, 1, 2), "tre"],
        ],
    )
    with pytest.raises(ExportError) as err:
        read_orders(path)
    assert (err.value.row, err.value.column, err.value.value) == (3, "amount", "tre")


@pytest.mark.parametrize("payload", PAYLOADS)
def test_injection_payloads_in_xlsx_stay_text(tmp_path, payload):
    path = tmp_path / "o.xlsx"
    write_xlsx(
        path,
        [
            ["customer_id", "order_id", "order_date", "amount"],
            [payload, payload, dt.date(2024, 1, 1), 3],
        ],
    )
    f = read_orders(path).frame
    assert f["customer_id"].tolist() == [payload.strip()]
    assert f["order_id"].tolist() == [payload.strip()]
    assert isinstance(f["customer_id"].iloc[0], str)


def test_zip_bomb_xlsx_is_refused(tmp_path):
    bomb = tmp_path / "export.xlsx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"<a>" + b" " * (30 * 1024**2) + b"</a>")
    with pytest.raises(InputError, match=r"export\.xlsx.*zip bomb"):
        read_orders(bomb)


XXE = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" '
    b'uniqueCount="1"><si><t>&xxe;</t></si></sst>'
)
LAUGHS = (
    b'<?xml version="1.0"?><!-- a comment first -->'
    b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b"<sheetData/></worksheet>"
)


@pytest.mark.parametrize(
    ("part", "payload"), [("xl/sharedStrings.xml", XXE), ("xl/worksheets/sheet1.xml", LAUGHS)]
)
def test_xml_entity_attacks_in_xlsx_are_refused(tmp_path, part, payload):
    good = tmp_path / "good.xlsx"
    write_xlsx(good, [["customer_id", "order_id", "order_date", "amount"], ["a", "1", "x", 1]])
    evil = tmp_path / "evil.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(evil, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = payload if info.filename == part else src.read(info)
            dst.writestr(info.filename, data)
        if part not in src.namelist():
            dst.writestr(part, payload)
    with pytest.raises(InputError, match=r"evil\.xlsx.*DTD or XML entities.*refused as unsafe"):
        read_orders(evil)


def test_csv_named_xlsx_and_broken_zip(tmp_path):
    fake = tmp_path / "orders.xlsx"
    fake.write_text("customer_id,order_id,order_date,amount\n")
    with pytest.raises(ExportError, match=r"not an \.xlsx workbook"):
        read_orders(fake)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    with pytest.raises(InputError, match=r"broken\.xlsx is not a valid \.xlsx"):
        read_orders(broken)
    empty_book = tmp_path / "empty.xlsx"
    write_xlsx(empty_book, [])
    with pytest.raises(ExportError, match="empty"):
        read_orders(empty_book)
