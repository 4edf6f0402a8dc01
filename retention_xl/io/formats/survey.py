"""Survey tool exports: Typeform and SurveyMonkey layouts.

* **Typeform** (Results > Download > CSV/XLSX): one column per question, headed by
  the question text, then ``Start Date (UTC)``, ``Submit Date (UTC)``, ``Network ID``
  (older exports start with ``#``, the response id). Answers are dated by
  ``Submit Date (UTC)``.
* **SurveyMonkey** (Analyze > Save as > Export file > All individual responses): a
  *two-row header*: the first row has ``Respondent ID, Collector ID, Start Date,
  End Date, IP Address, Email Address, First Name, Last Name, Custom Data 1`` and the
  question texts, the second row ``Response`` (or each option of a multiple-answer
  question). Answers are dated by ``End Date`` (US ``mm/dd/yyyy`` dates unless the
  locale says otherwise); data rows start at spreadsheet row 3.

The score column is the question whose text mentions recommending (NPS: "How likely
are you to recommend...", "Quanto è probabile che consiglieresti...") or satisfaction
(CSAT); ``--map score=COLUMN`` picks another, ``--map kind=csat`` reads CSAT answers.
Answers like ``"9 - Very likely"`` keep their leading number.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import pandas as pd

from retention_xl.io.convert import Converter
from retention_xl.io.formats.base import SURVEY_ROLES, Format, Options
from retention_xl.io.formats.generic import read_survey_generic

__all__ = ["SURVEYMONKEY", "TYPEFORM"]


def _with_dates(
    first: Sequence[str],
) -> Callable[[Converter, Mapping[str, str], Options], pd.DataFrame]:
    """A survey reader that dates answers by the given columns first."""

    def read(conv: Converter, mapping: Mapping[str, str], options: Options) -> pd.DataFrame:
        mapping = dict(mapping)
        if "answered_at" not in mapping:
            found = conv.index.find(first)
            if found is not None:
                mapping["answered_at"] = found
        if "customer_id" not in mapping:
            found = conv.index.find(("email", "Email Address", "customer_id", "customer id"))
            if found is not None:
                mapping["customer_id"] = found
        return read_survey_generic(conv, mapping, options)

    return read


TYPEFORM = Format(
    name="typeform",
    kind="survey",
    signatures=(
        ("Start Date (UTC)", "Submit Date (UTC)", "Network ID"),
        ("Start Date (UTC)", "Stage Date (UTC)", "Submit Date (UTC)", "Network ID"),
    ),
    read=_with_dates(("Submit Date (UTC)", "Stage Date (UTC)", "Start Date (UTC)")),
    threshold=1.0,
    description="Typeform responses export",
    roles=SURVEY_ROLES,
)

SURVEYMONKEY = Format(
    name="surveymonkey",
    kind="survey",
    signatures=(("Respondent ID", "Collector ID", "Start Date", "End Date", "IP Address"),),
    read=_with_dates(("End Date", "Start Date")),
    threshold=0.8,
    header_rows=2,
    description="SurveyMonkey 'all individual responses' export (two header rows)",
    roles=SURVEY_ROLES,
)
