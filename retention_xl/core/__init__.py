"""The calculator core: pure numpy/pandas/scipy, no Excel, no files.

It is the single source of every number the package shows: the Excel functions,
the workbook's cached values and the CLI all call it.
"""

from retention_xl.core.benchmarks import (
    BENCHMARKS,
    benchmark_table,
    benchmark_target,
    gap_to_target,
    rate_kpi,
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
from retention_xl.core.schema import (
    OrderStats,
    PreparedOrders,
    prepare_orders,
    validate_orders,
    validate_subscriptions,
    validate_survey,
)
from retention_xl.core.subscriptions import (
    monthly_mrr,
    mrr_movements,
    subscription_kpis,
    subscription_movements,
)
from retention_xl.core.survey import NpsBreakdown, nps_breakdown, survey_summary
from retention_xl.core.survival import customer_lifetimes, kaplan_meier

__all__ = [
    "BENCHMARKS",
    "NpsBreakdown",
    "OrderStats",
    "PreparedOrders",
    "aov",
    "at_risk_share",
    "benchmark_table",
    "benchmark_target",
    "churn_rate",
    "clv",
    "clv_cac_ratio",
    "csat",
    "customer_lifetimes",
    "gap_to_target",
    "grr",
    "kaplan_meier",
    "lifespan",
    "monthly_mrr",
    "mrr",
    "mrr_movements",
    "nps",
    "nps_breakdown",
    "nrr",
    "prepare_orders",
    "purchase_frequency",
    "quick_ratio",
    "rate_kpi",
    "repeat_purchase_rate",
    "retention_rate",
    "subscription_kpis",
    "subscription_movements",
    "survey_summary",
    "validate_orders",
    "validate_subscriptions",
    "validate_survey",
]
