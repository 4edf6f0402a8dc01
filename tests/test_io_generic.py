"""Generic and canonical CSV/XLSX orders, subscriptions and survey files, and every
error path with its file/row/column location."""

import pandas as pd
import pytest

from retention_xl.errors import ExportError, InputError
from retention_xl.io import (
    detect_format,
    parse_mapping,
    parse_rates,
    read_orders,
    read_subscriptions,
    read_survey,
)


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


CANONICAL = (
    "customer_id,order_id,order_date,amount\n"
    "a,1,2024-01-05,10.5\n"
    "b,2,2024-02-05,20\n"
    "a,3,2024-03-01,4.25\n"
    "a,1,2024-01-05,10.5\n"
)


def test_canonical_orders_with_duplicates(tmp_path):
    imp = read_orders(write(tmp_path, "orders.csv", CANONICAL))
    rep = imp.report
    assert rep.format == "canonical"
    assert (rep.rows_read, rep.records, rep.duplicates_removed, rep.customers) == (4, 3, 1, 2)
    assert (rep.first_date, rep.last_date) == (pd.Timestamp(2024, 1, 5), pd.Timestamp(2024, 3, 1))
    assert imp.frame["order_id"].tolist() == ["1", "2", "3"]
    assert imp.frame["amount"].sum() == pytest.approx(10.5 + 20 + 4.25)
    assert imp.frame["order_date"].dtype == "datetime64[ns]"
    assert any("rows read 4" in line for line in rep.lines())
    d = rep.as_dict()
    assert d["first_date"] == "2024-01-05" and d["duplicates_removed"] == 1


ITALIAN = (
    "Cliente;N. Ordine;Data ordine;Importo;Stato;Valuta\r\n"
    "Rossi Niccolò;A-1;03/04/2024;1.234,50;Pagato;EUR\r\n"
    "Bianchi;A-2;05/04/2024;12,00;Annullato;EUR\r\n"
    "Nàpoli Srl;A-3;01/05/2024;7,5;Rimborsato;EUR\r\n"
    "Rossi Niccolò;A-4;25/05/2024;99,90;pagato;EUR\r\n"
)


@pytest.mark.parametrize("encoding", ["cp1252", "utf-8", "utf-8-sig"])
def test_italian_locale_file(tmp_path, encoding):
    imp = read_orders(write(tmp_path, "ordini.csv", ITALIAN, encoding))
    rep, f = imp.report, imp.frame
    assert rep.locale == "it" and rep.delimiter == ";" and rep.decimal == ","
    assert rep.encoding == encoding
    assert rep.date_format == "%d/%m/%Y"
    assert f["customer_id"].tolist() == ["Rossi Niccolò", "Bianchi", "Nàpoli Srl", "Rossi Niccolò"]
    assert f["amount"].tolist() == [1234.5, 12.0, 7.5, 99.9]
    assert f["order_date"].tolist()[0] == pd.Timestamp(2024, 4, 3)
    assert f["status"].tolist() == ["paid", "cancelled", "refunded", "paid"]
    assert (rep.cancelled, rep.refunds, rep.customers) == (1, 1, 1)
    assert rep.currencies == ("EUR",)


def test_italian_headers_and_map_override(tmp_path):
    text = "Codice;Giorno;Totale;Cliente\n7;01/02/2024;5,5;x\n"
    path = write(tmp_path, "o.csv", text)
    imp = read_orders(path, mapping={"order_date": "Giorno", "order_id": "Codice"})
    assert imp.frame["order_id"].tolist() == ["7"]
    assert imp.frame["order_date"].tolist() == [pd.Timestamp(2024, 2, 1)]
    assert imp.frame["amount"].tolist() == [5.5]


def test_missing_columns_list_found_columns_and_the_map_fix(tmp_path):
    path = write(tmp_path, "mine.csv", "Who,When,Sum\nx,2024-01-01,3\n")
    with pytest.raises(ExportError) as err:
        read_orders(path)
    msg = str(err.value)
    assert "mine.csv" in msg and "'Who', 'When', 'Sum'" in msg
    assert "--map customer_id=COLUMN --map order_date=COLUMN --map amount=COLUMN" in msg
    imp = read_orders(
        path, mapping=parse_mapping(["customer_id=Who", "order_date=When", "amount=Sum"])
    )
    assert imp.frame["amount"].tolist() == [3.0]


def test_map_to_a_missing_column_or_unknown_role(tmp_path):
    path = write(tmp_path, "o.csv", CANONICAL)
    with pytest.raises(ExportError, match="there is no column 'Nope'"):
        read_orders(path, mapping={"amount": "Nope"})
    with pytest.raises(InputError, match="unknown role 'price'"):
        read_orders(path, mapping={"price": "amount"})
    with pytest.raises(InputError, match="ROLE=COLUMN"):
        parse_mapping(["amount"])


@pytest.mark.parametrize(
    ("body", "row", "column", "value", "what"),
    [
        ("a,1,2024-01-05,10.5\nb,2,2024-02-05,12abc\n", 3, "amount", "12abc", "not a number"),
        ("a,1,2024-01-05,10.5\nb,2,2024-13-45,12\n", 3, "order_date", "2024-13-45", "not a date"),
        ("a,1,2024-01-05,10.5\n,2,2024-01-06,12\n", 3, "customer_id", "", "blank"),
        ("a,1,2024-01-05,\n", 2, "amount", "", "blank"),
    ],
)
def test_bad_cells_are_located(tmp_path, body, row, column, value, what):
    path = write(tmp_path, "orders.csv", "customer_id,order_id,order_date,amount\n" + body)
    with pytest.raises(ExportError) as err:
        read_orders(path)
    e = err.value
    assert (e.row, e.column, e.value) == (row, column, value)
    assert e.file.endswith("orders.csv")
    assert what in str(e) and f"row {row}" in str(e) and "--skip-bad-rows" in str(e)


def test_skip_bad_rows_counts_them(tmp_path):
    body = "a,1,2024-01-05,10.5\nb,2,2024-02-05,12abc\nc,3,someday,1\nd,4,2024-02-06,2\n"
    path = write(tmp_path, "orders.csv", "customer_id,order_id,order_date,amount\n" + body)
    imp = read_orders(path, skip_bad_rows=True)
    assert imp.frame["customer_id"].tolist() == ["a", "d"]
    assert imp.report.rows_skipped == 2
    assert any("row 3" in s for s in imp.report.skipped)
    assert any("bad rows skipped 2" in line for line in imp.report.lines())


def test_blank_lines_keep_row_numbers(tmp_path):
    text = "customer_id,order_id,order_date,amount\na,1,2024-01-05,1\n\n,,,\nb,2,2024-01-05,x\n"
    with pytest.raises(ExportError) as err:
        read_orders(write(tmp_path, "o.csv", text))
    assert err.value.row == 5


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"   \n\n", "is empty"),
        (b"customer_id,order_id,order_date,amount\n", "no data rows"),
        (bytes(range(256)) * 20, "binary"),
        (b"PK\x03\x04garbage", "not a valid .xlsx"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, ".xls workbook"),
        (b"customer_id,order_id\n\x81\x8d\x8f,1\n", "neither UTF-8 nor cp1252"),
        (b"a,b\n1,2\n1,2,3,4\n", "has 4 cells where the header has 2"),
    ],
)
def test_broken_files_give_clear_messages(tmp_path, content, message):
    path = tmp_path / "orders.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as err:
        read_orders(path)
    assert "orders.csv" in str(err.value)


def test_wrong_encoding_forced_names_the_line(tmp_path):
    path = write(tmp_path, "o.csv", ITALIAN, "cp1252")
    with pytest.raises(ExportError) as err:
        read_orders(path, encoding="utf-8")
    assert err.value.row == 2 and "utf-8" in str(err.value)


def test_mixed_currencies_need_a_rate_table(tmp_path):
    text = (
        "customer_id,order_id,order_date,amount,currency\n"
        "a,1,2024-01-05,100,EUR\nb,2,2024-01-06,100,usd\nc,3,2024-01-07,50,EUR\n"
    )
    path = write(tmp_path, "o.csv", text)
    with pytest.raises(ExportError, match=r"2 currencies \(EUR: 2 rows, USD: 1 rows\)") as err:
        read_orders(path)
    assert err.value.column == "currency"
    imp = read_orders(path, rates=parse_rates(["EUR=1", "USD=0.5"]))
    assert imp.frame["amount"].tolist() == [100.0, 50.0, 50.0]
    assert set(imp.frame["currency"]) == {"EUR"}
    assert imp.report.currencies == ("EUR", "USD")
    with pytest.raises(InputError, match="no exchange rate for USD"):
        read_orders(path, rates={"EUR": 1.0})
    with pytest.raises(InputError, match="CURRENCY=RATE"):
        parse_rates(["USD=-1"])


def test_unknown_status_is_located(tmp_path):
    text = (
        "customer_id,order_id,order_date,amount,status\n"
        "a,1,2024-01-05,1,paid\na,2,2024-01-05,1,lost\n"
    )
    with pytest.raises(ExportError, match="unknown order status") as err:
        read_orders(write(tmp_path, "o.csv", text))
    assert (err.value.row, err.value.value) == (3, "lost")


def test_bad_options(tmp_path):
    path = write(tmp_path, "o.csv", CANONICAL)
    with pytest.raises(InputError, match="unknown locale 'fr'"):
        read_orders(path, locale="fr")
    with pytest.raises(InputError, match="unknown format 'amazon'"):
        read_orders(path, format="amazon")


@pytest.mark.parametrize(
    "payload",
    [
        "=1+1",
        "+39 333 1234567",
        "-2+3",
        "@SUM(A1:A2)",
        '=HYPERLINK("http://x","y")',
        "=cmd|' /C calc'!A0",
    ],
)
def test_formula_injection_payloads_stay_text(tmp_path, payload):
    quoted = '"' + payload.replace('"', '""') + '"'
    text = f"customer_id,order_id,order_date,amount\n{quoted},{quoted},2024-01-05,1\n"
    imp = read_orders(write(tmp_path, "o.csv", text))
    assert imp.frame["customer_id"].tolist() == [payload]
    assert imp.frame["order_id"].tolist() == [payload]
    assert isinstance(imp.frame["customer_id"].iloc[0], str)


def test_injection_payload_in_a_number_cell_is_an_error_not_a_formula(tmp_path):
    text = "customer_id,order_id,order_date,amount\na,1,2024-01-05,=1+1\n"
    with pytest.raises(ExportError, match="not a number") as err:
        read_orders(write(tmp_path, "o.csv", text))
    assert err.value.value == "=1+1"


def test_canonical_subscriptions_and_survey(tmp_path):
    subs = (
        "customer_id,subscription_id,start_date,end_date,amount,interval,interval_count\n"
        "a,s1,2024-01-01,,10,month,1\nb,s2,2024-02-01,2024-05-01,120,year,1\n"
    )
    imp = read_subscriptions(write(tmp_path, "s.csv", subs))
    assert imp.report.format == "canonical"
    assert imp.frame["interval"].tolist() == ["month", "year"]
    assert pd.isna(imp.frame["end_date"].iloc[0])
    assert imp.report.customers == 2
    survey = "answered_at,score,kind\n2024-01-01,9,nps\n2024-01-02,4,csat\n2024-01-03,,nps\n"
    imp = read_survey(write(tmp_path, "v.csv", survey))
    assert imp.frame["score"].tolist() == [9.0, 4.0]
    assert imp.frame["kind"].tolist() == ["nps", "csat"]


def test_subscription_end_before_start_is_located(tmp_path):
    subs = (
        "Cliente;Data inizio;Data fine;Canone;Periodicità\nx;01/03/2024;01/02/2024;9,90;mensile\n"
    )
    with pytest.raises(ExportError, match="end date is before the start date") as err:
        read_subscriptions(write(tmp_path, "s.csv", subs))
    assert (err.value.row, err.value.column) == (2, "Data fine")


def test_detect_format_from_headers():
    assert detect_format(["customer_id", "order_id", "order_date", "amount"], "orders")[0] == (
        "canonical"
    )
    assert detect_format(["Cliente", "Importo"], "orders")[0] == "generic"
