"""Locale sniffing and parsing: encodings, separators, decimal commas, dates.

Exports from Italian setups use ``;`` as separator, ``,`` as decimal mark, ``.`` for
thousands, dates ``dd/mm/yyyy`` and often cp1252 without a BOM; English/US ones use
``,``, ``.``, ISO or ``mm/dd/yyyy`` dates and UTF-8. This module guesses each of these
from the file itself and lets the caller override every guess.

Dates are never read with a silent guess: :func:`parse_dates` tries explicit formats
and keeps those that read *every* value. When both ``dd/mm`` and ``mm/dd`` fit (all
days <= 12) the locale decides (``it``: day first, ``en``: month first, as US exports
such as SurveyMonkey's write them) and the choice is reported as a note; pass
``date_format`` to decide yourself.

Examples
--------
>>> parse_numbers(pd.Series(["1.234,56", "-7,5", ""]), decimal=",").values.tolist()
[1234.56, -7.5, nan]
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import pandas as pd
from pandas.errors import OutOfBoundsDatetime

__all__ = [
    "DATE_FORMATS",
    "LOCALES",
    "DateResult",
    "NumberResult",
    "decode_bytes",
    "guess_decimal",
    "parse_dates",
    "parse_numbers",
    "sniff_delimiter",
]

Locale = Literal["it", "en"]
LOCALES: Final = ("it", "en")
DELIMITERS: Final = (",", ";", "\t", "|")

# Date part formats, most specific first. Day-first and month-first variants are
# both listed; ambiguity between them is resolved by the locale.
DATE_FORMATS: Final = (
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%d/%m/%y",
    "%m/%d/%y",
    "%d.%m.%y",
)
_DAY_FIRST: Final = frozenset({"%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%d/%m/%y", "%d.%m.%y"})
_SWAP: Final = {
    "%d/%m/%Y": "%m/%d/%Y",
    "%m/%d/%Y": "%d/%m/%Y",
    "%d-%m-%Y": "%m-%d-%Y",
    "%m-%d-%Y": "%d-%m-%Y",
    "%d/%m/%y": "%m/%d/%y",
    "%m/%d/%y": "%d/%m/%y",
}


# ---------------------------------------------------------------------------
# encodings


class DecodeError(ValueError):
    """Bytes that are not text in any supported encoding; ``line`` is 1-based."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def decode_bytes(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """Decode an export's bytes; returns ``(text, encoding_name)``.

    Tries, in order: a BOM (UTF-8, UTF-16), strict UTF-8, then cp1252 (Windows
    Western European, what Excel writes for "CSV" on an Italian Windows). Binary
    content (NUL bytes without a UTF-16 BOM) raises :class:`DecodeError`.

    Examples
    --------
    >>> decode_bytes("Città;Importo".encode("cp1252"))
    ('Città;Importo', 'cp1252')
    """
    if encoding is not None:
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            line = _line_of(data, getattr(exc, "start", 0))
            raise DecodeError(
                f"cannot be read as {encoding}: {exc}. Leave the encoding to be detected, "
                "or save the file as 'CSV UTF-8'",
                line=line,
            ) from exc
    if data.startswith(b"\xef\xbb\xbf"):
        name = "utf-8-sig"
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        name = "utf-16"
    else:
        name = ""
    if name:
        try:
            return data.decode(name), name
        except UnicodeDecodeError as exc:
            raise DecodeError(
                f"starts with a {name} byte-order mark but is not valid {name}: {exc}. "
                "Save it again as 'CSV UTF-8'",
                line=_line_of(data, exc.start),
            ) from exc
    head = data[:65536]
    if b"\x00" in head:
        raise DecodeError(
            "is not a text (CSV) file: it contains binary data. Export the data as CSV "
            "or .xlsx and try again",
            line=_line_of(data, head.index(b"\x00")),
        )
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise DecodeError(
            f"is neither UTF-8 nor cp1252 text (byte {data[exc.start : exc.start + 1]!r}). "
            "Save it again as 'CSV UTF-8'",
            line=_line_of(data, exc.start),
        ) from exc
    controls = re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", text[:65536])
    if controls is not None:
        raise DecodeError(
            "is not a text (CSV) file: it contains control characters. Export the data "
            "as CSV or .xlsx and try again",
            line=text.count("\n", 0, controls.start()) + 1,
        )
    return text, "cp1252"


def _line_of(data: bytes, pos: int) -> int:
    return data.count(b"\n", 0, pos) + 1


# ---------------------------------------------------------------------------
# separators


def sniff_delimiter(text: str, *, candidates: tuple[str, ...] = DELIMITERS) -> str:
    """Guess the field separator from the first lines of ``text``.

    The separator is the candidate that splits the header into the most fields while
    giving the same number of fields on most of the first 50 lines (quotes respected).

    Examples
    --------
    >>> sniff_delimiter("Cliente;Importo\\nA;1,50\\n")
    ';'
    """
    lines = text.splitlines()[:50]
    sample = "\n".join(lines)
    best, best_score = ",", (-1.0, -1)
    for delim in candidates:
        try:
            rows = list(csv.reader(io.StringIO(sample), delimiter=delim))
        except csv.Error:
            continue
        rows = [r for r in rows if r]
        if not rows:
            continue
        width = len(rows[0])
        if width < 2:
            continue
        consistent = sum(1 for r in rows if len(r) == width) / len(rows)
        score = (consistent, width)
        if score > best_score:
            best, best_score = delim, score
    return best


# ---------------------------------------------------------------------------
# numbers

_CURRENCY_NOISE = re.compile(r"[\s\u00a0\u202f€$£¥]|(?:EUR|USD|GBP|CHF)$|^(?:EUR|USD|GBP|CHF)")
#: The largest magnitude read as a number: beyond it a value is no amount, count or
#: score (Excel keeps 15 significant digits) and totals could overflow to infinity.
MAX_ABS = 1e15

_COMMA_DECIMAL = re.compile(r"[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?")
_POINT_DECIMAL = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_APOSTROPHE = re.compile(r"[+-]?\d{1,3}(?:'\d{3})+(?:\.\d+)?")


@dataclass(frozen=True, slots=True)
class NumberResult:
    """Parsed numbers and the positions of the values that could not be read."""

    values: pd.Series
    bad: np.ndarray  # boolean mask: non-blank but not a number
    #: boolean mask: a number, but infinite or beyond :data:`MAX_ABS` (set to NaN)
    huge: np.ndarray | None = None


#: A number with nothing to clean: no currency, space, parenthesis or trailing sign.
_PLAIN_NUMBER = r"[+-]?[0-9]+(?:\.[0-9]+)?"


def _clean_number_text(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    text = s.astype("str")
    if bool(text.str.fullmatch(_PLAIN_NUMBER).all()):  # the usual export: one C pass
        return text, np.zeros(len(text), dtype=bool)
    text = text.str.replace(_CURRENCY_NOISE, "", regex=True)
    neg_paren = text.str.fullmatch(r"\(.*\)").to_numpy(dtype=bool)
    if neg_paren.any():
        text = text.where(~neg_paren, "-" + text.str.slice(1, -1))
    trailing_minus = text.str.fullmatch(r"[\d.,']+-").to_numpy(dtype=bool)
    if trailing_minus.any():
        text = text.where(~trailing_minus, "-" + text.str.slice(0, -1))
    return text, neg_paren


def parse_numbers(series: pd.Series, *, decimal: str = ".") -> NumberResult:
    """Parse a column of numbers written in a locale; vectorised.

    ``decimal=","`` reads ``1.234,56`` as 1234.56; ``decimal="."`` reads
    ``1,234.56``. Currency symbols, spaces and codes (``€ 12,50``, ``EUR 3``), and
    accounting negatives ``(12.00)`` are accepted. Blank cells give NaN. Values
    already numeric (from .xlsx cells) pass through.

    Returns a :class:`NumberResult`; ``bad`` marks non-blank cells that are not
    numbers, which callers turn into located errors.

    Formula: with ``decimal=","``, ``x = float(text.replace(".", "").replace(",", "."))``
    after checking the text against ``\\d{1,3}(\\.\\d{3})*(,\\d+)?``.
    """
    values = np.full(len(series), np.nan, dtype="float64")
    bad = np.zeros(len(series), dtype=bool)
    raw = series.to_numpy(dtype=object)
    is_str = _is_text(raw)
    numeric = _number_cells(raw)
    if numeric is not None:
        values = numeric
    elif (~is_str).any():
        for i in np.flatnonzero(~is_str):
            v = raw[i]
            if v is None or (isinstance(v, float) and np.isnan(v)):
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float, np.number)):
                bad[i] = True
                continue
            values[i] = float(v)
    if is_str.any():
        idx = np.flatnonzero(is_str)
        text = pd.Series(raw if is_str.all() else raw[idx], dtype="str").str.strip()
        blank = (text == "").to_numpy(dtype=bool)
        cleaned, _ = _clean_number_text(text)
        if decimal == ",":
            ok = cleaned.str.fullmatch(_COMMA_DECIMAL).to_numpy(dtype=bool)
            normal = cleaned.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        else:
            ok = cleaned.str.fullmatch(_POINT_DECIMAL).to_numpy(dtype=bool)
            ok_apos = cleaned.str.fullmatch(_APOSTROPHE).to_numpy(dtype=bool)
            ok = ok | ok_apos
            normal = cleaned.str.replace(",", "", regex=False).str.replace("'", "", regex=False)
        num = pd.to_numeric(normal.where(ok & ~blank, ""), errors="coerce").to_numpy(
            dtype="float64", copy=True
        )
        sub_bad = ~blank & (~ok | np.isnan(num) | np.isinf(num))
        num[sub_bad] = np.nan
        values[idx] = num
        bad[idx] = sub_bad
    huge = np.isinf(values) | (np.abs(np.nan_to_num(values)) >= MAX_ABS)
    values[huge] = np.nan
    return NumberResult(values=pd.Series(values, index=series.index), bad=bad, huge=huge)


def guess_decimal(columns: list[pd.Series], *, default: str = ".") -> tuple[str, bool]:
    """Guess the decimal mark from number columns; returns ``(mark, ambiguous)``.

    Evidence for ``,``: ``12,5`` or ``1.234,56``; for ``.``: ``12.50``, ``1,234.56``.
    A value like ``1,234`` or ``1.234`` fits both; with no decisive value the
    ``default`` is used and ``ambiguous`` is True if such values were seen.

    Examples
    --------
    >>> guess_decimal([pd.Series(["12,50", "3"])])
    (',', False)
    """
    comma = point = 0
    ambiguous = False
    for col in columns:
        raw = col.to_numpy(dtype=object)
        strings = [v for v in raw[:5000] if isinstance(v, str)]
        if not strings:
            continue
        s, _ = _clean_number_text(pd.Series(strings, dtype="str").str.strip())
        comma += int(s.str.fullmatch(r"[+-]?\d+,\d{1,2}|[+-]?\d+,\d{4,}").sum())
        comma += int(s.str.fullmatch(r"[+-]?\d{1,3}(?:\.\d{3})+,\d*").sum())
        comma += int(s.str.fullmatch(r"[+-]?\d{1,3}(?:\.\d{3}){2,}").sum())
        point += int(s.str.fullmatch(r"[+-]?\d+\.\d{1,2}|[+-]?\d+\.\d{4,}").sum())
        point += int(s.str.fullmatch(r"[+-]?\d{1,3}(?:,\d{3})+\.\d*").sum())
        point += int(s.str.fullmatch(r"[+-]?\d{1,3}(?:,\d{3}){2,}").sum())
        ambiguous = ambiguous or bool(s.str.fullmatch(r"[+-]?\d{1,3}[.,]\d{3}").any())
    if comma > point:
        return ",", False
    if point > comma:
        return ".", False
    return default, ambiguous


# ---------------------------------------------------------------------------
# dates

_TZ_SUFFIX = re.compile(r"\s*(?:[+-]\d{2}:?\d{2}|Z|UTC|GMT)$")


@dataclass(frozen=True, slots=True)
class DateResult:
    """Parsed dates, the positions that could not be read, and the format used."""

    values: pd.Series
    bad: np.ndarray
    format: str | None
    note: str | None = None


#: Dates with neither a time nor a zone to strip (``2024-01-05``, ``05/01/2024``).
_BARE_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9./]*"


def _date_part(text: pd.Series) -> pd.Series:
    """Strip a time of day and a time zone: ``2024-01-05 10:00:00 +0100`` -> date.

    Cells that are bare dates are left as they are without a regular expression each.

    >>> _date_part(pd.Series(["2024-01-05 10:00:00 +0100", "2024-01-06"])).tolist()
    ['2024-01-05', '2024-01-06']
    """
    bare = text.str.fullmatch(_BARE_DATE).to_numpy(dtype=bool)
    if bare.all():
        return text
    rest = text[~bare].str.replace(_TZ_SUFFIX, "", regex=True)
    return text.where(bare, rest.str.replace(r"[T ].*$", "", regex=True))


def all_text(cells: np.ndarray) -> bool:
    """True when every cell of an object array is a ``str`` (a CSV's cells), told
    without a Python call per cell.

    >>> all_text(np.array(["a", "b"], dtype=object)), all_text(np.array(["a", 1], dtype=object))
    (True, False)
    """
    return len(cells) > 0 and pd.api.types.infer_dtype(cells, skipna=False) == "string"


#: What :func:`pandas.api.types.infer_dtype` calls columns of numbers only (no bools).
_NUMBER_KINDS = frozenset({"floating", "integer", "mixed-integer-float"})


def _number_cells(cells: np.ndarray) -> np.ndarray | None:
    """Cells that are all numbers (a workbook's, NaN for a blank) as float64, as
    :func:`parse_numbers` reads them one by one; None for any other column.

    >>> _number_cells(np.array([1, 2.5, float("nan")], dtype=object))
    array([1. , 2.5, nan])
    >>> _number_cells(np.array([1.0, True], dtype=object)) is None
    True
    """
    if len(cells) == 0 or pd.api.types.infer_dtype(cells, skipna=False) not in _NUMBER_KINDS:
        return None
    return cells.astype("float64")


def _day_cells(cells: np.ndarray) -> np.ndarray | None:
    """Cells that are all dates or zone-less datetimes (a workbook's) as
    ``datetime64[ns]`` days, as :func:`parse_dates` reads them one by one; None for any
    other column (text, blanks, zones, dates beyond what nanoseconds hold).

    >>> import datetime as dt
    >>> _day_cells(np.array([dt.date(2024, 1, 5), dt.datetime(2024, 1, 6, 9)], dtype=object))
    array(['2024-01-05T00:00:00.000000000', '2024-01-06T00:00:00.000000000'],
          dtype='datetime64[ns]')
    """
    if len(cells) == 0 or pd.api.types.infer_dtype(cells, skipna=False) not in (
        "date",
        "datetime",
    ):
        return None
    try:
        stamps = pd.DatetimeIndex(cells)
    except (TypeError, ValueError, OverflowError):
        return None
    if stamps.tz is not None or stamps.hasnans:
        return None
    if stamps.min() < pd.Timestamp.min or stamps.max() > pd.Timestamp.max:
        return None
    days: np.ndarray = stamps.normalize().as_unit("ns").to_numpy(dtype="datetime64[ns]")
    return days


def _is_text(cells: np.ndarray) -> np.ndarray:
    """Which cells of an object array are ``str``."""
    if all_text(cells):
        return np.ones(len(cells), dtype=bool)
    return np.fromiter((isinstance(v, str) for v in cells), dtype=bool, count=len(cells))


def parse_dates(
    series: pd.Series, *, locale: Locale | None = None, date_format: str | None = None
) -> DateResult:
    """Parse a date column with an explicit format, never a silent guess.

    The time of day and any UTC offset are dropped (days are the unit of every
    analysis). Tries :data:`DATE_FORMATS` on the distinct values and keeps the first
    format that reads them all; ``dd/mm`` versus ``mm/dd`` ties (no day above 12) are
    settled by ``locale`` (``it`` -> day first; ``en`` or unknown -> month first) and
    reported in ``note``. When no format reads every value, the one reading the most
    is used and the rest are flagged in ``bad``. Values already dates (.xlsx cells)
    pass through.

    Examples
    --------
    >>> r = parse_dates(pd.Series(["03/04/2024", "25/04/2024"]))
    >>> r.format, r.values.dt.strftime("%Y-%m-%d").tolist()
    ('%d/%m/%Y', ['2024-04-03', '2024-04-25'])
    """
    n = len(series)
    out = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    bad = np.zeros(n, dtype=bool)
    raw = series.to_numpy(dtype=object)
    is_str = _is_text(raw)
    days = _day_cells(raw)
    if days is not None:
        out = days
    else:
        for i in np.flatnonzero(~is_str):
            v = raw[i]
            if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
                continue
            try:
                ts = pd.Timestamp(v)
            except (TypeError, ValueError):
                bad[i] = True
                continue
            if isinstance(v, (int, float)) or pd.isna(ts):
                bad[i] = True  # a bare number in a date column
                continue
            if ts.tzinfo is not None:
                ts = ts.tz_localize(None)
            try:
                out[i] = np.datetime64(ts.normalize().as_unit("ns").value, "ns")
            except OutOfBoundsDatetime:  # before 1677 or after 2262: no order date
                bad[i] = True
    used: str | None = None
    note: str | None = None
    if is_str.any():
        idx = np.flatnonzero(is_str)
        text = pd.Series(raw if is_str.all() else raw[idx], dtype="str").str.strip()
        blank = (text == "").to_numpy(dtype=bool)
        if date_format is not None:
            has_time = bool(re.search(r"%[HIMSpfzZ]", date_format))
            source = text if has_time else _date_part(text)
            uniq = pd.Series(pd.unique(source[~blank]), dtype="str")
            parsed = pd.to_datetime(uniq, format=date_format, errors="coerce")
            used = date_format
        else:
            source = _date_part(text)
            uniq = pd.Series(pd.unique(source[~blank]), dtype="str")
            used, parsed, note = _choose_format(uniq, locale)
        parsed = pd.Series(parsed)
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_localize(None)
        found = parsed.dt.normalize()
        # pandas may read days that nanoseconds cannot hold (before 1677, after 2262):
        # no order date, and converting them would wrap around to another day
        found = found.where(found.isna() | found.between(pd.Timestamp.min, pd.Timestamp.max))
        table = np.append(found.to_numpy(dtype="datetime64[ns]"), np.datetime64("NaT", "ns"))
        codes = pd.Index(uniq).get_indexer(source)
        vals = table[np.where(codes < 0, len(table) - 1, codes)]
        sub_bad = ~blank & np.isnat(vals)
        out[idx] = vals
        bad[idx] = sub_bad
    return DateResult(values=pd.Series(out, index=series.index), bad=bad, format=used, note=note)


def _choose_format(
    uniq: pd.Series, locale: Locale | None
) -> tuple[str | None, pd.Series, str | None]:
    if uniq.empty:
        return None, pd.Series([], dtype="datetime64[ns]"), None
    best_fmt: str | None = None
    best_parsed = pd.Series(pd.NaT, index=uniq.index, dtype="datetime64[ns]")
    best_count = -1
    sample = uniq.iloc[:500]
    for fmt in DATE_FORMATS:
        # quick rejection on a sample, then the whole set of distinct values
        if pd.to_datetime(sample.iloc[:20], format=fmt, errors="coerce").isna().all():
            continue
        parsed = pd.to_datetime(uniq, format=fmt, errors="coerce")
        count = int(parsed.notna().sum())
        if count == len(uniq):
            note = None
            other = _SWAP.get(fmt)
            if other is not None:
                alt = pd.to_datetime(uniq, format=other, errors="coerce")
                if alt.notna().all():
                    prefer_day = locale == "it"
                    chosen = fmt if (fmt in _DAY_FIRST) == prefer_day else other
                    if chosen != fmt:
                        parsed = alt
                    order = "day first" if chosen in _DAY_FIRST else "month first"
                    note = (
                        f"dates fit both dd/mm and mm/dd; read {order} ({chosen}) from the "
                        f"locale {locale or 'en'!r}. Pass --date-format to choose"
                    )
                    return chosen, parsed, note
            return fmt, parsed, None
        if count > best_count:
            best_fmt, best_parsed, best_count = fmt, parsed, count
    return best_fmt, best_parsed, None
