"""CSV files that Excel opens without running anything: the OWASP rule for CSV injection.

A cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return,
which some programs strip first) is read by Excel and LibreOffice as a formula when
the CSV is opened: a customer named ``=HYPERLINK("http://evil.example","click")`` in
an export becomes a live link, ``=cmd|' /C calc'!A0`` a command on older versions.
OWASP's advice (*CSV Injection*): prefix such text with a single quote, so the
spreadsheet shows it as text. Numbers are numbers, not text: a negative amount stays
``-12.5``. Every CSV the tool writes goes through :func:`write_csv`.

>>> import pandas as pd
>>> ids = ["=1+1", "anna@x.it", "-7", "@SUM(A1)"]
>>> frame = pd.DataFrame({"customer_id": ids, "clv": [1.5, -2.0, 3.0, 0.0]})
>>> safe_for_csv(frame)["customer_id"].tolist()
["'=1+1", 'anna@x.it', "'-7", "'@SUM(A1)"]
>>> safe_for_csv(frame)["clv"].tolist()
[1.5, -2.0, 3.0, 0.0]
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import pandas as pd

__all__ = ["FORMULA_STARTS", "neutralise", "safe_for_csv", "write_csv"]

#: The first characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is text that would run as a formula.

    >>> neutralise("+39 333 1234567"), neutralise(-5), neutralise("Rossi")
    ("'+39 333 1234567", -5, 'Rossi')
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_for_csv(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (and text index) are neutralised."""
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
            out[column] = series.map(neutralise)
    if out.index.dtype == object or pd.api.types.is_string_dtype(out.index.dtype):
        out.index = out.index.map(neutralise)
    return out


def write_csv(frame: pd.DataFrame, path: str | Path | IO[str], **options: Any) -> None:
    """``frame.to_csv(path, **options)`` after :func:`safe_for_csv` (``path`` may be an
    open text file, to write a table in parts)."""
    safe_for_csv(frame).to_csv(path, **options)
