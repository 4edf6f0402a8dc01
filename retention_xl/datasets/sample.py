"""The bundled sample data set: how it is made, written, found and loaded.

The sample is a small online shop with a subscription club: :data:`SAMPLE_CUSTOMERS`
customers over two calendar years, made by :func:`generate_sample` with
:data:`SAMPLE_SEED`. The files in ``retention_xl/datasets/data/`` are exactly what
``python -m retention_xl.datasets --out retention_xl/datasets/data`` writes (a test
regenerates them and compares the bytes).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from retention_xl.csvsafe import write_csv
from retention_xl.datasets._checks import check_count, check_seed
from retention_xl.datasets.orders import ORDER_DTYPES, generate_orders
from retention_xl.datasets.subscriptions import SUBSCRIPTION_DTYPES, generate_subscriptions
from retention_xl.datasets.survey import SURVEY_DTYPES, generate_survey

__all__ = [
    "DATA_DIR",
    "SAMPLE_CUSTOMERS",
    "SAMPLE_END",
    "SAMPLE_SEED",
    "SAMPLE_START",
    "Sample",
    "SamplePaths",
    "generate_sample",
    "load_sample",
    "sample_paths",
    "write_sample",
]

#: Seed of the bundled sample.
SAMPLE_SEED: Final = 2024
#: Customers of the bundled sample (about 800 of them also subscribe).
SAMPLE_CUSTOMERS: Final = 3000
SAMPLE_START: Final = "2023-01-01"
SAMPLE_END: Final = "2024-12-31"
#: Where the bundled files live (inside the installed package).
DATA_DIR: Final = Path(__file__).resolve().parent / "data"

# Shares of the order customers who also subscribe, and survey answers per customer.
_SUBSCRIBER_SHARE: Final = 800 / 3000
_ANSWERS_PER_CUSTOMER: Final = 0.5
_FILES: Final = {
    "orders": "orders.csv",
    "subscriptions": "subscriptions.csv",
    "survey": "survey.csv",
}
_DATE_COLUMNS: Final = {
    "orders": ("order_date",),
    "subscriptions": ("start_date", "end_date"),
    "survey": ("answered_at",),
}
_DTYPES: Final = {
    "orders": ORDER_DTYPES,
    "subscriptions": SUBSCRIPTION_DTYPES,
    "survey": SURVEY_DTYPES,
}


@dataclass(frozen=True, slots=True)
class Sample:
    """Orders, subscriptions and survey answers of one (synthetic) business.

    Each frame is in the canonical schema of :mod:`retention_xl.core.schema`, amounts
    in EUR.
    """

    orders: pd.DataFrame
    subscriptions: pd.DataFrame
    survey: pd.DataFrame


@dataclass(frozen=True, slots=True)
class SamplePaths:
    """Paths of the three CSV files of a sample (canonical column names, UTF-8)."""

    orders: Path
    subscriptions: Path
    survey: Path


def generate_sample(
    n_customers: int = SAMPLE_CUSTOMERS,
    *,
    seed: int = SAMPLE_SEED,
    start: str | pd.Timestamp = SAMPLE_START,
    end: str | pd.Timestamp = SAMPLE_END,
) -> Sample:
    """Generate a sample of any size: orders, subscriptions and survey answers.

    ``n_customers`` shoppers place orders (:func:`generate_orders`); about 27 % of
    them also subscribe (:func:`generate_subscriptions`) and about one answer per two
    customers is collected a week after a purchase (:func:`generate_survey`). The
    same arguments give the same frames; ``generate_sample()`` equals
    :func:`load_sample` ``()``.

    Examples
    --------
    >>> s = generate_sample(300, seed=1)
    >>> s.orders["customer_id"].nunique()
    300
    """
    n_customers = check_count(n_customers, "n_customers")
    seed = check_seed(seed)
    orders = generate_orders(n_customers, seed=seed, start=start, end=end)
    first = orders.groupby("customer_id", sort=True)["order_date"].min()
    rng = np.random.default_rng([seed, 3])
    n_subscribers = round(len(first) * _SUBSCRIBER_SHARE)
    chosen = np.sort(rng.choice(len(first), size=n_subscribers, replace=False))
    # subscribers join the club on their first order or later
    subscriptions = generate_subscriptions(
        customer_ids=first.index[chosen].astype(str).tolist(),
        joined=list(first.iloc[chosen]),
        seed=seed,
        start=start,
        end=end,
    )
    survey = generate_survey(
        orders,
        n_answers=round(n_customers * _ANSWERS_PER_CUSTOMER),
        seed=seed,
        end=end,
    )
    return Sample(orders=orders, subscriptions=subscriptions, survey=survey)


def _to_csv_frame(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    out = frame.copy()
    for col in _DATE_COLUMNS[kind]:
        values = out[col]
        has_time = bool((values.dropna() != values.dropna().dt.normalize()).any())
        fmt = "%Y-%m-%d %H:%M:%S" if has_time else "%Y-%m-%d"
        out[col] = values.dt.strftime(fmt)
    if kind == "survey":
        out["score"] = out["score"].map(lambda v: f"{v:g}")
    return out


def write_sample(sample: Sample, directory: str | Path) -> SamplePaths:
    """Write ``sample`` as ``orders.csv``, ``subscriptions.csv`` and ``survey.csv``.

    The files use the canonical column names, ``,`` separators, ``.`` decimals with two
    digits for money, ISO dates and ``\\n`` line ends, so the same sample always gives
    the same bytes. ``directory`` is created if needed.
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    paths = SamplePaths(**{kind: folder / name for kind, name in _FILES.items()})
    for kind in _FILES:
        frame = _to_csv_frame(getattr(sample, kind), kind)
        write_csv(
            frame, getattr(paths, kind), index=False, lineterminator="\n", float_format="%.2f"
        )
    return paths


def sample_paths() -> SamplePaths:
    """Paths of the bundled CSV files (to pass to the CLI or to :mod:`retention_xl.io`).

    Examples
    --------
    >>> sample_paths().orders.name
    'orders.csv'
    """
    paths = SamplePaths(**{kind: DATA_DIR / name for kind, name in _FILES.items()})
    for kind in _FILES:
        path: Path = getattr(paths, kind)
        if not path.is_file():
            raise FileNotFoundError(
                f"the bundled sample file {path.name!r} is missing from {path.parent}; "
                "reinstall retention-xl or run: python -m retention_xl.datasets --out "
                f"{path.parent}"
            )
    return paths


def read_sample_csv(path: str | Path, kind: str) -> pd.DataFrame:
    """Read one file written by :func:`write_sample` with explicit dtypes."""
    dtypes = _DTYPES[kind]
    dates = _DATE_COLUMNS[kind]
    frame = pd.read_csv(
        path,
        dtype={c: t for c, t in dtypes.items() if c not in dates},
        keep_default_na=False,
        na_values={c: [""] for c in dtypes},
        encoding="utf-8",
    )
    for col in dates:
        frame[col] = pd.to_datetime(frame[col], format="ISO8601").astype("datetime64[ns]")
    return frame[list(dtypes)]


def load_sample() -> Sample:
    """Load the bundled sample: a shop with subscriptions and surveys, 2023-2024.

    3,000 customers and about 10,500 order rows (with refunds, cancellations and a few
    duplicated rows, as real exports have), 800 subscribers on monthly and annual
    plans, and 1,500 NPS and CSAT answers. Every call returns new frames.

    Examples
    --------
    >>> sample = load_sample()
    >>> sample.orders["currency"].unique().tolist()
    ['EUR']
    """
    paths = sample_paths()
    return Sample(
        orders=read_sample_csv(paths.orders, "orders"),
        subscriptions=read_sample_csv(paths.subscriptions, "subscriptions"),
        survey=read_sample_csv(paths.survey, "survey"),
    )
