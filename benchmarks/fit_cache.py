"""What caching model fits saves on recalculation: BGNBD_FIT and GG_FIT, first call vs
the same call again (an unrelated edit makes Excel recalculate every volatile cell).

Run: ``python benchmarks/fit_cache.py [--customers 20000] [--runs 5]``.

Each run: a fresh cache, the first call (conversion + fit), then the same call with
equal values in new objects (conversion + hash + lookup). Printed: both as ranges over
the runs and the ratio first / cached.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from retention_xl.core.models import purchase_history
    from retention_xl.datasets import generate_orders
    from retention_xl.excel import udfs

    orders = generate_orders(n_orders=args.customers * 4, seed=3)
    history = purchase_history(orders)
    cols = {c: [[float(v)] for v in history[c]] for c in ("frequency", "recency", "age")}
    repeat = history["frequency"] > 0
    spend = history["monetary_value"]
    gg = (
        [[float(v)] for v in history.loc[repeat, "frequency"]],
        [[float(v)] for v in np.asarray(spend)[repeat.to_numpy()]] if spend is not None else None,
    )
    print(f"{len(history):,} customers, {args.runs} runs")
    cases = {"BGNBD_FIT": lambda: udfs.BGNBD_FIT(cols["frequency"], cols["recency"], cols["age"])}
    if gg[1] is not None:
        cases["GG_FIT"] = lambda: udfs.GG_FIT(gg[0], gg[1])
    for name, call in cases.items():
        first, cached = [], []
        for _ in range(args.runs):
            udfs._FIT_CACHE = OrderedDict()
            t0 = time.perf_counter()
            call()
            first.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            call()
            cached.append(time.perf_counter() - t0)
        ratios = [f / c for f, c in zip(first, cached, strict=True)]
        print(
            f"{name:10} first {min(first):.3f}-{max(first):.3f} s, again "
            f"{min(cached):.4f}-{max(cached):.4f} s: {min(ratios):.0f}-{max(ratios):.0f}x "
            f"(median {statistics.median(ratios):.0f}x)"
        )


if __name__ == "__main__":
    main()
