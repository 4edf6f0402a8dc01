"""Stripe dashboard exports: subscriptions, and payments or invoices as orders.

**Subscriptions** (Billing > Subscriptions > Export): ``id, Customer ID, Customer Name,
Customer Email, Plan, Product, Quantity, Currency, Interval, Amount, Status,
Created (UTC), Start (UTC), Current Period Start (UTC), Current Period End (UTC),
Trial Start (UTC), Trial End (UTC), Canceled At (UTC), Ended At (UTC),
Cancel At Period End, ...``. Mapping:

* ``amount = Amount * Quantity`` (Amount is the plan price in currency units);
* ``start_date``: ``Start (UTC)`` (else ``Created (UTC)``), moved to ``Trial End`` when
  a trial came first (trial days are not billed);
* ``end_date``: ``Ended At (UTC)``; for a canceled subscription without it,
  ``Canceled At (UTC)``; for ``Cancel At Period End = true``, ``Current Period End``;
* subscriptions never billed (``incomplete``/``incomplete_expired``, or ended during
  the trial) are left out, with a note.

**Payments** (Payments > Export, ``unified_payments.csv``): ``id, Created (UTC), Amount,
Amount Refunded, Currency, Converted Amount, Converted Amount Refunded, Fee, Tax,
Converted Currency, Status, Customer ID, Customer Email, Captured, ...``: one order per
payment; the converted amounts (account currency) are used when present, so several
charge currencies need no rate table. Failed or uncaptured payments are cancelled.

**Invoices** (Billing > Invoices > Export): ``id, Amount Due, Amount Paid, Currency,
Customer, Customer Email, Date (UTC), Number, Paid, Status, Subscription, Subtotal,
Tax, Total, ...``: one order per invoice, ``amount = Total - Tax``; only ``paid``
invoices count (``open``, ``draft``, ``void``, ``uncollectible`` are cancelled).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from retention_xl.io.convert import Converter
from retention_xl.io.formats.base import (
    ORDER_ROLES,
    SUBSCRIPTION_ROLES,
    Format,
    Options,
    check_mapping,
    finish_orders,
    finish_subscriptions,
    require_roles,
)
from retention_xl.io.formats.generic import INTERVAL_WORDS
from retention_xl.io.headers import normalise

__all__ = ["STRIPE_INVOICES", "STRIPE_PAYMENTS", "STRIPE_SUBSCRIPTIONS"]

_TRUE = {"true", "yes", "1", "si", "vero"}


def _apply_map(conv: Converter, cols: dict[str, str], mapping: Mapping[str, str]) -> None:
    for role, column in mapping.items():
        found = conv.index.get(column)
        if found is not None:
            cols[role] = found


def _customer(conv: Converter, cols: Mapping[str, str]) -> pd.Series:
    customer = conv.text(cols.get("customer_id"))
    if "email" in cols:
        customer = customer.fillna(conv.text(cols["email"]).str.lower())
    return customer


def _drop_anonymous(conv: Converter, frame: pd.DataFrame, what: str) -> int:
    anonymous = frame["customer_id"].isna().to_numpy(dtype=bool) & ~conv.bad
    if anonymous.any():
        conv.report.notes.append(
            f"{int(anonymous.sum()):,} {what} without a customer were left out: they cannot "
            "be attributed to a customer"
        )
    conv.drop |= anonymous
    return int(anonymous.sum())


# ---------------------------------------------------------------------------
# subscriptions

SUB_ROLES = {
    "subscription_id": ("id", "Subscription ID"),
    "customer_id": ("Customer ID", "Customer"),
    "email": ("Customer Email",),
    "quantity": ("Quantity",),
    "currency": ("Currency",),
    "interval": ("Interval", "Plan Interval"),
    "interval_count": ("Interval Count", "Plan Interval Count"),
    "amount": ("Amount", "Plan Amount"),
    "status": ("Status",),
    "created": ("Created (UTC)",),
    "start_date": ("Start (UTC)", "Start Date (UTC)"),
    "period_end": ("Current Period End (UTC)",),
    "trial_end": ("Trial End (UTC)",),
    "canceled_at": ("Canceled At (UTC)",),
    "end_date": ("Ended At (UTC)",),
    "cancel_at_period_end": ("Cancel At Period End",),
}


def read_stripe_subscriptions(
    conv: Converter, mapping: Mapping[str, str], options: Options
) -> pd.DataFrame:
    """Read a Stripe subscriptions export (see module docstring for the rules)."""
    cols = _subscription_columns(conv, mapping)
    conv.settle_decimal([cols["amount"]])
    customer = _customer(conv, cols)
    sub_id = conv.text(cols["subscription_id"], required=True)
    start = conv.dates(cols["start_date"], required=True)
    trial_end = conv.dates(cols.get("trial_end"))
    start = np.where(~np.isnat(trial_end) & (trial_end > start), trial_end, start)
    status = conv.text(cols.get("status"), lower=True).fillna("active")
    end = _end_dates(conv, cols, status)
    price = conv.numbers(cols["amount"], required=True)
    quantity = conv.numbers(cols.get("quantity"), default=1.0)
    quantity = np.where(np.isnan(quantity), 1.0, quantity)
    negative = (price < 0) | (quantity < 0)
    conv.fail(negative, cols["amount"], "a price or quantity is negative", price.tolist())
    interval = conv.category(cols["interval"], INTERVAL_WORDS, default="month", what="interval")
    count = conv.numbers(cols.get("interval_count"), default=1.0)
    count = np.where(np.isnan(count) | (count < 1), 1.0, np.floor(count))
    never = (
        status.isin(["incomplete", "incomplete_expired"]).to_numpy(dtype=bool)
        | (~np.isnat(end) & (end <= start))
    ) & ~conv.bad
    if never.any():
        conv.report.notes.append(
            f"{int(never.sum()):,} subscriptions were never billed (incomplete, or ended "
            "during the trial) and were left out"
        )
    conv.drop |= never
    frame = pd.DataFrame(
        {
            "customer_id": customer,
            "subscription_id": sub_id,
            "start_date": start,
            "end_date": end,
            "amount": price * quantity,
            "interval": interval,
            "interval_count": count,
            "status": status,
        }
    )
    if "currency" in cols:
        frame["currency"] = conv.text(cols["currency"])
    _drop_anonymous(conv, frame, "subscriptions")
    frame = finish_subscriptions(conv, frame, options=options, currency_column=cols.get("currency"))
    return frame


def _subscription_columns(conv: Converter, mapping: Mapping[str, str]) -> dict[str, str]:
    """The export's column of each role, ``--map`` applied; ``created`` stands in for a
    missing start date and the e-mail for a missing customer id. Refuses a missing
    subscription id, customer, start date, amount or interval."""
    check_mapping(conv, mapping, list(SUBSCRIPTION_ROLES))
    cols = conv.index.resolve(SUB_ROLES)
    _apply_map(conv, cols, mapping)
    if "start_date" not in cols and "created" in cols:
        cols["start_date"] = cols["created"]
    found = dict(cols)
    if "email" in cols:
        found.setdefault("customer_id", cols["email"])
    need = ("subscription_id", "customer_id", "start_date", "amount", "interval")
    require_roles(conv, found, need, kind="subscriptions", fmt="Stripe")
    return cols


def _end_dates(conv: Converter, cols: Mapping[str, str], status: pd.Series) -> np.ndarray:
    """Each subscription's end: the ended-at date; for a canceled one without it, the
    cancellation date, else the current period's end; one set to cancel at the
    period's end ends then. NaT: still billed."""
    end = conv.dates(cols.get("end_date"))
    canceled_at = conv.dates(cols.get("canceled_at"))
    period_end = conv.dates(cols.get("period_end"))
    canceled = status.isin(["canceled", "cancelled"]).to_numpy(dtype=bool)
    end = np.where(np.isnat(end) & canceled, canceled_at, end)
    end = np.where(np.isnat(end) & canceled, period_end, end)
    at_period_end = (
        conv.text(cols.get("cancel_at_period_end"), lower=True)
        .isin(list(_TRUE))
        .fillna(False)
        .to_numpy(dtype=bool)
    )
    return np.where(np.isnat(end) & at_period_end, period_end, end)


STRIPE_SUBSCRIPTIONS = Format(
    name="stripe",
    kind="subscriptions",
    signatures=(
        (
            "id",
            "Customer ID",
            "Customer Email",
            "Plan",
            "Quantity",
            "Currency",
            "Interval",
            "Amount",
            "Status",
            "Created (UTC)",
            "Start (UTC)",
            "Current Period Start (UTC)",
            "Current Period End (UTC)",
            "Canceled At (UTC)",
            "Ended At (UTC)",
            "Cancel At Period End",
        ),
    ),
    read=read_stripe_subscriptions,
    threshold=0.7,
    description="Stripe subscriptions export",
)


# ---------------------------------------------------------------------------
# payments and invoices as orders

PAY_ROLES = {
    "order_id": ("id",),
    "customer_id": ("Customer ID",),
    "email": ("Customer Email",),
    "order_date": ("Created (UTC)", "Created date (UTC)"),
    "amount": ("Amount",),
    "refunded": ("Amount Refunded",),
    "tax": ("Tax",),
    "currency": ("Currency",),
    "converted": ("Converted Amount",),
    "converted_refunded": ("Converted Amount Refunded",),
    "converted_currency": ("Converted Currency",),
    "status": ("Status",),
    "captured": ("Captured",),
}


def read_stripe_payments(
    conv: Converter, mapping: Mapping[str, str], options: Options
) -> pd.DataFrame:
    """Read a Stripe payments export as orders (see module docstring)."""
    check_mapping(conv, mapping, list(ORDER_ROLES))
    cols = conv.index.resolve(PAY_ROLES)
    _apply_map(conv, cols, mapping)
    found = dict(cols)
    if "email" in cols:
        found.setdefault("customer_id", cols["email"])
    need = ("order_id", "customer_id", "order_date", "amount")
    require_roles(conv, found, need, kind="orders", fmt="Stripe payments")
    conv.settle_decimal([cols["amount"], cols.get("converted")])
    use_converted = "converted" in cols and "converted_currency" in cols and "amount" not in mapping
    amount_col = cols["converted"] if use_converted else cols["amount"]
    refund_col = cols.get("converted_refunded") if use_converted else cols.get("refunded")
    amount = conv.numbers(amount_col, required=True)
    refunded = np.abs(conv.numbers(refund_col, default=0.0))
    tax = conv.numbers(cols.get("tax"), default=0.0) if not use_converted else 0.0
    amount = amount - tax
    refunded = np.minimum(refunded, np.maximum(amount, 0.0))
    status_text = conv.text(cols.get("status"), lower=True).fillna("paid")
    norm = status_text.map(normalise)
    failed = norm.isin(["failed", "canceled", "cancelled", "blocked", "incomplete"]).to_numpy(
        dtype=bool
    )
    captured = conv.text(cols.get("captured"), lower=True)
    uncaptured = captured.isin(["false", "no", "0"]).fillna(False).to_numpy(dtype=bool)
    status = np.where(failed | uncaptured, "cancelled", "paid")
    status = np.where(
        norm.eq("refunded").to_numpy(dtype=bool) & (status == "paid"), "refunded", status
    )
    frame = pd.DataFrame(
        {
            "customer_id": _customer(conv, cols),
            "order_id": conv.text(cols["order_id"], required=True),
            "order_date": conv.dates(cols["order_date"], required=True),
            "amount": amount,
            "refunded": refunded,
            "status": pd.Series(status, dtype="string"),
        }
    )
    cur_col = cols.get("converted_currency") if use_converted else cols.get("currency")
    if cur_col is not None:
        frame["currency"] = conv.text(cur_col)
    _drop_anonymous(conv, frame, "payments")
    frame = finish_orders(conv, frame, options=options, currency_column=cur_col)
    return frame


STRIPE_PAYMENTS = Format(
    name="stripe-payments",
    kind="orders",
    signatures=(
        (
            "id",
            "Created (UTC)",
            "Amount",
            "Amount Refunded",
            "Currency",
            "Converted Amount",
            "Converted Amount Refunded",
            "Fee",
            "Converted Currency",
            "Status",
            "Customer ID",
            "Customer Email",
            "Captured",
        ),
    ),
    read=read_stripe_payments,
    threshold=0.7,
    description="Stripe payments export (unified_payments.csv), one order per payment",
)

INV_ROLES = {
    "order_id": ("id",),
    "number": ("Number",),
    "customer_id": ("Customer", "Customer ID"),
    "email": ("Customer Email",),
    "order_date": ("Date (UTC)", "Created (UTC)", "Finalized At (UTC)"),
    "total": ("Total",),
    "tax": ("Tax",),
    "amount_paid": ("Amount Paid",),
    "currency": ("Currency",),
    "status": ("Status",),
}


def read_stripe_invoices(
    conv: Converter, mapping: Mapping[str, str], options: Options
) -> pd.DataFrame:
    """Read a Stripe invoices export as orders (see module docstring)."""
    check_mapping(conv, mapping, list(ORDER_ROLES))
    cols = conv.index.resolve(INV_ROLES)
    _apply_map(conv, cols, {("total" if k == "amount" else k): v for k, v in mapping.items()})
    found = dict(cols)
    if "email" in cols:
        found.setdefault("customer_id", cols["email"])
    if "total" in cols:
        found["amount"] = cols["total"]
    need = ("order_id", "customer_id", "order_date", "amount")
    require_roles(conv, found, need, kind="orders", fmt="Stripe invoices")
    conv.settle_decimal([cols["total"], cols.get("tax")])
    total = conv.numbers(cols["total"], required=True)
    tax = conv.numbers(cols.get("tax"), default=0.0)
    status_text = conv.text(cols.get("status"), lower=True).fillna("paid")
    paid = status_text.eq("paid").to_numpy(dtype=bool)
    frame = pd.DataFrame(
        {
            "customer_id": _customer(conv, cols),
            "order_id": conv.text(cols["order_id"], required=True),
            "order_date": conv.dates(cols["order_date"], required=True),
            "amount": total - tax,
            "refunded": np.zeros(len(total)),
            "status": pd.Series(np.where(paid, "paid", "cancelled"), dtype="string"),
        }
    )
    if "currency" in cols:
        frame["currency"] = conv.text(cols["currency"])
    _drop_anonymous(conv, frame, "invoices")
    frame = finish_orders(conv, frame, options=options, currency_column=cols.get("currency"))
    return frame


STRIPE_INVOICES = Format(
    name="stripe-invoices",
    kind="orders",
    signatures=(
        (
            "id",
            "Amount Due",
            "Amount Paid",
            "Amount Remaining",
            "Currency",
            "Customer",
            "Customer Email",
            "Date (UTC)",
            "Number",
            "Paid",
            "Status",
            "Subscription",
            "Subtotal",
            "Tax",
            "Total",
        ),
    ),
    read=read_stripe_invoices,
    threshold=0.7,
    description="Stripe invoices export, one order per invoice",
)
