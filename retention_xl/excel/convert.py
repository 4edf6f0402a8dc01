"""Excel values in, Excel errors out: the one conversion layer for every host.

What the hosts pass
-------------------
Every argument of every function goes through this module, whatever the host:

=====================  =====================================  ==========================
cell content           classic xlwings (Windows, COM)         Office.js (Lite, Server)
=====================  =====================================  ==========================
one cell               a scalar                               a scalar (raw payload:
                                                              ``[[x]]``)
row or column range    a 1-D list (2-D with ``ndim=2``)       a 1-D list (2-D with
                                                              ``ndim=2``; raw: 2-D)
2-D range              nested lists, one list per row         the same
blank cell             ``None``                               ``None`` (raw: ``""``)
number                 ``float`` (integers too)               ``int`` or ``float``
boolean                ``True`` / ``False``                   the same
date                   ``datetime`` (date-formatted cells)    the serial number: hosts
                                                              do not see formats
text                   ``str``                                ``str``
error cell             ``"#N/A"``... (``err_to_str=True``)    the same (raw: a dict
                                                              ``{"type": "Error", ...}``)
=====================  =====================================  ==========================

Tuples (array constants such as ``{1,2,3}``), numpy arrays and pandas objects from
Python callers are accepted too.

The rules
---------
* Blank cells in ranges are ignored (a cell holding only spaces counts as blank).
* Numbers stored as text (``"12"``, ``"1,5"``) are refused with a message that shows
  the value and says how to convert it: the layer never guesses a locale.
* Booleans are refused where a number is needed; they are accepted as flags.
* Dates are ``datetime`` objects or Excel serial numbers in the 1900 date system
  (serial 1 = 1900-01-01; serial 60 is Lotus 1-2-3's 29 February 1900, which does not
  exist and is refused; from serial 61 on, date = 1899-12-30 + serial days). Text that
  looks like a date is refused: format the cells as dates.
* An error value in an argument (``#N/A`` in a looked-up cell, say) makes the result
  that same error, as Excel's own functions do.

Errors out
----------
:func:`error_result` turns any exception into what the host can show (see
:mod:`retention_xl.excel.hosts`): package errors carry their Excel value in
``excel_error`` (``#VALUE!``, ``#NUM!``, ``#DIV/0!``, ``#N/A``); anything else is a bug,
logged with its traceback and shown as ``#VALUE!`` with a one-line message, never a
traceback.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import math
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

from retention_xl.core._textgroups import PackedTexts
from retention_xl.errors import InputError, OutOfRangeError, RetentionError
from retention_xl.excel.hosts import Host

__all__ = [
    "ERROR_CODES",
    "MISSING",
    "CellErrorValue",
    "ExcelValueError",
    "aligned",
    "as_float_or_grid",
    "cell_error",
    "date",
    "error_result",
    "flags",
    "grid_with_errors",
    "id_keys",
    "ids",
    "number",
    "numbers",
    "serials_to_datetime64",
    "table",
    "text",
    "to_excel",
]

logger = logging.getLogger(__name__)

FloatArray: TypeAlias = npt.NDArray[np.float64]
Kind: TypeAlias = Literal["id", "date", "number", "flag"]

#: The error values a function can return: Office.js hosts turn exactly these strings
#: into real error cells.
ERROR_CODES: Final = frozenset({"#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!"})
#: Error values newer Excel versions may pass in; they come out as #VALUE!.
_OTHER_INPUT_ERRORS: Final = frozenset(
    {"#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#UNKNOWN!", "#BUSY!"}
)
_INPUT_ERRORS: Final = ERROR_CODES | _OTHER_INPUT_ERRORS | {"#GETTING_DATA"}


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


#: Default for a required argument: a blank cell is an error.
MISSING: Final = _Missing()

# Excel's 1900 date system: serial 1 is 1900-01-01, serial 60 the fictitious 1900-02-29.
_EXCEL_EPOCH: Final = np.datetime64("1899-12-30T00:00:00", "ns")
_LOTUS_LEAP_DAY: Final = 60
_MS_PER_DAY: Final = 86_400_000
# The last whole day pandas' datetime64[ns] can hold (2262-04-10), as a serial number.
_MIN_DATE: Final = dt.date(1900, 1, 1)
_MAX_DATE: Final = dt.date(2262, 4, 10)
_MAX_SERIAL: Final = float((_MAX_DATE - dt.date(1899, 12, 30)).days)
_MIN_STAMP: Final = np.datetime64(_MIN_DATE, "ns")
_END_STAMP: Final = np.datetime64(_MAX_DATE + dt.timedelta(days=1), "ns")
_TZINFO: Final = operator.attrgetter("tzinfo")
_NUMBER_TEXT = re.compile(r"^[+-]?\s*[€$£]?\s*[\d.,' \u00a0]*\d[\d.,' \u00a0]*\s*[%€$£]?$")


class CellErrorValue(InputError):
    """An argument holds an Excel error value; the result is that same error."""

    def __init__(self, code: str, name: str, where: str = "") -> None:
        super().__init__(
            f"{name}{where} holds the error {code}: fix the cell it comes from", argument=name
        )
        self.code = code
        self.excel_error = code if code in ERROR_CODES else "#VALUE!"


class ExcelValueError(Exception):
    """Raised to Office.js hosts for ``#VALUE!``: the host shows this message on hover.

    ``str()`` and ``repr()`` are both the plain message, so whichever one the host
    puts in front of the user reads well.
    """

    excel_error = "#VALUE!"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return self.message


# ---------------------------------------------------------------------------- shapes


def _flat(value: object, name: str) -> tuple[list[Any], int]:
    """Flatten what a host passed to a row-major list of cells; also the range width."""
    if isinstance(value, (list, tuple)):
        if not value:
            return [], 0
        kinds = set(map(type, value))
        if kinds <= {list, tuple}:
            widths = set(map(len, value))
            if len(widths) > 1:
                raise InputError(f"{name} has rows of different lengths", argument=name)
            width = widths.pop()
            if width == 1:
                flat = [row[0] for row in value]
            else:
                flat = list(itertools.chain.from_iterable(value))
            if set(map(type, flat)) & {list, tuple}:
                raise InputError(f"{name} is nested deeper than a 2-D range", argument=name)
            return flat, width
        if kinds & {list, tuple}:
            raise InputError(f"{name} mixes single cells and rows", argument=name)
        return list(value), 1
    if isinstance(value, (pd.Series, pd.Index)):
        return value.tolist(), 1
    if isinstance(value, pd.DataFrame):
        return value.to_numpy(dtype=object).reshape(-1).tolist(), value.shape[1]
    if isinstance(value, np.ndarray):
        if value.ndim > 2:
            raise InputError(f"{name} is nested deeper than a 2-D range", argument=name)
        width = 1 if value.ndim < 2 else value.shape[1]
        return value.reshape(-1).tolist(), width
    return [value], 1


@dataclass(frozen=True, slots=True)
class _Kept:
    """The layout of a range some of whose cells were left out (blank rows):
    ``positions[i]`` is where kept cell ``i`` stands in the row-major range."""

    positions: npt.NDArray[np.intp]
    width: int


#: How the cells of a flattened range lie: the range width, or :class:`_Kept`.
Layout: TypeAlias = "int | _Kept"


def _where(index: int, width: Layout) -> str:
    """Where cell ``index`` of the flattened range stands, for messages."""
    if isinstance(width, _Kept):
        index, width = int(width.positions[index]), width.width
    if width <= 1:
        return f" (cell {index + 1} of the range)"
    return f" (row {index // width + 1}, column {index % width + 1} of the range)"


def _unwrap(cell: object) -> object:
    """Office.js raw payload cells: {"type": "Error"/"Double"/..., "basicValue": ...}."""
    if isinstance(cell, dict):
        if cell.get("type") == "Error":
            return str(cell.get("basicValue") or "#VALUE!")
        return cell.get("basicValue")
    return cell


def _is_blank(cell: object) -> bool:
    if cell is None:
        return True
    if isinstance(cell, str):
        return not cell.strip()
    if isinstance(cell, float):
        return math.isnan(cell)
    try:
        return bool(pd.isna(cell))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return False


def _text_error(cell: str, name: str, where: str, wanted: str) -> InputError:
    if cell in _INPUT_ERRORS:
        return CellErrorValue(cell, name, where)
    if _NUMBER_TEXT.match(cell.strip()):
        return InputError(
            f"{name}{where} holds the number {cell!r} stored as text, which is not read "
            f"as a number: convert the cell to a number (the green triangle > Convert to "
            f"Number, or =VALUE())",
            argument=name,
        )
    return InputError(f"{name}{where} must be {wanted}, got the text {cell!r}", argument=name)


# ---------------------------------------------------------------------------- numbers


def _float_cell(cell: object, name: str, where: str) -> float:
    """One non-blank cell as a float, or the error that explains why not."""
    cell = _unwrap(cell)
    if isinstance(cell, (bool, np.bool_)):
        raise InputError(f"{name}{where} must be a number, got the boolean {cell!r}", argument=name)
    if isinstance(cell, (int, float, np.integer, np.floating)):
        out = float(cell)
        if math.isinf(out):
            raise OutOfRangeError(f"{name}{where} must be finite, got {cell!r}", argument=name)
        return out
    if isinstance(cell, str):
        raise _text_error(cell, name, where, "a number")
    if isinstance(cell, (dt.date, np.datetime64)):
        raise InputError(
            f"{name}{where} must be a number, got the date {cell!r}: check the range",
            argument=name,
        )
    raise InputError(f"{name}{where} must be a number, got {cell!r}", argument=name)


def _floats(flat: list[Any], width: Layout, name: str, *, keep_blanks: bool) -> FloatArray:
    """Cells to float64; blanks become NaN (kept) or are dropped."""
    kinds = set(map(type, flat))
    if kinds <= {float, int} or kinds <= {float, int, type(None)}:
        # The common case, vectorised: numbers and blanks only (None becomes NaN).
        arr = np.array(flat, dtype=np.float64)
        if np.isinf(arr).any():
            bad = int(np.flatnonzero(np.isinf(arr))[0])
            raise OutOfRangeError(
                f"{name}{_where(bad, width)} must be finite, got {flat[bad]!r}", argument=name
            )
    else:
        arr = np.empty(len(flat), dtype=np.float64)
        for i, cell in enumerate(flat):
            if type(cell) is float or type(cell) is int:
                arr[i] = cell
            elif _is_blank(cell):
                arr[i] = np.nan
            else:
                arr[i] = _float_cell(cell, name, _where(i, width))
        if np.isinf(arr).any():  # pragma: no cover - _float_cell refuses infinities
            raise OutOfRangeError(f"{name} must be finite", argument=name)
    if keep_blanks:
        return arr
    return arr[~np.isnan(arr)]


def numbers(value: object, name: str) -> FloatArray:
    """All the numbers in a cell or range, row by row, blanks left out.

    Examples
    --------
    >>> numbers([[1.0, None], [3, ""]], "scores").tolist()
    [1.0, 3.0]
    """
    if isinstance(value, np.ndarray) and value.dtype.kind in "iuf":
        arr = value.astype(np.float64).reshape(-1)
        if np.isinf(arr).any():
            raise OutOfRangeError(f"{name} must be finite", argument=name)
        return arr[~np.isnan(arr)]
    flat, width = _flat(value, name)
    return _floats(flat, width, name, keep_blanks=False)


def _one_cell(value: object, name: str) -> object:
    """The content of a single-cell argument (``None`` when blank)."""
    if isinstance(value, (list, tuple, np.ndarray, pd.Series, pd.DataFrame, pd.Index)):
        flat, _ = _flat(value, name)
        if len(flat) > 1:
            raise InputError(
                f"{name} takes one cell, got a range of {len(flat)} cells", argument=name
            )
        value = flat[0] if flat else None
    value = _unwrap(value)
    return None if _is_blank(value) else value


def number(value: object, name: str, default: Any = MISSING) -> Any:
    """One cell as a float; a blank cell gives ``default`` (an error when required).

    Examples
    --------
    >>> number([[12.0]], "customers_start")
    12.0
    >>> number(None, "gross_margin", default=1.0)
    1.0
    """
    cell = _one_cell(value, name)
    if cell is None:
        if default is MISSING:
            raise InputError(f"{name} is blank: enter a number", argument=name)
        return default
    return _float_cell(cell, name, "")


def as_float_or_grid(value: object, name: str) -> float | FloatArray:
    """A lifted numeric argument: one cell gives a float, a range a 2-D array.

    Blank cells inside a range become NaN, so the result is blank there; a 1-D list is
    read as a column. A blank single cell is an error.
    """
    if isinstance(value, np.ndarray) and value.dtype.kind in "iuf":
        arr = value.astype(np.float64)
        if arr.ndim == 0:
            return float(arr)
        return arr.reshape(-1, 1) if arr.ndim == 1 else arr
    if not isinstance(value, (list, tuple, np.ndarray, pd.Series, pd.DataFrame)):
        return float(number(value, name))
    flat, width = _flat(value, name)
    if len(flat) == 1:
        return float(number(flat[0], name))
    if not flat:
        raise InputError(f"{name} is an empty range", argument=name)
    arr = _floats(flat, width, name, keep_blanks=True)
    return arr.reshape(-1, width)


def grid_with_errors(value: object, name: str) -> tuple[FloatArray, dict[int, Exception]]:
    """A lifted range argument as a 2-D float array, and the cells that are not numbers.

    Unlike :func:`as_float_or_grid`, a text or an error value in one cell does not fail
    the whole range: that cell is NaN in the array and its error is returned by its
    row-major position, so the result is an error in that row alone, as Excel's own
    ``=B2:B13/C2:C13`` gives ``#DIV/0!`` in the bad row only.

    >>> arr, errors = grid_with_errors([[1.0], ["abc"], [3.0]], "lost")
    >>> arr.ravel().tolist()[::2], sorted(errors), type(errors[1]).__name__
    ([1.0, 3.0], [1], 'InputError')
    """
    if isinstance(value, np.ndarray) and value.dtype.kind in "iuf" and value.ndim <= 2:
        grid = value.astype(np.float64).reshape(value.shape[0], -1) if value.ndim else None
        if grid is not None and np.isfinite(grid[~np.isnan(grid)]).all():
            return grid, {}
    flat, width = _flat(value, name)
    if not flat:
        raise InputError(f"{name} is an empty range", argument=name)
    kinds = set(map(type, flat))
    if kinds <= {float, int, type(None)}:  # the common case, vectorised
        arr = np.array(flat, dtype=np.float64)
        if not np.isinf(arr).any():
            return arr.reshape(-1, max(width, 1)), {}
    errors: dict[int, Exception] = {}
    arr = np.empty(len(flat), dtype=np.float64)
    for i, cell in enumerate(flat):
        if type(cell) is float or type(cell) is int:
            arr[i] = cell
            if math.isinf(arr[i]):
                errors[i] = OutOfRangeError(
                    f"{name}{_where(i, width)} must be finite, got {cell!r}", argument=name
                )
                arr[i] = np.nan
        elif _is_blank(cell):
            arr[i] = np.nan
        else:
            try:
                arr[i] = _float_cell(cell, name, _where(i, width))
            except InputError as exc:
                errors[i] = exc
                arr[i] = np.nan
    return arr.reshape(-1, max(width, 1)), errors


def cell_error(exc: Exception, host: Host) -> str:
    """One cell's error as ``host`` shows it inside a spilled range.

    Office.js hosts get the bare code, which xlwings turns into a real error value
    (runtime 1.4+) for that cell alone; classic xlwings and plain Python get the code
    and the reason (``"#NUM! customers_lost (row 3) ..."``).
    """
    code = getattr(exc, "excel_error", None)
    if not (isinstance(code, str) and code in ERROR_CODES):
        code = "#VALUE!"
    if host is Host.OFFICEJS:
        return code
    return f"{code} {exc}"


# ---------------------------------------------------------------------------- text, flags


def text(
    value: object,
    name: str,
    default: Any = MISSING,
    *,
    choices: Sequence[str] | None = None,
) -> Any:
    """One cell of text, stripped and lower-cased; blank gives ``default``.

    Examples
    --------
    >>> text("  Repeat_Rate ", "kpi_name")
    'repeat_rate'
    """
    cell = _one_cell(value, name)
    if cell is None:
        if default is MISSING:
            raise InputError(f"{name} is blank: enter a text", argument=name)
        return default
    if not isinstance(cell, str):
        raise InputError(f"{name} must be a text, got {cell!r}", argument=name)
    if cell in _INPUT_ERRORS:
        raise CellErrorValue(cell, name)
    out = cell.strip().lower()
    if choices is not None and out not in choices:
        raise InputError(
            f"{name} must be one of {', '.join(repr(c) for c in choices)}, got {cell!r}",
            argument=name,
        )
    return out


def _flag_cell(cell: object, name: str, where: str) -> bool:
    cell = _unwrap(cell)
    if isinstance(cell, (bool, np.bool_)):
        return bool(cell)
    if isinstance(cell, (int, float, np.integer, np.floating)) and cell in (0, 1):
        return bool(cell)
    if isinstance(cell, str):
        raise _text_error(cell, name, where, "TRUE/FALSE or 1/0")
    raise InputError(f"{name}{where} must be TRUE/FALSE or 1/0, got {cell!r}", argument=name)


def flags(value: object, name: str) -> npt.NDArray[np.bool_]:
    """Booleans (or 1/0) from a range, blanks left out."""
    flat, width = _flat(value, name)
    return np.array(
        [_flag_cell(c, name, _where(i, width)) for i, c in enumerate(flat) if not _is_blank(c)],
        dtype=bool,
    )


# ---------------------------------------------------------------------------- ids


def _id_cell(cell: object, name: str, where: str) -> str:
    cell = _unwrap(cell)
    if isinstance(cell, str):
        if cell in _INPUT_ERRORS:
            raise CellErrorValue(cell, name, where)
        return cell.strip()
    if isinstance(cell, (bool, np.bool_)):
        raise InputError(f"{name}{where} must be an id, got the boolean {cell!r}", argument=name)
    if isinstance(cell, (int, np.integer)):
        return str(int(cell))
    if isinstance(cell, (float, np.floating)):
        if math.isinf(cell):
            raise InputError(f"{name}{where} must be an id, got {cell!r}", argument=name)
        # Excel passes every number as a float: 1001.0 is the id "1001".
        return str(int(cell)) if float(cell).is_integer() else repr(float(cell))
    raise InputError(f"{name}{where} must be an id (text or number), got {cell!r}", argument=name)


def _ids(flat: list[Any], width: Layout, name: str) -> npt.NDArray[np.object_]:
    """Non-blank cells to id strings (callers drop blank cells first)."""
    kinds = set(map(type, flat))
    if kinds <= {str}:
        if not _INPUT_ERRORS.isdisjoint(flat):
            bad = next(i for i, c in enumerate(flat) if c in _INPUT_ERRORS)
            raise CellErrorValue(flat[bad], name, _where(bad, width))
        return np.array([c.strip() for c in flat], dtype=object)
    if kinds <= {float, int}:
        arr = np.array(flat, dtype=np.float64)
        if np.isfinite(arr).all() and (arr == np.round(arr)).all() and np.abs(arr).max() < 2**53:
            return arr.astype(np.int64).astype(str).astype(object)
    return np.array([_id_cell(c, name, _where(i, width)) for i, c in enumerate(flat)], dtype=object)


def _column_of_texts(value: object) -> list[str] | None:
    """A one-column range of text and blank cells (``[["a"], [None], ...]``), stripped,
    blanks as ``""``, in one pass; ``None`` for anything else (a cell that is not text
    is caught by the caller)."""
    if not isinstance(value, list) or not value:
        return None
    try:
        return ["" if cell is None else cell.strip() for (cell,) in value]
    except (TypeError, ValueError, AttributeError):  # not one column, or a number
        return None


def ids(value: object, name: str) -> npt.NDArray[np.object_]:
    """Customer ids from a range as text, blanks left out (``1001.0`` becomes ``"1001"``).

    Examples
    --------
    >>> ids([["a"], [1001.0], [None], [" b "]], "customer_ids").tolist()
    ['a', '1001', 'b']
    """
    stripped = _column_of_texts(value)
    if (
        stripped is not None
        and set(map(type, stripped)) == {str}
        and all(stripped)  # what xlwings passes for a column of ids
    ):
        if not _INPUT_ERRORS.isdisjoint(stripped):
            bad = next(i for i, c in enumerate(stripped) if c in _INPUT_ERRORS)
            raise CellErrorValue(stripped[bad], name, _where(bad, 1))
        return np.array(stripped, dtype=object)
    flat, width = _flat(value, name)
    kinds = set(map(type, flat))
    if kinds <= {str}:
        stripped = [c.strip() for c in flat]
        if all(stripped):  # the usual case: text ids, no blank cells
            if not _INPUT_ERRORS.isdisjoint(stripped):
                bad = next(i for i, c in enumerate(stripped) if c in _INPUT_ERRORS)
                raise CellErrorValue(stripped[bad], name, _where(bad, width))
            return np.array(stripped, dtype=object)
    keep = ~_blank_mask(flat)
    if keep.all():
        return _ids(flat, width, name)
    kept = [cell for cell, k in zip(flat, keep.tolist(), strict=True) if k]
    return _ids(kept, _Kept(np.flatnonzero(keep), width), name)


# The bytes an error value can begin and end with, and its longest length, to find the
# few candidates among packed ids without a Python pass.
_ERROR_LAST_BYTES: Final = np.array(sorted({ord(code[-1]) for code in _INPUT_ERRORS}))
_ERROR_MAX_LENGTH: Final = max(map(len, _INPUT_ERRORS))


def id_keys(value: object, name: str) -> PackedTexts | npt.NDArray[np.int64]:
    """The ids of :func:`ids` in the form the core counts fastest.

    Text ids come packed in one buffer (:class:`~retention_xl.core._textgroups.
    PackedTexts`), checked for error values and with blanks left out, without a
    Python object per id beyond the host's own; a range of whole numbers comes as
    integers. The same ids, blanks and errors as :func:`ids`.

    Examples
    --------
    >>> id_keys([["a"], [" b"], [""], ["a"]], "customer_ids").texts()
    ['a', 'b', 'a']
    >>> id_keys([[1001.0], [None], [1002.0]], "customer_ids").tolist()
    [1001, 1002]
    """
    stripped = _column_of_texts(value)
    packed = PackedTexts.pack(stripped) if stripped is not None else None
    width = 1
    if packed is None:
        flat, width = _flat(value, name)
        kinds = set(map(type, flat))
        if flat and kinds <= {float, int, type(None)}:
            numbers = np.array(flat, dtype=np.float64)  # None (blank) becomes NaN
            numbers = numbers[~np.isnan(numbers)]
            if (
                np.isfinite(numbers).all()
                and (numbers == np.round(numbers)).all()
                and (np.abs(numbers) < 2**53).all()
            ):
                return numbers.astype(np.int64)
        if kinds <= {str}:
            packed = PackedTexts.pack([c.strip() for c in flat])
        if packed is None:  # mixed cells: the general path, then packed
            general = PackedTexts.pack(ids(value, name).tolist())
            assert general is not None  # ids are strings
            return general
    hashed = np.flatnonzero(packed.first_bytes() == ord("#"))  # usually none
    lengths = packed.lengths[hashed]
    last_bytes = packed.data[packed.starts[hashed] + lengths - 1]
    candidates = hashed[(lengths <= _ERROR_MAX_LENGTH) & np.isin(last_bytes, _ERROR_LAST_BYTES)]
    for i in candidates.tolist():
        if packed.source[i] in _INPUT_ERRORS:
            raise CellErrorValue(packed.source[i], name, _where(i, width))
    blank = packed.lengths == 0
    return packed.take(~blank) if blank.any() else packed


# ---------------------------------------------------------------------------- dates


def serials_to_datetime64(serials: FloatArray, name: str) -> npt.NDArray[np.datetime64]:
    """Excel 1900-system serial numbers to ``datetime64[ns]`` (fractions are times).

    Examples
    --------
    >>> serials_to_datetime64(np.array([1.0, 59.0, 61.0, 45292.5]), "d").astype(str).tolist()
    ['1900-01-01T00:00:00.000000000', '1900-02-28T00:00:00.000000000', \
'1900-03-01T00:00:00.000000000', '2024-01-01T12:00:00.000000000']
    """
    arr = np.asarray(serials, dtype=np.float64)
    bad = ~np.isfinite(arr) | (arr < 1) | (arr > _MAX_SERIAL)
    if bad.any():
        value = float(arr[bad][0])
        raise OutOfRangeError(
            f"{name}: {value!r} is not a date. Excel dates are serial numbers from 1 "
            f"(1900-01-01) to {_MAX_SERIAL:.0f} ({_MAX_DATE})",
            argument=name,
        )
    if (np.floor(arr) == _LOTUS_LEAP_DAY).any():
        raise OutOfRangeError(
            f"{name}: serial 60 is 29 February 1900, a day that never existed (Excel keeps "
            f"it only for compatibility with Lotus 1-2-3): enter a real date",
            argument=name,
        )
    days = np.where(arr < _LOTUS_LEAP_DAY, arr + 1.0, arr)
    millis = np.round(days * _MS_PER_DAY).astype(np.int64)
    return _EXCEL_EPOCH + millis.astype("timedelta64[ms]").astype("timedelta64[ns]")


def _date_cell(cell: object, name: str, where: str) -> np.datetime64:
    cell = _unwrap(cell)
    if isinstance(cell, (bool, np.bool_)):
        raise InputError(f"{name}{where} must be a date, got the boolean {cell!r}", argument=name)
    if isinstance(cell, (int, float, np.integer, np.floating)):
        first: np.datetime64 = serials_to_datetime64(np.array([float(cell)]), f"{name}{where}")[0]
        return first
    if isinstance(cell, (dt.date, np.datetime64)):
        try:
            stamp = pd.Timestamp(cell)
        except (ValueError, OverflowError):
            stamp = pd.Timestamp(dt.date.max)  # out of every range: refused below
        if pd.isna(stamp):
            raise InputError(f"{name}{where} is not a date ({cell!r})", argument=name)
        if stamp.tzinfo is not None:
            stamp = stamp.tz_localize(None)
        if not _MIN_DATE <= stamp.date() <= _MAX_DATE:
            raise OutOfRangeError(
                f"{name}{where}: {cell!r} is outside the dates Excel can hold here, "
                f"{_MIN_DATE} to {_MAX_DATE}",
                argument=name,
            )
        return np.datetime64(stamp.as_unit("ns").value, "ns")
    if isinstance(cell, str):
        if cell in _INPUT_ERRORS:
            raise CellErrorValue(cell, name, where)
        raise InputError(
            f"{name}{where} holds the text {cell!r}, not a date: format the cells as dates "
            f"(Excel stores a date as a number), or use =DATE(year, month, day)",
            argument=name,
        )
    raise InputError(f"{name}{where} must be a date, got {cell!r}", argument=name)


def _dates(flat: list[Any], width: Layout, name: str) -> npt.NDArray[np.datetime64]:
    kinds = set(map(type, flat))
    if kinds <= {float, int}:
        return serials_to_datetime64(np.array(flat, dtype=np.float64), name)
    if kinds == {dt.datetime} and set(map(_TZINFO, flat)) == {None}:
        # What classic xlwings passes for date cells: converted in C, then checked;
        # anything out of range goes to the cell-by-cell path for its message.
        try:
            stamps = pd.DatetimeIndex(flat).as_unit("ns").to_numpy()
        except (ValueError, OverflowError):
            stamps = None
        if stamps is not None and bool(((stamps >= _MIN_STAMP) & (stamps < _END_STAMP)).all()):
            return stamps
    out = np.empty(len(flat), dtype="datetime64[ns]")
    for i, cell in enumerate(flat):
        out[i] = _date_cell(cell, name, _where(i, width))
    return out


def date(value: object, name: str, default: Any = MISSING) -> Any:
    """One cell as a ``pandas.Timestamp``; a blank cell gives ``default``.

    Examples
    --------
    >>> date(45292, "as_of")
    Timestamp('2024-01-01 00:00:00')
    """
    cell = _one_cell(value, name)
    if cell is None:
        if default is MISSING:
            raise InputError(f"{name} is blank: enter a date", argument=name)
        return default
    return pd.Timestamp(_date_cell(cell, name, ""))


# ---------------------------------------------------------------------------- aligned ranges

_CONVERTERS: Final[dict[str, Callable[[list[Any], Layout, str], np.ndarray]]] = {
    "id": _ids,
    "date": _dates,
    "number": lambda flat, width, name: _floats(flat, width, name, keep_blanks=True),
    "flag": lambda flat, width, name: np.array(
        [_flag_cell(c, name, _where(i, width)) for i, c in enumerate(flat)], dtype=bool
    ),
}


def aligned(columns: dict[str, tuple[object, Kind]]) -> dict[str, np.ndarray]:
    """Ranges that hold one record per row (ids, dates, amounts...), checked and converted.

    All ranges must have the same number of cells. Rows blank in every range are
    dropped (ranges often reach past the data); a row blank in some ranges only is an
    error naming the row.

    Examples
    --------
    >>> out = aligned({"ids": ([["a"], ["b"], [None]], "id"),
    ...                "amounts": ([[1.0], [2.5], [None]], "number")})
    >>> out["ids"].tolist(), out["amounts"].tolist()
    (['a', 'b'], [1.0, 2.5])
    """
    flats: dict[str, tuple[list[Any], int]] = {}
    for name, (value, _kind) in columns.items():
        flats[name] = _flat(value, name)
    sizes = {name: len(flat) for name, (flat, _w) in flats.items()}
    if len(set(sizes.values())) > 1:
        listed = ", ".join(f"{name} has {n}" for name, n in sizes.items())
        raise InputError(
            f"the ranges must have the same number of cells ({listed}): select ranges of "
            f"the same height",
            argument=next(iter(sizes)),
        )
    names = list(flats)
    n = sizes[names[0]] if names else 0
    blank = {name: _blank_mask(flats[name][0]) for name in names}
    any_blank = np.zeros(n, dtype=bool)
    all_blank = np.ones(n, dtype=bool)
    for mask in blank.values():
        any_blank |= mask
        all_blank &= mask
    partial = any_blank & ~all_blank
    if partial.any():
        row = int(np.flatnonzero(partial)[0])
        empty = [name for name in names if blank[name][row]]
        filled = [name for name in names if not blank[name][row]]
        raise InputError(
            f"row {row + 1} of the ranges is incomplete: {', '.join(empty)} blank but "
            f"{', '.join(filled)} filled; fill the row or clear it",
            argument=empty[0],
        )
    keep = np.flatnonzero(~all_blank)
    out: dict[str, np.ndarray] = {}
    for name, (value, kind) in columns.items():
        flat, width = flats[name]
        layout: Layout = width
        if len(keep) != n:
            flat = [flat[i] for i in keep]
            layout = _Kept(keep, width)  # messages still name the cell in the range
        out[name] = _CONVERTERS[kind](flat, layout, name)
        del value
    return out


# Cell types that are never blank (pandas' Timestamp and NaT are other types).
_NEVER_BLANK: Final = frozenset({dt.datetime, dt.date, bool, int})


def _blank_mask(flat: list[Any]) -> npt.NDArray[np.bool_]:
    kinds = set(map(type, flat))
    if kinds <= {float, int}:
        arr = np.array(flat, dtype=np.float64)
        return np.isnan(arr)
    if kinds <= _NEVER_BLANK:
        return np.zeros(len(flat), dtype=bool)
    if kinds <= {str}:
        return np.fromiter(map(operator.not_, map(str.strip, flat)), dtype=bool, count=len(flat))
    if kinds <= {str, type(None)}:
        return np.fromiter((c is None or not c.strip() for c in flat), dtype=bool, count=len(flat))
    return np.fromiter((_is_blank(_unwrap(c)) for c in flat), dtype=bool, count=len(flat))


# ---------------------------------------------------------------------------- results out


def _out_cell(value: object) -> object:
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(value) else float(value)
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.to_pydatetime()
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else pd.Timestamp(value).to_pydatetime()
    if value is pd.NaT or value is pd.NA:
        return None
    return value


def to_excel(result: object) -> object:
    """A core result as cell values: floats, text, or a list of rows; NaN is blank."""
    if isinstance(result, pd.Series):
        result = result.to_numpy()
    if isinstance(result, np.ndarray):
        if result.ndim == 0:
            return to_excel(result.item())
        grid = result.reshape(-1, 1) if result.ndim == 1 else result
        if grid.dtype.kind == "f":  # numbers, vectorised: NaN and infinities are blank
            cells = grid.astype(object)
            cells[~np.isfinite(grid)] = None
            out: list[list[object]] = cells.tolist()
            return out
        return [[_out_cell(v) for v in row] for row in grid.tolist()]
    if isinstance(result, (float, np.floating)) and not math.isfinite(float(result)):
        raise OutOfRangeError(f"the result is not a finite number ({result!r})")
    return _out_cell(result)


def table(frame: pd.DataFrame, header: Sequence[object]) -> list[list[object]]:
    """A frame as a spilled table: the header row (text, or numbers such as month
    offsets), then one row per record."""
    rows: list[list[object]] = [list(header)]
    for record in frame.itertuples(index=False, name=None):
        rows.append([_out_cell(v) for v in record])
    return rows


# ---------------------------------------------------------------------------- errors out


def error_result(exc: Exception, function: str, host: Host) -> str:
    """The Excel error for ``exc`` as ``host`` can show it (see module docstring).

    Returns ``"#NUM! <reason>"`` for classic xlwings and plain Python, the bare code
    for Office.js hosts, and raises :class:`ExcelValueError` for Office.js ``#VALUE!``
    so that the reason shows on hover.
    """
    code = getattr(exc, "excel_error", None)
    if code in ERROR_CODES and isinstance(code, str):
        message = str(exc)
    elif isinstance(exc, (RetentionError, ExcelValueError)):
        code, message = "#VALUE!", str(exc)
    else:
        logger.exception("%s failed unexpectedly (a bug in retention_xl)", function)
        code = "#VALUE!"
        message = (
            f"{function} failed unexpectedly ({type(exc).__name__}); this is a bug in "
            f"retention_xl, please report it with the log"
        )
    if host is Host.OFFICEJS:
        if code == "#VALUE!":
            raise ExcelValueError(f"{function}: {message}") from None
        logger.info("%s returns %s: %s", function, code, message)
        return code
    return f"{code} {message}"
