"""The calculator core: pure numpy/pandas/scipy, no Excel, no files.

It is the single source of every number the package shows: the Excel functions,
the workbook's cached values and the CLI all call it.
"""

from retention_xl.core.cohorts import cohort_counts, cohort_matrix
from retention_xl.core.customers import (
    SegmentRules,
    customer_summary,
    rfm_table,
    segment_summary,
)
from retention_xl.core.kpis import (
    aov,
    at_risk_share,
    churn_rate,
    clv,
    clv_cac_ratio,
    csat,
    grr,
    lifespan,
    mrr,
    nps,
    nrr,
    purchase_frequency,
    quick_ratio,
    repeat_purchase_rate,
    retention_rate,
)
from retention_xl.core.periods import period_table
from retention_xl.core.schema import (
    OrderStats,
    PreparedOrders,
    prepare_orders,
    validate_orders,
    validate_subscriptions,
    validate_survey,
)

__all__ = [
    "OrderStats",
    "PreparedOrders",
    "SegmentRules",
    "aov",
    "at_risk_share",
    "churn_rate",
    "clv",
    "clv_cac_ratio",
    "cohort_counts",
    "cohort_matrix",
    "csat",
    "customer_summary",
    "grr",
    "lifespan",
    "mrr",
    "nps",
    "nrr",
    "period_table",
    "prepare_orders",
    "purchase_frequency",
    "quick_ratio",
    "repeat_purchase_rate",
    "retention_rate",
    "rfm_table",
    "segment_summary",
    "validate_orders",
    "validate_subscriptions",
    "validate_survey",
]
