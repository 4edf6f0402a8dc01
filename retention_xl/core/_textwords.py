"""Arrow text read as 64-bit words: short ids, prefixes and digits in numpy passes.

An Arrow string array is one buffer of UTF-8 bytes and the offset where each value
starts. Reading the 8 bytes at each start as one little-endian 64-bit integer (an
unaligned view of the buffer; when every value has the same length, a strided view
without any gather) turns per-string work into a few numpy passes over integers:

* a value of at most 8 bytes is its word, the bytes past its end cleared, with its
  length; the word with its bytes reversed (big-endian) orders values as text does
  (:meth:`TextBytes.short_words`);
* a common prefix is one comparison per value, and up to 8 ASCII digits after it are
  checked and read with three multiply-and-shift steps that join neighbouring digits
  into pairs, fours and eights (:func:`digit_values`; the SWAR method of simdjson's
  ``parse_eight_digits_unrolled``);
* :func:`number_texts` writes prefix and zero-padded numbers back as an Arrow array.

Each function returns ``None`` when its case does not apply; callers then take the
general Arrow kernels, which give the same result.

Examples
--------
>>> import pyarrow as pa
>>> text = TextBytes.of(pa.array(["C007", "C012", "C100"]))
>>> text.width
4
>>> text.prefixed_numbers(b"C")[0].tolist()
[7, 12, 100]
>>> number_texts(b"C", np.array([7, 12]), 3, pa.string()).to_pylist()
['C007', 'C012']
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

__all__ = ["TextBytes", "digit_values", "digit_words", "number_texts"]

IntArray = npt.NDArray[np.int64]
WordArray = npt.NDArray[np.uint64]

_WORD: Final = 8
#: Values of one length in at most this many runs are read through strided views.
_MAX_RUNS: Final = 64
#: Values read at a time by block-wise passes (a few arrays of this many words fit in a
#: core's cache, and the same memory serves every block).
_BLOCK: Final = 1 << 16
#: ``_LOW_BYTES[k]`` keeps the first ``k`` bytes of a little-endian word.
_LOW_BYTES: Final = np.array([(1 << (8 * k)) - 1 for k in range(_WORD + 1)], dtype=np.uint64)
#: ``_ZERO_FILL[k]``: ASCII ``0`` in the first ``8 - k`` bytes (the padding in front
#: of a number of ``k`` digits moved to the end of a word).
_ZERO_FILL: Final = np.array(
    [int.from_bytes(b"0" * (_WORD - k), "little") for k in range(_WORD + 1)], dtype=np.uint64
)


class _WordReader:
    """Little-endian 64-bit words at any byte of a buffer; past its end, zero bytes."""

    def __init__(self, data: npt.NDArray[np.uint8]) -> None:
        size = data.size
        self.last = size - _WORD  # the last position with a whole word inside the buffer
        self.at_byte = (
            np.ndarray((self.last + 1,), dtype="<u8", buffer=data, strides=(1,))
            if self.last >= 0
            else np.zeros(0, dtype=np.uint64)
        )
        keep = min(size, _WORD)
        tail = np.zeros(2 * _WORD, dtype=np.uint8)
        tail[:keep] = data[size - keep :]
        self.tail_from = size - keep
        self.tail = np.ndarray((_WORD + 1,), dtype="<u8", buffer=tail, strides=(1,))

    def strided(self, out: WordArray, start: int, step: int) -> None:
        """``out[j]``: the word at ``start + j * step``."""
        n = out.size
        if start > self.last:
            inside = 0
        elif step == 0:
            inside = n
        else:
            inside = min(n, (self.last - start) // step + 1)
        if inside:
            out[:inside] = (
                self.at_byte[start : start + step * inside : step] if step else self.at_byte[start]
            )
        if inside < n:  # the last few values: from the zero-padded copy of the end
            positions = start + step * np.arange(inside, n, dtype=np.int64)
            out[inside:] = self.tail[positions - self.tail_from]

    def gather(self, out: WordArray, positions: IntArray) -> None:
        """``out[j]``: the word at ``positions[j]`` (ascending)."""
        beyond = np.flatnonzero(positions > self.last)
        inside = int(beyond[0]) if beyond.size else positions.size
        out[:inside] = self.at_byte[positions[:inside]]
        if inside < positions.size:
            out[inside:] = self.tail[positions[inside:] - self.tail_from]


def _common_width(offsets: IntArray) -> int | None:
    """The length in bytes shared by every value, or ``None`` (checked block by block)."""
    n = offsets.size - 1
    if n <= 0:
        return None
    total = int(offsets[n] - offsets[0])
    width = total // n
    if total != width * n:
        return None
    for lo in range(0, n, _BLOCK):
        if not bool((np.diff(offsets[lo : lo + _BLOCK + 1]) == width).all()):
            return None
    return width


def digit_values(words: WordArray, digits: int | IntArray) -> IntArray | None:
    """The numbers written in the first ``digits`` bytes (1 to 8) of each word.

    ``words`` hold text little-endian (first character in the lowest byte); bytes past
    ``digits`` are ignored. ``None`` when one of the bytes is not an ASCII digit.

    Each word is shifted so that its digits end it and the bytes in front become ``0``:
    ``"42"`` reads as ``"00000042"``. Subtracting ``0x30`` from every byte leaves eight
    digit values ``d_0 .. d_7`` (one check finds a non-digit). Then
    ``10 d_{2i} + d_{2i+1}`` (pairs), ``100 p_{2j} + p_{2j+1}`` (fours) and
    ``10^4 q_0 + q_1`` are each one multiplication and one shift of the whole word.

    >>> import numpy as np
    >>> words = np.frombuffer(b"12345678" + b"42xxxxxx", dtype="<u8")
    >>> digit_values(words, np.array([8, 2])).tolist()
    [12345678, 42]
    >>> digit_values(words, 3) is None  # "42x"
    True
    """
    if isinstance(digits, int):
        shift: np.uint64 | WordArray = np.uint64(8 * (_WORD - digits))
        fill: np.uint64 | WordArray = _ZERO_FILL[digits]
    else:
        shift = (_WORD - digits).astype(np.uint64)
        shift <<= np.uint64(3)
        fill = _ZERO_FILL[digits]
    x = np.left_shift(words, shift)
    x |= fill
    as_bytes = x.view(np.uint8)
    as_bytes -= np.uint8(0x30)
    if x.size and int(as_bytes.max()) > 9:
        return None
    x *= np.uint64(10 * 256 + 1)
    x >>= np.uint64(8)
    x &= np.uint64(0x00FF00FF00FF00FF)
    x *= np.uint64(100 * 65536 + 1)
    x >>= np.uint64(16)
    x &= np.uint64(0x0000FFFF0000FFFF)
    x *= np.uint64(10000 * (1 << 32) + 1)
    x >>= np.uint64(32)
    return x.view(np.int64)


@dataclass(frozen=True, slots=True)
class TextBytes:
    """The UTF-8 bytes of an Arrow string array without missing values.

    ``data`` is the array's value buffer; value ``i`` is
    ``data[offsets[i]:offsets[i + 1]]``. ``width`` is the common length in bytes when
    every value has one (then no per-value offsets need to be read), else ``None``.
    """

    data: npt.NDArray[np.uint8]
    offsets: IntArray
    lengths: IntArray
    width: int | None

    @classmethod
    def of(cls, arr: Any) -> TextBytes | None:
        """The bytes of ``arr`` (``string`` or ``large_string``); ``None`` with nulls."""
        import pyarrow as pa

        large = pa.types.is_large_string(arr.type)
        if arr.null_count or not (large or pa.types.is_string(arr.type)):
            return None
        n = len(arr)
        size = 8 if large else 4
        _, offset_buffer, data_buffer = arr.buffers()
        offsets = np.frombuffer(
            offset_buffer,
            dtype=np.int64 if size == 8 else np.int32,
            count=n + 1,
            offset=arr.offset * size,
        ).astype(np.int64, copy=False)
        data = (
            np.zeros(0, dtype=np.uint8)
            if data_buffer is None
            else np.frombuffer(data_buffer, dtype=np.uint8)
        )
        width = _common_width(offsets)
        lengths = (
            np.diff(offsets) if width is None else np.broadcast_to(np.int64(width), (n,))
        )  # one width: a view of one number, no array
        return cls(data, offsets, lengths, width)

    def __len__(self) -> int:
        return int(self.lengths.size)

    @property
    def longest(self) -> int:
        """Length in bytes of the longest value (0 when there is none)."""
        if self.width is not None:
            return self.width
        return int(self.lengths.max()) if self.lengths.size else 0

    def used(self) -> npt.NDArray[np.uint8]:
        """The bytes of all values, one after the other."""
        return self.data[int(self.offsets[0]) : int(self.offsets[-1])]

    def words(self, skip: int = 0) -> WordArray:
        """The 8 bytes from byte ``skip`` of each value, little-endian.

        Bytes past the value are not cleared (they belong to the next values); bytes past
        the end of the buffer read as zero. Runs of values of one length (all of them, or
        order numbers growing from 999 to 1000) are read through strided views of the
        buffer; values of scattered lengths are gathered one by one (slower).
        """
        return self._read(skip, clear=False)

    def short_words(self) -> WordArray | None:
        """Each value's bytes as one word, zero past its end; ``None`` above 8 bytes.

        Two values of at most 8 bytes are equal when their words and lengths are (the
        length tells ``"a"`` from ``"a\\0"``); reversing the bytes of the words orders
        values as text, shorter first among equal words.
        """
        return None if self.longest > _WORD else self._read(0, clear=True)

    def _read(self, skip: int, *, clear: bool) -> WordArray:
        """:meth:`words`; with ``clear``, the bytes past each value (of at most 8) cleared."""
        n = len(self)
        reader = _WordReader(self.data)
        out = np.empty(n, dtype=np.uint64)
        if n == 0:
            return out
        if self.width is not None:
            runs = [(0, n, self.width)]
        else:
            change = np.flatnonzero(self.lengths[1:] != self.lengths[:-1]) + 1
            if change.size > _MAX_RUNS:
                reader.gather(out, self.offsets[:-1] + skip if skip else self.offsets[:-1])
                if clear:
                    out &= _LOW_BYTES[self.lengths]
                return out
            bounds = [0, *change.tolist(), n]
            runs = [(lo, hi, int(self.lengths[lo])) for lo, hi in itertools.pairwise(bounds)]
        for lo, hi, length in runs:
            part = out[lo:hi]
            reader.strided(part, int(self.offsets[lo]) + skip, length)
            if clear:
                part &= _LOW_BYTES[length]
        return out

    def prefixed_numbers(self, prefix: bytes) -> tuple[IntArray, int | IntArray] | None:
        """Numbers and digit counts when each value is ``prefix`` and 1 to 8 ASCII digits.

        ``None`` otherwise (a longer prefix than 8 bytes takes the general path too). The
        digit count is one number when every value has the same length; then the values
        are read a block at a time (the temporary words of a block stay in the cache).
        """
        p = len(prefix)
        if len(self) == 0 or p > _WORD:
            return None
        if self.width is not None:
            return self._fixed_numbers(prefix)
        digits = self.lengths - p
        if int(digits.min()) < 1 or int(digits.max()) > _WORD:
            return None
        if p:
            head = self.words()
            head &= _LOW_BYTES[p]
            if not bool((head == np.uint64(int.from_bytes(prefix, "little"))).all()):
                return None
        numbers = digit_values(self.words(p), digits)
        return None if numbers is None else (numbers, digits)

    def _fixed_numbers(self, prefix: bytes) -> tuple[IntArray, int] | None:
        """:meth:`prefixed_numbers` of values of one width, block by block."""
        assert self.width is not None
        p, width = len(prefix), self.width
        digits = width - p
        if not 1 <= digits <= _WORD:
            return None
        n = len(self)
        reader = _WordReader(self.data)
        start = int(self.offsets[0])
        numbers = np.empty(n, dtype=np.int64)
        head = np.empty(min(n, _BLOCK), dtype=np.uint64)
        tail = np.empty_like(head) if width > _WORD else head  # digits past the first word
        expected = np.uint64(int.from_bytes(prefix, "little"))
        for lo in range(0, n, _BLOCK):
            size = min(n, lo + _BLOCK) - lo
            words = head[:size]
            reader.strided(words, start + lo * width, width)
            if p:
                if not bool(((words & _LOW_BYTES[p]) == expected).all()):
                    return None
                if width > _WORD:
                    reader.strided(tail[:size], start + lo * width + p, width)
                    words = tail[:size]
                else:  # the digits are in the same word, after the prefix
                    words >>= np.uint64(8 * p)
            part = digit_values(words, digits)
            if part is None:
                return None
            numbers[lo : lo + size] = part
        return numbers, digits


def digit_words(numbers: IntArray) -> WordArray:
    """Each number (0 to 99999999) as 8 ASCII digits in a little-endian word, zero-padded.

    The inverse of :func:`digit_values`: the number is split into two halves of four
    digits (``n // 10^4``, ``n mod 10^4``), each half into two pairs and each pair into
    two digits, all halves (pairs, digits) of a word at once. A division by 100 or 10
    of a small lane is a multiplication and a shift (``x // 100 = (5243 x) >> 19`` for
    ``x < 43699``, ``x // 10 = (103 x) >> 10`` for ``x < 179``).

    >>> import numpy as np
    >>> digit_words(np.array([12345678, 42])).view("S8").tolist()
    [b'12345678', b'00000042']
    """
    n = numbers.astype(np.uint64)
    high = n // np.uint64(10000)
    n -= high * np.uint64(10000)
    n <<= np.uint64(32)
    n |= high  # lanes of 32 bits: first four digits, last four
    for mul, shift, mask, base, width in (
        (5243, 19, 0x0000007F0000007F, 100, 16),
        (103, 10, 0x000F000F000F000F, 10, 8),
    ):
        q = n * np.uint64(mul)
        q >>= np.uint64(shift)
        q &= np.uint64(mask)
        n -= q * np.uint64(base)
        n <<= np.uint64(width)
        n |= q
    n |= np.uint64(int.from_bytes(b"0" * _WORD, "little"))
    return n


def number_texts(prefix: bytes, numbers: IntArray, digits: int, arrow_type: Any) -> Any:
    """``prefix`` and each number zero-padded to ``digits`` (1 to 8) digits, as Arrow text.

    ``numbers`` are below ``10 ** digits``; ``arrow_type`` is ``string`` or
    ``large_string``. The values are written side by side into one byte buffer.
    """
    import pyarrow as pa

    k = numbers.size
    p = len(prefix)
    width = p + digits
    chars = np.empty((k, width), dtype=np.uint8)
    chars[:, :p] = np.frombuffer(prefix, dtype=np.uint8)
    for lo in range(0, k, _BLOCK):  # block by block: the words of a block stay in the cache
        words = digit_words(numbers[lo : lo + _BLOCK])
        chars[lo : lo + _BLOCK, p:] = words.view(np.uint8).reshape(-1, _WORD)[:, _WORD - digits :]
    offset_type = np.int64 if pa.types.is_large_string(arrow_type) else np.int32
    offsets = np.arange(0, (k + 1) * width, width, dtype=offset_type)
    return pa.Array.from_buffers(arrow_type, k, [None, pa.py_buffer(offsets), pa.py_buffer(chars)])
