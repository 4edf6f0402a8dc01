"""The text of one cell's value in a worksheet part: escaping, the limits of a cell,
and dates as Excel serial numbers. Both table renderers (:mod:`.sheetxml`'s numpy path
and :mod:`.arrowrows`' Arrow path) and the single cells use these, so every path writes
a value the same way.

* Text loses the characters XML 1.0 cannot hold (:data:`ILLEGAL`), is cut at the
  :data:`MAX_TEXT` characters a cell holds (:func:`fit`), is XML-escaped with CR kept
  as ``&#13;`` and a literal ``_xHHHH_`` protected as ``_x005F_xHHHH_``
  (:func:`escape_clean`), and needs ``xml:space="preserve"`` when it starts or ends
  with a blank (:func:`preserve`).
* A date is its Excel serial number, days since 1899-12-30 (:func:`excel_serial`;
  :data:`EPOCH_NS` and :data:`DAY_NS` for arrays of nanoseconds); dates before
  :data:`FIRST_SERIAL_DATE` are not written as serials.

>>> escape("a < b & _x0041_")
'a &lt; b &amp; _x005F_x0041_'
>>> preserve(" x"), preserve("x")
(True, False)
"""

from __future__ import annotations

import datetime as dt
import logging
import re

import numpy as np

__all__ = [
    "DAY_NS",
    "EPOCH_NS",
    "FIRST_NS",
    "FIRST_SERIAL_DATE",
    "ILLEGAL",
    "MAX_TEXT",
    "escape",
    "escape_clean",
    "excel_serial",
    "fit",
    "number_text",
    "preserve",
    "special_rows",
]

logger = logging.getLogger(__name__)

#: Characters a cell holds (Excel; longer texts make it repair the file).
MAX_TEXT = 32_767

#: Characters XML 1.0 cannot hold (control characters, lone surrogates, U+FFFE/U+FFFF).
ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_ESCAPE_X = re.compile("_(x[0-9A-Fa-f]{4}_)")
#: Anything that needs more than plain copying into a <t> element.
_SPECIAL = re.compile("[&<>\x00-\x1f\ufffe\uffff\ud800-\udfff]|_x[0-9A-Fa-f]{4}_|^[ \\n]|[ \\n]$")
#: The same, over a block of texts joined by newlines (a newline alone is harmless).
_SPECIAL_JOINED = re.compile("[&<>\x00-\x09\x0b-\x1f\ufffe\uffff\ud800-\udfff]|_x[0-9A-Fa-f]{4}_")


def special_rows(texts: list[str]) -> np.ndarray | None:
    """Indexes of the texts that need escaping, ``xml:space`` or truncation; None when
    none do.

    One scan of the joined block decides for the common case (plain text of ordinary
    length); only a block with something special is checked text by text.
    """
    joined = "\n".join(texts)
    if (
        _SPECIAL_JOINED.search(joined) is None
        and " \n" not in joined
        and "\n " not in joined
        and "\n\n" not in joined
        and not joined.startswith((" ", "\n"))
        and not joined.endswith((" ", "\n"))
        and (len(joined) <= MAX_TEXT or max(map(len, texts)) <= MAX_TEXT)
    ):
        return None
    search = _SPECIAL.search
    return np.array(
        [i for i, t in enumerate(texts) if len(t) > MAX_TEXT or search(t) is not None],
        dtype=np.intp,
    )


def fit(text: str) -> str:
    """Remove what XML cannot hold; cut at the 32,767 characters a cell holds."""
    text = ILLEGAL.sub("", text)
    if len(text) > MAX_TEXT:
        logger.warning(
            "a text of %d characters was cut to the %d a cell holds", len(text), MAX_TEXT
        )
        text = text[:MAX_TEXT]
    return text


def escape(text: str) -> str:
    """XML-escape text for element content (illegal characters removed, cut to fit)."""
    return escape_clean(fit(text))


def escape_clean(text: str) -> str:
    text = _ESCAPE_X.sub(r"_x005F_\1", text)
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    )


def preserve(text: str) -> bool:
    """Leading or trailing XML white space, which needs ``xml:space="preserve"``."""
    return bool(text) and (text[0] in " \t\n\r" or text[-1] in " \t\n\r")


_EPOCH = dt.datetime(1899, 12, 30)
#: The first day Excel's 1900 date system holds faithfully (it counts a 1900-02-29).
FIRST_SERIAL_DATE = dt.datetime(1900, 3, 1)
#: Day 0 of the serial numbers, the first faithful day, and a day, in nanoseconds.
EPOCH_NS = np.datetime64("1899-12-30", "ns").astype(np.int64)
FIRST_NS = np.datetime64("1900-03-01", "ns").astype(np.int64)
DAY_NS = 86_400 * 10**9


def excel_serial(value: dt.date | dt.datetime) -> float:
    """A date as an Excel serial number (1900 system).

    .. math:: \\text{serial} = (\\text{value} - 1899\\text{-}12\\text{-}30) / 1\\,\\text{day}

    >>> excel_serial(dt.date(2024, 1, 1))
    45292.0
    >>> excel_serial(dt.datetime(2024, 1, 1, 12))
    45292.5
    """
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.replace(tzinfo=None)
        delta = value - _EPOCH
    else:
        delta = dt.datetime(value.year, value.month, value.day) - _EPOCH
    return delta.days + (delta.seconds + delta.microseconds / 1e6) / 86_400


def number_text(value: float) -> str:
    """The shortest text that reads back as the same float64."""
    return repr(float(value))
