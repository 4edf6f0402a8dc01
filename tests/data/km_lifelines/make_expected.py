"""Make the Kaplan-Meier reference tables with lifelines (an outside implementation).

Run once, in an environment with lifelines (it needs pandas < 3):

    python -m venv venv-lifelines
    venv-lifelines/bin/pip install lifelines
    venv-lifelines/bin/python tests/data/km_lifelines/make_expected.py

It writes ``inputs.csv`` (dataset, duration, ended) and ``expected.csv``: for every
distinct observed time of each dataset, lifelines' ``KaplanMeierFitter().fit(T, E)``
event table (``at_risk``, ``observed`` -> ``events``, ``censored``), survival function
and 95 % confidence interval (``alpha=0.05``, lifelines' exponential Greenwood band).
"""

from __future__ import annotations

from pathlib import Path

import lifelines
import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def datasets() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(20240601)
    out = {}
    # small, integer times, many ties between events and censoring
    t = rng.integers(0, 20, 40).astype(float)
    out["ties_small"] = (t, rng.random(40) < 0.6)
    # customer-like: days, many one-time buyers ended at 0, the rest censored or ended
    n = 300
    t = np.where(rng.random(n) < 0.3, 0.0, rng.integers(1, 400, n).astype(float))
    e = np.where(t == 0, True, rng.random(n) < 0.5)
    out["customers_days"] = (t, e)
    # continuous times, no ties
    t = np.round(rng.exponential(12.0, 50), 6)
    out["continuous"] = (t, rng.random(50) < 0.7)
    # the last subject is censored; everyone else ended
    t = np.array([1.0, 1, 2, 3, 3, 3, 5, 8, 8, 13])
    e = np.array([1, 1, 1, 1, 0, 1, 1, 1, 1, 0], dtype=bool)
    out["tail_censored"] = (t, e)
    # every subject ends: survival reaches 0
    t = np.array([2.0, 4, 4, 6, 7, 7, 7, 9])
    out["all_ended"] = (t, np.ones(8, dtype=bool))
    return out


def main() -> None:
    inputs, expected = [], []
    for name, (t, e) in datasets().items():
        inputs.append(pd.DataFrame({"dataset": name, "duration": t, "ended": e.astype(int)}))
        kmf = lifelines.KaplanMeierFitter().fit(t, e, alpha=0.05)
        table = kmf.event_table
        table = table[table["removed"] > 0]
        ci = kmf.confidence_interval_
        expected.append(
            pd.DataFrame(
                {
                    "dataset": name,
                    "time": table.index.to_numpy(dtype=float),
                    "at_risk": table["at_risk"].to_numpy(),
                    "events": table["observed"].to_numpy(),
                    "censored": table["censored"].to_numpy(),
                    "survival": kmf.survival_function_.loc[table.index].iloc[:, 0].to_numpy(),
                    "lower_95": ci.loc[table.index, "KM_estimate_lower_0.95"].to_numpy(),
                    "upper_95": ci.loc[table.index, "KM_estimate_upper_0.95"].to_numpy(),
                }
            )
        )
    pd.concat(inputs).to_csv(HERE / "inputs.csv", index=False, float_format="%.10g")
    pd.concat(expected).to_csv(HERE / "expected.csv", index=False, float_format="%.17g")
    print(f"lifelines {lifelines.__version__}, pandas {pd.__version__}")


if __name__ == "__main__":
    main()
