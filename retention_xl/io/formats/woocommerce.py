"""WooCommerce orders exports, as the common export plugins write them.

Two header styles are recognised:

* column keys, as written by "Customer / Order / Coupon Export" and the WebToffee
  "Order Export & Import" plugin: ``order_id, order_number, order_date, status,
  shipping_total, shipping_tax_total, fee_total, tax_total, discount_total,
  order_total, refunded_total, order_currency, customer_id, billing_email, ...``;
* labels, as written by "Advanced Order Export For WooCommerce": ``Order Number,
  Order Status, Order Date, ..., Email (Billing), Order Shipping Amount,
  Order Total Tax Amount, Order Refund Amount, Order Total Amount, Currency``.

Both the one-row-per-order and the one-row-per-item layouts work (the lines of an
order are folded into one order). Mapping:

* ``amount = order_total - shipping_total - tax_total`` (WooCommerce's order total
  includes shipping and every tax; fees stay in revenue);
* ``refunded``: ``refunded_total`` / ``Order Refund Amount`` (money given back, tax and
  shipping included), counted on revenue's basis: ``refunded * amount / order_total``;
* ``status``: ``completed``, ``processing`` -> paid; ``refunded`` -> refunded;
  ``cancelled``, ``failed``, ``pending`` (awaiting payment), ``on-hold``,
  ``checkout-draft``, ``trash`` -> cancelled (not paid). ``wc-`` prefixes and the
  Italian labels (Completato, In lavorazione, Rimborsato, ...) are understood;
* ``customer_id``: the billing e-mail (lower-case); else the WordPress user id (0 for
  guests is treated as missing).

The same order twice with different content (an export taken after a refund pasted
under an older one): with a modification date column (``date_modified``, *Order
Modification Date*) the latest version wins; without one the file is refused, naming
both rows. Identical copies count once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
import pandas as pd

from retention_xl.io.convert import Converter
from retention_xl.io.formats.base import (
    ORDER_ROLES,
    Format,
    Options,
    check_mapping,
    collapse_blocks,
    finish_orders,
    require_roles,
)

__all__ = ["WOOCOMMERCE_ANALYTICS", "WOOCOMMERCE_ORDERS", "WOO_STATUSES"]

WOO_ROLES = {
    "order_id": ("order_id", "Order ID", "order_number", "Order Number", "Numero ordine"),
    "order_date": ("order_date", "Order Date", "date_created", "Data ordine"),
    "status": ("status", "order_status", "Order Status", "Stato ordine"),
    "email": (
        "billing_email",
        "customer_email",
        "Email (Billing)",
        "Billing Email",
        "Billing Email Address",
        "Customer Email",
        "Email (fatturazione)",
    ),
    "user_id": ("customer_id", "customer_user", "Customer User ID", "Customer ID", "user_id"),
    "total": ("order_total", "Order Total Amount", "Order Total", "Totale ordine"),
    "shipping": (
        "shipping_total",
        "order_shipping",
        "Order Shipping Amount",
        "Shipping Total",
    ),
    "tax": ("tax_total", "order_tax", "Order Total Tax Amount", "Tax Total", "total_tax"),
    "shipping_tax": ("shipping_tax_total", "order_shipping_tax"),
    "refunded": ("refunded_total", "Order Refund Amount", "order_refund", "Refunded Total"),
    "currency": ("order_currency", "currency", "Currency", "Order Currency"),
    # when the order last changed: tells which of two versions of an order is current
    "updated": (
        "date_modified",
        "order_modified",
        "post_modified",
        "Order Modification Date",
        "Modification Date",
        "Date Modified",
        "Data modifica",
        "Data ultima modifica",
    ),
}

WOO_STATUSES: Mapping[str, str] = {
    **dict.fromkeys(
        ("completed", "processing", "completato", "in lavorazione", "complete"), "paid"
    ),
    **dict.fromkeys(("refunded", "rimborsato"), "refunded"),
    **dict.fromkeys(
        (
            "cancelled",
            "failed",
            "pending",
            "pending payment",
            "on hold",
            "checkout draft",
            "draft",
            "trash",
            "annullato",
            "fallito",
            "in attesa di pagamento",
            "in sospeso",
            "in attesa",
        ),
        "cancelled",
    ),
}


def unescape_cells(conv: Converter) -> Converter:
    """The converter over cells without the ``'`` WooCommerce puts before formula starts.

    WooCommerce's CSV exporter (and the export plugins that copy it) writes a cell that
    starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return with a leading
    ``'`` (OWASP's CSV-injection rule); versions before 9 did that to negative
    numbers too (``'-35``). Its own importer takes the quote off again: so do we, so
    ``'-35`` is the number -35 and a customer named ``'=1+1`` is ``=1+1`` (written
    to the workbook as text, never as a formula).

    >>> from retention_xl.io.report import ImportReport
    >>> from retention_xl.io.tables import table_from_cells
    >>> cells = np.array([["Net Sales", "Customer"], ["'-35", "'=1+1"], ["'x", "-"]])
    >>> table = table_from_cells("wc.csv", cells.astype(object))
    >>> report = ImportReport(file="wc.csv", kind="orders", format="woocommerce")
    >>> conv = Converter(table, report, locale=None, date_format=None, skip_bad_rows=False)
    >>> unescape_cells(conv).table.data.values.tolist()
    [['-35', '=1+1'], ["'x", '-']]
    """
    data = conv.table.data
    fixed: dict[str, pd.Series] = {}
    for name in data.columns:
        col = data[name]
        if col.dtype != object:
            continue
        hit = col.str.match(r"'[=+\-@\t\r]", na=False).to_numpy(dtype=bool)
        if hit.any():
            fixed[name] = col.where(~hit, col.str[1:])
    if not fixed:
        return conv
    out = conv.with_table(dataclasses.replace(conv.table, data=data.assign(**fixed)))
    out.bad, out.drop = conv.bad, conv.drop
    return out


def _woo_status_words() -> dict[str, str]:
    out = dict(WOO_STATUSES)
    out.update({f"wc {k}": v for k, v in WOO_STATUSES.items()})
    return out


def read_woocommerce_orders(
    conv: Converter, mapping: Mapping[str, str], options: Options
) -> pd.DataFrame:
    """Read a WooCommerce orders export (see module docstring for the rules)."""
    conv = unescape_cells(conv)
    cols = _woo_order_columns(conv, mapping)
    table, duplicates = collapse_blocks(conv.table, cols["order_id"], list(cols.values()))
    oc = conv.with_table(table)
    oc.settle_decimal([cols.get(k) for k in ("total", "shipping", "tax", "refunded")])
    customer = _woo_customer(oc, cols)
    order_id = oc.text(cols["order_id"], required=True)
    dates = oc.dates(cols["order_date"], required=True)
    total = oc.numbers(cols["total"], required=True)
    shipping = oc.numbers(cols.get("shipping"), default=0.0)
    tax = oc.numbers(cols.get("tax"), default=0.0)
    amount = total - shipping - tax
    refunded = _net_refunds(
        conv, np.abs(oc.numbers(cols.get("refunded"), default=0.0)), amount, total
    )
    status = oc.category(cols.get("status"), _woo_status_words(), default="paid", what="status")
    frame = pd.DataFrame(
        {
            "customer_id": customer,
            "order_id": order_id,
            "order_date": dates,
            "amount": amount,
            "refunded": refunded,
            "status": status,
        }
    )
    if "currency" in cols:
        frame["currency"] = oc.text(cols["currency"])
    if "updated" in cols:  # the modification date: the latest version of an order wins
        frame["_updated"] = oc.timestamps(cols["updated"]).to_numpy()
    anonymous = frame["customer_id"].isna().to_numpy(dtype=bool) & ~oc.bad
    if anonymous.any():
        conv.report.notes.append(
            f"{int(anonymous.sum()):,} orders without a billing e-mail or customer were "
            "left out: they cannot be attributed to a customer"
        )
    oc.drop |= anonymous
    frame = finish_orders(
        oc,
        frame,
        options=options,
        currency_column=cols.get("currency"),
        duplicates_before=duplicates,
    )
    return frame


def _woo_order_columns(conv: Converter, mapping: Mapping[str, str]) -> dict[str, str]:
    """The export's column of each WooCommerce role, ``--map`` applied (``customer_id``
    maps the e-mail, ``amount`` the total); the user id stands in for a missing
    e-mail column. Refuses a missing order id, customer, date or total."""
    check_mapping(conv, mapping, list(ORDER_ROLES))
    cols = conv.index.resolve(WOO_ROLES)
    remap = {"customer_id": "email", "amount": "total"}
    for role, column in mapping.items():
        found = conv.index.get(column)
        if found is not None:
            cols[remap.get(role, role)] = found
    if "email" not in cols and "user_id" in cols:
        cols["email"] = cols.pop("user_id")
    need = {"order_id": "order_id", "customer_id": "email", "order_date": "order_date"}
    need["amount"] = "total"
    found_roles = {role: cols[key] for role, key in need.items() if key in cols}
    require_roles(conv, found_roles, list(need), kind="orders", fmt="WooCommerce")
    return cols


def _woo_customer(oc: Converter, cols: Mapping[str, str]) -> pd.Series:
    """The customer: the billing e-mail in lower case, else the user id (0 is a guest)."""
    customer = oc.text(cols["email"]).str.lower()
    if "user_id" in cols:
        user = oc.text(cols["user_id"])
        user = user.mask(user.isin(["0", "0.0"]).fillna(False))
        customer = customer.fillna(user)
    return customer


def _net_refunds(
    conv: Converter, refunded: np.ndarray, amount: np.ndarray, total: np.ndarray
) -> np.ndarray:
    """Refunds on revenue's basis. WooCommerce refunds are money given back, tax and
    shipping included: each counts for ``amount / total`` of itself (the order's net
    share), with a note; no refund exceeds the net amount.

    refunded' = min(refunded × amount / total, max(amount, 0))
    """
    share = np.divide(
        amount, total, out=np.full(len(amount), np.nan), where=np.isfinite(total) & (total > 0)
    )
    basis = (refunded > 0) & np.isfinite(share) & (share < 1.0)
    if basis.any():
        refunded = np.where(basis, refunded * np.clip(share, 0.0, 1.0), refunded)
        conv.report.notes.append(
            f"{int(basis.sum()):,} refunds include tax and shipping: each was counted for its "
            "share of the order's net amount, the basis of revenue"
        )
    return np.asarray(np.minimum(refunded, np.maximum(amount, 0.0)), dtype=np.float64)


WOOCOMMERCE_ORDERS = Format(
    name="woocommerce",
    kind="orders",
    signatures=(
        (
            "order_id",
            "order_number",
            "order_date",
            "status",
            "shipping_total",
            "tax_total",
            "order_total",
            "billing_email",
        ),
        (
            "order_id",
            "order_date",
            "status",
            "order_total",
            "order_currency",
            "customer_email",
            "order_shipping",
        ),
        (
            "Order Number",
            "Order Status",
            "Order Date",
            "Email (Billing)",
            "Order Shipping Amount",
            "Order Total Amount",
        ),
    ),
    read=read_woocommerce_orders,
    threshold=0.75,
    description="WooCommerce orders export (order export plugins' default columns)",
)


# ----------------------------------------------------------------- Analytics > Orders

ANALYTICS_ROLES = {
    "date": ("Date", "Data"),
    "order": ("Order #", "Ordine #", "Order", "N. ordine"),
    "status": ("Status", "Stato"),
    "customer": ("Customer", "Cliente"),
    "net_sales": ("Net Sales", "Vendite nette", "Net sales"),
}


def read_woocommerce_analytics(
    conv: Converter, mapping: Mapping[str, str], options: Options
) -> pd.DataFrame:
    """Read WooCommerce's own Analytics > Orders > Download CSV.

    Columns: ``Date, Order #, [N. Revenue (formatted),] Status, Customer, Customer
    type, Product(s), Items sold, Coupon(s), Net Sales[, Attribution]``; the status is
    written as its slug (``completed``) or its label (``Completed``).

    * ``amount`` is *Net Sales*: the order's merchandise after coupons, without
      shipping and taxes;
    * a **refund is a row of its own**: the refunded order's number, the refund's
      date, a negative Net Sales. Those rows are folded into their order
      (``refunded`` = the money they gave back, never more than the order's amount) and
      are not orders; a refund whose order is not in the file (placed before the
      exported date range) is left out, with a note;
    * an order whose status is *refunded* was paid back in full, whether or not its
      refund row is in the file;
    * the same order twice (overlapping downloads pasted together) is one order when
      the rows agree; rows that disagree are refused, naming both (the report has no
      modification date to tell which is current).

    This report carries no e-mail and no customer id: customers are identified by
    their **name** (blanks collapsed, case ignored), so two customers with the same
    name count as one; the import report says so. An order export plugin gives
    e-mails.

    >>> from retention_xl.io.readers import read_raw_table
    >>> from retention_xl.io.tables import table_from_cells
    >>> cells = np.array([["Date", "Order #", "Status", "Customer", "Net Sales"],
    ...                   ["2024-03-05 14:22:10", "1201", "completed", "Mario Rossi", "40"],
    ...                   ["2024-03-09 10:00:00", "1201", "completed", "Mario Rossi", "-15"]])
    >>> table = table_from_cells("wc.csv", cells.astype(object))
    >>> frame = read_raw_table("orders", table, format="woocommerce-analytics").frame
    >>> frame[["order_id", "customer_id", "amount", "refunded"]].values.tolist()
    [['1201', 'mario rossi', 40.0, 15.0]]
    """
    conv = unescape_cells(conv)
    check_mapping(conv, mapping, list(ORDER_ROLES))
    cols = conv.index.resolve(ANALYTICS_ROLES)
    remap = {
        "customer_id": "customer",
        "amount": "net_sales",
        "order_id": "order",
        "order_date": "date",
    }
    for role, column in mapping.items():
        found = conv.index.get(column)
        if found is not None:
            cols[remap.get(role, role)] = found
    need = {
        "order_id": "order",
        "customer_id": "customer",
        "order_date": "date",
        "amount": "net_sales",
    }
    found_roles = {role: cols[key] for role, key in need.items() if key in cols}
    require_roles(conv, found_roles, list(need), kind="orders", fmt="WooCommerce Analytics")
    conv.settle_decimal([cols["net_sales"]])
    names = conv.text(cols["customer"])
    customer = names.str.replace(r"\s+", " ", regex=True).str.strip().str.casefold()
    customer = customer.mask(customer == "")
    order_id = conv.text(cols["order"], required=True).str.lstrip("#")
    dates = conv.dates(cols["date"], required=True)
    amount = conv.numbers(cols["net_sales"], required=True)
    status = conv.category(cols.get("status"), _woo_status_words(), default="paid", what="status")
    refund_row = (amount < 0) & ~conv.bad
    refunded, repeated = _fold_refunds(conv, order_id, conv.raw(cols["date"]), amount, refund_row)
    full = (status.to_numpy(dtype=object) == "refunded") & ~refund_row
    refunded = np.where(full, np.maximum(amount, 0.0), refunded)
    frame = pd.DataFrame(
        {
            "customer_id": customer,
            "order_id": order_id,
            "order_date": dates,
            "amount": amount,
            "refunded": refunded,
            "status": status,
        }
    )
    conv.report.warnings.append(
        "WooCommerce Analytics exports carry customer names only: customers are told apart "
        "by name, so namesakes count as one customer (an order export plugin gives e-mails)"
    )
    conv.drop |= refund_row
    anonymous = frame["customer_id"].isna().to_numpy(dtype=bool) & ~conv.bad & ~conv.drop
    if anonymous.any():
        conv.report.notes.append(
            f"{int(anonymous.sum()):,} orders without a customer name (guest orders) were "
            "left out: they cannot be attributed to a customer"
        )
    conv.drop |= anonymous
    return finish_orders(
        conv, frame, options=options, currency_column=None, duplicates_before=repeated
    )


def _fold_refunds(
    conv: Converter,
    order_id: pd.Series,
    raw_dates: pd.Series,
    amount: np.ndarray,
    refund_row: np.ndarray,
) -> tuple[np.ndarray, int]:
    """The money given back on each order row by the refund rows of its ``Order #``,
    and how many refund rows repeated another (overlapping downloads: counted once).

    Refund rows get 0 (the caller drops them); a refund without its order is noted.
    """
    refunded = np.zeros(len(amount))
    if not refund_row.any():
        return refunded, 0
    ids = order_id.to_numpy(dtype=object)
    dates = raw_dates.to_numpy(dtype=object)
    every = pd.DataFrame(
        {"order_id": ids[refund_row], "date": dates[refund_row], "amount": amount[refund_row]}
    )
    refunds = every.drop_duplicates()
    given_back = (-refunds.groupby("order_id", sort=False)["amount"].sum()).to_dict()
    orders = ~refund_row & ~conv.bad
    has_order = set(ids[orders])
    for pos in np.flatnonzero(orders):
        refunded[pos] = min(given_back.get(ids[pos], 0.0), max(float(amount[pos]), 0.0))
    orphans = sorted(str(i) for i in given_back if i not in has_order)
    n_refunds = len(refunds)
    conv.report.notes.append(
        f"{n_refunds:,} refund rows (negative Net Sales) were counted on their orders, not "
        "as orders"
    )
    if orphans:
        shown = ", ".join(orphans[:5]) + (" ..." if len(orphans) > 5 else "")
        conv.report.notes.append(
            f"{len(orphans):,} refunds of orders that are not in the file ({shown}) were "
            "left out: their orders were placed before the exported dates. Download a "
            "date range that includes those orders to count them"
        )
    return refunded, len(every) - len(refunds)


WOOCOMMERCE_ANALYTICS = Format(
    name="woocommerce-analytics",
    kind="orders",
    signatures=(
        (
            "Date",
            "Order #",
            "Status",
            "Customer",
            "Customer type",
            "Product(s)",
            "Items sold",
            "Net Sales",
        ),
    ),
    read=read_woocommerce_analytics,
    threshold=0.85,
    description="WooCommerce Analytics > Orders > Download (customers identified by name)",
)
