"""Shopify customers export (Admin > Customers > Export): optional enrichment.

Two layouts are read, both detected from the headers:

* current: ``Customer ID, First Name, Last Name, Email, Accepts Email Marketing,
  Default Address Company, ..., Default Address City, ..., Default Address Country Code,
  ..., Phone, Accepts SMS Marketing, Total Spent, Total Orders, Note, Tax Exempt, Tags``;
* older: ``First Name, Last Name, Email, Company, Address1, ..., City, ..., Country,
  Country Code, Zip, Phone, Accepts Marketing, Total Spent, Total Orders, Tags, Note,
  Tax Exempt`` (no Customer ID).

The tidy frame has one row per customer: ``customer_id``, ``name``, ``email``
(lower-case), ``accepts_marketing`` (True/False/NA), ``country``, ``city``, ``tags``.
``customer_id`` is ``Customer ID`` (Shopify writes it as ``'6903445389482`` so that
Excel keeps the digits: the apostrophe is dropped) and the lower-case ``Email`` when
there is no Customer ID column, which is the key the Shopify orders reader gives
customers (:mod:`retention_xl.io.formats.shopify`). Rows without either are skipped;
repeated customers keep their first row.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from retention_xl.io.convert import Converter
from retention_xl.io.formats.base import Format, Options, check_mapping, require_roles
from retention_xl.io.headers import normalise

__all__ = ["CUSTOMER_COLUMNS", "CUSTOMER_ROLES", "SHOPIFY_CUSTOMERS"]

#: Columns of the tidy customers frame.
CUSTOMER_COLUMNS = ("customer_id", "name", "email", "accepts_marketing", "country", "city", "tags")

CUSTOMER_ROLES: Mapping[str, tuple[str, ...]] = {
    "customer_id": ("Customer ID", "Customer Id", "customer_id", "ID cliente", "Codice cliente"),
    "email": ("Email", "E-mail", "Indirizzo email", "Email address"),
    "first_name": ("First Name", "Nome"),
    "last_name": ("Last Name", "Cognome"),
    "name": ("Name", "Nome completo", "Full name"),
    "accepts_marketing": (
        "Accepts Email Marketing",
        "Accepts Marketing",
        "Accetta marketing",
        "Accetta marketing via email",
        "Consenso marketing",
    ),
    "country": (
        "Default Address Country Code",
        "Country Code",
        "Country",
        "Codice paese",
        "Paese",
        "Nazione",
    ),
    "city": ("Default Address City", "City", "Citta", "Comune"),
    "tags": ("Tags", "Tag"),
}

_YES = {"yes", "true", "1", "si", "y", "subscribed", "iscritto"}
_NO = {"no", "false", "0", "n", "not subscribed", "unsubscribed", "non iscritto"}


def read_shopify_customers(
    conv: Converter, mapping: Mapping[str, str], options: Options
) -> pd.DataFrame:
    """Read a Shopify customers export (see module docstring for the rules)."""
    del options
    check_mapping(conv, mapping, list(CUSTOMER_ROLES))
    cols = conv.index.resolve(CUSTOMER_ROLES, mapping)
    key = cols.get("customer_id") or cols.get("email")
    require_roles(
        conv,
        {"customer_id": key} if key else {},
        ["customer_id"],
        kind="customers",
        fmt="Shopify",
    )
    assert key is not None
    email = conv.text(cols.get("email"), lower=True)
    if "customer_id" in cols:
        ids = conv.text(cols["customer_id"]).str.lstrip("'").str.strip()
        ids = ids.mask(ids == "", pd.NA)
    else:
        ids = email
    name = _full_name(conv, cols)
    accepts = _consent(conv, cols.get("accepts_marketing"))
    country = conv.text(cols.get("country"))
    if cols.get("country") and len(country.dropna()) and country.dropna().str.len().max() <= 3:
        country = country.str.upper()
    frame = pd.DataFrame(
        {
            "customer_id": ids,
            "name": name,
            "email": email,
            "accepts_marketing": accepts,
            "country": country,
            "city": conv.text(cols.get("city")),
            "tags": conv.text(cols.get("tags")),
        }
    )
    return _one_row_per_customer(conv, frame, key)


def _full_name(conv: Converter, cols: Mapping[str, str]) -> pd.Series:
    """The name column, or first and last name joined (blank when both are)."""
    if "name" in cols:
        return conv.text(cols["name"])
    first = conv.text(cols.get("first_name")).fillna("")
    last = conv.text(cols.get("last_name")).fillna("")
    name = (first + " " + last).str.strip()
    return name.mask(name == "", pd.NA)


def _consent(conv: Converter, column: str | None) -> pd.Series:
    """Marketing consent: True for yes words (yes, true, si, iscritto...), False for no words,
    blank when the export does not say."""
    marketing = conv.text(column).fillna("").map(normalise)
    consent = np.full(len(marketing), None, dtype=object)  # blank: not said
    consent[marketing.isin(list(_YES)).to_numpy()] = True
    consent[marketing.isin(list(_NO)).to_numpy()] = False
    return pd.Series(consent, dtype="boolean")


def _one_row_per_customer(conv: Converter, frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """Leave out rows without the key (with a note) and repeats of a customer (the
    first row wins, counted as duplicates); the report counts what is left."""
    report = conv.report
    keyless = frame["customer_id"].isna().to_numpy(dtype=bool)
    if keyless.any():
        report.notes.append(
            f"{int(keyless.sum()):,} customers without {key!r} were left out: they cannot be "
            "matched to orders"
        )
    frame = frame[~keyless]
    dup = frame["customer_id"].duplicated(keep="first").to_numpy()
    report.duplicates_removed = int(dup.sum())
    frame = frame[~dup].reset_index(drop=True)
    report.records = len(frame)
    report.customers = len(frame)
    return frame


SHOPIFY_CUSTOMERS = Format(
    name="shopify-customers",
    kind="customers",
    signatures=(
        (
            "Customer ID",
            "First Name",
            "Last Name",
            "Email",
            "Accepts Email Marketing",
            "Default Address City",
            "Default Address Country Code",
            "Accepts SMS Marketing",
            "Total Spent",
            "Total Orders",
            "Tax Exempt",
            "Tags",
        ),
        (
            "First Name",
            "Last Name",
            "Email",
            "Company",
            "Address1",
            "City",
            "Country",
            "Accepts Marketing",
            "Total Spent",
            "Total Orders",
            "Tags",
            "Tax Exempt",
        ),
    ),
    read=read_shopify_customers,
    threshold=0.7,
    description="Shopify customers export (enrichment: name, email, marketing consent)",
    roles=CUSTOMER_ROLES,
)
