"""The registry of Excel functions: names, arguments, help, and the decorator.

xlwings attaches its own metadata (``__xlfunc__``) only on Windows and in the Office.js
hosts; on Linux and macOS its decorators do nothing. So the package keeps its own
registry, which the ``retention-xl functions`` listing, the README table and the tests
read everywhere, and which :func:`excel_function` fills while it applies xlwings'
``func``/``arg`` decorators with the same names and help texts.

Each Excel function is a thin wrapper: an implementation that converts the arguments
(:mod:`retention_xl.excel.convert`) and calls its Python twin in the core. The wrapper
made here never lets an exception reach a cell: errors become Excel errors as the
current host can show them (:mod:`retention_xl.excel.hosts`).
"""

from __future__ import annotations

import html
import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from retention_xl.excel import convert, hosts

__all__ = [
    "HELP_URL_ENV",
    "REGISTRY",
    "Arg",
    "ExcelFunction",
    "describe",
    "excel_function",
    "help_line_limit",
    "help_page_html",
    "help_url",
    "markdown_table",
]

#: Excel's function wizard (classic xlwings) cuts descriptions at 255 characters.
help_line_limit: Final = 255

#: The environment variable naming the page that documents the functions (the page
#: ``retention-xl functions --format html`` writes, or the README as you publish it):
#: each function's help link in Excel is that address with ``#NAME`` appended.
HELP_URL_ENV: Final = "RETENTION_XL_HELP_URL"


def help_url(name: str) -> str | None:
    """The help link of the function ``name``: ``$RETENTION_XL_HELP_URL#NAME``, or
    ``None`` when the variable is not set (Excel then shows no link).

    Read when the functions are registered, so a host sets it before importing them
    (``retention-xl lite`` writes a ``main.py`` that does).

    >>> os.environ[HELP_URL_ENV] = "https://example.org/retention_xl_functions.html"
    >>> help_url("CHURN")
    'https://example.org/retention_xl_functions.html#CHURN'
    >>> del os.environ[HELP_URL_ENV]
    >>> help_url("CHURN") is None
    True
    """
    base = os.environ.get(HELP_URL_ENV, "").strip()
    if not base:
        return None
    return f"{base.split('#', 1)[0]}#{name}"


@dataclass(frozen=True)
class Arg:
    """One argument of an Excel function.

    ``default`` is what an optional argument means when left out, as the help shows it.
    ``lifted`` arguments take one cell or a range: with ranges the function gives one
    result per cell (array lifting, like ``=A1:A3*2``), so the host passes them as 2-D
    ranges to keep rows and columns apart.
    """

    name: str
    doc: str
    optional: bool = False
    default: str | None = None
    lifted: bool = False


@dataclass(frozen=True)
class ExcelFunction:
    """An Excel function as the user sees it, and the callable the hosts call."""

    name: str
    twin: str
    category: str
    help: str
    args: tuple[Arg, ...]
    example: str
    example_result: str
    spills: bool = False
    udf: Callable[..., Any] = field(default=print, compare=False, repr=False)

    @property
    def signature(self) -> str:
        """``CLV(avg_purchase_value, purchase_frequency, lifespan, [gross_margin])``."""
        parts = [f"[{a.name}]" if a.optional else a.name for a in self.args]
        return f"{self.name}({', '.join(parts)})"


def arg_help(arg: Arg) -> str:
    """An argument's help as Excel shows it: optional ones say so, and their default.

    >>> arg_help(Arg("margin", "Gross margin as a fraction 0..1.", optional=True, default="1"))
    'Gross margin as a fraction 0..1. Optional (default 1).'
    >>> arg_help(Arg("cac", "Acquisition cost."))
    'Acquisition cost.'
    """
    if not arg.optional:
        return arg.doc
    if arg.default is None:
        return f"{arg.doc} Optional."
    if "default" in arg.doc.lower():
        return f"{arg.doc} Optional."
    return f"{arg.doc} Optional (default {arg.default})."


#: Every Excel function, by Excel name, in the order they are defined.
REGISTRY: dict[str, ExcelFunction] = {}


def _xlwings() -> Any:
    try:
        import xlwings
    except ImportError:  # the functions still work from Python, without a host
        return None
    return xlwings


def excel_function(
    name: str,
    *,
    twin: str,
    category: str,
    help: str,
    args: tuple[Arg, ...],
    example: str,
    example_result: str,
    spills: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``impl`` as the Excel function ``name`` and decorate it for xlwings.

    ``impl`` takes the raw values the host passes (optional arguments default to
    ``None``) and returns cell values; it may raise. The returned callable is what
    the host calls: named ``name``, with ``impl``'s parameters, ``help`` as its
    docstring and no annotations (xlwings would read them as converters).
    """
    if name in REGISTRY:
        raise ValueError(f"the Excel function {name} is registered twice")
    if len(help) > help_line_limit or "\n" in help:
        raise ValueError(f"{name}: the help must be one line of at most {help_line_limit} chars")

    def decorate(impl: Callable[..., Any]) -> Callable[..., Any]:
        params = list(inspect.signature(impl).parameters.values())
        if [p.name for p in params] != [a.name for a in args]:
            raise TypeError(f"{name}: the arguments of {impl.__name__} do not match the registry")
        for param, arg in zip(params, args, strict=True):
            if arg.optional and param.default is not None:
                raise TypeError(f"{name}: optional argument {arg.name} must default to None")

        decorated = _for_xlwings(_host_callable(impl, name, help, args), category, args)
        REGISTRY[name] = ExcelFunction(
            name=name,
            twin=twin,
            category=category,
            help=help,
            args=args,
            example=example,
            example_result=example_result,
            spills=spills,
            udf=decorated,
        )
        return decorated

    return decorate


def _host_callable(
    impl: Callable[..., Any], name: str, help: str, args: tuple[Arg, ...]
) -> Callable[..., Any]:
    """What the host calls: ``impl`` under the function's name, its errors turned
    into the host's error values, ``help`` as docstring, the registry's arguments
    as signature (optional ones default to None) and no annotations (xlwings would
    read them as converters)."""

    def udf(*values: Any) -> Any:
        try:
            return impl(*values)
        except Exception as exc:
            return convert.error_result(exc, name, hosts.current_host())

    udf.__name__ = udf.__qualname__ = name
    udf.__module__ = impl.__module__
    udf.__doc__ = help
    udf.__annotations__ = {}
    udf.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(
                a.name,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default=None if a.optional else inspect.Parameter.empty,
            )
            for a in args
        ]
    )
    return udf


def _for_xlwings(
    udf: Callable[..., Any], category: str, args: tuple[Arg, ...]
) -> Callable[..., Any]:
    """``udf`` with xlwings' ``arg`` and ``func`` decorators when xlwings is importable
    (unchanged otherwise). Office.js gets every argument raw (the payload as Excel
    sends it, which :mod:`convert` reads: xlwings' own per-cell cleaning costs seconds
    per 100,000 cells) and a help link; classic and server hosts get errors as text
    and 2-D ranges for lifted arguments."""
    xw = _xlwings()
    if xw is None:
        return udf
    decorated = udf
    officejs = hosts.current_host() is hosts.Host.OFFICEJS
    for arg in args:
        if officejs:
            decorated = xw.arg(arg.name, "raw", doc=arg_help(arg))(decorated)
            continue
        options: dict[str, Any] = {"doc": arg_help(arg), "err_to_str": True}
        if arg.lifted:
            options["ndim"] = 2
        decorated = xw.arg(arg.name, **options)(decorated)
    link = help_url(udf.__name__) if officejs else None  # classic Excel takes no URL
    if link is not None:
        return xw.func(category=category, help_url=link)(decorated)  # type: ignore[no-any-return]
    return xw.func(category=category)(decorated)  # type: ignore[no-any-return]


def describe(function: ExcelFunction) -> str:
    """The text listing of one function: signature, help, arguments, example."""
    lines = [function.signature, f"    {function.help}"]
    for arg in function.args:
        default = ""
        if arg.optional:
            default = " Optional." if arg.default is None else f" Optional (default {arg.default})."
        lines.append(f"    {arg.name}: {arg.doc}{default}")
    lines.append(f"    Example: {function.example} -> {function.example_result}")
    lines.append(f"    Python: {function.twin}")
    return "\n".join(lines)


def markdown_table() -> str:
    """The README's function table, one row per function, made from the registry."""
    rows = [
        "| Function | Arguments ([optional]) | Returns | Example |",
        "|---|---|---|---|",
    ]
    for function in REGISTRY.values():
        names = ", ".join(f"[{a.name}]" if a.optional else a.name for a in function.args)
        example = f"`{function.example}` → {function.example_result}"
        anchor = f'<a id="{function.name}"></a>{function.name}'  # the help links' target
        rows.append(f"| {anchor} | {names} | {function.help} | {example} |")
    return "\n".join(rows)


def help_page_html() -> str:
    """A self-contained HTML page documenting every function, one section each with
    the id ``NAME``, so that ``page#CHURN`` opens the help of ``CHURN``.

    >>> '<section id="CHURN">' in help_page_html() or not REGISTRY
    True
    """
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>retention_xl: Excel functions</title>",
        "<style>body{font-family:Segoe UI,Arial,sans-serif;max-width:52em;margin:2em auto;"
        "padding:0 1em;color:#222}code{background:#f3f3f3;padding:0 .2em}"
        "section{border-top:1px solid #ddd;padding:.5em 0}dt{font-weight:bold}</style>",
        "</head><body>",
        "<h1>retention_xl: Excel functions</h1>",
        "<p>Optional arguments are in [brackets]. Every function gives an Excel error "
        "(#VALUE!, #NUM!, #DIV/0!, #N/A) with a reason instead of a wrong number.</p>",
    ]
    for function in REGISTRY.values():
        parts.append(f'<section id="{e(function.name)}">')
        parts.append(f"<h2><code>{e(function.signature)}</code></h2>")
        parts.append(f"<p>{e(function.help)}</p>")
        if function.args:
            parts.append("<dl>")
            for arg in function.args:
                parts.append(f"<dt>{e(arg.name)}</dt><dd>{e(arg_help(arg))}</dd>")
            parts.append("</dl>")
        parts.append(
            f"<p>Example: <code>{e(function.example)}</code> → {e(function.example_result)}"
            f"{' (spills)' if function.spills else ''}</p>"
        )
        parts.append(f"<p>Python: <code>{e(function.twin)}</code></p>")
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
