"""The Arrow shortcuts of order validation agree with plain Python on the same text."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retention_xl.core import _arrowtext as at
from retention_xl.core.schema import _date_id_moves, prepare_orders

pa = pytest.importorskip("pyarrow")

ORDER_IDS = [
    ["100", "99", "1000", "100", "7", "0", "99", "10"],  # canonical decimals
    ["007", "7", "7", "12"],  # a leading zero: compared as text
    ["A-1", "é", "B", "A-1", "a", "10", "9"],
    ["123456789012345678901", "5", "123456789012345678901"],  # too long for int64
    ["1", "2", "3"],
    ["5", "5", "9", "10", "10", "11", "11"],  # ascending with repeats: no sorting
]


def _arrow(values: list[str]) -> object:
    return at.arrow_text(pd.Series(values, dtype="string[pyarrow]"))


@pytest.mark.parametrize("ids", ORDER_IDS)
def test_order_id_rows_match_python(ids: list[str]) -> None:
    rows = at.order_id_rows(_arrow(ids))
    assert rows is not None
    firsts = [i for i, x in enumerate(ids) if ids.index(x) == i]
    assert np.flatnonzero(rows.is_first).tolist() == firsts
    order = np.lexsort(rows.sort_keys)
    assert [ids[i] for i in order] == sorted(ids)


def test_edge_whitespace_leaves_the_shortcut() -> None:
    assert at.order_id_rows(_arrow(["a ", "b"])) is None
    assert at.customer_codes(_arrow(["a", "\u3000b"])) is None
    assert at.arrow_text(pd.Series(["a", None], dtype="string[pyarrow]")) is None
    assert at.arrow_text(pd.Series(["a"], dtype=object)) is None


def test_customer_codes_sorted_labels() -> None:
    ids = ["c", "a", "é", "b", "a", "Z"]
    coded = at.customer_codes(_arrow(ids))
    assert coded is not None
    codes, labels = coded
    assert labels.tolist() == sorted(set(ids))
    assert labels[codes].tolist() == ids


def test_clean_labels_fill_and_report() -> None:
    arr = at.arrow_text(
        pd.Series(["Paid", None, " refunded"], dtype="string[pyarrow]"), allow_missing=True
    )
    column, found = at.clean_labels(arr, "paid", lambda s: s.strip().lower())
    assert column is not None
    assert list(column) == ["paid", "paid", "refunded"]
    assert found == {"paid", "refunded"}
    clean = at.arrow_text(pd.Series(["EUR"], dtype="string[pyarrow]"), allow_missing=True)
    assert at.clean_labels(clean, None, lambda s: s.strip().upper()) == (None, frozenset({"EUR"}))


def test_date_id_moves_sort_only_what_they_must() -> None:
    rng = np.random.default_rng(0)
    for trial in range(300):
        n = int(rng.integers(2, 50))
        dates = np.sort(rng.integers(0, 5, n)).astype(np.int64)
        ascending = rng.random() >= 0.2
        if not ascending:
            dates = rng.permutation(dates)
        keys = (rng.permutation(n).astype(np.int64),)
        if trial % 5 == 0:  # already in order
            keys = (np.lexsort((keys[0], dates)).argsort().astype(np.int64),)
        moves = _date_id_moves(dates, keys)
        order = np.arange(n)
        if moves is not None:
            rows, source = moves
            order[rows] = source
            if ascending:  # only rows of the dates whose ids are out of order move
                bad = {int(d) for d, k in zip(dates, keys[0], strict=True)} - {
                    int(d)
                    for d in np.unique(dates)
                    if bool((np.diff(keys[0][dates == d]) > 0).all())
                }
                assert {int(d) for d in dates[rows]} == bad
        want = np.lexsort((*keys, dates))
        assert order.tolist() == want.tolist()
        assert (moves is None) == (want.tolist() == list(range(n)))


def test_prepare_orders_same_with_and_without_arrow() -> None:
    ids = ["100", "99", "1000", "100", "7", "A", " 8"]
    frame = pd.DataFrame(
        {
            "customer_id": ["b", "a", "c", "b", " a", "c", "d"],
            "order_id": ids,
            "order_date": pd.to_datetime(["2024-01-02"] * 3 + ["2024-01-01"] * 4),
            "amount": [1.0, 2, 3, 4, 5, 6, 7],
            "status": ["paid", "PAID", None, "cancelled", "paid", "refunded", "paid"],
            "currency": ["eur", "EUR", None, "usd", "EUR", "EUR", "EUR"],
        }
    )
    arrow = frame.astype({c: "string[pyarrow]" for c in ("customer_id", "order_id", "status")})
    arrow["currency"] = arrow["currency"].astype("string[pyarrow]")
    python = frame.astype(
        {c: "string[python]" for c in ("customer_id", "order_id", "status", "currency")}
    )
    a, p = prepare_orders(arrow), prepare_orders(python)
    assert a.stats == p.stats
    for column in ("customer_id", "order_id", "order_date", "revenue", "is_purchase"):
        assert a.frame[column].tolist() == p.frame[column].tolist()


def test_clean_labels_one_label() -> None:
    arr = at.arrow_text(pd.Series(["eur "] * 4, dtype="string[pyarrow]"), allow_missing=True)
    column, found = at.clean_labels(arr, None, lambda s: s.strip().upper())
    assert column is not None
    assert list(column) == ["EUR"] * 4
    assert found == {"EUR"}


NUMBERED_IDS = [
    ["C002", "C010", "C002", "C001", "C010"],  # one width, every number present
    ["C2", "C10", "C002", "C1", "C10", "C0"],  # widths and leading zeros: text order
    ["88120000", "5", "88120000", "912"],  # digits only, far apart: hashed
    ["CUST-7", "CUST-77", "CUST-7"],
    ["C1", "D2"],  # another prefix: the general path
    ["C1", "C"],  # a bare prefix: the general path
    [" C1", " C2"],  # whitespace in front: not coded here
]


@pytest.mark.parametrize("ids", NUMBERED_IDS)
def test_numbered_customer_codes_match_python(ids: list[str]) -> None:
    coded = at.customer_codes(_arrow(ids))
    if ids[0].startswith(" "):
        assert coded is None
        return
    assert coded is not None
    codes, labels = coded
    assert labels.tolist() == sorted(set(ids))
    assert labels[codes].tolist() == ids


def test_numbered_codes_random_ids() -> None:
    rng = np.random.default_rng(3)
    for _ in range(200):
        n = int(rng.integers(1, 40))
        width = int(rng.integers(1, 5))
        numbers = rng.integers(0, 10**width, n)
        pad = rng.random() < 0.5
        ids = [f"K{int(x):0{width}d}" if pad else f"K{int(x)}" for x in numbers]
        coded = at._numbered_codes(_arrow(ids))
        assert coded is not None
        codes, labels = coded
        assert labels.tolist() == sorted(set(ids))
        assert labels[codes].tolist() == ids


def test_fast_paths_agree_with_python_strings() -> None:
    """Numbered customer ids, ascending order ids with repeats, clean status labels: the
    Arrow shortcuts (and reading arrays without building the prepared frame) give the
    same prepared orders, summary and period table as the general path."""
    from retention_xl.core import customer_summary, period_table

    rng = np.random.default_rng(7)
    n = 400
    order_ids = np.sort(rng.integers(95, 140, n))  # crosses 99 -> 100: text order differs
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{int(x):03d}" for x in rng.integers(1, 60, n)],
            "order_id": [str(int(x)) for x in order_ids],
            "order_date": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(np.sort(rng.integers(0, 400, n)), unit="D"),
            "amount": rng.integers(1, 100, n).astype(float),
            "refunded": np.where(rng.random(n) < 0.1, 5.0, 0.0),
            "status": rng.choice(["paid", "paid", "refunded", "cancelled"], n),
        }
    )
    text = ("customer_id", "order_id", "status")
    arrow = frame.astype({c: "string[pyarrow]" for c in text})
    python = frame.astype({c: "string[python]" for c in text})
    assert at.label_masks(at.arrow_text(arrow["status"]), ["cancelled", "paid", "refunded"])
    assert at._numbered_codes(at.arrow_text(arrow["customer_id"])) is not None
    a, p = prepare_orders(arrow), prepare_orders(python)
    assert a.stats == p.stats
    for column in ("customer_id", "order_id", "order_date", "revenue", "is_purchase"):
        assert a.frame[column].tolist() == p.frame[column].tolist()
    pd.testing.assert_frame_equal(customer_summary(arrow), customer_summary(p), check_exact=True)
    pd.testing.assert_frame_equal(
        period_table(arrow, window_days=60), period_table(p, window_days=60), check_exact=True
    )
