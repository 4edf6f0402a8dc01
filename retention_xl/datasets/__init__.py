"""Sample data: the bundled data set and the seeded generator behind it.

``load_sample()`` returns a small synthetic shop (orders, subscriptions, survey
answers over 2023-2024, EUR) in the canonical schema; ``sample_paths()`` gives its CSV
files. The generators make data of any size, the same for the same seed:

* :func:`generate_orders`: buy-till-you-die repeat buying (BG/NBD) with Gamma-Gamma
  spend, seasonality, refunds, cancellations and duplicated export rows;
* :func:`generate_subscriptions`: monthly and annual plans, upgrades, downgrades,
  cancellations, reactivations, trialing / past_due / unpaid statuses;
* :func:`generate_survey`: NPS and CSAT answers a week after purchases;
* :func:`generate_sample`: all three, linked by customer id;
* :func:`write_orders_lake`: generated orders as one Parquet file per month (the
  ``lake`` extra), for ``--orders FOLDER`` and the DuckDB engine.
* :func:`simulate_histories`: repeat-purchase histories and holdout purchases drawn
  from the BG/NBD and Gamma-Gamma models themselves (for checking the models).

Regenerate the bundled files with ``python -m retention_xl.datasets --out DIR``.
"""

from retention_xl.datasets.histories import simulate_histories
from retention_xl.datasets.lake import write_orders_lake
from retention_xl.datasets.orders import BuyTillYouDie, generate_orders
from retention_xl.datasets.sample import (
    SAMPLE_CUSTOMERS,
    SAMPLE_END,
    SAMPLE_SEED,
    SAMPLE_START,
    Sample,
    SamplePaths,
    generate_sample,
    load_sample,
    sample_paths,
    write_sample,
)
from retention_xl.datasets.subscriptions import DEFAULT_PLANS, Plan, generate_subscriptions
from retention_xl.datasets.survey import generate_survey

__all__ = [
    "DEFAULT_PLANS",
    "SAMPLE_CUSTOMERS",
    "SAMPLE_END",
    "SAMPLE_SEED",
    "SAMPLE_START",
    "BuyTillYouDie",
    "Plan",
    "Sample",
    "SamplePaths",
    "generate_orders",
    "generate_sample",
    "generate_subscriptions",
    "generate_survey",
    "load_sample",
    "sample_paths",
    "simulate_histories",
    "write_orders_lake",
    "write_sample",
]
