"""BG/BB on the DuckDB engine: the calendar-period histories in SQL, the fit on their
distinct rows and the batch scoring give the pandas engine's predictions (to 1e-9)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from lakedata import duckdb_lake

from retention_xl.core.models import predict_customers
from retention_xl.engines.duckdb_engine import DuckDBEngine
from retention_xl.engines.scoring import predict_in_batches
from retention_xl.errors import RetentionError

RTOL = 1e-9


@pytest.fixture(scope="module", params=["sample", "edge"])
def lake(request, tmp_path_factory) -> Iterator[tuple[DuckDBEngine, pd.DataFrame]]:
    engine, frame = duckdb_lake(request.param, tmp_path_factory.mktemp(f"bgbb-{request.param}"))
    yield engine, frame
    engine.close()


@pytest.mark.parametrize(
    ("period", "as_of"),
    [("Y", None), ("Q", None), ("M", None), ("Q", "2024-03-31"), ("M", "2024-05-15")],
)
def test_bgbb_predictions_agree_with_the_pandas_engine(lake, period, as_of):
    engine, frame = lake
    try:
        want = predict_customers(frame, model="bgbb", period=period, as_of=as_of, margin=0.4)
    except RetentionError as exc:  # too few whole periods: the same refusal
        with pytest.raises(type(exc)) as info:
            predict_in_batches(engine, model="bgbb", period=period, as_of=as_of)
        assert str(info.value) == str(exc)
        return
    result, batches = predict_in_batches(
        engine, model="bgbb", period=period, as_of=as_of, margin=0.4, batch_rows=300
    )
    parts = list(batches)
    assert len(parts) > 1  # really in batches
    got = pd.concat(parts)
    assert result.history_notes == want.history_notes
    assert result.customers == result.expected == len(want.customers)
    pd.testing.assert_frame_equal(
        got, want.customers, rtol=RTOL, check_exact=False, check_index_type=False
    )
    for fitted, reference in ((result.transactions, want.transactions),
                              (result.spend, want.spend)):  # fmt: skip
        np.testing.assert_allclose(
            fitted.summary["coef"].to_numpy(), reference.summary["coef"].to_numpy(), rtol=1e-6
        )
