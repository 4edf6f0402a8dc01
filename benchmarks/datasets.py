"""Time the order generator at benchmark sizes (100k, 1M, 10M orders) against a floor.

Run: ``python benchmarks/datasets.py [max_orders]``. Each measurement runs in a fresh
process so its peak memory (max resident set size) belongs to it alone.

The *floor* builds a frame of the same shape and dtypes with no simulation at all
(sequential ids, constant dates and amounts): the unavoidable cost of materialising
that many ``string`` cells in pandas. The ratio generator / floor is the price of the
buy-till-you-die simulation itself.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time

import numpy as np
import pandas as pd

SIZES = (100_000, 1_000_000, 10_000_000)


def _floor(n: int) -> pd.DataFrame:
    ids = np.fromiter(map(str, range(100001, 100001 + n)), dtype=object, count=n)
    customers = np.fromiter((f"C{i:07d}" for i in range(n // 3 + 1)), dtype=object)
    return pd.DataFrame(
        {
            "customer_id": pd.Series(customers[np.arange(n) // 3], dtype="string"),
            "order_id": pd.Series(ids, dtype="string", copy=False),
            "order_date": np.full(n, np.datetime64("2024-01-01", "ns")),
            "amount": np.ones(n),
            "refunded": np.zeros(n),
            "status": pd.Series(np.full(n, "paid", dtype=object), dtype="string"),
            "currency": pd.Series(np.full(n, "EUR", dtype=object), dtype="string"),
        },
        copy=False,
    )


def run_one(kind: str, n_orders: int) -> None:
    from retention_xl.datasets import generate_orders

    t0 = time.perf_counter()
    frame = generate_orders(n_orders=n_orders, seed=0) if kind == "generator" else _floor(n_orders)
    seconds = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = len(frame)
    print(
        f"{kind:<9} {n_orders:>12,} wanted {rows:>12,} rows {seconds:8.2f} s "
        f"{rows / seconds:>12,.0f} rows/s  peak RSS {peak_mb:8.0f} MB",
        flush=True,
    )
    print(f"@@ {seconds}", flush=True)


def _measure(kind: str, size: int) -> float:
    out = subprocess.run(
        [sys.executable, __file__, "--one", kind, str(size)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for line in out.splitlines():
        if line.startswith("@@ "):
            return float(line[3:])
        print(line)
    raise RuntimeError(out)


def main() -> None:
    if len(sys.argv) > 3 and sys.argv[1] == "--one":
        run_one(sys.argv[2], int(sys.argv[3]))
        return
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else max(SIZES)
    for size in SIZES:
        if size <= limit:
            gen = _measure("generator", size)
            floor = _measure("floor", size)
            print(f"{'ratio':<9} {size:>12,} generator / floor = {gen / floor:5.2f}\n")


if __name__ == "__main__":
    main()
