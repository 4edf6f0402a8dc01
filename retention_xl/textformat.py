"""Plain-text formatting of KPI values for the terminal (the CLI's tables).

Numbers are formatted only here and in the workbook's number formats: the core
returns float64 values, never rounded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["format_value", "render_table"]


def format_value(value: float, unit: str, currency: str = "EUR", lang: str = "en") -> str:
    """Format one KPI value for reading: ``0.0512, "rate"`` -> ``"5.1 %"``; Italian
    swaps the separators (``1.234,56 EUR``) and says ``anni``.

    >>> format_value(1234.5, "currency"), format_value(1234.5, "currency", lang="it")
    ('1,234.50 EUR', '1.234,50 EUR')
    >>> format_value(0.0512, "rate", lang="it"), format_value(1.35, "years", lang="it")
    ('5,1 %', '1,4 anni')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a" if lang == "en" else "n.d."
    if unit == "rate":
        text = f"{value * 100:.1f} %"
    elif unit == "currency":
        text = f"{value:,.2f} {currency}"
    elif unit == "count":
        text = f"{value:,.0f}"
    elif unit == "ratio":
        text = f"{value:.2f} : 1"
    elif unit == "years":
        text = f"{value:.1f} " + ("years" if lang == "en" else "anni")
    elif unit == "score":
        text = f"{value:+.1f}"
    else:
        text = f"{value:,.2f}"
    if lang == "it":
        text = text.translate({ord(","): ".", ord("."): ","})
    return text


def render_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A fixed-width text table; the first column left-aligned, others right."""
    widths = [len(h) for h in header]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        parts = [cells[0].ljust(widths[0])]
        parts += [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join(parts).rstrip()

    out = [line(header), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in rows]
    return "\n".join(out)
