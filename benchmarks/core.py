"""Orders -> customer summary and period table, next to lifetimes and a bare pandas groupby.

Run: ``python benchmarks/core.py [max_orders] [--lifetimes-max N] [--repeat R]``.

Every measurement runs in a fresh process. That process generates the orders
(:func:`retention_xl.datasets.generate_orders` with ``n_orders`` and seed 0: the same
frame in every process, not timed), then times one step on it. Peak memory is the
high-water mark of the resident set during the step minus the resident set just
before it (on Linux the kernel's counter is reset first through
``/proc/self/clear_refs``; elsewhere only the process's lifetime peak is shown).

Steps, all on the same orders frame:

* ``floor``: a bare pandas groupby, ``groupby("customer_id")["order_date"]`` with
  ``min``, ``max`` and ``count``: first date, last date, orders. No deduplication,
  no refunds, no validation: the least any summary can cost.
* ``lifetimes``: ``lifetimes.utils.summary_data_from_transaction_data`` with a string
  ``observation_period_end`` (frequency, recency, T; lifetimes has no dedup or refund
  rule). Shown as absent when lifetimes is not importable; it needs its own
  environment (``pip install lifetimes`` next to this package).
* ``summary``: :func:`retention_xl.core.customer_summary` (validation,
  deduplication on the order id, the refund and cancellation rule, all columns).
* ``periods``: :func:`retention_xl.core.period_table` (monthly, 365-day window).

Targets: ``summary`` and ``periods`` faster than lifetimes; ``summary`` within 1.5x the
floor in CPU time, ``periods`` within 2x.
Wall-clock and CPU times are both printed: on a shared machine the CPU time of the
process is the steadier of the two.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

SIZES = (1_000_000, 10_000_000)
STEPS = ("floor", "lifetimes", "summary", "periods")
#: Largest ratio to the floor in CPU time, per step.
FLOOR_TARGETS = {"summary": 1.5, "periods": 2.0}
LABELS = {
    "floor": "bare groupby (floor)",
    "lifetimes": "lifetimes summary_data",
    "summary": "customer_summary",
    "periods": "period_table (M)",
}
_CLEAR_REFS = "/proc/self/clear_refs"


def _status_kb() -> dict[str, int]:
    out: dict[str, int] = {}
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                out[key] = int(value.split()[0])
    return out


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS counter of this process (Linux >= 4.0)."""
    try:
        with open(_CLEAR_REFS, "w", encoding="ascii") as fh:
            fh.write("5")
    except OSError:
        return False
    return True


def _step(kind: str, orders: pd.DataFrame) -> Callable[[], Any]:
    if kind == "floor":
        return lambda: orders.groupby("customer_id")["order_date"].agg(["min", "max", "count"])
    if kind == "lifetimes":
        from lifetimes.utils import summary_data_from_transaction_data

        end = str(pd.Timestamp(orders["order_date"].max()).date())
        return lambda: summary_data_from_transaction_data(
            orders, "customer_id", "order_date", observation_period_end=end
        )
    if kind == "summary":
        from retention_xl.core import customer_summary

        return lambda: customer_summary(orders)
    if kind == "periods":
        from retention_xl.core import period_table

        return lambda: period_table(orders)
    raise ValueError(kind)


def run_one(kind: str, n_orders: int, repeat: int) -> None:
    """Child process: generate, reset the peak counter, time ``kind``, print one record."""
    from retention_xl.datasets import generate_orders

    orders = generate_orders(n_orders=n_orders, seed=0)
    func = _step(kind, orders)
    isolated = _reset_peak()
    before = _status_kb()["VmRSS"] if isolated else 0
    best = best_cpu = float("inf")
    result: Any = None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        result = func()
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
        del result
    peak_mb = (_status_kb()["VmHWM"] - before) / 1024 if isolated else float("nan")
    process_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    customers = orders["customer_id"].nunique()
    print(f"@@ {best} {best_cpu} {peak_mb} {process_mb} {len(orders)} {customers}", flush=True)


Measured = tuple[float, float, float, float, int, int]


def _measure(kind: str, size: int, repeat: int) -> Measured | None:
    proc = subprocess.run(
        [sys.executable, __file__, "--one", kind, str(size), str(repeat)],
        capture_output=True,
        text=True,
        check=False,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("@@ "):
            s, cpu, step_mb, proc_mb, rows, customers = line[3:].split()
            return float(s), float(cpu), float(step_mb), float(proc_mb), int(rows), int(customers)
    print(f"  {LABELS[kind]} failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
    return None


def _machine() -> str:
    return (
        f"{platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"numpy {np.__version__}, pandas {pd.__version__}"
    )


def main() -> None:
    if len(sys.argv) > 4 and sys.argv[1] == "--one":
        run_one(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("max_orders", nargs="?", type=int, default=max(SIZES))
    parser.add_argument(
        "--lifetimes-max", type=int, default=max(SIZES), help="largest size lifetimes runs at"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="timings per process at 1M and below (best kept)"
    )
    args = parser.parse_args()
    has_lifetimes = importlib.util.find_spec("lifetimes") is not None
    print(f"machine: {_machine()}")
    if has_lifetimes:
        import lifetimes

        print(f"lifetimes {getattr(lifetimes, '__version__', '?')}")
    else:
        print("lifetimes: absent (pip install lifetimes in this environment to compare)")
    print(
        "seconds: wall clock, CPU s: process CPU time (best of the runs in one process; CPU\n"
        "time is steadier on a shared machine); peak MB: resident memory the step added"
    )
    sizes = [s for s in SIZES if s <= args.max_orders] or [args.max_orders]
    for size in sizes:
        repeat = args.repeat if size <= 1_000_000 else 1
        results: dict[str, Measured] = {}
        header_done = False
        for kind in STEPS:
            if kind == "lifetimes" and not has_lifetimes:
                continue
            if kind == "lifetimes" and size > args.lifetimes_max:
                print(f"  {LABELS[kind]:<24} skipped above {args.lifetimes_max:,} orders")
                continue
            got = _measure(kind, size, repeat)
            if got is None:
                continue
            results[kind] = got
            if not header_done:
                rows, customers = got[4], got[5]
                print(
                    f"\n{size:,} orders wanted: {rows:,} rows, {customers:,} customers "
                    f"(runs per process: {repeat})"
                )
                print(
                    f"  {'step':<24} {'seconds':>8} {'CPU s':>8} {'peak MB':>8} {'process MB':>10}"
                )
                header_done = True
            seconds, cpu, step_mb, proc_mb, _, _ = got
            print(
                f"  {LABELS[kind]:<24} {seconds:8.2f} {cpu:8.2f} {step_mb:8.0f} {proc_mb:10.0f}",
                flush=True,
            )
        floor = results.get("floor")
        peer = results.get("lifetimes")
        for kind in ("summary", "periods"):
            if kind not in results:
                continue
            ours = results[kind]
            parts = []
            if floor:
                parts.append(
                    f"{ours[0] / floor[0]:.2f}x the floor (CPU {ours[1] / floor[1]:.2f}x; "
                    f"target <= {FLOOR_TARGETS[kind]:g} in CPU time)"
                )
            if peer:
                parts.append(
                    f"{peer[0] / ours[0]:.2f}x faster than lifetimes (CPU "
                    f"{peer[1] / ours[1]:.2f}x; target > 1)"
                )
            if parts:
                print(f"  {LABELS[kind]:<24} " + ", ".join(parts))
        if not has_lifetimes:
            print("  lifetimes: absent, no comparison")
        elif size > args.lifetimes_max:
            print(f"  lifetimes capped at {args.lifetimes_max:,} orders: no comparison here")


if __name__ == "__main__":
    main()
