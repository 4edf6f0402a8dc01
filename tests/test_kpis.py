"""Table-driven tests of the scalar KPIs: every worked example of FACTS.md section 1
holds exactly, every impossible input raises the right error naming the argument."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import retention_xl as rx
from retention_xl.errors import (
    InputError,
    NotEnoughDataError,
    OutOfRangeError,
    ZeroDenominatorError,
)

# The worked examples of the source articles (FACTS.md section 1): exact.
WORKED_EXAMPLES = [
    (rx.churn_rate, (1000, 50), 0.05),
    (rx.retention_rate, (1000, 1000, 150), 0.85),
    (rx.clv, (50, 4, 5), 1000.0),
    (rx.repeat_purchase_rate, (200, 1000), 0.20),
    (rx.nps, (0.70, 0.10), 60.0),
    (rx.csat, ([5] * 250 + [4] * 150 + [3] * 60 + [1] * 40,), 0.80),
    (rx.mrr, (100, 50), 5000.0),
]


@pytest.mark.parametrize(("func", "args", "expected"), WORKED_EXAMPLES)
def test_worked_examples_hold_exactly(func, args, expected):
    assert func(*args) == pytest.approx(expected, rel=1e-15, abs=1e-12)


FORMULAS = [
    (rx.churn_rate, (200, 0), 0.0),
    (rx.churn_rate, (200, 200), 1.0),
    (rx.retention_rate, (100, 90, 0), 0.9),
    (rx.repeat_purchase_rate, (["a", "b", "a", "c", "c", "c"],), 2 / 3),
    (rx.repeat_purchase_rate, ([1, None, 1, ""],), 1.0),
    (rx.clv, (50, 4, 5, 0.4), 400.0),
    (rx.clv_cac_ratio, (300, 100), 3.0),
    (rx.clv_cac_ratio, (-50, 100), -0.5),
    (rx.nps, ([10, 9, 8, 7, 6, 0],), 0.0),
    (rx.nps, ([10, 10, np.nan],), 100.0),
    (rx.nps, ([0, 1],), -100.0),
    (rx.csat, ([1, 2, 3, 4, 5],), 0.4),
    (rx.csat, ([1, 2, 3, 4, 5], 3), 0.6),
    (rx.mrr, ([20.0, 30.0, None],), 50.0),
    (rx.aov, ([10.0, 20.0, 30.0, np.nan],), 20.0),
    (rx.purchase_frequency, (4000, 1000), 4.0),
    (rx.lifespan, (0.2,), 5.0),
    (rx.lifespan, (1.0,), 1.0),
    (rx.nrr, (10000, 1500, 500, 800), 1.02),
    (rx.grr, (10000, 500, 800), 0.87),
    (rx.quick_ratio, (3000, 1000, 400, 600), 4.0),
    (rx.at_risk_share, ([0.9, 0.2, 0.6, 0.4],), 0.5),
    (rx.at_risk_share, ([0.9, 0.2, 0.6, 0.4], 0.7), 0.75),
]


@pytest.mark.parametrize(("func", "args", "expected"), FORMULAS)
def test_formulas(func, args, expected):
    assert func(*args) == pytest.approx(expected, rel=1e-12)


ERRORS = [
    (rx.churn_rate, (100, 120), OutOfRangeError, "customers_lost"),
    (rx.churn_rate, (-1, 0), OutOfRangeError, "customers_start"),
    (rx.churn_rate, (0, 0), ZeroDenominatorError, "customers_start"),
    (rx.churn_rate, ("100", 5), InputError, "customers_start"),
    (rx.churn_rate, (True, 0), InputError, "customers_start"),
    (rx.retention_rate, (100, 50, 60), OutOfRangeError, "customers_new"),
    (rx.retention_rate, (100, 250, 10), OutOfRangeError, "customers_end"),
    (rx.retention_rate, (0, 0, 0), ZeroDenominatorError, "customers_start"),
    (rx.repeat_purchase_rate, (10, 5), OutOfRangeError, "repeat_customers"),
    (rx.repeat_purchase_rate, ([],), ZeroDenominatorError, "customer_ids"),
    (rx.clv, (50, 4, 5, 60), OutOfRangeError, "gross_margin"),
    (rx.clv, (50, -4, 5), OutOfRangeError, "purchase_frequency"),
    (rx.clv_cac_ratio, (300, 0), ZeroDenominatorError, "cac"),
    (rx.nps, ([11],), OutOfRangeError, "scores"),
    (rx.nps, ([7.5],), OutOfRangeError, "scores"),
    (rx.nps, ([],), NotEnoughDataError, "scores"),
    (rx.nps, ([None, np.nan],), NotEnoughDataError, "scores"),
    (rx.nps, (["ten"],), InputError, "scores"),
    (rx.nps, (70, 10), OutOfRangeError, "promoters_share"),
    (rx.nps, (0.7, 0.4), OutOfRangeError, "detractors_share"),
    (rx.csat, ([0, 5],), OutOfRangeError, "scores"),
    (rx.csat, ([4, 5], 6), OutOfRangeError, "satisfied_min"),
    (rx.mrr, ([10, -5],), OutOfRangeError, "monthly_amounts"),
    (rx.aov, ([],), ZeroDenominatorError, "order_amounts"),
    (rx.purchase_frequency, (10, 0), ZeroDenominatorError, "customers"),
    (rx.lifespan, (0,), ZeroDenominatorError, "churn_rate"),
    (rx.lifespan, (1.5,), OutOfRangeError, "churn_rate"),
    (rx.nrr, (100, 0, 60, 50), OutOfRangeError, "churned"),
    (rx.nrr, (0, 0, 0, 0), ZeroDenominatorError, "start_mrr"),
    (rx.grr, (100, -1, 0), OutOfRangeError, "contraction"),
    (rx.quick_ratio, (10, 0, 0, 0), ZeroDenominatorError, "churned"),
    (rx.at_risk_share, ([1.2],), OutOfRangeError, "p_alive_values"),
    (rx.at_risk_share, ([0.5], 0), OutOfRangeError, "threshold"),
    (rx.at_risk_share, ([0.5], "0.5"), InputError, "threshold"),
    (rx.csat, ([4, 5], "4"), InputError, "satisfied_min"),
    (rx.csat, ([4, 5], True), InputError, "satisfied_min"),
]


@pytest.mark.parametrize(("func", "args", "error", "argument"), ERRORS)
def test_impossible_input_names_the_argument(func, args, error, argument):
    with pytest.raises(error) as info:
        func(*args)
    assert info.value.argument == argument
    assert argument in str(info.value)


def test_zero_denominator_is_a_distinct_error():
    with pytest.raises(ZeroDenominatorError):
        rx.churn_rate(0, 0)
    assert not issubclass(ZeroDenominatorError, OutOfRangeError)
    assert issubclass(ZeroDenominatorError, ZeroDivisionError)


def test_vectorises_over_arrays_and_keeps_series_index():
    out = rx.churn_rate(np.array([100, 200]), np.array([5, 50]))
    np.testing.assert_allclose(out, [0.05, 0.25])
    s = rx.churn_rate(
        pd.Series([100, 200], index=["jan", "feb"]), pd.Series([5, 50], index=["jan", "feb"])
    )
    assert isinstance(s, pd.Series)
    assert list(s.index) == ["jan", "feb"]
    assert rx.clv([50, 60], 4, 5).tolist() == [1000.0, 1200.0]
    assert math.isnan(rx.churn_rate([100, np.nan], [5, 5])[1])


@given(
    start=st.integers(min_value=1, max_value=10**9),
    frac=st.floats(min_value=0, max_value=1),
)
def test_churn_between_zero_and_one(start, frac):
    lost = math.floor(start * frac)
    assert 0.0 <= rx.churn_rate(start, lost) <= 1.0


@given(st.lists(st.integers(min_value=0, max_value=10), min_size=1, max_size=200))
def test_nps_within_bounds_and_matches_counting(scores):
    value = rx.nps(scores)
    assert -100.0 <= value <= 100.0
    promoters = sum(s >= 9 for s in scores) / len(scores)
    detractors = sum(s <= 6 for s in scores) / len(scores)
    assert value == pytest.approx(100 * (promoters - detractors), abs=1e-9)
    assert value == pytest.approx(rx.nps(promoters, detractors), abs=1e-9)


@given(
    start=st.integers(min_value=1, max_value=10**6),
    lost_frac=st.floats(min_value=0, max_value=1),
)
def test_churn_plus_retention_is_one_without_reactivations(start, lost_frac):
    lost = math.floor(start * lost_frac)
    end_without_new = start - lost
    new = 17
    churn = rx.churn_rate(start, lost)
    kept = rx.retention_rate(start, end_without_new + new, new)
    assert churn + kept == pytest.approx(1.0, abs=1e-12)


# Element-wise KPIs: a list, an ndarray or a Series of inputs gives, cell by cell, what
# the scalar calls give (a Series keeps its index).
VECTORISED = [
    (rx.churn_rate, [(1000, 50), (200, 0), (80, 80)]),
    (rx.retention_rate, [(1000, 1000, 150), (100, 90, 0), (50, 60, 20)]),
    (rx.repeat_purchase_rate, [(200, 1000), (0, 5), (7, 7)]),
    (rx.clv, [(50, 4, 5, 1.0), (20, 2, 3, 0.4), (0, 1, 1, 0.5)]),
    (rx.clv_cac_ratio, [(300, 100), (-50, 100), (90, 45)]),
    (rx.nps, [(0.7, 0.1), (0.0, 1.0), (0.3, 0.3)]),
    (rx.mrr, [(100, 50), (0, 10), (3, 9.5)]),
    (rx.purchase_frequency, [(4000, 1000), (0, 3), (7, 2)]),
    (rx.lifespan, [(0.2,), (1.0,), (0.05,)]),
    (rx.nrr, [(10000, 1500, 500, 800), (100, 0, 0, 100), (50, 10, 5, 0)]),
    (rx.grr, [(10000, 500, 800), (100, 0, 100), (50, 5, 0)]),
    (rx.quick_ratio, [(3000, 1000, 400, 600), (0, 0, 1, 0), (10, 5, 0, 3)]),
]


@pytest.mark.parametrize(("func", "rows"), VECTORISED, ids=lambda v: getattr(v, "__name__", ""))
def test_every_elementwise_kpi_vectorises_like_its_scalar_calls(func, rows):
    expected = [func(*row) for row in rows]
    assert all(isinstance(v, float) for v in expected)
    columns = list(zip(*rows, strict=True))
    as_lists = func(*(list(c) for c in columns))
    np.testing.assert_allclose(as_lists, expected, rtol=1e-15)
    as_arrays = func(*(np.array(c) for c in columns))
    assert isinstance(as_arrays, np.ndarray)
    np.testing.assert_allclose(as_arrays, expected, rtol=1e-15)
    index = pd.Index(["a", "b", "c"])
    as_series = func(*(pd.Series(c, index=index) for c in columns))
    assert isinstance(as_series, pd.Series)
    assert list(as_series.index) == list(index)
    np.testing.assert_allclose(as_series.to_numpy(), expected, rtol=1e-15)
    # numpy scalars are numbers too
    assert func(*(np.float64(v) for v in rows[0])) == pytest.approx(expected[0], rel=1e-15)


AGGREGATES = [
    (rx.nps, [10, 9, 8, 7, 3, 0]),
    (rx.csat, [5, 4, 4, 2, 1]),
    (rx.aov, [10.0, 20.5, 30.0]),
    (rx.mrr, [20.0, 30.0, 12.5]),
    (rx.at_risk_share, [0.9, 0.2, 0.6, 0.4]),
    (rx.repeat_purchase_rate, ["a", "b", "a", "c"]),
]


@pytest.mark.parametrize(("func", "values"), AGGREGATES, ids=lambda v: getattr(v, "__name__", ""))
def test_every_aggregate_kpi_takes_lists_arrays_and_series(func, values):
    expected = func(values)
    assert isinstance(expected, float)
    assert func(tuple(values)) == expected
    assert func(np.array(values)) == expected
    assert func(pd.Series(values)) == expected


@given(st.lists(st.sampled_from(["a", "b", "c", "a ", "é", "10", "1", ""]), max_size=60))
def test_count_repeaters_matches_value_counts(ids):
    from retention_xl.core.kpis import count_repeaters

    counts = pd.Series(ids, dtype=object).value_counts()
    got = count_repeaters(np.array(ids, dtype=object))
    assert got == (int((counts >= 2).sum()), len(counts))


def test_count_repeaters_does_not_trust_the_ids_own_hash():
    from retention_xl.core.kpis import count_repeaters

    class Colliding(str):
        def __hash__(self) -> int:
            return 7

    ids = np.array([Colliding(s) for s in ["x", "y", "x", "z", "y", "x"]], dtype=object)
    assert count_repeaters(ids) == (2, 3)
