"""Refresh a generated workbook in place from new exports, keeping everything else.

:func:`refresh` takes a workbook made by ``retention-xl template`` or ``build`` (in
either language, after any renaming or reordering of its sheets) and new exports, and
rewrites only what the generator owns:

1. the sheets are found by their ``RXL_SHEET_<ROLE>`` defined names, the user's inputs
   (period, CAC, margin, targets) are read through the :data:`INPUT_NAMES` names;
2. the raw tabs get the new exports (with ``append`` the rows already in the tab are
   kept and the export's rows added, deduplicated on ``order_id`` / ``subscription_id``;
   rows without an id count as one answer per identical row). A raw tab for which no
   export is given keeps its rows (data pasted into a template is read and validated
   like an export);
3. the generator plans the report from that data and those inputs, and the
   ``<sheetData>`` of every owned sheet is replaced from the plan (raw, derived, KPI,
   benchmark, dashboard and About sheets; the ``xlwings.conf`` sheet is left alone:
   it holds the user's add-in settings). Missing styles are appended to ``styles.xml``;
4. ``calcChain.xml`` is dropped and ``fullCalcOnLoad`` set, so Excel and LibreOffice
   recalculate every formula on opening (the cached values are already the new ones);
5. every other part - user sheets, charts, drawings, images, comments, defined names,
   validations, conditional formats, VBA - is copied byte for byte, and the file is
   replaced atomically (``BOOK.bak`` keeps the previous version).

Any failure before the final rename leaves the workbook byte-identical.

A role the plan has but the workbook lacks: for a raw tab whose export was given this
is an error (refresh never adds sheets: build a new report); a derived sheet the user
deleted stays deleted and is listed in :attr:`RefreshSummary.notes`.

Examples
--------
>>> from retention_xl.io import load_inputs
>>> inputs = load_inputs(orders="orders_export.csv")  # doctest: +SKIP
>>> summary = refresh("report.xlsx", inputs)  # doctest: +SKIP
>>> summary.sheets[0]["role"], summary.backup  # doctest: +SKIP
('DASHBOARD', 'report.xlsx.bak')
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import itertools
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from retention_xl.errors import WorkbookError
from retention_xl.files import check_not_locked, clean_stale_temporaries, replace_atomically
from retention_xl.io.inputs import KINDS, Inputs
from retention_xl.io.report import Import, ImportReport
from retention_xl.io.safety import DEFAULT_LIMITS, ZipLimits
from retention_xl.progress import progress
from retention_xl.workbook.bookinfo import BookSettings, book_settings, plan_arguments
from retention_xl.workbook.bookxml import (
    set_defined_names,
    set_full_calc_on_load,
    without_calc_chain,
)
from retention_xl.workbook.manifest import (
    MANIFEST_PREFIX,
    UNMANAGED,
    ManifestError,
    Rect,
    SheetManifest,
    area_name,
    manifest_names,
    parse_range,
    read_manifest,
    sheet_manifest,
)
from retention_xl.workbook.package import (
    REL_STYLES,
    Package,
    Part,
    SheetEntry,
    WorkbookInfo,
    read_package,
)
from retention_xl.workbook.plan import INPUT_NAMES, MAX_DATA_ROWS, WorkbookPlan, sheet_marker
from retention_xl.workbook.readback import read_inputs, read_raw_tab
from retention_xl.workbook.zipwrite import deflate_part, write_package

__all__ = [
    "NOT_REFRESHED",
    "RAW_ROLES",
    "RefreshSummary",
    "book_settings",
    "check_append_conflicts",
    "check_currencies",
    "check_sizes",
    "merge_rows",
    "patch_package",
    "refresh",
]

log = logging.getLogger(__name__)

#: Raw tab role of each kind of export.
RAW_ROLES: dict[str, str] = {
    "orders": "ORDERS",
    "subscriptions": "SUBSCRIPTIONS",
    "survey": "SURVEY",
}
#: The id each kind is deduplicated on with ``append`` (None: identical rows).
ID_COLUMNS: dict[str, str | None] = {
    "orders": "order_id",
    "subscriptions": "subscription_id",
    "survey": None,
}
#: Roles whose sheets refresh never rewrites (user settings live there).
NOT_REFRESHED: frozenset[str] = frozenset({"XLWINGS_CONF"})
#: The largest part read before planning that is kept, inflated, until its sheet is
#: rewritten (larger ones are inflated twice rather than held through the planning).
KEEP_BYTES = 64 * 1024 * 1024


@dataclass(slots=True)
class RefreshSummary:
    """What a refresh did (printed by the CLI, ``--json`` gives :meth:`as_dict`)."""

    book: str
    backup: str | None
    lang: str
    currency: str
    append: bool
    imports: dict[str, dict[str, Any]] = field(default_factory=dict)
    kept: dict[str, dict[str, Any]] = field(default_factory=dict)  #: rows kept from the book
    merged: dict[str, dict[str, int]] = field(default_factory=dict)  #: append arithmetic
    settings: dict[str, str] = field(default_factory=dict)  #: period, market, source
    inputs: dict[str, object] = field(default_factory=dict)
    sheets: list[dict[str, Any]] = field(default_factory=list)
    parts_changed: list[str] = field(default_factory=list)
    parts_kept: int = 0
    calc_chain_removed: bool = False
    #: cells users typed on generated sheets, kept (see workbook.usercells)
    user_cells_kept: int = 0
    #: the user's sheets whose formulas are computed afresh on opening
    recalculated: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    def lines(self) -> list[str]:
        """Human-readable lines for the terminal."""
        out = [f"refreshed {Path(self.book).name} ({self.lang}, {self.currency})"]
        for kind, m in self.merged.items():
            out.append(f"  {kind}: {_append_arithmetic(kind, m)}")
        for kind, rep in self.kept.items():
            out.append(f"  {kind}: {rep['records']:,} rows kept from the workbook")
        changed = [s["sheet"] for s in self.sheets if s.get("changed")]
        same = [s["sheet"] for s in self.sheets if not s.get("changed")]
        if changed:
            out.append("  sheets rewritten: " + ", ".join(changed))
        if same:
            out.append("  sheets already up to date: " + ", ".join(same))
        if self.recalculated:
            out.append(
                "  your sheets, recalculated on opening (formulas kept): "
                + ", ".join(self.recalculated)
            )
        out.append(
            f"  {len(self.parts_changed)} parts rewritten, {self.parts_kept} kept byte for byte"
        )
        out.append(f"  backup: {self.backup}" if self.backup else "  no backup kept")
        out.extend(f"  note: {n}" for n in self.notes)
        return out


# --------------------------------------------------------------------------- rows


def _append_arithmetic(kind: str, m: Mapping[str, int]) -> str:
    """The ``--append`` sum in one line, e.g. for orders::

        6 rows in the workbook + 5 in the export - 2 in both = 9 rows
        (of the 2 in both: 1 unchanged, 1 updated to the export's version)

    >>> m = {"in_book": 6, "new": 5, "replaced": 2, "updated": 1, "total": 9}
    >>> _append_arithmetic("orders", m)[:62]
    '6 rows in the workbook + 5 in the export - 2 in both = 9 rows '
    """
    both = m["replaced"]
    line = (
        f"{m['in_book']:,} rows in the workbook + {m['new']:,} in the export - {both:,} in "
        f"both = {m['total']:,} rows"
    )
    if not both:
        return line
    if ID_COLUMNS.get(kind) is None:
        return line + " (an answer in both counts once)"
    updated = int(m.get("updated", 0))
    if kind != "orders":
        return line + " (for those in both, the export's version is kept)"
    return line + (
        f" (of the {both:,} in both: {both - updated:,} unchanged, {updated:,} updated to "
        "the export's version)"
    )


def check_append_conflicts(old: Import, new: Import) -> int:
    """How many orders in both the workbook and the export changed; refuse when the
    export may be the older of the two.

    An order in both with different content (amount, date, status, refund, customer)
    takes the export's version when the export is the later snapshot: its data reach
    at least as far as the workbook's (an export cannot hold orders placed after it
    was made). An export that ends before the workbook's data may be an old file
    appended by mistake: then a changed order is refused, naming the order, both
    files and both rows, and nothing is written.

    Raises
    ------
    ExportError
        A changed order and an export older than the workbook's data.
    """
    from retention_xl.errors import ExportError

    key = "order_id"
    a, b = old.frame, new.frame
    shared = [c for c in a.columns if c in b.columns and c != key]
    a_ids, b_ids = _id_text(a[key]), _id_text(b[key])
    both = set(a_ids[_among(a_ids, b_ids)].tolist())
    if not both:
        return 0
    a_pos = pd.Series(range(len(a)), index=a_ids.to_numpy())
    b_pos = pd.Series(range(len(b)), index=b_ids.to_numpy())
    a_pos = a_pos[~a_pos.index.duplicated()]
    b_pos = b_pos[~b_pos.index.duplicated()]
    ids = sorted(both)
    ia, ib = a_pos[ids].to_numpy(), b_pos[ids].to_numpy()
    changed = np.zeros(len(ids), dtype=bool)
    for c in shared:
        left = _as_text(a[c].iloc[ia])
        right = _as_text(b[c].iloc[ib])
        changed |= left != right
    if not changed.any():
        return 0
    a_last, b_last = old.report.last_date, new.report.last_date
    if a_last is None or b_last is None or b_last >= a_last:
        return int(changed.sum())
    first = int(np.flatnonzero(changed)[0])
    ra, rb = a.iloc[ia[first]], b.iloc[ib[first]]
    differ = [c for c in shared if _as_text(a[c].iloc[[ia[first]]])[0] !=
              _as_text(b[c].iloc[[ib[first]]])[0]]  # fmt: skip
    values = ", ".join(f"{_cell(ra[c])} / {_cell(rb[c])}" for c in differ)
    a_row = _row_of(old.report, int(ia[first]))
    b_row = _row_of(new.report, int(ib[first]))
    new_name, old_name = Path(new.report.file).name, old.report.file
    raise ExportError(
        f"order {ids[first]!r} is in {old_name}{a_row} and in {new_name}{b_row} with "
        f"different {', '.join(differ)} ({values}). {new_name} ends on "
        f"{b_last.date().isoformat()}, before the workbook's orders (to "
        f"{a_last.date().isoformat()}), so it may be the older of the two: nothing was "
        f"changed. Remove the stale row, or refresh without --append giving a complete "
        f"export ({int(changed.sum()):,} orders differ)",
        file=new.report.file,
        row=None if not b_row else int(b_row.split()[-1]),
        column=key,
    )


def _as_text(values: pd.Series) -> np.ndarray:
    """Cells as comparable text (dates as days, numbers to the cent, blanks as "")."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        days: np.ndarray = values.dt.strftime("%Y-%m-%d").fillna("").to_numpy(dtype=object)
        return days
    if pd.api.types.is_float_dtype(values.dtype):
        return values.round(2).astype("string").fillna("").to_numpy(dtype=object)
    return values.astype("string").str.strip().fillna("").to_numpy(dtype=object)


def _cell(value: object) -> str:
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return str(value)


def _row_of(report: ImportReport, position: int) -> str:
    rows = report.source_rows
    return f" row {rows[position]}" if rows is not None and position < len(rows) else ""


def merge_rows(old: pd.DataFrame, new: pd.DataFrame, kind: str) -> tuple[pd.DataFrame, int]:
    """The rows of ``old`` (in the workbook) and ``new`` (the export), deduplicated.

    Orders and subscriptions: one row per id, the export's version winning (a refund
    or a cancellation since the last refresh updates the row). Rows without an id
    (survey answers): identical rows are one answer, counted as many times as the
    larger of the two sources has it (overlapping exports are not double counted).
    Returns the merged frame and how many rows of ``old`` the export replaced.

    Examples
    --------
    >>> old = pd.DataFrame({"order_id": ["1", "2"], "amount": [10.0, 20.0]})
    >>> new = pd.DataFrame({"order_id": ["2", "3"], "amount": [0.0, 30.0]})
    >>> frame, replaced = merge_rows(old, new, "orders")
    >>> frame["amount"].tolist(), replaced
    ([10.0, 0.0, 30.0], 1)
    """
    columns = list(dict.fromkeys([*new.columns, *old.columns]))
    old = old.reindex(columns=columns)
    new = new.reindex(columns=columns)
    key = ID_COLUMNS.get(kind)
    if key is not None and key in columns:
        old_ids = _id_text(old[key])
        new_ids = _id_text(new[key])
        in_new = _among(old_ids, new_ids)
        replaced = int(in_new.sum())
        frame = pd.concat([old[~in_new], new], ignore_index=True)
        return frame, replaced
    # multiset union: each distinct row max(count in old, count in new) times
    keys = [c for c in columns if c in old.columns]
    old_n = old.assign(_n=old.groupby(keys, dropna=False, sort=False).cumcount())
    new_n = new.assign(_n=new.groupby(keys, dropna=False, sort=False).cumcount())
    both = pd.concat([old_n, new_n], ignore_index=True)
    dup = both.duplicated(subset=[*keys, "_n"], keep="first")
    replaced = int(dup.sum())
    frame = both[~dup.to_numpy()].drop(columns="_n").reset_index(drop=True)
    return frame, replaced


def _id_text(ids: pd.Series) -> pd.Series:
    return ids.astype("string").str.strip().fillna("")


def _among(ids: pd.Series, pool: pd.Series) -> np.ndarray:
    """Which of ``ids`` (texts, as :func:`_id_text` gives them) are in ``pool``: one hash
    lookup each in the distinct ids of ``pool``.

    >>> _among(pd.Series(["1", "2", "3"]), pd.Series(["3", "1", "3"]))
    array([ True, False,  True])
    """
    found: np.ndarray = pd.Index(pool.unique()).get_indexer(ids) >= 0
    return found


# --------------------------------------------------------------------------- refresh


def refresh(
    book: str | Path,
    inputs: Inputs,
    *,
    append: bool = False,
    backup: bool = True,
    quiet: bool = True,
    limits: ZipLimits = DEFAULT_LIMITS,
) -> RefreshSummary:
    """Refresh ``book`` in place with the exports in ``inputs`` (see module docstring).

    Parameters
    ----------
    book : path
        A workbook made by ``retention-xl template`` or ``build`` (.xlsx or .xlsm).
    inputs : Inputs
        The exports read by :func:`retention_xl.io.load_inputs`.
    append : bool
        Keep the rows already in the raw tabs and add the export's, deduplicated.
    backup : bool
        Keep the previous version as ``BOOK.bak``.
    quiet : bool
        No progress bars (they are shown only on a terminal anyway).
    limits : ZipLimits
        Zip-bomb limits for reading the workbook.

    Returns
    -------
    RefreshSummary

    Raises
    ------
    WorkbookError
        The workbook is locked, damaged, unsafe, not a retention_xl workbook, or lacks
        a raw tab for a given export; :class:`WorkbookLockedError` when it is open.
    ExportError
        Bad data in a raw tab that is kept (located by sheet, row and column).
    """
    start = time.perf_counter()
    path = Path(book)
    check_not_locked(path)
    leftovers = clean_stale_temporaries(path)
    pkg = read_package(path, limits=limits)
    info = pkg.workbook()
    roles = info.role_sheets()
    if not roles:
        raise WorkbookError(
            f"{path.name} has no retention_xl sheet markers (defined names "
            f"{sheet_marker('<ROLE>')}): it was not made by `retention-xl template` or "
            "`retention-xl build`, or its names were deleted. Build a new report with "
            "`retention-xl build`"
        )
    if "ORDERS" not in roles and any(n.casefold() == "cohorts_customers" for n in info.names):
        raise WorkbookError(
            f"{path.name} is an aggregate report (no Orders tab: its orders did not fit a "
            "sheet), so refresh cannot rebuild it from its own sheets; build it again from "
            "all the orders: `retention-xl build --orders LAKE --engine duckdb --out "
            f"{path.name}`"
        )
    manifests = verify_layout(info, roles, book=path.name)
    settings = book_settings(pkg, info, inputs)
    lang, currency = settings.lang, settings.currency
    summary = RefreshSummary(
        book=str(path), backup=None, lang=lang, currency=currency, append=append
    )
    summary.settings = {
        "period": settings.period,
        "market": settings.market,
        "no_raw": str(settings.no_raw).lower(),
        "read_from": settings.source,
    }
    summary.notes.extend(
        f"removed {f.name}, a temporary file left by an interrupted run" for f in leftovers
    )
    summary.imports = inputs.as_dict()
    values = read_inputs(pkg, info, INPUT_NAMES)
    summary.inputs = {k: (str(v) if isinstance(v, dt.date) else v) for k, v in values.items()}
    if settings.no_raw:
        _check_no_raw(path.name, inputs, append=append, roles=roles, summary=summary)
    frames, reports = _gather(
        pkg, roles, inputs, append=append, lang=lang, summary=summary, read_tabs=not settings.no_raw
    )
    arguments = plan_arguments(values)
    files = {kind: Path(report.file).name for kind, report in reports.items() if report.file}
    check_currencies(frames, currency, book=path.name, files=files)
    if not settings.no_raw:
        check_sizes(frames, book=path.name, append=append)
    read: dict[str, bytes] = {}  # a part inflated before planning, for patch_package
    with progress(length=1, label="Computing ", quiet=quiet) as bar:
        customers = inputs.customers
        if customers is None and "CUSTOMERS" in roles:
            entry = roles["CUSTOMERS"]
            customers = kept_enrichment(pkg, entry.name, lang, part=entry.part, keep=read)
        pkg.release()  # every sheet is read: calamine's copy of the file goes
        plan = _plan_report(frames, reports, arguments, settings, summary, customers)
        bar.update(1)
    changes = patch_package(
        pkg, info, plan, roles, summary, quiet=quiet, manifests=manifests, read=read
    )
    del read
    with progress(length=len(pkg.parts), label="Writing   ", quiet=quiet) as bar:
        data = write_package(pkg, changes, on_part=lambda _name: bar.update(1))
    summary.parts_changed = sorted(n for n in changes if n in pkg)
    summary.parts_kept = len(pkg.parts) - len(changes)
    check_not_locked(path)  # opened in the meantime?
    bak = replace_atomically(path, data, expect=pkg.stat, original=pkg.original, backup=backup)
    summary.backup = None if bak is None else str(bak)
    summary.seconds = round(time.perf_counter() - start, 3)
    log.info("refreshed %s in %.1f s", path, summary.seconds)
    return summary


def _gather(
    pkg: Package,
    roles: Mapping[str, SheetEntry],
    inputs: Inputs,
    *,
    append: bool,
    lang: str,
    summary: RefreshSummary,
    read_tabs: bool = True,
) -> tuple[dict[str, pd.DataFrame | None], dict[str, ImportReport]]:
    """The frames to plan with: the exports, merged with or replaced by the raw tabs."""
    frames: dict[str, pd.DataFrame | None] = {}
    reports: dict[str, ImportReport] = {}
    specs: dict[str, Any] | None = None
    for kind in KINDS:  # refuse before reading anything back
        role = RAW_ROLES[kind]
        if getattr(inputs, kind) is not None and role not in roles:
            raise WorkbookError(
                f"{pkg.path.name} has no {kind} sheet (no defined name "
                f"{sheet_marker(role)}), so --{kind} cannot be refreshed into it; refresh "
                "never adds sheets. Build a new report that includes it: "
                f"`retention-xl build --{kind} FILE ...`"
            )
    for kind in KINDS:
        role = RAW_ROLES[kind]
        new: pd.DataFrame | None = getattr(inputs, kind)
        entry = roles.get(role)
        if new is not None:
            reports[kind] = inputs.reports[kind]
        old: Import | None = None
        if read_tabs and entry is not None and (new is None or append):
            if specs is None:
                specs = _raw_specs(lang)
            spec = specs.get(role)
            if spec is not None:
                old = read_raw_tab(
                    pkg,
                    entry.name,
                    kind,
                    spec.columns,
                    header_row=spec.first_row,
                    first_col=spec.first_col,
                )
        if new is None:
            frames[kind] = None if old is None else old.frame
            if old is not None:
                reports[kind] = old.report
                summary.kept[kind] = old.report.as_dict()
            continue
        if old is None:
            frames[kind] = new
            continue
        updated = 0
        if kind == "orders":
            updated = check_append_conflicts(old, Import(new, reports[kind]))
        merged, replaced = merge_rows(old.frame, new, kind)
        frames[kind] = merged
        summary.merged[kind] = {
            "in_book": len(old.frame),
            "new": len(new),
            "replaced": replaced,
            "updated": updated,
            "total": len(merged),
        }
        reports[kind].notes.append(
            f"appended: {len(old.frame):,} rows in the workbook + {len(new):,} in the export "
            f"- {replaced:,} in both = {len(merged):,}"
        )
    return frames, reports


def _check_no_raw(
    book: str,
    inputs: Inputs,
    *,
    append: bool,
    roles: Mapping[str, SheetEntry],
    summary: RefreshSummary,
) -> None:
    """A ``--no-raw`` report keeps no rows: it can only be refreshed from full exports."""
    if append:
        raise WorkbookError(
            f"{book} was built with --no-raw: its raw tabs hold no rows to append to. "
            "Refresh it without --append, giving the complete exports"
        )
    for kind, role in RAW_ROLES.items():
        if getattr(inputs, kind) is None and role in roles:
            summary.notes.append(
                f"{book} was built with --no-raw, so it keeps no {kind} rows: without "
                f"--{kind} the refreshed workbook has no {kind} figures"
            )


def _rendered_part(
    pkg: Package,
    name: str,
    sheet: Any,
    xf: Mapping[str, int],
    *,
    read: dict[str, bytes] | None = None,
    before: Callable[[bytes], None] | None = None,
) -> Part:
    """Worksheet part ``name`` with its ``<sheetData>`` rendered from ``sheet``, deflated.

    The old part is taken from ``read`` (parts already inflated) or inflated, shown to
    ``before`` (which keeps the user's cells), cut around its ``<sheetData>`` once
    (:func:`sheet_part_pieces`) and let go before the rows are rendered: this function
    holds the only reference to it. The rows are compressed as they are rendered, so a
    million-row sheet is never held uncompressed in memory. User row heights and hidden
    rows are kept.
    """
    from retention_xl.workbook.sheetxml import deflate_level, sheet_part_pieces

    old = read.pop(name, None) if read else None
    if old is None:
        old = pkg.read(name)
    if before is not None:
        before(old)
    head, rows, tail = sheet_part_pieces(old, sheet, xf)
    del old
    return deflate_part(
        name,
        itertools.chain([head], rows, [tail]),
        like=pkg.part(name),
        level=deflate_level(sheet),  # the build's rule: level 1 for big sheets
    )


def check_sizes(frames: Mapping[str, pd.DataFrame | None], *, book: str, append: bool) -> None:
    """Refuse more rows than a raw tab holds, before any planning.

    Examples
    --------
    >>> check_sizes({"orders": pd.DataFrame({"a": [1]})}, book="b.xlsx", append=False)
    """
    for kind, frame in frames.items():
        if frame is not None and len(frame) > MAX_DATA_ROWS:
            how = (
                "refresh without --append (the export replaces the rows)"
                if append
                else "keep the export to fewer rows (e.g. a shorter period)"
            )
            raise WorkbookError(
                f"{book}: {kind} would have {len(frame):,} rows"
                + (" after --append" if append else "")
                + f", more than a sheet holds ({MAX_DATA_ROWS:,}): {how}, or build a new "
                "report with `retention-xl build --no-raw`, which keeps no raw rows"
            )


def check_currencies(
    frames: Mapping[str, pd.DataFrame | None],
    currency: str,
    *,
    book: str,
    files: Mapping[str, str] | None = None,
) -> None:
    """Refuse amounts in a currency other than the workbook's (never a silent mix),
    naming the export each kind came from (``files``) when known.

    Examples
    --------
    >>> check_currencies({"orders": pd.DataFrame({"currency": ["EUR"]})}, "EUR", book="b")
    >>> usd = {"orders": pd.DataFrame({"currency": ["USD"]})}
    >>> check_currencies(usd, "EUR", book="b", files={"orders": "o.csv"})
    Traceback (most recent call last):
    ...
    retention_xl.errors.WorkbookError: b is a EUR workbook but the orders (o.csv) are in USD: ...
    """
    for kind, frame in frames.items():
        if frame is None or "currency" not in frame.columns:
            continue
        found = sorted(
            {str(c).upper() for c in frame["currency"].dropna().unique() if str(c).strip()}
        )
        other = [c for c in found if c != currency]
        if other:
            source = f" ({files[kind]})" if files and files.get(kind) else ""
            raise WorkbookError(
                f"{book} is a {currency} workbook but the {kind}{source} are in "
                f"{', '.join(other)}: "
                f"convert them with --rate {currency}=1 --rate {other[0]}=RATE (the value of "
                f"1 {other[0]} in {currency}), or build a new report in {other[0]}"
            )


def patch_package(
    pkg: Package,
    info: WorkbookInfo,
    plan: WorkbookPlan,
    roles: Mapping[str, SheetEntry],
    summary: RefreshSummary,
    *,
    quiet: bool = True,
    manifests: Mapping[str, SheetManifest] | None = None,
    read: dict[str, bytes] | None = None,
) -> dict[str, bytes | Part | None]:
    """The new content of every part a refresh with ``plan`` changes (None: removed).

    Every owned sheet in ``roles`` gets its ``<sheetData>`` from the plan (user row
    heights kept), ``styles.xml`` gains the missing styles, ``workbook.xml`` asks for a
    full recalculation on load and the calculation chain goes. ``summary`` records the
    sheets rewritten and notes the planned sheets the workbook lacks. ``read`` holds
    parts already inflated (taken out of it as they are used).
    """
    from retention_xl.workbook.stylesxml import ensure_styles

    changes: dict[str, bytes | Part | None] = {}
    styles_part = info.rel_target(REL_STYLES)
    if styles_part is None or styles_part not in pkg:
        raise WorkbookError(f"{pkg.path.name} has no styles part: it is damaged")
    old_styles = pkg.read(styles_part)
    new_styles, xf = ensure_styles(old_styles, plan.styles)
    if new_styles != old_styles:
        changes[styles_part] = new_styles
    owned = [s for s in plan.sheets if s.role not in NOT_REFRESHED]
    with progress(owned, label="Sheets    ", quiet=quiet) as sheets:
        for sheet in sheets:
            entry = roles.get(sheet.role)
            if entry is None:
                summary.notes.append(
                    f"the workbook has no {sheet.title!r} sheet ({sheet_marker(sheet.role)} "
                    "is missing; it was deleted?): not refreshed"
                )
                continue
            if entry.kind != "worksheet" or entry.part is None or entry.part not in pkg:
                raise WorkbookError(
                    f"{pkg.path.name}: {sheet_marker(sheet.role)} points at {entry.name!r}, "
                    "which is not a worksheet of this file; point the name back at the "
                    f"{sheet.title!r} sheet (Formulas > Name Manager)"
                )
            manifest = (manifests or {}).get(sheet.role)
            keep = (  # the user's cells on the sheet join the plan, placed
                None
                if manifest is None
                else functools.partial(
                    _keep_user_cells,
                    sheet=sheet,
                    title=entry.name,
                    manifest=manifest,
                    summary=summary,
                )
            )
            new = _rendered_part(pkg, entry.part, sheet, xf, read=read, before=keep)
            changed = not new.same_data(pkg.part(entry.part))
            if changed:
                changes[entry.part] = new
            summary.sheets.append(
                {"role": sheet.role, "sheet": entry.name, "part": entry.part, "changed": changed}
            )
    changes.update(_user_sheets_recalculated(pkg, info, roles, summary))
    workbook_xml = pkg.read(info.part)
    new_wb = set_full_calc_on_load(workbook_xml)
    new_wb = set_defined_names(
        new_wb, _current_names(plan, info, roles), drop_prefix=MANIFEST_PREFIX
    )
    if new_wb != workbook_xml:
        changes[info.part] = new_wb
    chain = without_calc_chain(pkg, info)
    summary.calc_chain_removed = any(v is None for v in chain.values())
    changes.update(chain)
    return changes


def verify_layout(
    info: WorkbookInfo, roles: Mapping[str, SheetEntry], *, book: str
) -> dict[str, SheetManifest]:
    """The manifest of every generated sheet, after checking the sheet still fits it.

    Raises
    ------
    WorkbookError
        A sheet without an intact manifest, or whose generated block was moved,
        stretched or shrunk by inserted or deleted rows or columns (raw tabs may gain
        and lose rows: they are data). The message names the sheet, what moved and
        what to do; the workbook is not changed.
    """
    out: dict[str, SheetManifest] = {}
    for role, entry in roles.items():
        if role in NOT_REFRESHED or role in UNMANAGED or entry.kind != "worksheet":
            continue
        try:
            manifest = read_manifest(info.names, role)
        except ManifestError as exc:
            raise WorkbookError(
                f"{book}: sheet {entry.name!r} cannot be checked: {exc}. Refresh rewrites "
                "only sheets whose layout it can verify, so nothing was changed. Build a "
                "new report with `retention-xl build` (copy your own sheets into it with "
                "Move or Copy Sheet)"
            ) from None
        found = parse_range(info.names.get(area_name(role), ""))
        now = found[1] if found is not None else None
        problem = _layout_change(manifest, now)
        if problem:
            raise WorkbookError(
                f"{book}: sheet {entry.name!r} {problem}, so its numbers would land beside "
                "the wrong labels and names. Nothing was changed. Undo that edit in the "
                "workbook (delete the rows or columns you inserted, or restore those you "
                "deleted) and refresh again; keep notes and your own columns to the right "
                "of or below the generated block, or on a sheet of your own. To start "
                "afresh, build a new report with `retention-xl build`"
            )
        out[role] = manifest
    return out


def _layout_change(manifest: SheetManifest, now: Rect | None) -> str | None:
    """What happened to the generated block, in words; None when it is where it was."""
    was = manifest.area
    if now is None:
        return f"lost its generated block (it was {was.a1()}; its cells were deleted)"
    if manifest.raw:  # rows of a raw tab are data: only its columns and header matter
        if (now.c0, now.c1, now.r0) == (was.c0, was.c1, was.r0):
            return None
    elif now == was:
        return None
    what: list[str] = []
    for count, unit in ((now.rows - was.rows, "row"), (now.cols - was.cols, "column")):
        if manifest.raw and unit == "row":
            continue
        if count:
            verb = "inserted" if count > 0 else "deleted"
            what.append(f"{abs(count)} {unit}{'s' if abs(count) > 1 else ''} {verb} inside it")
    if now.r0 != was.r0:
        what.append(f"moved {'down' if now.r0 > was.r0 else 'up'} by {abs(now.r0 - was.r0)} rows")
    if now.c0 != was.c0:
        what.append(
            f"moved {'right' if now.c0 > was.c0 else 'left'} by {abs(now.c0 - was.c0)} columns"
        )
    return (
        f"was edited inside its generated block ({'; '.join(what)}: it was "
        f"{was.a1()}, it is now {now.a1()})"
    )


def _keep_user_cells(
    old: bytes, sheet: Any, title: str, manifest: SheetManifest, summary: RefreshSummary
) -> None:
    """Add the cells users typed on a generated sheet (its part ``old``) to its plan,
    placed by the rules of :mod:`retention_xl.workbook.usercells` (refused when they
    would be overwritten)."""
    from retention_xl.workbook.plan import Cell
    from retention_xl.workbook.usercells import (
        cell_xml_for,
        find_user_cells,
        place_user_cells,
    )

    found = find_user_cells(old, manifest)
    if not found:
        return
    placement = place_user_cells(found, manifest, sheet_manifest(sheet), sheet=title)
    for cell in placement.cells:
        sheet.cells[(cell.row, cell.col)] = Cell(xml=cell_xml_for(cell))
    summary.user_cells_kept += len(placement.cells)
    summary.notes.extend(placement.notes)


def _current_names(
    plan: WorkbookPlan, info: WorkbookInfo, roles: Mapping[str, SheetEntry]
) -> dict[str, str]:
    """The plan's defined names with each sheet's current (possibly renamed) title;
    names into sheets the workbook no longer has are left out."""
    titles: dict[str, str | None] = {}
    for sheet in plan.sheets:
        entry = roles.get(sheet.role)
        titles[sheet.title] = entry.name if entry is not None else None
    out: dict[str, str] = {}
    # the manifests of what this refresh writes (whatever built the plan)
    for name, formula in {**plan.names, **manifest_names(plan)}.items():
        if name.startswith(sheet_marker("")):
            continue  # the markers are how the sheets were found: they are right
        text = formula
        missing = False
        for title, current in titles.items():
            quoted = "'" + title.replace("'", "''") + "'!"
            if quoted in text:
                if current is None:
                    missing = True
                    break
                text = text.replace(quoted, "'" + current.replace("'", "''") + "'!")
        if not missing:
            out[name] = text
    return out


def _user_sheets_recalculated(
    pkg: Package, info: WorkbookInfo, roles: Mapping[str, SheetEntry], summary: RefreshSummary
) -> dict[str, bytes | Part | None]:
    """The user's sheets without the cached results of their formulas.

    Their formulas read the KPI names and tabs that the refresh has just changed;
    LibreOffice shows a cached result as it is (it does not honour
    ``fullCalcOnLoad``) but computes a formula cell that has none. Only the ``<v>`` of
    formula cells goes (see :mod:`retention_xl.workbook.recalc`).
    """
    from retention_xl.workbook.recalc import drop_formula_results

    owned = {entry.part for entry in roles.values()}
    changes: dict[str, bytes | Part | None] = {}
    for sheet in info.sheets:
        if sheet.kind != "worksheet" or sheet.part is None or sheet.part in owned:
            continue
        if sheet.part not in pkg:
            continue
        old = pkg.read(sheet.part)
        new = drop_formula_results(old)
        if new != old:
            changes[sheet.part] = deflate_part(sheet.part, [new], like=pkg.part(sheet.part))
            summary.recalculated.append(sheet.name)
    return changes


# --------------------------------------------------------------------------- the generator


@dataclass(frozen=True, slots=True)
class _RawSpec:
    columns: tuple[Any, ...]
    first_row: int
    first_col: int


@functools.lru_cache(maxsize=4)
def _raw_specs(lang: str) -> dict[str, _RawSpec]:
    """The generator's column specs of the raw tabs (the template's raw tabs, once)."""
    from retention_xl.workbook.build import template_raw_sheet

    out: dict[str, _RawSpec] = {}
    for role in RAW_ROLES.values():
        sheet = template_raw_sheet(role, lang=lang)
        if sheet.tables:
            t = sheet.tables[0]
            out[role] = _RawSpec(tuple(t.columns), t.first_row, t.first_col)
    return out


def kept_enrichment(
    pkg: Package,
    sheet: str,
    lang: str,
    *,
    part: str | None = None,
    keep: dict[str, bytes] | None = None,
) -> pd.DataFrame | None:
    """The enrichment columns already on the Customers tab (a refresh without
    ``--customers`` keeps them), as a customers frame; None when the tab has none.

    Columns are found by their header in the book's language (row 2 of the tab); the
    marketing consent is read back from its yes/no words. Given the sheet's ``part``,
    a tab whose enrichment columns hold no cell below the header (a report built
    without ``--customers``) is told from its XML, without reading the whole tab; that
    XML goes into ``keep`` (when given) if it is at most :data:`KEEP_BYTES` long, for
    :func:`patch_package` to use instead of inflating the part again.
    """
    from retention_xl.workbook.data import ENRICHMENT_COLUMNS
    from retention_xl.workbook.labels import label
    from retention_xl.workbook.readback import sheet_rows
    from retention_xl.workbook.sheets.derived import DATA_ROW, HEADER_ROW

    labels = [label(f"col.{key}", lang) for key in ENRICHMENT_COLUMNS]
    if part is not None and part in pkg:
        xml = pkg.read(part)
        if keep is not None and len(xml) <= KEEP_BYTES:
            keep[part] = xml
        if _no_cells_below(xml, labels, HEADER_ROW):
            return None
        del xml
    rows = sheet_rows(pkg, sheet)
    if len(rows) <= DATA_ROW:
        return None
    header = [str(v).strip() if v is not None else "" for v in rows[HEADER_ROW]]
    wanted = {key: label(f"col.{key}", lang) for key in ("customer_id", *ENRICHMENT_COLUMNS)}
    where = {key: header.index(text) for key, text in wanted.items() if text in header}
    if "customer_id" not in where or len(where) == 1:
        return None

    def cells(key: str) -> list[object]:
        col = where.get(key)
        out: list[object] = []
        for row in rows[DATA_ROW:]:
            v = row[col] if col is not None and col < len(row) else None
            out.append(None if v is None or v == "" else str(v))
        return out

    frame = pd.DataFrame({key: cells(key) for key in ("customer_id", *ENRICHMENT_COLUMNS)})
    frame = frame[frame["customer_id"].notna()]
    words = {label("value.yes", lang): True, label("value.no", lang): False}
    frame["accepts_marketing"] = frame["accepts_marketing"].map(
        lambda v: words.get(v) if isinstance(v, str) else None
    )
    if frame[list(ENRICHMENT_COLUMNS)].isna().all().all():
        return None
    return frame.reset_index(drop=True)


_HEADER_CELL = re.compile(
    rb'<c r="([A-Z]{1,3})(\d+)"[^>]*?\bt="inlineStr"[^>]*>'
    rb"<is><t(?: xml:space=\"preserve\")?>([^<]*)</t></is></c>"
)
_ANY_CELL = re.compile(rb"<c\b[^>]*?(?:/>|>(.*?)</c>)", re.S)
#: a cell tag whose first attribute is not its reference (one pass over the part)
_CELL_REF_NOT_FIRST = re.compile(rb'<c (?!r=")')


def _has_content(body: bytes | None) -> bool:
    return body is not None and (b"<v" in body or b"<f" in body or b"<is" in body)


def _no_cells_below(xml: bytes, labels: Sequence[str], header_row: int) -> bool:
    """True when no column headed by one of ``labels`` (zero-based ``header_row``)
    has a cell with content below the header: then nothing is kept from them.

    Only for plain XML as the generator and the usual editors write it (every cell's
    reference first in its tag, header cells as inline text); anything else answers
    False, and the caller reads the sheet in full.

    >>> head = b'<sheetData><row r="1"><c r="B1" t="inlineStr"><is><t>Name</t></is></c></row>'
    >>> _no_cells_below(head + b'<row r="2"><c r="A2"><v>1</v></c></row></sheetData>',
    ...                 ["Name"], 0)
    True
    >>> _no_cells_below(head + b'<row r="2"><c r="B2"><v>1</v></c></row></sheetData>',
    ...                 ["Name"], 0)
    False
    """
    if b"<c>" in xml or _CELL_REF_NOT_FIRST.search(xml) is not None or b":c " in xml:
        return False
    row = re.search(rb'<row\b[^>]*?\br="%d"[^>]*>(.*?)</row>' % (header_row + 1), xml, re.S)
    if row is None:
        return False
    number = b"%d" % (header_row + 1)
    cells = [m for m in _ANY_CELL.finditer(row.group(1)) if _has_content(m.group(1))]
    simple = [_HEADER_CELL.fullmatch(m.group(0)) for m in cells]
    if not all(m is not None and m.group(2) == number for m in simple):
        return False  # a header cell in another form (shared string, formula, rich text)
    found = {
        m.group(1)
        for m in simple
        if m is not None and html.unescape(m.group(3).decode("utf-8")).strip() in labels
    }
    if not found:
        return False
    below = re.compile(rb'<c r="(?:' + b"|".join(sorted(found)) + rb')(\d+)"', re.S)
    for m in below.finditer(xml):
        if int(m.group(1)) > header_row + 1:
            cell = _ANY_CELL.match(xml, m.start())
            if cell is None or _has_content(cell.group(1)):
                return False
    return True


def _plan_report(
    frames: Mapping[str, pd.DataFrame | None],
    reports: Mapping[str, ImportReport],
    arguments: Mapping[str, Any],
    settings: BookSettings,
    summary: RefreshSummary,
    customers: pd.DataFrame | None = None,
) -> WorkbookPlan:
    """The generator's plan of the refreshed report, as ``build`` would make it."""
    from retention_xl.errors import InputError
    from retention_xl.workbook.build import model_predictions, plan_report

    kwargs: dict[str, Any] = dict(arguments)
    orders = frames.get("orders")
    if orders is not None:  # the models' predictions, as `build` fits them
        kwargs["predictions"] = model_predictions(
            orders,
            as_of=None,
            margin=float(kwargs.get("gross_margin", 1.0)),
            discount_rate=float(kwargs.get("discount_rate", 0.10)),
            notes=summary.notes,
        )

    def plan(**extra: Any) -> WorkbookPlan:
        return plan_report(
            orders,
            frames.get("subscriptions"),
            frames.get("survey"),
            lang=settings.lang,
            currency=settings.currency,
            period=settings.period,
            market=settings.market,
            reports=dict(reports),
            no_raw=settings.no_raw,
            customers=customers,
            **{**kwargs, **extra},
        )

    try:
        return plan()
    except InputError as exc:
        if exc.argument != "period" or kwargs.get("input_period") is None:
            raise
        summary.notes.append(
            f"the period chosen on the KPIs sheet ({kwargs['input_period']}) is not in the "
            "new data: the latest complete period is shown instead"
        )
        return plan(input_period=None)
