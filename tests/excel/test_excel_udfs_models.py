"""The model functions (BGNBD_FIT, PALIVE, PREDICT_PURCHASES, GG_FIT, PREDICT_CLV,
SBG_FIT, SBG_RETENTION, the MBGNBD_* and BGBB_* ones): each host's value shapes,
results equal to the core's, and the error paths."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from excel_host_shapes import HOST_SHAPES, column_shapes, scalar_shapes

from retention_xl.core.kpis import at_risk_share
from retention_xl.core.models import (
    BetaGeo,
    BetaGeoBetaBinom,
    GammaGamma,
    ModifiedBetaGeo,
    ShiftedBetaGeometric,
    predict_clv,
)
from retention_xl.excel import convert, hosts, udfs
from retention_xl.excel.hosts import Host

DATA = Path(__file__).resolve().parents[1] / "data"
BG = (0.243, 4.414, 0.793, 2.426)
GG = (6.25, 3.74, 15.44)
SURVIVORS = [1000, 631, 468, 382, 326, 289, 262, 241]
MBG = (0.525, 6.183, 0.891, 1.614)  # MBG/NBD on CDNOW (our fit, as lifetimes')
BGBB = (1.204, 0.750, 0.657, 2.783)  # Fader, Hardie & Shang (2010), donations


@pytest.fixture(autouse=True)
def python_host() -> Iterator[None]:
    previous = hosts.set_host(Host.PYTHON)
    yield
    hosts.set_host(previous)


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    """The CDNOW calibration histories (weeks), as a sheet would hold them."""
    frame = pd.read_csv(DATA / "models_lifetimes" / "customers.csv", dtype={"customer_id": str})
    frame["avg_value"] = frame["monetary_value"].where(frame["frequency"] > 0)
    return frame


@pytest.fixture(scope="module")
def gifts() -> pd.DataFrame:
    """The donations table of Fader, Hardie & Shang (2010): 22 histories with counts."""
    return pd.read_csv(DATA / "donations" / "donations.csv")


def column(values: Any, shape: str) -> Any:
    return column_shapes([None if pd.isna(v) else float(v) for v in values])[shape]


def spilled(result: Any) -> np.ndarray:
    """A spilled column (or row) of results as floats, blanks as NaN."""
    return np.array([np.nan if c is None else c for row in result for c in row], dtype=float)


def fit_values(table: list[list[Any]]) -> dict[str, float]:
    assert table[0] == ["parameter", "value", "se", "lower_95", "upper_95"]
    return {row[0]: row[1] for row in table[1:]}


# ---------------------------------------------------------------------------- fits


@pytest.mark.parametrize("shape", HOST_SHAPES)
def test_bgnbd_fit_spills_the_core_parameters(cdnow, shape):
    rows = cdnow.head(800)
    # A trailing blank row, as when a range reaches past the data.
    args = [column([*rows[c], None], shape) for c in ("frequency", "recency", "T")]
    table = udfs.BGNBD_FIT(*args)
    core = BetaGeo().fit(rows["frequency"], rows["recency"], rows["T"])
    got = fit_values(table)
    assert list(got) == ["r", "alpha", "a", "b", "log_likelihood"]
    np.testing.assert_allclose([got[k] for k in ("r", "alpha", "a", "b")], core.params_, rtol=1e-9)
    assert got["log_likelihood"] == pytest.approx(core.log_likelihood_, rel=1e-12)


def test_bgnbd_fit_on_all_of_cdnow_gives_the_published_values(cdnow):
    got = fit_values(
        udfs.BGNBD_FIT(*(column(cdnow[c], "classic") for c in ("frequency", "recency", "T")))
    )
    assert [round(got[k], 3) for k in ("r", "alpha", "a", "b")] == list(BG)
    assert got["log_likelihood"] == pytest.approx(-9582.4, abs=0.1)


@pytest.mark.parametrize("shape", HOST_SHAPES)
def test_gg_fit_ignores_customers_without_repeat_purchases(cdnow, shape):
    table = udfs.GG_FIT(column(cdnow["frequency"], shape), column(cdnow["avg_value"], shape))
    got = fit_values(table)
    core = GammaGamma().fit(cdnow["frequency"], cdnow["avg_value"])
    np.testing.assert_allclose([got[k] for k in ("p", "q", "gamma")], core.params_, rtol=1e-9)
    assert [round(got[k], 2) for k in ("p", "q", "gamma")] == list(GG)


@pytest.mark.parametrize("shape", [*HOST_SHAPES, "row"])
def test_sbg_fit_and_retention(shape):
    table = udfs.SBG_FIT(column_shapes([*SURVIVORS, None])[shape])
    got = fit_values(table)
    core = ShiftedBetaGeometric().fit(SURVIVORS)
    assert got["alpha"] == pytest.approx(core.params_["alpha"], rel=1e-12)
    assert got["beta"] == pytest.approx(core.params_["beta"], rel=1e-12)
    assert (round(got["alpha"], 3), round(got["beta"], 3)) == (0.704, 1.182)


@pytest.mark.parametrize("shape", HOST_SHAPES)
def test_sbg_retention_spills_the_survival_curve(shape):
    args = [scalar_shapes(v)[shape] for v in (0.704, 1.182, 12)]
    table = udfs.SBG_RETENTION(*args)
    assert table[0] == ["period", "survival", "retention_rate"]
    assert [row[0] for row in table[1:]] == list(range(13))
    core = ShiftedBetaGeometric.from_params(alpha=0.704, beta=1.182)
    np.testing.assert_allclose([row[1] for row in table[1:]], core.survival(np.arange(13)))
    assert table[1][2] is None
    np.testing.assert_allclose([row[2] for row in table[2:]], core.retention_rate(np.arange(1, 13)))


# ---------------------------------------------------------------------------- per customer


@pytest.mark.parametrize("shape", HOST_SHAPES)
def test_palive_and_purchases_on_single_cells(shape):
    history = (2, 30.43, 38.86)
    core = BetaGeo.from_params(r=BG[0], alpha=BG[1], a=BG[2], b=BG[3])
    cells = [scalar_shapes(v)[shape] for v in (*history, *BG)]
    result = udfs.PALIVE(*cells)
    assert isinstance(result, float)
    assert result == pytest.approx(core.p_alive(*history)[0], rel=1e-14)
    result = udfs.PREDICT_PURCHASES(scalar_shapes(39)[shape], *cells)
    assert result == pytest.approx(core.expected_purchases(39, *history)[0], rel=1e-14)


@pytest.mark.parametrize("shape", [*HOST_SHAPES, "row"])
def test_palive_and_purchases_on_whole_columns(cdnow, shape):
    rows = cdnow.head(300)
    cols = [column([*rows[c], None], shape) for c in ("frequency", "recency", "T")]
    core = BetaGeo.from_params(r=BG[0], alpha=BG[1], a=BG[2], b=BG[3])
    expected = core.p_alive(rows["frequency"], rows["recency"], rows["T"])
    result = udfs.PALIVE(*cols, *BG)
    assert (len(result), len(result[0])) == ((1, 301) if shape == "row" else (301, 1))
    flat = spilled(result)
    np.testing.assert_allclose(flat[:-1], expected, rtol=1e-14)
    assert np.isnan(flat[-1])  # the blank row gives a blank
    flat = spilled(udfs.PREDICT_PURCHASES(52, *cols, *BG))
    np.testing.assert_allclose(
        flat[:300], core.expected_purchases(52, rows["frequency"], rows["recency"], rows["T"])
    )


def test_at_risk_works_on_palive_output(cdnow):
    cols = [column(cdnow[c], "classic") for c in ("frequency", "recency", "T")]
    p_alive = udfs.PALIVE(*cols, *BG)
    core = BetaGeo.from_params(r=BG[0], alpha=BG[1], a=BG[2], b=BG[3])
    expected = at_risk_share(core.p_alive(cdnow["frequency"], cdnow["recency"], cdnow["T"]))
    assert udfs.AT_RISK(p_alive) == pytest.approx(expected)
    assert udfs.AT_RISK(p_alive, 0.7) == pytest.approx(at_risk_share(spilled(p_alive), 0.7))


@pytest.mark.parametrize("shape", HOST_SHAPES)
def test_predict_clv_equals_the_core(cdnow, shape):
    rows = cdnow.head(200)
    cols = [column(rows[c], shape) for c in ("frequency", "recency", "T", "avg_value")]
    result = udfs.PREDICT_CLV(*cols, *BG, *GG, 104, 0.4, 0.08)
    bg = BetaGeo.from_params(r=BG[0], alpha=BG[1], a=BG[2], b=BG[3])
    gg = GammaGamma.from_params(p=GG[0], q=GG[1], gamma=GG[2])
    expected = predict_clv(
        bg, gg, rows["frequency"], rows["recency"], rows["T"], rows["avg_value"],
        horizon=104, margin=0.4, discount_rate=0.08, periods_per_year=52,
    )  # fmt: skip
    np.testing.assert_allclose(spilled(result), expected, rtol=1e-13)
    # Defaults: a year of weeks, margin 1, 10 % a year.
    single = udfs.PREDICT_CLV(2, 30.43, 38.86, 22.35, *BG, *GG)
    default = predict_clv(bg, gg, 2, 30.43, 38.86, 22.35, horizon=52, discount_rate=0.1)
    assert single == pytest.approx(default[0], rel=1e-14)


# ---------------------------------------------------------------------------- MBG/NBD, BG/BB


@pytest.mark.parametrize("shape", HOST_SHAPES)
def test_mbgnbd_fit_spills_the_core_parameters(cdnow, shape):
    rows = cdnow.head(800)
    args = [column([*rows[c], None], shape) for c in ("frequency", "recency", "T")]
    table = udfs.MBGNBD_FIT(*args)
    core = ModifiedBetaGeo().fit(rows["frequency"], rows["recency"], rows["T"])
    got = fit_values(table)
    assert list(got) == ["r", "alpha", "a", "b", "log_likelihood"]
    np.testing.assert_allclose([got[k] for k in ("r", "alpha", "a", "b")], core.params_, rtol=1e-9)
    assert got["log_likelihood"] == pytest.approx(core.log_likelihood_, rel=1e-12)
    for name, value, se, lower, upper in table[1:-1]:
        row = core.summary.loc[name]
        assert (value, se, lower, upper) == pytest.approx(
            (row["coef"], row["se"], row["lower_95"], row["upper_95"]), rel=1e-9
        )


def test_mbgnbd_fit_on_all_of_cdnow(cdnow):
    got = fit_values(
        udfs.MBGNBD_FIT(*(column(cdnow[c], "classic") for c in ("frequency", "recency", "T")))
    )
    assert [round(got[k], 3) for k in ("r", "alpha", "a", "b")] == list(MBG)


@pytest.mark.parametrize("shape", [*HOST_SHAPES, "row"])
def test_mbgnbd_palive_and_purchases_on_whole_columns(cdnow, shape):
    rows = cdnow.head(300)
    cols = [column([*rows[c], None], shape) for c in ("frequency", "recency", "T")]
    core = ModifiedBetaGeo.from_params(r=MBG[0], alpha=MBG[1], a=MBG[2], b=MBG[3])
    history = (rows["frequency"], rows["recency"], rows["T"])
    result = udfs.MBGNBD_PALIVE(*cols, *MBG)
    assert (len(result), len(result[0])) == ((1, 301) if shape == "row" else (301, 1))
    flat = spilled(result)
    np.testing.assert_allclose(flat[:-1], core.p_alive(*history), rtol=1e-14)
    assert np.isnan(flat[-1])
    flat = spilled(udfs.MBGNBD_PREDICT_PURCHASES(52, *cols, *MBG))
    np.testing.assert_allclose(flat[:300], core.expected_purchases(52, *history), rtol=1e-14)
    # one-time buyers are not all alive, unlike BG/NBD's PALIVE
    once = rows["frequency"].to_numpy() == 0
    assert (flat[:300][once] < spilled(udfs.PREDICT_PURCHASES(52, *cols, *BG))[:300][once]).all()
    assert (spilled(result)[:-1][once] < 1).all()


@pytest.mark.parametrize("shape", HOST_SHAPES)
def test_mbgnbd_functions_on_single_cells(shape):
    history = (2, 30.43, 38.86)
    core = ModifiedBetaGeo.from_params(r=MBG[0], alpha=MBG[1], a=MBG[2], b=MBG[3])
    cells = [scalar_shapes(v)[shape] for v in (*history, *MBG)]
    result = udfs.MBGNBD_PALIVE(*cells)
    assert isinstance(result, float)
    assert result == pytest.approx(core.p_alive(*history)[0], rel=1e-14)
    assert round(result, 4) == 0.7062  # the registry's example
    result = udfs.MBGNBD_PREDICT_PURCHASES(scalar_shapes(39)[shape], *cells)
    assert result == pytest.approx(core.expected_purchases(39, *history)[0], rel=1e-14)
    assert round(result, 3) == 1.263


@pytest.mark.parametrize("shape", HOST_SHAPES)
def test_bgbb_fit_with_counts_gives_the_published_donations_values(gifts, shape):
    args = [column([*gifts[c], None], shape) for c in ("frequency", "recency", "periods")]
    table = udfs.BGBB_FIT(*args, column([*gifts["weights"], None], shape))
    got = fit_values(table)
    assert list(got) == ["alpha", "beta", "gamma", "delta", "log_likelihood"]
    assert [round(got[k], 3) for k in ("alpha", "beta", "gamma", "delta")] == list(BGBB)
    assert got["log_likelihood"] == pytest.approx(-33_225.6, abs=0.1)
    core = BetaGeoBetaBinom().fit(
        gifts["frequency"], gifts["recency"], gifts["periods"], weights=gifts["weights"]
    )
    for name, value, se, lower, upper in table[1:-1]:
        row = core.summary.loc[name]
        assert (value, se, lower, upper) == pytest.approx(
            (row["coef"], row["se"], row["lower_95"], row["upper_95"]), rel=1e-9
        )


def test_bgbb_fit_one_row_per_customer(gifts):
    rows = gifts.loc[gifts.index.repeat(gifts["weights"])].iloc[::4]  # 2,776 donors
    cols = [column(rows[c], "classic") for c in ("frequency", "recency", "periods")]
    got = fit_values(udfs.BGBB_FIT(*cols))
    core = BetaGeoBetaBinom().fit(rows["frequency"], rows["recency"], rows["periods"])
    np.testing.assert_allclose([got[k] for k in core.param_names], core.params_, rtol=1e-9)
    # a blank weights range is the same as none
    assert udfs.BGBB_FIT(*cols, [None] * len(rows)) == udfs.BGBB_FIT(*cols)


@pytest.mark.parametrize("shape", [*HOST_SHAPES, "row"])
def test_bgbb_palive_and_purchases_on_whole_columns(gifts, shape):
    cols = [column([*gifts[c], None], shape) for c in ("frequency", "recency", "periods")]
    core = BetaGeoBetaBinom.from_params(alpha=BGBB[0], beta=BGBB[1], gamma=BGBB[2], delta=BGBB[3])
    history = (gifts["frequency"], gifts["recency"], gifts["periods"])
    result = udfs.BGBB_PALIVE(*cols, *BGBB)
    assert (len(result), len(result[0])) == ((1, 23) if shape == "row" else (23, 1))
    flat = spilled(result)
    np.testing.assert_allclose(flat[:-1], core.p_alive(*history), rtol=1e-14)
    assert np.isnan(flat[-1])
    flat = spilled(udfs.BGBB_PREDICT_PURCHASES(5, *cols, *BGBB))
    np.testing.assert_allclose(flat[:-1], core.expected_purchases(5, *history), rtol=1e-14)
    single = udfs.BGBB_PALIVE(3, 5, 6, *BGBB)
    assert round(single, 4) == 0.7667  # the registry's examples
    assert round(udfs.BGBB_PREDICT_PURCHASES(5, 3, 5, 6, *BGBB), 3) == 1.804


def test_new_model_errors_become_excel_values():
    assert udfs.MBGNBD_PALIVE(2, 40, 38, *MBG).startswith("#NUM! age")
    assert udfs.MBGNBD_FIT([0, 0, 0], [0, 0, 0], [5, 6, 7]).startswith("#N/A ")
    assert udfs.BGBB_PALIVE(3, 2, 6, *BGBB).startswith("#NUM! frequency must be <= recency")
    assert udfs.BGBB_PALIVE(1, 7, 6, *BGBB).startswith("#NUM! periods")
    assert udfs.BGBB_PREDICT_PURCHASES(1.5, 1, 1, 6, *BGBB).startswith("#NUM! t must be")
    assert udfs.BGBB_PALIVE(1, 1, 6, -1.0, *BGBB[1:]).startswith("#NUM! ")
    assert udfs.BGBB_FIT([0, 0], [0, 0], [6, 6]).startswith("#N/A ")
    assert udfs.BGBB_FIT([1, 2], [1, 2], [6, None]).startswith("#VALUE! row 2")
    assert udfs.BGBB_FIT([1, 2], [1, 2], [6, 6], [10]).startswith("#VALUE! ")
    hosts.set_host(Host.OFFICEJS)
    assert udfs.BGBB_FIT([0, 0], [0, 0], [6, 6]) == "#N/A"
    assert udfs.MBGNBD_PALIVE(2, 40, 38, *MBG) == "#NUM!"


# ---------------------------------------------------------------------------- errors


def test_errors_become_excel_values():
    assert udfs.PALIVE(2, 30, 38, -0.2, *BG[1:]).startswith("#NUM! ")
    assert udfs.PALIVE(2, 40, 38, *BG).startswith("#NUM! age")
    assert udfs.PALIVE("2", 30, 38, *BG).startswith("#VALUE! ")
    assert udfs.PALIVE(2, 30, 38, None, *BG[1:]).startswith("#VALUE! r is blank")
    assert udfs.PALIVE(["#N/A", 1.0], [0, 0], [3, 3], *BG).startswith("#N/A")
    assert udfs.BGNBD_FIT([0, 0, 0], [0, 0, 0], [5, 6, 7]).startswith("#N/A ")
    assert udfs.GG_FIT([1, 0], [10.0, None]).startswith("#N/A ")
    assert udfs.GG_FIT([1, 2], [10.0]).startswith("#VALUE! ")
    assert udfs.SBG_FIT([100, 120]).startswith("#NUM! survivors cannot grow")
    assert udfs.SBG_RETENTION(0.7, 1.2, 2.5).startswith("#NUM! ")
    assert udfs.BGNBD_FIT([1, 2], [1, None], [3, 3]).startswith("#VALUE! row 2")


def test_officejs_host_gets_real_error_values():
    hosts.set_host(Host.OFFICEJS)
    assert udfs.BGNBD_FIT([0, 0, 0], [0, 0, 0], [5, 6, 7]) == "#N/A"
    assert udfs.PALIVE(2, 30, 38, -0.2, *BG[1:]) == "#NUM!"
    with pytest.raises(convert.ExcelValueError, match="PALIVE: r is blank"):
        udfs.PALIVE(2, 30, 38, None, *BG[1:])


def test_fits_are_cached_by_their_inputs(cdnow, monkeypatch):
    """An unrelated recalculation (same ranges) returns the fit without refitting; a
    changed cell refits; the cache holds a bounded number of fits."""
    from retention_xl.core.models import BetaGeo

    fits: list[int] = []
    real = BetaGeo.fit

    def counting(self, *args, **kwargs):
        fits.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(BetaGeo, "fit", counting)
    monkeypatch.setattr(udfs, "_FIT_CACHE", type(udfs._FIT_CACHE)())
    cols = [column(cdnow[c].iloc[:800], "classic") for c in ("frequency", "recency", "T")]
    first = udfs.BGNBD_FIT(*cols)
    again = udfs.BGNBD_FIT(*[list(c) for c in cols])  # equal values, new objects
    assert again == first and len(fits) == 1
    changed = [list(c) for c in cols]
    changed[2][0] = changed[2][0] + 1.0  # one customer's age
    assert udfs.BGNBD_FIT(*changed) != first and len(fits) == 2
    from types import SimpleNamespace

    fitted = SimpleNamespace(params_={"p": 1.0}, log_likelihood_=-1.0)
    for i in range(udfs.FIT_CACHE_SIZE + 5):  # many different fits: the cache stays bounded
        udfs._fit_cached("X", ([float(i)],), lambda: fitted)
    assert len(udfs._FIT_CACHE) == udfs.FIT_CACHE_SIZE


def test_fit_spills_carry_standard_errors_and_bounds(cdnow):
    """Beside each parameter: its standard error and 95 % bounds, as the model's summary
    (observed information at the optimum) gives them; the log-likelihood row has none."""
    cols = [column(cdnow[c], "classic") for c in ("frequency", "recency", "T")]
    table = udfs.BGNBD_FIT(*cols)
    model = BetaGeo().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    for name, value, se, lower, upper in table[1:-1]:
        row = model.summary.loc[name]
        assert (value, se, lower, upper) == pytest.approx(
            (row["coef"], row["se"], row["lower_95"], row["upper_95"]), rel=1e-9
        )
        assert lower < value < upper and se > 0
    assert table[-1][0] == "log_likelihood" and table[-1][2:] == [None, None, None]
