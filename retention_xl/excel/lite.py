"""What to paste into xlwings Lite to get ``=CHURN()`` and the other functions.

xlwings Lite runs Python in the browser (Pyodide). Its ``requirements.txt`` installs
pure-Python wheels from PyPI or from a URL, and the packages Pyodide builds itself
(numpy, pandas, scipy); ``main.py`` holds the functions Excel sees. retention-xl is not
on PyPI, so its wheel is hosted by the user: built once with
``pip wheel --no-deps . -w dist`` in a checkout (a pure-Python wheel whose only
requirements are numpy, pandas and scipy) and put on any HTTPS server that lets the
add-in download it: the server must send ``Access-Control-Allow-Origin`` (CORS), as
GitHub Pages, an S3 or Azure blob container with CORS enabled, or an intranet server
configured for it do.

Each function's help link in Excel points at ``retention_xl_functions.html`` (written
by ``retention-xl lite`` beside the other files) at the wheel's address, unless another
page is given.

>>> "retention_xl.excel.udfs" in main_py()
True
>>> default_help_url("https://example.org/wheels/retention_xl-0.1.0-py3-none-any.whl")
'https://example.org/wheels/retention_xl_functions.html'
>>> requirements_txt("https://example.org/wheels/retention_xl-0.1.0-py3-none-any.whl").splitlines()
['xlwings', 'https://example.org/wheels/retention_xl-0.1.0-py3-none-any.whl']
"""

from __future__ import annotations

from urllib.parse import urlparse

from retention_xl.errors import InputError
from retention_xl.excel.registry import HELP_URL_ENV

__all__ = [
    "HELP_PAGE",
    "check_help_url",
    "check_wheel_url",
    "default_help_url",
    "main_py",
    "requirements_txt",
]

#: The file name of the functions' help page, hosted beside the wheel.
HELP_PAGE = "retention_xl_functions.html"


def main_py(help_url: str | None = None) -> str:
    """The ``main.py`` that makes every function available in the workbook; with
    ``help_url``, each function links to its section of that page."""
    lines = [
        '"""retention_xl functions for this workbook: =CHURN(), =CLV(), =NPS(), =COHORT()..."""',
        "",
    ]
    if help_url is not None:
        lines += [
            "import os",
            "",
            "# the page each function's help link opens (one section per function)",
            f"os.environ.setdefault({HELP_URL_ENV!r}, {check_help_url(help_url)!r})",
            "",
        ]
    lines += [
        "# every Excel function of retention_xl, registered by xlwings Lite at start-up",
        "from retention_xl.excel.udfs import *  # noqa: E402, F403",
    ]
    return "\n".join(lines) + "\n"


def default_help_url(wheel_url: str) -> str:
    """The help page's address when it is hosted beside the wheel."""
    return f"{check_wheel_url(wheel_url).rsplit('/', 1)[0]}/{HELP_PAGE}"


def check_help_url(url: str) -> str:
    """``url`` if it is an https:// address, else :class:`InputError`.

    >>> check_help_url("ftp://example.org/help.html")
    Traceback (most recent call last):
    ...
    retention_xl.errors.InputError: --help-url must be an https:// URL, got 'ftp://example.org/help.html'
    """
    parsed = urlparse(url)
    if parsed.scheme != "https" or not parsed.netloc or any(c in url for c in "'\"\\\n"):
        raise InputError(f"--help-url must be an https:// URL, got {url!r}", argument="help_url")
    return url


def check_wheel_url(url: str) -> str:
    """``url`` if it names a wheel over HTTPS, else :class:`InputError` saying why.

    >>> check_wheel_url("http://example.org/x.whl")
    Traceback (most recent call last):
    ...
    retention_xl.errors.InputError: --wheel-url must be an https:// URL ...
    """
    parsed = urlparse(url)
    if parsed.scheme != "https" or not parsed.netloc:
        raise InputError(
            f"--wheel-url must be an https:// URL (the add-in runs in an HTTPS page and "
            f"cannot download from {url!r})",
            argument="wheel_url",
        )
    name = parsed.path.rsplit("/", 1)[-1]
    if not (name.startswith("retention_xl-") and name.endswith("-py3-none-any.whl")):
        raise InputError(
            f"--wheel-url must end with the wheel's file name, retention_xl-VERSION-py3-none-"
            f"any.whl (Pyodide installs wheels by their name), got {name!r}",
            argument="wheel_url",
        )
    return url


def requirements_txt(wheel_url: str) -> str:
    """The ``requirements.txt``: xlwings and the hosted wheel (numpy, pandas and scipy
    come from Pyodide as the wheel's requirements)."""
    return f"xlwings\n{check_wheel_url(wheel_url)}\n"
