"""Python-side cost of the Excel functions (a benchmark, not a test).

Prints, for scalar functions, the time per call of the Excel function against a direct
call of its core twin (target: under 1 ms of overhead), and the time for a
1,000,000-cell range argument passed as nested lists the way xlwings passes a column
(``[[v], [v], ...]``) for REPEAT_RATE, NPS and COHORT (target: under 300 ms for
REPEAT_RATE and NPS). Range timings show wall-clock and process CPU time: on a shared
machine the CPU time is the steadier one.

Run: ``python benchmarks/udfs.py``
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from retention_xl.core import kpis
from retention_xl.excel import udfs

CELLS = 1_000_000


def best_of(fn: Callable[[], Any], repeat: int, number: int) -> float:
    """Best time per call, in seconds, over ``repeat`` rounds of ``number`` calls."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def best_cpu_of(fn: Callable[[], Any], repeat: int) -> float:
    """Best process CPU time of one call, in seconds (steadier on a shared machine)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def scalar_overhead() -> None:
    cases: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
        ("CHURN", lambda: udfs.CHURN(1000.0, 50.0), lambda: kpis.churn_rate(1000.0, 50.0)),
        (
            "RETENTION",
            lambda: udfs.RETENTION(1000.0, 1000.0, 150.0),
            lambda: kpis.retention_rate(1000.0, 1000.0, 150.0),
        ),
        ("CLV", lambda: udfs.CLV(50.0, 4.0, 5.0, None), lambda: kpis.clv(50.0, 4.0, 5.0)),
        ("NPS (shares)", lambda: udfs.NPS(0.7, 0.1), lambda: kpis.nps(0.7, 0.1)),
        (
            "QUICK_RATIO",
            lambda: udfs.QUICK_RATIO(3000.0, 1000.0, 400.0, 600.0),
            lambda: kpis.quick_ratio(3000.0, 1000.0, 400.0, 600.0),
        ),
    ]
    print("Scalar functions: time per call (best of 5 x 2,000 calls)")
    print(f"{'function':<14}{'Excel fn':>12}{'core':>12}{'overhead':>12}{'target':>10}")
    for name, excel, core in cases:
        t_excel = best_of(excel, 5, 2000)
        t_core = best_of(core, 5, 2000)
        overhead = t_excel - t_core
        verdict = "ok" if overhead < 1e-3 else "SLOW"
        print(
            f"{name:<14}{t_excel * 1e6:>10.1f}us{t_core * 1e6:>10.1f}us"
            f"{overhead * 1e6:>10.1f}us{'<1000us ' + verdict:>14}"
        )


def big_ranges() -> None:
    rng = np.random.default_rng(7)
    ids = [[f"C{int(i)}"] for i in rng.integers(0, 300_000, CELLS)]
    scores = [[float(s)] for s in rng.integers(0, 11, CELLS)]
    base = dt.datetime(2023, 1, 1)
    dates = [[base + dt.timedelta(days=int(d))] for d in rng.integers(0, 730, CELLS)]
    serials = [[float(45000 + d)] for d in rng.integers(0, 730, CELLS)]
    print(f"\n{CELLS:,}-cell range arguments, nested lists as xlwings passes a column")
    print(f"{'function':<40}{'wall':>10}{'CPU':>10}{'target':>12}")
    for label, fn, target in [
        ("REPEAT_RATE(customer_ids)", lambda: udfs.REPEAT_RATE(ids), 0.3),
        ("NPS(scores)", lambda: udfs.NPS(scores), 0.3),
        ("COHORT(ids, dates as datetimes)", lambda: udfs.COHORT(ids, dates), None),
        ("COHORT(ids, dates as serial numbers)", lambda: udfs.COHORT(ids, serials), None),
    ]:
        result = fn()
        if isinstance(result, str):
            print(f"{label:<40}  returned an error: {result[:60]}")
            continue
        seconds = best_of(fn, 3, 1)
        cpu = best_cpu_of(fn, 3)
        goal = (
            ""
            if target is None
            else (f"<{target * 1000:.0f} ms " + ("ok" if min(seconds, cpu) < target else "SLOW"))
        )
        print(f"{label:<40}{seconds * 1000:>8.0f}ms{cpu * 1000:>8.0f}ms{goal:>14}")


if __name__ == "__main__":
    scalar_overhead()
    big_ranges()
