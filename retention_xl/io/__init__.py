"""Read exports (Shopify, Stripe, WooCommerce, surveys, generic CSV/XLSX) into the
canonical frames of :mod:`retention_xl.core.schema`.

>>> from retention_xl.io import read_orders
>>> imp = read_orders("orders_export.csv", locale="it")  # doctest: +SKIP
>>> print("\\n".join(imp.report.lines()))  # doctest: +SKIP
"""

from retention_xl.io.inputs import Inputs, load_inputs
from retention_xl.io.readers import (
    FORMAT_NAMES,
    detect_format,
    parse_mapping,
    parse_rates,
    read_orders,
    read_subscriptions,
    read_survey,
)
from retention_xl.io.report import Import, ImportReport

__all__ = [
    "FORMAT_NAMES",
    "Import",
    "ImportReport",
    "Inputs",
    "detect_format",
    "load_inputs",
    "parse_mapping",
    "parse_rates",
    "read_orders",
    "read_subscriptions",
    "read_survey",
]
