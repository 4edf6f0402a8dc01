"""The steps of ``retention-xl predict``, in the order the command takes them.

:func:`check_request` refuses what cannot run before anything is read;
:func:`predict_in_memory` (the pandas engine: intervals, totals) and
:func:`predict_on_engine` (DuckDB and Spark: fitted on distinct histories, scored in
batches or in the Spark workers) fit, score, print and write, and return the
``--json`` payload; both add the holdout check of ``--holdout-weeks``
(:func:`say_holdout`, :func:`holdout_json`), from one row per customer in memory or
from the counts an engine computes in SQL
(:meth:`~retention_xl.engines.duckdb_engine.DuckDBEngine.holdout`), and its
``holdout_actual``/``holdout_predicted`` columns to ``--out``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

__all__ = [
    "PredictRequest",
    "check_request",
    "holdout_json",
    "predict_in_memory",
    "predict_on_engine",
    "say_holdout",
]


@dataclass(frozen=True)
class PredictRequest:
    """The options of one ``predict`` run (see the command's help)."""

    as_of: str | None
    model: str
    period: str | None
    holdout_weeks: float | None
    horizon_days: float
    gross_margin: float
    discount_rate: float
    level: float
    no_intervals: bool
    out: Path | None
    as_json: bool
    quiet: bool

    @property
    def say(self) -> Callable[[str], None]:
        """Print a line of the summary, unless ``--json`` or ``--quiet``."""
        return (lambda _line: None) if self.as_json or self.quiet else click.echo


def check_request(request: PredictRequest, *, orders: str, engine: str) -> None:
    """Refuse option combinations that do not apply, and an ``--out`` that cannot be
    written, before the orders are read."""
    from retention_xl.files import check_target

    out = request.out
    if request.period is not None and request.model != "bgbb":
        raise click.UsageError("--period applies to --model bgbb only")
    if request.holdout_weeks is not None and request.model == "bgbb":
        raise click.UsageError(
            "--holdout-weeks checks the models of times in weeks; BG/BB counts calendar "
            "periods: leave out --holdout-weeks, or use another --model"
        )
    if out is not None and out.suffix.lower() not in (".csv", ".xlsx", ".parquet"):
        raise click.UsageError(f"--out must end in .csv, .parquet or .xlsx, got {out.name!r}")
    if out is not None:
        # before the fits; Spark writes Parquet as a dataset folder, which may replace one
        from retention_xl.engines.base import choose_engine
        from retention_xl.engines.sources import parse_orders_source

        dataset = out.suffix.lower() == ".parquet" and (
            choose_engine(engine, parse_orders_source(orders)) == "spark"
        )
        check_target(out, command="predict", folder_ok=dataset)


def _holdout_check(request: PredictRequest, compute: Callable[[], Any]) -> Any:
    """``compute()``'s holdout check, or None (and a note) when it cannot be made: the
    predictions stand, only the check is missing."""
    from retention_xl.errors import ConvergenceError, InputError

    try:
        return compute()
    except (ConvergenceError, InputError) as exc:
        click.echo(f"note: no holdout check ({request.holdout_weeks:g} weeks): {exc}", err=True)
        return None


def say_holdout(say: Callable[[str], None], check: Any, weeks: float) -> None:
    """Print the holdout check: totals, errors and the means by past repeat purchases."""
    say(
        f"Holdout check: fitted up to {check.calibration_end.date()}, the next "
        f"{weeks:g} weeks: predicted {check.predicted_total:,.1f} repeat purchases, "
        f"actual {check.actual_total:,.0f} ({check.error_share:+.1%}); mean absolute "
        f"error {check.mean_absolute_error:.3f} per customer; MAPE of the cumulative "
        f"curve {check.tracking_mape:.1%}"
    )
    by_freq = _by_frequency_rows(check)
    say("Mean holdout purchases by past repeat purchases (actual / predicted):")
    say(
        "  "
        + ", ".join(
            f"{r['frequency']}{'+' if i == len(by_freq) - 1 else ''}: "
            f"{r['actual']:.2f} / {r['predicted']:.2f}"
            for i, r in enumerate(by_freq)
            if r["customers"] > 0
        )
    )


def holdout_json(check: Any, weeks: float) -> dict[str, Any]:
    """The ``holdout`` part of the ``--json`` payload."""
    return {
        "weeks": weeks,
        "predicted": check.predicted_total,
        "actual": check.actual_total,
        "error_share": check.error_share,
        "tracking_mape": check.tracking_mape,
        "by_frequency": _by_frequency_rows(check),
    }


def _period_json(notes: dict[str, Any] | None, period: str | None) -> dict[str, Any] | None:
    """The ``period`` part of the ``--json`` payload (BG/BB only)."""
    if notes is None:
        return None
    return {
        "length": period,
        "last": notes["last_period"],
        "customers_left_out": int(notes["left_out"]),
    }


# --------------------------------------------------------------------------- pandas


def predict_in_memory(inputs: Any, request: PredictRequest, steps: Any) -> dict[str, Any]:
    """``predict`` on the pandas engine: every customer scored in memory, with intervals
    and totals unless ``--no-intervals``; returns the ``--json`` payload."""
    from retention_xl.core.models import holdout_comparison, predict_customers
    from retention_xl.files import write_atomically

    say, out, model = request.say, request.out, request.model
    assert inputs.orders is not None
    result = predict_customers(
        inputs.orders,
        as_of=request.as_of,
        horizon_days=request.horizon_days,
        margin=request.gross_margin,
        discount_rate=request.discount_rate,
        model=model,
        period=request.period or "Y",
        level=None if request.no_intervals else request.level,
    )
    customers = result.customers
    say(f"{len(customers):,} customers as of {result.as_of.date() if result.as_of else '-'}")
    notes = result.history_notes
    if notes is not None:
        _say_periods(say, notes)
    _say_models(say, result.transactions, result.spend)
    _say_totals(
        say,
        share=result.at_risk_share,
        clv_total=float(customers["predicted_clv"].sum()),
        clv_mean=float(customers["predicted_clv"].mean()),
        horizon_days=request.horizon_days,
        gross_margin=request.gross_margin,
        discount_rate=request.discount_rate,
    )
    totals = result.totals
    if totals is not None:
        for line in _totals_lines(totals, request.horizon_days, request.level, model):
            say(line)
    table = customers
    check = None
    weeks = request.holdout_weeks
    if weeks is not None:
        check = _holdout_check(
            request,
            lambda: holdout_comparison(
                inputs.orders, holdout_weeks=weeks, holdout_end=request.as_of, model=model
            ),
        )
    if check is not None:
        assert weeks is not None
        say_holdout(say, check, weeks)
        extra = check.customers[["actual", "predicted"]].rename(
            columns={"actual": "holdout_actual", "predicted": "holdout_predicted"}
        )
        table = customers.join(extra)
    if out is not None:
        steps.step(f"Writing {out.name}")
        done = write_atomically(
            out,
            lambda tmp: _write_predictions(table, result.parameters, tmp, out.suffix),
            command="predict",
        )
        for line in done.notes():
            click.echo(f"note: {line}", err=True)
        say(f"Wrote {len(table):,} customers to {out}")
    payload = _memory_payload(inputs, request, result)
    if check is not None:
        payload["holdout"] = holdout_json(check, weeks)  # type: ignore[arg-type]
    return payload


def _memory_payload(inputs: Any, request: PredictRequest, result: Any) -> dict[str, Any]:
    """The ``--json`` payload of :func:`predict_in_memory` (without the holdout check)."""
    customers, totals, out = result.customers, result.totals, request.out
    return {
        "customers": len(customers),
        "as_of": None if result.as_of is None else str(result.as_of.date()),
        "model": request.model,
        "period": _period_json(result.history_notes, result.period),
        "parameters": _parameters_json(result.transactions, result.spend),
        "at_risk_share": result.at_risk_share,
        "predicted_clv_total": float(customers["predicted_clv"].sum()),
        "totals": None
        if totals is None
        else {
            "horizon_days": request.horizon_days,
            "level": request.level,
            **{
                str(name): {k: float(row[k]) for k in ("value", "low", "high")}
                for name, row in totals.iterrows()
            },
        },
        "out": None if out is None else str(out.resolve()),
        "imports": inputs.as_dict(),
    }


# --------------------------------------------------------------------------- engines


def predict_on_engine(inputs: Any, request: PredictRequest) -> dict[str, Any]:
    """``predict`` on the DuckDB and Spark engines: fit on distinct histories, score in
    batches (DuckDB) or in the Spark workers (:mod:`~retention_xl.engines.spark_scoring`);
    the holdout check from the engine's counts. Returns the ``--json`` payload."""
    engine = inputs.lake_engine
    say, out, period = request.say, request.out, request.period or "Y"
    if not (request.no_intervals or request.quiet or request.as_json):
        click.echo(
            f"note: --engine {engine.name} scores without intervals (no "
            "_low/_high columns, no totals); --engine pandas computes them",
            err=True,
        )
    check = None
    weeks = request.holdout_weeks
    if weeks is not None:  # first: --out gets its columns
        check = _holdout_check(
            request,
            lambda: engine.holdout(holdout_weeks=weeks, as_of=request.as_of, model=request.model),
        )
    result = _score_on_engine(engine, request, period, check)
    _say_totals(
        say,
        share=result.at_risk_share,
        clv_total=result.clv_total,
        clv_mean=result.clv_mean,
        horizon_days=request.horizon_days,
        gross_margin=request.gross_margin,
        discount_rate=request.discount_rate,
    )
    if check is not None:
        assert weeks is not None
        say_holdout(say, check, weeks)
    if out is not None:
        folder = (
            " (a Parquet dataset folder, one file per Spark partition)"
            if engine.name == "spark" and out.suffix.lower() == ".parquet"
            else ""
        )
        say(f"Wrote {result.customers:,} customers to {out}{folder}")
    payload: dict[str, Any] = {
        "customers": result.customers,
        "as_of": str(result.as_of.date()),
        "model": request.model,
        "period": _period_json(result.history_notes, period),
        "parameters": _parameters_json(result.transactions, result.spend),
        "at_risk_share": result.at_risk_share,
        "predicted_clv_total": result.clv_total,
        "out": None if out is None else str(out.resolve()),
        "imports": inputs.as_dict(),
        "engine": engine.name,
    }
    if check is not None:
        payload["holdout"] = holdout_json(check, weeks)  # type: ignore[arg-type]
    return payload


def _score_on_engine(engine: Any, request: PredictRequest, period: str, check: Any) -> Any:
    """Fit, print the models, score every customer and write ``--out`` (with the
    holdout columns of ``check``, when there is one); returns the
    :class:`~retention_xl.engines.scoring.BatchPredictions` with its totals filled."""
    from retention_xl.engines.scoring import fit_histories, predict_in_batches, write_batches
    from retention_xl.files import write_atomically

    say, out = request.say, request.out
    in_spark = engine.name == "spark"
    holdout = None if out is None else check  # the columns are for --out only
    if in_spark:
        result = fit_histories(engine, as_of=request.as_of, model=request.model, period=period)
        batches: Iterator[Any] = iter(())
    else:
        result, batches = predict_in_batches(
            engine,
            as_of=request.as_of,
            model=request.model,
            horizon_days=request.horizon_days,
            margin=request.gross_margin,
            discount_rate=request.discount_rate,
            period=period,
            holdout=holdout,
        )
    say(f"{result.expected:,} customers as of {result.as_of.date()}")
    notes = result.history_notes
    if notes is not None:
        _say_periods(say, notes)
    _say_models(say, result.transactions, result.spend)

    def write_whole(table: Any, path: Path) -> None:
        _write_predictions(table, result.parameters, path, "" if out is None else out.suffix)

    if in_spark:
        from retention_xl.engines.spark_scoring import score_in_spark

        done = score_in_spark(
            engine,
            result,
            out=out,
            horizon_days=request.horizon_days,
            margin=request.gross_margin,
            discount_rate=request.discount_rate,
            write_whole=write_whole,
            holdout=holdout,
        )
        for line in [] if done is None else done.notes():
            click.echo(f"note: {line}", err=True)
    elif out is None:
        for _ in batches:
            pass
    else:
        written = write_atomically(
            out,
            lambda tmp: write_batches(batches, tmp, out.suffix, write_whole=write_whole),
            command="predict",
        )
        for line in written.notes():
            click.echo(f"note: {line}", err=True)
    return result


# --------------------------------------------------------------------------- printing


def _say_periods(say: Callable[[str], None], notes: dict[str, Any]) -> None:
    """The calendar periods a BG/BB fit used, and the customers it left out."""
    left_out = int(notes["left_out"])
    later = (
        f"; {left_out:,} customers whose first purchase is later are left out" if left_out else ""
    )
    say(
        f"BG/BB periods: {notes['period_name']} up to {notes['last_period']} (the last "
        f"whole period, ending {notes['period_end'].date()}){later}"
    )


def _by_frequency_rows(check: Any) -> list[dict[str, Any]]:
    """The holdout's mean purchases by calibration frequency (0, 1, ..., 7 and more)."""
    table = check.by_frequency()
    customers = table["customers"].to_numpy(dtype=float)
    actual = table["actual"].to_numpy(dtype=float)
    predicted = table["predicted"].to_numpy(dtype=float)
    return [
        {
            "frequency": i,
            "customers": int(customers[i]),
            "actual": float(actual[i]),
            "predicted": float(predicted[i]),
        }
        for i in range(len(table))
    ]


def _say_models(say: Callable[[str], None], transactions: Any, spend: Any) -> None:
    """Print the fitted parameters of both models."""
    for label, fitted in (("purchases", transactions), ("spend", spend)):
        assert fitted.params_ is not None
        se = fitted.summary["se"]
        values = ", ".join(
            f"{k} = {v:.4g} (se {float(se[k]):.2g})" for k, v in fitted.params_.items()
        )
        say(f"{fitted.label} ({label}): {values}; log-likelihood {fitted.log_likelihood_:.1f}")


def _say_totals(
    say: Callable[[str], None],
    *,
    share: float,
    clv_total: float,
    clv_mean: float,
    horizon_days: float,
    gross_margin: float,
    discount_rate: float,
) -> None:
    """Print the at-risk share against its benchmark and the predicted CLV."""
    from retention_xl.core.benchmarks import benchmark_target, rate_kpi

    typical = benchmark_target("at_risk_share", "healthy")
    target = benchmark_target("at_risk_share", "excellent")
    say(
        f"Customers at risk (P(alive) < 50 %): {share:.1%} - benchmark: about {typical:.0%} "
        f"typical, {target:.0%} or less the target: {rate_kpi('at_risk_share', share)}"
    )
    say(
        f"Predicted CLV over {horizon_days:g} days (margin {gross_margin:.0%}, discount "
        f"{discount_rate:.0%} a year): total {clv_total:,.2f}, "
        f"mean {clv_mean:,.2f} per customer"
    )


def _parameters_json(transactions: Any, spend: Any) -> dict[str, Any]:
    """The fitted parameters with standard errors and 95 % bounds, for ``--json``."""
    return {
        label: {
            str(k): {
                "value": float(v),
                "se": float(fitted.summary.loc[k, "se"]),
                "lower_95": float(fitted.summary.loc[k, "lower_95"]),
                "upper_95": float(fitted.summary.loc[k, "upper_95"]),
            }
            for k, v in fitted.params_.items()
        }
        for label, fitted in (("purchases", transactions), ("spend", spend))
    }


def _totals_lines(totals: Any, horizon_days: float, level: float, model: str) -> list[str]:
    """The totals over the customer base with their intervals, for the terminal."""
    unit = "periods with a purchase" if model == "bgbb" else "repeat purchases"
    expected = totals.loc["expected_purchases"]
    lines = [
        f"Next {horizon_days:g} days, all customers ({level:.0%} intervals from the "
        f"uncertainty of the fitted parameters):",
        f"  expected {unit}: {expected['value']:,.0f} ({expected['low']:,.0f} - "
        f"{expected['high']:,.0f})",
    ]
    if "purchases" in totals.index:
        row = totals.loc["purchases"]
        lines.append(
            f"  {unit} that will actually be made: {row['low']:,.0f} - {row['high']:,.0f} "
            f"(with each customer's own randomness)"
        )
    for name, label in (("revenue", "expected revenue"), ("predicted_clv", "predicted CLV")):
        row = totals.loc[name]
        lines.append(f"  {label}: {row['value']:,.2f} ({row['low']:,.2f} - {row['high']:,.2f})")
    return lines


def _write_predictions(table: Any, parameters: Any, path: Path, suffix: str) -> None:
    """The per-customer table as CSV, or as .xlsx with the parameters on a second sheet.

    In .xlsx every text cell is written as text: an id such as ``=1+1`` never becomes
    a formula.
    """
    frame = table.reset_index()
    frame["risk_band"] = frame["risk_band"].astype(str)
    if suffix.lower() == ".csv":
        from retention_xl.csvsafe import write_csv

        write_csv(frame, path, index=False)  # text from exports never runs as a formula
        return
    if suffix.lower() == ".parquet":
        from retention_xl.engines.deps import require_lake

        _, pa = require_lake("writing Parquet files")
        import pyarrow.parquet as pq

        frame["customer_id"] = frame["customer_id"].astype(str)
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), str(path))
        return
    import math

    import xlsxwriter

    book = xlsxwriter.Workbook(
        str(path),
        {"strings_to_formulas": False, "strings_to_urls": False, "nan_inf_to_errors": False},
    )
    bold = book.add_format({"bold": True})
    for name, sheet_frame in (("Predictions", frame), ("Parameters", parameters)):
        sheet = book.add_worksheet(name)
        for col, header in enumerate(sheet_frame.columns):
            sheet.write_string(0, col, str(header), bold)
        for row, record in enumerate(sheet_frame.itertuples(index=False, name=None), start=1):
            for col, value in enumerate(record):
                if isinstance(value, str):
                    sheet.write_string(row, col, value)
                elif isinstance(value, (int, float)) and not isinstance(value, bool):
                    if math.isfinite(value):
                        sheet.write_number(row, col, float(value))
                elif hasattr(value, "isoformat"):
                    sheet.write_string(row, col, str(value)[:10])
                elif value is not None:
                    sheet.write_string(row, col, str(value))
        sheet.freeze_panes(1, 0)
    book.close()
