"""Survey analytics: NPS breakdowns and NPS/CSAT per period.

Expected values are counted by hand or by a plain pandas computation in the test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import retention_xl as rx
from retention_xl.core.survey import SURVEY_SUMMARY_COLUMNS, nps_breakdown, survey_summary
from retention_xl.errors import InputError, NotEnoughDataError, OutOfRangeError

BREAKDOWNS = [
    # scores, promoters, passives, detractors, nps
    ([10, 9, 8, 7, 6, 0], 2, 2, 2, 0.0),
    ([10] * 70 + [8] * 20 + [5] * 10, 70, 20, 10, 60.0),  # FACTS.md worked example
    ([9, 9, 9], 3, 0, 0, 100.0),
    ([0, 6], 0, 0, 2, -100.0),
    ([7, 8, np.nan, 8], 0, 3, 0, 0.0),  # blanks ignored
    ([10, 9, 8, 7, 6, 3, 10], 3, 2, 2, 100 / 7),
]


@pytest.mark.parametrize(("scores", "pro", "pas", "det", "expected"), BREAKDOWNS)
def test_nps_breakdown(scores, pro, pas, det, expected):
    b = nps_breakdown(scores)
    assert (b.promoters, b.passives, b.detractors) == (pro, pas, det)
    assert b.answers == pro + pas + det
    assert b.promoter_share == pytest.approx(pro / b.answers)
    assert b.passive_share == pytest.approx(pas / b.answers)
    assert b.detractor_share == pytest.approx(det / b.answers)
    assert b.nps == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("scores", "error"),
    [
        ([11], OutOfRangeError),
        ([-1], OutOfRangeError),
        ([8.5], OutOfRangeError),
        ([], NotEnoughDataError),
        ([np.nan], NotEnoughDataError),
        (["ten"], InputError),
    ],
)
def test_nps_breakdown_errors(scores, error):
    with pytest.raises(error) as info:
        nps_breakdown(scores)
    assert info.value.argument == "scores"


@settings(deadline=None)  # timing varies on shared CI runners
@given(st.lists(st.integers(0, 10), min_size=1, max_size=200))
def test_nps_breakdown_properties(scores):
    b = nps_breakdown(scores)
    assert -100 <= b.nps <= 100
    assert b.promoters + b.passives + b.detractors == len(scores)
    assert b.nps == pytest.approx(100 * (b.promoter_share - b.detractor_share), abs=1e-9)
    assert b.nps == rx.nps(scores)  # one source of the number


def _survey() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "answered_at": [
                "2024-01-05",
                "2024-01-20",
                "2024-01-31",
                "2024-01-10",
                "2024-01-11",
                "2024-03-01",
                "2024-03-15",
                "2024-03-20",
                "2024-03-02",
            ],
            "score": [10, 6, 8, 5, 3, 9, 9, np.nan, 4],
            "kind": ["nps", "nps", "nps", "csat", "csat", "nps", "NPS", "nps", "csat"],
        }
    )


def test_monthly_summary_by_hand():
    table = survey_summary(_survey())
    assert list(table.columns) == list(SURVEY_SUMMARY_COLUMNS)
    assert list(table.index) == list(pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"]))
    assert table.index.name == "period"
    jan, feb, mar = (table.iloc[i] for i in range(3))
    # January: NPS answers 10, 6, 8 -> 1 promoter, 1 passive, 1 detractor -> 0
    assert (jan["answers"], jan["promoters"], jan["passives"], jan["detractors"]) == (3, 1, 1, 1)
    assert jan["nps"] == 0.0
    # January: CSAT answers 5, 3 -> 1 satisfied of 2
    assert (jan["csat_answers"], jan["csat_satisfied"], jan["csat"]) == (2, 1, 0.5)
    # February: nothing answered, the month is still there
    assert feb["answers"] == 0 and feb["csat_answers"] == 0
    assert np.isnan(feb["nps"]) and np.isnan(feb["csat"])
    # March: NPS 9, 9 (blank dropped) -> 100; CSAT 4 -> satisfied
    assert (mar["answers"], mar["nps"], mar["csat"]) == (2, 100.0, 1.0)
    assert table["answers"].dtype == np.int64


def test_overall_summary_by_hand():
    row = survey_summary(_survey(), freq=None).loc["all"]
    # NPS answers 10, 6, 8, 9, 9: 3 promoters, 1 passive, 1 detractor -> 40
    assert (row["answers"], row["promoters"], row["passives"], row["detractors"]) == (5, 3, 1, 1)
    assert row["nps"] == pytest.approx(40.0)
    assert row["promoter_share"] == pytest.approx(0.6)
    # CSAT 5, 3, 4 -> 2 of 3
    assert row["csat"] == pytest.approx(2 / 3)


def test_csat_threshold_and_scale_are_configurable():
    df = pd.DataFrame(
        {"answered_at": ["2024-01-01"] * 4, "score": [1, 3, 7, 10], "kind": ["csat"] * 4}
    )
    row = survey_summary(df, freq=None, satisfied_min=7, scale_max=10).iloc[0]
    assert row["csat"] == 0.5
    assert row["answers"] == 0 and np.isnan(row["nps"])
    with pytest.raises(OutOfRangeError) as info:
        survey_summary(df, freq=None)  # 7 and 10 are off the 1-5 scale
    assert info.value.argument == "scores"


@pytest.mark.parametrize("freq", ["W", "M", "Q", "Y"])
def test_summary_matches_plain_pandas(freq):
    rng = np.random.default_rng(7)
    n = 600
    dates = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    kind = rng.choice(["nps", "csat"], n, p=[0.7, 0.3])
    score = np.where(kind == "nps", rng.integers(0, 11, n), rng.integers(1, 6, n))
    df = pd.DataFrame({"answered_at": dates, "score": score.astype(float), "kind": kind})
    table = survey_summary(df, freq=freq)

    period = df["answered_at"].dt.to_period(freq).dt.start_time
    nps_df = df[df["kind"] == "nps"]
    nps_period = period[df["kind"] == "nps"]
    expected_nps = nps_df.groupby(nps_period)["score"].agg(
        lambda s: 100 * ((s >= 9).sum() - (s <= 6).sum()) / len(s)
    )
    csat_df = df[df["kind"] == "csat"]
    expected_csat = csat_df.groupby(period[df["kind"] == "csat"])["score"].agg(
        lambda s: (s >= 4).mean()
    )
    got_nps = table["nps"].dropna()
    pd.testing.assert_series_equal(
        got_nps,
        expected_nps.rename("nps"),
        check_names=False,
        check_index_type=False,
        check_freq=False,
    )
    got_csat = table["csat"].dropna()
    np.testing.assert_allclose(got_csat.to_numpy(), expected_csat.to_numpy())
    assert list(got_csat.index) == list(expected_csat.index)
    assert table["answers"].sum() == len(nps_df)
    assert table["csat_answers"].sum() == len(csat_df)
    # every period between the first and the last is there, once
    assert table.index.is_monotonic_increasing and table.index.is_unique
    assert table.index[0] == period.min() and table.index[-1] == period.max()


@settings(deadline=None)  # timing varies on shared CI runners
@given(st.lists(st.tuples(st.integers(0, 90), st.integers(0, 10)), min_size=1, max_size=60))
def test_summary_nps_in_range_and_counts_add_up(rows):
    df = pd.DataFrame(
        {
            "answered_at": [pd.Timestamp("2024-01-01") + pd.Timedelta(days=d) for d, _ in rows],
            "score": [float(s) for _, s in rows],
        }
    )
    table = survey_summary(df)
    nps_values = table["nps"].dropna()
    assert ((nps_values >= -100) & (nps_values <= 100)).all()
    assert (table["promoters"] + table["passives"] + table["detractors"] == table["answers"]).all()
    assert table["answers"].sum() == len(rows)


SUMMARY_ERRORS = [
    ({"answered_at": ["2024-01-01"], "score": [11], "kind": ["nps"]}, {}, OutOfRangeError, "score"),
    (
        {"answered_at": ["2024-01-01"], "score": [0], "kind": ["csat"]},
        {},
        OutOfRangeError,
        "scores",
    ),
    ({"answered_at": ["2024-01-01"], "score": ["x"]}, {}, InputError, "score"),
    ({"answered_at": ["not a date"], "score": [5]}, {}, InputError, "answered_at"),
    ({"answered_at": ["2024-01-01"], "score": [5], "kind": ["ces"]}, {}, InputError, "kind"),
    ({"answered_at": ["2024-01-01"], "score": [5]}, {"freq": "D"}, InputError, "freq"),
    (
        {"answered_at": ["2024-01-01"], "score": [3], "kind": ["csat"]},
        {"satisfied_min": 6},
        OutOfRangeError,
        "satisfied_min",
    ),
    ({"answered_at": ["2024-01-01"], "score": [np.nan]}, {}, NotEnoughDataError, "survey"),
    ({"when": ["2024-01-01"], "score": [1]}, {}, InputError, "survey"),
]


@pytest.mark.parametrize(("data", "kwargs", "error", "argument"), SUMMARY_ERRORS)
def test_summary_errors(data, kwargs, error, argument):
    with pytest.raises(error) as info:
        survey_summary(pd.DataFrame(data), **kwargs)
    assert info.value.argument == argument


def test_exported_from_the_package():
    assert rx.survey_summary is survey_summary
    assert rx.nps_breakdown is nps_breakdown
