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
"""

from __future__ import annotations

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


def _woo_status_words() -> dict[str, str]:
    out = dict(WOO_STATUSES)
    out.update({f"wc {k}": v for k, v in WOO_STATUSES.items()})
    return out


def read_woocommerce_orders(
    conv: Converter, mapping: Mapping[str, str], options: Options
) -> pd.DataFrame:
    """Read a WooCommerce orders export (see module docstring for the rules)."""
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
    table, duplicates = collapse_blocks(conv.table, cols["order_id"], list(cols.values()))
    oc = conv.with_table(table)
    oc.settle_decimal([cols.get(k) for k in ("total", "shipping", "tax", "refunded")])
    customer = oc.text(cols["email"]).str.lower()
    if "user_id" in cols:
        user = oc.text(cols["user_id"])
        user = user.mask(user.isin(["0", "0.0"]).fillna(False))
        customer = customer.fillna(user)
    order_id = oc.text(cols["order_id"], required=True)
    dates = oc.dates(cols["order_date"], required=True)
    total = oc.numbers(cols["total"], required=True)
    shipping = oc.numbers(cols.get("shipping"), default=0.0)
    tax = oc.numbers(cols.get("tax"), default=0.0)
    amount = total - shipping - tax
    refunded = np.abs(oc.numbers(cols.get("refunded"), default=0.0))
    # WooCommerce refunds are money given back, tax and shipping included: count them on
    # revenue's basis (net of both), for their share of the order total
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
    refunded = np.minimum(refunded, np.maximum(amount, 0.0))
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

    Columns: ``Date, Order #, Status, Customer, Customer type, Product(s), Items sold,
    Coupon(s), Net Sales[, Attribution]``. ``amount`` is *Net Sales* (WooCommerce:
    gross sales less coupons and refunds, without shipping and taxes); a *Refunded*
    order has been paid back in full (``refunded = amount``). This report carries no
    e-mail and no customer id: customers are identified by their **name** (trimmed,
    case-insensitive), so two customers with the same name count as one; the import
    report says so. Export the orders with an export plugin for ids.
    """
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
    customer = names.str.replace(r"\s+", " ", regex=True).str.casefold()
    order_id = conv.text(cols["order"], required=True).str.lstrip("#")
    dates = conv.dates(cols["date"], required=True)
    amount = conv.numbers(cols["net_sales"], required=True)
    status = conv.category(cols.get("status"), _woo_status_words(), default="paid", what="status")
    refunded = np.where(status.to_numpy(dtype=object) == "refunded", np.maximum(amount, 0.0), 0.0)
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
    conv.report.notes.append(
        "WooCommerce Analytics exports carry customer names only: customers are told apart "
        "by name, so namesakes count as one customer (an order export plugin gives e-mails)"
    )
    anonymous = frame["customer_id"].isna().to_numpy(dtype=bool) & ~conv.bad
    if anonymous.any():
        conv.report.notes.append(
            f"{int(anonymous.sum()):,} orders without a customer name were left out"
        )
    conv.drop |= anonymous
    return finish_orders(conv, frame, options=options, currency_column=None, duplicates_before=0)


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
