"""The label table: every text in both languages, valid sheet names."""

from __future__ import annotations

import re

import pytest

from retention_xl.core.customers import SEGMENT_ACTIONS, SEGMENTS
from retention_xl.core.report import KPI_UNITS
from retention_xl.workbook.labels import LABELS, LANGS, label
from retention_xl.workbook.plan import ROLES


def test_every_label_has_both_languages():
    for key, texts in LABELS.items():
        assert len(texts) == len(LANGS), key
        assert all(isinstance(t, str) and t.strip() for t in texts), key


@pytest.mark.parametrize("lang", LANGS)
def test_sheet_names_are_valid_and_unique(lang):
    names = [label(f"sheet.{role}", lang) for role in ROLES]
    assert len(set(names)) == len(names)
    for name in names:
        assert len(name) <= 31 and not re.search(r"[\[\]:*?/\\]", name), name


def test_italian_differs_from_english_where_it_should():
    for role in ROLES:
        en, it = label(f"sheet.{role}", "en"), label(f"sheet.{role}", "it")
        assert (en == it) == (role in ("XLWINGS_CONF",)), role
    for key in KPI_UNITS:
        assert f"kpi.{key}" in LABELS and f"kpi.{key}.help" in LABELS
    for seg in SEGMENTS:
        assert f"segment.{seg}" in LABELS and f"segment.{seg}.rule" in LABELS
    for action in SEGMENT_ACTIONS.values():
        assert label(f"action.{action}", "en") != label(f"action.{action}", "it")


def test_unknown_language_and_key():
    with pytest.raises(ValueError, match="lang"):
        label("kpi.churn", "fr")
    with pytest.raises(KeyError):
        label("no.such.key")
