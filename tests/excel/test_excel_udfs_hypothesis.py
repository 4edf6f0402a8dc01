"""No input shape or value makes an Excel function raise: every call gives cell values
or an Excel error, in every host, and no input reaches the "unexpected failure" path
(which would mean a bug in retention_xl)."""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retention_xl.excel import convert, hosts, udfs
from retention_xl.excel.hosts import Host

_RAW_ERRORS = [
    {"type": "Error", "basicValue": "#N/A", "errorType": "NotAvailable"},
    {"type": "Error", "basicValue": "#DIV/0!", "errorType": "Div0"},
    {"type": "Error", "basicValue": "#SPILL!", "errorType": "Spill"},
]

# Whatever a cell can hold, as any host passes it.
CELL = st.one_of(
    st.none(),
    st.sampled_from(["", "   "]),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(0, 1),
    st.integers(0, 12),
    st.text(max_size=6),
    st.sampled_from(["12", "1,5", "0.2", "c1", "c2", "month", "revenue", "Q", "eu", "excellent"]),
    st.sampled_from([*sorted(convert.ERROR_CODES), "#SPILL!", "#GETTING_DATA"]),
    st.sampled_from(_RAW_ERRORS),
    st.datetimes(dt.datetime(1899, 1, 1), dt.datetime(2300, 1, 1)),
    st.dates(dt.date(1900, 1, 1), dt.date(2100, 1, 1)),
    st.floats(1, 80_000),  # Excel date serials
)
COLUMN = st.lists(CELL, max_size=12)
GRID = st.lists(st.lists(CELL, min_size=1, max_size=4), max_size=8)  # may be ragged
ARGUMENT = st.one_of(
    CELL,
    COLUMN,
    COLUMN.map(lambda cells: [[c] for c in cells]),
    COLUMN.map(tuple),
    GRID,
    st.lists(GRID, max_size=2),  # deeper than a range
)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def unexpected() -> Iterator[_Records]:
    """Collects the "failed unexpectedly" log records of the conversion layer."""
    handler = _Records()
    logger = logging.getLogger(convert.__name__)
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def _is_cell(value: Any) -> bool:
    if value is None or isinstance(value, (bool, str, dt.date)):
        return True
    return isinstance(value, (int, float)) and math.isfinite(value)


def _check_result(result: Any, host: Host) -> None:
    if isinstance(result, list):
        assert result, "an empty spill"
        assert all(isinstance(row, list) for row in result), result
        width = len(result[0])
        assert width > 0
        assert all(len(row) == width for row in result), "a ragged spill"
        cells = [cell for row in result for cell in row]
    else:
        cells = [result]
    for cell in cells:
        assert _is_cell(cell), f"not a cell value: {cell!r}"
        if isinstance(cell, str):
            assert "Traceback" not in cell
    if isinstance(result, str) and result.startswith("#"):
        code = result.split(" ", 1)[0]
        assert code in convert.ERROR_CODES, result
        if host is Host.OFFICEJS:
            assert result == code, "Office.js hosts get the bare error code"
        else:
            assert len(result) > len(code) + 1, "the error text says what is wrong"


@pytest.fixture
def host_as() -> Iterator[Any]:
    previous = hosts.current_host()
    yield hosts.set_host
    hosts.set_host(previous)


@pytest.mark.parametrize("host", [Host.PYTHON, Host.CLASSIC, Host.OFFICEJS])
@pytest.mark.parametrize("name", list(udfs.REGISTRY))
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_no_input_makes_a_function_raise(name, host, data, host_as, unexpected):
    function = udfs.REGISTRY[name]
    required = sum(not a.optional for a in function.args)
    count = data.draw(st.integers(required, len(function.args)), label="arguments")
    args = [data.draw(ARGUMENT, label=a.name) for a in function.args[:count]]
    host_as(host)
    try:
        result = function.udf(*args)
    except convert.ExcelValueError as exc:
        # Office.js: #VALUE! is raised so that Excel shows the reason on hover
        assert host is Host.OFFICEJS, f"{name} raised {exc!r} outside Office.js"
        assert str(exc).startswith(f"{name}: ")
    else:
        _check_result(result, host)
    assert not unexpected.records, unexpected.records[0].getMessage()
