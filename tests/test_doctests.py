"""Every example in the package's docstrings runs and prints what it says."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import retention_xl

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(retention_xl.__path__, "retention_xl.")
    if not info.name.endswith("__main__")
)


def test_modules_are_found():
    assert {"retention_xl.core.kpis", "retention_xl.workbook.stylesxml"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
