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
  with ``level=0.9``;
* **lifetimes** (when lifetimes 0.11.3 is importable, unless ``--no-lifetimes``): the
  same four point predictions by lifetimes' ``BetaGeoFitter`` and
  ``GammaGammaFitter`` set to the same fitted parameters
  (``conditional_probability_alive``, ``conditional_expected_number_of_purchases_up_to_time``
  at 90 and 365 days, ``customer_lifetime_value`` over 12 months at the same rate),
  one row per customer as lifetimes computes them. lifetimes has no intervals: this
  is the point predictions users of lifetimes get, beside the intervals. lifetimes
  needs pandas < 3, so run the script in a separate environment:
  ``python -m venv .venv-lifetimes && .venv-lifetimes/bin/pip install lifetimes
  "pandas<3" -e .``.

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
    parser.add_argument("--no-lifetimes", action="store_true")
    args = parser.parse_args()
    lifetimes: Any = None
    if not args.no_lifetimes:
        try:
            import lifetimes
        except ImportError:
            print("lifetimes is not importable here: timing without it (see the docstring)")

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

    def lifetimes_point() -> pd.DataFrame:
        lbg = lifetimes.BetaGeoFitter()
        lbg.params_ = pd.Series(bg.params_)
        lbg.predict = lbg.conditional_expected_number_of_purchases_up_to_time  # as fit() does
        lgg = lifetimes.GammaGammaFitter()
        spend = dict(gg.params_)  # lifetimes calls gamma "v"
        lgg.params_ = pd.Series({"p": spend["p"], "q": spend["q"], "v": spend["gamma"]})
        xs, txs, ts = (s.to_numpy() for s in (x, tx, t))
        monthly = 1.1 ** (1 / 12) - 1
        return pd.DataFrame(
            {
                "p_alive": lbg.conditional_probability_alive(xs, txs, ts),
                "e90": lbg.conditional_expected_number_of_purchases_up_to_time(
                    90 / UNIT, xs, txs, ts
                ),
                "e365": lbg.conditional_expected_number_of_purchases_up_to_time(
                    365 / UNIT, xs, txs, ts
                ),
                "clv": lgg.customer_lifetime_value(
                    lbg, x, tx, t, m, time=12, discount_rate=monthly, freq="W"
                ),
            }
        )

    if lifetimes is not None:
        ours, theirs = point(), lifetimes_point()
        gap = (ours[["p_alive", "e90", "e365"]] - theirs[["p_alive", "e90", "e365"]]).abs()
        print(
            f"lifetimes {lifetimes.__version__}: P(alive), E[purchases] agree to "
            f"{gap.max().max():.1e}"
        )

    rows: list[dict[str, float]] = []
    for run in range(1, args.runs + 1):
        p_wall, p_cpu, _ = timed(point)
        i_wall, i_cpu, _ = timed(intervals)
        s_wall, s_cpu, _ = timed(totals)
        c_wall, c_cpu, _ = timed(lambda: predict_customers(frame, margin=1.0))
        l_wall, l_cpu, _ = timed(lambda: predict_customers(frame, margin=1.0, level=0.9))
        row = {}
        if lifetimes is not None:
            lt_wall, lt_cpu, _ = timed(lifetimes_point)
            row.update(lifetimes_wall=lt_wall, lifetimes_cpu=lt_cpu)
            print(
                f"run {run}: lifetimes point predictions {lt_cpu:.2f} s CPU ({lt_wall:.2f} "
                f"wall): ours {p_cpu / lt_cpu:.2f}x of it, ours with intervals "
                f"{i_cpu / lt_cpu:.2f}x of it"
            )
        row |= {
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
        *((("lifetimes point predictions", "lifetimes"),) if lifetimes is not None else ()),
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
    if lifetimes is not None:
        lt = [r["intervals_cpu"] / r["lifetimes_cpu"] for r in rows]
        lp = [r["point_cpu"] / r["lifetimes_cpu"] for r in rows]
        print(f"  ours point / lifetimes point   {span(lp, '{:.2f}')}x")
        print(f"  ours intervals / lifetimes point {span(lt, '{:.2f}')}x")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak resident memory of the process: {peak:,.0f} MB")


if __name__ == "__main__":
    main()
