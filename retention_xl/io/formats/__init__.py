"""Export layouts, one module per platform; :data:`FORMATS` lists them all."""

from __future__ import annotations

from retention_xl.io.formats.base import Format
from retention_xl.io.formats.customers import SHOPIFY_CUSTOMERS
from retention_xl.io.formats.generic import GENERIC_ORDERS, GENERIC_SUBSCRIPTIONS, GENERIC_SURVEY
from retention_xl.io.formats.shopify import SHOPIFY_ORDERS
from retention_xl.io.formats.stripe import STRIPE_INVOICES, STRIPE_PAYMENTS, STRIPE_SUBSCRIPTIONS
from retention_xl.io.formats.survey import SURVEYMONKEY, TYPEFORM
from retention_xl.io.formats.woocommerce import WOOCOMMERCE_ANALYTICS, WOOCOMMERCE_ORDERS

__all__ = ["FORMATS", "GENERIC", "Format"]

#: Every known layout; detection picks the best-scoring one of the requested kind.
FORMATS: tuple[Format, ...] = (
    SHOPIFY_ORDERS,
    WOOCOMMERCE_ORDERS,
    WOOCOMMERCE_ANALYTICS,
    STRIPE_PAYMENTS,
    STRIPE_INVOICES,
    STRIPE_SUBSCRIPTIONS,
    TYPEFORM,
    SURVEYMONKEY,
    SHOPIFY_CUSTOMERS,
)

#: The fallback per kind.
GENERIC: dict[str, Format] = {
    "orders": GENERIC_ORDERS,
    "subscriptions": GENERIC_SUBSCRIPTIONS,
    "survey": GENERIC_SURVEY,
    "customers": SHOPIFY_CUSTOMERS,  # one layout; its synonyms read plain files too
}
