"""Which Excel host runs the functions: the one place that knows.

xlwings picks its decorators when it is imported:

* **classic** (``xlwings.udfs``): the xlwings add-in on Windows, talking to Excel over
  COM. It cannot return real error cells: whatever a function returns is written as a
  value, and an exception's text would land in the cell. So functions return the
  error's text (``"#DIV/0! customers_start is zero ..."``).
* **officejs** (``xlwings.pro.udfs_officejs``, used by xlwings Lite and xlwings
  Server when ``XLWINGS_ON_SERVER`` is set): Office.js custom functions. A returned
  ``"#DIV/0!"``, ``"#NUM!"``, ``"#N/A"`` or ``"#VALUE!"`` string becomes a real error
  cell (without a message), and a raised exception becomes ``#VALUE!`` whose message
  Excel shows when you hover the error flag. So functions return the error code, and
  for ``#VALUE!`` raise :class:`~retention_xl.excel.convert.ExcelValueError` so the
  reason is visible.
* **python** (xlwings' no-op decorators on Linux and macOS, or no xlwings at all):
  no Excel host. Functions behave as under classic xlwings and return the error text,
  so plain Python callers (tests, notebooks) never see an exception.
"""

from __future__ import annotations

import enum

__all__ = ["Host", "current_host", "detect_host", "set_host"]


class Host(enum.Enum):
    """An Excel host that can call the functions."""

    CLASSIC = "classic"
    OFFICEJS = "officejs"
    PYTHON = "python"


def detect_host() -> Host:
    """Tell the host from the module that provides ``xlwings.func``.

    Examples
    --------
    >>> detect_host() in set(Host)
    True
    """
    try:
        import xlwings
    except ImportError:
        return Host.PYTHON
    module = getattr(getattr(xlwings, "func", None), "__module__", "") or ""
    if module == "xlwings.udfs":
        return Host.CLASSIC
    if module.startswith("xlwings.pro") or module.startswith("xlwings.server"):
        return Host.OFFICEJS
    return Host.PYTHON


_current: Host = detect_host()


def current_host() -> Host:
    """The host the functions render their results and errors for."""
    return _current


def set_host(host: Host) -> Host:
    """Render for ``host`` from now on; returns the previous host (tests use this)."""
    global _current
    previous = _current
    _current = Host(host)
    return previous
