"""Coverage of the 90 % intervals: how often do they contain the truth?

Run: ``python benchmarks/calibration.py [--replications 400] [--customers 2357]
[--seed 0]`` in an environment where retention_xl is installed. Nothing is written.

Each replication draws a customer base from known BG/NBD and Gamma-Gamma parameters
(``simulate_histories``: CDNOW's published estimates, Fader, Hardie & Lee 2005 and
Fader & Hardie 2013; first purchases over 12 weeks, 39 weeks observed, 39 weeks of
holdout, as in the paper), fits both models, and checks whether the 90 % intervals
contain

* each true parameter (``parameter_intervals``: r, alpha, a, b; p, q, gamma);
* the expected total of the holdout purchases under the true parameters, given the
  histories (``predict_totals``' ``expected_purchases`` interval);
* the total of the holdout purchases the customers actually made (its
  ``purchases`` prediction interval);
* the expected holdout revenue under the true parameters (``revenue``), with
  ``--revenue`` (it needs the CLV's horizons too, so it is slower).

It prints each share with a 95 % binomial (Clopper-Pearson) interval; the intervals
are calibrated when the shares are near 90 % (85-95 %). ``tests/core/
test_intervals_calibration.py`` runs the same replications, fewer of them.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

from scipy import stats

from retention_xl.core.models import (
    BetaGeo,
    GammaGamma,
    parameter_intervals,
    predict_totals,
)
from retention_xl.datasets import BuyTillYouDie, simulate_histories
from retention_xl.errors import ConvergenceError, NotEnoughDataError

#: CDNOW: BG/NBD (Fader, Hardie & Lee 2005), Gamma-Gamma (Fader & Hardie 2013).
TRUTH = BuyTillYouDie(r=0.243, alpha=4.414, a=0.793, b=2.426, p=6.25, q=3.74, gamma=15.44)
#: The checks of each replication, in the order printed.
CHECKS = (
    "r",
    "alpha",
    "a",
    "b",
    "p",
    "q",
    "gamma",
    "expected_purchases",
    "purchases",
    "revenue",
)
LEVEL = 0.9
HOLDOUT_DAYS = 273  # 39 weeks


def replicate(
    seed: int, *, customers: int = 2357, revenue: bool = False, level: float = LEVEL
) -> dict[str, bool]:
    """One replication: simulate, fit, and whether each interval holds the truth
    (empty when a model cannot be fitted on the simulated customers)."""
    data = simulate_histories(
        customers,
        process=TRUTH,
        min_age_days=273 - 84,
        max_age_days=273,
        holdout_days=HOLDOUT_DAYS,
        seed=seed,
    )
    x, tx, t, m = (data[c] for c in ("frequency", "recency", "age", "monetary_value"))
    horizon = float(data.attrs["holdout"])
    try:
        bg = BetaGeo().fit(x, tx, t)
        gg = GammaGamma().fit(x, m)
    except (ConvergenceError, NotEnoughDataError):
        return {}  # counted as a failed fit, outside the coverage
    out: dict[str, bool] = {}
    for model in (bg, gg):
        bounds = parameter_intervals(model, level)
        for name, row in bounds.iterrows():
            truth = getattr(TRUTH, str(name))
            out[str(name)] = bool(row["low"] <= truth <= row["high"])
    true_bg = BetaGeo.from_params(r=TRUTH.r, alpha=TRUTH.alpha, a=TRUTH.a, b=TRUTH.b)
    true_purchases = true_bg.expected_purchases(horizon, x, tx, t)
    totals = predict_totals(
        bg, gg if revenue else None, x, tx, t, m, horizon=horizon, level=level, seed=seed
    )
    expected = float(true_purchases.sum())
    actual = float(data["holdout_purchases"].sum())
    for name, value in (("expected_purchases", expected), ("purchases", actual)):
        out[name] = bool(totals.loc[name, "low"] <= value <= totals.loc[name, "high"])
    if revenue:
        true_gg = GammaGamma.from_params(p=TRUTH.p, q=TRUTH.q, gamma=TRUTH.gamma)
        spend = true_gg.expected_avg_value(x, m)
        value = float((spend * true_purchases).sum())
        out["revenue"] = bool(
            totals.loc["revenue", "low"] <= value <= totals.loc["revenue", "high"]
        )
    return out


def coverage(results: Sequence[dict[str, bool]]) -> dict[str, tuple[int, int]]:
    """Per check: (replications whose interval held the truth, replications)."""
    out = {}
    for name in CHECKS:
        hits = [r[name] for r in results if name in r]
        if hits:
            out[name] = (int(sum(hits)), len(hits))
    return out


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The exact binomial confidence interval of a share k / n."""
    tail = (1.0 - confidence) / 2.0
    low = 0.0 if k == 0 else float(stats.beta.ppf(tail, k, n - k + 1))
    high = 1.0 if k == n else float(stats.beta.isf(tail, k + 1, n - k))
    return low, high


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=400)
    parser.add_argument("--customers", type=int, default=2357)
    parser.add_argument("--seed", type=int, default=0, help="first replication's seed")
    parser.add_argument("--revenue", action="store_true", help="also check revenue")
    args = parser.parse_args()
    start = time.perf_counter()
    results = [
        replicate(args.seed + i, customers=args.customers, revenue=args.revenue)
        for i in range(args.replications)
    ]
    seconds = time.perf_counter() - start
    print(
        f"{args.replications} replications of {args.customers:,} customers (seeds "
        f"{args.seed}..{args.seed + args.replications - 1}), {LEVEL:.0%} intervals, "
        f"{seconds:.0f} s ({seconds / args.replications:.2f} s each)"
    )
    print(f"truth: {TRUTH}")
    failed = sum(not r for r in results)
    if failed:
        print(f"  ({failed} replications left out: a model could not be fitted on them)")
    for name, (k, n) in coverage(results).items():
        low, high = clopper_pearson(k, n)
        print(f"  {name:20s} {k:4d}/{n}  {k / n:6.1%}  (95 % CI {low:.1%}-{high:.1%})")
    print(
        "Calibrated: near 90 %; a share outside 85-95 % with a CI that excludes 90 % "
        "means too narrow (below) or too wide (above)."
    )


if __name__ == "__main__":
    main()
