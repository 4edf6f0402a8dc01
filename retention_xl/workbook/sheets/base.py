"""What every sheet module shares: the :class:`Context` and table helpers.

A sheet module exposes ``plan(ctx) -> SheetPlan``. It reads the core's results from
``ctx.data`` (None for a template), labels from ``ctx.t``, and registers the defined
names its formulas or other sheets use with :meth:`Context.define`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from retention_xl.errors import WorkbookError
from retention_xl.workbook.data import ReportData, Settings
from retention_xl.workbook.formulas import column_range, sheet_ref
from retention_xl.workbook.labels import label
from retention_xl.workbook.plan import MAX_ROWS, ColumnSpec, Table

__all__ = ["RAW_ROLES", "Context", "blank", "cached", "column_table"]

#: The roles of the raw data tabs (left empty by --no-raw).
RAW_ROLES = frozenset({"ORDERS", "SUBSCRIPTIONS", "SURVEY"})


@dataclass(slots=True)
class Context:
    """Shared state while planning one workbook."""

    lang: str
    settings: Settings
    data: ReportData | None
    titles: dict[str, str]
    names: dict[str, str] = field(default_factory=dict)
    version: str = ""
    #: Frames several sheets share, computed once per workbook (e.g. the customers list).
    memo: dict[str, Any] = field(default_factory=dict, repr=False)

    def t(self, key: str) -> str:
        """The label ``key`` in the workbook's language."""
        return label(key, self.lang)

    def define(self, name: str, role: str, ref: str) -> str:
        """Register a workbook-level defined name for ``ref`` on the sheet of ``role``."""
        if name in self.names:
            raise ValueError(f"defined name {name!r} registered twice")
        self.names[name] = sheet_ref(self.titles[role], ref)
        return name


def blank(value: float | None) -> bool:
    """Whether a number is missing (None or NaN)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def cached(value: Any) -> Any:
    """The cached value of a formula that shows a blank for a missing number."""
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        return "" if math.isnan(float(value)) else float(value)
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return float(value)
    return value


def column_table(
    ctx: Context,
    role: str,
    frame: pd.DataFrame,
    columns: Sequence[tuple[str, str, str, str | None, float | None]],
    *,
    first_row: int,
    prefix: str | None,
) -> Table:
    """A :class:`Table` from ``frame`` with (key, label key, kind, style, width) columns.

    When ``prefix`` is given, every column gets the defined name ``{prefix}_{key}``
    over its whole data column (header excluded), for the formulas.
    Raises :class:`WorkbookError` when the rows do not fit the sheet.
    """
    limit = min(ctx.settings.row_limit, MAX_ROWS - 1 - first_row)
    if len(frame) > limit:
        hint = (
            "; build with --no-raw to leave the raw data tabs out and keep the derived "
            "tabs and KPIs"
            if role in RAW_ROLES
            else ""
        )
        raise WorkbookError(
            f"{len(frame):,} rows do not fit the {ctx.titles[role]!r} sheet (it has room "
            f"for {limit:,} rows below its header on row {first_row + 1}){hint}"
        )
    specs = tuple(
        ColumnSpec(key=key, header=ctx.t(lab), kind=kind, style=style, width=width)  # type: ignore[arg-type]
        for key, lab, kind, style, width in columns
    )
    for key, *_ in columns:
        if key not in frame.columns:
            frame = frame.assign(**{key: pd.Series(np.nan, index=frame.index, dtype="float64")})
    if prefix is not None:
        for i, (key, *_rest) in enumerate(columns):
            ctx.define(f"{prefix}_{key}", role, column_range(first_row + 1, i))
    return Table(
        frame=frame.reset_index(drop=True), columns=specs, first_row=first_row, name=prefix
    )
