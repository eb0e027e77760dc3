"""The classify job's pure parts: what it reuses from a table's properties, and when not."""

from __future__ import annotations

import json
from typing import Any

import pytest

from spark_jobs.classify import (
    CLASSIFICATION_PROPERTY,
    policy_fingerprint,
    previous_columns,
    restored,
)

pytestmark = pytest.mark.unit

POLICY: dict[str, Any] = {
    "kind": "ClusterClassificationPolicy",
    "metadata": {"name": "b"},
    "spec": {"detectors": []},
}
RECORDED = {
    "name": "col_017",
    "domain": "business-management",
    "category": "unclassified",
    "grade": 1,
    "level": "一般",
    "confidence": 1.0,
    "detectors": [],
    "detectedGrade": 2,
    "detectedCategory": "personal-identity",
}


def test_a_changed_policy_spec_changes_the_fingerprint_and_metadata_does_not() -> None:
    same = {**POLICY, "metadata": {"name": "b", "resourceVersion": "99"}}
    changed = {**POLICY, "spec": {"detectors": [{"name": "x"}]}}
    assert policy_fingerprint([POLICY]) == policy_fingerprint([same])
    assert policy_fingerprint([POLICY]) != policy_fingerprint([changed])


def test_recorded_columns_are_reused_only_under_the_same_fingerprint() -> None:
    fingerprint = policy_fingerprint([POLICY])
    properties = {
        CLASSIFICATION_PROPERTY: json.dumps(
            {"policyFingerprint": fingerprint, "columns": [RECORDED]}
        )
    }
    assert set(previous_columns(properties, fingerprint)) == {"col_017"}
    assert previous_columns(properties, "another") == {}
    assert previous_columns({CLASSIFICATION_PROPERTY: "not json"}, fingerprint) == {}


def test_a_restored_column_carries_what_the_detectors_found_not_the_override() -> None:
    # An approved downgrade recorded as grade 1 comes back as the detectors' grade 2, so a
    # lapsed approval regrades the column on the next pass.
    column = restored(RECORDED)
    assert (column.grade, column.category, column.level) == (2, "personal-identity", "重要")
