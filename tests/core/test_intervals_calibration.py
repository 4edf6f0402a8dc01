"""Calibration: do the 90 % intervals contain the truth about 90 % of the time?

200 replications of ``benchmarks/calibration.py`` (the long version runs 400 or more
and prints the shares): each draws 2,357 customers from CDNOW's published BG/NBD and
Gamma-Gamma estimates, fits both models and checks whether the 90 % intervals hold
the seven true parameters, the expected total of the 39-week holdout purchases under
the true parameters and the total the customers actually bought.

The tolerance band is computed, not chosen: with 200 replications and a true coverage
of 90 %, the number of replications whose interval holds the truth lies in [165, 192]
with probability at least 99.9 % (0.05 % below, 0.05 % above; for the nine checks
together at least 99 %). Intervals that cover 80 % (too narrow) or 98 % (too wide) of
the time fail a check with probability 78 % and 95 %, one that always covers (such
as a sum of per-customer bounds) with certainty.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
from scipy.stats import binom

ROOT = Path(__file__).resolve().parents[2]
REPLICATIONS = 200
FIRST_SEED = 100_000  # the benchmark's default replications start at 0
NOMINAL = 0.9
TAIL = 0.0005  # per side and check


def _calibration() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "calibration", ROOT / "benchmarks" / "calibration.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def coverage() -> dict[str, tuple[int, int]]:
    calibration = _calibration()
    results = [calibration.replicate(FIRST_SEED + i) for i in range(REPLICATIONS)]
    return calibration.coverage(results)


def test_the_band_is_the_binomial_one():
    low = int(binom.ppf(TAIL, REPLICATIONS, NOMINAL))
    high = int(binom.isf(TAIL, REPLICATIONS, NOMINAL))
    assert (low, high) == (165, 192)  # as stated in the module's docstring
    assert binom.cdf(low - 1, REPLICATIONS, NOMINAL) <= TAIL
    assert binom.sf(high, REPLICATIONS, NOMINAL) <= TAIL


@pytest.mark.slow
@pytest.mark.parametrize(
    "check",
    ["r", "alpha", "a", "b", "p", "q", "gamma", "expected_purchases", "purchases"],
)
def test_90_percent_intervals_hold_the_truth_90_percent_of_the_time(coverage, check):
    hits, n = coverage[check]
    assert n == REPLICATIONS
    low = int(binom.ppf(TAIL, REPLICATIONS, NOMINAL))
    high = int(binom.isf(TAIL, REPLICATIONS, NOMINAL))
    assert low <= hits <= high, f"{check}: {hits}/{n} intervals held the truth"
