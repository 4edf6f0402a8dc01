"""Exact grouping of many short strings, vectorised (the engine of ``count_repeaters``).

Counting how often each of a million customer ids occurs is, in plain Python, a hash
table of a million string objects, and most of the time goes on touching scattered
objects in memory. Here the strings are joined once into one UTF-8 buffer (one C
call) and every later step is a numpy pass over contiguous memory:

1. each string becomes a row of little-endian 64-bit words holding its UTF-8 bytes,
   zero-padded (``"C1001"`` is one word). When no id holds a NUL character the row is
   a one-to-one key for the string; otherwise the byte length joins the row;
2. one word a row (ids up to 8 bytes): the words are the keys, sorted directly;
3. longer ids: the words are mixed into a 64-bit hash, and the hashes (high bits, with
   the row number in the low bits) are sorted once. Neighbours with the same hash are
   then compared word by word, so two different ids that share a hash are never
   counted as one: such a group is split exactly by comparing its rows in Python. It
   is rare: with a million distinct ids, about one input in thirty has one.

The result is exact for every input. :func:`group_sizes` is the entry point: it also
takes integer ids (sorted directly), and counts with pandas what this path does not
take (items that are not text, ids over :data:`MAX_BYTES` bytes).

Examples
--------
>>> sorted(group_sizes(["C2", "C1", "C2", "C3", "C3", "C3"]).tolist())
[1, 2, 3]
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["MAX_BYTES", "PackedTexts", "group_sizes"]

IntArray = npt.NDArray[np.intp]
WordArray = npt.NDArray[np.uint64]

#: Ids longer than this (in UTF-8 bytes) are counted by the caller's general path.
MAX_BYTES = 64

_WORD = 8
_PAD = "\x00" * (_WORD - 1)  # after the last separator: 8 NUL bytes end the buffer
# _LOW_BYTES[k] keeps the first k bytes of a little-endian word.
_LOW_BYTES = np.array([(1 << (8 * k)) - 1 for k in range(_WORD)] + [(1 << 64) - 1], dtype=np.uint64)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)  # splitmix64's multipliers
_MIX2 = np.uint64(0x94D049BB133111EB)


@dataclass(frozen=True, slots=True)
class PackedTexts:
    """Strings held as one UTF-8 buffer with the byte offset and length of each.

    ``data`` is the NUL-joined UTF-8 text followed by eight NUL bytes (so that a
    64-bit word can be read at any start); ``starts[i]`` and ``lengths[i]`` locate
    string ``i``; ``source[index[i]]`` is string ``i`` itself. ``has_nul`` says that
    some string holds a NUL character (then the lengths are part of the key).
    """

    data: npt.NDArray[np.uint8]
    starts: IntArray
    lengths: IntArray
    source: Sequence[str]
    index: IntArray
    has_nul: bool = False

    @classmethod
    def pack(cls, texts: Sequence[object]) -> PackedTexts | None:
        """Pack ``texts`` (one join and one encode); ``None`` when an item is not text.

        >>> PackedTexts.pack(["ab", "", "é"]).lengths.tolist()
        [2, 0, 2]
        >>> PackedTexts.pack(["a", 1]) is None
        True
        """
        n = len(texts)
        if n == 0:
            empty = np.zeros(0, dtype=np.intp)
            return cls(np.zeros(_WORD, dtype=np.uint8), empty, empty, [], empty)
        try:  # the padding rides along as one more item: no copy of the buffer
            joined = "\x00".join(itertools.chain(texts, (_PAD,)))  # type: ignore[arg-type]
        except TypeError:  # an item that is not text
            return None
        data = np.frombuffer(joined.encode("utf-8", "surrogatepass"), dtype=np.uint8)
        raw = data[: data.size - _WORD]
        source: Sequence[str] = texts if isinstance(texts, list) else list(texts)  # type: ignore[arg-type]
        ends = np.flatnonzero(raw == 0)
        has_nul = ends.size != n - 1
        if has_nul:  # a NUL inside an id: the lengths come from the strings themselves
            lengths = np.fromiter(
                (len(t.encode("utf-8", "surrogatepass")) for t in source), np.intp, count=n
            )
            starts = np.concatenate(([0], np.cumsum(lengths[:-1] + 1))).astype(np.intp)
        else:
            starts = np.empty(n, dtype=np.intp)
            starts[0] = 0
            starts[1:] = ends + 1
            lengths = np.empty(n, dtype=np.intp)
            lengths[:-1] = ends - starts[:-1]
            lengths[-1] = raw.size - starts[-1]
        return cls(data, starts, lengths, source, np.arange(n, dtype=np.intp), has_nul)

    def __len__(self) -> int:
        return int(self.starts.size)

    def first_bytes(self) -> npt.NDArray[np.uint8]:
        """The first byte of each string (0 for an empty one)."""
        return self.data[self.starts]

    def take(self, keep: npt.NDArray[np.bool_]) -> PackedTexts:
        """The strings where ``keep`` is true, in order (the buffer is shared)."""
        return PackedTexts(
            self.data,
            self.starts[keep],
            self.lengths[keep],
            self.source,
            self.index[keep],
            self.has_nul,
        )

    def texts(self) -> list[str]:
        """The strings as Python objects."""
        if self.index.size == len(self.source) and isinstance(self.source, list):
            return self.source
        return [self.source[i] for i in self.index.tolist()]

    def words(self) -> WordArray | None:
        """Each string's UTF-8 bytes as zero-padded little-endian 64-bit words.

        Column ``i`` holds string ``i``: row ``j`` is its bytes ``8j`` to ``8j + 7``
        (one contiguous array per word position, which is what the later passes read).
        ``None`` when a string is longer than :data:`MAX_BYTES` bytes.

        >>> PackedTexts.pack(["ab", "abcdefghi"]).words().T.tolist() == [
        ...     [0x6261, 0], [0x6867666564636261, 0x69]]
        True
        """
        n = len(self)
        longest = int(self.lengths.max()) if n else 0
        if longest > MAX_BYTES:
            return None
        width = max(1, -(-longest // _WORD))
        # A view of the buffer as a 64-bit word starting at every byte (unaligned reads).
        at_byte = np.ndarray(
            shape=(self.data.size - _WORD + 1,),
            dtype="<u8",
            buffer=self.data,
            strides=(1,),
        )
        shortest = int(self.lengths.min())
        last = at_byte.size - 1
        out = np.empty((width, n), dtype=np.uint64)
        for j in range(width):
            skip = _WORD * j
            at = self.starts + skip if skip else self.starts
            if int(at.max()) > last:  # past the end only for short strings: masked below
                at = np.minimum(at, last)
            out[j] = at_byte[at]
            if shortest < skip + _WORD:  # some strings end inside this word
                left = self.lengths - skip
                np.clip(left, 0, _WORD, out=left)
                out[j] &= _LOW_BYTES[left]
        return out

    def group_sizes(self) -> IntArray | None:
        """How many times each distinct string occurs (in no particular order), exactly.

        ``None`` when a string is longer than :data:`MAX_BYTES` bytes.
        """
        n = len(self)
        if n == 0:
            return np.zeros(0, dtype=np.intp)
        words = self.words()
        if words is None:
            return None
        if self.has_nul:  # "a" and "a\0" have the same words: tell them apart by length
            words = np.vstack((words, self.lengths.astype(np.uint64)))
        elif words.shape[0] == 1:  # short ids: the word is the string
            return _run_lengths(np.sort(words[0]))
        return _sizes_by_hash(words)


def group_sizes(ids: PackedTexts | Sequence[Any] | npt.NDArray[Any]) -> IntArray:
    """How many times each distinct id occurs (in no particular order), exactly.

    ``ids`` are strings (a list, an object array or :class:`PackedTexts`) or integers
    (an integer array). Anything else is counted by :func:`pandas.factorize`.

    >>> sorted(group_sizes(np.array([7, 3, 7])).tolist())
    [1, 2]
    >>> group_sizes(["a", "a"]).tolist()
    [2]
    """
    if isinstance(ids, np.ndarray) and ids.dtype.kind in "iu":
        keys = np.sort(ids.reshape(-1))
        return _run_lengths(keys) if keys.size else np.zeros(0, dtype=np.intp)
    if isinstance(ids, PackedTexts):
        packed: PackedTexts | None = ids
    else:
        items = ids.reshape(-1).tolist() if isinstance(ids, np.ndarray) else ids
        packed = PackedTexts.pack(items)
    if packed is not None:
        sizes = packed.group_sizes()
        if sizes is not None:
            return sizes
        items = packed.texts()
    codes, _ = pd.factorize(np.asarray(items, dtype=object).reshape(-1), use_na_sentinel=False)
    return np.bincount(codes).astype(np.intp)


def _run_lengths(sorted_keys: npt.NDArray[Any]) -> IntArray:
    starts = np.flatnonzero(np.concatenate(([True], sorted_keys[1:] != sorted_keys[:-1])))
    return np.diff(np.append(starts, sorted_keys.size)).astype(np.intp)


def _mix(words: WordArray) -> npt.NDArray[np.uint64]:
    """A 64-bit hash of each string: its words folded in by multiply and shift, then
    splitmix64's finaliser. Equal hashes are only candidates (compared afterwards), so
    a weak spot costs time, never a wrong count."""
    h = np.zeros(words.shape[1], dtype=np.uint64)
    for word in words:
        h += word
        h *= _MIX1
        h ^= h >> np.uint64(29)
    h ^= h >> np.uint64(30)
    h *= _MIX1
    h ^= h >> np.uint64(27)
    h *= _MIX2
    h ^= h >> np.uint64(31)
    return h


def _sizes_by_hash(words: WordArray) -> IntArray:
    n = words.shape[1]
    bits = max(1, (n - 1).bit_length())
    shift = np.uint64(bits)
    keys = (_mix(words) >> shift << shift) | np.arange(n, dtype=np.uint64)
    keys.sort()
    order = (keys & np.uint64((1 << bits) - 1)).astype(np.intp)
    prefix = keys >> shift
    same = prefix[1:] == prefix[:-1]  # neighbours that share a hash
    differ = np.zeros(n - 1, dtype=bool)  # neighbours (in hash order) that differ
    step = np.empty(n - 1, dtype=bool)
    in_order = np.empty(n, dtype=np.uint64)
    for word in words:
        np.take(word, order, out=in_order)
        np.not_equal(in_order[1:], in_order[:-1], out=step)
        differ |= step
    differ &= same
    run_starts = np.flatnonzero(np.concatenate(([True], ~same)))
    sizes = np.diff(np.append(run_starts, n)).astype(np.intp)
    if not differ.any():
        return sizes
    # Different ids sharing a hash: split those groups exactly.
    pair_at = np.flatnonzero(differ)  # position in hash order of the left one
    bad_runs = np.unique(np.searchsorted(run_starts, pair_at, side="right") - 1)
    extra: list[int] = []
    for run in bad_runs.tolist():
        stop = int(run_starts[run + 1]) if run + 1 < run_starts.size else n
        members = words[:, order[int(run_starts[run]) : stop]]
        extra.extend(Counter(map(tuple, members.T.tolist())).values())
    keep = np.ones(sizes.size, dtype=bool)
    keep[bad_runs] = False
    return np.concatenate((sizes[keep], np.array(extra, dtype=np.intp)))
