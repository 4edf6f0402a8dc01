"""The spilled functions (RFM, COHORT, MRR_MOVEMENTS, SURVIVAL) and the benchmark
functions: each host's value shapes, results equal to the core's, every error path."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

from retention_xl.core import benchmarks, cohorts, customers, subscriptions, survival
from retention_xl.excel import convert, hosts, udfs
from retention_xl.excel.hosts import Host

EPOCH = dt.datetime(1899, 12, 30)


@pytest.fixture(autouse=True)
def python_host() -> Iterator[None]:
    previous = hosts.set_host(Host.PYTHON)
    yield
    hosts.set_host(previous)


def make_orders(n: int = 60, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    days = rng.integers(0, 240, n)
    return pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in rng.integers(0, 15, n)],
            "order_id": [str(i + 1) for i in range(n)],
            "order_date": pd.Timestamp("2024-01-01") + pd.to_timedelta(days, unit="D"),
            "amount": np.round(rng.uniform(5, 120, n), 2),
        }
    )


def serial(ts: pd.Timestamp) -> float:
    return (ts.to_pydatetime() - EPOCH).total_seconds() / 86400.0


def host_columns(orders: pd.DataFrame, shape: str) -> tuple[Any, Any, Any]:
    """customer_ids, order_dates, amounts as ``shape``'s host passes three columns."""
    ids = orders["customer_id"].tolist()
    dates = list(orders["order_date"])
    amounts = orders["amount"].tolist()
    if shape == "classic":  # datetimes for date cells, 1-D lists, a trailing blank row
        return (
            [*ids, None],
            [d.to_pydatetime() for d in dates] + [None],
            [*amounts, None],
        )
    if shape == "officejs":  # serial numbers, nested lists
        return [[i] for i in ids], [[serial(d)] for d in dates], [[a] for a in amounts]
    if shape == "raw":  # Office.js payload: 2-D, "" for blanks
        return (
            [[i] for i in ids] + [[""]],
            [[serial(d)] for d in dates] + [[""]],
            [[a] for a in amounts] + [[""]],
        )
    raise AssertionError(shape)


SHAPES = ("classic", "officejs", "raw")


def cell(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    return value


# ---------------------------------------------------------------------------- RFM


@pytest.mark.parametrize("shape", SHAPES)
def test_rfm_equals_the_core(shape: str) -> None:
    orders = make_orders()
    result = udfs.RFM(*host_columns(orders, shape))
    expected = customers.rfm_table(orders)
    assert result[0] == ["customer", "recency", "frequency", "monetary", "R", "F", "M", "segment"]
    assert len(result) == len(expected) + 1
    for row, (cid, rec) in zip(result[1:], expected.iterrows(), strict=True):
        assert row[0] == cid
        assert row[1:7] == [
            cell(rec[c]) for c in ("recency", "frequency", "monetary", "R", "F", "M")
        ]
        assert row[7] == str(rec["segment"])


@pytest.mark.parametrize("as_of", [dt.datetime(2024, 12, 31), 45657.0, [[45657.0]]])
def test_rfm_as_of_as_datetime_or_serial(as_of: Any) -> None:
    orders = make_orders()
    result = udfs.RFM(*host_columns(orders, "officejs"), as_of)
    expected = customers.rfm_table(orders, as_of=pd.Timestamp("2024-12-31"))
    assert [r[1] for r in result[1:]] == expected["recency"].tolist()


# ---------------------------------------------------------------------------- COHORT


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("measure", "period"), [(None, None), ("revenue", "M"), ("customers", "q")]
)
def test_cohort_equals_the_core(shape: str, measure: str | None, period: str | None) -> None:
    orders = make_orders(200)
    ids, dates, amounts = host_columns(orders, shape)
    result = udfs.COHORT(ids, dates, amounts, measure, period)
    kwargs = {"measure": measure or "customers", "period": (period or "M").upper()}
    matrix = cohorts.cohort_matrix(orders, **kwargs)
    sizes = cohorts.cohort_counts(orders, **kwargs)["size"]
    assert result[0] == ["cohort", "size", *range(matrix.shape[1])]
    for row, (label, values) in zip(result[1:], matrix.iterrows(), strict=True):
        assert row[0] == str(label)
        assert row[1] == sizes[label]
        assert row[2:] == [cell(v) for v in values]
    if kwargs["period"] == "M":  # later cohorts are not observable as long: blank cells
        assert any(v is None for row in result[1:] for v in row)


def test_cohort_without_amounts_counts_customers() -> None:
    orders = make_orders(120)
    ids, dates, _ = host_columns(orders, "officejs")
    with_amounts = udfs.COHORT(*host_columns(orders, "officejs"))
    assert udfs.COHORT(ids, dates) == with_amounts
    assert udfs.COHORT(ids, dates, None, "customers") == with_amounts


# ---------------------------------------------------------------------------- MRR_MOVEMENTS


@pytest.mark.parametrize("dates", ["datetime", "serial"])
def test_mrr_movements_equals_the_core(dates: str) -> None:
    rows = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "a", "c", "b"],
            "month": pd.to_datetime(
                ["2024-01-01", "2024-02-01", "2024-02-01", "2024-04-01", "2024-03-01", "2024-03-01"]
            ),
            "mrr": [10.0, 15.0, 20.0, 5.0, 8.0, 12.0],
        }
    )
    months = [
        [m.to_pydatetime() + dt.timedelta(days=9)] if dates == "datetime" else [serial(m) + 9]
        for m in rows["month"]
    ]
    result = udfs.MRR_MOVEMENTS(
        [[c] for c in rows["customer_id"]], months, [[v] for v in rows["mrr"]]
    )
    expected = subscriptions.mrr_movements(rows)
    columns = [
        "starting_mrr", "new", "expansion", "contraction", "churn", "reactivation",
        "ending_mrr", "customers",
    ]  # fmt: skip
    assert result[0] == ["month", *columns]
    assert [r[0] for r in result[1:]] == [m.to_pydatetime() for m in expected.index]
    for row, (_, rec) in zip(result[1:], expected.iterrows(), strict=True):
        assert row[1:] == [cell(rec[c]) for c in columns]


# ---------------------------------------------------------------------------- SURVIVAL


@pytest.mark.parametrize("flags", ["booleans", "numbers"])
def test_survival_equals_the_core(flags: str) -> None:
    durations = [1, 2, 2, 3, 4, None, 6]
    ended = [True, True, False, True, False, None, True]
    cells = [[None if e is None else (e if flags == "booleans" else float(e))] for e in ended]
    result = udfs.SURVIVAL([[d] for d in durations], cells)
    expected = survival.kaplan_meier([1, 2, 2, 3, 4, 6], [True, True, False, True, False, True])
    assert result[0] == ["time", "at_risk", "events", "censored", "survival"]
    assert result[1:] == [[cell(v) for v in rec] for rec in expected.itertuples(index=False)]
    # The product-limit values worked by hand: 6 customers (the blank row is ignored).
    by_hand = [5 / 6, 5 / 6 * 4 / 5, 5 / 6 * 4 / 5 * 2 / 3, 5 / 6 * 4 / 5 * 2 / 3, 0.0]
    assert [r[4] for r in result[1:]] == pytest.approx(by_hand, rel=1e-12)


# ---------------------------------------------------------------------------- BENCHMARK


@pytest.mark.parametrize(
    ("kpi", "value", "market"),
    [("repeat_rate", 0.25, None), ("REPEAT_RATE", [[0.31]], ""), ("clv_cac", 2.7, "us"),
     ("clv_cac", 2.7, [["EU"]]), ("at_risk_share", 0.2, None)],
)  # fmt: skip
def test_benchmark_equals_the_core(kpi: str, value: Any, market: Any) -> None:
    number = convert.number(value, "value")
    expected = benchmarks.rate_kpi(kpi.lower(), number, market=(market and "eu") or "eu")
    if market == "us":
        expected = benchmarks.rate_kpi(kpi, number, market="us")
    assert udfs.BENCHMARK(kpi, value, market) == expected


@pytest.mark.parametrize("level", [None, "average", "healthy", "excellent"])
@pytest.mark.parametrize("kpi", ["repeat_rate", "clv_cac", "at_risk_share"])
def test_benchmark_target_equals_the_core(kpi: str, level: str | None) -> None:
    assert udfs.BENCHMARK_TARGET(kpi, level) == benchmarks.benchmark_target(
        kpi, level or "excellent"
    )


# ---------------------------------------------------------------------------- error paths

ORDERS = make_orders(10)
IDS, DATES, AMOUNTS = host_columns(ORDERS, "officejs")

ERROR_CASES: list[tuple[str, tuple[Any, ...], str, str]] = [
    ("RFM", (IDS, DATES[:-1], AMOUNTS), "#VALUE!", "same number of cells"),
    ("RFM", (IDS, [*DATES[:-1], [None]], AMOUNTS), "#VALUE!", "row 10 of the ranges is incomplete"),
    ("RFM", (IDS, [*DATES[:-1], ["31/01/2024"]], AMOUNTS), "#VALUE!", "not a date"),
    ("RFM", (IDS, DATES, [*AMOUNTS[:-1], ["12,5"]]), "#VALUE!", "stored as text"),
    ("RFM", ([*IDS[:-1], ["#N/A"]], DATES, AMOUNTS), "#N/A", "holds the error"),
    ("RFM", (IDS, [*DATES[:-1], [60.0]], AMOUNTS), "#NUM!", "Lotus"),
    ("RFM", ([[None]], [[None]], [[None]]), "#N/A", "no orders"),
    ("RFM", (IDS, DATES, AMOUNTS, "yesterday"), "#VALUE!", "not a date"),
    ("COHORT", (IDS, DATES, None, "revenue"), "#VALUE!", "needs the amounts"),
    ("COHORT", (IDS, DATES, None, "profit"), "#VALUE!", "must be one of"),
    ("COHORT", (IDS, DATES, None, None, "W"), "#VALUE!", "period"),
    ("COHORT", (IDS, [[True]] * len(IDS)), "#VALUE!", "boolean"),
    ("MRR_MOVEMENTS", ([["a"]], [[45292.0]], [[-5.0]]), "#NUM!", "negative"),
    ("MRR_MOVEMENTS", ([["a"]], [[45292.0]], [["x"]]), "#VALUE!", "text 'x'"),
    ("MRR_MOVEMENTS", ([[None]], [[None]], [[None]]), "#N/A", "no rows"),
    ("SURVIVAL", ([[1.0], [-2.0]], [[True], [False]]), "#NUM!", "negative"),
    ("SURVIVAL", ([[1.0], [2.0]], [[True], ["yes"]]), "#VALUE!", "'yes'"),
    ("SURVIVAL", ([[1.0], [2.0]], [[True], [2.0]]), "#VALUE!", "TRUE/FALSE"),
    ("SURVIVAL", ([[None]], [[None]]), "#N/A", "no customers"),
    ("BENCHMARK", ("churn", 0.2), "#VALUE!", "kpi must be one of"),
    ("BENCHMARK", ("repeat_rate", "20%"), "#VALUE!", "stored as text"),
    ("BENCHMARK", ("repeat_rate", 0.2, "asia"), "#VALUE!", "market"),
    ("BENCHMARK", (None, 0.2), "#VALUE!", "blank"),
    ("BENCHMARK_TARGET", ("repeat_rate", "best"), "#VALUE!", "level"),
]


@pytest.mark.parametrize(("name", "args", "code", "reason"), ERROR_CASES)
def test_table_errors_classic(name: str, args: tuple[Any, ...], code: str, reason: str) -> None:
    hosts.set_host(Host.CLASSIC)
    result = getattr(udfs, name)(*args)
    assert isinstance(result, str)
    assert result.startswith(code + " ")
    assert reason in result


@pytest.mark.parametrize(("name", "args", "code", "reason"), ERROR_CASES)
def test_table_errors_officejs(name: str, args: tuple[Any, ...], code: str, reason: str) -> None:
    hosts.set_host(Host.OFFICEJS)
    if code == "#VALUE!":
        with pytest.raises(convert.ExcelValueError, match=reason.replace("(", r"\(")):
            getattr(udfs, name)(*args)
    else:
        assert getattr(udfs, name)(*args) == code
