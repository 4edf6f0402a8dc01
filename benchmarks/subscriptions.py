"""Time the subscription, survey and survival analytics against plain pandas floors.

Run: ``python benchmarks/subscriptions.py [--customers 50000]``. Prints seconds per
step and the ratio to a straightforward pandas computation of the same numbers (and to
lifelines' Kaplan-Meier when lifelines is importable), and the DuckDB engine's SQL
(:mod:`retention_xl.engines.subscription_sql`) beside the core, wall and CPU seconds
(CPU: every thread of the process). Nothing is written to disk.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from retention_xl.core.subscriptions import (
    monthly_mrr,
    mrr_movements,
    subscription_kpis,
    subscription_movements,
)
from retention_xl.core.survey import survey_summary
from retention_xl.core.survival import kaplan_meier

FACTOR = {"month": 1.0, "year": 1 / 12, "week": 52 / 12, "day": 365 / 12}


def timed(func: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = func()
        best = min(best, time.perf_counter() - t0)
    return best, out


def timed_cpu(func: Callable[[], Any], repeat: int = 3) -> tuple[float, float, Any]:
    """Best wall and best CPU seconds (all threads of the process) of ``repeat`` runs."""
    wall, cpu, out = float("inf"), float("inf"), None
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        out = func()
        wall = min(wall, time.perf_counter() - w0)
        cpu = min(cpu, time.process_time() - c0)
    return wall, cpu, out


def engine_lines(subs: pd.DataFrame) -> None:
    """The core and the DuckDB engine's SQL on the same items, side by side."""
    from retention_xl.engines.duckdb_engine import duckdb_subscriptions

    w, c, held = timed_cpu(lambda: duckdb_subscriptions(subs), repeat=1)
    print(f"duckdb: register     {w:8.3f} s   cpu {c:8.3f} s")
    try:
        steps: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
            ("monthly_mrr", lambda: monthly_mrr(subs), held.monthly_mrr),
            ("movements", lambda: subscription_movements(subs), held.movements),
            ("subscription_kpis", lambda: subscription_kpis(subs), held.kpis),
        ]
        for name, ours, sql in steps:
            w_core, c_core, a = timed_cpu(ours)
            w_sql, c_sql, b = timed_cpu(sql)
            if isinstance(a, pd.DataFrame):
                same = np.allclose(
                    a.select_dtypes("number").to_numpy(float),
                    b.select_dtypes("number").to_numpy(float),
                    rtol=1e-9,
                )
            else:
                same = np.isclose(a["mrr"], b["mrr"], rtol=1e-9)
            print(
                f"{name:<20} core {w_core:7.3f} s (cpu {c_core:7.3f})   "
                f"duckdb {w_sql:7.3f} s (cpu {c_sql:7.3f})   agree: {same}"
            )
    finally:
        held.close()


def generate(n_customers: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = int(n_customers * 1.8)
    start = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1800, n), unit="D")
    length = pd.to_timedelta(rng.integers(0, 900, n), unit="D")
    end = pd.Series(start + length).where(rng.random(n) < 0.6)
    return pd.DataFrame(
        {
            "customer_id": rng.integers(0, n_customers, n).astype(str),
            "subscription_id": np.arange(n).astype(str),
            "start_date": start,
            "end_date": end,
            "amount": rng.choice([9.0, 19.0, 49.0, 99.0, 490.0], n),
            "interval": rng.choice(["month", "year", "week"], n, p=[0.7, 0.2, 0.1]),
            "interval_count": rng.choice([1, 1, 3], n),
            "status": rng.choice(
                ["active", "past_due", "trialing", "unpaid"], n, p=[0.85, 0.05, 0.05, 0.05]
            ),
        }
    )


def plain_monthly_mrr(subs: pd.DataFrame) -> pd.DataFrame:
    """The floor: one boolean filter and groupby per month."""
    paying = subs[subs["status"].isin(["active", "past_due"])].copy()
    paying["monthly"] = paying["amount"] * paying["interval"].map(FACTOR) / paying["interval_count"]
    dates = pd.concat([subs["start_date"], subs["end_date"].dropna()])
    months = pd.date_range(dates.min().to_period("M").start_time, dates.max(), freq="MS")
    pieces = []
    for m in months:
        nxt = m + pd.offsets.MonthBegin(1)
        live = paying[
            (paying["start_date"] < nxt) & (paying["end_date"].isna() | (paying["end_date"] >= nxt))
        ]
        s = live.groupby("customer_id")["monthly"].sum()
        pieces.append(pd.DataFrame({"customer_id": s.index, "month": m, "mrr": s.to_numpy()}))
    return pd.concat(pieces, ignore_index=True)


def plain_movements(long: pd.DataFrame) -> pd.DataFrame:
    """The floor: pivot to a wide frame, shift, and classify with pandas masks."""
    wide = long.pivot_table(
        index="customer_id", columns="month", values="mrr", aggfunc="sum", fill_value=0.0
    )
    prev = wide.shift(1, axis=1, fill_value=0.0)
    seen = (wide > 0).cummax(axis=1).shift(1, axis=1, fill_value=False)
    gained = (wide > 0) & (prev == 0)
    return pd.DataFrame(
        {
            "new": wide.where(gained & ~seen, 0.0).sum(),
            "reactivation": wide.where(gained & seen, 0.0).sum(),
            "expansion": (wide - prev).where((prev > 0) & (wide > prev), 0.0).sum(),
            "contraction": (prev - wide).where((wide > 0) & (wide < prev), 0.0).sum(),
            "churn": prev.where((prev > 0) & (wide == 0), 0.0).sum(),
        }
    )


def plain_km(d: np.ndarray, e: np.ndarray) -> pd.Series:
    g = pd.DataFrame({"d": d, "e": e}).groupby("d")["e"].agg(["sum", "count"])
    at_risk = len(d) - g["count"].cumsum().shift(fill_value=0)
    return (1 - g["sum"] / at_risk).cumprod()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=50_000)
    args = parser.parse_args()
    subs = generate(args.customers)
    print(f"subscriptions: {len(subs):,} items, {args.customers:,} customers")

    t_ours, long = timed(lambda: monthly_mrr(subs))
    t_plain, plain = timed(lambda: plain_monthly_mrr(subs), repeat=1)
    same = np.isclose(long["mrr"].sum(), plain["mrr"].sum(), rtol=1e-9)
    print(
        f"monthly_mrr          {t_ours:8.3f} s   plain pandas {t_plain:8.3f} s   "
        f"ratio {t_plain / t_ours:6.1f}x   ({len(long):,} rows, totals agree: {same})"
    )

    t_ours, moves = timed(lambda: mrr_movements(long))
    t_plain, pm = timed(lambda: plain_movements(long))
    same = np.allclose(moves[["new", "churn"]].to_numpy(), pm[["new", "churn"]].to_numpy())
    print(
        f"mrr_movements        {t_ours:8.3f} s   plain pandas {t_plain:8.3f} s   "
        f"ratio {t_plain / t_ours:6.1f}x   ({len(moves)} months, agree: {same})"
    )

    t_ours, _ = timed(lambda: subscription_kpis(subs))
    print(f"subscription_kpis    {t_ours:8.3f} s")
    engine_lines(subs)

    rng = np.random.default_rng(1)
    n = 1_000_000
    d = rng.integers(0, 1500, n).astype(float)
    e = rng.random(n) < 0.6
    t_ours, km = timed(lambda: kaplan_meier(d, e, conf_level=0.95))
    t_plain, pk = timed(lambda: plain_km(d, e))
    same = np.allclose(km["survival"].to_numpy(), pk.to_numpy())
    print(
        f"kaplan_meier (1M)    {t_ours:8.3f} s   pandas groupby {t_plain:6.3f} s   "
        f"ratio {t_plain / t_ours:6.2f}x   (agree: {same})"
    )
    try:
        import lifelines  # type: ignore[import-not-found]
    except ImportError:
        print("lifelines            not installed (it needs pandas < 3); skipped")
    else:
        t_ll, _ = timed(lambda: lifelines.KaplanMeierFitter().fit(d, e))
        print(f"lifelines KM (1M)    {t_ll:8.3f} s   ratio {t_ll / t_ours:6.2f}x")

    answers = pd.DataFrame(
        {
            "answered_at": pd.Timestamp("2022-01-01")
            + pd.to_timedelta(rng.integers(0, 1000, n), unit="D"),
            "score": rng.integers(0, 11, n).astype(float),
            "kind": "nps",
        }
    )
    t_ours, _ = timed(lambda: survey_summary(answers))
    print(f"survey_summary (1M)  {t_ours:8.3f} s")


if __name__ == "__main__":
    main()
