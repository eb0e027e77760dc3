"""A device source's ingest runs that follow its landing (decision 0290), the pure parts: the
DataSource's spec.ingest (defaults, bounds, the CRD), the ingest job the reconciler builds from
it, the job spec's own checks, and the plan that starts no second run while one follows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from nidc.api.data_source import (
    DATA_SOURCE_RULES,
    MAX_BATCHES_PER_COMMIT,
    MAX_FOLLOW_SECONDS,
    DataSource,
    DataSourceSpec,
    IngestSettings,
)
from nidc.api.job_specs import IngestEngine, IngestJob, LandingInput, record_job
from nidc.api.pipeline_run import PipelineRunSpec
from operators.datasource.build import build_ingest_job, build_ingest_run, plan_ingest
from operators.runs.plan import RunHistory

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.UTC)
UID = "0b1c2d3e-aaaa-bbbb-cccc-000000000001"
BASE: dict[str, Any] = {
    "type": "modbus",
    "endpoint": "tcp://press:502",
    "domain": "production-operation",
    "enterprisePrefix": "88.118.8",
    "targetTable": "bronze.press",
    "continuous": True,
    "points": [{"name": "force", "address": "holding:1", "identifier": "88.118.8/P.force"}],
}


def source(generation: int = 1, **spec: Any) -> DataSource:
    return DataSource.from_body(
        {
            "kind": "DataSource",
            "metadata": {
                "name": "press",
                "namespace": "steel-plant",
                "uid": UID,
                "generation": generation,
            },
            "spec": {**BASE, **spec},
        }
    )


def recorded(src: DataSource, sequence: int, phase: str, **status: Any) -> dict[str, Any]:
    body = build_ingest_run(src, build_ingest_job(src, {}), src.generation, sequence)
    body["status"] = {"phase": phase, **status}
    return body


def test_by_default_a_run_follows_nothing() -> None:
    src = source()
    assert src.spec.ingest is None
    assert src.spec.ingest_settings() == IngestSettings(follow_seconds=0, poll_interval_ms=250)
    landing = build_ingest_job(src, {}).landing
    assert landing is not None
    assert (landing.follow_seconds, landing.poll_seconds) == (0, 0.25)
    # One default, in the DataSource's model: the job spec's poll default is the same time.
    assert LandingInput.model_fields["poll_seconds"].default * 1000 == (
        IngestSettings.model_fields["poll_interval_ms"].default
    )


def test_the_build_step_puts_the_follow_time_in_the_job() -> None:
    src = source(ingest={"followSeconds": 90, "pollIntervalMs": 400})
    job = build_ingest_job(src, {"batchSequence": 7})
    assert job.engine == IngestEngine.NATIVE
    landing = record_job(job)["landing"]
    assert (landing["followSeconds"], landing["pollSeconds"], landing["fromSequence"]) == (
        90,
        0.4,
        7,
    )


@pytest.mark.parametrize(
    ("ingest", "field"),
    [
        ({"followSeconds": -1}, "ingest.followSeconds"),
        ({"followSeconds": MAX_FOLLOW_SECONDS + 1}, "ingest.followSeconds"),
        ({"pollIntervalMs": 10}, "ingest.pollIntervalMs"),
        ({"followSeconds": 30, "pollSeconds": 1}, "ingest.pollSeconds"),
        ({"batchesPerCommit": 0}, "ingest.batchesPerCommit"),
        ({"batchesPerCommit": MAX_BATCHES_PER_COMMIT + 1}, "ingest.batchesPerCommit"),
    ],
)
def test_the_model_refuses_a_bad_follow_naming_the_field(
    ingest: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError, match=field.replace(".", r"\.")):
        DataSourceSpec.model_validate({**BASE, "ingest": ingest})


def test_a_follower_ends_well_inside_its_runs_timeout() -> None:
    # The bound is half of what a DataSource's run may take: the other half is the backlog it
    # commits before following (a DataSource's runs keep PipelineRunSpec's default timeout).
    timeout = PipelineRunSpec.model_fields["timeout_seconds"].default
    assert timeout >= 2 * MAX_FOLLOW_SECONDS
    run = recorded(source(ingest={"followSeconds": MAX_FOLLOW_SECONDS}), 0, "Pending")
    assert run["spec"]["timeoutSeconds"] == timeout


def test_the_crd_carries_the_bounds_and_the_admission_rules() -> None:
    crd = yaml.safe_load((REPO / "crds" / "datasources.yaml").read_text())
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    follow = spec["properties"]["ingest"]["properties"]["followSeconds"]
    assert (follow["default"], follow["minimum"], follow["maximum"]) == (0, 0, MAX_FOLLOW_SECONDS)
    group = spec["properties"]["ingest"]["properties"]["batchesPerCommit"]
    assert (group["default"], group["minimum"], group["maximum"]) == (1, 1, MAX_BATCHES_PER_COMMIT)
    paths = {rule["fieldPath"] for rule in spec["x-kubernetes-validations"]}
    assert {".ingest", ".ingest.pollIntervalMs"} <= paths
    (device_only,) = [r for r in DATA_SOURCE_RULES if r["fieldPath"] == ".ingest"]
    assert "['opcua', 'modbus', 'mqtt']" in device_only["rule"]


def test_the_job_spec_refuses_a_follow_it_cannot_honour() -> None:
    recorded_job = record_job(build_ingest_job(source(ingest={"followSeconds": 60}), {}))
    with pytest.raises(ValidationError, match="only the native engine follows"):
        IngestJob.model_validate({**recorded_job, "engine": "spark"})
    too_long = {**recorded_job["landing"], "followSeconds": MAX_FOLLOW_SECONDS + 1}
    with pytest.raises(ValidationError, match="followSeconds"):
        IngestJob.model_validate({**recorded_job, "landing": too_long})
    with pytest.raises(ValidationError, match="pollSeconds"):
        IngestJob.model_validate({**recorded_job, "landing": {**too_long, "pollSeconds": 0}})
    grouped = record_job(build_ingest_job(source(ingest={"batchesPerCommit": 4}), {}))
    assert grouped["landing"]["batchesPerCommit"] == 4
    with pytest.raises(ValidationError, match="only the native engine groups"):
        IngestJob.model_validate({**grouped, "engine": "spark"})


def test_no_second_run_while_one_follows() -> None:
    src = source(ingest={"followSeconds": 60})
    following = recorded(src, 0, "Running", startedAt="2026-11-25T07:59:30Z")
    plan = plan_ingest(src, RunHistory.of([following], 1), landed_beyond=True, now=NOW)
    assert plan.create is None
    assert "following the landing for 60 s" in plan.waiting
    # Once it ended, what landed beyond its checkpoint gets the next run.
    done = {**following, "status": {"phase": "Succeeded", "finishedAt": "2026-11-25T08:00:30Z"}}
    later = NOW + dt.timedelta(seconds=31)
    assert plan_ingest(src, RunHistory.of([done], 1), True, later).create == (1, 1)


def test_a_spec_change_stops_the_follower_of_the_older_spec() -> None:
    src = source(ingest={"followSeconds": 600})
    following = recorded(src, 0, "Running", startedAt="2026-11-25T07:59:30Z")
    changed = source(generation=2, ingest={"followSeconds": 120})
    plan = plan_ingest(changed, RunHistory.of([following], 2), landed_beyond=True, now=NOW)
    # Stopped, and no second writer beside it: the next pass starts the new spec's run.
    assert [r.name for r in plan.cancel] == [following["metadata"]["name"]]
    assert plan.create is None
    assert "follows the landing for an old spec" in plan.waiting
    cancelled = {
        **following,
        "status": {"phase": "Cancelled", "finishedAt": "2026-11-25T08:00:00Z"},
    }
    after = plan_ingest(changed, RunHistory.of([cancelled], 2), landed_beyond=True, now=NOW)
    assert (after.create, after.cancel) == ((2, 0), [])
    # A run that does not follow ends soon on its own: it is left to finish.
    plain = recorded(source(), 0, "Running", startedAt="2026-11-25T07:59:30Z")
    plan = plan_ingest(changed, RunHistory.of([plain], 2), landed_beyond=True, now=NOW)
    assert (plan.create, plan.cancel) == (None, [])
    # Nor is a follower of the current spec stopped.
    current = recorded(changed, 0, "Running", startedAt="2026-11-25T07:59:30Z")
    plan = plan_ingest(changed, RunHistory.of([following, current], 2), True, NOW)
    assert [r.name for r in plan.cancel] == [following["metadata"]["name"]]
    plan = plan_ingest(changed, RunHistory.of([current], 2), True, NOW)
    assert plan.cancel == [] and "following the landing for 120 s" in plan.waiting
