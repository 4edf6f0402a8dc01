"""Exports that are wrong in ways a person does not notice: the tool refuses with a
message naming the file, row and column, or computes the right numbers.

Each fixture is written in the platform's own layout (its header names, quoting,
number and date formats); the CLI runs as a subprocess.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from shopify_headers import SHOPIFY_HEADERS
from test_io_platforms import shopify_order, to_csv

from retention_xl.datasets import load_sample

INJECTIONS = ['=HYPERLINK("http://evil.example","x")', "+39 333 1234567", "-2+3", "@SUM(A1)"]


def _strict_json(text: str) -> object:
    """json.loads that fails on NaN/Infinity (not JSON, RFC 8259)."""

    def refuse(token: str) -> object:
        raise AssertionError(f"invalid JSON token {token}")

    return json.loads(text, parse_constant=refuse)


# --------------------------------------------------------------- non-finite numbers


def test_an_amount_too_large_to_be_real_is_refused_with_its_place(tmp_path: Path, run_cli) -> None:
    rows = [
        *shopify_order(
            "#1001", "ada@example.com", "2024-01-05 10:14:00 +0100", "47.00", "0", "0", "47.00"
        ),
        *shopify_order(
            "#1002", "bo@example.com", "2024-02-05 10:14:00 +0100", "1e308", "0", "0", "1e308"
        ),
    ]
    path = tmp_path / "orders_export_1.csv"
    path.write_bytes(to_csv(SHOPIFY_HEADERS, rows))
    result = run_cli("kpis", "--orders", str(path), "--json")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    err = result.stderr
    assert "orders_export_1.csv" in err and "row 4" in err and "too large to be real" in err
    assert result.stdout == ""


def test_an_infinite_xlsx_cell_is_refused(tmp_path: Path, run_cli) -> None:
    path = tmp_path / "ordini.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["customer_id", "order_id", "order_date", "amount"])
    ws.append(["c1", "o1", "2024-01-02", 10.0])
    ws.append(["c2", "o2", "2024-01-03", 9.0e15])  # beyond any amount
    wb.save(path)
    result = run_cli("kpis", "--orders", str(path))
    assert result.returncode == 2, result.stdout
    assert "ordini.xlsx" in result.stderr and "row 3" in result.stderr
    assert "'amount'" in result.stderr and "too large" in result.stderr


def test_json_output_is_always_valid_json(tmp_path: Path, run_cli) -> None:
    """Undefined KPIs (one period: no churn, no CLV) are null; infinities never get out."""
    from retention_xl.cli import json_text

    path = tmp_path / "orders.csv"
    path.write_text(
        "customer_id,order_id,order_date,amount\nc1,o1,2024-01-02,10\nc2,o2,2024-01-03,5\n",
        encoding="utf-8",
    )
    result = run_cli("kpis", "--orders", str(path), "--json")
    assert result.returncode == 0, result.stderr
    payload = _strict_json(result.stdout)
    kpis = {k["kpi"]: k["value"] for k in payload["kpis"]}  # type: ignore[index]
    assert kpis["churn"] is None and kpis["customers"] == 2
    # whatever a payload holds, the text is RFC 8259 JSON
    assert "Infinity" in json.dumps({"x": float("inf")})  # what Python writes by default
    assert _strict_json(json_text({"x": float("inf"), "y": [float("nan"), 1.0]})) == {
        "x": None,
        "y": [None, 1.0],
    }


# --------------------------------------------------------------- CSV injection


@pytest.fixture
def injected_orders(tmp_path: Path) -> tuple[Path, list[str]]:
    """The sample shop's orders with some customer ids that start like formulas."""
    orders = load_sample().orders
    ids = list(dict.fromkeys(orders["customer_id"]))[:4]
    bad = {old: new for old, new in zip(ids, INJECTIONS, strict=True)}
    orders = orders.assign(customer_id=orders["customer_id"].map(lambda c: bad.get(c, c)))
    path = tmp_path / "orders.csv"
    orders.to_csv(path, index=False, date_format="%Y-%m-%d")
    return path, INJECTIONS


def test_predict_csv_never_writes_a_formula(
    tmp_path: Path, run_cli, injected_orders: tuple[Path, list[str]]
) -> None:
    path, injected = injected_orders
    out = tmp_path / "scores.csv"
    result = run_cli("predict", "--orders", str(path), "--out", str(out))
    assert result.returncode == 0, result.stderr
    fields = [f for row in csv.reader(io.StringIO(out.read_text("utf-8"))) for f in row]
    starts = ("=", "+", "-", "@", "\t", "\r")
    dangerous = []
    for f in fields:
        if not f.startswith(starts):
            continue
        try:
            float(f)  # a negative number is a number, not a formula
        except ValueError:
            dangerous.append(f)
    assert dangerous == []
    ids = pd.read_csv(out, dtype={"customer_id": str})["customer_id"].tolist()
    for text in injected:
        assert "'" + text in ids  # kept, readable, inert
    assert any(i.startswith("C0") for i in ids)  # ordinary ids untouched


def test_predict_xlsx_keeps_exported_text_as_text(
    tmp_path: Path, run_cli, injected_orders: tuple[Path, list[str]]
) -> None:
    path, injected = injected_orders
    out = tmp_path / "scores.xlsx"
    result = run_cli("predict", "--orders", str(path), "--out", str(out))
    assert result.returncode == 0, result.stderr
    ws = openpyxl.load_workbook(out)["Predictions"]
    cells = {c.value: c.data_type for c in ws["A"][1:]}
    for text in injected:
        assert cells[text] == "s"  # a text cell, not a formula


# --------------------------------------------------------------- duplicate orders


def _shopify(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_bytes(to_csv(SHOPIFY_HEADERS, rows))
    return path


def test_one_order_twice_with_different_content_is_refused_naming_both_rows(
    tmp_path: Path, run_cli
) -> None:
    rows = [
        *shopify_order(
            "#1001", "ada@example.com", "2024-01-05 10:00:00 +0100", "47.00", "0", "0", "47.00"
        ),
        *shopify_order(
            "#1002", "bo@example.com", "2024-01-06 10:00:00 +0100", "20.00", "0", "0", "20.00"
        ),
        # the same order again, later in the file, with another amount (a stale copy?)
        *shopify_order(
            "#1001", "ada@example.com", "2024-01-05 10:00:00 +0100", "52.00", "0", "0", "52.00"
        ),
    ]
    path = _shopify(tmp_path / "orders_export_1.csv", rows)
    result = run_cli("kpis", "--orders", str(path))
    assert result.returncode == 2, result.stdout
    err = result.stderr
    assert "orders_export_1.csv" in err and "'#1001'" in err
    assert "rows 2 and 6" in err and "amount (47.0 / 52.0)" in err
    assert "Traceback" not in err


def test_identical_repeats_are_counted_and_dropped(tmp_path: Path, run_cli) -> None:
    order = shopify_order(
        "#1001", "ada@example.com", "2024-01-05 10:00:00 +0100", "47.00", "0", "0", "47.00"
    )
    other = shopify_order(
        "#1002", "bo@example.com", "2024-01-06 10:00:00 +0100", "20.00", "0", "0", "20.00"
    )
    path = _shopify(tmp_path / "orders_export_1.csv", [*order, *other, *order])
    result = run_cli("check", "--orders", str(path), "--json")
    assert result.returncode == 0, result.stderr
    report = _strict_json(result.stdout)["orders"]  # type: ignore[index]
    assert report["duplicates_removed"] == 1 and report["records"] == 2


def test_the_latest_version_wins_where_the_export_has_an_update_time(
    tmp_path: Path, run_cli
) -> None:
    text = (
        "order_id,customer_id,order_date,amount,status,updated_at\n"
        "A1,c1,2024-01-05,40.00,paid,2024-01-05 10:00:00\n"
        "A2,c2,2024-01-06,25.00,paid,2024-01-06 09:00:00\n"
        "A1,c1,2024-01-05,40.00,refunded,2024-01-09 16:30:00\n"  # refunded later
        "A3,c1,2024-02-01,15.00,paid,2024-02-01 08:00:00\n"
        "A2,c2,2024-01-06,30.00,paid,2024-01-06 08:00:00\n"  # an older version
    )
    path = tmp_path / "orders.csv"
    path.write_text(text, encoding="utf-8")
    result = run_cli("kpis", "--orders", str(path), "--json")
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(path).sort_values("updated_at").drop_duplicates("order_id", keep="last")
    paid = frame[frame["status"] == "paid"]
    payload = _strict_json(result.stdout)
    kpis = {k["kpi"]: k["value"] for k in payload["kpis"]}  # type: ignore[index]
    assert kpis["revenue"] == pytest.approx(paid["amount"].sum())  # 25 + 15
    assert kpis["orders"] == len(paid)
    warnings = payload["imports"]["orders"]["warnings"]  # type: ignore[index]
    assert any("2 orders appeared more than once" in n for n in warnings)


def _woo_order(oid: str, email: str, date: str, total: str, **extra: str) -> dict[str, str]:
    row = {
        "order_id": oid,
        "order_number": oid,
        "order_date": date,
        "status": extra.pop("status", "wc-completed"),
        "shipping_total": "5.00",
        "tax_total": "0.00",
        "order_total": total,
        "refunded_total": extra.pop("refunded", "0.00"),
        "order_currency": "EUR",
        "billing_email": email,
    }
    row.update(extra)
    return row


def test_woocommerce_keeps_the_latest_version_by_its_modification_date(
    tmp_path: Path, run_cli
) -> None:
    from test_io_platforms import WOO_HEADERS

    headers = [*WOO_HEADERS, "date_modified"]
    rows = [
        _woo_order("501", "ada@example.com", "2024-03-01 10:00:00", "55.00",
                   date_modified="2024-03-01 10:05:00"),
        _woo_order("502", "bo@example.com", "2024-03-02 11:00:00", "35.00",
                   date_modified="2024-03-02 11:00:00"),
        # a later export pasted below: 501 refunded in full since
        _woo_order("501", "ada@example.com", "2024-03-01 10:00:00", "55.00",
                   status="wc-refunded", refunded="55.00", date_modified="2024-03-09 17:40:00"),
        _woo_order("503", "ada@example.com", "2024-03-10 09:00:00", "25.00",
                   date_modified="2024-03-10 09:00:00"),
    ]  # fmt: skip
    path = tmp_path / "orders-export.csv"
    path.write_bytes(to_csv(headers, rows))
    result = run_cli("kpis", "--orders", str(path), "--json")
    assert result.returncode == 0, result.stderr
    frame = pd.DataFrame(rows).astype({"order_total": float, "shipping_total": float})
    frame = frame.sort_values("date_modified").drop_duplicates("order_id", keep="last")
    kept = frame[frame["status"] == "wc-completed"]
    payload = _strict_json(result.stdout)
    kpis = {k["kpi"]: k["value"] for k in payload["kpis"]}  # type: ignore[index]
    assert kpis["orders"] == len(kept) == 2
    assert kpis["revenue"] == pytest.approx((kept["order_total"] - kept["shipping_total"]).sum())
    report = payload["imports"]["orders"]  # type: ignore[index]
    assert report["duplicates_removed"] == 1
    assert any("the latest version" in w for w in report["warnings"])


def test_woocommerce_without_a_modification_date_refuses_naming_both_rows(
    tmp_path: Path, run_cli
) -> None:
    from test_io_platforms import WOO_HEADERS

    rows = [
        _woo_order("501", "ada@example.com", "2024-03-01 10:00:00", "55.00"),
        _woo_order("502", "bo@example.com", "2024-03-02 11:00:00", "35.00"),
        _woo_order("501", "ada@example.com", "2024-03-01 10:00:00", "55.00",
                   status="wc-refunded", refunded="55.00"),
    ]  # fmt: skip
    path = tmp_path / "orders-export.csv"
    path.write_bytes(to_csv(WOO_HEADERS, rows))
    result = run_cli("build", "--orders", str(path), "--out", str(tmp_path / "r.xlsx"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and not (tmp_path / "r.xlsx").exists()
    assert "orders-export.csv, row 4, column 'order_id'" in result.stderr
    assert (
        "order '501' appears on rows 2 and 4 with different refunded, status "
        "(0.0 / 50.0, paid / refunded); the file has no update time"
    ) in result.stderr


def test_two_versions_with_the_same_update_time_are_refused(tmp_path: Path, run_cli) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,customer_id,order_date,amount,updated_at\n"
        "A1,c1,2024-01-05,40.00,2024-01-05 10:00:00\n"
        "A2,c2,2024-01-06,25.00,2024-01-06 09:00:00\n"
        "A1,c1,2024-01-05,44.00,2024-01-05 10:00:00\n",
        encoding="utf-8",
    )
    result = run_cli("kpis", "--orders", str(path))
    assert result.returncode == 2
    assert (
        "order 'A1' appears on rows 2 and 4 with different amount (40.0 / 44.0) "
        "and the same update time (2024-01-05 10:00:00)"
    ) in result.stderr


def test_stripe_payments_have_no_update_time_so_a_changed_charge_is_refused(
    tmp_path: Path, run_cli
) -> None:
    """Created (UTC) is the charge's creation: the same in every version of it."""
    headers = ["id", "Created (UTC)", "Amount", "Amount Refunded", "Currency", "Fee",
               "Status", "Customer ID", "Customer Email", "Captured"]  # fmt: skip
    charge = {"id": "ch_1", "Created (UTC)": "2024-01-02 10:00", "Amount": "100.00",
              "Amount Refunded": "0.00", "Currency": "eur", "Fee": "1.70", "Status": "Paid",
              "Customer ID": "cus_1", "Customer Email": "a@x.io", "Captured": "true"}  # fmt: skip
    other = {**charge, "id": "ch_2", "Customer ID": "cus_2", "Amount": "30.00"}
    later = {**charge, "Amount Refunded": "40.00"}  # the same charge, partly refunded since
    path = tmp_path / "unified_payments.csv"
    path.write_bytes(to_csv(headers, [charge, other, charge, later]))
    result = run_cli("check", "--orders", str(path))
    assert result.returncode == 2
    assert "unified_payments.csv, row 5" in result.stderr
    assert "order 'ch_1' appears on rows 2 and 5 with different refunded (0.0 / 40.0)" in (
        result.stderr
    )


# --------------------------------------------------------------- smaller ones


def test_woocommerce_analytics_orders_download(tmp_path: Path, run_cli) -> None:
    """WooCommerce > Analytics > Orders > Download, as WooCommerce writes it (BOM, CRLF)."""
    header = ["Date", "Order #", "Status", "Customer", "Customer type", "Product(s)",
              "Items sold", "Coupon(s)", "Net Sales", "Attribution"]  # fmt: skip
    rows = [
        ["2024-03-05 14:22:10", "1201", "Completed", "Mario Rossi", "new", "Tazza", "1", "",
         "24.5", "Direct"],
        ["2024-03-07 09:01:44", "1202", "Processing", "Giulia Bianchi", "new", "Teiera, Tazza",
         "2", "BENVENUTO", "61.2", "Organic: Google"],
        ["2024-04-11 18:40:00", "1240", "Completed", "mario  rossi", "returning", "Piattino",
         "3", "", "18", "Direct"],
        ["2024-04-12 10:00:00", "1241", "Refunded", "Anna Verdi", "new", "Teiera", "1", "",
         "35", "Direct"],
        ["2024-04-13 10:00:00", "1242", "Failed", "Luca Neri", "new", "Tazza", "1", "",
         "24.5", "Direct"],
    ]  # fmt: skip
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path = tmp_path / "wc-orders-report-export-17100000.csv"
    path.write_bytes(b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8"))
    result = run_cli("kpis", "--orders", str(path), "--json")
    assert result.returncode == 0, result.stderr
    payload = _strict_json(result.stdout)
    report = payload["imports"]["orders"]  # type: ignore[index]
    assert report["format"] == "woocommerce-analytics"
    assert any("by name" in n for n in report["warnings"])
    frame = pd.DataFrame(rows, columns=header)
    paid = frame[frame["Status"].isin(["Completed", "Processing"])]
    names = paid["Customer"].str.split().str.join(" ").str.casefold()
    kpis = {k["kpi"]: k["value"] for k in payload["kpis"]}  # type: ignore[index]
    assert kpis["revenue"] == pytest.approx(paid["Net Sales"].astype(float).sum())
    assert kpis["orders"] == len(paid)
    assert kpis["customers"] == names.nunique() == 2  # "mario  rossi" is Mario Rossi


def test_a_model_that_cannot_be_fitted_is_explained_once_and_readably(
    tmp_path: Path, run_cli
) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "customer_id,order_id,order_date,amount\n"
        "c1,o1,2024-01-02,10\nc2,o2,2024-01-03,5\nc1,o3,2024-02-03,5\n",
        encoding="utf-8",
    )
    result = run_cli("build", "--orders", str(path), "--out", str(tmp_path / "r.xlsx"))
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("could not be fitted") == 1
    assert "{'" not in result.stderr  # no raw dict of parameters
    assert "r = " in result.stderr


def test_a_failed_holdout_check_keeps_the_predictions_file(tmp_path: Path, run_cli) -> None:
    orders = load_sample().orders
    path = tmp_path / "orders.csv"
    orders.to_csv(path, index=False, date_format="%Y-%m-%d")
    out = tmp_path / "scores.csv"
    # a holdout longer than the history leaves nothing to fit on
    result = run_cli("predict", "--orders", str(path), "--holdout-weeks", "520", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "no holdout check (520 weeks)" in result.stderr
    scores = pd.read_csv(out)
    plain = tmp_path / "plain.csv"
    assert run_cli("predict", "--orders", str(path), "--out", str(plain)).returncode == 0
    assert len(scores) == len(pd.read_csv(plain)) > 1000  # every customer scored
    assert "holdout_actual" not in scores.columns


# --------------------------------------------------------------- the month of the KPIs


def _stripe_sub(sid: str, cus: str, amount: str, interval: str, start: str, **extra: str) -> dict:
    row = {
        "id": sid,
        "Customer ID": cus,
        "Customer Email": f"{cus}@x.io",
        "Plan": "price_1",
        "Quantity": "1",
        "Currency": extra.pop("currency", "eur"),
        "Interval": interval,
        "Amount": amount,
        "Status": "active",
        "Created (UTC)": start,
        "Start (UTC)": start,
        "Current Period Start (UTC)": extra.pop("period_start", start),
        "Current Period End (UTC)": extra.pop("period_end", ""),
        "Cancel At Period End": extra.pop("at_end", "false"),
    }
    row.update(extra)
    return row


def _stripe_export(path: Path, *, currency: str = "eur") -> Path:
    from test_io_platforms import STRIPE_SUB_HEADERS

    rows = [
        # an annual plan renewed in February 2025, set to cancel at the end of its year
        _stripe_sub("sub_1", "cus_A", "1200.00", "year", "2024-02-01 00:00",
                    period_start="2025-02-01 00:00", period_end="2026-02-01 00:00",
                    at_end="true", currency=currency),
        _stripe_sub("sub_2", "cus_B", "30.00", "month", "2024-11-10 09:00",
                    period_start="2025-03-10 09:00", period_end="2025-04-10 09:00",
                    currency=currency),
        # the newest event: a sign-up on 12 March 2025 (the export is from March 2025)
        _stripe_sub("sub_3", "cus_C", "50.00", "month", "2025-03-12 15:00",
                    period_end="2025-04-12 15:00", currency=currency),
    ]  # fmt: skip
    path.write_bytes(to_csv(STRIPE_SUB_HEADERS, rows))
    return path


@pytest.mark.filterwarnings("ignore::UserWarning")  # openpyxl does not read x14 extensions
def test_subscription_kpis_are_for_the_last_complete_month_and_say_which(
    tmp_path: Path, run_cli
) -> None:
    path = _stripe_export(tmp_path / "subscriptions.csv")
    result = run_cli("kpis", "--subscriptions", str(path), "--json")
    assert result.returncode == 0, result.stderr
    payload = _strict_json(result.stdout)
    assert payload["subscription_month"] == "2025-02"  # not 2026-01, not the unfinished March
    kpis = {k["kpi"]: k["value"] for k in payload["kpis"]}  # type: ignore[index]
    # February 2025 by hand: A pays 1200 a year (100 a month), B 30; C starts in March
    assert kpis["mrr"] == pytest.approx(1200 / 12 + 30)
    table = run_cli("kpis", "--subscriptions", str(path))
    assert "for February 2025, the last complete month" in table.stdout
    assert "MRR (2025-02)" in table.stdout

    book = tmp_path / "Report.xlsx"
    built = run_cli("build", "--subscriptions", str(path), "--out", str(book))
    assert built.returncode == 0, built.stderr
    wb = openpyxl.load_workbook(book)
    sheet, ref = next(iter(wb.defined_names["RXL_SubscriptionMonth"].destinations))
    assert wb[sheet][ref.replace("$", "")].value.startswith("=")  # a formula on the KPIs
    labels = [c.value for row in wb["Dashboard"].iter_rows() for c in row]
    assert any(str(v).startswith("=IF(RXL_SubscriptionMonth") for v in labels)
    wb.close()
    values = openpyxl.load_workbook(book, data_only=True)  # the cached values
    assert pd.Timestamp(values[sheet][ref.replace("$", "")].value) == pd.Timestamp("2025-02-01")
    tile = [c.value for row in values["Dashboard"].iter_rows() for c in row]
    assert any(isinstance(v, str) and v.endswith("(2025-02)") for v in tile), labels


def test_exports_in_different_currencies_are_refused_or_converted(tmp_path: Path, run_cli) -> None:
    subs = _stripe_export(tmp_path / "subscriptions.csv", currency="eur")
    rows = [
        *shopify_order("#1001", "ada@example.com", "2025-01-05 10:00:00 -0500", "47.00", "0", "0",
                       "47.00", currency="USD"),
        *shopify_order("#1002", "bo@example.com", "2025-02-06 10:00:00 -0500", "20.00", "0", "0",
                       "20.00", currency="USD"),
    ]  # fmt: skip
    orders = _shopify(tmp_path / "orders_export_1.csv", rows)
    refused = run_cli("kpis", "--orders", str(orders), "--subscriptions", str(subs))
    assert refused.returncode == 2
    err = refused.stderr
    assert "orders_export_1.csv is in USD but subscriptions.csv is in EUR" in err
    assert "--rate USD=1 --rate EUR=RATE" in err and "Traceback" not in err
    converted = run_cli(
        "kpis", "--orders", str(orders), "--subscriptions", str(subs),
        "--rate", "EUR=1", "--rate", "USD=0.9", "--json",
    )  # fmt: skip
    assert converted.returncode == 0, converted.stderr
    payload = _strict_json(converted.stdout)
    kpis = {k["kpi"]: k["value"] for k in payload["kpis"]}  # type: ignore[index]
    assert kpis["revenue"] == pytest.approx((47.0 + 20.0) * 0.9)
    assert kpis["mrr"] == pytest.approx(1200 / 12 + 30)
    assert payload["currency"] == "EUR"


# --------------------------------------------------------------- sheet limits, early


def test_an_orders_export_beyond_a_sheet_is_refused_before_the_analysis(
    tmp_path: Path, run_cli
) -> None:
    n = 1_048_576  # one more order than a tab holds below its header
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i % 5000}" for i in range(n)],
            "order_id": [f"o{i}" for i in range(n)],
            "order_date": pd.Timestamp("2023-01-01") + pd.to_timedelta(pd.RangeIndex(n) % 700, "D"),
            "amount": 10.0 + pd.RangeIndex(n) % 90,
        }
    )
    path = tmp_path / "orders.csv"
    frame.to_csv(path, index=False, date_format="%Y-%m-%d")
    out = tmp_path / "report.xlsx"
    result = run_cli("build", "--orders", str(path), "--out", str(out))
    assert result.returncode == 2
    assert "orders has 1,048,576 rows, more than a sheet holds (1,048,575 data rows" in (
        result.stderr
    )
    assert "--no-raw" in result.stderr
    assert "could not be fitted" not in result.stderr and "note:" not in result.stderr
    assert not out.exists()


def test_customers_beyond_the_lists_are_refused_with_the_same_number() -> None:
    from retention_xl.errors import WorkbookError
    from retention_xl.workbook.build import check_sheet_limits, customer_capacity

    n = customer_capacity() + 1
    frame = pd.DataFrame(
        {"customer_id": pd.RangeIndex(n).astype(str), "order_id": pd.RangeIndex(n).astype(str),
         "order_date": pd.Timestamp("2024-01-01"), "amount": 5.0}
    )  # fmt: skip
    with pytest.raises(WorkbookError) as err:
        check_sheet_limits(frame, no_raw=True)
    assert f"{n:,} customers with a purchase" in str(err.value)
    assert f"({customer_capacity():,}:" in str(err.value) and customer_capacity() == 1_048_562
    check_sheet_limits(frame.iloc[:-1], no_raw=True)  # one fewer fits


# --------------------------------------------------------------- refunds, tax basis


def test_shopify_refunds_count_on_the_basis_of_revenue(tmp_path: Path, run_cli) -> None:
    """Refunded Amount includes tax and shipping; revenue (Subtotal) does not."""
    orders = [
        # tax-exclusive (US): Total = Subtotal + Shipping + Taxes
        ("#1001", "ada@example.com", "100.00", "10.00", "22.00", "132.00", "33.00"),
        # tax-inclusive (EU): Total = Subtotal + Shipping, 22 % VAT inside the Subtotal
        ("#1002", "bo@example.com", "122.00", "0.00", "22.00", "122.00", "61.00"),
        ("#1003", "cy@example.com", "50.00", "5.00", "0.00", "55.00", "0.00"),
    ]
    rows = []
    for name, email, sub, ship, tax, total, refunded in orders:
        rows += shopify_order(
            name, email, "2024-03-05 10:00:00 +0100", sub, ship, tax, total,
            status="partially_refunded" if refunded != "0.00" else "paid", refunded=refunded,
        )  # fmt: skip
    path = _shopify(tmp_path / "orders_export_1.csv", rows)
    result = run_cli("kpis", "--orders", str(path), "--json")
    assert result.returncode == 0, result.stderr
    payload = _strict_json(result.stdout)
    kpis = {k["kpi"]: k["value"] for k in payload["kpis"]}  # type: ignore[index]
    # independent: net amount (tax off where it is inside) less the refund's net share
    expected = 0.0
    for _, _, sub, ship, tax, total, refunded in orders:
        s, t, tot, r = float(sub), float(tax), float(total), float(refunded)
        inclusive = abs(s + float(ship) - tot) < 0.01 and t > 0
        net = s - t if inclusive else s
        expected += net - r * net / tot
    assert kpis["revenue"] == pytest.approx(expected)  # 75 + 50 + 50
    notes = payload["imports"]["orders"]["notes"]  # type: ignore[index]
    assert any("share of the order's net amount, the basis of revenue" in n for n in notes)


def test_a_header_naming_a_column_twice_is_refused(tmp_path: Path, run_cli) -> None:
    """A damaged header row (a name repeated) would shift every column: refused."""
    headers = [*SHOPIFY_HEADERS[:9], "Subtotal", *SHOPIFY_HEADERS[9:]]
    rows = shopify_order("#1001", "ada@example.com", "2024-01-05 10:00:00 +0100", "47.00",
                         "0", "0", "47.00")  # fmt: skip
    path = tmp_path / "orders_export_1.csv"
    path.write_bytes(to_csv(headers, rows))
    result = run_cli("kpis", "--orders", str(path))
    assert result.returncode == 2
    assert "orders_export_1.csv" in result.stderr
    assert "the header names 'Subtotal' twice (columns 9 and 10)" in result.stderr


def _orders_csv(path: Path, lines: list[tuple[str, str, str, float]]) -> Path:
    body = "".join(f"{o},{c},{d},{a:.2f}\n" for o, c, d, a in lines)
    path.write_text("order_id,customer_id,order_date,amount\n" + body, encoding="utf-8")
    return path


def test_the_append_summary_spells_out_its_arithmetic(tmp_path: Path, run_cli) -> None:
    from retention_xl.workbook.build import plan_template, write_workbook

    book = write_workbook(plan_template(lang="en"), tmp_path / "T.xlsx")
    january = [(f"o{i}", f"c{i % 3}", f"2024-01-{1 + i:02d}", 10.0 + i) for i in range(6)]
    first = _orders_csv(tmp_path / "first.csv", january)
    # a February export that repeats o4 as it was and o5 with a refund-lowered amount
    february = [january[4], ("o5", "c2", "2024-01-06", 7.5)] + [
        (f"o{i}", f"c{i % 3}", f"2024-02-{i:02d}", 10.0 + i) for i in range(6, 9)
    ]
    second = _orders_csv(tmp_path / "second.csv", february)
    assert run_cli("refresh", str(book), "--orders", str(first)).returncode == 0
    result = run_cli("refresh", str(book), "--orders", str(second), "--append")
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if x.strip().startswith("orders:"))
    in_both = {o for o, *_ in january} & {o for o, *_ in february}
    changed = {o for o in in_both if dict((r[0], r) for r in january)[o] not in february}
    total = len(january) + len(february) - len(in_both)
    assert line.strip() == (
        f"orders: {len(january)} rows in the workbook + {len(february)} in the export - "
        f"{len(in_both)} in both = {total} rows (of the {len(in_both)} in both: "
        f"{len(in_both) - len(changed)} unchanged, {len(changed)} updated to the export's "
        "version)"
    )
    assert (total, len(changed)) == (9, 1)


def test_appending_an_older_export_that_disagrees_is_refused(tmp_path: Path, run_cli) -> None:
    """The workbook holds orders to February; an export ending in January that shows one
    of its orders differently may be the stale one: refused, naming both places."""
    from retention_xl.workbook.build import plan_template, write_workbook

    book = write_workbook(plan_template(lang="en"), tmp_path / "T.xlsx")
    rows = [(f"o{i}", f"c{i % 3}", f"2024-0{1 + i // 4}-{1 + i:02d}", 10.0 + i) for i in range(8)]
    full = _orders_csv(tmp_path / "a.csv", rows)
    assert run_cli("refresh", str(book), "--orders", str(full)).returncode == 0
    before = book.read_bytes()
    old = [rows[0], (rows[1][0], rows[1][1], rows[1][2], 99.0), rows[2]]
    stale = _orders_csv(tmp_path / "old_export.csv", old)
    result = run_cli("refresh", str(book), "--orders", str(stale), "--append")
    assert result.returncode == 2, result.stdout
    assert "Traceback" not in result.stderr
    err = result.stderr
    # the book's Orders tab has its header on row 1: o1 is on row 3; in the export, row 3
    assert "order 'o1' is in T.xlsx (sheet Orders) row 3 and in old_export.csv row 3" in err
    assert "different amount (11.0 / 99.0)" in err
    assert f"old_export.csv ends on {old[-1][2]}, before the workbook's orders (to " in err
    assert book.read_bytes() == before  # untouched


def test_as_of_chooses_the_month_of_the_subscription_kpis(tmp_path: Path, run_cli) -> None:
    path = _stripe_export(tmp_path / "subscriptions.csv")
    result = run_cli("kpis", "--subscriptions", str(path), "--as-of", "2025-03-31", "--json")
    assert result.returncode == 0, result.stderr
    payload = _strict_json(result.stdout)
    assert payload["subscription_month"] == "2025-03"  # March is complete on the 31st
    kpis = {k["kpi"]: k["value"] for k in payload["kpis"]}  # type: ignore[index]
    assert kpis["mrr"] == pytest.approx(1200 / 12 + 30 + 50)  # C pays from March


def test_a_bad_as_of_with_subscriptions_only_is_refused(tmp_path: Path, run_cli) -> None:
    path = _stripe_export(tmp_path / "subscriptions.csv")
    result = run_cli("kpis", "--subscriptions", str(path), "--as-of", "garbage")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "as_of must be a date" in result.stderr


def test_a_conflict_with_blanks_in_other_columns_names_the_column_that_differs() -> None:
    """Found by the refresh hypothesis test: versions of an order that share a blank
    cell (status, currency) and differ elsewhere crashed the message (IndexError), and
    pandas' NA in a cell made the comparison raise."""
    from retention_xl.errors import ExportError
    from retention_xl.io.formats.base import resolve_duplicate_orders

    frame = pd.DataFrame(
        {
            "order_id": ["A1", "A1"],
            "amount": [40.0, 44.0],
            "status": pd.array([pd.NA, pd.NA], dtype="string"),
            "currency": [None, None],
            "_row": [2, 3],
        }
    )
    with pytest.raises(ExportError, match=r"rows 2 and 3 with different amount \(40.0 / 44.0\)"):
        resolve_duplicate_orders(frame, file="orders.csv")
    frame["status"] = pd.array(["paid", pd.NA], dtype="string")
    frame["amount"] = [40.0, 40.0]
    with pytest.raises(ExportError, match=r"with different status \(paid / <NA>\)"):
        resolve_duplicate_orders(frame, file="orders.csv")
