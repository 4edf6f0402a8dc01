"""`retention-xl predict` run as a user runs it: per-customer predictions and the holdout check."""

from __future__ import annotations

import json

import numpy as np
import openpyxl
import pandas as pd
import pytest

from retention_xl.core.models import (
    PREDICTION_COLUMNS,
    PREDICTION_INTERVAL_COLUMNS,
    holdout_comparison,
    predict_customers,
)
from retention_xl.datasets import load_sample, sample_paths


def test_predict_writes_the_core_predictions_to_csv(run_cli, tmp_path):
    out = tmp_path / "pred.csv"
    res = run_cli(
        "predict",
        "--orders",
        str(sample_paths().orders),
        "--gross-margin",
        "0.4",
        "--out",
        str(out),
    )
    assert res.returncode == 0, res.stderr
    core = predict_customers(load_sample().orders, margin=0.4, discount_rate=0.1, level=0.9)
    got = pd.read_csv(out, dtype={"customer_id": str}).set_index("customer_id")
    assert list(got.columns) == list(PREDICTION_INTERVAL_COLUMNS)
    assert got.index.tolist() == core.customers.index.tolist()
    numbers = [c for c in PREDICTION_INTERVAL_COLUMNS if c != "risk_band"]
    for col in numbers:
        np.testing.assert_allclose(got[col], core.customers[col], rtol=1e-12, err_msg=col)
    assert got["risk_band"].tolist() == core.customers["risk_band"].astype(str).tolist()
    share = f"{core.at_risk_share:.1%}"
    assert f"Customers at risk (P(alive) < 50 %): {share}" in res.stdout
    assert "about 28% typical, 18% or less the target" in res.stdout
    assert "BG/NBD (purchases): r = " in res.stdout
    assert "Next 365 days, all customers (90% intervals" in res.stdout
    row = core.totals.loc["expected_purchases"]
    line = (
        f"expected repeat purchases: {row['value']:,.0f} ({row['low']:,.0f} - {row['high']:,.0f})"
    )
    assert line in res.stdout
    row = core.totals.loc["purchases"]
    assert f"actually be made: {row['low']:,.0f} - {row['high']:,.0f}" in res.stdout


def test_predict_json_has_the_totals_with_their_intervals(run_cli):
    res = run_cli(
        "predict",
        "--orders",
        str(sample_paths().orders),
        "--level",
        "0.8",
        "--horizon-days",
        "180",
        "--json",
    )
    assert res.returncode == 0, res.stderr
    payload = json.loads(res.stdout)
    core = predict_customers(load_sample().orders, horizon_days=180, level=0.8)
    totals = payload["totals"]
    assert totals["level"] == 0.8 and totals["horizon_days"] == 180
    assert set(totals) == {"level", "horizon_days", *core.totals.index}
    for name, row in core.totals.iterrows():
        assert totals[name] == {
            k: pytest.approx(row[k], rel=1e-12) for k in ("value", "low", "high")
        }
        assert totals[name]["low"] < totals[name]["high"]


def test_predict_without_intervals(run_cli, tmp_path):
    out = tmp_path / "pred.csv"
    res = run_cli(
        "predict",
        "--orders",
        str(sample_paths().orders),
        "--no-intervals",
        "--out",
        str(out),
        "--json",
    )
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["totals"] is None
    got = pd.read_csv(out, dtype={"customer_id": str}).set_index("customer_id")
    assert list(got.columns) == list(PREDICTION_COLUMNS)


@pytest.mark.parametrize("level", ["0", "1", "1.5", "-0.1", "90", "nan"])
def test_predict_refuses_a_level_outside_0_1(run_cli, level):
    res = run_cli("predict", "--orders", str(sample_paths().orders), "--level", level)
    assert res.returncode == 2
    assert "Invalid value for --level" in res.stderr
    assert "give a number between 0 and 1 (not included), e.g. 0.9 for 90 % intervals" in res.stderr
    assert "Traceback" not in res.stderr


def test_predict_holdout_check(run_cli, tmp_path):
    out = tmp_path / "pred.csv"
    res = run_cli(
        "predict",
        "--orders",
        str(sample_paths().orders),
        "--holdout-weeks",
        "26",
        "--out",
        str(out),
    )
    assert res.returncode == 0, res.stderr
    check = holdout_comparison(load_sample().orders, holdout_weeks=26)
    assert f"predicted {check.predicted_total:,.1f} repeat purchases" in res.stdout
    assert f"actual {check.actual_total:,.0f}" in res.stdout
    got = pd.read_csv(out, dtype={"customer_id": str}).set_index("customer_id")
    known = got["holdout_actual"].notna()
    assert known.sum() == len(check.customers)
    np.testing.assert_allclose(
        got.loc[known, "holdout_predicted"], check.customers.loc[got.index[known], "predicted"]
    )
    assert f"MAPE of the cumulative curve {check.tracking_mape:.1%}" in res.stdout
    as_json = run_cli(
        "predict", "--orders", str(sample_paths().orders), "--holdout-weeks", "26", "--json"
    )
    holdout = json.loads(as_json.stdout)["holdout"]
    weekly = check.weekly
    mape = float(np.mean(np.abs(weekly["predicted"] - weekly["actual"]) / weekly["actual"]))
    assert holdout["tracking_mape"] == pytest.approx(mape)
    rows = holdout["by_frequency"]
    assert [r["frequency"] for r in rows] == list(range(8))
    sevens = check.customers[check.customers["frequency"] >= 7]
    assert rows[7]["customers"] == len(sevens)
    assert rows[7]["actual"] == pytest.approx(sevens["actual"].mean())


def test_predict_reads_an_italian_export_and_writes_safe_xlsx(run_cli, tmp_path):
    orders = load_sample().orders
    orders = orders[orders["status"] == "paid"].copy()
    orders.loc[orders["customer_id"] == "C00001", "customer_id"] = "=1+1"
    text = "Cliente;N. ordine;Data ordine;Importo\n" + "".join(
        f"{c};{o};{d:%d/%m/%Y};{a:.2f}\n".replace(".", ",")
        for c, o, d, a in orders[["customer_id", "order_id", "order_date", "amount"]].itertuples(
            index=False
        )
    )
    path = tmp_path / "ordini.csv"
    path.write_bytes(text.encode("cp1252"))
    out = tmp_path / "previsioni.xlsx"
    res = run_cli("predict", "--orders", str(path), "--out", str(out))
    assert res.returncode == 0, res.stderr
    book = openpyxl.load_workbook(out)
    sheet = book["Predictions"]
    header = [c.value for c in sheet[1]]
    assert header == ["customer_id", *PREDICTION_INTERVAL_COLUMNS]
    ids = [row[0].value for row in sheet.iter_rows(min_row=2)]
    assert "=1+1" in ids
    cell = next(row[0] for row in sheet.iter_rows(min_row=2) if row[0].value == "=1+1")
    assert cell.data_type == "s"  # text, never a formula
    params = {(r[0].value, r[1].value): r[2].value for r in book["Parameters"].iter_rows(min_row=2)}
    assert params[("BG/NBD", "r")] > 0 and ("Gamma-Gamma", "gamma") in params
    assert len(ids) == orders["customer_id"].nunique()


def test_predict_errors_are_one_line(run_cli, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(
        "customer_id,order_id,order_date,amount\na,1,2024-01-01,10\nb,2,2024-02-01,20\n"
    )
    res = run_cli("predict", "--orders", str(path))
    assert res.returncode == 2
    assert "bought again" in res.stderr and "Traceback" not in res.stderr
    res = run_cli("predict", "--orders", str(path), "--out", str(tmp_path / "x.txt"))
    assert res.returncode == 2 and ".csv, .parquet or .xlsx" in res.stderr


@pytest.mark.parametrize("model", ["pareto_nbd"])
def test_predict_with_pareto(run_cli, model):
    res = run_cli("predict", "--orders", str(sample_paths().orders), "--model", model)
    assert res.returncode == 0, res.stderr
    assert "Pareto/NBD (purchases): r = " in res.stdout


@pytest.mark.parametrize(("model", "label"), [("mbgnbd", "MBG/NBD"), ("bgbb", "BG/BB")])
def test_predict_with_the_new_models_writes_the_core_predictions(run_cli, tmp_path, model, label):
    out = tmp_path / "pred.csv"
    extra = ["--period", "Q"] if model == "bgbb" else []
    res = run_cli(
        "predict",
        "--orders",
        str(sample_paths().orders),
        "--model",
        model,
        *extra,
        "--gross-margin",
        "0.4",
        "--out",
        str(out),
    )
    assert res.returncode == 0, res.stderr
    core = predict_customers(load_sample().orders, model=model, period="Q", margin=0.4, level=0.9)
    got = pd.read_csv(out, dtype={"customer_id": str}).set_index("customer_id")
    assert list(got.columns) == list(core.customers.columns)
    assert {"purchases_pi_low", "purchases_pi_high"} <= set(got.columns)
    assert got.index.tolist() == core.customers.index.tolist()
    for col in (
        "age",
        "p_alive",
        "expected_purchases_365d",
        "predicted_clv",
        "predicted_clv_low",
        "predicted_clv_high",
    ):
        np.testing.assert_allclose(got[col], core.customers[col], rtol=1e-12, err_msg=col)
    assert f"{label} (purchases): " in res.stdout
    if model == "bgbb":
        assert core.transactions.label == "BG/BB"
        line = "BG/BB periods: calendar quarters up to 2024-Q4 (the last whole period, ending "
        assert line + "2024-12-31)" in res.stdout
    else:
        assert "BG/BB periods" not in res.stdout


def test_predict_bgbb_leaves_out_the_unfinished_period(run_cli, tmp_path):
    orders = load_sample().orders
    res = run_cli(
        "predict",
        "--orders",
        str(sample_paths().orders),
        "--model",
        "bgbb",
        "--period",
        "M",
        "--as-of",
        "2024-06-15",
        "--json",
    )
    assert res.returncode == 0, res.stderr
    payload = json.loads(res.stdout)
    core = predict_customers(orders, model="bgbb", period="M", as_of="2024-06-15")
    assert payload["as_of"] == "2024-05-31"
    assert payload["period"] == {
        "length": "M",
        "last": "2024-05",
        "customers_left_out": core.history_notes["left_out"],
    }
    assert core.history_notes["left_out"] > 0  # first purchase in June 2024
    assert payload["customers"] == len(core.customers)


def test_predict_refuses_period_and_holdout_where_they_do_not_apply(run_cli):
    orders = str(sample_paths().orders)
    res = run_cli("predict", "--orders", orders, "--period", "Q")
    assert res.returncode == 2 and "--period applies to --model bgbb" in res.stderr
    res = run_cli("predict", "--orders", orders, "--model", "bgbb", "--holdout-weeks", "26")
    assert res.returncode == 2 and "BG/BB counts calendar periods" in res.stderr
    # years: the sample shop's two calendar years cannot tell buying from leaving
    res = run_cli("predict", "--orders", orders, "--model", "bgbb")
    assert res.returncode == 2 and "BG/BB did not converge" in res.stderr
    assert "span at most 1 whole year after the first; a shorter period" in res.stderr
    assert "Traceback" not in res.stderr
