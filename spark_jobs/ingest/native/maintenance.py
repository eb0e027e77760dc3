"""A maintenance run of a device source's native tables: compaction, then vacuum, of bronze and
quarantine, beside their appends and with no writer lease
(docs/decisions/0270-bronze-maintenance.md).

Compaction is compaction.py's (decision 0250: an append and a compaction meet only at the commit
file's conditional put). Vacuum takes no lease either: it deletes only files a commit removed
from the table more than the retention ago (the log's tombstones, `full=False`), which no
version inside the retention references and no append can bring back (appends add new files
only); its own VACUUM START/END commits carry no actions that conflict with an append's.
"""

from __future__ import annotations

import math
import re
from typing import Any

from deltalake import CommitProperties, DeltaTable

from nidc.api.data_source import DEFAULT_RETENTION_HOURS
from nidc.api.job_runtime import JobRuntime
from nidc.api.job_specs import MaintenanceJob
from nidc.telemetry.tracing import tracer
from spark_jobs.delta_rs_options import delta_uri
from spark_jobs.ingest.native import commit
from spark_jobs.ingest.native.compaction import compact
from spark_jobs.ingest.native.store import ObjectStore, split_s3a

TRACER = tracer(__name__)

RETENTION_PROPERTY = "delta.deletedFileRetentionDuration"
# Delta's interval syntax for durations ("interval 7 days"), in hours per unit.
INTERVAL = re.compile(r"^\s*interval\s+(\d+)\s+([a-z]+?)s?\s*$", re.IGNORECASE)
HOURS_PER_UNIT = {
    "nanosecond": 1 / 3.6e12,
    "microsecond": 1 / 3.6e9,
    "millisecond": 1 / 3.6e6,
    "second": 1 / 3600,
    "minute": 1 / 60,
    "hour": 1.0,
    "day": 24.0,
    "week": 168.0,
}


def interval_hours(text: str) -> int | None:
    """A Delta interval ("interval 7 days") in whole hours, rounded up; None if it is not one."""
    found = INTERVAL.match(text)
    if found is None or found.group(2).lower() not in HOURS_PER_UNIT:
        return None
    return math.ceil(int(found.group(1)) * HOURS_PER_UNIT[found.group(2).lower()])


def effective_retention(asked: int, table_setting: str | None) -> tuple[int, bool]:
    """(hours vacuum keeps, whether delta-rs's own retention check stays on) (pure).

    Never below what was asked nor below the table's own delta.deletedFileRetentionDuration
    where it sets one. delta-rs refuses a retention below that property, and without it below
    Delta's built-in 7 days; the check is turned off only for a table that sets no property and
    a retention under 7 days, which admission already held to its floor
    (DataSource spec.maintenance.retentionHours, at least MIN_RETENTION_HOURS).
    """
    if asked < 0:
        raise ValueError(f"a retention of {asked} hours")
    configured = interval_hours(table_setting) if table_setting else None
    if configured is not None:
        return max(asked, configured), True
    return asked, asked >= DEFAULT_RETENTION_HOURS


def vacuum(store: ObjectStore, table: str, retention_hours: int, retries: int = 50) -> list[str]:
    """Delete the table's files that left it more than the retention ago; the paths (relative to
    the table) of those that were still there."""
    opened = commit.open_table(delta_uri(table), store.options)
    if opened is None:
        return []
    hours, check = effective_retention(retention_hours, table_property(opened))
    # delta-rs names every expired tombstone, deleted now or by an earlier run (they stay in the
    # log until a checkpoint drops them): only what existed before counts as vacuumed.
    present = data_files(store, table)
    expired: list[str] = opened.vacuum(
        retention_hours=hours,
        dry_run=False,
        enforce_retention_duration=check,
        commit_properties=CommitProperties(max_commit_retries=retries),
        full=False,  # tombstoned files only; an append's files not yet committed are not touched
    )
    return [path for path in expired if path in present]


def data_files(store: ObjectStore, table: str) -> set[str]:
    """Every object under the table's folder, relative to it, but its log."""
    bucket, prefix = split_s3a(table.rstrip("/") + "/")
    names = (
        (o.object_name or "").removeprefix(prefix)
        for o in store.client.list_objects(bucket, prefix=prefix, recursive=True)
    )
    return {n for n in names if n and not n.startswith("_delta_log/")}


def table_property(table: DeltaTable) -> str | None:
    configuration: dict[str, str] = table.metadata().configuration or {}
    return configuration.get(RETENTION_PROPERTY)


def run_maintenance(job: MaintenanceJob, runtime: JobRuntime) -> dict[str, Any]:
    """One maintenance run: every table compacted, then vacuumed; the run's result."""
    store = ObjectStore.from_storage(runtime.storage)
    totals = {"filesCompacted": 0, "filesAdded": 0, "filesVacuumed": 0, "tables": 0}
    with TRACER.start_as_current_span(
        "maintenance",
        attributes={
            "nidc.source": job.source,
            "nidc.namespace": job.namespace,
            "nidc.engine": "native",
            "nidc.slot": job.slot,
            "nidc.retention_hours": job.retention_hours,
        },
    ) as span:
        for table in job.tables:
            with TRACER.start_as_current_span(
                "maintenance table", attributes={"nidc.table": table}
            ) as table_span:
                metrics = compact(store, table)
                deleted = vacuum(store, table, job.retention_hours)
                found = {
                    "filesCompacted": int(metrics.get("numFilesRemoved", 0)),
                    "filesAdded": int(metrics.get("numFilesAdded", 0)),
                    "filesVacuumed": len(deleted),
                    "tables": 1 if metrics or deleted else 0,
                }
                table_span.set_attributes({f"nidc.{k}": v for k, v in found.items()})
                for key, value in found.items():
                    totals[key] += value
        span.set_attributes({f"nidc.{k}": v for k, v in totals.items()})
    return {"maintenance": totals}
