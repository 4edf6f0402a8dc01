"""Read values back from a workbook package: named input cells and raw tabs.

Refresh needs what the user has in the workbook now: the values of the editable inputs
(read through their defined names, wherever the sheet went) and, for ``--append`` or for
the raw tabs it was not given a new export of, the rows of the raw tabs. Both are read
from the package in memory, through the safe XML parser; a raw tab goes through the same
readers as an export (:func:`retention_xl.io.readers.read_raw_table`), so data pasted into
a template gets the same validation and located errors as a file.

Examples
--------
>>> pkg = read_package("report.xlsx")  # doctest: +SKIP
>>> read_inputs(pkg, pkg.workbook(), ["Input_CAC"])  # doctest: +SKIP
{'Input_CAC': 45.0}
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from retention_xl.errors import InputError, WorkbookError
from retention_xl.io.formats import GENERIC
from retention_xl.io.locale import all_text
from retention_xl.io.report import Import
from retention_xl.io.safety import iterparse_xml
from retention_xl.io.tables import table_from_cells
from retention_xl.workbook.package import (
    NS_MAIN,
    REL_SHARED_STRINGS,
    Package,
    WorkbookInfo,
)
from retention_xl.workbook.plan import ColumnSpec

__all__ = ["cell_position", "read_cells", "read_inputs", "read_raw_tab", "sheet_rows"]

_C = f"{{{NS_MAIN}}}c"
_ROW = f"{{{NS_MAIN}}}row"
_V = f"{{{NS_MAIN}}}v"
_T = f"{{{NS_MAIN}}}t"
_SI = f"{{{NS_MAIN}}}si"
_CELL_REF = re.compile(r"^([A-Z]{1,3})(\d{1,7})$")


def cell_position(ref: str) -> tuple[int, int]:
    """Zero-based ``(row, col)`` of an A1 reference.

    >>> cell_position("C4"), cell_position("AA10")
    ((3, 2), (9, 26))
    """
    m = _CELL_REF.match(ref.upper().replace("$", ""))
    if m is None:
        raise InputError(f"not a cell reference: {ref!r}")
    col = 0
    for ch in m.group(1):
        col = col * 26 + (ord(ch) - 64)
    return int(m.group(2)) - 1, col - 1


def read_cells(
    pkg: Package, info: WorkbookInfo, part: str, refs: Iterable[str]
) -> dict[str, object]:
    """The values of the cells ``refs`` (``"C4"``) of worksheet ``part``.

    Numbers come back as float, booleans as bool, text as str (shared or inline
    strings, or a formula's text result); blank, missing and error cells as None.
    The sheet is streamed and reading stops after the last wanted row.
    """
    wanted = {r.upper().replace("$", "") for r in refs}
    if not wanted:
        return {}
    last_row = max(cell_position(r)[0] for r in wanted) + 1
    found: dict[str, tuple[str | None, str | None, str | None]] = {}
    empty: tuple[str | None, str | None, str | None] = (None, None, None)
    source = io.BytesIO(pkg.read(part))
    label = f"{pkg.path.name}: {part}"
    try:
        for _event, el in iterparse_xml(source, part=label):
            if el.tag == _C:
                ref = el.get("r", "")
                if ref in wanted:
                    inline = "".join(t.text or "" for t in el.iter(_T))
                    v = el.find(_V)
                    found[ref] = (el.get("t"), None if v is None else v.text, inline)
            elif el.tag == _ROW:
                row = int(el.get("r", "0") or 0)
                el.clear()
                if row >= last_row:
                    break
    except InputError as exc:
        raise WorkbookError(str(exc)) from exc
    sst_needed = {int(v) for t, v, _ in found.values() if t == "s" and v and v.isdigit()}
    sst = _shared_strings(pkg, info, sst_needed) if sst_needed else {}
    out: dict[str, object] = {}
    for ref in wanted:
        cell_kind, cell_value, cell_inline = found.get(ref, empty)
        out[ref] = _decode(cell_kind, cell_value, cell_inline, sst)
    return out


def _decode(kind: str | None, value: str | None, inline: str | None, sst: dict[int, str]) -> object:
    if kind == "inlineStr":
        return inline
    if value is None:
        return None
    if kind == "s":
        return sst.get(int(value)) if value.isdigit() else None
    if kind in ("str", "d"):
        return value
    if kind == "b":
        return value.strip() in ("1", "true")
    if kind == "e":
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _shared_strings(pkg: Package, info: WorkbookInfo, wanted: set[int]) -> dict[int, str]:
    part = info.rel_target(REL_SHARED_STRINGS)
    if part is None or part not in pkg:
        return {}
    out: dict[int, str] = {}
    last = max(wanted)
    index = 0
    label = f"{pkg.path.name}: {part}"
    try:
        for _event, el in iterparse_xml(io.BytesIO(pkg.read(part)), part=label):
            if el.tag != _SI:
                continue
            if index in wanted:
                out[index] = _si_text(el)
            el.clear()
            index += 1
            if index > last:
                break
    except InputError as exc:
        raise WorkbookError(str(exc)) from exc
    return out


def _si_text(si: Any) -> str:
    """A shared string's text: its ``<t>``, or its rich-text runs joined (no phonetics)."""
    parts = [t.text or "" for t in si.findall(_T)]
    parts += [t.text or "" for r in si.findall(f"{{{NS_MAIN}}}r") for t in r.findall(_T)]
    return "".join(parts)


def read_inputs(pkg: Package, info: WorkbookInfo, names: Sequence[str]) -> dict[str, object]:
    """The current values of the named input cells (missing names are left out).

    Cells are grouped by sheet so each sheet is streamed once.
    """
    by_part: dict[str, dict[str, str]] = {}
    for name in names:
        found = info.resolve_name(name)
        if found is None or found[0].part is None:
            continue
        by_part.setdefault(found[0].part, {})[name] = found[1]
    out: dict[str, object] = {}
    for part, refs in by_part.items():
        values = read_cells(pkg, info, part, refs.values())
        for name, ref in refs.items():
            out[name] = values.get(ref)
    return {name: out[name] for name in names if name in out}


def read_raw_tab(
    pkg: Package,
    sheet: str,
    kind: str,
    columns: Sequence[ColumnSpec],
    *,
    header_row: int = 0,
    first_col: int = 0,
) -> Import | None:
    """Read the raw tab ``sheet`` as ``kind`` (orders, subscriptions, survey).

    ``columns`` are the generator's column specs of that tab: a column is found by
    its header (the localised header or the canonical key, any case) and otherwise by
    its position. Returns None when the tab holds no data rows (a template).

    Raises
    ------
    ExportError
        A bad cell, located by sheet, row and column (as for an export file).
    WorkbookError
        The tab cannot be read at all.
    """
    from retention_xl.io.readers import read_raw_table

    rows = sheet_rows(pkg, sheet)
    if len(rows) <= header_row + 1:
        return None
    body_rows = rows[header_row:]
    del rows
    width = max(len(r) for r in body_rows)
    if all(len(r) == width for r in body_rows):  # calamine's rows are rectangular
        cells = np.empty((len(body_rows), width), dtype=object)
        cells[:] = body_rows
    else:  # pragma: no cover - defensive
        cells = np.full((len(body_rows), width), "", dtype=object)
        for i, r in enumerate(body_rows):
            cells[i, : len(r)] = r
    del body_rows
    cells[pd.isna(cells)] = ""
    cells = cells[:, first_col:]
    header = [str(v).strip().casefold() for v in cells[0]]
    roles = GENERIC[kind].roles
    wanted = [spec for spec in columns if spec.key in roles]
    picked = np.empty((cells.shape[0], len(wanted)), dtype=object)
    mapping: dict[str, str] = {}
    for j, spec in enumerate(wanted):
        pos = _find_column(header, spec, columns.index(spec))
        picked[:, j] = cells[:, pos] if pos is not None else ""
        visible = str(cells[0, pos]).strip() if pos is not None else ""
        picked[0, j] = visible or spec.header
    if not any(_filled(v) for v in picked[1:].ravel()):
        return None
    name = f"{pkg.path.name} (sheet {sheet})"
    table = table_from_cells(name, picked, header_row=header_row + 1)
    if len(table.data) == 0:
        return None
    for spec, column in zip(wanted, table.headers, strict=True):
        mapping[spec.key] = column
        values = table.data[column].to_numpy(dtype=object)
        if spec.kind == "text" and not all_text(values):  # ids pasted as numbers: 1001.0
            table.data[column] = table.data[column].map(_plain)  # -> "1001"
        elif spec.kind == "date" and pd.api.types.infer_dtype(values, skipna=False) not in (
            "date",
            "datetime",
        ):
            # a date cell without a date format is its serial
            table.data[column] = table.data[column].map(_serial_date)
    return read_raw_table(kind, table, format="generic", mapping=mapping)


def _find_column(header: list[str], spec: ColumnSpec, position: int) -> int | None:
    for label in (spec.header, spec.key):
        key = label.strip().casefold()
        if key in header:
            return header.index(key)
    return position if position < len(header) else None


def _filled(v: object) -> bool:
    return not (v is None or (isinstance(v, str) and not v.strip()))


def _plain(v: object) -> object:
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return v


_EPOCH = dt.datetime(1899, 12, 30)


def _serial_date(v: object) -> object:
    """An Excel date serial (1900 system) as a datetime; other values unchanged.

    >>> _serial_date(45383.0)
    datetime.datetime(2024, 4, 1, 0, 0)
    """
    if isinstance(v, int | float) and not isinstance(v, bool) and 1 <= v < 2_958_466:
        return _EPOCH + dt.timedelta(days=float(v))
    return v


def sheet_rows(pkg: Package, sheet: str) -> list[list[object]]:
    try:
        from python_calamine import CalamineWorkbook
    except ImportError as exc:  # pragma: no cover - dependency of the cli extra
        raise WorkbookError(
            "reading workbooks needs python-calamine, which comes with the 'cli' extra: "
            "pip install 'retention-xl[cli]'"
        ) from exc
    try:
        if pkg.reader is None:  # opening parses the whole package: once per package
            pkg.reader = CalamineWorkbook.from_filelike(io.BytesIO(pkg.original))
        wb = pkg.reader
        rows: list[list[Any]] = wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises its own error types for damaged parts
        raise WorkbookError(
            f"{Path(pkg.path).name}: sheet {sheet!r} cannot be read ({type(exc).__name__}: {exc})"
        ) from exc
    return rows
