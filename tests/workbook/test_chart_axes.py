"""The Dashboard's charts read well: every value axis has a number format, the axes of
rates start at 0 (a 58 % axis start exaggerates gaps), shares end at 100 % and wide
ranges of numbers are slanted."""

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
    # a share of the cohort ends at 100 %, in the empty template too (LibreOffice's
    # automatic scale of an empty chart ran to 1200 %)
    curves_xml = charts[label("chart.retention_curves", lang)]
    curves = re.search(r"<c:valAx>.*?</c:valAx>", curves_xml, re.S)
    assert curves is not None and '<c:max val="1"/>' in curves.group(0)
    # the benchmark bars' numbers (0 % ... 180 % and more) are slanted, as upright they
    # ran together in the Italian book
    bench_xml = charts[label("chart.kpi_vs_benchmark", lang)]
    bench = re.search(r"<c:valAx>.*?</c:valAx>", bench_xml, re.S)
    assert bench is not None and '<a:bodyPr rot="-2700000"' in bench.group(0)
    monthly = charts[label("chart.monthly", lang)]
    for axis in re.findall(r"<c:valAx>.*?</c:valAx>", monthly, re.S):  # revenue and customers
        assert 'formatCode="#,##0"' in axis


def test_wrapped_headers_get_the_height_they_need() -> None:
    """Headers that wrap (Customers, Periods, Segments, MRR...) get rows tall enough for
    their longest header; the Dashboard keeps its hand-made layout."""
    import math

    from retention_xl.workbook.build import DEFAULT_WIDTH, LINE_POINTS, plan_template

    plan = plan_template(lang="it")
    for role in ("CUSTOMERS", "PERIODS", "MONTHLY", "SEGMENTS"):
        sheet = plan.sheet(role)
        table = sheet.tables[0]
        widths = [
            sheet.col_widths.get(table.first_col + j, DEFAULT_WIDTH)
            for j in range(len(table.columns))
        ]
        # at least as many lines as the longest header's characters over its width
        need = max(
            math.ceil(len(spec.header) / w) for spec, w in zip(table.columns, widths, strict=True)
        )
        assert need > 1, role  # the case being tested
        assert sheet.row_heights[table.first_row] >= LINE_POINTS * need, role
    assert plan.sheet("DASHBOARD").row_heights.get(2) is None
