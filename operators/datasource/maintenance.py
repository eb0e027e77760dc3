"""When a device source's tables are compacted and vacuumed, and what its status says of it (pure).

One maintenance run per tick of spec.maintenance.schedule (decision 0270), named from the tick
(the "slot"): a restarted operator that wants the same slot adopts the run it recorded, a slot
that has a run (finished or failed) is never run again, and a due slot is recorded on the first
pass after its tick. Ticks missed while the operator was down collapse into the latest one (a
compaction covers every small file there is). Maintenance runs beside the ingest runs (no writer
lease, decision 0250) but waits for a live classify run, whose properties commit would make a
compaction's commit conflict. Spark-written tables (files and jdbc sources) are not touched:
one writer engine per table.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from croniter import croniter

from nidc.api.addressing import quarantine_path, table_path
from nidc.api.data_source import DataSource
from nidc.api.job_specs import DEVICE_TYPES, JobSpecBase, MaintenanceJob
from nidc.api.schema import GROUP
from operators.reconciling.conditions import Outcome, rfc3339
from operators.runs.naming import keyed_run_name
from operators.runs.plan import Plan, RunHistory, failure_message, next_scheduled
from operators.runs.record import RecordedRun, build_run_record

MAINTENANCE = "maintenance"
SLOT = f"{GROUP}/maintenance-slot"
# A label value holds no ':' (RFC 3339 does): the slot as a compact UTC stamp.
SLOT_LABEL = "%Y%m%dT%H%MZ"
# Finished maintenance runs kept (the last good one besides: it says what was last done).
MAINTENANCE_HISTORY = 3


@dataclass
class MaintenancePlan:
    """The maintenance run to record (if any), as a Plan carry_out understands, and its slot."""

    plan: Plan = field(default_factory=Plan)
    slot: dt.datetime | None = None


def split_maintenance(history: RunHistory) -> tuple[RunHistory, RunHistory]:
    """(the source's other runs, its maintenance runs): each kind of run has its own history."""
    others = [r for r in history.ordered if r.job_type != MAINTENANCE]
    maintenance = [r for r in history.ordered if r.job_type == MAINTENANCE]
    return RunHistory(others, history.generation), RunHistory(maintenance, history.generation)


def due_slot(schedule: str, now: dt.datetime) -> dt.datetime:
    """The latest tick of `schedule` at or before `now` (whole minutes, UTC)."""
    minute = now.astimezone(dt.UTC).replace(second=0, microsecond=0)
    if croniter.match(schedule, minute):
        return minute
    slot: dt.datetime = croniter(schedule, minute).get_prev(dt.datetime)
    return slot


def slot_label(slot: dt.datetime) -> str:
    return slot.astimezone(dt.UTC).strftime(SLOT_LABEL)


def slot_of(run: RecordedRun) -> str | None:
    return (run.body["metadata"].get("labels") or {}).get(SLOT)


def maintained(source: DataSource) -> bool:
    """Whether the source's tables are the native writer's (device sources)."""
    return str(source.spec.type) in DEVICE_TYPES


def plan_maintenance(
    source: DataSource,
    ingest: RunHistory,
    maintenance: RunHistory,
    classifying: bool,
    now: dt.datetime,
) -> MaintenancePlan:
    """The maintenance run due now, if any (one live at a time per source)."""
    planned = MaintenancePlan()
    planned.plan.prune = maintenance.to_prune(MAINTENANCE_HISTORY)
    if not maintained(source):
        return planned
    schedule = source.spec.maintenance_settings().schedule
    slot = due_slot(schedule, now)
    planned.plan.next_run = next_scheduled(schedule, slot)
    if maintenance.live:
        planned.plan.waiting = f"maintenance run {maintenance.live[-1].name} is running"
        return planned
    if ingest.last_succeeded is None:
        return planned  # no table yet
    label = slot_label(slot)
    if any(slot_of(r) == label for r in maintenance.ordered):
        return planned
    if classifying:
        planned.plan.waiting = "maintenance waits for the classify run"
        return planned
    planned.plan.create = maintenance.next_key()
    planned.slot = slot
    return planned


def build_maintenance_job(source: DataSource, slot: dt.datetime) -> MaintenanceJob:
    """The maintenance job of one slot: bronze, then quarantine."""
    target = source.spec.target_table
    return MaintenanceJob(
        source=source.name,
        namespace=source.namespace,
        tables=[table_path(source.namespace, target), quarantine_path(source.namespace, target)],
        retention_hours=source.spec.maintenance_settings().retention_hours,
        slot=rfc3339(slot),
    )


def build_maintenance_run(
    source: DataSource, job: JobSpecBase, slot: dt.datetime, generation: int, sequence: int
) -> dict[str, Any]:
    """The maintenance PipelineRun of `slot`, owned by the source, named from the slot."""
    record = build_run_record(source, job, generation, sequence)
    label = slot_label(slot)
    record["metadata"]["name"] = keyed_run_name(source.name, source.uid, MAINTENANCE, label)
    record["metadata"]["labels"][SLOT] = label
    return record


def maintenance_status(maintenance: RunHistory) -> dict[str, Any] | None:
    """status.lastMaintenance: the newest finished maintenance run, with what it did."""
    finished = maintenance.finished
    if not finished:
        return None
    run = finished[-1]
    done = run.result("maintenance") or {}
    summary: dict[str, Any] = {
        "run": run.name,
        "slot": str(run.job.get("slot", "")),
        "phase": run.phase.value,
        "finishedAt": run.status.get("finishedAt"),
    }
    if run.succeeded:
        for key in ("filesCompacted", "filesAdded", "filesVacuumed"):
            summary[key] = int(done.get(key, 0))
    elif run.reason:
        summary["reason"] = run.reason[:500]
    return {k: v for k, v in summary.items() if v is not None}


def maintenance_outcome(ready: dict[str, Any], maintenance: RunHistory) -> Outcome | None:
    """Degraded (the tables still served, Ready stays) when the newest maintenance run failed;
    None when it did not or the source is not Ready for another reason."""
    finished = maintenance.finished
    if not finished or not finished[-1].failed or ready.get("status") != "True":
        return None
    return Outcome(
        True,
        "MaintenanceFailed",
        f"{ready.get('message', '')}; {failure_message(finished[-1], 'maintenance run')}; the "
        "next slot tries again",
        degraded=True,
    )


def maintenance_event(
    previous: dict[str, Any] | None, current: dict[str, Any] | None
) -> tuple[str, str, bool] | None:
    """The source's event (reason, message, warning) for a maintenance run it had not shown
    yet, else None: one event per finished run."""
    if current is None or (previous or {}).get("run") == current.get("run"):
        return None
    if current.get("phase") == "Succeeded":
        return (
            "Maintained",
            f"maintenance run {current['run']} (slot {current['slot']}): "
            f"{current.get('filesCompacted', 0)} files compacted into "
            f"{current.get('filesAdded', 0)}, {current.get('filesVacuumed', 0)} vacuumed",
            False,
        )
    return (
        "MaintenanceFailed",
        f"maintenance run {current['run']} (slot {current['slot']}) "
        f"{str(current.get('phase', '')).lower()}: {current.get('reason', '')}",
        True,
    )
