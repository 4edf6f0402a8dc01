"""Where ``customer_summary`` spends its time: CPU time per stage, next to the floor.

Run: ``python benchmarks/summary_stages.py [n_orders] [--repeat R]``.

The orders come from :func:`retention_xl.datasets.generate_orders` (seed 0), as in
``benchmarks/core.py``. One process times ``customer_summary`` ``R`` times (default 7)
and, between the runs, the bare groupby of ``core.py`` (the floor). Each stage is timed
by wrapping the function that does it (CPU time of the process, children included in
their parents):

* ``validation``: checking and converting the columns, of which ``customer ids``,
  ``order ids``, ``status`` (the three comparisons of a clean status column) and
  ``labels`` (cleaning a status or currency column: here the currency check);
* ``kept rows``: deduplication, the cancellation and refund rule, picking the kept rows
  and putting them in date and order-id order (``prepared_rows`` minus the validation);
* ``totals``: one sort of one key per purchase and the per-customer totals;
* ``frame``: the derived columns and the output frame.

The rest of the total is reading the rows into arrays, the revenue sums and the ids of
the buyers. Printed: min-max over the runs in milliseconds, and each stage's median as a
share of the median total. The first run of a process pays for fresh memory; on a shared
machine compare the shares and the ratio, not single times.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from retention_xl.core import _orderdays, customers, schema
from retention_xl.core.customers import customer_summary
from retention_xl.datasets import generate_orders

#: (label, module, function name, parent label): the function wrapped for each stage.
STAGES = (
    ("validation", schema, "_validate_orders", ""),
    ("  customer ids", schema, "_customer_ids", "validation"),
    ("  order ids", schema, "_order_ids", "validation"),
    ("  status", schema, "label_masks", "validation"),
    ("  labels", schema, "_as_label", "validation"),
    ("kept rows", _orderdays, "prepared_rows", ""),
    ("totals", customers, "purchase_totals", ""),
    ("frame", customers, "_summary_frame", ""),
)


def _timed(func: Callable[..., Any], label: str, spent: dict[str, float]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        try:
            return func(*args, **kwargs)
        finally:
            spent[label] = spent.get(label, 0.0) + time.process_time() - start

    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n_orders", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    orders = generate_orders(n_orders=args.n_orders, seed=0)
    spent: dict[str, float] = {}
    for label, module, name, _ in STAGES:
        setattr(module, name, _timed(getattr(module, name), label, spent))
    runs: list[dict[str, float]] = []
    floors: list[float] = []
    for _ in range(args.repeat):
        spent.clear()
        start = time.process_time()
        customer_summary(orders)
        spent["total"] = time.process_time() - start
        # the kept rows stage includes the validation it calls: report it without
        spent["kept rows"] -= spent["validation"]
        runs.append(dict(spent))
        start = time.process_time()
        orders.groupby("customer_id")["order_date"].agg(["min", "max", "count"])
        floors.append(time.process_time() - start)
    total = statistics.median(r["total"] for r in runs)
    print(f"{len(orders):,} rows, {args.repeat} runs; CPU ms min-max, share of the median total")
    for label in [s[0] for s in STAGES] + ["total"]:
        values = [r.get(label, 0.0) * 1000 for r in runs]
        share = statistics.median(values) / (total * 1000)
        print(f"  {label:<16} {min(values):8.1f} - {max(values):8.1f}   {share:6.1%}")
    ratios = [r["total"] / f for r, f in zip(runs, floors, strict=True)]
    print(
        f"  floor (groupby)  {min(floors) * 1000:8.1f} - {max(floors) * 1000:8.1f}   "
        f"summary / floor {min(ratios):.2f}-{max(ratios):.2f}"
    )


if __name__ == "__main__":
    main()
