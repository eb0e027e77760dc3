"""What a run owner (DataSource, DataProduct, DataReplication) does with its runs: read them,
and carry out a plan (cancel, record, prune). The only I/O of runs on the parent's side.

A run is recorded (PipelineRun, named from uid, generation and sequence) before anything runs;
the PipelineRun reconciler submits it. Recording is create-or-adopt: a record that exists
already is adopted as it is (its spec is immutable, the server answers 422 to a different one).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from nidc.api.job_specs import JobSpecBase
from nidc.api.resource import CustomResource
from nidc.api.schema import API_VERSION
from nidc.crash_points import crash_point
from nidc.kube import ApiException, apply, delete, list_objects
from nidc.telemetry.tracing import current_traceparent, tracer
from operators.clients.context import OperatorContext
from operators.reconciling.apply import FIELD_MANAGER, with_owner
from operators.runs.plan import Plan, RunHistory
from operators.runs.record import PARENT_UID, RecordedRun
from operators.runs.transitions import cancel_run

TRACER = tracer(__name__)


def observe_runs(ctx: OperatorContext, parent: CustomResource) -> RunHistory:
    """The parent's recorded runs (one list by its uid label)."""
    bodies = list_objects(
        ctx.api,
        API_VERSION,
        "PipelineRun",
        namespace=parent.namespace,
        label_selector=f"{PARENT_UID}={parent.uid}",
    )
    return RunHistory.of(bodies, parent.generation)


def record_run(
    ctx: OperatorContext, parent: CustomResource, record: dict[str, Any], crash_prefix: str
) -> RecordedRun | None:
    """Create or adopt a run's PipelineRun, owned by its parent, before anything runs.

    Returns the live record, or None when it existed already. `crash_prefix` names the
    reconciler's crash points (`<prefix>:before-run-record`, `<prefix>:after-run-record`).
    """
    owned = with_owner(record, parent)
    crash_point(f"{crash_prefix}:before-run-record")
    try:
        live: dict[str, Any] | None = apply(ctx.api, owned, field_manager=FIELD_MANAGER)
    except ApiException as error:
        if error.status != 422:
            raise
        live = None
    crash_point(f"{crash_prefix}:after-run-record")
    return RecordedRun.of(live) if live is not None else None


def record_in_trace(
    ctx: OperatorContext,
    parent: CustomResource,
    job: JobSpecBase,
    build_record: Callable[[JobSpecBase], dict[str, Any]],
    generation: int,
    sequence: int,
) -> RecordedRun | None:
    """record_run inside the span that starts the run's trace (`reconcile <Kind>`).

    The job carries the span's traceparent, so the run's steps and the job's own spans join the
    trace of the reconcile that recorded it.
    """
    with TRACER.start_as_current_span(
        f"reconcile {parent.kind}",
        attributes={
            "nidc.namespace": parent.namespace,
            f"nidc.{parent.kind.lower()}": parent.name,
            "nidc.generation": generation,
            "nidc.sequence": sequence,
        },
    ):
        traced = job.model_copy(update={"traceparent": current_traceparent()})
        return record_run(ctx, parent, build_record(traced), parent.kind.lower())


def carry_out(
    ctx: OperatorContext,
    parent: CustomResource,
    plan: Plan,
    history: RunHistory,
    build_job: Callable[[], JobSpecBase],
    build_record: Callable[[JobSpecBase, int, int], dict[str, Any]],
    cancel_reason: str,
    now: dt.datetime,
) -> RunHistory:
    """Cancel, record and prune as planned; returns the history with the new run in it.

    No more mutating operations after this point except status (STYLE 3).
    """
    for run in plan.cancel:
        cancel_run(run, ctx, cancel_reason, now)
    if plan.create is not None:
        generation, sequence = plan.create
        live = record_in_trace(
            ctx,
            parent,
            build_job(),
            lambda job: build_record(job, generation, sequence),
            generation,
            sequence,
        )
        if live is not None:
            history = history.with_run(live)
    for name in plan.prune:
        delete(ctx.api, API_VERSION, "PipelineRun", name, parent.namespace)
    return history
