"""Progress feedback for long commands: a click progress bar, shown only to people.

The bar is drawn on stderr, and only when stdout is a terminal and the command was
not given ``--quiet``: scripts, pipes, ``--json`` output and tests see nothing.

Examples
--------
>>> with progress(range(3), label="Sheets", quiet=True) as steps:
...     total = sum(steps)
>>> total
3
>>> with progress(length=10, quiet=True) as bar:
...     bar.update(10)
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

__all__ = ["Stages", "enabled", "progress"]

T = TypeVar("T")


class _Silent:
    """Stands in for a click progress bar: iterates and ignores updates."""

    def __init__(self, iterable: Iterable[Any] | None) -> None:
        self._iterable = iterable if iterable is not None else ()

    def __iter__(self) -> Iterator[Any]:
        return iter(self._iterable)

    def update(self, n_steps: int, current_item: object = None) -> None:
        """Ignore a step."""


def enabled(*, quiet: bool = False) -> bool:
    """True when a progress bar would be shown (stdout is a TTY and not quiet)."""
    try:
        return not quiet and sys.stdout.isatty()
    except (AttributeError, ValueError):  # closed or replaced stdout
        return False


@contextmanager
def progress(
    iterable: Iterable[T] | None = None,
    *,
    length: int | None = None,
    label: str = "",
    quiet: bool = False,
) -> Iterator[Any]:
    """A progress bar over ``iterable`` (or ``length`` steps with ``.update(n)``).

    Silent unless :func:`enabled`; the object yielded always supports iteration and
    ``update(n)``, so callers never branch on it.
    """
    if not enabled(quiet=quiet):
        yield _Silent(iterable)
        return
    import click

    with click.progressbar(
        iterable, length=length, label=label, file=sys.stderr, show_pos=length is not None
    ) as bar:
        yield bar


class Stages:
    """Announces the steps of a long command on stderr: ``[2/3] Fitting the models``,
    one line per step, so that the command is never silent for long.

    Shown only when :func:`enabled` (a person at a terminal, not ``--quiet``).

    >>> steps = Stages(2, quiet=True)
    >>> steps.step("Reading"); steps.step("Writing")
    >>> steps.done
    2
    """

    def __init__(self, total: int, *, quiet: bool) -> None:
        self.total = total
        self.done = 0
        self.show = enabled(quiet=quiet)

    def step(self, label: str) -> None:
        """Announce the next step."""
        self.done += 1
        if self.show:
            sys.stderr.write(f"[{self.done}/{self.total}] {label}\n")
            sys.stderr.flush()
