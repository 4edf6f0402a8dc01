"""Time the BG/NBD and Gamma-Gamma fits against lifetimes, on CDNOW and 1M customers.

Run: ``python benchmarks/models.py [--customers 1000000] [--no-lifetimes]`` in an
environment where retention_xl is installed and, for the side-by-side columns,
lifetimes 0.11.3 too (it is not a dependency; ``pip install lifetimes "pandas<3"`` in a
separate virtual environment). Prints seconds per fit, the ratio lifetimes / ours and
the largest relative parameter difference. Nothing is written to disk.

Data: the CDNOW sample of the tests (2,357 customers, the 39-week calibration) and
``--customers`` histories simulated from the BG/NBD and Gamma-Gamma processes
themselves over two years with whole days (the shape of a real shop's summary: many
customers share a history, which our fit exploits by fitting distinct histories once).
lifetimes is timed as users call it (default tolerance, one row per customer), and
also with its own ``weights`` argument over pre-grouped rows; ours is the best of
several runs, lifetimes one run.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from retention_xl.core.models import BetaGeo, GammaGamma, purchase_history

ROOT = Path(__file__).resolve().parents[1]
CDNOW = ROOT / "tests" / "data" / "cdnow" / "CDNOW_sample.txt"


def timed(func: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = func()
        best = min(best, time.perf_counter() - t0)
    return best, out


def cdnow() -> pd.DataFrame:
    raw = pd.read_csv(
        CDNOW,
        sep=r"\s+",
        header=None,
        names=["customer_id", "sample_id", "date", "cds", "value"],
        dtype={"customer_id": str, "date": str},
    )
    orders = pd.DataFrame(
        {
            "customer_id": raw["customer_id"],
            "order_id": np.arange(len(raw)).astype(str),
            "order_date": pd.to_datetime(raw["date"], format="%Y%m%d"),
            "amount": raw["value"],
        }
    )
    return purchase_history(orders, as_of="1997-09-30")


def simulate(n: int, seed: int = 0) -> pd.DataFrame:
    """BG/NBD purchases and Gamma-Gamma spend over two years, whole days, in weeks."""
    rng = np.random.default_rng(seed)
    r, alpha, a, b = 0.25, 4.0, 0.8, 2.5  # weekly rates, as CDNOW
    p_, q_, g_ = 6.0, 4.0, 15.0
    lam = rng.gamma(r, 1 / alpha, n)
    drop = rng.beta(a, b, n)
    age_days = rng.integers(1, 731, n).astype(np.float64)
    x = np.zeros(n)
    last = np.zeros(n)
    now = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    while alive.any():
        idx = np.flatnonzero(alive)
        now[idx] += rng.exponential(7.0 / lam[idx])  # days
        inside = now[idx] <= age_days[idx]
        hit = idx[inside]
        x[hit] += 1
        last[hit] = np.floor(now[hit])
        alive[idx[~inside]] = False
        alive[hit[rng.random(hit.size) < drop[hit]]] = False
    nu = rng.gamma(q_, 1 / g_, n)
    spend = np.where(x > 0, rng.gamma(p_ * np.maximum(x, 1), 1 / nu) / np.maximum(x, 1), np.nan)
    return pd.DataFrame(
        {
            "frequency": x,
            "recency": np.minimum(last, age_days) / 7.0,
            "age": age_days / 7.0,
            "monetary_value": np.round(spend, 2),
        }
    )


def rel_diff(ours: pd.Series, theirs: Any) -> float:
    other = np.asarray(list(theirs), dtype=np.float64)
    return float(np.max(np.abs(ours.to_numpy() / other - 1.0)))


def run(name: str, data: pd.DataFrame, *, use_lifetimes: bool, repeat: int) -> None:
    x, tx, t, m = (data[c] for c in ("frequency", "recency", "age", "monetary_value"))
    rep = x > 0
    distinct = len(data[["frequency", "recency", "age"]].drop_duplicates())
    print(
        f"\n{name}: {len(data):,} customers, {int(rep.sum()):,} repeat buyers, "
        f"{distinct:,} distinct histories"
    )
    bg_s, bg = timed(lambda: BetaGeo().fit(x, tx, t), repeat)
    gg_s, gg = timed(lambda: GammaGamma().fit(x, m), repeat)
    print(f"  ours       BG/NBD {bg_s:8.3f} s  {_params(bg.params_)}")
    print(f"  ours       Gamma-Gamma {gg_s:8.3f} s  {_params(gg.params_)}")
    if not use_lifetimes:
        return
    import lifetimes
    from lifetimes.utils import ConvergenceError as LifetimesConvergenceError

    grouped = data[["frequency", "recency", "age"]].value_counts().reset_index()
    peers: list[tuple[str, float, Any, Callable[[], Any]]] = [
        ("BG/NBD", bg_s, bg, lambda: lifetimes.BetaGeoFitter().fit(x, tx, t)),
        (
            "BG/NBD, its weights over grouped rows",
            bg_s,
            bg,
            lambda: lifetimes.BetaGeoFitter().fit(
                grouped["frequency"], grouped["recency"], grouped["age"],
                weights=grouped["count"],
            ),
        ),
        ("Gamma-Gamma", gg_s, gg, lambda: lifetimes.GammaGammaFitter().fit(x[rep], m[rep])),
    ]  # fmt: skip
    for label, ours_s, ours, fit in peers:
        t0 = time.perf_counter()
        try:
            theirs = fit()
        except LifetimesConvergenceError:
            print(f"  lifetimes  {label}: did not converge after {time.perf_counter() - t0:.1f} s")
            continue
        seconds = time.perf_counter() - t0
        print(
            f"  lifetimes  {label} {seconds:8.3f} s  {_params(theirs.params_)}  ratio "
            f"{seconds / ours_s:6.1f}x  max rel. param diff "
            f"{rel_diff(ours.params_, theirs.params_):.1e}"
        )


def _params(params: Any) -> str:
    return ", ".join(f"{k}={float(v):.5g}" for k, v in params.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--no-lifetimes", action="store_true")
    args = parser.parse_args()
    try:
        import lifetimes
    except ImportError:
        lifetimes = None
    use = lifetimes is not None and not args.no_lifetimes
    if lifetimes is None:
        print("lifetimes is not importable: timing ours only")
    else:
        print(f"lifetimes {lifetimes.__version__}, pandas {pd.__version__}, numpy {np.__version__}")
    run("CDNOW (39-week calibration)", cdnow(), use_lifetimes=use, repeat=5)
    t0 = time.perf_counter()
    data = simulate(args.customers)
    print(f"\n(simulated {args.customers:,} histories in {time.perf_counter() - t0:.1f} s)")
    run(f"{args.customers:,} simulated customers", data, use_lifetimes=use, repeat=3)


if __name__ == "__main__":
    main()
