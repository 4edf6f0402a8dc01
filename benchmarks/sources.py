"""Time ``read_subscriptions`` on each source form against the one-file reads.

Run: ``python benchmarks/sources.py [--rows 1048575] [--runs 3]``. Writes one
subscriptions table (``--rows`` rows, a sheet's limit by default) to a temporary folder
as one CSV, one Parquet file, a folder of 4 Parquet files, a glob of 4 CSV files and a
DuckDB table, then reads each in a fresh process, the forms taking turns in every run.
Prints wall time, CPU time (user + system of the process, import included) and its peak
resident memory as min-max over the runs; on a shared machine compare the CPU columns.
Needs the ``lake`` extra (pyarrow, duckdb).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

PARTS = 4
#: the child: read the source; print the records, its CPU seconds and peak RSS (KB)
CHILD = (
    "import resource, sys; from retention_xl.io.readers import read_subscriptions; "
    "n = read_subscriptions(sys.argv[1]).report.records; "
    "u = resource.getrusage(resource.RUSAGE_SELF); "
    "print(n, u.ru_utime + u.ru_stime, u.ru_maxrss)"
)


def generate(rows: int, seed: int = 0) -> pd.DataFrame:
    """Subscription items with the canonical columns (dates as timestamps)."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1800, rows), unit="D")
    end = pd.Series(start + pd.to_timedelta(rng.integers(1, 900, rows), unit="D"))
    return pd.DataFrame(
        {
            "customer_id": np.char.add("C", rng.integers(0, rows // 2, rows).astype(str)),
            "subscription_id": np.char.add("S", np.arange(rows).astype(str)),
            "start_date": start,
            "end_date": end.where(rng.random(rows) < 0.6),
            "amount": rng.choice([9.0, 19.0, 49.0, 99.0, 490.0], rows),
            "interval": rng.choice(["month", "year", "week"], rows, p=[0.7, 0.2, 0.1]),
            "interval_count": rng.choice([1, 1, 3], rows),
            "status": rng.choice(["active", "past_due", "canceled"], rows, p=[0.8, 0.1, 0.1]),
        }
    )


def write_forms(frame: pd.DataFrame, folder: Path) -> dict[str, str]:
    """The table in every form; returns ``{form: value of --subscriptions}``."""
    import duckdb

    text = frame.copy()
    for name in ("start_date", "end_date"):
        text[name] = text[name].dt.strftime("%Y-%m-%d")
    text.to_csv(folder / "one.csv", index=False)
    frame.to_parquet(folder / "one.parquet", index=False)
    (folder / "lake").mkdir()
    (folder / "csv").mkdir()
    bounds = np.linspace(0, len(frame), PARTS + 1).astype(int)
    for i in range(PARTS):
        frame.iloc[bounds[i] : bounds[i + 1]].to_parquet(folder / "lake" / f"p{i}.parquet")
        text.iloc[bounds[i] : bounds[i + 1]].to_csv(folder / "csv" / f"s{i}.csv", index=False)
    con = duckdb.connect(str(folder / "shop.duckdb"))
    try:
        con.register("frame_view", frame)
        con.execute("CREATE TABLE subscriptions AS SELECT * FROM frame_view")
    finally:
        con.close()
    return {
        "one CSV": str(folder / "one.csv"),
        f"{PARTS} CSV files (glob)": str(folder / "csv" / "*.csv"),
        "one Parquet file": str(folder / "one.parquet"),
        f"folder of {PARTS} Parquet files": str(folder / "lake"),
        "DuckDB table": f"duckdb:{folder / 'shop.duckdb'}",
    }


def measure(value: str) -> tuple[float, float, float]:
    """Wall s, CPU s and peak RSS (MB) of one fresh process reading ``value``."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, value], capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{value}: {proc.stderr.strip().splitlines()[-1]}")
    _records, cpu, peak_kb = proc.stdout.split()
    return wall, float(cpu), int(peak_kb) / 1024  # ru_maxrss is in KB on Linux


def span(values: list[float], fmt: str) -> str:
    return f"{min(values):{fmt}}-{max(values):{fmt}}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_048_575)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        forms = write_forms(generate(args.rows), Path(tmp))
        results: dict[str, list[tuple[float, float, float]]] = {form: [] for form in forms}
        for _ in range(args.runs):
            for form, value in forms.items():  # the forms take turns: same machine load
                results[form].append(measure(value))
    print(f"read_subscriptions, {args.rows:,} rows, {args.runs} runs (min-max)")
    print(f"{'source':<28} {'wall s':>13} {'CPU s':>13} {'peak MB':>11}")
    for form, runs in results.items():
        wall, cpu, peak = (list(col) for col in zip(*runs, strict=True))
        print(f"{form:<28} {span(wall, '.1f'):>13} {span(cpu, '.1f'):>13} {span(peak, '.0f'):>11}")


if __name__ == "__main__":
    main()
