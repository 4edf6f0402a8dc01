"""The settings the Spark tests start their JVMs with (lakedata.SPARK_TEST_CONF)."""

from __future__ import annotations

import doctest
import shlex
import sys
from pathlib import Path

import lakedata
from lakedata import SPARK_TEST_CONF, spark_class_archive, spark_submit_args


def test_the_submit_arguments_carry_every_setting_whole() -> None:
    words = shlex.split(spark_submit_args())  # as pyspark splits PYSPARK_SUBMIT_ARGS
    assert words[-1] == "pyspark-shell"
    pairs = dict(w.split("=", 1) for w in words[1:-1:2])
    assert words[0:-1:2] == ["--conf"] * len(SPARK_TEST_CONF)
    assert pairs == SPARK_TEST_CONF
    assert "-XX:TieredStopAtLevel=1" in pairs["spark.driver.extraJavaOptions"].split()


def test_the_class_archive_is_used_only_when_made(tmp_path: Path) -> None:
    archive = spark_class_archive()
    options = SPARK_TEST_CONF["spark.driver.extraJavaOptions"].split()
    if archive is None or not archive.is_file():
        assert not any(o.startswith("-XX:SharedArchiveFile") for o in options)
        return
    assert Path(sys.prefix) in archive.parents  # this environment's, never the checkout's
    assert f"-XX:SharedArchiveFile={archive}" in options
    assert {"-Xlog:cds=off", "-Xlog:cds+dynamic=off"} <= set(options)


def test_the_doctests_of_lakedata() -> None:
    result = doctest.testmod(lakedata)
    assert result.attempted >= 1 and result.failed == 0
