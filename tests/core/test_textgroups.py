"""Exact grouping of strings (the engine of REPEAT_RATE), against collections.Counter."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from retention_xl.core import _textgroups
from retention_xl.core._textgroups import MAX_BYTES, PackedTexts, group_sizes

# Ids near the 8-byte word boundaries, non-ASCII, lone surrogates and NULs included.
_ALPHABET = st.sampled_from(["a", "b", "1", "é", "€", "\U0001f600", "\ud800", "\x00", " "])
_IDS = st.lists(
    st.lists(_ALPHABET, max_size=19).map("".join) | st.sampled_from(["x" * 8, "x" * 9]),
    max_size=80,
)


def _expected(ids: list[str]) -> list[int]:
    return sorted(Counter(ids).values())


@given(_IDS)
def test_group_sizes_equal_counter(ids: list[str]) -> None:
    assert sorted(group_sizes(ids).tolist()) == _expected(ids)


@given(_IDS)
def test_group_sizes_exact_when_every_hash_collides(ids: list[str]) -> None:
    # Every string gets the same hash: the groups must still be split exactly.
    original = _textgroups._mix
    try:
        _textgroups._mix = lambda words: np.zeros(words.shape[1], dtype=np.uint64)
        assert sorted(group_sizes(ids).tolist()) == _expected(ids)
        # Two hash values only: some groups right, some to split.
        _textgroups._mix = lambda words: (words[0] & np.uint64(1)) << np.uint64(63)
        assert sorted(group_sizes(ids).tolist()) == _expected(ids)
    finally:
        _textgroups._mix = original


@pytest.mark.parametrize("length", [1, 7, 8, 9, 15, 16, 17, MAX_BYTES - 1, MAX_BYTES])
def test_ids_that_differ_only_in_their_last_byte_are_apart(length: int) -> None:
    ids = ["a" * (length - 1) + "b", "a" * length, "a" * length, "a" * (length - 1)]
    assert sorted(group_sizes(ids).tolist()) == [1, 1, 2]


def test_nul_inside_an_id_is_part_of_it() -> None:
    packed = PackedTexts.pack(["a", "a\x00", "a", "\x00"])
    assert packed is not None and packed.has_nul
    assert packed.lengths.tolist() == [1, 2, 1, 1]
    assert sorted(packed.group_sizes().tolist()) == [1, 1, 2]


def test_ids_longer_than_the_fast_path_are_counted_by_pandas() -> None:
    long = "z" * (MAX_BYTES + 1)
    packed = PackedTexts.pack([long, "a", long])
    assert packed is not None and packed.group_sizes() is None
    assert sorted(group_sizes([long, "a", long]).tolist()) == [1, 2]


def test_pack_refuses_items_that_are_not_text() -> None:
    assert PackedTexts.pack(["a", 1.0]) is None
    assert PackedTexts.pack(["a", b"a"]) is None
    assert sorted(group_sizes(np.array(["a", 1.0, "a", None, None], dtype=object)).tolist()) == [
        1,
        2,
        2,
    ]


def test_integer_ids_and_empty_input() -> None:
    assert sorted(group_sizes(np.array([5, 3, 5, 5], dtype=np.int64)).tolist()) == [1, 3]
    assert group_sizes(np.array([], dtype=np.int64)).size == 0
    assert group_sizes([]).size == 0
    assert group_sizes(("a", "a")).tolist() == [2]


def test_take_keeps_positions_and_texts() -> None:
    packed = PackedTexts.pack(["a", "", "b", "a"])
    assert packed is not None
    kept = packed.take(packed.lengths > 0)
    assert kept.texts() == ["a", "b", "a"]
    assert kept.index.tolist() == [0, 2, 3]
    assert sorted(kept.group_sizes().tolist()) == [1, 2]


def test_a_million_ids_match_counter() -> None:
    rng = np.random.default_rng(3)
    ids = [f"customer{i}@example.com" for i in rng.integers(0, 300_000, 1_000_000).tolist()]
    assert sorted(group_sizes(ids).tolist()) == _expected(ids)
