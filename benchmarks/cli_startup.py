"""How long the command line takes to start: ``retention-xl --help``, ``build --help``,
the KPIs of the sample shop (``kpis --json``), and what importing the core's KPIs and
its models costs.

Each command runs as a fresh process (interpreter start and imports included), several
times in turn with the floor ``python -c pass``; the script prints min / median / max
wall time of each and the ratio to the floor, pair by pair. Goal: ``--help`` within
0.3 s.

    python benchmarks/cli_startup.py            # 15 runs of each
    python benchmarks/cli_startup.py --runs 30
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = {
    "floor: python -c pass": [sys.executable, "-c", "pass"],
    "retention-xl --help": [sys.executable, "-m", "retention_xl", "--help"],
    "retention-xl build --help": [sys.executable, "-m", "retention_xl", "build", "--help"],
    "retention-xl kpis (sample)": [
        sys.executable,
        "-m",
        "retention_xl",
        "kpis",
        "--orders",
        str(Path(__file__).resolve().parent.parent / "retention_xl/datasets/data/orders.csv"),
        "--json",
    ],
    "import core.report (KPIs)": [sys.executable, "-c", "import retention_xl.core.report"],
    "import core.models": [sys.executable, "-c", "import retention_xl.core.models"],
}


def _wall(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    for argv in COMMANDS.values():  # warm the file cache
        _wall(argv)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(runs):
        for name, argv in COMMANDS.items():
            times[name].append(_wall(argv))
    floor = times["floor: python -c pass"]
    print(f"{runs} runs of each, in turn; wall seconds (min / median / max), ratio to the floor")
    for name, values in times.items():
        ratios = [v / f for v, f in zip(values, floor, strict=True)]
        print(
            f"{name:30} {min(values):6.3f} {statistics.median(values):6.3f} {max(values):6.3f}"
            f"   x{statistics.median(ratios):5.1f} (x{min(ratios):.1f}-x{max(ratios):.1f})"
        )


if __name__ == "__main__":
    main()
