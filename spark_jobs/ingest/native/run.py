"""The native jobs' process: the same run folder, lock, slot, trace, lineage events and
result/failure files as `python -m spark_jobs.run` (spark_jobs/run.py), with no Spark session.
It runs a device source's ingest (decision 0250) and its tables' maintenance (decision 0270)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

import pyarrow as pa

from nidc.api.job_runtime import parse_run_spec
from nidc.api.job_specs import IngestJob, MaintenanceJob
from nidc.lineage.events import Observed, job_datasets
from spark_jobs.ingest.native import run_native_ingest
from spark_jobs.lineage import JobLineage
from spark_jobs.run import failure_reason, run_folder

SERVICE = "nidc-native-job"


def observe_bronze(job: IngestJob, bronze: Any) -> Observed:
    """The bronze table's schema for the COMPLETE event (as the Spark job reports it), from
    the run's open table (commit.OpenTables.bronze)."""
    from spark_jobs.ingest.native import commit

    primary = job_datasets(job).primary_output
    columns = commit.table_columns(bronze)
    if primary is None or not columns:
        return Observed()
    return Observed(schemas={primary: list(columns.items())})


def run_native_job(spec: dict[str, Any]) -> dict[str, Any]:
    """Parse the run's spec.json and run the native job between its lineage events."""
    from spark_jobs.ingest.native.commit import OpenTables

    job, runtime = parse_run_spec(spec)
    if isinstance(job, MaintenanceJob):
        from spark_jobs.ingest.native.maintenance import run_maintenance

        return JobLineage(job, runtime).run(
            lambda: run_maintenance(job, runtime), reason=failure_reason, observe=Observed
        )
    if not isinstance(job, IngestJob):
        raise TypeError(f"{type(job).__name__} does not run on the native engine")
    tables = OpenTables()
    return JobLineage(job, runtime).run(
        lambda: run_native_ingest(job, runtime, tables),
        reason=failure_reason,
        observe=lambda: observe_bronze(job, tables.bronze),
    )


def use_jemalloc_for_arrow() -> str:
    """Arrow's allocations in this process from jemalloc, where the wheel has it, unless
    ARROW_DEFAULT_MEMORY_POOL names one (Arrow's own setting wins); returns the pool's name.
    With many job processes at once on a loaded node, pyarrow's default (mimalloc) cost the
    native writer about a fifth more CPU per run than jemalloc or the system allocator, and
    nothing in a process alone (docs/benchmarks.md, native writer, session 14)."""
    if not os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        with contextlib.suppress(NotImplementedError):  # a wheel built without jemalloc
            pa.set_memory_pool(pa.jemalloc_memory_pool())
    return str(pa.default_memory_pool().backend_name)


def exit_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    """A cancel (the runners stop a run with SIGTERM) ends the process as SIGTERM would, but
    through SystemExit, so the run's `with` blocks give its writer lease back on the way out:
    the run that replaces a cancelled follower (decision 0290) need not wait for the lease to
    expire. Delta commits are atomic and carry the batch's transaction: stopping between two
    is a run killed mid-way, as before."""
    sys.exit(128 + signum)


def main(run_dir: Path) -> int:
    """Run the native job of one run folder unless another process already does."""
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    use_jemalloc_for_arrow()
    return run_folder(run_dir, run_native_job, SERVICE)
