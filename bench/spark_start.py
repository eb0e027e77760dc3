"""A small Spark job's time with the JVM's defaults and with the embedded platform's options.

`python -m bench.spark_start [--repeat R] [--record]` runs the same small Delta job (a 200,000-row
table written, appended three times, merged and read back, on local disk) in a fresh process per
run, as the local runner starts every run, under three sets of driver JVM options:

- defaults: what a job on a cluster gets (the JVM's tiered JIT, no class archive);
- C1: -XX:TieredStopAtLevel=1 (the client compiler alone);
- C1 + archive: the options `nidc.local.tools.manifest.local_spark_jvm_options` gives (C1 and the
  tool cache's class-data archive; decision 0330).

Wall time per run, from process start to exit, best and all. The floor is a process that starts a
session and stops it at once with the platform's options: what no job of any size can go under.
`--record` replaces the "Spark job start" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import textwrap
import time

from bench.recording import record_section
from nidc.local.tools.manifest import local_spark_jvm_options

SECTION = "## Spark job start on the embedded platform (bench/spark_start.py)"

JOB = textwrap.dedent(
    """
    import sys, tempfile
    from delta.tables import DeltaTable
    from nidc.local.tools.manifest import spark_jars
    from spark_jobs.session import ObjectStore, build_spark_conf, create_session

    options = sys.argv[2:]
    store = ObjectStore("http://127.0.0.1:9")
    conf = build_spark_conf(store, spark_jars(), "bench", jvm_options=options)
    spark = create_session(conf)
    if sys.argv[1] == "job":
        with tempfile.TemporaryDirectory() as folder:
            table = folder + "/t"
            rows = lambda n: spark.range(n).selectExpr("id", "id % 7 AS line", "id * 1.5 AS v")
            rows(200_000).write.format("delta").save(table)
            for _ in range(3):
                rows(50_000).write.format("delta").mode("append").save(table)
            spark.read.format("delta").load(table).groupBy("line").count().collect()
            delta = DeltaTable.forPath(spark, table)
            merge = delta.alias("t").merge(rows(1000).alias("u"), "t.id = u.id")
            merge.whenMatchedUpdateAll().execute()
    spark.stop()
    """
)


def timed(what: str, options: list[str]) -> float:
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-c", JOB, what, *options],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    platform = local_spark_jvm_options()
    if not any(o.startswith("-XX:SharedArchiveFile=") for o in platform):
        sys.exit("no class archive in the tool cache: run `nidc tools build` first")
    arms = [
        ("defaults (a cluster's jobs)", "job", []),
        ("C1", "job", ["-XX:TieredStopAtLevel=1"]),
        ("C1 + archive (the platform's)", "job", platform),
        ("floor: session start and stop, platform's options", "start", platform),
    ]
    load_before = os.getloadavg()[0]
    rows = []
    for label, what, options in arms:
        times = [timed(what, options) for _ in range(args.repeat)]
        rows.append((label, times))
    load_after = os.getloadavg()[0]
    baseline = min(rows[0][1])
    lines = [
        SECTION,
        "",
        f"`python -m bench.spark_start --repeat {args.repeat}` on "
        f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, {os.uname().nodename}; "
        f"load average {load_before:.1f} before, {load_after:.1f} after. One process per run, "
        "as the local runner starts them; wall seconds from process start to exit.",
        "",
        "| driver JVM options | best s | all runs (s) | best / defaults |",
        "|---|---|---|---|",
    ]
    for label, times in rows:
        all_runs = ", ".join(f"{t:.1f}" for t in times)
        lines.append(f"| {label} | {min(times):.1f} | {all_runs} | {min(times) / baseline:.2f}x |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.record:
        record_section(SECTION, text)


if __name__ == "__main__":
    main()
