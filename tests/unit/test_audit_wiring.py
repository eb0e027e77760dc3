"""What the operator writes to the audit log (pure builders) and how `nidc audit show` filters."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest

from nidc.api.pipeline_run import Phase
from nidc.audit.reading import format_records, parse_time, select
from nidc.audit.record import Resource
from nidc.cli import build_parser
from operators.reconciling.audit import OPERATOR_ACTOR
from operators.runs.classify_plan import grade_audit_event
from operators.runs.state_machine import RunStatus
from operators.runs.transitions import run_audit_event
from tests.unit.test_audit_log import make_record

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)
RUN: dict[str, Any] = {
    "kind": "PipelineRun",
    "metadata": {"name": "press-g1-0-aaaa", "namespace": "plant-a", "uid": "run-uid-1"},
    "spec": {"parent": {"kind": "DataSource", "name": "press"}, "jobType": "ingest"},
}


def status(phase: Phase, attempts: int = 1, **changes: Any) -> RunStatus:
    return replace(RunStatus(phase=phase, attempts=attempts), **changes)


def test_a_submitted_attempt_is_a_started_record_keyed_by_attempt() -> None:
    event = run_audit_event(RUN, status(Phase.PENDING, 0), status(Phase.SUBMITTED, 1))
    assert event is not None
    assert (event.action, event.decision, event.actor) == (
        "run.started",
        "submitted",
        OPERATOR_ACTOR,
    )
    assert event.record_id == "PipelineRun/run-uid-1/attempt-1/started"
    assert event.resource == Resource(
        kind="PipelineRun", namespace="plant-a", name="press-g1-0-aaaa"
    )
    assert event.details["parent"] == "DataSource/press"
    again = run_audit_event(RUN, status(Phase.PENDING, 1), status(Phase.SUBMITTED, 2))
    assert again is not None and again.record_id.endswith("attempt-2/started")


def test_a_terminal_phase_is_a_finished_record_once() -> None:
    done = status(Phase.SUCCEEDED, 1, result={"tableVersion": 4, "rows": 10})
    event = run_audit_event(RUN, status(Phase.RUNNING), done)
    assert event is not None
    assert (event.action, event.decision) == ("run.finished", "succeeded")
    assert event.record_id == "PipelineRun/run-uid-1/finished"
    assert event.details["tableVersion"] == 4 and event.details["rows"] == 10
    failed = run_audit_event(RUN, status(Phase.RUNNING), status(Phase.FAILED, reason="OOM"))
    assert failed is not None and (failed.decision, failed.reason) == ("failed", "OOM")
    assert run_audit_event(RUN, done, done) is None
    assert run_audit_event(RUN, status(Phase.SUBMITTED), status(Phase.RUNNING)) is None


def test_a_grade_change_is_recorded_with_what_decided_it() -> None:
    body = {
        "kind": "DataSource",
        "metadata": {"name": "press", "namespace": "plant-a", "uid": "src-1", "generation": 3},
    }
    computed = {
        "grade": 3,
        "computedGrade": 3,
        "classification": {"run": "press-classify-x", "tableVersion": 5, "columns": []},
    }
    event = grade_audit_event(body, {"grade": 1}, computed)
    assert event is not None
    assert event.action == "classification.grade-changed"
    assert (event.decision, event.details["before"], event.details["after"]) == ("raised", 1, 3)
    assert event.record_id == "DataSource/src-1/grade/1-3/run/press-classify-x"
    declared = grade_audit_event(body, {"grade": 3}, {"grade": 2})
    assert declared is not None and declared.decision == "lowered"
    assert declared.record_id == "DataSource/src-1/grade/3-2/generation/3"
    assert grade_audit_event(body, {"grade": 3}, computed) is None


def test_show_filters_by_resource_and_time() -> None:
    records = [make_record(n) for n in range(6)]  # a second apart from 08:00:00
    run_2 = Resource.parse("PipelineRun/plant-a/run-2")
    assert [r.sequence for r in select(records, run_2)] == [2]
    since, until = parse_time("2026-11-30T08:00:02"), parse_time("2026-11-30T08:00:04+00:00")
    assert [r.sequence for r in select(records, since=since, until=until)] == [2, 3]
    assert select(records, Resource.parse("PipelineRun/plant-b/run-2")) == []
    assert "PipelineRun/plant-a/run-3" in format_records(records[3:4])


def test_the_cli_has_audit_verify_and_show() -> None:
    args = build_parser().parse_args(
        ["audit", "show", "--resource", "DataSource/plant-a/press", "--since", "2026-11-30"]
    )
    assert (args.resource, args.center, args.bucket) == (
        "DataSource/plant-a/press",
        "local",
        "nidc-audit",
    )
    assert build_parser().parse_args(["audit", "verify", "--center", "east"]).center == "east"
