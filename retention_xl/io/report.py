"""What an import did: :class:`ImportReport` (printed by the CLI, kept on the About sheet)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["Import", "ImportReport"]


@dataclass(slots=True)
class ImportReport:
    """Provenance and counts of one imported export.

    ``rows_read`` counts data rows in the file (line items for Shopify), ``records``
    the rows of the canonical frame (orders, subscription items, answers),
    ``rows_skipped`` the bad rows dropped with ``skip_bad_rows``. ``notes`` are the
    decisions worth knowing (an ambiguous date order settled by the locale, orders
    without a customer left out, ...); ``warnings`` what the user should check (orders
    repeated in the file, customers identified by name), printed by every command that
    reads the file.
    """

    file: str
    kind: str
    format: str
    locale: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    decimal: str | None = None
    date_format: str | None = None
    rows_read: int = 0
    records: int = 0
    rows_skipped: int = 0
    customers: int = 0
    first_date: pd.Timestamp | None = None
    last_date: pd.Timestamp | None = None
    duplicates_removed: int = 0
    refunds: int = 0
    cancelled: int = 0
    currencies: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    #: what could make the numbers wrong without anyone noticing (printed as warnings)
    warnings: list[str] = field(default_factory=list)
    #: the file's row number of each record (orders), for messages naming a row
    source_rows: tuple[int, ...] | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (dates as ISO strings, tuples as lists).

        Examples
        --------
        >>> ImportReport(file="o.csv", kind="orders", format="generic").as_dict()["rows_read"]
        0
        """
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            if name == "source_rows":
                continue
            value = getattr(self, name)
            if isinstance(value, pd.Timestamp):
                value = value.date().isoformat()
            elif isinstance(value, (tuple, list)):
                value = list(value)
            out[name] = value
        out["warnings"] = self.warning_lines()
        return out

    def lines(self) -> list[str]:
        """Human-readable summary lines, one fact per line, for the terminal and About sheet."""
        name = Path(self.file).name
        what = {"orders": "orders", "subscriptions": "subscription items", "survey": "answers"}
        setup = ", ".join(
            p
            for p in (
                f"format {self.format}",
                f"locale {self.locale}" if self.locale else "",
                f"encoding {self.encoding}" if self.encoding else "",
                f"separator {self.delimiter!r}" if self.delimiter else "",
                f"decimal {self.decimal!r}" if self.decimal else "",
                f"dates {self.date_format}" if self.date_format else "",
            )
            if p
        )
        out = [f"{name}: {setup}"]
        out.append(
            f"  rows read {self.rows_read:,}; {what.get(self.kind, 'records')} {self.records:,}; "
            f"customers {self.customers:,}"
        )
        if self.first_date is not None and self.last_date is not None:
            out.append(
                f"  dates {self.first_date.date().isoformat()} to "
                f"{self.last_date.date().isoformat()}"
            )
        if self.kind == "orders":
            out.append(
                f"  duplicates removed {self.duplicates_removed:,}; refunds {self.refunds:,}; "
                f"cancelled {self.cancelled:,}"
            )
        if self.currencies:
            out.append(f"  currencies {', '.join(self.currencies)}")
        if self.rows_skipped:
            out.append(f"  bad rows skipped {self.rows_skipped:,}")
            out.extend(f"    {s}" for s in self.skipped[:5])
            if len(self.skipped) > 5:
                out.append(f"    ... and {len(self.skipped) - 5:,} more")
        out.extend(f"  note: {n}" for n in self.notes)
        out.extend(f"  warning: {w}" for w in self.warning_lines())
        return out

    def warning_lines(self) -> list[str]:
        """The warnings, the count of repeated orders dropped first.

        Examples
        --------
        >>> ImportReport(file="o.csv", kind="orders", format="x", duplicates_removed=2
        ...              ).warning_lines()
        ['2 order rows repeated an order id already read and were dropped: each order counts once']
        """
        out: list[str] = []
        if self.kind == "orders" and self.duplicates_removed:
            out.append(
                f"{self.duplicates_removed:,} order rows repeated an order id already read "
                "and were dropped: each order counts once"
            )
        return out + list(self.warnings)


@dataclass(frozen=True, slots=True)
class Import:
    """A canonical frame read from an export, with its :class:`ImportReport`."""

    frame: pd.DataFrame
    report: ImportReport
