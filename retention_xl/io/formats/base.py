"""What every export format shares: its declaration, role synonyms, and the finishing
steps that turn typed columns into a canonical frame (dedupe, currencies, report)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from retention_xl.core.schema import (
    prepare_orders,
    validate_orders,
    validate_subscriptions,
    validate_survey,
)
from retention_xl.errors import ExportError, InputError
from retention_xl.io.convert import Converter
from retention_xl.io.headers import normalise
from retention_xl.io.report import ImportReport
from retention_xl.io.tables import RawTable

__all__ = [
    "ORDER_ROLES",
    "STATUS_WORDS",
    "SUBSCRIPTION_ROLES",
    "SURVEY_ROLES",
    "Format",
    "apply_currencies",
    "collapse_blocks",
    "conversion_note",
    "finish_orders",
    "finish_subscriptions",
    "finish_survey",
    "full_refunds_note",
    "latest_version_warning",
    "mixed_currencies_error",
    "refuse_conflict",
    "reporting_currency",
    "require_roles",
]

Reader = Callable[[Converter, Mapping[str, str], "Options"], pd.DataFrame]


@dataclass(frozen=True, slots=True)
class Options:
    """Reader options that formats may need beyond the converter."""

    rates: Mapping[str, float] | None = None


@dataclass(frozen=True, slots=True)
class Format:
    """An export layout: how to recognise it and how to read it.

    ``signatures`` are lists of headers (any spelling; compared normalised); the format
    matches a file when the share of one signature present reaches ``threshold``.
    ``header_rows`` is 2 for layouts with a second header row (SurveyMonkey).
    """

    name: str
    kind: str  # "orders", "subscriptions", "survey" or "customers"
    signatures: tuple[tuple[str, ...], ...]
    read: Reader
    threshold: float = 0.75
    header_rows: int = 1
    description: str = ""
    roles: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def score(self, normalised_headers: set[str]) -> float:
        """Best share of a signature found among the headers (0..1)."""
        best = 0.0
        for sig in self.signatures:
            norm = [normalise(s) for s in sig]
            best = max(best, sum(1 for s in norm if s in normalised_headers) / len(norm))
        return best


# Synonyms, most specific first. Italian names as Italian e-commerce and accounting
# tools export them.
ORDER_ROLES: Mapping[str, Sequence[str]] = {
    "customer_id": (
        "customer_id",
        "customer id",
        "id cliente",
        "codice cliente",
        "cliente id",
        "customer",
        "cliente",
        "customer email",
        "email cliente",
        "email",
        "e mail",
        "billing email",
        "client",
        "user id",
    ),
    "order_id": (
        "order_id",
        "order id",
        "id ordine",
        "numero ordine",
        "n ordine",
        "nr ordine",
        "num ordine",
        "order number",
        "order no",
        "ordine",
        "order",
        "invoice",
        "numero fattura",
        "fattura",
        "transaction id",
        "id transazione",
    ),
    "updated_at": (
        "updated_at",
        "updated at",
        "updated",
        "date_modified",
        "date modified",
        "modified",
        "last modified",
        "data modifica",
        "ultima modifica",
    ),
    "order_date": (
        "order_date",
        "order date",
        "data ordine",
        "data acquisto",
        "data",
        "date",
        "purchase date",
        "created at",
        "created",
        "data creazione",
        "data documento",
    ),
    "amount": (
        "amount",
        "imponibile",
        "importo netto",
        "importo",
        "net amount",
        "net sales",
        "subtotal",
        "subtotale",
        "revenue",
        "ricavo",
        "valore",
        "value",
        "totale",
        "total",
        "totale ordine",
        "order total",
    ),
    "refunded": (
        "refunded",
        "refunded amount",
        "refund",
        "rimborsato",
        "importo rimborsato",
        "rimborso",
        "rimborsi",
    ),
    "status": ("status", "order status", "stato", "stato ordine", "financial status"),
    "currency": ("currency", "valuta", "divisa", "order currency"),
}

SUBSCRIPTION_ROLES: Mapping[str, Sequence[str]] = {
    "customer_id": ORDER_ROLES["customer_id"],
    "subscription_id": (
        "subscription_id",
        "subscription id",
        "id abbonamento",
        "abbonamento",
        "subscription",
        "contratto",
        "id contratto",
        "id",
    ),
    "start_date": (
        "start_date",
        "start date",
        "start",
        "data inizio",
        "inizio",
        "data attivazione",
        "started at",
    ),
    "end_date": (
        "end_date",
        "end date",
        "end",
        "data fine",
        "fine",
        "data disdetta",
        "data cessazione",
        "ended at",
        "canceled at",
        "cancelled at",
    ),
    "amount": (
        "amount",
        "importo",
        "canone",
        "prezzo",
        "price",
        "mrr",
        "importo periodico",
    ),
    "interval": (
        "interval",
        "billing interval",
        "periodicita",
        "frequenza",
        "periodo",
        "billing period",
    ),
    "interval_count": ("interval_count", "interval count", "ogni", "numero periodi"),
    "status": ("status", "stato"),
    "currency": ORDER_ROLES["currency"],
}

SURVEY_ROLES: Mapping[str, Sequence[str]] = {
    "answered_at": (
        "answered_at",
        "answered at",
        "data risposta",
        "submit date utc",
        "submitted at",
        "end date",
        "data",
        "date",
        "timestamp",
        "informazioni cronologiche",
        "start date utc",
        "start date",
    ),
    "score": ("score", "punteggio", "voto", "nps", "valutazione", "rating", "csat"),
    "kind": ("kind", "tipo", "type", "survey type"),
    "customer_id": (
        "customer_id",
        "customer id",
        "id cliente",
        "cliente",
        "email",
        "email address",
        "indirizzo email",
        "e mail",
    ),
}

# Order statuses, normalised -> canonical (paid, cancelled, refunded).
STATUS_WORDS: Mapping[str, str] = {
    **dict.fromkeys(
        (
            "paid",
            "pagato",
            "pagata",
            "completed",
            "complete",
            "completato",
            "completata",
            "processing",
            "in lavorazione",
            "evaso",
            "evasa",
            "spedito",
            "spedita",
            "shipped",
            "fulfilled",
            "delivered",
            "consegnato",
            "succeeded",
            "ok",
            "partially refunded",
            "parzialmente rimborsato",
            "authorized",
            "autorizzato",
        ),
        "paid",
    ),
    **dict.fromkeys(
        (
            "cancelled",
            "canceled",
            "annullato",
            "annullata",
            "cancellato",
            "cancellata",
            "voided",
            "void",
            "failed",
            "fallito",
            "rifiutato",
            "declined",
            "expired",
            "scaduto",
        ),
        "cancelled",
    ),
    **dict.fromkeys(("refunded", "rimborsato", "rimborsata", "reso", "returned"), "refunded"),
}


def require_roles(
    conv: Converter, found: Mapping[str, str], required: Sequence[str], *, kind: str, fmt: str
) -> None:
    """Raise an :class:`ExportError` listing the found headers and the ``--map`` fix."""
    missing = [r for r in required if r not in found]
    if not missing:
        return
    headers = ", ".join(repr(h) for h in conv.table.headers[:40])
    more = "" if len(conv.table.headers) <= 40 else f" and {len(conv.table.headers) - 40} more"
    fix = " ".join(f"--map {r}=COLUMN" for r in missing)
    raise ExportError(
        f"cannot find the column(s) for {', '.join(missing)} in this {fmt} {kind} export. "
        f"Columns found: {headers}{more}. Say which column holds each, e.g. {fix} "
        f"(COLUMN as written in the header), or pass --format if the layout was misdetected",
        file=conv.table.file,
        row=1,
    )


def check_mapping(conv: Converter, mapping: Mapping[str, str], roles: Sequence[str]) -> None:
    """Every ``--map role=column`` must name a known role and an existing column."""
    for role, column in mapping.items():
        if role not in roles:
            raise InputError(
                f"--map {role}={column}: unknown role {role!r}; roles are {', '.join(roles)}",
                argument="map",
            )
        if column not in conv.index and not (
            role == "kind" and normalise(column) in {"nps", "csat"}
        ):
            raise ExportError(
                f"--map {role}={column}: there is no column {column!r}. Columns found: "
                + ", ".join(repr(h) for h in conv.table.headers[:40]),
                file=conv.table.file,
                row=1,
            )


# ---------------------------------------------------------------------------
# finishing


def finish_orders(
    conv: Converter,
    frame: pd.DataFrame,
    *,
    options: Options,
    currency_column: str | None = None,
    duplicates_before: int = 0,
) -> pd.DataFrame:
    """Currencies, deduplication, validation and the report counts of an orders frame.

    Several currencies without ``options.rates`` is an error (sums across currencies are
    meaningless). With rates (``{"USD": 0.92, "EUR": 1.0}``, the value of one unit in the
    reporting currency, which has rate 1), ``amount`` and ``refunded`` are converted and
    ``currency`` becomes the reporting currency.
    """
    report = conv.report
    frame = apply_currencies(conv, frame, ("amount", "refunded"), options, currency_column)
    if len(frame) == len(conv.bad):
        frame = frame.assign(_row=np.asarray(conv.table.rows))
        frame = conv.keep(frame)
    else:
        frame = frame.reset_index(drop=True)
    frame, dropped = resolve_duplicate_orders(
        frame, file=conv.table.file, report=report, keep_rows=True
    )
    if "_row" in frame.columns:
        report.source_rows = tuple(frame.pop("_row").to_numpy(dtype=np.int64).tolist())
    report.duplicates_removed = duplicates_before + dropped
    frame = _full_refunds(frame, report)
    frame = validate_orders(frame)
    report.records = len(frame)
    stats = prepare_orders(frame).stats

    report.refunds = stats.refunds
    report.cancelled = stats.cancelled
    report.customers = stats.customers
    report.first_date = stats.first_date
    report.last_date = stats.last_date
    return frame


def apply_currencies(
    conv: Converter,
    frame: pd.DataFrame,
    money: Sequence[str],
    options: Options,
    currency_column: str | None,
) -> pd.DataFrame:
    """Check currencies; convert ``money`` columns with ``options.rates`` if given.

    Several currencies without rates raise an :class:`ExportError` (never a silent sum).
    With rates (``{"USD": 0.92, "EUR": 1.0}``: the value of one unit in the reporting
    currency, which has rate 1) the money columns are converted and ``currency``
    becomes the reporting currency.
    """
    report = conv.report
    if "currency" not in frame.columns:
        return frame
    cur = frame["currency"].astype("string").str.strip().str.upper()
    frame["currency"] = cur
    live = cur[~(conv.bad | conv.drop)] if len(cur) == len(conv.bad) else cur
    found = sorted(str(c) for c in live.dropna().unique())
    report.currencies = tuple(found)
    rates = {k.upper(): float(v) for k, v in (options.rates or {}).items()}
    if rates:
        base = reporting_currency(rates, found)
        factor = cur.map(rates).astype("float64").fillna(1.0).to_numpy()
        for col in money:
            if col in frame.columns:
                frame[col] = frame[col].to_numpy() * factor
        frame["currency"] = pd.Series(base, index=frame.index, dtype="string")
        note = conversion_note(base, found, rates)
        if note:
            report.notes.append(note)
    elif len(found) > 1:
        counts = live.value_counts()
        raise mixed_currencies_error(
            found, {c: int(counts[c]) for c in found}, file=conv.table.file, column=currency_column
        )
    if frame["currency"].isna().all():
        frame = frame.drop(columns="currency")
    return frame


def finish_subscriptions(
    conv: Converter,
    frame: pd.DataFrame,
    *,
    options: Options,
    currency_column: str | None = None,
) -> pd.DataFrame:
    """Currencies, bad rows, validation and report of a subscriptions frame."""
    frame = apply_currencies(conv, frame, ("amount",), options, currency_column)
    frame = conv.keep(frame) if len(frame) == len(conv.bad) else frame.reset_index(drop=True)
    frame = validate_subscriptions(frame)
    report = conv.report
    report.records = len(frame)
    report.customers = int(frame["customer_id"].nunique())
    if len(frame):
        report.first_date = pd.Timestamp(frame["start_date"].min())
        ends = frame["end_date"].dropna()
        last = (
            max(frame["start_date"].max(), ends.max()) if len(ends) else frame["start_date"].max()
        )
        report.last_date = pd.Timestamp(last)
    return frame


def finish_survey(conv: Converter, frame: pd.DataFrame, *, default_kind: str) -> pd.DataFrame:
    """Drop bad rows, validate, fill the report of a survey frame."""
    frame = conv.keep(frame) if len(frame) == len(conv.bad) else frame.reset_index(drop=True)
    frame = validate_survey(frame, default_kind=default_kind)
    report = conv.report
    report.records = len(frame)
    if "customer_id" in frame.columns:
        report.customers = int(frame["customer_id"].nunique())
    if len(frame):
        report.first_date = pd.Timestamp(frame["answered_at"].min())
        report.last_date = pd.Timestamp(frame["answered_at"].max())
    return frame


def _full_refunds(frame: pd.DataFrame, report: ImportReport) -> pd.DataFrame:
    """Orders marked refunded with no refund amount were refunded in full.

    Without this their amount would stay in revenue (amount - 0) while they are no
    purchase: revenue and purchases would disagree, in the core and the workbook alike.
    """
    if "status" not in frame.columns or "refunded" not in frame.columns:
        return frame
    status = frame["status"].to_numpy(dtype=object)
    refunded = frame["refunded"].to_numpy(dtype="float64")
    amount = frame["amount"].to_numpy(dtype="float64")
    missing = (status == "refunded") & ~(refunded > 0) & (amount > 0)
    if not missing.any():
        return frame
    report.notes.append(full_refunds_note(int(missing.sum())))
    return frame.assign(refunded=np.where(missing, amount, np.nan_to_num(refunded)))


def resolve_duplicate_orders(
    frame: pd.DataFrame,
    *,
    file: str,
    report: ImportReport | None = None,
    keep_rows: bool = False,
) -> tuple[pd.DataFrame, int]:
    """One row per order id; returns the frame (helper columns dropped) and how many
    repeated rows went.

    Rows repeating an order with the same content (overlapping exports pasted
    together) are duplicates: one is kept. Rows of one order that *differ* (amount,
    date, status, refund, customer) are a conflict: with an update time (``_updated``,
    from layouts that have one) the latest version wins and the report warns how many
    orders were resolved so; without one, or when two different versions carry the
    same latest time, the file is refused naming both rows (the first of them may be
    stale: nobody can tell which is right). ``_row`` holds the file's row numbers for
    the message (kept in the result with ``keep_rows``).

    Which layouts have an update time: the generic layout's ``updated_at`` (any
    spelling, or ``--map updated_at=COLUMN``) and WooCommerce's modification date.
    Shopify's orders export, Stripe's payments and WooCommerce Analytics have none
    (``Created at`` / ``Created (UTC)`` is the same in every version of an order).

    >>> f = pd.DataFrame({"order_id": ["a", "a", "b"], "amount": [5.0, 5.0, 2.0]})
    >>> resolve_duplicate_orders(f, file="x.csv")[1]
    1
    >>> f = pd.DataFrame({"order_id": ["a", "a"], "amount": [5.0, 4.0], "_row": [2, 3]})
    >>> resolve_duplicate_orders(f, file="x.csv")
    Traceback (most recent call last):
    ...
    retention_xl.errors.ExportError: x.csv, row 3, column 'order_id': order 'a' appears on ...
    """
    helpers = [c for c in ("_row", "_updated") if c in frame.columns]
    dropped = [c for c in helpers if not (keep_rows and c == "_row")]
    repeated = frame["order_id"].duplicated(keep=False).to_numpy()
    if not repeated.any():
        return frame.drop(columns=dropped).reset_index(drop=True), 0
    content = [c for c in frame.columns if c not in helpers]
    sub = frame[repeated]
    distinct = sub.drop_duplicates(subset=content)
    clash = distinct["order_id"].duplicated(keep=False).to_numpy()
    if clash.any():
        if "_updated" in frame.columns and sub["_updated"].notna().all():
            latest = sub.groupby("order_id", sort=False)["_updated"].transform("max")
            top = sub[(sub["_updated"] == latest).to_numpy()].drop_duplicates(subset=content)
            tie = top["order_id"].duplicated(keep=False).to_numpy()
            if tie.any():
                both = top[tie]
                first_id = both["order_id"].iloc[0]
                when = pd.Timestamp(both["_updated"].iloc[0])
                refuse_conflict(
                    frame,
                    first_id,
                    content,
                    file=file,
                    why=f" and the same update time ({when:%Y-%m-%d %H:%M:%S}), so nothing "
                    "tells which is current",
                )
            order = frame.sort_values("_updated", kind="stable")
            kept = order.drop_duplicates("order_id", keep="last").sort_index()
            if report is not None:
                n = int(distinct.loc[clash, "order_id"].nunique())
                report.warnings.append(latest_version_warning(n))
            return kept.drop(columns=dropped).reset_index(drop=True), len(frame) - len(kept)
        refuse_conflict(
            frame,
            distinct.loc[clash, "order_id"].iloc[0],
            content,
            file=file,
            why="; the file has no update time to tell which is current",
        )
    kept = frame.drop_duplicates("order_id", keep="first")
    return kept.drop(columns=dropped).reset_index(drop=True), len(frame) - len(kept)


def refuse_conflict(
    frame: pd.DataFrame, order_id: object, content: Sequence[str], *, file: str, why: str
) -> None:
    """Raise the :class:`ExportError` naming the first two versions of ``order_id``."""
    rows = frame[(frame["order_id"] == order_id).to_numpy()]
    first = rows[content].iloc[0]
    # cell by cell: equal, or blank in both (a row may differ in one column and share
    # blanks in another)
    equal = (rows[content] == first) | (rows[content].isna() & first.isna())
    other = rows[~equal.all(axis=1).to_numpy()]
    a = rows.iloc[0]
    b = other.iloc[0] if len(other) else rows.iloc[1]
    differ = [c for c in content if _differs(a[c], b[c])] or list(content)
    has_rows = "_row" in frame.columns
    where = f"rows {int(a['_row'])} and {int(b['_row'])}" if has_rows else "twice"
    values = ", ".join(f"{_shown(a[c])} / {_shown(b[c])}" for c in differ)
    raise ExportError(
        f"order {order_id!r} appears on {where} with different {', '.join(differ)} "
        f"({values}){why}. Remove the stale row (or export again) and retry: nothing was "
        "computed",
        file=file,
        row=int(b["_row"]) if has_rows else None,
        column="order_id",
    )


def _differs(x: object, y: object) -> bool:
    """Whether two cells differ (two blanks, None, NaN or NA, are the same).

    >>> _differs(pd.NA, None), _differs(pd.NA, 5.0), _differs(5.0, 5), _differs("a", "b")
    (False, True, False, True)
    """
    x_blank, y_blank = bool(pd.isna(x)), bool(pd.isna(y))  # type: ignore[call-overload]
    if x_blank or y_blank:
        return x_blank != y_blank
    try:
        return bool(x != y)
    except (TypeError, ValueError):
        return str(x) != str(y)


def _shown(value: object) -> str:
    """A cell value as a person reads it (dates without a midnight time)."""
    if isinstance(value, pd.Timestamp) and value == value.normalize():
        return value.date().isoformat()
    return str(value)


def collapse_blocks(table: RawTable, key: str, columns: Sequence[str]) -> tuple[RawTable, int]:
    """One row per order from a line-item export (Shopify, WooCommerce one-row-per-item).

    A *block* is a run of consecutive rows with the same ``key`` (the order's lines);
    each column takes its first non-blank cell in the block (order fields are often
    only on the first line) and the row number of the block's first line. A key seen
    in an earlier block (overlapping exports pasted together) is kept as a second row:
    :func:`resolve_duplicate_orders` drops it when equal, or reports the conflict.
    Returns the collapsed table and 0 (kept for the readers' signature).
    """
    columns = list(dict.fromkeys([key, *columns]))
    data = table.data[columns]
    keys = data[key].map(lambda v: v.strip() if isinstance(v, str) else v)
    blank_key = keys.map(lambda v: v is None or v == "").to_numpy(dtype=bool)
    if blank_key.any():
        pos = int(np.flatnonzero(blank_key)[0])
        raise table.error(
            pos, "the order key is blank; every line of an order needs it", column=key, value=""
        )
    key_arr = keys.to_numpy(dtype=object)
    starts = np.ones(len(key_arr), dtype=bool)
    starts[1:] = key_arr[1:] != key_arr[:-1]
    block = np.cumsum(starts) - 1
    cleaned = data.map(lambda v: None if isinstance(v, str) and not v.strip() else v)
    first = cleaned.groupby(block, sort=True).first()
    first_rows = table.rows[starts]
    # a key seen in an earlier block stays: finish_orders compares the two versions
    first = first.reset_index(drop=True)
    first = first.astype(object).where(first.notna(), "")
    collapsed = RawTable(
        file=table.file,
        headers=columns,
        data=first,
        rows=first_rows,
        source=table.source,
        encoding=table.encoding,
        delimiter=table.delimiter,
        header_rows=table.header_rows,
        parts=table.parts,
        part_of=None if table.part_of is None else table.part_of[starts],
    )
    return collapsed, 0


def reporting_currency(rates: Mapping[str, float], found: Sequence[str]) -> str:
    """The currency with rate 1 of a rate table that covers every currency ``found``.

    Raises :class:`InputError` when the table has no single reporting currency or
    lacks a rate for one of ``found``.
    """
    base = [k for k, v in rates.items() if v == 1.0]
    if len(base) != 1:
        raise InputError(
            "the rate table needs exactly one reporting currency with rate 1, "
            f"got {dict(rates)!r}; e.g. --rate EUR=1 --rate USD=0.92",
            argument="rates",
        )
    missing = [c for c in found if c not in rates]
    if missing:
        raise InputError(
            f"no exchange rate for {', '.join(missing)}; add e.g. --rate {missing[0]}=RATE "
            f"(the value of 1 {missing[0]} in {base[0]})",
            argument="rates",
        )
    return base[0]


def conversion_note(base: str, found: Sequence[str], rates: Mapping[str, float]) -> str | None:
    """The import note saying which amounts were converted (None when none was)."""
    if len(found) > 1 or (found and found[0] != base):
        return f"amounts converted to {base} with rates " + ", ".join(
            f"{c}={rates[c]:g}" for c in found
        )
    return None


def mixed_currencies_error(
    found: Sequence[str], counts: Mapping[str, int], *, file: str, column: str | None
) -> ExportError:
    """The refusal of an export whose rows are in several currencies and no rates."""
    return ExportError(
        f"has rows in {len(found)} currencies ("
        + ", ".join(f"{c}: {int(counts[c]):,} rows" for c in found)
        + "); adding them up would be wrong. Give a rate table, e.g. "
        f"--rate {found[0]}=1 --rate {found[1]}=RATE, or export one currency at a time",
        file=file,
        column=column,
    )


def latest_version_warning(orders: int) -> str:
    """The import warning for orders whose latest version (by update time) was kept."""
    return (
        f"{orders:,} orders appeared more than once with different content: the "
        "latest version (by the export's update time) was kept"
    )


def full_refunds_note(orders: int) -> str:
    """The import note for refunded orders without a refund amount."""
    return (
        f"{orders:,} orders marked refunded without a refund amount were "
        "counted as refunded in full"
    )
