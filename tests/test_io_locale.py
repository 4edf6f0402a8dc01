"""Locale sniffing and parsing: encodings, separators, decimal marks, date orders."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from retention_xl.io.headers import HeaderIndex, normalise
from retention_xl.io.locale import (
    DecodeError,
    decode_bytes,
    guess_decimal,
    parse_dates,
    parse_numbers,
    sniff_delimiter,
)


@pytest.mark.parametrize(
    ("text", "decimal", "expected"),
    [
        ("1.234,56", ",", 1234.56),
        ("1234,5", ",", 1234.5),
        ("-7,25", ",", -7.25),
        ("€ 12,50", ",", 12.5),
        ("1.234.567", ",", 1234567.0),
        ("(12,00)", ",", -12.0),
        ("1,234.56", ".", 1234.56),
        ("1234.5", ".", 1234.5),
        ("$1,000", ".", 1000.0),
        ("EUR 3.10", ".", 3.1),
        ("1e3", ".", 1000.0),
        ("12.50-", ".", -12.5),
        ("1'234.50", ".", 1234.5),
    ],
)
def test_numbers_in_each_locale(text, decimal, expected):
    res = parse_numbers(pd.Series([text]), decimal=decimal)
    assert not res.bad[0]
    assert res.values.iloc[0] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "decimal"),
    [("1.2.3", "."), ("12abc", "."), ("1,23,4", ","), ("=1+1", "."), ("--5", "."), ("inf", ".")],
)
def test_non_numbers_are_flagged_not_guessed(text, decimal):
    res = parse_numbers(pd.Series([text, "1"]), decimal=decimal)
    assert res.bad.tolist() == [True, False]
    assert np.isnan(res.values.iloc[0])


def test_blank_numbers_are_nan_not_bad_and_xlsx_numbers_pass_through():
    res = parse_numbers(pd.Series(["", "  ", None, 3.5, 2], dtype=object), decimal=",")
    assert res.bad.tolist() == [False] * 5
    assert np.isnan(res.values.to_numpy()[:3]).all()
    assert res.values.tolist()[3:] == [3.5, 2.0]


def test_numbers_are_vectorised_on_a_large_column():
    s = pd.Series([f"{i // 1000}.{i % 1000:03d},{i % 100:02d}" for i in range(1000, 200_000)])
    res = parse_numbers(s, decimal=",")
    expected = [i + (i % 100) / 100 for i in range(1000, 200_000)]
    np.testing.assert_allclose(res.values.to_numpy(), expected)


def test_decimal_guess():
    assert guess_decimal([pd.Series(["12,50", "3"])]) == (",", False)
    assert guess_decimal([pd.Series(["1.234,50"])]) == (",", False)
    assert guess_decimal([pd.Series(["12.50", "3"])]) == (".", False)
    assert guess_decimal([pd.Series(["1,234.50"])]) == (".", False)
    # "1.234" alone could be either: the default wins and the ambiguity is reported
    assert guess_decimal([pd.Series(["1.234", "7"])], default=",") == (",", True)
    assert guess_decimal([pd.Series(["5", "7"])], default=".") == (".", False)


def test_encodings():
    text = "Città;Importo\nNàpoli;1,5\n"
    assert decode_bytes(text.encode("utf-8")) == (text, "utf-8")
    assert decode_bytes(b"\xef\xbb\xbf" + text.encode("utf-8")) == (text, "utf-8-sig")
    assert decode_bytes(text.encode("cp1252")) == (text, "cp1252")
    assert decode_bytes(text.encode("utf-16")) == (text, "utf-16")
    with pytest.raises(DecodeError, match="binary"):
        decode_bytes(b"a,b\n\x00\x01\x02,3\n")
    with pytest.raises(DecodeError, match="cannot be read as utf-8") as err:
        decode_bytes("a\nb\nCittà\n".encode("cp1252"), "utf-8")
    assert err.value.line == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a,b,c\n1,2,3\n", ","),
        ("a;b;c\n1,5;2;3\n", ";"),
        ("a\tb\tc\n1,5\t2\t3\n", "\t"),
        ('"x, y";b\n"1,5";2\n', ";"),
        ("a|b\n1|2\n", "|"),
    ],
)
def test_delimiter_sniffing(text, expected):
    assert sniff_delimiter(text) == expected


def test_dates_iso_with_time_and_offset_keep_the_local_day():
    res = parse_dates(pd.Series(["2024-03-31 23:30:00 +0200", "2024-04-01 00:10:00 -0500", ""]))
    assert res.format == "%Y-%m-%d"
    assert res.values.dt.strftime("%Y-%m-%d").tolist()[:2] == ["2024-03-31", "2024-04-01"]
    assert pd.isna(res.values.iloc[2])
    assert not res.bad.any()


def test_day_first_is_detected_when_a_day_is_above_12():
    res = parse_dates(pd.Series(["03/04/2024", "25/04/2024"]))
    assert res.format == "%d/%m/%Y"
    assert res.note is None
    assert res.values.iloc[0] == pd.Timestamp(2024, 4, 3)


def test_month_first_is_detected_when_a_day_is_above_12():
    res = parse_dates(pd.Series(["04/03/2024", "04/25/2024 10:22:01 AM"]))
    assert res.format == "%m/%d/%Y"
    assert res.values.iloc[0] == pd.Timestamp(2024, 4, 3)


@pytest.mark.parametrize(("locale", "month"), [("it", 4), ("en", 3), (None, 3)])
def test_ambiguous_dates_follow_the_locale_and_say_so(locale, month):
    res = parse_dates(pd.Series(["03/04/2024", "05/06/2024"]), locale=locale)
    assert res.values.iloc[0].month == month
    assert res.note is not None and "--date-format" in res.note


def test_explicit_date_format_and_bad_dates_are_flagged():
    res = parse_dates(pd.Series(["2024|01|31", "2024|02|30"]), date_format="%Y|%m|%d")
    assert res.values.iloc[0] == pd.Timestamp(2024, 1, 31)
    assert res.bad.tolist() == [False, True]
    res = parse_dates(pd.Series(["31.01.2024", "soon", "01.02.2024"]))
    assert res.format == "%d.%m.%Y"
    assert res.bad.tolist() == [False, True, False]


def test_header_normalisation_and_italian_synonyms():
    assert normalise("  Quantità_Ordinata (Totale) ") == "quantita ordinata totale"
    assert normalise("\ufeffCreated at") == "created at"
    idx = HeaderIndex(["Data Ordine", "Importo €", "CLIENTE"])
    assert idx.find(["order date", "data ordine"]) == "Data Ordine"
    assert idx.find(["importo"]) == "Importo €"  # symbols and punctuation are ignored
    assert idx.get("cliente") == "CLIENTE"


def test_plain_numbers_skip_the_cleaning_but_read_the_same() -> None:
    from retention_xl.io.locale import _clean_number_text, parse_numbers

    plain = pd.Series(["1.5", "-2", "+3.25", "10", "0.10"], dtype="str")
    text, negative = _clean_number_text(plain)
    assert text.tolist() == plain.tolist() and not negative.any()
    mixed = pd.Series(["1.5", "-2", "+3.25", "10", "0.10", "€ 7"], dtype=object)
    assert parse_numbers(mixed).values.tolist()[:5] == parse_numbers(plain).values.tolist()


@pytest.mark.parametrize(
    "cells",
    [
        ["2024-01-05", "1500-01-02", "3000-02-01"],  # text, as a CSV gives it
        [dt.datetime(2024, 1, 5), dt.datetime(1500, 1, 2), dt.datetime(3000, 2, 1)],  # .xlsx
    ],
)
def test_days_beyond_what_nanoseconds_hold_are_bad_cells_not_other_days(cells):
    # pandas reads 1500-01-02 as a valid day; converted to nanoseconds it wrapped around
    # to a day in 2084 (text) or raised a traceback (workbook cells)
    res = parse_dates(pd.Series(cells, dtype=object))
    assert res.bad.tolist() == [False, True, True]
    assert res.values.iloc[0] == pd.Timestamp(2024, 1, 5)
    assert res.values.iloc[1:].isna().all()


def test_an_order_dated_1500_is_refused_with_its_row_on_the_command_line(run_cli, tmp_path):
    export = tmp_path / "orders.csv"
    export.write_text(
        "customer_id,order_id,order_date,amount\n"
        "C1,1,2024-01-05,10.00\nC2,2,1500-01-02,12.00\nC3,3,2024-02-01,9.50\n",
        encoding="utf-8",
    )
    res = run_cli("kpis", "--orders", str(export))
    assert res.returncode == 2
    assert "orders.csv, row 3, column 'order_date'" in res.stderr
    assert "1678 to 2261" in res.stderr and "1500-01-02" in res.stderr
    assert "Traceback" not in res.stderr
