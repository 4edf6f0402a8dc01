"""Predictions at scale: fit on distinct histories, score customers batch by batch.

:func:`predict_in_batches` is ``predict_customers`` for an engine: the purchase model
and Gamma-Gamma are fitted on the engine's
:class:`~retention_xl.engines.base.HistoryGroups` (distinct histories with their
counts: the likelihood is the same sum, computed once per distinct history), then the
customers come in batches of histories, are scored by
:func:`~retention_xl.core.models.score_customers` and written out as they come
(Parquet or CSV), so no frame of all customers is ever built. The totals the command
prints (customers, at-risk share, predicted CLV) are added up on the way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from retention_xl.core.models import (
    GammaGamma,
    make_transaction_model,
    model_parameters,
    score_customers,
)
from retention_xl.core.models.holdout import model_key
from retention_xl.core.models.holdout_groups import HoldoutGroups
from retention_xl.core.models.predict import fit_bgbb
from retention_xl.engines.base import BATCH_ROWS, HistoryGroups, OrderEngine
from retention_xl.engines.holdout_sql import holdout_columns
from retention_xl.errors import InputError

__all__ = [
    "BatchPredictions",
    "fit_histories",
    "flat_predictions",
    "predict_in_batches",
    "write_batches",
]


@dataclass
class BatchPredictions:
    """The fitted models and the totals of a scoring run (see :func:`predict_in_batches`)."""

    transactions: Any
    spend: GammaGamma
    parameters: pd.DataFrame
    as_of: pd.Timestamp
    #: the customers the engine counted (the batches bring them all)
    expected: int = 0
    #: with BG/BB, the notes of :func:`~retention_xl.core.models.period_history`
    history_notes: dict[str, Any] | None = None
    #: the time unit of the histories, in days (BG/BB: the mean length of a period)
    time_unit_days: float = 7.0
    customers: int = 0
    at_risk: int = 0
    clv_total: float = 0.0
    at_risk_threshold: float = 0.5
    batches: int = 0
    _sums: list[float] = field(default_factory=list, repr=False)

    @property
    def at_risk_share(self) -> float:
        """Share of the customers scored with P(alive) below the threshold."""
        return self.at_risk / self.customers if self.customers else math.nan

    @property
    def clv_mean(self) -> float:
        """Mean predicted CLV per customer."""
        return self.clv_total / self.customers if self.customers else math.nan

    def add(self, scored: pd.DataFrame) -> None:
        """Count one batch of scored customers in the totals."""
        p = scored["p_alive"].to_numpy(dtype=np.float64)
        self.customers += len(scored)
        self.at_risk += int((p < self.at_risk_threshold).sum())
        self._sums.append(float(scored["predicted_clv"].to_numpy(dtype=np.float64).sum()))
        self.clv_total = math.fsum(self._sums)
        self.batches += 1


def _fit(
    engine: OrderEngine,
    *,
    as_of: Any,
    model: str,
    at_risk_threshold: float,
    time_unit_days: float,
    period: str,
    batch_rows: int,
) -> tuple[BatchPredictions, Callable[[], Iterator[pd.DataFrame]], float]:
    """The fitted models (no customer scored yet), the customers' histories in batches
    and the time unit they are in (BG/BB: the mean period length)."""
    notes: dict[str, Any] | None = None
    histories: Callable[[], Iterator[pd.DataFrame]]
    transactions: Any
    if model_key(model) == "bgbb":
        groups, notes, histories = _period_histories(engine, as_of, period, batch_rows)
        time_unit_days = float(notes["time_unit_days"])
        transactions = fit_bgbb(groups.x, groups.recency, groups.age, notes, weights=groups.counts)
    else:
        groups = engine.history_groups(as_of=as_of, time_unit_days=time_unit_days)
        transactions = make_transaction_model(model).fit(
            groups.x, groups.recency, groups.age, weights=groups.counts
        )
        unit = time_unit_days

        def histories() -> Iterator[pd.DataFrame]:
            return engine.histories(as_of=groups.as_of, time_unit_days=unit, batch_rows=batch_rows)

    spend = GammaGamma().fit(groups.spend_x, groups.spend_m, weights=groups.spend_counts)
    result = BatchPredictions(
        transactions=transactions,
        spend=spend,
        parameters=model_parameters(transactions, spend),
        as_of=groups.as_of,
        expected=groups.customers,
        history_notes=notes,
        time_unit_days=time_unit_days,
        at_risk_threshold=at_risk_threshold,
    )
    return result, histories, time_unit_days


def fit_histories(
    engine: OrderEngine,
    *,
    as_of: Any = None,
    model: str = "bgnbd",
    at_risk_threshold: float = 0.5,
    time_unit_days: float = 7.0,
    period: str = "Y",
) -> BatchPredictions:
    """The purchase model and Gamma-Gamma fitted on the engine's distinct histories
    (:class:`~retention_xl.engines.base.HistoryGroups`), with no customer scored yet."""
    result, _, _ = _fit(
        engine,
        as_of=as_of,
        model=model,
        at_risk_threshold=at_risk_threshold,
        time_unit_days=time_unit_days,
        period=period,
        batch_rows=BATCH_ROWS,
    )
    return result


def predict_in_batches(
    engine: OrderEngine,
    *,
    as_of: Any = None,
    model: str = "bgnbd",
    horizon_days: float = 365.0,
    margin: float = 1.0,
    discount_rate: float = 0.10,
    at_risk_threshold: float = 0.5,
    low_risk_threshold: float = 0.8,
    time_unit_days: float = 7.0,
    batch_rows: int = BATCH_ROWS,
    period: str = "Y",
    holdout: HoldoutGroups | None = None,
) -> tuple[BatchPredictions, Iterator[pd.DataFrame]]:
    """Fit the models on the engine's distinct histories; return them and the batches.

    The batches (frames indexed by ``customer_id`` with the columns of
    :data:`~retention_xl.core.models.PREDICTION_COLUMNS`) are scored lazily, in id
    order; iterating them fills the totals of the returned :class:`BatchPredictions`.
    The predictions equal :func:`~retention_xl.core.models.predict_customers` on the
    same orders. ``model="bgbb"`` works on calendar periods (``period``: Y, Q, M) of
    :mod:`~retention_xl.engines.period_histories` and needs a DuckDB or Spark engine.
    ``holdout`` (a DuckDB engine's :meth:`~retention_xl.engines.duckdb_engine.DuckDBEngine.holdout`
    check) adds the columns ``holdout_actual`` and ``holdout_predicted``.
    """
    result, histories, unit = _fit(
        engine,
        as_of=as_of,
        model=model,
        at_risk_threshold=at_risk_threshold,
        time_unit_days=time_unit_days,
        period=period,
        batch_rows=batch_rows,
    )
    transactions, spend = result.transactions, result.spend
    if holdout is not None:
        histories = _with_holdout(engine, result, holdout, batch_rows)

    def batches() -> Iterator[pd.DataFrame]:
        for history in histories():
            scored = score_customers(
                transactions,
                spend,
                history,
                horizon_days=horizon_days,
                margin=margin,
                discount_rate=discount_rate,
                at_risk_threshold=at_risk_threshold,
                low_risk_threshold=low_risk_threshold,
                time_unit_days=unit,
            )
            if holdout is not None:
                scored = scored.join(holdout_columns(holdout, history))
            result.add(scored)
            yield scored

    return result, batches()


def _with_holdout(
    engine: OrderEngine, result: BatchPredictions, holdout: HoldoutGroups, batch_rows: int
) -> Callable[[], Iterator[pd.DataFrame]]:
    """The customers' histories with their calibration histories joined (DuckDB)."""
    from retention_xl.engines.duckdb_engine import DuckDBEngine

    if not isinstance(engine, DuckDBEngine) or result.history_notes is not None:
        raise InputError(
            f"the holdout columns are not computed on the {engine.name} engine with this "
            "model: use --engine duckdb and a model of times in weeks",
            argument="holdout_weeks",
        )

    def histories() -> Iterator[pd.DataFrame]:
        return engine.histories(
            as_of=result.as_of,
            time_unit_days=result.time_unit_days,
            batch_rows=batch_rows,
            holdout=holdout,
        )

    return histories


def _period_histories(
    engine: OrderEngine, as_of: Any, period: str, batch_rows: int
) -> tuple[HistoryGroups, dict[str, Any], Callable[[], Iterator[pd.DataFrame]]]:
    """BG/BB's grouped histories and notes, computed by a DuckDB or Spark engine's SQL
    runner, and the per-customer batches (read from the DuckDB lake)."""
    from retention_xl.engines.duckdb_engine import DuckDBEngine
    from retention_xl.engines.period_histories import (
        period_history_batches,
        period_history_groups,
        period_span,
    )

    if not isinstance(engine, DuckDBEngine):
        raise InputError(
            f"--model bgbb is not computed on the {engine.name} engine: use --engine duckdb "
            "or --engine pandas",
            argument="model",
        )
    cut = engine._cut(as_of)
    span = period_span(0 if cut is None else cut, period)
    groups, notes = period_history_groups(engine._sql(), span)
    lake, run = engine.lake, DuckDBEngine._sql(engine)  # batches: DuckDB's Arrow reader
    return groups, notes, lambda: period_history_batches(lake, run, span, batch_rows=batch_rows)


def flat_predictions(scored: pd.DataFrame) -> pd.DataFrame:
    """Scored customers as written: ``customer_id`` a text column, ``risk_band`` text."""
    frame = scored.reset_index()
    frame["customer_id"] = frame["customer_id"].astype(str)
    if "risk_band" in frame.columns:
        frame["risk_band"] = frame["risk_band"].astype(str)
    return frame


def write_batches(
    batches: Iterator[pd.DataFrame],
    path: Path,
    suffix: str,
    *,
    write_whole: Callable[[pd.DataFrame, Path], None] | None = None,
) -> None:
    """Write scored batches to ``path`` as ``suffix`` says: Parquet and CSV batch by
    batch; other formats (``.xlsx``, at most a sheet of rows) through ``write_whole``
    with the batches put together."""
    kind = suffix.lower()
    if kind == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        writer = None
        try:
            for scored in batches:
                table = pa.Table.from_pandas(flat_predictions(scored), preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(str(path), table.schema)
                writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()
        if writer is None:  # no customer: an empty file with the columns
            pq.write_table(pa.table({"customer_id": pa.array([], pa.string())}), str(path))
        return
    if kind == ".csv":
        from retention_xl.csvsafe import write_csv

        with open(path, "w", encoding="utf-8", newline="") as fh:
            header = True
            for scored in batches:
                write_csv(flat_predictions(scored), fh, index=False, header=header)
                header = False
        return
    if write_whole is None:
        raise ValueError(f"no writer for {suffix!r}")
    parts = list(batches)
    whole = pd.concat(parts) if parts else pd.DataFrame()
    write_whole(whole, path)
