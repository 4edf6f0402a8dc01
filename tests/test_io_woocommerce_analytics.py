"""WooCommerce > Analytics > Orders > Download, written the way WooCommerce writes it.

What the fixture copies from WooCommerce's own code (``Admin/API/Reports/Orders``
and ``WC_CSV_Exporter``): the column labels (``N. Revenue (formatted)`` only in recent
versions), the status as its slug (``completed``), products as ``1× Tazza``, PHP's
``fputcsv`` quoting (a field with a blank is quoted, lines end in ``\\n``), newest rows
first, and a **refund as a row of its own**: the refunded order's number, the
refund's date and a negative Net Sales. WooCommerce's exporter prefixes text that
starts like a formula with ``'``; versions before 9.x did that to negative numbers too
(``'-35``).

Every expected number is computed in the test from the rows, with pandas.
"""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

HEADER = ["Date", "Order #", "Status", "Customer", "Customer type", "Product(s)",
          "Items sold", "Coupon(s)", "Net Sales", "Attribution"]  # fmt: skip
FORMATTED = "N. Revenue (formatted)"  # recent versions, after "Order #"

# date, order #, formatted total, status, customer, type, products, items, coupons,
# net sales, attribution; newest first, as the report lists them
ROWS = [
    ["2024-04-25 11:02:13", "1250", "€61.00", "completed", "Giulia Bianchi", "returning",
     "1× Tazza", -1, "", -24.5, "Direct"],  # partial refund of 1250
    ["2024-04-20 09:30:00", "1250", "€61.00", "completed", "Giulia Bianchi", "returning",
     "2× Tazza", 2, "", 49.0, "Direct"],
    ["2024-04-15 16:45:51", "1241", "€42.70 €0.00", "refunded", "Anna Verdi", "new",
     "1× Teiera", -1, "", -35.0, "Direct"],  # full refund of 1241
    ["2024-04-13 10:00:00", "1242", "€29.89", "failed", "Luca Neri", "new", "1× Tazza", 1,
     "", 24.5, "Direct"],
    ["2024-04-12 10:00:00", "1241", "€42.70 €0.00", "refunded", "Anna Verdi", "new",
     "1× Teiera", 1, "", 35.0, "Direct"],
    ["2024-04-11 18:40:00", "1240", "€21.96", "completed", "mario  rossi", "returning",
     "3× Piattino", 3, "", 18.0, "Direct"],
    ["2024-04-02 08:15:00", "1100", "€29.89", "completed", "Paolo Gialli", "returning",
     "1× Tazza", -1, "", -24.5, "Direct"],  # refund of an order placed before the range
    ["2024-03-07 09:01:44", "1202", "€74.66", "processing", "Giulia Bianchi", "new",
     "1× Teiera, 1× Tazza", 2, "benvenuto", 61.2, "Organic: Google"],
    ["2024-03-05 14:22:10", "1201", "€29.89", "completed", "Mario Rossi", "new", "1× Tazza",
     1, "", 24.5, "Direct"],
]  # fmt: skip


def _php_field(value: object, *, escape_numbers: bool) -> str:
    """One field as WC_CSV_Exporter::format_data + PHP fputcsv write it."""
    text = value if isinstance(value, str) else f"{value:g}"
    if (isinstance(value, str) or escape_numbers) and text[:1] in ("=", "+", "-", "@"):
        text = "'" + text
    if any(c in text for c in ',"\n\r\t '):
        text = '"' + text.replace('"', '""') + '"'
    return text


def write_download(
    path: Path, rows: list[list[object]], *, formatted: bool = True, old: bool = False
) -> Path:
    """The CSV WooCommerce downloads; ``old``: a version that escaped negative numbers."""
    header = [*HEADER[:2], FORMATTED, *HEADER[2:]] if formatted else HEADER
    lines = [",".join(_php_field(h, escape_numbers=old) for h in header)]
    for row in rows:
        cells = row if formatted else [*row[:2], *row[3:]]
        lines.append(",".join(_php_field(c, escape_numbers=old) for c in cells))
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
    return path


def expected(rows: list[list[object]]) -> dict[str, float]:
    """Revenue, orders and customers computed from the rows, independently of the tool."""
    cols = ["date", "order", "formatted", "status", "customer", "type", "products", "items",
            "coupons", "net", "attribution"]  # fmt: skip
    frame = pd.DataFrame(rows, columns=cols).drop_duplicates()
    refunds = frame[frame["net"] < 0].groupby("order")["net"].sum().abs()
    orders = frame[frame["net"] >= 0].copy()
    orders = orders[~orders["status"].isin(["failed", "cancelled", "pending", "on-hold"])]
    given_back = orders["order"].map(refunds).fillna(0.0).clip(upper=orders["net"])
    refunded_in_full = orders["status"] == "refunded"
    orders["revenue"] = orders["net"] - given_back.where(~refunded_in_full, orders["net"])
    bought = orders[(orders["revenue"] > 0) & ~refunded_in_full]
    names = bought["customer"].str.split().str.join(" ").str.casefold()
    return {
        "revenue": float(orders["revenue"].sum()),
        "orders": len(bought),
        "customers": names.nunique(),
    }


def _kpis(run_cli, path: Path) -> tuple[dict[str, float], dict]:
    result = run_cli("kpis", "--orders", str(path), "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    return {k["kpi"]: k["value"] for k in payload["kpis"]}, payload["imports"]["orders"]


@pytest.mark.parametrize("formatted", [True, False], ids=["recent", "without-formatted"])
def test_refund_rows_count_on_their_orders(tmp_path: Path, run_cli, formatted: bool) -> None:
    path = write_download(tmp_path / "wc-orders-report-export-1714.csv", ROWS, formatted=formatted)
    kpis, report = _kpis(run_cli, path)
    want = expected(ROWS)
    assert report["format"] == "woocommerce-analytics"
    assert kpis["revenue"] == pytest.approx(want["revenue"])  # 49-24.5 + 18 + 61.2 + 24.5
    assert kpis["orders"] == want["orders"] == 4
    assert kpis["customers"] == want["customers"] == 2  # "mario  rossi" is Mario Rossi
    notes = " | ".join(report["notes"])
    assert any("customers are told apart by name" in w for w in report["warnings"])
    assert "3 refund rows (negative Net Sales) were counted on their orders" in notes
    assert "1 refunds of orders that are not in the file (1100)" in notes


def test_an_old_version_escaping_negative_numbers_reads_the_same(tmp_path: Path, run_cli) -> None:
    path = write_download(tmp_path / "wc-orders-report-export-1.csv", ROWS, old=True)
    assert "'-24.5" in path.read_text("utf-8")  # what such a version writes
    kpis, _ = _kpis(run_cli, path)
    assert kpis["revenue"] == pytest.approx(expected(ROWS)["revenue"])
    assert kpis["orders"] == expected(ROWS)["orders"]


def test_two_downloads_pasted_together_count_once(tmp_path: Path, run_cli) -> None:
    """March-April and April again: the April rows (refunds too) are there twice."""
    april = [r for r in ROWS if str(r[0]).startswith("2024-04")]
    rows = april + ROWS
    path = write_download(tmp_path / "wc-orders-report-export-2.csv", rows)
    kpis, report = _kpis(run_cli, path)
    assert kpis["revenue"] == pytest.approx(expected(ROWS)["revenue"])
    assert kpis["orders"] == expected(ROWS)["orders"]
    assert report["duplicates_removed"] == len(april)


def test_one_order_twice_with_different_net_sales_is_refused(tmp_path: Path, run_cli) -> None:
    changed = [*ROWS, ["2024-03-05 14:22:10", "1201", "€29.89", "completed", "Mario Rossi",
                       "new", "1× Tazza", 1, "", 20.0, "Direct"]]  # fmt: skip
    path = write_download(tmp_path / "wc-orders-report-export-3.csv", changed)
    result = run_cli("kpis", "--orders", str(path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    # header is row 1: the first 1201 is on row 10, the changed copy on row 11
    assert "wc-orders-report-export-3.csv" in result.stderr
    assert "order '1201' appears on rows 10 and 11 with different amount (24.5 / 20.0)" in (
        result.stderr
    )


def test_check_warns_that_customers_are_identified_by_name(tmp_path: Path, run_cli) -> None:
    path = write_download(tmp_path / "wc-orders-report-export-4.csv", ROWS)
    result = run_cli("check", "--orders", str(path))
    assert result.returncode == 0, result.stderr
    out = result.stdout + result.stderr
    assert "warning:" in out and "by name" in out


INJECTED = ['=HYPERLINK("http://evil.example","click")', "=1+1"]


def _shop_download(path: Path) -> tuple[Path, list[str]]:
    """The bundled sample shop as an Analytics download, two customers named like formulas."""
    from retention_xl.datasets import load_sample

    orders = load_sample().orders
    orders = orders[orders["status"] == "paid"].drop_duplicates("order_id")
    first = list(dict.fromkeys(orders["customer_id"]))[: len(INJECTED)]
    names = dict(zip(first, INJECTED, strict=True))
    rows: list[list[object]] = [
        [f"{o.order_date:%Y-%m-%d} 10:00:00", str(o.order_id), "", "completed",
         names.get(o.customer_id, f"Cliente {o.customer_id}"), "returning", "1× Tazza", 1,
         "", round(float(o.amount), 2), "Direct"]
        for o in orders.sort_values("order_date", ascending=False).itertuples()
    ]  # fmt: skip
    return write_download(path, rows), [t.casefold() for t in INJECTED]


@pytest.mark.filterwarnings("ignore::UserWarning")  # openpyxl does not read x14 extensions
def test_names_that_look_like_formulas_stay_text(tmp_path: Path, run_cli) -> None:
    """WooCommerce writes '=1+1 for a customer called =1+1: the report and the
    predictions show the name as text, never as a formula."""
    path, ids = _shop_download(tmp_path / "wc-orders-report-export-5.csv")
    assert "'=1+1" in path.read_text("utf-8")  # WooCommerce's own escaping
    book = tmp_path / "report.xlsx"
    result = run_cli("build", "--orders", str(path), "--out", str(book))
    assert result.returncode == 0, result.stderr
    wb = openpyxl.load_workbook(book)
    found = dict.fromkeys(ids, 0)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and "hyperlink(" in cell.value.casefold():
                    assert cell.data_type == "s", (ws.title, cell.coordinate, cell.value)
                if cell.value in found:
                    assert cell.data_type == "s", (ws.title, cell.coordinate)
                    found[cell.value] += 1
    assert all(n >= 2 for n in found.values()), found  # Orders and Customers tabs at least

    scores = tmp_path / "scores.xlsx"
    result = run_cli("predict", "--orders", str(path), "--out", str(scores))
    assert result.returncode == 0, result.stderr
    ws = openpyxl.load_workbook(scores)["Predictions"]
    cells = {c.value: c.data_type for c in ws["A"][1:]}
    assert all(cells[text] == "s" for text in ids)

    as_csv = tmp_path / "scores.csv"
    result = run_cli("predict", "--orders", str(path), "--out", str(as_csv))
    assert result.returncode == 0, result.stderr
    written = pd.read_csv(as_csv, dtype={"customer_id": str})["customer_id"].tolist()
    assert sorted(t for t in written if t.startswith("'")) == sorted("'" + t for t in ids)
