"""The conversion layer: every value shape a host passes, in and out."""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np
import pandas as pd
import pytest
from excel_host_shapes import HOST_SHAPES, column_shapes, scalar_shapes
from hypothesis import given
from hypothesis import strategies as st

from retention_xl.errors import InputError, NotEnoughDataError, OutOfRangeError
from retention_xl.excel import convert
from retention_xl.excel.hosts import Host

EPOCH = dt.datetime(1899, 12, 30)


# ---------------------------------------------------------------------------- numbers


@pytest.mark.parametrize("host", [*HOST_SHAPES, "row"])
def test_numbers_from_every_host_shape_skip_blanks(host: str) -> None:
    value = column_shapes([3, None, 4.5, None, 0])[host]
    assert convert.numbers(value, "x").tolist() == [3.0, 4.5, 0.0]


@pytest.mark.parametrize("host", HOST_SHAPES)
def test_number_single_cell_every_host(host: str) -> None:
    assert convert.number(scalar_shapes(12)[host], "x") == 12.0


def test_numbers_two_d_range_row_by_row() -> None:
    assert convert.numbers([[1, 2], [None, 4]], "x").tolist() == [1.0, 2.0, 4.0]
    assert convert.numbers(((1.0, 2.0),), "x").tolist() == [1.0, 2.0]  # array constant


def test_numbers_spaces_only_cell_is_blank() -> None:
    assert convert.numbers([[1.0], ["   "], [""]], "x").tolist() == [1.0]


@pytest.mark.parametrize("text", ["12", "1,5", "1.234,56", " 7 ", "15%", "€ 10"])
def test_number_stored_as_text_refused_naming_the_value(text: str) -> None:
    with pytest.raises(InputError) as info:
        convert.numbers([[1.0], [text]], "scores")
    message = str(info.value)
    assert repr(text) in message
    assert "stored as text" in message
    assert "cell 2" in message
    assert info.value.excel_error == "#VALUE!"


def test_plain_text_refused_as_number() -> None:
    with pytest.raises(InputError, match="got the text 'abc'"):
        convert.number("abc", "customers_start")


@pytest.mark.parametrize("flag", [True, False])
def test_booleans_refused_as_numbers(flag: bool) -> None:
    with pytest.raises(InputError, match="boolean"):
        convert.numbers([[1.0], [flag]], "x")
    with pytest.raises(InputError, match="boolean"):
        convert.number(flag, "x")


def test_dates_refused_as_numbers() -> None:
    with pytest.raises(InputError, match="date"):
        convert.numbers([[dt.datetime(2024, 1, 1)]], "amounts")


def test_position_in_a_two_d_range_is_named() -> None:
    with pytest.raises(InputError, match=r"row 2, column 1"):
        convert.numbers([[1.0, 2.0], ["x", 3.0]], "x")


@pytest.mark.parametrize("code", ["#N/A", "#DIV/0!", "#NUM!", "#VALUE!", "#REF!"])
@pytest.mark.parametrize("host", HOST_SHAPES)
def test_error_values_in_a_range_propagate(code: str, host: str) -> None:
    value = column_shapes([1.0, code])[host]
    with pytest.raises(convert.CellErrorValue) as info:
        convert.numbers(value, "x")
    assert info.value.excel_error == code


def test_new_excel_errors_come_out_as_value() -> None:
    with pytest.raises(convert.CellErrorValue) as info:
        convert.numbers([["#SPILL!"]], "x")
    assert info.value.excel_error == "#VALUE!"


def test_number_blank_required_and_optional() -> None:
    for blank in (None, "", [[None]], [[""]], [[]]):
        with pytest.raises(InputError, match="blank"):
            convert.number(blank, "x")
        assert convert.number(blank, "x", default=4.0) == 4.0


def test_number_refuses_a_range() -> None:
    with pytest.raises(InputError, match="one cell, got a range of 3 cells"):
        convert.number([[1.0], [2.0], [3.0]], "threshold")


def test_infinite_numbers_refused() -> None:
    with pytest.raises(OutOfRangeError):
        convert.numbers([1.0, float("inf")], "x")


def test_as_float_or_grid_shapes() -> None:
    assert convert.as_float_or_grid([[5]], "x") == 5.0
    assert convert.as_float_or_grid(5, "x") == 5.0
    grid = convert.as_float_or_grid([[1, None], [3, 4]], "x")
    assert isinstance(grid, np.ndarray)
    assert grid.shape == (2, 2)
    assert np.isnan(grid[0, 1])
    column = convert.as_float_or_grid([1, 2, 3], "x")
    assert isinstance(column, np.ndarray)
    assert column.shape == (3, 1)


def test_ragged_and_deep_ranges_refused() -> None:
    with pytest.raises(InputError, match="different lengths"):
        convert.numbers([[1, 2], [3]], "x")
    with pytest.raises(InputError, match="deeper"):
        convert.numbers([[[1]]], "x")
    with pytest.raises(InputError, match="mixes"):
        convert.numbers([1, [2]], "x")


# ---------------------------------------------------------------------------- text, ids, flags


def test_text_lowercased_with_default_and_choices() -> None:
    assert convert.text([["  Revenue "]], "measure") == "revenue"
    assert convert.text(None, "measure", default="customers") == "customers"
    with pytest.raises(InputError, match="must be one of"):
        convert.text("weekly", "measure", choices=("customers", "revenue"))
    with pytest.raises(InputError, match="must be a text"):
        convert.text(3.0, "kpi_name")
    with pytest.raises(convert.CellErrorValue):
        convert.text("#N/A", "kpi_name")


@pytest.mark.parametrize("host", HOST_SHAPES)
def test_ids_numbers_become_whole_number_text(host: str) -> None:
    value = column_shapes([1001, "a", None, " b "])[host]
    assert convert.ids(value, "customer_ids").tolist() == ["1001", "a", "b"]


def test_ids_all_numeric_fast_path_matches_cell_by_cell() -> None:
    assert convert.ids([[1.0], [2.0], [1.0]], "ids").tolist() == ["1", "2", "1"]
    assert convert.ids([[1.5], [2.0]], "ids").tolist() == ["1.5", "2"]


def test_ids_refuse_booleans_and_propagate_errors() -> None:
    with pytest.raises(InputError, match="boolean"):
        convert.ids([["a"], [True]], "customer_ids")
    with pytest.raises(convert.CellErrorValue) as info:
        convert.ids([["a"], ["#N/A"]], "customer_ids")
    assert info.value.excel_error == "#N/A"


def _id_keys_as_text(value: object) -> list[str]:
    keys = convert.id_keys(value, "customer_ids")
    if isinstance(keys, np.ndarray):
        return [str(k) for k in keys.tolist()]
    return keys.texts()


@pytest.mark.parametrize("host", HOST_SHAPES)
def test_id_keys_are_the_ids_of_ids(host: str) -> None:
    for cells in (
        [1001, "a", None, " b ", "#1001", "a"],
        ["C1", "C2", "C1"],
        ["C1", " ", "", "C1"],
        [1001, 1002, None, 1001],
        [1.5, 2, "x"],
    ):
        value = column_shapes(cells)[host]
        assert _id_keys_as_text(value) == convert.ids(value, "customer_ids").tolist(), cells


@given(
    st.lists(
        st.one_of(
            st.sampled_from(["a", " a", "b ", "", "   ", "#1001", "é", "a\x00", "x" * 70]),
            st.none(),
            st.integers(-5, 5).map(float),
            st.sampled_from([1.5, 1e15]),
        ),
        max_size=30,
    ),
    st.sampled_from(["classic-ndim2", "officejs", "raw"]),
)
def test_id_keys_agree_with_ids_on_any_column(cells: list[object], host: str) -> None:
    value = column_shapes(cells)[host]
    assert _id_keys_as_text(value) == convert.ids(value, "customer_ids").tolist()


def test_id_keys_two_d_range_and_whole_numbers() -> None:
    assert _id_keys_as_text([["a", "b"], ["a", ""]]) == ["a", "b", "a"]
    keys = convert.id_keys([[5_000_000_000_001.0], [None], [5_000_000_000_001.0]], "ids")
    assert isinstance(keys, np.ndarray) and keys.tolist() == [5_000_000_000_001] * 2


@pytest.mark.parametrize("code", ["#N/A", "#DIV/0!", "#NAME?", "#GETTING_DATA"])
def test_id_keys_error_values_propagate_with_the_cell(code: str) -> None:
    with pytest.raises(convert.CellErrorValue, match="cell 3 of the range") as info:
        convert.id_keys([["a"], ["#1001"], [code], ["b"]], "customer_ids")
    assert info.value.code == code
    with pytest.raises(convert.CellErrorValue, match="row 2, column 1"):
        convert.id_keys([["a", "b"], [code, "c"]], "customer_ids")


def test_cells_after_blank_rows_are_named_where_they_stand() -> None:
    # Blank rows are left out before the cells are converted; messages still name the
    # cell's own place in the range.
    with pytest.raises(InputError, match=r"cell 3 of the range"):
        convert.ids([["a"], [None], [True]], "customer_ids")
    with pytest.raises(convert.CellErrorValue, match=r"cell 4 of the range"):
        convert.id_keys([["a"], [None], [""], ["#N/A"]], "customer_ids")
    with pytest.raises(InputError, match=r"order_dates \(cell 3 of the range\)"):
        convert.aligned(
            {
                "ids": ([["a"], [None], ["b"]], "id"),
                "order_dates": ([[45000.0], [None], ["x"]], "date"),
            }
        )
    with pytest.raises(InputError, match=r"row 3, column 2 of the range"):
        convert.aligned(
            {
                "ids": ([["a", "b"], [None, None], ["c", "d"]], "id"),
                "amounts": ([[1.0, 2.0], [None, None], [3.0, "x"]], "number"),
            }
        )


def test_id_keys_column_with_classic_blank_cells() -> None:
    value = [["a"], [None], [" b"], [None], ["a"]]
    assert _id_keys_as_text(value) == ["a", "b", "a"] == convert.ids(value, "ids").tolist()


def test_id_keys_refuse_booleans() -> None:
    with pytest.raises(InputError, match="boolean"):
        convert.id_keys([["a"], [True]], "customer_ids")


def test_flags_accept_booleans_and_one_zero() -> None:
    assert convert.flags([[True], [0], [1.0], [None], [False]], "ended").tolist() == [
        True,
        False,
        True,
        False,
    ]
    with pytest.raises(InputError, match="TRUE/FALSE"):
        convert.flags([[2.0]], "ended")
    with pytest.raises(InputError):
        convert.flags([["yes"]], "ended")


# ---------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("serial", "expected"),
    [
        (1, dt.datetime(1900, 1, 1)),
        (59, dt.datetime(1900, 2, 28)),
        (61, dt.datetime(1900, 3, 1)),
        (45292, EPOCH + dt.timedelta(days=45292)),
        (45292.75, EPOCH + dt.timedelta(days=45292, hours=18)),
        (2958465 - 2958465 + 100000, EPOCH + dt.timedelta(days=100000)),
    ],
)
def test_serials_follow_the_1900_date_system(serial: float, expected: dt.datetime) -> None:
    assert convert.date(serial, "as_of") == pd.Timestamp(expected)
    assert convert.date([[float(serial)]], "as_of") == pd.Timestamp(expected)


def test_serial_45292_is_new_year_2024() -> None:
    # Excel: =DATE(2024,1,1) displays 45292 when formatted as a number.
    assert convert.date(45292, "as_of") == pd.Timestamp("2024-01-01")


@pytest.mark.parametrize("serial", [60, 60.5, 0, -1, 0.5, 1e9, float("nan")])
def test_impossible_serials_refused(serial: float) -> None:
    with pytest.raises((OutOfRangeError, InputError)):
        convert.serials_to_datetime64(np.array([serial]), "order_dates")


def test_serial_60_message_explains_lotus() -> None:
    with pytest.raises(OutOfRangeError, match="Lotus"):
        convert.date(60, "as_of")


def test_dates_accept_datetime_date_timestamp_and_drop_timezones() -> None:
    tz = dt.timezone(dt.timedelta(hours=2))
    cells = [
        [dt.datetime(2024, 1, 5, 10, 30)],
        [dt.date(2024, 1, 6)],
        [pd.Timestamp("2024-01-07")],
        [dt.datetime(2024, 1, 8, tzinfo=tz)],
        [45300.0],
    ]
    out = convert.aligned({"d": (cells, "date")})["d"]
    assert pd.DatetimeIndex(out).tolist() == [
        pd.Timestamp("2024-01-05 10:30"),
        pd.Timestamp("2024-01-06"),
        pd.Timestamp("2024-01-07"),
        pd.Timestamp("2024-01-08"),
        pd.Timestamp(EPOCH + dt.timedelta(days=45300)),
    ]


def test_datetime_columns_converted_at_once_equal_cell_by_cell() -> None:
    cells = [
        dt.datetime(1900, 1, 1),
        dt.datetime(2024, 2, 29, 23, 59, 59, 999_999),
        dt.datetime(2262, 4, 10, 12),
        dt.datetime(2024, 1, 5),
    ]
    fast = convert.aligned({"d": ([[c] for c in cells], "date")})["d"]
    one_by_one = [convert.date(c, "d") for c in cells]
    assert pd.DatetimeIndex(fast).tolist() == one_by_one


@pytest.mark.parametrize(
    "bad", [dt.datetime(1899, 12, 31), dt.datetime(2262, 4, 11), dt.datetime(9999, 1, 1)]
)
def test_datetime_column_out_of_range_names_the_cell(bad: dt.datetime) -> None:
    cells = [[dt.datetime(2024, 1, 1)], [bad]]
    with pytest.raises(OutOfRangeError, match="cell 2 of the range"):
        convert.aligned({"d": (cells, "date")})


def test_blank_rows_among_datetimes_and_text_ids_are_dropped() -> None:
    out = convert.aligned(
        {
            "ids": ([["a"], ["  "], [None], ["b"]], "id"),
            "d": ([[dt.datetime(2024, 1, 1)], [None], [""], [dt.datetime(2024, 1, 2)]], "date"),
        }
    )
    assert out["ids"].tolist() == ["a", "b"]
    assert pd.DatetimeIndex(out["d"]).day.tolist() == [1, 2]


def test_text_dates_refused() -> None:
    with pytest.raises(InputError, match="'31/01/2024', not a date"):
        convert.date("31/01/2024", "as_of")


def test_blank_date_uses_default() -> None:
    assert convert.date([[""]], "as_of", default=None) is None


# ---------------------------------------------------------------------------- aligned ranges


def test_aligned_drops_blank_rows_and_converts() -> None:
    out = convert.aligned(
        {
            "ids": ([["a"], [None], [7.0], [""]], "id"),
            "dates": ([[45292.0], [None], [dt.datetime(2024, 2, 1)], [""]], "date"),
            "amounts": ([[10.0], [None], [5], [None]], "number"),
        }
    )
    assert out["ids"].tolist() == ["a", "7"]
    assert out["amounts"].tolist() == [10.0, 5.0]
    assert pd.DatetimeIndex(out["dates"]).tolist() == [
        pd.Timestamp("2024-01-01"),
        pd.Timestamp("2024-02-01"),
    ]


def test_aligned_refuses_ranges_of_different_sizes() -> None:
    with pytest.raises(InputError, match="ids has 2, amounts has 3"):
        convert.aligned(
            {"ids": ([["a"], ["b"]], "id"), "amounts": ([[1.0], [2.0], [3.0]], "number")}
        )


def test_aligned_names_an_incomplete_row() -> None:
    with pytest.raises(InputError, match="row 2 of the ranges is incomplete: amounts blank"):
        convert.aligned({"ids": ([["a"], ["b"]], "id"), "amounts": ([[1.0], [None]], "number")})


# ---------------------------------------------------------------------------- results out


def test_to_excel_scalars_arrays_and_nan() -> None:
    assert convert.to_excel(np.float64(0.25)) == 0.25
    assert isinstance(convert.to_excel(np.float64(0.25)), float)
    assert convert.to_excel(np.array([[1.0, np.nan]])) == [[1.0, None]]
    assert convert.to_excel(np.array([1.0, 2.0])) == [[1.0], [2.0]]
    assert convert.to_excel("healthy") == "healthy"
    with pytest.raises(OutOfRangeError):
        convert.to_excel(float("nan"))


def test_table_has_header_and_blank_for_nan() -> None:
    frame = pd.DataFrame(
        {"c": ["2024-01"], "n": [np.int64(3)], "x": [np.nan], "d": [pd.Timestamp("2024-01-01")]}
    )
    rows = convert.table(frame, ["cohort", "n", "x", "d"])
    assert rows == [["cohort", "n", "x", "d"], ["2024-01", 3, None, dt.datetime(2024, 1, 1)]]
    assert type(rows[1][1]) is int


# ---------------------------------------------------------------------------- errors out


def test_error_result_classic_and_python_return_code_and_reason() -> None:
    exc = NotEnoughDataError("scores has no answers", argument="scores")
    for host in (Host.CLASSIC, Host.PYTHON):
        assert convert.error_result(exc, "NPS", host) == "#N/A scores has no answers"


def test_error_result_officejs_returns_bare_code() -> None:
    exc = OutOfRangeError("scores must be whole numbers from 0 to 10, got 11.0")
    assert convert.error_result(exc, "NPS", Host.OFFICEJS) == "#NUM!"


def test_error_result_officejs_raises_value_with_message() -> None:
    exc = InputError("scores must be a number, got the text 'x'")
    with pytest.raises(convert.ExcelValueError) as info:
        convert.error_result(exc, "NPS", Host.OFFICEJS)
    assert str(info.value) == "NPS: scores must be a number, got the text 'x'"
    assert repr(info.value) == str(info.value)


def test_unexpected_errors_are_value_with_logged_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken() -> None:
        raise KeyError("internal detail")

    try:
        broken()
    except KeyError as exc:
        with caplog.at_level(logging.ERROR, logger="retention_xl.excel.convert"):
            text = convert.error_result(exc, "CHURN", Host.CLASSIC)
    assert text.startswith("#VALUE! CHURN failed unexpectedly (KeyError)")
    assert "Traceback" not in text and "internal detail" not in text
    assert any(r.exc_info for r in caplog.records)
    assert "Traceback" in caplog.text
