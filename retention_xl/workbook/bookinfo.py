"""What a generated workbook was made with, read back for refresh.

:func:`book_settings` recovers the build settings a refresh must keep - language,
currency, period, benchmark market, whether the raw tabs were left out - and
:func:`plan_arguments` turns the user's current input cells into the keyword arguments
of :func:`retention_xl.workbook.build.plan_report`, so a refreshed workbook is planned
exactly as ``build`` would plan it with those settings and inputs.

Where the settings come from, first found wins:

1. defined names holding constants: ``RXL_LANG`` (``="it"``), ``RXL_CURRENCY``,
   ``RXL_PERIOD``, ``RXL_MARKET``;
2. the About sheet's settings line (``period Y, activity window 365 days, benchmark
   market EU, currency EUR`` or its Italian wording), which also tells the language;
3. the KPIs sheet's period length (``RXL_PeriodYears``: 1, 0.25 or 1/12);
4. defaults: English (Italian when the sheet names are), the exports' single currency
   or EUR, yearly periods, the EU market.

Examples
--------
>>> _constant('="it"')
'it'
>>> period_of_years(0.25)
'Q'
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from retention_xl.errors import WorkbookError
from retention_xl.io.inputs import Inputs
from retention_xl.workbook.package import Package, WorkbookInfo
from retention_xl.workbook.readback import read_cells, sheet_rows

__all__ = [
    "BookSettings",
    "book_settings",
    "period_of_years",
    "plan_arguments",
]

LANG_NAME = "RXL_LANG"
CURRENCY_NAME = "RXL_CURRENCY"
PERIOD_NAME = "RXL_PERIOD"
MARKET_NAME = "RXL_MARKET"
PERIOD_YEARS_NAME = "RXL_PeriodYears"
_LANGS = ("en", "it")
_ITALIAN_WORDS = ("ordini", "abbonamenti", "sondaggio", "clienti", "coorti", "informazioni")
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)


@dataclass(frozen=True, slots=True)
class BookSettings:
    """The build settings of a workbook (see module docstring for their sources)."""

    lang: str = "en"
    currency: str = "EUR"
    period: str = "Y"
    market: str = "eu"
    no_raw: bool = False  #: built with --no-raw: the raw tabs hold no rows
    source: str = "defaults"  #: where the settings were found (for the summary)


def _constant(formula: str | None) -> str | None:
    """The text of a defined name holding a constant: ``="it"`` or ``"it"`` -> ``it``."""
    if formula is None:
        return None
    m = re.fullmatch(r'\s*=?\s*"((?:[^"]|"")*)"\s*', formula)
    return m.group(1).replace('""', '"') if m else None


def period_of_years(years: object) -> str | None:
    """``"Y"``, ``"Q"`` or ``"M"`` for a period length in years (None if none fits)."""
    if not isinstance(years, int | float) or isinstance(years, bool):
        return None
    for code, length in (("Y", 1.0), ("Q", 0.25), ("M", 1.0 / 12.0)):
        if math.isclose(float(years), length, rel_tol=1e-6):
            return code
    return None


def _settings_patterns() -> list[tuple[str, re.Pattern[str]]]:
    """The About sheet's settings line in each language, as regular expressions."""
    try:
        from retention_xl.workbook.labels import label
    except ImportError:  # pragma: no cover - the generator is part of the package
        return []
    out = []
    for lang in _LANGS:
        template = label("about.settings_line", lang)
        pattern = re.escape(template)
        for field in ("period", "window", "market", "currency"):
            pattern = pattern.replace(re.escape("{" + field + "}"), f"(?P<{field}>\\S+?)")
        out.append((lang, re.compile("^" + pattern + "$", re.IGNORECASE)))
    return out


def _about_texts(pkg: Package, info: WorkbookInfo) -> list[str]:
    about = info.role_sheets().get("ABOUT")
    if about is None:
        return []
    return [v.strip() for row in sheet_rows(pkg, about.name) for v in row if isinstance(v, str)]


def _period_code(word: str) -> str:
    """``Y``, ``Q`` or ``M`` for the About sheet's period word in any language ("year",
    "trimestre", ...; older books wrote the code itself)."""
    from retention_xl.workbook.labels import label

    for code in ("Y", "Q", "M"):
        if word.strip().lower() in {code.lower()} | {label(f"period.{code}", x) for x in _LANGS}:
            return code
    return word


def _about_settings(texts: list[str]) -> tuple[str, dict[str, str]] | None:
    for lang, pattern in _settings_patterns():
        for value in texts:
            m = pattern.match(value)
            if m is not None:
                return lang, m.groupdict()
    return None


def _no_raw(texts: list[str]) -> bool:
    try:
        from retention_xl.workbook.labels import label
    except ImportError:  # pragma: no cover - the generator is part of the package
        return False
    notes = {label("note.no_raw", lang) for lang in _LANGS}
    return any(t in notes for t in texts)


def book_settings(pkg: Package, info: WorkbookInfo, inputs: Inputs | None = None) -> BookSettings:
    """The language, currency, period and market ``pkg`` was made with."""
    found: dict[str, str] = {}
    sources: list[str] = []
    for key, name in (
        ("lang", LANG_NAME),
        ("currency", CURRENCY_NAME),
        ("period", PERIOD_NAME),
        ("market", MARKET_NAME),
    ):
        value = _constant(info.names.get(name))
        if value:
            found[key] = value
    if found:
        sources.append("defined names")
    texts = _about_texts(pkg, info)
    if len(found) < 4:
        about = _about_settings(texts)
        if about is not None:
            lang, values = about
            found.setdefault("lang", lang)
            values = {**values, "period": _period_code(values.get("period") or "")}
            for key in ("period", "market", "currency"):
                if values.get(key):
                    found.setdefault(key, values[key])
            sources.append("About sheet")
    if "period" not in found:
        ref = info.resolve_name(PERIOD_YEARS_NAME)
        if ref is not None and ref[0].part is not None:
            code = period_of_years(read_cells(pkg, info, ref[0].part, [ref[1]]).get(ref[1]))
            if code is not None:
                found["period"] = code
                sources.append("KPIs sheet")
    lang = found.get("lang", "").lower()
    if lang not in _LANGS:
        names = " ".join(s.name.casefold() for s in info.role_sheets().values())
        lang = "it" if any(w in names for w in _ITALIAN_WORDS) else "en"
    currency = found.get("currency", "").upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        exported = {
            c
            for rep in (inputs.reports.values() if inputs is not None else ())
            for c in rep.currencies
        }
        currency = exported.pop() if len(exported) == 1 else "EUR"
    period = found.get("period", "Y").upper()
    if period not in ("Y", "Q", "M"):
        period = "Y"
    market = found.get("market", "eu").lower()
    if market not in ("eu", "us", "uk"):
        market = "eu"
    return BookSettings(
        lang=lang,
        currency=currency,
        period=period,
        market=market,
        no_raw=_no_raw(texts),
        source=", ".join(sources) or "defaults",
    )


# --------------------------------------------------------------------------- inputs

#: Input name -> plan_report keyword and kind.
_INPUTS: dict[str, tuple[str, str]] = {
    "Input_Period": ("input_period", "date"),
    "Input_WindowDays": ("window_days", "days"),
    "Input_CAC": ("cac", "money"),
    "Input_GrossMargin": ("gross_margin", "share"),
    "Input_DiscountRate": ("discount_rate", "share"),
}


def plan_arguments(values: Mapping[str, object]) -> dict[str, Any]:
    """The ``plan_report`` keyword arguments for the current input values.

    Blank inputs are left out (the generator's defaults apply), except CAC and targets,
    which stay blank (None). A value that cannot be used raises a
    :class:`WorkbookError` naming the input and what to type.

    Examples
    --------
    >>> plan_arguments({"Input_Period": 45292.0, "Input_CAC": 45.0, "Target_NPS": None})
    {'input_period': datetime.date(2024, 1, 1), 'cac': 45.0, 'targets': {'Target_NPS': None}}
    """
    out: dict[str, Any] = {}
    targets: dict[str, float | None] = {}
    for name, value in values.items():
        if name.startswith("Target_"):
            targets[name] = None if _blank(value) else _number(name, value)
            continue
        if name not in _INPUTS:
            continue
        key, kind = _INPUTS[name]
        if _blank(value):
            if key == "cac":
                out[key] = None
            continue
        if kind == "date":
            out[key] = _date(name, value)
        elif kind == "days":
            days = _number(name, value)
            if days < 1 or days != int(days):
                raise WorkbookError(
                    f"the input {name} holds {value!r}: type a whole number of days (e.g. 365)"
                )
            out[key] = int(days)
        elif kind == "share":
            share = _number(name, value)
            if share > 1 and share <= 100:
                share /= 100.0  # typed as a percentage number
            out[key] = share
        else:
            out[key] = _number(name, value)
    if targets:
        out["targets"] = targets
    return out


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _number(name: str, value: object) -> float:
    if isinstance(value, bool):
        raise WorkbookError(f"the input {name} holds {value!r}: type a number")
    if isinstance(value, int | float):
        if math.isnan(value) or math.isinf(value):
            raise WorkbookError(f"the input {name} is not a finite number: type a number")
        return float(value)
    text = str(value).strip().replace("%", "").replace("\u20ac", "").replace(" ", "")
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    try:
        number = float(text)
    except ValueError:
        raise WorkbookError(
            f"the input {name} holds {value!r}, which is not a number: type a number "
            "(e.g. 45 or 0.4) in that cell and refresh again"
        ) from None
    return number / 100.0 if str(value).strip().endswith("%") else number


def _date(name: str, value: object) -> dt.date:
    if isinstance(value, int | float) and not isinstance(value, bool) and 1 <= value < 2_958_466:
        return (_EXCEL_EPOCH + dt.timedelta(days=float(value))).date()
    if isinstance(value, str):
        for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y"):
            try:
                return dt.datetime.strptime(value.strip(), fmt).date()
            except ValueError:
                continue
    raise WorkbookError(
        f"the input {name} holds {value!r}, which is not a date: pick a period from the "
        "list in that cell (or clear it for the latest complete period)"
    )
