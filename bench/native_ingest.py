"""The native bronze writer against a bare delta-rs write of the same Arrow data (issue 16,
must-show 3), run by `python -m bench.ingest --native [--record]`.

Both sides get the same rows. The native side starts from landed batches on the S3 server
(Parquet + manifest under a landing prefix, as a collector writes them) and ends at the committed
bronze version: list, read, classify, deduplicate, check the table's keys, commit quarantine (none
here: every sample is good) and bronze with the batch's application transaction
(spark_jobs/ingest/native/batches.py, the code a run runs, minus the process start and the
writer lease's three requests per run). The bare side is `write_deltalake` of the very bronze
rows the native side commits, already in memory, one idempotent append per batch. The floor is
what any writer from a landing to bronze must do at least: read each landed batch from the S3
server (manifest and Parquet, as the native side does), decode it, and `write_deltalake` the
batch's bronze rows (bare's rows, made before the clock: making them costs the floor nothing),
one idempotent append per batch: no parsing, classification or deduplication. Where the floor
is already under 0.8x bare, no landing writer can reach the goal on this machine. Cases:

- throughput, 1 source: `--rows` rows in batches of `--batch-rows`, one run over all of them;
- throughput, 100 concurrent sources: the same rows split over `--sources` sources (a landing
  prefix and a table each), one thread per source, all started together;
- commit latency: `--commits` runs of one 500-row batch each (1 source), and the same across
  the concurrent sources (each thread's batches in turn); p50/p95 per batch.

The concurrent cases run both sides alike: the sources spread over `--processes` worker
processes (spawned and warmed before the clock; one thread per source inside each), so that
neither side's Python parts queue behind the other sources' on one interpreter lock, as the runs
machinery's one process per run would not (`--processes 0`: all threads in this process, the
earlier model). Both sides start at one agreed instant; the wall time ends with the last source.

Every case runs `--repeat` times on new sources and tables (one run's p50 on a loaded 2-core
machine moves by a tenth either way): rows/s over all runs, p50/p95 over every batch of all
runs, and each run's own native/bare p50 ratio beside them.

CPU seconds per 1M rows: the user + system time of the process(es) over the case (Rust and
Arrow threads included), scaled to 1M rows.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import hashlib
import io
import json
import multiprocessing
import os
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

T0 = dt.datetime(2026, 11, 25, 0, 0, tzinfo=dt.UTC)
POINTS = 20


def landing_rows(source: str, count: int, offset: int) -> pa.Table:
    """Landing rows of one source: 20 points, one sample per point per second, plain numbers."""
    index = np.arange(offset, offset + count, dtype=np.int64)
    micros = int(T0.timestamp() * 1_000_000) + (index // POINTS) * 1_000_000
    ts = pa.array(micros).cast(pa.timestamp("us", tz="UTC"))
    points = pa.array([f"point_{i:02d}" for i in range(POINTS)]).take(pa.array(index % POINTS))
    raw = pa.array((index % 1000).astype(np.float64) / 10).cast(pa.string())
    return pa.table(
        {
            "source": pa.array([source] * count, pa.string()),
            "point": points,
            "identifier": pa.nulls(count, pa.string()),
            "ts": ts,
            "received_at": ts,
            "raw": raw,
            "quality": pa.array(["Good"] * count, pa.string()),
        }
    )


def point_specs() -> list[dict[str, Any]]:
    return [
        {
            "name": f"point_{i:02d}",
            "address": f"ns=2;s=P{i}",
            "identifier": f"88.118.8/CNC-01.point_{i:02d}",
            "unit": "Cel",
        }
        for i in range(POINTS)
    ]


@dataclass
class Case:
    """One measured case: rows, wall seconds, CPU seconds, per-batch commit times."""

    rows: int
    wall: float
    cpu: float
    commits: list[float]
    # The commit p50 of each repeat, when the case merges several (merged()).
    run_p50s: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.rows / self.wall

    @property
    def cpu_per_million(self) -> float:
        return self.cpu / self.rows * 1_000_000

    def p(self, quantile: float) -> float:
        steady = sorted(self.commits)
        if quantile == 0.5:
            return statistics.median(steady)
        return steady[min(len(steady) - 1, round(quantile * (len(steady) - 1)))]


class NativeBench:
    """Lands batches and runs both writers; `bench` is bench.ingest.Bench (clients, options)."""

    def __init__(self, bench: Any, own_cpu: Callable[[], float]) -> None:
        from nidc.api.job_runtime import Storage
        from spark_jobs.ingest.native.store import ObjectStore

        self.bench = bench
        self.own_cpu = own_cpu
        self.bucket = "nidc-bench"
        self.store = ObjectStore(bench.store, dict(bench.options, AWS_CONDITIONAL_PUT="etag"))
        self.storage = Storage(endpoint=bench.endpoint, ca_file=bench.ca_file)

    def land(self, source: str, batches: int, rows: int) -> str:
        """`batches` landed batches of `rows` rows; returns the landing prefix (s3a://)."""
        folder = f"{self.bench.run}/landing/{source}/"
        for sequence in range(1, batches + 1):
            table = landing_rows(source, rows, (sequence - 1) * rows)
            sink = io.BytesIO()
            pq.write_table(table, sink)
            body = sink.getvalue()
            name = f"{folder}batch-{sequence:012d}"
            self.bench.store.put_object(self.bucket, f"{name}.parquet", io.BytesIO(body), len(body))
            manifest = json.dumps(
                {
                    "schemaVersion": 1,
                    "source": source,
                    "sequence": sequence,
                    "rows": rows,
                    "sha256": hashlib.sha256(body).hexdigest(),
                }
            ).encode()
            self.bench.store.put_object(
                self.bucket, f"{name}.json", io.BytesIO(manifest), len(manifest)
            )
        return f"s3a://{self.bucket}/{folder}"

    def job(self, source: str, prefix: str, tag: str, max_batches: int, after: int = 0) -> Any:
        """The run's job spec; `after`: the source's checkpoint, which the operator passes
        (landing.fromSequence)."""
        from nidc.api.job_specs import IngestJob

        return IngestJob.model_validate(
            {
                "type": "opcua",
                "source": source,
                "namespace": "bench",
                "sourceUid": f"uid-{source}",
                "points": point_specs(),
                "target": f"s3a://{self.bucket}/{self.bench.run}/{tag}/{source}/bronze",
                "quarantine": f"s3a://{self.bucket}/{self.bench.run}/{tag}/{source}/quarantine",
                "landing": {"prefix": prefix, "maxBatches": max_batches, "fromSequence": after},
            }
        )

    def native(
        self, source: str, prefix: str, tag: str, batches: int, one_by_one: bool
    ) -> list[float]:
        """Ingest a source's landed batches natively: one run per batch (`one_by_one`, the
        commit-latency case) or one run over all; returns the seconds per batch."""
        from spark_jobs.ingest.native.batches import ingest_device_batches_natively

        if one_by_one:
            times = []
            for sequence in range(1, batches + 1):
                job = self.job(source, prefix, tag, 1, after=sequence - 1)
                started = time.perf_counter()
                done = ingest_device_batches_natively(self.store, job, lambda: None)
                assert done["batches"] == 1
                times.append(time.perf_counter() - started)
            return times
        job = self.job(source, prefix, tag, batches)
        started = time.perf_counter()
        done = ingest_device_batches_natively(self.store, job, lambda: None)
        assert done["batches"] == batches
        return [(time.perf_counter() - started) / batches] * batches

    def bronze_of(self, source: str, batches: int, rows: int) -> list[pa.Table]:
        """The bronze rows the native side commits for each batch (for the bare side)."""
        from nidc.api.data_source import Point
        from spark_jobs.ingest.native.classify import classify_table
        from spark_jobs.ingest.native.rows import bronze_rows

        points = {p["name"]: Point.model_validate(p) for p in point_specs()}
        return [
            bronze_rows(classify_table(landing_rows(source, rows, (s - 1) * rows), points), s)
            for s in range(1, batches + 1)
        ]

    def append(self, source: str, tag: str, table: pa.Table, sequence: int) -> None:
        """One idempotent append of a batch's rows (the bare side's and the floor's write)."""
        from deltalake import CommitProperties, Transaction, write_deltalake

        write_deltalake(
            f"s3://{self.bucket}/{self.bench.run}/{tag}/{source}/bronze",
            table,
            mode="append",
            partition_by=["date", "source"],
            storage_options=self.store.options,
            commit_properties=CommitProperties(
                app_transactions=[Transaction(f"uid-{source}", sequence)]
            ),
        )

    def bare(self, source: str, tables: list[pa.Table], tag: str) -> list[float]:
        """write_deltalake of each batch's bronze rows, idempotent; seconds per batch."""
        times = []
        for sequence, table in enumerate(tables, start=1):
            started = time.perf_counter()
            self.append(source, tag, table, sequence)
            times.append(time.perf_counter() - started)
        return times

    def floor(
        self, source: str, prefix: str, tag: str, batches: int, bronze: list[pa.Table]
    ) -> list[float]:
        """Read and decode each landed batch, then append the batch's bronze rows (the ones
        bare writes, made before the clock); seconds per batch."""
        from spark_jobs.ingest.native.store import parquet_table

        times = []
        for sequence in range(1, batches + 1):
            started = time.perf_counter()
            name = f"{prefix}batch-{sequence:012d}"
            manifest, body = self.store.read_many([f"{name}.json", f"{name}.parquet"])
            assert json.loads(manifest)["sequence"] == sequence
            landed = parquet_table(body)
            assert landed.num_rows >= bronze[sequence - 1].num_rows
            self.append(source, tag, bronze[sequence - 1], sequence)
            times.append(time.perf_counter() - started)
        return times

    def case(
        self,
        sources: int,
        batches: int,
        rows: int,
        one_by_one: bool,
        tag: str,
        workers: Any = None,
    ) -> tuple[Case, Case, Case]:
        """(native, bare, floor) for `sources` concurrent sources of `batches` x `rows` each;
        with `workers` (a process pool), the sources run spread over its processes."""
        names = [f"s{index:03d}-{tag}" for index in range(sources)]
        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
            prefixes = list(pool.map(lambda n: self.land(n, batches, rows), names))
        total = sources * batches * rows
        if workers is not None:
            return tuple(  # type: ignore[return-value]
                self.in_processes(workers, side, names, prefixes, batches, rows, one_by_one, tag)
                for side in ("native", "bare", "floor")
            )
        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
            bronze = list(pool.map(lambda n: self.bronze_of(n, batches, rows), names))
        results = []
        runs: list[Callable[[int], list[float]]] = [
            lambda i: self.native(names[i], prefixes[i], f"native-{tag}", batches, one_by_one),
            lambda i: self.bare(names[i], bronze[i], f"bare-{tag}"),
            lambda i: self.floor(names[i], prefixes[i], f"floor-{tag}", batches, bronze[i]),
        ]
        for run in runs:
            cpu, started = self.own_cpu(), time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(max_workers=sources) as pool:
                times = [t for per in pool.map(run, range(sources)) for t in per]
            results.append(Case(total, time.perf_counter() - started, self.own_cpu() - cpu, times))
        return results[0], results[1], results[2]

    def in_processes(
        self,
        workers: Any,
        side: str,
        names: list[str],
        prefixes: list[str],
        batches: int,
        rows: int,
        one_by_one: bool,
        tag: str,
    ) -> Case:
        """One side of a concurrent case over the worker processes, started together."""
        count = workers._max_workers
        start_at = time.time() + 2.0 + 0.02 * len(names)  # time to prepare the bare rows
        futures = [
            workers.submit(worker_side, self.bench.run, side, names[i::count],
                           prefixes[i::count], batches, rows, one_by_one, tag, start_at)
            for i in range(count) if names[i::count]
        ]  # fmt: skip
        done = [f.result() for f in futures]
        wall = max(end for end, _, _ in done) - start_at
        times = [t for _, per, _ in done for t in per]
        return Case(len(names) * batches * rows, wall, sum(cpu for _, _, cpu in done), times)


WORKER: dict[str, Any] = {}


def worker_bench(run: str) -> NativeBench:
    """This worker process's clients (made once per process, for the bench's run)."""
    if run not in WORKER:
        from bench.ingest import Bench, own_cpu

        bench = Bench(0, 0)
        bench.run = run
        WORKER[run] = NativeBench(bench, own_cpu)
    native: NativeBench = WORKER[run]
    return native


def worker_side(
    run: str,
    side: str,
    names: list[str],
    prefixes: list[str],
    batches: int,
    rows: int,
    one_by_one: bool,
    tag: str,
    start_at: float,
) -> tuple[float, list[float], float]:
    """In a worker process: one side for its sources, a thread each, from `start_at`;
    (end time, seconds per batch, CPU seconds of this process over the side)."""
    native = worker_bench(run)
    if side in ("bare", "floor"):
        bronze = [native.bronze_of(n, batches, rows) for n in names]
    time.sleep(max(0.0, start_at - time.time()))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime

    def one(index: int) -> list[float]:
        if side == "bare":
            return native.bare(names[index], bronze[index], f"bare-{tag}")
        if side == "floor":
            return native.floor(
                names[index], prefixes[index], f"floor-{tag}", batches, bronze[index]
            )
        return native.native(names[index], prefixes[index], f"native-{tag}", batches, one_by_one)

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(names)) as pool:
        times = [t for per in pool.map(one, range(len(names))) for t in per]
    end = time.time()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return end, times, usage.ru_utime + usage.ru_stime - cpu


def warm(_: int) -> int:
    """Imports a worker needs, before any clock starts, and the native job process's Arrow
    memory pool (all three sides alike: it is the process's)."""
    import deltalake  # noqa: F401

    import spark_jobs.ingest.native.batches  # noqa: F401
    from spark_jobs.ingest.native.run import use_jemalloc_for_arrow

    use_jemalloc_for_arrow()

    return os.getpid()


def rows_per_source(args: Any) -> int:
    """Rows of each source in the concurrent throughput case: `--rows` split over the sources,
    but at least one batch of `--batch-rows` (a smaller one would measure the commits only)."""
    rows: int = max(args.rows // args.sources, args.batch_rows)
    return rows


def merged(cases: list[Case]) -> Case:
    """Repeats of one side of a case as one: rows, wall and CPU summed, every commit pooled."""
    return Case(
        sum(c.rows for c in cases),
        sum(c.wall for c in cases),
        sum(c.cpu for c in cases),
        [t for c in cases for t in c.commits],
        [c.p(0.5) for c in cases],
    )


def repeated(times: int, run: Callable[[str], tuple[Case, Case, Case]]) -> tuple[Case, ...]:
    """(native, bare, floor) of `times` runs of a case (new sources and tables each)."""
    runs = [run(f"r{attempt}") for attempt in range(times)]
    return tuple(merged([r[side] for r in runs]) for side in range(3))


def run_native_bench(
    bench: Any, own_cpu: Callable[[], float], args: Any
) -> list[tuple[str, Case, Case, Case]]:
    """Every case, native, bare and the floor side by side."""
    native = NativeBench(bench, own_cpu)
    per_source = rows_per_source(args)
    workers = None
    if args.processes:
        workers = concurrent.futures.ProcessPoolExecutor(
            max_workers=args.processes, mp_context=multiprocessing.get_context("spawn")
        )
        list(workers.map(warm, range(args.processes * 2)))
    try:
        times = max(1, args.repeat)
        out = [
            ("throughput, 1 source", *repeated(times, lambda r: native.case(
                1, args.rows // args.batch_rows, args.batch_rows, False, f"t1{r}"))),
            (f"throughput, {args.sources} concurrent sources",
             *repeated(times, lambda r: native.case(
                 args.sources, max(1, per_source // args.batch_rows),
                 min(args.batch_rows, per_source), False, f"tn{r}", workers))),
            ("500-row batch commits, 1 source", *repeated(times, lambda r: native.case(
                1, args.commits, 500, True, f"c1{r}"))),
            (f"500-row batch commits, {args.sources} concurrent sources",
             *repeated(times, lambda r: native.case(
                 args.sources, args.concurrent_commits, 500, True, f"cn{r}", workers))),
        ]  # fmt: skip
    finally:
        if workers is not None:
            workers.shutdown()
    return out  # type: ignore[return-value]


def native_lines(results: list[tuple[str, Case, Case, Case]], header: str) -> list[str]:
    """The table of the native section: native and the floor, each against bare."""
    lines = [
        header,
        "",
        "| case | native rows/s | bare rows/s | ratio (goal >= 0.8) | floor ratio "
        "| native commit p50 / p95 | bare commit p50 / p95 | p50 ratio (goal <= 2) "
        "| p50 ratio of each repeat | floor p50 ratio | CPU s per 1M rows, native / bare / floor |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, native, bare, floor in results:
        lines.append(
            f"| {name} | {native.rate:,.0f} | {bare.rate:,.0f} | {native.rate / bare.rate:.2f}x "
            f"| {floor.rate / bare.rate:.2f}x "
            f"| {native.p(0.5):.3f} s / {native.p(0.95):.3f} s | {bare.p(0.5):.3f} s / "
            f"{bare.p(0.95):.3f} s | {native.p(0.5) / bare.p(0.5):.2f}x "
            f"| {each_ratio(native, bare)} | {floor.p(0.5) / bare.p(0.5):.2f}x "
            f"| {native.cpu_per_million:.1f} / "
            f"{bare.cpu_per_million:.1f} / {floor.cpu_per_million:.1f} |"
        )
    return lines


def each_ratio(native: Case, bare: Case) -> str:
    """The native/bare commit p50 ratio of each repeat, in order."""
    pairs = zip(native.run_p50s, bare.run_p50s, strict=True)
    return ", ".join(f"{mine / theirs:.2f}x" for mine, theirs in pairs) or "-"
