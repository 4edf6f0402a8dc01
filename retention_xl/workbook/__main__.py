"""``python -m retention_xl.workbook --out workbooks``: write the committed workbooks."""

from __future__ import annotations

import argparse

from retention_xl.workbook.committed import write_committed


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m retention_xl.workbook",
        description="Write the templates and the sample report committed in workbooks/.",
    )
    parser.add_argument("--out", default="workbooks", help="folder to write (default: workbooks)")
    args = parser.parse_args()
    for path in write_committed(args.out):
        print(path)


if __name__ == "__main__":
    main()
