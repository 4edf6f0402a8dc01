"""Make the class-data archive the tests' Spark JVMs start from (JDK AppCDS).

    python tests/engines/spark_classes.py

``scripts/test`` runs this before the tests; it returns at once when the archive of
this Python environment and Java installation is there. The archive is made by one
JVM that runs ``kpis``, ``predict`` and ``build`` with ``--engine spark`` on the sample
shop and writes every class it loaded when it exits
(``-XX:ArchiveClassesAtExit``). Later JVMs map those classes instead of loading and
checking them again, which takes about a third off a short Spark run; what Spark
computes is the same. Without Spark or Java there is nothing to do; a failure to make
the archive only leaves the tests slower, so it is said and the exit status is 0.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

# The workload: the commands the Spark tests run, in one process, so in one JVM.
WORKLOAD = """
import os, sys
from pathlib import Path
sys.path[:0] = [{here!r}, {root!r}]
from lakedata import write_parquet
from retention_xl.cli import main
from retention_xl.datasets import load_sample, sample_paths

work = Path({work!r})
(work / "lake").mkdir()
write_parquet(load_sample().orders, work / "lake" / "orders.parquet")
os.chdir(work)
spark = ["--orders", "lake/", "--engine", "spark", "--spark-master", "local[1]"]
for args in (
    ["kpis", *spark, "--subscriptions", str(sample_paths().subscriptions), "--json"],
    ["predict", *spark, "--holdout-weeks", "26", "--no-intervals", "--out", "p.parquet", "-q"],
    ["predict", *spark, "--model", "bgbb", "--period", "Q", "--no-intervals",
     "--out", "b.parquet", "-q"],
    ["build", *spark, "--out", "r.xlsx", "-q"],
):
    try:
        main(args=args, prog_name="retention-xl", standalone_mode=False)
    except SystemExit as exc:
        if exc.code:
            raise
"""


def main() -> int:
    sys.path.insert(0, str(HERE))
    from lakedata import SPARK_TEST_CONF, spark_class_archive, spark_problem, spark_submit_args

    problem = spark_problem()
    archive = spark_class_archive()
    if problem is not None or archive is None:
        print(f"No Spark class archive: {problem or 'no place for it'}.")
        return 0
    if archive.is_file():
        return 0
    archive.parent.mkdir(parents=True, exist_ok=True)
    part = archive.with_name(f"{archive.name}.{os.getpid()}.part")
    conf = dict(SPARK_TEST_CONF)
    conf["spark.driver.extraJavaOptions"] = (
        f"-XX:TieredStopAtLevel=1 -XX:ArchiveClassesAtExit={part}"
    )
    env = dict(os.environ, PYSPARK_SUBMIT_ARGS=spark_submit_args(conf))
    print("Making the class-data archive for the Spark tests' JVMs...")
    with tempfile.TemporaryDirectory(prefix="rxl-cds-") as work:
        script = WORKLOAD.format(here=str(HERE), root=str(ROOT), work=work)
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
        )
    if done.returncode != 0 or not part.is_file():
        part.unlink(missing_ok=True)
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        print(f"Could not make the Spark class archive (the tests run without it):\n{tail}")
        return 0
    part.replace(archive)
    for stale in archive.parent.glob("spark-*.jsa"):  # of an earlier pyspark or Java
        if stale != archive:
            stale.unlink(missing_ok=True)
    print(f"Wrote {archive} ({archive.stat().st_size / 1e6:.0f} MB).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
