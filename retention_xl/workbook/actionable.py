"""The customers an aggregate report lists: the ones a marketer acts on.

An aggregate report (orders or customers beyond a sheet) cannot list every customer; its
Customers sheet keeps at most ``limit`` of them (:data:`DEFAULT_LIMIT`, 50,000), chosen
by one rule, stated on the sheet:

1. **top value**: the ``limit // 3`` customers with the highest predicted CLV over the
   next year (BG/NBD + Gamma-Gamma);
2. **at risk**: of the others, the ``limit // 3`` customers with P(alive) below 50 %
   who brought the most revenue so far (the ones worth winning back);
3. **VIP**: of the others, the customers who brought the most revenue so far, until the
   list holds ``limit`` customers (more when fewer were at risk).

Ties go to the smaller customer id, so the list is the same on every run. Without the
models (too few repeat buyers to fit them) every listed customer is a VIP. When the
shop has at most ``limit`` customers, all of them are listed.

The scored customers come in batches (:func:`~retention_xl.engines.scoring.predict_in_batches`):
:class:`ActionablePicker` keeps, per criterion, only the best ``limit`` seen so far, so
it never holds more than three times ``limit`` rows whatever the number of customers.

>>> import pandas as pd
>>> picker = ActionablePicker(limit=3)
>>> batch = pd.DataFrame({"predicted_clv": [50.0, 10.0, 5.0, 1.0],
...                       "p_alive": [0.9, 0.2, 0.9, 0.3],
...                       "revenue": [10.0, 300.0, 900.0, 20.0]},
...                      index=pd.Index(["a", "b", "c", "d"], name="customer_id"))
>>> picker.add(batch)
>>> picker.chosen()["listed_as"].to_dict()
{'a': 'top_value', 'b': 'at_risk', 'c': 'vip'}
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from retention_xl.errors import OutOfRangeError

__all__ = ["DEFAULT_LIMIT", "GROUPS", "ActionablePicker", "check_limit"]

#: Customers an aggregate report lists by default.
DEFAULT_LIMIT: Final = 50_000
#: The groups of the rule, in the order they are filled (and listed).
GROUPS: Final = ("top_value", "at_risk", "vip")
#: P(alive) below which a customer is at risk (the at-risk share's threshold).
AT_RISK_BELOW: Final = 0.5


def check_limit(limit: object, capacity: int) -> int:
    """``limit`` as a number of customers between 1 and ``capacity`` (a sheet's room).

    >>> check_limit(10, 100)
    10
    """
    if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)):
        raise OutOfRangeError(
            f"--customers-listed must be a whole number of customers, got {limit!r}",
            argument="customers_listed",
        )
    if not 1 <= int(limit) <= capacity:
        raise OutOfRangeError(
            f"--customers-listed must be between 1 and {capacity:,} (the rows of the "
            f"Customers sheet), got {int(limit):,}",
            argument="customers_listed",
        )
    return int(limit)


def _best(frame: pd.DataFrame, column: str, limit: int) -> pd.DataFrame:
    """The ``limit`` rows with the largest ``column``, ties to the smaller id."""
    ids = frame.index.astype(str).to_numpy(dtype=object)
    order = np.lexsort((ids, -frame[column].to_numpy(dtype=np.float64)))
    return frame.iloc[order[:limit]]


class ActionablePicker:
    """Streams scored customers and keeps the ones the rule (module docstring) lists.

    Each batch is a frame indexed by customer id with ``revenue`` (so far) and, when the
    models were fitted, ``predicted_clv`` and ``p_alive``; other columns ride along
    into :meth:`chosen`.
    """

    def __init__(self, *, limit: int = DEFAULT_LIMIT) -> None:
        self.limit = int(limit)
        self.seen = 0
        self._top: pd.DataFrame | None = None
        self._risk: pd.DataFrame | None = None
        self._vip: pd.DataFrame | None = None

    def _merge(self, kept: pd.DataFrame | None, batch: pd.DataFrame, column: str) -> pd.DataFrame:
        both = batch if kept is None else pd.concat([kept, batch])
        return _best(both, column, self.limit)

    def add(self, batch: pd.DataFrame) -> None:
        """Count one batch of customers in."""
        if batch.empty:
            return
        self.seen += len(batch)
        self._vip = self._merge(self._vip, batch, "revenue")
        if "predicted_clv" in batch.columns:
            clv = batch["predicted_clv"].to_numpy(dtype=np.float64)
            self._top = self._merge(self._top, batch[np.isfinite(clv)], "predicted_clv")
            with np.errstate(invalid="ignore"):
                risky = batch["p_alive"].to_numpy(dtype=np.float64) < AT_RISK_BELOW
            self._risk = self._merge(self._risk, batch[risky], "revenue")

    def chosen(self) -> pd.DataFrame:
        """The listed customers, group by group (``listed_as``: a code of :data:`GROUPS`),
        each group in its own order (highest first)."""
        quota = self.limit // 3
        parts: list[pd.DataFrame] = []
        taken: set[str] = set()

        def take(frame: pd.DataFrame | None, group: str, count: int) -> None:
            if frame is None or count <= 0:
                return
            fresh = frame[~frame.index.astype(str).isin(taken)].iloc[:count].copy()
            fresh["listed_as"] = group
            taken.update(fresh.index.astype(str))
            parts.append(fresh)

        take(self._top, "top_value", quota)
        take(self._risk, "at_risk", quota)
        take(self._vip, "vip", self.limit - len(taken))
        if not parts:
            return pd.DataFrame({"listed_as": pd.Series(dtype=object)})
        return pd.concat(parts)
