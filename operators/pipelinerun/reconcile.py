"""One step of a PipelineRun: observe the runner, decide (pure), record, then act.

The decision is written to status *before* its side effect (submit or cancel): a crash after the
write re-runs the same action, which the runner makes idempotent by run name.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from nidc.api.pipeline_run import Phase
from nidc.api.schema import GROUP
from nidc.crash_points import crash_point
from nidc.kube import annotate, patch_status
from nidc.telemetry.tracing import continued, current_traceparent, tracer
from operators.context import OperatorContext
from operators.events import post_event
from operators.metrics import record_run_transition
from operators.runs.runner import RunRef
from operators.runs.state_machine import TERMINAL, Action, Limits, RunStatus, cancel, decide

TRACER = tracer(__name__)
LOGGER = logging.getLogger(__name__)

FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# What a job's result may record on its run (spark_jobs/*: the returned dict).
RESULT_KEYS = ("tableVersion", "rows", "quarantinedRows", "checkpoint", "files", "checksum")
# Not under nidc.io/: kopf leaves its own storage prefix out of the diff, and this change must
# count as one so that the parent's update handler runs.
RUN_TRANSITION_ANNOTATION = f"runs.{GROUP}/last-transition"


def _time(value: str | None) -> dt.datetime | None:
    return dt.datetime.strptime(value, FORMAT).replace(tzinfo=dt.UTC) if value else None


def _text(value: dt.datetime | None) -> str | None:
    return value.strftime(FORMAT) if value else None


def read_status(status: dict[str, Any] | None) -> RunStatus:
    """PipelineRun.status as the machine's RunStatus (pure)."""
    status = status or {}
    result = {k: status[k] for k in RESULT_KEYS if status.get(k) is not None}
    return RunStatus(
        phase=Phase(status.get("phase", Phase.PENDING.value)),
        attempts=int(status.get("attempts", 0)),
        submitted_at=_time(status.get("submittedAt")),
        started_at=_time(status.get("startedAt")),
        finished_at=_time(status.get("finishedAt")),
        next_attempt_at=_time(status.get("nextAttemptAt")),
        reason=status.get("reason") or "",
        result=result,
    )


def write_status(run: RunStatus, log_location: str | None = None) -> dict[str, Any]:
    """RunStatus back into PipelineRun.status fields (pure)."""
    status: dict[str, Any] = {
        "phase": run.phase.value,
        "attempts": run.attempts,
        "submittedAt": _text(run.submitted_at),
        "startedAt": _text(run.started_at),
        "finishedAt": _text(run.finished_at),
        "nextAttemptAt": _text(run.next_attempt_at),
        "reason": run.reason or None,
        **{key: run.result.get(key) for key in RESULT_KEYS},
    }
    if log_location:
        status["logLocation"] = log_location
    return status


def limits(spec: dict[str, Any]) -> Limits:
    return Limits(
        max_attempts=int(spec.get("maxAttempts", 3)),
        timeout=dt.timedelta(seconds=int(spec.get("timeoutSeconds", 3600))),
    )


def step(body: dict[str, Any], ctx: OperatorContext, now: dt.datetime) -> Phase:
    """Advance one run by one transition; returns the phase it is in afterwards."""
    name = body["metadata"]["name"]
    ref = RunRef.of(body)
    current = read_status(body.get("status"))
    seen = ctx.runner.observe(ref)
    decision = decide(current, seen, limits(body["spec"]), now)
    if decision.status == current and decision.action is Action.NONE:
        return current.phase
    log = ctx.runner.log_location(ref, decision.status.attempts)
    attributes = {
        "nidc.pipelinerun": name,
        "nidc.phase.from": current.phase.value,
        "nidc.phase.to": decision.status.phase.value,
        "nidc.attempt": decision.status.attempts,
    }
    with (
        continued(body["spec"]["job"].get("traceparent", "")),
        TRACER.start_as_current_span(
            f"run {decision.action.value if decision.action is not Action.NONE else 'transition'}",
            attributes=attributes,
        ),
    ):
        if decision.status != current:
            patch_status(ctx.api, body, write_status(decision.status, log))
            announce(ctx, body, current, decision.status)
            crash_point("run:after-status-record")
        if decision.action is Action.SUBMIT:
            with TRACER.start_as_current_span("openbao read tenant S3 credentials"):
                environment = ctx.job_environment(body)
            environment["TRACEPARENT"] = current_traceparent()
            ctx.runner.submit(ref, decision.status.attempts, ctx.job_spec(body), environment)
            crash_point("run:after-submit")
        elif decision.action is Action.CANCEL:
            ctx.runner.cancel(ref)
    return decision.status.phase


def describe_transition(before: RunStatus, after: RunStatus) -> tuple[str, str, bool] | None:
    """Event reason, message and warning flag for a recorded step, or None if the phase and
    attempt did not move (pure). Messages hold phases, attempts and reasons: never secrets."""
    if before.phase == after.phase and before.attempts == after.attempts:
        return None
    if after.phase is Phase.PENDING and after.next_attempt_at:
        when = _text(after.next_attempt_at)
        return "Retrying", f"attempt {after.attempts} failed: {after.reason}; next at {when}", True
    if after.phase is Phase.SUBMITTED:
        return "Submitted", f"attempt {after.attempts} submitted", False
    if after.phase is Phase.RUNNING:
        return "Running", f"attempt {after.attempts} running", False
    if after.phase is Phase.SUCCEEDED:
        version, rows = after.result.get("tableVersion"), after.result.get("rows")
        return (
            "Succeeded",
            f"attempt {after.attempts} succeeded: table version {version}, {rows} rows",
            False,
        )
    if after.phase is Phase.FAILED:
        return "Failed", f"failed after {after.attempts} attempt(s): {after.reason}", True
    if after.phase is Phase.CANCELLED:
        return "Cancelled", f"cancelled: {after.reason}", True
    return after.phase.value, f"attempt {after.attempts}: {after.phase.value.lower()}", False


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
    nudge_parent(ctx, body, reason)
    duration = None
    if after.phase in TERMINAL and after.started_at and after.finished_at:
        duration = (after.finished_at - after.started_at).total_seconds()
    rows = after.result.get("rows") if after.phase is Phase.SUCCEEDED else None
    record_run_transition(body["spec"].get("jobType", "unknown"), reason, duration, rows)


def nudge_parent(ctx: OperatorContext, body: dict[str, Any], reason: str) -> None:
    """Mark the parent with the run's latest transition, so kopf reconciles it now rather than
    at its next timer tick (the parent's status follows its runs)."""
    parent = body["spec"]["parent"]
    annotate(
        ctx.api,
        body["apiVersion"],
        parent["kind"],
        parent["name"],
        body["metadata"]["namespace"],
        {RUN_TRANSITION_ANNOTATION: f"{body['metadata']['name']}={reason}"},
    )


def cancel_run(body: dict[str, Any], ctx: OperatorContext, reason: str, now: dt.datetime) -> None:
    """Cancel a live run (recorded first, then the job is stopped)."""
    decision = cancel(read_status(body.get("status")), now, reason)
    if decision.action is Action.CANCEL:
        patch_status(ctx.api, body, write_status(decision.status))
        announce(ctx, body, read_status(body.get("status")), decision.status)
        ctx.runner.cancel(RunRef.of(body))
