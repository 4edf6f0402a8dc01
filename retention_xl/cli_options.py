"""Click options shared by every command that reads exports.

Usage in :mod:`retention_xl.cli`::

    @main.command()
    @input_files
    @export_options
    @user_errors
    def kpis(orders, subscriptions, survey, customers, export, ...):
        inputs = export.load(orders=orders, subscriptions=subscriptions, survey=survey)
        for line in inputs.lines():
            click.echo(line, err=True)

:func:`export_options` adds ``--format``, ``--locale``, ``--date-format``, ``--map``,
``--rate``, ``--encoding`` and ``--skip-bad-rows`` and hands the command one
``export`` argument, an :class:`ExportOptions`. :func:`input_files` adds ``--orders``
``--subscriptions``, ``--survey`` and ``--customers`` (each an export, Parquet files, a
glob or a DuckDB table: see :mod:`retention_xl.engines.sources`).
:func:`engine_option` adds ``--engine``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from retention_xl.io.inputs import Inputs

__all__ = [
    "ORDERS_HELP",
    "ORDERS_METAVAR",
    "ExportOptions",
    "engine_option",
    "export_options",
    "input_files",
    "spark_engine_option",
]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class ExportOptions:
    """The export-reading options a user gave on the command line."""

    format: tuple[str, ...] = ()
    locale: str | None = None
    date_format: str | None = None
    mapping: tuple[str, ...] = ()
    rates: tuple[str, ...] = ()
    encoding: str | None = None
    skip_bad_rows: bool = False

    def load(
        self,
        orders: str | Path | None = None,
        subscriptions: str | Path | None = None,
        survey: str | Path | None = None,
        customers: str | Path | None = None,
        *,
        engine: str = "auto",
        spark_master: str = "local[*]",
    ) -> Inputs:
        """Read the given files with these options (see :func:`load_inputs`)."""
        from retention_xl.io.inputs import load_inputs  # the readers load pandas: not for --help

        return load_inputs(
            orders=orders,
            subscriptions=subscriptions,
            survey=survey,
            format=self.format or None,
            locale=self.locale,
            date_format=self.date_format,
            mapping=self.mapping,
            skip_bad_rows=self.skip_bad_rows,
            rates=self.rates,
            encoding=self.encoding,
            customers=customers,
            engine=engine,
            spark_master=spark_master,
        )


_OPTIONS = (
    click.option(
        "--format",
        "export_format",
        multiple=True,
        metavar="NAME",
        help="Export layout, detected from the headers by default: shopify, woocommerce, "
        "stripe-payments, stripe-invoices (orders); stripe (subscriptions); typeform, "
        "surveymonkey (survey); generic or canonical. KIND=NAME aims at one file, "
        "e.g. survey=typeform. Repeatable.",
    ),
    click.option(
        "--locale",
        type=click.Choice(["auto", "it", "en"], case_sensitive=False),
        default="auto",
        show_default=True,
        help="Number and date conventions: it = 1.234,56 and dd/mm/yyyy; en = 1,234.56 and "
        "mm/dd/yyyy when a date could be either.",
    ),
    click.option(
        "--date-format",
        metavar="FORMAT",
        default=None,
        help="strftime format of the date cells, e.g. %d/%m/%Y.",
    ),
    click.option(
        "--map",
        "mapping",
        multiple=True,
        metavar="ROLE=COLUMN",
        help="Which column holds a role (customer_id, order_id, order_date, amount, "
        "refunded, status, currency, start_date, end_date, interval, answered_at, score, "
        "kind...), e.g. --map customer_id=Cliente; orders.ROLE=COLUMN aims at one file. "
        "Repeatable.",
    ),
    click.option(
        "--rate",
        "rates",
        multiple=True,
        metavar="CUR=RATE",
        help="Exchange rate into the reporting currency (which has rate 1), needed when an "
        "export mixes currencies: --rate EUR=1 --rate USD=0.92. Repeatable.",
    ),
    click.option(
        "--encoding",
        default=None,
        metavar="NAME",
        help="Text encoding of CSV exports (detected by default: utf-8, cp1252, utf-16).",
    ),
    click.option(
        "--skip-bad-rows",
        is_flag=True,
        default=False,
        help="Skip and count rows with unreadable cells instead of stopping at the first.",
    ),
)


def export_options(func: F) -> F:
    """Add the shared export options; the command receives ``export: ExportOptions``."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        locale = kwargs.pop("locale")
        kwargs["export"] = ExportOptions(
            format=tuple(kwargs.pop("export_format")),
            locale=None if locale in (None, "auto") else locale.lower(),
            date_format=kwargs.pop("date_format"),
            mapping=tuple(kwargs.pop("mapping")),
            rates=tuple(kwargs.pop("rates")),
            encoding=kwargs.pop("encoding"),
            skip_bad_rows=kwargs.pop("skip_bad_rows"),
        )
        return func(*args, **kwargs)

    out: Any = wrapper
    for option in reversed(_OPTIONS):
        out = option(out)
    return out  # type: ignore[no-any-return]


#: the help of ``--orders`` (the sources it takes)
ORDERS_HELP = (
    "The orders: an export (Shopify, WooCommerce, Stripe payments/invoices, generic CSV or "
    "XLSX), a Parquet file, a folder of Parquet files, a glob of Parquet or CSV files "
    "(quoted: 'lake/*.parquet'), or a DuckDB table: duckdb:FILE.duckdb?table=NAME."
)
#: what ``--orders`` shows as its value
ORDERS_METAVAR = "SOURCE"


def input_files(func: F) -> F:
    """Add ``--orders``, ``--subscriptions``, ``--survey`` and ``--customers`` (sources,
    checked when read: see :mod:`retention_xl.engines.sources`)."""
    out: Any = func
    for name, what in (
        (
            "customers",
            "customers (Shopify), to add name, email, marketing consent, country and tags "
            "to the per-customer lists of `build` and `refresh`",
        ),
        ("survey", "survey answers (Typeform, SurveyMonkey, generic)"),
        ("subscriptions", "subscriptions (Stripe, generic)"),
    ):
        out = click.option(
            f"--{name}",
            metavar=ORDERS_METAVAR,
            default=None,
            help=f"The {what}: an export, or the same columns in a Parquet file, a folder "
            "of Parquet files, a glob of Parquet or CSV files, or a DuckDB table: "
            f"duckdb:FILE.duckdb?table=NAME (default table {name}); read into memory, "
            "1,048,575 rows at most.",
        )(out)
    out = click.option("--orders", metavar=ORDERS_METAVAR, default=None, help=ORDERS_HELP)(out)
    return out  # type: ignore[no-any-return]


def engine_option(func: F) -> F:
    """Add ``--engine auto|pandas|duckdb`` (where the orders are aggregated)."""
    return click.option(
        "--engine",
        type=click.Choice(["auto", "pandas", "duckdb"]),
        default="auto",
        show_default=True,
        help="Where the orders are aggregated: pandas (in memory) or duckdb (embedded, "
        "straight from Parquet, CSV or a DuckDB table, out of core; needs the 'lake' extra: "
        "pip install 'retention-xl[lake]'). auto: duckdb for Parquet files and DuckDB "
        "tables, pandas for CSV/XLSX exports.",
    )(func)


def spark_engine_option(func: F) -> F:
    """Add ``--engine auto|pandas|duckdb|spark`` and ``--spark-master`` (kpis, build, predict)."""
    func = click.option(
        "--spark-master",
        default="local[*]",
        show_default=True,
        metavar="URL",
        help="Where --engine spark runs: local[*] (this machine), spark://HOST:7077 (a "
        "standalone cluster), yarn (under spark-submit).",
    )(func)
    return click.option(
        "--engine",
        type=click.Choice(["auto", "pandas", "duckdb", "spark"]),
        default="auto",
        show_default=True,
        help="Where the orders are aggregated: pandas (in memory), duckdb (embedded, "
        "straight from Parquet, CSV or a DuckDB table; pip install 'retention-xl[lake]') or "
        "spark (orders checked in DuckDB, aggregated in Spark; pip install "
        "'retention-xl[spark]'). auto: duckdb for Parquet files and DuckDB tables, pandas "
        "for CSV/XLSX exports.",
    )(func)
