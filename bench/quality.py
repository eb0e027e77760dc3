"""A 16-check quality suite: our one-pass job against Great Expectations and Deequ, same data.

`python -m bench.quality [--rows N] [--repeat R] [--record]` (default 10M rows x 10 columns).

1. Spark (local[2], the jobs' configuration) generates the table and writes it twice, timed:
   as Parquet (the files every tool reads) and as Delta (what a product's job writes; when the
   tool cache has the Delta jars). The quality goal compares with these write times.
2. The same 16 checks (SUITE) run on a fresh read of the Parquet files, best of R runs each:
   - ours: spark_jobs.quality.evaluate, one aggregate pass;
   - Great Expectations 1.x on the same Spark session (`pip install -e '.[bench]'`);
   - Deequ 2.1.0-spark-3.5 through PyDeequ on pyspark 3.5, in its own process and virtual
     environment (bench/quality_deequ.py), made once with
         python3.11 -m venv .venv-deequ
         .venv-deequ/bin/pip install 'pyspark==3.5.*' pydeequ==1.7.0
         mvn dependency:get -Dartifact=com.amazon.deequ:deequ:2.1.0-spark-3.5
     (Maven then reports software.amazon.glue:dqdl:1.0.7 missing: it is not served here, and
     only Deequ's DQDL parser uses it; the checks below never load it).
3. Two floors, on the same session and files, best of R:
   - scan: one aggregate that reads every value of the ten columns (a max per column), no check;
   - keys: the two uniqueness checks alone (spark_jobs.quality.duplicate_keys, a grouping on a
     64-bit hash of the key per check; an exact duplicate count needs a grouping of every key).
   An exact 16-check pass must read every value and count the duplicates of both keys exactly:
   the keys' groupings are the cheapest exact count we found on Spark (one shuffle for both
   keys, or count_distinct in the aggregate pass, were slower), so the larger of the two is the
   floor under any such pass (scan + keys is ours, which reads the key columns twice). Great
   Expectations' time over the floor says whether "2x Great Expectations" is reachable at all,
   and the floor over the write time whether "<= 25% of the write" is.
Throughput = rows / wall seconds of the suite run. Goals (issue 20): >= 2x Great Expectations,
>= Deequ, and our pass <= 25% of the write time.

`--record` replaces the "Quality" section of docs/benchmarks.md with the table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform as host
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812 (the PySpark convention)

from bench.recording import record_section
from nidc.api.quality_rules import QualityRule
from spark_jobs.quality import duplicate_keys, evaluate
from spark_jobs.session import ObjectStore, build_spark_conf, create_session

REPO = Path(__file__).resolve().parents[1]
SECTION = "## Quality (bench/quality.py, issue 20)"
DEEQU_JAR = (
    Path.home() / ".m2/repository/com/amazon/deequ/deequ/2.1.0-spark-3.5/deequ-2.1.0-spark-3.5.jar"
)
DEEQU_PYTHON = REPO / ".venv-deequ" / "bin" / "python"
NOW = dt.datetime(2026, 11, 30, 4, 0, tzinfo=dt.UTC)

SUITE = [
    QualityRule(name="id-present", check="notNull", column="id"),
    QualityRule(name="code-present", check="notNull", column="code"),
    QualityRule(name="ts-present", check="notNull", column="ts"),
    QualityRule(name="serial-present", check="notNull", column="serial"),
    QualityRule(name="w1-range", check="range", column="w1", minimum=0, maximum=50),
    QualityRule(name="w2-range", check="range", column="w2", minimum=0, maximum=60),
    QualityRule(name="w3-range", check="range", column="w3", minimum=0, maximum=1000),
    QualityRule(name="w4-range", check="range", column="w4", minimum=0, maximum=100),
    QualityRule(name="code-shape", check="regex", column="code", pattern="[A-Z]{2}-[0-9]{4}"),
    QualityRule(name="serial-shape", check="regex", column="serial", pattern="S[0-9]+"),
    QualityRule(
        name="known-line", check="allowedValues", column="line", allowed_values=["L1", "L2", "L3"]
    ),
    QualityRule(name="in-kg", check="unit", column="unit", unit="kg"),
    QualityRule(name="id-unique", check="unique", column="id"),
    QualityRule(name="serial-line-unique", check="unique", columns=["serial", "line"]),
    QualityRule(name="w2-after-w1", check="sql", sql="w2 >= w1"),
    QualityRule(name="has-rows", check="rowCount", minimum=1),
]


def table(spark: SparkSession, rows: int) -> DataFrame:
    """rows x 10 columns that pass every check of SUITE."""
    base = spark.range(rows)
    return base.select(
        F.concat(F.lit("ID"), F.col("id").cast("string")).alias("id"),
        F.format_string(
            "%s-%04d",
            F.element_at(
                F.array(*map(F.lit, ("AB", "CD", "EF"))), (F.col("id") % 3 + 1).cast("int")
            ),
            F.col("id") % 10000,
        ).alias("code"),
        F.concat(F.lit("S"), (F.col("id") / 3).cast("long").cast("string")).alias("serial"),
        F.concat(F.lit("L"), (F.col("id") % 3 + 1).cast("string")).alias("line"),
        F.lit("kg").alias("unit"),
        (F.rand(1) * 50).alias("w1"),
        (F.rand(1) * 50 + F.rand(2) * 10).alias("w2"),
        (F.rand(3) * 1000).alias("w3"),
        (F.rand(4) * 100).alias("w4"),
        (F.lit(NOW).cast("timestamp") - F.make_interval(secs=F.col("id") % 86400)).alias("ts"),
    )


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = action()
    return time.perf_counter() - started, value


def ours(spark: SparkSession, parquet: str) -> tuple[float, Any]:
    frame = spark.read.parquet(parquet)
    return timed(lambda: evaluate(frame, SUITE, 1.0, NOW))


def floor_scan(spark: SparkSession, parquet: str) -> tuple[float, Any]:
    """Read every value of every column once, check nothing."""
    frame = spark.read.parquet(parquet)
    return timed(lambda: frame.agg(*[F.max(c) for c in frame.columns]).collect())


def floor_keys(spark: SparkSession, parquet: str, rows: int) -> tuple[float, Any]:
    """The suite's two uniqueness checks alone, the way ours counts duplicates (the row count
    given, as ours has it from its aggregate pass)."""
    frame = spark.read.parquet(parquet)
    keys = [rule.key_columns for rule in SUITE if rule.check == "unique"]
    return timed(lambda: [duplicate_keys(frame, columns, rows) for columns in keys])


def great_expectations_suite() -> Any:
    import great_expectations as gx

    # The classes come from gx.expectations, which re-exports them without __all__ (mypy strict).
    gxe: Any = gx.expectations
    suite = gx.ExpectationSuite(name="bench")
    for column in ("id", "code", "ts", "serial"):
        suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column=column))
    for column, low, high in (("w1", 0, 50), ("w2", 0, 60), ("w3", 0, 1000), ("w4", 0, 100)):
        suite.add_expectation(
            gxe.ExpectColumnValuesToBeBetween(column=column, min_value=low, max_value=high)
        )
    suite.add_expectation(
        gxe.ExpectColumnValuesToMatchRegex(column="code", regex=r"^(?:[A-Z]{2}-[0-9]{4})$")
    )
    suite.add_expectation(
        gxe.ExpectColumnValuesToMatchRegex(column="serial", regex=r"^(?:S[0-9]+)$")
    )
    suite.add_expectation(
        gxe.ExpectColumnValuesToBeInSet(column="line", value_set=["L1", "L2", "L3"])
    )
    suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(column="unit", value_set=["kg"]))
    suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(column="id"))
    suite.add_expectation(gxe.ExpectCompoundColumnsToBeUnique(column_list=["serial", "line"]))
    suite.add_expectation(
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="w2", column_B="w1", or_equal=True)
    )
    suite.add_expectation(gxe.ExpectTableRowCountToBeBetween(min_value=1))
    return suite


def great_expectations(spark: SparkSession, parquet: str) -> tuple[float, Any]:
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    source = context.data_sources.add_spark(name="bench")
    asset = source.add_dataframe_asset(name="table")
    batch_definition = asset.add_batch_definition_whole_dataframe("whole")
    suite = context.suites.add(great_expectations_suite())
    frame = spark.read.parquet(parquet)

    def validate() -> Any:
        batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
        return batch.validate(suite)

    return timed(validate)


def deequ(parquet: str, repeat: int) -> dict[str, Any]:
    if not DEEQU_PYTHON.exists() or not DEEQU_JAR.exists():
        return {"error": f"missing {DEEQU_PYTHON} or {DEEQU_JAR} (see the docstring)"}
    script = REPO / "bench" / "quality_deequ.py"
    done = subprocess.run(
        [str(DEEQU_PYTHON), "-P", str(script), parquet, str(DEEQU_JAR), str(repeat)],
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def session() -> tuple[SparkSession, bool]:
    """The jobs' Spark configuration; the bool says whether Delta's jars are there."""
    try:
        from nidc.local.tools.manifest import spark_jars

        jars = spark_jars()
    except Exception:  # no tool cache: Parquet only
        jars = []
    conf = build_spark_conf(ObjectStore(endpoint="http://127.0.0.1:1"), jars, "bench-quality")
    if not jars:  # without Delta's jars its extension cannot load
        conf.pop("spark.sql.extensions")
        conf.pop("spark.sql.catalog.spark_catalog")
    return create_session(conf), bool(jars)


def measure(rows: int, repeat: int, workdir: Path) -> dict[str, Any]:
    spark, has_delta = session()
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    parquet = str(workdir / "table.parquet")
    figures: dict[str, Any] = {"rows": rows, "repeat": repeat, "load_before": os.getloadavg()}
    figures["write_parquet_s"], _ = timed(
        lambda: table(spark, rows).write.mode("overwrite").parquet(parquet)
    )
    if has_delta:
        delta = str(workdir / "table.delta")
        figures["write_delta_s"], _ = timed(
            lambda: table(spark, rows).write.format("delta").mode("overwrite").save(delta)
        )
    runs: dict[str, list[float]] = {
        "ours": [],
        "great_expectations": [],
        "floor_scan": [],
        "floor_keys": [],
    }
    for _ in range(repeat):
        seconds, evaluation = ours(spark, parquet)
        runs["ours"].append(seconds)
        figures["ours_failing"] = [r.name for r in evaluation.results if not r.passed]
        seconds, validation = great_expectations(spark, parquet)
        runs["great_expectations"].append(seconds)
        figures["ge_success"] = bool(validation.success)
        seconds, duplicates = floor_keys(spark, parquet, rows)
        runs["floor_keys"].append(seconds)
        figures["floor_duplicates"] = duplicates
        runs["floor_scan"].append(floor_scan(spark, parquet)[0])
    spark.stop()
    figures["runs"] = runs
    figures["deequ"] = deequ(parquet, repeat)
    figures["load_after"] = os.getloadavg()
    return figures


def render(figures: dict[str, Any], command: str) -> str:
    rows = figures["rows"]
    best = {name: min(times) for name, times in figures["runs"].items()}
    deequ_run = figures["deequ"]
    if "seconds" in deequ_run:
        best["deequ"] = min(deequ_run["seconds"])
    write = figures.get("write_delta_s", figures["write_parquet_s"])
    lines = [
        SECTION,
        "",
        f"`{command}` on {dt.date.today().isoformat()}, {host.node()}: {rows:,} rows x 10 "
        f"columns, 16 checks, best of {figures['repeat']}; load average "
        f"{figures['load_before'][0]:.1f} before, {figures['load_after'][0]:.1f} after.",
        "",
        "| tool | best s | all runs (s) | rows/s | its time / ours |",
        "|---|---|---|---|---|",
    ]
    all_runs = {
        **figures["runs"],
        **({"deequ": deequ_run["seconds"]} if "seconds" in deequ_run else {}),
    }
    for name, seconds in best.items():
        ratio = best[name] / best["ours"]
        runs_text = ", ".join(f"{s:.1f}" for s in all_runs[name])
        lines.append(
            f"| {name} | {seconds:.1f} | {runs_text} | {rows / seconds:,.0f} | {ratio:.2f}x |"
        )
    if "error" in deequ_run:
        lines.append(f"| deequ | - | - | - | not run: `{deequ_run['error']}` |")
    floor = max(best["floor_scan"], best["floor_keys"])
    lines += [
        "",
        f"Floor under any exact pass (the larger of scan and keys): {floor:.1f} s; scan + keys "
        f"{best['floor_scan'] + best['floor_keys']:.1f} s. Ours is {best['ours'] / floor:.2f}x "
        f"the floor; Great Expectations is {best['great_expectations'] / floor:.2f}x the floor "
        '("2x Great Expectations" needs at least 2x); the floor is '
        f"{floor / write:.0%} of the write (the 25% goal needs at most 25%).",
        f"Write of the same table: Parquet {figures['write_parquet_s']:.1f} s"
        + (f", Delta {figures['write_delta_s']:.1f} s" if "write_delta_s" in figures else "")
        + f"; our pass is {best['ours'] / write:.0%} of the "
        + ("Delta" if "write_delta_s" in figures else "Parquet")
        + " write (goal <= 25%).",
        f"Checks failing (should be none): ours {figures['ours_failing']}, "
        f"Great Expectations success={figures['ge_success']}, Deequ "
        f"{sorted(k for k, v in deequ_run.get('constraints', {}).items() if v != 'Success')}.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-quality-"))
    try:
        figures = measure(args.rows, args.repeat, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    command = f"python -m bench.quality --rows {args.rows} --repeat {args.repeat}"
    text = render(figures, command)
    print(json.dumps(figures, default=str))
    print(text)
    if args.record:
        record_section(SECTION, text)


if __name__ == "__main__":
    main()
