"""Refresh a workbook holding 1M orders with a new 1M-row export, against openpyxl.

Run: ``python benchmarks/refresh.py [--orders 1000000] [--keep DIR]``.

Set-up (not timed): a template is written by the generator and refreshed once with a
first export of N orders, so the workbook holds N orders and every derived tab. A
second export of N orders (a later window overlapping the first) is written as CSV.

Then, each in a fresh subprocess so peak memory is isolated (peak RSS of the process):

* ``refresh``: ``retention-xl refresh BOOK --orders new.csv`` through the library
  (reading the export, planning with the core, rewriting the owned sheets, atomic
  replace), with the time of each stage;
* ``refresh --append``: a recent export (the last 20,000 orders already in the book
  plus 40,000 new ones) appended to the N orders in the tab: the tab is read back and
  deduplicated on order ids (a full second export would not fit in one sheet);
* ``warm``: the same refresh as ``refresh``, run a second time in one process (the
  book put back in between) and only that second run timed: no imports and no
  first-use costs, the refresh's work alone. Not what a user runs; it shows how much
  of the refresh's time the libraries' loading takes, and what the work itself costs
  beside the target;
* ``nomodels``: the same refresh without the models' predictions, as when they cannot
  be fitted (the book's model cells left blank): what the rest of the refresh costs,
  against the target. Not a refresh a user gets with enough data;
* ``openpyxl``: ``load_workbook(BOOK)`` + ``save`` of the same workbook, what a user of
  the usual libraries would do before even changing a cell.

Printed: seconds (wall clock and CPU time of the process, imports included) and peak MB
of each, the ratios openpyxl / refresh in both (target >= 20x at 100k orders and below,
>= 5x above) and the peak against the 2 GB ceiling. On a shared machine the CPU times are
the steadier of the two.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 5.0
#: The target at 100,000 orders and below (the issue "Figures that hold").
SMALL_TARGET_RATIO = 20.0
SMALL_ORDERS = 100_000
PEAK_CEILING_MB = 2048.0


def _peak_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024.0 if sys.platform != "darwin" else rss / 1024.0**2


def child(mode: str, book: str, export: str) -> None:
    """One measurement, in its own process; prints a JSON line."""
    if mode == "warm":
        # The same refresh once untimed, the book put back, then timed: every library
        # loaded and every first-use cost paid, so what is left is the work itself.
        from retention_xl.io import load_inputs
        from retention_xl.workbook.refresh import refresh

        pristine = Path(book).read_bytes()
        refresh(book, load_inputs(orders=export), backup=False)
        Path(book).write_bytes(pristine)
    t0, c0 = time.perf_counter(), time.process_time()
    stages: dict[str, float] = {}
    if mode in ("refresh", "append", "warm", "nomodels"):
        from retention_xl.io import load_inputs
        from retention_xl.workbook.refresh import refresh

        spent = _cpu_stages()
        if mode == "nomodels":
            from retention_xl.workbook import build

            # As when the models cannot be fitted (too few repeat buyers): no fit, no
            # intervals, scipy not loaded; the model cells of the book are left blank.
            build.model_predictions = lambda *args, **kwargs: None
        spent["imports (CPU)"] = time.process_time() - c0
        c1 = time.process_time()
        inputs = load_inputs(orders=export)
        spent["read export (CPU)"] = time.process_time() - c1
        stages["read export"] = time.perf_counter() - t0
        summary = refresh(book, inputs, append=mode == "append", backup=False)
        stages["refresh (plan + write)"] = time.perf_counter() - t0 - stages["read export"]
        stages.update(spent)
        stages["the rest of refresh (CPU)"] = time.process_time() - c0 - sum(spent.values())
        fresh = 0 if inputs.orders is None else len(inputs.orders)
        rows = summary.merged.get("orders", {}).get("total", fresh)
        extra = {"orders_in_book": int(rows), "parts_kept": summary.parts_kept}
    else:
        import openpyxl

        wb = openpyxl.load_workbook(book)
        stages["load"] = time.perf_counter() - t0
        wb.save(book + ".openpyxl.xlsx")
        stages["save"] = time.perf_counter() - t0 - stages["load"]
        extra = {}
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - c0
    print(
        json.dumps(
            {"seconds": seconds, "cpu": cpu, "peak_mb": _peak_mb(), "stages": stages, **extra}
        )
    )


def _cpu_stages() -> dict[str, float]:
    """CPU seconds of the refresh's big steps, filled in as they run: the models'
    predictions (fits and intervals), the plan of the sheets (KPIs, cohorts, segments)
    and rewriting the package (rendering, deflating, the parts read back)."""
    from retention_xl.workbook import build
    from retention_xl.workbook import refresh as refresh_module

    spent: dict[str, float] = {}

    def timed(owner: Any, name: str, label: str) -> None:
        inner = getattr(owner, name)

        def run(*args: Any, **kwargs: Any) -> Any:
            start = time.process_time()
            try:
                return inner(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.process_time() - start

        setattr(owner, name, run)

    timed(build, "model_predictions", "model predictions (CPU)")
    timed(build, "plan_report", "plan of the sheets (CPU)")
    timed(refresh_module, "patch_package", "rewrite the package (CPU)")
    return spent


def measure(mode: str, book: Path, export: Path) -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(book), str(export)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def setup(folder: Path, n: int) -> tuple[Path, Path, Path]:
    """A workbook holding ``n`` orders, a new ``n``-row export and a recent export."""
    from retention_xl.datasets import generate_orders
    from retention_xl.io import load_inputs
    from retention_xl.workbook.build import plan_template, write_workbook
    from retention_xl.workbook.refresh import refresh

    first = generate_orders(n_orders=n, seed=1, start="2021-01-01", end="2023-12-31")
    second = generate_orders(
        n_orders=n, seed=2, start="2022-07-01", end="2024-12-31", first_order_id=5_000_001
    )
    old_csv, new_csv = folder / "orders_2021_2023.csv", folder / "orders_2022_2024.csv"
    first.to_csv(old_csv, index=False, date_format="%Y-%m-%d")
    second.to_csv(new_csv, index=False, date_format="%Y-%m-%d")
    recent_csv = folder / "orders_recent.csv"
    overlap, fresh = min(20_000, n // 5), min(40_000, n // 2)
    recent = pd.concat([first.tail(overlap), second.head(fresh)], ignore_index=True)
    recent.to_csv(recent_csv, index=False, date_format="%Y-%m-%d")
    book = folder / "report.xlsx"
    write_workbook(plan_template(lang="en"), book)
    refresh(book, load_inputs(orders=old_csv), backup=False)
    return book, new_csv, recent_csv


def report(results: dict[str, dict[str, Any]], orders: int) -> None:
    """The table of the measurements made, and each refresh's ratios to openpyxl's."""
    labels = {
        "openpyxl": "openpyxl load + save",
        "refresh": "refresh (replace)",
        "append": "refresh --append",
        "warm": "refresh, 2nd in a process",
        "nomodels": "refresh without the models",
    }
    print(f"\n{'':28}{'seconds':>10}{'CPU s':>10}{'peak MB':>10}")
    for mode, label in labels.items():
        if mode not in results:
            continue
        r = results[mode]
        print(f"{label:28}{r['seconds']:>10.1f}{r['cpu']:>10.1f}{r['peak_mb']:>10.0f}")
        for stage, sec in r["stages"].items():
            print(f"  {stage:26}{sec:>10.1f}")
    target = SMALL_TARGET_RATIO if orders <= SMALL_ORDERS else TARGET_RATIO
    for mode, r in results.items():
        if mode == "openpyxl":
            continue
        peak = float(r["peak_mb"])
        versus = ""
        if "openpyxl" in results:
            ratio = float(results["openpyxl"]["seconds"]) / float(r["seconds"])
            ratio_cpu = float(results["openpyxl"]["cpu"]) / float(r["cpu"])
            versus = (
                f"{ratio:.1f}x faster than openpyxl, CPU {ratio_cpu:.1f}x (target "
                f">= {target:.0f}x: {'met' if ratio_cpu >= target else 'NOT met'} in CPU "
                "time); "
            )
        print(
            f"{mode:8}: {versus}peak {peak:.0f} MB (ceiling {PEAK_CEILING_MB:.0f} MB: "
            f"{'met' if peak <= PEAK_CEILING_MB else 'NOT met'}); "
            f"orders in the book after: {r.get('orders_in_book')}"
            + ("" if mode in ("refresh", "append") else " - not a refresh a user runs")
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, default=None, help="keep the files in this folder")
    parser.add_argument(
        "--modes",
        default="refresh,append,warm,nomodels,openpyxl",
        help="which measurements, comma-separated (openpyxl takes some 6 minutes at 1M orders)",
    )
    parser.add_argument("--child", nargs=3, metavar=("MODE", "BOOK", "EXPORT"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = set(modes) - {"refresh", "append", "warm", "nomodels", "openpyxl"}
    if unknown:
        raise SystemExit(f"--modes: unknown {sorted(unknown)}")
    folder = Path(tempfile.mkdtemp(prefix="rxl-bench-")) if args.keep is None else args.keep
    folder.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        book, export, recent = setup(folder, args.orders)
        print(
            f"set-up: workbook with {args.orders:,} orders ({book.stat().st_size / 1e6:.1f} MB), "
            f"new export {export.stat().st_size / 1e6:.1f} MB, {time.perf_counter() - t0:.0f} s"
        )
        pristine = book.read_bytes()
        results = {}
        for mode in modes:
            book.write_bytes(pristine)
            results[mode] = measure(mode, book, recent if mode == "append" else export)
            print(f"{mode}: {json.dumps(results[mode])}", flush=True)
        report(results, args.orders)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
