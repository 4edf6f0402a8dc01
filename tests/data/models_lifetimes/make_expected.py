"""Reference values from lifetimes 0.11.3 on CDNOW and the donations data (see README.md).

Run in an environment with lifetimes (it is not a dependency of retention_xl):

    python -m venv lt && lt/bin/pip install lifetimes==0.11.3 "pandas<3"
    lt/bin/python tests/data/models_lifetimes/make_expected.py

Writes ``customers.csv`` (lifetimes' calibration/holdout summary and its
per-customer predictions), ``params.csv`` (its fitted parameters) and
``donations.csv`` (its BG/BB predictions per donations history) next to this file.
"""

from __future__ import annotations

from pathlib import Path

import lifetimes
import numpy as np
import pandas as pd
from lifetimes.utils import calibration_and_holdout_data

HERE = Path(__file__).resolve().parent
CDNOW = HERE.parent / "cdnow" / "CDNOW_sample.txt"
DONATIONS = HERE.parent / "donations" / "donations.csv"
CALIBRATION_END = "1997-09-30"
OBSERVATION_END = "1998-06-30"
TOL = 1e-9  # tighter than lifetimes' default 1e-7; 1e-10 is too tight for its BFGS


def main() -> None:
    raw = pd.read_csv(
        CDNOW,
        sep=r"\s+",
        header=None,
        names=["customer_id", "sample_id", "date", "cds", "value"],
        dtype={"customer_id": str, "date": str},
    )
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    # Days, then weeks = days / 7: the convention of the published CDNOW results.
    summary = calibration_and_holdout_data(
        raw,
        "customer_id",
        "date",
        calibration_period_end=CALIBRATION_END,
        observation_period_end=OBSERVATION_END,
        freq="D",
        monetary_value_col="value",
    )
    f = summary["frequency_cal"].astype(float)
    r = summary["recency_cal"] / 7.0
    t = summary["T_cal"] / 7.0
    m = summary["monetary_value_cal"]
    holdout_weeks = float(summary["duration_holdout"].iloc[0]) / 7.0

    bgf = lifetimes.BetaGeoFitter().fit(f, r, t, tol=TOL)
    pnbd = lifetimes.ParetoNBDFitter().fit(
        f,
        r,
        t,
        tol=TOL,
        initial_params=np.array([0.55, 10.6, 0.6, 11.7]),
        maxiter=20000,
    )
    mbgf = lifetimes.ModifiedBetaGeoFitter().fit(f, r, t, tol=TOL)
    repeat = f > 0
    ggf = lifetimes.GammaGammaFitter().fit(f[repeat], m[repeat], tol=TOL)

    out = pd.DataFrame(
        {
            "customer_id": summary.index,
            "frequency": f.to_numpy(),
            "recency": r.to_numpy(),
            "T": t.to_numpy(),
            "monetary_value": m.to_numpy(),
            "frequency_holdout": summary["frequency_holdout"].to_numpy(),
            "bgnbd_p_alive": bgf.conditional_probability_alive(f, r, t),
            "bgnbd_expected_39": bgf.conditional_expected_number_of_purchases_up_to_time(
                holdout_weeks, f, r, t
            ).to_numpy(),
            "bgnbd_expected_10": bgf.conditional_expected_number_of_purchases_up_to_time(
                10.0, f, r, t
            ).to_numpy(),
            "pareto_p_alive": pnbd.conditional_probability_alive(f, r, t).to_numpy(),
            "pareto_expected_39": pnbd.conditional_expected_number_of_purchases_up_to_time(
                holdout_weeks, f, r, t
            ).to_numpy(),
            "mbgnbd_p_alive": mbgf.conditional_probability_alive(f, r, t),
            "mbgnbd_expected_39": mbgf.conditional_expected_number_of_purchases_up_to_time(
                holdout_weeks, f, r, t
            ).to_numpy(),
            "mbgnbd_expected_10": mbgf.conditional_expected_number_of_purchases_up_to_time(
                10.0, f, r, t
            ).to_numpy(),
            "gg_expected_avg_value": ggf.conditional_expected_average_profit(f, m).to_numpy(),
            # 12 months of 4.345 weeks, 1 % a month, cash at the end of each month.
            "clv_12m": ggf.customer_lifetime_value(
                bgf, f, r, t, m, time=12, discount_rate=0.01, freq="W"
            ).to_numpy(),
        }
    )
    out.to_csv(HERE / "customers.csv", index=False, float_format="%.12g")

    # BG/BB on the donations data of Fader, Hardie & Shang (2010): 22 rows of counts.
    donations = pd.read_csv(DONATIONS)
    x, tx, n = donations["frequency"], donations["recency"], donations["periods"]
    # (its BFGS stops on "precision loss" at 1e-9 with a gradient of 5e-9: 1e-8 is reachable)
    bgbb = lifetimes.BetaGeoBetaBinomFitter().fit(x, tx, n, weights=donations["weights"], tol=1e-8)
    pd.DataFrame(
        {
            "frequency": x,
            "recency": tx,
            "periods": n,
            "p_alive": bgbb.conditional_probability_alive(1, x, tx, n),
            "expected_1": bgbb.conditional_expected_number_of_purchases_up_to_time(1, x, tx, n),
            "expected_5": bgbb.conditional_expected_number_of_purchases_up_to_time(5, x, tx, n),
        }
    ).to_csv(HERE / "donations.csv", index=False, float_format="%.12g")

    rows = []
    fitters = (
        ("bgnbd", bgf),
        ("pareto_nbd", pnbd),
        ("gamma_gamma", ggf),
        ("mbgnbd", mbgf),
        ("bgbb", bgbb),
    )
    for name, fitter in fitters:
        for parameter, value in fitter.params_.items():
            rows.append({"model": name, "parameter": parameter, "value": float(value)})
    # BG/BB's log-likelihood: lifetimes minimises its mean over the customers (the
    # BG/NBD family's is of times lifetimes rescales internally: not comparable)
    bgbb_ll = -float(bgbb._negative_log_likelihood_) * float(donations["weights"].sum())
    rows.append({"model": "bgbb", "parameter": "log_likelihood", "value": bgbb_ll})
    pd.DataFrame(rows).to_csv(HERE / "params.csv", index=False, float_format="%.12g")
    print(pd.DataFrame(rows))
    print(f"lifetimes {lifetimes.__version__}, pandas {pd.__version__}, numpy {np.__version__}")


if __name__ == "__main__":
    main()
