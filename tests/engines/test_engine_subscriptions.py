"""Monthly MRR, MRR movements and subscription KPIs in DuckDB give the core's numbers.

The SQL of :mod:`retention_xl.engines.subscription_sql` against the core
(:mod:`retention_xl.core.subscriptions`) to 1e-9, on the bundled sample, on generated
subscriptions, on random items of every interval and status and on hand-written edge
cases (:func:`lakedata.edge_subscriptions`); then ``kpis`` and ``build`` with
``--engine duckdb`` against ``--engine pandas``, run as a user runs them. The Spark
engine runs the same SQL: tests/engines/test_spark_engine.py.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from lakedata import edge_subscriptions, random_subscriptions

from retention_xl.core import subscriptions as core
from retention_xl.datasets import generate_subscriptions, load_sample, sample_paths
from retention_xl.engines.duckdb_engine import duckdb_subscriptions
from retention_xl.errors import InputError, NotEnoughDataError, OutOfRangeError

RTOL = 1e-9

FRAMES = {
    "sample": lambda: load_sample().subscriptions,
    "generated": lambda: generate_subscriptions(1500, seed=3),
    "random": lambda: random_subscriptions(3000, seed=1),
    "edge": edge_subscriptions,
}


@pytest.fixture(scope="module", params=sorted(FRAMES))
def held(request) -> Iterator[tuple[Any, pd.DataFrame]]:
    frame = FRAMES[request.param]()
    engine = duckdb_subscriptions(frame)
    yield engine, frame
    engine.close()


def same_kpis(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert list(got) == list(want)
    for key, value in want.items():
        if isinstance(value, float) and math.isnan(value):
            assert math.isnan(got[key]), key
        elif isinstance(value, float):
            assert got[key] == pytest.approx(value, rel=RTOL, abs=1e-12), key
        else:
            assert got[key] == value, key


def same_table(got: pd.DataFrame, want: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(got, want, rtol=RTOL, check_exact=False, check_freq=False)
    counts = list(core.MOVEMENT_COLUMNS[7:])
    pd.testing.assert_frame_equal(got[counts], want[counts], check_freq=False)  # exactly


def test_monthly_mrr_is_the_cores(held):
    engine, frame = held
    got, want = engine.monthly_mrr(), core.monthly_mrr(frame)
    assert len(want) > 10
    pd.testing.assert_frame_equal(got, want, rtol=RTOL, check_exact=False)
    got = engine.monthly_mrr(start="2023-06-15", end="2024-02-01")
    pd.testing.assert_frame_equal(
        got, core.monthly_mrr(frame, start="2023-06", end="2024-02"), rtol=RTOL, check_exact=False
    )


def test_movements_are_the_cores(held):
    engine, frame = held
    want = core.subscription_movements(frame)
    same_table(engine.movements(), want)
    for col in ("new", "churn", "expansion", "contraction"):
        assert want[col].sum() > 0, col  # the data moves every way
    # a later start keeps the months before as history; a later end shows the last churn
    start, end = want.index[len(want) // 2], want.index[-1] + pd.DateOffset(months=3)
    same_table(
        engine.movements(start=start, end=end),
        core.subscription_movements(frame, start=start, end=end),
    )


@pytest.mark.parametrize("period_months", [12, 1, 3])
def test_kpis_are_the_cores(held, period_months):
    engine, frame = held
    same_kpis(
        dict(engine.kpis(period_months=period_months, gross_margin=0.7)),
        dict(core.subscription_kpis(frame, period_months=period_months, gross_margin=0.7)),
    )
    month = core.headline_month(frame) - pd.DateOffset(months=2)
    same_kpis(
        dict(engine.kpis(month=month, period_months=period_months)),
        dict(core.subscription_kpis(frame, month=month, period_months=period_months)),
    )


def test_kpis_at_the_first_month_and_after_the_data():
    frame = edge_subscriptions()
    engine = duckdb_subscriptions(frame)
    try:
        for month in ("2023-01-10", "2024-03-01", "2022-11-30"):
            want = dict(core.subscription_kpis(frame, month=month))
            same_kpis(dict(engine.kpis(month=month)), want)
        assert math.isnan(want["nrr"])  # a window before the data
    finally:
        engine.close()


def test_the_edge_cases_move_as_written():
    """Hand-worked values of edge_subscriptions(), so that a rule the core and the SQL
    both lost would still fail here."""
    engine = duckdb_subscriptions(edge_subscriptions())
    try:
        mrr = engine.monthly_mrr()
        table = engine.movements(end="2024-01")
    finally:
        engine.close()
    by = {(r.customer_id, r.month.strftime("%Y-%m")): r.mrr for r in mrr.itertuples()}
    assert by[("mid", "2023-03")] == 30.0 and ("mid", "2023-04") not in by
    assert not any(c == "inside" for c, _ in by)  # started and ended inside February
    assert ("first-day", "2023-04") in by and ("first-day", "2023-05") not in by
    assert by[("yearly", "2023-01")] == pytest.approx(100.0)
    assert by[("weekly", "2023-03")] == pytest.approx(7.0 * 52 / 12 / 2)
    assert by[("daily", "2023-05")] == pytest.approx(365 / 12)
    assert by[("quarterly", "2023-09")] == pytest.approx(30.0)
    assert ("trial-then-paid", "2023-02") not in by and ("trial-then-paid", "2023-03") in by
    assert ("unpaid", "2023-02") in by and ("unpaid", "2023-03") not in by
    assert not any(c in ("free", "paused", "incomplete") for c, _ in by)
    assert by[("padded", "2023-06")] == pytest.approx(1 / 3 + 2 / 3 / 12)
    assert table.loc["2023-06-01", "reactivated_customers"] == 1  # "back", from mid-June
    assert table.loc["2023-10-01", "reactivation"] == pytest.approx(30.0)
    assert table.loc["2023-04-01", "expansion"] == pytest.approx(5.0)  # the add-on
    assert table.loc["2023-05-01", "expansion"] == pytest.approx(15.0)  # the upgrade
    assert table.loc["2023-03-01", "contraction"] == pytest.approx(50.0)  # downgrade
    assert table.loc["2024-01-01", "new_customers"] == 0
    assert table.loc["2023-12-01", "new"] == pytest.approx(8.0)


def test_bad_subscriptions_are_refused_as_the_core_refuses_them():
    frame = edge_subscriptions()
    frame.loc[3, "end_date"] = None
    frame.loc[3, "status"] = "canceled"
    with pytest.raises(InputError, match=r"row 3, subscription_id 's3'") as want:
        core.monthly_mrr(frame)
    with pytest.raises(InputError) as got:
        duckdb_subscriptions(frame)
    assert str(got.value) == str(want.value)
    with pytest.raises(NotEnoughDataError):
        duckdb_subscriptions(edge_subscriptions().iloc[:0]).monthly_mrr()
    engine = duckdb_subscriptions(edge_subscriptions())
    try:
        with pytest.raises(OutOfRangeError, match="end"):
            engine.movements(start="2023-05", end="2023-02")
        with pytest.raises(OutOfRangeError, match="gross_margin"):
            engine.kpis(gross_margin=1.5)
        with pytest.raises(InputError, match="month"):
            engine.kpis(month="not a date")
    finally:
        engine.close()


# -- the commands ------------------------------------------------------------------------


def _json(run_cli, *args: str) -> dict[str, Any]:
    res = run_cli(*args, "--json")
    assert res.returncode == 0, res.stderr
    out: dict[str, Any] = json.loads(res.stdout)
    return out


MRR_KPIS = {"mrr", "arr", "arpa", "subscribers", "logo_churn", "nrr", "grr", "quick_ratio"}


def _mrr_rows(report: dict[str, Any]) -> dict[str, float]:
    return {r["kpi"]: r["value"] for r in report["kpis"] if r["kpi"] in MRR_KPIS}


@pytest.mark.parametrize("as_of", [None, "2024-06-30"])
def test_kpis_with_duckdb_gives_the_pandas_mrr_figures(run_cli, as_of):
    subs = str(sample_paths().subscriptions)
    extra = () if as_of is None else ("--as-of", as_of)
    duck = _json(run_cli, "kpis", "--subscriptions", subs, "--engine", "duckdb", *extra)
    pandas = _json(run_cli, "kpis", "--subscriptions", subs, "--engine", "pandas", *extra)
    assert (duck["engine"], pandas["engine"]) == ("duckdb", "pandas")
    got, want = _mrr_rows(duck), _mrr_rows(pandas)
    assert set(want) == MRR_KPIS and want["mrr"] > 0
    assert got == pytest.approx(want, rel=RTOL)
    assert duck["subscription_month"] == pandas["subscription_month"]


def test_build_with_duckdb_gives_the_pandas_mrr_figures(run_cli, tmp_path):
    paths = sample_paths()
    reports = {}
    for engine in ("duckdb", "pandas"):
        out = tmp_path / f"{engine}.xlsx"
        reports[engine] = _json(
            run_cli,
            "build",
            "--orders",
            str(paths.orders),
            "--subscriptions",
            str(paths.subscriptions),
            "--engine",
            engine,
            "--out",
            str(out),
        )
        assert out.is_file()
    got, want = _mrr_rows(reports["duckdb"]), _mrr_rows(reports["pandas"])
    assert set(want) == MRR_KPIS
    assert got == pytest.approx(want, rel=RTOL)


def test_the_workbook_data_from_duckdb_is_the_cores():
    """The MRR tab, the subscription KPIs and the KPI report a build writes."""
    from retention_xl.workbook.build import plan_report_and_data

    subs = load_sample().subscriptions
    engine = duckdb_subscriptions(subs)
    try:
        _, got = plan_report_and_data(None, subs, None, subscription_engine=engine)
    finally:
        engine.close()
    _, want = plan_report_and_data(None, subs, None)
    assert got.subscription_engine is engine and want.subscription_engine is None
    same_table(got.movements, want.movements)
    same_kpis(dict(got.sub_kpis), dict(want.sub_kpis))
    assert got.report.subscription_month == want.report.subscription_month
    pd.testing.assert_frame_equal(got.report.table, want.report.table, rtol=RTOL)


def test_without_duckdb_the_extra_is_named(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "duckdb", None)  # import duckdb fails
    with pytest.raises(InputError, match=r"--engine duckdb needs duckdb.*retention-xl\[lake\]"):
        duckdb_subscriptions(load_sample().subscriptions)


def test_the_inputs_hold_the_subscriptions_in_the_chosen_engine():
    from retention_xl.io.inputs import load_inputs

    path = sample_paths().subscriptions
    inputs = load_inputs(subscriptions=path, engine="duckdb")
    try:
        held = inputs.subscription_engine()
        assert held.engine == "duckdb" and inputs.subscription_engine() is held  # made once
        assert held.kpis()["mrr"] == pytest.approx(
            core.subscription_kpis(inputs.subscriptions)["mrr"], rel=RTOL
        )
    finally:
        inputs.close()
    for engine in ("pandas", "auto"):  # no orders in DuckDB: the core
        assert load_inputs(subscriptions=path, engine=engine).subscription_engine() is None
