"""The interval functions (BGNBD_PALIVE_INTERVAL, BGNBD_PURCHASES_INTERVAL,
BGNBD_PURCHASES_PI, BGNBD_CLV_INTERVAL, BGNBD_TOTALS and the MBG/NBD and BG/BB
companions): each host's value shapes, results
equal to the core's on the ranges' customers, spilled in line with the ranges, the
level argument and its errors, and recalculation from the cache."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from excel_host_shapes import HOST_SHAPES, column_shapes

import retention_xl.core.models as core_models
from retention_xl.core.models import (
    BetaGeo,
    GammaGamma,
    predict_intervals,
    purchases_prediction_interval,
)
from retention_xl.excel import convert, hosts, udfs
from retention_xl.excel.hosts import Host

DATA = Path(__file__).resolve().parents[1] / "data"
BLANK = 5  # a blank row inside the ranges: its results are blank
N = 600


@pytest.fixture(autouse=True)
def python_host() -> Iterator[None]:
    previous = hosts.set_host(Host.PYTHON)
    yield
    hosts.set_host(previous)


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    """The first CDNOW calibration histories (weeks), as a sheet would hold them."""
    frame = pd.read_csv(DATA / "models_lifetimes" / "customers.csv", dtype={"customer_id": str})
    frame["avg_value"] = frame["monetary_value"].where(frame["frequency"] > 0)
    return frame.head(N).reset_index(drop=True)


@pytest.fixture(scope="module")
def models(rows):
    bg = BetaGeo().fit(rows["frequency"], rows["recency"], rows["T"])
    gg = GammaGamma().fit(rows["frequency"], rows["avg_value"])
    return bg, gg


def ranges(rows: pd.DataFrame, names: list[str], shape: str) -> list[Any]:
    """Columns of ``rows`` as a host passes them, with a blank row at BLANK and two
    blank rows below the data."""
    out = []
    for name in names:
        cells: list[Any] = [None if pd.isna(v) else float(v) for v in rows[name]]
        cells.insert(BLANK, None)
        out.append(column_shapes([*cells, None, None])[shape])
    return out


def grid(result: Any) -> np.ndarray:
    return np.array([[np.nan if c is None else c for c in row] for row in result], dtype=float)


def in_line(got: np.ndarray) -> np.ndarray:
    """The rows of the customers (the blank rows must be blank)."""
    assert got.shape[0] == N + 3
    blank = [BLANK, N + 1, N + 2]
    assert np.isnan(got[blank]).all()
    return np.delete(got, blank, axis=0)


HISTORY = ["frequency", "recency", "T"]


@pytest.mark.parametrize("shape", HOST_SHAPES)
def test_palive_interval_equals_the_core(rows, models, shape):
    got = grid(udfs.BGNBD_PALIVE_INTERVAL(*ranges(rows, HISTORY, shape)))
    bg, _ = models
    core = predict_intervals(bg, None, *(rows[c] for c in HISTORY), horizon=0.0).customers
    want = core[["p_alive", "p_alive_low", "p_alive_high"]].to_numpy()
    np.testing.assert_allclose(in_line(got), want, rtol=1e-12)


@pytest.mark.parametrize("shape", HOST_SHAPES)
def test_purchases_interval_and_prediction_interval_equal_the_core(rows, models, shape):
    bg, _ = models
    cols = ranges(rows, HISTORY, shape)
    got = grid(udfs.BGNBD_PURCHASES_INTERVAL(39, *cols, 0.8))
    core = predict_intervals(bg, None, *(rows[c] for c in HISTORY), horizon=39, level=0.8)
    names = ["expected_purchases", "expected_purchases_low", "expected_purchases_high"]
    np.testing.assert_allclose(in_line(got), core.customers[names].to_numpy(), rtol=1e-12)
    pi = in_line(grid(udfs.BGNBD_PURCHASES_PI(39, *cols)))
    low, high = purchases_prediction_interval(bg, 39, *(rows[c] for c in HISTORY))
    np.testing.assert_array_equal(pi, np.column_stack([low, high]))
    # the prediction interval of the count is wider than the interval of its mean
    assert (pi[:, 1] >= in_line(got)[:, 2]).mean() > 0.9


@pytest.mark.parametrize("shape", HOST_SHAPES)
def test_clv_interval_and_totals_equal_the_core(rows, models, shape):
    bg, gg = models
    cols = ranges(rows, [*HISTORY, "avg_value"], shape)
    got = grid(udfs.BGNBD_CLV_INTERVAL(*cols, 104, 0.4, 0.08))
    core = predict_intervals(
        bg, gg, *(rows[c] for c in [*HISTORY, "avg_value"]), horizon=104, margin=0.4,
        discount_rate=0.08, periods_per_year=52,
    )  # fmt: skip
    names = ["predicted_clv", "predicted_clv_low", "predicted_clv_high"]
    np.testing.assert_allclose(in_line(got), core.customers[names].to_numpy(), rtol=1e-12)
    table = udfs.BGNBD_TOTALS(*cols, 104, 0.4, 0.08)
    assert table[0] == ["total", "value", "low", "high"]
    assert [row[0] for row in table[1:]] == list(core.totals.index)
    np.testing.assert_allclose(
        np.array([row[1:] for row in table[1:]], dtype=float), core.totals.to_numpy(), rtol=1e-12
    )


def test_defaults_are_a_year_of_weeks_margin_1_ten_percent_and_90_percent(rows, models):
    bg, gg = models
    cols = ranges(rows, [*HISTORY, "avg_value"], "classic")
    got = in_line(grid(udfs.BGNBD_CLV_INTERVAL(*cols)))
    core = predict_intervals(
        bg, gg, *(rows[c] for c in [*HISTORY, "avg_value"]), horizon=52, discount_rate=0.1
    )
    names = ["predicted_clv", "predicted_clv_low", "predicted_clv_high"]
    np.testing.assert_allclose(got, core.customers[names].to_numpy(), rtol=1e-12)
    assert core.level == 0.9


def test_level_errors_become_excel_values(rows):
    cols = ranges(rows, HISTORY, "classic")
    bad = udfs.BGNBD_PALIVE_INTERVAL(*cols, 1.5)
    assert bad.startswith("#NUM! level must be between 0 and 1")
    assert udfs.BGNBD_PURCHASES_PI(39, *cols, "90%").startswith("#VALUE! level holds the number")
    assert udfs.BGNBD_PURCHASES_INTERVAL(-1, *cols).startswith("#NUM! ")
    hosts.set_host(Host.OFFICEJS)
    assert udfs.BGNBD_TOTALS(*ranges(rows, [*HISTORY, "avg_value"], "raw"), 52, 1, 0.1, 52, 0) == (
        "#NUM!"
    )
    with pytest.raises(convert.ExcelValueError, match="BGNBD_PALIVE_INTERVAL: frequency"):
        udfs.BGNBD_PALIVE_INTERVAL([["x"], [1]], [[0], [1]], [[3], [4]])


def test_no_repeat_buyers_is_not_available():
    assert udfs.BGNBD_PALIVE_INTERVAL([0, 0, 0], [0, 0, 0], [5, 6, 7]).startswith("#N/A")


def test_recalculation_uses_the_cache(rows, monkeypatch):
    """The same ranges again (an edit elsewhere) neither refit nor draw again; the CLV
    and the totals over the same ranges share one computation; a new level draws."""
    calls: list[int] = []
    real = core_models.predict_intervals

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(core_models, "predict_intervals", counting)
    monkeypatch.setattr(udfs, "_RESULT_CACHE", type(udfs._RESULT_CACHE)())
    cols = ranges(rows, [*HISTORY, "avg_value"], "officejs")
    first = udfs.BGNBD_CLV_INTERVAL(*cols)
    assert udfs.BGNBD_CLV_INTERVAL(*[list(c) for c in cols]) == first
    udfs.BGNBD_TOTALS(*cols)
    assert len(calls) == 1
    udfs.BGNBD_TOTALS(*cols, None, None, None, None, 0.5)
    assert len(calls) == 2
    for level in np.linspace(0.05, 0.95, udfs.RESULT_CACHE_SIZE + 3):
        udfs.BGNBD_PALIVE_INTERVAL(*cols[:3], float(level))
    assert len(udfs._RESULT_CACHE) == udfs.RESULT_CACHE_SIZE


# ------------------------------------------------- MBG/NBD and BG/BB companions


@pytest.mark.parametrize("shape", HOST_SHAPES)
def test_mbgnbd_companions_equal_the_core(rows, shape):
    mbg = core_models.ModifiedBetaGeo().fit(*(rows[c] for c in HISTORY))
    cols = ranges(rows, HISTORY, shape)
    history = [rows[c] for c in HISTORY]
    alive = in_line(grid(udfs.MBGNBD_PALIVE_INTERVAL(*cols)))
    core = predict_intervals(mbg, None, *history, horizon=0.0).customers
    np.testing.assert_allclose(
        alive, core[["p_alive", "p_alive_low", "p_alive_high"]].to_numpy(), rtol=1e-12
    )
    got = in_line(grid(udfs.MBGNBD_PURCHASES_INTERVAL(39, *cols, 0.8)))
    core = predict_intervals(mbg, None, *history, horizon=39, level=0.8).customers
    names = ["expected_purchases", "expected_purchases_low", "expected_purchases_high"]
    np.testing.assert_allclose(got, core[names].to_numpy(), rtol=1e-12)
    pi = in_line(grid(udfs.MBGNBD_PURCHASES_PI(39, *cols)))
    low, high = purchases_prediction_interval(mbg, 39, *history)
    np.testing.assert_array_equal(pi, np.column_stack([low, high]))
    # not BG/NBD's numbers: the model is MBG/NBD's
    bg_pi = in_line(grid(udfs.BGNBD_PURCHASES_PI(39, *cols)))
    assert not np.array_equal(pi, bg_pi) or not np.allclose(
        alive, in_line(grid(udfs.BGNBD_PALIVE_INTERVAL(*cols)))
    )


@pytest.fixture(scope="module")
def donors() -> pd.DataFrame:
    """One row per donor of a quarter of the donations data (periods: years)."""
    gifts = pd.read_csv(DATA / "donations" / "donations.csv")
    return gifts.loc[gifts.index.repeat(gifts["weights"])].iloc[::4].reset_index(drop=True)


PERIODS = ["frequency", "recency", "periods"]


@pytest.mark.parametrize("shape", HOST_SHAPES)
def test_bgbb_companions_equal_the_core(donors, shape):
    cols = [column_shapes([*map(float, donors[c]), None])[shape] for c in PERIODS]
    history = [donors[c] for c in PERIODS]
    bgbb = core_models.BetaGeoBetaBinom().fit(*history)

    def customers(result: Any) -> np.ndarray:
        got = grid(result)
        assert got.shape[0] == len(donors) + 1 and np.isnan(got[-1]).all()
        return got[:-1]

    alive = customers(udfs.BGBB_PALIVE_INTERVAL(*cols))
    core = predict_intervals(bgbb, None, *history, horizon=0.0).customers
    np.testing.assert_allclose(
        alive, core[["p_alive", "p_alive_low", "p_alive_high"]].to_numpy(), rtol=1e-12
    )
    assert (alive[:, 1] <= alive[:, 0]).all() and (alive[:, 0] <= alive[:, 2]).all()
    got = customers(udfs.BGBB_PURCHASES_INTERVAL(5, *cols))
    core = predict_intervals(bgbb, None, *history, horizon=5).customers
    names = ["expected_purchases", "expected_purchases_low", "expected_purchases_high"]
    np.testing.assert_allclose(got, core[names].to_numpy(), rtol=1e-12)
    pi = customers(udfs.BGBB_PURCHASES_PI(5, *cols, 0.8))
    low, high = purchases_prediction_interval(bgbb, 5, *history, level=0.8)
    np.testing.assert_array_equal(pi, np.column_stack([low, high]))
    assert pi[:, 1].max() <= 5  # at most one purchase a period


def test_bgbb_companions_name_the_periods_range():
    got = udfs.BGBB_PALIVE_INTERVAL([[1], [0]], [[2], [0]], [["x"], [3]])
    assert got.startswith("#VALUE! periods (cell 1 of the range) must be a number")
    hosts.set_host(Host.OFFICEJS)
    with pytest.raises(convert.ExcelValueError, match="BGBB_PURCHASES_PI: periods"):
        udfs.BGBB_PURCHASES_PI(5, [[1], [0]], [[2], [0]], [["x"], [3]])
