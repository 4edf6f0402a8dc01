"""Generated exports: messy files never crash (a clean Import or a package error), and
well-formed files round-trip exactly in both locales and every encoding."""

import csv
import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from retention_xl.errors import InputError
from retention_xl.io import Import, read_orders, read_subscriptions, read_survey

HEADERS = [
    "customer_id",
    "order_id",
    "order_date",
    "amount",
    "refunded",
    "status",
    "currency",
    "Cliente",
    "Data ordine",
    "Importo",
    "Totale",
    "Stato",
    "Valuta",
    "Name",
    "Email",
    "Financial Status",
    "Created at",
    "Subtotal",
    "Total",
    "Lineitem name",
    "id",
    "Customer ID",
    "Amount",
    "Interval",
    "Start (UTC)",
    "Status",
    "score",
    "answered_at",
    "Submit Date (UTC)",
    "Network ID",
    "Respondent ID",
    "Collector ID",
    "End Date",
    "start_date",
    "interval",
    "",
    "#",
    "=1+1",
]
CELLS = st.one_of(
    st.sampled_from(
        [
            "",
            "a",
            "1",
            "1,5",
            "1.234,56",
            "12.50",
            "-3",
            "(4,00)",
            "2024-01-05",
            "31/12/2024",
            "12/31/2024",
            "2024-02-30",
            "paid",
            "pagato",
            "refunded",
            "EUR",
            "USD",
            "month",
            "=cmd|'/C calc'!A0",
            "@SUM(1)",
            '"',
            "'",
            ";",
            ",",
            "\t",
            "\n",
            "\r\n",
            "€",
            "Città",
            "0",
            "10",
            "11",
            "NaN",
            "inf",
            "1e308",
            "9" * 40,
        ]
    ),
    st.text(max_size=12),
)
VALUES = {
    "customer_id": ["a", "b", "=1+1", "Città"],
    "order_id": ["1", "2", "3"],
    "subscription_id": ["s1", "s2"],
    "order_date": ["2024-01-05", "2024-02-10", "soon"],
    "start_date": ["2024-01-05", "2024-02-10"],
    "answered_at": ["2024-01-05", "05/01/2024"],
    "Data ordine": ["05/01/2024", "13/02/2024"],
    "amount": ["7", "12.5", "1,234.50", "x"],
    "Importo": ["7", "12,5", "1.234,50"],
    "Cliente": ["Rossi", "Bianchi"],
    "Stato": ["pagato", "annullato", "rimborsato"],
    "interval": ["month", "year", "mensile"],
    "score": ["0", "9", "10", "4"],
}
PLAUSIBLE_SETS = [
    ["customer_id", "order_id", "order_date", "amount"],
    ["Cliente", "Data ordine", "Importo", "Stato"],
    ["customer_id", "subscription_id", "start_date", "amount", "interval"],
    ["answered_at", "score"],
]
READERS = [read_orders, read_subscriptions, read_survey]
PLAUSIBLE_READERS = [read_orders, read_orders, read_subscriptions, read_survey]


def render(headers, rows, delimiter):
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return buf.getvalue()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    headers=st.one_of(
        st.lists(st.sampled_from(HEADERS), min_size=1, max_size=7),
        st.sampled_from(PLAUSIBLE_SETS),
    ),
    data=st.data(),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]),
    locale=st.sampled_from([None, "it", "en"]),
    skip=st.booleans(),
)
def test_messy_exports_never_crash(tmp_path, headers, data, delimiter, encoding, locale, skip):
    own = [PLAUSIBLE_READERS[i] for i, h in enumerate(PLAUSIBLE_SETS) if h == headers]
    reader = data.draw(st.sampled_from(own * 4 + READERS))
    plausible = st.tuples(*(st.sampled_from(VALUES.get(h, ["", "1"])) for h in headers)).map(list)
    rows = data.draw(
        st.lists(
            st.one_of(st.lists(CELLS, min_size=0, max_size=len(headers) + 1), plausible),
            max_size=8,
        )
    )
    text = render(headers, rows, delimiter)
    path = tmp_path / "export.csv"
    path.write_bytes(text.encode(encoding, errors="replace"))
    try:
        result = reader(path, locale=locale, skip_bad_rows=skip)
    except InputError as exc:
        assert str(exc)  # a message, never empty
        event(type(exc).__name__)
        return
    event("imported")
    assert isinstance(result, Import)
    assert len(result.frame) == result.report.records > 0


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=400), reader=st.sampled_from(READERS))
def test_random_bytes_never_crash(tmp_path, raw, reader):
    path = tmp_path / "export.csv"
    path.write_bytes(raw)
    try:
        reader(path)
    except InputError as exc:
        assert str(exc)


ORDER = st.tuples(
    st.text(alphabet="abcxyzàèìòù=+-@ 0123456789", min_size=1, max_size=8)
    .map(str.strip)
    .filter(bool),
    st.dates(
        min_value=pd.Timestamp(2015, 1, 1).date(), max_value=pd.Timestamp(2030, 12, 31).date()
    ),
    st.decimals(min_value=-10_000, max_value=1_000_000, places=2, allow_nan=False),
)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    orders=st.lists(ORDER, min_size=1, max_size=30),
    italian=st.booleans(),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
)
def test_well_formed_orders_round_trip(tmp_path, orders, italian, encoding):
    rows = []
    for i, (cust, day, amount) in enumerate(orders):
        if italian:
            whole, _, cents = f"{abs(amount):,.2f}".partition(".")
            text = ("-" if amount < 0 else "") + whole.replace(",", ".") + "," + cents
            rows.append([cust, str(i), day.strftime("%d/%m/%Y"), text])
        else:
            rows.append([cust, str(i), day.isoformat(), f"{amount:,.2f}"])
    headers = (
        ["Cliente", "Numero ordine", "Data ordine", "Importo"]
        if italian
        else ["customer_id", "order_id", "order_date", "amount"]
    )
    text = render(headers, rows, ";" if italian else ",")
    path = tmp_path / "orders.csv"
    path.write_bytes(text.encode(encoding))
    imp = read_orders(path, locale="it" if italian else "en")
    f = imp.frame
    assert f["customer_id"].tolist() == [c for c, _, _ in orders]
    assert f["order_date"].tolist() == [pd.Timestamp(d) for _, d, _ in orders]
    np.testing.assert_allclose(f["amount"].to_numpy(), [float(a) for _, _, a in orders])
    assert imp.report.records == len(orders)
    assert imp.report.first_date == pd.Timestamp(min(d for _, d, _ in orders))


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])
def test_detected_locale_matches_explicit_locale(tmp_path, encoding):
    text = "Cliente;Data ordine;Importo\nPérez;13/01/2024;1.234,50\nLuca;02/02/2024;3,00\n"
    path = tmp_path / "o.csv"
    path.write_bytes(text.encode(encoding))
    auto = read_orders(path).frame
    explicit = read_orders(path, locale="it").frame
    pd.testing.assert_frame_equal(auto, explicit)
