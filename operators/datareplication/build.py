"""Pure decisions for a DataReplication: where the copy goes, which copy runs to create, status."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nidc.api.addressing import split_table, table_path
from nidc.api.data_replication import DataReplication
from nidc.api.job_specs import JobSpecBase, ReplicateDestination, ReplicateJob, ReplicateSource
from nidc.governance.replication import Decision, Peer
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
    live_message,
    next_scheduled,
    run_status_fields,
)
from operators.runs.record import RecordedRun, build_run_record, format_time

__all__ = ["Problem", "Target", "build_copy_run", "build_replicate_job", "build_status"]

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
        layer, name = split_table(self.table)
        return f"s3a://{bucket}/{self.center}/{namespace}/{layer}/{name}"


@dataclass(frozen=True)
class TableGrade:
    """The grade a replication decides on, and where it came from."""

    grade: int | None
    computed: bool  # by a classify pass (status.computedGrade), not declared
    declared: int | None

    def explain(self, message: str) -> str:
        """A refusal's message, saying when the grade is computed rather than declared."""
        if not self.computed:
            return message
        declared = f"declared {self.declared}" if self.declared is not None else "none declared"
        return f"{message} (grade {self.grade} computed by classification; {declared})"


def table_grade(resource: Mapping[str, Any]) -> TableGrade:
    """The owner's computed grade where a classify pass set one, else its declared grade."""
    status = resource.get("status") or {}
    declared = (resource.get("spec") or {}).get("grade")
    declared = int(declared) if declared is not None else None
    computed = status.get("computedGrade")
    if computed is not None:
        return TableGrade(int(computed), True, declared)
    effective = declared if declared is not None else status.get("grade")
    return TableGrade(int(effective) if effective is not None else None, False, declared)


def build_replicate_job(replication: DataReplication, target: Target) -> ReplicateJob:
    """The replicate job (no credentials: only the OpenBao path of the peer's login)."""
    namespace = replication.namespace
    destination = target.destination_path(namespace)
    if target.source_version is None or destination is None:
        raise ValueError("a copy needs the table's version and a bucket for its grade")
    return ReplicateJob(
        tenant=namespace,
        source=ReplicateSource(path=table_path(namespace, target.table), table=target.table),
        destination=ReplicateDestination(
            center=target.peer.center,
            region=target.peer.region,
            endpoint=target.peer.endpoint,
            path=destination,
            ca_file=target.peer.ca_file or None,
        ),
        destination_credentials_path=target.peer.credentials_path,
        until_version=target.source_version,
        grade=target.grade,
    )


def build_copy_run(
    replication: DataReplication, job: JobSpecBase, generation: int, sequence: int
) -> dict[str, Any]:
    """The PipelineRun recording one copy, owned by the replication."""
    return build_run_record(replication, job, generation, sequence)


def until_version(run: RecordedRun) -> int:
    """The source version a recorded copy run goes up to."""
    return int(run.job.get("untilVersion", -1))


def replicated_version(history: RunHistory) -> int | None:
    """The newest source version a succeeded copy of this generation holds."""
    versions = [
        int(version)
        for r in history.current
        if r.succeeded and (version := r.result("tableVersion")) is not None
    ]
    return max(versions) if versions else None


def plan_copies(
    replication: DataReplication,
    history: RunHistory,
    source_version: int | None,
    allowed: bool,
    schedule: str | None,
    now: dt.datetime,
) -> Plan:
    """One copy at a time; a new one when the table has a version the copy lacks (at the next
    cron tick when scheduled); refused copies cancel the live one."""
    live = history.live
    current = history.current
    plan = Plan()
    plan.prune = history.to_prune(HISTORY_LIMIT)
    if not allowed:
        plan.cancel = live
        return plan
    if history.older_live:
        # A new spec (destination, approval) supersedes copies made for the old one.
        plan.cancel = history.older_live
        return plan
    if replication.spec.suspend or live:
        return plan
    if source_version is None:
        plan.waiting = "waiting for the table's first version"
        return plan
    if not current:
        plan.create = history.next_key()
        return plan
    latest = current[-1]
    started = latest.started_at or now
    if not latest.succeeded:
        retry_at = started + RETRY_AFTER_FAILURE
        if now < retry_at and source_version <= until_version(latest):
            plan.next_run = retry_at
            plan.waiting = f"the last copy failed; next attempt at {format_time(retry_at)}"
            return plan
    elif source_version <= until_version(latest):
        return plan  # the copy holds the newest version
    if schedule:
        plan.next_run = next_scheduled(schedule, started)
        if now < plan.next_run:
            return plan
    plan.create = history.next_key()
    return plan


def build_status(
    replication: DataReplication,
    history: RunHistory,
    plan: Plan,
    target: Target | None,
    decision: Decision | None,
    problem: Problem | None,
    now: dt.datetime,
) -> dict[str, Any]:
    """DataReplication.status from what was found and decided (pure; the clock passed in)."""
    generation = replication.generation
    namespace = replication.namespace
    live = history.live
    status: dict[str, Any] = {"observedGeneration": generation}
    if target is not None:
        status["grade"] = target.grade
        status["destinationRegion"] = target.peer.region
        status["destinationPath"] = target.destination_path(namespace)
        status["sourceVersion"] = target.source_version
    held = replicated_version(history)
    good = [r for r in history.current if r.succeeded and r.result("checksum")]
    if held is not None:
        status["replicatedVersion"] = held
    if good:
        status["checksum"] = good[-1].result("checksum")
    status.update(run_status_fields(history, plan.next_run))
    finished = [r for r in history.current if r.terminal]
    held_text = f"; the copy still holds version {held}" if held is not None else ""
    if problem is not None:
        outcome = problem_outcome([problem])
    elif decision is not None and not decision.allowed:
        outcome = Outcome(False, decision.reason, decision.message, degraded=True)
    elif finished and finished[-1].failed and not live:
        outcome = Outcome(
            False, "RunFailed", failure_message(finished[-1], "copy") + held_text, degraded=True
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
        message = plan.waiting or live_message(history, "copy") or "starting a copy"
        waiting_for_table = target is not None and target.source_version is None
        outcome = Outcome(
            False, "WaitingForTable" if waiting_for_table else "Copying", message, progressing=True
        )
    status["conditions"] = build_conditions(
        replication.previous_conditions, outcome, generation, rfc3339(now)
    )
    return status
