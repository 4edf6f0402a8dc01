"""Table rows rendered by Arrow compute kernels: the fast path of the table writer.

:mod:`~retention_xl.workbook.sheetxml` renders a table's rows block by block. With
pyarrow installed (the ``lake`` extra), a block is built here column by column with
Arrow's element-wise string kernels, without a Python object per cell: each cell is
``open + row + middle + value + close`` (``binary_join_element_wise``), a blank value
is a null that drops the whole cell, and the block's XML is the data buffer of the
joined row array, handed to the compressor as bytes without a join in Python. Without
pyarrow, :mod:`sheetxml` keeps its numpy path; both write the same cells, styles and
types.

Numbers are written by Arrow's shortest round-trip formatting (``57.57``, ``3``,
``1.5e-7``), which reads back as the same float64 as Python's ``repr``; only the text
of some numbers differs between the two paths (``3`` for ``3.0``).

Examples
--------
>>> import pandas as pd
>>> from retention_xl.workbook.plan import ColumnSpec, Table
>>> from retention_xl.workbook.sheetxml import _TableBlock
>>> frame = pd.DataFrame({"id": ["a&b", None], "n": [1.5, float("nan")]})
>>> block = _TableBlock(Table(frame, (ColumnSpec("id", "Id", None, "text"),
...     ColumnSpec("n", "N", None, "number"))), {})
>>> xml = str(block_bytes(block, 1, 3, {}), "utf-8")
>>> xml[:62]
'<row r="2"><c r="A2" t="inlineStr"><is><t>a&amp;b</t></is></c>'
>>> xml[62:]
'<c r="B2"><v>1.5</v></c></row><row r="3"></row>'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from retention_xl.workbook.cellxml import (
    DAY_NS,
    EPOCH_NS,
    FIRST_NS,
    ILLEGAL,
    MAX_TEXT,
    escape_clean,
    fit,
    preserve,
)

if TYPE_CHECKING:
    from retention_xl.workbook.sheetxml import _Column, _TableBlock

__all__ = ["block_bytes", "block_rows"]

_STR = pa.large_string()
#: What needs more than plain copying into ``<t>`` (RE2 syntax; see ``cellxml._SPECIAL``).
_SPECIAL = "[&<>\\x00-\\x1f\\x{FFFE}\\x{FFFF}]|_x[0-9A-Fa-f]{4}_|^[ \\n]|[ \\n]$"


def _lit(text: str) -> pa.Scalar:
    return pa.scalar(text, _STR)


def _piece(value: Any) -> Any:
    """A constant piece as a scalar, a per-row piece (object array) as an array."""
    return _lit(value) if isinstance(value, str) else pa.array(value, type=_STR)


def _join(*pieces: Any, drop_nulls: bool = False) -> pa.Array:
    if drop_nulls:
        return pc.binary_join_element_wise(
            *pieces, _lit(""), null_handling="replace", null_replacement=""
        )
    return pc.binary_join_element_wise(*pieces, _lit(""))


def _numbers(values: np.ndarray, blank: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(values, mask=blank if blank.any() else None), _STR)


def _cells(column: _Column, lo: int, hi: int, rows: pa.Array) -> list[Any]:
    """The cells of frame rows [lo, hi) of one column: its pieces (open, row, middle,
    value, close) when no cell is blank, else one array, null where a cell is blank.
    (Pieces go straight into the row join: one copy fewer.)"""
    part = column.series.iloc[lo:hi]
    kind = column.spec.kind
    s = column.s
    middle: Any = f'"{s}><v>'
    close: Any = "</v></c>"
    if kind == "number":
        values = part.to_numpy()
        if values.dtype.kind in "iu":
            text = _numbers(values, np.zeros(len(values), bool))
        else:
            blank = np.isnan(values)
            inf = np.isinf(values)
            text = _numbers(np.where(inf, 0.0, values), blank)
            if inf.any():
                text = pc.if_else(pa.array(inf), _lit("#NUM!"), text)
                mids = np.full(len(values), middle, dtype=object)
                mids[inf] = f'"{s} t="e"><v>'
                middle = mids
    elif kind == "date":
        ns = part.to_numpy().astype(np.int64)
        blank = part.isna().to_numpy()
        days = ns - EPOCH_NS
        if not np.any(days[~blank] % DAY_NS):
            text = _numbers(np.where(blank, 0, days // DAY_NS), blank)
        else:
            text = _numbers(days / DAY_NS, blank)
        early = ~blank & (ns < FIRST_NS)
        if early.any():
            iso = (
                part[early]
                .dt.strftime("%Y-%m-%d %H:%M:%S")
                .str.replace(" 00:00:00", "", regex=False)
                .to_numpy(dtype=object)
            )
            texts = np.array(text.to_pylist(), dtype=object)
            texts[early] = iso
            text = pa.array(texts, type=_STR)
            mids = np.full(len(ns), middle, dtype=object)
            mids[early] = f'"{s} t="inlineStr"><is><t>'
            closes = np.full(len(ns), close, dtype=object)
            closes[early] = "</t></is></c>"
            middle, close = mids, closes
    elif kind == "bool":
        blank = part.isna().to_numpy()
        flags = part.fillna(False).to_numpy(dtype=bool)
        text = pa.array(np.where(flags, "1", "0"), type=_STR, mask=blank if blank.any() else None)
        middle = f'"{s} t="b"><v>'
    else:
        text, middle = _texts(part, s)
        close = "</t></is></c>"
    pieces = [_lit(column.open), rows, _piece(middle), text, _piece(close)]
    return pieces if text.null_count == 0 else [_join(*pieces)]


def _texts(part: Any, s: str) -> tuple[pa.Array, Any]:
    """Text values escaped as :func:`sheetxml._cell_xml` escapes them (blank: null)."""
    middle: Any = f'"{s} t="inlineStr"><is><t>'
    try:
        text = pa.array(part, type=_STR, from_pandas=True)
    except (pa.ArrowException, UnicodeError):  # lone surrogates: cleaned in Python
        text = pa.array(
            [ILLEGAL.sub("", t) if isinstance(t, str) else None for t in part.tolist()],
            type=_STR,
        )
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    text = pc.if_else(pc.equal(text, _lit("")), pa.scalar(None, _STR), text)
    special = pc.or_(
        pc.match_substring_regex(text, _SPECIAL), pc.greater(pc.utf8_length(text), MAX_TEXT)
    )
    flagged = np.flatnonzero(special.fill_null(False).to_numpy(zero_copy_only=False))
    if flagged.size:
        clean = [fit(t) for t in text.take(pa.array(flagged)).to_pylist()]
        mask = np.zeros(len(text), bool)
        mask[flagged] = True
        text = pc.replace_with_mask(
            text, pa.array(mask), pa.array([escape_clean(t) for t in clean], type=_STR)
        )
        keep = flagged[[preserve(t) for t in clean]]
        if keep.size:
            mids = np.full(len(text), middle, dtype=object)
            mids[keep] = f'"{s} t="inlineStr"><is><t xml:space="preserve">'
            middle = mids
    return text, middle


def block_rows(
    block: _TableBlock, r0: int, r1: int, attrs: Mapping[int, str], *, row_tags: bool
) -> pa.Array:
    """Sheet rows [r0, r1) of a table, one string per row (with or without ``<row>``)."""
    lo, hi = r0 - block.first, r1 - block.first
    rows = pc.cast(pa.array(np.arange(r0 + 1, r1 + 1)), _STR)
    cells = [piece for column in block.columns for piece in _cells(column, lo, hi, rows)]
    if not row_tags:
        return _join(*cells, drop_nulls=True)
    opening: Any = '">'
    inside = {row - r0: f'" {extra}>' for row, extra in attrs.items() if r0 <= row < r1}
    if inside:
        opening = np.full(r1 - r0, opening, dtype=object)
        for i, text in inside.items():
            opening[i] = text
    return _join(_lit('<row r="'), rows, _piece(opening), *cells, _lit("</row>"), drop_nulls=True)


def block_bytes(
    block: _TableBlock, r0: int, r1: int, attrs: Mapping[int, str]
) -> bytes | memoryview:
    """The ``<row>`` elements of sheet rows [r0, r1) of a table, as UTF-8 bytes: a view
    of the data buffer of :func:`block_rows` (not copied)."""
    joined = block_rows(block, r0, r1, attrs, row_tags=True)
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int64)
    start, stop = offsets[joined.offset], offsets[joined.offset + len(joined)]
    data = joined.buffers()[2]
    return b"" if data is None or stop == start else memoryview(data)[start:stop]
