"""kopf registration for PipelineRuns: no timer per run, one sweep for all of them.

Run watch events feed the runs' sweep index (a new run is due at once; a live one at its
backoff, submit grace or timeout, and every runner poll in between); the driver Jobs' and pods'
watch events wake the run they belong to with what they saw, so a run on a cluster finishes
when its driver pod does, without a LIST. Finished runs are forgotten. The work is in
reconcile.py; the sweep in operators/sweep.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import kopf

from nidc.api.pipeline_run import PipelineRun
from nidc.api.schema import API_VERSION, GROUP, VERSION
from nidc.kube import get
from operators.clients.context import OperatorContext
from operators.pipelinerun import reconcile
from operators.reconciling.errors import NotReadyError
from operators.reconciling.events import post_event
from operators.runs.due import JobReport, next_step_at
from operators.runs.kubernetes_build import COMPONENT_LABEL, DRIVER_COMPONENT, RUN_LABEL
from operators.runs.kubernetes_runner import report_from_job, report_from_pod
from operators.runs.transitions import limits, read_status
from operators.sweep.index import Key
from operators.sweep.loop import Sweep

KIND = "PipelineRun"
PLURAL = "pipelineruns"


def make_sweep(context: OperatorContext) -> Sweep:
    """The runs' sweep (started by operators/main.py)."""

    def step(key: Key, report: JobReport | None) -> float | None:
        namespace, name = key
        due = reconcile.sweep_step(namespace, name, report, context, dt.datetime.now(dt.UTC))
        return due.timestamp() if due else None

    def report(key: Key, state: NotReadyError) -> None:
        namespace, name = key
        run = get(context.api, API_VERSION, KIND, name, namespace)
        if run is not None:
            post_event(context.api, run, state.reason, f"{state}; retrying", warning=True)

    return Sweep(KIND, step, report=report)


def _sweep(memo: kopf.Memo) -> Sweep:
    sweep: Sweep = memo.context.sweeps.by_kind[KIND]
    return sweep


@kopf.on.event(GROUP, VERSION, PLURAL)
async def index_run(
    event: kopf.RawEvent,
    body: kopf.Body,
    name: str,
    namespace: str | None,
    memo: kopf.Memo,
    **_: Any,
) -> None:
    """Keep the run's due time; an operator that starts (or resumes from standby) sees every
    live run once at once, so a restart never leaves one waiting."""
    sweep, key = _sweep(memo), (namespace or "", name)
    if event.get("type") == "DELETED":
        sweep.index.forget(key)
        return
    now = dt.datetime.now(dt.UTC)
    try:
        status = read_status(body.get("status"))
        timeout = limits(PipelineRun.from_body(dict(body)).spec).timeout
    except ValueError:  # pydantic's ValidationError too: the step fails the run saying why
        sweep.wake(key)
        return
    due = next_step_at(status, timeout, memo.context.runner.poll, now)
    if due is None:
        sweep.index.forget(key)
    elif event.get("type") is None:  # the initial listing
        sweep.wake(key)
    else:
        sweep.wake(key, at=due.timestamp())


@kopf.on.event(
    "", "v1", "pods", labels={COMPONENT_LABEL: DRIVER_COMPONENT, RUN_LABEL: kopf.PRESENT}
)
async def driver_pod_changed(
    body: kopf.Body, namespace: str | None, memo: kopf.Memo, **_: Any
) -> None:
    """A driver pod that ended finishes its run's attempt now."""
    report = report_from_pod(dict(body))
    sweep, key = _sweep(memo), (namespace or "", body["metadata"]["labels"][RUN_LABEL])
    if report is not None and sweep.index.knows(key):
        sweep.wake(key, report)


@kopf.on.event("batch", "v1", "jobs", labels={RUN_LABEL: kopf.PRESENT})
async def driver_job_changed(
    event: kopf.RawEvent, body: kopf.Body, namespace: str | None, memo: kopf.Memo, **_: Any
) -> None:
    """A driver Job that failed, or went away, tells its run; a Complete one makes the run look
    (its pod's event normally came first)."""
    sweep, key = _sweep(memo), (namespace or "", body["metadata"]["labels"][RUN_LABEL])
    if not sweep.index.knows(key):
        return
    report = report_from_job(dict(body), deleted=event.get("type") == "DELETED")
    conditions = (body.get("status") or {}).get("conditions") or []
    complete = any(c.get("type") == "Complete" and c.get("status") == "True" for c in conditions)
    if report is not None or complete:
        sweep.wake(key, report)
