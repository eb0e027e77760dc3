"""The native bronze writer: device sources' landing batches into bronze with delta-rs, no JVM.

The same contract as the Spark path (spark_jobs/ingest/landing.py; decisions 0020, 0030): the
same bronze and quarantine schemas, reasons and details (values.py's rules; classify.py runs
them column-wise), deduplication on (source, point, ts) within a batch and against the table's
affected partitions, quarantine first and bronze second, each commit carrying the Delta
application transaction (source uid, batch sequence) that makes a re-run commit nothing twice,
and the table's writer lease. Why a native writer and where it runs:
docs/decisions/0250-native-bronze-writer.md.

Modules: classify.py and rows.py are pure (Arrow in, Arrow out); store.py (S3 client, delta-rs
options), lease.py (the writer lease), commit.py (delta-rs transactions), batches.py (the run's
work), run.py (the run-folder entry point: `python -m spark_jobs.ingest.native <run-dir>`),
compaction.py (small files rewritten beside the appends), maintenance.py (compaction and vacuum
of a source's tables on its schedule: docs/decisions/0270-bronze-maintenance.md).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from nidc.api.job_runtime import JobRuntime
from nidc.api.job_specs import IngestJob
from nidc.telemetry.tracing import tracer

TRACER = tracer(__name__)


def run_native_ingest(
    job: IngestJob,
    runtime: JobRuntime,
    tables: Any | None = None,
    follow_seconds: float | None = None,
    poll_seconds: float | None = None,
) -> dict[str, Any]:
    """One native ingest run; the same result keys as the Spark job's run_ingest. `tables`
    (commit.OpenTables) receives the run's open tables for the caller (lineage facets).

    `follow_seconds` > 0: after the pending batches, the run keeps its lease and its open
    tables and commits each batch that lands within that time, polling the landing prefix
    every `poll_seconds` (docs/decisions/0280-native-run-follows-landing.md); 0 is a run that
    exits when the pending batches are in. None (both): the job spec's `landing.followSeconds`
    and `landing.pollSeconds` (decision 0290), which the DataSource's spec.ingest sets."""
    from spark_jobs.ingest.native.batches import ingest_device_batches_natively, table_totals
    from spark_jobs.ingest.native.commit import OpenTables
    from spark_jobs.ingest.native.lease import NativeTableLease
    from spark_jobs.ingest.native.store import ObjectStore

    if not job.is_device:
        raise ValueError(f"the native engine ingests device sources only, not {job.type}")
    if job.encryption is not None:
        # Fail closed: device sources are not graded at ingest (decision 0160), so a spec that
        # asks for it is not one this writer may commit in clear.
        raise ValueError("the native engine does not grade or encrypt columns at ingest yet")
    assert job.landing is not None  # IngestJob requires it of device sources
    follow = job.landing.follow_seconds if follow_seconds is None else follow_seconds
    poll = job.landing.poll_seconds if poll_seconds is None else poll_seconds
    store = ObjectStore.from_storage(runtime.storage)
    holder = runtime.run or f"adhoc-{uuid.uuid4().hex[:12]}"
    with (
        TRACER.start_as_current_span(
            "ingest",
            attributes={
                "nidc.source": job.source,
                "nidc.source_type": str(job.type),
                "nidc.engine": "native",
                "nidc.follow_seconds": follow,
            },
        ),
        NativeTableLease(store, job.target, holder, wait_seconds=job.lease_wait_seconds) as lease,
    ):
        tables = tables if tables is not None else OpenTables()
        progress = ingest_device_batches_natively(store, job, lease.renew, tables=tables)
        if follow > 0:
            progress = follow_landing(store, job, lease, tables, progress,
                                      time.monotonic() + follow, poll)  # fmt: skip
        return {**progress, **table_totals(store, job, tables)}


def follow_landing(
    store: Any,
    job: IngestJob,
    lease: Any,
    tables: Any,
    progress: dict[str, Any],
    deadline: float,
    poll_seconds: float,
) -> dict[str, Any]:
    """Commit what lands until `deadline` (monotonic), under the lease the run holds; the
    progress of every round summed, the checkpoint the last one's. Each round waits
    `poll_seconds` first, also after a round that committed: on a loaded machine the next
    round's group is then larger and the commits fewer (a round at once after a productive one
    measured no better at 100 sources: docs/benchmarks.md, session 13)."""
    from spark_jobs.ingest.native.batches import ingest_device_batches_natively

    assert job.landing is not None
    renewed = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(poll_seconds)
        if time.monotonic() - renewed > lease.ttl / 3:
            lease.renew()  # an idle follower keeps its lease well before it expires
            renewed = time.monotonic()
        checkpoint = int(progress["checkpoint"]["batchSequence"])
        landing = job.landing.model_copy(update={"from_sequence": checkpoint})
        more = ingest_device_batches_natively(
            store, job.model_copy(update={"landing": landing}), lease.renew, tables=tables
        )
        if more["batches"]:
            renewed = time.monotonic()
        progress = {
            "checkpoint": more["checkpoint"],
            **{k: progress[k] + more[k] for k in ("batches", "rowsAdded", "quarantinedAdded")},
        }
    return progress
