"""Exports for the refresh tests, with the headers the platforms really export.

* :func:`shopify_export`: a Shopify orders export (one row per line item, order fields
  on the first row only), with formula-injection payloads in text fields;
* :func:`italian_export`: a generic orders file as an Italian shop's tool writes it:
  ``;`` separator, decimal comma, dd/mm/yyyy dates, cp1252 with accents.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path

from shopify_headers import SHOPIFY_HEADERS

INJECTIONS = ("=1+1", "+39 333", "-2+3", "@SUM(A1)", "\t=cmd", "\r=cmd")


def _csv(headers: list[str], rows: Iterable[dict[str, str]], *, delimiter: str = ",") -> str:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    w.writerow(headers)
    for r in rows:
        w.writerow([r.get(h, "") for h in headers])
    return buf.getvalue()


def shopify_export(
    path: Path, orders: Iterable[tuple[str, str, str, float]], *, currency: str = "EUR"
) -> Path:
    """``orders``: (name like "#1001", email, "YYYY-MM-DD", subtotal); two lines each."""
    rows: list[dict[str, str]] = []
    for i, (name, email, day, subtotal) in enumerate(orders):
        created = f"{day} 10:00:00 +0100"
        rows.append(
            {
                "Name": name,
                "Email": email,
                "Financial Status": "paid",
                "Paid at": created,
                "Fulfillment Status": "fulfilled",
                "Accepts Marketing": "no",
                "Currency": currency,
                "Subtotal": f"{subtotal:.2f}",
                "Shipping": "5.00",
                "Taxes": "0.00",
                "Total": f"{subtotal + 5:.2f}",
                "Created at": created,
                "Lineitem quantity": "1",
                "Lineitem name": INJECTIONS[i % len(INJECTIONS)],
                "Lineitem price": f"{subtotal:.2f}",
                "Refunded Amount": "0.00",
                "Id": str(5_000_000 + i),
                "Billing Name": '=HYPERLINK("http://evil.example","x")',
            }
        )
        rows.append(
            {
                "Name": name,
                "Email": email,
                "Created at": created,
                "Lineitem quantity": "1",
                "Lineitem name": "Second item",
                "Lineitem price": "1.00",
            }
        )
    path.write_text(_csv(SHOPIFY_HEADERS, rows), encoding="utf-8")
    return path


ITALIAN_HEADERS = ["Cliente", "Numero ordine", "Data ordine", "Importo", "Stato", "Valuta"]


def italian_export(path: Path, orders: Iterable[tuple[str, str, str, float]]) -> Path:
    """``orders``: (cliente, numero, "dd/mm/yyyy", importo) -> a ``;`` cp1252 CSV."""
    rows = [
        {
            "Cliente": customer,
            "Numero ordine": number,
            "Data ordine": day,
            "Importo": f"{amount:,.2f}".replace(",", "X").replace(".", ",").replace("X", "."),
            "Stato": "pagato",
            "Valuta": "EUR",
        }
        for customer, number, day, amount in orders
    ]
    path.write_bytes(_csv(ITALIAN_HEADERS, rows, delimiter=";").encode("cp1252"))
    return path
