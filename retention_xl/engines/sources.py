"""What ``--orders`` (and ``--subscriptions``, ``--survey``, ``--customers``) names: an
export file, Parquet files, CSV files or a DuckDB table.

:func:`parse_source` turns an option's text into an :class:`OrdersSource`, looking
only at the file system (no DuckDB, no pandas), so a mistyped path is refused before
anything is read (:func:`parse_orders_source` is ``parse_source(value, option="orders")``):

=====================================  ==============================================
``orders.csv``, ``orders.xlsx``        one export (Shopify, WooCommerce, generic...):
                                       read by :mod:`retention_xl.io`
``orders.parquet``                     one Parquet file
``lake/``                              every Parquet file under the folder (any depth,
                                       e.g. ``year=2024/month=01/part-0.parquet``)
``lake/2024-*.parquet``,               the files a glob matches (``**`` crosses
``exports/*.csv``                      folders): all Parquet, or all CSV
``duckdb:shop.duckdb?table=orders``    a table (or view) of a DuckDB database file;
                                       ``?table=`` defaults to the option's name
                                       (``orders``, ``subscriptions``...) and may name
                                       a schema: ``?table=sales.orders``
=====================================  ==============================================

Messages name the option the value was given to (``--subscriptions 'subs/*.csv'
matches no file``).

Examples
--------
>>> parse_orders_source("duckdb:shop.duckdb?table=sales.orders", check=False).table
'sales.orders'
>>> parse_source("duckdb:shop.duckdb", option="survey", check=False).label
'shop.duckdb?table=survey'
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal
from urllib.parse import parse_qs

from retention_xl.errors import InputError

__all__ = [
    "CSV_SUFFIXES",
    "ENGINES",
    "PARQUET_SUFFIXES",
    "OrdersSource",
    "SourceKind",
    "parse_orders_source",
    "parse_source",
]

SourceKind = Literal["export", "parquet", "csv", "duckdb"]

#: the values of ``--engine``
ENGINES: Final = ("auto", "pandas", "duckdb", "spark")

PARQUET_SUFFIXES: Final = frozenset({".parquet", ".parq", ".pq"})
CSV_SUFFIXES: Final = frozenset({".csv", ".tsv", ".txt"})
_GLOB_CHARS: Final = frozenset("*?[")
_PARQUET_MAGIC: Final = b"PAR1"
_DUCKDB_MAGIC: Final = b"DUCK"  # bytes 8-11 of a DuckDB database file
_PREFIX: Final = "duckdb:"
#: how the sources are written, for messages
FORMS: Final = (
    "an export file, a Parquet file, a folder of Parquet files, a glob of Parquet or CSV "
    "files (quote it: 'lake/*.parquet'), or a DuckDB table written duckdb:FILE.duckdb?table=NAME"
)


@dataclass(frozen=True, slots=True)
class OrdersSource:
    """A resolved ``--orders`` value (or ``--subscriptions``, ``--survey``, ``--customers``).

    ``kind`` is ``export`` (one CSV/XLSX export for :mod:`retention_xl.io`),
    ``parquet`` or ``csv`` (``files``, sorted) or ``duckdb`` (``files`` holds the
    database file, ``table`` the table). ``label`` names the source in messages and
    import reports, as the user wrote it.
    """

    text: str
    kind: SourceKind
    files: tuple[Path, ...]
    label: str
    table: str | None = None

    @property
    def is_lake(self) -> bool:
        """Parquet files or a DuckDB table: data the DuckDB engine reads by default."""
        return self.kind in ("parquet", "duckdb")

    @property
    def path(self) -> Path:
        """The one file of an ``export`` or ``duckdb`` source."""
        return self.files[0]

    def as_csv(self) -> OrdersSource:
        """This single CSV export as a ``csv`` source (for the DuckDB engine)."""
        return OrdersSource(text=self.text, kind="csv", files=self.files, label=self.label)

    def file_label(self, file: str | Path | None) -> str:
        """How to name one of the source's files in a message: the file itself when the
        source is several files or a pattern (a glob that matched one file names it)."""
        if file is None or self.kind == "duckdb":
            return self.label
        one_named = len(self.files) == 1 and self.label == Path(file).name
        return self.label if one_named else str(file)


def _kind_of_file(path: Path) -> SourceKind:
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    try:
        with path.open("rb") as fh:
            head = fh.read(12)
    except OSError:
        return "export"
    if head.startswith(_PARQUET_MAGIC):
        return "parquet"
    if head[8:12] == _DUCKDB_MAGIC:
        return "duckdb"
    return "export"


def _duckdb_source(text: str, *, check: bool, option: str) -> OrdersSource:
    rest = text[len(_PREFIX) :]
    path_text, _, query = rest.partition("?")
    if not path_text:
        raise InputError(
            f"--{option} {text!r}: name the database file, e.g. duckdb:shop.duckdb?table={option}",
            argument=option,
        )
    params = parse_qs(query, keep_blank_values=True) if query else {}
    unknown = sorted(set(params) - {"table"})
    if unknown:
        raise InputError(
            f"--{option} {text!r}: unknown parameter {unknown[0]!r}; the only one is table, "
            f"e.g. duckdb:shop.duckdb?table={option}",
            argument=option,
        )
    table = params.get("table", [option])[-1].strip()
    if not table:
        raise InputError(
            f"--{option} {text!r}: the table name is empty; write ?table=NAME", argument=option
        )
    path = Path(path_text).expanduser()
    if check and not path.is_file():
        raise InputError(
            f"--{option} {text!r}: there is no DuckDB database file {str(path)!r}",
            argument=option,
        )
    return OrdersSource(
        text=text, kind="duckdb", files=(path,), label=f"{path.name}?table={table}", table=table
    )


def _glob_source(text: str, *, option: str) -> OrdersSource:
    matches = sorted(Path(p) for p in glob.glob(text, recursive=True))
    files = [p for p in matches if p.is_file()]
    if not files:
        raise InputError(
            f"--{option} {text!r} matches no file"
            + (" (only folders)" if matches else "")
            + ". Check the folder and the pattern; quote it so the shell does not expand it",
            argument=option,
        )
    kinds: dict[str, list[Path]] = {}
    for f in files:
        suffix = f.suffix.lower()
        family = (
            "parquet"
            if suffix in PARQUET_SUFFIXES
            else "csv"
            if suffix in CSV_SUFFIXES
            else "other"
        )
        kinds.setdefault(family, []).append(f)
    if "other" in kinds:
        raise InputError(
            f"--{option} {text!r} matches {kinds['other'][0].name}, which is neither a Parquet "
            "nor a CSV file: a glob reads Parquet (.parquet) or CSV (.csv) files; narrow "
            "the pattern",
            argument=option,
        )
    if len(kinds) > 1:
        raise InputError(
            f"--{option} {text!r} matches both Parquet and CSV files ({kinds['parquet'][0].name}, "
            f"{kinds['csv'][0].name}): give a pattern that matches one kind",
            argument=option,
        )
    kind: SourceKind = "parquet" if "parquet" in kinds else "csv"
    return OrdersSource(text=text, kind=kind, files=tuple(files), label=text)


def parse_orders_source(value: str | Path, *, check: bool = True) -> OrdersSource:
    """Resolve what ``--orders`` names (see the module docstring and :func:`parse_source`)."""
    return parse_source(value, option="orders", check=check)


def parse_source(value: str | Path, *, option: str, check: bool = True) -> OrdersSource:
    """Resolve what the option ``--OPTION`` names (see the module docstring).

    ``option`` (``orders``, ``subscriptions``, ``survey``, ``customers``) is named in
    messages and is the default table of a DuckDB database. With ``check`` (the
    default) the files must exist and a glob must match; a source that cannot be read
    raises :class:`~retention_xl.errors.InputError` naming the option and the value.
    """
    text = str(value)
    if text.startswith(_PREFIX):
        return _duckdb_source(text, check=check, option=option)
    path = Path(text).expanduser()
    if path.is_dir():
        files = sorted(
            p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in PARQUET_SUFFIXES
        )
        if not files:
            raise InputError(
                f"--{option} {text!r}: the folder holds no Parquet file (*.parquet). For CSV "
                f"files give a glob, e.g. --{option} '{path / '*.csv'}'",
                argument=option,
            )
        return OrdersSource(text=text, kind="parquet", files=tuple(files), label=text)
    if path.is_file():
        kind = _kind_of_file(path)
        if kind == "duckdb":
            return OrdersSource(
                text=text,
                kind="duckdb",
                files=(path,),
                label=f"{path.name}?table={option}",
                table=option,
            )
        return OrdersSource(text=text, kind=kind, files=(path,), label=path.name)
    if _GLOB_CHARS & set(text):
        if not check:  # the pattern's suffix tells the kind
            guess: SourceKind = "csv" if path.suffix.lower() in CSV_SUFFIXES else "parquet"
            return OrdersSource(text=text, kind=guess, files=(), label=text)
        return _glob_source(text, option=option)
    if check:
        raise InputError(
            f"--{option} {text!r}: there is no such file or folder. --{option} takes {FORMS}",
            argument=option,
        )
    return OrdersSource(text=text, kind="export", files=(path,), label=path.name)
