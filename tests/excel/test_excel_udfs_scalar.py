"""The scalar Excel functions: every host's value shapes, results equal to the core's,
and every error path as each host shows it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from excel_host_shapes import HOST_SHAPES, column_shapes, scalar_shapes

from retention_xl.core import kpis
from retention_xl.excel import convert, hosts, udfs
from retention_xl.excel.hosts import Host


@pytest.fixture
def host() -> Iterator[Callable[[Host], None]]:
    previous = hosts.current_host()
    yield lambda h: hosts.set_host(h) and None
    hosts.set_host(previous)


@pytest.fixture(autouse=True)
def python_host() -> Iterator[None]:
    previous = hosts.set_host(Host.PYTHON)
    yield
    hosts.set_host(previous)


# (Excel function, arguments, core twin call); the expected value is the core's.
SCALAR_CASES: list[tuple[str, tuple[Any, ...], Callable[[], float]]] = [
    ("CHURN", (1000, 50), lambda: kpis.churn_rate(1000, 50)),
    ("RETENTION", (1000, 1000, 150), lambda: kpis.retention_rate(1000, 1000, 150)),
    ("REPEAT_RATE", (200, 1000), lambda: kpis.repeat_purchase_rate(200, 1000)),
    ("CLV", (50, 4, 5), lambda: kpis.clv(50, 4, 5)),
    ("CLV", (50, 4, 5, 0.6), lambda: kpis.clv(50, 4, 5, 0.6)),
    ("CLV_CAC", (300, 100), lambda: kpis.clv_cac_ratio(300, 100)),
    ("NPS", (0.7, 0.1), lambda: kpis.nps(0.7, 0.1)),
    ("MRR", (100, 50), lambda: kpis.mrr(100, 50)),
    ("PURCHASE_FREQ", (4000, 1000), lambda: kpis.purchase_frequency(4000, 1000)),
    ("LIFESPAN", (0.2,), lambda: kpis.lifespan(0.2)),
    ("NRR", (10000, 1500, 500, 800), lambda: kpis.nrr(10000, 1500, 500, 800)),
    ("GRR", (10000, 500, 800), lambda: kpis.grr(10000, 500, 800)),
    ("QUICK_RATIO", (3000, 1000, 400, 600), lambda: kpis.quick_ratio(3000, 1000, 400, 600)),
]


def call(name: str, *args: Any) -> Any:
    return getattr(udfs, name)(*args)


@pytest.mark.parametrize("shape", HOST_SHAPES)
@pytest.mark.parametrize(("name", "args", "core"), SCALAR_CASES)
def test_scalar_functions_equal_the_core_in_every_host_shape(
    name: str, args: tuple[Any, ...], core: Callable[[], float], shape: str
) -> None:
    result = call(name, *(scalar_shapes(a)[shape] for a in args))
    assert isinstance(result, float)
    assert result == pytest.approx(core(), rel=1e-15)


def _parse_example(formula: str) -> tuple[str, list[Any]]:
    """``=CLV(50, 4, {1, 2}, "eu")`` -> ("CLV", [50.0, 4.0, [[1.0], [2.0]], "eu"])."""
    name, _, rest = formula.lstrip("=").partition("(")
    body = rest.rstrip(")")
    args: list[Any] = []
    depth, current = 0, ""
    for char in body + ",":
        if char == "," and depth == 0:
            token = current.strip()
            if token.startswith("{"):
                args.append([[float(x)] for x in token.strip("{}").split(",")])
            elif token.startswith('"'):
                args.append(token.strip('"'))
            else:
                args.append(float(token))
            current = ""
            continue
        depth += char == "{"
        depth -= char == "}"
        current += char
    return name, args


EXAMPLES = [f for f in udfs.REGISTRY.values() if not f.spills]


@pytest.mark.parametrize("function", EXAMPLES, ids=[f.name for f in EXAMPLES])
def test_every_listed_example_gives_its_listed_result(function: Any) -> None:
    name, args = _parse_example(function.example)
    assert name == function.name
    result = call(name, *args)
    if function.example_result.startswith("≈ "):
        # Rounded in the listing: the result rounds to the digits shown.
        shown = function.example_result[2:]
        decimals = len(shown.partition(".")[2])
        assert isinstance(result, float) and round(result, decimals) == float(shown)
        return
    try:
        expected: Any = float(function.example_result)
    except ValueError:
        assert result == function.example_result
    else:
        assert result == pytest.approx(expected, rel=1e-12)


def test_worked_examples_from_the_articles() -> None:
    assert call("CHURN", 1000.0, 50.0) == pytest.approx(0.05)
    assert call("RETENTION", 1000.0, 1000.0, 150.0) == pytest.approx(0.85)
    assert call("CLV", 50.0, 4.0, 5.0) == pytest.approx(1000.0)
    assert call("REPEAT_RATE", 200.0, 1000.0) == pytest.approx(0.2)
    assert call("NPS", 0.7, 0.1) == pytest.approx(60.0)
    assert call("MRR", 100.0, 50.0) == pytest.approx(5000.0)
    assert call("CSAT", [[5.0]] * 400 + [[2.0]] * 100) == pytest.approx(0.8)


def test_optional_arguments_left_out_or_blank_take_their_default() -> None:
    expected = kpis.clv(50, 4, 5, 1.0)
    assert call("CLV", 50, 4, 5) == expected
    for blank in (None, "", [[None]], [[""]]):
        assert call("CLV", 50, 4, 5, blank) == expected
        assert call("CSAT", [[4], [2]], blank) == kpis.csat([4, 2])
        assert call("AT_RISK", [[0.4], [0.9]], blank) == kpis.at_risk_share([0.4, 0.9])


# ---------------------------------------------------------------------------- range forms

RANGE_CASES: list[tuple[str, list[Any], Callable[[list[float]], float], tuple[Any, ...]]] = [
    ("NPS", [10, 9, None, 8, 3, 0], lambda v: kpis.nps(v), ()),
    ("CSAT", [5, 4, None, 2, 1], lambda v: kpis.csat(v), ()),
    ("CSAT", [5, 4, None, 2, 1], lambda v: kpis.csat(v, 5), (5,)),
    ("AOV", [10, 20.5, None, 30], lambda v: kpis.aov(v), ()),
    ("MRR", [20, None, 30.5], lambda v: kpis.mrr(v), ()),
    ("AT_RISK", [0.9, 0.2, None, 0.6, 0.4], lambda v: kpis.at_risk_share(v), ()),
    ("AT_RISK", [0.9, 0.2, 0.6, 0.4], lambda v: kpis.at_risk_share(v, 0.7), (0.7,)),
]


@pytest.mark.parametrize("shape", [*HOST_SHAPES, "row"])
@pytest.mark.parametrize(("name", "cells", "core", "extra"), RANGE_CASES)
def test_range_functions_ignore_blanks_and_equal_the_core(
    name: str, cells: list[Any], core: Callable[[list[float]], float], extra: tuple, shape: str
) -> None:
    numbers = [float(c) for c in cells if c is not None]
    result = call(name, column_shapes(cells)[shape], *extra)
    assert result == pytest.approx(core(numbers), rel=1e-15)


@pytest.mark.parametrize("shape", [*HOST_SHAPES, "row"])
def test_repeat_rate_from_customer_ids_equals_the_core(shape: str) -> None:
    cells = ["a", "b", "a", None, 17, 17.0, " b", "c", "17"]
    expected = kpis.repeat_purchase_rate(["a", "b", "a", "17", "17", "b", "c", "17"])
    assert call("REPEAT_RATE", column_shapes(cells)[shape]) == pytest.approx(expected)


def test_repeat_rate_ids_random_equals_core() -> None:
    rng = np.random.default_rng(3)
    raw = [f"C{i}" for i in rng.integers(0, 50, 300)]
    assert call("REPEAT_RATE", [[c] for c in raw]) == pytest.approx(kpis.repeat_purchase_rate(raw))


# ---------------------------------------------------------------------------- lifting


def test_ranges_spill_one_result_per_row_like_excel_arithmetic() -> None:
    start = [1000, 800, None, 500]
    lost = [50, 80, 10, 0]
    result = call(
        "CHURN", column_shapes(start)["officejs-ndim2"], column_shapes(lost)["officejs-ndim2"]
    )
    assert result == [[0.05], [0.1], [None], [0.0]]


def test_lifted_range_with_a_single_cell_broadcasts() -> None:
    result = call("CLV", [[50.0, 60.0]], 4.0, 5.0, [[0.5]])
    assert result == [[kpis.clv(50, 4, 5, 0.5), kpis.clv(60, 4, 5, 0.5)]]


def test_lifted_ranges_of_different_shapes_are_value_errors() -> None:
    result = call("CHURN", [[1000.0], [900.0]], [[1.0], [2.0], [3.0]])
    assert result.startswith("#VALUE! the ranges have different shapes")


def test_lifted_range_error_stays_in_its_row() -> None:
    """Classic xlwings: the bad row holds the documented error text, the others compute."""
    result = call("CHURN", [[1000.0], [10.0], [200.0]], [[50.0], [20.0], ["x"]])
    assert result[0] == [0.05]
    assert result[1][0].startswith(
        "#NUM! customers_lost (20.0) cannot exceed customers_start (10.0)"
    )
    assert result[2][0].startswith("#VALUE! customers_lost (cell 3 of the range) must be a number")
    whole = call("CHURN", [[1.0, 2.0]], [[1.0], [2.0], [3.0]])  # broadcast: cell by cell
    assert whole[0] == [1.0, 0.5] and whole[1][1] == 1.0
    assert whole[1][0].startswith("#NUM!") and whole[2][0].startswith("#NUM!")


# ---------------------------------------------------------------------------- error paths

# (function, arguments, Excel error, words the reason must contain)
ERROR_CASES: list[tuple[str, tuple[Any, ...], str, str]] = [
    ("CHURN", (0, 0), "#DIV/0!", "customers_start is zero"),
    ("CHURN", (100, 150), "#NUM!", "cannot exceed"),
    ("CHURN", (-1, 0), "#NUM!", "negative"),
    ("CHURN", ("100", 5), "#VALUE!", "stored as text"),
    ("CHURN", (None, 5), "#VALUE!", "blank"),
    ("CHURN", (True, 5), "#VALUE!", "boolean"),
    ("CHURN", ("#N/A", 5), "#N/A", "holds the error #N/A"),
    ("RETENTION", (1000, 100, 150), "#NUM!", "customers_new"),
    ("RETENTION", (0, 0, 0), "#DIV/0!", "zero"),
    ("REPEAT_RATE", (300, 200), "#NUM!", "cannot exceed"),
    ("REPEAT_RATE", (0, 0), "#DIV/0!", "zero"),
    ("REPEAT_RATE", ([[None], [""]],), "#DIV/0!", "customer_ids is empty"),
    ("REPEAT_RATE", ([["a"], [True]],), "#VALUE!", "boolean"),
    ("CLV", (50, 4, 5, 60), "#NUM!", "fraction"),
    ("CLV", (50, "abc", 5), "#VALUE!", "text 'abc'"),
    ("CLV_CAC", (300, 0), "#DIV/0!", "cac is zero"),
    ("NPS", ([[11.0], [9.0]],), "#NUM!", "0 to 10"),
    ("NPS", ([[None], [""]],), "#N/A", "no answers"),
    ("NPS", ([[9.0], ["9"]],), "#VALUE!", "'9' stored as text"),
    ("NPS", ([[9.0], ["#DIV/0!"]],), "#DIV/0!", "holds the error"),
    ("NPS", (0.8, 0.3), "#NUM!", "cannot exceed 1"),
    ("NPS", (70, 10), "#NUM!", "0.7 for 70"),
    ("CSAT", ([[6.0]],), "#NUM!", "scale"),
    ("CSAT", ([[4.0]], 7), "#NUM!", "satisfied_min"),
    ("CSAT", ([[4.0]], [[4.0], [5.0]]), "#VALUE!", "one cell"),
    ("MRR", ([[20.0], [-5.0]],), "#NUM!", "negative"),
    ("AOV", ([[None]],), "#DIV/0!", "no orders"),
    ("AOV", ([["ten"]],), "#VALUE!", "'ten'"),
    ("PURCHASE_FREQ", (10, 0), "#DIV/0!", "zero"),
    ("LIFESPAN", (0,), "#DIV/0!", "zero"),
    ("LIFESPAN", (1.5,), "#NUM!", "fraction"),
    ("NRR", (1000, 0, 600, 600), "#NUM!", "cannot exceed"),
    ("NRR", (0, 0, 0, 0), "#DIV/0!", "zero"),
    ("GRR", (0, 0, 0), "#DIV/0!", "zero"),
    ("QUICK_RATIO", (100, 0, 0, 0), "#DIV/0!", "nothing was lost"),
    ("AT_RISK", ([[1.5]],), "#NUM!", "probabilities"),
    ("AT_RISK", ([[0.5]], 0), "#NUM!", "threshold"),
    ("AT_RISK", ([[None]],), "#N/A", "no answers"),
]


@pytest.mark.parametrize(("name", "args", "code", "reason"), ERROR_CASES)
def test_errors_classic_host_returns_the_error_text_with_reason(
    name: str, args: tuple[Any, ...], code: str, reason: str, host: Callable[[Host], None]
) -> None:
    host(Host.CLASSIC)
    result = call(name, *args)
    assert isinstance(result, str)
    assert result.startswith(code + " ")
    assert reason in result
    assert "Traceback" not in result


@pytest.mark.parametrize(("name", "args", "code", "reason"), ERROR_CASES)
def test_errors_officejs_host_gets_real_error_values(
    name: str, args: tuple[Any, ...], code: str, reason: str, host: Callable[[Host], None]
) -> None:
    host(Host.OFFICEJS)
    if code == "#VALUE!":
        with pytest.raises(convert.ExcelValueError) as info:
            call(name, *args)
        assert str(info.value).startswith(f"{name}: ")
        assert reason in str(info.value)
    else:
        assert call(name, *args) == code


def test_error_cells_in_raw_office_js_payload_propagate() -> None:
    raw = column_shapes([9.0, "#N/A", 3.0])["raw"]
    assert call("NPS", raw).startswith("#N/A ")
