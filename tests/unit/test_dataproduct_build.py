"""DataProduct decisions as plain data: runs to create, cancel and prune; status."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from operators.dataproduct.build import (
    GENERATION,
    SEQUENCE,
    build_job,
    build_run,
    build_status,
    plan_runs,
    table_path,
    txn_version,
)

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)


def product(generation: int = 1, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "nidc.io/v1alpha1",
        "kind": "DataProduct",
        "metadata": {"name": "p", "namespace": "steel", "uid": "u-1", "generation": generation},
        "spec": {
            "inputs": [{"kind": "DataSource", "name": "s"}],
            "transform": {"sql": "SELECT 1"},
            "targetTable": "silver.p",
            **spec,
        },
    }


def run(generation: int, sequence: int, phase: str, **status: Any) -> dict[str, Any]:
    return {
        "metadata": {
            "name": f"p-g{generation}-{sequence}",
            "labels": {GENERATION: str(generation), SEQUENCE: str(sequence)},
        },
        "status": {"phase": phase, **status},
    }


def test_first_reconcile_creates_run_zero_of_the_generation() -> None:
    assert plan_runs(product(), [], NOW).create == (1, 0)


def test_an_existing_run_is_not_created_again() -> None:
    assert plan_runs(product(), [run(1, 0, "Running")], NOW).create is None


def test_new_generation_waits_under_forbid_and_replaces_under_replace() -> None:
    live_old = [run(1, 0, "Running")]
    forbid = plan_runs(product(2), live_old, NOW)
    assert forbid.create is None
    assert "p-g1-0" in forbid.waiting
    replace = plan_runs(product(2, concurrencyPolicy="Replace"), live_old, NOW)
    assert replace.create == (2, 0)
    assert [r["metadata"]["name"] for r in replace.cancel] == ["p-g1-0"]


def test_schedule_creates_the_next_sequence_when_due() -> None:
    done = run(1, 0, "Succeeded", startedAt="2026-11-25T07:00:00Z")
    plan = plan_runs(product(schedule="0 * * * *"), [done], NOW)
    assert plan.create == (1, 1)
    not_yet = plan_runs(
        product(schedule="0 * * * *"),
        [run(1, 0, "Succeeded", startedAt="2026-11-25T09:00:00Z")],
        NOW,
    )
    assert not_yet.create is None
    assert not_yet.next_run == dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)


def test_history_limit_prunes_old_runs_but_keeps_the_last_good_one() -> None:
    runs = [run(1, 0, "Succeeded"), run(2, 0, "Failed"), run(3, 0, "Failed"), run(4, 0, "Failed")]
    plan = plan_runs(product(4, historyLimit=2), runs, NOW)
    assert plan.prune == ["p-g2-0"]


def test_job_and_run_are_deterministic_and_carry_no_secrets() -> None:
    job = build_job(product(), ["bronze.cnc"], 1, 0)
    assert job["inputs"] == [{"view": "cnc", "path": "s3a://tenant-steel/bronze/cnc"}]
    assert job["target"] == table_path("steel", "silver.p")
    assert job["txnVersion"] == txn_version(1, 0) < txn_version(1, 1) < txn_version(2, 0)
    made = build_run(product(), job, 1, 0)
    assert made == build_run(product(), job, 1, 0)
    assert made["metadata"]["labels"]["nidc.io/parent-uid"] == "u-1"
    assert "secret" not in str(made).lower()


def test_status_ready_after_success_and_degraded_keeps_last_good_version() -> None:
    ok = [run(1, 0, "Succeeded", tableVersion=3, rows=10)]
    status = build_status(product(), ok, plan_runs(product(), ok, NOW), "", "")
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True"
    assert (status["tableVersion"], status["rows"]) == (3, 10)
    failed = [*ok, run(2, 0, "Failed", reason="AnalysisException: bad column")]
    status = build_status(product(2), failed, plan_runs(product(2), failed, NOW), "", "")
    degraded = next(c for c in status["conditions"] if c["type"] == "Degraded")
    assert degraded["status"] == "True"
    assert "bad column" in degraded["message"]
    assert "serving table version 3" in degraded["message"]
    assert status["tableVersion"] == 3


def test_status_waits_for_input_data() -> None:
    status = build_status(
        product(), [], plan_runs(product(), [], NOW), "", "waiting for data in bronze.cnc"
    )
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "WaitingForInput"
