"""When a DataSource's table is classified, and the grade its status and replications use."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from nidc.api.data_source import DataSource
from nidc.governance.classify_job import build_classify_job
from nidc.governance.resampling import columns_digest
from operators.datareplication.build import table_grade
from operators.datasource.build import build_ingest_job, build_ingest_run
from operators.runs.classify_plan import (
    ClassifyKey,
    build_classify_run,
    classification_status,
    classify_outcome,
    grade_change,
    key_of,
    plan_classify,
    policies_hash,
    split_runs,
)
from operators.runs.plan import RunHistory

pytestmark = pytest.mark.unit

UID = "0b1c2d3e-aaaa-bbbb-cccc-000000000002"
BASELINE = Path(__file__).resolve().parents[2] / "policies/classification/national-baseline.yaml"
POLICIES = [yaml.safe_load(BASELINE.read_text())]
ID_COLUMN: dict[str, Any] = {
    "name": "col_x7",
    "domain": "operations-management",
    "category": "personal-identity",
    "grade": 2,
    "level": "important",
    "confidence": 0.98,
    "detectors": ["resident-id"],
    "detectedGrade": 2,
    "detectedCategory": "personal-identity",
}
PLAIN_COLUMN: dict[str, Any] = {
    "name": "line",
    "domain": None,
    "category": "unclassified",
    "grade": 1,
    "level": "general",
    "confidence": 0.2,
    "detectors": [],
}


def source(grade: int | None = 1) -> DataSource:
    spec: dict[str, Any] = {
        "type": "files",
        "endpoint": "s3://tenant-steel-plant",
        "domain": "production-operation",
        "enterprisePrefix": "88.118.8",
        "targetTable": "bronze.parts",
        "continuous": True,
        "files": {"format": "csv", "prefix": "parts/"},
    }
    if grade is not None:
        spec["grade"] = grade
    body = {
        "apiVersion": "nidc.io/v1alpha1",
        "kind": "DataSource",
        "metadata": {"name": "parts", "namespace": "steel-plant", "uid": UID, "generation": 1},
        "spec": spec,
    }
    return DataSource.from_body(body)


def ingest(sequence: int, phase: str, **status: Any) -> dict[str, Any]:
    body = build_ingest_run(source(), build_ingest_job(source(), {}), 1, sequence)
    body["status"] = {"phase": phase, **status}
    return body


def classify(
    key: ClassifyKey, sequence: int, phase: str, digest: str | None = None, **status: Any
) -> dict[str, Any]:
    job = build_classify_job(source(), POLICIES)
    body = build_classify_run(source(), job, key, 1, sequence, digest)
    body["status"] = {"phase": phase, **status}
    return body


def histories(*runs: dict[str, Any]) -> tuple[RunHistory, RunHistory]:
    return split_runs(RunHistory.of(runs, 1))


HASH = policies_hash(source(), POLICIES, [])


def test_ingest_and_classify_runs_keep_separate_histories() -> None:
    ingest_runs, classify_runs = histories(
        ingest(0, "Succeeded", tableVersion=3), classify(ClassifyKey(3, HASH), 0, "Running")
    )
    assert [r.sequence for r in ingest_runs.ordered] == [0]
    assert [key_of(r) for r in classify_runs.ordered] == [ClassifyKey(3, HASH)]
    # the ingest run and the classify run never share a name
    assert ingest_runs.ordered[0].name != classify_runs.ordered[0].name


def test_a_new_table_version_is_due_for_one_classify_run() -> None:
    planned = plan_classify(*histories(ingest(0, "Succeeded", tableVersion=3)), HASH)
    assert planned.key == ClassifyKey(3, HASH)
    assert planned.plan.create == (1, 0)


def test_a_classified_version_is_not_classified_again_even_when_its_run_failed() -> None:
    for phase in ("Succeeded", "Failed"):
        planned = plan_classify(
            *histories(
                ingest(0, "Succeeded", tableVersion=3),
                classify(ClassifyKey(3, HASH), 0, phase),
            ),
            HASH,
        )
        assert planned.key is None and planned.plan.create is None


def test_a_newer_version_or_changed_policies_make_a_new_pass() -> None:
    runs = (
        ingest(0, "Succeeded", tableVersion=3),
        classify(ClassifyKey(3, HASH), 0, "Succeeded", grade=1),
        ingest(1, "Succeeded", tableVersion=5),
    )
    assert plan_classify(*histories(*runs), HASH).key == ClassifyKey(5, HASH)
    changed = policies_hash(source(), POLICIES, [{"kind": "ExportApproval", "spec": {"x": 1}}])
    assert changed != HASH
    planned = plan_classify(*histories(*runs[:2]), changed)
    assert planned.key == ClassifyKey(3, changed)
    assert planned.plan.create == (1, 1)


def test_a_raised_declared_floor_changes_the_hash() -> None:
    assert policies_hash(source(2), POLICIES, []) != HASH


def test_nothing_is_due_while_a_run_is_live_or_no_policy_applies() -> None:
    live_ingest = histories(ingest(0, "Succeeded", tableVersion=3), ingest(1, "Running"))
    assert plan_classify(*live_ingest, HASH).key is None
    live_classify = histories(
        ingest(0, "Succeeded", tableVersion=3), classify(ClassifyKey(2, HASH), 0, "Running")
    )
    planned = plan_classify(*live_classify, HASH)
    assert planned.key is None and "is running" in planned.plan.waiting
    no_policy = plan_classify(*histories(ingest(0, "Succeeded", tableVersion=3)), None)
    assert no_policy.key is None and "no classification policy" in no_policy.plan.waiting
    assert plan_classify(*histories(ingest(0, "Failed")), HASH).key is None


def test_classify_run_names_are_deterministic_per_version_and_hash() -> None:
    first = classify(ClassifyKey(3, HASH), 0, "Pending")["metadata"]["name"]
    again = classify(ClassifyKey(3, HASH), 4, "Pending")["metadata"]["name"]
    other = classify(ClassifyKey(4, HASH), 0, "Pending")["metadata"]["name"]
    assert first == again != other
    assert len(first) <= 63 and first.startswith("parts-classify-")


def test_status_carries_the_computed_grade_and_columns() -> None:
    _, runs = histories(
        ingest(0, "Succeeded", tableVersion=3),
        classify(
            ClassifyKey(3, HASH),
            0,
            "Succeeded",
            grade=2,
            level="important",
            columns=[PLAIN_COLUMN, ID_COLUMN],
        ),
    )
    status = classification_status(source(1), runs)
    assert status["grade"] == status["computedGrade"] == 2
    classification = status["classification"]
    assert classification["tableVersion"] == 3 and classification["policiesHash"] == HASH
    assert classification["columns"][1] == {
        "name": "col_x7",
        "domain": "operations-management",
        "category": "personal-identity",
        "grade": 2,
        "level": "important",
        "confidence": 0.98,
    }
    # the declared grade is a floor: a lower computed grade does not go below it
    assert classification_status(source(3), runs)["grade"] == 3


def test_status_shows_the_declared_grade_until_classified() -> None:
    _, runs = histories(classify(ClassifyKey(3, HASH), 0, "Failed"))
    assert classification_status(source(1), runs) == {"grade": 1}
    assert classification_status(source(None), runs) == {}


def test_a_moved_grade_is_an_event_naming_the_columns() -> None:
    status = {
        "grade": 2,
        "computedGrade": 2,
        "classification": {"run": "parts-classify-x", "tableVersion": 5, "columns": [ID_COLUMN]},
    }
    message = grade_change({"grade": 1}, status)
    assert message is not None
    assert "grade 1 -> 2" in message and "col_x7" in message and "version 5" in message
    assert grade_change({"grade": 2}, status) is None
    assert grade_change({}, status) is None


def test_replication_decides_on_the_computed_grade_where_present() -> None:
    declared = {"spec": {"grade": 1}, "status": {"grade": 1}}
    assert table_grade(declared).grade == 1 and not table_grade(declared).computed
    regraded = {"spec": {"grade": 1}, "status": {"grade": 2, "computedGrade": 2}}
    grade = table_grade(regraded)
    assert grade.grade == 2 and grade.computed
    assert "computed by classification; declared 1" in grade.explain("no approval")
    assert table_grade({"spec": {}, "status": {}}).grade is None


def test_the_classify_runs_own_properties_commit_is_not_classified_again() -> None:
    # classify read version 3 and committed its properties as version 4; the next ingest run
    # found nothing new and reports version 4
    runs = (
        ingest(0, "Succeeded", tableVersion=3),
        classify(ClassifyKey(3, HASH), 0, "Succeeded", grade=1, tableVersion=4),
        ingest(1, "Succeeded", tableVersion=4),
    )
    assert plan_classify(*histories(*runs), HASH).key is None
    # a real commit after it is classified; so is version 4 under changed policies
    later = (*runs, ingest(2, "Succeeded", tableVersion=5))
    assert plan_classify(*histories(*later), HASH).key == ClassifyKey(5, HASH)
    changed = policies_hash(source(2), POLICIES, [])
    assert plan_classify(*histories(*runs), changed).key == ClassifyKey(4, changed)


def test_a_failed_classify_run_degrades_the_source_but_keeps_it_ready() -> None:
    ready = {"type": "Ready", "status": "True", "message": "40 rows ingested up to start"}
    _, failed = histories(classify(ClassifyKey(3, HASH), 0, "Failed", reason="exit 1"))
    outcome = classify_outcome(ready, failed)
    assert outcome is not None and outcome.ready and outcome.degraded
    assert outcome.reason == "ClassifyFailed" and "exit 1" in outcome.message
    _, good = histories(classify(ClassifyKey(3, HASH), 0, "Succeeded", grade=1))
    assert classify_outcome(ready, good) is None
    assert classify_outcome({**ready, "status": "False"}, failed) is None


# --- resampling appends of the same shape (decision 0320) ---------------------------------------

T0 = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
SAME = columns_digest(["source", "point", "ts", "value"])


def classified_at(finished: dt.datetime, digest: str | None = SAME) -> list[dict[str, Any]]:
    """Version 3 ingested and classified (its properties commit is version 4), ending at
    `finished`, then version 5 ingested."""
    done = classify(
        ClassifyKey(3, HASH),
        0,
        "Succeeded",
        digest,
        tableVersion=4,
        finishedAt=finished.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    return [
        ingest(0, "Succeeded", tableVersion=3, columnsDigest=SAME),
        done,
        ingest(1, "Succeeded", tableVersion=5, columnsDigest=SAME),
    ]


def test_an_append_of_the_same_columns_waits_for_the_resample_interval() -> None:
    runs = classified_at(T0)
    early = plan_classify(*histories(*runs), HASH, HOUR, now=T0 + dt.timedelta(minutes=10))
    assert early.key is None and early.plan.create is None
    assert early.resample_at == T0 + HOUR
    late = plan_classify(*histories(*runs), HASH, HOUR, now=T0 + HOUR + dt.timedelta(seconds=1))
    assert late.key == ClassifyKey(5, HASH) and late.columns_digest == SAME


def test_new_columns_changed_policies_or_no_interval_classify_at_once() -> None:
    soon = T0 + dt.timedelta(minutes=1)
    runs = classified_at(T0)
    runs[-1]["status"]["columnsDigest"] = columns_digest(["source", "point", "ts", "value", "id"])
    assert plan_classify(*histories(*runs), HASH, HOUR, now=soon).key == ClassifyKey(5, HASH)
    same = classified_at(T0)
    assert plan_classify(*histories(*same), "changed", HOUR, now=soon).key == ClassifyKey(
        5, "changed"
    )
    assert plan_classify(*histories(*same), HASH, dt.timedelta(0), now=soon).key == ClassifyKey(
        5, HASH
    )


def test_a_run_without_a_digest_is_classified_at_once() -> None:
    """Runs of older jobs (no columnsDigest) are never deferred: the safe side."""
    soon = T0 + dt.timedelta(minutes=1)
    no_label = classified_at(T0, digest=None)
    assert plan_classify(*histories(*no_label), HASH, HOUR, now=soon).key == ClassifyKey(5, HASH)
    runs = classified_at(T0)
    del runs[-1]["status"]["columnsDigest"]
    assert plan_classify(*histories(*runs), HASH, HOUR, now=soon).key == ClassifyKey(5, HASH)


def test_the_digest_ignores_column_order() -> None:
    assert columns_digest(["a", "b"]) == columns_digest(["b", "a"])
    assert columns_digest(["a", "b"]) != columns_digest(["a", "b", "c"])
