"""Pure decisions for a DataReplication: where the copy goes, which copy runs to create, status."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from nidc.api.pipeline_run import Phase
from nidc.governance.replication import Decision, Peer
from operators.conditions import Outcome, build_conditions
from operators.dataproduct.build import next_scheduled, table_path
from operators.runs.record import (
    TERMINAL,
    build_run_record,
    run_key,
    run_phase,
    run_summary,
    runs_to_prune,
)

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# A failed copy is tried again after this long even if the table did not change.
RETRY_AFTER_FAILURE = dt.timedelta(minutes=5)
HISTORY_LIMIT = 5


@dataclass(frozen=True)
class Target:
    """The replicated table and where its copy goes, once resolved."""

    table: str  # layer.name
    source_version: int | None
    grade: int | None
    peer: Peer
    center: str  # this center, the copy's origin

    def destination_path(self, namespace: str) -> str | None:
        """s3a://<peer bucket for the grade>/<origin center>/<tenant>/<layer>/<name>."""
        bucket = self.peer.bucket_for(self.grade) if self.grade is not None else None
        if bucket is None:
            return None
        layer, name = self.table.split(".", 1)
        return f"s3a://{bucket}/{self.center}/{namespace}/{layer}/{name}"


def build_replicate_job(replication: dict[str, Any], target: Target) -> dict[str, Any]:
    """The logical replicate job (no credentials: only the OpenBao path of the peer's login)."""
    namespace = replication["metadata"]["namespace"]
    if target.source_version is None:
        raise ValueError("a copy needs the table's version (plan_copies creates none before)")
    return {
        "job": "replicate",
        "tenant": namespace,
        "source": {"path": table_path(namespace, target.table), "table": target.table},
        "destination": {
            "center": target.peer.center,
            "region": target.peer.region,
            "endpoint": target.peer.endpoint,
            "path": target.destination_path(namespace),
            **({"caFile": target.peer.ca_file} if target.peer.ca_file else {}),
        },
        "destinationCredentialsPath": target.peer.credentials_path,
        "untilVersion": target.source_version,
        "grade": target.grade,
    }


def build_copy_run(
    replication: dict[str, Any], job: dict[str, Any], generation: int, sequence: int
) -> dict[str, Any]:
    """The PipelineRun recording one copy, owned by the replication."""
    return build_run_record(replication, "replicate", job, generation, sequence, max_attempts=3)


def until_version(run: dict[str, Any]) -> int:
    """The source version a recorded copy run goes up to."""
    return int(run["spec"]["job"].get("untilVersion", -1))


def replicated_version(runs: list[dict[str, Any]], generation: int) -> int | None:
    """The newest source version a succeeded copy of this generation holds."""
    versions = [
        int(version)
        for r in runs
        if run_key(r)[0] == generation
        and run_phase(r) == Phase.SUCCEEDED.value
        and (version := (r.get("status") or {}).get("tableVersion")) is not None
    ]
    return max(versions) if versions else None


@dataclass
class Plan:
    """What the reconciler does this time round."""

    create: tuple[int, int] | None = None
    cancel: list[dict[str, Any]] = field(default_factory=list)
    prune: list[str] = field(default_factory=list)
    waiting: str = ""
    next_run: dt.datetime | None = None


def _started(run: dict[str, Any], now: dt.datetime) -> dt.datetime:
    text = (run.get("status") or {}).get("startedAt") or run["metadata"].get("creationTimestamp")
    return dt.datetime.strptime(text, TIME_FORMAT).replace(tzinfo=dt.UTC) if text else now


def plan_copies(
    replication: dict[str, Any],
    runs: list[dict[str, Any]],
    source_version: int | None,
    allowed: bool,
    schedule: str | None,
    now: dt.datetime,
) -> Plan:
    """One copy at a time; a new one when the table has a version the copy lacks (at the next
    cron tick when scheduled); refused copies cancel the live one."""
    generation = int(replication["metadata"].get("generation", 1))
    ordered = sorted(runs, key=run_key)
    live = [r for r in ordered if run_phase(r) not in TERMINAL]
    current = [r for r in ordered if run_key(r)[0] == generation]
    plan = Plan()
    plan.prune = runs_to_prune(ordered, HISTORY_LIMIT)
    if not allowed:
        plan.cancel = live
        return plan
    stale = [r for r in live if run_key(r)[0] < generation]
    if stale:
        # A new spec (destination, approval) supersedes copies made for the old one.
        plan.cancel = stale
        return plan
    if replication["spec"].get("suspend") or live:
        return plan
    if source_version is None:
        plan.waiting = "waiting for the table's first version"
        return plan
    if not current:
        plan.create = (generation, 0)
        return plan
    latest = current[-1]
    sequence = run_key(latest)[1] + 1
    if run_phase(latest) != Phase.SUCCEEDED.value:
        retry_at = _started(latest, now) + RETRY_AFTER_FAILURE
        if now < retry_at and source_version <= until_version(latest):
            plan.next_run = retry_at
            plan.waiting = f"the last copy failed; next attempt at {retry_at.strftime(TIME_FORMAT)}"
            return plan
    elif source_version <= until_version(latest):
        return plan  # the copy holds the newest version
    if schedule:
        plan.next_run = next_scheduled(schedule, _started(latest, now))
        if now < plan.next_run:
            return plan
    plan.create = (generation, sequence)
    return plan


@dataclass(frozen=True)
class Problem:
    """Why no copy can run (reason is a CamelCase word, message names what to fix)."""

    reason: str
    message: str


def build_status(
    replication: dict[str, Any],
    runs: list[dict[str, Any]],
    plan: Plan,
    target: Target | None,
    decision: Decision | None,
    problem: Problem | None,
) -> dict[str, Any]:
    """DataReplication.status from what was found and decided (pure)."""
    generation = int(replication["metadata"].get("generation", 1))
    namespace = replication["metadata"]["namespace"]
    ordered = sorted(runs, key=run_key)
    current = [r for r in ordered if run_key(r)[0] == generation]
    live = [r for r in ordered if run_phase(r) not in TERMINAL]
    status: dict[str, Any] = {"observedGeneration": generation}
    if target is not None:
        status["grade"] = target.grade
        status["destinationRegion"] = target.peer.region
        status["destinationPath"] = target.destination_path(namespace)
        status["sourceVersion"] = target.source_version
    held = replicated_version(ordered, generation)
    good = [
        r
        for r in current
        if run_phase(r) == Phase.SUCCEEDED.value and (r.get("status") or {}).get("checksum")
    ]
    if held is not None:
        status["replicatedVersion"] = held
    if good:
        status["checksum"] = good[-1]["status"]["checksum"]
    if ordered:
        status["lastRun"] = run_summary(ordered[-1])
    if plan.next_run:
        status["nextRun"] = plan.next_run.strftime(TIME_FORMAT)
    finished = [r for r in current if run_phase(r) in TERMINAL]
    held_text = f"; the copy still holds version {held}" if held is not None else ""
    if problem is not None:
        outcome = Outcome(False, problem.reason, problem.message, degraded=True)
    elif decision is not None and not decision.allowed:
        outcome = Outcome(False, decision.reason, decision.message, degraded=True)
    elif finished and run_phase(finished[-1]) == Phase.FAILED.value and not live:
        reason = (finished[-1].get("status") or {}).get("reason") or "copy failed"
        outcome = Outcome(
            False,
            "RunFailed",
            f"copy {finished[-1]['metadata']['name']} failed: {reason}{held_text}",
            degraded=True,
        )
    elif held is not None and target is not None:
        behind = (
            f"; copying version {target.source_version}"
            if (target.source_version or 0) > held
            else ""
        )
        outcome = Outcome(
            True,
            "Replicated",
            f"version {held} copied to {target.peer.center}, sha256 {status.get('checksum')}"
            + behind,
            progressing=bool(live) or bool(behind),
        )
    else:
        message = plan.waiting or (
            f"copy {live[-1]['metadata']['name']} is {run_phase(live[-1]).lower()}"
            if live
            else "starting a copy"
        )
        waiting_for_table = target is not None and target.source_version is None
        outcome = Outcome(
            False, "WaitingForTable" if waiting_for_table else "Copying", message, progressing=True
        )
    previous = (replication.get("status") or {}).get("conditions") or []
    status["conditions"] = build_conditions(previous, outcome, generation)
    return status
