"""One step of a PipelineRun: observe the runner, decide (pure), record, then act.

The decision is written to status *before* its side effect (submit or cancel): a crash after the
write re-runs the same action, which the runner makes idempotent by run name. How a status is
read, written and announced is operators/runs/transitions.py.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from nidc.api.job_specs import JobSpecError
from nidc.api.pipeline_run import Phase, PipelineRun
from nidc.crash_points import crash_point
from nidc.kube import patch_status
from nidc.telemetry.tracing import continued, current_traceparent, tracer
from operators.clients.context import OperatorContext
from operators.runs.runner import RunRef
from operators.runs.state_machine import Action, decide
from operators.runs.transitions import announce, fail_invalid, limits, read_status, write_status

TRACER = tracer(__name__)


def step(body: dict[str, Any], ctx: OperatorContext, now: dt.datetime) -> Phase:
    """Advance one run by one transition; returns the phase it is in afterwards."""
    run = PipelineRun.from_body(body)
    name = run.name
    ref = RunRef(namespace=run.namespace, name=run.name, uid=run.uid, pool=run.spec.pool)
    current = read_status(run.status)
    seen = ctx.runner.observe(ref)
    decision = decide(current, seen, limits(run.spec), now)
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
        continued(str(run.spec.job.get("traceparent") or "")),
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
            try:
                job_spec = ctx.job_spec(body)
                with TRACER.start_as_current_span("openbao read tenant S3 credentials"):
                    environment = ctx.job_environment(body)
            except JobSpecError as error:
                # No attempt can run a job its own code cannot parse: the run fails, saying why.
                failed = fail_invalid(decision.status, str(error), now)
                patch_status(ctx.api, body, write_status(failed, log))
                announce(ctx, body, decision.status, failed)
                return failed.phase
            environment["TRACEPARENT"] = current_traceparent()
            ctx.runner.submit(ref, decision.status.attempts, job_spec, environment)
            crash_point("run:after-submit")
        elif decision.action is Action.CANCEL:
            ctx.runner.cancel(ref)
    return decision.status.phase
