"""The workbook plan: what the generator writes, as plain data.

A :class:`WorkbookPlan` is a pure function of the data, the user's settings and the
language. Two writers consume it:

* the builder writes a new ``.xlsx`` from it with XlsxWriter (styles, charts,
  validations, conditional formats, names, the ``xlwings.conf`` sheet);
* refresh patches an existing package with it: for every sheet the plan owns it
  rewrites the worksheet's ``<sheetData>`` (and ``<dimension>``) and leaves every other
  part of the file as it was.

The contract between the two
----------------------------
* **Roles, not names.** Every generated sheet is marked by a workbook-level defined
  name ``RXL_SHEET_<ROLE>`` (see :func:`sheet_marker`) referring to ``'<sheet>'!$A$1``.
  Excel and LibreOffice keep defined names in step when a user renames or moves a
  sheet, so refresh finds the sheet whatever it is called now.
* **Inputs are named cells.** Every editable input (period, activity window, CAC,
  gross margin, discount rate, targets) is one cell with a defined name from
  :data:`INPUT_NAMES`. Refresh reads the user's current values through those names and
  plans the refreshed workbook with them, so they keep their values.
* **Sizes that do not move.** Charts, conditional formats, validations and defined
  names refer to ranges whose size does not depend on the data (whole data columns
  ``$A$2:$A$1048576``, or fixed-size chart blocks such as "the last 24 months"), so
  refresh never has to edit a chart, a rule or a name.
* **Styles are data.** Cells name a style key of :data:`~retention_xl.workbook.styles`;
  the builder turns a :class:`Style` into an XlsxWriter format and refresh into an
  ``<xf>`` record appended to ``styles.xml``.
* **Text is inert.** A ``str`` value is always written as a text cell, never as a
  formula, whatever it starts with; only :attr:`Cell.formula` makes a formula.

Examples
--------
>>> from retention_xl.workbook.plan import Cell, SheetPlan
>>> sheet = SheetPlan(role="KPIS", title="KPIs")
>>> _ = sheet.put(0, 0, "Churn rate", style="label")
>>> _ = sheet.put(0, 1, 0.05, formula="=Monthly!F2/Monthly!C2", style="percent")
>>> sheet.cells[(0, 1)].value
0.05
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, NotRequired, Required, TypedDict

import pandas as pd

__all__ = [
    "INPUT_NAMES",
    "MAX_DATA_ROWS",
    "MAX_ROWS",
    "ROLES",
    "Cell",
    "ColumnSpec",
    "ConditionalFormatSpec",
    "SheetPlan",
    "Style",
    "Table",
    "ValidationSpec",
    "WorkbookPlan",
    "sheet_marker",
]

#: Rows in a worksheet (Excel 2007+ and LibreOffice 7.4+).
MAX_ROWS: Final = 1_048_576
#: Data rows under a one-row header.
MAX_DATA_ROWS: Final = MAX_ROWS - 1

Role = Literal[
    "ORDERS",
    "SUBSCRIPTIONS",
    "SURVEY",
    "CUSTOMERS",
    "PERIODS",
    "MONTHLY",
    "MRR",
    "COHORTS",
    "SEGMENTS",
    "PREDICTIONS",
    "KPIS",
    "BENCHMARKS",
    "DASHBOARD",
    "ABOUT",
    "XLWINGS_CONF",
]
#: Every role, in the default sheet order.
ROLES: Final[tuple[str, ...]] = (
    "DASHBOARD",
    "KPIS",
    "BENCHMARKS",
    "COHORTS",
    "SEGMENTS",
    "PREDICTIONS",
    "CUSTOMERS",
    "PERIODS",
    "MONTHLY",
    "MRR",
    "ORDERS",
    "SUBSCRIPTIONS",
    "SURVEY",
    "ABOUT",
    "XLWINGS_CONF",
)

#: The defined names of the editable inputs (not localised: formulas use them).
INPUT_NAMES: Final[tuple[str, ...]] = (
    "Input_Period",
    "Input_WindowDays",
    "Input_CAC",
    "Input_GrossMargin",
    "Input_DiscountRate",
    "Target_RepeatRate",
    "Target_ClvCac",
    "Target_AtRiskShare",
    "Target_Churn",
    "Target_NPS",
)

CellValue = float | int | str | bool | dt.datetime | dt.date | None


def sheet_marker(role: str) -> str:
    """The defined name that marks the sheet of ``role``.

    >>> sheet_marker("ORDERS")
    'RXL_SHEET_ORDERS'
    """
    return f"RXL_SHEET_{role}"


@dataclass(frozen=True, slots=True)
class Style:
    """A cell style as data, for both writers.

    ``num_format`` is an Excel format code (``"0.0%"``, ``'#,##0.00 "€"'``,
    ``"yyyy-mm-dd"``); colours are ``"#RRGGBB"``.
    """

    num_format: str | None = None
    bold: bool = False
    italic: bool = False
    font_color: str | None = None
    bg_color: str | None = None
    border: bool = False
    align: Literal["left", "center", "right"] | None = None
    wrap: bool = False
    font_size: float | None = None
    locked: bool = True


@dataclass(slots=True)
class Cell:
    """One cell: a value, or a formula with its cached value (computed by the core).

    ``formula`` is in English with ``,`` separators and a leading ``=``, as stored in
    an ``.xlsx`` file. For a formula cell, ``value`` is the cached result (NaN or None
    where the formula shows a blank).
    """

    value: CellValue = None
    formula: str | None = None
    style: str | None = None
    #: a user's cell kept by refresh, written as this ``<c>`` element verbatim
    xml: str | None = None


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """How one column of a :class:`Table` is written."""

    key: str  #: column of the frame
    header: str  #: visible (localised) header
    style: str | None = None  #: style key of the data cells
    kind: Literal["text", "number", "date", "bool"] = "number"
    width: float | None = None


@dataclass(slots=True)
class Table:
    """A block of data written from a frame: header row, then one row per record.

    Tables are how raw and derived tabs hold their (possibly million-row) data; writers
    write them vectorised. NaN/NaT/None become blank cells; ``kind="text"`` values are
    written as text cells even when they look like numbers or formulas.
    """

    frame: pd.DataFrame
    columns: tuple[ColumnSpec, ...]
    first_row: int = 0  #: zero-based row of the header
    first_col: int = 0
    header_style: str | None = "header"
    name: str | None = None  #: optional defined-name prefix for the data columns

    @property
    def last_row(self) -> int:
        """Zero-based row of the last data row (the header row when empty)."""
        return self.first_row + len(self.frame)


Block = tuple[int, int, int, int]
"""Zero-based (first_row, first_col, last_row, last_col) of cells on a chart's sheet."""


class CellFormatSpec(TypedDict, total=False):
    """The format a conditional rule applies (XlsxWriter's format options)."""

    bg_color: str
    font_color: str
    bold: bool


class ConditionalFormatSpec(TypedDict, total=False):
    """A conditional format over ``range`` (an A1 range on its sheet): a formula rule
    with its ``format``, a data bar, or a three-colour scale (XlsxWriter's options)."""

    range: Required[str]
    type: Required[Literal["formula", "cell", "data_bar", "2_color_scale", "3_color_scale"]]
    criteria: str
    value: float | str
    format: CellFormatSpec
    min_type: str
    min_value: float
    mid_type: str
    mid_value: float
    max_type: str
    max_value: float
    min_color: str
    mid_color: str
    max_color: str
    bar_color: str
    bar_solid: bool


class ValidationSpec(TypedDict, total=False):
    """A data validation of one input cell (``row``, ``col``, zero-based): a list
    (``source``) or a number between ``minimum`` and ``maximum``, with its messages."""

    row: Required[int]
    col: Required[int]
    validate: Required[Literal["list", "integer", "decimal"]]
    criteria: str
    minimum: float
    maximum: float
    source: str
    error_title: str
    error_message: str
    input_message: str
    ignore_blank: bool


class LineSpec(TypedDict, total=False):
    """How a series' line is drawn (XlsxWriter's line options)."""

    color: str
    width: float
    dash_type: str


class SeriesSpec(TypedDict):
    """One series of a chart: its name cell, values and categories (x values of a
    scatter), all on the chart's own sheet, and how it is drawn."""

    name: tuple[int, int]
    values: Block
    categories: Block
    marker: NotRequired[bool]
    points: NotRequired[list[str]]  #: one fill colour per point (a doughnut's slices)
    line: NotRequired[LineSpec]
    y2_axis: NotRequired[bool]


def series_spec(
    name: tuple[int, int],
    values: Block,
    categories: Block,
    *,
    marker: bool = False,
    points: list[str] | None = None,
    line: LineSpec | None = None,
    y2_axis: bool = False,
) -> SeriesSpec:
    """A :class:`SeriesSpec` with only the options given.

    >>> series_spec((1, 2), (2, 2, 9, 2), (2, 0, 9, 0), marker=True)["marker"]
    True
    """
    spec = SeriesSpec(name=name, values=values, categories=categories)
    if marker:
        spec["marker"] = True
    if points is not None:
        spec["points"] = points
    if line is not None:
        spec["line"] = line
    if y2_axis:
        spec["y2_axis"] = True
    return spec


class ChartSpec(TypedDict, total=False):
    """A native chart, as :func:`retention_xl.workbook.charts.add_chart` draws it.

    ``series`` ranges have a fixed size, so a refreshed workbook keeps its charts.
    """

    key: Required[str]  #: a stable identifier (tests look charts up by it)
    type: Required[Literal["line", "column", "bar", "doughnut", "scatter"]]
    subtype: str  #: ``stacked``; ``straight`` for a scatter drawn as lines
    title: Required[str]
    series: Required[list[SeriesSpec]]
    line_series: list[SeriesSpec]  #: drawn as a line over columns, on the right axis
    anchor: Required[tuple[int, int]]  #: the top-left cell
    size: tuple[int, int]  #: pixels (default 480 x 300)
    x_title: str
    y_title: str
    y2_title: str
    y_format: str
    y2_format: str
    y_min: float
    y_max: float  #: for shares, which cannot pass 100 % (an empty chart's axis would)
    value_labels_slanted: bool  #: the value axis's numbers at 45° (wide ranges crowd)
    x_labels_low: bool  #: category labels under negative bars
    hidden_data: bool  #: plot data kept in hidden columns
    data_labels: str  #: ``"percentage"`` on each slice
    mini: bool  #: a sparkline: one thin line, no axes, title, legend or border


@dataclass(slots=True)
class SheetPlan:
    """Everything the generator writes on one sheet.

    ``cells`` and ``tables`` are the content both writers use. The remaining fields are
    build-time features that refresh leaves as the file has them.
    """

    role: str
    title: str  #: the visible, localised sheet name
    cells: dict[tuple[int, int], Cell] = field(default_factory=dict)
    tables: list[Table] = field(default_factory=list)
    # build-time features (free-form specs interpreted by the builder)
    col_widths: dict[int, float] = field(default_factory=dict)
    hidden_cols: set[int] = field(default_factory=set)  #: helper columns
    row_heights: dict[int, float] = field(default_factory=dict)  #: points
    freeze: tuple[int, int] | None = None
    charts: list[ChartSpec] = field(default_factory=list)
    conditional_formats: list[ConditionalFormatSpec] = field(default_factory=list)
    validations: list[ValidationSpec] = field(default_factory=list)
    comments: dict[tuple[int, int], str] = field(default_factory=dict)
    autofilter: tuple[int, int, int, int] | None = None
    hidden: bool = False
    tab_color: str | None = None
    print_setup: Mapping[str, Any] | None = None

    def put(
        self,
        row: int,
        col: int,
        value: CellValue,
        *,
        formula: str | None = None,
        style: str | None = None,
    ) -> Cell:
        """Set one cell (zero-based row and column) and return it."""
        cell = Cell(value=value, formula=formula, style=style)
        self.cells[(row, col)] = cell
        return cell

    def formula_cells(self) -> Iterator[tuple[tuple[int, int], Cell]]:
        """The cells that hold a formula."""
        for key, cell in self.cells.items():
            if cell.formula is not None:
                yield key, cell


@dataclass(slots=True)
class WorkbookPlan:
    """The sheets in order, the workbook's defined names and document properties.

    ``names`` maps a defined name to its formula text (``"='KPIs'!$C$4"``); it always
    includes the role markers of every sheet. ``properties`` hold the fixed document
    metadata that makes the output deterministic.
    """

    sheets: list[SheetPlan]
    names: dict[str, str] = field(default_factory=dict)
    styles: dict[str, Style] = field(default_factory=dict)
    lang: str = "en"
    properties: dict[str, Any] = field(default_factory=dict)

    def sheet(self, role: str) -> SheetPlan:
        """The sheet of ``role``; KeyError when the plan has none."""
        for sheet in self.sheets:
            if sheet.role == role:
                return sheet
        raise KeyError(role)

    def roles(self) -> list[str]:
        """The roles of the planned sheets, in order."""
        return [sheet.role for sheet in self.sheets]
