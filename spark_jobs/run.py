"""Entry point of every job run: `python -m spark_jobs.run <run-dir>`.

The run folder holds spec.json (written by the runner; never secrets). This process holds an
exclusive lock on <run-dir>/lock for its whole life, so at most one process ever works on a run;
it ends by writing result.json or failure.json atomically. Credentials come from the
environment only.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from opentelemetry.trace import StatusCode
from pyspark.sql import SparkSession

from nidc.api.job_runtime import JobRuntime, parse_run_spec
from nidc.api.job_specs import (
    AnyJob,
    ClassifyJob,
    GovernedCopyJob,
    IngestJob,
    QualityJob,
    ReplicateJob,
    TransformJob,
    starts_spark,
)
from nidc.telemetry.tracing import continued, setup_tracing, shutdown_tracing, tracer
from spark_jobs.lineage import JobLineage
from spark_jobs.session import ObjectStore, build_spark_conf, create_session

TRACER = tracer(__name__)


def write_atomically(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, sort_keys=True))
    tmp.replace(path)


def short_java_text(text: str) -> str:
    """'org.apache.x.FooException: msg' -> 'FooException: msg' (first line only)."""
    first = text.splitlines()[0] if text else ""
    name, sep, message = first.partition(": ")
    return f"{name.rsplit('.', 1)[-1]}{sep}{message}"


def failure_reason(error: BaseException) -> str:
    """One line saying why a job failed, for the run's status.

    A JVM error reaches Python as "An error occurred while calling o70.save.", which says
    nothing; the Java exception and its root cause (a full disk, a denied request) do.
    """
    message = str(error).splitlines()[0] if str(error) else ""
    reason = f"{type(error).__name__}: {message}"
    java = getattr(error, "java_exception", None)
    if java is None:
        return reason
    try:
        outer = short_java_text(str(java.toString()))
        root = java
        while root.getCause() is not None:
            root = root.getCause()
        cause = short_java_text(str(root.toString()))
    except Exception:  # the JVM may be gone; the Python line is still a reason
        return reason
    return outer if cause == outer else f"{outer} (cause: {cause})"


def run_job(spec: dict[str, Any]) -> dict[str, Any]:
    """Parse the spec (nidc/api/job_specs.py), start Spark for it and run its job between its
    lineage events (spark_jobs/lineage.py); returns the job's result."""
    job, runtime = parse_run_spec(spec)
    if isinstance(job, ReplicateJob):
        # A byte-for-byte file copy: no Spark session (spark_jobs/replicate.py says why).
        from spark_jobs.replicate import replicate

        return JobLineage(job, runtime).run(
            lambda: replicate(job, runtime.storage), reason=failure_reason
        )
    if isinstance(job, ClassifyJob):
        # A bounded sample and at most one properties commit: delta-rs, no JVM
        # (docs/decisions/0193-classify-without-spark.md).
        from spark_jobs.classify import classify_natively
        from spark_jobs.delta_rs_options import delta_rs_options

        return JobLineage(job, runtime).run(
            lambda: classify_natively(job, delta_rs_options(runtime.storage)).as_dict(),
            reason=failure_reason,
        )
    storage = runtime.storage
    store = ObjectStore(
        endpoint=storage.endpoint,
        region=storage.region,
        truststore=Path(storage.truststore) if storage.truststore else None,
        truststore_password=storage.truststore_password,
    )
    conf = build_spark_conf(
        store,
        [Path(j) for j in runtime.jars],
        runtime.run,
        master=runtime.master,
        jvm_options=runtime.jvm_options,
    )
    with TRACER.start_as_current_span("spark session start"):
        spark = create_session(conf)
    try:
        return run_in_session(spark, job, runtime)
    finally:
        spark.stop()


def run_in_session(spark: SparkSession, job: AnyJob, runtime: JobRuntime) -> dict[str, Any]:
    """Run a Spark job in an open session, between its lineage events."""
    return JobLineage(job, runtime).run(
        lambda: run_spark_job(spark, job, runtime), spark, reason=failure_reason
    )


def run_spark_job(spark: SparkSession, job: AnyJob, runtime: JobRuntime) -> dict[str, Any]:
    """The job's own work (every kind but replicate)."""
    if isinstance(job, TransformJob):
        from spark_jobs.transform import transform

        return transform(spark, job)
    if isinstance(job, QualityJob):
        from spark_jobs.quality import quality

        return quality(spark, job, runtime.run)
    if isinstance(job, ClassifyJob):
        from spark_jobs.classify import classify

        return classify(spark, job).as_dict()
    if isinstance(job, GovernedCopyJob):
        from spark_jobs.governed_copy import governed_copy

        return governed_copy(spark, job)
    if isinstance(job, IngestJob):
        from spark_jobs.ingest import run_ingest

        return run_ingest(spark, job, runtime.run, runtime.openbao)
    raise TypeError(f"{type(job).__name__} does not run in a Spark session")


def wait_for_slot(slots: Path) -> Any:
    """Hold one of NIDC_LOCAL_JOB_SLOTS slots (default 2) for the life of this process.

    The embedded platform shares one machine: queued jobs wait here (holding their run's lock,
    so the runner sees them as accepted) instead of starting one JVM each at once.
    """
    slots.mkdir(parents=True, exist_ok=True)
    count = max(1, int(os.environ.get("NIDC_LOCAL_JOB_SLOTS", "2")))
    while True:
        for index in range(count):
            handle = (slots / f"slot-{index}").open("w")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            return handle
        time.sleep(1)


def main(run_dir: Path) -> int:
    """Run the job of one run folder unless another process already does."""
    return run_folder(run_dir, run_job, "nidc-spark-job")


def run_folder(
    run_dir: Path, work: Callable[[dict[str, Any]], dict[str, Any]], service: str
) -> int:
    """The run-folder protocol of every job process, whatever its engine: the folder's lock,
    a local job slot, the run's trace, then result.json or failure.json (atomically)."""
    lock = (run_dir / "lock").open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print("another process already runs this job; leaving it to that one", file=sys.stderr)
        return 0
    (run_dir / "pid").write_text(f"{os.getpid()}\n")
    spec = json.loads((run_dir / "spec.json").read_text())
    # Held until this process ends; a job that starts no JVM takes none (and waits for none).
    _slot = wait_for_slot(run_dir.parent / ".slots") if starts_spark(spec) else None
    setup_tracing(service)
    # The job's spans join the run's trace through the traceparent the operator handed over.
    with (
        continued(os.environ.get("TRACEPARENT", "")),
        TRACER.start_as_current_span(
            f"job {spec['job']}",
            attributes={"nidc.pipelinerun": spec["run"], "nidc.attempt": spec.get("attempt", 1)},
        ) as span,
    ):
        try:
            result = work(spec)
        except Exception as error:  # the job's own failure, reported with its reason
            traceback.print_exc()
            reason = failure_reason(error)
            span.set_status(StatusCode.ERROR, reason[:500])
            write_atomically(run_dir / "failure.json", {"reason": reason[:500]})
            shutdown_tracing()
            return 1
        span.set_attributes(
            {
                key: value
                for key, value in (
                    ("nidc.table_version", result.get("tableVersion")),
                    ("nidc.rows", result.get("rows")),
                )
                if value is not None  # an ingest with no data yet has no table version
            }
        )
    write_atomically(run_dir / "result.json", result)
    shutdown_tracing()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
