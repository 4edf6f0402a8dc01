"""Export layouts, one module per platform; :data:`FORMATS` lists them all."""

from __future__ import annotations

from retention_xl.io.formats.base import Format
from retention_xl.io.formats.generic import GENERIC_ORDERS, GENERIC_SUBSCRIPTIONS, GENERIC_SURVEY

__all__ = ["FORMATS", "GENERIC", "Format"]

#: Every known layout; detection picks the best-scoring one of the requested kind.
FORMATS: tuple[Format, ...] = ()

#: The fallback per kind.
GENERIC: dict[str, Format] = {
    "orders": GENERIC_ORDERS,
    "subscriptions": GENERIC_SUBSCRIPTIONS,
    "survey": GENERIC_SURVEY,
}
