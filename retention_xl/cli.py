"""The ``retention-xl`` command line.

Only this module turns errors into exit codes: a :class:`RetentionError` becomes a
one-line message on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

try:
    import click
except ImportError:  # pragma: no cover - exercised only without the extra
    sys.stderr.write(
        "retention-xl: the command line needs the 'cli' extra: pip install 'retention-xl[all]'\n"
    )
    raise SystemExit(2) from None

from retention_xl import __version__
from retention_xl.errors import RetentionError
from retention_xl.io.cli_options import ExportOptions, export_options, input_files

F = TypeVar("F", bound=Callable[..., Any])


def user_errors(func: F) -> F:
    """Turn package errors (and unreadable files) into one line and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except RetentionError as exc:
            raise click.ClickException(str(exc)) from exc
        except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
            raise click.ClickException(f"{exc.strerror}: {exc.filename}") from exc

    return wrapper  # type: ignore[return-value]


# click's usage errors exit with 2; make ClickException (user errors) do the same.
click.ClickException.exit_code = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="retention-xl")
def main() -> None:
    """Customer-retention analytics for Excel: KPIs, workbooks, refresh, predictions."""


@main.command()
@input_files
@export_options
@click.option("--json", "as_json", is_flag=True, help="Print the import reports as JSON.")
@user_errors
def check(
    orders: Path | None,
    subscriptions: Path | None,
    survey: Path | None,
    export: ExportOptions,
    as_json: bool,
) -> None:
    """Read exports and report what was found (rows, customers, dates, duplicates,
    refunds, currencies), without building anything."""
    inputs = export.load(orders=orders, subscriptions=subscriptions, survey=survey)
    if as_json:
        click.echo(json.dumps(inputs.as_dict(), indent=2, ensure_ascii=False))
    else:
        for line in inputs.lines():
            click.echo(line)


if __name__ == "__main__":  # pragma: no cover
    main()
