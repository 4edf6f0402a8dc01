"""Platform exports written with the headers the platforms really export: Shopify,
WooCommerce, Stripe (subscriptions, payments, invoices), Typeform, SurveyMonkey."""

import csv
import io

import pandas as pd
import pytest
from shopify_headers import SHOPIFY_HEADERS

from retention_xl.errors import ExportError
from retention_xl.io import detect_format, read_orders, read_subscriptions, read_survey


def to_csv(headers, rows, *, delimiter=",", encoding="utf-8"):
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    w.writerow(headers)
    for r in rows:
        w.writerow([r.get(h, "") for h in headers])
    return buf.getvalue().encode(encoding)


def shopify_order(
    name,
    email,
    created,
    subtotal,
    shipping,
    taxes,
    total,
    *,
    status="paid",
    refunded="0.00",
    cancelled="",
    currency="EUR",
    items=2,
    oid=None,
):
    first = {
        "Name": name,
        "Email": email,
        "Financial Status": status,
        "Paid at": created,
        "Fulfillment Status": "fulfilled",
        "Accepts Marketing": "no",
        "Currency": currency,
        "Subtotal": subtotal,
        "Shipping": shipping,
        "Taxes": taxes,
        "Total": total,
        "Discount Amount": "0.00",
        "Created at": created,
        "Lineitem quantity": "1",
        "Lineitem name": "Tazza =SUM(A1)",
        "Lineitem price": subtotal,
        "Cancelled at": cancelled,
        "Refunded Amount": refunded,
        "Id": oid or name.strip("#") + "000",
        "Billing Name": '=HYPERLINK("http://evil")',
    }
    # later line items: Name, Email, Created at and the line fields only, as Shopify does
    more = [
        {
            "Name": name,
            "Email": email,
            "Created at": created,
            "Lineitem quantity": "1",
            "Lineitem name": f"Item {i}",
            "Lineitem price": "1.00",
        }
        for i in range(items - 1)
    ]
    return [first, *more]


def shopify_rows():
    return [
        # tax-exclusive (US style): Total = Subtotal + Shipping + Taxes
        *shopify_order(
            "#1001",
            "Ada@Example.com",
            "2024-01-05 10:14:00 -0500",
            "47.00",
            "6.00",
            "3.29",
            "56.29",
        ),
        # tax-inclusive (EU style): Total = Subtotal + Shipping, Taxes inside
        *shopify_order(
            "#1002",
            "bo@example.com",
            "2024-01-31 23:30:00 +0100",
            "122.00",
            "0.00",
            "22.00",
            "122.00",
            items=3,
        ),
        # partially refunded
        *shopify_order(
            "#1003",
            "ada@example.com",
            "2024-02-10 09:00:00 +0100",
            "80.00",
            "5.00",
            "0.00",
            "85.00",
            status="partially_refunded",
            refunded="30.00",
        ),
        # fully refunded; refund includes shipping, capped at the merchandise
        *shopify_order(
            "#1004",
            "cy@example.com",
            "2024-02-11 09:00:00 +0100",
            "20.00",
            "5.00",
            "0.00",
            "25.00",
            status="refunded",
            refunded="25.00",
            items=1,
        ),
        # cancelled order
        *shopify_order(
            "#1005",
            "dee@example.com",
            "2024-02-12 09:00:00 +0100",
            "15.00",
            "0.00",
            "0.00",
            "15.00",
            status="voided",
            cancelled="2024-02-12 10:00:00 +0100",
            items=1,
        ),
        # POS guest sale without e-mail
        *shopify_order(
            "#1006", "", "2024-02-13 09:00:00 +0100", "9.00", "0.00", "0.00", "9.00", items=1
        ),
        # the overlapping second export repeats #1003
        *shopify_order(
            "#1003",
            "ada@example.com",
            "2024-02-10 09:00:00 +0100",
            "80.00",
            "5.00",
            "0.00",
            "85.00",
            status="partially_refunded",
            refunded="30.00",
        ),
    ]


def test_shopify_orders_export(tmp_path):
    path = tmp_path / "orders_export_1.csv"
    path.write_bytes(to_csv(SHOPIFY_HEADERS, shopify_rows()))
    imp = read_orders(path)
    rep, f = imp.report, imp.frame.set_index("order_id")
    assert rep.format == "shopify"
    assert rep.rows_read == 2 + 3 + 2 + 1 + 1 + 1 + 2
    assert list(f.index) == ["#1001", "#1002", "#1003", "#1004", "#1005"]
    assert f.loc["#1001", "customer_id"] == "ada@example.com"  # e-mail, lower-case
    assert f.loc["#1001", "amount"] == pytest.approx(47.00)  # no shipping, no tax
    assert f.loc["#1002", "amount"] == pytest.approx(122.00 - 22.00)  # tax-inclusive
    # 30 given back of an 85 order (80 merchandise, 5 shipping): 30 x 80 / 85 of revenue
    assert f.loc["#1003", "refunded"] == pytest.approx(30.0 * 80.0 / 85.0)
    assert f.loc["#1003", "status"] == "paid"
    assert f.loc["#1004", "status"] == "refunded"
    assert f.loc["#1004", "refunded"] == pytest.approx(20.0)
    assert f.loc["#1005", "status"] == "cancelled"
    # local calendar day of Created at, not the UTC day
    assert f.loc["#1002", "order_date"] == pd.Timestamp(2024, 1, 31)
    assert rep.duplicates_removed == 1
    assert (rep.cancelled, rep.refunds) == (1, 2)
    assert rep.customers == 2  # ada (2 purchases) and bo; cy refunded, dee cancelled
    assert rep.currencies == ("EUR",)
    assert any("without a customer" in n for n in rep.notes)
    assert any("tax-inclusive" in n for n in rep.notes)
    assert rep.rows_skipped == 0


def test_shopify_bad_subtotal_is_located_on_the_orders_first_row(tmp_path):
    rows = shopify_rows()
    rows[2]["Subtotal"] = "12,00 EUR?"  # first row of #1002 is spreadsheet row 4
    path = tmp_path / "orders_export.csv"
    path.write_bytes(to_csv(SHOPIFY_HEADERS, rows))
    with pytest.raises(ExportError) as err:
        read_orders(path)
    assert (err.value.row, err.value.column) == (4, "Subtotal")


def test_shopify_mixed_currencies_are_refused(tmp_path):
    rows = shopify_rows()
    rows[0]["Currency"] = "USD"
    path = tmp_path / "orders_export.csv"
    path.write_bytes(to_csv(SHOPIFY_HEADERS, rows))
    with pytest.raises(ExportError, match="currencies") as err:
        read_orders(path)
    assert err.value.column == "Currency"


WOO_HEADERS = [
    "order_id",
    "order_number",
    "order_number_formatted",
    "order_date",
    "status",
    "shipping_total",
    "shipping_tax_total",
    "fee_total",
    "fee_tax_total",
    "tax_total",
    "cart_discount",
    "order_discount",
    "discount_total",
    "order_total",
    "refunded_total",
    "order_currency",
    "payment_method",
    "shipping_method",
    "customer_id",
    "billing_first_name",
    "billing_last_name",
    "billing_company",
    "billing_email",
    "billing_phone",
    "billing_address_1",
    "billing_address_2",
    "billing_postcode",
    "billing_city",
    "billing_state",
    "billing_country",
    "shipping_first_name",
    "shipping_last_name",
    "shipping_address_1",
    "shipping_address_2",
    "shipping_postcode",
    "shipping_city",
    "shipping_state",
    "shipping_country",
    "shipping_company",
    "customer_note",
    "line_items",
    "shipping_items",
    "fee_items",
    "tax_items",
    "coupon_items",
    "order_notes",
    "download_permissions_granted",
]


def test_woocommerce_orders_export_italian_shop(tmp_path):
    def order(oid, date, status, total, ship, tax, refunded="0", email="", user="0"):
        return {
            "order_id": oid,
            "order_number": oid,
            "order_date": date,
            "status": status,
            "order_total": total,
            "shipping_total": ship,
            "tax_total": tax,
            "refunded_total": refunded,
            "order_currency": "EUR",
            "billing_email": email,
            "customer_id": user,
            "line_items": "id:1|name:Caffè|quantity:1",
        }

    rows = [
        order(
            "101",
            "2024-03-01 10:00:00",
            "wc-completed",
            "134,20",
            "10,00",
            "22,40",
            email="lucia@esempio.it",
            user="7",
        ),
        order(
            "102",
            "2024-03-02 11:00:00",
            "processing",
            "61,00",
            "0,00",
            "11,00",
            refunded="61,00",
            email="marco@esempio.it",
        ),
        order(
            "103",
            "2024-03-03 11:00:00",
            "refunded",
            "30,50",
            "0,00",
            "5,50",
            refunded="30,50",
            email="lucia@esempio.it",
        ),
        order(
            "104",
            "2024-03-04 11:00:00",
            "pending",
            "12,20",
            "0,00",
            "2,20",
            email="anna@esempio.it",
        ),
        order("105", "2024-03-05 11:00:00", "on-hold", "12,20", "0,00", "2,20", user="42"),
    ]
    path = tmp_path / "wc-orders.csv"
    path.write_bytes(to_csv(WOO_HEADERS, rows, delimiter=";", encoding="cp1252"))
    imp = read_orders(path)
    rep, f = imp.report, imp.frame.set_index("order_id")
    assert rep.format == "woocommerce" and rep.locale == "it" and rep.encoding == "cp1252"
    assert f.loc["101", "amount"] == pytest.approx(134.20 - 10.00 - 22.40)
    assert f.loc["101", "customer_id"] == "lucia@esempio.it"
    assert f.loc["102", "refunded"] == pytest.approx(50.0)  # capped at the net amount
    assert f.loc["103", "status"] == "refunded"
    assert f.loc["104", "status"] == "cancelled"
    assert f.loc["105", "customer_id"] == "42"  # no e-mail: the WordPress user id
    assert rep.customers == 1  # lucia; marco's order fully refunded


def test_woocommerce_advanced_order_export_labels(tmp_path):
    headers = [
        "Order Number",
        "Order Status",
        "Order Date",
        "Customer Note",
        "First Name (Billing)",
        "Last Name (Billing)",
        "Email (Billing)",
        "Order Subtotal Amount",
        "Order Shipping Amount",
        "Order Total Tax Amount",
        "Order Refund Amount",
        "Order Total Amount",
        "Product Name",
        "Quantity",
    ]
    rows = [
        {
            "Order Number": "9",
            "Order Status": "Completed",
            "Order Date": "2024-05-01",
            "Email (Billing)": "x@y.z",
            "Order Shipping Amount": "5",
            "Order Total Tax Amount": "2",
            "Order Total Amount": "27",
            "Product Name": "A",
            "Quantity": "1",
        },
        # one row per item: the order's second line repeats the order fields
        {
            "Order Number": "9",
            "Order Status": "Completed",
            "Order Date": "2024-05-01",
            "Email (Billing)": "x@y.z",
            "Order Shipping Amount": "5",
            "Order Total Tax Amount": "2",
            "Order Total Amount": "27",
            "Product Name": "B",
            "Quantity": "2",
        },
    ]
    path = tmp_path / "orders.csv"
    path.write_bytes(to_csv(headers, rows))
    imp = read_orders(path)
    assert imp.report.format == "woocommerce"
    assert imp.frame["amount"].tolist() == [20.0]
    assert imp.report.duplicates_removed == 0


STRIPE_SUB_HEADERS = [
    "id",
    "Customer ID",
    "Customer Name",
    "Customer Email",
    "Plan",
    "Product",
    "Quantity",
    "Currency",
    "Interval",
    "Amount",
    "Status",
    "Created (UTC)",
    "Start (UTC)",
    "Current Period Start (UTC)",
    "Current Period End (UTC)",
    "Trial Start (UTC)",
    "Trial End (UTC)",
    "Application Fee Percent",
    "Coupon",
    "Tax Percent",
    "Canceled At (UTC)",
    "Ended At (UTC)",
    "Cancel At Period End",
    "Cancellation Reason",
]


def test_stripe_subscriptions_export(tmp_path):
    def sub(
        sid,
        cus,
        amount,
        interval,
        status,
        start,
        *,
        qty="1",
        trial_end="",
        canceled="",
        ended="",
        at_end="false",
        period_end="2024-07-01 00:00",
    ):
        return {
            "id": sid,
            "Customer ID": cus,
            "Customer Email": f"{cus}@x.io",
            "Plan": "price_1",
            "Quantity": qty,
            "Currency": "eur",
            "Interval": interval,
            "Amount": amount,
            "Status": status,
            "Created (UTC)": start,
            "Start (UTC)": start,
            "Current Period Start (UTC)": "2024-06-01 00:00",
            "Current Period End (UTC)": period_end,
            "Trial End (UTC)": trial_end,
            "Canceled At (UTC)": canceled,
            "Ended At (UTC)": ended,
            "Cancel At Period End": at_end,
        }

    rows = [
        sub("sub_1", "cus_A", "29.00", "month", "active", "2024-01-15 09:30"),
        sub(
            "sub_2",
            "cus_B",
            "290.00",
            "year",
            "canceled",
            "2024-02-01 00:00",
            canceled="2024-04-03 12:00",
            ended="2024-04-03 12:00",
        ),
        sub(
            "sub_3",
            "cus_C",
            "10.00",
            "month",
            "active",
            "2024-03-01 00:00",
            qty="3",
            trial_end="2024-03-15 00:00",
            at_end="true",
        ),
        sub(
            "sub_4",
            "cus_D",
            "10.00",
            "month",
            "canceled",
            "2024-03-01 00:00",
            trial_end="2024-03-15 00:00",
            canceled="2024-03-10 00:00",
            ended="2024-03-10 00:00",
        ),
        sub("sub_5", "cus_E", "10.00", "month", "incomplete_expired", "2024-03-01 00:00"),
    ]
    path = tmp_path / "subscriptions.csv"
    path.write_bytes(to_csv(STRIPE_SUB_HEADERS, rows))
    imp = read_subscriptions(path)
    rep, f = imp.report, imp.frame.set_index("subscription_id")
    assert rep.format == "stripe"
    assert list(f.index) == ["sub_1", "sub_2", "sub_3"]
    assert f.loc["sub_1", "amount"] == 29.0 and f.loc["sub_1", "interval"] == "month"
    assert pd.isna(f.loc["sub_1", "end_date"])
    assert f.loc["sub_2", "end_date"] == pd.Timestamp(2024, 4, 3)
    assert f.loc["sub_3", "amount"] == 30.0  # 3 seats x 10
    assert f.loc["sub_3", "start_date"] == pd.Timestamp(2024, 3, 15)  # after the trial
    assert f.loc["sub_3", "end_date"] == pd.Timestamp(2024, 7, 1)  # cancel at period end
    assert rep.currencies == ("EUR",)
    assert any("never billed" in n for n in rep.notes)
    assert rep.rows_skipped == 0


def test_stripe_payments_use_converted_amounts(tmp_path):
    headers = [
        "id",
        "Description",
        "Seller Message",
        "Created (UTC)",
        "Amount",
        "Amount Refunded",
        "Currency",
        "Converted Amount",
        "Converted Amount Refunded",
        "Fee",
        "Tax",
        "Converted Currency",
        "Mode",
        "Status",
        "Statement Descriptor",
        "Customer ID",
        "Customer Description",
        "Customer Email",
        "Captured",
        "Card ID",
        "Invoice ID",
        "Transfer",
    ]
    rows = [
        {
            "id": "ch_1",
            "Created (UTC)": "2024-01-02 10:00",
            "Amount": "100.00",
            "Amount Refunded": "0.00",
            "Currency": "usd",
            "Converted Amount": "92.00",
            "Converted Amount Refunded": "0.00",
            "Converted Currency": "eur",
            "Status": "Paid",
            "Customer ID": "cus_1",
            "Captured": "true",
        },
        {
            "id": "ch_2",
            "Created (UTC)": "2024-01-03 10:00",
            "Amount": "50.00",
            "Amount Refunded": "50.00",
            "Currency": "eur",
            "Converted Amount": "50.00",
            "Converted Amount Refunded": "50.00",
            "Converted Currency": "eur",
            "Status": "Refunded",
            "Customer ID": "cus_2",
            "Captured": "true",
        },
        {
            "id": "ch_3",
            "Created (UTC)": "2024-01-04 10:00",
            "Amount": "20.00",
            "Currency": "eur",
            "Converted Amount": "20.00",
            "Converted Currency": "eur",
            "Status": "Failed",
            "Customer ID": "cus_1",
            "Captured": "false",
        },
    ]
    path = tmp_path / "unified_payments.csv"
    path.write_bytes(to_csv(headers, rows))
    imp = read_orders(path)
    f = imp.frame.set_index("order_id")
    assert imp.report.format == "stripe-payments"
    assert f.loc["ch_1", "amount"] == 92.0
    assert f["status"].tolist() == ["paid", "refunded", "cancelled"]
    assert imp.report.currencies == ("EUR",)


def test_stripe_invoices_as_orders(tmp_path):
    headers = [
        "id",
        "Amount Due",
        "Amount Paid",
        "Amount Remaining",
        "Attempt Count",
        "Attempted",
        "Currency",
        "Customer",
        "Customer Email",
        "Date (UTC)",
        "Description",
        "Number",
        "Paid",
        "Status",
        "Subscription",
        "Subtotal",
        "Tax",
        "Total",
    ]
    rows = [
        {
            "id": "in_1",
            "Amount Paid": "12.20",
            "Currency": "eur",
            "Customer": "cus_1",
            "Date (UTC)": "2024-02-01 00:00",
            "Number": "A-1",
            "Paid": "true",
            "Status": "paid",
            "Subtotal": "10.00",
            "Tax": "2.20",
            "Total": "12.20",
        },
        {
            "id": "in_2",
            "Amount Paid": "0.00",
            "Currency": "eur",
            "Customer": "cus_1",
            "Date (UTC)": "2024-03-01 00:00",
            "Number": "A-2",
            "Paid": "false",
            "Status": "void",
            "Subtotal": "10.00",
            "Tax": "2.20",
            "Total": "12.20",
        },
    ]
    path = tmp_path / "invoices.csv"
    path.write_bytes(to_csv(headers, rows))
    imp = read_orders(path)
    assert imp.report.format == "stripe-invoices"
    assert imp.frame["amount"].tolist() == pytest.approx([10.0, 10.0])
    assert imp.frame["status"].tolist() == ["paid", "cancelled"]


def test_a_subscriptions_export_given_as_orders_is_named(tmp_path):
    path = tmp_path / "subscriptions.csv"
    path.write_bytes(to_csv(STRIPE_SUB_HEADERS, [{"id": "sub_1"}]))
    with pytest.raises(ExportError, match="looks like a stripe subscriptions export"):
        read_orders(path)
    assert detect_format(path) == ("stripe", "subscriptions", 1.0)


def test_typeform_export(tmp_path):
    headers = [
        "#",
        "Quanto è probabile che consiglieresti il nostro negozio a un amico?",
        "Cosa possiamo migliorare?",
        "email",
        "Start Date (UTC)",
        "Submit Date (UTC)",
        "Network ID",
    ]
    rows = [
        {
            "#": "r1",
            headers[1]: "10",
            headers[2]: "=1+1",
            "email": "a@x.it",
            "Start Date (UTC)": "2024-04-01 10:00:00",
            "Submit Date (UTC)": "2024-04-01 10:02:00",
        },
        {
            "#": "r2",
            headers[1]: "6",
            headers[2]: "",
            "email": "b@x.it",
            "Start Date (UTC)": "2024-04-02 10:00:00",
            "Submit Date (UTC)": "2024-04-02 10:02:00",
        },
        {
            "#": "r3",
            headers[1]: "",
            "Start Date (UTC)": "2024-04-03 10:00:00",
            "Submit Date (UTC)": "2024-04-03 10:02:00",
        },
    ]
    path = tmp_path / "responses.csv"
    path.write_bytes(to_csv(headers, rows))
    imp = read_survey(path)
    assert imp.report.format == "typeform"
    assert imp.frame["score"].tolist() == [10.0, 6.0]  # unanswered dropped
    assert imp.frame["kind"].tolist() == ["nps", "nps"]
    assert imp.frame["customer_id"].tolist() == ["a@x.it", "b@x.it"]
    assert imp.frame["answered_at"].tolist()[0] == pd.Timestamp(2024, 4, 1)


def test_surveymonkey_two_row_header(tmp_path):
    q = "How likely is it that you would recommend this company to a friend or colleague?"
    text = (
        "Respondent ID,Collector ID,Start Date,End Date,IP Address,Email Address,First Name,"
        f'Last Name,Custom Data 1,"{q}",Which features do you use?,,\r\n'
        ",,,,,,,,,Response,Reports,Exports,Other (please specify)\r\n"
        "114,431,03/13/2024 10:00:00 AM,03/13/2024 10:05:00 AM,1.2.3.4,a@x.com,,,,9,Reports,,\r\n"
        "115,431,03/14/2024 10:00:00 AM,03/14/2024 10:05:00 AM,1.2.3.4,b@x.com,,,,"
        "2 - Unlikely,,Exports,\r\n"
    )
    path = tmp_path / "sm.csv"
    path.write_text(text, encoding="utf-8")
    imp = read_survey(path)
    assert imp.report.format == "surveymonkey"
    assert imp.frame["score"].tolist() == [9.0, 2.0]
    assert imp.frame["answered_at"].tolist() == [
        pd.Timestamp(2024, 3, 13),
        pd.Timestamp(2024, 3, 14),
    ]
    # a bad score is located on the spreadsheet row (two header rows: data start at row 3)
    path.write_text(text.replace(",9,Reports", ",11,Reports"), encoding="utf-8")
    with pytest.raises(ExportError) as err:
        read_survey(path)
    assert err.value.row == 3 and err.value.column == q and err.value.value == "11"


def test_survey_score_by_map_and_csat_kind(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("Data;Q3;Cliente\n01/02/2024;4;x\n02/02/2024;5;y\n", encoding="utf-8")
    with pytest.raises(ExportError, match="--map score=COLUMN"):
        read_survey(path)
    imp = read_survey(path, mapping={"score": "Q3", "kind": "csat"})
    assert imp.frame["kind"].tolist() == ["csat", "csat"]
    assert imp.frame["answered_at"].tolist()[1] == pd.Timestamp(2024, 2, 2)
