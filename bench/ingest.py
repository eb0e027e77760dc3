"""Ingest write throughput and micro-batch commit latency: Spark (local[2]) against delta-rs.

`python -m bench.ingest [--rows N] [--commits K] [--repeat R] [--record]` on a running
embedded platform (NIDC_STATE_DIR says which). Both writers get the same input in the same run:

1. throughput: the same Parquet landing files on the S3 server (N bronze-shaped device rows,
   in 8 files) are read and appended to a new Delta table partitioned by (date, source), by
   Spark (`spark.read.parquet` -> `write.format("delta")`) and by delta-rs
   (`pyarrow.dataset` -> `write_deltalake`); rows/s = N / wall time, best of `--repeat` runs
   each (default 5), with the CPU seconds each writer's process used in that run (the Spark
   JVM from /proc, this process for delta-rs) and Spark's cold first run;
2. micro-batch commit latency: K commits of one 500-row batch each, idempotent
   (txnAppId/txnVersion) appends by both, plus the ingest job's own per-batch commit (MERGE
   against the affected partitions); p50 and p95 of the wall time per commit.

Spark's floor runs beside both: the same writes as plain Parquet with no Delta log, so the
table shows how much of the gap Delta settings could ever close.

`--record` replaces the "Ingest" section of docs/benchmarks.md with the table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import platform as host
import resource
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import urllib3
from minio import Minio

from nidc.local.pki import TRUSTSTORE_PASSWORD
from nidc.local.platform import LocalPlatform

BUCKET = "nidc-bench"
BENCHMARKS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
SECTION = "## Ingest (bench/ingest.py)"
NATIVE_SECTION = "## Native bronze writer, issue 16 (bench/ingest.py --native)"
T0 = dt.datetime(2026, 11, 25, 0, 0, tzinfo=dt.UTC)


def bronze_rows(count: int, offset: int = 0) -> pa.Table:
    """Bronze-shaped device rows: 20 points of 5 sources, one sample per point per second."""
    index = pa.array(range(offset, offset + count), type=pa.int64()).to_pylist()
    ts = [T0 + dt.timedelta(seconds=i // 100) for i in index]
    return pa.table(
        {
            "source": [f"cnc-{i % 5:02d}" for i in index],
            "point": [f"point_{i % 20:02d}" for i in index],
            "identifier": [f"88.118.8/CNC-{i % 5:02d}.point_{i % 20:02d}" for i in index],
            "ts": pa.array(ts, type=pa.timestamp("us", tz="UTC")),
            "received_at": pa.array(ts, type=pa.timestamp("us", tz="UTC")),
            "value": [float(i % 1000) / 10 for i in index],
            "value_text": pa.nulls(count, pa.string()),
            "value_type": ["double"] * count,
            "unit": ["Cel"] * count,
            "quality": ["Good"] * count,
            "batch_sequence": pa.array([1 + i // 50_000 for i in index], type=pa.int64()),
            "date": pa.array([t.date() for t in ts], type=pa.date32()),
        }
    )


class Bench:
    """Clients for one run: S3 (minio), Spark, delta-rs storage options."""

    def __init__(self, rows: int, commits: int) -> None:
        self.rows = rows
        self.commits = commits
        self.platform = LocalPlatform()
        env = self.platform.env()
        s3 = env["servers"]["minio"]
        self.endpoint = s3["url"]
        self.access_key = s3["access_key"]
        self.secret_key = Path(s3["secret_key_file"]).read_text().strip()
        self.ca_file = env["ca_file"]
        self.jars = [Path(j) for j in env["spark_jars"]]
        self.store = Minio(
            self.endpoint.removeprefix("https://"),
            access_key=self.access_key,
            secret_key=self.secret_key,
            secure=True,
            http_client=urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=self.ca_file),
        )
        if not self.store.bucket_exists(BUCKET):
            self.store.make_bucket(BUCKET)
        self.run = f"run-{uuid.uuid4().hex[:8]}"
        # delta-rs (object_store over rustls) trusts the CA through SSL_CERT_FILE.
        os.environ["SSL_CERT_FILE"] = self.ca_file
        self.options = {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": "us-east-1",
            "AWS_FORCE_PATH_STYLE": "true",
        }
        self.spark: Any = None

    def start_spark(self) -> None:
        """The Spark session as a job gets it (local[2], S3A, the platform CA)."""
        os.environ["AWS_ACCESS_KEY_ID"] = self.access_key
        os.environ["AWS_SECRET_ACCESS_KEY"] = self.secret_key
        from spark_jobs.session import ObjectStore, build_spark_conf, create_session

        store = ObjectStore(
            self.endpoint,
            truststore=self.platform.ca.java_truststore(),
            truststore_password=TRUSTSTORE_PASSWORD,
        )
        self.spark = create_session(build_spark_conf(store, self.jars, "bench-ingest"))
        self.spark.sparkContext.setLogLevel("ERROR")
        self.jvm_pid = int(self.spark._jvm.java.lang.ProcessHandle.current().pid())

    def jvm_cpu(self) -> float:
        """CPU seconds (user + system) the Spark JVM has used so far (Linux /proc)."""
        fields = Path(f"/proc/{self.jvm_pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def land(self, files: int = 8) -> str:
        """The input: N rows as Parquet files under landing/; returns the folder key."""
        folder = f"{self.run}/landing/"
        per_file = self.rows // files
        for index in range(files):
            sink = io.BytesIO()
            pq.write_table(bronze_rows(per_file, index * per_file), sink)
            body = sink.getvalue()
            self.store.put_object(
                BUCKET, f"{folder}part-{index:03d}.parquet", io.BytesIO(body), len(body)
            )
        return folder

    def spark_throughput(self, folder: str, attempt: int) -> float:
        target = f"s3a://{BUCKET}/{self.run}/spark-{attempt}"
        started = time.perf_counter()
        frame = self.spark.read.parquet(f"s3a://{BUCKET}/{folder}")
        frame.write.format("delta").mode("append").partitionBy("date", "source").save(target)
        return time.perf_counter() - started

    def spark_parquet_throughput(self, folder: str, attempt: int) -> float:
        """Spark's floor: the same read and partitioned write as plain Parquet, no Delta."""
        target = f"s3a://{BUCKET}/{self.run}/spark-parquet-{attempt}"
        started = time.perf_counter()
        frame = self.spark.read.parquet(f"s3a://{BUCKET}/{folder}")
        frame.write.mode("append").partitionBy("date", "source").parquet(target)
        return time.perf_counter() - started

    def deltars_throughput(self, folder: str, attempt: int) -> float:
        import pyarrow.dataset as ds
        from deltalake import write_deltalake
        from pyarrow import fs

        target = f"s3://{BUCKET}/{self.run}/deltars-{attempt}"
        s3 = fs.S3FileSystem(
            access_key=self.access_key,
            secret_key=self.secret_key,
            endpoint_override=self.endpoint.removeprefix("https://"),
            scheme="https",
            tls_ca_file_path=self.ca_file,
            region="us-east-1",
        )
        started = time.perf_counter()
        table = ds.dataset(f"{BUCKET}/{folder}", format="parquet", filesystem=s3).to_table()
        write_deltalake(
            target,
            table,
            mode="append",
            partition_by=["date", "source"],
            storage_options=self.options,
        )
        return time.perf_counter() - started

    def spark_commits(self) -> list[float]:
        target = f"s3a://{BUCKET}/{self.run}/spark-micro"
        times = []
        for version in range(1, self.commits + 1):
            batch = self.spark.createDataFrame(bronze_rows(500, version * 500).to_pandas())
            batch = batch.localCheckpoint()  # the data is ready before the clock starts
            started = time.perf_counter()
            (
                batch.write.format("delta")
                .mode("append")
                .partitionBy("date", "source")
                .option("txnAppId", "bench")
                .option("txnVersion", str(version))
                .save(target)
            )
            times.append(time.perf_counter() - started)
        return times

    def spark_parquet_commits(self) -> list[float]:
        """Spark's floor for one batch: the write job alone, plain Parquet, no Delta log."""
        target = f"s3a://{BUCKET}/{self.run}/spark-parquet-micro"
        times = []
        for version in range(1, self.commits + 1):
            batch = self.spark.createDataFrame(bronze_rows(500, version * 500).to_pandas())
            batch = batch.localCheckpoint()
            started = time.perf_counter()
            batch.write.mode("append").partitionBy("date", "source").parquet(target)
            times.append(time.perf_counter() - started)
        return times

    def ingest_merge_commits(self) -> list[float]:
        """The ingest job's own per-batch bronze commit: MERGE on (source, point, ts)."""
        from nidc.api.job_specs import IngestJob
        from spark_jobs.ingest.landing import commit_device_rows
        from spark_jobs.ingest.values import decide_schema

        job = IngestJob.from_spec(
            {
                "type": "files",
                "source": "bench",
                "namespace": "bench",
                "sourceUid": "bench",
                "target": f"s3a://{BUCKET}/{self.run}/ingest-micro",
                "quarantine": f"s3a://{BUCKET}/{self.run}/ingest-micro-quarantine",
                "files": {"prefix": f"s3a://{BUCKET}/{self.run}/none/", "format": "parquet"},
            }
        )
        decision = decide_schema(None, {}, "addColumns")
        times = []
        for version in range(1, self.commits + 1):
            batch = self.spark.createDataFrame(bronze_rows(500, version * 500).to_pandas())
            batch = batch.localCheckpoint()
            started = time.perf_counter()
            commit_device_rows(self.spark, job, batch, version, decision)
            times.append(time.perf_counter() - started)
        return times

    def deltars_commits(self) -> list[float]:
        from deltalake import CommitProperties, Transaction, write_deltalake

        target = f"s3://{BUCKET}/{self.run}/deltars-micro"
        times = []
        for version in range(1, self.commits + 1):
            batch = bronze_rows(500, version * 500)
            started = time.perf_counter()
            write_deltalake(
                target,
                batch,
                mode="append",
                partition_by=["date", "source"],
                storage_options=self.options,
                commit_properties=CommitProperties(
                    app_transactions=[Transaction(app_id="bench", version=version)]
                ),
            )
            times.append(time.perf_counter() - started)
        return times


def own_cpu() -> float:
    """CPU seconds (user + system) of this process, delta-rs's Rust threads included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed_runs(
    repeat: int, run: Callable[[int], float], cpu: Callable[[], float]
) -> tuple[list[float], list[float]]:
    """Wall times and CPU seconds of `repeat` runs of one writer."""
    walls, cpus = [], []
    for attempt in range(1, repeat + 1):
        before = cpu()
        walls.append(run(attempt))
        cpus.append(cpu() - before)
    return walls, cpus


def interleaved(
    repeat: int, runs: dict[str, Callable[[int], float]], cpu: Callable[[], float]
) -> dict[str, tuple[list[float], list[float]]]:
    """Like timed_runs for several writers of one JVM, alternating them round by round, so
    that each sees the same JIT warm-up (the first round of each is the cold one)."""
    results: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in runs}
    for attempt in range(1, repeat + 1):
        for name, run in runs.items():
            walls, cpus = results[name]
            before = cpu()
            walls.append(run(attempt))
            cpus.append(cpu() - before)
    return results


def best(walls: list[float], cpus: list[float]) -> tuple[float, float]:
    """The fastest run's wall time and the CPU seconds it used."""
    index = min(range(len(walls)), key=lambda i: walls[i])
    return walls[index], cpus[index]


def load() -> str:
    """The 1-, 5- and 15-minute load averages (/proc/loadavg)."""
    return " / ".join(Path("/proc/loadavg").read_text().split()[:3])


def summary(times: list[float]) -> tuple[float, float]:
    """p50 and p95 (nearest rank), skipping the first commit (table creation, warm-up)."""
    steady = sorted(times[1:] or times)
    p95 = steady[min(len(steady) - 1, round(0.95 * (len(steady) - 1)))]
    return statistics.median(steady), p95


def main() -> None:
    """Run both benchmarks and print (and with --record, write) the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--commits", type=int, default=20)
    parser.add_argument(
        "--repeat",
        type=int,
        default=5,
        help="throughput runs per writer (--native: runs of every case, new tables each)",
    )
    parser.add_argument("--record", action="store_true")
    parser.add_argument(
        "--native",
        action="store_true",
        help="the native bronze writer against bare write_deltalake instead (its own section)",
    )
    parser.add_argument("--sources", type=int, default=100, help="--native: concurrent sources")
    parser.add_argument("--batch-rows", type=int, default=50_000, help="--native: rows a batch")
    parser.add_argument(
        "--processes",
        type=int,
        default=8,
        help="--native: worker processes the concurrent sources spread over (0: threads here)",
    )
    parser.add_argument(
        "--concurrent-commits", type=int, default=5, help="--native: 500-row batches a source"
    )
    args = parser.parse_args()
    bench = Bench(args.rows, args.commits)
    if args.native:
        native_main(bench, args)
        return
    folder = bench.land()
    load_before = load()
    bench.start_spark()
    spark = interleaved(
        args.repeat,
        {
            "delta": lambda a: bench.spark_throughput(folder, a),
            "parquet": lambda a: bench.spark_parquet_throughput(folder, a),
        },
        bench.jvm_cpu,
    )
    rs_walls, rs_cpus = timed_runs(
        args.repeat, lambda a: bench.deltars_throughput(folder, a), own_cpu
    )
    spark_best, spark_cpu = best(*spark["delta"])
    parquet_best, parquet_cpu = best(*spark["parquet"])
    rs_best, rs_cpu = best(rs_walls, rs_cpus)
    spark_rate, parquet_rate, rs_rate = (args.rows / t for t in (spark_best, parquet_best, rs_best))
    spark_cold_rate = args.rows / spark["delta"][0][0]

    def per_commit(run: Callable[[], list[float]], cpu: Callable[[], float]) -> list[float]:
        before = cpu()
        times = run()
        times.append((cpu() - before) / args.commits)  # the last item: CPU s per commit
        return times

    spark_commit = per_commit(bench.spark_commits, bench.jvm_cpu)
    parquet_commit = per_commit(bench.spark_parquet_commits, bench.jvm_cpu)
    merge_commit = per_commit(bench.ingest_merge_commits, bench.jvm_cpu)
    rs_commit = per_commit(bench.deltars_commits, own_cpu)
    bench.spark.stop()
    load_after = load()
    (
        (spark_p50, spark_p95),
        (parquet_p50, parquet_p95),
        (merge_p50, merge_p95),
        (
            rs_p50,
            rs_p95,
        ),
    ) = (summary(times[:-1]) for times in (spark_commit, parquet_commit, merge_commit, rs_commit))
    cores = os.cpu_count()

    def walls(times: list[float]) -> str:
        return ", ".join(f"{t:.2f}" for t in times)

    lines = [
        SECTION,
        "",
        f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {host.machine()}, {cores} "
        "cores shared with other work (load varies: compare rows within one run, not across "
        f"runs; load average {load_before} before, {load_after} after); MinIO on loopback "
        f"over TLS. Input: {args.rows:,} bronze-shaped device rows in 8 Parquet files on the "
        "S3 server; output: a new table partitioned by (date, source). Throughput: best of "
        f"{args.repeat} runs per writer (Spark's Delta and plain-Parquet writes alternate in one "
        "JVM, so both see the same JIT warm-up; 'cold' is the first run of a fresh JVM, which is "
        f"what a one-shot job pays). Commits: {args.commits} commits of one 500-row batch each, "
        "idempotent (txnAppId/txnVersion), p50/p95 without the first. CPU: seconds the writer's "
        "process used (the Spark JVM; this Python process for delta-rs), in the best "
        "throughput run and per commit. The plain-Parquet rows are Spark's floor: the same "
        "read, partitioning and S3 upload with no Delta log at all.",
        "",
        "| writer | rows/s, best (cold) | CPU s, best run | micro-batch commit p50 | p95 "
        "| CPU s per commit |",
        "|---|---|---|---|---|---|",
        f"| Spark local[2] (delta-spark 4.4), Delta append | {spark_rate:,.0f} "
        f"({spark_cold_rate:,.0f}) | {spark_cpu:.1f} | {spark_p50:.2f} s | {spark_p95:.2f} s | "
        f"{spark_commit[-1]:.2f} |",
        f"| the ingest job's bronze commit (Spark MERGE on the affected partitions) | - | - | "
        f"{merge_p50:.2f} s | {merge_p95:.2f} s | {merge_commit[-1]:.2f} |",
        f"| Spark's floor: the same write as plain Parquet, no Delta | {parquet_rate:,.0f} | "
        f"{parquet_cpu:.1f} | {parquet_p50:.2f} s | {parquet_p95:.2f} s | "
        f"{parquet_commit[-1]:.2f} |",
        f"| delta-rs `write_deltalake` (deltalake 1.6.6) | {rs_rate:,.0f} | {rs_cpu:.1f} | "
        f"{rs_p50:.2f} s | {rs_p95:.2f} s | {rs_commit[-1]:.2f} |",
        "",
        f"Spark/delta-rs rows/s: **{spark_rate / rs_rate:.2f}x** warm, "
        f"{spark_cold_rate / rs_rate:.2f}x cold (goal >= 0.5x); Spark's plain-Parquet floor: "
        f"{parquet_rate / rs_rate:.2f}x. Spark append commit latency / delta-rs: "
        f"**{spark_p50 / rs_p50:.1f}x** (goal <= 3x); the ingest job's MERGE commit: "
        f"{merge_p50 / rs_p50:.1f}x; Spark's floor (a 500-row Parquet write job, no log): "
        f"{parquet_p50 / rs_p50:.1f}x.",
        f"Raw wall times (s): Spark Delta {walls(spark['delta'][0])}; Spark Parquet "
        f"{walls(spark['parquet'][0])}; delta-rs {walls(rs_walls)}.",
        "",
        "Goals: rows/s "
        + ("met" if spark_rate >= 0.5 * rs_rate else "**not met**")
        + "; commit latency "
        + ("met" if spark_p50 <= 3 * rs_p50 else "**not met**")
        + ". "
        + (
            "Spark's own floor is below both goals in this run, so no Delta setting can meet them: "
            if parquet_rate < 0.5 * rs_rate and parquet_p50 > 3 * rs_p50
            else ""
        )
        + "where the time goes is in docs/ingest.md, 'Performance'.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.record:
        record(text)


def native_main(bench: Bench, args: argparse.Namespace) -> None:
    """The native writer's cases (bench/native_ingest.py); --record replaces its own section,
    so the Spark section above keeps its last recorded figures."""
    from bench.native_ingest import native_lines, rows_per_source, run_native_bench

    load_before = load()
    concurrency = (
        f"spread over {args.processes} worker processes, both sides alike"
        if args.processes
        else "all in this one process"
    )
    results = run_native_bench(bench, own_cpu, args)
    lines = native_lines(results, NATIVE_SECTION)
    lines[1:1] = [
        "",
        f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {host.machine()}, "
        f"{os.cpu_count()} cores (the load average says what else ran); `python -m bench.ingest "
        f"{' '.join(sys.argv[1:])}` (load average "
        f"{load_before} before, {load()} after); MinIO on loopback over TLS. Native: from "
        "landed batches (Parquet + manifest on S3) to the committed bronze version "
        "(spark_jobs/ingest/native/batches.py); bare: `write_deltalake` of the same bronze "
        "Arrow rows, one idempotent append per batch; floor: read and decode each landed batch, "
        f"then `write_deltalake` of bare's bronze rows of it. Throughput: {args.rows:,} rows in "
        f"batches of {args.batch_rows:,}, one source, then {args.sources} sources of "
        f"{rows_per_source(args):,} rows each (a table each, one thread each, {concurrency}); "
        "commits: {args.commits} one-batch "
        "runs of 500 rows "
        f"(1 source), {args.concurrent_commits} per source with {args.sources} at once. Every "
        f"case ran {max(1, args.repeat)} times on new sources and tables: rows/s over all runs, "
        "p50/p95 over every batch of all runs, and each run's own p50 ratio beside them. The "
        "Spark rows stay in the section above (its last recorded run).",
    ]
    text = "\n".join([*lines, ""])
    print(text)
    if args.record:
        record(text, NATIVE_SECTION)


def record(section: str, heading: str = SECTION) -> None:
    """Replace (or add) a section of docs/benchmarks.md, leaving the others as they are."""
    current = BENCHMARKS.read_text() if BENCHMARKS.exists() else "# Benchmarks\n\n"
    start = current.find(heading)
    if start < 0:
        BENCHMARKS.write_text(current.rstrip("\n") + "\n\n" + section)
        return
    end = current.find("\n## ", start + len(heading))
    rest = "" if end < 0 else current[end + 1 :]
    BENCHMARKS.write_text(current[:start] + section + ("\n" + rest if rest else ""))


if __name__ == "__main__":
    main()
