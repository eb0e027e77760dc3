"""Pure decisions for a DataSource: its ingest job, when to run it, its collector, its status."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from nidc.api.data_source import SourceType
from nidc.api.pipeline_run import Phase
from operators.conditions import Outcome, build_conditions
from operators.dataproduct.build import Plan, next_scheduled, table_path
from operators.runs.record import TERMINAL, build_run_record, run_key, run_phase, run_summary
from operators.tenant.build import TenantNames

DEVICE_TYPES = {SourceType.OPCUA.value, SourceType.MODBUS.value, SourceType.MQTT.value}
# A continuous files or jdbc source is read again this long after its last run ended.
POLL_INTERVAL = dt.timedelta(seconds=30)
# After a run failed (all its attempts), the next one waits this long: a broken source must not
# spin, and a transient outage must not stop ingestion for good.
RETRY_AFTER_FAILURE = dt.timedelta(minutes=5)
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def is_device(source: dict[str, Any]) -> bool:
    return str(source["spec"]["type"]) in DEVICE_TYPES


def collector_name(source: dict[str, Any]) -> str:
    """Deterministic name of the source's collector (process folder or Deployment)."""
    meta = source["metadata"]
    return f"{meta['namespace']}-{meta['name']}-{meta['uid'][:8]}"


def landing_path(source: dict[str, Any]) -> str:
    """s3a:// folder of the source's landing batches (the collector's contract)."""
    meta = source["metadata"]
    bucket = TenantNames(meta["namespace"]).bucket
    return f"s3a://{bucket}/landing/sources/{meta['namespace']}/{meta['name']}/"


def quarantine_path(source: dict[str, Any]) -> str:
    """The quarantine table beside the bronze one: quarantine/<table name>."""
    meta = source["metadata"]
    name = source["spec"]["targetTable"].split(".", 1)[1]
    return f"s3a://{TenantNames(meta['namespace']).bucket}/quarantine/{name}"


def build_ingest_job(source: dict[str, Any], checkpoint: dict[str, Any]) -> dict[str, Any]:
    """The logical ingest job of one run (spark_jobs/ingest.py IngestJob; no credentials)."""
    meta, spec = source["metadata"], source["spec"]
    kind = str(spec["type"])
    job: dict[str, Any] = {
        "job": "ingest",
        "type": kind,
        "source": meta["name"],
        "namespace": meta["namespace"],
        "sourceUid": meta["uid"],
        "points": spec.get("points", []),
        "target": table_path(meta["namespace"], spec["targetTable"]),
        "quarantine": quarantine_path(source),
        "schemaPolicy": spec.get("schemaPolicy", "addColumns"),
    }
    if kind in DEVICE_TYPES:
        job["landing"] = {
            "prefix": landing_path(source),
            "fromSequence": int(checkpoint.get("batchSequence") or 0),
        }
    elif kind == SourceType.JDBC.value:
        job["jdbc"] = {
            "url": spec["endpoint"],
            "table": spec["table"]["name"],
            "watermarkColumn": spec["table"]["watermarkColumn"],
            "watermark": checkpoint.get("watermark"),
        }
    else:
        bucket = TenantNames(meta["namespace"]).bucket
        job["files"] = {
            "prefix": f"s3a://{bucket}/landing/{spec['files']['prefix']}",
            "format": spec["files"]["format"],
        }
    if spec.get("credentials"):
        # Where the job's login lives; the runner reads it at submit time, never the record.
        job["credentialsPath"] = spec["credentials"]["openBaoPath"]
    return job


def build_ingest_run(
    source: dict[str, Any], job: dict[str, Any], generation: int, sequence: int
) -> dict[str, Any]:
    """The PipelineRun of one ingest run, owned by the source."""
    return build_run_record(source, "ingest", job, generation, sequence)


def checkpoint_of(runs: list[dict[str, Any]], previous: dict[str, Any] | None) -> dict[str, Any]:
    """How far ingestion got: the latest succeeded run's checkpoint, else the recorded one."""
    succeeded = [r for r in sorted(runs, key=run_key) if run_phase(r) == Phase.SUCCEEDED.value]
    for run in reversed(succeeded):
        checkpoint = (run.get("status") or {}).get("checkpoint")
        if checkpoint:
            return dict(checkpoint)
    return dict(previous or {})


def _time(value: str | None) -> dt.datetime | None:
    return dt.datetime.strptime(value, TIME_FORMAT).replace(tzinfo=dt.UTC) if value else None


def plan_ingest(
    source: dict[str, Any], runs: list[dict[str, Any]], landed_beyond: bool, now: dt.datetime
) -> Plan:
    """Decide the next ingest run. One live run per source at a time (one writer per table).

    Device sources run when batches landed beyond the checkpoint; continuous files and jdbc
    sources every POLL_INTERVAL; scheduled ones on their cron ticks; after a failed run the
    next waits RETRY_AFTER_FAILURE.
    """
    spec = source["spec"]
    generation = int(source["metadata"].get("generation", 1))
    ordered = sorted(runs, key=run_key)
    live = [r for r in ordered if run_phase(r) not in TERMINAL]
    plan = Plan()
    if live:
        plan.waiting = f"run {live[-1]['metadata']['name']} is {run_phase(live[-1]).lower()}"
        return plan
    current = [r for r in ordered if run_key(r)[0] == generation]
    sequence = run_key(current[-1])[1] + 1 if current else 0
    latest = ordered[-1] if ordered else None
    finished = _time((latest.get("status") or {}).get("finishedAt")) if latest else None
    if latest and run_phase(latest) == Phase.FAILED.value and finished:
        retry_at = finished + RETRY_AFTER_FAILURE
        if now < retry_at and current:
            plan.next_run = retry_at
            plan.waiting = f"the last run failed; next attempt at {retry_at.strftime(TIME_FORMAT)}"
            return plan
    if spec.get("schedule"):
        if not current:
            plan.create = (generation, 0)
            return plan
        base = _time((current[-1].get("status") or {}).get("startedAt")) or now
        plan.next_run = next_scheduled(spec["schedule"], base)
        if now >= plan.next_run:
            plan.create = (generation, sequence)
        return plan
    if is_device(source):
        if landed_beyond:
            plan.create = (generation, sequence)
        else:
            plan.waiting = "waiting for the collector's next batch"
        return plan
    if finished is None or now >= finished + POLL_INTERVAL or not current:
        plan.create = (generation, sequence)
    else:
        plan.next_run = finished + POLL_INTERVAL
    return plan


@dataclass(frozen=True)
class CollectorState:
    """What the reconciler saw of the source's collector."""

    needed: bool
    running: bool
    problem: str = ""
    reason: str = "CollectorFailed"


def build_status(
    source: dict[str, Any],
    runs: list[dict[str, Any]],
    plan: Plan,
    collector: CollectorState,
    checkpoint: dict[str, Any],
) -> dict[str, Any]:
    """DataSource.status from its runs and collector (pure)."""
    generation = int(source["metadata"].get("generation", 1))
    ordered = sorted(runs, key=run_key)
    finished = [r for r in ordered if run_phase(r) in TERMINAL]
    succeeded = [r for r in finished if run_phase(r) == Phase.SUCCEEDED.value]
    status: dict[str, Any] = {"observedGeneration": generation}
    if checkpoint:
        status["checkpoint"] = checkpoint
    if succeeded:
        good = succeeded[-1].get("status") or {}
        for key in ("rows", "quarantinedRows", "tableVersion"):
            if good.get(key) is not None:
                status[key] = good[key]
    if ordered:
        status["lastRun"] = run_summary(ordered[-1])
    if source["spec"].get("grade") is not None:
        status["grade"] = source["spec"]["grade"]
    serving = (
        f"; serving table version {status['tableVersion']}"
        if status.get("tableVersion") is not None
        else ""
    )
    live = any(run_phase(r) not in TERMINAL for r in ordered)
    if collector.problem:
        outcome = Outcome(False, collector.reason, collector.problem, degraded=True)
    elif finished and run_phase(finished[-1]) == Phase.FAILED.value:
        reason = (finished[-1].get("status") or {}).get("reason") or "run failed"
        outcome = Outcome(
            False,
            "IngestFailed",
            f"run {finished[-1]['metadata']['name']} failed: {reason}{serving}",
            degraded=True,
            progressing=live,
        )
    elif collector.needed and not collector.running:
        outcome = Outcome(False, "CollectorStarting", "starting the collector", progressing=True)
    else:
        rows = status.get("rows", 0)
        where = (
            f"batch {checkpoint['batchSequence']}"
            if checkpoint.get("batchSequence")
            else (
                f"watermark {checkpoint['watermark']}" if checkpoint.get("watermark") else "start"
            )
        )
        message = f"{rows} rows ingested up to {where}" + (
            f"; {plan.waiting}" if plan.waiting else ""
        )
        outcome = Outcome(True, "Ingesting", message, progressing=live)
    previous = (source.get("status") or {}).get("conditions") or []
    status["conditions"] = build_conditions(previous, outcome, generation)
    return status
