"""Native Excel charts from the chart specs of a plan (rendered by XlsxWriter).

A chart spec is a :class:`~retention_xl.workbook.plan.ChartSpec` (a ``TypedDict`` that
mypy checks) made by the sheet modules (see :mod:`retention_xl.workbook.sheets.
dashboard`); its series are :class:`~retention_xl.workbook.plan.SeriesSpec`. Every
range has a fixed size, so a refreshed workbook keeps its charts untouched. LibreOffice
renders all of these chart kinds.
"""

from __future__ import annotations

from typing import Any

from retention_xl.workbook.plan import ChartSpec, SeriesSpec

__all__ = ["add_chart"]

#: Every chart is 480 x 300 pixels: three 22-character columns by 15 rows.
_SIZE = {"x_scale": 1.0, "y_scale": 1.04}


def _xl_series(sheet_title: str, spec: SeriesSpec, chart: ChartSpec) -> dict[str, Any]:
    r0, c0, r1, c1 = spec["values"]
    row, col = spec["name"]
    out: dict[str, Any] = {
        "values": [sheet_title, r0, c0, r1, c1],
        "categories": [sheet_title, *spec["categories"]],
        "name": [sheet_title, row, col],
    }
    if spec.get("marker"):
        out["marker"] = {"type": "circle", "size": 4}
    if spec.get("points"):
        out["points"] = [{"fill": {"color": c}} for c in spec.get("points", [])]
    if spec.get("y2_axis"):
        out["y2_axis"] = True
    if "line" in spec:
        out["line"] = dict(spec["line"])
    if chart.get("data_labels") == "percentage":
        out["data_labels"] = {"percentage": True, "font": {"bold": True, "size": 10}}
    if chart.get("mini"):
        out["line"] = {"color": "#1F4E78", "width": 1.25}
        out["marker"] = {"type": "none"}
    return out


def _sparkline_look(chart: Any) -> None:
    chart.set_title({"none": True})
    chart.set_legend({"none": True})
    chart.set_x_axis({"visible": False, "major_gridlines": {"visible": False}})
    chart.set_y_axis({"visible": False, "major_gridlines": {"visible": False}})
    chart.set_chartarea({"border": {"none": True}, "fill": {"none": True}})
    chart.set_plotarea(
        {
            "border": {"none": True},
            "fill": {"none": True},
            "layout": {"x": 0.08, "y": 0.1, "width": 0.84, "height": 0.8},
        }
    )


def _value_axis(spec: ChartSpec, title: str | None) -> dict[str, Any]:
    """The options of the value axis: title, number format, bounds, slanted numbers."""
    axis: dict[str, Any] = {}
    if title:
        axis["name"] = title
    if spec.get("y_format"):
        axis["num_format"] = spec["y_format"]
    if spec.get("y_min") is not None:
        axis["min"] = spec["y_min"]
    if spec.get("y_max") is not None:
        axis["max"] = spec["y_max"]
    if spec.get("value_labels_slanted"):
        axis["num_font"] = {"rotation": -45}
    return axis


def _set_axes_and_legend(chart: Any, spec: ChartSpec) -> None:
    """Axes and legend by chart type: a sparkline has neither, horizontal bars carry
    their values on x, a doughnut has no axes and its legend on the right."""
    if spec.get("mini"):
        _sparkline_look(chart)
        return
    if spec["type"] == "doughnut":
        chart.set_legend({"position": "right"})
        return
    if spec["type"] == "bar":  # horizontal bars: the value axis is x
        chart.set_x_axis(_value_axis(spec, spec.get("x_title")))
    else:
        x_axis: dict[str, Any] = {}
        if spec.get("x_title"):
            x_axis["name"] = spec["x_title"]
        if spec.get("x_labels_low"):
            x_axis["label_position"] = "low"
        if x_axis:
            chart.set_x_axis(x_axis)
        y_axis = _value_axis(spec, spec.get("y_title"))
        if y_axis:
            chart.set_y_axis(y_axis)
    chart.set_legend({"position": "bottom"})


def add_chart(workbook: Any, worksheet: Any, sheet_title: str, spec: ChartSpec) -> Any:
    """Create the chart of ``spec`` with XlsxWriter and insert it on ``worksheet``."""
    options: dict[str, Any] = {"type": spec["type"]}
    if spec.get("subtype"):
        options["subtype"] = spec["subtype"]
    chart = workbook.add_chart(options)
    for series in spec["series"]:
        chart.add_series(_xl_series(sheet_title, series, spec))
    if spec.get("line_series"):
        line = workbook.add_chart({"type": "line"})
        for series in spec["line_series"]:
            line.add_series(_xl_series(sheet_title, series, spec))
        if spec.get("y2_title"):
            line.set_y2_axis(
                {"name": spec["y2_title"], "num_format": spec.get("y2_format", "#,##0")}
            )
        chart.combine(line)
    _set_axes_and_legend(chart, spec)
    if not spec.get("mini"):
        chart.set_title({"name": spec["title"], "name_font": {"size": 12}})
    if spec.get("hidden_data"):
        chart.show_hidden_data()
    row, col = spec["anchor"]
    size = dict(_SIZE)
    if spec.get("size"):
        width, height = spec["size"]
        size = {"x_scale": width / 480, "y_scale": height / 288}
    worksheet.insert_chart(row, col, chart, size)
    return chart
