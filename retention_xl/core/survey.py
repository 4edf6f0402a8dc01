"""Survey analytics: NPS breakdowns and NPS / CSAT summaries overall or per period.

The numbers come from the scalar :func:`~retention_xl.core.kpis.nps` and
:func:`~retention_xl.core.kpis.csat`, so the Excel functions, the workbook and this
module always agree.

* NPS answers (``kind == "nps"``) are whole numbers 0-10: promoters 9-10, passives 7-8,
  detractors 0-6; NPS = 100 x (promoters - detractors) / answers, from -100 to 100.
* CSAT answers (``kind == "csat"``) lie on 1..``scale_max`` (default 1-5); CSAT is the
  share of answers at or above ``satisfied_min`` (default 4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from retention_xl.core.kpis import ArrayLike, _scores, csat, nps
from retention_xl.core.schema import validate_survey
from retention_xl.errors import InputError, NotEnoughDataError

__all__ = ["SURVEY_SUMMARY_COLUMNS", "NpsBreakdown", "nps_breakdown", "survey_summary"]

#: The columns of :func:`survey_summary`, in order.
SURVEY_SUMMARY_COLUMNS: Final = (
    "answers",
    "promoters",
    "passives",
    "detractors",
    "promoter_share",
    "passive_share",
    "detractor_share",
    "nps",
    "csat_answers",
    "csat_satisfied",
    "csat",
)
_FREQS: Final = {"W": "W", "M": "M", "Q": "Q", "Y": "Y", "A": "Y"}


@dataclass(frozen=True, slots=True)
class NpsBreakdown:
    """Counts and shares of promoters, passives and detractors, and the NPS.

    Shares are fractions of ``answers``; ``nps`` is -100..100.
    """

    promoters: int
    passives: int
    detractors: int
    answers: int
    promoter_share: float
    passive_share: float
    detractor_share: float
    nps: float


def nps_breakdown(scores: ArrayLike) -> NpsBreakdown:
    """Split 0-10 answers into promoters (9-10), passives (7-8) and detractors (0-6).

    Blanks (NaN) are ignored.

    .. math:: \\text{NPS} = 100 \\times \\frac{\\#\\text{promoters} -
              \\#\\text{detractors}}{\\#\\text{answers}}

    Raises
    ------
    OutOfRangeError
        A score that is not a whole number from 0 to 10 (argument ``scores``).
    NotEnoughDataError
        No answers.

    Examples
    --------
    >>> b = nps_breakdown([10, 9, 8, 7, 6, 3, 10])
    >>> b.promoters, b.passives, b.detractors, round(b.nps, 4)
    (3, 2, 2, 14.2857)
    """
    score = nps(scores)  # validates the scale and is the one source of the number
    arr = _scores(scores, "scores")
    n = int(arr.size)
    promoters = int(np.count_nonzero(arr >= 9))
    detractors = int(np.count_nonzero(arr <= 6))
    passives = n - promoters - detractors
    return NpsBreakdown(
        promoters=promoters,
        passives=passives,
        detractors=detractors,
        answers=n,
        promoter_share=promoters / n,
        passive_share=passives / n,
        detractor_share=detractors / n,
        nps=float(score),
    )


def _period_start(dates: pd.Series, freq: str) -> pd.Series:
    key = _FREQS.get(freq.upper()) if isinstance(freq, str) else None
    if key is None:
        raise InputError(
            f"freq must be one of 'W', 'M', 'Q', 'Y' or None (overall), got {freq!r}",
            argument="freq",
        )
    starts: pd.Series = dates.dt.to_period(key).dt.start_time
    return starts


def _row(group: pd.DataFrame, satisfied_min: float, scale_max: float) -> dict[str, float]:
    is_nps = group["is_nps"].to_numpy(dtype=bool)
    scores = group["score"].to_numpy(dtype="float64")
    nps_scores, csat_scores = scores[is_nps], scores[~is_nps]
    row: dict[str, float] = dict.fromkeys(SURVEY_SUMMARY_COLUMNS, np.nan)
    row.update(answers=float(nps_scores.size), csat_answers=float(csat_scores.size))
    if nps_scores.size:
        b = nps_breakdown(nps_scores)
        row.update(
            promoters=b.promoters,
            passives=b.passives,
            detractors=b.detractors,
            promoter_share=b.promoter_share,
            passive_share=b.passive_share,
            detractor_share=b.detractor_share,
            nps=b.nps,
        )
    else:
        row.update(promoters=0.0, passives=0.0, detractors=0.0)
    if csat_scores.size:
        share = csat(csat_scores, satisfied_min, scale_max=scale_max)
        row.update(csat=share, csat_satisfied=float(np.count_nonzero(csat_scores >= satisfied_min)))
    else:
        row.update(csat_satisfied=0.0)
    return row


def survey_summary(
    survey: pd.DataFrame,
    *,
    freq: str | None = "M",
    satisfied_min: float = 4,
    scale_max: float = 5,
) -> pd.DataFrame:
    """NPS and CSAT of a survey frame, per period or overall.

    Parameters
    ----------
    survey
        Answers in the canonical schema (``answered_at``, ``score``, ``kind``; see
        :mod:`retention_xl.core.schema`). Blank scores are dropped.
    freq
        ``"M"`` (default), ``"W"``, ``"Q"`` or ``"Y"``: one row per period, indexed by
        the period's first day (``period``), every period from the first answer to the
        last one, including periods with no answers. ``None``: one row for all
        answers, indexed ``"all"``.
    satisfied_min, scale_max
        The CSAT scale is 1..``scale_max``; an answer >= ``satisfied_min`` is satisfied.

    Returns
    -------
    DataFrame
        ``answers`` (NPS answers), ``promoters``, ``passives``, ``detractors`` (counts),
        ``promoter_share``, ``passive_share``, ``detractor_share``, ``nps``
        (-100..100), ``csat_answers``, ``csat_satisfied`` (counts) and ``csat``
        (fraction). Counts are integers; rates are NaN where a period has no answers of
        that kind.

    Raises
    ------
    OutOfRangeError
        An NPS score outside 0-10 (``score``) or a CSAT score outside the scale
        (``scores``), or ``satisfied_min`` off the scale.
    NotEnoughDataError
        No answers at all.

    Examples
    --------
    >>> df = pd.DataFrame({"answered_at": ["2024-01-03", "2024-01-20", "2024-03-02"],
    ...                    "score": [10, 3, 9], "kind": ["nps"] * 3})
    >>> survey_summary(df)["nps"].tolist()
    [0.0, nan, 100.0]
    """
    frame = validate_survey(survey)
    if frame.empty:
        raise NotEnoughDataError("survey has no answers", argument="survey")
    frame["is_nps"] = (frame["kind"] == "nps").to_numpy(dtype=bool)
    csat_all = frame.loc[~frame["is_nps"].to_numpy(), "score"]
    if not csat_all.empty:  # check the whole CSAT scale once, before grouping
        csat(csat_all.to_numpy(dtype="float64"), satisfied_min, scale_max=scale_max)
    if freq is None:
        table = pd.DataFrame(
            [_row(frame, satisfied_min, scale_max)],
            index=pd.Index(["all"], name="period"),
        )
    else:
        period = _period_start(frame["answered_at"], freq)
        key = _FREQS[freq.upper()]
        first, last = period.min(), period.max()
        periods = pd.period_range(first, last, freq=key).start_time
        rows = {p: _row(g, satisfied_min, scale_max) for p, g in frame.groupby(period, sort=True)}
        empty = _row(frame.iloc[:0], satisfied_min, scale_max)
        table = pd.DataFrame(
            [rows.get(p, empty) for p in periods],
            index=pd.DatetimeIndex(periods, name="period"),
        )
    table = table[list(SURVEY_SUMMARY_COLUMNS)]
    for col in ("answers", "promoters", "passives", "detractors", "csat_answers", "csat_satisfied"):
        table[col] = table[col].astype("int64")
    return table
