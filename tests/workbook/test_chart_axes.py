"""The Dashboard's charts read well: every value axis has a number format, and the
axes of rates start at 0 (a 58 % axis start exaggerates gaps)."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest

from retention_xl.workbook.labels import label

BOOKS = Path(__file__).resolve().parents[2] / "workbooks"


def _charts(book: Path) -> dict[str, str]:
    """Chart XML by its title text."""
    out = {}
    with zipfile.ZipFile(book) as zf:
        for name in zf.namelist():
            if re.fullmatch(r"xl/charts/chart\d+\.xml", name):
                xml = zf.read(name).decode("utf-8")
                title = re.search(r"<c:title>.*?<a:t>([^<]*)</a:t>", xml, re.S)
                out[title.group(1) if title else name] = xml
    return out


@pytest.mark.parametrize(
    ("book", "lang"),
    [("retention_sample_report.xlsx", "en"), ("retention_template_it.xlsx", "it")],
)
def test_value_axes_are_formatted_and_rates_start_at_zero(book: str, lang: str) -> None:
    charts = _charts(BOOKS / book)
    for key in ("retention_curves", "kpi_vs_benchmark"):
        xml = charts[label(f"chart.{key}", lang)]
        value_axis = re.search(r"<c:valAx>.*?</c:valAx>", xml, re.S)
        assert value_axis is not None
        assert '<c:min val="0"/>' in value_axis.group(0), key
        assert 'formatCode="0%"' in value_axis.group(0), key
    monthly = charts[label("chart.monthly", lang)]
    for axis in re.findall(r"<c:valAx>.*?</c:valAx>", monthly, re.S):  # revenue and customers
        assert 'formatCode="#,##0"' in axis
