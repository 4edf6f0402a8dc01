"""Time the prediction intervals against the point predictions they bound.

Run: ``python benchmarks/intervals.py [--customers 1000000] [--runs 3] [--draws 500]``
in an environment where retention_xl is installed. Nothing is written to disk.

Data: ``--customers`` histories drawn by ``simulate_histories`` from the BG/NBD and
Gamma-Gamma processes over two years, recency in whole days (so customers share
histories as in a real shop's summary). The models are fitted once; then, per run:

* **point**: what ``predict_customers`` computes per customer at the fitted
  parameters: P(alive), expected purchases in 90 and 365 days and the CLV over a
  year (monthly steps, 10 % a year), one row per customer;
* **intervals**: ``predict_intervals`` with the same settings, 90 % level: the same
  four predictions with their bounds from ``--draws`` parameter draws, the
  purchases' prediction interval and the totals;
* **totals**: ``predict_totals`` alone (no per-customer bounds);
* **call**: ``predict_customers`` on the history frame (fits included) without and
  with ``level=0.9``.

Wall-clock and CPU seconds per run (on a shared machine compare CPU time), the
ratio intervals / point per run, then the range over the runs, and the peak
resident memory of the process.
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from retention_xl.core.models import (
    BetaGeo,
    GammaGamma,
    predict_clv,
    predict_customers,
    predict_intervals,
    predict_totals,
)
from retention_xl.datasets import simulate_histories

UNIT = 7.0  # days per time unit: weeks


def timed(func: Callable[[], Any]) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = func()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def span(values: list[float], fmt: str = "{:.2f}") -> str:
    low, high = min(values), max(values)
    return (
        fmt.format(low)
        if fmt.format(low) == fmt.format(high)
        else (f"{fmt.format(low)}-{fmt.format(high)}")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--draws", type=int, default=500)
    args = parser.parse_args()

    t0 = time.perf_counter()
    data = simulate_histories(args.customers, max_age_days=730, whole_days=True, seed=0)
    x, tx, t, m = (data[c] for c in ("frequency", "recency", "age", "monetary_value"))
    histories = len(data[["frequency", "recency", "age"]].drop_duplicates())
    groups = len(data[["frequency", "age"]].drop_duplicates())
    print(
        f"{args.customers:,} customers (simulated in {time.perf_counter() - t0:.1f} s): "
        f"{histories:,} distinct histories (x, t_x, T), {groups:,} distinct (x, T), "
        f"{int((x > 0).sum()):,} repeat buyers; {args.draws} draws"
    )
    bg = BetaGeo().fit(x, tx, t)
    gg = GammaGamma().fit(x, m)
    settings: dict[str, Any] = {
        "margin": 1.0,
        "discount_rate": 0.1,
        "periods_per_year": 365.25 / UNIT,
    }
    frame = data[["frequency", "recency", "age", "monetary_value"]]

    def point() -> pd.DataFrame:
        return pd.DataFrame(
            {
                "p_alive": bg.p_alive(x, tx, t),
                "e90": bg.expected_purchases(90 / UNIT, x, tx, t),
                "e365": bg.expected_purchases(365 / UNIT, x, tx, t),
                "clv": predict_clv(bg, gg, x, tx, t, m, horizon=365 / UNIT, **settings),
            }
        )

    def intervals() -> Any:
        return predict_intervals(
            bg,
            gg,
            x,
            tx,
            t,
            m,
            horizon=365 / UNIT,
            purchase_horizons={"e90": 90 / UNIT, "e365": 365 / UNIT},
            n_draws=args.draws,
            level=0.9,
            **settings,
        )

    def totals() -> Any:
        return predict_totals(
            bg, gg, x, tx, t, m, horizon=365 / UNIT, n_draws=args.draws, level=0.9, **settings
        )

    rows: list[dict[str, float]] = []
    for run in range(1, args.runs + 1):
        p_wall, p_cpu, _ = timed(point)
        i_wall, i_cpu, _ = timed(intervals)
        s_wall, s_cpu, _ = timed(totals)
        c_wall, c_cpu, _ = timed(lambda: predict_customers(frame, margin=1.0))
        l_wall, l_cpu, _ = timed(lambda: predict_customers(frame, margin=1.0, level=0.9))
        row = {
            "point_wall": p_wall,
            "point_cpu": p_cpu,
            "intervals_wall": i_wall,
            "intervals_cpu": i_cpu,
            "totals_wall": s_wall,
            "totals_cpu": s_cpu,
            "call_wall": c_wall,
            "call_cpu": c_cpu,
            "call_level_wall": l_wall,
            "call_level_cpu": l_cpu,
        }
        rows.append(row)
        print(
            f"run {run}: point {p_cpu:.2f} s CPU ({p_wall:.2f} wall), intervals "
            f"{i_cpu:.2f} s CPU ({i_wall:.2f} wall): {i_cpu / p_cpu:.1f}x; totals only "
            f"{s_cpu:.2f} s CPU ({s_cpu / p_cpu:.1f}x); predict_customers {c_cpu:.2f} s CPU, "
            f"with level=0.9 {l_cpu:.2f} s CPU ({l_cpu / c_cpu:.1f}x)"
        )
    print(f"\nover {args.runs} runs (CPU seconds; wall in brackets):")
    for label, key in (
        ("point predictions", "point"),
        ("intervals", "intervals"),
        ("totals only", "totals"),
        ("predict_customers", "call"),
        ("predict_customers level=0.9", "call_level"),
    ):
        cpu = [r[f"{key}_cpu"] for r in rows]
        wall = [r[f"{key}_wall"] for r in rows]
        print(f"  {label:30s} {span(cpu)} s ({span(wall)} s)")
    ratio = [r["intervals_cpu"] / r["point_cpu"] for r in rows]
    totals_ratio = [r["totals_cpu"] / r["point_cpu"] for r in rows]
    call_ratio = [r["call_level_cpu"] / r["call_cpu"] for r in rows]
    print(f"  intervals / point              {span(ratio, '{:.1f}')}x")
    print(f"  totals / point                 {span(totals_ratio, '{:.1f}')}x")
    print(f"  predict_customers level / none {span(call_ratio, '{:.1f}')}x")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak resident memory of the process: {peak:,.0f} MB")


if __name__ == "__main__":
    main()
