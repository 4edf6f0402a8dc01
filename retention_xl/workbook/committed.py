"""The workbooks committed in the repository's ``workbooks/`` folder, and how they are made.

``python -m retention_xl.workbook --out workbooks`` writes them; a test regenerates
them and fails when the committed files differ (the output is deterministic).

* ``retention_template_en.xlsx``, ``retention_template_it.xlsx``: empty templates;
* ``retention_sample_report.xlsx``: the report of the bundled sample shop (English,
  EUR, CAC 45), the same workbook ``retention-xl demo`` writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from retention_xl.workbook.build import (
    model_predictions,
    plan_report,
    plan_template,
    write_workbook,
)

__all__ = ["COMMITTED", "SAMPLE_CAC", "write_committed"]

#: File names of the committed workbooks.
COMMITTED: Final = (
    "retention_template_en.xlsx",
    "retention_template_it.xlsx",
    "retention_sample_report.xlsx",
)
#: Acquisition cost assumed for the sample shop (as ``retention-xl demo``).
SAMPLE_CAC: Final = 45.0


def write_committed(folder: str | Path) -> list[Path]:
    """Write every committed workbook into ``folder`` (created if missing)."""
    from retention_xl.datasets import load_sample

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = [
        write_workbook(plan_template(lang="en"), out / COMMITTED[0]),
        write_workbook(plan_template(lang="it"), out / COMMITTED[1]),
    ]
    sample = load_sample()
    predictions = model_predictions(sample.orders, margin=1.0, discount_rate=0.10)
    plan = plan_report(
        sample.orders,
        sample.subscriptions,
        sample.survey,
        lang="en",
        currency="EUR",
        cac=SAMPLE_CAC,
        predictions=predictions,
    )
    paths.append(write_workbook(plan, out / COMMITTED[2]))
    return paths
