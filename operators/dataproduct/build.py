"""Pure decisions for a DataProduct: which runs to create, cancel or prune, and its status."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from croniter import croniter

from nidc.api.pipeline_run import Phase
from operators.conditions import Outcome, build_conditions
from operators.runs.record import (
    GENERATION,
    PARENT_UID,
    SEQUENCE,
    TERMINAL,
    build_run_record,
    run_key,
    run_phase,
    run_summary,
    runs_to_prune,
)
from operators.tenant.build import TenantNames

__all__ = ["GENERATION", "PARENT_UID", "SEQUENCE", "TERMINAL", "build_run", "run_summary"]


def table_path(namespace: str, table: str) -> str:
    """bronze.cnc_spindles in tenant steel-plant -> s3a://tenant-steel-plant/bronze/cnc_spindles."""
    layer, name = table.split(".", 1)
    return f"s3a://{TenantNames(namespace).bucket}/{layer}/{name}"


def view_name(table: str) -> str:
    return table.split(".", 1)[1]


def txn_version(generation: int, sequence: int) -> int:
    """Strictly increasing over (generation, sequence): Delta's idempotency key per run."""
    return generation * 1_000_000 + sequence


def build_job(
    product: dict[str, Any], input_tables: list[str], generation: int, sequence: int
) -> dict[str, Any]:
    """The logical transform job of one run (no credentials, no runtime details)."""
    namespace = product["metadata"]["namespace"]
    spec = product["spec"]
    return {
        "job": "transform",
        "tenant": namespace,
        "inputs": [{"view": view_name(t), "path": table_path(namespace, t)} for t in input_tables],
        "sql": spec["transform"].get("sql", ""),
        "target": table_path(namespace, spec["targetTable"]),
        "txnAppId": product["metadata"]["uid"],
        "txnVersion": txn_version(generation, sequence),
    }


def build_run(
    product: dict[str, Any], job: dict[str, Any], generation: int, sequence: int
) -> dict[str, Any]:
    """The PipelineRun recording one run, owned by the product."""
    spec = product["spec"]
    return build_run_record(
        product,
        "transform",
        job,
        generation,
        sequence,
        pool=spec.get("pool", "cpu"),
        max_attempts=spec.get("maxAttempts", 3),
    )


_key = run_key
_phase = run_phase


def next_scheduled(schedule: str, after: dt.datetime) -> dt.datetime:
    """The first cron tick strictly after `after` (a run started on a tick is not due again)."""
    ticks = croniter(schedule, after)
    nxt: dt.datetime = ticks.get_next(dt.datetime)
    while nxt <= after:
        nxt = ticks.get_next(dt.datetime)
    return nxt


@dataclass
class Plan:
    """What the reconciler must do this time round."""

    create: tuple[int, int] | None = None
    cancel: list[dict[str, Any]] = field(default_factory=list)
    prune: list[str] = field(default_factory=list)
    waiting: str = ""
    next_run: dt.datetime | None = None


def plan_runs(product: dict[str, Any], runs: list[dict[str, Any]], now: dt.datetime) -> Plan:
    """Decide new, cancelled and pruned runs from the product and its recorded runs."""
    spec = product["spec"]
    generation = int(product["metadata"].get("generation", 1))
    ordered = sorted(runs, key=_key)
    current = [r for r in ordered if _key(r)[0] == generation]
    older_live = [r for r in ordered if _key(r)[0] < generation and _phase(r) not in TERMINAL]
    result = Plan()
    if not current:
        if older_live and spec.get("concurrencyPolicy", "Forbid") == "Forbid":
            result.waiting = f"waiting for run {older_live[-1]['metadata']['name']} to finish"
        else:
            result.cancel = older_live
            result.create = (generation, 0)
    elif spec.get("schedule"):
        latest = current[-1]
        started = (latest.get("status") or {}).get("startedAt") or latest["metadata"].get(
            "creationTimestamp"
        )
        base = (
            dt.datetime.strptime(started, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
            if started
            else now
        )
        result.next_run = next_scheduled(spec["schedule"], base)
        if _phase(latest) in TERMINAL and now >= result.next_run:
            result.create = (generation, _key(latest)[1] + 1)
    result.prune = runs_to_prune(ordered, int(spec.get("historyLimit", 5)))
    return result


def build_status(
    product: dict[str, Any],
    runs: list[dict[str, Any]],
    plan: Plan,
    problem: str,
    waiting_for_input: str,
) -> dict[str, Any]:
    """DataProduct.status from its runs: last good table, last run, conditions (pure)."""
    generation = int(product["metadata"].get("generation", 1))
    ordered = sorted(runs, key=_key)
    current = [r for r in ordered if _key(r)[0] == generation]
    finished_current = [r for r in current if _phase(r) in TERMINAL]
    live = [r for r in ordered if _phase(r) not in TERMINAL]
    succeeded = [r for r in ordered if _phase(r) == Phase.SUCCEEDED.value]
    status: dict[str, Any] = {"observedGeneration": generation}
    if succeeded:
        good = succeeded[-1].get("status") or {}
        status["tableVersion"] = good.get("tableVersion")
        status["rows"] = good.get("rows")
    if ordered:
        status["lastRun"] = run_summary(ordered[-1])
    if plan.next_run:
        status["nextRun"] = plan.next_run.strftime("%Y-%m-%dT%H:%M:%SZ")
    spec = product["spec"]
    if spec.get("grade") is not None:
        status["grade"] = spec["grade"]
    status["lineage"] = [f"{i['kind']}/{i['name']}" for i in spec.get("inputs", [])]

    last_good = f"; serving table version {status['tableVersion']}" if succeeded else ""
    if problem:
        outcome = Outcome(False, "InputNotFound", problem, degraded=True)
    elif waiting_for_input:
        outcome = Outcome(False, "WaitingForInput", waiting_for_input, progressing=True)
    elif finished_current and _phase(finished_current[-1]) == Phase.FAILED.value:
        reason = (finished_current[-1].get("status") or {}).get("reason") or "run failed"
        outcome = Outcome(
            False,
            "RunFailed",
            f"run {finished_current[-1]['metadata']['name']} failed: {reason}{last_good}",
            degraded=True,
            progressing=bool(live),
        )
    elif finished_current and _phase(finished_current[-1]) == Phase.SUCCEEDED.value:
        outcome = Outcome(
            True,
            "Succeeded",
            f"table version {status.get('tableVersion')} with {status.get('rows')} rows",
            progressing=bool(live),
        )
    else:
        message = plan.waiting or (
            f"run {live[-1]['metadata']['name']} is {_phase(live[-1]).lower()}"
            if live
            else "starting a run"
        )
        outcome = Outcome(False, "Running", message + last_good, progressing=True)
    previous = (product.get("status") or {}).get("conditions") or []
    status["conditions"] = build_conditions(previous, outcome, generation)
    return status
