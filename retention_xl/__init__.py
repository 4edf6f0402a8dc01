"""retention_xl: customer-retention analytics where marketers work, in Excel.

The public API. Everything importable from here is listed in ``__all__``; a test
keeps the list in sync. ``import retention_xl`` needs only numpy, pandas and scipy,
and loads them lazily: the names of the calculator core are imported on first use (PEP 562), so the
command line starts without paying for scipy.

>>> import retention_xl
>>> retention_xl.churn_rate(1000, 50)
0.05
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from retention_xl.errors import (
    ConvergenceError,
    ExportError,
    InputError,
    NotEnoughDataError,
    OutOfRangeError,
    RetentionError,
    WorkbookError,
    ZeroDenominatorError,
)

if TYPE_CHECKING:  # type checkers see every name; at run time they load on first use
    from retention_xl.core import *  # noqa: F403

__version__ = "0.1.0"

__all__ = [
    "ACQUISITION_VS_RETENTION_COST",
    "BENCHMARKS",
    "COUNTED_STATUSES",
    "HISTORY_COLUMNS",
    "KPI_ALIASES",
    "LEVELS",
    "MARKETS",
    "MEASURES",
    "MOVEMENT_COLUMNS",
    "PERIOD_COLUMNS",
    "PERIOD_HISTORY_COLUMNS",
    "PREDICTION_COLUMNS",
    "PREDICTION_INTERVAL_COLUMNS",
    "RISK_BANDS",
    "SEGMENTS",
    "SEGMENT_ACTIONS",
    "SUMMARY_COLUMNS",
    "SURVEY_SUMMARY_COLUMNS",
    "Benchmark",
    "BetaGeo",
    "BetaGeoBetaBinom",
    "ConvergenceError",
    "CustomerPredictions",
    "ExportError",
    "Fact",
    "GammaGamma",
    "HoldoutComparison",
    "InputError",
    "IntervalPredictions",
    "KpiReport",
    "ModifiedBetaGeo",
    "NotEnoughDataError",
    "NpsBreakdown",
    "OrderStats",
    "OrderTotals",
    "OutOfRangeError",
    "ParametricModel",
    "ParetoNBD",
    "PeriodCounts",
    "PreparedOrders",
    "RetentionError",
    "SegmentRules",
    "ShiftedBetaGeometric",
    "SubscriptionKpis",
    "TransactionModel",
    "WorkbookError",
    "ZeroDenominatorError",
    "__version__",
    "aov",
    "at_risk_share",
    "benchmark_table",
    "benchmark_target",
    "churn_rate",
    "clv",
    "clv_cac_ratio",
    "cohort_counts",
    "cohort_counts_from_cells",
    "cohort_matrix",
    "csat",
    "customer_lifetimes",
    "customer_summary",
    "gap_to_target",
    "grr",
    "headline_month",
    "holdout_comparison",
    "kaplan_meier",
    "kpi_report",
    "lifespan",
    "load_model",
    "make_transaction_model",
    "matrix_of_counts",
    "model_parameters",
    "monthly_mrr",
    "mrr",
    "mrr_movements",
    "nps",
    "nps_breakdown",
    "nrr",
    "order_totals",
    "parameter_draws",
    "parameter_intervals",
    "period_history",
    "period_table",
    "period_table_from_counts",
    "predict_clv",
    "predict_customers",
    "predict_intervals",
    "predict_totals",
    "prepare_orders",
    "purchase_count_probability",
    "purchase_frequency",
    "purchase_history",
    "purchases_prediction_interval",
    "quick_ratio",
    "rate_kpi",
    "repeat_purchase_rate",
    "retention_rate",
    "rfm_from_summary",
    "rfm_scores",
    "rfm_table",
    "risk_band",
    "score_customers",
    "segment_summary",
    "subscription_kpis",
    "subscription_movements",
    "subscriptions_as_of",
    "summary_from_totals",
    "survey_summary",
    "validate_orders",
    "validate_subscriptions",
    "validate_survey",
]

_ERRORS = frozenset(
    {
        "ConvergenceError",
        "ExportError",
        "InputError",
        "NotEnoughDataError",
        "OutOfRangeError",
        "RetentionError",
        "WorkbookError",
        "ZeroDenominatorError",
    }
)


def __getattr__(name: str) -> Any:
    """Load a core name on first use (and keep it, so the next use is a plain lookup)."""
    if name in __all__ and name not in _ERRORS and name != "__version__":
        value = getattr(importlib.import_module("retention_xl.core"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'retention_xl' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
