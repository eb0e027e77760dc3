"""The two classification policy reconcilers' review and status (pure: no cluster)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from nidc.api.classification_policy import ClassificationPolicy, ClusterClassificationPolicy
from operators.classificationpolicy.reconcile import Observed
from operators.classificationpolicy.reconcile import build_status as typed_build_status
from operators.clusterclassificationpolicy import reconcile as cluster_reconcile

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 11, 30, 4, 0, tzinfo=dt.UTC)
BASELINE = yaml.safe_load((REPO / "policies/classification/national-baseline.yaml").read_text())
APPROVAL = {
    "metadata": {"name": "synthetic-ids"},
    "spec": {"maxGrade": 2, "expiresAt": "2027-06-30T00:00:00Z"},
}


def policy(
    overrides: list[dict[str, Any]], detectors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "apiVersion": "nidc.io/v1alpha1",
        "kind": "ClassificationPolicy",
        "metadata": {"name": "steel", "namespace": "steel-plant", "generation": 4, "uid": "u"},
        "spec": {"detectors": detectors or [], "overrides": overrides},
    }


def build_status(body: dict[str, Any], observed: Observed, now: dt.datetime) -> dict[str, Any]:
    return typed_build_status(ClassificationPolicy.from_body(body), observed, now)


def cluster_status(body: dict[str, Any], others: list[Any]) -> dict[str, Any]:
    return cluster_reconcile.build_status(ClusterClassificationPolicy.from_body(body), others, NOW)


def override(column: str, grade: int, approval: str | None = None) -> dict[str, Any]:
    found = {
        "table": "bronze.hr",
        "column": column,
        "grade": grade,
        "reason": "Reviewed by the data security officer, ticket SEC-7.",
    }
    if approval:
        found["approval"] = {"name": approval}
    return found


def condition(status: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == kind)


def test_a_valid_policy_is_ready_with_its_counts() -> None:
    status = build_status(policy([override("shift", 2)]), Observed([BASELINE], {}, []), NOW)
    ready = condition(status, "Ready")
    assert (ready["status"], ready["reason"], ready["observedGeneration"]) == (
        "True",
        "PolicyValid",
        4,
    )
    assert (status["overrides"], status["rejectedOverrides"]) == (1, 0)


def test_an_unapproved_downgrade_is_a_condition_naming_the_detector() -> None:
    status = build_status(policy([override("sfzh", 1)]), Observed([BASELINE], {}, []), NOW)
    ready, degraded = condition(status, "Ready"), condition(status, "Degraded")
    assert ready["status"] == "False" and degraded["status"] == "True"
    assert degraded["reason"] == "DowngradeNotApproved"
    assert "bronze.hr.sfzh" in degraded["message"] and "resident-id-name" in degraded["message"]
    assert status["rejectedOverrides"] == 1


def test_a_downgrade_with_a_named_approval_that_holds_is_ready() -> None:
    approved = policy([override("sfzh", 1, "synthetic-ids")])
    status = build_status(approved, Observed([BASELINE], {"synthetic-ids": APPROVAL}, []), NOW)
    assert condition(status, "Ready")["status"] == "True"
    missing = build_status(approved, Observed([BASELINE], {}, []), NOW)
    assert "does not exist" in condition(missing, "Degraded")["message"]


def test_a_detector_naming_an_unknown_category_is_invalid() -> None:
    detector = {"name": "d", "kind": "dictionary", "words": ["x"], "category": "nope", "grade": 2}
    status = build_status(policy([], [detector]), Observed([BASELINE], {}, []), NOW)
    degraded = condition(status, "Degraded")
    assert (degraded["reason"], "nope" in degraded["message"]) == ("InvalidPolicy", True)


def test_without_the_baseline_a_tenant_policy_has_no_categories_to_use() -> None:
    detector = {"name": "d", "kind": "dictionary", "words": ["x"], "category": "recipe", "grade": 3}
    status = build_status(policy([], [detector]), Observed([], {}, []), NOW)
    assert condition(status, "Degraded")["reason"] == "InvalidPolicy"


def test_the_baseline_reviews_itself_and_a_second_cluster_policy_uses_its_tree() -> None:
    baseline = {**BASELINE, "metadata": {"name": "national-baseline", "generation": 1}}
    status = cluster_status(baseline, [baseline])
    assert condition(status, "Ready")["status"] == "True"
    assert status["categories"] >= 30 and status["detectors"] >= 30
    example = yaml.safe_load(
        (REPO / "examples/demo-factory/01-baseline-classification.yaml").read_text()
    )
    example["metadata"]["generation"] = 1
    status = cluster_status(example, [baseline, example])
    assert condition(status, "Ready")["status"] == "True", status


def test_transition_time_moves_only_on_a_real_change() -> None:
    first = build_status(policy([override("sfzh", 1)]), Observed([BASELINE], {}, []), NOW)
    body = {**policy([override("sfzh", 1)]), "status": first}
    later = build_status(body, Observed([BASELINE], {}, []), NOW + dt.timedelta(minutes=5))
    assert later["conditions"] == first["conditions"]


def test_the_tables_graded_in_scope_are_counted_by_grade() -> None:
    def owner(kind: str, grade: int | None, classified: bool) -> dict[str, Any]:
        status: dict[str, Any] = {} if grade is None else {"grade": grade}
        if classified:
            status["classification"] = {"run": "r", "tableVersion": 1, "columns": []}
        return {"kind": kind, "metadata": {"name": "t"}, "status": status}

    owners = [
        owner("DataSource", 3, True),
        owner("DataProduct", 2, True),
        owner("DataProduct", 2, True),
        owner("DataSource", 1, True),
        owner("DataSource", 2, False),  # declared, not yet classified: not counted
        owner("DataProduct", None, False),
    ]
    status = build_status(policy([]), Observed([BASELINE], {}, owners), NOW)
    assert status["classifiedTables"] == 4
    assert status["tablesByGrade"] == {"general": 1, "important": 2, "core": 1}
    assert build_status(policy([]), Observed([BASELINE], {}, []), NOW)["classifiedTables"] == 0
