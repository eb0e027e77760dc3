"""Deequ's side of bench/quality.py: the same 16 checks on the same Parquet files, own process.

Runs in a virtual environment of its own (pyspark 3.5 + pydeequ; Deequ 2.1.0-spark-3.5 is
built for Spark 3.5, not the 4.x the project runs), made once as bench/quality.py's docstring
says. `python -P bench/quality_deequ.py PARQUET_DIR JAR REPEAT` (-P: bench/operator.py
must not shadow the standard library) prints one JSON line: the wall
seconds of each VerificationSuite run (JVM start excluded, as for the others) and which checks
passed in the last.
"""

from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("SPARK_VERSION", "3.5")  # pydeequ picks its Maven coordinate by this

from pydeequ.checks import Check, CheckLevel
from pydeequ.verification import VerificationResult, VerificationSuite
from pyspark.sql import SparkSession


def suite(spark: SparkSession) -> Check:
    """The 16 checks of bench/quality.py's SUITE, in Deequ's words (all rows must pass)."""
    check = Check(spark, CheckLevel.Error, "bench")
    check = check.isComplete("id").isComplete("code").isComplete("ts").isComplete("serial")
    for column, low, high in (("w1", 0, 50), ("w2", 0, 60), ("w3", 0, 1000), ("w4", 0, 100)):
        check = check.satisfies(
            f"{column} IS NULL OR ({column} >= {low} AND {column} <= {high})",
            f"{column}-range",
            lambda share: share == 1.0,
        )
    check = check.hasPattern("code", r"^(?:[A-Z]{2}-[0-9]{4})$", lambda share: share == 1.0)
    check = check.hasPattern("serial", r"^(?:S[0-9]+)$", lambda share: share == 1.0)
    check = check.isContainedIn("line", ["L1", "L2", "L3"])
    check = check.isContainedIn("unit", ["kg"])
    check = check.isUnique("id")
    check = check.hasUniqueness(["serial", "line"], lambda share: share == 1.0)
    check = check.satisfies("w2 >= w1", "w2-after-w1", lambda share: share == 1.0)
    return check.hasSize(lambda rows: rows >= 1)


def main(parquet: str, jar: str, repeat: int) -> None:
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("bench-quality-deequ")
        .config("spark.jars", jar)
        .config("spark.driver.memory", "2g")
        .config("spark.driver.extraJavaOptions", "-XX:+UseParallelGC")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    seconds = []
    outcome: dict[str, str] = {}
    try:
        for _ in range(repeat):
            frame = spark.read.parquet(parquet)
            started = time.perf_counter()
            result = VerificationSuite(spark).onData(frame).addCheck(suite(spark)).run()
            seconds.append(time.perf_counter() - started)
            rows = VerificationResult.checkResultsAsDataFrame(spark, result).collect()
            outcome = {r["constraint"]: r["constraint_status"] for r in rows}
    finally:
        # py4j's callback server (pydeequ's assertions) keeps the process alive otherwise
        gateway = spark.sparkContext._gateway
        if gateway is not None:
            gateway.shutdown_callback_server()
        spark.stop()
    print(json.dumps({"seconds": seconds, "constraints": outcome, "spark": spark.version}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
