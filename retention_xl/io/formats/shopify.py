"""Shopify orders export (Admin > Orders > Export, "CSV for Excel" or plain CSV).

The export has one row per line item; order fields (Email, Financial Status, Subtotal,
Total, Refunded Amount, ...) are filled on the order's first row only. Overlapping
exports repeat orders: they are removed on the order ``Name`` (``#1001``).

Mapping to the canonical orders frame:

* ``customer_id``: ``Customer ID`` when the export has it, else ``Email`` (lower-case);
  orders without either (POS guest sales) cannot be attributed and are left out, with
  a note in the report;
* ``order_id``: ``Name`` (``Id`` when there is no Name);
* ``order_date``: ``Created at`` (the store's local day; the UTC offset is dropped);
* ``amount``: ``Subtotal``, the merchandise after discounts, without Shipping and
  Taxes. Stores with tax-inclusive prices (usual in the EU) have
  ``Total = Subtotal + Shipping`` with Taxes inside: there ``Taxes`` are taken off the
  Subtotal, so revenue is always net of tax (slightly low when shipping was taxed too);
* ``refunded``: ``Refunded Amount`` (money given back, tax and shipping included)
  on the basis of ``amount``: a partial refund counts for its share of ``Total``
  applied to ``amount`` (``refunded * amount / Total``); a ``refunded`` order is
  refunded in full; never more than the amount;
* ``status``: Financial Status ``refunded`` -> refunded; ``voided`` or ``expired``, or
  a ``Cancelled at`` date -> cancelled; every other status (paid, partially_refunded,
  pending, authorized, partially_paid) -> paid;
* ``currency``: ``Currency``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import numpy as np
import numpy.typing as npt
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
from retention_xl.io.headers import normalise

__all__ = ["SHOPIFY_ORDERS"]

SHOPIFY_ROLES = {
    "name": ("Name",),
    "id": ("Id",),
    "customer_id": ("Customer ID", "Customer Id"),
    "email": ("Email",),
    "financial_status": ("Financial Status",),
    "currency": ("Currency",),
    "subtotal": ("Subtotal",),
    "shipping": ("Shipping",),
    "taxes": ("Taxes",),
    "total": ("Total",),
    "refunded": ("Refunded Amount",),
    "created_at": ("Created at",),
    "cancelled_at": ("Cancelled at",),
}

_CANCELLED = {"voided", "expired"}


#: the Shopify column each ``--map`` role overrides
_MAPPED_KEYS: Final = {
    "customer_id": "customer_id",
    "order_id": "name",
    "order_date": "created_at",
    "amount": "subtotal",
    "refunded": "refunded",
    "status": "financial_status",
    "currency": "currency",
}


def _order_columns(conv: Converter, mapping: Mapping[str, str]) -> dict[str, str]:
    """Shopify's columns by key, ``--map`` applied; the order id falls back on Id and
    the customer on the Email. Refuses a file without the columns it needs."""
    check_mapping(conv, mapping, list(ORDER_ROLES))
    cols = conv.index.resolve(SHOPIFY_ROLES)
    for role, column in mapping.items():  # --map overrides the platform columns
        found = conv.index.get(column)
        if found is not None:
            cols[_MAPPED_KEYS[role]] = found
    if "name" not in cols and "id" in cols:
        cols["name"] = cols["id"]
    if "customer_id" not in cols and "email" in cols:
        cols["customer_id"] = cols["email"]
    need = {
        "order_id": "name",
        "customer_id": "customer_id",
        "order_date": "created_at",
        "amount": "subtotal",
    }
    found_roles = {role: cols[key] for role, key in need.items() if key in cols}
    require_roles(conv, found_roles, list(need), kind="orders", fmt="Shopify")
    return cols


def _net_amount(
    conv: Converter, oc: Converter, cols: Mapping[str, str]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The order's net merchandise amount and its Total: the Subtotal, less the Taxes
    where the prices include them (Subtotal + Shipping = Total, to the cent)."""
    subtotal = oc.numbers(cols["subtotal"], required=True)
    shipping = oc.numbers(cols.get("shipping"), default=0.0)
    taxes = oc.numbers(cols.get("taxes"), default=0.0)
    total = oc.numbers(cols.get("total"))
    amount = subtotal.copy()
    if "total" in cols and "taxes" in cols:
        tol = 0.011
        exclusive = np.abs(subtotal + shipping + taxes - total) <= tol
        inclusive = (taxes > 0) & ~exclusive & (np.abs(subtotal + shipping - total) <= tol)
        amount = np.where(inclusive, subtotal - taxes, subtotal)
        if inclusive.any():
            conv.report.notes.append(
                f"{int(inclusive.sum()):,} orders have tax-inclusive prices: their Taxes were "
                "taken off the Subtotal so revenue is net of tax"
            )
    return amount, total


BoolArray = npt.NDArray[np.bool_]


def _statuses(oc: Converter, cols: Mapping[str, str]) -> tuple[npt.NDArray[Any], BoolArray]:
    """``cancelled`` (a cancelled financial status or a Cancelled at date), ``refunded``
    or ``paid``, and which orders Shopify marks fully refunded."""
    fin = oc.text(cols.get("financial_status"), lower=True)
    fin_norm = fin.fillna("").map(lambda v: normalise(v).replace(" ", "_"))
    cancelled_at = oc.text(cols.get("cancelled_at")).notna().to_numpy(dtype=bool)
    status = np.where(
        fin_norm.isin(list(_CANCELLED)).to_numpy() | cancelled_at, "cancelled", "paid"
    )
    refunded_status = (fin_norm == "refunded").to_numpy(dtype=bool)
    status = np.where(refunded_status & (status != "cancelled"), "refunded", status)
    return status, refunded_status


def _refunds(
    conv: Converter,
    refunded: npt.NDArray[np.float64],
    amount: npt.NDArray[np.float64],
    total: npt.NDArray[np.float64],
    refunded_status: BoolArray,
) -> npt.NDArray[np.float64]:
    """The refunds on the basis of revenue.

    Shopify's Refunded Amount is money given back: merchandise, shipping and tax.
    Revenue is net of tax and shipping, so a partial refund counts on the same basis:
    its share of the order's Total applied to the net amount (a 33 refund of a 132
    order whose net merchandise is 100 lowers revenue by 25, not 33). A refunded order
    gives back at least its amount; no refund exceeds it.
    """
    share = np.divide(
        amount, total, out=np.full(len(amount), np.nan), where=np.isfinite(total) & (total > 0)
    )
    basis = ~refunded_status & (refunded > 0) & np.isfinite(share)
    if basis.any():
        refunded = np.where(basis, refunded * np.clip(share, 0.0, 1.0), refunded)
        conv.report.notes.append(
            f"{int(basis.sum()):,} partial refunds include tax and shipping: each was counted "
            "for its share of the order's net amount, the basis of revenue"
        )
    refunded = np.where(refunded_status, np.maximum(refunded, amount), refunded)
    return np.minimum(refunded, np.maximum(amount, 0.0))


def read_shopify_orders(
    conv: Converter, mapping: Mapping[str, str], options: Options
) -> pd.DataFrame:
    """Read a Shopify orders export (see module docstring for the rules)."""
    cols = _order_columns(conv, mapping)
    conv.report.rows_read = len(conv.table.data)
    table, duplicates = collapse_blocks(conv.table, cols["name"], list(cols.values()))
    oc = conv.with_table(table)
    oc.settle_decimal([cols.get(k) for k in ("subtotal", "total", "shipping", "taxes")])
    customer = oc.text(cols["customer_id"])
    if cols["customer_id"] == cols.get("email"):
        customer = customer.str.lower()
    order_id = oc.text(cols["name"], required=True)
    dates = oc.dates(cols["created_at"], required=True)
    amount, total = _net_amount(conv, oc, cols)
    refunded = np.abs(oc.numbers(cols.get("refunded"), default=0.0))
    status, refunded_status = _statuses(oc, cols)
    refunded = _refunds(conv, refunded, amount, total, refunded_status)
    frame = pd.DataFrame(
        {
            "customer_id": customer,
            "order_id": order_id,
            "order_date": dates,
            "amount": amount,
            "refunded": refunded,
            "status": pd.Series(status, dtype="string"),
        }
    )
    if "currency" in cols:
        frame["currency"] = oc.text(cols["currency"])
    anonymous = frame["customer_id"].isna().to_numpy(dtype=bool) & ~oc.bad
    if anonymous.any():
        conv.report.notes.append(
            f"{int(anonymous.sum()):,} orders without a customer (no Email, e.g. POS guest "
            "sales) were left out: they cannot be attributed to a customer"
        )
    oc.drop |= anonymous
    return finish_orders(
        oc,
        frame,
        options=options,
        currency_column=cols.get("currency"),
        duplicates_before=duplicates,
    )


SHOPIFY_ORDERS = Format(
    name="shopify",
    kind="orders",
    signatures=(
        (
            "Name",
            "Email",
            "Financial Status",
            "Paid at",
            "Fulfillment Status",
            "Currency",
            "Subtotal",
            "Shipping",
            "Taxes",
            "Total",
            "Created at",
            "Lineitem quantity",
            "Lineitem name",
            "Lineitem price",
        ),
    ),
    read=read_shopify_orders,
    threshold=0.7,
    description="Shopify orders export (one row per line item)",
)
