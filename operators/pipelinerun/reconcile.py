"""One step of a PipelineRun: observe the runner, decide (pure), record, then act.

The decision is written to status *before* its side effect (submit or cancel): a crash after the
write re-runs the same action, which the runner makes idempotent by run name. How a status is
read, written and announced is operators/runs/transitions.py.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from dataclasses import replace
from typing import Any

from nidc.api.classification_result import COLUMNS_IN_TABLE
from nidc.api.job_specs import JobSpecError, starts_spark
from nidc.api.pipeline_run import Phase, PipelineRun
from nidc.api.schema import API_VERSION
from nidc.crash_points import crash_point
from nidc.kube import get, list_objects, patch_status
from nidc.telemetry.tracing import continued, current_traceparent, tracer
from operators.clients.context import OperatorContext
from operators.clients.delta_schema import table_properties
from operators.reconciling.errors import NotReadyError, is_not_found
from operators.runs import local_slots
from operators.runs.classify_result import with_columns_from_table
from operators.runs.due import JobReport, next_step_at, report_for
from operators.runs.gpu_quota import RECHECK_SECONDS, WAITING_REASON, admission, holders
from operators.runs.runner import RunRef
from operators.runs.state_machine import (
    TERMINAL,
    Action,
    Decision,
    Observation,
    RunStatus,
    decide,
)
from operators.runs.transitions import (
    announce,
    audit_transition,
    fail_invalid,
    limits,
    read_status,
    write_status,
)

LOG = logging.getLogger(__name__)
TRACER = tracer(__name__)


def complete_result(ctx: OperatorContext, run: PipelineRun, status: RunStatus) -> RunStatus:
    """A classify result whose columns stayed in the table gets them from there (one read of
    the table's log); if the table cannot say, the result stays as the job gave it."""

    def read(path: str, version: int | None) -> dict[str, str] | None:
        return table_properties(ctx.settings, path, version)

    try:
        result = with_columns_from_table(status.result, run.spec.job, read)
    except Exception as error:  # the run did succeed; its status just lacks the columns
        LOG.warning(
            "run %s/%s: columns not read from its table (%s)", run.namespace, run.name, error
        )
        return status
    return replace(status, result=result)


def step(
    body: dict[str, Any], ctx: OperatorContext, now: dt.datetime, seen: Observation | None = None
) -> RunStatus:
    """Advance one run by one transition; returns its status afterwards.

    `seen` is what a watch event already told of the run's current attempt (operators/runs/
    due.py); without it the runner is asked.
    """
    run = PipelineRun.from_body(body)
    name = run.name
    ref = RunRef(namespace=run.namespace, name=run.name, uid=run.uid, pool=run.spec.pool)
    current = read_status(run.status)
    if seen is None:
        seen = ctx.runner.observe(ref)
    decision = decide(current, seen, limits(run.spec), now)
    if decision.status.phase is Phase.SUCCEEDED and COLUMNS_IN_TABLE in decision.status.result:
        decision = replace(decision, status=complete_result(ctx, run, decision.status))
    if decision.status == current and decision.action is Action.NONE:
        return current
    log = ctx.runner.log_location(ref, decision.status.attempts)
    attributes = {
        "nidc.pipelinerun": name,
        "nidc.phase.from": current.phase.value,
        "nidc.phase.to": decision.status.phase.value,
        "nidc.attempt": decision.status.attempts,
    }
    with (
        continued(str(run.spec.job.get("traceparent") or "")),
        TRACER.start_as_current_span(
            f"run {decision.action.value if decision.action is not Action.NONE else 'transition'}",
            attributes=attributes,
        ),
        contextlib.ExitStack() as gpus,
    ):
        job_spec: dict[str, Any] = {}
        environment: dict[str, str] = {}
        need = ctx.gpu_need(run.spec.pool) if decision.action is Action.SUBMIT else 0
        if need and current.phase is Phase.PENDING:
            # Held until the Submitted status is written (not through the submit): two runs
            # checked at once cannot both take the last GPUs.
            gpus.enter_context(ctx.gpu_locks.of(run.namespace))
            wait_for_gpus(ctx, body, run, current, need, log)
        submit = decision.action is Action.SUBMIT and starts_spark(run.spec.job)
        slots = ctx.local_slots() if submit else 0
        if slots and current.phase is Phase.PENDING:
            gpus.enter_context(local_slots.SLOT_LOCK)  # the same: held until Submitted is written
            wait_for_local_slot(ctx, body, run, current, slots, log)
        waited = current.reason.startswith((WAITING_REASON, local_slots.WAITING_REASON))
        if decision.action is Action.SUBMIT and waited:
            decision = Decision(replace(decision.status, reason=""), decision.action)
        if decision.action is Action.SUBMIT:
            # Read before the attempt is recorded: credentials not there yet (a tenant made a
            # moment ago) raise NotReadyError and leave the run Pending, its attempts unspent.
            try:
                job_spec = ctx.job_spec(body)
                with TRACER.start_as_current_span("openbao read tenant S3 credentials"):
                    environment = ctx.job_environment(body)
            except JobSpecError as error:
                # No attempt can run a job its own code cannot parse: the run fails, saying why.
                failed = fail_invalid(decision.status, str(error), now)
                audit_transition(ctx, body, current, failed)
                patch_status(ctx.api, body, write_status(failed, log))
                announce(ctx, body, current, failed)
                return failed
        if decision.status != current:
            audit_transition(ctx, body, current, decision.status)
            patch_status(ctx.api, body, write_status(decision.status, log))
            gpus.close()  # the run holds its GPUs from here: the next check counts it
            announce(ctx, body, current, decision.status)
            crash_point("run:after-status-record")
        gpus.close()
        if decision.action is Action.SUBMIT:
            environment["TRACEPARENT"] = current_traceparent()
            ctx.runner.submit(ref, decision.status.attempts, job_spec, environment)
            crash_point("run:after-submit")
        elif decision.action is Action.CANCEL:
            ctx.runner.cancel(ref)
    return decision.status


def wait_for_gpus(
    ctx: OperatorContext,
    body: dict[str, Any],
    run: PipelineRun,
    current: RunStatus,
    need: int,
    log: str,
) -> None:
    """Raise NotReadyError (the run stays Pending, its attempts unspent) while the GPUs its pool
    needs do not fit in the tenant's quota beside the runs holding GPUs; the reason is written
    to the run's status once, so `kubectl get` and its parent say why it waits."""
    tenant = get(ctx.api, API_VERSION, "Tenant", run.namespace)
    quota = int(((tenant or {}).get("spec") or {}).get("quotas", {}).get("gpus", 0))
    runs = list_objects(ctx.api, API_VERSION, "PipelineRun", namespace=run.namespace)
    waiting = admission(run.name, need, quota, holders(runs, ctx.gpu_pools()))
    if waiting is None:
        return
    if current.reason != waiting:
        patch_status(ctx.api, body, write_status(replace(current, reason=waiting), log))
    raise NotReadyError(WAITING_REASON, waiting, RECHECK_SECONDS)


def wait_for_local_slot(
    ctx: OperatorContext,
    body: dict[str, Any],
    run: PipelineRun,
    current: RunStatus,
    slots: int,
    log: str,
) -> None:
    """Raise NotReadyError (Pending, attempts unspent) while the embedded platform already runs
    `slots` Spark jobs; the reason is written once so `kubectl get` says why the run waits."""
    runs = list_objects(ctx.api, API_VERSION, "PipelineRun")
    name = f"{run.namespace}/{run.name}"
    waiting = local_slots.slot_admission(
        name, local_slots.slot_holders(runs), slots, local_slots.queued_before(runs, name)
    )
    if waiting is None:
        return
    if current.reason != waiting:
        patch_status(ctx.api, body, write_status(replace(current, reason=waiting), log))
    raise NotReadyError(local_slots.WAITING_REASON, waiting, local_slots.RECHECK_SECONDS)


def sweep_step(
    namespace: str, name: str, report: JobReport | None, ctx: OperatorContext, now: dt.datetime
) -> dt.datetime | None:
    """The runs' sweep: step the run as it is now; when it is next due (None: finished)."""
    body = get(ctx.api, API_VERSION, "PipelineRun", name, namespace)
    if body is None:
        return None
    current = read_status(body.get("status"))
    if current.phase in TERMINAL:
        return None
    try:
        after = step(body, ctx, now, report_for(current, report))
    except Exception as error:
        # Deleted while it was stepped (its parent went, owner references took it): done.
        if (
            is_not_found(error)
            and get(ctx.api, API_VERSION, "PipelineRun", name, namespace) is None
        ):
            return None
        raise
    return next_step_at(
        after, limits(PipelineRun.from_body(body).spec).timeout, ctx.runner.poll, now
    )
