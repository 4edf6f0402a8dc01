"""The optional dependencies of the engines: DuckDB and pyarrow (the ``lake`` extra)."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Final

from retention_xl.errors import InputError

__all__ = ["LAKE_EXTRA", "require_lake"]

#: how to install what the DuckDB engine and the Parquet/DuckDB sources need
LAKE_EXTRA: Final = "pip install 'retention-xl[lake]'"


def require_lake(what: str = "the DuckDB engine") -> tuple[ModuleType, ModuleType]:
    """``(duckdb, pyarrow)``, or an :class:`~retention_xl.errors.InputError` naming the extra.

    ``what`` says what needed them (\"reading Parquet files\", ...).
    """
    missing = []
    modules = []
    for name in ("duckdb", "pyarrow"):
        try:
            modules.append(importlib.import_module(name))
        except ImportError:
            missing.append(name)
    if missing:
        raise InputError(
            f"{what} needs {' and '.join(missing)}, which come with the 'lake' extra: {LAKE_EXTRA}",
            argument="engine",
        )
    importlib.import_module("pyarrow.parquet")
    return modules[0], modules[1]
