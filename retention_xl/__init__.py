"""retention_xl: customer-retention analytics where marketers work, in Excel.

The public API. Everything importable from here is listed in ``__all__``; a test
keeps the list in sync. ``import retention_xl`` needs only numpy, pandas and scipy.
"""

from retention_xl.core import (
    OrderStats,
    PreparedOrders,
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
    prepare_orders,
    purchase_frequency,
    quick_ratio,
    repeat_purchase_rate,
    retention_rate,
    validate_orders,
    validate_subscriptions,
    validate_survey,
)
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

__version__ = "0.1.0"

__all__ = [
    "ConvergenceError",
    "ExportError",
    "InputError",
    "NotEnoughDataError",
    "OrderStats",
    "OutOfRangeError",
    "PreparedOrders",
    "RetentionError",
    "WorkbookError",
    "ZeroDenominatorError",
    "__version__",
    "aov",
    "at_risk_share",
    "churn_rate",
    "clv",
    "clv_cac_ratio",
    "csat",
    "grr",
    "lifespan",
    "mrr",
    "nps",
    "nrr",
    "prepare_orders",
    "purchase_frequency",
    "quick_ratio",
    "repeat_purchase_rate",
    "retention_rate",
    "validate_orders",
    "validate_subscriptions",
    "validate_survey",
]
