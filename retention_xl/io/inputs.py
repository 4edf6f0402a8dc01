"""Load the exports a command was given: :func:`load_inputs` -> :class:`Inputs`.

The commands that read exports (``kpis``, ``build``, ``refresh``, ``predict``) share
one set of options (:mod:`retention_xl.cli_options`) and call :func:`load_inputs`
with them. Options apply per kind of file:

* ``format``: a layout name applies to the file of its kind (``shopify`` -> orders,
  ``stripe`` -> subscriptions, ``typeform`` -> survey); ``generic``, ``canonical`` and
  ``auto`` apply to all; ``orders=shopify`` names the kind explicitly.
* ``mapping``: ``{"amount": "Totale"}`` applies to every file whose kind has the role
  ``amount``; prefix the role to aim at one file: ``{"orders.customer_id": "Cliente"}``.

Examples
--------
>>> inputs = load_inputs(orders="orders_export.csv", locale="it")  # doctest: +SKIP
>>> inputs.orders.shape, inputs.reports["orders"].duplicates_removed  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from retention_xl.errors import InputError
from retention_xl.io.formats import FORMATS, GENERIC
from retention_xl.io.readers import (
    parse_mapping,
    parse_rates,
    read_customers,
    read_orders,
    read_subscriptions,
    read_survey,
)
from retention_xl.io.report import Import, ImportReport

__all__ = ["KINDS", "Inputs", "load_inputs", "split_formats", "split_mapping"]

KINDS = ("orders", "subscriptions", "survey")


@dataclass(frozen=True, slots=True)
class Inputs:
    """The canonical frames read from a command's exports, and their reports.

    A frame is None when its file was not given.
    """

    orders: pd.DataFrame | None = None
    subscriptions: pd.DataFrame | None = None
    survey: pd.DataFrame | None = None
    reports: dict[str, ImportReport] = field(default_factory=dict)
    #: the customers export (enrichment: name, email, marketing consent...), or None
    customers: pd.DataFrame | None = None
    #: the DuckDB engine holding the orders when they were left where they are
    #: (``orders`` is then None); see :meth:`order_engine`
    lake_engine: Any = None
    #: the engine that computes the subscriptions' MRR, movements and KPIs: ``duckdb``
    #: or ``spark`` (``--engine duckdb|spark``, or ``auto`` with the orders left in
    #: DuckDB), None for the core; see :meth:`subscription_engine`
    subscription_engine_name: str | None = None
    #: the Spark master of ``--engine spark``
    spark_master: str = "local[*]"
    _held: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def subscription_engine(self) -> Any:
        """The subscriptions held by the chosen SQL engine
        (:class:`~retention_xl.engines.subscription_sql.SqlSubscriptions`, made on the
        first call and freed by :meth:`close`), or None: the core computes them."""
        if self.subscriptions is None or self.subscription_engine_name is None:
            return None
        if "subscriptions" not in self._held:
            self._held["subscriptions"] = _subscription_engine(
                self.subscriptions, self.subscription_engine_name, self.lake_engine,
                self.spark_master,
            )  # fmt: skip
        return self._held["subscriptions"]

    def order_engine(self) -> Any:
        """The engine that aggregates the orders (:mod:`retention_xl.engines`), or None.

        The DuckDB engine when the orders stayed in DuckDB, else the pandas engine on
        :attr:`orders`.
        """
        if self.lake_engine is not None:
            return self.lake_engine
        if self.orders is None:
            return None
        from retention_xl.engines.pandas_engine import PandasEngine

        return PandasEngine(self.orders)

    def close(self) -> None:
        """Free the DuckDB or Spark engines, if any."""
        held = self._held.pop("subscriptions", None)
        try:
            if held is not None:
                held.close()
        finally:
            if self.lake_engine is not None:
                self.lake_engine.close()

    def lines(self) -> list[str]:
        """The import summaries of every file, for printing."""
        out: list[str] = []
        for kind in (*KINDS, "customers"):
            if kind in self.reports:
                out.extend(self.reports[kind].lines())
        return out

    def as_dict(self) -> dict[str, Any]:
        """``{kind: report.as_dict()}`` for ``--json`` output."""
        return {kind: rep.as_dict() for kind, rep in self.reports.items()}

    def __bool__(self) -> bool:
        return bool(self.reports)


def split_formats(format: str | Iterable[str] | None) -> dict[str, str]:
    """Resolve ``--format`` values to ``{kind: format}`` (see module docstring).

    Examples
    --------
    >>> split_formats(["shopify", "survey=typeform"])
    {'orders': 'shopify', 'survey': 'typeform'}
    """
    if format is None:
        return {}
    values = [format] if isinstance(format, str) else list(format)
    out: dict[str, str] = {}
    for value in values:
        kind, sep, name = value.partition("=")
        if sep:
            kind, name = kind.strip().lower(), name.strip().lower()
            if kind not in (*KINDS, "customers"):
                raise InputError(
                    f"--format {value!r}: unknown kind {kind!r}; use {', '.join(KINDS)} or "
                    "customers",
                    argument="format",
                )
            out[kind] = name
            continue
        name = value.strip().lower()
        if name in ("auto", "generic", "canonical"):
            for k in KINDS:
                out.setdefault(k, name)
            continue
        kinds = [f.kind for f in FORMATS if f.name == name]
        if not kinds:
            known = sorted({f.name for f in FORMATS} | {"auto", "generic", "canonical"})
            raise InputError(
                f"unknown format {value!r}; use one of {', '.join(known)}", argument="format"
            )
        out[kinds[0]] = name
    return out


def split_mapping(mapping: Mapping[str, str] | Iterable[str] | None) -> dict[str, dict[str, str]]:
    """Resolve ``--map`` values to ``{kind: {role: column}}`` (see module docstring).

    Examples
    --------
    >>> split_mapping(["orders.customer_id=Cliente", "amount=Totale"])["orders"]
    {'customer_id': 'Cliente', 'amount': 'Totale'}
    """
    flat = parse_mapping(mapping)
    kinds = (*KINDS, "customers")  # the customers file takes only customers.ROLE=COLUMN
    out: dict[str, dict[str, str]] = {k: {} for k in kinds}
    for key, column in flat.items():
        kind, dot, role = key.partition(".")
        if dot:
            if kind not in kinds:
                raise InputError(
                    f"--map {key}={column}: unknown kind {kind!r}; use {', '.join(kinds)}",
                    argument="map",
                )
            out[kind][role] = column
            continue
        targets = [k for k in KINDS if key in GENERIC[k].roles]
        if not targets:
            roles = sorted({r for k in KINDS for r in GENERIC[k].roles})
            raise InputError(
                f"--map {key}={column}: unknown role {key!r}; roles are {', '.join(roles)}",
                argument="map",
            )
        for k in targets:
            out[k].setdefault(key, column)
    return out


def check_one_currency(frames: Mapping[str, pd.DataFrame], files: Mapping[str, str]) -> None:
    """Refuse exports whose money is in different currencies (after any ``--rate``).

    Orders in USD and subscriptions in EUR would be labelled, charted and compared as
    one currency. With a rate table every export is converted to its reporting
    currency first, so they agree.

    >>> import pandas as pd
    >>> usd = pd.DataFrame({"currency": ["USD"]}); eur = pd.DataFrame({"currency": ["EUR"]})
    >>> names = {"orders": "o.csv", "subscriptions": "s.csv"}
    >>> check_one_currency({"orders": usd, "subscriptions": eur}, names)
    Traceback (most recent call last):
    ...
    retention_xl.errors.InputError: o.csv is in USD but s.csv is in EUR: totals, ...
    """
    seen: dict[str, tuple[str, str]] = {}
    for kind, frame in frames.items():
        if "currency" not in frame.columns:
            continue
        values = frame["currency"].dropna().astype(str).str.upper().unique()
        if len(values) == 1:
            seen[kind] = (files.get(kind, kind), str(values[0]))
    found = sorted({c for _, c in seen.values()})
    if len(found) > 1:
        (file_a, cur_a), (file_b, cur_b) = next(
            (a, b) for a in seen.values() for b in seen.values() if a[1] != b[1]
        )
        raise InputError(
            f"{file_a} is in {cur_a} but {file_b} is in {cur_b}: totals, MRR and CLV would "
            f"mix the two under one label. Give exchange rates to convert them, e.g. "
            f"--rate {cur_a}=1 --rate {cur_b}=RATE (the value of 1 {cur_b} in {cur_a}), or "
            "use exports in one currency",
            argument="rates",
        )


def _read_order_files(
    source: Any,
    *,
    format: str | None,
    mapping: Mapping[str, str],
    rates: Mapping[str, float] | None,
    common: Mapping[str, Any],
) -> Import:
    """Several CSV exports (a glob) read one by one by the CSV path, then combined.

    Each file is read, checked and deduplicated as a single export; the orders are then
    put together and an order repeated across files is dropped when it is the same,
    refused when it differs (see :func:`~retention_xl.io.formats.base.resolve_duplicate_orders`).
    """
    from retention_xl.core.schema import prepare_orders
    from retention_xl.io.formats.base import mixed_currencies_error, resolve_duplicate_orders

    imports = [
        read_orders(f, format=format, mapping=mapping, rates=rates, **common) for f in source.files
    ]
    frame = pd.concat([imp.frame for imp in imports], ignore_index=True)
    first = imports[0].report
    formats = sorted({imp.report.format for imp in imports})
    report = ImportReport(
        file=source.label,
        kind="orders",
        format=", ".join(formats),
        locale=first.locale,
        encoding=first.encoding,
        delimiter=first.delimiter,
        decimal=first.decimal,
        date_format=first.date_format,
        rows_read=sum(imp.report.rows_read for imp in imports),
        rows_skipped=sum(imp.report.rows_skipped for imp in imports),
    )
    for imp in imports:
        name = Path(imp.report.file).name
        report.skipped.extend(f"{name}, {line}" for line in imp.report.skipped)
        report.notes.extend(f"{name}: {note}" for note in imp.report.notes)
        report.warnings.extend(f"{name}: {w}" for w in imp.report.warnings)
    report.notes.insert(0, f"{len(imports):,} CSV files")
    if "currency" in frame.columns:
        currency = frame["currency"].astype("string")
        found = sorted(str(c) for c in currency.dropna().unique())
        report.currencies = tuple(found)
        if len(found) > 1:
            counts = currency.value_counts()
            raise mixed_currencies_error(
                found, {c: int(counts[c]) for c in found}, file=source.label, column="currency"
            )
        if not found:
            frame = frame.drop(columns="currency")
    frame, dropped = resolve_duplicate_orders(frame, file=source.label, report=report)
    report.duplicates_removed = sum(imp.report.duplicates_removed for imp in imports) + dropped
    stats = prepare_orders(frame).stats
    report.records = len(frame)
    report.refunds = stats.refunds
    report.cancelled = stats.cancelled
    report.customers = stats.customers
    report.first_date = stats.first_date
    report.last_date = stats.last_date
    return Import(frame=frame, report=report)


def _read_orders_source(
    orders: Any,
    *,
    engine: str | None,
    format: str | None,
    mapping: Mapping[str, str],
    rates: Mapping[str, float] | None,
    common: Mapping[str, Any],
    spark_master: str = "local[*]",
) -> tuple[Import | None, ImportReport, Any]:
    """Read ``--orders`` with the chosen engine: ``(import, report, duckdb engine)``.

    The import is None when the orders stay in DuckDB (the DuckDB engine).
    """
    from retention_xl.engines.base import choose_engine
    from retention_xl.engines.sources import OrdersSource, parse_orders_source

    source = orders if isinstance(orders, OrdersSource) else parse_orders_source(orders)
    chosen = choose_engine(engine, source)
    if chosen == "pandas" and source.kind == "export":
        imp = read_orders(source.path, format=format, mapping=mapping, rates=rates, **common)
        return imp, imp.report, None
    if chosen == "pandas" and source.kind == "csv":
        imp = _read_order_files(source, format=format, mapping=mapping, rates=rates, common=common)
        return imp, imp.report, None
    from retention_xl.engines.lake import LakeOrders

    session = None
    if chosen == "spark":
        from retention_xl.engines.spark_engine import spark_session

        # before reading anything: pyspark installed, the master there (seconds, not
        # after minutes of reading)
        session = spark_session(spark_master)
    lake = LakeOrders(
        source.as_csv() if source.kind == "export" else source,
        mapping=mapping,
        rates=rates,
        skip_bad_rows=bool(common.get("skip_bad_rows")),
        date_format=common.get("date_format"),
        format=format,
    )
    if session is not None:
        from retention_xl.engines.spark_engine import SparkEngine

        try:
            return None, lake.report, SparkEngine(lake, session)
        except BaseException:
            lake.close()
            raise
    if chosen == "duckdb":
        from retention_xl.engines.duckdb_engine import DuckDBEngine

        return None, lake.report, DuckDBEngine(lake)
    try:
        return Import(frame=lake.frame(), report=lake.report), lake.report, None
    finally:
        lake.close()


def load_inputs(
    orders: Any = None,
    subscriptions: str | Path | None = None,
    survey: str | Path | None = None,
    *,
    format: str | Iterable[str] | None = None,
    locale: str | None = None,
    date_format: str | None = None,
    mapping: Mapping[str, str] | Iterable[str] | None = None,
    skip_bad_rows: bool = False,
    rates: Mapping[str, float] | Iterable[str] | None = None,
    encoding: str | None = None,
    customers: str | Path | None = None,
    engine: str | None = "auto",
    spark_master: str = "local[*]",
) -> Inputs:
    """Read the given exports into canonical frames with their import reports.

    Parameters
    ----------
    orders : path, source or str, optional
        The orders: an export file (CSV/TSV/XLSX), Parquet files, a glob of Parquet or
        CSV files or a DuckDB table (``duckdb:FILE.duckdb?table=NAME``; see
        :mod:`retention_xl.engines.sources`).
    subscriptions, survey : path or str, optional
        The exports (CSV/TSV/XLSX), or the same columns in a Parquet file, a folder of
        Parquet files, a glob of Parquet or CSV files or a DuckDB table, read into
        memory as one table (:mod:`retention_xl.io.sources`); at least one export
        is needed.
    format : str or list of str, optional
        Layout names (see module docstring); detected from the headers by default.
    locale, date_format, skip_bad_rows, encoding
        As in :func:`~retention_xl.io.readers.read_orders`, for every file.
    mapping : dict or list of "role=column", optional
        Column choices; ``kind.role`` aims at one file.
    rates : dict or list of "CUR=rate", optional
        Exchange rates into the reporting currency (rate 1).
    customers : path or str, optional
        A customers export (Shopify's; any source ``subscriptions`` takes) that only
        enriches the per-customer lists
        (name, email, marketing consent, country, tags); ``customers.ROLE=COLUMN``
        mappings aim at it. It adds no customer to any KPI.

    Returns
    -------
    Inputs

    Raises
    ------
    ExportError, InputError
        As the readers do; :class:`InputError` when no file is given.
    """
    paths = {"orders": orders, "subscriptions": subscriptions, "survey": survey}
    if all(p is None for p in paths.values()) and customers is None:
        raise InputError(
            "no export given: pass --orders FILE, --subscriptions FILE and/or --survey FILE",
            argument="orders",
        )
    formats = split_formats(format)
    maps = split_mapping(mapping)
    rate_table = parse_rates(rates) or None
    from retention_xl.engines.sources import parse_source

    sources = {"subscriptions": subscriptions, "survey": survey, "customers": customers}
    for kind, value in sources.items():
        if value is not None:  # a mistyped source is refused before the orders are read
            parse_source(value, option=kind)
    common: dict[str, Any] = {
        "locale": locale,
        "date_format": date_format,
        "skip_bad_rows": skip_bad_rows,
        "encoding": encoding,
    }
    frames: dict[str, pd.DataFrame] = {}
    reports: dict[str, ImportReport] = {}
    lake_engine: Any = None
    try:
        for kind, path in paths.items():
            if path is None:
                continue
            imp: Import | None
            if kind == "orders":
                imp, report, lake_engine = _read_orders_source(
                    path,
                    engine=engine,
                    spark_master=spark_master,
                    format=formats.get(kind),
                    mapping=maps[kind],
                    rates=rate_table,
                    common=common,
                )
            elif kind == "subscriptions":
                imp = read_subscriptions(
                    path, format=formats.get(kind), mapping=maps[kind], rates=rate_table, **common
                )
                report = imp.report
            else:
                imp = read_survey(path, format=formats.get(kind), mapping=maps[kind], **common)
                report = imp.report
            if imp is not None:
                frames[kind] = imp.frame
            reports[kind] = report
            if kind == "orders" and report.records and not report.customers:
                from retention_xl.errors import ExportError

                raise ExportError(
                    f"none of its {report.records:,} orders is a purchase: every one is "
                    "cancelled, refunded or has no positive amount, so there are no KPIs to "
                    "compute. Check that the amount and status columns are the right ones (the "
                    "import report lists what was read; --map picks others)",
                    file=report.file,
                )
        _check_currencies(frames, reports, paths, rate_table)
        if customers is not None:
            imp = read_customers(
                customers,
                format=formats.get("customers"),
                mapping=maps["customers"],
                encoding=encoding,
            )
            frames["customers"] = imp.frame
            reports["customers"] = imp.report
    except BaseException:
        if lake_engine is not None:
            lake_engine.close()
        raise
    return Inputs(
        orders=frames.get("orders"),
        subscriptions=frames.get("subscriptions"),
        survey=frames.get("survey"),
        reports=reports,
        customers=frames.get("customers"),
        lake_engine=lake_engine,
        subscription_engine_name=_subscription_engine_name(engine, lake_engine),
        spark_master=spark_master,
    )


def _subscription_engine_name(engine: str | None, lake_engine: Any) -> str | None:
    """``duckdb`` or ``spark`` when that engine computes the subscriptions, None for the
    core: ``--engine duckdb|spark`` says so; ``auto`` follows the orders (DuckDB when they
    stayed in DuckDB)."""
    name = (engine or "auto").strip().lower()
    if name == "auto":
        name = "pandas" if lake_engine is None else str(lake_engine.name)
    return name if name in ("duckdb", "spark") else None


def _subscription_engine(
    subscriptions: pd.DataFrame, name: str, lake_engine: Any, spark_master: str
) -> Any:
    """The subscriptions held by the engine ``name`` (``duckdb`` or ``spark``; the
    Spark session of the orders' engine when there is one)."""
    if name == "duckdb":
        from retention_xl.engines.duckdb_engine import duckdb_subscriptions

        return duckdb_subscriptions(subscriptions)
    if name == "spark":
        from retention_xl.engines.spark_engine import spark_session, spark_subscriptions

        session = getattr(lake_engine, "spark", None) or spark_session(spark_master)
        return spark_subscriptions(session, subscriptions)
    return None


def _check_currencies(
    frames: Mapping[str, pd.DataFrame],
    reports: Mapping[str, ImportReport],
    paths: Mapping[str, Any],
    rate_table: Mapping[str, float] | None,
) -> None:
    """:func:`check_one_currency` on the frames read (a report stands in for orders
    left in DuckDB)."""
    if rate_table is not None:  # with rates every export was converted to the reporting one
        return
    declared: dict[str, pd.DataFrame] = {}
    for kind, rep in reports.items():
        frame = frames.get(kind)
        if frame is None:
            frame = pd.DataFrame({"currency": list(rep.currencies)})
        elif "currency" not in frame.columns and len(rep.currencies) == 1:
            frame = frame.assign(currency=rep.currencies[0])
        declared[kind] = frame
    names = {k: Path(reports[k].file).name if k in reports else str(p) for k, p in paths.items()}
    check_one_currency(declared, {k: v for k, v in names.items() if paths.get(k) is not None})
