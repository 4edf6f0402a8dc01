"""What the layout checks of refresh cost (manifest, user cells, names), on 100k orders.

Run: ``python benchmarks/refresh_checks.py [--orders 100000] [--runs 5] [--before]``.

Set-up (not timed): a template refreshed with a first export of N orders (so it holds
N orders and every derived tab); a copy of it in which a user typed a note beside the
KPIs and a column of their own formulas right of the whole customer list; a second
export of N orders, read once.

Then, in one process, ``--runs`` times each, on a fresh copy each time:

* ``refresh, untouched book``: ``refresh(BOOK, inputs)`` with every check;
* ``refresh, edited book``: the same on the copy with the user's cells (found, placed
  and written back: one formula beside every customer);
* ``checks alone``: verifying every sheet against its manifest and finding the user's
  cells on every generated sheet, timed apart (it includes inflating each sheet part,
  which a refresh does once for both uses).

``--before`` times only the untouched refresh with calls that exist without the checks:
copy this script into a checkout from before the checks and run it there, then here,
to quote before and after (target: after within 10 % of before).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_SHARE = 0.10


def setup(folder: Path, n: int, *, edits: bool) -> tuple[Path, Path | None, object]:
    from retention_xl.datasets import generate_orders
    from retention_xl.io import load_inputs
    from retention_xl.workbook.build import plan_template, write_workbook
    from retention_xl.workbook.refresh import refresh

    first = generate_orders(n_orders=n, seed=1, start="2021-01-01", end="2023-12-31")
    second = generate_orders(
        n_orders=n, seed=2, start="2022-07-01", end="2024-12-31", first_order_id=5_000_001
    )
    old_csv, new_csv = folder / "first.csv", folder / "second.csv"
    first.to_csv(old_csv, index=False, date_format="%Y-%m-%d")
    second.to_csv(new_csv, index=False, date_format="%Y-%m-%d")
    book = folder / "report.xlsx"
    write_workbook(plan_template(lang="en"), book)
    refresh(book, load_inputs(orders=old_csv), backup=False)
    edited = None
    if edits:
        edited = folder / "edited.xlsx"
        edited.write_bytes(book.read_bytes())
        _type_user_cells(edited)
    return book, edited, load_inputs(orders=new_csv)


def _type_user_cells(book: Path) -> None:
    """A note beside the KPIs and a column of formulas right of the customer list,
    written into the sheet XML as an editor would save them."""
    import re
    import zipfile

    from retention_xl.workbook.package import read_package

    info = read_package(book).workbook()
    parts = info.role_parts()
    with zipfile.ZipFile(book) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    kpis = members[parts["KPIS"]]
    note = b'<c r="E5" t="inlineStr"><is><t>check with the CFO</t></is></c>'
    members[parts["KPIS"]] = re.sub(rb'(<row r="5"[^>]*>)', rb"\1" + note, kpis, count=1)
    customers = members[parts["CUSTOMERS"]]

    def add(m: re.Match[bytes]) -> bytes:
        row = int(m.group(1))
        cell = f'<c r="AA{row}"><f>B{row}*2</f><v>0</v></c>'.encode()
        return m.group(0).replace(b"</row>", cell + b"</row>")

    members[parts["CUSTOMERS"]] = re.sub(
        rb'<row r="(\d+)"[^>]*>(?:(?!</row>).)*</row>', add, customers, flags=re.S
    )
    with zipfile.ZipFile(book, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def time_checks(book: Path) -> float:
    """The work the layout checks add, on ``book`` as it is."""
    from retention_xl.workbook.bookxml import set_defined_names
    from retention_xl.workbook.manifest import sheet_manifest  # noqa: F401
    from retention_xl.workbook.package import read_package
    from retention_xl.workbook.refresh import verify_layout
    from retention_xl.workbook.usercells import find_user_cells

    pkg = read_package(book)
    t0 = time.perf_counter()
    info = pkg.workbook()
    roles = info.role_sheets()
    manifests = verify_layout(info, roles, book=book.name)
    found = 0
    for role, manifest in manifests.items():
        part = roles[role].part
        if part is not None:
            found += len(find_user_cells(pkg.read(part), manifest))
    set_defined_names(pkg.read(info.part), info.names)
    seconds = time.perf_counter() - t0
    assert found > 0, "the set-up typed cells: the checks must find them"
    return seconds


def _timed(book: Path, folder: Path, inputs: object, runs: int) -> list[float]:
    from retention_xl.workbook.refresh import refresh

    pristine = book.read_bytes()
    out = []
    for _ in range(runs):
        copy = folder / "copy.xlsx"
        copy.write_bytes(pristine)
        t0 = time.perf_counter()
        refresh(copy, inputs, backup=False)  # type: ignore[arg-type]
        out.append(time.perf_counter() - t0)
    return out


def _line(label: str, seconds: list[float]) -> str:
    return (
        f"{label:28}{min(seconds):7.2f} - {max(seconds):7.2f} s "
        f"(median {statistics.median(seconds):.2f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--before", action="store_true", help="time the untouched refresh only")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="rxl-bench-"))
    try:
        book, edited, inputs = setup(folder, args.orders, edits=not args.before)
        print(f"{args.orders:,} orders, {args.runs} runs ({book.stat().st_size / 1e6:.1f} MB book)")
        plain = _timed(book, folder, inputs, args.runs)
        print(_line("refresh, untouched book", plain))
        if edited is not None:
            print(_line("refresh, edited book", _timed(edited, folder, inputs, args.runs)))
            checks = [time_checks(edited) for _ in range(args.runs)]
            shares = [c / statistics.median(plain) for c in checks]
            print(
                f"{'checks alone':28}{min(checks):7.3f} - {max(checks):7.3f} s "
                f"({min(shares):.0%} - {max(shares):.0%} of the untouched refresh)"
            )
            print(
                f"compare 'refresh, untouched book' with --before in a checkout without the "
                f"checks (target: within {TARGET_SHARE:.0%})"
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
