"""The DuckDB engine against a hand-written DuckDB query and against the pandas engine.

Run: ``python benchmarks/engines.py [max_orders] [--sizes N,...] [--runs R] [--keep DIR]
[--steps ...] [--spark]`` in an environment with the ``lake`` extra. For each size
(100k, 1M and 10M orders up to ``max_orders``, or the ``--sizes`` given; 20M orders
with ``--sizes 20000000``) it writes a Parquet lake with
:func:`retention_xl.datasets.write_orders_lake` (one file per month, seed 0; not timed)
and measures, each in a fresh process, ``R`` times (3 by default):

* ``floor``: a hand-written DuckDB query that computes the per-customer summary
  straight from the Parquet files (first and last purchase day, purchases, purchase
  days, net revenue; one row per order id, cancelled orders out, a purchase is an
  order with positive net revenue not marked refunded) and fetches it as Arrow: no
  checks, no import report, no period table. The least the engine can cost;
* ``kpis duckdb``: ``retention-xl kpis --orders LAKE --engine duckdb --json`` (every
  check of the CSV path, the import report, the summary totals, the period table);
* ``kpis pandas``: the same command with ``--engine pandas`` (DuckDB reads and checks
  the lake, the orders come into memory, the core computes);
* ``predict duckdb`` / ``predict pandas``: ``retention-xl predict --out scores.parquet``
  with each engine;
* ``build aggregate``: ``retention-xl build --orders LAKE --engine duckdb --aggregate
  --out book.xlsx`` (the aggregate report: KPIs, period, cohort and per-cohort tables
  in DuckDB, every customer scored in batches into ``book_customers.parquet``, the
  Customers sheet limited to 50,000 customers; not in the default steps, ask for it
  with ``--steps "build aggregate"``, e.g. ``--sizes 2000000``);
* ``holdout duckdb`` / ``holdout pandas``: ``retention-xl predict --no-intervals
  --holdout-weeks 26 --out scores.parquet`` with each engine (the calibration/holdout
  check and its per-customer columns; not in the default steps: ``--steps "holdout
  duckdb,holdout pandas"``);
* with ``--spark`` (needs the ``spark`` extra and Java), also ``kpis spark`` and
  ``predict spark``: the same commands with ``--engine spark --spark-master local[*]``
  (``predict`` scored in the Spark workers, ``--out`` a Parquet dataset folder).
  Their time includes starting the JVM and the Spark session (a few seconds). Spark
  local against DuckDB on 2M orders: ``python benchmarks/engines.py --sizes 2000000
  --runs 2 --steps "kpis duckdb,kpis spark,predict duckdb,predict spark"``.

The lakes of :data:`SIZES` come from ``n_orders`` (about 3.8 rows per customer: 1M
orders are 267k customers); the 20M-order lake is 4M customers buying a little more
often (``n_customers=4_000_000``, ``BuyTillYouDie(r=0.225)``: 5.0 rows per customer),
the issue's 20M orders / 4M customers. At that size the pandas steps need well over
10 GB: run it with ``--steps "floor,kpis duckdb,predict duckdb"``.

The commands run in the measuring process (``main([...], standalone_mode=False)``,
after the imports), so the figures are the work, not the interpreter start. Peak
memory is the high-water mark of the resident set during the step minus the resident
set before it (the kernel's counter is reset first through ``/proc/self/clear_refs``
on Linux). The printed ranges are the lowest and highest of the runs; the ratios
compare medians.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZES = (100_000, 1_000_000, 10_000_000)
#: the lake sizes that are not ``write_orders_lake(n_orders=size)``: generator arguments
LAKES: dict[int, dict[str, object]] = {20_000_000: {"n_customers": 4_000_000, "r": 0.225}}
STEPS = ("floor", "kpis duckdb", "kpis pandas", "predict duckdb", "predict pandas")
SPARK_STEPS = ("kpis spark", "predict spark")
OTHER_STEPS = ("build aggregate", "holdout duckdb", "holdout pandas")
_CLEAR_REFS = "/proc/self/clear_refs"

FLOOR_SQL = """
WITH o AS (
    SELECT customer_id, CAST(order_date AS DATE) AS d,
           amount - coalesce(refunded, 0) AS revenue, status
    FROM read_parquet({files})
    QUALIFY row_number() OVER (PARTITION BY order_id) = 1
), p AS (
    SELECT *, revenue > 0 AND status <> 'refunded' AS purchase FROM o
    WHERE status <> 'cancelled'
)
SELECT customer_id,
       min(d) FILTER (WHERE purchase) AS first_order,
       max(d) FILTER (WHERE purchase) AS last_order,
       count(*) FILTER (WHERE purchase) AS orders,
       count(DISTINCT d) FILTER (WHERE purchase) AS purchase_days,
       sum(revenue) AS revenue
FROM p GROUP BY customer_id HAVING count(*) FILTER (WHERE purchase) > 0
ORDER BY customer_id
"""


def _status_kb() -> dict[str, int]:
    out: dict[str, int] = {}
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                out[key] = int(value.split()[0])
    return out


def _reset_peak() -> bool:
    try:
        with open(_CLEAR_REFS, "w", encoding="ascii") as fh:
            fh.write("5")
    except OSError:
        return False
    return True


def run_one(kind: str, lake: str, workdir: str) -> None:
    """Child process: import, reset the peak counter, run ``kind`` once, print a record."""
    import duckdb
    import pyarrow  # noqa: F401

    import retention_xl.core
    import retention_xl.core.models  # noqa: F401
    from retention_xl.cli import main
    from retention_xl.engines import duckdb_engine, scoring  # noqa: F401

    # one output per engine: Spark writes a dataset folder where DuckDB writes a file
    out = Path(workdir) / f"scores-{kind.split()[-1]}.parquet"

    def step() -> None:
        if kind == "floor":
            files = sorted(str(p) for p in Path(lake).glob("*.parquet"))
            con = duckdb.connect()
            listing = "[" + ", ".join(f"'{f}'" for f in files) + "]"
            table = con.sql(FLOOR_SQL.format(files=listing)).to_arrow_table()
            assert table.num_rows > 0
            con.close()
            return
        command, engine = kind.split()
        if command == "build":  # build aggregate
            args = ["build", "--orders", lake, "--engine", "duckdb", "--aggregate", "--json"]
            args += ["--out", str(Path(workdir) / "book.xlsx")]
            engine = "duckdb"
        elif command == "holdout":  # predict --holdout-weeks 26, intervals left out
            args = ["predict", "--orders", lake, "--engine", engine, "--json", "--no-intervals"]
            args += ["--holdout-weeks", "26", "--out", str(out)]
        else:
            args = [command, "--orders", lake, "--engine", engine, "--json"]
        if command == "predict":
            args += ["--out", str(out)]
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            main(args, standalone_mode=False)

    isolated = _reset_peak()
    before = _status_kb()["VmRSS"] if isolated else 0
    t0, c0 = time.perf_counter(), time.process_time()
    step()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak_mb = (_status_kb()["VmHWM"] - before) / 1024 if isolated else float("nan")
    print(f"@@ {seconds} {cpu} {peak_mb}", flush=True)


Measured = tuple[float, float, float]


def _measure(kind: str, lake: Path, workdir: Path) -> Measured | None:
    proc = subprocess.run(
        [sys.executable, __file__, "--one", kind, str(lake), str(workdir)],
        capture_output=True,
        text=True,
        check=False,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("@@ "):
            s, cpu, mb = line[3:].split()
            return float(s), float(cpu), float(mb)
    print(f"  {kind} failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
    return None


def _machine() -> str:
    import duckdb
    import pandas as pd
    import pyarrow as pa

    return (
        f"{platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"pandas {pd.__version__}, DuckDB {duckdb.__version__}, pyarrow {pa.__version__}"
    )


def _span(runs: list[Measured], i: int) -> str:
    """The range of column ``i`` (seconds, CPU seconds, peak MB) over the runs."""
    fmt = ".0f" if i == 2 else ".2f"
    lo, hi = min(r[i] for r in runs), max(r[i] for r in runs)
    return f"{lo:{fmt}}" if f"{lo:{fmt}}" == f"{hi:{fmt}}" else f"{lo:{fmt}}-{hi:{fmt}}"


def _ratios(results: dict[str, list[Measured]]) -> None:
    """Print the ratios of the medians: ours / the floor, pandas / DuckDB."""

    def median(kind: str, i: int) -> float:
        return statistics.median(r[i] for r in results[kind])

    pairs = [("kpis duckdb", "floor", "kpis duckdb / hand-written query")]
    pairs += [
        (f"{c} pandas", f"{c} duckdb", f"{c}: pandas / duckdb")
        for c in ("kpis", "predict", "holdout")
    ]
    pairs += [(f"{c} spark", f"{c} duckdb", f"{c}: spark / duckdb") for c in ("kpis", "predict")]
    for top, bottom, label in pairs:
        if top in results and bottom in results:
            time_ratio = median(top, 0) / median(bottom, 0)
            memory_ratio = median(top, 2) / max(median(bottom, 2), 1.0)
            print(f"  {label}: {time_ratio:.2f}x time, {memory_ratio:.2f}x peak memory")


def _write_lake(lake: Path, size: int) -> list[Path]:
    """The lake of ``size`` orders (see :data:`LAKES`), seed 0."""
    from retention_xl.datasets import write_orders_lake
    from retention_xl.datasets.orders import BuyTillYouDie

    spec = LAKES.get(size)
    if spec is None:
        return write_orders_lake(lake, n_orders=size, seed=0)
    process = BuyTillYouDie(r=float(str(spec["r"])))
    return write_orders_lake(lake, n_customers=spec["n_customers"], process=process, seed=0)


def main() -> None:
    if len(sys.argv) > 4 and sys.argv[1] == "--one":
        run_one(sys.argv[2], sys.argv[3], sys.argv[4])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("max_orders", nargs="?", type=int, default=max(SIZES))
    parser.add_argument(
        "--sizes",
        default=None,
        help="comma-separated lake sizes (orders) instead of those up to max_orders, e.g. 20000000",
    )
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per measurement")
    parser.add_argument(
        "--keep", type=Path, default=None, help="write the lakes here and keep them"
    )
    parser.add_argument(
        "--steps",
        default=",".join(STEPS),
        help=f"comma-separated subset of {', '.join(STEPS + SPARK_STEPS + OTHER_STEPS)}",
    )
    parser.add_argument(
        "--spark", action="store_true", help=f"also run {' and '.join(SPARK_STEPS)}"
    )
    args = parser.parse_args()
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    if args.spark:
        steps += [s for s in SPARK_STEPS if s not in steps]
    print(f"machine: {_machine()}")
    print(
        "seconds: wall clock, CPU s: process CPU time (DuckDB's threads included), peak MB: "
        "resident memory the step added;\neach figure is the range over "
        f"{args.runs} fresh processes"
    )
    root = args.keep or Path(tempfile.mkdtemp(prefix="rxl-bench-"))
    if args.sizes:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    else:
        sizes = [s for s in SIZES if s <= args.max_orders] or [args.max_orders]
    try:
        for size in sizes:
            lake = root / f"lake-{size}"
            if not lake.exists():
                t0 = time.perf_counter()
                files = _write_lake(lake, size)
                took = time.perf_counter() - t0
                print(f"\nlake of {size:,} orders: {len(files)} files in {took:.1f} s (not timed)")
            else:
                print(f"\nlake of {size:,} orders: {lake}")
            rows = sum(1 for _ in lake.glob("*.parquet"))
            print(f"  {'step':<16} {'seconds':>13} {'CPU s':>13} {'peak MB':>13}   ({rows} files)")
            results: dict[str, list[Measured]] = {}
            for kind in steps:
                got = [_measure(kind, lake, root) for _ in range(args.runs)]
                ok = [g for g in got if g is not None]
                if ok:
                    results[kind] = ok
                    print(f"  {kind:<16} " + " ".join(f"{_span(ok, i):>13}" for i in range(3)))
            _ratios(results)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
