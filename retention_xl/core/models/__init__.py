"""Predictive models of customer behaviour: who is still a customer, what they will buy.

One module per model over a small shared base (:mod:`._base`: input checks, weights
over distinct histories, the maximum-likelihood fit):

=========================  =====================================================
:class:`BetaGeo`           BG/NBD repeat buying (Fader, Hardie & Lee 2005)
:class:`ModifiedBetaGeo`   MBG/NBD: BG/NBD with dropout at the first purchase too
                           (Batislam, Denizel & Filiztekin 2007)
:class:`BetaGeoBetaBinom`  BG/BB repeat buying in discrete periods (Fader, Hardie &
                           Shang 2010)
:class:`ParetoNBD`         Pareto/NBD (Schmittlein, Morrison & Colombo 1987)
:class:`GammaGamma`        spend per transaction (Fader & Hardie 2013)
:class:`ShiftedBetaGeometric`  contractual retention (Fader & Hardie 2007)
=========================  =====================================================

Estimators follow one pattern: settings in ``__init__`` (keyword-only, validated),
``fit(...)`` returns ``self``, results in ``params_``, ``log_likelihood_`` and
``summary``; ``to_json()`` saves a fitted model and :func:`load_model` gives it back
bit for bit. :func:`purchase_history` turns orders into the models' inputs,
:func:`predict_customers` does the whole job per customer,
:func:`predict_intervals` and :func:`predict_totals` put intervals on the predictions
(from the uncertainty of the fitted parameters) and :func:`holdout_comparison`
checks a fit against a holdout period.
"""

from retention_xl.core.models._base import ParametricModel, load_model
from retention_xl.core.models.bgbb import BetaGeoBetaBinom
from retention_xl.core.models.bgnbd import BetaGeo
from retention_xl.core.models.gamma_gamma import GammaGamma, TransactionModel, predict_clv
from retention_xl.core.models.history import (
    HISTORY_COLUMNS,
    PERIOD_HISTORY_COLUMNS,
    period_history,
    purchase_history,
)
from retention_xl.core.models.holdout import (
    HoldoutComparison,
    holdout_comparison,
    make_transaction_model,
)
from retention_xl.core.models.intervals import (
    IntervalPredictions,
    parameter_draws,
    parameter_intervals,
    predict_intervals,
    predict_totals,
    purchase_count_probability,
    purchases_prediction_interval,
)
from retention_xl.core.models.mbgnbd import ModifiedBetaGeo
from retention_xl.core.models.pareto_nbd import ParetoNBD
from retention_xl.core.models.predict import (
    PREDICTION_COLUMNS,
    PREDICTION_INTERVAL_COLUMNS,
    RISK_BANDS,
    CustomerPredictions,
    model_parameters,
    predict_customers,
    risk_band,
    score_customers,
)
from retention_xl.core.models.sbg import ShiftedBetaGeometric

__all__ = [
    "HISTORY_COLUMNS",
    "PERIOD_HISTORY_COLUMNS",
    "PREDICTION_COLUMNS",
    "PREDICTION_INTERVAL_COLUMNS",
    "RISK_BANDS",
    "BetaGeo",
    "BetaGeoBetaBinom",
    "CustomerPredictions",
    "GammaGamma",
    "HoldoutComparison",
    "IntervalPredictions",
    "ModifiedBetaGeo",
    "ParametricModel",
    "ParetoNBD",
    "ShiftedBetaGeometric",
    "TransactionModel",
    "holdout_comparison",
    "load_model",
    "make_transaction_model",
    "model_parameters",
    "parameter_draws",
    "parameter_intervals",
    "period_history",
    "predict_clv",
    "predict_customers",
    "predict_intervals",
    "predict_totals",
    "purchase_count_probability",
    "purchase_history",
    "purchases_prediction_interval",
    "risk_band",
    "score_customers",
]
