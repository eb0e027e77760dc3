"""Freshness of device data (issue 16, must-show 4): from a sample's timestamp at the device to
the row being readable in bronze, with `--sources` simulated sources x `--points` points x
`--hz` samples a second.

`python -m bench.freshness [--sources 100] [--seconds 60] [--mode process|follow|floor]
[--follow-processes N] [--batches-per-commit K] [--record]`
on a running embedded platform (NIDC_STATE_DIR says which). The path is the real one as far as
it goes without the operator:

- collectors: the collector's own batching and landing code (nidc/collector/batch.py Buffer,
  flush_reason, parquet_bytes, build_manifest; nidc/collector/landing.py Landing.write: Parquet,
  then manifest) fed by simulated devices, `--collector-processes` processes each serving its
  share of the sources; CPU seconds and peak RSS per source are each process's over its sources;
- sweep: every `--sweep-seconds` (the DataSource sweep's period is 10 s today,
  operators/datasource/register.py) a source with a batch past its checkpoint and no run in
  flight gets a run;
- runs: `--mode process` starts each run as the runs machinery does (operators/runs/
  local_runner.LocalRunner.submit: spec.json in a run folder, `python -m
  spark_jobs.ingest.native <folder>`, result.json); `--mode follow` runs the same
  run_native_ingest (writer lease included) in a loop per source, in the bench's process or
  spread over `--follow-processes` processes, which is what a run that keeps committing while
  batches land costs without a process start; `--batches-per-commit` lets a run commit up to
  that many ready batches at once (decision 0300);
- floor (`--mode floor`): in place of the runs, followers that only list, fetch, decode and
  commit the landed rows as they are (floor_follow): what any writer from the landing must do,
  with the same collectors and reader. Where its p95 is over the goal, no writer reaches it;
- reader: a separate process polls every source's bronze table with delta-rs
  (update_incremental, then the source's application transaction version = the last batch
  committed) and notes when each batch became readable.

Latency per sample = readable time - device timestamp, all samples of all sources after a
`--warmup` of seconds. Where it goes, per batch: device -> landed (the batch interval), landed
-> run started (the sweep), run started -> committed, committed -> seen by the reader. The
floor of one process-started run with nothing to ingest is measured in the same run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import platform as host
import resource
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

BUCKET = "nidc-bench"
SECTION = "## Native bronze freshness, issue 16 (bench/freshness.py)"


def quantile(values: list[float], q: float) -> float:
    """Nearest-rank quantile (q in 0..1)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def collector_process(config: dict[str, Any], sources: list[str], out: str, stop_at: float) -> None:
    """Simulated devices of `sources`, batched and landed by the collector's own code."""
    from nidc.collector.batch import Buffer, build_manifest, flush_reason, parquet_bytes
    from nidc.collector.config import BatchPolicy, LandingTarget
    from nidc.collector.landing import Landing, s3_client
    from nidc.collector.sample import Sample

    target = LandingTarget(
        endpoint=config["endpoint"], bucket=config["bucket"], ca_file=config["ca_file"]
    )
    client = s3_client(target)
    policy = BatchPolicy(max_rows=1_000_000, max_seconds=config["batch_seconds"])
    points = [f"p{i:02d}" for i in range(config["points"])]
    buffers = {s: Buffer() for s in sources}
    landings = {s: Landing(client, config["bucket"], config["prefix"] + s + "/") for s in sources}
    sequences = dict.fromkeys(sources, 0)
    last_write: dict[str, Any] = {}
    records: list[dict[str, Any]] = []
    lock = threading.Lock()

    def land(source: str, sequence: int, samples: list[Sample], before: Any) -> None:
        if before is not None:
            before.result()  # a source's batches land in order
        body = parquet_bytes(source, samples)
        manifest = build_manifest(
            source=source,
            namespace="bench",
            source_uid=f"uid-{source}",
            sequence=sequence,
            samples=samples,
            parquet=body,
            collector="bench",
            created_at=dt.datetime.now(dt.UTC),
        )
        landings[source].write(sequence, body, manifest)
        ticks = sorted({s.ts.timestamp() for s in samples})
        with lock:
            records.append(
                {
                    "source": source,
                    "sequence": sequence,
                    "landed": time.time(),
                    "ticks": ticks,
                    "rows": len(samples),
                }
            )

    period = 1.0 / config["hz"]
    tick = time.time()
    with ThreadPoolExecutor(max_workers=8) as pool:
        while tick < stop_at:
            now_wall = dt.datetime.fromtimestamp(tick, dt.UTC)
            for source in sources:
                for point in points:
                    value = f"{(tick * 10 + len(point)) % 1000:.3f}"
                    buffers[source].add(
                        Sample(point, None, now_wall, now_wall, value, "Good"), tick
                    )
            now = time.time()
            for source in sources:
                buffer = buffers[source]
                age = None if buffer.opened_at is None else now - buffer.opened_at
                if flush_reason(policy, len(buffer.samples), buffer.bytes, age):
                    sequences[source] += 1
                    last_write[source] = pool.submit(
                        land, source, sequences[source], buffer.take(), last_write.get(source)
                    )
            tick += period
            time.sleep(max(0.0, tick - time.time()))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    Path(out).write_text(
        json.dumps(
            {
                "sources": len(sources),
                "cpu": usage.ru_utime + usage.ru_stime,
                "rss_kib": usage.ru_maxrss,
                "batches": records,
            }
        )
    )


def reader_process(config: dict[str, Any], sources: list[str], out: str, stop_at: float) -> None:
    """When each batch became readable: poll every source's bronze with delta-rs."""
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    os.environ["SSL_CERT_FILE"] = config["ca_file"]
    tables: dict[str, Any] = {}
    seen = dict.fromkeys(sources, 0)
    events: list[tuple[str, int, float]] = []
    while time.time() < stop_at:
        started = time.time()
        for source in sources:
            try:
                if source not in tables:
                    tables[source] = DeltaTable(
                        config["bronze"] + source + "/bronze", storage_options=config["options"]
                    )
                else:
                    tables[source].update_incremental()
            except TableNotFoundError:
                continue
            version = tables[source].transaction_version(f"uid-{source}") or 0
            now = time.time()
            for sequence in range(seen[source] + 1, int(version) + 1):
                events.append((source, sequence, now))
            seen[source] = max(seen[source], int(version))
        time.sleep(max(0.0, config["reader_seconds"] - (time.time() - started)))
    Path(out).write_text(json.dumps(events))


def floor_follow(spec: dict[str, Any], stop_at: float, poll: float) -> dict[str, Any]:
    """The floor of a follower: what any writer from the landing must do at least, on the
    follower's cadence. Every `poll` seconds: list the landing past the checkpoint, fetch the
    ready batches (manifest and Parquet), decode them and append their rows as they landed (with
    the date partition column) in one idempotent delta-rs commit; no lease, validation,
    quarantine or key check, and the table kept open. The same result keys as
    run_native_ingest."""
    import pyarrow as pa
    import pyarrow.compute as pc
    from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake

    from nidc.api.job_runtime import parse_run_spec
    from nidc.api.job_specs import IngestJob
    from spark_jobs.delta_rs_options import delta_uri
    from spark_jobs.ingest.landing import batch_name, pending_batches
    from spark_jobs.ingest.native.store import ObjectStore, parquet_table

    job, runtime = parse_run_spec(spec)
    assert isinstance(job, IngestJob) and job.landing is not None
    store = ObjectStore.from_storage(runtime.storage)
    landing = job.landing
    table: Any = delta_uri(job.target)
    checkpoint = 0
    while time.time() < stop_at:
        time.sleep(poll)
        names = store.list_names(landing.prefix, after=batch_name(checkpoint, "json"))
        sequences = pending_batches(names, checkpoint + 1, landing.batches_per_commit)
        if not sequences:
            continue
        bodies = store.read_many(
            [landing.prefix + batch_name(q, k) for q in sequences for k in ("json", "parquet")]
        )
        rows = pa.concat_tables([parquet_table(b) for b in bodies[1::2]])
        rows = rows.append_column("date", pc.cast(rows["ts"], pa.date32()))
        write_deltalake(
            table,
            rows,
            mode="append",
            partition_by=["date", "source"],
            storage_options=store.options if isinstance(table, str) else None,
            commit_properties=CommitProperties(
                app_transactions=[Transaction(job.source_uid, sequences[-1])]
            ),
        )
        if isinstance(table, str):
            table = DeltaTable(table, storage_options=store.options)
        checkpoint = sequences[-1]
    return {"checkpoint": {"batchSequence": checkpoint}}


def follower_process(
    specs: list[dict[str, Any]], stop_at: float, poll: float, out: str, floor: bool = False
) -> None:
    """Followers in a process of their own: one run_native_ingest(follow_seconds=...) thread per
    source of its share, as in `Ingest.follow` (`floor`: floor_follow instead); the runs written
    to `out` as JSON."""
    from nidc.api.job_runtime import parse_run_spec
    from spark_jobs.ingest.native import run_native_ingest
    from spark_jobs.ingest.native.run import use_jemalloc_for_arrow

    use_jemalloc_for_arrow()  # as the native job's process does (both arms: the process's)
    runs: list[dict[str, Any]] = []
    lock = threading.Lock()

    def follow(spec: dict[str, Any]) -> None:
        started = time.time()
        if floor:
            result = floor_follow(spec, stop_at, poll)
        else:
            job, runtime = parse_run_spec(spec)
            result = run_native_ingest(
                job,  # type: ignore[arg-type]
                runtime,
                follow_seconds=stop_at - time.time(),
                poll_seconds=poll,
            )
        with lock:
            runs.append(
                {
                    "source": spec["source"],
                    "started": started,
                    "ended": time.time(),
                    "before": 0,
                    "after": result["checkpoint"]["batchSequence"],
                }
            )

    threads = [threading.Thread(target=follow, args=(spec,)) for spec in specs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    Path(out).write_text(json.dumps(runs))


class Ingest:
    """The sweep and the runs: which run committed which batches, and when."""

    def __init__(self, bench: Any, args: argparse.Namespace, prefix: str, root: Path) -> None:
        from nidc.api.job_runtime import JobRuntime, Storage

        self.bench, self.args, self.prefix, self.root = bench, args, prefix, root
        self.runtime = JobRuntime(
            run="bench", storage=Storage(endpoint=bench.endpoint, ca_file=bench.ca_file)
        )
        self.runs: list[dict[str, Any]] = []  # source, started, ended, before, after
        self.lock = threading.Lock()
        # At most this many runs at once: the local runner limits native runs not at all, and
        # a hundred interpreters at once do not fit the machine.
        self.slots = threading.Semaphore(args.max_runs)

    def job(self, source: str, checkpoint: int) -> dict[str, Any]:
        return {
            "job": "ingest",
            "type": "opcua",
            "engine": "native",
            "source": source,
            "namespace": "bench",
            "sourceUid": f"uid-{source}",
            "points": [
                {
                    "name": f"p{i:02d}",
                    "address": f"ns=2;s=p{i}",
                    "identifier": f"88.118.8/{source}.p{i:02d}",
                }
                for i in range(self.args.points)
            ],
            "target": f"s3a://{BUCKET}/{self.bench.run}/tables/{source}/bronze",
            "quarantine": f"s3a://{BUCKET}/{self.bench.run}/tables/{source}/quarantine",
            "landing": {
                "prefix": f"s3a://{BUCKET}/{self.prefix}{source}/",
                "fromSequence": checkpoint,
                "batchesPerCommit": self.args.batches_per_commit,
            },
        }

    def spec(self, source: str, checkpoint: int, run: str) -> dict[str, Any]:
        from nidc.api.job_runtime import build_run_spec

        return build_run_spec(
            self.job(source, checkpoint), self.runtime.model_copy(update={"run": run})
        )

    def env(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": self.bench.access_key,
            "AWS_SECRET_ACCESS_KEY": self.bench.secret_key,
            "SSL_CERT_FILE": self.bench.ca_file,
        }

    def process_run(self, source: str, checkpoint: int) -> tuple[float, float, int]:
        """One run as the runs machinery starts it; (started, ended, checkpoint after)."""
        from operators.runs.local_runner import LocalRunner
        from operators.runs.runner import RunRef

        name = f"{source}-{uuid.uuid4().hex[:8]}"
        runner = LocalRunner(self.root)
        started = time.time()
        runner.submit(
            RunRef("bench", name, name), 1, self.spec(source, checkpoint, name), self.env()
        )
        result = runner.folder(name) / "result.json"
        failure = runner.folder(name) / "failure.json"
        while not result.exists():
            if failure.exists():
                raise RuntimeError(failure.read_text())
            time.sleep(0.02)
        ended = result.stat().st_mtime
        after = json.loads(result.read_text())["checkpoint"]["batchSequence"]
        return started, ended, int(after)

    def follow(self, source: str, stop_at: float) -> None:
        """One run that keeps committing what lands until `stop_at` (its lease held), in this
        process: run_native_ingest's follow_seconds (decision 0280)."""
        from nidc.api.job_runtime import parse_run_spec
        from spark_jobs.ingest.native import run_native_ingest

        job, runtime = parse_run_spec(self.spec(source, 0, f"{source}-follow"))
        started = time.time()
        result = run_native_ingest(
            job,  # type: ignore[arg-type]
            runtime,
            follow_seconds=stop_at - time.time(),
            poll_seconds=self.args.sweep_seconds,
        )
        with self.lock:
            self.runs.append(
                {
                    "source": source,
                    "started": started,
                    "ended": time.time(),
                    "before": 0,
                    "after": result["checkpoint"]["batchSequence"],
                }
            )

    def source_loop(self, source: str, stop_at: float, landed: Callable[[str, int], bool]) -> None:
        """One source's sweep: a run when a batch is past the checkpoint and none in flight."""
        if self.args.mode == "follow":
            self.follow(source, stop_at)
            return
        run = self.process_run
        checkpoint = 0
        next_sweep = time.time()
        while time.time() < stop_at:
            time.sleep(max(0.0, next_sweep - time.time()))
            next_sweep += self.args.sweep_seconds
            if not landed(source, checkpoint):
                continue
            with self.slots:
                started, ended, after = run(source, checkpoint)
            with self.lock:
                self.runs.append(
                    {
                        "source": source,
                        "started": started,
                        "ended": ended,
                        "before": checkpoint,
                        "after": after,
                    }
                )
            checkpoint = after
            next_sweep = max(next_sweep, time.time())

    def floor(self, count: int) -> list[float]:
        """Seconds of a process-started run with nothing to ingest (spawn to result.json)."""
        times = []
        for index in range(count):
            started, ended, _ = self.process_run(f"floor-{index}", 0)
            times.append(ended - started)
        return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=100)
    parser.add_argument("--points", type=int, default=10)
    parser.add_argument("--hz", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=60.0, help="how long devices sample")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds left out at first")
    parser.add_argument("--batch-seconds", type=float, default=1.0)
    parser.add_argument("--sweep-seconds", type=float, default=1.0)
    parser.add_argument("--reader-seconds", type=float, default=0.25)
    parser.add_argument("--collector-processes", type=int, default=4)
    parser.add_argument("--max-runs", type=int, default=16, help="process runs at once")
    parser.add_argument(
        "--mode",
        choices=("process", "follow", "floor"),
        default="process",
        help="floor: followers that only read, decode and commit the landed rows (floor_follow)",
    )
    parser.add_argument(
        "--follow-processes",
        type=int,
        default=0,
        help="follow and floor modes: spread the followers over this many processes "
        "(follow: 0 is the bench's own; floor: at least 1)",
    )
    parser.add_argument(
        "--batches-per-commit",
        type=int,
        default=1,
        help="the job's landing.batchesPerCommit (decision 0300)",
    )
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()

    from bench.ingest import Bench, load, record
    from spark_jobs.ingest.native.store import ObjectStore

    bench = Bench(1, 1)
    os.environ.update(
        {"AWS_ACCESS_KEY_ID": bench.access_key, "AWS_SECRET_ACCESS_KEY": bench.secret_key}
    )
    store = ObjectStore(bench.store, dict(bench.options, AWS_CONDITIONAL_PUT="etag"))
    prefix = f"{bench.run}/landing/"
    work = Path(f"/tmp/nidc-bench-freshness-{bench.run}")
    work.mkdir(parents=True)
    ingest = Ingest(bench, args, prefix, work / "runs")
    load_before = load()
    floor = ingest.floor(3)

    sources = [f"src-{i:03d}" for i in range(args.sources)]
    config = {
        "endpoint": bench.endpoint,
        "bucket": "nidc-bench",
        "ca_file": bench.ca_file,
        "prefix": prefix,
        "points": args.points,
        "hz": args.hz,
        "batch_seconds": args.batch_seconds,
        "reader_seconds": args.reader_seconds,
        "bronze": f"s3://nidc-bench/{bench.run}/tables/",
        "options": store.options,
    }
    context = multiprocessing.get_context("spawn")
    start_at = time.time() + 5.0  # the processes' imports before the first sample
    stop_at = start_at + args.seconds
    groups = [sources[i :: args.collector_processes] for i in range(args.collector_processes)]
    collectors = [
        context.Process(
            target=collector_process,
            args=(config, group, str(work / f"collector-{i}.json"), stop_at),
        )
        for i, group in enumerate(groups)
        if group
    ]
    reader = context.Process(
        target=reader_process, args=(config, sources, str(work / "reader.json"), stop_at + 30)
    )
    for process in [*collectors, reader]:
        process.start()
    time.sleep(max(0.0, start_at - time.time()))

    def landed(source: str, checkpoint: int) -> bool:
        from spark_jobs.ingest.landing import batch_name

        after = batch_name(checkpoint, "json")
        folder = f"s3a://nidc-bench/{prefix}{source}/"
        return any(n.endswith(".json") for n in store.list_names(folder, after=after))

    followers = []
    if args.mode == "floor" or (args.mode == "follow" and args.follow_processes > 0):
        count = max(1, args.follow_processes)
        shares = [sources[i::count] for i in range(count)]
        followers = [
            context.Process(
                target=follower_process,
                args=(
                    [ingest.spec(s, 0, f"{s}-follow") for s in share],
                    stop_at + 20,
                    args.sweep_seconds,
                    str(work / f"followers-{i}.json"),
                    args.mode == "floor",
                ),
            )
            for i, share in enumerate(shares)
            if share
        ]
    threads = [
        threading.Thread(target=ingest.source_loop, args=(s, stop_at + 20, landed))
        for s in (sources if not followers else [])
    ]
    workers: list[threading.Thread | multiprocessing.process.BaseProcess] = [*followers, *threads]
    for worker in workers:
        worker.start()
    for process in collectors:
        process.join()
    for worker in workers:
        worker.join()
    for index in range(len(followers)):
        ingest.runs += json.loads((work / f"followers-{index}.json").read_text())
    reader.join()
    load_after = load()

    collected = [
        json.loads((work / f"collector-{i}.json").read_text()) for i in range(len(collectors))
    ]
    seen = {(s, q): t for s, q, t in json.loads((work / "reader.json").read_text())}
    by_batch = {}
    for run in ingest.runs if args.mode == "process" else []:
        for sequence in range(run["before"] + 1, run["after"] + 1):
            by_batch[(run["source"], sequence)] = run
    latencies: list[float] = []
    phases: dict[str, list[float]] = {
        "device -> landed": [],
        "landed -> committed (sweep, queue, process start, ingest)": [],
        "committed -> seen by reader": [],
        "landed -> seen by reader": [],
    }
    unseen = 0
    for part in collected:
        for batch in part["batches"]:
            key = (batch["source"], batch["sequence"])
            if batch["ticks"][0] < start_at + args.warmup:
                continue
            if key not in seen:
                unseen += 1
                continue
            latencies += [seen[key] - tick for tick in batch["ticks"]]
            phases["device -> landed"].append(batch["landed"] - batch["ticks"][0])
            if key not in by_batch:  # a following run: no run start per batch
                phases["landed -> seen by reader"].append(seen[key] - batch["landed"])
                continue
            run = by_batch[key]
            phases["landed -> committed (sweep, queue, process start, ingest)"].append(
                run["ended"] - batch["landed"]
            )
            phases["committed -> seen by reader"].append(max(0.0, seen[key] - run["ended"]))
    durations = [r["ended"] - r["started"] for r in ingest.runs if args.mode == "process"]
    cpu = sum(p["cpu"] for p in collected) / args.sources
    rss = [p["rss_kib"] / 1024 / p["sources"] for p in collected]
    command = " ".join(["python -m bench.freshness", *sys.argv[1:]])
    lines = [
        SECTION,
        "",
        f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {host.machine()}, "
        f"{os.cpu_count()} cores shared with other work (load average {load_before} before, "
        f"{load_after} after); MinIO on loopback over TLS. `{command}`: "
        f"{args.sources} sources x {args.points} points x {args.hz:g} Hz for {args.seconds:g} s "
        f"(the first {args.warmup:g} s left out), batches every {args.batch_seconds:g} s, a "
        f"sweep (follow: poll) every {args.sweep_seconds:g} s per source, runs: {args.mode} "
        f"(process: at most {args.max_runs} at once; follow: in "
        f"{args.follow_processes or 'the bench'} process(es)), at most "
        f"{args.batches_per_commit} ready batches per commit.",
        "",
        "| mode | samples | p50 s | p95 s | max s | batches not readable by the end | "
        "collector CPU s per source per minute | collector peak RSS MiB per source |",
        "|---|---|---|---|---|---|---|---|",
        f"| {args.mode} | {len(latencies) * args.points:,} | {quantile(latencies, 0.5):.2f} | "
        f"{quantile(latencies, 0.95):.2f} | {max(latencies, default=float('nan')):.2f} | "
        f"{unseen} | {cpu * 60 / args.seconds:.2f} | {statistics.mean(rss):.1f} |",
        "",
        "| where the time goes (per batch) | p50 s | p95 s |",
        "|---|---|---|",
        *(
            f"| {name} | {quantile(v, 0.5):.2f} | {quantile(v, 0.95):.2f} |"
            for name, v in phases.items()
            if v
        ),
        f"| a process-started run, start to result.json (all runs) | "
        f"{quantile(durations, 0.5):.2f} | {quantile(durations, 0.95):.2f} |",
        f"| floor: one process-started run with nothing to ingest | {quantile(floor, 0.5):.2f} "
        f"| {max(floor):.2f} |",
        "",
        f"Runs: {len(ingest.runs)} ({len(ingest.runs) / args.seconds:.1f} a second).",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.record:
        record(text, SECTION)


if __name__ == "__main__":
    main()
