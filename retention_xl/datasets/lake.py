"""Generated orders written as a Parquet lake: one file per month, as shops export them.

:func:`write_orders_lake` draws orders with :func:`~retention_xl.datasets.generate_orders`
and writes them under ``directory`` as ``orders-YYYY-MM.parquet`` (Parquet through
pyarrow: the ``lake`` extra), the month of each order's date. Repeated rows of an order
stay in the month of their date, so the lake holds the same rows as the frame, and
``--orders DIRECTORY`` or ``--orders 'DIRECTORY/*.parquet'`` reads it back.

>>> paths = write_orders_lake("lake", n_orders=10_000, seed=0)  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from retention_xl.datasets.orders import generate_orders
from retention_xl.errors import InputError

__all__ = ["write_orders_lake"]


def write_orders_lake(
    directory: str | Path,
    *,
    orders: pd.DataFrame | None = None,
    row_group_size: int = 1_000_000,
    **generate: Any,
) -> list[Path]:
    """Write orders as one Parquet file per month under ``directory`` (created).

    Parameters
    ----------
    directory
        The folder of the lake; existing ``orders-*.parquet`` files in it are replaced.
    orders
        The orders to write (canonical schema); by default generated with ``generate``
        (the arguments of :func:`~retention_xl.datasets.generate_orders`, e.g.
        ``n_orders=1_000_000, seed=0``).
    row_group_size
        Rows per Parquet row group.

    Returns
    -------
    list of Path
        The files written, in month order.
    """
    from retention_xl.engines.deps import require_lake

    _, pa = require_lake("writing a Parquet lake")
    import pyarrow.parquet as pq

    frame = generate_orders(**generate) if orders is None else orders
    if not isinstance(frame, pd.DataFrame) or "order_date" not in frame.columns:
        raise InputError("orders must be a canonical orders frame", argument="orders")
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("orders-*.parquet"):
        old.unlink()
    months = frame["order_date"].to_numpy().astype("datetime64[M]")
    written: list[Path] = []
    for month in np.unique(months):
        part = frame[months == month]
        path = folder / f"orders-{month!s}.parquet"
        table = pa.Table.from_pandas(part, preserve_index=False)
        pq.write_table(table, str(path), row_group_size=row_group_size)
        written.append(path)
    return written
