"""Plain-text formatting of KPI values for the terminal (the CLI's tables).

Numbers are formatted only here and in the workbook's number formats: the core
returns float64 values, never rounded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["KPI_LABELS", "format_value", "render_table"]

KPI_LABELS: dict[str, str] = {
    "customers": "Customers",
    "orders": "Orders",
    "revenue": "Revenue",
    "aov": "Average order value",
    "purchase_frequency": "Orders per customer",
    "repeat_rate": "Repeat purchase rate",
    "start_customers": "Active customers at period start",
    "new_customers": "New customers in period",
    "lost_customers": "Customers lost in period",
    "churn": "Churn rate",
    "crr": "Customer retention rate",
    "lifespan": "Customer lifespan",
    "clv": "Customer lifetime value",
    "clv_cac": "CLV : CAC",
    "at_risk_share": "Customers at risk",
    "mrr": "MRR",
    "arr": "ARR",
    "arpa": "ARPA",
    "subscribers": "Subscribers",
    "logo_churn": "Logo churn (month)",
    "nrr": "Net revenue retention",
    "grr": "Gross revenue retention",
    "quick_ratio": "Quick ratio",
    "nps": "Net Promoter Score",
    "nps_answers": "NPS answers",
    "csat": "CSAT",
    "csat_answers": "CSAT answers",
}


def format_value(value: float, unit: str, currency: str = "EUR") -> str:
    """Format one KPI value for reading: ``0.0512, "rate"`` -> ``"5.1 %"``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if unit == "rate":
        return f"{value * 100:.1f} %"
    if unit == "currency":
        return f"{value:,.2f} {currency}"
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "ratio":
        return f"{value:.2f} : 1"
    if unit == "years":
        return f"{value:.1f} years"
    if unit == "score":
        return f"{value:+.1f}"
    return f"{value:,.2f}"


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
