"""The ``retention-xl`` command line.

Only this module turns errors into exit codes: a :class:`RetentionError` becomes a
one-line message on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import functools
import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

try:
    import click
except ImportError:  # pragma: no cover - exercised only without the extra
    sys.stderr.write(
        "retention-xl: the command line needs the 'cli' extra: pip install 'retention-xl[cli]'"
        " (or [all] with the Excel functions)\n"
    )
    raise SystemExit(2) from None

from retention_xl import __version__
from retention_xl.cli_options import (
    ORDERS_HELP,
    ORDERS_METAVAR,
    ExportOptions,
    engine_option,
    export_options,
    input_files,
    spark_engine_option,
)
from retention_xl.errors import RetentionError, WorkbookError

F = TypeVar("F", bound=Callable[..., Any])


def user_errors(func: F) -> F:
    """Turn package errors (and unreadable files) into one line and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except RetentionError as exc:
            raise click.ClickException(str(exc)) from exc
        except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
            raise click.ClickException(f"{exc.strerror}: {exc.filename}") from exc

    return wrapper  # type: ignore[return-value]


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinity turned into None (JSON null)."""
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        value = value.item()  # numpy scalars
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def json_text(payload: Any) -> str:
    """``payload`` as RFC 8259 JSON: numbers that are not finite become ``null``.

    Python's ``json`` writes ``NaN`` and ``Infinity``, which no JSON parser accepts.

    >>> json_text({"nrr": float("nan"), "n": [1.5, float("inf")]}).split()
    ['{', '"nrr":', 'null,', '"n":', '[', '1.5,', 'null', ']', '}']
    """
    return json.dumps(_finite(payload), indent=2, ensure_ascii=False, default=str, allow_nan=False)


# click's usage errors exit with 2; make ClickException (user errors) do the same.
click.ClickException.exit_code = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="retention-xl")
def main() -> None:
    """Customer-retention analytics for Excel: KPIs, workbooks, refresh, predictions."""


@main.command()
@input_files
@export_options
@click.option("--json", "as_json", is_flag=True, help="Print the import reports as JSON.")
@user_errors
def check(
    orders: str | None,
    subscriptions: str | None,
    survey: str | None,
    customers: str | None,
    export: ExportOptions,
    as_json: bool,
) -> None:
    """Read exports and report what was found (rows, customers, dates, duplicates,
    refunds, currencies), without building anything."""
    inputs = export.load(
        orders=orders, subscriptions=subscriptions, survey=survey, customers=customers
    )
    inputs.close()  # the reports are all check shows
    if as_json:
        click.echo(json_text(inputs.as_dict()))
    else:
        for line in inputs.lines():
            click.echo(line)


# --------------------------------------------------------------------------- kpis, demo


#: KPIs computed from the subscriptions export, for one month
_SUBSCRIPTION_KPIS = frozenset(
    {"mrr", "arr", "arpa", "logo_churn", "nrr", "grr", "quick_ratio", "subscribers"}
)


def _print_report(
    report: Any, currency: str, *, as_json: bool, extra: dict[str, Any], lang: str = "en"
) -> None:
    """Print a :class:`~retention_xl.core.report.KpiReport` as a table or as JSON (KPI
    names in ``lang``, from the workbook's glossary, for ``it``)."""
    from retention_xl.core.benchmarks import benchmark_target
    from retention_xl.textformat import format_value, render_table
    from retention_xl.workbook.labels import label

    if as_json:
        payload = {
            "as_of": None if report.as_of is None else str(report.as_of.date()),
            "period_start": None
            if report.period_start is None
            else str(report.period_start.date()),
            "period_end": None if report.period_end is None else str(report.period_end.date()),
            "period_complete": report.period_complete,
            "subscription_month": None
            if report.subscription_month is None
            else report.subscription_month.strftime("%Y-%m"),
            "currency": currency,
            "kpis": report.to_records(),
            **extra,
        }
        click.echo(json_text(payload))
        return
    rows = []
    for key, row in report.table.iterrows():
        target = ""
        rating = str(row["rating"])
        if rating:
            unit = str(row["unit"])
            target = format_value(benchmark_target(str(key), "excellent"), unit, currency, lang)
            rating = label(f"level.{rating}", lang)
        name = label(f"kpi.{key}", lang)  # the workbooks' glossary: one place, both languages
        if report.subscription_month is not None and str(key) in _SUBSCRIPTION_KPIS:
            name += f" ({report.subscription_month.strftime('%Y-%m')})"
        rows.append(
            [
                name,
                format_value(float(row["value"]), str(row["unit"]), currency, lang),
                rating,
                target,
            ]
        )
    if report.period_start is not None:
        click.echo(
            label("cli.period", lang).format(
                start=report.period_start.date(),
                end=report.period_end.date(),
                partial="" if report.period_complete else label("cli.partial", lang),
                as_of=report.as_of.date(),
            )
        )
    if report.subscription_month is not None:
        month = report.subscription_month
        name = label(f"month.{month.month}", lang)
        click.echo(label("cli.sub_month", lang).format(month=f"{name} {month.year}"))
    header = [label(f"cli.{h}", lang) for h in ("kpi", "value", "benchmark", "excellent_at")]
    click.echo(render_table(header, rows))
    for note in report.notes:
        click.echo(f"note: {note}")


def _kpi_options(func: F) -> F:
    """Options shared by ``kpis`` and ``demo``: period, CAC, margin, JSON."""
    for option in reversed(
        (
            click.option(
                "--period",
                type=click.Choice(["Y", "Q", "M"]),
                default="Y",
                show_default=True,
                help="Calendar period of churn and retention (the last complete one is shown).",
            ),
            click.option(
                "--gross-margin",
                type=click.FloatRange(0, 1),
                default=1.0,
                show_default=True,
                help="Gross margin as a fraction (0.4 = 40 %), applied to CLV.",
            ),
            click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table."),
        )
    ):
        func = option(func)
    return func


@main.command()
@input_files
@export_options
@_kpi_options
@click.option("--as-of", default=None, help="Analysis date, YYYY-MM-DD (default: last order).")
@click.option("--cac", type=float, default=None, help="Customer acquisition cost, for CLV : CAC.")
@click.option("--currency", default=None, help="Currency shown (default: the exports' own).")
@click.option(
    "--lang",
    type=click.Choice(["en", "it"]),
    default="en",
    show_default=True,
    help="Language of the table (KPI names, ratings), from the workbooks' glossary.",
)
@spark_engine_option
@user_errors
def kpis(
    orders: str | None,
    subscriptions: str | None,
    survey: str | None,
    customers: str | None,
    export: ExportOptions,
    period: str,
    gross_margin: float,
    as_json: bool,
    as_of: str | None,
    cac: float | None,
    currency: str | None,
    lang: str,
    engine: str,
    spark_master: str,
) -> None:
    """Print the retention KPIs of your exports and how they compare with benchmarks.

    Reads Shopify, WooCommerce, Stripe and survey exports (Italian or English), plain
    CSV files with the canonical column names, and orders in Parquet files or a DuckDB
    table, aggregated where they are with --engine duckdb.
    """
    from retention_xl.core.report import kpi_report

    if not (orders or subscriptions or survey):
        raise click.UsageError("give at least one of --orders, --subscriptions, --survey")
    inputs = export.load(
        orders=orders,
        subscriptions=subscriptions,
        survey=survey,
        customers=customers,
        engine=engine,
        spark_master=spark_master,
    )
    try:
        if not as_json:
            for line in inputs.lines():
                click.echo(line, err=True)
        order_engine = inputs.order_engine()
        totals = (
            None
            if order_engine is None
            else order_engine.order_totals(period=period, window_days=365, as_of=as_of)
        )
        report = kpi_report(
            totals,
            inputs.subscriptions,
            inputs.survey,
            period=period,  # type: ignore[arg-type]
            as_of=as_of,
            cac=cac,
            gross_margin=gross_margin,
            subscription_engine=inputs.subscription_engine(),
        )
    finally:
        inputs.close()
    shown = currency or _currency_of(inputs) or "EUR"
    extra: dict[str, Any] = {"imports": inputs.as_dict()}
    if order_engine is not None:
        extra["engine"] = order_engine.name
    elif inputs.subscriptions is not None:  # what computed the MRR figures
        extra["engine"] = inputs.subscription_engine_name or "pandas"
    _print_report(report, shown, as_json=as_json, extra=extra, lang=lang)


def _aggregate_reason(inputs: Any, *, aggregate: bool, row_limit: int) -> str | None:
    """Why ``build`` writes an aggregate report (None: a full report), decided from the
    import report's counts before any order is loaded or model fitted.

    ``--aggregate`` asks for one; with the DuckDB engine one is chosen when the orders
    do not fit a sheet or the customers the Customers sheet. The pandas engine holds
    every order in memory: it keeps refusing what a sheet cannot hold.
    """
    from retention_xl.workbook.aggregate import aggregate_reason
    from retention_xl.workbook.build import customer_capacity

    lake = inputs.lake_engine
    rep = inputs.reports.get("orders")
    if lake is None or rep is None:
        if aggregate:
            raise WorkbookError(
                "--aggregate needs the orders in DuckDB: read them with --engine duckdb "
                "(Parquet files, a DuckDB table or CSV files in the canonical layout)"
            )
        return None
    reason = aggregate_reason(
        rep.records,
        rep.customers,
        row_limit=row_limit,
        customer_limit=min(customer_capacity(), row_limit),
    )
    if reason is not None:
        return f"{reason}: building an aggregate report (no Orders tab; see --aggregate)"
    if aggregate:
        return "--aggregate: building an aggregate report"
    return None


def _build_aggregate(
    inputs: Any,
    *,
    out: Path,
    limit: int,
    currency: str | None,
    row_limit: int,
    written: list[str],
    lang: str,
    **options: Any,
) -> Any:
    """``build`` of an aggregate report: the side file of every customer and the
    workbook, each written to a temporary file and renamed only when both are complete
    (a failure leaves both files as they were)."""
    from retention_xl.files import write_atomically
    from retention_xl.workbook.aggregate import compute_aggregate_data, side_file
    from retention_xl.workbook.build import check_sheet_limits, plan_of_data, write_workbook
    from retention_xl.workbook.data import DEFAULT_TARGETS, Settings

    check_sheet_limits(None, inputs.subscriptions, inputs.survey, row_limit=row_limit)
    side = side_file(out)
    shown = currency or _currency_of(inputs) or "EUR"
    targets = {**DEFAULT_TARGETS, **dict(options.pop("targets") or {})}
    settings = Settings(
        currency=shown,
        targets=targets,
        aggregate=True,
        customer_limit=limit,
        row_limit=row_limit,
        **options,
    )
    notes: list[str] = []
    got: dict[str, Any] = {}

    def write_both(tmp: Path) -> None:
        data = compute_aggregate_data(
            inputs.lake_engine,
            inputs.subscriptions,
            inputs.survey,
            settings,
            scores_path=tmp,
            side_name=side.name,
            reports=inputs.reports,
            customers=inputs.customers,
            notes=notes,
            subscription_engine=inputs.subscription_engine(),
        )
        for note in notes:
            click.echo(f"note: {note}", err=True)
        plan = plan_of_data(data, lang)
        got["path"] = write_workbook(plan, out, command="build", notes=written)
        got["plan"], got["data"] = plan, data

    done = write_atomically(side, write_both, command="build")
    written.extend(done.notes())
    return got["path"], got["plan"], got["data"], notes, shown


def _plan_build(
    inputs: Any,
    *,
    no_raw: bool,
    currency: str | None,
    row_limit: int = 1_048_575,
    **options: Any,
) -> Any:
    """The report plan of ``build``: sheet limits first, then the models and the core.

    With the DuckDB and Spark engines the limits are counted in DuckDB before any order
    is loaded; the workbook holds its orders, so they are then loaded (at most a sheet
    of rows), and the engine computes the customer summary, period tables and KPI totals.
    """
    from retention_xl.workbook.build import (
        check_sheet_limits,
        model_predictions,
        plan_report_and_data,
    )

    lake = inputs.lake_engine
    orders = inputs.orders
    if lake is not None:
        rep = inputs.reports["orders"]
        check_sheet_limits(
            None,
            inputs.subscriptions,
            inputs.survey,
            no_raw=no_raw,
            row_limit=row_limit,
            order_counts=(rep.records, rep.customers),
        )
        orders = lake.frame()
    # before the models and the report: minutes of work for a file that cannot be written
    check_sheet_limits(
        orders, inputs.subscriptions, inputs.survey, no_raw=no_raw, row_limit=row_limit
    )
    predictions = None
    notes: list[str] = []
    if orders is not None:
        predictions = model_predictions(
            orders,
            as_of=None,
            margin=options["gross_margin"],
            discount_rate=options["discount_rate"],
            notes=notes,
        )
    for note in notes:
        click.echo(f"note: {note}", err=True)
    shown = currency or _currency_of(inputs) or "EUR"
    plan, data = plan_report_and_data(
        orders,
        inputs.subscriptions,
        inputs.survey,
        currency=shown,
        predictions=predictions,
        reports=inputs.reports,
        no_raw=no_raw,
        row_limit=row_limit,
        customers=inputs.customers,
        engine=lake,
        subscription_engine=inputs.subscription_engine(),
        **options,
    )
    return plan, data, notes, shown


def _currency_of(inputs: Any) -> str | None:
    """The single currency the exports declare, if any."""
    found = {c for rep in inputs.reports.values() for c in getattr(rep, "currencies", ())}
    return found.pop() if len(found) == 1 else None


@main.command()
@_kpi_options
@click.option(
    "--cac",
    type=float,
    default=45.0,
    show_default=True,
    help="Acquisition cost assumed for the sample shop, for CLV : CAC.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("retention_demo.xlsx"),
    show_default=True,
    help="Where to write the report workbook of the sample.",
)
@click.option("--lang", type=click.Choice(["en", "it"]), default="en", show_default=True)
@click.option("--quiet", "-q", is_flag=True, help="No progress and no KPI table.")
@user_errors
def demo(
    period: str, gross_margin: float, as_json: bool, cac: float, out: Path, lang: str, quiet: bool
) -> None:
    """Run the main job on the bundled sample shop: the report workbook, and its KPIs
    with benchmark status."""
    from retention_xl.datasets import load_sample
    from retention_xl.files import check_target
    from retention_xl.progress import Stages
    from retention_xl.workbook.build import model_predictions, plan_report_and_data, write_workbook

    check_target(out, command="demo")  # before minutes of work
    steps = Stages(2, quiet=quiet or as_json)
    steps.step("Fitting the models and computing the report of the sample shop")
    sample = load_sample()
    predictions = model_predictions(sample.orders, margin=gross_margin)
    plan, data = plan_report_and_data(
        sample.orders,
        sample.subscriptions,
        sample.survey,
        lang=lang,
        currency="EUR",
        period=cast(Literal["Y", "Q", "M"], period),  # click checked it
        cac=cac,
        gross_margin=gross_margin,
        predictions=predictions,
    )
    steps.step(f"Writing {out.name}")
    written: list[str] = []
    path = write_workbook(plan, out, command="demo", notes=written)
    for line in written:
        click.echo(f"note: {line}", err=True)
    if quiet and not as_json:
        click.echo(str(path.resolve()))
        return
    if not as_json:
        from retention_xl.workbook.labels import label

        click.echo(label("cli.demo", lang))
        click.echo(label("cli.written", lang).format(path=path.resolve()))
    _print_report(
        data.report, "EUR", as_json=as_json, extra={"workbook": str(path.resolve())}, lang=lang
    )


def _target_options(values: tuple[str, ...]) -> dict[str, float]:
    """``--target repeat_rate=0.35`` -> ``{"Target_RepeatRate": 0.35}``."""
    names = {
        "repeat_rate": "Target_RepeatRate",
        "clv_cac": "Target_ClvCac",
        "at_risk_share": "Target_AtRiskShare",
        "churn": "Target_Churn",
        "nps": "Target_NPS",
    }
    out: dict[str, float] = {}
    for value in values:
        key, sep, number = value.partition("=")
        key = key.strip().lower()
        if not sep or key not in names:
            raise click.BadParameter(
                f"{value!r}: write KPI=VALUE with KPI one of {', '.join(names)}",
                param_hint="--target",
            )
        try:
            out[names[key]] = float(number)
        except ValueError:
            raise click.BadParameter(
                f"{value!r}: {number!r} is not a number", param_hint="--target"
            ) from None
    return out


_LANG = click.option(
    "--lang",
    type=click.Choice(["en", "it"]),
    default="en",
    show_default=True,
    help="Language of the labels, sheet names and notes (formulas are the same).",
)
_OUT = click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The .xlsx file to write (replaced if it exists).",
)
_PERIOD = click.option(
    "--period",
    type=click.Choice(["Y", "Q", "M"]),
    default="Y",
    show_default=True,
    help="Calendar period of churn and retention on the KPIs sheet.",
)


@main.command()
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The .xlsx file to write (default: retention_template.xlsx, or "
    "modello_retention.xlsx with --lang it).",
)
@_LANG
@click.option("--currency", default="EUR", show_default=True, help="Currency of the amounts.")
@_PERIOD
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
@user_errors
def template(out: Path | None, lang: str, currency: str, period: str, as_json: bool) -> None:
    """Write an empty workbook: paste exports into its raw tabs, or refresh it."""
    from retention_xl.workbook.build import plan_template, write_workbook

    if out is None:
        out = Path("modello_retention.xlsx" if lang == "it" else "retention_template.xlsx")
    written: list[str] = []
    plan = plan_template(lang=lang, currency=currency, period=period)  # type: ignore[arg-type]
    path = write_workbook(plan, out, command="template", notes=written)
    for line in written:
        click.echo(f"note: {line}", err=True)
    if as_json:
        payload = {
            "workbook": str(path.resolve()),
            "lang": lang,
            "currency": currency,
            "period": period,
            "sheets": [sheet.title for sheet in plan.sheets],
            "notes": written,
        }
        click.echo(json_text(payload))
        return
    click.echo(f"Template written: {path}")


@main.command()
@input_files
@export_options
@_OUT
@_LANG
@click.option(
    "--currency", default=None, help="Currency shown (default: the exports' own, or EUR)."
)
@_PERIOD
@click.option(
    "--window-days",
    type=click.IntRange(1, 3650),
    default=365,
    show_default=True,
    help="Activity window: a customer is active while they bought in the last N days.",
)
@click.option("--cac", type=float, default=None, help="Customer acquisition cost, for CLV : CAC.")
@click.option(
    "--gross-margin",
    type=click.FloatRange(0, 1, min_open=True),
    default=1.0,
    show_default=True,
    help="Gross margin as a fraction (0.4 = 40 %), applied to CLV.",
)
@click.option(
    "--discount-rate",
    type=click.FloatRange(0, 1, max_open=True),
    default=0.10,
    show_default=True,
    help="Yearly discount rate of predicted CLV.",
)
@click.option(
    "--market",
    type=click.Choice(["eu", "us", "uk"]),
    default="eu",
    show_default=True,
    help="Benchmark market (CLV : CAC differs).",
)
@click.option(
    "--target",
    "targets",
    multiple=True,
    metavar="KPI=VALUE",
    help="Your target: repeat_rate, clv_cac, at_risk_share, churn or nps, e.g. "
    "--target churn=0.3. Repeatable.",
)
@click.option(
    "--no-raw",
    is_flag=True,
    default=False,
    help="Leave the raw data tabs out (exports larger than a sheet's 1,048,575 data rows); "
    "derived tabs and KPIs are kept.",
)
@click.option(
    "--aggregate",
    is_flag=True,
    default=False,
    help="Build an aggregate report: no Orders tab, KPIs over the per-period and per-cohort "
    "tables, the Customers sheet limited to the customers to act on and every customer in "
    "REPORT_customers.parquet beside the workbook. Chosen by itself with --engine duckdb "
    "when the orders or customers do not fit a sheet.",
)
@click.option(
    "--customers-listed",
    type=int,
    default=None,
    help="Aggregate reports: most customers on the Customers sheet (top predicted CLV, "
    "at risk, VIP; the rule is stated on the sheet) [default: 50,000].",
)
@click.option("--sheet-rows", type=click.IntRange(1, 1_048_575), default=1_048_575, hidden=True)
@click.option(
    "--json", "as_json", is_flag=True, help="Print what was written and the KPIs as JSON."
)
@spark_engine_option
@click.option("--quiet", "-q", is_flag=True, help="No progress and no import report.")
@user_errors
def build(
    orders: str | None,
    subscriptions: str | None,
    survey: str | None,
    customers: str | None,
    export: ExportOptions,
    out: Path,
    lang: str,
    currency: str | None,
    period: str,
    window_days: int,
    cac: float | None,
    gross_margin: float,
    discount_rate: float,
    market: str,
    targets: tuple[str, ...],
    no_raw: bool,
    aggregate: bool,
    customers_listed: int | None,
    sheet_rows: int,
    as_json: bool,
    engine: str,
    spark_master: str,
    quiet: bool,
) -> None:
    """Build the report workbook from your exports (Shopify, WooCommerce, Stripe,
    surveys or canonical CSV, Italian or English).

    Orders beyond a sheet (1,048,575 rows, or more customers than a sheet lists) read
    with --engine duckdb give an aggregate report (see --aggregate).
    """
    from retention_xl.files import check_target
    from retention_xl.progress import Stages
    from retention_xl.workbook.actionable import DEFAULT_LIMIT, check_limit
    from retention_xl.workbook.aggregate import side_file
    from retention_xl.workbook.build import customer_capacity, write_workbook

    if not (orders or subscriptions or survey):
        raise click.UsageError("give at least one of --orders, --subscriptions, --survey")
    target_values = _target_options(targets)
    room = min(customer_capacity(), sheet_rows)
    limit = check_limit(
        min(DEFAULT_LIMIT, room) if customers_listed is None else customers_listed, room
    )
    if aggregate and not orders:
        raise click.UsageError("--aggregate summarises orders: give --orders too")
    check_target(out, command="build")  # before reading long exports
    steps = Stages(3, quiet=quiet or as_json)
    steps.step("Reading the exports")
    inputs = export.load(
        orders=orders,
        subscriptions=subscriptions,
        survey=survey,
        customers=customers,
        engine=engine,
        spark_master=spark_master,
    )
    try:
        if not (quiet or as_json):
            for line in inputs.lines():
                click.echo(line, err=True)
        options: dict[str, Any] = {
            "lang": lang,
            "period": period,
            "window_days": window_days,
            "cac": cac,
            "gross_margin": gross_margin,
            "discount_rate": discount_rate,
            "targets": target_values,
            "market": market,
        }
        reason = _aggregate_reason(inputs, aggregate=aggregate, row_limit=sheet_rows)
        side: Path | None = None
        written: list[str] = []
        if reason is not None:
            click.echo(f"note: {reason}", err=True)
            steps.step("Scoring every customer and computing the aggregate report")
            path, plan, data, notes, shown = _build_aggregate(
                inputs, out=out, limit=limit, currency=currency, row_limit=sheet_rows,
                written=written, **options,
            )  # fmt: skip
            side = side_file(out)
            steps.step(f"Wrote {out.name} and {side.name}")
        else:
            steps.step("Fitting the models and computing the report")
            plan, data, notes, shown = _plan_build(
                inputs, no_raw=no_raw, currency=currency, row_limit=sheet_rows, **options
            )
    finally:
        inputs.close()
    if side is None:
        steps.step(f"Writing {out.name}")
        path = write_workbook(plan, out, command="build", notes=written)
    for line in written:
        click.echo(f"note: {line}", err=True)
    built = _Built(path, plan, data, notes + written, shown, side, reason)
    if as_json:
        click.echo(json_text(built.payload(inputs)))
    elif not quiet:
        click.echo(built.summary())


@dataclass(frozen=True)
class _Built:
    """What ``build`` wrote: the workbook, its plan and data, the notes, the currency
    shown, and for an aggregate report the side file and why it is one."""

    path: Path
    plan: Any
    data: Any
    notes: list[str]
    shown: str | None
    side: Path | None
    reason: str | None

    def payload(self, inputs: Any) -> dict[str, Any]:
        """``build --json``: what was written, the imports, notes and KPIs."""
        data = self.data
        payload: dict[str, Any] = {
            "workbook": str(self.path.resolve()),
            "sheets": [sheet.title for sheet in self.plan.sheets],
            "currency": self.shown,
            "imports": inputs.as_dict(),
            "notes": self.notes,
            "aggregate": self.side is not None,
        }
        if self.side is not None:
            payload["aggregate_reason"] = self.reason
            payload["customers_file"] = str(self.side.resolve())
            payload["customers_listed"] = len(data.summary) if data.summary is not None else 0
        if data.report is not None:
            payload["kpis"] = data.report.to_records()
        return payload

    def summary(self) -> str:
        """The lines ``build`` prints when it is done."""
        lines = [f"Workbook written: {self.path}"]
        if self.side is not None:
            listed = 0 if self.data.summary is None else len(self.data.summary)
            lines.append(
                f"Aggregate report: {listed:,} of {self.data.all_customers:,} customers listed "
                f"on the Customers sheet; every customer, scored, in {self.side}"
            )
        return "\n".join(lines)


@main.command("refresh")
@click.argument("book", type=click.Path(dir_okay=False, path_type=Path))
@input_files
@export_options
@click.option(
    "--append",
    is_flag=True,
    help="Keep the rows already in the raw tabs and add the export's (deduplicated on "
    "order and subscription ids; the export wins).",
)
@click.option("--no-backup", is_flag=True, help="Do not keep the previous version as BOOK.bak.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars and no summary.")
@click.option(
    "--json", "as_json", is_flag=True, help="Print the import and refresh summary as JSON."
)
@engine_option
@click.option("--sheet-rows", type=click.IntRange(1, 1_048_575), default=1_048_575, hidden=True)
@user_errors
def refresh_command(
    book: Path,
    orders: str | None,
    subscriptions: str | None,
    survey: str | None,
    customers: str | None,
    export: ExportOptions,
    append: bool,
    no_backup: bool,
    quiet: bool,
    as_json: bool,
    engine: str,
    sheet_rows: int,
) -> None:
    """Refresh a retention_xl workbook in place from new exports.

    Replaces (or with --append extends) the raw tabs, recomputes the derived tabs and
    every cached value, and keeps everything else: your own sheets, charts, images,
    comments, names, styles, validations, VBA, and the inputs you changed. The file is
    replaced atomically; on any error it is left exactly as it was.

    The orders go into the workbook's raw tab, so they must fit a sheet (1,048,575
    rows). Orders given as Parquet files or a DuckDB table are counted in DuckDB
    (--engine duckdb, the default for them) before any row is read: more than a sheet
    holds is refused (build an aggregate report with `build --aggregate` instead);
    otherwise the rows are read and the refresh goes on as for an export.
    """
    import logging

    from retention_xl.files import check_not_locked
    from retention_xl.progress import progress
    from retention_xl.workbook.refresh import refresh

    # the library's notes (a model that cannot be fitted...) come back in the summary
    logging.getLogger("retention_xl").addHandler(logging.NullHandler())

    if not (orders or subscriptions or survey or customers):
        raise click.UsageError(
            "give at least one of --orders, --subscriptions, --survey, --customers"
        )
    if not book.is_file():
        raise WorkbookError(
            f"{book} does not exist; make one with `retention-xl template` or `retention-xl build`"
        )
    check_not_locked(book)  # fail before reading long exports
    files = [f for f in (orders, subscriptions, survey, customers) if f is not None]
    with progress(length=len(files), label="Reading   ", quiet=quiet or as_json) as bar:
        inputs = export.load(
            orders=orders,
            subscriptions=subscriptions,
            survey=survey,
            customers=customers,
            engine=engine,
        )
        # the workbook takes the rows: counted first, then read into memory
        inputs = _orders_for_a_sheet(inputs, orders=orders, row_limit=sheet_rows)
        bar.update(len(files))
    if not (quiet or as_json):
        for line in inputs.lines():
            click.echo(line, err=True)
    summary = refresh(book, inputs, append=append, backup=not no_backup, quiet=quiet or as_json)
    if as_json:
        payload = {"imports": inputs.as_dict(), "refresh": summary.as_dict()}
        click.echo(json_text(payload))
    elif not quiet:
        for line in summary.lines():
            click.echo(line)


def _orders_for_a_sheet(inputs: Any, *, orders: str | None, row_limit: int) -> Any:
    """``inputs`` with the orders in memory, for ``refresh``'s raw tab.

    Orders left in DuckDB (a lake read with ``--engine duckdb``) are counted there
    first: more orders than a sheet holds, or more customers than the customer sheets
    list, are refused in one line that points to ``build --aggregate``, before any row
    is read; otherwise the rows are read (the frame the pandas engine reads) and the
    engine closed.
    """
    import dataclasses
    import shlex

    from retention_xl.workbook.aggregate import aggregate_reason
    from retention_xl.workbook.build import customer_capacity

    lake = inputs.lake_engine
    if lake is None:
        return inputs
    try:
        rep = inputs.reports["orders"]
        reason = aggregate_reason(
            rep.records,
            rep.customers,
            row_limit=row_limit,
            customer_limit=min(customer_capacity(), row_limit),
        )
        if reason is not None:
            raise WorkbookError(
                f"--orders {orders}: {reason}; refresh writes every order into the "
                "workbook's raw tab. Summarise them in an aggregate report instead: "
                f"retention-xl build --orders {shlex.quote(str(orders))} --aggregate "
                "--out REPORT.xlsx"
            )
        frame = lake.frame()
    finally:
        lake.close()
    return dataclasses.replace(inputs, orders=frame, lake_engine=None)


# --------------------------------------------------------------------------- predict


def _interval_level(_ctx: click.Context, _param: click.Parameter, value: Any) -> float:
    """``--level``: a number strictly between 0 and 1, or a clear usage error."""
    try:
        level = float(value)
    except (TypeError, ValueError):
        level = float("nan")
    if not 0.0 < level < 1.0:  # NaN fails too
        raise click.BadParameter(
            f"{value!r}: give a number between 0 and 1 (not included), e.g. 0.9 for 90 % intervals",
            param_hint="--level",
        )
    return level


@main.command()
@click.option("--orders", metavar=ORDERS_METAVAR, required=True, help=ORDERS_HELP)
@export_options
@click.option("--as-of", default=None, help="Observation date, YYYY-MM-DD (default: last order).")
@click.option(
    "--model",
    type=click.Choice(["bgnbd", "mbgnbd", "pareto_nbd", "bgbb"]),
    default="bgnbd",
    show_default=True,
    help=(
        "Purchase model: BG/NBD, MBG/NBD, Pareto/NBD (times in weeks) or BG/BB (calendar "
        "periods, see --period)."
    ),
)
@click.option(
    "--period",
    type=click.Choice(["Y", "Q", "M"]),
    default=None,
    help=(
        "With --model bgbb: the calendar period (Y year, the default; Q quarter; M month). "
        "A customer's period 0 is the period of their first purchase; their frequency is "
        "the number of later periods with a purchase, up to the last whole period before "
        "--as-of."
    ),
)
@click.option(
    "--holdout-weeks",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help=(
        "Also check the model: fit on all but the last N weeks, compare with what they "
        "bought (not with bgbb)."
    ),
)
@click.option(
    "--horizon-days",
    type=click.FloatRange(min=0),
    default=365.0,
    show_default=True,
    help="Horizon of the predicted CLV, in days.",
)
@click.option(
    "--gross-margin",
    type=click.FloatRange(0, 1),
    default=1.0,
    show_default=True,
    help="Gross margin as a fraction (0.4 = 40 %), applied to the predicted CLV.",
)
@click.option(
    "--discount-rate",
    type=click.FloatRange(min=0),
    default=0.10,
    show_default=True,
    help="Yearly discount rate of the CLV cash flows (0.1 = 10 %).",
)
@click.option(
    "--level",
    default=0.9,
    show_default=True,
    callback=_interval_level,
    help=(
        "Level of the intervals (0 < level < 1): each prediction gets _low and _high "
        "bounds from the uncertainty of the fitted parameters, and the totals of the "
        "next --horizon-days theirs."
    ),
)
@click.option(
    "--no-intervals",
    is_flag=True,
    help="Leave out the intervals (faster on very large exports).",
)
@click.option(
    "--out",
    # a folder is checked later: Spark writes (and replaces) FILE.parquet as a dataset folder
    type=click.Path(writable=True, path_type=Path),
    default=None,
    help="Write the per-customer predictions to FILE.csv, FILE.parquet or FILE.xlsx "
    "(with --engine spark, FILE.parquet is a Parquet dataset folder).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the fit, the at-risk share, the totals and the file as JSON.",
)
@spark_engine_option
@click.option("--quiet", "-q", is_flag=True, help="No progress, import report or summary.")
@user_errors
def predict(
    orders: str,
    export: ExportOptions,
    as_of: str | None,
    model: str,
    period: str | None,
    holdout_weeks: float | None,
    horizon_days: float,
    gross_margin: float,
    discount_rate: float,
    level: float,
    no_intervals: bool,
    out: Path | None,
    as_json: bool,
    engine: str,
    spark_master: str,
    quiet: bool,
) -> None:
    """Predict each customer's probability of being alive, purchases and CLV.

    Fits BG/NBD (or MBG/NBD, Pareto/NBD, BG/BB) and Gamma-Gamma on the orders and
    prints the share of customers at risk (probability alive below 50 %) against the
    e-commerce benchmark (about 28 % typical, 18 % or less the target), and the
    expected purchases, revenue and CLV of the whole customer base over
    --horizon-days with their intervals. With --out, writes one row per customer:
    p_alive, expected purchases in the next 90 and 365 days, predicted CLV, each with
    its _low and _high bound at --level (from 500 draws of the parameters; see the
    README), purchases_pi_low/purchases_pi_high (the range the customer's own
    purchases over --horizon-days fall in with probability --level), risk band. With
    --engine duckdb the models are fitted on the distinct histories DuckDB counts and
    the customers are scored and written in batches (CSV or Parquet), never all in
    memory at once (without intervals); BG/BB's period histories are counted in DuckDB
    too. With --engine spark they are counted in Spark and scored in the Spark workers,
    and --out scores.parquet is a Parquet dataset folder written by Spark (one file per
    partition). With both, --holdout-weeks counts the calibration histories and the
    holdout purchases in the engine and gives the pandas engine's check and --out
    columns.

    BG/BB counts calendar periods (--period, years by default) instead of weeks:
    period 0 is the period of a customer's first purchase, frequency the number of
    later periods with a purchase, recency the last of them and age the whole periods
    since period 0. Only whole periods count: orders after the last period that has
    ended by --as-of are not used. Its p_alive is for the next period, its expected
    purchases count periods with a purchase (part of a period pro rata) and its
    monetary value is the mean spend of such a period.
    """
    from retention_xl.cli_predict import (
        PredictRequest,
        check_request,
        predict_in_memory,
        predict_on_engine,
    )
    from retention_xl.progress import Stages

    request = PredictRequest(
        as_of=as_of,
        model=model,
        period=period,
        holdout_weeks=holdout_weeks,
        horizon_days=horizon_days,
        gross_margin=gross_margin,
        discount_rate=discount_rate,
        level=level,
        no_intervals=no_intervals,
        out=out,
        as_json=as_json,
        quiet=quiet,
    )
    check_request(request, orders=orders, engine=engine)
    steps = Stages(3 if out is not None else 2, quiet=quiet or as_json)
    steps.step("Reading the orders")
    inputs = export.load(orders=orders, engine=engine, spark_master=spark_master)
    for line in inputs.lines():
        if not (as_json or quiet):
            click.echo(line, err=True)
    steps.step("Fitting the models and scoring every customer")
    if inputs.lake_engine is None:
        payload = predict_in_memory(inputs, request, steps)
    else:
        try:
            payload = predict_on_engine(inputs, request)
        finally:
            inputs.close()
    if as_json:
        click.echo(json_text(payload))


def _write_text(path: Path, *, text: str) -> None:
    path.write_text(text, encoding="utf-8")


@main.command("lite")
@click.option(
    "--wheel-url",
    required=True,
    help="Where you host the wheel (https://.../retention_xl-VERSION-py3-none-any.whl).",
)
@click.option(
    "--help-url",
    default=None,
    help="The page the functions' help links open [default: retention_xl_functions.html "
    "beside the wheel; this command writes that page].",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("xlwings-lite"),
    show_default=True,
    help="Folder for main.py, requirements.txt and the help page (created).",
)
@user_errors
def lite_command(wheel_url: str, help_url: str | None, out: Path) -> None:
    """Write main.py and requirements.txt to paste into xlwings Lite.

    Build the wheel once in a checkout (pip wheel --no-deps . -w dist) and host it,
    with the help page written here, on an HTTPS server that allows the add-in to
    download it (CORS).
    """
    from retention_xl.excel import lite
    from retention_xl.excel.registry import help_page_html
    from retention_xl.files import write_atomically

    # everything is checked before anything is written
    requirements = lite.requirements_txt(wheel_url)
    link = lite.default_help_url(wheel_url) if help_url is None else help_url
    main_text = lite.main_py(link)
    import retention_xl.excel.udfs  # noqa: F401  (registers the functions for the page)

    out.mkdir(parents=True, exist_ok=True)
    files = (
        ("main.py", main_text),
        ("requirements.txt", requirements),
        (lite.HELP_PAGE, help_page_html()),
    )
    for name, text in files:
        write_atomically(out / name, functools.partial(_write_text, text=text), command="lite")
    click.echo(f"Wrote {out / 'main.py'}, {out / 'requirements.txt'} and {out / lite.HELP_PAGE}.")
    click.echo(
        "In Excel: open the xlwings Lite editor, paste requirements.txt into its "
        "requirements.txt tab and main.py into main.py, then restart xlwings Lite. The "
        "server hosting the wheel must allow the add-in to download it (CORS: "
        "Access-Control-Allow-Origin)."
    )
    if help_url is None:
        click.echo(
            f"Put {lite.HELP_PAGE} next to the wheel: each function's help link in "
            f"Excel opens {link}#NAME."
        )


@main.command("functions")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "html"]),
    default="text",
    show_default=True,
    help="text: every function with its arguments; markdown: the README table; html: "
    "a help page to host (set RETENTION_XL_HELP_URL to its address on the server).",
)
@user_errors
def functions_command(fmt: str) -> None:
    """List the Excel functions with their arguments and the help Excel shows."""
    from retention_xl.excel import udfs  # noqa: F401  (fills the registry)
    from retention_xl.excel.registry import REGISTRY, describe, help_page_html, markdown_table

    if fmt == "markdown":
        click.echo(markdown_table())
        return
    if fmt == "html":
        click.echo(help_page_html(), nl=False)
        return
    click.echo("\n\n".join(describe(function) for function in REGISTRY.values()))


# One line per command in `retention-xl --help`, and real examples under each command's
# own --help (click would cut the docstring's first sentence at 45 characters).
_HELP: dict[str, tuple[str, tuple[str, ...]]] = {
    "check": (
        "Read exports and say what was found, without computing.",
        (
            "retention-xl check --orders orders_export.csv",
            "retention-xl check --orders ordini.csv --locale it --json",
        ),
    ),
    "kpis": (
        "Print the KPIs of your exports beside their benchmarks.",
        (
            "retention-xl kpis --orders orders_export.csv --period Q",
            "retention-xl kpis --subscriptions subscriptions.csv --as-of 2025-03-31 --json",
            "retention-xl kpis --orders 'lake/*.parquet' --engine duckdb",
            "retention-xl kpis --orders duckdb:shop.duckdb?table=orders --period Q",
        ),
    ),
    "demo": (
        "Build the report of the bundled sample shop and print its KPIs.",
        ("retention-xl demo", "retention-xl demo --lang it --out demo_it.xlsx"),
    ),
    "template": (
        "Write an empty workbook to paste exports into, or to refresh.",
        ("retention-xl template", "retention-xl template --lang it --currency EUR"),
    ),
    "build": (
        "Build the report workbook from your exports.",
        (
            "retention-xl build --orders orders_export.csv --out report.xlsx",
            "retention-xl build --orders ordini.csv --survey nps.csv --lang it --out Rapporto.xlsx",
            "retention-xl build --orders lake/ --engine duckdb --aggregate --out report.xlsx",
        ),
    ),
    "refresh": (
        "Update a report in place from this month's exports.",
        (
            "retention-xl refresh report.xlsx --orders orders_export.csv",
            "retention-xl refresh Rapporto.xlsx --orders ordini_dicembre.csv --append",
        ),
    ),
    "predict": (
        "Score every customer: P(alive), purchases, CLV, risk.",
        (
            "retention-xl predict --orders orders_export.csv --out scores.csv",
            "retention-xl predict --orders orders_export.csv --holdout-weeks 26",
            "retention-xl predict --orders orders_export.csv --model bgbb --period Q",
            "retention-xl predict --orders lake/ --engine duckdb --out scores.parquet",
        ),
    ),
    "functions": (
        "List the Excel functions and their help.",
        ("retention-xl functions", "retention-xl functions --format markdown"),
    ),
    "lite": (
        "Write main.py and requirements.txt for xlwings Lite.",
        ("retention-xl lite --wheel-url https://example.org/retention_xl-0.1.0-py3-none-any.whl",),
    ),
}
for _name, (_short, _examples) in _HELP.items():
    _command = main.commands[_name]
    _command.short_help = _short
    _command.epilog = "\b\nExamples:\n" + "\n".join(f"  {e}" for e in _examples)


if __name__ == "__main__":  # pragma: no cover
    main()
