"""DataProduct decisions as plain data: runs to create, cancel and prune; status."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from nidc.api.addressing import table_path
from nidc.api.data_product import DataProduct
from operators.dataproduct.build import (
    build_job,
    build_run,
    build_status,
    plan_runs,
    txn_version,
    validate,
)
from operators.runs.plan import RunHistory
from operators.runs.record import GENERATION, SEQUENCE

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)


def product(generation: int = 1, **spec: Any) -> DataProduct:
    return DataProduct.from_body(
        {
            "apiVersion": "nidc.io/v1alpha1",
            "kind": "DataProduct",
            "metadata": {"name": "p", "namespace": "steel", "uid": "u-1", "generation": generation},
            "spec": {
                "inputs": [{"kind": "DataSource", "name": "s"}],
                "transform": {"sql": "SELECT 1"},
                "targetTable": "silver.p",
                "owner": {"name": "Li Wei", "email": "li.wei@steel.example"},
                **spec,
            },
        }
    )


def hist(runs: list[dict[str, Any]], generation: int = 1) -> RunHistory:
    return RunHistory.of(runs, generation)


def run(generation: int, sequence: int, phase: str, **status: Any) -> dict[str, Any]:
    return {
        "metadata": {
            "name": f"p-g{generation}-{sequence}",
            "labels": {GENERATION: str(generation), SEQUENCE: str(sequence)},
        },
        "status": {"phase": phase, **status},
    }


def test_first_reconcile_creates_run_zero_of_the_generation() -> None:
    assert plan_runs(product(), hist([], 1), NOW).create == (1, 0)


def test_an_existing_run_is_not_created_again() -> None:
    assert plan_runs(product(), hist([run(1, 0, "Running")], 1), NOW).create is None


def test_new_generation_waits_under_forbid_and_replaces_under_replace() -> None:
    live_old = [run(1, 0, "Running")]
    forbid = plan_runs(product(2), hist(live_old, 2), NOW)
    assert forbid.create is None
    assert "p-g1-0" in forbid.waiting
    replace = plan_runs(product(2, concurrencyPolicy="Replace"), hist(live_old, 2), NOW)
    assert replace.create == (2, 0)
    assert [r.name for r in replace.cancel] == ["p-g1-0"]


def test_schedule_creates_the_next_sequence_when_due() -> None:
    done = run(1, 0, "Succeeded", startedAt="2026-11-25T07:00:00Z")
    plan = plan_runs(product(schedule="0 * * * *"), hist([done], 1), NOW)
    assert plan.create == (1, 1)
    not_yet = plan_runs(
        product(schedule="0 * * * *"),
        hist([run(1, 0, "Succeeded", startedAt="2026-11-25T09:00:00Z")], 1),
        NOW,
    )
    assert not_yet.create is None
    assert not_yet.next_run == dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)


def test_history_limit_prunes_old_runs_but_keeps_the_last_good_one() -> None:
    runs = [run(1, 0, "Succeeded"), run(2, 0, "Failed"), run(3, 0, "Failed"), run(4, 0, "Failed")]
    plan = plan_runs(product(4, historyLimit=2), hist(runs, 4), NOW)
    assert plan.prune == ["p-g2-0"]


def test_job_and_run_are_deterministic_and_carry_no_secrets() -> None:
    job = build_job(product(), ["bronze.cnc"], 1, 0)
    assert [(i.view, i.path) for i in job.inputs] == [("cnc", "s3a://tenant-steel/bronze/cnc")]
    assert job.target == table_path("steel", "silver.p")
    assert job.txn_version == txn_version(1, 0) < txn_version(1, 1) < txn_version(2, 0)
    made = build_run(product(), job, 1, 0)
    assert made == build_run(product(), job, 1, 0)
    assert made["metadata"]["labels"]["nidc.io/parent-uid"] == "u-1"
    assert "secret" not in str(made).lower()


def test_status_ready_after_success_and_degraded_keeps_last_good_version() -> None:
    ok = [run(1, 0, "Succeeded", tableVersion=3, rows=10)]
    status = build_status(product(), hist(ok), plan_runs(product(), hist(ok, 1), NOW), [], "", NOW)
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True"
    assert (status["tableVersion"], status["rows"]) == (3, 10)
    failed = [*ok, run(2, 0, "Failed", reason="AnalysisException: bad column")]
    status = build_status(
        product(2), hist(failed, 2), plan_runs(product(2), hist(failed, 2), NOW), [], "", NOW
    )
    degraded = next(c for c in status["conditions"] if c["type"] == "Degraded")
    assert degraded["status"] == "True"
    assert "bad column" in degraded["message"]
    assert "serving table version 3" in degraded["message"]
    assert status["tableVersion"] == 3


def test_status_waits_for_input_data() -> None:
    status = build_status(
        product(),
        hist([]),
        plan_runs(product(), hist([], 1), NOW),
        [],
        "waiting for data in bronze.cnc",
        NOW,
    )
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "WaitingForInput"


def test_a_named_analytic_reaches_the_job_with_its_defaults_written_out() -> None:
    furnace = product(
        transform={"job": "anomaly_detection@1", "parameters": {"threshold": 8}}, pool="gpu"
    )
    assert validate(furnace) == []
    job = build_job(furnace, ["bronze.furnace_plc"], 1, 0)
    assert (job.analytic, job.sql, job.pool) == ("anomaly_detection@1", None, "gpu")
    assert job.parameters is not None
    # The analytic's model fills in what the product left out (windowSeconds: 3600).
    assert (job.parameters.window_seconds, job.parameters.threshold) == (3600, 8.0)
    # The spec the run records parses back as the same job (what spark_jobs.run reads).
    recorded = job.model_dump(by_alias=True, exclude_none=True)
    assert recorded["parameters"] == {"windowSeconds": 3600, "threshold": 8.0}
    assert type(job).from_spec(recorded) == job
    sql = build_job(product(), ["bronze.cnc"], 1, 0)
    assert (sql.sql, sql.analytic, sql.parameters) == ("SELECT 1", None, None)


def test_the_status_says_where_an_analytic_computed() -> None:
    furnace = product(transform={"job": "anomaly_detection@1"}, pool="gpu")
    note = "computed on the CPU path: no GPU was assigned to the run's tasks"
    ok = [run(1, 0, "Succeeded", tableVersion=1, rows=48, computeNote=note)]
    status = build_status(furnace, hist(ok), plan_runs(furnace, hist(ok), NOW), [], "", NOW)
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["message"] == f"table version 1 with 48 rows; {note}"


def test_the_run_takes_pool_and_attempts_from_the_product() -> None:
    job = build_job(product(), ["bronze.cnc"], 1, 0)
    made = build_run(product(pool="gpu", maxAttempts=5), job, 1, 0)
    assert (made["spec"]["pool"], made["spec"]["maxAttempts"]) == ("gpu", 5)
    default = build_run(product(), job, 1, 0)
    # The product's defaults are its model's: DataProductSpec says cpu and 3.
    assert (default["spec"]["pool"], default["spec"]["maxAttempts"]) == ("cpu", 3)


def test_a_rule_may_tighten_the_grade_floor_but_not_loosen_it() -> None:
    rules = [
        {"name": "ids-present", "check": "notNull", "column": "id", "mostly": 0.9},
        {"name": "ids-strict", "check": "notNull", "column": "id", "mostly": 0.9999},
        {"name": "ids-default", "check": "notNull", "column": "id"},
    ]
    graded = product(grade=2, qualityRules=rules)
    # Grade 2's floor is 0.99 in policies/grades.yaml: only the 0.9 rule is refused.
    (problem,) = validate(graded, 0.99)
    assert problem.reason == "QualityThresholdBelowFloor"
    assert "ids-present" in problem.message and "ids-strict" not in problem.message
    assert "0.99" in problem.message and "grade 2" in problem.message
    assert validate(graded, 0.9) == []


def test_a_product_whose_run_waits_for_gpus_says_so() -> None:
    gpu = product(pool="gpu")
    reason = "WaitingForGpuQuota: needs 2 GPUs; 2 of the tenant's 2 are held by other-g1-0 (2)"
    waiting = [run(1, 0, "Pending", reason=reason)]
    status = build_status(gpu, hist(waiting), plan_runs(gpu, hist(waiting), NOW), [], "", NOW)
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "WaitingForGpuQuota")
    assert "needs 2 GPUs" in ready["message"] and "other-g1-0" in ready["message"]
