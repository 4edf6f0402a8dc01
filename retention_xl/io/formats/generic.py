"""Generic CSV/XLSX layouts: the canonical columns, or any headers mapped with
``--map role=column`` or recognised through English and Italian synonyms.

Orders need a customer, a date and an amount; without an order id column each row is
one order (and duplicates across exports cannot be detected, which the report notes).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from retention_xl.core.schema import ORDER_COLUMNS, SUBSCRIPTION_COLUMNS, SURVEY_COLUMNS
from retention_xl.io.convert import Converter
from retention_xl.io.formats.base import (
    ORDER_ROLES,
    STATUS_WORDS,
    SUBSCRIPTION_ROLES,
    SURVEY_ROLES,
    Format,
    Options,
    check_mapping,
    finish_orders,
    finish_subscriptions,
    finish_survey,
    require_roles,
)
from retention_xl.io.headers import normalise

__all__ = ["GENERIC_ORDERS", "GENERIC_SUBSCRIPTIONS", "GENERIC_SURVEY", "INTERVAL_WORDS"]

INTERVAL_WORDS: Mapping[str, str] = {
    **dict.fromkeys(("day", "daily", "giorno", "giornaliero", "giornaliera", "d"), "day"),
    **dict.fromkeys(("week", "weekly", "settimana", "settimanale", "w"), "week"),
    **dict.fromkeys(("month", "monthly", "mese", "mensile", "m", "mo"), "month"),
    **dict.fromkeys(
        ("year", "yearly", "annual", "annually", "anno", "annuale", "annuo", "y", "yr"), "year"
    ),
}


def read_orders_generic(
    conv: Converter, mapping: Mapping[str, str], options: Options
) -> pd.DataFrame:
    """Orders from any layout whose columns are named or mapped (see module docstring)."""
    check_mapping(conv, mapping, list(ORDER_ROLES))
    cols = conv.index.resolve(ORDER_ROLES, mapping)
    fmt = "canonical" if conv.report.format == "canonical" else "generic"
    require_roles(conv, cols, ("customer_id", "order_date", "amount"), kind="orders", fmt=fmt)
    conv.settle_decimal([cols.get("amount"), cols.get("refunded")])
    customer = conv.text(cols["customer_id"], required=True)
    if "order_id" in cols:
        order_id = conv.text(cols["order_id"], required=True)
    else:
        order_id = pd.Series(conv.table.row_names(), dtype="string")
        conv.report.notes.append(
            "no order id column: each row is one order, so orders repeated across exports "
            "cannot be removed (map one with --map order_id=COLUMN)"
        )
    dates = conv.dates(cols["order_date"], required=True)
    amount = conv.numbers(cols["amount"], required=True)
    refunded = conv.numbers(cols.get("refunded"), default=0.0)
    if "refunded" in cols:
        # some tools write refunds as negative numbers: the amount given back is the size
        refunded = np.abs(refunded)
    status = conv.category(cols.get("status"), STATUS_WORDS, default="paid", what="order status")
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
        frame["currency"] = conv.text(cols["currency"])
    if "updated_at" in cols:  # tells which version of a repeated order is current
        frame["_updated"] = conv.timestamps(cols["updated_at"]).to_numpy()
    return finish_orders(conv, frame, options=options, currency_column=cols.get("currency"))


def read_subscriptions_generic(
    conv: Converter, mapping: Mapping[str, str], options: Options
) -> pd.DataFrame:
    """Subscription items from any layout whose columns are named or mapped."""
    check_mapping(conv, mapping, list(SUBSCRIPTION_ROLES))
    cols = conv.index.resolve(SUBSCRIPTION_ROLES, mapping)
    require_roles(
        conv,
        cols,
        ("customer_id", "start_date", "amount", "interval"),
        kind="subscriptions",
        fmt="generic",
    )
    conv.settle_decimal([cols.get("amount")])
    customer = conv.text(cols["customer_id"], required=True)
    if "subscription_id" in cols:
        sub_id = conv.text(cols["subscription_id"], required=True)
    else:
        sub_id = pd.Series(conv.table.row_names(), dtype="string")
    start = conv.dates(cols["start_date"], required=True)
    end = conv.dates(cols.get("end_date"))
    amount = conv.numbers(cols["amount"], required=True)
    negative = amount < 0
    conv.fail(negative, cols["amount"], "a subscription price cannot be negative", amount.tolist())
    interval = conv.category(cols["interval"], INTERVAL_WORDS, default="month", what="interval")
    count = conv.numbers(cols.get("interval_count"), default=1.0)
    if "interval_count" in cols:
        bad = ~np.isnan(count) & ((count < 1) | (count != np.floor(count)))
        conv.fail(bad, cols["interval_count"], "must be a whole number >= 1", count.tolist())
        count = np.where(bad, 1.0, count)
    backwards = ~np.isnat(end) & ~np.isnat(start) & (end < start)
    if cols.get("end_date"):
        conv.fail(
            backwards,
            cols["end_date"],
            "the end date is before the start date",
            conv.raw(cols["end_date"]).tolist(),
        )
    frame = pd.DataFrame(
        {
            "customer_id": customer,
            "subscription_id": sub_id,
            "start_date": start,
            "end_date": end,
            "amount": amount,
            "interval": interval,
            "interval_count": count,
        }
    )
    if "status" in cols:
        frame["status"] = conv.text(cols["status"], lower=True)
    if "currency" in cols:
        frame["currency"] = conv.text(cols["currency"])
    return finish_subscriptions(conv, frame, options=options, currency_column=cols.get("currency"))


def read_survey_generic(
    conv: Converter, mapping: Mapping[str, str], options: Options
) -> pd.DataFrame:
    """Survey answers from any layout; the score column is found by name or ``--map``."""
    check_mapping(conv, mapping, list(SURVEY_ROLES))
    literal_kind = None
    if (
        "kind" in mapping
        and normalise(mapping["kind"]) in {"nps", "csat"}
        and (mapping["kind"] not in conv.index)
    ):
        literal_kind = normalise(mapping["kind"])
        mapping = {k: v for k, v in mapping.items() if k != "kind"}
    cols = conv.index.resolve(SURVEY_ROLES, mapping)
    default_kind = literal_kind or "nps"
    if "score" not in cols:
        found, kind = find_score_column(conv)
        if found is not None:
            cols["score"] = found
            default_kind = literal_kind or kind
    require_roles(conv, cols, ("answered_at", "score"), kind="survey", fmt=conv.report.format)
    return survey_frame(conv, cols, default_kind=default_kind)


NPS_WORDS = (
    "net promoter",
    "nps",
    "recommend",
    "raccomanderesti",
    "raccomandare",
    "consiglieresti",
    "consiglierebbe",
    "consigliare",
    "likely",
    "probabile",
)
CSAT_WORDS = ("satisfied", "satisfaction", "soddisfatto", "soddisfatta", "soddisfazione", "csat")


def find_score_column(conv: Converter) -> tuple[str | None, str]:
    """The question column holding the NPS (or CSAT) score, found by its wording."""
    found = conv.index.find_containing(NPS_WORDS)
    if found is not None:
        return found, "nps"
    found = conv.index.find_containing(CSAT_WORDS)
    if found is not None:
        return found, "csat"
    return None, "nps"


def survey_frame(conv: Converter, cols: Mapping[str, str], *, default_kind: str) -> pd.DataFrame:
    """Build the survey frame from resolved columns (shared by the survey layouts)."""
    answered = conv.dates(cols["answered_at"], required=True)
    raw = conv.raw(cols["score"])
    # answers like "9 - Very likely" keep their leading number
    text = raw.map(lambda v: v.strip() if isinstance(v, str) else v)
    lead = text.map(
        lambda v: v.split(" ", 1)[0].rstrip("-–:") if isinstance(v, str) and " " in v else v
    )
    conv.table.data["__score__"] = lead
    try:
        score = conv.numbers("__score__")
    finally:
        conv.table.data.pop("__score__")
    frame = pd.DataFrame({"answered_at": answered, "score": score})
    if "kind" in cols:
        frame["kind"] = conv.text(cols["kind"], lower=True)
    if "customer_id" in cols:
        frame["customer_id"] = conv.text(cols["customer_id"])
    nps = (
        (frame["kind"].fillna(default_kind) == "nps").to_numpy()
        if "kind" in frame
        else np.full(len(frame), default_kind == "nps")
    )
    s = frame["score"].to_numpy()
    out_of_scale = nps & ~np.isnan(s) & ((s < 0) | (s > 10) | (s != np.floor(s)))
    conv.fail(
        out_of_scale,
        cols["score"],
        "an NPS score must be a whole number from 0 to 10",
        raw.tolist(),
    )
    return finish_survey(conv, frame, default_kind=default_kind)


def _canonical(cols: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    return (cols,)


GENERIC_ORDERS = Format(
    name="generic",
    kind="orders",
    signatures=_canonical(ORDER_COLUMNS),
    read=read_orders_generic,
    threshold=2.0,  # never auto-detected: the fallback
    description="any CSV/XLSX with customer, date and amount columns (named or --map)",
    roles=ORDER_ROLES,
)
GENERIC_SUBSCRIPTIONS = Format(
    name="generic",
    kind="subscriptions",
    signatures=_canonical(SUBSCRIPTION_COLUMNS),
    read=read_subscriptions_generic,
    threshold=2.0,
    description="any CSV/XLSX with customer, start, amount and interval columns",
    roles=SUBSCRIPTION_ROLES,
)
GENERIC_SURVEY = Format(
    name="generic",
    kind="survey",
    signatures=_canonical(SURVEY_COLUMNS),
    read=read_survey_generic,
    threshold=2.0,
    description="any CSV/XLSX with a date and a score column",
    roles=SURVEY_ROLES,
)
