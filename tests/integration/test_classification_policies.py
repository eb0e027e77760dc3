"""Classification policies on the real API server and operator: admission refuses an override
without a reason naming the field; the reconcilers review the national baseline and a tenant
policy, and an unapproved downgrade is a Degraded condition (and an event) until approved."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from nidc.kube import apply, dynamic_client, get, list_objects

pytestmark = pytest.mark.integration

API_VERSION = "nidc.io/v1alpha1"
NAMESPACE = "steel-plant"


def condition(obj: dict[str, Any] | None, kind: str) -> dict[str, Any]:
    for found in ((obj or {}).get("status") or {}).get("conditions") or []:
        if found["type"] == kind:
            return dict(found)
    return {}


def wait_for(read: Callable[[], dict[str, Any] | None], test: Callable[[Any], bool]) -> Any:
    deadline = time.monotonic() + 60
    while True:
        obj = read()
        if test(obj):
            return obj
        assert time.monotonic() < deadline, f"condition not reached: {json.dumps(obj)[:2000]}"
        time.sleep(1)


def tenant_policy(name: str, override: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "ClassificationPolicy",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"overrides": [override]},
    }


def test_an_override_without_a_reason_is_refused_naming_the_field(tenants: Any) -> None:
    policy = tenant_policy(
        f"no-reason-{uuid.uuid4().hex[:5]}",
        {"table": "bronze.hr", "column": "sfzh", "grade": 1},
    )
    resource = dynamic_client(tenants).resources.get(
        api_version=API_VERSION, kind="ClassificationPolicy"
    )
    with pytest.raises(ApiException) as refused:
        resource.create(body=policy, namespace=NAMESPACE, query_params=[("dryRun", "All")])
    assert refused.value.status == 422
    assert "spec.overrides[0].reason" in str(refused.value.body)


def test_the_baseline_and_a_tenant_policy_are_reviewed(
    tenants: Any, national_baseline: dict[str, Any]
) -> None:
    # The shared fixture applies the baseline and removes it afterwards: left in place, it would
    # make every table of every later test get classify runs.
    name = national_baseline["metadata"]["name"]
    reviewed = wait_for(
        lambda: get(tenants, API_VERSION, "ClusterClassificationPolicy", name),
        lambda o: condition(o, "Ready").get("status") == "True",
    )
    assert reviewed["status"]["categories"] >= 30 and reviewed["status"]["detectors"] >= 30

    policy_name = f"hr-{uuid.uuid4().hex[:5]}"
    downgrade = {
        "table": "bronze.hr",
        "column": "sfzh",
        "grade": 1,
        "reason": "Synthetic identities used by the test bench only.",
    }
    apply(tenants, tenant_policy(policy_name, downgrade))
    read = lambda: get(tenants, API_VERSION, "ClassificationPolicy", policy_name, NAMESPACE)  # noqa: E731
    refused = wait_for(read, lambda o: condition(o, "Degraded").get("status") == "True")
    degraded = condition(refused, "Degraded")
    assert degraded["reason"] == "DowngradeNotApproved"
    assert "bronze.hr.sfzh" in degraded["message"] and "resident-id-name" in degraded["message"]
    assert refused["status"]["rejectedOverrides"] == 1
    events = list_objects(tenants, "v1", "Event", namespace=NAMESPACE)
    assert any(
        (e.get("involvedObject") or {}).get("name") == policy_name
        and e.get("reason") == "DowngradeNotApproved"
        for e in events
    ), "no event for the refused downgrade"

    approval = f"synthetic-ids-{uuid.uuid4().hex[:5]}"
    apply(
        tenants,
        {
            "apiVersion": API_VERSION,
            "kind": "ExportApproval",
            "metadata": {"name": approval, "namespace": NAMESPACE},
            "spec": {
                "approver": {"name": "Liu Yang", "email": "liu.yang@steel.example.cn"},
                "products": ["hr"],
                "maxGrade": 2,
                "evidence": "DSO ticket SEC-2026-140",
                "expiresAt": "2099-01-01T00:00:00Z",
            },
        },
    )
    apply(tenants, tenant_policy(policy_name, {**downgrade, "approval": {"name": approval}}))
    approved = wait_for(read, lambda o: condition(o, "Ready").get("status") == "True")
    assert approved["status"]["rejectedOverrides"] == 0
    resource = dynamic_client(tenants).resources.get(
        api_version=API_VERSION, kind="ClassificationPolicy"
    )
    resource.delete(name=policy_name, namespace=NAMESPACE)
