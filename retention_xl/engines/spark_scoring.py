"""Predictions in Spark: every customer scored by the workers, written by Spark.

The models are fitted on the driver as for the DuckDB engine
(:func:`~retention_xl.engines.scoring.fit_histories`: the distinct histories Spark
counted). Their JSON (:meth:`~retention_xl.core.models._base.ParametricModel.to_json`,
exact to the last bit) is broadcast, and ``mapInPandas`` hands each worker the
histories of its partition (:meth:`~retention_xl.engines.spark_engine.SparkEngine.history_frame`)
in Arrow batches, scored by the core's :func:`~retention_xl.core.models.score_customers`:
the same rows the pandas engine gives. No frame of all customers is built anywhere.

Where the scores go (``predict --out``):

* ``.parquet``: a **Parquet dataset folder** written by the workers in parallel (one
  ``part-*.parquet`` file per partition, in customer id order, plus Spark's
  ``_SUCCESS`` marker), as every Spark job writes; pandas, pyarrow, DuckDB and Spark
  read the folder as one table. It is written beside the target under a temporary name
  and renamed into place (:func:`~retention_xl.files.write_folder_atomically`), so a
  failed run leaves the previous scores as they were. On a cluster the folder must be
  one the driver and the executors share;
* ``.csv`` and ``.xlsx``: one file on the driver, the partitions fetched one at a time
  (``toLocalIterator``) and written as they come.

The totals printed (customers, share at risk, predicted CLV) are one Spark
aggregation over the scores (over the written files for Parquet: nothing is scored
twice).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any, Final

import pandas as pd

from retention_xl.core.models.holdout_groups import HoldoutGroups
from retention_xl.engines.base import BATCH_ROWS
from retention_xl.engines.holdout_sql import holdout_days
from retention_xl.engines.scoring import BatchPredictions, flat_predictions, write_batches
from retention_xl.errors import InputError, RetentionError
from retention_xl.files import Written, write_atomically, write_folder_atomically

__all__ = ["SCORE_SCHEMA", "score_in_spark"]

#: the Spark schema of the scored customers (the columns of ``predict --out``)
SCORE_SCHEMA: Final = (
    "customer_id STRING, frequency DOUBLE, recency DOUBLE, age DOUBLE, "
    "monetary_value DOUBLE, p_alive DOUBLE, expected_purchases_90d DOUBLE, "
    "expected_purchases_365d DOUBLE, expected_avg_value DOUBLE, predicted_clv DOUBLE, "
    "risk_band STRING"
)

_HISTORY = ["frequency", "recency", "age", "monetary_value"]


class _Scorer:
    """The function ``mapInPandas`` runs on each partition (in the Python workers).

    It holds the broadcast JSON of the two fitted models and the scoring options, and
    is pickled by reference to this module: the workers need ``retention_xl``.
    """

    def __init__(
        self, models: Any, options: dict[str, float], holdout: dict[str, float] | None = None
    ) -> None:
        self.models = models
        self.options = options
        #: with a holdout check: its holdout length and time unit (its model is the
        #: third of ``models``)
        self.holdout = holdout

    def __call__(self, parts: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        from retention_xl.core.models import score_customers
        from retention_xl.core.models._base import load_model
        from retention_xl.engines.holdout_sql import holdout_prediction

        purchases, spend, *checked = self.models.value
        transactions, gamma = load_model(purchases), load_model(spend)
        check_model = load_model(checked[0]) if checked else None
        for part in parts:
            if part.empty:
                continue
            frame = part.set_index("customer_id")
            scored = score_customers(transactions, gamma, frame[_HISTORY], **self.options)  # type: ignore[arg-type]
            if self.holdout is not None:
                days = int(self.holdout["holdout_days"])
                unit = self.holdout["time_unit_days"]
                scored = scored.join(
                    holdout_prediction(check_model, frame, holdout_days=days, time_unit_days=unit)
                )
            yield flat_predictions(scored)


def _totals(scores: Any, result: BatchPredictions) -> None:
    """Fill ``result``'s totals with one Spark aggregation over ``scores``."""
    threshold = float(result.at_risk_threshold)
    customers, at_risk, clv = scores.selectExpr(
        "count(*)",
        f"coalesce(sum(CASE WHEN p_alive < CAST('{threshold!r}' AS DOUBLE) THEN 1 ELSE 0 END), 0)",
        "coalesce(sum(predicted_clv), CAST(0 AS DOUBLE))",
    ).collect()[0]
    result.customers = int(customers)
    result.at_risk = int(at_risk)
    result.clv_total = float(clv)


def _local_batches(scores: Any, rows: int) -> Iterator[pd.DataFrame]:
    """The scores on the driver, ``rows`` at a time, one partition fetched at a time."""
    columns = list(scores.columns)
    rows_iter = scores.toLocalIterator()
    while True:
        chunk = [tuple(r) for r in islice(rows_iter, rows)]
        if not chunk:
            return
        yield pd.DataFrame.from_records(chunk, columns=columns).set_index("customer_id")


def score_in_spark(
    engine: Any,
    result: BatchPredictions,
    *,
    out: Path | None = None,
    horizon_days: float = 365.0,
    margin: float = 1.0,
    discount_rate: float = 0.10,
    low_risk_threshold: float = 0.8,
    time_unit_days: float | None = None,
    write_whole: Callable[[pd.DataFrame, Path], None] | None = None,
    batch_rows: int = BATCH_ROWS,
    holdout: HoldoutGroups | None = None,
) -> Written | None:
    """Score every customer of the Spark ``engine`` with the models of ``result``
    (from :func:`~retention_xl.engines.scoring.fit_histories`), write them to ``out``
    (see the module docstring) and fill ``result``'s totals.

    ``write_whole`` writes formats other than Parquet and CSV (``.xlsx``) from the
    scores put together. The histories are BG/BB's calendar periods when ``result``
    has their notes (``history_notes``), else ``(x, t_x, T)`` in units of
    ``time_unit_days`` (default: ``result.time_unit_days``). With ``holdout`` (the
    engine's :meth:`~retention_xl.engines.duckdb_engine.DuckDBEngine.holdout` check)
    the scores also have ``holdout_actual`` and ``holdout_predicted``, as the pandas
    engine writes them. Returns what was written (None without ``out``).
    """
    unit = result.time_unit_days if time_unit_days is None else float(time_unit_days)
    spark = engine.spark
    fitted = [result.transactions.to_json(), result.spend.to_json()]
    if holdout is not None:
        fitted.append(holdout.model.to_json())
    models = spark.sparkContext.broadcast(tuple(fitted))
    options = {
        "horizon_days": horizon_days,
        "margin": margin,
        "discount_rate": discount_rate,
        "at_risk_threshold": result.at_risk_threshold,
        "low_risk_threshold": low_risk_threshold,
        "time_unit_days": unit,
    }
    notes = result.history_notes
    spec = None
    schema = SCORE_SCHEMA
    if notes is not None:
        histories = engine.period_history_frame(as_of=result.as_of, period=str(notes["period"]))
    else:
        histories = engine.history_frame(as_of=result.as_of, time_unit_days=unit, holdout=holdout)
        if holdout is not None:
            spec = {"holdout_days": holdout_days(holdout), "time_unit_days": holdout.time_unit_days}
            schema += ", holdout_actual DOUBLE, holdout_predicted DOUBLE"
    scores = histories.mapInPandas(_Scorer(models, options, spec), schema)
    try:
        return _score_and_write(
            spark, scores, result, out=out, write_whole=write_whole, batch_rows=batch_rows
        )
    except RetentionError:
        raise
    except Exception as exc:
        if not type(exc).__module__.startswith(("pyspark", "py4j")):
            raise
        kept = "" if out is None else f"; {out.name} was not changed"
        raise InputError(
            f"Spark failed while scoring the customers ({spark_failure(exc)}){kept}. On a "
            "cluster (--spark-master) the executors need retention-xl and its dependencies "
            "in their Python (PYSPARK_PYTHON)",
            argument="spark_master",
        ) from None
    finally:
        models.destroy()


def spark_failure(exc: BaseException) -> str:
    r"""The telling line of a Spark error: the Python worker's exception if there is one.

    >>> spark_failure(Exception("An exception was thrown from the Python worker:\n"
    ...     "Traceback ...\nModuleNotFoundError: No module named 'x'\n SQLSTATE: 38000"))
    "ModuleNotFoundError: No module named 'x'"
    """
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    raised = [line for line in lines if re.match(r"^[\w.]+(Error|Exception): ", line)]
    return (raised or lines or [type(exc).__name__])[-1 if raised else 0]


def _score_and_write(
    spark: Any,
    scores: Any,
    result: BatchPredictions,
    *,
    out: Path | None,
    write_whole: Callable[[pd.DataFrame, Path], None] | None,
    batch_rows: int,
) -> Written | None:
    """Write ``scores`` to ``out`` as the module docstring says; fill the totals."""
    if out is None:
        _totals(scores, result)
        return None
    if out.suffix.lower() == ".parquet":

        def write_folder(tmp: Path) -> None:
            scores.write.parquet(str(tmp))
            _totals(spark.read.parquet(str(tmp)), result)

        return write_folder_atomically(out, write_folder, command="predict")
    kept = scores.persist()
    try:
        _totals(kept, result)
        return write_atomically(
            out,
            lambda tmp: write_batches(
                _local_batches(kept, batch_rows), tmp, out.suffix, write_whole=write_whole
            ),
            command="predict",
        )
    finally:
        kept.unpersist()
