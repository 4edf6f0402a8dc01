"""The Excel functions through xlwings' Office.js call path (xlwings Server and Lite)
against the same call on the Python API, at 1k, 100k and 1M rows.

Run: ``python benchmarks/officejs.py [--runs 3]``.

The Office.js side is ``xlwings.server.custom_functions_call`` with the payload Excel
sends (2-D lists, numbers as floats), in this process with ``XLWINGS_ON_SERVER=true``
so that ``xlwings.func`` is the Office.js decorator (``noncommercial`` is the license
key xlwings documents for non-commercial use). The API side is the same function
called directly with the same lists. Printed: the median of ``--runs`` for each, and
the ratio (target: at most 3x). Classic xlwings' ``call_udf`` needs Excel on Windows
(COM), so it cannot run here.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("XLWINGS_ON_SERVER", "true")
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TARGET = 3.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    import xlwings as xw
    from xlwings import server

    from retention_xl.excel import hosts, udfs

    assert hosts.current_host() is hosts.Host.OFFICEJS, "xlwings did not load its Office.js path"

    def officejs(name: str, *values: object) -> float:
        data = {
            "func_name": name,
            "args": list(values),
            "version": xw.__version__,
            "client": "Office.js",
            "runtime": "1.4",
            "culture_info_name": "en-US",
            "date_format": "yyyy-mm-dd",
        }
        t0 = time.perf_counter()
        asyncio.run(server.custom_functions_call(data, udfs))
        return time.perf_counter() - t0

    def api(name: str, *values: object) -> float:
        t0 = time.perf_counter()
        getattr(udfs, name)(*values)
        return time.perf_counter() - t0

    print(f"{'function':12}{'rows':>10}{'Office.js s':>14}{'API s':>10}{'ratio':>8}")
    for n in (1_000, 100_000, 1_000_000):
        ids = [[f"c{i % (n // 3 + 1)}"] for i in range(n)]
        nums = [[float(i % 1000 + 1)] for i in range(n)]
        scores = [[float(i % 11)] for i in range(n)]
        lost = [[float(i % 40)] for i in range(n)]
        cases = {
            "REPEAT_RATE": (ids, None),
            "AOV": (nums,),
            "NPS": (scores, None),
            "CHURN": (nums, lost),  # one result per row: a 2-D spill back
        }
        for name, values in cases.items():
            ojs = statistics.median(officejs(name, *values) for _ in range(args.runs))
            ref = statistics.median(api(name, *values) for _ in range(args.runs))
            ratio = ojs / ref
            mark = "met" if ratio <= TARGET else "NOT met"
            print(f"{name:12}{n:>10,}{ojs:>14.4f}{ref:>10.4f}{ratio:>7.1f}x  {mark}")


if __name__ == "__main__":
    main()
