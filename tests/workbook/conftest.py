"""Shared fixtures of the workbook tests: the sample plan, computed once."""

from __future__ import annotations

import pytest

from retention_xl.datasets import load_sample
from retention_xl.workbook.build import plan_report_and_data, plan_template

SAMPLE_CAC = 45.0


@pytest.fixture(scope="session")
def sample():
    return load_sample()


@pytest.fixture(scope="session")
def sample_plan_and_data(sample):
    return plan_report_and_data(
        sample.orders, sample.subscriptions, sample.survey, cac=SAMPLE_CAC, lang="en"
    )


@pytest.fixture(scope="session")
def sample_plan(sample_plan_and_data):
    return sample_plan_and_data[0]


@pytest.fixture(scope="session")
def sample_plan_it(sample):
    return plan_report_and_data(
        sample.orders, sample.subscriptions, sample.survey, cac=SAMPLE_CAC, lang="it"
    )[0]


@pytest.fixture(scope="session")
def template_en():
    return plan_template(lang="en")


@pytest.fixture(scope="session")
def template_it():
    return plan_template(lang="it")
