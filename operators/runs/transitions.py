"""A run's recorded transitions: PipelineRun.status <-> the state machine's RunStatus, the event
and metrics of each transition, the nudge to the run's parent, and cancelling a run.

Shared by the PipelineRun reconciler (which drives runs) and the run owners (which cancel the
runs a newer spec supersedes), so that neither imports the other.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import replace
from typing import Any

from nidc.api.pipeline_run import Phase, PipelineRunSpec
from nidc.kube import patch_status
from operators.clients.context import OperatorContext
from operators.reconciling.audit import AuditEvent, record, resource_of
from operators.reconciling.events import post_event
from operators.reconciling.metrics import record_run_transition
from operators.runs.record import RecordedRun, format_time, parse_time
from operators.runs.runner import RunRef
from operators.runs.state_machine import TERMINAL, Action, Limits, RunStatus, cancel

LOGGER = logging.getLogger(__name__)

# What a job's result may record on its run (spark_jobs/*: the returned dict).
RESULT_KEYS = (
    "tableVersion",
    "columnsDigest",
    "rows",
    "quarantinedRows",
    "checkpoint",
    "files",
    "checksum",
    "computeNote",
    "quality",
    # classify (spark_jobs/classify/job.py: ClassifyResult.as_dict)
    "grade",
    "level",
    "policyFingerprint",
    "columns",
    "rejectedOverrides",
    # maintenance (spark_jobs/ingest/native/maintenance.py)
    "maintenance",
)


def read_status(status: dict[str, Any] | None) -> RunStatus:
    """PipelineRun.status as the machine's RunStatus (pure)."""
    status = status or {}
    result = {k: status[k] for k in RESULT_KEYS if status.get(k) is not None}
    return RunStatus(
        phase=Phase(status.get("phase", Phase.PENDING.value)),
        attempts=int(status.get("attempts", 0)),
        submitted_at=parse_time(status.get("submittedAt")),
        started_at=parse_time(status.get("startedAt")),
        finished_at=parse_time(status.get("finishedAt")),
        next_attempt_at=parse_time(status.get("nextAttemptAt")),
        reason=status.get("reason") or "",
        result=result,
    )


def write_status(run: RunStatus, log_location: str | None = None) -> dict[str, Any]:
    """RunStatus back into PipelineRun.status fields (pure)."""
    status: dict[str, Any] = {
        "phase": run.phase.value,
        "attempts": run.attempts,
        "submittedAt": format_time(run.submitted_at),
        "startedAt": format_time(run.started_at),
        "finishedAt": format_time(run.finished_at),
        "nextAttemptAt": format_time(run.next_attempt_at),
        "reason": run.reason or None,
        **{key: run.result.get(key) for key in RESULT_KEYS},
    }
    # `columns` is the classify job's list of classified columns (objects); another job that
    # returns its column names (governed-copy) would have the whole status patch refused.
    columns = status.get("columns")
    if columns and not all(isinstance(c, dict) for c in columns):
        status["columns"] = None
    if log_location:
        status["logLocation"] = log_location
    return status


def limits(spec: PipelineRunSpec) -> Limits:
    """The run's limits from its spec (pure)."""
    return Limits(
        max_attempts=spec.max_attempts, timeout=dt.timedelta(seconds=spec.timeout_seconds)
    )


def fail_invalid(status: RunStatus, reason: str, now: dt.datetime) -> RunStatus:
    """A run whose recorded job does not parse: Failed at once, whatever attempts are left
    (pure; another attempt would parse the same spec)."""
    return replace(status, phase=Phase.FAILED, finished_at=now, reason=reason[:500])


def describe_transition(before: RunStatus, after: RunStatus) -> tuple[str, str, bool] | None:
    """Event reason, message and warning flag for a recorded step, or None if the phase and
    attempt did not move (pure). Messages hold phases, attempts and reasons: never secrets."""
    if before.phase == after.phase and before.attempts == after.attempts:
        return None
    if after.phase is Phase.PENDING and after.next_attempt_at:
        when = format_time(after.next_attempt_at)
        return "Retrying", f"attempt {after.attempts} failed: {after.reason}; next at {when}", True
    if after.phase is Phase.SUBMITTED:
        return "Submitted", f"attempt {after.attempts} submitted", False
    if after.phase is Phase.RUNNING:
        return "Running", f"attempt {after.attempts} running", False
    if after.phase is Phase.SUCCEEDED and after.result.get("grade") is not None:
        grade, columns = after.result["grade"], len(after.result.get("columns") or [])
        return (
            "Succeeded",
            f"attempt {after.attempts} succeeded: {columns} columns classified, grade {grade}",
            False,
        )
    if after.phase is Phase.SUCCEEDED and after.result.get("maintenance") is not None:
        done = after.result["maintenance"]
        return (
            "Succeeded",
            f"attempt {after.attempts} succeeded: {done.get('filesCompacted', 0)} files compacted "
            f"into {done.get('filesAdded', 0)}, {done.get('filesVacuumed', 0)} vacuumed",
            False,
        )
    if after.phase is Phase.SUCCEEDED:
        version, rows = after.result.get("tableVersion"), after.result.get("rows")
        quality = after.result.get("quality")
        # A quality run reads the table; its news is the score, not a row count.
        detail = f"quality score {quality.get('score')}" if quality else f"{rows} rows"
        return (
            "Succeeded",
            f"attempt {after.attempts} succeeded: table version {version}, {detail}",
            False,
        )
    if after.phase is Phase.FAILED:
        return "Failed", f"failed after {after.attempts} attempt(s): {after.reason}", True
    if after.phase is Phase.CANCELLED:
        return "Cancelled", f"cancelled: {after.reason}", True
    return after.phase.value, f"attempt {after.attempts}: {after.phase.value.lower()}", False


def run_audit_event(body: dict[str, Any], before: RunStatus, after: RunStatus) -> AuditEvent | None:
    """The audit record of a run starting (an attempt submitted) or finishing, else None (pure).

    Its id is the run's uid with the attempt or "finished": the same transition recorded again
    after a crash adopts the first record."""
    uid = body["metadata"]["uid"]
    parent = body["spec"].get("parent") or {}
    details: dict[str, Any] = {
        "jobType": body["spec"].get("jobType", "unknown"),
        "attempt": after.attempts,
        "parent": f"{parent.get('kind', '')}/{parent.get('name', '')}",
    }
    if after.phase is Phase.SUBMITTED and (
        before.phase is not Phase.SUBMITTED or before.attempts != after.attempts
    ):
        return AuditEvent(
            record_id=f"PipelineRun/{uid}/attempt-{after.attempts}/started",
            action="run.started",
            resource=resource_of(body),
            decision="submitted",
            reason=f"attempt {after.attempts} submitted",
            details=details,
        )
    if after.phase in TERMINAL and before.phase not in TERMINAL:
        for key in ("tableVersion", "rows", "grade"):
            if after.result.get(key) is not None:
                details[key] = after.result[key]
        return AuditEvent(
            record_id=f"PipelineRun/{uid}/finished",
            action="run.finished",
            resource=resource_of(body),
            decision=after.phase.value.lower(),
            reason=after.reason or f"{after.phase.value.lower()} after {after.attempts} attempt(s)",
            details=details,
        )
    return None


def audit_transition(
    ctx: OperatorContext, body: dict[str, Any], before: RunStatus, after: RunStatus
) -> None:
    """Record a start or finish in the audit log before the status that makes it durable
    (NotReadyError, nothing recorded, when the log cannot be written)."""
    event = run_audit_event(body, before, after)
    if event is not None:
        record(ctx, event)


def announce(
    ctx: OperatorContext, body: dict[str, Any], before: RunStatus, after: RunStatus
) -> None:
    """An event and the run metrics for a recorded transition."""
    described = describe_transition(before, after)
    if described is None:
        return
    reason, message, warning = described
    # Inside the run's span: this JSON log line carries the run's trace id.
    LOGGER.info("run %s: %s: %s", body["metadata"]["name"], reason, message)
    post_event(ctx.api, body, reason, message, warning)
    nudge_parent(ctx, body, after)
    duration = None
    if after.phase in TERMINAL and after.started_at and after.finished_at:
        duration = (after.finished_at - after.started_at).total_seconds()
    rows = after.result.get("rows") if after.phase is Phase.SUCCEEDED else None
    record_run_transition(body["spec"].get("jobType", "unknown"), reason, duration, rows)


def nudge_parent(ctx: OperatorContext, body: dict[str, Any], after: RunStatus) -> None:
    """A finished run makes its parent due in its kind's sweep now (in memory, no API write):
    the parent's status follows its runs. A restart loses nothing: resume reconciles every
    parent once."""
    if after.phase not in TERMINAL:
        return  # Submitted and Running change nothing the parent decides
    parent = body["spec"]["parent"]
    ctx.sweeps.wake(parent["kind"], body["metadata"]["namespace"], parent["name"])


def cancel_run(run: RecordedRun, ctx: OperatorContext, reason: str, now: dt.datetime) -> None:
    """Cancel a live run (recorded first, then the job is stopped)."""
    body = run.body
    decision = cancel(read_status(body.get("status")), now, reason)
    if decision.action is Action.CANCEL:
        audit_transition(ctx, body, read_status(body.get("status")), decision.status)
        patch_status(ctx.api, body, write_status(decision.status))
        announce(ctx, body, read_status(body.get("status")), decision.status)
        ctx.runner.cancel(RunRef.of(body))
