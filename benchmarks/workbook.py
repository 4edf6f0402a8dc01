"""Time the report workbook at 100k and 1M generated orders against a floor and a peer.

Run: ``python benchmarks/workbook.py [max_orders] [--no-lo] [--no-peer]``. Each measurement runs in
a fresh process, so its peak memory (max resident set size) belongs to it alone; the
orders are generated first (:func:`retention_xl.datasets.generate_orders`, seed 0) and
only what follows is timed.

* ``report``: the complete report as ``retention-xl build`` makes it (core analysis,
  BG/NBD + Gamma-Gamma predictions, every sheet, charts, cached values):
  ``model_predictions`` + ``plan_report`` + ``write_workbook``.
* ``floor``: XlsxWriter in ``constant_memory`` mode writing only the raw Orders tab of
  the same rows, cell by cell with typed writes (what a user would otherwise get).
* ``peer``: ``pandas.DataFrame.to_excel`` of the same rows.
* ``lo-recalc``: a full LibreOffice recalculation (``calculateAll()``) of the report
  of 100k orders, in headless LibreOffice (started with its own profile, not timed).

Wall-clock and CPU time of the process are printed (on a shared machine the CPU time is
the steadier); the ratios are given in both.

Targets: report / floor <= 0.5 at 1M orders (issue 17; in CPU time), report peak <= 2 GB,
LibreOffice recalculation of the 100k report <= 5 s.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZES = (100_000, 1_000_000)
ROOT = Path(__file__).resolve().parent.parent


def _orders(n_orders: int):  # type: ignore[no-untyped-def]
    from retention_xl.datasets import generate_orders

    return generate_orders(n_orders=n_orders, seed=0)


def _report(frame, path: Path) -> None:  # type: ignore[no-untyped-def]
    """What ``retention-xl build --orders FILE --cac 45`` does once the file is read:
    the models' predictions, the plan, the workbook."""
    from retention_xl.workbook.build import model_predictions, plan_report, write_workbook

    predictions = model_predictions(frame, as_of=None, margin=1.0, discount_rate=0.10)
    plan = plan_report(frame, lang="en", currency="EUR", cac=45.0, predictions=predictions)
    write_workbook(plan, path)


def _floor(frame, path: Path) -> None:  # type: ignore[no-untyped-def]
    import numpy as np
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = book.add_worksheet("Orders")
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    money = book.add_format({"num_format": "#,##0.00"})
    ws.write_row(0, 0, list(frame.columns))
    customers = frame["customer_id"].tolist()
    ids = frame["order_id"].tolist()
    days = (
        (frame["order_date"].to_numpy() - np.datetime64("1899-12-30")) / np.timedelta64(1, "D")
    ).tolist()
    amounts = frame["amount"].tolist()
    refunds = frame["refunded"].tolist()
    status = frame["status"].tolist()
    currency = frame["currency"].tolist()
    write_string, write_number = ws.write_string, ws.write_number
    for i in range(len(frame)):
        r = i + 1
        write_string(r, 0, customers[i])
        write_string(r, 1, ids[i])
        write_number(r, 2, days[i], date)
        write_number(r, 3, amounts[i], money)
        write_number(r, 4, refunds[i], money)
        write_string(r, 5, status[i])
        write_string(r, 6, currency[i])
    book.close()


def _peer(frame, path: Path) -> None:  # type: ignore[no-untyped-def]
    frame.to_excel(path, sheet_name="Orders", index=False)


def _lo_recalc(frame, path: Path) -> float:  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(ROOT / "tests"))
    from libreoffice import LibreOffice

    _report(frame, path)
    with LibreOffice.start() as engine:
        book = engine.load(path)
        seconds = book.calculate_all()
        errors = [f for f in book.formulas() if f.error]
        book.close()
    if errors:
        print(f"  {len(errors)} error values after recalculation, e.g. {errors[:3]}")
    return seconds


def run_one(kind: str, n_orders: int) -> None:
    frame = _orders(n_orders)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{kind}.xlsx"
        t0, c0 = time.perf_counter(), time.process_time()
        if kind == "lo-recalc":
            seconds = _lo_recalc(frame, path)
        else:
            {"report": _report, "floor": _floor, "peer": _peer}[kind](frame, path)
            seconds = time.perf_counter() - t0
        cpu = time.process_time() - c0  # LibreOffice's own process is not counted
        size = path.stat().st_size / 1e6
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{kind:<10} {n_orders:>10,} orders {len(frame):>10,} rows {seconds:8.2f} s  "
        f"CPU {cpu:8.2f} s  file {size:7.1f} MB  peak RSS {peak_mb:7.0f} MB",
        flush=True,
    )
    print(f"@@ {seconds} {cpu}", flush=True)


def _measure(kind: str, size: int) -> tuple[float, float]:
    proc = subprocess.run(
        [sys.executable, __file__, "--one", kind, str(size)],
        check=False,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        print(proc.stdout + proc.stderr)
        raise RuntimeError(f"{kind} at {size:,} failed")
    for line in proc.stdout.splitlines():
        if line.startswith("@@ "):
            seconds, cpu = line[3:].split()
            return float(seconds), float(cpu)
        print(line)
    raise RuntimeError(proc.stdout)


def main() -> None:
    if len(sys.argv) > 3 and sys.argv[1] == "--one":
        run_one(sys.argv[2], int(sys.argv[3]))
        return
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    limit = int(args[0]) if args else max(SIZES)
    import pandas as pd

    print(f"pandas {pd.__version__} to_excel engine: {pd.get_option('io.excel.xlsx.writer')}")
    for size in SIZES:
        if size > limit:
            continue
        report = _measure("report", size)
        floor = _measure("floor", size)
        versus_peer = ""
        if "--no-peer" not in sys.argv:
            peer = _measure("peer", size)
            versus_peer = (
                f"   report / pandas to_excel = {report[0] / peer[0]:5.2f} "
                f"(CPU {report[1] / peer[1]:5.2f})"
            )
        print(
            f"{'ratio':<10} {size:>10,} orders report / XlsxWriter raw tab = "
            f"{report[0] / floor[0]:5.2f} (CPU {report[1] / floor[1]:5.2f}){versus_peer}\n",
            flush=True,
        )
    if "--no-lo" not in sys.argv:
        recalc = _measure("lo-recalc", 100_000)[0]
        print(f"{'target':<10} LibreOffice recalculation, 100k report: {recalc:.2f} s (<= 5 s)")


if __name__ == "__main__":
    main()
