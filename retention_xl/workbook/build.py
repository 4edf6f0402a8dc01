"""Plan and write the template and report workbooks.

Three functions, stable signatures (refresh and the engine tests use them):

* :func:`plan_report` (frames -> :class:`~retention_xl.workbook.plan.WorkbookPlan`): the
  core computes everything, the sheet modules lay it out;
* :func:`plan_template` (no data): the same sheets, empty, formulas showing blanks;
* :func:`write_workbook` (plan -> ``.xlsx``): XlsxWriter writes the package (styles,
  charts, validations, conditional formats, names), then the sheets' cell data are
  written from the plan.

The output is deterministic: the document timestamps are the data's as-of date (a
fixed date for templates) and XlsxWriter stores fixed zip timestamps, so the same
input gives the same bytes.

Examples
--------
>>> from retention_xl.datasets import load_sample  # doctest: +SKIP
>>> s = load_sample()  # doctest: +SKIP
>>> plan = plan_report(s.orders, s.subscriptions, s.survey, cac=45.0)  # doctest: +SKIP
>>> write_workbook(plan, "report.xlsx")  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import pandas as pd

from retention_xl.errors import ConvergenceError, NotEnoughDataError, WorkbookError
from retention_xl.io.report import ImportReport
from retention_xl.workbook.charts import add_chart
from retention_xl.workbook.data import (
    DEFAULT_TARGETS,
    ReportData,
    Settings,
    compute_report_data,
)
from retention_xl.workbook.labels import LANGS, label
from retention_xl.workbook.manifest import manifest_names
from retention_xl.workbook.plan import (
    INPUT_NAMES,
    MAX_DATA_ROWS,
    ROLES,
    ConditionalFormatSpec,
    SheetPlan,
    WorkbookPlan,
    sheet_marker,
)
from retention_xl.workbook.sheets.about import plan_about, plan_xlwings_conf
from retention_xl.workbook.sheets.base import Context
from retention_xl.workbook.sheets.benchmarks import plan_benchmarks
from retention_xl.workbook.sheets.cohorts import plan_cohorts
from retention_xl.workbook.sheets.dashboard import plan_dashboard
from retention_xl.workbook.sheets.derived import plan_customers, plan_mrr, plan_periods
from retention_xl.workbook.sheets.kpis import plan_kpis
from retention_xl.workbook.sheets.predictions import plan_predictions
from retention_xl.workbook.sheets.raw import plan_raw
from retention_xl.workbook.sheets.segments import plan_segments
from retention_xl.workbook.sheetxml import rewrite_sheet_data
from retention_xl.workbook.styles import make_styles

__all__ = [
    "TEMPLATE_DATE",
    "model_p_alive",
    "model_predictions",
    "plan_of_data",
    "plan_report",
    "plan_report_and_data",
    "plan_template",
    "report_roles",
    "template_raw_sheet",
    "write_workbook",
]

logger = logging.getLogger(__name__)

#: Document date of templates (fixed, so the committed templates are reproducible).
TEMPLATE_DATE: Final = dt.datetime(2024, 1, 1)
#: The sheets of every workbook, in order.
SHEET_ROLES: Final = ROLES
_EXCEL_EPOCH: Final = np.datetime64("1899-12-30", "ns")


def _version() -> str:
    from retention_xl import __version__

    return str(__version__)


def _titles(lang: str) -> dict[str, str]:
    return {role: label(f"sheet.{role}", lang) for role in ROLES}


#: The level of the report's intervals (predicted CLV per customer, totals of next year).
REPORT_LEVEL = 0.9


def model_predictions(
    data_orders: Any,
    *,
    as_of: Any = None,
    margin: float = 1.0,
    discount_rate: float = 0.10,
    notes: list[str] | None = None,
) -> Any:
    """The BG/NBD + Gamma-Gamma predictions per customer, for the report.

    Fits :func:`retention_xl.core.models.predict_customers` on the orders (P(alive),
    expected purchases, predicted CLV over a year with its 90 % interval, risk band,
    fitted parameters, the totals of the next year with their intervals). When
    the models cannot be fitted on them (too few repeat buyers, a likelihood without a
    peak: :class:`~retention_xl.errors.ConvergenceError` or
    :class:`~retention_xl.errors.NotEnoughDataError`) it returns None and appends the
    reason to ``notes``; the workbook then shows "no data" for the at-risk share.
    """
    from retention_xl.core.models import predict_customers

    try:
        return predict_customers(
            data_orders,
            as_of=as_of,
            margin=margin,
            discount_rate=discount_rate,
            level=REPORT_LEVEL,
        )
    except (ConvergenceError, NotEnoughDataError) as exc:
        message = f"customers at risk left blank: the BG/NBD model could not be fitted: {exc}"
        if notes is not None:
            notes.append(message)  # the caller shows it: logging it too printed it twice
        else:
            logger.warning(message)
        return None


def model_p_alive(
    data_orders: Any,
    *,
    as_of: Any,
    margin: float,
    discount_rate: float,
    notes: list[str] | None = None,
) -> pd.Series | None:
    """Per-customer P(alive) of :func:`model_predictions` (None when it cannot be fitted)."""
    out = model_predictions(
        data_orders, as_of=as_of, margin=margin, discount_rate=discount_rate, notes=notes
    )
    return None if out is None else pd.Series(out.customers["p_alive"], dtype="float64")


def report_roles(settings: Settings) -> tuple[str, ...]:
    """The sheets of a workbook, in order: every role, but the Orders tab in an aggregate
    report (its orders do not fit a sheet; the KPIs read the aggregate tables)."""
    if settings.aggregate:
        return tuple(role for role in SHEET_ROLES if role != "ORDERS")
    return tuple(SHEET_ROLES)


def _assemble(ctx: Context, created: dt.datetime) -> WorkbookPlan:
    sheets: list[SheetPlan] = []
    builders = {
        "DASHBOARD": lambda: plan_dashboard(ctx),
        "KPIS": lambda: plan_kpis(ctx),
        "BENCHMARKS": lambda: plan_benchmarks(ctx),
        "COHORTS": lambda: plan_cohorts(ctx),
        "SEGMENTS": lambda: plan_segments(ctx),
        "PREDICTIONS": lambda: plan_predictions(ctx),
        "CUSTOMERS": lambda: plan_customers(ctx),
        "PERIODS": lambda: plan_periods(ctx, "PERIODS"),
        "MONTHLY": lambda: plan_periods(ctx, "MONTHLY"),
        "MRR": lambda: plan_mrr(ctx),
        "ORDERS": lambda: plan_raw(ctx, "ORDERS"),
        "SUBSCRIPTIONS": lambda: plan_raw(ctx, "SUBSCRIPTIONS"),
        "SURVEY": lambda: plan_raw(ctx, "SURVEY"),
        "ABOUT": lambda: plan_about(ctx, list(SHEET_ROLES)),
        "XLWINGS_CONF": lambda: plan_xlwings_conf(ctx),
    }
    # Names used by formulas must exist before the sheets that use them are written,
    # but formulas only need the names at write time: plan every sheet, then order.
    order = (
        "ORDERS", "SUBSCRIPTIONS", "SURVEY", "CUSTOMERS", "PERIODS", "MONTHLY", "MRR",
        "PREDICTIONS", "KPIS", "BENCHMARKS", "COHORTS", "SEGMENTS", "DASHBOARD", "ABOUT",
        "XLWINGS_CONF",
    )  # fmt: skip
    roles = report_roles(ctx.settings)
    builders["ABOUT"] = lambda: plan_about(ctx, list(roles))
    planned = {role: builders[role]() for role in order if role in roles}
    sheets = [planned[role] for role in roles]
    names = dict(ctx.names)
    for sheet in sheets:
        names[sheet_marker(sheet.role)] = "='" + sheet.title.replace("'", "''") + "'!$A$1"
    missing = [n for n in INPUT_NAMES if n not in names]
    if missing:  # pragma: no cover - a programming error
        raise WorkbookError(f"inputs without a defined name: {missing}")
    styles = make_styles(ctx.settings.currency, ctx.lang)
    plan = WorkbookPlan(
        sheets=sheets,
        names=dict(sorted(names.items())),
        styles=styles,
        lang=ctx.lang,
        properties={
            "title": label("dashboard.title", ctx.lang),
            "author": "retention_xl",
            "company": "",
            "comments": f"retention_xl {ctx.version}",
            "created": created,
        },
    )
    # what the generator owns on each sheet, for refresh (see workbook.manifest)
    plan.names = dict(sorted({**plan.names, **manifest_names(plan)}.items()))
    for sheet in plan.sheets:
        if sheet.role != "DASHBOARD":  # laid out by hand (its chart data sits beside it)
            fit_wrapped_rows(sheet, styles)
    return plan


#: Points per line of the default 11-point font, and the default column width (chars).
LINE_POINTS = 15.0
DEFAULT_WIDTH = 8.43


def fit_wrapped_rows(sheet: SheetPlan, styles: Mapping[str, Any]) -> None:
    """Give rows holding wrapped text (table headers, notes) the height their longest
    cell needs, so LibreOffice and Excel do not clip it (they size rows only when the
    file leaves the height out *and* they recalculate layout, which a file opened
    read-only does not). Rows the planner sized are left as they are.

    >>> from retention_xl.workbook.plan import SheetPlan, Style
    >>> s = SheetPlan(role="MRR", title="MRR"); s.col_widths[0] = 10.0
    >>> _ = s.put(1, 0, "Starting MRR of the month", style="header")
    >>> fit_wrapped_rows(s, {"header": Style(wrap=True)}); s.row_heights
    {1: 45.0}
    """
    texts: dict[int, list[tuple[int, str]]] = {}
    for (row, col), cell in sheet.cells.items():
        style = styles.get(cell.style or "")
        if style is not None and getattr(style, "wrap", False) and isinstance(cell.value, str):
            texts.setdefault(row, []).append((col, cell.value))
    for table in sheet.tables:
        style = styles.get(table.header_style or "")
        if style is not None and getattr(style, "wrap", False):
            for j, spec in enumerate(table.columns):
                texts.setdefault(table.first_row, []).append((table.first_col + j, spec.header))
    for row, cells in texts.items():
        if row in sheet.row_heights:
            continue
        lines = 1
        for col, text in cells:
            width = sheet.col_widths.get(col, DEFAULT_WIDTH)
            # words wrap whole: count lines word by word against the column width
            used, count = 0, 1
            for word in text.split():
                need = len(word) if used == 0 else used + 1 + len(word)
                if need > width and used > 0:
                    count += 1
                    used = len(word)
                else:
                    used = need
            lines = max(lines, count + text.count("\n"))
        if lines > 1:
            sheet.row_heights[row] = LINE_POINTS * lines


def customer_capacity() -> int:
    """Most customers a report can list: the Segments list starts lowest of the sheets
    that list every customer (Customers, Segments)."""
    from retention_xl.workbook.sheets.derived import HEADER_ROW
    from retention_xl.workbook.sheets.segments import LIST_HEADER

    return MAX_DATA_ROWS - max(HEADER_ROW, LIST_HEADER)


def check_sheet_limits(
    orders: pd.DataFrame | None,
    subscriptions: pd.DataFrame | None = None,
    survey: pd.DataFrame | None = None,
    *,
    no_raw: bool = False,
    row_limit: int = MAX_DATA_ROWS,
    order_counts: tuple[int, int] | None = None,
) -> None:
    """Refuse exports a report cannot hold, before any analysis runs.

    A raw tab holds at most ``row_limit`` (1,048,575) data rows below its header; the
    customer lists (Customers, Segments) hold :func:`customer_capacity` customers.
    Orders are counted once per order id; customers are those with a purchase.
    ``order_counts`` gives ``(orders, customers)`` counted elsewhere (an engine that
    keeps the orders out of memory) instead of an ``orders`` frame.

    Raises
    ------
    WorkbookError
        Naming the export, its count, the limit and what to do.
    """
    if order_counts is not None:
        rows, buyers = order_counts
        if not no_raw and rows > row_limit:
            raise WorkbookError(
                f"orders has {rows:,} rows, more than a sheet holds ({row_limit:,} data "
                "rows below the header row); build with --no-raw (no_raw=True) to leave "
                "the raw data tabs out and keep the derived tabs and KPIs"
            )
        if buyers > customer_capacity():
            raise WorkbookError(
                f"orders has {buyers:,} customers with a purchase, more than a report can list "
                f"({customer_capacity():,}: the Segments list starts below its summary). Build "
                "from a shorter period or a segment of the customers, or compute the KPIs "
                "with `retention-xl kpis`, which has no such limit"
            )
    if not no_raw:
        for kind, frame in (
            ("orders", orders),
            ("subscriptions", subscriptions),
            ("survey", survey),
        ):
            rows = 0 if frame is None else len(frame)
            if kind == "orders" and rows > row_limit and "order_id" in frame.columns:  # type: ignore[union-attr]
                rows = int(frame["order_id"].nunique())  # type: ignore[index]  # repeated orders go
            if rows > row_limit:
                raise WorkbookError(
                    f"{kind} has {rows:,} rows, more than a sheet holds ({row_limit:,} data "
                    "rows below the header row); build with --no-raw (no_raw=True) to leave "
                    "the raw data tabs out and keep the derived tabs and KPIs"
                )
    if orders is not None and len(orders) > customer_capacity():
        kept = orders
        if "status" in kept.columns:
            kept = kept[~kept["status"].isin(["cancelled", "refunded"])]
        net = kept["amount"] - (kept["refunded"] if "refunded" in kept.columns else 0.0)
        buyers = int(kept.loc[net > 0, "customer_id"].nunique())
        if buyers > customer_capacity():
            raise WorkbookError(
                f"orders has {buyers:,} customers with a purchase, more than a report can list "
                f"({customer_capacity():,}: the Segments list starts below its summary). Read "
                "the orders with --engine duckdb, which builds an aggregate report listing "
                "the customers to act on, build from a shorter period or a segment of the "
                "customers, or compute the KPIs with `retention-xl kpis`, which has no such "
                "limit"
            )


def _check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise WorkbookError(f"lang must be one of {list(LANGS)}, got {lang!r}")
    return lang


def plan_template(
    *, lang: str = "en", currency: str = "EUR", period: Literal["Y", "Q", "M"] = "Y"
) -> WorkbookPlan:
    """The plan of an empty template: raw tabs ready to paste into, formulas blank.

    Parameters
    ----------
    lang
        ``"en"`` or ``"it"``: the labels (formulas are the same).
    currency
        ISO code of the amounts (number formats only).
    period
        Calendar period of churn and retention once data arrive.
    """
    settings = Settings(period=period, currency=currency)
    ctx = Context(
        lang=_check_lang(lang),
        settings=settings,
        data=None,
        titles=_titles(lang),
        version=_version(),
    )
    make_styles(currency, lang)  # validates the currency early
    return _assemble(ctx, TEMPLATE_DATE)


def template_raw_sheet(role: str, *, lang: str = "en") -> SheetPlan:
    """The raw tab ``role`` (``ORDERS``, ``SUBSCRIPTIONS``, ``SURVEY``) of
    :func:`plan_template`, planned alone: its table's columns and place, for reading a
    tab back without planning the whole template.

    >>> sheet = template_raw_sheet("SURVEY")
    >>> [c.key for c in sheet.tables[0].columns]
    ['answered_at', 'score', 'kind', 'customer_id']
    """
    ctx = Context(
        lang=_check_lang(lang),
        settings=Settings(),
        data=None,
        titles=_titles(lang),
        version=_version(),
    )
    return plan_raw(ctx, role)


def plan_report(*args: Any, **kwargs: Any) -> WorkbookPlan:
    """The plan of a report workbook; see :func:`plan_report_and_data` for the arguments."""
    return plan_report_and_data(*args, **kwargs)[0]


def plan_report_and_data(
    orders: pd.DataFrame | None = None,
    subscriptions: pd.DataFrame | None = None,
    survey: pd.DataFrame | None = None,
    *,
    lang: str = "en",
    currency: str = "EUR",
    period: Literal["Y", "Q", "M"] = "Y",
    input_period: dt.date | str | None = None,
    window_days: int = 365,
    cac: float | None = None,
    gross_margin: float = 1.0,
    discount_rate: float = 0.10,
    targets: Mapping[str, float | None] | None = None,
    market: str = "eu",
    p_alive: pd.Series | None = None,
    predictions: Any = None,
    reports: Mapping[str, ImportReport] | None = None,
    no_raw: bool = False,
    row_limit: int = MAX_DATA_ROWS,
    customers: pd.DataFrame | None = None,
    engine: Any = None,
    subscription_engine: Any = None,
) -> tuple[WorkbookPlan, ReportData]:
    """The plan of a report workbook built from canonical frames (any may be None), with
    the core's results it shows (``data.report`` is the headline KPI report).

    Parameters
    ----------
    orders, subscriptions, survey
        Canonical frames (:mod:`retention_xl.core.schema`), e.g. from
        :func:`retention_xl.io.load_inputs` or :func:`retention_xl.datasets.load_sample`.
    lang, currency, period
        As in :func:`plan_template`.
    input_period
        First day of the period the KPIs sheet shows (default: the last complete one).
    window_days, cac, gross_margin, discount_rate, targets
        The KPIs sheet's inputs (``targets`` maps ``Target_*`` names to values; refresh
        passes the user's current inputs here so they keep their values).
    market
        Benchmark market: ``"eu"``, ``"us"`` or ``"uk"``.
    p_alive
        Per-customer probability of being alive (index: customer id), for the at-risk
        share; None leaves it blank (default: from ``predictions``).
    predictions
        The models' predictions (:func:`model_predictions`): predicted CLV, expected
        purchases and risk band per customer, and the Predictions sheet.
    reports
        Import reports of the files (provenance on the About sheet).
    no_raw
        Leave the raw tabs empty (for exports larger than a sheet); the KPIs that read
        them are then written as values.
    row_limit
        Most data rows a sheet may take (1,048,575); more raises
        :class:`~retention_xl.errors.WorkbookError` pointing to ``no_raw``.
    customers
        The customers export (:func:`retention_xl.io.read_customers`): name, email,
        marketing consent, country and tags of the customers who ordered, added as text
        to the Customers tab and the Segments list. Customers without orders are not
        added (they change no KPI).
    engine
        An :class:`~retention_xl.engines.base.OrderEngine` holding ``orders``: the
        customer summary, the period tables and the KPI totals come from it (the DuckDB
        engine computes them in SQL); the rest from the core on ``orders``.
    subscription_engine
        The subscriptions held by an SQL engine
        (:class:`~retention_xl.engines.subscription_sql.SqlSubscriptions`): the MRR
        movements and subscription KPIs come from it; None: from the core.

    Raises
    ------
    WorkbookError
        Too many rows for a sheet, or an unknown language.
    InputError
        Invalid frames or settings (from the core).
    """
    if orders is None and subscriptions is None and survey is None:
        raise WorkbookError("give at least one of orders, subscriptions or survey")
    merged_targets = {**DEFAULT_TARGETS, **dict(targets or {})}
    unknown = sorted(set(merged_targets) - set(DEFAULT_TARGETS))
    if unknown:
        raise WorkbookError(f"unknown target(s) {unknown}; use {sorted(DEFAULT_TARGETS)}")
    settings = Settings(
        period=period,
        input_period=None if input_period is None else pd.Timestamp(input_period).date(),
        window_days=window_days,
        cac=cac,
        gross_margin=gross_margin,
        discount_rate=discount_rate,
        targets=merged_targets,
        market=market,
        no_raw=no_raw,
        row_limit=row_limit,
        currency=currency,
    )
    make_styles(currency, lang)
    _check_lang(lang)
    # refuse early, before the core runs on a frame that cannot be written
    check_sheet_limits(orders, subscriptions, survey, no_raw=no_raw, row_limit=row_limit)
    data: ReportData = compute_report_data(
        orders,
        subscriptions,
        survey,
        settings,
        p_alive=p_alive,
        predictions=predictions,
        reports=reports,
        customers=customers,
        engine=engine,
        subscription_engine=subscription_engine,
    )
    return plan_of_data(data, lang), data


def plan_of_data(data: ReportData, lang: str) -> WorkbookPlan:
    """The report plan of data the core (or an engine) computed, in ``lang``.

    :func:`plan_report_and_data` computes ``data`` from frames;
    :func:`~retention_xl.workbook.aggregate.compute_aggregate_data` from an engine, for
    an aggregate report.
    """
    _check_lang(lang)
    make_styles(data.settings.currency, lang)
    ctx = Context(
        lang=lang, settings=data.settings, data=data, titles=_titles(lang), version=_version()
    )
    created = TEMPLATE_DATE
    if data.as_of is not None:
        created = dt.datetime.combine(data.as_of.date(), dt.time())
    elif data.sub_kpis is not None:
        created = dt.datetime.combine(pd.Timestamp(data.sub_kpis["month"]).date(), dt.time())
    return _assemble(ctx, created)


# ------------------------------------------------------------------------ writing


def _cf_options(rule: ConditionalFormatSpec, workbook: Any) -> dict[str, Any]:
    options: dict[str, Any] = {k: v for k, v in rule.items() if k != "range"}
    if "format" in rule:
        options["format"] = workbook.add_format(dict(rule["format"]))
    return options


def write_workbook(
    plan: WorkbookPlan,
    path: str | Path,
    *,
    command: str = "build",
    notes: list[str] | None = None,
) -> Path:
    """Write ``plan`` to an ``.xlsx`` file at ``path`` (replaced if it exists).

    XlsxWriter writes the package without cell data (styles, widths, frozen panes,
    validations, conditional formats, charts, names, print setup); then
    :func:`~retention_xl.workbook.sheetxml.rewrite_sheet_data` writes every sheet's
    cells and tables from the plan, vectorised. Every ``str`` value is a text cell
    (never a formula); formula cells carry their cached values; the file asks Excel to
    recalculate on load.

    The file is written to a hidden temporary file in the same folder and renamed
    over ``path`` only when complete (:func:`retention_xl.files.write_atomically`):
    an existing report survives an interrupted or failed build byte for byte. A
    missing folder, a report open in Excel or LibreOffice or a read-only one is refused
    before anything is written; ``notes`` receives a line per leftover temporary file
    of an interrupted run that was cleaned up.
    """
    from retention_xl.files import write_atomically

    done = write_atomically(path, lambda tmp: _write_xlsx(plan, tmp), command=command)
    if notes is not None:
        notes.extend(done.notes())
    return done.path


def _write_xlsx(plan: WorkbookPlan, out: Path) -> None:
    try:
        import xlsxwriter
    except ModuleNotFoundError as exc:  # a core-only install
        raise WorkbookError(
            "writing workbooks needs XlsxWriter, which comes with the 'cli' extra: "
            "pip install 'retention-xl[cli]'"
        ) from exc

    workbook = xlsxwriter.Workbook(
        str(out),
        {
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
            "max_url_length": 2079,
        },
    )
    props = dict(plan.properties)
    workbook.set_properties(props)
    workbook.set_custom_property("retention_xl_lang", plan.lang)
    for sheet in plan.sheets:
        ws = workbook.add_worksheet(sheet.title)
        for col in sorted(set(sheet.col_widths) | sheet.hidden_cols):
            hide = {"hidden": True} if col in sheet.hidden_cols else {}
            ws.set_column(col, col, sheet.col_widths.get(col, DEFAULT_WIDTH), None, hide)
        for row, height in sorted(sheet.row_heights.items()):
            ws.set_row(row, height)
        if sheet.freeze:
            ws.freeze_panes(*sheet.freeze)
        if sheet.autofilter:
            ws.autofilter(*sheet.autofilter)
        for rule in sheet.validations:
            options: dict[str, Any] = {k: v for k, v in rule.items() if k not in ("row", "col")}
            ws.data_validation(rule["row"], rule["col"], rule["row"], rule["col"], options)
        for cf in sheet.conditional_formats:
            ws.conditional_format(cf["range"], _cf_options(cf, workbook))
        for (row, col), text in sorted(sheet.comments.items()):
            ws.write_comment(row, col, text)
        for spec in sheet.charts:
            add_chart(workbook, ws, sheet.title, spec)
        if sheet.tab_color:
            ws.set_tab_color(sheet.tab_color)
        if sheet.print_setup:
            _print_setup(ws, sheet.print_setup)
        if sheet.hidden:
            ws.hide()
    for name, ref in plan.names.items():
        workbook.define_name(name, ref)
    workbook.close()  # an OSError goes to write_atomically, which names the target
    # the cell data of every sheet: the fast writer, straight from the plan
    rewrite_sheet_data(out, plan)


def _print_setup(ws: Any, setup: Mapping[str, Any]) -> None:
    if setup.get("landscape"):
        ws.set_landscape()
    if setup.get("paper"):
        ws.set_paper(setup["paper"])
    if "fit_width" in setup:
        ws.fit_to_pages(setup["fit_width"], setup.get("fit_height", 0))
    if setup.get("print_area"):
        ws.print_area(*setup["print_area"])
    if setup.get("center_horizontally"):
        ws.center_horizontally()
    ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
