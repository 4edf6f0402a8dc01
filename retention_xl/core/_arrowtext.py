"""C-speed passes over Arrow-backed text columns, for order validation.

pandas keeps ``string`` columns in Arrow memory when pyarrow is installed (the default
from pandas 3). Converting such a column to Python objects costs more than the whole
analysis that follows, so :mod:`retention_xl.core.schema` hands Arrow-backed columns to
these functions and keeps its object-array path for everything else. Each function
returns ``None`` when its shortcut does not apply (missing cells, whitespace to strip);
the caller then takes the general path, which gives the same result and names the
offending cell.

Text order is code-point order, as in Python: Arrow compares UTF-8 bytes, which sort
in code-point order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from retention_xl.core._textwords import TextBytes, number_texts

__all__ = [
    "OrderIdRows",
    "arrow_text",
    "as_string_array",
    "clean_labels",
    "customer_codes",
    "label_masks",
    "order_id_rows",
]

#: Longest canonical decimal id read as a 64-bit integer (19 digits may overflow).
_MAX_DIGITS: Final = 18
#: The smallest number written with ``i`` digits and no leading zero (0 for one digit).
_LOWEST: Final = np.array([0, 0] + [10 ** (i - 1) for i in range(2, _MAX_DIGITS + 1)], np.int64)
#: Integer keys spanning fewer than this many values per row are coded by counting.
_DENSE_SPAN: Final = 4

IntArray = npt.NDArray[np.int64]


def arrow_text(series: pd.Series, *, allow_missing: bool = False) -> Any | None:
    """The column as one Arrow string array, or ``None``.

    ``None`` unless the column is Arrow-backed text (without missing cells unless
    ``allow_missing``).
    """
    dtype = series.dtype
    if not isinstance(dtype, pd.StringDtype) or dtype.storage != "pyarrow":
        return None
    import pyarrow as pa

    arr = pa.array(series.array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.null_count and not allow_missing:
        return None
    return arr


def as_string_array(arr: Any) -> pd.api.extensions.ExtensionArray:
    """An Arrow string array as the pandas ``string`` array over the same memory."""
    return pd.arrays.ArrowStringArray(arr)


def _edge_space(arr: Any) -> bool:
    """Whether any value starts or ends with whitespace (Python's ``str.isspace``).

    Only the distinct first and last characters reach Python.
    """
    import pyarrow.compute as pc

    for start, stop in ((0, 1), (-1, None)):
        edges = pc.unique(pc.utf8_slice_codeunits(arr, start, stop))
        if any(ch.isspace() for ch in edges.to_pylist()):
            return True
    return False


def _inverse(order: IntArray) -> IntArray:
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size, dtype=np.int64)
    return rank


def customer_codes(arr: Any) -> tuple[IntArray, pd.Index] | None:
    """Codes of the ids, in the sorted order of the distinct ids, and those ids.

    ``labels[codes]`` gives the column back; ``None`` when some id has whitespace to
    strip (ids that differ only by it are one id: the general path merges them).
    """
    import pyarrow.compute as pc

    numbered = _numbered_codes(arr)
    if numbered is not None:
        return numbered
    encoded = pc.dictionary_encode(arr)
    distinct = encoded.dictionary
    if _edge_space(distinct):
        return None
    order = np.asarray(pc.sort_indices(distinct), dtype=np.int64)
    indices = np.asarray(encoded.indices)
    codes = _inverse(order)[indices]
    labels = pd.Index(as_string_array(distinct.take(order)), dtype="string")
    return codes, labels


def _numbered_codes(arr: Any) -> tuple[IntArray, pd.Index] | None:
    """:func:`customer_codes` of ids made of one prefix and a number (``C000123``, ``8812``).

    ``None`` unless every id is the prefix of the first (its leading non-digit
    characters, no whitespace in front) followed by 1 to 18 ASCII digits. The digits are
    read as integers and ordered as text (:func:`_digit_text_keys`: the prefix is
    common, so this is the order of the ids). Up to 8 digits are read from the bytes
    in numpy (:class:`~retention_xl.core._textwords.TextBytes`), longer ones by Arrow.
    Keys that span no more than a few values per row are coded by marking the keys
    present (their rank among them is the code), without hashing; otherwise with
    :func:`pandas.factorize`. When every id has the same length,
    the distinct ids are written from their numbers (prefix and zero-padded digits)
    instead of being copied from the rows.
    """
    n = len(arr)
    if n == 0:
        return None
    first = arr[0].as_py()
    stop = next((i for i, ch in enumerate(first) if "0" <= ch <= "9"), len(first))
    prefix = first[:stop]
    if prefix[:1].isspace():
        return None
    text = TextBytes.of(arr)
    read = None if text is None else text.prefixed_numbers(prefix.encode("utf-8"))
    if read is None:
        read = _arrow_prefixed_numbers(arr, prefix)
        if read is None:
            return None
    numbers, lengths = read
    keys = (numbers,) if isinstance(lengths, int) else _digit_text_keys(numbers, lengths)
    if len(keys) != 1:
        return None
    key = keys[0]
    lo, hi = int(key.min()), int(key.max())
    codes: IntArray
    distinct: IntArray
    if hi - lo < _DENSE_SPAN * n:
        # made relative in place when the keys are this function's own array
        rel = np.subtract(key, lo, out=key if key.flags.writeable else None)
        present = np.zeros(hi - lo + 1, dtype=bool)
        present[rel] = True
        if bool(present.all()):  # every key in the span occurs: it is its own code
            codes = rel
            distinct = np.arange(lo, hi + 1, dtype=np.int64)
        else:
            rank = np.cumsum(present) - 1
            codes = rank[rel]
            distinct = np.flatnonzero(present) + lo
    else:
        found, uniques = pd.factorize(key, sort=True)
        codes = found.astype(np.int64, copy=False)
        distinct = np.asarray(uniques, dtype=np.int64)
    if isinstance(lengths, int):  # one width: the id is the prefix and its number
        written = number_texts(prefix.encode("utf-8"), distinct, lengths, arr.type)
        return codes, pd.Index(as_string_array(written), dtype="string")
    one_row = np.empty(distinct.size, dtype=np.intp)
    one_row[codes] = np.arange(n, dtype=np.intp)  # any row of a code holds its id
    labels = pd.Index(as_string_array(arr.take(one_row)), dtype="string")
    return codes, labels


def _arrow_prefixed_numbers(arr: Any, prefix: str) -> tuple[IntArray, IntArray] | None:
    """Numbers and digit counts of ids that are ``prefix`` and 1 to 18 digits, by Arrow.

    ``None`` when an id is not.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    digits = arr
    if prefix:
        if not pc.all(pc.starts_with(arr, prefix)).as_py():
            return None
        digits = _drop_prefix(arr, prefix)
    if not pc.all(pc.ascii_is_decimal(digits)).as_py():
        return None
    lengths = np.asarray(pc.binary_length(digits), dtype=np.int64)
    if int(lengths.max()) > _MAX_DIGITS:
        return None
    numbers = np.asarray(pc.cast(digits, pa.int64()), dtype=np.int64)
    return numbers, lengths


def _drop_prefix(arr: Any, prefix: str) -> Any:
    """Each string of ``arr`` (all start with ``prefix``) without it."""
    import pyarrow as pa
    import pyarrow.compute as pc

    as_bytes = {pa.string(): pa.binary(), pa.large_string(): pa.large_binary()}.get(arr.type)
    if as_bytes is None:
        return pc.utf8_slice_codeunits(arr, len(prefix))
    # Bytes are sliced without checking that each result is text (it is: a whole prefix
    # goes). ``stop`` is the longest length: without it pyarrow 26 sizes the output wrongly.
    raw = arr.view(as_bytes)
    longest = pc.max(pc.binary_length(raw)).as_py()
    return pc.binary_slice(raw, len(prefix.encode("utf-8")), longest).view(arr.type)


@dataclass(frozen=True, slots=True)
class OrderIdRows:
    """Where each distinct order id first occurs, and how the ids sort.

    ``is_first``: whether the row is the first with its id (one flag per row).
    ``sort_keys``: integer keys, least significant first (as :func:`numpy.lexsort`
    takes them), that order the rows by the text of their id.
    """

    is_first: npt.NDArray[np.bool_]
    sort_keys: tuple[IntArray, ...]


def _canonical_integers(arr: Any) -> tuple[IntArray, IntArray] | None:
    """Canonical decimal ids (no sign, no leading 0) as integers, and their lengths."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(arr) == 0 or not pc.all(pc.ascii_is_decimal(arr)).as_py():
        return None
    lengths = np.asarray(pc.binary_length(arr), dtype=np.int64)
    if int(lengths.max()) > _MAX_DIGITS:
        return None
    numbers = np.asarray(pc.cast(arr, pa.int64()), dtype=np.int64)
    if bool((numbers < _LOWEST[lengths]).any()):  # fewer digits than characters: a leading 0
        return None
    return numbers, lengths


def _first_of_runs(
    order: IntArray, same_as_previous: npt.NDArray[np.bool_]
) -> npt.NDArray[np.bool_]:
    """Flags of the rows that start a run of equal sorted values (``order`` sorts them)."""
    start = np.ones(order.size, dtype=bool)
    start[1:] = ~same_as_previous
    first = np.zeros(order.size, dtype=bool)
    first[order[start]] = True
    return first


def _digit_text_keys(numbers: IntArray, lengths: IntArray) -> tuple[IntArray, ...]:
    """Keys that sort canonical decimals as text: ``"10" < "9"``, ``"1" < "10"``.

    Padding each number with zeros to the longest width compares the digits as text
    does; when two padded values are equal one id is a prefix of the other, and the
    shorter sorts first. Up to 17 digits padded value and length share one key.
    """
    if numbers.size and int(lengths.min()) == int(lengths.max()):
        return (numbers,)  # one width: text order is number order
    width = int(lengths.max()) if lengths.size else 0
    scale = 10 ** np.arange(width, -1, -1, dtype=np.int64)
    padded = numbers * scale[lengths]
    if width < _MAX_DIGITS:
        padded *= width + 1
        padded += lengths
        return (padded,)
    return lengths, padded


def order_id_rows(arr: Any) -> OrderIdRows | None:
    """:class:`OrderIdRows` of an order-id column; ``None`` when an id has edge whitespace.

    Canonical decimal ids (the usual case) are compared as 64-bit integers, equal
    exactly when their text is; other ids are sorted as text.
    """
    import pyarrow.compute as pc

    short = _short_order_id_rows(arr)
    if short is not None:
        return short
    digits = _canonical_integers(arr)
    if digits is not None:
        numbers, lengths = digits
        if bool((numbers[1:] >= numbers[:-1]).all()):  # ascending, as exports list them
            first = np.concatenate(([True], numbers[1:] != numbers[:-1]))
        else:
            order = np.argsort(numbers, kind="stable").astype(np.int64)
            ordered = numbers[order]
            first = _first_of_runs(order, ordered[1:] == ordered[:-1])
        return OrderIdRows(is_first=first, sort_keys=_digit_text_keys(numbers, lengths))
    if _edge_space(arr):
        return None
    order = np.asarray(pc.sort_indices(arr), dtype=np.int64)
    ordered = arr.take(order)
    n = len(arr)
    same = np.asarray(pc.equal(ordered.slice(1), ordered.slice(0, max(n - 1, 0))), dtype=bool)
    return OrderIdRows(is_first=_first_of_runs(order, same), sort_keys=(_inverse(order),))


def _short_order_id_rows(arr: Any) -> OrderIdRows | None:
    """:func:`order_id_rows` of ids of at most 8 bytes (order numbers), from their words.

    Each id is one 64-bit word (:meth:`~retention_xl.core._textwords.TextBytes.short_words`)
    with its bytes reversed, so that words compare as the text does. Ids in ascending
    order of (length, text), as exports list order numbers (``999`` before ``1000``),
    are deduplicated without sorting: equal ids are neighbours. Otherwise the rows are
    sorted by (length, word). ``None`` when an id is longer, or has whitespace to strip.
    """
    text = TextBytes.of(arr)
    words = None if text is None or len(text) == 0 else text.short_words()
    if text is None or words is None:
        return None
    used = text.used()
    low, high = (int(used.min()), int(used.max())) if used.size else (0x21, 0x21)
    if not (low > 0x20 and high < 0x7F) and _edge_space(arr):  # printable ASCII: no space
        return None
    words.byteswap(inplace=True)  # big-endian: unsigned order is text order
    lengths = text.lengths
    # Neighbours of one length compare by their words; where the length changes, by it.
    same = words[1:] == words[:-1]
    after = words[1:] >= words[:-1]
    if text.width is None:
        change = np.flatnonzero(lengths[1:] != lengths[:-1])
        same[change] = False
        after[change] = lengths[change + 1] > lengths[change]
    if bool(after.all()):  # ascending: each run of equal ids starts where the id changes
        first = np.concatenate(([True], ~same))
    else:
        keys = (words,) if text.width is not None else (words, lengths)
        order = np.lexsort(keys).astype(np.int64)
        step = np.zeros(order.size - 1, dtype=bool)
        for key in keys:
            ordered = key[order]
            step |= ordered[1:] != ordered[:-1]
        first = _first_of_runs(order, ~step)
    signed = words if high < 0x80 else words ^ np.uint64(1 << 63)  # unsigned order kept
    sort_keys: tuple[IntArray, ...] = (signed.view(np.int64),)
    if low == 0 and text.width is None:  # a NUL byte: "a" < "a\0", same words
        if text.longest < 8:
            sort_keys = ((signed | lengths.astype(np.uint64)).view(np.int64),)
        else:
            sort_keys = (lengths, signed.view(np.int64))
    return OrderIdRows(is_first=first, sort_keys=sort_keys)


def label_masks(arr: Any, labels: Sequence[str]) -> dict[str, npt.NDArray[np.bool_]] | None:
    """Where each of ``labels`` occurs, when every value is exactly one of them.

    ``None`` when a value is missing or is none of ``labels`` (then the labels need
    cleaning). A few comparisons, no hashing: the usual case of a status column.

    >>> import pyarrow as pa
    >>> masks = label_masks(pa.array(["paid", "cancelled", "paid"]), ["paid", "cancelled"])
    >>> masks["cancelled"].tolist()
    [False, True, False]
    >>> label_masks(pa.array(["paid", "Paid"]), ["paid", "cancelled"]) is None
    True
    """
    import pyarrow.compute as pc

    if arr.null_count:
        return None
    masks: dict[str, npt.NDArray[np.bool_]] = {}
    covered = 0
    for label in labels:
        found = pc.equal(arr, label)
        covered += pc.sum(found).as_py() or 0
        masks[label] = found.to_numpy(zero_copy_only=False)
    return masks if covered == len(arr) else None


def clean_labels(
    arr: Any, default: str | None, clean: Callable[[str], str]
) -> tuple[pd.api.extensions.ExtensionArray | None, frozenset[str]]:
    """A column of a few labels, each cleaned once: the new column and its labels.

    The column comes back as ``None`` when every label is clean already and none is
    missing. Missing cells (Arrow nulls) become ``default`` (``None``: stay missing);
    the labels are the clean ones present, with ``default`` when it filled a cell.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(arr) and not arr.null_count and pc.all(pc.equal(arr, arr[0])).as_py():
        label = arr[0].as_py()  # one label, as the currency of a shop: no hashing
        cleaned_label = clean(label)
        if cleaned_label == label:
            return None, frozenset({label})
        column = pa.array([cleaned_label], type=arr.type).take(np.zeros(len(arr), dtype=np.intp))
        return as_string_array(column), frozenset({cleaned_label})
    encoded = pc.dictionary_encode(arr)
    raw = encoded.dictionary.to_pylist()
    cleaned = [clean(label) for label in raw]
    nulls = encoded.indices.null_count > 0
    present = set(cleaned) | ({default} if nulls and default is not None else set())
    if cleaned == raw and not (nulls and default is not None):
        return None, frozenset(present)
    table = pa.array([*cleaned, default], type=arr.type)
    indices = pc.fill_null(encoded.indices, len(cleaned))
    return as_string_array(table.take(indices)), frozenset(present)
