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
import gc
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

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


def fresh_timings(
    fn: Callable[..., Any], make_args: Callable[[], tuple[Any, ...]], repeat: int
) -> tuple[float, float]:
    """Best wall and CPU seconds of ``fn(*make_args())``, building the arguments anew for
    every call (untimed): a host converts the range into new Python objects each time,
    so no call finds the previous call's strings, hashes or memory warm."""
    best_wall = best_cpu = float("inf")
    for _ in range(repeat):
        args = make_args()
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        fn(*args)
        best_cpu = min(best_cpu, time.process_time() - cpu)
        best_wall = min(best_wall, time.perf_counter() - wall)
        del args
    return best_wall, best_cpu


def big_ranges() -> None:
    rng = np.random.default_rng(7)
    id_numbers = rng.integers(0, 300_000, CELLS).tolist()
    score_values = rng.integers(0, 11, CELLS).tolist()
    day_numbers = rng.integers(0, 730, CELLS).tolist()
    base = dt.datetime(2023, 1, 1)

    def ids() -> list[list[str]]:
        return [[f"C{i}"] for i in id_numbers]

    def ids_with_blanks() -> list[list[str | None]]:
        # Classic xlwings passes None for the blank cells of a range reaching past the data.
        return [[None] if k % 10 == 0 else [f"C{i}"] for k, i in enumerate(id_numbers)]

    def emails() -> list[list[str]]:
        return [[f"customer{i}@example.com"] for i in id_numbers]

    def numeric_ids() -> list[list[float]]:
        return [[float(5_000_000_000_000 + i)] for i in id_numbers]

    def scores() -> list[list[float]]:
        return [[float(s)] for s in score_values]

    def dates() -> list[list[dt.datetime]]:
        return [[base + dt.timedelta(days=d)] for d in day_numbers]

    def serials() -> list[list[float]]:
        return [[float(45_000 + d)] for d in day_numbers]

    print(f"\n{CELLS:,}-cell range arguments, nested lists as xlwings passes a column")
    print("(300,000 distinct customers; arguments built anew for every call, untimed)")
    print(f"{'function':<44}{'wall':>10}{'CPU':>10}{'target':>14}")
    cases: list[tuple[str, Callable[..., Any], Callable[[], tuple[Any, ...]], float | None]] = [
        ("REPEAT_RATE(ids like C123456)", udfs.REPEAT_RATE, lambda: (ids(),), 0.3),
        (
            "REPEAT_RATE(C123456, 10% blank cells)",
            udfs.REPEAT_RATE,
            lambda: (ids_with_blanks(),),
            0.3,
        ),
        ("REPEAT_RATE(e-mail addresses)", udfs.REPEAT_RATE, lambda: (emails(),), 0.3),
        ("REPEAT_RATE(13-digit numeric ids)", udfs.REPEAT_RATE, lambda: (numeric_ids(),), 0.3),
        ("NPS(scores)", udfs.NPS, lambda: (scores(),), 0.3),
        ("COHORT(ids, dates as datetimes)", udfs.COHORT, lambda: (ids(), dates()), None),
        ("COHORT(ids, dates as serial numbers)", udfs.COHORT, lambda: (ids(), serials()), None),
    ]
    for label, fn, make_args, target in cases:
        result = fn(*make_args())
        if isinstance(result, str):
            print(f"{label:<44}  returned an error: {result[:60]}")
            continue
        seconds, cpu = fresh_timings(fn, make_args, 3)
        goal = (
            ""
            if target is None
            else (f"<{target * 1000:.0f} ms " + ("ok" if min(seconds, cpu) < target else "SLOW"))
        )
        print(f"{label:<44}{seconds * 1000:>8.0f}ms{cpu * 1000:>8.0f}ms{goal:>14}")


def repeat_rate_against_peers() -> None:
    """REPEAT_RATE against the ways a hand-written UDF would count, and the floor."""
    rng = np.random.default_rng(11)
    id_numbers = rng.integers(0, 300_000, CELLS).tolist()

    def ids() -> tuple[list[list[str]]]:
        return ([[f"C{i}"] for i in id_numbers],)

    def counter(value: list[list[str]]) -> float:
        counts = Counter(cell.strip() for (cell,) in value)
        return sum(1 for c in counts.values() if c >= 2) / len(counts)

    def value_counts(value: list[list[str]]) -> float:
        counts = pd.Series([cell for (cell,) in value]).str.strip().value_counts()
        return float((counts >= 2).sum() / counts.size)

    def floor(value: list[list[str]]) -> list[str]:
        return [cell for (cell,) in value]  # reading the cells, nothing else

    expected = udfs.REPEAT_RATE(*ids())
    assert counter(*ids()) == expected and value_counts(*ids()) == expected
    print(f"\nREPEAT_RATE over {CELLS:,} ids (C123456): against peers and the floor, CPU")
    ours = fresh_timings(udfs.REPEAT_RATE, ids, 3)[1]
    rows = [
        ("REPEAT_RATE (retention_xl)", ours),
        ("collections.Counter, stripped", fresh_timings(counter, ids, 3)[1]),
        ("pandas str.strip + value_counts", fresh_timings(value_counts, ids, 3)[1]),
        ("floor: reading the cells only", fresh_timings(floor, ids, 3)[1]),
    ]
    for label, cpu in rows:
        print(f"{label:<44}{cpu * 1000:>8.0f}ms{cpu / ours:>10.2f}x ours")


if __name__ == "__main__":
    scalar_overhead()
    big_ranges()
    repeat_rate_against_peers()
