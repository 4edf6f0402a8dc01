"""Read exports into the canonical frames: :func:`read_orders`, :func:`read_subscriptions`,
:func:`read_survey`, and :func:`detect_format`.

Each reader: reads the file safely (:mod:`retention_xl.io.tables`), detects the layout
from the headers (or takes ``format``), sniffs the locale (or takes ``locale`` /
``date_format``), converts every column with located errors, and returns an
:class:`~retention_xl.io.report.Import`: the canonical frame and an
:class:`~retention_xl.io.report.ImportReport`.

Examples
--------
>>> imp = read_orders("orders_export.csv")  # doctest: +SKIP
>>> imp.report.format, imp.frame.columns.tolist()  # doctest: +SKIP
('shopify', ['customer_id', 'order_id', 'order_date', 'amount', 'refunded', 'status', 'currency'])
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from retention_xl.core.schema import ORDER_COLUMNS, SUBSCRIPTION_COLUMNS, SURVEY_COLUMNS
from retention_xl.errors import ExportError, InputError
from retention_xl.io.convert import Converter
from retention_xl.io.formats import FORMATS, GENERIC, Format
from retention_xl.io.formats.base import Options
from retention_xl.io.headers import normalise
from retention_xl.io.locale import LOCALES, Locale
from retention_xl.io.report import Import, ImportReport
from retention_xl.io.sources import read_source_table
from retention_xl.io.tables import RawTable, read_table

__all__ = [
    "FORMAT_NAMES",
    "detect_format",
    "parse_mapping",
    "parse_rates",
    "read_customers",
    "read_orders",
    "read_raw_table",
    "read_subscriptions",
    "read_survey",
]

log = logging.getLogger(__name__)

_CANONICAL = {
    "orders": ORDER_COLUMNS,
    "subscriptions": SUBSCRIPTION_COLUMNS[:5],
    "survey": SURVEY_COLUMNS[:2],
    "customers": ("customer_id",),
}
_KIND_OPTION = {
    "orders": "--orders",
    "subscriptions": "--subscriptions",
    "survey": "--survey",
    "customers": "--customers",
}


def format_names(kind: str | None = None) -> list[str]:
    """Names accepted by ``format=`` (all kinds, or one kind), plus ``auto`` and ``canonical``."""
    names = {"auto", "canonical", "generic"}
    names.update(f.name for f in FORMATS if kind is None or f.kind == kind)
    return sorted(names)


FORMAT_NAMES = format_names()


def detect_format(
    headers: Iterable[str] | str | Path, kind: str | None = None
) -> tuple[str, str, float]:
    """Recognise an export layout from its headers; returns ``(format, kind, score)``.

    ``headers`` is the list of header cells or a file path (its first row is read).
    Without a platform match the answer is ``("canonical", kind, 1.0)`` when the
    canonical column names are present, else ``("generic", kind, 0.0)``.

    Examples
    --------
    >>> detect_format(["customer_id", "order_id", "order_date", "amount"], "orders")
    ('canonical', 'orders', 1.0)
    """
    if isinstance(headers, (str, Path)):
        headers = read_table(headers).headers
    norm = {normalise(h) for h in headers}
    best: tuple[float, Format | None] = (0.0, None)
    for fmt in FORMATS:
        if kind is not None and fmt.kind != kind:
            continue
        score = fmt.score(norm)
        if score >= fmt.threshold and score > best[0]:
            best = (score, fmt)
    if best[1] is not None:
        return best[1].name, best[1].kind, best[0]
    kinds = [kind] if kind is not None else ["orders", "subscriptions", "survey"]
    for k in kinds:
        if all(c in norm for c in (normalise(c) for c in _CANONICAL[k])):
            return "canonical", k, 1.0
    return "generic", kinds[0], 0.0


def _pick_format(table: RawTable, kind: str, name: str | None) -> tuple[Format, str]:
    if name is not None and name not in ("auto", ""):
        key = name.strip().lower()
        if key in ("generic", "canonical"):
            return GENERIC[kind], key
        for fmt in FORMATS:
            if fmt.name == key and fmt.kind == kind:
                return fmt, fmt.name
        other = [f.kind for f in FORMATS if f.name == key]
        if other:
            raise InputError(
                f"format {name!r} is a {other[0]} export, not {kind}; pass the file with "
                f"{_KIND_OPTION.get(other[0], other[0])}",
                argument="format",
            )
        raise InputError(
            f"unknown format {name!r}; use one of {', '.join(format_names(kind))}",
            argument="format",
        )
    detected, detected_kind, _score = detect_format(table.headers, None)
    if detected_kind != kind and detected not in ("generic", "canonical"):
        # a known platform layout of another kind: say so rather than guessing columns
        own, _, own_score = detect_format(table.headers, kind)
        if own in ("generic", "canonical") and own_score < 1.0:
            raise ExportError(
                f"looks like a {detected} {detected_kind} export, not {kind}. Pass it with "
                f"{_KIND_OPTION[detected_kind]}, or force a layout with --format",
                file=table.file,
            )
        detected, detected_kind = own, kind
    if detected in ("generic", "canonical"):
        return GENERIC[kind], detected
    for fmt in FORMATS:
        if fmt.name == detected and fmt.kind == kind:
            return fmt, fmt.name
    return GENERIC[kind], "generic"  # pragma: no cover - detect_format only names FORMATS


def _merge_second_header(table: RawTable) -> RawTable:
    """Fold a second header row (SurveyMonkey) into the first: 'Question - Option'."""
    if len(table.data) == 0:
        return table
    second = ["" if v is None else str(v).strip() for v in table.data.iloc[0].tolist()]
    merged: list[str] = []
    last = ""
    for head, sub in zip(table.headers, second, strict=True):
        top = head if not head.startswith("column ") else last
        last = top
        if sub and normalise(sub) not in ("response", "open ended response", "risposta"):
            merged.append(f"{top} - {sub}")
        else:
            merged.append(top)
    seen: dict[str, int] = {}
    unique = []
    for m in merged:
        seen[m] = seen.get(m, 0) + 1
        unique.append(m if seen[m] == 1 else f"{m} ({seen[m]})")
    keep = np.ones(len(table.data), dtype=bool)
    keep[0] = False
    if table.part_of is not None and len(table.parts) > 1:
        # files read as one: each has its own second header row, the same as the first's
        firsts = np.flatnonzero(np.r_[True, table.part_of[1:] != table.part_of[:-1]])
        for pos in firsts[1:]:
            row = ["" if v is None else str(v).strip() for v in table.data.iloc[pos].tolist()]
            if row != second:
                raise table.error(
                    int(pos),
                    f"the second header row differs from {table.parts[0].label}'s: the "
                    "files are not exports of the same survey",
                )
        keep[firsts] = False
    table = table.take(keep)
    table.data.columns = unique
    table.headers = unique
    table.header_rows = 2
    return table


def _read(
    kind: str,
    path: str | Path,
    *,
    format: str | None,
    locale: str | None,
    date_format: str | None,
    mapping: Mapping[str, str] | None,
    skip_bad_rows: bool,
    encoding: str | None,
    rates: Mapping[str, float] | None,
) -> Import:
    if kind == "orders":  # several order files are read one by one (io.inputs, engines)
        table = read_table(path, encoding=encoding)
    else:
        table = read_source_table(path, option=kind, encoding=encoding)
    return read_raw_table(
        kind,
        table,
        format=format,
        locale=locale,
        date_format=date_format,
        mapping=mapping,
        skip_bad_rows=skip_bad_rows,
        rates=rates,
    )


def read_raw_table(
    kind: str,
    table: RawTable,
    *,
    format: str | None = None,
    locale: str | None = None,
    date_format: str | None = None,
    mapping: Mapping[str, str] | None = None,
    skip_bad_rows: bool = False,
    rates: Mapping[str, float] | None = None,
) -> Import:
    """Read cells already in a :class:`RawTable` (e.g. a workbook's raw tab) as ``kind``.

    The same layouts, locale rules and located errors as :func:`read_orders`;
    ``table.file`` names the source in messages and in the report.
    """
    path = table.file
    loc = _check_locale(locale)
    fmt, fmt_name = _pick_format(table, kind, format)
    if fmt.header_rows == 2:
        table = _merge_second_header(table)
    report = ImportReport(
        file=str(path),
        kind=kind,
        format=fmt_name,
        locale=loc,
        encoding=table.encoding,
        delimiter=table.delimiter,
        rows_read=len(table.data),
    )
    if len(table.data) == 0:
        raise ExportError(
            "has a header row but no data rows. Export a period with data", file=path, row=2
        )
    conv = Converter(
        table, report, locale=loc, date_format=date_format, skip_bad_rows=skip_bad_rows
    )
    frame = fmt.read(conv, dict(mapping or {}), Options(rates=rates))
    report.locale = conv.effective_locale or "en"
    if report.records == 0:
        raise ExportError(
            f"has no usable {kind} left"
            + (f" ({report.rows_skipped:,} bad rows skipped)" if report.rows_skipped else ""),
            file=path,
        )
    log.info("read %s: %s", path, "; ".join(report.lines()))
    if np.any(conv.bad) and not skip_bad_rows:  # pragma: no cover - fail() raises first
        raise AssertionError("bad rows left without skip_bad_rows")
    return Import(frame=frame, report=report)


def _check_locale(locale: str | None) -> Locale | None:
    if locale is None or locale == "auto":
        return None
    key = locale.strip().lower()[:2]
    if key not in LOCALES:
        raise InputError(f"unknown locale {locale!r}; use 'it' or 'en'", argument="locale")
    return key  # type: ignore[return-value]


def read_orders(
    path: str | Path,
    *,
    format: str | None = None,
    locale: str | None = None,
    date_format: str | None = None,
    mapping: Mapping[str, str] | None = None,
    skip_bad_rows: bool = False,
    encoding: str | None = None,
    rates: Mapping[str, float] | None = None,
) -> Import:
    """Read an orders export (Shopify, WooCommerce, Stripe payments, generic/canonical).

    Parameters
    ----------
    path : str or Path
        A CSV/TSV (any of utf-8, utf-8 with BOM, cp1252, utf-16) or .xlsx file.
    format : str, optional
        Layout name (see :data:`FORMAT_NAMES`); detected from the headers by default.
    locale : {"it", "en"}, optional
        Decimal mark and date order; sniffed from the file by default.
    date_format : str, optional
        strftime format of the date cells, e.g. ``"%d/%m/%Y"``.
    mapping : dict, optional
        ``{role: column}``, e.g. ``{"customer_id": "Cliente"}``; roles are the canonical
        column names.
    skip_bad_rows : bool
        Skip (and count) rows with unreadable cells instead of raising.
    encoding : str, optional
        Force a text encoding instead of detecting it.
    rates : dict, optional
        Exchange rates into the reporting currency (which has rate 1), needed when the
        export mixes currencies.

    Returns
    -------
    Import
        ``.frame`` in the canonical orders schema (one row per order, duplicates
        removed), ``.report`` the :class:`ImportReport`.

    Raises
    ------
    ExportError
        A file problem, located by file, row and column.
    InputError
        A bad option.
    """
    return _read(
        "orders",
        path,
        format=format,
        locale=locale,
        date_format=date_format,
        mapping=mapping,
        skip_bad_rows=skip_bad_rows,
        encoding=encoding,
        rates=rates,
    )


def read_subscriptions(
    path: str | Path,
    *,
    format: str | None = None,
    locale: str | None = None,
    date_format: str | None = None,
    mapping: Mapping[str, str] | None = None,
    skip_bad_rows: bool = False,
    encoding: str | None = None,
    rates: Mapping[str, float] | None = None,
) -> Import:
    """Read a subscriptions export (Stripe subscriptions, generic/canonical).

    Same options as :func:`read_orders`; the frame follows the canonical
    subscriptions schema. ``path`` may also name the sources ``--orders`` takes (a
    folder of Parquet files, a glob of Parquet or CSV files, ``duckdb:FILE?table=T``),
    read as one table (:mod:`retention_xl.io.sources`), as may that of
    :func:`read_survey` and :func:`read_customers`.
    """
    return _read(
        "subscriptions",
        path,
        format=format,
        locale=locale,
        date_format=date_format,
        mapping=mapping,
        skip_bad_rows=skip_bad_rows,
        encoding=encoding,
        rates=rates,
    )


def read_survey(
    path: str | Path,
    *,
    format: str | None = None,
    locale: str | None = None,
    date_format: str | None = None,
    mapping: Mapping[str, str] | None = None,
    skip_bad_rows: bool = False,
    encoding: str | None = None,
) -> Import:
    """Read survey answers (Typeform, SurveyMonkey, generic/canonical).

    The score column is found by its wording ("How likely are you to recommend...",
    "Quanto è probabile che consiglieresti...") or given with
    ``mapping={"score": "Q3"}``; ``mapping={"kind": "csat"}`` reads CSAT answers.
    """
    return _read(
        "survey",
        path,
        format=format,
        locale=locale,
        date_format=date_format,
        mapping=mapping,
        skip_bad_rows=skip_bad_rows,
        encoding=encoding,
        rates=None,
    )


def read_customers(
    path: str | Path,
    *,
    format: str | None = None,
    mapping: Mapping[str, str] | None = None,
    encoding: str | None = None,
) -> Import:
    """Read a customers export (Shopify's, old or current layout) for enrichment.

    The frame has one row per customer: ``customer_id``, ``name``, ``email``,
    ``accepts_marketing``, ``country``, ``city``, ``tags`` (see
    :mod:`retention_xl.io.formats.customers`). ``mapping`` takes the roles
    ``customer_id``, ``email``, ``first_name``, ``last_name``, ``name``,
    ``accepts_marketing``, ``country``, ``city``, ``tags``.

    Raises
    ------
    ExportError
        Neither a Customer ID nor an Email column: the message lists the columns found
        and the ``--map customers.customer_id=COLUMN`` that fixes it.
    """
    return _read(
        "customers",
        path,
        format=format,
        locale=None,
        date_format=None,
        mapping=mapping,
        skip_bad_rows=False,
        encoding=encoding,
        rates=None,
    )


def parse_mapping(items: Iterable[str] | Mapping[str, str] | None) -> dict[str, str]:
    """``["customer_id=Cliente", "amount=Importo"]`` -> ``{"customer_id": "Cliente", ...}``.

    Examples
    --------
    >>> parse_mapping(["amount = Totale (EUR)"])
    {'amount': 'Totale (EUR)'}
    """
    if items is None:
        return {}
    if isinstance(items, Mapping):
        return {str(k).strip(): str(v).strip() for k, v in items.items()}
    out: dict[str, str] = {}
    for item in items:
        role, sep, column = item.partition("=")
        if not sep or not role.strip() or not column.strip():
            raise InputError(
                f"--map expects ROLE=COLUMN (e.g. customer_id=Cliente), got {item!r}",
                argument="map",
            )
        out[role.strip()] = column.strip()
    return out


def parse_rates(items: Iterable[str] | Mapping[str, float] | None) -> dict[str, float]:
    """``["EUR=1", "USD=0.92"]`` -> ``{"EUR": 1.0, "USD": 0.92}``.

    A rate is the value of one unit in the reporting currency (the one with rate 1).
    """
    if items is None:
        return {}
    if isinstance(items, Mapping):
        return {str(k).upper(): float(v) for k, v in items.items()}
    out: dict[str, float] = {}
    for item in items:
        cur, sep, value = item.partition("=")
        try:
            rate = float(value.replace(",", "."))
        except ValueError:
            rate = float("nan")
        if not sep or not cur.strip() or not (rate > 0):
            raise InputError(
                f"--rate expects CURRENCY=RATE with a positive rate (e.g. USD=0.92), got {item!r}",
                argument="rate",
            )
        out[cur.strip().upper()] = rate
    return out
