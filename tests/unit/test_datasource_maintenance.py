"""Bronze maintenance as pure functions (decision 0270): the due slot, one run per slot by name,
what waits for what, the status, event and Degraded condition, the retention vacuum keeps, and
the spec's admission."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from nidc.api.data_source import (
    DATA_SOURCE_RULES,
    DEFAULT_RETENTION_HOURS,
    MIN_RETENTION_HOURS,
    DataSource,
    DataSourceSpec,
)
from nidc.api.job_runtime import parse_run_spec
from nidc.api.job_specs import MaintenanceJob, record_job, starts_spark
from nidc.api.pipeline_run import Phase, PipelineRunStatus
from operators.datasource.build import build_ingest_job, build_ingest_run
from operators.datasource.maintenance import (
    SLOT,
    build_maintenance_job,
    build_maintenance_run,
    due_slot,
    maintenance_event,
    maintenance_outcome,
    maintenance_status,
    plan_maintenance,
    split_maintenance,
)
from operators.runs.plan import RunHistory
from operators.runs.runner import job_module
from operators.runs.state_machine import RunStatus
from operators.runs.transitions import describe_transition, read_status, write_status
from spark_jobs.ingest.native.maintenance import effective_retention, interval_hours

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 11, 25, 10, 37, 12, tzinfo=dt.UTC)
UID = "0b1c2d3e-aaaa-bbbb-cccc-000000000001"


def source(kind: str = "opcua", **spec: Any) -> DataSource:
    base: dict[str, Any] = {
        "type": kind,
        "endpoint": "opc.tcp://cnc:4840",
        "domain": "production-operation",
        "enterprisePrefix": "88.118.8",
        "targetTable": "bronze.cnc_spindle",
        "continuous": True,
        "points": [{"name": "temp", "address": "ns=2;s=T", "identifier": "88.118.8/C.temp"}],
    }
    body = {
        "apiVersion": "nidc.io/v1alpha1",
        "kind": "DataSource",
        "metadata": {"name": "cnc", "namespace": "steel-plant", "uid": UID, "generation": 1},
        "spec": {k: v for k, v in {**base, **spec}.items() if v is not None},
    }
    return DataSource.from_body(body)


def ingest_run(sequence: int, phase: str) -> dict[str, Any]:
    body = build_ingest_run(source(), build_ingest_job(source(), {}), 1, sequence)
    body["status"] = {"phase": phase}
    return body


def maintenance_run(slot: dt.datetime, sequence: int, phase: str, **status: Any) -> dict[str, Any]:
    body = build_maintenance_run(source(), build_maintenance_job(source(), slot), slot, 1, sequence)
    body["status"] = {"phase": phase, **status}
    return body


def hist(*runs: dict[str, Any]) -> RunHistory:
    return RunHistory.of(runs, 1)


INGESTED = hist(ingest_run(0, "Succeeded"))
SLOT_10 = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)


def test_the_due_slot_is_the_latest_tick_at_or_before_now() -> None:
    assert due_slot("@hourly", NOW) == SLOT_10
    assert due_slot("@hourly", SLOT_10 + dt.timedelta(seconds=59)) == SLOT_10
    assert due_slot("*/15 * * * *", NOW) == dt.datetime(2026, 11, 25, 10, 30, tzinfo=dt.UTC)
    assert due_slot("0 3 * * *", NOW) == dt.datetime(2026, 11, 25, 3, 0, tzinfo=dt.UTC)


def test_a_device_source_with_a_table_gets_the_due_slots_run() -> None:
    planned = plan_maintenance(source(), INGESTED, hist(), False, NOW)
    assert planned.slot == SLOT_10
    assert planned.plan.create == (1, 0)
    assert planned.plan.next_run == SLOT_10 + dt.timedelta(hours=1)
    job = build_maintenance_job(source(), SLOT_10)
    assert job.tables == [
        "s3a://tenant-steel-plant/bronze/cnc_spindle",
        "s3a://tenant-steel-plant/quarantine/cnc_spindle",
    ]
    assert job.retention_hours == DEFAULT_RETENTION_HOURS
    assert job.slot == "2026-11-25T10:00:00Z"


def test_a_slot_with_a_run_is_never_run_again_and_the_next_slot_is() -> None:
    done = hist(maintenance_run(SLOT_10, 0, "Succeeded"))
    assert plan_maintenance(source(), INGESTED, done, False, NOW).plan.create is None
    failed = hist(maintenance_run(SLOT_10, 0, "Failed", reason="boom"))
    assert plan_maintenance(source(), INGESTED, failed, False, NOW).plan.create is None
    later = plan_maintenance(source(), INGESTED, done, False, NOW + dt.timedelta(hours=1))
    assert later.slot == SLOT_10 + dt.timedelta(hours=1)
    assert later.plan.create == (1, 1)


def test_the_run_name_is_the_slots_so_a_restart_adopts_it() -> None:
    first = maintenance_run(SLOT_10, 0, "Pending")
    again = maintenance_run(SLOT_10, 3, "Pending")
    other = maintenance_run(SLOT_10 + dt.timedelta(hours=1), 0, "Pending")
    assert first["metadata"]["name"] == again["metadata"]["name"]
    assert first["metadata"]["name"] != other["metadata"]["name"]
    assert first["metadata"]["labels"][SLOT] == "20261125T1000Z"
    assert len(first["metadata"]["name"]) <= 63


def test_what_waits() -> None:
    live = hist(maintenance_run(SLOT_10 - dt.timedelta(hours=1), 0, "Running"))
    waiting = plan_maintenance(source(), INGESTED, live, False, NOW)
    assert waiting.plan.create is None and "is running" in waiting.plan.waiting
    classifying = plan_maintenance(source(), INGESTED, hist(), True, NOW)
    assert classifying.plan.create is None and "classify" in classifying.plan.waiting
    # No table yet; ingest running beside is no reason to wait (no writer lease).
    assert plan_maintenance(source(), hist(), hist(), False, NOW).plan.create is None
    beside = hist(ingest_run(0, "Succeeded"), ingest_run(1, "Running"))
    assert plan_maintenance(source(), beside, hist(), False, NOW).plan.create == (1, 0)


def test_spark_written_tables_are_not_maintained() -> None:
    files = source("files", points=None, files={"format": "csv", "prefix": "erp/"})
    assert plan_maintenance(files, INGESTED, hist(), False, NOW).plan.create is None


def test_old_runs_are_pruned_and_maintenance_runs_have_their_own_history() -> None:
    runs = [maintenance_run(SLOT_10 - dt.timedelta(hours=h), 5 - h, "Succeeded") for h in range(5)]
    planned = plan_maintenance(source(), INGESTED, hist(*runs), False, NOW)
    assert len(planned.plan.prune) == 2
    others, maintenance = split_maintenance(hist(ingest_run(0, "Succeeded"), *runs))
    assert [r.job_type for r in others.ordered] == ["ingest"]
    assert len(maintenance.ordered) == 5


def test_status_event_and_degraded() -> None:
    good = hist(
        maintenance_run(
            SLOT_10,
            0,
            "Succeeded",
            finishedAt="2026-11-25T10:00:09Z",
            maintenance={"filesCompacted": 40, "filesAdded": 2, "filesVacuumed": 7, "tables": 2},
        )
    )
    last = maintenance_status(good)
    assert last is not None
    assert (last["filesCompacted"], last["filesAdded"], last["filesVacuumed"]) == (40, 2, 7)
    assert last["slot"] == "2026-11-25T10:00:00Z"
    event = maintenance_event(None, last)
    assert event is not None and event[0] == "Maintained" and "40 files compacted" in event[1]
    assert maintenance_event(last, last) is None  # one event per run
    ready = {"type": "Ready", "status": "True", "message": "9 rows ingested"}
    assert maintenance_outcome(ready, good) is None
    later = SLOT_10 + dt.timedelta(hours=1)
    bad = hist(maintenance_run(later, 1, "Failed", reason="OSError: no route"))
    failed = maintenance_status(bad)
    assert failed is not None and failed["reason"] == "OSError: no route"
    outcome = maintenance_outcome(ready, bad)
    assert outcome is not None and outcome.ready and outcome.degraded
    assert outcome.reason == "MaintenanceFailed" and "no route" in outcome.message
    warned = maintenance_event(last, failed)
    assert warned is not None and warned[0] == "MaintenanceFailed" and warned[2]


def test_vacuum_keeps_the_longer_of_the_asked_and_the_tables_own_retention() -> None:
    assert interval_hours("interval 7 days") == 168
    assert interval_hours("interval 1 week") == 168
    assert interval_hours("interval 90 minutes") == 2
    assert interval_hours("7 days") is None
    # The table's own property wins when longer, and delta-rs's check stays on.
    assert effective_retention(24, "interval 30 days") == (720, True)
    assert effective_retention(200, "interval 1 days") == (200, True)
    # No property: delta-rs would compare with 7 days; off only below that.
    assert effective_retention(168, None) == (168, True)
    assert effective_retention(24, None) == (24, False)
    with pytest.raises(ValueError, match="retention of -1"):
        effective_retention(-1, None)


def test_the_job_spec_runs_natively_without_a_slot() -> None:
    job = build_maintenance_job(source(maintenance={"retentionHours": 48}), SLOT_10)
    recorded = record_job(job)
    assert recorded["retentionHours"] == 48
    assert not starts_spark(recorded)
    spec = {**recorded, "run": "r", "storage": {"endpoint": "https://s3"}}
    assert parse_run_spec(spec)[0] == job
    assert job_module(spec) == "spark_jobs.ingest.native"
    with pytest.raises(ValidationError, match="retentionHours"):
        MaintenanceJob.model_validate({**recorded, "retentionHours": MIN_RETENTION_HOURS - 1})
    with pytest.raises(ValidationError, match="not an s3a"):
        MaintenanceJob.model_validate({**recorded, "tables": ["/tmp/x"]})


def test_admission_refuses_a_short_retention_and_maintenance_of_spark_tables() -> None:
    spec = source().spec.model_dump(by_alias=True, exclude_none=True)
    with pytest.raises(ValidationError, match=r"maintenance\.retentionHours"):
        DataSourceSpec.model_validate({**spec, "maintenance": {"retentionHours": 12}})
    assert DataSourceSpec.model_validate(spec).maintenance_settings().schedule == "@hourly"
    crd = yaml.safe_load((REPO / "crds" / "datasources.yaml").read_text())
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    retention = schema["properties"]["maintenance"]["properties"]["retentionHours"]
    assert (retention["minimum"], retention["default"]) == (MIN_RETENTION_HOURS, 168)
    rules = [r for r in DATA_SOURCE_RULES if r["fieldPath"] == ".maintenance"]
    assert len(rules) == 1 and "self.type in ['opcua', 'modbus', 'mqtt']" in rules[0]["rule"]
    assert rules[0] in schema["x-kubernetes-validations"]


def test_the_runs_status_keeps_what_maintenance_did_and_its_event_says_it() -> None:
    done = {"filesCompacted": 40, "filesAdded": 2, "filesVacuumed": 7, "tables": 2}
    running = RunStatus(phase=Phase.RUNNING, attempts=1)
    after = RunStatus(
        phase=Phase.SUCCEEDED, attempts=1, finished_at=NOW, result={"maintenance": done}
    )
    written = write_status(after)
    assert PipelineRunStatus.model_validate(written).maintenance is not None
    assert read_status(written).result["maintenance"] == done
    described = describe_transition(running, after)
    assert described is not None
    assert described[1] == "attempt 1 succeeded: 40 files compacted into 2, 7 vacuumed"
