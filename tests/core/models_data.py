"""The CDNOW sample, the sBG survivor counts and the BG/BB donations, as the model tests
read them.

CDNOW (Fader, Hardie & Lee 2005): 2,357 customers of the first quarter of 1997,
whitespace-separated: customer id, id within the sample, date YYYYMMDD, number of
CDs, dollar value. Eight customers' only transaction is worth $0; the papers count
them as one-time buyers, while retention_xl counts only orders with positive net
revenue as purchases, so :func:`published_summary` adds them back (frequency 0).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parent.parent / "data"
CALIBRATION_END = pd.Timestamp("1997-09-30")
HOLDOUT_END = pd.Timestamp("1998-06-30")


def cdnow_raw() -> pd.DataFrame:
    return pd.read_csv(
        DATA / "cdnow" / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["customer_id", "sample_id", "date", "cds", "value"],
        dtype={"customer_id": str, "date": str},
    )


def cdnow_orders() -> pd.DataFrame:
    """The CDNOW transactions as canonical orders (one order per row)."""
    raw = cdnow_raw()
    return pd.DataFrame(
        {
            "customer_id": raw["customer_id"],
            "order_id": [f"t{i}" for i in range(len(raw))],
            "order_date": pd.to_datetime(raw["date"], format="%Y%m%d"),
            "amount": raw["value"].astype(float),
        }
    )


def published_summary(history: pd.DataFrame) -> pd.DataFrame:
    """``history`` (weeks) plus the eight $0 one-time buyers: the papers' 2,357 rows."""
    raw = cdnow_raw()
    free = raw[raw["value"] <= 0]
    dates = pd.to_datetime(free["date"], format="%Y%m%d")
    extra = pd.DataFrame(
        {
            "frequency": 0.0,
            "recency": 0.0,
            "age": (CALIBRATION_END - dates).dt.days.to_numpy() / 7.0,
            "monetary_value": np.nan,
        },
        index=pd.Index(free["customer_id"].to_numpy(), name="customer_id"),
    )
    cols = ["frequency", "recency", "age", "monetary_value"]
    return pd.concat([history[cols], extra]).sort_index()


def sbg_survivors() -> pd.DataFrame:
    return pd.read_csv(DATA / "sbg" / "sbg_survivors.csv")


def lifetimes_customers() -> pd.DataFrame:
    return pd.read_csv(
        DATA / "models_lifetimes" / "customers.csv", dtype={"customer_id": str}
    ).set_index("customer_id")


def lifetimes_params() -> dict[tuple[str, str], float]:
    frame = pd.read_csv(DATA / "models_lifetimes" / "params.csv")
    return {(m, p): float(v) for m, p, v in frame.itertuples(index=False)}


def donations() -> pd.DataFrame:
    """Fader, Hardie & Shang (2010): 11,104 donors of 1995, six years (22 rows of counts)."""
    return pd.read_csv(DATA / "donations" / "donations.csv")


def lifetimes_donations() -> pd.DataFrame:
    return pd.read_csv(DATA / "models_lifetimes" / "donations.csv")
