"""Arrow text read as 64-bit words agrees with Python's own reading of the same strings.

Each shortcut is run on data built to take it and on data built to miss it, and its
answer is compared with plain Python (``int``, string comparison, ``str.index``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retention_xl.core import _arrowtext as at
from retention_xl.core._textwords import TextBytes, digit_values, digit_words, number_texts

pa = pytest.importorskip("pyarrow")

TYPES = ("string", "large_string")


def _array(values: list[str], kind: str, *, sliced: bool = False) -> object:
    """An Arrow array of ``values``; ``sliced`` puts it at an offset inside its buffers."""
    arrow_type = getattr(pa, kind)()
    if sliced:
        return pa.array(["junk", *values, "more junk"], type=arrow_type).slice(1, len(values))
    return pa.array(values, type=arrow_type)


def test_digit_values_and_words_are_inverse() -> None:
    rng = np.random.default_rng(0)
    numbers = np.concatenate(
        [np.arange(0, 2000), rng.integers(0, 10**8, 20_000), [10**8 - 1, 10**7, 9_999_999]]
    )
    words = digit_words(numbers)
    assert [w.decode() for w in words.view("S8")[:3000]] == [f"{x:08d}" for x in numbers[:3000]]
    assert digit_values(words, 8).tolist() == numbers.tolist()
    for digits in range(1, 9):  # the last `digits` characters, moved to the front
        shifted = words >> np.uint64(8 * (8 - digits))
        assert digit_values(shifted, digits).tolist() == (numbers % 10**digits).tolist()


@pytest.mark.parametrize("bad", [b"/", b":", b" ", b"\x00", b"a", b"\xc3"])
def test_digit_values_rejects_every_non_digit(bad: bytes) -> None:
    for position in range(8):
        text = bytearray(b"12345678")
        text[position : position + 1] = bad
        words = np.frombuffer(bytes(text), dtype="<u8")
        assert digit_values(words, 8) is None
        if position:  # bytes past the digit count are ignored
            assert digit_values(words, position).tolist() == [int(text[:position])]


@pytest.mark.parametrize("kind", TYPES)
@pytest.mark.parametrize("sliced", [False, True])
def test_words_match_the_bytes(kind: str, sliced: bool) -> None:
    """Strided (one width), runs of widths and gathered (scattered widths) reads."""
    rng = np.random.default_rng(1)
    cases = [
        ["abc"] * 5,  # one width
        [f"{i}" for i in range(5, 2000)],  # runs: 1 to 4 digits
        ["x" * int(k) for k in rng.integers(0, 12, 500)],  # scattered: gathered
        ["y" * int(k) for k in rng.integers(0, 9, 500)],  # scattered and short
        ["", "", ""],  # empty values
        ["é", "ab", "\x00\x00"],
    ]
    for values in cases:
        text = TextBytes.of(_array(values, kind, sliced=sliced))
        assert text is not None
        raw = [v.encode("utf-8") for v in values]
        before, after = (b"junk", b"more junk") if sliced else (b"", b"")
        buffer = before + b"".join(raw) + after
        starts = len(before) + np.cumsum([0] + [len(r) for r in raw[:-1]])
        for skip in (0, 1, 3):
            expected = [
                int.from_bytes(buffer[s + skip : s + skip + 8].ljust(8, b"\x00"), "little")
                for s in starts
            ]
            assert text.words(skip).tolist() == expected
        short = text.short_words()
        if max(len(r) for r in raw) <= 8:
            assert short is not None
            assert short.tolist() == [int.from_bytes(r, "little") for r in raw]
        else:
            assert short is None


def test_words_beyond_the_buffer_read_as_zero() -> None:
    text = TextBytes.of(pa.array(["ab", "c"]))
    assert text is not None
    assert text.words().tolist() == [int.from_bytes(b"abc", "little"), ord("c")]


def test_text_bytes_needs_text_without_nulls() -> None:
    assert TextBytes.of(pa.array(["a", None])) is None
    assert TextBytes.of(pa.array([1, 2])) is None
    assert TextBytes.of(pa.array(["a", "bc"])).width is None
    assert TextBytes.of(pa.array(["ab", "bc"])).width == 2


@pytest.mark.parametrize("kind", TYPES)
def test_prefixed_numbers_match_python(kind: str) -> None:
    rng = np.random.default_rng(2)
    for trial in range(400):
        prefix = ["", "C", "CUST-", "é", "12345678x"][trial % 5]
        n = int(rng.integers(1, 30))
        fixed = rng.random() < 0.5
        widths = np.full(n, int(rng.integers(1, 9))) if fixed else rng.integers(1, 9, n)
        numbers = [int(rng.integers(0, 10 ** int(w))) for w in widths]
        ids = [f"{prefix}{x:0{int(w)}d}" for x, w in zip(numbers, widths, strict=True)]
        text = TextBytes.of(_array(ids, kind, sliced=trial % 3 == 0))
        assert text is not None
        read = text.prefixed_numbers(prefix.encode("utf-8"))
        if len(prefix.encode("utf-8")) > 8:  # long prefixes: the Arrow path
            assert read is None
            continue
        assert read is not None
        got, digits = read
        assert got.tolist() == numbers
        assert np.broadcast_to(digits, (n,)).tolist() == widths.tolist()
        assert isinstance(digits, int) == (fixed or len(set(widths.tolist())) == 1)


@pytest.mark.parametrize(
    "ids",
    [
        ["C1", "D2"],  # another prefix
        ["C1", "C"],  # no digit
        ["C1", "C1x"],
        ["C1", "C123456789"],  # 9 digits
        ["C1", "C 2"],
        ["C١"],  # an Arabic-Indic digit: decimal to Python, not ASCII
    ],
)
def test_prefixed_numbers_miss(ids: list[str]) -> None:
    text = TextBytes.of(pa.array(ids))
    assert text is not None
    assert text.prefixed_numbers(b"C") is None


@pytest.mark.parametrize("kind", TYPES)
def test_number_texts(kind: str) -> None:
    rng = np.random.default_rng(3)
    for digits in range(1, 9):
        numbers = np.unique(rng.integers(0, 10**digits, 50))
        for prefix in ("", "C", "KUNDE-é"):
            arr = number_texts(prefix.encode("utf-8"), numbers, digits, getattr(pa, kind)())
            assert arr.type == getattr(pa, kind)()
            assert arr.to_pylist() == [f"{prefix}{x:0{digits}d}" for x in numbers]


def _customer_codes_agree(ids: list[str]) -> None:
    coded = at.customer_codes(pa.array(ids, type=pa.large_string()))
    assert coded is not None
    codes, labels = coded
    assert labels.dtype == "string"
    assert labels.tolist() == sorted(set(ids))
    assert labels[codes].tolist() == ids


def test_numbered_customer_codes_every_path() -> None:
    rng = np.random.default_rng(4)
    fixed = [f"C{int(x):06d}" for x in rng.integers(0, 500, 2000)]  # words, written back
    spread = [f"C{int(x):06d}" for x in rng.integers(0, 999_999, 300)]  # factorized
    varied = [f"C{int(x)}" for x in rng.integers(0, 5000, 2000)]  # words, labels copied
    long = [f"C{int(x):012d}" for x in rng.integers(0, 500, 300)]  # 12 digits: Arrow
    for ids in (fixed, spread, varied, long):
        _customer_codes_agree(ids)
    words = TextBytes.of(pa.array(fixed))
    assert words is not None and isinstance(words.prefixed_numbers(b"C")[1], int)
    assert TextBytes.of(pa.array(long)).prefixed_numbers(b"C") is None
    assert at._arrow_prefixed_numbers(pa.array(long), "C") is not None


def _order_id_rows_agree(ids: list[str], kind: str) -> None:
    rows = at.order_id_rows(_array(ids, kind))
    assert rows is not None
    firsts = [i for i, x in enumerate(ids) if ids.index(x) == i]
    assert np.flatnonzero(rows.is_first).tolist() == firsts
    assert [ids[i] for i in np.lexsort(rows.sort_keys)] == sorted(ids)


@pytest.mark.parametrize("kind", TYPES)
def test_short_order_ids_match_python(kind: str) -> None:
    """Ids up to 8 bytes: ascending (no sort) or not, NUL bytes, non-ASCII text."""
    rng = np.random.default_rng(5)
    alphabet = ["0", "1", "9", "a", "Z", "\x00", "é", "-", "~", "\x7f"]
    hits = 0
    for trial in range(600):
        n = int(rng.integers(1, 30))
        longest = int(rng.integers(1, 9))
        if trial % 3 == 0:
            pool = [str(int(x)) for x in rng.integers(0, 10**longest, 6)]
        else:
            letters = alphabet[: int(rng.integers(3, len(alphabet) + 1))]
            drawn = ("".join(rng.choice(letters, int(rng.integers(0, 9)))) for _ in range(6))
            pool = [p.encode("utf-8")[:longest].decode("utf-8", "ignore") for p in drawn]
        ids = [pool[int(i)] for i in rng.integers(0, len(pool), n)]
        if trial % 2:  # as exports list order numbers: shorter first, then as text
            ids.sort(key=lambda s: (len(s.encode("utf-8")), s))
        assert at._short_order_id_rows(_array(ids, kind)) is not None
        _order_id_rows_agree(ids, kind)
        hits += 1
    assert hits == 600


def test_short_order_ids_ascending_across_a_width() -> None:
    ids = [str(x) for x in [998, 999, 999, 1000, 1000, 1001, 99999, 100000]]
    rows = at._short_order_id_rows(pa.array(ids))
    assert rows is not None
    assert np.flatnonzero(rows.is_first).tolist() == [0, 1, 3, 5, 6, 7]
    _order_id_rows_agree(ids, "string")


@pytest.mark.parametrize(
    "ids",
    [
        ["12", " 13"],  # whitespace to strip: the general path strips it
        ["12", "13\u3000"],
        ["12", "1234567890"],  # longer than 8 bytes: the canonical-integer path
        ["A-123456789", "A-1"],  # longer, not digits: sorted as text
    ],
)
def test_short_order_ids_miss(ids: list[str]) -> None:
    assert at._short_order_id_rows(pa.array(ids)) is None
    if ids[1].strip() == ids[1] and ids[0].strip() == ids[0]:
        _order_id_rows_agree(ids, "string")


def test_space_inside_an_id_is_kept() -> None:
    ids = ["A 1", "A 1", "A 2"]
    assert at._short_order_id_rows(pa.array(ids)) is not None
    _order_id_rows_agree(ids, "large_string")


def test_prepared_orders_same_through_words_and_python() -> None:
    """Order ids crossing a width and fixed-width customer ids: same prepared orders."""
    from retention_xl.core.schema import prepare_orders

    rng = np.random.default_rng(6)
    n = 3000
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{int(x):05d}" for x in rng.integers(0, 700, n)],
            "order_id": [str(int(x)) for x in np.sort(rng.integers(900, 1100, n))],
            "order_date": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(np.sort(rng.integers(0, 30, n)), unit="D"),
            "amount": rng.integers(1, 50, n).astype(float),
        }
    )
    text = ("customer_id", "order_id")
    arrow = frame.astype({c: "string[pyarrow]" for c in text})
    python = frame.astype({c: "string[python]" for c in text})
    assert at._short_order_id_rows(at.arrow_text(arrow["order_id"])) is not None
    a, p = prepare_orders(arrow), prepare_orders(python)
    assert a.stats == p.stats
    for column in ("customer_id", "order_id", "order_date", "revenue", "is_purchase"):
        assert a.frame[column].tolist() == p.frame[column].tolist()


def test_nul_bytes_tell_ids_apart() -> None:
    """``"a"`` and ``"a\\0"`` share a word: their lengths keep them apart."""
    for ids in (["a", "a\x00", "a\x00"], ["a\x00", "a", "a\x00"], ["1234567", "1234567\x00"]):
        assert at._short_order_id_rows(pa.array(ids)) is not None
        _order_id_rows_agree(ids, "string")


def test_blocks_of_a_long_column() -> None:
    """Several blocks (and the last, partial one) of fixed-width ids; a bad value in the
    last block, a different width in the middle one."""
    from retention_xl.core._textwords import _BLOCK

    n = 3 * _BLOCK + 5
    numbers = np.random.default_rng(7).integers(0, 10**7, n)
    ids = [f"C{int(x):07d}" for x in numbers]
    text = TextBytes.of(pa.array(ids))
    assert text is not None and text.width == 8
    read = text.prefixed_numbers(b"C")
    assert read is not None and read[0].tolist() == numbers.tolist()
    long_prefix = TextBytes.of(pa.array([f"AB{int(x):07d}" for x in numbers]))
    read = long_prefix.prefixed_numbers(b"AB")  # 9 bytes: digits past the first word
    assert read is not None and read[0].tolist() == numbers.tolist()
    for bad, position in (("C00x0001", n - 2), ("D0000001", n - 1), ("C000001", 2 * _BLOCK)):
        changed = [*ids[:position], bad, *ids[position + 1 :]]
        text = TextBytes.of(pa.array(changed))
        assert text is not None
        assert text.prefixed_numbers(b"C") is None or bad == "C000001"
        assert (text.width is None) == (bad == "C000001")
        _customer_codes_agree(changed)
