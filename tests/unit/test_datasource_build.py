"""DataSource decisions as pure functions: ingest job, when to run, status, collector objects."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from nidc.api.data_source import DataSource
from nidc.collector.report import DeviceReport
from operators.collectors.kubernetes import CollectorImage, build_collector_objects
from operators.datasource.build import (
    CLOCK_SLACK,
    POLL_INTERVAL,
    REPORT_STALE_AFTER,
    RETRY_AFTER_FAILURE,
    UNREACHABLE_AFTER,
    CollectorState,
    build_ingest_job,
    build_ingest_run,
    build_status,
    checkpoint_of,
    collector_name,
    files_landed_since_last_run,
    plan_ingest,
    validate,
)
from operators.reconciling.conditions import Problem
from operators.runs.plan import Plan, RunHistory

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.UTC)
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


def run(sequence: int, phase: str, **status: Any) -> dict[str, Any]:
    body = build_ingest_run(source(), build_ingest_job(source(), {}), 1, sequence)
    body["status"] = {"phase": phase, **status}
    return body


def hist(*runs: dict[str, Any]) -> RunHistory:
    return RunHistory.of(runs, 1)


def test_device_job_reads_landing_from_the_checkpoint() -> None:
    job = build_ingest_job(source(), {"batchSequence": 7})
    assert job.landing is not None
    assert job.landing.prefix == "s3a://tenant-steel-plant/landing/sources/steel-plant/cnc/"
    assert job.landing.from_sequence == 7
    assert job.target == "s3a://tenant-steel-plant/bronze/cnc_spindle"
    assert job.quarantine == "s3a://tenant-steel-plant/quarantine/cnc_spindle"
    assert job.source_uid == UID


def test_jdbc_job_carries_the_watermark_and_only_the_credentials_path() -> None:
    body = source(
        "jdbc",
        endpoint="jdbc:postgresql://mes:5432/mes",
        table={"name": "mes.work_orders", "watermarkColumn": "updated_at"},
        credentials={"openBaoPath": "secret/data/tenants/steel-plant/mes"},
    )
    job = build_ingest_job(body, {"watermark": "2026-11-25T07:00:00"})
    assert job.jdbc is not None and job.jdbc.watermark == "2026-11-25T07:00:00"
    assert job.credentials_path == "secret/data/tenants/steel-plant/mes"
    assert "password" not in job.model_dump_json()


def test_device_source_runs_only_when_batches_landed_beyond_the_checkpoint() -> None:
    assert plan_ingest(source(), hist(), landed_beyond=False, now=NOW).create is None
    assert plan_ingest(source(), hist(), landed_beyond=True, now=NOW).create == (1, 0)
    finished = [run(0, "Succeeded", finishedAt="2026-11-25T07:59:00Z")]
    assert plan_ingest(source(), hist(*finished), landed_beyond=True, now=NOW).create == (1, 1)


def test_one_live_run_per_source() -> None:
    plan = plan_ingest(source(), hist(run(0, "Running")), landed_beyond=True, now=NOW)
    assert plan.create is None
    assert "running" in plan.waiting


def test_after_a_failure_the_next_run_waits() -> None:
    finished = (NOW - RETRY_AFTER_FAILURE / 2).strftime("%Y-%m-%dT%H:%M:%SZ")
    failed = [run(0, "Failed", finishedAt=finished, reason="boom")]
    plan = plan_ingest(source(), hist(*failed), landed_beyond=True, now=NOW)
    assert plan.create is None and "failed" in plan.waiting
    later = NOW + RETRY_AFTER_FAILURE
    assert plan_ingest(source(), hist(*failed), landed_beyond=True, now=later).create == (1, 1)


def test_continuous_files_source_polls() -> None:
    body = source("files", files={"format": "csv", "prefix": "erp/"})
    assert plan_ingest(body, hist(), True, NOW).create == (1, 0)
    just = [run(0, "Succeeded", finishedAt=NOW.strftime("%Y-%m-%dT%H:%M:%SZ"))]
    assert plan_ingest(body, hist(*just), True, NOW).create is None
    assert plan_ingest(body, hist(*just), True, NOW + POLL_INTERVAL).create == (1, 1)
    # Nothing landed since the last run: the poll starts no job, and says so.
    idle = plan_ingest(body, hist(*just), False, NOW + POLL_INTERVAL)
    assert idle.create is None and idle.waiting == "no new file since the last run"


def test_scheduled_source_runs_on_its_ticks() -> None:
    body = source(
        "files",
        continuous=None,
        points=None,
        schedule="@hourly",
        files={"format": "csv", "prefix": "erp/"},
    )
    done = [
        run(0, "Succeeded", startedAt="2026-11-25T07:10:00Z", finishedAt="2026-11-25T07:11:00Z")
    ]
    plan = plan_ingest(body, hist(*done), True, NOW - dt.timedelta(minutes=30))
    assert plan.create is None and plan.next_run == NOW
    assert plan_ingest(body, hist(*done), True, NOW).create == (1, 1)


def test_a_scheduled_files_source_with_nothing_new_starts_no_job() -> None:
    body = source(
        "files",
        continuous=None,
        points=None,
        schedule="* * * * *",
        files={"format": "csv", "prefix": "erp/"},
    )
    started = "2026-11-25T07:58:00Z"
    done = [run(0, "Succeeded", startedAt=started, finishedAt="2026-11-25T07:58:40Z", files=1)]
    history = hist(*done)
    before = dt.datetime(2026, 11, 25, 7, 50, tzinfo=dt.UTC)
    after = dt.datetime(2026, 11, 25, 7, 59, 30, tzinfo=dt.UTC)
    # The tick comes; the only file is older than the last run's start: no run.
    assert not files_landed_since_last_run([before], history, max_files=500)
    tick = plan_ingest(body, history, False, NOW)
    assert tick.create is None and tick.waiting == "no new file since the last run"
    # A file landed after the run started: the tick runs.
    assert files_landed_since_last_run([before, after], history, max_files=500)
    assert plan_ingest(body, history, True, NOW).create == (1, 1)


def test_which_files_count_as_new() -> None:
    started = dt.datetime(2026, 11, 25, 7, 58, tzinfo=dt.UTC)
    stamp = started.strftime("%Y-%m-%dT%H:%M:%SZ")
    ok = hist(run(0, "Succeeded", startedAt=stamp, files=3))
    old = started - dt.timedelta(minutes=5)
    # No run yet, or the last one failed: whatever is there is new; an empty prefix is not.
    assert files_landed_since_last_run([old], hist(), 500)
    assert not files_landed_since_last_run([], hist(), 500)
    assert files_landed_since_last_run([old], hist(run(0, "Failed", startedAt=stamp)), 500)
    # Modified just before the run started (within the clock slack): maybe missed, so new.
    assert files_landed_since_last_run([started - CLOCK_SLACK / 2], ok, 500)
    assert not files_landed_since_last_run([started - 2 * CLOCK_SLACK], ok, 500)
    # The last run took its full maxFiles: more may wait, whatever the times.
    assert files_landed_since_last_run([old], ok, max_files=3)


def test_status_keeps_the_last_good_checkpoint_and_says_why_it_failed() -> None:
    good = run(
        0, "Succeeded", rows=40, quarantinedRows=2, tableVersion=3, checkpoint={"batchSequence": 5}
    )
    bad = run(1, "Failed", reason="schema drift: new column x under policy fail")
    runs = [good, bad]
    checkpoint = checkpoint_of(hist(*runs), None)
    assert checkpoint == {"batchSequence": 5}
    status = build_status(
        source(), hist(*runs), Plan(), CollectorState(True, True), checkpoint, [], NOW
    )
    assert (status["rows"], status["quarantinedRows"], status["tableVersion"]) == (40, 2, 3)
    degraded = next(c for c in status["conditions"] if c["type"] == "Degraded")
    assert degraded["status"] == "True" and degraded["reason"] == "IngestFailed"
    assert "schema drift" in degraded["message"] and "table version 3" in degraded["message"]


def test_status_waits_for_the_collector() -> None:
    status = build_status(source(), hist(), Plan(), CollectorState(True, False), {}, [], NOW)
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False" and ready["reason"] == "CollectorStarting"


def test_collector_deployment_holds_no_secret_and_recreates() -> None:
    body = source(credentials={"openBaoPath": "secret/data/tenants/steel-plant/cnc"})
    name = collector_name(body)
    account, config_map, deployment = build_collector_objects(
        body, name, {"source": "cnc"}, CollectorImage("registry.example/nidc-collector:1")
    )
    assert name == "steel-plant-cnc-0b1c2d3e"
    # The pod's service account is made with it (a missing one leaves the Deployment podless).
    assert account["kind"] == "ServiceAccount"
    pod_account = deployment["spec"]["template"]["spec"]["serviceAccountName"]
    assert account["metadata"]["name"] == pod_account
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert deployment["metadata"]["ownerReferences"][0]["uid"] == UID
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["openbao.openbao.org/agent-inject-secret-device.env"].endswith("/cnc")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert "env" not in container and container["resources"]["limits"]
    assert json.loads(config_map["data"]["config.json"])["heartbeat_file"] == "/tmp/heartbeat"


def test_a_scheduled_device_source_or_a_non_bronze_table_is_a_problem_not_silence() -> None:
    scheduled = validate(source(continuous=None, schedule="@hourly"))
    assert [p.reason for p in scheduled] == ["ScheduleNotSupported"]
    assert "spec.continuous" in scheduled[0].message
    gold = validate(source(targetTable="gold.cnc"))
    assert [p.reason for p in gold] == ["InvalidSpec"] and "bronze" in gold[0].message
    assert validate(source()) == []
    status = build_status(
        source(continuous=None, schedule="@hourly"),
        hist(),
        Plan(),
        CollectorState(False, False),
        {},
        scheduled,
        NOW,
    )
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "ScheduleNotSupported")
    assert ready["lastTransitionTime"] == "2026-11-25T08:00:00Z"


def test_a_collector_problem_is_the_status_reason() -> None:
    collector = CollectorState(True, False, Problem("CredentialsNotFound", "no login at x"))
    status = build_status(source(), hist(), Plan(), collector, {}, [], NOW)
    degraded = next(c for c in status["conditions"] if c["type"] == "Degraded")
    assert (degraded["status"], degraded["reason"]) == ("True", "CredentialsNotFound")


def report(**fields: Any) -> DeviceReport:
    base: dict[str, Any] = {
        "time": NOW.isoformat(),
        "collector": "cnc-1",
        "connected": True,
        "reading": "OPC UA subscription: sampling 100 ms",
        "limits": ["no history for temp: a disconnect is marked as a gap, not backfilled"],
        "gapsMarked": 1,
    }
    return DeviceReport.model_validate({**base, **fields})


def conditions_of(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in status["conditions"]}


def test_a_device_that_refuses_reads_degrades_the_source_with_its_own_words() -> None:
    refusal = "temp: BadHistoryOperationUnsupported (node is not historized)"
    status = build_status(
        source(), hist(), Plan(), CollectorState(True, True), {}, [], NOW, report(refusal=refusal)
    )
    found = conditions_of(status)
    assert found["Ready"]["status"] == "False"
    assert found["Degraded"]["status"] == "True"
    assert found["Degraded"]["reason"] == "DeviceRefusesReads"
    assert refusal in found["Degraded"]["message"]
    assert status["device"]["error"] == refusal
    # What the device cannot give is in the status, not hidden.
    assert status["device"]["limits"] == report().limits
    assert status["device"]["gapsMarked"] == 1


def test_a_stale_report_or_a_short_outage_does_not_degrade() -> None:
    stale = report(refusal="x", time=(NOW - REPORT_STALE_AFTER * 2).isoformat())
    blip = report(connected=False, disconnectedSince=(NOW - UNREACHABLE_AFTER / 2).isoformat())
    for each in (stale, blip, report()):
        status = build_status(
            source(), hist(), Plan(), CollectorState(True, True), {}, [], NOW, each
        )
        assert conditions_of(status)["Ready"]["status"] == "True", each
    gone = report(
        connected=False,
        disconnectedSince=(NOW - UNREACHABLE_AFTER).isoformat(),
        lastError="ConnectionError: cannot connect to plc:502",
    )
    status = build_status(source(), hist(), Plan(), CollectorState(True, True), {}, [], NOW, gone)
    degraded = conditions_of(status)["Degraded"]
    assert degraded["reason"] == "DeviceUnreachable"
    assert "cannot connect to plc:502" in degraded["message"]
