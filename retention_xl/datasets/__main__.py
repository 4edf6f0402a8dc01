"""Regenerate the bundled sample: ``python -m retention_xl.datasets --out DIR``.

With the defaults it writes exactly the files shipped in ``retention_xl/datasets/data``.
Other sizes and seeds make larger or different samples (for benchmarks and demos).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from retention_xl.datasets.sample import (
    SAMPLE_CUSTOMERS,
    SAMPLE_END,
    SAMPLE_SEED,
    SAMPLE_START,
    generate_sample,
    write_sample,
)
from retention_xl.errors import RetentionError


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments, generate the sample and write its three CSV files."""
    parser = argparse.ArgumentParser(
        prog="python -m retention_xl.datasets",
        description="Write a synthetic sample (orders.csv, subscriptions.csv, survey.csv).",
    )
    parser.add_argument("--out", required=True, help="folder to write the CSV files into")
    parser.add_argument("--customers", type=int, default=SAMPLE_CUSTOMERS)
    parser.add_argument("--seed", type=int, default=SAMPLE_SEED)
    parser.add_argument("--start", default=SAMPLE_START)
    parser.add_argument("--end", default=SAMPLE_END)
    args = parser.parse_args(argv)
    try:
        sample = generate_sample(args.customers, seed=args.seed, start=args.start, end=args.end)
        paths = write_sample(sample, args.out)
    except RetentionError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    for path in (paths.orders, paths.subscriptions, paths.survey):
        sys.stdout.write(f"{path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
