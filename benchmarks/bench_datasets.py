"""Time the order generator at benchmark sizes (100k, 1M, 10M orders).

Run: ``python benchmarks/bench_datasets.py [max_orders]``. Each size runs in a fresh
process so the peak memory figure (max resident set size) belongs to that size alone.
Prints rows made, seconds, rows per second and peak memory.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time

SIZES = (100_000, 1_000_000, 10_000_000)


def run_one(n_orders: int) -> None:
    from retention_xl.datasets import generate_orders

    t0 = time.perf_counter()
    orders = generate_orders(n_orders=n_orders, seed=0)
    seconds = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    frame_mb = orders.memory_usage(deep=True).sum() / 2**20
    print(
        f"{n_orders:>12,} wanted {len(orders):>12,} rows {seconds:8.2f} s "
        f"{len(orders) / seconds:>12,.0f} rows/s  frame {frame_mb:8.0f} MB  "
        f"peak RSS {peak_mb:8.0f} MB"
    )


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--one":
        run_one(int(sys.argv[2]))
        return
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else max(SIZES)
    for size in SIZES:
        if size <= limit:
            subprocess.run([sys.executable, __file__, "--one", str(size)], check=True)


if __name__ == "__main__":
    main()
