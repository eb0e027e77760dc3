"""Pure decisions for a DataSource: its problems, its ingest job, when to run it, its status."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nidc.api.addressing import (
    TenantNames,
    files_landing_path,
    quarantine_path,
    source_landing_path,
    split_table,
    table_path,
)
from nidc.api.data_source import DataSource, SourceType
from nidc.api.job_specs import (
    DEVICE_TYPES,
    ColumnEncryption,
    FilesInput,
    IngestJob,
    JdbcInput,
    JobSpecBase,
    LandingInput,
)
from nidc.collector.report import DeviceReport
from nidc.governance.classify_job import build_classify_job
from operators.reconciling.conditions import (
    Outcome,
    Problem,
    build_conditions,
    problem_outcome,
    rfc3339,
)
from operators.runs.plan import (
    Plan,
    RunHistory,
    failure_message,
    next_scheduled,
    run_status_fields,
)
from operators.runs.record import RecordedRun, build_run_record, format_time

# A continuous files or jdbc source is read again this long after its last run ended.
POLL_INTERVAL = dt.timedelta(seconds=30)
# After a run failed (all its attempts), the next one waits this long: a broken source must not
# spin, and a transient outage must not stop ingestion for good.
RETRY_AFTER_FAILURE = dt.timedelta(minutes=5)
# A file modified this close before the last run started may have been missed by it (the S3
# server's clock and ours may differ a little): it counts as new, at the cost of one more run.
CLOCK_SLACK = dt.timedelta(seconds=5)
# A device report older than this is from a collector that is gone: its word no longer counts.
REPORT_STALE_AFTER = dt.timedelta(seconds=60)
# A device unreachable this long turns the source Degraded (a blip does not).
UNREACHABLE_AFTER = dt.timedelta(seconds=60)


def is_device(source: DataSource) -> bool:
    return str(source.spec.type) in DEVICE_TYPES


def collector_name(source: DataSource) -> str:
    """Deterministic name of the source's collector (process folder or Deployment)."""
    return f"{source.namespace}-{source.name}-{source.uid[:8]}"


def validate(source: DataSource) -> list[Problem]:
    """What keeps the source from being ingested as asked (pure; [] when nothing does)."""
    problems = []
    if split_table(source.spec.target_table)[0] != "bronze":
        problems.append(
            Problem(
                "InvalidSpec",
                f"spec.targetTable: a DataSource lands in a bronze table, not "
                f"{source.spec.target_table}",
            )
        )
    if is_device(source) and not source.spec.continuous:
        # A collector runs only for continuous sources: a scheduled device source would
        # silently land nothing.
        problems.append(
            Problem(
                "ScheduleNotSupported",
                f"spec.schedule: {source.spec.type} sources are collected continuously; set "
                "spec.continuous: true instead of a schedule",
            )
        )
    return problems


def build_column_encryption(
    source: DataSource,
    policies: Sequence[Mapping[str, Any]],
    approvals: Sequence[Mapping[str, Any]],
) -> ColumnEncryption | None:
    """How the ingest job grades and encrypts: the classify job's policies and the tenant's
    transit key. None for device sources (not graded at ingest yet) and when no policy applies
    (nothing can be graded; docs/decisions/0160-grade-at-ingest-encrypt-before-write.md)."""
    if str(source.spec.type) in DEVICE_TYPES or not policies:
        return None
    return ColumnEncryption(
        transit_key=TenantNames(source.namespace).transit_key,
        grading=build_classify_job(source, policies, approvals),
    )


def build_ingest_job(
    source: DataSource,
    checkpoint: dict[str, Any],
    encryption: ColumnEncryption | None = None,
) -> IngestJob:
    """The ingest job of one run (no credentials: only where the login lives)."""
    spec, namespace = source.spec, source.namespace
    kind = str(spec.type)
    landing = jdbc = files = None
    if kind in DEVICE_TYPES:
        ingest = spec.ingest_settings()
        landing = LandingInput(
            prefix=source_landing_path(namespace, source.name),
            from_sequence=int(checkpoint.get("batchSequence") or 0),
            follow_seconds=ingest.follow_seconds,
            batches_per_commit=ingest.batches_per_commit,
            poll_seconds=ingest.poll_interval_ms / 1000,
        )
    elif kind == SourceType.JDBC.value:
        if spec.table is None:
            raise ValueError("a jdbc source needs spec.table (admission requires it)")
        jdbc = JdbcInput(
            url=spec.endpoint,
            table=spec.table.name,
            watermark_column=spec.table.watermark_column,
            watermark=checkpoint.get("watermark"),
        )
    else:
        if spec.files is None:
            raise ValueError("a files source needs spec.files (admission requires it)")
        files = FilesInput(
            prefix=files_landing_path(namespace, spec.files.prefix), format=spec.files.format
        )
    return IngestJob(
        type=spec.type,
        source=source.name,
        namespace=namespace,
        source_uid=source.uid,
        points=list(spec.points),
        target=table_path(namespace, spec.target_table),
        quarantine=quarantine_path(namespace, spec.target_table),
        schema_policy=spec.schema_policy,
        landing=landing,
        jdbc=jdbc,
        files=files,
        credentials_path=spec.credentials.open_bao_path if spec.credentials else None,
        encryption=encryption,
    )


def build_ingest_run(
    source: DataSource, job: JobSpecBase, generation: int, sequence: int
) -> dict[str, Any]:
    """The PipelineRun of one ingest run, owned by the source."""
    return build_run_record(source, job, generation, sequence)


def checkpoint_of(history: RunHistory, previous: dict[str, Any] | None) -> dict[str, Any]:
    """How far ingestion got: the latest succeeded run's checkpoint, else the recorded one."""
    for run in reversed([r for r in history.ordered if r.succeeded]):
        checkpoint = run.result("checkpoint")
        if checkpoint:
            return dict(checkpoint)
    return dict(previous or {})


def files_landed_since_last_run(
    modified: list[dt.datetime], history: RunHistory, max_files: int
) -> bool:
    """Whether a files source has anything its last run may not have seen (pure).

    `modified` is the last-modified time of every object under the source's prefix. After a
    succeeded run only what changed since it started is new, unless it took its full
    `max_files` (more may wait); after a failed or cancelled run (or none) anything there is.
    """
    latest = history.latest
    if latest is None or not latest.succeeded or latest.started_at is None:
        return bool(modified)
    if int(latest.result("files") or 0) >= max_files:
        return True
    seen_until = latest.started_at - CLOCK_SLACK
    return any(moment >= seen_until for moment in modified)


def follow_seconds(run: RecordedRun) -> float:
    """How long a recorded ingest run follows its landing (0: it does not; decision 0290)."""
    return float((run.job.get("landing") or {}).get("followSeconds") or 0)


def plan_ingest(
    source: DataSource, history: RunHistory, landed_beyond: bool, now: dt.datetime
) -> Plan:
    """Decide the next ingest run. One live run per source at a time (one writer per table),
    a run that follows its landing included; one that follows for an older spec is cancelled.

    Device sources run when batches landed beyond the checkpoint; continuous files and jdbc
    sources every POLL_INTERVAL; scheduled ones on their cron ticks; after a failed run the
    next waits RETRY_AFTER_FAILURE. A files source runs only when `landed_beyond` (a file
    landed since its last run, files_landed_since_last_run): a tick with nothing new starts no
    job.
    """
    plan = Plan()
    if history.live:
        # A following run (decision 0290) commits what lands while it lives: no second one. A
        # follower of an older spec is stopped (it gives its lease back); the next pass starts
        # a run of the current spec.
        live = history.live[-1]
        stale = [r for r in history.older_live if follow_seconds(r)]
        if stale:
            plan.cancel = stale
            plan.waiting = f"stopping run {stale[-1].name}: it follows the landing for an old spec"
            return plan
        following = follow_seconds(live)
        plan.waiting = f"run {live.name} is {live.phase.value.lower()}" + (
            f", following the landing for {following:g} s" if following else ""
        )
        return plan
    current = history.current
    latest = history.latest
    finished = latest.finished_at if latest else None
    if latest is not None and latest.failed and finished is not None and current:
        retry_at = finished + RETRY_AFTER_FAILURE
        if now < retry_at:
            plan.next_run = retry_at
            plan.waiting = f"the last run failed; next attempt at {format_time(retry_at)}"
            return plan
    nothing_new = str(source.spec.type) == SourceType.FILES.value and not landed_beyond
    if source.spec.schedule:
        if current:
            base = current[-1].started_at or now
            plan.next_run = next_scheduled(source.spec.schedule, base)
        if plan.next_run is None or now >= plan.next_run:
            if nothing_new:
                plan.waiting = "no new file since the last run"
            else:
                plan.create = history.next_key()
        return plan
    if is_device(source):
        if landed_beyond:
            plan.create = history.next_key()
        else:
            plan.waiting = "waiting for the collector's next batch"
        return plan
    if finished is None or now >= finished + POLL_INTERVAL or not current:
        if nothing_new:
            plan.waiting = "no new file since the last run"
        else:
            plan.create = history.next_key()
    else:
        plan.next_run = finished + POLL_INTERVAL
    return plan


@dataclass(frozen=True)
class CollectorState:
    """What the reconciler saw of the source's collector."""

    needed: bool
    running: bool
    problem: Problem | None = None


def fresh_report(report: DeviceReport | None, now: dt.datetime) -> DeviceReport | None:
    """The device report if its collector wrote it recently (pure)."""
    if report is None:
        return None
    written = dt.datetime.fromisoformat(report.time)
    return report if now - written <= REPORT_STALE_AFTER else None


def device_problem(report: DeviceReport | None, now: dt.datetime) -> Problem | None:
    """What the device's own report makes of the source: it refuses reads, or has been out of
    reach for UNREACHABLE_AFTER (pure; None while it reads)."""
    report = fresh_report(report, now)
    if report is None:
        return None
    if report.refusal:
        return Problem("DeviceRefusesReads", f"the device refuses reads: {report.refusal}")
    if not report.connected and report.disconnected_since:
        since = dt.datetime.fromisoformat(report.disconnected_since)
        if now - since >= UNREACHABLE_AFTER:
            return Problem(
                "DeviceUnreachable",
                f"no connection to the device since {rfc3339(since)}: "
                f"{report.last_error or 'no answer'}",
            )
    return None


def build_device_status(report: DeviceReport | None) -> dict[str, Any] | None:
    """status.device from the collector's report: how it reads, what the device cannot give."""
    if report is None:
        return None
    return {
        "connected": report.connected,
        "reading": report.reading,
        "limits": list(report.limits),
        "gapsMarked": report.gaps_marked,
        "error": report.refusal,
    }


def build_status(
    source: DataSource,
    history: RunHistory,
    plan: Plan,
    collector: CollectorState,
    checkpoint: dict[str, Any],
    problems: list[Problem],
    now: dt.datetime,
    device: DeviceReport | None = None,
) -> dict[str, Any]:
    """DataSource.status from its problems, runs and collector (pure; the clock passed in)."""
    status: dict[str, Any] = {"observedGeneration": source.generation}
    if checkpoint:
        status["checkpoint"] = checkpoint
    good = history.last_succeeded
    if good is not None:
        for key in ("rows", "quarantinedRows", "tableVersion"):
            if good.result(key) is not None:
                status[key] = good.result(key)
    status.update(run_status_fields(history))
    if source.spec.grade is not None:
        status["grade"] = source.spec.grade
    device_status = build_device_status(device)
    if device_status is not None:
        status["device"] = device_status
    refusing = device_problem(device, now)
    serving = (
        f"; serving table version {status['tableVersion']}"
        if status.get("tableVersion") is not None
        else ""
    )
    live = bool(history.live)
    finished = history.finished
    if collector.problem is not None:
        problems = [collector.problem, *problems]
    if problems:
        outcome = problem_outcome(problems)
    elif finished and finished[-1].failed:
        outcome = Outcome(
            False,
            "IngestFailed",
            failure_message(finished[-1]) + serving,
            degraded=True,
            progressing=live,
        )
    elif collector.needed and not collector.running:
        outcome = Outcome(False, "CollectorStarting", "starting the collector", progressing=True)
    elif refusing is not None:
        # Landed batches are still ingested (no problem above stops runs); the source is not
        # Ready because its device gives nothing new.
        outcome = Outcome(False, refusing.reason, refusing.message, degraded=True, progressing=live)
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
    status["conditions"] = build_conditions(
        source.previous_conditions, outcome, source.generation, rfc3339(now)
    )
    return status
