"""Messy exports through refresh: a refreshed workbook or a package error, never a crash,
and after an error the workbook is byte-identical."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from retention_xl.errors import RetentionError
from retention_xl.io import load_inputs
from retention_xl.workbook.build import plan_template, write_workbook
from retention_xl.workbook.package import read_package
from retention_xl.workbook.refresh import refresh

HEADERS = {
    "orders": ["customer_id", "order_id", "order_date", "amount", "status", "currency"],
    "subscriptions": [
        "customer_id",
        "subscription_id",
        "start_date",
        "end_date",
        "amount",
        "interval",
    ],
    "survey": ["answered_at", "score", "kind"],
}
ITALIAN = {"customer_id": "Cliente", "order_date": "Data ordine", "amount": "Importo"}
CELLS = st.one_of(
    st.sampled_from(
        [
            "",
            "a",
            "c1",
            "c2",
            "=1+1",
            "@SUM(1)",
            "+39 02",
            "-1",
            "0",
            "7",
            "12,5",
            "1.234,56",
            "1e308",
            "inf",
            "2024-01-05",
            "05/01/2024",
            "31/02/2024",
            "2023-12-31",
            "paid",
            "refunded",
            "pagato",
            "EUR",
            "USD",
            "month",
            "year",
            "nps",
            "csat",
            "10",
            "Città",
            '"',
            ";",
        ]
    ),
    st.text(max_size=8),
)


PLAUSIBLE = {
    "customer_id": ["c1", "c2", "=1+1", "Città", "@SUM(1)"],
    "order_id": ["1", "2", "3", "=A1"],
    "subscription_id": ["s1", "s2", "s3"],
    "order_date": ["2024-01-05", "2024-02-10", "2023-11-30"],
    "start_date": ["2024-01-05", "2023-06-01"],
    "end_date": ["", "2024-03-01"],
    "answered_at": ["2024-01-05", "2024-02-01"],
    "amount": ["7", "12.5", "30"],
    "status": ["paid", "refunded", ""],
    "currency": ["EUR", ""],
    "interval": ["month", "year"],
    "score": ["0", "9", "10", "4"],
    "kind": ["nps", ""],
}


def cell(column: str, messy: bool) -> st.SearchStrategy[str]:
    """A plausible value of the column; in a messy file, sometimes anything."""
    plausible = st.sampled_from(PLAUSIBLE[column])
    return st.one_of(plausible, plausible, plausible, CELLS) if messy else plausible


@pytest.fixture(scope="module")
def template_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        return write_workbook(plan_template(lang="it"), Path(folder) / "T.xlsx").read_bytes()


def render(headers: list[str], rows: list[list[str]], delimiter: str) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return buf.getvalue().encode("cp1252", errors="replace")


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    kind=st.sampled_from(sorted(HEADERS)),
    italian=st.booleans(),
    delimiter=st.sampled_from([",", ";", "\t"]),
    append=st.booleans(),
    data=st.data(),
)
def test_messy_exports_never_crash_refresh(
    template_bytes: bytes,
    tmp_path_factory: pytest.TempPathFactory,
    kind: str,
    italian: bool,
    delimiter: str,
    append: bool,
    data: st.DataObject,
) -> None:
    folder = tmp_path_factory.mktemp("messy")
    book = folder / "T.xlsx"
    book.write_bytes(template_bytes)
    columns = data.draw(st.permutations(HEADERS[kind]))
    headers = [ITALIAN.get(h, h) if italian else h for h in columns]
    n = data.draw(st.integers(1, 6))
    messy = data.draw(st.booleans())
    rows = [[data.draw(cell(c, messy)) for c in columns] for _ in range(n)]
    export = folder / "export.csv"
    export.write_bytes(render(headers, rows, delimiter))
    before = book.read_bytes()
    try:
        inputs = load_inputs(**{kind: export})
        summary = refresh(book, inputs, append=append, backup=False)
    except RetentionError as exc:
        event(f"refused: {type(exc).__name__}")
        assert book.read_bytes() == before
        return
    event("refreshed")
    assert summary.sheets
    pkg = read_package(book)  # still a sound package, every sheet found by its role
    assert "ORDERS" in pkg.workbook().role_parts()
