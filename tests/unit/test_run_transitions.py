"""The PipelineRun reconciler's pure steps: status <-> RunStatus, limits from the typed spec, and
the shared run history every run owner plans from."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from nidc.api.job_specs import JobSpecError, read_job
from nidc.api.pipeline_run import Phase, PipelineRun
from operators.runs.plan import RunHistory, failure_message, live_message, run_status_fields
from operators.runs.record import GENERATION, SEQUENCE
from operators.runs.state_machine import RunStatus
from operators.runs.transitions import (
    describe_transition,
    fail_invalid,
    limits,
    read_status,
    write_status,
)

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 11, 30, 4, 0, tzinfo=dt.UTC)


def pipeline_run(**spec: Any) -> PipelineRun:
    return PipelineRun.from_body(
        {
            "kind": "PipelineRun",
            "metadata": {"name": "p-g1-0-aaaaaaaa", "namespace": "steel", "uid": "r-1"},
            "spec": {
                "parent": {"kind": "DataProduct", "name": "p", "uid": "u-1", "generation": 1},
                "sequence": 0,
                "jobType": "transform",
                **spec,
            },
        }
    )


def test_status_round_trips_through_the_state_machine() -> None:
    status = RunStatus(
        phase=Phase.RUNNING,
        attempts=2,
        submitted_at=NOW,
        started_at=NOW - dt.timedelta(minutes=1),
        result={"tableVersion": 4, "rows": 10},
    )
    written = write_status(status, "/runs/p/attempt-2.log")
    assert written["phase"] == "Running" and written["submittedAt"] == "2026-11-30T04:00:00Z"
    assert written["logLocation"] == "/runs/p/attempt-2.log"
    assert read_status(written) == status


def test_limits_come_from_the_typed_spec_and_its_defaults() -> None:
    assert limits(pipeline_run().spec).max_attempts == 3  # PipelineRunSpec's default
    custom = limits(pipeline_run(maxAttempts=5, timeoutSeconds=60).spec)
    assert (custom.max_attempts, custom.timeout) == (5, dt.timedelta(seconds=60))


def recorded(generation: int, sequence: int, phase: str, **status: Any) -> dict[str, Any]:
    return {
        "metadata": {
            "name": f"p-g{generation}-{sequence}",
            "labels": {GENERATION: str(generation), SEQUENCE: str(sequence)},
        },
        "status": {"phase": phase, **status},
    }


def test_history_orders_runs_and_answers_what_every_owner_asks() -> None:
    history = RunHistory.of(
        [
            recorded(2, 0, "Running"),
            recorded(1, 1, "Failed", reason="boom", finishedAt="2026-11-30T03:00:00Z"),
            recorded(1, 0, "Succeeded", tableVersion=3),
        ],
        generation=2,
    )
    assert [r.name for r in history.ordered] == ["p-g1-0", "p-g1-1", "p-g2-0"]
    assert [r.name for r in history.live] == ["p-g2-0"]
    assert history.next_key() == (2, 1)
    assert history.last_succeeded is not None and history.last_succeeded.result("tableVersion") == 3
    failed = history.ordered[1]
    assert failed.finished_at == dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.UTC)
    assert failure_message(failed) == "run p-g1-1 failed: boom"
    assert live_message(history) == "run p-g2-0 is running"
    assert run_status_fields(history, NOW) == {
        "lastRun": {"name": "p-g2-0", "phase": "Running", "startedAt": None, "finishedAt": None},
        "nextRun": "2026-11-30T04:00:00Z",
    }
    # Pruning keeps the last succeeded run whatever the limit.
    assert history.to_prune(1) == []
    more = RunHistory.of(
        [recorded(1, 0, "Succeeded"), *[recorded(1, s, "Failed") for s in (1, 2, 3)]], 1
    )
    assert more.to_prune(2) == ["p-g1-1"]


def test_a_job_spec_that_does_not_parse_fails_the_run_at_once_saying_why() -> None:
    submitted = RunStatus(phase=Phase.SUBMITTED, attempts=1, submitted_at=NOW, started_at=NOW)
    with pytest.raises(JobSpecError, match="sql") as error:
        read_job({"job": "transform", "tenant": "t", "inputs": [], "target": "s3a://b/t"})
    failed = fail_invalid(submitted, str(error.value), NOW)
    assert (failed.phase, failed.finished_at) == (Phase.FAILED, NOW)
    assert "invalid job spec" in failed.reason and "sql" in failed.reason
    described = describe_transition(submitted, failed)
    assert described is not None and described[0] == "Failed" and described[2] is True


def test_a_quality_runs_summary_is_kept_on_the_run_and_its_event_shows_the_score() -> None:
    quality = {
        "score": 0.75,
        "failingChecks": ["w"],
        "blockingFailures": ["w"],
        "checkedVersion": 3,
    }
    stored = write_status(
        RunStatus(phase=Phase.SUCCEEDED, attempts=1, result={"tableVersion": 3, "quality": quality})
    )
    assert stored["quality"] == quality
    assert read_status(stored).result["quality"] == quality
    running = RunStatus(phase=Phase.RUNNING, attempts=1, submitted_at=NOW, started_at=NOW)
    described = describe_transition(running, read_status(stored))
    assert described is not None
    assert described[1] == "attempt 1 succeeded: table version 3, quality score 0.75"
